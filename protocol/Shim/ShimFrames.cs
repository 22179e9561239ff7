using System.Buffers.Binary;
using System.Text;

namespace VirtKernel.Protocol.Shim;

// Mirror of shim/vk_proto.h: the frames between the preload shim and the daemon. Change both together.

public enum ConnKind : ushort { Data = 1, Control = 2 }

/// <summary>struct vk_hello: the first frame on every connection, then netns_len bytes of namespace token.</summary>
public readonly record struct Hello(ushort Version, ConnKind Kind, int Pid, int Protocol, int Type, string Netns)
{
    public const uint Magic = 0x4c4e4b56; // "VKNL"
    public const ushort CurrentVersion = 1;
    public const int Size = 24;

    public static bool TryRead(ReadOnlySpan<byte> b, out Hello hello)
    {
        hello = default;
        if (b.Length < Size || BinaryPrimitives.ReadUInt32LittleEndian(b) != Magic) return false;
        uint nsLen = BinaryPrimitives.ReadUInt32LittleEndian(b[20..]);
        if (nsLen > (uint)(b.Length - Size)) return false;
        hello = new Hello(
            BinaryPrimitives.ReadUInt16LittleEndian(b[4..]),
            (ConnKind)BinaryPrimitives.ReadUInt16LittleEndian(b[6..]),
            BinaryPrimitives.ReadInt32LittleEndian(b[8..]),
            BinaryPrimitives.ReadInt32LittleEndian(b[12..]),
            BinaryPrimitives.ReadInt32LittleEndian(b[16..]),
            Encoding.UTF8.GetString(b.Slice(Size, (int)nsLen)));
        return true;
    }

    public byte[] ToBytes()
    {
        var ns = Encoding.UTF8.GetBytes(Netns);
        var b = new byte[Size + ns.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(b, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(4), Version);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(6), (ushort)Kind);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), Pid);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(12), Protocol);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16), Type);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(20), (uint)ns.Length);
        ns.CopyTo(b.AsSpan(Size));
        return b;
    }
}

/// <summary>enum vk_tx_op: data, and the one-way socket calls (setsockopt, bind to the reserved port).</summary>
public enum TxOp : uint { Data = 1, SetSockOpt = 2, Bind = 3 }

/// <summary>struct vk_tx: client -> daemon frame header on a data connection, followed by
/// <see cref="NsfdCount"/> struct vk_nsfd entries (the sender's open namespace handles) and then
/// the netlink bytes.</summary>
public readonly record struct TxHeader(TxOp Op, uint DstPid, uint DstGroups, uint NsfdCount = 0)
{
    public const int Size = 16;
    public const int NsfdSize = 8;

    public static bool TryRead(ReadOnlySpan<byte> b, out TxHeader h)
    {
        h = default;
        if (b.Length < Size) return false;
        h = new TxHeader((TxOp)BinaryPrimitives.ReadUInt32LittleEndian(b),
            BinaryPrimitives.ReadUInt32LittleEndian(b[4..]), BinaryPrimitives.ReadUInt32LittleEndian(b[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[12..]));
        return h.NsfdCount <= (uint)((b.Length - Size) / NsfdSize);
    }

    /// <summary>Where the netlink bytes start.</summary>
    public int PayloadOffset => Size + (int)NsfdCount * NsfdSize;

    /// <summary>The (fd, namespace id) pairs sent with the frame.</summary>
    public static (int Fd, uint Netns) Nsfd(ReadOnlySpan<byte> frame, int i) =>
        (BinaryPrimitives.ReadInt32LittleEndian(frame[(Size + i * NsfdSize)..]),
         BinaryPrimitives.ReadUInt32LittleEndian(frame[(Size + i * NsfdSize + 4)..]));

    public void Write(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)Op);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], DstPid);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], DstGroups);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], NsfdCount);
    }
}

public enum RxOp : ushort { Data = 1, Overrun = 2, Hello = 3 }

[Flags]
public enum RxFlags : ushort { None = 0, Nsid = 1, PktInfo = 2 }

