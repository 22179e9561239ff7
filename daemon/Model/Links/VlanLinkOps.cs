using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Links;

/// <summary>The decoded IFLA_INFO_DATA of an 802.1Q/802.1ad device (IFLA_VLAN_*), validated by
/// the codec as vlan_validate does.</summary>
public sealed class VlanConfig
{
    public ushort? Id;
    /// <summary>The protocol as an ethertype value (0x8100, 0x88a8).</summary>
    public ushort? Protocol;
    public (uint Flags, uint Mask)? Flags;
    public List<(uint From, uint To)>? IngressQos, EgressQos;
}

/// <summary>struct vlan_info / vlan_group: the VLAN devices on one real device.</summary>
public sealed class VlanInfo
{
    internal readonly Dictionary<(ushort Proto, ushort Vid), NetDevice> Devices = new();
    public int NrVlanDevs => Devices.Count;
    public IEnumerable<NetDevice> All => Devices.Values;
}

/// <summary>struct vlan_dev_priv.</summary>
public sealed class VlanDev
{
    internal VlanDev(NetDevice dev) => Dev = dev;
    public NetDevice Dev { get; }
    public NetDevice RealDev { get; internal set; } = null!;
    public ushort VlanId;
    public ushort VlanProto = VlanLinkOps.EthP8021Q;
    public uint Flags;
    /// <summary>ingress_priority_map: VLAN priority (0..7) to skb priority.</summary>
    public readonly uint[] IngressPriorityMap = new uint[8];
    public int NrIngressMappings;
    /// <summary>egress_priority_map: 16 hash chains of (skb priority, vlan_qos), newest first.</summary>
    public readonly List<(uint Priority, ushort VlanQos)>[] EgressPriorityMap =
        Enumerable.Range(0, 16).Select(_ => new List<(uint, ushort)>()).ToArray();
    public int NrEgressMappings;

    /// <summary>The egress mappings in the order vlan_fill_info walks them (from, to).</summary>
    public IEnumerable<(uint From, uint To)> EgressMappings
    {
        get
        {
            foreach (var chain in EgressPriorityMap)
                foreach (var (prio, qos) in chain)
                    if (qos != 0) yield return (prio, (uint)((qos >> 13) & 0x7));
        }
    }
}

/// <summary>net/8021q: 802.1Q and 802.1ad VLAN devices (vlan.c, vlan_dev.c, vlan_netlink.c).</summary>
public sealed class VlanLinkOps : LinkOps
{
    public const ushort EthP8021Q = 0x8100, EthP8021AD = 0x88a8;
    public const ushort VidMask = 0x0fff;
    public const uint FlagReorderHdr = 0x1, FlagGvrp = 0x2, FlagLooseBinding = 0x4, FlagMvrp = 0x8,
        FlagBridgeBinding = 0x10;
    public const uint AllFlags = FlagReorderHdr | FlagGvrp | FlagLooseBinding | FlagMvrp | FlagBridgeBinding;

    public override string Kind => "vlan";

    public static VlanDev Priv(NetDevice dev) => (VlanDev)dev.Priv!;

    private static KErr ModErr(int errno, string msg) => new(errno, "8021q: " + msg);

    /// <summary>vlan_setup.</summary>
    public override void Setup(NetDevice dev)
    {
        Links.Setup.Ether(dev);
        dev.PrivFlags |= PrivFlags.Vlan8021q | PrivFlags.NoQueue | PrivFlags.UnicastFlt;
        dev.MinMtu = 0;
        dev.MaxMtu = 65535;          // ETH_MAX_MTU
        dev.Broadcast = new byte[6]; // eth_zero_addr(dev->broadcast)
        dev.Priv = new VlanDev(dev);
    }

    /// <summary>vlan_check_real_dev.</summary>
    private static KErr CheckRealDev(NetDevice real, ushort proto, ushort vid)
    {
        if (real.VlanChallenged) return ModErr(Errno.EOPNOTSUPP, "VLANs not supported on device");
        if (real.VlanInfo is { } vi && vi.Devices.ContainsKey((proto, vid)))
            return ModErr(Errno.EEXIST, "VLAN device already exists");
        return KErr.Ok;
    }

