using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv6;

/// <summary>struct ifmcaddr6: a multicast group a device is in (inet6_dev->mc_list).</summary>
public sealed class Ifmcaddr6(UInt128 addr)
{
    public const uint MafTimerRunning = 0x01, MafLastReporter = 0x02, MafLoaded = 0x04, MafNoreport = 0x08,
        MafGsquery = 0x10;

    public UInt128 Addr { get; } = addr;
    public int Users;
    public uint Flags;
}

// net/ipv6/mcast.c and the joins addrconf makes: the groups of a device (all-nodes from the start,
// the solicited-node group of each address, the all-routers groups while forwarding), and the
// link-layer addresses they load into the device's multicast list. Reports and their timers are
// not modelled: a group shows as reported (no timer running).
public sealed partial class Ipv6Net
{
    /// <summary>ff01::1, ff02::1, ff02::2, ff01::2, ff05::2.</summary>
    public static readonly UInt128 InterfaceLocalAllNodes = ((UInt128)0xff01UL << 112) | 1,
        LinkLocalAllNodes = ((UInt128)0xff02UL << 112) | 1,
        LinkLocalAllRouters = ((UInt128)0xff02UL << 112) | 2,
        InterfaceLocalAllRouters = ((UInt128)0xff01UL << 112) | 2,
        SiteLocalAllRouters = ((UInt128)0xff05UL << 112) | 2;

    /// <summary>IPV6_ADDR_MC_SCOPE.</summary>
    private static int McScope(UInt128 a) => (int)((a >> 112) & 0xf);

    /// <summary>ndisc_mc_map for Ethernet-like devices: 33:33 and the last four bytes; none for
    /// loopback or devices without multicast.</summary>
    private static byte[]? NdiscMcMap(NetDevice dev, UInt128 a)
    {
        if (dev.Type != ARPHRD_ETHER || (dev.Flags & IFF_MULTICAST) == 0) return null;
        return [0x33, 0x33, (byte)(a >> 24), (byte)(a >> 16), (byte)(a >> 8), (byte)a];
    }

    /// <summary>ipv6_dev_mc_inc (__ipv6_dev_mc_inc + igmp6_group_added): a user more, or a new group
    /// at the head of the list; groups of link scope and wider are loaded into the device.</summary>
    internal void Ipv6DevMcInc(Inet6Dev idev, UInt128 addr)
    {
        foreach (var m in idev.McList)
            if (m.Addr == addr)
            {
                m.Users++;
                return;
            }
        var mc = new Ifmcaddr6(addr) { Users = 1 };
        if (addr == LinkLocalAllNodes || McScope(addr) < 2) mc.Flags |= Ifmcaddr6.MafNoreport;
        idev.McList.Insert(0, mc);
        Igmp6GroupAdded(idev, mc);
    }

    /// <summary>ff02::16, where MLDv2 reports go.</summary>
    public static readonly UInt128 AllMldv2Routers = ((UInt128)0xff02UL << 112) | 0x16;

    /// <summary>igmp6_group_added: a group of link scope or wider is loaded into the device, once;
    /// on a device that is up, a group that is reported is announced (mld_ifc_event, or
    /// igmp6_join_group in MLDv1 mode).</summary>
    private void Igmp6GroupAdded(Inet6Dev idev, Ifmcaddr6 mc)
    {
        if (McScope(mc.Addr) < 2) return;
        if ((mc.Flags & Ifmcaddr6.MafLoaded) == 0)
        {
            mc.Flags |= Ifmcaddr6.MafLoaded;
            if (NdiscMcMap(idev.Dev, mc.Addr) is { } ha) idev.Dev.Mc.Add(ha);
        }
        if (!idev.Dev.IsUp || (mc.Flags & Ifmcaddr6.MafNoreport) != 0) return;
        MldSendReport(idev, mc);
    }

    /// <summary>What sending a report leaves behind: reports are not modelled as packets, but the
    /// kernel's transmit path (ip6_finish_output2 -> __neigh_create, ndisc_constructor) makes a
    /// NOARP neighbour entry for the destination, silently, which `ip neigh show nud all` lists and
    /// whose removal on ifdown is announced. MLDv2 reports go to ff02::16, MLDv1 reports
    /// (force_mld_version=1) to the group itself.</summary>
    private void MldSendReport(Inet6Dev idev, Ifmcaddr6 mc)
    {
        var dev = idev.Dev;
        if ((dev.Flags & IFF_MULTICAST) == 0 || dev.IsLoopback || idev.Cnf[DEVCONF_DISABLE_IPV6] != 0) return;
        int v = idev.Cnf[DEVCONF_FORCE_MLD_VERSION];
        if (v == 0) v = All[DEVCONF_FORCE_MLD_VERSION];
        UInt128 dst = v == 1 ? mc.Addr : AllMldv2Routers;
        var nd = Net.Neigh.Nd;
        if (nd.Lookup(dst, dev) == null) nd.Create(dst, dev, 0, out _);
    }

