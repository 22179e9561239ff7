using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv4;

/// <summary>struct fib_table with its trie (net/ipv4/fib_trie.c). Routes are grouped in nodes by
/// (prefix, length); a node's aliases keep fib_find_alias order (tos descending, then priority
/// ascending, insertion rules of fib_table_insert). Longest-prefix match probes one hash per
/// prefix length present (at most 33), and an ordered set gives the dump order of the trie walk:
/// prefix ascending, longer prefix first for the same prefix.</summary>
public sealed class FibTable
{
    public sealed class Node
    {
        public uint Key;
        public byte Plen;
        public readonly List<Route> Aliases = new(1);
    }

    private static readonly Comparer<Node> DumpOrder = Comparer<Node>.Create((a, b) =>
    {
        int c = a.Key.CompareTo(b.Key);
        return c != 0 ? c : b.Plen.CompareTo(a.Plen);
    });

    private readonly Dictionary<(uint, byte), Node> _nodes = new();
    private readonly SortedSet<Node> _ordered = new(DumpOrder);
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

    /// <summary>Every route in dump order.</summary>
    public IEnumerable<Route> Routes
    {
        get
        {
            foreach (var n in _ordered)
                foreach (var r in n.Aliases)
                    yield return r;
        }
    }

    public Node? FindNode(uint key, byte plen) => _nodes.GetValueOrDefault((key, plen));

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
    /// the NLM_F_* semantics of <paramref name="nlflags"/>. Returns the replaced route when
    /// NLM_F_REPLACE replaced one.</summary>
    public KErr Insert(Route route, ushort nlflags, out Route? replaced, out ushort notifyFlags)
    {
        replaced = null;
        notifyFlags = 0;
        uint key = (uint)route.Dst;
        var err = ValidKeyLen(key, route.DstLen);
        if (err.Failed) return err;

        var node = FindNode(key, route.DstLen);
        var list = node?.Aliases;
        int fa = list == null ? -1 : FindAlias(list, route.Tos, route.Priority);
        int insertAt = fa < 0 ? (list?.Count ?? 0) : fa;

        if (list != null && fa >= 0 && list[fa].Tos == route.Tos && list[fa].Priority == route.Priority)
        {
            if ((nlflags & NLM_F_EXCL) != 0) return new KErr(Errno.EEXIST);
            int faFirst = fa, faMatch = -1, i = fa;
            for (; i < list.Count; i++)
            {
                var a = list[i];
                if (a.Tos != route.Tos || a.Priority != route.Priority) break;
                if (a.Type == route.Type && SameInfo(a, route)) { faMatch = i; break; }
            }
            if ((nlflags & NLM_F_REPLACE) != 0)
            {
                var old = list[faFirst];
                if (old.Type == route.Type && SameInfo(old, route)) return new KErr(Errno.EEXIST);
                route.Seq = old.Seq;
                list[faFirst] = route;
                old.Dead = true;
                replaced = old;
                notifyFlags = (ushort)NLM_F_REPLACE;
                return KErr.Ok;
            }
            if (faMatch >= 0) return new KErr(Errno.EEXIST);
            if ((nlflags & NLM_F_APPEND) != 0)
            {
                // after the run of aliases with the same keys
                int j = faFirst;
                while (j < list.Count && list[j].Tos == route.Tos && list[j].Priority == route.Priority) j++;
                insertAt = j;
                notifyFlags |= (ushort)NLM_F_APPEND;
            }
            else insertAt = faFirst;
        }
        if ((nlflags & NLM_F_CREATE) == 0) return new KErr(Errno.ENOENT);
        notifyFlags |= (ushort)NLM_F_CREATE;

        if (node == null)
        {
            node = new Node { Key = key, Plen = route.DstLen };
            _nodes.Add((key, route.DstLen), node);
            _ordered.Add(node);
            if (_plenCount[route.DstLen]++ == 0) _plenMask |= 1UL << route.DstLen;
            insertAt = 0;
        }
        node.Aliases.Insert(insertAt, route);
        route.Table = Id;
        route.Dead = false;
        RouteCount++;
        return KErr.Ok;
    }

    /// <summary>Unlinks a route found by <see cref="FindForDelete"/> or a flush.</summary>
    public void Remove(Route route)
    {
        var node = FindNode((uint)route.Dst, route.DstLen);
        if (node == null || !node.Aliases.Remove(route)) return;
        route.Dead = true;
        RouteCount--;
        if (node.Aliases.Count == 0)
        {
            _nodes.Remove((node.Key, node.Plen));
            _ordered.Remove(node);
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
        for (int i = fa; i < node.Aliases.Count; i++)
        {
            var a = node.Aliases[i];
            if (a.Tos != cfg.Tos) break;
            if ((cfg.Type == 0 || a.Type == cfg.Type) &&
                (cfg.Scope == RT_SCOPE_NOWHERE || a.Scope == cfg.Scope) &&
                (cfg.PrefSrc == 0 || (a.HasPrefSrc && (uint)a.PrefSrc == cfg.PrefSrc)) &&
                (cfg.Protocol == 0 || a.Protocol == cfg.Protocol) &&
                nhMatch(a))
                return a;
        }
        return null;
    }

    /// <summary>The nodes that could match <paramref name="addr"/>, longest prefix first
    /// (the trie's backtracking order in fib_table_lookup).</summary>
    public IEnumerable<Node> Matches(uint addr)
    {
        ulong mask = _plenMask;
        for (int plen = 32; plen >= 0; plen--)
        {
            if ((mask & (1UL << plen)) == 0) continue;
            if (_nodes.TryGetValue((addr & Inet.Mask4(plen), (byte)plen), out var n)) yield return n;
        }
    }

    /// <summary>fib_info equality as fib_find_info sees it (what makes two aliases "the same route").</summary>
    public static bool SameInfo(Route a, Route b)
    {
        if (a.Protocol != b.Protocol || a.Scope != b.Scope || a.Priority != b.Priority ||
            a.HasPrefSrc != b.HasPrefSrc || a.PrefSrc != b.PrefSrc || a.NhId != b.NhId ||
            (a.Flags & ~(uint)(RTNH_F_DEAD | RTNH_F_LINKDOWN)) != (b.Flags & ~(uint)(RTNH_F_DEAD | RTNH_F_LINKDOWN)))
            return false;
        if (!MetricsEqual(a.Metrics, b.Metrics)) return false;
        if (a.Nexthops.Count != b.Nexthops.Count) return false;
        for (int i = 0; i < a.Nexthops.Count; i++)
        {
            var x = a.Nexthops[i];
            var y = b.Nexthops[i];
            if (x.Dev != y.Dev || x.GwFamily != y.GwFamily || x.Gateway != y.Gateway || x.Weight != y.Weight ||
                x.Realm != y.Realm || ((x.Flags ^ y.Flags) & ~(uint)(RTNH_F_DEAD | RTNH_F_LINKDOWN)) != 0)
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
