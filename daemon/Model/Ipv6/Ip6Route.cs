using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv6;

/// <summary>The route an IPv6 lookup builds (the rt6_info `ip -6 route get` shows): the FIB entry it
/// came from, the chosen path and the device.</summary>
public sealed class Rt6Info
{
    public required Route From;
    public required Nexthop Nh;
    public NetDevice? Dev;
    public bool HasGateway;
    public UInt128 Gateway;
    /// <summary>dst.error as a positive errno (0 = none).</summary>
    public int Error;
}

// net/ipv6/route.c and ip6_fib.c: adding, deleting, flushing and looking up IPv6 routes.
public sealed partial class Ipv6Net
{
    // ---- ipv6_addr_type helpers --------------------------------------------------------------

    private static bool IsMapped(UInt128 a) => Inet.IsV4Mapped(a);

    /// <summary>ipv6_addr_type & IPV6_ADDR_UNICAST for a gateway (not multicast, not any).</summary>
    private static bool IsUnicastOrMapped(UInt128 a) => !Inet.IsV6Multicast(a) && a != UInt128.Zero;

    /// <summary>rt6_need_strict: multicast, link-local and loopback destinations need the interface.</summary>
    private static bool NeedStrict(UInt128 a) => Inet.IsV6Multicast(a) || Inet.IsV6LinkLocal(a) || Inet.IsV6Loopback(a);

    /// <summary>ipv6_chk_addr_and_flags: is <paramref name="addr"/> a (non-tentative) address here?
    /// With a device, the address must be on it unless it has a global scope (and not
    /// <paramref name="strict"/>); <paramref name="skipDevCheck"/> accepts any device.</summary>
    public bool ChkAddr(UInt128 addr, NetDevice? dev, bool skipDevCheck = false, bool strict = false)
    {
        if (_addrLst == null || !_addrLst.TryGetValue(addr, out var chain)) return false;
        foreach (var ifa in chain)
        {
            if (ifa.Dev.Net != Net) continue;
            if ((ifa.Flags & IFA_F_TENTATIVE) != 0 && (ifa.Flags & IFA_F_OPTIMISTIC) == 0) continue;
            bool linkOrHost = ifa.Scope is RT_SCOPE_LINK or RT_SCOPE_HOST;
            if (dev == null || skipDevCheck || ifa.Dev == dev || !(linkOrHost || strict)) return true;
        }
        return false;
    }

    /// <summary>inet6_addr_lst: the namespace's addresses by value (every device).</summary>
    private Dictionary<UInt128, List<Inet6IfAddr>>? _addrLst; // made with the first address

    internal void AddrHashAdd(Inet6IfAddr ifa)
    {
        _addrLst ??= new();
        if (!_addrLst.TryGetValue(ifa.Addr, out var l)) _addrLst[ifa.Addr] = l = new List<Inet6IfAddr>(1);
        l.Add(ifa);
    }

    internal void AddrHashRemove(Inet6IfAddr ifa)
    {
        if (_addrLst != null && _addrLst.TryGetValue(ifa.Addr, out var l) && l.Remove(ifa) && l.Count == 0) _addrLst.Remove(ifa.Addr);
    }

    // ---- creating a route --------------------------------------------------------------------

    /// <summary>fib6_is_reject.</summary>
    private static bool Fib6IsReject(uint flags, NetDevice? dev, UInt128 dst) =>
        (flags & RTF_REJECT) != 0 ||
        (dev != null && dev.IsLoopback && !Inet.IsV6Loopback(dst) && (flags & (RTF_ANYCAST | unchecked((uint)RTF_LOCAL))) == 0);

