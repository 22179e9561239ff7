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
    public const int EAGAIN = 11, EINTR = 4, EPIPE = 32, ECONNRESET = 104, EMSGSIZE = 90;

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

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint syscall(nint number, nint a, nint b);

    /// <summary>pidfd_open(2): an fd that becomes readable when the process exits.</summary>
    public static int PidfdOpen(int pid) => (int)syscall(434, pid, 0);

    // ---- files of the namespace state directory (a few syscalls per namespace, no allocation) ----

    public const int O_WRONLY = 1, O_CREAT = 0x40, O_EXCL = 0x80, O_CLOEXEC = 0x80000;

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags, uint mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fstat(int fd, byte* st);

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int stat(string path, byte* st);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int link(string from, string to);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rename(string from, string to);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int unlink(string path);

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int renameat2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

    private const int AT_FDCWD = -100;
    private const uint RENAME_EXCHANGE = 2;

    /// <summary>renameat2(RENAME_EXCHANGE): the two names swap their files, atomically; both must exist.</summary>
    public static int Exchange(string a, string b) => renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);

    [LibraryImport("libc", EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statfs(string path, byte* buf);

    [LibraryImport("libc", SetLastError = true)]
    private static partial byte* mkdtemp(byte* template);

    public const long TMPFS_MAGIC = 0x01021994;

    /// <summary>f_type of the filesystem holding <paramref name="path"/> (the first field of struct
    /// statfs), or -1.</summary>
    public static long FsType(string path)
    {
        var buf = stackalloc byte[256];
        return statfs(path, buf) < 0 ? -1 : *(long*)buf;
    }

    /// <summary>mkdtemp(3): a new private directory from a template ending in XXXXXX, or null.</summary>
    public static string? MkdTemp(string template)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(template + "\0");
        fixed (byte* p = bytes)
        {
            if (mkdtemp(p) == null) return null;
        }
        return System.Text.Encoding.UTF8.GetString(bytes, 0, bytes.Length - 1);
    }

    /// <summary>st_dev and st_ino (the first two fields of struct stat on every 64-bit Linux ABI).</summary>
    public static bool DevIno(int fd, out ulong dev, out ulong ino)
    {
        var st = stackalloc byte[256];
        if (fstat(fd, st) < 0) { dev = ino = 0; return false; }
        dev = *(ulong*)st;
        ino = *(ulong*)(st + 8);
        return true;
    }

    public static bool DevIno(string path, out ulong dev, out ulong ino)
    {
        var st = stackalloc byte[256];
        if (stat(path, st) < 0) { dev = ino = 0; return false; }
        dev = *(ulong*)st;
        ino = *(ulong*)(st + 8);
        return true;
    }

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
