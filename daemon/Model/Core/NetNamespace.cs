using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model;

/// <summary>What a namespace answers to when another one asks for its id (net_namespace.c).</summary>
public interface INsidEvents
{
    /// <summary>rtnl_net_notifyid: RTM_NEWNSID / RTM_DELNSID in <paramref name="net"/>.</summary>
    void Nsid(Net net, int nsid, Net peer, bool deleted);
}

// net/core/net_namespace.c: reference counts, peer ids (nsid) and moving devices between namespaces
// (net/core/dev.c __dev_change_net_namespace).
public sealed partial class Net
{
    public const int NsidNotAssigned = -1; // NETNSA_NSID_NOT_ASSIGNED

    private int _refs;
    /// <summary>netns_ids: the ids this namespace gives its peers (allocated on first use: most
    /// namespaces never name another).</summary>
    private SortedDictionary<int, Net>? _idToPeer;
    private Dictionary<Net, int>? _peerToId;
    /// <summary>The namespaces that have an id for this one (so that teardown reaches them without
    /// visiting every namespace, as unhash_nsid does).</summary>
    private HashSet<Net>? _idHolders;

    /// <summary>Whether <see cref="Release"/> brought the count to zero (teardown pending).</summary>
    public bool Released { get; private set; }
    public int RefCount => _refs;

    /// <summary>get_net: something (a name, a socket, a process) keeps the namespace alive.</summary>
    public void Hold()
    {
        if (Dying) throw new InvalidOperationException("namespace is being destroyed");
        _refs++;
    }

    /// <summary>put_net: the last reference gone schedules cleanup_net.</summary>
    public void Release()
    {
        if (--_refs > 0 || this == Kernel.InitNet) return;
        Released = true;
        Kernel.ScheduleDestroy(this);
    }

    // ---- nsid ------------------------------------------------------------------------------

    /// <summary>peernet2id: the id this namespace gives <paramref name="peer"/>, or -1.</summary>
    public int PeerToId(Net peer) => _peerToId != null && _peerToId.TryGetValue(peer, out var id) ? id : NsidNotAssigned;

    public Net? IdToPeer(int id) => _idToPeer?.GetValueOrDefault(id);

    public IEnumerable<(int Id, Net Peer)> Nsids =>
        _idToPeer?.Select(kv => (kv.Key, kv.Value)) ?? Enumerable.Empty<(int, Net)>();

    /// <summary>The lowest id not given to a peer yet (alloc_netid: idr_alloc from 0).</summary>
    private int LowestFreeId()
    {
        int id = 0;
        if (_idToPeer == null) return id;
        // the ids are sorted: the first gap
        foreach (var k in _idToPeer.Keys)
        {
            if (k != id) break;
            id++;
        }
        return id;
    }

    /// <summary>peernet2id_alloc: the peer's id, allocating the lowest free one (and announcing it)
    /// when it has none. A dying peer gets none.</summary>
    public int PeerToIdAlloc(Net peer)
    {
        if (_peerToId != null && _peerToId.TryGetValue(peer, out var id)) return id;
        if (peer.Dying || Dying) return NsidNotAssigned;
        id = LowestFreeId();
        Assign(peer, id);
        return id;
    }

    /// <summary>rtnl_net_newid's core (alloc_netid with a requested id; -1 = any).</summary>
    public KErr NewId(Net peer, int nsid)
    {
        if (_peerToId != null && _peerToId.ContainsKey(peer)) return new KErr(Errno.EEXIST, "Peer netns already has a nsid assigned");
        if (nsid < -1) return new KErr(Errno.EINVAL);
        if (nsid >= 0 && _idToPeer != null && _idToPeer.ContainsKey(nsid)) return new KErr(Errno.EEXIST, "The specified nsid is already used");
        if (nsid < 0) nsid = LowestFreeId();
        Assign(peer, nsid);
        return KErr.Ok;
    }

    private void Assign(Net peer, int id)
    {
        (_idToPeer ??= new SortedDictionary<int, Net>())[id] = peer;
        (_peerToId ??= new Dictionary<Net, int>())[peer] = id;
        (peer._idHolders ??= new HashSet<Net>()).Add(this);
        (Kernel.Events as INsidEvents)?.Nsid(this, id, peer, false);
    }

