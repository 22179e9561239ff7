using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv4;

// net/ipv4/fib_semantics.c: fib_info_devhash and fib_info_laddrhash. The kernel finds the routes a
// device or a local address event concerns through these hashes instead of walking the tables;
// so does this FIB, so that an address add (fib_sync_up) or a device going down costs what the
// routes through that device cost, not what every route of the namespace does.
public sealed partial class Ipv4Net
{
    /// <summary>fib_info_devhash: the linked routes with their own paths (not a nexthop object), by
    /// the device of each path.</summary>
    private Dictionary<NetDevice, HashSet<Route>>? _devRoutes; // these three: made with their first route

    /// <summary>The routes of <see cref="_devRoutes"/>[dev] that had a path through dev marked
    /// RTNH_F_DEAD or RTNH_F_LINKDOWN: the only ones fib_sync_up can change. A superset: a route
    /// leaves it when fib_sync_up finds its paths through dev clean.</summary>
    private Dictionary<NetDevice, HashSet<Route>>? _devFlagged;

    /// <summary>fib_info_laddrhash: the linked routes with a preferred source, by that address.</summary>
    private Dictionary<uint, HashSet<Route>>? _laddrRoutes;

    private const uint NhDownFlags = (uint)(RTNH_F_DEAD | RTNH_F_LINKDOWN);

    private static void HashAdd<TKey>(ref Dictionary<TKey, HashSet<Route>>? hash, TKey key, Route r) where TKey : notnull
    {
        hash ??= new();
        if (!hash.TryGetValue(key, out var set)) hash[key] = set = new HashSet<Route>(ReferenceEqualityComparer.Instance);
        set.Add(r);
    }

    private static void HashRemove<TKey>(Dictionary<TKey, HashSet<Route>>? hash, TKey key, Route r) where TKey : notnull
    {
        if (hash != null && hash.TryGetValue(key, out var set) && set.Remove(r) && set.Count == 0) hash.Remove(key);
    }

    /// <summary>fib_info_hash_insert (the devhash and laddrhash part of fib_create_info): a route was linked.</summary>
    private void FibInfoHashInsert(Route r)
    {
        if (r.HasPrefSrc) HashAdd(ref _laddrRoutes, (uint)r.PrefSrc, r);
        if (r.Nh != null) return;
        foreach (var nh in r.Nexthops)
        {
            if (nh.Dev == null) continue;
            HashAdd(ref _devRoutes, nh.Dev, r);
            if ((nh.Flags & NhDownFlags) != 0) HashAdd(ref _devFlagged, nh.Dev, r);
        }
    }

    /// <summary>fib_unlink_info: a route left its table.</summary>
    private void FibInfoHashRemove(Route r)
    {
        if (r.HasPrefSrc) HashRemove(_laddrRoutes, (uint)r.PrefSrc, r);
        if (r.Nh != null) return;
        foreach (var nh in r.Nexthops)
        {
            if (nh.Dev == null) continue;
            HashRemove(_devRoutes, nh.Dev, r);
            HashRemove(_devFlagged, nh.Dev, r);
        }
    }

    /// <summary>The routes with a path through <paramref name="dev"/> (a snapshot: the caller may flush).</summary>
    private Route[] RoutesThroughDev(NetDevice dev) =>
        _devRoutes != null && _devRoutes.TryGetValue(dev, out var set) ? set.ToArray() : Array.Empty<Route>();

    /// <summary>A path through <paramref name="dev"/> was marked dead or linkdown.</summary>
    private void NoteFlagged(NetDevice dev, Route r) => HashAdd(ref _devFlagged, dev, r);
}
