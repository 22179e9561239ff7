using System.Buffers.Binary;
using System.Text.Json.Nodes;
using VirtKernel.Daemon.Rtnl;
using VirtKernel.Model;
using VirtKernel.Protocol.Netlink;
using static VirtKernel.Daemon.Management.State.StateRegistry;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Management.State;

/// <summary>Codecs of the routing messages (see <see cref="MessageCodec"/>).</summary>
public static class RoutingCodecs
{
    private static readonly Dictionary<string, int> Widths = new()
    {
        ["RTA_TABLE"] = 4, ["RTA_PRIORITY"] = 4, ["RTA_OIF"] = 4, ["RTA_IIF"] = 4, ["RTA_FLOW"] = 4, ["RTA_NH_ID"] = 4,
        ["RTA_PREF"] = 1, ["RTA_EXPIRES"] = 4, ["RTA_MARK"] = 4, ["RTA_UID"] = 4, ["RTA_ENCAP_TYPE"] = 2, ["RTA_TTL_PROPAGATE"] = 1,
        ["FRA_PRIORITY"] = 4, ["FRA_TABLE"] = 4, ["FRA_GOTO"] = 4, ["FRA_FWMARK"] = 4, ["FRA_FWMASK"] = 4, ["FRA_FLOW"] = 4,
        ["FRA_SUPPRESS_PREFIXLEN"] = 4, ["FRA_SUPPRESS_IFGROUP"] = 4, ["FRA_L3MDEV"] = 1, ["FRA_PROTOCOL"] = 1,
        ["FRA_IP_PROTO"] = 1, ["FRA_DSCP"] = 1,
        ["NHA_ID"] = 4, ["NHA_GROUP_TYPE"] = 2, ["NHA_OIF"] = 4, ["NHA_ENCAP_TYPE"] = 2, ["NHA_HW_STATS_ENABLE"] = 4,
        ["NDA_PROBES"] = 4, ["NDA_PROTOCOL"] = 1, ["NDA_FLAGS_EXT"] = 4, ["NDA_IFINDEX"] = 4, ["NDA_VLAN"] = 2,
        ["NDA_VNI"] = 4, ["NDA_MASTER"] = 4, ["NDA_NH_ID"] = 4,
    };

    /// <summary>struct rtmsg.</summary>
    public static readonly MessageCodec Route = new("RTA_", 12,
        [("family", 0, 1), ("dst_len", 1, 1), ("src_len", 2, 1), ("tos", 3, 1), ("table", 4, 1), ("protocol", 5, 1), ("scope", 6, 1), ("type", 7, 1), ("flags", 8, 4)],
        Widths, ["RTA_DST", "RTA_SRC", "RTA_GATEWAY", "RTA_PREFSRC"], [], [], ["RTA_ALIGNTO"]);

    /// <summary>struct fib_rule_hdr.</summary>
    public static readonly MessageCodec Rule = new("FRA_", 12,
        [("family", 0, 1), ("dst_len", 1, 1), ("src_len", 2, 1), ("tos", 3, 1), ("table", 4, 1), ("res1", 5, 1), ("res2", 6, 1), ("action", 7, 1), ("flags", 8, 4)],
        Widths, ["FRA_SRC", "FRA_DST"], [], ["FRA_IIFNAME", "FRA_OIFNAME"], ["FRA_IFNAME"]);

    /// <summary>struct nhmsg.</summary>
    public static readonly MessageCodec Nexthop = new("NHA_", 8,
        [("family", 0, 1), ("scope", 1, 1), ("protocol", 2, 1), ("resvd", 3, 1), ("flags", 4, 4)],
        Widths, ["NHA_GATEWAY"], [], [], ["NHA_RES_"]);

    /// <summary>struct ndmsg.</summary>
    public static readonly MessageCodec Neigh = new("NDA_", 12,
        [("family", 0, 1), ("ifindex", 4, 4), ("state", 8, 2), ("flags", 10, 1), ("type", 11, 1)],
        Widths, ["NDA_DST"], ["NDA_LLADDR"], [], []);

