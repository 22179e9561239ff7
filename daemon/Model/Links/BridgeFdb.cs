using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Links;

/// <summary>enum net_bridge_fdb_flags (BR_FDB_*), as bits.</summary>
[Flags]
public enum FdbFlags : uint
{
    None = 0,
    Local = 1 << 0,
    Static = 1 << 1,
    Sticky = 1 << 2,
    AddedByUser = 1 << 3,
    AddedByExtLearn = 1 << 4,
    Offloaded = 1 << 5,
    Notify = 1 << 6,
    NotifyInactive = 1 << 7,
    Locked = 1 << 8,
    DynamicLearned = 1 << 9,
}

/// <summary>struct net_bridge_fdb_entry: where the bridge sends frames for one (address, VLAN).
/// <see cref="Dst"/> null = the bridge device itself.</summary>
public sealed class FdbEntry
{
    internal FdbEntry(byte[] addr, ushort vid) { Addr = addr; Vid = vid; }

    public byte[] Addr { get; }
    public ushort Vid { get; }
    public BridgePort? Dst { get; internal set; }
    public FdbFlags Flags { get; internal set; }
    /// <summary>Jiffies of the last update and use.</summary>
    public long Updated, Used;
    internal LinkedListNode<FdbEntry>? Node;

    public bool Has(FdbFlags f) => (Flags & f) != 0;
    public override string ToString() => $"{Convert.ToHexString(Addr)} vid {Vid} -> {Dst?.Dev.Name ?? "bridge"} {Flags}";
}

/// <summary>struct net_bridge_fdb_flush_desc.</summary>
public readonly record struct FdbFlushDesc(FdbFlags Flags, FdbFlags FlagsMask, int PortIfindex, ushort Vid);

/// <summary>What a user's RTM_NEWNEIGH asks of the bridge (ndmsg state and flags, the
/// NDA_FDB_EXT_ATTRS notify bits).</summary>
public readonly record struct FdbAddRequest(ushort State, byte NdmFlags, ushort NlmFlags, byte? Notify, bool DontRefresh);

// net/bridge/br_fdb.c: the forwarding database. Entries are kept in a hash by (address, VLAN) and in
// fdb_list, newest first (hlist_add_head_rcu), which is the order dumps walk. Nothing is learned
// from traffic (there is none): entries are the kernel's local ones (ports' and the bridge's own
// addresses) and the user's.
public sealed partial class NetBridge
{
    private readonly LinkedList<FdbEntry> _fdbList = new();
    private readonly Dictionary<(ulong Addr, ushort Vid), FdbEntry> _fdbHash = new();

    /// <summary>br->fdb_list: newest first.</summary>
    public IEnumerable<FdbEntry> FdbList => _fdbList;
    public int FdbCount => _fdbHash.Count;

    private static ulong MacKey(ReadOnlySpan<byte> a)
    {
        ulong v = 0;
        for (int i = 0; i < 6; i++) v = (v << 8) | a[i];
        return v;
    }

    /// <summary>br_fdb_find.</summary>
    public FdbEntry? FdbFind(ReadOnlySpan<byte> addr, ushort vid) => _fdbHash.GetValueOrDefault((MacKey(addr), vid));

    /// <summary>hold_time: the forward delay during a topology change, else the ageing time.</summary>
    private long HoldTimeJ => TopologyChange != 0 ? ForwardDelay : AgeingTime;

    /// <summary>has_expired.</summary>
    public bool FdbHasExpired(FdbEntry f) =>
        !f.Has(FdbFlags.Static) && !f.Has(FdbFlags.AddedByExtLearn) && f.Updated + HoldTimeJ <= Now;

    /// <summary>fdb_to_nud.</summary>
    public ushort FdbToNud(FdbEntry f)
    {
        if (f.Has(FdbFlags.Local)) return (ushort)NUD_PERMANENT;
        if (f.Has(FdbFlags.Static)) return (ushort)NUD_NOARP;
        if (FdbHasExpired(f)) return (ushort)NUD_STALE;
        return (ushort)NUD_REACHABLE;
    }

    private void FdbNotify(FdbEntry f, bool deleted) => Net.Events.BridgeFdb(this, f, deleted);

    /// <summary>fdb_add_hw_addr: a static entry's address goes into the unicast list of every
    /// port that is not promiscuous.</summary>
    private void FdbAddHwAddr(byte[] addr)
    {
        foreach (var p in Ports)
            if (!p.IsPromisc) Net.DevUcAdd(p.Dev, addr);
    }

