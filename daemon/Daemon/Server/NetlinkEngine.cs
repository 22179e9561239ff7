using System.Buffers.Binary;
using VirtKernel.Daemon.Rtnl;
using VirtKernel.Model;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Server;

/// <summary>The netlink socket layer (net/netlink/af_netlink.c): sockets, ports and groups per
/// namespace, the receive loop (netlink_rcv_skb), dumps (netlink_dump), and the only place that
/// frames NLMSG_ERROR (ACK and errors, with extack) and NLMSG_DONE. Handlers only return an errno
/// and an extack; they never write acknowledgements themselves.</summary>
public sealed class NetlinkEngine
{
    /// <summary>A datagram of a dump holds several messages only while it stays within this size
    /// (busybox reads 8 KiB); one bigger message goes alone.</summary>
    public const int DumpBufSize = 8192;

    private readonly Dictionary<int, NetlinkTable> _tables = new();
    private readonly Dictionary<uint, NetlinkSock> _socks = new();
    private uint _nextSockId;
    private readonly NlWriter _dumpWriter = new(DumpBufSize * 2);
    private readonly NlWriter _ackWriter = new(512);

    public NetlinkEngine(Kernel kernel, uint daemonUid)
    {
        Kernel = kernel;
        DaemonUid = daemonUid;
        Rtnl = new Rtnetlink(this);
        Notifier = new RtnlNotifier(this);
        kernel.Events = Notifier;
        kernel.NetDestroyed += net => _tables.Remove(net.Id);
    }

    /// <summary>Namespace names and process memberships (set by the server once it listens).</summary>
    public Namespaces? Namespaces { get; set; }

    /// <summary>The management API's view: statistics, notification summaries, injected faults.</summary>
    public Management.NetlinkHooks? Hooks { get; set; }

    /// <summary>An injected fault asks the dump being started to carry NLM_F_DUMP_INTR.</summary>
    private bool _forceDumpIntr;

    /// <summary>Sockets with NETLINK_LISTEN_ALL_NSID set: they also hear the groups they joined in
    /// every namespace their own has an id for.</summary>
    public HashSet<NetlinkSock> AllNsidListeners { get; } = new();

    public Kernel Kernel { get; }
    public uint DaemonUid { get; }
    public Rtnetlink Rtnl { get; }
    public RtnlNotifier Notifier { get; }
    public int SocketCount => _socks.Count;

    /// <summary>What the sockets' receive queues hold in the daemon, the largest of them, and how many
    /// messages were dropped because a queue was full (vk status).</summary>
    public (long Bytes, long Largest, long Drops) QueueStats()
    {
        long bytes = 0, largest = 0, drops = 0;
        foreach (var sk in _socks.Values)
        {
            bytes += sk.OutBytes;
            largest = Math.Max(largest, sk.OutBytes);
            drops += sk.Drops;
        }
        return (bytes, largest, drops);
    }
    public uint LastCreatedSockId { get; private set; }

    public NetlinkTable Table(Net net)
    {
        if (!_tables.TryGetValue(net.Id, out var t)) _tables[net.Id] = t = new NetlinkTable(net.Id * 7919 + 17);
        return t;
    }

    public NetlinkTable? TableIfAny(Net net) => _tables.GetValueOrDefault(net.Id);

    public NetlinkSock? GetSocket(uint id) => _socks.GetValueOrDefault(id);

    /// <summary>May a peer with this uid change state? The daemon's user and root may.</summary>
    public bool IsPrivileged(uint uid) => uid == 0 || uid == DaemonUid;

