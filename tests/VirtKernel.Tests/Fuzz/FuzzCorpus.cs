using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using VirtKernel.Tests.Codec;
using VirtKernel.Tests.Support;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Fuzz;

/// <summary>Valid requests to start mutations from: iproute2's captured requests and the requests
/// `ip` sends for links, addresses, routes and dumps, on the devices a small namespace holds (lo,
/// veth pairs fzaN/fzbN with N below 8). Every one carries NLM_F_REQUEST|NLM_F_ACK.</summary>
public sealed class FuzzCorpus(Random rng)
{
    private const int Flags = NLM_F_REQUEST | NLM_F_ACK;
    private const int Create = Flags | NLM_F_CREATE | NLM_F_EXCL;

    private int Ifindex() => rng.Next(8) switch { 0 => 0, 1 => 1, 7 => rng.Next(-3, 100), _ => rng.Next(2, 12) };
    private string Name() => rng.Next(10) switch { 0 => "lo", 1 => "", 2 => new string('x', rng.Next(14, 20)), _ => $"fz{(rng.Next(2) == 0 ? 'a' : 'b')}{rng.Next(8)}" };
    private byte[] V4() => [198, 51, 100, (byte)rng.Next(16)];
    private byte[] V6() => [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte)rng.Next(16)];

    private static byte[] Msg(int type, int flags, Action<NlWriter> body) => Requests.Message(type, flags, 1, body);

    private void IfInfo(NlWriter w, int index = 0, uint flags = 0, uint change = 0) =>
        new IfInfoMsg { Family = (byte)(rng.Next(6) == 0 ? AF_PACKET : AF_UNSPEC), Index = index, Flags = flags, Change = change }
            .Write(w.Reserve(IfInfoMsg.Size));

    /// <summary>One valid request, chosen at random.</summary>
    public byte[] Next()
    {
        switch (rng.Next(24))
        {
            case 0: return Flagged(KernelCaptures.ReqProbe);
            case 1: return Flagged(KernelCaptures.ReqLinkAddVeth);
            case 2: return Flagged(KernelCaptures.ReqAddrAddV4);
            case 3: return Flagged(KernelCaptures.ReqLinkShowDev);
            case 4:
            {
                int n = rng.Next(8);
                return Flagged(Requests.AddVeth($"fza{n}", $"fzb{n}"));
            }
            case 5:
                return Msg(RTM_DELLINK, Flags, w =>
                {
                    int idx = Ifindex();
                    IfInfo(w, idx);
                    if (idx == 0) w.PutString(IFLA_IFNAME, Name());
                });
            case 6:
                return Msg(RTM_SETLINK, Flags, w => IfInfo(w, Ifindex(), rng.Next(2) == 0 ? (uint)IFF_UP : 0, IFF_UP));
            case 7:
                return Msg(RTM_SETLINK, Flags, w =>
                {
                    IfInfo(w, Ifindex());
                    switch (rng.Next(8))
                    {
                        case 0: w.PutU32(IFLA_MTU, (uint)rng.Next(0, 70000)); break;
                        case 1: w.PutString(IFLA_IFNAME, Name()); break;
                        case 2: w.PutBytes(IFLA_ADDRESS, [2, 0, 0, 0, (byte)rng.Next(256), (byte)rng.Next(256)]); break;
                        case 3: w.PutU32(IFLA_TXQLEN, (uint)rng.Next(5000)); break;
                        case 4: w.PutString(IFLA_IFALIAS, "fuzz alias"); break;
                        case 5: w.PutU32(IFLA_GROUP, (uint)rng.Next(4)); break;
                        case 6: w.PutU32(IFLA_MASTER, (uint)Ifindex()); break;
                        default:
                            int af = w.BeginNest(IFLA_AF_SPEC);
                            int i6 = w.BeginNest(AF_INET6);
                            w.PutU8(IFLA_INET6_ADDR_GEN_MODE, (byte)rng.Next(4));
                            w.EndNest(i6);
                            w.EndNest(af);
                            break;
                    }
                });
            case 8:
                return Msg(RTM_NEWLINK, Flags, w =>
                {
                    IfInfo(w, 0);
                    w.PutString(IFLA_IFNAME, Name());
                    w.PutU32(IFLA_MTU, (uint)rng.Next(60, 9000));
                    w.PutU8(IFLA_OPERSTATE, (byte)rng.Next(7));
                });
            case 9:
                return Flagged(Requests.AddAddr(Ifindex(), V4(), rng.Next(8, 33)));
            case 10:
                return Flagged(Requests.AddAddr(Ifindex(), V6(), rng.Next(48, 129)));
            case 11:
            {
                var a = rng.Next(2) == 0 ? V4() : V6();
                var req = Requests.AddAddr(Ifindex(), a, a.Length == 4 ? 24 : 64);
                req[4] = RTM_DELADDR;
                req[6] = (byte)Flags;
                req[7] = 0;
                return req;
            }
            case 12:
                return Msg(RTM_NEWADDR, Create, w =>
                {
                    new IfAddrMsg { Family = AF_INET, PrefixLen = 24, Index = (uint)Ifindex() }.Write(w.Reserve(IfAddrMsg.Size));
                    w.PutBytes(IFA_LOCAL, V4());
                    w.PutBytes(IFA_BROADCAST, [198, 51, 100, 255]);
                    w.PutString(IFA_LABEL, Name());
                    w.PutU32(IFA_FLAGS, (uint)rng.Next(0x400));
                    var ci = w.ReserveAttr(IFA_CACHEINFO, 16);
                    ci.Fill(0xff);
                });
            case 13:
                return Msg(RTM_GETLINK, Flags, w =>
                {
                    IfInfo(w, Ifindex());
                    w.PutU32(IFLA_EXT_MASK, (uint)rng.Next(16));
                    if (rng.Next(2) == 0) w.PutString(IFLA_IFNAME, Name());
                });
            case 14:
                return Dump(RTM_GETLINK, AF_UNSPEC, IfInfoMsg.Size, w => w.PutU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS));
            case 15:
                return Dump(RTM_GETADDR, new[] { AF_UNSPEC, AF_INET, AF_INET6 }[rng.Next(3)], IfAddrMsg.Size, _ => { });
            case 16:
                return Dump(RTM_GETROUTE, new[] { AF_UNSPEC, AF_INET, AF_INET6 }[rng.Next(3)], RtMsg.Size,
                    w => { if (rng.Next(2) == 0) w.PutU32(RTA_TABLE, RT_TABLE_MAIN); });
            case 17:
                return Msg(rng.Next(2) == 0 ? RTM_NEWLINKPROP : RTM_DELLINKPROP, Flags, w =>
                {
                    IfInfo(w, Ifindex());
                    int p = w.BeginNest(IFLA_PROP_LIST, nestedFlag: true);
                    w.PutString(IFLA_ALT_IFNAME, $"fuzzalt{rng.Next(4)}");
                    w.EndNest(p);
                });
            case 18:
                return Msg(rng.Next(2) == 0 ? RTM_NEWROUTE : RTM_DELROUTE, Create, w =>
                {
                    new RtMsg { Family = AF_INET, DstLen = 24, Table = RT_TABLE_MAIN, Protocol = RTPROT_BOOT, Type = RTN_UNICAST }
                        .Write(w.Reserve(RtMsg.Size));
                    w.PutBytes(RTA_DST, [203, 0, 113, 0]);
                    w.PutBytes(RTA_GATEWAY, V4());
                    w.PutU32(RTA_OIF, (uint)Ifindex());
                    int m = w.BeginNest(RTA_METRICS);
                    w.PutU32(RTAX_MTU, 1400);
                    w.EndNest(m);
                });
            case 19:
                return Msg(RTM_GETROUTE, Flags, w =>
                {
                    new RtMsg { Family = AF_INET, DstLen = 32 }.Write(w.Reserve(RtMsg.Size));
                    w.PutBytes(RTA_DST, [198, 51, 100, 7]);
                });
            case 20:
                return Msg(RTM_NEWLINK, Flags, w =>
                {
                    // an existing veth changed through NEWLINK with its kind and data
                    IfInfo(w, 0);
                    w.PutString(IFLA_IFNAME, Name());
                    int li = w.BeginNest(IFLA_LINKINFO);
                    w.PutString(IFLA_INFO_KIND, rng.Next(4) == 0 ? "bridge" : "veth");
                    int d = w.BeginNest(IFLA_INFO_DATA);
                    int p = w.BeginNest(VETH_INFO_PEER);
                    w.Reserve(IfInfoMsg.Size);
                    w.PutU32(IFLA_MTU, 1400);
                    w.EndNest(p);
                    w.EndNest(d);
                    w.EndNest(li);
                });
            case 21:
                return Msg(RTM_GETADDR, Flags, w =>
                {
                    new IfAddrMsg { Family = AF_INET6, PrefixLen = 128, Index = (uint)Ifindex() }.Write(w.Reserve(IfAddrMsg.Size));
                    w.PutBytes(IFA_ADDRESS, V6());
                });
            case 22:
                // message types VirtKernel has no handler for (neighbours, rules, netconf, ...)
                return Msg(new[] { RTM_NEWNEIGH, RTM_GETNEIGH, RTM_NEWRULE, RTM_GETRULE, RTM_GETNETCONF, RTM_NEWNEXTHOP, RTM_GETSTATS }[rng.Next(7)],
                    Flags, w => w.Reserve(12)[0] = AF_INET);
            default:
                return Msg(NLMSG_NOOP + rng.Next(16), Flags, w => w.Reserve(rng.Next(0, 20)));
        }
    }

    private static byte[] Dump(int type, int family, int hdrLen, Action<NlWriter> attrs) =>
        Requests.Message(type, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, 1, w =>
        {
            w.Reserve(hdrLen)[0] = (byte)family;
            attrs(w);
        });

    /// <summary>A copy with NLM_F_REQUEST|NLM_F_ACK set.</summary>
    private static byte[] Flagged(byte[] request)
    {
        var b = request.ToArray();
        b[6] |= (byte)Flags;
        return b;
    }
}
