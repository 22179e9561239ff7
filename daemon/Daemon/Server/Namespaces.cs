using System.Text;
using Mono.Unix.Native;
using VirtKernel.Model;
using Errno = VirtKernel.Protocol.Errno;

namespace VirtKernel.Daemon.Server;

/// <summary>What keeps namespaces alive outside the kernel model and how clients name them: the
/// state directory next to the socket (SOCKET.d/ns/ID handle files, SOCKET.d/netns standing for
/// /run/netns), names bound there, and the processes the daemon knows to be inside a namespace
/// (watched with pidfds so that their exit lets the namespace go). See shim/vk_proto.h.</summary>
public sealed class Namespaces
{
    private readonly Kernel _kernel;
    private readonly string _nsDir, _netnsDir, _tmpDir;
    private readonly Dictionary<string, Net> _names = new(StringComparer.Ordinal);
    /// <summary>One of the names each bound namespace has (the first bound), for listings.</summary>
    private readonly Dictionary<Net, string> _nameOf = new();
    /// <summary>How many names each bound namespace has (nearly always one).</summary>
    private readonly Dictionary<Net, int> _nameCount = new();
    private readonly Dictionary<int, Net> _pidNet = new();
    private readonly Dictionary<(ulong Dev, ulong Ino), Net> _byInode = new();
    private readonly Dictionary<int, (ulong Dev, ulong Ino)> _inodeOf = new();

    /// <param name="socketMode">The socket's mode: users it admits may read the state directory
    /// (their tools open /run/netns names there); nobody else may.</param>
    /// <param name="gid">The socket's group, if one was given.</param>
    public Namespaces(Kernel kernel, string stateDir, uint socketMode = 0x180, uint? gid = null)
    {
        _kernel = kernel;
        StateDir = stateDir;
        RealDir = PlaceStateDir(stateDir);
        _nsDir = Path.Combine(RealDir, "ns");
        _netnsDir = Path.Combine(RealDir, "netns");
        // where a bind is prepared before it is renamed into netns/ (a watcher of that directory,
        // `ip netns monitor`, sees no file appear that nobody created)
        _tmpDir = Path.Combine(RealDir, "tmp");
        foreach (var d in new[] { _nsDir, _netnsDir, _tmpDir }) Directory.CreateDirectory(d);
        // rwx for the owner; r-x for the classes the socket admits (as /run/netns: only its owner
        // creates names)
        var mode = FilePermissions.S_IRWXU;
        if ((socketMode & 0x30) != 0) mode |= FilePermissions.S_IRGRP | FilePermissions.S_IXGRP;
        if ((socketMode & 0x6) != 0) mode |= FilePermissions.S_IROTH | FilePermissions.S_IXOTH;
        foreach (var d in new[] { RealDir, _nsDir, _netnsDir })
        {
            Syscall.chmod(d, mode);
            if (gid is uint g) Syscall.chown(d, Syscall.getuid(), g);
        }
        Syscall.chmod(_tmpDir, FilePermissions.S_IRWXU);
        kernel.NetCreated += CreateHandle;
        kernel.NetDestroyed += DropHandle;
        foreach (var net in kernel.Nets) CreateHandle(net);
    }

    /// <summary>SOCKET.d, as clients name it.</summary>
    public string StateDir { get; }
    /// <summary>Where it really is: SOCKET.d itself, or the tmpfs directory it links to.</summary>
    public string RealDir { get; }

    private const string TmpfsPrefix = "virtkernel-";

    /// <summary>Makes the state directory. /run/netns is a tmpfs, and so must this be: creating a
    /// name there and a namespace's handle costs microseconds (hundreds on a journaling disk
    /// filesystem), and entries list newest first, as `ip netns list` shows them. When SOCKET.d's
    /// filesystem is not a tmpfs, SOCKET.d is a symbolic link to a private directory on /dev/shm.</summary>
    private static string PlaceStateDir(string stateDir)
    {
        RemoveStateDir(stateDir); // an earlier daemon's on this socket names nothing any more
        string parent = Path.GetDirectoryName(Path.GetFullPath(stateDir))!;
        if (Libc.FsType(parent) != Libc.TMPFS_MAGIC && Libc.FsType("/dev/shm") == Libc.TMPFS_MAGIC)
        {
            string prefix = $"{TmpfsPrefix}{Syscall.getuid()}-";
            SweepOrphans("/dev/shm", prefix);
            if (Libc.MkdTemp($"/dev/shm/{prefix}XXXXXX") is { } real)
            {
                try
                {
                    File.WriteAllText(Path.Combine(real, OwnerFile), Environment.ProcessId + "\n");
                    File.CreateSymbolicLink(stateDir, real);
                    return real;
                }
                catch (IOException)
                {
                    Directory.Delete(real, recursive: true);
                }
            }
        }
        Directory.CreateDirectory(stateDir);
        return stateDir;
    }

