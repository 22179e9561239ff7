using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model;

/// <summary>One member of a nexthop group (struct nh_grp_entry): the nexthop and its weight (1..256).</summary>
public readonly record struct NhGroupEntry(NexthopObj Nh, uint Weight);

/// <summary>struct nexthop (net/ipv4/nexthop.c): a nexthop object routes refer to by id — a single
/// path (nh_info: IPv4 or IPv6, possibly a blackhole) or a group of single nexthops.</summary>
public sealed class NexthopObj
{
    public uint Id;
    public byte Protocol;
    /// <summary>nh_flags (RTNH_F_ONLINK, ...).</summary>
    public uint Flags;
    public bool IsGroup;
    /// <summary>nh_info->family (AF_INET/AF_INET6); AF_UNSPEC for groups.</summary>
    public byte Family;
    /// <summary>nh_info->fib_nhc: the path of a single nexthop.</summary>
    public Nexthop? Info;
    public bool Blackhole;             // nh_info->reject_nh
    public bool Fdb;                   // nh_info->fdb_nh / nh_group->fdb_nh
    public List<NhGroupEntry>? Group;
    public ushort GroupType;
    public bool HasV4;                 // nh_group->has_v4
    /// <summary>grp_list: the groups this nexthop is a member of.</summary>
    public readonly List<NexthopObj> Parents = new();
    /// <summary>fi_list + f6i_list: the routes using this nexthop.</summary>
    public readonly HashSet<Route> Routes = new();
    public bool Dead;

    /// <summary>nexthop_num_path: the paths a route through this nexthop has.</summary>
    public int PathCount => IsGroup ? Group!.Count : 1;

    /// <summary>The i-th path and its weight (nexthop_fib_nhc / the group entry).</summary>
    public (Nexthop Nh, uint Weight) Path(int i) =>
        IsGroup ? (Group![i].Nh.Info!, Group[i].Weight) : (Info!, 1u);

    public Nexthop? FirstPath => IsGroup ? (Group!.Count > 0 ? Group[0].Nh.Info : null) : Info;

    /// <summary>nexthop_is_blackhole: a single blackhole nexthop, or a group of one blackhole.</summary>
    public bool IsBlackhole => IsGroup ? Group!.Count == 1 && Group[0].Nh.Blackhole : Blackhole;

    public override string ToString() => $"nexthop {Id}";
}

/// <summary>struct nh_config: a decoded RTM_NEWNEXTHOP.</summary>
public sealed class NhConfig
{
    public uint Id;
    public byte Family;
    public byte Protocol;
    public uint Flags;
    public ushort NlFlags;
    public bool Blackhole;
    public bool Fdb;
    public int Oif;
    public bool HasGateway;
    public UInt128 Gateway;
    /// <summary>NHA_GROUP: (id, weight 1..256).</summary>
    public List<(uint Id, uint Weight)>? Group;
    public ushort GroupType;
}

// net/ipv4/nexthop.c: the nexthop objects of a namespace.
public sealed partial class Net
{
    private readonly SortedIndex<uint, NexthopObj> _nexthops = new();
    private uint _nhLastIdAllocated;

    /// <summary>nh_base_seq: bumped on every change (dump consistency).</summary>
    public uint NexthopSeq { get; private set; }

    public int NexthopCount => _nexthops.Count;
    public SortedIndex<uint, NexthopObj> NexthopIndex => _nexthops;

    /// <summary>nexthop_find_by_id.</summary>
    public NexthopObj? NexthopFindById(uint id) => _nexthops.TryGetValue(id, out var nh) ? nh : null;

    /// <summary>nh_find_unused_id.</summary>
    private uint NhFindUnusedId()
    {
        uint start = _nhLastIdAllocated;
        while (true)
        {
            _nhLastIdAllocated++;
            if (_nhLastIdAllocated == start) break;
            if (_nhLastIdAllocated != 0 && NexthopFindById(_nhLastIdAllocated) == null) return _nhLastIdAllocated;
        }
        return 0;
    }

