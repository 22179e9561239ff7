using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Links;

/// <summary>struct net_bridge_port: one device enslaved to a bridge (net/bridge/br_if.c).</summary>
public sealed class BridgePort
{
    internal BridgePort(NetBridge br, NetDevice dev, ushort portNo)
    {
        Br = br;
        Dev = dev;
        PortNo = portNo;
        var k = dev.Net.Kernel;
        MessageAgeTimer = new KTimer(k, () => br.MessageAgeTimerExpired(this));
        ForwardDelayTimer = new KTimer(k, () => br.ForwardDelayTimerExpired(this));
        HoldTimer = new KTimer(k, () => br.HoldTimerExpired(this));
    }

    public NetBridge Br { get; }
    public NetDevice Dev { get; }
    public ushort PortNo { get; }
    public ushort PortId;
    /// <summary>p->priority: 0..63 (the upper bits of the port id).</summary>
    public ushort Priority;
    public uint PathCost;
    public BrPortFlags Flags;
    public byte State;
    public BridgeId DesignatedRoot, DesignatedBridge;
    public uint DesignatedCost;
    public ushort DesignatedPort;
    public byte TopologyChangeAck, ConfigPending;
    public KTimer MessageAgeTimer { get; }
    public KTimer ForwardDelayTimer { get; }
    public KTimer HoldTimer { get; }
    public byte MulticastRouter = 1;            // MDB_RTR_TYPE_TEMP_QUERY
    public uint McastEhtHostsLimit = 512;       // BR_MCAST_DEFAULT_EHT_HOSTS_LIMIT
    public uint McastEhtHostsCnt;
    public uint McastNGroups, McastMaxGroups;
    public ushort GroupFwdMask;
    public BridgePort? BackupPort;
    public uint BackupRedirectedCnt;
    public uint BackupNhid;

    /// <summary>br_auto_port.</summary>
    public bool IsAuto => (Flags & BrPortFlags.AutoMask) != 0;
    /// <summary>br_promisc_port.</summary>
    public bool IsPromisc => (Flags & BrPortFlags.Promisc) != 0;

    /// <summary>br_is_designated_port.</summary>
    public bool IsDesignated => DesignatedBridge == Br.BridgeId && DesignatedPort == PortId;

    public override string ToString() => $"port {PortNo}({Dev.Name})";
}

/// <summary>struct net_bridge: the private state of a bridge device (net/bridge/br_private.h),
/// with the 802.1D spanning tree of br_stp.c / br_stp_if.c / br_stp_timer.c. Times are jiffies.</summary>
public sealed partial class NetBridge
{
    public const int PortBits = 10;                        // BR_PORT_BITS
    public const int MaxPorts = 1 << PortBits;             // BR_MAX_PORTS
    public const ushort MaxPortPriority = 0xffff >> PortBits;
    public const long MinHelloTime = 1 * Jiffies.HZ, MaxHelloTime = 10 * Jiffies.HZ;
    public const long MinForwardDelay = 2 * Jiffies.HZ, MaxForwardDelay = 30 * Jiffies.HZ;
    public const long MinMaxAge = 6 * Jiffies.HZ, MaxMaxAge = 40 * Jiffies.HZ;
    public const uint MinPathCost = 1, MaxPathCost = 65535;
    public const long HoldTime = 1 * Jiffies.HZ;           // BR_HOLD_TIME
    public const long DefaultAgeingTime = 300 * Jiffies.HZ; // BR_DEFAULT_AGEING_TIME
    /// <summary>BR_GROUPFWD_STP | BR_GROUPFWD_MACPAUSE | BR_GROUPFWD_LACP.</summary>
    public const ushort GroupFwdRestricted = 0x1 | 0x2 | 0x4;
    public const ushort GroupFwdMacPause = 0x2;
    public const int BoolOptMax = 5;                       // BR_BOOLOPT_MAX in 6.18
    public const int BoolOptNoLlLearn = 0, BoolOptMcastVlanSnooping = 1, BoolOptMstEnable = 2,
        BoolOptMdbOffloadFailNotification = 3, BoolOptFdbLocalVlan0 = 4;
    public static readonly byte[] StpAddr = [0x01, 0x80, 0xc2, 0x00, 0x00, 0x00]; // eth_stp_addr

