using System.Buffers.Binary;

namespace VirtKernel.Protocol.Netlink;

/// <summary>One attribute of a <see cref="NlMessageTree"/>: its type (flags included), and either a
/// leaf payload or, for a nest, an optional fixed header followed by child attributes. Nothing of
/// the original bytes is lost: bytes after the last well-formed child and non-canonical padding
/// are kept, so that <see cref="NlMessageTree.ToBytes"/> gives back exactly what was parsed.</summary>
public sealed class NlAttrNode
{
    /// <summary>nla_type with NLA_F_NESTED / NLA_F_NET_BYTEORDER.</summary>
    public ushort RawType { get; set; }
    /// <summary>A leaf's payload, or the fixed header a nest starts with (empty for most nests).</summary>
    public byte[] Data { get; set; } = [];
    /// <summary>The nested attributes; null for a leaf.</summary>
    public List<NlAttrNode>? Children { get; set; }
    /// <summary>Bytes of a nest after its last well-formed child (the kernel's leftover `rem`).</summary>
    public byte[] Trailing { get; set; } = [];
    /// <summary>The bytes between the end of the payload and the next attribute; null means the
    /// canonical NLA_ALIGN zero padding.</summary>
    public byte[]? Padding { get; set; }
    /// <summary>What the schema says this attribute is (null: unknown to the schema).</summary>
    public NlAttrSpec? Spec { get; set; }

    public ushort Type => (ushort)(RawType & Nl.AttrTypeMask);
    public bool IsNest => Children != null;
    public string Name => Spec?.Name ?? $"type {Type}";

    public int PayloadLength
    {
        get
        {
            int n = Data.Length + Trailing.Length;
            if (Children != null) foreach (var c in Children) n += c.EncodedLength;
            return n;
        }
    }

    public int PaddingLength => PaddingFor(PayloadLength);
    public int EncodedLength
    {
        get
        {
            int p = PayloadLength; // once: each call walks the whole subtree
            return Nl.AttrHdrLen + p + PaddingFor(p);
        }
    }

    private int PaddingFor(int payloadLength) =>
        Padding?.Length ?? Nl.Align(Nl.AttrHdrLen + payloadLength) - (Nl.AttrHdrLen + payloadLength);

    /// <summary>A leaf's payload as an <see cref="NlAttr"/>, to read it as a number or string.</summary>
    public NlAttr Value => new(RawType, Data, -1);

    /// <summary>The first child of this type, if any.</summary>
    public NlAttrNode? Child(int type) => Children?.FirstOrDefault(c => c.Type == type);

    /// <summary>The payload as the kernel sees it (header, children and trailing bytes).</summary>
    public byte[] Payload()
    {
        var w = new NlWriter(PayloadLength + 8);
        WritePayload(w);
        return w.ToArray();
    }

    internal void WritePayload(NlWriter w)
    {
        w.Append(Data);
        if (Children != null) foreach (var c in Children) c.WriteTo(w);
        w.Append(Trailing);
    }

    internal void WriteTo(NlWriter w)
    {
        int payload = PayloadLength;
        int len = Nl.AttrHdrLen + payload;
        if (len > ushort.MaxValue) throw new InvalidOperationException($"attribute {Name} is {len} bytes long: more than nla_len can hold");
        Span<byte> h = stackalloc byte[Nl.AttrHdrLen];
        BinaryPrimitives.WriteUInt16LittleEndian(h, (ushort)len);
        BinaryPrimitives.WriteUInt16LittleEndian(h[2..], RawType);
        w.Append(h);
        WritePayload(w);
        if (Padding != null) w.Append(Padding);
        else
        {
            Span<byte> zeros = stackalloc byte[Nl.AlignTo];
            zeros.Clear();
            w.Append(zeros[..PaddingFor(payload)]);
        }
    }

    public override string ToString() => NlTreeFormatter.Describe(this);
}

