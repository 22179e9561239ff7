using VirtKernel.Model;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>Namespace references in rtnetlink requests (rtnl_link_get_net, get_net_ns_by_pid/fd/id)
/// and replies (IFLA_LINK_NETNSID).</summary>
public static class RtnlNetns
{
    /// <summary>get_net_ns_by_fd: the client's fd, resolved through the namespace handles the shim
    /// listed with the frame.</summary>
    public static (Net? Net, int Err) ByFd(RtnlRequest req, uint fd)
    {
        if (!req.Sock.NsFds.TryGetValue((int)fd, out var id))
            return (null, -Errno.EBADF);
        var net = req.Kernel.GetNet((int)id);
        return net == null || net.Dying ? (null, -Errno.EINVAL) : (net, 0);
    }

    /// <summary>get_net_ns_by_pid.</summary>
    public static (Net? Net, int Err) ByPid(RtnlRequest req, uint pid)
    {
        var ns = req.Engine.Namespaces;
        if (pid == 0 || pid > int.MaxValue || !Directory.Exists($"/proc/{pid}")) return (null, -Errno.ESRCH);
        return (ns?.NetOfPid((int)pid) ?? req.Kernel.InitNet, 0);
    }

    /// <summary>get_net_ns_by_id: a peer the request's namespace has an id for.</summary>
    public static Net? ById(Net net, int id) => net.IdToPeer(id) is { Dying: false } n ? n : null;

    /// <summary>rtnl_link_get_net_capable: the namespace IFLA_NET_NS_PID/FD or IFLA_TARGET_NETNSID name.</summary>
    public static (Net? Net, int Err) ResolveTarget(RtnlRequest req, AttrTable tb)
    {
        if (tb.Has(IFLA_NET_NS_PID))
        {
            var (n, e) = ByPid(req, tb.U32(IFLA_NET_NS_PID));
            if (e < 0) req.Ext.BadAttrOffset = tb.OffsetOf(IFLA_NET_NS_PID);
            return (n, e);
        }
        if (tb.Has(IFLA_NET_NS_FD))
        {
            var (n, e) = ByFd(req, tb.U32(IFLA_NET_NS_FD));
            if (e < 0) req.Ext.BadAttrOffset = tb.OffsetOf(IFLA_NET_NS_FD);
            return (n, e);
        }
        if (tb.Has(IFLA_TARGET_NETNSID))
        {
            var n = ById(req.Net, tb.S32(IFLA_TARGET_NETNSID));
            return n == null ? (null, -Errno.EINVAL) : (n, 0);
        }
        return (req.Net, 0);
    }

    /// <summary>What filling a message about <paramref name="dev"/> for <paramref name="viewer"/> does
    /// besides writing: the viewer gets an id for the namespace of the device's link
    /// (peernet2id_alloc). For messages nobody receives, which the kernel builds all the same.</summary>
    public static void LinkNetnsidAlloc(NetDevice dev, Net viewer)
    {
        var linkNet = dev.Ops.GetLinkNet(dev);
        if (linkNet != null && linkNet != dev.Net) viewer.PeerToIdAlloc(linkNet);
    }

    /// <summary>rtnl_fill_link_netnsid: IFLA_LINK_NETNSID when the link's peer or lower device
    /// lives in another namespace than the device (allocating the id, as peernet2id_alloc does),
    /// then nla_put_iflink: IFLA_LINK when it differs from the device's own index, and always
    /// when it is an index of that other namespace.</summary>
    public static void FillLinkNetnsid(NlWriter w, NetDevice dev, Net viewer)
    {
        var linkNet = dev.Ops.GetLinkNet(dev);
        bool otherNet = linkNet != null && linkNet != dev.Net;
        if (otherNet) w.PutS32(IFLA_LINK_NETNSID, viewer.PeerToIdAlloc(linkNet!));
        int iflink = dev.IfLink;
        if (otherNet || iflink != dev.Ifindex) w.PutU32(IFLA_LINK, (uint)iflink);
    }
}

/// <summary>net/core/net_namespace.c over rtnetlink: RTM_NEWNSID, RTM_GETNSID (and its dump).</summary>
public static class RtnlNsidHandlers
{
    /// <summary>rtnl_net_policy.</summary>
    private static readonly Policy NetPolicy = new(NETNSA_MAX,
        ((ushort)NETNSA_NSID, new NlaPolicy(NlaType.S32)),
        ((ushort)NETNSA_PID, new NlaPolicy(NlaType.U32)),
        ((ushort)NETNSA_FD, new NlaPolicy(NlaType.U32)),
        ((ushort)NETNSA_TARGET_NSID, new NlaPolicy(NlaType.S32)));

    public static void Register(Rtnetlink rtnl)
    {
        rtnl.Register(AF_UNSPEC, RTM_NEWNSID, NewId, null);
        rtnl.Register(AF_UNSPEC, RTM_GETNSID, GetId, DumpIds);
    }

