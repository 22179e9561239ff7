using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;

namespace VirtKernel.Tests.Codec;

/// <summary>AttrParser against lib/nlattr.c: validate_nla's length rules per type, strict and liberal
/// parsing, and the extack it reports (message, offset of the attribute, the policy it failed).</summary>
public class AttrParserTests
{
    private const string PolicyFailed = "Attribute failed policy validation";

    // a small policy in the kernel's style: [1] u32, [2] string max 15, [3] nested of itself, ...
    private static readonly Policy Inner = new(2,
        ((ushort)1, new NlaPolicy(NlaType.U8)),
        ((ushort)2, new NlaPolicy(NlaType.String)));

    private static readonly Policy P = new(12,
        ((ushort)1, new NlaPolicy(NlaType.U32)),
        ((ushort)2, new NlaPolicy(NlaType.String, 15)),
        ((ushort)3, new NlaPolicy(NlaType.Nested, 0, Inner)),
        ((ushort)4, new NlaPolicy(NlaType.Flag)),
        ((ushort)5, new NlaPolicy(NlaType.Binary, 6)),
        ((ushort)6, new NlaPolicy(NlaType.NulString, 4)),
        ((ushort)7, new NlaPolicy(NlaType.Unspec, 16)),
        ((ushort)8, new NlaPolicy(NlaType.Reject)),
        ((ushort)9, new NlaPolicy(NlaType.Reject, 0, null, "this attribute is not allowed")),
        ((ushort)10, new NlaPolicy(NlaType.S32)),
        ((ushort)11, new NlaPolicy(NlaType.U64)),
        ((ushort)12, new NlaPolicy(NlaType.UInt)));

    /// <summary>A message: a 16-byte header of zeros, then the attributes; they start at offset 16.</summary>
    private static byte[] Msg(params byte[][] attrs) => [.. new byte[16], .. attrs.SelectMany(a => a)];

    private static byte[] A(int type, params byte[] payload)
    {
        int len = 4 + payload.Length;
        var b = new byte[Nl.Align(len)];
        b[0] = (byte)len; b[1] = (byte)(len >> 8); b[2] = (byte)type; b[3] = (byte)(type >> 8);
        payload.CopyTo(b, 4);
        return b;
    }

    private static (AttrTable? Tb, NlError Err) Parse(byte[] msg, NlValidate v = NlValidate.Liberal, Policy? p = null)
    {
        var tb = AttrParser.Parse(msg, 16, msg.Length - 16, p ?? P, v, out var err);
        return (tb, err);
    }

    private static void AssertPolicyError(byte[] msg, int errno, int offset, NlaType type, NlValidate v = NlValidate.Liberal)
    {
        var (tb, err) = Parse(msg, v);
        Assert.Null(tb);
        Assert.Equal(errno, err.Errno);
        Assert.Equal(PolicyFailed, err.Message);
        Assert.Equal(offset, err.BadAttrOffset);
        Assert.Equal(type, err.Policy!.Value.Type);
    }

    [Fact]
    public void FixedSizeIntegersNeedAtLeastTheirSize()
    {
        AssertPolicyError(Msg(A(1, 1, 2, 3)), Errno.ERANGE, 16, NlaType.U32);
        AssertPolicyError(Msg(A(2, (byte)'x'), A(11, 1, 2, 3, 4)), Errno.ERANGE, 24, NlaType.U64);
        // longer is tolerated when liberal (the first bytes count) ...
        var (tb, err) = Parse(Msg(A(1, 0xdc, 0x05, 0, 0, 0xff, 0xff)));
        Assert.False(err.IsError);
        Assert.Equal(1500u, tb!.U32(1));
        // ... and refused by NL_VALIDATE_STRICT_ATTRS, with the policy
        (tb, err) = Parse(Msg(A(1, 0xdc, 0x05, 0, 0, 0xff, 0xff)), NlValidate.Strict);
        Assert.Null(tb);
        Assert.Equal((Errno.EINVAL, "invalid attribute length", 16), (err.Errno, err.Message, err.BadAttrOffset));
        Assert.Equal(NlaType.U32, err.Policy!.Value.Type);
    }

