using System.Buffers.Binary;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Model.Ipv4;
using VirtKernel.Model.Ipv6;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>Routes over rtnetlink: RTM_NEWROUTE/RTM_DELROUTE/RTM_GETROUTE for IPv4
/// (net/ipv4/fib_frontend.c rtm_to_fib_config, inet_rtm_*, net/ipv4/route.c inet_rtm_getroute)
/// and IPv6 (net/ipv6/route.c rtm_to_fib6_config, inet6_rtm_*), the dumps and the fill functions
/// (fib_dump_info, rt_fill_info, rt6_fill_node).</summary>
public static class RtnlRouteHandlers
{
    private const int RtnhSize = 8; // struct rtnexthop

    /// <summary>rtm_ipv4_policy.</summary>
    private static readonly Policy Ipv4Policy = new(RTA_FLOWLABEL,
        ((ushort)RTA_DST, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_SRC, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_IIF, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_OIF, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_GATEWAY, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_PRIORITY, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_PREFSRC, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_METRICS, new NlaPolicy(NlaType.Nested)),
        ((ushort)RTA_MULTIPATH, new NlaPolicy(NlaType.Unspec, RtnhSize)),
        ((ushort)RTA_FLOW, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_ENCAP_TYPE, new NlaPolicy(NlaType.U16)),
        ((ushort)RTA_ENCAP, new NlaPolicy(NlaType.Nested)),
        ((ushort)RTA_UID, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_MARK, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_TABLE, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_IP_PROTO, new NlaPolicy(NlaType.U8)),
        ((ushort)RTA_SPORT, new NlaPolicy(NlaType.U16)),
        ((ushort)RTA_DPORT, new NlaPolicy(NlaType.U16)),
        ((ushort)RTA_NH_ID, new NlaPolicy(NlaType.U32)))
    { StrictStartType = RTA_DPORT + 1 };

    /// <summary>rtm_ipv6_policy.</summary>
    private static readonly Policy Ipv6Policy = new(RTA_FLOWLABEL,
        ((ushort)RTA_GATEWAY, new NlaPolicy(NlaType.Unspec, 16)),
        ((ushort)RTA_PREFSRC, new NlaPolicy(NlaType.Unspec, 16)),
        ((ushort)RTA_OIF, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_IIF, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_PRIORITY, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_METRICS, new NlaPolicy(NlaType.Nested)),
        ((ushort)RTA_MULTIPATH, new NlaPolicy(NlaType.Unspec, RtnhSize)),
        ((ushort)RTA_PREF, new NlaPolicy(NlaType.U8)),
        ((ushort)RTA_ENCAP_TYPE, new NlaPolicy(NlaType.U16)),
        ((ushort)RTA_ENCAP, new NlaPolicy(NlaType.Nested)),
        ((ushort)RTA_EXPIRES, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_UID, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_MARK, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_TABLE, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_IP_PROTO, new NlaPolicy(NlaType.U8)),
        ((ushort)RTA_SPORT, new NlaPolicy(NlaType.U16)),
        ((ushort)RTA_DPORT, new NlaPolicy(NlaType.U16)),
        ((ushort)RTA_NH_ID, new NlaPolicy(NlaType.U32)),
        ((ushort)RTA_FLOWLABEL, new NlaPolicy(NlaType.Be32)))
    { StrictStartType = RTA_DPORT + 1 };

    public static void Register(Rtnetlink rtnl)
    {
        rtnl.Register(AF_INET, RTM_NEWROUTE, NewRoute4, null);
        rtnl.Register(AF_INET, RTM_DELROUTE, DelRoute4, null);
        rtnl.Register(AF_INET, RTM_GETROUTE, GetRoute4, DumpFib4, RtnlFlags.DumpSplitNlmDone);
        rtnl.Register(AF_INET6, RTM_NEWROUTE, NewRoute6, null);
        rtnl.Register(AF_INET6, RTM_DELROUTE, DelRoute6, null);
        rtnl.Register(AF_INET6, RTM_GETROUTE, GetRoute6, DumpFib6, RtnlFlags.DumpSplitNlmDone);
        rtnl.Register(AF_UNSPEC, RTM_GETROUTE, null, (req, w, d) => RtnlAddrHandlers.DumpAll(req, w, d, DumpFib4, DumpFib6), RtnlFlags.DumpSplitNlmDone);
    }

    // ---- shared decoding ---------------------------------------------------------------------------

    /// <summary>ip_metrics_convert: RTA_METRICS into an array indexed by RTAX_*.</summary>
    private static int ParseMetrics(RtnlRequest req, AttrTable tb, out uint[]? metrics)
    {
        metrics = null;
        if (!tb.Has(RTA_METRICS)) return 0;
        var m = new uint[RTAX_MAX + 1];
        bool ecnCa = false;
        var nla = tb.Get(RTA_METRICS);
        var it = nla.Nested;
        while (it.MoveNext())
        {
            var a = it.Current;
            int type = a.Type;
            if (type == 0) continue;
            if (type > RTAX_MAX) return req.Ext.Fail(Errno.EINVAL, "Invalid metric type");
            uint val;
            if (type == RTAX_CC_ALGO)
            {
                var name = a.String;
                if (name.Length > 15) name = name[..15];
                val = TcpCongestion.KeyByName(name);
                if (val == 0) return req.Ext.Fail(Errno.EINVAL, "Unknown tcp congestion algorithm");
            }
            else
            {
                if (a.Length != 4) return req.Ext.Fail(Errno.EINVAL, "Invalid attribute in metrics", a.Offset);
                val = a.U32;
            }
            if (type == RTAX_ADVMSS && val > 65535 - 40) val = 65535 - 40;
            if (type == RTAX_MTU && val > 65535 - 15) val = 65535 - 15;
            if (type == RTAX_HOPLIMIT && val > 255) val = 255;
            if (type == RTAX_FEATURES && (val & ~(uint)RTAX_FEATURE_MASK) != 0)
                return req.Ext.Fail(Errno.EINVAL, "Unknown flag set in feature mask in metrics attribute");
            m[type] = val;
        }
        if (ecnCa) m[RTAX_FEATURES] |= 1u << 31;
        metrics = m;
        return 0;
    }

