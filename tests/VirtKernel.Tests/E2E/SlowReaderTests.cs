using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace VirtKernel.Tests.E2E;

/// <summary>A monitor socket that stops reading, end to end, unprivileged: it gets ENOBUFS (once),
/// its queue in the daemon stays bounded by its receive buffer while thousands of notifications
/// go by, and everybody else is served as before — a monitor that keeps reading gets every event,
/// requests are answered at once. A socket with NETLINK_NO_ENOBUFS loses messages silently. Once a
/// slow reader has drained its queue it hears new events again (the congestion is over).</summary>
[Collection("e2e")]
public class SlowReaderTests(VkEnvironment env, Xunit.Abstractions.ITestOutputHelper log)
{
    /// <summary>A netlink socket subscribed to RTNLGRP_LINK that reads nothing until the file named
    /// by its first argument exists, then reads what was kept, then waits for one more event.</summary>
    private const string Reader = """
import os, socket, sys, time
go, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
if mode == 'noenobufs':
    s.setsockopt(270, 5, 1)  # SOL_NETLINK, NETLINK_NO_ENOBUFS
s.bind((0, 1))  # RTMGRP_LINK
print('ready', flush=True)
while not os.path.exists(go):
    time.sleep(0.02)
s.setblocking(False)
events, errors = 0, []
while True:
    try:
        d = s.recv(1 << 16)
    except BlockingIOError:
        break
    except OSError as e:
        errors.append(e.errno)
        continue
    off = 0
    while off + 16 <= len(d):
        events += 1
        off += (int.from_bytes(d[off:off + 4], 'little') + 3) & ~3
print('errors', ','.join(map(str, errors)) or '-', 'events', events, flush=True)
s.settimeout(30)
# the first RTM_NEWLINK after the drain (the shim refills a socket from the daemon's queue as it
# is read, so a late message of the flood may still come first)
found = False
while not found:
    d = s.recv(1 << 16)
    off = 0
    while off + 16 <= len(d):
        if int.from_bytes(d[off + 4:off + 6], 'little') == 16:
            found = True
        off += (int.from_bytes(d[off:off + 4], 'little') + 3) & ~3
print('after', 16, flush=True)
""";

    private sealed class Collected
    {
        private readonly StringBuilder _sb = new();
        public void Add(string? line)
        {
            if (line == null) return;
            lock (_sb) _sb.Append(line).Append('\n');
        }
        public string Text { get { lock (_sb) return _sb.ToString(); } }
    }

    private Process StartCollected(IEnumerable<string> argv, DaemonProcess d, Collected into)
    {
        var psi = env.Command(argv, d.Socket, shim: true);
        var p = Process.Start(psi)!;
        p.StandardInput.Close();
        p.OutputDataReceived += (_, e) => into.Add(e.Data);
        p.BeginOutputReadLine();
        return p;
    }

