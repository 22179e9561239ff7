namespace VirtKernel.Model;

/// <summary>NEIGH_VAR_*: the indexes of struct neigh_parms.data (include/net/neighbour.h). Times
/// are in jiffies (HZ=250), as the kernel keeps them.</summary>
public enum NeighVar
{
    McastProbes, UcastProbes, AppProbes, McastReprobes, RetransTime, BaseReachableTime,
    DelayProbeTime, IntervalProbeTimeMs, GcStaletime, QueueLenBytes, ProxyQlen, AnycastDelay,
    ProxyDelay, Locktime,
    // the table-wide ones (only the default parms have them)
    GcInterval, GcThresh1, GcThresh2, GcThresh3,
}

/// <summary>struct neigh_parms: a neighbour table's per-device settings (net/ipv4/neigh/DEV,
/// net/ipv6/neigh/DEV), with the bitmap of entries written explicitly (data_state), which keeps
/// later writes of the table's defaults away from them (neigh_copy_dflt_parms).</summary>
public sealed class NeighParms
{
    public const int Count = (int)NeighVar.GcThresh3 + 1;
    /// <summary>SKB_TRUESIZE(ETH_FRAME_LEN) on the reference kernel: unres_qlen counts packets of
    /// this size in unres_qlen_bytes.</summary>
    public const int SkbTruesizeEthFrame = 2090;

    private int[] _data = new int[Count];
    /// <summary>_data is another NeighParms' too (copy on write): a device's parms share the table
    /// defaults' values until one side writes one that differs.</summary>
    private bool _shared;
    private uint _state;

    public NeighParms(NetDevice? dev) => Dev = dev;

    /// <summary>The device, or null for the table's default parms (neigh/default).</summary>
    public NetDevice? Dev { get; }

    public int this[NeighVar v]
    {
        get => _data[(int)v];
        set
        {
            if (_data[(int)v] == value) return;
            if (_shared)
            {
                _data = (int[])_data.Clone();
                _shared = false;
            }
            _data[(int)v] = value;
        }
    }

    public bool IsSet(NeighVar v) => (_state & (1u << (int)v)) != 0;
    public void MarkSet(NeighVar v) => _state |= 1u << (int)v;
    /// <summary>neigh_parms_data_state_setall.</summary>
    public void SetAll() => _state = (1u << Count) - 1;

    /// <summary>neigh_parms_alloc: a device's copy of the table defaults (the bitmap starts empty).</summary>
    public NeighParms CloneFor(NetDevice dev)
    {
        _shared = true;
        return new NeighParms(dev) { _data = _data, _shared = true };
    }

    private const int HZ = Sysctl.Proc.HZ;

    /// <summary>arp_tbl.parms (net/ipv4/arp.c) and nd_tbl.parms (net/ipv6/ndisc.c).</summary>
    public static NeighParms TableDefaults(bool ipv6)
    {
        var p = new NeighParms(null);
        p[NeighVar.McastProbes] = 3;
        p[NeighVar.UcastProbes] = 3;
        p[NeighVar.RetransTime] = 1 * HZ;
        p[NeighVar.BaseReachableTime] = 30 * HZ;
        p[NeighVar.DelayProbeTime] = 5 * HZ;
        p[NeighVar.IntervalProbeTimeMs] = 5 * HZ;
        p[NeighVar.GcStaletime] = 60 * HZ;
        p[NeighVar.QueueLenBytes] = 212992;    // SK_WMEM_MAX
        p[NeighVar.ProxyQlen] = 64;
        p[NeighVar.AnycastDelay] = 1 * HZ;
        p[NeighVar.ProxyDelay] = 8 * HZ / 10;
        p[NeighVar.Locktime] = ipv6 ? 0 : 1 * HZ;
        p[NeighVar.GcInterval] = 30 * HZ;
        p[NeighVar.GcThresh1] = 128;
        p[NeighVar.GcThresh2] = 512;
        p[NeighVar.GcThresh3] = 1024;
        return p;
    }
}
