using System.Reflection;

namespace VirtKernel.Protocol.Netlink;

/// <summary>How a value in a message is shown and, for attributes, how its payload is structured
/// (the "type" of a YNL spec). Only <see cref="Nested"/>, <see cref="NestedArray"/> and
/// <see cref="SubMessage"/> change how bytes are parsed; every other kind only names a value.</summary>
public enum NlValueKind
{
    Binary, U8, U16, U32, U64, S8, S16, S32, S64, Be16, Be32, String, Flag,
    /// <summary>Flags or masks: unsigned, shown in hex.</summary>
    X8, X16, X32,
    /// <summary>An IPv4 or IPv6 address (4 or 16 bytes).</summary>
    InetAddr,
    /// <summary>A link-layer address (MAC).</summary>
    LinkAddr,
    /// <summary>A nest of attributes of <see cref="NlAttrSpec.Space"/>, optionally after a fixed header.</summary>
    Nested,
    /// <summary>A nest whose children are indexed entries, each a nest of <see cref="NlAttrSpec.Space"/>.</summary>
    NestedArray,
    /// <summary>A nest whose attribute space depends on the string value of a sibling attribute
    /// (IFLA_INFO_DATA by IFLA_INFO_KIND): YNL's sub-message with a selector.</summary>
    SubMessage,
}

/// <summary>One field of a fixed header (struct ifinfomsg and friends).</summary>
public readonly record struct NlField(string Name, int Size, NlValueKind Kind = NlValueKind.Binary);

/// <summary>A fixed-size C struct at the start of a message or of a nest.</summary>
public sealed class NlStruct
{
    public NlStruct(string name, params NlField[] fields)
    {
        Name = name;
        Fields = fields;
        Size = fields.Sum(f => f.Size);
    }

    public string Name { get; }
    public IReadOnlyList<NlField> Fields { get; }
    public int Size { get; }
}

/// <summary>What an attribute type means in its space: its name and the kind of its payload.</summary>
public sealed class NlAttrSpec
{
    public NlAttrSpec(string name, NlValueKind kind) { Name = name; Kind = kind; }

    public string Name { get; }
    public NlValueKind Kind { get; }
    /// <summary>The children's space for <see cref="NlValueKind.Nested"/>/<see cref="NlValueKind.NestedArray"/>.</summary>
    public NlAttrSpace? Space { get; init; }
    /// <summary>A fixed header inside the nest, before its attributes (VETH_INFO_PEER: struct ifinfomsg).</summary>
    public NlStruct? Header { get; init; }
    /// <summary>For <see cref="NlValueKind.SubMessage"/>: the sibling attribute whose string selects the space.</summary>
    public ushort Selector { get; init; }
    /// <summary>For <see cref="NlValueKind.SubMessage"/>: selector value -> space.</summary>
    public IReadOnlyDictionary<string, NlAttrSpace>? Selected { get; init; }

    /// <summary>Does this attribute's payload hold attributes?</summary>
    public bool IsNest => Kind is NlValueKind.Nested or NlValueKind.NestedArray or NlValueKind.SubMessage;
}

/// <summary>An attribute space: attribute type -> meaning (the kernel's IFLA_*, IFA_*, RTA_* enums).
/// Types not listed are unknown: kept as raw bytes and shown by number.</summary>
public sealed class NlAttrSpace
{
    private readonly Dictionary<int, NlAttrSpec> _specs = new();

    public NlAttrSpace(string name) => Name = name;

    public string Name { get; }

    public NlAttrSpec? this[int type] => _specs.GetValueOrDefault(type);

    public NlAttrSpace Add(int type, NlAttrSpec spec)
    {
        _specs[type] = spec;
        return this;
    }

    /// <summary>Adds attributes named after constants of <paramref name="constants"/>: the name is the
    /// constant's (write it with nameof so the compiler checks it), the number is its value.</summary>
    public NlAttrSpace Add(Type constants, params (string Name, NlValueKind Kind)[] attrs)
    {
        foreach (var (name, kind) in attrs) Add(ConstantValue(constants, name), new NlAttrSpec(name, kind));
        return this;
    }

    public NlAttrSpace Nest(Type constants, string name, NlAttrSpace space, NlStruct? header = null)
    {
        return Add(ConstantValue(constants, name), new NlAttrSpec(name, NlValueKind.Nested) { Space = space, Header = header });
    }

    internal static int ConstantValue(Type constants, string name)
    {
        var f = constants.GetField(name, BindingFlags.Public | BindingFlags.Static)
            ?? throw new ArgumentException($"{constants.Name} has no constant {name}");
        return Convert.ToInt32(f.GetRawConstantValue());
    }
}

