using VirtKernel.Model;
using VirtKernel.Model.Ipv4;
using VirtKernel.Model.Ipv6;
using VirtKernel.Tests.Model;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Sysctl;

/// <summary>What writing the sysctls does to the model, as the kernel behaves (the golden cases'
/// sysctl-* and netconf-* scenarios, README "sysctl interplay").</summary>
public class SysctlSemanticsTests
{
    private sealed class Recorder : INetEvents, INetconfEvents
    {
        public readonly List<string> Seen = new();
        public void Link(NetDevice dev, bool deleted, uint change) { }
        public void Addr(IfAddr addr, bool deleted) { }
        public void Route(Net net, Route route, RouteEventKind kind) { }
        public void Netconf(Net net, int family, bool deleted, int type, int ifindex, object? devconf) =>
            Seen.Add($"{(family == AF_INET ? "inet" : "inet6")} {(deleted ? "del" : "new")} {type} {ifindex}");
    }

    private static (Kernel K, Net Net) Fresh()
    {
        var k = ModelHelpers.NewKernel(out _);
        return (k, k.CreateNet());
    }

    private static string Get(Net net, string key)
    {
        var f = net.Sysctl.File(key.Replace('.', '/')) ?? throw new Xunit.Sdk.XunitException("no " + key);
        int e = f.Read(out var t);
        return e < 0 ? $"E{-e}" : t.TrimEnd('\n');
    }

    private static int Set(Net net, string key, string value) =>
        net.Sysctl.File(key.Replace('.', '/'))!.Write(value + "\n");

    private static bool Exists(Net net, string key) => net.Sysctl.File(key.Replace('.', '/')) != null;

    [Fact]
    public void IpForwardIsConfAllForwarding()
    {
        var (k, net) = Fresh();
        var rec = new Recorder();
        k.Events = rec;
        Assert.Equal(2, Set(net, "ipv4.ip_forward", "1"));
        Assert.Equal("1", Get(net, "ipv4.conf.all.forwarding"));
        Assert.Equal("1", Get(net, "ipv4.conf.default.forwarding"));
        Assert.Equal("1", Get(net, "ipv4.conf.lo.forwarding"));
        Assert.Equal("0", Get(net, "ipv4.conf.all.accept_redirects"));
        Assert.Equal(["inet new 2 -1", "inet new 2 -2", "inet new 2 1"], rec.Seen);
        // a device made afterwards starts from default
        ModelHelpers.Veth(net, "v0", "v1");
        Assert.Equal("1", Get(net, "ipv4.conf.v0.forwarding"));
        Assert.Equal(2, Set(net, "ipv4.conf.all.forwarding", "2"));
        Assert.Equal("2", Get(net, "ipv4.ip_forward"));
        Assert.Equal("2", Get(net, "ipv4.conf.v1.forwarding"));
        Set(net, "ipv4.ip_forward", "0");
        Assert.Equal("1", Get(net, "ipv4.conf.all.accept_redirects"));
    }

    [Fact]
    public void Ipv4DefaultRewritesUnwrittenEntriesIpv6DefaultOnlySeeds()
    {
        // golden sysctl-default-vs-all
        var (_, net) = Fresh();
        ModelHelpers.Veth(net, "v0", "v1");
        Set(net, "ipv4.conf.v1.rp_filter", "2");
        Set(net, "ipv4.conf.default.rp_filter", "1");
        Set(net, "ipv4.conf.default.accept_redirects", "0");
        Set(net, "ipv6.conf.default.addr_gen_mode", "1");
        Set(net, "ipv6.conf.default.hop_limit", "33");
        ModelHelpers.Veth(net, "w0", "w1");
        Assert.Equal(["1", "2", "1", "1"], new[] { "v0", "v1", "w0", "lo" }.Select(d => Get(net, $"ipv4.conf.{d}.rp_filter")));
        Assert.Equal(["0", "0"], new[] { "v0", "w0" }.Select(d => Get(net, $"ipv4.conf.{d}.accept_redirects")));
        Assert.Equal(["1", "1", "64", "33"], new[] { "ipv6.conf.v0.addr_gen_mode", "ipv6.conf.w0.addr_gen_mode", "ipv6.conf.v0.hop_limit", "ipv6.conf.w0.hop_limit" }.Select(x => Get(net, x)));
        Set(net, "ipv4.conf.all.accept_redirects", "1");
        Assert.Equal(["0", "0", "0"], new[] { "v0", "w0", "default" }.Select(d => Get(net, $"ipv4.conf.{d}.accept_redirects")));
        Set(net, "ipv6.conf.all.hop_limit", "44");
        Assert.Equal(["64", "33", "33"], new[] { "v0", "w0", "default" }.Select(d => Get(net, $"ipv6.conf.{d}.hop_limit")));
        // a later write of default does not reach w0, which copied default's written-entries bitmap
        Set(net, "ipv4.conf.default.rp_filter", "0");
        Assert.Equal(["0", "1"], new[] { "v0", "w0" }.Select(d => Get(net, $"ipv4.conf.{d}.rp_filter")));
    }

