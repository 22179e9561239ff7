using System.Buffers.Binary;
using Mono.Unix.Native;
using VirtKernel.Daemon.Server;
using VirtKernel.Protocol.Shim;

namespace VirtKernel.Daemon.Cli;

/// <summary>A control connection to a running daemon, as the shim opens one (vk status, vk stop).</summary>
public sealed unsafe class ControlClient : IDisposable
{
    private readonly int _fd;

    private ControlClient(int fd) => _fd = fd;

    public static ControlClient? Connect(string path)
    {
        int fd = Syscall.socket(UnixAddressFamily.AF_UNIX, UnixSocketType.SOCK_SEQPACKET, UnixSocketFlags.SOCK_CLOEXEC, (UnixSocketProtocol)0);
        if (fd < 0) return null;
        if (Syscall.connect(fd, new SockaddrUn(path)) < 0)
        {
            Syscall.close(fd);
            return null;
        }
        var c = new ControlClient(fd);
        var hello = new Hello(Hello.CurrentVersion, ConnKind.Control, Environment.ProcessId, 0, 0, "").ToBytes();
        if (!c.Send(hello) || c.Receive(out int ret, out _) == false || ret != 0)
        {
            c.Dispose();
            return null;
        }
        return c;
    }

    private bool Send(byte[] frame)
    {
        fixed (byte* p = frame) return Libc.send(_fd, p, (nuint)frame.Length, Libc.MSG_NOSIGNAL) == frame.Length;
    }

    private bool Receive(out int ret, out byte[] payload)
    {
        var buf = new byte[1 << 20];
        nint r;
        fixed (byte* p = buf) r = Libc.recv(_fd, p, (nuint)buf.Length, 0);
        ret = 0;
        payload = [];
        if (r < CtlReply.Size) return false;
        ret = BinaryPrimitives.ReadInt32LittleEndian(buf);
        int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(4));
        payload = buf.AsSpan(CtlReply.Size, Math.Min(len, (int)r - CtlReply.Size)).ToArray();
        return true;
    }

    public (int Ret, byte[] Payload) Call(CtlOp op, ReadOnlySpan<byte> payload = default)
    {
        var f = new byte[CtlRequest.Size + payload.Length];
        new CtlRequest(op, 0, (uint)payload.Length).Write(f);
        payload.CopyTo(f.AsSpan(CtlRequest.Size));
        if (!Send(f) || !Receive(out int ret, out var p)) return (-32, []);
        return (ret, p);
    }

    public void Dispose() => Syscall.close(_fd);
}
