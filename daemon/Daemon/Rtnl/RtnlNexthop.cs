using System.Buffers.Binary;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>Nexthop objects over rtnetlink (net/ipv4/nexthop.c): RTM_NEWNEXTHOP, RTM_DELNEXTHOP,
/// RTM_GETNEXTHOP (get and dump) and nh_fill_node.</summary>
public static class RtnlNexthopHandlers
{
    private const int NexthopGrpSize = 8; // struct nexthop_grp

    /// <summary>rtm_nh_policy_new.</summary>
    private static readonly Policy PolicyNew = new(NHA_HW_STATS_ENABLE,
        ((ushort)NHA_ID, new NlaPolicy(NlaType.U32)),
        ((ushort)NHA_GROUP, new NlaPolicy(NlaType.Binary)),
        ((ushort)NHA_GROUP_TYPE, new NlaPolicy(NlaType.U16)),
        ((ushort)NHA_BLACKHOLE, new NlaPolicy(NlaType.Flag)),
        ((ushort)NHA_OIF, new NlaPolicy(NlaType.U32)),
        ((ushort)NHA_GATEWAY, new NlaPolicy(NlaType.Binary)),
        ((ushort)NHA_ENCAP_TYPE, new NlaPolicy(NlaType.U16)),
        ((ushort)NHA_ENCAP, new NlaPolicy(NlaType.Nested)),
        ((ushort)NHA_FDB, new NlaPolicy(NlaType.Flag)),
        ((ushort)NHA_RES_GROUP, new NlaPolicy(NlaType.Nested)),
        ((ushort)NHA_HW_STATS_ENABLE, new NlaPolicy(NlaType.U32)));

    /// <summary>rtm_nh_policy_get.</summary>
    private static readonly Policy PolicyGet = new(NHA_OP_FLAGS,
        ((ushort)NHA_ID, new NlaPolicy(NlaType.U32)),
        ((ushort)NHA_OP_FLAGS, new NlaPolicy(NlaType.U32)));

    /// <summary>rtm_nh_policy_del.</summary>
    private static readonly Policy PolicyDel = new(NHA_ID,
        ((ushort)NHA_ID, new NlaPolicy(NlaType.U32)));

    /// <summary>rtm_nh_policy_dump.</summary>
    private static readonly Policy PolicyDump = new(NHA_OP_FLAGS,
        ((ushort)NHA_OIF, new NlaPolicy(NlaType.U32)),
        ((ushort)NHA_GROUPS, new NlaPolicy(NlaType.Flag)),
        ((ushort)NHA_MASTER, new NlaPolicy(NlaType.U32)),
        ((ushort)NHA_FDB, new NlaPolicy(NlaType.Flag)),
        ((ushort)NHA_OP_FLAGS, new NlaPolicy(NlaType.U32)));

    public static void Register(Rtnetlink rtnl)
    {
        rtnl.Register(AF_UNSPEC, RTM_NEWNEXTHOP, NewNexthop, null);
        rtnl.Register(AF_UNSPEC, RTM_DELNEXTHOP, DelNexthop, null);
        rtnl.Register(AF_UNSPEC, RTM_GETNEXTHOP, GetNexthop, DumpNexthops);
        // the kernel registers them under PF_INET and PF_INET6 too (same handlers)
        foreach (int af in new[] { AF_INET, AF_INET6 })
        {
            rtnl.Register(af, RTM_NEWNEXTHOP, NewNexthop, null);
            rtnl.Register(af, RTM_GETNEXTHOP, null, DumpNexthops);
        }
    }

