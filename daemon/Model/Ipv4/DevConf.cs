using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv4;

/// <summary>struct ipv4_devconf: the per-device IPv4 settings (net/ipv4/conf/*), indexed by the
/// uapi IPV4_DEVCONF_* numbers, with the `state` bitmap the kernel keeps of entries that were
/// written (devinet_copy_dflt_conf only overwrites entries never written).</summary>
public sealed class DevConf
{
    public const int Max = IPV4_DEVCONF_MAX;
    private int[] _data = new int[Max];
    /// <summary>_data is another DevConf's too (copy on write): a device's or a namespace's copy of
    /// conf/default shares the values until one side writes one that differs.</summary>
    private bool _shared;
    private ulong _state;

    public int this[int devconf]
    {
        get => _data[devconf - 1];
        set
        {
            if (_data[devconf - 1] == value) return;
            if (_shared)
            {
                _data = (int[])_data.Clone();
                _shared = false;
            }
            _data[devconf - 1] = value;
        }
    }

    public bool IsSet(int devconf) => (_state & (1UL << (devconf - 1))) != 0;
    public void MarkSet(int devconf) => _state |= 1UL << (devconf - 1);
    /// <summary>ipv4_devconf_setall: every entry counts as written.</summary>
    public void SetAll() => _state = (1UL << Max) - 1;

    /// <summary>IPV4_DEVCONF_SET: write and mark as written.</summary>
    public void Set(int devconf, int value)
    {
        this[devconf] = value;
        MarkSet(devconf);
    }

    public ReadOnlySpan<int> Data => _data;

    /// <summary>memcpy of the struct, written-entries bitmap included (inetdev_init copies
    /// net.ipv4.conf.default, and entries written there count as written on the new device).</summary>
    public DevConf Clone()
    {
        _shared = true;
        return new DevConf { _state = _state, _data = _data, _shared = true };
    }

    /// <summary>Copies every value and the bitmap of <paramref name="from"/> (devinet_init_net).</summary>
    public void CopyFrom(DevConf from)
    {
        from._shared = _shared = true;
        _data = from._data;
        _state = from._state;
    }

    private static readonly DevConf s_all = BuildKernelAll(), s_default = BuildKernelDefault();

    /// <summary>ipv4_devconf (net/ipv4/devinet.c): the "all" defaults (a copy sharing the
    /// compiled-in values until written).</summary>
    public static DevConf KernelAll() => s_all.Clone();

    /// <summary>ipv4_devconf_dflt: the "default" defaults.</summary>
    public static DevConf KernelDefault() => s_default.Clone();

    private static DevConf BuildKernelAll()
    {
        var c = new DevConf();
        c[IPV4_DEVCONF_ACCEPT_REDIRECTS] = 1;
        c[IPV4_DEVCONF_SEND_REDIRECTS] = 1;
        c[IPV4_DEVCONF_SECURE_REDIRECTS] = 1;
        c[IPV4_DEVCONF_SHARED_MEDIA] = 1;
        c[IPV4_DEVCONF_IGMPV2_UNSOLICITED_REPORT_INTERVAL] = 10000;
        c[IPV4_DEVCONF_IGMPV3_UNSOLICITED_REPORT_INTERVAL] = 1000;
        c[IPV4_DEVCONF_ARP_EVICT_NOCARRIER] = 1;
        return c;
    }

    /// <summary>ipv4_devconf_dflt (accept_source_route differs from ipv4_devconf).</summary>
    private static DevConf BuildKernelDefault()
    {
        var c = BuildKernelAll();
        c[IPV4_DEVCONF_ACCEPT_SOURCE_ROUTE] = 1;
        return c;
    }
}
