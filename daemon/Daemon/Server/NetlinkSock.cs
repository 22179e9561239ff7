using VirtKernel.Model;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Shim;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Server;

/// <summary>struct netlink_sock: one emulated netlink socket — its port id, groups, options, its
/// queue of datagrams for the client, and a running dump. Transport-agnostic: a connection (Unix
/// socket or an in-memory pair in tests) drains <see cref="Out"/>.</summary>
public sealed class NetlinkSock
{
    public NetlinkSock(uint id, Net net, int protocol, int type, int ownerPid, uint uid, bool privileged)
    {
        Id = id; Net = net; Protocol = protocol; Type = type; OwnerPid = ownerPid; Uid = uid; Privileged = privileged;
    }

    public uint Id { get; }
    public Net Net { get; internal set; }
    public int Protocol { get; }
    public int Type { get; }
    public int OwnerPid { get; }
    public uint Uid { get; }
    /// <summary>sock_net_uid: the socket's user as the virtual kernel sees it. The daemon's owner is
    /// root of its virtual kernel (as the creator of a user namespace is root inside it), so its
    /// uid reads as 0 (RTA_UID of route lookups, uidrange rules); other users keep theirs.</summary>
    public uint NetUid { get; init; }
    /// <summary>May change state (CAP_NET_ADMIN): the daemon's own user or root.</summary>
    public bool Privileged { get; }

    /// <summary>The sending process's open namespace handles (fd -> namespace id), as the frame being
    /// processed listed them: how IFLA_NET_NS_FD / NETNSA_FD values are resolved.</summary>
    public readonly Dictionary<int, uint> NsFds = new();
    /// <summary>The pid of the process on the other end (IFLA_NET_NS_PID relative lookups).</summary>
    public int ClientPid;

    public uint PortId { get; internal set; }
    /// <summary>The port reserved for the socket's autobind (announced in the hello answer).</summary>
    public uint AutoPort { get; internal set; }
    public bool Bound { get; internal set; }
    public uint DstPid { get; internal set; }
    public uint DstGroup { get; internal set; }
    public bool Closed { get; internal set; }

    // NETLINK_F_* socket flags
    public bool ExtAck, CapAck, StrictChk, NoEnobufs, ListenAllNsid, PktInfo, BroadcastError;

    private readonly ulong[] _groups = new ulong[4]; // up to 256 groups

    public bool InGroup(uint group) => group >= 1 && group <= 256 && (_groups[(group - 1) / 64] & (1UL << (int)((group - 1) % 64))) != 0;

    internal void SetGroup(uint group, bool on)
    {
        if (group < 1 || group > 256) return;
        ref ulong w = ref _groups[(group - 1) / 64];
        ulong bit = 1UL << (int)((group - 1) % 64);
        if (on) w |= bit; else w &= ~bit;
    }

    public IEnumerable<uint> Groups
    {
        get
        {
            for (uint g = 1; g <= 256; g++) if (InGroup(g)) yield return g;
        }
    }

    /// <summary>The first 32 groups as the nl_groups mask of getsockname.</summary>
    public uint GroupMask32 => (uint)_groups[0];

    // ---- output -------------------------------------------------------------------------------

    /// <summary>Datagrams for the client, each already framed with its 16-byte struct vk_rx: the
    /// socket's receive queue, as far as the daemon holds it (the connection holds what it took).</summary>
    private readonly Queue<byte[]> _out = new();
    public long OutBytes { get; private set; }
    /// <summary>sk_rcvbuf: past it, what the kernel would send this socket on its own (notifications,
    /// ACKs, replies) is dropped and an overrun reported; dumps only wait. rmem_default until
    /// SO_RCVBUF (doubled, at most 2 x rmem_max) or SO_RCVBUFFORCE.</summary>
    public int RcvBuf = DefaultRcvBuf;
    public const int DefaultRcvBuf = 212992, RmemMax = 212992, MinRcvBuf = 2304;
    /// <summary>NETLINK_S_CONGESTED: set by an overrun, cleared once the queue is empty again;
    /// meanwhile everything but dumps is dropped.</summary>
    public bool Congested { get; private set; }
    /// <summary>An overrun not yet reported: the next frame the client gets says ENOBUFS (sk_err is
    /// reported before queued data).</summary>
    public bool OverrunPending { get; private set; }
    /// <summary>sk_drops.</summary>
    public long Drops { get; private set; }
    /// <summary>Called when new output is queued (the connection flushes it).</summary>
    public Action? OnOutput;

    private static readonly byte[] OverrunFrame = MakeOverrunFrame();

