using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model;

/// <summary>Private flags of a device (dev->priv_flags) that change what the core does.</summary>
[Flags]
public enum PrivFlags
{
    None = 0,
    NoQueue = 1 << 0,       // IFF_NO_QUEUE: the qdisc becomes "noqueue" on open
    NetnsLocal = 1 << 1,    // NETIF_F_NETNS_LOCAL: may not change namespace
    EbridgePort = 1 << 2,   // IFF_BRIDGE_PORT
    Ebridge = 1 << 3,       // IFF_EBRIDGE
    DontBridge = 1 << 4,    // IFF_DONT_BRIDGE
    LiveAddrChange = 1 << 5,// IFF_LIVE_ADDR_CHANGE
    NoCarrierManagement = 1 << 6, // carrier always on, operstate never leaves UNKNOWN (lo, dummy, ifb)
    MacvlanPort = 1 << 7,   // IFF_MACVLAN_PORT: the lower device of macvlans
    Macvlan = 1 << 8,       // IFF_MACVLAN
    Vlan8021q = 1 << 9,     // IFF_802_1Q_VLAN
    UnicastFlt = 1 << 10,   // IFF_UNICAST_FLT
}

/// <summary>dev->reg_state.</summary>
public enum RegState { Uninitialized, Registered, Unregistering, Unregistered }

/// <summary>struct net_device: one network interface of a namespace. Kind-specific state lives in
/// <see cref="Priv"/>, owned by <see cref="Ops"/>.</summary>
public sealed class NetDevice
{
    public NetDevice(LinkOps ops, string name)
    {
        Ops = ops;
        Name = name;
    }

    public Net Net { get; internal set; } = null!;
    public int Ifindex { get; internal set; }
    public string Name { get; internal set; }
    public List<string> AltNames { get; } = new();
    public LinkOps Ops { get; }
    /// <summary>netdev_priv(): the link kind's own state.</summary>
    public object? Priv { get; set; }
    public RegState RegState { get; internal set; }
    /// <summary>dev->rtnl_link_state == RTNL_LINK_INITIALIZED: devices made by rtnetlink are announced
    /// by rtnl_configure_link, not by register_netdevice.</summary>
    public bool RtnlLinkInitialized { get; internal set; } = true;

    public ushort Type = ARPHRD_ETHER;          // dev->type
    public uint Flags;                           // dev->flags (IFF_*) as set by the core
    public uint GFlags;                          // dev->gflags: PROMISC/ALLMULTI requested by the user
    public PrivFlags PrivFlags;
    public bool Carrier = true;                  // !__LINK_STATE_NOCARRIER
    public bool Dormant;                         // __LINK_STATE_DORMANT
    public bool Testing;                         // __LINK_STATE_TESTING
    public byte OperState = (byte)IF_OPER_UNKNOWN;  // dev->operstate, kept by linkwatch
    public byte LinkMode = (byte)IF_LINK_MODE_DEFAULT;
    public bool LinkWatchPending;

    public uint Mtu = 1500, MinMtu = 68, MaxMtu = 1500;
    public byte AddrLen = 6;
    /// <summary>dev->hard_header_len (ETH_HLEN for Ethernet).</summary>
    public ushort HardHeaderLen = 14;
    public byte[] DevAddr = new byte[6];
    public byte[] Broadcast = new byte[6];
    public byte[] PermAddr = new byte[6];
    public byte AddrAssignType = NetAddrAssign.Perm;
    public uint TxQueueLen = 1000;
    public string? Alias;
    public uint Group;
    /// <summary>Name of the root qdisc: "noop" until the device is first opened.</summary>
    public string Qdisc = "noop";
    public uint Promiscuity, Allmulti;
    public uint NumTxQueues = 1, NumRxQueues = 1, RealNumTxQueues = 1, RealNumRxQueues = 1;
    public uint GsoMaxSize = 65536, GsoMaxSegs = 65535, TsoMaxSize = 65536, TsoMaxSegs = 65535, GroMaxSize = 65536;
    public uint GsoIpv4MaxSize = 65536, GroIpv4MaxSize = 65536;
    public uint CarrierUpCount, CarrierDownCount;
    public bool ProtoDown;
    public uint ProtoDownReason;
    /// <summary>dev->change_proto_down: the driver lets user space set protodown.</summary>
    public bool ChangeProtoDown;
    public ushort NeededHeadroom, NeededTailroom;
    /// <summary>NETIF_F_VLAN_CHALLENGED: no VLAN devices on top (lo).</summary>
    public bool VlanChallenged;