    /// <summary>nexthop_add: creates the single nexthop or group and inserts it (or replaces the
    /// one with the same id under NLM_F_REPLACE).</summary>
    public KErr NexthopAdd(NhConfig cfg, out NexthopObj? result)
    {
        result = null;
        if ((cfg.NlFlags & NLM_F_REPLACE) != 0 && cfg.Id == 0)
            return new KErr(Errno.EINVAL, "Replace requires nexthop id");
        if (cfg.Id == 0)
        {
            cfg.Id = NhFindUnusedId();
            if (cfg.Id == 0) return new KErr(Errno.EINVAL, "No unused id");
        }
        KErr err;
        NexthopObj? nh;
        if (cfg.Group != null) err = NexthopCreateGroup(cfg, out nh);
        else err = NexthopCreate(cfg, out nh);
        if (err.Failed) return err;
        nh!.Id = cfg.Id;
        nh.Protocol = cfg.Protocol;
        err = InsertNexthop(nh, cfg, out result);
        if (err.Failed)
        {
            DetachMembers(nh);
            result = null;
        }
        return err;
    }

    /// <summary>nh_check_attr_group's checks that need the namespace (members exist and may be grouped).</summary>
    public KErr NhCheckGroupMembers(NhConfig cfg)
    {
        var g = cfg.Group!;
        foreach (var (id, _) in g)
        {
            var nh = NexthopFindById(id);
            if (nh == null) return new KErr(Errno.EINVAL, "Invalid nexthop id");
            if (nh.IsGroup)
            {
                if (nh.GroupType == NEXTHOP_GRP_TYPE_MPATH)
                    return new KErr(Errno.EINVAL, "Hash-threshold group can not be a nexthop within a group");
                return new KErr(Errno.EINVAL, "Resilient group can not be a nexthop within a group");
            }
            if (nh.Blackhole && g.Count > 1)
                return new KErr(Errno.EINVAL, "Blackhole nexthop can not be used in a group with more than 1 path");
            if (cfg.Fdb && !nh.Fdb) return new KErr(Errno.EINVAL, "FDB nexthop group can only have fdb nexthops");
            if (!cfg.Fdb && nh.Fdb) return new KErr(Errno.EINVAL, "Non FDB nexthop group cannot have fdb nexthops");
        }
        return KErr.Ok;
    }

    /// <summary>nexthop_create_group.</summary>
    private KErr NexthopCreateGroup(NhConfig cfg, out NexthopObj? nh)
    {
        nh = null;
        if (cfg.GroupType == NEXTHOP_GRP_TYPE_RES)
            return new KErr(Errno.EOPNOTSUPP, "Resilient nexthop groups are not supported by this kernel yet");
        var err = NhCheckGroupMembers(cfg);
        if (err.Failed) return err;
        var g = new NexthopObj { IsGroup = true, Family = (byte)AF_UNSPEC, GroupType = cfg.GroupType, Fdb = cfg.Fdb, Group = new() };
        foreach (var (id, weight) in cfg.Group!)
        {
            var m = NexthopFindById(id)!;
            g.Group.Add(new NhGroupEntry(m, weight));
            if (m.Family == AF_INET) g.HasV4 = true;
            m.Parents.Add(g);
        }
        nh = g;
        return KErr.Ok;
    }

    /// <summary>nexthop_create: a single nexthop (nh_create_ipv4 / nh_create_ipv6).</summary>
    private KErr NexthopCreate(NhConfig cfg, out NexthopObj? nh)
    {
        nh = null;
        var obj = new NexthopObj { Family = cfg.Family, Fdb = cfg.Fdb, Blackhole = cfg.Blackhole };
        int oif = cfg.Blackhole ? Loopback.Ifindex : cfg.Oif;
        var info = new Nexthop { Oif = oif, Flags = cfg.Flags };
        if (cfg.HasGateway)
        {
            info.GwFamily = cfg.Family;
            info.Gateway = cfg.Gateway;
        }
        obj.Info = info;
        if (cfg.Fdb)
        {
            nh = obj;
            return KErr.Ok;
        }
        KErr err;
        if (cfg.Family == AF_INET)
        {
            err = Ipv4.FibCheckNh(info, RT_TABLE_MAIN, 0);
            if (err.Failed) return err;
        }
        else
        {
            err = Ipv6.Fib6NhInit(info, oif, cfg.HasGateway ? cfg.Gateway : null, cfg.Flags, cfg.Blackhole, (uint)RT_TABLE_MAIN);
            if (err.Failed) return err;
            info.Scope = (byte)RT_SCOPE_LINK;
        }
        obj.Flags = info.Flags;
        nh = obj;
        return KErr.Ok;
    }

