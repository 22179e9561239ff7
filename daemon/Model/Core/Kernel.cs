namespace VirtKernel.Model;

/// <summary>Settings of a virtual kernel instance.</summary>
public sealed record KernelOptions
{
    /// <summary>Seed of the MAC addresses given to devices created without one (eth_hw_addr_random).</summary>
    public ulong MacSeed { get; init; } = 0x5eed;
    /// <summary>Number of possible CPUs the kernel pretends to have (veth queue counts follow it).</summary>
    public int PossibleCpus { get; init; } = 2;
    public IClock Clock { get; init; } = new SystemClock();
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
    public Net InitNet { get; }

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
    public int NetCount => _nets.Count;
    public Net? GetNet(int id) => _nets.GetValueOrDefault(id);

    /// <summary>copy_net_ns / setup_net: a fresh namespace holding only a DOWN loopback.</summary>
    public Net CreateNet()
    {
        var net = new Net(this, _nextNetId++, _nextNsInum++);
        _nets.Add(net.Id, net);
        net.Setup();
        return net;
    }

    /// <summary>cleanup_net: unregisters every device (virtual ones are deleted, as the kernel's
    /// default_device_exit_batch does) and forgets the namespace.</summary>
    public void DestroyNet(Net net)
    {
        if (net == InitNet) throw new InvalidOperationException("the initial namespace lives as long as the kernel");
        net.Teardown();
        _nets.Remove(net.Id);
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

    /// <summary>Runs the work the kernel defers to just after a request (linkwatch, addrconf DAD
    /// work), until none is left. The server calls it after every request; tests may call it directly.</summary>
    public void RunDeferred()
    {
        bool again = true;
        while (again)
        {
            again = false;
            bool pending = false;
            foreach (var net in _nets.Values)
                if (net.LinkWatchPendingAny || net.Ipv6.DadWorkPending) { pending = true; break; }
            if (!pending) return;
            foreach (var net in _nets.Values.ToArray())
            {
                if (net.LinkWatchPendingAny) { net.RunLinkWatch(); again = true; }
                if (net.Ipv6.DadWorkPending) { net.Ipv6.RunDadWork(); again = true; }
            }
        }
    }

    /// <summary>Runs the timers that are due; the server calls it from its loop.</summary>
    public int RunTimers() => Timers.RunDue(Clock.NowMs);
}
