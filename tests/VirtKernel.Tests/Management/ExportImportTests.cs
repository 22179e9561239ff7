using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Mono.Unix.Native;
using VirtKernel.Tests.E2E;

namespace VirtKernel.Tests.Management;

/// <summary>Export then Import reproduces what `ip` shows, for the namespace every golden case
/// leaves; a failing import changes nothing.</summary>
[Collection("e2e")]
public class ExportImportTests(VkEnvironment env)
{
    public static IEnumerable<object[]> Cases() => GoldenTests.Cases();

    private static readonly string[][] Views =
    [
        ["-d", "link", "show"], ["-d", "addr", "show"], ["route", "show", "table", "all"], ["-6", "route", "show", "table", "all"],
        ["rule"], ["-6", "rule"], ["neigh"], ["neigh", "show", "proxy"], ["nexthop"],
    ];

    // running bridge timers count down between the two looks (the golden corpus masks them too)
    private static readonly Regex Timers = new(@"((hello|tcn|topology_change|gc|hold|message_age|forward_delay)_timer) +[0-9]+\.[0-9]+");

    private string WriteDoc(string json)
    {
        var f = Path.Combine(env.Dir, $"doc-{Guid.NewGuid():N}.json");
        File.WriteAllText(f, json);
        Syscall.chmod(f, (FilePermissions)Convert.ToUInt32("644", 8));
        return f;
    }

    /// <summary>`sysctl -a` under the shim, its net.* lines (what a namespace has of its own).
    /// Normalisation: none; the lines are compared as printed.</summary>
    private string NetSysctls(ManagedDaemon d) =>
        string.Concat(env.Run(["/usr/sbin/sysctl", "-a"], d.Socket).Output.Split('\n')
            .Where(l => l.StartsWith("net.")).Select(l => l + "\n"));

    [Theory]
    [MemberData(nameof(Cases))]
    public void RoundTripReproducesIpOutput(string name)
    {
        var c = GoldenCase.Load(env.RepoRoot, name);
        using var a = new ManagedDaemon(env);
        foreach (var line in c.Lines)
        {
            var rest = line.StartsWith('?') ? line[1..].Trim() : line;
            if (rest.StartsWith("!sysctl "))
                env.Run(["/usr/sbin/sysctl", .. ShellWords.Split(rest).Skip(1)], a.Socket);
            else if (!rest.StartsWith('!'))
                a.Ip([.. ShellWords.Split(rest)]);
        }
        RoundTrip(a, name);
    }

    /// <summary>Routes of every kind, nexthop objects and groups, rules (a default one deleted),
    /// neighbours and proxies: what the golden cases of this repository do not reach.</summary>
    [Fact]
    public void RoundTripOfRoutingState()
    {
        using var a = new ManagedDaemon(env);
        string[] script =
        [
            "link add v0 address 02:00:00:00:00:01 type veth peer name v1 address 02:00:00:00:00:02",
            "link set v0 addrgenmode none", "link set v1 addrgenmode none", "link set v0 up", "link set v1 up",
            "addr add 10.0.0.1/24 dev v0", "addr add 2001:db8::1/64 dev v0 nodad",
            "route add 10.1.0.0/16 via 10.0.0.2 metric 10",
            "route add 10.2.0.0/16 via 10.0.0.2 table 100 proto static",
            "route add 10.3.0.0/16 nexthop via 10.0.0.2 weight 2 nexthop via 10.0.0.3",
            "route add blackhole 10.9.0.0/16", "route add unreachable 10.8.0.0/16 table 7",
            "route add 10.4.0.0/16 via 10.0.0.2 dev v0 mtu 1300 onlink",
            "route append 10.1.0.0/16 via 10.0.0.3 metric 10", "route prepend 10.1.0.0/16 via 10.0.0.4 metric 10",
            "-6 route add 2001:db8:1::/64 via 2001:db8::2",
            "-6 route add 2001:db8:2::/64 nexthop via 2001:db8::2 nexthop via 2001:db8::3",
            "nexthop add id 1 via 10.0.0.2 dev v0", "nexthop add id 2 via 10.0.0.3 dev v0", "nexthop add id 3 group 1/2",
            "route add 10.5.0.0/16 nhid 3",
            "rule add from 10.0.0.0/8 table 100 pref 100", "rule del pref 32767", "-6 rule add to 2001:db8::/32 table 100",
            "neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev v0", "neigh add 10.0.0.3 lladdr 02:00:00:00:00:03 dev v0 nud stale",
            "neigh add proxy 10.0.0.9 dev v0",
            // the gateways above are reachable only through this connected route: import must add them first
            "route del 10.0.0.0/24 dev v0",
        ];
        foreach (var line in script)
        {
            var (o, rc) = a.Ip([.. ShellWords.Split(line)]);
            Assert.True(rc == 0, $"ip {line}: {o}");
        }
        RoundTrip(a, "routing");
    }