    /// <summary>The rtnexthop entries of RTA_MULTIPATH: (flags, hops, ifindex, attributes).
    /// Returns false when data is left over after the last well-formed entry.</summary>
    private static bool WalkMultipath(ReadOnlySpan<byte> mp, int baseOff, List<(byte Flags, byte Hops, int Ifindex, int AttrOff, int AttrLen)> list)
    {
        int pos = 0;
        while (true)
        {
            int remaining = mp.Length - pos;
            if (remaining < RtnhSize) break;
            int len = BinaryPrimitives.ReadUInt16LittleEndian(mp[pos..]);
            if (len < RtnhSize || len > remaining) break;
            list.Add((mp[pos + 2], mp[pos + 3], BinaryPrimitives.ReadInt32LittleEndian(mp[(pos + 4)..]), baseOff + pos + RtnhSize, len - RtnhSize));
            pos += Nl.Align(len);
            if (pos > mp.Length) pos = mp.Length;
        }
        return mp.Length - pos <= 0;
    }

    /// <summary>nla_find in the attributes of one rtnexthop.</summary>
    private static bool FindAttr(ReadOnlySpan<byte> msg, int off, int len, int type, out int payOff, out int payLen)
    {
        var it = new NlAttrIterator(msg.Slice(off, len), off);
        while (it.MoveNext())
        {
            if (it.Current.Type != type) continue;
            payOff = it.Current.Offset + Nl.AttrHdrLen;
            payLen = it.Current.Length;
            return true;
        }
        payOff = payLen = 0;
        return false;
    }

    /// <summary>fib_gw_from_via.</summary>
    private static int GwFromVia(RtnlRequest req, ReadOnlySpan<byte> via, out byte family, out UInt128 gw)
    {
        family = 0;
        gw = 0;
        if (via.Length < 2) return req.Ext.Fail(Errno.EINVAL, "Invalid attribute length for RTA_VIA");
        ushort fam = BinaryPrimitives.ReadUInt16LittleEndian(via);
        int alen = via.Length - 2;
        switch (fam)
        {
            case AF_INET:
                if (alen != 4) return req.Ext.Fail(Errno.EINVAL, "Invalid IPv4 address in RTA_VIA");
                family = (byte)AF_INET;
                gw = Inet.V4(via[2..]);
                return 0;
            case AF_INET6:
                if (alen != 16) return req.Ext.Fail(Errno.EINVAL, "Invalid IPv6 address in RTA_VIA");
                family = (byte)AF_INET6;
                gw = Inet.V6(via[2..]);
                return 0;
            default:
                return req.Ext.Fail(Errno.EINVAL, "Unsupported address family in RTA_VIA");
        }
    }

    // ---- IPv4 requests --------------------------------------------------------------------------

    /// <summary>rtm_to_fib_config.</summary>
    private static int RtmToFibConfig(RtnlRequest req, out FibConfig cfg, out AttrTable? tb)
    {
        cfg = new FibConfig();
        tb = null;
        // nlmsg_validate_deprecated: a short header is EINVAL without a message
        if (req.PayloadLength < RtMsg.Size) return -Errno.EINVAL;
        tb = req.Parse(RtMsg.Size, Ipv4Policy, NlValidate.Liberal, out int err);
        if (tb == null) return err;
        var rtm = RtMsg.Read(req.Payload);
        if ((rtm.Tos & 0x03) != 0) return req.Ext.Fail(Errno.EINVAL, "Invalid dsfield (tos): ECN bits must be 0");
        cfg.Tos = rtm.Tos;
        cfg.DstLen = rtm.DstLen;
        cfg.Table = rtm.Table;
        cfg.Protocol = rtm.Protocol;
        cfg.Scope = rtm.Scope;
        cfg.Type = rtm.Type;
        cfg.Flags = rtm.Flags;
        cfg.NlFlags = req.Flags;
        if (cfg.Type > RTN_MAX) return req.Ext.Fail(Errno.EINVAL, "Invalid route type");
        bool hasGw = false, hasVia = false;
        if (tb.Has(RTA_DST)) cfg.Dst = tb.Get(RTA_DST).Be32;
        if (tb.Has(RTA_OIF)) cfg.Oif = (int)tb.U32(RTA_OIF);
        if (tb.Has(RTA_GATEWAY))
        {
            hasGw = true;
            cfg.Gateway = tb.Get(RTA_GATEWAY).Be32;
            if (cfg.Gateway != 0) cfg.GwFamily = (byte)AF_INET;
        }
        if (tb.Has(RTA_VIA))
        {
            hasVia = true;
            int e = GwFromVia(req, tb.Payload(RTA_VIA), out var fam, out var gw);
            if (e != 0) return e;
            cfg.GwFamily = fam;
            if (fam == AF_INET) cfg.Gateway = (uint)gw;
            else cfg.Gateway6 = gw;
        }
        if (tb.Has(RTA_PRIORITY)) cfg.Priority = tb.U32(RTA_PRIORITY);
        if (tb.Has(RTA_PREFSRC)) cfg.PrefSrc = tb.Get(RTA_PREFSRC).Be32;
        if (tb.Has(RTA_FLOW)) cfg.Flow = tb.U32(RTA_FLOW);
        if (tb.Has(RTA_TABLE)) cfg.Table = tb.U32(RTA_TABLE);
        if (tb.Has(RTA_NH_ID)) cfg.NhId = tb.U32(RTA_NH_ID);
        if (tb.Has(RTA_ENCAP) || tb.Has(RTA_ENCAP_TYPE))
            return req.Ext.Fail(Errno.EOPNOTSUPP, "Lightweight tunnel encapsulation is not supported by this kernel yet");
        if (tb.Has(RTA_MULTIPATH))
        {
            int e = ParseMultipath4(req, tb, cfg);
            if (e != 0) return e;
        }
        if (cfg.NhId != 0 && (cfg.Oif != 0 || cfg.GwFamily != 0 || cfg.Multipath != null))
            return req.Ext.Fail(Errno.EINVAL, "Nexthop specification and nexthop id are mutually exclusive");
        if (hasGw && hasVia) return req.Ext.Fail(Errno.EINVAL, "Nexthop configuration can not contain both GATEWAY and VIA");
        if (cfg.Table == 0) cfg.Table = RT_TABLE_MAIN;
        return 0;
    }

