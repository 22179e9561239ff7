using System.Buffers.Binary;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>Neighbours over rtnetlink (net/core/neighbour.c): RTM_NEWNEIGH (neigh_add),
/// RTM_DELNEIGH (neigh_delete), RTM_GETNEIGH (neigh_get and neigh_dump_info) and neigh_fill_info /
/// pneigh_fill_info.</summary>
public static class RtnlNeighHandlers
{
    private const int MaxAddrLen = 32; // MAX_ADDR_LEN

    /// <summary>nda_policy (net/core/neighbour.c): neighbours and the bridge's fdb entries.</summary>
    internal static readonly Policy NdaPolicy = new(NDA_MAX,
        ((ushort)NDA_DST, new NlaPolicy(NlaType.Binary, MaxAddrLen)),
        ((ushort)NDA_LLADDR, new NlaPolicy(NlaType.Binary, MaxAddrLen)),
        ((ushort)NDA_CACHEINFO, new NlaPolicy(NlaType.Unspec, 16)),
        ((ushort)NDA_PROBES, new NlaPolicy(NlaType.U32)),
        ((ushort)NDA_VLAN, new NlaPolicy(NlaType.U16)),
        ((ushort)NDA_PORT, new NlaPolicy(NlaType.U16)),
        ((ushort)NDA_VNI, new NlaPolicy(NlaType.U32)),
        ((ushort)NDA_IFINDEX, new NlaPolicy(NlaType.U32)),
        ((ushort)NDA_MASTER, new NlaPolicy(NlaType.U32)),
        ((ushort)NDA_PROTOCOL, new NlaPolicy(NlaType.U8)),
        ((ushort)NDA_NH_ID, new NlaPolicy(NlaType.U32)),
        ((ushort)NDA_FLAGS_EXT, new NlaPolicy(NlaType.U32)),
        ((ushort)NDA_FDB_EXT_ATTRS, new NlaPolicy(NlaType.Nested))) { StrictStartType = NDA_NH_ID };

    private static readonly Policy NoPolicy = new(NDA_MAX);

    public static void Register(Rtnetlink rtnl)
    {
        rtnl.Register(AF_UNSPEC, RTM_NEWNEIGH, NeighAdd, null);
        rtnl.Register(AF_UNSPEC, RTM_DELNEIGH, NeighDelete, null);
        rtnl.Register(AF_UNSPEC, RTM_GETNEIGH, NeighGet, DumpNeigh);
    }

    private static UInt128 Key(ReadOnlySpan<byte> p, int keyLen) => keyLen == 4 ? Inet.V4(p) : Inet.V6(p);

