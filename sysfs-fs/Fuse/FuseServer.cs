using System.Runtime.CompilerServices;
using System.Text;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Fuse;
using FuseP = VirtKernel.Protocol.Fuse.Fuse;

namespace VirtKernel.SysfsFs.Fuse;

/// <summary>Where replies go: the /dev/fuse descriptor when mounted, a list in tests.</summary>
public interface IFuseReplySink
{
    void Send(ReadOnlySpan<byte> message);
}

/// <summary>Settings of a served filesystem.</summary>
public sealed record FuseOptions
{
    /// <summary>Who owns every node (stat's uid/gid, and whose requests get the owner bits).</summary>
    public uint OwnerUid { get; init; }
    public uint OwnerGid { get; init; }
    /// <summary>Largest WRITE the kernel may send (the read buffer must hold it plus headers).</summary>
    public uint MaxWrite { get; init; } = 128 * 1024;
    /// <summary>Creation time every node reports (procfs reports when the inode was made).</summary>
    public DateTime Time { get; init; } = DateTime.UtcNow;
}

/// <summary>The FUSE request handler, independent of any transport: <see cref="Handle"/> takes one
/// request exactly as read from /dev/fuse (fuse_in_header + arguments) and produces at most one
/// reply (fuse_out_header + result). It keeps what the protocol makes the server keep: the node ids
/// handed to the kernel with their lookup counts (LOOKUP/READDIRPLUS add, FORGET subtracts, at zero
/// the id is dropped), the open file handles with their per-open snapshots, and the directory
/// handles with their listings. Requests that need no answer (FORGET, BATCH_FORGET, INTERRUPT)
/// produce none. Opcodes the filesystem has no use for answer ENOSYS.</summary>
public sealed class FuseServer
{
    private readonly FsDir _root;
    private readonly FuseOptions _opt;
    private readonly Dictionary<ulong, NodeRef> _nodes = new();
    private readonly Dictionary<FsNode, ulong> _ids = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<ulong, OpenFile> _files = new();
    private readonly Dictionary<ulong, OpenDir> _dirs = new();
    private readonly ConditionalWeakTable<FsNode, StrongBox<ulong>> _inos = new();
    private ulong _nextNodeId = FuseP.RootId + 1;
    private ulong _nextFh = 1;
    private ulong _nextIno = 2;
    private byte[] _out = new byte[64 * 1024];

    public FuseServer(FsDir root, FuseOptions options)
    {
        _root = root;
        _opt = options;
        _nodes[FuseP.RootId] = new NodeRef(root, 0, 0);
        _ids[root] = FuseP.RootId;
        _inos.Add(root, new StrongBox<ulong>(1));
    }

    private sealed class NodeRef(FsNode node, ulong parent, ulong nlookup)
    {
        public readonly FsNode Node = node;
        public readonly ulong Parent = parent;
        public ulong Nlookup = nlookup;
    }

    private sealed class OpenFile(FsFile file)
    {
        public readonly FsFile File = file;
        public byte[]? Content;
    }

    private sealed class OpenDir(ulong self, ulong parent, List<KeyValuePair<string, FsNode>> entries)
    {
        public readonly ulong Self = self, Parent = parent;
        public readonly List<KeyValuePair<string, FsNode>> Entries = entries;
    }

    /// <summary>True once INIT was answered.</summary>
    public bool Initialized { get; private set; }
    /// <summary>True once DESTROY arrived (the kernel unmounted).</summary>
    public bool Destroyed { get; private set; }
    /// <summary>The protocol minor version agreed with the kernel.</summary>
    public uint ProtoMinor { get; private set; }
    /// <summary>Node ids the kernel currently holds (root included).</summary>
    public int NodeCount => _nodes.Count;
    public int OpenFileCount => _files.Count;
    public int OpenDirCount => _dirs.Count;
    /// <summary>Largest request the kernel may send (size of the read buffer for /dev/fuse).</summary>
    public int RequestBufferSize => (int)_opt.MaxWrite + 4096;

    // ---- dispatch ------------------------------------------------------------------------------

