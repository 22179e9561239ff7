using VirtKernel.Model;
using VirtKernel.Model.Ipv4;
using VirtKernel.Model.Ipv6;
using static VirtKernel.Protocol.Uapi;
using static VirtKernel.Tests.Model.ModelHelpers;

namespace VirtKernel.Tests.Model;

/// <summary>Address semantics of the model, against what the kernel does (net/ipv4/devinet.c,
/// net/ipv6/addrconf.c).</summary>
public class AddressTests
{
    private static InIfAddr V4(NetDevice dev, string cidr)
    {
        var parts = cidr.Split('/');
        byte plen = byte.Parse(parts[1]);
        uint a = Inet.ParseV4(parts[0]);
        return new InIfAddr { Dev = dev, Local = a, Address = a, PrefixLen = plen, Mask = Inet.Mask4(plen), Label = dev.Name };
    }

    private static KErr Add4(NetDevice dev, string cidr, uint valid = IfAddr.InfinityLifeTime, uint preferred = IfAddr.InfinityLifeTime) =>
        dev.Net.Ipv4.NewAddr(dev.Ip4!, V4(dev, cidr), valid, preferred, (ushort)(NLM_F_CREATE | NLM_F_EXCL));

    private static List<string> Addrs4(NetDevice dev) =>
        dev.Ip4!.Addrs.Select(a => $"{Inet.FormatV4(a.Local)}/{a.PrefixLen}{((a.Flags & IFA_F_SECONDARY) != 0 ? " secondary" : "")}").ToList();

    [Fact]
    public void LoopbackUpAddsTheKernelAddressesAndKeepsIpv4OnDown()
    {
        var k = NewKernel(out _);
        var lo = k.InitNet.Loopback;
        Assert.Empty(lo.Ip4!.Addrs);
        Up(lo);
        Assert.Equal(["127.0.0.1/8"], Addrs4(lo));
        Assert.Equal("::1", Inet.FormatV6(lo.Ip6!.Addrs.Single().Addr));
        Down(lo);
        Assert.Equal(["127.0.0.1/8"], Addrs4(lo));   // IPv4 stays,
        Assert.Empty(lo.Ip6!.Addrs);                   // IPv6 goes (keep_addr_on_down=0)
        Up(lo);
        Assert.Equal(["127.0.0.1/8"], Addrs4(lo));   // and no duplicate comes back
    }

    [Fact]
    public void SecondariesAreListedAfterPrimariesAndDuplicatesAreRefused()
    {
        var k = NewKernel(out _);
        var (v0, v1) = Veth(k.InitNet, "v0", "v1");
        Up(v0); Up(v1);
        Assert.False(Add4(v0, "192.0.2.1/24").Failed);
        Assert.False(Add4(v0, "192.0.2.2/24").Failed);
        Assert.False(Add4(v0, "198.51.100.1/24").Failed);
        Assert.False(Add4(v0, "192.0.2.4/25").Failed);
        Assert.Equal(["192.0.2.1/24", "198.51.100.1/24", "192.0.2.4/25", "192.0.2.2/24 secondary"], Addrs4(v0));
        var dup = Add4(v0, "192.0.2.1/24");
        Assert.Equal((VirtKernel.Protocol.Errno.EEXIST, "ipv4: Address already assigned"), (dup.Errno, dup.Msg));
    }

