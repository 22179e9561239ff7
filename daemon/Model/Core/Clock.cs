using System.Diagnostics;

namespace VirtKernel.Model;

/// <summary>The kernel's notion of time: a monotonic millisecond counter (jiffies) and the wall
/// clock. Tests use <see cref="ManualClock"/> to make lifetimes and timers deterministic.</summary>
public interface IClock
{
    long NowMs { get; }
}

public sealed class SystemClock : IClock
{
    private readonly long _start = Stopwatch.GetTimestamp();
    // Start well above zero, as jiffies do, so that "time before boot" never shows up as negative.
    public long NowMs => 300_000 + (long)Stopwatch.GetElapsedTime(_start).TotalMilliseconds;
}

public sealed class ManualClock : IClock
{
    public long NowMs { get; private set; } = 300_000;
    public void Advance(long ms) => NowMs += ms;
}

/// <summary>Timers of the model (address lifetimes, DAD, bridge timers), run by whoever drives the
/// kernel (the server loop, or a test) through <see cref="Kernel.RunTimers"/>.</summary>
public sealed class TimerQueue
{
    public sealed class Timer
    {
        internal long Due;
        internal Action Callback = null!;
        internal bool Armed;
        internal long Seq;
    }

    private readonly PriorityQueue<Timer, (long, long)> _queue = new();
    private long _seq;

    /// <summary>mod_timer: (re)arms <paramref name="t"/> to fire at <paramref name="due"/>.</summary>
    public Timer Arm(Timer? t, long due, Action callback)
    {
        t ??= new Timer();
        t.Due = due; t.Callback = callback; t.Armed = true; t.Seq = ++_seq;
        _queue.Enqueue(t, (due, t.Seq));
        return t;
    }

    /// <summary>del_timer.</summary>
    public static void Cancel(Timer? t)
    {
        if (t != null) t.Armed = false;
    }

    public long? NextDue
    {
        get
        {
            while (_queue.TryPeek(out var t, out var key))
            {
                if (t.Armed && t.Seq == key.Item2) return t.Due;
                _queue.Dequeue();
            }
            return null;
        }
    }

    /// <summary>Runs every armed timer due at or before <paramref name="now"/>; returns how many ran.</summary>
    public int RunDue(long now)
    {
        int n = 0;
        while (_queue.TryPeek(out var t, out var key) && key.Item1 <= now)
        {
            _queue.Dequeue();
            if (!t.Armed || t.Seq != key.Item2) continue;
            t.Armed = false;
            t.Callback();
            n++;
        }
        return n;
    }
}
