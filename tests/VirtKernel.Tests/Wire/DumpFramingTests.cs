using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using VirtKernel.Tests.Support;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Wire;

/// <summary>How dumps are cut into datagrams, as measured on Linux 6.18: NLMSG_DONE alone in the
/// last datagram for link, IPv4 address and route dumps (RTNL_FLAG_DUMP_SPLIT_NLM_DONE), after the
/// last message otherwise (e.g. IPv6 addresses).</summary>
public class DumpFramingTests
{
    private static List<int> Types(byte[] dg) => NlBytes.Messages(dg).Select(m => (int)NlMsgHdr.Read(m).Type).ToList();

    private static EngineHarness WithVethAndAddresses()
    {
        var h = new EngineHarness();
        Assert.All(h.Send(Requests.AddVeth("v0", "v1")), dg => Assert.Equal(0, NlBytes.Tree(dg).Error));
        Assert.All(h.Send(Requests.SetUp(1, true)), dg => Assert.Equal(0, NlBytes.Tree(dg).Error));
        Assert.All(h.Send(Requests.AddAddr(3, [192, 0, 2, 1], 24)), dg => Assert.Equal(0, NlBytes.Tree(dg).Error));
        Assert.All(h.Send(Requests.AddAddr(3, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 64)),
            dg => Assert.Equal(0, NlBytes.Tree(dg).Error));
        return h;
    }

    [Theory]
    [InlineData(RTM_GETLINK, AF_UNSPEC, IfInfoMsg.Size)]
    [InlineData(RTM_GETLINK, AF_PACKET, IfInfoMsg.Size)] // what `ip link show` sends
    [InlineData(RTM_GETADDR, AF_INET, IfAddrMsg.Size)]
    [InlineData(RTM_GETADDR, AF_UNSPEC, IfAddrMsg.Size)]
    [InlineData(RTM_GETROUTE, AF_INET, RtMsg.Size)]
    [InlineData(RTM_GETROUTE, AF_INET6, RtMsg.Size)]
    [InlineData(RTM_GETROUTE, AF_UNSPEC, RtMsg.Size)]
    public void DoneComesAloneAfterLinkAddressAndRouteDumps(int type, int family, int hdrLen)
    {
        var h = WithVethAndAddresses();
        var dgs = h.Send(Requests.Dump(type, family, hdrLen));
        Assert.True(dgs.Count >= 2);
        Assert.Equal([NLMSG_DONE], Types(dgs[^1]));
        Assert.All(dgs[..^1], dg => Assert.DoesNotContain(NLMSG_DONE, Types(dg)));
        Assert.Equal(20, dgs[^1].Length);
    }

    [Fact]
    public void DoneFollowsTheLastIpv6Address()
    {
        var h = WithVethAndAddresses();
        var dgs = h.Send(Requests.Dump(RTM_GETADDR, AF_INET6, IfAddrMsg.Size));
        var last = Types(dgs[^1]);
        Assert.Equal(NLMSG_DONE, last[^1]);
        Assert.Contains(RTM_NEWADDR, last);
    }

    [Fact]
    public void AnEmptyDumpIsOneDone()
    {
        var h = new EngineHarness();
        var dgs = h.Send(Requests.Dump(RTM_GETADDR, AF_INET, IfAddrMsg.Size));
        Assert.Single(dgs);
        Assert.Equal([NLMSG_DONE], Types(dgs[0]));
    }

    [Fact]
    public void ASecondDumpWhileOneRunsIsBusy()
    {
        // measured on Linux 6.18 with 61 links: the first datagram of the dump, -EBUSY for the second
        // dump request (whole request echoed), the ACK of a request after it, then the rest of the dump
        var h = new EngineHarness();
        for (int i = 0; i < 30; i++) h.Send(Requests.AddVeth($"a{i}", $"b{i}", (uint)i + 10));
        var second = Requests.Dump(RTM_GETLINK, AF_UNSPEC, IfInfoMsg.Size, seq: 2, extraFlags: NLM_F_ACK);
        h.Engine.Receive(h.Sock, Requests.Dump(RTM_GETLINK, AF_UNSPEC, IfInfoMsg.Size, seq: 1));
        h.Engine.Receive(h.Sock, second);
        h.Engine.Receive(h.Sock, Requests.SetUp(1, true, 3));
        var dgs = h.Drain();
        Assert.Equal([RTM_NEWLINK], Types(dgs[0]).Distinct());
        var busy = NlBytes.Tree(dgs[1]);
        Assert.Equal((NLMSG_ERROR, 2u, -VirtKernel.Protocol.Errno.EBUSY, 0), (busy.Header.Type, busy.Header.Seq, busy.Error, (int)busy.Header.Flags));
        Assert.Equal(second, busy.Echoed!.ToBytes());
        var ack = NlBytes.Tree(dgs[2]);
        Assert.Equal((3u, 0), (ack.Header.Seq, ack.Error));
        Assert.Equal([NLMSG_DONE], Types(dgs[^1]));
        Assert.Equal(61, dgs.Sum(d => Types(d).Count(t => t == RTM_NEWLINK)));
    }
}
