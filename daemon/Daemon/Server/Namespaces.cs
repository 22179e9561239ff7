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
    private readonly Dictionary<string, Net> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<int, Net> _pidNet = new();
    private readonly Dictionary<(ulong Dev, ulong Ino), Net> _byInode = new();
    private readonly Dictionary<int, (ulong Dev, ulong Ino)> _inodeOf = new();

    public Namespaces(Kernel kernel, string stateDir)
    {
        _kernel = kernel;
        StateDir = stateDir;
        Directory.CreateDirectory(Path.Combine(stateDir, "ns"));
        Directory.CreateDirectory(Path.Combine(stateDir, "netns"));
        Syscall.chmod(stateDir, FilePermissions.S_IRWXU | FilePermissions.S_IRGRP | FilePermissions.S_IXGRP | FilePermissions.S_IROTH | FilePermissions.S_IXOTH);
        // leftovers of an earlier daemon on this socket name nothing any more
        foreach (var f in Directory.EnumerateFiles(Path.Combine(stateDir, "ns"))) File.Delete(f);
        foreach (var f in Directory.EnumerateFiles(Path.Combine(stateDir, "netns"))) File.Delete(f);
        kernel.NetCreated += CreateHandle;
        kernel.NetDestroyed += DropHandle;
        foreach (var net in kernel.Nets) CreateHandle(net);
    }

    public string StateDir { get; }
    public int NameCount => _names.Count;
    public IReadOnlyDictionary<string, Net> Names => _names;

    /// <summary>Called with the pid of a process whose exit must release its namespace (pidfd).</summary>
    public Func<int, bool>? WatchProcess;

    public string HandlePath(Net net) => Path.Combine(StateDir, "ns", net.Id.ToString());
    public string NamePath(string name) => Path.Combine(StateDir, "netns", name);

    private void CreateHandle(Net net)
    {
        var path = HandlePath(net);
        // a regular file, mode 0444 and empty, like /run/netns entries of the kernel
        using (File.Create(path)) { }
        Syscall.chmod(path, FilePermissions.S_IRUSR | FilePermissions.S_IRGRP | FilePermissions.S_IROTH);
        if (Syscall.stat(path, out var st) == 0)
        {
            var key = ((ulong)st.st_dev, st.st_ino);
            _byInode[key] = net;
            _inodeOf[net.Id] = key;
        }
    }

    private void DropHandle(Net net)
    {
        if (_inodeOf.Remove(net.Id, out var key)) _byInode.Remove(key);
        try { File.Delete(HandlePath(net)); }
        catch (IOException) { }
        foreach (var (pid, n) in _pidNet.Where(kv => kv.Value == net).ToList()) _pidNet.Remove(pid);
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

    /// <summary>unshare(CLONE_NEWNET).</summary>
    public Net Unshare(int pid)
    {
        var net = _kernel.CreateNet();
        Enter(pid, net);
        return net;
    }

    private static bool ValidName(string name) =>
        name.Length > 0 && name != "." && name != ".." && !name.Contains('/') && Encoding.UTF8.GetByteCount(name) < 256;

    /// <summary>mount --bind of a namespace onto STATE/netns/NAME: the file becomes a hard link of the
    /// namespace's handle, and the name holds the namespace.</summary>
    public int Bind(Net net, string name)
    {
        if (!ValidName(name)) return -Errno.EINVAL;
        var path = NamePath(name);
        if (!File.Exists(path)) return -Errno.ENOENT;
        if (_names.ContainsKey(name)) return -Errno.EBUSY;
        string tmp = path + ".vk-bind";
        File.Delete(tmp);
        if (Syscall.link(HandlePath(net), tmp) < 0) return -(int)Stdlib.GetLastError();
        if (Syscall.rename(tmp, path) < 0)
        {
            int e = (int)Stdlib.GetLastError();
            File.Delete(tmp);
            return -e;
        }
        net.Hold();
        _names[name] = net;
        return 0;
    }

    /// <summary>umount of STATE/netns/NAME: the name lets go (the file stays until unlinked).</summary>
    public int Unbind(string name)
    {
        if (!_names.Remove(name, out var net)) return -Errno.EINVAL;
        net.Release();
        return 0;
    }

    public string? NameOf(Net net) => _names.FirstOrDefault(kv => kv.Value == net).Key;
}
