using System.Buffers.Binary;
using VirtKernel.Model;
using VirtKernel.Model.Links;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>net/8021q/vlan_netlink.c: vlan_policy, vlan_validate, vlan_fill_info.</summary>
public sealed class VlanKind : RtnlLinkKind
{
    public override string Kind => "vlan";

    private static readonly Policy VlanPolicy = new(IFLA_VLAN_MAX,
        ((ushort)IFLA_VLAN_ID, new NlaPolicy(NlaType.U16)),
        ((ushort)IFLA_VLAN_FLAGS, new NlaPolicy(NlaType.Unspec, 8)),
        ((ushort)IFLA_VLAN_EGRESS_QOS, new NlaPolicy(NlaType.Nested)),
        ((ushort)IFLA_VLAN_INGRESS_QOS, new NlaPolicy(NlaType.Nested)),
        ((ushort)IFLA_VLAN_PROTOCOL, new NlaPolicy(NlaType.U16)));

    /// <summary>vlan_map_policy.</summary>
    private static readonly Policy MapPolicy = new(IFLA_VLAN_QOS_MAX,
        ((ushort)IFLA_VLAN_QOS_MAPPING, new NlaPolicy(NlaType.Unspec, 8)));

    public override Policy DataPolicy => VlanPolicy;

    private static int Fail(RtnlRequest req, int errno, string msg) => req.Ext.Fail(errno, "8021q: " + msg);

    /// <summary>vlan_validate_qos_map, then the mappings (other attribute types are skipped, as
    /// vlan_changelink does).</summary>
    private static int QosMap(RtnlRequest req, AttrTable data, int type, string which, out List<(uint, uint)>? map)
    {
        map = null;
        if (!data.Has(type)) return 0;
        var nla = data.Get(type);
        var e = AttrParser.Validate(req.Msg.Span, nla.Offset + Nl.AttrHdrLen, nla.Length, MapPolicy, NlValidate.Liberal, null, 0);
        if (e.IsError)
        {
            req.Ext.Set(e);
            return Fail(req, e.Errno, $"Invalid {which} QOS map");
        }
        map = new List<(uint, uint)>();
        foreach (var m in nla.Nested)
        {
            if (m.Type != IFLA_VLAN_QOS_MAPPING) continue;
            map.Add((BinaryPrimitives.ReadUInt32LittleEndian(m.Payload), BinaryPrimitives.ReadUInt32LittleEndian(m.Payload[4..])));
        }
        return 0;
    }

    /// <summary>vlan_validate, then IFLA_INFO_DATA into a <see cref="VlanConfig"/>.</summary>
    public override int Decode(RtnlRequest req, AttrTable tb, AttrTable? data, bool creating, out object? config)
    {
        config = null;
        if (tb.Has(IFLA_ADDRESS))
        {
            if (tb.Payload(IFLA_ADDRESS).Length != 6) return Fail(req, Errno.EINVAL, "Invalid link address");
            if (!EtherAddr.IsValid(tb.Payload(IFLA_ADDRESS))) return Fail(req, Errno.EADDRNOTAVAIL, "Invalid link address");
        }
        if (data == null) return Fail(req, Errno.EINVAL, "VLAN properties not specified");
        var c = new VlanConfig();
        if (data.Has(IFLA_VLAN_PROTOCOL))
        {
            ushort proto = data.Get(IFLA_VLAN_PROTOCOL).Be16;
            if (proto is not (VlanLinkOps.EthP8021Q or VlanLinkOps.EthP8021AD))
                return Fail(req, Errno.EPROTONOSUPPORT, "Invalid VLAN protocol");
            c.Protocol = proto;
        }
        if (data.Has(IFLA_VLAN_ID))
        {
            ushort id = data.U16(IFLA_VLAN_ID);
            if (id >= VlanLinkOps.VidMask) return Fail(req, Errno.ERANGE, "Invalid VLAN id");
            c.Id = id;
        }
        if (data.Has(IFLA_VLAN_FLAGS))
        {
            var f = data.Payload(IFLA_VLAN_FLAGS);
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(f), mask = BinaryPrimitives.ReadUInt32LittleEndian(f[4..]);
            if ((flags & mask & ~VlanLinkOps.AllFlags) != 0) return Fail(req, Errno.EINVAL, "Invalid VLAN flags");
            c.Flags = (flags, mask);
        }
        int err = QosMap(req, data, IFLA_VLAN_INGRESS_QOS, "ingress", out c.IngressQos);
        if (err < 0) return err;
        err = QosMap(req, data, IFLA_VLAN_EGRESS_QOS, "egress", out c.EgressQos);
        if (err < 0) return err;
        config = c;
        return 0;
    }

    public override bool HasFillInfo => true;

    /// <summary>vlan_fill_info.</summary>
    public override void FillInfo(NlWriter w, NetDevice dev)
    {
        var vlan = VlanLinkOps.Priv(dev);
        w.PutBe16(IFLA_VLAN_PROTOCOL, vlan.VlanProto);
        w.PutU16(IFLA_VLAN_ID, vlan.VlanId);
        if (vlan.Flags != 0)
        {
            Span<byte> f = stackalloc byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(f, vlan.Flags);
            BinaryPrimitives.WriteUInt32LittleEndian(f[4..], uint.MaxValue);
            w.PutBytes(IFLA_VLAN_FLAGS, f);
        }
        Span<byte> m = stackalloc byte[8];
        if (vlan.NrIngressMappings != 0)
        {
            int nest = w.BeginNest(IFLA_VLAN_INGRESS_QOS);
            for (uint i = 0; i < vlan.IngressPriorityMap.Length; i++)
            {
                if (vlan.IngressPriorityMap[i] == 0) continue;
                BinaryPrimitives.WriteUInt32LittleEndian(m, i);
                BinaryPrimitives.WriteUInt32LittleEndian(m[4..], vlan.IngressPriorityMap[i]);
                w.PutBytes(IFLA_VLAN_QOS_MAPPING, m);
            }
            w.EndNest(nest);
        }
        if (vlan.NrEgressMappings != 0)
        {
            int nest = w.BeginNest(IFLA_VLAN_EGRESS_QOS);
            foreach (var (from, to) in vlan.EgressMappings)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(m, from);
                BinaryPrimitives.WriteUInt32LittleEndian(m[4..], to);
                w.PutBytes(IFLA_VLAN_QOS_MAPPING, m);
            }
            w.EndNest(nest);
        }
    }
}
