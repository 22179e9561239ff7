using VirtKernel.Model;
using VirtKernel.Model.Links;
using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Model;

/// <summary>Model semantics of the link kinds, checked against what the 6.18 kernel does (the
/// golden corpus and runs in real namespaces): no wire bytes, only the model's API.</summary>
public class LinkKindTests
{
    private readonly ManualClock _clock = new();
    private readonly Kernel _k;
    private readonly Net _net;

    public LinkKindTests()
    {
        _k = new Kernel(new KernelOptions { Clock = _clock });
        _net = _k.InitNet;
    }

    private static byte[] Mac(byte last, byte mid = 0) => [0x02, 0, 0, 0, mid, last];

    private NetDevice New(string kind, string name, byte[]? addr = null, object? cfg = null, int? link = null,
        uint? mtu = null)
    {
        var (dev, err) = TryNew(kind, name, addr, cfg, link, mtu);
        Assert.False(err.Failed, err.ToString());
        return dev!;
    }

    private (NetDevice? Dev, KErr Err) TryNew(string kind, string name, byte[]? addr = null, object? cfg = null,
        int? link = null, uint? mtu = null)
    {
        var common = new LinkConfig { Name = name, Address = addr, LinkIndex = link, Mtu = mtu };
        var r = _net.RtnlNewLink(LinkOps.Get(kind)!, common, cfg);
        _k.RunDeferred();
        return r;
    }

    private (NetDevice A, NetDevice B) Veth(string a, byte[] macA, string b, byte[] macB)
    {
        var dev = New("veth", a, macA, new VethConfig { Peer = new LinkConfig { Name = b, Address = macB } });
        return (dev, _net.GetDevice(b)!);
    }

    private void Up(NetDevice dev)
    {
        var err = _net.DevChangeFlags(dev, dev.GetFlags() | (uint)IFF_UP);
        Assert.False(err.Failed, err.ToString());
        _k.RunDeferred();
    }

    private void Down(NetDevice dev)
    {
        _net.DevChangeFlags(dev, dev.GetFlags() & ~(uint)IFF_UP);
        _k.RunDeferred();
    }

    private KErr SetMaster(NetDevice dev, NetDevice? master)
    {
        var err = _net.DoSetMaster(dev, master?.Ifindex ?? 0);
        _k.RunDeferred();
        return err;
    }

    // ---- bridge ---------------------------------------------------------------------------------

    [Fact]
    public void BridgeWithoutAddressTakesTheLowestPortMacAndZerosWhenEmpty()
    {
        var (v0, _) = Veth("v0", Mac(5), "v1", Mac(6));
        var (w0, _) = Veth("w0", Mac(3), "w1", Mac(4));
        var br = New("bridge", "br0");
        Assert.Equal(NetAddrAssign.Random, br.AddrAssignType);

        Assert.False(SetMaster(v0, br).Failed);
        Assert.Equal(Mac(5), br.DevAddr);
        Assert.False(SetMaster(w0, br).Failed);
        Assert.Equal(Mac(3), br.DevAddr);
        Assert.Equal(Mac(3), BridgeLinkOps.Priv(br).BridgeId.Addr);

        Assert.False(SetMaster(w0, null).Failed);
        Assert.Equal(Mac(5), br.DevAddr);
        Assert.False(SetMaster(v0, null).Failed);
        Assert.Equal(new byte[6], br.DevAddr);
    }

    [Fact]
    public void BridgeWithUserAddressKeepsIt()
    {
        var (v0, _) = Veth("v0", Mac(1), "v1", Mac(2));
        var br = New("bridge", "br0", Mac(0, 1));
        Assert.False(SetMaster(v0, br).Failed);
        Assert.Equal(Mac(0, 1), br.DevAddr);
        Assert.Equal(0x8000, BridgeLinkOps.Priv(br).BridgeId.Priority);
    }

