using VirtKernel.Model;
using VirtKernel.Tests.Model;

namespace VirtKernel.Tests.Sysctl;

/// <summary>Namespaces share their sysctl values and devices share conf/default's values until one
/// side writes; device directories are made when a namespace's tree is first looked at. None of it
/// may show: every namespace and device behaves as if it had its own copy from the start.</summary>
public class CopyOnWriteTests
{
    private static string Get(Net net, string key)
    {
        var f = net.Sysctl.File(key.Replace('.', '/')) ?? throw new Xunit.Sdk.XunitException("no " + key);
        int e = f.Read(out var t);
        return e < 0 ? $"E{-e}" : t.TrimEnd('\n');
    }

    private static void Set(Net net, string key, string value) =>
        Assert.True(net.Sysctl.File(key.Replace('.', '/'))!.Write(value + "\n") > 0, key);

    [Fact]
    public void NamespacesMadeTogetherDoNotSeeEachOthersWrites()
    {
        var k = ModelHelpers.NewKernel(out _);
        var a = k.CreateNet();
        var b = k.CreateNet();
        var c = k.CreateNet();
        string cc = Get(b, "ipv4.tcp_congestion_control"), somaxconn = Get(a, "core.somaxconn");
        Assert.NotEqual("reno", cc);
        Set(a, "ipv4.ip_default_ttl", "12");
        Set(a, "ipv4.tcp_congestion_control", "reno");
        Set(b, "core.somaxconn", "77");
        // one written through the model, not the tree (nobody looked at c's tree yet)
        c.Sysctl.Values.SetNum("ipv4/ip_default_ttl", 99);
        Assert.Equal(["12", "64", "99"], new[] { a, b, c }.Select(n => Get(n, "ipv4.ip_default_ttl")));
        Assert.Equal(["reno", cc, cc], new[] { a, b, c }.Select(n => Get(n, "ipv4.tcp_congestion_control")));
        Assert.Equal([somaxconn, "77", somaxconn], new[] { a, b, c }.Select(n => Get(n, "core.somaxconn")));
        // a namespace made after those writes starts from the defaults
        var d = k.CreateNet();
        Assert.Equal("64", Get(d, "ipv4.ip_default_ttl"));
        Assert.Equal(somaxconn, Get(d, "core.somaxconn"));
    }

    [Fact]
    public void ConfAllAndDefaultAreEachNamespacesOwn()
    {
        var k = ModelHelpers.NewKernel(out _);
        var a = k.CreateNet();
        var b = k.CreateNet();
        Set(a, "ipv4.conf.default.rp_filter", "2");
        Set(a, "ipv6.conf.all.hop_limit", "9");
        Assert.Equal("0", Get(b, "ipv4.conf.default.rp_filter"));
        Assert.Equal("64", Get(b, "ipv6.conf.all.hop_limit"));
        // devices start from their own namespace's default, and writing a device leaves default alone
        var (v0, _) = ModelHelpers.Veth(a, "v0", "v1");
        var (w0, _) = ModelHelpers.Veth(b, "w0", "w1");
        Assert.Equal("2", Get(a, "ipv4.conf.v0.rp_filter"));
        Assert.Equal("0", Get(b, "ipv4.conf.w0.rp_filter"));
        Set(a, "ipv4.conf.v1.rp_filter", "1");
        Set(b, "ipv6.conf.w1.hop_limit", "3");
        Assert.Equal(["2", "1", "2"], new[] { "v0", "v1", "default" }.Select(d => Get(a, $"ipv4.conf.{d}.rp_filter")));
        Assert.Equal(["64", "3", "64"], new[] { "w0", "w1", "default" }.Select(d => Get(b, $"ipv6.conf.{d}.hop_limit")));
        // written through the model (netlink's IFLA_INET_CONF path): the sibling device keeps its value
        v0.Ip4!.Cnf.Set(VirtKernel.Protocol.Uapi.IPV4_DEVCONF_RP_FILTER, 0);
        Assert.Equal(["0", "1", "2"], new[] { "v0", "v1", "default" }.Select(d => Get(a, $"ipv4.conf.{d}.rp_filter")));
        Assert.Equal("0", Get(b, "ipv4.conf.w0.rp_filter"));
        GC.KeepAlive(w0);
    }

    [Fact]
    public void DeviceDirectoriesOfDevicesMadeBeforeTheFirstLookAreThere()
    {
        var k = ModelHelpers.NewKernel(out _);
        var net = k.CreateNet();
        ModelHelpers.Veth(net, "v0", "v1");
        ModelHelpers.Veth(net, "x0", "x1");
        net.DelLink(net.GetDevice("x0")!);
        net.RunLinkWatch();
        var conf4 = (VirtKernel.Model.Sysctl.CtlDir)net.Sysctl.Root.Find("ipv4/conf")!;
        Assert.Equal(["all", "default", "lo", "v0", "v1"], conf4.Children.Select(c => c.Name));
        var neigh6 = (VirtKernel.Model.Sysctl.CtlDir)net.Sysctl.Root.Find("ipv6/neigh")!;
        Assert.Equal(["lo", "v0", "v1"], neigh6.Children.Select(c => c.Name));
        // and from then on directories come and go with the devices
        ModelHelpers.Veth(net, "y0", "y1");
        Assert.Equal(["all", "default", "lo", "v0", "v1", "y0", "y1"], conf4.Children.Select(c => c.Name));
        net.DelLink(net.GetDevice("v0")!);
        net.RunLinkWatch();
        Assert.Equal(["all", "default", "lo", "y0", "y1"], conf4.Children.Select(c => c.Name));
    }
    [Fact]
    public void DevicesNeighbourParmsAreTheirOwn()
    {
        var k = ModelHelpers.NewKernel(out _);
        var net = k.CreateNet();
        var (v0, v1) = ModelHelpers.Veth(net, "v0", "v1");
        Set(net, "ipv4.neigh.v0.ucast_solicit", "7");
        Assert.Equal(["7", "3", "3"], new[] { "v0", "v1", "lo" }.Select(d => Get(net, $"ipv4.neigh.{d}.ucast_solicit")));
        v1.Ip6!.NdParms[NeighVar.McastProbes] = 5;
        Assert.Equal(["3", "5", "3"], new[] { "v0", "v1", "lo" }.Select(d => Get(net, $"ipv6.neigh.{d}.mcast_solicit")));
        // the table defaults stay: a device made now starts from them
        var (w0, _) = ModelHelpers.Veth(net, "w0", "w1");
        Assert.Equal(3, w0.Ip4!.ArpParms[NeighVar.UcastProbes]);
        Assert.Equal(3, w0.Ip6!.NdParms[NeighVar.McastProbes]);
        Assert.Equal(7, v0.Ip4!.ArpParms[NeighVar.UcastProbes]);
    }
}
