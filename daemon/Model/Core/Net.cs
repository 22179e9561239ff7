using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model;

/// <summary>NETDEV_* events of the netdev notifier chain.</summary>
public enum NetdevEvent
{
    Up, Down, GoingDown, Change, Register, Unregister, ChangeMtu, ChangeAddr, PreChangeAddr,
    ChangeName, PreUp, ChangeUpper, PreChangeUpper, ChangeLowerState, ChangeTxQueueLen, CarrierChange,
    Join, FeatChange, ChangeInfoData,
}

/// <summary>A subsystem listening on the netdev notifier chain (inetdev_event, fib_netdev_event,
/// addrconf_notify, br_device_event...). Handlers run in registration order, as in the kernel.</summary>
public interface INetdevNotifier
{
    void OnNetdevEvent(NetdevEvent ev, NetDevice dev);
}

/// <summary>struct net: one network namespace — its devices, address families and FIBs.</summary>
public sealed partial class Net
{
    public Kernel Kernel { get; }
    internal bool DeferredQueued;
    /// <summary>Internal id, stable for the namespace's life.</summary>
    public int Id { get; }
    /// <summary>ns.inum: what /proc/self/ns/net's inode number would be.</summary>
    public uint Inum { get; }
    public bool Dying { get; private set; }
    /// <summary>The kernel's initial namespace (init_net): some sysctls exist or are writable only there.
    /// Only the root namespace, and only with <see cref="KernelOptions.RootIsInitNet"/>.</summary>
    public bool IsInit { get; }
    /// <summary>This namespace's /proc/sys/net.</summary>
    public VirtKernel.Model.Sysctl.NetSysctl Sysctl { get; }

    private readonly SortedDictionary<int, NetDevice> _byIndex = new();
    private readonly Dictionary<string, NetDevice> _byName = new(StringComparer.Ordinal);
    private int _ifindexNext = 1; // net->ifindex: the next automatic index

    /// <summary>net->ifindex: where the next automatic index allocation starts (state export/import).</summary>
    public int IfindexNext
    {
        get => _ifindexNext;
        set => _ifindexNext = value is >= 1 ? value : 1;
    }
    /// <summary>dev_base_seq: bumped on every device list change (dump consistency).</summary>
    public uint DevBaseSeq { get; private set; } = 1;

    public NetDevice Loopback { get; private set; } = null!;
    public Ipv4.Ipv4Net Ipv4 { get; }
    public Ipv6.Ipv6Net Ipv6 { get; }

    /// <summary>The netdev notifier chain of this namespace, in call order.</summary>
    private readonly List<INetdevNotifier> _netdevChain = new();

    /// <summary>lweventlist: devices whose carrier/dormant state changed, processed by
    /// <see cref="RunLinkWatch"/> in FIFO order like linkwatch_do_dev.</summary>
    private readonly List<NetDevice> _linkWatch = new();

    internal Net(Kernel kernel, int id, uint inum, Net? creator = null)
    {
        Kernel = kernel;
        Id = id;
        Inum = inum;
        // the first namespace of a kernel is its initial one (init_net), if it is to play that part
        IsInit = kernel.InitNet == null && kernel.Options.RootIsInitNet;
        Ipv4 = new Ipv4.Ipv4Net(this);
        Ipv6 = new Ipv6.Ipv6Net(this);
        Neigh = new NeighTables(this);
        Sysctl = new VirtKernel.Model.Sysctl.NetSysctl(this);
        if (!IsInit)
        {
            // devinet_init_net / addrconf_init_net: where conf/all and conf/default start from
            // (an init_net outside the model keeps the compiled-in values: nothing to copy)
            var init = kernel.Options.RootIsInitNet ? kernel.InitNet : null;
            int mode = (int)kernel.HostSysctl.Num("core/devconf_inherit_init_net");
            Ipv4.InheritDevconf(mode, init?.Ipv4, creator?.Ipv4);
            Ipv6.InheritDevconf(mode, init?.Ipv6, creator?.Ipv6);
        }
        // registration order of the kernel's netdev notifiers: fib_rules and nexthop (subsys
        // initcalls), then arp, devinet, fib_frontend (inet_init), then ndisc and addrconf
        _netdevChain.Add(new FibRulesNetdevEvent(this));
        _netdevChain.Add(new NhNetdevEvent(this));
        _netdevChain.Add(Neigh.ArpNotifier);
        _netdevChain.Add(Ipv4.DevinetNotifier);
        _netdevChain.Add(Ipv4.FibNotifier);
        // addrconf before ndisc: on a device going down, rt6_disable_ip (in addrconf_ifdown) takes
        // the IPv6 routes and then the neighbours away before the addresses go, which is the order
        // of the kernel's notifications
        _netdevChain.Add(Ipv6.AddrconfNotifier);
        _netdevChain.Add(Neigh.NdiscNotifier);
        // the link kinds' notifiers (br_device_event, macvlan_device_event, ...) come after the
        // built-in protocols, as modules register theirs later
        foreach (var ops in LinkOps.All)
            if (ops.CreateNotifier(this) is { } n) _netdevChain.Add(n);
    }