    [Fact]
    public void DisableIpv6RemovesIpv6State()
    {
        // golden sysctl-disable-ipv6-all
        var (k, net) = Fresh();
        var (v0, v1) = ModelHelpers.Veth(net, "v0", "v1");
        ModelHelpers.Up(v0);
        ModelHelpers.Up(v1);
        Assert.False(net.Ipv6.Inet6AddrAdd(v0, new Ifa6Config { Pfx = Inet.ParseV6("2001:db8::1"), Plen = 64, IfaFlags = (uint)IFA_F_NODAD }).Failed);
        k.RunDeferred();
        Assert.Single(v0.Ip6!.Addrs);
        Set(net, "ipv6.conf.all.disable_ipv6", "1");
        Assert.Equal(["1", "1", "1", "1"], new[] { "v0", "v1", "default", "lo" }.Select(d => Get(net, $"ipv6.conf.{d}.disable_ipv6")));
        Assert.Empty(v0.Ip6.Addrs);
        Assert.DoesNotContain(net.Ipv6.Main.Routes, r => r.FirstNh?.Dev == v0);
        Set(net, "ipv6.conf.v0.disable_ipv6", "0");
        Assert.Empty(v0.Ip6.Addrs); // re-enabling does not bring the address back
        ModelHelpers.Veth(net, "w0", "w1");
        Assert.Equal("1", Get(net, "ipv6.conf.w0.disable_ipv6"));
    }

    [Fact]
    public void Ipv6MtuFollowsTheLinkAndIpv6GoesBelow1280()
    {
        // golden sysctl-mtu
        var (_, net) = Fresh();
        var (v0, _) = ModelHelpers.Veth(net, "v0", "v1");
        Assert.Equal("1500", Get(net, "ipv6.conf.v0.mtu"));
        Assert.False(net.DevSetMtu(v0, 1400).Failed);
        Assert.Equal("1400", Get(net, "ipv6.conf.v0.mtu"));
        Assert.Equal(5, Set(net, "ipv6.conf.v0.mtu", "1300"));
        Assert.Equal(-22, Set(net, "ipv6.conf.v0.mtu", "9000"));
        Assert.Equal(-22, Set(net, "ipv6.conf.v0.mtu", "1000"));
        var confDir = net.Sysctl.Root.Find("ipv6/conf/v0")!;
        Assert.False(net.DevSetMtu(v0, 1200).Failed);
        Assert.False(Exists(net, "ipv6.conf.v0.mtu"));
        Assert.False(Exists(net, "ipv6.conf.v0.disable_ipv6"));
        Assert.False(confDir.Registered);
        Assert.True(Exists(net, "ipv4.conf.v0.forwarding"));
        Assert.Equal(["all", "default", "lo", "v1"], ((VirtKernel.Model.Sysctl.CtlDir)net.Sysctl.Root.Find("ipv6/conf")!).Children.Select(c => c.Name));
        Assert.False(net.DevSetMtu(v0, 1500).Failed);
        Assert.Equal(["1500", "0"], new[] { "ipv6.conf.v0.mtu", "ipv6.conf.v0.disable_ipv6" }.Select(x => Get(net, x)));
        // back with defaults: addr_gen_mode none was not kept
        Assert.Equal("0", Get(net, "ipv6.conf.v0.addr_gen_mode"));
    }

    [Fact]
    public void RenamedAndDeletedDevicesMoveTheirDirectories()
    {
        // golden sysctl-device-delete
        var (k, net) = Fresh();
        var rec = new Recorder();
        k.Events = rec;
        var (v0, _) = ModelHelpers.Veth(net, "v0", "v1");
        Set(net, "ipv4.conf.v0.rp_filter", "2");
        net.DevChangeName(v0, "w0");
        Assert.False(Exists(net, "ipv4.conf.v0.rp_filter"));
        Assert.False(Exists(net, "ipv6.neigh.v0.locktime"));
        Assert.Equal("2", Get(net, "ipv4.conf.w0.rp_filter"));
        Assert.Equal("0", Get(net, "ipv6.neigh.w0.locktime"));
        Assert.Contains("inet del 0 3", rec.Seen);
        Assert.Contains("inet new -1 3", rec.Seen);
        net.DelLink(net.GetDevice("w0")!);
        Assert.Equal(["all", "default", "lo"], ((VirtKernel.Model.Sysctl.CtlDir)net.Sysctl.Root.Find("ipv4/conf")!).Children.Select(c => c.Name));
        Assert.Equal(["lo"], ((VirtKernel.Model.Sysctl.CtlDir)net.Sysctl.Root.Find("ipv6/neigh")!).Children.Select(c => c.Name));
    }

