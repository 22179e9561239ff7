using System.Runtime.InteropServices;

namespace VirtKernel.Protocol.Fuse;

// The kernel's FUSE protocol on /dev/fuse (include/uapi/linux/fuse.h, protocol 7.38): the request
// and reply headers, the per-opcode argument structs and the flags. Bytes only: every struct is
// laid out as the C one (host byte order, 64-bit aligned) and read/written with MemoryMarshal.

/// <summary>enum fuse_opcode.</summary>
public enum FuseOpcode : uint
{
    Lookup = 1, Forget = 2, Getattr = 3, Setattr = 4, Readlink = 5, Symlink = 6, Mknod = 8, Mkdir = 9,
    Unlink = 10, Rmdir = 11, Rename = 12, Link = 13, Open = 14, Read = 15, Write = 16, Statfs = 17,
    Release = 18, Fsync = 20, Setxattr = 21, Getxattr = 22, Listxattr = 23, Removexattr = 24, Flush = 25,
    Init = 26, Opendir = 27, Readdir = 28, Releasedir = 29, Fsyncdir = 30, Getlk = 31, Setlk = 32,
    Setlkw = 33, Access = 34, Create = 35, Interrupt = 36, Bmap = 37, Destroy = 38, Ioctl = 39, Poll = 40,
    NotifyReply = 41, BatchForget = 42, Fallocate = 43, Readdirplus = 44, Rename2 = 45, Lseek = 46,
    CopyFileRange = 47, SetupMapping = 48, RemoveMapping = 49, Syncfs = 50, Tmpfile = 51, Statx = 52,
}

/// <summary>enum fuse_notify_code: unsolicited messages from the server (unique 0, error = code).</summary>
public enum FuseNotifyCode
{
    Poll = 1, InvalInode = 2, InvalEntry = 3, Store = 4, Retrieve = 5, Delete = 6,
}

/// <summary>Protocol numbers and flags.</summary>
public static class Fuse
{
    public const uint KernelVersion = 7;        // FUSE_KERNEL_VERSION
    public const uint KernelMinorVersion = 38;  // FUSE_KERNEL_MINOR_VERSION this codec speaks
    public const ulong RootId = 1;              // FUSE_ROOT_ID
    public const int MinReadBuffer = 8192;      // FUSE_MIN_READ_BUFFER
    public const int CompatInitOutSize = 8;     // FUSE_COMPAT_INIT_OUT_SIZE (protocol < 7.5)
    public const int Compat22InitOutSize = 24;  // FUSE_COMPAT_22_INIT_OUT_SIZE (protocol < 7.23)
    public const int CompatEntryOutSize = 120;  // FUSE_COMPAT_ENTRY_OUT_SIZE (protocol < 7.9)
    public const int CompatAttrOutSize = 96;    // FUSE_COMPAT_ATTR_OUT_SIZE (protocol < 7.9)
    public const int CompatStatfsSize = 48;     // FUSE_COMPAT_STATFS_SIZE (protocol < 7.4)
    public const int CompatWriteInSize = 24;    // FUSE_COMPAT_WRITE_IN_SIZE (protocol < 7.9)

    // fuse_init flags (FUSE_*), the low 32 bits in flags, the high ones in flags2
    public const ulong AsyncRead = 1UL << 0, PosixLocks = 1UL << 1, FileOps = 1UL << 2,
        AtomicOTrunc = 1UL << 3, ExportSupport = 1UL << 4, BigWrites = 1UL << 5, DontMask = 1UL << 6,
        SpliceWrite = 1UL << 7, SpliceMove = 1UL << 8, SpliceRead = 1UL << 9, FlockLocks = 1UL << 10,
        HasIoctlDir = 1UL << 11, AutoInvalData = 1UL << 12, DoReaddirplus = 1UL << 13,
        ReaddirplusAuto = 1UL << 14, AsyncDio = 1UL << 15, WritebackCache = 1UL << 16,
        NoOpenSupport = 1UL << 17, ParallelDirops = 1UL << 18, HandleKillpriv = 1UL << 19,
        PosixAcl = 1UL << 20, AbortError = 1UL << 21, MaxPages = 1UL << 22, CacheSymlinks = 1UL << 23,
        NoOpendirSupport = 1UL << 24, ExplicitInvalData = 1UL << 25, MapAlignment = 1UL << 26,
        Submounts = 1UL << 27, HandleKillprivV2 = 1UL << 28, SetxattrExt = 1UL << 29, InitExt = 1UL << 30,
        InitReserved = 1UL << 31, SecurityCtx = 1UL << 32, HasInodeDax = 1UL << 33,
        CreateSuppGroup = 1UL << 34, HasExpireOnly = 1UL << 35, DirectIoAllowMmap = 1UL << 36;

    // fuse_open_out.open_flags (FOPEN_*)
    public const uint FopenDirectIo = 1 << 0, FopenKeepCache = 1 << 1, FopenNonseekable = 1 << 2,
        FopenCacheDir = 1 << 3, FopenStream = 1 << 4, FopenNoflush = 1 << 5,
        FopenParallelDirectWrites = 1 << 6;

