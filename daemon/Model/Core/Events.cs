namespace VirtKernel.Model;

/// <summary>What the model tells the outside world when it changes: the counterparts of the
/// kernel's rtmsg_ifinfo / rtmsg_ifa / rtmsg_fib / inet6_rt_notify call sites. The rtnetlink
/// notifier implements this and turns each event into an RTM_* message for subscribed sockets.
/// Events are raised synchronously, at the point where the kernel raises them, so that the
/// object's state seen by the listener is the state the kernel would report.</summary>
public interface INetEvents
{
    /// <summary>rtmsg_ifinfo(RTM_NEWLINK/RTM_DELLINK, dev, change).</summary>
    void Link(NetDevice dev, bool deleted, uint change);

    /// <summary>rtmsg_ifa (IPv4) and inet6_ifa_notify (IPv6).</summary>
    void Addr(IfAddr addr, bool deleted);

    /// <summary>rtmsg_fib / inet6_rt_notify: a route was added, replaced or deleted.</summary>
    void Route(Net net, Route route, RouteEventKind kind);

    /// <summary>rtmsg_ifinfo with neither the request's port nor its header (portid 0, nlh NULL)
    /// although a request caused it: a device the request did not name (a veth's peer). No echo.</summary>
    void LinkUnreported(NetDevice dev, uint change) => Link(dev, false, change);

    /// <summary>notify_rule_change(RTM_NEWRULE/RTM_DELRULE).</summary>
    void Rule(Net net, FibRule rule, bool deleted) { }

    /// <summary>nexthop_notify(RTM_NEWNEXTHOP/RTM_DELNEXTHOP).</summary>
    void Nexthop(Net net, NexthopObj nh, bool deleted) { }

    /// <summary>neigh_notify / __neigh_notify(RTM_NEWNEIGH/RTM_DELNEIGH), also for proxy entries.</summary>
    void Neigh(Net net, Neighbour n, bool deleted) { }

    /// <summary>rtmsg_ifinfo_event from rtnetlink_event: an RTM_NEWLINK that names the netdev event
    /// that caused it (IFLA_EVENT_FEATURES, ...).</summary>
    void LinkEvent(NetDevice dev, uint ifaEvent) => Link(dev, false, 0);

    /// <summary>br_ifinfo_notify: an AF_BRIDGE RTM_NEWLINK (or RTM_DELLINK) about a bridge port.</summary>
    void BridgePort(Links.BridgePort port, bool deleted) { }

    /// <summary>fdb_notify: an AF_BRIDGE RTM_NEWNEIGH (or RTM_DELNEIGH) about a bridge fdb entry.</summary>
    void BridgeFdb(Links.NetBridge br, Links.FdbEntry f, bool deleted) { }
}

/// <summary>How a route change is announced: the NLM_F_* flags of the RTM_NEWROUTE.</summary>
public enum RouteEventKind
{
    /// <summary>A new route where none with the same keys existed (NLM_F_CREATE|NLM_F_EXCL).</summary>
    New,
    /// <summary>NLM_F_REPLACE.</summary>
    Replace,
    /// <summary>NLM_F_CREATE|NLM_F_APPEND.</summary>
    Append,
    Delete,
    /// <summary>A new route among others with the same keys, not appended (NLM_F_CREATE).</summary>
    Create,
    /// <summary>An existing route changed in place (RTM_NEWROUTE without flags).</summary>
    Update,
}

/// <summary>Discards every event (a kernel nobody listens to).</summary>
public sealed class NullEvents : INetEvents
{
    public static readonly NullEvents Instance = new();
    public void Link(NetDevice dev, bool deleted, uint change) { }
    public void Addr(IfAddr addr, bool deleted) { }
    public void Route(Net net, Route route, RouteEventKind kind) { }
    public void Rule(Net net, FibRule rule, bool deleted) { }
    public void Nexthop(Net net, NexthopObj nh, bool deleted) { }
    public void Neigh(Net net, Neighbour n, bool deleted) { }
}