    /// <summary>The neighbour tables of the namespace (arp_tbl and nd_tbl entries).</summary>
    public NeighTables Neigh { get; }

    /// <summary>fib_rules_event: rules naming a device attach to it when it appears (or is renamed
    /// to their name) and detach when it goes.</summary>
    private sealed class FibRulesNetdevEvent(Net net) : INetdevNotifier
    {
        public void OnNetdevEvent(NetdevEvent ev, NetDevice dev)
        {
            switch (ev)
            {
                case NetdevEvent.Register:
                    net.Ipv4.Rules.AttachDevice(dev);
                    net.Ipv6.Rules.AttachDevice(dev);
                    break;
                case NetdevEvent.ChangeName:
                    net.Ipv4.Rules.DetachDevice(dev);
                    net.Ipv6.Rules.DetachDevice(dev);
                    net.Ipv4.Rules.AttachDevice(dev);
                    net.Ipv6.Rules.AttachDevice(dev);
                    break;
                case NetdevEvent.Unregister:
                    net.Ipv4.Rules.DetachDevice(dev);
                    net.Ipv6.Rules.DetachDevice(dev);
                    break;
            }
        }
    }

    public INetEvents Events => Kernel.Events;

    internal void Setup()
    {
        // loopback_net_init
        var lo = new NetDevice(LoopbackLinkOpsRef, "lo");
        lo.Ops.Setup(lo);
        Loopback = lo;
        var err = RegisterNetdevice(lo);
        if (err.Failed) throw new InvalidOperationException("cannot register lo: " + err);
    }

    private static LinkOps LoopbackLinkOpsRef => Links.LoopbackLinkOps.Instance;

    internal void Teardown()
    {
        Dying = true;
        UnhashNsids();
        // default_device_exit_batch: every device goes the way its kind deletes it
        var kill = new List<NetDevice>();
        var queued = new HashSet<NetDevice>();
        foreach (var dev in _byIndex.Values.ToList())
        {
            if (dev == Loopback || queued.Contains(dev)) continue;
            int before = kill.Count;
            dev.Ops.DelLink(dev, kill);
            for (int i = before; i < kill.Count; i++) queued.Add(kill[i]);
        }
        // the batch may hold devices of other namespaces (a veth's peer): each leaves its own
        foreach (var group in kill.GroupBy(d => d.Net).ToList())
            group.Key.UnregisterNetdeviceMany(group.ToList());
        UnregisterNetdeviceMany([Loopback]);
        RunLinkWatch();
    }

    // ---- lookups ----------------------------------------------------------------------------

    public int DeviceCount => _byIndex.Count;
    /// <summary>for_each_netdev: devices in ifindex order.</summary>
    public IEnumerable<NetDevice> Devices => _byIndex.Values;
    /// <summary>__dev_get_by_index.</summary>
    public NetDevice? GetDevice(int ifindex) => _byIndex.GetValueOrDefault(ifindex);
    /// <summary>__dev_get_by_name (names and alternative names).</summary>
    public NetDevice? GetDevice(string name) => _byName.GetValueOrDefault(name);
    /// <summary>Devices with an index at or above <paramref name="from"/>, for resumable dumps.</summary>
    public IEnumerable<NetDevice> DevicesFrom(int from)
    {
        foreach (var kv in _byIndex)
            if (kv.Key >= from) yield return kv.Value;
    }

    public void AddNetdevNotifier(INetdevNotifier n) => _netdevChain.Add(n);

    /// <summary>call_netdevice_notifiers.</summary>
    public void CallNetdevNotifiers(NetdevEvent ev, NetDevice dev)
    {
        // rtnetlink_event: registered before every protocol, so its RTM_NEWLINK comes first
        switch (ev)
        {
            case NetdevEvent.ChangeMtu: case NetdevEvent.ChangeAddr: case NetdevEvent.ChangeName:
            case NetdevEvent.ChangeUpper: case NetdevEvent.ChangeLowerState: case NetdevEvent.ChangeTxQueueLen:
                if (dev.RtnlLinkInitialized) Events.Link(dev, false, 0);
                break;
            case NetdevEvent.FeatChange: // rtnl_get_event
                if (dev.RtnlLinkInitialized) Events.LinkEvent(dev, IFLA_EVENT_FEATURES);
                break;
            case NetdevEvent.ChangeInfoData:
                if (dev.RtnlLinkInitialized) Events.LinkEvent(dev, IFLA_EVENT_BONDING_OPTIONS);
                break;
        }
        foreach (var n in _netdevChain) n.OnNetdevEvent(ev, dev);
    }

    // ---- per-namespace state of subsystems (net_generic) --------------------------------------

    private Dictionary<Type, object>? _generic;

