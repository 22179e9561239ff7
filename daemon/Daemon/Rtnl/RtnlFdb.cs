using System.Buffers.Binary;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Model.Links;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>The bridge forwarding database over rtnetlink (`bridge fdb`): AF_BRIDGE RTM_NEWNEIGH,
/// RTM_DELNEIGH and RTM_GETNEIGH as net/core/rtnetlink.c handles them (rtnl_fdb_add, rtnl_fdb_del,
/// rtnl_fdb_get, rtnl_fdb_dump): a bridge port's entries go to its bridge (NTF_MASTER, the
/// default), a device's own ones (NTF_SELF) to the device — the bridge's table for a bridge, else
/// the default implementation over the device's unicast and multicast address lists
/// (ndo_dflt_fdb_add/del/dump). vxlan's own table is not modelled: its `self` requests answer
/// EOPNOTSUPP, and a dump shows none of its entries.</summary>
public static class RtnlFdbHandlers
{
    public static void Register(Rtnetlink rtnl)
    {
        rtnl.Register(AF_BRIDGE, RTM_NEWNEIGH, FdbAdd, null);
        rtnl.Register(AF_BRIDGE, RTM_DELNEIGH, FdbDel, null);
        rtnl.Register(AF_BRIDGE, RTM_GETNEIGH, FdbGet, FdbDump);
    }

    /// <summary>nlmsg_parse with a NULL policy: every attribute up to NDA_MAX, unchecked.</summary>
    private static readonly Policy NoPolicy = new(NDA_MAX);

    /// <summary>br_nda_fdb_pol.</summary>
    private static readonly Policy NfeaPolicy = new(NFEA_MAX,
        ((ushort)NFEA_ACTIVITY_NOTIFY, new NlaPolicy(NlaType.U8)),
        ((ushort)NFEA_DONT_REFRESH, new NlaPolicy(NlaType.Flag)));

    /// <summary>br_fdb_del_bulk_policy (the ranges are checked by hand below).</summary>
    private static readonly Policy DelBulkPolicy = new(NDA_MAX,
        ((ushort)NDA_VLAN, new NlaPolicy(NlaType.U16)),
        ((ushort)NDA_IFINDEX, new NlaPolicy(NlaType.S32)),
        ((ushort)NDA_NDM_STATE_MASK, new NlaPolicy(NlaType.U16)),
        ((ushort)NDA_NDM_FLAGS_MASK, new NlaPolicy(NlaType.U8)));

    private static NetBridge? BridgeOf(NetDevice dev) => dev.Ops.IsBridge ? BridgeLinkOps.Priv(dev) : null;

    /// <summary>netif_is_bridge_port, with the bridge it belongs to.</summary>
    private static NetBridge? MasterBridge(NetDevice dev) =>
        (dev.PrivFlags & PrivFlags.EbridgePort) != 0 && dev.Master is { Ops.IsBridge: true } m ? BridgeLinkOps.Priv(m) : null;

    /// <summary>fdb_vid_parse.</summary>
    private static int FdbVidParse(RtnlRequest req, AttrTable tb, out ushort vid)
    {
        vid = 0;
        if (!tb.Has(NDA_VLAN)) return 0;
        if (tb.Get(NDA_VLAN).Length != 2) return req.Ext.Fail(Errno.EINVAL, "invalid vlan attribute size");
        vid = tb.U16(NDA_VLAN);
        if (vid == 0 || vid >= 4095) return req.Ext.Fail(Errno.EINVAL, "invalid vlan id");
        return 0;
    }

    private static bool IsLinkLocalEther(ReadOnlySpan<byte> a) =>
        a[0] == 0x01 && a[1] == 0x80 && a[2] == 0xc2 && a[3] == 0 && a[4] == 0 && (a[5] & 0xf0) == 0;