    /// <summary>Namespace-wide sysctls, some with side effects on the devices (IPv6 forwarding
    /// joins the routers' anycast addresses, IPv4 forwarding turns accept_redirects off,
    /// disable_ipv6 of default reaches the devices made later): the section lists what differs
    /// from a fresh namespace, and importing it reproduces `sysctl -a` and `ip`; importing a fresh
    /// namespace's document puts them back.</summary>
    [Fact]
    public void RoundTripOfSysctls()
    {
        using var a = new ManagedDaemon(env);
        string[] before =
        [
            "link add v0 address 02:00:00:00:00:01 type veth peer name v1 address 02:00:00:00:00:02",
            // no link-local addresses: they would go through DAD again after the import
            "link set v0 addrgenmode none", "link set v1 addrgenmode none",
            "link set v0 up", "link set v1 up", "addr add 10.0.0.1/24 dev v0", "addr add 2001:db8::1/64 dev v0 nodad",
        ];
        foreach (var line in before) Assert.Equal(0, a.Ip([.. ShellWords.Split(line)]).Status);
        string[] writes =
        [
            "net.ipv6.conf.all.forwarding=1", "net.ipv4.conf.all.forwarding=1", "net.core.somaxconn=1024",
            "net.ipv4.tcp_ecn=1", "net.ipv4.ip_local_port_range=20000 30000", "net.ipv6.conf.default.hop_limit=33",
            "net.ipv6.conf.default.disable_ipv6=1",
        ];
        foreach (var w in writes)
        {
            var (o, rc) = env.Run(["/usr/sbin/sysctl", "-w", w], a.Socket);
            Assert.True(rc == 0, $"sysctl -w {w}: {o}");
        }
        Assert.Equal(0, a.Ip("link", "add", "w0", "address", "02:00:00:00:00:03", "type", "veth", "peer", "name", "w1", "address", "02:00:00:00:00:04").Status);
        Assert.Equal(0, a.Ip("link", "set", "w0", "up").Status);

        var section = JsonNode.Parse(a.Vk("export").Output)!["sysctl"]!.AsObject();
        Assert.Equal("1024", (string?)section["net.core.somaxconn"]);
        Assert.Equal("20000\t30000", (string?)section["net.ipv4.ip_local_port_range"]);
        Assert.Equal("1", (string?)section["net.ipv6.conf.default.forwarding"]); // all's write reached it
        Assert.Equal("0", (string?)section["net.ipv4.conf.all.accept_redirects"]);
        Assert.Null(section["net.ipv4.ip_forward"]);   // it is conf.all.forwarding
        Assert.Null(section["net.core.optmem_max"]);   // unchanged
        Assert.Null(section["net.ipv4.conf.v0.forwarding"]); // a device's: the devconf section
        RoundTrip(a, "sysctls");

        using var fresh = new ManagedDaemon(env);
        var (io, irc) = a.Vk("import", WriteDoc(fresh.Vk("export").Output));
        Assert.True(irc == 0, io);
        string want = NetSysctls(fresh), got = NetSysctls(a);
        if (want != got) Assert.Fail($"sysctl -a (net.*) differs after importing a fresh namespace:\n{Diff.Unified(want, got)}");
        Assert.Equal(fresh.Ip("-6", "route", "show", "table", "all").Output, a.Ip("-6", "route", "show", "table", "all").Output);
    }

    private void RoundTrip(ManagedDaemon a, string name)
    {
        using var b = new ManagedDaemon(env);
        var (json, rc) = a.Vk("export");
        Assert.True(rc == 0, json);
        var doc = WriteDoc(json);
        var (io, irc) = b.Vk("import", doc);
        Assert.True(irc == 0, $"import failed: {io}");
        foreach (var view in Views)
        {
            string want = Timers.Replace(a.Ip(view).Output, "$1 *.**");
            string got = Timers.Replace(b.Ip(view).Output, "$1 *.**");
            if (want != got) Assert.Fail($"{name}: ip {string.Join(' ', view)} differs after import:\n{Diff.Unified(want, got)}");
        }
        string wantSys = NetSysctls(a), gotSys = NetSysctls(b);
        if (wantSys != gotSys) Assert.Fail($"{name}: sysctl -a (net.*) differs after import:\n{Diff.Unified(wantSys, gotSys)}");
        // and the imported namespace exports the same links and addresses; so does a named
        // namespace of the first daemon the document is imported into
        var first = JsonNode.Parse(json)!;
        var again = JsonNode.Parse(b.Vk("export").Output)!;
        Assert.True(JsonNode.DeepEquals(Strip(first["links"]!), Strip(again["links"]!)), "the links section differs after import");
        Assert.Equal(0, a.Vk("ns", "add", "copy").Status);
        (io, irc) = a.Vk("import", doc, "--netns", "copy");
        Assert.True(irc == 0, $"import into a named namespace failed: {io}");
        var copy = JsonNode.Parse(a.Vk("export", "--netns", "copy").Output)!;
        Assert.True(JsonNode.DeepEquals(Strip(first["links"]!), Strip(copy["links"]!)), "the links section differs in the named namespace");
    }

