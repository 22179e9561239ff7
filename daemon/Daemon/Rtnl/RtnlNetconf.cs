using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Model.Ipv4;
using VirtKernel.Model.Ipv6;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>net/ipv4/devinet.c and net/ipv6/addrconf.c, netconf side: RTM_GETNETCONF for a device,
/// "all" or "default" (doit) and for everything (dumpit; AF_UNSPEC dumps both families), and the
/// RTM_NEWNETCONF/RTM_DELNETCONF fill functions the notifications use.</summary>
public static class RtnlNetconfHandlers
{
    /// <summary>devconf_ipv4_policy.</summary>
    private static readonly Policy Ipv4Policy = new(NETCONFA_MAX,
        ((ushort)NETCONFA_IFINDEX, new NlaPolicy(NlaType.Unspec, 4)),
        ((ushort)NETCONFA_FORWARDING, new NlaPolicy(NlaType.Unspec, 4)),
        ((ushort)NETCONFA_RP_FILTER, new NlaPolicy(NlaType.Unspec, 4)),
        ((ushort)NETCONFA_PROXY_NEIGH, new NlaPolicy(NlaType.Unspec, 4)),
        ((ushort)NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN, new NlaPolicy(NlaType.Unspec, 4)));

    /// <summary>devconf_ipv6_policy.</summary>
    private static readonly Policy Ipv6Policy = new(NETCONFA_MAX,
        ((ushort)NETCONFA_IFINDEX, new NlaPolicy(NlaType.Unspec, 4)),
        ((ushort)NETCONFA_FORWARDING, new NlaPolicy(NlaType.Unspec, 4)),
        ((ushort)NETCONFA_PROXY_NEIGH, new NlaPolicy(NlaType.Unspec, 4)),
        ((ushort)NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN, new NlaPolicy(NlaType.Unspec, 4)));

    /// <summary>struct netconfmsg: one byte (ncm_family).</summary>
    private const int NetconfMsgSize = 1;

    public static void Register(Rtnetlink rtnl)
    {
        rtnl.Register(AF_INET, RTM_GETNETCONF, GetDevconf4, DumpDevconf4);
        rtnl.Register(AF_INET6, RTM_GETNETCONF, GetDevconf6, DumpDevconf6);
        // rtnl_dump_all for RTM_GETNETCONF with AF_UNSPEC
        rtnl.Register(AF_UNSPEC, RTM_GETNETCONF, null, (req, w, d) => RtnlAddrHandlers.DumpAll(req, w, d, DumpDevconf4, DumpDevconf6));
    }

    /// <summary>inet_netconf_valid_get_req / inet6_netconf_valid_get_req.</summary>
    private static AttrTable? ValidGetReq(RtnlRequest req, string mod, Policy policy, out int err)
    {
        if (req.PayloadLength < NetconfMsgSize)
        {
            err = req.Ext.Fail(Errno.EINVAL, mod + "Invalid header for netconf get request");
            return null;
        }
        if (!req.Strict) return req.Parse(NetconfMsgSize, policy, NlValidate.Liberal, out err);
        var tb = req.Parse(NetconfMsgSize, policy, NlValidate.DeprecatedStrict, out err);
        if (tb == null) return null;
        for (int i = 0; i <= NETCONFA_MAX; i++)
        {
            if (!tb.Has(i) || i == NETCONFA_IFINDEX) continue;
            err = req.Ext.Fail(Errno.EINVAL, mod + "Unsupported attribute in netconf get request");
            return null;
        }
        return tb;
    }