    /// <summary>ndo_dflt_fdb_add: a permanent address in the device's own unicast or multicast list.</summary>
    private static int DfltFdbAdd(RtnlRequest req, NdMsg ndm, AttrTable tb, NetDevice dev, byte[] addr, ushort vid)
    {
        if ((ndm.State & NUD_PERMANENT) == 0) return -Errno.EINVAL; // "only supports local addresses"
        if (tb.Has(NDA_FLAGS_EXT)) return -Errno.EINVAL;
        if (vid != 0) return -Errno.EINVAL; // "vlans aren't supported yet for dev_uc|mc_add()"
        int err = -Errno.EINVAL;
        if (!EtherAddr.IsMulticast(addr) || IsLinkLocalEther(addr)) err = dev.Net.DevUcAddExcl(dev, addr);
        else err = dev.Net.DevMcAddExcl(dev, addr);
        if (err == -Errno.EEXIST && (req.Flags & NLM_F_EXCL) == 0) err = 0;
        return err;
    }

    /// <summary>ndo_dflt_fdb_del.</summary>
    private static int DfltFdbDel(NdMsg ndm, NetDevice dev, byte[] addr)
    {
        if ((ndm.State & NUD_PERMANENT) == 0) return -Errno.EINVAL;
        if (!EtherAddr.IsMulticast(addr) || IsLinkLocalEther(addr)) return dev.Net.DevUcDel(dev, addr);
        return dev.Net.DevMcDel(dev, addr);
    }

    private static FdbAddRequest AddRequest(RtnlRequest req, NdMsg ndm, AttrTable? nfea) => new(
        ndm.State, ndm.Flags, req.Flags,
        nfea != null && nfea.Has(NFEA_ACTIVITY_NOTIFY) ? nfea.U8(NFEA_ACTIVITY_NOTIFY) : null,
        nfea != null && nfea.Has(NFEA_DONT_REFRESH));

    /// <summary>br_fdb_add's parse of NDA_FDB_EXT_ATTRS; null table when absent.</summary>
    private static int ParseNfea(RtnlRequest req, AttrTable tb, out AttrTable? nfea)
    {
        nfea = null;
        if (!tb.Has(NDA_FDB_EXT_ATTRS)) return 0;
        nfea = tb.ParseNested(NDA_FDB_EXT_ATTRS, NfeaPolicy, NlValidate.Strict, out var e);
        return nfea == null ? req.Ext.Set(e) : 0;
    }

    /// <summary>br_fdb_add on <paramref name="br"/> for <paramref name="dev"/> (a port, or the bridge).</summary>
    private static int BrFdbAdd(RtnlRequest req, NetBridge br, NetDevice dev, NdMsg ndm, AttrTable tb, byte[] addr, ushort vid)
    {
        bool extLocked = tb.Has(NDA_FLAGS_EXT) && (tb.U32(NDA_FLAGS_EXT) & NTF_EXT_LOCKED) != 0;
        if ((ndm.State & (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE)) == 0 || EtherAddr.IsZero(addr))
            return -Errno.EINVAL;
        if (dev != br.Dev && MasterBridge(dev) != br) return -Errno.EINVAL; // "not a bridge port"
        if (!extLocked)
        {
            int err = ParseNfea(req, tb, out var nfea);
            if (err < 0) return err;
            return req.Ext.Set(br.FdbAdd(dev, addr, vid, AddRequest(req, ndm, nfea), false));
        }
        return req.Ext.Set(br.FdbAdd(dev, addr, vid, AddRequest(req, ndm, null), true));
    }

