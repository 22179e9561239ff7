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
}
