using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;

namespace VirtKernel.Protocol.Netlink;

/// <summary>Shows a <see cref="NlMessageTree"/>: as an indented description, or as annotated hex
/// (C# byte-array lines, one field or attribute per line, with its name and value).</summary>
public static class NlTreeFormatter
{
    private const int BytesPerLine = 16;

    private static readonly Dictionary<int, string> ErrnoNames = typeof(Errno)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral)
        .GroupBy(f => Convert.ToInt32(f.GetRawConstantValue()))
        .ToDictionary(g => g.Key, g => g.First().Name);

    /// <summary>"-34 (ERANGE)".</summary>
    public static string ErrnoText(int err) =>
        err < 0 && ErrnoNames.TryGetValue(-err, out var n) ? $"{err} ({n})" : err.ToString(CultureInfo.InvariantCulture);

    /// <summary>nlmsg_flags by name; the high byte depends on the message (ACK vs NEW/DEL/GET request).</summary>
    public static string FlagsText(NlMessageTree m)
    {
        int f = m.Header.Flags;
        var names = new List<string>();
        void Bit(int bit, string name)
        {
            if ((f & bit) == 0) return;
            names.Add(name);
            f &= ~bit;
        }
        Bit(Uapi.NLM_F_REQUEST, nameof(Uapi.NLM_F_REQUEST));
        Bit(Uapi.NLM_F_MULTI, nameof(Uapi.NLM_F_MULTI));
        Bit(Uapi.NLM_F_ACK, nameof(Uapi.NLM_F_ACK));
        Bit(Uapi.NLM_F_ECHO, nameof(Uapi.NLM_F_ECHO));
        Bit(Uapi.NLM_F_DUMP_INTR, nameof(Uapi.NLM_F_DUMP_INTR));
        Bit(Uapi.NLM_F_DUMP_FILTERED, nameof(Uapi.NLM_F_DUMP_FILTERED));
        if (m.Header.Type is Uapi.NLMSG_ERROR or Uapi.NLMSG_DONE)
        {
            Bit(Uapi.NLM_F_CAPPED, nameof(Uapi.NLM_F_CAPPED));
            Bit(Uapi.NLM_F_ACK_TLVS, nameof(Uapi.NLM_F_ACK_TLVS));
        }
        else if ((m.Header.Flags & Uapi.NLM_F_REQUEST) != 0)
        {
            switch (m.Spec?.Op)
            {
                case NlOperation.New:
                    Bit(Uapi.NLM_F_REPLACE, nameof(Uapi.NLM_F_REPLACE));
                    Bit(Uapi.NLM_F_EXCL, nameof(Uapi.NLM_F_EXCL));
                    Bit(Uapi.NLM_F_CREATE, nameof(Uapi.NLM_F_CREATE));
                    Bit(Uapi.NLM_F_APPEND, nameof(Uapi.NLM_F_APPEND));
                    break;
                case NlOperation.Del:
                    Bit(Uapi.NLM_F_NONREC, nameof(Uapi.NLM_F_NONREC));
                    Bit(Uapi.NLM_F_BULK, nameof(Uapi.NLM_F_BULK));
                    break;
                case NlOperation.Get:
                    Bit(Uapi.NLM_F_DUMP, nameof(Uapi.NLM_F_DUMP));
                    Bit(Uapi.NLM_F_ROOT, nameof(Uapi.NLM_F_ROOT));
                    Bit(Uapi.NLM_F_MATCH, nameof(Uapi.NLM_F_MATCH));
                    Bit(Uapi.NLM_F_ATOMIC, nameof(Uapi.NLM_F_ATOMIC));
                    break;
            }
        }
        if (f != 0) names.Add($"0x{f:x}");
        return names.Count == 0 ? "0" : string.Join('|', names);
    }

    /// <summary>A value of the given kind, or null when the bytes do not have its size.</summary>
    public static string? FormatValue(NlValueKind kind, ReadOnlySpan<byte> b)
    {
        var ci = CultureInfo.InvariantCulture;
        switch (kind)
        {
            case NlValueKind.U8 when b.Length == 1: return b[0].ToString(ci);
            case NlValueKind.S8 when b.Length == 1: return ((sbyte)b[0]).ToString(ci);
            case NlValueKind.X8 when b.Length == 1: return $"0x{b[0]:x}";
            case NlValueKind.U16 when b.Length == 2: return BinaryPrimitives.ReadUInt16LittleEndian(b).ToString(ci);
            case NlValueKind.S16 when b.Length == 2: return BinaryPrimitives.ReadInt16LittleEndian(b).ToString(ci);
            case NlValueKind.X16 when b.Length == 2: return $"0x{BinaryPrimitives.ReadUInt16LittleEndian(b):x}";
            case NlValueKind.U32 when b.Length == 4: return BinaryPrimitives.ReadUInt32LittleEndian(b).ToString(ci);
            case NlValueKind.S32 when b.Length == 4: return BinaryPrimitives.ReadInt32LittleEndian(b).ToString(ci);
            case NlValueKind.X32 when b.Length == 4: return $"0x{BinaryPrimitives.ReadUInt32LittleEndian(b):x}";
            case NlValueKind.U64 when b.Length == 8: return BinaryPrimitives.ReadUInt64LittleEndian(b).ToString(ci);
            case NlValueKind.S64 when b.Length == 8: return BinaryPrimitives.ReadInt64LittleEndian(b).ToString(ci);
            case NlValueKind.Be16 when b.Length == 2: return BinaryPrimitives.ReadUInt16BigEndian(b).ToString(ci);
            case NlValueKind.Be32 when b.Length == 4: return BinaryPrimitives.ReadUInt32BigEndian(b).ToString(ci);
            case NlValueKind.Flag when b.Length == 0: return "(flag)";
            case NlValueKind.String: return Quote(b);
            case NlValueKind.InetAddr when b.Length is 4 or 16: return new IPAddress(b).ToString();
            case NlValueKind.LinkAddr when b.Length > 0: return string.Join(':', b.ToArray().Select(x => x.ToString("x2", ci)));
            case NlValueKind.Binary: return $"{b.Length} bytes";
            default: return null;
        }
    }

    private static string Quote(ReadOnlySpan<byte> b)
    {
        var sb = new StringBuilder("\"");
        int end = b.Length;
        if (end > 0 && b[end - 1] == 0) end--; // the terminating NUL is not shown
        for (int i = 0; i < end; i++)
        {
            byte c = b[i];
            if (c == '"' || c == '\\') sb.Append('\\').Append((char)c);
            else if (c >= 0x20 && c < 0x7f) sb.Append((char)c);
            else sb.Append($"\\x{c:x2}");
        }
        sb.Append('"');
        if (end == b.Length && b.Length > 0) sb.Append(" (no NUL)");
        return sb.ToString();
    }

    private static string Hex(ReadOnlySpan<byte> b) => Convert.ToHexString(b).ToLowerInvariant();

    private static string FieldText(NlField f, ReadOnlySpan<byte> b)
    {
        return $"{f.Name} = {FormatValue(f.Kind, b) ?? Hex(b)}";
    }

    private static string AttrHeaderText(NlAttrNode a)
    {
        var sb = new StringBuilder(a.Name);
        if ((a.RawType & Nl.AttrFNested) != 0) sb.Append(" | NLA_F_NESTED");
        if ((a.RawType & Nl.AttrFNetByteOrder) != 0) sb.Append(" | NLA_F_NET_BYTEORDER");
        return sb.ToString();
    }

    private static string LeafText(NlAttrNode a)
    {
        var kind = a.Spec?.Kind ?? NlValueKind.Binary;
        return FormatValue(kind, a.Data) ?? $"{a.Data.Length} bytes";
    }

    // ---- description ----------------------------------------------------------------------

    public static string Describe(NlMessageTree m)
    {
        var sb = new StringBuilder();
        Describe(m, sb, 0);
        return sb.ToString();
    }

    public static string Describe(NlAttrNode a)
    {
        var sb = new StringBuilder();
        Describe(a, sb, 0);
        return sb.ToString();
    }

    private static void Line(StringBuilder sb, int depth, string text) => sb.Append(' ', depth * 2).Append(text).Append('\n');

    private static void Describe(NlMessageTree m, StringBuilder sb, int depth)
    {
        var h = m.Header;
        Line(sb, depth, $"{m.Name} len {h.Len} flags {FlagsText(m)} seq {h.Seq} pid {h.Pid}");
        DescribeFixed(m, sb, depth + 1);
        foreach (var a in m.Attributes) Describe(a, sb, depth + 1);
        if (m.Trailing.Length > 0) Line(sb, depth + 1, $"trailing {m.Trailing.Length} bytes: {Hex(m.Trailing)}");
    }

    private static void DescribeFixed(NlMessageTree m, StringBuilder sb, int depth)
    {
        var f = m.Fixed;
        if (f.Length == 0) return;
        if (m.Header.Type is Uapi.NLMSG_ERROR or Uapi.NLMSG_DONE)
        {
            Line(sb, depth, f.Length >= 4 ? $"error {ErrnoText(m.Error)}" : $"short: {Hex(f)}");
            if (m.Echoed is { } e)
            {
                if (e.IsHeaderOnly) Line(sb, depth, $"request header: {e.Name} len {e.Header.Len} flags {FlagsText(e)} seq {e.Header.Seq} pid {e.Header.Pid}");
                else
                {
                    Line(sb, depth, "request:");
                    Describe(e, sb, depth + 1);
                }
            }
            return;
        }
        var st = m.Spec?.Header;
        if (st != null && f.Length >= st.Size)
        {
            int off = 0;
            var parts = new List<string>();
            foreach (var fld in st.Fields)
            {
                parts.Add(FieldText(fld, f.AsSpan(off, fld.Size)));
                off += fld.Size;
            }
            Line(sb, depth, $"{st.Name}: {string.Join(", ", parts)}");
        }
        else Line(sb, depth, $"fixed header {f.Length} bytes: {Hex(f)}");
    }

    private static void Describe(NlAttrNode a, StringBuilder sb, int depth)
    {
        if (a.Children == null)
        {
            Line(sb, depth, $"{AttrHeaderText(a)}: {LeafText(a)}");
            return;
        }
        Line(sb, depth, AttrHeaderText(a));
        if (a.Data.Length > 0)
        {
            var st = a.Spec?.Header;
            if (st != null && a.Data.Length == st.Size)
            {
                int off = 0;
                var parts = new List<string>();
                foreach (var fld in st.Fields)
                {
                    parts.Add(FieldText(fld, a.Data.AsSpan(off, fld.Size)));
                    off += fld.Size;
                }
                Line(sb, depth + 1, $"{st.Name}: {string.Join(", ", parts)}");
            }
            else Line(sb, depth + 1, $"header {Hex(a.Data)}");
        }
        foreach (var c in a.Children) Describe(c, sb, depth + 1);
        if (a.Trailing.Length > 0) Line(sb, depth + 1, $"trailing {a.Trailing.Length} bytes: {Hex(a.Trailing)}");
    }

    // ---- annotated hex ----------------------------------------------------------------------

    private sealed class HexLines(string indent)
    {
        private readonly List<(List<byte> Bytes, string? Comment, int Depth)> _lines = new();

        public void Add(ReadOnlySpan<byte> b, string? comment, int depth)
        {
            if (b.Length == 0)
            {
                if (comment != null) _lines.Add((new List<byte>(), comment, depth));
                return;
            }
            for (int i = 0; i < b.Length; i += BytesPerLine)
            {
                var chunk = b.Slice(i, Math.Min(BytesPerLine, b.Length - i));
                _lines.Add((new List<byte>(chunk.ToArray()), i == 0 ? comment : null, depth));
            }
        }

        /// <summary>Appends bytes to the last line (padding after a value).</summary>
        public void Append(ReadOnlySpan<byte> b, int depth)
        {
            if (b.Length == 0) return;
            if (_lines.Count > 0 && _lines[^1].Bytes.Count + b.Length <= BytesPerLine + Nl.AlignTo && _lines[^1].Bytes.Count > 0)
                _lines[^1].Bytes.AddRange(b.ToArray());
            else Add(b, "padding", depth);
        }

        public override string ToString()
        {
            var sb = new StringBuilder();
            foreach (var (bytes, comment, depth) in _lines)
            {
                sb.Append(indent).Append(' ', depth * 4);
                sb.Append(string.Join(' ', bytes.Select(x => $"0x{x:x2},")));
                if (comment != null)
                {
                    if (bytes.Count > 0) sb.Append(' ');
                    sb.Append("// ").Append(comment);
                }
                sb.Append('\n');
            }
            return sb.ToString();
        }
    }

    public static string AnnotatedHex(NlMessageTree m, string indent = "")
    {
        var o = new HexLines(indent);
        Annotate(m, o, 0);
        return o.ToString();
    }

    private static void Annotate(NlMessageTree m, HexLines o, int depth)
    {
        var hb = new byte[NlMsgHdr.Size];
        var h = m.Header;
        if (!m.IsHeaderOnly) h.Len = (uint)m.Length;
        h.Write(hb);
        o.Add(hb.AsSpan(0, 4), $"nlmsg_len = {h.Len}", depth);
        o.Add(hb.AsSpan(4, 2), $"nlmsg_type = {m.Name}", depth);
        o.Add(hb.AsSpan(6, 2), $"nlmsg_flags = {FlagsText(m)}", depth);
        o.Add(hb.AsSpan(8, 4), $"nlmsg_seq = {h.Seq}", depth);
        o.Add(hb.AsSpan(12, 4), $"nlmsg_pid = {h.Pid}", depth);
        if (m.IsHeaderOnly) return;
        AnnotateFixed(m, o, depth);
        foreach (var a in m.Attributes) Annotate(a, o, depth);
        if (m.Trailing.Length > 0) o.Add(m.Trailing, $"trailing bytes ({m.Trailing.Length})", depth);
    }

    private static void AnnotateFixed(NlMessageTree m, HexLines o, int depth)
    {
        var f = m.Fixed;
        if (f.Length == 0) return;
        if (m.Header.Type is Uapi.NLMSG_ERROR or Uapi.NLMSG_DONE)
        {
            if (f.Length < 4)
            {
                o.Add(f, "short error field", depth);
                return;
            }
            o.Add(f.AsSpan(0, 4), $"error = {ErrnoText(m.Error)}", depth);
            int used = 4;
            if (m.Echoed is { } e)
            {
                o.Add([], e.IsHeaderOnly ? "the request's header:" : "the request:", depth);
                Annotate(e, o, depth + 1);
                used += e.IsHeaderOnly ? NlMsgHdr.Size : e.Length;
            }
            if (used < f.Length) o.Add(f.AsSpan(used), used == 4 ? "echoed bytes" : "padding", depth);
            return;
        }
        var st = m.Spec?.Header;
        if (st != null && f.Length >= st.Size)
        {
            AnnotateStruct(st, f.AsSpan(0, st.Size), o, depth);
            if (f.Length > st.Size) o.Add(f.AsSpan(st.Size), "padding", depth);
        }
        else o.Add(f, $"fixed header ({f.Length} bytes)", depth);
    }

    private static void AnnotateStruct(NlStruct st, ReadOnlySpan<byte> b, HexLines o, int depth)
    {
        int off = 0;
        foreach (var fld in st.Fields)
        {
            o.Add(b.Slice(off, fld.Size), $"{st.Name}.{FieldText(fld, b.Slice(off, fld.Size))}", depth);
            off += fld.Size;
        }
    }

    private static void Annotate(NlAttrNode a, HexLines o, int depth)
    {
        var hb = new byte[Nl.AttrHdrLen];
        BinaryPrimitives.WriteUInt16LittleEndian(hb, (ushort)(Nl.AttrHdrLen + a.PayloadLength));
        BinaryPrimitives.WriteUInt16LittleEndian(hb.AsSpan(2), a.RawType);
        string head = $"{AttrHeaderText(a)}, len {Nl.AttrHdrLen + a.PayloadLength}";
        var pad = a.Padding ?? new byte[a.PaddingLength];
        if (a.Children == null)
        {
            if (a.Data.Length == 0)
            {
                o.Add(hb, $"{head}: {LeafText(a)}", depth);
                o.Append(pad, depth);
                return;
            }
            o.Add(hb, head, depth);
            o.Add(a.Data, LeafText(a), depth + 1);
            o.Append(pad, depth + 1);
            return;
        }
        o.Add(hb, head, depth);
        if (a.Data.Length > 0)
        {
            var st = a.Spec?.Header;
            if (st != null && a.Data.Length == st.Size) AnnotateStruct(st, a.Data, o, depth + 1);
            else o.Add(a.Data, "header", depth + 1);
        }
        foreach (var c in a.Children) Annotate(c, o, depth + 1);
        if (a.Trailing.Length > 0) o.Add(a.Trailing, $"trailing bytes ({a.Trailing.Length})", depth + 1);
        if (pad.Length > 0) o.Add(pad, "padding", depth);
    }
}
