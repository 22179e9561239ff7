using VirtKernel.Model.Sysctl;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv4;

// net/ipv4/devinet.c: net.ipv4.conf.{all,default,DEV} and ip_forward over the DevConf arrays,
// devinet_conf_proc / devinet_sysctl_forward / ipv4_doint_and_flush, and netconf notifications.
public sealed partial class Ipv4Net
{
    private enum DevinetHandler { Conf, Forward, Flush }

    /// <summary>devinet_sysctl.devinet_vars, in the kernel's order.</summary>
    private static readonly (string Name, int Devconf, ushort Mode, DevinetHandler H)[] DevinetVars =
    [
        ("forwarding", IPV4_DEVCONF_FORWARDING, 0x1a4, DevinetHandler.Forward),
        ("mc_forwarding", IPV4_DEVCONF_MC_FORWARDING, 0x124, DevinetHandler.Conf),
        ("bc_forwarding", IPV4_DEVCONF_BC_FORWARDING, 0x1a4, DevinetHandler.Conf),
        ("accept_redirects", IPV4_DEVCONF_ACCEPT_REDIRECTS, 0x1a4, DevinetHandler.Conf),
        ("secure_redirects", IPV4_DEVCONF_SECURE_REDIRECTS, 0x1a4, DevinetHandler.Conf),
        ("shared_media", IPV4_DEVCONF_SHARED_MEDIA, 0x1a4, DevinetHandler.Conf),
        ("rp_filter", IPV4_DEVCONF_RP_FILTER, 0x1a4, DevinetHandler.Conf),
        ("send_redirects", IPV4_DEVCONF_SEND_REDIRECTS, 0x1a4, DevinetHandler.Conf),
        ("accept_source_route", IPV4_DEVCONF_ACCEPT_SOURCE_ROUTE, 0x1a4, DevinetHandler.Conf),
        ("accept_local", IPV4_DEVCONF_ACCEPT_LOCAL, 0x1a4, DevinetHandler.Conf),
        ("src_valid_mark", IPV4_DEVCONF_SRC_VMARK, 0x1a4, DevinetHandler.Conf),
        ("proxy_arp", IPV4_DEVCONF_PROXY_ARP, 0x1a4, DevinetHandler.Conf),
        ("medium_id", IPV4_DEVCONF_MEDIUM_ID, 0x1a4, DevinetHandler.Conf),
        ("bootp_relay", IPV4_DEVCONF_BOOTP_RELAY, 0x1a4, DevinetHandler.Conf),
        ("log_martians", IPV4_DEVCONF_LOG_MARTIANS, 0x1a4, DevinetHandler.Conf),
        ("tag", IPV4_DEVCONF_TAG, 0x1a4, DevinetHandler.Conf),
        ("arp_filter", IPV4_DEVCONF_ARPFILTER, 0x1a4, DevinetHandler.Conf),
        ("arp_announce", IPV4_DEVCONF_ARP_ANNOUNCE, 0x1a4, DevinetHandler.Conf),
        ("arp_ignore", IPV4_DEVCONF_ARP_IGNORE, 0x1a4, DevinetHandler.Conf),
        ("arp_accept", IPV4_DEVCONF_ARP_ACCEPT, 0x1a4, DevinetHandler.Conf),
        ("arp_notify", IPV4_DEVCONF_ARP_NOTIFY, 0x1a4, DevinetHandler.Conf),
        ("arp_evict_nocarrier", IPV4_DEVCONF_ARP_EVICT_NOCARRIER, 0x1a4, DevinetHandler.Conf),
        ("proxy_arp_pvlan", IPV4_DEVCONF_PROXY_ARP_PVLAN, 0x1a4, DevinetHandler.Conf),
        ("force_igmp_version", IPV4_DEVCONF_FORCE_IGMP_VERSION, 0x1a4, DevinetHandler.Conf),
        ("igmpv2_unsolicited_report_interval", IPV4_DEVCONF_IGMPV2_UNSOLICITED_REPORT_INTERVAL, 0x1a4, DevinetHandler.Conf),
        ("igmpv3_unsolicited_report_interval", IPV4_DEVCONF_IGMPV3_UNSOLICITED_REPORT_INTERVAL, 0x1a4, DevinetHandler.Conf),
        ("ignore_routes_with_linkdown", IPV4_DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN, 0x1a4, DevinetHandler.Conf),
        ("drop_gratuitous_arp", IPV4_DEVCONF_DROP_GRATUITOUS_ARP, 0x1a4, DevinetHandler.Conf),
        ("disable_xfrm", IPV4_DEVCONF_NOXFRM, 0x1a4, DevinetHandler.Flush),
        ("disable_policy", IPV4_DEVCONF_NOPOLICY, 0x1a4, DevinetHandler.Flush),
        ("promote_secondaries", IPV4_DEVCONF_PROMOTE_SECONDARIES, 0x1a4, DevinetHandler.Flush),
        ("route_localnet", IPV4_DEVCONF_ROUTE_LOCALNET, 0x1a4, DevinetHandler.Flush),
        ("drop_unicast_in_l2_multicast", IPV4_DEVCONF_DROP_UNICAST_IN_L2_MULTICAST, 0x1a4, DevinetHandler.Flush),
    ];

