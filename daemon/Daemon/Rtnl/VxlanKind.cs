using VirtKernel.Model;
using VirtKernel.Model.Links;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>drivers/net/vxlan/vxlan_core.c, rtnetlink side: vxlan_policy, vxlan_validate, the
/// attributes into <see cref="VxlanParams"/> (vxlan_nl2conf's input), vxlan_fill_info.</summary>
public sealed class VxlanKind : RtnlLinkKind
{
    public override string Kind => "vxlan";

    private static readonly Policy VxlanPolicy = new(IFLA_VXLAN_MAX_6_18,
        ((ushort)IFLA_VXLAN_ID, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_VXLAN_GROUP, new NlaPolicy(NlaType.Unspec, 4)),
        ((ushort)IFLA_VXLAN_GROUP6, new NlaPolicy(NlaType.Unspec, 16)),
        ((ushort)IFLA_VXLAN_LINK, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_VXLAN_LOCAL, new NlaPolicy(NlaType.Unspec, 4)),
        ((ushort)IFLA_VXLAN_LOCAL6, new NlaPolicy(NlaType.Unspec, 16)),
        ((ushort)IFLA_VXLAN_TOS, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_VXLAN_TTL, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_VXLAN_LABEL, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_VXLAN_LEARNING, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_VXLAN_AGEING, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_VXLAN_LIMIT, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_VXLAN_PORT_RANGE, new NlaPolicy(NlaType.Unspec, 4)),
        ((ushort)IFLA_VXLAN_PROXY, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_VXLAN_RSC, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_VXLAN_L2MISS, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_VXLAN_L3MISS, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_VXLAN_COLLECT_METADATA, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_VXLAN_PORT, new NlaPolicy(NlaType.U16)),
        ((ushort)IFLA_VXLAN_UDP_CSUM, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_VXLAN_UDP_ZERO_CSUM6_TX, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_VXLAN_UDP_ZERO_CSUM6_RX, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_VXLAN_REMCSUM_TX, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_VXLAN_REMCSUM_RX, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_VXLAN_GBP, new NlaPolicy(NlaType.Flag)),
        ((ushort)IFLA_VXLAN_GPE, new NlaPolicy(NlaType.Flag)),
        ((ushort)IFLA_VXLAN_REMCSUM_NOPARTIAL, new NlaPolicy(NlaType.Flag)),
        ((ushort)IFLA_VXLAN_TTL_INHERIT, new NlaPolicy(NlaType.Flag)),
        ((ushort)IFLA_VXLAN_DF, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_VXLAN_VNIFILTER, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_VXLAN_LOCALBYPASS, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_VXLAN_LABEL_POLICY, new NlaPolicy(NlaType.U32)),
        // NLA_POLICY_EXACT_LEN(sizeof(struct vxlanhdr)): NLA_BINARY of 8 bytes (the minimum is checked in Decode)
        ((ushort)IFLA_VXLAN_RESERVED_BITS, new NlaPolicy(NlaType.Binary, 8)),
        ((ushort)IFLA_VXLAN_MC_ROUTE, new NlaPolicy(NlaType.U8)))
    { StrictStartType = (ushort)IFLA_VXLAN_LOCALBYPASS };

    public override Policy DataPolicy => VxlanPolicy;