    [Fact]
    public void BridgeHasCarrierOnlyWhileAPortForwards()
    {
        var (v0, v1) = Veth("v0", Mac(1), "v1", Mac(2));
        var br = New("bridge", "br0", Mac(0, 1));
        Assert.False(SetMaster(v0, br).Failed);
        var port = NetBridge.PortOf(v0)!;
        Assert.Equal(BrState.Disabled, port.State);
        Assert.Equal(1u, v0.Promiscuity);
        Assert.Equal(1u, v0.Allmulti);
        Assert.Equal(0u, v0.GetFlags() & (uint)IFF_PROMISC); // counted, not user-requested

        Up(br);
        Assert.False(br.Carrier);
        Assert.Equal(IF_OPER_DOWN, br.OperState);

        Up(v0);
        Assert.Equal(BrState.Disabled, port.State); // no carrier yet: the peer is down
        Up(v1);
        Assert.Equal(BrState.Forwarding, port.State);
        Assert.True(port.ForwardDelayTimer.Pending); // armed even without STP
        Assert.True(br.Carrier);
        Assert.Equal(IF_OPER_UP, br.OperState);

        Down(v0);
        Assert.Equal(BrState.Disabled, port.State);
        Assert.False(br.Carrier);
        Assert.Equal(IF_OPER_DOWN, br.OperState);
    }

    [Fact]
    public void BridgeWithoutAddressOrPortsComesUpUnknown()
    {
        var br = New("bridge", "br0");
        Up(br);
        Assert.True(br.Carrier);
        Assert.Equal(IF_OPER_UNKNOWN, br.OperState);
    }

    [Fact]
    public void EnslavingFollowsTheKernelsChecks()
    {
        var (v0, v1) = Veth("v0", Mac(1), "v1", Mac(2));
        var br = New("bridge", "br0", Mac(0, 1));
        var br1 = New("bridge", "br1", Mac(0, 2));

        Assert.Equal(Errno.EINVAL, SetMaster(_net.Loopback, br).Errno);
        var err = SetMaster(br1, br);
        Assert.Equal(Errno.ELOOP, err.Errno);
        Assert.Equal("Can not enslave a bridge to a bridge", err.Msg);
        Assert.Equal(Errno.EOPNOTSUPP, SetMaster(v0, v1).Errno);

        Assert.False(SetMaster(v0, br).Failed);
        Assert.False(SetMaster(v0, br1).Failed); // moves from one bridge to the other
        Assert.Same(br1, v0.Master);
        Assert.Empty(BridgeLinkOps.Priv(br).Ports);
    }

    [Fact]
    public void DeletingTheBridgeReleasesItsPorts()
    {
        var (v0, _) = Veth("v0", Mac(1), "v1", Mac(2));
        var br = New("bridge", "br0", Mac(0, 1));
        Assert.False(SetMaster(v0, br).Failed);
        Assert.False(_net.DelLink(br).Failed);
        _k.RunDeferred();
        Assert.Null(v0.Master);
        Assert.Equal(0u, v0.Promiscuity);
        Assert.Equal(0u, v0.Allmulti);
        Assert.Null(_net.GetDevice("br0"));
    }

    [Fact]
    public void BridgeOptionsAreRangeCheckedAndRoundedLikeTheKernel()
    {
        var br = New("bridge", "br0", Mac(0, 1));
        var ops = br.Ops;
        Assert.Equal(Errno.ERANGE, ops.ChangeLink(br, new BridgeConfig { HelloTime = 50 }).Errno);
        Assert.Equal(Errno.ERANGE, ops.ChangeLink(br, new BridgeConfig { MaxAge = 20000 }).Errno);
        Assert.Equal(Errno.EINVAL, ops.ChangeLink(br, new BridgeConfig { GroupFwdMask = 1 }).Errno);
        Assert.Equal(Errno.EOPNOTSUPP, ops.ChangeLink(br, new BridgeConfig { VlanFiltering = 0 }).Errno);

        // forward_delay is unchecked without STP; starting STP clamps it to 2 s
        Assert.False(ops.ChangeLink(br, new BridgeConfig { ForwardDelay = 1 }).Failed);
        Assert.False(ops.ChangeLink(br, new BridgeConfig { StpState = 1 }).Failed);
        var nb = BridgeLinkOps.Priv(br);
        Assert.Equal(BrStp.Kernel, nb.StpEnabled);
        Assert.Equal(200, Jiffies.ToClockT(nb.ForwardDelay));

        // 5 centiseconds are 12 jiffies at HZ=250, which read back as 4
        Assert.False(ops.ChangeLink(br, new BridgeConfig { AgeingTime = 5 }).Failed);
        Assert.Equal(4, Jiffies.ToClockT(nb.AgeingTime));
        Assert.Equal(3124, Jiffies.ToClockT(nb.MulticastStartupQueryInterval));
    }

