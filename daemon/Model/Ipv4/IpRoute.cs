using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv4;

/// <summary>RTCF_* flags of a cached route (include/uapi/linux/in_route.h).</summary>
public static class Rtcf
{
    public const uint Notify = 0x00010000, DirectDst = 0x00020000, Redirected = 0x00040000, Tproxy = 0x00080000,
        Fast = 0x00200000, Masq = 0x00400000, Snat = 0x00800000, DoRedirect = 0x01000000, DirectSrc = 0x04000000,
        Dnat = 0x08000000, Broadcast = 0x10000000, Multicast = 0x20000000, Reject = 0x40000000, Local = 0x80000000;
}

/// <summary>struct rtable: the route the kernel builds for a lookup (what `ip route get` shows).</summary>
public sealed class Rtable
{
    public byte Type;
    public uint Flags;               // RTCF_*
    public NetDevice? Dev;           // dst.dev
    public bool UsesGateway;
    public byte GwFamily;
    public UInt128 Gateway;
    public uint TclassId;
    public uint[]? Metrics;
    /// <summary>dst.error as a positive errno (0 = none).</summary>
    public int Error;
    public bool IsInput;
    /// <summary>IPSKB_DOREDIRECT: forwarded out of the interface it came in on, to an on-link sender.</summary>
    public bool DoRedirect;
}

/// <summary>What inet_rtm_getroute found: the route, the flow after source selection and the FIB
/// result (for fibmatch).</summary>
public sealed class RouteGet4
{
    public required Rtable Rt;
    public FlowI4 Flow;
    public required FibResult Res;
}

// net/ipv4/route.c: output and input route resolution, source address selection.
public sealed partial class Ipv4Net
{
    /// <summary>inet_select_addr: a source address of <paramref name="dev"/> for a destination,
    /// preferring the subnet of <paramref name="dst"/>; falls back to other devices.</summary>
    public uint InetSelectAddr(NetDevice? dev, uint dst, int scope)
    {
        uint addr = 0;
        byte localnetScope = (byte)RT_SCOPE_HOST;
        var inDev = dev?.Ip4;
        if (inDev != null)
        {
            if (OrConf(inDev, IPV4_DEVCONF_ROUTE_LOCALNET)) localnetScope = (byte)RT_SCOPE_LINK;
            foreach (var ifa in inDev.Addrs)
            {
                if (ifa.Secondary) continue;
                if (Math.Min(ifa.Scope, localnetScope) > scope) continue;
                if (dst == 0 || ifa.Matches(dst))
                {
                    addr = ifa.Local;
                    break;
                }
                if (addr == 0) addr = ifa.Local;
            }
            if (addr != 0) return addr;
        }
        foreach (var d in Net.Devices)
        {
            if (d.Ip4 == null) continue;
            addr = InDevSelectAddr(d.Ip4, scope);
            if (addr != 0) return addr;
        }
        return 0;
    }

    /// <summary>in_dev_select_addr.</summary>
    private static uint InDevSelectAddr(InDevice inDev, int scope)
    {
        foreach (var ifa in inDev.Addrs)
        {
            if (ifa.Secondary) continue;
            if (ifa.Scope != RT_SCOPE_LINK && ifa.Scope <= scope) return ifa.Local;
        }
        return 0;
    }

    /// <summary>fib_result_prefsrc: the route's prefsrc, else the path's source address.</summary>
    public uint FibResultPrefsrc(FibResult res)
    {
        if (res.Fi != null && res.Fi.HasPrefSrc) return (uint)res.Fi.PrefSrc;
        var nhc = res.Nhc;
        if (nhc == null) return 0;
        if (nhc.GwFamily == AF_INET6 || nhc.GwFamily == 0 && res.Fi?.Nh?.Family == AF_INET6)
            return InetSelectAddr(nhc.Dev, 0, res.Fi?.Scope ?? 0);
        return InetSelectAddr(nhc.Dev, nhc.GwFamily == AF_INET ? (uint)nhc.Gateway : 0, res.Fi?.Scope ?? 0);
    }

    /// <summary>The seed of the multipath hash (the kernel draws a random one per boot; any fixed
    /// value is as valid).</summary>
    public const uint MultipathHashSeed = 0x9e3779b9;

    /// <summary>fib_multipath_hash (L3 policy): a 31-bit hash of the addresses.</summary>
    public static uint MultipathHash(uint saddr, uint daddr)
    {
        uint h = MultipathHashSeed;
        h = Mix(h ^ saddr);
        h = Mix(h ^ daddr);
        return h >> 1;
    }