    /// <summary>netlink_create. Only NETLINK_ROUTE is served.</summary>
    public int CreateSocket(Net net, int protocol, int type, int pid, uint uid, out NetlinkSock? sk)
    {
        sk = null;
        if (type != 3 /* SOCK_RAW */ && type != 2 /* SOCK_DGRAM */) return -Errno.ESOCKTNOSUPPORT;
        if (protocol != NETLINK_ROUTE) return -Errno.EPROTONOSUPPORT;
        sk = new NetlinkSock(++_nextSockId, net, protocol, type, pid, uid, IsPrivileged(uid))
        {
            NetUid = uid == DaemonUid ? 0 : uid,
        };
        net.Hold(); // an open socket keeps its namespace alive
        _socks.Add(sk.Id, sk);
        LastCreatedSockId = sk.Id;
        return 0;
    }

    /// <summary>netlink_release.</summary>
    public void CloseSocket(NetlinkSock sk)
    {
        if (sk.Closed) return;
        sk.Closed = true;
        sk.Dump = null;
        TableIfAny(sk.Net)?.Remove(sk);
        AllNsidListeners.Remove(sk);
        _socks.Remove(sk.Id);
        sk.ClearOut();
        sk.Net.Release();
        Kernel.RunDeferred(destroyNamespaces: false); // the server destroys it after its answers
    }

    // ---- socket calls ---------------------------------------------------------------------

    /// <summary>netlink_bind.</summary>
    public int Bind(NetlinkSock sk, uint pid, uint groups)
    {
        var t = Table(sk.Net);
        if (pid != 0)
        {
            if (sk.Bound && sk.PortId != pid) return -Errno.EINVAL;
            if (!sk.Bound)
            {
                int err = t.Insert(sk, pid);
                if (err < 0) return err;
            }
        }
        else if (!sk.Bound) t.Autobind(sk);
        // netlink_bind replaces the first 32 groups with the bind mask
        for (uint g = 1; g <= 32; g++) t.SetMembership(sk, g, (groups & (1u << (int)(g - 1))) != 0);
        return 0;
    }

    /// <summary>netlink_connect.</summary>
    public int Connect(NetlinkSock sk, uint pid, uint groups)
    {
        if (!sk.Bound) Table(sk.Net).Autobind(sk);
        sk.DstPid = pid;
        sk.DstGroup = groups == 0 ? 0 : (uint)System.Numerics.BitOperations.TrailingZeroCount(groups) + 1;
        return 0;
    }

    /// <summary>netlink_connect with AF_UNSPEC: the socket is disconnected.</summary>
    public int Disconnect(NetlinkSock sk)
    {
        sk.DstPid = 0;
        sk.DstGroup = 0;
        return 0;
    }

    /// <summary>netlink_setsockopt (SOL_NETLINK).</summary>
    public int SetSockOpt(NetlinkSock sk, int level, int name, ReadOnlySpan<byte> val)
    {
        if (level == Libc.SOL_SOCKET)
        {
            // sock_setsockopt: SO_RCVBUF at most rmem_max, SO_RCVBUFFORCE any size, both doubled
            if ((name == Libc.SO_RCVBUF || name == 33 /* SO_RCVBUFFORCE */) && val.Length >= 4)
            {
                long rb = BinaryPrimitives.ReadInt32LittleEndian(val);
                rb = name == Libc.SO_RCVBUF ? Math.Min((uint)rb, NetlinkSock.RmemMax) : Math.Max(rb, 0);
                sk.RcvBuf = (int)Math.Clamp(rb * 2, NetlinkSock.MinRcvBuf, int.MaxValue);
            }
            return 0;
        }
        if (level != SOL_NETLINK) return -Errno.ENOPROTOOPT;
        int v = val.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(val) : 0;
        bool on = v != 0;
        switch (name)
        {
            case NETLINK_ADD_MEMBERSHIP:
            case NETLINK_DROP_MEMBERSHIP:
                if (val.Length < 4) return -Errno.EINVAL;
                if ((uint)v > 256 || v == 0) return -Errno.EINVAL;
                Table(sk.Net).SetMembership(sk, (uint)v, name == NETLINK_ADD_MEMBERSHIP);
                return 0;
            case NETLINK_PKTINFO: sk.PktInfo = on; return 0;
            case NETLINK_BROADCAST_ERROR: sk.BroadcastError = on; return 0;
            case NETLINK_NO_ENOBUFS: sk.NoEnobufs = on; return 0;
            case NETLINK_LISTEN_ALL_NSID:
                // netlink_setsockopt: CAP_NET_BROADCAST in the socket's namespace
                if (!sk.Privileged) return -Errno.EPERM;
                sk.ListenAllNsid = on;
                if (on) AllNsidListeners.Add(sk); else AllNsidListeners.Remove(sk);
                return 0;
            case NETLINK_CAP_ACK: sk.CapAck = on; return 0;
            case NETLINK_EXT_ACK: sk.ExtAck = on; return 0;
            case NETLINK_GET_STRICT_CHK: sk.StrictChk = on; return 0;
            default: return -Errno.ENOPROTOOPT;
        }
    }

