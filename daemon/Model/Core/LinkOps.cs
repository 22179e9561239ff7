using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model;

/// <summary>The generic part of an RTM_NEWLINK/RTM_SETLINK request once decoded: what
/// rtnl_create_link and do_setlink read from struct ifinfomsg and the top-level IFLA_*
/// attributes. Null means "not given". Kind-specific settings travel in a separate object owned
/// by the link kind.</summary>
public sealed class LinkConfig
{
    public string? Name;
    public int Ifindex;                 // ifi_index (explicit index for a new device)
    public uint FlagsValue, FlagsChange; // ifi_flags / ifi_change
    public uint? Mtu;
    public byte[]? Address;
    public byte[]? Broadcast;
    public uint? TxQueueLen;
    public string? Alias;               // "" clears the alias
    public uint? Group;
    public byte? OperState;
    public byte? LinkMode;
    public int? MasterIndex;            // IFLA_MASTER (0 = nomaster)
    public int? LinkIndex;              // IFLA_LINK: the lower device
    public byte? AddrGenMode;           // IFLA_AF_SPEC/AF_INET6/IFLA_INET6_ADDR_GEN_MODE
    public UInt128? Ipv6Token;          // IFLA_INET6_TOKEN
    public uint? NumTxQueues, NumRxQueues;
    public uint? GsoMaxSize, GsoMaxSegs, GroMaxSize, GsoIpv4MaxSize, GroIpv4MaxSize;
    public bool? ProtoDown;
    /// <summary>IFLA_PROTO_DOWN_REASON: IFLA_PROTO_DOWN_REASON_VALUE and the optional mask.</summary>
    public (uint Value, uint? Mask)? ProtoDownReason;
    public byte? Carrier;
    public Net? TargetNet;              // IFLA_NET_NS_PID/FD/IFLA_TARGET_NETNSID resolved
    public Net? SourceNet;              // the requester's namespace (where a veth peer goes by default)
    public Dictionary<int, int>? Ipv4DevConf; // IFLA_AF_SPEC/AF_INET/IFLA_INET_CONF: index -> value
    /// <summary>ifi_flags with ifi_change applied the way rtnl_create_link/do_setlink do.</summary>
    public bool HasFlags => FlagsChange != 0;
}

/// <summary>rtnl_link_ops + the net_device_ops a kind provides: how one kind of link is set up,
/// created, changed, opened and deleted. Kinds register once by name (<see cref="Register"/>);
/// unknown kinds are refused by the rtnetlink layer with "Unknown device type".</summary>
public abstract class LinkOps
{
    private static readonly Dictionary<string, LinkOps> Registry = new(StringComparer.Ordinal);
    private static readonly object RegistryLock = new();
    private static bool _builtins;

    /// <summary>rtnl_link_register.</summary>
    public static void Register(LinkOps ops)
    {
        if (ops.Kind is null) throw new ArgumentException("a link kind needs a name");
        lock (RegistryLock) Registry[ops.Kind] = ops;
    }

    /// <summary>rtnl_link_ops_get.</summary>
    public static LinkOps? Get(string kind)
    {
        lock (RegistryLock) return Registry.GetValueOrDefault(kind);
    }

    internal static void RegisterBuiltins()
    {
        lock (RegistryLock)
        {
            if (_builtins) return;
            _builtins = true;
            foreach (var ops in new LinkOps[]
                     {
                         new Links.DummyLinkOps(), new Links.VethLinkOps(), new Links.IfbLinkOps(),
                         new Links.BridgeLinkOps(), new Links.MacvlanLinkOps(), new Links.VxlanLinkOps(),
                         new Links.VlanLinkOps(),
                     })
                Registry[ops.Kind!] = ops;
        }
    }

    /// <summary>rtnl_link_ops.kind ("veth", "bridge", ...); null for devices without rtnl_link_ops
    /// (loopback), which rtnetlink can neither create nor delete and which carry no IFLA_LINKINFO.</summary>
    public abstract string? Kind { get; }

    public bool CanCreate => Kind != null;

    /// <summary>The registered kinds, in registration order.</summary>
    public static IReadOnlyList<LinkOps> All
    {
        get { lock (RegistryLock) return Registry.Values.ToList(); }
    }

    /// <summary>The kind's netdev notifier for one namespace (br_device_event, macvlan_device_event,
    /// vxlan_netdevice_event, vlan_device_event), or null. The kernel registers these once; the model
    /// keeps a chain per namespace, so each namespace gets its own instance.</summary>
    public virtual INetdevNotifier? CreateNotifier(Net net) => null;

    /// <summary>rtnl_link_ops.get_num_tx_queues / get_num_rx_queues: the default queue counts of a
    /// new device when the request gives none (veth: one per possible CPU).</summary>
    public virtual uint DefaultNumQueues(Net net) => 1;

    /// <summary>rtnl_link_ops.setup: defaults of a new device of this kind.</summary>
    public abstract void Setup(NetDevice dev);

    /// <summary>Allocates the kind's private state and applies kind-specific settings before
    /// registration (rtnl_link_ops.validate + the first part of newlink). <paramref name="kindConfig"/>
    /// is what the rtnetlink codec of the kind decoded from IFLA_INFO_DATA (may be null).</summary>
    public virtual KErr Validate(Net net, LinkConfig common, object? kindConfig) => KErr.Ok;