    /// <summary>dev->netns_immutable (NETIF_F_NETNS_LOCAL).</summary>
    public bool NetnsImmutable => (PrivFlags & PrivFlags.NetnsLocal) != 0;

    /// <summary>dev->mc: the link-layer multicast addresses the protocols joined.</summary>
    public HwMcList Mc { get; } = new();

    /// <summary>The master device (bridge) this one is enslaved to (netdev_master_upper_dev_get).</summary>
    public NetDevice? Master { get; internal set; }

    /// <summary>dev->adj_list.upper / .lower: the devices directly stacked on this one and under it
    /// (netdev_upper_dev_link). The master, if any, is one of the uppers.</summary>
    public List<NetDevice> Uppers { get; } = new();
    public List<NetDevice> Lowers { get; } = new();

    /// <summary>dev->rx_handler_data: whoever took the receive hook (a bridge port, a macvlan port).
    /// A device has at most one (netdev_rx_handler_register answers EBUSY otherwise).</summary>
    public object? RxHandlerData { get; internal set; }

    /// <summary>dev->uc: secondary unicast addresses (refcounted, in the order added), as stacked
    /// devices and the default fdb of the device add them.</summary>
    public HwAddrList Uc { get; } = new();
    /// <summary>dev->uc_promisc: promiscuity taken because the device cannot filter unicast.</summary>
    public bool UcPromisc;

    /// <summary>dev->vlan_info: the 802.1Q devices on top of this one.</summary>
    public Links.VlanInfo? VlanInfo { get; internal set; }

    /// <summary>in_device: IPv4 state; null until registered (or when the MTU is below 68).</summary>
    public Ipv4.InDevice? Ip4 { get; internal set; }

    /// <summary>inet6_dev: IPv6 state; null until registered, and while the MTU is below 1280.</summary>
    public Ipv6.Inet6Dev? Ip6 { get; internal set; }

    public bool IsUp => (Flags & IFF_UP) != 0;                  // netif_running
    public bool IsLoopback => (Flags & IFF_LOOPBACK) != 0;
    public bool IsRegistered => RegState == RegState.Registered;

    /// <summary>netif_oper_up: operstate UP or UNKNOWN.</summary>
    public bool OperUp => OperState == IF_OPER_UP || OperState == IF_OPER_UNKNOWN;

    /// <summary>dev_get_flags(): the flags user space sees (RUNNING/LOWER_UP/DORMANT derived).</summary>
    public uint GetFlags()
    {
        uint f = (Flags & ~(uint)(IFF_PROMISC | IFF_ALLMULTI | IFF_RUNNING | IFF_LOWER_UP | IFF_DORMANT))
                 | (GFlags & (uint)(IFF_PROMISC | IFF_ALLMULTI));
        if (IsUp)
        {
            if (OperUp) f |= IFF_RUNNING;
            if (Carrier) f |= IFF_LOWER_UP;
            if (Dormant) f |= IFF_DORMANT;
        }
        return f;
    }

    /// <summary>The operstate rtnl_fill_ifinfo reports: the stored one while running, else DOWN.</summary>
    public byte ReportedOperState => IsUp ? OperState : (byte)IF_OPER_DOWN;

    /// <summary>dev_get_iflink(): the ifindex of the lower/peer device, or our own.</summary>
    public int IfLink => Ops.GetIfLink(this);

    public uint CarrierChanges => CarrierUpCount + CarrierDownCount;

    public override string ToString() => $"{Ifindex}:{Name}";
}

/// <summary>NET_ADDR_* values of dev->addr_assign_type.</summary>
public static class NetAddrAssign
{
    public const byte Perm = 0, Random = 1, Stolen = 2, Set = 3;
}
