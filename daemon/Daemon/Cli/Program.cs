using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text;
using Mono.Unix.Native;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Protocol.Shim;

namespace VirtKernel.Daemon.Cli;

/// <summary>The daemon's command line: `vk serve`, `vk status`, `vk stop`. The repository's `vk`
/// script adds `run` and `shell`, which start this daemon on demand and run programs under the shim.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var socketOpt = new Option<string?>("--socket") { Description = "the daemon's socket (default: $VIRTKERNEL_SOCKET, else a per-user path)" };
        var modeOpt = new Option<string>("--socket-mode") { Description = "octal mode of the socket file; other users it admits may only read state", DefaultValueFactory = _ => "0600" };
        var groupOpt = new Option<string?>("--group") { Description = "group owning the socket (name or gid)" };
        var pidfileOpt = new Option<string?>("--pidfile") { Description = "where to write the daemon's pid (default: SOCKET.pid)" };
        var seedOpt = new Option<ulong>("--mac-seed") { Description = "seed of the MAC addresses of devices created without one", DefaultValueFactory = _ => 0x5eedUL };
        var cpusOpt = new Option<int>("--cpus") { Description = "number of possible CPUs the kernel reports (veth queue counts)", DefaultValueFactory = _ => 2 };
        var dbusOpt = new Option<string>("--dbus") { Description = "management API: peer (D-Bus on SOCKET.bus, default), session, system, a bus address, or none", DefaultValueFactory = _ => "peer" };
        var noViewsOpt = new Option<bool>("--no-views") { Description = "do not mount the /proc/sys/net, /proc/net and /sys/class/net views (FUSE, at SOCKET.d/fs)" };
        var initNetOpt = new Option<bool>("--init-net") { Description = "the root namespace plays the kernel's initial namespace (its extra sysctls, writable global ones, devconf_inherit_init_net); by default it looks like a fresh namespace" };

        var serve = new Command("serve", "run the virtual kernel in the foreground; ready once the socket exists")
        {
            socketOpt, modeOpt, groupOpt, pidfileOpt, seedOpt, cpusOpt, dbusOpt, noViewsOpt, initNetOpt,
        };
        serve.SetAction(r => Serve(Paths.Resolve(r.GetValue(socketOpt)), r.GetValue(modeOpt)!, r.GetValue(groupOpt),
            r.GetValue(pidfileOpt), r.GetValue(seedOpt), r.GetValue(cpusOpt), r.GetValue(dbusOpt)!, !r.GetValue(noViewsOpt), r.GetValue(initNetOpt)));

        var status = new Command("status", "show whether a daemon listens, and what it holds") { socketOpt };
        status.SetAction(r => Status(Paths.Resolve(r.GetValue(socketOpt))));

        var stop = new Command("stop", "stop the daemon") { socketOpt };
        stop.SetAction(r => Stop(Paths.Resolve(r.GetValue(socketOpt))));

        var sock = new Command("socket-path", "print the socket path vk would use") { socketOpt };
        sock.SetAction(r =>
        {
            Console.WriteLine(Paths.Resolve(r.GetValue(socketOpt)));
            return 0;
        });

        var root = new RootCommand("VirtKernel: a virtual Linux network kernel in user space") { serve, status, stop, sock };
        foreach (var c in ManageCommands.Commands(socketOpt)) root.Subcommands.Add(c);
        return root.Parse(args).Invoke();
    }

    private static int Serve(string socket, string mode, string? group, string? pidfile, ulong seed, int cpus, string dbus, bool views, bool initNet)
    {
        uint modeBits;
        try { modeBits = Convert.ToUInt32(mode, 8); }
        catch (FormatException)
        {
            Console.Error.WriteLine($"vk serve: invalid --socket-mode {mode}");
            return 2;
        }
        uint? gid = null;
        if (group != null)
        {
            if (uint.TryParse(group, out var g)) gid = g;
            else
            {
                var gr = Syscall.getgrnam(group);
                if (gr == null)
                {
                    Console.Error.WriteLine($"vk serve: unknown group {group}");
                    return 2;
                }
                gid = gr.gr_gid;
            }
        }
        var kernel = new Kernel(new KernelOptions { MacSeed = seed, PossibleCpus = cpus, RootIsInitNet = initNet });
        using var server = new VkServer(kernel, new ServerOptions { SocketPath = socket, SocketMode = modeBits, Gid = gid, MountViews = views });
        // before the socket appears: a client may ask for a stop as soon as it can connect, and
        // the state directory must then go too
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; server.Stop(); });
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; server.Stop(); });
        try { server.Listen(); }
        catch (IOException e)
        {
            Console.Error.WriteLine($"vk serve: {e.Message}");
            return 1;
        }
        IDisposable? management;
        try { management = Management.ManagementHost.Start(server, kernel, socket, dbus, modeBits, gid, Console.Error); }
        catch (Exception e) when (e is IOException or InvalidOperationException or Tmds.DBus.Protocol.DBusExceptionBase or System.Net.Sockets.SocketException)
        {
            Console.Error.WriteLine($"vk serve: the management API cannot start: {e.Message}");
            return 1;
        }
        using var managementScope = management;
        pidfile ??= socket + ".pid";
        File.WriteAllText(pidfile, Environment.ProcessId + "\n");
        Console.Error.WriteLine($"virtkernel: listening on {socket}");
        try { server.Run(); }
        finally
        {
            try { if (File.ReadAllText(pidfile).Trim() == Environment.ProcessId.ToString()) File.Delete(pidfile); }
            catch (IOException) { }
        }
        return 0;
    }

    private static int Status(string socket)
    {
        using var c = ControlClient.Connect(socket);
        if (c == null)
        {
            Console.WriteLine($"no daemon listens on {socket}");
            return 1;
        }
        var (ret, payload) = c.Call(CtlOp.Status);
        if (ret < 0)
        {
            Console.Error.WriteLine($"vk status: error {-ret}");
            return 1;
        }
        Console.WriteLine($"socket {socket}");
        Console.Write(Encoding.UTF8.GetString(payload));
        return 0;
    }

    private static int Stop(string socket)
    {
        using (var c = ControlClient.Connect(socket))
        {
            if (c == null)
            {
                Console.WriteLine($"no daemon listens on {socket}");
                return 0;
            }
            var (ret, _) = c.Call(CtlOp.Shutdown);
            if (ret < 0)
            {
                Console.Error.WriteLine(ret == -1 ? "vk stop: permission denied" : $"vk stop: error {-ret}");
                return 1;
            }
        }
        for (int i = 0; i < 100 && File.Exists(socket); i++) Thread.Sleep(50);
        return 0;
    }
}
