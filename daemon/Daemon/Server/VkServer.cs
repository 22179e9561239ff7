using System.Runtime.InteropServices;
using Mono.Unix.Native;
using VirtKernel.Daemon.Control;
using VirtKernel.Model;
using VirtKernel.Protocol;
using Errno = VirtKernel.Protocol.Errno;
using VirtKernel.Protocol.Shim;
using VirtKernel.SysfsFs.Fuse;
using VirtKernel.SysfsFs.Views;

namespace VirtKernel.Daemon.Server;

/// <summary>Settings of the listening socket.</summary>
public sealed record ServerOptions
{
    public required string SocketPath { get; init; }
    /// <summary>Mode of the socket file (0600: only the daemon's user; wider modes let other users in,
    /// who then get EPERM for every change, as a process without CAP_NET_ADMIN).</summary>
    public uint SocketMode { get; init; } = 0x180; // 0600
    public uint? Gid { get; init; }
    public TextWriter? Log { get; init; }
    /// <summary>Serve the namespaces' /proc/sys/net, /proc/net and /sys/class/net views over FUSE
    /// at SOCKET.d/fs (see <see cref="VirtKernel.SysfsFs.Views.VkFs"/>).</summary>
    public bool MountViews { get; init; } = true;
}

/// <summary>The daemon's event loop: one thread, epoll over the listening socket and every client
/// connection, the kernel's timers, and shutdown. Every model access happens on this thread while
/// holding the kernel lock, one request at a time (the rtnl lock).</summary>
public sealed unsafe class VkServer : IDisposable
{
    private const int MaxFrame = 256 * 1024 + 64;
    private readonly ServerOptions _opt;
    private readonly Kernel _kernel;
    private readonly NetlinkEngine _engine;
    private readonly ControlHandler _control;
    private readonly Dictionary<int, Conn> _conns = new();
    private readonly Dictionary<uint, Conn> _dataBySock = new();
    private readonly HashSet<Conn> _dirty = new();
    private readonly byte[] _rbuf = new byte[MaxFrame];
    private readonly Dictionary<int, int> _pidfds = new(); // pidfd -> pid
    private readonly HashSet<int> _watchedPids = new();   // the pids of _pidfds
    private Namespaces? _namespaces;
    private FuseMount? _fuse;
    private FuseServer? _fuseServer;
    private byte[] _fuseBuf = [];
    private FuseFdSink? _fuseSink;
    private ViewsGeneration? _viewsGen;

    public Namespaces NamespaceTable => _namespaces ?? throw new InvalidOperationException("not listening");
    private int _listenFd = -1, _epfd = -1, _wakeFd = -1;
    private volatile bool _stop;
    private readonly uint _uid = Syscall.getuid();

    public VkServer(Kernel kernel, ServerOptions opt)
    {
        _kernel = kernel;
        _opt = opt;
        _engine = new NetlinkEngine(kernel, _uid);
        _control = new ControlHandler(kernel, _engine, this);
    }

    public NetlinkEngine Engine => _engine;
    public int ConnectionCount => _conns.Count;
    public DateTime StartedAt { get; } = DateTime.UtcNow;

    private sealed class Conn
    {
        public int Fd;
        public uint Uid, Gid;
        public int Pid;
        public ConnKind? Kind;
        public NetlinkSock? Sock;
        public Net? Netns;
        public readonly Queue<byte[]> CtlOut = new();
        public bool WantOut;
        public bool Closed;
        /// <summary>SO_SNDBUF as last set on the connection.</summary>
        public int SndBuf = 4 << 20;
    }

    // ---- setup ---------------------------------------------------------------------------------

