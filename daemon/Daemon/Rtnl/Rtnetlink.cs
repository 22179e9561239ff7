using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>One request being handled: the socket, the namespace, the message, and where the extack
/// goes. Handlers read the request through it and answer with an errno.</summary>
public sealed class RtnlRequest
{
    public required NetlinkEngine Engine { get; init; }
    public required NetlinkSock Sock { get; init; }
    public required NlMsgHdr Hdr { get; init; }
    /// <summary>The whole message, header included (attribute offsets are relative to it).</summary>
    public required ReadOnlyMemory<byte> Msg { get; init; }
    public required Extack Ext { get; init; }

    public Net Net => Sock.Net;
    public Kernel Kernel => Engine.Kernel;
    public ReadOnlySpan<byte> Payload => Msg.Span[NlMsgHdr.Size..];
    public int PayloadLength => (int)Hdr.Len - NlMsgHdr.Size;
    public ushort Flags => Hdr.Flags;
    public bool Strict => Sock.StrictChk;

    /// <summary>nlmsg_parse(_deprecated): the attributes after a fixed header of <paramref name="hdrLen"/>
    /// bytes. A warning of the parse (bytes left over) goes to the extack.</summary>
    public AttrTable? Parse(int hdrLen, Policy policy, NlValidate validate, out int err)
    {
        err = 0;
        if (PayloadLength < hdrLen)
        {
            err = Ext.Fail(Errno.EINVAL, "Invalid header length");
            return null;
        }
        int start = NlMsgHdr.Size + Nl.Align(hdrLen);
        int len = Math.Max(0, (int)Hdr.Len - start);
        var tb = AttrParser.Parse(Msg, Math.Min(start, (int)Hdr.Len), len, policy, validate, out var e);
        if (tb == null)
        {
            err = Ext.Set(e);
            return null;
        }
        if (e.IsWarning) Ext.Warn(e.Message!);
        return tb;
    }

    /// <summary>rtnl_unicast: a reply message (not an ACK) to the requester, queued before the ACK.</summary>
    public void Unicast(NlWriter w) => Sock.EnqueueUnicast(w.Span);

    /// <summary>Starts a dump whose steps each write one message into <see cref="DumpWriter"/>.</summary>
    public int Dump(IEnumerable<bool> steps, bool filtered = false, Func<uint>? generation = null) =>
        Engine.StartDump(Sock, Hdr, steps, filtered ? (ushort)NLM_F_DUMP_FILTERED : (ushort)0, generation);
}

public delegate int RtnlDoit(RtnlRequest req);
/// <summary>A dump handler: returns the sequence of steps (each writes at most one message into the
/// writer it is given), or an error before any step when the request is invalid.</summary>
public delegate IEnumerable<bool> RtnlDumpit(RtnlRequest req, NlWriter w, DumpState dump);

/// <summary>enum rtnl_link_flags: how a handler is registered.</summary>
[Flags]
public enum RtnlFlags
{
    None = 0,
    /// <summary>RTNL_FLAG_DUMP_SPLIT_NLM_DONE: NLMSG_DONE comes in a datagram of its own, never after
    /// the last messages of the dump (old user space relies on it for link, IPv4 address and route dumps).</summary>
    DumpSplitNlmDone = 1,
}

/// <summary>net/core/rtnetlink.c: the handler table keyed by (family, message type), the CAP_NET_ADMIN
/// check for every non-GET request, and the dispatch of doit/dumpit.</summary>
public sealed class Rtnetlink
{
    private readonly Dictionary<(int Family, int Type), (RtnlDoit? Doit, RtnlDumpit? Dumpit, RtnlFlags Flags)> _handlers = new();

    public Rtnetlink(NetlinkEngine engine)
    {
        Engine = engine;
        RtnlLinkHandlers.Register(this);
        RtnlBridgeHandlers.Register(this);
        RtnlFdbHandlers.Register(this);
        RtnlAddrHandlers.Register(this);
        RtnlInet6IfinfoHandlers.Register(this);
        RtnlRouteHandlers.Register(this);
        RtnlRuleHandlers.Register(this);
        RtnlNexthopHandlers.Register(this);
        RtnlNeighHandlers.Register(this);
        RtnlNsidHandlers.Register(this);
        RtnlNetconfHandlers.Register(this);
    }

