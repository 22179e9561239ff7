using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv4;

// net/ipv4/fib_frontend.c and fib_semantics.c: the routes addresses and devices make, and the
// generic insert/delete/lookup paths of the IPv4 FIB.
public sealed partial class Ipv4Net
{
    // ---- insert / delete through a fib_config --------------------------------------------

    /// <summary>fib_create_info: checks a route request and builds the route (fib_info + alias).</summary>
    public KErr FibCreateInfo(FibConfig cfg, out Route? route)
    {
        route = null;
        if (cfg.Type > RTN_MAX) return new KErr(Errno.EINVAL, "Invalid route type");
        var r = new Route
        {
            Family = (byte)AF_INET, Table = cfg.Table, Dst = cfg.Dst, DstLen = cfg.DstLen, Tos = cfg.Tos,
            Protocol = cfg.Protocol, Scope = cfg.Scope, Type = cfg.Type, Flags = cfg.Flags & ~(uint)(RTM_F_NOTIFY | RTM_F_CLONED | RTM_F_LOOKUP_TABLE | RTM_F_FIB_MATCH | RTM_F_OFFLOAD | RTM_F_TRAP | RTM_F_OFFLOAD_FAILED),
            Priority = cfg.Priority, PrefSrc = cfg.PrefSrc, HasPrefSrc = cfg.PrefSrc != 0,
            Metrics = cfg.Metrics, NhId = cfg.NhId, Seq = NextRouteSeq(),
        };
        if (cfg.Multipath != null) r.Nexthops.AddRange(cfg.Multipath);
        else
        {
            var nh = new Nexthop { Dev = cfg.Oif != 0 ? Net.GetDevice(cfg.Oif) : null, Flags = cfg.Flags & (uint)(RTNH_F_ONLINK | RTNH_F_PERVASIVE), Realm = cfg.Flow };
            if (cfg.GwFamily == AF_INET) { nh.GwFamily = (byte)AF_INET; nh.Gateway = cfg.Gateway; }
            else if (cfg.GwFamily == AF_INET6) { nh.GwFamily = (byte)AF_INET6; nh.Gateway = cfg.Gateway6; }
            if (cfg.Oif != 0 && nh.Dev == null) return new KErr(Errno.ENODEV);
            r.Nexthops.Add(nh);
        }

        if (IsErrorType(cfg.Type))
        {
            if (cfg.GwFamily != 0 || cfg.Oif != 0 || cfg.Multipath != null)
                return new KErr(Errno.EINVAL, "Gateway, device and multipath can not be specified for this route type");
            r.Nexthops.Clear();
            route = r;
            return KErr.Ok;
        }
        if (cfg.Type is not (RTN_UNICAST or RTN_LOCAL or RTN_BROADCAST or RTN_ANYCAST or RTN_MULTICAST))
            return new KErr(Errno.EINVAL, "Invalid route type");
        if (cfg.Scope > RT_SCOPE_HOST) return new KErr(Errno.EINVAL, "Invalid scope");

        if (cfg.Scope == RT_SCOPE_HOST)
        {
            if (r.Nexthops.Count != 1) return new KErr(Errno.EINVAL, "Route with host scope can not have multiple nexthops");
            var nh = r.Nexthops[0];
            if (nh.HasGateway) return new KErr(Errno.EINVAL, "Route with host scope can not have a gateway");
            nh.Scope = (byte)RT_SCOPE_NOWHERE;
            if (nh.Dev == null) return new KErr(Errno.ENODEV);
        }
        else
        {
            int linkdown = 0;
            foreach (var nh in r.Nexthops)
            {
                var err = FibCheckNh(nh, cfg.Table, cfg.Scope);
                if (err.Failed) return err;
                if ((nh.Flags & RTNH_F_LINKDOWN) != 0) linkdown++;
            }
            if (linkdown == r.Nexthops.Count) r.Flags |= (uint)RTNH_F_LINKDOWN;
        }
        if (r.HasPrefSrc && !FibValidPrefsrc(cfg, cfg.PrefSrc))
            return new KErr(Errno.EINVAL, "Invalid prefsrc address");
        route = r;
        return KErr.Ok;
    }

    /// <summary>fib_props[type].error != 0: blackhole, unreachable, prohibit, throw.</summary>
    public static bool IsErrorType(byte type) =>
        type is RTN_BLACKHOLE or RTN_UNREACHABLE or RTN_PROHIBIT or RTN_THROW;