    /// <summary>Creates the listening socket: bound under a temporary name, given its mode, then
    /// renamed into place, so that the path exists only once the daemon listens.</summary>
    public void Listen()
    {
        var path = _opt.SocketPath;
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(dir))
        {
            Directory.CreateDirectory(dir);
            Syscall.chmod(dir, FilePermissions.S_IRWXU);
        }
        if (File.Exists(path) || IsSocket(path))
        {
            if (Probe(path)) throw new IOException($"a daemon already listens on {path}");
            File.Delete(path);
        }
        string tmp = $"{path}.{Environment.ProcessId}.tmp";
        if (File.Exists(tmp)) File.Delete(tmp);
        _listenFd = Syscall.socket(UnixAddressFamily.AF_UNIX, UnixSocketType.SOCK_SEQPACKET,
            UnixSocketFlags.SOCK_CLOEXEC | UnixSocketFlags.SOCK_NONBLOCK, (UnixSocketProtocol)0);
        if (_listenFd < 0) throw new IOException("socket: " + Stdlib.GetLastError());
        if (Syscall.bind(_listenFd, new SockaddrUn(tmp)) < 0) throw new IOException($"bind {tmp}: {Stdlib.GetLastError()}");
        if (Syscall.chmod(tmp, (FilePermissions)_opt.SocketMode) < 0) throw new IOException("chmod: " + Stdlib.GetLastError());
        if (_opt.Gid is uint gid && Syscall.chown(tmp, _uid, gid) < 0) throw new IOException("chown: " + Stdlib.GetLastError());
        if (Syscall.listen(_listenFd, 1024) < 0) throw new IOException("listen: " + Stdlib.GetLastError());

        _namespaces = new Namespaces(_kernel, path + ".d", _opt.SocketMode, _opt.Gid) { WatchProcess = Watch };
        _engine.Namespaces = _namespaces;
        _kernel.NetDestroyed += _ => _destroyedSinceTrim++;
        _epfd = Libc.epoll_create1(Libc.EPOLL_CLOEXEC);
        _wakeFd = Libc.eventfd(0, 0x80000 | 0x800); // EFD_CLOEXEC | EFD_NONBLOCK
        Add(_listenFd, Libc.EPOLLIN);
        Add(_wakeFd, Libc.EPOLLIN);
        if (_opt.MountViews) MountViews();
        // the socket appears last: a daemon whose socket exists has its views mounted
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Where the views are mounted (SOCKET.d/fs), or null when they are not.</summary>
    public string? ViewsMountPoint => _fuse?.MountPoint;

    /// <summary>Mounts the FUSE views at STATE/fs; without /dev/fuse or fusermount3 the daemon runs
    /// without them (and says so).</summary>
    private void MountViews()
    {
        var mountPoint = Path.Combine(_namespaces!.StateDir, "fs");
        try
        {
            _fuse = FuseMount.Mount(mountPoint);
        }
        catch (IOException e)
        {
            (_opt.Log ?? Console.Error).WriteLine($"virtkernel: no /proc/sys/net, /proc/net, /sys/class/net views: {e.Message}");
            return;
        }
        _fuseServer = new FuseServer(new VkFs(_kernel), new FuseOptions { OwnerUid = _uid, OwnerGid = Syscall.getgid() });
        _viewsGen = new ViewsGeneration(_namespaces.RealDir);
        _fuseBuf = new byte[_fuseServer.RequestBufferSize];
        _fuseSink = new FuseFdSink(_fuse);
        Add(_fuse.Fd, Libc.EPOLLIN);
    }

    /// <summary>The mounted views' request handler, null without views.</summary>
    internal FuseServer? Views => _fuse != null ? _fuseServer : null;

    /// <summary>The views' generation (STATE/views.gen), null without views.</summary>
    internal ViewsGeneration? ViewsGen => _viewsGen;

    /// <summary>What the views show may have changed (see <see cref="ViewsGeneration"/>).</summary>
    private void ViewsChanged() => _viewsGen?.Bump();

    /// <summary>Replies go straight to /dev/fuse.</summary>
    private sealed class FuseFdSink(FuseMount m) : IFuseReplySink
    {
        public void Send(ReadOnlySpan<byte> message) => m.Write(message);
    }