/// <summary>A netlink message as a lossless generic tree: the nlmsghdr, the fixed header the schema
/// gives its type (struct ifinfomsg, ...; for NLMSG_ERROR the error and the echoed request), the
/// attributes with their nested children, and anything that did not parse as raw bytes. Unknown
/// attribute types are kept with their bytes. Used to check the codec byte for byte, and to show
/// messages when debugging or tracing (<see cref="Describe"/>, <see cref="ToAnnotatedHex"/>).</summary>
public sealed class NlMessageTree
{
    public NlMsgHdr Header;
    /// <summary>The fixed header, with its NLMSG_ALIGN padding when attributes follow.</summary>
    public byte[] Fixed { get; set; } = [];
    public List<NlAttrNode> Attributes { get; set; } = new();
    /// <summary>Bytes after the last well-formed attribute.</summary>
    public byte[] Trailing { get; set; } = [];
    /// <summary>Bytes between this message and the next one of a datagram; null means the
    /// canonical NLMSG_ALIGN zero padding.</summary>
    public byte[]? Padding { get; set; }
    public NlSchema Schema { get; set; } = NlSchema.Control;

    public NlMessageSpec? Spec => Schema[Header.Type];
    public string Name => Schema.MessageName(Header.Type);

    /// <summary>nlmsg_len as <see cref="ToBytes"/> writes it.</summary>
    public int Length
    {
        get
        {
            int n = NlMsgHdr.Size + Fixed.Length + Trailing.Length;
            foreach (var a in Attributes) n += a.EncodedLength;
            return n;
        }
    }

    /// <summary>The first top-level attribute of this type, if any.</summary>
    public NlAttrNode? Attr(int type) => Attributes.FirstOrDefault(a => a.Type == type);

    /// <summary>For NLMSG_ERROR and NLMSG_DONE: the error field (0 or -errno).</summary>
    public int Error => Fixed.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(Fixed) : 0;

    /// <summary>For NLMSG_ERROR: the request the kernel echoed (only its header when capped).</summary>
    public NlMessageTree? Echoed
    {
        get
        {
            if (Header.Type != Uapi.NLMSG_ERROR || Fixed.Length < 4 + NlMsgHdr.Size) return null;
            var echoed = Fixed.AsSpan(4);
            var h = NlMsgHdr.Read(echoed);
            if ((Header.Flags & Uapi.NLM_F_CAPPED) != 0 || h.Len > echoed.Length || h.Len < NlMsgHdr.Size)
                return new NlMessageTree { Header = h, Schema = Schema, IsHeaderOnly = true };
            return Parse(echoed[..(int)h.Len], Schema);
        }
    }

    /// <summary>Set on an echoed request of which only the header is present (NLM_F_CAPPED).</summary>
    public bool IsHeaderOnly { get; private init; }

    // ---- parsing ---------------------------------------------------------------------------

    /// <summary>Parses one message: the first nlmsg_len bytes of <paramref name="msg"/>.</summary>
    public static NlMessageTree Parse(ReadOnlySpan<byte> msg, NlSchema? schema = null)
    {
        schema ??= NlSchema.Control;
        if (msg.Length < NlMsgHdr.Size) throw new FormatException($"{msg.Length} bytes cannot hold a netlink message header");
        var hdr = NlMsgHdr.Read(msg);
        if (hdr.Len < NlMsgHdr.Size || hdr.Len > msg.Length)
            throw new FormatException($"nlmsg_len {hdr.Len} does not fit the {msg.Length} bytes given");
        var payload = msg[NlMsgHdr.Size..(int)hdr.Len];
        var t = new NlMessageTree { Header = hdr, Schema = schema };
        var spec = schema[hdr.Type];
        bool attrs;
        int fixedLen;
        switch (hdr.Type)
        {
            case Uapi.NLMSG_ERROR:
            {
                // struct nlmsgerr: the error, then the request (whole, or its header when capped)
                fixedLen = Math.Min(payload.Length, 4);
                if (payload.Length >= 4 + NlMsgHdr.Size)
                {
                    uint echoed = (hdr.Flags & Uapi.NLM_F_CAPPED) != 0 ? NlMsgHdr.Size
                        : Math.Max(BinaryPrimitives.ReadUInt32LittleEndian(payload[4..]), NlMsgHdr.Size);
                    fixedLen = (int)Math.Min((uint)payload.Length, 4 + (uint)Nl.Align((int)Math.Min(echoed, int.MaxValue - 8)));
                }
                else fixedLen = payload.Length;
                attrs = (hdr.Flags & Uapi.NLM_F_ACK_TLVS) != 0;
                break;
            }
            case Uapi.NLMSG_DONE:
                fixedLen = Math.Min(payload.Length, 4);
                attrs = (hdr.Flags & Uapi.NLM_F_ACK_TLVS) != 0;
                break;
            default:
                if (spec == null || hdr.Type < Uapi.NLMSG_MIN_TYPE)
                {
                    fixedLen = payload.Length;
                    attrs = false;
                }
                else
                {
                    int h = spec.Header == null ? 0 : Nl.Align(spec.Header.Size);
                    fixedLen = Math.Min(payload.Length, h);
                    attrs = spec.Attrs != null && payload.Length >= h;
                }
                break;
        }
        t.Fixed = payload[..fixedLen].ToArray();
        var rest = payload[fixedLen..];
        if (attrs)
        {
            var space = hdr.Type is Uapi.NLMSG_ERROR or Uapi.NLMSG_DONE ? NlSchema.ExtAckAttrs : spec!.Attrs;
            t.Attributes = ParseAttrs(rest, space, out int used);
            t.Trailing = rest[used..].ToArray();
        }
        else t.Trailing = rest.ToArray();
        return t;
    }

