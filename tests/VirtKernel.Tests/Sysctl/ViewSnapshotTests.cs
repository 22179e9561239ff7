using System.Text;
using System.Text.RegularExpressions;
using VirtKernel.Model;
using VirtKernel.Model.Ipv4;
using VirtKernel.Model.Ipv6;
using VirtKernel.Model.Links;
using VirtKernel.SysfsFs.Fuse;
using VirtKernel.SysfsFs.Views;
using VirtKernel.Tests.Model;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Sysctl;

/// <summary>/proc/net and /sys/class/net as the views render them, against the kernel's snapshots
/// (tests/golden/snapshots/proc-net-files.txt, sys-class-net.txt) after the same setup.</summary>
public class ViewSnapshotTests
{
    private static readonly FsCaller Root = new(0, 0, 1);

    /// <summary>The sections of a snapshot file: "## title" -> its lines.</summary>
    private static Dictionary<string, string> Sections(string file)
    {
        var d = new Dictionary<string, string>();
        string? title = null;
        var sb = new StringBuilder();
        foreach (var line in File.ReadLines(SysctlSnapshot.SnapshotPath(file)))
        {
            if (line.StartsWith("## "))
            {
                if (title != null) d[title] = sb.ToString().TrimEnd('\n') + "\n";
                title = line[3..];
                sb.Clear();
                continue;
            }
            if (title != null) sb.Append(line).Append('\n');
        }
        if (title != null) d[title] = sb.ToString().TrimEnd('\n') + "\n";
        return d;
    }

