namespace VirtKernel.Model.Links;

/// <summary>The decoded IFLA_INFO_DATA of a veth: VETH_INFO_PEER (an ifinfomsg and IFLA_* of its own).</summary>
public sealed class VethConfig
{
    public LinkConfig? Peer;
}

/// <summary>struct veth_priv: the other end.</summary>
public sealed class VethPriv
{
    public NetDevice? Peer;
}

/// <summary>drivers/net/veth.c: a pair of devices, each the other's carrier.</summary>
public sealed class VethLinkOps : LinkOps
{
    public override string Kind => "veth";

    /// <summary>veth_setup.</summary>
    public override void Setup(NetDevice dev)
    {
        Links.Setup.Ether(dev);
        dev.PrivFlags |= PrivFlags.LiveAddrChange | PrivFlags.NoQueue;
        dev.MaxMtu = 65535; // ETH_MAX_MTU
        dev.TsoMaxSize = Links.Setup.GsoMaxSize;
        dev.Priv = new VethPriv();
    }

    /// <summary>veth_get_num_queues: one queue per possible CPU.</summary>
    public static uint NumQueues(Net net) => (uint)Math.Max(1, net.Kernel.Options.PossibleCpus);

    public override uint DefaultNumQueues(Net net) => NumQueues(net);

    /// <summary>veth_get_link_ksettings: 10 Gb/s full duplex.</summary>
    public override int? GetLinkSpeed(NetDevice dev) => 10000;

    /// <summary>veth_newlink: the peer is created and registered first (so it gets the lower index),
    /// then the device; both start without carrier.</summary>
    public override KErr NewLink(Net net, NetDevice dev, LinkConfig common, object? kindConfig)
    {
        var peerCfg = (kindConfig as VethConfig)?.Peer;
        var tbp = peerCfg ?? common;
        string peerName = peerCfg?.Name ?? "veth%d";
        var peerNet = peerCfg?.TargetNet ?? common.SourceNet ?? net;

        var (peer, err) = peerNet.RtnlCreateLink(peerName, this, tbp);
        if (err.Failed) return err;
        if (peerCfg == null || peerCfg.Address == null) Links.Setup.EthHwAddrRandom(net.Kernel, peer!);
        if (peerCfg != null && dev.Ifindex != 0) peer!.Ifindex = peerCfg.Ifindex;
        peer!.TsoMaxSize = dev.TsoMaxSize;

        err = peerNet.RegisterNetdevice(peer);
        if (err.Failed) return err;
        VethInitQueues(peer, tbp);
        peerNet.NetifCarrierOff(peer);
        err = peerNet.RtnlConfigureLink(peer, peerCfg, report: false); // veth_newlink: (peer, NULL, 0, NULL)
        if (err.Failed)
        {
            peerNet.UnregisterNetdeviceMany([peer]);
            return err;
        }

        if (common.Address == null) Links.Setup.EthHwAddrRandom(net.Kernel, dev);
        if (common.Name == null) dev.Name = "veth%d";
        err = net.RegisterNetdevice(dev);
        if (err.Failed)
        {
            peerNet.UnregisterNetdeviceMany([peer]);
            return err;
        }
        VethInitQueues(dev, common);
        net.NetifCarrierOff(dev);
        ((VethPriv)dev.Priv!).Peer = peer;
        ((VethPriv)peer.Priv!).Peer = dev;
        return KErr.Ok;
    }

    private static NetDevice? PeerOf(NetDevice dev) => (dev.Priv as VethPriv)?.Peer;

    /// <summary>veth_init_queues: without explicit counts, one real queue each way (the others are
    /// there for XDP); /sys/class/net/DEV/queues shows the real ones.</summary>
    private static void VethInitQueues(NetDevice dev, LinkConfig cfg)
    {
        if (cfg.NumTxQueues == null && dev.NumTxQueues > 1) dev.RealNumTxQueues = 1;
        if (cfg.NumRxQueues == null && dev.NumRxQueues > 1) dev.RealNumRxQueues = 1;
    }

    /// <summary>veth_dellink: the peer goes too.</summary>
    public override void DelLink(NetDevice dev, List<NetDevice> kill)
    {
        kill.Add(dev);
        var peer = PeerOf(dev);
        if (peer != null)
        {
            ((VethPriv)dev.Priv!).Peer = null;
            ((VethPriv)peer.Priv!).Peer = null;
            if (!kill.Contains(peer)) kill.Add(peer);
        }
    }

    /// <summary>veth_open: carrier on both ends once both are up.</summary>
    public override KErr Open(NetDevice dev)
    {
        var peer = PeerOf(dev);
        if (peer == null) return new KErr(Protocol.Errno.ENOTCONN);
        if (peer.IsUp)
        {
            dev.Net.NetifCarrierOn(dev);
            peer.Net.NetifCarrierOn(peer);
        }
        return KErr.Ok;
    }

    /// <summary>veth_close.</summary>
    public override void Stop(NetDevice dev)
    {
        dev.Net.NetifCarrierOff(dev);
        var peer = PeerOf(dev);
        if (peer != null) peer.Net.NetifCarrierOff(peer);
    }

    /// <summary>veth_get_iflink.</summary>
    public override int GetIfLink(NetDevice dev) => PeerOf(dev)?.Ifindex ?? 0;

    /// <summary>veth_get_link_net.</summary>
    public override Net? GetLinkNet(NetDevice dev) => PeerOf(dev)?.Net;
}
