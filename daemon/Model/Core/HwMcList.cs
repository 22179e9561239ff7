namespace VirtKernel.Model;

/// <summary>One entry of a device's link-layer multicast list (struct netdev_hw_addr in dev->mc).</summary>
public sealed class HwMcAddr(byte[] addr)
{
    public byte[] Addr { get; } = addr;
    public int Refcount;
    public int GlobalUse;
}

/// <summary>dev->mc: the link-layer multicast addresses the protocols asked the device to receive
/// (dev_mc_add / dev_mc_del), in the order they were added (/proc/net/dev_mcast).</summary>
public sealed class HwMcList
{
    private readonly List<HwMcAddr> _list = new();

    public IReadOnlyList<HwMcAddr> Entries => _list;

    private HwMcAddr? Find(byte[] addr) => _list.FirstOrDefault(h => h.Addr.AsSpan().SequenceEqual(addr));

    /// <summary>dev_mc_add (__hw_addr_add): a reference more, or a new entry at the tail.</summary>
    public void Add(byte[] addr)
    {
        var h = Find(addr);
        if (h == null) _list.Add(h = new HwMcAddr(addr));
        h.Refcount++;
    }

    /// <summary>dev_mc_del: a reference less; the entry goes with the last one.</summary>
    public void Del(byte[] addr)
    {
        var h = Find(addr);
        if (h == null) return;
        if (--h.Refcount <= 0) _list.Remove(h);
    }

    public void Clear() => _list.Clear();
}