    [Fact]
    public void PortPriorityAndCostAreRangeChecked()
    {
        var (v0, _) = Veth("v0", Mac(1), "v1", Mac(2));
        var br = New("bridge", "br0", Mac(0, 1));
        Assert.False(SetMaster(v0, br).Failed);
        var port = NetBridge.PortOf(v0)!;
        Assert.Equal(2u, port.PathCost); // a veth says 10 Gb/s
        Assert.Equal(Errno.ERANGE, br.Ops.SlaveChangeLink(br, v0, new BridgePortConfig { Priority = 99 }).Errno);
        Assert.Equal(Errno.ERANGE, br.Ops.SlaveChangeLink(br, v0, new BridgePortConfig { Cost = 0 }).Errno);
        Assert.False(br.Ops.SlaveChangeLink(br, v0, new BridgePortConfig { Priority = 5, Cost = 10 }).Failed);
        Assert.Equal(0x1401, port.PortId);
        Assert.Equal(10u, port.PathCost);
    }

    // ---- macvlan ----------------------------------------------------------------------------------

    [Fact]
    public void MacvlanCarrierFollowsItsLower()
    {
        var (v0, v1) = Veth("v0", Mac(1), "v1", Mac(2));
        var mv = New("macvlan", "mv0", Mac(1, 2), new MacvlanConfig { Mode = MacvlanLinkOps.ModeBridge }, v0.Ifindex);
        Assert.Equal(v0.Ifindex, mv.IfLink);
        Assert.False(mv.Carrier);
        Up(mv);
        Assert.Equal(IF_OPER_LOWERLAYERDOWN, mv.OperState);
        Up(v0);
        Up(v1);
        Assert.True(mv.Carrier);
        Assert.Equal(IF_OPER_UP, mv.OperState);
        Down(v1);
        Assert.False(mv.Carrier);
    }

    [Fact]
    public void MacvlansGoWithTheirLower()
    {
        var (v0, _) = Veth("v0", Mac(1), "v1", Mac(2));
        New("macvlan", "mv0", Mac(1, 2), new MacvlanConfig(), v0.Ifindex);
        New("macvlan", "mv1", Mac(2, 2), new MacvlanConfig { Mode = MacvlanLinkOps.ModePrivate }, v0.Ifindex);
        Assert.False(_net.DelLink(v0).Failed);
        _k.RunDeferred();
        Assert.Null(_net.GetDevice("mv0"));
        Assert.Null(_net.GetDevice("mv1"));
        Assert.Equal(1, _net.DeviceCount); // lo
    }

    [Fact]
    public void PassthruMacvlanMustBeAlone()
    {
        var (v0, _) = Veth("v0", Mac(1), "v1", Mac(2));
        New("macvlan", "mv0", Mac(1, 2), new MacvlanConfig(), v0.Ifindex);
        var (_, err) = TryNew("macvlan", "mv1", null, new MacvlanConfig { Mode = MacvlanLinkOps.ModePassthru }, v0.Ifindex);
        Assert.Equal(Errno.EINVAL, err.Errno);
        Assert.Equal(Errno.EINVAL, TryNew("macvlan", "mv2", null, new MacvlanConfig(), _net.Loopback.Ifindex).Err.Errno);
    }

    [Fact]
    public void MacvlanUpMakesANonFilteringLowerPromiscuous()
    {
        var (v0, _) = Veth("v0", Mac(1), "v1", Mac(2));
        var mv = New("macvlan", "mv0", Mac(1, 2), new MacvlanConfig(), v0.Ifindex);
        Up(v0);
        Up(mv);
        Assert.Equal(1u, v0.Promiscuity);
        Down(mv);
        Assert.Equal(0u, v0.Promiscuity);
    }

    // ---- vxlan ----------------------------------------------------------------------------------------