    /// <summary>vlan_dev_change_flags.</summary>
    private static KErr ChangeFlags(VlanDev vlan, uint flags, uint mask)
    {
        if ((mask & ~AllFlags) != 0) return new KErr(Errno.EINVAL);
        vlan.Flags = (vlan.Flags & ~mask) | (flags & mask);
        return KErr.Ok;
    }

    /// <summary>vlan_dev_set_ingress_priority.</summary>
    private static void SetIngressPriority(VlanDev vlan, uint skbPrio, uint vlanPrio)
    {
        ref uint slot = ref vlan.IngressPriorityMap[vlanPrio & 0x7];
        if (slot != 0 && skbPrio == 0) vlan.NrIngressMappings--;
        else if (slot == 0 && skbPrio != 0) vlan.NrIngressMappings++;
        slot = skbPrio;
    }

    /// <summary>vlan_dev_set_egress_priority.</summary>
    private static void SetEgressPriority(VlanDev vlan, uint skbPrio, uint vlanPrio)
    {
        ushort vlanQos = (ushort)((vlanPrio << 13) & 0xe000); // VLAN_PRIO_SHIFT, VLAN_PRIO_MASK
        var chain = vlan.EgressPriorityMap[skbPrio & 0xf];
        for (int i = 0; i < chain.Count; i++)
        {
            if (chain[i].Priority != skbPrio) continue;
            if (chain[i].VlanQos != 0 && vlanQos == 0) vlan.NrEgressMappings--;
            else if (chain[i].VlanQos == 0 && vlanQos != 0) vlan.NrEgressMappings++;
            chain[i] = (skbPrio, vlanQos);
            return;
        }
        chain.Insert(0, (skbPrio, vlanQos));
        if (vlanQos != 0) vlan.NrEgressMappings++;
    }

    /// <summary>vlan_changelink.</summary>
    private static KErr ChangeLinkCore(VlanDev vlan, VlanConfig c)
    {
        if (c.Flags is var (flags, mask))
        {
            var err = ChangeFlags(vlan, flags, mask);
            if (err.Failed) return err;
        }
        if (c.IngressQos != null)
            foreach (var (from, to) in c.IngressQos) SetIngressPriority(vlan, to, from);
        if (c.EgressQos != null)
            foreach (var (from, to) in c.EgressQos) SetEgressPriority(vlan, from, to);
        return KErr.Ok;
    }

    /// <summary>vlan_newlink and register_vlan_dev.</summary>
    public override KErr NewLink(Net net, NetDevice dev, LinkConfig common, object? kindConfig)
    {
        var c = kindConfig as VlanConfig ?? new VlanConfig();
        var vlan = Priv(dev);
        if (c.Id is not ushort vid) return ModErr(Errno.EINVAL, "VLAN id not specified");
        if (common.LinkIndex is not int link) return ModErr(Errno.EINVAL, "link not specified");
        var real = net.GetDevice(link);
        if (real == null) return ModErr(Errno.ENODEV, "link does not exist");
        // vlan_validate rejects these on the wire; register_vlan_device checks the same for
        // every other caller
        if (vid >= VidMask) return ModErr(Errno.ERANGE, "Invalid VLAN id");
        vlan.VlanProto = c.Protocol ?? EthP8021Q;
        vlan.VlanId = vid;
        vlan.RealDev = real;
        vlan.Flags = FlagReorderHdr;
        var err = CheckRealDev(real, vlan.VlanProto, vid);
        if (err.Failed) return err;
        uint maxMtu = real.Mtu; // netif_reduces_vlan_mtu: only macsec
        if (common.Mtu == null) dev.Mtu = maxMtu;
        else if (dev.Mtu > maxMtu) return new KErr(Errno.EINVAL);
        err = ChangeLinkCore(vlan, c);
        if (err.Failed) return err;

        // vlan_dev_init (ndo_init): the real device's flags, carrier, address and limits
        dev.Flags = real.Flags & ~(uint)(IFF_UP | IFF_PROMISC | IFF_ALLMULTI | IFF_MASTER | IFF_SLAVE);
        dev.Carrier = real.Carrier && (vlan.Flags & FlagBridgeBinding) == 0;
        dev.Dormant = real.Dormant;
        Model.Net.NetifInheritTsoMax(dev, real);
        if (EtherAddr.IsZero(dev.DevAddr))
        {
            dev.DevAddr = (byte[])real.DevAddr.Clone();
            dev.AddrAssignType = NetAddrAssign.Stolen;
        }
        if (EtherAddr.IsZero(dev.Broadcast)) dev.Broadcast = (byte[])real.Broadcast.Clone();
        dev.NeededHeadroom = real.NeededHeadroom;
        dev.HardHeaderLen = real.HardHeaderLen; // the real devices here offload the tag
        err = net.RegisterNetdevice(dev);
        if (err.Failed) return err;
        err = net.NetdevUpperDevLink(real, dev, master: false);
        if (err.Failed)
        {
            net.UnregisterNetdeviceMany([dev]);
            return err;
        }
        if ((vlan.Flags & FlagBridgeBinding) == 0) net.NetifStackedTransferOperstate(real, dev);
        net.LinkWatchFireEvent(dev);
        real.VlanInfo ??= new VlanInfo();
        real.VlanInfo.Devices[(vlan.VlanProto, vid)] = dev;
        return KErr.Ok;
    }

