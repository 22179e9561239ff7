namespace VirtKernel.Model;

/// <summary>jiffies and clock_t as the reference kernel has them (CONFIG_HZ=250, USER_HZ=100).
/// Values that user space sets in clock_t go through jiffies and back with the kernel's integer
/// arithmetic, so rounding shows the same way (125 s / 4 reads back as 3124 centiseconds).</summary>
public static class Jiffies
{
    public const int HZ = 250;
    public const int USER_HZ = 100;
    private const long TickNsec = 1_000_000_000L / HZ;        // TICK_NSEC
    private const long NsecPerUserTick = 1_000_000_000L / USER_HZ;

    /// <summary>jiffies now: the kernel clock's milliseconds at HZ resolution.</summary>
    public static long Now(Kernel k) => k.Clock.NowMs * HZ / 1000;

    /// <summary>The millisecond instant a jiffies value stands for (for the timer queue).</summary>
    public static long ToMs(long jiffies) => jiffies * 1000 / HZ;

    /// <summary>jiffies_to_clock_t (HZ=250: x * TICK_NSEC / (NSEC_PER_SEC / USER_HZ)).</summary>
    public static long ToClockT(long x) => x * TickNsec / NsecPerUserTick;

    /// <summary>jiffies_delta_to_clock_t: negative deltas read as 0.</summary>
    public static long DeltaToClockT(long delta) => ToClockT(Math.Max(0, delta));

    /// <summary>clock_t_to_jiffies (HZ % USER_HZ != 0: x * HZ / USER_HZ, saturating).</summary>
    public static long FromClockT(ulong x)
    {
        if (x >= ulong.MaxValue / HZ * USER_HZ) return long.MaxValue;
        ulong j = x * HZ / USER_HZ;
        return j > long.MaxValue ? long.MaxValue : (long)j;
    }

    /// <summary>msecs_to_jiffies (rounding up, as the kernel does for HZ dividing 1000).</summary>
    public static long FromMs(long ms) => (ms * HZ + 999) / 1000;

    /// <summary>round_jiffies: to the next whole second.</summary>
    public static long Round(long j) => (j + HZ - 1) / HZ * HZ;
}

/// <summary>struct timer_list on top of the kernel's timer queue: mod_timer / del_timer /
/// timer_pending, with the expiry in jiffies so that remaining times can be reported.</summary>
public sealed class KTimer
{
    private readonly Kernel _kernel;
    private readonly Action _fn;
    private TimerQueue.Timer? _t;

    public KTimer(Kernel kernel, Action fn)
    {
        _kernel = kernel;
        _fn = fn;
    }

    /// <summary>timer->expires (jiffies).</summary>
    public long Expires { get; private set; }

    /// <summary>timer_pending.</summary>
    public bool Pending => _t is { Armed: true };

    /// <summary>mod_timer.</summary>
    public void Mod(long expires)
    {
        Expires = expires;
        _t = _kernel.Timers.Arm(_t, Jiffies.ToMs(expires), _fn);
    }

    /// <summary>timer_delete.</summary>
    public void Delete() => TimerQueue.Cancel(_t);

    /// <summary>Remaining jiffies, 0 when not pending.</summary>
    public long Remaining(long now) => Pending ? Expires - now : 0;
}
