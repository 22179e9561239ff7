using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Mono.Unix.Native;
using Tmds.DBus.Protocol;

namespace VirtKernel.Daemon.Management.DBus;

/// <summary>Who is on the other end of a D-Bus connection.</summary>
public readonly record struct PeerCred(int Pid, uint Uid, uint Gid);

/// <summary>The daemon's own D-Bus socket (peer-to-peer, no bus): a stream socket next to the netlink
/// one. Tmds.DBus.Protocol only connects as a client, so each connection is accepted here: the peer's
/// credentials are read with SO_PEERCRED, the server side of the SASL handshake (EXTERNAL) is done
/// here, and the stream is then handed to the library through a socket pair, on which this class
/// plays the server the library expects (it answers the library's AUTH and its Hello, the latter
/// with an error, which tells the library that the other end is a peer, not a bus). After that the
/// bytes are relayed unchanged in both directions.</summary>
public sealed class PeerListener : IDisposable
{
    private readonly Socket _listen;
    private readonly string _guid = Guid.NewGuid().ToString("N");
    private volatile bool _disposed;

    public string Path { get; }
    public string Address => "unix:path=" + Path;

    /// <summary>Binds <paramref name="path"/> with the netlink socket's mode and group (so the
    /// same users reach both), under a temporary name renamed into place once listening.</summary>
    public PeerListener(string path, uint mode, uint? gid)
    {
        Path = path;
        if (File.Exists(path)) File.Delete(path);
        string tmp = $"{path}.{Environment.ProcessId}.tmp";
        if (File.Exists(tmp)) File.Delete(tmp);
        _listen = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listen.Bind(new UnixDomainSocketEndPoint(tmp));
        if (Syscall.chmod(tmp, (FilePermissions)mode) < 0) throw new IOException("chmod: " + Stdlib.GetLastError());
        if (gid is uint g && Syscall.chown(tmp, Syscall.getuid(), g) < 0) throw new IOException("chown: " + Stdlib.GetLastError());
        _listen.Listen(64);
        File.Move(tmp, path, overwrite: true);
    }

    /// <summary>Accepts connections until disposed; each authenticated peer is handed to
    /// <paramref name="onPeer"/> as a library connection.</summary>
    /// <summary><paramref name="onPeer"/> gets the connection and a function that starts relaying
    /// the peer's messages: it registers its objects first, so that nothing the peer sent (its
    /// Hello, pipelined after the handshake) reaches the library before they exist.</summary>
    public async Task AcceptLoop(Func<DBusConnection, PeerCred, Action, Task> onPeer)
    {
        while (!_disposed)
        {
            Socket s;
            try { s = await _listen.AcceptAsync().ConfigureAwait(false); }
            catch (Exception) when (_disposed) { return; }
            catch (SocketException) { continue; }
            _ = Task.Run(async () =>
            {
                try
                {
                    var cred = PeerCredOf(s);
                    var hs = await Handshake(s, cred).ConfigureAwait(false);
                    if (hs == null) return;
                    await onPeer(hs.Value.Conn, cred, hs.Value.Start).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    s.Dispose();
                }
            });
        }
    }