/// <summary>What a request of a message type does, which tells what the high nlmsg_flags bits mean
/// (NLM_F_REPLACE/EXCL/CREATE/APPEND for NEW, NLM_F_NONREC/BULK for DEL, NLM_F_ROOT/MATCH/ATOMIC for GET).</summary>
public enum NlOperation { Other, New, Del, Get }

/// <summary>What a message type carries: its name, fixed header and attribute space.</summary>
public sealed class NlMessageSpec
{
    public NlMessageSpec(string name, NlOperation op, NlStruct? header, NlAttrSpace? attrs)
    {
        Name = name; Op = op; Header = header; Attrs = attrs;
    }

    public string Name { get; }
    public NlOperation Op { get; }
    public NlStruct? Header { get; }
    public NlAttrSpace? Attrs { get; }
}

/// <summary>The messages of one netlink protocol, by nlmsg_type, for <see cref="NlMessageTree"/>:
/// which bytes are a fixed header, which are attributes, and what they are called. The control
/// messages (NLMSG_NOOP/ERROR/DONE/OVERRUN) are known to every schema.</summary>
public sealed class NlSchema
{
    private readonly Dictionary<int, NlMessageSpec> _messages = new();

    public NlSchema(string name) => Name = name;

    public string Name { get; }

    /// <summary>Extended-ACK attributes of NLMSG_ERROR and NLMSG_DONE (enum nlmsgerr_attrs).</summary>
    public static readonly NlAttrSpace ExtAckAttrs = BuildExtAck();

    /// <summary>The schema that knows only the control messages.</summary>
    public static readonly NlSchema Control = new("netlink");

    public NlMessageSpec? this[int type] => _messages.GetValueOrDefault(type);

    public NlSchema Add(int type, NlMessageSpec spec)
    {
        _messages[type] = spec;
        return this;
    }

    public string MessageName(int type) => type switch
    {
        Uapi.NLMSG_NOOP => nameof(Uapi.NLMSG_NOOP),
        Uapi.NLMSG_ERROR => nameof(Uapi.NLMSG_ERROR),
        Uapi.NLMSG_DONE => nameof(Uapi.NLMSG_DONE),
        Uapi.NLMSG_OVERRUN => nameof(Uapi.NLMSG_OVERRUN),
        _ => _messages.TryGetValue(type, out var s) ? s.Name : $"type {type}",
    };

    private static NlAttrSpace BuildExtAck()
    {
        var policy = new NlAttrSpace("policy-type-attrs").Add(typeof(Uapi),
            (nameof(Uapi.NL_POLICY_TYPE_ATTR_TYPE), NlValueKind.U32),
            (nameof(Uapi.NL_POLICY_TYPE_ATTR_MIN_VALUE_S), NlValueKind.S64),
            (nameof(Uapi.NL_POLICY_TYPE_ATTR_MAX_VALUE_S), NlValueKind.S64),
            (nameof(Uapi.NL_POLICY_TYPE_ATTR_MIN_VALUE_U), NlValueKind.U64),
            (nameof(Uapi.NL_POLICY_TYPE_ATTR_MAX_VALUE_U), NlValueKind.U64),
            (nameof(Uapi.NL_POLICY_TYPE_ATTR_MIN_LENGTH), NlValueKind.U32),
            (nameof(Uapi.NL_POLICY_TYPE_ATTR_MAX_LENGTH), NlValueKind.U32),
            (nameof(Uapi.NL_POLICY_TYPE_ATTR_POLICY_IDX), NlValueKind.U32),
            (nameof(Uapi.NL_POLICY_TYPE_ATTR_POLICY_MAXTYPE), NlValueKind.U32),
            (nameof(Uapi.NL_POLICY_TYPE_ATTR_BITFIELD32_MASK), NlValueKind.U32),
            (nameof(Uapi.NL_POLICY_TYPE_ATTR_PAD), NlValueKind.Binary),
            (nameof(Uapi.NL_POLICY_TYPE_ATTR_MASK), NlValueKind.U64));
        return new NlAttrSpace("nlmsgerr-attrs").Add(typeof(Uapi),
                (nameof(Uapi.NLMSGERR_ATTR_MSG), NlValueKind.String),
                (nameof(Uapi.NLMSGERR_ATTR_OFFS), NlValueKind.U32),
                (nameof(Uapi.NLMSGERR_ATTR_COOKIE), NlValueKind.Binary),
                (nameof(Uapi.NLMSGERR_ATTR_MISS_TYPE), NlValueKind.U32),
                (nameof(Uapi.NLMSGERR_ATTR_MISS_NEST), NlValueKind.U32))
            .Nest(typeof(Uapi), nameof(Uapi.NLMSGERR_ATTR_POLICY), policy);
    }
}