    /// <summary>Serves the FUSE requests waiting on /dev/fuse, each under the kernel lock like a
    /// netlink request, with the deferred work run after it.</summary>
    private void ServeFuse(int budget = 256)
    {
        var m = _fuse!;
        while (budget-- > 0)
        {
            int n = m.Read(_fuseBuf);
            if (n == 0) return;
            if (n < 0)
            {
                // ENODEV: unmounted behind our back; stop serving
                Libc.epoll_ctl(_epfd, Libc.EPOLL_CTL_DEL, m.Fd, null);
                m.Unmount();
                _fuse = null;
                return;
            }
            lock (_kernel.Lock)
            {
                if (FuseServer.MayChange(_fuseBuf.AsSpan(0, n))) ViewsChanged();
                _fuseServer!.Handle(_fuseBuf.AsSpan(0, n), _fuseSink!);
                _kernel.RunDeferred();
            }
        }
    }

    private static bool IsSocket(string path) =>
        Syscall.lstat(path, out var st) == 0 && (st.st_mode & FilePermissions.S_IFMT) == FilePermissions.S_IFSOCK;

    /// <summary>Is a daemon accepting connections on <paramref name="path"/>?</summary>
    public static bool Probe(string path)
    {
        int fd = Syscall.socket(UnixAddressFamily.AF_UNIX, UnixSocketType.SOCK_SEQPACKET, UnixSocketFlags.SOCK_CLOEXEC, (UnixSocketProtocol)0);
        if (fd < 0) return false;
        try { return Syscall.connect(fd, new SockaddrUn(path)) == 0; }
        finally { Syscall.close(fd); }
    }

    private void Add(int fd, uint events)
    {
        var ev = new Libc.EpollEvent { Events = events, Data = (ulong)fd };
        Libc.epoll_ctl(_epfd, Libc.EPOLL_CTL_ADD, fd, &ev);
    }

    private void Mod(int fd, uint events)
    {
        var ev = new Libc.EpollEvent { Events = events, Data = (ulong)fd };
        Libc.epoll_ctl(_epfd, Libc.EPOLL_CTL_MOD, fd, &ev);
    }

    /// <summary>Asks the loop to end (from a signal handler or another thread).</summary>
    public void Stop()
    {
        _stop = true;
        if (_wakeFd >= 0)
        {
            ulong one = 1;
            Libc.write(_wakeFd, (byte*)&one, 8);
        }
    }

    // ---- work from other threads (the management API) ------------------------------------------

    private readonly System.Collections.Concurrent.ConcurrentQueue<Action> _posted = new();