    /// <summary>rtm_to_nh_config + rtm_to_nh_config_rtnl.</summary>
    private static int RtmToNhConfig(RtnlRequest req, AttrTable tb, out NhConfig cfg)
    {
        cfg = new NhConfig();
        var nhm = NhMsg.Read(req.Payload);
        if (nhm.Resvd != 0 || nhm.Scope != 0) return req.Ext.Fail(Errno.EINVAL, "Invalid values in ancillary header");
        const uint validUserFlags = (uint)RTNH_F_ONLINK;
        if ((nhm.Flags & ~validUserFlags) != 0) return req.Ext.Fail(Errno.EINVAL, "Invalid nexthop flags in ancillary header");
        switch (nhm.Family)
        {
            case AF_INET:
            case AF_INET6:
                break;
            case AF_UNSPEC when tb.Has(NHA_GROUP):
                break;
            default:
                return req.Ext.Fail(Errno.EINVAL, "Invalid address family");
        }
        cfg.NlFlags = req.Flags;
        cfg.Family = nhm.Family;
        cfg.Protocol = nhm.Protocol;
        cfg.Flags = nhm.Flags;
        if (tb.Has(NHA_ID)) cfg.Id = tb.U32(NHA_ID);
        if (tb.Has(NHA_FDB))
        {
            if (tb.Has(NHA_OIF) || tb.Has(NHA_BLACKHOLE) || tb.Has(NHA_ENCAP) || tb.Has(NHA_ENCAP_TYPE))
                return req.Ext.Fail(Errno.EINVAL, "Fdb attribute can not be used with encap, oif or blackhole");
            if (nhm.Flags != 0) return req.Ext.Fail(Errno.EINVAL, "Unsupported nexthop flags in ancillary header");
            cfg.Fdb = true;
        }
        if (tb.Has(NHA_GROUP))
        {
            if (nhm.Family != AF_UNSPEC) return req.Ext.Fail(Errno.EINVAL, "Invalid family for group");
            cfg.GroupType = tb.Has(NHA_GROUP_TYPE) ? tb.U16(NHA_GROUP_TYPE) : (ushort)NEXTHOP_GRP_TYPE_MPATH;
            if (cfg.GroupType > NEXTHOP_GRP_TYPE_MAX) return req.Ext.Fail(Errno.EINVAL, "Invalid group type");
            var g = tb.Payload(NHA_GROUP);
            if (g.Length == 0 || (g.Length & (NexthopGrpSize - 1)) != 0)
                return req.Ext.Fail(Errno.EINVAL, "Invalid length for nexthop group attribute");
            int n = g.Length / NexthopGrpSize;
            cfg.Group = new List<(uint, uint)>(n);
            for (int i = 0; i < n; i++)
            {
                var e = g.Slice(i * NexthopGrpSize, NexthopGrpSize);
                uint id = BinaryPrimitives.ReadUInt32LittleEndian(e);
                if (BinaryPrimitives.ReadUInt16LittleEndian(e[6..]) != 0)
                    return req.Ext.Fail(Errno.EINVAL, "Reserved field in nexthop_grp must be 0");
                uint weight = ((uint)e[5] << 8 | e[4]) + 1;
                if (weight == 0x10000) return req.Ext.Fail(Errno.EINVAL, "Invalid value for weight");
                foreach (var (other, _) in cfg.Group)
                    if (other == id) return req.Ext.Fail(Errno.EINVAL, "Nexthop id can not be used twice in a group");
                cfg.Group.Add((id, weight));
            }
            for (int t = NHA_GROUP_TYPE + 1; t <= tb.MaxType; t++)
            {
                if (!tb.Has(t)) continue;
                if (t is NHA_HW_STATS_ENABLE or NHA_FDB) continue;
                if (t == NHA_RES_GROUP && cfg.GroupType == NEXTHOP_GRP_TYPE_RES) continue;
                return req.Ext.Fail(Errno.EINVAL, "No other attributes can be set in nexthop groups");
            }
            // nh_check_attr_group_rtnl
            return req.Ext.Set(req.Net.NhCheckGroupMembers(cfg));
        }
        if (tb.Has(NHA_BLACKHOLE))
        {
            if (tb.Has(NHA_GATEWAY) || tb.Has(NHA_OIF) || tb.Has(NHA_ENCAP) || tb.Has(NHA_ENCAP_TYPE) || tb.Has(NHA_FDB))
                return req.Ext.Fail(Errno.EINVAL, "Blackhole attribute can not be used with gateway, oif, encap or fdb");
            cfg.Blackhole = true;
            return 0;
        }
        if (!cfg.Fdb && !tb.Has(NHA_OIF))
            return req.Ext.Fail(Errno.EINVAL, "Device attribute required for non-blackhole and non-fdb nexthops");
        if (tb.Has(NHA_GATEWAY))
        {
            var gw = tb.Payload(NHA_GATEWAY);
            switch (cfg.Family)
            {
                case AF_INET:
                    if (gw.Length != 4) return req.Ext.Fail(Errno.EINVAL, "Invalid gateway");
                    cfg.Gateway = Inet.V4(gw);
                    cfg.HasGateway = cfg.Gateway != 0;
                    break;
                case AF_INET6:
                    if (gw.Length != 16) return req.Ext.Fail(Errno.EINVAL, "Invalid gateway");
                    cfg.Gateway = Inet.V6(gw);
                    cfg.HasGateway = true;
                    break;
                default:
                    return req.Ext.Fail(Errno.EINVAL, "Unknown address family for gateway");
            }
        }
        else if ((cfg.Flags & RTNH_F_ONLINK) != 0)
            return req.Ext.Fail(Errno.EINVAL, "ONLINK flag can not be set for nexthop without a gateway");
        if (tb.Has(NHA_ENCAP) || tb.Has(NHA_ENCAP_TYPE))
            return req.Ext.Fail(Errno.EOPNOTSUPP, "Lightweight tunnel encapsulation is not supported by this kernel yet");
        if (tb.Has(NHA_HW_STATS_ENABLE))
            return req.Ext.Fail(Errno.EINVAL, "Cannot enable nexthop hardware statistics for non-group nexthops");
        if (!cfg.Fdb && tb.Has(NHA_OIF))
        {
            uint idx = tb.U32(NHA_OIF);
            var dev = idx != 0 ? req.Net.GetDevice((int)idx) : null;
            if (dev == null) return req.Ext.Fail(Errno.EINVAL, "Invalid device index");
            if (!dev.IsUp) return req.Ext.Fail(Errno.ENETDOWN, "Nexthop device is not up");
            if (!dev.Carrier) return req.Ext.Fail(Errno.ENETDOWN, "Carrier for nexthop device is down");
            cfg.Oif = dev.Ifindex;
        }
        return 0;
    }

