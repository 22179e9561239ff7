using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv6;

/// <summary>struct fib6_table with its radix tree (net/ipv6/ip6_fib.c). Routes are grouped in nodes
/// by destination prefix; a node's leaf list is ordered by metric (fib6_add_rt2node appends after
/// routes of equal metric, ECMP siblings included). Dumps follow fib6_walk's post-order: a prefix
/// comes after every more specific prefix below it, which is the order of (last address covered,
/// longer prefix first). Longest-prefix match probes one hash per prefix length present (at most
/// 129 probes: O(prefix length)); an ordered index lets a dump resume after the last node it sent.</summary>
public sealed class Fib6Table
{
    /// <summary>Walk order key: last address covered, then longer prefix first, then the source prefix.</summary>
    public readonly record struct Key(UInt128 Last, byte InvPlen, UInt128 Src, byte SrcLen) : IComparable<Key>
    {
        public int CompareTo(Key o)
        {
            int c = Last.CompareTo(o.Last);
            if (c != 0) return c;
            c = InvPlen.CompareTo(o.InvPlen);
            if (c != 0) return c;
            c = o.SrcLen.CompareTo(SrcLen);
            return c != 0 ? c : Src.CompareTo(o.Src);
        }
    }

    public sealed class Node
    {
        public UInt128 Key;
        public byte Plen;
        public UInt128 Src;
        public byte SrcLen;
        public readonly List<Route> Leaf = new(1);
        public UInt128 Last => Key | ~Inet.Mask6(Plen);
        public Fib6Table.Key SortKey => MakeKey(Key, Plen, Src, SrcLen);
    }

    private static Key MakeKey(UInt128 dst, byte plen, UInt128 src, byte srcLen) =>
        new(dst | ~Inet.Mask6(plen), (byte)(128 - plen), src, srcLen);

    private readonly Dictionary<Key, Node> _nodes = new();
    private readonly SortedIndex<Key, Node> _ordered = new();
    /// <summary>Routes per prefix length; made with the first route (most tables of most namespaces stay empty).</summary>
    private int[]? _plenCount;
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

    /// <summary>Every route in dump order, tolerant of changes between steps.</summary>
    public IEnumerable<Route> Routes
    {
        get
        {
            var c = _ordered.Start();
            while (_ordered.MoveNext(ref c))
            {
                var n = c.Value;
                for (int i = 0; i < n.Leaf.Count; i++) yield return n.Leaf[i];
            }
        }
    }

    /// <summary>A snapshot of every route.</summary>
    public List<Route> RouteList()
    {
        var l = new List<Route>(RouteCount);
        foreach (var n in _ordered.Values) l.AddRange(n.Leaf);
        return l;
    }

    /// <summary>fib6_locate with exact match (destination only).</summary>
    public Node? FindNode(UInt128 key, byte plen) => FindNode(key, plen, 0, 0);

    public Node? FindNode(UInt128 key, byte plen, UInt128 src, byte srcLen) =>
        _nodes.GetValueOrDefault(MakeKey(key & Inet.Mask6(plen), plen, src & Inet.Mask6(srcLen), srcLen));

    private bool HasPlen(int plen) => plen == 128 ? _has128 : ((_plenMaskLo >> plen) & UInt128.One) != UInt128.Zero;

    private void CountPlen(int plen, int delta)
    {
        var counts = _plenCount ??= new int[129];
        counts[plen] += delta;
        bool present = counts[plen] > 0;
        if (plen == 128) _has128 = present;
        else if (present) _plenMaskLo |= UInt128.One << plen;
        else _plenMaskLo &= ~(UInt128.One << plen);
    }

    /// <summary>The node for a route, created when missing.</summary>
    public Node GetOrAddNode(Route rt)
    {
        var k = MakeKey(rt.Dst, rt.DstLen, rt.Src, rt.SrcLen);
        if (_nodes.TryGetValue(k, out var node)) return node;
        node = new Node { Key = rt.Dst, Plen = rt.DstLen, Src = rt.Src, SrcLen = rt.SrcLen };
        _nodes.Add(k, node);
        _ordered.Add(k, node);
        CountPlen(rt.DstLen, 1);
        return node;
    }

    /// <summary>Links a route into its node's leaf list at <paramref name="index"/>.</summary>
    public void LinkAt(Node node, int index, Route rt)
    {
        node.Leaf.Insert(index, rt);
        rt.Table = Id;
        rt.Dead = false;
        RouteCount++;
    }

    /// <summary>Replaces the route at <paramref name="index"/>.</summary>
    public void ReplaceAt(Node node, int index, Route rt)
    {
        var old = node.Leaf[index];
        node.Leaf[index] = rt;
        rt.Table = Id;
        rt.Dead = false;
        old.Dead = true;
    }

    /// <summary>Unlinks the route at <paramref name="index"/> (the node stays: the caller holds a route in it).</summary>
    public void RemoveAt(Node node, int index)
    {
        node.Leaf[index].Dead = true;
        node.Leaf.RemoveAt(index);
        RouteCount--;
    }

    /// <summary>Unlinks a route; an emptied node goes away.</summary>
    public void Remove(Route rt)
    {
        var node = FindNode(rt.Dst, rt.DstLen, rt.Src, rt.SrcLen);
        if (node == null || !node.Leaf.Remove(rt)) return;
        rt.Dead = true;
        RouteCount--;
        if (node.Leaf.Count == 0) DropNode(node);
    }

    /// <summary>Removes an empty node (a node created for an insert that then failed, too).</summary>
    public void DropNode(Node node)
    {
        if (node.Leaf.Count != 0) return;
        var k = node.SortKey;
        if (!_nodes.Remove(k)) return;
        _ordered.Remove(k);
        CountPlen(node.Plen, -1);
    }

    /// <summary>Nodes covering <paramref name="addr"/>, most specific first (fib6_node_lookup and
    /// fib6_backtrack; source-specific nodes are not matched by source): the next node with a
    /// prefix of at most <paramref name="plen"/> bits (start at 128), leaving <paramref name="plen"/>
    /// below it for the next call; null when none is left.</summary>
    public Node? NextMatch(UInt128 addr, ref int plen)
    {
        for (; plen >= 0; plen--)
        {
            if (!HasPlen(plen)) continue;
            if (_nodes.TryGetValue(MakeKey(addr & Inet.Mask6(plen), (byte)plen, 0, 0), out var n))
            {
                plen--;
                return n;
            }
        }
        return null;
    }
}
