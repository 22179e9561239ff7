using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv4;

// net/ipv4/devinet.c: IPv4 addresses of devices.
public sealed partial class Ipv4Net
{
    /// <summary>inetdev_init: a device's in_device, configured from net.ipv4.conf.default.</summary>
    internal InDevice InetdevInit(NetDevice dev)
    {
        var inDev = new InDevice(dev, Default.Clone(), Net.Kernel.ArpTblParms.CloneFor(dev));
        DevinetSysctlRegister(inDev);
        // ip_mc_init_dev; a running device is in all-hosts at once
        if (dev.IsUp) IpMcUp(inDev);
        dev.Ip4 = inDev;
        // inetdev_event after inetdev_init
        if (dev.IsLoopback)
        {
            inDev.Cnf.Set(IPV4_DEVCONF_NOXFRM, 1);
            inDev.Cnf.Set(IPV4_DEVCONF_NOPOLICY, 1);
        }
        return inDev;
    }

    /// <summary>inetdev_destroy: every address goes, then the in_device.</summary>
    internal void InetdevDestroy(InDevice inDev)
    {
        inDev.Dead = true;
        IpMcDestroyDev(inDev);
        while (inDev.First is { } ifa) InetDelIfa(inDev, ifa, false);
        inDev.Dev.Ip4 = null;
        DevinetSysctlUnregister(inDev);
    }

    /// <summary>inetdev_valid_mtu.</summary>
    public static bool ValidMtu(uint mtu) => mtu >= 68; // IPV4_MIN_MTU

    private static readonly long Hz = 1000;

    /// <summary>set_ifa_lifetime.</summary>
    public void SetIfaLifetime(InIfAddr ifa, uint validLft, uint preferedLft)
    {
        ifa.Flags &= ~(uint)(IFA_F_PERMANENT | IFA_F_DEPRECATED);
        ifa.ValidLft = validLft;
        ifa.PreferredLft = preferedLft;
        if (validLft == IfAddr.InfinityLifeTime) ifa.Flags |= (uint)IFA_F_PERMANENT;
        if (preferedLft == 0) ifa.Flags |= (uint)IFA_F_DEPRECATED;
        ifa.TstampMs = Net.Kernel.Clock.NowMs;
        if (ifa.CstampMs == 0) ifa.CstampMs = ifa.TstampMs;
        ScheduleLifetimeCheck(ifa);
    }

    /// <summary>inet_rtm_newaddr's model part: a new address, or (NLM_F_REPLACE) updates of an
    /// existing one (find_matching_ifa).</summary>
    public KErr NewAddr(InDevice inDev, InIfAddr ifa, uint validLft, uint preferedLft, ushort nlflags)
    {
        // ipv4_devconf_setall(in_dev): an address makes every devconf entry count as written
        inDev.Cnf.SetAll();
        var existing = FindMatchingIfa(inDev, ifa);
        if (existing == null)
        {
            SetIfaLifetime(ifa, validLft, preferedLft);
            return InsertIfa(ifa);
        }
        if ((nlflags & NLM_F_EXCL) != 0 || (nlflags & NLM_F_REPLACE) == 0)
            return new KErr(Errno.EEXIST, "ipv4: Address already assigned");
        if (existing.RtPriority != ifa.RtPriority)
        {
            FibModifyPrefixMetric(existing, ifa.RtPriority);
            existing.RtPriority = ifa.RtPriority;
        }
        existing.Proto = ifa.Proto;
        SetIfaLifetime(existing, validLft, preferedLft);
        Net.Events.Addr(existing, false);
        return KErr.Ok;
    }

    /// <summary>find_matching_ifa.</summary>
    private static InIfAddr? FindMatchingIfa(InDevice inDev, InIfAddr ifa)
    {
        foreach (var a in inDev.Subnet(ifa.Address, ifa.Mask))
            if (a.Local == ifa.Local) return a;
        return null;
    }

