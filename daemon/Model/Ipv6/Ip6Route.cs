using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv6;

// net/ipv6/route.c: adding, deleting and flushing IPv6 routes.
public sealed partial class Ipv6Net
{
    /// <summary>ip6_route_info_create: checks a request and builds the fib6_info.</summary>
    public KErr Ip6RouteInfoCreate(Fib6Config cfg, out Route? route)
    {
        route = null;
        if (cfg.DstLen > 128 || cfg.SrcLen > 128) return new KErr(Errno.EINVAL, "Invalid prefix length");
        if ((cfg.Dst & ~Inet.Mask6(cfg.DstLen)) != 0 && (cfg.Flags & RTF_LOCAL) == 0)
        {
            // ipv6_addr_prefix: the kernel masks the destination
            cfg.Dst &= Inet.Mask6(cfg.DstLen);
        }
        var r = new Route
        {
            Family = (byte)AF_INET6, Table = cfg.Table, Dst = cfg.Dst & Inet.Mask6(cfg.DstLen), DstLen = cfg.DstLen,
            Src = cfg.Src, SrcLen = cfg.SrcLen, Protocol = cfg.Protocol, Type = cfg.Type, Priority = cfg.Metric,
            Flags = cfg.Flags, PrefSrc = cfg.PrefSrc, HasPrefSrc = cfg.HasPrefSrc, ExpiresMs = cfg.ExpiresMs,
            Pref = cfg.Pref, Metrics = cfg.Metrics, NhId = cfg.NhId, Seq = NextRouteSeq(),
        };
        if (r.Priority == 0 && cfg.Type != RTN_LOCAL) r.Priority = (uint)IP6_RT_PRIO_USER;
        bool reject = cfg.Type is RTN_BLACKHOLE or RTN_UNREACHABLE or RTN_PROHIBIT or RTN_THROW;
        NetDevice? dev = cfg.Ifindex != 0 ? Net.GetDevice(cfg.Ifindex) : null;
        if (cfg.Ifindex != 0 && dev == null) return new KErr(Errno.ENODEV);
        if (reject)
        {
            // reject routes go through the loopback device
            r.Nexthops.Add(new Nexthop { Dev = Net.Loopback });
            route = r;
            return KErr.Ok;
        }
        if (cfg.Multipath != null)
        {
            r.Nexthops.AddRange(cfg.Multipath);
            route = r;
            return KErr.Ok;
        }
        var nh = new Nexthop { Dev = dev, Flags = cfg.RtmFlags & (uint)RTNH_F_ONLINK };
        if (cfg.HasGateway) { nh.GwFamily = (byte)AF_INET6; nh.Gateway = cfg.Gateway; }
        if (dev == null) return new KErr(Errno.ENODEV);
        if (!dev.IsUp && !cfg.IgnoreDevDown) return new KErr(Errno.ENETDOWN, "Nexthop device is not up");
        if (dev.IsUp && !dev.Carrier && cfg.Type != RTN_LOCAL) nh.Flags |= (uint)RTNH_F_LINKDOWN;
        r.Nexthops.Add(nh);
        route = r;
        return KErr.Ok;
    }

    /// <summary>rt6_duplicate_nexthop: same device and same gateway.</summary>
    internal static bool DuplicateNexthop(Route a, Route b)
    {
        var x = a.FirstNh;
        var y = b.FirstNh;
        if (x == null || y == null) return x == y && a.Type == b.Type;
        return x.Dev == y.Dev && x.GwFamily == y.GwFamily && x.Gateway == y.Gateway && a.NhId == b.NhId;
    }

    /// <summary>__ip6_ins_rt / fib6_add: inserts an already built route and notifies.</summary>
    public KErr Ip6InsRt(Route r, ushort nlflags)
    {
        var tb = NewTable(r.Table == 0 ? (uint)RT_TABLE_MAIN : r.Table);
        var err = tb.Insert(r, nlflags, DuplicateNexthop, out var replaced);
        if (err.Failed) return err;
        Net.Events.Route(Net, r, replaced != null ? RouteEventKind.Replace : RouteEventKind.New);
        return KErr.Ok;
    }

    /// <summary>ip6_route_add.</summary>
    public KErr Ip6RouteAdd(Fib6Config cfg, out Route? route)
    {
        var err = Ip6RouteInfoCreate(cfg, out route);
        if (err.Failed) return err;
        route!.Table = cfg.Table == 0 ? (uint)RT_TABLE_MAIN : cfg.Table;
        err = Ip6InsRt(route, cfg.NlFlags);
        if (err.Failed) route = null;
        return err;
    }

    /// <summary>ip6_del_rt: unlinks and notifies.</summary>
    public void Ip6DelRt(Route r)
    {
        if (r.Dead) return;
        var tb = GetTable(r.Table);
        if (tb == null) return;
        Net.Events.Route(Net, r, RouteEventKind.Delete);
        tb.Remove(r);
    }

    /// <summary>rt6_sync_down_dev / fib6_ifdown: routes through <paramref name="dev"/> go (DOWN,
    /// UNREGISTER) or are marked linkdown (CHANGE).</summary>
    internal void Rt6SyncDownDev(NetDevice dev, NetdevEvent ev)
    {
        foreach (var tb in _tables.Values)
            foreach (var r in tb.Routes.ToList())
            {
                if (r.NhId != 0) continue;
                var nh = r.FirstNh;
                if (nh == null) continue;
                switch (ev)
                {
                    case NetdevEvent.Unregister:
                    case NetdevEvent.Down:
                        if (r.Nexthops.Exists(n => n.Dev == dev)) Ip6DelRt(r);
                        break;
                    case NetdevEvent.Change:
                        if (nh.Dev != dev || (r.Flags & (RTF_LOCAL | RTF_ANYCAST)) != 0 || r.Type == RTN_LOCAL) break;
                        nh.Flags |= (uint)RTNH_F_LINKDOWN;
                        break;
                }
            }
    }

    /// <summary>rt6_sync_up: the carrier is back.</summary>
    internal void Rt6SyncUp(NetDevice dev, uint nhFlags)
    {
        foreach (var tb in _tables.Values)
            foreach (var r in tb.Routes)
                foreach (var nh in r.Nexthops)
                    if (nh.Dev == dev && (!dev.IsUp || dev.Carrier || (nhFlags & RTNH_F_LINKDOWN) == 0))
                        nh.Flags &= ~nhFlags;
    }
}
