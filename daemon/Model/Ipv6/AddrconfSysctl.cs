using System.Net;
using System.Net.Sockets;
using System.Text;
using VirtKernel.Model.Sysctl;
using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv6;

// net/ipv6/addrconf.c: net.ipv6.conf.{all,default,DEV} over the DevConf6 arrays (addrconf_sysctl[]),
// the handlers with side effects (forwarding, disable_ipv6, mtu, proxy_ndp, stable_secret,
// addr_gen_mode, ignore_routes_with_linkdown, force_forwarding) and netconf notifications.
public sealed partial class Ipv6Net
{
    private enum Conf6 { Int, MinMax, UInt, U8, Jiffies, MsJiffies, Forward, Mtu, ProxyNdp, Disable, StableSecret, AddrGenMode, Linkdown, ForceForwarding }

    /// <summary>addrconf_sysctl[], in the kernel's order: name, where the value is, mode, handler,
    /// bounds (extra1/extra2).</summary>
    private static readonly (string Name, int Idx, ushort Mode, Conf6 H, long? Min, long? Max)[] AddrconfVars =
    [
        ("forwarding", DEVCONF_FORWARDING, 0x1a4, Conf6.Forward, null, null),
        ("hop_limit", DEVCONF_HOPLIMIT, 0x1a4, Conf6.MinMax, 1, 255),
        ("mtu", DEVCONF_MTU6, 0x1a4, Conf6.Mtu, null, null),
        ("accept_ra", DEVCONF_ACCEPT_RA, 0x1a4, Conf6.Int, null, null),
        ("accept_redirects", DEVCONF_ACCEPT_REDIRECTS, 0x1a4, Conf6.Int, null, null),
        ("autoconf", DEVCONF_AUTOCONF, 0x1a4, Conf6.Int, null, null),
        ("dad_transmits", DEVCONF_DAD_TRANSMITS, 0x1a4, Conf6.Int, null, null),
        ("router_solicitations", DEVCONF_RTR_SOLICITS, 0x1a4, Conf6.MinMax, -1, null),
        ("router_solicitation_interval", DEVCONF_RTR_SOLICIT_INTERVAL, 0x1a4, Conf6.Jiffies, null, null),
        ("router_solicitation_max_interval", DEVCONF_RTR_SOLICIT_MAX_INTERVAL, 0x1a4, Conf6.Jiffies, null, null),
        ("router_solicitation_delay", DEVCONF_RTR_SOLICIT_DELAY, 0x1a4, Conf6.Jiffies, null, null),
        ("force_mld_version", DEVCONF_FORCE_MLD_VERSION, 0x1a4, Conf6.Int, null, null),
        ("mldv1_unsolicited_report_interval", DEVCONF_MLDV1_UNSOLICITED_REPORT_INTERVAL, 0x1a4, Conf6.MsJiffies, null, null),
        ("mldv2_unsolicited_report_interval", DEVCONF_MLDV2_UNSOLICITED_REPORT_INTERVAL, 0x1a4, Conf6.MsJiffies, null, null),
        ("use_tempaddr", DEVCONF_USE_TEMPADDR, 0x1a4, Conf6.Int, null, null),
        ("temp_valid_lft", DEVCONF_TEMP_VALID_LFT, 0x1a4, Conf6.Int, null, null),
        ("temp_prefered_lft", DEVCONF_TEMP_PREFERED_LFT, 0x1a4, Conf6.Int, null, null),
        ("regen_min_advance", DevConf6.RegenMinAdvance, 0x1a4, Conf6.Int, null, null),
        ("regen_max_retry", DEVCONF_REGEN_MAX_RETRY, 0x1a4, Conf6.Int, null, null),
        ("max_desync_factor", DEVCONF_MAX_DESYNC_FACTOR, 0x1a4, Conf6.Int, null, null),
        ("max_addresses", DEVCONF_MAX_ADDRESSES, 0x1a4, Conf6.Int, null, null),
        ("accept_ra_defrtr", DEVCONF_ACCEPT_RA_DEFRTR, 0x1a4, Conf6.Int, null, null),
        ("ra_defrtr_metric", DEVCONF_RA_DEFRTR_METRIC, 0x1a4, Conf6.UInt, 1, null),
        ("accept_ra_min_hop_limit", DEVCONF_ACCEPT_RA_MIN_HOP_LIMIT, 0x1a4, Conf6.Int, null, null),
        ("accept_ra_min_lft", DEVCONF_ACCEPT_RA_MIN_LFT, 0x1a4, Conf6.Int, null, null),
        ("accept_ra_pinfo", DEVCONF_ACCEPT_RA_PINFO, 0x1a4, Conf6.Int, null, null),
        ("ra_honor_pio_life", DevConf6.RaHonorPioLife, 0x1a4, Conf6.U8, 0, 1),
        ("ra_honor_pio_pflag", DevConf6.RaHonorPioPflag, 0x1a4, Conf6.U8, 0, 1),
        ("accept_ra_rtr_pref", DEVCONF_ACCEPT_RA_RTR_PREF, 0x1a4, Conf6.Int, null, null),
        ("router_probe_interval", DEVCONF_RTR_PROBE_INTERVAL, 0x1a4, Conf6.Jiffies, null, null),
        ("accept_ra_rt_info_min_plen", DEVCONF_ACCEPT_RA_RT_INFO_MIN_PLEN, 0x1a4, Conf6.Int, null, null),
        ("accept_ra_rt_info_max_plen", DEVCONF_ACCEPT_RA_RT_INFO_MAX_PLEN, 0x1a4, Conf6.Int, null, null),
        ("proxy_ndp", DEVCONF_PROXY_NDP, 0x1a4, Conf6.ProxyNdp, null, null),
        ("accept_source_route", DEVCONF_ACCEPT_SOURCE_ROUTE, 0x1a4, Conf6.Int, null, null),
        ("optimistic_dad", DEVCONF_OPTIMISTIC_DAD, 0x1a4, Conf6.Int, null, null),
        ("use_optimistic", DEVCONF_USE_OPTIMISTIC, 0x1a4, Conf6.Int, null, null),
        ("mc_forwarding", DEVCONF_MC_FORWARDING, 0x124, Conf6.Int, null, null),
        ("disable_ipv6", DEVCONF_DISABLE_IPV6, 0x1a4, Conf6.Disable, null, null),
        ("accept_dad", DEVCONF_ACCEPT_DAD, 0x1a4, Conf6.Int, null, null),
        ("force_tllao", DEVCONF_FORCE_TLLAO, 0x1a4, Conf6.Int, null, null),
        ("ndisc_notify", DEVCONF_NDISC_NOTIFY, 0x1a4, Conf6.Int, null, null),
        ("suppress_frag_ndisc", DEVCONF_SUPPRESS_FRAG_NDISC, 0x1a4, Conf6.Int, null, null),
        ("accept_ra_from_local", DEVCONF_ACCEPT_RA_FROM_LOCAL, 0x1a4, Conf6.Int, null, null),
        ("accept_ra_mtu", DEVCONF_ACCEPT_RA_MTU, 0x1a4, Conf6.Int, null, null),
        ("stable_secret", DEVCONF_STABLE_SECRET, 0x180, Conf6.StableSecret, null, null),
        ("use_oif_addrs_only", DEVCONF_USE_OIF_ADDRS_ONLY, 0x1a4, Conf6.Int, null, null),
        ("ignore_routes_with_linkdown", DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN, 0x1a4, Conf6.Linkdown, null, null),
        ("drop_unicast_in_l2_multicast", DEVCONF_DROP_UNICAST_IN_L2_MULTICAST, 0x1a4, Conf6.Int, null, null),
        ("drop_unsolicited_na", DEVCONF_DROP_UNSOLICITED_NA, 0x1a4, Conf6.Int, null, null),
        ("keep_addr_on_down", DEVCONF_KEEP_ADDR_ON_DOWN, 0x1a4, Conf6.Int, null, null),
        ("seg6_enabled", DEVCONF_SEG6_ENABLED, 0x1a4, Conf6.Int, null, null),
        ("seg6_require_hmac", DEVCONF_SEG6_REQUIRE_HMAC, 0x1a4, Conf6.Int, null, null),
        ("enhanced_dad", DEVCONF_ENHANCED_DAD, 0x1a4, Conf6.Int, null, null),
        ("addr_gen_mode", DEVCONF_ADDR_GEN_MODE, 0x1a4, Conf6.AddrGenMode, null, null),
        ("disable_policy", DEVCONF_DISABLE_POLICY, 0x1a4, Conf6.Int, null, null),
        ("ndisc_tclass", DEVCONF_NDISC_TCLASS, 0x1a4, Conf6.MinMax, 0, 255),
        ("rpl_seg_enabled", DEVCONF_RPL_SEG_ENABLED, 0x1a4, Conf6.MinMax, 0, 1),
        ("ioam6_enabled", DEVCONF_IOAM6_ENABLED, 0x1a4, Conf6.U8, 0, 1),
        ("ioam6_id", DEVCONF_IOAM6_ID, 0x1a4, Conf6.UInt, 0, 0xffff),
        ("ioam6_id_wide", DEVCONF_IOAM6_ID_WIDE, 0x1a4, Conf6.UInt, null, null),
        ("ndisc_evict_nocarrier", DEVCONF_NDISC_EVICT_NOCARRIER, 0x1a4, Conf6.U8, 0, 1),
        ("accept_untracked_na", DEVCONF_ACCEPT_UNTRACKED_NA, 0x1a4, Conf6.MinMax, 0, 2),
        ("force_forwarding", DEVCONF_FORCE_FORWARDING, 0x1a4, Conf6.ForceForwarding, null, null),
    ];

