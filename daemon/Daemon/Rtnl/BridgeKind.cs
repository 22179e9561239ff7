using System.Buffers.Binary;
using VirtKernel.Model;
using VirtKernel.Model.Links;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>net/bridge/br_netlink.c, rtnetlink side. Each IFLA_BR_* and IFLA_BRPORT_* attribute
/// is one descriptor: its policy entry, how it decodes into the model's config and how
/// br_fill_info / br_port_fill_attrs write it. The tables are in the kernel's fill order, so
/// the policy, the decoding and the dump all come from one list.</summary>
public sealed class BridgeKind : RtnlLinkKind
{
    public override string Kind => "bridge";

    /// <summary>One attribute of the bridge or of a port.</summary>
    private sealed record Attr<TCfg, TObj>(
        ushort Type, NlaPolicy Policy, Action<AttrTable, int, TCfg>? Decode, Action<NlWriter, int, TObj>? Fill);

    // ---- IFLA_BR_* --------------------------------------------------------------------------

    private static Attr<BridgeConfig, NetBridge> BrU32(int t, Action<BridgeConfig, uint>? set, Func<NetBridge, uint>? get) =>
        new((ushort)t, new NlaPolicy(NlaType.U32), set == null ? null : (tb, ty, c) => set(c, tb.U32(ty)),
            get == null ? null : (w, ty, br) => w.PutU32(ty, get(br)));

    private static Attr<BridgeConfig, NetBridge> BrU16(int t, Action<BridgeConfig, ushort>? set, Func<NetBridge, ushort>? get) =>
        new((ushort)t, new NlaPolicy(NlaType.U16), set == null ? null : (tb, ty, c) => set(c, tb.U16(ty)),
            get == null ? null : (w, ty, br) => w.PutU16(ty, get(br)));

    private static Attr<BridgeConfig, NetBridge> BrU8(int t, Action<BridgeConfig, byte>? set, Func<NetBridge, byte>? get) =>
        new((ushort)t, new NlaPolicy(NlaType.U8), set == null ? null : (tb, ty, c) => set(c, tb.U8(ty)),
            get == null ? null : (w, ty, br) => w.PutU8(ty, get(br)));

    private static Attr<BridgeConfig, NetBridge> BrBool(int t, Action<BridgeConfig, byte> set, Func<NetBridge, bool> get) =>
        BrU8(t, set, br => get(br) ? (byte)1 : (byte)0);

    /// <summary>A time the kernel keeps in jiffies and shows in clock_t, as a u64.</summary>
    private static Attr<BridgeConfig, NetBridge> BrClock64(int t, Action<BridgeConfig, ulong>? set, Func<NetBridge, long> getJiffies) =>
        new((ushort)t, new NlaPolicy(NlaType.U64), set == null ? null : (tb, ty, c) => set(c, tb.U64(ty)),
            (w, ty, br) => w.PutU64(ty, (ulong)Jiffies.ToClockT(getJiffies(br))));

    /// <summary>A running timer's remaining time (fill only; not in br_policy).</summary>
    private static Attr<BridgeConfig, NetBridge> BrTimer(int t, Func<NetBridge, KTimer> timer) =>
        new((ushort)t, NlaPolicy.None, null, (w, ty, br) => w.PutU64(ty, (ulong)br.TimerValue(timer(br))));

    private static Attr<BridgeConfig, NetBridge> BrId(int t, Func<NetBridge, BridgeId> get) =>
        new((ushort)t, NlaPolicy.None, null, (w, ty, br) =>
        {
            Span<byte> id = stackalloc byte[8];
            get(br).Write(id);
            w.PutBytes(ty, id);
        });

    private static uint Jc(long jiffies) => (uint)Jiffies.ToClockT(jiffies);