    /// <summary>neigh_add.</summary>
    private static int NeighAdd(RtnlRequest req)
    {
        uint flags = NeighTable.UpdAdmin | NeighTable.UpdOverride | NeighTable.UpdOverrideIsRouter;
        var tb = req.Parse(NdMsg.Size, NdaPolicy, NlValidate.Liberal, out int err);
        if (tb == null) return err;
        if (!tb.Has(NDA_DST)) return req.Ext.Fail(Errno.EINVAL, "Network address not specified");
        var ndm = NdMsg.Read(req.Payload);
        uint ndmFlags = ndm.Flags;
        if (tb.Has(NDA_FLAGS_EXT)) ndmFlags |= tb.U32(NDA_FLAGS_EXT) << 8;
        NetDevice? dev = null;
        if (ndm.Ifindex != 0)
        {
            dev = req.Net.GetDevice(ndm.Ifindex);
            if (dev == null) return -Errno.ENODEV;
            if (tb.Has(NDA_LLADDR) && tb.Payload(NDA_LLADDR).Length < dev.AddrLen)
                return req.Ext.Fail(Errno.EINVAL, "Invalid link address");
        }
        var tbl = req.Net.Neigh.Find(ndm.Family);
        if (tbl == null) return -Errno.EAFNOSUPPORT;
        var dstp = tb.Payload(NDA_DST);
        if (dstp.Length < tbl.KeyLen) return req.Ext.Fail(Errno.EINVAL, "Invalid network address");
        var key = Key(dstp, tbl.KeyLen);
        byte[]? lladdr = tb.Has(NDA_LLADDR) ? tb.Bytes(NDA_LLADDR) : null;
        byte protocol = tb.Has(NDA_PROTOCOL) ? tb.U8(NDA_PROTOCOL) : (byte)0;
        const uint NTF_MANAGED = 1u << 9, NTF_EXT_VALIDATED = 1u << 10;
        if ((ndmFlags & NTF_PROXY) != 0)
        {
            if ((ndmFlags & (NTF_MANAGED | NTF_EXT_VALIDATED)) != 0)
                return req.Ext.Fail(Errno.EINVAL, "Invalid NTF_* flag combination");
            var pn = tbl.ProxyCreate(key, dev);
            pn.Flags = ndmFlags;
            pn.ProxyPermanent = (ndm.State & NUD_PERMANENT) != 0;
            if (protocol != 0) pn.Protocol = protocol;
            return 0;
        }
        if (dev == null) return req.Ext.Fail(Errno.EINVAL, "Device not specified");
        var e = tbl.AllowAdd(dev);
        if (e.Failed) return req.Ext.Set(e);
        var n = tbl.Lookup(key, dev);
        if (n == null)
        {
            if ((req.Flags & NLM_F_CREATE) == 0) return -Errno.ENOENT;
            if ((ndm.State & NUD_PERMANENT) != 0 && (ndmFlags & NTF_MANAGED) != 0)
                return req.Ext.Fail(Errno.EINVAL, "Invalid NTF_* flag for permanent entry");
            if ((ndmFlags & (NTF_MANAGED | NTF_EXT_VALIDATED)) != 0)
                return req.Ext.Fail(Errno.EOPNOTSUPP, "Managed and externally validated neighbours are not supported by this kernel yet");
            e = tbl.Create(key, dev, ndmFlags & (uint)NTF_EXT_LEARNED, out n);
            if (e.Failed) return req.Ext.Set(e);
        }
        else
        {
            if ((req.Flags & NLM_F_EXCL) != 0) return -Errno.EEXIST;
            if ((req.Flags & NLM_F_REPLACE) == 0) flags &= ~(NeighTable.UpdOverride | NeighTable.UpdOverrideIsRouter);
        }
        if (protocol != 0) n!.Protocol = protocol;
        if ((ndmFlags & NTF_EXT_LEARNED) != 0) flags |= NeighTable.UpdExtLearned;
        if ((ndmFlags & NTF_ROUTER) != 0) flags |= NeighTable.UpdIsRouter;
        if ((ndmFlags & NTF_USE) != 0) flags |= NeighTable.UpdUse;
        return req.Ext.Set(tbl.Update(n!, lladdr, ndm.State, flags));
    }

    /// <summary>neigh_delete.</summary>
    private static int NeighDelete(RtnlRequest req)
    {
        var tb = req.Parse(NdMsg.Size, NoPolicy, NlValidate.Liberal, out int err);
        if (tb == null) return err;
        if (!tb.Has(NDA_DST)) return req.Ext.Fail(Errno.EINVAL, "Network address not specified");
        var ndm = NdMsg.Read(req.Payload);
        NetDevice? dev = null;
        if (ndm.Ifindex != 0)
        {
            dev = req.Net.GetDevice(ndm.Ifindex);
            if (dev == null) return -Errno.ENODEV;
        }
        var tbl = req.Net.Neigh.Find(ndm.Family);
        if (tbl == null) return -Errno.EAFNOSUPPORT;
        var dstp = tb.Payload(NDA_DST);
        if (dstp.Length < tbl.KeyLen) return req.Ext.Fail(Errno.EINVAL, "Invalid network address");
        var key = Key(dstp, tbl.KeyLen);
        if ((ndm.Flags & NTF_PROXY) != 0) return req.Ext.Set(tbl.ProxyDelete(key, dev));
        if (dev == null) return -Errno.EINVAL;
        var n = tbl.Lookup(key, dev);
        if (n == null) return -Errno.ENOENT;
        var e = tbl.Update(n, null, (ushort)NUD_FAILED, NeighTable.UpdOverride | NeighTable.UpdAdmin);
        tbl.Remove(n);
        return req.Ext.Set(e);
    }