    /// <summary>insert_nexthop.</summary>
    private KErr InsertNexthop(NexthopObj nh, NhConfig cfg, out NexthopObj? result)
    {
        result = null;
        bool replace = (cfg.NlFlags & NLM_F_REPLACE) != 0;
        bool create = (cfg.NlFlags & NLM_F_CREATE) != 0;
        var old = NexthopFindById(nh.Id);
        if (old != null)
        {
            if (!replace) return new KErr(Errno.EEXIST);
            var err = ReplaceNexthop(old, nh);
            if (err.Failed) return err;
            NexthopSeq++;
            Events.Nexthop(this, old, false);
            NexthopReplaceNotify(old);
            result = old;
            return KErr.Ok;
        }
        if (replace && !create)
            return new KErr(Errno.ENOENT, "Replace specified without create and no entry exists");
        _nexthops.Add(nh.Id, nh);
        NexthopSeq++;
        Events.Nexthop(this, nh, false);
        result = nh;
        return KErr.Ok;
    }

    /// <summary>replace_nexthop: the old object keeps its identity (routes and groups keep using
    /// it) and takes the new definition.</summary>
    private KErr ReplaceNexthop(NexthopObj old, NexthopObj nw)
    {
        var err = CheckRoutesAccept(old, nw);
        if (err.Failed) return err;
        foreach (var parent in old.Parents)
        {
            if (nw.Blackhole && parent.PathCount > 1)
                return new KErr(Errno.EINVAL, "Blackhole nexthop can not be a member of a group with more than one path");
            err = CheckRoutesAccept(parent, nw);
            if (err.Failed) return err;
        }
        if (old.IsGroup)
        {
            if (!nw.IsGroup) return new KErr(Errno.EINVAL, "Can not replace a nexthop group with a nexthop.");
            if (old.GroupType != nw.GroupType)
                return new KErr(Errno.EINVAL, "Can not replace a nexthop group with one of a different type.");
            foreach (var e in old.Group!) e.Nh.Parents.Remove(old);
            foreach (var e in nw.Group!)
            {
                e.Nh.Parents.Remove(nw);
                e.Nh.Parents.Add(old);
            }
            old.Group = nw.Group;
            old.HasV4 = nw.HasV4;
            old.Fdb = nw.Fdb;
        }
        else
        {
            if (nw.IsGroup)
            {
                DetachMembers(nw);
                return new KErr(Errno.EINVAL, "Can not replace a nexthop with a nexthop group.");
            }
            old.Info = nw.Info;
            old.Family = nw.Family;
            old.Blackhole = nw.Blackhole;
            old.Fdb = nw.Fdb;
            old.Flags = nw.Flags;
            foreach (var parent in old.Parents)
            {
                parent.HasV4 = false;
                foreach (var e in parent.Group!)
                    if (e.Nh.Family == AF_INET) parent.HasV4 = true;
            }
        }
        old.Protocol = nw.Protocol;
        return KErr.Ok;
    }

    /// <summary>fib_check_nh_list / fib6_check_nh_list: the routes using <paramref name="old"/>
    /// can use <paramref name="nw"/>.</summary>
    private static KErr CheckRoutesAccept(NexthopObj old, NexthopObj nw)
    {
        foreach (var r in old.Routes)
        {
            var err = r.Family == AF_INET
                ? Model.Ipv4.Ipv4Net.FibCheckNexthop(nw, r.Scope)
                : Model.Ipv6.Ipv6Net.Fib6CheckNexthop(nw);
            if (err.Failed) return err;
        }
        return KErr.Ok;
    }

