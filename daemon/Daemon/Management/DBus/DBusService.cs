using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Tmds.DBus.Protocol;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;

namespace VirtKernel.Daemon.Management.DBus;

/// <summary>How the management API is offered: peer-to-peer on the daemon's own socket (the
/// default), or on a bus (session, system, or a bus address).</summary>
public sealed record DBusOptions
{
    /// <summary>null: peer-to-peer on <see cref="PeerSocketPath"/>; "session", "system" or an address: that bus.</summary>
    public string? Bus { get; init; }
    public required string PeerSocketPath { get; init; }
    public uint SocketMode { get; init; } = 0x180;
    public uint? Gid { get; init; }
}

/// <summary>The D-Bus side of the management API (Tmds.DBus.Protocol): the connections, the
/// objects they serve, and the signals (NamespaceAdded/NamespaceRemoved, and Changed summarising
/// the netlink notifications of each namespace, at most every 100 ms).</summary>
public sealed class DBusService : IDisposable
{
    public const string BusName = "org.virtkernel.Kernel1";

    private readonly ManagementApi _api;
    private readonly DBusOptions _opt;
    private readonly ConcurrentDictionary<DBusConnection, byte> _conns = new();
    private readonly ConcurrentQueue<(bool Added, int Id, string Name)> _nsEvents = new();
    private PeerListener? _listener;
    private DBusConnection? _bus;
    private int _flushScheduled;
    private int _peerSerial;

    public DBusService(ManagementApi api, DBusOptions opt)
    {
        _api = api;
        _opt = opt;
        api.Hooks.ChangesPending = ScheduleFlush;
        api.Kernel.NetCreated += net => NamespaceEvent(net, true);
        api.Kernel.NetDestroyed += net => NamespaceEvent(net, false);
    }

    public int ClientCount => _bus != null ? 1 : _conns.Count;

    /// <summary>Where clients reach the API (a D-Bus address).</summary>
    public string Address { get; private set; } = "";

    public async Task StartAsync()
    {
        if (_opt.Bus == null)
        {
            _listener = new PeerListener(_opt.PeerSocketPath, _opt.SocketMode, _opt.Gid);
            Address = _listener.Address;
            _ = _listener.AcceptLoop(OnPeer);
            return;
        }
        string address = _opt.Bus switch
        {
            "session" => DBusAddress.Session ?? throw new InvalidOperationException("no session bus (DBUS_SESSION_BUS_ADDRESS is not set)"),
            "system" => DBusAddress.System ?? "unix:path=/var/run/dbus/system_bus_socket",
            _ => _opt.Bus,
        };
        var conn = new DBusConnection(address);
        await conn.ConnectAsync().ConfigureAwait(false);
        var callers = new BusCallers(conn);
        conn.AddMethodHandlers(Handlers(callers.UidOf));
        await conn.RequestNameAsync(BusName).ConfigureAwait(false);
        _bus = conn;
        _conns[conn] = 0;
        _api.Hooks.WantsAllNotifications = true;
        Address = address;
    }

    private async Task OnPeer(DBusConnection conn, PeerCred cred, Action startRelay)
    {
        var peer = new PeerBus(cred, Interlocked.Increment(ref _peerSerial));
        conn.AddMethodHandlers([.. Handlers(_ => new ValueTask<uint>(cred.Uid)), peer]);
        _conns[conn] = 0;
        startRelay();
        _api.Hooks.WantsAllNotifications = true;
        try { await conn.DisconnectedAsync().ConfigureAwait(false); }
        finally
        {
            _conns.TryRemove(conn, out _);
            if (_conns.IsEmpty && _bus == null) _api.Hooks.WantsAllNotifications = false;
            conn.Dispose();
        }
    }

    private IPathMethodHandler[] Handlers(Func<Message, ValueTask<uint>> uidOf) =>
    [
        new KernelObject(_api, this, uidOf),
        new NamespaceObjects(_api, uidOf),
    ];

    // ---- signals ----------------------------------------------------------------------------

    public delegate void BodyWriter(ref MessageWriter w);