    public override bool HasChangeLink => true;
    public override KErr ChangeLink(NetDevice dev, object kindConfig) => ChangeLinkCore(Priv(dev), (VlanConfig)kindConfig);

    /// <summary>unregister_vlan_dev.</summary>
    public override void DelLink(NetDevice dev, List<NetDevice> kill)
    {
        var vlan = Priv(dev);
        var real = vlan.RealDev;
        if (real.VlanInfo is { } vi)
        {
            vi.Devices.Remove((vlan.VlanProto, vlan.VlanId));
            if (vi.NrVlanDevs == 0) real.VlanInfo = null;
        }
        dev.Net.NetdevUpperDevUnlink(real, dev);
        kill.Add(dev);
    }

    /// <summary>vlan_dev_open: the real device must be up (unless loosely bound).</summary>
    public override KErr Open(NetDevice dev)
    {
        var vlan = Priv(dev);
        var real = vlan.RealDev;
        if (!real.IsUp && (vlan.Flags & FlagLooseBinding) == 0) return new KErr(Errno.ENETDOWN);
        if (!dev.DevAddr.AsSpan().SequenceEqual(real.DevAddr)) dev.Net.DevUcAdd(real, dev.DevAddr);
        if ((dev.Flags & IFF_ALLMULTI) != 0) dev.Net.DevSetAllmulti(real, 1);
        if ((dev.Flags & IFF_PROMISC) != 0) dev.Net.DevSetPromiscuity(real, 1);
        if (real.Carrier && (vlan.Flags & FlagBridgeBinding) == 0) dev.Net.NetifCarrierOn(dev);
        return KErr.Ok;
    }

    /// <summary>vlan_dev_stop.</summary>
    public override void Stop(NetDevice dev)
    {
        var vlan = Priv(dev);
        if ((dev.Flags & IFF_ALLMULTI) != 0) dev.Net.DevSetAllmulti(vlan.RealDev, -1);
        if ((dev.Flags & IFF_PROMISC) != 0) dev.Net.DevSetPromiscuity(vlan.RealDev, -1);
        if (!dev.DevAddr.AsSpan().SequenceEqual(vlan.RealDev.DevAddr)) dev.Net.DevUcDel(vlan.RealDev, dev.DevAddr);
        if ((vlan.Flags & FlagBridgeBinding) == 0) dev.Net.NetifCarrierOff(dev);
    }

    /// <summary>vlan_dev_change_mtu.</summary>
    public override KErr ChangeMtu(NetDevice dev, uint mtu)
    {
        if (Priv(dev).RealDev.Mtu < mtu) return new KErr(Errno.ERANGE);
        dev.Mtu = mtu;
        return KErr.Ok;
    }