    /// <summary>inet_netconf_get_devconf.</summary>
    private static int GetDevconf4(RtnlRequest req)
    {
        var tb = ValidGetReq(req, "ipv4: ", Ipv4Policy, out int err);
        if (tb == null) return err;
        if (!tb.Has(NETCONFA_IFINDEX)) return -Errno.EINVAL;
        int ifindex = tb.S32(NETCONFA_IFINDEX);
        var v4 = req.Net.Ipv4;
        DevConf? cnf = ifindex switch
        {
            NETCONFA_IFINDEX_ALL => v4.All,
            NETCONFA_IFINDEX_DEFAULT => v4.Default,
            _ => req.Net.GetDevice(ifindex)?.Ip4?.Cnf,
        };
        if (cnf == null) return -Errno.ENODEV;
        var w = new NlWriter(128);
        Fill4(w, ifindex, cnf, req.Sock.PortId, req.Hdr.Seq, RTM_NEWNETCONF, 0, NETCONFA_ALL);
        req.Unicast(w);
        return 0;
    }

    /// <summary>inet6_netconf_get_devconf.</summary>
    private static int GetDevconf6(RtnlRequest req)
    {
        var tb = ValidGetReq(req, "ipv6: ", Ipv6Policy, out int err);
        if (tb == null) return err;
        if (!tb.Has(NETCONFA_IFINDEX)) return -Errno.EINVAL;
        int ifindex = tb.S32(NETCONFA_IFINDEX);
        var v6 = req.Net.Ipv6;
        DevConf6? cnf = ifindex switch
        {
            NETCONFA_IFINDEX_ALL => v6.All,
            NETCONFA_IFINDEX_DEFAULT => v6.Default,
            _ => req.Net.GetDevice(ifindex)?.Ip6?.Cnf,
        };
        if (cnf == null) return -Errno.ENODEV;
        var w = new NlWriter(128);
        Fill6(w, ifindex, cnf, req.Sock.PortId, req.Hdr.Seq, RTM_NEWNETCONF, 0, NETCONFA_ALL);
        req.Unicast(w);
        return 0;
    }

    /// <summary>The strict checks of inet_netconf_dump_devconf / inet6_netconf_dump_devconf.</summary>
    private static void ValidDumpReq(RtnlRequest req, string mod)
    {
        if (!req.Strict) return;
        if (req.PayloadLength < NetconfMsgSize)
            throw new RtnlDumpError(Errno.EINVAL, mod + "Invalid header for netconf dump request");
        if (req.PayloadLength > Nl.Align(NetconfMsgSize))
            throw new RtnlDumpError(Errno.EINVAL, mod + "Invalid data after header in netconf dump request");
    }

    /// <summary>inet_netconf_dump_devconf: every device with IPv4 state, then all, then default.</summary>
    private static IEnumerable<bool> DumpDevconf4(RtnlRequest req, NlWriter w, DumpState d)
    {
        ValidDumpReq(req, "ipv4: ");
        var net = req.Net;
        foreach (var dev in net.Devices.ToArray())
        {
            if (dev.Ip4 is not { } inDev || !dev.IsRegistered) continue;
            Fill4(w, dev.Ifindex, inDev.Cnf, req.Sock.PortId, req.Hdr.Seq, RTM_NEWNETCONF, NLM_F_MULTI, NETCONFA_ALL);
            yield return true;
        }
        Fill4(w, NETCONFA_IFINDEX_ALL, net.Ipv4.All, req.Sock.PortId, req.Hdr.Seq, RTM_NEWNETCONF, NLM_F_MULTI, NETCONFA_ALL);
        yield return true;
        Fill4(w, NETCONFA_IFINDEX_DEFAULT, net.Ipv4.Default, req.Sock.PortId, req.Hdr.Seq, RTM_NEWNETCONF, NLM_F_MULTI, NETCONFA_ALL);
        yield return true;
    }

