using System.Text.Json.Nodes;
using VirtKernel.Protocol;

namespace VirtKernel.Daemon.Management;

/// <summary>What an injected fault does.</summary>
public enum FaultAction
{
    /// <summary>The request fails with <see cref="FaultRule.Errno"/> and the extack message, before
    /// any handler sees it (nothing changes).</summary>
    Error,
    /// <summary>A dump request runs, but every message of its answer carries NLM_F_DUMP_INTR, as when
    /// the kernel saw the table change during the dump.</summary>
    DumpIntr,
    /// <summary>A notification is not delivered: every socket subscribed to its group gets ENOBUFS
    /// (a receive queue overrun) instead.</summary>
    Enobufs,
    /// <summary>The answer to the request (and whatever follows it on that socket) is held back for
    /// <see cref="FaultRule.DelayMs"/> milliseconds.</summary>
    Delay,
}

/// <summary>One fault rule of org.virtkernel.Faults1: which messages it matches (message type, namespace)
/// and when it fires (the Nth match, every Nth, or a seeded-random fraction). Deterministic: the
/// same sequence of requests fires the same faults.</summary>
public sealed class FaultRule
{
    public uint Id { get; init; }
    public FaultAction Action { get; init; }
    /// <summary>The namespace it applies to (null: every namespace).</summary>
    public int? NetId { get; init; }
    /// <summary>How the namespace was named when the rule was added ("" = the initial one, "*" = any).</summary>
    public string Namespace { get; init; } = "*";
    /// <summary>nlmsg_type matched (null: any). For ENOBUFS rules, the type of the notification.</summary>
    public int? MsgType { get; init; }
    public int Errno { get; init; }
    public string? Extack { get; init; }
    /// <summary>Fire on the Nth match only (1-based; 0: not by count).</summary>
    public ulong Nth { get; init; }
    /// <summary>With <see cref="Nth"/>: fire on every Nth match.</summary>
    public bool Every { get; init; }
    /// <summary>Fire on this fraction of matches (0: not by chance), drawn from a generator seeded
    /// with <see cref="Seed"/>.</summary>
    public double Probability { get; init; }
    public ulong Seed { get; init; }
    public int DelayMs { get; init; }
    /// <summary>Stop firing after this many faults (0: no limit).</summary>
    public ulong Limit { get; init; }

    public ulong Matched { get; private set; }
    public ulong Fired { get; private set; }
    private Random? _rng;

    /// <summary>Counts a matching message and says whether the fault fires for it.</summary>
    public bool Fire()
    {
        Matched++;
        if (Limit != 0 && Fired >= Limit) return false;
        bool fire;
        if (Nth != 0) fire = Every ? Matched % Nth == 0 : Matched == Nth;
        else if (Probability > 0)
        {
            _rng ??= new Random(unchecked((int)(Seed ^ (Seed >> 32))));
            fire = _rng.NextDouble() < Probability;
        }
        else fire = true;
        if (fire) Fired++;
        return fire;
    }

    public bool Matches(int netId, int type) =>
        (NetId == null || NetId == netId) && (MsgType == null || MsgType == type);

    public JsonObject ToJson() => new()
    {
        ["id"] = Id,
        ["action"] = ActionName(Action),
        ["namespace"] = Namespace,
        ["type"] = MsgType is int t ? MessageNames.TypeName(t) : "*",
        ["errno"] = Errno,
        ["errno_name"] = Errno != 0 ? MessageNames.ErrnoName(Errno) : null,
        ["extack"] = Extack,
        ["nth"] = Nth,
        ["every"] = Every,
        ["probability"] = Probability,
        ["seed"] = Seed,
        ["delay_ms"] = DelayMs,
        ["limit"] = Limit,
        ["matched"] = Matched,
        ["fired"] = Fired,
    };