    /// <summary>fib6_nh_init: resolves and checks a path. <paramref name="gateway"/> null = no
    /// gateway. With <paramref name="probeOnly"/> the IPv4 code checks an IPv6 gateway
    /// (fib_check_nh_v6_gw).</summary>
    public KErr Fib6NhInit(Nexthop nh, int oif, UInt128? gateway, uint flags, bool reject, uint table,
        bool probeOnly = false, UInt128 dst = default, bool ignoreDevDown = false)
    {
        NetDevice? dev = null;
        if (oif != 0)
        {
            dev = Net.GetDevice(oif);
            if (dev == null) return new KErr(Errno.ENODEV);
            if (dev.Ip6 == null) return new KErr(Errno.ENODEV);
        }
        if ((flags & RTNH_F_ONLINK) != 0)
        {
            if (dev == null) return new KErr(Errno.ENODEV, "Nexthop device required for onlink");
            if (!dev.IsUp) return new KErr(Errno.ENETDOWN, "Nexthop device is not up");
            nh.Flags |= (uint)RTNH_F_ONLINK;
        }
        nh.Weight = 1;
        if (reject || Fib6IsReject(flags, dev, dst))
        {
            dev = Net.Loopback;
            if (dev.Ip6 == null) return new KErr(Errno.ENODEV);
            nh.Dev = dev;
            nh.Oif = dev.Ifindex;
            return KErr.Ok;
        }
        if (gateway is UInt128 gw)
        {
            var err = Ip6ValidateGw(gw, flags, table, ref dev);
            if (err.Failed) return err;
            nh.GwFamily = (byte)AF_INET6;
            nh.Gateway = gw;
        }
        if (dev == null) return new KErr(Errno.ENODEV);
        var idev = dev.Ip6;
        if (idev == null || idev.Cnf[DEVCONF_DISABLE_IPV6] != 0)
            return new KErr(Errno.EACCES, "IPv6 is disabled on nexthop device");
        if (!dev.IsUp && !ignoreDevDown) return new KErr(Errno.ENETDOWN, "Nexthop device is not up");
        if ((flags & (unchecked((uint)RTF_LOCAL) | RTF_ANYCAST)) == 0 && !dev.Carrier) nh.Flags |= (uint)RTNH_F_LINKDOWN;
        nh.Dev = dev;
        nh.Oif = dev.Ifindex;
        _ = probeOnly;
        return KErr.Ok;
    }

    /// <summary>ip6_validate_gw.</summary>
    private KErr Ip6ValidateGw(UInt128 gw, uint flags, uint table, ref NetDevice? dev)
    {
        bool linkLocal = Inet.IsV6LinkLocal(gw);
        bool skipDev = !linkLocal;
        bool needAddrCheck = dev == null;
        if (dev != null && ChkAddr(gw, skipDev ? null : dev, skipDev))
            return new KErr(Errno.EINVAL, "Gateway can not be a local address");
        if (!(linkLocal && !Inet.IsV6Multicast(gw)))
        {
            if (!IsUnicastOrMapped(gw)) return new KErr(Errno.EINVAL, "Invalid gateway address");
            KErr err = (flags & RTNH_F_ONLINK) != 0 ? Ip6RouteCheckNhOnlink(gw, table, dev) : Ip6RouteCheckNh(gw, table, ref dev);
            if (err.Failed) return err;
        }
        if (dev == null) return new KErr(Errno.EINVAL, "Egress device not specified");
        if (dev.IsLoopback) return new KErr(Errno.EINVAL, "Egress device can not be loopback device for this route");
        if (needAddrCheck && ChkAddr(gw, skipDev ? null : dev, skipDev))
            return new KErr(Errno.EINVAL, "Gateway can not be a local address");
        return KErr.Ok;
    }