/// <summary>struct vk_rx: daemon -> client frame header on a data connection.</summary>
public readonly record struct RxHeader(RxOp Op, RxFlags Flags, uint A, uint Group, int C)
{
    public const int Size = 16;

    public void Write(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)Op);
        BinaryPrimitives.WriteUInt16LittleEndian(b[2..], (ushort)Flags);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], A);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], Group);
        BinaryPrimitives.WriteInt32LittleEndian(b[12..], C);
    }

    public static RxHeader Read(ReadOnlySpan<byte> b) => new(
        (RxOp)BinaryPrimitives.ReadUInt16LittleEndian(b), (RxFlags)BinaryPrimitives.ReadUInt16LittleEndian(b[2..]),
        BinaryPrimitives.ReadUInt32LittleEndian(b[4..]), BinaryPrimitives.ReadUInt32LittleEndian(b[8..]),
        BinaryPrimitives.ReadInt32LittleEndian(b[12..]));
}

public enum CtlOp : uint
{
    Bind = 1, Connect = 2, GetSockName = 3, SetSockOpt = 4, GetSockOpt = 5, Sync = 6,
    Ioctl = 7, NameToIndex = 8, IndexToName = 9, NameIndex = 10, GetIfAddrs = 11,
    /// <summary>sock 0; out: a text summary of the daemon (vk status).</summary>
    Status = 12,
    /// <summary>sock 0; the daemon stops (vk stop); EPERM for users who may not change state.</summary>
    Shutdown = 13,
    /// <summary>unshare(CLONE_NEWNET): ret = the new namespace id, now the caller's.</summary>
    NetnsUnshare = 20,
    /// <summary>setns: in {u32 netns}.</summary>
    NetnsSetns = 21,
    /// <summary>in {u64 st_dev, u64 st_ino}: ret = the namespace id of that handle, or -EINVAL.</summary>
    NetnsResolve = 22,
    /// <summary>in {u32 netns} + NAME: the namespace is bound to STATE/netns/NAME.</summary>
    NetnsBind = 23,
    /// <summary>in NAME: the name no longer holds the namespace.</summary>
    NetnsUnbind = 24,
    /// <summary>in {i32 pid}: ret = that process's namespace id, or -ESRCH.</summary>
    NetnsOfPid = 25,
    /// <summary>in {i32 pid}: the caller's new child is in the caller's namespace (unless already known).</summary>
    NetnsChild = 26,
}

/// <summary>struct vk_ctl_req: a control request header. <see cref="Aux"/> is, for VK_CTL_IOCTL, the
/// address family of the socket the ioctl was made on (AF_NETLINK for an emulated one).</summary>
public readonly record struct CtlRequest(CtlOp Op, uint SockId, uint Len, uint Aux = 0)
{
    public const int Size = 16;

    public static bool TryRead(ReadOnlySpan<byte> b, out CtlRequest r)
    {
        r = default;
        if (b.Length < Size) return false;
        r = new CtlRequest((CtlOp)BinaryPrimitives.ReadUInt32LittleEndian(b),
            BinaryPrimitives.ReadUInt32LittleEndian(b[4..]), BinaryPrimitives.ReadUInt32LittleEndian(b[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[12..]));
        return r.Len <= (uint)(b.Length - Size);
    }

    public void Write(Span<byte> b)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)Op);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], SockId);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], Len);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], Aux);
    }
}

/// <summary>struct vk_ctl_rep: a control answer header.</summary>
public static class CtlReply
{
    public const int Size = 16;

    public static byte[] Build(int ret, ReadOnlySpan<byte> payload)
    {
        var b = new byte[Size + payload.Length];
        BinaryPrimitives.WriteInt32LittleEndian(b, ret);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), (uint)payload.Length);
        payload.CopyTo(b.AsSpan(Size));
        return b;
    }
}

/// <summary>struct vk_ifaddr: one entry of a GETIFADDRS answer (100 bytes).</summary>
public static class IfAddrEntry
{
    public const int Size = 16 + 4 + 4 + 2 + 1 + 1 + 2 + 2 + 4 + 32 + 32;
}
