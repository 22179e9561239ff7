using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv6;

/// <summary>A decoded RTM_NEWADDR for IPv6 (struct ifa6_config).</summary>
public sealed class Ifa6Config
{
    public UInt128 Pfx;
    public UInt128 Peer;
    public byte Plen;
    public uint IfaFlags;
    public uint ValidLft = IfAddr.InfinityLifeTime;
    public uint PreferredLft = IfAddr.InfinityLifeTime;
    public uint RtPriority;
    public byte Proto;
    public byte Scope;
}

// net/ipv6/addrconf.c: IPv6 addresses, link-local generation, DAD, and what devices going up and
// down do to them.
public sealed partial class Ipv6Net
{
    public const uint Ipv6MinMtu = 1280;

    /// <summary>Addresses whose DAD work is pending, run by <see cref="RunDadWork"/> after the request
    /// (the kernel runs addrconf_dad_work from a workqueue right after).</summary>
    private readonly List<Inet6IfAddr> _dadWork = new();

    public static bool ValidAddrGenModeStatic(byte mode) => Addrconf.ValidAddrGenMode(mode);

    /// <summary>ipv6_add_dev: a device's inet6_dev, configured from net.ipv6.conf.default.</summary>
    internal Inet6Dev? Ipv6AddDev(NetDevice dev)
    {
        if (dev.Mtu < Ipv6MinMtu && !dev.IsLoopback) return null;
        var idev = new Inet6Dev(dev, Default.Clone(), Net.Kernel.NdTblParms.CloneFor(dev));
        idev.Cnf[DEVCONF_MTU6] = (int)dev.Mtu;
        if (idev.Cnf.StableSecret != null) idev.Cnf[DEVCONF_ADDR_GEN_MODE] = IN6_ADDR_GEN_MODE_STABLE_PRIVACY;
        if (dev.IsLoopback || dev.Type == ARPHRD_NONE)
            idev.Cnf[DEVCONF_USE_TEMPADDR] = -1; // "Disabled Privacy Extensions"
        if (dev.IsLoopback) idev.Cnf[DEVCONF_ACCEPT_DAD] = -1;
        idev.CstampMs = idev.TstampMs = Net.Kernel.Clock.NowMs;
        if (dev.IsUp && AddrconfLinkReady(dev)) idev.Ready = true;
        AddrconfSysctlRegister(idev);
        dev.Ip6 = idev;
        // the interface-local and link-local all-nodes groups, all-routers when forwarding
        Ipv6DevMcInc(idev, InterfaceLocalAllNodes);
        Ipv6DevMcInc(idev, LinkLocalAllNodes);
        if (idev.Cnf[DEVCONF_FORWARDING] != 0 && (dev.Flags & IFF_MULTICAST) != 0) Ipv6DevMcInc(idev, LinkLocalAllRouters);
        return idev;
    }

    /// <summary>addrconf_link_ready: running, operstate up, and a real qdisc.</summary>
    internal static bool AddrconfLinkReady(NetDevice dev) => dev.IsUp && dev.OperUp && dev.Qdisc != "noop";

    /// <summary>ipv6_find_idev.</summary>
    private Inet6Dev? FindIdev(NetDevice dev)
    {
        var idev = dev.Ip6 ?? Ipv6AddDev(dev);
        if (idev != null && dev.IsUp) Ipv6McUp(idev);
        return idev;
    }

    /// <summary>addrconf_add_dev: the inet6_dev plus the ff00::/8 multicast route.</summary>
    private (Inet6Dev? Idev, KErr Err) AddrconfAddDev(NetDevice dev)
    {
        var idev = FindIdev(dev);
        if (idev == null) return (null, new KErr(Errno.ENOBUFS));
        if (idev.Cnf[DEVCONF_DISABLE_IPV6] != 0) return (null, new KErr(Errno.EACCES));
        if (!dev.IsLoopback) AddrconfAddMroute(dev);
        return (idev, KErr.Ok);
    }

    /// <summary>addrconf_add_mroute.</summary>
    private void AddrconfAddMroute(NetDevice dev)
    {
        var cfg = new Fib6Config
        {
            Table = (uint)RT_TABLE_LOCAL, Metric = (uint)IP6_RT_PRIO_ADDRCONF, Ifindex = dev.Ifindex,
            Dst = UInt128.One << 127 | UInt128.One << 126 | ((UInt128)0x3f << 120), DstLen = 8,
            Flags = (uint)RTF_UP, Type = (byte)RTN_MULTICAST, Protocol = (byte)RTPROT_KERNEL,
            NlFlags = (ushort)NLM_F_CREATE,
        };
        Ip6RouteAdd(cfg, out _);
    }

