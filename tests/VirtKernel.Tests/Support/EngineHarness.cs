using System.Buffers.Binary;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Protocol.Shim;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Support;

/// <summary>Socket options of a test socket (NETLINK_EXT_ACK, NETLINK_CAP_ACK, NETLINK_GET_STRICT_CHK).</summary>
[Flags]
public enum SockOpts { None = 0, ExtAck = 1, CapAck = 2, StrictChk = 4 }

/// <summary>A fresh virtual kernel (init namespace with a down lo, like a new netns) and one
/// NETLINK_ROUTE socket on its <see cref="NetlinkEngine"/>, driven the way VkServer drives it:
/// send a datagram, then take every queued frame, pumping a running dump until it is over.</summary>
public sealed class EngineHarness
{
    public const int Pid = 4242;

    /// <param name="uid">the peer's uid: 0 may change state (CAP_NET_ADMIN), others only read</param>
    public EngineHarness(SockOpts opts = SockOpts.ExtAck, uint uid = 0)
    {
        Kernel = new Kernel(new KernelOptions());
        Engine = new NetlinkEngine(Kernel, 0);
        Assert.Equal(0, Engine.CreateSocket(Kernel.InitNet, NETLINK_ROUTE, 3, Pid, uid, out var sk));
        Sock = sk!;
        SetOpt(NETLINK_EXT_ACK, (opts & SockOpts.ExtAck) != 0);
        SetOpt(NETLINK_CAP_ACK, (opts & SockOpts.CapAck) != 0);
        SetOpt(NETLINK_GET_STRICT_CHK, (opts & SockOpts.StrictChk) != 0);
    }

    public Kernel Kernel { get; }
    public NetlinkEngine Engine { get; }
    public NetlinkSock Sock { get; }

    public void SetOpt(int name, bool on)
    {
        var v = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(v, on ? 1 : 0);
        Assert.Equal(0, Engine.SetSockOpt(Sock, SOL_NETLINK, name, v));
    }

    /// <summary>netlink_sendmsg of one datagram; returns the datagrams the socket then reads
    /// (each a whole netlink datagram, the vk_rx framing checked and removed).</summary>
    public List<byte[]> Send(ReadOnlySpan<byte> datagram)
    {
        Engine.Receive(Sock, datagram.ToArray());
        return Drain();
    }

    /// <summary>Every queued datagram, continuing a running dump as recvmsg would.</summary>
    public List<byte[]> Drain()
    {
        var list = new List<byte[]>();
        while (true)
        {
            if (Sock.OutCount == 0)
            {
                if (Sock.Dump == null) break;
                Engine.NetlinkDump(Sock);
                if (Sock.OutCount == 0) break;
                continue;
            }
            var f = Sock.Dequeue()!;
            var rx = RxHeader.Read(f);
            Assert.Equal(RxOp.Data, rx.Op);
            Assert.Equal(0u, rx.A); // from the kernel
            list.Add(f[RxHeader.Size..]);
        }
        return list;
    }
}