    internal static uint Mix(uint x)
    {
        x ^= x >> 16;
        x *= 0x7feb352d;
        x ^= x >> 15;
        x *= 0x846ca68b;
        x ^= x >> 16;
        return x;
    }

    /// <summary>fib_rebalance + fib_select_multipath: the path whose weight share holds the hash,
    /// among the live ones.</summary>
    private void FibSelectMultipath(FibResult res, uint hash)
    {
        var fi = res.Fi!;
        int n = fi.PathCount;
        long total = 0;
        for (int i = 0; i < n; i++)
        {
            var (nh, w) = fi.Path(i);
            if (!PathAlive(nh)) continue;
            total += w;
        }
        if (total == 0) return;
        long acc = 0;
        for (int i = 0; i < n; i++)
        {
            var (nh, w) = fi.Path(i);
            if (!PathAlive(nh)) continue;
            acc += w;
            long upper = (((acc << 31) + total / 2) / total) - 1;
            if (hash > upper) continue;
            res.NhSel = i;
            res.Nhc = nh;
            return;
        }
    }

    private bool PathAlive(Nexthop nh) =>
        (nh.Flags & RTNH_F_DEAD) == 0 && !((nh.Flags & RTNH_F_LINKDOWN) != 0 && IgnoreLinkdown(nh.Dev));

    /// <summary>fib_select_path: a multipath route picks its path by hash; then the source address.</summary>
    private void FibSelectPath(FibResult res, ref FlowI4 fl)
    {
        if (!(fl.Oif != 0 && !fl.SkipNhOif) && res.Fi != null && res.Fi.PathCount > 1)
            FibSelectMultipath(res, MultipathHash(fl.Saddr, fl.Daddr));
        if (fl.Saddr == 0) fl.Saddr = FibResultPrefsrc(res);
    }

    /// <summary>ip_route_output_key_hash_rcu: the output route for a flow.</summary>
    public int IpRouteOutput(ref FlowI4 fl, FibResult res, out Rtable? rt)
    {
        rt = null;
        int origOif = fl.Oif;
        uint flags = 0;
        NetDevice? devOut = null;
        fl.Iif = 1; // LOOPBACK_IFINDEX
        if (fl.Saddr != 0)
        {
            if (Inet.IsV4Multicast(fl.Saddr) || Inet.IsV4LimitedBroadcast(fl.Saddr) || Inet.IsV4ZeroNet(fl.Saddr))
                return -Errno.EINVAL;
            if (fl.Oif == 0 && (Inet.IsV4Multicast(fl.Daddr) || Inet.IsV4LimitedBroadcast(fl.Daddr)))
            {
                devOut = DevFind(fl.Saddr);
                if (devOut == null) return -Errno.ENETUNREACH;
                fl.Oif = devOut.Ifindex;
                return MkRouteOutput(res, ref fl, origOif, devOut, flags, out rt, noFi: true);
            }
            if (DevFind(fl.Saddr) == null) return -Errno.ENETUNREACH;
        }
        if (fl.Oif != 0)
        {
            devOut = Net.GetDevice(fl.Oif);
            if (devOut == null) return -Errno.ENODEV;
            if (!devOut.IsUp || devOut.Ip4 == null) return -Errno.ENETUNREACH;
            if ((fl.Daddr & 0xffffff00) == 0xe0000000 || Inet.IsV4LimitedBroadcast(fl.Daddr) || fl.Proto == 2 /* IGMP */)
            {
                if (fl.Saddr == 0) fl.Saddr = InetSelectAddr(devOut, 0, RT_SCOPE_LINK);
                return MkRouteOutput(res, ref fl, origOif, devOut, flags, out rt, noFi: true);
            }
            if (fl.Saddr == 0)
            {
                if (Inet.IsV4Multicast(fl.Daddr)) fl.Saddr = InetSelectAddr(devOut, 0, fl.Scope);
                else if (fl.Daddr == 0) fl.Saddr = InetSelectAddr(devOut, 0, RT_SCOPE_HOST);
            }
        }
        if (fl.Daddr == 0)
        {
            fl.Daddr = fl.Saddr;
            if (fl.Daddr == 0) fl.Daddr = fl.Saddr = 0x7f000001;
            devOut = Net.Loopback;
            fl.Oif = devOut.Ifindex;
            res.Type = (byte)RTN_LOCAL;
            flags |= Rtcf.Local;
            return MkRouteOutput(res, ref fl, origOif, devOut, flags, out rt, noFi: true);
        }
        int err = FibLookup(fl, res, FibLookupFlags.None);
        if (err != 0)
        {
            res.Fi = null;
            res.Table = null;
            if (fl.Oif != 0 && devOut != null)
            {
                if (fl.Saddr == 0) fl.Saddr = InetSelectAddr(devOut, 0, RT_SCOPE_LINK);
                res.Type = (byte)RTN_UNICAST;
                return MkRouteOutput(res, ref fl, origOif, devOut, flags, out rt, noFi: true);
            }
            return err;
        }
        if (res.Type == RTN_LOCAL)
        {
            if (fl.Saddr == 0) fl.Saddr = res.Fi is { HasPrefSrc: true } f ? (uint)f.PrefSrc : fl.Daddr;
            devOut = Net.Loopback;
            fl.Oif = devOut.Ifindex;
            flags |= Rtcf.Local;
            return MkRouteOutput(res, ref fl, origOif, devOut, flags, out rt, noFi: false);
        }
        FibSelectPath(res, ref fl);
        devOut = res.Dev;
        if (devOut == null) return -Errno.EINVAL;
        return MkRouteOutput(res, ref fl, origOif, devOut, flags, out rt, noFi: false);
    }

