using System.Buffers.Binary;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>net/core/rtnetlink.c, links: RTM_NEWLINK/SETLINK/DELLINK/GETLINK and rtnl_fill_ifinfo.</summary>
public static class RtnlLinkHandlers
{
    private const int MaxAddrLen = 32;          // MAX_ADDR_LEN
    private const int DoSetlinkModified = 1, DoSetlinkNotify = 3;

    /// <summary>ifla_policy.</summary>
    public static readonly Policy IflaPolicy = new(IFLA_MAX_6_18,
        ((ushort)IFLA_IFNAME, new NlaPolicy(NlaType.String, IFNAMSIZ - 1)),
        ((ushort)IFLA_ADDRESS, new NlaPolicy(NlaType.Binary, MaxAddrLen)),
        ((ushort)IFLA_BROADCAST, new NlaPolicy(NlaType.Binary, MaxAddrLen)),
        ((ushort)IFLA_MAP, new NlaPolicy(NlaType.Unspec, 32)),
        ((ushort)IFLA_MTU, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_LINK, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_MASTER, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_CARRIER, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_TXQLEN, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_WEIGHT, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_OPERSTATE, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_LINKMODE, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_LINKINFO, new NlaPolicy(NlaType.Nested)),
        ((ushort)IFLA_NET_NS_PID, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_NET_NS_FD, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_IFALIAS, new NlaPolicy(NlaType.Binary, IFALIASZ - 1)),
        ((ushort)IFLA_VFINFO_LIST, new NlaPolicy(NlaType.Nested)),
        ((ushort)IFLA_VF_PORTS, new NlaPolicy(NlaType.Nested)),
        ((ushort)IFLA_PORT_SELF, new NlaPolicy(NlaType.Nested)),
        ((ushort)IFLA_AF_SPEC, new NlaPolicy(NlaType.Nested)),
        ((ushort)IFLA_EXT_MASK, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_PROMISCUITY, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_NUM_TX_QUEUES, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_NUM_RX_QUEUES, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_GSO_MAX_SEGS, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_GSO_MAX_SIZE, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_PHYS_PORT_ID, new NlaPolicy(NlaType.Binary, 32)),
        ((ushort)IFLA_CARRIER_CHANGES, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_PHYS_SWITCH_ID, new NlaPolicy(NlaType.Binary, 32)),
        ((ushort)IFLA_LINK_NETNSID, new NlaPolicy(NlaType.S32)),
        ((ushort)IFLA_PROTO_DOWN, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_XDP, new NlaPolicy(NlaType.Nested)),
        ((ushort)IFLA_EVENT, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_GROUP, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_TARGET_NETNSID, new NlaPolicy(NlaType.S32)),
        ((ushort)IFLA_CARRIER_UP_COUNT, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_CARRIER_DOWN_COUNT, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_MIN_MTU, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_MAX_MTU, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_PROP_LIST, new NlaPolicy(NlaType.Nested)),
        ((ushort)IFLA_ALT_IFNAME, new NlaPolicy(NlaType.String, ALTIFNAMSIZ - 1)),
        ((ushort)IFLA_PERM_ADDRESS, new NlaPolicy(NlaType.Reject)),
        ((ushort)IFLA_PROTO_DOWN_REASON, new NlaPolicy(NlaType.Nested)),
        ((ushort)IFLA_NEW_IFINDEX, new NlaPolicy(NlaType.S32)),
        ((ushort)IFLA_PARENT_DEV_NAME, new NlaPolicy(NlaType.NulString)),
        ((ushort)IFLA_GRO_MAX_SIZE, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_TSO_MAX_SIZE, new NlaPolicy(NlaType.Reject)),
        ((ushort)IFLA_TSO_MAX_SEGS, new NlaPolicy(NlaType.Reject)),
        ((ushort)IFLA_ALLMULTI, new NlaPolicy(NlaType.Reject)),
        ((ushort)IFLA_DEVLINK_PORT, new NlaPolicy(NlaType.Reject)),
        ((ushort)IFLA_GSO_IPV4_MAX_SIZE, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_GRO_IPV4_MAX_SIZE, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_DPLL_PIN, new NlaPolicy(NlaType.Reject)),
        ((ushort)IFLA_MAX_PACING_OFFLOAD_HORIZON, new NlaPolicy(NlaType.Reject)),
        ((ushort)IFLA_NETNS_IMMUTABLE, new NlaPolicy(NlaType.Reject)),
        ((ushort)IFLA_HEADROOM, new NlaPolicy(NlaType.Reject)),
        ((ushort)IFLA_TAILROOM, new NlaPolicy(NlaType.Reject)));

    /// <summary>ifla_info_policy.</summary>
    private static readonly Policy InfoPolicy = new(IFLA_INFO_MAX,
        ((ushort)IFLA_INFO_KIND, new NlaPolicy(NlaType.String)),
        ((ushort)IFLA_INFO_DATA, new NlaPolicy(NlaType.Nested)),
        ((ushort)IFLA_INFO_SLAVE_KIND, new NlaPolicy(NlaType.String)),
        ((ushort)IFLA_INFO_SLAVE_DATA, new NlaPolicy(NlaType.Nested)));

    /// <summary>inet6_af_policy.</summary>
    private static readonly Policy Inet6AfPolicy = new(IFLA_INET6_MAX,
        ((ushort)IFLA_INET6_ADDR_GEN_MODE, new NlaPolicy(NlaType.U8)),
        ((ushort)IFLA_INET6_TOKEN, new NlaPolicy(NlaType.Unspec, 16)));

    /// <summary>The IFLA_PROTO_DOWN_REASON nest (the kernel parses it without a policy; the u32
    /// entries here keep a short attribute from being read past its end).</summary>
    private static readonly Policy ProtoDownReasonPolicy = new(IFLA_PROTO_DOWN_REASON_MAX,
        ((ushort)IFLA_PROTO_DOWN_REASON_MASK, new NlaPolicy(NlaType.U32)),
        ((ushort)IFLA_PROTO_DOWN_REASON_VALUE, new NlaPolicy(NlaType.U32)));