    /// <summary>Handles one request; replies (if any) go to <paramref name="sink"/>.</summary>
    public void Handle(ReadOnlySpan<byte> request, IFuseReplySink sink)
    {
        if (!FuseP.TryRead(request, out FuseInHeader h) || h.Len < FuseInHeader.Size || h.Len > request.Length)
            return; // not a request: nothing to answer to
        var arg = request[FuseInHeader.Size..(int)h.Len];
        if (h.TotalExtlen != 0)
        {
            int ext = h.TotalExtlen * 8;
            if (ext > arg.Length) { ReplyError(sink, h, Errno.EINVAL); return; }
            arg = arg[..^ext];
        }
        var caller = new FsCaller(h.Uid, h.Gid, h.Pid);
        if (!Initialized && h.Opcode != FuseOpcode.Init)
        {
            if (!NoReply(h.Opcode)) ReplyError(sink, h, Errno.EIO);
            return;
        }
        switch (h.Opcode)
        {
            case FuseOpcode.Init: DoInit(h, arg, sink); break;
            case FuseOpcode.Lookup: DoLookup(h, arg, sink); break;
            case FuseOpcode.Forget:
                if (FuseP.TryRead(arg, out FuseForgetIn f)) Forget(h.NodeId, f.Nlookup);
                break;
            case FuseOpcode.BatchForget: DoBatchForget(arg); break;
            case FuseOpcode.Getattr: DoGetattr(h, sink); break;
            case FuseOpcode.Setattr: DoSetattr(h, arg, caller, sink); break;
            case FuseOpcode.Readlink: DoReadlink(h, sink); break;
            case FuseOpcode.Open: DoOpen(h, arg, caller, sink); break;
            case FuseOpcode.Read: DoRead(h, arg, caller, sink); break;
            case FuseOpcode.Write: DoWrite(h, arg, caller, sink); break;
            case FuseOpcode.Release:
                if (FuseP.TryRead(arg, out FuseReleaseIn rel)) _files.Remove(rel.Fh);
                ReplyOk(sink, h);
                break;
            case FuseOpcode.Flush: ReplyOk(sink, h); break;
            case FuseOpcode.Opendir: DoOpendir(h, arg, caller, sink); break;
            case FuseOpcode.Readdir: DoReaddir(h, arg, sink, plus: false); break;
            case FuseOpcode.Readdirplus: DoReaddir(h, arg, sink, plus: true); break;
            case FuseOpcode.Releasedir:
                if (FuseP.TryRead(arg, out FuseReleaseIn reld)) _dirs.Remove(reld.Fh);
                ReplyOk(sink, h);
                break;
            case FuseOpcode.Statfs: DoStatfs(h, sink); break;
            case FuseOpcode.Access: DoAccess(h, arg, caller, sink); break;
            case FuseOpcode.Interrupt:
                // Requests are answered as they are read, one at a time: by the time an INTERRUPT
                // arrives, the request it names has its answer already. Nothing to do or answer.
                break;
            case FuseOpcode.Destroy:
                Destroyed = true;
                ReplyOk(sink, h);
                break;
            case FuseOpcode.Create: case FuseOpcode.Mknod: case FuseOpcode.Mkdir: case FuseOpcode.Symlink:
                DoCreateLike(h, h.NodeId, sink);
                break;
            case FuseOpcode.Link:
                // the new name goes into the directory the request is about
                DoCreateLike(h, h.NodeId, sink);
                break;
            case FuseOpcode.Rename: case FuseOpcode.Rename2:
                DoRemoveLike(h, sink, rename: true);
                break;
            case FuseOpcode.Unlink: case FuseOpcode.Rmdir:
                DoRemoveLike(h, sink, rename: false);
                break;
            default:
                ReplyError(sink, h, Errno.ENOSYS);
                break;
        }
    }

    private static bool NoReply(FuseOpcode op) =>
        op is FuseOpcode.Forget or FuseOpcode.BatchForget or FuseOpcode.Interrupt;

    // ---- INIT ----------------------------------------------------------------------------------