    /// <summary>br_policy and br_fill_info, in fill order.</summary>
    private static readonly Attr<BridgeConfig, NetBridge>[] BrAttrs =
    [
        BrTimer(IFLA_BR_HELLO_TIMER, br => br.HelloTimer),
        BrTimer(IFLA_BR_TCN_TIMER, br => br.TcnTimer),
        BrTimer(IFLA_BR_TOPOLOGY_CHANGE_TIMER, br => br.TopologyChangeTimer),
        BrTimer(IFLA_BR_GC_TIMER, br => br.GcTimer),
        BrU32(IFLA_BR_FORWARD_DELAY, (c, v) => c.ForwardDelay = v, br => Jc(br.ForwardDelay)),
        BrU32(IFLA_BR_HELLO_TIME, (c, v) => c.HelloTime = v, br => Jc(br.HelloTime)),
        BrU32(IFLA_BR_MAX_AGE, (c, v) => c.MaxAge = v, br => Jc(br.MaxAge)),
        BrU32(IFLA_BR_AGEING_TIME, (c, v) => c.AgeingTime = v, br => Jc(br.AgeingTime)),
        BrU32(IFLA_BR_STP_STATE, (c, v) => c.StpState = v, br => (uint)br.StpEnabled),
        BrU16(IFLA_BR_PRIORITY, (c, v) => c.Priority = v, br => br.BridgeId.Priority),
        BrU8(IFLA_BR_VLAN_FILTERING, (c, v) => c.VlanFiltering = v, br => br.VlanEnabled ? (byte)1 : (byte)0),
        BrU16(IFLA_BR_GROUP_FWD_MASK, (c, v) => c.GroupFwdMask = v, br => br.GroupFwdMask),
        BrId(IFLA_BR_BRIDGE_ID, br => br.BridgeId),
        BrId(IFLA_BR_ROOT_ID, br => br.DesignatedRoot),
        BrU16(IFLA_BR_ROOT_PORT, null, br => br.RootPort) with { Policy = NlaPolicy.None },
        BrU32(IFLA_BR_ROOT_PATH_COST, null, br => br.RootPathCost) with { Policy = NlaPolicy.None },
        BrU8(IFLA_BR_TOPOLOGY_CHANGE, null, br => br.TopologyChange) with { Policy = NlaPolicy.None },
        BrU8(IFLA_BR_TOPOLOGY_CHANGE_DETECTED, null, br => br.TopologyChangeDetected) with { Policy = NlaPolicy.None },
        new((ushort)IFLA_BR_GROUP_ADDR, new NlaPolicy(NlaType.Binary, 6), (tb, t, c) => c.GroupAddr = tb.Bytes(t),
            (w, t, br) => w.PutBytes(t, br.GroupAddr)),
        new((ushort)IFLA_BR_MULTI_BOOLOPT, NlaPolicy.None,
            (tb, t, c) => c.MultiBoolopt = (BinaryPrimitives.ReadUInt32LittleEndian(tb.Payload(t)),
                BinaryPrimitives.ReadUInt32LittleEndian(tb.Payload(t)[4..])),
            (w, t, br) =>
            {
                var (v, m) = br.BoolOptMulti;
                Span<byte> bm = stackalloc byte[8];
                BinaryPrimitives.WriteUInt32LittleEndian(bm, v);
                BinaryPrimitives.WriteUInt32LittleEndian(bm[4..], m);
                w.PutBytes(t, bm);
            }),
        new((ushort)IFLA_BR_FDB_N_LEARNED, new NlaPolicy(NlaType.Reject), null, (w, t, br) => w.PutU32(t, br.FdbNLearned)),
        BrU32(IFLA_BR_FDB_MAX_LEARNED, (c, v) => c.FdbMaxLearned = v, br => br.FdbMaxLearned),
        // compiled out with CONFIG_BRIDGE_VLAN_FILTERING unset: parsed, never filled
        BrU16(IFLA_BR_VLAN_PROTOCOL, (c, v) => c.VlanProtocol = v, null),
        BrU16(IFLA_BR_VLAN_DEFAULT_PVID, (c, v) => c.VlanDefaultPvid = v, null),
        BrU8(IFLA_BR_VLAN_STATS_ENABLED, (c, v) => c.VlanStatsEnabled = v, null),
        BrU8(IFLA_BR_VLAN_STATS_PER_PORT, (c, v) => c.VlanStatsPerPort = v, null),
        BrU8(IFLA_BR_MCAST_ROUTER, (c, v) => c.McastRouter = v, br => br.MulticastRouter),
        BrBool(IFLA_BR_MCAST_SNOOPING, (c, v) => c.McastSnooping = v, br => br.MulticastEnabled),
        BrBool(IFLA_BR_MCAST_QUERY_USE_IFADDR, (c, v) => c.McastQueryUseIfaddr = v, br => br.MulticastQueryUseIfaddr),
        BrU8(IFLA_BR_MCAST_QUERIER, (c, v) => c.McastQuerier = v, br => br.MulticastQuerier),
        BrBool(IFLA_BR_MCAST_STATS_ENABLED, (c, v) => c.McastStatsEnabled = v, br => br.MulticastStatsEnabled),
        BrU32(IFLA_BR_MCAST_HASH_ELASTICITY, (c, v) => c.McastHashElasticity = v, _ => NetBridge.HashElasticity),
        BrU32(IFLA_BR_MCAST_HASH_MAX, (c, v) => c.McastHashMax = v, br => br.HashMax),
        BrU32(IFLA_BR_MCAST_LAST_MEMBER_CNT, (c, v) => c.McastLastMemberCount = v, br => br.MulticastLastMemberCount),
        BrU32(IFLA_BR_MCAST_STARTUP_QUERY_CNT, (c, v) => c.McastStartupQueryCount = v, br => br.MulticastStartupQueryCount),
        BrU8(IFLA_BR_MCAST_IGMP_VERSION, (c, v) => c.McastIgmpVersion = v, br => br.MulticastIgmpVersion),
        new((ushort)IFLA_BR_MCAST_QUERIER_STATE, NlaPolicy.None, null, FillQuerierState),
        BrU8(IFLA_BR_MCAST_MLD_VERSION, (c, v) => c.McastMldVersion = v, br => br.MulticastMldVersion),
        BrClock64(IFLA_BR_MCAST_LAST_MEMBER_INTVL, (c, v) => c.McastLastMemberInterval = v, br => br.MulticastLastMemberInterval),
        BrClock64(IFLA_BR_MCAST_MEMBERSHIP_INTVL, (c, v) => c.McastMembershipInterval = v, br => br.MulticastMembershipInterval),
        BrClock64(IFLA_BR_MCAST_QUERIER_INTVL, (c, v) => c.McastQuerierInterval = v, br => br.MulticastQuerierInterval),
        BrClock64(IFLA_BR_MCAST_QUERY_INTVL, (c, v) => c.McastQueryInterval = v, br => br.MulticastQueryInterval),
        BrClock64(IFLA_BR_MCAST_QUERY_RESPONSE_INTVL, (c, v) => c.McastQueryResponseInterval = v, br => br.MulticastQueryResponseInterval),
        BrClock64(IFLA_BR_MCAST_STARTUP_QUERY_INTVL, (c, v) => c.McastStartupQueryInterval = v, br => br.MulticastStartupQueryInterval),
        BrBool(IFLA_BR_NF_CALL_IPTABLES, (c, v) => c.NfCallIptables = v, br => br.NfCallIptables),
        BrBool(IFLA_BR_NF_CALL_IP6TABLES, (c, v) => c.NfCallIp6tables = v, br => br.NfCallIp6tables),
        BrBool(IFLA_BR_NF_CALL_ARPTABLES, (c, v) => c.NfCallArptables = v, br => br.NfCallArptables),
        new((ushort)IFLA_BR_FDB_FLUSH, NlaPolicy.None, (tb, t, c) => c.FdbFlush = true, null),
    ];

