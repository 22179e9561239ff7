using System.Text;

namespace VirtKernel.Tests.E2E;

/// <summary>A case of the golden corpus (tests/golden/cases/NAME.ip) and its recording from the
/// real kernel (tests/golden/golden/NAME.out), replayed the way the corpus recorder ran it.</summary>
public sealed class GoldenCase
{
    public required string Name { get; init; }
    public required IReadOnlyList<string> Lines { get; init; }
    public required string Expected { get; init; }
    /// <summary>`#mask:` headers: normalisations the recorder applied to the kernel's output.</summary>
    public IReadOnlyList<string> Masks { get; init; } = [];
    /// <summary>How many namespaces the recorder gave the case ("#ns: 2": $NS and $NS2).</summary>
    public int NamespaceCount { get; init; } = 1;

    /// <summary>Must the case run in named namespaces, as recorded (two of them, `ip netns`
    /// commands, `ip netns exec`)? The others give the same output in a fresh daemon's initial
    /// namespace. The same rule as the corpus's compare.sh.</summary>
    public bool NeedsNamespaces => NamespaceCount > 1 || Lines.Any(l =>
    {
        var rest = Unmark(l);
        if (rest.StartsWith("!exec ")) return true;
        if (rest.StartsWith('!')) return false;
        return ShellWords.Split(rest).FirstOrDefault(w => !w.StartsWith('-')) == "netns";
    });

    /// <summary>A line without its "?" and "@2 " marks.</summary>
    private static string Unmark(string line)
    {
        string rest = line;
        if (rest.StartsWith('?')) rest = rest[1..].Trim();
        if (rest.StartsWith("@2 ")) rest = rest[3..].Trim();
        return rest;
    }

    public static string Dir(string repoRoot) => Path.Combine(repoRoot, "tests", "golden");