    /// <summary>ifla_prop_list policy (altnames).</summary>
    private static readonly Policy PropListPolicy = new(IFLA_MAX,
        ((ushort)IFLA_ALT_IFNAME, new NlaPolicy(NlaType.String, ALTIFNAMSIZ - 1)));

    public static void Register(Rtnetlink rtnl)
    {
        rtnl.Register(AF_UNSPEC, RTM_NEWLINK, NewLink, null);
        rtnl.Register(AF_UNSPEC, RTM_SETLINK, SetLink, null);
        rtnl.Register(AF_UNSPEC, RTM_DELLINK, DelLink, null);
        rtnl.Register(AF_UNSPEC, RTM_GETLINK, GetLink, DumpLinks, RtnlFlags.DumpSplitNlmDone);
        rtnl.Register(AF_UNSPEC, RTM_NEWLINKPROP, NewLinkProp, null);
        rtnl.Register(AF_UNSPEC, RTM_DELLINKPROP, DelLinkProp, null);
    }

    // ---- decoding ------------------------------------------------------------------------

    /// <summary>The generic attributes of a link request into the model's <see cref="LinkConfig"/>.</summary>
    public static int DecodeCommon(RtnlRequest req, AttrTable tb, LinkConfig c)
    {
        if (tb.Has(IFLA_IFNAME)) c.Name = tb.String(IFLA_IFNAME);
        if (tb.Has(IFLA_MTU)) c.Mtu = tb.U32(IFLA_MTU);
        if (tb.Has(IFLA_ADDRESS)) c.Address = tb.Bytes(IFLA_ADDRESS);
        if (tb.Has(IFLA_BROADCAST)) c.Broadcast = tb.Bytes(IFLA_BROADCAST);
        if (tb.Has(IFLA_TXQLEN)) c.TxQueueLen = tb.U32(IFLA_TXQLEN);
        if (tb.Has(IFLA_IFALIAS)) c.Alias = System.Text.Encoding.UTF8.GetString(tb.Payload(IFLA_IFALIAS)).TrimEnd('\0');
        if (tb.Has(IFLA_GROUP)) c.Group = tb.U32(IFLA_GROUP);
        if (tb.Has(IFLA_OPERSTATE)) c.OperState = tb.U8(IFLA_OPERSTATE);
        if (tb.Has(IFLA_LINKMODE)) c.LinkMode = tb.U8(IFLA_LINKMODE);
        if (tb.Has(IFLA_MASTER)) c.MasterIndex = (int)tb.U32(IFLA_MASTER);
        if (tb.Has(IFLA_LINK)) c.LinkIndex = (int)tb.U32(IFLA_LINK);
        if (tb.Has(IFLA_NUM_TX_QUEUES)) c.NumTxQueues = tb.U32(IFLA_NUM_TX_QUEUES);
        if (tb.Has(IFLA_NUM_RX_QUEUES)) c.NumRxQueues = tb.U32(IFLA_NUM_RX_QUEUES);
        if (tb.Has(IFLA_GSO_MAX_SIZE)) c.GsoMaxSize = tb.U32(IFLA_GSO_MAX_SIZE);
        if (tb.Has(IFLA_GSO_MAX_SEGS)) c.GsoMaxSegs = tb.U32(IFLA_GSO_MAX_SEGS);
        if (tb.Has(IFLA_GRO_MAX_SIZE)) c.GroMaxSize = tb.U32(IFLA_GRO_MAX_SIZE);
        if (tb.Has(IFLA_PROTO_DOWN)) c.ProtoDown = tb.U8(IFLA_PROTO_DOWN) != 0;
        if (tb.Has(IFLA_CARRIER)) c.Carrier = tb.U8(IFLA_CARRIER);
        if (tb.Has(IFLA_NET_NS_PID) || tb.Has(IFLA_NET_NS_FD) || tb.Has(IFLA_TARGET_NETNSID))
        {
            var (net, err) = RtnlNetns.ResolveTarget(req, tb);
            if (err < 0) return err;
            c.TargetNet = net;
        }
        if (tb.Has(IFLA_AF_SPEC))
        {
            foreach (var af in tb.Get(IFLA_AF_SPEC).Nested)
            {
                if (af.Type == AF_INET6)
                {
                    var t = AttrParser.Parse(req.Msg, af.Offset + Nl.AttrHdrLen, af.Length, Inet6AfPolicy, NlValidate.Liberal, out var e);
                    int perr = req.Ext.Set(e); // an error, or the warning of leftover bytes
                    if (t == null) return perr;
                    if (t.Has(IFLA_INET6_ADDR_GEN_MODE)) c.AddrGenMode = t.U8(IFLA_INET6_ADDR_GEN_MODE);
                    if (t.Has(IFLA_INET6_TOKEN)) c.Ipv6Token = Inet.V6(t.Payload(IFLA_INET6_TOKEN));
                    if (!t.Has(IFLA_INET6_ADDR_GEN_MODE) && !t.Has(IFLA_INET6_TOKEN)) return -Errno.EINVAL;
                }
                else if (af.Type == AF_INET)
                {
                    foreach (var cf in af.Nested)
                    {
                        if (cf.Type != IFLA_INET_CONF) continue;
                        c.Ipv4DevConf ??= new Dictionary<int, int>();
                        foreach (var kv in cf.Nested)
                        {
                            if (kv.Length < 4 || kv.Type == 0 || kv.Type > IPV4_DEVCONF_MAX) return -Errno.EINVAL;
                            c.Ipv4DevConf[kv.Type] = kv.S32;
                        }
                    }
                }
                else return -Errno.EAFNOSUPPORT;
            }
        }
        return 0;
    }

    /// <summary>rtnl_dev_get: by IFLA_IFNAME or IFLA_ALT_IFNAME.</summary>
    private static NetDevice? DevGet(Net net, AttrTable tb)
    {
        if (tb.Has(IFLA_IFNAME)) return net.GetDevice(tb.String(IFLA_IFNAME));
        if (tb.Has(IFLA_ALT_IFNAME)) return net.GetDevice(tb.String(IFLA_ALT_IFNAME));
        return null;
    }

