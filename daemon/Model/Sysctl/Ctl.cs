using System.Text;

namespace VirtKernel.Model.Sysctl;

/// <summary>A name in a namespace's /proc/sys tree: a directory or an entry (struct ctl_table).</summary>
public abstract class CtlNode
{
    protected CtlNode(string name) => Name = name;

    public string Name { get; }
    public CtlDir? Parent { get; internal set; }
    /// <summary>False once unregistered (a device's directory after the device went away or was
    /// renamed): whoever still holds the node finds it gone.</summary>
    public bool Registered { get; internal set; } = true;

    /// <summary>The path below /proc/sys (e.g. net/ipv4/conf/lo/forwarding).</summary>
    public string Path => Parent == null ? Name : Parent.Path + "/" + Name;
}

/// <summary>struct ctl_dir: children sorted by name (the kernel keeps them in an rbtree ordered by
/// byte comparison, which is also readdir's order).</summary>
public sealed class CtlDir : CtlNode
{
    /// <summary>Made with the first child: a device's directories stay a name and a pending table
    /// until someone looks in (see <see cref="_pending"/>).</summary>
    private SortedDictionary<string, CtlNode>? _children;

    /// <summary>Entries registered but not built yet: a device's conf/neigh directory keeps the
    /// (lazy) sequence of its table's entries and makes them the first time anyone looks inside.
    /// The kernel copies the template table once per device (kmemdup in __devinet_sysctl_register,
    /// __addrconf_sysctl_register, neigh_sysctl_register); most devices' directories are never
    /// read, so building ~65 entry objects per directory on every device creation is deferred
    /// until a reader needs them.</summary>
    private IEnumerable<CtlFile>? _pending;

    public CtlDir(string name) : base(name) { }

    /// <summary>The children, after building the entries still pending.</summary>
    private SortedDictionary<string, CtlNode> Kids
    {
        get
        {
            if (_pending != null) Materialize();
            return _children ??= new SortedDictionary<string, CtlNode>(StringComparer.Ordinal);
        }
    }

    private void Materialize()
    {
        var files = _pending!;
        _pending = null;
        _children ??= new SortedDictionary<string, CtlNode>(StringComparer.Ordinal);
        foreach (var f in files)
        {
            f.Parent = this;
            f.Registered = Registered;
            _children[f.Name] = f;
        }
    }

    /// <summary>Registers the entries of a table without building them yet (see <see cref="_pending"/>).</summary>
    internal void AddLazy(IEnumerable<CtlFile> files)
    {
        if (_pending != null) Materialize();
        _pending = files;
    }

    public IEnumerable<CtlNode> Children => Kids.Values;
    public int Count => Kids.Count;
    public CtlNode? this[string name] => Kids.GetValueOrDefault(name);

    /// <summary>The sub-directory called <paramref name="name"/>, made when missing.</summary>
    public CtlDir Dir(string name)
    {
        if (Kids.TryGetValue(name, out var n)) return (CtlDir)n;
        var d = new CtlDir(name) { Parent = this };
        Kids[name] = d;
        return d;
    }

    internal void Add(CtlNode node)
    {
        node.Parent = this;
        node.Registered = true;
        Kids[node.Name] = node;
    }

    internal void Remove(CtlNode node)
    {
        var kids = Kids;
        if (kids.TryGetValue(node.Name, out var n) && n == node) kids.Remove(node.Name);
        MarkUnregistered(node);
    }

    private static void MarkUnregistered(CtlNode node)
    {
        node.Registered = false;
        if (node is CtlDir d)
        {
            d._pending = null; // never built: nobody can reach them any more
            if (d._children != null)
                foreach (var c in d._children.Values) MarkUnregistered(c);
        }
    }

    /// <summary>Walks a relative path ("ipv4/conf/lo/forwarding").</summary>
    public CtlNode? Find(string path)
    {
        CtlNode? cur = this;
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (cur is not CtlDir d) return null;
            cur = d[part];
            if (cur == null) return null;
        }
        return cur;
    }
}

/// <summary>The values behind an entry (ctl_table.data, maxlen): a vector of integers, read and
/// written element by element as the generic handlers do.</summary>
public interface IProcData
{
    int Length { get; }
    long this[int i] { get; set; }
}