    /// <summary>Parses the messages of a datagram as netlink_rcv_skb walks them: it stops at a header
    /// shorter than 16 bytes or whose nlmsg_len is below 16 or past the end; those bytes are
    /// returned in <paramref name="trailing"/>.</summary>
    public static List<NlMessageTree> ParseDatagram(ReadOnlySpan<byte> datagram, NlSchema? schema, out byte[] trailing)
    {
        var list = new List<NlMessageTree>();
        int pos = 0;
        while (datagram.Length - pos >= NlMsgHdr.Size)
        {
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(datagram[pos..]);
            if (len < NlMsgHdr.Size || len > datagram.Length - pos) break;
            var m = Parse(datagram.Slice(pos, (int)len), schema);
            int next = Math.Min(pos + Nl.Align((int)len), datagram.Length);
            var pad = datagram[(pos + (int)len)..next];
            if (pad.Length != Nl.Align((int)len) - (int)len || pad.ContainsAnyExcept((byte)0)) m.Padding = pad.ToArray();
            list.Add(m);
            pos = next;
        }
        trailing = datagram[pos..].ToArray();
        return list;
    }

    /// <summary>Parses a stream of attributes (nla_for_each_attr); <paramref name="used"/> is where
    /// the first malformed header starts, or the end.</summary>
    public static List<NlAttrNode> ParseAttrs(ReadOnlySpan<byte> buf, NlAttrSpace? space, out int used)
    {
        var list = new List<NlAttrNode>();
        int pos = 0;
        while (buf.Length - pos >= Nl.AttrHdrLen)
        {
            ushort len = BinaryPrimitives.ReadUInt16LittleEndian(buf[pos..]);
            if (len < Nl.AttrHdrLen || len > buf.Length - pos) break;
            ushort rawType = BinaryPrimitives.ReadUInt16LittleEndian(buf[(pos + 2)..]);
            var payload = buf.Slice(pos + Nl.AttrHdrLen, len - Nl.AttrHdrLen);
            var node = ParseNode(rawType, payload, space, list);
            int next = Math.Min(pos + Nl.Align(len), buf.Length);
            var pad = buf[(pos + len)..next];
            if (pad.Length != Nl.Align(len) - len || pad.ContainsAnyExcept((byte)0)) node.Padding = pad.ToArray();
            list.Add(node);
            pos = next;
        }
        used = pos;
        return list;
    }

