using VirtKernel.Protocol;

namespace VirtKernel.Protocol.Netlink;

/// <summary>enum nla_types (include/net/netlink.h).</summary>
public enum NlaType : byte
{
    Unspec, U8, U16, U32, U64, String, Flag, Msecs, Nested, NestedArray, NulString, Binary,
    S8, S16, S32, S64, Bitfield32, Reject, Be16, Be32, SInt, UInt,
}

/// <summary>enum netlink_validation: how strictly __nla_validate_parse checks.</summary>
[Flags]
public enum NlValidate
{
    Liberal = 0,
    Trailing = 1 << 0,    // NL_VALIDATE_TRAILING
    MaxType = 1 << 1,     // NL_VALIDATE_MAXTYPE
    Unspec = 1 << 2,      // NL_VALIDATE_UNSPEC
    StrictAttrs = 1 << 3, // NL_VALIDATE_STRICT_ATTRS
    Nested = 1 << 4,      // NL_VALIDATE_NESTED
    DeprecatedStrict = Trailing | MaxType,
    Strict = Trailing | MaxType | Unspec | StrictAttrs | Nested,
}

/// <summary>struct nla_policy: one entry per attribute type. Range checks and validation
/// functions are left to the handlers, which know the kernel's messages for them.</summary>
public readonly record struct NlaPolicy(NlaType Type, ushort Len = 0, Policy? NestedPolicy = null, string? RejectMessage = null)
{
    public static readonly NlaPolicy None = default;
}

/// <summary>A policy table indexed by attribute type (the kernel's `const struct nla_policy x[MAX + 1]`).</summary>
public sealed class Policy
{
    private readonly NlaPolicy[] _entries;
    public int MaxType => _entries.Length - 1;
    /// <summary>policy[0].strict_start_type: attributes from this type on are always validated strictly.</summary>
    public ushort StrictStartType { get; init; }

    public Policy(int maxType, params (ushort Type, NlaPolicy Policy)[] entries)
    {
        _entries = new NlaPolicy[maxType + 1];
        foreach (var (t, p) in entries) _entries[t] = p;
    }

    public NlaPolicy this[int type] => _entries[type];
}

/// <summary>The error a parse or a handler reports: -errno plus the extack message, the offset of
/// the offending attribute and the policy it failed (NL_SET_ERR_MSG_ATTR_POL), as NLMSGERR_ATTR_MSG,
/// NLMSGERR_ATTR_OFFS and NLMSGERR_ATTR_POLICY carry them. With <see cref="Errno"/> 0 and a message it
/// is a warning: the kernel reports "bytes leftover after parsing attributes" even when it accepts.</summary>
public readonly record struct NlError(int Errno, string? Message = null, int BadAttrOffset = -1, NlaPolicy? Policy = null)
{
    public static readonly NlError Ok = new(0);
    public bool IsError => Errno != 0;
    public bool IsWarning => Errno == 0 && Message != null;
}

/// <summary>tb[]: the attributes of a message by type, as offsets into the message.</summary>
public sealed class AttrTable
{
    // Compact, since a table is built for every request: _slot[type] is 1 + the index of the
    // type's entry (0 when absent); entry i is _ent[3i..3i+2] = header offset, payload offset,
    // payload length. Requests carry a few attributes out of dozens of types.
    private readonly ushort[] _slot;
    private int[] _ent;
    private int _count;
    public ReadOnlyMemory<byte> Message { get; }

    public AttrTable(ReadOnlyMemory<byte> message, int maxType)
    {
        Message = message;
        _slot = new ushort[maxType + 1];
        _ent = new int[3 * 4];
    }

    public int MaxType => _slot.Length - 1;

    public bool Has(int type) => (uint)type < (uint)_slot.Length && _slot[type] != 0;
    internal void Set(int type, int hdrOffset, int payloadOffset, int len)
    {
        int i = _slot[type] - 1;
        if (i < 0)
        {
            i = _count++;
            if (3 * _count > _ent.Length) Array.Resize(ref _ent, _ent.Length * 2);
            _slot[type] = (ushort)(i + 1);
        }
        _ent[3 * i] = hdrOffset; _ent[3 * i + 1] = payloadOffset; _ent[3 * i + 2] = len;
    }

    private int Off(int type) => _ent[3 * (_slot[type] - 1) + 1];
    private int Len(int type) => _ent[3 * (_slot[type] - 1) + 2];

