using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv6;

/// <summary>struct fib6_config: a decoded IPv6 route request, also built by addrconf for the routes
/// addresses and devices make.</summary>
public sealed class Fib6Config
{
    public uint Table;
    public uint Metric;
    public byte DstLen, SrcLen;
    public int Ifindex;
    public uint Flags;                 // RTF_* (and RTNH_F_ONLINK)
    public byte Protocol = (byte)RTPROT_BOOT;
    public byte Type = (byte)RTN_UNICAST;
    public UInt128 Dst, Src, Gateway, PrefSrc;
    public bool HasGateway, HasPrefSrc;
    public long ExpiresMs;             // 0 = never (absolute clock ms)
    public byte Pref;                  // RTA_PREF
    public bool IgnoreDevDown;         // fc_ignore_dev_down
    public ushort NlFlags;
    public uint[]? Metrics;
    /// <summary>RTA_MULTIPATH: one entry per rtnexthop (Oif, Gateway with GwFamily AF_INET6 when
    /// present, Flags = rtnh_flags, Weight); null when absent.</summary>
    public List<Nexthop>? Multipath;
    public uint NhId;
    public uint RtmFlags;              // rtm_flags (RTNH_F_ONLINK)
    /// <summary>fc_delete_all_nh: a delete without gateway takes every ECMP sibling.</summary>
    public bool DeleteAllNh;
    /// <summary>The request came from user space (fc_nlinfo.nlh set).</summary>
    public bool FromUser;
}

/// <summary>struct flowi6: what an IPv6 lookup is about.</summary>
public struct FlowI6
{
    public UInt128 Daddr, Saddr;
    public int Oif, Iif;
    public uint Mark;
    public byte Proto;
    public ushort Sport, Dport;
    public uint Uid;
    public uint FlowLabel;
}
