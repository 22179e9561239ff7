using System.Buffers.Binary;
using System.Text;

namespace VirtKernel.Protocol.Netlink;

/// <summary>One attribute as found in a message: its type (flags stripped), payload and its
/// offset from the start of the netlink message (for NLMSGERR_ATTR_OFFS).</summary>
public readonly ref struct NlAttr
{
    public readonly ushort RawType;
    public readonly ReadOnlySpan<byte> Payload;
    public readonly int Offset;

    public NlAttr(ushort rawType, ReadOnlySpan<byte> payload, int offset)
    {
        RawType = rawType; Payload = payload; Offset = offset;
    }

    public ushort Type => (ushort)(RawType & Nl.AttrTypeMask);
    public bool IsNestedFlag => (RawType & Nl.AttrFNested) != 0;
    public int Length => Payload.Length;

    public byte U8 => Payload[0];
    public ushort U16 => BinaryPrimitives.ReadUInt16LittleEndian(Payload);
    public uint U32 => BinaryPrimitives.ReadUInt32LittleEndian(Payload);
    public int S32 => BinaryPrimitives.ReadInt32LittleEndian(Payload);
    public ulong U64 => BinaryPrimitives.ReadUInt64LittleEndian(Payload);
    public ushort Be16 => BinaryPrimitives.ReadUInt16BigEndian(Payload);
    public uint Be32 => BinaryPrimitives.ReadUInt32BigEndian(Payload);

    /// <summary>nla_strscpy semantics: the bytes up to the first NUL (or the whole payload).</summary>
    public string String
    {
        get
        {
            var p = Payload;
            int nul = p.IndexOf((byte)0);
            if (nul >= 0) p = p[..nul];
            return Encoding.UTF8.GetString(p);
        }
    }

    /// <summary>Iterates the attributes nested in this one.</summary>
    public NlAttrIterator Nested => new(Payload, Offset + Nl.AttrHdrLen);
}

/// <summary>nla_for_each_attr: walks a stream of attributes. Stops at the first malformed
/// header (length below 4 or past the end); <see cref="Remaining"/> tells how many bytes were
/// left unparsed.</summary>
public ref struct NlAttrIterator
{
    private readonly ReadOnlySpan<byte> _buf;
    private readonly int _base;
    private int _pos;
    private NlAttr _current;

    public NlAttrIterator(ReadOnlySpan<byte> buf, int baseOffset)
    {
        _buf = buf; _base = baseOffset; _pos = 0; _current = default;
    }

    public readonly NlAttr Current => _current;
    public readonly NlAttrIterator GetEnumerator() => this;

    /// <summary>Bytes not consumed by well-formed attributes (the kernel's `rem`).</summary>
    public readonly int Remaining => _buf.Length - _pos;

    public bool MoveNext()
    {
        // nla_ok(): rem >= sizeof(*nla) && nla->nla_len >= sizeof(*nla) && nla->nla_len <= rem
        int rem = _buf.Length - _pos;
        if (rem < Nl.AttrHdrLen) return false;
        ushort len = BinaryPrimitives.ReadUInt16LittleEndian(_buf[_pos..]);
        if (len < Nl.AttrHdrLen || len > rem) return false;
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(_buf[(_pos + 2)..]);
        _current = new NlAttr(type, _buf.Slice(_pos + Nl.AttrHdrLen, len - Nl.AttrHdrLen), _base + _pos);
        _pos += Nl.Align(len);
        if (_pos > _buf.Length) _pos = _buf.Length;
        return true;
    }
}