    /// <summary>ip6_route_check_nh: the gateway must be on a connected, non-reject route (in the
    /// route's table first, else through the rules); the device follows from it.</summary>
    private KErr Ip6RouteCheckNh(UInt128 gw, uint table, ref NetDevice? dev)
    {
        var fl = new FlowI6 { Daddr = gw, Oif = dev?.Ifindex ?? 0 };
        Lookup6? res = null;
        bool ok = false;
        if (table != 0 && GetTable(table) is { } tb)
        {
            res = Fib6TableLookup(tb, fl, strictIface: true, ignoreLinkState: false);
            ok = res != null && (res.Route.Flags & RTF_REJECT) == 0 && !res.Nh.HasGateway && (dev == null || dev == res.Nh.Dev);
        }
        if (!ok)
        {
            res = Fib6Lookup(fl, strictIface: true);
            if (res == null || (res.Route.Flags & RTF_REJECT) != 0 || res.Nh.HasGateway)
                return new KErr(Errno.EHOSTUNREACH);
            Fib6SelectPath(res, fl);
        }
        if (dev != null)
        {
            if (dev != res!.Nh.Dev) return new KErr(Errno.EHOSTUNREACH);
        }
        else dev = res!.Nh.Dev;
        return KErr.Ok;
    }

    /// <summary>ip6_route_check_nh_onlink.</summary>
    private KErr Ip6RouteCheckNhOnlink(UInt128 gw, uint table, NetDevice? dev)
    {
        uint tbid = table != 0 ? table : (uint)RT_TABLE_MAIN;
        var tb = GetTable(tbid);
        if (tb == null) return KErr.Ok;
        var res = Fib6TableLookup(tb, new FlowI6 { Daddr = gw, Oif = dev?.Ifindex ?? 0 }, strictIface: false, ignoreLinkState: true);
        if (res != null && res.Route.Type != RTN_UNICAST && res.Route.DstLen != 0)
            return new KErr(Errno.EINVAL, "Nexthop has invalid gateway or device mismatch");
        if (res != null && res.Route.DstLen != 0 && res.Nh.Dev != dev && res.Route.Type == RTN_UNICAST)
            return new KErr(Errno.EINVAL, "Nexthop has invalid gateway or device mismatch");
        return KErr.Ok;
    }

    /// <summary>fib6_check_nexthop: a nexthop object an IPv6 route may use.</summary>
    public static KErr Fib6CheckNexthop(NexthopObj nh)
    {
        bool fdb;
        if (nh.IsGroup)
        {
            if (nh.HasV4) return new KErr(Errno.EINVAL, "IPv6 routes can not use an IPv4 nexthop");
            fdb = nh.Fdb;
        }
        else
        {
            if (nh.Family == AF_INET) return new KErr(Errno.EINVAL, "IPv6 routes can not use an IPv4 nexthop");
            fdb = nh.Fdb;
        }
        if (fdb) return new KErr(Errno.EINVAL, "Route cannot point to a fdb nexthop");
        return KErr.Ok;
    }