    // fuse_setattr_in.valid (FATTR_*)
    public const uint FattrMode = 1 << 0, FattrUid = 1 << 1, FattrGid = 1 << 2, FattrSize = 1 << 3,
        FattrAtime = 1 << 4, FattrMtime = 1 << 5, FattrFh = 1 << 6, FattrAtimeNow = 1 << 7,
        FattrMtimeNow = 1 << 8, FattrLockowner = 1 << 9, FattrCtime = 1 << 10, FattrKillSuidgid = 1 << 11;

    public const uint GetattrFh = 1 << 0;       // FUSE_GETATTR_FH
    public const uint ReleaseFlush = 1 << 0;    // FUSE_RELEASE_FLUSH

    /// <summary>FUSE_REC_ALIGN / FUSE_DIRENT_ALIGN: records are padded to 8 bytes.</summary>
    public static int Align(int x) => (x + 7) & ~7;

    /// <summary>offsetof(struct fuse_dirent, name).</summary>
    public const int DirentNameOffset = 24;
    /// <summary>offsetof(struct fuse_direntplus, dirent.name).</summary>
    public const int DirentplusNameOffset = 128 + 24;

    /// <summary>FUSE_DIRENT_SIZE for a name of <paramref name="nameLen"/> bytes.</summary>
    public static int DirentSize(int nameLen) => Align(DirentNameOffset + nameLen);

    /// <summary>FUSE_DIRENTPLUS_SIZE for a name of <paramref name="nameLen"/> bytes.</summary>
    public static int DirentplusSize(int nameLen) => Align(DirentplusNameOffset + nameLen);

    /// <summary>Reads a struct at the start of <paramref name="src"/> (false when too short).</summary>
    public static bool TryRead<T>(ReadOnlySpan<byte> src, out T value) where T : unmanaged
    {
        if (src.Length < Marshal.SizeOf<T>())
        {
            value = default;
            return false;
        }
        value = MemoryMarshal.Read<T>(src);
        return true;
    }

    /// <summary>Reads a struct that may be shorter on the wire than the current one (older
    /// protocol versions): the missing tail reads as zeros.</summary>
    public static T ReadPrefix<T>(ReadOnlySpan<byte> src) where T : unmanaged
    {
        int size = Marshal.SizeOf<T>();
        if (src.Length >= size) return MemoryMarshal.Read<T>(src);
        Span<byte> tmp = stackalloc byte[size];
        tmp.Clear();
        src.CopyTo(tmp);
        return MemoryMarshal.Read<T>(tmp);
    }

    public static void Write<T>(Span<byte> dst, in T value) where T : unmanaged => MemoryMarshal.Write(dst, in value);

    public static int SizeOf<T>() where T : unmanaged => Marshal.SizeOf<T>();
}

/// <summary>struct fuse_in_header (40 bytes): precedes every request.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseInHeader
{
    public const int Size = 40;
    public uint Len;
    public FuseOpcode Opcode;
    public ulong Unique;
    public ulong NodeId;
    public uint Uid;
    public uint Gid;
    public uint Pid;
    /// <summary>Length of the extensions after the arguments, in 8-byte units.</summary>
    public ushort TotalExtlen;
    public ushort Padding;
}

/// <summary>struct fuse_out_header (16 bytes): precedes every reply; error is 0 or -errno.
/// A notification has unique 0 and the notify code as error.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseOutHeader
{
    public const int Size = 16;
    public uint Len;
    public int Error;
    public ulong Unique;
}

/// <summary>struct fuse_attr (88 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseAttr
{
    public const int Size = 88;
    public ulong Ino;
    public ulong FileSize;
    public ulong Blocks;
    public ulong Atime;
    public ulong Mtime;
    public ulong Ctime;
    public uint AtimeNsec;
    public uint MtimeNsec;
    public uint CtimeNsec;
    public uint Mode;
    public uint Nlink;
    public uint Uid;
    public uint Gid;
    public uint Rdev;
    public uint Blksize;
    public uint Flags;
}

/// <summary>struct fuse_kstatfs (80 bytes) = struct fuse_statfs_out.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct FuseStatfsOut
{
    public const int Size = 80;
    public ulong Blocks;
    public ulong Bfree;
    public ulong Bavail;
    public ulong Files;
    public ulong Ffree;
    public uint Bsize;
    public uint Namelen;
    public uint Frsize;
    public uint Padding;
    public fixed uint Spare[6];
}

/// <summary>struct fuse_entry_out (128 bytes): the answer to LOOKUP (and CREATE, MKNOD...).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseEntryOut
{
    public const int Size = 128;
    public ulong NodeId;
    public ulong Generation;
    public ulong EntryValid;
    public ulong AttrValid;
    public uint EntryValidNsec;
    public uint AttrValidNsec;
    public FuseAttr Attr;
}

/// <summary>struct fuse_forget_in.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseForgetIn
{
    public ulong Nlookup;
}

