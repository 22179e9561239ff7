using System.Text;
using VirtKernel.Model;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.SysfsFs.Views;

/// <summary>net/ipv4/fib_trie.c's level-compressed trie, as /proc/net/fib_trie and fib_triestat
/// show it: the same insertion (a new tnode at the first differing bit), the same resize rules
/// (inflate while 50*(non-empty + full children) reaches 50% of the slots, 30% at the root; halve
/// below 25%/15%; collapse a node with one child) and the same depth-first walk. The trie is built
/// from the table's routes in the order they were inserted, one leaf per key, the routes of a key
/// as its aliases.</summary>
internal sealed class FibTrieView
{
    private const int KeyLength = 32;
    private const int MaxWork = 10;
    private const int InflateThreshold = 50, InflateThresholdRoot = 30, HalveThreshold = 25, HalveThresholdRoot = 15;

    internal sealed class Kv
    {
        public uint Key;
        public int Pos;
        public int Bits;
        public Kv? Parent;
        public Kv?[] Children = [];
        public List<Route> Leaf = new();
        public int Full, Empty;
        public bool IsLeaf => Bits == 0 && !IsTrie;
        public bool IsTrie;
        public int ChildLength => 1 << Bits;
    }

    private readonly Kv _trie = new() { Pos = KeyLength, Bits = 0, IsTrie = true, Children = new Kv?[1] };

    private static bool IsTnode(Kv? n) => n != null && !n.IsLeaf && !n.IsTrie;

    private static uint GetIndex(uint key, Kv kv) => kv.Pos >= KeyLength ? 0 : (key ^ kv.Key) >> kv.Pos;

    private static Kv? GetChild(Kv tn, long i) => tn.Children[i];

    private static Kv TnodeNew(uint key, int pos, int bits)
    {
        int shift = pos + bits;
        var tn = new Kv
        {
            Key = shift < KeyLength ? (key >> shift) << shift : 0,
            Pos = pos, Bits = bits, Children = new Kv?[1 << bits],
        };
        if (bits == KeyLength) tn.Full = 1;
        else tn.Empty = 1 << bits;
        return tn;
    }

    private static bool TnodeFull(Kv tn, Kv? n) => n != null && n.Pos + n.Bits == tn.Pos && IsTnode(n);

    /// <summary>put_child: keeps the empty/full child counts.</summary>
    private static void PutChild(Kv tn, long i, Kv? n)
    {
        var chi = GetChild(tn, i);
        if (n == null && chi != null) tn.Empty++;
        if (n != null && chi == null) tn.Empty--;
        bool wasfull = TnodeFull(tn, chi), isfull = TnodeFull(tn, n);
        if (wasfull && !isfull) tn.Full--;
        else if (!wasfull && isfull) tn.Full++;
        tn.Children[i] = n;
    }

    private static void PutChildRoot(Kv tp, uint key, Kv? n)
    {
        if (tp.IsTrie) tp.Children[0] = n;
        else PutChild(tp, GetIndex(key, tp), n);
    }

    /// <summary>fib_find_node.</summary>
    private Kv? FindNode(uint key, out Kv tp)
    {
        Kv pn, n = _trie;
        long index = 0;
        Kv? child;
        do
        {
            pn = n;
            child = GetChild(n, index);
            if (child == null) break;
            index = GetIndex(key, child);
            if (index >= child.ChildLength) { child = null; break; }
            n = child;
        } while (IsTnode(child));
        tp = pn;
        return child;
    }

    /// <summary>fib_insert_alias / fib_insert_node for a route of key <paramref name="key"/>.</summary>
    public void Insert(uint key, Route r)
    {
        var l = FindNode(key, out var tp);
        if (l != null)
        {
            InsertAlias(l, r);
            return;
        }
        var leaf = new Kv { Key = key, Pos = 0, Bits = 0 };
        leaf.Leaf.Add(r);
        var n = GetChild(tp, GetIndex(key, tp));
        if (n != null)
        {
            int pos = 31 - System.Numerics.BitOperations.LeadingZeroCount(key ^ n.Key);
            var tn = TnodeNew(key, pos, 1);
            tn.Parent = tp;
            PutChild(tn, GetIndex(key, tn) ^ 1, n);
            PutChildRoot(tp, key, tn);
            n.Parent = tn;
            tp = tn;
        }
        leaf.Parent = tp;
        PutChildRoot(tp, key, leaf);
        Rebalance(tp);
    }

    /// <summary>The aliases of a leaf: longer prefixes first, then the higher table id.</summary>
    private static void InsertAlias(Kv l, Route r)
    {
        int i = 0;
        for (; i < l.Leaf.Count; i++)
        {
            var last = l.Leaf[i];
            if (r.DstLen > last.DstLen) break;
            if (r.DstLen == last.DstLen && r.Table > last.Table) break;
        }
        l.Leaf.Insert(i, r);
    }

    private void Rebalance(Kv tn)
    {
        while (!tn.IsTrie) tn = Resize(tn);
    }

