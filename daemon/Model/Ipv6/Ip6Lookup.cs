using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv6;

/// <summary>struct fib6_result: the FIB entry a lookup chose and its path.</summary>
public sealed class Lookup6
{
    public required Route Route;
    public required Nexthop Nh;
    /// <summary>The rule that decided, when the rules were walked.</summary>
    public FibRule? Rule;
}

/// <summary>What inet6_rtm_getroute found.</summary>
public sealed class RouteGet6
{
    public required Rt6Info Rt;
    public FlowI6 Flow;
}

// net/ipv6/route.c lookups (rt6_select, fib6_table_lookup, fib6_rule_lookup, ip6_route_output)
// and net/ipv6/addrconf.c source address selection.
public sealed partial class Ipv6Net
{
    /// <summary>IPV6_DECODE_PREF: the score of a router preference.</summary>
    private static int DecodePref(byte pref) => pref switch
    {
        0 => 2,       // medium
        1 => 3,       // high
        3 => 1,       // low
        _ => 0,       // invalid
    };

    /// <summary>rt6_score_route (no neighbour reachability: CONFIG_IPV6_ROUTER_PREF accepts
    /// unknown neighbours).</summary>
    private static int ScoreRoute(Nexthop nh, Route r, int oif, bool strictIface)
    {
        int m = 0;
        if (oif == 0 || nh.Dev?.Ifindex == oif) m = 2;
        if (m == 0 && strictIface) return -1;
        m |= DecodePref(r.Pref) << 2;
        return m;
    }

    /// <summary>find_match: a usable path scores above the best so far.</summary>
    private bool FindMatch(Nexthop nh, Route r, int oif, bool strictIface, bool ignoreLinkState, ref int mpri)
    {
        if ((nh.Flags & RTNH_F_DEAD) != 0) return false;
        if ((nh.Flags & RTNH_F_LINKDOWN) != 0 && !ignoreLinkState && IgnoreLinkdown(nh.Dev)) return false;
        int m = ScoreRoute(nh, r, oif, strictIface);
        if (m < 0) return false;
        if (m > mpri)
        {
            mpri = m;
            return true;
        }
        return false;
    }

    /// <summary>rt6_select / find_rr_leaf on one node: the best route of the first metric group,
    /// else the best of the rest.</summary>
    private Lookup6? Rt6Select(Fib6Table.Node node, int oif, bool strictIface, bool ignoreLinkState, long nowMs)
    {
        var leaf = node.Leaf;
        if (leaf.Count == 0) return null;
        uint metric = leaf[0].Priority;
        int mpri = -1;
        Lookup6? res = null;
        int cont = -1;
        for (int pass = 0; pass < 2; pass++)
        {
            for (int i = pass == 0 ? 0 : cont; i < leaf.Count; i++)
            {
                var r = leaf[i];
                if (pass == 0 && r.Priority != metric)
                {
                    cont = i;
                    break;
                }
                if ((r.Flags & RTF_EXPIRES) != 0 && r.ExpiresMs != 0 && r.ExpiresMs <= nowMs) continue;
                if (r.Nh != null)
                {
                    if (r.Nh.IsBlackhole) return new Lookup6 { Route = r, Nh = r.Nh.FirstPath! };
                    int n = r.Nh.PathCount;
                    for (int p = 0; p < n; p++)
                    {
                        var pnh = r.Nh.Path(p).Nh;
                        int save = mpri;
                        if (FindMatch(pnh, r, oif, strictIface, ignoreLinkState, ref mpri))
                        {
                            res = new Lookup6 { Route = r, Nh = pnh };
                            break;
                        }
                        mpri = save > mpri ? save : mpri;
                    }
                    continue;
                }
                var nh = r.FirstNh;
                if (nh != null && FindMatch(nh, r, oif, strictIface, ignoreLinkState, ref mpri))
                    res = new Lookup6 { Route = r, Nh = nh };
            }
            if (res != null || cont < 0) break;
        }
        return res;
    }

    /// <summary>fib6_table_lookup: the most specific node with a usable route, backtracking to
    /// shorter prefixes.</summary>
    public Lookup6? Fib6TableLookup(Fib6Table tb, in FlowI6 fl, bool strictIface, bool ignoreLinkState)
    {
        long now = Net.Kernel.Clock.NowMs;
        int plen = 128;
        while (tb.NextMatch(fl.Daddr, ref plen) is { } node)
        {
            var res = Rt6Select(node, fl.Oif, strictIface, ignoreLinkState, now);
            if (res != null) return res;
        }
        return null;
    }