    /// <summary>Sends a signal on every connection (peers each get it; on a bus, everyone who matches).</summary>
    public void Emit(string path, string iface, string member, string? signature, BodyWriter body)
    {
        foreach (var conn in _conns.Keys)
        {
            try
            {
                var w = conn.GetMessageWriter();
                try
                {
                    w.WriteSignalHeader(null, path, iface, member, signature);
                    body(ref w);
                    conn.TrySendMessage(w.CreateMessage());
                }
                finally { w.Dispose(); }
            }
            catch (Exception) { }
        }
    }

    private void NamespaceEvent(Net net, bool added)
    {
        if (_api.State.ScratchIds.Contains(net.Id)) return;
        _nsEvents.Enqueue((added, net.Id, added ? "" : _api.NameOf(net)));
        ScheduleFlush();
    }

    private void ScheduleFlush()
    {
        if (Interlocked.Exchange(ref _flushScheduled, 1) == 1) return;
        _ = Task.Run(async () =>
        {
            await Task.Delay(100).ConfigureAwait(false);
            Interlocked.Exchange(ref _flushScheduled, 0);
            try { await Flush().ConfigureAwait(false); }
            catch (Exception) { }
        });
    }

    /// <summary>Emits the namespace signals and one Changed per namespace with the notifications
    /// counted since the last flush (type name -> count).</summary>
    private async Task Flush()
    {
        var events = new List<(bool Added, int Id, string Name)>();
        while (_nsEvents.TryDequeue(out var e)) events.Add(e);
        // the counts are taken on the server thread, between two requests, so that the
        // notifications of one request are never split over two signals; names as they are now
        // (a namespace made by `ip netns add` is named just after it is made); scratch namespaces
        // of imports are not announced
        var (changes, names) = await _api.Server.Invoke(() =>
        {
            var taken = _api.Hooks.TakeChanges();
            var named = events.Select(e => e.Id).Concat(taken.Keys).Distinct()
                .Where(id => !_api.State.ScratchIds.Contains(id))
                .ToDictionary(id => id, id => _api.Kernel.GetNet(id) is { } n ? _api.NameOf(n) : (string?)null);
            return (taken, named);
        }).ConfigureAwait(false);
        foreach (var (added, id, name0) in events)
        {
            string name = names.GetValueOrDefault(id) ?? name0;
            string path = ManagementApi.PathOf(id);
            Emit(ManagementApi.ObjectPath, KernelObject.Interface, added ? "NamespaceAdded" : "NamespaceRemoved", "suo",
                (ref MessageWriter w) =>
                {
                    w.WriteString(name);
                    w.WriteUInt32((uint)id);
                    w.WriteObjectPath(path);
                });
        }
        foreach (var (id, byType) in changes)
        {
            if (!names.TryGetValue(id, out var nm)) continue;
            string name = nm ?? "";
            Emit(ManagementApi.ObjectPath, KernelObject.Interface, "Changed", "sua{su}",
                (ref MessageWriter w) =>
                {
                    w.WriteString(name);
                    w.WriteUInt32((uint)id);
                    var d = w.WriteDictionaryStart();
                    foreach (var (type, count) in byType.OrderBy(kv => kv.Key))
                    {
                        w.WriteDictionaryEntryStart();
                        w.WriteString(MessageNames.TypeName(type));
                        w.WriteUInt32(count);
                    }
                    w.WriteDictionaryEnd(d);
                });
        }
    }

    public void Dispose()
    {
        _listener?.Dispose();
        foreach (var c in _conns.Keys) c.Dispose();
        _conns.Clear();
    }

    /// <summary>On a bus: the uid of a caller, asked of the bus once per unique name.</summary>
    private sealed class BusCallers(DBusConnection conn)
    {
        private readonly ConcurrentDictionary<string, uint> _uids = new();

        public async ValueTask<uint> UidOf(Message request)
        {
            string sender = request.SenderAsString ?? "";
            if (_uids.TryGetValue(sender, out var uid)) return uid;
            uid = await conn.CallMethodAsync(Request(sender), static (Message m, object? _) => m.GetBodyReader().ReadUInt32()).ConfigureAwait(false);
            _uids[sender] = uid;
            return uid;
        }

