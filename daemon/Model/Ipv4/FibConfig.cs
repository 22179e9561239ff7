using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv4;

/// <summary>struct fib_config: a decoded IPv4 route request (RTM_NEWROUTE/RTM_DELROUTE), also built
/// internally by fib_magic for the routes addresses make.</summary>
public sealed class FibConfig
{
    public byte DstLen;
    public byte Tos;
    public uint Table;
    public byte Protocol;
    public byte Scope = (byte)RT_SCOPE_UNIVERSE;
    public byte Type;
    public uint Flags;                // rtm_flags
    public uint Priority;
    public uint PrefSrc;
    public uint Dst;
    public int Oif;
    public uint Gateway;              // RTA_GATEWAY (IPv4)
    public UInt128 Gateway6;          // RTA_VIA with AF_INET6
    public byte GwFamily;
    public uint Flow;
    public uint NhId;
    /// <summary>RTA_METRICS converted (ip_metrics_convert): index RTAX_*; null when absent.</summary>
    public uint[]? Metrics;
    /// <summary>RTA_MULTIPATH: one entry per rtnexthop (Oif, Gateway, Flags = rtnh_flags, Weight,
    /// Realm), not yet resolved; null when absent.</summary>
    public List<Nexthop>? Multipath;
    public ushort NlFlags;            // NLM_F_* of the request
    public bool HasType => Type != 0;
}

/// <summary>struct flowi4: what a lookup is about.</summary>
public struct FlowI4
{
    public uint Daddr, Saddr;
    public int Oif, Iif;
    public uint Mark;
    public byte Tos;
    public byte Scope;
    public byte Proto;
    public ushort Sport, Dport;
    /// <summary>flowi4_uid; null = INVALID_UID.</summary>
    public uint? Uid;
    /// <summary>FLOWI_FLAG_SKIP_NH_OIF.</summary>
    public bool SkipNhOif;
}

/// <summary>struct fib_result: the route a lookup found and the path it chose.</summary>
public sealed class FibResult
{
    public Route? Fi;             // res->fi (null for results without a fib_info)
    public FibTable? Table;
    public byte Type;
    public byte Scope;
    public uint Prefix;
    public byte PrefixLen;
    public int NhSel;
    public Nexthop? Nhc;          // res->nhc
    public byte Tos;
    /// <summary>The rule that decided (fib_rules_lookup's arg->rule).</summary>
    public FibRule? Rule;

    public NetDevice? Dev => Nhc?.Dev;

    /// <summary>Back to a fresh result (for the lookups that reuse one).</summary>
    public void Clear()
    {
        Fi = null; Table = null; Type = 0; Scope = 0; Prefix = 0; PrefixLen = 0; NhSel = 0; Nhc = null; Tos = 0; Rule = null;
    }
}

/// <summary>fib lookup flags.</summary>
[Flags]
public enum FibLookupFlags
{
    None = 0,
    NoRef = 1,                  // FIB_LOOKUP_NOREF
    IgnoreLinkState = 2,        // FIB_LOOKUP_IGNORE_LINKSTATE
}
