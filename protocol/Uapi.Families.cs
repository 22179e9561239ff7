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
        IFLA_DPLL_PIN = 65, IFLA_MAX_PACING_OFFLOAD_HORIZON = 66, IFLA_NETNS_IMMUTABLE = 67;
}

// Routing attributes newer than the Linux 6.1 headers, as the 6.18 kernel numbers them.
public static partial class Uapi
{
    public const int RTA_FLOWLABEL = 31;
    public const int FRA_DSCP = 25, FRA_FLOWLABEL = 26, FRA_FLOWLABEL_MASK = 27, FRA_SPORT_MASK = 28,
        FRA_DPORT_MASK = 29, FRA_DSCP_MASK = 30;
    public const int NHA_OP_FLAGS = 14, NHA_GROUP_STATS = 15, NHA_HW_STATS_ENABLE = 16, NHA_HW_STATS_USED = 17;
}
