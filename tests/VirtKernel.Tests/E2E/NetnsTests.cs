using System.Diagnostics;

namespace VirtKernel.Tests.E2E;

/// <summary>Network namespaces end to end, unprivileged: the real `ip netns`, `ip -n`, `ip netns
/// exec` and pyroute2 under the shim against a daemon, with the host untouched — no file under the
/// host's /run/netns, no namespace of the host kernel (the processes "inside" stay in the host's
/// network and mount namespaces), no device on the host.</summary>
[Collection("e2e")]
public class NetnsTests(VkEnvironment env)
{
    private (string Output, int Status) Ip(DaemonProcess d, params string[] args) =>
        env.Run([VkEnvironment.Ip, .. args], d.Socket);

    private void IpOk(DaemonProcess d, params string[] args)
    {
        var (o, rc) = Ip(d, args);
        Assert.True(rc == 0, $"ip {string.Join(' ', args)} failed under the shim: {o}");
    }

    private static string Name(string tag) => $"vkt{tag}{Environment.ProcessId % 100000}";

    private static string[] HostRunNetns() =>
        Directory.Exists("/run/netns") ? Directory.GetFileSystemEntries("/run/netns").Select(p => Path.GetFileName(p)).ToArray() : [];

    /// <summary>What the host kernel says about a process's namespaces (no shim involved).</summary>
    private static string HostNs(int pid, string kind)
    {
        var link = new FileInfo($"/proc/{pid}/ns/{kind}").LinkTarget;
        return link ?? throw new InvalidOperationException($"no /proc/{pid}/ns/{kind}");
    }