    /// <summary>br_multicast_dump_querier_state: only with snooping on, and empty (so left out)
    /// unless this bridge is a querier.</summary>
    private static void FillQuerierState(NlWriter w, int type, NetBridge br)
    {
        if (!br.MulticastEnabled) return;
        int start = w.Length;
        int nest = w.BeginNest(type, nestedFlag: true);
        if (br.MulticastQuerier != 0)
        {
            w.PutBytes(BRIDGE_QUERIER_IP_ADDRESS, stackalloc byte[4]);
            w.PutBytes(BRIDGE_QUERIER_IPV6_ADDRESS, stackalloc byte[16]);
        }
        if (w.Length - start <= Nl.AttrHdrLen) w.Truncate(start);
        else w.EndNest(nest);
    }

    private static readonly Policy BrPolicy = MakePolicy(IFLA_BR_MAX_6_18, BrAttrs, IFLA_BR_FDB_N_LEARNED);

    private static Policy MakePolicy<TC, TO>(int max, Attr<TC, TO>[] attrs, int strictStart) =>
        new(max, attrs.Where(a => a.Policy.Type != NlaType.Unspec || a.Policy.Len != 0)
            .Select(a => (a.Type, a.Policy)).ToArray()) { StrictStartType = (ushort)strictStart };