    /// <summary>ip6_route_info_create: checks a request and builds the fib6_info.</summary>
    public KErr Ip6RouteInfoCreate(Fib6Config cfg, out Route? route)
    {
        route = null;
        if ((cfg.Flags & RTF_PCPU) != 0) return new KErr(Errno.EINVAL, "Userspace can not set RTF_PCPU");
        if ((cfg.Flags & RTF_CACHE) != 0) return new KErr(Errno.EINVAL, "Userspace can not set RTF_CACHE");
        if (cfg.Type > RTN_MAX) return new KErr(Errno.EINVAL, "Invalid route type");
        if (cfg.DstLen > 128) return new KErr(Errno.EINVAL, "Invalid prefix length");
        if (cfg.SrcLen > 128) return new KErr(Errno.EINVAL, "Invalid source address length");
        NexthopObj? nhObj = null;
        if (cfg.NhId != 0)
        {
            nhObj = Net.NexthopFindById(cfg.NhId);
            if (nhObj == null) return new KErr(Errno.EINVAL, "Nexthop id does not exist");
            var e = Fib6CheckNexthop(nhObj);
            if (e.Failed) return e;
        }
        uint table = cfg.Table == 0 ? (uint)RT_TABLE_MAIN : cfg.Table;
        if (cfg.FromUser && (cfg.NlFlags & NLM_F_CREATE) == 0 && GetTable(table) == null) NewTable(table);
        var r = new Route
        {
            Family = (byte)AF_INET6, Table = table, Dst = cfg.Dst & Inet.Mask6(cfg.DstLen), DstLen = cfg.DstLen,
            Src = cfg.Src & Inet.Mask6(cfg.SrcLen), SrcLen = cfg.SrcLen,
            Protocol = cfg.Protocol == RTPROT_UNSPEC ? (byte)RTPROT_BOOT : cfg.Protocol,
            Type = cfg.Type == 0 ? (byte)RTN_UNICAST : cfg.Type, Priority = cfg.Metric,
            Flags = cfg.Flags & ~(uint)RTF_GATEWAY & ~(uint)RTNH_F_ONLINK, PrefSrc = cfg.PrefSrc, HasPrefSrc = cfg.HasPrefSrc,
            ExpiresMs = (cfg.Flags & RTF_EXPIRES) != 0 ? cfg.ExpiresMs : 0,
            Pref = cfg.Pref, Metrics = cfg.Metrics, NhId = cfg.NhId, Seq = NextRouteSeq(),
        };
        NetDevice? nhDev;
        if (nhObj != null)
        {
            if (r.SrcLen != 0) return new KErr(Errno.EINVAL, "Nexthops can not be used with source routing");
            r.Nh = nhObj;
            nhDev = nhObj.FirstPath?.Dev;
        }
        else
        {
            var nh = new Nexthop();
            bool reject = (cfg.Flags & RTF_REJECT) != 0;
            var err = Fib6NhInit(nh, cfg.Ifindex, cfg.HasGateway ? cfg.Gateway : null, cfg.Flags | (cfg.RtmFlags & (uint)RTNH_F_ONLINK),
                reject, table, dst: cfg.Dst, ignoreDevDown: cfg.IgnoreDevDown);
            if (err.Failed) return err;
            r.Nexthops.Add(nh);
            if (Fib6IsReject(cfg.Flags, nh.Dev, cfg.Dst)) r.Flags = (uint)(RTF_REJECT | RTF_NONEXTHOP);
            nhDev = nh.Dev;
        }
        if (cfg.HasPrefSrc && cfg.PrefSrc != UInt128.Zero)
        {
            if (!ChkAddr(cfg.PrefSrc, nhDev)) return new KErr(Errno.EINVAL, "Invalid source address");
        }
        else
        {
            r.HasPrefSrc = false;
            r.PrefSrc = UInt128.Zero;
        }
        route = r;
        return KErr.Ok;
    }

    /// <summary>rt6_qualify_for_ecmp: static routes with a gateway can be ECMP siblings.</summary>
    private static bool QualifiesForEcmp(Route r) =>
        (r.Flags & RTF_ADDRCONF) == 0 && r.Nh == null && r.FirstNh is { HasGateway: true };

    /// <summary>rt6_duplicate_nexthop.</summary>
    internal static bool DuplicateNexthop(Route a, Route b)
    {
        if (a.Nh != null || b.Nh != null) return a.Nh == b.Nh;
        var x = a.FirstNh;
        var y = b.FirstNh;
        if (x == null || y == null) return x == y;
        return x.Dev == y.Dev && x.Gateway == y.Gateway;
    }

