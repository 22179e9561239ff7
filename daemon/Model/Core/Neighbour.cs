using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model;

/// <summary>struct neighbour (and struct pneigh_entry when <see cref="IsProxy"/>): one entry of a
/// neighbour table. The key is stored as <see cref="Inet"/> stores addresses.</summary>
public sealed class Neighbour
{
    public required NeighTable Table;
    public required UInt128 Key;
    /// <summary>The device; null only for a proxy entry without device.</summary>
    public NetDevice? Dev;
    public ushort State;               // NUD_*
    public uint Flags;                 // NTF_* (NTF_EXT_* shifted above bit 8)
    public byte[]? Lladdr;
    public byte Type = (byte)RTN_UNICAST;
    public byte Protocol;
    public bool IsProxy;
    public bool ProxyPermanent;
    public long ConfirmedMs, UpdatedMs, UsedMs;
    public uint Probes;
    public bool Dead;
    internal long Seq;
    internal TimerQueue.Timer? Timer;

    public byte Family => Table.Family;

    public override string ToString() =>
        $"{(Family == AF_INET ? Inet.FormatV4((uint)Key) : Inet.FormatV6(Key))} dev {Dev?.Name} state {State:x}";
}

/// <summary>struct neigh_table (arp_tbl / nd_tbl) as one namespace sees it: the entries, the proxy
/// entries, neigh_add/neigh_delete/__neigh_update and what devices going down do.</summary>
public sealed class NeighTable
{
    public const ushort NudInTimer = (ushort)(NUD_INCOMPLETE | NUD_REACHABLE | NUD_DELAY | NUD_PROBE);
    public const ushort NudValid = (ushort)(NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY);
    public const ushort NudConnected = (ushort)(NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE);

    // NEIGH_UPDATE_F_*
    public const uint UpdOverride = 1u << 0, UpdWeakOverride = 1u << 1, UpdOverrideIsRouter = 1u << 2,
        UpdUse = 1u << 3, UpdManaged = 1u << 4, UpdExtLearned = 1u << 5, UpdIsRouter = 1u << 6, UpdAdmin = 1u << 7;

    /// <summary>BASE_REACHABLE_TIME, DELAY_PROBE_TIME, RETRANS_TIME (ms) and the probe counts of
    /// the default neigh_parms.</summary>
    public const long BaseReachableMs = 30000, DelayProbeMs = 5000, RetransMs = 1000;
    public const int UcastProbes = 3, McastProbes = 3;

    // made with their first entry: most tables of most namespaces stay empty
    private Dictionary<(UInt128, int), Neighbour>? _byKey;
    private SortedIndex<long, Neighbour>? _entries;
    private Dictionary<(UInt128, int), Neighbour>? _proxyByKey;
    private SortedIndex<long, Neighbour>? _proxies;
    private long _seq;

    public NeighTable(Net net, byte family)
    {
        Net = net;
        Family = family;
    }

    public Net Net { get; }
    public byte Family { get; }
    public int KeyLen => Family == AF_INET ? 4 : 16;
    public int Count => _entries?.Count ?? 0;

    public SortedIndex<long, Neighbour> Entries => _entries ??= new();
    public SortedIndex<long, Neighbour> Proxies => _proxies ??= new();

    /// <summary>neigh_lookup.</summary>
    public Neighbour? Lookup(UInt128 key, NetDevice dev) => _byKey?.GetValueOrDefault((HashKey(key, dev), dev.Ifindex));

    /// <summary>The key the constructor stores (arp_constructor keys loopback and point-to-point
    /// entries by INADDR_ANY).</summary>
    private UInt128 HashKey(UInt128 key, NetDevice dev) =>
        Family == AF_INET && (dev.IsLoopback || (dev.Flags & IFF_POINTOPOINT) != 0) ? UInt128.Zero : key;

    /// <summary>pneigh_lookup.</summary>
    public Neighbour? ProxyLookup(UInt128 key, NetDevice? dev) => _proxyByKey?.GetValueOrDefault((key, dev?.Ifindex ?? 0));

    /// <summary>tbl->allow_add (ndisc_allow_add).</summary>
    public KErr AllowAdd(NetDevice dev)
    {
        if (Family == AF_INET6 && (dev.Ip6 == null || dev.Ip6.Cnf[DEVCONF_DISABLE_IPV6] != 0))
            return new KErr(Errno.EINVAL, "IPv6 is disabled on this device");
        return KErr.Ok;
    }

