using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Links;

/// <summary>The decoded IFLA_INFO_DATA of a macvlan (IFLA_MACVLAN_*), already validated by the
/// codec as macvlan_validate does.</summary>
public sealed class MacvlanConfig
{
    public uint? Mode;
    public ushort? Flags;
    public uint? MacaddrMode;
    public byte[]? Macaddr;
    /// <summary>IFLA_MACVLAN_MACADDR_DATA: the addresses of a MACVLAN_MACADDR_SET.</summary>
    public List<byte[]>? MacaddrData;
    public uint? BcQueueLen;
    public int? BcCutoff;
}

/// <summary>struct macvlan_port: the state a lower device gets once macvlans sit on it.</summary>
public sealed class MacvlanPort
{
    internal MacvlanPort(NetDevice dev)
    {
        Dev = dev;
        PermAddr = (byte[])dev.DevAddr.Clone();
    }

    public NetDevice Dev { get; }
    /// <summary>port->vlans, in creation order.</summary>
    public List<MacvlanDev> Vlans { get; } = new();
    public int Count;
    public bool Passthru;
    public byte[] PermAddr;
    public uint BcQueueLenUsed;
    public int BcCutoff = 1;
    /// <summary>The addresses of the running macvlans (macvlan_hash_add / lookup).</summary>
    internal readonly HashSet<ulong> Hash = new();
}

/// <summary>struct macvlan_dev.</summary>
public sealed class MacvlanDev
{
    internal MacvlanDev(NetDevice dev) => Dev = dev;

    public NetDevice Dev { get; }
    public NetDevice Lowerdev { get; internal set; } = null!;
    public MacvlanPort Port { get; internal set; } = null!;
    public uint Mode = MacvlanLinkOps.ModeVepa;
    public ushort Flags;
    public uint BcQueueLenReq = MacvlanLinkOps.DefaultBcQueueLen;
    /// <summary>Source-mode addresses, newest first per hash bucket (vlan_source_hash).</summary>
    internal readonly List<(int Bucket, long Seq, byte[] Addr)> Sources = new();
    internal long SourceSeq;

    public int MacaddrCount => Sources.Count;

    /// <summary>The source addresses in the order macvlan_fill_info_macaddr walks the hash.</summary>
    public IEnumerable<byte[]> SourceAddrsInHashOrder =>
        Sources.OrderBy(s => s.Bucket).ThenByDescending(s => s.Seq).Select(s => s.Addr);
}

/// <summary>drivers/net/macvlan.c.</summary>
public sealed class MacvlanLinkOps : LinkOps
{
    public const uint ModePrivate = 1, ModeVepa = 2, ModeBridge = 4, ModePassthru = 8, ModeSource = 16;
    public const ushort FlagNoPromisc = 1, FlagNodst = 2;
    public const uint MacaddrAdd = 0, MacaddrDel = 1, MacaddrFlush = 2, MacaddrSet = 3;
    public const uint DefaultBcQueueLen = 1000;
    private const int HashBits = 8;

    public override string Kind => "macvlan";

    public static MacvlanDev Priv(NetDevice dev) => (MacvlanDev)dev.Priv!;

    public static MacvlanPort? PortOf(NetDevice dev) =>
        (dev.PrivFlags & PrivFlags.MacvlanPort) != 0 ? dev.RxHandlerData as MacvlanPort : null;

    /// <summary>macvlan_setup / macvlan_common_setup.</summary>
    public override void Setup(NetDevice dev)
    {
        Links.Setup.Ether(dev);
        dev.MaxMtu = 65535; // ETH_MAX_MTU
        dev.PrivFlags |= PrivFlags.UnicastFlt | PrivFlags.NoQueue;
        dev.ChangeProtoDown = true;
        dev.Priv = new MacvlanDev(dev);
    }

    private static ulong Key(ReadOnlySpan<byte> a)
    {
        ulong v = 0;
        for (int i = 0; i < 6; i++) v = (v << 8) | a[i];
        return v;
    }

