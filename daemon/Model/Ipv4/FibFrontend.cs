using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv4;

// net/ipv4/fib_frontend.c, fib_semantics.c and fib_trie.c: the routes addresses and devices make,
// the insert/delete paths of the IPv4 FIB, and its lookups.
public sealed partial class Ipv4Net
{
    /// <summary>fib_props[type].error.</summary>
    public static int FibPropsError(int type) => type switch
    {
        RTN_BLACKHOLE => -Errno.EINVAL,
        RTN_UNREACHABLE => -Errno.EHOSTUNREACH,
        RTN_PROHIBIT => -Errno.EACCES,
        RTN_THROW => -Errno.EAGAIN,
        RTN_NAT or RTN_XRESOLVE => -Errno.EINVAL,
        _ => 0,
    };

    /// <summary>fib_props[type].scope.</summary>
    public static byte FibPropsScope(int type) => type switch
    {
        RTN_UNSPEC or RTN_NAT or RTN_XRESOLVE => (byte)RT_SCOPE_NOWHERE,
        RTN_LOCAL => (byte)RT_SCOPE_HOST,
        RTN_BROADCAST or RTN_ANYCAST => (byte)RT_SCOPE_LINK,
        _ => (byte)RT_SCOPE_UNIVERSE,
    };

    // ---- insert / delete through a fib_config --------------------------------------------

    /// <summary>fib_create_info: checks a route request and builds the route (fib_info + alias).</summary>
    private KErr FibCreateInfo(FibConfig cfg, out Route? route)
    {
        route = null;
        if (cfg.Type > RTN_MAX) return new KErr(Errno.EINVAL);
        if (FibPropsScope(cfg.Type) > cfg.Scope) return new KErr(Errno.EINVAL, "Invalid scope");
        if ((cfg.Flags & (RTNH_F_DEAD | RTNH_F_LINKDOWN)) != 0)
            return new KErr(Errno.EINVAL, "Invalid rtm_flags - can not contain DEAD or LINKDOWN");
        NexthopObj? nhObj = null;
        if (cfg.NhId != 0)
        {
            nhObj = Net.NexthopFindById(cfg.NhId);
            if (nhObj == null) return new KErr(Errno.EINVAL, "Nexthop id does not exist");
        }
        if (cfg.Multipath != null && cfg.Multipath.Count == 0) return new KErr(Errno.EINVAL);

        _scratchPaths.Clear();
        var r = new Route(nhObj != null ? new List<Nexthop>(0) : _scratchPaths)
        {
            Family = (byte)AF_INET, Table = cfg.Table, Dst = cfg.Dst, DstLen = cfg.DstLen, Tos = cfg.Tos,
            Protocol = cfg.Protocol, Scope = cfg.Scope, Type = cfg.Type, Flags = cfg.Flags,
            Priority = cfg.Priority, PrefSrc = cfg.PrefSrc, HasPrefSrc = cfg.PrefSrc != 0,
            Metrics = cfg.Metrics, NhId = cfg.NhId, Seq = NextRouteSeq(),
        };
        if (nhObj != null)
        {
            r.Nh = nhObj;
        }
        else if (cfg.Multipath != null)
        {
            // fib_get_nhs
            foreach (var m in cfg.Multipath)
            {
                if ((m.Flags & (RTNH_F_DEAD | RTNH_F_LINKDOWN)) != 0)
                    return new KErr(Errno.EINVAL, "Invalid flags for nexthop - can not contain DEAD or LINKDOWN");
                var nh = m.Clone();
                nh.Flags = (cfg.Flags & ~0xFFu) | m.Flags;
                r.Nexthops.Add(nh);
            }
            var first = r.Nexthops[0];
            if (cfg.Oif != 0 && first.Oif != cfg.Oif)
                return new KErr(Errno.EINVAL, "Nexthop device index does not match RTA_OIF");
            if (cfg.GwFamily != 0 &&
                (cfg.GwFamily != first.GwFamily ||
                 (cfg.GwFamily == AF_INET && (uint)first.Gateway != cfg.Gateway) ||
                 (cfg.GwFamily == AF_INET6 && first.Gateway != cfg.Gateway6)))
                return new KErr(Errno.EINVAL, "Nexthop gateway does not match RTA_GATEWAY or RTA_VIA");
            if (cfg.Flow != 0 && first.Realm != cfg.Flow)
                return new KErr(Errno.EINVAL, "Nexthop class id does not match RTA_FLOW");
        }
        else
        {
            // fib_nh_init
            var nh = new Nexthop { Oif = cfg.Oif, Flags = cfg.Flags, Realm = cfg.Flow, Weight = 1 };
            if (cfg.GwFamily == AF_INET) { nh.GwFamily = (byte)AF_INET; nh.Gateway = cfg.Gateway; }
            else if (cfg.GwFamily == AF_INET6) { nh.GwFamily = (byte)AF_INET6; nh.Gateway = cfg.Gateway6; }
            r.Nexthops.Add(nh);
        }

        if (FibPropsError(cfg.Type) != 0)
        {
            if (cfg.GwFamily != 0 || cfg.Oif != 0 || cfg.Multipath != null)
                return new KErr(Errno.EINVAL, "Gateway, device and multipath can not be specified for this route type");
            route = r;
            return KErr.Ok;
        }
        if (cfg.Type is not (RTN_UNICAST or RTN_LOCAL or RTN_BROADCAST or RTN_ANYCAST or RTN_MULTICAST))
            return new KErr(Errno.EINVAL, "Invalid route type");
        if (cfg.Scope > RT_SCOPE_HOST) return new KErr(Errno.EINVAL, "Invalid scope");

        if (nhObj != null)
        {
            var err = FibCheckNexthop(nhObj, cfg.Scope);
            if (err.Failed) return err;
        }
        else if (cfg.Scope == RT_SCOPE_HOST)
        {
            if (r.Nexthops.Count != 1) return new KErr(Errno.EINVAL, "Route with host scope can not have multiple nexthops");
            var nh = r.Nexthops[0];
            if (nh.HasGateway) return new KErr(Errno.EINVAL, "Route with host scope can not have a gateway");
            nh.Scope = (byte)RT_SCOPE_NOWHERE;
            nh.Dev = Net.GetDevice(nh.Oif);
            if (nh.Dev == null) return new KErr(Errno.ENODEV);
        }
        else
        {
            int linkdown = 0;
            foreach (var nh in r.Nexthops)
            {
                var err = FibCheckNh(nh, cfg.Table, cfg.Scope);
                if (err.Failed) return err;
                if ((nh.Flags & RTNH_F_LINKDOWN) != 0) linkdown++;
            }
            if (linkdown == r.Nexthops.Count) r.Flags |= (uint)RTNH_F_LINKDOWN;
        }
        if (r.HasPrefSrc && !FibValidPrefsrc(cfg, cfg.PrefSrc))
            return new KErr(Errno.EINVAL, "Invalid prefsrc address");
        route = r;
        return KErr.Ok;
    }

