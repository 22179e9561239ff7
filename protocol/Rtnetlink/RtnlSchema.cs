using VirtKernel.Protocol.Netlink;
using static VirtKernel.Protocol.Uapi;
using K = VirtKernel.Protocol.Netlink.NlValueKind;

namespace VirtKernel.Protocol.Rtnetlink;

/// <summary>The NETLINK_ROUTE messages for <see cref="NlMessageTree"/>: fixed headers and attribute
/// spaces of links, addresses and routes, named as in the uapi headers. Attributes it does not list
/// are still parsed and kept, shown by number.</summary>
public static class RtnlSchema
{
    public static readonly NlStruct IfInfoMsg = new("ifinfomsg",
        new NlField("ifi_family", 1, K.U8), new NlField("__ifi_pad", 1, K.U8), new NlField("ifi_type", 2, K.U16),
        new NlField("ifi_index", 4, K.S32), new NlField("ifi_flags", 4, K.X32), new NlField("ifi_change", 4, K.X32));

    public static readonly NlStruct IfAddrMsg = new("ifaddrmsg",
        new NlField("ifa_family", 1, K.U8), new NlField("ifa_prefixlen", 1, K.U8), new NlField("ifa_flags", 1, K.X8),
        new NlField("ifa_scope", 1, K.U8), new NlField("ifa_index", 4, K.U32));

    public static readonly NlStruct RtMsg = new("rtmsg",
        new NlField("rtm_family", 1, K.U8), new NlField("rtm_dst_len", 1, K.U8), new NlField("rtm_src_len", 1, K.U8),
        new NlField("rtm_tos", 1, K.U8), new NlField("rtm_table", 1, K.U8), new NlField("rtm_protocol", 1, K.U8),
        new NlField("rtm_scope", 1, K.U8), new NlField("rtm_type", 1, K.U8), new NlField("rtm_flags", 4, K.X32));

    public static readonly NlAttrSpace Link = new("link-attrs");
    public static readonly NlAttrSpace Addr = new("addr-attrs");
    public static readonly NlAttrSpace Route = new("route-attrs");

    public static readonly NlSchema Schema = Build();

