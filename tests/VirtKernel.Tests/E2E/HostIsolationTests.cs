namespace VirtKernel.Tests.E2E;

/// <summary>What clients do under the shim never reaches the host kernel: devices, addresses and
/// routes made through VirtKernel exist in the daemon and nowhere on the host.</summary>
[Collection("e2e")]
public class HostIsolationTests(VkEnvironment env)
{
    [Fact]
    public void ChangesMadeThroughTheShimStayInTheDaemon()
    {
        using var daemon = new DaemonProcess(env);
        string a = "vkiso" + Environment.ProcessId % 10000, b = a + "p";
        string[][] steps =
        [
            ["link", "add", a, "type", "veth", "peer", "name", b],
            ["link", "set", a, "up"],
            ["link", "set", b, "up"],
            ["link", "set", "lo", "up"],
            ["addr", "add", "198.51.100.123/24", "dev", a],
            ["addr", "add", "2001:db8:77::1/64", "dev", a, "nodad"],
            ["addr", "add", "203.0.113.99/32", "dev", "lo"],
        ];
        foreach (var s in steps)
        {
            var (o, rc) = env.Run([VkEnvironment.Ip, .. s], daemon.Socket);
            Assert.True(rc == 0, $"ip {string.Join(' ', s)} failed under the shim: {o}");
        }

        // the daemon holds them
        var (inside, _) = env.Run([VkEnvironment.Ip, "addr", "show"], daemon.Socket);
        Assert.Contains(a + "@" + b, inside);
        Assert.Contains("198.51.100.123/24", inside);
        Assert.Contains("203.0.113.99/32", inside);
        var (insideRoutes, _) = env.Run([VkEnvironment.Ip, "route", "show", "table", "all"], daemon.Socket);
        Assert.Contains("198.51.100.0/24 dev " + a, insideRoutes);

        // the host does not: ask the real kernel without the shim, and look at sysfs
        Assert.False(Directory.Exists("/sys/class/net/" + a), "the device appeared on the host");
        Assert.False(Directory.Exists("/sys/class/net/" + b), "the peer appeared on the host");
        var (hostAddrs, rc1) = env.Run([VkEnvironment.Ip, "addr", "show"], null, shim: false);
        Assert.Equal(0, rc1);
        Assert.DoesNotContain("198.51.100.123", hostAddrs);
        Assert.DoesNotContain("203.0.113.99", hostAddrs);
        Assert.DoesNotContain("2001:db8:77::1", hostAddrs);
        Assert.DoesNotContain(a, hostAddrs);
        var (hostRoutes, rc2) = env.Run([VkEnvironment.Ip, "route", "show", "table", "all"], null, shim: false);
        Assert.Equal(0, rc2);
        Assert.DoesNotContain("198.51.100.", hostRoutes);
        Assert.DoesNotContain("2001:db8:77::", hostRoutes);
    }

    [Fact]
    public void WithoutADaemonNothingFallsBackToTheHost()
    {
        // a socket path nobody listens on: ip must fail, not talk to the host kernel
        var dir = env.NewSocketDir();
        var (o, rc) = env.Run([VkEnvironment.Ip, "link", "show"], Path.Combine(dir, "nobody.sock"));
        Directory.Delete(dir, recursive: true);
        Assert.NotEqual(0, rc);
        Assert.Contains("virtkernel: cannot reach the daemon", o);
        Assert.DoesNotContain("lo:", o);
    }
}