    /// <summary>ctl->data pointing into a DevConf6.</summary>
    private sealed class DevConf6Data(DevConf6 cnf, int idx) : IProcData
    {
        public int Length => 1;
        public long this[int i]
        {
            get => cnf[idx];
            set => cnf[idx] = unchecked((int)value);
        }
    }

    private IEnumerable<CtlFile> AddrconfFiles(DevConf6 cnf, Inet6Dev? idev)
    {
        foreach (var (name, idx, mode, h, min, max) in AddrconfVars)
        {
            ProcHandler handler = h switch
            {
                Conf6.Int => Proc.DoIntVec,
                Conf6.MinMax => Proc.DoIntVecMinMax,
                Conf6.UInt => Proc.DoUIntVec,
                Conf6.U8 => Proc.DoU8VecMinMax,
                Conf6.Jiffies => Proc.DoIntVecJiffies,
                Conf6.MsJiffies => Proc.DoIntVecMsJiffies,
                Conf6.Forward => AddrconfSysctlForward,
                Conf6.Mtu => AddrconfSysctlMtu,
                Conf6.ProxyNdp => AddrconfSysctlProxyNdp,
                Conf6.Disable => AddrconfSysctlDisable,
                Conf6.StableSecret => AddrconfSysctlStableSecret,
                Conf6.AddrGenMode => AddrconfSysctlAddrGenMode,
                Conf6.Linkdown => AddrconfSysctlIgnoreRoutesWithLinkdown,
                _ => AddrconfSysctlForceForwarding,
            };
            yield return new CtlFile(name, mode, handler)
            {
                Data = new DevConf6Data(cnf, idx), Min = min, Max = max, Net = Net, Extra1 = cnf, Extra2 = idev,
            };
        }
    }

