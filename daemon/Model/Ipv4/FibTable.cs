using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv4;

/// <summary>struct fib_table with its trie (net/ipv4/fib_trie.c). Routes are grouped in nodes by
/// (prefix, length) — the trie's leaves and their fa_slen runs; a node's aliases keep
/// fib_find_alias order (tos descending, then priority ascending, insertion rules of
/// fib_table_insert). Longest-prefix match probes one hash per prefix length present (at most 33
/// probes: O(prefix length)); an ordered index gives the order of the trie walk (prefix
/// ascending, longer prefix first for the same prefix) and lets a dump resume from the last key
/// it sent, as fib_table_dump does.</summary>
public sealed class FibTable
{
    public sealed class Node
    {
        public uint Key;
        public byte Plen;
        public readonly List<Route> Aliases = new(1);
        /// <summary>Position in the walk order.</summary>
        public ulong SortKey => OrderKey(Key, Plen);
    }

    /// <summary>The trie walk order as one number: the key, then the suffix length (longer prefix first).</summary>
    private static ulong OrderKey(uint key, int plen) => ((ulong)key << 8) | (uint)(32 - plen);

    private readonly Dictionary<ulong, Node> _nodes = new();
    private readonly SortedIndex<ulong, Node> _ordered = new();
    private readonly int[] _plenCount = new int[33];
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

    /// <summary>Every route in dump order. Tolerates changes between steps (the walk continues
    /// after the last node it visited), so dumps can hold it across datagrams.</summary>
    public IEnumerable<Route> Routes
    {
        get
        {
            var c = _ordered.Start();
            while (_ordered.MoveNext(ref c))
            {
                var n = c.Value;
                for (int i = 0; i < n.Aliases.Count; i++) yield return n.Aliases[i];
            }
        }
    }

    /// <summary>A snapshot of every route (for the device events, which may unlink routes).</summary>
    public List<Route> RouteList()
    {
        var l = new List<Route>(RouteCount);
        foreach (var n in _ordered.Values) l.AddRange(n.Aliases);
        return l;
    }

    public Node? FindNode(uint key, byte plen) => _nodes.GetValueOrDefault(OrderKey(key, plen));

    /// <summary>Bit n set: some route has prefix length n.</summary>
    public ulong PlenMask => _plenMask;

    /// <summary>The node of length <paramref name="plen"/> covering <paramref name="addr"/>.</summary>
    public Node? NodeCovering(uint addr, int plen) =>
        _nodes.GetValueOrDefault(OrderKey(addr & Inet.Mask4(plen), plen));

    /// <summary>fib_valid_key_len.</summary>
    public static KErr ValidKeyLen(uint key, int plen)
    {
        if (plen > 32) return new KErr(Errno.EINVAL, "Invalid prefix length");
        if ((key & ~Inet.Mask4(plen)) != 0) return new KErr(Errno.EINVAL, "Invalid prefix for given prefix length");
        return KErr.Ok;
    }

    /// <summary>fib_find_alias: index of the first alias with (tos, priority) at or after the
    /// insertion point for a route with these keys.</summary>
    private static int FindAlias(List<Route> l, byte tos, uint prio)
    {
        for (int i = 0; i < l.Count; i++)
        {
            var fa = l[i];
            if (fa.Tos > tos) continue;
            if (fa.Priority >= prio || fa.Tos < tos) return i;
        }
        return -1;
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

        var node = FindNode(key, route.DstLen);
        var list = node?.Aliases;
        int fa = list == null ? -1 : FindAlias(list, route.Tos, route.Priority);
        int insertAt = fa < 0 ? (list?.Count ?? 0) : fa;
        ushort nlf = (ushort)NLM_F_EXCL;

        if (list != null && fa >= 0 && list[fa].Tos == route.Tos && list[fa].Priority == route.Priority)
        {
            if ((nlflags & NLM_F_EXCL) != 0) return new KErr(Errno.EEXIST);
            nlf = 0;
            int faFirst = fa, faMatch = -1, i = fa;
            for (; i < list.Count; i++)
            {
                var a = list[i];
                if (a.Tos != route.Tos || a.Priority != route.Priority) break;
                if (a.Type == route.Type && SameInfo(a, route)) { faMatch = i; break; }
            }
            if ((nlflags & NLM_F_REPLACE) != 0)
            {
                if (faMatch >= 0)
                {
                    if (faMatch == faFirst)
                    {
                        unchanged = true;
                        return KErr.Ok;
                    }
                    return new KErr(Errno.EEXIST);
                }
                var old = list[faFirst];
                route.Seq = old.Seq;
                route.Table = Id;
                route.Dead = false;
                list[faFirst] = route;
                old.Dead = true;
                replaced = old;
                notifyFlags = (ushort)(nlf | NLM_F_REPLACE);
                return KErr.Ok;
            }
            if (faMatch >= 0) return new KErr(Errno.EEXIST);
            if ((nlflags & NLM_F_APPEND) != 0)
            {
                nlf |= (ushort)NLM_F_APPEND;
                insertAt = i; // where the scan stopped: after the run of equal keys
            }
            else insertAt = faFirst;
        }
        if ((nlflags & NLM_F_CREATE) == 0) return new KErr(Errno.ENOENT);
        notifyFlags = (ushort)(nlf | NLM_F_CREATE);

        if (node == null)
        {
            node = new Node { Key = key, Plen = route.DstLen };
            ulong k = OrderKey(key, route.DstLen);
            _nodes.Add(k, node);
            _ordered.Add(k, node);
            if (_plenCount[route.DstLen]++ == 0) _plenMask |= 1UL << route.DstLen;
            insertAt = 0;
        }
        node.Aliases.Insert(insertAt, route);
        route.Table = Id;
        route.Dead = false;
        RouteCount++;
        if (route.DstLen == 0) NumDefault++;
        return KErr.Ok;
    }

