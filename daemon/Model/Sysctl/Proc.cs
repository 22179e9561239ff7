using System.Text;
using VirtKernel.Protocol;

namespace VirtKernel.Model.Sysctl;

/// <summary>kernel/sysctl.c: the generic proc handlers (proc_dointvec and its variants,
/// proc_douintvec, proc_dou8vec_minmax, proc_doulongvec_minmax, proc_dostring,
/// proc_do_large_bitmap), with the kernel's parser (proc_get_long: base 0, leading blanks skipped,
/// a value must end at a blank), its vector semantics (elements are stored as they are parsed; what
/// is left after the last element is not consumed), strict writes (a write at a non-zero position is
/// ignored), and the jiffies conversions of a CONFIG_HZ=250, USER_HZ=100 kernel.</summary>
public static class Proc
{
    public const int HZ = 250;
    public const int USER_HZ = 100;
    private const int TMPBUFLEN = 22;
    private const int PAGE_SIZE = 4096;
    /// <summary>TICK_NSEC.</summary>
    private const ulong TickNsec = (1_000_000_000UL + HZ / 2) / HZ;
    private const ulong MaxJiffyOffset = (ulong)(long.MaxValue >> 1) - 1;

    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r';

    /// <summary>proc_skip_spaces.</summary>
    private static void SkipSpaces(byte[] buf, ref int p, ref int left)
    {
        while (left > 0 && IsSpace(buf[p]))
        {
            p++;
            left--;
        }
    }

    private static readonly byte[] WspaceSep = [(byte)' ', (byte)'\t', (byte)'\n'];

    /// <summary>proc_get_long: one (optionally negative) number in base 0 (0x.. hex, 0.. octal)
    /// that must be followed by one of <paramref name="permTr"/> or the end.</summary>
    internal static int GetLong(byte[] buf, ref int p, ref int left, out ulong val, out bool neg,
        ReadOnlySpan<byte> permTr, out byte tr)
    {
        val = 0;
        neg = false;
        tr = 0;
        if (left == 0) return -Errno.EINVAL;
        int len = Math.Min(left, TMPBUFLEN - 1);
        var tmp = new byte[len + 1];
        Array.Copy(buf, p, tmp, 0, len);
        int q = 0;
        if (tmp[q] == (byte)'-' && left > 1)
        {
            neg = true;
            q++;
        }
        if (tmp[q] < '0' || tmp[q] > '9') return -Errno.EINVAL;
        if (!StrtoulLenient(tmp, ref q, out val)) return -Errno.EINVAL;
        len = q;
        if (len == TMPBUFLEN - 1) return -Errno.EINVAL;
        if (len < left && permTr.Length > 0 && permTr.IndexOf(buf[p + len]) < 0) return -Errno.EINVAL;
        if (len < left) tr = buf[p + len];
        p += len;
        left -= len;
        return 0;
    }

    /// <summary>strtoul_lenient with _parse_integer_fixup_radix (base 0).</summary>
    private static bool StrtoulLenient(byte[] s, ref int q, out ulong result)
    {
        uint radix = 10;
        if (s[q] == '0')
        {
            if (q + 2 < s.Length && (s[q + 1] | 0x20) == 'x' && IsXDigit(s[q + 2]))
            {
                radix = 16;
                q += 2;
            }
            else radix = 8;
        }
        result = 0;
        bool overflow = false;
        while (q < s.Length)
        {
            byte c = s[q];
            uint d;
            if (c >= '0' && c <= '9') d = (uint)(c - '0');
            else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') d = (uint)((c | 0x20) - 'a' + 10);
            else break;
            if (d >= radix) break;
            if (result > (ulong.MaxValue - d) / radix) overflow = true;
            result = unchecked(result * radix + d);
            q++;
        }
        return !overflow;
    }

