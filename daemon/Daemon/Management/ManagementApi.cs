using System.Text.Json.Nodes;
using VirtKernel.Daemon.Server;
using VirtKernel.Daemon.Management.State;
using VirtKernel.Model;
using VirtKernel.Protocol;

namespace VirtKernel.Daemon.Management;

/// <summary>An error the management API answers with (a D-Bus error name and its message).</summary>
public sealed class ApiError(string name, string message) : Exception(message)
{
    public string Name { get; } = name;

    public const string AccessDenied = "org.freedesktop.DBus.Error.AccessDenied";
    public const string InvalidArgs = "org.freedesktop.DBus.Error.InvalidArgs";
    public const string NoSuchNamespace = "org.virtkernel.Error.NoSuchNamespace";
    public const string NamespaceExists = "org.virtkernel.Error.NamespaceExists";
    public const string ImportFailed = "org.virtkernel.Error.ImportFailed";
    public const string Failed = "org.freedesktop.DBus.Error.Failed";
}

/// <summary>One namespace as the API lists it.</summary>
public readonly record struct NamespaceInfo(string Name, int Id, string Path);

/// <summary>What org.virtkernel.Kernel1 and org.virtkernel.Faults1 do, independent of D-Bus: every
/// method runs on the server thread under the kernel lock (see <see cref="VkServer.Invoke{T}"/>),
/// between two netlink requests, as the kernel's rtnl lock orders them.</summary>
public sealed class ManagementApi
{
    public const string ObjectPath = "/org/virtkernel/Kernel1";
    public const string NamespacePathPrefix = "/org/virtkernel/Kernel1/ns/";

    private readonly VkServer _server;
    private readonly Kernel _kernel;

    public ManagementApi(VkServer server, Kernel kernel, NetlinkHooks hooks)
    {
        _server = server;
        _kernel = kernel;
        Hooks = hooks;
        State = StateRegistry.Default(server.Engine);
    }

    public NetlinkHooks Hooks { get; }
    public StateRegistry State { get; }
    public VkServer Server => _server;
    public Kernel Kernel => _kernel;
    private Namespaces Names => _server.NamespaceTable;

    public static string Version =>
        $"virtkernel {typeof(ManagementApi).Assembly.GetName().Version?.ToString(3) ?? "0"} (linux 6.18 rtnetlink)";

    public static string PathOf(int netId) => NamespacePathPrefix + netId;

    /// <summary>The namespace an API argument names: "" the initial one, else a name bound in the
    /// namespace registry (what `ip netns add` made), else "#ID" by the daemon's id.</summary>
    public Net Resolve(string name)
    {
        if (name.Length == 0) return _kernel.InitNet;
        if (Names.Names.TryGetValue(name, out var net) && !net.Dying) return net;
        if (name.StartsWith('#') && int.TryParse(name[1..], out var id) && _kernel.GetNet(id) is { Dying: false } n) return n;
        throw new ApiError(ApiError.NoSuchNamespace, $"no namespace named \"{name}\"");
    }

    public string NameOf(Net net) => net == _kernel.InitNet ? "" : Names.NameOf(net) ?? "";

    // ---- Kernel1 --------------------------------------------------------------------------------

    public List<NamespaceInfo> ListNamespaces() =>
        _kernel.Nets.Where(n => !n.Dying).OrderBy(n => n.Id).Select(n => new NamespaceInfo(NameOf(n), n.Id, PathOf(n.Id))).ToList();

    /// <summary>What `ip netns add NAME` does through the shim: a new namespace, bound to the name in
    /// the state directory (STATE/netns/NAME), which keeps it alive.</summary>
    public NamespaceInfo CreateNamespace(string name)
    {
        if (name.Length == 0 || name is "." or ".." || name.Contains('/') || name.Contains('\0') || System.Text.Encoding.UTF8.GetByteCount(name) >= 256)
            throw new ApiError(ApiError.InvalidArgs, $"invalid namespace name \"{name}\"");
        if (Names.Names.ContainsKey(name) || File.Exists(Names.NamePath(name)))
            throw new ApiError(ApiError.NamespaceExists, $"namespace \"{name}\" already exists");
        var path = Names.NamePath(name);
        using (File.Create(path)) { }
        var net = _kernel.CreateNet();
        int err = Names.Bind(net, name);
        if (err < 0)
        {
            File.Delete(path);
            _kernel.DestroyNet(net);
            throw new ApiError(ApiError.Failed, $"cannot bind namespace \"{name}\": {MessageNames.ErrnoName(-err)}");
        }
        return new NamespaceInfo(name, net.Id, PathOf(net.Id));
    }