    private static NlSchema Build()
    {
        var t = typeof(Uapi);
        var linkinfoVeth = new NlAttrSpace("linkinfo-veth-attrs").Nest(t, nameof(VETH_INFO_PEER), Link, IfInfoMsg);
        var linkinfoBridge = new NlAttrSpace("linkinfo-bridge-attrs").Add(t,
            (nameof(IFLA_BR_FORWARD_DELAY), K.U32), (nameof(IFLA_BR_HELLO_TIME), K.U32), (nameof(IFLA_BR_MAX_AGE), K.U32),
            (nameof(IFLA_BR_AGEING_TIME), K.U32), (nameof(IFLA_BR_STP_STATE), K.U32), (nameof(IFLA_BR_PRIORITY), K.U16),
            (nameof(IFLA_BR_VLAN_FILTERING), K.U8), (nameof(IFLA_BR_VLAN_PROTOCOL), K.Be16),
            (nameof(IFLA_BR_GROUP_FWD_MASK), K.X16), (nameof(IFLA_BR_ROOT_ID), K.Binary), (nameof(IFLA_BR_BRIDGE_ID), K.Binary),
            (nameof(IFLA_BR_ROOT_PORT), K.U16), (nameof(IFLA_BR_ROOT_PATH_COST), K.U32),
            (nameof(IFLA_BR_TOPOLOGY_CHANGE), K.U8), (nameof(IFLA_BR_TOPOLOGY_CHANGE_DETECTED), K.U8),
            (nameof(IFLA_BR_HELLO_TIMER), K.U64), (nameof(IFLA_BR_TCN_TIMER), K.U64),
            (nameof(IFLA_BR_TOPOLOGY_CHANGE_TIMER), K.U64), (nameof(IFLA_BR_GC_TIMER), K.U64),
            (nameof(IFLA_BR_GROUP_ADDR), K.LinkAddr), (nameof(IFLA_BR_FDB_FLUSH), K.Flag),
            (nameof(IFLA_BR_MCAST_ROUTER), K.U8), (nameof(IFLA_BR_MCAST_SNOOPING), K.U8),
            (nameof(IFLA_BR_MCAST_QUERY_USE_IFADDR), K.U8), (nameof(IFLA_BR_MCAST_QUERIER), K.U8),
            (nameof(IFLA_BR_MCAST_HASH_ELASTICITY), K.U32), (nameof(IFLA_BR_MCAST_HASH_MAX), K.U32),
            (nameof(IFLA_BR_MCAST_LAST_MEMBER_CNT), K.U32), (nameof(IFLA_BR_MCAST_STARTUP_QUERY_CNT), K.U32),
            (nameof(IFLA_BR_MCAST_LAST_MEMBER_INTVL), K.U64), (nameof(IFLA_BR_MCAST_MEMBERSHIP_INTVL), K.U64),
            (nameof(IFLA_BR_MCAST_QUERIER_INTVL), K.U64), (nameof(IFLA_BR_MCAST_QUERY_INTVL), K.U64),
            (nameof(IFLA_BR_MCAST_QUERY_RESPONSE_INTVL), K.U64), (nameof(IFLA_BR_MCAST_STARTUP_QUERY_INTVL), K.U64),
            (nameof(IFLA_BR_NF_CALL_IPTABLES), K.U8), (nameof(IFLA_BR_NF_CALL_IP6TABLES), K.U8),
            (nameof(IFLA_BR_NF_CALL_ARPTABLES), K.U8), (nameof(IFLA_BR_VLAN_DEFAULT_PVID), K.U16),
            (nameof(IFLA_BR_PAD), K.Binary), (nameof(IFLA_BR_VLAN_STATS_ENABLED), K.U8),
            (nameof(IFLA_BR_MCAST_STATS_ENABLED), K.U8), (nameof(IFLA_BR_MCAST_IGMP_VERSION), K.U8),
            (nameof(IFLA_BR_MCAST_MLD_VERSION), K.U8), (nameof(IFLA_BR_VLAN_STATS_PER_PORT), K.U8),
            (nameof(IFLA_BR_MULTI_BOOLOPT), K.Binary))
            .Add(IFLA_BR_MCAST_QUERIER_STATE, new NlAttrSpec(nameof(IFLA_BR_MCAST_QUERIER_STATE), K.Nested));
        var linkinfo = new NlAttrSpace("linkinfo-attrs").Add(t,
                (nameof(IFLA_INFO_KIND), K.String), (nameof(IFLA_INFO_XSTATS), K.Binary), (nameof(IFLA_INFO_SLAVE_KIND), K.String))
            .Add(IFLA_INFO_DATA, new NlAttrSpec(nameof(IFLA_INFO_DATA), K.SubMessage)
            {
                Selector = IFLA_INFO_KIND,
                Selected = new Dictionary<string, NlAttrSpace> { ["veth"] = linkinfoVeth, ["bridge"] = linkinfoBridge },
            })
            .Add(IFLA_INFO_SLAVE_DATA, new NlAttrSpec(nameof(IFLA_INFO_SLAVE_DATA), K.SubMessage)
            {
                Selector = IFLA_INFO_SLAVE_KIND,
                Selected = new Dictionary<string, NlAttrSpace>(),
            });
        var inet = new NlAttrSpace("ifla-inet-attrs").Add(t, (nameof(IFLA_INET_CONF), K.Binary));
        var inet6 = new NlAttrSpace("ifla-inet6-attrs").Add(t,
            (nameof(IFLA_INET6_FLAGS), K.X32), (nameof(IFLA_INET6_CONF), K.Binary), (nameof(IFLA_INET6_STATS), K.Binary),
            (nameof(IFLA_INET6_MCAST), K.Binary), (nameof(IFLA_INET6_CACHEINFO), K.Binary),
            (nameof(IFLA_INET6_ICMP6STATS), K.Binary), (nameof(IFLA_INET6_TOKEN), K.InetAddr),
            (nameof(IFLA_INET6_ADDR_GEN_MODE), K.U8), (nameof(IFLA_INET6_RA_MTU), K.U32));
        var afSpec = new NlAttrSpace("af-spec-attrs")
            .Add(AF_INET, new NlAttrSpec(nameof(AF_INET), K.Nested) { Space = inet })
            .Add(AF_INET6, new NlAttrSpec(nameof(AF_INET6), K.Nested) { Space = inet6 });
        var xdp = new NlAttrSpace("xdp-attrs").Add(t,
            (nameof(IFLA_XDP_FD), K.S32), (nameof(IFLA_XDP_ATTACHED), K.U8), (nameof(IFLA_XDP_FLAGS), K.X32),
            (nameof(IFLA_XDP_PROG_ID), K.U32), (nameof(IFLA_XDP_DRV_PROG_ID), K.U32), (nameof(IFLA_XDP_SKB_PROG_ID), K.U32),
            (nameof(IFLA_XDP_HW_PROG_ID), K.U32), (nameof(IFLA_XDP_EXPECTED_FD), K.S32));
        var propList = new NlAttrSpace("prop-list-link-attrs").Add(t, (nameof(IFLA_ALT_IFNAME), K.String));
        var protoDownReason = new NlAttrSpace("proto-down-reason-attrs").Add(t,
            (nameof(IFLA_PROTO_DOWN_REASON_MASK), K.X32), (nameof(IFLA_PROTO_DOWN_REASON_VALUE), K.X32));

        Link.Add(t,
            (nameof(IFLA_ADDRESS), K.LinkAddr), (nameof(IFLA_BROADCAST), K.LinkAddr), (nameof(IFLA_IFNAME), K.String),
            (nameof(IFLA_MTU), K.U32), (nameof(IFLA_LINK), K.U32), (nameof(IFLA_QDISC), K.String),
            (nameof(IFLA_STATS), K.Binary), (nameof(IFLA_COST), K.Binary), (nameof(IFLA_PRIORITY), K.Binary),
            (nameof(IFLA_MASTER), K.U32), (nameof(IFLA_WIRELESS), K.Binary), (nameof(IFLA_PROTINFO), K.Binary),
            (nameof(IFLA_TXQLEN), K.U32), (nameof(IFLA_MAP), K.Binary), (nameof(IFLA_WEIGHT), K.U32),
            (nameof(IFLA_OPERSTATE), K.U8), (nameof(IFLA_LINKMODE), K.U8), (nameof(IFLA_NET_NS_PID), K.U32),
            (nameof(IFLA_IFALIAS), K.String), (nameof(IFLA_NUM_VF), K.U32), (nameof(IFLA_VFINFO_LIST), K.Binary),
            (nameof(IFLA_STATS64), K.Binary), (nameof(IFLA_VF_PORTS), K.Binary), (nameof(IFLA_PORT_SELF), K.Binary),
            (nameof(IFLA_GROUP), K.U32), (nameof(IFLA_NET_NS_FD), K.U32), (nameof(IFLA_EXT_MASK), K.X32),
            (nameof(IFLA_PROMISCUITY), K.U32), (nameof(IFLA_NUM_TX_QUEUES), K.U32), (nameof(IFLA_NUM_RX_QUEUES), K.U32),
            (nameof(IFLA_CARRIER), K.U8), (nameof(IFLA_PHYS_PORT_ID), K.Binary), (nameof(IFLA_CARRIER_CHANGES), K.U32),
            (nameof(IFLA_PHYS_SWITCH_ID), K.Binary), (nameof(IFLA_LINK_NETNSID), K.S32),
            (nameof(IFLA_PHYS_PORT_NAME), K.String), (nameof(IFLA_PROTO_DOWN), K.U8),
            (nameof(IFLA_GSO_MAX_SEGS), K.U32), (nameof(IFLA_GSO_MAX_SIZE), K.U32), (nameof(IFLA_PAD), K.Binary),
            (nameof(IFLA_EVENT), K.U32), (nameof(IFLA_NEW_NETNSID), K.S32), (nameof(IFLA_TARGET_NETNSID), K.S32),
            (nameof(IFLA_CARRIER_UP_COUNT), K.U32), (nameof(IFLA_CARRIER_DOWN_COUNT), K.U32),
            (nameof(IFLA_NEW_IFINDEX), K.S32), (nameof(IFLA_MIN_MTU), K.U32), (nameof(IFLA_MAX_MTU), K.U32),
            (nameof(IFLA_ALT_IFNAME), K.String), (nameof(IFLA_PERM_ADDRESS), K.LinkAddr),
            (nameof(IFLA_PARENT_DEV_NAME), K.String), (nameof(IFLA_PARENT_DEV_BUS_NAME), K.String),
            (nameof(IFLA_GRO_MAX_SIZE), K.U32), (nameof(IFLA_TSO_MAX_SIZE), K.U32), (nameof(IFLA_TSO_MAX_SEGS), K.U32),
            (nameof(IFLA_ALLMULTI), K.U32), (nameof(IFLA_DEVLINK_PORT), K.Nested), (nameof(IFLA_DPLL_PIN), K.Nested),
            (nameof(IFLA_GSO_IPV4_MAX_SIZE), K.U32), (nameof(IFLA_GRO_IPV4_MAX_SIZE), K.U32),
            (nameof(IFLA_MAX_PACING_OFFLOAD_HORIZON), K.U32), (nameof(IFLA_NETNS_IMMUTABLE), K.U8))
            .Nest(t, nameof(IFLA_LINKINFO), linkinfo)
            .Nest(t, nameof(IFLA_AF_SPEC), afSpec)
            .Nest(t, nameof(IFLA_XDP), xdp)
            .Nest(t, nameof(IFLA_PROP_LIST), propList)
            .Nest(t, nameof(IFLA_PROTO_DOWN_REASON), protoDownReason);

        Addr.Add(t,
            (nameof(IFA_ADDRESS), K.InetAddr), (nameof(IFA_LOCAL), K.InetAddr), (nameof(IFA_LABEL), K.String),
            (nameof(IFA_BROADCAST), K.InetAddr), (nameof(IFA_ANYCAST), K.InetAddr), (nameof(IFA_CACHEINFO), K.Binary),
            (nameof(IFA_MULTICAST), K.InetAddr), (nameof(IFA_FLAGS), K.X32), (nameof(IFA_RT_PRIORITY), K.U32),
            (nameof(IFA_TARGET_NETNSID), K.S32), (nameof(IFA_PROTO), K.U8));

        var metrics = new NlAttrSpace("metrics-attrs").Add(t,
            (nameof(RTAX_LOCK), K.X32), (nameof(RTAX_MTU), K.U32), (nameof(RTAX_WINDOW), K.U32), (nameof(RTAX_RTT), K.U32),
            (nameof(RTAX_RTTVAR), K.U32), (nameof(RTAX_SSTHRESH), K.U32), (nameof(RTAX_CWND), K.U32),
            (nameof(RTAX_ADVMSS), K.U32), (nameof(RTAX_REORDERING), K.U32), (nameof(RTAX_HOPLIMIT), K.U32),
            (nameof(RTAX_INITCWND), K.U32), (nameof(RTAX_FEATURES), K.X32), (nameof(RTAX_RTO_MIN), K.U32),
            (nameof(RTAX_INITRWND), K.U32), (nameof(RTAX_QUICKACK), K.U32), (nameof(RTAX_CC_ALGO), K.String),
            (nameof(RTAX_FASTOPEN_NO_COOKIE), K.U32));
        Route.Add(t,
            (nameof(RTA_DST), K.InetAddr), (nameof(RTA_SRC), K.InetAddr), (nameof(RTA_IIF), K.U32), (nameof(RTA_OIF), K.U32),
            (nameof(RTA_GATEWAY), K.InetAddr), (nameof(RTA_PRIORITY), K.U32), (nameof(RTA_PREFSRC), K.InetAddr),
            (nameof(RTA_MULTIPATH), K.Binary), (nameof(RTA_PROTOINFO), K.Binary), (nameof(RTA_FLOW), K.U32),
            (nameof(RTA_CACHEINFO), K.Binary), (nameof(RTA_SESSION), K.Binary), (nameof(RTA_MP_ALGO), K.Binary),
            (nameof(RTA_TABLE), K.U32), (nameof(RTA_MARK), K.U32), (nameof(RTA_MFC_STATS), K.Binary),
            (nameof(RTA_VIA), K.Binary), (nameof(RTA_NEWDST), K.Binary), (nameof(RTA_PREF), K.U8),
            (nameof(RTA_ENCAP_TYPE), K.U16), (nameof(RTA_ENCAP), K.Binary), (nameof(RTA_EXPIRES), K.U32),
            (nameof(RTA_PAD), K.Binary), (nameof(RTA_UID), K.U32), (nameof(RTA_TTL_PROPAGATE), K.U8),
            (nameof(RTA_IP_PROTO), K.U8), (nameof(RTA_SPORT), K.Be16), (nameof(RTA_DPORT), K.Be16),
            (nameof(RTA_NH_ID), K.U32))
            .Nest(t, nameof(RTA_METRICS), metrics);

        var s = new NlSchema("rtnetlink");
        void Msg(int type, string name, NlOperation op, NlStruct hdr, NlAttrSpace attrs) =>
            s.Add(type, new NlMessageSpec(name, op, hdr, attrs));
        Msg(RTM_NEWLINK, nameof(RTM_NEWLINK), NlOperation.New, IfInfoMsg, Link);
        Msg(RTM_DELLINK, nameof(RTM_DELLINK), NlOperation.Del, IfInfoMsg, Link);
        Msg(RTM_GETLINK, nameof(RTM_GETLINK), NlOperation.Get, IfInfoMsg, Link);
        Msg(RTM_SETLINK, nameof(RTM_SETLINK), NlOperation.New, IfInfoMsg, Link);
        Msg(RTM_NEWLINKPROP, nameof(RTM_NEWLINKPROP), NlOperation.New, IfInfoMsg, Link);
        Msg(RTM_DELLINKPROP, nameof(RTM_DELLINKPROP), NlOperation.Del, IfInfoMsg, Link);
        Msg(RTM_NEWADDR, nameof(RTM_NEWADDR), NlOperation.New, IfAddrMsg, Addr);
        Msg(RTM_DELADDR, nameof(RTM_DELADDR), NlOperation.Del, IfAddrMsg, Addr);
        Msg(RTM_GETADDR, nameof(RTM_GETADDR), NlOperation.Get, IfAddrMsg, Addr);
        Msg(RTM_NEWROUTE, nameof(RTM_NEWROUTE), NlOperation.New, RtMsg, Route);
        Msg(RTM_DELROUTE, nameof(RTM_DELROUTE), NlOperation.Del, RtMsg, Route);
        Msg(RTM_GETROUTE, nameof(RTM_GETROUTE), NlOperation.Get, RtMsg, Route);
        return s;
    }
}