    /// <summary>macvlan_eth_hash: hash_64 of the address as the first 6 bytes of a little-endian u64.</summary>
    private static int EthHash(ReadOnlySpan<byte> a)
    {
        ulong value = 0;
        for (int i = 0; i < 6; i++) value |= (ulong)a[i] << (8 * i);
        value <<= 16;
        return (int)((value * 0x61C8864680B583EBUL) >> (64 - HashBits));
    }

    /// <summary>macvlan_port_create.</summary>
    private static KErr PortCreate(NetDevice lower)
    {
        if (lower.Type != ARPHRD_ETHER || (lower.Flags & IFF_LOOPBACK) != 0) return new KErr(Errno.EINVAL);
        if (lower.RxHandlerData != null) return new KErr(Errno.EBUSY);
        lower.RxHandlerData = new MacvlanPort(lower);
        lower.PrivFlags |= PrivFlags.MacvlanPort;
        return KErr.Ok;
    }

    /// <summary>macvlan_port_destroy.</summary>
    private static void PortDestroy(NetDevice lower)
    {
        var port = PortOf(lower);
        if (port == null) return;
        lower.PrivFlags &= ~PrivFlags.MacvlanPort;
        lower.RxHandlerData = null;
        // a passthru macvlan changed the lower's address: put it back
        if (port.Passthru && !lower.DevAddr.AsSpan().SequenceEqual(port.PermAddr))
            lower.Net.DevSetMacAddress(lower, port.PermAddr);
    }

    private static void UpdatePortBcQueueLen(MacvlanPort port)
    {
        uint max = 0;
        foreach (var v in port.Vlans) max = Math.Max(max, v.BcQueueLenReq);
        port.BcQueueLenUsed = max;
    }

    /// <summary>macvlan_hash_add_source (an address already there is left alone).</summary>
    private static void HashAddSource(MacvlanDev vlan, byte[] addr)
    {
        foreach (var s in vlan.Sources)
            if (s.Addr.AsSpan().SequenceEqual(addr)) return;
        vlan.Sources.Add((EthHash(addr), ++vlan.SourceSeq, (byte[])addr.Clone()));
    }

    /// <summary>macvlan_changelink_sources.</summary>
    private static KErr ChangelinkSources(MacvlanDev vlan, uint mode, MacvlanConfig c)
    {
        var addr = c.Macaddr;
        switch (mode)
        {
            case MacaddrAdd:
                if (addr == null) return new KErr(Errno.EINVAL);
                HashAddSource(vlan, addr);
                return KErr.Ok;
            case MacaddrDel:
                if (addr == null) return new KErr(Errno.EINVAL);
                vlan.Sources.RemoveAll(s => s.Addr.AsSpan().SequenceEqual(addr));
                return KErr.Ok;
            case MacaddrFlush:
                vlan.Sources.Clear();
                return KErr.Ok;
            case MacaddrSet:
                vlan.Sources.Clear();
                if (addr != null) HashAddSource(vlan, addr);
                if (c.MacaddrData != null)
                    foreach (var a in c.MacaddrData) HashAddSource(vlan, a);
                return KErr.Ok;
            default:
                return new KErr(Errno.EINVAL);
        }
    }