    /// <summary>nexthop_replace_notify: every route through the nexthop (or a group holding it) is
    /// announced again.</summary>
    private void NexthopReplaceNotify(NexthopObj nh)
    {
        foreach (var r in nh.Routes.ToArray()) Events.Route(this, r, RouteEventKind.Replace);
        foreach (var p in nh.Parents)
            foreach (var r in p.Routes.ToArray()) Events.Route(this, r, RouteEventKind.Replace);
    }

    private static void DetachMembers(NexthopObj nh)
    {
        if (!nh.IsGroup) return;
        foreach (var e in nh.Group!) e.Nh.Parents.Remove(nh);
    }

    /// <summary>rtm_del_nexthop.</summary>
    public KErr NexthopDel(uint id, bool notify = true)
    {
        var nh = NexthopFindById(id);
        if (nh == null) return new KErr(Errno.ENOENT);
        RemoveNexthop(nh, notify);
        return KErr.Ok;
    }

    /// <summary>remove_nexthop: out of the tree, RTM_DELNEXTHOP (for requests), then its routes
    /// and its group memberships go.</summary>
    private void RemoveNexthop(NexthopObj nh, bool notify)
    {
        if (nh.Dead) return;
        _nexthops.Remove(nh.Id);
        if (notify) Events.Nexthop(this, nh, true);
        // __remove_nexthop_fib: IPv4 routes die (flushed silently), IPv6 routes are deleted
        bool flush = false;
        var v6 = new List<Route>();
        foreach (var r in nh.Routes)
        {
            if (r.Family == AF_INET)
            {
                r.Flags |= (uint)RTNH_F_DEAD;
                flush = true;
            }
            else v6.Add(r);
        }
        if (flush) Ipv4.FibFlush();
        nh.Dead = true;
        foreach (var r in v6) Ipv6.Ip6DelRt(r);
        if (nh.IsGroup)
        {
            foreach (var e in nh.Group!) e.Nh.Parents.Remove(nh);
        }
        else
        {
            foreach (var parent in nh.Parents.ToArray()) RemoveNhGroupEntry(parent, nh, notify);
        }
        NexthopSeq++;
    }

    /// <summary>remove_nh_grp_entry: the group shrinks, or goes when it was its last member.</summary>
    private void RemoveNhGroupEntry(NexthopObj group, NexthopObj member, bool notify)
    {
        member.Parents.Remove(group);
        if (group.Group!.Count == 1)
        {
            RemoveNexthop(group, notify);
            return;
        }
        group.Group.RemoveAll(e => e.Nh == member);
        group.HasV4 = group.Group.Exists(e => e.Nh.Family == AF_INET);
        if (notify) Events.Nexthop(this, group, false);
    }

    /// <summary>nexthop_flush_dev: nexthops through a device that went down, lost its carrier or
    /// went away are deleted (blackholes survive down/carrier loss of lo).</summary>
    private void NexthopFlushDev(NetDevice dev, NetdevEvent ev)
    {
        var victims = new List<NexthopObj>();
        var c = _nexthops.Start();
        while (_nexthops.MoveNext(ref c))
        {
            var nh = c.Value;
            if (nh.IsGroup || nh.Info?.Dev != dev) continue;
            if (nh.Blackhole && (ev == NetdevEvent.Down || ev == NetdevEvent.Change)) continue;
            victims.Add(nh);
        }
        foreach (var nh in victims) RemoveNexthop(nh, false);
    }

    /// <summary>Deletes every nexthop (namespace teardown, flush_all_nexthops).</summary>
    internal void FlushAllNexthops()
    {
        foreach (var nh in _nexthops.Values.ToList()) RemoveNexthop(nh, false);
    }

    /// <summary>nh_netdev_event: the netdev notifier of the nexthop objects.</summary>
    private sealed class NhNetdevEvent(Net net) : INetdevNotifier
    {
        public void OnNetdevEvent(NetdevEvent ev, NetDevice dev)
        {
            switch (ev)
            {
                case NetdevEvent.Down:
                case NetdevEvent.Unregister:
                    net.NexthopFlushDev(dev, ev);
                    break;
                case NetdevEvent.Change:
                    if ((dev.GetFlags() & (IFF_RUNNING | IFF_LOWER_UP)) == 0) net.NexthopFlushDev(dev, ev);
                    break;
            }
        }
    }
}
