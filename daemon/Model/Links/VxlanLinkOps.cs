using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Links;

/// <summary>union vxlan_addr: an IPv4 or IPv6 address (family 0 when unset).</summary>
public readonly record struct VxlanAddr(int Family, byte[]? Bytes)
{
    public static readonly VxlanAddr None = new(0, null);

    /// <summary>vxlan_addr_any.</summary>
    public bool IsAny => Bytes == null || Bytes.All(b => b == 0);

    /// <summary>vxlan_addr_multicast.</summary>
    public bool IsMulticast => Family == AF_INET ? Bytes != null && (Bytes[0] & 0xf0) == 0xe0
        : Family == AF_INET6 && Bytes != null && Bytes[0] == 0xff;

    public bool IsLinkLocal6 => Family == AF_INET6 && Bytes != null && Bytes[0] == 0xfe && (Bytes[1] & 0xc0) == 0x80;

    public bool Equals(VxlanAddr o) =>
        Family == o.Family && (Bytes ?? []).AsSpan().SequenceEqual(o.Bytes ?? []);

    public override int GetHashCode() => Family;
}

/// <summary>The IFLA_VXLAN_* attributes of a request as decoded (null when absent); the model
/// turns them into a <see cref="VxlanConfig"/> the way vxlan_nl2conf does.</summary>
public sealed class VxlanParams
{
    public uint? Id;
    public byte[]? Group, Group6, Local, Local6;
    public uint? Link;
    public byte? Tos, Ttl;
    public bool TtlInherit;
    public uint? Label, LabelPolicy;
    public byte? Learning;
    public uint? Ageing, Limit;
    public (ushort Low, ushort High)? PortRange;
    public byte? Proxy, Rsc, L2Miss, L3Miss, CollectMetadata;
    public ushort? Port;
    public byte? UdpCsum, UdpZeroCsum6Tx, UdpZeroCsum6Rx, RemcsumTx, RemcsumRx;
    public bool Gbp, Gpe, RemcsumNopartial;
    public byte? Df, Vnifilter, Localbypass, McRoute;
    public byte[]? ReservedBits;
    /// <summary>tb[IFLA_MTU] of the request.</summary>
    public uint? Mtu;
}

/// <summary>struct vxlan_config.</summary>
public sealed class VxlanConfig
{
    public VxlanAddr RemoteIp = VxlanAddr.None, Saddr = VxlanAddr.None;
    public uint Vni;
    public int RemoteIfindex;
    public ushort DstPort, PortMin, PortMax;
    public byte Tos, Ttl, Df;
    /// <summary>The label as the be32 on the wire reads numerically.</summary>
    public uint Label, LabelPolicy;
    public uint Flags;
    public uint AgeInterval, Addrmax, Mtu;
    public byte[] ReservedBits = new byte[8];

    public VxlanConfig Clone()
    {
        var c = (VxlanConfig)MemberwiseClone();
        c.ReservedBits = (byte[])ReservedBits.Clone();
        return c;
    }
}

/// <summary>struct vxlan_dev.</summary>
public sealed class VxlanDev
{
    internal VxlanDev(NetDevice dev) => Dev = dev;
    public NetDevice Dev { get; }
    public VxlanConfig Cfg { get; internal set; } = new();
    /// <summary>default_dst: its VNI, address and lower device.</summary>
    public uint RemoteVni;
    public VxlanAddr RemoteIp = VxlanAddr.None;
    public int RemoteIfindex;
    public NetDevice? RemoteDev;
    public Net Net { get; internal set; } = null!;
}

/// <summary>struct vxlan_net: the vxlan devices of a namespace.</summary>
public sealed class VxlanNet
{
    public List<VxlanDev> Devs { get; } = new();
}