    /// <summary>__inet_insert_ifa: secondary if its subnet already has a primary; inserted in
    /// ifa_list order; RTM_NEWADDR, then the FIB routes (inetaddr chain NETDEV_UP).</summary>
    public KErr InsertIfa(InIfAddr ifa)
    {
        var inDev = ifa.Dev.Ip4!;
        if (ifa.Local == 0)
            return KErr.Ok; // the kernel frees a zero address silently
        ifa.Flags &= ~(uint)IFA_F_SECONDARY;
        // IPV6ONLY_FLAGS
        ifa.Flags &= ~(uint)(IFA_F_NODAD | IFA_F_OPTIMISTIC | IFA_F_DADFAILED | IFA_F_HOMEADDRESS |
                             IFA_F_TENTATIVE | IFA_F_MANAGETEMPADDR | IFA_F_STABLE_PRIVACY);
        foreach (var a in inDev.Subnet(ifa.Address, ifa.Mask))
        {
            if (a.Local == ifa.Local) return new KErr(Errno.EEXIST, "ipv4: Address already assigned");
            if (a.Scope != ifa.Scope) return new KErr(Errno.EINVAL, "ipv4: Invalid scope value");
            ifa.Flags |= (uint)IFA_F_SECONDARY;
        }
        inDev.Link(ifa);
        HashInsert(ifa);
        Net.Events.Addr(ifa, false);
        FibInetaddrUp(ifa);
        return KErr.Ok;
    }

    /// <summary>inet_rtm_deladdr's search: the first address in list order matching the filters.</summary>
    public static InIfAddr? FindForDelete(InDevice inDev, uint? local, string? label, uint? address, byte prefixLen)
    {
        foreach (var ifa in inDev.Addrs)
        {
            if (local is uint l && ifa.Local != l) continue;
            if (label != null && ifa.Label != label) continue;
            if (address is uint a && (prefixLen != ifa.PrefixLen || !ifa.Matches(a))) continue;
            return ifa;
        }
        return null;
    }

    /// <summary>__inet_del_ifa: deleting a primary deletes its secondaries, or promotes the first
    /// of them when promote_secondaries is set; RTM_DELADDR, then the FIB (NETDEV_DOWN).</summary>
    public void InetDelIfa(InDevice inDev, InIfAddr ifa1, bool destroy)
    {
        InIfAddr? promote = null;
        bool doPromote = OrConf(inDev, IPV4_DEVCONF_PROMOTE_SECONDARIES);

        if (!ifa1.Secondary)
        {
            foreach (var ifa in inDev.Subnet(ifa1.Address, ifa1.Mask).ToArray())
            {
                if (!ifa.Secondary) continue;
                if (!doPromote)
                {
                    inDev.Unlink(ifa);
                    HashRemove(ifa);
                    ifa.Dead = true;
                    Net.Events.Addr(ifa, true);
                    FibInetaddrDown(ifa);
                }
                else
                {
                    promote = ifa;
                    break;
                }
            }
        }

        // On promotion all secondaries of the subnet change their primary (prefsrc): their routes
        // go now, while every address is still listed, and come back with the new one below.
        if (promote != null)
        {
            bool from = false;
            foreach (var ifa in inDev.Addrs.ToArray())
            {
                if (ifa == promote) from = true;
                if (from && ifa1.Mask == ifa.Mask && ifa1.Matches(ifa.Address)) FibDelIfaddr(ifa, ifa1);
            }
        }

        // 2. unlink it
        inDev.Unlink(ifa1);
        HashRemove(ifa1);
        ifa1.Dead = true;

        // 3. announce the deletion, then let the FIB react
        Net.Events.Addr(ifa1, true);
        FibInetaddrDown(ifa1);

        if (promote != null)
        {
            inDev.Promote(promote);
            Net.Events.Addr(promote, false);
            FibInetaddrUp(promote);
            foreach (var ifa in inDev.Subnet(ifa1.Address, ifa1.Mask))
                if (ifa != promote) FibAddIfaddr(ifa);
        }
        CancelLifetimeCheck(ifa1);
        _ = destroy;
    }

    /// <summary>inetdev_changename: labels follow the device name.</summary>
    internal void InetdevChangeName(InDevice inDev)
    {
        int named = 0;
        foreach (var ifa in inDev.Addrs)
        {
            string old = ifa.Label;
            string label = inDev.Dev.Name;
            if (named++ != 0)
            {
                int dot = old.IndexOf(':');
                string suffix = dot >= 0 ? old[dot..] : ":" + named;
                label = label.Length + suffix.Length < 16 ? label + suffix : label[..(15 - suffix.Length)] + suffix;
            }
            ifa.Label = label;
            Net.Events.Addr(ifa, false);
        }
    }