    /// <summary>net_generic: a subsystem's per-namespace state, created on first use.</summary>
    public T Generic<T>() where T : class, new()
    {
        _generic ??= new();
        if (!_generic.TryGetValue(typeof(T), out var o)) _generic[typeof(T)] = o = new T();
        return (T)o;
    }

    // ---- names --------------------------------------------------------------------------------

    /// <summary>dev_valid_name.</summary>
    public static bool DevValidName(string name)
    {
        if (name.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(name) >= 16) return false;
        if (name == "." || name == "..") return false;
        foreach (char c in name)
            if (c == '/' || c == ':' || char.IsWhiteSpace(c)) return false;
        return true;
    }

    /// <summary>dev_prep_valid_name / __dev_alloc_name: resolves a "%d" template to the first free
    /// number; checks the name is valid and free.</summary>
    public KErr DevAllocName(string template, out string name)
    {
        name = template;
        int pct = template.IndexOf('%');
        if (pct >= 0)
        {
            if (template.IndexOf('%', pct + 1) >= 0 || pct + 1 >= template.Length || template[pct + 1] != 'd')
                return new KErr(Errno.EINVAL);
            if (!DevValidName(template.Replace("%d", "0"))) return new KErr(Errno.EINVAL);
            for (int i = 0; i < 32768; i++)
            {
                string candidate = template[..pct] + i + template[(pct + 2)..];
                if (!_byName.ContainsKey(candidate)) { name = candidate; return KErr.Ok; }
            }
            return new KErr(Errno.ENFILE);
        }
        if (!DevValidName(template)) return new KErr(Errno.EINVAL);
        if (_byName.ContainsKey(template)) return new KErr(Errno.EEXIST);
        return KErr.Ok;
    }

    // ---- registration -------------------------------------------------------------------------

    internal void ReserveIfindexFor(NetDevice dev) => ReserveIfindex(dev);

    /// <summary>list_netdevice: a device (moved in) enters the tables.</summary>
    internal void List(NetDevice dev)
    {
        _byIndex.Add(dev.Ifindex, dev);
        _byName.Add(dev.Name, dev);
        foreach (var alt in dev.AltNames) _byName[alt] = dev;
        DevBaseSeq++;
    }

    /// <summary>dev_index_reserve: an explicit index must be free; automatic ones continue after the
    /// last automatic one and are never reused.</summary>
    private KErr ReserveIfindex(NetDevice dev)
    {
        if (dev.Ifindex > 0)
        {
            if (_byIndex.ContainsKey(dev.Ifindex)) return new KErr(Errno.EEXIST);
            return KErr.Ok;
        }
        // xa_alloc_cyclic(&net->dev_by_index, ..., XA_LIMIT(1, INT_MAX), &net->ifindex)
        int idx = _ifindexNext;
        while (_byIndex.ContainsKey(idx)) idx = idx == int.MaxValue ? 1 : idx + 1;
        dev.Ifindex = idx;
        _ifindexNext = idx == int.MaxValue ? 1 : idx + 1;
        return KErr.Ok;
    }

    /// <summary>register_netdevice: name and index checks, the device enters the namespace, the
    /// protocols attach (NETDEV_REGISTER), RTM_NEWLINK is sent.</summary>
    public KErr RegisterNetdevice(NetDevice dev)
    {
        var err = DevAllocName(dev.Name, out var name);
        if (err.Failed) return err;
        dev.Name = name;
        err = ReserveIfindex(dev);
        if (err.Failed) return err;
        dev.Net = this;
        _byIndex.Add(dev.Ifindex, dev);
        _byName.Add(dev.Name, dev);
        foreach (var alt in dev.AltNames) _byName[alt] = dev;
        DevBaseSeq++;
        dev.RegState = RegState.Registered;
        // linkwatch_init_dev: pre-registration carrier state is applied at once
        if (!dev.Carrier || dev.Dormant || dev.Testing) Rfc2863Policy(dev);
        CallNetdevNotifiers(NetdevEvent.Register, dev);
        if (dev.RtnlLinkInitialized) Events.Link(dev, false, ~0u);
        return KErr.Ok;
    }

    /// <summary>unregister_netdevice_many: close, notify NETDEV_UNREGISTER, send RTM_DELLINK,
    /// forget the devices.</summary>
    public void UnregisterNetdeviceMany(List<NetDevice> devs)
    {
        if (devs.Count == 0) return;
        DevCloseMany(devs);
        foreach (var dev in devs)
        {
            if (dev.RegState != RegState.Registered) continue;
            Unlist(dev);
            dev.RegState = RegState.Unregistering;
        }
        foreach (var dev in devs)
            if (dev.RegState == RegState.Unregistering) UnregisterFinish(dev);
    }