    /// <summary>__mkroute_output + rt_set_nexthop.</summary>
    private int MkRouteOutput(FibResult res, ref FlowI4 fl, int origOif, NetDevice devOut, uint flags, out Rtable? rt, bool noFi)
    {
        rt = null;
        var inDev = devOut.Ip4;
        if (inDev == null) return -Errno.EINVAL;
        if (!OrConf(inDev, IPV4_DEVCONF_ROUTE_LOCALNET) && Inet.IsV4Loopback(fl.Saddr) && !devOut.IsLoopback)
            return -Errno.EINVAL;
        byte type = res.Type;
        var fi = noFi ? null : res.Fi;
        if (Inet.IsV4LimitedBroadcast(fl.Daddr)) type = (byte)RTN_BROADCAST;
        else if (Inet.IsV4Multicast(fl.Daddr)) type = (byte)RTN_MULTICAST;
        else if (Inet.IsV4ZeroNet(fl.Daddr)) return -Errno.EINVAL;
        if (devOut.IsLoopback) flags |= Rtcf.Local;
        if (type == RTN_BROADCAST)
        {
            flags |= Rtcf.Broadcast | Rtcf.Local;
            fi = null;
        }
        else if (type == RTN_MULTICAST)
        {
            flags |= Rtcf.Multicast | Rtcf.Local;
            // ip_check_mc_rcu: nobody joined the group here
            flags &= ~Rtcf.Local;
            if (fi != null && res.PrefixLen < 4) fi = null;
        }
        _ = origOif;
        rt = new Rtable { Type = type, Flags = flags, Dev = devOut };
        if (fi != null) RtSetNexthop(rt, res, fi);
        return 0;
    }

    private static void RtSetNexthop(Rtable rt, FibResult res, Route fi)
    {
        var nhc = res.Nhc;
        if (nhc != null && nhc.GwFamily != 0 && nhc.Scope == RT_SCOPE_LINK)
        {
            rt.UsesGateway = true;
            rt.GwFamily = nhc.GwFamily;
            rt.Gateway = nhc.Gateway;
        }
        rt.Metrics = fi.Metrics;
        if (nhc != null && fi.Nh == null) rt.TclassId = nhc.Realm;
    }

    /// <summary>IN_DEV_RPFILTER etc.</summary>
    private int MaxConfOf(InDevice d, int c) => Math.Max(All[c], d.Cnf[c]);

