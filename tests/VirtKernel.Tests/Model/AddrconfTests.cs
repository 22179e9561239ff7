using VirtKernel.Model;
using VirtKernel.Model.Ipv6;

namespace VirtKernel.Tests.Model;

public class AddrconfTests
{
    [Fact]
    public void StablePrivacyLinkLocalMatchesTheKernel()
    {
        // measured on Linux 6.18: veth (no perm_addr), stable_secret 2001:db8:1:2:3:4:5:6,
        // addrgenmode stable_secret -> fe80::ff05:eb87:4e94:b3ad
        var k = new Kernel();
        var dev = new NetDevice(LinkOps.Get("veth")!, "va");
        dev.Ops.Setup(dev);
        var id = Addrconf.GenerateStable(Inet.ParseV6("2001:db8:1:2:3:4:5:6"), Inet.ParseV6("fe80::"), dev, 0);
        Assert.Equal("fe80::ff05:eb87:4e94:b3ad", Inet.FormatV6(Inet.ParseV6("fe80::") | id!.Value));
        _ = k;
    }

    [Fact]
    public void Eui64FlipsTheUniversalBit()
    {
        var k = new Kernel();
        var dev = new NetDevice(LinkOps.Get("veth")!, "va");
        dev.Ops.Setup(dev);
        dev.DevAddr = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
        Assert.Equal(0x0000_00ff_fe00_0001UL, Addrconf.GenerateEui64(dev));
        _ = k;
    }
}
