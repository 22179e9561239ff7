using System.Buffers.Binary;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using VirtKernel.Tests.Codec;
using VirtKernel.Tests.Support;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Wire;

/// <summary>Request bytes in, reply bytes out, through <see cref="Daemon.Server.StreamTransport"/> on
/// an in-memory duplex stream. Where the socket's port id is the one the kernel's answer names,
/// replies are compared byte for byte with the answers captured on Linux 6.18.</summary>
public class StreamWireTests
{
    private static uint PortOf(byte[] capture) => NlMsgHdr.Read(capture).Pid;

    [Fact]
    public async Task TheIpLinkProbeGetsThe52ByteEnodev()
    {
        // what `ip link add` sends first; the kernel answers -ENODEV echoing the whole request
        await using var c = new WireClient(SockOpts.ExtAck, (int)PortOf(KernelCaptures.ErrorProbe));
        var replies = await c.ExchangeAsync(KernelCaptures.ReqProbe);
        Assert.Single(replies);
        Assert.Equal(52, replies[0].Length);
        Assert.Equal(KernelCaptures.ErrorProbe, replies[0]);
    }

    [Fact]
    public async Task AnAckIs36BytesAndCapped()
    {
        await using var c = new WireClient(SockOpts.ExtAck, (int)PortOf(KernelCaptures.AckSetLink));
        var req = Requests.Message(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, 2,
            w => new IfInfoMsg { Index = 1 }.Write(w.Reserve(IfInfoMsg.Size)));
        var replies = await c.ExchangeAsync(req);
        Assert.Equal([KernelCaptures.AckSetLink], replies);
        var ack = NlBytes.Tree(replies[0]);
        Assert.Equal((36, NLM_F_CAPPED, 0), (ack.Length, (int)ack.Header.Flags, ack.Error));
        // without NLM_F_ACK a success is silent
        Assert.Empty(await c.ExchangeAsync(Requests.Message(RTM_SETLINK, NLM_F_REQUEST, 3,
            w => new IfInfoMsg { Index = 1 }.Write(w.Reserve(IfInfoMsg.Size)))));
    }

    [Fact]
    public async Task AnErrorEchoesTheWholeRequestWithExtack()
    {
        var capture = KernelCaptures.ErrorIfnameTooLong;
        await using var c = new WireClient(SockOpts.ExtAck, (int)PortOf(capture));
        var request = NlMessageTree.Parse(capture, RtnlSchema.Schema).Echoed!.ToBytes();
        var replies = await c.ExchangeAsync(request);
        Assert.Equal([capture], replies);
    }

    [Fact]
    public async Task CapAckEchoesOnlyTheHeader()
    {
        var request = NlMessageTree.Parse(KernelCaptures.ErrorIfnameTooLong, RtnlSchema.Schema).Echoed!.ToBytes();
        await using var c = new WireClient(SockOpts.ExtAck | SockOpts.CapAck);
        var m = NlBytes.Tree((await c.ExchangeAsync(request)).Single());
        Assert.Equal(NLM_F_CAPPED | NLM_F_ACK_TLVS, m.Header.Flags);
        Assert.True(m.Echoed!.IsHeaderOnly);
        Assert.Equal(request.AsSpan(0, NlMsgHdr.Size).ToArray(), m.Fixed.AsSpan(4, NlMsgHdr.Size).ToArray());
        Assert.Equal("Attribute failed policy validation", m.Attr(NLMSGERR_ATTR_MSG)!.Value.String);
        Assert.NotNull(m.Attr(NLMSGERR_ATTR_POLICY));
        // and an error without extack: 36 bytes
        var enodev = Requests.Message(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, 9,
            w => new IfInfoMsg { Index = 99 }.Write(w.Reserve(IfInfoMsg.Size)));
        var e = NlBytes.Tree((await c.ExchangeAsync(enodev)).Single());
        Assert.Equal((36, NLM_F_CAPPED, -Errno.ENODEV), (e.Length, (int)e.Header.Flags, e.Error));
    }

    [Fact]
    public async Task ExtackTlvsOnlyWithExtAck()
    {
        var request = NlMessageTree.Parse(KernelCaptures.ErrorIfnameTooLong, RtnlSchema.Schema).Echoed!.ToBytes();
        await using var c = new WireClient(SockOpts.None);
        var m = NlBytes.Tree((await c.ExchangeAsync(request)).Single());
        Assert.Equal(0, m.Header.Flags);
        Assert.Empty(m.Attributes);
        Assert.Equal(-Errno.ERANGE, m.Error);
        Assert.Equal(NlMsgHdr.Size + 4 + request.Length, m.Length);
        // turned on later, on the same socket
        c.SetOpt(NETLINK_EXT_ACK, true);
        m = NlBytes.Tree((await c.ExchangeAsync(request)).Single());
        Assert.Equal(NLM_F_ACK_TLVS, m.Header.Flags);
        Assert.Equal(3, m.Attributes.Count);
    }