    [Fact]
    public void DeletingAPrimaryDeletesOrPromotesItsSecondaries()
    {
        var k = NewKernel(out _);
        var (v0, v1) = Veth(k.InitNet, "v0", "v1");
        Up(v0); Up(v1);
        foreach (var a in new[] { "192.0.2.1/24", "192.0.2.2/24", "192.0.2.3/24" }) Add4(v0, a);
        var v4 = k.InitNet.Ipv4;
        v4.InetDelIfa(v0.Ip4!, v0.Ip4!.First!, true);
        Assert.Empty(Addrs4(v0));                       // promote_secondaries=0: all go

        foreach (var a in new[] { "192.0.2.1/24", "192.0.2.2/24", "192.0.2.3/24" }) Add4(v0, a);
        v0.Ip4!.Cnf[IPV4_DEVCONF_PROMOTE_SECONDARIES] = 1;
        v4.InetDelIfa(v0.Ip4!, v0.Ip4!.First!, true);
        Assert.Equal(["192.0.2.2/24", "192.0.2.3/24 secondary"], Addrs4(v0));
        // the prefix route and the local routes' source moved to the promoted address
        var prefix = v4.Main.Routes.Single(r => r.DstLen == 24);
        Assert.Equal("192.0.2.2", Inet.FormatV4((uint)prefix.PrefSrc));
        Assert.All(v4.Local.Routes.Where(r => r.Type == RTN_LOCAL && r.FirstNh!.Dev == v0),
            r => Assert.Equal("192.0.2.2", Inet.FormatV4((uint)r.PrefSrc)));
    }

    [Fact]
    public void FiniteLifetimesCountDownOnTheKernelClock()
    {
        var k = NewKernel(out var clock);
        var (v0, v1) = Veth(k.InitNet, "v0", "v1");
        Up(v0); Up(v1);
        Assert.False(Add4(v0, "192.0.2.1/24", valid: 10, preferred: 5).Failed);
        var ifa = v0.Ip4!.First!;
        Assert.Equal(0u, ifa.Flags & IFA_F_PERMANENT);
        clock.Advance(4_000);
        k.RunTimers();
        Assert.Equal(0u, ifa.Flags & IFA_F_DEPRECATED);
        clock.Advance(1_500);
        k.RunTimers();
        Assert.NotEqual(0u, ifa.Flags & IFA_F_DEPRECATED);
        Assert.Single(Addrs4(v0));
        clock.Advance(5_000);
        k.RunTimers();
        Assert.Empty(Addrs4(v0));
        Assert.DoesNotContain(k.InitNet.Ipv4.Local.Routes, r => r.Type == RTN_LOCAL && r.FirstNh!.Dev == v0);
    }

    [Fact]
    public void Ipv6DadLeavesTheTentativeStateOnTheClockAndThenAddsTheLocalRoute()
    {
        var k = NewKernel(out var clock);
        var (v0, v1) = Veth(k.InitNet, "v0", "v1");
        Up(v0); Up(v1);
        var v6 = k.InitNet.Ipv6;
        var pfx = Inet.ParseV6("2001:db8::1");
        Assert.False(v6.Inet6AddrAdd(v0, new Ifa6Config { Pfx = pfx, Plen = 64 }).Failed);
        k.RunDeferred();
        var ifa = v0.Ip6!.Find(pfx)!;
        Assert.True(ifa.Tentative);
        Assert.DoesNotContain(v6.Local.Routes, r => r.Dst == pfx);
        clock.Advance(1_500);
        k.RunTimers();
        Assert.False(ifa.Tentative);
        Assert.Contains(v6.Local.Routes, r => r.Dst == pfx && r.Type == RTN_LOCAL);

        // nodad: usable at once
        var pfx2 = Inet.ParseV6("2001:db8::2");
        v6.Inet6AddrAdd(v0, new Ifa6Config { Pfx = pfx2, Plen = 64, IfaFlags = IFA_F_NODAD });
        k.RunDeferred();
        Assert.False(v0.Ip6!.Find(pfx2)!.Tentative);
    }

    [Fact]
    public void Ipv6AddressesOnADownLinkStayTentative()
    {
        var k = NewKernel(out var clock);
        var (v0, _) = Veth(k.InitNet, "v0", "v1");
        var pfx = Inet.ParseV6("2001:db8::1");
        Assert.False(k.InitNet.Ipv6.Inet6AddrAdd(v0, new Ifa6Config { Pfx = pfx, Plen = 64 }).Failed);
        k.RunDeferred();
        clock.Advance(10_000);
        k.RunTimers();
        Assert.True(v0.Ip6!.Find(pfx)!.Tentative);
    }
}