    /// <summary>fib6_add / fib6_add_rt2node: inserts <paramref name="rt"/> under the NLM_F_* flags
    /// of the request; equal-metric gateway routes become ECMP siblings. Returns the notification
    /// flags (NLM_F_*) or an error.</summary>
    private KErr Fib6Add(Fib6Table tb, Route rt, ushort reqFlags, bool fromUser, bool skipNotify, out ushort nlflagsOut)
    {
        nlflagsOut = 0;
        bool replace = fromUser && (reqFlags & NLM_F_REPLACE) != 0;
        bool add = !fromUser || (reqFlags & NLM_F_CREATE) != 0;
        bool append = fromUser && (reqFlags & NLM_F_APPEND) != 0;
        bool excl = fromUser && (reqFlags & NLM_F_EXCL) != 0;
        if (replace && !add && tb.FindNode(rt.Dst, rt.DstLen, rt.Src, rt.SrcLen) == null)
            return new KErr(Errno.ENOENT, "Can not replace route - no match found");
        var node = tb.GetOrAddNode(rt);
        var leaf = node.Leaf;
        bool canEcmp = QualifiesForEcmp(rt);
        ushort nlflags = (ushort)NLM_F_EXCL;
        if (append) nlflags |= (ushort)NLM_F_APPEND;
        int ins = 0, found = -1, fallback = -1;
        int nsiblings = 0;
        int i = 0;
        for (; i < leaf.Count; i++)
        {
            var iter = leaf[i];
            if (iter.Priority == rt.Priority)
            {
                if (excl) { tb.DropNode(node); return new KErr(Errno.EEXIST); }
                nlflags &= unchecked((ushort)~NLM_F_EXCL);
                if (replace)
                {
                    if (canEcmp == QualifiesForEcmp(iter)) { found = i; break; }
                    if (fallback < 0) fallback = i;
                    ins = i + 1;
                    continue;
                }
                if (DuplicateNexthop(iter, rt))
                {
                    if ((iter.Flags & RTF_EXPIRES) == 0) return new KErr(Errno.EEXIST);
                    if ((rt.Flags & RTF_EXPIRES) == 0) { iter.Flags &= ~(uint)RTF_EXPIRES; iter.ExpiresMs = 0; }
                    else iter.ExpiresMs = rt.ExpiresMs;
                    return new KErr(Errno.EEXIST);
                }
                if (canEcmp && QualifiesForEcmp(iter)) nsiblings++;
            }
            if (iter.Priority > rt.Priority) break;
            ins = i + 1;
        }
        if (replace && found < 0 && fallback >= 0)
        {
            found = fallback;
            ins = fallback;
        }
        if (nsiblings > 0)
        {
            // join the ECMP group: the first route of this metric that qualifies
            foreach (var s in leaf)
            {
                if (s.Priority != rt.Priority || !QualifiesForEcmp(s)) continue;
                var group = s.Siblings ??= new List<Route> { s };
                group.Add(rt);
                rt.Siblings = group;
                break;
            }
        }
        if (!replace)
        {
            nlflags |= (ushort)NLM_F_CREATE;
            tb.LinkAt(node, ins, rt);
            rt.Nh?.Routes.Add(rt);
            if (!skipNotify) Net.Events.Route(Net, rt, NotifyKind(nlflags));
            nlflagsOut = nlflags;
            return KErr.Ok;
        }
        if (found < 0)
        {
            if (add)
            {
                nlflags |= (ushort)NLM_F_CREATE;
                tb.LinkAt(node, ins, rt);
                rt.Nh?.Routes.Add(rt);
                if (!skipNotify) Net.Events.Route(Net, rt, NotifyKind(nlflags));
                nlflagsOut = nlflags;
                return KErr.Ok;
            }
            tb.DropNode(node);
            return new KErr(Errno.ENOENT, "Can not replace route - no match found");
        }
        var old = leaf[found];
        // a replaced route leaves its sibling group
        if (rt.Siblings != null && old.Siblings == rt.Siblings)
        {
            rt.Siblings.Remove(rt);
            rt.Siblings = null;
        }
        tb.ReplaceAt(node, found, rt);
        rt.Nh?.Routes.Add(rt);
        old.Nh?.Routes.Remove(old);
        if (!skipNotify) Net.Events.Route(Net, rt, RouteEventKind.Replace);
        nlflagsOut = (ushort)NLM_F_REPLACE;
        var oldSiblings = old.Siblings;
        if (oldSiblings != null)
        {
            UnlinkSibling(old);
            // replacing an ECMP route removes all its siblings (every ECMP-able route after it with
            // the same metric)
            for (int j = found + 1; j < leaf.Count;)
            {
                var it = leaf[j];
                if (it.Priority > rt.Priority) break;
                if (QualifiesForEcmp(it))
                {
                    UnlinkSibling(it);
                    tb.RemoveAt(node, j);
                    it.Nh?.Routes.Remove(it);
                    continue;
                }
                j++;
            }
        }
        return KErr.Ok;
    }