    /// <summary>fib_props[type].error != 0: blackhole, unreachable, prohibit, throw.</summary>
    public static bool IsErrorType(byte type) => FibPropsError(type) != 0;

    /// <summary>fib_check_nexthop: a nexthop object a route (of this scope) may use.</summary>
    public static KErr FibCheckNexthop(NexthopObj nh, byte scope)
    {
        bool fdb;
        if (nh.IsGroup)
        {
            fdb = nh.Fdb;
            if (scope == RT_SCOPE_HOST) return new KErr(Errno.EINVAL, "Route with host scope can not have multiple nexthops");
            var err = NexthopCheckScope(nh.Group![0].Nh, scope);
            if (err.Failed) return err;
        }
        else
        {
            fdb = nh.Fdb;
            var err = NexthopCheckScope(nh, scope);
            if (err.Failed) return err;
        }
        if (fdb) return new KErr(Errno.EINVAL, "Route cannot point to a fdb nexthop");
        return KErr.Ok;
    }

    private static KErr NexthopCheckScope(NexthopObj nh, byte scope)
    {
        var nhc = nh.Info!;
        if (scope == RT_SCOPE_HOST && nhc.HasGateway) return new KErr(Errno.EINVAL, "Route with host scope can not have a gateway");
        if ((nhc.Flags & RTNH_F_ONLINK) != 0 && scope >= RT_SCOPE_LINK) return new KErr(Errno.EINVAL, "Nexthop has invalid scope");
        return KErr.Ok;
    }

    /// <summary>fib_check_nh: for a nexthop without gateway, its device must be up
    /// (fib_check_nh_nongw); with a gateway, the gateway must be reachable (fib_check_nh_v4_gw,
    /// fib_check_nh_v6_gw). Resolves the device.</summary>
    public KErr FibCheckNh(Nexthop nh, uint table, byte scope)
    {
        if (nh.GwFamily == AF_INET) return FibCheckNhV4Gw(nh, table, scope);
        if (nh.GwFamily == AF_INET6)
        {
            var err = Net.Ipv6.Fib6NhInit(nh, nh.Oif, nh.Gateway, nh.Flags | (uint)RTF_GATEWAY, false, table, probeOnly: true);
            if (err.Failed) return err;
            nh.Oif = nh.Dev!.Ifindex;
            nh.Scope = (byte)RT_SCOPE_LINK;
            return KErr.Ok;
        }
        // fib_check_nh_nongw
        if ((nh.Flags & (RTNH_F_PERVASIVE | RTNH_F_ONLINK)) != 0)
            return new KErr(Errno.EINVAL, "Invalid flags for nexthop - PERVASIVE and ONLINK can not be set");
        var dev = nh.Oif != 0 ? Net.GetDevice(nh.Oif) : null;
        if (dev?.Ip4 == null) return new KErr(Errno.ENODEV);
        if (!dev.IsUp) return new KErr(Errno.ENETDOWN, "Device for nexthop is not up");
        nh.Dev = dev;
        nh.Scope = (byte)RT_SCOPE_HOST;
        if (!dev.Carrier) nh.Flags |= (uint)RTNH_F_LINKDOWN;
        return KErr.Ok;
    }

    // results reused by the lookups whose result does not leave the call
    private FibResult? _nhCheckRes, _addrTypeRes; // scratch results, made with the first lookup