    /// <summary>rtnl_fdb_add.</summary>
    private static int FdbAdd(RtnlRequest req)
    {
        var tb = req.Parse(NdMsg.Size, NoPolicy, NlValidate.Liberal, out int err);
        if (tb == null) return err;
        var ndm = NdMsg.Read(req.Payload);
        if (ndm.Ifindex == 0) return req.Ext.Fail(Errno.EINVAL, "invalid ifindex");
        var dev = req.Net.GetDevice(ndm.Ifindex);
        if (dev == null) return req.Ext.Fail(Errno.ENODEV, "unknown ifindex");
        if (!tb.Has(NDA_LLADDR) || tb.Get(NDA_LLADDR).Length != 6) return req.Ext.Fail(Errno.EINVAL, "invalid address");
        if (dev.Type != ARPHRD_ETHER) return req.Ext.Fail(Errno.EINVAL, "FDB add only supported for Ethernet devices");
        var addr = tb.Payload(NDA_LLADDR).ToArray();
        if ((err = FdbVidParse(req, tb, out ushort vid)) < 0) return err;

        err = -Errno.EOPNOTSUPP;
        byte flags = ndm.Flags;
        // the bridge's table, for one of its ports (the default)
        if ((flags == 0 || (flags & NTF_MASTER) != 0) && MasterBridge(dev) is { } br)
        {
            err = BrFdbAdd(req, br, dev, ndm, tb, addr, vid);
            if (err < 0) return err;
            flags &= unchecked((byte)~NTF_MASTER);
        }
        // the device's own table
        if ((flags & NTF_SELF) != 0)
        {
            bool notified = false;
            if (BridgeOf(dev) is { } self)
            {
                err = BrFdbAdd(req, self, dev, ndm, tb, addr, vid);
                notified = true; // the bridge announces its own entries
            }
            else if (dev.Ops.Kind == "vxlan")
                err = req.Ext.Fail(Errno.EOPNOTSUPP, "The vxlan forwarding database is not supported by this kernel yet");
            else err = DfltFdbAdd(req, ndm, tb, dev, addr, vid);
            if (err == 0 && !notified) req.Engine.Notifier.FdbSelf(dev, addr, vid, RTM_NEWNEIGH, ndm.State);
        }
        return err;
    }

    /// <summary>br_fdb_delete_bulk: the entries of a bridge (or of one of its ports) that match.</summary>
    private static int BrFdbDeleteBulk(RtnlRequest req, NetDevice dev)
    {
        var ndm = NdMsg.Read(req.Payload);
        byte ndmFlags = (byte)(ndm.Flags & ~(NTF_MASTER | NTF_SELF)); // FDB_FLUSH_IGNORED_NDM_FLAGS
        var tb = req.Parse(NdMsg.Size, DelBulkPolicy, NlValidate.Strict, out int err);
        if (tb == null) return err;
        NetBridge br;
        BridgePort? p = null;
        if (BridgeOf(dev) is { } self) br = self;
        else
        {
            p = NetBridge.PortOf(dev);
            if (p == null) return req.Ext.Fail(Errno.EINVAL, "bridge: Device is not a bridge port");
            br = p.Br;
        }
        ushort vid = 0;
        if (tb.Has(NDA_VLAN))
        {
            vid = tb.U16(NDA_VLAN);
            if (vid < 1 || vid > 4094)
                return req.Ext.Fail(Errno.ERANGE, "integer out of range", tb.OffsetOf(NDA_VLAN));
        }
        const int allowedFlags = NTF_USE | NTF_EXT_LEARNED | NTF_STICKY | NTF_OFFLOADED;
        if ((ndmFlags & ~allowedFlags) != 0) return req.Ext.Fail(Errno.EINVAL, "Unsupported fdb flush ndm flag bits set");
        if ((ndm.State & ~(NUD_PERMANENT | NUD_NOARP)) != 0)
            return req.Ext.Fail(Errno.EINVAL, "Unsupported fdb flush ndm state bits set");
        var flags = NetBridge.NdmStateToFdbFlags(ndm.State) | NetBridge.NdmFlagsToFdbFlags(ndmFlags);
        FdbFlags mask = 0;
        if (tb.Has(NDA_NDM_STATE_MASK)) mask |= NetBridge.NdmStateToFdbFlags(tb.U16(NDA_NDM_STATE_MASK));
        if (tb.Has(NDA_NDM_FLAGS_MASK)) mask |= NetBridge.NdmFlagsToFdbFlags(tb.U8(NDA_NDM_FLAGS_MASK));
        int portIfindex = 0;
        if (tb.Has(NDA_IFINDEX))
        {
            int ifidx = tb.S32(NDA_IFINDEX);
            if (ifidx < 1) return req.Ext.Fail(Errno.ERANGE, "integer out of range", tb.OffsetOf(NDA_IFINDEX));
            // __fdb_flush_validate_ifindex
            var fdev = req.Net.GetDevice(ifidx);
            if (fdev == null) return req.Ext.Fail(Errno.ENODEV, "bridge: Unknown flush device ifindex");
            var fbr = BridgeOf(fdev);
            var fp = NetBridge.PortOf(fdev);
            if (fbr == null && fp == null) return req.Ext.Fail(Errno.EINVAL, "bridge: Flush device is not a bridge or bridge port");
            if (fbr != null && fbr != br) return req.Ext.Fail(Errno.EINVAL, "bridge: Flush bridge device does not match target bridge device");
            if (fp != null && fp.Br != br) return req.Ext.Fail(Errno.EINVAL, "bridge: Port belongs to a different bridge device");
            portIfindex = ifidx;
        }
        else if (p != null) portIfindex = p.Dev.Ifindex;
        br.FdbFlush(new FdbFlushDesc(flags, mask, portIfindex, vid));
        return 0;
    }

