using VirtKernel.Model;
using VirtKernel.Protocol;
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

    /// <summary>The codec of a device's kind (null for devices without rtnl_link_ops, like lo).</summary>
    public static RtnlLinkKind? Of(NetDevice dev) => dev.Ops.Kind is string k ? Get(k) : null;

    static RtnlLinkKind()
    {
        foreach (var k in new RtnlLinkKind[]
                 {
                     new VethKind(), new SimpleKind("dummy"), new SimpleKind("ifb"), new BridgeKind(),
                     new MacvlanKind(), new VxlanKind(), new VlanKind(),
                 })
            Register(k);
    }

    public abstract string Kind { get; }
    public LinkOps Ops => LinkOps.Get(Kind) ?? throw new InvalidOperationException($"no link ops for {Kind}");

    /// <summary>ops->policy with ops->maxtype; null when the kind takes no IFLA_INFO_DATA.</summary>
    public virtual Policy? DataPolicy => null;

    /// <summary>ops->validate plus the decoding of IFLA_INFO_DATA (and whatever else of the
    /// request the kind reads) into the config object the model takes. <paramref name="data"/> is
    /// null when the request has no IFLA_INFO_DATA.</summary>
    public virtual int Decode(RtnlRequest req, AttrTable tb, AttrTable? data, bool creating, out object? config)
    {
        config = null;
        return 0;
    }

    /// <summary>ops->fill_info: the body of IFLA_INFO_DATA; kinds without one leave the nest out.</summary>
    public virtual bool HasFillInfo => false;
    public virtual void FillInfo(NlWriter w, NetDevice dev) { }

    /// <summary>ops->fill_xstats: IFLA_INFO_XSTATS, if the kind has it.</summary>
    public virtual bool HasXstats => false;
    public virtual void FillXstats(NlWriter w, NetDevice dev) { }

    /// <summary>For masters: ops->fill_slave_info, the IFLA_INFO_SLAVE_DATA of a port.</summary>
    public virtual bool HasSlaveInfo => false;
    public virtual void FillSlaveInfo(NlWriter w, NetDevice master, NetDevice port) { }

    /// <summary>ops->slave_policy; null when the kind has no slave_changelink.</summary>
    public virtual Policy? SlavePolicy => null;

    /// <summary>Decodes IFLA_INFO_SLAVE_DATA into the config the model's slave_changelink takes.</summary>
    public virtual int DecodeSlave(RtnlRequest req, AttrTable? data, out object? config)
    {
        config = null;
        return -Errno.EOPNOTSUPP;
    }

    // ---- helpers shared by the kinds ------------------------------------------------------------

    /// <summary>NLA_POLICY_MAX: an unsigned attribute above <paramref name="max"/> fails with ERANGE.</summary>
    protected static int CheckMax(RtnlRequest req, AttrTable t, int type, ulong max)
    {
        if (!t.Has(type)) return 0;
        var p = t.Payload(type);
        ulong v = p.Length switch { 1 => p[0], 2 => t.U16(type), 4 => t.U32(type), _ => t.U64(type) };
        return v > max ? req.Ext.Fail(Errno.ERANGE, "integer out of range", t.OffsetOf(type)) : 0;
    }

    /// <summary>NLA_POLICY_EXACT_LEN.</summary>
    protected static int CheckExactLen(RtnlRequest req, AttrTable t, int type, int len)
    {
        if (!t.Has(type) || t.Payload(type).Length == len) return 0;
        return req.Ext.Fail(Errno.ERANGE, "binary attribute size out of range", t.OffsetOf(type));
    }

    /// <summary>The usual validate of Ethernet kinds: a given address is 6 bytes and unicast.</summary>
    protected static int ValidateEtherAddress(RtnlRequest req, AttrTable tb, string? lenMsg = null, string? ucastMsg = null)
    {
        if (!tb.Has(Uapi.IFLA_ADDRESS)) return 0;
        if (tb.Payload(Uapi.IFLA_ADDRESS).Length != 6)
            return req.Ext.Fail(Errno.EINVAL, lenMsg, lenMsg != null ? tb.OffsetOf(Uapi.IFLA_ADDRESS) : -1);
        if (!EtherAddr.IsValid(tb.Payload(Uapi.IFLA_ADDRESS)))
            return req.Ext.Fail(Errno.EADDRNOTAVAIL, ucastMsg, ucastMsg != null ? tb.OffsetOf(Uapi.IFLA_ADDRESS) : -1);
        return 0;
    }
}

/// <summary>Kinds without IFLA_INFO_DATA (dummy, ifb).</summary>
public sealed class SimpleKind(string kind) : RtnlLinkKind
{
    public override string Kind => kind;
}
