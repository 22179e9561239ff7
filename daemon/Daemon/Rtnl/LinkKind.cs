using VirtKernel.Model;
using VirtKernel.Protocol.Netlink;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>The rtnetlink side of a link kind: the IFLA_INFO_DATA policy, decoding it into the
/// kind's config object for the model's <see cref="LinkOps"/>, and ops->fill_info. Masters also
/// describe their ports (IFLA_INFO_SLAVE_DATA). One class per kind, registered by name.</summary>
public abstract class RtnlLinkKind
{
    private static readonly Dictionary<string, RtnlLinkKind> Kinds = new(StringComparer.Ordinal);

    public static void Register(RtnlLinkKind k) => Kinds[k.Kind] = k;
    public static RtnlLinkKind? Get(string kind) => Kinds.GetValueOrDefault(kind);

    static RtnlLinkKind()
    {
        foreach (var k in new RtnlLinkKind[] { new VethKind(), new SimpleKind("dummy"), new SimpleKind("ifb") })
            Register(k);
    }

    public abstract string Kind { get; }
    public LinkOps Ops => LinkOps.Get(Kind) ?? throw new InvalidOperationException($"no link ops for {Kind}");

    /// <summary>ops->policy with ops->maxtype; null when the kind takes no IFLA_INFO_DATA.</summary>
    public virtual Policy? DataPolicy => null;

    /// <summary>ops->validate plus the decoding of IFLA_INFO_DATA (and whatever else of the
    /// request the kind reads) into the config object the model takes.</summary>
    public virtual int Decode(RtnlRequest req, AttrTable tb, AttrTable? data, bool creating, out object? config)
    {
        config = null;
        return 0;
    }

    /// <summary>ops->fill_info: the body of IFLA_INFO_DATA; return false to omit the nest.</summary>
    public virtual bool HasFillInfo => false;
    public virtual void FillInfo(NlWriter w, NetDevice dev) { }

    /// <summary>ops->fill_xstats: IFLA_INFO_XSTATS, if the kind has it.</summary>
    public virtual bool HasXstats => false;
    public virtual void FillXstats(NlWriter w, NetDevice dev) { }

    /// <summary>For masters: the kind name ports report as IFLA_INFO_SLAVE_KIND, and their data.</summary>
    public virtual bool HasSlaveInfo => false;
    public virtual void FillSlaveInfo(NlWriter w, NetDevice master, NetDevice port) { }
    public virtual Policy? SlavePolicy => null;
    public virtual int SlaveChangeLink(RtnlRequest req, NetDevice master, NetDevice port, AttrTable? data) =>
        -VirtKernel.Protocol.Errno.EOPNOTSUPP;
}

/// <summary>Kinds without IFLA_INFO_DATA (dummy, ifb).</summary>
public sealed class SimpleKind(string kind) : RtnlLinkKind
{
    public override string Kind => kind;
}