    private static void WaitFor(Func<bool> cond, string what, int seconds = 30)
    {
        var sw = Stopwatch.StartNew();
        while (!cond())
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(seconds)) Assert.Fail("timed out waiting for " + what);
            Thread.Sleep(20);
        }
    }

    private static long StatusNumber(string status, string pattern)
    {
        var m = Regex.Match(status, pattern);
        Assert.True(m.Success, $"'{pattern}' not in the status:\n{status}");
        return long.Parse(m.Groups[1].Value);
    }

    [Fact]
    public void StuckMonitorGetsEnobufsOnceStaysBoundedAndDelaysNobody()
    {
        using var d = new DaemonProcess(env);
        string dir = Path.GetDirectoryName(d.Socket)!;
        string go = Path.Combine(dir, "go");
        string script = Path.Combine(dir, "reader.py");
        File.WriteAllText(script, Reader);
        if (env.RunAs is var (uid, gid)) Mono.Unix.Native.Syscall.chown(script, uid, gid);

        var slow = new Collected();
        var quiet = new Collected();
        var mon = new Collected();
        using var slowP = StartCollected(["/usr/bin/python3", script, go, "enobufs"], d, slow);
        using var quietP = StartCollected(["/usr/bin/python3", script, go, "noenobufs"], d, quiet);
        using var monP = StartCollected([VkEnvironment.Ip, "monitor", "link"], d, mon);
        WaitFor(() => slow.Text.Contains("ready") && quiet.Text.Contains("ready"), "the readers");
        Thread.Sleep(800); // ip monitor subscribes as it starts

        // 20 rounds of 25 veth pairs created and deleted: 2000 link notifications (about 2.8 MB), far
        // more than a stuck socket may keep; each round fits the running monitor's receive buffer
        const int rounds = 20, pairs = 25;
        var batch = Path.Combine(dir, "batch");
        int expectedLines = 0;
        var slowest = TimeSpan.Zero;
        long heapBefore = StatusNumber(d.Status(), @"managed heap (\d+) KiB");
        for (int r = 0; r < rounds; r++)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < pairs; i++)
            {
                string n = $"{r}x{i}";
                sb.Append($"link add v{n} type veth peer name p{n}\nlink del v{n}\n");
            }
            File.WriteAllText(batch, sb.ToString());
            if (env.RunAs is var (u2, g2)) Mono.Unix.Native.Syscall.chown(batch, u2, g2);
            var (o, rc) = env.Run([VkEnvironment.Ip, "-batch", batch], d.Socket);
            Assert.True(rc == 0, o);
            expectedLines += 4 * pairs; // NEWLINK of the peer and the device, DELLINK of both

            // a request made while the stuck sockets' queues are full is answered at once
            var sw = Stopwatch.StartNew();
            var (lo, lrc) = env.Run([VkEnvironment.Ip, "link", "show", "lo"], d.Socket);
            Assert.True(lrc == 0 && lo.StartsWith("1: lo:"), lo);
            if (sw.Elapsed > slowest) slowest = sw.Elapsed;

            // the monitor that reads gets every event
            int want = expectedLines;
            WaitFor(() => Regex.Matches(mon.Text, @"^(\d+: |Deleted )", RegexOptions.Multiline).Count >= want,
                $"ip monitor to print {want} events (it printed {Regex.Matches(mon.Text, @"^(\d+: |Deleted )", RegexOptions.Multiline).Count})");
        }
        Assert.True(slowest < TimeSpan.FromSeconds(5), $"ip link show took {slowest} while sockets were stuck");
        Assert.Equal(expectedLines, Regex.Matches(mon.Text, @"^(\d+: |Deleted )", RegexOptions.Multiline).Count);

        // the daemon holds at most a receive buffer's worth (212992 bytes by default, plus the
        // message that went over it) for each stuck socket, and dropped the rest
        string status = d.Status();
        long largest = StatusNumber(status, @"netlink queued \d+ bytes, largest (\d+)");
        long queued = StatusNumber(status, @"netlink queued (\d+) bytes");
        long dropped = StatusNumber(status, @"dropped (\d+) messages");
        Assert.InRange(largest, 150_000, 212_992 + 4096);
        Assert.InRange(queued, 300_000, 2 * (212_992 + 4096) + 64 * 1024);
        Assert.True(dropped > 1000, status);
        long heapAfter = StatusNumber(status, @"managed heap (\d+) KiB");
        Assert.True(heapAfter - heapBefore < 16 * 1024, $"managed heap grew from {heapBefore} to {heapAfter} KiB");

        // the stuck readers read what was kept: ENOBUFS once for the one that wants to know
        File.WriteAllText(go, "");
        WaitFor(() => slow.Text.Contains("events") && quiet.Text.Contains("events"), "the readers to drain");
        var s1 = Regex.Match(slow.Text, @"errors (\S+) events (\d+)");
        var s2 = Regex.Match(quiet.Text, @"errors (\S+) events (\d+)");
        Assert.Equal("105", s1.Groups[1].Value); // ENOBUFS, once
        Assert.Equal("-", s2.Groups[1].Value);   // NETLINK_NO_ENOBUFS: never
        int kept1 = int.Parse(s1.Groups[2].Value), kept2 = int.Parse(s2.Groups[2].Value);
        log.WriteLine($"{expectedLines} events; slowest ip link show {slowest.TotalMilliseconds:F0} ms; daemon queues " +
                      $"{queued} bytes (largest {largest}), {dropped} dropped; managed heap {heapBefore} -> {heapAfter} KiB; " +
                      $"stuck readers kept {kept1} (ENOBUFS once) and {kept2} (NETLINK_NO_ENOBUFS)");
        Assert.InRange(kept1, 50, expectedLines / 2);
        Assert.InRange(kept2, 50, expectedLines / 2);

        // drained, they hear new events again
        var (ao, arc) = env.Run([VkEnvironment.Ip, "link", "add", "last", "type", "veth", "peer", "name", "last1"], d.Socket);
        Assert.True(arc == 0, ao);
        WaitFor(() => slow.Text.Contains("after") && quiet.Text.Contains("after"), "the drained readers to hear a new event");
        Assert.Contains("after 16", slow.Text); // RTM_NEWLINK
        Assert.Contains("after 16", quiet.Text);
        Assert.False(d.Exited);
        monP.Kill();
    }
}