/// <summary>A text value behind an entry (proc_dostring).</summary>
public interface IProcString
{
    string Value { get; set; }
}

/// <summary>The buffer of one read or write of an entry: the input bytes and the file position for
/// a write; the text produced by a read. <see cref="Consumed"/> is what a write took (*lenp after
/// the handler: the count write(2) returns).</summary>
public sealed class ProcIo
{
    private ProcIo() { }

    public bool Write { get; private init; }
    public byte[] Input { get; private init; } = [];
    public long Pos { get; private init; }
    public StringBuilder Output { get; } = new();
    public int Consumed { get; set; }

    public static ProcIo ForRead() => new();
    public static ProcIo ForWrite(ReadOnlySpan<byte> data, long pos) =>
        new() { Write = true, Input = data.ToArray(), Pos = pos, Consumed = data.Length };
}

/// <summary>The kernel's proc_handler: 0 or -errno.</summary>
public delegate int ProcHandler(CtlFile table, ProcIo io);

/// <summary>One entry of a registered table: name, mode, handler and what it acts on (data,
/// extra1/extra2), as struct ctl_table once instantiated for a namespace or a device.</summary>
public sealed class CtlFile : CtlNode
{
    public CtlFile(string name, ushort mode, ProcHandler handler) : base(name)
    {
        Mode = mode;
        Handler = handler;
    }

    /// <summary>Permission bits (0644, 0444, 0200...).</summary>
    public ushort Mode { get; internal set; }
    public ProcHandler Handler { get; }
    public IProcData? Data { get; init; }
    public IProcString? Text { get; init; }
    /// <summary>extra1 / extra2 as the generic minmax handlers read them (per element).</summary>
    public long? Min { get; init; }
    public long? Max { get; init; }
    /// <summary>Bounds that depend on other values (ipfrag low/high thresholds, ipv6 mtu).</summary>
    public Func<long>? MinFn { get; init; }
    public Func<long>? MaxFn { get; init; }
    /// <summary>What the entry belongs to (the namespace, a device's in_device/inet6_dev, neigh_parms).</summary>
    public Net? Net { get; init; }
    public object? Extra1 { get; init; }
    public object? Extra2 { get; init; }
    /// <summary>The value differs from host to host (RAM size, the host's own settings); the kernel
    /// snapshots are compared without it.</summary>
    public bool HostDependent { get; init; }

    public long? MinValue => MinFn != null ? MinFn() : Min;
    public long? MaxValue => MaxFn != null ? MaxFn() : Max;

    /// <summary>Reads the value as text (what cat prints), or -errno.</summary>
    public int Read(out string text)
    {
        var io = ProcIo.ForRead();
        int err = Handler(this, io);
        text = err == 0 ? io.Output.ToString() : "";
        return err;
    }

    /// <summary>Writes at <paramref name="pos"/>: the bytes consumed, or -errno.</summary>
    public int Write(ReadOnlySpan<byte> data, long pos = 0)
    {
        var io = ProcIo.ForWrite(data, pos);
        int err = Handler(this, io);
        return err < 0 ? err : io.Consumed;
    }

    /// <summary>Writes a string (tests and internal callers).</summary>
    public int Write(string s) => Write(Encoding.UTF8.GetBytes(s));
}

// ---- data accessors ---------------------------------------------------------------------------

/// <summary>A slice of a long[] (per-namespace values).</summary>
public sealed class SlotData(long[] store, int slot, int length) : IProcData
{
    public int Length => length;
    public long this[int i]
    {
        get => store[slot + i];
        set => store[slot + i] = value;
    }
}

/// <summary>One int read and written through delegates (model fields).</summary>
public sealed class FieldData(Func<long> get, Action<long> set) : IProcData
{
    public int Length => 1;
    public long this[int i]
    {
        get => get();
        set => set(value);
    }
}

/// <summary>A text value kept in a string[] slot.</summary>
public sealed class StringSlot(string[] store, int slot) : IProcString
{
    public string Value
    {
        get => store[slot];
        set => store[slot] = value;
    }
}