    internal NetBridge(NetDevice dev) => Dev = dev;

    public NetDevice Dev { get; }
    /// <summary>br->port_list: new ports go to the head, as list_add_rcu puts them.</summary>
    public List<BridgePort> Ports { get; } = new();
    public BridgeId BridgeId = BridgeId.Make(0x8000, new byte[6]);
    public BridgeId DesignatedRoot = BridgeId.Make(0x8000, new byte[6]);
    public uint RootPathCost;
    public ushort RootPort;
    public long MaxAge = 20 * Jiffies.HZ, HelloTime = 2 * Jiffies.HZ, ForwardDelay = 15 * Jiffies.HZ;
    public long BridgeMaxAge = 20 * Jiffies.HZ, BridgeHelloTime = 2 * Jiffies.HZ, BridgeForwardDelay = 15 * Jiffies.HZ;
    public long AgeingTime = DefaultAgeingTime, BridgeAgeingTime = DefaultAgeingTime;
    public BrStp StpEnabled = BrStp.None;
    public byte TopologyChange, TopologyChangeDetected;
    public ushort GroupFwdMask, GroupFwdMaskRequired;
    public byte[] GroupAddr = (byte[])StpAddr.Clone();
    public bool GroupAddrSet;
    public uint AutoCnt;
    public bool MtuSetByUser;

    // boolean options (BROPT_*)
    public bool NoLlLearn, McastVlanSnooping, MstEnabled, MdbOffloadFailNotification, FdbLocalVlan0;
    public bool MulticastEnabled = true, MulticastQueryUseIfaddr, MulticastStatsEnabled;
    public bool NfCallIptables, NfCallIp6tables, NfCallArptables;
    public bool VlanEnabled;

    // multicast context (br_multicast_init)
    public byte MulticastRouter = 1;  // MDB_RTR_TYPE_TEMP_QUERY
    public byte MulticastQuerier;
    public uint HashMax = 4096;       // BR_MULTICAST_DEFAULT_HASH_MAX
    public const uint HashElasticity = 16; // RHT_ELASTICITY
    public uint MulticastLastMemberCount = 2, MulticastStartupQueryCount = 2;
    public long MulticastLastMemberInterval = Jiffies.HZ;
    public long MulticastMembershipInterval = 260 * Jiffies.HZ;
    public long MulticastQuerierInterval = 255 * Jiffies.HZ;
    public long MulticastQueryInterval = 125 * Jiffies.HZ;
    public long MulticastQueryResponseInterval = 10 * Jiffies.HZ;
    public long MulticastStartupQueryInterval = 125 * Jiffies.HZ / 4;
    public byte MulticastIgmpVersion = 2, MulticastMldVersion = 1;
    public uint FdbNLearned, FdbMaxLearned;

    public KTimer HelloTimer { get; private set; } = null!;
    public KTimer TcnTimer { get; private set; } = null!;
    public KTimer TopologyChangeTimer { get; private set; } = null!;
    /// <summary>br->gc_work's timer (br_fdb_cleanup re-arms itself).</summary>
    public KTimer GcTimer { get; private set; } = null!;

    private Net Net => Dev.Net;
    private long Now => Jiffies.Now(Net.Kernel);

    /// <summary>br_stp_timer_init and INIT_DELAYED_WORK(gc_work), once the device has a kernel.</summary>
    internal void InitTimers(Kernel k)
    {
        HelloTimer = new KTimer(k, HelloTimerExpired);
        TcnTimer = new KTimer(k, TcnTimerExpired);
        TopologyChangeTimer = new KTimer(k, TopologyChangeTimerExpired);
        GcTimer = new KTimer(k, FdbCleanup);
    }

    /// <summary>br_is_root_bridge.</summary>
    public bool IsRootBridge => BridgeId == DesignatedRoot;

    /// <summary>br_boolopt_multi_get: (optval, optmask) of every boolean option.</summary>
    public (uint Value, uint Mask) BoolOptMulti
    {
        get
        {
            uint v = 0;
            for (int i = 0; i < BoolOptMax; i++)
                if (BoolOptGet(i)) v |= 1u << i;
            return (v, (1u << BoolOptMax) - 1);
        }
    }

