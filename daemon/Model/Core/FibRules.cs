using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model;

/// <summary>struct fib_rule with the family part (fib4_rule / fib6_rule): one policy routing rule.
/// Addresses are stored as <see cref="Inet"/> does (IPv4 in the low 32 bits).</summary>
public sealed class FibRule
{
    public byte Family;
    public uint Pref;
    public uint Table;
    public byte Action;
    public uint Flags;                 // FIB_RULE_INVERT, ...
    public uint Mark, MarkMask;
    public uint Target;                // FRA_GOTO
    public FibRule? CTarget;           // the resolved goto target
    public string IifName = "", OifName = "";
    public int IifIndex, OifIndex;     // 0 = any, -1 = named device not present
    public byte L3mdev;
    public byte IpProto;
    public byte Protocol;              // FRA_PROTOCOL
    public byte SrcLen, DstLen;
    public byte Tos;                   // dscp as the tos byte
    public bool Dead;

    /// <summary>The selectors most rules leave at their defaults (the kernel's default rules use
    /// none of them): kept apart, made with the first one set, so that a namespace's seven default
    /// rules stay small.</summary>
    private sealed class Selectors
    {
        public UInt128 Src, Dst;
        public ulong TunId;
        public uint UidStart, UidEnd = uint.MaxValue;
        public ushort SportStart, SportEnd, DportStart, DportEnd;
        public uint Flow;
        public uint SuppressPrefixLen = uint.MaxValue;
        public int SuppressIfgroup = -1;
    }

    private static readonly Selectors Defaults = new();
    private Selectors? _sel;
    private Selectors Sel => _sel ?? Defaults;
    private Selectors SelW => _sel ??= new();

    public UInt128 Src { get => Sel.Src; set { if (value != Sel.Src) SelW.Src = value; } }
    public UInt128 Dst { get => Sel.Dst; set { if (value != Sel.Dst) SelW.Dst = value; } }
    public ulong TunId { get => Sel.TunId; set { if (value != Sel.TunId) SelW.TunId = value; } }
    public uint UidStart { get => Sel.UidStart; set { if (value != Sel.UidStart) SelW.UidStart = value; } }
    public uint UidEnd { get => Sel.UidEnd; set { if (value != Sel.UidEnd) SelW.UidEnd = value; } }
    public ushort SportStart { get => Sel.SportStart; set { if (value != Sel.SportStart) SelW.SportStart = value; } }
    public ushort SportEnd { get => Sel.SportEnd; set { if (value != Sel.SportEnd) SelW.SportEnd = value; } }
    public ushort DportStart { get => Sel.DportStart; set { if (value != Sel.DportStart) SelW.DportStart = value; } }
    public ushort DportEnd { get => Sel.DportEnd; set { if (value != Sel.DportEnd) SelW.DportEnd = value; } }
    /// <summary>FRA_FLOW (tclassid).</summary>
    public uint Flow { get => Sel.Flow; set { if (value != Sel.Flow) SelW.Flow = value; } }
    public uint SuppressPrefixLen { get => Sel.SuppressPrefixLen; set { if (value != Sel.SuppressPrefixLen) SelW.SuppressPrefixLen = value; } }
    public int SuppressIfgroup { get => Sel.SuppressIfgroup; set { if (value != Sel.SuppressIfgroup) SelW.SuppressIfgroup = value; } }

    public bool UidRangeSet => UidStart != 0 || UidEnd != uint.MaxValue;
    public bool SportSet => SportStart != 0 || SportEnd != 0;
    public bool DportSet => DportStart != 0 || DportEnd != 0;

    public override string ToString() => $"{Pref}: table {Table} action {Action}";
}

/// <summary>What a lookup through the rules matches on (the flowi common part).</summary>
public struct RuleFlow
{
    public UInt128 Saddr, Daddr;
    public int Iif, Oif;
    public uint Mark;
    public byte Tos;
    public byte Proto;
    public ushort Sport, Dport;
    public uint Uid;
}

/// <summary>struct fib_rules_ops of one family in one namespace (net/core/fib_rules.c plus the
/// family's fib4_rules / fib6_rules ops): the ordered rule list, its changes and the lookup walk.</summary>
public sealed class FibRulesOps
{
    private readonly List<FibRule> _rules = new();