    /// <summary>rtm_new_nexthop.</summary>
    private static int NewNexthop(RtnlRequest req)
    {
        var tb = req.Parse(NhMsg.Size, PolicyNew, NlValidate.Strict, out int err);
        if (tb == null) return err;
        err = RtmToNhConfig(req, tb, out var cfg);
        if (err != 0) return err;
        return req.Ext.Set(req.Net.NexthopAdd(cfg, out _));
    }

    /// <summary>nh_valid_get_del_req.</summary>
    private static int ValidGetDelReq(RtnlRequest req, AttrTable tb, out uint id)
    {
        id = 0;
        var nhm = NhMsg.Read(req.Payload);
        if (nhm.Protocol != 0 || nhm.Resvd != 0 || nhm.Scope != 0 || nhm.Flags != 0)
            return req.Ext.Fail(Errno.EINVAL, "Invalid values in header");
        if (!tb.Has(NHA_ID)) return req.Ext.Fail(Errno.EINVAL, "Nexthop id is missing");
        id = tb.U32(NHA_ID);
        if (id == 0) return req.Ext.Fail(Errno.EINVAL, "Invalid nexthop id");
        return 0;
    }

    /// <summary>rtm_del_nexthop.</summary>
    private static int DelNexthop(RtnlRequest req)
    {
        var tb = req.Parse(NhMsg.Size, PolicyDel, NlValidate.Strict, out int err);
        if (tb == null) return err;
        err = ValidGetDelReq(req, tb, out uint id);
        if (err != 0) return err;
        return req.Ext.Set(req.Net.NexthopDel(id));
    }

    /// <summary>rtm_get_nexthop.</summary>
    private static int GetNexthop(RtnlRequest req)
    {
        var tb = req.Parse(NhMsg.Size, PolicyGet, NlValidate.Strict, out int err);
        if (tb == null) return err;
        err = ValidGetDelReq(req, tb, out uint id);
        if (err != 0) return err;
        var nh = req.Net.NexthopFindById(id);
        if (nh == null) return -Errno.ENOENT;
        var w = new NlWriter(256);
        FillNexthop(w, nh, RTM_NEWNEXTHOP, req.Sock.PortId, req.Hdr.Seq, 0);
        req.Unicast(w);
        return 0;
    }