    private bool BoolOptGet(int opt) => opt switch
    {
        BoolOptNoLlLearn => NoLlLearn,
        BoolOptMcastVlanSnooping => McastVlanSnooping,
        BoolOptMstEnable => MstEnabled,
        BoolOptMdbOffloadFailNotification => MdbOffloadFailNotification,
        BoolOptFdbLocalVlan0 => FdbLocalVlan0,
        _ => false,
    };

    /// <summary>br_timer_value: the remaining time of a running timer, in clock_t.</summary>
    public long TimerValue(KTimer t) => t.Pending ? Jiffies.DeltaToClockT(t.Expires - Now) : 0;

    public BridgePort? GetPort(ushort portNo)
    {
        foreach (var p in Ports) if (p.PortNo == portNo) return p;
        return null;
    }

    public static BridgePort? PortOf(NetDevice dev) =>
        (dev.PrivFlags & PrivFlags.EbridgePort) != 0 ? dev.RxHandlerData as BridgePort : null;

    // ---- br_if.c -------------------------------------------------------------------------------

    /// <summary>port_cost: the 802.1D path cost from the link speed, else the old name heuristics.</summary>
    internal static uint PortCost(NetDevice dev)
    {
        int? speed = dev.Ops.GetLinkSpeed(dev);
        if (speed is int s)
        {
            switch (s)
            {
                case 10000: return 2;
                case 5000: return 3;
                case 2500: return 4;
                case 1000: return 5;
                case 100: return 19;
                case 10: return 100;
                case LinkOps.SpeedUnknown: return 100;
                default: if (s > 10000) return 1; break;
            }
        }
        if (dev.Name.StartsWith("lec", StringComparison.Ordinal)) return 7;
        if (dev.Name.StartsWith("plip", StringComparison.Ordinal)) return 2500;
        return 100;
    }

    /// <summary>br_port_carrier_check.</summary>
    internal void PortCarrierCheck(BridgePort p, out bool notified)
    {
        var dev = p.Dev;
        if ((p.Flags & BrPortFlags.AdminCost) == 0 && dev.IsUp && dev.OperUp) p.PathCost = PortCost(dev);
        notified = false;
        if (!Dev.IsUp) return;
        if (dev.IsUp && dev.OperUp)
        {
            if (p.State == BrState.Disabled)
            {
                StpEnablePort(p);
                notified = true;
            }
        }
        else if (p.State != BrState.Disabled)
        {
            StpDisablePort(p);
            notified = true;
        }
    }

    /// <summary>br_port_set_promisc: a promiscuous port needs no static fdb address in its list.</summary>
    private void PortSetPromisc(BridgePort p)
    {
        if (p.IsPromisc) return;
        if (Net.DevSetPromiscuity(p.Dev, 1).Failed) return;
        FdbUnsyncStatic(p);
        p.Flags |= BrPortFlags.Promisc;
    }

    /// <summary>br_port_clear_promisc.</summary>
    private void PortClearPromisc(BridgePort p)
    {
        if (!p.IsPromisc || (p.Dev.PrivFlags & PrivFlags.UnicastFlt) == 0) return;
        FdbSyncStatic(p);
        Net.DevSetPromiscuity(p.Dev, -1);
        p.Flags &= ~BrPortFlags.Promisc;
    }

    /// <summary>br_manage_promisc: without VLAN filtering (or with the bridge promiscuous) every port
    /// is promiscuous.</summary>
    internal void ManagePromisc()
    {
        bool setAll = (Dev.Flags & IFF_PROMISC) != 0 || !VlanEnabled;
        foreach (var p in Ports)
        {
            if (setAll) PortSetPromisc(p);
            else if ((p.Dev.PrivFlags & PrivFlags.UnicastFlt) != 0 && (AutoCnt == 0 || (AutoCnt == 1 && p.IsAuto)))
                PortClearPromisc(p);
            else PortSetPromisc(p);
        }
    }

    /// <summary>nbp_update_port_count.</summary>
    private void UpdatePortCount()
    {
        uint cnt = 0;
        foreach (var p in Ports) if (p.IsAuto) cnt++;
        if (AutoCnt != cnt)
        {
            AutoCnt = cnt;
            ManagePromisc();
        }
    }