    /// <summary>fib_check_nh_v4_gw.</summary>
    private KErr FibCheckNhV4Gw(Nexthop nh, uint table, byte scope)
    {
        uint gw = (uint)nh.Gateway;
        if ((nh.Flags & RTNH_F_ONLINK) != 0)
        {
            if (scope >= RT_SCOPE_LINK) return new KErr(Errno.EINVAL, "Nexthop has invalid scope");
            var odev = Net.GetDevice(nh.Oif);
            if (odev == null) return new KErr(Errno.ENODEV, "Nexthop device required for onlink");
            if (!odev.IsUp) return new KErr(Errno.ENETDOWN, "Nexthop device is not up");
            if (InetAddrTypeDevTable(odev, gw) != RTN_UNICAST) return new KErr(Errno.EINVAL, "Nexthop has invalid gateway");
            if (!odev.Carrier) nh.Flags |= (uint)RTNH_F_LINKDOWN;
            nh.Dev = odev;
            nh.Scope = (byte)RT_SCOPE_LINK;
            return KErr.Ok;
        }
        var fl = new FlowI4
        {
            Daddr = gw, Scope = (byte)Math.Max(scope + 1, RT_SCOPE_LINK), Oif = nh.Oif, Iif = 1, // LOOPBACK_IFINDEX
        };
        var res = _nhCheckRes ??= new();
        res.Clear();
        int err = -Errno.ENETUNREACH;
        FibTable? tbl = null;
        if (table != 0 && table != RT_TABLE_MAIN) tbl = GetTableExact(table);
        if (tbl != null) err = FibTableLookup(tbl, fl, res, FibLookupFlags.IgnoreLinkState | FibLookupFlags.NoRef);
        if (tbl == null || err != 0)
        {
            res.Clear();
            err = FibLookup(fl, res, FibLookupFlags.IgnoreLinkState);
        }
        if (err != 0) return new KErr(-err, "Nexthop has invalid gateway"); // the lookup's own errno (ENETUNREACH, ...)
        if (res.Type != RTN_UNICAST && res.Type != RTN_LOCAL) return new KErr(Errno.EINVAL, "Nexthop has invalid gateway");
        nh.Scope = res.Scope;
        var dev = res.Dev;
        if (dev == null) return new KErr(Errno.EINVAL, "No egress device for nexthop gateway");
        nh.Dev = dev;
        nh.Oif = dev.Ifindex;
        if (!dev.Carrier) nh.Flags |= (uint)RTNH_F_LINKDOWN;
        return dev.IsUp ? KErr.Ok : new KErr(Errno.ENETDOWN);
    }

    /// <summary>fib_valid_prefsrc.</summary>
    private bool FibValidPrefsrc(FibConfig cfg, uint prefsrc)
    {
        if (cfg.Type != RTN_LOCAL || cfg.Dst == 0 || prefsrc != cfg.Dst)
        {
            uint tb = cfg.Table == RT_TABLE_MAIN ? (uint)RT_TABLE_LOCAL : cfg.Table;
            int rc = InetAddrTypeTable(prefsrc, tb);
            if (rc != RTN_LOCAL && tb != RT_TABLE_LOCAL) rc = InetAddrTypeTable(prefsrc, (uint)RT_TABLE_LOCAL);
            if (rc != RTN_LOCAL) return false;
        }
        return true;
    }

    /// <summary>__inet_dev_addr_type: the type of the route an address hits in a table.</summary>
    public int InetAddrTypeTable(uint addr, uint table)
    {
        if (Inet.IsV4ZeroNet(addr) || Inet.IsV4LimitedBroadcast(addr)) return RTN_BROADCAST;
        if (Inet.IsV4Multicast(addr)) return RTN_MULTICAST;
        var t = GetTableExact(table);
        int ret = RTN_UNICAST;
        if (t != null)
        {
            var fl = new FlowI4 { Daddr = addr };
            var res = _addrTypeRes ??= new();
            res.Clear();
            if (FibTableLookup(t, fl, res, FibLookupFlags.NoRef) == 0) ret = res.Type;
            res.Clear();
        }
        return ret;
    }

    /// <summary>inet_addr_type_dev_table.</summary>
    public int InetAddrTypeDevTable(NetDevice dev, uint addr) => InetAddrTypeTable(addr, (uint)RT_TABLE_LOCAL);

    /// <summary>inet_addr_type: the address's type in the local table.</summary>
    public int InetAddrType(uint addr) => InetAddrTypeTable(addr, (uint)RT_TABLE_LOCAL);

    // ---- shared paths (the nexthops of fib_info, which fib_find_info shares) ---------------------

    /// <summary>Routes with identical paths share one path list, as routes with identical fib_infos
    /// share the fib_info and its fib_nh in the kernel: a device event changes the flags of the
    /// paths once for all of them.</summary>
    private sealed class SharedPaths
    {
        public required List<Nexthop> Paths;
        public int Refs;
    }

    private sealed class PathsComparer : IEqualityComparer<List<Nexthop>>
    {
        public static readonly PathsComparer Instance = new();
        public bool Equals(List<Nexthop>? a, List<Nexthop>? b) => a != null && b != null && FibTable.SamePaths(a, b);
        public int GetHashCode(List<Nexthop> l)
        {
            var h = new HashCode();
            foreach (var nh in l)
            {
                h.Add(nh.Oif);
                h.Add(nh.Gateway);
                h.Add(nh.Weight);
                h.Add(nh.Realm);
                h.Add(nh.Flags & ~(uint)(RTNH_F_DEAD | RTNH_F_LINKDOWN | RTNH_F_OFFLOAD | RTNH_F_TRAP));
            }
            return h.ToHashCode();
        }
    }

    private Dictionary<List<Nexthop>, SharedPaths>? _sharedPaths; // made with the first route