    private static bool IsXDigit(byte c) => (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');

    private static void PutLong(StringBuilder sb, ulong v, bool neg)
    {
        if (neg) sb.Append('-');
        sb.Append(v);
    }

    /// <summary>Element conversion of a write (the kernel's conv with write=1): false rejects it.</summary>
    public delegate bool WriteConv(CtlFile t, IProcData data, int i, bool neg, ulong lval);
    /// <summary>Element conversion of a read (conv with write=0).</summary>
    public delegate void ReadConv(long stored, out bool neg, out ulong lval);

    /// <summary>__do_proc_dointvec.</summary>
    public static int DoIntVec(CtlFile t, ProcIo io, IProcData? data, WriteConv w, ReadConv r)
    {
        if (data == null || data.Length == 0) { io.Consumed = 0; return 0; }
        int vleft = data.Length;
        if (!io.Write)
        {
            for (int i = 0; i < vleft; i++)
            {
                r(data[i], out bool neg, out ulong lval);
                if (i > 0) io.Output.Append('\t');
                PutLong(io.Output, lval, neg);
            }
            io.Output.Append('\n');
            return 0;
        }
        if (io.Input.Length == 0) { io.Consumed = 0; return 0; }
        if (io.Pos != 0) { io.Consumed = 0; return 0; } // SYSCTL_WRITES_STRICT
        var buf = io.Input;
        int p = 0, left = Math.Min(buf.Length, PAGE_SIZE - 1);
        int err = 0;
        bool first = true;
        for (int i = 0; left > 0 && vleft-- > 0; i++, first = false)
        {
            SkipSpaces(buf, ref p, ref left);
            if (left == 0) break;
            err = GetLong(buf, ref p, ref left, out ulong lval, out bool neg, WspaceSep, out _);
            if (err != 0) break;
            if (!w(t, data, i, neg, lval)) { err = -Errno.EINVAL; break; }
        }
        if (err == 0 && left > 0) SkipSpaces(buf, ref p, ref left);
        if (first) return err != 0 ? err : -Errno.EINVAL;
        // *lenp -= left: the trailing part that was not parsed is not consumed
        io.Consumed = buf.Length - left; // *lenp -= left
        return err;
    }

    // ---- int conversions -------------------------------------------------------------------------

    /// <summary>do_proc_dointvec_conv (read side).</summary>
    public static void IntRead(long stored, out bool neg, out ulong lval)
    {
        int val = unchecked((int)stored);
        neg = val < 0;
        lval = neg ? unchecked((ulong)(-(long)val)) : (ulong)val;
    }

    /// <summary>do_proc_dointvec_conv (write side) into a value.</summary>
    public static bool IntConv(bool neg, ulong lval, out int value)
    {
        value = 0;
        if (neg)
        {
            if (lval > (ulong)int.MaxValue + 1) return false;
            value = unchecked((int)-(long)lval);
        }
        else
        {
            if (lval > int.MaxValue) return false;
            value = (int)lval;
        }
        return true;
    }

    private static bool InRange(CtlFile t, long v) =>
        !(t.MinValue is long min && v < min) && !(t.MaxValue is long max && v > max);

    /// <summary>do_proc_dointvec_conv (and its _minmax variant, where extra1/extra2 bound every element).</summary>
    private static WriteConv IntWrite(bool minmax) => (t, d, i, neg, lval) =>
    {
        if (!IntConv(neg, lval, out int v) || (minmax && !InRange(t, v))) return false;
        d[i] = v;
        return true;
    };

    private static readonly WriteConv IntWritePlain = IntWrite(false), IntWriteMinMax = IntWrite(true);

    /// <summary>proc_dointvec.</summary>
    public static int DoIntVec(CtlFile t, ProcIo io) => DoIntVec(t, io, t.Data, IntWritePlain, IntRead);

    /// <summary>proc_dointvec_minmax (extra1/extra2 bound every element).</summary>
    public static int DoIntVecMinMax(CtlFile t, ProcIo io) => DoIntVec(t, io, t.Data, IntWriteMinMax, IntRead);

    /// <summary>proc_dointvec_jiffies: seconds in the file, jiffies in the data.</summary>
    public static int DoIntVecJiffies(CtlFile t, ProcIo io) => DoIntVec(t, io, t.Data, JiffiesWrite, JiffiesRead);

    private static bool JiffiesWrite(CtlFile t, IProcData d, int i, bool neg, ulong lval)
    {
        if (lval > int.MaxValue / HZ) return false;
        long v = neg ? -(long)lval * HZ : (long)lval * HZ;
        d[i] = unchecked((int)v);
        return true;
    }

    private static void JiffiesRead(long stored, out bool neg, out ulong lval)
    {
        IntRead(stored, out neg, out ulong abs);
        lval = abs / HZ;
    }

    /// <summary>proc_dointvec_userhz_jiffies: USER_HZ ticks (1/100 s) in the file.</summary>
    public static int DoIntVecUserHzJiffies(CtlFile t, ProcIo io) => DoIntVec(t, io, t.Data, UserHzWrite, UserHzRead);

    private static bool UserHzWrite(CtlFile t, IProcData d, int i, bool neg, ulong lval)
    {
        if (USER_HZ < HZ && lval > (ulong)(long.MaxValue / HZ) * USER_HZ) return false;
        ulong x = neg ? unchecked(0UL - lval) : lval;
        d[i] = unchecked((int)ClockTToJiffies(x));
        return true;
    }

    private static void UserHzRead(long stored, out bool neg, out ulong lval)
    {
        IntRead(stored, out neg, out ulong abs);
        lval = JiffiesToClockT(abs);
    }

    /// <summary>clock_t_to_jiffies (HZ not a multiple of USER_HZ).</summary>
    public static ulong ClockTToJiffies(ulong x)
    {
        if (x >= ulong.MaxValue / HZ * USER_HZ) return ulong.MaxValue;
        return unchecked(x * HZ) / USER_HZ; // div_u64((u64)x * HZ, USER_HZ): the product wraps
    }

    /// <summary>jiffies_to_clock_t.</summary>
    public static ulong JiffiesToClockT(ulong x) => unchecked(x * TickNsec) / (1_000_000_000UL / USER_HZ);

    /// <summary>do_proc_dointvec_ms_jiffies_conv (and its _minmax variant, bounds on the jiffies value).</summary>
    private static WriteConv MsJiffiesWrite(bool minmax) => (t, d, i, neg, lval) =>
    {
        if (!MsToJiffiesConv(neg, lval, out int jif) || (minmax && !InRange(t, jif))) return false;
        d[i] = jif;
        return true;
    };

    private static readonly WriteConv MsJiffiesWritePlain = MsJiffiesWrite(false), MsJiffiesWriteMinMax = MsJiffiesWrite(true);

    /// <summary>proc_dointvec_ms_jiffies: milliseconds in the file, jiffies in the data.</summary>
    public static int DoIntVecMsJiffies(CtlFile t, ProcIo io) => DoIntVec(t, io, t.Data, MsJiffiesWritePlain, MsJiffiesRead);

    /// <summary>proc_dointvec_ms_jiffies_minmax (the bounds apply to the jiffies value).</summary>
    public static int DoIntVecMsJiffiesMinMax(CtlFile t, ProcIo io) => DoIntVec(t, io, t.Data, MsJiffiesWriteMinMax, MsJiffiesRead);

    private static bool MsToJiffiesConv(bool neg, ulong lval, out int jif)
    {
        ulong j = MsecsToJiffies(unchecked((uint)(neg ? 0UL - lval : lval)));
        jif = 0;
        if (j > int.MaxValue) return false;
        jif = (int)j;
        return true;
    }

    private static void MsJiffiesRead(long stored, out bool neg, out ulong lval)
    {
        IntRead(stored, out neg, out ulong abs);
        lval = JiffiesToMsecs(abs);
    }

    /// <summary>msecs_to_jiffies (unsigned int argument; HZ divides 1000: rounds up).</summary>
    public static ulong MsecsToJiffies(uint m)
    {
        if ((int)m < 0) return MaxJiffyOffset;
        const uint perJiffy = 1000 / HZ;
        return (m + perJiffy - 1) / perJiffy;
    }

    /// <summary>jiffies_to_msecs (an unsigned int result).</summary>
    public static uint JiffiesToMsecs(ulong j) => unchecked((uint)(1000 / HZ * j));

    // ---- unsigned ---------------------------------------------------------------------------------

    /// <summary>__do_proc_douintvec for one value with bounds (proc_douintvec, proc_douintvec_minmax,
    /// proc_dou8vec_minmax): no sign accepted, not even "-0"; the whole write is consumed.</summary>
    public static int DoUIntVec(CtlFile t, ProcIo io, ulong typeMax)
    {
        var data = t.Data;
        if (data == null || data.Length == 0) { io.Consumed = 0; return 0; }
        if (data.Length != 1) { io.Consumed = 0; return -Errno.EINVAL; }
        if (!io.Write)
        {
            io.Output.Append(unchecked((ulong)data[0] & typeMax)).Append('\n');
            return 0;
        }
        if (io.Input.Length == 0) { io.Consumed = 0; return 0; }
        if (io.Pos != 0) return 0; // bail_early: the write counts as done
        var buf = io.Input;
        int p = 0, left = Math.Min(buf.Length, PAGE_SIZE - 1);
        SkipSpaces(buf, ref p, ref left);
        if (left == 0) return -Errno.EINVAL;
        int err = GetLong(buf, ref p, ref left, out ulong lval, out bool neg, WspaceSep, out _);
        if (err != 0 || neg) return -Errno.EINVAL;
        if (lval > typeMax) return -Errno.EINVAL;
        long v = unchecked((long)lval);
        if (t.MinValue is long min && (ulong)min > lval) return -Errno.EINVAL;
        if (t.MaxValue is long max && (ulong)max < lval) return -Errno.EINVAL;
        data[0] = v;
        return 0;
    }

    /// <summary>proc_douintvec / proc_douintvec_minmax.</summary>
    public static int DoUIntVec(CtlFile t, ProcIo io) => DoUIntVec(t, io, uint.MaxValue);

    /// <summary>proc_dou8vec_minmax (bounds default to 0..255).</summary>
    public static int DoU8VecMinMax(CtlFile t, ProcIo io) => DoUIntVec(t, io, byte.MaxValue);

    /// <summary>__do_proc_doulongvec_minmax (convmul = convdiv = 1).</summary>
    public static int DoULongVecMinMax(CtlFile t, ProcIo io)
    {
        var data = t.Data;
        if (data == null || data.Length == 0) { io.Consumed = 0; return 0; }
        int vleft = data.Length;
        if (!io.Write)
        {
            for (int i = 0; i < vleft; i++)
            {
                if (i > 0) io.Output.Append('\t');
                io.Output.Append(unchecked((ulong)data[i]));
            }
            io.Output.Append('\n');
            return 0;
        }
        if (io.Input.Length == 0) { io.Consumed = 0; return 0; }
        if (io.Pos != 0) { io.Consumed = 0; return 0; }
        var buf = io.Input;
        int p = 0, left = Math.Min(buf.Length, PAGE_SIZE - 1);
        int err = 0;
        bool first = true;
        for (int i = 0; left > 0 && vleft-- > 0; i++, first = false)
        {
            SkipSpaces(buf, ref p, ref left);
            if (left == 0) break;
            err = GetLong(buf, ref p, ref left, out ulong val, out bool neg, WspaceSep, out _);
            if (err != 0 || neg) { err = -Errno.EINVAL; break; }
            if ((t.MinValue is long min && val < unchecked((ulong)min)) || (t.MaxValue is long max && val > unchecked((ulong)max)))
            {
                err = -Errno.EINVAL;
                break;
            }
            data[i] = unchecked((long)val);
        }
        if (err == 0) SkipSpaces(buf, ref p, ref left);
        if (first) return err != 0 ? err : -Errno.EINVAL;
        io.Consumed = buf.Length - left;
        return err;
    }

    // ---- strings and bitmaps -----------------------------------------------------------------------

    /// <summary>_proc_do_string: a line of at most <paramref name="maxlen"/>-1 bytes.</summary>
    public static int DoString(CtlFile t, ProcIo io, int maxlen)
    {
        var s = t.Text;
        if (s == null) { io.Consumed = 0; return 0; }
        if (!io.Write)
        {
            var v = s.Value;
            io.Output.Append(v.Length > maxlen ? v[..maxlen] : v).Append('\n');
            return 0;
        }
        if (io.Input.Length == 0) { io.Consumed = 0; return 0; }
        string cur = s.Value;
        int len = Math.Min(Encoding.UTF8.GetByteCount(cur), maxlen - 1);
        if (io.Pos > len) return 0;
        var data = new List<byte>(Encoding.UTF8.GetBytes(cur).Take((int)io.Pos));
        len = (int)io.Pos;
        foreach (byte c in io.Input)
        {
            if (len >= maxlen - 1 || c == 0 || c == '\n') break;
            data.Add(c);
            len++;
        }
        s.Value = Encoding.UTF8.GetString(data.ToArray());
        return 0;
    }

    /// <summary>Parses a proc_do_large_bitmap list ("1-5,10") into the set bits below
    /// <paramref name="bits"/>; null when malformed or out of range.</summary>
    public static SortedSet<int>? ParseBitmapList(byte[] input, int bits)
    {
        var set = new SortedSet<int>();
        int p = 0, left = Math.Min(input.Length, PAGE_SIZE - 1);
        ReadOnlySpan<byte> trA = [(byte)'-', (byte)',', (byte)'\n'];
        ReadOnlySpan<byte> trB = [(byte)',', (byte)'\n'];
        SkipSpaces(input, ref p, ref left);
        while (left > 0)
        {
            if (GetLong(input, ref p, ref left, out ulong a, out bool neg, trA, out byte c) != 0 || neg) return null;
            if (a >= (ulong)bits) return null;
            ulong b = a;
            if (c == '-')
            {
                p++;
                left--;
                if (GetLong(input, ref p, ref left, out b, out neg, trB, out c) != 0 || neg) return null;
                if (b >= (ulong)bits || a > b) return null;
            }
            for (ulong x = a; x <= b; x++) set.Add((int)x);
            if (left > 0 && c == ',')
            {
                p++;
                left--;
                continue;
            }
            SkipSpaces(input, ref p, ref left);
            if (left > 0) return null;
        }
        return set;
    }

    /// <summary>The text form of a bitmap: ranges joined by commas.</summary>
    public static string FormatBitmapList(IEnumerable<int> bits)
    {
        var sb = new StringBuilder();
        int start = -1, prev = -2;
        void Flush()
        {
            if (start < 0) return;
            if (sb.Length > 0) sb.Append(',');
            sb.Append(start);
            if (prev != start) sb.Append('-').Append(prev);
        }
        foreach (int b in bits)
        {
            if (b == prev + 1) { prev = b; continue; }
            Flush();
            start = prev = b;
        }
        Flush();
        return sb.ToString();
    }
}