    // ---- RTM_NEWLINK ------------------------------------------------------------------------

    /// <summary>rtnl_newlink.</summary>
    private static int NewLink(RtnlRequest req)
    {
        var tb = req.Parse(IfInfoMsg.Size, IflaPolicy, NlValidate.Liberal, out int err);
        if (tb == null) return err;
        var ifm = IfInfoMsg.Read(req.Payload);
        var net = req.Net;
        NetDevice? dev;
        bool linkSpecified;
        if (ifm.Index > 0)
        {
            linkSpecified = true;
            dev = net.GetDevice(ifm.Index);
        }
        else if (ifm.Index < 0) return req.Ext.Fail(Errno.EINVAL, "ifindex can't be negative");
        else if (tb.Has(IFLA_IFNAME) || tb.Has(IFLA_ALT_IFNAME))
        {
            linkSpecified = true;
            dev = DevGet(net, tb);
        }
        else
        {
            linkSpecified = false;
            dev = null;
        }

        AttrTable? linkinfo = null;
        if (tb.Has(IFLA_LINKINFO))
        {
            // rtnl_newlink parses IFLA_LINKINFO without an extack: a bad nest gets a bare errno
            linkinfo = tb.ParseNested(IFLA_LINKINFO, InfoPolicy, NlValidate.Liberal, out var e);
            if (linkinfo == null) return -e.Errno;
        }
        RtnlLinkKind? kind = null;
        string kindName = "";
        if (linkinfo != null && linkinfo.Has(IFLA_INFO_KIND))
        {
            kindName = linkinfo.String(IFLA_INFO_KIND);
            kind = RtnlLinkKind.Get(kindName);
        }
        AttrTable? data = null;
        if (kind?.DataPolicy != null && linkinfo!.Has(IFLA_INFO_DATA))
        {
            // ops->maxtype with IFLA_INFO_DATA: nla_parse_nested_deprecated
            data = linkinfo.ParseNested(IFLA_INFO_DATA, kind.DataPolicy, NlValidate.Liberal, out var e);
            err = req.Ext.Set(e); // an error, or the warning of leftover bytes
            if (data == null) return err;
        }
        object? kindConfig = null;
        if (kind != null)
        {
            err = kind.Decode(req, tb, data, dev == null, out kindConfig);
            if (err < 0) return err;
        }

        if (dev != null)
        {
            // rtnl_changelink
            if ((req.Flags & NLM_F_EXCL) != 0) return -Errno.EEXIST;
            if ((req.Flags & NLM_F_REPLACE) != 0) return -Errno.EOPNOTSUPP;
            int status = 0;
            if (linkinfo != null && linkinfo.Has(IFLA_INFO_DATA))
            {
                if (kind == null || kind.Ops != dev.Ops || !dev.Ops.HasChangeLink) return -Errno.EOPNOTSUPP;
                var ke = kindConfig == null ? KErr.Ok : dev.Ops.ChangeLink(dev, kindConfig);
                if (ke.Failed) return req.Ext.Set(ke);
                status |= DoSetlinkNotify;
            }
            if (linkinfo != null && linkinfo.Has(IFLA_INFO_SLAVE_DATA))
            {
                var master = dev.Master;
                var mkind = master != null ? RtnlLinkKind.Of(master) : null;
                if (master == null || mkind == null || !master.Ops.HasSlaveChangeLink) return -Errno.EOPNOTSUPP;
                AttrTable? sdata = null;
                if (mkind.SlavePolicy != null)
                {
                    sdata = linkinfo.ParseNested(IFLA_INFO_SLAVE_DATA, mkind.SlavePolicy, NlValidate.Liberal, out var e);
                    if (sdata == null) return req.Ext.Set(e);
                }
                err = mkind.DecodeSlave(req, sdata, out var slaveConfig);
                if (err < 0) return err;
                if (slaveConfig != null)
                {
                    var ke = master.Ops.SlaveChangeLink(master, dev, slaveConfig);
                    if (ke.Failed) return req.Ext.Set(ke);
                }
                status |= DoSetlinkNotify;
            }
            return DoSetlink(req, dev, ifm, tb, status);
        }

        if ((req.Flags & NLM_F_CREATE) == 0)
        {
            if (!linkSpecified && tb.Has(IFLA_GROUP))
                return GroupChangeLink(req, tb.U32(IFLA_GROUP), ifm, tb);
            return -Errno.ENODEV;
        }
        if (tb.Has(IFLA_MAP) || tb.Has(IFLA_PROTINFO)) return -Errno.EOPNOTSUPP;
        if (kind == null) return req.Ext.Fail(Errno.EOPNOTSUPP, "Unknown device type");
        return NewLinkCreate(req, ifm, kind, tb, kindConfig);
    }

    /// <summary>rtnl_newlink_create.</summary>
    private static int NewLinkCreate(RtnlRequest req, IfInfoMsg ifm, RtnlLinkKind kind, AttrTable tb, object? kindConfig)
    {
        var cfg = new LinkConfig { Ifindex = ifm.Index, FlagsValue = ifm.Flags, FlagsChange = ifm.Change };
        int err = DecodeCommon(req, tb, cfg);
        if (err < 0) return err;
        var destNet = cfg.TargetNet ?? req.Net;
        cfg.SourceNet = req.Net;
        var (dev, ke) = destNet.RtnlNewLink(kind.Ops, cfg, kindConfig);
        if (ke.Failed) return req.Ext.Set(ke, ke.Msg != null && ke.Msg.StartsWith("mtu") ? tb.OffsetOf(IFLA_MTU) : -1);
        _ = dev;
        return 0;
    }

    /// <summary>rtnl_group_changelink: do_setlink for every device of a group.</summary>
    private static int GroupChangeLink(RtnlRequest req, uint group, IfInfoMsg ifm, AttrTable tb)
    {
        foreach (var dev in req.Net.Devices.ToList())
        {
            if (dev.Group != group) continue;
            int err = DoSetlink(req, dev, ifm, tb, 0);
            if (err < 0) return err;
        }
        return 0;
    }