    /// <summary>rtnl_link_ops.newlink: registers <paramref name="dev"/> (and whatever comes with it,
    /// like a veth peer). The default registers the device alone.</summary>
    public virtual KErr NewLink(Net net, NetDevice dev, LinkConfig common, object? kindConfig)
        => net.RegisterNetdevice(dev);

    /// <summary>rtnl_link_ops.changelink: kind-specific settings of an existing device. Kinds
    /// without one answer EOPNOTSUPP (rtnl_changelink does so before calling).</summary>
    public virtual bool HasChangeLink => false;
    public virtual KErr ChangeLink(NetDevice dev, object kindConfig) =>
        new(Protocol.Errno.EOPNOTSUPP);

    /// <summary>rtnl_link_ops.slave_changelink: a master's settings of one of its ports.</summary>
    public virtual bool HasSlaveChangeLink => false;
    public virtual KErr SlaveChangeLink(NetDevice master, NetDevice port, object slaveConfig) =>
        new(Protocol.Errno.EOPNOTSUPP);

    /// <summary>rtnl_link_ops.dellink: queue the device (and its companions) for unregistration.</summary>
    public virtual void DelLink(NetDevice dev, List<NetDevice> kill) => kill.Add(dev);

    /// <summary>ndo_uninit: the last step of unregister_netdevice_many for the device.</summary>
    public virtual void Uninit(NetDevice dev) { }

    /// <summary>ndo_open.</summary>
    public virtual KErr Open(NetDevice dev) => KErr.Ok;

    /// <summary>ndo_stop.</summary>
    public virtual void Stop(NetDevice dev) { }

    /// <summary>ndo_change_mtu (after the core checked min/max).</summary>
    public virtual KErr ChangeMtu(NetDevice dev, uint mtu)
    {
        dev.Mtu = mtu;
        return KErr.Ok;
    }

    /// <summary>ndo_set_mac_address (eth_mac_addr: rejects multicast and all-zero addresses).</summary>
    public virtual KErr SetMacAddress(NetDevice dev, byte[] addr)
    {
        if (dev.Type == ARPHRD_ETHER && !EtherAddr.IsValid(addr)) return new(Protocol.Errno.EADDRNOTAVAIL);
        if (dev.IsUp && (dev.PrivFlags & PrivFlags.LiveAddrChange) == 0) return new(Protocol.Errno.EBUSY);
        dev.DevAddr = addr;
        return KErr.Ok;
    }

    /// <summary>dev_get_iflink / ndo_get_iflink.</summary>
    public virtual int GetIfLink(NetDevice dev) => dev.Ifindex;

    /// <summary>rtnl_link_ops.get_link_net: the namespace of the peer/lower device, if it may differ.</summary>
    public virtual Net? GetLinkNet(NetDevice dev) => null;

    /// <summary>ndo_add_slave: enslave <paramref name="port"/> to <paramref name="master"/>.
    /// Kinds that are not masters answer EOPNOTSUPP, as do_set_master does for them.</summary>
    public virtual bool HasAddSlave => false;
    public virtual KErr AddSlave(NetDevice master, NetDevice port) => new(Protocol.Errno.EOPNOTSUPP);

    /// <summary>ndo_del_slave.</summary>
    public virtual bool HasDelSlave => false;
    public virtual KErr DelSlave(NetDevice master, NetDevice port) => new(Protocol.Errno.EOPNOTSUPP);

    /// <summary>ndo_change_rx_flags: IFF_PROMISC/IFF_ALLMULTI of the device changed
    /// (stacked devices pass it to their lower, a bridge re-evaluates its ports).</summary>
    public virtual void ChangeRxFlags(NetDevice dev, uint change) { }

    /// <summary>ndo_change_carrier (IFLA_CARRIER); only some drivers have it (dummy).</summary>
    public virtual bool HasChangeCarrier => false;
    public virtual KErr ChangeCarrier(NetDevice dev, bool on) => new(Protocol.Errno.EOPNOTSUPP);

    /// <summary>ethtool get_link_ksettings: the link speed in Mb/s, <see cref="SpeedUnknown"/>, or
    /// null when the driver has no get_link_ksettings (the bridge's port_cost then falls back to
    /// its name heuristics).</summary>
    public virtual int? GetLinkSpeed(NetDevice dev) => null;
    public const int SpeedUnknown = -1;

    /// <summary>ndo_start_xmit == br_dev_xmit: is this a bridge (br_add_if refuses to nest them).</summary>
    public virtual bool IsBridge => false;
}

/// <summary>Ethernet address helpers (include/linux/etherdevice.h).</summary>
public static class EtherAddr
{
    public static bool IsMulticast(ReadOnlySpan<byte> a) => (a[0] & 1) != 0;
    public static bool IsZero(ReadOnlySpan<byte> a)
    {
        foreach (var b in a) if (b != 0) return false;
        return true;
    }
    /// <summary>is_valid_ether_addr.</summary>
    public static bool IsValid(ReadOnlySpan<byte> a) => a.Length == 6 && !IsMulticast(a) && !IsZero(a);
    public static readonly byte[] BroadcastAddr = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
}