    /// <summary>fib_check_nh: for a nexthop without gateway, its device must be up (fib_check_nh_nongw);
    /// with a gateway, the gateway must be reachable (fib_check_nh_v4_gw).</summary>
    private KErr FibCheckNh(Nexthop nh, uint table, byte scope)
    {
        if (!nh.HasGateway)
        {
            if ((nh.Flags & (RTNH_F_PERVASIVE | RTNH_F_ONLINK)) != 0)
                return new KErr(Errno.EINVAL, "Invalid flags for nexthop - PERVASIVE and ONLINK can not be set");
            if (nh.Dev?.Ip4 == null) return new KErr(Errno.ENODEV);
            if (!nh.Dev.IsUp) return new KErr(Errno.ENETDOWN, "Device for nexthop is not up");
            nh.Scope = (byte)RT_SCOPE_HOST;
            if (!nh.Dev.Carrier) nh.Flags |= (uint)RTNH_F_LINKDOWN;
            return KErr.Ok;
        }
        if (nh.GwFamily == AF_INET6) return new KErr(Errno.EOPNOTSUPP, "IPv6 gateway for an IPv4 route is not supported yet");
        uint gw = (uint)nh.Gateway;
        if ((nh.Flags & RTNH_F_ONLINK) != 0)
        {
            if (scope >= RT_SCOPE_LINK) return new KErr(Errno.EINVAL, "Nexthop has invalid scope");
            if (nh.Dev == null) return new KErr(Errno.ENODEV, "Nexthop device required for onlink");
            if (!nh.Dev.IsUp) return new KErr(Errno.ENETDOWN, "Nexthop device is not up");
            var t = InetAddrTypeDevTable(nh.Dev, gw);
            if (t != RTN_UNICAST) return new KErr(Errno.EINVAL, "Nexthop has invalid gateway");
            if (!nh.Dev.Carrier) nh.Flags |= (uint)RTNH_F_LINKDOWN;
            nh.Scope = (byte)RT_SCOPE_LINK;
            return KErr.Ok;
        }
        // fib_check_nh_v4_gw: look the gateway up with scope > route scope
        byte lookupScope = (byte)Math.Max(scope + 1, RT_SCOPE_LINK);
        var res = FibLookup(gw, 0, lookupScope, nh.Dev?.Ifindex ?? 0, table);
        if (res == null || res.Type is not (RTN_UNICAST or RTN_LOCAL) ||
            (res.Type == RTN_LOCAL))
            return new KErr(Errno.EINVAL, "Nexthop has invalid gateway");
        var rdev = res.FirstNh?.Dev;
        if (nh.Dev != null && rdev != nh.Dev) return new KErr(Errno.EINVAL, "Nexthop has invalid gateway");
        if (rdev == null) return new KErr(Errno.ENODEV);
        nh.Dev = rdev;
        nh.Scope = res.Scope;
        if (!rdev.IsUp) return new KErr(Errno.ENETDOWN, "Nexthop device is not up");
        if (!rdev.Carrier) nh.Flags |= (uint)RTNH_F_LINKDOWN;
        return KErr.Ok;
    }

    /// <summary>fib_valid_prefsrc.</summary>
    private bool FibValidPrefsrc(FibConfig cfg, uint prefsrc)
    {
        if (cfg.Type != RTN_LOCAL || cfg.Dst == 0 || prefsrc != cfg.Dst)
        {
            uint tb = cfg.Table == RT_TABLE_MAIN ? (uint)RT_TABLE_LOCAL : cfg.Table;
            int rc = InetAddrTypeTable(prefsrc, tb);
            if (rc != RTN_LOCAL && tb != RT_TABLE_LOCAL) rc = InetAddrTypeTable(prefsrc, (uint)RT_TABLE_LOCAL);
            if (rc != RTN_LOCAL) return false;
        }
        return true;
    }

    /// <summary>inet_addr_type_table: the type of the route an address hits in a table.</summary>
    public int InetAddrTypeTable(uint addr, uint table)
    {
        if (addr == 0 || Inet.IsV4LimitedBroadcast(addr)) return addr == 0 ? RTN_BROADCAST : RTN_BROADCAST;
        if (Inet.IsV4Multicast(addr)) return RTN_MULTICAST;
        var t = GetTable(table) ?? Local;
        foreach (var node in t.Matches(addr))
            foreach (var r in node.Aliases)
                return r.Type;
        return RTN_UNICAST;
    }

