using System.Buffers.Binary;
using System.Net.Sockets;
using VirtKernel.Protocol.Shim;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Fuzz;

/// <summary>A connection to a running daemon speaking the frames of shim/vk_proto.h directly, as the
/// preload shim does: a DATA connection is one emulated netlink socket (vk_tx out, vk_rx in), a
/// CONTROL connection carries socket options.</summary>
public sealed class ShimClient : IDisposable
{
    public const int MaxFrame = 256 * 1024 + 64;
    private readonly Socket _s;
    private readonly byte[] _buf = new byte[MaxFrame];

    private ShimClient(Socket s) => _s = s;

    public uint SockId { get; private set; }

    private static Socket Connect(string path)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Seqpacket, ProtocolType.Unspecified);
        s.Connect(new UnixDomainSocketEndPoint(path));
        s.ReceiveTimeout = 15000;
        s.SendTimeout = 15000;
        return s;
    }

    /// <summary>A data connection: socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) in the daemon's initial namespace.</summary>
    public static ShimClient OpenData(string path, int pid)
    {
        var c = new ShimClient(Connect(path));
        c._s.Send(new Hello(Hello.CurrentVersion, ConnKind.Data, pid, NETLINK_ROUTE, 3, "").ToBytes());
        var (rx, _) = c.Receive();
        if (rx.Op != RxOp.Hello || rx.C != 0) throw new IOException($"the daemon refused the socket: {rx}");
        c.SockId = rx.A;
        return c;
    }

    public static ShimClient OpenControl(string path)
    {
        var c = new ShimClient(Connect(path));
        c._s.Send(new Hello(Hello.CurrentVersion, ConnKind.Control, Environment.ProcessId, 0, 0, "").ToBytes());
        int n = c._s.Receive(c._buf);
        if (n < CtlReply.Size || BinaryPrimitives.ReadInt32LittleEndian(c._buf) != 0) throw new IOException("control hello refused");
        return c;
    }

    /// <summary>sendmsg of one datagram to the kernel.</summary>
    public void Send(ReadOnlySpan<byte> datagram)
    {
        var f = new byte[TxHeader.Size + datagram.Length];
        new TxHeader(TxOp.Data, 0, 0).Write(f);
        datagram.CopyTo(f.AsSpan(TxHeader.Size));
        _s.Send(f);
    }

    /// <summary>The next frame; throws on timeout or when the daemon closed the connection.</summary>
    public (RxHeader Rx, byte[] Datagram) Receive()
    {
        int n = _s.Receive(_buf);
        if (n == 0) throw new IOException("the daemon closed the connection");
        if (n < RxHeader.Size) throw new IOException($"a frame of {n} bytes");
        return (RxHeader.Read(_buf), _buf.AsSpan(RxHeader.Size, n - RxHeader.Size).ToArray());
    }

    /// <summary>A control call (on a control connection).</summary>
    public int Call(CtlOp op, uint sockId, ReadOnlySpan<byte> payload)
    {
        var f = new byte[CtlRequest.Size + payload.Length];
        new CtlRequest(op, sockId, (uint)payload.Length).Write(f);
        payload.CopyTo(f.AsSpan(CtlRequest.Size));
        _s.Send(f);
        int n = _s.Receive(_buf);
        if (n < CtlReply.Size) throw new IOException("short control answer");
        return BinaryPrimitives.ReadInt32LittleEndian(_buf);
    }

    /// <summary>A control call returning the answer's payload too.</summary>
    public (int Ret, byte[] Payload) CallWithPayload(CtlOp op, uint sockId, ReadOnlySpan<byte> payload)
    {
        int ret = Call(op, sockId, payload);
        int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(_buf.AsSpan(4));
        return (ret, _buf.AsSpan(CtlReply.Size, len).ToArray());
    }

    public int SetSockOpt(uint sockId, int name, bool on)
    {
        var p = new byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(p, SOL_NETLINK);
        BinaryPrimitives.WriteInt32LittleEndian(p.AsSpan(4), name);
        BinaryPrimitives.WriteInt32LittleEndian(p.AsSpan(8), on ? 1 : 0);
        return Call(CtlOp.SetSockOpt, sockId, p);
    }

    public void Dispose() => _s.Dispose();
}
