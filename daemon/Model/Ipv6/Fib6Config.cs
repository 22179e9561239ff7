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
    public uint Flags;                 // RTF_*
    public byte Protocol = (byte)RTPROT_BOOT;
    public byte Type = (byte)RTN_UNICAST;
    public UInt128 Dst, Src, Gateway, PrefSrc;
    public bool HasGateway, HasPrefSrc;
    public long ExpiresMs;             // 0 = never (absolute clock ms)
    public byte Pref;                  // RTA_PREF
    public bool IgnoreDevDown;         // fc_ignore_dev_down
    public ushort NlFlags;
    public uint[]? Metrics;
    public List<Nexthop>? Multipath;
    public uint NhId;
    public uint RtmFlags;              // rtm_flags (RTNH_F_ONLINK)
}