    /// <summary>fdb_del_hw_addr.</summary>
    private void FdbDelHwAddr(byte[] addr)
    {
        foreach (var p in Ports)
            if (!p.IsPromisc) Net.DevUcDel(p.Dev, addr);
    }

    /// <summary>br_fdb_sync_static: a port leaving promiscuous mode gets the static addresses.</summary>
    internal void FdbSyncStatic(BridgePort p)
    {
        foreach (var f in _fdbList)
            if (f.Has(FdbFlags.Static)) Net.DevUcAdd(p.Dev, f.Addr);
    }

    /// <summary>br_fdb_unsync_static.</summary>
    internal void FdbUnsyncStatic(BridgePort p)
    {
        foreach (var f in _fdbList)
            if (f.Has(FdbFlags.Static)) Net.DevUcDel(p.Dev, f.Addr);
    }

    /// <summary>fdb_create: null when the learned-entry limit is reached.</summary>
    private FdbEntry? FdbCreate(BridgePort? source, byte[] addr, ushort vid, FdbFlags flags)
    {
        bool learned = (flags & (FdbFlags.AddedByUser | FdbFlags.Local)) == 0;
        if (learned)
        {
            if (FdbMaxLearned != 0 && FdbNLearned >= FdbMaxLearned) return null;
            flags |= FdbFlags.DynamicLearned;
        }
        var key = (MacKey(addr), vid);
        if (_fdbHash.ContainsKey(key)) return null;
        var f = new FdbEntry((byte[])addr.Clone(), vid) { Dst = source, Flags = flags };
        f.Updated = f.Used = Now;
        _fdbHash.Add(key, f);
        if (learned) FdbNLearned++;
        f.Node = _fdbList.AddFirst(f);
        return f;
    }

    /// <summary>fdb_delete.</summary>
    private void FdbDelete(FdbEntry f)
    {
        if (f.Has(FdbFlags.Static)) FdbDelHwAddr(f.Addr);
        if (f.Node != null)
        {
            _fdbList.Remove(f.Node);
            f.Node = null;
        }
        _fdbHash.Remove((MacKey(f.Addr), f.Vid));
        if (f.Has(FdbFlags.DynamicLearned))
        {
            f.Flags &= ~FdbFlags.DynamicLearned;
            FdbNLearned--;
        }
        FdbNotify(f, deleted: true);
    }

    /// <summary>fdb_delete_local: a local entry passes to another port (or the bridge) with the same
    /// address, else goes. No VLANs exist here, so only VLAN 0 entries can pass on.</summary>
    private void FdbDeleteLocal(BridgePort? p, FdbEntry f)
    {
        foreach (var op in Ports)
        {
            if (op != p && op.Dev.DevAddr.AsSpan(0, 6).SequenceEqual(f.Addr) && f.Vid == 0)
            {
                f.Dst = op;
                f.Flags &= ~FdbFlags.AddedByUser;
                return;
            }
        }
        if (p != null && Dev.DevAddr.AsSpan(0, 6).SequenceEqual(f.Addr) && f.Vid == 0)
        {
            f.Dst = null;
            f.Flags &= ~FdbFlags.AddedByUser;
            return;
        }
        FdbDelete(f);
    }

    /// <summary>fdb_add_local: the entry for a port's (or the bridge's) own address.</summary>
    internal KErr FdbAddLocal(BridgePort? source, ReadOnlySpan<byte> addr, ushort vid)
    {
        if (!EtherAddr.IsValid(addr)) return new KErr(Errno.EINVAL);
        var f = FdbFind(addr, vid);
        if (f != null)
        {
            // several ports with the same address: the first one keeps it
            if (f.Has(FdbFlags.Local)) return KErr.Ok;
            FdbDelete(f); // "adding interface with same address as a received packet"
        }
        var a = addr.ToArray();
        f = FdbCreate(source, a, vid, FdbFlags.Local | FdbFlags.Static);
        if (f == null) return new KErr(Errno.ENOMEM);
        FdbAddHwAddr(a);
        FdbNotify(f, deleted: false);
        return KErr.Ok;
    }

    /// <summary>br_fdb_changeaddr: a port's address changed.</summary>
    internal void FdbChangeAddr(BridgePort p, ReadOnlySpan<byte> newaddr)
    {
        foreach (var f in _fdbList)
        {
            if (f.Dst == p && f.Has(FdbFlags.Local) && !f.Has(FdbFlags.AddedByUser))
            {
                FdbDeleteLocal(p, f);
                break; // no VLANs on the port: done
            }
        }
        FdbAddLocal(p, newaddr, 0);
    }

