using System.Text.Json.Nodes;
using VirtKernel.Model;
using static VirtKernel.Daemon.Management.State.StateRegistry;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Management.State;

/// <summary>The routes of every table ("routes" section). On this daemon every route comes from an
/// address or a device (the kernel's own prefix, local, broadcast and multicast routes), so import
/// creates none: it checks that the links and addresses just built made exactly the routes of the
/// document, and fails otherwise (in the dry run, so nothing changes). User routes (RTM_NEWROUTE),
/// rules, nexthops and neighbours plug in as their own subsystems when the daemon has them.</summary>
public sealed class RouteState : IStateSubsystem
{
    public string Name => "routes";

    public JsonNode Export(Net net, ExportContext ctx)
    {
        var a = new JsonArray();
        foreach (var r in All(net)) a.Add(r);
        return a;
    }

    private static IEnumerable<JsonObject> All(Net net)
    {
        foreach (var t in net.Ipv4.TablesInDumpOrder)
            foreach (var r in t.Routes) yield return Describe(r);
        foreach (var t in net.Ipv6.TablesInDumpOrder)
            foreach (var r in t.Routes) yield return Describe(r);
    }

    private static string Addr(byte family, UInt128 a) => family == AF_INET ? Inet.FormatV4((uint)a) : Inet.FormatV6(a);

    private static JsonObject Describe(Route r)
    {
        var o = new JsonObject
        {
            ["family"] = r.Family == AF_INET ? "inet" : "inet6",
            ["table"] = r.Table,
            ["dst"] = $"{Addr(r.Family, r.Dst)}/{r.DstLen}",
            ["type"] = r.Type,
            ["protocol"] = r.Protocol,
            ["scope"] = r.Scope,
            ["metric"] = r.Priority,
            ["tos"] = r.Tos,
            ["flags"] = r.Flags,
        };
        if (r.SrcLen != 0) o["src"] = $"{Addr(r.Family, r.Src)}/{r.SrcLen}";
        if (r.HasPrefSrc) o["prefsrc"] = Addr(r.Family, r.PrefSrc);
        var nhs = new JsonArray();
        foreach (var nh in r.Nexthops)
        {
            var n = new JsonObject { ["dev"] = nh.Dev?.Name };
            if (nh.HasGateway) n["gateway"] = Addr(nh.GwFamily, nh.Gateway);
            if (nh.Weight != 1) n["weight"] = nh.Weight;
            if (nh.Flags != 0) n["flags"] = nh.Flags;
            nhs.Add(n);
        }
        o["nexthops"] = nhs;
        if (r.NhId != 0) o["nhid"] = r.NhId;
        if (r.Metrics != null) o["metrics"] = new JsonArray(r.Metrics.Select(m => (JsonNode)m).ToArray());
        return o;
    }

    public void Validate(JsonNode? section, ImportContext ctx)
    {
        if (section == null) return;
        foreach (var r in Arr(section, "routes")) Obj(r, "routes[]");
    }

    public void Clear(Net net, ImportContext ctx) { }

    public void Apply(JsonNode? section, ImportContext ctx)
    {
        if (section == null) return;
        var want = Arr(section, "routes").Select(r => r!.ToJsonString()).ToList();
        var have = All(ctx.Net).Select(r => r.ToJsonString()).ToList();
        var missing = Minus(want, have);
        var extra = Minus(have, want);
        if (missing.Count > 0)
            throw new ApiError(ApiError.ImportFailed,
                $"routes: {missing.Count} route(s) of the document are not made by its links and addresses, and this daemon cannot import other routes yet (first: {missing[0]}{(extra.Count > 0 ? "; made instead: " + extra[0] : "")})");
        if (extra.Count > 0)
            throw new ApiError(ApiError.ImportFailed,
                $"routes: the links and addresses made {extra.Count} route(s) the document does not have (first: {extra[0]})");
        RestoreOrder(ctx.Net, want);
    }

    /// <summary>Routes of one prefix are kept in the order they were inserted (fib_alias list,
    /// fib6 leaf list), which the links and addresses of the import need not repeat: the routes of
    /// each prefix are put back in the document's order.</summary>
    private static void RestoreOrder(Net net, List<string> want)
    {
        var pos = new Dictionary<string, Queue<int>>();
        for (int i = 0; i < want.Count; i++)
        {
            if (!pos.TryGetValue(want[i], out var q)) pos[want[i]] = q = new Queue<int>();
            q.Enqueue(i);
        }
        var rank = new Dictionary<Route, int>();
        foreach (var t in net.Ipv4.TablesInDumpOrder)
            foreach (var r in t.Routes) rank[r] = pos[Describe(r).ToJsonString()].Dequeue();
        foreach (var t in net.Ipv6.TablesInDumpOrder)
            foreach (var r in t.Routes) rank[r] = pos[Describe(r).ToJsonString()].Dequeue();
        foreach (var t in net.Ipv4.Tables)
            foreach (var g in t.Routes.GroupBy(r => ((uint)r.Dst, r.DstLen)).Where(g => g.Count() > 1).ToList())
                t.SortAliases(g.Key.Item1, g.Key.DstLen, (a, b) => rank[a].CompareTo(rank[b]));
        foreach (var t in net.Ipv6.Tables)
            foreach (var g in t.Routes.GroupBy(r => (r.Dst, r.DstLen)).Where(g => g.Count() > 1).ToList())
                if (t.FindNode(g.Key.Dst, g.Key.DstLen) is { } n) n.Leaf.Sort((a, b) => rank[a].CompareTo(rank[b]));
    }

    private static List<string> Minus(List<string> a, List<string> b)
    {
        var left = b.GroupBy(x => x).ToDictionary(g => g.Key, g => g.Count());
        var r = new List<string>();
        foreach (var x in a)
        {
            if (left.TryGetValue(x, out var n) && n > 0) left[x] = n - 1;
            else r.Add(x);
        }
        return r;
    }
}