    /// <summary>addrconf_init_net's registrations of conf/all and conf/default.</summary>
    internal void AddrconfSysctlRegisterAllDefault(NetSysctl s)
    {
        s.Register("ipv6/conf", "all", AddrconfFiles(All, null));
        s.Register("ipv6/conf", "default", AddrconfFiles(Default, null));
    }

    /// <summary>addrconf_sysctl_register: neigh/DEV, then conf/DEV, then RTM_NEWNETCONF.</summary>
    internal void AddrconfSysctlRegister(Inet6Dev idev)
    {
        // until somebody looks at the namespace's tree, the directories are made when it is built
        if (Net.Sysctl.Built) AddrconfSysctlRegisterDirs(idev);
        NetconfNotifyDevconf(false, NETCONFA_ALL, idev.Dev.Ifindex, idev.Cnf);
    }

    /// <summary>The directories of addrconf_sysctl_register: neigh/DEV, then conf/DEV.</summary>
    internal void AddrconfSysctlRegisterDirs(Inet6Dev idev)
    {
        var s = Net.Sysctl;
        idev.NeighDir = s.Register("ipv6/neigh", idev.Dev.Name, NeighSysctl.Files(Net, idev.NdParms, idev.Dev, ipv6: true));
        idev.SysctlDir = s.Register("ipv6/conf", idev.Dev.Name, AddrconfFiles(idev.Cnf, idev));
    }

