using VirtKernel.Model;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>Namespace references in rtnetlink requests (rtnl_link_get_net) and replies
/// (IFLA_LINK_NETNSID). Only the initial namespace is reachable from clients so far: a request
/// naming another namespace is refused with EOPNOTSUPP and a kernel-style message.</summary>
public static class RtnlNetns
{
    /// <summary>rtnl_link_get_net_capable: the namespace IFLA_NET_NS_PID/FD/IFLA_TARGET_NETNSID name.</summary>
    public static (Net? Net, int Err) ResolveTarget(RtnlRequest req, AttrTable tb)
    {
        int off = tb.Has(IFLA_NET_NS_FD) ? tb.OffsetOf(IFLA_NET_NS_FD)
            : tb.Has(IFLA_NET_NS_PID) ? tb.OffsetOf(IFLA_NET_NS_PID) : tb.OffsetOf(IFLA_TARGET_NETNSID);
        return (null, req.Ext.Fail(Errno.EOPNOTSUPP, "Network namespace references are not supported yet", off));
    }

    /// <summary>rtnl_fill_link_netnsid: IFLA_LINK_NETNSID when the link's peer lives in another
    /// namespace than the viewer's.</summary>
    public static void FillLinkNetnsid(NlWriter w, NetDevice dev, Net viewer)
    {
        var linkNet = dev.Ops.GetLinkNet(dev);
        if (linkNet == null || linkNet == dev.Net) return;
        // peernet2id_alloc lands with namespace support; until then nothing lives elsewhere
        _ = viewer;
    }
}