/// <summary>drivers/net/vxlan/vxlan_core.c.</summary>
public sealed class VxlanLinkOps : LinkOps
{
    public const uint FLearn = 0x01, FProxy = 0x02, FRsc = 0x04, FL2Miss = 0x08, FL3Miss = 0x10, FIpv6 = 0x20,
        FUdpZeroCsumTx = 0x40, FUdpZeroCsum6Tx = 0x80, FUdpZeroCsum6Rx = 0x100, FRemcsumTx = 0x200,
        FRemcsumRx = 0x400, FGbp = 0x800, FRemcsumNopartial = 0x1000, FCollectMetadata = 0x2000, FGpe = 0x4000,
        FIpv6Linklocal = 0x8000, FTtlInherit = 0x10000, FVnifilter = 0x20000, FMdb = 0x40000,
        FLocalbypass = 0x80000, FMcRoute = 0x100000;
    /// <summary>VXLAN_F_RCV_FLAGS: flags that must match for a socket to be shared.</summary>
    public const uint RcvFlags = FGbp | FGpe | FUdpZeroCsum6Rx | FRemcsumRx | FRemcsumNopartial | FCollectMetadata | FVnifilter;
    public const uint AllowedGpe = FGpe | FIpv6 | FIpv6Linklocal | FUdpZeroCsumTx | FUdpZeroCsum6Tx | FUdpZeroCsum6Rx |
                                   FCollectMetadata | FVnifilter | FLocalbypass;
    public const ushort DefaultPort = 8472;     // vxlan_port (Linux's historical default)
    public const ushort GpePort = 4790;         // IANA_VXLAN_GPE_UDP_PORT
    public const uint FdbAgeDefault = 300;
    public const uint NVid = 1u << 24;

    public override string Kind => "vxlan";

    public static VxlanDev Priv(NetDevice dev) => (VxlanDev)dev.Priv!;

    /// <summary>vxlan_setup.</summary>
    public override void Setup(NetDevice dev)
    {
        Links.Setup.Ether(dev);
        dev.PrivFlags |= PrivFlags.NoQueue;
        dev.MinMtu = 68;
        dev.ChangeProtoDown = true;
        dev.MaxMtu = 65535;
        dev.Priv = new VxlanDev(dev);
    }

    /// <summary>vxlan_headroom: IP + UDP + VXLAN headers, plus the inner Ethernet header.</summary>
    public static uint Headroom(uint flags) =>
        ((flags & FIpv6) != 0 ? 40u : 20u) + 8 + 8 + ((flags & FGpe) != 0 ? 0u : 14u);

