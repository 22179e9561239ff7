using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv6;

/// <summary>struct ipv6_devconf as an array indexed by the uapi DEVCONF_* numbers (the layout of
/// IFLA_INET6_CONF, DEVCONF_MAX of the 6.18 kernel), then the fields the kernel keeps without a
/// DEVCONF number (<see cref="RegenMinAdvance"/>...), plus the values that are not integers.</summary>
public sealed class DevConf6
{
    /// <summary>DEVCONF_MAX of the 6.18 kernel.</summary>
    public const int Max = DEVCONF_FORCE_FORWARDING + 1;
    /// <summary>Fields of struct ipv6_devconf that netlink does not carry (sysctl only).</summary>
    public const int RegenMinAdvance = Max, RaHonorPioLife = Max + 1, RaHonorPioPflag = Max + 2;
    private const int Size = Max + 3;
    private int[] _data = new int[Size];
    /// <summary>_data is another DevConf6's too (copy on write), as in <see cref="Ipv4.DevConf"/>.</summary>
    private bool _shared;

    public int this[int devconf]
    {
        get => _data[devconf];
        set
        {
            if (_data[devconf] == value) return;
            if (_shared)
            {
                _data = (int[])_data.Clone();
                _shared = false;
            }
            _data[devconf] = value;
        }
    }

    /// <summary>The DEVCONF_* array as IFLA_INET6_CONF carries it.</summary>
    public ReadOnlySpan<int> Data => _data.AsSpan(0, Max);
    /// <summary>stable_secret (unset until written).</summary>
    public UInt128? StableSecret;

    /// <summary>memcpy of the whole struct (ipv6_add_dev copies net.ipv6.conf.default).</summary>
    public DevConf6 Clone()
    {
        _shared = true;
        return new DevConf6 { StableSecret = StableSecret, _data = _data, _shared = true };
    }

    /// <summary>Copies every value of <paramref name="from"/> (a new namespace inheriting).</summary>
    public void CopyFrom(DevConf6 from)
    {
        from._shared = _shared = true;
        _data = from._data;
        StableSecret = from.StableSecret;
    }

    /// <summary>ipv6_devconf: net.ipv6.conf.all of a new namespace (accept_dad is 0 there).</summary>
    public static DevConf6 KernelAll() => s_all.Clone();

    private static DevConf6 BuildKernelAll()
    {
        var c = BuildKernelDefaults();
        c[DEVCONF_ACCEPT_DAD] = 0;
        return c;
    }

    /// <summary>The intervals the kernel keeps in jiffies (and netlink shows in milliseconds).</summary>
    private static readonly int[] JiffiesFields =
    [
        DEVCONF_RTR_SOLICIT_INTERVAL, DEVCONF_RTR_SOLICIT_MAX_INTERVAL, DEVCONF_RTR_SOLICIT_DELAY,
        DEVCONF_RTR_PROBE_INTERVAL, DEVCONF_MLDV1_UNSOLICITED_REPORT_INTERVAL, DEVCONF_MLDV2_UNSOLICITED_REPORT_INTERVAL,
    ];

    /// <summary>ipv6_store_devconf: the IFLA_INET6_CONF array (intervals in milliseconds,
    /// jiffies_to_msecs's unsigned result stored as s32).</summary>
    public void Store(Span<int> array)
    {
        Data.CopyTo(array);
        foreach (int f in JiffiesFields) array[f] = unchecked((int)Sysctl.Proc.JiffiesToMsecs(unchecked((ulong)(long)_data[f])));
        array[DEVCONF_STABLE_SECRET] = 0;
    }

    private const int HZ = Sysctl.Proc.HZ;

    /// <summary>ipv6_devconf_dflt (net/ipv6/addrconf.c). Intervals are in jiffies (HZ=250), as the
    /// kernel keeps them.</summary>
    public static DevConf6 KernelDefaults() => s_default.Clone();

    private static readonly DevConf6 s_default = BuildKernelDefaults(), s_all = BuildKernelAll();

    private static DevConf6 BuildKernelDefaults()
    {
        var c = new DevConf6();
        c[DEVCONF_FORWARDING] = 0;
        c[DEVCONF_HOPLIMIT] = 64;
        c[DEVCONF_MTU6] = 1280;                 // IPV6_MIN_MTU
        c[DEVCONF_ACCEPT_RA] = 1;
        c[DEVCONF_ACCEPT_REDIRECTS] = 1;
        c[DEVCONF_AUTOCONF] = 1;
        c[DEVCONF_DAD_TRANSMITS] = 1;
        c[DEVCONF_RTR_SOLICITS] = -1;           // MAX_RTR_SOLICITATIONS (unlimited)
        c[DEVCONF_RTR_SOLICIT_INTERVAL] = 4 * HZ;       // RTR_SOLICITATION_INTERVAL
        c[DEVCONF_RTR_SOLICIT_MAX_INTERVAL] = 3600 * HZ; // RTR_SOLICITATION_MAX_INTERVAL
        c[DEVCONF_RTR_SOLICIT_DELAY] = 1 * HZ;          // MAX_RTR_SOLICITATION_DELAY
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
        c[DEVCONF_RTR_PROBE_INTERVAL] = 60 * HZ;
        c[DEVCONF_ACCEPT_RA_RT_INFO_MAX_PLEN] = 0;
        c[DEVCONF_ACCEPT_SOURCE_ROUTE] = 0;
        c[DEVCONF_ACCEPT_RA_MTU] = 1;
        c[DEVCONF_MLDV1_UNSOLICITED_REPORT_INTERVAL] = 10 * HZ;
        c[DEVCONF_MLDV2_UNSOLICITED_REPORT_INTERVAL] = 1 * HZ;
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
        c[DEVCONF_ACCEPT_RA_MIN_LFT] = 0;
        c[DEVCONF_FORCE_FORWARDING] = 0;
        c[RegenMinAdvance] = 2;                 // REGEN_MIN_ADVANCE
        return c;
    }
}
