using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using VirtKernel.Model;
using VirtKernel.Model.Ipv6;
using VirtKernel.SysfsFs.Fuse;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.SysfsFs.Views;

/// <summary>/proc/net of a namespace: the seq files rendered from the model in the kernel's formats
/// (dev, dev_mcast, dev_snmp6/DEV, if_inet6, igmp, igmp6, route, ipv6_route, fib_trie,
/// fib_triestat, arp, snmp, sockstat, psched, softnet_stat...). Tables of sockets VirtKernel does not
/// have (tcp, udp, raw, unix, packet...) show their headers; the lists of netfilter matches and
/// targets, protocols and packet types are the reference kernel's (procnet-static.txt).</summary>
internal sealed class ProcNetDir : FsDir
{
    private readonly NsDir _ns;
    private readonly SortedDictionary<string, FsNode> _entries = new(StringComparer.Ordinal);

    public ProcNetDir(NsDir ns)
    {
        _ns = ns;
        var statics = Static.Value;
        foreach (var (name, (mode, text)) in statics)
        {
            if (name.Contains('/')) continue;
            _entries[name] = new NetFile(ns, mode, _ => text);
        }
        var net = ns.Net;
        Add("anycast6", _ => "");
        Add("arp", Arp);
        Add("dev", Dev);
        Add("dev_mcast", DevMcast);
        Add("fib_trie", FibTrie);
        Add("fib_triestat", FibTriestat);
        Add("if_inet6", IfInet6);
        Add("igmp", Igmp);
        Add("igmp6", Igmp6);
        Add("ipv6_route", Ipv6Route);
        Add("netlink", _ => "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n");
        Add("psched", _ => "000003e8 00000040 000f4240 3b9aca00\n");
        Add("route", Route4);
        Add("rt6_stats", Rt6Stats);
        Add("rt_acct", _ => new string('\0', 4096));
        Add("snmp", Snmp);
        Add("sockstat", _ => "sockets: used 0\nTCP: inuse 0 orphan 0 tw 0 alloc 0 mem 0\nUDP: inuse 0 mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n");
        Add("sockstat6", _ => "TCP6: inuse 0\nUDP6: inuse 0\nUDPLITE6: inuse 0\nRAW6: inuse 0\nFRAG6: inuse 0 memory 0\n");
        Add("softnet_stat", SoftnetStat);
        _entries["dev_snmp6"] = new DevSnmp6Dir(ns);
        _entries["netfilter"] = SubDir(statics, "netfilter/");
        var stat = SubDir(statics, "stat/");
        stat.Add("rt_cache", new NetFile(ns, 0x124, RtCacheStat));
        _entries["stat"] = stat;
        _entries["ipt_hashlimit"] = new ScopedDir(ns);
        _entries["ip6t_hashlimit"] = new ScopedDir(ns);
        _entries["xt_recent"] = new ScopedDir(ns);
        _ = net;
    }

    private void Add(string name, Func<Net, string> render) => _entries[name] = new NetFile(_ns, 0x124, render);

    private ScopedDir SubDir(IReadOnlyDictionary<string, (uint Mode, string Text)> statics, string prefix)
    {
        var d = new ScopedDir(_ns);
        foreach (var (name, (mode, text)) in statics.Where(kv => kv.Key.StartsWith(prefix)).OrderBy(kv => kv.Key, StringComparer.Ordinal))
            d.Add(name[prefix.Length..], new NetFile(_ns, mode, _ => text));
        return d;
    }

    public override bool Alive => _ns.Alive;
    public override FsNode? Lookup(string name) => _entries.GetValueOrDefault(name);
    public override IEnumerable<KeyValuePair<string, FsNode>> List() => _entries;

    /// <summary>A seq file: rendered once per open.</summary>
    private sealed class NetFile(NsDir ns, uint mode, Func<Net, string> render) : FsFile
    {
        public override uint Mode => mode;
        public override bool Alive => ns.Alive;

        public override int Read(FsCaller caller, out byte[] content)
        {
            content = Encoding.UTF8.GetBytes(render(ns.Net));
            return 0;
        }
    }

    // ---- the reference kernel's fixed files ------------------------------------------------------------