    [Fact]
    public void StableSecretAndAddrGenMode()
    {
        // golden sysctl-errors and sysctl-addr-gen-mode
        var (_, net) = Fresh();
        ModelHelpers.Veth(net, "v0", "v1");
        Assert.Equal("E5", Get(net, "ipv6.conf.v0.stable_secret"));
        Assert.Equal(-22, Set(net, "ipv6.conf.v0.addr_gen_mode", "2")); // stable_privacy needs a secret
        Assert.Equal(12, Set(net, "ipv6.conf.v0.stable_secret", "2001:db8::1"));
        Assert.Equal("2001:0db8:0000:0000:0000:0000:0000:0001", Get(net, "ipv6.conf.v0.stable_secret"));
        Assert.Equal("2", Get(net, "ipv6.conf.v0.addr_gen_mode")); // writing a secret selects stable_privacy
        Assert.Equal(2, Set(net, "ipv6.conf.v0.addr_gen_mode", "1"));
        Assert.Equal(-22, Set(net, "ipv6.conf.v0.addr_gen_mode", "9"));
        Assert.Equal(-5, Set(net, "ipv6.conf.v0.stable_secret", "x"));
        Assert.Equal(-5, Set(net, "ipv6.conf.all.stable_secret", "2001:db8::1"));
        Assert.Equal("E5", Get(net, "ipv6.conf.all.stable_secret"));
        // default's secret: every device and new ones use stable-privacy
        Set(net, "ipv6.conf.default.stable_secret", "2001:db8::9");
        Assert.Equal("2", Get(net, "ipv6.conf.v1.addr_gen_mode"));
        ModelHelpers.Veth(net, "w0", "w1", addrgenNone: false);
        Assert.Equal(["2", "2001:0db8:0000:0000:0000:0000:0000:0009"], new[] { "ipv6.conf.w0.addr_gen_mode", "ipv6.conf.w0.stable_secret" }.Select(x => Get(net, x)));
        Assert.Equal(-22, Set(net, "ipv4.conf.v0.rp_filter", "abc"));
        Assert.Equal(2, Set(net, "ipv4.ip_forward", "2"));
        Assert.Equal("2", Get(net, "ipv4.ip_forward"));
    }

    [Fact]
    public void KeepAddrOnDownKeepsStaticAddresses()
    {
        // golden sysctl-keep-addr-on-down
        var (k, net) = Fresh();
        var (v0, v1) = ModelHelpers.Veth(net, "v0", "v1");
        ModelHelpers.Up(v0);
        ModelHelpers.Up(v1);
        Assert.False(net.Ipv6.Inet6AddrAdd(v0, new Ifa6Config { Pfx = Inet.ParseV6("2001:db8::1"), Plen = 64, IfaFlags = (uint)IFA_F_NODAD }).Failed);
        k.RunDeferred();
        Set(net, "ipv6.conf.v0.keep_addr_on_down", "1");
        ModelHelpers.Down(v0);
        Assert.Single(v0.Ip6!.Addrs);
    }

    [Fact]
    public void NetconfIsAnnouncedForTheEntriesItCarries()
    {
        var (k, net) = Fresh();
        ModelHelpers.Veth(net, "v0", "v1");
        var rec = new Recorder();
        k.Events = rec;
        Set(net, "ipv4.conf.v0.rp_filter", "2");
        Set(net, "ipv4.conf.v0.rp_filter", "2");           // no change, no message
        Set(net, "ipv4.conf.v0.proxy_arp", "1");
        Set(net, "ipv4.conf.v0.ignore_routes_with_linkdown", "1");
        Set(net, "ipv4.conf.v0.arp_ignore", "1");           // not a netconf attribute
        Set(net, "ipv6.conf.v0.proxy_ndp", "1");
        Set(net, "ipv6.conf.v0.forwarding", "1");
        Set(net, "ipv6.conf.all.ignore_routes_with_linkdown", "1");
        Set(net, "ipv6.conf.default.force_forwarding", "1");
        Assert.Equal([
            $"inet new {NETCONFA_RP_FILTER} 3", $"inet new {NETCONFA_PROXY_NEIGH} 3",
            $"inet new {NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN} 3", $"inet6 new {NETCONFA_PROXY_NEIGH} 3",
            $"inet6 new {NETCONFA_FORWARDING} 3",
            // all: every device that changes, then all
            $"inet6 new {NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN} 1", $"inet6 new {NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN} 2",
            $"inet6 new {NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN} 3", $"inet6 new {NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN} -1",
            $"inet6 new {NETCONFA_FORCE_FORWARDING} -2",
        ], rec.Seen);
        // forwarding joins the all-routers groups
        Assert.Contains(net.GetDevice("v0")!.Ip6!.McList, m => m.Addr == Ipv6Net.LinkLocalAllRouters);
    }

