using System.Runtime.InteropServices;

namespace VirtKernel.Daemon.Server;

/// <summary>The few libc calls of the hot path that neither .NET nor Mono.Posix offer in a usable
/// shape: epoll and scatter/gather send/recv on raw descriptors.</summary>
internal static unsafe partial class Libc
{
    public const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
    public const uint EPOLLIN = 0x001, EPOLLOUT = 0x004, EPOLLERR = 0x008, EPOLLHUP = 0x010, EPOLLRDHUP = 0x2000;
    public const int EPOLL_CLOEXEC = 0x80000;
    public const int MSG_DONTWAIT = 0x40, MSG_TRUNC = 0x20, MSG_NOSIGNAL = 0x4000, MSG_PEEK = 0x2;
    public const int EAGAIN = 11, EINTR = 4, EPIPE = 32, ECONNRESET = 104;

    [StructLayout(LayoutKind.Sequential, Pack = 1)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public void* Base;
        public nuint Len;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLen;
        public IoVec* Iov;
        public nuint IovLen;
        public void* Control;
        public nuint ControlLen;
        public int Flags;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_wait(int epfd, EpollEvent* events, int maxevents, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint recv(int fd, byte* buf, nuint len, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint sendmsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint send(int fd, byte* buf, nuint len, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc")]
    public static partial int sched_yield();

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, byte* buf, nuint len);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, byte* buf, nuint len);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setsockopt(int fd, int level, int name, int* val, uint len);

    public const int SOL_SOCKET = 1, SO_SNDBUF = 7, SO_RCVBUF = 8, SO_SNDBUFFORCE = 32;

    public static int Errno => Marshal.GetLastPInvokeError();

    /// <summary>sendmsg of two buffers (frame header + payload) as one datagram.</summary>
    public static nint Send2(int fd, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, int flags)
    {
        fixed (byte* pa = a)
        fixed (byte* pb = b)
        {
            var iov = stackalloc IoVec[2];
            iov[0].Base = pa; iov[0].Len = (nuint)a.Length;
            iov[1].Base = pb; iov[1].Len = (nuint)b.Length;
            var msg = new MsgHdr { Iov = iov, IovLen = (nuint)(b.Length > 0 ? 2 : 1) };
            return sendmsg(fd, &msg, flags);
        }
    }
}
