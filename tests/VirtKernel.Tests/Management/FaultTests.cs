using System.Diagnostics;
using VirtKernel.Daemon.Management;
using VirtKernel.Tests.E2E;

namespace VirtKernel.Tests.Management;

/// <summary>Injected faults as the unmodified `ip` sees them, and the determinism of the rules.</summary>
[Collection("e2e")]
public class FaultTests(VkEnvironment env)
{
    [Fact]
    public void IpLinkAddFailsWithTheInjectedExtack()
    {
        using var d = new ManagedDaemon(env);
        var (id, rc) = d.Vk("fault", "add", "--type", "RTM_NEWLINK", "--errno", "ENOSPC", "--extack", "injected failure", "--every", "--nth", "1");
        Assert.True(rc == 0, id);
        Assert.Equal("1\n", id);
        var (o, st) = d.Ip("link", "add", "d0", "type", "dummy");
        Assert.Equal("Error: injected failure.\n", o);
        Assert.Equal(2, st);
        // nothing was made
        Assert.Equal("1: lo: <LOOPBACK> mtu 65536 qdisc noop state DOWN mode DEFAULT group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n",
            d.Ip("link", "show").Output);
        Assert.Equal("1 removed\n", d.Vk("fault", "clear").Output);
        Assert.Equal(0, d.Ip("link", "add", "d0", "type", "dummy").Status);
    }

    [Fact]
    public void AnInterruptedDumpMakesIpWarnAsOnTheKernel()
    {
        using var d = new ManagedDaemon(env);
        Assert.Equal(0, d.Vk("fault", "add", "--action", "dump-intr", "--type", "RTM_GETLINK", "--nth", "1").Status);
        // iproute2 6.1 (rtnl_dump_filter_l): the dump is printed, then the warning on stderr (which,
        // unbuffered, comes out first when both go to a pipe), and ip succeeds
        var (o, st) = d.Ip("-br", "link", "show");
        Assert.Equal(0, st);
        Assert.Equal("Dump was interrupted and may be inconsistent.\nlo               DOWN           00:00:00:00:00:00 <LOOPBACK> \n", o);
        // the Nth only
        Assert.Equal("lo               DOWN           00:00:00:00:00:00 <LOOPBACK> \n", d.Ip("-br", "link", "show").Output);
    }

    [Fact]
    public void ENobufsReachesASubscribedSocket()
    {
        using var d = new ManagedDaemon(env);
        Assert.Equal(0, d.Ip("link", "add", "d0", "type", "dummy").Status);
        var psi = env.Command(["timeout", "5", VkEnvironment.Ip, "monitor", "link"], d.Socket, shim: true);
        using var mon = Process.Start(psi)!;
        mon.StandardInput.Close();
        var output = mon.StandardOutput.ReadToEndAsync();
        Thread.Sleep(800);
        Assert.Equal(0, d.Vk("fault", "add", "--action", "enobufs", "--type", "RTM_NEWLINK", "--limit", "1").Status);
        Assert.Equal(0, d.Ip("link", "set", "d0", "up").Status);     // dropped: the monitor gets ENOBUFS
        Assert.Equal(0, d.Ip("link", "set", "d0", "mtu", "1400").Status); // delivered
        mon.WaitForExit();
        var text = output.Result;
        // iproute2's rtnl_listen reports the overrun and goes on
        Assert.Contains("netlink receive error No buffer space available (105)\n", text);
        Assert.Contains("d0: <BROADCAST,NOARP,UP,LOWER_UP> mtu 1400", text);
        Assert.DoesNotContain("mtu 1500", text);
    }

    [Fact]
    public void ADelayedReplyArrivesLate()
    {
        using var d = new ManagedDaemon(env);
        Assert.Equal(0, d.Vk("fault", "add", "--action", "delay", "--type", "RTM_GETLINK", "--delay-ms", "800", "--limit", "1").Status);
        var sw = Stopwatch.StartNew();
        var (o, st) = d.Ip("-br", "link", "show");
        Assert.True(sw.ElapsedMilliseconds >= 800, $"answered after {sw.ElapsedMilliseconds} ms");
        Assert.Equal(0, st);
        Assert.StartsWith("lo ", o);
    }

    [Fact]
    public void RulesAreDeterministic()
    {
        static string Run(FaultRule r) => new(Enumerable.Range(0, 200).Select(_ => r.Fire() ? 'x' : '.').ToArray());
        var a = Run(new FaultRule { Probability = 0.25, Seed = 42 });
        var b = Run(new FaultRule { Probability = 0.25, Seed = 42 });
        var c = Run(new FaultRule { Probability = 0.25, Seed = 43 });
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        int n = a.Count(ch => ch == 'x');
        Assert.InRange(n, 25, 75);
        Assert.Equal("..x" + new string('.', 17), Run(new FaultRule { Nth = 3 })[..20]);
        Assert.Equal("..x..x..x.", Run(new FaultRule { Nth = 3, Every = true })[..10]);
        Assert.Equal("xx" + new string('.', 8), Run(new FaultRule { Limit = 2 })[..10]);
    }
}
