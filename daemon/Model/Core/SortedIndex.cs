namespace VirtKernel.Model;

/// <summary>An ordered map (a B+ tree with linked leaves) for the FIBs and other kernel tables
/// that are walked in key order: insert, delete and lookup in O(log n), and a cursor that a dump
/// can hold across datagrams. A cursor survives changes of the tree: it remembers the last key it
/// returned and re-seeks from there when the tree changed under it (the way the kernel's dumps
/// resume from the last key they put in cb->args).</summary>
public sealed class SortedIndex<TKey, TValue> where TKey : struct, IComparable<TKey>
{
    private const int LeafCap = 64;
    private const int InnerCap = 64;

    private abstract class NodeBase
    {
        public int Count;
    }

    /// <summary>A leaf starts small and grows to <see cref="LeafCap"/>: most indexes of a
    /// namespace (its neighbour tables, nexthops, the FIB tables of an unused family) stay empty or
    /// nearly so, and a namespace should cost kilobytes, not a full leaf per index. An empty tree's
    /// leaf has no arrays of its own (the shared empty ones) until its first key.</summary>
    private sealed class Leaf(int cap) : NodeBase
    {
        public TKey[] Keys = cap == 0 ? [] : new TKey[cap];
        public TValue[] Values = cap == 0 ? [] : new TValue[cap];
        public Leaf? Next, Prev;
    }

    private const int FirstLeafCap = 2;

    /// <summary>Keys[i] is a lower bound of child i's keys (and above every key of child i-1);
    /// Keys[0] is unused.</summary>
    private sealed class Inner : NodeBase
    {
        public readonly TKey[] Keys = new TKey[InnerCap];
        public readonly NodeBase[] Children = new NodeBase[InnerCap];
    }

    private NodeBase _root = new Leaf(0);
    private Leaf _first;

    public SortedIndex() => _first = (Leaf)_root;

    public int Count { get; private set; }
    /// <summary>Bumped by every insert and delete (cursors compare it to know they must re-seek).</summary>
    public int Version { get; private set; }

    // ---- lookup --------------------------------------------------------------------------------