    /// <summary>The last steps of unregister_netdevice_many for one unlisted device.</summary>
    private void UnregisterFinish(NetDevice dev)
    {
        // dev_shutdown: the qdisc is back to noop before anybody hears of the device's end
        dev.Qdisc = "noop";
        // NETDEV_UNREGISTER: protocols let go; a master releases the port (br_del_if) and the
        // devices stacked on this one go with it (macvlan, vlan, vxlan notifiers)
        CallNetdevNotifiers(NetdevEvent.Unregister, dev);
        if (dev.RtnlLinkInitialized) Events.Link(dev, true, ~0u);
        dev.Ops.Uninit(dev);
        dev.RegState = RegState.Unregistered;
        _linkWatch.Remove(dev);
    }

    /// <summary>unregister_netdevice_many of devices in several namespaces (a veth and its peer
    /// elsewhere): closed per namespace, then unlisted and announced in the list's order, as the
    /// kernel's single list goes.</summary>
    private static void UnregisterNetdeviceManyAcross(List<NetDevice> devs)
    {
        foreach (var g in devs.GroupBy(d => d.Net)) g.Key.DevCloseMany(g.ToList());
        foreach (var dev in devs)
        {
            if (dev.RegState != RegState.Registered) continue;
            dev.Net.Unlist(dev);
            dev.RegState = RegState.Unregistering;
        }
        foreach (var dev in devs)
            if (dev.RegState == RegState.Unregistering) dev.Net.UnregisterFinish(dev);
    }

    private void Unlist(NetDevice dev)
    {
        _byIndex.Remove(dev.Ifindex);
        _byName.Remove(dev.Name);
        foreach (var alt in dev.AltNames) _byName.Remove(alt);
        DevBaseSeq++;
    }

    /// <summary>rtnl_dellink's core: the kind decides what goes with the device (a veth's peer).</summary>
    public KErr DelLink(NetDevice dev)
    {
        if (!dev.Ops.CanCreate) return new KErr(Errno.EOPNOTSUPP);
        var kill = new List<NetDevice>();
        dev.Ops.DelLink(dev, kill);
        if (kill.Exists(k => k.Net != this)) UnregisterNetdeviceManyAcross(kill);
        else UnregisterNetdeviceMany(kill);
        return KErr.Ok;
    }

    // ---- open / close / flags ---------------------------------------------------------------

    /// <summary>__dev_open.</summary>
    public KErr DevOpen(NetDevice dev)
    {
        if (dev.IsUp) return KErr.Ok;
        // NETDEV_PRE_UP notifiers may veto; none of ours does
        var err = dev.Ops.Open(dev);
        if (err.Failed) return err;
        dev.Flags |= (uint)IFF_UP;
        DevSetRxMode(dev);
        // dev_activate: attach the default qdisc on first open
        if (dev.Qdisc == "noop")
            dev.Qdisc = (dev.PrivFlags & PrivFlags.NoQueue) != 0 || dev.TxQueueLen == 0 ? "noqueue" : "pfifo_fast";
        return KErr.Ok;
    }

    /// <summary>__dev_close_many: NETDEV_GOING_DOWN and ndo_stop for each running device.</summary>
    private List<NetDevice> CloseCore(List<NetDevice> devs)
    {
        var closing = devs.Where(d => d.IsUp && d.RegState == RegState.Registered).ToList();
        foreach (var dev in closing) CallNetdevNotifiers(NetdevEvent.GoingDown, dev);
        foreach (var dev in closing)
        {
            dev.Ops.Stop(dev);
            dev.Flags &= ~(uint)IFF_UP;
        }
        return closing;
    }

    /// <summary>dev_close_many: close, then RTM_NEWLINK and NETDEV_DOWN per device.</summary>
    public void DevCloseMany(List<NetDevice> devs)
    {
        var closing = CloseCore(devs);
        foreach (var dev in closing)
        {
            // dev_close_many: rtmsg_ifinfo(RTM_NEWLINK, dev, IFF_UP|IFF_RUNNING) then NETDEV_DOWN
            Events.Link(dev, false, (uint)(IFF_UP | IFF_RUNNING));
            CallNetdevNotifiers(NetdevEvent.Down, dev);
        }
    }

    /// <summary>dev_change_flags: __dev_change_flags, then __dev_notify_flags with every change.</summary>
    public KErr DevChangeFlags(NetDevice dev, uint flags)
    {
        uint oldFlags = dev.Flags, oldGFlags = dev.GFlags;
        var ret = ChangeFlagsCore(dev, flags);
        if (ret.Failed) return ret;
        uint changes = (oldFlags ^ dev.Flags) | (oldGFlags ^ dev.GFlags);
        NotifyFlags(dev, oldFlags, changes);
        return ret;
    }

