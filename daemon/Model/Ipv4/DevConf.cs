using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv4;

/// <summary>struct ipv4_devconf: the per-device IPv4 settings (net/ipv4/conf/*), indexed by the
/// uapi IPV4_DEVCONF_* numbers, with the `state` bitmap the kernel keeps of entries that were
/// written (devinet_copy_dflt_conf only overwrites entries never written).</summary>
public sealed class DevConf
{
    public const int Max = IPV4_DEVCONF_MAX;
    private readonly int[] _data = new int[Max];
    private ulong _state;

    public int this[int devconf]
    {
        get => _data[devconf - 1];
        set => _data[devconf - 1] = value;
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
        var c = new DevConf { _state = _state };
        _data.CopyTo(c._data, 0);
        return c;
    }

    /// <summary>Copies every value and the bitmap of <paramref name="from"/> (devinet_init_net).</summary>
    public void CopyFrom(DevConf from)
    {
        from._data.CopyTo(_data, 0);
        _state = from._state;
    }

    /// <summary>ipv4_devconf (net/ipv4/devinet.c): the "all" defaults.</summary>
    public static DevConf KernelAll()
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

    /// <summary>ipv4_devconf_dflt: the "default" defaults (accept_source_route differs).</summary>
    public static DevConf KernelDefault()
    {
        var c = KernelAll();
        c[IPV4_DEVCONF_ACCEPT_SOURCE_ROUTE] = 1;
        return c;
    }
}
