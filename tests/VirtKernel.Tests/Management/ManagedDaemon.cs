using System.Diagnostics;
using Mono.Unix.Native;
using VirtKernel.Tests.E2E;

namespace VirtKernel.Tests.Management;

/// <summary>A daemon (`vk serve`) with its management API, run as the test user (or as the test
/// process itself, for the access tests), ready once its D-Bus socket (or bus name) answers.</summary>
public sealed class ManagedDaemon : IDisposable
{
    private readonly Process _p;
    private readonly VkEnvironment _env;
    public string Socket { get; }
    public string PeerAddress => "unix:path=" + Socket + ".bus";

    public ManagedDaemon(VkEnvironment env, string[]? extra = null, bool asTestProcess = false, string? dir = null)
    {
        _env = env;
        dir ??= env.NewSocketDir();
        Socket = Path.Combine(dir, "vk.sock");
        string[] argv = ["dotnet", env.DaemonDll, "serve", "--socket", Socket, .. extra ?? []];
        ProcessStartInfo psi;
        if (asTestProcess)
        {
            psi = new ProcessStartInfo(argv[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
            foreach (var a in argv[1..]) psi.ArgumentList.Add(a);
        }
        else
        {
            psi = env.Command(argv, null, shim: false);
            psi.RedirectStandardOutput = true;
        }
        _p = Process.Start(psi)!;
        _p.StandardInput.Close();
        var sw = Stopwatch.StartNew();
        bool peer = !(extra ?? []).Contains("--dbus");
        while (!File.Exists(Socket) || (peer && !File.Exists(Socket + ".bus")) || !File.Exists(Socket + ".pid"))
        {
            if (_p.HasExited) throw new InvalidOperationException("vk serve exited: " + _p.StandardOutput.ReadToEnd());
            if (sw.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException("vk serve did not start");
            Thread.Sleep(10);
        }
    }

    public bool Exited => _p.HasExited;

    /// <summary>`vk ARGS --socket SOCKET` as the test user (a thin D-Bus client).</summary>
    public (string Output, int Status) Vk(params string[] args) =>
        _env.Run(["dotnet", _env.DaemonDll, .. args, "--socket", Socket], null, shim: false);

    /// <summary>`ip ARGS` under the shim against this daemon, as the test user.</summary>
    public (string Output, int Status) Ip(params string[] args) => _env.Run([VkEnvironment.Ip, .. args], Socket);

    public void Dispose()
    {
        if (!_p.HasExited)
        {
            Syscall.kill(_p.Id, Signum.SIGTERM);
            if (!_p.WaitForExit(5000)) _p.Kill(entireProcessTree: true);
        }
        _p.Dispose();
    }
}