    // ---- do_setlink -------------------------------------------------------------------------

    /// <summary>do_setlink: applies the request to an existing device, in the kernel's order.</summary>
    private static int DoSetlink(RtnlRequest req, NetDevice dev, IfInfoMsg ifm, AttrTable tb, int status)
    {
        var net = dev.Net;
        var cfg = new LinkConfig();
        int err = ValidateLinkMsg(req, dev, tb);
        if (err < 0) return err;
        err = DecodeCommon(req, tb, cfg);
        if (err < 0) return err;
        string? ifname = tb.Has(IFLA_IFNAME) ? tb.String(IFLA_IFNAME) : null;
        KErr ke = KErr.Ok;
        int badAttr = -1;

        try
        {
            if (cfg.TargetNet != null && cfg.TargetNet != net)
            {
                int newIndex = tb.Has(IFLA_NEW_IFINDEX) ? tb.S32(IFLA_NEW_IFINDEX) : 0;
                ke = net.DevChangeNetNamespace(dev, cfg.TargetNet, ifname, newIndex);
                if (ke.Failed) return err = req.Ext.Set(ke);
                net = dev.Net;
                status |= DoSetlinkModified;
            }
            if (cfg.Address != null)
            {
                ke = net.DevSetMacAddress(dev, cfg.Address[..dev.AddrLen]);
                if (ke.Failed) { badAttr = tb.OffsetOf(IFLA_ADDRESS); return err = req.Ext.Set(ke, badAttr); }
                status |= DoSetlinkModified;
            }
            if (cfg.Mtu is uint mtu)
            {
                ke = net.DevSetMtu(dev, mtu);
                if (ke.Failed) return err = req.Ext.Set(ke, tb.OffsetOf(IFLA_MTU));
                status |= DoSetlinkModified;
            }
            if (cfg.Group is uint g)
            {
                dev.Group = g;
                status |= DoSetlinkNotify;
            }
            if (ifm.Index > 0 && ifname != null)
            {
                ke = net.DevChangeName(dev, ifname);
                if (ke.Failed) return err = req.Ext.Set(ke);
                status |= DoSetlinkModified;
            }
            if (cfg.Alias != null)
            {
                int len = tb.Payload(IFLA_IFALIAS).Length;
                if (len >= IFALIASZ) return err = -Errno.EINVAL;
                dev.Alias = cfg.Alias.Length == 0 ? null : cfg.Alias;
                status |= DoSetlinkNotify;
            }
            if (cfg.Broadcast != null)
            {
                dev.Broadcast = cfg.Broadcast[..dev.AddrLen];
                net.CallNetdevNotifiers(NetdevEvent.ChangeAddr, dev);
            }
            if (ifm.Flags != 0 || ifm.Change != 0)
            {
                ke = net.DevChangeFlags(dev, Net.CombineFlags(dev, new LinkConfig { FlagsValue = ifm.Flags, FlagsChange = ifm.Change }));
                if (ke.Failed) return err = req.Ext.Set(ke);
            }
            if (cfg.MasterIndex is int m)
            {
                ke = net.DoSetMaster(dev, m);
                if (ke.Failed) return err = req.Ext.Set(ke);
                status |= DoSetlinkModified;
            }
            if (cfg.Carrier is byte carrier)
            {
                // dev_change_carrier: only drivers with ndo_change_carrier (dummy) support it
                if (!dev.Ops.HasChangeCarrier) return err = -Errno.EOPNOTSUPP;
                ke = dev.Ops.ChangeCarrier(dev, carrier != 0);
                if (ke.Failed) return err = req.Ext.Set(ke);
                status |= DoSetlinkModified;
            }
            if (cfg.TxQueueLen is uint q)
            {
                ke = net.DevChangeTxQueueLen(dev, q);
                if (ke.Failed) return err = req.Ext.Set(ke);
                status |= DoSetlinkModified;
            }
            if (cfg.GsoMaxSize is uint gs && dev.GsoMaxSize != gs) { dev.GsoMaxSize = gs; status |= DoSetlinkModified; }
            if (cfg.GsoMaxSegs is uint gg && dev.GsoMaxSegs != gg) { dev.GsoMaxSegs = gg; status |= DoSetlinkModified; }
            if (cfg.GroMaxSize is uint gr && dev.GroMaxSize != gr) { dev.GroMaxSize = gr; status |= DoSetlinkModified; }
            if (cfg.OperState is byte os) net.SetOperState(dev, os);
            if (cfg.LinkMode is byte lm)
            {
                if (dev.LinkMode != lm) status |= DoSetlinkNotify;
                dev.LinkMode = lm;
            }
            if (tb.Has(IFLA_AF_SPEC))
            {
                if (cfg.AddrGenMode is byte mode && dev.Ip6 != null)
                {
                    dev.Ip6.Cnf[DEVCONF_ADDR_GEN_MODE] = mode;
                    status |= DoSetlinkNotify;
                }
                if (cfg.Ipv6Token is UInt128 token && dev.Ip6 != null)
                {
                    dev.Ip6.Token = token;
                    status |= DoSetlinkNotify;
                }
                if (cfg.Ipv4DevConf != null && dev.Ip4 != null)
                {
                    foreach (var (k, v) in cfg.Ipv4DevConf) dev.Ip4.Cnf.Set(k, v);
                    status |= DoSetlinkNotify;
                }
            }
            if (tb.Has(IFLA_PROTO_DOWN) || tb.Has(IFLA_PROTO_DOWN_REASON))
            {
                (uint, uint?)? reason = null;
                if (tb.Has(IFLA_PROTO_DOWN_REASON))
                {
                    var pdr = tb.ParseNested(IFLA_PROTO_DOWN_REASON, ProtoDownReasonPolicy, NlValidate.Liberal, out var e);
                    if (pdr == null) return err = req.Ext.Set(e);
                    if (!pdr.Has(IFLA_PROTO_DOWN_REASON_VALUE))
                        return err = req.Ext.Fail(Errno.EINVAL, "Invalid protodown reason value");
                    reason = (pdr.U32(IFLA_PROTO_DOWN_REASON_VALUE),
                        pdr.Has(IFLA_PROTO_DOWN_REASON_MASK) ? pdr.U32(IFLA_PROTO_DOWN_REASON_MASK) : null);
                }
                ke = net.DoSetProtoDown(dev, cfg.ProtoDown, reason);
                if (ke.Failed) return err = req.Ext.Set(ke);
                status |= DoSetlinkNotify;
            }
            err = 0;
            return 0;
        }
        finally
        {
            if ((status & DoSetlinkModified) != 0 && (status & DoSetlinkNotify) == DoSetlinkNotify)
                net.NetdevStateChange(dev);
        }
    }