    private static readonly Lazy<Dictionary<string, (uint Mode, string Text)>> Static = new(() =>
    {
        var d = new Dictionary<string, (uint, string)>(StringComparer.Ordinal);
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("VirtKernel.SysfsFs.procnet-static.txt")!;
        using var r = new StreamReader(s);
        string? name = null;
        uint mode = 0;
        var sb = new StringBuilder();
        void Flush()
        {
            if (name != null) d[name] = (mode, sb.ToString());
            sb.Clear();
        }
        for (string? line; (line = r.ReadLine()) != null;)
        {
            if (line.StartsWith("@@@ "))
            {
                Flush();
                var p = line.Split(' ');
                name = p[1];
                mode = Convert.ToUInt32(p[2], 8);
                continue;
            }
            sb.Append(line).Append('\n');
        }
        Flush();
        return d;
    });

    // ---- devices ------------------------------------------------------------------------------------

    /// <summary>dev_seq_show: no traffic here, every counter 0.</summary>
    private static string Dev(Net net)
    {
        var sb = new StringBuilder();
        sb.Append("Inter-|   Receive                                                |  Transmit\n");
        sb.Append(" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n");
        foreach (var d in net.Devices)
            sb.Append($"{d.Name,6}:{0,8} {0,7} {0,4} {0,4} {0,4} {0,5} {0,10} {0,9} {0,8} {0,7} {0,4} {0,4} {0,4} {0,5} {0,7} {0,10}\n");
        return sb.ToString();
    }

    /// <summary>dev_mc_seq_show: the link-layer multicast lists.</summary>
    private static string DevMcast(Net net)
    {
        var sb = new StringBuilder();
        foreach (var d in net.Devices)
            foreach (var ha in d.Mc.Entries)
                sb.Append($"{d.Ifindex,-4} {d.Name,-15} {ha.Refcount,-5} {(ha.GlobalUse ? 1 : 0),-5} {Convert.ToHexString(ha.Addr).ToLowerInvariant()}\n");
        return sb.ToString();
    }

    /// <summary>/proc/net/dev_snmp6: one file per device with IPv6 state.</summary>
    private sealed class DevSnmp6Dir(NsDir ns) : FsDir
    {
        private readonly ConditionalWeakTable<Inet6Dev, DevSnmp6File> _files = new();
        public override bool Alive => ns.Alive;

        private DevSnmp6File FileFor(Inet6Dev idev) => _files.GetValue(idev, i => new DevSnmp6File(ns, i));

        public override FsNode? Lookup(string name) =>
            ns.Net.GetDevice(name) is { Ip6: { } idev } d && d.Name == name ? FileFor(idev) : null;

        public override IEnumerable<KeyValuePair<string, FsNode>> List() =>
            ns.Net.Devices.Where(d => d.Ip6 != null).Select(d => new KeyValuePair<string, FsNode>(d.Name, FileFor(d.Ip6!))).ToList();
    }

    private sealed class DevSnmp6File : FsFile
    {
        private readonly NsDir _ns;
        private readonly Inet6Dev _idev;
        private readonly string _name;

        public DevSnmp6File(NsDir ns, Inet6Dev idev)
        {
            _ns = ns;
            _idev = idev;
            _name = idev.Dev.Name;
        }

        public override uint Mode => 0x124;
        public override double AttrTimeout => 0;
        public override bool Alive => _ns.Alive && _idev.Dev.Ip6 == _idev && _idev.Dev.Name == _name;

        public override int Read(FsCaller caller, out byte[] content)
        {
            var sb = new StringBuilder();
            sb.Append($"{"ifIndex",-32}\t{_idev.Dev.Ifindex}\n");
            sb.Append(Static.Value["snmp6"].Text);
            content = Encoding.UTF8.GetBytes(sb.ToString());
            return 0;
        }
    }

    // ---- addresses and groups ---------------------------------------------------------------------

    private static string Hex6(UInt128 a) => a.ToString("x32");

    /// <summary>if6_seq_show: address, ifindex, prefix length, scope, flags, device.</summary>
    private static string IfInet6(Net net)
    {
        var sb = new StringBuilder();
        foreach (var d in net.Devices)
        {
            if (d.Ip6 is not { } idev) continue;
            foreach (var a in idev.Addrs)
            {
                int scope = Inet.Ipv6SrcScope(a.Addr) switch
                {
                    Inet.Ipv6ScopeNodeLocal => 0x10,
                    Inet.Ipv6ScopeLinkLocal => 0x20,
                    Inet.Ipv6ScopeSiteLocal => 0x40,
                    _ => 0x00,
                };
                sb.Append($"{Hex6(a.Addr)} {d.Ifindex:x2} {a.PrefixLen:x2} {scope:x2} {a.Flags:x2} {d.Name,8}\n");
            }
        }
        return sb.ToString();
    }

