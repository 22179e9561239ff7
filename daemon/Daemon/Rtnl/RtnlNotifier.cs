using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Model.Ipv4;
using VirtKernel.Model.Ipv6;
using VirtKernel.Protocol.Netlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>Turns model events into RTM_* notifications for the sockets subscribed to the group
/// (rtnl_notify / nlmsg_notify), with an echo to the requester under NLM_F_ECHO. Messages are built
/// only when somebody listens. They are queued while the request runs, so they precede its ACK.</summary>
public sealed class RtnlNotifier : INetEvents, INsidEvents, IMoveEvents, INetconfEvents
{
    private readonly NetlinkEngine _engine;
    private readonly NlWriter _w = new(4096);
    private NetlinkSock? _reqSock;
    private NlMsgHdr _reqHdr;

    public RtnlNotifier(NetlinkEngine engine) => _engine = engine;

    /// <summary>The request being handled (its port and sequence tag the notifications it causes).</summary>
    public void Begin(NetlinkSock sk, NlMsgHdr hdr)
    {
        _reqSock = sk;
        _reqHdr = hdr;
    }

    public void End() => _reqSock = null;

    private bool CausedBy(int type1, int type2 = -1) => _reqSock != null && (_reqHdr.Type == type1 || _reqHdr.Type == type2);

    /// <summary>nlmsg_notify: multicast to the group (minus the requester when it gets an echo), then
    /// the echo.</summary>
    private void Notify(Net net, uint group, bool fromRequest)
    {
        bool echo = fromRequest && _reqSock != null && (_reqHdr.Flags & NLM_F_ECHO) != 0;
        uint exclude = echo ? _reqSock!.PortId : 0;
        var table = _engine.TableIfAny(net);
        // the management API counts it; an injected ENOBUFS fault drops it for every listener
        bool drop = _engine.Hooks?.Notified(net, group, _w.Span) ?? false;
        if (table != null)
            foreach (var sk in table.Listeners(group))
                if (!(echo && sk.PortId == exclude))
                {
                    if (!drop) sk.EnqueueMulticast(_w.Span, group);
                    else if (!sk.NoEnobufs) sk.MarkOverrun();
                }
        // do_one_broadcast: sockets of other namespaces listening to all of them hear it when
        // their namespace has an id for this one, and learn that id (NETLINK_LISTEN_ALL_NSID)
        foreach (var sk in _engine.AllNsidListeners)
        {
            if (sk.Net == net || !sk.InGroup(group)) continue;
            int nsid = sk.Net.PeerToId(net);
            if (nsid < 0) continue;
            if (!drop) sk.EnqueueMulticast(_w.Span, group, nsid, hasNsid: true);
            else if (!sk.NoEnobufs) sk.MarkOverrun();
        }
        if (echo) _reqSock!.EnqueueUnicast(_w.Span);
    }

    private bool Wanted(Net net, uint group, bool fromRequest) =>
        (_engine.TableIfAny(net)?.HasListeners(group) ?? false) || _engine.AllNsidListeners.Count > 0 ||
        (_engine.Hooks?.WantsAllNotifications ?? false) ||
        (fromRequest && _reqSock != null && (_reqHdr.Flags & NLM_F_ECHO) != 0);

    /// <summary>rtmsg_ifinfo.</summary>
    public void Link(NetDevice dev, bool deleted, uint change) => LinkCore(dev, deleted, change, 0);

    /// <summary>rtmsg_ifinfo_event with an IFLA_EVENT.</summary>
    public void LinkEvent(NetDevice dev, uint ifaEvent) => LinkCore(dev, false, 0, ifaEvent);

    /// <summary>rtmsg_ifinfo(RTM_NEWLINK, dev, change, portid 0, nlh NULL).</summary>
    public void LinkUnreported(NetDevice dev, uint change) => LinkCore(dev, false, change, 0, unreported: true);

    private void LinkCore(NetDevice dev, bool deleted, uint change, uint ifaEvent, bool unreported = false)
    {
        // rtmsg_ifinfo_event: nothing about a device that is not (or no longer) registered; the
        // RTM_DELLINK of unregister_netdevice_many is built apart
        if (!deleted && dev.RegState != RegState.Registered) return;
        var net = dev.Net;
        bool fromReq = !unreported && CausedBy(RTM_NEWLINK, RTM_DELLINK) && (deleted || change == ~0u);
        // filling the message names the peer's namespace (peernet2id_alloc), which the kernel does
        // even when nobody listens; a new id is announced (RTM_NEWNSID) before the message goes,
        // and through this notifier's writer: first, not in the middle of the link message
        RtnlNetns.LinkNetnsidAlloc(dev, net);
        if (!Wanted(net, (uint)RTNLGRP_LINK, fromReq)) return;
        _w.Clear();
        uint pid = fromReq ? _reqSock!.PortId : 0, seq = fromReq ? _reqHdr.Seq : 0;
        RtnlLinkHandlers.FillIfinfo(_w, dev, net, deleted ? RTM_DELLINK : RTM_NEWLINK, pid, seq, change, 0, 0, ifaEvent);
        Notify(net, (uint)RTNLGRP_LINK, fromReq);
    }