    public override Policy DataPolicy => BrPolicy;

    /// <summary>br_validate, then IFLA_INFO_DATA into a <see cref="BridgeConfig"/>.</summary>
    public override int Decode(RtnlRequest req, AttrTable tb, AttrTable? data, bool creating, out object? config)
    {
        config = null;
        int err = data != null ? CheckExactLen(req, data, IFLA_BR_MULTI_BOOLOPT, 8) : 0;
        if (err < 0) return err;
        err = ValidateEtherAddress(req, tb);
        if (err < 0) return err;
        if (data == null) return 0;
        var c = new BridgeConfig();
        foreach (var a in BrAttrs)
            if (a.Decode != null && data.Has(a.Type)) a.Decode(data, a.Type, c);
        config = c;
        return 0;
    }

    public override bool HasFillInfo => true;

    public override void FillInfo(NlWriter w, NetDevice dev)
    {
        var br = BridgeLinkOps.Priv(dev);
        foreach (var a in BrAttrs) a.Fill?.Invoke(w, a.Type, br);
    }

    // ---- IFLA_BRPORT_* (IFLA_INFO_SLAVE_DATA) -------------------------------------------------

    private static Attr<BridgePortConfig, BridgePort> PortFlag(int t, BrPortFlags flag) =>
        new((ushort)t, new NlaPolicy(NlaType.U8), (tb, ty, c) => c.Flags.Add((flag, tb.U8(ty) != 0)),
            (w, ty, p) => w.PutU8(ty, (p.Flags & flag) != 0 ? (byte)1 : (byte)0));

    private static Attr<BridgePortConfig, BridgePort> PortU8(int t, Action<BridgePortConfig, byte>? set, Func<BridgePort, byte> get) =>
        new((ushort)t, set == null ? NlaPolicy.None : new NlaPolicy(NlaType.U8),
            set == null ? null : (tb, ty, c) => set(c, tb.U8(ty)), (w, ty, p) => w.PutU8(ty, get(p)));

    private static Attr<BridgePortConfig, BridgePort> PortU16(int t, Action<BridgePortConfig, ushort>? set, Func<BridgePort, ushort> get) =>
        new((ushort)t, set == null ? NlaPolicy.None : new NlaPolicy(NlaType.U16),
            set == null ? null : (tb, ty, c) => set(c, tb.U16(ty)), (w, ty, p) => w.PutU16(ty, get(p)));

    private static Attr<BridgePortConfig, BridgePort> PortU32(int t, Action<BridgePortConfig, uint>? set, Func<BridgePort, uint>? get) =>
        new((ushort)t, set == null ? NlaPolicy.None : new NlaPolicy(NlaType.U32),
            set == null ? null : (tb, ty, c) => set(c, tb.U32(ty)), get == null ? null : (w, ty, p) => w.PutU32(ty, get(p)));