    private static Kernel InitNetKernel() => new(new KernelOptions { Clock = new ManualClock(), RootIsInitNet = true });

    [Fact]
    public void NewNamespacesInheritAsDevconfInheritInitNetSays()
    {
        var k = InitNetKernel();
        var init = k.InitNet;
        Set(init, "ipv4.conf.all.rp_filter", "1");
        Set(init, "ipv6.conf.default.hop_limit", "10");
        var a = k.CreateNet(); // 0: IPv4 from init_net, IPv6 compiled
        Assert.Equal(["1", "64"], new[] { "ipv4.conf.all.rp_filter", "ipv6.conf.default.hop_limit" }.Select(x => Get(a, x)));
        Set(init, "core.devconf_inherit_init_net", "1");
        var b = k.CreateNet();
        Assert.Equal(["1", "10"], new[] { "ipv4.conf.all.rp_filter", "ipv6.conf.default.hop_limit" }.Select(x => Get(b, x)));
        Set(init, "core.devconf_inherit_init_net", "2");
        var c = k.CreateNet();
        Assert.Equal(["0", "64"], new[] { "ipv4.conf.all.rp_filter", "ipv6.conf.default.hop_limit" }.Select(x => Get(c, x)));
        Set(init, "core.devconf_inherit_init_net", "3");
        Set(c, "ipv6.conf.default.hop_limit", "20");
        var d = k.CreateNet(creator: c);
        Assert.Equal(["0", "20"], new[] { "ipv4.conf.all.rp_filter", "ipv6.conf.default.hop_limit" }.Select(x => Get(d, x)));
        // only the initial namespace has the knob, and the global entries writable
        Assert.False(Exists(a, "core.devconf_inherit_init_net"));
        Assert.Equal(Convert.ToUInt16("444", 8), a.Sysctl.File("core/rmem_max")!.Mode);
        Assert.Equal(Convert.ToUInt16("644", 8), init.Sysctl.File("core/rmem_max")!.Mode);
    }

    [Fact]
    public void NeighDefaultsReachDevicesThatNeverSetThem()
    {
        var k = InitNetKernel();
        var init = k.InitNet;
        var child = k.CreateNet();
        var (v0, _) = ModelHelpers.Veth(child, "v0", "v1");
        Set(child, "ipv4.neigh.v1.ucast_solicit", "7");
        Assert.False(Exists(child, "ipv4.neigh.default.ucast_solicit"));
        Set(init, "ipv4.neigh.default.ucast_solicit", "5");
        Assert.Equal(["5", "7", "5"], new[] { "ipv4.neigh.v0.ucast_solicit", "ipv4.neigh.v1.ucast_solicit", "ipv4.neigh.lo.ucast_solicit" }.Select(x => Get(child, x)));
        Assert.Equal("5", Get(init, "ipv4.neigh.lo.ucast_solicit"));
        ModelHelpers.Veth(child, "w0", "w1");
        Assert.Equal("5", Get(child, "ipv4.neigh.w0.ucast_solicit"));
        Assert.Equal("3", Get(child, "ipv6.neigh.w0.ucast_solicit"));
        // unres_qlen counts packets of unres_qlen_bytes
        Set(child, "ipv4.neigh.w0.unres_qlen", "10");
        Assert.Equal("20900", Get(child, "ipv4.neigh.w0.unres_qlen_bytes"));
        Assert.Equal(5, v0.Ip4!.ArpParms[NeighVar.UcastProbes]);
    }

    [Fact]
    public void ByDefaultTheRootNamespaceIsAFreshOneOfAnUnseenInitNet()
    {
        var k = ModelHelpers.NewKernel(out _);
        var root = k.InitNet;
        Assert.False(root.IsInit);
        Assert.False(Exists(root, "core.devconf_inherit_init_net"));
        Assert.False(Exists(root, "ipv4.neigh.default.ucast_solicit"));
        Assert.Equal(Convert.ToUInt16("444", 8), root.Sysctl.File("core/rmem_max")!.Mode);
        // what the root namespace changes is its own: new namespaces start from init_net's defaults
        string cc = Get(root, "ipv4.tcp_congestion_control");
        Assert.True(Set(root, "ipv4.conf.all.rp_filter", "1") > 0);
        Assert.True(Set(root, "ipv4.tcp_congestion_control", "reno") > 0);
        var child = k.CreateNet(creator: root);
        Assert.Equal("0", Get(child, "ipv4.conf.all.rp_filter"));
        Assert.Equal(cc, Get(child, "ipv4.tcp_congestion_control"));
        Assert.NotEqual("reno", cc);
    }
}
