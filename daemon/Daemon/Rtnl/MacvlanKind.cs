using VirtKernel.Model;
using VirtKernel.Model.Links;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>drivers/net/macvlan.c, rtnetlink side: macvlan_policy, macvlan_validate, macvlan_fill_info.</summary>
public sealed class MacvlanKind : RtnlLinkKind
{
    public override string Kind => "macvlan";

    private const int MaxAddrLen = 32;

    private static readonly Policy MacvlanPolicy = new(IFLA_MACVLAN_MAX_6_18,
        ((ushort)IFLA_MACVLAN_MODE, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_MACVLAN_FLAGS, new NlaPolicy(NlaType.U16)),
        ((ushort)IFLA_MACVLAN_MACADDR_MODE, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_MACVLAN_MACADDR, new NlaPolicy(NlaType.Binary, MaxAddrLen)),
        ((ushort)IFLA_MACVLAN_MACADDR_DATA, new NlaPolicy(NlaType.Nested)),
        ((ushort)IFLA_MACVLAN_MACADDR_COUNT, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_MACVLAN_BC_QUEUE_LEN, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_MACVLAN_BC_QUEUE_LEN_USED, new NlaPolicy(NlaType.Reject)),
        ((ushort)IFLA_MACVLAN_BC_CUTOFF, new NlaPolicy(NlaType.S32)));

    public override Policy DataPolicy => MacvlanPolicy;

    /// <summary>macvlan_validate, then the data into a <see cref="MacvlanConfig"/>.</summary>
    public override int Decode(RtnlRequest req, AttrTable tb, AttrTable? data, bool creating, out object? config)
    {
        config = null;
        int err = ValidateEtherAddress(req, tb);
        if (err < 0) return err;
        var c = new MacvlanConfig();
        config = c;
        if (data == null) return 0;
        if (data.Has(IFLA_MACVLAN_FLAGS) &&
            (data.U16(IFLA_MACVLAN_FLAGS) & ~(MacvlanLinkOps.FlagNoPromisc | MacvlanLinkOps.FlagNodst)) != 0)
            return -Errno.EINVAL;
        if (data.Has(IFLA_MACVLAN_MODE))
        {
            uint mode = data.U32(IFLA_MACVLAN_MODE);
            if (mode is not (MacvlanLinkOps.ModePrivate or MacvlanLinkOps.ModeVepa or MacvlanLinkOps.ModeBridge
                or MacvlanLinkOps.ModePassthru or MacvlanLinkOps.ModeSource))
                return -Errno.EINVAL;
            c.Mode = mode;
        }
        if (data.Has(IFLA_MACVLAN_MACADDR_MODE))
        {
            uint mm = data.U32(IFLA_MACVLAN_MACADDR_MODE);
            if (mm > MacvlanLinkOps.MacaddrSet) return -Errno.EINVAL;
            c.MacaddrMode = mm;
        }
        if (data.Has(IFLA_MACVLAN_MACADDR))
        {
            var a = data.Payload(IFLA_MACVLAN_MACADDR);
            if (a.Length != 6) return -Errno.EINVAL;
            if (!EtherAddr.IsValid(a)) return -Errno.EADDRNOTAVAIL;
            c.Macaddr = a.ToArray();
        }
        if (data.Has(IFLA_MACVLAN_MACADDR_DATA))
        {
            c.MacaddrData = new List<byte[]>();
            foreach (var nla in data.Get(IFLA_MACVLAN_MACADDR_DATA).Nested)
            {
                if (nla.Type != IFLA_MACVLAN_MACADDR || nla.Length != 6) return -Errno.EINVAL;
                if (!EtherAddr.IsValid(nla.Payload)) return -Errno.EADDRNOTAVAIL;
                c.MacaddrData.Add(nla.Payload.ToArray());
            }
        }
        if (data.Has(IFLA_MACVLAN_MACADDR_COUNT)) return -Errno.EINVAL;
        if (data.Has(IFLA_MACVLAN_FLAGS)) c.Flags = data.U16(IFLA_MACVLAN_FLAGS);
        if (data.Has(IFLA_MACVLAN_BC_QUEUE_LEN)) c.BcQueueLen = data.U32(IFLA_MACVLAN_BC_QUEUE_LEN);
        if (data.Has(IFLA_MACVLAN_BC_CUTOFF)) c.BcCutoff = data.S32(IFLA_MACVLAN_BC_CUTOFF);
        return 0;
    }

    public override bool HasFillInfo => true;

    /// <summary>macvlan_fill_info.</summary>
    public override void FillInfo(NlWriter w, NetDevice dev)
    {
        var vlan = MacvlanLinkOps.Priv(dev);
        w.PutU32(IFLA_MACVLAN_MODE, vlan.Mode);
        w.PutU16(IFLA_MACVLAN_FLAGS, vlan.Flags);
        w.PutU32(IFLA_MACVLAN_MACADDR_COUNT, (uint)vlan.MacaddrCount);
        if (vlan.MacaddrCount > 0)
        {
            int nest = w.BeginNest(IFLA_MACVLAN_MACADDR_DATA);
            foreach (var a in vlan.SourceAddrsInHashOrder) w.PutBytes(IFLA_MACVLAN_MACADDR, a);
            w.EndNest(nest);
        }
        w.PutU32(IFLA_MACVLAN_BC_QUEUE_LEN, vlan.BcQueueLenReq);
        w.PutU32(IFLA_MACVLAN_BC_QUEUE_LEN_USED, vlan.Port.BcQueueLenUsed);
        if (vlan.Port.BcCutoff != 1) w.PutS32(IFLA_MACVLAN_BC_CUTOFF, vlan.Port.BcCutoff);
    }
}
