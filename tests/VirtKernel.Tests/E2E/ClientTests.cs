using Mono.Unix.Native;

namespace VirtKernel.Tests.E2E;

/// <summary>The client suites (tests/clients): busybox ip, libnl's nl-* tools, pyroute2, the
/// bridge tool, ip monitor and bridge monitor. Each case runs through tests/clients/run-case.sh as
/// an unprivileged user with the shim preloaded, against a fresh daemon, and must give the
/// transcript recorded from the real kernel (tests/clients/record.sh) byte for byte. The test names
/// start with the client (the part of the case name before the first '-').</summary>
[Collection("e2e")]
public class ClientTests(VkEnvironment env)
{
    private static readonly object CopyLock = new();

    public static IEnumerable<object[]> Cases()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "VirtKernel.sln"))) d = d.Parent;
        return Directory.EnumerateFiles(Path.Combine(d!.FullName, "tests", "clients", "cases"), "*.case")
            .Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal).Select(n => new object[] { n });
    }

    /// <summary>tests/clients copied where the unprivileged user can read it (the checkout may not be).</summary>
    private string ClientsDir()
    {
        string dst = Path.Combine(env.Dir, "clients");
        lock (CopyLock)
        {
            if (Directory.Exists(dst)) return dst;
            string src = Path.Combine(env.RepoRoot, "tests", "clients");
            foreach (var sub in new[] { "cases", "scripts" })
            {
                Directory.CreateDirectory(Path.Combine(dst, sub));
                foreach (var f in Directory.EnumerateFiles(Path.Combine(src, sub)))
                    File.Copy(f, Path.Combine(dst, sub, Path.GetFileName(f)));
            }
            File.Copy(Path.Combine(src, "run-case.sh"), Path.Combine(dst, "run-case.sh"));
            foreach (var p in Directory.EnumerateFileSystemEntries(dst, "*", SearchOption.AllDirectories).Append(dst))
                Syscall.chmod(p, (FilePermissions)Convert.ToUInt32(Directory.Exists(p) || p.EndsWith(".sh") ? "755" : "644", 8));
        }
        return dst;
    }

    /// <summary>Runs one case against a fresh daemon; returns the transcript.</summary>
    public static string Replay(VkEnvironment env, string clientsDir, string name)
    {
        using var daemon = new DaemonProcess(env);
        var (output, status) = env.Run(["bash", Path.Combine(clientsDir, "run-case.sh"), Path.Combine(clientsDir, "cases", name + ".case")],
            daemon.Socket, timeoutMs: 180_000, env: new Dictionary<string, string> { ["SETTLE"] = "0.8" });
        if (status != 0) output += $"[run-case.sh exited with {status}]\n";
        if (daemon.Exited) output += "[the daemon exited during the case]\n";
        return output;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesTheKernel(string name)
    {
        string dir = ClientsDir();
        string expected = File.ReadAllText(Path.Combine(env.RepoRoot, "tests", "clients", "golden", name + ".out"));
        string got = Replay(env, dir, name);
        if (got != expected) Assert.Fail($"{name} differs from the kernel:\n{Diff.Unified(expected, got)}");
    }
}