    /// <summary>The shared list equal to a fresh route's paths (taking a reference).</summary>
    private void InternPaths(Route r)
    {
        bool scratch = ReferenceEquals(r.Nexthops, _scratchPaths);
        if (r.Nh != null || r.Nexthops.Count == 0)
        {
            if (scratch) r.Nexthops = new List<Nexthop>(0);
        }
        else
        {
            if (!(_sharedPaths ??= new(PathsComparer.Instance)).TryGetValue(r.Nexthops, out var sp))
            {
                var own = scratch ? new List<Nexthop>(r.Nexthops) : r.Nexthops;
                sp = new SharedPaths { Paths = own };
                _sharedPaths.Add(own, sp);
            }
            sp.Refs++;
            r.Nexthops = sp.Paths;
        }
        _scratchPaths.Clear();
    }

    /// <summary>The list FibCreateInfo builds a route's paths in, until InternPaths swaps in the
    /// shared (or a new) list: a route whose paths exist already allocates none.</summary>
    private readonly List<Nexthop> _scratchPaths = new(8);

    /// <summary>Drops a route's reference to its shared paths.</summary>
    private void ReleasePaths(Route r)
    {
        if (r.Nh != null || r.Nexthops.Count == 0) return;
        if (_sharedPaths != null && _sharedPaths.TryGetValue(r.Nexthops, out var sp) && ReferenceEquals(sp.Paths, r.Nexthops) && --sp.Refs == 0)
            _sharedPaths.Remove(r.Nexthops);
    }

    /// <summary>fib_table_insert with a fib_config (the RTM_NEWROUTE path and fib_magic).</summary>
    public KErr FibTableInsert(FibTable tb, FibConfig cfg, out Route? route)
    {
        var err = FibCreateInfo(cfg, out route);
        if (err.Failed) return err;
        route!.Table = tb.Id;
        InternPaths(route);
        err = tb.Insert(route, cfg.NlFlags, out var replaced, out var notify, out bool unchanged);
        if (err.Failed || unchanged)
        {
            ReleasePaths(route);
            route = null;
            return err;
        }
        if (route.Nh != null) route.Nh.Routes.Add(route);
        if (replaced != null)
        {
            replaced.Nh?.Routes.Remove(replaced);
            FibInfoHashRemove(replaced);
            ReleasePaths(replaced);
        }
        FibInfoHashInsert(route);
        RouteEventKind kind;
        if (replaced != null) kind = RouteEventKind.Replace;
        else if ((notify & NLM_F_APPEND) != 0) kind = RouteEventKind.Append;
        else if ((notify & NLM_F_EXCL) != 0) kind = RouteEventKind.New;
        else kind = RouteEventKind.Create;
        Net.Events.Route(Net, route, kind);
        return KErr.Ok;
    }

    /// <summary>fib_table_delete with a fib_config.</summary>
    public KErr FibTableDelete(FibTable tb, FibConfig cfg)
    {
        var err = FibTable.ValidKeyLen(cfg.Dst, cfg.DstLen);
        if (err.Failed) return err;
        var victim = tb.FindForDelete(cfg, r => FibNhMatch(cfg, r) && FibMetricsMatch(cfg, r));
        if (victim == null) return new KErr(Errno.ESRCH);
        Net.Events.Route(Net, victim, RouteEventKind.Delete);
        UnlinkRoute(tb, victim);
        return KErr.Ok;
    }

    /// <summary>Removes a route from its table, its nexthop object's list and its shared paths.</summary>
    private void UnlinkRoute(FibTable tb, Route r)
    {
        if (r.Dead) return;
        tb.Remove(r);
        r.Nh?.Routes.Remove(r);
        FibInfoHashRemove(r);
        ReleasePaths(r);
    }

    /// <summary>fib_nh_match: does the request's nexthop description fit this route?</summary>
    private static bool FibNhMatch(FibConfig cfg, Route r)
    {
        if (cfg.Priority != 0 && cfg.Priority != r.Priority) return false;
        if (cfg.NhId != 0) return r.Nh != null && r.Nh.Id == cfg.NhId;
        if (cfg.Oif != 0 || cfg.GwFamily != 0)
        {
            var nh = r.FirstNh;
            if (nh == null) return false;
            if (cfg.Flow != 0 && cfg.Flow != nh.Realm) return false;
            if (cfg.Oif != 0 && cfg.Oif != nh.Oif) return false;
            if (cfg.GwFamily != 0 && cfg.GwFamily != nh.GwFamily) return false;
            if (cfg.GwFamily == AF_INET && cfg.Gateway != (uint)nh.Gateway) return false;
            if (cfg.GwFamily == AF_INET6 && cfg.Gateway6 != nh.Gateway) return false;
            return true;
        }
        if (cfg.Multipath == null) return true;
        int n = r.PathCount;
        for (int i = 0; i < n && i < cfg.Multipath.Count; i++)
        {
            var a = cfg.Multipath[i];
            var b = r.Path(i).Nh;
            if (a.Oif != 0 && a.Oif != b.Oif) return false;
            if (a.GwFamily == AF_INET && (b.GwFamily != AF_INET || (uint)a.Gateway != (uint)b.Gateway)) return false;
            if (a.GwFamily == AF_INET6 && (b.GwFamily != AF_INET6 || a.Gateway != b.Gateway)) return false;
            if (a.Realm != 0 && a.Realm != b.Realm) return false;
        }
        return true;
    }