    private static void WaitFor(Func<bool> cond, string what, DaemonProcess? d = null)
    {
        var sw = Stopwatch.StartNew();
        while (!cond())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(15)) Assert.Fail("timed out waiting for " + what + (d != null ? "\n" + d.Status() : ""));
            Thread.Sleep(50);
        }
    }

    [Fact]
    public void NamespacesLiveInTheDaemonAndTheHostIsUntouched()
    {
        using var d = new DaemonProcess(env);
        string a = Name("a"), b = Name("b");
        var hostBefore = HostRunNetns();
        string hostNet = HostNs(Environment.ProcessId, "net"), hostMnt = HostNs(Environment.ProcessId, "mnt");

        IpOk(d, "netns", "add", a);
        IpOk(d, "netns", "add", b);
        var (list, _) = Ip(d, "netns", "list");
        Assert.Equal($"{b}\n{a}\n", list); // newest first, as on the kernel's tmpfs
        Assert.DoesNotContain(a, HostRunNetns());
        Assert.DoesNotContain(b, HostRunNetns());

        // a process inside a (ip netns exec execs it in place: same pid)
        using var sleeper = env.Start([VkEnvironment.Ip, "netns", "exec", a, "sleep", "30"], d.Socket);
        WaitFor(() => Ip(d, "netns", "pids", a).Output.Split('\n').Contains(sleeper.Id.ToString()), "ip netns pids");
        Assert.Equal(a + "\n", Ip(d, "netns", "identify", sleeper.Id.ToString()).Output);
        // ... as far as VirtKernel is concerned: the host kernel made no namespace for it
        Assert.Equal(hostNet, HostNs(sleeper.Id, "net"));
        Assert.Equal(hostMnt, HostNs(sleeper.Id, "mnt"));

        // a veth across the two; the name of the other end's namespace is shown
        IpOk(d, "-n", a, "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", b);
        Assert.Contains("link-netns " + a, Ip(d, "-n", b, "link", "show", "v1").Output);
        Assert.Contains("link-netns " + b, Ip(d, "-n", a, "link", "show", "v0").Output);

        // the name goes; the process still holds the namespace, so the veth stays
        IpOk(d, "netns", "del", a);
        Assert.Equal($"{b}\n", Ip(d, "netns", "list").Output);
        Assert.Equal(0, Ip(d, "-n", b, "link", "show", "v1").Status);

        // the process exits: the namespace is torn down, taking the peer in b with it
        sleeper.Kill();
        sleeper.WaitForExit();
        WaitFor(() => Ip(d, "-n", b, "link", "show", "v1").Status != 0, "the peer to go with its namespace", d);
        Assert.Contains("\nnamespaces 2\n", d.Status());
        IpOk(d, "netns", "del", b);
        WaitFor(() => d.Status().Contains("\nnamespaces 1\n"), "the last namespace to go");

        Assert.Equal(hostBefore.Order(), HostRunNetns().Order());
        var (hostLinks, rc) = env.Run([VkEnvironment.Ip, "link", "show"], null, shim: false);
        Assert.Equal(0, rc);
        Assert.DoesNotContain("v0@", hostLinks);
        Assert.DoesNotContain("v1@", hostLinks);
    }

    [Fact]
    public void IdsAndMovesBetweenNamespaces()
    {
        using var d = new DaemonProcess(env);
        string a = Name("i"), b = Name("j");
        IpOk(d, "netns", "add", a);
        IpOk(d, "netns", "add", b);
        IpOk(d, "netns", "set", a, "7");
        Assert.Equal("nsid 7 (iproute2 netns name: " + a + ")\n", Ip(d, "netns", "list-id").Output);
        var (dup, rc) = Ip(d, "netns", "set", b, "7");
        Assert.Equal(2, rc);
        Assert.Equal("Error: The specified nsid is already used.\n", dup);
        IpOk(d, "netns", "set", b, "auto");
        Assert.Contains($"{b} (id: 0)\n", Ip(d, "netns", "list").Output);

        // IFLA_NET_NS_PID: a device moved to the namespace of a process
        using var sleeper = env.Start([VkEnvironment.Ip, "netns", "exec", b, "sleep", "30"], d.Socket);
        WaitFor(() => Ip(d, "netns", "identify", sleeper.Id.ToString()).Output == b + "\n", "the process to enter " + b);
        IpOk(d, "-n", a, "link", "add", "m0", "type", "veth", "peer", "name", "m1");
        IpOk(d, "-n", a, "link", "set", "m1", "netns", sleeper.Id.ToString());
        Assert.Contains("m1@", Ip(d, "-n", b, "link", "show").Output);
        sleeper.Kill();
        sleeper.WaitForExit();

        // lo stays where it is
        var (lo, lrc) = Ip(d, "-n", a, "link", "set", "lo", "netns", b);
        Assert.Equal(2, lrc);
        Assert.Equal("Error: The interface netns is immutable.\n", lo);

        // `vk run --netns NAME -- CMD`: the shim enters the namespace as CMD starts
        var (inside, irc) = env.Run(["env", "VIRTKERNEL_NETNS_ENTER=" + b, VkEnvironment.Ip, "netns", "identify"], d.Socket);
        Assert.Equal(0, irc);
        Assert.Equal(b + "\n", inside);
        // (through env: the shell the harness starts the command with is under the shim too)
        var (none, nrc) = env.Run(["env", "VIRTKERNEL_NETNS_ENTER=nosuch", VkEnvironment.Ip, "link"], d.Socket);
        Assert.Equal(1, nrc);
        Assert.Contains("cannot enter network namespace \"nosuch\"", none);

        IpOk(d, "netns", "del", a);
        IpOk(d, "netns", "del", b);
        WaitFor(() => d.Status().Contains("\nnamespaces 1\n"), "the namespaces to go");
    }

    [Fact]
    public void Pyroute2ReachesTheWrappersThroughCtypes()
    {
        Assert.True(File.Exists("/usr/bin/python3"), "python3 is needed (tests/run-tests.sh installs it)");
        using var d = new DaemonProcess(env);
        string ns = Name("py");
        var script = Path.Combine(env.Dir, $"pyroute2-{ns}.py");
        File.WriteAllText(script, $$"""
            from pyroute2 import netns, IPRoute, NetNS
            netns.create('{{ns}}')
            print(sorted(netns.listnetns()))
            ipr = IPRoute()
            ipr.link('add', ifname='pv0', kind='veth', peer={'ifname': 'pv1', 'net_ns_fd': '{{ns}}'})
            print([l.get_attr('IFLA_IFNAME') for l in ipr.get_links()])
            ipr.close()
            ns = NetNS('{{ns}}')
            print([l.get_attr('IFLA_IFNAME') for l in ns.get_links()])
            ns.close()
            netns.pushns('{{ns}}')
            ipr = IPRoute()
            print([l.get_attr('IFLA_IFNAME') for l in ipr.get_links()])
            ipr.close()
            netns.popns()
            netns.remove('{{ns}}')
            print(sorted(netns.listnetns()))
            """);
        Mono.Unix.Native.Syscall.chmod(script, (Mono.Unix.Native.FilePermissions)Convert.ToUInt32("644", 8));
        var (o, rc) = env.Run(["/usr/bin/python3", script], d.Socket, timeoutMs: 60_000);
        Assert.True(rc == 0, "pyroute2 failed under the shim:\n" + o);
        Assert.Equal($"['{ns}']\n['lo', 'pv0']\n['lo', 'pv1']\n['lo', 'pv1']\n[]\n", o);
        Assert.DoesNotContain(ns, HostRunNetns());
        // the namespace went with its name: its end of the veth, and so the pair
        WaitFor(() => !Ip(d, "link", "show").Output.Contains("pv0"), "the veth to go with the namespace");
    }
}