    /// <summary>nbp_delete_promisc.</summary>
    private void DeletePromisc(BridgePort p)
    {
        Net.DevSetAllmulti(p.Dev, -1);
        if (p.IsPromisc) Net.DevSetPromiscuity(p.Dev, -1);
    }

    /// <summary>nbp_backup_change.</summary>
    internal KErr BackupChange(BridgePort p, NetDevice? backupDev)
    {
        BridgePort? backup = null;
        if (backupDev != null)
        {
            backup = PortOf(backupDev);
            if (backup == null) return new KErr(Errno.ENOENT);
            if (backup.Br != this) return new KErr(Errno.EINVAL);
        }
        if (p == backup) return new KErr(Errno.EINVAL);
        if (p.BackupPort == backup) return KErr.Ok;
        if (p.BackupPort != null) p.BackupPort.BackupRedirectedCnt--;
        if (backup != null) backup.BackupRedirectedCnt++;
        p.BackupPort = backup;
        return KErr.Ok;
    }

    private void BackupClear(BridgePort p)
    {
        BackupChange(p, null);
        if (p.BackupRedirectedCnt == 0) return;
        foreach (var cur in Ports)
            if (cur.BackupPort == p) BackupChange(cur, null);
    }

    /// <summary>del_nbp: the port leaves the bridge.</summary>
    internal void DelNbp(BridgePort p)
    {
        var dev = p.Dev;
        DeletePromisc(p);
        StpDisablePort(p);
        IfinfoNotify(p, deleted: true);
        Ports.Remove(p);
        BackupClear(p);
        FdbDeleteByPort(p, 0, doAll: true);
        UpdatePortCount();
        Net.NetdevUpperDevUnlink(dev, Dev);
        dev.PrivFlags &= ~PrivFlags.EbridgePort;
        dev.RxHandlerData = null;
        p.MessageAgeTimer.Delete();
        p.ForwardDelayTimer.Delete();
        p.HoldTimer.Delete();
    }

    /// <summary>find_portno: the lowest free port number (0 is reserved).</summary>
    private int FindPortNo()
    {
        var inuse = new bool[MaxPorts];
        inuse[0] = true;
        foreach (var p in Ports) inuse[p.PortNo] = true;
        int i = Array.IndexOf(inuse, false);
        return i < 0 ? -Errno.EXFULL : i;
    }

    /// <summary>br_add_if.</summary>
    internal KErr AddIf(NetDevice dev)
    {
        // don't allow bridging non-ethernet like devices
        if ((dev.Flags & IFF_LOOPBACK) != 0 || dev.Type != ARPHRD_ETHER || dev.AddrLen != 6 ||
            !EtherAddr.IsValid(dev.DevAddr))
            return new KErr(Errno.EINVAL);
        // no bridging of bridges
        if (dev.Ops.IsBridge) return new KErr(Errno.ELOOP, "Can not enslave a bridge to a bridge");
        // device has master upper dev
        if (dev.Master != null) return new KErr(Errno.EBUSY);
        if ((dev.PrivFlags & PrivFlags.DontBridge) != 0)
            return new KErr(Errno.EOPNOTSUPP, "Device does not allow enslaving to a bridge");

        // new_nbp
        int index = FindPortNo();
        if (index < 0) return new KErr(-index);
        var p = new BridgePort(this, dev, (ushort)index)
        {
            PathCost = PortCost(dev),
            Priority = 0x8000 >> PortBits,
            Flags = BrPortFlags.Learning | BrPortFlags.Flood | BrPortFlags.McastFlood | BrPortFlags.BcastFlood,
        };
        InitPort(p);
        SetState(p, BrState.Disabled);

        Net.CallNetdevNotifiers(NetdevEvent.Join, dev);
        var err = Net.DevSetAllmulti(dev, 1);
        if (err.Failed) return err;
        // netdev_rx_handler_register: one taker only
        if (dev.RxHandlerData != null)
        {
            Net.DevSetAllmulti(dev, -1);
            return new KErr(Errno.EBUSY);
        }
        dev.RxHandlerData = p;
        dev.PrivFlags |= PrivFlags.EbridgePort;
        err = Net.NetdevUpperDevLink(dev, Dev, master: true);
        if (err.Failed)
        {
            dev.PrivFlags &= ~PrivFlags.EbridgePort;
            dev.RxHandlerData = null;
            Net.DevSetAllmulti(dev, -1);
            return err;
        }
        Ports.Insert(0, p);
        UpdatePortCount();
        if (!p.IsPromisc && (dev.PrivFlags & PrivFlags.UnicastFlt) != 0) FdbSyncStatic(p);
        UpdateFeatures();
        FdbAddLocal(p, dev.DevAddr.AsSpan(0, 6), 0);

        bool changedAddr = RecalculateBridgeId();
        if (dev.IsUp && dev.OperUp && Dev.IsUp) StpEnablePort(p);
        IfinfoNotify(p, deleted: false);
        if (changedAddr) Net.CallNetdevNotifiers(NetdevEvent.ChangeAddr, Dev);
        MtuAutoAdjust();
        SetGsoLimits();
        return KErr.Ok;
    }