        private MessageBuffer Request(string sender)
        {
            using var w = conn.GetMessageWriter();
            w.WriteMethodCallHeader("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetConnectionUnixUser", "s");
            w.WriteString(sender);
            return w.CreateMessage();
        }
    }
}

/// <summary>On the peer-to-peer socket there is no bus, but clients made for one (busctl, gdbus,
/// sd-bus and GDBus programs) first say Hello to it and may add match rules: this object answers
/// those calls of org.freedesktop.DBus as a bus would for a connection that is alone with the daemon.</summary>
internal sealed class PeerBus(PeerCred cred, int serial) : IPathMethodHandler
{
    public string Path => "/org/freedesktop/DBus";
    public bool HandlesChildPaths => false;

    private static readonly ReadOnlyMemory<byte> Xml = """
        <interface name="org.freedesktop.DBus">
          <method name="Hello"><arg direction="out" type="s"/></method>
          <method name="AddMatch"><arg direction="in" type="s"/></method>
          <method name="RemoveMatch"><arg direction="in" type="s"/></method>
          <method name="GetId"><arg direction="out" type="s"/></method>
          <method name="ListNames"><arg direction="out" type="as"/></method>
          <method name="NameHasOwner"><arg direction="in" type="s"/><arg direction="out" type="b"/></method>
          <method name="GetNameOwner"><arg direction="in" type="s"/><arg direction="out" type="s"/></method>
          <method name="GetConnectionUnixUser"><arg direction="in" type="s"/><arg direction="out" type="u"/></method>
          <method name="GetConnectionUnixProcessID"><arg direction="in" type="s"/><arg direction="out" type="u"/></method>
        </interface>

        """u8.ToArray();

    public ValueTask HandleMethodAsync(MethodContext context)
    {
        if (context.IsDBusIntrospectRequest)
        {
            context.ReplyIntrospectXml([Xml]);
            return default;
        }
        var r = context.Request;
        if (r.InterfaceAsString != "org.freedesktop.DBus") return default;
        switch (r.MemberAsString)
        {
            case "Hello":
                ReplyString(context, $":1.{serial}");
                break;
            case "AddMatch" or "RemoveMatch":
            {
                using var w = context.CreateReplyWriter(null);
                context.Reply(w.CreateMessage());
                break;
            }
            case "GetId":
                ReplyString(context, "00000000000000000000000000000000");
                break;
            case "ListNames":
            {
                using var w = context.CreateReplyWriter("as");
                w.WriteArray(new[] { "org.freedesktop.DBus", DBusService.BusName, $":1.{serial}" });
                context.Reply(w.CreateMessage());
                break;
            }
            case "NameHasOwner":
            {
                string n = r.GetBodyReader().ReadString();
                using var w = context.CreateReplyWriter("b");
                w.WriteBool(n is "org.freedesktop.DBus" or DBusService.BusName || n == $":1.{serial}");
                context.Reply(w.CreateMessage());
                break;
            }
            case "GetNameOwner":
            {
                string n = r.GetBodyReader().ReadString();
                if (n is DBusService.BusName or "org.freedesktop.DBus") ReplyString(context, ":1.0");
                else if (n == $":1.{serial}") ReplyString(context, n);
                else context.ReplyError("org.freedesktop.DBus.Error.NameHasNoOwner", $"Could not get owner of name '{n}': no such name");
                break;
            }
            case "GetConnectionUnixUser" or "GetConnectionUnixProcessID":
            {
                string n = r.GetBodyReader().ReadString();
                uint v = r.MemberAsString == "GetConnectionUnixUser" ? (n == $":1.{serial}" ? cred.Uid : Mono.Unix.Native.Syscall.getuid()) : (uint)(n == $":1.{serial}" ? cred.Pid : Environment.ProcessId);
                using var w = context.CreateReplyWriter("u");
                w.WriteUInt32(v);
                context.Reply(w.CreateMessage());
                break;
            }
        }
        return default;
    }

    private static void ReplyString(MethodContext context, string s)
    {
        using var w = context.CreateReplyWriter("s");
        w.WriteString(s);
        context.Reply(w.CreateMessage());
    }
}
