using Mono.Unix.Native;

namespace VirtKernel.Tests.E2E;

/// <summary>A test that needs root (mount(2) of the FUSE views); skipped, and said so, otherwise.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (Syscall.getuid() != 0) Skip = "needs root: the daemon mounts its views with mount(2) only as root";
    }
}

/// <summary>The views mounted by a real daemon and used with real tools (ls, cat, echo, find,
/// readlink) while ip runs under the shim: as an unprivileged daemon through fusermount3 (the test
/// user, as in CI), and as root through mount(2).</summary>
[Collection("e2e")]
public class ViewsMountTests(VkEnvironment env)
{
    private static string Fs(DaemonProcess d) => d.Socket + ".d/fs";

    private (string Output, int Status) Sh(string script, bool asTestUser = true) =>
        env.Run(["sh", "-c", script], null, shim: false, asTestUser: asTestUser);

    private string Ok(string script, bool asTestUser = true)
    {
        var (o, rc) = Sh(script, asTestUser);
        Assert.True(rc == 0, $"`{script}` failed ({rc}): {o}");
        return o;
    }

    /// <summary>ip under the shim, as the daemon's own user (who may change its state).</summary>
    private string Ip(DaemonProcess d, params string[] args)
    {
        var (o, rc) = env.Run([VkEnvironment.Ip, .. args], d.Socket, asTestUser: d.AsTestUser);
        Assert.True(rc == 0, $"ip {string.Join(' ', args)} failed ({rc}): {o}");
        return o;
    }

    /// <summary>Where the views are, as /proc/self/mountinfo shows it (SOCKET.d may be a symbolic
    /// link to a directory on /dev/shm).</summary>
    private static string MountPoint(DaemonProcess d) => VirtKernel.SysfsFs.Fuse.FuseMount.Resolve(Fs(d));

    private static bool Mounted(string path) =>
        File.ReadLines("/proc/self/mountinfo").Any(l => l.Split(' ')[4] == path && l.Contains(" - fuse.virtkernel "));

    /// <summary>What both kinds of mount must do.</summary>
    private void UseTheViews(DaemonProcess d, bool asTestUser, bool initNet = false)
    {
        string ns = Fs(d) + "/ns/0";
        Assert.True(Mounted(MountPoint(d)), "the views are not mounted");
        Assert.Equal("all\ndefault\nlo\n", Ok($"ls {ns}/proc/sys/net/ipv4/conf", asTestUser));
        Assert.Equal("0\n", Ok($"cat {ns}/proc/sys/net/ipv4/ip_forward", asTestUser));
        // a write through the file is a change of the model: netlink sees it
        Ok($"echo 1 > {ns}/proc/sys/net/ipv4/ip_forward", asTestUser);
        Assert.StartsWith("inet lo forwarding on ", Ip(d, "-4", "netconf", "show", "dev", "lo"));
        Assert.Equal("1\n", Ok($"cat {ns}/proc/sys/net/ipv4/conf/all/forwarding", asTestUser));
        // kernel errors come back as errno
        var (o, rc) = Sh($"/bin/echo abc > {ns}/proc/sys/net/ipv4/conf/lo/rp_filter", asTestUser);
        Assert.NotEqual(0, rc);
        Assert.Contains("Invalid argument", o);
        Assert.NotEqual(0, Sh($"cat {ns}/proc/sys/net/ipv6/conf/lo/stable_secret", asTestUser).Status);
        // devices appear, move and go
        Ip(d, "link", "add", "v0", "type", "veth", "peer", "name", "v1");
        Assert.Equal("all\ndefault\nlo\nv0\nv1\n", Ok($"ls {ns}/proc/sys/net/ipv4/conf", asTestUser));
        Assert.Equal("1\n", Ok($"cat {ns}/proc/sys/net/ipv4/conf/v0/forwarding", asTestUser)); // from default
        Assert.Equal("../../devices/virtual/net/v0\n", Ok($"readlink {ns}/sys/class/net/v0", asTestUser));
        Assert.Equal("down\n", Ok($"cat {ns}/sys/class/net/v0/operstate", asTestUser));
        Ok($"echo 1400 > {ns}/sys/class/net/v0/mtu", asTestUser);
        Assert.Contains("mtu 1400", Ip(d, "link", "show", "v0"));
        Assert.Equal("1400\n", Ok($"cat {ns}/proc/sys/net/ipv6/conf/v0/mtu", asTestUser));
        Ip(d, "link", "set", "v0", "name", "w0");
        Assert.Equal("all\ndefault\nlo\nv1\nw0\n", Ok($"ls {ns}/proc/sys/net/ipv6/conf", asTestUser));
        Assert.NotEqual(0, Sh($"cat {ns}/proc/sys/net/ipv6/conf/v0/mtu", asTestUser).Status);
        Assert.Contains("    w0:", Ok($"cat {ns}/proc/net/dev", asTestUser));
        Ip(d, "link", "del", "w0");
        Assert.Equal("all\ndefault\nlo\n", Ok($"ls {ns}/proc/sys/net/ipv4/conf", asTestUser));
        // names the kernel had cached: gone at once, and a new device taking one is found
        Assert.NotEqual(0, Sh($"stat {ns}/proc/sys/net/ipv4/conf/v1", asTestUser).Status);
        Assert.NotEqual(0, Sh($"cat {ns}/proc/sys/net/ipv4/conf/v1/forwarding", asTestUser).Status);
        Assert.NotEqual(0, Sh($"test -e {ns}/sys/class/net/v1/mtu", asTestUser).Status);
        Ip(d, "link", "add", "v1", "mtu", "1300", "type", "veth", "peer", "name", "x1");
        Assert.Equal("1\n", Ok($"cat {ns}/proc/sys/net/ipv4/conf/v1/forwarding", asTestUser));
        Assert.Equal("1300\n", Ok($"cat {ns}/sys/class/net/v1/mtu", asTestUser));
        Assert.Equal("1300\n", Ok($"cat {ns}/proc/sys/net/ipv6/conf/v1/mtu", asTestUser));
        Ip(d, "link", "del", "v1");
        // the whole tree reads, as `sysctl -a` would: a fresh namespace's 584 files, or the initial
        // namespace's 688 with its extra entries
        int n = int.Parse(Ok($"find {ns}/proc/sys/net -type f | wc -l", asTestUser).Trim());
        Assert.Equal(initNet ? 688 : 584, n);
        // global values are read-only outside the initial namespace, for root too
        (o, rc) = Sh($"/bin/echo 1048576 > {ns}/proc/sys/net/core/wmem_max", asTestUser);
        Assert.Equal(initNet, rc == 0);
        if (!initNet) Assert.Contains("Permission denied", o);
        Ok($"find {ns}/proc/sys/net -type f -perm -0400 ! -name stable_secret -exec cat {{}} + > /dev/null", asTestUser);
    }