    /// <summary>addrconf_prefix_route.</summary>
    internal void AddrconfPrefixRoute(UInt128 pfx, byte plen, uint metric, NetDevice dev, long expiresMs, uint flags)
    {
        var cfg = new Fib6Config
        {
            Table = (uint)RT_TABLE_MAIN, Metric = metric != 0 ? metric : (uint)IP6_RT_PRIO_ADDRCONF,
            Dst = pfx & Inet.Mask6(plen), DstLen = plen, Ifindex = dev.Ifindex, ExpiresMs = expiresMs,
            Flags = (uint)RTF_UP | flags, Protocol = (byte)RTPROT_KERNEL, NlFlags = (ushort)NLM_F_CREATE,
        };
        // the link-local prefix route does not depend on the device being up
        if (plen == 64 && Inet.IsV6LinkLocal(pfx)) cfg.IgnoreDevDown = false;
        Ip6RouteAdd(cfg, out _);
    }

    /// <summary>addrconf_get_prefix_route + ip6_del_rt for an address's prefix route.</summary>
    private void DelPrefixRoute(UInt128 pfx, byte plen, NetDevice dev, uint metric)
    {
        var tb = GetTable((uint)RT_TABLE_MAIN);
        var node = tb?.FindNode(pfx & Inet.Mask6(plen), plen);
        if (node == null) return;
        foreach (var r in node.Leaf.ToList())
        {
            if (r.FirstNh?.Dev != dev || r.Protocol != RTPROT_KERNEL || r.FirstNh.HasGateway) continue;
            if (metric != 0 && r.Priority != metric) continue;
            Ip6DelRt(r);
            return;
        }
    }

    /// <summary>addrconf_f6i_alloc: the local route of an address (table local, type local, metric 0).</summary>
    private Route LocalRouteFor(Inet6IfAddr ifa)
    {
        return new Route
        {
            Family = (byte)AF_INET6, Table = (uint)RT_TABLE_LOCAL, Dst = ifa.Addr, DstLen = 128,
            Protocol = (byte)RTPROT_KERNEL, Type = (byte)RTN_LOCAL, Priority = 0,
            Flags = (uint)(RTF_UP | RTF_NONEXTHOP) | unchecked((uint)RTF_LOCAL),
            PrefSrc = ifa.Addr, HasPrefSrc = false, Seq = NextRouteSeq(),
            Nexthops = { new Nexthop { Dev = ifa.Dev } },
        };
    }

    /// <summary>ipv6_add_addr: creates the address (tentative), links it into the device's list.</summary>
    private KErr Ipv6AddAddr(Inet6Dev idev, Ifa6Config cfg, out Inet6IfAddr? ifa)
    {
        ifa = null;
        var a = cfg.Pfx;
        if (a == UInt128.Zero || Inet.IsV6Multicast(a) && (cfg.IfaFlags & IFA_F_MCAUTOJOIN) == 0 ||
            !idev.Dev.IsLoopback && Inet.IsV6Loopback(a))
            return new KErr(Errno.EADDRNOTAVAIL);
        if (idev.Dead) return new KErr(Errno.ENODEV);
        if (idev.Cnf[DEVCONF_DISABLE_IPV6] != 0) return new KErr(Errno.EACCES, "IPv6 is disabled on this device");
        if (idev.Find(a) != null) return new KErr(Errno.EEXIST, "ipv6: address already assigned");
        long now = Net.Kernel.Clock.NowMs;
        ifa = new Inet6IfAddr
        {
            Dev = idev.Dev, Addr = a, PeerAddr = cfg.Peer, PrefixLen = cfg.Plen, Scope = cfg.Scope,
            Flags = cfg.IfaFlags | (uint)IFA_F_TENTATIVE, ValidLft = cfg.ValidLft, PreferredLft = cfg.PreferredLft,
            CstampMs = now, TstampMs = now, RtPriority = cfg.RtPriority, Proto = cfg.Proto,
        };
        ifa.LocalRoute = LocalRouteFor(ifa);
        idev.Link(ifa);
        return KErr.Ok;
    }

