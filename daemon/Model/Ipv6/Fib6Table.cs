using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv6;

/// <summary>struct fib6_table with its radix tree (net/ipv6/ip6_fib.c). Routes are grouped in nodes
/// by destination prefix; a node's leaf list is ordered by metric (fib6_add_rt2node appends after
/// routes of equal metric). Dumps follow fib6_walk's post-order: a prefix comes after every more
/// specific prefix below it, which is the order of (last address covered, longer prefix first).
/// Longest-prefix match probes one hash per prefix length present.</summary>
public sealed class Fib6Table
{
    public sealed class Node
    {
        public UInt128 Key;
        public byte Plen;
        public readonly List<Route> Leaf = new(1);
        public UInt128 Last => Key | ~Inet.Mask6(Plen);
    }

    private static readonly Comparer<Node> DumpOrder = Comparer<Node>.Create((a, b) =>
    {
        int c = a.Last.CompareTo(b.Last);
        return c != 0 ? c : b.Plen.CompareTo(a.Plen);
    });

    private readonly Dictionary<(UInt128, byte), Node> _nodes = new();
    private readonly SortedSet<Node> _ordered = new(DumpOrder);
    private readonly int[] _plenCount = new int[129];
    private UInt128 _plenMaskLo; // bits 0..127 for plen 0..127
    private bool _has128;

    public Fib6Table(uint id, long seq)
    {
        Id = id;
        CreatedSeq = seq;
    }

    public uint Id { get; }
    internal long CreatedSeq { get; }
    public int RouteCount { get; private set; }

    public IEnumerable<Route> Routes
    {
        get
        {
            foreach (var n in _ordered)
                foreach (var r in n.Leaf)
                    yield return r;
        }
    }

    public Node? FindNode(UInt128 key, byte plen) => _nodes.GetValueOrDefault((key, plen));

    private bool HasPlen(int plen) => plen == 128 ? _has128 : ((_plenMaskLo >> plen) & UInt128.One) != UInt128.Zero;

    private void CountPlen(int plen, int delta)
    {
        _plenCount[plen] += delta;
        bool present = _plenCount[plen] > 0;
        if (plen == 128) _has128 = present;
        else if (present) _plenMaskLo |= UInt128.One << plen;
        else _plenMaskLo &= ~(UInt128.One << plen);
    }

    /// <summary>fib6_add + fib6_add_rt2node: inserts <paramref name="rt"/> under NLM_F_* semantics.
    /// Same metric and same nexthop is a duplicate (EEXIST); NLM_F_REPLACE replaces the first route
    /// of equal metric.</summary>
    public KErr Insert(Route rt, ushort nlflags, Func<Route, Route, bool> sameNexthop, out Route? replaced)
    {
        replaced = null;
        bool replace = (nlflags & NLM_F_REPLACE) != 0;
        bool add = (nlflags & NLM_F_CREATE) != 0;
        var node = FindNode(rt.Dst, rt.DstLen);
        int ins = node?.Leaf.Count ?? 0;
        if (node != null)
        {
            var leaf = node.Leaf;
            for (int i = 0; i < leaf.Count; i++)
            {
                var iter = leaf[i];
                if (iter.Priority == rt.Priority)
                {
                    if ((nlflags & NLM_F_EXCL) != 0) return new KErr(Errno.EEXIST);
                    if (replace)
                    {
                        rt.Table = Id;
                        rt.Seq = iter.Seq;
                        leaf[i] = rt;
                        iter.Dead = true;
                        replaced = iter;
                        return KErr.Ok;
                    }
                    if (sameNexthop(iter, rt)) return new KErr(Errno.EEXIST);
                }
                if (iter.Priority > rt.Priority) { ins = i; break; }
                ins = i + 1;
            }
        }
        if (replace && !add) return new KErr(Errno.ENOENT);
        if (node == null)
        {
            node = new Node { Key = rt.Dst, Plen = rt.DstLen };
            _nodes.Add((rt.Dst, rt.DstLen), node);
            _ordered.Add(node);
            CountPlen(rt.DstLen, 1);
            ins = 0;
        }
        node.Leaf.Insert(ins, rt);
        rt.Table = Id;
        rt.Dead = false;
        RouteCount++;
        return KErr.Ok;
    }

    public void Remove(Route rt)
    {
        var node = FindNode(rt.Dst, rt.DstLen);
        if (node == null || !node.Leaf.Remove(rt)) return;
        rt.Dead = true;
        RouteCount--;
        if (node.Leaf.Count == 0)
        {
            _nodes.Remove((node.Key, node.Plen));
            _ordered.Remove(node);
            CountPlen(node.Plen, -1);
        }
    }

    /// <summary>Nodes covering <paramref name="addr"/>, most specific first (fib6_node_lookup).</summary>
    public IEnumerable<Node> Matches(UInt128 addr)
    {
        for (int plen = 128; plen >= 0; plen--)
        {
            if (!HasPlen(plen)) continue;
            if (_nodes.TryGetValue((addr & Inet.Mask6(plen), (byte)plen), out var n)) yield return n;
        }
    }
}