    [Fact]
    public void UnprivilegedDaemonMountsThroughFusermount3()
    {
        string fs;
        using (var d = new DaemonProcess(env))
        {
            UseTheViews(d, asTestUser: true);
            fs = MountPoint(d);
            if (env.RunAs != null)
                Assert.Contains($"user_id={env.RunAs.Value.Uid},", File.ReadLines("/proc/self/mountinfo").First(l => l.Contains(fs)));
        }
        // a clean stop unmounts
        Assert.False(Mounted(fs));
    }

    [Fact]
    public void ACrashedDaemonsMountDoesNotBlockTheNextOne()
    {
        var first = new DaemonProcess(env);
        string dir = first.SocketDir, left = MountPoint(first);
        first.Crash();
        first.Dispose();
        Assert.True(Mounted(left)); // the dead daemon's mount is still there
        using var second = new DaemonProcess(env, asTestUser: true, socketDir: dir);
        Assert.Equal("0\n", Ok($"cat {Fs(second)}/ns/0/proc/sys/net/ipv4/ip_forward"));
        // ... and now gone: detached, not stacked under the new one
        string now = MountPoint(second);
        Assert.Single(File.ReadLines("/proc/self/mountinfo"), l => l.Split(' ')[4] == now);
        if (left != now) Assert.False(Mounted(left));
    }

    [RootFact]
    public void RootDaemonMountsWithMount2ForEveryone()
    {
        // a socket open to every user: they may look at the state (the state directory too)
        using var d = new DaemonProcess(env, asTestUser: false, options: ["--init-net", "--socket-mode", "0666"]);
        UseTheViews(d, asTestUser: false, initNet: true);
        string ns = Fs(d) + "/ns/0";
        Assert.Contains("allow_other", File.ReadLines("/proc/self/mountinfo").First(l => l.Split(' ')[4] == MountPoint(d)));
        // another user reads, but may not write (the files are root's, 0644)
        Assert.Equal("1\n", Ok($"cat {ns}/proc/sys/net/ipv4/ip_forward"));
        var (o, rc) = Sh($"/bin/echo 0 > {ns}/proc/sys/net/ipv4/ip_forward");
        Assert.NotEqual(0, rc);
        Assert.Contains("Permission denied", o);
        Assert.Equal("1\n", Ok($"cat {ns}/proc/sys/net/ipv4/ip_forward"));
    }
}