    [Fact]
    public void VxlanVniClashIsRefused()
    {
        var p = new VxlanParams { Id = 42, Port = 4789, Local = [192, 0, 2, 1], Group = [192, 0, 2, 2] };
        New("vxlan", "vx0", Mac(1, 3), p);
        var (_, err) = TryNew("vxlan", "vx1", null, new VxlanParams { Id = 42, Port = 4789 });
        Assert.Equal(Errno.EEXIST, err.Errno);
        Assert.Equal("A VXLAN device with the specified VNI already exists", err.Msg);
        // another destination port is another socket: no clash
        Assert.False(TryNew("vxlan", "vx2", null, new VxlanParams { Id = 42, Port = 4790 }).Err.Failed);
    }

    [Fact]
    public void VxlanMtuComesFromTheLowerDevice()
    {
        var vx = New("vxlan", "vx0", Mac(1, 3),
            new VxlanParams { Id = 43, Port = 4789, Group = [239, 1, 1, 1], Link = (uint)_net.Loopback.Ifindex, Ttl = 64 });
        Assert.Equal(65536u - 50, vx.Mtu);
        Assert.Equal(Errno.EINVAL, _net.DevSetMtu(vx, 65500).Errno);
        var plain = New("vxlan", "vx1", Mac(2, 3), new VxlanParams { Id = 44 });
        Assert.Equal(1500u, plain.Mtu);
        Assert.Equal(VxlanLinkOps.DefaultPort, VxlanLinkOps.Priv(plain).Cfg.DstPort);
    }

    [Fact]
    public void VxlanMulticastGroupNeedsADevice()
    {
        var (_, err) = TryNew("vxlan", "vx0", null, new VxlanParams { Id = 1, Group = [239, 1, 1, 1] });
        Assert.Equal(Errno.EINVAL, err.Errno);
        Assert.Equal("Local interface required for multicast remote destination", err.Msg);
    }

    // ---- 802.1Q ---------------------------------------------------------------------------------------

    [Fact]
    public void VlanIdRangeAndUniqueness()
    {
        var (v0, _) = Veth("v0", Mac(1), "v1", Mac(2));
        Assert.Equal(Errno.ERANGE, TryNew("vlan", "v0.4095", null, new VlanConfig { Id = 4095 }, v0.Ifindex).Err.Errno);
        var vl = New("vlan", "v0.5", null, new VlanConfig { Id = 5 }, v0.Ifindex);
        Assert.Equal(v0.DevAddr, vl.DevAddr); // the real device's address, NET_ADDR_STOLEN
        Assert.Equal(NetAddrAssign.Stolen, vl.AddrAssignType);
        var (_, err) = TryNew("vlan", "dup", null, new VlanConfig { Id = 5 }, v0.Ifindex);
        Assert.Equal(Errno.EEXIST, err.Errno);
        Assert.Equal("8021q: VLAN device already exists", err.Msg);
        // the same id in 802.1ad is another device
        Assert.False(TryNew("vlan", "ad5", null, new VlanConfig { Id = 5, Protocol = VlanLinkOps.EthP8021AD }, v0.Ifindex).Err.Failed);
        Assert.Equal(Errno.EOPNOTSUPP, TryNew("vlan", "lo.5", null, new VlanConfig { Id = 5 }, _net.Loopback.Ifindex).Err.Errno);
    }

    [Fact]
    public void VlansFollowTheirRealDeviceUpAndDown()
    {
        var (v0, v1) = Veth("v0", Mac(1), "v1", Mac(2));
        var vl = New("vlan", "v0.5", null, new VlanConfig { Id = 5 }, v0.Ifindex);
        Assert.Equal(Errno.ENETDOWN, _net.DevChangeFlags(vl, vl.GetFlags() | (uint)IFF_UP).Errno);
        Up(v1);
        Up(v0);
        Assert.True(vl.IsUp);
        Assert.True(vl.Carrier);
        Down(v0);
        Assert.False(vl.IsUp);
        Assert.False(_net.DelLink(v0).Failed);
        _k.RunDeferred();
        Assert.Null(_net.GetDevice("v0.5"));
    }
}
