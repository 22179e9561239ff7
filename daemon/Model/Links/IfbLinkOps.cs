using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Links;

/// <summary>drivers/net/ifb.c: the intermediate functional block device.</summary>
public sealed class IfbLinkOps : LinkOps
{
    public override string Kind => "ifb";

    /// <summary>ifb_setup.</summary>
    public override void Setup(NetDevice dev)
    {
        Links.Setup.Ether(dev);
        dev.TxQueueLen = 32; // TX_Q_LIMIT
        dev.Flags |= (uint)IFF_NOARP;
        dev.Flags &= ~(uint)IFF_MULTICAST;
        dev.PrivFlags |= PrivFlags.NoCarrierManagement;
        dev.MinMtu = 0;
        dev.MaxMtu = 0;
        dev.TsoMaxSize = Links.Setup.GsoMaxSize;
    }

    public override KErr NewLink(Net net, NetDevice dev, LinkConfig common, object? kindConfig)
    {
        if (common.Address == null) Links.Setup.EthHwAddrRandom(net.Kernel, dev);
        return net.RegisterNetdevice(dev);
    }
}