    /// <summary>macvlan_common_newlink.</summary>
    public override KErr NewLink(Net net, NetDevice dev, LinkConfig common, object? kindConfig)
    {
        var c = kindConfig as MacvlanConfig ?? new MacvlanConfig();
        var vlan = Priv(dev);
        if (common.LinkIndex is not int link) return new KErr(Errno.EINVAL);
        var lower = net.GetDevice(link);
        if (lower == null) return new KErr(Errno.ENODEV);
        // macvlans on top of macvlans use the real device as their lower
        if ((lower.PrivFlags & PrivFlags.Macvlan) != 0) lower = Priv(lower).Lowerdev;

        if (common.Mtu == null) dev.Mtu = lower.Mtu;
        else if (dev.Mtu > lower.Mtu) return new KErr(Errno.EINVAL);
        dev.MinMtu = 68;
        dev.MaxMtu = lower.MaxMtu;
        if (common.Address == null) Links.Setup.EthHwAddrRandom(net.Kernel, dev);

        bool create = false;
        if (PortOf(lower) == null)
        {
            var perr = PortCreate(lower);
            if (perr.Failed) return perr;
            create = true;
        }
        var port = PortOf(lower)!;
        KErr Destroy(KErr e)
        {
            if (create && port.Count == 0) PortDestroy(lower);
            return e;
        }
        // only one macvlan device can be created in passthru mode
        if (port.Passthru) return Destroy(new KErr(Errno.EINVAL));

        vlan.Lowerdev = lower;
        vlan.Port = port;
        vlan.Mode = c.Mode ?? ModeVepa;
        if (c.Flags is ushort f) vlan.Flags = f;
        if (vlan.Mode == ModePassthru)
        {
            if (port.Count != 0) return Destroy(new KErr(Errno.EINVAL));
            port.Passthru = true;
            // eth_hw_addr_inherit
            dev.DevAddr = (byte[])lower.DevAddr.Clone();
            dev.AddrAssignType = lower.AddrAssignType;
        }
        if (c.MacaddrMode is uint mm)
        {
            if (vlan.Mode != ModeSource) return Destroy(new KErr(Errno.EINVAL));
            var serr = ChangelinkSources(vlan, mm, c);
            if (serr.Failed) return Destroy(serr);
        }
        vlan.BcQueueLenReq = c.BcQueueLen ?? DefaultBcQueueLen;
        if (c.BcCutoff is int cut) port.BcCutoff = cut;

        // macvlan_init (ndo_init): the lower's carrier and dormant state, its TSO limits
        dev.Carrier = lower.Carrier;
        dev.Dormant = lower.Dormant;
        Model.Net.NetifInheritTsoMax(dev, lower);
        port.Count++;
        var err = net.RegisterNetdevice(dev);
        if (err.Failed)
        {
            port.Count--;
            return Destroy(err);
        }
        dev.PrivFlags |= PrivFlags.Macvlan;
        err = net.NetdevUpperDevLink(lower, dev, master: false);
        if (err.Failed)
        {
            net.UnregisterNetdeviceMany([dev]);
            return err;
        }
        port.Vlans.Add(vlan);
        UpdatePortBcQueueLen(port);
        net.NetifStackedTransferOperstate(lower, dev);
        net.LinkWatchFireEvent(dev);
        return KErr.Ok;
    }

    /// <summary>macvlan_dellink.</summary>
    public override void DelLink(NetDevice dev, List<NetDevice> kill)
    {
        var vlan = Priv(dev);
        if (vlan.Mode == ModeSource) vlan.Sources.Clear();
        vlan.Port.Vlans.Remove(vlan);
        UpdatePortBcQueueLen(vlan.Port);
        kill.Add(dev);
        dev.Net.NetdevUpperDevUnlink(vlan.Lowerdev, dev);
    }

    /// <summary>macvlan_uninit: the last macvlan takes the port with it.</summary>
    public override void Uninit(NetDevice dev)
    {
        var vlan = Priv(dev);
        vlan.Sources.Clear();
        if (--vlan.Port.Count == 0) PortDestroy(vlan.Port.Dev);
    }

    public override bool HasChangeLink => true;