    /// <summary>What this server asks for: O_TRUNC handled in OPEN, READDIRPLUS when the kernel
    /// thinks it helps, parallel lookups, large requests, flags2.</summary>
    private const ulong WantedFlags = FuseP.AtomicOTrunc | FuseP.DoReaddirplus | FuseP.ReaddirplusAuto |
                                      FuseP.ParallelDirops | FuseP.MaxPages | FuseP.BigWrites |
                                      FuseP.CacheSymlinks | FuseP.InitExt;

    private void DoInit(FuseInHeader h, ReadOnlySpan<byte> arg, IFuseReplySink sink)
    {
        var init = FuseP.ReadPrefix<FuseInitIn>(arg);
        if (arg.Length < 8 || init.Major < FuseP.KernelVersion)
        {
            ReplyError(sink, h, Errno.EPROTO);
            return;
        }
        var o = new FuseInitOut { Major = FuseP.KernelVersion, Minor = FuseP.KernelMinorVersion };
        if (init.Major > FuseP.KernelVersion)
        {
            // a newer major: tell the kernel ours, it asks again
            Reply(sink, h, 0, FuseP.CompatInitOutSize, span => WriteTrunc(span, o));
            return;
        }
        ProtoMinor = Math.Min(init.Minor, FuseP.KernelMinorVersion);
        ulong offered = init.Flags;
        if ((offered & FuseP.InitExt) != 0) offered |= (ulong)init.Flags2 << 32;
        ulong flags = offered & WantedFlags;
        o.Minor = ProtoMinor;
        o.MaxReadahead = init.MaxReadahead;
        o.Flags = (uint)flags;
        o.Flags2 = (uint)(flags >> 32);
        o.MaxBackground = 16;
        o.CongestionThreshold = 12;
        o.MaxWrite = _opt.MaxWrite;
        o.TimeGran = 1;
        o.MaxPages = (ushort)((_opt.MaxWrite + 4095) / 4096);
        int size = ProtoMinor < 5 ? FuseP.CompatInitOutSize : ProtoMinor < 23 ? FuseP.Compat22InitOutSize : FuseInitOut.Size;
        Initialized = true;
        Reply(sink, h, 0, size, span =>
        {
            Span<byte> full = stackalloc byte[FuseInitOut.Size];
            FuseP.Write(full, o);
            full[..span.Length].CopyTo(span);
        });
    }

    // ---- nodes ---------------------------------------------------------------------------------

    private FsNode? Node(ulong nodeId) => _nodes.TryGetValue(nodeId, out var r) ? r.Node : null;

    /// <summary>The node a request is about, when it still exists.</summary>
    private FsNode? LiveNode(ulong nodeId) => Node(nodeId) is { Alive: true } n ? n : null;

    /// <summary>The inode number a node shows (stable while the node object lives).</summary>
    private ulong Ino(FsNode n) => _inos.GetValue(n, _ => new StrongBox<ulong>(_nextIno++)).Value;

    /// <summary>Hands a node to the kernel once more (LOOKUP, READDIRPLUS): its id, counted.</summary>
    private ulong Reference(FsNode node, ulong parent)
    {
        if (_ids.TryGetValue(node, out var id))
        {
            _nodes[id].Nlookup++;
            return id;
        }
        id = _nextNodeId++;
        _nodes[id] = new NodeRef(node, parent, 1);
        _ids[node] = id;
        return id;
    }

    private void Forget(ulong nodeId, ulong n)
    {
        if (nodeId == FuseP.RootId || !_nodes.TryGetValue(nodeId, out var r)) return;
        r.Nlookup = n >= r.Nlookup ? 0 : r.Nlookup - n;
        if (r.Nlookup != 0) return;
        _nodes.Remove(nodeId);
        _ids.Remove(r.Node);
    }

    private void DoBatchForget(ReadOnlySpan<byte> arg)
    {
        if (!FuseP.TryRead(arg, out FuseBatchForgetIn b)) return;
        var items = arg[FuseBatchForgetIn.Size..];
        for (uint i = 0; i < b.Count && items.Length >= FuseForgetOne.Size; i++)
        {
            FuseP.TryRead(items, out FuseForgetOne one);
            Forget(one.NodeId, one.Nlookup);
            items = items[FuseForgetOne.Size..];
        }
    }