    private static bool ShouldInflate(Kv tp, Kv tn)
    {
        long used = tn.ChildLength;
        long threshold = used * (tp.IsTrie ? InflateThresholdRoot : InflateThreshold);
        used -= tn.Empty;
        used += tn.Full;
        return used > 1 && tn.Pos != 0 && 50 * used >= threshold;
    }

    private static bool ShouldHalve(Kv tp, Kv tn)
    {
        long used = tn.ChildLength;
        long threshold = used * (tp.IsTrie ? HalveThresholdRoot : HalveThreshold);
        used -= tn.Empty;
        return used > 1 && tn.Bits > 1 && 100 * used < threshold;
    }

    private static bool ShouldCollapse(Kv tn)
    {
        long used = tn.ChildLength - tn.Empty;
        if (tn.Bits == KeyLength && tn.Full != 0) used -= uint.MaxValue;
        return used < 2;
    }

    private Kv Resize(Kv tn)
    {
        var tp = tn.Parent!;
        long cindex = GetIndex(tn.Key, tp);
        int maxWork = MaxWork;
        while (ShouldInflate(tp, tn) && maxWork > 0)
        {
            tp = Inflate(tn);
            maxWork--;
            tn = GetChild(tp, cindex)!;
        }
        tp = tn.Parent!;
        if (maxWork != MaxWork) return tp;
        while (ShouldHalve(tp, tn) && maxWork > 0)
        {
            tp = Halve(tn);
            maxWork--;
            tn = GetChild(tp, cindex)!;
        }
        if (ShouldCollapse(tn)) return Collapse(tn);
        return tn.Parent!;
    }

    private Kv Inflate(Kv old)
    {
        var tn = TnodeNew(old.Key, old.Pos - 1, old.Bits + 1);
        uint m = 1u << tn.Pos;
        for (long i = old.ChildLength; i > 0;)
        {
            var inode = GetChild(old, --i);
            if (inode == null) continue;
            if (!TnodeFull(old, inode))
            {
                PutChild(tn, GetIndex(inode.Key, tn), inode);
                continue;
            }
            if (inode.Bits == 1)
            {
                PutChild(tn, 2 * i + 1, GetChild(inode, 1));
                PutChild(tn, 2 * i, GetChild(inode, 0));
                continue;
            }
            var node1 = TnodeNew(inode.Key | m, inode.Pos, inode.Bits - 1);
            var node0 = TnodeNew(inode.Key, inode.Pos, inode.Bits - 1);
            for (long k = inode.ChildLength, j = k / 2; j > 0;)
            {
                PutChild(node1, --j, GetChild(inode, --k));
                PutChild(node0, j, GetChild(inode, j));
                PutChild(node1, --j, GetChild(inode, --k));
                PutChild(node0, j, GetChild(inode, j));
            }
            node1.Parent = tn;
            node0.Parent = tn;
            PutChild(tn, 2 * i + 1, node1);
            PutChild(tn, 2 * i, node0);
        }
        return Replace(old, tn);
    }

    private Kv Halve(Kv old)
    {
        var tn = TnodeNew(old.Key, old.Pos + 1, old.Bits - 1);
        for (long i = old.ChildLength; i > 0;)
        {
            var node1 = GetChild(old, --i);
            var node0 = GetChild(old, --i);
            if (node1 == null || node0 == null)
            {
                PutChild(tn, i / 2, node1 ?? node0);
                continue;
            }
            var inode = TnodeNew(node0.Key, old.Pos, 1);
            PutChild(inode, 1, node1);
            PutChild(inode, 0, node0);
            inode.Parent = tn;
            PutChild(tn, i / 2, inode);
        }
        return Replace(old, tn);
    }

    private Kv Replace(Kv old, Kv tn)
    {
        var tp = old.Parent!;
        tn.Parent = tp;
        PutChildRoot(tp, tn.Key, tn);
        // update_children
        foreach (var c in tn.Children)
            if (c != null) c.Parent = tn;
        for (long i = tn.ChildLength; i > 0;)
        {
            var inode = GetChild(tn, --i);
            if (TnodeFull(tn, inode)) tn = Resize(inode!);
        }
        return tp;
    }

    private Kv Collapse(Kv old)
    {
        Kv? n = null;
        for (long i = old.ChildLength; n == null && i > 0;) n = GetChild(old, --i);
        var tp = old.Parent!;
        PutChildRoot(tp, old.Key, n);
        if (n != null) n.Parent = tp;
        return tp;
    }

    /// <summary>Builds the trie of the routes of <paramref name="tables"/> (main and local share one
    /// trie while there are no custom rules), routes inserted in their insertion order.</summary>
    public static FibTrieView Build(IEnumerable<Route> routes)
    {
        var t = new FibTrieView();
        foreach (var r in routes.OrderBy(r => r.Seq)) t.Insert((uint)r.Dst, r);
        return t;
    }

    public bool IsEmpty => _trie.Children[0] == null;

    private static readonly string[] TypeNames =
        ["UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST", "BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE"];