    /// <summary>rtnl_fdb_del (NLM_F_BULK: a flush).</summary>
    private static int FdbDel(RtnlRequest req)
    {
        bool bulk = (req.Flags & NLM_F_BULK) != 0;
        // nlmsg_parse (bulk) or nlmsg_parse_deprecated, both without a policy
        var tb = req.Parse(NdMsg.Size, NoPolicy, bulk ? NlValidate.DeprecatedStrict : NlValidate.Liberal, out int err);
        if (tb == null) return err;
        var ndm = NdMsg.Read(req.Payload);
        if (ndm.Ifindex == 0) return req.Ext.Fail(Errno.EINVAL, "invalid ifindex");
        var dev = req.Net.GetDevice(ndm.Ifindex);
        if (dev == null) return req.Ext.Fail(Errno.ENODEV, "unknown ifindex");
        byte[] addr = [];
        ushort vid = 0;
        if (!bulk)
        {
            if (!tb.Has(NDA_LLADDR) || tb.Get(NDA_LLADDR).Length != 6) return req.Ext.Fail(Errno.EINVAL, "invalid address");
            addr = tb.Payload(NDA_LLADDR).ToArray();
            if ((err = FdbVidParse(req, tb, out vid)) < 0) return err;
        }
        if (dev.Type != ARPHRD_ETHER) return req.Ext.Fail(Errno.EINVAL, "FDB delete only supported for Ethernet devices");

        err = -Errno.EOPNOTSUPP;
        byte flags = ndm.Flags;
        if ((flags == 0 || (flags & NTF_MASTER) != 0) && MasterBridge(dev) is { } br)
        {
            err = bulk ? BrFdbDeleteBulk(req, dev) : req.Ext.Set(br.FdbDel(dev, addr, vid));
            if (err < 0) return err;
            flags &= unchecked((byte)~NTF_MASTER);
        }
        if ((flags & NTF_SELF) != 0)
        {
            bool notified = false;
            if (BridgeOf(dev) is { } self)
            {
                err = bulk ? BrFdbDeleteBulk(req, dev) : req.Ext.Set(self.FdbDel(dev, addr, vid));
                notified = true;
            }
            else if (bulk) err = -Errno.EOPNOTSUPP;
            else if (dev.Ops.Kind == "vxlan")
                err = req.Ext.Fail(Errno.EOPNOTSUPP, "The vxlan forwarding database is not supported by this kernel yet");
            else err = DfltFdbDel(ndm, dev, addr);
            if (err == 0 && !bulk && !notified) req.Engine.Notifier.FdbSelf(dev, addr, vid, RTM_DELNEIGH, ndm.State);
        }
        return err;
    }