    /// <summary>fib_metrics_match.</summary>
    private static bool FibMetricsMatch(FibConfig cfg, Route r)
    {
        if (cfg.Metrics == null) return true;
        for (int i = 1; i < cfg.Metrics.Length; i++)
        {
            if (cfg.Metrics[i] == 0) continue;
            uint have = r.Metrics != null && i < r.Metrics.Length ? r.Metrics[i] : 0;
            if (have != cfg.Metrics[i]) return false;
        }
        return true;
    }

    // ---- lookups ------------------------------------------------------------------------

    /// <summary>ip_ignore_linkdown.</summary>
    public bool IgnoreLinkdown(NetDevice? dev) =>
        dev?.Ip4 is { } d && (All[IPV4_DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN] != 0 || d.Cnf[IPV4_DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN] != 0);

    /// <summary>fib_lookup_good_nhc.</summary>
    private bool GoodNhc(Nexthop nhc, FibLookupFlags flags, in FlowI4 fl)
    {
        if ((nhc.Flags & RTNH_F_DEAD) != 0) return false;
        if ((nhc.Flags & RTNH_F_LINKDOWN) != 0 && (flags & FibLookupFlags.IgnoreLinkState) == 0 && IgnoreLinkdown(nhc.Dev))
            return false;
        if (!fl.SkipNhOif && fl.Oif != 0 && fl.Oif != nhc.Oif) return false;
        return true;
    }

    /// <summary>fib_table_lookup: the longest prefix with an alias that fits tos, scope and oif.
    /// Returns 0 (found), -EAGAIN (nothing here) or the error of a reject route.</summary>
    public int FibTableLookup(FibTable t, in FlowI4 fl, FibResult res, FibLookupFlags flags) =>
        FibTableLookup(t, null, fl, res, flags);

    /// <summary>fib_table_lookup over one trie, or over the trie main and local share while no
    /// custom rule exists (at each prefix length the local aliases come first, and the result
    /// reports the main table, as with the kernel's merged trie).</summary>
    private int FibTableLookup(FibTable t, FibTable? merged, in FlowI4 fl, FibResult res, FibLookupFlags flags)
    {
        ulong mask = t.PlenMask | (merged?.PlenMask ?? 0);
        for (int plen = 32; plen >= 0; plen--)
        {
            if ((mask & (1UL << plen)) == 0) continue;
            if (merged != null)
            {
                int e = LookupAliases(merged.HeadCovering(fl.Daddr, plen), t, fl, res, flags);
                if (e != Miss) return e;
            }
            int err = LookupAliases(t.HeadCovering(fl.Daddr, plen), t, fl, res, flags);
            if (err != Miss) return err;
        }
        return -Errno.EAGAIN;
    }

    /// <summary>No usable route at this prefix: the lookup backtracks to shorter ones.</summary>
    private const int Miss = 1;

    /// <summary>The aliases of one prefix: 0 (found), the error of a reject route (throw's -EAGAIN
    /// included, which ends the table's lookup) or <see cref="Miss"/>.</summary>
    private int LookupAliases(Route? head, FibTable t, in FlowI4 fl, FibResult res, FibLookupFlags flags)
    {
        for (var fa = head; fa != null; fa = fa.NextAlias)
        {
            if (fa.Tos != 0 && fa.Tos != (fl.Tos & 0xfc)) continue;
            if (fa.Dead) continue;
            if (fa.Scope < fl.Scope) continue;
            int err = FibPropsError(fa.Type);
            if (err < 0)
            {
                Fill(res, t, fa, 0, null);
                return err;
            }
            if ((fa.Flags & RTNH_F_DEAD) != 0) continue;
            if (fa.Nh != null)
            {
                if (fa.Nh.IsBlackhole) return FibPropsError(RTN_BLACKHOLE);
                int sel = NexthopGetNhcLookup(fa.Nh, flags, fl, out var nhc);
                if (nhc != null)
                {
                    Fill(res, t, fa, sel, nhc);
                    return 0;
                }
                continue;
            }
            var nhs = fa.Nexthops;
            for (int i = 0; i < nhs.Count; i++)
            {
                var nhc = nhs[i];
                if (!GoodNhc(nhc, flags, fl)) continue;
                Fill(res, t, fa, i, nhc);
                return 0;
            }
        }
        return Miss;
    }

    private static void Fill(FibResult res, FibTable t, Route fa, int sel, Nexthop? nhc)
    {
        res.Prefix = (uint)fa.Dst;
        res.PrefixLen = fa.DstLen;
        res.NhSel = sel;
        res.Nhc = nhc;
        res.Type = fa.Type;
        res.Scope = fa.Scope;
        res.Tos = fa.Tos;
        res.Fi = fa;
        res.Table = t;
    }

    /// <summary>nexthop_get_nhc_lookup: the first usable path of a nexthop object (for a group,
    /// the first alive member in order, as the kernel does for lookups).</summary>
    private int NexthopGetNhcLookup(NexthopObj nh, FibLookupFlags flags, in FlowI4 fl, out Nexthop? nhc)
    {
        int n = nh.PathCount;
        for (int i = 0; i < n; i++)
        {
            var p = nh.Path(i).Nh;
            if (GoodNhc(p, flags, fl))
            {
                nhc = p;
                return i;
            }
        }
        nhc = null;
        return 0;
    }

    /// <summary>fib_lookup / __fib_lookup: the rules decide which tables are asked.</summary>
    public int FibLookup(in FlowI4 fl, FibResult res, FibLookupFlags flags)
    {
        if (!Rules.HasCustomRules)
        {
            int e = FibTableLookup(Main, Local, fl, res, flags);
            if (e == -Errno.EAGAIN && GetTableExact(RT_TABLE_DEFAULT) is { } dflt) e = FibTableLookup(dflt, fl, res, flags);
            return e == -Errno.EAGAIN ? -Errno.ENETUNREACH : e;
        }
        return FibRulesLookup(fl, res, flags);
    }

