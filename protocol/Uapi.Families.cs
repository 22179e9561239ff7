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

// ipv6_devconf entries and netconf attributes newer than the 6.1 headers (include/uapi/linux/ipv6.h,
// netconf.h of 6.18). DEVCONF_MAX of 6.18 is DEVCONF_FORCE_FORWARDING + 1 (VirtKernel.Model's DevConf6.Max).
public static partial class Uapi
{
    public const int DEVCONF_FORCE_FORWARDING = 59;
    public const int NETCONFA_FORCE_FORWARDING = 9;
}
