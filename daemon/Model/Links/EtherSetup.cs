using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Links;

/// <summary>Shared device defaults of drivers/net and net/ethernet.</summary>
public static class Setup
{
    /// <summary>GSO_MAX_SIZE as devices that call netif_set_tso_max_size(dev, GSO_MAX_SIZE) report it.</summary>
    public const uint GsoMaxSize = 524280;

    /// <summary>ether_setup (net/ethernet/eth.c).</summary>
    public static void Ether(NetDevice dev)
    {
        dev.Type = ARPHRD_ETHER;
        dev.Mtu = 1500;          // ETH_DATA_LEN
        dev.MinMtu = 68;         // ETH_MIN_MTU
        dev.MaxMtu = 1500;       // ETH_DATA_LEN
        dev.AddrLen = 6;
        dev.TxQueueLen = 1000;   // DEFAULT_TX_QUEUE_LEN
        dev.Flags = (uint)(IFF_BROADCAST | IFF_MULTICAST);
        dev.Broadcast = (byte[])EtherAddr.BroadcastAddr.Clone();
        dev.DevAddr = new byte[6];
    }

    /// <summary>eth_hw_addr_random: a random address, marked NET_ADDR_RANDOM.</summary>
    public static void EthHwAddrRandom(Kernel kernel, NetDevice dev)
    {
        dev.DevAddr = kernel.RandomEtherAddr();
        dev.AddrAssignType = NetAddrAssign.Random;
    }
}