    /// <summary>unhash_nsid's part for one namespace: <paramref name="peer"/> is dying and loses
    /// the id this namespace gave it (RTM_DELNSID here).</summary>
    private void ForgetPeer(Net peer)
    {
        if (_peerToId == null || !_peerToId.Remove(peer, out var id)) return;
        _idToPeer!.Remove(id);
        (Kernel.Events as INsidEvents)?.Nsid(this, id, peer, true);
    }

    /// <summary>unhash_nsid and the namespace's own idr going away: nobody names this namespace
    /// any more, and it names nobody.</summary>
    internal void UnhashNsids()
    {
        if (_idHolders != null)
        {
            foreach (var holder in _idHolders.ToList())
                if (holder != this) holder.ForgetPeer(this);
            _idHolders = null;
        }
        if (_peerToId != null)
        {
            foreach (var peer in _peerToId.Keys) peer._idHolders?.Remove(this);
            _peerToId = null;
            _idToPeer = null;
        }
    }

    // ---- moving devices ----------------------------------------------------------------------

    /// <summary>__dev_change_net_namespace: the device leaves this namespace (closed, unlisted,
    /// NETDEV_UNREGISTER, RTM_DELLINK here) and enters <paramref name="target"/> (index kept when
    /// free, NETDEV_REGISTER, RTM_NEWLINK there). <paramref name="pat"/> names it when its name is
    /// taken in the target.</summary>
    public KErr DevChangeNetNamespace(NetDevice dev, Net target, string? pat, int newIfindex)
    {
        if ((dev.PrivFlags & PrivFlags.NetnsLocal) != 0) return new KErr(Errno.EINVAL, "The interface netns is immutable");
        if (dev.RegState != RegState.Registered) return new KErr(Errno.EINVAL, "The interface isn't registered");
        if (target == this) return KErr.Ok;
        if (target.Dying) return new KErr(Errno.EINVAL);
        string? newName = null;
        if (target.GetDevice(dev.Name) != null)
        {
            if (pat == null) return new KErr(Errno.EEXIST, "An interface with the same name exists in the target netns");
            var e = target.DevAllocName(pat, out var n);
            if (e.Failed) return new KErr(e.Errno, $"Unable to use '{pat}' for the new interface name in the target netns");
            newName = n;
        }
        foreach (var alt in dev.AltNames)
            if (target.GetDevice(alt) != null)
                return new KErr(Errno.EEXIST, $"An interface with the altname {alt} exists in the target netns");
        int index;
        if (newIfindex != 0)
        {
            if (target.GetDevice(newIfindex) != null)
                return new KErr(Errno.EBUSY, $"The ifindex {newIfindex} is not available in the target netns");
            index = newIfindex;
        }
        else index = target.GetDevice(dev.Ifindex) == null ? dev.Ifindex : target.NextFreeIfindex();

        DevCloseMany([dev]);
        Unlist(dev);
        CallNetdevNotifiers(NetdevEvent.Unregister, dev);
        int newNsid = PeerToIdAlloc(target);
        (Events as IMoveEvents)?.LinkMovedOut(dev, newNsid, index);
        _linkWatch.Remove(dev);
        dev.LinkWatchPending = false;

        dev.Net = target;
        dev.Ifindex = index;
        if (newName != null) dev.Name = newName;
        target.List(dev);
        target.CallNetdevNotifiers(NetdevEvent.Register, dev);
        Events.Link(dev, false, ~0u);
        return KErr.Ok;
    }

    /// <summary>The index an automatic allocation would give now (dev_index_reserve(net, 0)).</summary>
    internal int NextFreeIfindex()
    {
        var probe = new NetDevice(Links.LoopbackLinkOps.Instance, "");
        ReserveIfindexFor(probe);
        return probe.Ifindex;
    }
}

/// <summary>rtmsg_ifinfo_newnet: the RTM_DELLINK a moving device leaves behind, with the id of the
/// namespace it went to and its index there.</summary>
public interface IMoveEvents
{
    void LinkMovedOut(NetDevice dev, int newNsid, int newIfindex);
}
