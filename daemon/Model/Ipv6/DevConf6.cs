using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv6;

/// <summary>struct ipv6_devconf as an array indexed by the uapi DEVCONF_* numbers (the layout of
/// IFLA_INET6_CONF), plus the values that are not integers.</summary>
public sealed class DevConf6
{
    public const int Max = DEVCONF_MAX;
    private readonly int[] _data = new int[Max];

    public int this[int devconf]
    {
        get => _data[devconf];
        set => _data[devconf] = value;
    }

    public ReadOnlySpan<int> Data => _data;
    /// <summary>stable_secret (unset until written).</summary>
    public UInt128? StableSecret;

    public DevConf6 Clone()
    {
        var c = new DevConf6 { StableSecret = StableSecret };
        _data.CopyTo(c._data, 0);
        return c;
    }

    /// <summary>ipv6_devconf / ipv6_devconf_dflt (net/ipv6/addrconf.c). Intervals are in
    /// milliseconds here (the kernel keeps jiffies).</summary>
    public static DevConf6 KernelDefaults()
    {
        var c = new DevConf6();
        c[DEVCONF_FORWARDING] = 0;
        c[DEVCONF_HOPLIMIT] = 64;
        c[DEVCONF_MTU6] = 1280;                 // IPV6_MIN_MTU
        c[DEVCONF_ACCEPT_RA] = 1;
        c[DEVCONF_ACCEPT_REDIRECTS] = 1;
        c[DEVCONF_AUTOCONF] = 1;
        c[DEVCONF_DAD_TRANSMITS] = 1;
        c[DEVCONF_RTR_SOLICITS] = 3;            // MAX_RTR_SOLICITATIONS
        c[DEVCONF_RTR_SOLICIT_INTERVAL] = 4000; // RTR_SOLICITATION_INTERVAL
        c[DEVCONF_RTR_SOLICIT_MAX_INTERVAL] = 3600000;
        c[DEVCONF_RTR_SOLICIT_DELAY] = 1000;    // MAX_RTR_SOLICITATION_DELAY
        c[DEVCONF_USE_TEMPADDR] = 0;
        c[DEVCONF_TEMP_VALID_LFT] = 604800;     // TEMP_VALID_LIFETIME
        c[DEVCONF_TEMP_PREFERED_LFT] = 86400;   // TEMP_PREFERRED_LIFETIME
        c[DEVCONF_REGEN_MAX_RETRY] = 3;         // REGEN_MAX_RETRY
        c[DEVCONF_MAX_DESYNC_FACTOR] = 600;     // MAX_DESYNC_FACTOR
        c[DEVCONF_MAX_ADDRESSES] = 16;          // IPV6_MAX_ADDRESSES
        c[DEVCONF_ACCEPT_RA_DEFRTR] = 1;
        c[DEVCONF_RA_DEFRTR_METRIC] = 1024;     // IP6_RT_PRIO_USER
        c[DEVCONF_ACCEPT_RA_FROM_LOCAL] = 0;
        c[DEVCONF_ACCEPT_RA_MIN_HOP_LIMIT] = 1;
        c[DEVCONF_ACCEPT_RA_PINFO] = 1;
        c[DEVCONF_ACCEPT_RA_RTR_PREF] = 1;
        c[DEVCONF_RTR_PROBE_INTERVAL] = 60000;
        c[DEVCONF_ACCEPT_RA_RT_INFO_MAX_PLEN] = 0;
        c[DEVCONF_ACCEPT_SOURCE_ROUTE] = 0;
        c[DEVCONF_ACCEPT_RA_MTU] = 1;
        c[DEVCONF_MLDV1_UNSOLICITED_REPORT_INTERVAL] = 10000;
        c[DEVCONF_MLDV2_UNSOLICITED_REPORT_INTERVAL] = 1000;
        c[DEVCONF_SUPPRESS_FRAG_NDISC] = 1;
        c[DEVCONF_ACCEPT_DAD] = 1;
        c[DEVCONF_ENHANCED_DAD] = 1;
        c[DEVCONF_ADDR_GEN_MODE] = IN6_ADDR_GEN_MODE_EUI64;
        c[DEVCONF_DISABLE_POLICY] = 0;
        c[DEVCONF_RPL_SEG_ENABLED] = 0;
        c[DEVCONF_IOAM6_ID] = 0xffff;           // IOAM6_DEFAULT_IF_ID
        c[DEVCONF_IOAM6_ID_WIDE] = unchecked((int)0xffffffff);
        c[DEVCONF_NDISC_EVICT_NOCARRIER] = 1;
        c[DEVCONF_ACCEPT_UNTRACKED_NA] = 0;
        return c;
    }
}