    public FibRulesOps(Net net, byte family)
    {
        Net = net;
        Family = family;
    }

    public Net Net { get; }
    public byte Family { get; }
    public int AddrBits => Family == AF_INET ? 32 : 128;
    /// <summary>fib_has_custom_rules: any rule change happened.</summary>
    public bool HasCustomRules { get; private set; }
    /// <summary>fib_unmerge happened (IPv4): a rule was added, so the local table no longer shares
    /// the main table's trie (only /proc/net/fib_trie shows the difference).</summary>
    public bool Unmerged { get; private set; }
    public int UnresolvedRules { get; private set; }

    public IReadOnlyList<FibRule> Rules => _rules;

    /// <summary>fib_default_rules_init / fib6_rules_net_init; ipmr_rules_init / ip6mr_rules_init for
    /// the multicast routing families (one rule each, to RT_TABLE_DEFAULT / RT6_TABLE_DFLT = main).</summary>
    internal void AddDefaults()
    {
        if (Family == RTNL_FAMILY_IPMR || Family == RTNL_FAMILY_IP6MR)
        {
            FibDefaultRuleAdd(0x7FFF, (uint)(Family == RTNL_FAMILY_IPMR ? RT_TABLE_DEFAULT : RT_TABLE_MAIN));
            return;
        }
        FibDefaultRuleAdd(0, RT_TABLE_LOCAL);
        FibDefaultRuleAdd(0x7FFE, RT_TABLE_MAIN);
        if (Family == AF_INET) FibDefaultRuleAdd(0x7FFF, RT_TABLE_DEFAULT);
    }

    /// <summary>fib_default_rule_add: the kernel's own rules say RTPROT_KERNEL.</summary>
    private void FibDefaultRuleAdd(uint pref, uint table) =>
        _rules.Add(new FibRule { Family = Family, Pref = pref, Table = table, Action = (byte)FR_ACT_TO_TBL, Protocol = (byte)RTPROT_KERNEL });

    /// <summary>fib_default_rule_pref: one below the second rule's priority (when non-zero).</summary>
    public uint DefaultRulePref()
    {
        if (_rules.Count >= 2 && _rules[1].Pref != 0) return _rules[1].Pref - 1;
        return 0;
    }

    /// <summary>rule_exists: an identical rule is already in the list.</summary>
    public bool RuleExists(FibRule rule)
    {
        foreach (var r in _rules)
        {
            if (r.Action != rule.Action || r.Table != rule.Table || r.Pref != rule.Pref) continue;
            if (r.IifName != rule.IifName || r.OifName != rule.OifName) continue;
            if (r.Mark != rule.Mark || r.SuppressIfgroup != rule.SuppressIfgroup ||
                r.SuppressPrefixLen != rule.SuppressPrefixLen || r.MarkMask != rule.MarkMask || r.TunId != rule.TunId)
                continue;
            if (r.L3mdev != rule.L3mdev || r.UidStart != rule.UidStart || r.UidEnd != rule.UidEnd) continue;
            if (r.IpProto != rule.IpProto) continue;
            if (r.SportStart != rule.SportStart || r.SportEnd != rule.SportEnd ||
                r.DportStart != rule.DportStart || r.DportEnd != rule.DportEnd)
                continue;
            if (!Compare(r, rule)) continue;
            return true;
        }
        return false;
    }

    /// <summary>fib4_rule_compare / fib6_rule_compare (what the request gave must be equal).</summary>
    private static bool Compare(FibRule r, FibRule req)
    {
        if (req.SrcLen != 0 && r.SrcLen != req.SrcLen) return false;
        if (req.DstLen != 0 && r.DstLen != req.DstLen) return false;
        if (req.Tos != 0 && r.Tos != req.Tos) return false;
        if (req.Flow != 0 && r.Flow != req.Flow) return false;
        if (req.SrcLen != 0 && r.Src != req.Src) return false;
        if (req.DstLen != 0 && r.Dst != req.Dst) return false;
        return true;
    }

