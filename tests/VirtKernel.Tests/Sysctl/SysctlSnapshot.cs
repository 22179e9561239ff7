using System.Text;
using VirtKernel.Model;
using VirtKernel.Model.Sysctl;

namespace VirtKernel.Tests.Sysctl;

/// <summary>The kernel's /proc/sys/net snapshots (tests/golden/snapshots/proc-sys-net.txt) and the
/// same listing made from a namespace's tree, in the snapshot's format.</summary>
public static class SysctlSnapshot
{
    public static string RepoRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "VirtKernel.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("cannot find the repository root");
    }

    public static string SnapshotPath(string name) => Path.Combine(RepoRoot(), "tests", "golden", "snapshots", name);

    /// <summary>One snapshot section: path (below /proc/sys/net/) -> (mode, value).</summary>
    public static SortedDictionary<string, (string Mode, string Value)> Load(int section)
    {
        var result = new SortedDictionary<string, (string, string)>(StringComparer.Ordinal);
        int current = 0;
        foreach (var line in File.ReadLines(SnapshotPath("proc-sys-net.txt")))
        {
            if (line.StartsWith("## snapshot 1")) { current = 1; continue; }
            if (line.StartsWith("## snapshot 2")) { current = 2; continue; }
            if (line.StartsWith("## ")) { current = 0; continue; }
            if (current != section || !line.StartsWith("/proc/sys/net/")) continue;
            var rest = line["/proc/sys/net/".Length..];
            int a = rest.IndexOf(' ');
            int b = rest.IndexOf(' ', a + 1);
            result[rest[..a]] = (rest[(a + 1)..b], rest[(b + 1)..]);
        }
        return result;
    }

    /// <summary>The listing of a namespace's tree, with the snapshot's conventions (tab as \t, the
    /// last newline dropped, other newlines as \n, errors and write-only files marked).</summary>
    public static SortedDictionary<string, (string Mode, string Value, bool Host)> Listing(Net net)
    {
        var result = new SortedDictionary<string, (string, string, bool)>(StringComparer.Ordinal);
        Walk(net.Sysctl.Root, "", result);
        return result;
    }

    private static void Walk(CtlDir dir, string prefix, SortedDictionary<string, (string, string, bool)> result)
    {
        foreach (var n in dir.Children)
        {
            string path = prefix.Length == 0 ? n.Name : prefix + "/" + n.Name;
            if (n is CtlDir d) { Walk(d, path, result); continue; }
            var f = (CtlFile)n;
            string mode = Convert.ToString(f.Mode, 8);
            string value;
            if ((f.Mode & 0x124) == 0) value = "<write-only>";
            else
            {
                int err = f.Read(out var text);
                if (err < 0) value = $"<error: {Strerror(-err)}>";
                else
                {
                    if (text.EndsWith('\n')) text = text[..^1];
                    value = text.Replace("\t", "\\t").Replace("\n", "\\n");
                }
            }
            result[path] = (mode, value, f.HostDependent);
        }
    }

    private static string Strerror(int e) => e switch
    {
        5 => "Input/output error",
        22 => "Invalid argument",
        2 => "No such file or directory",
        _ => $"errno {e}",
    };

    /// <summary>The differences between a snapshot section and a namespace's tree (values of
    /// host-dependent entries not compared).</summary>
    public static string Compare(SortedDictionary<string, (string Mode, string Value)> expected, Net net)
    {
        var got = Listing(net);
        var sb = new StringBuilder();
        foreach (var (path, (mode, value)) in expected)
        {
            if (!got.TryGetValue(path, out var g)) { sb.Append($"missing {path} {mode} {value}\n"); continue; }
            if (g.Mode != mode) sb.Append($"mode {path}: kernel {mode}, here {g.Mode}\n");
            if (!g.Host && g.Value != value) sb.Append($"value {path}: kernel '{value}', here '{g.Value}'\n");
        }
        foreach (var path in got.Keys)
            if (!expected.ContainsKey(path)) sb.Append($"extra {path} {got[path].Mode} {got[path].Value}\n");
        return sb.ToString();
    }
}
