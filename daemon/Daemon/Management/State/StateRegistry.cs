using System.Text.Json;
using System.Text.Json.Nodes;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Management.State;

/// <summary>One subsystem's part of a namespace's exported state (a top-level key of the document):
/// links and addresses, sysctls, devconf, nexthops, routes, rules, neighbours. Import runs the
/// subsystems in registration order, each one's <see cref="Apply"/> on a namespace whose earlier
/// subsystems are already applied.</summary>
public interface IStateSubsystem
{
    /// <summary>The key of its section in the document.</summary>
    string Name { get; }

    /// <summary>The namespace's state of this subsystem.</summary>
    JsonNode Export(Net net, ExportContext ctx);

    /// <summary>Checks the section's shape and values before anything is built (no changes).
    /// Throws <see cref="ApiError"/>.</summary>
    void Validate(JsonNode? section, ImportContext ctx);

    /// <summary>Removes what this subsystem holds in the namespace (before a real import).</summary>
    void Clear(Net net, ImportContext ctx);

    /// <summary>Builds the section's state into <see cref="ImportContext.Net"/>. Throws <see cref="ApiError"/>.</summary>
    void Apply(JsonNode? section, ImportContext ctx);
}

public sealed class ExportContext
{
    public required NetlinkEngine Engine { get; init; }
}

/// <summary>One import: the namespace being built (a scratch one during the dry run, then the
/// target), and a netlink client that sends requests as `ip` would.</summary>
public sealed class ImportContext
{
    public required NetlinkEngine Engine { get; init; }
    public required Net Net { get; init; }
    public required bool DryRun { get; init; }
    public required JsonObject Document { get; init; }
    private RtnlClient? _rtnl;
    public RtnlClient Rtnl => _rtnl ??= new RtnlClient(Engine, Net);
}

/// <summary>The subsystems, and the export/import of a whole namespace (document format
/// "virtkernel-state", version 1).</summary>
public sealed class StateRegistry
{
    public const string Format = "virtkernel-state";
    public const int FormatVersion = 1;

    public static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    private readonly NetlinkEngine _engine;
    private readonly List<IStateSubsystem> _subsystems = new();

    public StateRegistry(NetlinkEngine engine) => _engine = engine;

    /// <summary>What the daemon can export and import, in import order: links and addresses, the
    /// namespace-wide sysctls (written through their handlers once the devices exist, so that
    /// conf/all reaches them), each device's devconf, then nexthops before the routes using them,
    /// rules and neighbours.</summary>
    public static StateRegistry Default(NetlinkEngine engine)
    {
        var r = new StateRegistry(engine);
        r.Register(new LinkState());
        r.Register(new SysctlState());
        r.Register(new DevConfState());
        r.Register(new NexthopState());
        r.Register(new RouteState());
        r.Register(new RuleState());
        r.Register(new NeighState());
        return r;
    }

    public void Register(IStateSubsystem s) => _subsystems.Add(s);
    public IReadOnlyList<IStateSubsystem> Subsystems => _subsystems;

    /// <summary>Scratch namespaces of dry runs (the API does not announce them).</summary>
    public HashSet<int> ScratchIds { get; } = new();

    public JsonObject Export(Net net)
    {
        var ctx = new ExportContext { Engine = _engine };
        var doc = new JsonObject { ["format"] = Format, ["version"] = FormatVersion };
        foreach (var s in _subsystems) doc[s.Name] = s.Export(net, ctx);
        return doc;
    }

    /// <summary>The state of a namespace as it is when created (what Reset brings back).</summary>
    public JsonObject FreshState(Kernel kernel)
    {
        var net = NewScratch(kernel);
        try { return Export(net); }
        finally { DropScratch(kernel, net); }
    }

    private Net NewScratch(Kernel kernel)
    {
        var net = kernel.CreateNet();
        ScratchIds.Add(net.Id);
        return net;
    }

    private void DropScratch(Kernel kernel, Net net)
    {
        kernel.DestroyNet(net);
        kernel.RunDeferred();
        ScratchIds.Remove(net.Id);
    }

    /// <summary>Replaces the namespace's state with <paramref name="doc"/>. Atomic: the document is
    /// validated, then built in a scratch namespace (which runs every check the real build would);
    /// only when that succeeded is the target cleared and built. Nothing changes on failure.</summary>
    public void Import(Net target, JsonObject doc)
    {
        if (doc["format"]?.GetValueKind() != JsonValueKind.String || (string?)doc["format"] != Format)
            throw new ApiError(ApiError.InvalidArgs, $"not a {Format} document (\"format\" must be \"{Format}\")");
        if (doc["version"] is not JsonValue v || !v.TryGetValue<int>(out var ver) || ver != FormatVersion)
            throw new ApiError(ApiError.InvalidArgs, $"unsupported document version (this daemon reads version {FormatVersion})");
        foreach (var (key, _) in doc)
        {
            if (key is "format" or "version") continue;
            if (_subsystems.All(s => s.Name != key))
                throw new ApiError(ApiError.ImportFailed, $"section \"{key}\" cannot be imported: this daemon has no {key} subsystem yet");
        }
        var kernel = _engine.Kernel;
        var dry = new ImportContext { Engine = _engine, Net = target, DryRun = true, Document = doc };
        foreach (var s in _subsystems) s.Validate(doc[s.Name], dry);

        var scratch = NewScratch(kernel);
        try
        {
            var ctx = new ImportContext { Engine = _engine, Net = scratch, DryRun = true, Document = doc };
            foreach (var s in _subsystems) s.Apply(doc[s.Name], ctx);
        }
        finally { DropScratch(kernel, scratch); }

        var real = new ImportContext { Engine = _engine, Net = target, DryRun = false, Document = doc };
        try
        {
            for (int i = _subsystems.Count - 1; i >= 0; i--) _subsystems[i].Clear(target, real);
            foreach (var s in _subsystems) s.Apply(doc[s.Name], real);
        }
        catch (ApiError e)
        {
            // the scratch build succeeded, so this means the target held something the clearing missed
            throw new ApiError(ApiError.Failed, "import failed after its dry run succeeded (the namespace is partly rebuilt): " + e.Message);
        }
    }