    /// <summary>ip_route_input_slow: the route a packet arriving on <paramref name="dev"/> takes.
    /// Returns 0 with a route (whose Error may be set), or a negative errno.</summary>
    public int IpRouteInput(uint daddr, uint saddr, byte tos, NetDevice dev, uint mark, FibResult res, out Rtable? rtOut)
    {
        Rtable? rt = null;
        var inDev = dev.Ip4;
        uint flags = 0;
        int ret = inDev == null ? -Errno.EINVAL : Core(inDev);
        rtOut = rt;
        return ret;

        int Core(InDevice inDev)
        {
        if (Inet.IsV4Multicast(daddr))
        {
            // ip_route_input_rcu: a group this host is a member of (only the all-hosts group, which
            // every running IPv4 device joins in ip_mc_up) goes to ip_route_input_mc
            bool our = daddr == 0xe0000001 && dev.IsUp;
            if (!our) return -Errno.EINVAL;
            if (Inet.IsV4Multicast(saddr) || Inet.IsV4LimitedBroadcast(saddr)) return -Errno.EINVAL;
            if (Inet.IsV4Loopback(saddr) && !OrConf(inDev, IPV4_DEVCONF_ROUTE_LOCALNET)) return -Errno.EINVAL;
            if (Inet.IsV4ZeroNet(saddr))
            {
                if ((daddr & 0xffffff00) != 0xe0000000) return -Errno.EINVAL;
            }
            else if (FibValidateSource(saddr, 0, tos, 0, dev, inDev, mark) < 0) return -Errno.EINVAL;
            res.Type = (byte)RTN_MULTICAST;
            rt = new Rtable { Type = (byte)RTN_MULTICAST, Flags = Rtcf.Multicast | Rtcf.Local, Dev = Net.Loopback, IsInput = true };
            return 0;
        }
        if (Inet.IsV4Multicast(saddr) || Inet.IsV4LimitedBroadcast(saddr)) return -Errno.EINVAL;
        res.Fi = null;
        res.Table = null;
        if (Inet.IsV4LimitedBroadcast(daddr) || (saddr == 0 && daddr == 0)) return BrdInput();
        if (Inet.IsV4ZeroNet(saddr)) return -Errno.EINVAL;
        if (Inet.IsV4ZeroNet(daddr)) return -Errno.EINVAL;
        bool localnet = OrConf(inDev, IPV4_DEVCONF_ROUTE_LOCALNET);
        if (Inet.IsV4Loopback(daddr)) { if (!localnet) return -Errno.EINVAL; }
        else if (Inet.IsV4Loopback(saddr)) { if (!localnet) return -Errno.EINVAL; }

        var fl = new FlowI4
        {
            Daddr = daddr, Saddr = saddr, Iif = dev.Ifindex, Mark = mark, Tos = tos, Scope = (byte)RT_SCOPE_UNIVERSE, Uid = 0,
        };
        bool forward = inDev.Cnf[IPV4_DEVCONF_FORWARDING] != 0;
        int err = FibLookup(fl, res, FibLookupFlags.None);
        if (err != 0)
        {
            if (!forward) err = -Errno.EHOSTUNREACH;
            return NoRoute(err);
        }
        if (res.Type == RTN_BROADCAST)
        {
            if (OrConf(inDev, IPV4_DEVCONF_BC_FORWARDING)) return MakeRoute();
            return BrdInput();
        }
        if (res.Type == RTN_LOCAL)
        {
            if (FibValidateSource(saddr, daddr, tos, 0, dev, inDev, mark) < 0) return -Errno.EINVAL;
            return LocalInput(0);
        }
        if (!forward) return NoRoute(-Errno.EHOSTUNREACH);
        if (res.Type != RTN_UNICAST) return -Errno.EINVAL;
        return MakeRoute();
        }

        int MakeRoute()
        {
            if (res.Fi != null && res.Fi.PathCount > 1) FibSelectMultipath(res, MultipathHash(saddr, daddr));
            var outDev = res.Dev;
            if (outDev?.Ip4 == null) return -Errno.EINVAL;
            int v = FibValidateSource(saddr, daddr, tos, outDev.Ifindex, dev, inDev!, mark);
            if (v < 0) return -Errno.EINVAL;
            rt = new Rtable { Type = res.Type, Flags = 0, Dev = outDev, IsInput = true };
            // __mkroute_input: out where it came in, to a sender on the link
            if (outDev == dev && v > 0 && OrConf(inDev!, IPV4_DEVCONF_SEND_REDIRECTS))
            {
                uint gw = res.Nhc is { GwFamily: AF_INET } g ? (uint)g.Gateway : 0;
                if (OrConf(inDev!, IPV4_DEVCONF_SHARED_MEDIA) || InetAddrOnlink(inDev!, saddr, gw)) rt.DoRedirect = true;
            }
            if (res.Fi != null) RtSetNexthop(rt, res, res.Fi);
            return 0;
        }

        int BrdInput()
        {
            if (saddr != 0 && FibValidateSource(saddr, 0, tos, 0, dev, inDev!, mark) < 0) return -Errno.EINVAL;
            flags |= Rtcf.Broadcast;
            res.Type = (byte)RTN_BROADCAST;
            return LocalInput(0);
        }

        int NoRoute(int e)
        {
            res.Type = (byte)RTN_UNREACHABLE;
            res.Fi = null;
            res.Table = null;
            return LocalInput(e);
        }

        int LocalInput(int e)
        {
            // ip_rt_get_dev: the loopback (no l3mdev masters here)
            rt = new Rtable { Type = res.Type, Flags = flags | Rtcf.Local, Dev = Net.Loopback, IsInput = true };
            if (res.Type == RTN_UNREACHABLE)
            {
                rt.Error = -e;
                rt.Flags &= ~Rtcf.Local;
            }
            return 0;
        }
    }

