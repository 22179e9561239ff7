using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Model.Links;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>The AF_BRIDGE link messages (`bridge link`): rtnl_bridge_getlink, rtnl_bridge_setlink and
/// rtnl_bridge_dellink of net/core/rtnetlink.c, with the bridge's ndo_bridge_getlink/setlink/dellink
/// (br_getlink, br_setlink, br_dellink) and br_fill_ifinfo of net/bridge/br_netlink.c.</summary>
public static class RtnlBridgeHandlers
{
    public static void Register(Rtnetlink rtnl)
    {
        rtnl.Register(AF_BRIDGE, RTM_GETLINK, null, GetLink);
        rtnl.Register(AF_BRIDGE, RTM_SETLINK, SetLink, null);
        rtnl.Register(AF_BRIDGE, RTM_DELLINK, DelLink, null);
    }

    /// <summary>br_fill_ifinfo: a port as the bridge describes it (IFLA_PROTINFO carries the port's
    /// attributes in RTM_NEWLINK). Bridge VLANs are not compiled in, so there is no IFLA_AF_SPEC.</summary>
    public static void FillIfinfo(NlWriter w, BridgePort port, int type, uint pid, uint seq, int flags) =>
        FillIfinfo(w, port.Dev, port, type, pid, seq, flags);

    /// <summary>br_fill_ifinfo of a port, or of the bridge <paramref name="dev"/> itself (port null).
    /// The IFLA_AF_SPEC nest a VLAN/MRP/CFM filter opens stays empty and is cancelled: this kernel
    /// has no VLAN filtering, MRP nor CFM.</summary>
    public static void FillIfinfo(NlWriter w, NetDevice dev, BridgePort? port, int type, uint pid, uint seq, int flags)
    {
        var brDev = port?.Br.Dev ?? dev;
        int start = w.BeginMessage(type, flags, seq, pid);
        new IfInfoMsg
        {
            Family = (byte)AF_BRIDGE, Type = dev.Type, Index = dev.Ifindex, Flags = dev.GetFlags(), Change = 0,
        }.Write(w.Reserve(IfInfoMsg.Size));
        w.PutString(IFLA_IFNAME, dev.Name);
        w.PutU32(IFLA_MASTER, (uint)brDev.Ifindex);
        w.PutU32(IFLA_MTU, dev.Mtu);
        w.PutU8(IFLA_OPERSTATE, dev.ReportedOperState);
        if (dev.AddrLen > 0) w.PutBytes(IFLA_ADDRESS, dev.DevAddr.AsSpan(0, dev.AddrLen));
        int iflink = dev.IfLink;
        if (iflink != dev.Ifindex) w.PutU32(IFLA_LINK, (uint)iflink);
        if (type == RTM_NEWLINK && port != null)
        {
            int nest = w.BeginNest(IFLA_PROTINFO, nestedFlag: true);
            BridgeKind.FillPortAttrs(w, port);
            w.EndNest(nest);
        }
        w.EndMessage(start);
    }

    /// <summary>valid_bridge_getlink_req.</summary>
    private static uint ValidGetlinkReq(RtnlRequest req)
    {
        AttrTable? tb;
        int err;
        if (req.Strict)
        {
            if (req.PayloadLength < IfInfoMsg.Size)
                throw new RtnlDumpError(Errno.EINVAL, "Invalid header for bridge link dump");
            var ifm = IfInfoMsg.Read(req.Payload);
            if (req.Payload[1] != 0 || ifm.Type != 0 || ifm.Flags != 0 || ifm.Change != 0 || ifm.Index != 0)
                throw new RtnlDumpError(Errno.EINVAL, "Invalid values in header for bridge link dump request");
            tb = req.Parse(IfInfoMsg.Size, RtnlLinkHandlers.IflaPolicy, NlValidate.DeprecatedStrict, out err);
        }
        else tb = req.Parse(IfInfoMsg.Size, RtnlLinkHandlers.IflaPolicy, NlValidate.Liberal, out err);
        if (tb == null)
        {
            if (req.Strict) throw new RtnlDumpError(-err, req.Ext.Message);
            return 0;
        }
        uint mask = 0;
        for (int i = 0; i <= IFLA_MAX_6_18; i++)
        {
            if (!tb.Has(i)) continue;
            if (i == IFLA_EXT_MASK) mask = tb.U32(i);
            else if (req.Strict) throw new RtnlDumpError(Errno.EINVAL, "Unsupported attribute in bridge link dump request");
        }
        return mask;
    }