    /// <summary>Each message a fill function writes, as JSON.</summary>
    public static JsonObject Json(MessageCodec c, Action<NlWriter> fill, byte family, params string[] skip)
    {
        var w = new NlWriter(1 << 14);
        fill(w);
        return c.ToJson(w.Span, family, skip);
    }

    public static string Key(JsonNode n) => n.ToJsonString();

    /// <summary>a minus b, as multisets of their JSON text, in a's order.</summary>
    public static List<JsonObject> Minus(IEnumerable<JsonObject> a, IEnumerable<JsonObject> b)
    {
        var left = b.GroupBy(Key).ToDictionary(g => g.Key, g => g.Count());
        var r = new List<JsonObject>();
        foreach (var x in a)
        {
            var k = Key(x);
            if (left.TryGetValue(k, out var n) && n > 0) left[k] = n - 1;
            else r.Add(x);
        }
        return r;
    }

    public static List<JsonObject> Items(JsonNode? section, string name)
    {
        if (section == null) return [];
        return Arr(section, name).Select((n, i) => Obj(n, $"{name}[{i}]")).ToList();
    }

    public static void Send(ImportContext ctx, MessageCodec c, int type, int flags, Dictionary<string, long> hdr,
        List<(string Name, int Type, byte[] Value)> attrs, string what)
    {
        var w = ctx.Rtnl.Begin(type, flags);
        c.Write(w, hdr, attrs);
        ctx.Rtnl.Send(what);
    }
}

/// <summary>Nexthop objects ("nexthops" section), imported before the routes that use them:
/// objects first, then groups (whose members must exist); an object of the same id that differs
/// is deleted first.</summary>
public sealed class NexthopState : IStateSubsystem
{
    public string Name => "nexthops";
    private static MessageCodec C => RoutingCodecs.Nexthop;

    public JsonNode Export(Net net, ExportContext ctx) => new JsonArray(All(net).Select(n => (JsonNode)n).ToArray());

    private static List<JsonObject> All(Net net)
    {
        var list = new List<JsonObject>();
        var index = net.NexthopIndex;
        var c = index.Start();
        while (index.MoveNext(ref c))
        {
            var nh = c.Value;
            if (nh.Dead) continue;
            list.Add(RoutingCodecs.Json(C, w => RtnlNexthopHandlers.FillNexthop(w, nh, RTM_NEWNEXTHOP, 0, 0, 0), nh.Family));
        }
        return list;
    }

    public void Validate(JsonNode? section, ImportContext ctx)
    {
        foreach (var (o, i) in RoutingCodecs.Items(section, Name).Select((o, i) => (o, i))) C.Check(o, $"{Name}[{i}]");
    }

    public void Clear(Net net, ImportContext ctx) { }

    private static uint Id(JsonObject o) => (uint)(o["attrs"]?["NHA_ID"] is { } n ? Int(n, "NHA_ID", 0, uint.MaxValue) : 0);

    public void Apply(JsonNode? section, ImportContext ctx)
    {
        var want = RoutingCodecs.Items(section, Name);
        var have = All(ctx.Net);
        foreach (var x in RoutingCodecs.Minus(have, want))
        {
            var hdr = new Dictionary<string, long> { ["family"] = 0, ["scope"] = 0, ["protocol"] = 0, ["resvd"] = 0, ["flags"] = 0 };
            RoutingCodecs.Send(ctx, C, RTM_DELNEXTHOP, 0, hdr, [("NHA_ID", NHA_ID, BitConverter.GetBytes(Id(x)))], $"removing nexthop {Id(x)}");
        }
        var missing = RoutingCodecs.Minus(want, have);
        foreach (var m in missing.Where(m => m["attrs"]?["NHA_GROUP"] == null).Concat(missing.Where(m => m["attrs"]?["NHA_GROUP"] != null)))
        {
            var hdr = C.Header(m, Name);
            hdr["scope"] = 0;                       // the kernel's to compute ("Invalid values in ancillary header")
            hdr["flags"] &= RTNH_F_ONLINK;          // NEXTHOP_VALID_USER_FLAGS
            RoutingCodecs.Send(ctx, C, RTM_NEWNEXTHOP, NLM_F_CREATE | NLM_F_EXCL, hdr, C.Attrs(m, Name), $"adding nexthop {Id(m)}");
        }
    }
}

