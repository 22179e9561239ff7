using System.Buffers.Binary;
using VirtKernel.Daemon.Rtnl;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Codec;

/// <summary>Real kernel messages and real iproute2 requests (<see cref="KernelCaptures"/>) parse into a
/// <see cref="NlMessageTree"/> and emit back to the same bytes; their structure is what the kernel
/// meant; unknown attributes survive; the project's writer and parser agree with them.</summary>
public class RoundTripTests
{
    public static TheoryData<string> Captures()
    {
        var d = new TheoryData<string>();
        foreach (var f in typeof(KernelCaptures).GetFields()) d.Add(f.Name);
        return d;
    }

    private static byte[] Capture(string name) => (byte[])typeof(KernelCaptures).GetField(name)!.GetValue(null)!;

    [Theory]
    [MemberData(nameof(Captures))]
    public void ParseThenEmitGivesTheSameBytes(string name)
    {
        var bytes = Capture(name);
        var msgs = NlMessageTree.ParseDatagram(bytes, RtnlSchema.Schema, out var trailing);
        Assert.Single(msgs);
        Assert.Equal(bytes, NlMessageTree.ToDatagram(msgs, trailing));
        var m = msgs[0];
        Assert.Equal(m.Header.Len, (uint)m.Length);
        Assert.Empty(m.Trailing); // every byte of a real message is a fixed header or a well-formed attribute
        Assert.Equal(bytes.AsSpan(0, (int)m.Header.Len).ToArray(), m.ToBytes());
    }