    /// <summary>br_del_if.</summary>
    internal KErr DelIf(NetDevice dev)
    {
        var p = PortOf(dev);
        if (p == null || p.Br != this) return new KErr(Errno.EINVAL);
        DelNbp(p);
        MtuAutoAdjust();
        SetGsoLimits();
        if (RecalculateBridgeId()) Net.CallNetdevNotifiers(NetdevEvent.ChangeAddr, Dev);
        UpdateFeatures();
        return KErr.Ok;
    }

    private string _features = "";

    /// <summary>netdev_update_features(br->dev): br_features_recompute combines the ports'
    /// features, so they change (NETDEV_FEAT_CHANGE, and an RTM_NEWLINK) when the kinds of device
    /// among the ports change, the first port and the last one included.</summary>
    internal void UpdateFeatures()
    {
        var sig = string.Join(",", Ports.Select(p => p.Dev.Ops.Kind ?? "").Distinct().Order(StringComparer.Ordinal));
        if (sig == _features) return;
        _features = sig;
        Net.CallNetdevNotifiers(NetdevEvent.FeatChange, Dev);
    }

    /// <summary>br_mtu_auto_adjust: the smallest port MTU, unless the user set one.</summary>
    internal void MtuAutoAdjust()
    {
        if (MtuSetByUser) return;
        uint mtu = 0;
        foreach (var p in Ports)
            if (mtu == 0 || mtu > p.Dev.Mtu) mtu = p.Dev.Mtu;
        Net.DevSetMtu(Dev, mtu != 0 ? mtu : 1500);
        MtuSetByUser = false;
    }

    /// <summary>br_set_gso_limits: TSO limits are the smallest of the ports'.</summary>
    private void SetGsoLimits()
    {
        uint tsoMaxSize = uint.MaxValue;   // TSO_MAX_SIZE
        uint tsoMaxSegs = 65535;           // TSO_MAX_SEGS
        foreach (var p in Ports)
        {
            tsoMaxSize = Math.Min(tsoMaxSize, p.Dev.TsoMaxSize);
            tsoMaxSegs = Math.Min(tsoMaxSegs, p.Dev.TsoMaxSegs);
        }
        Net.NetifSetTsoMaxSize(Dev, tsoMaxSize);
        Dev.TsoMaxSegs = tsoMaxSegs;
    }

    /// <summary>br_dev_delete: every port is released, then the bridge goes.</summary>
    internal void DevDelete(List<NetDevice> kill)
    {
        foreach (var p in Ports.ToList()) DelNbp(p);
        FdbDeleteByPort(null, 0, doAll: true);
        GcTimer.Delete();
        kill.Add(Dev);
    }

    /// <summary>br_ifinfo_notify: the AF_BRIDGE RTM_NEWLINK/RTM_DELLINK about a port.</summary>
    public void IfinfoNotify(BridgePort p, bool deleted) => Net.Events.BridgePort(p, deleted);

    // ---- gc (br_fdb_cleanup) ------------------------------------------------------------------

    /// <summary>mod_delayed_work(system_long_wq, &amp;br->gc_work, delay).</summary>
    private void ModGc(long delay)
    {
        if (delay == 0) FdbCleanup();
        else GcTimer.Mod(Now + delay);
    }
}
