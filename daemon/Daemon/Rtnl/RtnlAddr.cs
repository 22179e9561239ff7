using System.Buffers.Binary;
using VirtKernel.Daemon.Server;
using VirtKernel.Model;
using VirtKernel.Model.Ipv4;
using VirtKernel.Model.Ipv6;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Rtnl;

/// <summary>net/ipv4/devinet.c and net/ipv6/addrconf.c, rtnetlink side: RTM_NEWADDR, RTM_DELADDR,
/// RTM_GETADDR and the address fill functions.</summary>
public static class RtnlAddrHandlers
{
    /// <summary>ifa_ipv4_policy.</summary>
    private static readonly Policy Ipv4Policy = new(IFA_MAX,
        ((ushort)IFA_LOCAL, new NlaPolicy(NlaType.U32)),
        ((ushort)IFA_ADDRESS, new NlaPolicy(NlaType.U32)),
        ((ushort)IFA_BROADCAST, new NlaPolicy(NlaType.U32)),
        ((ushort)IFA_LABEL, new NlaPolicy(NlaType.String, IFNAMSIZ - 1)),
        ((ushort)IFA_CACHEINFO, new NlaPolicy(NlaType.Unspec, 16)),
        ((ushort)IFA_FLAGS, new NlaPolicy(NlaType.U32)),
        ((ushort)IFA_RT_PRIORITY, new NlaPolicy(NlaType.U32)),
        ((ushort)IFA_TARGET_NETNSID, new NlaPolicy(NlaType.S32)),
        ((ushort)IFA_PROTO, new NlaPolicy(NlaType.U8)));

    /// <summary>ifa_ipv6_policy.</summary>
    private static readonly Policy Ipv6Policy = new(IFA_MAX,
        ((ushort)IFA_ADDRESS, new NlaPolicy(NlaType.Unspec, 16)),
        ((ushort)IFA_LOCAL, new NlaPolicy(NlaType.Unspec, 16)),
        ((ushort)IFA_CACHEINFO, new NlaPolicy(NlaType.Unspec, 16)),
        ((ushort)IFA_FLAGS, new NlaPolicy(NlaType.Unspec, 4)),
        ((ushort)IFA_RT_PRIORITY, new NlaPolicy(NlaType.Unspec, 4)),
        ((ushort)IFA_TARGET_NETNSID, new NlaPolicy(NlaType.S32)),
        ((ushort)IFA_PROTO, new NlaPolicy(NlaType.U8)));

    public static void Register(Rtnetlink rtnl)
    {
        rtnl.Register(AF_INET, RTM_NEWADDR, NewAddr4, null);
        rtnl.Register(AF_INET, RTM_DELADDR, DelAddr4, null);
        rtnl.Register(AF_INET, RTM_GETADDR, null, DumpAddr4, RtnlFlags.DumpSplitNlmDone);
        rtnl.Register(AF_INET6, RTM_NEWADDR, NewAddr6, null);
        rtnl.Register(AF_INET6, RTM_DELADDR, DelAddr6, null);
        rtnl.Register(AF_INET6, RTM_GETADDR, GetAddr6, DumpAddr6);
        // rtnl_dump_all for RTM_GETADDR with AF_UNSPEC: every family in order
        rtnl.Register(AF_UNSPEC, RTM_GETADDR, null, (req, w, d) => DumpAll(req, w, d, DumpAddr4, DumpAddr6), RtnlFlags.DumpSplitNlmDone);
    }

    public static IEnumerable<bool> DumpAll(RtnlRequest req, NlWriter w, DumpState d, params RtnlDumpit[] families)
    {
        foreach (var f in families)
            foreach (var step in f(req, w, d))
                yield return step;
    }

    // ---- IPv4 ---------------------------------------------------------------------------------