    /// <summary>fib4_rules lookup (apart, so the common path builds no closure).</summary>
    private int FibRulesLookup(FlowI4 flow, FibResult res, FibLookupFlags flags)
    {
        var rf = new RuleFlow
        {
            Saddr = flow.Saddr, Daddr = flow.Daddr, Iif = flow.Iif, Oif = flow.Oif, Mark = flow.Mark, Tos = flow.Tos,
            Proto = flow.Proto, Sport = flow.Sport, Dport = flow.Dport, Uid = flow.Uid ?? uint.MaxValue,
        };
        int err = Rules.Lookup(rf, rule => Fib4RuleAction(rule, flow, res, flags), rule => Fib4RuleSuppress(rule, res), out var decided);
        res.Rule = decided;
        if (err == -Errno.ESRCH) err = -Errno.ENETUNREACH;
        if (err == -Errno.EAGAIN) err = -Errno.ENETUNREACH;
        return err;
    }

    /// <summary>fib4_rule_action.</summary>
    private int Fib4RuleAction(FibRule rule, in FlowI4 fl, FibResult res, FibLookupFlags flags)
    {
        switch (rule.Action)
        {
            case FR_ACT_TO_TBL: break;
            case FR_ACT_UNREACHABLE: return -Errno.ENETUNREACH;
            case FR_ACT_PROHIBIT: return -Errno.EACCES;
            default: return -Errno.EINVAL;
        }
        var tbl = GetTableExact(rule.Table);
        if (tbl == null) return -Errno.EAGAIN;
        return FibTableLookup(tbl, fl, res, flags);
    }

    /// <summary>fib4_rule_suppress.</summary>
    private static bool Fib4RuleSuppress(FibRule rule, FibResult res)
    {
        if (rule.SuppressPrefixLen != uint.MaxValue && res.PrefixLen <= (int)rule.SuppressPrefixLen) return true;
        if (rule.SuppressIfgroup != -1 && res.Dev != null && res.Dev.Group == (uint)rule.SuppressIfgroup) return true;
        return false;
    }

    // ---- fib_magic and the routes of addresses --------------------------------------------

    /// <summary>fib_magic: add or delete a kernel route for an address.</summary>
    private void FibMagic(bool add, int type, uint dst, int dstLen, InIfAddr ifa, uint rtPriority)
    {
        uint tbId = type == RTN_UNICAST ? (uint)RT_TABLE_MAIN : (uint)RT_TABLE_LOCAL;
        var tb = NewTable(tbId);
        var cfg = new FibConfig
        {
            Protocol = (byte)RTPROT_KERNEL, Type = (byte)type, Dst = dst, DstLen = (byte)dstLen,
            Priority = rtPriority, PrefSrc = ifa.Local, Oif = ifa.Dev.Ifindex,
            NlFlags = (ushort)(NLM_F_CREATE | NLM_F_APPEND), Table = tbId,
            Scope = (byte)(type != RTN_LOCAL ? RT_SCOPE_LINK : RT_SCOPE_HOST),
        };
        if (add) FibTableInsert(tb, cfg, out _);
        else FibTableDelete(tb, cfg);
    }

    /// <summary>fib_add_ifaddr: local route always; broadcast and prefix routes when the device is up.</summary>
    internal void FibAddIfaddr(InIfAddr ifa)
    {
        var inDev = ifa.Dev.Ip4!;
        var dev = ifa.Dev;
        var prim = ifa;
        uint mask = ifa.Mask, addr = ifa.Local, prefix = ifa.Address & mask;
        if (ifa.Secondary)
        {
            prim = inDev.ByPrefix(prefix, mask);
            if (prim == null) return;
        }
        FibMagic(true, RTN_LOCAL, addr, 32, prim, 0);
        if (!dev.IsUp) return;
        if (ifa.Broadcast != 0 && ifa.Broadcast != 0xffffffff)
            FibMagic(true, RTN_BROADCAST, ifa.Broadcast, 32, prim, 0);
        if (!Inet.IsV4ZeroNet(prefix) && !ifa.Secondary && (prefix != addr || ifa.PrefixLen < 32))
        {
            if ((ifa.Flags & IFA_F_NOPREFIXROUTE) == 0)
                FibMagic(true, dev.IsLoopback ? RTN_LOCAL : RTN_UNICAST, prefix, ifa.PrefixLen, prim, ifa.RtPriority);
            if (ifa.PrefixLen < 31)
                FibMagic(true, RTN_BROADCAST, prefix | ~mask, 32, prim, 0);
        }
    }

