namespace VirtKernel.Model;

/// <summary>RTM_NEWNETCONF / RTM_DELNETCONF: what inet_netconf_notify_devconf and
/// inet6_netconf_notify_devconf announce when a device's IPv4/IPv6 configuration appears, changes
/// (forwarding, rp_filter, proxy_arp/proxy_ndp, ignore_routes_with_linkdown...) or goes.</summary>
public interface INetconfEvents
{
    /// <param name="family">AF_INET or AF_INET6.</param>
    /// <param name="deleted">RTM_DELNETCONF (the device's configuration is gone).</param>
    /// <param name="type">The NETCONFA_* attribute that changed, or NETCONFA_ALL (-1) for all of them.</param>
    /// <param name="ifindex">The device, or NETCONFA_IFINDEX_ALL / NETCONFA_IFINDEX_DEFAULT.</param>
    /// <param name="devconf">The configuration (<see cref="Ipv4.DevConf"/> or <see cref="Ipv6.DevConf6"/>);
    /// null for a deletion.</param>
    void Netconf(Net net, int family, bool deleted, int type, int ifindex, object? devconf);
}

public sealed partial class Net
{
    /// <summary>inet_netconf_notify_devconf / inet6_netconf_notify_devconf.</summary>
    internal void NetconfNotify(int family, bool deleted, int type, int ifindex, object? devconf) =>
        (Events as INetconfEvents)?.Netconf(this, family, deleted, type, ifindex, devconf);
}