    /// <summary>igmp_mc_seq_show: the querier version follows force_igmp_version.</summary>
    private static string Igmp(Net net)
    {
        var sb = new StringBuilder("Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n");
        foreach (var d in net.Devices)
        {
            if (d.Ip4 is not { } inDev || inDev.McList.Count == 0) continue;
            int force = Math.Max(net.Ipv4.All[IPV4_DEVCONF_FORCE_IGMP_VERSION], inDev.Cnf[IPV4_DEVCONF_FORCE_IGMP_VERSION]);
            string querier = force == 1 ? "V1" : force == 2 ? "V2" : "V3";
            sb.Append($"{d.Ifindex}\t{d.Name,-10}: {inDev.McList.Count,5} {querier,7}\n");
            foreach (var m in inDev.McList)
            {
                uint be = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(m.Addr);
                sb.Append($"\t\t\t\t{be:X8} {m.Users,5} 0:00000000\t\t0\n");
            }
        }
        return sb.ToString();
    }

    /// <summary>igmp6_mc_seq_show.</summary>
    private static string Igmp6(Net net)
    {
        var sb = new StringBuilder();
        foreach (var d in net.Devices)
        {
            if (d.Ip6 is not { } idev) continue;
            foreach (var m in idev.McList)
                sb.Append($"{d.Ifindex,-4} {d.Name,-15} {Hex6(m.Addr)} {m.Users,5} {m.Flags:X8} 0\n");
        }
        return sb.ToString();
    }

    // ---- neighbours --------------------------------------------------------------------------------

    /// <summary>arp_seq_show: the ARP table's entries (NEIGH_SEQ_SKIP_NOARP: not those in no state
    /// but NUD_NOARP), then its proxy entries, in the table's order (the kernel's is its hash's).</summary>
    private static string Arp(Net net)
    {
        var sb = new StringBuilder("IP address       HW type     Flags       HW address            Mask     Device\n");
        var tbl = net.Neigh.Arp;
        foreach (var n in tbl.Entries.Values)
        {
            if ((n.State & ~NUD_NOARP) == 0 || n.Dev == null) continue;
            // arp_state_to_flags
            int flags = (n.State & NUD_PERMANENT) != 0 ? 0x4 | 0x2 : (n.State & NeighTable.NudValid) != 0 ? 0x2 : 0;
            var hw = new StringBuilder();
            for (int j = 0; j < n.Dev.AddrLen; j++)
            {
                if (j > 0) hw.Append(':');
                hw.Append((n.Lladdr != null && j < n.Lladdr.Length ? n.Lladdr[j] : 0).ToString("x2"));
            }
            sb.Append($"{Inet.FormatV4((uint)n.Key),-16} 0x{n.Dev.Type,-10:x}0x{flags,-10:x}{hw,-17}     *        {n.Dev.Name}\n");
        }
        foreach (var p in tbl.Proxies.Values)
        {
            // arp_format_pneigh_entry: ATF_PUBL | ATF_PERM
            int hatype = p.Dev?.Type ?? 0;
            sb.Append($"{Inet.FormatV4((uint)p.Key),-16} 0x{hatype,-10:x}0x{0xc,-10:x}00:00:00:00:00:00     *        {p.Dev?.Name ?? "*"}\n");
        }
        return sb.ToString();
    }

    // ---- routes -----------------------------------------------------------------------------------

    private static uint Be(uint hostOrder) => System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(hostOrder);