    /// <summary>fib_del_ifaddr: removes the routes of an address that no other address still needs.</summary>
    internal void FibDelIfaddr(InIfAddr ifa, InIfAddr? iprim)
    {
        const int LocalOk = 1, BrdOk = 2, Brd0Ok = 4, Brd1Ok = 8;
        var inDev = ifa.Dev.Ip4;
        var dev = ifa.Dev;
        if (inDev == null) return;
        var prim = ifa;
        InIfAddr? prim1 = null;
        uint brd = ifa.Address | ~ifa.Mask;
        uint any = ifa.Address & ifa.Mask;
        int ok = 0;
        bool subnet = false, gone = true, sameprefsrc = false;

        if (ifa.Secondary)
        {
            prim = inDev.ByPrefix(any, ifa.Mask);
            if (prim == null) return;
            if (iprim != null && iprim != prim) return;
        }
        else if (!Inet.IsV4ZeroNet(any) && (any != ifa.Local || ifa.PrefixLen < 32))
        {
            if ((ifa.Flags & IFA_F_NOPREFIXROUTE) == 0)
                FibMagic(false, dev.IsLoopback ? RTN_LOCAL : RTN_UNICAST, any, ifa.PrefixLen, prim, 0);
            subnet = true;
        }

        if (!inDev.Dead)
        {
            foreach (var ifa1 in inDev.Addrs)
            {
                if (ifa1 == ifa) { gone = false; continue; }
                if (iprim != null && ifa1.Mask == iprim.Mask && iprim.Matches(ifa1.Address)) continue;
                if (ifa1.Secondary)
                {
                    if (ifa1.Mask == prim.Mask && prim.Matches(ifa1.Address)) prim1 = prim;
                    else
                    {
                        if (!sameprefsrc) continue;
                        if (prim1 == null || ifa1.Mask != prim1.Mask || !prim1.Matches(ifa1.Address))
                            prim1 = inDev.ByPrefix(ifa1.Address, ifa1.Mask);
                        if (prim1 == null) continue;
                        if (prim1.Local != prim.Local) continue;
                    }
                }
                else
                {
                    if (prim.Local != ifa1.Local) continue;
                    prim1 = ifa1;
                    if (prim != prim1) sameprefsrc = true;
                }
                if (ifa.Local == ifa1.Local) ok |= LocalOk;
                if (ifa.Broadcast == ifa1.Broadcast) ok |= BrdOk;
                if (brd == ifa1.Broadcast) ok |= Brd1Ok;
                if (any == ifa1.Broadcast) ok |= Brd0Ok;
                if (prim1 == ifa1 && ifa1.PrefixLen < 31)
                {
                    uint brd1 = ifa1.Address | ~ifa1.Mask;
                    uint any1 = ifa1.Address & ifa1.Mask;
                    if (!Inet.IsV4ZeroNet(any1))
                    {
                        if (ifa.Broadcast == brd1 || ifa.Broadcast == any1) ok |= BrdOk;
                        if (brd == brd1 || brd == any1) ok |= Brd1Ok;
                        if (any == brd1 || any == any1) ok |= Brd0Ok;
                    }
                }
            }
        }

        if ((ok & BrdOk) == 0) FibMagic(false, RTN_BROADCAST, ifa.Broadcast, 32, prim, 0);
        if (subnet && ifa.PrefixLen < 31)
        {
            if ((ok & Brd1Ok) == 0) FibMagic(false, RTN_BROADCAST, brd, 32, prim, 0);
            if ((ok & Brd0Ok) == 0) FibMagic(false, RTN_BROADCAST, any, 32, prim, 0);
        }
        if ((ok & LocalOk) == 0)
        {
            FibMagic(false, RTN_LOCAL, ifa.Local, 32, prim, 0);
            int addrType = InetAddrTypeDevTable(dev, ifa.Local);
            if (gone && addrType != RTN_LOCAL)
            {
                if (FibSyncDownAddr(dev, ifa.Local)) FibFlush();
            }
        }
    }

    /// <summary>fib_modify_prefix_metric: IFA_RT_PRIORITY changed on an existing address.</summary>
    private void FibModifyPrefixMetric(InIfAddr ifa, uint newMetric)
    {
        uint prefix = ifa.Address & ifa.Mask;
        var dev = ifa.Dev;
        if (!dev.IsUp || Inet.IsV4ZeroNet(prefix) || ifa.Secondary ||
            (prefix == ifa.Local && ifa.PrefixLen == 32) || (ifa.Flags & IFA_F_NOPREFIXROUTE) != 0)
            return;
        FibMagic(true, dev.IsLoopback ? RTN_LOCAL : RTN_UNICAST, prefix, ifa.PrefixLen, ifa, newMetric);
        FibMagic(false, dev.IsLoopback ? RTN_LOCAL : RTN_UNICAST, prefix, ifa.PrefixLen, ifa, ifa.RtPriority);
    }

    /// <summary>fib_inetaddr_event(NETDEV_UP).</summary>
    private void FibInetaddrUp(InIfAddr ifa)
    {
        FibAddIfaddr(ifa);
        FibSyncUp(ifa.Dev, (uint)RTNH_F_DEAD);
    }

    /// <summary>fib_inetaddr_event(NETDEV_DOWN).</summary>
    private void FibInetaddrDown(InIfAddr ifa)
    {
        FibDelIfaddr(ifa, null);
        if (ifa.Dev.Ip4 is { IsEmpty: true }) FibDisableIp(ifa.Dev, NetdevEvent.Down, true);
    }

    // ---- device state -> routes ------------------------------------------------------------

    /// <summary>fib_disable_ip.</summary>
    private void FibDisableIp(NetDevice dev, NetdevEvent ev, bool force)
    {
        if (FibSyncDownDev(dev, ev, force)) FibFlush();
    }

