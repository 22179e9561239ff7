using System.Buffers.Binary;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>Routes over rtnetlink: dumps of the IPv4 FIB (net/ipv4/fib_frontend.c inet_dump_fib,
/// fib_dump_info) and the IPv6 FIB (net/ipv6/route.c rt6_fill_node).</summary>
public static class RtnlRouteHandlers
{
    /// <summary>rtm_ipv4_policy (the part dump filters use).</summary>
    private static readonly Policy Ipv4Policy = new(RTA_MAX,
        ((ushort)RTA_DST, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_SRC, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_IIF, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_OIF, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_GATEWAY, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_PRIORITY, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_PREFSRC, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_METRICS, new NlaPolicy(NlaType.Nested)),
        ((ushort)RTA_MULTIPATH, new NlaPolicy(NlaType.Unspec, 8)),
        ((ushort)RTA_FLOW, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_ENCAP_TYPE, new NlaPolicy(NlaType.U16)),
        ((ushort)RTA_ENCAP, new NlaPolicy(NlaType.Nested)),
        ((ushort)RTA_UID, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_MARK, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_TABLE, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_IP_PROTO, new NlaPolicy(NlaType.U8)),
        ((ushort)RTA_SPORT, new NlaPolicy(NlaType.U16)),
        ((ushort)RTA_DPORT, new NlaPolicy(NlaType.U16)),
        ((ushort)RTA_NH_ID, new NlaPolicy(NlaType.U32)));

    public static void Register(Rtnetlink rtnl)
    {
        rtnl.Register(AF_INET, RTM_NEWROUTE, NotYet, null);
        rtnl.Register(AF_INET, RTM_DELROUTE, NotYet, null);
        rtnl.Register(AF_INET, RTM_GETROUTE, NotYet, DumpFib4, RtnlFlags.DumpSplitNlmDone);
        rtnl.Register(AF_INET6, RTM_NEWROUTE, NotYet, null);
        rtnl.Register(AF_INET6, RTM_DELROUTE, NotYet, null);
        rtnl.Register(AF_INET6, RTM_GETROUTE, NotYet, DumpFib6, RtnlFlags.DumpSplitNlmDone);
        rtnl.Register(AF_UNSPEC, RTM_GETROUTE, null, (req, w, d) => RtnlAddrHandlers.DumpAll(req, w, d, DumpFib4, DumpFib6), RtnlFlags.DumpSplitNlmDone);
    }

    /// <summary>Route changes and lookups come with the routing work; until then the request is
    /// refused the way a kernel without the feature refuses it.</summary>
    private static int NotYet(RtnlRequest req) =>
        req.Ext.Fail(Errno.EOPNOTSUPP, "Route configuration is not supported by this kernel yet");

    /// <summary>struct fib_dump_filter.</summary>
    private sealed class DumpFilter
    {
        public uint Table;
        public byte Protocol, Type;
        public uint Flags;
        public NetDevice? Dev;
        public bool FilterSet;
    }

    /// <summary>ip_valid_fib_dump_req (strict) or the liberal reading of rtm_flags.</summary>
    private static DumpFilter ParseDumpFilter(RtnlRequest req, DumpState d, string mod)
    {
        var f = new DumpFilter();
        if (!req.Strict)
        {
            if (req.PayloadLength >= RtMsg.Size)
                f.Flags = RtMsg.Read(req.Payload).Flags & (uint)(RTM_F_PREFIX | RTM_F_CLONED);
            return f;
        }
        if (req.PayloadLength < RtMsg.Size) throw new RtnlDumpError(Errno.EINVAL, "Invalid header for FIB dump request");
        var rtm = RtMsg.Read(req.Payload);
        if (rtm.DstLen != 0 || rtm.SrcLen != 0 || rtm.Tos != 0 || rtm.Scope != 0)
            throw new RtnlDumpError(Errno.EINVAL, "Invalid values in header for FIB dump request");
        if ((rtm.Flags & ~(uint)(RTM_F_CLONED | RTM_F_PREFIX)) != 0)
            throw new RtnlDumpError(Errno.EINVAL, "Invalid flags for FIB dump request");
        f.Flags = rtm.Flags;
        f.Protocol = rtm.Protocol;
        f.Type = rtm.Type;
        f.Table = rtm.Table;
        var tb = req.Parse(RtMsg.Size, Ipv4Policy, NlValidate.DeprecatedStrict, out int err);
        if (tb == null) throw new RtnlDumpError(-err, req.Ext.Message);
        for (int i = 0; i <= RTA_MAX; i++)
        {
            if (!tb.Has(i)) continue;
            switch (i)
            {
                case RTA_TABLE: f.Table = tb.U32(i); break;
                case RTA_OIF:
                    f.Dev = req.Net.GetDevice((int)tb.U32(i));
                    if (f.Dev == null) throw new RtnlDumpError(Errno.ENODEV, null);
                    break;
                default: throw new RtnlDumpError(Errno.EINVAL, "Unsupported attribute in dump request");
            }
        }
        if (f.Flags != 0 || f.Protocol != 0 || f.Type != 0 || f.Table != 0 || f.Dev != null)
        {
            f.FilterSet = true;
            d.AnswerFlagsOverride = (ushort)NLM_F_DUMP_FILTERED;
        }
        _ = mod;
        return f;
    }

    private static bool Filtered(DumpFilter f, Route r)
    {
        if (!f.FilterSet) return false;
        if (f.Type != 0 && r.Type != f.Type) return true;
        if (f.Protocol != 0 && r.Protocol != f.Protocol) return true;
        if (f.Dev != null && !r.Nexthops.Exists(n => n.Dev == f.Dev)) return true;
        return false;
    }

    /// <summary>inet_dump_fib.</summary>
    private static IEnumerable<bool> DumpFib4(RtnlRequest req, NlWriter w, DumpState d)
    {
        var f = ParseDumpFilter(req, d, "ipv4");
        if ((f.Flags & RTM_F_PREFIX) != 0) yield break;   // IPv4 has no prefix routes
        if ((f.Flags & RTM_F_CLONED) != 0) yield break;   // no route exceptions are kept
        var v4 = req.Net.Ipv4;
        IEnumerable<Model.Ipv4.FibTable> tables;
        if (f.Table != 0)
        {
            var t = v4.GetTable(f.Table);
            if (t == null)
            {
                if (req.Msg.Span[NlMsgHdr.Size] != AF_INET) yield break;
                throw new RtnlDumpError(Errno.ENOENT, "ipv4: FIB table does not exist");
            }
            tables = [t];
        }
        else tables = v4.TablesInDumpOrder.ToArray();
        foreach (var t in tables)
        {
            foreach (var r in t.Routes.ToArray())
            {
                if (r.Dead || Filtered(f, r)) continue;
                FillRoute4(w, r, req.Net, RTM_NEWROUTE, req.Sock.PortId, req.Hdr.Seq, NLM_F_MULTI);
                yield return true;
            }
        }
    }

    /// <summary>inet6_dump_fib.</summary>
    private static IEnumerable<bool> DumpFib6(RtnlRequest req, NlWriter w, DumpState d)
    {
        var f = ParseDumpFilter(req, d, "ipv6");
        if ((f.Flags & RTM_F_CLONED) != 0) yield break;
        var v6 = req.Net.Ipv6;
        IEnumerable<Model.Ipv6.Fib6Table> tables;
        if (f.Table != 0)
        {
            var t = v6.GetTable(f.Table);
            if (t == null)
            {
                if (req.Msg.Span[NlMsgHdr.Size] != AF_INET6) yield break;
                throw new RtnlDumpError(Errno.ENOENT, "ipv6: FIB table does not exist");
            }
            tables = [t];
        }
        else tables = v6.TablesInDumpOrder.ToArray();
        foreach (var t in tables)
        {
            foreach (var r in t.Routes.ToArray())
            {
                if (r.Dead || Filtered(f, r)) continue;
                if ((f.Flags & RTM_F_PREFIX) != 0 && (r.Flags & RTF_PREFIX_RT) == 0) continue;
                FillRoute6(w, r, req.Net, RTM_NEWROUTE, req.Sock.PortId, req.Hdr.Seq, NLM_F_MULTI);
                yield return true;
            }
        }
    }

    /// <summary>rtnetlink_put_metrics.</summary>
    private static void PutMetrics(NlWriter w, uint[]? metrics)
    {
        if (metrics == null) return;
        int mx = w.BeginNest(RTA_METRICS);
        int n = 0;
        for (int i = 1; i < metrics.Length; i++)
        {
            if (metrics[i] == 0) continue;
            if (i == RTAX_CC_ALGO) continue;
            w.PutU32(i, metrics[i]);
            n++;
        }
        if (n == 0) w.Truncate(mx);
        else w.EndNest(mx);
    }

    /// <summary>fib_nexthop_info.</summary>
    private static uint NexthopInfo(NlWriter w, Nexthop nh, int family, bool skipOif)
    {
        uint flags = 0;
        if ((nh.Flags & RTNH_F_DEAD) != 0) flags |= (uint)RTNH_F_DEAD;
        if ((nh.Flags & RTNH_F_LINKDOWN) != 0)
        {
            flags |= (uint)RTNH_F_LINKDOWN;
            if (nh.Dev != null && IgnoreLinkdown(nh.Dev, family)) flags |= (uint)RTNH_F_DEAD;
        }
        Span<byte> a = stackalloc byte[16];
        if (nh.GwFamily == AF_INET) w.PutBe32(RTA_GATEWAY, (uint)nh.Gateway);
        else if (nh.GwFamily == AF_INET6)
        {
            Inet.V6(nh.Gateway, a);
            if (family != AF_INET6)
            {
                var via = w.ReserveAttr(RTA_VIA, 18);
                BinaryPrimitives.WriteUInt16LittleEndian(via, (ushort)AF_INET6);
                a.CopyTo(via[2..]);
            }
            else w.PutBytes(RTA_GATEWAY, a);
        }
        flags |= nh.Flags & (uint)(RTNH_F_ONLINK | RTNH_F_OFFLOAD | RTNH_F_TRAP);
        if (!skipOif && nh.Dev != null) w.PutU32(RTA_OIF, (uint)nh.Dev.Ifindex);
        return flags;
    }

    /// <summary>ip_ignore_linkdown / ip6_ignore_linkdown.</summary>
    private static bool IgnoreLinkdown(NetDevice dev, int family)
    {
        if (family == AF_INET)
            return dev.Ip4 != null && (dev.Net.Ipv4.All[IPV4_DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN] != 0 ||
                                       dev.Ip4.Cnf[IPV4_DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN] != 0);
        return dev.Ip6 != null && (dev.Net.Ipv6.All[DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN] != 0 ||
                                   dev.Ip6.Cnf[DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN] != 0);
    }

    /// <summary>fib_add_multipath: RTA_MULTIPATH with one rtnexthop per path.</summary>
    private static void AddMultipath(NlWriter w, Route r, int family)
    {
        int mp = w.BeginNest(RTA_MULTIPATH);
        foreach (var nh in r.Nexthops)
        {
            // struct rtnexthop { u16 rtnh_len; u8 rtnh_flags; u8 rtnh_hops; s32 rtnh_ifindex; } + attributes
            int rtnhStart = w.Length;
            w.Reserve(8);
            uint flags = NexthopInfo(w, nh, family, skipOif: true);
            if (nh.Realm != 0) w.PutU32(RTA_FLOW, nh.Realm);
            var hdr = w.At(rtnhStart, 8);
            BinaryPrimitives.WriteUInt16LittleEndian(hdr, (ushort)(w.Length - rtnhStart));
            hdr[2] = (byte)flags;
            hdr[3] = (byte)(nh.Weight - 1);
            BinaryPrimitives.WriteInt32LittleEndian(hdr[4..], nh.Dev?.Ifindex ?? 0);
        }
        w.EndNest(mp);
    }

    /// <summary>fib_dump_info.</summary>
    public static void FillRoute4(NlWriter w, Route r, Net net, int type, uint pid, uint seq, int flags)
    {
        int start = w.BeginMessage(type, flags, seq, pid);
        int rtmOff = w.Length;
        var rtm = new RtMsg
        {
            Family = (byte)AF_INET, DstLen = r.DstLen, Tos = r.Tos, Table = (byte)(r.Table < 256 ? r.Table : RT_TABLE_COMPAT),
            Type = r.Type, Flags = r.Flags & ~(uint)(RTNH_F_DEAD | RTNH_F_LINKDOWN), Scope = r.Scope, Protocol = r.Protocol,
        };
        rtm.Write(w.Reserve(RtMsg.Size));
        w.PutU32(RTA_TABLE, r.Table);
        if (r.DstLen != 0) w.PutBe32(RTA_DST, (uint)r.Dst);
        if (r.Priority != 0) w.PutU32(RTA_PRIORITY, r.Priority);
        PutMetrics(w, r.Metrics);
        if (r.HasPrefSrc) w.PutBe32(RTA_PREFSRC, (uint)r.PrefSrc);
        if (r.NhId != 0) w.PutU32(RTA_NH_ID, r.NhId);
        if (r.Nexthops.Count == 1)
        {
            uint nhFlags = NexthopInfo(w, r.Nexthops[0], AF_INET, false);
            rtm.Flags = nhFlags | (r.Flags & (uint)(RTM_F_OFFLOAD | RTM_F_TRAP));
            if (r.Nexthops[0].Realm != 0) w.PutU32(RTA_FLOW, r.Nexthops[0].Realm);
        }
        else if (r.Nexthops.Count > 1) AddMultipath(w, r, AF_INET);
        rtm.Write(w.At(rtmOff, RtMsg.Size));
        w.EndMessage(start);
    }

    /// <summary>rt6_fill_node for a FIB entry.</summary>
    public static void FillRoute6(NlWriter w, Route r, Net net, int type, uint pid, uint seq, int flags)
    {
        int start = w.BeginMessage(type, flags, seq, pid);
        int rtmOff = w.Length;
        var rtm = new RtMsg
        {
            Family = (byte)AF_INET6, DstLen = r.DstLen, SrcLen = r.SrcLen,
            Table = (byte)(r.Table < 256 ? r.Table : RT_TABLE_COMPAT), Type = r.Type,
            Scope = (byte)RT_SCOPE_UNIVERSE, Protocol = r.Protocol,
        };
        rtm.Write(w.Reserve(RtMsg.Size));
        w.PutU32(RTA_TABLE, r.Table);
        Span<byte> a = stackalloc byte[16];
        if (r.DstLen != 0)
        {
            Inet.V6(r.Dst, a);
            w.PutBytes(RTA_DST, a);
        }
        if (r.SrcLen != 0)
        {
            Inet.V6(r.Src, a);
            w.PutBytes(RTA_SRC, a);
        }
        if (r.HasPrefSrc)
        {
            Inet.V6(r.PrefSrc, a);
            w.PutBytes(RTA_PREFSRC, a);
        }
        PutMetrics(w, r.Metrics);
        w.PutU32(RTA_PRIORITY, r.Priority);
        if (r.Nexthops.Count > 1) AddMultipath(w, r, AF_INET6);
        else if (r.NhId != 0) w.PutU32(RTA_NH_ID, r.NhId);
        else if (r.Nexthops.Count == 1) rtm.Flags |= NexthopInfo(w, r.Nexthops[0], AF_INET6, false);
        long expires = 0;
        if ((r.Flags & RTF_EXPIRES) != 0 && r.ExpiresMs != 0) expires = r.ExpiresMs - net.Kernel.Clock.NowMs;
        // rtnl_put_cacheinfo
        var ci = w.ReserveAttr(RTA_CACHEINFO, 32);
        if (expires != 0)
            BinaryPrimitives.WriteInt32LittleEndian(ci[8..], (int)Math.Clamp(expires / 10, int.MinValue, int.MaxValue));
        w.PutU8(RTA_PREF, r.Pref);
        rtm.Write(w.At(rtmOff, RtMsg.Size));
        w.EndMessage(start);
    }
}
