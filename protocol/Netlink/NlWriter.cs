using System.Buffers.Binary;
using System.Text;

namespace VirtKernel.Protocol.Netlink;

/// <summary>Builds netlink messages into a growable buffer: nlmsg_put / nla_put_* / nla_nest_start
/// and nla_nest_end, with tokens that patch lengths like Tmds.DBus's array writer. One writer
/// usually holds one datagram (several messages for a dump).</summary>
public sealed class NlWriter
{
    private byte[] _buf;
    private int _len;

    public NlWriter(int capacity = 8192) => _buf = new byte[capacity];

    public int Length => _len;
    public ReadOnlySpan<byte> Span => _buf.AsSpan(0, _len);
    public ReadOnlyMemory<byte> Memory => _buf.AsMemory(0, _len);
    public byte[] ToArray() => _buf.AsSpan(0, _len).ToArray();
    public void Clear() => _len = 0;

    /// <summary>Drops everything written from <paramref name="offset"/> on (nlmsg_cancel / nla_nest_cancel).</summary>
    public void Truncate(int offset) => _len = offset;

    private Span<byte> Grow(int n)
    {
        int need = _len + n;
        if (need > _buf.Length)
        {
            int cap = Math.Max(need, _buf.Length * 2);
            Array.Resize(ref _buf, cap);
        }
        var s = _buf.AsSpan(_len, n);
        _len = need;
        return s;
    }

    /// <summary>Appends <paramref name="n"/> zeroed bytes padded to 4 and returns them (nlmsg_data / nla_reserve_nohdr).</summary>
    public Span<byte> Reserve(int n)
    {
        int total = Nl.Align(n);
        var s = Grow(total);
        s.Clear();
        return s[..n];
    }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Grow(bytes.Length));
    }

    /// <summary>nlmsg_put: starts a message; returns its start offset for <see cref="EndMessage"/>.</summary>
    public int BeginMessage(int type, int flags, uint seq, uint pid)
    {
        int start = _len;
        var h = Grow(NlMsgHdr.Size);
        new NlMsgHdr { Len = 0, Type = (ushort)type, Flags = (ushort)flags, Seq = seq, Pid = pid }.Write(h);
        return start;
    }

    /// <summary>nlmsg_end: patches nlmsg_len.</summary>
    public void EndMessage(int start)
    {
        // pad the tail (attributes are already padded; a fixed header may not be)
        int aligned = Nl.Align(_len);
        if (aligned != _len) Grow(aligned - _len).Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(_buf.AsSpan(start), (uint)(_len - start));
    }

    public void SetMessageFlags(int start, int flags) =>
        BinaryPrimitives.WriteUInt16LittleEndian(_buf.AsSpan(start + 6), (ushort)flags);

    public ushort GetMessageFlags(int start) => BinaryPrimitives.ReadUInt16LittleEndian(_buf.AsSpan(start + 6));

    private Span<byte> PutHeader(int type, int payloadLen)
    {
        int total = Nl.Align(Nl.AttrHdrLen + payloadLen);
        var s = Grow(total);
        BinaryPrimitives.WriteUInt16LittleEndian(s, (ushort)(Nl.AttrHdrLen + payloadLen));
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], (ushort)type);
        // zero the padding
        if (total > Nl.AttrHdrLen + payloadLen) s[(Nl.AttrHdrLen + payloadLen)..].Clear();
        return s.Slice(Nl.AttrHdrLen, payloadLen);
    }

    public void PutFlag(int type) => PutHeader(type, 0);
    public void PutU8(int type, byte v) => PutHeader(type, 1)[0] = v;
    public void PutU16(int type, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(PutHeader(type, 2), v);
    public void PutU32(int type, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(PutHeader(type, 4), v);
    public void PutS32(int type, int v) => BinaryPrimitives.WriteInt32LittleEndian(PutHeader(type, 4), v);
    public void PutU64(int type, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(PutHeader(type, 8), v);
    public void PutBe16(int type, ushort v) => BinaryPrimitives.WriteUInt16BigEndian(PutHeader(type, 2), v);
    public void PutBe32(int type, uint v) => BinaryPrimitives.WriteUInt32BigEndian(PutHeader(type, 4), v);
    public void PutBytes(int type, ReadOnlySpan<byte> v) => v.CopyTo(PutHeader(type, v.Length));

    /// <summary>nla_put_string: the string plus its terminating NUL.</summary>
    public void PutString(int type, string v)
    {
        int n = Encoding.UTF8.GetByteCount(v);
        var s = PutHeader(type, n + 1);
        Encoding.UTF8.GetBytes(v, s);
        s[n] = 0;
    }

    /// <summary>nla_put_u64_64bit. The kernel aligns a 64-bit payload with a <paramref name="padType"/>
    /// attribute only where unaligned access is slow (nla_need_padding_for_64bit); x86_64 and arm64
    /// have CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS and never pad, so neither does VirtKernel (the
    /// real kernel's messages hold no IFLA_PAD). The pad type is kept to read like the kernel call.</summary>
    public void PutU64Aligned(int type, ulong v, int padType)
    {
        _ = padType;
        PutU64(type, v);
    }

    /// <summary>nla_reserve_64bit with an arbitrary payload (e.g. struct rtnl_link_stats64); no pad
    /// attribute, as <see cref="PutU64Aligned"/>.</summary>
    public Span<byte> ReserveAligned64(int type, int len, int padType)
    {
        _ = padType;
        var s = PutHeader(type, len);
        s.Clear();
        return s;
    }

    /// <summary>nla_reserve: an attribute with a zeroed payload to be filled by the caller.</summary>
    public Span<byte> ReserveAttr(int type, int len)
    {
        var s = PutHeader(type, len);
        s.Clear();
        return s;
    }

    /// <summary>nla_nest_start (with NLA_F_NESTED) or nla_nest_start_noflag.</summary>
    public int BeginNest(int type, bool nestedFlag = false)
    {
        int start = _len;
        var s = Grow(Nl.AttrHdrLen);
        BinaryPrimitives.WriteUInt16LittleEndian(s, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(s[2..], (ushort)(nestedFlag ? type | Nl.AttrFNested : type));
        return start;
    }

    /// <summary>nla_nest_end: patches the nest's length.</summary>
    public void EndNest(int start)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_buf.AsSpan(start), (ushort)(_len - start));
    }

    /// <summary>Direct access to bytes already written (to patch a fixed header).</summary>
    public Span<byte> At(int offset, int len) => _buf.AsSpan(offset, len);
}
