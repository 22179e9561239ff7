namespace VirtKernel.Model.Sysctl;

/// <summary>net/core/neighbour.c neigh_sysctl_register: the neigh/DEV (and, in the initial
/// namespace, neigh/default) entries of a neighbour table's parms, with ndisc's own handler for the
/// IPv6 times. Every write marks the entry as set on those parms (neigh_proc_update), and a write of
/// the defaults reaches every device that never set it, in every namespace (neigh_copy_dflt_parms:
/// the tables are global).</summary>
public static class NeighSysctl
{
    private enum H { ZeroIntMax, UserHz, Jiffies, MsJiffies, MsJiffiesPositive, UnresQlen, Int, GcJiffies, GcInt }

    private static readonly (string Name, NeighVar Var, H V4, H V6)[] Vars =
    [
        ("mcast_solicit", NeighVar.McastProbes, H.ZeroIntMax, H.ZeroIntMax),
        ("ucast_solicit", NeighVar.UcastProbes, H.ZeroIntMax, H.ZeroIntMax),
        ("app_solicit", NeighVar.AppProbes, H.ZeroIntMax, H.ZeroIntMax),
        ("mcast_resolicit", NeighVar.McastReprobes, H.ZeroIntMax, H.ZeroIntMax),
        // ndisc_ifinfo_sysctl_change: IPv6 keeps retrans_time in plain jiffies
        ("retrans_time", NeighVar.RetransTime, H.UserHz, H.Int),
        ("base_reachable_time", NeighVar.BaseReachableTime, H.Jiffies, H.Jiffies),
        ("delay_first_probe_time", NeighVar.DelayProbeTime, H.Jiffies, H.Jiffies),
        ("interval_probe_time_ms", NeighVar.IntervalProbeTimeMs, H.MsJiffiesPositive, H.MsJiffiesPositive),
        ("gc_stale_time", NeighVar.GcStaletime, H.Jiffies, H.Jiffies),
        ("unres_qlen_bytes", NeighVar.QueueLenBytes, H.ZeroIntMax, H.ZeroIntMax),
        ("proxy_qlen", NeighVar.ProxyQlen, H.ZeroIntMax, H.ZeroIntMax),
        ("anycast_delay", NeighVar.AnycastDelay, H.UserHz, H.UserHz),
        ("proxy_delay", NeighVar.ProxyDelay, H.UserHz, H.UserHz),
        ("locktime", NeighVar.Locktime, H.UserHz, H.UserHz),
        ("unres_qlen", NeighVar.QueueLenBytes, H.UnresQlen, H.UnresQlen),
        ("retrans_time_ms", NeighVar.RetransTime, H.MsJiffies, H.MsJiffies),
        ("base_reachable_time_ms", NeighVar.BaseReachableTime, H.MsJiffies, H.MsJiffies),
    ];

    private static readonly (string Name, NeighVar Var, H Kind)[] DefaultOnly =
    [
        ("gc_interval", NeighVar.GcInterval, H.GcJiffies),
        ("gc_thresh1", NeighVar.GcThresh1, H.GcInt),
        ("gc_thresh2", NeighVar.GcThresh2, H.GcInt),
        ("gc_thresh3", NeighVar.GcThresh3, H.GcInt),
    ];

    private sealed class ParmsData(NeighParms p, NeighVar v) : IProcData
    {
        public int Length => 1;
        public long this[int i]
        {
            get => p[v];
            set => p[v] = unchecked((int)value);
        }
    }

    /// <summary>The entries for <paramref name="parms"/> (a device's, or the table's defaults when
    /// <paramref name="dev"/> is null).</summary>
    public static IEnumerable<CtlFile> Files(Net net, NeighParms parms, NetDevice? dev, bool ipv6)
    {
        foreach (var (name, v, h4, h6) in Vars)
            yield return Make(net, parms, dev, name, v, ipv6 ? h6 : h4);
        if (dev == null)
            foreach (var (name, v, h) in DefaultOnly)
                yield return Make(net, parms, dev, name, v, h);
    }

    private static CtlFile Make(Net net, NeighParms parms, NetDevice? dev, string name, NeighVar v, H h)
    {
        ProcHandler handler = h switch
        {
            H.ZeroIntMax => Update(Proc.DoIntVecMinMax),
            H.UserHz => Update(Proc.DoIntVecUserHzJiffies),
            H.Jiffies => Update(Proc.DoIntVecJiffies),
            H.MsJiffies => Update(Proc.DoIntVecMsJiffies),
            H.MsJiffiesPositive => Update(Proc.DoIntVecMsJiffiesMinMax),
            H.UnresQlen => Update(UnresQlen),
            H.Int => Update(Proc.DoIntVec),
            H.GcJiffies => Proc.DoIntVecJiffies,
            _ => Proc.DoIntVecMinMax,
        };
        long? min = h switch { H.ZeroIntMax or H.GcInt => 0, H.MsJiffiesPositive => 1, _ => null };
        long? max = h is H.ZeroIntMax or H.GcInt or H.MsJiffiesPositive ? int.MaxValue : null;
        return new CtlFile(name, 0x1a4, handler)
        {
            Data = new ParmsData(parms, v), Min = min, Max = max, Net = net, Extra1 = dev, Extra2 = (parms, v),
        };
    }

    /// <summary>neigh_proc_dointvec_unres_qlen: packets of SKB_TRUESIZE(ETH_FRAME_LEN) bytes.</summary>
    private static int UnresQlen(CtlFile t, ProcIo io)
    {
        const int size = NeighParms.SkbTruesizeEthFrame;
        long[] pkts = [t.Data![0] / size];
        var tmp = new CtlFile(t.Name, t.Mode, Proc.DoIntVecMinMax)
        {
            Data = new SlotData(pkts, 0, 1), Min = 0, Max = int.MaxValue / size,
        };
        int ret = Proc.DoIntVecMinMax(tmp, io);
        if (io.Write && ret == 0) t.Data[0] = pkts[0] * size;
        return ret;
    }

    /// <summary>The handler followed by neigh_proc_update, whatever the handler answered.</summary>
    private static ProcHandler Update(ProcHandler inner) => (t, io) =>
    {
        int ret = inner(t, io);
        if (io.Write) ProcUpdate(t);
        return ret;
    };

    /// <summary>neigh_proc_update.</summary>
    private static void ProcUpdate(CtlFile t)
    {
        var (parms, v) = ((NeighParms, NeighVar))t.Extra2!;
        parms.MarkSet(v);
        if (t.Extra1 == null) CopyDefault(t.Net!.Kernel, parms, v);
    }

    /// <summary>neigh_copy_dflt_parms: every device's parms of that table that never set the entry.</summary>
    private static void CopyDefault(Kernel k, NeighParms dflt, NeighVar v)
    {
        bool ipv6 = dflt == k.NdTblParms;
        foreach (var net in k.Nets)
            foreach (var dev in net.Devices)
            {
                var p = ipv6 ? dev.Ip6?.NdParms : dev.Ip4?.ArpParms;
                if (p != null && !p.IsSet(v)) p[v] = dflt[v];
            }
    }
}
