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
        if (missing.Count > 0)
            throw new ApiError(ApiError.ImportFailed,
                $"routes: {missing.Count} route(s) of the document are not made by its links and addresses, and this daemon cannot import other routes yet (first: {missing[0]})");
        var extra = Minus(have, want);
        if (extra.Count > 0)
            throw new ApiError(ApiError.ImportFailed,
                $"routes: the links and addresses made {extra.Count} route(s) the document does not have (first: {extra[0]})");
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