    /// <summary>Offset of the attribute header in the message (for extack NLMSGERR_ATTR_OFFS).</summary>
    public int OffsetOf(int type) => Has(type) ? _ent[3 * (_slot[type] - 1)] : -1;

    public ReadOnlySpan<byte> Payload(int type) => Has(type) ? Message.Span.Slice(Off(type), Len(type)) : default;
    public ReadOnlyMemory<byte> PayloadMemory(int type) => Has(type) ? Message.Slice(Off(type), Len(type)) : default;

    public NlAttr Get(int type)
    {
        var span = Message.Span;
        return new NlAttr((ushort)type, span.Slice(Off(type), Len(type)), _ent[3 * (_slot[type] - 1)]);
    }

    public byte U8(int type) => Payload(type)[0];
    public ushort U16(int type) => Get(type).U16;
    public uint U32(int type) => Get(type).U32;
    public int S32(int type) => Get(type).S32;
    public ulong U64(int type) => Get(type).U64;
    public string String(int type) => Get(type).String;
    public byte[] Bytes(int type) => Payload(type).ToArray();

    /// <summary>nla_parse_nested on one of this table's attributes. <paramref name="err"/> may be a
    /// warning on success; the caller passes it to the extack where the kernel passes one.</summary>
    public AttrTable? ParseNested(int type, Policy policy, NlValidate validate, out NlError err)
    {
        return AttrParser.Parse(Message, Off(type), Len(type), policy, validate, out err);
    }
}

/// <summary>__nla_validate_parse: parses a stream of attributes into an <see cref="AttrTable"/>,
/// validating each against the policy exactly as lib/nlattr.c validate_nla does.</summary>
public static class AttrParser
{
    public const int MaxPolicyRecursionDepth = 10; // MAX_POLICY_RECURSION_DEPTH

    private static int ExactLen(NlaType t) => t switch
    {
        NlaType.U8 or NlaType.S8 => 1,
        NlaType.U16 or NlaType.S16 or NlaType.Be16 => 2,
        NlaType.U32 or NlaType.S32 or NlaType.Be32 => 4,
        NlaType.U64 or NlaType.S64 or NlaType.Msecs => 8,
        _ => 0,
    };

    private static int MinLen(NlaType t) => t switch
    {
        NlaType.String => 1,
        NlaType.Bitfield32 => 8,
        _ => ExactLen(t),
    };

    public static AttrTable? Parse(ReadOnlyMemory<byte> message, int start, int length, Policy policy,
        NlValidate validate, out NlError err)
    {
        var tb = new AttrTable(message, policy.MaxType);
        err = Validate(message.Span, start, length, policy, validate, tb, 0);
        return err.IsError ? null : tb;
    }

    public const string LeftoverMessage = "bytes leftover after parsing attributes";

    /// <summary>Validation without building a table (__nla_validate). Success may carry a warning
    /// (<see cref="NlError.IsWarning"/>): bytes left over, here or in a nest.</summary>
    public static NlError Validate(ReadOnlySpan<byte> message, int start, int length, Policy policy,
        NlValidate validate, AttrTable? tb, int depth)
    {
        if (depth >= MaxPolicyRecursionDepth)
            return new NlError(Errno.EINVAL, "allowed policy recursion depth exceeded");
        var warning = NlError.Ok;
        var it = new NlAttrIterator(message.Slice(start, length), start);
        while (it.MoveNext())
        {
            var nla = it.Current;
            ushort type = nla.Type;
            if (type == 0 || type > policy.MaxType)
            {
                if ((validate & NlValidate.MaxType) != 0)
                    return new NlError(Errno.EINVAL, "Unknown attribute type", nla.Offset);
                continue;
            }
            var e = ValidateNla(message, nla, policy, validate, depth);
            if (e.IsError) return e;
            if (e.IsWarning) warning = e;
            tb?.Set(type, nla.Offset, nla.Offset + Nl.AttrHdrLen, nla.Length);
        }
        if (it.Remaining > 0)
        {
            // NL_SET_ERR_MSG even when the bytes are tolerated: the ACK then carries it as a warning
            if ((validate & NlValidate.Trailing) != 0) return new NlError(Errno.EINVAL, LeftoverMessage);
            warning = new NlError(0, LeftoverMessage);
        }
        return warning;
    }

