using System.Buffers.Binary;

namespace VirtKernel.Protocol.Netlink;

/// <summary>struct nlmsghdr (include/uapi/linux/netlink.h): 16 bytes, host byte order.</summary>
public struct NlMsgHdr
{
    public const int Size = 16;
    public uint Len;
    public ushort Type;
    public ushort Flags;
    public uint Seq;
    public uint Pid;

    public static NlMsgHdr Read(ReadOnlySpan<byte> b) => new()
    {
        Len = BinaryPrimitives.ReadUInt32LittleEndian(b),
        Type = BinaryPrimitives.ReadUInt16LittleEndian(b[4..]),
        Flags = BinaryPrimitives.ReadUInt16LittleEndian(b[6..]),
        Seq = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]),
        Pid = BinaryPrimitives.ReadUInt32LittleEndian(b[12..]),
    };

    public readonly void Write(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(b, Len);
        BinaryPrimitives.WriteUInt16LittleEndian(b[4..], Type);
        BinaryPrimitives.WriteUInt16LittleEndian(b[6..], Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], Seq);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], Pid);
    }
}

public static class Nl
{
    public const int AlignTo = 4;
    /// <summary>NLMSG_ALIGN / NLA_ALIGN.</summary>
    public static int Align(int len) => (len + AlignTo - 1) & ~(AlignTo - 1);
    public const int AttrHdrLen = 4; // NLA_HDRLEN
    public const ushort AttrFNested = 0x8000;     // NLA_F_NESTED
    public const ushort AttrFNetByteOrder = 0x4000; // NLA_F_NET_BYTEORDER
    public const ushort AttrTypeMask = 0x3fff;    // NLA_TYPE_MASK
}
