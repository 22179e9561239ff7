namespace VirtKernel.Model.Ipv6;

/// <summary>struct inet6_dev: a device's IPv6 state. addr_list is ordered as ipv6_link_dev_addr
/// keeps it: by scope (global before link-local before host), newest first within a scope.</summary>
public sealed class Inet6Dev
{
    private static readonly Comparer<Inet6IfAddr> ListOrder = Comparer<Inet6IfAddr>.Create((a, b) =>
    {
        int c = Inet.Ipv6SrcScope(b.Addr).CompareTo(Inet.Ipv6SrcScope(a.Addr));
        return c != 0 ? c : b.Seq.CompareTo(a.Seq);
    });

    private readonly SortedSet<Inet6IfAddr> _list = new(ListOrder);
    private readonly Dictionary<UInt128, List<Inet6IfAddr>> _byAddr = new();
    private long _seq;

    public Inet6Dev(NetDevice dev, DevConf6 cnf, NeighParms ndParms)
    {
        Dev = dev;
        Cnf = cnf;
        NdParms = ndParms;
    }

    public NetDevice Dev { get; }
    public DevConf6 Cnf { get; }
    /// <summary>inet6_dev->nd_parms (net/ipv6/neigh/DEV).</summary>
    public NeighParms NdParms { get; }
    /// <summary>mc_list: the IPv6 groups of the device, newest first.</summary>
    public List<Ifmcaddr6> McList { get; } = new();
    /// <summary>The registered net/ipv6/conf/DEV and net/ipv6/neigh/DEV directories.</summary>
    internal Sysctl.CtlDir? SysctlDir, NeighDir;
    public bool Dead { get; internal set; }
    /// <summary>IF_READY: the link was up and ready for addrconf.</summary>
    public bool Ready { get; internal set; }
    /// <summary>IFLA_INET6_TOKEN.</summary>
    public UInt128 Token;
    public long TstampMs;
    public long CstampMs;

    public IEnumerable<Inet6IfAddr> Addrs => _list;
    public int Count => _list.Count;

    internal void Link(Inet6IfAddr ifa)
    {
        ifa.Seq = ++_seq;
        _list.Add(ifa);
        if (!_byAddr.TryGetValue(ifa.Addr, out var l)) _byAddr[ifa.Addr] = l = new List<Inet6IfAddr>(1);
        l.Add(ifa);
        Dev.Net.Ipv6.AddrHashAdd(ifa);
    }

    internal void Unlink(Inet6IfAddr ifa)
    {
        _list.Remove(ifa);
        if (_byAddr.TryGetValue(ifa.Addr, out var l))
        {
            l.Remove(ifa);
            if (l.Count == 0) _byAddr.Remove(ifa.Addr);
        }
        Dev.Net.Ipv6.AddrHashRemove(ifa);
    }

    /// <summary>The address with this value on this device, if any.</summary>
    public Inet6IfAddr? Find(UInt128 addr) =>
        _byAddr.TryGetValue(addr, out var l) && l.Count > 0 ? l[0] : null;

    public IReadOnlyList<Inet6IfAddr> FindAll(UInt128 addr) =>
        _byAddr.TryGetValue(addr, out var l) ? l : Array.Empty<Inet6IfAddr>();
}
