using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv4;

/// <summary>struct fib_table with its trie (net/ipv4/fib_trie.c). The routes of one (prefix, length)
/// — the trie leaf's fa_slen run — form a chain through <see cref="Route.NextAlias"/> in
/// fib_find_alias order (tos descending, then priority ascending, insertion rules of
/// fib_table_insert); the first of the chain stands for the prefix. Longest-prefix match probes
/// one hash per prefix length present (at most 33 probes: O(prefix length)); an ordered index gives
/// the order of the trie walk (prefix ascending, longer prefix first for the same prefix) and lets
/// a dump resume from the last key it sent, as fib_table_dump does.</summary>
public sealed class FibTable
{
    /// <summary>The trie walk order as one number: the key, then the suffix length (longer prefix first).</summary>
    private static ulong OrderKey(uint key, int plen) => ((ulong)key << 8) | (uint)(32 - plen);

    private readonly Dictionary<ulong, Route> _heads = new();
    private readonly SortedIndex<ulong, Route> _ordered = new();
    /// <summary>Routes per prefix length; made with the first route (most tables of most namespaces stay empty).</summary>
    private int[]? _plenCount;
    private ulong _plenMask;

    public FibTable(uint id, long seq)
    {
        Id = id;
        CreatedSeq = seq;
    }

    public uint Id { get; }
    internal long CreatedSeq { get; }
    public int RouteCount { get; private set; }
    /// <summary>tb_num_default: routes with prefix length 0 (fib_select_default looks at them).</summary>
    public int NumDefault { get; private set; }
    /// <summary>Prefixes (distinct (key, length) pairs) in the table.</summary>
    public int PrefixCount => _heads.Count;

    /// <summary>Every route in dump order. Tolerates changes between steps (the walk continues
    /// after the last prefix it visited), so dumps can hold it across datagrams.</summary>
    public IEnumerable<Route> Routes
    {
        get
        {
            var c = _ordered.Start();
            while (_ordered.MoveNext(ref c))
                for (var r = c.Value; r != null; r = r.NextAlias)
                    yield return r;
        }
    }

    /// <summary>A snapshot of every route (for the device events, which may unlink routes).</summary>
    public List<Route> RouteList()
    {
        var l = new List<Route>(RouteCount);
        foreach (var h in _ordered.Values)
            for (var r = h; r != null; r = r.NextAlias) l.Add(r);
        return l;
    }

    /// <summary>The first route of a prefix (fib_find_node), its chain follows <see cref="Route.NextAlias"/>.</summary>
    public Route? FindHead(uint key, byte plen) => _heads.GetValueOrDefault(OrderKey(key, plen));

    /// <summary>The routes of one prefix in order.</summary>
    public IEnumerable<Route> Aliases(uint key, byte plen)
    {
        for (var r = FindHead(key, plen); r != null; r = r.NextAlias) yield return r;
    }

    /// <summary>Bit n set: some route has prefix length n.</summary>
    public ulong PlenMask => _plenMask;

    /// <summary>The first route of the prefix of length <paramref name="plen"/> covering <paramref name="addr"/>.</summary>
    public Route? HeadCovering(uint addr, int plen) =>
        _heads.GetValueOrDefault(OrderKey(addr & Inet.Mask4(plen), plen));

    /// <summary>fib_valid_key_len.</summary>
    public static KErr ValidKeyLen(uint key, int plen)
    {
        if (plen > 32) return new KErr(Errno.EINVAL, "Invalid prefix length");
        if ((key & ~Inet.Mask4(plen)) != 0) return new KErr(Errno.EINVAL, "Invalid prefix for given prefix length");
        return KErr.Ok;
    }

    /// <summary>fib_find_alias: the first alias at or after the insertion point of (tos, priority),
    /// with the one before it (null when it is the head).</summary>
    private static Route? FindAlias(Route? head, byte tos, uint prio, out Route? prev)
    {
        prev = null;
        for (var fa = head; fa != null; prev = fa, fa = fa.NextAlias)
        {
            if (fa.Tos > tos) continue;
            if (fa.Priority >= prio || fa.Tos < tos) return fa;
        }
        prev = null;
        return null;
    }

