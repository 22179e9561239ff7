using VirtKernel.Model;
using VirtKernel.Model.Links;
using VirtKernel.Protocol;
using static VirtKernel.Tests.Model.ModelHelpers;

namespace VirtKernel.Tests.Model;

/// <summary>Namespaces in the model, against net/core/net_namespace.c and dev.c: lifetimes and
/// teardown, moving devices, peer ids.</summary>
public class NamespaceTests
{
    private static Net Held(Kernel k)
    {
        var n = k.CreateNet();
        n.Hold();
        return n;
    }

    [Fact]
    public void AFreshNamespaceHoldsOnlyADownLoopback()
    {
        var k = NewKernel(out _);
        var n = Held(k);
        var lo = n.Devices.Single();
        Assert.Equal(("lo", 1, false), (lo.Name, lo.Ifindex, lo.IsUp));
        Assert.Empty(lo.Ip4!.Addrs);
        Assert.Empty(n.Nsids);
    }

    [Fact]
    public void TeardownTakesAVethPeerInAnotherNamespace()
    {
        var k = NewKernel(out _);
        Net a = Held(k), b = Held(k);
        var cfg = new LinkConfig { Name = "v0", SourceNet = a };
        var (v0, err) = a.RtnlNewLink(LinkOps.Get("veth")!, cfg,
            new VethConfig { Peer = new LinkConfig { Name = "v1", TargetNet = b } });
        Assert.False(err.Failed, err.ToString());
        var v1 = b.GetDevice("v1")!;
        Assert.Same(b, v1.Net);
        Assert.Same(b, v0!.Ops.GetLinkNet(v0));

        a.Release();
        k.RunDeferred();
        Assert.Null(k.GetNet(a.Id));
        Assert.Null(b.GetDevice("v1"));
        Assert.Null(b.GetDevice(v1.Ifindex));
        Assert.Equal(RegState.Unregistered, v1.RegState);
        Assert.Single(b.Devices);
    }

    [Fact]
    public void SomethingMustHoldANamespace()
    {
        var k = NewKernel(out _);
        var n = Held(k);
        n.Hold(); // a name and a socket, say
        n.Release();
        k.RunDeferred();
        Assert.Same(n, k.GetNet(n.Id));
        n.Release();
        k.RunDeferred();
        Assert.Null(k.GetNet(n.Id));
        Assert.True(n.Dying);
    }

    [Fact]
    public void MovingKeepsTheIndexWhenFreeAndRenumbersWhenTaken()
    {
        var k = NewKernel(out _);
        Net a = Held(k), b = Held(k);
        var (v0, v1) = Veth(a, "v0", "v1");          // v1 = 2, v0 = 3
        var (w0, w1) = Veth(b, "w0", "w1");          // w1 = 2, w0 = 3, b's next index 4
        Assert.False(a.DevChangeNetNamespace(v1, b, null, 0).Failed);
        Assert.Equal(4, v1.Ifindex);                 // 2 is taken in b
        Assert.False(a.DevChangeNetNamespace(v0, b, null, 0).Failed);
        Assert.Equal(5, v0.Ifindex);                 // 3 as well
        Assert.Same(b, v0.Net);
        Assert.Equal([1, 2, 3, 4, 5], b.Devices.Select(d => d.Ifindex));
        _ = (w0, w1);

        var c = Held(k);
        Assert.False(b.DevChangeNetNamespace(v0, c, null, 0).Failed);
        Assert.Equal(5, v0.Ifindex);                 // free in c: kept
    }

    [Fact]
    public void MovingFollowsTheKernelsRules()
    {
        var k = NewKernel(out _);
        Net a = Held(k), b = Held(k);
        var (_, v1) = Veth(a, "v0", "v1");
        Veth(b, "v1", "v9");
        var e = a.DevChangeNetNamespace(v1, b, null, 0);
        Assert.Equal((Errno.EEXIST, "An interface with the same name exists in the target netns"), (e.Errno, e.Msg));
        Assert.False(a.DevChangeNetNamespace(v1, b, "v2", 0).Failed);
        Assert.Equal("v2", v1.Name);
        e = a.DevChangeNetNamespace(a.Loopback, b, null, 0);
        Assert.Equal((Errno.EINVAL, "The interface netns is immutable"), (e.Errno, e.Msg));
        var (x0, _) = Veth(a, "x0", "x1");
        e = a.DevChangeNetNamespace(x0, b, null, 1);
        Assert.Equal((Errno.EBUSY, "The ifindex 1 is not available in the target netns"), (e.Errno, e.Msg));
    }

    [Fact]
    public void MovingClosesTheDeviceAndGivesTheTargetAnId()
    {
        var k = NewKernel(out _);
        Net a = Held(k), b = Held(k);
        var (v0, v1) = Veth(a, "v0", "v1");
        Up(v1);
        Assert.False(a.DevChangeNetNamespace(v1, b, null, 0).Failed);
        k.RunDeferred();
        Assert.Equal(0, a.PeerToId(b));              // peernet2id_alloc for IFLA_NEW_NETNSID
        Assert.False(v1.IsUp);                        // closed on the way
        Assert.Same(b, v0.Ops.GetLinkNet(v0));
    }

    [Fact]
    public void IdsAreTheLowestFreeAndGoWithTheirNamespace()
    {
        var k = NewKernel(out _);
        Net a = Held(k), b = Held(k), c = Held(k), d = Held(k);
        Assert.False(a.NewId(b, 5).Failed);
        Assert.Equal(0, a.PeerToIdAlloc(c));
        Assert.Equal(1, a.PeerToIdAlloc(d));
        var e = a.NewId(c, 7);
        Assert.Equal((Errno.EEXIST, "Peer netns already has a nsid assigned"), (e.Errno, e.Msg));
        e = a.NewId(d.Kernel.InitNet, 5);
        Assert.Equal((Errno.EEXIST, "The specified nsid is already used"), (e.Errno, e.Msg));
        Assert.Equal(-1, b.PeerToId(a));              // ids are per viewer

        c.Release();
        k.RunDeferred();
        Assert.Equal([(1, d), (5, b)], a.Nsids.Select(x => (x.Id, x.Peer)));
        Assert.Equal(0, a.PeerToIdAlloc(k.InitNet)); // 0 is free again
        a.Release();
        k.RunDeferred();
        Assert.Equal(-1, d.PeerToId(a));
    }
}