    /// <summary>inet_addr_type_dev_table.</summary>
    public int InetAddrTypeDevTable(NetDevice dev, uint addr) => InetAddrTypeTable(addr, (uint)RT_TABLE_LOCAL);

    /// <summary>fib_table_insert with a fib_config (the RTM_NEWROUTE path and fib_magic).</summary>
    public KErr FibTableInsert(FibTable tb, FibConfig cfg, out Route? route)
    {
        var err = FibCreateInfo(cfg, out route);
        if (err.Failed) return err;
        route!.Table = tb.Id;
        err = tb.Insert(route, cfg.NlFlags, out var replaced, out var notify);
        if (err.Failed) { route = null; return err; }
        if (replaced != null) Net.Events.Route(Net, route, RouteEventKind.Replace);
        else Net.Events.Route(Net, route, (notify & NLM_F_APPEND) != 0 ? RouteEventKind.Append : RouteEventKind.New);
        return KErr.Ok;
    }

    /// <summary>fib_table_delete with a fib_config.</summary>
    public KErr FibTableDelete(FibTable tb, FibConfig cfg)
    {
        var err = FibTable.ValidKeyLen(cfg.Dst, cfg.DstLen);
        if (err.Failed) return err;
        var victim = tb.FindForDelete(cfg, r => FibNhMatch(cfg, r));
        if (victim == null) return new KErr(Errno.ESRCH);
        Net.Events.Route(Net, victim, RouteEventKind.Delete);
        tb.Remove(victim);
        return KErr.Ok;
    }

    /// <summary>fib_nh_match: does the request's nexthop description fit this route?</summary>
    private static bool FibNhMatch(FibConfig cfg, Route r)
    {
        if (cfg.Priority != 0 && cfg.Priority != r.Priority) return false;
        if (cfg.NhId != 0) return r.NhId == cfg.NhId;
        if (cfg.Oif != 0 || cfg.GwFamily != 0)
        {
            var nh = r.FirstNh;
            if (nh == null) return false;
            if (cfg.Oif != 0 && nh.Dev?.Ifindex != cfg.Oif) return false;
            if (cfg.GwFamily == AF_INET && (nh.GwFamily != AF_INET || (uint)nh.Gateway != cfg.Gateway)) return false;
            if (cfg.GwFamily == AF_INET6 && (nh.GwFamily != AF_INET6 || nh.Gateway != cfg.Gateway6)) return false;
        }
        if (cfg.Multipath != null)
        {
            if (cfg.Multipath.Count != r.Nexthops.Count) return false;
            for (int i = 0; i < cfg.Multipath.Count; i++)
            {
                var a = cfg.Multipath[i];
                var b = r.Nexthops[i];
                if (a.Dev != null && a.Dev != b.Dev) return false;
                if (a.HasGateway && (a.GwFamily != b.GwFamily || a.Gateway != b.Gateway)) return false;
            }
        }
        return true;
    }

    // ---- lookups ------------------------------------------------------------------------

    /// <summary>fib_table_lookup in one table (main when <paramref name="table"/> is 0): the
    /// longest prefix with an alias that fits tos, scope and oif.</summary>
    public Route? FibLookup(uint daddr, byte tos, byte scope, int oif, uint table)
    {
        var t = GetTable(table);
        if (t == null) return null;
        foreach (var node in t.Matches(daddr))
        {
            foreach (var fa in node.Aliases)
            {
                if (fa.Tos != 0 && fa.Tos != tos) continue;
                if (fa.Scope < scope) continue;
                if (IsErrorType(fa.Type)) return fa;
                if ((fa.Flags & RTNH_F_DEAD) != 0) continue;
                foreach (var nh in fa.Nexthops)
                {
                    if ((nh.Flags & RTNH_F_DEAD) != 0) continue;
                    if (oif != 0 && nh.Dev?.Ifindex != oif) continue;
                    return fa;
                }
            }
        }
        return null;
    }

    // ---- fib_magic and the routes of addresses --------------------------------------------

