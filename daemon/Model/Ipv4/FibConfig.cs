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
    public uint[]? Metrics;
    public List<Nexthop>? Multipath;  // RTA_MULTIPATH, already resolved to devices
    public ushort NlFlags;            // NLM_F_* of the request
    public bool HasType => Type != 0;
}