    /// <summary>addrconf_sysctl_unregister: conf/DEV goes (RTM_DELNETCONF), then neigh/DEV.</summary>
    internal void AddrconfSysctlUnregister(Inet6Dev idev)
    {
        NetSysctl.Unregister(idev.SysctlDir);
        idev.SysctlDir = null;
        NetconfNotifyDevconf(true, 0, idev.Dev.Ifindex, null);
        NetSysctl.Unregister(idev.NeighDir);
        idev.NeighDir = null;
    }

    /// <summary>inet6_netconf_notify_devconf.</summary>
    internal void NetconfNotifyDevconf(bool deleted, int type, int ifindex, DevConf6? cnf) =>
        Net.NetconfNotify(AF_INET6, deleted, type, ifindex, cnf);

    private static (Ipv6Net V6, DevConf6 Cnf, Inet6Dev? Idev) Ctx(CtlFile t) =>
        (t.Net!.Ipv6, (DevConf6)t.Extra1!, (Inet6Dev?)t.Extra2);

    private int CnfIfindex(DevConf6 cnf, Inet6Dev? idev) =>
        cnf == All ? NETCONFA_IFINDEX_ALL : cnf == Default ? NETCONFA_IFINDEX_DEFAULT : idev!.Dev.Ifindex;

    /// <summary>Runs proc_dointvec on a copy of the value (lctl.data = &amp;val): the caller decides
    /// what the new value does before storing it.</summary>
    private static int OnCopy(CtlFile t, ProcIo io, out int val, ProcHandler h)
    {
        long[] tmp = [t.Data![0]];
        var f = new CtlFile(t.Name, t.Mode, h) { Data = new SlotData(tmp, 0, 1), Min = t.MinValue, Max = t.MaxValue };
        int ret = h(f, io);
        val = unchecked((int)tmp[0]);
        return ret;
    }

    /// <summary>addrconf_sysctl_forward + addrconf_fixup_forwarding.</summary>
    private static int AddrconfSysctlForward(CtlFile t, ProcIo io)
    {
        var (v6, cnf, idev) = Ctx(t);
        int ret = OnCopy(t, io, out int newf, Proc.DoIntVec);
        if (!io.Write || ret != 0) return ret;
        int old = cnf[DEVCONF_FORWARDING];
        cnf[DEVCONF_FORWARDING] = newf;
        if (cnf == v6.Default)
        {
            if ((newf == 0) != (old == 0))
                v6.NetconfNotifyDevconf(false, NETCONFA_FORWARDING, NETCONFA_IFINDEX_DEFAULT, v6.Default);
            return 0;
        }
        if (cnf == v6.All)
        {
            int oldDflt = v6.Default[DEVCONF_FORWARDING];
            v6.Default[DEVCONF_FORWARDING] = newf;
            if ((newf == 0) != (oldDflt == 0))
                v6.NetconfNotifyDevconf(false, NETCONFA_FORWARDING, NETCONFA_IFINDEX_DEFAULT, v6.Default);
            // addrconf_forward_change
            foreach (var dev in v6.Net.Devices)
            {
                if (dev.Ip6 is not { } d) continue;
                bool changed = (d.Cnf[DEVCONF_FORWARDING] == 0) != (newf == 0);
                d.Cnf[DEVCONF_FORWARDING] = newf;
                if (changed) v6.DevForwardChange(d);
            }
            if ((newf == 0) != (old == 0))
                v6.NetconfNotifyDevconf(false, NETCONFA_FORWARDING, NETCONFA_IFINDEX_ALL, v6.All);
        }
        else if ((newf == 0) != (old == 0)) v6.DevForwardChange(idev!);
        return 0;
    }

