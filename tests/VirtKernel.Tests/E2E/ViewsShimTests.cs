using Mono.Unix.Native;

namespace VirtKernel.Tests.E2E;

/// <summary>The views at the kernel's paths: unmodified procps `sysctl`, `cat`, `ls` and `ip` under the
/// shim, as an unprivileged user, see and change the namespace they run in through /proc/sys/net,
/// /proc/net and /sys/class/net — never the host's. Expected texts are what the kernel prints for
/// the same commands in a fresh network namespace.</summary>
[Collection("e2e")]
public class ViewsShimTests(VkEnvironment env)
{
    private (string Output, int Status) Run(DaemonProcess d, params string[] argv) => env.Run(argv, d.Socket);

    private string Ok(DaemonProcess d, params string[] argv)
    {
        var (o, rc) = Run(d, argv);
        Assert.True(rc == 0, $"`{string.Join(' ', argv)}` failed ({rc}): {o}");
        return o;
    }

    private const string Sysctl = "/usr/sbin/sysctl";

    /// <summary>A file the test user can read.</summary>
    private string File(string name, string content)
    {
        var dir = Path.Combine(env.Dir, "conf-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        Syscall.chmod(dir, (FilePermissions)Convert.ToUInt32("755", 8));
        var path = Path.Combine(dir, name);
        System.IO.File.WriteAllText(path, content);
        Syscall.chmod(path, (FilePermissions)Convert.ToUInt32("644", 8));
        return path;
    }

    [Fact]
    public void SysctlReadsAndWritesTheModel()
    {
        using var d = new DaemonProcess(env);
        Assert.Equal("net.ipv4.ip_forward = 0\n", Ok(d, Sysctl, "net.ipv4.ip_forward"));
        Assert.Equal("0\n", Ok(d, Sysctl, "-n", "net.ipv4.conf.lo.forwarding"));
        Assert.Equal("net.ipv4.ip_forward = 1\n", Ok(d, Sysctl, "-w", "net.ipv4.ip_forward=1"));
        // the same state as netlink's
        Assert.StartsWith("inet lo forwarding on ", Ok(d, VkEnvironment.Ip, "-4", "netconf", "show", "dev", "lo"));
        Assert.Equal("net.ipv4.conf.all.forwarding = 1\n", Ok(d, Sysctl, "net.ipv4.conf.all.forwarding"));
        // the kernel's errors, as sysctl reports them
        Assert.Equal(("sysctl: setting key \"net.ipv4.conf.lo.rp_filter\": Invalid argument\n", 1),
            Run(d, Sysctl, "-w", "net.ipv4.conf.lo.rp_filter=abc"));
        Assert.Equal(("sysctl: cannot stat /proc/sys/net/ipv4/nosuch: No such file or directory\n", 1),
            Run(d, Sysctl, "net.ipv4.nosuch"));
        // read-only outside the initial namespace; sysctl then prints the errno its realpath left
        Assert.Equal(("sysctl: setting key \"net.core.wmem_max\": Invalid argument\n", 0),
            Run(d, Sysctl, "-w", "net.core.wmem_max=1048576"));
        // a value read right after a write by another process is the new one
        Ok(d, Sysctl, "-q", "-w", "net.ipv4.conf.lo.rp_filter=2");
        Assert.Equal("2\n", Ok(d, Sysctl, "-n", "net.ipv4.conf.lo.rp_filter"));
        Ok(d, "sh", "-c", $"{Sysctl} -q -w net.ipv4.conf.lo.rp_filter=1 && {Sysctl} -n net.ipv4.conf.lo.rp_filter > /dev/null");
        Assert.Equal("1\n", Ok(d, Sysctl, "-n", "net.ipv4.conf.lo.rp_filter"));
        // the names a new device brings, and take away
        Ok(d, VkEnvironment.Ip, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
        Assert.Equal("net.ipv4.conf.v0.forwarding = 1\n", Ok(d, Sysctl, "net.ipv4.conf.v0.forwarding"));
        Ok(d, VkEnvironment.Ip, "link", "del", "v0");
        Assert.Equal(("sysctl: cannot stat /proc/sys/net/ipv4/conf/v0/forwarding: No such file or directory\n", 1),
            Run(d, Sysctl, "net.ipv4.conf.v0.forwarding"));
    }

    [Fact]
    public void SysctlAllListsTheNamespacesTree()
    {
        using var d = new DaemonProcess(env);
        Ok(d, VkEnvironment.Ip, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
        var (all, _) = Run(d, Sysctl, "-a");
        var net = all.Split('\n').Where(l => l.StartsWith("net.")).ToList();
        // what the mount holds, read directly: every file with a read bit, but the unset
        // stable_secrets, whose read fails (EIO) and which sysctl skips silently, and the names
        // sysctl hides unless --deprecated
        string root = d.Socket + ".d/fs/ns/0/proc/sys/";
        var (listing, rc) = env.Run(["sh", "-c",
            $"cd {root} && find net -type f -perm -0400 ! -name stable_secret ! -name base_reachable_time " +
            "! -name retrans_time | LC_ALL=C sort | " +
            "while read f; do printf '%s = %s\\n' \"$(echo $f | tr / .)\" \"$(cat $f)\"; done"], null, shim: false);
        Assert.Equal(0, rc);
        var expected = listing.TrimEnd('\n').Split('\n').ToList();
        // 584 + 2 x 130 files, less the two route/flush (write-only), five stable_secrets and the
        // two deprecated names of the six neigh directories (IPv4 and IPv6 of lo, v0, v1)
        Assert.Equal(584 + 2 * 130 - 2 - 5 - 12, expected.Count);
        Assert.Equal(expected, net.Order(StringComparer.Ordinal).ToList());
        // the rest of /proc/sys is the host's
        Assert.Contains(all.Split('\n'), l => l.StartsWith("kernel."));
        // as the names: -N, and -a with a pattern
        Assert.Equal("net.ipv4.conf.v0.rp_filter\nnet.ipv4.conf.v1.rp_filter\n",
            Ok(d, Sysctl, "-N", "-a", "-r", "^net\\.ipv4\\.conf\\.v.\\.rp_filter$"));
    }

    [Fact]
    public void SysctlLoadsFilesWithWildcards()
    {
        using var d = new DaemonProcess(env);
        Ok(d, VkEnvironment.Ip, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
        string conf = File("10-net.conf",
            "# wildcards expand with glob; a leading - excludes a key from them\n" +
            "net.ipv4.conf.*.rp_filter = 2\n" +
            "-net.ipv4.conf.lo.rp_filter\n" +
            "net.ipv4.conf.v1.rp_filter = 0\n" +
            "net.ipv6.conf.v?.hop_limit = 33\n" +
            "net.ipv4.ip_forward = 1\n");
        File("unrelated", "");
        Assert.Equal(
            "net.ipv4.conf.all.rp_filter = 2\nnet.ipv4.conf.default.rp_filter = 2\nnet.ipv4.conf.v0.rp_filter = 2\n" +
            "net.ipv4.conf.v1.rp_filter = 0\n" +
            "net.ipv6.conf.v0.hop_limit = 33\nnet.ipv6.conf.v1.hop_limit = 33\n" +
            "net.ipv4.ip_forward = 1\n",
            Ok(d, Sysctl, "-p", conf));
        Assert.Equal("2\n0\n33\n", Ok(d, Sysctl, "-n", "net.ipv4.conf.v0.rp_filter", "net.ipv4.conf.v1.rp_filter", "net.ipv6.conf.v1.hop_limit"));
        // the files themselves by a pattern (sysctl globs them, as --system does its directories)
        string other = File("20-more.conf", "net.ipv6.conf.all.hop_limit = 44\n");
        Assert.Equal("net.ipv6.conf.all.hop_limit = 44\n",
            Ok(d, Sysctl, "-p", Path.Combine(Path.GetDirectoryName(other)!, "*.conf")));
        Assert.Equal("44\n", Ok(d, Sysctl, "-n", "net.ipv6.conf.all.hop_limit"));
    }

    [Fact]
    public void ProcNetAndSysClassNetAreTheNamespaces()
    {
        using var d = new DaemonProcess(env);
        Ok(d, VkEnvironment.Ip, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
        string dev = Ok(d, "cat", "/proc/net/dev");
        Assert.StartsWith("Inter-|   Receive ", dev);
        Assert.Contains("\n    v0:", dev);
        Assert.DoesNotContain("eth0", dev);
        Assert.Equal(dev, Ok(d, "cat", "/proc/self/net/dev"));
        Assert.Equal("lo\nv0\nv1\n", Ok(d, "ls", "/sys/class/net"));
        Assert.Equal("../../devices/virtual/net/v0\n", Ok(d, "readlink", "/sys/class/net/v0"));
        Assert.Equal("/sys/devices/virtual/net/v0\n", Ok(d, "realpath", "/sys/class/net/v0"));
        Assert.Equal("1500\n", Ok(d, "cat", "/sys/class/net/v0/mtu"));
        Assert.Equal("self/net\n", Ok(d, "readlink", "/proc/net"));
        // ip's own uses: the route cache flush (a write to /proc/sys/net/ipv4/route/flush) and
        // the multicast lists of /proc/net
        Assert.Equal("", Ok(d, VkEnvironment.Ip, "route", "flush", "cache"));
        Assert.Equal("1:\tlo\n\tinet6 ff02::1\n\tinet6 ff01::1\n", Ok(d, VkEnvironment.Ip, "maddr", "show", "dev", "lo"));
        Ok(d, VkEnvironment.Ip, "link", "set", "lo", "up");
        Assert.Equal("1:\tlo\n\tinet  224.0.0.1\n\tinet6 ff02::1\n\tinet6 ff01::1\n", Ok(d, VkEnvironment.Ip, "maddr", "show", "dev", "lo"));
    }

    [Fact]
    public void IpNetnsExecSeesTheNamespacesTree()
    {
        using var d = new DaemonProcess(env);
        string x = "vkv" + Environment.ProcessId % 100000;
        Ok(d, VkEnvironment.Ip, "netns", "add", x);
        Ok(d, VkEnvironment.Ip, "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", x);
        Assert.Equal("net.ipv4.ip_forward = 1\n", Ok(d, VkEnvironment.Ip, "netns", "exec", x, Sysctl, "-w", "net.ipv4.ip_forward=1"));
        Assert.Equal("1\n", Ok(d, VkEnvironment.Ip, "netns", "exec", x, Sysctl, "-n", "net.ipv4.ip_forward"));
        Assert.Equal("0\n", Ok(d, Sysctl, "-n", "net.ipv4.ip_forward"));
        Assert.Equal("all\ndefault\nlo\nv1\n", Ok(d, VkEnvironment.Ip, "netns", "exec", x, "ls", "/proc/sys/net/ipv4/conf"));
        Assert.Equal("all\ndefault\nlo\nv0\n", Ok(d, "ls", "/proc/sys/net/ipv4/conf"));
        Assert.Equal("lo\nv1\n", Ok(d, VkEnvironment.Ip, "netns", "exec", x, "ls", "/sys/class/net"));
        Assert.Contains("    v1:", Ok(d, VkEnvironment.Ip, "netns", "exec", x, "cat", "/proc/net/dev"));
        // a wildcard write inside reaches only that namespace
        Ok(d, VkEnvironment.Ip, "netns", "exec", x, "sh", "-c", $"echo 'net.ipv4.conf.*.rp_filter = 2' | {Sysctl} -q -p -");
        Assert.Equal("2\n", Ok(d, VkEnvironment.Ip, "netns", "exec", x, Sysctl, "-n", "net.ipv4.conf.v1.rp_filter"));
        Assert.Equal("0\n", Ok(d, Sysctl, "-n", "net.ipv4.conf.v0.rp_filter"));
        // /proc/PID/net of a process inside is that namespace's
        using var sleeper = env.Start([VkEnvironment.Ip, "netns", "exec", x, "sleep", "30"], d.Socket);
        string pids = "";
        for (int i = 0; i < 100 && !pids.Split('\n').Contains(sleeper.Id.ToString()); i++)
        {
            Thread.Sleep(50);
            pids = Run(d, VkEnvironment.Ip, "netns", "pids", x).Output;
        }
        Assert.Equal("lo\nv1\n", Ok(d, "sh", "-c", $"cut -d: -f1 /proc/{sleeper.Id}/net/dev | tail -n +3 | tr -d ' '"));
        sleeper.Kill();
        sleeper.WaitForExit();
        Ok(d, VkEnvironment.Ip, "netns", "del", x);
    }

    [Fact]
    public void WithoutViewsNothingOfTheHostShows()
    {
        using var d = new DaemonProcess(env, asTestUser: true, options: ["--no-views"]);
        Assert.Equal(("sysctl: cannot stat /proc/sys/net/ipv4/ip_forward: Operation not supported\n", 1),
            Run(d, Sysctl, "net.ipv4.ip_forward"));
        var (o, rc) = Run(d, "cat", "/proc/net/dev");
        Assert.NotEqual(0, rc);
        Assert.Contains("Operation not supported", o);
        Assert.NotEqual(0, Run(d, "ls", "/sys/class/net").Status);
        // ip itself does not need them
        Ok(d, VkEnvironment.Ip, "link", "show", "lo");
    }
}
