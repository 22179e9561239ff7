using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Ipv4;

/// <summary>struct ip_mc_list: an IPv4 group a device is in (in_device->mc_list).</summary>
public sealed class IpMcList(uint addr)
{
    /// <summary>The group, host order (224.0.0.1 = 0xe0000001).</summary>
    public uint Addr { get; } = addr;
    public int Users;
}

// net/ipv4/igmp.c: the all-hosts group a running device is in (ip_mc_up / ip_mc_down), and the
// link-layer address it loads (ip_mc_filter_add). Reports are not modelled.
public sealed partial class Ipv4Net
{
    public const uint IgmpAllHosts = 0xe0000001;

    /// <summary>ip_eth_mc_map via arp_mc_map: 01:00:5e and the low 23 bits (Ethernet only).</summary>
    private static byte[]? ArpMcMap(NetDevice dev, uint a)
    {
        if (dev.Type != ARPHRD_ETHER || (dev.Flags & IFF_MULTICAST) == 0) return null;
        return [0x01, 0x00, 0x5e, (byte)((a >> 16) & 0x7f), (byte)(a >> 8), (byte)a];
    }

    /// <summary>ip_mc_inc_group: a user more, or a new group at the head of the list.</summary>
    internal void IpMcIncGroup(InDevice inDev, uint addr)
    {
        foreach (var m in inDev.McList)
            if (m.Addr == addr)
            {
                m.Users++;
                return;
            }
        inDev.McList.Insert(0, new IpMcList(addr) { Users = 1 });
        if (ArpMcMap(inDev.Dev, addr) is { } ha) inDev.Dev.Mc.Add(ha);
    }

    /// <summary>ip_mc_dec_group.</summary>
    internal void IpMcDecGroup(InDevice inDev, uint addr)
    {
        for (int i = 0; i < inDev.McList.Count; i++)
        {
            var m = inDev.McList[i];
            if (m.Addr != addr) continue;
            if (--m.Users > 0) return;
            inDev.McList.RemoveAt(i);
            if (ArpMcMap(inDev.Dev, addr) is { } ha) inDev.Dev.Mc.Del(ha);
            return;
        }
    }

    /// <summary>ip_mc_up: the device is running: it joins all-hosts.</summary>
    internal void IpMcUp(InDevice inDev) => IpMcIncGroup(inDev, IgmpAllHosts);

    /// <summary>ip_mc_down.</summary>
    internal void IpMcDown(InDevice inDev) => IpMcDecGroup(inDev, IgmpAllHosts);

    /// <summary>ip_mc_destroy_dev.</summary>
    internal void IpMcDestroyDev(InDevice inDev)
    {
        foreach (var m in inDev.McList.ToList())
            if (ArpMcMap(inDev.Dev, m.Addr) is { } ha) inDev.Dev.Mc.Del(ha);
        inDev.McList.Clear();
    }
}