    /// <summary>Running timers (hex-coded read-only bridge attributes) aside.</summary>
    private static JsonNode Strip(JsonNode links)
    {
        var c = links.DeepClone();
        foreach (var dev in c["devices"]!.AsArray())
            foreach (var key in new[] { "info_data", "info_slave_data" })
                if (dev![key] is JsonObject o)
                    foreach (var t in o.Select(kv => kv.Key).Where(k => k.EndsWith("_TIMER")).ToList()) o.Remove(t);
        return c;
    }

    [Fact]
    public void AFailingImportChangesNothing()
    {
        using var d = new ManagedDaemon(env);
        Assert.Equal(0, d.Ip("link", "add", "v0", "address", "02:00:00:00:00:01", "type", "veth", "peer", "name", "v1", "address", "02:00:00:00:00:02").Status);
        Assert.Equal(0, d.Ip("addr", "add", "192.0.2.1/24", "dev", "v0").Status);
        Assert.Equal(0, d.Ip("link", "set", "v0", "up").Status);
        var before = d.Vk("export").Output;
        string ipBefore = d.Ip("-d", "addr").Output;

        // a document the kernel refuses half-way (a dummy whose altname is another device's name):
        // the dry run fails before the namespace is touched
        var bad = JsonNode.Parse(before)!;
        var devs = bad["links"]!["devices"]!.AsArray();
        var dummy = devs[0]!.DeepClone();
        dummy["ifindex"] = 10; dummy["name"] = "d9"; dummy["kind"] = "dummy"; dummy["mtu"] = 1500;
        dummy["altnames"] = new JsonArray("v1");
        dummy["address"] = "02:00:00:00:00:09"; dummy["ipv4"] = new JsonArray(); dummy["ipv6"] = new JsonArray();
        devs.Add(dummy);
        var (o, rc) = d.Vk("import", WriteDoc(bad.ToJsonString()));
        Assert.Equal(1, rc);
        Assert.Contains("adding altname v1 to d9: EEXIST", o);
        Assert.Equal(before, d.Vk("export").Output);
        Assert.Equal(ipBefore, d.Ip("-d", "addr").Output);

        // not a document at all
        (o, rc) = d.Vk("import", WriteDoc("[1,2]"));
        Assert.Equal(1, rc);
        Assert.Contains("InvalidArgs", o);
        Assert.Equal(before, d.Vk("export").Output);

        // a route the kernel refuses (its gateway is unreachable): refused in the dry run, nothing changes
        var extra = JsonNode.Parse(before)!;
        extra["routes"]!.AsArray().Add(JsonNode.Parse("""
            {"hdr": {"family": 2, "dst_len": 16, "table": 254, "protocol": 3, "type": 1},
             "attrs": {"RTA_TABLE": 254, "RTA_DST": "198.18.0.0", "RTA_GATEWAY": "203.0.113.1"}}
            """));
        (o, rc) = d.Vk("import", WriteDoc(extra.ToJsonString()));
        Assert.Equal(1, rc);
        Assert.Contains("ENETUNREACH", o);
        Assert.Equal(before, d.Vk("export").Output);

        // importing the document of a fresh namespace replaces everything (what Reset does)
        using var fresh = new ManagedDaemon(env);
        (o, rc) = d.Vk("import", WriteDoc(fresh.Vk("export").Output));
        Assert.True(rc == 0, o);
        Assert.Equal(fresh.Ip("-d", "addr").Output, d.Ip("-d", "addr").Output);
        Assert.Equal(fresh.Ip("route", "show", "table", "all").Output, d.Ip("route", "show", "table", "all").Output);
        // and back
        (o, rc) = d.Vk("import", WriteDoc(before));
        Assert.True(rc == 0, o);
        Assert.Equal(ipBefore, d.Ip("-d", "addr").Output);
    }

    [Fact]
    public void ImportIntoANamedNamespaceAndReset()
    {
        using var d = new ManagedDaemon(env);
        Assert.Equal(0, d.Ip("link", "add", "d0", "address", "02:00:00:00:00:05", "type", "dummy").Status);
        Assert.Equal(0, d.Ip("addr", "add", "198.51.100.1/24", "dev", "d0").Status);
        var doc = d.Vk("export").Output;
        Assert.Equal(0, d.Vk("ns", "add", "copy").Status);
        var (o, rc) = d.Vk("import", WriteDoc(doc), "--netns", "copy");
        Assert.True(rc == 0, o);
        var copied = d.Vk("export", "--netns", "copy").Output;
        Assert.Contains("198.51.100.1", copied);
        Assert.Equal("0\t(initial)\n1\tcopy\n", d.Vk("ns", "list").Output);
        Assert.Equal(0, d.Vk("reset").Status);
        Assert.Equal("0\t(initial)\n", d.Vk("ns", "list").Output);
        Assert.Equal("1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN mode DEFAULT group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n",
            d.Ip("link").Output);
    }
}