    /// <summary>dev_forward_change: the all-routers groups follow (see /proc/net/igmp6), and the
    /// change is announced.</summary>
    private void DevForwardChange(Inet6Dev idev)
    {
        AllRoutersChange(idev, idev.Cnf[DEVCONF_FORWARDING] != 0);
        NetconfNotifyDevconf(false, NETCONFA_FORWARDING, idev.Dev.Ifindex, idev.Cnf);
    }

    /// <summary>addrconf_sysctl_mtu: at least IPV6_MIN_MTU, at most the device's MTU.</summary>
    private static int AddrconfSysctlMtu(CtlFile t, ProcIo io)
    {
        var (_, _, idev) = Ctx(t);
        var f = new CtlFile(t.Name, t.Mode, Proc.DoIntVecMinMax)
        {
            Data = t.Data, Min = Ipv6MinMtu, MaxFn = idev != null ? new Func<long>(() => idev.Dev.Mtu) : null,
        };
        return Proc.DoIntVecMinMax(f, io);
    }

    /// <summary>addrconf_sysctl_proxy_ndp.</summary>
    private static int AddrconfSysctlProxyNdp(CtlFile t, ProcIo io)
    {
        var (v6, cnf, idev) = Ctx(t);
        int old = cnf[DEVCONF_PROXY_NDP];
        int ret = Proc.DoIntVec(t, io);
        if (io.Write && cnf[DEVCONF_PROXY_NDP] != old)
            v6.NetconfNotifyDevconf(false, NETCONFA_PROXY_NEIGH, v6.CnfIfindex(cnf, idev), cnf);
        return ret;
    }

    /// <summary>addrconf_sysctl_disable + addrconf_disable_ipv6: a device that becomes disabled loses
    /// its IPv6 addresses and routes (addrconf_notify NETDEV_DOWN); enabled again, it starts over
    /// as a device coming up (NETDEV_UP). conf/all applies to default and every device.</summary>
    private static int AddrconfSysctlDisable(CtlFile t, ProcIo io)
    {
        var (v6, cnf, idev) = Ctx(t);
        int ret = OnCopy(t, io, out int newf, Proc.DoIntVec);
        if (!io.Write || ret != 0 || cnf[DEVCONF_DISABLE_IPV6] == newf) return ret;
        int old = cnf[DEVCONF_DISABLE_IPV6];
        cnf[DEVCONF_DISABLE_IPV6] = newf;
        if (cnf == v6.Default) return 0;
        if (cnf == v6.All)
        {
            v6.Default[DEVCONF_DISABLE_IPV6] = newf;
            foreach (var dev in v6.Net.Devices.ToList())
            {
                if (dev.Ip6 is not { } d) continue;
                bool changed = (d.Cnf[DEVCONF_DISABLE_IPV6] == 0) != (newf == 0);
                d.Cnf[DEVCONF_DISABLE_IPV6] = newf;
                if (changed) v6.DevDisableChange(d);
            }
        }
        else if ((newf == 0) != (old == 0)) v6.DevDisableChange(idev!);
        return 0;
    }

    /// <summary>dev_disable_change.</summary>
    private void DevDisableChange(Inet6Dev idev) =>
        AddrconfNotifier.OnNetdevEvent(idev.Cnf[DEVCONF_DISABLE_IPV6] != 0 ? NetdevEvent.Down : NetdevEvent.Up, idev.Dev);