    private FuseAttr Attr(FsNode n)
    {
        long secs = new DateTimeOffset(_opt.Time).ToUnixTimeSeconds();
        uint nsec = (uint)(_opt.Time.Ticks % TimeSpan.TicksPerSecond * 100);
        return new FuseAttr
        {
            Ino = Ino(n), Mode = n.TypeBits | (n.Mode & 0xfff), Nlink = 1,
            Uid = _opt.OwnerUid, Gid = _opt.OwnerGid,
            FileSize = n.Kind == FsKind.Symlink ? (ulong)Encoding.UTF8.GetByteCount(((FsSymlink)n).Target) : n.Size,
            Blksize = n.Size == 0 ? 1024u : 4096u,
            Atime = (ulong)secs, Mtime = (ulong)secs, Ctime = (ulong)secs,
            AtimeNsec = nsec, MtimeNsec = nsec, CtimeNsec = nsec,
        };
    }

    private static (ulong Sec, uint Nsec) Timeout(double seconds)
    {
        if (seconds <= 0) return (0, 0);
        ulong s = (ulong)seconds;
        return (s, (uint)((seconds - s) * 1e9));
    }

    private FuseEntryOut Entry(ulong nodeId, FsNode n)
    {
        var (es, ens) = Timeout(n.EntryTimeout);
        var (@as, ans) = Timeout(n.AttrTimeout);
        return new FuseEntryOut
        {
            NodeId = nodeId, Generation = 0, EntryValid = es, EntryValidNsec = ens,
            AttrValid = @as, AttrValidNsec = ans, Attr = Attr(n),
        };
    }

    private int EntryOutSize => ProtoMinor < 9 ? FuseP.CompatEntryOutSize : FuseEntryOut.Size;
    private int AttrOutSize => ProtoMinor < 9 ? FuseP.CompatAttrOutSize : FuseAttrOut.Size;

    /// <summary>A NUL-terminated name argument.</summary>
    private static string? Name(ReadOnlySpan<byte> arg)
    {
        int nul = arg.IndexOf((byte)0);
        if (nul < 0) return null;
        return Encoding.UTF8.GetString(arg[..nul]);
    }

    private bool Permitted(FsNode n, FsCaller c, uint want)
    {
        uint mode = n.Mode, bits;
        // proc's sysctl permission: root and the owner get the owner bits, without an override
        if (c.Uid == 0 || c.Uid == _opt.OwnerUid) bits = (mode >> 6) & 7;
        else if (c.Gid == 0 || c.Gid == _opt.OwnerGid) bits = (mode >> 3) & 7;
        else bits = mode & 7;
        return (bits & want) == want;
    }

    // ---- operations ----------------------------------------------------------------------------

    private void DoLookup(FuseInHeader h, ReadOnlySpan<byte> arg, IFuseReplySink sink)
    {
        var name = Name(arg);
        if (name == null) { ReplyError(sink, h, Errno.EINVAL); return; }
        var parent = LiveNode(h.NodeId);
        if (parent == null) { ReplyError(sink, h, Errno.ESTALE); return; }
        if (parent is not FsDir dir) { ReplyError(sink, h, Errno.ENOTDIR); return; }
        if (Encoding.UTF8.GetByteCount(name) > 255) { ReplyError(sink, h, Errno.ENAMETOOLONG); return; }
        var child = dir.Lookup(name);
        if (child == null || !child.Alive) { ReplyError(sink, h, Errno.ENOENT); return; }
        ulong id = Reference(child, h.NodeId);
        var e = Entry(id, child);
        Reply(sink, h, 0, EntryOutSize, span => WriteTrunc(span, e));
    }

    private void DoGetattr(FuseInHeader h, IFuseReplySink sink)
    {
        var n = LiveNode(h.NodeId);
        if (n == null) { ReplyError(sink, h, Errno.ESTALE); return; }
        ReplyAttr(sink, h, n);
    }