    /// <summary>The pid of the daemon a tmpfs state directory belongs to.</summary>
    private const string OwnerFile = "owner";

    /// <summary>Removes the tmpfs state directories of this user's daemons that died without
    /// cleaning up (killed), so that they do not pile up.</summary>
    private static void SweepOrphans(string dir, string prefix)
    {
        try
        {
            foreach (var d in Directory.EnumerateDirectories(dir, prefix + "*"))
            {
                string owner = Path.Combine(d, OwnerFile);
                bool orphan;
                if (File.Exists(owner))
                    orphan = !int.TryParse(File.ReadAllText(owner).Trim(), out int pid) || !Alive(pid);
                else // being made right now by another daemon, or left half-made long ago
                    orphan = DateTime.UtcNow - Directory.GetLastWriteTimeUtc(d) > TimeSpan.FromMinutes(1);
                if (!orphan) continue;
                VirtKernel.SysfsFs.Fuse.FuseMount.DetachUnder(d); // its views, if it was killed
                Directory.Delete(d, recursive: true);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Deletes the state directory (and the tmpfs directory it links to).</summary>
    public static void RemoveStateDir(string stateDir)
    {
        try
        {
            var info = new DirectoryInfo(stateDir);
            // the views of a daemon that was killed: deleting must never meet a mount
            if (info.Exists) VirtKernel.SysfsFs.Fuse.FuseMount.DetachUnder(stateDir);
            if (info.LinkTarget is { } target)
            {
                if (Path.GetFileName(target).StartsWith(TmpfsPrefix, StringComparison.Ordinal) && Directory.Exists(target))
                    Directory.Delete(target, recursive: true);
                File.Delete(stateDir);
            }
            else if (info.Exists)
            {
                Directory.Delete(stateDir, recursive: true);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
    public int NameCount => _names.Count;

    /// <summary>Gives back the room of names, handles and processes that are gone (the daemon's
    /// idle trim: dictionaries keep the size they once had).</summary>
    public void TrimExcess()
    {
        _names.TrimExcess();
        _nameOf.TrimExcess();
        _nameCount.TrimExcess();
        _pidNet.TrimExcess();
        _byInode.TrimExcess();
        _inodeOf.TrimExcess();
    }
    public IReadOnlyDictionary<string, Net> Names => _names;

    /// <summary>A name the namespace is bound under, or null.</summary>
    public string? NameOf(Net net) => _nameOf.GetValueOrDefault(net);

    /// <summary>Called with the pid of a process whose exit must release its namespace (pidfd).</summary>
    public Func<int, bool>? WatchProcess;

    public string HandlePath(Net net) => _nsDir + "/" + net.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
    public string NamePath(string name) => _netnsDir + "/" + name;

    /// <summary>Creates <paramref name="path"/> empty with <paramref name="mode"/>, replacing a leftover.</summary>
    private static int CreateEmpty(string path, uint mode)
    {
        int fd = Libc.open(path, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, mode);
        if (fd < 0 && Libc.Errno == (int)Errno.EEXIST)
        {
            Libc.unlink(path);
            fd = Libc.open(path, Libc.O_WRONLY | Libc.O_CREAT | Libc.O_EXCL | Libc.O_CLOEXEC, mode);
        }
        return fd;
    }

    private void CreateHandle(Net net)
    {
        // a regular file, mode 0444 and empty, like nsfs inodes seen through /run/netns
        int fd = CreateEmpty(HandlePath(net), 0x124 /* 0444 */);
        if (fd < 0) throw new IOException($"cannot create the handle of namespace {net.Id}: errno {Libc.Errno}");
        if (Libc.DevIno(fd, out var dev, out var ino))
        {
            _byInode[(dev, ino)] = net;
            _inodeOf[net.Id] = (dev, ino);
        }
        Libc.close(fd);
    }

    private void DropHandle(Net net)
    {
        // no name and no process holds a namespace that is destroyed
        if (_inodeOf.Remove(net.Id, out var key)) _byInode.Remove(key);
        Libc.unlink(HandlePath(net));
    }

    /// <summary>The namespace a client's token names ("" or "0" = the initial one).</summary>
    public Net? ByToken(string token)
    {
        if (token.Length == 0) return _kernel.InitNet;
        return int.TryParse(token, out var id) ? _kernel.GetNet(id) is { Dying: false } n ? n : null : null;
    }

    /// <summary>The namespace behind an open handle (its st_dev/st_ino).</summary>
    public Net? ByInode(ulong dev, ulong ino) => _byInode.GetValueOrDefault((dev, ino));

    /// <summary>The namespace a process is in (the initial one for processes never seen).</summary>
    public Net NetOfPid(int pid) => _pidNet.GetValueOrDefault(pid) ?? _kernel.InitNet;

    /// <summary>Records that <paramref name="pid"/> is now in <paramref name="net"/> (unshare, setns,
    /// or a hello naming a namespace), holding it until the process exits or moves on.</summary>
    public void Enter(int pid, Net net)
    {
        if (_pidNet.TryGetValue(pid, out var old))
        {
            if (old == net) return;
            _pidNet.Remove(pid);
            if (old != _kernel.InitNet) old.Release();
        }
        if (net == _kernel.InitNet) return;
        if (WatchProcess != null && !WatchProcess(pid)) return; // the process is already gone
        net.Hold();
        _pidNet[pid] = net;
    }

    /// <summary>A watched process exited.</summary>
    public void ProcessExited(int pid)
    {
        if (_pidNet.Remove(pid, out var net) && net != _kernel.InitNet) net.Release();
    }

    public bool Knows(int pid) => _pidNet.ContainsKey(pid);

    /// <summary>A process created <paramref name="pid"/> (fork, posix_spawn) while in <paramref name="net"/>:
    /// the child is there too, unless it already told where it is.</summary>
    public int Child(int parentPid, int pid, Net net)
    {
        if (pid <= 0 || ParentOf(pid) != parentPid) return -Errno.ESRCH;
        if (!Knows(pid)) Enter(pid, net);
        return 0;
    }

    /// <summary>Is the process running (not gone, not a zombie)?</summary>
    private static bool Alive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            int close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] != 'Z';
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return true; }
    }

    /// <summary>The parent pid of a live process (/proc/PID/stat), or -1.</summary>
    private static int ParentOf(int pid)
    {
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid}/stat"); }
        catch (IOException) { return -1; }
        catch (UnauthorizedAccessException) { return -1; }
        // "pid (comm) state ppid ...": comm may hold anything, so parse after the last ')'
        int close = stat.LastIndexOf(')');
        if (close < 0) return -1;
        var fields = stat[(close + 1)..].Split(' ', 4, StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 2 && int.TryParse(fields[1], out int ppid) ? ppid : -1;
    }

    /// <summary>unshare(CLONE_NEWNET): a new namespace, created from the caller's (what
    /// devconf_inherit_init_net=3 copies conf/all and conf/default from).</summary>
    public Net Unshare(int pid)
    {
        var net = _kernel.CreateNet(creator: NetOfPid(pid));
        Enter(pid, net);
        return net;
    }

    private static bool ValidName(string name) =>
        name.Length > 0 && name != "." && name != ".." && !name.Contains('/') && Encoding.UTF8.GetByteCount(name) < 256;

    /// <summary>mount --bind of a namespace onto STATE/netns/NAME: the name shows a hard link of the
    /// namespace's handle (swapped in atomically; the mount point must exist), and holds the
    /// namespace. The file it covers waits in STATE/tmp/NAME for the umount.</summary>
    public int Bind(Net net, string name)
    {
        if (!ValidName(name)) return -Errno.EINVAL;
        if (_names.ContainsKey(name)) return -Errno.EBUSY;
        string tmp = _tmpDir + "/" + name;
        if (Libc.link(HandlePath(net), tmp) < 0)
        {
            int e = Libc.Errno;
            if (e != (int)Errno.EEXIST) return -e;
            Libc.unlink(tmp);
            if (Libc.link(HandlePath(net), tmp) < 0) return -Libc.Errno;
        }
        if (Libc.Exchange(tmp, NamePath(name)) < 0)
        {
            int e = Libc.Errno; // ENOENT: no mount point
            Libc.unlink(tmp);
            return -e;
        }
        net.Hold();
        _names[name] = net;
        _nameOf.TryAdd(net, name);
        _nameCount[net] = _nameCount.GetValueOrDefault(net) + 1;
        return 0;
    }

    /// <summary>umount of STATE/netns/NAME: the name lets go of the namespace and shows again the
    /// file it covered (until unlinked).</summary>
    public int Unbind(string name)
    {
        if (!_names.Remove(name, out var net)) return -Errno.EINVAL;
        int left = _nameCount[net] - 1;
        if (left == 0)
        {
            _nameCount.Remove(net);
            _nameOf.Remove(net);
        }
        else
        {
            _nameCount[net] = left;
            // rare: the namespace is bound under several names; show another one (a scan of the
            // names, which only a namespace with several names pays)
            if (_nameOf.TryGetValue(net, out var shown) && shown == name)
                foreach (var kv in _names)
                    if (kv.Value == net) { _nameOf[net] = kv.Key; break; }
        }
        // the covered file comes back in place of the handle's link
        if (Libc.rename(_tmpDir + "/" + name, NamePath(name)) < 0) Libc.unlink(_tmpDir + "/" + name);
        net.Release();
        return 0;
    }
}