    // lib/nlattr.c validate_nla()
    private static NlError ValidateNla(ReadOnlySpan<byte> message, NlAttr nla, Policy policy, NlValidate validate, int depth)
    {
        int type = nla.Type;
        if (policy.StrictStartType != 0 && type >= policy.StrictStartType)
            validate |= NlValidate.Strict;
        var pt = policy[type];
        int attrlen = nla.Length;
        int exact = ExactLen(pt.Type);
        int off = nla.Offset;
        // out_err: NL_SET_ERR_MSG_ATTR_POL
        NlError Fail(int errno = Errno.ERANGE) => new(errno, "Attribute failed policy validation", off, pt);
        var warning = NlError.Ok;

        if (exact != 0 && attrlen != exact && (validate & NlValidate.StrictAttrs) != 0)
            return new NlError(Errno.EINVAL, "invalid attribute length", nla.Offset, pt);

        if ((validate & NlValidate.Nested) != 0)
        {
            bool nestedType = pt.Type is NlaType.Nested or NlaType.NestedArray;
            if (nestedType && !nla.IsNestedFlag)
                return new NlError(Errno.EINVAL, "NLA_F_NESTED is missing", nla.Offset);
            if (!nestedType && pt.Type != NlaType.Unspec && nla.IsNestedFlag)
                return new NlError(Errno.EINVAL, "NLA_F_NESTED not expected", nla.Offset);
        }

        switch (pt.Type)
        {
            case NlaType.Reject:
                if (pt.RejectMessage != null) return new NlError(Errno.EINVAL, pt.RejectMessage, nla.Offset);
                return Fail(Errno.EINVAL);
            case NlaType.Flag:
                if (attrlen > 0) return Fail();
                break;
            case NlaType.NulString:
            {
                int minlen = pt.Len != 0 ? Math.Min(attrlen, pt.Len + 1) : attrlen;
                if (minlen == 0 || nla.Payload[..minlen].IndexOf((byte)0) < 0) return Fail(Errno.EINVAL);
                goto case NlaType.String;
            }
            case NlaType.String:
                if (attrlen < 1) return Fail();
                if (pt.Len != 0)
                {
                    int l = attrlen;
                    if (nla.Payload[l - 1] == 0) l--;
                    if (l > pt.Len) return Fail();
                }
                break;
            case NlaType.Binary:
                if (pt.Len != 0 && attrlen > pt.Len) return Fail();
                break;
            case NlaType.Nested:
                if (attrlen == 0) break;
                if (attrlen < Nl.AttrHdrLen) return Fail();
                if (pt.NestedPolicy != null)
                {
                    var e = Validate(message, nla.Offset + Nl.AttrHdrLen, attrlen, pt.NestedPolicy, validate, null, depth + 1);
                    if (e.IsError) return e;
                    warning = e;
                }
                break;
            case NlaType.NestedArray:
                if (attrlen == 0) break;
                if (attrlen < Nl.AttrHdrLen) return Fail();
                if (pt.NestedPolicy != null)
                {
                    var it = nla.Nested;
                    while (it.MoveNext())
                    {
                        var inner = it.Current;
                        var e = Validate(message, inner.Offset + Nl.AttrHdrLen, inner.Length, pt.NestedPolicy, validate, null, depth + 1);
                        if (e.IsError) return e;
                        if (e.IsWarning) warning = e;
                    }
                }
                break;
            case NlaType.Unspec:
                if ((validate & NlValidate.Unspec) != 0)
                    return new NlError(Errno.EINVAL, "Unsupported attribute", nla.Offset);
                if (attrlen < pt.Len) return Fail();
                break;
            case NlaType.SInt:
            case NlaType.UInt:
                if (attrlen != 4 && attrlen != 8)
                    return new NlError(Errno.EINVAL, "invalid attribute length", nla.Offset, pt);
                break;
            default:
            {
                int minlen = pt.Len != 0 ? pt.Len : MinLen(pt.Type);
                if (attrlen < minlen) return Fail();
                break;
            }
        }
        return warning;
    }
}

