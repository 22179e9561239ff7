using System.Buffers.Binary;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;

namespace VirtKernel.Daemon.Management;

/// <summary>What the management API sees of the netlink layer: request and error counts (the
/// Statistics property), the notifications of each namespace (the Changed signal) and the fault
/// rules of org.virtkernel.Faults1. The engine calls it on the server thread under the kernel lock;
/// the counters are read from other threads under <see cref="_gate"/>.</summary>
public sealed class NetlinkHooks
{
    private readonly object _gate = new();
    /// <summary>Requests by message type (every rtnetlink type is below 256): counted on every
    /// request without a lock or a hash lookup; read, possibly a count behind, by the Statistics
    /// property. Other types (garbage a client sent) go to <see cref="_otherRequests"/>.</summary>
    private readonly ulong[] _requests = new ulong[256];
    private readonly Dictionary<int, ulong> _otherRequests = new();
    private readonly Dictionary<int, ulong> _errors = new();
    private readonly Dictionary<int, ulong> _notifications = new();
    private Dictionary<int, Dictionary<int, uint>> _pendingChanges = new();
    private readonly Kernel _kernel;

    public NetlinkHooks(Kernel kernel) => _kernel = kernel;

    /// <summary>Fault rules; touched only under the kernel lock.</summary>
    public FaultTable Faults { get; } = new();

    /// <summary>Somebody wants every notification summarised (a D-Bus peer is connected), so the
    /// notifier builds them even when no netlink socket listens.</summary>
    public volatile bool WantsAllNotifications;

    /// <summary>Called (outside any lock the caller holds) when notifications are waiting to be summarised.</summary>
    public Action? ChangesPending;

    /// <summary>The decision taken for one request before it runs.</summary>
    public readonly record struct Decision(FaultRule? Fail, bool DumpIntr, FaultRule? Delay);

    /// <summary>netlink_rcv_skb, before the handler: does an injected fault fail this request, mark
    /// its dump, or delay its answer?</summary>
    public Decision BeforeRequest(NetlinkSock sk, NlMsgHdr hdr, Extack ext)
    {
        if (Faults.Count == 0) return default;
        int netId = sk.Net.Id, type = hdr.Type;
        var fail = Faults.Check(FaultAction.Error, netId, type);
        if (fail != null)
        {
            if (fail.Extack != null) ext.Message = fail.Extack;
            return new Decision(fail, false, null);
        }
        bool dump = (hdr.Flags & Uapi.NLM_F_DUMP) != 0 && Faults.Check(FaultAction.DumpIntr, netId, type) != null;
        return new Decision(null, dump, Faults.Check(FaultAction.Delay, netId, type));
    }

    /// <summary>After the handler: counts the request and its errno, and holds the answer back when
    /// a delay fired.</summary>
    public void AfterRequest(NetlinkSock sk, NlMsgHdr hdr, int err, Decision d)
    {
        if (hdr.Type < _requests.Length) Interlocked.Increment(ref _requests[hdr.Type]);
        else lock (_gate) _otherRequests[hdr.Type] = _otherRequests.GetValueOrDefault(hdr.Type) + 1;
        // a started dump answers -EINTR internally: not an error
        if (err < 0 && err != -Errno.EINTR)
            lock (_gate) _errors[-err] = _errors.GetValueOrDefault(-err) + 1;
        if (d.Delay != null || sk.Held != null)
        {
            bool arm = sk.Held == null;
            sk.HoldOutput();
            if (arm && d.Delay != null)
                _kernel.Timers.Arm(null, _kernel.Clock.NowMs + Math.Max(0, d.Delay.DelayMs), sk.ReleaseHeld);
        }
    }

    /// <summary>nlmsg_notify: counts the notification for the Changed signal; true when an ENOBUFS
    /// fault drops it (every subscribed socket then sees an overrun).</summary>
    public bool Notified(Net net, uint group, ReadOnlySpan<byte> msg)
    {
        int type = msg.Length >= 6 ? BinaryPrimitives.ReadUInt16LittleEndian(msg[4..]) : 0;
        bool first;
        lock (_gate)
        {
            _notifications[type] = _notifications.GetValueOrDefault(type) + 1;
            first = _pendingChanges.Count == 0;
            if (!_pendingChanges.TryGetValue(net.Id, out var byType)) _pendingChanges[net.Id] = byType = new();
            byType[type] = byType.GetValueOrDefault(type) + 1;
        }
        if (first) ChangesPending?.Invoke();
        return Faults.Count != 0 && Faults.Check(FaultAction.Enobufs, net.Id, type) != null;
    }

    /// <summary>Takes the notifications counted since the last call: namespace id -> type -> count.</summary>
    public Dictionary<int, Dictionary<int, uint>> TakeChanges()
    {
        lock (_gate)
        {
            var c = _pendingChanges;
            _pendingChanges = new();
            return c;
        }
    }

    public (Dictionary<int, ulong> Requests, Dictionary<int, ulong> Errors, Dictionary<int, ulong> Notifications) Snapshot()
    {
        lock (_gate)
        {
            var requests = new Dictionary<int, ulong>(_otherRequests);
            for (int t = 0; t < _requests.Length; t++)
                if (Volatile.Read(ref _requests[t]) is var n and > 0) requests[t] = n;
            return (requests, new(_errors), new(_notifications));
        }
    }

    public void ResetCounters()
    {
        lock (_gate)
        {
            Array.Clear(_requests);
            _otherRequests.Clear();
            _errors.Clear();
            _notifications.Clear();
        }
    }
}