    private static NlAttrNode ParseNode(ushort rawType, ReadOnlySpan<byte> payload, NlAttrSpace? space, List<NlAttrNode> siblings)
    {
        int type = rawType & Nl.AttrTypeMask;
        var spec = space?[type];
        var node = new NlAttrNode { RawType = rawType, Spec = spec };
        NlAttrSpace? childSpace = null;
        NlStruct? header = null;
        bool nest;
        bool strictShape; // a guess from NLA_F_NESTED must parse cleanly to be believed
        switch (spec?.Kind)
        {
            case NlValueKind.Nested:
            case NlValueKind.NestedArray:
                nest = true;
                strictShape = false;
                childSpace = spec.Space;
                header = spec.Header;
                break;
            case NlValueKind.SubMessage:
            {
                var sel = siblings.LastOrDefault(s => s.Type == spec.Selector && s.Children == null);
                string? key = sel == null ? null : StringValue(sel.Data);
                if (key != null && spec.Selected != null && spec.Selected.TryGetValue(key, out var sp))
                {
                    childSpace = sp;
                    nest = true;
                    strictShape = false;
                }
                else
                {
                    nest = true;
                    strictShape = true;
                }
                break;
            }
            case null:
                nest = (rawType & Nl.AttrFNested) != 0;
                strictShape = true;
                break;
            default:
                nest = false;
                strictShape = false;
                break;
        }
        int h = header?.Size ?? 0;
        if (nest && payload.Length >= h)
        {
            List<NlAttrNode> children;
            int used;
            if (spec?.Kind == NlValueKind.NestedArray)
            {
                // each entry is a nest of the element space, indexed by its type
                children = ParseAttrs(payload[h..], null, out used);
                foreach (var entry in children) ReparseAsNest(entry, childSpace);
            }
            else children = ParseAttrs(payload[h..], childSpace, out used);
            if (!strictShape || (used == payload.Length - h && children.Count > 0))
            {
                node.Data = payload[..h].ToArray();
                node.Children = children;
                node.Trailing = payload[(h + used)..].ToArray();
                return node;
            }
        }
        node.Data = payload.ToArray();
        return node;
    }

    private static void ReparseAsNest(NlAttrNode entry, NlAttrSpace? space)
    {
        var payload = entry.Payload();
        var children = ParseAttrs(payload, space, out int used);
        entry.Data = [];
        entry.Children = children;
        entry.Trailing = payload[used..];
        entry.Spec = new NlAttrSpec($"[{entry.Type}]", NlValueKind.Nested) { Space = space };
    }

    internal static string? StringValue(ReadOnlySpan<byte> data)
    {
        int nul = data.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(nul >= 0 ? data[..nul] : data);
    }

    // ---- emitting --------------------------------------------------------------------------

    /// <summary>The message's bytes, nlmsg_len recomputed (padding after the message not included).</summary>
    public byte[] ToBytes()
    {
        var w = new NlWriter(Length + 8);
        WriteTo(w);
        return w.ToArray();
    }

    /// <summary>Appends the message to <paramref name="w"/> (without the padding that separates it from the next).</summary>
    public void WriteTo(NlWriter w)
    {
        var h = Header;
        h.Len = (uint)Length;
        Span<byte> hb = stackalloc byte[NlMsgHdr.Size];
        h.Write(hb);
        w.Append(hb);
        w.Append(Fixed);
        foreach (var a in Attributes) a.WriteTo(w);
        w.Append(Trailing);
    }

    /// <summary>The datagram holding <paramref name="messages"/> and then <paramref name="trailing"/>.</summary>
    public static byte[] ToDatagram(IReadOnlyList<NlMessageTree> messages, ReadOnlySpan<byte> trailing = default)
    {
        var w = new NlWriter(8192);
        ReadOnlySpan<byte> zeros = [0, 0, 0, 0];
        foreach (var m in messages)
        {
            m.WriteTo(w);
            int len = m.Length;
            w.Append(m.Padding ?? zeros[..(Nl.Align(len) - len)]);
        }
        w.Append(trailing);
        return w.ToArray();
    }

    // ---- showing ---------------------------------------------------------------------------

    /// <summary>A readable multi-line description (names, values, nesting), for logs and traces.</summary>
    public string Describe() => NlTreeFormatter.Describe(this);

    /// <summary>The message as C# byte-array lines with a comment naming each field and attribute, in
    /// the style of rust-netlink's tests (`0x07, 0x00, 0x03, 0x00, // IFLA_IFNAME`).</summary>
    public string ToAnnotatedHex(string indent = "") => NlTreeFormatter.AnnotatedHex(this, indent);

    public override string ToString() => Describe();
}