    private static byte[] MakeOverrunFrame()
    {
        var f = new byte[RxHeader.Size];
        new RxHeader(RxOp.Overrun, RxFlags.None, 0, 0, -Errno.ENOBUFS).Write(f);
        return f;
    }

    /// <summary>Frames waiting, the overrun report included.</summary>
    public int OutCount => _out.Count + (OverrunPending ? 1 : 0);

    public DumpState? Dump { get; internal set; }

    /// <summary>Queues a datagram from <paramref name="srcPort"/> (0 = the kernel) whatever the
    /// queue holds (__netlink_sendskb: a dump's next datagram).</summary>
    public void Enqueue(ReadOnlySpan<byte> datagram, uint srcPort = 0, uint group = 0, int nsid = -1, bool hasNsid = false)
    {
        if (Closed) return;
        var f = new byte[RxHeader.Size + datagram.Length];
        var flags = RxFlags.None;
        if (hasNsid && ListenAllNsid) flags |= RxFlags.Nsid;
        if (PktInfo && group != 0) flags |= RxFlags.PktInfo;
        new RxHeader(RxOp.Data, flags, srcPort, group, nsid).Write(f);
        datagram.CopyTo(f.AsSpan(RxHeader.Size));
        _out.Enqueue(f);
        OutBytes += f.Length;
        OnOutput?.Invoke();
    }

    /// <summary>Is the receive buffer full (sk_rmem_alloc > sk_rcvbuf) or the socket congested?</summary>
    private bool Full => OutBytes > RcvBuf || Congested;

    /// <summary>netlink_unicast from the kernel (MSG_DONTWAIT: an ACK, a reply, an echo): dropped,
    /// with an overrun, when the socket is full.</summary>
    public bool EnqueueUnicast(ReadOnlySpan<byte> datagram)
    {
        if (Closed) return false;
        if (Full)
        {
            MarkOverrun();
            return false;
        }
        Enqueue(datagram);
        return true;
    }

    /// <summary>netlink_broadcast's delivery to one socket: dropped, with an overrun, when the
    /// socket is full.</summary>
    public bool EnqueueMulticast(ReadOnlySpan<byte> datagram, uint group, int nsid = -1, bool hasNsid = false)
    {
        if (Closed) return false;
        if (Full)
        {
            MarkOverrun();
            return false;
        }
        Enqueue(datagram, 0, group, nsid, hasNsid);
        return true;
    }

    /// <summary>netlink_overrun: ENOBUFS once (until the queue drains), unless NETLINK_NO_ENOBUFS.
    /// Also what an injected ENOBUFS fault does to a listener.</summary>
    internal void MarkOverrun()
    {
        Drops++;
        if (NoEnobufs || Congested) return;
        Congested = true;
        OverrunPending = true;
        OnOutput?.Invoke();
    }

    /// <summary>The next frame for the client, or null.</summary>
    public byte[]? PeekOut() => OverrunPending ? OverrunFrame : _out.Count > 0 ? _out.Peek() : null;

    /// <summary>Frames held back by an injected delay (fault injection); while set, the connection
    /// sends nothing more of this socket, dumps included.</summary>
    public List<byte[]>? Held { get; private set; }

    /// <summary>Moves everything queued (a pending overrun report first) into <see cref="Held"/>.</summary>
    internal void HoldOutput()
    {
        Held ??= new List<byte[]>();
        while (OutCount > 0) Held.Add(Dequeue()!);
    }

    /// <summary>The delay is over: the held frames go out first, in order.</summary>
    internal void ReleaseHeld()
    {
        var held = Held;
        Held = null;
        if (held == null || Closed) return;
        var later = _out.ToArray();
        _out.Clear();
        OutBytes = 0;
        foreach (var f in held.Concat(later))
        {
            _out.Enqueue(f);
            OutBytes += f.Length;
        }
        OnOutput?.Invoke();
    }

    /// <summary>Takes the next frame to send (the connection calls it while the peer accepts data).
    /// The queue empty again, the socket is no longer congested (netlink_rcv_wake).</summary>
    public byte[]? Dequeue()
    {
        if (OverrunPending)
        {
            OverrunPending = false;
            // netlink_recvmsg reports sk_err and then wakes the socket too: with nothing queued
            // behind the report, the socket is no longer congested
            if (_out.Count == 0) Congested = false;
            return OverrunFrame;
        }
        if (_out.Count == 0) return null;
        var f = _out.Dequeue();
        OutBytes -= f.Length;
        if (_out.Count == 0) Congested = false;
        return f;
    }

    internal void ClearOut()
    {
        _out.Clear();
        OutBytes = 0;
        OverrunPending = false;
    }