    /// <summary>fib_magic: add or delete a kernel route for an address.</summary>
    private void FibMagic(bool add, int type, uint dst, int dstLen, InIfAddr ifa, uint rtPriority)
    {
        uint tbId = type == RTN_UNICAST ? (uint)RT_TABLE_MAIN : (uint)RT_TABLE_LOCAL;
        var tb = NewTable(tbId);
        var cfg = new FibConfig
        {
            Protocol = (byte)RTPROT_KERNEL, Type = (byte)type, Dst = dst, DstLen = (byte)dstLen,
            Priority = rtPriority, PrefSrc = ifa.Local, Oif = ifa.Dev.Ifindex,
            NlFlags = (ushort)(NLM_F_CREATE | NLM_F_APPEND), Table = tbId,
            Scope = (byte)(type != RTN_LOCAL ? RT_SCOPE_LINK : RT_SCOPE_HOST),
        };
        if (add) FibTableInsert(tb, cfg, out _);
        else FibTableDelete(tb, cfg);
    }

    /// <summary>fib_add_ifaddr: local route always; broadcast and prefix routes when the device is up.</summary>
    internal void FibAddIfaddr(InIfAddr ifa)
    {
        var inDev = ifa.Dev.Ip4!;
        var dev = ifa.Dev;
        var prim = ifa;
        uint mask = ifa.Mask, addr = ifa.Local, prefix = ifa.Address & mask;
        if (ifa.Secondary)
        {
            prim = inDev.ByPrefix(prefix, mask);
            if (prim == null) return;
        }
        FibMagic(true, RTN_LOCAL, addr, 32, prim, 0);
        if (!dev.IsUp) return;
        if (ifa.Broadcast != 0 && ifa.Broadcast != 0xffffffff)
            FibMagic(true, RTN_BROADCAST, ifa.Broadcast, 32, prim, 0);
        if (!Inet.IsV4ZeroNet(prefix) && !ifa.Secondary && (prefix != addr || ifa.PrefixLen < 32))
        {
            if ((ifa.Flags & IFA_F_NOPREFIXROUTE) == 0)
                FibMagic(true, dev.IsLoopback ? RTN_LOCAL : RTN_UNICAST, prefix, ifa.PrefixLen, prim, ifa.RtPriority);
            if (ifa.PrefixLen < 31)
                FibMagic(true, RTN_BROADCAST, prefix | ~mask, 32, prim, 0);
        }
    }

    /// <summary>fib_del_ifaddr: removes the routes of an address that no other address still needs.</summary>
    internal void FibDelIfaddr(InIfAddr ifa, InIfAddr? iprim)
    {
        const int LocalOk = 1, BrdOk = 2, Brd0Ok = 4, Brd1Ok = 8;
        var inDev = ifa.Dev.Ip4;
        var dev = ifa.Dev;
        if (inDev == null) return;
        var prim = ifa;
        InIfAddr? prim1 = null;
        uint brd = ifa.Address | ~ifa.Mask;
        uint any = ifa.Address & ifa.Mask;
        int ok = 0;
        bool subnet = false, gone = true, sameprefsrc = false;

        if (ifa.Secondary)
        {
            prim = inDev.ByPrefix(any, ifa.Mask);
            if (prim == null) return;
            if (iprim != null && iprim != prim) return;
        }
        else if (!Inet.IsV4ZeroNet(any) && (any != ifa.Local || ifa.PrefixLen < 32))
        {
            if ((ifa.Flags & IFA_F_NOPREFIXROUTE) == 0)
                FibMagic(false, dev.IsLoopback ? RTN_LOCAL : RTN_UNICAST, any, ifa.PrefixLen, prim, 0);
            subnet = true;
        }

        if (!inDev.Dead)
        {
            foreach (var ifa1 in inDev.Addrs)
            {
                if (ifa1 == ifa) { gone = false; continue; }
                if (iprim != null && ifa1.Mask == iprim.Mask && iprim.Matches(ifa1.Address)) continue;
                if (ifa1.Secondary)
                {
                    if (ifa1.Mask == prim.Mask && prim.Matches(ifa1.Address)) prim1 = prim;
                    else
                    {
                        if (!sameprefsrc) continue;
                        if (prim1 == null || ifa1.Mask != prim1.Mask || !prim1.Matches(ifa1.Address))
                            prim1 = inDev.ByPrefix(ifa1.Address, ifa1.Mask);
                        if (prim1 == null) continue;
                        if (prim1.Local != prim.Local) continue;
                    }
                }
                else
                {
                    if (prim.Local != ifa1.Local) continue;
                    prim1 = ifa1;
                    if (prim != prim1) sameprefsrc = true;
                }
                if (ifa.Local == ifa1.Local) ok |= LocalOk;
                if (ifa.Broadcast == ifa1.Broadcast) ok |= BrdOk;
                if (brd == ifa1.Broadcast) ok |= Brd1Ok;
                if (any == ifa1.Broadcast) ok |= Brd0Ok;
                if (prim1 == ifa1 && ifa1.PrefixLen < 31)
                {
                    uint brd1 = ifa1.Address | ~ifa1.Mask;
                    uint any1 = ifa1.Address & ifa1.Mask;
                    if (!Inet.IsV4ZeroNet(any1))
                    {
                        if (ifa.Broadcast == brd1 || ifa.Broadcast == any1) ok |= BrdOk;
                        if (brd == brd1 || brd == any1) ok |= Brd1Ok;
                        if (any == brd1 || any == any1) ok |= Brd0Ok;
                    }
                }
            }
        }

        if ((ok & BrdOk) == 0) FibMagic(false, RTN_BROADCAST, ifa.Broadcast, 32, prim, 0);
        if (subnet && ifa.PrefixLen < 31)
        {
            if ((ok & Brd1Ok) == 0) FibMagic(false, RTN_BROADCAST, brd, 32, prim, 0);
            if ((ok & Brd0Ok) == 0) FibMagic(false, RTN_BROADCAST, any, 32, prim, 0);
        }
        if ((ok & LocalOk) == 0)
        {
            FibMagic(false, RTN_LOCAL, ifa.Local, 32, prim, 0);
            int addrType = InetAddrTypeDevTable(dev, ifa.Local);
            if (gone && addrType != RTN_LOCAL)
            {
                if (FibSyncDownAddr(dev, ifa.Local)) FibFlush();
            }
        }
    }