    /// <summary>br_fdb_change_mac_address: the bridge's own address changed (or is first known,
    /// from br_device_event's NETDEV_REGISTER).</summary>
    internal void FdbChangeMacAddress(ReadOnlySpan<byte> newaddr)
    {
        var f = FdbFind(Dev.DevAddr.AsSpan(0, 6), 0);
        if (f != null && f.Has(FdbFlags.Local) && f.Dst == null && !f.Has(FdbFlags.AddedByUser))
            FdbDeleteLocal(null, f);
        FdbAddLocal(null, newaddr, 0);
    }

    /// <summary>br_fdb_delete_by_port: a port's entries (all of them, or the non-static ones).
    /// <paramref name="p"/> null = the bridge's own entries.</summary>
    internal void FdbDeleteByPort(BridgePort? p, ushort vid, bool doAll)
    {
        var node = _fdbList.First;
        while (node != null)
        {
            var next = node.Next;
            var f = node.Value;
            node = next;
            if (f.Dst != p) continue;
            if (!doAll && (f.Has(FdbFlags.Static) ||
                           (f.Has(FdbFlags.AddedByExtLearn) && !f.Has(FdbFlags.Offloaded)) ||
                           (vid != 0 && f.Vid != vid)))
                continue;
            if (f.Has(FdbFlags.Local)) FdbDeleteLocal(p, f);
            else FdbDelete(f);
        }
    }

    /// <summary>br_fdb_flush: every entry the description matches.</summary>
    public void FdbFlush(FdbFlushDesc desc)
    {
        var node = _fdbList.First;
        while (node != null)
        {
            var next = node.Next;
            var f = node.Value;
            node = next;
            int portIfidx = f.Dst?.Dev.Ifindex ?? Dev.Ifindex;
            if (desc.Vid != 0 && desc.Vid != f.Vid) continue;
            if (desc.PortIfindex != 0 && desc.PortIfindex != portIfidx) continue;
            if (desc.FlagsMask != 0 && (f.Flags & desc.FlagsMask) != desc.Flags) continue;
            FdbDelete(f);
        }
    }

    /// <summary>__ndm_state_to_fdb_flags.</summary>
    public static FdbFlags NdmStateToFdbFlags(ushort state) =>
        ((state & NUD_PERMANENT) != 0 ? FdbFlags.Local : 0) | ((state & NUD_NOARP) != 0 ? FdbFlags.Static : 0);

    /// <summary>__ndm_flags_to_fdb_flags.</summary>
    public static FdbFlags NdmFlagsToFdbFlags(byte flags) =>
        ((flags & NTF_USE) != 0 ? FdbFlags.AddedByUser : 0) |
        ((flags & NTF_EXT_LEARNED) != 0 ? FdbFlags.AddedByExtLearn : 0) |
        ((flags & NTF_OFFLOADED) != 0 ? FdbFlags.Offloaded : 0) |
        ((flags & NTF_STICKY) != 0 ? FdbFlags.Sticky : 0);

    /// <summary>br_fdb_update: learning (here only on the user's behalf, NTF_USE).</summary>
    private void FdbUpdate(BridgePort source, byte[] addr, ushort vid, FdbFlags flags)
    {
        if (HoldTimeJ == 0) return; // some users want to always flood
        var f = FdbFind(addr, vid);
        if (f == null)
        {
            f = FdbCreate(source, addr, vid, flags);
            if (f != null) FdbNotify(f, deleted: false);
            return;
        }
        if (f.Has(FdbFlags.Local)) return; // "received packet with own address as source address"
        bool modified = false;
        long now = Now;
        if (now != f.Updated)
        {
            f.Updated = now;
            if (f.Has(FdbFlags.NotifyInactive))
            {
                f.Flags &= ~FdbFlags.NotifyInactive;
                modified = true;
            }
        }
        if (source != f.Dst && !f.Has(FdbFlags.Sticky))
        {
            f.Dst = source;
            modified = true;
            f.Flags &= ~(FdbFlags.AddedByExtLearn | FdbFlags.Locked);
        }
        if ((flags & FdbFlags.AddedByUser) != 0)
        {
            f.Flags |= FdbFlags.AddedByUser;
            if (f.Has(FdbFlags.DynamicLearned))
            {
                f.Flags &= ~FdbFlags.DynamicLearned;
                FdbNLearned--;
            }
        }
        if (modified) FdbNotify(f, deleted: false);
    }