    /// <summary>ipv6_addr_scope as RT_SCOPE_*: host for ::1, link for fe80::/10, else universe.</summary>
    public static byte AddrScope(UInt128 a) => Inet.Ipv6SrcScope(a) switch
    {
        Inet.Ipv6ScopeNodeLocal => (byte)RT_SCOPE_HOST,
        Inet.Ipv6ScopeLinkLocal => (byte)RT_SCOPE_LINK,
        Inet.Ipv6ScopeSiteLocal => (byte)RT_SCOPE_SITE,
        _ => (byte)RT_SCOPE_UNIVERSE,
    };

    /// <summary>inet6_addr_add: a user-configured address (RTM_NEWADDR without an existing match).</summary>
    public KErr Inet6AddrAdd(NetDevice dev, Ifa6Config cfg)
    {
        if (cfg.Plen > 128) return new KErr(Errno.EINVAL, "ipv6: Invalid prefix length");
        if ((cfg.IfaFlags & IFA_F_MANAGETEMPADDR) != 0 && cfg.Plen != 64)
            return new KErr(Errno.EINVAL, "ipv6: address with \"mngtmpaddr\" flag must have a prefix length of 64");
        if (cfg.ValidLft == 0 || cfg.PreferredLft > cfg.ValidLft)
            return new KErr(Errno.EINVAL, "ipv6: address lifetime invalid");
        var (idev, err) = AddrconfAddDev(dev);
        if (err.Failed) return new KErr(err.Errno, "ipv6: IPv6 is disabled on this device");
        cfg.Scope = AddrScope(cfg.Pfx);
        long expires = 0;
        uint rtFlags = 0;
        if (cfg.ValidLft != IfAddr.InfinityLifeTime)
        {
            expires = Net.Kernel.Clock.NowMs + cfg.ValidLft * 1000L;
            rtFlags = (uint)RTF_EXPIRES;
        }
        else cfg.IfaFlags |= (uint)IFA_F_PERMANENT;
        if (cfg.PreferredLft == 0) cfg.IfaFlags |= (uint)IFA_F_DEPRECATED;

        err = Ipv6AddAddr(idev!, cfg, out var ifp);
        if (err.Failed) return err;
        if ((cfg.IfaFlags & IFA_F_NOPREFIXROUTE) == 0)
            AddrconfPrefixRoute(ifp!.Addr, ifp.PrefixLen, ifp.RtPriority, dev, expires, rtFlags);
        if ((ifp!.Flags & (IFA_F_OPTIMISTIC | IFA_F_NODAD)) == 0)
            Net.Events.Addr(ifp, false);
        AddrconfDadStart(ifp);
        return KErr.Ok;
    }

    /// <summary>inet6_addr_modify (RTM_NEWADDR with NLM_F_REPLACE on an existing address).</summary>
    public KErr Inet6AddrModify(Inet6IfAddr ifp, Ifa6Config cfg)
    {
        if (cfg.ValidLft == 0 || cfg.PreferredLft > cfg.ValidLft)
            return new KErr(Errno.EINVAL, "ipv6: address lifetime invalid");
        bool wasNoPrefixRoute = (ifp.Flags & IFA_F_NOPREFIXROUTE) != 0;
        uint oldMetric = ifp.RtPriority;
        ifp.Flags &= ~(uint)(IFA_F_DEPRECATED | IFA_F_PERMANENT | IFA_F_NODAD | IFA_F_HOMEADDRESS |
                             IFA_F_MANAGETEMPADDR | IFA_F_NOPREFIXROUTE);
        ifp.Flags |= cfg.IfaFlags & (uint)(IFA_F_NODAD | IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR | IFA_F_NOPREFIXROUTE);
        if (cfg.ValidLft == IfAddr.InfinityLifeTime) ifp.Flags |= (uint)IFA_F_PERMANENT;
        if (cfg.PreferredLft == 0) ifp.Flags |= (uint)IFA_F_DEPRECATED;
        ifp.ValidLft = cfg.ValidLft;
        ifp.PreferredLft = cfg.PreferredLft;
        ifp.TstampMs = Net.Kernel.Clock.NowMs;
        ifp.RtPriority = cfg.RtPriority;
        ifp.Proto = cfg.Proto;
        if (ifp.State != Inet6IfAddrState.Dead) Net.Events.Addr(ifp, false);
        if ((cfg.IfaFlags & IFA_F_NOPREFIXROUTE) == 0)
        {
            if (!wasNoPrefixRoute && oldMetric != ifp.RtPriority)
                DelPrefixRoute(ifp.Addr, ifp.PrefixLen, ifp.Dev, oldMetric);
            if (wasNoPrefixRoute || oldMetric != ifp.RtPriority)
                AddrconfPrefixRoute(ifp.Addr, ifp.PrefixLen, ifp.RtPriority, ifp.Dev, 0, 0);
        }
        else if (!wasNoPrefixRoute)
        {
            CleanupPrefixRoute(ifp, oldMetric);
        }
        return KErr.Ok;
    }