    /// <summary>fib_table_insert: adds <paramref name="route"/> (a complete fib_info + alias) under
    /// the NLM_F_* semantics of <paramref name="nlflags"/>. <paramref name="replaced"/> is the route
    /// NLM_F_REPLACE replaced; <paramref name="unchanged"/> tells that a replace found the very same
    /// route and did nothing (the kernel answers success).</summary>
    public KErr Insert(Route route, ushort nlflags, out Route? replaced, out ushort notifyFlags, out bool unchanged)
    {
        replaced = null;
        notifyFlags = 0;
        unchanged = false;
        uint key = (uint)route.Dst;
        var err = ValidKeyLen(key, route.DstLen);
        if (err.Failed) return err;

        ulong ok = OrderKey(key, route.DstLen);
        var head = _heads.GetValueOrDefault(ok);
        var fa = FindAlias(head, route.Tos, route.Priority, out var prev);
        ushort nlf = (ushort)NLM_F_EXCL;
        // insert before `before` (null = at the end), after `after` (null = as head)
        Route? before = fa, after = fa != null ? prev : Last(head);

        if (fa != null && fa.Tos == route.Tos && fa.Priority == route.Priority)
        {
            if ((nlflags & NLM_F_EXCL) != 0) return new KErr(Errno.EEXIST);
            nlf = 0;
            Route faFirst = fa;
            Route? faFirstPrev = prev;
            Route? faMatch = null, stopPrev = prev, stop = fa;
            for (; stop != null; stopPrev = stop, stop = stop.NextAlias)
            {
                if (stop.Tos != route.Tos || stop.Priority != route.Priority) break;
                if (stop.Type == route.Type && SameInfo(stop, route)) { faMatch = stop; break; }
            }
            if ((nlflags & NLM_F_REPLACE) != 0)
            {
                if (faMatch != null)
                {
                    if (faMatch == faFirst)
                    {
                        unchanged = true;
                        return KErr.Ok;
                    }
                    return new KErr(Errno.EEXIST);
                }
                route.Seq = faFirst.Seq;
                route.Table = Id;
                route.Dead = false;
                route.NextAlias = faFirst.NextAlias;
                if (faFirstPrev == null) SetHead(ok, route);
                else faFirstPrev.NextAlias = route;
                faFirst.Dead = true;
                replaced = faFirst;
                notifyFlags = (ushort)(nlf | NLM_F_REPLACE);
                return KErr.Ok;
            }
            if (faMatch != null) return new KErr(Errno.EEXIST);
            if ((nlflags & NLM_F_APPEND) != 0)
            {
                nlf |= (ushort)NLM_F_APPEND;
                // where the scan stopped: after the run of equal keys
                before = stop;
                after = stopPrev;
            }
            else
            {
                before = faFirst;
                after = faFirstPrev;
            }
        }
        if ((nlflags & NLM_F_CREATE) == 0) return new KErr(Errno.ENOENT);
        notifyFlags = (ushort)(nlf | NLM_F_CREATE);

        route.NextAlias = before;
        if (head == null)
        {
            route.NextAlias = null;
            _heads.Add(ok, route);
            _ordered.Add(ok, route);
            if ((_plenCount ??= new int[33])[route.DstLen]++ == 0) _plenMask |= 1UL << route.DstLen;
        }
        else if (after == null) SetHead(ok, route);
        else after.NextAlias = route;
        route.Table = Id;
        route.Dead = false;
        RouteCount++;
        if (route.DstLen == 0) NumDefault++;
        return KErr.Ok;
    }

    private static Route? Last(Route? head)
    {
        if (head == null) return null;
        var r = head;
        while (r.NextAlias != null) r = r.NextAlias;
        return r;
    }

    private void SetHead(ulong ok, Route route)
    {
        _heads[ok] = route;
        _ordered.SetValue(ok, route);
    }

    /// <summary>Puts the routes of a prefix in another order (a state import restoring the order the
    /// routes were inserted in); the sort is stable.</summary>
    public void SortAliases(uint key, byte plen, Comparison<Route> order)
    {
        ulong ok = OrderKey(key, plen);
        var head = _heads.GetValueOrDefault(ok);
        if (head?.NextAlias == null) return;
        var l = new List<Route>();
        for (var r = head; r != null; r = r.NextAlias) l.Add(r);
        var sorted = l.Select((r, i) => (r, i)).OrderBy(x => x.r, Comparer<Route>.Create(order)).ThenBy(x => x.i)
            .Select(x => x.r).ToList();
        for (int i = 0; i < sorted.Count; i++) sorted[i].NextAlias = i + 1 < sorted.Count ? sorted[i + 1] : null;
        SetHead(ok, sorted[0]);
    }