    /// <summary>fib_count_nexthops + the attribute part of fib_get_nhs.</summary>
    private static int ParseMultipath4(RtnlRequest req, AttrTable tb, FibConfig cfg)
    {
        var msg = req.Msg.Span;
        var mp = tb.Payload(RTA_MULTIPATH);
        int baseOff = tb.OffsetOf(RTA_MULTIPATH) + Nl.AttrHdrLen;
        var list = new List<(byte, byte, int, int, int)>();
        if (!WalkMultipath(mp, baseOff, list))
        {
            req.Ext.Fail(Errno.EINVAL, "Invalid nexthop configuration - extra data after nexthops");
            list.Clear();
        }
        cfg.Multipath = new List<Nexthop>(list.Count);
        foreach (var (flags, hops, ifindex, aoff, alen) in list)
        {
            var nh = new Nexthop { Flags = flags, Oif = ifindex, Weight = (uint)hops + 1 };
            if (alen > 0)
            {
                bool gw = FindAttr(msg, aoff, alen, RTA_GATEWAY, out int go, out int gl);
                bool via = FindAttr(msg, aoff, alen, RTA_VIA, out int vo, out int vl);
                if (gw && via) return req.Ext.Fail(Errno.EINVAL, "Nexthop configuration can not contain both GATEWAY and VIA");
                if (gw && gl >= 4)
                {
                    uint g = BinaryPrimitives.ReadUInt32BigEndian(msg.Slice(go, 4));
                    if (g != 0) { nh.GwFamily = (byte)AF_INET; nh.Gateway = g; }
                }
                else if (via)
                {
                    int e = GwFromVia(req, msg.Slice(vo, vl), out var fam, out var g6);
                    if (e != 0) return e;
                    nh.GwFamily = fam;
                    nh.Gateway = g6;
                }
                if (FindAttr(msg, aoff, alen, RTA_FLOW, out int fo, out int fl) && fl >= 4)
                    nh.Realm = BinaryPrimitives.ReadUInt32LittleEndian(msg.Slice(fo, 4));
                if (FindAttr(msg, aoff, alen, RTA_ENCAP, out _, out _))
                    return req.Ext.Fail(Errno.EOPNOTSUPP, "Lightweight tunnel encapsulation is not supported by this kernel yet");
            }
            cfg.Multipath.Add(nh);
        }
        return 0;
    }

    /// <summary>inet_rtm_newroute.</summary>
    private static int NewRoute4(RtnlRequest req)
    {
        int err = RtmToFibConfig(req, out var cfg, out var tb);
        if (err != 0) return err;
        err = ParseMetrics(req, tb!, out var metrics);
        if (err != 0) return err;
        cfg.Metrics = metrics;
        var v4 = req.Net.Ipv4;
        var t = v4.NewTable(cfg.Table);
        return req.Ext.Set(v4.FibTableInsert(t, cfg, out _));
    }

    /// <summary>inet_rtm_delroute.</summary>
    private static int DelRoute4(RtnlRequest req)
    {
        int err = RtmToFibConfig(req, out var cfg, out var tb);
        if (err != 0) return err;
        err = ParseMetrics(req, tb!, out var metrics);
        if (err != 0) return err;
        cfg.Metrics = metrics;
        if (cfg.NhId != 0 && req.Net.NexthopFindById(cfg.NhId) == null)
            return req.Ext.Fail(Errno.EINVAL, "Nexthop id does not exist");
        var v4 = req.Net.Ipv4;
        var t = v4.GetTableExact(cfg.Table);
        if (t == null) return req.Ext.Fail(Errno.ESRCH, "FIB table does not exist");
        return req.Ext.Set(v4.FibTableDelete(t, cfg));
    }

    /// <summary>inet_rtm_valid_getroute_req.</summary>
    private static AttrTable? ValidGetRouteReq4(RtnlRequest req, out int err)
    {
        err = 0;
        if (req.PayloadLength < RtMsg.Size)
        {
            err = req.Ext.Fail(Errno.EINVAL, "ipv4: Invalid header for route get request");
            return null;
        }
        if (!req.Strict) return req.Parse(RtMsg.Size, Ipv4Policy, NlValidate.Liberal, out err);
        var rtm = RtMsg.Read(req.Payload);
        if ((rtm.SrcLen != 0 && rtm.SrcLen != 32) || (rtm.DstLen != 0 && rtm.DstLen != 32) || rtm.Table != 0 ||
            rtm.Protocol != 0 || rtm.Scope != 0 || rtm.Type != 0)
        {
            err = req.Ext.Fail(Errno.EINVAL, "ipv4: Invalid values in header for route get request");
            return null;
        }
        if ((rtm.Flags & ~(uint)(RTM_F_NOTIFY | RTM_F_LOOKUP_TABLE | RTM_F_FIB_MATCH)) != 0)
        {
            err = req.Ext.Fail(Errno.EINVAL, "ipv4: Unsupported rtm_flags for route get request");
            return null;
        }
        var tb = req.Parse(RtMsg.Size, Ipv4Policy, NlValidate.DeprecatedStrict, out err);
        if (tb == null) return null;
        if ((tb.Has(RTA_SRC) && rtm.SrcLen == 0) || (tb.Has(RTA_DST) && rtm.DstLen == 0))
        {
            err = req.Ext.Fail(Errno.EINVAL, "ipv4: rtm_src_len and rtm_dst_len must be 32 for IPv4");
            return null;
        }
        for (int i = 0; i <= tb.MaxType; i++)
        {
            if (!tb.Has(i)) continue;
            if (i is RTA_IIF or RTA_OIF or RTA_SRC or RTA_DST or RTA_IP_PROTO or RTA_SPORT or RTA_DPORT or RTA_MARK or RTA_UID)
                continue;
            err = req.Ext.Fail(Errno.EINVAL, "ipv4: Unsupported attribute in route get request");
            return null;
        }
        return tb;
    }