    /// <summary>inet6_addr_del: the address with this value and prefix length on the device.</summary>
    public KErr Inet6AddrDel(NetDevice dev, UInt128 pfx, byte plen, uint ifaFlags)
    {
        if (plen > 128) return new KErr(Errno.EINVAL, "ipv6: Invalid prefix length");
        var idev = dev.Ip6;
        if (idev == null) return new KErr(Errno.ENXIO, "ipv6: device not found");
        foreach (var ifp in idev.FindAll(pfx))
        {
            if (ifp.PrefixLen != plen) continue;
            Ipv6DelAddr(ifp);
            return KErr.Ok;
        }
        return new KErr(Errno.EADDRNOTAVAIL, "ipv6: address not found");
    }

    /// <summary>check_cleanup_prefix_route / cleanup_prefix_route.</summary>
    private void CleanupPrefixRoute(Inet6IfAddr ifp, uint metric)
    {
        var idev = ifp.Dev.Ip6;
        if (idev != null)
        {
            var mask = Inet.Mask6(ifp.PrefixLen);
            foreach (var other in idev.Addrs)
            {
                if (other == ifp || other.PrefixLen != ifp.PrefixLen) continue;
                if ((other.Addr & mask) != (ifp.Addr & mask)) continue;
                if ((other.Flags & IFA_F_NOPREFIXROUTE) != 0) continue;
                return; // another address still needs the prefix route
            }
        }
        DelPrefixRoute(ifp.Addr, ifp.PrefixLen, ifp.Dev, metric);
    }

    /// <summary>ipv6_del_addr.</summary>
    private void Ipv6DelAddr(Inet6IfAddr ifp)
    {
        var state = ifp.State;
        ifp.State = Inet6IfAddrState.Dead;
        if (state == Inet6IfAddrState.Dead) return;
        ifp.Dead = true;
        CancelDad(ifp);
        ifp.Dev.Ip6?.Unlink(ifp);
        Net.Events.Addr(ifp, true);
        AddrconfLeaveSolicit(ifp);
        if (ifp.LocalRoute != null) Ip6DelRt(ifp.LocalRoute);
        if ((ifp.Flags & IFA_F_PERMANENT) != 0 && (ifp.Flags & IFA_F_NOPREFIXROUTE) == 0)
            CleanupPrefixRoute(ifp, ifp.RtPriority);
        else if ((ifp.Flags & IFA_F_NOPREFIXROUTE) == 0)
            CleanupPrefixRoute(ifp, ifp.RtPriority);
    }

    // ---- DAD ---------------------------------------------------------------------------------

    /// <summary>addrconf_dad_start: queue the DAD work.</summary>
    private void AddrconfDadStart(Inet6IfAddr ifp)
    {
        if (ifp.State == Inet6IfAddrState.Dead) return;
        ifp.State = Inet6IfAddrState.PreDad;
        if (!_dadWork.Contains(ifp)) _dadWork.Add(ifp);
        Net.Kernel.MarkDeferred(Net);
    }

    private void CancelDad(Inet6IfAddr ifp)
    {
        _dadWork.Remove(ifp);
        TimerQueue.Cancel(ifp.DadTimer);
    }

    /// <summary>Runs the queued addrconf_dad_work items (after the request, as the workqueue does).</summary>
    public void RunDadWork()
    {
        while (_dadWork.Count > 0)
        {
            var ifp = _dadWork[0];
            _dadWork.RemoveAt(0);
            if (ifp.State == Inet6IfAddrState.PreDad)
            {
                ifp.State = Inet6IfAddrState.Dad;
                AddrconfDadBegin(ifp);
            }
        }
    }

    public bool DadWorkPending => _dadWork.Count > 0;

