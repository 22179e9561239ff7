using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Links;

/// <summary>drivers/net/loopback.c: lo, created with every namespace, never by rtnetlink.</summary>
public sealed class LoopbackLinkOps : LinkOps
{
    public static readonly LoopbackLinkOps Instance = new();
    public override string? Kind => null;

    /// <summary>loopback_setup.</summary>
    public override void Setup(NetDevice dev)
    {
        dev.Mtu = 65536;           // 64 * 1024
        dev.MinMtu = 0;
        dev.MaxMtu = 0;
        dev.AddrLen = 6;
        dev.TxQueueLen = 1000;
        dev.Type = ARPHRD_LOOPBACK;
        dev.Flags = (uint)IFF_LOOPBACK;
        dev.PrivFlags |= PrivFlags.LiveAddrChange | PrivFlags.NoQueue | PrivFlags.NetnsLocal | PrivFlags.NoCarrierManagement;
        dev.DevAddr = new byte[6];
        dev.Broadcast = new byte[6];
        dev.TsoMaxSize = Links.Setup.GsoMaxSize;
        dev.VlanChallenged = true; // NETIF_F_VLAN_CHALLENGED
    }
}