    [Fact]
    public void StringsCountTheirNulOnlyIfPresent()
    {
        static byte[] S(string s, bool nul) => [.. System.Text.Encoding.ASCII.GetBytes(s), .. (nul ? new byte[] { 0 } : [])];
        Assert.False(Parse(Msg(A(2, S("abcdefghijklmno", false)))).Err.IsError); // 15 characters
        Assert.False(Parse(Msg(A(2, S("abcdefghijklmno", true)))).Err.IsError);  // 15 + NUL
        AssertPolicyError(Msg(A(2, S("abcdefghijklmnop", false))), Errno.ERANGE, 16, NlaType.String);
        AssertPolicyError(Msg(A(2, S("abcdefghijklmnop", true))), Errno.ERANGE, 16, NlaType.String);
        AssertPolicyError(Msg(A(2)), Errno.ERANGE, 16, NlaType.String); // empty: below NLA_STRING's minimum of 1
        var (tb, _) = Parse(Msg(A(2, S("eth0", true))));
        Assert.Equal("eth0", tb!.String(2));
    }

    [Fact]
    public void NulStringsMustHoldTheirNul()
    {
        Assert.False(Parse(Msg(A(6, (byte)'a', (byte)'b', 0))).Err.IsError);
        AssertPolicyError(Msg(A(6, (byte)'a', (byte)'b')), Errno.EINVAL, 16, NlaType.NulString);
        // the NUL must come within len + 1 bytes
        AssertPolicyError(Msg(A(6, (byte)'a', (byte)'b', (byte)'c', (byte)'d', (byte)'e', 0)), Errno.EINVAL, 16, NlaType.NulString);
    }

    [Fact]
    public void FlagsBinariesAndMinimumLengths()
    {
        Assert.False(Parse(Msg(A(4))).Err.IsError);
        AssertPolicyError(Msg(A(4, 1)), Errno.ERANGE, 16, NlaType.Flag);
        Assert.False(Parse(Msg(A(5, 1, 2, 3, 4, 5, 6))).Err.IsError);
        AssertPolicyError(Msg(A(5, 1, 2, 3, 4, 5, 6, 7)), Errno.ERANGE, 16, NlaType.Binary);
        // NLA_UNSPEC with .len: a minimum, as { .len = sizeof(struct rtnl_link_ifmap) }
        AssertPolicyError(Msg(A(7, new byte[8])), Errno.ERANGE, 16, NlaType.Unspec);
        Assert.False(Parse(Msg(A(7, new byte[20]))).Err.IsError);
        AssertPolicyError(Msg(A(10, 1, 2)), Errno.ERANGE, 16, NlaType.S32);
        // NLA_UINT: 4 or 8 bytes, nothing else
        Assert.False(Parse(Msg(A(12, 1, 0, 0, 0, 0, 0, 0, 0))).Err.IsError);
        var (_, err) = Parse(Msg(A(12, 1, 0, 0, 0, 0, 0)));
        Assert.Equal((Errno.EINVAL, "invalid attribute length", NlaType.UInt), (err.Errno, err.Message, err.Policy!.Value.Type));
    }

    [Fact]
    public void RejectedAttributes()
    {
        AssertPolicyError(Msg(A(8, 1)), Errno.EINVAL, 16, NlaType.Reject);
        var (_, err) = Parse(Msg(A(1, 0, 0, 0, 0), A(9)));
        Assert.Equal((Errno.EINVAL, "this attribute is not allowed", 24), (err.Errno, err.Message, err.BadAttrOffset));
        Assert.Null(err.Policy); // the reject message replaces the policy report
    }

