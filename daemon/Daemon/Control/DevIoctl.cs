using System.Buffers.Binary;
using System.Text;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Control;

/// <summary>net/core/dev_ioctl.c dev_ioctl and the read side of net/ipv4/devinet.c devinet_ioctl:
/// the interface ioctls on struct ifreq (40 bytes: ifr_name[16] and a 24-byte union).</summary>
public sealed class DevIoctl(NetlinkEngine engine)
{
    private const int IfreqSize = 40;

    public int Handle(Net net, bool privileged, int family, uint request, ReadOnlySpan<byte> ifreqIn, out byte[] ifreq)
    {
        if (request == SIOCGIFCONF) return IfConf(net, family, ifreqIn, out ifreq);
        ifreq = new byte[IfreqSize];
        ifreqIn[..Math.Min(IfreqSize, ifreqIn.Length)].CopyTo(ifreq);
        var u = ifreq.AsSpan(16);
        if (request == SIOCGIFNAME)
        {
            var d = net.GetDevice(BinaryPrimitives.ReadInt32LittleEndian(u));
            if (d == null) return -Errno.ENODEV;
            ifreq.AsSpan(0, 16).Clear();
            Encoding.UTF8.GetBytes(d.Name, ifreq.AsSpan(0, 15));
            return 0;
        }
        int nul = Array.IndexOf(ifreq, (byte)0, 0, 16);
        string name = Encoding.UTF8.GetString(ifreq, 0, nul < 0 ? 16 : nul);
        bool isSet = request is SIOCSIFFLAGS or SIOCSIFMTU or SIOCSIFHWADDR or SIOCSIFHWBROADCAST or SIOCSIFNAME or
            SIOCSIFTXQLEN or SIOCSIFMETRIC or SIOCSIFMAP or SIOCSIFADDR or SIOCSIFDSTADDR or SIOCSIFBRDADDR or
            SIOCSIFNETMASK or SIOCSIFPFLAGS;
        if (isSet && !privileged) return -Errno.EPERM;
        var dev = net.GetDevice(name);
        switch (request)
        {
            // devinet_ioctl: only AF_INET sockets know these
            case SIOCGIFADDR: case SIOCGIFDSTADDR: case SIOCGIFBRDADDR: case SIOCGIFNETMASK:
                if (family != AF_INET) return -Errno.ENOTTY;
                return InetGet(net, name, request, u);
        }
        if (dev == null) return -Errno.ENODEV;
        switch (request)
        {
            case SIOCGIFFLAGS:
                BinaryPrimitives.WriteInt16LittleEndian(u, (short)dev.GetFlags());
                return 0;
            case SIOCGIFMETRIC:
                BinaryPrimitives.WriteInt32LittleEndian(u, 0);
                return 0;
            case SIOCGIFMTU:
                BinaryPrimitives.WriteInt32LittleEndian(u, (int)dev.Mtu);
                return 0;
            case SIOCGIFHWADDR:
                u[..16].Clear();
                BinaryPrimitives.WriteUInt16LittleEndian(u, dev.Type);
                dev.DevAddr.AsSpan(0, Math.Min(14, (int)dev.AddrLen)).CopyTo(u[2..]);
                return 0;
            case SIOCGIFMAP:
                u.Clear();
                return 0;
            case SIOCGIFINDEX:
                BinaryPrimitives.WriteInt32LittleEndian(u, dev.Ifindex);
                return 0;
            case SIOCGIFTXQLEN:
                BinaryPrimitives.WriteInt32LittleEndian(u, (int)dev.TxQueueLen);
                return 0;
            case SIOCGIFPFLAGS:
                BinaryPrimitives.WriteInt32LittleEndian(u, 0);
                return 0;
            case SIOCSIFFLAGS:
                return Done(net, net.DevChangeFlags(dev, (uint)(int)BinaryPrimitives.ReadInt16LittleEndian(u)));
            case SIOCSIFMTU:
            {
                int mtu = BinaryPrimitives.ReadInt32LittleEndian(u);
                if (mtu < 0) return -Errno.EINVAL;
                return Done(net, net.DevSetMtu(dev, (uint)mtu));
            }
            case SIOCSIFHWADDR:
            {
                if (BinaryPrimitives.ReadUInt16LittleEndian(u) != dev.Type) return -Errno.EINVAL;
                return Done(net, net.DevSetMacAddress(dev, u.Slice(2, dev.AddrLen).ToArray()));
            }
            case SIOCSIFHWBROADCAST:
            {
                if (BinaryPrimitives.ReadUInt16LittleEndian(u) != dev.Type) return -Errno.EINVAL;
                dev.Broadcast = u.Slice(2, Math.Min(14, (int)dev.AddrLen)).ToArray();
                net.CallNetdevNotifiers(NetdevEvent.ChangeAddr, dev);
                return Done(net, KErr.Ok);
            }
            case SIOCSIFNAME:
            {
                int n = u[..16].IndexOf((byte)0);
                string newName = Encoding.UTF8.GetString(u[..(n < 0 ? 16 : n)]);
                return Done(net, net.DevChangeName(dev, newName));
            }
            case SIOCSIFTXQLEN:
            {
                int q = BinaryPrimitives.ReadInt32LittleEndian(u);
                if (q < 0) return -Errno.EINVAL;
                return Done(net, net.DevChangeTxQueueLen(dev, (uint)q));
            }
            case SIOCSIFMETRIC:
                return -Errno.EOPNOTSUPP;
            default:
                // address setting through ioctls, ethtool, bridge and wireless ioctls: not provided
                return request is >= 0x8900 and <= 0x89ff ? -Errno.EOPNOTSUPP : -Errno.ENOTTY;
        }
    }

