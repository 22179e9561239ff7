using System.Text;
using VirtKernel.Protocol;

namespace VirtKernel.SysfsFs.Fuse;

/// <summary>Who makes a request: the fields of fuse_in_header the filesystem judges it by.</summary>
public readonly record struct FsCaller(uint Uid, uint Gid, uint Pid);

public enum FsKind { Directory, File, Symlink }

/// <summary>One object of a served tree, as the VFS sees an inode: a directory, a file or a
/// symbolic link. Nodes stand for kernel objects; once the object is gone (a device deleted, a
/// sysctl directory unregistered) <see cref="Alive"/> turns false and every operation on the node
/// answers ENOENT, as an unlinked proc entry does. A node object keeps its identity for as long as it
/// is reachable, so the FUSE layer can hand the kernel one node id per node.</summary>
public abstract class FsNode
{
    public abstract FsKind Kind { get; }

    /// <summary>Permission bits (e.g. 0644); the file type is implied by <see cref="Kind"/>.</summary>
    public abstract uint Mode { get; }

    /// <summary>False once the object the node stands for is gone.</summary>
    public virtual bool Alive => true;

    /// <summary>How long (seconds) the kernel may keep the name that led here bound to this node.
    /// Long: a node never changes meaning. When the object goes, the node answers ESTALE and the
    /// kernel walks the path again from scratch (LOOKUP_REVAL), finding the name gone or bound to
    /// the new object.</summary>
    public virtual double EntryTimeout => 3600;

    /// <summary>How long the kernel may cache the attributes (seconds). A node's attributes never
    /// change; nodes that can go away (a device's directory and what is in it, a namespace's
    /// directory) answer 0, so that stat() asks, and learns of their end (ESTALE).</summary>
    public virtual double AttrTimeout => 3600;

    /// <summary>The size stat() reports: 0 for proc files, 4096 for sysfs attributes.</summary>
    public virtual ulong Size => 0;

    /// <summary>The errno for creating a name in this directory or removing one (proc's sysctl
    /// directories: ENOENT for creation; sysfs: EACCES).</summary>
    public virtual int CreateErrno => Errno.EACCES;

    public const uint S_IFDIR = 0x4000, S_IFREG = 0x8000, S_IFLNK = 0xA000;

    public uint TypeBits => Kind switch { FsKind.Directory => S_IFDIR, FsKind.Symlink => S_IFLNK, _ => S_IFREG };
}

/// <summary>A directory: names looked up one at a time, or listed in readdir order.</summary>
public abstract class FsDir : FsNode
{
    public override FsKind Kind => FsKind.Directory;
    public override uint Mode => 0x16d; // 0555

    /// <summary>The child called <paramref name="name"/>, or null (ENOENT).</summary>
    public abstract FsNode? Lookup(string name);

    /// <summary>The children in the order readdir gives them (without "." and "..").</summary>
    public abstract IEnumerable<KeyValuePair<string, FsNode>> List();
}

/// <summary>A symbolic link (sysfs's class/net/DEV, upper_*, master...).</summary>
public abstract class FsSymlink : FsNode
{
    public override FsKind Kind => FsKind.Symlink;
    public override uint Mode => 0x1ff; // 0777
    public abstract string Target { get; }
}

/// <summary>A procfs- or sysfs-like file: the content is produced when it is first read after an
/// open and kept for that open file (so that a reader going through it in pieces sees one
/// consistent value); every write goes straight to the handler with its file position.</summary>
public abstract class FsFile : FsNode
{
    public override FsKind Kind => FsKind.File;

    /// <summary>The content to read: 0, or -errno (EIO for an unset stable_secret...).</summary>
    public abstract int Read(FsCaller caller, out byte[] content);

    /// <summary>A write of <paramref name="data"/> at <paramref name="offset"/>: the number of bytes
    /// consumed (a short count is allowed) or -errno.</summary>
    public virtual int Write(FsCaller caller, long offset, ReadOnlySpan<byte> data) => -Errno.EIO;

    /// <summary>Called when the file is opened with O_TRUNC or truncated (proc ignores it).</summary>
    public virtual int Truncate(FsCaller caller) => 0;
}

/// <summary>A directory whose children are fixed objects, kept in the order given.</summary>
public class StaticDir : FsDir
{
    private readonly List<KeyValuePair<string, FsNode>> _list = new();
    private readonly Dictionary<string, FsNode> _byName = new(StringComparer.Ordinal);
    private readonly uint _mode;

    public StaticDir(uint mode = 0x16d) => _mode = mode;

    public override uint Mode => _mode;

    public StaticDir Add(string name, FsNode node)
    {
        _list.Add(new(name, node));
        _byName[name] = node;
        return this;
    }

    public override FsNode? Lookup(string name) => _byName.GetValueOrDefault(name);
    public override IEnumerable<KeyValuePair<string, FsNode>> List() => _list;
}

/// <summary>A read-only file whose content a function renders on each open.</summary>
public class RenderedFile : FsFile
{
    private readonly Func<string> _render;
    private readonly uint _mode;

    public RenderedFile(Func<string> render, uint mode = 0x124)
    {
        _render = render;
        _mode = mode;
    }

    public override uint Mode => _mode;

    public override int Read(FsCaller caller, out byte[] content)
    {
        content = Encoding.UTF8.GetBytes(_render());
        return 0;
    }
}

/// <summary>A symbolic link with a fixed target.</summary>
public sealed class FixedSymlink(string target) : FsSymlink
{
    public override string Target => target;
}