/// <summary>The routes of every table, both families ("routes" section), as the kernel dumps them.
/// Import runs after links, addresses and nexthops: the routes those made that the document lacks
/// are deleted (`ip route del` of a connected route), the document's other routes are added
/// (RTM_NEWROUTE, as `ip route restore` does: a route whose gateway needs a later route is retried
/// after it), and the routes of one prefix are put back in the document's order.</summary>
public sealed class RouteState : IStateSubsystem
{
    public string Name => "routes";
    private static MessageCodec C => RoutingCodecs.Route;

    public JsonNode Export(Net net, ExportContext ctx) => new JsonArray(Dumped(net).Select(d => (JsonNode)d.Json).ToArray());

    /// <summary>The routes as the dump shows them (IPv6 siblings once, as one multipath route).</summary>
    private static List<(Route Route, JsonObject Json)> Dumped(Net net)
    {
        var list = new List<(Route, JsonObject)>();
        foreach (var t in net.Ipv4.TablesInDumpOrder)
            foreach (var r in t.Routes)
                list.Add((r, RoutingCodecs.Json(C, w => RtnlRouteHandlers.FillRoute4(w, r, net, RTM_NEWROUTE, 0, 0, 0), (byte)AF_INET)));
        foreach (var t in net.Ipv6.TablesInDumpOrder)
        {
            List<Route>? last = null;
            foreach (var r in t.Routes)
            {
                if (r.Siblings != null && r.Siblings == last) continue;
                last = r.Siblings;
                // RTA_CACHEINFO: counters and the time left (RTA_EXPIRES is not in a dump)
                list.Add((r, RoutingCodecs.Json(C, w => RtnlRouteHandlers.FillRoute6(w, r, net, RTM_NEWROUTE, 0, 0, 0), (byte)AF_INET6, "RTA_CACHEINFO")));
            }
        }
        return list;
    }

    public void Validate(JsonNode? section, ImportContext ctx)
    {
        foreach (var (o, i) in RoutingCodecs.Items(section, Name).Select((o, i) => (o, i))) C.Check(o, $"{Name}[{i}]");
    }

    public void Clear(Net net, ImportContext ctx) { }

    private const uint NhFlagsMask = (uint)(RTNH_F_DEAD | RTNH_F_LINKDOWN | RTNH_F_OFFLOAD | RTNH_F_TRAP | RTNH_F_UNRESOLVED);

    /// <summary>The request for a dumped route: without what only the kernel sets (dead, linkdown,
    /// offload flags; the paths of a route through a nexthop object, which the object gives).</summary>
    private static (Dictionary<string, long> Hdr, List<(string Name, int Type, byte[] Value)> Attrs) Request(JsonObject r, string where)
    {
        var hdr = C.Header(r, where);
        var attrs = C.Attrs(r, where);
        hdr["flags"] &= RTNH_F_ONLINK;
        attrs.RemoveAll(a => a.Name == "RTA_CACHEINFO");
        if (attrs.Any(a => a.Name == "RTA_NH_ID"))
        {
            attrs.RemoveAll(a => a.Name is "RTA_OIF" or "RTA_GATEWAY" or "RTA_VIA" or "RTA_MULTIPATH" or "RTA_FLOW");
            hdr["flags"] = 0;
            if (hdr["type"] == RTN_BLACKHOLE) hdr["type"] = RTN_UNICAST; // a blackhole nexthop's routes dump as blackhole
        }
        for (int i = 0; i < attrs.Count; i++)
        {
            if (attrs[i].Name != "RTA_MULTIPATH") continue;
            var mp = (byte[])attrs[i].Value.Clone();
            for (int off = 0; off + 8 <= mp.Length;)
            {
                int len = BinaryPrimitives.ReadUInt16LittleEndian(mp.AsSpan(off));
                if (len < 8) break;
                mp[off + 2] = (byte)(mp[off + 2] & ~NhFlagsMask);
                off += (len + 3) & ~3;
            }
            attrs[i] = (attrs[i].Name, attrs[i].Type, mp);
        }
        return (hdr, attrs);
    }