    /// <summary>Runs <paramref name="work"/> on the server thread under the kernel lock, between two
    /// requests (as the rtnl lock orders them), and completes with its result. Output it queues for
    /// clients (notifications) is flushed by the loop as usual.</summary>
    public Task<T> Invoke<T>(Func<T> work)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _posted.Enqueue(() =>
        {
            try { tcs.SetResult(work()); }
            catch (Exception e) { tcs.SetException(e); }
        });
        Wake();
        return tcs.Task;
    }

    private void Wake()
    {
        if (_wakeFd < 0) return;
        ulong one = 1;
        Libc.write(_wakeFd, (byte*)&one, 8);
    }

    private void RunPosted()
    {
        ulong v;
        Libc.read(_wakeFd, (byte*)&v, 8);
        while (_posted.TryDequeue(out var work))
        {
            lock (_kernel.Lock)
            {
                work();
                _kernel.RunDeferred();
                // an import, a reset, a new namespace change what the views show without a request
                // of a client: what clients kept of them (a sysctl's value) is stale
                ViewsChanged();
            }
        }
    }

    // ---- the loop ------------------------------------------------------------------------------

    /// <summary>How long the loop keeps polling after some activity before it sleeps in epoll_wait.</summary>
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 10_000; // 100 µs
    private long _lastActivity;

    /// <summary>How long the loop waits without any event before it looks at <see cref="TrimIfIdle"/>.</summary>
    private const int IdleTrimMs = 1000;
    /// <summary>Something happened since the last look at the heap.</summary>
    private bool _trimCheckPending;
    private long _lastEvent;

    /// <summary>After a burst of work (100,000 namespaces or routes made or deleted) the collector
    /// keeps what it once needed: an idle daemon allocates nothing, so nothing collects the garbage
    /// and the daemon would stay at its high-water mark. Once idle after at least 64 MB of
    /// allocations or 256 namespaces destroyed, one full collection runs, and when much more is
    /// still committed than is alive, an aggressive one gives it back to the system.</summary>
    private void TrimIfIdle()
    {
        long allocated = GC.GetTotalAllocatedBytes();
        if (allocated - _allocatedAtTrim < TrimAfterBytes && _destroyedSinceTrim < TrimAfterNamespaces) return;
        _allocatedAtTrim = allocated;
        _destroyedSinceTrim = 0;
        lock (_kernel.Lock)
        {
            _kernel.TrimExcess();
            _namespaces?.TrimExcess();
        }
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        var info = GC.GetGCMemoryInfo();
        if (info.TotalCommittedBytes > 2 * info.HeapSizeBytes + TrimAfterBytes)
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }

    private const long TrimAfterBytes = 64L << 20;
    private const int TrimAfterNamespaces = 256;
    private long _allocatedAtTrim;
    private int _destroyedSinceTrim;

    public void Run()
    {
        var events = stackalloc Libc.EpollEvent[256];
        while (!_stop)
        {
            int timeout = -1;
            if (_kernel.Timers.NextDue is long due)
                timeout = (int)Math.Clamp(due - _kernel.Clock.NowMs, 0, int.MaxValue);
            if (_trimCheckPending)
            {
                long idleMs = (System.Diagnostics.Stopwatch.GetTimestamp() - _lastEvent) * 1000 / System.Diagnostics.Stopwatch.Frequency;
                int left = (int)Math.Max(0, IdleTrimMs - idleMs);
                if (timeout < 0 || timeout > left) timeout = left;
            }
            // Right after a request the next one usually follows within microseconds (ip -batch,
            // a dump's next datagram): poll briefly before sleeping, which saves a wakeup per request.
            // Between polls the CPU goes to whoever else wants it: a client that shares this CPU
            // (pure spinning would keep it from sending the request the loop waits for: with ip and
            // the daemon pinned to one CPU, 122 us per route add instead of 17).
            int n = 0;
            if (_lastActivity != 0)
            {
                long spinUntil = _lastActivity + SpinTicks;
                while ((n = Libc.epoll_wait(_epfd, events, 256, 0)) == 0 && System.Diagnostics.Stopwatch.GetTimestamp() < spinUntil)
                    Libc.sched_yield();
            }
            if (n == 0) n = Libc.epoll_wait(_epfd, events, 256, timeout);
            _lastActivity = n > 0 ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
            if (n > 0)
            {
                _trimCheckPending = true;
                _lastEvent = _lastActivity;
            }
            else if (n == 0 && _trimCheckPending &&
                     System.Diagnostics.Stopwatch.GetTimestamp() - _lastEvent >= System.Diagnostics.Stopwatch.Frequency * IdleTrimMs / 1000)
            {
                _trimCheckPending = false;
                TrimIfIdle();
            }
            if (n < 0)
            {
                if (Libc.Errno == Libc.EINTR) continue;
                throw new IOException("epoll_wait: " + Libc.Errno);
            }
            for (int i = 0; i < n && !_stop; i++)
            {
                int fd = (int)events[i].Data;
                uint ev = events[i].Events;
                if (fd == _listenFd) { AcceptAll(); continue; }
                if (_fuse != null && fd == _fuse.Fd) { ServeFuse(); continue; }
                if (fd == _wakeFd)
                {
                    RunPosted();
                    continue;
                }
                if (_pidfds.Remove(fd, out int exited))
                {
                    _watchedPids.Remove(exited);
                    Libc.epoll_ctl(_epfd, Libc.EPOLL_CTL_DEL, fd, null);
                    Libc.close(fd);
                    lock (_kernel.Lock)
                    {
                        _namespaces!.ProcessExited(exited);
                        _kernel.RunDeferred(destroyNamespaces: false);
                        ViewsChanged();
                    }
                    continue;
                }
                if (!_conns.TryGetValue(fd, out var c)) continue;
                // one frame per wake-up: epoll is level-triggered, so more frames report the connection
                // again, and a lone request costs no second recv that finds nothing
                if ((ev & (Libc.EPOLLIN | Libc.EPOLLHUP | Libc.EPOLLERR)) != 0) ReadConn(c, 1);
                if ((ev & Libc.EPOLLOUT) != 0 && !c.Closed) _dirty.Add(c);
            }
            lock (_kernel.Lock)
            {
                if (_kernel.RunTimers() > 0)
                {
                    _kernel.RunDeferred();
                    ViewsChanged();
                }
            }
            FlushDirty();
            if (_kernel.DestroyPending)
            {
                // cleanup_net: after the answers are out, before the next request is read
                lock (_kernel.Lock)
                {
                    _kernel.RunDeferred();
                    ViewsChanged();
                }
                FlushDirty();
            }
        }
    }

    /// <summary>Watches a client process so that its exit releases the namespace it was in.</summary>
    private bool Watch(int pid)
    {
        if (_watchedPids.Contains(pid)) return true;
        int fd = Libc.PidfdOpen(pid);
        if (fd < 0) return Libc.Errno != 3; // ESRCH: gone already; other errors: keep without watching
        _pidfds[fd] = pid;
        _watchedPids.Add(pid);
        Add(fd, Libc.EPOLLIN);
        return true;
    }

    private void AcceptAll()
    {
        while (true)
        {
            int fd = Syscall.accept4(_listenFd, null!, UnixSocketFlags.SOCK_CLOEXEC | UnixSocketFlags.SOCK_NONBLOCK);
            if (fd < 0) return;
            var c = new Conn { Fd = fd };
            var cred = new byte[12];
            long len = cred.Length;
            if (Syscall.getsockopt(fd, UnixSocketProtocol.SOL_SOCKET, UnixSocketOptionName.SO_PEERCRED, cred, ref len) == 0)
            {
                c.Pid = BitConverter.ToInt32(cred, 0);
                c.Uid = BitConverter.ToUInt32(cred, 4);
                c.Gid = BitConverter.ToUInt32(cred, 8);
            }
            else c.Uid = c.Gid = uint.MaxValue;
            int sndbuf = 4 << 20;
            Libc.setsockopt(fd, Libc.SOL_SOCKET, Libc.SO_SNDBUF, &sndbuf, 4);
            _conns[fd] = c;
            Add(fd, Libc.EPOLLIN);
            // the client sends its hello right after connect and waits for the answer: it is
            // usually there already (saves a turn of the loop)
            ReadConn(c, 1);
        }
    }

    /// <summary>Reads and handles every frame waiting on a connection.</summary>
    private void ReadConn(Conn c, int budget = 256)
    {
        while (!c.Closed && budget-- > 0)
        {
            nint r;
            fixed (byte* p = _rbuf) r = Libc.recv(c.Fd, p, (nuint)_rbuf.Length, Libc.MSG_DONTWAIT);
            if (r < 0)
            {
                int e = Libc.Errno;
                if (e == Libc.EAGAIN || e == Libc.EINTR) return;
                CloseConn(c);
                return;
            }
            if (r == 0)
            {
                CloseConn(c);
                return;
            }
            HandleFrame(c, (int)r);
        }
    }

    private void HandleFrame(Conn c, int length)
    {
        var frame = new ReadOnlySpan<byte>(_rbuf, 0, length);
        if (c.Kind == null)
        {
            if (!Hello.TryRead(frame, out var hello) || hello.Version != Hello.CurrentVersion)
            {
                CloseConn(c);
                return;
            }
            c.Kind = hello.Kind;
            if (c.Kind == ConnKind.Data) SetSndBuf(c, DataSndBuf);
            lock (_kernel.Lock)
            {
                var net = _namespaces!.ByToken(hello.Netns);
                c.Netns = net;
                c.Pid = hello.Pid;
                // a process (e.g. a forked child) naming a namespace is inside it
                if (net != null && net != _kernel.InitNet && !_namespaces.Knows(hello.Pid)) _namespaces.Enter(hello.Pid, net);
                if (hello.Kind == ConnKind.Data)
                {
                    NetlinkSock? sk = null;
                    int err = net == null ? -Errno.ENOENT
                        : _engine.CreateSocket(net, hello.Protocol, hello.Type, hello.Pid, c.Uid, out sk);
                    var rep = new byte[RxHeader.Size];
                    if (err == 0)
                    {
                        var s = sk!;
                        c.Sock = s;
                        _dataBySock[s.Id] = c;
                        s.OnOutput = () => _dirty.Add(c);
                        // a socket the client closed just before must not keep the pid (close is
                        // synchronous on the kernel): take in its pending EOF first
                        var table = _engine.Table(s.Net);
                        if (table.Lookup((uint)hello.Pid) is { } holder && _dataBySock.TryGetValue(holder.Id, out var hc))
                            ReadConn(hc, int.MaxValue);
                        else if (table.ReservedBy((uint)hello.Pid) is { } r && _dataBySock.TryGetValue(r.Id, out var rc))
                            ReadConn(rc, int.MaxValue);
                        uint autoPort = table.ReserveAutobind(s);
                        new RxHeader(RxOp.Hello, RxFlags.None, s.Id, autoPort, 0).Write(rep);
                    }
                    else new RxHeader(RxOp.Hello, RxFlags.None, 0, 0, err).Write(rep);
                    SendNow(c, rep);
                }
                else if (hello.Kind == ConnKind.Control)
                {
                    EnqueueCtl(c, CtlReply.Build(net == null ? -Errno.ENOENT : 0, default));
                }
                else CloseConn(c);
            }
            return;
        }
        if (c.Kind == ConnKind.Data)
        {
            if (!TxHeader.TryRead(frame, out var tx) || c.Sock == null) return;
            if (tx.Op == TxOp.SetSockOpt || tx.Op == TxOp.Bind)
            {
                OneWay(c.Sock, tx.Op, frame[TxHeader.Size..]);
                return;
            }
            if (tx.Op != TxOp.Data) return;
            // the receive buffer is not reused while the request runs: no copy
            int off = tx.PayloadOffset;
            lock (_kernel.Lock)
            {
                c.Sock.NsFds.Clear();
                for (int i = 0; i < tx.NsfdCount; i++)
                {
                    var (nfd, nsid) = TxHeader.Nsfd(frame, i);
                    c.Sock.NsFds[nfd] = nsid;
                }
                c.Sock.ClientPid = c.Pid;
                if (c.Sock.Protocol != 0 || !OnlyGets(frame[off..])) ViewsChanged();
                _engine.Receive(c.Sock, _rbuf.AsMemory(off, length - off));
            }
            return;
        }
        if (c.Kind == ConnKind.Control)
        {
            if (!CtlRequest.TryRead(frame, out var req))
            {
                EnqueueCtl(c, CtlReply.Build(-Errno.EINVAL, default));
                return;
            }
            // copied: answering may first drain a data connection through the same buffer
            var payload = frame.Slice(CtlRequest.Size, (int)req.Len).ToArray();
            byte[] reply;
            lock (_kernel.Lock)
            {
                if (!ControlHandler.ReadOnly(req.Op)) ViewsChanged();
                reply = _control.Handle(c.Uid, c.Gid, c.Pid, c.Netns!, req, payload, out var newNet);
                if (newNet != null) c.Netns = newNet;
                _kernel.RunDeferred(destroyNamespaces: false);
            }
            EnqueueCtl(c, reply);
        }
    }

    /// <summary>Does a datagram sent to NETLINK_ROUTE hold nothing but requests that only look
    /// (RTM_GET*, whose type is 2 modulo 4, and netlink's own messages)?</summary>
    internal static bool OnlyGets(ReadOnlySpan<byte> nl)
    {
        while (nl.Length >= 16)
        {
            uint len = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(nl);
            ushort type = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(nl[4..]);
            if (len < 16 || len > nl.Length) return false;
            if (type >= 16 && (type & 3) != 2) return false;
            int next = (int)((len + 3) & ~3u);
            if (next >= nl.Length) break;
            nl = nl[next..];
        }
        return true;
    }

    /// <summary>VK_TX_SETSOCKOPT / VK_TX_BIND: socket calls the shim already answered, applied in
    /// order with the requests around them.</summary>
    private void OneWay(NetlinkSock sk, TxOp op, ReadOnlySpan<byte> p)
    {
        lock (_kernel.Lock)
        {
            if (op == TxOp.Bind && p.Length >= 4)
                _engine.Bind(sk, 0, System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(p));
            else if (op == TxOp.SetSockOpt && p.Length >= 8)
                _engine.SetSockOpt(sk, System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(p),
                    System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(p[4..]), p[8..]);
        }
    }

    /// <summary>Processes every frame a client already sent on a socket's data connection (so a
    /// control call is ordered after the sends that preceded it).</summary>
    internal void DrainSocketInput(uint sockId)
    {
        if (_dataBySock.TryGetValue(sockId, out var c) && !c.Closed) ReadConn(c, int.MaxValue);
    }

    /// <summary>Pushes what the socket has queued onto its data connection, as far as it takes it;
    /// true when anything was queued (frames, or a dump to continue).</summary>
    internal bool FlushSocketOutput(NetlinkSock sk)
    {
        bool had = sk.OutCount > 0 || sk.Dump != null;
        if (had && _dataBySock.TryGetValue(sk.Id, out var c) && !c.Closed) Flush(c);
        return had;
    }

    internal bool OwnsSocket(uint sockId, uint uid) =>
        _engine.GetSocket(sockId) is { } sk && (sk.Uid == uid || uid == 0);

    private void EnqueueCtl(Conn c, byte[] frame)
    {
        c.CtlOut.Enqueue(frame);
        _dirty.Add(c);
    }

    private void SendNow(Conn c, byte[] frame)
    {
        c.CtlOut.Enqueue(frame);
        _dirty.Add(c);
    }

    // ---- output --------------------------------------------------------------------------------

    private readonly List<Conn> _flushBatch = new();

    private void FlushDirty()
    {
        while (_dirty.Count > 0)
        {
            _flushBatch.Clear();
            _flushBatch.AddRange(_dirty);
            _dirty.Clear();
            foreach (var c in _flushBatch) Flush(c);
        }
        _flushBatch.Clear();
    }

    private void Flush(Conn c)
    {
        if (c.Closed) return;
        // handshake and control answers first
        while (c.CtlOut.Count > 0)
        {
            var f = c.CtlOut.Peek();
            int r = TrySend(c, f);
            if (r < 0) return;
            if (r == 0) { WaitWritable(c); return; }
            c.CtlOut.Dequeue();
        }
        var sk = c.Sock;
        if (sk == null) { StopWaiting(c); return; }
        while (true)
        {
            if (sk.OutCount == 0)
            {
                if (sk.Dump == null || sk.Held != null) break;
                lock (_kernel.Lock) _engine.NetlinkDump(sk);
                _dirty.Remove(c);
                if (sk.OutCount == 0) break;
            }
            var f = sk.PeekOut()!;
            int r = TrySend(c, f);
            if (r < 0) return;
            if (r == 0) { WaitWritable(c); return; }
            sk.Dequeue();
        }
        StopWaiting(c);
    }

    /// <summary>Send buffer of a data connection: what may be on its way to a client beyond the
    /// socket's own receive queue (which sk_rcvbuf bounds in the daemon), kept small so that a client
    /// that stops reading finds its queue full, and its overrun reported, about when the kernel would.
    /// The connection's buffer grows for a datagram that does not fit.</summary>
    private const int DataSndBuf = 32 * 1024;

    private static void SetSndBuf(Conn c, int size)
    {
        c.SndBuf = size;
        Libc.setsockopt(c.Fd, Libc.SOL_SOCKET, Libc.SO_SNDBUF, &size, 4);
    }

    /// <summary>1 sent, 0 would block, -1 connection gone.</summary>
    private int TrySend(Conn c, byte[] f)
    {
        nint r;
        fixed (byte* p = f) r = Libc.send(c.Fd, p, (nuint)f.Length, Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL);
        if (r >= 0) return 1;
        int e = Libc.Errno;
        if (e == Libc.EAGAIN) return 0;
        if (e == Libc.EINTR) return TrySend(c, f);
        if (e == Libc.EMSGSIZE && c.SndBuf < f.Length + 4096)
        {
            // a datagram bigger than the buffer: make room for it (the kernel doubles the value)
            SetSndBuf(c, f.Length + 4096);
            return TrySend(c, f);
        }
        CloseConn(c);
        return -1;
    }

    private void WaitWritable(Conn c)
    {
        if (c.WantOut) return;
        c.WantOut = true;
        Mod(c.Fd, Libc.EPOLLIN | Libc.EPOLLOUT);
    }

    private void StopWaiting(Conn c)
    {
        if (!c.WantOut) return;
        c.WantOut = false;
        Mod(c.Fd, Libc.EPOLLIN);
    }

    private void CloseConn(Conn c)
    {
        if (c.Closed) return;
        c.Closed = true;
        _conns.Remove(c.Fd);
        _dirty.Remove(c);
        Libc.epoll_ctl(_epfd, Libc.EPOLL_CTL_DEL, c.Fd, null);
        Libc.close(c.Fd);
        if (c.Sock != null)
        {
            _dataBySock.Remove(c.Sock.Id);
            lock (_kernel.Lock)
            {
                _engine.CloseSocket(c.Sock);
                ViewsChanged();
            }
        }
    }

    public void Dispose()
    {
        foreach (var c in _conns.Values.ToList()) CloseConn(c);
        if (_listenFd >= 0) Libc.close(_listenFd);
        if (_epfd >= 0) Libc.close(_epfd);
        if (_wakeFd >= 0) Libc.close(_wakeFd);
        foreach (var fd in _pidfds.Keys) Libc.close(fd);
        _listenFd = _epfd = _wakeFd = -1;
        // the views go before the state directory (never descend into a mount)
        _fuse?.Unmount();
        _fuse = null;
        _viewsGen?.Dispose();
        _viewsGen = null;
        if (_namespaces != null) Namespaces.RemoveStateDir(_namespaces.StateDir);
        try
        {
            // remove the socket only if it is still ours
            if (IsSocket(_opt.SocketPath) && !Probe(_opt.SocketPath)) File.Delete(_opt.SocketPath);
        }
        catch (IOException) { }
        GC.KeepAlive(Marshal.SizeOf<Libc.EpollEvent>());
    }
}