    /// <summary>validate_linkmsg for an existing device.</summary>
    private static int ValidateLinkMsg(RtnlRequest req, NetDevice dev, AttrTable tb)
    {
        if (tb.Has(IFLA_ADDRESS) && tb.Payload(IFLA_ADDRESS).Length < dev.AddrLen) return -Errno.EINVAL;
        if (tb.Has(IFLA_BROADCAST) && tb.Payload(IFLA_BROADCAST).Length < dev.AddrLen) return -Errno.EINVAL;
        if (tb.Has(IFLA_GSO_MAX_SIZE) && tb.U32(IFLA_GSO_MAX_SIZE) > dev.TsoMaxSize)
            return req.Ext.Fail(Errno.EINVAL, "too big gso_max_size");
        if (tb.Has(IFLA_AF_SPEC))
        {
            foreach (var af in tb.Get(IFLA_AF_SPEC).Nested)
            {
                if (af.Type != AF_INET && af.Type != AF_INET6) return -Errno.EAFNOSUPPORT;
                if (af.Type == AF_INET6)
                {
                    if (dev.Ip6 == null) return -Errno.EAFNOSUPPORT;
                    var t = AttrParser.Parse(req.Msg, af.Offset + Nl.AttrHdrLen, af.Length, Inet6AfPolicy, NlValidate.Liberal, out var e);
                    int perr = req.Ext.Set(e); // an error, or the warning of leftover bytes
                    if (t == null) return perr;
                    if (!t.Has(IFLA_INET6_TOKEN) && !t.Has(IFLA_INET6_ADDR_GEN_MODE)) return -Errno.EINVAL;
                    if (t.Has(IFLA_INET6_ADDR_GEN_MODE))
                    {
                        byte mode = t.U8(IFLA_INET6_ADDR_GEN_MODE);
                        if (!Model.Ipv6.Addrconf.ValidAddrGenMode(mode)) return -Errno.EINVAL;
                        // check_stable_privacy: stable-privacy needs a secret
                        if (mode == IN6_ADDR_GEN_MODE_STABLE_PRIVACY && dev.Ip6.Cnf.StableSecret == null &&
                            dev.Net.Ipv6.Default.StableSecret == null)
                            return -Errno.EINVAL;
                    }
                }
                else if (dev.Ip4 == null) return -Errno.EAFNOSUPPORT;
            }
        }
        return 0;
    }

    // ---- RTM_SETLINK / RTM_DELLINK ---------------------------------------------------------

    /// <summary>rtnl_setlink.</summary>
    private static int SetLink(RtnlRequest req)
    {
        var tb = req.Parse(IfInfoMsg.Size, IflaPolicy, NlValidate.Liberal, out int err);
        if (tb == null) return err;
        var ifm = IfInfoMsg.Read(req.Payload);
        NetDevice? dev;
        if (ifm.Index > 0) dev = req.Net.GetDevice(ifm.Index);
        else if (tb.Has(IFLA_IFNAME) || tb.Has(IFLA_ALT_IFNAME)) dev = DevGet(req.Net, tb);
        else return -Errno.EINVAL;
        if (dev == null) return -Errno.ENODEV;
        return DoSetlink(req, dev, ifm, tb, 0);
    }

    /// <summary>rtnl_dellink.</summary>
    private static int DelLink(RtnlRequest req)
    {
        var tb = req.Parse(IfInfoMsg.Size, IflaPolicy, NlValidate.Liberal, out int err);
        if (tb == null) return err;
        var ifm = IfInfoMsg.Read(req.Payload);
        NetDevice? dev;
        if (ifm.Index > 0) dev = req.Net.GetDevice(ifm.Index);
        else if (tb.Has(IFLA_IFNAME) || tb.Has(IFLA_ALT_IFNAME)) dev = DevGet(req.Net, tb);
        else if (tb.Has(IFLA_GROUP)) return DelGroup(req, tb.U32(IFLA_GROUP));
        else return -Errno.EINVAL;
        if (dev == null)
        {
            if (ifm.Index > 0 || tb.Has(IFLA_IFNAME) || tb.Has(IFLA_ALT_IFNAME)) return -Errno.ENODEV;
            return -Errno.EINVAL;
        }
        return req.Ext.Set(req.Net.DelLink(dev));
    }

    /// <summary>rtnl_group_dellink.</summary>
    private static int DelGroup(RtnlRequest req, uint group)
    {
        if (group == 0) return -Errno.EPERM;
        var devs = req.Net.Devices.Where(d => d.Group == group).ToList();
        if (devs.Count == 0) return 0;
        foreach (var d in devs) if (!d.Ops.CanCreate) return -Errno.EOPNOTSUPP;
        foreach (var d in devs) if (d.IsRegistered) req.Net.DelLink(d);
        return 0;
    }

    // ---- RTM_NEWLINKPROP / RTM_DELLINKPROP (altnames) ------------------------------------------

    /// <summary>rtnl_newlinkprop.</summary>
    private static int NewLinkProp(RtnlRequest req) => LinkProp(req, add: true);

    /// <summary>rtnl_dellinkprop.</summary>
    private static int DelLinkProp(RtnlRequest req) => LinkProp(req, add: false);