    public NetlinkEngine Engine { get; }

    /// <summary>rtnl_register.</summary>
    public void Register(int family, int msgtype, RtnlDoit? doit, RtnlDumpit? dumpit, RtnlFlags flags = RtnlFlags.None) =>
        _handlers[(family, msgtype)] = (doit, dumpit, flags);

    /// <summary>Message types this table knows at all (for EOPNOTSUPP vs silently ignored).</summary>
    private (RtnlDoit? Doit, RtnlDumpit? Dumpit, RtnlFlags Flags)? Lookup(int family, int type) =>
        _handlers.TryGetValue((family, type), out var h) ? h : null;

    /// <summary>rtnetlink_rcv_msg.</summary>
    public int RcvMsg(NetlinkSock sk, ReadOnlyMemory<byte> msg, NlMsgHdr hdr, Extack ext)
    {
        int type = hdr.Type;
        if (type > RTM_MAX) return -Errno.EOPNOTSUPP;
        // struct rtgenmsg: a message too short to carry a family is ignored, before any permission check
        if (hdr.Len < NlMsgHdr.Size + 1) return 0;
        int family = msg.Span[NlMsgHdr.Size];
        int kind = (type - RTM_BASE) & 3; // RTNL_KIND_NEW, DEL, GET, SET
        if (kind != 2 && !sk.Privileged) return -Errno.EPERM;

        // any of NLM_F_ROOT and NLM_F_MATCH asks for a dump: the kernel tests nlmsg_flags & NLM_F_DUMP
        bool dump = kind == 2 && (hdr.Flags & NLM_F_DUMP) != 0;
        // the family's handler, else the PF_UNSPEC one (rtnl_get_link)
        var h = Lookup(family, type);
        if (dump ? h?.Dumpit == null : h?.Doit == null) h = Lookup(AF_UNSPEC, type);
        if (dump ? h?.Dumpit == null : h?.Doit == null) return -Errno.EOPNOTSUPP;

        var req = new RtnlRequest { Engine = Engine, Sock = sk, Hdr = hdr, Msg = msg, Ext = ext };
        lock (Engine.Kernel.Lock)
        {
            if (dump) return StartDump(req, h!.Value.Dumpit!, h.Value.Flags);
            var doit = h!.Value.Doit!;
            Engine.Notifier.Begin(sk, hdr);
            try { return doit(req); }
            finally { Engine.Notifier.End(); }
        }
    }

    private int StartDump(RtnlRequest req, RtnlDumpit dumpit, RtnlFlags flags)
    {
        var steps = DumpSteps(req, dumpit);
        return Engine.StartDump(req.Sock, req.Hdr, steps, 0, null, (flags & RtnlFlags.DumpSplitNlmDone) != 0);
    }

    /// <summary>Runs a dump handler against the engine's current dump writer and state.</summary>
    private IEnumerable<bool> DumpSteps(RtnlRequest req, RtnlDumpit dumpit)
    {
        var d = req.Sock.Dump!;
        IEnumerator<bool>? inner = null;
        while (true)
        {
            inner ??= dumpit(req, Engine.CurrentDumpWriter, d).GetEnumerator();
            bool more;
            try { more = inner.MoveNext(); }
            catch (RtnlDumpError e)
            {
                d.DoneErrno = -e.Errno;
                d.DoneMessage = e.ExtMessage;
                yield break;
            }
            if (!more) yield break;
            yield return true;
        }
    }
}

/// <summary>Thrown by a dump handler to end the dump with an error carried in NLMSG_DONE (the
/// kernel's dumpit returning a negative value).</summary>
public sealed class RtnlDumpError(int errno, string? message) : Exception(message)
{
    public int Errno { get; } = errno;
    public string? ExtMessage { get; } = message;
}