    /// <summary>__dev_change_flags.</summary>
    internal KErr ChangeFlagsCore(NetDevice dev, uint flags)
    {
        uint oldFlags = dev.Flags;
        const uint settable = (uint)(IFF_DEBUG | IFF_NOTRAILERS | IFF_NOARP | IFF_DYNAMIC | IFF_MULTICAST |
                                     IFF_PORTSEL | IFF_AUTOMEDIA);
        dev.Flags = (flags & settable) | (dev.Flags & ((uint)(IFF_UP | IFF_PROMISC | IFF_ALLMULTI) | IFF_VOLATILE));

        KErr ret = KErr.Ok;
        if (((oldFlags ^ flags) & IFF_UP) != 0)
        {
            if ((oldFlags & IFF_UP) != 0) CloseCore([dev]);
            else ret = DevOpen(dev);
        }
        if (((flags ^ dev.GFlags) & IFF_PROMISC) != 0)
        {
            dev.GFlags ^= (uint)IFF_PROMISC;
            SetPromiscuityCore(dev, (flags & IFF_PROMISC) != 0 ? 1 : -1, notify: false);
        }
        if (((flags ^ dev.GFlags) & IFF_ALLMULTI) != 0)
        {
            dev.GFlags ^= (uint)IFF_ALLMULTI;
            SetAllmultiCore(dev, (flags & IFF_ALLMULTI) != 0 ? 1 : -1, notify: false);
        }
        return ret;
    }

    /// <summary>__dev_notify_flags.</summary>
    internal void NotifyFlags(NetDevice dev, uint oldFlags, uint gchanges, bool report = true)
    {
        uint changes = dev.Flags ^ oldFlags;
        if (gchanges != 0)
        {
            if (report) Events.Link(dev, false, gchanges);
            else Events.LinkUnreported(dev, gchanges);
        }
        if ((changes & IFF_UP) != 0)
            CallNetdevNotifiers(dev.IsUp ? NetdevEvent.Up : NetdevEvent.Down, dev);
        if (dev.IsUp && (changes & ~((uint)(IFF_UP | IFF_PROMISC | IFF_ALLMULTI) | IFF_VOLATILE)) != 0)
            CallNetdevNotifiers(NetdevEvent.Change, dev);
    }

    /// <summary>netdev_state_change: NETDEV_CHANGE and RTM_NEWLINK for a running device.</summary>
    public void NetdevStateChange(NetDevice dev)
    {
        if (!dev.IsUp) return;
        CallNetdevNotifiers(NetdevEvent.Change, dev);
        Events.Link(dev, false, 0);
    }

    private const uint IFF_VOLATILE = (uint)(IFF_LOOPBACK | IFF_POINTOPOINT | IFF_BROADCAST | IFF_ECHO |
                                             IFF_MASTER | IFF_SLAVE | IFF_RUNNING | IFF_LOWER_UP | IFF_DORMANT);

    /// <summary>dev_set_promiscuity: a counted reference (bridge ports, stacked devices), with the
    /// RTM_NEWLINK the kernel sends for it.</summary>
    public KErr DevSetPromiscuity(NetDevice dev, int inc) => SetPromiscuityCore(dev, inc, notify: true);

    /// <summary>dev_set_allmulti.</summary>
    public KErr DevSetAllmulti(NetDevice dev, int inc) => SetAllmultiCore(dev, inc, notify: true);

    /// <summary>__dev_set_promiscuity.</summary>
    private KErr SetPromiscuityCore(NetDevice dev, int inc, bool notify)
    {
        uint oldFlags = dev.Flags;
        uint promiscuity = (uint)((int)dev.Promiscuity + inc);
        if (promiscuity == 0 && inc > 0) return new KErr(Errno.EOVERFLOW);
        uint flags = promiscuity != 0 ? dev.Flags | (uint)IFF_PROMISC : dev.Flags & ~(uint)IFF_PROMISC;
        dev.Promiscuity = promiscuity;
        if (flags != oldFlags)
        {
            dev.Flags = flags;
            dev.Ops.ChangeRxFlags(dev, (uint)IFF_PROMISC); // dev_change_rx_flags
        }
        if (notify) NotifyFlags(dev, oldFlags, (uint)IFF_PROMISC);
        return KErr.Ok;
    }

    /// <summary>dev_uc_add: a secondary unicast address (refcounted), then the rx mode.</summary>
    public void DevUcAdd(NetDevice dev, ReadOnlySpan<byte> addr)
    {
        dev.Uc.Add(addr.ToArray());
        DevSetRxMode(dev);
    }

    /// <summary>dev_uc_del: 0, or -ENOENT when the address is not listed.</summary>
    public int DevUcDel(NetDevice dev, ReadOnlySpan<byte> addr)
    {
        int err = dev.Uc.Del(addr);
        if (err == 0) DevSetRxMode(dev);
        return err;
    }

    /// <summary>dev_uc_add_excl: the user's own unicast address (the default fdb's `self` entries).</summary>
    public int DevUcAddExcl(NetDevice dev, byte[] addr)
    {
        int err = dev.Uc.AddExcl(addr);
        if (err == 0) DevSetRxMode(dev);
        return err;
    }

    /// <summary>dev_mc_add_excl.</summary>
    public int DevMcAddExcl(NetDevice dev, byte[] addr)
    {
        int err = dev.Mc.AddExcl(addr);
        if (err == 0) DevSetRxMode(dev);
        return err;
    }