    [Theory]
    [MemberData(nameof(Captures))]
    public void AnnotatedHexShowsTheSameBytes(string name)
    {
        // the comments of KernelCaptures were written by ToAnnotatedHex: its bytes are the message's
        var m = NlMessageTree.Parse(Capture(name), RtnlSchema.Schema);
        var hex = m.ToAnnotatedHex();
        var bytes = hex.Split('\n')
            .Select(l => l.Split("//")[0])
            .SelectMany(l => l.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(x => Convert.ToByte(x, 16)).ToArray();
        Assert.Equal(m.ToBytes(), bytes);
    }

    [Fact]
    public void LoopbackLinkMessage()
    {
        var m = NlMessageTree.Parse(KernelCaptures.NewLinkLo, RtnlSchema.Schema);
        Assert.Equal(RTM_NEWLINK, m.Header.Type);
        var ifi = IfInfoMsg.Read(m.Fixed);
        Assert.Equal(1, ifi.Index);
        Assert.Equal(ARPHRD_LOOPBACK, ifi.Type);
        Assert.Equal("lo", m.Attr(IFLA_IFNAME)!.Value.String);
        Assert.Equal(65536u, BinaryPrimitives.ReadUInt32LittleEndian(m.Attr(IFLA_MTU)!.Data));
        // struct rtnl_link_stats64 (25 counters in 6.18) with no IFLA_PAD before it: x86_64 does not align 64-bit attributes
        Assert.Equal(200, m.Attr(IFLA_STATS64)!.Data.Length);
        Assert.Null(m.Attr(IFLA_PAD));
        var inet6 = m.Attr(IFLA_AF_SPEC)!.Child(AF_INET6)!;
        Assert.Equal(IN6_ADDR_GEN_MODE_EUI64, inet6.Child(IFLA_INET6_ADDR_GEN_MODE)!.Data[0]);
        var conf = m.Attr(IFLA_AF_SPEC)!.Child(AF_INET)!.Child(IFLA_INET_CONF)!;
        Assert.Equal(0, conf.Data.Length % 4); // one s32 per IPV4_DEVCONF_*
    }

    [Fact]
    public void UnknownAttributesArePreservedWithTheirBytes()
    {
        // types 68 and 69 of the 6.18 kernel are unknown to the schema: kept, in place, with their payload
        var m = NlMessageTree.Parse(KernelCaptures.NewLinkLo, RtnlSchema.Schema);
        var types = m.Attributes.Select(a => (int)a.Type).ToList();
        int i68 = types.IndexOf(68), i69 = types.IndexOf(69);
        Assert.True(i68 > 0 && i69 == i68 + 1);
        Assert.Null(m.Attributes[i68].Spec);
        Assert.Equal(2, m.Attributes[i68].Data.Length);
        Assert.Equal("type 68", m.Attributes[i68].Name);
        // an unknown attribute added by hand (with NLA_F_NESTED and children) is emitted as given
        var extra = new NlAttrNode
        {
            RawType = 0x7000 | Nl.AttrFNested,
            Children = [new NlAttrNode { RawType = 1, Data = [1, 2, 3] }, new NlAttrNode { RawType = 2 }],
        };
        m.Attributes.Add(extra);
        var again = NlMessageTree.Parse(m.ToBytes(), RtnlSchema.Schema);
        Assert.Equal(m.ToBytes(), again.ToBytes());
        var back = again.Attributes[^1];
        Assert.Equal(0x3000, back.Type);
        Assert.NotNull(back.Children); // NLA_F_NESTED and a clean parse: shown as a nest
        Assert.Equal([1, 2, 3], back.Children![0].Data);
        Assert.Equal(KernelCaptures.NewLinkLo.Length + 4 + 8 + 4, again.Length);
    }

    [Fact]
    public void BridgeInfoDataIsASubMessageSelectedByKind()
    {
        var m = NlMessageTree.Parse(KernelCaptures.NewLinkBridge, RtnlSchema.Schema);
        var li = m.Attr(IFLA_LINKINFO)!;
        Assert.Equal("bridge", li.Child(IFLA_INFO_KIND)!.Value.String);
        var data = li.Child(IFLA_INFO_DATA)!;
        Assert.NotNull(data.Children);
        Assert.Equal(nameof(IFLA_BR_FORWARD_DELAY), data.Child(IFLA_BR_FORWARD_DELAY)!.Name);
        Assert.Equal(1500u, BinaryPrimitives.ReadUInt32LittleEndian(data.Child(IFLA_BR_FORWARD_DELAY)!.Data));
        Assert.Equal([0x01, 0x80, 0xc2, 0, 0, 0], data.Child(IFLA_BR_GROUP_ADDR)!.Data);
        Assert.Null(data.Child(IFLA_BR_PAD));
        // the 6.18 attributes after IFLA_BR_MCAST_QUERIER_STATE are kept though unknown
        Assert.Contains(data.Children!, c => c.Type == 48 && c.Spec == null);
    }

    [Fact]
    public void VethRequestNestsAPeerWithItsOwnIfinfomsg()
    {
        var m = NlMessageTree.Parse(KernelCaptures.ReqLinkAddVeth, RtnlSchema.Schema);
        Assert.Equal(NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE, m.Header.Flags);
        var li = m.Attr(IFLA_LINKINFO)!;
        var kind = li.Child(IFLA_INFO_KIND)!;
        Assert.Equal("veth"u8.ToArray(), kind.Data); // iproute2 sends the kind without its NUL
        var peer = li.Child(IFLA_INFO_DATA)!.Child(VETH_INFO_PEER)!;
        Assert.Equal(IfInfoMsg.Size, peer.Data.Length);
        Assert.Equal("v3", peer.Child(IFLA_IFNAME)!.Value.String);
        Assert.Contains("VETH_INFO_PEER", m.Describe());
        Assert.Contains("ifinfomsg.ifi_index = 0", m.ToAnnotatedHex());
    }

    [Fact]
    public void TheDaemonsPolicyParsesTheRealVethRequest()
    {
        var msg = KernelCaptures.ReqLinkAddVeth;
        var tb = AttrParser.Parse(msg, NlMsgHdr.Size + IfInfoMsg.Size, msg.Length - NlMsgHdr.Size - IfInfoMsg.Size,
            RtnlLinkHandlers.IflaPolicy, NlValidate.Liberal, out var err);
        Assert.False(err.IsError);
        Assert.Equal("v2", tb!.String(IFLA_IFNAME));
        Assert.True(tb.Has(IFLA_LINKINFO));
        Assert.Equal(40, tb.OffsetOf(IFLA_LINKINFO));
    }

    [Fact]
    public void ErrorWithExtackEchoesTheRequestAndNamesThePolicy()
    {
        var m = NlMessageTree.Parse(KernelCaptures.ErrorIfnameTooLong, RtnlSchema.Schema);
        Assert.Equal(NLMSG_ERROR, m.Header.Type);
        Assert.Equal(NLM_F_ACK_TLVS, m.Header.Flags);
        Assert.Equal(-Errno.ERANGE, m.Error);
        var req = m.Echoed!;
        Assert.False(req.IsHeaderOnly);
        Assert.Equal("abcdefghijklmnop", req.Attr(IFLA_IFNAME)!.Value.String);
        Assert.Equal("Attribute failed policy validation", m.Attr(NLMSGERR_ATTR_MSG)!.Value.String);
        Assert.Equal(32u, BinaryPrimitives.ReadUInt32LittleEndian(m.Attr(NLMSGERR_ATTR_OFFS)!.Data));
        var pol = m.Attr(NLMSGERR_ATTR_POLICY)!;
        Assert.Equal(Nl.AttrFNested | NLMSGERR_ATTR_POLICY, pol.RawType);
        Assert.Equal(15u, BinaryPrimitives.ReadUInt32LittleEndian(pol.Child(NL_POLICY_TYPE_ATTR_MAX_LENGTH)!.Data));
        Assert.Equal((uint)NL_ATTR_TYPE_STRING, BinaryPrimitives.ReadUInt32LittleEndian(pol.Child(NL_POLICY_TYPE_ATTR_TYPE)!.Data));
    }

    [Fact]
    public void AckAndProbeAnswerLayouts()
    {
        var ack = NlMessageTree.Parse(KernelCaptures.AckSetLink, RtnlSchema.Schema);
        Assert.Equal(36, ack.Length);
        Assert.Equal(NLM_F_CAPPED, ack.Header.Flags);
        Assert.Equal(0, ack.Error);
        Assert.True(ack.Echoed!.IsHeaderOnly);
        Assert.Equal(RTM_SETLINK, ack.Echoed.Header.Type);

        var probe = NlMessageTree.Parse(KernelCaptures.ErrorProbe, RtnlSchema.Schema);
        Assert.Equal(52, probe.Length);
        Assert.Equal(0, probe.Header.Flags);
        Assert.Equal(-Errno.ENODEV, probe.Error);
        Assert.Equal(KernelCaptures.ReqProbe, probe.Echoed!.ToBytes());
    }

    [Fact]
    public void DoneCarriesTheDumpsErrorAndExtack()
    {
        var done = NlMessageTree.Parse(KernelCaptures.DoneAddrDump, RtnlSchema.Schema);
        Assert.Equal((NLMSG_DONE, NLM_F_MULTI, 0, 20), (done.Header.Type, (int)done.Header.Flags, done.Error, done.Length));
        var err = NlMessageTree.Parse(KernelCaptures.DoneStrictLinkDumpError, RtnlSchema.Schema);
        Assert.Equal(NLM_F_MULTI | NLM_F_ACK_TLVS, err.Header.Flags);
        Assert.Equal(-Errno.EINVAL, err.Error);
        Assert.Equal("Filter by device index not supported for link dumps", err.Attr(NLMSGERR_ATTR_MSG)!.Value.String);
    }

    [Fact]
    public void DumpRequestsWithTrailingZeroes()
    {
        // iproute2 sends its whole request struct; the kernel stops at the zero nlmsg_len after the message
        var msgs = NlMessageTree.ParseDatagram(KernelCaptures.ReqAddrShowDump, RtnlSchema.Schema, out var trailing);
        Assert.Single(msgs);
        Assert.Equal(24, msgs[0].Length);
        Assert.Equal(128, trailing.Length);
        var route = NlMessageTree.ParseDatagram(KernelCaptures.ReqRouteShowDump, RtnlSchema.Schema, out trailing);
        Assert.Equal(RT_TABLE_MAIN, (int)BinaryPrimitives.ReadUInt32LittleEndian(route[0].Attr(RTA_TABLE)!.Data));
        Assert.Equal(120, trailing.Length);
        var link = NlMessageTree.Parse(KernelCaptures.ReqLinkShowDump, RtnlSchema.Schema);
        Assert.Equal(NLM_F_REQUEST | NLM_F_DUMP, link.Header.Flags);
        Assert.Equal((uint)RTEXT_FILTER_VF, BinaryPrimitives.ReadUInt32LittleEndian(link.Attr(IFLA_EXT_MASK)!.Data));
        Assert.Equal(AF_PACKET, link.Fixed[0]);
    }

    [Fact]
    public void AddressAndRouteMessages()
    {
        var a4 = NlMessageTree.Parse(KernelCaptures.NewAddrV4, RtnlSchema.Schema);
        var ifa = IfAddrMsg.Read(a4.Fixed);
        Assert.Equal((AF_INET, 24, 3u), (ifa.Family, ifa.PrefixLen, ifa.Index));
        Assert.Equal([192, 0, 2, 1], a4.Attr(IFA_LOCAL)!.Data);
        Assert.Equal("v0", a4.Attr(IFA_LABEL)!.Value.String);
        Assert.Equal(16, a4.Attr(IFA_CACHEINFO)!.Data.Length);
        var a6 = NlMessageTree.Parse(KernelCaptures.NewAddrV6, RtnlSchema.Schema);
        Assert.Equal(IFA_F_NODAD | IFA_F_PERMANENT, (int)BinaryPrimitives.ReadUInt32LittleEndian(a6.Attr(IFA_FLAGS)!.Data));
        Assert.Null(a6.Attr(IFA_LOCAL)); // IPv6 without a peer: IFA_ADDRESS only
        var r = NlMessageTree.Parse(KernelCaptures.NewRouteV4, RtnlSchema.Schema);
        var rtm = RtMsg.Read(r.Fixed);
        Assert.Equal((RT_TABLE_MAIN, RTPROT_KERNEL, RT_SCOPE_LINK, RTN_UNICAST), ((int)rtm.Table, (int)rtm.Protocol, (int)rtm.Scope, (int)rtm.Type));
        Assert.Equal([RTA_TABLE, RTA_DST, RTA_PREFSRC, RTA_OIF], r.Attributes.Select(x => (int)x.Type));
        var local = NlMessageTree.Parse(KernelCaptures.NewRouteV4Local, RtnlSchema.Schema);
        Assert.Equal(RTN_LOCAL, RtMsg.Read(local.Fixed).Type);
    }

    [Fact]
    public void TheProjectsWriterBuildsTheSameRequestAsIproute2()
    {
        // `ip addr add 198.51.100.1/24 dev v2` written with NlWriter, as iproute2 builds it
        var real = NlMessageTree.Parse(KernelCaptures.ReqAddrAddV4);
        var w = new NlWriter();
        int start = w.BeginMessage(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE, real.Header.Seq, 0);
        new IfAddrMsg { Family = AF_INET, PrefixLen = 24, Index = 12 }.Write(w.Reserve(IfAddrMsg.Size));
        w.PutBytes(IFA_LOCAL, [198, 51, 100, 1]);
        w.PutBytes(IFA_ADDRESS, [198, 51, 100, 1]);
        w.EndMessage(start);
        Assert.Equal(KernelCaptures.ReqAddrAddV4, w.ToArray());

        // and the veth request, with nests
        var v = NlMessageTree.Parse(KernelCaptures.ReqLinkAddVeth);
        w = new NlWriter();
        start = w.BeginMessage(RTM_NEWLINK, v.Header.Flags, v.Header.Seq, 0);
        w.Reserve(IfInfoMsg.Size);
        w.PutString(IFLA_IFNAME, "v2");
        int li = w.BeginNest(IFLA_LINKINFO);
        w.PutBytes(IFLA_INFO_KIND, "veth"u8);
        int data = w.BeginNest(IFLA_INFO_DATA);
        int peer = w.BeginNest(VETH_INFO_PEER);
        w.Reserve(IfInfoMsg.Size);
        w.PutString(IFLA_IFNAME, "v3");
        w.EndNest(peer);
        w.EndNest(data);
        w.EndNest(li);
        w.EndMessage(start);
        Assert.Equal(KernelCaptures.ReqLinkAddVeth, w.ToArray());
    }

    [Fact]
    public void DeepNestsAreMeasuredInLinearTime()
    {
        // each level's length used to be computed twice from its children's: 2^depth (found by the fuzzer)
        var root = new NlAttrNode { RawType = 1 };
        var cur = root;
        for (int i = 0; i < 5000; i++)
        {
            var child = new NlAttrNode { RawType = (ushort)(2 | Nl.AttrFNested) };
            cur.Children = [child];
            cur = child;
        }
        var m = new NlMessageTree { Header = new NlMsgHdr { Type = RTM_SETLINK }, Fixed = new byte[IfInfoMsg.Size], Attributes = [root], Schema = RtnlSchema.Schema };
        var bytes = m.ToBytes();
        Assert.Equal(16 + 16 + 4 * 5001, bytes.Length);
        Assert.Equal(bytes, NlMessageTree.Parse(bytes, RtnlSchema.Schema).ToBytes());
    }
}