    private void ReplyAttr(IFuseReplySink sink, FuseInHeader h, FsNode n)
    {
        var (s, ns) = Timeout(n.AttrTimeout);
        var a = new FuseAttrOut { AttrValid = s, AttrValidNsec = ns, Attr = Attr(n) };
        Reply(sink, h, 0, AttrOutSize, span => WriteTrunc(span, a));
    }

    private void DoSetattr(FuseInHeader h, ReadOnlySpan<byte> arg, FsCaller c, IFuseReplySink sink)
    {
        var n = LiveNode(h.NodeId);
        if (n == null) { ReplyError(sink, h, Errno.ESTALE); return; }
        var s = FuseP.ReadPrefix<FuseSetattrIn>(arg);
        // proc_sys_setattr / kernfs: ownership and mode are fixed
        if ((s.Valid & (FuseP.FattrMode | FuseP.FattrUid | FuseP.FattrGid)) != 0) { ReplyError(sink, h, Errno.EPERM); return; }
        if ((s.Valid & FuseP.FattrSize) != 0)
        {
            if (n is not FsFile f) { ReplyError(sink, h, Errno.EISDIR); return; }
            if ((s.Valid & FuseP.FattrFh) == 0 && !Permitted(n, c, 2)) { ReplyError(sink, h, Errno.EACCES); return; }
            int err = f.Truncate(c);
            if (err < 0) { ReplyError(sink, h, -err); return; }
        }
        ReplyAttr(sink, h, n);
    }

    private void DoReadlink(FuseInHeader h, IFuseReplySink sink)
    {
        var n = LiveNode(h.NodeId);
        if (n == null) { ReplyError(sink, h, Errno.ESTALE); return; }
        if (n is not FsSymlink l) { ReplyError(sink, h, Errno.EINVAL); return; }
        var target = Encoding.UTF8.GetBytes(l.Target);
        Reply(sink, h, 0, target.Length, span => target.CopyTo(span));
    }

    private const uint O_ACCMODE = 3, O_WRONLY = 1, O_RDWR = 2, O_TRUNC = 0x200;

    private void DoOpen(FuseInHeader h, ReadOnlySpan<byte> arg, FsCaller c, IFuseReplySink sink)
    {
        var n = LiveNode(h.NodeId);
        if (n == null) { ReplyError(sink, h, Errno.ESTALE); return; }
        if (n is FsDir) { ReplyError(sink, h, Errno.EISDIR); return; }
        if (n is not FsFile file) { ReplyError(sink, h, Errno.ELOOP); return; }
        var o = FuseP.ReadPrefix<FuseOpenIn>(arg);
        uint acc = o.Flags & O_ACCMODE;
        uint want = acc == O_WRONLY ? 2u : acc == O_RDWR ? 6u : 4u;
        if (!Permitted(n, c, want)) { ReplyError(sink, h, Errno.EACCES); return; }
        if ((o.Flags & O_TRUNC) != 0 && acc != 0)
        {
            int err = file.Truncate(c);
            if (err < 0) { ReplyError(sink, h, -err); return; }
        }
        ulong fh = _nextFh++;
        _files[fh] = new OpenFile(file);
        var r = new FuseOpenOut { Fh = fh, OpenFlags = FuseP.FopenDirectIo | FuseP.FopenNoflush };
        Reply(sink, h, 0, FuseOpenOut.Size, span => FuseP.Write(span, r));
    }

    private void DoRead(FuseInHeader h, ReadOnlySpan<byte> arg, FsCaller c, IFuseReplySink sink)
    {
        if (!FuseP.TryRead(arg, out FuseReadIn r) || !_files.TryGetValue(r.Fh, out var of)) { ReplyError(sink, h, Errno.EBADF); return; }
        if (!of.File.Alive) { ReplyError(sink, h, Errno.ENOENT); return; }
        if (of.Content == null)
        {
            int err = of.File.Read(c, out var content);
            if (err < 0) { ReplyError(sink, h, -err); return; }
            of.Content = content;
        }
        var data = of.Content;
        int start = r.Offset >= (ulong)data.Length ? data.Length : (int)r.Offset;
        int len = Math.Min((int)Math.Min(r.Count, int.MaxValue), data.Length - start);
        Reply(sink, h, 0, len, span => data.AsSpan(start, len).CopyTo(span));
    }