    /// <summary>inet_rtm_getroute.</summary>
    private static int GetRoute4(RtnlRequest req)
    {
        var tb = ValidGetRouteReq4(req, out int err);
        if (tb == null) return err;
        var rtm = RtMsg.Read(req.Payload);
        uint src = tb.Has(RTA_SRC) ? tb.Get(RTA_SRC).Be32 : 0;
        uint dst = tb.Has(RTA_DST) ? tb.Get(RTA_DST).Be32 : 0;
        int iif = tb.Has(RTA_IIF) ? (int)tb.U32(RTA_IIF) : 0;
        uint mark = tb.Has(RTA_MARK) ? tb.U32(RTA_MARK) : 0;
        uint? uid = tb.Has(RTA_UID) ? tb.U32(RTA_UID) : iif != 0 ? null : req.Sock.NetUid;
        byte ipProto = 17; // IPPROTO_UDP
        if (tb.Has(RTA_IP_PROTO))
        {
            ipProto = tb.U8(RTA_IP_PROTO);
            if (ipProto is not (6 or 17 or 1)) return req.Ext.Fail(Errno.EOPNOTSUPP, "Unsupported ip proto");
        }
        ushort sport = tb.Has(RTA_SPORT) ? tb.Get(RTA_SPORT).Be16 : (ushort)0;
        ushort dport = tb.Has(RTA_DPORT) ? tb.Get(RTA_DPORT).Be16 : (ushort)0;
        int oif = tb.Has(RTA_OIF) ? (int)tb.U32(RTA_OIF) : 0;
        var v4 = req.Net.Ipv4;
        err = v4.RouteGet(dst, src, iif, oif, mark, rtm.Tos, uid, ipProto, sport, dport, out var got);
        if (err != 0) return err;
        var rt = got!.Rt;
        if ((rtm.Flags & RTM_F_NOTIFY) != 0) rt.Flags |= Rtcf.Notify;
        uint tableId = RT_TABLE_MAIN;
        if ((rtm.Flags & RTM_F_LOOKUP_TABLE) != 0) tableId = got.Res.Table?.Id ?? 0;
        var w = new NlWriter(512);
        if ((rtm.Flags & RTM_F_FIB_MATCH) != 0)
        {
            var res = got.Res;
            if (res.Fi == null)
            {
                int e = Ipv4Net.FibPropsError(res.Type);
                return e != 0 ? e : -Errno.EHOSTUNREACH;
            }
            FillRoute4(w, res.Fi, req.Net, RTM_NEWROUTE, req.Sock.PortId, req.Hdr.Seq, 0,
                tableId, res.Prefix, res.PrefixLen, rt.Type);
        }
        else FillRtInfo4(w, dst, src, rt, tableId, got.Res.Tos, got.Flow, req.Sock.PortId, req.Hdr.Seq);
        req.Unicast(w);
        return 0;
    }

    /// <summary>rt_fill_info.</summary>
    private static void FillRtInfo4(NlWriter w, uint dst, uint src, Rtable rt, uint tableId, byte dscp, in FlowI4 fl, uint pid, uint seq)
    {
        int start = w.BeginMessage(RTM_NEWROUTE, 0, seq, pid);
        var rtm = new RtMsg
        {
            Family = (byte)AF_INET, DstLen = 32, SrcLen = 0, Tos = dscp,
            Table = (byte)(tableId < 256 ? tableId : RT_TABLE_COMPAT), Type = rt.Type,
            Scope = (byte)RT_SCOPE_UNIVERSE, Protocol = (byte)RTPROT_UNSPEC,
            Flags = (rt.Flags & ~0xFFFFu) | (uint)RTM_F_CLONED,
        };
        if ((rt.Flags & Rtcf.Notify) != 0) rtm.Flags |= (uint)RTM_F_NOTIFY;
        if (rt.DoRedirect) rtm.Flags |= Rtcf.DoRedirect;
        if (src != 0) rtm.SrcLen = 32;
        rtm.Write(w.Reserve(RtMsg.Size));
        w.PutU32(RTA_TABLE, tableId);
        w.PutBe32(RTA_DST, dst);
        if (src != 0) w.PutBe32(RTA_SRC, src);
        if (rt.Dev != null) w.PutU32(RTA_OIF, (uint)rt.Dev.Ifindex);
        if (rt.TclassId != 0) w.PutU32(RTA_FLOW, rt.TclassId);
        if (!rt.IsInput && fl.Saddr != src) w.PutBe32(RTA_PREFSRC, fl.Saddr);
        if (rt.UsesGateway)
        {
            if (rt.GwFamily == AF_INET) w.PutBe32(RTA_GATEWAY, (uint)rt.Gateway);
            else if (rt.GwFamily == AF_INET6)
            {
                var via = w.ReserveAttr(RTA_VIA, 18);
                BinaryPrimitives.WriteUInt16LittleEndian(via, (ushort)AF_INET6);
                Inet.V6(rt.Gateway, via[2..]);
            }
        }
        PutMetrics(w, rt.Metrics);
        if (fl.Mark != 0) w.PutU32(RTA_MARK, fl.Mark);
        if (fl.Uid is uint uid) w.PutU32(RTA_UID, uid);
        if (rt.IsInput) w.PutU32(RTA_IIF, (uint)fl.Iif);
        PutCacheinfo(w, true, 0, (uint)rt.Error == 0 ? 0 : unchecked((uint)-rt.Error));
        w.EndMessage(start);
    }

    // ---- IPv6 requests --------------------------------------------------------------------------