    private static RouteEventKind NotifyKind(ushort nlflags) =>
        (nlflags & NLM_F_REPLACE) != 0 ? RouteEventKind.Replace :
        (nlflags & NLM_F_APPEND) != 0 ? RouteEventKind.Append :
        (nlflags & NLM_F_EXCL) != 0 ? RouteEventKind.New : RouteEventKind.Create;

    /// <summary>Takes a route out of its ECMP group.</summary>
    private static void UnlinkSibling(Route r)
    {
        var g = r.Siblings;
        if (g == null) return;
        g.Remove(r);
        r.Siblings = null;
        if (g.Count == 1) g[0].Siblings = null;
    }

    /// <summary>__ip6_ins_rt / fib6_add: inserts an already built route and notifies (addrconf's path).</summary>
    public KErr Ip6InsRt(Route r, ushort nlflags)
    {
        var tb = NewTable(r.Table == 0 ? (uint)RT_TABLE_MAIN : r.Table);
        return Fib6Add(tb, r, nlflags, false, false, out _);
    }

    /// <summary>ip6_route_add.</summary>
    public KErr Ip6RouteAdd(Fib6Config cfg, out Route? route)
    {
        var err = Ip6RouteInfoCreate(cfg, out route);
        if (err.Failed) return err;
        var tb = NewTable(route!.Table);
        err = Fib6Add(tb, route, cfg.NlFlags, cfg.FromUser, false, out _);
        if (err.Failed) route = null;
        return err;
    }

    /// <summary>ip6_route_multipath_add: one route per path, inserted one after the other (the
    /// first with the request's flags, the others appended), announced once with every path.</summary>
    public KErr Ip6RouteMultipathAdd(Fib6Config cfg)
    {
        var list = new List<Route>();
        foreach (var m in cfg.Multipath!)
        {
            var r = new Fib6Config
            {
                Table = cfg.Table, Metric = cfg.Metric, DstLen = cfg.DstLen, SrcLen = cfg.SrcLen, Dst = cfg.Dst, Src = cfg.Src,
                Ifindex = m.Oif != 0 ? m.Oif : cfg.Ifindex, Flags = cfg.Flags, Protocol = cfg.Protocol, Type = cfg.Type,
                PrefSrc = cfg.PrefSrc, HasPrefSrc = cfg.HasPrefSrc, ExpiresMs = cfg.ExpiresMs, Pref = cfg.Pref,
                NlFlags = cfg.NlFlags, Metrics = cfg.Metrics, FromUser = cfg.FromUser,
                RtmFlags = cfg.RtmFlags | (m.Flags & (uint)RTNH_F_ONLINK),
                Gateway = cfg.Gateway, HasGateway = cfg.HasGateway,
            };
            if (m.GwFamily == AF_INET6)
            {
                r.Gateway = m.Gateway;
                r.HasGateway = true;
                r.Flags |= (uint)RTF_GATEWAY;
            }
            var err = Ip6RouteInfoCreate(r, out var rt);
            if (err.Failed) return err;
            if (!QualifiesForEcmp(rt!))
                return new KErr(Errno.EINVAL, "Device only routes can not be added for IPv6 using the multipath API.");
            rt!.FirstNh!.Weight = m.Weight;
            foreach (var other in list)
                if (DuplicateNexthop(other, rt)) return new KErr(Errno.EEXIST);
            list.Add(rt);
        }
        if (list.Count == 0) return new KErr(Errno.EINVAL, "Invalid nexthop configuration - no valid nexthops");
        ushort flags = cfg.NlFlags;
        Route? notif = null;
        ushort notifFlags = 0;
        var added = new List<Route>();
        foreach (var rt in list)
        {
            var tb = NewTable(rt.Table);
            var err = Fib6Add(tb, rt, flags, cfg.FromUser, true, out var nlf);
            if (err.Failed)
            {
                // add_errout: delete the routes added so far
                foreach (var a in added) Ip6DelRtSilent(a);
                return err;
            }
            if (notif == null) { notif = rt; notifFlags = nlf; }
            added.Add(rt);
            flags = (ushort)((flags & ~(NLM_F_EXCL | NLM_F_REPLACE)) | NLM_F_CREATE);
        }
        if (notif != null)
        {
            bool append = (cfg.NlFlags & NLM_F_APPEND) != 0;
            var kind = (notifFlags & NLM_F_REPLACE) != 0 ? RouteEventKind.Replace : append ? RouteEventKind.Append : NotifyKind(notifFlags);
            Net.Events.Route(Net, notif, kind);
        }
        return KErr.Ok;
    }