    /// <summary>rtnl_bridge_getlink: every bridge port (the bridge answers for it); the bridge
    /// itself says something only when VLAN, MRP or CFM information is asked for, and this
    /// kernel has none of those.</summary>
    private static IEnumerable<bool> GetLink(RtnlRequest req, NlWriter w, DumpState d)
    {
        uint mask = ValidGetlinkReq(req);
        var net = req.Net;
        d.Generation = () => net.DevBaseSeq;
        d.StartGeneration = net.DevBaseSeq;
        foreach (var dev in net.Devices.ToArray())
        {
            if (!dev.IsRegistered) continue;
            // the master's ndo_bridge_getlink for its port, then the device's own (br_getlink)
            if (dev.Master is { Ops.IsBridge: true } && NetBridge.PortOf(dev) is { } port)
            {
                FillIfinfo(w, port, RTM_NEWLINK, req.Sock.PortId, req.Hdr.Seq, NLM_F_MULTI);
                yield return true;
            }
            if (dev.Ops.IsBridge && (mask & BrGetlinkSelfMask) != 0)
            {
                FillIfinfo(w, dev, null, RTM_NEWLINK, req.Sock.PortId, req.Hdr.Seq, NLM_F_MULTI);
                yield return true;
            }
        }
    }

    /// <summary>br_getlink answers for a bridge itself (not a port) only when one of these is asked.</summary>
    private const uint BrGetlinkSelfMask = (uint)(RTEXT_FILTER_BRVLAN | RTEXT_FILTER_BRVLAN_COMPRESSED | RTEXT_FILTER_MRP |
        RTEXT_FILTER_CFM_CONFIG | RTEXT_FILTER_CFM_STATUS);

    /// <summary>nlmsg_find_attr: the first attribute of a type after the ifinfomsg, unvalidated.</summary>
    private static (int Offset, int Length, bool Nested)? FindAttr(RtnlRequest req, int type)
    {
        int start = NlMsgHdr.Size + Nl.Align(IfInfoMsg.Size);
        if (start > (int)req.Hdr.Len) return null;
        foreach (var a in new NlAttrIterator(req.Msg.Span[start..(int)req.Hdr.Len], start))
            if (a.Type == type) return (a.Offset, a.Length, a.IsNestedFlag);
        return null;
    }

    private static NlAttrIterator Nested(RtnlRequest req, (int Offset, int Length, bool Nested) a) =>
        new(req.Msg.Span.Slice(a.Offset + Nl.AttrHdrLen, a.Length), a.Offset + Nl.AttrHdrLen);

    /// <summary>The IFLA_BRIDGE_FLAGS of IFLA_AF_SPEC (0 when absent), or an error.</summary>
    private static int BridgeFlags(RtnlRequest req, (int, int, bool)? afspec, out ushort flags)
    {
        flags = 0;
        if (afspec is not { } af) return 0;
        bool seen = false;
        foreach (var attr in Nested(req, af))
        {
            if (attr.Type == IFLA_BRIDGE_FLAGS && !seen)
            {
                if (attr.Length < 2) return -Errno.EINVAL;
                seen = true;
                flags = attr.U16;
            }
            if (attr.Type == IFLA_BRIDGE_MODE && attr.Length < 2) return -Errno.EINVAL;
        }
        return 0;
    }

    /// <summary>rtnl_bridge_setlink / rtnl_bridge_dellink: the master's handler unless only SELF
    /// is asked, then the device's own (of the devices here, only a bridge has one).</summary>
    private static int BridgeOp(RtnlRequest req, bool set)
    {
        if (req.PayloadLength < IfInfoMsg.Size) return -Errno.EINVAL;
        var ifm = IfInfoMsg.Read(req.Payload);
        if (ifm.Family != AF_BRIDGE) return -Errno.EPFNOSUPPORT;
        var dev = req.Net.GetDevice(ifm.Index);
        if (dev == null) return req.Ext.Fail(Errno.ENODEV, "unknown ifindex");
        var afspec = FindAttr(req, IFLA_AF_SPEC);
        int err = BridgeFlags(req, afspec, out ushort flags);
        if (err < 0) return err;
        err = -Errno.EOPNOTSUPP;
        if (flags == 0 || (flags & BRIDGE_FLAGS_MASTER) != 0)
        {
            var br = dev.Master;
            if (br == null || !br.Ops.IsBridge) return -Errno.EOPNOTSUPP;
            err = set ? BrSetlink(req, br, dev, afspec) : BrDellink(req, dev, afspec);
            if (err < 0) return err;
            flags &= unchecked((ushort)~BRIDGE_FLAGS_MASTER);
        }
        if ((flags & BRIDGE_FLAGS_SELF) != 0)
        {
            // the device's own ndo_bridge_setlink/dellink: only a bridge has one here (br_setlink)
            if (!dev.Ops.IsBridge) return -Errno.EOPNOTSUPP;
            err = set ? BrSetlink(req, dev, dev, afspec) : BrDellink(req, dev, afspec);
        }
        return err;
    }