    [Fact]
    public void NestedAttributesAreValidatedAgainstTheirPolicy()
    {
        // empty nest: fine; 1..3 bytes: too short for an attribute
        Assert.False(Parse(Msg(A(3))).Err.IsError);
        AssertPolicyError(Msg(A(3, 1, 2)), Errno.ERANGE, 16, NlaType.Nested);
        // an inner failure reports the inner attribute's offset and policy
        var (tb, err) = Parse(Msg(A(1, 0, 0, 0, 0), A(3, [.. A(2, (byte)'x', 0), .. A(1)])));
        Assert.Null(tb);
        Assert.Equal((Errno.ERANGE, PolicyFailed, 24 + 4 + 8), (err.Errno, err.Message, err.BadAttrOffset));
        Assert.Equal(NlaType.U8, err.Policy!.Value.Type);
        // well-formed: the table gives the nest, ParseNested its children
        (tb, err) = Parse(Msg(A(3, [.. A(1, 7), .. A(2, (byte)'y', 0)])));
        var inner = tb!.ParseNested(3, Inner, NlValidate.Liberal, out err);
        Assert.Equal((byte)7, inner!.U8(1));
        Assert.Equal("y", inner.String(2));
    }

    [Fact]
    public void RecursionDepthIsLimitedLikeTheKernel()
    {
        // policies nesting each other 12 deep: MAX_POLICY_RECURSION_DEPTH (10) levels are validated, no more
        var chain = new Policy(1, ((ushort)1, new NlaPolicy(NlaType.Nested)));
        for (int i = 0; i < 12; i++) chain = new Policy(1, ((ushort)1, new NlaPolicy(NlaType.Nested, 0, chain)));
        Assert.False(Parse(Deep(10), NlValidate.Liberal, chain).Err.IsError);
        var (tb, err) = Parse(Deep(11), NlValidate.Liberal, chain);
        Assert.Null(tb);
        Assert.Equal((Errno.EINVAL, "allowed policy recursion depth exceeded", -1), (err.Errno, err.Message, err.BadAttrOffset));
        // without a nested policy the kernel does not descend: any depth is one opaque attribute
        var opaque = new Policy(1, ((ushort)1, new NlaPolicy(NlaType.Nested)));
        Assert.False(Parse(Deep(5000), NlValidate.Liberal, opaque).Err.IsError);
    }

    private static byte[] Deep(int levels)
    {
        byte[] b = [];
        for (int i = 0; i < levels; i++) b = A(1, b);
        return Msg(b);
    }

    [Fact]
    public void UnknownTypesAreSkippedUnlessStrict()
    {
        var msg = Msg(A(1, 1, 0, 0, 0), A(99, 5, 5, 5, 5), A(0, 1));
        var (tb, err) = Parse(msg);
        Assert.False(err.IsError);
        Assert.True(tb!.Has(1));
        (tb, err) = Parse(msg, NlValidate.DeprecatedStrict);
        Assert.Null(tb);
        Assert.Equal((Errno.EINVAL, "Unknown attribute type", 24), (err.Errno, err.Message, err.BadAttrOffset));
        Assert.Null(err.Policy);
    }

    [Fact]
    public void LeftoverBytesAreAWarningWhenLiberalAndAnErrorWhenStrict()
    {
        // an attribute whose length runs past the end, and one shorter than its header
        foreach (var bad in new[] { new byte[] { 100, 0, 2, 0, (byte)'l', (byte)'o', 0, 0 }, new byte[] { 2, 0, 2, 0 } })
        {
            var msg = Msg(A(1, 1, 0, 0, 0), bad);
            var (tb, err) = Parse(msg);
            Assert.NotNull(tb);
            Assert.True(tb!.Has(1));
            Assert.False(tb.Has(2));
            Assert.True(err.IsWarning);
            Assert.Equal("bytes leftover after parsing attributes", err.Message);
            (tb, err) = Parse(msg, NlValidate.Trailing);
            Assert.Null(tb);
            Assert.Equal((Errno.EINVAL, "bytes leftover after parsing attributes", -1), (err.Errno, err.Message, err.BadAttrOffset));
        }
        // in a nest too: the nested parse returns the warning with its table
        var (outer, w) = Parse(Msg(A(3, [.. A(1, 9), 6, 0])));
        Assert.False(w.IsError);
        var inner = outer!.ParseNested(3, Inner, NlValidate.Liberal, out var e);
        Assert.Equal((byte)9, inner!.U8(1));
        Assert.True(e.IsWarning);
        Assert.Equal("bytes leftover after parsing attributes", e.Message);
    }