    public void Apply(JsonNode? section, ImportContext ctx)
    {
        if (section == null) return;
        var want = RoutingCodecs.Items(section, Name);
        var have = Dumped(ctx.Net).Select(d => d.Json).ToList();
        // the document's routes first (a gateway may be reachable only through a connected route
        // the document no longer has), then the routes it lacks go, then what could not be added
        // before (it clashed with one of those) is added
        var pending = AddAll(ctx, RoutingCodecs.Minus(want, have), out _);
        foreach (var x in RoutingCodecs.Minus(Dumped(ctx.Net).Select(d => d.Json), want))
        {
            var (hdr, attrs) = Request(x, Name);
            RoutingCodecs.Send(ctx, C, RTM_DELROUTE, 0, hdr, attrs, $"removing route {Key(x)}");
        }
        if (AddAll(ctx, pending, out var err).Count > 0) throw err!;
        var now = Dumped(ctx.Net);
        var missing = RoutingCodecs.Minus(want, now.Select(d => d.Json));
        var extra = RoutingCodecs.Minus(now.Select(d => d.Json), want);
        if (missing.Count > 0 || extra.Count > 0)
            throw new ApiError(ApiError.ImportFailed,
                $"routes: the import made {extra.Count} route(s) the document does not have and lacks {missing.Count} of its routes" +
                (missing.Count > 0 ? $" (first missing: {Key(missing[0])})" : "") + (extra.Count > 0 ? $" (first extra: {Key(extra[0])})" : ""));
        RestoreOrder(ctx.Net, want, now);
    }

    private static string Key(JsonNode n) => RoutingCodecs.Key(n);

    /// <summary>Adds the routes, again and again while that makes progress (a route whose gateway
    /// is reached through a route later in the document); returns those that could not be added.</summary>
    private List<JsonObject> AddAll(ImportContext ctx, List<JsonObject> pending, out ApiError? error)
    {
        error = null;
        while (pending.Count > 0)
        {
            var left = new List<JsonObject>();
            ApiError? first = null;
            foreach (var m in pending)
            {
                var (hdr, attrs) = Request(m, Name);
                int flags = NLM_F_CREATE | (hdr["family"] == AF_INET ? NLM_F_APPEND : 0);
                try { RoutingCodecs.Send(ctx, C, RTM_NEWROUTE, flags, hdr, attrs, $"adding route {Key(m)}"); }
                catch (ApiError e) { left.Add(m); first ??= e; }
            }
            error = first;
            if (left.Count == pending.Count) return left;
            pending = left;
        }
        return pending;
    }