    /// <summary>ip6_del_rt / fib6_del_route: unlinks one route (leaving its ECMP group) and notifies.</summary>
    public void Ip6DelRt(Route r)
    {
        if (r.Dead) return;
        var tb = GetTable(r.Table);
        if (tb == null) return;
        UnlinkSibling(r);
        Net.Events.Route(Net, r, RouteEventKind.Delete);
        tb.Remove(r);
        r.Nh?.Routes.Remove(r);
    }

    private void Ip6DelRtSilent(Route r)
    {
        if (r.Dead) return;
        UnlinkSibling(r);
        GetTable(r.Table)?.Remove(r);
        r.Nh?.Routes.Remove(r);
    }

    /// <summary>__ip6_del_rt_siblings: a route and all its ECMP siblings, announced once.</summary>
    private void Ip6DelRtSiblings(Route r, bool deleteAll)
    {
        if (r.Siblings == null || !deleteAll)
        {
            Ip6DelRt(r);
            return;
        }
        Net.Events.Route(Net, r, RouteEventKind.Delete);
        foreach (var s in r.Siblings.ToArray())
            if (s != r) Ip6DelRtSilent(s);
        Ip6DelRtSilent(r);
    }

    /// <summary>ip6_route_del.</summary>
    public KErr Ip6RouteDel(Fib6Config cfg)
    {
        var tb = GetTable(cfg.Table == 0 ? (uint)RT_TABLE_MAIN : cfg.Table);
        if (tb == null) return new KErr(Errno.ESRCH, "FIB table does not exist");
        var node = tb.FindNode(cfg.Dst, cfg.DstLen, cfg.Src, cfg.SrcLen);
        if (node == null) return new KErr(Errno.ESRCH);
        foreach (var rt in node.Leaf.ToArray())
        {
            if (rt.Nh != null && cfg.NhId != 0 && rt.Nh.Id != cfg.NhId) continue;
            if (cfg.Metric != 0 && cfg.Metric != rt.Priority) continue;
            if (cfg.Protocol != 0 && cfg.Protocol != rt.Protocol) continue;
            if (rt.Nh != null)
            {
                Ip6DelRt(rt);
                return KErr.Ok;
            }
            if (cfg.NhId != 0) continue;
            var nh = rt.FirstNh;
            if (cfg.Ifindex != 0 && (nh?.Dev == null || nh.Dev.Ifindex != cfg.Ifindex)) continue;
            if ((cfg.Flags & RTF_GATEWAY) != 0 && (nh == null || nh.Gateway != cfg.Gateway)) continue;
            if ((cfg.Flags & RTF_GATEWAY) != 0)
            {
                Ip6DelRt(rt);
                return KErr.Ok;
            }
            Ip6DelRtSiblings(rt, cfg.DeleteAllNh);
            return KErr.Ok;
        }
        return new KErr(Errno.ESRCH);
    }