    /// <summary>fib6_lookup / fib6_rule_lookup: the rules decide which tables are asked. Returns
    /// null for "no route" (the null entry); a rule action or a reject route gives an error in
    /// <paramref name="err"/>.</summary>
    public Lookup6? Fib6Lookup(in FlowI6 fl, bool strictIface) => Fib6RuleLookup(fl, strictIface, out _);

    public Lookup6? Fib6RuleLookup(in FlowI6 fl, bool strictIface, out int err)
    {
        err = 0;
        if (!Rules.HasCustomRules)
        {
            foreach (var id in LocalThenMain)
            {
                var tb = GetTable(id);
                if (tb == null) continue;
                var r = Fib6TableLookup(tb, fl, strictIface, false);
                if (r != null && RejectError(r.Route) != -Errno.EAGAIN) return r;
            }
            return null;
        }
        return Fib6RulesLookup(fl, strictIface, out err);
    }

    private static readonly uint[] LocalThenMain = [RT_TABLE_LOCAL, RT_TABLE_MAIN];

    /// <summary>The lookup through the rules (apart, so the common path builds no closure).</summary>
    private Lookup6? Fib6RulesLookup(FlowI6 flow, bool strictIface, out int err)
    {
        err = 0;
        var rf = new RuleFlow
        {
            Saddr = flow.Saddr, Daddr = flow.Daddr, Iif = flow.Iif, Oif = flow.Oif, Mark = flow.Mark, Proto = flow.Proto,
            Sport = flow.Sport, Dport = flow.Dport, Uid = flow.Uid,
        };
        Lookup6? found = null;
        int e = Rules.Lookup(rf, rule =>
        {
            switch (rule.Action)
            {
                case FR_ACT_TO_TBL: break;
                case FR_ACT_UNREACHABLE: return -Errno.ENETUNREACH;
                case FR_ACT_PROHIBIT: return -Errno.EACCES;
                default: return -Errno.EINVAL;
            }
            var tb = GetTable(rule.Table);
            if (tb == null) return -Errno.EAGAIN;
            var r = Fib6TableLookup(tb, flow, strictIface, false);
            if (r == null) return -Errno.EAGAIN;
            int re = RejectError(r.Route);
            if (re == -Errno.EAGAIN) return -Errno.EAGAIN;
            found = r;
            return 0;
        }, null, out var decided);
        if (found != null) found.Rule = decided;
        if (e != 0 && e != -Errno.ESRCH && e != -Errno.EAGAIN) err = e;
        return found;
    }

    /// <summary>The dst.error of a reject route (ip6_route_info_create's switch).</summary>
    public static int RejectError(Route r)
    {
        if ((r.Flags & RTF_REJECT) == 0 && !(r.Nh?.IsBlackhole ?? false)) return 0;
        return r.Type switch
        {
            RTN_BLACKHOLE => -Errno.EINVAL,
            RTN_PROHIBIT => -Errno.EACCES,
            RTN_THROW => -Errno.EAGAIN,
            RTN_UNREACHABLE => -Errno.EHOSTUNREACH,
            _ => r.Nh?.IsBlackhole == true ? -Errno.EINVAL : -Errno.ENETUNREACH,
        };
    }

    /// <summary>The seed of the multipath hash (random per boot in the kernel).</summary>
    private const uint MultipathHashSeed = 0x85ebca6b;

    /// <summary>rt6_multipath_hash (L3 policy): addresses, flow label and protocol.</summary>
    public static uint MultipathHash(in FlowI6 fl)
    {
        uint h = MultipathHashSeed;
        for (int i = 3; i >= 0; i--) h = Ipv4.Ipv4Net.Mix(h ^ (uint)(fl.Saddr >> (32 * i)));
        for (int i = 3; i >= 0; i--) h = Ipv4.Ipv4Net.Mix(h ^ (uint)(fl.Daddr >> (32 * i)));
        h = Ipv4.Ipv4Net.Mix(h ^ fl.FlowLabel ^ ((uint)fl.Proto << 24));
        return h >> 1;
    }