    /// <summary>rtm_to_fib6_config.</summary>
    private static int RtmToFib6Config(RtnlRequest req, out Fib6Config cfg, out AttrTable? tb)
    {
        cfg = new Fib6Config { FromUser = true };
        tb = req.Parse(RtMsg.Size, Ipv6Policy, NlValidate.Liberal, out int err);
        if (tb == null) return err;
        var rtm = RtMsg.Read(req.Payload);
        cfg.Table = rtm.Table;
        cfg.DstLen = rtm.DstLen;
        cfg.SrcLen = rtm.SrcLen;
        cfg.Flags = (uint)RTF_UP;
        cfg.Protocol = rtm.Protocol;
        cfg.Type = rtm.Type;
        cfg.NlFlags = req.Flags;
        if (rtm.Type is RTN_UNREACHABLE or RTN_BLACKHOLE or RTN_PROHIBIT or RTN_THROW) cfg.Flags |= (uint)RTF_REJECT;
        if (rtm.Type == RTN_LOCAL) cfg.Flags |= unchecked((uint)RTF_LOCAL);
        if ((rtm.Flags & RTM_F_CLONED) != 0) cfg.Flags |= (uint)RTF_CACHE;
        cfg.RtmFlags = rtm.Flags & (uint)RTNH_F_ONLINK;
        if (tb.Has(RTA_NH_ID))
        {
            if (tb.Has(RTA_GATEWAY) || tb.Has(RTA_OIF) || tb.Has(RTA_MULTIPATH) || tb.Has(RTA_ENCAP))
                return req.Ext.Fail(Errno.EINVAL, "Nexthop specification and nexthop id are mutually exclusive");
            cfg.NhId = tb.U32(RTA_NH_ID);
        }
        if (tb.Has(RTA_GATEWAY))
        {
            cfg.Gateway = Inet.V6(tb.Payload(RTA_GATEWAY));
            cfg.HasGateway = true;
            cfg.Flags |= (uint)RTF_GATEWAY;
        }
        if (tb.Has(RTA_VIA)) return req.Ext.Fail(Errno.EINVAL, "IPv6 does not support RTA_VIA attribute");
        if (tb.Has(RTA_DST))
        {
            int plen = (rtm.DstLen + 7) >> 3;
            var p = tb.Payload(RTA_DST);
            if (p.Length < plen) return -Errno.EINVAL;
            Span<byte> a = stackalloc byte[16];
            a.Clear();
            p[..Math.Min(plen, 16)].CopyTo(a);
            cfg.Dst = Inet.V6(a);
        }
        if (tb.Has(RTA_SRC))
        {
            int plen = (rtm.SrcLen + 7) >> 3;
            var p = tb.Payload(RTA_SRC);
            if (p.Length < plen) return -Errno.EINVAL;
            Span<byte> a = stackalloc byte[16];
            a.Clear();
            p[..Math.Min(plen, 16)].CopyTo(a);
            cfg.Src = Inet.V6(a);
        }
        if (tb.Has(RTA_PREFSRC))
        {
            cfg.PrefSrc = Inet.V6(tb.Payload(RTA_PREFSRC));
            cfg.HasPrefSrc = cfg.PrefSrc != UInt128.Zero;
        }
        if (tb.Has(RTA_OIF)) cfg.Ifindex = (int)tb.U32(RTA_OIF);
        if (tb.Has(RTA_PRIORITY)) cfg.Metric = tb.U32(RTA_PRIORITY);
        if (tb.Has(RTA_TABLE)) cfg.Table = tb.U32(RTA_TABLE);
        if (tb.Has(RTA_MULTIPATH))
        {
            int e = ParseMultipath6(req, tb, cfg);
            if (e != 0) return e;
        }
        if (tb.Has(RTA_PREF))
        {
            byte pref = tb.U8(RTA_PREF);
            if (pref != 3 /* LOW */ && pref != 1 /* HIGH */) pref = 0;
            cfg.Pref = pref;
        }
        if (tb.Has(RTA_ENCAP) || tb.Has(RTA_ENCAP_TYPE))
            return req.Ext.Fail(Errno.EOPNOTSUPP, "Lightweight tunnel encapsulation is not supported by this kernel yet");
        if (tb.Has(RTA_EXPIRES))
        {
            uint timeout = tb.U32(RTA_EXPIRES);
            // addrconf_timeout_fixup + addrconf_finite_timeout
            if (timeout != 0xffffffff && timeout < 0x7fffffff / 1000)
            {
                cfg.ExpiresMs = req.Kernel.Clock.NowMs + timeout * 1000L;
                cfg.Flags |= (uint)RTF_EXPIRES;
            }
        }
        return 0;
    }

    private static int ParseMultipath6(RtnlRequest req, AttrTable tb, Fib6Config cfg)
    {
        var msg = req.Msg.Span;
        var mp = tb.Payload(RTA_MULTIPATH);
        int baseOff = tb.OffsetOf(RTA_MULTIPATH) + Nl.AttrHdrLen;
        var list = new List<(byte, byte, int, int, int)>();
        WalkMultipath(mp, baseOff, list);
        cfg.Multipath = new List<Nexthop>(list.Count);
        foreach (var (flags, hops, ifindex, aoff, alen) in list)
        {
            var nh = new Nexthop { Flags = flags, Oif = ifindex, Weight = (uint)hops + 1 };
            if (alen > 0)
            {
                if (FindAttr(msg, aoff, alen, RTA_GATEWAY, out int go, out int gl))
                {
                    if (gl < 16) return req.Ext.Fail(Errno.EINVAL, "Invalid IPv6 address in RTA_GATEWAY");
                    nh.GwFamily = (byte)AF_INET6;
                    nh.Gateway = Inet.V6(msg.Slice(go, 16));
                }
                if (FindAttr(msg, aoff, alen, RTA_ENCAP, out _, out _))
                    return req.Ext.Fail(Errno.EOPNOTSUPP, "Lightweight tunnel encapsulation is not supported by this kernel yet");
            }
            cfg.Multipath.Add(nh);
        }
        return 0;
    }

    /// <summary>inet6_rtm_newroute.</summary>
    private static int NewRoute6(RtnlRequest req)
    {
        int err = RtmToFib6Config(req, out var cfg, out var tb);
        if (err != 0) return err;
        err = ParseMetrics(req, tb!, out var metrics);
        if (err != 0) return err;
        cfg.Metrics = metrics;
        if (cfg.Metric == 0) cfg.Metric = (uint)IP6_RT_PRIO_USER;
        var v6 = req.Net.Ipv6;
        if (cfg.Multipath != null) return req.Ext.Set(v6.Ip6RouteMultipathAdd(cfg));
        return req.Ext.Set(v6.Ip6RouteAdd(cfg, out _));
    }

    /// <summary>inet6_rtm_delroute.</summary>
    private static int DelRoute6(RtnlRequest req)
    {
        int err = RtmToFib6Config(req, out var cfg, out _);
        if (err != 0) return err;
        if (cfg.NhId != 0 && req.Net.NexthopFindById(cfg.NhId) == null)
            return req.Ext.Fail(Errno.EINVAL, "Nexthop id does not exist");
        var v6 = req.Net.Ipv6;
        if (cfg.Multipath != null) return req.Ext.Set(v6.Ip6RouteMultipathDel(cfg));
        cfg.DeleteAllNh = true;
        return req.Ext.Set(v6.Ip6RouteDel(cfg));
    }

