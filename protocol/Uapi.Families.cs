namespace VirtKernel.Protocol;

// Constants the uapi generator does not pick up: address families (include/linux/socket.h) and
// sizes from include/uapi/linux/if.h.
public static partial class Uapi
{
    public const int AF_UNSPEC = 0, AF_UNIX = 1, AF_INET = 2, AF_BRIDGE = 7, AF_INET6 = 10, AF_NETLINK = 16,
        AF_PACKET = 17, AF_MPLS = 28;
    public const int RTNL_FAMILY_IPMR = 128, RTNL_FAMILY_IP6MR = 129, RTNL_FAMILY_MAX = 129;
    public const int IFNAMSIZ = 16;
    public const int IFALIASZ = 256;
    public const int ALTIFNAMSIZ = 128;
}

public static partial class Uapi
{
    public const int SOL_NETLINK = 270;
}

// Attributes newer than the Linux 6.1 headers the generator reads, as the 6.18 kernel numbers them.
public static partial class Uapi
{
    public const int IFLA_DEVLINK_PORT = 62, IFLA_GSO_IPV4_MAX_SIZE = 63, IFLA_GRO_IPV4_MAX_SIZE = 64,
        IFLA_DPLL_PIN = 65, IFLA_MAX_PACING_OFFLOAD_HORIZON = 66, IFLA_NETNS_IMMUTABLE = 67,
        IFLA_HEADROOM = 68, IFLA_TAILROOM = 69;
    /// <summary>IFLA_MAX of the 6.18 kernel (the generated IFLA_MAX is 6.1's).</summary>
    public const int IFLA_MAX_6_18 = 69;

    public const int IFLA_BR_FDB_N_LEARNED = 48, IFLA_BR_FDB_MAX_LEARNED = 49;
    public const int IFLA_BR_MAX_6_18 = 49;
    public const int IFLA_BRPORT_MAB = 40, IFLA_BRPORT_MCAST_N_GROUPS = 41, IFLA_BRPORT_MCAST_MAX_GROUPS = 42,
        IFLA_BRPORT_NEIGH_VLAN_SUPPRESS = 43, IFLA_BRPORT_BACKUP_NHID = 44;
    public const int IFLA_BRPORT_MAX_6_18 = 44;
    public const int IFLA_MACVLAN_BC_CUTOFF = 9;
    public const int IFLA_MACVLAN_MAX_6_18 = 9;
    public const int IFLA_VXLAN_LOCALBYPASS = 31, IFLA_VXLAN_LABEL_POLICY = 32, IFLA_VXLAN_RESERVED_BITS = 33,
        IFLA_VXLAN_MC_ROUTE = 34;
    public const int IFLA_VXLAN_MAX_6_18 = 34;
    /// <summary>DEVCONF_MAX of 6.18 (DEVCONF_FORCE_FORWARDING is the 60th entry of IFLA_INET6_CONF).</summary>
    public const int DEVCONF_MAX_6_18 = 60;
    /// <summary>struct br_boolopt_multi's options (BR_BOOLOPT_MAX is 5 in 6.18).</summary>
    public const int BR_BOOLOPT_MAX_6_18 = 5;
}

// enum netlink_attribute_type values newer than the Linux 6.1 headers (6.8: NLA_SINT/NLA_UINT).
public static partial class Uapi
{
    public const int NL_ATTR_TYPE_SINT = 16, NL_ATTR_TYPE_UINT = 17;
}

// ipv6_devconf entries and netconf attributes newer than the 6.1 headers (include/uapi/linux/ipv6.h,
// netconf.h of 6.18). DEVCONF_MAX of 6.18 is DEVCONF_FORCE_FORWARDING + 1 (VirtKernel.Model's DevConf6.Max).
public static partial class Uapi
{
    public const int DEVCONF_FORCE_FORWARDING = 59;
    public const int NETCONFA_FORCE_FORWARDING = 9;
}

// Routing attributes newer than the Linux 6.1 headers, as the 6.18 kernel numbers them.
public static partial class Uapi
{
    public const int RTA_FLOWLABEL = 31;
    public const int FRA_DSCP = 25, FRA_FLOWLABEL = 26, FRA_FLOWLABEL_MASK = 27, FRA_SPORT_MASK = 28,
        FRA_DPORT_MASK = 29, FRA_DSCP_MASK = 30;
    public const int NHA_OP_FLAGS = 14, NHA_GROUP_STATS = 15, NHA_HW_STATS_ENABLE = 16, NHA_HW_STATS_USED = 17;
}
