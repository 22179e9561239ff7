using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>The AF_INET6 link dump of net/ipv6/addrconf.c (inet6_dump_ifinfo, inet6_fill_ifinfo):
/// `RTM_GETLINK` with family AF_INET6, which busybox `ip -6 addr` sends, is answered by IPv6 with
/// a short description of every device that has IPv6 state, the IPv6 attributes in IFLA_PROTINFO.</summary>
public static class RtnlInet6IfinfoHandlers
{
    public static void Register(Rtnetlink rtnl) => rtnl.Register(AF_INET6, RTM_GETLINK, null, DumpIfinfo);

    /// <summary>inet6_fill_ifinfo.</summary>
    public static void FillIfinfo(NlWriter w, NetDevice dev, VirtKernel.Model.Ipv6.Inet6Dev in6, int type, uint pid, uint seq, int flags)
    {
        int start = w.BeginMessage(type, flags, seq, pid);
        new IfInfoMsg { Family = (byte)AF_INET6, Type = dev.Type, Index = dev.Ifindex, Flags = dev.GetFlags(), Change = 0 }
            .Write(w.Reserve(IfInfoMsg.Size));
        int iflink = dev.IfLink;
        w.PutString(IFLA_IFNAME, dev.Name);
        if (dev.AddrLen > 0) w.PutBytes(IFLA_ADDRESS, dev.DevAddr.AsSpan(0, dev.AddrLen));
        w.PutU32(IFLA_MTU, dev.Mtu);
        if (dev.Ifindex != iflink) w.PutU32(IFLA_LINK, (uint)iflink);
        w.PutU8(IFLA_OPERSTATE, dev.ReportedOperState);
        int pi = w.BeginNest(IFLA_PROTINFO);
        RtnlLinkHandlers.FillIfla6Attrs(w, in6, 0);
        w.EndNest(pi);
        w.EndMessage(start);
    }

    /// <summary>inet6_valid_dump_ifinfo (only with strict checking).</summary>
    private static void ValidDumpIfinfo(RtnlRequest req)
    {
        if (req.PayloadLength < IfInfoMsg.Size)
            throw new RtnlDumpError(Errno.EINVAL, "ipv6: Invalid header for link dump request");
        if (req.PayloadLength > Nl.Align(IfInfoMsg.Size))
            throw new RtnlDumpError(Errno.EINVAL, "ipv6: Invalid data after header");
        var ifm = IfInfoMsg.Read(req.Payload);
        if (req.Payload[1] != 0 || ifm.Type != 0 || ifm.Flags != 0 || ifm.Change != 0 || ifm.Index != 0)
            throw new RtnlDumpError(Errno.EINVAL, "ipv6: Invalid values in header for dump request");
    }

    /// <summary>inet6_dump_ifinfo: every device with an inet6_dev.</summary>
    private static IEnumerable<bool> DumpIfinfo(RtnlRequest req, NlWriter w, DumpState d)
    {
        if (req.Strict) ValidDumpIfinfo(req);
        var net = req.Net;
        foreach (var dev in net.Devices.ToArray())
        {
            if (!dev.IsRegistered || dev.Ip6 is not { } in6) continue;
            FillIfinfo(w, dev, in6, RTM_NEWLINK, req.Sock.PortId, req.Hdr.Seq, NLM_F_MULTI);
            yield return true;
        }
    }
}