    /// <summary>macvlan_changelink.</summary>
    public override KErr ChangeLink(NetDevice dev, object kindConfig)
    {
        var vlan = Priv(dev);
        var c = (MacvlanConfig)kindConfig;
        uint mode = vlan.Mode;
        bool setMode = false;
        if (c.Mode is uint m)
        {
            setMode = true;
            mode = m;
            // passthrough mode can't be set or cleared dynamically
            if ((mode == ModePassthru) != (vlan.Mode == ModePassthru)) return new KErr(Errno.EINVAL);
            if (vlan.Mode == ModeSource && vlan.Mode != mode) vlan.Sources.Clear();
        }
        if (c.Flags is ushort flags)
        {
            bool promisc = ((flags ^ vlan.Flags) & FlagNoPromisc) != 0;
            if (vlan.Port.Passthru && promisc)
            {
                var err = dev.Net.DevSetPromiscuity(vlan.Lowerdev, (flags & FlagNoPromisc) != 0 ? -1 : 1);
                if (err.Failed) return err;
            }
            vlan.Flags = flags;
        }
        if (c.BcQueueLen is uint q)
        {
            vlan.BcQueueLenReq = q;
            UpdatePortBcQueueLen(vlan.Port);
        }
        if (c.BcCutoff is int cut) vlan.Port.BcCutoff = cut;
        if (setMode) vlan.Mode = mode;
        if (c.MacaddrMode is uint mm)
        {
            if (vlan.Mode != ModeSource) return new KErr(Errno.EINVAL);
            var err = ChangelinkSources(vlan, mm, c);
            if (err.Failed) return err;
        }
        return KErr.Ok;
    }

    /// <summary>macvlan_addr_busy.</summary>
    private static bool AddrBusy(MacvlanPort port, ReadOnlySpan<byte> addr)
    {
        if (!port.Passthru && port.Dev.DevAddr.AsSpan(0, 6).SequenceEqual(addr)) return true;
        return port.Hash.Contains(Key(addr));
    }

    /// <summary>macvlan_open.</summary>
    public override KErr Open(NetDevice dev)
    {
        var vlan = Priv(dev);
        var lower = vlan.Lowerdev;
        if (vlan.Port.Passthru)
        {
            if ((vlan.Flags & FlagNoPromisc) == 0)
            {
                var err = dev.Net.DevSetPromiscuity(lower, 1);
                if (err.Failed) return err;
            }
        }
        else
        {
            if (AddrBusy(vlan.Port, dev.DevAddr)) return new KErr(Errno.EADDRINUSE);
            dev.Net.DevUcAdd(lower, dev.DevAddr);
            if ((dev.Flags & IFF_ALLMULTI) != 0) dev.Net.DevSetAllmulti(lower, 1);
            if ((dev.Flags & IFF_PROMISC) != 0) dev.Net.DevSetPromiscuity(lower, 1);
        }
        vlan.Port.Hash.Add(Key(dev.DevAddr));
        return KErr.Ok;
    }

    /// <summary>macvlan_stop.</summary>
    public override void Stop(NetDevice dev)
    {
        var vlan = Priv(dev);
        var lower = vlan.Lowerdev;
        if (vlan.Port.Passthru)
        {
            if ((vlan.Flags & FlagNoPromisc) == 0) dev.Net.DevSetPromiscuity(lower, -1);
        }
        else
        {
            if ((dev.Flags & IFF_ALLMULTI) != 0) dev.Net.DevSetAllmulti(lower, -1);
            if ((dev.Flags & IFF_PROMISC) != 0) dev.Net.DevSetPromiscuity(lower, -1);
            dev.Net.DevUcDel(lower, dev.DevAddr);
        }
        vlan.Port.Hash.Remove(Key(dev.DevAddr));
    }

    /// <summary>macvlan_change_mtu.</summary>
    public override KErr ChangeMtu(NetDevice dev, uint mtu)
    {
        if (Priv(dev).Lowerdev.Mtu < mtu) return new KErr(Errno.EINVAL);
        dev.Mtu = mtu;
        return KErr.Ok;
    }