    /// <summary>ctl->data pointing into a DevConf.</summary>
    private sealed class DevConfData(DevConf cnf, int devconf) : IProcData
    {
        public int Length => 1;
        public long this[int i]
        {
            get => cnf[devconf];
            set => cnf[devconf] = unchecked((int)value);
        }
    }

    private IEnumerable<CtlFile> DevinetFiles(DevConf cnf, InDevice? idev)
    {
        foreach (var (name, idx, mode, h) in DevinetVars)
            yield return DevconfFile(name, mode, h, cnf, idx, idev);
    }

    private CtlFile DevconfFile(string name, ushort mode, DevinetHandler h, DevConf cnf, int idx, InDevice? idev) =>
        new(name, mode, h switch
        {
            DevinetHandler.Forward => DevinetSysctlForward,
            DevinetHandler.Flush => Ipv4DointAndFlush,
            _ => DevinetConfProc,
        })
        {
            Data = new DevConfData(cnf, idx), Net = Net, Extra1 = cnf, Extra2 = (idev, idx),
        };

    /// <summary>The devconf_all/devconf_dflt registrations of devinet_init_net.</summary>
    internal void DevinetSysctlRegisterAllDefault(NetSysctl s)
    {
        s.Register("ipv4/conf", "all", DevinetFiles(All, null));
        s.Register("ipv4/conf", "default", DevinetFiles(Default, null));
    }

    /// <summary>ctl_forward_entry: net.ipv4.ip_forward is conf.all.forwarding.</summary>
    public static CtlFile BindIpForward(Net net, NetCtlDef def) =>
        net.Ipv4.DevconfFile("ip_forward", def.Mode, DevinetHandler.Forward, net.Ipv4.All, IPV4_DEVCONF_FORWARDING, null);

    /// <summary>devinet_sysctl_register: neigh/DEV, then conf/DEV, then RTM_NEWNETCONF with everything.</summary>
    internal void DevinetSysctlRegister(InDevice inDev)
    {
        // until somebody looks at the namespace's tree, the directories are made when it is built
        if (Net.Sysctl.Built) DevinetSysctlRegisterDirs(inDev);
        NetconfNotifyDevconf(false, NETCONFA_ALL, inDev.Dev.Ifindex, inDev.Cnf);
    }

    /// <summary>The directories of devinet_sysctl_register: neigh/DEV, then conf/DEV.</summary>
    internal void DevinetSysctlRegisterDirs(InDevice inDev)
    {
        var s = Net.Sysctl;
        inDev.NeighDir = s.Register("ipv4/neigh", inDev.Dev.Name, NeighSysctl.Files(Net, inDev.ArpParms, inDev.Dev, ipv6: false));
        inDev.SysctlDir = s.Register("ipv4/conf", inDev.Dev.Name, DevinetFiles(inDev.Cnf, inDev));
    }

    /// <summary>devinet_sysctl_unregister: conf/DEV and neigh/DEV go, RTM_DELNETCONF.</summary>
    internal void DevinetSysctlUnregister(InDevice inDev)
    {
        NetSysctl.Unregister(inDev.SysctlDir);
        inDev.SysctlDir = null;
        NetconfNotifyDevconf(true, 0, inDev.Dev.Ifindex, null);
        NetSysctl.Unregister(inDev.NeighDir);
        inDev.NeighDir = null;
    }

    /// <summary>devinet_conf_ifindex.</summary>
    private int DevconfIfindex(DevConf cnf, InDevice? idev) =>
        cnf == All ? NETCONFA_IFINDEX_ALL : cnf == Default ? NETCONFA_IFINDEX_DEFAULT : idev!.Dev.Ifindex;