/// <summary>struct fuse_forget_one (an element after fuse_batch_forget_in).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseForgetOne
{
    public const int Size = 16;
    public ulong NodeId;
    public ulong Nlookup;
}

/// <summary>struct fuse_batch_forget_in.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseBatchForgetIn
{
    public const int Size = 8;
    public uint Count;
    public uint Dummy;
}

/// <summary>struct fuse_getattr_in.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseGetattrIn
{
    public uint GetattrFlags;
    public uint Dummy;
    public ulong Fh;
}

/// <summary>struct fuse_attr_out (104 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseAttrOut
{
    public const int Size = 104;
    public ulong AttrValid;
    public uint AttrValidNsec;
    public uint Dummy;
    public FuseAttr Attr;
}

/// <summary>struct fuse_setattr_in (88 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseSetattrIn
{
    public const int Size = 88;
    public uint Valid;
    public uint Padding;
    public ulong Fh;
    public ulong FileSize;
    public ulong LockOwner;
    public ulong Atime;
    public ulong Mtime;
    public ulong Ctime;
    public uint AtimeNsec;
    public uint MtimeNsec;
    public uint CtimeNsec;
    public uint Mode;
    public uint Unused4;
    public uint Uid;
    public uint Gid;
    public uint Unused5;
}

/// <summary>struct fuse_open_in (OPEN and OPENDIR).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseOpenIn
{
    public uint Flags;
    public uint OpenFlags;
}

/// <summary>struct fuse_create_in.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseCreateIn
{
    public const int Size = 16;
    public uint Flags;
    public uint Mode;
    public uint Umask;
    public uint OpenFlags;
}

/// <summary>struct fuse_mknod_in.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseMknodIn
{
    public uint Mode;
    public uint Rdev;
    public uint Umask;
    public uint Padding;
}

/// <summary>struct fuse_mkdir_in.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseMkdirIn
{
    public uint Mode;
    public uint Umask;
}

/// <summary>struct fuse_open_out (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseOpenOut
{
    public const int Size = 16;
    public ulong Fh;
    public uint OpenFlags;
    public uint Padding;
}

/// <summary>struct fuse_release_in (RELEASE and RELEASEDIR).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseReleaseIn
{
    public ulong Fh;
    public uint Flags;
    public uint ReleaseFlags;
    public ulong LockOwner;
}

/// <summary>struct fuse_flush_in.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseFlushIn
{
    public ulong Fh;
    public uint Unused;
    public uint Padding;
    public ulong LockOwner;
}

/// <summary>struct fuse_read_in (READ, READDIR, READDIRPLUS).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseReadIn
{
    public const int Size = 40;
    public ulong Fh;
    public ulong Offset;
    public uint Count;
    public uint ReadFlags;
    public ulong LockOwner;
    public uint Flags;
    public uint Padding;
}

/// <summary>struct fuse_write_in (40 bytes); the data follows it.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseWriteIn
{
    public const int Size = 40;
    public ulong Fh;
    public ulong Offset;
    public uint Count;
    public uint WriteFlags;
    public ulong LockOwner;
    public uint Flags;
    public uint Padding;
}

/// <summary>struct fuse_write_out.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseWriteOut
{
    public const int Size = 8;
    public uint Count;
    public uint Padding;
}

/// <summary>struct fuse_access_in.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseAccessIn
{
    public uint Mask;
    public uint Padding;
}

/// <summary>struct fuse_interrupt_in.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseInterruptIn
{
    public ulong Unique;
}

/// <summary>struct fuse_init_in (64 bytes since 7.36; 16 before).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct FuseInitIn
{
    public const int Size = 64;
    public uint Major;
    public uint Minor;
    public uint MaxReadahead;
    public uint Flags;
    public uint Flags2;
    public fixed uint Unused[11];
}

/// <summary>struct fuse_init_out (64 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct FuseInitOut
{
    public const int Size = 64;
    public uint Major;
    public uint Minor;
    public uint MaxReadahead;
    public uint Flags;
    public ushort MaxBackground;
    public ushort CongestionThreshold;
    public uint MaxWrite;
    public uint TimeGran;
    public ushort MaxPages;
    public ushort MapAlignment;
    public uint Flags2;
    public fixed uint Unused[7];
}

/// <summary>struct fuse_dirent header (24 bytes); the name follows, padded to 8.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseDirent
{
    public const int Size = 24;
    public ulong Ino;
    /// <summary>The offset the next READDIR starts from to continue after this entry.</summary>
    public ulong Off;
    public uint Namelen;
    /// <summary>DT_* type (mode >> 12).</summary>
    public uint Type;
}

/// <summary>struct fuse_notify_inval_entry_out (the name and a NUL follow).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseNotifyInvalEntryOut
{
    public const int Size = 16;
    public ulong Parent;
    public uint Namelen;
    public uint Flags;
}

/// <summary>struct fuse_notify_inval_inode_out.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct FuseNotifyInvalInodeOut
{
    public const int Size = 24;
    public ulong Ino;
    public long Off;
    public long Len;
}