    /// <summary>addrconf_dad_begin.</summary>
    private void AddrconfDadBegin(Inet6IfAddr ifp)
    {
        var idev = ifp.Dev.Ip6;
        if (idev == null) return;
        AddrconfJoinSolicit(ifp);
        if (ifp.State == Inet6IfAddrState.Dead) return;
        var dev = ifp.Dev;
        if ((dev.Flags & (IFF_NOARP | IFF_LOOPBACK)) != 0 ||
            (All[DEVCONF_ACCEPT_DAD] < 1 && idev.Cnf[DEVCONF_ACCEPT_DAD] < 1) ||
            (ifp.Flags & IFA_F_TENTATIVE) == 0 || (ifp.Flags & IFA_F_NODAD) != 0)
        {
            ifp.Flags &= ~(uint)(IFA_F_TENTATIVE | IFA_F_OPTIMISTIC | IFA_F_DADFAILED);
            AddrconfDadCompleted(ifp);
            return;
        }
        if (!idev.Ready)
        {
            // addrconf_dad_stop(ifp, 0): a permanent address stays tentative until the link is ready
            if ((ifp.Flags & IFA_F_PERMANENT) != 0) ifp.Flags |= (uint)IFA_F_TENTATIVE;
            else Ipv6DelAddr(ifp);
            return;
        }
        if ((ifp.Flags & IFA_F_OPTIMISTIC) != 0 && ifp.LocalRoute is { Dead: true } or { Table: 0 })
            InsertLocalRoute(ifp);
        // probes: rtr_solicit_delay jitter, then dad_transmits probes one retrans time (1 s) apart
        int probes = Math.Max(1, idev.Cnf[DEVCONF_DAD_TRANSMITS]);
        long due = Net.Kernel.Clock.NowMs + probes * 1000L;
        ifp.DadTimer = Net.Kernel.Timers.Arm(ifp.DadTimer, due, () =>
        {
            if (ifp.State != Inet6IfAddrState.Dad) return;
            ifp.Flags &= ~(uint)(IFA_F_TENTATIVE | IFA_F_OPTIMISTIC | IFA_F_DADFAILED);
            AddrconfDadCompleted(ifp);
        });
    }

    /// <summary>addrconf_dad_completed: ipv6_ifa_notify(RTM_NEWADDR) inserts the local route.</summary>
    private void AddrconfDadCompleted(Inet6IfAddr ifp)
    {
        ifp.State = Inet6IfAddrState.Postdad;
        Ipv6IfaNotifyNewAddr(ifp);
    }

    /// <summary>__ipv6_ifa_notify(RTM_NEWADDR).</summary>
    private void Ipv6IfaNotifyNewAddr(Inet6IfAddr ifp)
    {
        Net.Events.Addr(ifp, false);
        InsertLocalRoute(ifp);
        if (ifp.PeerAddr != UInt128.Zero)
            AddrconfPrefixRoute(ifp.PeerAddr, 128, ifp.RtPriority, ifp.Dev, 0, 0);
    }

    private void InsertLocalRoute(Inet6IfAddr ifp)
    {
        var rt = ifp.LocalRoute;
        if (rt == null) return;
        if (!rt.Dead && rt.Table != 0 && GetTable(rt.Table)?.FindNode(rt.Dst, rt.DstLen)?.Leaf.Contains(rt) == true) return;
        var fresh = LocalRouteFor(ifp);
        ifp.LocalRoute = fresh;
        Ip6InsRt(fresh, (ushort)NLM_F_CREATE);
    }

    /// <summary>addrconf_dad_run: restart DAD for the tentative addresses of a device that became ready.</summary>
    private void AddrconfDadRun(Inet6Dev idev)
    {
        foreach (var ifp in idev.Addrs.ToList())
            if ((ifp.Flags & IFA_F_TENTATIVE) != 0 && ifp.State == Inet6IfAddrState.Dad)
            {
                ifp.State = Inet6IfAddrState.PreDad;
                AddrconfDadStart(ifp);
            }
    }

    // ---- link-local and loopback addresses ---------------------------------------------------

    /// <summary>addrconf_add_linklocal.</summary>
    private void AddrconfAddLinklocal(Inet6Dev idev, UInt128 addr, uint flags)
    {
        var cfg = new Ifa6Config
        {
            Pfx = addr, Plen = 64, IfaFlags = flags | (uint)IFA_F_PERMANENT, Scope = (byte)RT_SCOPE_LINK,
        };
        if (Ipv6AddAddr(idev, cfg, out var ifp).Failed) return;
        AddrconfPrefixRoute(ifp!.Addr, ifp.PrefixLen, 0, idev.Dev, 0, 0);
        AddrconfDadStart(ifp);
    }

