namespace VirtKernel.Model.Links;

/// <summary>struct bridge_id: a 2-byte priority and a MAC address, compared as 8 bytes in network
/// order (memcmp), which is what the 64-bit value here orders by.</summary>
public readonly record struct BridgeId(ulong Value) : IComparable<BridgeId>
{
    public ushort Priority => (ushort)(Value >> 48);

    public byte[] Addr
    {
        get
        {
            var a = new byte[6];
            for (int i = 0; i < 6; i++) a[i] = (byte)(Value >> (8 * (5 - i)));
            return a;
        }
    }

    public static BridgeId Make(ushort prio, ReadOnlySpan<byte> addr)
    {
        ulong v = (ulong)prio << 48;
        for (int i = 0; i < 6; i++) v |= (ulong)addr[i] << (8 * (5 - i));
        return new BridgeId(v);
    }

    public BridgeId WithPriority(ushort prio) => new((Value & 0xffff_ffff_ffffUL) | ((ulong)prio << 48));
    public BridgeId WithAddr(ReadOnlySpan<byte> addr) => Make(Priority, addr);
    public bool SameAddr(BridgeId o) => (Value & 0xffff_ffff_ffffUL) == (o.Value & 0xffff_ffff_ffffUL);

    /// <summary>The 8 bytes of struct ifla_bridge_id.</summary>
    public void Write(Span<byte> dst)
    {
        for (int i = 0; i < 8; i++) dst[i] = (byte)(Value >> (8 * (7 - i)));
    }

    public int CompareTo(BridgeId other) => Value.CompareTo(other.Value);
}

/// <summary>BR_STATE_* (uapi linux/if_bridge.h).</summary>
public static class BrState
{
    public const byte Disabled = 0, Listening = 1, Learning = 2, Forwarding = 3, Blocking = 4;
}

/// <summary>br->stp_enabled.</summary>
public enum BrStp : uint { None = 0, Kernel = 1, User = 2 }

/// <summary>net_bridge_port flags (BR_* in include/linux/if_bridge.h).</summary>
[Flags]
public enum BrPortFlags : uint
{
    None = 0,
    HairpinMode = 1 << 0,
    BpduGuard = 1 << 1,
    RootBlock = 1 << 2,
    MulticastFastLeave = 1 << 3,
    AdminCost = 1 << 4,
    Learning = 1 << 5,
    Flood = 1 << 6,
    Promisc = 1 << 7,
    ProxyArp = 1 << 8,
    LearningSync = 1 << 9,
    ProxyArpWifi = 1 << 10,
    McastFlood = 1 << 11,
    MulticastToUnicast = 1 << 12,
    VlanTunnel = 1 << 13,
    BcastFlood = 1 << 14,
    NeighSuppress = 1 << 15,
    Isolated = 1 << 16,
    MrpAware = 1 << 17,
    MrpLostCont = 1 << 18,
    MrpLostInCont = 1 << 19,
    TxFwdOffload = 1 << 20,
    PortLocked = 1 << 21,
    PortMab = 1 << 22,
    NeighVlanSuppress = 1 << 23,
    AutoMask = Flood | Learning,
}

/// <summary>The decoded IFLA_INFO_DATA of a bridge (IFLA_BR_*): every option a request may set,
/// null when absent. Times are in clock_t (1/100 s) as on the wire; the model converts them to
/// jiffies the way br_changelink does.</summary>
public sealed class BridgeConfig
{
    public uint? ForwardDelay, HelloTime, MaxAge, AgeingTime, StpState;
    public ushort? Priority;
    public byte? VlanFiltering;
    public ushort? VlanProtocol, VlanDefaultPvid;
    public byte? VlanStatsEnabled, VlanStatsPerPort;
    public ushort? GroupFwdMask;
    public byte[]? GroupAddr;
    public bool FdbFlush;
    public byte? McastRouter, McastSnooping, McastQueryUseIfaddr, McastQuerier;
    public uint? McastHashElasticity, McastHashMax, McastLastMemberCount, McastStartupQueryCount;
    public ulong? McastLastMemberInterval, McastMembershipInterval, McastQuerierInterval, McastQueryInterval,
        McastQueryResponseInterval, McastStartupQueryInterval;
    public byte? McastStatsEnabled, McastIgmpVersion, McastMldVersion;
    public byte? NfCallIptables, NfCallIp6tables, NfCallArptables;
    /// <summary>struct br_boolopt_multi {optval, optmask}.</summary>
    public (uint Value, uint Mask)? MultiBoolopt;
    public uint? FdbMaxLearned;
}

/// <summary>The decoded IFLA_INFO_SLAVE_DATA of a bridge port (IFLA_BRPORT_*).</summary>
public sealed class BridgePortConfig
{
    /// <summary>Flag attributes (mode, guard, learning, ...) with the BR_* flag each one sets.</summary>
    public List<(BrPortFlags Flag, bool On)> Flags { get; } = new();
    public uint? Cost;
    public ushort? Priority;
    public byte? State;
    public bool Flush;
    public byte? MulticastRouter;
    public uint? McastEhtHostsLimit, McastMaxGroups;
    public ushort? GroupFwdMask;
    public uint? BackupPort;
    public uint? BackupNhid;
}
