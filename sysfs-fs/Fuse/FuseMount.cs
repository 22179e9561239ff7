using System.Diagnostics;
using System.Text;
using Mono.Unix.Native;

namespace VirtKernel.SysfsFs.Fuse;

/// <summary>A FUSE filesystem mounted on a directory: the /dev/fuse descriptor the kernel's requests
/// come from, and how it got mounted. As root, <c>mount(2)</c> with the descriptor in the options;
/// otherwise <c>fusermount3</c> (set-uid root, Debian's fuse3) mounts and passes the descriptor back
/// over a socket named by _FUSE_COMMFD. fusermount3 is asked for <c>auto_unmount</c>: it stays
/// behind and unmounts as soon as that socket closes, so a daemon that crashes leaves no mount.
/// A mount left by a crashed root daemon (no such helper) is detached by the next
/// <see cref="CleanStale"/>.</summary>
public sealed class FuseMount : IDisposable
{
    public string MountPoint { get; }
    /// <summary>The /dev/fuse descriptor (non-blocking).</summary>
    public int Fd { get; private set; }
    /// <summary>True when fusermount3 mounted it.</summary>
    public bool ViaFusermount { get; }
    private int _commFd;

    private FuseMount(string mountPoint, int fd, bool viaFusermount, int commFd)
    {
        MountPoint = mountPoint;
        Fd = fd;
        ViaFusermount = viaFusermount;
        _commFd = commFd;
    }

    public const string FsName = "virtkernel";

    /// <summary>Mounts on <paramref name="mountPoint"/> (created if missing): mount(2) when running as
    /// root, fusermount3 otherwise. Throws IOException with the reason when neither works.</summary>
    public static FuseMount Mount(string mountPoint, bool forceFusermount = false)
    {
        mountPoint = Path.GetFullPath(mountPoint);
        CleanStale(mountPoint);
        Directory.CreateDirectory(mountPoint);
        uint uid = Syscall.getuid(), gid = Syscall.getgid();
        if (uid == 0 && !forceFusermount) return MountAsRoot(mountPoint, uid, gid);
        return MountWithFusermount(mountPoint);
    }

    private static FuseMount MountAsRoot(string mountPoint, uint uid, uint gid)
    {
        int fd = FuseLibc.open("/dev/fuse", FuseLibc.O_RDWR | FuseLibc.O_CLOEXEC | FuseLibc.O_NONBLOCK);
        if (fd < 0) throw new IOException($"open /dev/fuse: {Strerror(FuseLibc.Errno)}");
        string opts = $"fd={fd},rootmode=40000,user_id={uid},group_id={gid},allow_other";
        if (FuseLibc.mount(FsName, mountPoint, "fuse." + FsName,
                FuseLibc.MS_NOSUID | FuseLibc.MS_NODEV | FuseLibc.MS_NOEXEC, opts) < 0)
        {
            int e = FuseLibc.Errno;
            FuseLibc.close(fd);
            throw new IOException($"mount {mountPoint}: {Strerror(e)}");
        }
        return new FuseMount(mountPoint, fd, false, -1);
    }