    /// <summary>inet_rtm_newaddr (rtm_to_ifaddr + the model's insert/replace).</summary>
    private static int NewAddr4(RtnlRequest req)
    {
        var tb = req.Parse(IfAddrMsg.Size, Ipv4Policy, NlValidate.Liberal, out int err);
        if (tb == null) return err;
        var ifm = IfAddrMsg.Read(req.Payload);
        if (ifm.PrefixLen > 32) return req.Ext.Fail(Errno.EINVAL, "ipv4: Invalid prefix length");
        if (!tb.Has(IFA_LOCAL)) return req.Ext.Fail(Errno.EINVAL, "ipv4: Local address is not supplied");
        var dev = req.Net.GetDevice((int)ifm.Index);
        if (dev == null) return req.Ext.Fail(Errno.ENODEV, "ipv4: Device not found");
        var inDev = dev.Ip4;
        if (inDev == null) return -Errno.ENOBUFS;
        uint local = tb.Get(IFA_LOCAL).Be32;
        var ifa = new InIfAddr
        {
            Dev = dev, PrefixLen = ifm.PrefixLen, Mask = Inet.Mask4(ifm.PrefixLen),
            Flags = tb.Has(IFA_FLAGS) ? tb.U32(IFA_FLAGS) : ifm.Flags, Scope = ifm.Scope,
            Local = local, Address = tb.Has(IFA_ADDRESS) ? tb.Get(IFA_ADDRESS).Be32 : local,
            Broadcast = tb.Has(IFA_BROADCAST) ? tb.Get(IFA_BROADCAST).Be32 : 0,
            Label = tb.Has(IFA_LABEL) ? tb.String(IFA_LABEL) : dev.Name,
            RtPriority = tb.Has(IFA_RT_PRIORITY) ? tb.U32(IFA_RT_PRIORITY) : 0,
            Proto = tb.Has(IFA_PROTO) ? tb.U8(IFA_PROTO) : (byte)0,
        };
        uint valid = IfAddr.InfinityLifeTime, preferred = IfAddr.InfinityLifeTime;
        if (tb.Has(IFA_CACHEINFO))
        {
            var ci = tb.Payload(IFA_CACHEINFO);
            preferred = BinaryPrimitives.ReadUInt32LittleEndian(ci);
            valid = BinaryPrimitives.ReadUInt32LittleEndian(ci[4..]);
            if (valid == 0 || preferred > valid) return req.Ext.Fail(Errno.EINVAL, "ipv4: address lifetime invalid");
        }
        return req.Ext.Set(req.Net.Ipv4.NewAddr(inDev, ifa, valid, preferred, req.Flags));
    }

    /// <summary>inet_rtm_deladdr.</summary>
    private static int DelAddr4(RtnlRequest req)
    {
        var tb = req.Parse(IfAddrMsg.Size, Ipv4Policy, NlValidate.Liberal, out int err);
        if (tb == null) return err;
        var ifm = IfAddrMsg.Read(req.Payload);
        var inDev = req.Net.GetDevice((int)ifm.Index)?.Ip4;
        if (inDev == null) return req.Ext.Fail(Errno.ENODEV, "ipv4: Device not found");
        var ifa = Ipv4Net.FindForDelete(inDev,
            tb.Has(IFA_LOCAL) ? tb.Get(IFA_LOCAL).Be32 : null,
            tb.Has(IFA_LABEL) ? tb.String(IFA_LABEL) : null,
            tb.Has(IFA_ADDRESS) ? tb.Get(IFA_ADDRESS).Be32 : null, ifm.PrefixLen);
        if (ifa == null) return req.Ext.Fail(Errno.EADDRNOTAVAIL, "ipv4: Address not found");
        req.Net.Ipv4.InetDelIfa(inDev, ifa, true);
        return 0;
    }

    /// <summary>inet_valid_dump_ifaddr_req / inet6_valid_dump_ifaddr_req (strict checking): the
    /// device filter and the target namespace (IFA_TARGET_NETNSID); <paramref name="mod"/> is the
    /// module prefix of the extack messages.</summary>
    private static (int Ifindex, Net Net, int Netnsid) ValidDumpReq(RtnlRequest req, string mod, Policy policy)
    {
        if (req.PayloadLength < IfAddrMsg.Size)
            throw new RtnlDumpError(Errno.EINVAL, mod + "Invalid header for address dump request");
        var ifm = IfAddrMsg.Read(req.Payload);
        if (ifm.PrefixLen != 0 || ifm.Flags != 0 || ifm.Scope != 0)
            throw new RtnlDumpError(Errno.EINVAL, mod + "Invalid values in header for address dump request");
        var tb = req.Parse(IfAddrMsg.Size, policy, NlValidate.DeprecatedStrict, out int err);
        if (tb == null) throw new RtnlDumpError(-err, req.Ext.Message);
        var net = req.Net;
        int netnsid = -1;
        for (int i = 0; i <= IFA_MAX; i++)
        {
            if (!tb.Has(i)) continue;
            if (i != IFA_TARGET_NETNSID) throw new RtnlDumpError(Errno.EINVAL, mod + "Unsupported attribute in dump request");
            netnsid = tb.S32(i);
            net = RtnlNetns.ById(req.Net, netnsid) ?? throw new RtnlDumpError(Errno.EINVAL, mod + "Invalid target network namespace id");
        }
        return ((int)ifm.Index, net, netnsid);
    }