    // ---- lifetimes (check_lifetime) --------------------------------------------------------

    private Dictionary<InIfAddr, TimerQueue.Timer>? _lifetimeTimers; // made with the first finite lifetime

    private void CancelLifetimeCheck(InIfAddr ifa)
    {
        if (_lifetimeTimers != null && _lifetimeTimers.Remove(ifa, out var t)) TimerQueue.Cancel(t);
    }

    private void ScheduleLifetimeCheck(InIfAddr ifa)
    {
        CancelLifetimeCheck(ifa);
        if (ifa.IsPermanent) return;
        long due;
        if (ifa.PreferredLft != IfAddr.InfinityLifeTime && (ifa.Flags & IFA_F_DEPRECATED) == 0)
            due = ifa.TstampMs + ifa.PreferredLft * Hz;
        else
            due = ifa.TstampMs + ifa.ValidLft * Hz;
        (_lifetimeTimers ??= new())[ifa] = Net.Kernel.Timers.Arm(null, due, () => CheckLifetime(ifa));
    }

    /// <summary>check_lifetime for one address: deprecate at preferred_lft, delete at valid_lft.</summary>
    private void CheckLifetime(InIfAddr ifa)
    {
        _lifetimeTimers?.Remove(ifa);
        if (ifa.Dead || ifa.IsPermanent) return;
        long age = (Net.Kernel.Clock.NowMs - ifa.TstampMs) / Hz;
        if (ifa.ValidLft != IfAddr.InfinityLifeTime && age >= ifa.ValidLft)
        {
            if (ifa.Dev.Ip4 is { } inDev) InetDelIfa(inDev, ifa, true);
            return;
        }
        if (ifa.PreferredLft != IfAddr.InfinityLifeTime && age >= ifa.PreferredLft && (ifa.Flags & IFA_F_DEPRECATED) == 0)
        {
            ifa.Flags |= (uint)IFA_F_DEPRECATED;
            Net.Events.Addr(ifa, false);
        }
        ScheduleLifetimeCheck(ifa);
    }

    /// <summary>inetdev_event: the netdev notifier of devinet.</summary>
    private sealed class InetdevEvent(Ipv4Net v4) : INetdevNotifier
    {
        public void OnNetdevEvent(NetdevEvent ev, NetDevice dev)
        {
            var inDev = dev.Ip4;
            if (inDev == null)
            {
                if (ev == NetdevEvent.Register || (ev == NetdevEvent.ChangeMtu && ValidMtu(dev.Mtu)))
                    v4.InetdevInit(dev);
                return;
            }
            switch (ev)
            {
                case NetdevEvent.Up:
                    if (!ValidMtu(dev.Mtu)) break;
                    if (dev.IsLoopback)
                    {
                        var ifa = new InIfAddr
                        {
                            Dev = dev, Local = 0x7f000001, Address = 0x7f000001, PrefixLen = 8,
                            Mask = Inet.Mask4(8), Scope = (byte)RT_SCOPE_HOST, Label = dev.Name,
                        };
                        v4.SetIfaLifetime(ifa, IfAddr.InfinityLifeTime, IfAddr.InfinityLifeTime);
                        inDev.Cnf.SetAll();
                        v4.InsertIfa(ifa);
                    }
                    v4.IpMcUp(inDev);
                    break;
                case NetdevEvent.Down:
                    v4.IpMcDown(inDev);
                    break;
                case NetdevEvent.ChangeMtu:
                    if (ValidMtu(dev.Mtu)) break;
                    v4.InetdevDestroy(inDev); // disable IP when the MTU is not enough
                    break;
                case NetdevEvent.Unregister:
                    v4.InetdevDestroy(inDev);
                    break;
                case NetdevEvent.ChangeName:
                    v4.InetdevChangeName(inDev);
                    v4.DevinetSysctlUnregister(inDev);
                    v4.DevinetSysctlRegister(inDev);
                    break;
            }
        }
    }
}
