using VirtKernel.Daemon.Management.DBus;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;

namespace VirtKernel.Daemon.Management;

/// <summary>Starts the management API next to a listening server: the hooks in the netlink path
/// and the D-Bus service (peer-to-peer on SOCKET.bus unless a bus is asked for).</summary>
public static class ManagementHost
{
    /// <summary>The peer-to-peer D-Bus socket of a daemon whose netlink socket is <paramref name="socket"/>.</summary>
    public static string BusSocketPath(string socket) => socket + ".bus";

    /// <summary><paramref name="mode"/>: "peer" (default), "none", "session", "system", or a bus address.</summary>
    public static IDisposable? Start(VkServer server, Kernel kernel, string socket, string mode, uint socketMode, uint? gid, TextWriter log)
    {
        var hooks = new NetlinkHooks(kernel);
        server.Engine.Hooks = hooks;
        if (mode == "none") return null;
        var api = new ManagementApi(server, kernel, hooks);
        var svc = new DBusService(api, new DBusOptions
        {
            Bus = mode == "peer" ? null : mode, PeerSocketPath = BusSocketPath(socket), SocketMode = socketMode, Gid = gid,
        });
        svc.StartAsync().GetAwaiter().GetResult();
        log.WriteLine($"virtkernel: management API (D-Bus) on {svc.Address}");
        return svc;
    }
}