    /// <summary>Unlinks a route (fib_remove_alias).</summary>
    public void Remove(Route route)
    {
        var node = FindNode((uint)route.Dst, route.DstLen);
        if (node == null || !node.Aliases.Remove(route)) return;
        route.Dead = true;
        RouteCount--;
        if (route.DstLen == 0) NumDefault--;
        if (node.Aliases.Count == 0)
        {
            ulong k = node.SortKey;
            _nodes.Remove(k);
            _ordered.Remove(k);
            if (--_plenCount[node.Plen] == 0) _plenMask &= ~(1UL << node.Plen);
        }
    }

    /// <summary>fib_table_delete's search: the first alias with the given keys that the
    /// configuration's filters match (type, scope, prefsrc, protocol, fib_nh_match).</summary>
    public Route? FindForDelete(FibConfig cfg, Func<Route, bool> nhMatch)
    {
        var node = FindNode(cfg.Dst, cfg.DstLen);
        if (node == null) return null;
        int fa = FindAlias(node.Aliases, cfg.Tos, 0);
        if (fa < 0) return null;
        var l = node.Aliases;
        if (l[fa].Tos != cfg.Tos) return null;
        for (int i = fa; i < l.Count; i++)
        {
            var a = l[i];
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

    /// <summary>The nodes that could match <paramref name="addr"/>, longest prefix first
    /// (the trie's backtracking order in fib_table_lookup).</summary>
    public MatchEnumerator Matches(uint addr) => new(this, addr);

    public struct MatchEnumerator
    {
        private readonly FibTable _t;
        private readonly uint _addr;
        private int _plen;

        internal MatchEnumerator(FibTable t, uint addr)
        {
            _t = t;
            _addr = addr;
            _plen = 33;
            Current = null!;
        }

        public Node Current { get; private set; }
        public readonly MatchEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            ulong mask = _t._plenMask;
            while (--_plen >= 0)
            {
                if ((mask & (1UL << _plen)) == 0) continue;
                if (_t._nodes.TryGetValue(OrderKey(_addr & Inet.Mask4(_plen), _plen), out var n))
                {
                    Current = n;
                    return true;
                }
            }
            return false;
        }
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
        if (a.Nexthops.Count != b.Nexthops.Count) return false;
        for (int i = 0; i < a.Nexthops.Count; i++)
        {
            var x = a.Nexthops[i];
            var y = b.Nexthops[i];
            if (x.Dev != y.Dev || x.GwFamily != y.GwFamily || x.Gateway != y.Gateway || x.Weight != y.Weight ||
                x.Scope != y.Scope || x.Realm != y.Realm ||
                ((x.Flags ^ y.Flags) & ~(uint)(RTNH_F_DEAD | RTNH_F_LINKDOWN | RTNH_F_OFFLOAD | RTNH_F_TRAP)) != 0)
                return false;
        }
        return true;
    }

    private static bool MetricsEqual(uint[]? a, uint[]? b)
    {
        if (a == null || b == null) return (a == null || a.All(v => v == 0)) && (b == null || b.All(v => v == 0));
        return a.AsSpan().SequenceEqual(b);
    }
}