    /// <summary>vxlan_nl2conf: a request's attributes over the device's configuration (changelink)
    /// or over an empty one.</summary>
    private static KErr Nl2Conf(VxlanParams p, VxlanDev? old, out VxlanConfig conf)
    {
        bool changelink = old != null;
        conf = changelink ? old!.Cfg.Clone() : new VxlanConfig();
        var c = conf;
        KErr Flag(bool present, bool on, uint mask, bool changeSupported, string? name = null)
        {
            if (!present) return KErr.Ok;
            // vxlan_flag_attr_error
            if (changelink && !changeSupported)
                return new KErr(Errno.EOPNOTSUPP, name != null ? $"vxlan: cannot change {name} flag" : "vxlan: cannot change flag");
            if (on) c.Flags |= mask;
            else c.Flags &= ~mask;
            return KErr.Ok;
        }
        KErr err;
        if (p.Id is uint vni)
        {
            if (changelink && vni != c.Vni) return new KErr(Errno.EOPNOTSUPP, "Cannot change VNI");
            c.Vni = vni;
        }
        if (p.Group != null)
        {
            if (changelink && c.RemoteIp.Family != AF_INET)
                return new KErr(Errno.EOPNOTSUPP, "New group address family does not match old group");
            c.RemoteIp = new VxlanAddr(AF_INET, p.Group);
        }
        else if (p.Group6 != null)
        {
            if (changelink && c.RemoteIp.Family != AF_INET6)
                return new KErr(Errno.EOPNOTSUPP, "New group address family does not match old group");
            c.RemoteIp = new VxlanAddr(AF_INET6, p.Group6);
        }
        if (p.Local != null)
        {
            if (changelink && c.Saddr.Family != AF_INET)
                return new KErr(Errno.EOPNOTSUPP, "New local address family does not match old");
            c.Saddr = new VxlanAddr(AF_INET, p.Local);
        }
        else if (p.Local6 != null)
        {
            if (changelink && c.Saddr.Family != AF_INET6)
                return new KErr(Errno.EOPNOTSUPP, "New local address family does not match old");
            c.Saddr = new VxlanAddr(AF_INET6, p.Local6);
        }
        if (p.Link is uint link) c.RemoteIfindex = (int)link;
        if (p.Tos is byte tos) c.Tos = tos;
        if (p.Ttl is byte ttl) c.Ttl = ttl;
        if ((err = Flag(p.TtlInherit, true, FTtlInherit, false, "TTL_INHERIT")).Failed) return err;
        if (p.Label is uint label) c.Label = label & 0x000fffff; // IPV6_FLOWLABEL_MASK
        if (p.LabelPolicy is uint lp) c.LabelPolicy = lp;
        if (p.Learning is byte learn)
        {
            if ((err = Flag(true, learn != 0, FLearn, true, "LEARNING")).Failed) return err;
        }
        else if (!changelink) c.Flags |= FLearn; // default to learn on a new device
        if (p.Ageing is uint age) c.AgeInterval = age;
        if ((err = Flag(p.Proxy != null, p.Proxy != 0, FProxy, false, "PROXY")).Failed) return err;
        if ((err = Flag(p.Rsc != null, p.Rsc != 0, FRsc, false, "RSC")).Failed) return err;
        if ((err = Flag(p.L2Miss != null, p.L2Miss != 0, FL2Miss, false, "L2MISS")).Failed) return err;
        if ((err = Flag(p.L3Miss != null, p.L3Miss != 0, FL3Miss, false, "L3MISS")).Failed) return err;
        if (p.Limit is uint limit)
        {
            if (changelink) return new KErr(Errno.EOPNOTSUPP, "Cannot change limit");
            c.Addrmax = limit;
        }
        if ((err = Flag(p.CollectMetadata != null, p.CollectMetadata != 0, FCollectMetadata, false, "COLLECT_METADATA")).Failed) return err;
        if (p.PortRange is var (low, high))
        {
            if (changelink) return new KErr(Errno.EOPNOTSUPP, "Cannot change port range");
            c.PortMin = low;
            c.PortMax = high;
        }
        if (p.Port is ushort port)
        {
            if (changelink) return new KErr(Errno.EOPNOTSUPP, "Cannot change port");
            c.DstPort = port;
        }
        if (p.UdpCsum is byte csum)
        {
            if (changelink) return new KErr(Errno.EOPNOTSUPP, "Cannot change UDP_CSUM flag");
            if (csum == 0) c.Flags |= FUdpZeroCsumTx;
        }
        if (p.Localbypass is byte lb)
        {
            if ((err = Flag(true, lb != 0, FLocalbypass, true)).Failed) return err;
        }
        else if (!changelink) c.Flags |= FLocalbypass; // default to local bypass on a new device
        if ((err = Flag(p.UdpZeroCsum6Tx != null, p.UdpZeroCsum6Tx != 0, FUdpZeroCsum6Tx, false, "UDP_ZERO_CSUM6_TX")).Failed) return err;
        if ((err = Flag(p.UdpZeroCsum6Rx != null, p.UdpZeroCsum6Rx != 0, FUdpZeroCsum6Rx, false, "UDP_ZERO_CSUM6_RX")).Failed) return err;
        if ((err = Flag(p.RemcsumTx != null, p.RemcsumTx != 0, FRemcsumTx, false, "REMCSUM_TX")).Failed) return err;
        // the header bits the options use may not be reserved bits
        ulong used = 0x08000000_ffffff00UL; // VXLAN_HF_VNI in the flags, the VNI mask
        if ((err = Flag(p.RemcsumRx != null, p.RemcsumRx != 0, FRemcsumRx, false, "REMCSUM_RX")).Failed) return err;
        if (p.RemcsumRx != null) used |= 0x00200000_000000ffUL; // VXLAN_HF_RCO, ~VXLAN_VNI_MASK
        if ((err = Flag(p.Gbp, true, FGbp, false, "GBP")).Failed) return err;
        if (p.Gbp) used |= 0xffff4800_00000000UL; // VXLAN_GBP_USED_BITS as its bytes lie in vx_flags
        if ((err = Flag(p.Gpe, true, FGpe, false, "GPE")).Failed) return err;
        if (p.Gpe) used |= 0x350000ff_00000000UL; // VXLAN_GPE_USED_BITS (version, next protocol, OAM)
        if (p.ReservedBits is { } rb)
        {
            if (changelink) return new KErr(Errno.EOPNOTSUPP, "Cannot change reserved_bits");
            ulong r = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(rb);
            if ((used & r) != 0)
                return new KErr(Errno.EINVAL, $"Used bits 0x{used:x16} cannot overlap reserved bits 0x{r:x16}");
            c.ReservedBits = (byte[])rb.Clone();
        }
        else
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(c.ReservedBits, ~used);
        }
        if ((err = Flag(p.RemcsumNopartial, true, FRemcsumNopartial, false, "REMCSUM_NOPARTIAL")).Failed) return err;
        if (p.McRoute is byte mcr && (err = Flag(true, mcr != 0, FMcRoute, true)).Failed) return err;
        if (p.Mtu is uint mtu)
        {
            if (changelink) return new KErr(Errno.EOPNOTSUPP, "Cannot change mtu");
            c.Mtu = mtu;
        }
        if (p.Df is byte df) c.Df = df;
        if (p.Vnifilter is byte vf)
        {
            if ((err = Flag(true, vf != 0, FVnifilter, false)).Failed) return err;
            if ((c.Flags & FVnifilter) != 0 && (c.Flags & FCollectMetadata) == 0)
                return new KErr(Errno.EINVAL, "vxlan vnifilter only valid in collect metadata mode");
        }
        return KErr.Ok;
    }

    /// <summary>vxlan_vni_in_use.</summary>
    private static bool VniInUse(Net net, VxlanDev? self, VxlanConfig conf)
    {
        foreach (var tmp in net.Generic<VxlanNet>().Devs)
        {
            if (tmp == self) continue;
            if ((tmp.Cfg.Flags & FVnifilter) != 0) continue; // no VNI filter entries here
            if (tmp.Cfg.Vni != conf.Vni) continue;
            if (tmp.Cfg.DstPort != conf.DstPort) continue;
            if ((tmp.Cfg.Flags & (RcvFlags | FIpv6)) != (conf.Flags & (RcvFlags | FIpv6))) continue;
            if ((conf.Flags & FIpv6Linklocal) != 0 && tmp.Cfg.RemoteIfindex != conf.RemoteIfindex) continue;
            return true;
        }
        return false;
    }

    /// <summary>vxlan_config_validate.</summary>
    private static KErr ConfigValidate(Net net, VxlanConfig conf, VxlanDev? old, out NetDevice? lower)
    {
        lower = null;
        bool useIpv6 = false;
        if ((conf.Flags & FGpe) != 0 &&
            ((conf.Flags & ~AllowedGpe) != 0 || (conf.Flags & FCollectMetadata) == 0))
            return new KErr(Errno.EINVAL, "VXLAN GPE does not support this combination of attributes");
        if (conf.RemoteIp.Family == 0 && conf.Saddr.Family == 0)
        {
            // unless IPv6 is explicitly requested, assume IPv4
            conf.RemoteIp = conf.RemoteIp with { Family = AF_INET };
            conf.Saddr = conf.Saddr with { Family = AF_INET };
        }
        else if (conf.RemoteIp.Family == 0) conf.RemoteIp = conf.RemoteIp with { Family = conf.Saddr.Family };
        else if (conf.Saddr.Family == 0) conf.Saddr = conf.Saddr with { Family = conf.RemoteIp.Family };
        if (conf.Saddr.Family != conf.RemoteIp.Family)
            return new KErr(Errno.EINVAL, "Local and remote address must be from the same family");
        if (conf.Saddr.IsMulticast) return new KErr(Errno.EINVAL, "Local address cannot be multicast");
        if (conf.Saddr.Family == AF_INET6)
        {
            useIpv6 = true;
            conf.Flags |= FIpv6;
            if ((conf.Flags & FCollectMetadata) == 0)
            {
                if (conf.Saddr.IsLinkLocal6)
                {
                    if (!conf.RemoteIp.IsLinkLocal6 && !conf.RemoteIp.IsAny)
                        return new KErr(Errno.EINVAL, "Invalid combination of local and remote address scopes");
                    conf.Flags |= FIpv6Linklocal;
                }
                else
                {
                    if (conf.RemoteIp.IsLinkLocal6)
                        return new KErr(Errno.EINVAL, "Invalid combination of local and remote address scopes");
                    conf.Flags &= ~FIpv6Linklocal;
                }
            }
        }
        if (conf.Label != 0 && !useIpv6)
            return new KErr(Errno.EINVAL, "Label attribute only applies to IPv6 VXLAN devices");
        if (conf.LabelPolicy != 0 && !useIpv6)
            return new KErr(Errno.EINVAL, "Label policy only applies to IPv6 VXLAN devices");
        if (conf.RemoteIfindex != 0)
        {
            lower = net.GetDevice(conf.RemoteIfindex);
            if (lower == null) return new KErr(Errno.ENODEV, "Invalid local interface, device not found");
            if (useIpv6 && lower.Ip6 is { } idev && idev.Cnf[DEVCONF_DISABLE_IPV6] != 0)
                return new KErr(Errno.EPERM, "IPv6 support disabled by administrator");
        }
        else
        {
            if (conf.RemoteIp.IsMulticast)
                return new KErr(Errno.EINVAL, "Local interface required for multicast remote destination");
            if ((conf.Flags & FIpv6Linklocal) != 0)
                return new KErr(Errno.EINVAL, "Local interface required for link-local local/remote addresses");
        }
        if (conf.DstPort == 0) conf.DstPort = (conf.Flags & FGpe) != 0 ? GpePort : DefaultPort;
        if (conf.AgeInterval == 0) conf.AgeInterval = FdbAgeDefault;
        if (VniInUse(net, old, conf))
            return new KErr(Errno.EEXIST, "A VXLAN device with the specified VNI already exists");
        return KErr.Ok;
    }

    /// <summary>vxlan_config_apply: the MTU and headroom follow the lower device.</summary>
    private static void ConfigApply(NetDevice dev, VxlanConfig conf, NetDevice? lower, Net net, bool changelink)
    {
        var vxlan = Priv(dev);
        uint neededHeadroom = 14; // ETH_HLEN
        uint maxMtu = 65535;      // ETH_MAX_MTU
        uint flags = conf.Flags;
        if (!changelink)
        {
            if ((flags & FGpe) != 0)
            {
                // vxlan_raw_setup
                dev.Type = ARPHRD_NONE;
                dev.AddrLen = 0;
                dev.Flags = (uint)(IFF_POINTOPOINT | IFF_NOARP | IFF_MULTICAST);
            }
            else dev.PrivFlags |= PrivFlags.LiveAddrChange; // vxlan_ether_setup
            if (conf.Mtu != 0) dev.Mtu = conf.Mtu;
            vxlan.Net = net;
        }
        vxlan.RemoteVni = conf.Vni;
        vxlan.RemoteIp = conf.RemoteIp;
        if (lower != null)
        {
            vxlan.RemoteIfindex = conf.RemoteIfindex;
            Model.Net.NetifInheritTsoMax(dev, lower);
            neededHeadroom = (uint)(lower.HardHeaderLen + lower.NeededHeadroom);
            dev.NeededTailroom = lower.NeededTailroom;
            long m = (long)lower.Mtu - Headroom(flags);
            maxMtu = (uint)Math.Max(68, m);
            if (!changelink && conf.Mtu == 0) dev.Mtu = maxMtu;
        }
        if (dev.Mtu > maxMtu) dev.Mtu = maxMtu;
        if ((flags & FCollectMetadata) != 0) flags |= FIpv6;
        neededHeadroom += Headroom(flags);
        dev.NeededHeadroom = (ushort)neededHeadroom;
        vxlan.Cfg = conf;
    }

    /// <summary>vxlan_newlink / __vxlan_dev_create.</summary>
    public override KErr NewLink(Net net, NetDevice dev, LinkConfig common, object? kindConfig)
    {
        var p = kindConfig as VxlanParams ?? new VxlanParams();
        var err = Nl2Conf(p, null, out var conf);
        if (err.Failed) return err;
        var vxlan = Priv(dev);
        if (common.Address == null) Links.Setup.EthHwAddrRandom(net.Kernel, dev);
        err = ConfigValidate(net, conf, null, out var lower);
        if (err.Failed) return err;
        ConfigApply(dev, conf, lower, net, changelink: false);
        err = net.RegisterNetdevice(dev);
        if (err.Failed) return err;
        if (vxlan.RemoteIfindex != 0)
        {
            var remote = net.GetDevice(vxlan.RemoteIfindex);
            if (remote == null)
            {
                net.UnregisterNetdeviceMany([dev]);
                return new KErr(Errno.ENODEV);
            }
            err = net.NetdevUpperDevLink(remote, dev, master: false);
            if (err.Failed)
            {
                net.UnregisterNetdeviceMany([dev]);
                return err;
            }
            vxlan.RemoteDev = remote;
        }
        net.RtnlConfigureLink(dev, null);
        net.Generic<VxlanNet>().Devs.Insert(0, vxlan);
        return KErr.Ok;
    }

    public override bool HasChangeLink => true;

    /// <summary>vxlan_changelink.</summary>
    public override KErr ChangeLink(NetDevice dev, object kindConfig)
    {
        var vxlan = Priv(dev);
        var err = Nl2Conf((VxlanParams)kindConfig, vxlan, out var conf);
        if (err.Failed) return err;
        err = ConfigValidate(vxlan.Net, conf, vxlan, out var lower);
        if (err.Failed) return err;
        if (vxlan.RemoteDev == lower) lower = null;
        // netdev_adjacent_change_prepare / commit
        if (lower != null)
        {
            err = dev.Net.NetdevUpperDevLink(lower, dev, master: false);
            if (err.Failed) return err;
        }
        if (vxlan.RemoteDev != null && lower != vxlan.RemoteDev && (lower != null || conf.RemoteIfindex == 0))
            dev.Net.NetdevUpperDevUnlink(vxlan.RemoteDev, dev);
        if (lower != null) vxlan.RemoteDev = lower;
        ConfigApply(dev, conf, lower, vxlan.Net, changelink: true);
        return KErr.Ok;
    }

    /// <summary>vxlan_dellink.</summary>
    public override void DelLink(NetDevice dev, List<NetDevice> kill)
    {
        var vxlan = Priv(dev);
        dev.Net.Generic<VxlanNet>().Devs.Remove(vxlan);
        kill.Add(dev);
        if (vxlan.RemoteDev != null) dev.Net.NetdevUpperDevUnlink(vxlan.RemoteDev, dev);
    }

    /// <summary>vxlan_change_mtu: bounded by the lower device's MTU minus the headers.</summary>
    public override KErr ChangeMtu(NetDevice dev, uint mtu)
    {
        var vxlan = Priv(dev);
        var lower = vxlan.RemoteIfindex != 0 ? vxlan.Net.GetDevice(vxlan.RemoteIfindex) : null;
        if (lower != null && mtu > (long)lower.Mtu - Headroom(vxlan.Cfg.Flags)) return new KErr(Errno.EINVAL);
        dev.Mtu = mtu;
        return KErr.Ok;
    }

    public override Net? GetLinkNet(NetDevice dev) => Priv(dev).Net;

    /// <summary>vxlan_get_link_ksettings: the lower device's, else unknown.</summary>
    public override int? GetLinkSpeed(NetDevice dev)
    {
        var vxlan = Priv(dev);
        var lower = vxlan.RemoteIfindex != 0 ? vxlan.Net.GetDevice(vxlan.RemoteIfindex) : null;
        return lower == null ? SpeedUnknown : lower.Ops.GetLinkSpeed(lower);
    }

    public override INetdevNotifier CreateNotifier(Net net) => new VxlanNetdeviceEvent(net);

    /// <summary>vxlan_netdevice_event: a vxlan goes with the device it was bound to.</summary>
    private sealed class VxlanNetdeviceEvent(Net net) : INetdevNotifier
    {
        public void OnNetdevEvent(NetdevEvent ev, NetDevice dev)
        {
            if (ev != NetdevEvent.Unregister) return;
            var kill = new List<NetDevice>();
            foreach (var vxlan in net.Generic<VxlanNet>().Devs.ToList())
                if (vxlan.RemoteIfindex == dev.Ifindex && vxlan.Dev != dev) vxlan.Dev.Ops.DelLink(vxlan.Dev, kill);
            net.UnregisterNetdeviceMany(kill);
        }
    }
}
