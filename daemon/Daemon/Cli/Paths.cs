using Mono.Unix.Native;

namespace VirtKernel.Daemon.Cli;

/// <summary>Where the daemon's socket lives: --socket, else $VIRTKERNEL_SOCKET, else a per-user
/// path ($XDG_RUNTIME_DIR/virtkernel/vk.sock, or /tmp/virtkernel-UID/vk.sock). The shim and the
/// vk script compute the same default.</summary>
public static class Paths
{
    public static string DefaultSocket()
    {
        var env = Environment.GetEnvironmentVariable("VIRTKERNEL_SOCKET");
        if (!string.IsNullOrEmpty(env)) return env;
        var xdg = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        if (!string.IsNullOrEmpty(xdg)) return Path.Combine(xdg, "virtkernel", "vk.sock");
        return Path.Combine("/tmp", $"virtkernel-{Syscall.getuid()}", "vk.sock");
    }

    public static string Resolve(string? explicitPath) =>
        string.IsNullOrEmpty(explicitPath) ? DefaultSocket() : Path.GetFullPath(explicitPath);
}