    /// <summary>___neigh_create with the family constructor (arp_constructor / ndisc_constructor).</summary>
    public KErr Create(UInt128 key, NetDevice dev, uint flags, out Neighbour? n)
    {
        n = null;
        UInt128 k = HashKey(key, dev);
        var ne = new Neighbour { Table = this, Key = k, Dev = dev, State = (ushort)NUD_NONE, Flags = flags };
        long now = Net.Kernel.Clock.NowMs;
        ne.UsedMs = ne.UpdatedMs = now;
        ne.ConfirmedMs = now - 2 * BaseReachableMs;
        if (Family == AF_INET)
        {
            if (dev.Ip4 == null) return new KErr(Errno.EINVAL);
            uint a = (uint)k;
            ne.Type = (byte)Net.Ipv4.InetAddrTypeDevTable(dev, a);
            if (ne.Type == RTN_MULTICAST)
            {
                ne.State = (ushort)NUD_NOARP;
                ne.Lladdr = [0x01, 0x00, 0x5e, (byte)((a >> 16) & 0x7f), (byte)(a >> 8), (byte)a];
            }
            else if ((dev.Flags & (IFF_NOARP | IFF_LOOPBACK)) != 0)
            {
                ne.State = (ushort)NUD_NOARP;
                ne.Lladdr = (byte[])dev.DevAddr.Clone();
            }
            else if (ne.Type == RTN_BROADCAST || (dev.Flags & IFF_POINTOPOINT) != 0)
            {
                ne.State = (ushort)NUD_NOARP;
                ne.Lladdr = (byte[])dev.Broadcast.Clone();
            }
        }
        else
        {
            if (dev.Ip6 == null) return new KErr(Errno.EINVAL);
            bool mc = Inet.IsV6Multicast(k);
            ne.Type = mc ? (byte)RTN_MULTICAST : (byte)RTN_UNICAST;
            if (mc)
            {
                ne.State = (ushort)NUD_NOARP;
                ne.Lladdr = [0x33, 0x33, (byte)(k >> 24), (byte)(k >> 16), (byte)(k >> 8), (byte)k];
            }
            else if ((dev.Flags & (IFF_NOARP | IFF_LOOPBACK)) != 0)
            {
                ne.State = (ushort)NUD_NOARP;
                ne.Lladdr = (byte[])dev.DevAddr.Clone();
                if (dev.IsLoopback) ne.Type = (byte)RTN_LOCAL;
            }
            else if ((dev.Flags & IFF_POINTOPOINT) != 0)
            {
                ne.State = (ushort)NUD_NOARP;
                ne.Lladdr = (byte[])dev.Broadcast.Clone();
            }
        }
        ne.Seq = ++_seq;
        (_byKey ??= new())[(k, dev.Ifindex)] = ne;
        Entries.Add(ne.Seq, ne);
        n = ne;
        return KErr.Ok;
    }

    /// <summary>__neigh_update: the state machine entry point for administrative updates.</summary>
    public KErr Update(Neighbour n, byte[]? lladdr, ushort nw, uint flags)
    {
        var dev = n.Dev!;
        ushort old = n.State;
        bool notify = false;
        long now = Net.Kernel.Clock.NowMs;
        KErr err = new(Errno.EPERM);
        bool updateIsRouter = false;
        if (n.Dead) return new KErr(Errno.EPERM, "Neighbor entry is now dead");
        if ((flags & UpdAdmin) == 0 && (old & (NUD_NOARP | NUD_PERMANENT)) != 0) return err;

        // neigh_update_flags
        if ((flags & UpdExtLearned) != 0 && (n.Flags & NTF_EXT_LEARNED) == 0) { n.Flags |= (uint)NTF_EXT_LEARNED; notify = true; }
        else if ((flags & UpdAdmin) != 0 && (flags & UpdExtLearned) == 0 && (n.Flags & NTF_EXT_LEARNED) != 0)
        {
            n.Flags &= ~(uint)NTF_EXT_LEARNED;
            notify = true;
        }

        if ((flags & (UpdUse | UpdManaged)) != 0)
        {
            n.State = (ushort)(old & ~NUD_PERMANENT);
            if (notify) NotifyUpdate(n);
            return KErr.Ok;
        }

        if ((nw & NudValid) == 0)
        {
            CancelTimer(n);
            n.State = nw;
            notify |= (old & NudValid) != 0;
            if ((old & (NUD_INCOMPLETE | NUD_PROBE)) != 0 && (nw & NUD_FAILED) != 0) notify = true;
            if (notify) NotifyUpdate(n);
            return KErr.Ok;
        }

        bool sameAddr;
        byte[]? use;
        if (dev.AddrLen == 0)
        {
            use = n.Lladdr;
            sameAddr = true;
        }
        else if (lladdr != null)
        {
            sameAddr = (old & NudValid) != 0 && n.Lladdr != null && lladdr.AsSpan(0, dev.AddrLen).SequenceEqual(n.Lladdr);
            use = sameAddr ? n.Lladdr : lladdr;
        }
        else
        {
            if ((old & NudValid) == 0) return new KErr(Errno.EINVAL, "No link layer address given");
            use = n.Lladdr;
            sameAddr = true;
        }
        if ((nw & NudConnected) != 0) n.ConfirmedMs = now;
        updateIsRouter = (flags & UpdOverrideIsRouter) != 0;
        if ((old & NudValid) != 0)
        {
            if (!sameAddr && (flags & UpdOverride) == 0)
            {
                updateIsRouter = false;
                if ((flags & UpdWeakOverride) != 0 && (old & NudConnected) != 0)
                {
                    use = n.Lladdr;
                    sameAddr = true;
                    nw = (ushort)NUD_STALE;
                }
                else
                {
                    Finish();
                    return KErr.Ok;
                }
            }
            else if (sameAddr && nw == NUD_STALE && (flags & UpdAdmin) == 0) nw = old;
        }
        if (nw != old || !sameAddr) n.UpdatedMs = now;
        if (nw != old)
        {
            CancelTimer(n);
            if ((nw & NUD_PROBE) != 0) n.Probes = 0;
            n.State = nw;
            if ((nw & NudInTimer) != 0) ArmTimer(n, now + ((nw & NUD_REACHABLE) != 0 ? BaseReachableMs : 0));
            notify = true;
        }
        if (!sameAddr)
        {
            n.Lladdr = use == null ? null : use.AsSpan(0, dev.AddrLen).ToArray();
            if ((nw & NudConnected) == 0) n.ConfirmedMs = now - 2 * BaseReachableMs;
            notify = true;
        }
        Finish();
        return KErr.Ok;

        void Finish()
        {
            if (updateIsRouter)
            {
                // neigh_update_is_router
                uint nf = n.Flags;
                if ((flags & UpdIsRouter) != 0) nf |= (uint)NTF_ROUTER;
                else nf &= ~(uint)NTF_ROUTER;
                if (nf != n.Flags)
                {
                    n.Flags = nf;
                    notify = true;
                }
            }
            if (notify) NotifyUpdate(n);
        }
    }

