using VirtKernel.Protocol;

namespace VirtKernel.Model;

/// <summary>One entry of a device's link-layer address list (struct netdev_hw_addr in dev->uc or dev->mc).</summary>
public sealed class HwMcAddr(byte[] addr)
{
    public byte[] Addr { get; } = addr;
    public int Refcount;
    /// <summary>ha->global_use: added on the user's behalf (dev_uc_add_excl, dev_mc_add_global), once.</summary>
    public bool GlobalUse;
}

/// <summary>struct netdev_hw_addr_list: link-layer addresses in the order they were added, each with
/// a reference count (net/core/dev_addr_lists.c). The list is short: lookups are linear, as
/// /proc/net/dev_mcast and the fdb dumps walk it in order anyway.</summary>
public class HwAddrList
{
    private readonly List<HwMcAddr> _list = new();

    public IReadOnlyList<HwMcAddr> Entries => _list;
    public int Count => _list.Count;

    private HwMcAddr? Find(ReadOnlySpan<byte> addr)
    {
        foreach (var h in _list)
            if (h.Addr.AsSpan().SequenceEqual(addr)) return h;
        return null;
    }

    /// <summary>__hw_addr_add: a reference more, or a new entry at the tail.</summary>
    public void Add(byte[] addr)
    {
        var h = Find(addr);
        if (h == null) _list.Add(h = new HwMcAddr(addr));
        h.Refcount++;
    }

    /// <summary>__hw_addr_add_ex(global, exclusive): the user's own entry (dev_uc_add_excl,
    /// dev_mc_add_excl); -EEXIST when the address is listed already.</summary>
    public int AddExcl(byte[] addr)
    {
        if (Find(addr) != null) return -Errno.EEXIST;
        _list.Add(new HwMcAddr(addr) { Refcount = 1, GlobalUse = true });
        return 0;
    }

    /// <summary>__hw_addr_del: a reference less; the entry goes with the last one. -ENOENT when the
    /// address is not listed.</summary>
    public int Del(ReadOnlySpan<byte> addr)
    {
        var h = Find(addr);
        if (h == null) return -Errno.ENOENT;
        if (--h.Refcount <= 0) _list.Remove(h);
        return 0;
    }

    public void Clear() => _list.Clear();
}

/// <summary>dev->mc: the link-layer multicast addresses the protocols asked the device to receive
/// (dev_mc_add / dev_mc_del), in the order they were added (/proc/net/dev_mcast).</summary>
public sealed class HwMcList : HwAddrList;