    /// <summary>The model part of fib_newrule once the request is decoded: defaults, checks,
    /// the family's configure, goto resolution and insertion after every rule of lower or equal
    /// priority; RTM_NEWRULE is announced.</summary>
    public KErr NewRule(FibRule rule, bool userPriority, bool excl)
    {
        if (excl && RuleExists(rule)) return new KErr(Errno.EEXIST);
        if (!userPriority) rule.Pref = DefaultRulePref();
        if (rule.Action == FR_ACT_GOTO && rule.Target <= rule.Pref)
            return new KErr(Errno.EINVAL, "Backward goto not supported");
        if (rule.IifName.Length > 0)
            rule.IifIndex = Net.GetDevice(rule.IifName)?.Ifindex ?? -1;
        if (rule.OifName.Length > 0)
            rule.OifIndex = Net.GetDevice(rule.OifName)?.Ifindex ?? -1;
        var err = Configure(rule);
        if (err.Failed) return err;

        bool unresolved = false;
        if (rule.Action == FR_ACT_GOTO)
        {
            FibRule? target = null;
            foreach (var r in _rules)
                if (r.Pref == rule.Target) { target = r; break; }
            if (target != null) rule.CTarget = target;
            else unresolved = true;
        }
        foreach (var r in _rules)
        {
            if (r.Action == FR_ACT_GOTO && r.Target == rule.Pref && r.CTarget == null)
            {
                r.CTarget = rule;
                if (--UnresolvedRules == 0) break;
            }
        }
        if (unresolved) UnresolvedRules++;
        int at = 0;
        for (int i = 0; i < _rules.Count; i++)
        {
            if (_rules[i].Pref > rule.Pref) break;
            at = i + 1;
        }
        _rules.Insert(at, rule);
        HasCustomRules = true;
        Unmerged = true;
        Net.Events.Rule(Net, rule, false);
        return KErr.Ok;
    }

    /// <summary>fib4_rule_configure / fib6_rule_configure.</summary>
    private KErr Configure(FibRule rule)
    {
        if (Family == AF_INET)
        {
            if ((rule.Tos & 0x03) != 0) return new KErr(Errno.EINVAL, "Invalid dsfield (tos): ECN bits must be 0");
            if ((rule.Tos & ~0x1e) != 0) return new KErr(Errno.EINVAL, "Invalid tos");
        }
        else if ((rule.Tos & 0x03) != 0) return new KErr(Errno.EINVAL, "Invalid dsfield (tos): ECN bits must be 0");
        if (rule.Action == FR_ACT_TO_TBL && rule.Table == RT_TABLE_UNSPEC && rule.L3mdev == 0)
        {
            if (Family == AF_INET6) return new KErr(Errno.EINVAL, "Invalid table");
            // fib_empty_table: the first unused id from RT_TABLE_MIN, created now
            var v4 = Net.Ipv4;
            uint id = 1;
            while (v4.GetTableExact(id) != null) id++;
            rule.Table = v4.NewTable(id).Id;
        }
        if (Family == AF_INET6 && rule.Action == FR_ACT_TO_TBL && rule.Table != 0)
            Net.Ipv6.NewTable(rule.Table);
        return KErr.Ok;
    }

    /// <summary>The model part of fib_delrule: the first rule matching every selector the request
    /// gave (FRA_* present, or non-zero header fields); RTM_DELRULE is announced.</summary>
    public KErr DelRule(Func<FibRule, bool> matches)
    {
        FibRule? rule = null;
        foreach (var r in _rules)
            if (matches(r)) { rule = r; break; }
        if (rule == null) return new KErr(Errno.ENOENT);
        if ((rule.Flags & FIB_RULE_PERMANENT) != 0) return new KErr(Errno.EPERM);
        Remove(rule);
        return KErr.Ok;
    }

    /// <summary>Unlinks a rule: gotos aimed at it point to the next rule of the same priority, or
    /// become unresolved.</summary>
    public void Remove(FibRule rule)
    {
        int idx = _rules.IndexOf(rule);
        if (idx < 0) return;
        _rules.RemoveAt(idx);
        rule.Dead = true;
        if (rule.Action == FR_ACT_GOTO && rule.CTarget == null) UnresolvedRules--;
        FibRule? n = idx < _rules.Count && _rules[idx].Pref == rule.Pref ? _rules[idx] : null;
        foreach (var r in _rules)
        {
            if (r.CTarget != rule) continue;
            r.CTarget = n;
            if (n == null) UnresolvedRules++;
        }
        HasCustomRules = true;
        Net.Events.Rule(Net, rule, true);
    }