    /// <summary>inet_netconf_notify_devconf.</summary>
    internal void NetconfNotifyDevconf(bool deleted, int type, int ifindex, DevConf? cnf) =>
        Net.NetconfNotify(AF_INET, deleted, type, ifindex, cnf);

    private static (Ipv4Net V4, DevConf Cnf, InDevice? Idev, int Idx) Ctx(CtlFile t)
    {
        var (idev, idx) = ((InDevice?, int))t.Extra2!;
        return (t.Net!.Ipv4, (DevConf)t.Extra1!, idev, idx);
    }

    /// <summary>devinet_conf_proc: proc_dointvec, then (even when it failed) the entry counts as
    /// written; a write to conf/default reaches every device that never wrote it; rp_filter,
    /// proxy_arp and ignore_routes_with_linkdown changes are announced.</summary>
    private static int DevinetConfProc(CtlFile t, ProcIo io)
    {
        var (v4, cnf, idev, i) = Ctx(t);
        int oldValue = cnf[i];
        int ret = Proc.DoIntVec(t, io);
        int newValue = cnf[i];
        if (io.Write)
        {
            cnf.MarkSet(i);
            if (cnf == v4.Default) v4.DevinetCopyDfltConf(i);
            if (newValue != oldValue)
            {
                int type = i switch
                {
                    IPV4_DEVCONF_RP_FILTER => NETCONFA_RP_FILTER,
                    IPV4_DEVCONF_PROXY_ARP => NETCONFA_PROXY_NEIGH,
                    IPV4_DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN => NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN,
                    _ => 0,
                };
                if (type != 0) v4.NetconfNotifyDevconf(false, type, v4.DevconfIfindex(cnf, idev), cnf);
            }
        }
        return ret;
    }

    /// <summary>devinet_copy_dflt_conf.</summary>
    private void DevinetCopyDfltConf(int i)
    {
        foreach (var dev in Net.Devices)
            if (dev.Ip4 is { } inDev && !inDev.Cnf.IsSet(i)) inDev.Cnf[i] = Default[i];
    }

    /// <summary>devinet_sysctl_forward: a change of conf/all/forwarding (or ip_forward) applies to
    /// default and every device; every change is announced.</summary>
    private static int DevinetSysctlForward(CtlFile t, ProcIo io)
    {
        var (v4, cnf, idev, i) = Ctx(t);
        int val = cnf[i];
        int ret = Proc.DoIntVec(t, io);
        if (io.Write && cnf[i] != val)
        {
            if (cnf != v4.Default)
            {
                if (cnf == v4.All) v4.InetForwardChange();
                else v4.NetconfNotifyDevconf(false, NETCONFA_FORWARDING, idev!.Dev.Ifindex, cnf);
            }
            else v4.NetconfNotifyDevconf(false, NETCONFA_FORWARDING, NETCONFA_IFINDEX_DEFAULT, v4.Default);
        }
        return ret;
    }

    /// <summary>inet_forward_change.</summary>
    private void InetForwardChange()
    {
        int on = All[IPV4_DEVCONF_FORWARDING];
        All[IPV4_DEVCONF_ACCEPT_REDIRECTS] = on == 0 ? 1 : 0;
        Default[IPV4_DEVCONF_FORWARDING] = on;
        NetconfNotifyDevconf(false, NETCONFA_FORWARDING, NETCONFA_IFINDEX_ALL, All);
        NetconfNotifyDevconf(false, NETCONFA_FORWARDING, NETCONFA_IFINDEX_DEFAULT, Default);
        foreach (var dev in Net.Devices)
        {
            if (dev.Ip4 is not { } inDev) continue;
            inDev.Cnf.Set(IPV4_DEVCONF_FORWARDING, on);
            NetconfNotifyDevconf(false, NETCONFA_FORWARDING, dev.Ifindex, inDev.Cnf);
        }
    }

    /// <summary>ipv4_doint_and_flush: proc_dointvec (no written-bit, no default propagation), the
    /// route cache flush being nothing here.</summary>
    private static int Ipv4DointAndFlush(CtlFile t, ProcIo io) => Proc.DoIntVec(t, io);

    /// <summary>devinet_init_net: a new namespace's conf/all and conf/default start as the initial
    /// namespace's (devconf_inherit_init_net 0 or 1), as the creator's (3), or as compiled (2).</summary>
    internal void InheritDevconf(int mode, Ipv4Net? init, Ipv4Net? creator)
    {
        var from = mode switch { 0 or 1 => init, 3 => creator, _ => null };
        if (from == null) return;
        All.CopyFrom(from.All);
        Default.CopyFrom(from.Default);
    }
}