    /// <summary>rtm_dump_nexthop with nh_valid_dump_req and nh_dump_filtered; resumes after the last id sent.</summary>
    private static IEnumerable<bool> DumpNexthops(RtnlRequest req, NlWriter w, DumpState d)
    {
        var tb = req.Parse(NhMsg.Size, PolicyDump, NlValidate.Strict, out int err);
        if (tb == null) throw new RtnlDumpError(-err, req.Ext.Message);
        int devIdx = 0, masterIdx = 0;
        if (tb.Has(NHA_OIF))
        {
            uint idx = tb.U32(NHA_OIF);
            if (idx > int.MaxValue) throw new RtnlDumpError(Errno.EINVAL, "Invalid device index");
            devIdx = (int)idx;
        }
        if (tb.Has(NHA_MASTER))
        {
            uint idx = tb.U32(NHA_MASTER);
            if (idx > int.MaxValue) throw new RtnlDumpError(Errno.EINVAL, "Invalid master device index");
            masterIdx = (int)idx;
        }
        bool groups = tb.Has(NHA_GROUPS), fdb = tb.Has(NHA_FDB);
        var nhm = NhMsg.Read(req.Payload);
        if (nhm.Protocol != 0 || nhm.Resvd != 0 || nhm.Scope != 0 || nhm.Flags != 0)
            throw new RtnlDumpError(Errno.EINVAL, "Invalid values in header for nexthop dump request");
        byte family = nhm.Family;
        var index = req.Net.NexthopIndex;
        var c = index.Start();
        while (index.MoveNext(ref c))
        {
            var nh = c.Value;
            if (Filtered(nh, groups, fdb, devIdx, masterIdx, family)) continue;
            FillNexthop(w, nh, RTM_NEWNEXTHOP, req.Sock.PortId, req.Hdr.Seq, NLM_F_MULTI);
            yield return true;
        }
    }

    /// <summary>nh_dump_filtered.</summary>
    private static bool Filtered(NexthopObj nh, bool groups, bool fdb, int devIdx, int masterIdx, byte family)
    {
        if (groups && !nh.IsGroup) return true;
        if (fdb && !nh.Fdb) return true;
        if (devIdx == 0 && masterIdx == 0 && family == 0) return false;
        if (nh.IsGroup) return true;
        if (family != 0 && nh.Family != family) return true;
        var dev = nh.Info?.Dev;
        if (devIdx != 0 && (dev == null || dev.Ifindex != devIdx)) return true;
        if (masterIdx != 0 && (dev?.Master == null || dev.Master.Ifindex != masterIdx)) return true;
        return false;
    }

    /// <summary>nh_fill_node.</summary>
    public static void FillNexthop(NlWriter w, NexthopObj nh, int type, uint pid, uint seq, int flags)
    {
        int start = w.BeginMessage(type, flags, seq, pid);
        int hdrOff = w.Length;
        var nhm = new NhMsg { Family = (byte)AF_UNSPEC, Flags = nh.Flags, Protocol = nh.Protocol };
        w.Reserve(NhMsg.Size);
        w.PutU32(NHA_ID, nh.Id);
        if (nh.IsGroup)
        {
            if (nh.Fdb) w.PutFlag(NHA_FDB);
            w.PutU16(NHA_GROUP_TYPE, nh.GroupType);
            var g = w.ReserveAttr(NHA_GROUP, nh.Group!.Count * NexthopGrpSize);
            for (int i = 0; i < nh.Group.Count; i++)
            {
                var e = g.Slice(i * NexthopGrpSize, NexthopGrpSize);
                uint weight = nh.Group[i].Weight - 1;
                BinaryPrimitives.WriteUInt32LittleEndian(e, nh.Group[i].Nh.Id);
                e[4] = (byte)weight;
                e[5] = (byte)(weight >> 8);
            }
        }
        else
        {
            var nhi = nh.Info!;
            nhm.Family = nh.Family;
            if (nh.Blackhole) w.PutFlag(NHA_BLACKHOLE);
            else
            {
                if (nh.Fdb) w.PutFlag(NHA_FDB);
                else if (nhi.Dev != null) w.PutU32(NHA_OIF, (uint)nhi.Dev.Ifindex);
                nhm.Scope = nhi.Scope;
                if (nhi.GwFamily == AF_INET) w.PutBe32(NHA_GATEWAY, (uint)nhi.Gateway);
                else if (nhi.GwFamily == AF_INET6)
                {
                    Span<byte> a = stackalloc byte[16];
                    Inet.V6(nhi.Gateway, a);
                    w.PutBytes(NHA_GATEWAY, a);
                }
            }
        }
        nhm.Write(w.At(hdrOff, NhMsg.Size));
        w.EndMessage(start);
    }
}