    /// <summary>addrconf_addr_gen: the link-local address the device's addr_gen_mode calls for.</summary>
    private void AddrconfAddrGen(Inet6Dev idev, bool prefixRoute)
    {
        UInt128 ll = (UInt128)0xfe80UL << 112;
        switch (idev.Cnf[DEVCONF_ADDR_GEN_MODE])
        {
            case IN6_ADDR_GEN_MODE_EUI64:
                if (Addrconf.GenerateEui64(idev.Dev) is ulong iid) AddrconfAddLinklocal(idev, ll | iid, 0);
                else if (prefixRoute) AddrconfPrefixRoute(ll, 64, 0, idev.Dev, 0, 0);
                break;
            case IN6_ADDR_GEN_MODE_RANDOM:
            case IN6_ADDR_GEN_MODE_STABLE_PRIVACY:
                var secret = idev.Cnf.StableSecret ?? Default.StableSecret;
                if (idev.Cnf[DEVCONF_ADDR_GEN_MODE] == IN6_ADDR_GEN_MODE_RANDOM && secret == null)
                {
                    secret = Addrconf.RandomSecret(Net.Kernel);
                    idev.Cnf.StableSecret = secret;
                }
                if (secret is UInt128 s && Addrconf.GenerateStable(s, ll, idev.Dev, 0) is ulong sid)
                    AddrconfAddLinklocal(idev, ll | sid, (uint)IFA_F_STABLE_PRIVACY);
                else if (prefixRoute) AddrconfPrefixRoute(ll, 64, 0, idev.Dev, 0, 0);
                break;
        }
    }

    /// <summary>addrconf_dev_config: non-loopback devices get the multicast route and a link-local.</summary>
    private void AddrconfDevConfig(NetDevice dev)
    {
        if (dev.Type != ARPHRD_ETHER && dev.Type != ARPHRD_NONE && dev.Type != ARPHRD_IEEE802154)
        {
            // "Alas, we support only Ethernet autoconfiguration": the groups are loaded all the same
            if (dev.Ip6 is { } other && dev.IsUp && (dev.Flags & IFF_MULTICAST) != 0) Ipv6McUp(other);
            return;
        }
        var (idev, err) = AddrconfAddDev(dev);
        if (err.Failed) return;
        if (dev.Type == ARPHRD_NONE && idev!.Cnf[DEVCONF_ADDR_GEN_MODE] == IN6_ADDR_GEN_MODE_EUI64)
            idev.Cnf[DEVCONF_ADDR_GEN_MODE] = IN6_ADDR_GEN_MODE_RANDOM;
        AddrconfAddrGen(idev!, false);
    }

    /// <summary>init_loopback: ::1/128, usable at once.</summary>
    private void InitLoopback(NetDevice dev)
    {
        var idev = FindIdev(dev);
        if (idev == null) return;
        var cfg = new Ifa6Config
        {
            Pfx = UInt128.One, Plen = 128, Scope = (byte)RT_SCOPE_HOST, IfaFlags = (uint)IFA_F_PERMANENT,
        };
        if (Ipv6AddAddr(idev, cfg, out var ifp).Failed) return;
        ifp!.Flags &= ~(uint)IFA_F_TENTATIVE;
        ifp.State = Inet6IfAddrState.Postdad;
        Ipv6IfaNotifyNewAddr(ifp);
    }

    /// <summary>addrconf_init_auto_addrs.</summary>
    private void AddrconfInitAutoAddrs(NetDevice dev)
    {
        if (dev.Type == ARPHRD_LOOPBACK) InitLoopback(dev);
        else AddrconfDevConfig(dev);
    }

    /// <summary>addrconf_permanent_addr: on NETDEV_UP, routes of kept permanent addresses come back.</summary>
    private void AddrconfPermanentAddr(NetDevice dev)
    {
        var idev = dev.Ip6;
        if (idev == null) return;
        foreach (var ifp in idev.Addrs.ToList())
        {
            if ((ifp.Flags & IFA_F_PERMANENT) == 0) continue;
            if ((ifp.Flags & IFA_F_NOPREFIXROUTE) == 0)
                AddrconfPrefixRoute(ifp.Addr, ifp.PrefixLen, ifp.RtPriority, dev, 0, 0);
            // fixup_permanent_addr: DAD again only for addresses kept over a down (PREDAD)
            if (ifp.State == Inet6IfAddrState.PreDad) AddrconfDadStart(ifp);
        }
    }