    [Fact]
    public async Task ADumpIsMultipartAndEndsWithDoneAndNoAck()
    {
        await using var c = new WireClient();
        Assert.Empty(await c.ExchangeAsync(Unacked(Requests.AddVeth("v0", "v1"))));
        var dgs = await c.DumpAsync(Requests.Dump(RTM_GETLINK, AF_UNSPEC, IfInfoMsg.Size, seq: 77, extraFlags: NLM_F_ACK));
        var msgs = dgs.SelectMany(d => NlBytes.Messages(d)).Select(m => NlMsgHdr.Read(m)).ToList();
        Assert.Equal([RTM_NEWLINK, RTM_NEWLINK, RTM_NEWLINK, NLMSG_DONE], msgs.Select(h => (int)h.Type));
        Assert.All(msgs, h => Assert.Equal(NLM_F_MULTI, (int)h.Flags));
        Assert.All(msgs, h => Assert.Equal(77u, h.Seq));
        Assert.All(msgs, h => Assert.Equal(c.Socket.PortId, h.Pid));
        Assert.Equal(20, dgs[^1].Length); // DONE alone, error 0
        Assert.Equal(0, BinaryPrimitives.ReadInt32LittleEndian(dgs[^1].AsSpan(16)));
        // nothing follows DONE although NLM_F_ACK was set
        Assert.Empty(await c.ExchangeAsync([]));
    }

    private static byte[] Unacked(byte[] request)
    {
        // the same request without NLM_F_ACK: success is silent
        var b = request.ToArray();
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(6), (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(6)) & ~NLM_F_ACK));
        return b;
    }

    [Fact]
    public async Task DumpDatagramsHoldAtMost8KiBWhenTheyHoldSeveralMessages()
    {
        await using var c = new WireClient();
        for (int i = 0; i < 40; i++)
            Assert.Empty(await c.ExchangeAsync(Unacked(Requests.AddVeth($"a{i}", $"b{i}", (uint)i + 10))));
        var dgs = await c.DumpAsync(Requests.Dump(RTM_GETLINK, AF_UNSPEC, IfInfoMsg.Size, seq: 5));
        int links = 0;
        foreach (var dg in dgs)
        {
            var msgs = NlBytes.Messages(dg);
            if (msgs.Count > 1) Assert.True(dg.Length <= 8192, $"a datagram of {msgs.Count} messages is {dg.Length} bytes");
            links += msgs.Count(m => NlMsgHdr.Read(m).Type == RTM_NEWLINK);
        }
        Assert.Equal(81, links);
        Assert.True(dgs.Count > 5);
    }

    [Fact]
    public async Task StrictCheckErrorsComeInDone()
    {
        var capture = KernelCaptures.DoneStrictLinkDumpError;
        await using var c = new WireClient(SockOpts.ExtAck | SockOpts.StrictChk, (int)PortOf(capture));
        var request = Requests.Message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1,
            w => new IfInfoMsg { Index = 1 }.Write(w.Reserve(IfInfoMsg.Size)));
        var dgs = await c.DumpAsync(request);
        Assert.Equal([capture], dgs);
        // without NETLINK_EXT_ACK: the errno alone
        c.SetOpt(NETLINK_EXT_ACK, false);
        dgs = await c.DumpAsync(request);
        var done = NlBytes.Tree(dgs.Single());
        Assert.Equal((NLMSG_DONE, NLM_F_MULTI, -Errno.EINVAL, 20), (done.Header.Type, (int)done.Header.Flags, done.Error, done.Length));
    }

    [Fact]
    public async Task SilenceForWhatTheKernelDoesNotAnswer()
    {
        await using var c = new WireClient();
        Assert.Empty(await c.ExchangeAsync(new byte[8]));                                   // shorter than a header
        Assert.Empty(await c.ExchangeAsync(Requests.Message(RTM_NEWLINK, 0, 1, w => w.Reserve(16)))); // not a request
        var lie = Requests.Message(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, 1, w => w.Reserve(16));
        BinaryPrimitives.WriteUInt32LittleEndian(lie, 64);                                     // nlmsg_len past the end
        Assert.Empty(await c.ExchangeAsync(lie));
    }

    [Fact]
    public async Task MalformedFramesEndTheConnection()
    {
        var c = new WireClient();
        var other = c.Socket;
        // a frame too short for struct vk_tx
        var (a, b) = Nerdbank.Streams.FullDuplexStream.CreatePair();
        var t = Daemon.Server.StreamTransport.Open(c.Engine, c.Kernel.InitNet, a, 7, 0);
        var serving = t.RunAsync();
        await b.WriteAsync(new byte[] { 4, 0, 0, 0, 1, 2, 3, 4 });
        await Assert.ThrowsAsync<InvalidDataException>(() => serving.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.True(t.Socket.Closed);
        Assert.False(other.Closed); // the other connection is unaffected
        Assert.Empty(await c.ExchangeAsync([]));
        await c.DisposeAsync();
        Assert.True(other.Closed); // closing the stream closes its socket
    }
}