    private static int LinkProp(RtnlRequest req, bool add)
    {
        var tb = req.Parse(IfInfoMsg.Size, IflaPolicy, NlValidate.Liberal, out int err);
        if (tb == null) return err;
        var ifm = IfInfoMsg.Read(req.Payload);
        NetDevice? dev = ifm.Index > 0 ? req.Net.GetDevice(ifm.Index) : DevGet(req.Net, tb);
        if (dev == null) return -Errno.ENODEV;
        if (!tb.Has(IFLA_PROP_LIST)) return 0;
        bool changed = false;
        foreach (var a in tb.Get(IFLA_PROP_LIST).Nested)
        {
            if (a.Type != IFLA_ALT_IFNAME) continue;
            int l = a.Payload.IndexOf((byte)0);
            int len = l < 0 ? a.Length : l;
            if (len + 1 > ALTIFNAMSIZ || len == 0)
                return req.Ext.Fail(Errno.EINVAL, null, a.Offset);
            string name = a.String;
            var ke = add ? req.Net.AddAltName(dev, name) : req.Net.DelAltName(dev, name);
            if (ke.Failed) return req.Ext.Set(ke, a.Offset);
            changed = true;
        }
        if (changed) req.Engine.Notifier.Link(dev, false, 0);
        return 0;
    }

    // ---- RTM_GETLINK -------------------------------------------------------------------------

    /// <summary>rtnl_getlink.</summary>
    private static int GetLink(RtnlRequest req)
    {
        if (req.PayloadLength < IfInfoMsg.Size) return req.Ext.Fail(Errno.EINVAL, "Invalid header for get link");
        AttrTable? tb;
        int err;
        var ifm = IfInfoMsg.Read(req.Payload);
        if (req.Strict)
        {
            if (req.Payload[1] != 0 || ifm.Type != 0 || ifm.Flags != 0 || ifm.Change != 0)
                return req.Ext.Fail(Errno.EINVAL, "Invalid values in header for get link request");
            tb = req.Parse(IfInfoMsg.Size, IflaPolicy, NlValidate.DeprecatedStrict, out err);
            if (tb == null) return err;
            for (int i = 0; i <= IFLA_MAX_6_18; i++)
            {
                if (!tb.Has(i)) continue;
                if (i is not (IFLA_IFNAME or IFLA_ALT_IFNAME or IFLA_EXT_MASK or IFLA_TARGET_NETNSID))
                    return req.Ext.Fail(Errno.EINVAL, "Unsupported attribute in get link request");
            }
        }
        else
        {
            tb = req.Parse(IfInfoMsg.Size, IflaPolicy, NlValidate.Liberal, out err);
            if (tb == null) return err;
        }
        uint extMask = tb.Has(IFLA_EXT_MASK) ? tb.U32(IFLA_EXT_MASK) : 0;
        NetDevice? dev;
        if (ifm.Index > 0) dev = req.Net.GetDevice(ifm.Index);
        else if (tb.Has(IFLA_IFNAME) || tb.Has(IFLA_ALT_IFNAME)) dev = DevGet(req.Net, tb);
        else return -Errno.EINVAL;
        if (dev == null) return -Errno.ENODEV;
        var w = new NlWriter(2048);
        FillIfinfo(w, dev, req.Net, RTM_NEWLINK, req.Sock.PortId, req.Hdr.Seq, 0, 0, extMask);
        req.Unicast(w);
        return 0;
    }

    /// <summary>rtnl_dump_ifinfo.</summary>
    private static IEnumerable<bool> DumpLinks(RtnlRequest req, NlWriter w, DumpState d)
    {
        var net = req.Net;
        uint extMask = 0;
        int masterIdx = 0;
        string? kindFilter = null;
        int flags = NLM_F_MULTI;
        var tb = ValidDumpIfinfoReq(req, out int err);
        if (err < 0)
        {
            if (req.Strict) throw new RtnlDumpError(-err, req.Ext.Message);
        }
        else if (tb != null)
        {
            for (int i = 0; i <= IFLA_MAX_6_18; i++)
            {
                if (!tb.Has(i)) continue;
                switch (i)
                {
                    case IFLA_TARGET_NETNSID:
                        throw new RtnlDumpError(Errno.EINVAL, "Invalid target network namespace id");
                    case IFLA_EXT_MASK: extMask = tb.U32(i); break;
                    case IFLA_MASTER: masterIdx = (int)tb.U32(i); break;
                    case IFLA_LINKINFO:
                        // linkinfo_to_kind_ops: a kind this kernel does not know filters nothing
                        var li = tb.ParseNested(i, InfoPolicy, NlValidate.Liberal, out _);
                        if (li != null && li.Has(IFLA_INFO_KIND))
                        {
                            kindFilter = li.String(IFLA_INFO_KIND);
                            if (LinkOps.Get(kindFilter) == null) kindFilter = null;
                        }
                        break;
                    default:
                        if (req.Strict) throw new RtnlDumpError(Errno.EINVAL, "Unsupported attribute in link dump request");
                        break;
                }
            }
        }
        if (masterIdx != 0 || kindFilter != null) flags |= NLM_F_DUMP_FILTERED;
        d.Generation = () => net.DevBaseSeq;
        d.StartGeneration = net.DevBaseSeq;
        foreach (var dev in net.Devices.ToArray())
        {
            if (!dev.IsRegistered) continue;
            // link_dump_filtered: link_master_filtered (-1 means "no master") and link_kind_filtered
            if (masterIdx == -1 ? dev.Master != null : masterIdx != 0 && dev.Master?.Ifindex != masterIdx) continue;
            if (kindFilter != null && dev.Ops.Kind != kindFilter) continue;
            FillIfinfo(w, dev, net, RTM_NEWLINK, req.Sock.PortId, req.Hdr.Seq, 0, flags, extMask);
            yield return true;
        }
    }