    /// <summary>fib_modify_prefix_metric: IFA_RT_PRIORITY changed on an existing address.</summary>
    private void FibModifyPrefixMetric(InIfAddr ifa, uint newMetric)
    {
        uint prefix = ifa.Address & ifa.Mask;
        var dev = ifa.Dev;
        if (!dev.IsUp || Inet.IsV4ZeroNet(prefix) || ifa.Secondary ||
            (prefix == ifa.Local && ifa.PrefixLen == 32) || (ifa.Flags & IFA_F_NOPREFIXROUTE) != 0)
            return;
        FibMagic(true, dev.IsLoopback ? RTN_LOCAL : RTN_UNICAST, prefix, ifa.PrefixLen, ifa, newMetric);
        FibMagic(false, dev.IsLoopback ? RTN_LOCAL : RTN_UNICAST, prefix, ifa.PrefixLen, ifa, ifa.RtPriority);
    }

    /// <summary>fib_inetaddr_event(NETDEV_UP).</summary>
    private void FibInetaddrUp(InIfAddr ifa)
    {
        FibAddIfaddr(ifa);
        FibSyncUp(ifa.Dev, (uint)RTNH_F_DEAD);
    }

    /// <summary>fib_inetaddr_event(NETDEV_DOWN).</summary>
    private void FibInetaddrDown(InIfAddr ifa)
    {
        FibDelIfaddr(ifa, null);
        if (ifa.Dev.Ip4 is { IsEmpty: true }) FibDisableIp(ifa.Dev, NetdevEvent.Down, true);
    }

    // ---- device state -> routes ------------------------------------------------------------

    /// <summary>fib_disable_ip.</summary>
    private void FibDisableIp(NetDevice dev, NetdevEvent ev, bool force)
    {
        if (FibSyncDownDev(dev, ev, force)) FibFlush();
    }