    /// <summary>The fusermount3 binary, if installed.</summary>
    public static string? FusermountPath()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/bin").Append("/bin"))
        {
            if (dir.Length == 0) continue;
            var p = Path.Combine(dir, "fusermount3");
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>Whether /etc/fuse.conf lets users mount with allow_other.</summary>
    private static bool UserAllowOther()
    {
        try
        {
            return File.ReadLines("/etc/fuse.conf").Any(l => l.Trim() == "user_allow_other");
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    private static unsafe FuseMount MountWithFusermount(string mountPoint)
    {
        var fusermount = FusermountPath() ?? throw new IOException("fusermount3 is not installed (Debian: apt-get install fuse3)");
        int* sv = stackalloc int[2];
        // the child's end is inherited by fusermount3 (no CLOEXEC), ours is not
        if (FuseLibc.socketpair(FuseLibc.AF_UNIX, FuseLibc.SOCK_STREAM, 0, sv) < 0)
            throw new IOException($"socketpair: {Strerror(FuseLibc.Errno)}");
        int ours = sv[0], theirs = sv[1];
        FuseLibc.fcntl(ours, FuseLibc.F_SETFD, FuseLibc.FD_CLOEXEC);
        string opts = $"fsname={FsName},subtype={FsName},auto_unmount" + (UserAllowOther() ? ",allow_other" : "");
        // fusermount3 outlives its mount call (auto_unmount): its output goes to a file, not to a
        // pipe that would break (SIGPIPE) when this process is gone
        string log = Path.Combine(Path.GetDirectoryName(mountPoint)!, "fusermount.log");
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" </dev/null >>\"$VK_FUSERMOUNT_LOG\" 2>&1");
        psi.ArgumentList.Add(fusermount);
        psi.ArgumentList.Add("-o");
        psi.ArgumentList.Add(opts);
        psi.ArgumentList.Add("--");
        psi.ArgumentList.Add(mountPoint);
        psi.Environment["_FUSE_COMMFD"] = theirs.ToString();
        psi.Environment["VK_FUSERMOUNT_LOG"] = log;
        Process p;
        try { p = Process.Start(psi)!; }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
        {
            FuseLibc.close(ours);
            FuseLibc.close(theirs);
            throw new IOException($"{fusermount}: {e.Message}");
        }
        FuseLibc.close(theirs);
        int fd = ReceiveFd(ours);
        if (fd < 0)
        {
            p.WaitForExit(5000);
            FuseLibc.close(ours);
            string why = "";
            try { why = File.ReadAllText(log).Trim(); }
            catch (IOException) { }
            throw new IOException($"fusermount3 did not mount {mountPoint}: {why}");
        }
        p.Dispose();
        // fusermount3 keeps watching `ours` (auto_unmount); it does not wait for anything else
        int fl = FuseLibc.fcntl(fd, FuseLibc.F_GETFL, 0);
        FuseLibc.fcntl(fd, FuseLibc.F_SETFL, fl | FuseLibc.O_NONBLOCK);
        FuseLibc.fcntl(fd, FuseLibc.F_SETFD, FuseLibc.FD_CLOEXEC);
        return new FuseMount(mountPoint, fd, true, ours);
    }

    /// <summary>receive_fd: one descriptor in an SCM_RIGHTS control message.</summary>
    private static unsafe int ReceiveFd(int sock)
    {
        byte b;
        var iov = new FuseLibc.IoVec { Base = &b, Len = 1 };
        byte* ctl = stackalloc byte[64];
        var msg = new FuseLibc.MsgHdr { Iov = &iov, IovLen = 1, Control = ctl, ControlLen = 64 };
        nint n;
        do n = FuseLibc.recvmsg(sock, &msg, 0);
        while (n < 0 && FuseLibc.Errno == FuseLibc.EINTR);
        if (n <= 0 || msg.ControlLen < 20) return -1;
        // struct cmsghdr { size_t len; int level; int type; } then the data
        ulong len = *(ulong*)ctl;
        int level = *(int*)(ctl + 8), type = *(int*)(ctl + 12);
        if (len < 20 || level != FuseLibc.SOL_SOCKET || type != FuseLibc.SCM_RIGHTS) return -1;
        return *(int*)(ctl + 16);
    }

    // ---- requests and replies ------------------------------------------------------------------

    /// <summary>Reads one request: its length, 0 when none is waiting (EAGAIN), or -errno
    /// (-ENODEV: the filesystem was unmounted).</summary>
    public unsafe int Read(Span<byte> buf)
    {
        while (true)
        {
            nint n;
            fixed (byte* p = buf) n = FuseLibc.read(Fd, p, (nuint)buf.Length);
            if (n >= 0) return (int)n;
            int e = FuseLibc.Errno;
            if (e == FuseLibc.EINTR) continue;
            // ENOENT: the request was interrupted before we read it; try the next one
            if (e == FuseLibc.ENOENT) continue;
            if (e == FuseLibc.EAGAIN) return 0;
            return -e;
        }
    }

    /// <summary>Writes one reply; a reply to a request the kernel gave up on (ENOENT) is dropped.</summary>
    public unsafe int Write(ReadOnlySpan<byte> msg)
    {
        while (true)
        {
            nint n;
            fixed (byte* p = msg) n = FuseLibc.write(Fd, p, (nuint)msg.Length);
            if (n >= 0) return 0;
            int e = FuseLibc.Errno;
            if (e == FuseLibc.EINTR) continue;
            if (e == FuseLibc.ENOENT) return 0;
            return -e;
        }
    }

    // ---- unmounting ----------------------------------------------------------------------------

    /// <summary>Unmounts (lazily: open files keep working until closed) and closes the descriptor.</summary>
    public void Unmount()
    {
        if (Fd < 0) return;
        if (ViaFusermount) RunFusermountUnmount(MountPoint);
        else FuseLibc.umount2(MountPoint, FuseLibc.MNT_DETACH);
        FuseLibc.close(Fd);
        Fd = -1;
        if (_commFd >= 0) FuseLibc.close(_commFd);
        _commFd = -1;
    }

    public void Dispose() => Unmount();

    private static void RunFusermountUnmount(string mountPoint)
    {
        var fusermount = FusermountPath();
        if (fusermount == null) return;
        var psi = new ProcessStartInfo(fusermount)
        {
            UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true,
        };
        foreach (var a in new[] { "-u", "-z", "--", mountPoint }) psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            p.StandardOutput.ReadToEnd();
            p.StandardError.ReadToEnd();
            p.WaitForExit(10_000);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or InvalidOperationException) { }
    }

    /// <summary>Whether <paramref name="path"/> is the mount point of a FUSE filesystem
    /// (/proc/self/mountinfo).</summary>
    public static bool IsFuseMountPoint(string path)
    {
        path = Resolve(path);
        return FuseMounts(m => m == path).Any();
    }

    /// <summary>The absolute path as /proc/self/mountinfo shows it: the symbolic links of its
    /// directory resolved (the last name is not: a dead FUSE mount point cannot even be stat'ed).</summary>
    public static string Resolve(string path)
    {
        path = Path.GetFullPath(path).TrimEnd('/');
        if (path.Length == 0) return "/";
        string? dir = Path.GetDirectoryName(path);
        if (dir == null) return path;
        string? real = FuseLibc.RealPath(dir);
        return real == null ? path : Path.Combine(real, Path.GetFileName(path));
    }

    /// <summary>The mount points of FUSE filesystems (of any server) that <paramref name="match"/> accepts.</summary>
    private static List<string> FuseMounts(Func<string, bool> match, bool oursOnly = false)
    {
        var found = new List<string>();
        try
        {
            foreach (var line in File.ReadLines("/proc/self/mountinfo"))
            {
                var f = line.Split(' ');
                if (f.Length < 10) continue;
                int sep = Array.IndexOf(f, "-");
                if (sep < 0 || sep + 1 >= f.Length) continue;
                string type = f[sep + 1];
                if (!(oursOnly ? type == "fuse." + FsName : type.StartsWith("fuse", StringComparison.Ordinal))) continue;
                string mp = Unescape(f[4]);
                if (match(mp)) found.Add(mp);
            }
        }
        catch (IOException) { }
        return found;
    }

    /// <summary>Detaches the views that dead daemons left mounted in <paramref name="dir"/> or below
    /// it (a state directory about to be deleted: deleting must never meet a mount), deepest first.</summary>
    public static void DetachUnder(string dir)
    {
        string real = FuseLibc.RealPath(dir) ?? Path.GetFullPath(dir).TrimEnd('/');
        foreach (var mp in FuseMounts(m => m == real || m.StartsWith(real + "/", StringComparison.Ordinal), oursOnly: true)
                     .OrderByDescending(m => m.Length))
            CleanStale(mp);
    }

    private static string Unescape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new StringBuilder();
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 3 < s.Length)
            {
                sb.Append((char)Convert.ToInt32(s.Substring(i + 1, 3), 8));
                i += 3;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    /// <summary>Detaches what an earlier daemon left mounted on <paramref name="mountPoint"/> (its
    /// connection is dead: every access would fail with ENOTCONN).</summary>
    public static void CleanStale(string mountPoint)
    {
        mountPoint = Resolve(mountPoint);
        for (int i = 0; i < 8 && IsFuseMountPoint(mountPoint); i++)
        {
            if (Syscall.getuid() == 0) FuseLibc.umount2(mountPoint, FuseLibc.MNT_DETACH);
            else RunFusermountUnmount(mountPoint);
        }
    }

    private static string Strerror(int e) => Stdlib.strerror(NativeConvert.ToErrno(e)) ?? $"errno {e}";
}
