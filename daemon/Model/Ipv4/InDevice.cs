using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv4;

/// <summary>struct in_device: a device's IPv4 state. ifa_list is kept in the kernel's order —
/// primaries first, by scope (host before link before universe) and then in insertion order,
/// then the secondaries in insertion order — in a sorted set, with an index by subnet so that
/// insert, delete and the secondary/duplicate checks do not walk the list.</summary>
public sealed class InDevice
{
    private static readonly Comparer<InIfAddr> ListOrder = Comparer<InIfAddr>.Create((a, b) =>
    {
        int c = a.Secondary.CompareTo(b.Secondary);
        if (c != 0) return c;
        if (!a.Secondary)
        {
            c = b.Scope.CompareTo(a.Scope);
            if (c != 0) return c;
        }
        return a.Seq.CompareTo(b.Seq);
    });

    private readonly SortedSet<InIfAddr> _list = new(ListOrder);
    private readonly Dictionary<(uint Prefix, uint Mask), List<InIfAddr>> _bySubnet = new();
    private long _seq;

    public InDevice(NetDevice dev, DevConf cnf, NeighParms arpParms)
    {
        Dev = dev;
        Cnf = cnf;
        ArpParms = arpParms;
    }

    public NetDevice Dev { get; }
    public DevConf Cnf { get; }
    /// <summary>in_device->arp_parms (net/ipv4/neigh/DEV).</summary>
    public NeighParms ArpParms { get; }
    /// <summary>mc_list: the IPv4 groups of the device, newest first.</summary>
    public List<IpMcList> McList { get; } = new();
    /// <summary>The registered net/ipv4/conf/DEV and net/ipv4/neigh/DEV directories.</summary>
    internal Sysctl.CtlDir? SysctlDir, NeighDir;
    public bool Dead { get; internal set; }

    /// <summary>ifa_list in order.</summary>
    public IEnumerable<InIfAddr> Addrs => _list;
    public int Count => _list.Count;
    public bool IsEmpty => _list.Count == 0;
    public InIfAddr? First => _list.Count == 0 ? null : _list.Min;

    /// <summary>The addresses of one subnet (same mask and prefix): its primary first.</summary>
    public IReadOnlyList<InIfAddr> Subnet(uint prefix, uint mask) =>
        _bySubnet.TryGetValue((prefix & mask, mask), out var l) ? l : Array.Empty<InIfAddr>();

    /// <summary>inet_ifa_byprefix: the primary address of a subnet.</summary>
    public InIfAddr? ByPrefix(uint prefix, uint mask)
    {
        foreach (var ifa in Subnet(prefix, mask))
            if (!ifa.Secondary) return ifa;
        return null;
    }

    internal void Link(InIfAddr ifa)
    {
        ifa.Seq = ++_seq;
        _list.Add(ifa);
        var key = (ifa.Prefix, ifa.Mask);
        if (!_bySubnet.TryGetValue(key, out var l)) _bySubnet[key] = l = new List<InIfAddr>(1);
        l.Add(ifa);
    }

    internal void Unlink(InIfAddr ifa)
    {
        _list.Remove(ifa);
        var key = (ifa.Prefix, ifa.Mask);
        if (_bySubnet.TryGetValue(key, out var l))
        {
            l.Remove(ifa);
            if (l.Count == 0) _bySubnet.Remove(key);
        }
    }

    /// <summary>Moves a promoted secondary to the end of the primaries of its scope.</summary>
    internal void Promote(InIfAddr ifa)
    {
        _list.Remove(ifa);
        ifa.Flags &= ~(uint)IFA_F_SECONDARY;
        ifa.Seq = ++_seq;
        _list.Add(ifa);
    }

    /// <summary>The value of a devconf entry as the kernel reads it with IN_DEV_ORCONF / ANDCONF /
    /// MAXCONF (combining with net.ipv4.conf.all).</summary>
    public int Conf(int devconf) => Cnf[devconf];
}