    /// <summary>fdb_fill_info: a bridge entry.</summary>
    public static void FillFdb(NlWriter w, NetBridge br, FdbEntry f, int type, uint pid, uint seq, int flags)
    {
        int start = w.BeginMessage(type, flags, seq, pid);
        byte ndmFlags = 0;
        if (f.Has(FdbFlags.Offloaded)) ndmFlags |= NTF_OFFLOADED;
        if (f.Has(FdbFlags.AddedByExtLearn)) ndmFlags |= NTF_EXT_LEARNED;
        if (f.Has(FdbFlags.Sticky)) ndmFlags |= NTF_STICKY;
        new NdMsg
        {
            Family = (byte)AF_BRIDGE, Ifindex = f.Dst?.Dev.Ifindex ?? br.Dev.Ifindex, State = br.FdbToNud(f), Flags = ndmFlags,
        }.Write(w.Reserve(NdMsg.Size));
        w.PutBytes(NDA_LLADDR, f.Addr);
        w.PutU32(NDA_MASTER, (uint)br.Dev.Ifindex);
        w.PutU32(NDA_FLAGS_EXT, f.Has(FdbFlags.Locked) ? NTF_EXT_LOCKED : 0);
        long now = Jiffies.Now(br.Dev.Net.Kernel);
        var ci = w.ReserveAttr(NDA_CACHEINFO, 16);
        // struct nda_cacheinfo: confirmed, used, updated, refcnt
        BinaryPrimitives.WriteUInt32LittleEndian(ci, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(ci[4..], (uint)Jiffies.ToClockT(now - f.Used));
        BinaryPrimitives.WriteUInt32LittleEndian(ci[8..], (uint)Jiffies.ToClockT(now - f.Updated));
        BinaryPrimitives.WriteUInt32LittleEndian(ci[12..], 0);
        if (f.Vid != 0) w.PutU16(NDA_VLAN, f.Vid);
        if (f.Has(FdbFlags.Notify))
        {
            int nest = w.BeginNest(NDA_FDB_EXT_ATTRS, nestedFlag: true);
            byte bits = FDB_NOTIFY_BIT;
            if (f.Has(FdbFlags.NotifyInactive)) bits |= FDB_NOTIFY_INACTIVE_BIT;
            w.PutU8(NFEA_ACTIVITY_NOTIFY, bits);
            w.EndNest(nest);
        }
        w.EndMessage(start);
    }

    /// <summary>nlmsg_populate_fdb_fill: an address of a device's own list.</summary>
    public static void FillSelf(NlWriter w, NetDevice dev, ReadOnlySpan<byte> addr, ushort vid, int type, uint pid, uint seq,
        int nlflags, ushort state)
    {
        int start = w.BeginMessage(type, nlflags, seq, pid);
        new NdMsg { Family = (byte)AF_BRIDGE, Ifindex = dev.Ifindex, State = state, Flags = NTF_SELF }.Write(w.Reserve(NdMsg.Size));
        w.PutBytes(NDA_LLADDR, addr[..dev.AddrLen]);
        if (vid != 0) w.PutU16(NDA_VLAN, vid);
        w.EndMessage(start);
    }

    /// <summary>valid_fdb_dump_strict / valid_fdb_dump_legacy: the bridge and port to filter on.</summary>
    private static (int BrIdx, int BrportIdx) ValidFdbDump(RtnlRequest req)
    {
        int brIdx = 0, brportIdx = 0;
        if (req.Strict)
        {
            if (req.PayloadLength < NdMsg.Size) throw new RtnlDumpError(Errno.EINVAL, "Invalid header for fdb dump request");
            var ndm = NdMsg.Read(req.Payload);
            if (req.Payload[1] != 0 || req.Payload[2] != 0 || req.Payload[3] != 0 || ndm.State != 0 || ndm.Flags != 0 || ndm.Type != 0)
                throw new RtnlDumpError(Errno.EINVAL, "Invalid values in header for fdb dump request");
            var tb = req.Parse(NdMsg.Size, NoPolicy, NlValidate.DeprecatedStrict, out int err);
            if (tb == null) throw new RtnlDumpError(-err, req.Ext.Message);
            brportIdx = ndm.Ifindex;
            for (int i = 0; i <= NDA_MAX; i++)
            {
                if (!tb.Has(i)) continue;
                switch (i)
                {
                    case NDA_IFINDEX:
                        if (tb.Get(i).Length != 4) throw new RtnlDumpError(Errno.EINVAL, "Invalid IFINDEX attribute in fdb dump request");
                        brportIdx = (int)tb.U32(i);
                        break;
                    case NDA_MASTER:
                        if (tb.Get(i).Length != 4) throw new RtnlDumpError(Errno.EINVAL, "Invalid MASTER attribute in fdb dump request");
                        brIdx = (int)tb.U32(i);
                        break;
                    default:
                        throw new RtnlDumpError(Errno.EINVAL, "Unsupported attribute in fdb dump request");
                }
            }
            return (brIdx, brportIdx);
        }
        // legacy: an ndmsg (with an optional u32 attribute) is not looked at; else an ifinfomsg
        // with IFLA_MASTER
        int len = req.PayloadLength;
        if (len != NdMsg.Size && len != NdMsg.Size + 8)
        {
            var tb = req.Parse(IfInfoMsg.Size, RtnlLinkHandlers.IflaPolicy, NlValidate.Liberal, out _);
            if (tb == null) throw new RtnlDumpError(Errno.EINVAL, null);
            if (tb.Has(IFLA_MASTER)) brIdx = (int)tb.U32(IFLA_MASTER);
            brportIdx = IfInfoMsg.Read(req.Payload).Index;
        }
        return (brIdx, brportIdx);
    }

    /// <summary>rtnl_fdb_dump: per device in ifindex order, a port's entries in its bridge's table,
    /// then the device's own (a bridge: its own addresses' list and its table's entries for itself;
    /// another Ethernet device: its unicast then multicast addresses).</summary>
    private static IEnumerable<bool> FdbDump(RtnlRequest req, NlWriter w, DumpState d)
    {
        var (brIdx, brportIdx) = ValidFdbDump(req);
        var net = req.Net;
        NetDevice? brDev = null;
        if (brIdx != 0)
        {
            brDev = net.GetDevice(brIdx);
            if (brDev == null) throw new RtnlDumpError(Errno.ENODEV, null);
        }
        uint pid = req.Sock.PortId, seq = req.Hdr.Seq;
        foreach (var dev in net.Devices.ToArray())
        {
            if (!dev.IsRegistered) continue;
            if (brportIdx != 0 && dev.Ifindex != brportIdx) continue;
            NetBridge? master = MasterBridge(dev);
            NetBridge? cops = null;
            if (brDev == null) cops = master;
            else
            {
                if (dev != brDev && master == null) continue;
                if (master?.Dev != brDev && !dev.Ops.IsBridge) continue;
                cops = BridgeOf(brDev);
            }
            // br_fdb_dump(br_dev, filter_dev = dev) for a port
            if (master != null && cops != null)
            {
                foreach (var f in cops.FdbList.ToArray())
                {
                    if (f.Dst?.Dev != dev) continue;
                    FillFdb(w, cops, f, RTM_NEWNEIGH, pid, seq, NLM_F_MULTI);
                    yield return true;
                }
            }
            // the device's own ndo_fdb_dump
            if (dev.Ops.Kind == "vxlan") continue; // vxlan_fdb_dump: its table is not modelled
            if (dev.Type != ARPHRD_ETHER) continue; // ndo_dflt_fdb_dump: -EINVAL, nothing
            foreach (var list in new[] { dev.Uc, dev.Mc })
                foreach (var ha in list.Entries.ToArray())
                {
                    FillSelf(w, dev, ha.Addr, 0, RTM_NEWNEIGH, pid, seq, NLM_F_MULTI, (ushort)NUD_PERMANENT);
                    yield return true;
                }
            if (BridgeOf(dev) is { } self)
                foreach (var f in self.FdbList.ToArray())
                {
                    if (f.Dst != null) continue;
                    FillFdb(w, self, f, RTM_NEWNEIGH, pid, seq, NLM_F_MULTI);
                    yield return true;
                }
        }
    }

    /// <summary>rtnl_fdb_get (always strictly validated: valid_fdb_get_strict).</summary>
    private static int FdbGet(RtnlRequest req)
    {
        if (req.PayloadLength < NdMsg.Size) return req.Ext.Fail(Errno.EINVAL, "Invalid header for fdb get request");
        var ndm = NdMsg.Read(req.Payload);
        if (req.Payload[1] != 0 || req.Payload[2] != 0 || req.Payload[3] != 0 || ndm.State != 0 || ndm.Type != 0)
            return req.Ext.Fail(Errno.EINVAL, "Invalid values in header for fdb get request");
        if ((ndm.Flags & ~(NTF_MASTER | NTF_SELF)) != 0) return req.Ext.Fail(Errno.EINVAL, "Invalid flags in header for fdb get request");
        var tb = req.Parse(NdMsg.Size, RtnlNeighHandlers.NdaPolicy, NlValidate.DeprecatedStrict, out int err);
        if (tb == null) return err;
        if (tb.Has(NDA_FLAGS_EXT) && (tb.U32(NDA_FLAGS_EXT) & ~NTF_EXT_MASK_6_18) != 0)
            return req.Ext.Fail(Errno.EINVAL, "reserved bit set", tb.OffsetOf(NDA_FLAGS_EXT));
        int brIdx = 0, brportIdx = ndm.Ifindex;
        byte[]? addr = null;
        ushort vid = 0;
        for (int i = 0; i <= NDA_MAX; i++)
        {
            if (!tb.Has(i)) continue;
            switch (i)
            {
                case NDA_MASTER: brIdx = (int)tb.U32(i); break;
                case NDA_LLADDR:
                    if (tb.Get(i).Length != 6) return req.Ext.Fail(Errno.EINVAL, "Invalid address in fdb get request");
                    addr = tb.Payload(i).ToArray();
                    break;
                case NDA_VLAN:
                    if ((err = FdbVidParse(req, tb, out vid)) < 0) return err;
                    break;
                case NDA_VNI: break;
                default: return req.Ext.Fail(Errno.EINVAL, "Unsupported attribute in fdb get request");
            }
        }
        if (addr == null) return req.Ext.Fail(Errno.EINVAL, "Missing lookup address for fdb get request");
        NetDevice? dev = null, brDev = null;
        NetBridge? ops = null;
        bool selfDefault = false;
        if (brportIdx != 0)
        {
            dev = req.Net.GetDevice(brportIdx);
            if (dev == null) return req.Ext.Fail(Errno.ENODEV, "Unknown device ifindex");
        }
        if (brIdx != 0)
        {
            if (dev != null) return req.Ext.Fail(Errno.EINVAL, "Master and device are mutually exclusive");
            brDev = req.Net.GetDevice(brIdx);
            if (brDev == null) return req.Ext.Fail(Errno.EINVAL, "Invalid master ifindex");
            ops = BridgeOf(brDev);
        }
        if (dev != null)
        {
            if (ndm.Flags == 0 || (ndm.Flags & NTF_MASTER) != 0)
            {
                if ((dev.PrivFlags & PrivFlags.EbridgePort) == 0) return req.Ext.Fail(Errno.EINVAL, "Device is not a bridge port");
                brDev = dev.Master;
                if (brDev == null) return req.Ext.Fail(Errno.EINVAL, "Master of device not found");
                ops = BridgeOf(brDev);
            }
            else
            {
                if ((ndm.Flags & NTF_SELF) == 0) return req.Ext.Fail(Errno.EINVAL, "Missing NTF_SELF");
                ops = BridgeOf(dev);
                selfDefault = ops == null;
            }
        }
        if (brDev == null && dev == null) return req.Ext.Fail(Errno.ENODEV, "No device specified");
        // only the bridge implements ndo_fdb_get here (vxlan's table is not modelled)
        if (ops == null || selfDefault) return req.Ext.Fail(Errno.EOPNOTSUPP, "Fdb get operation not supported by device");
        var f = ops.FdbFind(addr, vid);
        if (f == null) return req.Ext.Fail(Errno.ENOENT, "Fdb entry not found");
        var w = new NlWriter(256);
        FillFdb(w, ops, f, RTM_NEWNEIGH, req.Sock.PortId, req.Hdr.Seq, 0);
        req.Unicast(w);
        return 0;
    }
}