    /// <summary>vlan_dev_set_mac_address.</summary>
    public override KErr SetMacAddress(NetDevice dev, byte[] addr)
    {
        if (!EtherAddr.IsValid(addr)) return new KErr(Errno.EADDRNOTAVAIL);
        var real = Priv(dev).RealDev;
        if (dev.IsUp)
        {
            if (!addr.AsSpan().SequenceEqual(real.DevAddr)) dev.Net.DevUcAdd(real, addr);
            if (!dev.DevAddr.AsSpan().SequenceEqual(real.DevAddr)) dev.Net.DevUcDel(real, dev.DevAddr);
        }
        dev.DevAddr = (byte[])addr.Clone();
        return KErr.Ok;
    }

    /// <summary>vlan_dev_change_rx_flags.</summary>
    public override void ChangeRxFlags(NetDevice dev, uint change)
    {
        if (!dev.IsUp) return;
        var real = Priv(dev).RealDev;
        if ((change & IFF_ALLMULTI) != 0) dev.Net.DevSetAllmulti(real, (dev.Flags & IFF_ALLMULTI) != 0 ? 1 : -1);
        if ((change & IFF_PROMISC) != 0) dev.Net.DevSetPromiscuity(real, (dev.Flags & IFF_PROMISC) != 0 ? 1 : -1);
    }

    public override int GetIfLink(NetDevice dev) => Priv(dev).RealDev.Ifindex;
    public override Net? GetLinkNet(NetDevice dev) => Priv(dev).RealDev.Net;

    /// <summary>vlan_ethtool_get_link_ksettings: the real device's.</summary>
    public override int? GetLinkSpeed(NetDevice dev)
    {
        var real = Priv(dev).RealDev;
        return real.Ops.GetLinkSpeed(real);
    }

    public override INetdevNotifier CreateNotifier(Net net) => new VlanDeviceEvent();

    /// <summary>vlan_device_event: VLAN devices follow their real device, up and down included.</summary>
    private sealed class VlanDeviceEvent : INetdevNotifier
    {
        public void OnNetdevEvent(NetdevEvent ev, NetDevice dev)
        {
            var vi = dev.VlanInfo;
            if (vi == null) return;
            var net = dev.Net;
            switch (ev)
            {
                case NetdevEvent.Change:
                    foreach (var v in vi.All.ToList())
                        if ((Priv(v).Flags & FlagBridgeBinding) == 0) net.NetifStackedTransferOperstate(dev, v);
                    break;
                case NetdevEvent.ChangeMtu:
                    foreach (var v in vi.All.ToList())
                        if (v.Mtu > dev.Mtu) net.DevSetMtu(v, dev.Mtu);
                    break;
                case NetdevEvent.FeatChange:
                    foreach (var v in vi.All.ToList()) Model.Net.NetifInheritTsoMax(v, dev);
                    break;
                case NetdevEvent.Down:
                {
                    var close = vi.All.Where(v => v.IsUp && (Priv(v).Flags & FlagLooseBinding) == 0).ToList();
                    net.DevCloseMany(close);
                    foreach (var v in close)
                        if ((Priv(v).Flags & FlagBridgeBinding) == 0) net.NetifStackedTransferOperstate(dev, v);
                    break;
                }
                case NetdevEvent.Up:
                    foreach (var v in vi.All.ToList())
                    {
                        if (v.IsUp) continue;
                        if ((Priv(v).Flags & FlagLooseBinding) == 0) net.DevChangeFlags(v, v.GetFlags() | (uint)IFF_UP);
                        if ((Priv(v).Flags & FlagBridgeBinding) == 0) net.NetifStackedTransferOperstate(dev, v);
                    }
                    break;
                case NetdevEvent.Unregister:
                {
                    if (dev.RegState != RegState.Unregistering) break;
                    var kill = new List<NetDevice>();
                    foreach (var v in vi.All.ToList()) v.Ops.DelLink(v, kill);
                    net.UnregisterNetdeviceMany(kill);
                    break;
                }
            }
        }
    }
}