    /// <summary>rtmsg_ifinfo_newnet(RTM_DELLINK): a device left for another namespace.</summary>
    public void LinkMovedOut(NetDevice dev, int newNsid, int newIfindex)
    {
        var net = dev.Net;
        bool fromReq = CausedBy(RTM_NEWLINK, RTM_SETLINK);
        RtnlNetns.LinkNetnsidAlloc(dev, net); // before the message is built (see LinkCore)
        if (!Wanted(net, (uint)RTNLGRP_LINK, false)) return;
        _w.Clear();
        RtnlLinkHandlers.FillIfinfo(_w, dev, net, RTM_DELLINK, 0, 0, ~0u, 0, 0, newNsid: newNsid, newIfindex: newIfindex);
        _ = fromReq;
        Notify(net, (uint)RTNLGRP_LINK, false);
    }

    /// <summary>rtnl_net_notifyid.</summary>
    public void Nsid(Net net, int nsid, Net peer, bool deleted)
    {
        bool fromReq = CausedBy(RTM_NEWNSID);
        if (!Wanted(net, (uint)RTNLGRP_NSID, fromReq)) return;
        _w.Clear();
        uint pid = fromReq ? _reqSock!.PortId : 0, seq = fromReq ? _reqHdr.Seq : 0;
        RtnlNsidHandlers.Fill(_w, deleted ? RTM_DELNSID : RTM_NEWNSID, pid, seq, 0, nsid, false, 0);
        Notify(net, (uint)RTNLGRP_NSID, fromReq);
    }

    /// <summary>br_ifinfo_notify: AF_BRIDGE RTM_NEWLINK/RTM_DELLINK about a bridge port, sent with
    /// neither port nor sequence number.</summary>
    public void BridgePort(VirtKernel.Model.Links.BridgePort port, bool deleted)
    {
        var net = port.Dev.Net;
        if (!Wanted(net, (uint)RTNLGRP_LINK, false)) return;
        _w.Clear();
        RtnlBridgeHandlers.FillIfinfo(_w, port, deleted ? RTM_DELLINK : RTM_NEWLINK, 0, 0, 0);
        Notify(net, (uint)RTNLGRP_LINK, false);
    }

    /// <summary>fdb_notify: a bridge fdb entry, to RTNLGRP_NEIGH, with neither port nor sequence number.</summary>
    public void BridgeFdb(VirtKernel.Model.Links.NetBridge br, VirtKernel.Model.Links.FdbEntry f, bool deleted)
    {
        var net = br.Dev.Net;
        if (!Wanted(net, (uint)RTNLGRP_NEIGH, false)) return;
        _w.Clear();
        RtnlFdbHandlers.FillFdb(_w, br, f, deleted ? RTM_DELNEIGH : RTM_NEWNEIGH, 0, 0, 0);
        Notify(net, (uint)RTNLGRP_NEIGH, false);
    }

    /// <summary>rtnl_fdb_notify: an address of a device's own table (NTF_SELF) added or deleted.</summary>
    public void FdbSelf(NetDevice dev, byte[] addr, ushort vid, int type, ushort state)
    {
        var net = dev.Net;
        if (!Wanted(net, (uint)RTNLGRP_NEIGH, false)) return;
        _w.Clear();
        RtnlFdbHandlers.FillSelf(_w, dev, addr, vid, type, 0, 0, 0, state);
        Notify(net, (uint)RTNLGRP_NEIGH, false);
    }

    /// <summary>rtmsg_ifa / inet6_ifa_notify.</summary>
    public void Addr(IfAddr addr, bool deleted)
    {
        var net = addr.Dev.Net;
        uint group = addr is InIfAddr ? (uint)RTNLGRP_IPV4_IFADDR : (uint)RTNLGRP_IPV6_IFADDR;
        bool fromReq = CausedBy(RTM_NEWADDR, RTM_DELADDR);
        if (!Wanted(net, group, fromReq)) return;
        _w.Clear();
        uint pid = fromReq ? _reqSock!.PortId : 0, seq = fromReq ? _reqHdr.Seq : 0;
        int type = deleted ? RTM_DELADDR : RTM_NEWADDR;
        if (addr is InIfAddr a4) RtnlAddrHandlers.FillIfaddr4(_w, a4, net.Kernel, type, pid, seq, 0);
        else RtnlAddrHandlers.FillIfaddr6(_w, (Inet6IfAddr)addr, net.Kernel, type, pid, seq, 0);
        Notify(net, group, fromReq);
    }

