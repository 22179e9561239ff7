using System.Diagnostics;
using VirtKernel.Daemon.Server;
using VirtKernel.Protocol.Shim;

namespace VirtKernel.Tests.Fuzz;

/// <summary>The real daemon, `vk serve --socket PATH`, run from the built assembly in a temporary
/// folder; stopped (vk stop's control call, then killed if it lingers) and removed on dispose.</summary>
public sealed class DaemonProcess : IDisposable
{
    private readonly Process _p;
    private readonly string _dir;
    private readonly System.Text.StringBuilder _stderr = new();

    public DaemonProcess()
    {
        _dir = Directory.CreateTempSubdirectory("vk-fuzz-").FullName;
        SocketPath = Path.Combine(_dir, "vk.sock");
        var dll = typeof(VkServer).Assembly.Location;
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "serve", "--socket", SocketPath }) psi.ArgumentList.Add(a);
        _p = Process.Start(psi)!;
        _p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _p.BeginErrorReadLine();
        _p.BeginOutputReadLine();
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!File.Exists(SocketPath))
        {
            if (_p.HasExited) throw new IOException($"the daemon exited with {_p.ExitCode}: {Output}");
            if (DateTime.UtcNow > until) throw new TimeoutException($"the daemon did not listen: {Output}");
            Thread.Sleep(20);
        }
    }

    public string SocketPath { get; }
    public bool HasExited => _p.HasExited;
    public int Pid => _p.Id;

    public string Output
    {
        get { lock (_stderr) return _stderr.ToString(); }
    }

    public void Dispose()
    {
        try
        {
            if (!_p.HasExited)
            {
                try
                {
                    using var c = ShimClient.OpenControl(SocketPath);
                    c.Call(CtlOp.Shutdown, 0, []);
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException) { }
                if (!_p.WaitForExit(10000)) _p.Kill(entireProcessTree: true);
            }
            _p.WaitForExit();
        }
        finally
        {
            _p.Dispose();
            try { Directory.Delete(_dir, recursive: true); }
            catch (IOException) { }
        }
    }
}