    private static Attr<BridgePortConfig, BridgePort> PortId(int t, Func<BridgePort, BridgeId> get) =>
        new((ushort)t, NlaPolicy.None, null, (w, ty, p) =>
        {
            Span<byte> id = stackalloc byte[8];
            get(p).Write(id);
            w.PutBytes(ty, id);
        });

    private static Attr<BridgePortConfig, BridgePort> PortTimer(int t, Func<BridgePort, KTimer> timer) =>
        new((ushort)t, NlaPolicy.None, null, (w, ty, p) => w.PutU64(ty, (ulong)p.Br.TimerValue(timer(p))));

    /// <summary>br_port_policy and br_port_fill_attrs, in fill order.</summary>
    private static readonly Attr<BridgePortConfig, BridgePort>[] PortAttrs =
    [
        PortU8(IFLA_BRPORT_STATE, (c, v) => c.State = v, p => p.State),
        PortU16(IFLA_BRPORT_PRIORITY, (c, v) => c.Priority = v, p => p.Priority),
        PortU32(IFLA_BRPORT_COST, (c, v) => c.Cost = v, p => p.PathCost),
        PortFlag(IFLA_BRPORT_MODE, BrPortFlags.HairpinMode),
        PortFlag(IFLA_BRPORT_GUARD, BrPortFlags.BpduGuard),
        PortFlag(IFLA_BRPORT_PROTECT, BrPortFlags.RootBlock),
        PortFlag(IFLA_BRPORT_FAST_LEAVE, BrPortFlags.MulticastFastLeave),
        PortFlag(IFLA_BRPORT_MCAST_TO_UCAST, BrPortFlags.MulticastToUnicast),
        PortFlag(IFLA_BRPORT_LEARNING, BrPortFlags.Learning),
        PortFlag(IFLA_BRPORT_UNICAST_FLOOD, BrPortFlags.Flood),
        PortFlag(IFLA_BRPORT_MCAST_FLOOD, BrPortFlags.McastFlood),
        PortFlag(IFLA_BRPORT_BCAST_FLOOD, BrPortFlags.BcastFlood),
        PortFlag(IFLA_BRPORT_PROXYARP, BrPortFlags.ProxyArp),
        PortFlag(IFLA_BRPORT_PROXYARP_WIFI, BrPortFlags.ProxyArpWifi),
        PortId(IFLA_BRPORT_ROOT_ID, p => p.DesignatedRoot),
        PortId(IFLA_BRPORT_BRIDGE_ID, p => p.DesignatedBridge),
        PortU16(IFLA_BRPORT_DESIGNATED_PORT, null, p => p.DesignatedPort),
        PortU16(IFLA_BRPORT_DESIGNATED_COST, null, p => (ushort)p.DesignatedCost),
        PortU16(IFLA_BRPORT_ID, null, p => p.PortId),
        PortU16(IFLA_BRPORT_NO, null, p => p.PortNo),
        PortU8(IFLA_BRPORT_TOPOLOGY_CHANGE_ACK, null, p => p.TopologyChangeAck),
        PortU8(IFLA_BRPORT_CONFIG_PENDING, null, p => p.ConfigPending),
        PortFlag(IFLA_BRPORT_VLAN_TUNNEL, BrPortFlags.VlanTunnel),
        PortU16(IFLA_BRPORT_GROUP_FWD_MASK, (c, v) => c.GroupFwdMask = v, p => p.GroupFwdMask),
        PortFlag(IFLA_BRPORT_NEIGH_SUPPRESS, BrPortFlags.NeighSuppress),
        PortU8(IFLA_BRPORT_MRP_RING_OPEN, null, p => (p.Flags & BrPortFlags.MrpLostCont) != 0 ? (byte)1 : (byte)0),
        PortU8(IFLA_BRPORT_MRP_IN_OPEN, null, p => (p.Flags & BrPortFlags.MrpLostInCont) != 0 ? (byte)1 : (byte)0),
        PortFlag(IFLA_BRPORT_ISOLATED, BrPortFlags.Isolated),
        PortFlag(IFLA_BRPORT_LOCKED, BrPortFlags.PortLocked),
        PortFlag(IFLA_BRPORT_MAB, BrPortFlags.PortMab),
        PortFlag(IFLA_BRPORT_NEIGH_VLAN_SUPPRESS, BrPortFlags.NeighVlanSuppress),
        PortTimer(IFLA_BRPORT_MESSAGE_AGE_TIMER, p => p.MessageAgeTimer),
        PortTimer(IFLA_BRPORT_FORWARD_DELAY_TIMER, p => p.ForwardDelayTimer),
        PortTimer(IFLA_BRPORT_HOLD_TIMER, p => p.HoldTimer),
        PortU8(IFLA_BRPORT_MULTICAST_ROUTER, (c, v) => c.MulticastRouter = v, p => p.MulticastRouter),
        PortU32(IFLA_BRPORT_MCAST_EHT_HOSTS_LIMIT, (c, v) => c.McastEhtHostsLimit = v, p => p.McastEhtHostsLimit),
        PortU32(IFLA_BRPORT_MCAST_EHT_HOSTS_CNT, null, p => p.McastEhtHostsCnt),
        new((ushort)IFLA_BRPORT_MCAST_N_GROUPS, new NlaPolicy(NlaType.Reject), null, (w, t, p) => w.PutU32(t, p.McastNGroups)),
        PortU32(IFLA_BRPORT_MCAST_MAX_GROUPS, (c, v) => c.McastMaxGroups = v, p => p.McastMaxGroups),
        new((ushort)IFLA_BRPORT_BACKUP_PORT, new NlaPolicy(NlaType.U32), (tb, t, c) => c.BackupPort = tb.U32(t),
            (w, t, p) => { if (p.BackupPort != null) w.PutU32(t, (uint)p.BackupPort.Dev.Ifindex); }),
        new((ushort)IFLA_BRPORT_BACKUP_NHID, new NlaPolicy(NlaType.U32), (tb, t, c) => c.BackupNhid = tb.U32(t),
            (w, t, p) => { if (p.BackupNhid != 0) w.PutU32(t, p.BackupNhid); }),
        new((ushort)IFLA_BRPORT_FLUSH, NlaPolicy.None, (tb, t, c) => c.Flush = true, null),
    ];

