using System.Buffers.Binary;
using System.Diagnostics;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using VirtKernel.Protocol.Shim;
using VirtKernel.Tests.Support;
using Xunit.Abstractions;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Fuzz;

/// <summary>Random and mutated requests sent to a running daemon (the real `vk serve` process, over
/// its Unix socket, in the shim's frame format): every request must get its answer as
/// netlink_rcv_skb gives it (an ACK or error, or a dump ending in DONE, or nothing where the kernel
/// says nothing), no answer may be lost or made up, and the daemon must still serve normal requests
/// afterwards. Seeded and reproducible: VK_FUZZ_SEED and VK_FUZZ_COUNT override the seed and the
/// number of datagrams; a failure names the seed, the datagram index and its bytes.</summary>
public class DaemonFuzzTests(ITestOutputHelper output)
{
    private const int DefaultSeed = 0x5eed_2024;
    private const int DefaultCount = 100_000;
    private const int Batch = 8;
    private const int Pid = 31337;

    /// <summary>What one message of a sent datagram must get back, from its own bytes.</summary>
    private readonly record struct Expect(uint Seq, bool Handled, bool Ack);

    /// <summary>netlink_rcv_skb's walk: the messages that will be looked at, and what each gets.</summary>
    private static List<Expect> Walk(ReadOnlySpan<byte> dg)
    {
        var list = new List<Expect>();
        int off = 0;
        while (dg.Length - off >= NlMsgHdr.Size)
        {
            var h = NlMsgHdr.Read(dg[off..]);
            if (h.Len < NlMsgHdr.Size || h.Len > dg.Length - off) break;
            bool handled = (h.Flags & NLM_F_REQUEST) != 0 && h.Type >= NLMSG_MIN_TYPE;
            list.Add(new Expect(h.Seq, handled, (h.Flags & NLM_F_ACK) != 0));
            off += Math.Min(Nl.Align((int)h.Len), dg.Length - off);
        }
        return list;
    }