    /// <summary>SO_PEERCRED: struct ucred { pid, uid, gid } of the connecting process.</summary>
    public static PeerCred PeerCredOf(Socket s)
    {
        Span<byte> cred = stackalloc byte[12];
        int n = s.GetRawSocketOption(1 /* SOL_SOCKET */, 17 /* SO_PEERCRED */, cred);
        if (n < 12) return new PeerCred(0, uint.MaxValue, uint.MaxValue);
        return new PeerCred(BinaryPrimitives.ReadInt32LittleEndian(cred), BinaryPrimitives.ReadUInt32LittleEndian(cred[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(cred[8..]));
    }

    private async Task<(DBusConnection Conn, Action Start)?> Handshake(Socket peer, PeerCred cred)
    {
        var leftover = await ServerAuth(peer, cred.Uid).ConfigureAwait(false);
        if (leftover == null)
        {
            peer.Dispose();
            return null;
        }
        var (libEnd, relayEnd) = SocketPair();
        var conn = new DBusConnection(new StreamConnectionOptions(new NetworkStream(libEnd, ownsSocket: true)));
        var connecting = conn.ConnectAsync().AsTask();
        if (!await ServeLibrary(relayEnd).ConfigureAwait(false))
        {
            peer.Dispose();
            relayEnd.Dispose();
            conn.Dispose();
            return null;
        }
        _ = Pump(relayEnd, peer, []);
        await connecting.ConfigureAwait(false);
        return (conn, () => _ = Pump(peer, relayEnd, leftover));
    }

    // ---- SASL, server side (the D-Bus specification's authentication protocol) -------------------

    /// <summary>Authenticates a client with EXTERNAL against its SO_PEERCRED uid. Returns the bytes the
    /// client sent after BEGIN (pipelined messages), or null when the client went away or failed.</summary>
    private async Task<byte[]?> ServerAuth(Socket s, uint uid)
    {
        var buf = new List<byte>();
        var chunk = new byte[512];
        bool nulSeen = false, waitingData = false, authed = false;
        while (true)
        {
            // one line (or the leading NUL byte)
            int eol;
            while (true)
            {
                if (!nulSeen && buf.Count > 0)
                {
                    if (buf[0] != 0) return null;
                    buf.RemoveAt(0);
                    nulSeen = true;
                }
                eol = IndexOfCrLf(buf);
                if (nulSeen && eol >= 0) break;
                if (buf.Count > 16384) return null;
                int n = await s.ReceiveAsync(chunk, SocketFlags.None).ConfigureAwait(false);
                if (n <= 0) return null;
                buf.AddRange(chunk.AsSpan(0, n).ToArray());
            }
            string line = Encoding.ASCII.GetString(buf.GetRange(0, eol).ToArray());
            buf.RemoveRange(0, eol + 2);
            string reply;
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string cmd = words.Length > 0 ? words[0] : "";
            if (cmd == "AUTH" && words.Length >= 2 && words[1] == "EXTERNAL")
            {
                if (words.Length == 2)
                {
                    waitingData = true;
                    reply = "DATA";
                }
                else reply = CheckIdentity(words[2], uid, ref authed);
            }
            else if (cmd == "AUTH") reply = "REJECTED EXTERNAL";
            else if (cmd == "DATA" && waitingData)
            {
                waitingData = false;
                reply = CheckIdentity(words.Length > 1 ? words[1] : "", uid, ref authed);
            }
            else if (cmd == "NEGOTIATE_UNIX_FD" && authed) reply = "ERROR \"descriptors are not passed on this socket\"";
            else if (cmd == "BEGIN" && authed) return buf.ToArray();
            else if (cmd is "CANCEL" or "ERROR") { waitingData = false; reply = "REJECTED EXTERNAL"; }
            else reply = "ERROR \"unknown command\"";
            await s.SendAsync(Encoding.ASCII.GetBytes(reply + "\r\n"), SocketFlags.None).ConfigureAwait(false);
        }
    }

    /// <summary>EXTERNAL: the identity the client claims (hex of its decimal uid, or empty for "the
    /// one the transport says") must be the one SO_PEERCRED reports.</summary>
    private string CheckIdentity(string hex, uint uid, ref bool authed)
    {
        string claimed;
        try { claimed = hex.Length == 0 ? uid.ToString() : Encoding.ASCII.GetString(Convert.FromHexString(hex)); }
        catch (FormatException) { return "REJECTED EXTERNAL"; }
        if (claimed != uid.ToString()) return "REJECTED EXTERNAL";
        authed = true;
        return "OK " + _guid;
    }

    private static int IndexOfCrLf(List<byte> b)
    {
        for (int i = 0; i + 1 < b.Count; i++) if (b[i] == '\r' && b[i + 1] == '\n') return i;
        return -1;
    }

    // ---- the library's side -------------------------------------------------------------------

    /// <summary>Plays the server for the library on its end of the pair: accepts its AUTH, then
    /// answers its Hello with an error (no bus here).</summary>
    private async Task<bool> ServeLibrary(Socket s)
    {
        var buf = new List<byte>();
        var chunk = new byte[4096];
        async Task<bool> Fill()
        {
            int n = await s.ReceiveAsync(chunk, SocketFlags.None).ConfigureAwait(false);
            if (n <= 0) return false;
            buf.AddRange(chunk.AsSpan(0, n).ToArray());
            return true;
        }
        // "\0AUTH EXTERNAL <hex>\r\n" ... "BEGIN\r\n"
        while (true)
        {
            int eol = IndexOfCrLf(buf);
            if (eol < 0)
            {
                if (!await Fill().ConfigureAwait(false)) return false;
                continue;
            }
            string line = Encoding.ASCII.GetString(buf.GetRange(0, eol).ToArray()).TrimStart('\0');
            buf.RemoveRange(0, eol + 2);
            if (line.StartsWith("BEGIN")) break;
            string reply = line.StartsWith("AUTH") ? "OK " + _guid : "ERROR";
            await s.SendAsync(Encoding.ASCII.GetBytes(reply + "\r\n"), SocketFlags.None).ConfigureAwait(false);
        }
        // the Hello call: fixed header (16 bytes), header fields, body
        while (buf.Count < 16) if (!await Fill().ConfigureAwait(false)) return false;
        var h = buf.GetRange(0, 16).ToArray();
        bool le = h[0] == (byte)'l';
        uint bodyLen = le ? BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(4)) : BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(4));
        uint serial = le ? BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(8)) : BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(8));
        uint fieldsLen = le ? BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(12)) : BinaryPrimitives.ReadUInt32BigEndian(h.AsSpan(12));
        long total = 16 + ((fieldsLen + 7) & ~7u) + bodyLen;
        while (buf.Count < total) if (!await Fill().ConfigureAwait(false)) return false;
        buf.RemoveRange(0, (int)total);
        if (buf.Count != 0) return false; // the library waits for the answer before sending more
        await s.SendAsync(ErrorReply(serial, "org.freedesktop.DBus.Error.UnknownMethod"), SocketFlags.None).ConfigureAwait(false);
        return true;
    }

    /// <summary>A little-endian ERROR message answering <paramref name="replySerial"/>, without a body.</summary>
    private static byte[] ErrorReply(uint replySerial, string errorName)
    {
        var name = Encoding.ASCII.GetBytes(errorName);
        int end = 32 + name.Length + 1;              // fields end
        int total = (end + 7) & ~7;
        var m = new byte[total];
        m[0] = (byte)'l'; m[1] = 3; m[2] = 1; m[3] = 1; // ERROR, NO_REPLY_EXPECTED, version 1
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(4), 0);          // body length
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(8), 1);          // serial
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(12), (uint)(end - 16));
        // (REPLY_SERIAL, <u>)
        m[16] = 5; m[17] = 1; m[18] = (byte)'u'; m[19] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(20), replySerial);
        // (ERROR_NAME, <s>)
        m[24] = 4; m[25] = 1; m[26] = (byte)'s'; m[27] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(28), (uint)name.Length);
        name.CopyTo(m.AsSpan(32));
        return m;
    }

    private static async Task Pump(Socket from, Socket to, byte[] first)
    {
        var buf = new byte[65536];
        try
        {
            if (first.Length > 0) await SendAll(to, first).ConfigureAwait(false);
            while (true)
            {
                int n = await from.ReceiveAsync(buf, SocketFlags.None).ConfigureAwait(false);
                if (n <= 0) break;
                await SendAll(to, buf.AsMemory(0, n)).ConfigureAwait(false);
            }
        }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
        try { to.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        try { from.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
    }

    private static async Task SendAll(Socket s, ReadOnlyMemory<byte> data)
    {
        while (data.Length > 0)
        {
            int n = await s.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
            data = data[n..];
        }
    }

    private static (Socket, Socket) SocketPair()
    {
        if (Syscall.socketpair(UnixAddressFamily.AF_UNIX, UnixSocketType.SOCK_STREAM, (UnixSocketProtocol)0, out int a, out int b) < 0)
            throw new IOException("socketpair: " + Stdlib.GetLastError());
        Syscall.fcntl(a, FcntlCommand.F_SETFD, 1);
        Syscall.fcntl(b, FcntlCommand.F_SETFD, 1);
        return (new Socket(new SafeSocketHandle(a, true)), new Socket(new SafeSocketHandle(b, true)));
    }

    public void Dispose()
    {
        _disposed = true;
        _listen.Dispose();
        try
        {
            if (File.Exists(Path)) File.Delete(Path);
        }
        catch (IOException) { }
    }
}

/// <summary>Connects the library over a stream the caller already holds.</summary>
internal sealed class StreamConnectionOptions(Stream stream) : DBusConnectionOptions
{
    protected override ValueTask<SetupResult> SetupAsync(CancellationToken cancellationToken) =>
        new(new SetupResult { ConnectionStream = stream, UserId = Syscall.getuid().ToString() });
}