    /// <summary>rtnl_valid_dump_ifinfo_req.</summary>
    private static AttrTable? ValidDumpIfinfoReq(RtnlRequest req, out int err)
    {
        err = 0;
        if (req.Strict)
        {
            if (req.PayloadLength < IfInfoMsg.Size)
            {
                err = req.Ext.Fail(Errno.EINVAL, "Invalid header for link dump");
                return null;
            }
            var ifm = IfInfoMsg.Read(req.Payload);
            if (req.Payload[1] != 0 || ifm.Type != 0 || ifm.Flags != 0 || ifm.Change != 0)
            {
                err = req.Ext.Fail(Errno.EINVAL, "Invalid values in header for link dump request");
                return null;
            }
            if (ifm.Index != 0)
            {
                err = req.Ext.Fail(Errno.EINVAL, "Filter by device index not supported for link dumps");
                return null;
            }
            return req.Parse(IfInfoMsg.Size, IflaPolicy, NlValidate.DeprecatedStrict, out err);
        }
        int hdrlen = req.PayloadLength < IfInfoMsg.Size ? 1 : IfInfoMsg.Size;
        return req.Parse(hdrlen, IflaPolicy, NlValidate.Liberal, out err);
    }

    // ---- rtnl_fill_ifinfo ---------------------------------------------------------------------

    /// <summary>rtnl_fill_ifinfo: one RTM_NEWLINK/RTM_DELLINK message describing <paramref name="dev"/>
    /// as seen from <paramref name="viewer"/>, with the attributes in the 6.18 kernel's order.</summary>
    public static void FillIfinfo(NlWriter w, NetDevice dev, Net viewer, int type, uint pid, uint seq, uint change, int flags,
        uint extMask, uint ifaEvent = IFLA_EVENT_NONE, int? newNsid = null, int newIfindex = 0)
    {
        int start = w.BeginMessage(type, flags, seq, pid);
        new IfInfoMsg
        {
            Family = (byte)AF_UNSPEC, Type = dev.Type, Index = dev.Ifindex, Flags = dev.GetFlags(), Change = change,
        }.Write(w.Reserve(IfInfoMsg.Size));

        w.PutString(IFLA_IFNAME, dev.Name);
        w.PutU32(IFLA_TXQLEN, dev.TxQueueLen);
        w.PutU8(IFLA_OPERSTATE, dev.ReportedOperState);
        w.PutU8(IFLA_LINKMODE, dev.LinkMode);
        w.PutU8(IFLA_NETNS_IMMUTABLE, dev.NetnsImmutable ? (byte)1 : (byte)0);
        w.PutU32(IFLA_MTU, dev.Mtu);
        w.PutU32(IFLA_MIN_MTU, dev.MinMtu);
        w.PutU32(IFLA_MAX_MTU, dev.MaxMtu);
        w.PutU32(IFLA_GROUP, dev.Group);
        w.PutU32(IFLA_PROMISCUITY, dev.Promiscuity);
        w.PutU32(IFLA_ALLMULTI, dev.Allmulti);
        w.PutU32(IFLA_NUM_TX_QUEUES, dev.NumTxQueues);
        w.PutU32(IFLA_GSO_MAX_SEGS, dev.GsoMaxSegs);
        w.PutU32(IFLA_GSO_MAX_SIZE, dev.GsoMaxSize);
        w.PutU32(IFLA_GRO_MAX_SIZE, dev.GroMaxSize);
        w.PutU32(IFLA_GSO_IPV4_MAX_SIZE, dev.GsoIpv4MaxSize);
        w.PutU32(IFLA_GRO_IPV4_MAX_SIZE, dev.GroIpv4MaxSize);
        w.PutU32(IFLA_TSO_MAX_SIZE, dev.TsoMaxSize);
        w.PutU32(IFLA_TSO_MAX_SEGS, dev.TsoMaxSegs);
        w.PutU32(IFLA_MAX_PACING_OFFLOAD_HORIZON, 0); // nla_put_uint of a zero u64: 4 bytes
        w.PutU32(IFLA_NUM_RX_QUEUES, dev.NumRxQueues);
        if (dev.Master != null) w.PutU32(IFLA_MASTER, (uint)dev.Master.Ifindex); // put_master_ifindex
        w.PutU8(IFLA_CARRIER, dev.Carrier ? (byte)1 : (byte)0);
        if (dev.Alias != null) w.PutString(IFLA_IFALIAS, dev.Alias);
        w.PutU32(IFLA_CARRIER_CHANGES, dev.CarrierChanges);
        w.PutU32(IFLA_CARRIER_UP_COUNT, dev.CarrierUpCount);
        w.PutU32(IFLA_CARRIER_DOWN_COUNT, dev.CarrierDownCount);
        w.PutU16(IFLA_HEADROOM, dev.NeededHeadroom);
        w.PutU16(IFLA_TAILROOM, dev.NeededTailroom);
        // rtnl_fill_proto_down
        w.PutU8(IFLA_PROTO_DOWN, dev.ProtoDown ? (byte)1 : (byte)0);
        if (dev.ProtoDownReason != 0)
        {
            int pr = w.BeginNest(IFLA_PROTO_DOWN_REASON, nestedFlag: true);
            w.PutU32(IFLA_PROTO_DOWN_REASON_VALUE, dev.ProtoDownReason);
            w.EndNest(pr);
        }
        if (ifaEvent != IFLA_EVENT_NONE) w.PutU32(IFLA_EVENT, ifaEvent);
        if (dev.AddrLen > 0)
        {
            w.PutBytes(IFLA_ADDRESS, dev.DevAddr.AsSpan(0, dev.AddrLen));
            w.PutBytes(IFLA_BROADCAST, dev.Broadcast.AsSpan(0, dev.AddrLen));
        }
        // rtnl_fill_stats: always, whatever the filter mask (no traffic: all zero)
        w.ReserveAligned64(IFLA_STATS64, 25 * 8, IFLA_PAD);
        w.ReserveAttr(IFLA_STATS, 24 * 4);
        // rtnl_xdp_fill: no program attached
        int xdp = w.BeginNest(IFLA_XDP);
        w.PutU8(IFLA_XDP_ATTACHED, 0);
        w.EndNest(xdp);
        if (dev.Ops.Kind != null) LinkFill(w, dev);
        if (newNsid is int nn) w.PutS32(IFLA_NEW_NETNSID, nn);
        if (newIfindex != 0) w.PutS32(IFLA_NEW_IFINDEX, newIfindex);
        RtnlNetns.FillLinkNetnsid(w, dev, viewer); // and IFLA_LINK (nla_put_iflink)
        w.PutString(IFLA_QDISC, dev.Qdisc);
        if (dev.PermAddr.Length >= dev.AddrLen && dev.AddrLen > 0 && !EtherAddr.IsZero(dev.PermAddr.AsSpan(0, dev.AddrLen)))
            w.PutBytes(IFLA_PERM_ADDRESS, dev.PermAddr.AsSpan(0, dev.AddrLen));
        FillLinkAf(w, dev, extMask);
        // rtnl_fill_link_ifmap
        w.ReserveAligned64(IFLA_MAP, 32, IFLA_PAD);
        if (dev.AltNames.Count > 0)
        {
            int pl = w.BeginNest(IFLA_PROP_LIST, nestedFlag: true);
            foreach (var alt in dev.AltNames) w.PutString(IFLA_ALT_IFNAME, alt);
            w.EndNest(pl);
        }
        // rtnl_fill_devlink_port, rtnl_fill_dpll_pin: empty nests for devices without them
        w.EndNest(w.BeginNest(IFLA_DEVLINK_PORT, nestedFlag: true));
        w.EndNest(w.BeginNest(IFLA_DPLL_PIN, nestedFlag: true));
        w.EndMessage(start);
    }

