using System.Diagnostics;
using Mono.Unix.Native;
using VirtKernel.Tests.E2E;

namespace VirtKernel.Tests.Management;

/// <summary>The management API driven by the real D-Bus tools — busctl (systemd) and gdbus (GLib) —
/// on the daemon's own peer-to-peer socket and through a real dbus-daemon, and its access control.</summary>
[Collection("e2e")]
public class DBusApiTests(VkEnvironment env)
{
    private const string Obj = "/org/virtkernel/Kernel1";
    private const string K = "org.virtkernel.Kernel1";

    private (string Output, int Status) Busctl(string address, params string[] args) =>
        env.Run(["busctl", "--address=" + address, .. args], null, shim: false);

    private (string Output, int Status) Gdbus(string address, string method, params string[] args) =>
        env.Run(["gdbus", "call", "--address", address, "--dest", K, "--object-path", Obj, "--method", method, .. args], null, shim: false);

    private static void Ok((string Output, int Status) r, string what)
    {
        Assert.True(r.Status == 0, $"{what} failed ({r.Status}): {r.Output}");
    }

    [Fact]
    public void BusctlManagesNamespacesOnThePeerSocket()
    {
        using var d = new ManagedDaemon(env);
        var a = d.PeerAddress;
        var r = Busctl(a, "call", K, Obj, K, "ListNamespaces");
        Ok(r, "ListNamespaces");
        Assert.Equal("a(suo) 1 \"\" 0 \"/org/virtkernel/Kernel1/ns/0\"\n", r.Output);

        r = Busctl(a, "call", K, Obj, K, "CreateNamespace", "s", "blue");
        Ok(r, "CreateNamespace");
        Assert.Equal("o \"/org/virtkernel/Kernel1/ns/1\"\n", r.Output);
        // the same registry as `ip netns add`: the name is bound in the state directory
        Assert.True(File.Exists(Path.Combine(d.Socket + ".d", "netns", "blue")));
        r = Busctl(a, "call", K, Obj, K, "CreateNamespace", "s", "blue");
        Assert.NotEqual(0, r.Status);
        Assert.Contains("already exists", r.Output);

        r = Busctl(a, "get-property", K, Obj, K, "NamespaceCount");
        Assert.Equal("u 2\n", r.Output);
        r = Busctl(a, "get-property", K, "/org/virtkernel/Kernel1/ns/1", "org.virtkernel.Namespace1", "Name");
        Assert.Equal("s \"blue\"\n", r.Output);
        r = Busctl(a, "call", K, Obj, K, "ListNamespaces");
        Assert.Equal("a(suo) 2 \"\" 0 \"/org/virtkernel/Kernel1/ns/0\" \"blue\" 1 \"/org/virtkernel/Kernel1/ns/1\"\n", r.Output);

        // a document with a section this daemon cannot import is refused as a whole
        r = Busctl(a, "call", K, Obj, K, "Import", "ss", "blue", "{\"format\":\"virtkernel-state\",\"version\":1,\"bogus\":[]}");
        Assert.NotEqual(0, r.Status);
        Assert.Contains("no bogus subsystem", r.Output);

        r = Busctl(a, "call", K, Obj, K, "DeleteNamespace", "s", "blue");
        Ok(r, "DeleteNamespace");
        Assert.False(File.Exists(Path.Combine(d.Socket + ".d", "netns", "blue")));
        r = Busctl(a, "call", K, Obj, K, "ListNamespaces");
        Assert.Equal("a(suo) 1 \"\" 0 \"/org/virtkernel/Kernel1/ns/0\"\n", r.Output);
        r = Busctl(a, "call", K, Obj, K, "DeleteNamespace", "s", "blue");
        Assert.Contains("no namespace named", r.Output);

        // statistics count the netlink requests by type and the errors by errno
        Ok(d.Ip("link", "add", "d0", "type", "dummy"), "ip link add");
        Assert.NotEqual(0, d.Ip("link", "add", "d0", "type", "dummy").Status);
        r = Busctl(a, "get-property", K, Obj, K, "Statistics");
        Ok(r, "Statistics");
        Assert.Contains("\"EEXIST\" 1", r.Output);
        Assert.Matches("\"RTM_NEWLINK\" [0-9]+", r.Output);
        var (stats, rc) = d.Vk("stats");
        Assert.Equal(0, rc);
        Assert.Contains("  EEXIST 1\n", stats);
    }