    private void NotifyUpdate(Neighbour n) => Net.Events.Neigh(Net, n, false);

    private void CancelTimer(Neighbour n)
    {
        TimerQueue.Cancel(n.Timer);
        n.Timer = null;
    }

    private void ArmTimer(Neighbour n, long due) =>
        n.Timer = Net.Kernel.Timers.Arm(n.Timer, due, () => TimerHandler(n));

    /// <summary>neigh_timer_handler, without traffic: a reachable entry becomes stale, a delayed
    /// one is probed, probes that get no answer end in failed.</summary>
    private void TimerHandler(Neighbour n)
    {
        n.Timer = null;
        if (n.Dead) return;
        long now = Net.Kernel.Clock.NowMs;
        ushort state = n.State;
        if ((state & NudInTimer) == 0) return;
        bool notify = false;
        long next = now + RetransMs;
        if ((state & NUD_REACHABLE) != 0)
        {
            n.State = (ushort)NUD_STALE;
            n.UpdatedMs = now;
            notify = true;
            next = 0;
        }
        else if ((state & NUD_DELAY) != 0)
        {
            n.State = (ushort)NUD_PROBE;
            n.UpdatedMs = now;
            n.Probes = 0;
            notify = true;
        }
        if ((n.State & (NUD_INCOMPLETE | NUD_PROBE)) != 0)
        {
            int max = (n.State & NUD_INCOMPLETE) != 0 ? UcastProbes + McastProbes : UcastProbes;
            if (n.Probes >= max)
            {
                n.State = (ushort)NUD_FAILED;
                notify = true;
                next = 0;
            }
            else n.Probes++;
        }
        if (next != 0 && (n.State & NudInTimer) != 0) ArmTimer(n, next);
        if (notify) NotifyUpdate(n);
    }

    /// <summary>neigh_remove_one / neigh_cleanup_and_release: the entry goes, RTM_DELNEIGH.</summary>
    public void Remove(Neighbour n)
    {
        if (n.Dead) return;
        n.Dead = true;
        CancelTimer(n);
        _byKey!.Remove((n.Key, n.Dev!.Ifindex));
        _entries!.Remove(n.Seq);
        Net.Events.Neigh(Net, n, true);
    }

    /// <summary>pneigh_lookup(creat=1): the proxy entry, created when missing.</summary>
    public Neighbour ProxyCreate(UInt128 key, NetDevice? dev)
    {
        var k = (key, dev?.Ifindex ?? 0);
        if ((_proxyByKey ??= new()).TryGetValue(k, out var p)) return p;
        p = new Neighbour { Table = this, Key = key, Dev = dev, IsProxy = true, State = (ushort)NUD_NONE, Seq = ++_seq };
        _proxyByKey[k] = p;
        Proxies.Add(ProxyOrder(p), p);
        return p;
    }