    private void DoWrite(FuseInHeader h, ReadOnlySpan<byte> arg, FsCaller c, IFuseReplySink sink)
    {
        if (arg.Length < FuseWriteIn.Size) { ReplyError(sink, h, Errno.EINVAL); return; }
        FuseP.TryRead(arg, out FuseWriteIn w);
        if (!_files.TryGetValue(w.Fh, out var of)) { ReplyError(sink, h, Errno.EBADF); return; }
        if (!of.File.Alive) { ReplyError(sink, h, Errno.ENOENT); return; }
        var data = arg[FuseWriteIn.Size..];
        if (data.Length < w.Count) { ReplyError(sink, h, Errno.EINVAL); return; }
        data = data[..(int)w.Count];
        int n = of.File.Write(c, (long)w.Offset, data);
        if (n < 0) { ReplyError(sink, h, -n); return; }
        // what is read next reflects the write
        of.Content = null;
        var o = new FuseWriteOut { Count = (uint)n };
        Reply(sink, h, 0, FuseWriteOut.Size, span => FuseP.Write(span, o));
    }

    private void DoOpendir(FuseInHeader h, ReadOnlySpan<byte> arg, FsCaller c, IFuseReplySink sink)
    {
        var n = LiveNode(h.NodeId);
        if (n == null) { ReplyError(sink, h, Errno.ESTALE); return; }
        if (n is not FsDir dir) { ReplyError(sink, h, Errno.ENOTDIR); return; }
        if (!Permitted(n, c, 4)) { ReplyError(sink, h, Errno.EACCES); return; }
        _ = arg;
        ulong parent = _nodes[h.NodeId].Parent;
        var entries = new List<KeyValuePair<string, FsNode>>();
        foreach (var kv in dir.List())
            if (kv.Value.Alive) entries.Add(kv);
        ulong fh = _nextFh++;
        _dirs[fh] = new OpenDir(h.NodeId, parent == 0 ? h.NodeId : parent, entries);
        var r = new FuseOpenOut { Fh = fh };
        Reply(sink, h, 0, FuseOpenOut.Size, span => FuseP.Write(span, r));
    }

    private const uint DT_DIR = 4, DT_REG = 8, DT_LNK = 10;

    private static uint DirentType(FsNode n) => n.Kind switch
    {
        FsKind.Directory => DT_DIR,
        FsKind.Symlink => DT_LNK,
        _ => DT_REG,
    };

    private void DoReaddir(FuseInHeader h, ReadOnlySpan<byte> arg, IFuseReplySink sink, bool plus)
    {
        if (!FuseP.TryRead(arg, out FuseReadIn r) || !_dirs.TryGetValue(r.Fh, out var od)) { ReplyError(sink, h, Errno.EBADF); return; }
        int cap = (int)Math.Min(r.Count, (uint)(1 << 20));
        EnsureOut(FuseOutHeader.Size + cap);
        var buf = _out.AsSpan(FuseOutHeader.Size, cap);
        int used = 0;
        // entry 0 is ".", 1 is "..", then the listing
        for (long i = (long)r.Offset; i < od.Entries.Count + 2; i++)
        {
            string name;
            FsNode? node;
            ulong ino;
            if (i == 0) { name = "."; node = Node(od.Self); ino = node != null ? Ino(node) : 1; }
            else if (i == 1) { name = ".."; node = Node(od.Parent); ino = node != null ? Ino(node) : 1; }
            else
            {
                var kv = od.Entries[(int)i - 2];
                name = kv.Key;
                node = kv.Value;
                ino = Ino(node);
            }
            byte[] nb = Encoding.UTF8.GetBytes(name);
            int size = plus ? FuseP.DirentplusSize(nb.Length) : FuseP.DirentSize(nb.Length);
            if (used + size > cap) break;
            var rec = buf.Slice(used, size);
            rec.Clear();
            var d = new FuseDirent
            {
                Ino = ino, Off = (ulong)(i + 1), Namelen = (uint)nb.Length,
                Type = node != null ? DirentType(node) : DT_DIR,
            };
            if (plus)
            {
                // "." and ".." carry no entry (node id 0): the kernel links nothing for them
                if (i >= 2 && node!.Alive)
                {
                    ulong id = Reference(node, od.Self);
                    var e = Entry(id, node);
                    FuseP.Write(rec, e);
                }
                FuseP.Write(rec[FuseEntryOut.Size..], d);
                nb.CopyTo(rec[FuseP.DirentplusNameOffset..]);
            }
            else
            {
                FuseP.Write(rec, d);
                nb.CopyTo(rec[FuseP.DirentNameOffset..]);
            }
            used += size;
        }
        SendOut(sink, h, 0, used);
    }