    /// <summary>fib_sync_down_dev: marks the nexthops through <paramref name="dev"/> dead (or
    /// linkdown); returns whether any route became dead. Routes through nexthop objects are left to
    /// the nexthop code.</summary>
    private bool FibSyncDownDev(NetDevice dev, NetdevEvent ev, bool force)
    {
        int scope = force ? -1 : RT_SCOPE_NOWHERE;
        bool ret = false;
        foreach (var r in RoutesThroughDev(dev))
        {
                if (r.Nh != null || r.Nexthops.Count == 0) continue;
                int dead = 0;
                bool touched = false;
                foreach (var nh in r.Nexthops)
                {
                    if (nh.Dev == dev) touched = true;
                    if ((nh.Flags & RTNH_F_DEAD) != 0) { dead++; continue; }
                    if (nh.Dev != dev) continue;
                    if (nh.Scope != scope)
                    {
                        switch (ev)
                        {
                            case NetdevEvent.Down:
                            case NetdevEvent.Unregister:
                                nh.Flags |= (uint)(RTNH_F_DEAD | RTNH_F_LINKDOWN);
                                break;
                            case NetdevEvent.Change:
                                nh.Flags |= (uint)RTNH_F_LINKDOWN;
                                break;
                        }
                        NoteFlagged(dev, r);
                        dead++;
                    }
                    if (ev == NetdevEvent.Unregister)
                    {
                        dead = r.Nexthops.Count;
                        break;
                    }
                }
                if (!touched) continue;
                if (dead == r.Nexthops.Count)
                {
                    switch (ev)
                    {
                        case NetdevEvent.Down:
                        case NetdevEvent.Unregister:
                            r.Flags |= (uint)(RTNH_F_DEAD | RTNH_F_LINKDOWN);
                            break;
                        case NetdevEvent.Change:
                            r.Flags |= (uint)RTNH_F_LINKDOWN;
                            break;
                    }
                    ret = true;
                }
        }
        return ret;
    }

    /// <summary>fib_sync_down_addr: routes of the main table whose prefsrc was this (now gone)
    /// local address die.</summary>
    private bool FibSyncDownAddr(NetDevice dev, uint local)
    {
        if (local == 0) return false;
        bool ret = false;
        if (_laddrRoutes == null || !_laddrRoutes.TryGetValue(local, out var withSrc)) return false;
        foreach (var r in withSrc)
            if (r.Table == RT_TABLE_MAIN)
            {
                r.Flags |= (uint)RTNH_F_DEAD;
                ret = true;
            }
        _ = dev;
        return ret;
    }

    /// <summary>fib_sync_up: nexthops through <paramref name="dev"/> come back (RTNH_F_DEAD when the
    /// device is up again, RTNH_F_LINKDOWN when the carrier is back).</summary>
    private void FibSyncUp(NetDevice dev, uint nhFlags)
    {
        if (!dev.IsUp) return;
        if ((nhFlags & RTNH_F_DEAD) != 0 && (dev.GetFlags() & (IFF_RUNNING | IFF_LOWER_UP)) != 0)
            nhFlags |= (uint)RTNH_F_LINKDOWN;
        if (_devFlagged == null || !_devFlagged.TryGetValue(dev, out var flagged)) return;
        List<Route>? clean = null;
        foreach (var r in flagged)
        {
            int alive = 0;
            bool stillFlagged = false;
            foreach (var nh in r.Nexthops)
            {
                if ((nh.Flags & nhFlags) == 0) { alive++; }
                else if (nh.Dev != null && nh.Dev.IsUp && nh.Dev == dev && dev.Ip4 != null)
                {
                    alive++;
                    nh.Flags &= ~nhFlags;
                }
                if (nh.Dev == dev && (nh.Flags & NhDownFlags) != 0) stillFlagged = true;
            }
            if (alive > 0) r.Flags &= ~nhFlags;
            if (!stillFlagged) (clean ??= new()).Add(r);
        }
        if (clean != null)
            foreach (var r in clean) HashRemove(_devFlagged, dev, r);
    }

    /// <summary>fib_flush / fib_table_flush: removes every dead route. Like the kernel, no
    /// RTM_DELROUTE is sent for routes flushed this way.</summary>
    internal void FibFlush()
    {
        foreach (var tb in _tables.Values)
        {
            List<Route>? dead = null;
            foreach (var r in tb.Routes)
                if ((r.Flags & RTNH_F_DEAD) != 0) (dead ??= new()).Add(r);
            if (dead == null) continue;
            foreach (var r in dead) UnlinkRoute(tb, r);
        }
    }

    /// <summary>fib_netdev_event: the FIB's netdev notifier.</summary>
    private sealed class FibNetdevEvent(Ipv4Net v4) : INetdevNotifier
    {
        public void OnNetdevEvent(NetdevEvent ev, NetDevice dev)
        {
            if (ev == NetdevEvent.Unregister)
            {
                v4.FibDisableIp(dev, ev, true);
                return;
            }
            var inDev = dev.Ip4;
            if (inDev == null) return;
            switch (ev)
            {
                case NetdevEvent.Up:
                    foreach (var ifa in inDev.Addrs.ToList()) v4.FibAddIfaddr(ifa);
                    v4.FibSyncUp(dev, (uint)RTNH_F_DEAD);
                    break;
                case NetdevEvent.Down:
                    v4.FibDisableIp(dev, ev, false);
                    break;
                case NetdevEvent.Change:
                    uint flags = dev.GetFlags();
                    if ((flags & (IFF_RUNNING | IFF_LOWER_UP)) != 0) v4.FibSyncUp(dev, (uint)RTNH_F_LINKDOWN);
                    else v4.FibSyncDownDev(dev, ev, false);
                    break;
            }
        }
    }
}
