using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model;

/// <summary>NETDEV_* events of the netdev notifier chain.</summary>
public enum NetdevEvent
{
    Up, Down, GoingDown, Change, Register, Unregister, ChangeMtu, ChangeAddr, PreChangeAddr,
    ChangeName, PreUp, ChangeUpper, ChangeLowerState, ChangeTxQueueLen, CarrierChange,
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
    /// <summary>Internal id, stable for the namespace's life.</summary>
    public int Id { get; }
    /// <summary>ns.inum: what /proc/self/ns/net's inode number would be.</summary>
    public uint Inum { get; }
    public bool Dying { get; private set; }

    private readonly SortedDictionary<int, NetDevice> _byIndex = new();
    private readonly Dictionary<string, NetDevice> _byName = new(StringComparer.Ordinal);
    private int _ifindexNext = 1; // net->ifindex: the next automatic index
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

    internal Net(Kernel kernel, int id, uint inum)
    {
        Kernel = kernel;
        Id = id;
        Inum = inum;
        Ipv4 = new Ipv4.Ipv4Net(this);
        Ipv6 = new Ipv6.Ipv6Net(this);
        Neigh = new NeighTables(this);
        // registration order of the kernel's netdev notifiers: fib_rules and nexthop (subsys
        // initcalls), then arp, devinet, fib_frontend (inet_init), then ndisc and addrconf
        _netdevChain.Add(new FibRulesNetdevEvent(this));
        _netdevChain.Add(new NhNetdevEvent(this));
        _netdevChain.Add(Neigh.ArpNotifier);
        _netdevChain.Add(Ipv4.DevinetNotifier);
        _netdevChain.Add(Ipv4.FibNotifier);
        _netdevChain.Add(Neigh.NdiscNotifier);
        _netdevChain.Add(Ipv6.AddrconfNotifier);
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
        var kill = new List<NetDevice>();
        foreach (var dev in _byIndex.Values.ToList())
        {
            if (dev == Loopback || kill.Contains(dev)) continue;
            dev.Ops.DelLink(dev, kill);
        }
        UnregisterNetdeviceMany(kill);
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
        }
        foreach (var n in _netdevChain) n.OnNetdevEvent(ev, dev);
        // kinds stacked on this device (macvlan, vxlan...) and masters hear about it too
        foreach (var other in _byIndex.Values.ToArray())
            if (other != dev) other.Ops.OnNetdevEvent(other, ev, dev);
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
        {
            if (dev.RegState != RegState.Unregistering) continue;
            // the master lets go of its port first (netdev_upper_dev_unlink via the bridge's notifier)
            if (dev.Master != null) dev.Master.Ops.DelSlave(dev.Master, dev);
            CallNetdevNotifiers(NetdevEvent.Unregister, dev);
            if (dev.RtnlLinkInitialized) Events.Link(dev, true, ~0u);
            dev.RegState = RegState.Unregistered;
            _linkWatch.Remove(dev);
        }
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
        foreach (var k in kill.ToList())
            if (k.Net != this) { k.Net.UnregisterNetdeviceMany([k]); kill.Remove(k); }
        UnregisterNetdeviceMany(kill);
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
            DevSetPromiscuity(dev, (flags & IFF_PROMISC) != 0 ? 1 : -1);
        }
        if (((flags ^ dev.GFlags) & IFF_ALLMULTI) != 0)
        {
            dev.GFlags ^= (uint)IFF_ALLMULTI;
            DevSetAllmulti(dev, (flags & IFF_ALLMULTI) != 0 ? 1 : -1);
        }
        return ret;
    }

    /// <summary>__dev_notify_flags.</summary>
    internal void NotifyFlags(NetDevice dev, uint oldFlags, uint gchanges)
    {
        uint changes = dev.Flags ^ oldFlags;
        if (gchanges != 0) Events.Link(dev, false, gchanges);
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

    /// <summary>__dev_set_promiscuity.</summary>
    public void DevSetPromiscuity(NetDevice dev, int inc)
    {
        dev.Promiscuity = (uint)Math.Max(0, (int)dev.Promiscuity + inc);
        if (dev.Promiscuity > 0) dev.Flags |= (uint)IFF_PROMISC;
        else dev.Flags &= ~(uint)IFF_PROMISC;
    }

    /// <summary>__dev_set_allmulti.</summary>
    public void DevSetAllmulti(NetDevice dev, int inc)
    {
        dev.Allmulti = (uint)Math.Max(0, (int)dev.Allmulti + inc);
        if (dev.Allmulti > 0) dev.Flags |= (uint)IFF_ALLMULTI;
        else dev.Flags &= ~(uint)IFF_ALLMULTI;
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
        if (!DevValidName(name)) return new KErr(Errno.EINVAL);
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

    /// <summary>linkwatch_fire_event.</summary>
    public void LinkWatchFireEvent(NetDevice dev)
    {
        if (dev.LinkWatchPending) return;
        dev.LinkWatchPending = true;
        _linkWatch.Add(dev);
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