    /// <summary>inet6_netconf_dump_devconf.</summary>
    private static IEnumerable<bool> DumpDevconf6(RtnlRequest req, NlWriter w, DumpState d)
    {
        ValidDumpReq(req, "ipv6: ");
        var net = req.Net;
        foreach (var dev in net.Devices.ToArray())
        {
            if (dev.Ip6 is not { } idev || !dev.IsRegistered) continue;
            Fill6(w, dev.Ifindex, idev.Cnf, req.Sock.PortId, req.Hdr.Seq, RTM_NEWNETCONF, NLM_F_MULTI, NETCONFA_ALL);
            yield return true;
        }
        Fill6(w, NETCONFA_IFINDEX_ALL, net.Ipv6.All, req.Sock.PortId, req.Hdr.Seq, RTM_NEWNETCONF, NLM_F_MULTI, NETCONFA_ALL);
        yield return true;
        Fill6(w, NETCONFA_IFINDEX_DEFAULT, net.Ipv6.Default, req.Sock.PortId, req.Hdr.Seq, RTM_NEWNETCONF, NLM_F_MULTI, NETCONFA_ALL);
        yield return true;
    }

    /// <summary>inet_netconf_fill_devconf: the attributes <paramref name="type"/> names
    /// (NETCONFA_ALL: every one); only the index for a deletion (no devconf).</summary>
    public static void Fill4(NlWriter w, int ifindex, DevConf? cnf, uint pid, uint seq, int evt, int flags, int type)
    {
        int start = w.BeginMessage(evt, flags, seq, pid);
        w.Reserve(NetconfMsgSize)[0] = (byte)AF_INET;
        w.PutS32(NETCONFA_IFINDEX, ifindex);
        if (cnf != null)
        {
            bool all = type == NETCONFA_ALL;
            if (all || type == NETCONFA_FORWARDING) w.PutS32(NETCONFA_FORWARDING, cnf[IPV4_DEVCONF_FORWARDING]);
            if (all || type == NETCONFA_RP_FILTER) w.PutS32(NETCONFA_RP_FILTER, cnf[IPV4_DEVCONF_RP_FILTER]);
            if (all || type == NETCONFA_MC_FORWARDING) w.PutS32(NETCONFA_MC_FORWARDING, cnf[IPV4_DEVCONF_MC_FORWARDING]);
            if (all || type == NETCONFA_BC_FORWARDING) w.PutS32(NETCONFA_BC_FORWARDING, cnf[IPV4_DEVCONF_BC_FORWARDING]);
            if (all || type == NETCONFA_PROXY_NEIGH) w.PutS32(NETCONFA_PROXY_NEIGH, cnf[IPV4_DEVCONF_PROXY_ARP]);
            if (all || type == NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN)
                w.PutS32(NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN, cnf[IPV4_DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN]);
        }
        w.EndMessage(start);
    }

    /// <summary>inet6_netconf_fill_devconf (force_forwarding only when that is what changed).</summary>
    public static void Fill6(NlWriter w, int ifindex, DevConf6? cnf, uint pid, uint seq, int evt, int flags, int type)
    {
        int start = w.BeginMessage(evt, flags, seq, pid);
        w.Reserve(NetconfMsgSize)[0] = (byte)AF_INET6;
        w.PutS32(NETCONFA_IFINDEX, ifindex);
        if (cnf != null)
        {
            bool all = type == NETCONFA_ALL;
            if (all || type == NETCONFA_FORWARDING) w.PutS32(NETCONFA_FORWARDING, cnf[DEVCONF_FORWARDING]);
            if (all || type == NETCONFA_MC_FORWARDING) w.PutS32(NETCONFA_MC_FORWARDING, cnf[DEVCONF_MC_FORWARDING]);
            if (all || type == NETCONFA_PROXY_NEIGH) w.PutS32(NETCONFA_PROXY_NEIGH, cnf[DEVCONF_PROXY_NDP]);
            if (all || type == NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN)
                w.PutS32(NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN, cnf[DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN]);
            if (type == NETCONFA_FORCE_FORWARDING) w.PutS32(NETCONFA_FORCE_FORWARDING, cnf[DEVCONF_FORCE_FORWARDING]);
        }
        w.EndMessage(start);
    }
}
