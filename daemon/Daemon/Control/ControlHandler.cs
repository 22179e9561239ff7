using System.Buffers.Binary;
using System.Text;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Shim;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Control;

/// <summary>The calls of the shim's control connection (see shim/vk_proto.h): socket calls that
/// need an answer, interface ioctls and the interface-name lookups glibc would make against the
/// host kernel. Every answer is a struct vk_ctl_rep plus a payload.</summary>
public sealed class ControlHandler
{
    private readonly Kernel _kernel;
    private readonly NetlinkEngine _engine;
    private readonly VkServer _server;
    private readonly DevIoctl _ioctl;

    public ControlHandler(Kernel kernel, NetlinkEngine engine, VkServer server)
    {
        _kernel = kernel;
        _engine = engine;
        _server = server;
        _ioctl = new DevIoctl(engine);
    }

    /// <summary>Answers one control call. <paramref name="newNet"/> is set when the call moved the
    /// caller to another namespace (unshare, setns).</summary>
    public byte[] Handle(uint uid, uint gid, int pid, Net net, CtlRequest req, ReadOnlySpan<byte> p, out Net? newNet)
    {
        newNet = null;
        var ns = _server.NamespaceTable;
        NetlinkSock? sk = null;
        if (req.SockId != 0)
        {
            if (!_server.OwnsSocket(req.SockId, uid)) return Reply(-Errno.EBADF);
            // order the call after every frame already sent on that socket
            _server.DrainSocketInput(req.SockId);
            sk = _engine.GetSocket(req.SockId);
            if (sk == null) return Reply(-Errno.EBADF);
        }
        switch (req.Op)
        {
            case CtlOp.Connect when sk != null && p.Length == 0:
                // connect(AF_UNSPEC): forget the destination, no autobind
                return Reply(_engine.Disconnect(sk));
            case CtlOp.Bind:
            case CtlOp.Connect:
            {
                if (sk == null || p.Length < 8) return Reply(-Errno.EINVAL);
                uint npid = BinaryPrimitives.ReadUInt32LittleEndian(p);
                uint groups = BinaryPrimitives.ReadUInt32LittleEndian(p[4..]);
                int r = req.Op == CtlOp.Bind ? _engine.Bind(sk, npid, groups) : _engine.Connect(sk, npid, groups);
                if (r < 0) return Reply(r);
                return SockName(sk);
            }
            case CtlOp.GetSockName:
                if (sk == null) return Reply(-Errno.EINVAL);
                return SockName(sk);
            case CtlOp.SetSockOpt:
            {
                if (sk == null || p.Length < 8) return Reply(-Errno.EINVAL);
                int level = BinaryPrimitives.ReadInt32LittleEndian(p);
                int name = BinaryPrimitives.ReadInt32LittleEndian(p[4..]);
                return Reply(_engine.SetSockOpt(sk, level, name, p[8..]));
            }
            case CtlOp.GetSockOpt:
            {
                if (sk == null || p.Length < 12) return Reply(-Errno.EINVAL);
                int level = BinaryPrimitives.ReadInt32LittleEndian(p);
                int name = BinaryPrimitives.ReadInt32LittleEndian(p[4..]);
                int optlen = BinaryPrimitives.ReadInt32LittleEndian(p[8..]);
                int r = _engine.GetSockOpt(sk, level, name, optlen, out var val);
                return CtlReply.Build(r, val);
            }
            case CtlOp.Sync:
                // the socket's queue onto its connection (a non-blocking receive that found the
                // connection empty asks whether more is queued)
                return Reply(sk != null && _server.FlushSocketOutput(sk) ? 1 : 0);
            case CtlOp.Ioctl:
            {
                if (p.Length < 4) return Reply(-Errno.EINVAL);
                uint request = BinaryPrimitives.ReadUInt32LittleEndian(p);
                // an ioctl on an emulated netlink socket acts in that socket's namespace
                int r = _ioctl.Handle(sk?.Net ?? net, _engine.IsPrivileged(uid), (int)req.Aux, request, p[4..], out var outp);
                return CtlReply.Build(r, outp);
            }
            case CtlOp.NameToIndex:
            {
                var name = CString(p);
                var dev = net.GetDevice(name);
                return Reply(dev?.Ifindex ?? -Errno.ENODEV);
            }
            case CtlOp.IndexToName:
            {
                if (p.Length < 4) return Reply(-Errno.EINVAL);
                var dev = net.GetDevice((int)BinaryPrimitives.ReadUInt32LittleEndian(p));
                if (dev == null) return Reply(-Errno.ENXIO);
                return CtlReply.Build(0, Encoding.UTF8.GetBytes(dev.Name));
            }
            case CtlOp.NameIndex:
            {
                var devs = net.Devices.ToList();
                var o = new byte[devs.Count * 20];
                for (int i = 0; i < devs.Count; i++)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(o.AsSpan(i * 20), (uint)devs[i].Ifindex);
                    Encoding.UTF8.GetBytes(devs[i].Name, o.AsSpan(i * 20 + 4, 15));
                }
                return CtlReply.Build(devs.Count, o);
            }
            case CtlOp.GetIfAddrs:
                return IfAddrs.Build(net);
            case CtlOp.NetnsUnshare:
            {
                if (!_engine.IsPrivileged(uid)) return Reply(-Errno.EPERM);
                newNet = ns.Unshare(pid);
                return Reply(newNet.Id);
            }
            case CtlOp.NetnsSetns:
            {
                if (p.Length < 4) return Reply(-Errno.EINVAL);
                var target = _kernel.GetNet((int)BinaryPrimitives.ReadUInt32LittleEndian(p));
                if (target == null || target.Dying) return Reply(-Errno.EINVAL);
                ns.Enter(pid, target);
                newNet = target;
                return Reply(0);
            }
            case CtlOp.NetnsResolve:
            {
                if (p.Length < 16) return Reply(-Errno.EINVAL);
                var n = ns.ByInode(BinaryPrimitives.ReadUInt64LittleEndian(p), BinaryPrimitives.ReadUInt64LittleEndian(p[8..]));
                return Reply(n == null ? -Errno.EINVAL : n.Id);
            }
            case CtlOp.NetnsBind:
            {
                if (!_engine.IsPrivileged(uid)) return Reply(-Errno.EPERM);
                if (p.Length < 5) return Reply(-Errno.EINVAL);
                var target = _kernel.GetNet((int)BinaryPrimitives.ReadUInt32LittleEndian(p));
                if (target == null || target.Dying) return Reply(-Errno.EINVAL);
                return Reply(ns.Bind(target, Encoding.UTF8.GetString(p[4..])));
            }
            case CtlOp.NetnsUnbind:
                if (!_engine.IsPrivileged(uid)) return Reply(-Errno.EPERM);
                return Reply(ns.Unbind(Encoding.UTF8.GetString(p)));
            case CtlOp.NetnsOfPid:
            {
                if (p.Length < 4) return Reply(-Errno.EINVAL);
                int qpid = BinaryPrimitives.ReadInt32LittleEndian(p);
                if (qpid <= 0 || !Directory.Exists($"/proc/{qpid}")) return Reply(-Errno.ESRCH);
                return Reply(ns.NetOfPid(qpid).Id);
            }
            case CtlOp.NetnsChild:
                if (p.Length < 4) return Reply(-Errno.EINVAL);
                return Reply(ns.Child(pid, BinaryPrimitives.ReadInt32LittleEndian(p), net));
            case CtlOp.Status:
                return CtlReply.Build(0, Encoding.UTF8.GetBytes(Status()));
            case CtlOp.ViewDir:
                return ViewDir(uid, gid, p);
            case CtlOp.Shutdown:
                if (!_engine.IsPrivileged(uid)) return Reply(-Errno.EPERM);
                _server.Stop();
                return Reply(0);
            default:
                return Reply(-Errno.ENOSYS);
        }
    }

    /// <summary>Calls that change nothing the views show (the others make the shim forget what it
    /// learnt of them, see <see cref="ViewsGeneration"/>).</summary>
    public static bool ReadOnly(CtlOp op) => op is CtlOp.GetSockName or CtlOp.GetSockOpt or CtlOp.Sync or
        CtlOp.NameToIndex or CtlOp.IndexToName or CtlOp.NameIndex or CtlOp.GetIfAddrs or CtlOp.Status or
        CtlOp.NetnsResolve or CtlOp.NetnsOfPid or CtlOp.ViewDir;

    /// <summary>How much a VK_CTL_VIEW_DIR answer holds at most beyond its first directory.</summary>
    private const int ViewDirBudget = 128 * 1024;

    /// <summary>Answers already built, valid while the views' generation stays what it was.</summary>
    private readonly Dictionary<(string Path, uint Uid, uint Gid, uint ReqUid, uint ReqGid, uint Flags), byte[]> _viewDirs = new();
    private long _viewDirsGen;

    /// <summary>VK_CTL_VIEW_DIR: a directory of namespace ID's views, listed as the mount shows it,
    /// with the contents the asking user (and the connection's peer) may read, and with
    /// VK_VIEW_SUBDIRS the directories below it, depth first, while they fit. Answers are kept
    /// until the generation changes: the many sysctl processes of a script share them.</summary>
    private byte[] ViewDir(uint uid, uint gid, ReadOnlySpan<byte> p)
    {
        if (_server.Views is not { } views || _server.ViewsGen is not { } gen) return Reply(-Errno.EOPNOTSUPP);
        if (!ViewDirRequest.TryRead(p, out var req, out var path)) return Reply(-Errno.EINVAL);
        long now = gen.Value;
        if (now != _viewDirsGen)
        {
            _viewDirs.Clear();
            _viewDirsGen = now;
        }
        var key = ($"ns/{req.Netns}/{path}", uid, gid, req.Uid, req.Gid, req.Flags & ViewDirRequest.Subdirs);
        if (_viewDirs.TryGetValue(key, out var cached)) return cached;
        var readers = new[] { new VirtKernel.SysfsFs.Fuse.FsCaller(uid, gid, 0), new VirtKernel.SysfsFs.Fuse.FsCaller(req.Uid, req.Gid, 0) };
        var blocks = new List<ViewDirReply.Block>();
        int r = ListViewDir(views, req.Netns, path, readers, blocks);
        if (r < 0) return Reply(r);
        if ((req.Flags & ViewDirRequest.Subdirs) != 0)
        {
            // depth first below it, while the answer stays small
            int size = blocks[0].Size;
            var pending = new Stack<string>(SubdirsOf(blocks[0]).Reverse());
            while (pending.Count > 0 && size < ViewDirBudget)
            {
                string sub = pending.Pop();
                int before = blocks.Count;
                if (ListViewDir(views, req.Netns, sub, readers, blocks) < 0) continue;
                size += blocks[before].Size;
                foreach (var s in SubdirsOf(blocks[before]).Reverse()) pending.Push(s);
            }
        }
        var reply = ViewDirReply.Build((ulong)now, blocks);
        _viewDirs[key] = reply;
        return reply;
    }

    private static int ListViewDir(VirtKernel.SysfsFs.Fuse.FuseServer views, uint netns, string path,
        VirtKernel.SysfsFs.Fuse.FsCaller[] readers, List<ViewDirReply.Block> into)
    {
        var list = new List<VirtKernel.SysfsFs.Fuse.FuseServer.Listed>();
        int r = views.ListDir($"ns/{netns}/{path}", readers, list, out ulong ino, out ulong parentIno);
        if (r < 0) return r;
        into.Add(new ViewDirReply.Block(path, ino, parentIno,
            list.Select(e => new ViewDirReply.Entry(e.Name, e.Attr, e.Content)).ToList()));
        return 0;
    }

    private static IEnumerable<string> SubdirsOf(ViewDirReply.Block b) =>
        b.Entries.Where(e => (e.Attr.Mode & 0xF000) == 0x4000).Select(e => b.Path.TrimEnd('/') + "/" + e.Name);

    private string Status()
    {
        int devices = _kernel.Nets.Sum(n => n.DeviceCount);
        var (queued, largest, drops) = _engine.QueueStats();
        return $"pid {Environment.ProcessId}\nuptime {(int)(DateTime.UtcNow - _server.StartedAt).TotalSeconds}s\n" +
               $"named namespaces {_server.NamespaceTable.NameCount}\n" +
               $"namespaces {_kernel.NetCount}\ndevices {devices}\nnetlink sockets {_engine.SocketCount}\n" +
               // what the sockets' receive queues hold in the daemon (each bounded by its sk_rcvbuf)
               $"netlink queued {queued} bytes, largest {largest}, dropped {drops} messages\n" +
               $"connections {_server.ConnectionCount}\n" +
               // live managed memory after a full collection: what the state really takes
               $"managed heap {GC.GetTotalMemory(forceFullCollection: true) / 1024} KiB\n";
    }

    private static byte[] SockName(NetlinkSock sk)
    {
        var o = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(o, sk.PortId);
        BinaryPrimitives.WriteUInt32LittleEndian(o.AsSpan(4), sk.GroupMask32);
        return CtlReply.Build(0, o);
    }

    private static byte[] Reply(int ret) => CtlReply.Build(ret, default);

    private static string CString(ReadOnlySpan<byte> p)
    {
        int n = p.IndexOf((byte)0);
        return Encoding.UTF8.GetString(n >= 0 ? p[..n] : p);
    }
}