    /// <summary>dev_mc_del.</summary>
    public int DevMcDel(NetDevice dev, ReadOnlySpan<byte> addr)
    {
        int err = dev.Mc.Del(addr);
        if (err == 0) DevSetRxMode(dev);
        return err;
    }

    /// <summary>__dev_set_rx_mode: a running device that cannot filter unicast goes promiscuous
    /// while it has secondary unicast addresses.</summary>
    public void DevSetRxMode(NetDevice dev)
    {
        if (!dev.IsUp || (dev.PrivFlags & PrivFlags.UnicastFlt) != 0) return;
        if (dev.Uc.Count != 0 && !dev.UcPromisc)
        {
            SetPromiscuityCore(dev, 1, notify: false);
            dev.UcPromisc = true;
        }
        else if (dev.Uc.Count == 0 && dev.UcPromisc)
        {
            SetPromiscuityCore(dev, -1, notify: false);
            dev.UcPromisc = false;
        }
    }

    /// <summary>__dev_set_allmulti.</summary>
    private KErr SetAllmultiCore(NetDevice dev, int inc, bool notify)
    {
        uint oldFlags = dev.Flags, oldGFlags = dev.GFlags;
        uint allmulti = (uint)((int)dev.Allmulti + inc);
        if (allmulti == 0 && inc > 0) return new KErr(Errno.EOVERFLOW);
        uint flags = allmulti != 0 ? dev.Flags | (uint)IFF_ALLMULTI : dev.Flags & ~(uint)IFF_ALLMULTI;
        dev.Allmulti = allmulti;
        if (flags != oldFlags)
        {
            dev.Flags = flags;
            dev.Ops.ChangeRxFlags(dev, (uint)IFF_ALLMULTI);
            if (notify) NotifyFlags(dev, oldFlags, dev.GFlags ^ oldGFlags);
        }
        return KErr.Ok;
    }

    // ---- stacking (netdev_upper_dev_link) -------------------------------------------------------

    /// <summary>netdev_has_upper_dev: is <paramref name="upper"/> anywhere above <paramref name="dev"/>?</summary>
    public static bool HasUpperDev(NetDevice dev, NetDevice upper)
    {
        foreach (var u in dev.Uppers)
            if (u == upper || HasUpperDev(u, upper)) return true;
        return false;
    }

    /// <summary>__netdev_upper_dev_link: <paramref name="upper"/> is stacked on <paramref name="dev"/>
    /// (as its master when <paramref name="master"/>). NETDEV_PRECHANGEUPPER and NETDEV_CHANGEUPPER
    /// go to the lower device, which sends it an RTM_NEWLINK.</summary>
    public KErr NetdevUpperDevLink(NetDevice dev, NetDevice upper, bool master)
    {
        if (dev == upper) return new KErr(Errno.EBUSY);
        // to prevent loops, dev must not already be above upper
        if (HasUpperDev(upper, dev)) return new KErr(Errno.EBUSY);
        if (LowerLevel(dev) + UpperLevel(upper) > MaxNestDev) return new KErr(Errno.EMLINK);
        if (!master)
        {
            if (HasUpperDev(dev, upper)) return new KErr(Errno.EEXIST);
        }
        else if (dev.Master != null) return new KErr(dev.Master == upper ? Errno.EEXIST : Errno.EBUSY);
        CallNetdevNotifiers(NetdevEvent.PreChangeUpper, dev);
        dev.Uppers.Add(upper);
        upper.Lowers.Add(dev);
        if (master) dev.Master = upper;
        CallNetdevNotifiers(NetdevEvent.ChangeUpper, dev);
        return KErr.Ok;
    }

    /// <summary>MAX_NEST_DEV: how deep devices may stack.</summary>
    private const int MaxNestDev = 8;

    /// <summary>dev->upper_level: 1 plus the deepest stack above.</summary>
    private static int UpperLevel(NetDevice dev)
    {
        int max = 0;
        foreach (var u in dev.Uppers) max = Math.Max(max, UpperLevel(u));
        return max + 1;
    }

    /// <summary>dev->lower_level: 1 plus the deepest stack below.</summary>
    private static int LowerLevel(NetDevice dev)
    {
        int max = 0;
        foreach (var l in dev.Lowers) max = Math.Max(max, LowerLevel(l));
        return max + 1;
    }

    /// <summary>netdev_upper_dev_unlink.</summary>
    public void NetdevUpperDevUnlink(NetDevice dev, NetDevice upper)
    {
        if (!dev.Uppers.Contains(upper)) return;
        CallNetdevNotifiers(NetdevEvent.PreChangeUpper, dev);
        dev.Uppers.Remove(upper);
        upper.Lowers.Remove(dev);
        if (dev.Master == upper) dev.Master = null;
        CallNetdevNotifiers(NetdevEvent.ChangeUpper, dev);
    }

