using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Codec;

public class NlWriterTests
{
    [Fact]
    public void SixtyFourBitAttributesGetNoPadAttributeAsOnX86_64()
    {
        // the real kernel's RTM_NEWLINK for lo: IFLA_STATS64 at an offset that is not 8-aligned, no IFLA_PAD
        var lo = NlMessageTree.Parse(KernelCaptures.NewLinkLo, RtnlSchema.Schema);
        int off = NlMsgHdr.Size + lo.Fixed.Length;
        foreach (var a in lo.Attributes)
        {
            if (a.Type == IFLA_STATS64) break;
            off += a.EncodedLength;
        }
        Assert.NotEqual(0, (off + Nl.AttrHdrLen) % 8);
        Assert.DoesNotContain(lo.Attributes, a => a.Type == IFLA_PAD);

        var w = new NlWriter();
        int start = w.BeginMessage(RTM_NEWLINK, 0, 0, 0);
        w.Reserve(IfInfoMsg.Size);
        w.PutU8(IFLA_OPERSTATE, 6);           // leaves the next payload 4 bytes off an 8-byte boundary
        w.PutU64Aligned(IFLA_BR_HELLO_TIMER, 7, IFLA_PAD);
        var stats = w.ReserveAligned64(IFLA_STATS64, 200, IFLA_PAD);
        Assert.Equal(200, stats.Length);
        w.EndMessage(start);
        var m = NlMessageTree.Parse(w.Span, RtnlSchema.Schema);
        Assert.Equal([IFLA_OPERSTATE, IFLA_BR_HELLO_TIMER, IFLA_STATS64], m.Attributes.Select(a => (int)a.Type));
        Assert.Equal(16 + 16 + 8 + 12 + 204, w.Length);
    }
}
