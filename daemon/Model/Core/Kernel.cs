namespace VirtKernel.Model;

/// <summary>Settings of a virtual kernel instance.</summary>
public sealed record KernelOptions
{
    /// <summary>Seed of the MAC addresses given to devices created without one (eth_hw_addr_random).</summary>
    public ulong MacSeed { get; init; } = 0x5eed;
    /// <summary>Number of possible CPUs the kernel pretends to have (veth queue counts follow it).</summary>
    public int PossibleCpus { get; init; } = 2;
    public IClock Clock { get; init; } = new SystemClock();
    /// <summary>The root namespace plays the kernel's init_net: the sysctls that exist or are writable
    /// only there (net.core.devconf_inherit_init_net, rmem_max..., neigh/default) and the conf/all and
    /// conf/default new namespaces copy. Off by default: the root namespace then looks like a fresh
    /// namespace of the real kernel (what `unshare -rn` gives an unprivileged user, and what the golden
    /// recordings and snapshots show), created from an init_net that keeps its defaults.</summary>
    public bool RootIsInitNet { get; init; }
}

/// <summary>The whole virtual kernel: its network namespaces, its clock and timers, and the sink
/// that hears every change. One writer at a time: whoever touches the model holds <see cref="Lock"/>
/// (the rtnl lock, taken once per request by the server, the sysfs view and the management API).</summary>
public sealed class Kernel
{
    public object Lock { get; } = new();
    public KernelOptions Options { get; }
    public IClock Clock => Options.Clock;
    public TimerQueue Timers { get; } = new();
    public INetEvents Events { get; set; } = NullEvents.Instance;
    /// <summary>The root namespace (the first one, which lives as long as the kernel). It is the
    /// kernel's init_net only with <see cref="KernelOptions.RootIsInitNet"/>; see <see cref="Net.IsInit"/>.</summary>
    public Net InitNet { get; }

    private VirtKernel.Model.Sysctl.NetSysctlValues? _hostSysctl;

    /// <summary>init_net's namespace-wide sysctl values: those of the root namespace when it is
    /// init_net, otherwise the defaults of an init_net nobody can reach. Global entries (a static key)
    /// and what a new namespace inherits come from here.</summary>
    internal VirtKernel.Model.Sysctl.NetSysctlValues HostSysctl =>
        _hostSysctl ??= Options.RootIsInitNet ? InitNet.Sysctl.Values : VirtKernel.Model.Sysctl.NetTables.Template(true).Copy();

    private VirtKernel.Model.Sysctl.NetSysctlValues? _netBase, _netBaseHost;

    /// <summary>The namespace-wide values a new namespace starts with: the templates' defaults
    /// and what it inherits from init_net. Namespaces share one copy of them until they write
    /// (a namespace that nobody configures costs no array of its own); the copy is made again
    /// when init_net's values changed since.</summary>
    internal VirtKernel.Model.Sysctl.NetSysctlValues NewNetSysctlValues()
    {
        var host = HostSysctl;
        if (_netBase == null || !_netBaseHost!.SameAs(host))
        {
            var b = VirtKernel.Model.Sysctl.NetTables.Template(false).Copy();
            b.InheritFrom(host);
            _netBase = b;
            _netBaseHost = host.Copy();
        }
        return _netBase.Share();
    }

    /// <summary>arp_tbl.parms and nd_tbl.parms: the neighbour tables' defaults, global as the
    /// tables are (net.ipv4/ipv6.neigh.default in the initial namespace); devices copy them.</summary>
    public NeighParms ArpTblParms { get; } = NeighParms.TableDefaults(ipv6: false);
    public NeighParms NdTblParms { get; } = NeighParms.TableDefaults(ipv6: true);

    private readonly Dictionary<int, Net> _nets = new();
    private int _nextNetId;
    private ulong _macState;
    private uint _nextNsInum = 0xf0000000;

    public Kernel(KernelOptions? options = null)
    {
        Options = options ?? new KernelOptions();
        _macState = Options.MacSeed;
        LinkOps.RegisterBuiltins();
        InitNet = CreateNet();
    }

    public IEnumerable<Net> Nets => _nets.Values;