    /// <summary>netif_stacked_transfer_operstate: a stacked device takes its lower's carrier and
    /// dormant/testing state.</summary>
    public void NetifStackedTransferOperstate(NetDevice root, NetDevice dev)
    {
        NetifSetDormant(dev, root.OperState == IF_OPER_DORMANT);
        NetifSetTesting(dev, root.OperState == IF_OPER_TESTING);
        if (root.Carrier) NetifCarrierOn(dev);
        else NetifCarrierOff(dev);
    }

    /// <summary>netif_inherit_tso_max.</summary>
    public static void NetifInheritTsoMax(NetDevice to, NetDevice from)
    {
        NetifSetTsoMaxSize(to, from.TsoMaxSize);
        to.TsoMaxSegs = from.TsoMaxSegs;
    }

    /// <summary>netif_set_tso_max_size: capped at GSO_MAX_SIZE; lowers gso_max_size if above.</summary>
    public static void NetifSetTsoMaxSize(NetDevice dev, uint size)
    {
        dev.TsoMaxSize = Math.Min(Links.Setup.GsoMaxSize, size);
        if (size < dev.GsoMaxSize) dev.GsoMaxSize = size;
        if (size < dev.GsoIpv4MaxSize) dev.GsoIpv4MaxSize = size;
    }

    // ---- attributes ------------------------------------------------------------------------

    /// <summary>dev_validate_mtu.</summary>
    public static KErr DevValidateMtu(NetDevice dev, uint mtu)
    {
        if (mtu < dev.MinMtu) return new KErr(Errno.EINVAL, "mtu less than device minimum");
        if (dev.MaxMtu > 0 && mtu > dev.MaxMtu) return new KErr(Errno.EINVAL, "mtu greater than device maximum");
        return KErr.Ok;
    }

    /// <summary>dev_set_mtu_ext.</summary>
    public KErr DevSetMtu(NetDevice dev, uint mtu)
    {
        if (mtu == dev.Mtu) return KErr.Ok;
        var err = DevValidateMtu(dev, mtu);
        if (err.Failed) return err;
        if (!dev.IsRegistered) return new KErr(Errno.ENODEV);
        uint old = dev.Mtu;
        err = dev.Ops.ChangeMtu(dev, mtu);
        if (err.Failed) return err;
        CallNetdevNotifiers(NetdevEvent.ChangeMtu, dev);
        _ = old;
        return KErr.Ok;
    }

    /// <summary>dev_set_mac_address.</summary>
    public KErr DevSetMacAddress(NetDevice dev, byte[] addr)
    {
        if (addr.Length != dev.AddrLen) return new KErr(Errno.EINVAL);
        if (dev.DevAddr.AsSpan().SequenceEqual(addr)) return KErr.Ok;
        CallNetdevNotifiers(NetdevEvent.PreChangeAddr, dev);
        var err = dev.Ops.SetMacAddress(dev, addr);
        if (err.Failed) return err;
        dev.AddrAssignType = NetAddrAssign.Set;
        CallNetdevNotifiers(NetdevEvent.ChangeAddr, dev);
        return KErr.Ok;
    }

    /// <summary>dev_change_name.</summary>
    public KErr DevChangeName(NetDevice dev, string newName)
    {
        if (newName == dev.Name) return KErr.Ok;
        var err = DevAllocName(newName, out var name);
        if (err.Failed) return err;
        string old = dev.Name;
        _byName.Remove(old);
        dev.Name = name;
        _byName[name] = dev;
        DevBaseSeq++;
        CallNetdevNotifiers(NetdevEvent.ChangeName, dev);
        _ = old;
        return KErr.Ok;
    }

    /// <summary>netdev_name_node_alt_create.</summary>
    public KErr AddAltName(NetDevice dev, string name)
    {
        // unlike dev->name, an alternative name is not checked by dev_valid_name: anything up
        // to ALTIFNAMSIZ - 1 bytes that no device uses yet
        if (_byName.ContainsKey(name)) return new KErr(Errno.EEXIST);
        dev.AltNames.Add(name);
        _byName[name] = dev;
        return KErr.Ok;
    }

    /// <summary>netdev_name_node_alt_destroy.</summary>
    public KErr DelAltName(NetDevice dev, string name)
    {
        if (!_byName.TryGetValue(name, out var owner) || owner != dev) return new KErr(Errno.ENOENT);
        if (name == dev.Name) return new KErr(Errno.EINVAL);
        dev.AltNames.Remove(name);
        _byName.Remove(name);
        return KErr.Ok;
    }