    private static int ChildIndex(Inner n, in TKey key)
    {
        // last i with Keys[i] <= key (i >= 1), else 0
        int lo = 1, hi = n.Count - 1, r = 0;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (n.Keys[mid].CompareTo(key) <= 0) { r = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return r;
    }

    /// <summary>First index in the leaf whose key is >= key.</summary>
    private static int LowerBound(Leaf l, in TKey key)
    {
        int lo = 0, hi = l.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (l.Keys[mid].CompareTo(key) < 0) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private Leaf FindLeaf(in TKey key)
    {
        var n = _root;
        while (n is Inner inner) n = inner.Children[ChildIndex(inner, key)];
        return (Leaf)n;
    }

    public bool TryGetValue(in TKey key, out TValue value)
    {
        var l = FindLeaf(key);
        int i = LowerBound(l, key);
        if (i < l.Count && l.Keys[i].CompareTo(key) == 0)
        {
            value = l.Values[i];
            return true;
        }
        value = default!;
        return false;
    }

    /// <summary>Replaces the value of a present key (cursors are not disturbed).</summary>
    public bool SetValue(in TKey key, TValue value)
    {
        var l = FindLeaf(key);
        int i = LowerBound(l, key);
        if (i >= l.Count || l.Keys[i].CompareTo(key) != 0) return false;
        l.Values[i] = value;
        return true;
    }

    // ---- insert --------------------------------------------------------------------------------

    /// <summary>Adds a key that is not present yet; returns false (and changes nothing) if it is.</summary>
    public bool Add(in TKey key, TValue value)
    {
        var split = Insert(_root, key, value, out bool added, out var sepKey);
        if (!added) return false;
        if (split != null)
        {
            var root = new Inner { Count = 2 };
            root.Children[0] = _root;
            root.Children[1] = split;
            root.Keys[1] = sepKey;
            _root = root;
        }
        Count++;
        Version++;
        return true;
    }

    private NodeBase? Insert(NodeBase node, in TKey key, TValue value, out bool added, out TKey sepKey)
    {
        sepKey = default;
        if (node is Leaf leaf)
        {
            int i = LowerBound(leaf, key);
            if (i < leaf.Count && leaf.Keys[i].CompareTo(key) == 0)
            {
                added = false;
                return null;
            }
            added = true;
            if (leaf.Count < LeafCap)
            {
                InsertAt(leaf, i, key, value);
                return null;
            }
            // split: the upper half moves to a new leaf
            var right = new Leaf(LeafCap);
            int half = LeafCap / 2;
            Array.Copy(leaf.Keys, half, right.Keys, 0, LeafCap - half);
            Array.Copy(leaf.Values, half, right.Values, 0, LeafCap - half);
            Array.Clear(leaf.Values, half, LeafCap - half);
            right.Count = LeafCap - half;
            leaf.Count = half;
            right.Next = leaf.Next;
            if (right.Next != null) right.Next.Prev = right;
            right.Prev = leaf;
            leaf.Next = right;
            if (i <= half) InsertAt(leaf, i, key, value);
            else InsertAt(right, i - half, key, value);
            sepKey = right.Keys[0];
            return right;
        }
        var inner = (Inner)node;
        int c = ChildIndex(inner, key);
        var newChild = Insert(inner.Children[c], key, value, out added, out var childSep);
        if (newChild == null) return null;
        if (inner.Count < InnerCap)
        {
            InsertChild(inner, c + 1, childSep, newChild);
            return null;
        }
        var rightInner = new Inner();
        int h = InnerCap / 2;
        Array.Copy(inner.Keys, h, rightInner.Keys, 0, InnerCap - h);
        Array.Copy(inner.Children, h, rightInner.Children, 0, InnerCap - h);
        Array.Clear(inner.Children, h, InnerCap - h);
        rightInner.Count = InnerCap - h;
        inner.Count = h;
        var sep = rightInner.Keys[0];
        if (c + 1 <= h) InsertChild(inner, c + 1, childSep, newChild);
        else InsertChild(rightInner, c + 1 - h, childSep, newChild);
        sepKey = sep;
        return rightInner;
    }

    private static void InsertAt(Leaf l, int i, in TKey key, TValue value)
    {
        if (l.Count == l.Keys.Length)
        {
            int cap = Math.Clamp(l.Keys.Length * 2, FirstLeafCap, LeafCap);
            Array.Resize(ref l.Keys, cap);
            Array.Resize(ref l.Values, cap);
        }
        if (i < l.Count)
        {
            Array.Copy(l.Keys, i, l.Keys, i + 1, l.Count - i);
            Array.Copy(l.Values, i, l.Values, i + 1, l.Count - i);
        }
        l.Keys[i] = key;
        l.Values[i] = value;
        l.Count++;
    }

    private static void InsertChild(Inner n, int i, in TKey key, NodeBase child)
    {
        if (i < n.Count)
        {
            Array.Copy(n.Keys, i, n.Keys, i + 1, n.Count - i);
            Array.Copy(n.Children, i, n.Children, i + 1, n.Count - i);
        }
        n.Keys[i] = key;
        n.Children[i] = child;
        n.Count++;
    }

    // ---- delete --------------------------------------------------------------------------------

    /// <summary>Removes a key; returns whether it was there. Empty nodes are unlinked (no merging:
    /// the height stays bounded by the largest size the tree ever had).</summary>
    public bool Remove(in TKey key)
    {
        if (!Delete(_root, key, out _)) return false;
        // shrink the root while it is an inner node with a single child
        while (_root is Inner r && r.Count == 1) _root = r.Children[0];
        if (_root is Inner { Count: 0 })
        {
            var l = new Leaf(0);
            _root = l;
            _first = l;
        }
        Count--;
        Version++;
        return true;
    }

    /// <summary>Deletes from the subtree; <paramref name="empty"/> tells the parent to drop the child.</summary>
    private bool Delete(NodeBase node, in TKey key, out bool empty)
    {
        empty = false;
        if (node is Leaf leaf)
        {
            int i = LowerBound(leaf, key);
            if (i >= leaf.Count || leaf.Keys[i].CompareTo(key) != 0) return false;
            leaf.Count--;
            if (i < leaf.Count)
            {
                Array.Copy(leaf.Keys, i + 1, leaf.Keys, i, leaf.Count - i);
                Array.Copy(leaf.Values, i + 1, leaf.Values, i, leaf.Count - i);
            }
            leaf.Values[leaf.Count] = default!;
            if (leaf.Count == 0 && leaf != _root)
            {
                if (leaf.Prev != null) leaf.Prev.Next = leaf.Next;
                else _first = leaf.Next!;
                if (leaf.Next != null) leaf.Next.Prev = leaf.Prev;
                empty = true;
            }
            return true;
        }
        var inner = (Inner)node;
        int c = ChildIndex(inner, key);
        if (!Delete(inner.Children[c], key, out bool childEmpty)) return false;
        if (childEmpty)
        {
            inner.Count--;
            if (c < inner.Count)
            {
                Array.Copy(inner.Keys, c + 1, inner.Keys, c, inner.Count - c);
                Array.Copy(inner.Children, c + 1, inner.Children, c, inner.Count - c);
            }
            inner.Children[inner.Count] = null!;
            empty = inner.Count == 0 && inner != _root;
        }
        return true;
    }

    // ---- ordered walks -------------------------------------------------------------------------

    /// <summary>A position in the tree: the entry a walk returned last (or before the first).</summary>
    public struct Cursor
    {
        internal object? Leaf;
        internal int Index;
        internal int Version;
        internal bool Started;
        internal bool HasFrom;
        internal bool FromInclusive;
        public TKey Key;
        public TValue Value;
    }

    /// <summary>A cursor before the first entry.</summary>
    public Cursor Start() => new();

    /// <summary>A cursor before the first entry whose key is >= <paramref name="from"/>.</summary>
    public Cursor StartAt(in TKey from) => new() { HasFrom = true, FromInclusive = true, Key = from };

    /// <summary>Advances the cursor to the next entry; false at the end. When the tree changed since
    /// the cursor's last step, the walk continues at the first key above the one it returned last.</summary>
    public bool MoveNext(ref Cursor c)
    {
        Leaf? l;
        int i;
        if (!c.Started)
        {
            c.Started = true;
            if (c.HasFrom)
            {
                l = FindLeaf(c.Key);
                i = LowerBound(l, c.Key);
            }
            else
            {
                l = _first;
                i = 0;
            }
        }
        else if (c.Version == Version && c.Leaf != null)
        {
            l = (Leaf)c.Leaf;
            i = c.Index + 1;
        }
        else
        {
            l = FindLeaf(c.Key);
            i = LowerBound(l, c.Key);
            if (i < l.Count && l.Keys[i].CompareTo(c.Key) == 0) i++;
        }
        while (l != null && i >= l.Count)
        {
            l = l.Next;
            i = 0;
        }
        if (l == null)
        {
            c.Leaf = null;
            c.Version = Version;
            return false;
        }
        c.Leaf = l;
        c.Index = i;
        c.Version = Version;
        c.Key = l.Keys[i];
        c.Value = l.Values[i];
        return true;
    }

    /// <summary>Every value in key order (the tree must not change during the walk).</summary>
    public IEnumerable<TValue> Values
    {
        get
        {
            for (var l = _first; l != null; l = l.Next)
                for (int i = 0; i < l.Count; i++)
                    yield return l.Values[i];
        }
    }

    /// <summary>Every value in key order, tolerant of changes between steps.</summary>
    public IEnumerable<TValue> Walk()
    {
        var c = Start();
        while (MoveNext(ref c)) yield return c.Value;
    }

    public void Clear()
    {
        var l = new Leaf(0);
        _root = l;
        _first = l;
        Count = 0;
        Version++;
    }
}