    /// <summary>The order of the proxy entries (phash_buckets): by pneigh_hash of the key's last four
    /// bytes (read as a little-endian u32, folded to 4 bits), newest first in a bucket.</summary>
    private long ProxyOrder(Neighbour p)
    {
        uint h = System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((uint)p.Key);
        h ^= h >> 16;
        h ^= h >> 8;
        h ^= h >> 4;
        h &= 0xF; // PNEIGH_HASHMASK
        return ((long)h << 48) | (0xFFFF_FFFF_FFFFL - p.Seq);
    }

    /// <summary>pneigh_delete.</summary>
    public KErr ProxyDelete(UInt128 key, NetDevice? dev)
    {
        var k = (key, dev?.Ifindex ?? 0);
        if (_proxyByKey == null || !_proxyByKey.Remove(k, out var p)) return new KErr(Errno.ENOENT);
        _proxies!.Remove(ProxyOrder(p));
        p.Dead = true;
        Net.Events.Neigh(Net, p, true);
        return KErr.Ok;
    }

    /// <summary>neigh_flush_dev (+ pneigh_ifdown): every entry of the device goes, permanent ones
    /// too unless <paramref name="skipPerm"/>; proxy entries go on ifdown unless permanent.</summary>
    public void FlushDev(NetDevice? dev, bool skipPerm, bool proxies)
    {
        if (_entries is { Count: > 0 })
            FlushEntries(dev, skipPerm);
        if (!proxies || _proxies is not { Count: > 0 }) return;
        var pv = new List<Neighbour>();
        foreach (var p in _proxies.Values)
            if ((dev == null || p.Dev == dev) && !p.ProxyPermanent) pv.Add(p);
        foreach (var p in pv)
        {
            _proxyByKey!.Remove((p.Key, p.Dev?.Ifindex ?? 0));
            _proxies.Remove(ProxyOrder(p));
            p.Dead = true;
        }
    }

    private void FlushEntries(NetDevice? dev, bool skipPerm)
    {
        var victims = new List<Neighbour>();
        foreach (var n in _entries!.Values)
        {
            if (dev != null && n.Dev != dev) continue;
            if (skipPerm && (n.State & NUD_PERMANENT) != 0) continue;
            victims.Add(n);
        }
        foreach (var n in victims) Remove(n);
    }

    /// <summary>neigh_changeaddr: entries of a device whose address changed are flushed (permanent kept).</summary>
    public void ChangeAddr(NetDevice dev) => FlushDev(dev, true, false);
}

/// <summary>The neighbour tables of a namespace and their netdev notifiers (arp_netdev_event +
/// arp_ifdown through fib_disable_ip; ndisc_netdev_event).</summary>
public sealed class NeighTables
{
    public NeighTables(Net net)
    {
        Arp = new NeighTable(net, (byte)AF_INET);
        Nd = new NeighTable(net, (byte)AF_INET6);
        ArpNotifier = new Notifier(Arp);
        NdiscNotifier = new Notifier(Nd);
    }

    public NeighTable Arp { get; }
    public NeighTable Nd { get; }
    internal INetdevNotifier ArpNotifier { get; }
    internal INetdevNotifier NdiscNotifier { get; }

    /// <summary>neigh_find_table.</summary>
    public NeighTable? Find(int family) => family == AF_INET ? Arp : family == AF_INET6 ? Nd : null;

    private sealed class Notifier(NeighTable tbl) : INetdevNotifier
    {
        public void OnNetdevEvent(NetdevEvent ev, NetDevice dev)
        {
            switch (ev)
            {
                case NetdevEvent.Down:
                case NetdevEvent.Unregister:
                    tbl.FlushDev(dev, false, true);
                    break;
                case NetdevEvent.Change:
                    if (!dev.Carrier && EvictNoCarrier(dev)) tbl.FlushDev(dev, true, false);
                    break;
                case NetdevEvent.ChangeAddr:
                    tbl.ChangeAddr(dev);
                    break;
            }
        }

        private bool EvictNoCarrier(NetDevice dev)
        {
            if (tbl.Family == AF_INET)
                return dev.Ip4 != null && (tbl.Net.Ipv4.All[IPV4_DEVCONF_ARP_EVICT_NOCARRIER] != 0 &&
                                           dev.Ip4.Cnf[IPV4_DEVCONF_ARP_EVICT_NOCARRIER] != 0);
            return dev.Ip6 == null || (tbl.Net.Ipv6.All[DEVCONF_NDISC_EVICT_NOCARRIER] != 0 &&
                                       dev.Ip6.Cnf[DEVCONF_NDISC_EVICT_NOCARRIER] != 0);
        }
    }
}