    /// <summary>addrconf_ifdown: the device goes down (addresses go unless keep_addr_on_down) or
    /// away (everything goes, and the inet6_dev with it).</summary>
    internal void AddrconfIfdown(NetDevice dev, bool unregister)
    {
        Rt6SyncDownDev(dev, unregister ? NetdevEvent.Unregister : NetdevEvent.Down);
        // rt6_disable_ip: the routes, then the neighbours (neigh_ifdown), before the addresses
        if (unregister || !dev.IsLoopback) Net.Neigh.Nd.FlushDev(dev, false, true);
        var idev = dev.Ip6;
        if (idev == null) return;
        if (unregister)
        {
            idev.Dead = true;
            dev.Ip6 = null;
        }
        bool keepAddr = false;
        if (!unregister && idev.Cnf[DEVCONF_DISABLE_IPV6] == 0)
        {
            int k = All[DEVCONF_KEEP_ADDR_ON_DOWN];
            if (k == 0) k = idev.Cnf[DEVCONF_KEEP_ADDR_ON_DOWN];
            keepAddr = k > 0;
        }
        bool wasReady = idev.Ready;
        if (!unregister) idev.Ready = false;
        foreach (var ifa in idev.Addrs.ToList())
        {
            CancelDad(ifa);
            bool keep = keepAddr && (ifa.Flags & IFA_F_PERMANENT) != 0 && !Inet.IsV6Loopback(ifa.Addr);
            Inet6IfAddrState state;
            if (keep)
            {
                state = Inet6IfAddrState.Dead;
                ifa.State = Inet6IfAddrState.PreDad;
                if ((ifa.Flags & IFA_F_NODAD) == 0) ifa.Flags |= (uint)IFA_F_TENTATIVE;
                if (ifa.LocalRoute != null) Ip6DelRt(ifa.LocalRoute);
            }
            else
            {
                state = ifa.State;
                ifa.State = Inet6IfAddrState.Dead;
                ifa.Dead = true;
            }
            if (state != Inet6IfAddrState.Dead)
            {
                Net.Events.Addr(ifa, true);
                AddrconfLeaveSolicit(ifa);
            }
            if (!keep) idev.Unlink(ifa);
        }
        idev.TstampMs = Net.Kernel.Clock.NowMs;
        if (unregister)
        {
            Ipv6McDestroyDev(idev);
            AddrconfSysctlUnregister(idev);
        }
        else if (wasReady) Ipv6McDown(idev);
    }

    /// <summary>addrconf_notify: the netdev notifier of IPv6.</summary>
    private sealed class AddrconfNotify(Ipv6Net v6) : INetdevNotifier
    {
        public void OnNetdevEvent(NetdevEvent ev, NetDevice dev)
        {
            var idev = dev.Ip6;
            bool runPending = false;
            switch (ev)
            {
                case NetdevEvent.Register:
                    if (idev == null && dev.Mtu >= Ipv6MinMtu) v6.Ipv6AddDev(dev);
                    return;
                case NetdevEvent.ChangeMtu:
                    if (dev.Mtu < Ipv6MinMtu)
                    {
                        v6.AddrconfIfdown(dev, dev != v6.Net.Loopback);
                        return;
                    }
                    if (idev != null)
                    {
                        idev.Cnf[DEVCONF_MTU6] = (int)dev.Mtu;
                        return;
                    }
                    idev = v6.Ipv6AddDev(dev);
                    if (idev == null || !idev.Ready) return;
                    runPending = true;
                    goto case NetdevEvent.Up;
                case NetdevEvent.Up:
                case NetdevEvent.Change:
                    if (idev != null && idev.Cnf[DEVCONF_DISABLE_IPV6] != 0) return;
                    if (ev == NetdevEvent.Up)
                    {
                        v6.AddrconfPermanentAddr(dev);
                        if (!AddrconfLinkReady(dev)) return;
                        if (idev == null && dev.Mtu >= Ipv6MinMtu) idev = v6.Ipv6AddDev(dev);
                        if (idev != null)
                        {
                            idev.Ready = true;
                            runPending = true;
                        }
                    }
                    else if (ev == NetdevEvent.Change)
                    {
                        if (!AddrconfLinkReady(dev))
                        {
                            v6.Rt6SyncDownDev(dev, ev);
                            return;
                        }
                        if (idev != null)
                        {
                            if (idev.Ready)
                            {
                                // already configured: the MLD reports are sent again (ipv6_mc_up)
                                if ((dev.Flags & IFF_MULTICAST) != 0) v6.Ipv6McUp(idev);
                                v6.Rt6SyncUp(dev, (uint)RTNH_F_LINKDOWN);
                                return;
                            }
                            idev.Ready = true;
                        }
                        runPending = true;
                    }
                    v6.AddrconfInitAutoAddrs(dev);
                    idev = dev.Ip6;
                    if (idev != null)
                    {
                        if (runPending) v6.AddrconfDadRun(idev);
                        v6.Rt6SyncUp(dev, (uint)RTNH_F_DEAD);
                        if (idev.Cnf[DEVCONF_MTU6] != (int)dev.Mtu && dev.Mtu >= Ipv6MinMtu)
                            idev.Cnf[DEVCONF_MTU6] = (int)dev.Mtu;
                        idev.TstampMs = v6.Net.Kernel.Clock.NowMs;
                    }
                    return;
                case NetdevEvent.Down:
                case NetdevEvent.Unregister:
                    v6.AddrconfIfdown(dev, ev != NetdevEvent.Down);
                    return;
                case NetdevEvent.ChangeName:
                    if (idev == null) return;
                    v6.AddrconfSysctlUnregister(idev);
                    v6.AddrconfSysctlRegister(idev);
                    return;
            }
        }
    }
}