    /// <summary>rtmsg_fib / inet6_rt_notify.</summary>
    public void Route(Net net, Route route, RouteEventKind kind)
    {
        uint group = route.Family == AF_INET ? (uint)RTNLGRP_IPV4_ROUTE : (uint)RTNLGRP_IPV6_ROUTE;
        bool fromReq = CausedBy(RTM_NEWROUTE, RTM_DELROUTE);
        if (!Wanted(net, group, fromReq)) return;
        _w.Clear();
        uint pid = fromReq ? _reqSock!.PortId : 0, seq = fromReq ? _reqHdr.Seq : 0;
        int type = kind == RouteEventKind.Delete ? RTM_DELROUTE : RTM_NEWROUTE;
        int flags = kind switch
        {
            RouteEventKind.Replace => NLM_F_REPLACE,
            RouteEventKind.Append => NLM_F_CREATE | NLM_F_APPEND,
            RouteEventKind.New => NLM_F_CREATE | NLM_F_EXCL,
            RouteEventKind.Create => NLM_F_CREATE,
            _ => 0,
        };
        if (route.Family == AF_INET) RtnlRouteHandlers.FillRoute4(_w, route, net, type, pid, seq, flags);
        else RtnlRouteHandlers.FillRoute6(_w, route, net, type, pid, seq, flags);
        Notify(net, group, fromReq);
    }

    /// <summary>notify_rule_change.</summary>
    public void Rule(Net net, FibRule rule, bool deleted)
    {
        uint group = rule.Family == AF_INET ? (uint)RTNLGRP_IPV4_RULE : (uint)RTNLGRP_IPV6_RULE;
        bool fromReq = CausedBy(RTM_NEWRULE, RTM_DELRULE);
        if (!Wanted(net, group, fromReq)) return;
        _w.Clear();
        uint pid = fromReq ? _reqSock!.PortId : 0, seq = fromReq ? _reqHdr.Seq : 0;
        RtnlRuleHandlers.FillRule(_w, rule, net, deleted ? RTM_DELRULE : RTM_NEWRULE, pid, seq, 0);
        Notify(net, group, fromReq);
    }

    /// <summary>nexthop_notify.</summary>
    public void Nexthop(Net net, NexthopObj nh, bool deleted)
    {
        uint group = (uint)RTNLGRP_NEXTHOP;
        bool fromReq = CausedBy(RTM_NEWNEXTHOP, RTM_DELNEXTHOP);
        if (!Wanted(net, group, fromReq)) return;
        _w.Clear();
        uint pid = fromReq ? _reqSock!.PortId : 0, seq = fromReq ? _reqHdr.Seq : 0;
        int flags = fromReq ? _reqHdr.Flags : 0; // nexthop_notify passes the request's nlmsg_flags on
        RtnlNexthopHandlers.FillNexthop(_w, nh, deleted ? RTM_DELNEXTHOP : RTM_NEWNEXTHOP, pid, seq, flags);
        Notify(net, group, fromReq);
    }

    /// <summary>__neigh_notify (the kernel sends neighbour events with port 0 and no sequence).</summary>
    public void Neigh(Net net, Neighbour n, bool deleted)
    {
        uint group = (uint)RTNLGRP_NEIGH;
        if (!Wanted(net, group, false)) return;
        _w.Clear();
        // neigh_update_notify carries the requester's port; deletions (neigh_cleanup_and_release) do not
        uint pid = !deleted && CausedBy(RTM_NEWNEIGH, RTM_DELNEIGH) ? _reqSock!.PortId : 0;
        RtnlNeighHandlers.FillNeigh(_w, n, net, deleted ? RTM_DELNEIGH : RTM_NEWNEIGH, pid, 0, 0);
        Notify(net, group, false);
    }

    /// <summary>inet_netconf_notify_devconf / inet6_netconf_notify_devconf.</summary>
    public void Netconf(Net net, int family, bool deleted, int type, int ifindex, object? devconf)
    {
        uint group = family == AF_INET ? (uint)RTNLGRP_IPV4_NETCONF : (uint)RTNLGRP_IPV6_NETCONF;
        if (!Wanted(net, group, false)) return;
        _w.Clear();
        int evt = deleted ? RTM_DELNETCONF : RTM_NEWNETCONF;
        if (family == AF_INET) RtnlNetconfHandlers.Fill4(_w, ifindex, devconf as DevConf, 0, 0, evt, 0, type);
        else RtnlNetconfHandlers.Fill6(_w, ifindex, devconf as DevConf6, 0, 0, evt, 0, type);
        Notify(net, group, false);
    }
}