    /// <summary>igmp6_group_dropped: a loaded group's link-layer address leaves the device (the
    /// membership stays).</summary>
    private static void Igmp6GroupDropped(Inet6Dev idev, Ifmcaddr6 mc)
    {
        if (McScope(mc.Addr) < 2 || (mc.Flags & Ifmcaddr6.MafLoaded) == 0) return;
        mc.Flags &= ~Ifmcaddr6.MafLoaded;
        if (NdiscMcMap(idev.Dev, mc.Addr) is { } ha) idev.Dev.Mc.Del(ha);
    }

    /// <summary>ipv6_mc_up: every group is loaded again, newest first (from ipv6_find_idev on a
    /// running device).</summary>
    internal void Ipv6McUp(Inet6Dev idev)
    {
        foreach (var m in idev.McList) Igmp6GroupAdded(idev, m);
    }

    /// <summary>ipv6_mc_down: a ready device went down: its groups are dropped from the device.</summary>
    internal void Ipv6McDown(Inet6Dev idev)
    {
        foreach (var m in idev.McList) Igmp6GroupDropped(idev, m);
    }

    /// <summary>__ipv6_dev_mc_dec: the last user gone, the group leaves (and its link-layer address).</summary>
    internal void Ipv6DevMcDec(Inet6Dev idev, UInt128 addr)
    {
        for (int i = 0; i < idev.McList.Count; i++)
        {
            var m = idev.McList[i];
            if (m.Addr != addr) continue;
            if (--m.Users > 0) return;
            idev.McList.RemoveAt(i);
            if ((m.Flags & Ifmcaddr6.MafLoaded) != 0 && NdiscMcMap(idev.Dev, addr) is { } ha) idev.Dev.Mc.Del(ha);
            return;
        }
    }

    /// <summary>ipv6_mc_destroy_dev: every group goes with the inet6_dev.</summary>
    internal void Ipv6McDestroyDev(Inet6Dev idev)
    {
        foreach (var m in idev.McList.ToList())
            if ((m.Flags & Ifmcaddr6.MafLoaded) != 0 && NdiscMcMap(idev.Dev, m.Addr) is { } ha) idev.Dev.Mc.Del(ha);
        idev.McList.Clear();
    }

    /// <summary>addrconf_addr_solict_mult: ff02::1:ffXX:XXXX.</summary>
    public static UInt128 SolicitedNode(UInt128 a) => ((UInt128)0xff02UL << 112) | ((UInt128)1 << 32) | 0xff000000u | (a & 0xffffff);

    /// <summary>addrconf_join_solicit (not on loopback or NOARP devices).</summary>
    private void AddrconfJoinSolicit(Inet6IfAddr ifp)
    {
        if ((ifp.Dev.Flags & (IFF_LOOPBACK | IFF_NOARP)) != 0 || ifp.Dev.Ip6 is not { } idev || ifp.SolicitJoined) return;
        ifp.SolicitJoined = true;
        Ipv6DevMcInc(idev, SolicitedNode(ifp.Addr));
    }

    /// <summary>addrconf_leave_solicit.</summary>
    private void AddrconfLeaveSolicit(Inet6IfAddr ifp)
    {
        if (!ifp.SolicitJoined) return;
        ifp.SolicitJoined = false;
        if (ifp.Dev.Ip6 is { } idev) Ipv6DevMcDec(idev, SolicitedNode(ifp.Addr));
    }

    /// <summary>The all-routers groups of dev_forward_change (joined while forwarding).</summary>
    private void AllRoutersChange(Inet6Dev idev, bool on)
    {
        if ((idev.Dev.Flags & IFF_MULTICAST) == 0) return;
        foreach (var g in new[] { LinkLocalAllRouters, InterfaceLocalAllRouters, SiteLocalAllRouters })
            if (on) Ipv6DevMcInc(idev, g);
            else Ipv6DevMcDec(idev, g);
    }
}