    /// <summary>inet6_rtm_valid_getroute_req.</summary>
    private static AttrTable? ValidGetRouteReq6(RtnlRequest req, out int err)
    {
        err = 0;
        if (req.PayloadLength < RtMsg.Size)
        {
            err = req.Ext.Fail(Errno.EINVAL, "ipv6: Invalid header for get route request");
            return null;
        }
        if (!req.Strict) return req.Parse(RtMsg.Size, Ipv6Policy, NlValidate.Liberal, out err);
        var rtm = RtMsg.Read(req.Payload);
        if ((rtm.SrcLen != 0 && rtm.SrcLen != 128) || (rtm.DstLen != 0 && rtm.DstLen != 128) || rtm.Table != 0 ||
            rtm.Protocol != 0 || rtm.Scope != 0 || rtm.Type != 0)
        {
            err = req.Ext.Fail(Errno.EINVAL, "ipv6: Invalid values in header for get route request");
            return null;
        }
        if ((rtm.Flags & ~(uint)RTM_F_FIB_MATCH) != 0)
        {
            err = req.Ext.Fail(Errno.EINVAL, "ipv6: Invalid flags for get route request");
            return null;
        }
        var tb = req.Parse(RtMsg.Size, Ipv6Policy, NlValidate.DeprecatedStrict, out err);
        if (tb == null) return null;
        if ((tb.Has(RTA_SRC) && rtm.SrcLen == 0) || (tb.Has(RTA_DST) && rtm.DstLen == 0))
        {
            err = req.Ext.Fail(Errno.EINVAL, "ipv6: rtm_src_len and rtm_dst_len must be 128 for IPv6");
            return null;
        }
        for (int i = 0; i <= tb.MaxType; i++)
        {
            if (!tb.Has(i)) continue;
            if (i is RTA_SRC or RTA_DST or RTA_IIF or RTA_OIF or RTA_MARK or RTA_UID or RTA_SPORT or RTA_DPORT or RTA_IP_PROTO or RTA_FLOWLABEL)
                continue;
            err = req.Ext.Fail(Errno.EINVAL, "ipv6: Unsupported attribute in get route request");
            return null;
        }
        return tb;
    }

    /// <summary>inet6_rtm_getroute.</summary>
    private static int GetRoute6(RtnlRequest req)
    {
        var tb = ValidGetRouteReq6(req, out int err);
        if (tb == null) return err;
        var rtm = RtMsg.Read(req.Payload);
        bool fibmatch = (rtm.Flags & RTM_F_FIB_MATCH) != 0;
        UInt128 src = 0, dst = 0;
        if (tb.Has(RTA_SRC))
        {
            if (tb.Payload(RTA_SRC).Length < 16) return -Errno.EINVAL;
            src = Inet.V6(tb.Payload(RTA_SRC));
        }
        if (tb.Has(RTA_DST))
        {
            if (tb.Payload(RTA_DST).Length < 16) return -Errno.EINVAL;
            dst = Inet.V6(tb.Payload(RTA_DST));
        }
        int iif = tb.Has(RTA_IIF) ? (int)tb.U32(RTA_IIF) : 0;
        int oif = tb.Has(RTA_OIF) ? (int)tb.U32(RTA_OIF) : 0;
        uint mark = tb.Has(RTA_MARK) ? tb.U32(RTA_MARK) : 0;
        uint uid = tb.Has(RTA_UID) ? tb.U32(RTA_UID) : iif != 0 ? uint.MaxValue : req.Sock.NetUid;
        byte proto = tb.Has(RTA_IP_PROTO) ? tb.U8(RTA_IP_PROTO) : (byte)0;
        ushort sport = tb.Has(RTA_SPORT) ? tb.Get(RTA_SPORT).Be16 : (ushort)0;
        ushort dport = tb.Has(RTA_DPORT) ? tb.Get(RTA_DPORT).Be16 : (ushort)0;
        uint flowlabel = tb.Has(RTA_FLOWLABEL) ? tb.Get(RTA_FLOWLABEL).Be32 : 0;
        if (tb.Has(RTA_FLOWLABEL) && (flowlabel & ~0xFFFFFu) != 0)
            return req.Ext.Fail(Errno.EINVAL, "Invalid flow label");
        err = req.Net.Ipv6.RouteGet(dst, src, iif, oif, mark, uid, proto, sport, dport, flowlabel, out var got);
        if (err != 0) return err;
        var w = new NlWriter(512);
        if (fibmatch) FillRoute6(w, got!.Rt.From, req.Net, RTM_NEWROUTE, req.Sock.PortId, req.Hdr.Seq, 0);
        else FillRt6Info(w, got!, iif, req.Net, req.Sock.PortId, req.Hdr.Seq);
        req.Unicast(w);
        return 0;
    }