    /// <summary>addrconf_sysctl_stable_secret: EIO until written (and always for conf/all); the text
    /// is an IPv6 address, shown in full; writing it makes the device (or, for default, every
    /// device) use stable-privacy addresses.</summary>
    private static int AddrconfSysctlStableSecret(CtlFile t, ProcIo io)
    {
        var (v6, cnf, idev) = Ctx(t);
        if (cnf == v6.All) return -Errno.EIO;
        if (!io.Write)
        {
            if (cnf.StableSecret is not UInt128 s) return -Errno.EIO;
            io.Output.Append(FormatFull(s)).Append('\n');
            return 0;
        }
        if (io.Input.Length == 0) { io.Consumed = 0; return 0; }
        // proc_dostring into a buffer holding the current text
        string cur = cnf.StableSecret is UInt128 c ? FormatFull(c) : FormatFull(UInt128.Zero);
        const int maxlen = 46; // IPV6_MAX_STRLEN
        if (io.Pos > cur.Length) return 0;
        var sb = new StringBuilder(cur[..(int)io.Pos]);
        foreach (byte b in io.Input)
        {
            if (sb.Length >= maxlen - 1 || b == 0 || b == '\n') break;
            sb.Append((char)b);
        }
        var addr = In6Pton(sb.ToString());
        if (addr == null) return -Errno.EIO;
        cnf.StableSecret = addr;
        if (cnf == v6.Default)
        {
            foreach (var dev in v6.Net.Devices)
                if (dev.Ip6 is { } d) d.Cnf[DEVCONF_ADDR_GEN_MODE] = IN6_ADDR_GEN_MODE_STABLE_PRIVACY;
        }
        else idev!.Cnf[DEVCONF_ADDR_GEN_MODE] = IN6_ADDR_GEN_MODE_STABLE_PRIVACY;
        return 0;
    }

    /// <summary>"%pI6": eight groups of four hex digits.</summary>
    private static string FormatFull(UInt128 a)
    {
        var sb = new StringBuilder(39);
        for (int i = 7; i >= 0; i--)
        {
            sb.Append(((ushort)(a >> (16 * i))).ToString("x4"));
            if (i > 0) sb.Append(':');
        }
        return sb.ToString();
    }

    /// <summary>in6_pton with no delimiter: the address is the longest run of address characters at
    /// the start (what follows, a prefix length or a blank, is ignored).</summary>
    private static UInt128? In6Pton(string s)
    {
        int n = 0;
        while (n < s.Length && (Uri.IsHexDigit(s[n]) || s[n] == ':' || s[n] == '.')) n++;
        if (n == 0 || !IPAddress.TryParse(s[..n], out var ip) || ip.AddressFamily != AddressFamily.InterNetworkV6) return null;
        var b = ip.GetAddressBytes();
        UInt128 v = 0;
        foreach (var x in b) v = (v << 8) | x;
        return v;
    }

    /// <summary>addrconf_sysctl_addr_gen_mode: a known mode (stable_privacy only with a secret);
    /// a device re-makes its automatic addresses; conf/all applies to default and every device.</summary>
    private static int AddrconfSysctlAddrGenMode(CtlFile t, ProcIo io)
    {
        var (v6, cnf, idev) = Ctx(t);
        long[] tmp = [(uint)cnf[DEVCONF_ADDR_GEN_MODE]];
        int ret = Proc.DoUIntVec(new CtlFile(t.Name, t.Mode, Proc.DoUIntVec) { Data = new SlotData(tmp, 0, 1) }, io);
        if (ret != 0 || !io.Write) return ret;
        if (tmp[0] > byte.MaxValue || !Addrconf.ValidAddrGenMode((byte)tmp[0])) return -Errno.EINVAL;
        int newVal = (int)tmp[0];
        if (idev != null)
        {
            if (newVal == IN6_ADDR_GEN_MODE_STABLE_PRIVACY && idev.Cnf.StableSecret == null && v6.Default.StableSecret == null)
                return -Errno.EINVAL;
            if (idev.Cnf[DEVCONF_ADDR_GEN_MODE] != newVal)
            {
                idev.Cnf[DEVCONF_ADDR_GEN_MODE] = newVal;
                v6.AddrconfInitAutoAddrs(idev.Dev);
            }
        }
        else if (cnf == v6.All)
        {
            v6.Default[DEVCONF_ADDR_GEN_MODE] = newVal;
            foreach (var dev in v6.Net.Devices.ToList())
            {
                if (dev.Ip6 is not { } d || d.Cnf[DEVCONF_ADDR_GEN_MODE] == newVal) continue;
                d.Cnf[DEVCONF_ADDR_GEN_MODE] = newVal;
                v6.AddrconfInitAutoAddrs(dev);
            }
        }
        cnf[DEVCONF_ADDR_GEN_MODE] = newVal;
        return 0;
    }