    /// <summary>ip6_route_multipath_del: each path of the request is deleted on its own; the last
    /// error is returned.</summary>
    public KErr Ip6RouteMultipathDel(Fib6Config cfg)
    {
        KErr last = KErr.Ok;
        foreach (var m in cfg.Multipath!)
        {
            var r = new Fib6Config
            {
                Table = cfg.Table, Metric = cfg.Metric, DstLen = cfg.DstLen, SrcLen = cfg.SrcLen, Dst = cfg.Dst, Src = cfg.Src,
                Ifindex = m.Oif != 0 ? m.Oif : cfg.Ifindex, Flags = cfg.Flags, Protocol = cfg.Protocol, FromUser = true,
            };
            if (m.GwFamily == AF_INET6)
            {
                r.Gateway = m.Gateway;
                r.Flags |= (uint)RTF_GATEWAY;
            }
            var err = Ip6RouteDel(r);
            if (err.Failed) last = err;
        }
        return last;
    }

    // ---- device state ------------------------------------------------------------------------

    /// <summary>ip6_ignore_linkdown.</summary>
    public bool IgnoreLinkdown(NetDevice? dev) =>
        dev?.Ip6 is { } i && (All[DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN] != 0 || i.Cnf[DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN] != 0);

    /// <summary>rt6_sync_down_dev / fib6_ifdown: routes through <paramref name="dev"/> go (DOWN,
    /// UNREGISTER) or are marked linkdown (CHANGE). On DOWN an ECMP route only loses the paths
    /// through the device (marked dead), and goes when none is left.</summary>
    internal void Rt6SyncDownDev(NetDevice dev, NetdevEvent ev)
    {
        foreach (var tb in _tables.Values)
            foreach (var r in tb.RouteList())
            {
                if (r.Dead || r.Nh != null) continue;
                var nh = r.FirstNh;
                if (nh == null) continue;
                switch (ev)
                {
                    case NetdevEvent.Unregister:
                        if (nh.Dev == dev) Ip6DelRt(r);
                        break;
                    case NetdevEvent.Down:
                        if (r.Siblings == null)
                        {
                            if (nh.Dev == dev) Ip6DelRt(r);
                            break;
                        }
                        var group = r.Siblings;
                        if (group[0] != r || !group.Exists(s => s.FirstNh?.Dev == dev)) break;
                        int dead = group.Count(s => s.FirstNh!.Dev == dev || (s.FirstNh.Flags & RTNH_F_DEAD) != 0);
                        if (dead == group.Count)
                        {
                            foreach (var s in group.ToArray()) Ip6DelRt(s);
                            break;
                        }
                        foreach (var s in group)
                            if (s.FirstNh!.Dev == dev) s.FirstNh.Flags |= (uint)(RTNH_F_DEAD | RTNH_F_LINKDOWN);
                        break;
                    case NetdevEvent.Change:
                        if (nh.Dev != dev || (r.Flags & (RTF_LOCAL | RTF_ANYCAST)) != 0) break;
                        nh.Flags |= (uint)RTNH_F_LINKDOWN;
                        break;
                }
            }
    }

    /// <summary>rt6_sync_up: paths through the device come back (RTNH_F_LINKDOWN with the carrier).</summary>
    internal void Rt6SyncUp(NetDevice dev, uint nhFlags)
    {
        if ((nhFlags & RTNH_F_DEAD) != 0 && dev.Carrier) nhFlags |= (uint)RTNH_F_LINKDOWN;
        foreach (var tb in _tables.Values)
            foreach (var r in tb.RouteList())
            {
                if (r.Nh != null) continue;
                foreach (var nh in r.Nexthops)
                    if (nh.Dev == dev) nh.Flags &= ~nhFlags;
            }
    }
}
