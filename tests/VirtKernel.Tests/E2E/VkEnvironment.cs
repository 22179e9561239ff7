using System.Diagnostics;
using Mono.Unix.Native;

namespace VirtKernel.Tests.E2E;

/// <summary>What the end-to-end tests need to run the real clients against a real daemon: the built
/// daemon and shim, copied where an unprivileged user can read them, and the user the clients (and
/// the daemons) run as — 65534 when the tests run as root, as users of VirtKernel will.</summary>
public sealed class VkEnvironment : IDisposable
{
    public const string Ip = "/usr/sbin/ip";

    public string RepoRoot { get; }
    public string Dir { get; }
    public string DaemonDll { get; }
    public string Shim { get; }
    /// <summary>uid/gid the clients and daemons run as; null = as the test process itself.</summary>
    public (uint Uid, uint Gid)? RunAs { get; }

    public VkEnvironment()
    {
        RepoRoot = FindRoot();
        // the daemon built with this test assembly (a project reference): never a stale copy
        string built = AppContext.BaseDirectory;
        string shim = Path.Combine(RepoRoot, "shim", "build", "libvkshim.so");
        if (!File.Exists(Path.Combine(built, "vk.dll")) || !File.Exists(Path.Combine(built, "vk.runtimeconfig.json")))
            throw new InvalidOperationException("the daemon (vk.dll) is not next to the test assembly");
        if (!File.Exists(shim))
            throw new InvalidOperationException("build the shim first (make -C shim)");
        Dir = Directory.CreateTempSubdirectory("vk-e2e-").FullName;
        Syscall.chmod(Dir, (FilePermissions)Convert.ToUInt32("755", 8));
        var daemonDir = Path.Combine(Dir, "daemon");
        CopyDir(built, daemonDir);
        Shim = Path.Combine(Dir, "libvkshim.so");
        File.Copy(shim, Shim);
        DaemonDll = Path.Combine(daemonDir, "vk.dll");
        if (Syscall.getuid() == 0) RunAs = (65534, 65534);
        foreach (var p in Directory.EnumerateFileSystemEntries(Dir, "*", SearchOption.AllDirectories).Append(Dir))
            Syscall.chmod(p, (FilePermissions)Convert.ToUInt32(Directory.Exists(p) ? "755" : "644", 8));
    }

    /// <summary>A directory the client user owns, for one daemon's socket.</summary>
    public string NewSocketDir()
    {
        var d = Directory.CreateTempSubdirectory("vk-sock-").FullName;
        if (RunAs is var (uid, gid)) Syscall.chown(d, uid, gid);
        Syscall.chmod(d, FilePermissions.S_IRWXU);
        return d;
    }