    private static FsNode Node(VkFs fs, string path)
    {
        FsNode n = fs;
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.True(n is FsDir, $"{path}: {part} under a file");
            n = ((FsDir)n).Lookup(part) ?? throw new Xunit.Sdk.XunitException($"{path}: no {part}");
        }
        return n;
    }

    private static (int Err, string Text) Read(VkFs fs, string path)
    {
        var n = Node(fs, path);
        if (n is FsSymlink l) return (0, l.Target);
        int err = ((FsFile)n).Read(Root, out var content);
        return (err, Encoding.UTF8.GetString(content));
    }

    private static string Cat(VkFs fs, string path)
    {
        var (err, text) = Read(fs, path);
        Assert.True(err == 0, $"{path}: {err}");
        return text;
    }

    private static void Same(string expected, string actual, string what)
    {
        if (expected != actual)
            Assert.Fail($"{what} differs from the kernel:\n{E2E.Diff.Unified(expected, actual)}");
    }

    private static byte[] Mac(params byte[] b) => b;

    /// <summary>snapshot.sh's /proc/net setup, in a namespace of a fresh kernel.</summary>
    private static (VkFs Fs, Net Net) ProcNetSetup()
    {
        var k = ModelHelpers.NewKernel(out _);
        var net = k.CreateNet();
        var (dev, err) = net.RtnlNewLink(LinkOps.Get("veth")!, new LinkConfig { Name = "v0", Address = Mac(2, 0, 0, 0, 0, 1) },
            new VethConfig { Peer = new LinkConfig { Name = "v1", Address = Mac(2, 0, 0, 0, 0, 2) } });
        Assert.False(err.Failed, err.ToString());
        var v0 = dev!;
        var v1 = net.GetDevice("v1")!;
        v0.Ip6!.Cnf[DEVCONF_ADDR_GEN_MODE] = IN6_ADDR_GEN_MODE_NONE;
        v1.Ip6!.Cnf[DEVCONF_ADDR_GEN_MODE] = IN6_ADDR_GEN_MODE_NONE;
        k.RunDeferred();
        ModelHelpers.Up(net.Loopback);
        ModelHelpers.Up(v0);
        ModelHelpers.Up(v1);
        Add4(v0, "192.0.2.1", 24);
        Assert.False(net.Ipv6.Inet6AddrAdd(v0, new Ifa6Config { Pfx = Inet.ParseV6("2001:db8::1"), Plen = 64, IfaFlags = (uint)IFA_F_NODAD }).Failed);
        k.RunDeferred();
        Add4(v1, "198.51.100.1", 24);
        var main = net.Ipv4.GetTable((uint)RT_TABLE_MAIN)!;
        var e = net.Ipv4.FibTableInsert(main, new FibConfig
        {
            Dst = Inet.ParseV4("203.0.113.0"), DstLen = 24, Table = (uint)RT_TABLE_MAIN, Protocol = (byte)RTPROT_BOOT,
            Type = (byte)RTN_UNICAST, Gateway = Inet.ParseV4("192.0.2.254"), GwFamily = (byte)AF_INET, Oif = v0.Ifindex,
            NlFlags = (ushort)(NLM_F_CREATE | NLM_F_EXCL),
        }, out _);
        Assert.False(e.Failed, e.ToString());
        e = net.Ipv6.Ip6RouteAdd(new Fib6Config
        {
            Table = (uint)RT_TABLE_MAIN, Metric = 1024, Dst = Inet.ParseV6("2001:db8:100::"), DstLen = 48,
            Gateway = Inet.ParseV6("2001:db8::ff"), HasGateway = true, Flags = (uint)(RTF_UP | RTF_GATEWAY), Ifindex = v0.Ifindex,
            NlFlags = (ushort)(NLM_F_CREATE | NLM_F_EXCL),
        }, out _);
        Assert.False(e.Failed, e.ToString());
        k.RunDeferred();
        return (new VkFs(k), net);
    }

    private static void Add4(NetDevice dev, string a, byte plen)
    {
        uint x = Inet.ParseV4(a);
        var ifa = new InIfAddr { Dev = dev, Local = x, Address = x, PrefixLen = plen, Mask = Inet.Mask4(plen), Label = dev.Name };
        var e = dev.Net.Ipv4.NewAddr(dev.Ip4!, ifa, IfAddr.InfinityLifeTime, IfAddr.InfinityLifeTime, (ushort)(NLM_F_CREATE | NLM_F_EXCL));
        Assert.False(e.Failed, e.ToString());
    }

    /// <summary>The counters of /proc/net/dev are traffic (the kernel's veth ends exchanged an MLD
    /// report): compared as zeros.</summary>
    private static string ZeroCounters(string dev) =>
        string.Join('\n', dev.Split('\n').Select(l => l.Contains(':') && !l.Contains('|') ? Regex.Replace(l, @"(?<=:\s*)[\d ]+$", m => Regex.Replace(m.Value, @"\d+", x => new string(' ', x.Length - 1) + "0")) : l));

    /// <summary>fib6_ref counts references the kernel takes for its own caches: not compared.</summary>
    private static string MaskRefcnt(string ipv6Route) =>
        Regex.Replace(ipv6Route, @"^((?:\S+ ){6})\S+", "$1REF", RegexOptions.Multiline);

    [Fact]
    public void ProcNetFilesEqualTheKernels()
    {
        var (fs, net) = ProcNetSetup();
        var snap = Sections("proc-net-files.txt");
        string ns = $"ns/{net.Id}/proc/net/";
        Same(ZeroCounters(snap["cat /proc/net/dev"]), ZeroCounters(Cat(fs, ns + "dev")), "dev");
        foreach (var f in new[] { "route", "if_inet6", "fib_trie", "fib_triestat", "dev_mcast", "igmp", "igmp6", "unix", "packet", "ptype" })
            Same(snap["cat /proc/net/" + f], Cat(fs, ns + f), f);
        Same(MaskRefcnt(snap["cat /proc/net/ipv6_route"]), MaskRefcnt(Cat(fs, ns + "ipv6_route")), "ipv6_route");
        Same(snap["/proc/net/snmp header lines (values are counters and are not shown)"],
            string.Concat(Cat(fs, ns + "snmp").Split('\n').Where((_, i) => i % 2 == 0).Where(l => l.Length > 0).Select(l => l + "\n")), "snmp headers");
        Same(snap["/proc/net/netstat header lines"],
            string.Concat(Cat(fs, ns + "netstat").Split('\n').Where((_, i) => i % 2 == 0).Where(l => l.Length > 0).Select(l => l + "\n")), "netstat headers");
        // Icmp6OutType143 (per-type counters appear once non-zero) counts the kernel's MLD reports
        Same(snap["/proc/net/snmp6 counter names"].Replace("Icmp6OutType143\n", ""),
            string.Concat(Cat(fs, ns + "snmp6").Split('\n').Where(l => l.Length > 0).Select(l => l.Split(' ', '\t')[0] + "\n")), "snmp6 names");
        Same(snap["ls /proc/net/dev_snmp6"], string.Concat(((FsDir)Node(fs, ns + "dev_snmp6")).List().Select(kv => kv.Key).Order(StringComparer.Ordinal).Select(n => n + "\n")), "dev_snmp6");
        Same(snap["ls /proc/net/stat"], string.Concat(((FsDir)Node(fs, ns + "stat")).List().Select(kv => kv.Key).Order(StringComparer.Ordinal).Select(n => n + "\n")), "stat");
        // the file list: type, mode, path (two levels)
        var sb = new StringBuilder();
        var entries = new List<(string Path, FsNode Node)>();
        foreach (var (name, n) in ((FsDir)Node(fs, ns)).List())
        {
            entries.Add(("/proc/net/" + name, n));
            if (n is FsDir d)
                foreach (var (sub, sn) in d.List()) entries.Add(($"/proc/net/{name}/{sub}", sn));
        }
        foreach (var (p, n) in entries.OrderBy(e => e.Path, StringComparer.Ordinal))
            sb.Append(n is FsDir ? "directory" : "regular_empty_file").Append(' ').Append(Convert.ToString(n.Mode, 8)).Append(' ').Append(p).Append('\n');
        Same(snap["file list: TYPE MODE PATH (find /proc/net/ -maxdepth 2)"], sb.ToString(), "file list");
    }

    /// <summary>snapshot.sh's /sys/class/net setup without the bridge (a kind of another branch):
    /// lo and the veth end v0 (up, with an address) are compared.</summary>
    [Fact]
    public void SysClassNetAttributesEqualTheKernels()
    {
        var k = ModelHelpers.NewKernel(out _);
        var net = k.CreateNet();
        var (v0, err) = net.RtnlNewLink(LinkOps.Get("veth")!, new LinkConfig { Name = "v0", Address = Mac(2, 0, 0, 0, 0, 1) },
            new VethConfig { Peer = new LinkConfig { Name = "v1", Address = Mac(2, 0, 0, 0, 0, 2) } });
        Assert.False(err.Failed, err.ToString());
        var v1 = net.GetDevice("v1")!;
        v0!.Ip6!.Cnf[DEVCONF_ADDR_GEN_MODE] = IN6_ADDR_GEN_MODE_NONE;
        v1.Ip6!.Cnf[DEVCONF_ADDR_GEN_MODE] = IN6_ADDR_GEN_MODE_NONE;
        k.RunDeferred();
        ModelHelpers.Up(v0);
        ModelHelpers.Up(v1);
        Add4(v0, "192.0.2.1", 24);
        k.RunDeferred();
        var fs = new VkFs(k);
        var snap = Sections("sys-class-net.txt");
        foreach (var dev in new[] { "lo", "v0" })
        {
            var sb = new StringBuilder();
            var dir = (FsDir)Node(fs, $"ns/{net.Id}/sys/devices/virtual/net/{dev}");
            var files = new List<(string, FsNode)>();
            void Walk(FsDir d, string prefix)
            {
                foreach (var (name, n) in d.List())
                {
                    string p = prefix + name;
                    if (p == "statistics") continue;
                    if (n is FsDir sub) Walk(sub, p + "/");
                    else files.Add((p, n));
                }
            }
            Walk(dir, "");
            foreach (var (p, n) in files.OrderBy(f => f.Item1, StringComparer.Ordinal))
            {
                if (n is FsSymlink l) { sb.Append($"{p} -> {l.Target}\n"); continue; }
                string mode = Convert.ToString(n.Mode, 8);
                if ((n.Mode & 0x124) == 0) { sb.Append($"{p} ({mode}) <write-only>\n"); continue; }
                int e = ((FsFile)n).Read(Root, out var c);
                if (e < 0)
                {
                    string msg = -e switch { 22 => "Invalid argument", 5 => "Input/output error", 2 => "No such file or directory", _ => $"errno {-e}" };
                    sb.Append($"{p} ({mode}) <error: {msg}>\n");
                }
                else sb.Append($"{p} ({mode}) = {Encoding.UTF8.GetString(c).TrimEnd('\n').Replace("\n", "\\n")}\n");
            }
            Same(snap[$"/sys/class/net/{dev}/"], sb.ToString(), dev);
        }
        var links = string.Concat(((FsDir)Node(fs, $"ns/{net.Id}/sys/class/net")).List()
            .Select(kv => $"lrwxrwxrwx {kv.Key} -> {((FsSymlink)kv.Value).Target}\n"));
        Assert.Equal("lrwxrwxrwx lo -> ../../devices/virtual/net/lo\nlrwxrwxrwx v1 -> ../../devices/virtual/net/v1\nlrwxrwxrwx v0 -> ../../devices/virtual/net/v0\n", links);
    }
}
