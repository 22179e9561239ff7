using System.Buffers.Binary;
using Nerdbank.Streams;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Shim;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Support;

/// <summary>A client of a <see cref="StreamTransport"/> over an in-memory duplex pair: a fresh
/// virtual kernel, one socket served by the transport, and the client's end of the stream speaking
/// length-prefixed vk_tx/vk_rx frames.</summary>
public sealed class WireClient : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private const uint SyncSeq = 0xfffffff0;
    private readonly Stream _client;
    private readonly Task _server;
    private readonly StreamTransport _transport;

    public WireClient(SockOpts opts = SockOpts.ExtAck, int pid = EngineHarness.Pid)
    {
        Kernel = new Kernel(new KernelOptions());
        Engine = new NetlinkEngine(Kernel, 0);
        var (a, b) = FullDuplexStream.CreatePair();
        _client = b;
        _transport = StreamTransport.Open(Engine, Kernel.InitNet, a, pid, 0);
        SetOpt(NETLINK_EXT_ACK, (opts & SockOpts.ExtAck) != 0);
        SetOpt(NETLINK_CAP_ACK, (opts & SockOpts.CapAck) != 0);
        SetOpt(NETLINK_GET_STRICT_CHK, (opts & SockOpts.StrictChk) != 0);
        _server = _transport.RunAsync();
    }

    public Kernel Kernel { get; }
    public NetlinkEngine Engine { get; }
    public NetlinkSock Socket => _transport.Socket;

    public void SetOpt(int name, bool on)
    {
        var v = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(v, on ? 1 : 0);
        lock (Kernel.Lock) Assert.Equal(0, Engine.SetSockOpt(Socket, SOL_NETLINK, name, v));
    }

    /// <summary>Sends one datagram (a vk_tx frame).</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> datagram)
    {
        var frame = new byte[StreamTransport.LengthPrefixSize + TxHeader.Size + datagram.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)(TxHeader.Size + datagram.Length));
        new TxHeader(TxOp.Data, 0, 0).Write(frame.AsSpan(StreamTransport.LengthPrefixSize));
        datagram.Span.CopyTo(frame.AsSpan(StreamTransport.LengthPrefixSize + TxHeader.Size));
        await _client.WriteAsync(frame);
        await _client.FlushAsync();
    }

    /// <summary>The next server frame: its vk_rx header and the datagram.</summary>
    public async Task<(RxHeader Rx, byte[] Datagram)> ReadAsync()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var prefix = new byte[StreamTransport.LengthPrefixSize];
        await _client.ReadExactlyAsync(prefix, cts.Token);
        var frame = new byte[BinaryPrimitives.ReadUInt32LittleEndian(prefix)];
        await _client.ReadExactlyAsync(frame, cts.Token);
        return (RxHeader.Read(frame), frame[RxHeader.Size..]);
    }

    /// <summary>Sends a datagram that starts no dump and returns every datagram answered to it: a
    /// NLMSG_NOOP with NLM_F_ACK follows it, and everything before that ACK is the answer (so that
    /// silence is seen without waiting).</summary>
    public async Task<List<byte[]>> ExchangeAsync(byte[] datagram)
    {
        await SendAsync(datagram);
        await SendAsync(Requests.Message(NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, SyncSeq, _ => { }));
        var list = new List<byte[]>();
        while (true)
        {
            var (rx, dg) = await ReadAsync();
            Assert.Equal(RxOp.Data, rx.Op);
            var msgs = NlBytes.Messages(dg);
            if (msgs.Count == 1 && NlMsgHdr.Read(msgs[0]) is { Type: NLMSG_ERROR, Seq: SyncSeq }) return list;
            list.Add(dg);
        }
    }

    /// <summary>Sends a dump request and returns the datagrams up to the one holding NLMSG_DONE.</summary>
    public async Task<List<byte[]>> DumpAsync(byte[] request)
    {
        await SendAsync(request);
        var list = new List<byte[]>();
        while (true)
        {
            var (rx, dg) = await ReadAsync();
            Assert.Equal(RxOp.Data, rx.Op);
            list.Add(dg);
            var msgs = NlBytes.Messages(dg);
            if (msgs.Any(m => NlMsgHdr.Read(m).Type == NLMSG_DONE)) return list;
            if (msgs.Count == 1 && NlMsgHdr.Read(msgs[0]).Type == NLMSG_ERROR) return list;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _server.WaitAsync(Timeout);
    }
}