/// <summary>net/netlink/policy.c: how a policy entry is described to user space, as in the
/// NLMSGERR_ATTR_POLICY of an extended ACK (netlink_policy_dump_write_attr without a dump state).</summary>
public static class NlPolicyDump
{
    /// <summary>__netlink_policy_dump_write_attr: a nest of type <paramref name="nestType"/> holding
    /// the NL_POLICY_TYPE_ATTR_* of <paramref name="pt"/>; false (nothing written) for the types the
    /// kernel does not describe (NLA_UNSPEC, NLA_REJECT).</summary>
    public static bool WriteAttr(NlWriter w, NlaPolicy pt, int nestType)
    {
        int type;
        switch (pt.Type)
        {
            case NlaType.Unspec:
            case NlaType.Reject:
                return false;
        }
        int nest = w.BeginNest(nestType, nestedFlag: true);
        switch (pt.Type)
        {
            case NlaType.Nested: type = Uapi.NL_ATTR_TYPE_NESTED; break;
            case NlaType.NestedArray: type = Uapi.NL_ATTR_TYPE_NESTED_ARRAY; break;
            case NlaType.U8:
            case NlaType.U16:
            case NlaType.U32:
            case NlaType.U64:
            case NlaType.UInt:
            case NlaType.Msecs:
            case NlaType.Be16:
            case NlaType.Be32:
            {
                // nla_get_range_unsigned without a range: the type's whole span
                (type, ulong max) = pt.Type switch
                {
                    NlaType.U8 => (Uapi.NL_ATTR_TYPE_U8, (ulong)byte.MaxValue),
                    NlaType.U16 or NlaType.Be16 => (Uapi.NL_ATTR_TYPE_U16, (ulong)ushort.MaxValue),
                    NlaType.U32 or NlaType.Be32 => (Uapi.NL_ATTR_TYPE_U32, (ulong)uint.MaxValue),
                    NlaType.UInt => (Uapi.NL_ATTR_TYPE_UINT, ulong.MaxValue),
                    _ => (Uapi.NL_ATTR_TYPE_U64, ulong.MaxValue),
                };
                w.PutU64Aligned(Uapi.NL_POLICY_TYPE_ATTR_MIN_VALUE_U, 0, Uapi.NL_POLICY_TYPE_ATTR_PAD);
                w.PutU64Aligned(Uapi.NL_POLICY_TYPE_ATTR_MAX_VALUE_U, max, Uapi.NL_POLICY_TYPE_ATTR_PAD);
                break;
            }
            case NlaType.S8:
            case NlaType.S16:
            case NlaType.S32:
            case NlaType.S64:
            case NlaType.SInt:
            {
                (type, long min, long max) = pt.Type switch
                {
                    NlaType.S8 => (Uapi.NL_ATTR_TYPE_S8, (long)sbyte.MinValue, (long)sbyte.MaxValue),
                    NlaType.S16 => (Uapi.NL_ATTR_TYPE_S16, (long)short.MinValue, (long)short.MaxValue),
                    NlaType.S32 => (Uapi.NL_ATTR_TYPE_S32, (long)int.MinValue, (long)int.MaxValue),
                    NlaType.SInt => (Uapi.NL_ATTR_TYPE_SINT, long.MinValue, long.MaxValue),
                    _ => (Uapi.NL_ATTR_TYPE_S64, long.MinValue, long.MaxValue),
                };
                w.PutU64Aligned(Uapi.NL_POLICY_TYPE_ATTR_MIN_VALUE_S, (ulong)min, Uapi.NL_POLICY_TYPE_ATTR_PAD);
                w.PutU64Aligned(Uapi.NL_POLICY_TYPE_ATTR_MAX_VALUE_S, (ulong)max, Uapi.NL_POLICY_TYPE_ATTR_PAD);
                break;
            }
            case NlaType.String:
            case NlaType.NulString:
            case NlaType.Binary:
                type = pt.Type switch
                {
                    NlaType.String => Uapi.NL_ATTR_TYPE_STRING,
                    NlaType.NulString => Uapi.NL_ATTR_TYPE_NUL_STRING,
                    _ => Uapi.NL_ATTR_TYPE_BINARY,
                };
                if (pt.Len != 0) w.PutU32(Uapi.NL_POLICY_TYPE_ATTR_MAX_LENGTH, pt.Len);
                break;
            case NlaType.Flag:
                type = Uapi.NL_ATTR_TYPE_FLAG;
                break;
            default:
                // NLA_BITFIELD32 would need its valid-bits mask, which NlaPolicy does not hold
                w.Truncate(nest);
                return false;
        }
        w.PutU32(Uapi.NL_POLICY_TYPE_ATTR_TYPE, (uint)type);
        w.EndNest(nest);
        return true;
    }
}