    /// <summary>The peer a NETNSA_PID/FD (and for GETNSID, NSID) attribute names.</summary>
    private static (Net? Peer, int Err, int Attr) Peer(RtnlRequest req, AttrTable tb, bool allowNsid)
    {
        if (tb.Has(NETNSA_PID))
        {
            var (n, e) = RtnlNetns.ByPid(req, tb.U32(NETNSA_PID));
            return (n, e, NETNSA_PID);
        }
        if (tb.Has(NETNSA_FD))
        {
            var (n, e) = RtnlNetns.ByFd(req, tb.U32(NETNSA_FD));
            return (n, e, NETNSA_FD);
        }
        if (allowNsid && tb.Has(NETNSA_NSID))
        {
            var n = RtnlNetns.ById(req.Net, tb.S32(NETNSA_NSID));
            return (n, n == null ? -Errno.ENOENT : 0, NETNSA_NSID);
        }
        return (null, req.Ext.Fail(Errno.EINVAL, "Peer netns reference is missing"), -1);
    }

    /// <summary>rtnl_net_newid.</summary>
    private static int NewId(RtnlRequest req)
    {
        var tb = req.Parse(1, NetPolicy, NlValidate.Liberal, out int err);
        if (tb == null) return err;
        if (!tb.Has(NETNSA_NSID)) return req.Ext.Fail(Errno.EINVAL, "nsid is missing");
        int nsid = tb.S32(NETNSA_NSID);
        if (!tb.Has(NETNSA_PID) && !tb.Has(NETNSA_FD))
            return req.Ext.Fail(Errno.EINVAL, "Peer netns reference is missing");
        var (peer, e, attr) = Peer(req, tb, allowNsid: false);
        if (peer == null) return req.Ext.Fail(-e, "Peer netns reference is invalid", tb.OffsetOf(attr));
        var ke = req.Net.NewId(peer, nsid);
        if (ke.Failed)
            return req.Ext.Set(ke, ke.Msg == "The specified nsid is already used" ? tb.OffsetOf(NETNSA_NSID) : tb.OffsetOf(attr));
        return 0;
    }

    /// <summary>rtnl_net_getid.</summary>
    private static int GetId(RtnlRequest req)
    {
        var tb = req.Parse(1, NetPolicy, req.Strict ? NlValidate.DeprecatedStrict : NlValidate.Liberal, out int err);
        if (tb == null) return err;
        if (req.Strict)
            for (int i = 0; i <= NETNSA_MAX; i++)
                if (tb.Has(i) && i is not (NETNSA_PID or NETNSA_FD or NETNSA_NSID or NETNSA_TARGET_NSID))
                    return req.Ext.Fail(Errno.EINVAL, "Unsupported attribute in peer netns getid request", tb.OffsetOf(i));
        var (peer, e, attr) = Peer(req, tb, allowNsid: true);
        if (peer == null)
            return attr < 0 ? e : req.Ext.Fail(-e, "Peer netns reference is invalid", tb.OffsetOf(attr));
        var target = req.Net;
        bool addRef = false;
        int refNsid = 0;
        if (tb.Has(NETNSA_TARGET_NSID))
        {
            var t = RtnlNetns.ById(req.Net, tb.S32(NETNSA_TARGET_NSID));
            if (t == null) return req.Ext.Fail(Errno.ENOENT, "Target netns reference is invalid", tb.OffsetOf(NETNSA_TARGET_NSID));
            target = t;
            addRef = true;
            refNsid = req.Net.PeerToId(peer);
        }
        var w = new NlWriter(64);
        Fill(w, RTM_NEWNSID, req.Sock.PortId, req.Hdr.Seq, 0, target.PeerToId(peer), addRef, refNsid);
        req.Unicast(w);
        return 0;
    }

    /// <summary>rtnl_net_dumpid.</summary>
    private static IEnumerable<bool> DumpIds(RtnlRequest req, NlWriter w, Server.DumpState d)
    {
        var target = req.Net;
        bool addRef = false;
        if (req.Strict || req.PayloadLength > 4)
        {
            var tb = req.Parse(1, NetPolicy, req.Strict ? NlValidate.DeprecatedStrict : NlValidate.Liberal, out int err);
            if (tb == null) throw new RtnlDumpError(-err, req.Ext.Message);
            for (int i = 0; i <= NETNSA_MAX; i++)
            {
                if (!tb.Has(i)) continue;
                if (i == NETNSA_TARGET_NSID)
                {
                    var t = RtnlNetns.ById(req.Net, tb.S32(i));
                    if (t == null) throw new RtnlDumpError(Errno.EINVAL, "Invalid target network namespace id");
                    target = t;
                    addRef = true;
                }
                else if (req.Strict) throw new RtnlDumpError(Errno.EINVAL, "Unsupported attribute in dump request");
            }
        }
        foreach (var (id, peer) in target.Nsids.ToList())
        {
            Fill(w, RTM_NEWNSID, req.Sock.PortId, req.Hdr.Seq, NLM_F_MULTI, id, addRef, addRef ? req.Net.PeerToId(peer) : 0);
            yield return true;
        }
    }

    /// <summary>rtnl_net_fill.</summary>
    public static void Fill(NlWriter w, int type, uint pid, uint seq, int flags, int nsid, bool addRef, int refNsid)
    {
        int start = w.BeginMessage(type, flags, seq, pid);
        w.Reserve(1)[0] = (byte)AF_UNSPEC;
        w.PutS32(NETNSA_NSID, nsid);
        if (addRef) w.PutS32(NETNSA_CURRENT_NSID, refNsid);
        w.EndMessage(start);
    }
}