    /// <summary>fib6_select_path: an ECMP route (siblings or a nexthop group) picks its path by hash.</summary>
    public void Fib6SelectPath(Lookup6 res, in FlowI6 fl, bool haveOifMatch = false)
    {
        var match = res.Route;
        if (match.Nh == null && (match.Siblings == null || haveOifMatch)) return;
        uint hash = MultipathHash(fl);
        if (match.Nh != null)
        {
            if (!match.Nh.IsGroup) return;
            var g = match.Nh.Group!;
            long total = 0;
            foreach (var e in g) if (NhGood(e.Nh)) total += e.Weight;
            NexthopObj? first = null;
            long acc = 0;
            foreach (var e in g)
            {
                if (!NhGood(e.Nh)) continue;
                first ??= e.Nh;
                acc += e.Weight;
                long upper = (((acc << 31) + total / 2) / total) - 1;
                if (hash > upper) continue;
                res.Nh = e.Nh.Info!;
                return;
            }
            res.Nh = (first ?? g[0].Nh).Info!;
            return;
        }
        var group = match.Siblings!;
        long tot = 0;
        foreach (var s in group) if (SiblingAlive(s)) tot += s.FirstNh!.Weight;
        if (tot == 0) return;
        long a = 0;
        foreach (var s in group)
        {
            if (!SiblingAlive(s)) continue;
            a += s.FirstNh!.Weight;
            long upper = (((a << 31) + tot / 2) / tot) - 1;
            if (hash > upper) continue;
            if (ScoreRoute(s.FirstNh, s, fl.Oif, false) >= 0)
            {
                res.Route = s;
                res.Nh = s.FirstNh;
            }
            return;
        }
    }

    private bool SiblingAlive(Route s)
    {
        var nh = s.FirstNh!;
        return (nh.Flags & RTNH_F_DEAD) == 0 && !((nh.Flags & RTNH_F_LINKDOWN) != 0 && IgnoreLinkdown(nh.Dev));
    }

    private static bool NhGood(NexthopObj nh) =>
        nh.Info != null && (nh.Info.Flags & RTNH_F_DEAD) == 0 && nh.Info.Dev is { IsUp: true, Carrier: true } || nh.Blackhole;

    /// <summary>ip6_rt_get_dev_rcu: copies of local and anycast routes live on the loopback.</summary>
    private NetDevice? RtDev(Route r, Nexthop nh) =>
        (r.Flags & (RTF_LOCAL | RTF_ANYCAST)) != 0 || r.Type == RTN_LOCAL ? Net.Loopback : nh.Dev;

    /// <summary>ip6_route_output / ip6_route_input_lookup and the pcpu copy the lookup makes. Returns
    /// null with <paramref name="err"/> for the null entry or an error route.</summary>
    public Rt6Info? Ip6RouteLookup(ref FlowI6 fl, bool input, out int err)
    {
        err = 0;
        bool anySrc = fl.Saddr == UInt128.Zero;
        bool strictIface = input ? NeedStrict(fl.Daddr) : NeedStrict(fl.Daddr) || (fl.Oif != 0 && anySrc);
        if (!input) fl.Iif = Net.Loopback.Ifindex;
        var lfl = fl;
        if (input) lfl.Oif = fl.Iif; // ip6_pol_route_input scores against the input device
        var res = Fib6RuleLookup(lfl, strictIface, out int ruleErr);
        if (res == null)
        {
            err = ruleErr != 0 ? -ruleErr : Errno.ENETUNREACH;
            return null;
        }
        Fib6SelectPath(res, fl, fl.Oif != 0);
        var rt = new Rt6Info { From = res.Route, Nh = res.Nh, Dev = RtDev(res.Route, res.Nh) };
        if (res.Nh.HasGateway)
        {
            rt.HasGateway = true;
            rt.Gateway = res.Nh.Gateway;
        }
        int re = RejectError(res.Route);
        if (re != 0)
        {
            rt.Error = -re;
            err = -re;
        }
        return rt;
    }

    /// <summary>inet6_rtm_getroute's model part.</summary>
    public int RouteGet(UInt128 dst, UInt128 src, int iif, int oif, uint mark, uint uid, byte proto, ushort sport,
        ushort dport, uint flowlabel, out RouteGet6? result)
    {
        result = null;
        var fl = new FlowI6
        {
            Daddr = dst, Saddr = src, Mark = mark, Uid = uid, Proto = proto, Sport = sport, Dport = dport, FlowLabel = flowlabel,
        };
        Rt6Info? rt;
        int err;
        if (iif != 0)
        {
            var dev = Net.GetDevice(iif);
            if (dev == null) return -Errno.ENODEV;
            fl.Iif = iif;
            rt = Ip6RouteLookup(ref fl, true, out err);
        }
        else
        {
            fl.Oif = oif;
            rt = Ip6RouteLookup(ref fl, false, out err);
        }
        if (rt == null || err != 0) return -(err != 0 ? err : Errno.ENETUNREACH);
        result = new RouteGet6 { Rt = rt, Flow = fl };
        return 0;
    }