    /// <summary>inet_addr_onlink: both addresses are on a subnet of the device.</summary>
    private static bool InetAddrOnlink(InDevice inDev, uint a, uint b)
    {
        foreach (var ifa in inDev.Addrs)
            if (ifa.Matches(a) && (b == 0 || ifa.Matches(b))) return true;
        return false;
    }

    /// <summary>fib_validate_source: reverse path filtering and martian sources.</summary>
    private int FibValidateSource(uint src, uint dst, byte tos, int oif, NetDevice dev, InDevice idev, uint mark)
    {
        int r = MaxConfOf(idev, IPV4_DEVCONF_RP_FILTER);
        bool acceptLocal = OrConf(idev, IPV4_DEVCONF_ACCEPT_LOCAL);
        if (r == 0 && (dev.Ifindex != oif || !OrConf(idev, IPV4_DEVCONF_SEND_REDIRECTS)))
        {
            if (acceptLocal) return 0;
            if (!Rules.HasCustomRules)
            {
                if (DevFind(src) != null) return -Errno.EINVAL;
                return 0;
            }
        }
        // __fib_validate_source
        var fl = new FlowI4
        {
            Daddr = src, Saddr = dst, Iif = oif != 0 ? oif : 1, Tos = tos, Scope = (byte)RT_SCOPE_UNIVERSE, Uid = 0,
            Mark = OrConf(idev, IPV4_DEVCONF_SRC_VMARK) ? mark : 0,
        };
        bool noAddr = idev.IsEmpty;
        var res = new FibResult();
        if (FibLookup(fl, res, FibLookupFlags.None) != 0) return r != 0 ? -Errno.EXDEV : 0;
        if (res.Type != RTN_UNICAST && (res.Type != RTN_LOCAL || !acceptLocal)) return -Errno.EINVAL;
        bool devMatch = res.Fi != null && res.Fi.UsesDev(dev) || (res.Type == RTN_LOCAL && dev == Net.Loopback);
        if (devMatch) return res.Nhc != null && res.Nhc.Scope >= RT_SCOPE_HOST ? 1 : 0;
        if (noAddr) return r != 0 ? -Errno.EXDEV : 0;
        if (r == 1) return -Errno.EXDEV;
        fl.Oif = dev.Ifindex;
        int ret = 0;
        res = new FibResult();
        if (FibLookup(fl, res, FibLookupFlags.IgnoreLinkState) == 0 && res.Type == RTN_UNICAST)
            ret = res.Nhc != null && res.Nhc.Scope >= RT_SCOPE_HOST ? 1 : 0;
        return ret;
    }

    /// <summary>inet_rtm_getroute's model part: the input route when <paramref name="iif"/> is set,
    /// else the output route.</summary>
    public int RouteGet(uint dst, uint src, int iif, int oif, uint mark, byte tos, uint? uid, byte ipProto,
        ushort sport, ushort dport, out RouteGet4? result)
    {
        result = null;
        var fl = new FlowI4
        {
            Daddr = dst, Saddr = src, Tos = tos, Oif = oif, Mark = mark, Uid = uid, Proto = ipProto, Sport = sport, Dport = dport,
        };
        var res = new FibResult();
        Rtable? rt;
        int err;
        if (iif != 0)
        {
            var dev = Net.GetDevice(iif);
            if (dev == null) return -Errno.ENODEV;
            fl.Iif = iif;
            err = IpRouteInput(dst, src, tos, dev, mark, res, out rt) != 0 ? -Errno.EINVAL : 0;
            if (err == 0 && rt!.Error != 0) err = -rt.Error;
        }
        else
        {
            err = IpRouteOutput(ref fl, res, out rt);
        }
        if (err != 0) return err;
        result = new RouteGet4 { Rt = rt!, Flow = fl, Res = res };
        return 0;
    }
}