    private static string ScopeName(byte s) => s switch
    {
        (byte)RT_SCOPE_UNIVERSE => "universe",
        (byte)RT_SCOPE_SITE => "site",
        (byte)RT_SCOPE_LINK => "link",
        (byte)RT_SCOPE_HOST => "host",
        (byte)RT_SCOPE_NOWHERE => "nowhere",
        _ => s.ToString(),
    };

    private static string Ip(uint k) => $"{k >> 24}.{(k >> 16) & 0xff}.{(k >> 8) & 0xff}.{k & 0xff}";

    private static void Indent(StringBuilder sb, int n)
    {
        for (int i = 0; i < n; i++) sb.Append("   ");
    }

    /// <summary>The depth-first walk of fib_trie_get_first / fib_trie_get_next: (node, depth).</summary>
    private IEnumerable<(Kv Node, int Depth)> Walk()
    {
        var root = _trie.Children[0];
        if (root == null) yield break;
        if (root.IsLeaf)
        {
            yield return (root, 0);
            yield break;
        }
        yield return (root, 1);
        var stack = new Stack<(Kv Tn, long Index, int Depth)>();
        stack.Push((root, 0, 1));
        while (stack.Count > 0)
        {
            var (pn, ci, depth) = stack.Pop();
            bool pushed = false;
            while (ci < pn.ChildLength)
            {
                var n = GetChild(pn, ci++);
                if (n == null) continue;
                if (n.IsLeaf)
                {
                    yield return (n, depth);
                    continue;
                }
                stack.Push((pn, ci, depth));
                stack.Push((n, 0, depth + 1));
                yield return (n, depth + 1);
                pushed = true;
                break;
            }
            _ = pushed;
        }
    }

    /// <summary>fib_trie_seq_show for one table (its name first).</summary>
    public void Show(StringBuilder sb, string table)
    {
        if (IsEmpty) return;
        sb.Append(table).Append(":\n");
        foreach (var (n, depth) in Walk())
        {
            if (!n.IsLeaf)
            {
                Indent(sb, depth - 1);
                sb.Append("  +-- ").Append(Ip(n.Key)).Append('/').Append(KeyLength - n.Pos - n.Bits)
                  .Append(' ').Append(n.Bits).Append(' ').Append(n.Full).Append(' ').Append(n.Empty).Append('\n');
                continue;
            }
            Indent(sb, depth);
            sb.Append("  |-- ").Append(Ip(n.Key)).Append('\n');
            foreach (var fa in n.Leaf)
            {
                Indent(sb, depth + 1);
                sb.Append("  /").Append(fa.DstLen).Append(' ').Append(ScopeName(fa.Scope)).Append(' ')
                  .Append(fa.Type < TypeNames.Length ? TypeNames[fa.Type] : fa.Type.ToString());
                if (fa.Tos != 0) sb.Append(" tos=").Append(fa.Tos);
                sb.Append('\n');
            }
        }
    }

    /// <summary>trie_collect_stats + trie_show_stats for one table.</summary>
    public void ShowStats(StringBuilder sb, string table)
    {
        const int leafSize = 48, tnodeSize = 40, aliasSize = 56, maxStatDepth = 32;
        int leaves = 0, totdepth = 0, maxdepth = 0, prefixes = 0, tnodes = 0, nullptrs = 0;
        var nodesizes = new int[maxStatDepth];
        foreach (var (n, depth) in Walk())
        {
            if (n.IsLeaf)
            {
                leaves++;
                totdepth += depth;
                maxdepth = Math.Max(maxdepth, depth);
                prefixes += n.Leaf.Count;
            }
            else
            {
                tnodes++;
                if (n.Bits < maxStatDepth) nodesizes[n.Bits]++;
                nullptrs += n.Empty;
            }
        }
        sb.Append(table).Append(":\n");
        int avdepth = leaves > 0 ? totdepth * 100 / leaves : 0;
        sb.Append($"\tAver depth:     {avdepth / 100}.{avdepth % 100:D2}\n");
        sb.Append($"\tMax depth:      {maxdepth}\n");
        sb.Append($"\tLeaves:         {leaves}\n");
        long bytes = (long)leafSize * leaves;
        sb.Append($"\tPrefixes:       {prefixes}\n");
        bytes += (long)aliasSize * prefixes;
        sb.Append($"\tInternal nodes: {tnodes}\n\t");
        bytes += (long)tnodeSize * tnodes;
        int max = maxStatDepth;
        while (max > 0 && nodesizes[max - 1] == 0) max--;
        long pointers = 0;
        for (int i = 1; i < max; i++)
            if (nodesizes[i] != 0)
            {
                sb.Append($"  {i}: {nodesizes[i]}");
                pointers += (1L << i) * nodesizes[i];
            }
        sb.Append('\n');
        sb.Append($"\tPointers: {pointers}\n");
        bytes += 8 * pointers;
        sb.Append($"Null ptrs: {nullptrs}\n");
        sb.Append($"Total size: {(bytes + 1023) / 1024}  kB\n");
    }
}