    /// <summary>fib_sync_down_dev: marks the nexthops through <paramref name="dev"/> dead (or linkdown);
    /// returns whether any route became dead.</summary>
    private bool FibSyncDownDev(NetDevice dev, NetdevEvent ev, bool force)
    {
        int scope = force ? -1 : RT_SCOPE_NOWHERE;
        bool ret = false;
        foreach (var tb in _tables.Values)
            foreach (var r in tb.Routes)
            {
                if ((r.Flags & RTNH_F_DEAD) != 0 || r.Nexthops.Count == 0) continue;
                int dead = 0;
                bool touched = false;
                foreach (var nh in r.Nexthops)
                {
                    if ((nh.Flags & RTNH_F_DEAD) != 0) { dead++; continue; }
                    if (nh.Dev != dev || nh.Scope == scope) continue;
                    touched = true;
                    switch (ev)
                    {
                        case NetdevEvent.Down:
                        case NetdevEvent.Unregister:
                            nh.Flags |= (uint)(RTNH_F_DEAD | RTNH_F_LINKDOWN);
                            dead++;
                            break;
                        case NetdevEvent.Change:
                            nh.Flags |= (uint)RTNH_F_LINKDOWN;
                            break;
                    }
                }
                if (!touched) continue;
                if (ev == NetdevEvent.Change)
                {
                    if (r.Nexthops.TrueForAll(n => (n.Flags & RTNH_F_LINKDOWN) != 0))
                        r.Flags |= (uint)RTNH_F_LINKDOWN;
                    continue;
                }
                if (dead == r.Nexthops.Count)
                {
                    r.Flags |= (uint)RTNH_F_DEAD;
                    ret = true;
                }
            }
        return ret;
    }

    /// <summary>fib_sync_down_addr: routes whose prefsrc was this (now gone) local address die.</summary>
    private bool FibSyncDownAddr(NetDevice dev, uint local)
    {
        bool ret = false;
        foreach (var tb in _tables.Values)
            foreach (var r in tb.Routes)
                if (r.HasPrefSrc && (uint)r.PrefSrc == local && r.Table == tb.Id)
                {
                    r.Flags |= (uint)RTNH_F_DEAD;
                    ret = true;
                }
        _ = dev;
        return ret;
    }

    /// <summary>fib_sync_up: nexthops through <paramref name="dev"/> come back (for RTNH_F_DEAD only
    /// when the device is up; RTNH_F_LINKDOWN when the carrier is back).</summary>
    private void FibSyncUp(NetDevice dev, uint nhFlags)
    {
        if (!dev.IsUp) return;
        if ((nhFlags & RTNH_F_DEAD) != 0 && dev.Ip4 == null) return;
        if ((nhFlags & RTNH_F_DEAD) != 0 && !dev.Carrier) nhFlags |= (uint)RTNH_F_LINKDOWN;
        foreach (var tb in _tables.Values)
            foreach (var r in tb.Routes)
            {
                if ((r.Flags & nhFlags) == 0 && r.Nexthops.TrueForAll(n => (n.Flags & nhFlags) == 0)) continue;
                bool changed = false;
                int alive = 0;
                foreach (var nh in r.Nexthops)
                {
                    if ((nh.Flags & nhFlags) == 0) { alive++; continue; }
                    if (nh.Dev != dev) continue;
                    nh.Flags &= ~nhFlags;
                    alive++;
                    changed = true;
                }
                if (alive > 0 && changed) r.Flags &= ~nhFlags;
            }
    }

    /// <summary>fib_flush / fib_table_flush: removes every dead route. Like the kernel, no
    /// RTM_DELROUTE is sent for routes flushed this way.</summary>
    private void FibFlush()
    {
        foreach (var tb in _tables.Values)
        {
            var dead = tb.Routes.Where(r => (r.Flags & RTNH_F_DEAD) != 0).ToList();
            foreach (var r in dead) tb.Remove(r);
        }
    }

    /// <summary>fib_netdev_event: the FIB's netdev notifier.</summary>
    private sealed class FibNetdevEvent(Ipv4Net v4) : INetdevNotifier
    {
        public void OnNetdevEvent(NetdevEvent ev, NetDevice dev)
        {
            if (ev == NetdevEvent.Unregister)
            {
                v4.FibDisableIp(dev, ev, true);
                return;
            }
            var inDev = dev.Ip4;
            if (inDev == null) return;
            switch (ev)
            {
                case NetdevEvent.Up:
                    foreach (var ifa in inDev.Addrs.ToList()) v4.FibAddIfaddr(ifa);
                    v4.FibSyncUp(dev, (uint)RTNH_F_DEAD);
                    break;
                case NetdevEvent.Down:
                    v4.FibDisableIp(dev, ev, false);
                    break;
                case NetdevEvent.Change:
                    uint flags = dev.GetFlags();
                    if ((flags & (IFF_RUNNING | IFF_LOWER_UP)) != 0) v4.FibSyncUp(dev, (uint)RTNH_F_LINKDOWN);
                    else v4.FibSyncDownDev(dev, ev, false);
                    break;
            }
        }
    }
}
