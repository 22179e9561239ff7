namespace VirtKernel.Tests.E2E;

[CollectionDefinition("e2e")]
public sealed class E2ECollection : ICollectionFixture<VkEnvironment>;

/// <summary>Every golden case, replayed with the real `ip` under the shim as an unprivileged user
/// against a fresh daemon, must give the real kernel's output and exit status byte for byte. Cases
/// about namespaces run in namespaces VirtKernel provides, exactly as the recorder ran them.</summary>
[Collection("e2e")]
public class GoldenTests(VkEnvironment env)
{
    public static IEnumerable<object[]> Cases()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d != null && !File.Exists(Path.Combine(d.FullName, "VirtKernel.sln"))) d = d.Parent;
        return GoldenCase.Names(d!.FullName).Select(n => new object[] { n });
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesTheKernel(string name)
    {
        var c = GoldenCase.Load(env.RepoRoot, name);
        var got = c.NeedsNamespaces ? c.ReplayInNamespaces(env) : c.Replay(env);
        if (got != c.Expected) Assert.Fail($"{name} differs from the kernel:\n{Diff.Unified(c.Expected, got)}");
    }
}

/// <summary>A small line diff for readable failure messages.</summary>
public static class Diff
{
    public static string Unified(string expected, string actual)
    {
        var a = expected.Split('\n');
        var b = actual.Split('\n');
        // longest common subsequence on lines
        var lcs = new int[a.Length + 1, b.Length + 1];
        for (int i = a.Length - 1; i >= 0; i--)
            for (int j = b.Length - 1; j >= 0; j--)
                lcs[i, j] = a[i] == b[j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
        var sb = new System.Text.StringBuilder();
        int x = 0, y = 0, shown = 0;
        while ((x < a.Length || y < b.Length) && shown < 60)
        {
            if (x < a.Length && y < b.Length && a[x] == b[y]) { x++; y++; continue; }
            if (y < b.Length && (x == a.Length || lcs[x, y + 1] >= lcs[x + 1, y]))
            {
                sb.Append("+ ").Append(b[y++].Replace("\t", "\\t")).Append('\n');
            }
            else
            {
                sb.Append("- ").Append(a[x++].Replace("\t", "\\t")).Append('\n');
            }
            shown++;
        }
        return sb.ToString();
    }
}
