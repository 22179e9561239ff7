using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Support;

/// <summary>Requests as iproute2 builds them, for tests.</summary>
public static class Requests
{
    public static byte[] Message(int type, int flags, uint seq, Action<NlWriter> body)
    {
        var w = new NlWriter();
        int start = w.BeginMessage(type, flags, seq, 0);
        body(w);
        w.EndMessage(start);
        return w.ToArray();
    }

    /// <summary>RTM_NEWLINK for `ip link add NAME type veth peer name PEER`.</summary>
    public static byte[] AddVeth(string name, string peer, uint seq = 1) =>
        Message(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, w =>
        {
            w.Reserve(IfInfoMsg.Size);
            w.PutString(IFLA_IFNAME, name);
            int li = w.BeginNest(IFLA_LINKINFO);
            w.PutBytes(IFLA_INFO_KIND, "veth"u8);
            int data = w.BeginNest(IFLA_INFO_DATA);
            int p = w.BeginNest(VETH_INFO_PEER);
            w.Reserve(IfInfoMsg.Size);
            w.PutString(IFLA_IFNAME, peer);
            w.EndNest(p);
            w.EndNest(data);
            w.EndNest(li);
        });

    /// <summary>RTM_SETLINK changing the flags of a device (`ip link set DEV up`).</summary>
    public static byte[] SetUp(int ifindex, bool up, uint seq = 1) =>
        Message(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, seq, w =>
            new IfInfoMsg { Index = ifindex, Flags = up ? (uint)IFF_UP : 0, Change = IFF_UP }.Write(w.Reserve(IfInfoMsg.Size)));

    /// <summary>RTM_NEWADDR (`ip addr add ADDR/PLEN dev IFINDEX`, `nodad` for IPv6).</summary>
    public static byte[] AddAddr(int ifindex, byte[] addr, int prefixLen, uint seq = 1) =>
        Message(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, w =>
        {
            bool v6 = addr.Length == 16;
            new IfAddrMsg
            {
                Family = (byte)(v6 ? AF_INET6 : AF_INET), PrefixLen = (byte)prefixLen, Index = (uint)ifindex,
                Flags = (byte)(v6 ? IFA_F_NODAD : 0),
            }.Write(w.Reserve(IfAddrMsg.Size));
            w.PutBytes(IFA_LOCAL, addr);
            w.PutBytes(IFA_ADDRESS, addr);
        });

    /// <summary>A dump request with a zeroed fixed header of <paramref name="hdrLen"/> bytes whose first byte is the family.</summary>
    public static byte[] Dump(int type, int family, int hdrLen, uint seq = 1, int extraFlags = 0) =>
        Message(type, NLM_F_REQUEST | NLM_F_DUMP | extraFlags, seq, w => w.Reserve(hdrLen)[0] = (byte)family);
}