    /// <summary>SIOCGIFCONF (inet_gifconf): one struct ifreq (name + AF_INET address) per IPv4
    /// address, by device; the answer is the length the whole list needs and the entries that fit.</summary>
    private static int IfConf(Net net, int family, ReadOnlySpan<byte> arg, out byte[] entries)
    {
        entries = [];
        if (family != AF_INET && family != AF_NETLINK && family != AF_UNIX && family != AF_PACKET && family != AF_INET6)
            return -Errno.ENOTTY;
        int room = arg.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(arg) : 0;
        var all = new List<byte[]>();
        foreach (var dev in net.Devices)
        {
            if (dev.Ip4 == null) continue;
            foreach (var a in dev.Ip4.Addrs)
            {
                var e = new byte[IfreqSize];
                Encoding.UTF8.GetBytes(a.Label, e.AsSpan(0, 15));
                BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(16), (ushort)AF_INET);
                BinaryPrimitives.WriteUInt32BigEndian(e.AsSpan(20), a.Local);
                all.Add(e);
            }
        }
        int fit = Math.Max(0, Math.Min(all.Count, room / IfreqSize));
        entries = new byte[fit * IfreqSize];
        for (int i = 0; i < fit; i++) all[i].CopyTo(entries, i * IfreqSize);
        return all.Count * IfreqSize;
    }

    private int Done(Net net, KErr e)
    {
        net.Kernel.RunDeferred();
        _ = engine;
        return -e.Errno;
    }

    /// <summary>devinet_ioctl (SIOCGIF*ADDR): the address whose label is the ifreq name.</summary>
    private static int InetGet(Net net, string label, uint request, Span<byte> u)
    {
        string devName = label.Contains(':') ? label[..label.IndexOf(':')] : label;
        var dev = net.GetDevice(devName);
        if (dev == null) return -Errno.ENODEV;
        if (dev.Ip4 == null) return -Errno.EADDRNOTAVAIL;
        var ifa = dev.Ip4.Addrs.FirstOrDefault(a => a.Label == label);
        if (ifa == null) return -Errno.EADDRNOTAVAIL;
        uint v = request switch
        {
            SIOCGIFADDR => ifa.Local,
            SIOCGIFBRDADDR => ifa.Broadcast,
            SIOCGIFDSTADDR => ifa.Address,
            _ => ifa.Mask,
        };
        u[..16].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(u, (ushort)AF_INET);
        BinaryPrimitives.WriteUInt32BigEndian(u[4..], v);
        return 0;
    }
}

/// <summary>The answer to VK_CTL_GETIFADDRS: what glibc's getifaddrs gathers from an RTM_GETLINK and
/// an RTM_GETADDR dump, as struct vk_ifaddr records.</summary>
public static class IfAddrs
{
    public static byte[] Build(Net net)
    {
        var entries = new List<byte[]>();
        foreach (var dev in net.Devices)
        {
            var e = New(dev.Name, dev.GetFlags(), dev.Ifindex, AF_PACKET);
            e[27] = dev.AddrLen;
            BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(28), dev.Type);
            dev.DevAddr.AsSpan(0, Math.Min(32, (int)dev.AddrLen)).CopyTo(e.AsSpan(36));
            dev.Broadcast.AsSpan(0, Math.Min(32, (int)dev.AddrLen)).CopyTo(e.AsSpan(68));
            entries.Add(e);
        }
        foreach (var dev in net.Devices)
        {
            if (dev.Ip4 == null) continue;
            foreach (var a in dev.Ip4.Addrs)
            {
                var e = New(a.Label, dev.GetFlags(), dev.Ifindex, AF_INET);
                e[26] = a.PrefixLen;
                BinaryPrimitives.WriteUInt32BigEndian(e.AsSpan(36), a.Local);
                uint other = (dev.Flags & IFF_POINTOPOINT) != 0 ? a.Address : a.Broadcast;
                BinaryPrimitives.WriteUInt32BigEndian(e.AsSpan(68), other);
                entries.Add(e);
            }
        }
        foreach (var dev in net.Devices)
        {
            if (dev.Ip6 == null) continue;
            foreach (var a in dev.Ip6.Addrs)
            {
                var e = New(dev.Name, dev.GetFlags(), dev.Ifindex, AF_INET6);
                e[26] = a.PrefixLen;
                if (Inet.IsV6LinkLocal(a.Addr)) BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(32), (uint)dev.Ifindex);
                Inet.V6(a.Addr, e.AsSpan(36));
                if (a.PeerAddr != UInt128.Zero) Inet.V6(a.PeerAddr, e.AsSpan(68));
                entries.Add(e);
            }
        }
        var o = new byte[entries.Count * Protocol.Shim.IfAddrEntry.Size];
        for (int i = 0; i < entries.Count; i++) entries[i].CopyTo(o, i * Protocol.Shim.IfAddrEntry.Size);
        return Protocol.Shim.CtlReply.Build(entries.Count, o);
    }

    private static byte[] New(string name, uint flags, int ifindex, int family)
    {
        var e = new byte[Protocol.Shim.IfAddrEntry.Size];
        Encoding.UTF8.GetBytes(name, e.AsSpan(0, 15));
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(16), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(20), (uint)ifindex);
        BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(24), (ushort)family);
        return e;
    }
}