    [Fact]
    public void NestedFlagChecksOnlyWhenStrict()
    {
        var msg = Msg(A(1 | Nl.AttrFNested, 1, 0, 0, 0), A(3, A(1, 1)));
        Assert.False(Parse(msg).Err.IsError);
        var (_, err) = Parse(msg, NlValidate.Strict);
        Assert.Equal((Errno.EINVAL, "NLA_F_NESTED not expected", 16), (err.Errno, err.Message, err.BadAttrOffset));
        (_, err) = Parse(Msg(A(3, A(1, 1))), NlValidate.Strict);
        Assert.Equal((Errno.EINVAL, "NLA_F_NESTED is missing", 16), (err.Errno, err.Message, err.BadAttrOffset));
        // NLA_UNSPEC is refused outright by NL_VALIDATE_UNSPEC
        (_, err) = Parse(Msg(A(7, new byte[16])), NlValidate.Strict);
        Assert.Equal((Errno.EINVAL, "Unsupported attribute", 16), (err.Errno, err.Message, err.BadAttrOffset));
    }

    [Fact]
    public void StrictStartTypeMakesNewerAttributesStrict()
    {
        var p = new Policy(2, ((ushort)1, new NlaPolicy(NlaType.U32)), ((ushort)2, new NlaPolicy(NlaType.U32))) { StrictStartType = 2 };
        var msg = Msg(A(1, 1, 0, 0, 0, 0, 0), A(2, 1, 0, 0, 0, 0, 0));
        var (_, err) = Parse(msg, NlValidate.Liberal, p);
        Assert.Equal((Errno.EINVAL, "invalid attribute length", 28), (err.Errno, err.Message, err.BadAttrOffset));
    }

    [Fact]
    public void PolicyDumpsAsTheKernelWritesThem()
    {
        // measured on Linux 6.18 in NLMSGERR_ATTR_POLICY (see MalformedInputCases): the nest's payload
        static string Dump(NlaPolicy pt)
        {
            var w = new NlWriter();
            return NlPolicyDump.WriteAttr(w, pt, 4) ? Convert.ToHexString(w.Span[4..]).ToLowerInvariant() : "";
        }
        Assert.Equal("080007000f000000080001000b000000", Dump(new NlaPolicy(NlaType.String, 15)));           // IFLA_IFNAME
        Assert.Equal("0c00040000000000000000000c000500ffffffff000000000800010004000000", Dump(new NlaPolicy(NlaType.U32))); // IFLA_MTU
        Assert.Equal("0c00040000000000000000000c000500ff000000000000000800010002000000", Dump(new NlaPolicy(NlaType.U8)));  // IFLA_OPERSTATE
        Assert.Equal("0800070020000000080001000a000000", Dump(new NlaPolicy(NlaType.Binary, 32)));          // IFLA_ADDRESS
        Assert.Equal("080001000d000000", Dump(new NlaPolicy(NlaType.Nested)));                               // IFLA_LINKINFO
        Assert.Equal("0c00020000000080ffffffff0c000300ffffff7f000000000800010008000000", Dump(new NlaPolicy(NlaType.S32))); // IFLA_LINK_NETNSID
        Assert.Equal("", Dump(new NlaPolicy(NlaType.Reject)));   // IFLA_PERM_ADDRESS: nothing
        Assert.Equal("", Dump(new NlaPolicy(NlaType.Unspec, 32))); // IFLA_MAP: nothing
        Assert.Equal("0800010001000000", Dump(new NlaPolicy(NlaType.Flag)));
    }
}