    /// <summary>inet_dump_ifaddr / inet6_dump_addr: the addresses of every device (or the one the
    /// strict request names), in device order, each device's list in its order.</summary>
    private static IEnumerable<bool> DumpAddrs(RtnlRequest req, NlWriter w, DumpState d, string mod, Policy policy,
        Func<NetDevice, IEnumerable<IfAddr>?> addrs, Action<NlWriter, IfAddr, Kernel, int, int> fill)
    {
        int ifindex = 0, netnsid = -1;
        int flags = NLM_F_MULTI;
        var net = req.Net;
        if (req.Strict)
        {
            (ifindex, net, netnsid) = ValidDumpReq(req, mod, policy);
            if (ifindex != 0)
            {
                flags |= NLM_F_DUMP_FILTERED;
                d.AnswerFlagsOverride |= (ushort)NLM_F_DUMP_FILTERED;
            }
        }
        IEnumerable<NetDevice> devs;
        if (ifindex != 0)
            devs = net.GetDevice(ifindex) is { } one ? [one] : throw new RtnlDumpError(Errno.ENODEV, null);
        else devs = net.Devices.ToArray();
        foreach (var dev in devs)
        {
            var list = addrs(dev);
            if (list == null) continue;
            foreach (var ifa in list.ToArray())
            {
                if (ifa.Dead) continue;
                fill(w, ifa, net.Kernel, flags, netnsid);
                yield return true;
            }
        }
    }

    private static IEnumerable<bool> DumpAddr4(RtnlRequest req, NlWriter w, DumpState d) =>
        DumpAddrs(req, w, d, "ipv4: ", Ipv4Policy, dev => dev.Ip4?.Addrs,
            (w, a, k, flags, nsid) => FillIfaddr4(w, (InIfAddr)a, k, RTM_NEWADDR, req.Sock.PortId, req.Hdr.Seq, flags, nsid));

    private static IEnumerable<bool> DumpAddr6(RtnlRequest req, NlWriter w, DumpState d) =>
        DumpAddrs(req, w, d, "ipv6: ", Ipv6Policy, dev => dev.Ip6?.Addrs,
            (w, a, k, flags, nsid) => FillIfaddr6(w, (Inet6IfAddr)a, k, RTM_NEWADDR, req.Sock.PortId, req.Hdr.Seq, flags, nsid));

    /// <summary>cstamp_delta: hundredths of a second since boot.</summary>
    private static uint CstampDelta(Kernel k, long ms) => (uint)(ms / 10);

    /// <summary>The remaining lifetimes as inet_fill_ifaddr/inet6_fill_ifaddr compute them.</summary>
    private static (uint Preferred, uint Valid) Lifetimes(Kernel k, IfAddr ifa, bool ipv6)
    {
        bool permanent = ipv6 ? (ifa.IsPermanent && ifa.PreferredLft == IfAddr.InfinityLifeTime) : ifa.IsPermanent;
        if (permanent) return (IfAddr.InfinityLifeTime, IfAddr.InfinityLifeTime);
        uint preferred = ifa.PreferredLft, valid = ifa.ValidLft;
        if (preferred != IfAddr.InfinityLifeTime)
        {
            long tval = (k.Clock.NowMs - ifa.TstampMs) / 1000;
            preferred = preferred > tval ? (uint)(preferred - tval) : 0;
            if (valid != IfAddr.InfinityLifeTime) valid = valid > tval ? (uint)(valid - tval) : 0;
        }
        return (preferred, valid);
    }

    private static void PutCacheinfo(NlWriter w, Kernel k, IfAddr ifa, uint preferred, uint valid)
    {
        var ci = w.ReserveAttr(IFA_CACHEINFO, 16);
        BinaryPrimitives.WriteUInt32LittleEndian(ci, preferred);
        BinaryPrimitives.WriteUInt32LittleEndian(ci[4..], valid);
        BinaryPrimitives.WriteUInt32LittleEndian(ci[8..], CstampDelta(k, ifa.CstampMs));
        BinaryPrimitives.WriteUInt32LittleEndian(ci[12..], CstampDelta(k, ifa.TstampMs));
    }