    public static IEnumerable<string> Names(string repoRoot) =>
        Directory.EnumerateFiles(Path.Combine(Dir(repoRoot), "cases"), "*.ip")
            .Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal);

    public static GoldenCase Load(string repoRoot, string name)
    {
        var all = File.ReadAllLines(Path.Combine(Dir(repoRoot), "cases", name + ".ip")).Select(l => l.Trim()).ToList();
        var lines = all.Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var masks = all.Where(l => l.StartsWith("#mask:")).SelectMany(l => l[6..].Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        int count = all.Any(l => l.StartsWith("#ns:") && l[4..].Trim() == "2") ? 2 : 1;
        return new GoldenCase
        {
            Name = name, Lines = lines, Masks = masks, NamespaceCount = count,
            Expected = File.ReadAllText(Path.Combine(Dir(repoRoot), "golden", name + ".out")),
        };
    }

    private static readonly System.Text.RegularExpressions.Regex TimerText =
        new(@"((hello|tcn|topology_change|gc|hold|message_age|forward_delay)_timer) +[0-9]+\.[0-9]+");
    private static readonly System.Text.RegularExpressions.Regex TimerJson =
        new(@"""((hello|tcn|topology_change|gc|hold|message_age|forward_delay)_timer)"":[0-9]+(\.[0-9]+)?");

    /// <summary>The recorder's normalisations (README of the corpus): running bridge timers count down
    /// on the kernel too, so both sides have their values masked.</summary>
    private string Normalise(string output)
    {
        if (Masks.Contains("bridge-timers"))
        {
            output = TimerText.Replace(output, "$1 *.**");
            output = TimerJson.Replace(output, "\"$1\":\"*\"");
        }
        return output;
    }

    /// <summary>Replays the case as the corpus's recorder ran it against the real kernel, VirtKernel
    /// providing the namespaces: `ip netns add` of $NS (and $NS2) in a fresh daemon, every line as
    /// `ip -n $NS ...` (`@2`: $NS2; `!bridge`: `bridge -n`; `!exec`/`!sysctl`: `ip netns exec`),
    /// the names replaced by the tokens $NS/$NS2 in the output, then `ip netns del` of both. All
    /// unprivileged, through the shim. The namespaces must be gone from the daemon afterwards.</summary>
    public string ReplayInNamespaces(VkEnvironment env)
    {
        using var daemon = new DaemonProcess(env);
        string ns = $"vkgold-{Environment.ProcessId}-1", ns2 = ns + "-b";
        var names = NamespaceCount == 2 ? new[] { ns, ns2 } : new[] { ns };
        foreach (var n in names)
        {
            var (o, rc) = env.Run([VkEnvironment.Ip, "netns", "add", n], daemon.Socket);
            if (rc != 0) throw new InvalidOperationException($"{Name}: ip netns add {n} failed: {o}");
        }
        var sb = new StringBuilder();
        foreach (var line in Lines)
        {
            string rest = line;
            if (rest.StartsWith('?')) rest = rest[1..].Trim();
            string target = ns;
            if (rest.StartsWith("@2 ")) { target = ns2; rest = rest[3..].Trim(); }
            string output;
            int status;
            if (rest.StartsWith("!sleep "))
            {
                output = "";
                status = 0;
            }
            else
            {
                string[] argv;
                var words = ShellWords.Split(rest.Replace("$NS2", ns2).Replace("$NS", ns));
                if (words[0] == "!bridge") argv = ["/usr/sbin/bridge", "-n", target, .. words.Skip(1)];
                else if (words[0] == "!sysctl") argv = [VkEnvironment.Ip, "netns", "exec", target, "/usr/sbin/sysctl", .. words.Skip(1)];
                else if (words[0] == "!exec") argv = [VkEnvironment.Ip, "netns", "exec", target, .. words.Skip(1)];
                else argv = [VkEnvironment.Ip, "-n", target, .. words];
                (output, status) = env.Run(argv, daemon.Socket);
                output = Normalise(output.Replace(ns2, "$NS2").Replace(ns, "$NS"));
            }
            sb.Append("=== ").Append(line).Append('\n');
            sb.Append(output);
            if (output.Length > 0 && !output.EndsWith('\n')) sb.Append('\n').Append($"--- rc={status} noeol\n");
            else sb.Append($"--- rc={status}\n");
        }
        foreach (var n in names.Reverse())
        {
            var (o, rc) = env.Run([VkEnvironment.Ip, "netns", "del", n], daemon.Socket);
            if (rc != 0) sb.Append($"[ip netns del {n} failed: {o}]\n");
        }
        // nothing left behind: only the initial namespace remains in the daemon (processes that
        // were inside let go when the daemon sees them exit)
        string status2 = daemon.Status();
        for (int i = 0; i < 20 && !status2.Contains("\nnamespaces 1\n"); i++)
        {
            Thread.Sleep(100);
            status2 = daemon.Status();
        }
        if (!status2.Contains("\nnamespaces 1\n")) sb.Append("[namespaces left in the daemon]\n").Append(status2);
        if (daemon.Exited) sb.Append("[the daemon exited during the case]\n");
        return sb.ToString();
    }

    /// <summary>Replays the case against a fresh daemon and returns the transcript in the golden format.</summary>
    public string Replay(VkEnvironment env)
    {
        using var daemon = new DaemonProcess(env);
        var sb = new StringBuilder();
        foreach (var line in Lines)
        {
            string rest = line;
            if (rest.StartsWith('?')) rest = rest[1..].Trim();
            if (rest.StartsWith("@2 ")) throw new NotSupportedException($"{Name}: two-namespace cases need namespace support");
            string output;
            int status;
            if (rest.StartsWith("!sleep "))
            {
                // only let the real kernel's linkwatch settle; operstate changes here are synchronous
                output = "";
                status = 0;
            }
            else if (rest.StartsWith("!sysctl "))
            {
                // `ip netns exec $NS sysctl ...` on the kernel: the fresh daemon's initial namespace
                // is such a namespace, seen through the shim at /proc/sys/net
                var words = ShellWords.Split(rest);
                (output, status) = env.Run(["/usr/sbin/sysctl", .. words.Skip(1)], daemon.Socket);
            }
            else if (rest.StartsWith("!bridge "))
            {
                // iproute2's bridge tool, as the recorder ran it (`bridge -n $NS ...` on the kernel)
                var words = ShellWords.Split(rest);
                (output, status) = env.Run(["/usr/sbin/bridge", .. words.Skip(1)], daemon.Socket);
            }
            else if (rest.StartsWith('!'))
                throw new NotSupportedException($"{Name}: tool line '{rest}' is not replayed by this harness yet");
            else
                (output, status) = env.Run([VkEnvironment.Ip, .. ShellWords.Split(rest)], daemon.Socket);
            output = Normalise(output);
            sb.Append("=== ").Append(line).Append('\n');
            sb.Append(output);
            if (output.Length > 0 && !output.EndsWith('\n')) sb.Append('\n').Append($"--- rc={status} noeol\n");
            else sb.Append($"--- rc={status}\n");
        }
        if (daemon.Exited) sb.Append("[the daemon exited during the case]\n");
        return sb.ToString();
    }
}

/// <summary>Splits a line into words with the shell's quoting rules (as the recorder's `eval` does):
/// single and double quotes, backslash escapes; no expansions.</summary>
public static class ShellWords
{
    public static List<string> Split(string s)
    {
        var words = new List<string>();
        var cur = new StringBuilder();
        bool inWord = false;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (char.IsWhiteSpace(c))
            {
                if (inWord) { words.Add(cur.ToString()); cur.Clear(); inWord = false; }
                continue;
            }
            inWord = true;
            if (c == '\'')
            {
                int j = s.IndexOf('\'', i + 1);
                if (j < 0) throw new FormatException("unterminated quote: " + s);
                cur.Append(s, i + 1, j - i - 1);
                i = j;
            }
            else if (c == '"')
            {
                i++;
                for (; i < s.Length && s[i] != '"'; i++)
                {
                    if (s[i] == '\\' && i + 1 < s.Length && "\"\\$`".Contains(s[i + 1])) i++;
                    cur.Append(s[i]);
                }
                if (i >= s.Length) throw new FormatException("unterminated quote: " + s);
            }
            else if (c == '\\' && i + 1 < s.Length) cur.Append(s[++i]);
            else cur.Append(c);
        }
        if (inWord) words.Add(cur.ToString());
        return words;
    }
}