    public override string ToString() => $"sock {Id} port {PortId} ns {Net.Id}";
}

/// <summary>A dump in progress on a socket (netlink_callback): the generator of messages and what
/// DONE must carry.</summary>
public sealed class DumpState
{
    public required IEnumerator<bool> Steps;
    public required uint Seq;
    public required ushort AnswerFlags;   // cb->answer_flags (NLM_F_DUMP_FILTERED)
    /// <summary>Set by a dump handler that filtered (cb->answer_flags set from inside dumpit).</summary>
    public ushort AnswerFlagsOverride;
    public int DoneErrno;                 // 0 or -errno reported in DONE
    public string? DoneMessage;
    public Func<uint>? Generation;        // cb->seq: changes mean the dump may be inconsistent
    public uint StartGeneration;
    public bool Interrupted;
    /// <summary>A message that did not fit the previous datagram and opens the next one.</summary>
    public byte[]? Carry;
    /// <summary>NLMSG_DONE never shares a datagram with messages (RTNL_FLAG_DUMP_SPLIT_NLM_DONE).</summary>
    public bool SplitDone;
}

/// <summary>nl_table for NETLINK_ROUTE, per namespace: bound port ids and group listeners.</summary>
public sealed class NetlinkTable
{
    private readonly Dictionary<uint, NetlinkSock> _ports = new();
    private readonly List<NetlinkSock>?[] _listeners = new List<NetlinkSock>?[257];
    private readonly Random _rover;

    public NetlinkTable(int seed) => _rover = new Random(seed);

    public NetlinkSock? Lookup(uint portid) => _ports.TryGetValue(portid, out var s) && s.Bound && s.PortId == portid ? s : null;
    public int SocketCount => _ports.Count;

    /// <summary>netlink_insert: EADDRINUSE when the port is taken.</summary>
    public int Insert(NetlinkSock sk, uint portid)
    {
        if (sk.Bound) return sk.PortId == portid ? 0 : -Errno.EINVAL;
        if (_ports.TryGetValue(portid, out var holder) && holder != sk) return -Errno.EADDRINUSE;
        // a socket binding elsewhere gives back the port reserved for its autobind
        if (sk.AutoPort != 0 && sk.AutoPort != portid && _ports.TryGetValue(sk.AutoPort, out var r) && r == sk)
            _ports.Remove(sk.AutoPort);
        _ports[portid] = sk;
        sk.PortId = portid;
        sk.Bound = true;
        return 0;
    }

    /// <summary>The port netlink_autobind will give the socket — the caller's pid when free, else a
    /// random negative id — reserved now so that the shim can answer getsockname without asking.</summary>
    public uint ReserveAutobind(NetlinkSock sk)
    {
        uint portid = (uint)sk.OwnerPid;
        while (portid == 0 || _ports.ContainsKey(portid))
            portid = (uint)(int.MinValue + _rover.Next(0, int.MaxValue - 4096));
        _ports[portid] = sk;
        sk.AutoPort = portid;
        return portid;
    }

    /// <summary>The socket holding <paramref name="portid"/>, bound or only reserved.</summary>
    public NetlinkSock? ReservedBy(uint portid) => _ports.GetValueOrDefault(portid);

    /// <summary>netlink_autobind: the reserved port.</summary>
    public void Autobind(NetlinkSock sk)
    {
        if (sk.Bound) return;
        if (sk.AutoPort == 0) ReserveAutobind(sk);
        Insert(sk, sk.AutoPort);
    }

    public void Remove(NetlinkSock sk)
    {
        if (sk.Bound && _ports.TryGetValue(sk.PortId, out var s) && s == sk) _ports.Remove(sk.PortId);
        if (sk.AutoPort != 0 && _ports.TryGetValue(sk.AutoPort, out var r) && r == sk) _ports.Remove(sk.AutoPort);
        foreach (var g in sk.Groups.ToList()) SetMembership(sk, g, false);
    }

    /// <summary>netlink_update_subscriptions.</summary>
    public void SetMembership(NetlinkSock sk, uint group, bool on)
    {
        if (group < 1 || group > 256) return;
        bool was = sk.InGroup(group);
        if (was == on) return;
        sk.SetGroup(group, on);
        var l = _listeners[group] ??= new List<NetlinkSock>();
        if (on) l.Add(sk); else l.Remove(sk);
    }

    public bool HasListeners(uint group) => group <= 256 && _listeners[group] is { Count: > 0 };
    public IReadOnlyList<NetlinkSock> Listeners(uint group) =>
        (IReadOnlyList<NetlinkSock>?)_listeners[group] ?? Array.Empty<NetlinkSock>();
}