    /// <summary>Gives back the room of namespaces that are gone (the daemon's idle trim).</summary>
    public void TrimExcess() => _nets.TrimExcess();
    public int NetCount => _nets.Count;
    public Net? GetNet(int id) => _nets.GetValueOrDefault(id);

    /// <summary>copy_net_ns / setup_net: a fresh namespace holding only a DOWN loopback.
    /// <paramref name="creator"/> is the namespace of the process that asks (what
    /// devconf_inherit_init_net=3 copies from).</summary>
    public Net CreateNet(Net? creator = null)
    {
        var net = new Net(this, _nextNetId++, _nextNsInum++, creator);
        _nets.Add(net.Id, net);
        net.Setup();
        NetCreated?.Invoke(net);
        return net;
    }

    /// <summary>Raised for every new namespace (the server gives it a handle file).</summary>
    public event Action<Net>? NetCreated;

    /// <summary>cleanup_net: unregisters every device (virtual ones are deleted, as the kernel's
    /// default_device_exit_batch does) and forgets the namespace.</summary>
    public void DestroyNet(Net net)
    {
        if (net == InitNet) throw new InvalidOperationException("the initial namespace lives as long as the kernel");
        if (!_nets.ContainsKey(net.Id)) return;
        net.Teardown();
        _nets.Remove(net.Id);
        NetDestroyed?.Invoke(net);
    }

    /// <summary>Raised once a namespace is gone (the server drops what it kept for it).</summary>
    public event Action<Net>? NetDestroyed;

    private readonly Queue<Net> _toDestroy = new();

    /// <summary>The last reference to a namespace went away: it is destroyed with the deferred work.</summary>
    internal void ScheduleDestroy(Net net)
    {
        _toDestroy.Enqueue(net);
        _deferredPending = true;
    }

    /// <summary>eth_random_addr: a locally administered unicast MAC from a deterministic sequence.</summary>
    public byte[] RandomEtherAddr()
    {
        // splitmix64: deterministic for a seed, well spread
        ulong z = _macState += 0x9e3779b97f4a7c15;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
        z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
        z ^= z >> 31;
        var mac = new byte[6];
        for (int i = 0; i < 6; i++) mac[i] = (byte)(z >> (8 * i));
        mac[0] &= 0xfe; // clear multicast bit
        mac[0] |= 0x02; // set local assignment bit (IEEE802)
        return mac;
    }

    /// <summary>Namespaces nothing holds any more wait for <see cref="RunDeferred"/>.</summary>
    public bool DestroyPending => _toDestroy.Count > 0;

    /// <summary>Runs the work the kernel defers to just after a request (linkwatch, addrconf DAD
    /// work, and unless <paramref name="destroyNamespaces"/> is false the cleanup_net of released
    /// namespaces), until none is left. The server calls it after every request; tests may call it
    /// directly. The kernel tears namespaces down in a workqueue, after `ip netns del` returned:
    /// the server answers first and destroys them before it reads the next request.</summary>
    public void RunDeferred(bool destroyNamespaces = true)
    {
        if (!_deferredPending) return;
        bool again = true;
        while (again)
        {
            again = false;
            while (_pendingNets.Count > 0)
            {
                var net = _pendingNets.Dequeue();
                net.DeferredQueued = false;
                if (net.LinkWatchPendingAny) { net.RunLinkWatch(); again = true; }
                if (net.Ipv6.DadWorkPending) { net.Ipv6.RunDadWork(); again = true; }
            }
            while (destroyNamespaces && _toDestroy.Count > 0)
            {
                var net = _toDestroy.Dequeue();
                if (net.RefCount <= 0) DestroyNet(net);
                again = true;
            }
        }
        _deferredPending = _toDestroy.Count > 0;
    }

    private readonly Queue<Net> _pendingNets = new();
    private bool _deferredPending;

    /// <summary>A namespace has linkwatch or addrconf work for <see cref="RunDeferred"/>.</summary>
    internal void MarkDeferred(Net net)
    {
        if (net.DeferredQueued) return;
        net.DeferredQueued = true;
        _pendingNets.Enqueue(net);
        _deferredPending = true;
    }

    /// <summary>Runs the timers that are due; the server calls it from its loop.</summary>
    public int RunTimers() => Timers.RunDue(Clock.NowMs);
}
