using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv6;

/// <summary>net->ipv6: a namespace's IPv6 state — devconf all/default and the FIB6 tables.</summary>
public sealed partial class Ipv6Net
{
    public Net Net { get; }
    public DevConf6 All { get; }
    public DevConf6 Default { get; }

    private readonly Dictionary<uint, Fib6Table> _tables = new();
    private long _tableSeq;
    private long _routeSeq;

    internal INetdevNotifier AddrconfNotifier { get; }

    public Ipv6Net(Net net)
    {
        Net = net;
        All = DevConf6.KernelAll();
        Default = DevConf6.KernelDefaults();
        AddrconfNotifier = new AddrconfNotify(this);
        NewTable(RT_TABLE_MAIN);
        NewTable(RT_TABLE_LOCAL);
        Rules = new FibRulesOps(net, (byte)AF_INET6);
        Rules.AddDefaults();
        MrRules = new FibRulesOps(net, (byte)RTNL_FAMILY_IP6MR);
        MrRules.AddDefaults();
    }

    /// <summary>net->ipv6.fib6_rules_ops: the IPv6 policy rules.</summary>
    public FibRulesOps Rules { get; }

    /// <summary>net->ipv6.mr6_rules_ops: the rules of IPv6 multicast routing (ip6mr_rules_init).
    /// Only their default rule exists: multicast routing itself is not built.</summary>
    public FibRulesOps MrRules { get; }

    public Fib6Table Main => _tables[RT_TABLE_MAIN];
    public Fib6Table Local => _tables[RT_TABLE_LOCAL];

    /// <summary>fib6_get_table.</summary>
    public Fib6Table? GetTable(uint id) => _tables.GetValueOrDefault(id == 0 ? RT_TABLE_MAIN : id);

    /// <summary>fib6_new_table.</summary>
    public Fib6Table NewTable(uint id)
    {
        if (id == 0) id = RT_TABLE_MAIN;
        if (_tables.TryGetValue(id, out var t)) return t;
        t = new Fib6Table(id, ++_tableSeq);
        _tables.Add(id, t);
        return t;
    }

    public IEnumerable<Fib6Table> Tables => _tables.Values;

    /// <summary>Tables in the order inet6_dump_fib visits them (hash bucket, newest first).</summary>
    public IEnumerable<Fib6Table> TablesInDumpOrder =>
        _tables.Values.OrderBy(t => t.Id & 0xff).ThenByDescending(t => t.CreatedSeq);

    internal long NextRouteSeq() => ++_routeSeq;
}