    /// <summary>fib_route_seq_show: the main table's routes (not local, broadcast or multicast ones),
    /// in key order, each line padded to 127 characters.</summary>
    private static string Route4(Net net)
    {
        var sb = new StringBuilder();
        sb.Append("Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT".PadRight(127)).Append('\n');
        var main = net.Ipv4.GetTable((uint)RT_TABLE_MAIN);
        if (main == null) return sb.ToString();
        foreach (var r in main.Routes)
        {
            if (r.Type is (byte)RTN_BROADCAST or (byte)RTN_MULTICAST) continue;
            var nh = r.FirstNh;
            uint mask = r.DstLen == 0 ? 0 : uint.MaxValue << (32 - r.DstLen);
            // fib_flag_trans: RTF_REJECT for unreachable and prohibit, RTF_UP always
            uint flags = 0x0001; // RTF_UP
            if (r.Type is (byte)RTN_UNREACHABLE or (byte)RTN_PROHIBIT) flags |= 0x0200; // RTF_REJECT
            if (nh is { GwFamily: (byte)AF_INET }) flags |= 0x0002; // RTF_GATEWAY
            if (mask == uint.MaxValue) flags |= 0x0004;             // RTF_HOST
            uint gw = nh is { GwFamily: (byte)AF_INET } ? (uint)nh.Gateway : 0;
            uint mtu = r.Metrics is { } m && m.Length > RTAX_ADVMSS && m[RTAX_ADVMSS] != 0 ? m[RTAX_ADVMSS] + 40 : 0;
            uint window = r.Metrics is { } w && w.Length > RTAX_WINDOW ? w[RTAX_WINDOW] : 0;
            uint irtt = r.Metrics is { } t && t.Length > RTAX_RTT ? t[RTAX_RTT] >> 3 : 0;
            string line = $"{nh?.Dev?.Name ?? "*"}\t{Be((uint)r.Dst):X8}\t{Be(gw):X8}\t{flags:X4}\t0\t0\t{r.Priority}\t{Be(mask):X8}\t{mtu}\t{window}\t{irtt}";
            sb.Append(line.PadRight(127)).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>The routes of the merged main/local trie (no custom rules): main first, then local.</summary>
    private static IEnumerable<Route> MergedRoutes(Net net) =>
        (net.Ipv4.GetTable((uint)RT_TABLE_MAIN)?.Routes ?? []).Concat(net.Ipv4.GetTable((uint)RT_TABLE_LOCAL)?.Routes ?? []);

    /// <summary>fib_trie_seq_show: every table in hash order (id mod 256, newest first in a bucket);
    /// main and local share one trie until a rule is added (fib_unmerge).</summary>
    private static string FibTrie(Net net)
    {
        var sb = new StringBuilder();
        bool merged = !net.Ipv4.Rules.Unmerged;
        FibTrieView? shared = null;
        foreach (var t in net.Ipv4.TablesInDumpOrder)
        {
            if (t.Id is (uint)RT_TABLE_MAIN or (uint)RT_TABLE_LOCAL)
            {
                var trie = merged ? shared ??= FibTrieView.Build(MergedRoutes(net)) : FibTrieView.Build(t.Routes);
                trie.Show(sb, t.Id == (uint)RT_TABLE_MAIN ? "Main" : "Local");
            }
            else FibTrieView.Build(t.Routes).Show(sb, $"Id {t.Id}");
        }
        return sb.ToString();
    }

    private static string FibTriestat(Net net)
    {
        var sb = new StringBuilder("Basic info: size of leaf: 48 bytes, size of tnode: 40 bytes.\n");
        var trie = FibTrieView.Build(MergedRoutes(net));
        if (!trie.IsEmpty)
        {
            trie.ShowStats(sb, "Main");
            trie.ShowStats(sb, "Local");
        }
        return sb.ToString();
    }

    /// <summary>ipv6_route_seq_show: every table's routes in walk order, each table ending with its
    /// root's null entry while it has no default route.</summary>
    private static string Ipv6Route(Net net)
    {
        var sb = new StringBuilder();
        foreach (var t in net.Ipv6.TablesInDumpOrder)
        {
            bool hasDefault = false;
            foreach (var r in t.Routes)
            {
                if (r.DstLen == 0) hasDefault = true;
                var nh = r.FirstNh;
                UInt128 gw = nh is { GwFamily: (byte)AF_INET6 } ? nh.Gateway : 0;
                uint flags = r.Flags | (gw != 0 ? (uint)RTF_GATEWAY : 0);
                // fib6_ref: the tree's reference, and the address's for the route of a local address
                int refcnt = r.Type == RTN_LOCAL ? 2 : 1;
                sb.Append($"{Hex6(r.Dst)} {r.DstLen:x2} {Hex6(r.Src)} {r.SrcLen:x2} {Hex6(gw)} {r.Priority:x8} {refcnt:x8} {0:x8} {flags:x8} {nh?.Dev?.Name ?? "",8}\n");
            }
            if (!hasDefault)
                sb.Append($"{Hex6(0)} 00 {Hex6(0)} 00 {Hex6(0)} ffffffff 00000001 00000000 00200200 {"lo",8}\n");
        }
        return sb.ToString();
    }

    /// <summary>rt6_stats_seq_show: nodes and routes of the IPv6 FIB (fib_nodes counted as the route
    /// nodes plus the branching nodes between them).</summary>
    private static string Rt6Stats(Net net)
    {
        int routeNodes = 0, entries = 0, fibNodes = 0;
        foreach (var t in net.Ipv6.Tables)
        {
            var keys = t.Routes.Select(r => (r.Dst, r.DstLen)).Where(k => k.DstLen > 0).Distinct().ToList();
            entries += t.Routes.Count();
            routeNodes += keys.Count;
            fibNodes += keys.Count + Branches(keys);
        }
        return $"{fibNodes:x4} {routeNodes:x4} {0:x4} {entries:x4} {0:x4} {0:x4} {0:x4}\n";
    }

    /// <summary>The intermediate nodes a radix tree needs between these prefixes (below the root).</summary>
    private static int Branches(List<(UInt128 Key, byte Len)> keys)
    {
        int n = 0;
        void Split(List<(UInt128 Key, byte Len)> set, int depth)
        {
            if (set.Count < 2) return;
            // the longest common prefix of the set
            int common = 128;
            var first = set[0];
            foreach (var k in set)
            {
                var x = first.Key ^ k.Key;
                int lcp = x == 0 ? 128 : (int)UInt128.LeadingZeroCount(x);
                common = Math.Min(common, Math.Min(lcp, Math.Min(first.Len, k.Len)));
            }
            bool nodeIsPrefix = set.Any(k => k.Len == common);
            if (!nodeIsPrefix && common > depth - 1 && common > 0) n++;
            var rest = set.Where(k => k.Len > common).ToList();
            Split(rest.Where(k => ((k.Key >> (127 - common)) & 1) == 0).ToList(), common + 1);
            Split(rest.Where(k => ((k.Key >> (127 - common)) & 1) == 1).ToList(), common + 1);
        }
        Split(keys, 0);
        return n;
    }

    // ---- counters ----------------------------------------------------------------------------------

    /// <summary>snmp_seq_show: the Ip line's Forwarding and DefaultTTL follow the sysctls, the rest
    /// counts traffic VirtKernel does not carry.</summary>
    private static string Snmp(Net net)
    {
        int forwarding = net.Ipv4.All[IPV4_DEVCONF_FORWARDING] != 0 ? 1 : 2;
        long ttl = net.Sysctl.Values.Num("ipv4/ip_default_ttl");
        long rtoMin = net.Sysctl.Values.Num("ipv4/tcp_rto_min_us") / 1000;
        long rtoMax = net.Sysctl.Values.Num("ipv4/tcp_rto_max_ms");
        var sb = new StringBuilder();
        sb.Append("Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates OutTransmits\n");
        sb.Append($"Ip: {forwarding} {ttl}").Append(Zeros(18)).Append('\n');
        sb.Append("Icmp: InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs InSrcQuenchs InRedirects InEchos InEchoReps InTimestamps InTimestampReps InAddrMasks InAddrMaskReps OutMsgs OutErrors OutRateLimitGlobal OutRateLimitHost OutDestUnreachs OutTimeExcds OutParmProbs OutSrcQuenchs OutRedirects OutEchos OutEchoReps OutTimestamps OutTimestampReps OutAddrMasks OutAddrMaskReps\n");
        sb.Append("Icmp:").Append(Zeros(29)).Append('\n');
        sb.Append("Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n");
        sb.Append($"Tcp: 1 {rtoMin} {rtoMax} -1").Append(Zeros(11)).Append('\n');
        sb.Append("Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n");
        sb.Append("Udp:").Append(Zeros(9)).Append('\n');
        sb.Append("UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors\n");
        sb.Append("UdpLite:").Append(Zeros(9)).Append('\n');
        return sb.ToString();
    }

    private static string Zeros(int n) => string.Concat(Enumerable.Repeat(" 0", n));

    /// <summary>softnet_seq_show: one line per possible CPU, the 13th column its number.</summary>
    private static string SoftnetStat(Net net)
    {
        var sb = new StringBuilder();
        for (int cpu = 0; cpu < net.Kernel.Options.PossibleCpus; cpu++)
        {
            for (int col = 0; col < 15; col++)
            {
                if (col > 0) sb.Append(' ');
                sb.Append((col == 12 ? cpu : 0).ToString("x8"));
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>rt_cpu_seq_show: the header and one line of counters per possible CPU.</summary>
    private static string RtCacheStat(Net net)
    {
        var sb = new StringBuilder("entries  in_hit   in_slow_tot in_slow_mc in_no_route in_brd   in_martian_dst in_martian_src out_hit  out_slow_tot out_slow_mc gc_total gc_ignored gc_goal_miss gc_dst_overflow in_hlist_search out_hlist_search\n");
        for (int cpu = 0; cpu < net.Kernel.Options.PossibleCpus; cpu++)
            sb.Append("00000000 00000000 00000000    00000000   00000000    00000000 00000000       00000000       00000000 00000000     00000000    00000000 00000000   00000000     00000000        00000000        00000000\n");
        return sb.ToString();
    }
}