    /// <summary>Routes of one prefix are kept in the order they were inserted (fib_alias list,
    /// fib6 leaf list), which an import need not repeat: the routes of each prefix are put back in
    /// the document's order (IPv6 siblings stay together, in their order).</summary>
    private static void RestoreOrder(Net net, List<JsonObject> want, List<(Route Route, JsonObject Json)> now)
    {
        var pos = new Dictionary<string, Queue<int>>();
        for (int i = 0; i < want.Count; i++)
        {
            var k = Key(want[i]);
            if (!pos.TryGetValue(k, out var q)) pos[k] = q = new Queue<int>();
            q.Enqueue(i);
        }
        var rank = new Dictionary<Route, int>();
        foreach (var (r, j) in now)
        {
            int at = pos[Key(j)].Dequeue();
            if (r.Siblings != null) foreach (var s in r.Siblings) rank[s] = at;
            else rank[r] = at;
        }
        foreach (var t in net.Ipv4.Tables)
            foreach (var g in t.Routes.GroupBy(r => ((uint)r.Dst, r.DstLen)).Where(g => g.Count() > 1).ToList())
                t.SortAliases(g.Key.Item1, g.Key.DstLen, (a, b) => rank[a].CompareTo(rank[b]));
        foreach (var t in net.Ipv6.Tables)
            foreach (var g in t.Routes.GroupBy(r => (r.Dst, r.DstLen, r.Src, r.SrcLen)).Where(g => g.Count() > 1).ToList())
                if (t.FindNode(g.Key.Dst, g.Key.DstLen, g.Key.Src, g.Key.SrcLen) is { } n)
                {
                    var sorted = n.Leaf.OrderBy(r => rank.TryGetValue(r, out var x) ? x : int.MaxValue).ToList();
                    n.Leaf.Clear();
                    n.Leaf.AddRange(sorted);
                }
    }
}

/// <summary>Policy rules of IPv4 and IPv6 ("rules" section), the kernel's default ones included
/// (a document may lack them: they were deleted). Import keeps the rules that already match the
/// document's from the top, deletes the others and adds the document's rest in order (a rule goes
/// after every rule of lower or equal priority, so that order is the document's).</summary>
public sealed class RuleState : IStateSubsystem
{
    public string Name => "rules";
    private static MessageCodec C => RoutingCodecs.Rule;

    public JsonNode Export(Net net, ExportContext ctx) => new JsonArray(All(net, AF_INET).Concat(All(net, AF_INET6)).Select(n => (JsonNode)n).ToArray());

    private static List<JsonObject> All(Net net, int family)
    {
        var ops = family == AF_INET ? net.Ipv4.Rules : net.Ipv6.Rules;
        return ops.Rules.Where(r => !r.Dead)
            .Select(r => RoutingCodecs.Json(C, w => RtnlRuleHandlers.FillRule(w, r, net, RTM_NEWRULE, 0, 0, 0), (byte)family)).ToList();
    }

    public void Validate(JsonNode? section, ImportContext ctx)
    {
        foreach (var (o, i) in RoutingCodecs.Items(section, Name).Select((o, i) => (o, i)))
        {
            C.Check(o, $"{Name}[{i}]");
            if (C.Header(o, Name)["family"] is not (AF_INET or AF_INET6)) throw Bad($"{Name}[{i}]", "family must be 2 (inet) or 10 (inet6)");
        }
    }

    public void Clear(Net net, ImportContext ctx) { }

    private static (Dictionary<string, long>, List<(string Name, int Type, byte[] Value)>) Request(JsonObject r)
    {
        var hdr = C.Header(r, "rules");
        var attrs = C.Attrs(r, "rules");
        hdr["flags"] &= ~(long)(FIB_RULE_UNRESOLVED | FIB_RULE_IIF_DETACHED | FIB_RULE_OIF_DETACHED); // the kernel's to say
        if (attrs.All(a => a.Name != "FRA_PRIORITY")) attrs.Add(("FRA_PRIORITY", FRA_PRIORITY, new byte[4])); // priority 0, not the next free one
        return (hdr, attrs);
    }

    public void Apply(JsonNode? section, ImportContext ctx)
    {
        if (section == null) return;
        var doc = RoutingCodecs.Items(section, Name);
        foreach (int family in new[] { AF_INET, AF_INET6 })
        {
            var want = doc.Where(o => C.Header(o, Name)["family"] == family).ToList();
            if (Rebuild(ctx, family, want, keepPrefix: true)) continue;
            if (!Rebuild(ctx, family, want, keepPrefix: false))
                throw new ApiError(ApiError.ImportFailed, $"rules: the rules of family {family} could not be rebuilt in the document's order");
        }
    }