    [Fact]
    public void GdbusExportsAndInjectsFaultsOnThePeerSocket()
    {
        using var d = new ManagedDaemon(env);
        var a = d.PeerAddress;
        var r = env.Run(["gdbus", "introspect", "--address", a, "--dest", K, "--object-path", Obj], null, shim: false);
        Ok(r, "introspect");
        Assert.Contains("interface org.virtkernel.Kernel1", r.Output);
        Assert.Contains("interface org.virtkernel.Faults1", r.Output);
        Assert.Contains("Import(in  s namespace,", r.Output);

        Ok(d.Ip("link", "add", "v0", "address", "02:00:00:00:00:01", "type", "veth", "peer", "name", "v1"), "veth");
        r = Gdbus(a, K + ".Export", "");
        Ok(r, "Export");
        Assert.Contains("virtkernel-state", r.Output);
        Assert.Contains("02:00:00:00:00:01", r.Output);

        r = Gdbus(a, "org.virtkernel.Faults1.Add", "{'type': <'RTM_NEWLINK'>, 'errno': <'ENOSPC'>, 'extack': <'injected by gdbus'>, 'nth': <uint64 2>}");
        Ok(r, "Faults1.Add");
        Assert.Equal("(uint32 1,)\n", r.Output);
        // iproute2 probes RTM_NEWLINK first; the second one, the real request, fails
        var (o, st) = d.Ip("link", "add", "d0", "type", "dummy");
        Assert.Equal(2, st);
        Assert.Equal("Error: injected by gdbus.\n", o);
        Ok(d.Ip("link", "add", "d0", "type", "dummy"), "the fault fired once");
        r = Gdbus(a, "org.virtkernel.Faults1.List");
        Assert.Contains("'fired': <uint64 1>", r.Output);
        r = Gdbus(a, "org.virtkernel.Faults1.Clear", "0");
        Assert.Equal("(uint32 1,)\n", r.Output);
    }