    /// <summary>neigh_valid_get_req + neigh_get.</summary>
    private static int NeighGet(RtnlRequest req)
    {
        if (req.PayloadLength < NdMsg.Size) return req.Ext.Fail(Errno.EINVAL, "Invalid header for neighbor get request");
        var ndm = NdMsg.Read(req.Payload);
        var raw = req.Payload;
        if (raw[1] != 0 || BinaryPrimitives.ReadUInt16LittleEndian(raw[2..]) != 0 || ndm.State != 0 || ndm.Type != 0)
            return req.Ext.Fail(Errno.EINVAL, "Invalid values in header for neighbor get request");
        if ((ndm.Flags & ~NTF_PROXY) != 0) return req.Ext.Fail(Errno.EINVAL, "Invalid flags in header for neighbor get request");
        var tb = req.Parse(NdMsg.Size, NdaPolicy, NlValidate.DeprecatedStrict, out int err);
        if (tb == null) return err;
        var tbl = req.Net.Neigh.Find(ndm.Family);
        if (tbl == null) return req.Ext.Fail(Errno.EAFNOSUPPORT, "Unsupported family in header for neighbor get request");
        UInt128? key = null;
        for (int i = 0; i <= tb.MaxType; i++)
        {
            if (!tb.Has(i)) continue;
            if (i == NDA_DST)
            {
                if (tb.Payload(i).Length != tbl.KeyLen)
                    return req.Ext.Fail(Errno.EINVAL, "Invalid network address in neighbor get request");
                key = Key(tb.Payload(i), tbl.KeyLen);
                continue;
            }
            return req.Ext.Fail(Errno.EINVAL, "Unsupported attribute in neighbor get request");
        }
        NetDevice? dev = null;
        if (ndm.Ifindex != 0)
        {
            dev = req.Net.GetDevice(ndm.Ifindex);
            if (dev == null) return req.Ext.Fail(Errno.ENODEV, "Unknown device ifindex");
        }
        if (key == null) return req.Ext.Fail(Errno.EINVAL, "Network address not specified");
        var w = new NlWriter(256);
        if ((ndm.Flags & NTF_PROXY) != 0)
        {
            var pn = tbl.ProxyLookup(key.Value, dev);
            if (pn == null) return req.Ext.Fail(Errno.ENOENT, "Proxy neighbour entry not found");
            FillNeigh(w, pn, req.Net, RTM_NEWNEIGH, req.Sock.PortId, req.Hdr.Seq, 0);
        }
        else
        {
            if (dev == null) return req.Ext.Fail(Errno.EINVAL, "No device specified");
            var n = tbl.Lookup(key.Value, dev);
            if (n == null) return req.Ext.Fail(Errno.ENOENT, "Neighbour entry not found");
            FillNeigh(w, n, req.Net, RTM_NEWNEIGH, req.Sock.PortId, req.Hdr.Seq, 0);
        }
        req.Unicast(w);
        return 0;
    }

