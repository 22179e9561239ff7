using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv4;

/// <summary>net->ipv4: a namespace's IPv4 state — devconf all/default, the FIB tables, and the hash
/// of local addresses (inet_addr_lst).</summary>
public sealed partial class Ipv4Net
{
    public Net Net { get; }
    public DevConf All { get; }
    public DevConf Default { get; }

    private readonly Dictionary<uint, FibTable> _tables = new();
    private long _tableSeq;
    private long _routeSeq;
    private Dictionary<uint, List<InIfAddr>>? _addrHash; // made with the first address

    internal INetdevNotifier DevinetNotifier { get; }
    internal INetdevNotifier FibNotifier { get; }

    public Ipv4Net(Net net)
    {
        Net = net;
        All = DevConf.KernelAll();
        Default = DevConf.KernelDefault();
        DevinetNotifier = new InetdevEvent(this);
        FibNotifier = new FibNetdevEvent(this);
        // fib4_rules_init / ip_fib_net_init: local and main exist from the start
        NewTable(RT_TABLE_LOCAL);
        NewTable(RT_TABLE_MAIN);
        Rules = new FibRulesOps(net, (byte)AF_INET);
        Rules.AddDefaults();
        MrRules = new FibRulesOps(net, (byte)RTNL_FAMILY_IPMR);
        MrRules.AddDefaults();
    }

    /// <summary>net->ipv4.rules_ops: the IPv4 policy rules.</summary>
    public FibRulesOps Rules { get; }

    /// <summary>net->ipv4.mr_rules_ops: the rules of IPv4 multicast routing (ipmr_rules_init). Only
    /// their default rule exists: multicast routing itself is not built.</summary>
    public FibRulesOps MrRules { get; }

    public FibTable Local => _tables[RT_TABLE_LOCAL];
    public FibTable Main => _tables[RT_TABLE_MAIN];

    /// <summary>fib_get_table.</summary>
    public FibTable? GetTable(uint id) => _tables.GetValueOrDefault(id == 0 ? RT_TABLE_MAIN : id);

    /// <summary>The table with exactly this id (0 is no table).</summary>
    public FibTable? GetTableExact(uint id) => _tables.GetValueOrDefault(id);

    /// <summary>fib_new_table.</summary>
    public FibTable NewTable(uint id)
    {
        if (id == 0) id = RT_TABLE_MAIN;
        if (_tables.TryGetValue(id, out var t)) return t;
        t = new FibTable(id, ++_tableSeq);
        _tables.Add(id, t);
        return t;
    }

    /// <summary>Tables in the order a dump visits them: by hash bucket (id mod 256), newest first in a bucket.</summary>
    public IEnumerable<FibTable> TablesInDumpOrder =>
        _tables.Values.OrderBy(t => t.Id & 0xff).ThenByDescending(t => t.CreatedSeq);

    public IEnumerable<FibTable> Tables => _tables.Values;

    internal long NextRouteSeq() => ++_routeSeq;

    // ---- inet_addr_lst -------------------------------------------------------------------

    internal void HashInsert(InIfAddr ifa)
    {
        _addrHash ??= new();
        if (!_addrHash.TryGetValue(ifa.Local, out var l)) _addrHash[ifa.Local] = l = new List<InIfAddr>(1);
        l.Add(ifa);
    }

    internal void HashRemove(InIfAddr ifa)
    {
        if (_addrHash != null && _addrHash.TryGetValue(ifa.Local, out var l))
        {
            l.Remove(ifa);
            if (l.Count == 0) _addrHash.Remove(ifa.Local);
        }
    }

    /// <summary>__ip_dev_find: the device holding local address <paramref name="addr"/>.</summary>
    public NetDevice? DevFind(uint addr) =>
        _addrHash != null && _addrHash.TryGetValue(addr, out var l) && l.Count > 0 ? l[0].Dev : null;

    /// <summary>IN_DEV_ORCONF etc. read net.ipv4.conf.all together with the device.</summary>
    public bool OrConf(InDevice d, int devconf) => All[devconf] != 0 || d.Cnf[devconf] != 0;
    public int MaxConf(InDevice d, int devconf) => Math.Max(All[devconf], d.Cnf[devconf]);
}