    public static string ActionName(FaultAction a) => a switch
    {
        FaultAction.Error => "error",
        FaultAction.DumpIntr => "dump-intr",
        FaultAction.Enobufs => "enobufs",
        FaultAction.Delay => "delay",
        _ => a.ToString(),
    };

    public static FaultAction? ParseAction(string s) => s.ToLowerInvariant() switch
    {
        "error" or "fail" => FaultAction.Error,
        "dump-intr" or "dump_intr" or "intr" => FaultAction.DumpIntr,
        "enobufs" => FaultAction.Enobufs,
        "delay" => FaultAction.Delay,
        _ => null,
    };
}

/// <summary>The fault rules in force, in the order they were added (the first that fires wins).</summary>
public sealed class FaultTable
{
    private readonly List<FaultRule> _rules = new();
    private uint _nextId = 1;

    public int Count => _rules.Count;
    public IReadOnlyList<FaultRule> Rules => _rules;

    public uint NextId() => _nextId++;

    public void Add(FaultRule r) => _rules.Add(r);

    /// <summary>Removes one rule (id) or all (0); returns how many went.</summary>
    public int Clear(uint id)
    {
        if (id == 0)
        {
            int n = _rules.Count;
            _rules.Clear();
            return n;
        }
        return _rules.RemoveAll(r => r.Id == id);
    }

    /// <summary>The first rule of <paramref name="action"/> that matches and fires.</summary>
    public FaultRule? Check(FaultAction action, int netId, int type)
    {
        foreach (var r in _rules)
            if (r.Action == action && r.Matches(netId, type) && r.Fire()) return r;
        return null;
    }

    public bool Any(FaultAction action)
    {
        foreach (var r in _rules) if (r.Action == action) return true;
        return false;
    }
}

/// <summary>Names of message types and errnos, from the uapi constants (RTM_NEWLINK, EPERM, ...).</summary>
public static class MessageNames
{
    private static readonly Dictionary<int, string> Types = new();
    private static readonly Dictionary<string, int> TypesByName = new(StringComparer.OrdinalIgnoreCase);
    private static readonly Dictionary<int, string> Errnos = new();
    private static readonly Dictionary<string, int> ErrnosByName = new(StringComparer.OrdinalIgnoreCase);

    static MessageNames()
    {
        foreach (var f in typeof(Uapi).GetFields())
        {
            if (!f.IsLiteral || !f.Name.StartsWith("RTM_") || f.Name is "RTM_BASE" or "RTM_MAX") continue;
            if (f.GetRawConstantValue() is not int v || v < Uapi.RTM_BASE || v > Uapi.RTM_MAX) continue;
            Types.TryAdd(v, f.Name);
            TypesByName[f.Name] = v;
        }
        foreach (var (name, v) in new (string, int)[] { ("NLMSG_NOOP", 1), ("NLMSG_ERROR", 2), ("NLMSG_DONE", 3), ("NLMSG_OVERRUN", 4) })
        {
            Types.TryAdd(v, name);
            TypesByName[name] = v;
        }
        foreach (var f in typeof(Errno).GetFields())
        {
            if (!f.IsLiteral || f.GetRawConstantValue() is not int v || !f.Name.StartsWith('E')) continue;
            Errnos.TryAdd(v, f.Name);
            ErrnosByName[f.Name] = v;
        }
    }

    public static string TypeName(int type) => Types.TryGetValue(type, out var n) ? n : type.ToString();
    public static string ErrnoName(int errno) => Errnos.TryGetValue(errno, out var n) ? n : errno.ToString();

    public static int? ParseType(string s)
    {
        if (int.TryParse(s, out var v)) return v;
        if (TypesByName.TryGetValue(s, out v)) return v;
        if (TypesByName.TryGetValue("RTM_" + s, out v)) return v;
        return null;
    }

    public static int? ParseErrno(string s)
    {
        if (int.TryParse(s, out var v)) return Math.Abs(v);
        return ErrnosByName.TryGetValue(s, out v) ? v : null;
    }
}