    // ---- source address selection ------------------------------------------------------------

    /// <summary>ip6_route_get_saddr: the route's prefsrc, else ipv6_dev_get_saddr on its device.</summary>
    public bool RouteGetSaddr(Route r, UInt128 daddr, out UInt128 saddr)
    {
        if (r.HasPrefSrc)
        {
            saddr = r.PrefSrc;
            return true;
        }
        return DevGetSaddr(r.FirstNh?.Dev, daddr, out saddr);
    }

    /// <summary>ipv6_addr_scope as the IPV6_ADDR_SCOPE_* value (multicast scope field, else by type).</summary>
    private static int AddrScope6(UInt128 a)
    {
        if (Inet.IsV6Multicast(a)) return (int)((a >> 112) & 0xf);
        return Inet.Ipv6SrcScope(a);
    }

    /// <summary>ipv6_dev_get_saddr (RFC 6724 rules 1, 2, 3, 5 and 8): the best source address for
    /// <paramref name="daddr"/>, from the outgoing device for multicast and link-scope
    /// destinations, else from every device.</summary>
    public bool DevGetSaddr(NetDevice? dstDev, UInt128 daddr, out UInt128 saddr)
    {
        saddr = UInt128.Zero;
        int dstScope = AddrScope6(daddr);
        Inet6IfAddr? best = null;
        IEnumerable<NetDevice> devs;
        if (dstDev != null && (Inet.IsV6Multicast(daddr) || dstScope <= Inet.Ipv6ScopeLinkLocal ||
                               dstDev.Ip6?.Cnf[DEVCONF_USE_OIF_ADDRS_ONLY] > 0))
            devs = [dstDev];
        else devs = Net.Devices;
        foreach (var d in devs)
        {
            var idev = d.Ip6;
            if (idev == null) continue;
            foreach (var ifa in idev.Addrs)
            {
                if ((ifa.Flags & IFA_F_TENTATIVE) != 0 && (ifa.Flags & IFA_F_OPTIMISTIC) == 0) continue;
                if ((ifa.Flags & IFA_F_DADFAILED) != 0) continue;
                if (Inet.IsV6Multicast(ifa.Addr) || ifa.Addr == UInt128.Zero) continue;
                if (best == null || Better(ifa, best, daddr, dstScope, dstDev)) best = ifa;
            }
        }
        if (best == null) return false;
        saddr = best.Addr;
        return true;
    }

    /// <summary>ipv6_get_saddr_eval over the rules in order: does <paramref name="a"/> beat the
    /// current best <paramref name="b"/>?</summary>
    private static bool Better(Inet6IfAddr a, Inet6IfAddr b, UInt128 daddr, int dstScope, NetDevice? dstDev)
    {
        // rule 1: the same address
        bool sa = a.Addr == daddr, sb = b.Addr == daddr;
        if (sa != sb) return sa;
        // rule 2: appropriate scope
        int Scope(Inet6IfAddr x)
        {
            int s = Inet.Ipv6SrcScope(x.Addr);
            return s >= dstScope ? -s : s - 128;
        }
        int ca = Scope(a), cb = Scope(b);
        if (ca != cb) return ca > cb;
        // rule 3: avoid deprecated addresses
        bool da = (a.Flags & IFA_F_DEPRECATED) == 0, db = (b.Flags & IFA_F_DEPRECATED) == 0;
        if (da != db) return da;
        // rule 5: prefer the outgoing interface
        bool oa = dstDev == null || a.Dev == dstDev, ob = dstDev == null || b.Dev == dstDev;
        if (oa != ob) return oa;
        // rule 8: longest matching prefix (up to the address's prefix length)
        int la = Math.Min(CommonPrefix(a.Addr, daddr), a.PrefixLen);
        int lb = Math.Min(CommonPrefix(b.Addr, daddr), b.PrefixLen);
        return la > lb;
    }

    private static int CommonPrefix(UInt128 x, UInt128 y)
    {
        var d = x ^ y;
        return d == UInt128.Zero ? 128 : (int)UInt128.LeadingZeroCount(d);
    }
}