    /// <summary>Device registered or renamed: rules naming it attach (attach_rules).</summary>
    internal void AttachDevice(NetDevice dev)
    {
        foreach (var r in _rules)
        {
            if (r.IifIndex == -1 && r.IifName == dev.Name) r.IifIndex = dev.Ifindex;
            if (r.OifIndex == -1 && r.OifName == dev.Name) r.OifIndex = dev.Ifindex;
        }
    }

    /// <summary>Device unregistered or renamed away: rules naming it detach (detach_rules).</summary>
    internal void DetachDevice(NetDevice dev)
    {
        foreach (var r in _rules)
        {
            if (r.IifIndex == dev.Ifindex) r.IifIndex = -1;
            if (r.OifIndex == dev.Ifindex) r.OifIndex = -1;
        }
    }

    /// <summary>fib_rule_match with the family's match (fib4_rule_match / fib6_rule_match).</summary>
    public static bool Match(FibRule rule, in RuleFlow fl, int addrBits)
    {
        bool ret = MatchCore(rule, fl, addrBits);
        return (rule.Flags & FIB_RULE_INVERT) != 0 ? !ret : ret;
    }

    private static bool MatchCore(FibRule rule, in RuleFlow fl, int addrBits)
    {
        if (rule.IifIndex != 0 && rule.IifIndex != fl.Iif) return false;
        if (rule.OifIndex != 0 && rule.OifIndex != fl.Oif) return false;
        if (((rule.Mark ^ fl.Mark) & rule.MarkMask) != 0) return false;
        if (rule.TunId != 0) return false;
        if (rule.L3mdev != 0) return false;
        if (fl.Uid < rule.UidStart || fl.Uid > rule.UidEnd) return false;
        UInt128 sm = addrBits == 32 ? (UInt128)Inet.Mask4(rule.SrcLen) : Inet.Mask6(rule.SrcLen);
        UInt128 dm = addrBits == 32 ? (UInt128)Inet.Mask4(rule.DstLen) : Inet.Mask6(rule.DstLen);
        if (((fl.Saddr ^ rule.Src) & sm) != 0 || ((fl.Daddr ^ rule.Dst) & dm) != 0) return false;
        if (rule.Tos != 0 && rule.Tos != (fl.Tos & 0xfc)) return false;
        if (rule.IpProto != 0 && rule.IpProto != fl.Proto) return false;
        if (rule.SportStart != 0 || rule.SportEnd != 0)
            if (fl.Sport < rule.SportStart || fl.Sport > rule.SportEnd) return false;
        if (rule.DportStart != 0 || rule.DportEnd != 0)
            if (fl.Dport < rule.DportStart || fl.Dport > rule.DportEnd) return false;
        return true;
    }

    /// <summary>fib_rules_lookup: walks the rules; <paramref name="action"/> is the family's
    /// ops->action (0 = found, -EAGAIN = go on, other errors stop), <paramref name="suppress"/>
    /// ops->suppress. Returns -ESRCH when no rule decided.</summary>
    public int Lookup(in RuleFlow fl, Func<FibRule, int> action, Func<FibRule, bool>? suppress, out FibRule? decided)
    {
        decided = null;
        int n = _rules.Count;
        for (int i = 0; i < n; i++)
        {
            var rule = _rules[i];
        jumped:
            if (!Match(rule, fl, AddrBits)) continue;
            int err;
            if (rule.Action == FR_ACT_GOTO)
            {
                var target = rule.CTarget;
                if (target == null) continue;
                rule = target;
                i = _rules.IndexOf(target);
                goto jumped;
            }
            else if (rule.Action == FR_ACT_NOP) continue;
            else err = action(rule);
            if (err == 0 && suppress != null && suppress(rule)) continue;
            if (err != -Errno.EAGAIN)
            {
                decided = rule;
                return err;
            }
        }
        return -Errno.ESRCH;
    }
}