    [Fact]
    public void ServesOnARealSessionBus()
    {
        var psi = env.Command(["dbus-daemon", "--session", "--nofork", "--print-address=1"], null, shim: false);
        using var bus = Process.Start(psi)!;
        bus.StandardInput.Close();
        try
        {
            string address = bus.StandardOutput.ReadLine() ?? throw new InvalidOperationException("dbus-daemon printed no address");
            using var d = new ManagedDaemon(env, ["--dbus", address]);
            (string, int) r = default;
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < TimeSpan.FromSeconds(20))
            {
                r = Busctl(address, "call", K, Obj, K, "ListNamespaces");
                if (r.Item2 == 0) break;
                Thread.Sleep(100);
            }
            Ok(r, "ListNamespaces through the bus");
            Assert.Equal("a(suo) 1 \"\" 0 \"/org/virtkernel/Kernel1/ns/0\"\n", r.Item1);
            Ok(Busctl(address, "call", K, Obj, K, "CreateNamespace", "s", "red"), "CreateNamespace through the bus");
            var g = Gdbus(address, K + ".ListNamespaces");
            Ok(g, "gdbus through the bus");
            Assert.Equal("([('', uint32 0, objectpath '/org/virtkernel/Kernel1/ns/0'), ('red', 1, '/org/virtkernel/Kernel1/ns/1')],)\n", g.Output);
            var (o, rc) = d.Vk("ns", "list", "--dbus", address);
            Assert.Equal(0, rc);
            Assert.Equal("0\t(initial)\n1\tred\n", o);

            // signals: NamespaceAdded, and Changed summarising the netlink notifications
            var psi2 = env.Command(["gdbus", "monitor", "--address", address, "--dest", K], null, shim: false);
            using var mon = Process.Start(psi2)!;
            mon.StandardInput.Close();
            var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
            mon.OutputDataReceived += (_, e) => { if (e.Data != null) lines.Enqueue(e.Data); };
            mon.BeginOutputReadLine();
            sw.Restart();
            while (!lines.Any(l => l.Contains("Monitoring signals")) && sw.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(20);
            Thread.Sleep(300);
            Ok(Busctl(address, "call", K, Obj, K, "CreateNamespace", "s", "green"), "CreateNamespace");
            Ok(d.Ip("link", "add", "d0", "type", "dummy"), "ip link add");
            sw.Restart();
            while (sw.Elapsed < TimeSpan.FromSeconds(10) &&
                   !(lines.Any(l => l.Contains("NamespaceAdded") && l.Contains("'green'")) &&
                     // the initial namespace's (green's own lo comes first and must not end the wait)
                     lines.Any(l => l.Contains(".Changed ('', uint32 0,") && l.Contains("RTM_NEWLINK"))))
                Thread.Sleep(50);
            mon.Kill();
            var all = string.Join('\n', lines);
            Assert.Contains("org.virtkernel.Kernel1.NamespaceAdded ('green', uint32 2, objectpath '/org/virtkernel/Kernel1/ns/2')", all);
            // a dummy's registration is one RTM_NEWLINK and an RTM_NEWNETCONF per family (inet, inet6)
            Assert.Matches(@"org\.virtkernel\.Kernel1\.Changed \('', uint32 0, \{'RTM_NEWLINK': uint32 1, 'RTM_NEWNETCONF': 2\}\)", all);
        }
        finally
        {
            if (!bus.HasExited) bus.Kill();
        }
    }

    /// <summary>A daemon of another user whose socket admits everybody: user 65534 may read, but
    /// every change is refused with org.freedesktop.DBus.Error.AccessDenied.</summary>
    [Fact]
    public void RefusesCallersWithoutTheRightToAdminister()
    {
        if (env.RunAs == null) return; // needs root to have two users
        var dir = Directory.CreateTempSubdirectory("vk-acl-").FullName;
        Syscall.chmod(dir, (FilePermissions)Convert.ToUInt32("755", 8));
        using var d = new ManagedDaemon(env, ["--socket-mode", "0666"], asTestProcess: true, dir: dir);
        var a = d.PeerAddress;
        var r = Busctl(a, "call", K, Obj, K, "ListNamespaces");
        Ok(r, "reading as 65534");
        r = Busctl(a, "call", K, Obj, K, "CreateNamespace", "s", "x");
        Assert.NotEqual(0, r.Status);
        Assert.Equal("Call failed: Access denied\n", r.Output); // sd-bus prints no message of AccessDenied errors
        r = Gdbus(a, K + ".CreateNamespace", "x");
        Assert.Contains("GDBus.Error:org.freedesktop.DBus.Error.AccessDenied: uid 65534 may not administer this kernel", r.Output);
        r = Gdbus(a, K + ".Reset");
        Assert.NotEqual(0, r.Status);
        Assert.Contains("GDBus.Error:org.freedesktop.DBus.Error.AccessDenied", r.Output);
        var (o, rc) = d.Vk("fault", "add", "--type", "RTM_GETLINK");
        Assert.Equal(1, rc);
        Assert.Contains("org.freedesktop.DBus.Error.AccessDenied", o);
        (o, rc) = d.Vk("import", "/dev/null");
        Assert.Equal(1, rc);
        Assert.Contains("AccessDenied", o);
        try { Directory.Delete(dir, true); } catch (IOException) { }
    }
}