    /// <summary>macvlan_set_mac_address.</summary>
    public override KErr SetMacAddress(NetDevice dev, byte[] addr)
    {
        var vlan = Priv(dev);
        if (!EtherAddr.IsValid(addr)) return new KErr(Errno.EADDRNOTAVAIL);
        if (dev.DevAddr.AsSpan().SequenceEqual(addr)) return KErr.Ok;
        if (vlan.Mode == ModePassthru) return dev.Net.DevSetMacAddress(vlan.Lowerdev, addr);
        if (AddrBusy(vlan.Port, addr)) return new KErr(Errno.EADDRINUSE);
        // macvlan_sync_address
        if (dev.IsUp)
        {
            dev.Net.DevUcAdd(vlan.Lowerdev, addr);
            dev.Net.DevUcDel(vlan.Lowerdev, dev.DevAddr);
            vlan.Port.Hash.Remove(Key(dev.DevAddr));
            vlan.Port.Hash.Add(Key(addr));
        }
        dev.DevAddr = (byte[])addr.Clone();
        return KErr.Ok;
    }

    /// <summary>macvlan_change_rx_flags.</summary>
    public override void ChangeRxFlags(NetDevice dev, uint change)
    {
        var vlan = Priv(dev);
        if (!dev.IsUp) return;
        if ((change & IFF_ALLMULTI) != 0)
            dev.Net.DevSetAllmulti(vlan.Lowerdev, (dev.Flags & IFF_ALLMULTI) != 0 ? 1 : -1);
        if (!vlan.Port.Passthru && (change & IFF_PROMISC) != 0)
            dev.Net.DevSetPromiscuity(vlan.Lowerdev, (dev.Flags & IFF_PROMISC) != 0 ? 1 : -1);
    }

    /// <summary>macvlan_dev_get_iflink.</summary>
    public override int GetIfLink(NetDevice dev) => Priv(dev).Lowerdev.Ifindex;

    /// <summary>macvlan_get_link_net.</summary>
    public override Net? GetLinkNet(NetDevice dev) => Priv(dev).Lowerdev.Net;

    /// <summary>macvlan_ethtool_get_link_ksettings: the lower device's.</summary>
    public override int? GetLinkSpeed(NetDevice dev)
    {
        var lower = Priv(dev).Lowerdev;
        return lower.Ops.GetLinkSpeed(lower);
    }

    public override INetdevNotifier CreateNotifier(Net net) => new MacvlanDeviceEvent();

    /// <summary>macvlan_device_event: the macvlans follow their lower device.</summary>
    private sealed class MacvlanDeviceEvent : INetdevNotifier
    {
        public void OnNetdevEvent(NetdevEvent ev, NetDevice dev)
        {
            var port = PortOf(dev);
            if (port == null) return;
            var net = dev.Net;
            switch (ev)
            {
                case NetdevEvent.Up:
                case NetdevEvent.Down:
                case NetdevEvent.Change:
                    foreach (var vlan in port.Vlans.ToList()) net.NetifStackedTransferOperstate(vlan.Lowerdev, vlan.Dev);
                    break;
                case NetdevEvent.FeatChange:
                    foreach (var vlan in port.Vlans) Model.Net.NetifInheritTsoMax(vlan.Dev, dev);
                    break;
                case NetdevEvent.ChangeMtu:
                    foreach (var vlan in port.Vlans.ToList())
                        if (vlan.Dev.Mtu > dev.Mtu) net.DevSetMtu(vlan.Dev, dev.Mtu);
                    break;
                case NetdevEvent.ChangeAddr:
                    if (!port.Passthru || port.Vlans.Count == 0) break;
                    var first = port.Vlans[0];
                    if (!first.Dev.IsUp) first.Dev.DevAddr = (byte[])dev.DevAddr.Clone();
                    port.PermAddr = (byte[])dev.DevAddr.Clone();
                    break;
                case NetdevEvent.Unregister:
                    if (dev.RegState != RegState.Unregistering) break;
                    var kill = new List<NetDevice>();
                    foreach (var vlan in port.Vlans.ToList()) vlan.Dev.Ops.DelLink(vlan.Dev, kill);
                    net.UnregisterNetdeviceMany(kill);
                    break;
            }
        }
    }
}
