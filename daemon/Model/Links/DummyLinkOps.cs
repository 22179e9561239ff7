using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Links;

/// <summary>drivers/net/dummy.c: a device that drops everything; carrier always on.</summary>
public sealed class DummyLinkOps : LinkOps
{
    public override string Kind => "dummy";

    /// <summary>dummy_setup.</summary>
    public override void Setup(NetDevice dev)
    {
        Links.Setup.Ether(dev);
        dev.Flags |= (uint)IFF_NOARP;
        dev.Flags &= ~(uint)IFF_MULTICAST;
        dev.PrivFlags |= PrivFlags.LiveAddrChange | PrivFlags.NoQueue | PrivFlags.NoCarrierManagement;
        dev.MinMtu = 0;
        dev.MaxMtu = 0;
    }

    /// <summary>dummy_change_carrier.</summary>
    public override bool HasChangeCarrier => true;
    public override KErr ChangeCarrier(NetDevice dev, bool on)
    {
        if (on) dev.Net.NetifCarrierOn(dev);
        else dev.Net.NetifCarrierOff(dev);
        return KErr.Ok;
    }

    public override KErr NewLink(Net net, NetDevice dev, LinkConfig common, object? kindConfig)
    {
        if (common.Address == null) Links.Setup.EthHwAddrRandom(net.Kernel, dev);
        return net.RegisterNetdevice(dev);
    }
}