/// <summary>Address generation helpers of addrconf.c.</summary>
public static class Addrconf
{
    /// <summary>IN6_ADDR_GEN_MODE_* values the kernel accepts (check_addr_gen_mode).</summary>
    public static bool ValidAddrGenMode(byte mode) =>
        mode is IN6_ADDR_GEN_MODE_EUI64 or IN6_ADDR_GEN_MODE_NONE or IN6_ADDR_GEN_MODE_STABLE_PRIVACY or IN6_ADDR_GEN_MODE_RANDOM;

    /// <summary>ipv6_generate_eui64 for Ethernet: the MAC with ff:fe in the middle and the U/L bit flipped.</summary>
    public static ulong? GenerateEui64(NetDevice dev)
    {
        if (dev.Type != ARPHRD_ETHER || dev.DevAddr.Length != 6) return null;
        var m = dev.DevAddr;
        ulong iid = ((ulong)(m[0] ^ 0x02) << 56) | ((ulong)m[1] << 48) | ((ulong)m[2] << 40) | (0xffUL << 32) |
                    (0xfeUL << 24) | ((ulong)m[3] << 16) | ((ulong)m[4] << 8) | m[5];
        return iid;
    }

    /// <summary>ipv6_gen_mode_random_init: a random secret (from the kernel's deterministic source).</summary>
    public static UInt128 RandomSecret(Kernel k)
    {
        var a = k.RandomEtherAddr();
        var b = k.RandomEtherAddr();
        var c = k.RandomEtherAddr();
        UInt128 v = 0;
        foreach (var x in a.Concat(b).Concat(c).Take(16)) v = (v << 8) | x;
        return v;
    }

    /// <summary>ipv6_generate_stable_address (RFC 7217): one SHA-1 block transform over {secret,
    /// prefix[0..8], perm_addr[32], dad_count}; the first two digest words, stored in host (little
    /// endian) order as the kernel does, become the interface id. Reserved ids retry with the next
    /// dad_count, up to idgen_retries (3).</summary>
    public static ulong? GenerateStable(UInt128 secret, UInt128 prefix, NetDevice dev, int dadCount)
    {
        Span<byte> block = stackalloc byte[64];
        Span<uint> digest = stackalloc uint[5];
        Span<byte> p = stackalloc byte[16];
        Span<byte> iid = stackalloc byte[8];
        for (; dadCount <= 3; dadCount++)
        {
            block.Clear();
            Inet.V6(secret, block);
            Inet.V6(prefix, p);
            p[..8].CopyTo(block[16..]);
            dev.PermAddr.AsSpan(0, Math.Min(dev.PermAddr.Length, Math.Min(32, (int)dev.AddrLen))).CopyTo(block[24..]);
            block[56] = (byte)dadCount;
            Sha1.TransformOneBlock(block, digest);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(iid, digest[0]);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(iid[4..], digest[1]);
            ulong id = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(iid);
            if (!ReservedInterfaceId(id)) return id;
        }
        return null;
    }

    /// <summary>ipv6_reserved_interfaceid: the subnet-router anycast id and the reserved ranges.</summary>
    public static bool ReservedInterfaceId(ulong id) =>
        id == 0 ||
        (id & 0xffff_ffff_fe00_0000UL) == 0x0200_5eff_fe00_0000UL ||
        (id & 0xffff_ffff_ffff_ff80UL) == 0xfdff_ffff_ffff_ff80UL;
}