    private static bool Rebuild(ImportContext ctx, int family, List<JsonObject> want, bool keepPrefix)
    {
        var have = All(ctx.Net, family);
        int same = 0;
        if (keepPrefix)
            while (same < have.Count && same < want.Count && Key(have[same]) == Key(want[same])) same++;
        for (int i = have.Count - 1; i >= same; i--)
        {
            var (hdr, attrs) = Request(have[i]);
            RoutingCodecs.Send(ctx, C, RTM_DELRULE, 0, hdr, attrs, $"removing rule {Key(have[i])}");
        }
        for (int i = same; i < want.Count; i++)
        {
            var (hdr, attrs) = Request(want[i]);
            RoutingCodecs.Send(ctx, C, RTM_NEWRULE, NLM_F_CREATE, hdr, attrs, $"adding rule {Key(want[i])}");
        }
        var now = All(ctx.Net, family);
        return now.Count == want.Count && now.Zip(want).All(p => Key(p.First) == Key(p.Second));
    }

    private static string Key(JsonNode n) => RoutingCodecs.Key(n);
}

/// <summary>Neighbour entries of ARP and NDISC, proxy entries included ("neighbours" section), as
/// the kernel stores them (state, flags, link-layer address, protocol); cache times and probe
/// counters are not kept. Imported last, once devices, addresses and routes exist.</summary>
public sealed class NeighState : IStateSubsystem
{
    public string Name => "neighbours";
    private static MessageCodec C => RoutingCodecs.Neigh;

    public JsonNode Export(Net net, ExportContext ctx) => new JsonArray(All(net).Select(n => (JsonNode)n).ToArray());

    private static List<JsonObject> All(Net net)
    {
        var list = new List<JsonObject>();
        foreach (var tbl in new[] { net.Neigh.Arp, net.Neigh.Nd })
            foreach (var index in new[] { tbl.Entries, tbl.Proxies })
            {
                var c = index.Start();
                while (index.MoveNext(ref c))
                {
                    var n = c.Value;
                    if (n.Dead) continue;
                    list.Add(RoutingCodecs.Json(C, w => RtnlNeighHandlers.FillNeigh(w, n, net, RTM_NEWNEIGH, 0, 0, 0), tbl.Family, "NDA_CACHEINFO", "NDA_PROBES"));
                }
            }
        return list;
    }

    public void Validate(JsonNode? section, ImportContext ctx)
    {
        foreach (var (o, i) in RoutingCodecs.Items(section, Name).Select((o, i) => (o, i))) C.Check(o, $"{Name}[{i}]");
    }

    public void Clear(Net net, ImportContext ctx) { }

    private static (Dictionary<string, long>, List<(string Name, int Type, byte[] Value)>) Request(JsonObject r)
    {
        var hdr = C.Header(r, "neighbours");
        var attrs = C.Attrs(r, "neighbours");
        attrs.RemoveAll(a => a.Name is "NDA_CACHEINFO" or "NDA_PROBES");
        return (hdr, attrs);
    }

    public void Apply(JsonNode? section, ImportContext ctx)
    {
        if (section == null) return;
        var want = RoutingCodecs.Items(section, Name);
        var have = All(ctx.Net);
        foreach (var x in RoutingCodecs.Minus(have, want))
        {
            var (hdr, attrs) = Request(x);
            attrs.RemoveAll(a => a.Name != "NDA_DST");
            RoutingCodecs.Send(ctx, C, RTM_DELNEIGH, 0, hdr, attrs, $"removing neighbour {RoutingCodecs.Key(x)}");
        }
        foreach (var m in RoutingCodecs.Minus(want, have))
        {
            var (hdr, attrs) = Request(m);
            RoutingCodecs.Send(ctx, C, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, hdr, attrs, $"adding neighbour {RoutingCodecs.Key(m)}");
        }
    }
}