    /// <summary>fdb_handle_notify: true when the entry changed.</summary>
    private static bool FdbHandleNotify(FdbEntry f, byte notify)
    {
        bool modified = false;
        if ((notify & FDB_NOTIFY_INACTIVE_BIT) != 0 && !f.Has(FdbFlags.NotifyInactive))
        {
            f.Flags |= FdbFlags.NotifyInactive;
            modified = true;
        }
        if ((notify & FDB_NOTIFY_BIT) != 0 && !f.Has(FdbFlags.Notify))
        {
            f.Flags |= FdbFlags.Notify;
            modified = true;
        }
        else if ((notify & FDB_NOTIFY_BIT) == 0 && f.Has(FdbFlags.Notify))
        {
            f.Flags &= ~(FdbFlags.Notify | FdbFlags.NotifyInactive);
            modified = true;
        }
        return modified;
    }

    /// <summary>fdb_add_entry: create or update a user entry.</summary>
    private KErr FdbAddEntry(BridgePort? source, byte[] addr, FdbAddRequest r, ushort vid)
    {
        bool isSticky = (r.NdmFlags & NTF_STICKY) != 0;
        ushort state = r.State;
        // a port that cannot learn takes only local and static entries
        if (source != null && (state & (NUD_PERMANENT | NUD_NOARP)) == 0 &&
            source.State != BrState.Learning && source.State != BrState.Forwarding)
            return new KErr(Errno.EPERM);
        if (source == null && (state & NUD_PERMANENT) == 0) return new KErr(Errno.EINVAL);
        if (isSticky && (state & NUD_PERMANENT) != 0) return new KErr(Errno.EINVAL);
        byte notify = 0;
        if (r.Notify is byte n)
        {
            notify = n;
            const byte settable = FDB_NOTIFY_BIT | FDB_NOTIFY_INACTIVE_BIT;
            if ((notify & ~settable) != 0 || (notify & settable) == FDB_NOTIFY_INACTIVE_BIT) return new KErr(Errno.EINVAL);
        }

        bool modified = false;
        var f = FdbFind(addr, vid);
        if (f == null)
        {
            if ((r.NlmFlags & NLM_F_CREATE) == 0) return new KErr(Errno.ENOENT);
            f = FdbCreate(source, addr, vid, FdbFlags.AddedByUser);
            if (f == null) return new KErr(Errno.ENOMEM);
            modified = true;
        }
        else
        {
            if ((r.NlmFlags & NLM_F_EXCL) != 0) return new KErr(Errno.EEXIST);
            if (f.Dst != source)
            {
                f.Dst = source;
                modified = true;
            }
            f.Flags |= FdbFlags.AddedByUser;
            if (f.Has(FdbFlags.DynamicLearned))
            {
                f.Flags &= ~FdbFlags.DynamicLearned;
                FdbNLearned--;
            }
        }

        if (FdbToNud(f) != state)
        {
            if ((state & NUD_PERMANENT) != 0)
            {
                f.Flags |= FdbFlags.Local;
                if (!f.Has(FdbFlags.Static))
                {
                    f.Flags |= FdbFlags.Static;
                    FdbAddHwAddr(addr);
                }
            }
            else if ((state & NUD_NOARP) != 0)
            {
                f.Flags &= ~FdbFlags.Local;
                if (!f.Has(FdbFlags.Static))
                {
                    f.Flags |= FdbFlags.Static;
                    FdbAddHwAddr(addr);
                }
            }
            else
            {
                f.Flags &= ~FdbFlags.Local;
                if (f.Has(FdbFlags.Static))
                {
                    f.Flags &= ~FdbFlags.Static;
                    FdbDelHwAddr(addr);
                }
            }
            modified = true;
        }
        if (isSticky != f.Has(FdbFlags.Sticky))
        {
            f.Flags ^= FdbFlags.Sticky;
            modified = true;
        }
        if (f.Has(FdbFlags.Locked))
        {
            f.Flags &= ~FdbFlags.Locked;
            modified = true;
        }
        if (FdbHandleNotify(f, notify)) modified = true;
        f.Used = Now;
        if (modified)
        {
            if (!r.DontRefresh) f.Updated = Now;
            FdbNotify(f, deleted: false);
        }
        return KErr.Ok;
    }

