using System.Text;
using System.Text.Json.Nodes;
using VirtKernel.Model;
using VirtKernel.Model.Sysctl;
using static VirtKernel.Daemon.Management.State.StateRegistry;

namespace VirtKernel.Daemon.Management.State;

/// <summary>The namespace's own /proc/sys/net values ("sysctl" section): the namespace-wide table
/// (net.core, net.ipv4, net.ipv6, netfilter, ...) and conf/all and conf/default of IPv4 and IPv6,
/// those whose text differs from what a fresh namespace shows, by their sysctl names
/// ("net.ipv6.conf.all.disable_ipv6": "1"). Import writes them through the entries' own handlers,
/// as `sysctl -w` would, so that their side effects happen as on the kernel (disable_ipv6 of `all`
/// taking IPv6 from every device, conf/all/forwarding reaching default and the devices...).
///
/// Left out: read-only and write-only entries, host-dependent ones, values global to the kernel
/// (one static key for every namespace), ip_forward (it is conf/all/forwarding), the devices'
/// conf directories (the devconf section) and the neighbour tables' directories.
///
/// Order: it comes after the links (a write to conf/all changes the devices that exist then, as it
/// did on the kernel) and before devconf, which then sets each device's values exactly. Clearing a
/// namespace before an import brings its values back to those of a fresh namespace (before the
/// devices are removed and built again, so that new devices start from fresh defaults).</summary>
public sealed class SysctlState : IStateSubsystem
{
    public string Name => "sysctl";

    /// <summary>A kernel nobody uses, whose namespaces show the fresh values (the baseline of the
    /// export and what an import puts back for the entries a document does not list).</summary>
    private Kernel? _reference;
    private Net? _freshChild;

    private Net Fresh(Net like)
    {
        _reference ??= new Kernel(like.Kernel.Options);
        if (like.IsInit) return _reference.InitNet;
        // the root namespace is a fresh namespace unless it plays init_net; a child of a pristine
        // init_net has the compiled-in conf/all and conf/default too
        return _reference.InitNet.IsInit ? _freshChild ??= _reference.CreateNet() : _reference.InitNet;
    }

    /// <summary>"net.ipv4.tcp_ecn" for net/ipv4/tcp_ecn.</summary>
    private static string Key(CtlFile f) => f.Path.Replace('/', '.');

    /// <summary>The entries of the section in <paramref name="net"/>, in the tree's order (names
    /// sorted, so conf/all comes before conf/default).</summary>
    private static List<CtlFile> Entries(Net net)
    {
        var list = new List<CtlFile>();
        Walk(net.Sysctl.Root, "", list);
        return list;
    }

    private static void Walk(CtlDir dir, string rel, List<CtlFile> list)
    {
        foreach (var node in dir.Children)
        {
            string path = rel.Length == 0 ? node.Name : rel + "/" + node.Name;
            if (node is CtlDir d)
            {
                // per-device directories belong to the devconf section; the neighbour tables' ones
                // (per device, and init_net's defaults of every namespace's devices) are not exported
                if (path is "ipv4/neigh" or "ipv6/neigh") continue;
                if (rel is "ipv4/conf" or "ipv6/conf" && node.Name is not ("all" or "default")) continue;
                Walk(d, path, list);
            }
            else if (node is CtlFile f && Exported(f, path)) list.Add(f);
        }
    }

    private static bool Exported(CtlFile f, string path) =>
        (f.Mode & 0x100) != 0 && (f.Mode & 0x80) != 0 // readable and writable by root
        && !f.HostDependent
        && f.Extra2 is not NetCtlDef { Global: true }
        && NetTables.Find(path) is not { Bind: not null };

    private static string? ReadText(CtlFile f) => f.Read(out var text) == 0 ? text.TrimEnd('\n') : null;

    public JsonNode Export(Net net, ExportContext ctx)
    {
        var fresh = Fresh(net);
        var o = new JsonObject();
        foreach (var f in Entries(net))
        {
            // stable_secret reads EIO until it is set
            if (ReadText(f) is not { } text) continue;
            string? dflt = fresh.Sysctl.File(f.Path["net/".Length..]) is { } r ? ReadText(r) : null;
            if (text != dflt) o[Key(f)] = text;
        }
        return o;
    }

    public void Validate(JsonNode? section, ImportContext ctx)
    {
        if (section == null) return;
        var o = Obj(section, "sysctl");
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in new[] { Fresh(ctx.Net), InitLike(ctx.Net) })
            foreach (var f in Entries(n)) known.Add(Key(f));
        foreach (var (key, v) in o)
        {
            if (!known.Contains(key)) throw Bad("sysctl", $"\"{key}\" is not a namespace-wide sysctl that can be imported");
            Str(v, "sysctl." + key);
        }
        // the dry run's scratch namespace is never init_net: the entries only init_net has are
        // tried on the init_net of a kernel made for the purpose
        if (ctx.Net.IsInit) WriteAll(new Kernel(ctx.Net.Kernel.Options).InitNet, o, "sysctl");
    }

    /// <summary>A fresh namespace of the other kind (init_net or not): a document of the one may be
    /// imported into the other.</summary>
    private Net InitLike(Net net) =>
        (_other ??= new Kernel(net.Kernel.Options with { RootIsInitNet = !net.Kernel.Options.RootIsInitNet })).InitNet;

    private Kernel? _other;

    public void Clear(Net net, ImportContext ctx) => WriteAll(net, new JsonObject(), "resetting");

    public void Apply(JsonNode? section, ImportContext ctx)
    {
        if (section == null) return;
        WriteAll(ctx.Net, Obj(section, "sysctl"), "sysctl");
    }

    /// <summary>Writes every entry whose value differs from the document's (a fresh namespace's
    /// for those it does not list), through its handler. A write may change other entries (conf/all
    /// reaches conf/default): those still differing are written again, a few rounds at most.
    /// Entries of the document the namespace lacks or cannot write (those only init_net has, or
    /// can write) are skipped.</summary>
    private void WriteAll(Net net, JsonObject doc, string what)
    {
        var fresh = Fresh(net);
        var entries = Entries(net);
        for (int round = 0; round < 4; round++)
        {
            bool wrote = false;
            foreach (var f in entries)
            {
                string key = Key(f);
                string? want = doc[key] is { } v ? Str(v, "sysctl." + key)
                    : fresh.Sysctl.File(f.Path["net/".Length..]) is { } r ? ReadText(r) : null;
                if (want == null || ReadText(f) == want) continue;
                int err = f.Write(Encoding.UTF8.GetBytes(want + "\n"));
                net.Kernel.RunDeferred();
                if (err < 0)
                    throw new ApiError(ApiError.ImportFailed,
                        $"{what} {key} = \"{want}\": {MessageNames.ErrnoName(-err)}");
                wrote = true;
            }
            if (!wrote) return;
        }
        var left = entries.Where(f => doc[Key(f)] is { } v && ReadText(f) != (string?)v).Select(Key).ToList();
        if (left.Count > 0)
            throw new ApiError(ApiError.ImportFailed, $"{what}: {string.Join(", ", left)} did not keep the value written");
    }
}