    /// <summary>addrconf_sysctl_ignore_routes_with_linkdown + addrconf_fixup_linkdown.</summary>
    private static int AddrconfSysctlIgnoreRoutesWithLinkdown(CtlFile t, ProcIo io)
    {
        var (v6, cnf, _) = Ctx(t);
        const int i = DEVCONF_IGNORE_ROUTES_WITH_LINKDOWN;
        int ret = OnCopy(t, io, out int newf, Proc.DoIntVec);
        if (!io.Write || ret != 0) return ret;
        int old = cnf[i];
        cnf[i] = newf;
        if (cnf == v6.Default)
        {
            if ((newf == 0) != (old == 0))
                v6.NetconfNotifyDevconf(false, NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN, NETCONFA_IFINDEX_DEFAULT, v6.Default);
            return 0;
        }
        if (cnf == v6.All)
        {
            v6.Default[i] = newf;
            foreach (var dev in v6.Net.Devices)
            {
                if (dev.Ip6 is not { } d) continue;
                bool changed = (d.Cnf[i] == 0) != (newf == 0);
                d.Cnf[i] = newf;
                if (changed) v6.NetconfNotifyDevconf(false, NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN, dev.Ifindex, d.Cnf);
            }
            if ((newf == 0) != (old == 0))
                v6.NetconfNotifyDevconf(false, NETCONFA_IGNORE_ROUTES_WITH_LINKDOWN, NETCONFA_IFINDEX_ALL, v6.All);
        }
        return 0;
    }

    /// <summary>addrconf_sysctl_force_forwarding: 0 or 1; conf/all applies to every device.</summary>
    private static int AddrconfSysctlForceForwarding(CtlFile t, ProcIo io)
    {
        var (v6, cnf, idev) = Ctx(t);
        const int i = DEVCONF_FORCE_FORWARDING;
        long[] tmp = [cnf[i]];
        int ret = Proc.DoU8VecMinMax(new CtlFile(t.Name, t.Mode, Proc.DoU8VecMinMax) { Data = new SlotData(tmp, 0, 1), Min = 0, Max = 1 }, io);
        int newVal = (int)tmp[0];
        if (io.Write && cnf[i] != newVal)
        {
            if (cnf == v6.Default)
                v6.NetconfNotifyDevconf(false, NETCONFA_FORCE_FORWARDING, NETCONFA_IFINDEX_DEFAULT, v6.Default);
            else if (cnf == v6.All)
            {
                v6.NetconfNotifyDevconf(false, NETCONFA_FORCE_FORWARDING, NETCONFA_IFINDEX_ALL, v6.All);
                foreach (var dev in v6.Net.Devices)
                {
                    if (dev.Ip6 is not { } d || d.Cnf[i] == newVal) continue;
                    d.Cnf[i] = newVal;
                    v6.NetconfNotifyDevconf(false, NETCONFA_FORCE_FORWARDING, dev.Ifindex, d.Cnf);
                }
            }
            else v6.NetconfNotifyDevconf(false, NETCONFA_FORCE_FORWARDING, idev!.Dev.Ifindex, cnf);
        }
        if (io.Write) cnf[i] = newVal;
        return ret;
    }

    /// <summary>addrconf_init_net: a new namespace's conf/all and conf/default start compiled
    /// (devconf_inherit_init_net 0 or 2), as the initial namespace's (1) or the creator's (3).</summary>
    internal void InheritDevconf(int mode, Ipv6Net? init, Ipv6Net? creator)
    {
        var from = mode switch { 1 => init, 3 => creator, _ => null };
        if (from == null) return;
        All.CopyFrom(from.All);
        Default.CopyFrom(from.Default);
    }
}