    /// <summary>netlink_getsockopt (SOL_NETLINK).</summary>
    public int GetSockOpt(NetlinkSock sk, int level, int name, int optlen, out byte[] value)
    {
        value = [];
        if (level != SOL_NETLINK) return -Errno.ENOPROTOOPT;
        if (name == NETLINK_LIST_MEMBERSHIPS)
        {
            // as many u32 words as the caller has room for; the return value is the length needed
            int need = 32; // 256 groups
            value = new byte[Math.Min(optlen, need) & ~3];
            for (int i = 0; i < value.Length / 4; i++)
            {
                uint word = 0;
                for (int b = 0; b < 32; b++) if (sk.InGroup((uint)(i * 32 + b + 1))) word |= 1u << b;
                BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(i * 4), word);
            }
            return need;
        }
        if (optlen < 4) return -Errno.EINVAL;
        bool flag;
        switch (name)
        {
            case NETLINK_PKTINFO: flag = sk.PktInfo; break;
            case NETLINK_BROADCAST_ERROR: flag = sk.BroadcastError; break;
            case NETLINK_NO_ENOBUFS: flag = sk.NoEnobufs; break;
            case NETLINK_LISTEN_ALL_NSID: flag = sk.ListenAllNsid; break;
            case NETLINK_CAP_ACK: flag = sk.CapAck; break;
            case NETLINK_EXT_ACK: flag = sk.ExtAck; break;
            case NETLINK_GET_STRICT_CHK: flag = sk.StrictChk; break;
            default: return -Errno.ENOPROTOOPT;
        }
        value = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(value, flag ? 1 : 0);
        return 4;
    }

    // ---- receive path ---------------------------------------------------------------------

    /// <summary>netlink_sendmsg + netlink_rcv_skb: processes every message of one datagram the
    /// client sent to the kernel, queuing replies, notifications and acknowledgements in order.</summary>
    public void Receive(NetlinkSock sk, ReadOnlyMemory<byte> data)
    {
        if (!sk.Bound) Table(sk.Net).Autobind(sk);
        var buf = data;
        while (buf.Length >= NlMsgHdr.Size)
        {
            var span = buf.Span;
            var hdr = NlMsgHdr.Read(span);
            if (hdr.Len < NlMsgHdr.Size || hdr.Len > buf.Length) return;
            var msg = buf[..(int)hdr.Len];
            int err = 0;
            var ext = new Extack();
            bool skipAck = false;
            if ((hdr.Flags & NLM_F_REQUEST) != 0 && hdr.Type >= NLMSG_MIN_TYPE)
            {
                var hooks = Hooks;
                var fault = hooks?.BeforeRequest(sk, hdr, ext) ?? default;
                if (fault.Fail != null) err = -fault.Fail.Errno;
                else
                {
                    _forceDumpIntr = fault.DumpIntr;
                    err = Rtnl.RcvMsg(sk, msg, hdr, ext);
                    _forceDumpIntr = false;
                }
                if (err == -Errno.EINTR) skipAck = true; // a dump started: no ACK even if asked
                hooks?.AfterRequest(sk, hdr, err, fault);
            }
            if (!skipAck && ((hdr.Flags & NLM_F_ACK) != 0 || err != 0))
                Ack(sk, msg.Span, hdr, err, ext);
            int adv = Nl.Align((int)hdr.Len);
            if (adv > buf.Length) adv = buf.Length;
            buf = buf[adv..];
            Kernel.RunDeferred();
        }
    }

    /// <summary>netlink_ack: NLMSG_ERROR carrying <paramref name="err"/>, the request (whole, or just
    /// its header with NETLINK_CAP_ACK or on success) and the extended ACK attributes.</summary>
    public void Ack(NetlinkSock sk, ReadOnlySpan<byte> request, NlMsgHdr hdr, int err, Extack ext)
    {
        var w = _ackWriter;
        w.Clear();
        int flags = 0;
        bool full = err != 0 && !sk.CapAck;
        if (!full) flags |= NLM_F_CAPPED;
        int start = w.BeginMessage(NLMSG_ERROR, flags, hdr.Seq, sk.PortId);
        // struct nlmsgerr and the echoed request, NLMSG_ALIGNed with zeros (nlmsg_put) so that the
        // TLVs after an odd-sized request start aligned
        int echo = full ? (int)hdr.Len : NlMsgHdr.Size;
        var e = w.Reserve(4 + echo);
        BinaryPrimitives.WriteInt32LittleEndian(e, err);
        request[..echo].CopyTo(e[4..]);
        // netlink_ack_tlv_fill: the message (also as a warning on success); for errors the offset
        // of the bad attribute and the policy it failed
        if (sk.ExtAck)
        {
            int tlvStart = w.Length;
            if (ext.Message != null) w.PutString(NLMSGERR_ATTR_MSG, ext.Message);
            if (err != 0)
            {
                if (ext.BadAttrOffset >= 0 && ext.BadAttrOffset < hdr.Len)
                    w.PutU32(NLMSGERR_ATTR_OFFS, (uint)ext.BadAttrOffset);
                if (ext.Policy is NlaPolicy pt) NlPolicyDump.WriteAttr(w, pt, NLMSGERR_ATTR_POLICY);
            }
            if (w.Length > tlvStart) flags |= NLM_F_ACK_TLVS;
        }
        w.SetMessageFlags(start, flags);
        w.EndMessage(start);
        sk.EnqueueUnicast(w.Span);
    }

    // ---- dumps ------------------------------------------------------------------------------

    /// <summary>netlink_dump_start: installs the dump and produces its first datagram.
    /// <paramref name="splitDone"/>: NLMSG_DONE goes alone in the last datagram (RTNL_FLAG_DUMP_SPLIT_NLM_DONE).</summary>
    public int StartDump(NetlinkSock sk, NlMsgHdr hdr, IEnumerable<bool> steps, ushort answerFlags, Func<uint>? generation,
        bool splitDone = false)
    {
        if (sk.Dump != null) return -Errno.EBUSY;
        sk.Dump = new DumpState
        {
            Steps = steps.GetEnumerator(), Seq = hdr.Seq, AnswerFlags = answerFlags, Generation = generation,
            StartGeneration = generation?.Invoke() ?? 0, SplitDone = splitDone, Interrupted = _forceDumpIntr,
        };
        DumpCurrent = sk.Dump;
        NetlinkDump(sk);
        return -Errno.EINTR;
    }

    /// <summary>The dump whose steps are running now (handlers report errors for DONE through it).</summary>
    public DumpState? DumpCurrent { get; private set; }

    /// <summary>The writer the steps of the running dump write into.</summary>
    public NlWriter CurrentDumpWriter => _dumpWriter;

    /// <summary>netlink_dump: one more datagram of the running dump, with DONE appended once the
    /// dump is over (in the same datagram when it fits).</summary>
    public void NetlinkDump(NetlinkSock sk)
    {
        var d = sk.Dump;
        if (d == null) return;
        var w = _dumpWriter;
        w.Clear();
        DumpCurrent = d;
        if (d.Carry != null)
        {
            w.Append(d.Carry);
            d.Carry = null;
        }
        bool finished = false;
        lock (Kernel.Lock)
        {
            if (d.Generation != null && d.Generation() != d.StartGeneration) d.Interrupted = true;
            while (true)
            {
                int before = w.Length;
                bool more;
                try { more = d.Steps.MoveNext(); }
                catch (InvalidOperationException)
                {
                    // the collection changed under the dump: report it as the kernel does
                    d.Interrupted = true;
                    more = false;
                }
                if (!more) { finished = true; break; }
                if (w.Length > DumpBufSize && before > 0)
                {
                    d.Carry = w.Span[before..].ToArray();
                    w.Truncate(before);
                    break;
                }
                if (w.Length >= DumpBufSize) break;
            }
        }
        if (d.Interrupted) MarkAll(w, NLM_F_DUMP_INTR);
        if (finished)
        {
            int doneLen = NlMsgHdr.Size + 4 + (d.DoneMessage != null && sk.ExtAck ? Nl.Align(4 + d.DoneMessage.Length + 1) : 0);
            if (w.Length > 0 && (d.SplitDone || w.Length + doneLen > DumpBufSize))
            {
                sk.Enqueue(w.Span);
                w.Clear();
            }
            PutDone(w, sk, d);
            sk.Dump = null;
        }
        if (w.Length > 0) sk.Enqueue(w.Span);
        DumpCurrent = null;
    }

    private static void MarkAll(NlWriter w, int flag)
    {
        int off = 0;
        while (off + NlMsgHdr.Size <= w.Length)
        {
            var h = w.At(off, NlMsgHdr.Size);
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(h);
            BinaryPrimitives.WriteUInt16LittleEndian(h[6..], (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(h[6..]) | flag));
            if (len < NlMsgHdr.Size) break;
            off += Nl.Align((int)len);
        }
    }

    /// <summary>netlink_dump_done.</summary>
    private static void PutDone(NlWriter w, NetlinkSock sk, DumpState d)
    {
        int flags = NLM_F_MULTI | d.AnswerFlags | d.AnswerFlagsOverride;
        if (d.Interrupted) flags |= NLM_F_DUMP_INTR;
        bool tlv = d.DoneMessage != null && sk.ExtAck;
        if (tlv) flags |= NLM_F_ACK_TLVS;
        int start = w.BeginMessage(NLMSG_DONE, flags, d.Seq, sk.PortId);
        BinaryPrimitives.WriteInt32LittleEndian(w.Reserve(4), d.DoneErrno);
        if (tlv) w.PutString(NLMSGERR_ATTR_MSG, d.DoneMessage!);
        w.EndMessage(start);
    }
}

/// <summary>struct netlink_ext_ack: what a handler reports besides its errno.</summary>
public sealed class Extack
{
    public string? Message;
    public int BadAttrOffset = -1;
    /// <summary>extack->policy: the policy entry the bad attribute failed (NL_SET_ERR_MSG_ATTR_POL).</summary>
    public NlaPolicy? Policy;

    public int Set(NlError e)
    {
        if (e.Message != null) Message = e.Message;
        if (e.BadAttrOffset >= 0) BadAttrOffset = e.BadAttrOffset;
        if (e.Policy != null) Policy = e.Policy;
        return -e.Errno;
    }

    /// <summary>NL_SET_ERR_MSG of a warning: the message without an error (the ACK carries it).</summary>
    public void Warn(string message) => Message = message;

    public int Set(KErr e, int badAttrOffset = -1)
    {
        if (e.Msg != null) Message = e.Msg;
        if (badAttrOffset >= 0) BadAttrOffset = badAttrOffset;
        return -e.Errno;
    }

    public int Fail(int errno, string? message = null, int badAttrOffset = -1)
    {
        if (message != null) Message = message;
        if (badAttrOffset >= 0) BadAttrOffset = badAttrOffset;
        return -errno;
    }
}