    /// <summary>neigh_dump_info: arp_tbl then nd_tbl (or one family), entries or proxy entries;
    /// each table walk resumes after the last entry sent.</summary>
    private static IEnumerable<bool> DumpNeigh(RtnlRequest req, NlWriter w, DumpState d)
    {
        int family = req.PayloadLength >= 1 ? req.Payload[0] : AF_UNSPEC;
        bool proxy = req.PayloadLength >= NdMsg.Size && NdMsg.Read(req.Payload).Flags == NTF_PROXY;
        int devIdx = 0, masterIdx = 0;
        bool strict = req.Strict;
        if (strict)
        {
            if (req.PayloadLength < NdMsg.Size) throw new RtnlDumpError(Errno.EINVAL, "Invalid header for neighbor dump request");
            var ndm = NdMsg.Read(req.Payload);
            var raw = req.Payload;
            if (raw[1] != 0 || BinaryPrimitives.ReadUInt16LittleEndian(raw[2..]) != 0 || ndm.Ifindex != 0 || ndm.State != 0 || ndm.Type != 0)
                throw new RtnlDumpError(Errno.EINVAL, "Invalid values in header for neighbor dump request");
            if ((ndm.Flags & ~NTF_PROXY) != 0)
                throw new RtnlDumpError(Errno.EINVAL, "Invalid flags in header for neighbor dump request");
        }
        AttrTable? tb = null;
        if (req.PayloadLength >= NdMsg.Size)
        {
            tb = req.Parse(NdMsg.Size, NdaPolicy, strict ? NlValidate.DeprecatedStrict : NlValidate.Liberal, out int err);
            if (tb == null && strict) throw new RtnlDumpError(-err, req.Ext.Message);
        }
        if (tb != null)
        {
            for (int i = 0; i <= tb.MaxType; i++)
            {
                if (!tb.Has(i)) continue;
                switch (i)
                {
                    case NDA_IFINDEX: devIdx = (int)tb.U32(i); break;
                    case NDA_MASTER: masterIdx = (int)tb.U32(i); break;
                    default:
                        if (strict) throw new RtnlDumpError(Errno.EINVAL, "Unsupported attribute in neighbor dump request");
                        break;
                }
            }
        }
        bool filtered = devIdx != 0 || masterIdx != 0;
        int flags = NLM_F_MULTI | (filtered ? NLM_F_DUMP_FILTERED : 0);
        var net = req.Net;
        foreach (var tbl in new[] { net.Neigh.Arp, net.Neigh.Nd })
        {
            if (family != AF_UNSPEC && tbl.Family != family) continue;
            var index = proxy ? tbl.Proxies : tbl.Entries;
            var c = index.Start();
            while (index.MoveNext(ref c))
            {
                var n = c.Value;
                if (n.Dead) continue;
                if (devIdx != 0 && (n.Dev == null || n.Dev.Ifindex != devIdx)) continue;
                if (masterIdx != 0 && (n.Dev?.Master == null || n.Dev.Master.Ifindex != masterIdx)) continue;
                FillNeigh(w, n, net, RTM_NEWNEIGH, req.Sock.PortId, req.Hdr.Seq, flags);
                yield return true;
            }
        }
    }

    /// <summary>neigh_fill_info / pneigh_fill_info.</summary>
    public static void FillNeigh(NlWriter w, Neighbour n, Net net, int type, uint pid, uint seq, int flags)
    {
        int start = w.BeginMessage(type, flags, seq, pid);
        uint flagsExt = n.Flags >> 8;
        var ndm = new NdMsg { Family = n.Family, Flags = (byte)(n.Flags & 0xff), Ifindex = n.Dev?.Ifindex ?? 0 };
        int hdrOff = w.Length;
        w.Reserve(NdMsg.Size);
        Span<byte> a = stackalloc byte[16];
        if (n.Family == AF_INET) Inet.V4((uint)n.Key, a);
        else Inet.V6(n.Key, a);
        w.PutBytes(NDA_DST, a[..n.Table.KeyLen]);
        if (n.IsProxy)
        {
            ndm.Flags |= (byte)NTF_PROXY;
            ndm.Type = (byte)RTN_UNICAST;
            ndm.State = (ushort)NUD_NONE;
            if (n.Protocol != 0) w.PutU8(NDA_PROTOCOL, n.Protocol);
            if (flagsExt != 0) w.PutU32(NDA_FLAGS_EXT, flagsExt);
        }
        else
        {
            ndm.Type = n.Type;
            ndm.State = n.State;
            if ((n.State & NeighTable.NudValid) != 0 && n.Lladdr != null && n.Dev != null)
                w.PutBytes(NDA_LLADDR, n.Lladdr.AsSpan(0, Math.Min(n.Lladdr.Length, n.Dev.AddrLen)));
            long now = net.Kernel.Clock.NowMs;
            w.PutU32(NDA_PROBES, n.Probes);
            var ci = w.ReserveAttr(NDA_CACHEINFO, 16);
            BinaryPrimitives.WriteUInt32LittleEndian(ci, (uint)((now - n.ConfirmedMs) / 10));
            BinaryPrimitives.WriteUInt32LittleEndian(ci[4..], (uint)((now - n.UsedMs) / 10));
            BinaryPrimitives.WriteUInt32LittleEndian(ci[8..], (uint)((now - n.UpdatedMs) / 10));
            BinaryPrimitives.WriteUInt32LittleEndian(ci[12..], 0);
            if (n.Protocol != 0) w.PutU8(NDA_PROTOCOL, n.Protocol);
            if (flagsExt != 0) w.PutU32(NDA_FLAGS_EXT, flagsExt);
        }
        ndm.Write(w.At(hdrOff, NdMsg.Size));
        w.EndMessage(start);
    }
}