    [Fact]
    public void HundredThousandMutatedRequestsAllGetTheirAnswer()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("VK_FUZZ_SEED"), out var s) ? s : DefaultSeed;
        int count = int.TryParse(Environment.GetEnvironmentVariable("VK_FUZZ_COUNT"), out var n) ? n : DefaultCount;
        var rng = new Random(seed);
        var corpus = new FuzzCorpus(rng);
        var mutator = new Mutator(rng, corpus);
        var sw = Stopwatch.StartNew();

        using var daemon = new DaemonProcess();
        using var data = ShimClient.OpenData(daemon.SocketPath, Pid);
        using (var ctl = ShimClient.OpenControl(daemon.SocketPath))
        {
            // extended ACKs and strict checking: the paths with the most to get wrong
            Assert.Equal(0, ctl.SetSockOpt(data.SockId, NETLINK_EXT_ACK, true));
            Assert.Equal(0, ctl.SetSockOpt(data.SockId, NETLINK_GET_STRICT_CHK, rng.Next(2) == 0));
        }
        uint port = SockName(daemon.SocketPath, data.SockId);

        var sent = new List<byte[]>(Batch);
        long messages = 0, answers = 0, dumps = 0;
        var errors = new Dictionary<int, int>(); // error field of every NLMSG_ERROR: how deep the requests got
        for (int i = 0; i < count; i += Batch)
        {
            sent.Clear();
            var expects = new List<Expect>();
            for (int k = 0; k < Batch && i + k < count; k++)
            {
                var dg = corpus.Next();
                BinaryPrimitives.WriteUInt32LittleEndian(dg.AsSpan(8), (uint)(i + k + 1)); // nlmsg_seq
                if (rng.Next(10) != 0) dg = mutator.Mutate(dg);
                sent.Add(dg);
                expects.AddRange(Walk(dg));
                data.Send(dg);
            }
            messages += expects.Count;
            uint sync = 0xa5000000u + (uint)rng.Next(1 << 20);
            while (expects.Any(e => e.Seq == sync)) sync++;
            data.Send(Requests.Message(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, sync, _ => { }));

            string? failure;
            try { failure = CheckAnswers(data, port, expects, sync, errors, ref answers, ref dumps); }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
                failure = $"no answer ({e.Message}); daemon {(daemon.HasExited ? "exited" : "alive")}";
            }
            if (failure != null)
            {
                Assert.Fail($"seed {seed}, datagrams {i}..{i + sent.Count - 1}: {failure}\n" +
                    string.Join("\n", sent.Select((d, k) => $"  [{i + k}] {Convert.ToHexString(d)}")) +
                    $"\ndaemon output:\n{daemon.Output}");
            }
            if ((i / Batch) % 250 == 249) Cleanup(daemon.SocketPath);
        }

        // still serving: the fuzzed socket, and a new connection doing what `ip` does
        Assert.False(daemon.HasExited, daemon.Output);
        Assert.Equal([0], Exchange(data, port, Requests.SetUp(1, true, 7)));
        Cleanup(daemon.SocketPath);
        using (var fresh = ShimClient.OpenData(daemon.SocketPath, Pid + 1))
        {
            uint p2 = SockName(daemon.SocketPath, fresh.SockId);
            Assert.Equal([0], Exchange(fresh, p2, Requests.AddVeth("after0", "after1", 1)));
            // lo (perhaps renamed by the fuzzing), then the new pair, the peer first
            var links = DumpLinks(fresh);
            Assert.Equal(3, links.Count);
            Assert.Equal(["after1", "after0"], links[1..].Select(l => l.Name));
            Assert.Equal(links[1].Index + 1, links[2].Index);
            Assert.Equal([0], Exchange(fresh, p2, Requests.AddAddr(links[2].Index, [192, 0, 2, 1], 24, 2)));
            Assert.Equal([-VirtKernel.Protocol.Errno.EEXIST], Exchange(fresh, p2, Requests.AddAddr(links[2].Index, [192, 0, 2, 1], 24, 3)));
        }
        Assert.DoesNotContain("Unhandled exception", daemon.Output);
        Assert.False(daemon.HasExited, daemon.Output);
        output.WriteLine($"seed {seed}: {count} datagrams, {messages} messages walked, {answers} answers, {dumps} dumps, {sw.Elapsed.TotalSeconds:F1} s");
        output.WriteLine("errors: " + string.Join(", ", errors.OrderByDescending(kv => kv.Value).Select(kv => $"{NlTreeFormatter.ErrnoText(kv.Key)} x{kv.Value}")));
        // the corpus must keep reaching the handlers: successes and many kinds of errors
        if (count >= DefaultCount)
        {
            Assert.True(errors.GetValueOrDefault(0) > count / 20, "too few requests succeed");
            Assert.True(errors.Count > 8, "too few kinds of errors");
        }
    }

    /// <summary>Reads until the sync ACK has come and every dump has ended, then checks the answers
    /// against what netlink_rcv_skb owes each message. Null when all is well.</summary>
    private static string? CheckAnswers(ShimClient c, uint port, List<Expect> expects, uint sync, Dictionary<int, int> errors,
        ref long answers, ref long dumps)
    {
        var terminal = new Dictionary<uint, (int Errors, int Acks, int Dones)>();
        var openDumps = new HashSet<uint>();
        bool synced = false;
        while (!synced || openDumps.Count > 0)
        {
            var (rx, dg) = c.Receive();
            if (rx.Op != RxOp.Data) return $"a frame of op {rx.Op}";
            if (rx.A != 0) return $"a datagram from port {rx.A}, not the kernel";
            int off = 0;
            if (dg.Length < NlMsgHdr.Size) return $"a datagram of {dg.Length} bytes";
            while (off < dg.Length)
            {
                if (dg.Length - off < NlMsgHdr.Size) return $"{dg.Length - off} bytes after the last message";
                var h = NlMsgHdr.Read(dg.AsSpan(off));
                if (h.Len < NlMsgHdr.Size || h.Len > dg.Length - off) return $"a reply with nlmsg_len {h.Len} at {off} of {dg.Length}";
                if (h.Pid != port) return $"a reply to port {h.Pid}, not {port}";
                var msg = dg.AsSpan(off, (int)h.Len);
                if (h.Type == NLMSG_ERROR && h.Seq == sync)
                {
                    if (synced) return "two sync ACKs";
                    synced = true;
                }
                else if (h.Type == NLMSG_ERROR)
                {
                    if (h.Len < NlMsgHdr.Size + 4 + NlMsgHdr.Size) return $"a {h.Len}-byte NLMSG_ERROR";
                    int err = BinaryPrimitives.ReadInt32LittleEndian(msg[NlMsgHdr.Size..]);
                    if (err > 0 || err < -4095) return $"NLMSG_ERROR with error {err}";
                    var t = terminal.GetValueOrDefault(h.Seq);
                    terminal[h.Seq] = err == 0 ? t with { Acks = t.Acks + 1 } : t with { Errors = t.Errors + 1 };
                    errors[err] = errors.GetValueOrDefault(err) + 1;
                    // the extended ACK must parse
                    try { NlMessageTree.Parse(msg, RtnlSchema.Schema); }
                    catch (FormatException e) { return $"an unparsable NLMSG_ERROR: {e.Message}"; }
                    answers++;
                }
                else if (h.Type == NLMSG_DONE)
                {
                    if ((h.Flags & NLM_F_MULTI) == 0) return "NLMSG_DONE without NLM_F_MULTI";
                    var t = terminal.GetValueOrDefault(h.Seq);
                    terminal[h.Seq] = t with { Dones = t.Dones + 1 };
                    openDumps.Remove(h.Seq);
                    answers++;
                    dumps++;
                }
                else if ((h.Flags & NLM_F_MULTI) != 0)
                {
                    // (a seq may be shared: a later dump with the same seq may run after the first's DONE)
                    if (terminal.TryGetValue(h.Seq, out var t) && t.Dones >= expects.Count(e => e.Seq == h.Seq))
                        return $"dump data for seq {h.Seq} after its DONE";
                    openDumps.Add(h.Seq);
                }
                else if (h.Type < NLMSG_MIN_TYPE) return $"a reply of control type {h.Type}";
                off += Nl.Align((int)h.Len);
            }
        }

        foreach (var g in expects.GroupBy(e => e.Seq))
        {
            int min = 0, max = 0, acksAllowed = 0;
            foreach (var e in g)
            {
                if (e.Handled && e.Ack) { min++; max++; acksAllowed++; }
                else if (e.Handled) max++;               // an error or a dump; silence on success
                else if (e.Ack) { min++; max++; acksAllowed++; } // not a request, or a control type: ACK 0
            }
            var t = terminal.GetValueOrDefault(g.Key);
            int got = t.Errors + t.Acks + t.Dones;
            if (got < min) return $"seq {g.Key}: {got} answers, {min} expected (lost answer)";
            if (got > max) return $"seq {g.Key}: {got} answers, at most {max} expected";
            if (t.Acks > acksAllowed) return $"seq {g.Key}: {t.Acks} ACKs for {acksAllowed} messages asking for one";
            terminal.Remove(g.Key);
        }
        if (terminal.Count > 0) return $"answers to seq {string.Join(", ", terminal.Keys)} that nobody asked";
        return null;
    }

    /// <summary>bind(pid 0): the kernel autobinds; the port id every answer names.</summary>
    private static uint SockName(string path, uint sockId)
    {
        using var ctl = ShimClient.OpenControl(path);
        var (ret, payload) = ctl.CallWithPayload(CtlOp.Bind, sockId, new byte[8]);
        Assert.Equal(0, ret);
        return BinaryPrimitives.ReadUInt32LittleEndian(payload);
    }

    /// <summary>Sends one request and returns the error fields of the NLMSG_ERRORs answering it.</summary>
    private static List<int> Exchange(ShimClient c, uint port, byte[] request)
    {
        c.Send(request);
        uint seq = NlMsgHdr.Read(request).Seq;
        var errs = new List<int>();
        while (true)
        {
            var (_, dg) = c.Receive();
            foreach (var m in NlBytes.Messages(dg))
            {
                var h = NlMsgHdr.Read(m);
                Assert.Equal(port, h.Pid);
                if (h.Type == NLMSG_ERROR && h.Seq == seq) errs.Add(BinaryPrimitives.ReadInt32LittleEndian(m.AsSpan(16)));
            }
            if (errs.Count > 0) return errs;
        }
    }

    private static List<(int Index, string Name)> DumpLinks(ShimClient c)
    {
        c.Send(Requests.Dump(RTM_GETLINK, AF_UNSPEC, IfInfoMsg.Size, seq: 99));
        var names = new List<(int, string)>();
        while (true)
        {
            var (_, dg) = c.Receive();
            foreach (var m in NlBytes.Messages(dg))
            {
                var t = NlBytes.Tree(m);
                if (t.Header.Type == NLMSG_DONE) return names;
                if (t.Header.Type == RTM_NEWLINK) names.Add((IfInfoMsg.Read(t.Fixed).Index, t.Attr(IFLA_IFNAME)!.Value.String));
            }
        }
    }

    /// <summary>Deletes every device but lo and every address left on lo, over a connection of its
    /// own, so that the fuzzed namespace stays small (dumps stay cheap).</summary>
    private static void Cleanup(string path)
    {
        using var c = ShimClient.OpenData(path, Pid + 2);
        uint seq = 1000;
        c.Send(Requests.Dump(RTM_GETLINK, AF_UNSPEC, IfInfoMsg.Size, seq: seq++));
        var indexes = new List<int>();
        var addrs = new List<byte[]>();
        bool done = false;
        while (!done)
        {
            var (_, dg) = c.Receive();
            foreach (var m in NlBytes.Messages(dg))
            {
                var h = NlMsgHdr.Read(m);
                if (h.Type == NLMSG_DONE) done = true;
                else if (h.Type == RTM_NEWLINK && IfInfoMsg.Read(m.AsSpan(NlMsgHdr.Size)).Index is int idx && idx > 1) indexes.Add(idx);
            }
        }
        foreach (var idx in indexes)
        {
            c.Send(Requests.Message(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq++,
                w => new IfInfoMsg { Index = idx }.Write(w.Reserve(IfInfoMsg.Size))));
            c.Receive();
        }
        c.Send(Requests.Dump(RTM_GETADDR, AF_UNSPEC, IfAddrMsg.Size, seq: seq++));
        done = false;
        while (!done)
        {
            var (_, dg) = c.Receive();
            foreach (var m in NlBytes.Messages(dg))
            {
                var h = NlMsgHdr.Read(m);
                if (h.Type == NLMSG_DONE) done = true;
                else if (h.Type == RTM_NEWADDR) addrs.Add(m);
            }
        }
        foreach (var a in addrs)
        {
            var del = a.ToArray();
            BinaryPrimitives.WriteUInt16LittleEndian(del.AsSpan(4), RTM_DELADDR);
            BinaryPrimitives.WriteUInt16LittleEndian(del.AsSpan(6), NLM_F_REQUEST | NLM_F_ACK);
            BinaryPrimitives.WriteUInt32LittleEndian(del.AsSpan(8), seq++);
            c.Send(del);
            c.Receive();
        }
    }
}
