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

// enum netlink_attribute_type values newer than the Linux 6.1 headers (6.8: NLA_SINT/NLA_UINT).
public static partial class Uapi
{
    public const int NL_ATTR_TYPE_SINT = 16, NL_ATTR_TYPE_UINT = 17;
}