    // ---- dumps ----------------------------------------------------------------------------------

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
    private static DumpFilter ParseDumpFilter(RtnlRequest req, DumpState d)
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
        for (int i = 0; i <= tb.MaxType; i++)
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
        return f;
    }

    private static bool Filtered(DumpFilter f, Route r)
    {
        if (!f.FilterSet) return false;
        if (f.Type != 0 && r.Type != f.Type) return true;
        if (f.Protocol != 0 && r.Protocol != f.Protocol) return true;
        if (f.Dev != null && !r.UsesDev(f.Dev)) return true;
        return false;
    }

    /// <summary>inet_dump_fib: table by table, each walked from the last route sent.</summary>
    private static IEnumerable<bool> DumpFib4(RtnlRequest req, NlWriter w, DumpState d)
    {
        var f = ParseDumpFilter(req, d);
        if ((f.Flags & RTM_F_PREFIX) != 0) yield break;   // IPv4 has no prefix routes
        if ((f.Flags & RTM_F_CLONED) != 0) yield break;   // no route exceptions are kept
        var v4 = req.Net.Ipv4;
        IEnumerable<FibTable> tables;
        if (f.Table != 0)
        {
            var t = v4.GetTableExact(f.Table);
            if (t == null)
            {
                if (req.Msg.Span[NlMsgHdr.Size] != AF_INET) yield break;
                throw new RtnlDumpError(Errno.ENOENT, "ipv4: FIB table does not exist");
            }
            tables = [t];
        }
        else tables = v4.TablesInDumpOrder.ToArray();
        uint pid = req.Sock.PortId, seq = req.Hdr.Seq;
        foreach (var t in tables)
        {
            foreach (var r in t.Routes)
            {
                if (r.Dead || Filtered(f, r)) continue;
                FillRoute4(w, r, req.Net, RTM_NEWROUTE, pid, seq, NLM_F_MULTI);
                yield return true;
            }
        }
    }

    /// <summary>inet6_dump_fib: an ECMP route goes out once, with every sibling in RTA_MULTIPATH.</summary>
    private static IEnumerable<bool> DumpFib6(RtnlRequest req, NlWriter w, DumpState d)
    {
        var f = ParseDumpFilter(req, d);
        if ((f.Flags & RTM_F_CLONED) != 0) yield break;
        var v6 = req.Net.Ipv6;
        IEnumerable<Fib6Table> tables;
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
        uint pid = req.Sock.PortId, seq = req.Hdr.Seq;
        foreach (var t in tables)
        {
            List<Route>? lastGroup = null;
            foreach (var r in t.Routes)
            {
                if (r.Dead) continue;
                if (r.Siblings != null && r.Siblings == lastGroup) continue;
                lastGroup = r.Siblings;
                if ((f.Flags & RTM_F_PREFIX) != 0 && (r.Flags & RTF_PREFIX_RT) == 0) continue;
                if (Filtered(f, r)) continue;
                FillRoute6(w, r, req.Net, RTM_NEWROUTE, pid, seq, NLM_F_MULTI);
                yield return true;
            }
        }
    }

    // ---- fill functions ---------------------------------------------------------------------------

    /// <summary>rtnetlink_put_metrics.</summary>
    private static void PutMetrics(NlWriter w, uint[]? metrics)
    {
        if (metrics == null) return;
        int mx = w.BeginNest(RTA_METRICS);
        int n = 0;
        for (int i = 1; i < metrics.Length; i++)
        {
            uint v = metrics[i];
            if (v == 0) continue;
            if (i == RTAX_CC_ALGO)
            {
                var name = TcpCongestion.NameByKey(v);
                if (name == null) continue;
                w.PutString(i, name);
            }
            else if (i == RTAX_FEATURES)
            {
                uint user = v & (uint)RTAX_FEATURE_MASK;
                if (user == 0) continue;
                w.PutU32(i, user);
            }
            else w.PutU32(i, v);
            n++;
        }
        if (n == 0) w.Truncate(mx);
        else w.EndNest(mx);
    }

    /// <summary>rtnl_put_cacheinfo.</summary>
    private static void PutCacheinfo(NlWriter w, bool hasDst, long expiresMs, uint error)
    {
        var ci = w.ReserveAttr(RTA_CACHEINFO, 32);
        if (hasDst) BinaryPrimitives.WriteUInt32LittleEndian(ci, 1); // rta_clntref
        if (expiresMs != 0)
        {
            long clock = Math.Min(Math.Abs(expiresMs) / 10, int.MaxValue);
            BinaryPrimitives.WriteInt32LittleEndian(ci[8..], (int)(expiresMs > 0 ? clock : -clock));
        }
        BinaryPrimitives.WriteUInt32LittleEndian(ci[12..], error);
    }

    /// <summary>ip_ignore_linkdown / ip6_ignore_linkdown for the path's own family.</summary>
    private static bool IgnoreLinkdown(NetDevice dev, int family) =>
        family == AF_INET ? dev.Net.Ipv4.IgnoreLinkdown(dev) : dev.Net.Ipv6.IgnoreLinkdown(dev);

    /// <summary>fib_nexthop_info: RTA_GATEWAY/RTA_VIA and RTA_OIF of a path; returns its RTNH_F_* flags.</summary>
    private static uint NexthopInfo(NlWriter w, Nexthop nh, int rtFamily, int nhFamily, bool skipOif)
    {
        uint flags = 0;
        if ((nh.Flags & RTNH_F_DEAD) != 0) flags |= (uint)RTNH_F_DEAD;
        if ((nh.Flags & RTNH_F_LINKDOWN) != 0)
        {
            flags |= (uint)RTNH_F_LINKDOWN;
            if (nh.Dev != null && IgnoreLinkdown(nh.Dev, nhFamily)) flags |= (uint)RTNH_F_DEAD;
        }
        if (nh.GwFamily == AF_INET) w.PutBe32(RTA_GATEWAY, (uint)nh.Gateway);
        else if (nh.GwFamily == AF_INET6)
        {
            if (rtFamily != AF_INET6)
            {
                var via = w.ReserveAttr(RTA_VIA, 18);
                BinaryPrimitives.WriteUInt16LittleEndian(via, (ushort)AF_INET6);
                Inet.V6(nh.Gateway, via[2..]);
            }
            else
            {
                Span<byte> a = stackalloc byte[16];
                Inet.V6(nh.Gateway, a);
                w.PutBytes(RTA_GATEWAY, a);
            }
        }
        flags |= nh.Flags & (uint)(RTNH_F_ONLINK | RTNH_F_OFFLOAD | RTNH_F_TRAP);
        if (!skipOif && nh.Dev != null) w.PutU32(RTA_OIF, (uint)nh.Dev.Ifindex);
        return flags;
    }

    /// <summary>fib_add_nexthop: one rtnexthop of RTA_MULTIPATH.</summary>
    private static void AddNexthop(NlWriter w, Nexthop nh, uint weight, int rtFamily, int nhFamily, uint tclassid)
    {
        int rtnhStart = w.Length;
        w.Reserve(RtnhSize);
        uint flags = NexthopInfo(w, nh, rtFamily, nhFamily, skipOif: true);
        if (tclassid != 0) w.PutU32(RTA_FLOW, tclassid);
        var hdr = w.At(rtnhStart, RtnhSize);
        BinaryPrimitives.WriteUInt16LittleEndian(hdr, (ushort)(w.Length - rtnhStart));
        hdr[2] = (byte)flags;
        hdr[3] = (byte)(weight - 1);
        BinaryPrimitives.WriteInt32LittleEndian(hdr[4..], nh.Dev?.Ifindex ?? 0);
    }

    /// <summary>The family of the path structures of a route (fib_nh / fib6_nh / nh_info).</summary>
    private static int PathFamily(Route r, int i)
    {
        if (r.Nh == null) return r.Family;
        var member = r.Nh.IsGroup ? r.Nh.Group![i].Nh : r.Nh;
        return member.Family;
    }

    /// <summary>fib_dump_info.</summary>
    public static void FillRoute4(NlWriter w, Route r, Net net, int type, uint pid, uint seq, int flags,
        uint? tableId = null, uint? dst = null, byte? dstLen = null, byte? rtType = null)
    {
        int start = w.BeginMessage(type, flags, seq, pid);
        int rtmOff = w.Length;
        uint tb = tableId ?? r.Table;
        var rtm = new RtMsg
        {
            Family = (byte)AF_INET, DstLen = dstLen ?? r.DstLen, Tos = r.Tos,
            Table = (byte)(tb < 256 ? tb : RT_TABLE_COMPAT), Type = rtType ?? r.Type, Flags = r.Flags,
            Scope = r.Scope, Protocol = r.Protocol,
        };
        rtm.Write(w.Reserve(RtMsg.Size));
        w.PutU32(RTA_TABLE, tb);
        if (rtm.DstLen != 0) w.PutBe32(RTA_DST, dst ?? (uint)r.Dst);
        if (r.Priority != 0) w.PutU32(RTA_PRIORITY, r.Priority);
        PutMetrics(w, r.Metrics);
        if (r.HasPrefSrc) w.PutBe32(RTA_PREFSRC, (uint)r.PrefSrc);
        if (r.Nh != null)
        {
            w.PutU32(RTA_NH_ID, r.Nh.Id);
            if (r.Nh.IsBlackhole) rtm.Type = (byte)RTN_BLACKHOLE;
        }
        int nhs = r.PathCount;
        if (nhs == 1)
        {
            var (nh, _) = r.Path(0);
            uint nf = NexthopInfo(w, nh, AF_INET, PathFamily(r, 0), false);
            rtm.Flags = nf;
            if (r.Nh == null && nh.Realm != 0) w.PutU32(RTA_FLOW, nh.Realm);
        }
        else
        {
            int mp = w.BeginNest(RTA_MULTIPATH);
            for (int i = 0; i < nhs; i++)
            {
                var (nh, weight) = r.Path(i);
                AddNexthop(w, nh, weight, AF_INET, PathFamily(r, i), r.Nh == null ? nh.Realm : 0);
            }
            w.EndNest(mp);
        }
        rtm.Write(w.At(rtmOff, RtMsg.Size));
        w.EndMessage(start);
    }

    /// <summary>rt6_fill_node for a FIB entry (no dst).</summary>
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
        if ((r.Flags & RTF_CACHE) != 0) rtm.Flags |= (uint)RTM_F_CLONED;
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
        rtm.Flags |= PutPaths6(w, r);
        long expires = 0;
        if ((r.Flags & RTF_EXPIRES) != 0 && r.ExpiresMs != 0) expires = r.ExpiresMs - net.Kernel.Clock.NowMs;
        PutCacheinfo(w, false, expires, 0);
        w.PutU8(RTA_PREF, r.Pref);
        rtm.Write(w.At(rtmOff, RtMsg.Size));
        w.EndMessage(start);
    }

    /// <summary>The path part of rt6_fill_node for a FIB entry: siblings, nexthop object or the single path.</summary>
    private static uint PutPaths6(NlWriter w, Route r)
    {
        if (r.Siblings != null)
        {
            int mp = w.BeginNest(RTA_MULTIPATH);
            var g = r.Siblings;
            int at = g.IndexOf(r);
            for (int k = 0; k < g.Count; k++)
            {
                var s = g[(at + k) % g.Count];
                AddNexthop(w, s.FirstNh!, s.FirstNh!.Weight, AF_INET6, AF_INET6, 0);
            }
            w.EndNest(mp);
            return 0;
        }
        if (r.Nh != null)
        {
            w.PutU32(RTA_NH_ID, r.Nh.Id);
            uint f = 0;
            if (r.Nh.IsGroup)
            {
                int mp = w.BeginNest(RTA_MULTIPATH);
                foreach (var e in r.Nh.Group!) AddNexthop(w, e.Nh.Info!, e.Weight, AF_INET6, e.Nh.Family, 0);
                w.EndNest(mp);
            }
            else f = NexthopInfo(w, r.Nh.Info!, AF_INET6, r.Nh.Family, false);
            return f;
        }
        var nh = r.FirstNh;
        return nh == null ? 0 : NexthopInfo(w, nh, AF_INET6, AF_INET6, false);
    }

    /// <summary>rt6_fill_node for the route a lookup made (ip -6 route get).</summary>
    private static void FillRt6Info(NlWriter w, RouteGet6 got, int iif, Net net, uint pid, uint seq)
    {
        var rt = got.Rt;
        var r = rt.From;
        var fl = got.Flow;
        int start = w.BeginMessage(RTM_NEWROUTE, 0, seq, pid);
        int rtmOff = w.Length;
        var rtm = new RtMsg
        {
            Family = (byte)AF_INET6, DstLen = 128, SrcLen = 128,
            Table = (byte)(r.Table < 256 ? r.Table : RT_TABLE_COMPAT), Type = r.Type,
            Scope = (byte)RT_SCOPE_UNIVERSE, Protocol = r.Protocol,
        };
        rtm.Write(w.Reserve(RtMsg.Size));
        w.PutU32(RTA_TABLE, r.Table);
        Span<byte> a = stackalloc byte[16];
        Inet.V6(fl.Daddr, a);
        w.PutBytes(RTA_DST, a);
        Inet.V6(fl.Saddr, a);
        w.PutBytes(RTA_SRC, a);
        if (iif != 0) w.PutU32(RTA_IIF, (uint)iif);
        else if (net.Ipv6.RouteGetSaddr(r, fl.Daddr, out var saddr))
        {
            Inet.V6(saddr, a);
            w.PutBytes(RTA_PREFSRC, a);
        }
        if (r.HasPrefSrc)
        {
            Inet.V6(r.PrefSrc, a);
            w.PutBytes(RTA_PREFSRC, a);
        }
        PutMetrics(w, r.Metrics);
        w.PutU32(RTA_PRIORITY, r.Priority);
        if (rt.HasGateway)
        {
            Inet.V6(rt.Gateway, a);
            w.PutBytes(RTA_GATEWAY, a);
        }
        if (rt.Dev != null) w.PutU32(RTA_OIF, (uint)rt.Dev.Ifindex);
        long expires = 0;
        if ((r.Flags & RTF_EXPIRES) != 0 && r.ExpiresMs != 0) expires = r.ExpiresMs - net.Kernel.Clock.NowMs;
        PutCacheinfo(w, true, expires, 0);
        w.PutU8(RTA_PREF, r.Pref);
        rtm.Write(w.At(rtmOff, RtMsg.Size));
        w.EndMessage(start);
    }
}
