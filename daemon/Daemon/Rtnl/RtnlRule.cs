using System.Buffers.Binary;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>Policy routing rules over rtnetlink (net/core/fib_rules.c with the fib4_rules and
/// fib6_rules ops): RTM_NEWRULE, RTM_DELRULE, RTM_GETRULE dumps and fib_nl_fill_rule.</summary>
public static class RtnlRuleHandlers
{
    /// <summary>fib4_rule_policy (FRA_GENERIC_POLICY + FRA_FLOW); IPv6 uses the same minus FRA_FLOW.</summary>
    private static Policy MakePolicy(bool v4)
    {
        var entries = new List<(ushort, NlaPolicy)>
        {
            ((ushort)FRA_IIFNAME, new NlaPolicy(NlaType.String, IFNAMSIZ - 1)),
            ((ushort)FRA_OIFNAME, new NlaPolicy(NlaType.String, IFNAMSIZ - 1)),
            ((ushort)FRA_PRIORITY, new NlaPolicy(NlaType.U32)),
            ((ushort)FRA_FWMARK, new NlaPolicy(NlaType.U32)),
            ((ushort)FRA_TUN_ID, new NlaPolicy(NlaType.U64)),
            ((ushort)FRA_FWMASK, new NlaPolicy(NlaType.U32)),
            ((ushort)FRA_TABLE, new NlaPolicy(NlaType.U32)),
            ((ushort)FRA_SUPPRESS_PREFIXLEN, new NlaPolicy(NlaType.U32)),
            ((ushort)FRA_SUPPRESS_IFGROUP, new NlaPolicy(NlaType.U32)),
            ((ushort)FRA_GOTO, new NlaPolicy(NlaType.U32)),
            ((ushort)FRA_L3MDEV, new NlaPolicy(NlaType.U8)),
            ((ushort)FRA_UID_RANGE, new NlaPolicy(NlaType.Unspec, 8)),
            ((ushort)FRA_PROTOCOL, new NlaPolicy(NlaType.U8)),
            ((ushort)FRA_IP_PROTO, new NlaPolicy(NlaType.U8)),
            ((ushort)FRA_SPORT_RANGE, new NlaPolicy(NlaType.Unspec, 4)),
            ((ushort)FRA_DPORT_RANGE, new NlaPolicy(NlaType.Unspec, 4)),
            ((ushort)FRA_DSCP, new NlaPolicy(NlaType.U8)),
            ((ushort)FRA_FLOWLABEL, new NlaPolicy(NlaType.Be32)),
            ((ushort)FRA_FLOWLABEL_MASK, new NlaPolicy(NlaType.Be32)),
            ((ushort)FRA_SPORT_MASK, new NlaPolicy(NlaType.U16)),
            ((ushort)FRA_DPORT_MASK, new NlaPolicy(NlaType.U16)),
            ((ushort)FRA_DSCP_MASK, new NlaPolicy(NlaType.U8)),
        };
        if (v4) entries.Add(((ushort)FRA_FLOW, new NlaPolicy(NlaType.U32)));
        return new Policy(FRA_DSCP_MASK, entries.ToArray()) { StrictStartType = FRA_DPORT_RANGE + 1 };
    }

    private static readonly Policy Policy4 = MakePolicy(true);
    private static readonly Policy Policy6 = MakePolicy(false);

    public static void Register(Rtnetlink rtnl)
    {
        rtnl.Register(AF_UNSPEC, RTM_NEWRULE, NewRule, null);
        rtnl.Register(AF_UNSPEC, RTM_DELRULE, DelRule, null);
        rtnl.Register(AF_UNSPEC, RTM_GETRULE, null, DumpRules);
    }

    private static FibRulesOps? LookupOps(Net net, int family) =>
        family == AF_INET ? net.Ipv4.Rules : family == AF_INET6 ? net.Ipv6.Rules : null;

    /// <summary>The first part of fib_newrule / fib_delrule: header, ops, attributes, fib_nl2rule.</summary>
    private static int Decode(RtnlRequest req, out FibRulesOps? ops, out FibRule? rule, out bool userPriority, out AttrTable? tb)
    {
        ops = null;
        rule = null;
        tb = null;
        userPriority = false;
        if (req.PayloadLength < FibRuleHdr.Size) return req.Ext.Fail(Errno.EINVAL, "Invalid msg length");
        var frh = FibRuleHdr.Read(req.Payload);
        if (frh.Family == RTNL_FAMILY_IPMR || frh.Family == RTNL_FAMILY_IP6MR)
            return req.Ext.Fail(Errno.EOPNOTSUPP, "Multicast routing rules are not supported by this kernel yet");
        ops = LookupOps(req.Net, frh.Family);
        if (ops == null) return req.Ext.Fail(Errno.EAFNOSUPPORT, "Rule family not supported");
        tb = req.Parse(FibRuleHdr.Size, frh.Family == AF_INET ? Policy4 : Policy6, NlValidate.Liberal, out int err);
        if (tb == null)
        {
            if (req.Ext.Message == null) req.Ext.Message = "Error parsing msg";
            return err;
        }
        int addrSize = frh.Family == AF_INET ? 4 : 16;
        if (frh.SrcLen != 0 && (!tb.Has(FRA_SRC) || frh.SrcLen > addrSize * 8 || tb.Payload(FRA_SRC).Length != addrSize))
            return req.Ext.Fail(Errno.EINVAL, "Invalid source address");
        if (frh.DstLen != 0 && (!tb.Has(FRA_DST) || frh.DstLen > addrSize * 8 || tb.Payload(FRA_DST).Length != addrSize))
            return req.Ext.Fail(Errno.EINVAL, "Invalid dst address");
        var r = new FibRule { Family = frh.Family };
        if (tb.Has(FRA_PRIORITY))
        {
            r.Pref = tb.U32(FRA_PRIORITY);
            userPriority = true;
        }
        if (tb.Has(FRA_PROTOCOL)) r.Protocol = tb.U8(FRA_PROTOCOL);
        if (tb.Has(FRA_IIFNAME))
        {
            r.IifIndex = -1;
            r.IifName = tb.String(FRA_IIFNAME);
        }
        if (tb.Has(FRA_OIFNAME))
        {
            r.OifIndex = -1;
            r.OifName = tb.String(FRA_OIFNAME);
        }
        if (tb.Has(FRA_FWMARK))
        {
            r.Mark = tb.U32(FRA_FWMARK);
            if (r.Mark != 0) r.MarkMask = 0xFFFFFFFF;
        }
        if (tb.Has(FRA_FWMASK)) r.MarkMask = tb.U32(FRA_FWMASK);
        if (tb.Has(FRA_TUN_ID))
            return req.Ext.Fail(Errno.EOPNOTSUPP, "Tunnel id selectors are not supported by this kernel yet");
        if (tb.Has(FRA_L3MDEV))
        {
            if (tb.U8(FRA_L3MDEV) != 1) return req.Ext.Fail(Errno.EINVAL, "Invalid l3mdev attribute");
            return req.Ext.Fail(Errno.EOPNOTSUPP, "l3mdev rules are not supported by this kernel yet");
        }
        r.Action = frh.Action;
        r.Flags = frh.Flags;
        r.Table = tb.Has(FRA_TABLE) ? tb.U32(FRA_TABLE) : frh.Table;
        r.SuppressPrefixLen = tb.Has(FRA_SUPPRESS_PREFIXLEN) ? tb.U32(FRA_SUPPRESS_PREFIXLEN) : uint.MaxValue;
        r.SuppressIfgroup = tb.Has(FRA_SUPPRESS_IFGROUP) ? (int)tb.U32(FRA_SUPPRESS_IFGROUP) : -1;
        if (tb.Has(FRA_GOTO))
        {
            if (r.Action != FR_ACT_GOTO) return req.Ext.Fail(Errno.EINVAL, "Unexpected goto");
            r.Target = tb.U32(FRA_GOTO);
        }
        else if (r.Action == FR_ACT_GOTO) return req.Ext.Fail(Errno.EINVAL, "Missing goto target for action goto");
        if (tb.Has(FRA_UID_RANGE))
        {
            var u = tb.Payload(FRA_UID_RANGE);
            r.UidStart = BinaryPrimitives.ReadUInt32LittleEndian(u);
            r.UidEnd = BinaryPrimitives.ReadUInt32LittleEndian(u[4..]);
            if (!r.UidRangeSet || r.UidStart > r.UidEnd) return req.Ext.Fail(Errno.EINVAL, "Invalid uid range");
        }
        if (tb.Has(FRA_IP_PROTO)) r.IpProto = tb.U8(FRA_IP_PROTO);
        if (tb.Has(FRA_SPORT_RANGE))
        {
            var p = tb.Payload(FRA_SPORT_RANGE);
            r.SportStart = BinaryPrimitives.ReadUInt16LittleEndian(p);
            r.SportEnd = BinaryPrimitives.ReadUInt16LittleEndian(p[2..]);
            if (!PortRangeValid(r.SportStart, r.SportEnd)) return req.Ext.Fail(Errno.EINVAL, "Invalid sport range");
        }
        if (tb.Has(FRA_DPORT_RANGE))
        {
            var p = tb.Payload(FRA_DPORT_RANGE);
            r.DportStart = BinaryPrimitives.ReadUInt16LittleEndian(p);
            r.DportEnd = BinaryPrimitives.ReadUInt16LittleEndian(p[2..]);
            if (!PortRangeValid(r.DportStart, r.DportEnd)) return req.Ext.Fail(Errno.EINVAL, "Invalid dport range");
        }
        if (tb.Has(FRA_DSCP) || tb.Has(FRA_FLOWLABEL) || tb.Has(FRA_SPORT_MASK) || tb.Has(FRA_DPORT_MASK) || tb.Has(FRA_DSCP_MASK))
            return req.Ext.Fail(Errno.EOPNOTSUPP, "DSCP, flow label and port mask selectors are not supported by this kernel yet");
        r.SrcLen = frh.SrcLen;
        r.DstLen = frh.DstLen;
        r.Tos = frh.Tos;
        if (frh.SrcLen != 0) r.Src = addrSize == 4 ? Inet.V4(tb.Payload(FRA_SRC)) : Inet.V6(tb.Payload(FRA_SRC));
        if (frh.DstLen != 0) r.Dst = addrSize == 4 ? Inet.V4(tb.Payload(FRA_DST)) : Inet.V6(tb.Payload(FRA_DST));
        if (frh.Family == AF_INET && tb.Has(FRA_FLOW)) r.Flow = tb.U32(FRA_FLOW);
        rule = r;
        return 0;
    }

    /// <summary>fib_rule_port_range_valid.</summary>
    private static bool PortRangeValid(ushort start, ushort end) => start != 0 && end != 0 && end < 0xffff && start <= end;

    /// <summary>fib_newrule.</summary>
    private static int NewRule(RtnlRequest req)
    {
        int err = Decode(req, out var ops, out var rule, out bool userPriority, out _);
        if (err != 0) return err;
        return req.Ext.Set(ops!.NewRule(rule!, userPriority, (req.Flags & NLM_F_EXCL) != 0));
    }

    /// <summary>fib_delrule with rule_find: every selector the request gave must match.</summary>
    private static int DelRule(RtnlRequest req)
    {
        int err = Decode(req, out var ops, out var q, out bool userPriority, out var tb);
        if (err != 0) return err;
        bool hasFlow = tb!.Has(FRA_FLOW);
        return req.Ext.Set(ops!.DelRule(r =>
        {
            if (q!.Action != 0 && r.Action != q.Action) return false;
            if (q.Table != 0 && r.Table != q.Table) return false;
            if (userPriority && r.Pref != q.Pref) return false;
            if (q.IifName.Length > 0 && r.IifName != q.IifName) return false;
            if (q.OifName.Length > 0 && r.OifName != q.OifName) return false;
            if (q.Mark != 0 && r.Mark != q.Mark) return false;
            if (q.SuppressIfgroup != -1 && r.SuppressIfgroup != q.SuppressIfgroup) return false;
            if (q.SuppressPrefixLen != uint.MaxValue && r.SuppressPrefixLen != q.SuppressPrefixLen) return false;
            if (q.MarkMask != 0 && r.MarkMask != q.MarkMask) return false;
            if (q.UidRangeSet && (r.UidStart != q.UidStart || r.UidEnd != q.UidEnd)) return false;
            if (q.IpProto != 0 && r.IpProto != q.IpProto) return false;
            if (q.Protocol != 0 && r.Protocol != q.Protocol) return false;
            if (q.SportSet && (r.SportStart != q.SportStart || r.SportEnd != q.SportEnd)) return false;
            if (q.DportSet && (r.DportStart != q.DportStart || r.DportEnd != q.DportEnd)) return false;
            // fib4_rule_compare / fib6_rule_compare
            if (q.SrcLen != 0 && (r.SrcLen != q.SrcLen || r.Src != q.Src)) return false;
            if (q.DstLen != 0 && (r.DstLen != q.DstLen || r.Dst != q.Dst)) return false;
            if (q.Tos != 0 && r.Tos != q.Tos) return false;
            if (hasFlow && r.Flow != q.Flow) return false;
            return true;
        }));
    }

    /// <summary>fib_nl_dumprule: one family, or every family in registration order.</summary>
    private static IEnumerable<bool> DumpRules(RtnlRequest req, NlWriter w, DumpState d)
    {
        if (req.Strict)
        {
            if (req.PayloadLength < FibRuleHdr.Size)
                throw new RtnlDumpError(Errno.EINVAL, "Invalid header for fib rule dump request");
            var frh = FibRuleHdr.Read(req.Payload);
            if (frh.DstLen != 0 || frh.SrcLen != 0 || frh.Tos != 0 || frh.Table != 0 || frh.Res1 != 0 || frh.Res2 != 0 ||
                frh.Action != 0 || frh.Flags != 0)
                throw new RtnlDumpError(Errno.EINVAL, "Invalid values in header for fib rule dump request");
            if (req.PayloadLength > Nl.Align(FibRuleHdr.Size))
                throw new RtnlDumpError(Errno.EINVAL, "Invalid data after header in fib rule dump request");
        }
        int family = req.PayloadLength >= 1 ? req.Payload[0] : AF_UNSPEC;
        FibRulesOps[] all;
        if (family != AF_UNSPEC)
        {
            var ops = family == RTNL_FAMILY_IPMR ? req.Net.Ipv4.MrRules
                : family == RTNL_FAMILY_IP6MR ? req.Net.Ipv6.MrRules : LookupOps(req.Net, family);
            if (ops == null) throw new RtnlDumpError(Errno.EAFNOSUPPORT, null);
            all = [ops];
        }
        // net->rules_ops in the order the kernel registers them
        else all = [req.Net.Ipv4.Rules, req.Net.Ipv4.MrRules, req.Net.Ipv6.MrRules, req.Net.Ipv6.Rules];
        foreach (var ops in all)
        {
            // dump_rules resumes by index in the rule list (cb->args[1])
            for (int i = 0; i < ops.Rules.Count; i++)
            {
                FillRule(w, ops.Rules[i], req.Net, RTM_NEWRULE, req.Sock.PortId, req.Hdr.Seq, NLM_F_MULTI);
                yield return true;
            }
        }
    }

    /// <summary>fib_nl_fill_rule with the family's fill.</summary>
    public static void FillRule(NlWriter w, FibRule rule, Net net, int type, uint pid, uint seq, int flags)
    {
        int start = w.BeginMessage(type, flags, seq, pid);
        int hdrOff = w.Length;
        var frh = new FibRuleHdr
        {
            Family = rule.Family, Table = (byte)(rule.Table < 256 ? rule.Table : RT_TABLE_COMPAT),
            Action = rule.Action, Flags = rule.Flags, DstLen = rule.DstLen, SrcLen = rule.SrcLen, Tos = rule.Tos,
        };
        w.Reserve(FibRuleHdr.Size);
        w.PutU32(FRA_TABLE, rule.Table);
        w.PutU32(FRA_SUPPRESS_PREFIXLEN, rule.SuppressPrefixLen);
        w.PutU8(FRA_PROTOCOL, rule.Protocol);
        if (rule.Action == FR_ACT_GOTO && rule.CTarget == null) frh.Flags |= (uint)FIB_RULE_UNRESOLVED;
        if (rule.IifName.Length > 0)
        {
            w.PutString(FRA_IIFNAME, rule.IifName);
            if (rule.IifIndex == -1) frh.Flags |= (uint)FIB_RULE_IIF_DETACHED;
        }
        if (rule.OifName.Length > 0)
        {
            w.PutString(FRA_OIFNAME, rule.OifName);
            if (rule.OifIndex == -1) frh.Flags |= (uint)FIB_RULE_OIF_DETACHED;
        }
        if (rule.Pref != 0) w.PutU32(FRA_PRIORITY, rule.Pref);
        if (rule.Mark != 0) w.PutU32(FRA_FWMARK, rule.Mark);
        if (rule.MarkMask != 0 || rule.Mark != 0) w.PutU32(FRA_FWMASK, rule.MarkMask);
        if (rule.Target != 0) w.PutU32(FRA_GOTO, rule.Target);
        if (rule.SuppressIfgroup != -1) w.PutU32(FRA_SUPPRESS_IFGROUP, (uint)rule.SuppressIfgroup);
        if (rule.L3mdev != 0) w.PutU8(FRA_L3MDEV, rule.L3mdev);
        if (rule.UidRangeSet)
        {
            var u = w.ReserveAttr(FRA_UID_RANGE, 8);
            BinaryPrimitives.WriteUInt32LittleEndian(u, rule.UidStart);
            BinaryPrimitives.WriteUInt32LittleEndian(u[4..], rule.UidEnd);
        }
        if (rule.SportSet)
        {
            var p = w.ReserveAttr(FRA_SPORT_RANGE, 4);
            BinaryPrimitives.WriteUInt16LittleEndian(p, rule.SportStart);
            BinaryPrimitives.WriteUInt16LittleEndian(p[2..], rule.SportEnd);
        }
        if (rule.DportSet)
        {
            var p = w.ReserveAttr(FRA_DPORT_RANGE, 4);
            BinaryPrimitives.WriteUInt16LittleEndian(p, rule.DportStart);
            BinaryPrimitives.WriteUInt16LittleEndian(p[2..], rule.DportEnd);
        }
        if (rule.IpProto != 0) w.PutU8(FRA_IP_PROTO, rule.IpProto);
        // fib4_rule_fill / fib6_rule_fill
        Span<byte> a = stackalloc byte[16];
        if (rule.Family == AF_INET)
        {
            if (rule.DstLen != 0) w.PutBe32(FRA_DST, (uint)rule.Dst);
            if (rule.SrcLen != 0) w.PutBe32(FRA_SRC, (uint)rule.Src);
            if (rule.Flow != 0) w.PutU32(FRA_FLOW, rule.Flow);
        }
        else
        {
            if (rule.DstLen != 0)
            {
                Inet.V6(rule.Dst, a);
                w.PutBytes(FRA_DST, a);
            }
            if (rule.SrcLen != 0)
            {
                Inet.V6(rule.Src, a);
                w.PutBytes(FRA_SRC, a);
            }
        }
        frh.Write(w.At(hdrOff, FibRuleHdr.Size));
        w.EndMessage(start);
    }
}
