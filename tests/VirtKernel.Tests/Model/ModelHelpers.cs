using VirtKernel.Model;
using VirtKernel.Model.Links;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Model;

/// <summary>Drives the model the way the rtnetlink handlers do, for model-level tests.</summary>
public static class ModelHelpers
{
    public static Kernel NewKernel(out ManualClock clock)
    {
        clock = new ManualClock();
        return new Kernel(new KernelOptions { Clock = clock });
    }

    /// <summary>ip link add NAME type veth peer name PEER (with addrgenmode none on both, as the golden cases do).</summary>
    public static (NetDevice Dev, NetDevice Peer) Veth(Net net, string name, string peer, bool addrgenNone = true)
    {
        var cfg = new LinkConfig { Name = name };
        var (dev, err) = net.RtnlNewLink(LinkOps.Get("veth")!, cfg, new VethConfig { Peer = new LinkConfig { Name = peer } });
        Assert.False(err.Failed, err.ToString());
        var p = net.GetDevice(peer)!;
        if (addrgenNone)
        {
            dev!.Ip6!.Cnf[DEVCONF_ADDR_GEN_MODE] = IN6_ADDR_GEN_MODE_NONE;
            p.Ip6!.Cnf[DEVCONF_ADDR_GEN_MODE] = IN6_ADDR_GEN_MODE_NONE;
        }
        net.Kernel.RunDeferred();
        return (dev!, p);
    }

    public static void Up(NetDevice dev)
    {
        var err = dev.Net.DevChangeFlags(dev, dev.Flags | (uint)IFF_UP);
        Assert.False(err.Failed, err.ToString());
        dev.Net.Kernel.RunDeferred();
    }

    public static void Down(NetDevice dev)
    {
        var err = dev.Net.DevChangeFlags(dev, dev.Flags & ~(uint)IFF_UP);
        Assert.False(err.Failed, err.ToString());
        dev.Net.Kernel.RunDeferred();
    }
}