    private static int SetLink(RtnlRequest req) => BridgeOp(req, set: true);

    private static int DelLink(RtnlRequest req) => BridgeOp(req, set: false);

    /// <summary>br_setlink: IFLA_PROTINFO sets the port (a nest of IFLA_BRPORT_* or, from old RSTP
    /// daemons, a bare state byte); IFLA_AF_SPEC goes to br_afspec.</summary>
    private static int BrSetlink(RtnlRequest req, NetDevice brDev, NetDevice dev, (int, int, bool)? afspec)
    {
        var protinfo = FindAttr(req, IFLA_PROTINFO);
        if (protinfo == null && afspec == null) return 0;
        var p = NetBridge.PortOf(dev);
        if (p == null && afspec == null) return -Errno.EINVAL;
        bool changed = false;
        if (p != null && protinfo is var (off, len, nested))
        {
            var kind = RtnlLinkKind.Get("bridge")!;
            object? cfg;
            if (nested)
            {
                var t = AttrParser.Parse(req.Msg, off + Nl.AttrHdrLen, len, kind.SlavePolicy!, NlValidate.Liberal, out var e);
                if (t == null) return req.Ext.Set(e);
                int derr = kind.DecodeSlave(req, t, out cfg);
                if (derr < 0) return derr;
            }
            else
            {
                if (len < 1) return -Errno.EINVAL;
                cfg = new BridgePortConfig { State = req.Msg.Span[off + Nl.AttrHdrLen] };
            }
            if (cfg != null)
            {
                var ke = brDev.Ops.SlaveChangeLink(brDev, dev, cfg);
                if (ke.Failed) return req.Ext.Set(ke);
            }
            changed = true;
        }
        int err = 0;
        if (afspec is { } af) err = BrAfspec(req, p, af, set: true);
        if (changed) p!.Br.IfinfoNotify(p, deleted: false);
        return err;
    }

    /// <summary>br_dellink.</summary>
    private static int BrDellink(RtnlRequest req, NetDevice dev, (int, int, bool)? afspec)
    {
        if (afspec is not { } af) return 0;
        var p = NetBridge.PortOf(dev);
        if (p == null && !dev.Ops.IsBridge) return -Errno.EINVAL;
        return BrAfspec(req, p, af, set: false);
    }

    /// <summary>br_afspec with CONFIG_BRIDGE_VLAN_FILTERING, MRP and CFM unset: adding a VLAN is not
    /// supported, deleting one changes nothing, MRP and CFM are not enabled.</summary>
    private static int BrAfspec(RtnlRequest req, BridgePort? p, (int, int, bool) af, bool set)
    {
        foreach (var attr in Nested(req, af))
        {
            switch (attr.Type)
            {
                case IFLA_BRIDGE_VLAN_TUNNEL_INFO:
                    if (p == null || (p.Flags & BrPortFlags.VlanTunnel) == 0) return -Errno.EINVAL;
                    return -Errno.EOPNOTSUPP;
                case IFLA_BRIDGE_VLAN_INFO:
                {
                    if (attr.Length != 4) return -Errno.EINVAL; // struct bridge_vlan_info
                    ushort vid = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(attr.Payload[2..]);
                    // br_vlan_valid_id; ndo_bridge_dellink has no extack to carry the message
                    if (vid == 0 || vid >= 4095) return set ? req.Ext.Fail(Errno.EINVAL, "bridge: Vlan id is invalid") : -Errno.EINVAL;
                    if (set) return -Errno.EOPNOTSUPP; // nbp_vlan_add / br_vlan_add
                    break;
                }
                case IFLA_BRIDGE_MRP:
                    return req.Ext.Fail(Errno.EOPNOTSUPP, "MRP is not enabled");
                case IFLA_BRIDGE_CFM:
                    return req.Ext.Fail(Errno.EOPNOTSUPP, "CFM is not enabled");
                case IFLA_BRIDGE_MST:
                    if (p == null) return req.Ext.Fail(Errno.EINVAL, "MST states can only be set on bridge ports");
                    if (!set) return req.Ext.Fail(Errno.EINVAL, "MST states can only be set through RTM_SETLINK");
                    return -Errno.EOPNOTSUPP;
            }
        }
        return 0;
    }
}
