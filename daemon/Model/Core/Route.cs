using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model;

/// <summary>One path of a route: fib_nh (IPv4) / fib6_nh (IPv6).</summary>
public sealed class Nexthop
{
    public NetDevice? Dev;
    /// <summary>fib_nh_oif: the device index the request named (0 = none); <see cref="Dev"/> is
    /// what fib_check_nh resolved.</summary>
    public int Oif;
    /// <summary>Gateway address (family <see cref="GwFamily"/>; 0 = none).</summary>
    public UInt128 Gateway;
    public byte GwFamily;            // 0 = no gateway, AF_INET, AF_INET6
    public uint Weight = 1;          // rtnh_hops + 1
    public uint Flags;               // RTNH_F_*
    public byte Scope;               // fib_nh_scope
    public uint Realm;               // RTA_FLOW

    public bool HasGateway => GwFamily != 0;
    public Nexthop Clone() => (Nexthop)MemberwiseClone();
}

/// <summary>A route as both FIBs keep it: the fields of fib_alias + fib_info (IPv4) or fib6_info
/// (IPv6). Addresses are stored as in <see cref="Inet"/> (IPv4 in the low 32 bits).</summary>
public sealed class Route
{
    public byte Family;                  // AF_INET / AF_INET6
    public uint Table;
    public UInt128 Dst;
    public byte DstLen;
    public UInt128 Src;                  // IPv6 source prefix (subtrees)
    public byte SrcLen;
    public byte Tos;                     // dscp/tos
    public byte Protocol = (byte)RTPROT_BOOT;
    public byte Scope = (byte)RT_SCOPE_UNIVERSE;
    public byte Type = (byte)RTN_UNICAST;
    public uint Flags;                   // RTM_F_* / RTNH_F_* kept on the route (fib_flags)
    public uint Priority;                // metric
    public UInt128 PrefSrc;
    public bool HasPrefSrc;
    public List<Nexthop> Nexthops;
    /// <summary>RTA_METRICS: index RTAX_* -> value; null when none are set.</summary>
    public uint[]? Metrics;
    public byte Pref = (byte)ICMPV6_ROUTER_PREF_MEDIUM_VALUE; // IPv6 RTA_PREF
    public long ExpiresMs;               // IPv6 RTF_EXPIRES: absolute clock ms, 0 = never
    public uint NhId;                    // RTA_NH_ID: routes through a nexthop object
    /// <summary>fib_info->nh / fib6_info->nh: the nexthop object the route uses.</summary>
    public NexthopObj? Nh;
    /// <summary>IPv6 ECMP (fib6_siblings): every route of the multipath group, this one included,
    /// in sibling-list order; null for a route without siblings.</summary>
    public List<Route>? Siblings;
    /// <summary>Insertion sequence, for stable ordering among equals.</summary>
    public long Seq;
    public bool Dead;                    // unlinked from its table
    /// <summary>The next route of the same IPv4 prefix in its table (the fib_alias list of a trie leaf).</summary>
    internal Route? NextAlias;

    public Route() => Nexthops = new(1);

    /// <summary>A route whose path list is given (the IPv4 FIB builds it in a scratch list and
    /// swaps in the shared one).</summary>
    public Route(List<Nexthop> nexthops) => Nexthops = nexthops;

    public Nexthop? FirstNh => Nh != null ? Nh.FirstPath : Nexthops.Count > 0 ? Nexthops[0] : null;
    public bool IsMultipath => Nexthops.Count > 1;

    /// <summary>fib_info_num_path: the paths of the route (through its nexthop object if it has one).</summary>
    public int PathCount => Nh != null ? Nh.PathCount : Nexthops.Count;

    /// <summary>fib_info_nhc(fi, i) with the weight the path has in this route.</summary>
    public (Nexthop Nh, uint Weight) Path(int i) => Nh != null ? Nh.Path(i) : (Nexthops[i], Nexthops[i].Weight);

    /// <summary>fib_info_nh_uses_dev / fib6_info_uses_dev.</summary>
    public bool UsesDev(NetDevice dev)
    {
        int n = PathCount;
        for (int i = 0; i < n; i++)
            if (Path(i).Nh.Dev == dev) return true;
        if (Siblings != null)
            foreach (var s in Siblings)
                if (s != this && s.FirstNh?.Dev == dev) return true;
        return false;
    }

    private const int ICMPV6_ROUTER_PREF_MEDIUM_VALUE = 0;

    public override string ToString() =>
        $"{(Family == AF_INET ? Inet.FormatV4((uint)Dst) : Inet.FormatV6(Dst))}/{DstLen} table {Table} type {Type} dev {FirstNh?.Dev?.Name}";
}
