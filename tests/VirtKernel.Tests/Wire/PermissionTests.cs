using VirtKernel.Protocol;
using VirtKernel.Protocol.Rtnetlink;
using VirtKernel.Tests.Support;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Wire;

/// <summary>A peer without CAP_NET_ADMIN, as measured with an unprivileged process in a namespace of
/// Linux 6.18: rtnetlink_rcv_msg checks the type, then the one-byte minimum, then the capability.</summary>
public class PermissionTests
{
    private static int Answer(EngineHarness h, byte[] request)
    {
        var dgs = h.Send(request);
        Assert.Single(dgs);
        var m = NlBytes.Tree(dgs[0]);
        Assert.Equal(NLMSG_ERROR, m.Header.Type);
        return m.Error;
    }

    [Fact]
    public void OrderOfChecksForAnUnprivilegedPeer()
    {
        var h = new EngineHarness(SockOpts.ExtAck, uid: 65534);
        // no payload: ignored (ACK 0) before the capability is looked at
        Assert.Equal(0, Answer(h, Requests.Message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 1, _ => { })));
        // one byte of family: now EPERM
        Assert.Equal(-Errno.EPERM, Answer(h, Requests.Message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 2, w => w.Reserve(1))));
        Assert.Equal(-Errno.EPERM, Answer(h, Requests.SetUp(1, true, 3)));
        // a type above RTM_MAX: EOPNOTSUPP first
        Assert.Equal(-Errno.EOPNOTSUPP, Answer(h, Requests.Message(0x200, NLM_F_REQUEST | NLM_F_ACK, 4, w => w.Reserve(IfInfoMsg.Size))));
        // reading is allowed
        var dgs = h.Send(Requests.Message(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 5,
            w => new IfInfoMsg { Index = 1 }.Write(w.Reserve(IfInfoMsg.Size))));
        Assert.Equal(2, dgs.Count);
        Assert.Equal(RTM_NEWLINK, NlBytes.Tree(dgs[0]).Header.Type);
        Assert.Equal(0, NlBytes.Tree(dgs[1]).Error);
    }
}