    private void DoStatfs(FuseInHeader h, IFuseReplySink sink)
    {
        var s = new FuseStatfsOut { Bsize = 4096, Frsize = 4096, Namelen = 255 };
        int size = ProtoMinor < 4 ? FuseP.CompatStatfsSize : FuseStatfsOut.Size;
        Reply(sink, h, 0, size, span => WriteTrunc(span, s));
    }

    private void DoAccess(FuseInHeader h, ReadOnlySpan<byte> arg, FsCaller c, IFuseReplySink sink)
    {
        var n = LiveNode(h.NodeId);
        if (n == null) { ReplyError(sink, h, Errno.ESTALE); return; }
        var a = FuseP.ReadPrefix<FuseAccessIn>(arg);
        uint want = a.Mask & 7;
        if (want != 0 && !Permitted(n, c, want)) { ReplyError(sink, h, Errno.EACCES); return; }
        ReplyOk(sink, h);
    }

    private void DoCreateLike(FuseInHeader h, ulong dirId, IFuseReplySink sink)
    {
        var n = LiveNode(dirId);
        if (n == null) { ReplyError(sink, h, Errno.ESTALE); return; }
        if (n is not FsDir) { ReplyError(sink, h, Errno.ENOTDIR); return; }
        ReplyError(sink, h, n.CreateErrno);
    }

    private void DoRemoveLike(FuseInHeader h, IFuseReplySink sink, bool rename)
    {
        var n = LiveNode(h.NodeId);
        if (n == null) { ReplyError(sink, h, Errno.ESTALE); return; }
        if (n is not FsDir) { ReplyError(sink, h, Errno.ENOTDIR); return; }
        ReplyError(sink, h, rename ? n.CreateErrno : Errno.EACCES);
    }

    // ---- replies -------------------------------------------------------------------------------

    private static void WriteTrunc<T>(Span<byte> dst, in T value) where T : unmanaged
    {
        int size = FuseP.SizeOf<T>();
        if (dst.Length >= size)
        {
            FuseP.Write(dst, value);
            return;
        }
        Span<byte> tmp = stackalloc byte[size];
        FuseP.Write(tmp, value);
        tmp[..dst.Length].CopyTo(dst);
    }

    private void EnsureOut(int size)
    {
        if (_out.Length < size) _out = new byte[Math.Max(size, _out.Length * 2)];
    }

    private delegate void Filler(Span<byte> payload);

    private void Reply(IFuseReplySink sink, FuseInHeader h, int error, int payloadLen, Filler fill)
    {
        EnsureOut(FuseOutHeader.Size + payloadLen);
        fill(_out.AsSpan(FuseOutHeader.Size, payloadLen));
        SendOut(sink, h, error, payloadLen);
    }

    private void SendOut(IFuseReplySink sink, FuseInHeader h, int error, int payloadLen)
    {
        var hdr = new FuseOutHeader { Len = (uint)(FuseOutHeader.Size + payloadLen), Error = error, Unique = h.Unique };
        FuseP.Write(_out, hdr);
        sink.Send(_out.AsSpan(0, FuseOutHeader.Size + payloadLen));
    }

    private void ReplyOk(IFuseReplySink sink, FuseInHeader h) => SendOut(sink, h, 0, 0);

    private void ReplyError(IFuseReplySink sink, FuseInHeader h, int errno) => SendOut(sink, h, -errno, 0);
}