    /// <summary>do_set_proto_down: only drivers that allow it (macvlan, vxlan); a reason mask
    /// updates single bits; protodown cannot be cleared while reasons are active.</summary>
    public KErr DoSetProtoDown(NetDevice dev, bool? protoDown, (uint Value, uint? Mask)? reason)
    {
        if (!dev.ChangeProtoDown) return new KErr(Errno.EOPNOTSUPP, "Protodown not supported by device");
        if (reason is var (value, mask))
        {
            // netdev_change_proto_down_reason_locked
            if (mask is not uint m || m == 0) dev.ProtoDownReason = value;
            else dev.ProtoDownReason = (dev.ProtoDownReason & ~m) | (value & m);
        }
        if (protoDown is bool pd)
        {
            if (!pd && dev.ProtoDownReason != 0)
                return new KErr(Errno.EBUSY, "Cannot clear protodown, active reasons");
            // netif_change_proto_down
            if (pd) NetifCarrierOff(dev);
            else NetifCarrierOn(dev);
            dev.ProtoDown = pd;
        }
        return KErr.Ok;
    }

    /// <summary>dev_change_tx_queue_len.</summary>
    public KErr DevChangeTxQueueLen(NetDevice dev, uint len)
    {
        if (len == dev.TxQueueLen) return KErr.Ok;
        if (len > int.MaxValue) return new KErr(Errno.ERANGE);
        dev.TxQueueLen = len;
        CallNetdevNotifiers(NetdevEvent.ChangeTxQueueLen, dev);
        return KErr.Ok;
    }

    // ---- carrier and operstate ----------------------------------------------------------------

    /// <summary>netif_carrier_on.</summary>
    public void NetifCarrierOn(NetDevice dev)
    {
        if (dev.Carrier) return;
        dev.Carrier = true;
        if (dev.RegState == RegState.Uninitialized) return;
        dev.CarrierUpCount++;
        LinkWatchFireEvent(dev);
    }

    /// <summary>netif_carrier_off.</summary>
    public void NetifCarrierOff(NetDevice dev)
    {
        if (!dev.Carrier) return;
        dev.Carrier = false;
        if (dev.RegState == RegState.Uninitialized) return;
        dev.CarrierDownCount++;
        LinkWatchFireEvent(dev);
    }

    /// <summary>netif_dormant_on/off.</summary>
    public void NetifSetDormant(NetDevice dev, bool on)
    {
        if (dev.Dormant == on) return;
        dev.Dormant = on;
        LinkWatchFireEvent(dev);
    }

    /// <summary>netif_testing_on/off.</summary>
    public void NetifSetTesting(NetDevice dev, bool on)
    {
        if (dev.Testing == on) return;
        dev.Testing = on;
        LinkWatchFireEvent(dev);
    }

    /// <summary>linkwatch_fire_event.</summary>
    public void LinkWatchFireEvent(NetDevice dev)
    {
        if (dev.LinkWatchPending) return;
        dev.LinkWatchPending = true;
        _linkWatch.Add(dev);
        Kernel.MarkDeferred(this);
    }

    /// <summary>default_operstate.</summary>
    private byte DefaultOperState(NetDevice dev)
    {
        if (dev.Testing) return (byte)IF_OPER_TESTING;
        if (!dev.Carrier)
        {
            int iflink = dev.IfLink;
            if (iflink == dev.Ifindex) return (byte)IF_OPER_DOWN;
            var peer = LinkPeer(dev, iflink);
            if (peer == null) return (byte)IF_OPER_DOWN;
            return peer.Carrier ? (byte)IF_OPER_DOWN : (byte)IF_OPER_LOWERLAYERDOWN;
        }
        if (dev.Dormant) return (byte)IF_OPER_DORMANT;
        return (byte)IF_OPER_UP;
    }

    private NetDevice? LinkPeer(NetDevice dev, int iflink)
    {
        var net = dev.Ops.GetLinkNet(dev) ?? this;
        return net.GetDevice(iflink);
    }

    /// <summary>rfc2863_policy.</summary>
    public void Rfc2863Policy(NetDevice dev)
    {
        byte op = DefaultOperState(dev);
        if (op == dev.OperState) return;
        if (dev.LinkMode == IF_LINK_MODE_TESTING && op == IF_OPER_UP) op = (byte)IF_OPER_TESTING;
        else if (dev.LinkMode == IF_LINK_MODE_DORMANT && op == IF_OPER_UP) op = (byte)IF_OPER_DORMANT;
        dev.OperState = op;
    }

    /// <summary>Runs the pending linkwatch events (linkwatch_do_dev for each, in order). The server
    /// runs this after each request, as the kernel's linkwatch work runs right after rtnl_unlock.</summary>
    public void RunLinkWatch()
    {
        for (int i = 0; i < _linkWatch.Count; i++)
        {
            var dev = _linkWatch[i];
            dev.LinkWatchPending = false;
            if (dev.RegState != RegState.Registered) continue;
            Rfc2863Policy(dev);
            if (dev.IsUp)
            {
                // netdev_state_change
                CallNetdevNotifiers(NetdevEvent.Change, dev);
                Events.Link(dev, false, 0);
            }
        }
        _linkWatch.Clear();
    }

    public bool LinkWatchPendingAny => _linkWatch.Count > 0;
}