    private static readonly Policy PortPolicy =
        MakePolicy(IFLA_BRPORT_MAX_6_18, PortAttrs, IFLA_BRPORT_MCAST_EHT_HOSTS_LIMIT + 1);

    public override Policy SlavePolicy => PortPolicy;

    public override int DecodeSlave(RtnlRequest req, AttrTable? data, out object? config)
    {
        config = null;
        if (data == null) return 0; // br_port_slave_changelink: nothing to do
        int err = CheckMax(req, data, IFLA_BRPORT_NEIGH_VLAN_SUPPRESS, 1);
        if (err < 0) return err;
        var c = new BridgePortConfig();
        foreach (var a in PortAttrs)
            if (a.Decode != null && data.Has(a.Type)) a.Decode(data, a.Type, c);
        config = c;
        return 0;
    }

    public override bool HasSlaveInfo => true;

    public override void FillSlaveInfo(NlWriter w, NetDevice master, NetDevice port)
    {
        var p = NetBridge.PortOf(port);
        if (p != null) FillPortAttrs(w, p);
    }

    /// <summary>br_port_fill_attrs (also the IFLA_PROTINFO of AF_BRIDGE messages).</summary>
    public static void FillPortAttrs(NlWriter w, BridgePort p)
    {
        foreach (var a in PortAttrs) a.Fill?.Invoke(w, a.Type, p);
    }
}