    /// <summary>Unlinks a route (fib_remove_alias). The route keeps its link onwards, so a walk
    /// standing on it goes on.</summary>
    public void Remove(Route route)
    {
        ulong ok = OrderKey((uint)route.Dst, route.DstLen);
        var head = _heads.GetValueOrDefault(ok);
        Route? prev = null;
        var r = head;
        while (r != null && r != route)
        {
            prev = r;
            r = r.NextAlias;
        }
        if (r == null) return;
        route.Dead = true;
        RouteCount--;
        if (route.DstLen == 0) NumDefault--;
        if (prev != null)
        {
            prev.NextAlias = route.NextAlias;
            return;
        }
        if (route.NextAlias != null)
        {
            SetHead(ok, route.NextAlias);
            return;
        }
        _heads.Remove(ok);
        _ordered.Remove(ok);
        if (--_plenCount![route.DstLen] == 0) _plenMask &= ~(1UL << route.DstLen);
    }

    /// <summary>fib_table_delete's search: the first alias with the given keys that the
    /// configuration's filters match (type, scope, prefsrc, protocol, fib_nh_match).</summary>
    public Route? FindForDelete(FibConfig cfg, Func<Route, bool> nhMatch)
    {
        var fa = FindAlias(FindHead(cfg.Dst, cfg.DstLen), cfg.Tos, 0, out _);
        if (fa == null || fa.Tos != cfg.Tos) return null;
        for (var a = fa; a != null; a = a.NextAlias)
        {
            if (a.Tos != cfg.Tos) break;
            if ((cfg.Type == 0 || a.Type == cfg.Type) &&
                (cfg.Scope == RT_SCOPE_NOWHERE || a.Scope == cfg.Scope) &&
                (cfg.PrefSrc == 0 || (uint)a.PrefSrc == cfg.PrefSrc) &&
                (cfg.Protocol == 0 || a.Protocol == cfg.Protocol) &&
                nhMatch(a))
                return a;
        }
        return null;
    }

    /// <summary>fib_info equality as fib_find_info sees it (what makes two aliases "the same route").</summary>
    public static bool SameInfo(Route a, Route b)
    {
        if (a.Protocol != b.Protocol || a.Scope != b.Scope || a.Priority != b.Priority ||
            a.PrefSrc != b.PrefSrc || a.NhId != b.NhId || a.Type != b.Type ||
            ((a.Flags ^ b.Flags) & ~(uint)(RTNH_F_DEAD | RTNH_F_LINKDOWN | RTNH_F_OFFLOAD | RTNH_F_TRAP)) != 0)
            return false;
        if (!MetricsEqual(a.Metrics, b.Metrics)) return false;
        if (a.NhId != 0) return true;
        return SamePaths(a.Nexthops, b.Nexthops);
    }

    /// <summary>nh_comp: the same paths (mutable flags aside).</summary>
    public static bool SamePaths(List<Nexthop> a, List<Nexthop> b)
    {
        if (ReferenceEquals(a, b)) return true;
        if (a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++)
        {
            var x = a[i];
            var y = b[i];
            if (x.Dev != y.Dev || x.Oif != y.Oif || x.GwFamily != y.GwFamily || x.Gateway != y.Gateway || x.Weight != y.Weight ||
                x.Scope != y.Scope || x.Realm != y.Realm ||
                ((x.Flags ^ y.Flags) & ~(uint)(RTNH_F_DEAD | RTNH_F_LINKDOWN | RTNH_F_OFFLOAD | RTNH_F_TRAP)) != 0)
                return false;
        }
        return true;
    }

    private static bool MetricsEqual(uint[]? a, uint[]? b)
    {
        if (ReferenceEquals(a, b)) return true;
        if (a == null || b == null) return (a == null || a.All(v => v == 0)) && (b == null || b.All(v => v == 0));
        return a.AsSpan().SequenceEqual(b);
    }
}