    /// <summary>rtnl_link_fill: IFLA_LINKINFO with the kind (rtnl_link_info_fill) and, for ports,
    /// the master's view of them (rtnl_link_slave_info_fill).</summary>
    private static void LinkFill(NlWriter w, NetDevice dev)
    {
        int li = w.BeginNest(IFLA_LINKINFO);
        var kind = RtnlLinkKind.Of(dev);
        w.PutString(IFLA_INFO_KIND, dev.Ops.Kind!);
        if (kind is { HasXstats: true }) kind.FillXstats(w, dev);
        if (kind is { HasFillInfo: true })
        {
            int data = w.BeginNest(IFLA_INFO_DATA);
            kind.FillInfo(w, dev);
            w.EndNest(data);
        }
        if (dev.Master is { } master && master.Ops.Kind is string mk)
        {
            w.PutString(IFLA_INFO_SLAVE_KIND, mk);
            if (RtnlLinkKind.Get(mk) is { HasSlaveInfo: true } mkind)
            {
                int sd = w.BeginNest(IFLA_INFO_SLAVE_DATA);
                mkind.FillSlaveInfo(w, master, dev);
                w.EndNest(sd);
            }
        }
        w.EndNest(li);
    }

    /// <summary>rtnl_fill_link_af: AF_INET (IFLA_INET_CONF) and AF_INET6 (flags, cacheinfo, conf,
    /// stats, token, addr_gen_mode).</summary>
    private static void FillLinkAf(NlWriter w, NetDevice dev, uint extMask)
    {
        if (dev.Ip4 == null && dev.Ip6 == null) return;
        int af = w.BeginNest(IFLA_AF_SPEC);
        if (dev.Ip4 is { } in4)
        {
            int a = w.BeginNest(AF_INET);
            var conf = w.ReserveAttr(IFLA_INET_CONF, IPV4_DEVCONF_MAX * 4);
            var data = in4.Cnf.Data;
            for (int i = 0; i < IPV4_DEVCONF_MAX; i++)
                BinaryPrimitives.WriteInt32LittleEndian(conf[(i * 4)..], data[i]);
            w.EndNest(a);
        }
        if (dev.Ip6 is { } in6)
        {
            int a = w.BeginNest(AF_INET6);
            FillIfla6Attrs(w, in6, extMask);
            w.EndNest(a);
        }
        w.EndNest(af);
    }

    /// <summary>inet6_fill_ifla6_attrs: flags, cacheinfo, conf, stats (unless skipped), token,
    /// addr_gen_mode.</summary>
    internal static void FillIfla6Attrs(NlWriter w, VirtKernel.Model.Ipv6.Inet6Dev in6, uint extMask)
    {
        {
            w.PutU32(IFLA_INET6_FLAGS, in6.Ready ? 0x80000000u : 0); // IF_READY
            var ci = w.ReserveAttr(IFLA_INET6_CACHEINFO, 16);
            BinaryPrimitives.WriteUInt32LittleEndian(ci, 65535);                       // max_reasm_len
            BinaryPrimitives.WriteUInt32LittleEndian(ci[4..], (uint)((in6.TstampMs - 300_000 + 300_000) / 10)); // tstamp (1/100 s)
            BinaryPrimitives.WriteUInt32LittleEndian(ci[8..], 30000);                  // reachable_time (ms)
            BinaryPrimitives.WriteUInt32LittleEndian(ci[12..], 1000);                  // retrans_time (ms)
            // ipv6_store_devconf: the 6.18 entries (force_forwarding is the newest), the intervals
            // the model keeps in jiffies given in milliseconds
            Span<int> data = stackalloc int[Model.Ipv6.DevConf6.Max];
            in6.Cnf.Store(data);
            var conf = w.ReserveAttr(IFLA_INET6_CONF, data.Length * 4);
            for (int i = 0; i < data.Length; i++)
                BinaryPrimitives.WriteInt32LittleEndian(conf[(i * 4)..], data[i]);
            if ((extMask & RTEXT_FILTER_SKIP_STATS) == 0)
            {
                var stats = w.ReserveAligned64(IFLA_INET6_STATS, 38 * 8, IFLA_INET6_UNSPEC);
                BinaryPrimitives.WriteUInt64LittleEndian(stats, 38);
                var icmp = w.ReserveAligned64(IFLA_INET6_ICMP6STATS, 7 * 8, IFLA_INET6_UNSPEC);
                BinaryPrimitives.WriteUInt64LittleEndian(icmp, 7);
            }
            Span<byte> tok = stackalloc byte[16];
            Inet.V6(in6.Token, tok);
            w.PutBytes(IFLA_INET6_TOKEN, tok);
            w.PutU8(IFLA_INET6_ADDR_GEN_MODE, (byte)in6.Cnf[DEVCONF_ADDR_GEN_MODE]);
        }
    }
}