    /// <summary>inet_fill_ifaddr.</summary>
    public static void FillIfaddr4(NlWriter w, InIfAddr ifa, Kernel k, int type, uint pid, uint seq, int flags, int netnsid = -1)
    {
        int start = w.BeginMessage(type, flags, seq, pid);
        new IfAddrMsg
        {
            Family = (byte)AF_INET, PrefixLen = ifa.PrefixLen, Flags = (byte)ifa.Flags, Scope = ifa.Scope,
            Index = (uint)ifa.Dev.Ifindex,
        }.Write(w.Reserve(IfAddrMsg.Size));
        if (netnsid >= 0) w.PutS32(IFA_TARGET_NETNSID, netnsid);
        var (preferred, valid) = Lifetimes(k, ifa, false);
        if (ifa.Address != 0) w.PutBe32(IFA_ADDRESS, ifa.Address);
        if (ifa.Local != 0) w.PutBe32(IFA_LOCAL, ifa.Local);
        if (ifa.Broadcast != 0) w.PutBe32(IFA_BROADCAST, ifa.Broadcast);
        if (ifa.Label.Length > 0) w.PutString(IFA_LABEL, ifa.Label);
        if (ifa.Proto != 0) w.PutU8(IFA_PROTO, ifa.Proto);
        w.PutU32(IFA_FLAGS, ifa.Flags);
        if (ifa.RtPriority != 0) w.PutU32(IFA_RT_PRIORITY, ifa.RtPriority);
        PutCacheinfo(w, k, ifa, preferred, valid);
        w.EndMessage(start);
    }

    // ---- IPv6 ---------------------------------------------------------------------------------

    /// <summary>extract_addr: IFA_LOCAL wins; IFA_ADDRESS is then the peer when it differs.</summary>
    private static UInt128? ExtractAddr(AttrTable tb, out UInt128 peer)
    {
        peer = 0;
        UInt128? pfx = null;
        if (tb.Has(IFA_ADDRESS)) pfx = Inet.V6(tb.Payload(IFA_ADDRESS));
        if (tb.Has(IFA_LOCAL))
        {
            var local = Inet.V6(tb.Payload(IFA_LOCAL));
            if (pfx is UInt128 p && p != local) peer = p;
            pfx = local;
        }
        return pfx;
    }

    /// <summary>inet6_rtm_newaddr.</summary>
    private static int NewAddr6(RtnlRequest req)
    {
        var tb = req.Parse(IfAddrMsg.Size, Ipv6Policy, NlValidate.Liberal, out int err);
        if (tb == null) return err;
        var ifm = IfAddrMsg.Read(req.Payload);
        var pfx = ExtractAddr(tb, out var peer);
        if (pfx == null) return -Errno.EINVAL;
        var cfg = new Ifa6Config { Pfx = pfx.Value, Peer = peer, Plen = ifm.PrefixLen };
        if (tb.Has(IFA_RT_PRIORITY)) cfg.RtPriority = tb.U32(IFA_RT_PRIORITY);
        if (tb.Has(IFA_PROTO)) cfg.Proto = tb.U8(IFA_PROTO);
        if (tb.Has(IFA_CACHEINFO))
        {
            var ci = tb.Payload(IFA_CACHEINFO);
            cfg.PreferredLft = BinaryPrimitives.ReadUInt32LittleEndian(ci);
            cfg.ValidLft = BinaryPrimitives.ReadUInt32LittleEndian(ci[4..]);
        }
        var dev = req.Net.GetDevice((int)ifm.Index);
        if (dev == null) return req.Ext.Fail(Errno.ENODEV, "ipv6: Unable to find the interface");
        cfg.IfaFlags = tb.Has(IFA_FLAGS) ? tb.U32(IFA_FLAGS) : ifm.Flags;
        cfg.IfaFlags &= (uint)(IFA_F_NODAD | IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR | IFA_F_NOPREFIXROUTE |
                               IFA_F_MCAUTOJOIN | IFA_F_OPTIMISTIC);
        var v6 = req.Net.Ipv6;
        if (dev.Ip6 == null && dev.Mtu < Ipv6Net.Ipv6MinMtu) return -Errno.ENOBUFS;
        var idev = dev.Ip6;
        bool allowOptimistic = idev != null && (v6.All[DEVCONF_OPTIMISTIC_DAD] != 0 || idev.Cnf[DEVCONF_OPTIMISTIC_DAD] != 0);
        if (!allowOptimistic) cfg.IfaFlags &= ~(uint)IFA_F_OPTIMISTIC;
        if ((cfg.IfaFlags & IFA_F_NODAD) != 0 && (cfg.IfaFlags & IFA_F_OPTIMISTIC) != 0)
            return req.Ext.Fail(Errno.EINVAL, "IFA_F_NODAD and IFA_F_OPTIMISTIC are mutually exclusive");
        var existing = idev?.Find(cfg.Pfx);
        if (existing == null) return req.Ext.Set(v6.Inet6AddrAdd(dev, cfg));
        if ((req.Flags & NLM_F_EXCL) != 0 || (req.Flags & NLM_F_REPLACE) == 0)
            return req.Ext.Fail(Errno.EEXIST, "ipv6: address already assigned");
        return req.Ext.Set(v6.Inet6AddrModify(existing, cfg));
    }

