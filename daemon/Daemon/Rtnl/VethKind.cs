using VirtKernel.Model;
using VirtKernel.Model.Links;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>drivers/net/veth.c, rtnetlink side: VETH_INFO_PEER carries the peer's ifinfomsg and
/// IFLA_* attributes (rtnl_nla_parse_ifinfomsg).</summary>
public sealed class VethKind : RtnlLinkKind
{
    public override string Kind => "veth";

    private static readonly Policy VethPolicy = new(VETH_INFO_MAX,
        ((ushort)VETH_INFO_PEER, new NlaPolicy(NlaType.Unspec, IfInfoMsg.Size)));

    public override Policy DataPolicy => VethPolicy;

    public override int Decode(RtnlRequest req, AttrTable tb, AttrTable? data, bool creating, out object? config)
    {
        config = null;
        // veth_validate: the device's own attributes
        int err = Validate(req, tb);
        if (err < 0) return err;
        if (data == null || !data.Has(VETH_INFO_PEER))
        {
            config = new VethConfig();
            return 0;
        }
        // rtnl_nla_parse_ifinfomsg: an ifinfomsg, then IFLA_* attributes
        var peerAttr = data.Get(VETH_INFO_PEER);
        int peerOff = peerAttr.Offset + Nl.AttrHdrLen;
        var ifm = IfInfoMsg.Read(peerAttr.Payload);
        int attrsOff = peerOff + IfInfoMsg.Size;
        int attrsLen = peerAttr.Length - IfInfoMsg.Size;
        var peerTb = AttrParser.Parse(req.Msg, attrsOff, Math.Max(0, attrsLen), RtnlLinkHandlers.IflaPolicy, NlValidate.Liberal, out var e);
        err = req.Ext.Set(e); // an error, or the warning of leftover bytes
        if (peerTb == null) return err;
        err = Validate(req, peerTb);
        if (err < 0) return err;
        var peer = new LinkConfig { Ifindex = ifm.Index, FlagsValue = ifm.Flags, FlagsChange = ifm.Change };
        err = RtnlLinkHandlers.DecodeCommon(req, peerTb, peer);
        if (err < 0) return err;
        config = new VethConfig { Peer = peer };
        return 0;
    }

    /// <summary>veth_validate: a given address must be a valid unicast Ethernet address; the MTU
    /// must fit.</summary>
    private static int Validate(RtnlRequest req, AttrTable tb)
    {
        if (tb.Has(IFLA_ADDRESS))
        {
            if (tb.Payload(IFLA_ADDRESS).Length != 6) return -Errno.EINVAL;
            if (!EtherAddr.IsValid(tb.Payload(IFLA_ADDRESS))) return -Errno.EADDRNOTAVAIL;
        }
        if (tb.Has(IFLA_MTU))
        {
            uint mtu = tb.U32(IFLA_MTU);
            if (mtu < 68 || mtu > 65535) return -Errno.EINVAL;
        }
        return 0;
    }
}
