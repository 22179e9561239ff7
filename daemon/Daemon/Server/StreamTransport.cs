using System.Buffers.Binary;
using VirtKernel.Model;
using VirtKernel.Protocol.Shim;

namespace VirtKernel.Daemon.Server;

/// <summary>Serves one emulated netlink socket over a byte stream (a pipe, stdio, a TCP or in-memory
/// connection): the frames of a data connection of shim/vk_proto.h, each preceded by its length as a
/// 32-bit little-endian integer, since a stream keeps no message boundaries. Client frames are
/// struct vk_tx + the bytes the application sent; server frames are struct vk_rx + one datagram
/// (or an overrun notice). The next datagram of a dump is made once the previous one is written,
/// as the kernel makes it when the reader has room. Every engine call holds the kernel lock, so a
/// stream may be served beside <see cref="VkServer"/>'s loop; the kernel's timers are left to
/// whoever runs that loop.</summary>
public sealed class StreamTransport : IAsyncDisposable
{
    /// <summary>The largest frame accepted from a client (as the Unix socket transport).</summary>
    public const int MaxFrame = 256 * 1024 + 64;
    public const int LengthPrefixSize = 4;

    private readonly NetlinkEngine _engine;
    private readonly Stream _stream;
    private readonly SemaphoreSlim _outSignal = new(0);
    private int _signalled;
    private volatile bool _inputDone;

    public StreamTransport(NetlinkEngine engine, NetlinkSock sock, Stream stream)
    {
        _engine = engine;
        Socket = sock;
        _stream = stream;
    }

    /// <summary>Creates a NETLINK_ROUTE socket in <paramref name="net"/> (as a client's vk_hello would)
    /// and a transport serving it over <paramref name="stream"/>.</summary>
    public static StreamTransport Open(NetlinkEngine engine, Net net, Stream stream, int pid, uint uid, int type = 3)
    {
        NetlinkSock? sk;
        int err;
        lock (engine.Kernel.Lock) err = engine.CreateSocket(net, Protocol.Uapi.NETLINK_ROUTE, type, pid, uid, out sk);
        if (err < 0) throw new IOException($"netlink socket: error {-err}");
        return new StreamTransport(engine, sk!, stream);
    }

    public NetlinkSock Socket { get; }

    /// <summary>Serves the socket until the client ends its side of the stream (then answers what is
    /// still queued) or <paramref name="ct"/> is cancelled; the socket is closed then. A frame that is
    /// not a well-formed client frame ends the connection with <see cref="InvalidDataException"/>.</summary>
    public async Task RunAsync(CancellationToken ct = default)
    {
        Socket.OnOutput = Signal;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var writer = Task.Run(() => WriteLoopAsync(cts.Token), CancellationToken.None);
        try
        {
            await ReadLoopAsync(cts.Token).ConfigureAwait(false);
            _inputDone = true;
            Signal();
            await writer.ConfigureAwait(false);
        }
        finally
        {
            cts.Cancel();
            try { await writer.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
            lock (_engine.Kernel.Lock) _engine.CloseSocket(Socket);
        }
    }

    private void Signal()
    {
        if (Interlocked.Exchange(ref _signalled, 1) == 0) _outSignal.Release();
    }

    private async Task ReadLoopAsync(CancellationToken ct)
    {
        var prefix = new byte[LengthPrefixSize];
        while (true)
        {
            int got = await _stream.ReadAtLeastAsync(prefix, LengthPrefixSize, throwOnEndOfStream: false, ct).ConfigureAwait(false);
            if (got == 0) return;
            if (got < LengthPrefixSize) throw new InvalidDataException("the stream ended inside a frame's length");
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(prefix);
            if (len < TxHeader.Size || len > MaxFrame) throw new InvalidDataException($"a client frame of {len} bytes");
            var frame = new byte[len];
            await _stream.ReadExactlyAsync(frame, ct).ConfigureAwait(false);
            if (!TxHeader.TryRead(frame, out var tx) || tx.Op != TxOp.Data) continue; // as VkServer: ignored
            lock (_engine.Kernel.Lock) _engine.Receive(Socket, frame.AsMemory(TxHeader.Size));
        }
    }

    private async Task WriteLoopAsync(CancellationToken ct)
    {
        var prefix = new byte[LengthPrefixSize];
        while (true)
        {
            byte[]? frame;
            lock (_engine.Kernel.Lock)
            {
                frame = Socket.Dequeue();
                if (frame == null && Socket.Dump != null)
                {
                    _engine.NetlinkDump(Socket);
                    frame = Socket.Dequeue();
                }
            }
            if (frame != null)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(prefix, (uint)frame.Length);
                try
                {
                    await _stream.WriteAsync(prefix, ct).ConfigureAwait(false);
                    await _stream.WriteAsync(frame, ct).ConfigureAwait(false);
                    await _stream.FlushAsync(ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException)
                {
                    return; // the client is gone: its answers are dropped, as with a closed socket
                }
                continue;
            }
            if (_inputDone) return;
            await _outSignal.WaitAsync(ct).ConfigureAwait(false);
            Interlocked.Exchange(ref _signalled, 0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        lock (_engine.Kernel.Lock) _engine.CloseSocket(Socket);
        await _stream.DisposeAsync().ConfigureAwait(false);
        _outSignal.Dispose();
    }
}