    /// <summary>A process started as the test user (via setpriv when root), with stderr merged into
    /// stdout at the descriptor level so their order is kept.</summary>
    /// <param name="asTestUser">false: as the test process's own user (root in CI).</param>
    public ProcessStartInfo Command(IEnumerable<string> argv, string? socket, bool shim,
        IReadOnlyDictionary<string, string>? env = null, bool asTestUser = true)
    {
        var psi = new ProcessStartInfo
        {
            FileName = "/bin/sh",
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$@\" 2>&1");
        psi.ArgumentList.Add("sh");
        if (asTestUser && RunAs is var (uid, gid))
        {
            foreach (var a in new[] { "setpriv", $"--reuid={uid}", $"--regid={gid}", "--clear-groups" }) psi.ArgumentList.Add(a);
        }
        foreach (var a in argv) psi.ArgumentList.Add(a);
        psi.Environment.Clear();
        psi.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";
        psi.Environment["LC_ALL"] = "C";
        psi.Environment["HOME"] = Dir;
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { } root) psi.Environment["DOTNET_ROOT"] = root;
        if (socket != null) psi.Environment["VIRTKERNEL_SOCKET"] = socket;
        if (shim) psi.Environment["LD_PRELOAD"] = Shim;
        if (env != null)
            foreach (var (k, v) in env) psi.Environment[k] = v;
        return psi;
    }

    /// <summary>Starts a command in the background (stdin closed, output collected by the caller).</summary>
    public Process Start(IEnumerable<string> argv, string? socket, bool shim = true, IReadOnlyDictionary<string, string>? env = null)
    {
        var p = Process.Start(Command(argv, socket, shim, env))!;
        p.StandardInput.Close();
        return p;
    }

    /// <summary>Runs a command to completion: its combined output and exit status.</summary>
    public (string Output, int Status) Run(IEnumerable<string> argv, string? socket, bool shim = true, int timeoutMs = 30_000,
        IReadOnlyDictionary<string, string>? env = null, bool asTestUser = true)
    {
        using var p = Process.Start(Command(argv, socket, shim, env, asTestUser))!;
        p.StandardInput.Close();
        var output = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return (output.Result + "\n[timed out]\n", 124);
        }
        return (output.Result, p.ExitCode);
    }

    private static string FindRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "VirtKernel.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("cannot find the repository root");
    }

    private static void CopyDir(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var dst = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(dst)!);
            File.Copy(f, dst);
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>One VirtKernel daemon (`vk serve`) running as the test user on its own socket.</summary>
public sealed class DaemonProcess : IDisposable
{
    private readonly Process _p;
    private readonly string _sockDir;
    public string Socket { get; }

    private readonly VkEnvironment _env;

    public DaemonProcess(VkEnvironment env) : this(env, asTestUser: true) { }

    /// <param name="asTestUser">false: the daemon runs as the test process's user (root in CI), so
    /// it mounts its views with mount(2) instead of fusermount3.</param>
    /// <param name="options">more options of `vk serve`.</param>
    public DaemonProcess(VkEnvironment env, bool asTestUser, string? socketDir = null, string[]? options = null)
    {
        _env = env;
        _sockDir = socketDir ?? env.NewSocketDir();
        Socket = Path.Combine(_sockDir, "vk.sock");
        AsTestUser = asTestUser;
        var psi = env.Command(["dotnet", env.DaemonDll, "serve", "--socket", Socket, .. options ?? []], null, shim: false, asTestUser: asTestUser);
        psi.RedirectStandardOutput = true;
        _p = Process.Start(psi)!;
        _p.StandardInput.Close();
        var sw = Stopwatch.StartNew();
        // ready: the socket exists and the pid file names this daemon (not one that crashed before)
        while (!File.Exists(Socket) || !PidFileIsOurs())
        {
            if (_p.HasExited) throw new InvalidOperationException("vk serve exited: " + _p.StandardOutput.ReadToEnd());
            if (sw.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException("vk serve did not start");
            Thread.Sleep(10);
        }
    }

    private bool PidFileIsOurs()
    {
        try { return File.ReadAllText(Socket + ".pid").Trim() == _p.Id.ToString(); }
        catch (IOException) { return false; }
    }

    public bool Exited => _p.HasExited;
    public bool AsTestUser { get; }
    public string SocketDir => _sockDir;
    public int Pid => _p.Id;

    /// <summary>Kills the daemon without letting it clean up (SIGKILL); its directory stays.</summary>
    public void Crash()
    {
        if (!_p.HasExited) _p.Kill();
        _p.WaitForExit();
        _keepDir = true;
    }

    private bool _keepDir;

    /// <summary>`vk status`: what the daemon holds (namespaces, devices, sockets).</summary>
    public string Status() => _env.Run(["dotnet", _env.DaemonDll, "status", "--socket", Socket], null, shim: false).Output;

    public void Dispose()
    {
        if (!_p.HasExited)
        {
            Syscall.kill(_p.Id, Signum.SIGTERM);
            if (!_p.WaitForExit(5000)) _p.Kill(entireProcessTree: true);
        }
        _p.Dispose();
        if (_keepDir) return;
        try { Directory.Delete(_sockDir, recursive: true); }
        catch (IOException) { }
    }
}