    /// <summary>inet6_rtm_deladdr.</summary>
    private static int DelAddr6(RtnlRequest req)
    {
        var tb = req.Parse(IfAddrMsg.Size, Ipv6Policy, NlValidate.Liberal, out int err);
        if (tb == null) return err;
        var ifm = IfAddrMsg.Read(req.Payload);
        var pfx = ExtractAddr(tb, out _);
        if (pfx == null) return -Errno.EINVAL;
        uint flags = tb.Has(IFA_FLAGS) ? tb.U32(IFA_FLAGS) : ifm.Flags;
        flags &= (uint)IFA_F_MANAGETEMPADDR;
        if (ifm.PrefixLen > 128) return req.Ext.Fail(Errno.EINVAL, "ipv6: Invalid prefix length");
        var dev = req.Net.GetDevice((int)ifm.Index);
        if (dev == null) return req.Ext.Fail(Errno.ENODEV, "ipv6: Unable to find the interface");
        if (dev.Ip6 == null) return req.Ext.Fail(Errno.ENXIO, "ipv6: IPv6 is disabled on this device");
        return req.Ext.Set(req.Net.Ipv6.Inet6AddrDel(dev, pfx.Value, ifm.PrefixLen, flags));
    }

    /// <summary>inet6_rtm_getaddr.</summary>
    private static int GetAddr6(RtnlRequest req)
    {
        var tb = req.Parse(IfAddrMsg.Size, Ipv6Policy, req.Strict ? NlValidate.DeprecatedStrict : NlValidate.Liberal, out int err);
        if (tb == null) return err;
        var ifm = IfAddrMsg.Read(req.Payload);
        var addr = ExtractAddr(tb, out _);
        if (addr == null) return -Errno.EINVAL;
        var dev = ifm.Index != 0 ? req.Net.GetDevice((int)ifm.Index) : null;
        Inet6IfAddr? ifa = null;
        if (dev != null) ifa = dev.Ip6?.Find(addr.Value);
        else
            foreach (var d in req.Net.Devices)
                if (d.Ip6?.Find(addr.Value) is { } f) { ifa = f; break; }
        if (ifa == null) return -Errno.EADDRNOTAVAIL;
        var w = new NlWriter(256);
        FillIfaddr6(w, ifa, req.Kernel, RTM_NEWADDR, req.Sock.PortId, req.Hdr.Seq, 0);
        req.Unicast(w);
        return 0;
    }

    /// <summary>inet6_fill_ifaddr.</summary>
    public static void FillIfaddr6(NlWriter w, Inet6IfAddr ifa, Kernel k, int type, uint pid, uint seq, int flags, int netnsid = -1)
    {
        int start = w.BeginMessage(type, flags, seq, pid);
        new IfAddrMsg
        {
            Family = (byte)AF_INET6, PrefixLen = ifa.PrefixLen, Flags = (byte)ifa.Flags, Scope = ifa.Scope,
            Index = (uint)ifa.Dev.Ifindex,
        }.Write(w.Reserve(IfAddrMsg.Size));
        if (netnsid >= 0) w.PutS32(IFA_TARGET_NETNSID, netnsid);
        var (preferred, valid) = Lifetimes(k, ifa, true);
        Span<byte> a = stackalloc byte[16];
        if (ifa.PeerAddr != UInt128.Zero)
        {
            Inet.V6(ifa.Addr, a);
            w.PutBytes(IFA_LOCAL, a);
            Inet.V6(ifa.PeerAddr, a);
            w.PutBytes(IFA_ADDRESS, a);
        }
        else
        {
            Inet.V6(ifa.Addr, a);
            w.PutBytes(IFA_ADDRESS, a);
        }
        if (ifa.RtPriority != 0) w.PutU32(IFA_RT_PRIORITY, ifa.RtPriority);
        PutCacheinfo(w, k, ifa, preferred, valid);
        w.PutU32(IFA_FLAGS, ifa.Flags);
        if (ifa.Proto != 0) w.PutU8(IFA_PROTO, ifa.Proto);
        w.EndMessage(start);
    }
}