    /// <summary>The policy checks the generic table cannot express (NLA_POLICY_MAX, EXACT_LEN),
    /// vxlan_validate, then the attributes into <see cref="VxlanParams"/>.</summary>
    public override int Decode(RtnlRequest req, AttrTable tb, AttrTable? data, bool creating, out object? config)
    {
        config = null;
        int err;
        if (data != null)
        {
            if ((err = CheckMax(req, data, IFLA_VXLAN_LOCALBYPASS, 1)) < 0) return err;
            if ((err = CheckMax(req, data, IFLA_VXLAN_LABEL_POLICY, 1)) < 0) return err; // VXLAN_LABEL_MAX
            if ((err = CheckExactLen(req, data, IFLA_VXLAN_RESERVED_BITS, 8)) < 0) return err;
            if ((err = CheckMax(req, data, IFLA_VXLAN_MC_ROUTE, 1)) < 0) return err;
        }
        err = ValidateEtherAddress(req, tb, "Provided link layer address is not Ethernet",
            "Provided Ethernet address is not unicast");
        if (err < 0) return err;
        if (tb.Has(IFLA_MTU))
        {
            uint mtu = tb.U32(IFLA_MTU);
            if (mtu < 68 || mtu > 65535)
                return req.Ext.Fail(Errno.EINVAL, "MTU must be between 68 and 65535", tb.OffsetOf(IFLA_MTU));
        }
        if (data == null)
            return req.Ext.Fail(Errno.EINVAL, "Required attributes not provided to perform the operation");
        if (data.Has(IFLA_VXLAN_ID) && data.U32(IFLA_VXLAN_ID) >= VxlanLinkOps.NVid)
            return req.Ext.Fail(Errno.ERANGE, "VXLAN ID must be lower than 16777216", data.OffsetOf(IFLA_VXLAN_ID));
        if (data.Has(IFLA_VXLAN_PORT_RANGE))
        {
            var pr = data.Payload(IFLA_VXLAN_PORT_RANGE);
            ushort low = (ushort)(pr[0] << 8 | pr[1]), high = (ushort)(pr[2] << 8 | pr[3]);
            if (high < low)
                return req.Ext.Fail(Errno.EINVAL, "Invalid source port range", data.OffsetOf(IFLA_VXLAN_PORT_RANGE));
        }
        if (data.Has(IFLA_VXLAN_DF) && data.U8(IFLA_VXLAN_DF) > VXLAN_DF_MAX)
            return req.Ext.Fail(Errno.EINVAL, "Invalid DF attribute", data.OffsetOf(IFLA_VXLAN_DF));

        var p = new VxlanParams();
        byte? U8(int t) => data.Has(t) ? data.U8(t) : null;
        uint? U32(int t) => data.Has(t) ? data.U32(t) : null;
        byte[]? Bytes(int t, int n) => data.Has(t) ? data.Payload(t)[..n].ToArray() : null;
        p.Id = U32(IFLA_VXLAN_ID);
        p.Group = Bytes(IFLA_VXLAN_GROUP, 4);
        p.Group6 = Bytes(IFLA_VXLAN_GROUP6, 16);
        p.Local = Bytes(IFLA_VXLAN_LOCAL, 4);
        p.Local6 = Bytes(IFLA_VXLAN_LOCAL6, 16);
        p.Link = U32(IFLA_VXLAN_LINK);
        p.Tos = U8(IFLA_VXLAN_TOS);
        p.Ttl = U8(IFLA_VXLAN_TTL);
        p.TtlInherit = data.Has(IFLA_VXLAN_TTL_INHERIT);
        if (data.Has(IFLA_VXLAN_LABEL)) p.Label = data.Get(IFLA_VXLAN_LABEL).Be32;
        p.LabelPolicy = U32(IFLA_VXLAN_LABEL_POLICY);
        p.Learning = U8(IFLA_VXLAN_LEARNING);
        p.Ageing = U32(IFLA_VXLAN_AGEING);
        p.Limit = U32(IFLA_VXLAN_LIMIT);
        if (data.Has(IFLA_VXLAN_PORT_RANGE))
        {
            var pr = data.Payload(IFLA_VXLAN_PORT_RANGE);
            p.PortRange = ((ushort)(pr[0] << 8 | pr[1]), (ushort)(pr[2] << 8 | pr[3]));
        }
        p.Proxy = U8(IFLA_VXLAN_PROXY);
        p.Rsc = U8(IFLA_VXLAN_RSC);
        p.L2Miss = U8(IFLA_VXLAN_L2MISS);
        p.L3Miss = U8(IFLA_VXLAN_L3MISS);
        p.CollectMetadata = U8(IFLA_VXLAN_COLLECT_METADATA);
        if (data.Has(IFLA_VXLAN_PORT)) p.Port = data.Get(IFLA_VXLAN_PORT).Be16;
        p.UdpCsum = U8(IFLA_VXLAN_UDP_CSUM);
        p.UdpZeroCsum6Tx = U8(IFLA_VXLAN_UDP_ZERO_CSUM6_TX);
        p.UdpZeroCsum6Rx = U8(IFLA_VXLAN_UDP_ZERO_CSUM6_RX);
        p.RemcsumTx = U8(IFLA_VXLAN_REMCSUM_TX);
        p.RemcsumRx = U8(IFLA_VXLAN_REMCSUM_RX);
        p.Gbp = data.Has(IFLA_VXLAN_GBP);
        p.Gpe = data.Has(IFLA_VXLAN_GPE);
        p.RemcsumNopartial = data.Has(IFLA_VXLAN_REMCSUM_NOPARTIAL);
        p.Df = U8(IFLA_VXLAN_DF);
        p.Vnifilter = U8(IFLA_VXLAN_VNIFILTER);
        p.Localbypass = U8(IFLA_VXLAN_LOCALBYPASS);
        p.McRoute = U8(IFLA_VXLAN_MC_ROUTE);
        p.ReservedBits = data.Has(IFLA_VXLAN_RESERVED_BITS) ? data.Bytes(IFLA_VXLAN_RESERVED_BITS) : null;
        p.Mtu = tb.Has(IFLA_MTU) ? tb.U32(IFLA_MTU) : null;
        config = p;
        return 0;
    }