    // ---- helpers shared by the subsystems -------------------------------------------------------

    public static ApiError Bad(string where, string what) => new(ApiError.InvalidArgs, $"{where}: {what}");

    public static JsonObject Obj(JsonNode? n, string where) =>
        n as JsonObject ?? throw Bad(where, "expected an object");

    public static JsonArray Arr(JsonNode? n, string where) =>
        n as JsonArray ?? throw Bad(where, "expected an array");

    public static string Str(JsonNode? n, string where) =>
        n is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw Bad(where, "expected a string");

    public static string? OptStr(JsonObject o, string key, string where) =>
        o[key] is null ? null : Str(o[key], where + "." + key);

    public static long Int(JsonNode? n, string where, long min = long.MinValue, long max = long.MaxValue)
    {
        // parsed documents hold JSON numbers; documents built in memory hold the CLR types
        long x;
        if (n is not JsonValue v || v.GetValueKind() != JsonValueKind.Number) throw Bad(where, "expected an integer");
        if (v.TryGetValue<long>(out var l)) x = l;
        else if (v.TryGetValue<int>(out var i)) x = i;
        else if (v.TryGetValue<uint>(out var u)) x = u;
        else if (v.TryGetValue<ulong>(out var ul) && ul <= long.MaxValue) x = (long)ul;
        else if (v.TryGetValue<ushort>(out var us)) x = us;
        else if (v.TryGetValue<byte>(out var b)) x = b;
        else if (v.TryGetValue<double>(out var d) && d == Math.Floor(d) && Math.Abs(d) < 9e18) x = (long)d;
        else throw Bad(where, "expected an integer");
        if (x < min || x > max) throw Bad(where, $"{x} is out of range [{min}, {max}]");
        return x;
    }

    public static long? OptInt(JsonObject o, string key, string where, long min = long.MinValue, long max = long.MaxValue) =>
        o[key] is null ? null : Int(o[key], where + "." + key, min, max);

    public static bool Bool(JsonNode? n, string where) =>
        n is JsonValue v && v.TryGetValue<bool>(out var b) ? b : throw Bad(where, "expected true or false");

    public static string Mac(ReadOnlySpan<byte> b) => Convert.ToHexString(b).ToLowerInvariant() is var h
        ? string.Join(':', Enumerable.Range(0, b.Length).Select(i => h.Substring(i * 2, 2))) : "";

    public static byte[] ParseMac(string s, string where)
    {
        try { return s.Length == 0 ? [] : s.Split(':').Select(p => Convert.ToByte(p, 16)).ToArray(); }
        catch (FormatException) { throw Bad(where, $"\"{s}\" is not a link-layer address"); }
    }
}

/// <summary>Sends rtnetlink requests into the engine as a privileged client of one namespace would
/// (so that every import goes through the same checks as `ip`), and turns a failure into an
/// <see cref="ApiError"/> with the errno and the extack message.</summary>
public sealed class RtnlClient
{
    private readonly NetlinkEngine _engine;
    private readonly NetlinkSock _sk;
    private readonly NlWriter _w = new(1 << 16);
    private uint _seq;

    public RtnlClient(NetlinkEngine engine, Net net)
    {
        _engine = engine;
        _sk = new NetlinkSock(0, net, NETLINK_ROUTE, 3, 0, 0, privileged: true) { ExtAck = true, StrictChk = false };
    }

    public NlWriter Begin(int type, int flags)
    {
        _w.Clear();
        _w.BeginMessage(type, NLM_F_REQUEST | NLM_F_ACK | flags, ++_seq, 0);
        return _w;
    }

    /// <summary>Sends the message built since <see cref="Begin"/>; <paramref name="what"/> says what
    /// it was for in an error.</summary>
    public void Send(string what)
    {
        _w.EndMessage(0);
        var msg = _w.ToArray();
        var hdr = NlMsgHdr.Read(msg);
        var ext = new Extack();
        int err = _engine.Rtnl.RcvMsg(_sk, msg, hdr, ext);
        _engine.Kernel.RunDeferred();
        while (_sk.Dequeue() != null) { }
        if (err < 0)
            throw new ApiError(ApiError.ImportFailed,
                $"{what}: {MessageNames.ErrnoName(-err)}{(ext.Message != null ? " (" + ext.Message + ")" : "")}");
    }
}