    /// <summary>br_fdb_external_learn_add (from user space: swdev_notify, not locked).</summary>
    private KErr FdbExternalLearnAdd(BridgePort? p, byte[] addr, ushort vid)
    {
        var f = FdbFind(addr, vid);
        if (f == null)
        {
            var flags = FdbFlags.AddedByExtLearn | FdbFlags.AddedByUser;
            if (p == null) flags |= FdbFlags.Local;
            f = FdbCreate(p, addr, vid, flags);
            if (f == null) return new KErr(Errno.ENOMEM);
            FdbNotify(f, deleted: false);
            return KErr.Ok;
        }
        bool modified = false;
        f.Updated = Now;
        if (f.Dst != p)
        {
            f.Dst = p;
            modified = true;
        }
        if (f.Has(FdbFlags.AddedByExtLearn)) f.Used = Now;
        else
        {
            f.Flags |= FdbFlags.AddedByExtLearn;
            modified = true;
        }
        if (f.Has(FdbFlags.Locked))
        {
            f.Flags &= ~FdbFlags.Locked;
            modified = true;
        }
        f.Flags |= FdbFlags.AddedByUser;
        if (p == null) f.Flags |= FdbFlags.Local;
        if (f.Has(FdbFlags.DynamicLearned))
        {
            f.Flags &= ~FdbFlags.DynamicLearned;
            FdbNLearned--;
        }
        if (modified) FdbNotify(f, deleted: false);
        return KErr.Ok;
    }

    /// <summary>br_fdb_add: an entry on <paramref name="dev"/>, a port of this bridge or the bridge
    /// itself. VLANs are not compiled in: an entry for a VLAN is refused.</summary>
    public KErr FdbAdd(NetDevice dev, ReadOnlySpan<byte> addr, ushort vid, FdbAddRequest r, bool hasFlagsExtLocked)
    {
        if ((r.State & (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE)) == 0) return new KErr(Errno.EINVAL);
        if (EtherAddr.IsZero(addr)) return new KErr(Errno.EINVAL);
        BridgePort? p = null;
        if (dev != Dev)
        {
            p = PortOf(dev);
            if (p == null || p.Br != this) return new KErr(Errno.EINVAL);
        }
        if (hasFlagsExtLocked) return new KErr(Errno.EINVAL, "bridge: Cannot add FDB entry with \"locked\" flag set");
        // br_vlan_find finds nothing without CONFIG_BRIDGE_VLAN_FILTERING
        if (vid != 0) return new KErr(Errno.EINVAL);
        var a = addr.ToArray();
        if ((r.NdmFlags & NTF_USE) != 0)
        {
            if (p == null) return new KErr(Errno.EINVAL);
            if (p.State != BrState.Learning && p.State != BrState.Forwarding) return KErr.Ok;
            FdbUpdate(p, a, 0, FdbFlags.AddedByUser);
            return KErr.Ok;
        }
        if ((r.NdmFlags & NTF_EXT_LEARNED) != 0)
        {
            if (p == null && (r.State & NUD_PERMANENT) == 0)
                return new KErr(Errno.EINVAL, "bridge: FDB entry towards bridge must be permanent");
            return FdbExternalLearnAdd(p, a, 0);
        }
        return FdbAddEntry(p, a, r, 0);
    }

    /// <summary>br_fdb_delete: the entry for (address, VLAN) if it points at <paramref name="dev"/>
    /// (a port, or the bridge itself for its own entries).</summary>
    public KErr FdbDel(NetDevice dev, ReadOnlySpan<byte> addr, ushort vid)
    {
        BridgePort? p = null;
        if (dev != Dev)
        {
            p = PortOf(dev);
            if (p == null || p.Br != this) return new KErr(Errno.EINVAL);
        }
        if (vid != 0) return new KErr(Errno.EINVAL); // unconfigured VLAN
        var f = FdbFind(addr, 0);
        if (f == null || f.Dst != p) return new KErr(Errno.ENOENT);
        FdbDelete(f);
        return KErr.Ok;
    }

    /// <summary>br_fdb_cleanup: ages out entries that are neither static nor externally learned,
    /// and re-arms itself.</summary>
    private void FdbCleanup()
    {
        long delay = HoldTimeJ;
        long workDelay = delay;
        long now = Now;
        var node = _fdbList.First;
        while (node != null)
        {
            var next = node.Next;
            var f = node.Value;
            node = next;
            long thisTimer = f.Updated + delay;
            if (f.Has(FdbFlags.Static) || f.Has(FdbFlags.AddedByExtLearn))
            {
                if (f.Has(FdbFlags.Notify))
                {
                    if (thisTimer > now) workDelay = Math.Min(workDelay, thisTimer - now);
                    else if (!f.Has(FdbFlags.NotifyInactive))
                    {
                        f.Flags |= FdbFlags.NotifyInactive;
                        FdbNotify(f, deleted: false);
                    }
                }
                continue;
            }
            if (thisTimer > now) workDelay = Math.Min(workDelay, thisTimer - now);
            else FdbDelete(f);
        }
        workDelay = Math.Max(workDelay, Jiffies.FromMs(10));
        GcTimer.Mod(now + workDelay);
    }
}
