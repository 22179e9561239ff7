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

    public static string Dir(string repoRoot) => Path.Combine(repoRoot, "tests", "golden");

    public static IEnumerable<string> Names(string repoRoot) =>
        Directory.EnumerateFiles(Path.Combine(Dir(repoRoot), "cases"), "*.ip")
            .Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal);

    public static GoldenCase Load(string repoRoot, string name)
    {
        var all = File.ReadAllLines(Path.Combine(Dir(repoRoot), "cases", name + ".ip")).Select(l => l.Trim()).ToList();
        var lines = all.Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        var masks = all.Where(l => l.StartsWith("#mask:")).SelectMany(l => l[6..].Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        return new GoldenCase
        {
            Name = name, Lines = lines, Masks = masks,
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