    /// <summary>What `ip netns del NAME` does: the name lets go of the namespace (it goes once
    /// nothing else — a process, a socket — holds it) and the name file is removed.</summary>
    public void DeleteNamespace(string name)
    {
        if (!Names.Names.ContainsKey(name)) throw new ApiError(ApiError.NoSuchNamespace, $"no namespace named \"{name}\"");
        Names.Unbind(name);
        try { File.Delete(Names.NamePath(name)); }
        catch (IOException) { }
    }

    public string Export(string ns) => State.Export(Resolve(ns)).ToJsonString(StateRegistry.JsonOptions);

    /// <summary>Replaces the namespace's state with the document, atomically: the document is
    /// checked, then built in a scratch namespace; only when that worked is the target cleared and
    /// built the same way. On any failure the target is left as it was.</summary>
    public void Import(string ns, string json)
    {
        var net = Resolve(ns);
        JsonObject doc;
        try { doc = JsonNode.Parse(json) as JsonObject ?? throw new ApiError(ApiError.InvalidArgs, "the document is not a JSON object"); }
        catch (System.Text.Json.JsonException e) { throw new ApiError(ApiError.InvalidArgs, "invalid JSON: " + e.Message); }
        State.Import(net, doc);
    }

    /// <summary>Every named namespace is let go and the initial namespace goes back to its state at
    /// boot; fault rules and counters are cleared.</summary>
    public void Reset()
    {
        foreach (var name in Names.Names.Keys.ToList()) DeleteNamespace(name);
        State.Import(_kernel.InitNet, State.FreshState(_kernel));
        Hooks.Faults.Clear(0);
        Hooks.ResetCounters();
    }

    public JsonObject NamespaceProperties(Net net) => new()
    {
        ["Id"] = net.Id,
        ["Name"] = NameOf(net),
        ["Devices"] = net.DeviceCount,
        ["Addresses"] = net.Devices.Sum(d => (d.Ip4?.Count ?? 0) + (d.Ip6?.Count ?? 0)),
        ["Sockets"] = _server.Engine.TableIfAny(net)?.SocketCount ?? 0,
    };

    // ---- Faults1 --------------------------------------------------------------------------------

    public uint AddFault(FaultSpec spec)
    {
        var action = FaultRule.ParseAction(spec.Action ?? "error") ?? throw new ApiError(ApiError.InvalidArgs, $"unknown fault action \"{spec.Action}\" (error, dump-intr, enobufs, delay)");
        int? netId = null;
        string nsLabel = spec.Namespace ?? "*";
        if (nsLabel != "*") netId = Resolve(nsLabel).Id;
        int? type = null;
        if (spec.Type is { } t && t != "*" && t != "")
            type = MessageNames.ParseType(t) ?? throw new ApiError(ApiError.InvalidArgs, $"unknown message type \"{t}\"");
        int errno = 0;
        if (action == FaultAction.Error)
        {
            errno = spec.Errno is { } e ? MessageNames.ParseErrno(e) ?? throw new ApiError(ApiError.InvalidArgs, $"unknown errno \"{e}\"") : Errno.EIO;
            if (errno <= 0 || errno > 4095) throw new ApiError(ApiError.InvalidArgs, "errno must be between 1 and 4095");
        }
        if (spec.Probability is < 0 or > 1) throw new ApiError(ApiError.InvalidArgs, "probability must be between 0 and 1");
        if (action == FaultAction.Delay && spec.DelayMs is null or <= 0) throw new ApiError(ApiError.InvalidArgs, "a delay fault needs delay_ms > 0");
        var rule = new FaultRule
        {
            Id = Hooks.Faults.NextId(), Action = action, NetId = netId, Namespace = nsLabel, MsgType = type, Errno = errno,
            Extack = spec.Extack, Nth = spec.Nth ?? 0, Every = spec.Every ?? false, Probability = spec.Probability ?? 0,
            Seed = spec.Seed ?? 0, DelayMs = spec.DelayMs ?? 0, Limit = spec.Limit ?? 0,
        };
        Hooks.Faults.Add(rule);
        return rule.Id;
    }

    public List<JsonObject> ListFaults() => Hooks.Faults.Rules.Select(r => r.ToJson()).ToList();

    public uint ClearFaults(uint id) => (uint)Hooks.Faults.Clear(id);
}

/// <summary>The arguments of Faults1.Add (an a{sv} on the bus).</summary>
public sealed class FaultSpec
{
    public string? Action, Namespace, Type, Errno, Extack;
    public ulong? Nth, Seed, Limit;
    public bool? Every;
    public double? Probability;
    public int? DelayMs;
}