    public override bool HasFillInfo => true;

    /// <summary>vxlan_fill_info.</summary>
    public override void FillInfo(NlWriter w, NetDevice dev)
    {
        var vxlan = VxlanLinkOps.Priv(dev);
        var cfg = vxlan.Cfg;
        uint f = cfg.Flags;
        byte B(uint mask) => (f & mask) != 0 ? (byte)1 : (byte)0;
        w.PutU32(IFLA_VXLAN_ID, vxlan.RemoteVni);
        if (!vxlan.RemoteIp.IsAny)
            w.PutBytes(vxlan.RemoteIp.Family == AF_INET ? IFLA_VXLAN_GROUP : IFLA_VXLAN_GROUP6, vxlan.RemoteIp.Bytes);
        if (vxlan.RemoteIfindex != 0) w.PutU32(IFLA_VXLAN_LINK, (uint)vxlan.RemoteIfindex);
        if (!cfg.Saddr.IsAny)
            w.PutBytes(cfg.Saddr.Family == AF_INET ? IFLA_VXLAN_LOCAL : IFLA_VXLAN_LOCAL6, cfg.Saddr.Bytes);
        w.PutU8(IFLA_VXLAN_TTL, cfg.Ttl);
        w.PutU8(IFLA_VXLAN_TTL_INHERIT, B(VxlanLinkOps.FTtlInherit));
        w.PutU8(IFLA_VXLAN_TOS, cfg.Tos);
        w.PutU8(IFLA_VXLAN_DF, cfg.Df);
        w.PutBe32(IFLA_VXLAN_LABEL, cfg.Label);
        w.PutU32(IFLA_VXLAN_LABEL_POLICY, cfg.LabelPolicy);
        w.PutU8(IFLA_VXLAN_LEARNING, B(VxlanLinkOps.FLearn));
        w.PutU8(IFLA_VXLAN_PROXY, B(VxlanLinkOps.FProxy));
        w.PutU8(IFLA_VXLAN_RSC, B(VxlanLinkOps.FRsc));
        w.PutU8(IFLA_VXLAN_L2MISS, B(VxlanLinkOps.FL2Miss));
        w.PutU8(IFLA_VXLAN_L3MISS, B(VxlanLinkOps.FL3Miss));
        w.PutU8(IFLA_VXLAN_COLLECT_METADATA, B(VxlanLinkOps.FCollectMetadata));
        w.PutU32(IFLA_VXLAN_AGEING, cfg.AgeInterval);
        w.PutU32(IFLA_VXLAN_LIMIT, cfg.Addrmax);
        w.PutBe16(IFLA_VXLAN_PORT, cfg.DstPort);
        w.PutU8(IFLA_VXLAN_UDP_CSUM, (f & VxlanLinkOps.FUdpZeroCsumTx) != 0 ? (byte)0 : (byte)1);
        w.PutU8(IFLA_VXLAN_UDP_ZERO_CSUM6_TX, B(VxlanLinkOps.FUdpZeroCsum6Tx));
        w.PutU8(IFLA_VXLAN_UDP_ZERO_CSUM6_RX, B(VxlanLinkOps.FUdpZeroCsum6Rx));
        w.PutU8(IFLA_VXLAN_REMCSUM_TX, B(VxlanLinkOps.FRemcsumTx));
        w.PutU8(IFLA_VXLAN_REMCSUM_RX, B(VxlanLinkOps.FRemcsumRx));
        w.PutU8(IFLA_VXLAN_LOCALBYPASS, B(VxlanLinkOps.FLocalbypass));
        Span<byte> ports = stackalloc byte[4];
        ports[0] = (byte)(cfg.PortMin >> 8); ports[1] = (byte)cfg.PortMin;
        ports[2] = (byte)(cfg.PortMax >> 8); ports[3] = (byte)cfg.PortMax;
        w.PutBytes(IFLA_VXLAN_PORT_RANGE, ports);
        if ((f & VxlanLinkOps.FGbp) != 0) w.PutFlag(IFLA_VXLAN_GBP);
        if ((f & VxlanLinkOps.FGpe) != 0) w.PutFlag(IFLA_VXLAN_GPE);
        if ((f & VxlanLinkOps.FRemcsumNopartial) != 0) w.PutFlag(IFLA_VXLAN_REMCSUM_NOPARTIAL);
        if ((f & VxlanLinkOps.FVnifilter) != 0) w.PutU8(IFLA_VXLAN_VNIFILTER, 1);
        w.PutBytes(IFLA_VXLAN_RESERVED_BITS, cfg.ReservedBits);
    }
}
