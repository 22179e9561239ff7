using VirtKernel.Daemon.Rtnl;
using VirtKernel.Model;
using VirtKernel.Model.Ipv4;
using VirtKernel.Model.Links;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using static VirtKernel.Protocol.Uapi;
using Errno = VirtKernel.Protocol.Errno;

namespace VirtKernel.Tests.Model;

/// <summary>Route lookups that depend on sysctls (forwarding, rp_filter,
/// ignore_routes_with_linkdown), which the golden cases route-get-iif-forwarding and
/// route-get-linkdown change with sysctl(8): here the settings are written into the model
/// directly and the answers checked against what those golden files recorded.</summary>
public class RouteGetTests
{
    private static (Kernel K, Net Net) NewNet()
    {
        var k = new Kernel();
        return (k, k.CreateNet());
    }

    private static (NetDevice A, NetDevice B) Veth(Kernel k, Net net, string a, string b, bool upA = true, bool upB = true)
    {
        var (dev, err) = net.RtnlNewLink(LinkOps.Get("veth")!, new LinkConfig { Name = a }, new VethConfig { Peer = new LinkConfig { Name = b } });
        Assert.False(err.Failed, err.ToString());
        var peer = net.GetDevice(b)!;
        foreach (var d in new[] { dev!, peer }) d.Ip6!.Cnf[DEVCONF_ADDR_GEN_MODE] = IN6_ADDR_GEN_MODE_NONE;
        if (upA) Assert.False(net.DevChangeFlags(dev!, dev!.Flags | IFF_UP).Failed);
        if (upB) Assert.False(net.DevChangeFlags(peer, peer.Flags | IFF_UP).Failed);
        k.RunDeferred();
        return (dev!, peer);
    }

    private static void Addr(Net net, NetDevice dev, string a, int plen)
    {
        uint local = Inet.ParseV4(a);
        var ifa = new InIfAddr
        {
            Dev = dev, Local = local, Address = local, PrefixLen = (byte)plen, Mask = Inet.Mask4(plen),
            Broadcast = local | ~Inet.Mask4(plen), Label = dev.Name,
        };
        Assert.False(net.Ipv4.NewAddr(dev.Ip4!, ifa, IfAddr.InfinityLifeTime, IfAddr.InfinityLifeTime, (ushort)NLM_F_CREATE).Failed);
    }

    private static void Route(Net net, string dst, int plen, string via)
    {
        var cfg = new FibConfig
        {
            Table = RT_TABLE_MAIN, Dst = Inet.ParseV4(dst), DstLen = (byte)plen, Type = (byte)RTN_UNICAST,
            Protocol = (byte)RTPROT_BOOT, Gateway = Inet.ParseV4(via), GwFamily = (byte)AF_INET,
            NlFlags = (ushort)(NLM_F_CREATE | NLM_F_EXCL),
        };
        Assert.False(net.Ipv4.FibTableInsert(net.Ipv4.Main, cfg, out _).Failed);
    }

    private static int Get(Net net, string dst, string src, NetDevice? iif, out RouteGet4? got) =>
        net.Ipv4.RouteGet(Inet.ParseV4(dst), Inet.ParseV4(src), iif?.Ifindex ?? 0, 0, 0, 0, iif == null ? 0u : null, 17, 0, 0, out got);

    /// <summary>sysctl -w net.ipv4.conf.all.X=v: all, default and every device (devinet_conf_proc).</summary>
    private static void SetAll(Net net, int conf, int v)
    {
        net.Ipv4.All[conf] = v;
        net.Ipv4.Default[conf] = v;
        foreach (var d in net.Devices) if (d.Ip4 != null) d.Ip4.Cnf[conf] = v;
    }

    [Fact]
    public void InputRoutesFollowForwardingAndRpFilter()
    {
        var (k, net) = NewNet();
        var (v0, _) = Veth(k, net, "v0", "v1");
        var (w0, _) = Veth(k, net, "w0", "w1");
        Addr(net, v0, "192.0.2.1", 24);
        Addr(net, w0, "203.0.113.1", 24);
        Route(net, "198.51.100.0", 24, "203.0.113.254");

        // forwarding off: no route to host; a local destination is delivered on lo
        Assert.Equal(-Errno.EHOSTUNREACH, Get(net, "198.51.100.10", "192.0.2.77", v0, out _));
        Assert.Equal(0, Get(net, "192.0.2.1", "192.0.2.77", v0, out var local));
        Assert.Equal((byte)RTN_LOCAL, local!.Rt.Type);
        Assert.Equal(net.Loopback, local.Rt.Dev);
        Assert.Equal(Rtcf.Local, local.Rt.Flags & Rtcf.Local);

        SetAll(net, IPV4_DEVCONF_FORWARDING, 1);
        Assert.Equal(0, Get(net, "198.51.100.10", "192.0.2.77", v0, out var fwd));
        Assert.Equal(w0, fwd!.Rt.Dev);
        Assert.True(fwd.Rt.UsesGateway);
        Assert.Equal(Inet.ParseV4("203.0.113.254"), (uint)fwd.Rt.Gateway);
        Assert.Equal(0u, fwd.Rt.Flags);
        Assert.Equal(0, Get(net, "198.51.100.10", "198.18.0.1", v0, out _));

        // rp_filter=1: a source without a route back through v0 is refused
        SetAll(net, IPV4_DEVCONF_RP_FILTER, 1);
        Assert.Equal(-Errno.EINVAL, Get(net, "198.51.100.10", "198.18.0.1", v0, out _));
        Assert.Equal(0, Get(net, "198.51.100.10", "192.0.2.77", v0, out _));
    }

    [Fact]
    public void IgnoreRoutesWithLinkdownMakesThemDead()
    {
        var (k, net) = NewNet();
        var (v0, _) = Veth(k, net, "v0", "v1", upB: false);
        Addr(net, v0, "192.0.2.1", 24);
        Route(net, "198.51.100.0", 24, "192.0.2.254");

        Assert.Equal(0, Get(net, "198.51.100.1", "0.0.0.0", null, out var got));
        Assert.Equal(Inet.ParseV4("192.0.2.1"), got!.Flow.Saddr);
        Assert.Equal((uint)(RTNH_F_LINKDOWN), RouteFlags(net, "198.51.100.0"));

        v0.Ip4!.Cnf[IPV4_DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN] = 1;
        Assert.Equal(-Errno.ENETUNREACH, Get(net, "198.51.100.1", "0.0.0.0", null, out _));
        Assert.Equal((uint)(RTNH_F_LINKDOWN | RTNH_F_DEAD), RouteFlags(net, "198.51.100.0"));
    }

    /// <summary>rtm_flags of the route's RTM_NEWROUTE as a dump sends it.</summary>
    private static uint RouteFlags(Net net, string dst)
    {
        var r = net.Ipv4.Main.FindHead(Inet.ParseV4(dst), 24)!;
        var w = new NlWriter(256);
        RtnlRouteHandlers.FillRoute4(w, r, net, RTM_NEWROUTE, 0, 0, NLM_F_MULTI);
        return RtMsg.Read(w.Span[NlMsgHdr.Size..]).Flags;
    }
}
