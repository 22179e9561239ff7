using System.Buffers.Binary;

namespace VirtKernel.Protocol.Rtnetlink;

/// <summary>struct ifinfomsg (16 bytes): the fixed header of RTM_*LINK.</summary>
public struct IfInfoMsg
{
    public const int Size = 16;
    public byte Family;
    public ushort Type;   // ifi_type: ARPHRD_*
    public int Index;     // ifi_index
    public uint Flags;    // ifi_flags: IFF_*
    public uint Change;   // ifi_change

    public static IfInfoMsg Read(ReadOnlySpan<byte> b) => new()
    {
        Family = b[0],
        Type = BinaryPrimitives.ReadUInt16LittleEndian(b[2..]),
        Index = BinaryPrimitives.ReadInt32LittleEndian(b[4..]),
        Flags = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]),
        Change = BinaryPrimitives.ReadUInt32LittleEndian(b[12..]),
    };

    public readonly void Write(Span<byte> b)
    {
        b[0] = Family; b[1] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(b[2..], Type);
        BinaryPrimitives.WriteInt32LittleEndian(b[4..], Index);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], Change);
    }
}

/// <summary>struct ifaddrmsg (8 bytes): the fixed header of RTM_*ADDR.</summary>
public struct IfAddrMsg
{
    public const int Size = 8;
    public byte Family, PrefixLen, Flags, Scope;
    public uint Index;

    public static IfAddrMsg Read(ReadOnlySpan<byte> b) => new()
    {
        Family = b[0], PrefixLen = b[1], Flags = b[2], Scope = b[3],
        Index = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]),
    };

    public readonly void Write(Span<byte> b)
    {
        b[0] = Family; b[1] = PrefixLen; b[2] = Flags; b[3] = Scope;
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], Index);
    }
}

/// <summary>struct rtmsg (12 bytes): the fixed header of RTM_*ROUTE.</summary>
public struct RtMsg
{
    public const int Size = 12;
    public byte Family, DstLen, SrcLen, Tos, Table, Protocol, Scope, Type;
    public uint Flags;

    public static RtMsg Read(ReadOnlySpan<byte> b) => new()
    {
        Family = b[0], DstLen = b[1], SrcLen = b[2], Tos = b[3], Table = b[4], Protocol = b[5], Scope = b[6], Type = b[7],
        Flags = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]),
    };

    public readonly void Write(Span<byte> b)
    {
        b[0] = Family; b[1] = DstLen; b[2] = SrcLen; b[3] = Tos; b[4] = Table; b[5] = Protocol; b[6] = Scope; b[7] = Type;
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], Flags);
    }
}

/// <summary>struct ndmsg (12 bytes): the fixed header of RTM_*NEIGH.</summary>
public struct NdMsg
{
    public const int Size = 12;
    public byte Family;
    public int Ifindex;
    public ushort State; // NUD_*
    public byte Flags;   // NTF_*
    public byte Type;    // RTN_*

    public static NdMsg Read(ReadOnlySpan<byte> b) => new()
    {
        Family = b[0],
        Ifindex = BinaryPrimitives.ReadInt32LittleEndian(b[4..]),
        State = BinaryPrimitives.ReadUInt16LittleEndian(b[8..]),
        Flags = b[10], Type = b[11],
    };

    public readonly void Write(Span<byte> b)
    {
        b[0] = Family; b[1] = 0; b[2] = 0; b[3] = 0;
        BinaryPrimitives.WriteInt32LittleEndian(b[4..], Ifindex);
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], State);
        b[10] = Flags; b[11] = Type;
    }
}

/// <summary>struct fib_rule_hdr (12 bytes): the fixed header of RTM_*RULE.</summary>
public struct FibRuleHdr
{
    public const int Size = 12;
    public byte Family, DstLen, SrcLen, Tos, Table, Res1, Res2, Action;
    public uint Flags;

    public static FibRuleHdr Read(ReadOnlySpan<byte> b) => new()
    {
        Family = b[0], DstLen = b[1], SrcLen = b[2], Tos = b[3], Table = b[4], Res1 = b[5], Res2 = b[6], Action = b[7],
        Flags = BinaryPrimitives.ReadUInt32LittleEndian(b[8..]),
    };

    public readonly void Write(Span<byte> b)
    {
        b[0] = Family; b[1] = DstLen; b[2] = SrcLen; b[3] = Tos; b[4] = Table; b[5] = Res1; b[6] = Res2; b[7] = Action;
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], Flags);
    }
}

/// <summary>struct nhmsg (8 bytes): the fixed header of RTM_*NEXTHOP.</summary>
public struct NhMsg
{
    public const int Size = 8;
    public byte Family, Scope, Protocol, Resvd;
    public uint Flags;

    public static NhMsg Read(ReadOnlySpan<byte> b) => new()
    {
        Family = b[0], Scope = b[1], Protocol = b[2], Resvd = b[3],
        Flags = BinaryPrimitives.ReadUInt32LittleEndian(b[4..]),
    };

    public readonly void Write(Span<byte> b)
    {
        b[0] = Family; b[1] = Scope; b[2] = Protocol; b[3] = Resvd;
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], Flags);
    }
}

/// <summary>struct nlmsgerr: the payload of NLMSG_ERROR (int error + the offending request's header).</summary>
public static class NlMsgErr
{
    public const int Size = 4 + 16;
}
