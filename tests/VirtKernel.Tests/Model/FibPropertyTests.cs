using VirtKernel.Model;
using VirtKernel.Model.Ipv4;
using VirtKernel.Model.Ipv6;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Model;

/// <summary>The FIB against a naive reference: random routes in several tables (IPv4 and IPv6),
/// policy rules, random deletions, and lookups whose answers must equal those of a linear scan
/// over every route (longest prefix, then the kernel's order among the routes of a prefix, rule by
/// rule). In rounds of a few thousand routes so that the linear scans stay affordable: over
/// 100,000 routes and 100,000 lookups in all.</summary>
public class FibPropertyTests
{
    private const int Rounds = 25;
    private const int RoutesPerFamilyPerRound = 2300;
    private const int LookupsPerFamilyPerRound = 2100;

    private static readonly uint[] Tables4 = [RT_TABLE_MAIN, 100, 200, RT_TABLE_LOCAL];
    private static readonly uint[] Tables6 = [RT_TABLE_MAIN, 100, 200];
    private static readonly byte[] RejectTypes = [RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT, RTN_THROW];

    private sealed class Ref
    {
        public uint Table;
        public UInt128 Dst;
        public byte Plen;
        public uint Prio;
        public byte Type;
        public NetDevice? Dev;
        public long Seq;
        public Route? Model;
    }

    private sealed class RefRule
    {
        public uint Pref;
        public UInt128 Src, Dst;
        public byte SrcLen, DstLen;
        public uint Mark, Mask;
        public bool Invert;
        public byte Action;
        public uint Table;
        public uint Suppress = uint.MaxValue;
    }

    private static (Kernel K, Net Net, NetDevice[] Devs) NewNet()
    {
        var k = new Kernel(new KernelOptions { Clock = new ManualClock() });
        var net = k.CreateNet();
        var ops = LinkOps.Get("dummy")!;
        var devs = new NetDevice[3];
        for (int i = 0; i < devs.Length; i++)
        {
            var d = new NetDevice(ops, "d" + i);
            ops.Setup(d);
            Assert.False(ops.NewLink(net, d, new LinkConfig(), null).Failed);
            Assert.False(net.DevChangeFlags(d, d.Flags | IFF_UP).Failed);
            devs[i] = d;
        }
        k.RunDeferred();
        return (k, net, devs);
    }

    private static UInt128 Mask(int bits, int plen) => bits == 32 ? Inet.Mask4(plen) : Inet.Mask6(plen);

    /// <summary>Random prefixes clustered in a few regions, so that prefixes nest and lookups hit.</summary>
    private static UInt128 RandomAddr(Random rng, int bits, UInt128[] regions)
    {
        var baseA = regions[rng.Next(regions.Length)];
        UInt128 noise = ((UInt128)(ulong)rng.NextInt64() << 64) | (ulong)rng.NextInt64();
        int keep = rng.Next(4, bits / 2);
        var m = Mask(bits, keep);
        var a = (baseA & m) | (noise & ~m);
        return bits == 32 ? a & 0xffffffff : a;
    }

    private static bool RuleMatches(RefRule r, UInt128 src, UInt128 dst, uint mark, int bits)
    {
        bool ok = ((src ^ r.Src) & Mask(bits, r.SrcLen)) == 0 && ((dst ^ r.Dst) & Mask(bits, r.DstLen)) == 0 &&
                  ((r.Mark ^ mark) & r.Mask) == 0;
        return r.Invert ? !ok : ok;
    }

    private static List<RefRule> RandomRules(Random rng, int bits, UInt128[] regions, uint[] tables, FibRulesOps ops)
    {
        var rules = new List<RefRule>
        {
            new() { Pref = 0, Action = FR_ACT_TO_TBL, Table = RT_TABLE_LOCAL },
        };
        int n = rng.Next(2, 6);
        for (int i = 0; i < n; i++)
        {
            var r = new RefRule { Pref = (uint)(100 + i * 10) };
            if (rng.Next(2) == 0)
            {
                r.SrcLen = (byte)rng.Next(1, bits / 2);
                r.Src = RandomAddr(rng, bits, regions) & Mask(bits, r.SrcLen);
            }
            if (rng.Next(2) == 0)
            {
                r.DstLen = (byte)rng.Next(1, bits / 2);
                r.Dst = RandomAddr(rng, bits, regions) & Mask(bits, r.DstLen);
            }
            if (rng.Next(3) == 0)
            {
                r.Mark = (uint)rng.Next(1, 4);
                r.Mask = 0xff;
            }
            r.Invert = rng.Next(6) == 0;
            int a = rng.Next(10);
            r.Action = a switch { 0 => FR_ACT_UNREACHABLE, 1 => FR_ACT_PROHIBIT, 2 => FR_ACT_BLACKHOLE, _ => FR_ACT_TO_TBL };
            r.Table = r.Action == FR_ACT_TO_TBL ? tables[rng.Next(tables.Length)] : 0;
            if (r.Action == FR_ACT_TO_TBL && rng.Next(4) == 0) r.Suppress = (uint)rng.Next(0, bits);
            rules.Add(r);
            var fr = new FibRule
            {
                Family = ops.Family, Pref = r.Pref, Src = r.Src, SrcLen = r.SrcLen, Dst = r.Dst, DstLen = r.DstLen,
                Mark = r.Mark, MarkMask = r.Mask, Flags = r.Invert ? (uint)FIB_RULE_INVERT : 0, Action = r.Action,
                Table = r.Table, SuppressPrefixLen = r.Suppress,
            };
            Assert.False(ops.NewRule(fr, true, true).Failed);
        }
        rules.Add(new RefRule { Pref = 32766, Action = FR_ACT_TO_TBL, Table = RT_TABLE_MAIN });
        if (bits == 32) rules.Add(new RefRule { Pref = 32767, Action = FR_ACT_TO_TBL, Table = RT_TABLE_DEFAULT });
        return rules;
    }

    [Fact]
    public void Ipv4FibAnswersLikeALinearScan()
    {
        var rng = new Random(4242);
        int routes = 0, lookups = 0;
        for (int round = 0; round < Rounds; round++)
        {
            var (_, net, devs) = NewNet();
            var v4 = net.Ipv4;
            UInt128[] regions = [0x0A000000, 0xC0A80000, 0xC6120000, (uint)rng.Next()];
            bool withRules = round % 5 != 0;
            var rules = withRules ? RandomRules(rng, 32, regions, Tables4, v4.Rules) : null;
            var live = new List<Ref>();
            long seq = 0;
            for (int i = 0; i < RoutesPerFamilyPerRound; i++)
            {
                if (live.Count > 10 && rng.Next(8) == 0)
                {
                    // delete a random route
                    var victim = live[rng.Next(live.Count)];
                    var dcfg = new FibConfig
                    {
                        Table = victim.Table, Dst = (uint)victim.Dst, DstLen = victim.Plen, Type = victim.Type,
                        Priority = victim.Prio, Scope = (byte)RT_SCOPE_NOWHERE, Oif = victim.Dev?.Ifindex ?? 0,
                    };
                    Assert.False(v4.FibTableDelete(v4.GetTableExact(victim.Table)!, dcfg).Failed);
                    live.Remove(victim);
                    Assert.True(victim.Model!.Dead);
                }
                byte plen = (byte)rng.Next(0, 33);
                var r = new Ref
                {
                    Table = Tables4[rng.Next(Tables4.Length)], Plen = plen,
                    Dst = RandomAddr(rng, 32, regions) & Mask(32, plen), Prio = (uint)rng.Next(0, 4),
                    Type = rng.Next(6) == 0 ? RejectTypes[rng.Next(RejectTypes.Length)] : (byte)RTN_UNICAST,
                };
                if (r.Type == RTN_UNICAST) r.Dev = devs[rng.Next(devs.Length)];
                var cfg = new FibConfig
                {
                    Table = r.Table, Dst = (uint)r.Dst, DstLen = plen, Type = r.Type, Priority = r.Prio, Protocol = (byte)RTPROT_BOOT,
                    Scope = (byte)(r.Type == RTN_UNICAST ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE), Oif = r.Dev?.Ifindex ?? 0,
                    NlFlags = (ushort)(NLM_F_CREATE | NLM_F_APPEND),
                };
                bool dup = live.Exists(x => x.Table == r.Table && x.Dst == r.Dst && x.Plen == plen && x.Prio == r.Prio &&
                                            x.Type == r.Type && x.Dev == r.Dev);
                var err = v4.FibTableInsert(v4.NewTable(r.Table), cfg, out var route);
                if (dup)
                {
                    Assert.Equal(VirtKernel.Protocol.Errno.EEXIST, err.Errno);
                    continue;
                }
                Assert.False(err.Failed, err.ToString());
                r.Model = route;
                r.Seq = ++seq;
                live.Add(r);
                routes++;
            }
            for (int i = 0; i < LookupsPerFamilyPerRound; i++)
            {
                uint dst = (uint)RandomAddr(rng, 32, regions);
                uint src = (uint)RandomAddr(rng, 32, regions);
                uint mark = (uint)rng.Next(0, 4);
                var fl = new FlowI4 { Daddr = dst, Saddr = src, Mark = mark, Iif = 1, Uid = 0 };
                var res = new FibResult();
                int got = v4.FibLookup(fl, res, FibLookupFlags.None);
                int want = RefLookup4(live, rules, dst, src, mark, out var wantRoute);
                Assert.Equal(want, got);
                if (want == 0) Assert.Same(wantRoute!.Model, res.Fi);
                lookups++;
            }
        }
        Assert.True(routes >= 50_000, $"{routes} routes");
        Assert.True(lookups >= 50_000, $"{lookups} lookups");
    }

    /// <summary>fib_table_lookup by linear scan: the longest prefix, then priority (and insertion
    /// order) among its routes; a reject route answers with its error.</summary>
    private static int RefTable4(List<Ref> live, uint table, uint dst, out Ref? found, int mergeLocal = 0)
    {
        found = null;
        for (int plen = 32; plen >= 0; plen--)
        {
            uint m = Inet.Mask4(plen);
            Ref? best = null;
            // with the merged main/local trie, local aliases come first at each length
            foreach (var t in mergeLocal != 0 ? new[] { (uint)RT_TABLE_LOCAL, table } : new[] { table })
            {
                foreach (var r in live)
                {
                    if (r.Table != t || r.Plen != plen || (dst & m) != (uint)r.Dst) continue;
                    if (best == null || (best.Table == t && (r.Prio < best.Prio || (r.Prio == best.Prio && r.Seq < best.Seq))))
                        best = r;
                }
                if (best != null) break;
            }
            if (best == null) continue;
            found = best;
            return best.Type switch
            {
                RTN_BLACKHOLE => -VirtKernel.Protocol.Errno.EINVAL,
                RTN_UNREACHABLE => -VirtKernel.Protocol.Errno.EHOSTUNREACH,
                RTN_PROHIBIT => -VirtKernel.Protocol.Errno.EACCES,
                RTN_THROW => -VirtKernel.Protocol.Errno.EAGAIN,
                _ => 0,
            };
        }
        return -VirtKernel.Protocol.Errno.EAGAIN;
    }

    private static int RefLookup4(List<Ref> live, List<RefRule>? rules, uint dst, uint src, uint mark, out Ref? route)
    {
        route = null;
        const int EAGAIN = -VirtKernel.Protocol.Errno.EAGAIN, ENETUNREACH = -VirtKernel.Protocol.Errno.ENETUNREACH;
        if (rules == null)
        {
            int e = RefTable4(live, RT_TABLE_MAIN, dst, out route, mergeLocal: 1);
            if (e == EAGAIN) e = RefTable4(live, RT_TABLE_DEFAULT, dst, out route);
            return e == EAGAIN ? ENETUNREACH : e;
        }
        foreach (var r in rules)
        {
            if (!RuleMatches(r, src, dst, mark, 32)) continue;
            int err;
            switch (r.Action)
            {
                case FR_ACT_UNREACHABLE: return ENETUNREACH;
                case FR_ACT_PROHIBIT: return -VirtKernel.Protocol.Errno.EACCES;
                case FR_ACT_BLACKHOLE: return -VirtKernel.Protocol.Errno.EINVAL;
            }
            err = RefTable4(live, r.Table, dst, out route);
            if (err == 0 && r.Suppress != uint.MaxValue && route!.Plen <= r.Suppress) continue;
            if (err != EAGAIN) return err;
        }
        route = null;
        return ENETUNREACH;
    }

    [Fact]
    public void Ipv6FibAnswersLikeALinearScan()
    {
        var rng = new Random(6464);
        int routes = 0, lookups = 0;
        for (int round = 0; round < Rounds; round++)
        {
            var (_, net, devs) = NewNet();
            var v6 = net.Ipv6;
            UInt128 Reg(ulong hi) => (UInt128)hi << 64;
            UInt128[] regions = [Reg(0x20010db800000000), Reg(0x20010db8ffff0000), Reg(0xfd00000000000000), Reg((ulong)rng.NextInt64())];
            bool withRules = round % 5 != 0;
            var rules = withRules ? RandomRules(rng, 128, regions, Tables6, v6.Rules) : null;
            var live = new List<Ref>();
            long seq = 0;
            // the routes the devices made (multicast and link-local prefixes), in their order
            foreach (var t in v6.Tables)
                foreach (var kr in t.RouteList())
                    live.Add(new Ref { Table = t.Id, Dst = kr.Dst, Plen = kr.DstLen, Prio = kr.Priority, Type = kr.Type, Dev = kr.FirstNh?.Dev, Seq = ++seq, Model = kr });
            int kernelRoutes = live.Count;
            for (int i = 0; i < RoutesPerFamilyPerRound; i++)
            {
                if (live.Count > kernelRoutes + 10 && rng.Next(8) == 0)
                {
                    var victim = live[rng.Next(kernelRoutes, live.Count)];
                    var dcfg = new Fib6Config
                    {
                        Table = victim.Table, Dst = victim.Dst, DstLen = victim.Plen, Metric = victim.Prio,
                        Ifindex = victim.Dev?.Ifindex ?? 0, FromUser = true, DeleteAllNh = true,
                    };
                    if (victim.Dev == null) dcfg.Ifindex = net.Loopback.Ifindex;
                    Assert.False(v6.Ip6RouteDel(dcfg).Failed);
                    live.Remove(victim);
                    Assert.True(victim.Model!.Dead);
                }
                byte plen = (byte)rng.Next(0, 129);
                var r = new Ref
                {
                    Table = Tables6[rng.Next(Tables6.Length)], Plen = plen,
                    Dst = RandomAddr(rng, 128, regions) & Mask(128, plen), Prio = (uint)rng.Next(1, 4),
                    Type = rng.Next(6) == 0 ? RejectTypes[rng.Next(RejectTypes.Length)] : (byte)RTN_UNICAST,
                };
                if (r.Type == RTN_UNICAST) r.Dev = devs[rng.Next(devs.Length)];
                var cfg = new Fib6Config
                {
                    Table = r.Table, Dst = r.Dst, DstLen = plen, Type = r.Type, Metric = r.Prio, Protocol = (byte)RTPROT_BOOT,
                    Ifindex = r.Dev?.Ifindex ?? 0, Flags = (uint)RTF_UP | (r.Type != RTN_UNICAST ? (uint)RTF_REJECT : 0),
                    NlFlags = (ushort)(NLM_F_CREATE | NLM_F_EXCL), FromUser = true,
                };
                // same prefix and metric: EXCL refuses it (fib6_add_rt2node)
                bool clash = live.Exists(x => x.Table == r.Table && x.Dst == r.Dst && x.Plen == plen && x.Prio == r.Prio);
                var err = v6.Ip6RouteAdd(cfg, out var route);
                if (clash)
                {
                    Assert.Equal(VirtKernel.Protocol.Errno.EEXIST, err.Errno);
                    continue;
                }
                Assert.False(err.Failed, err.ToString());
                r.Model = route;
                r.Seq = ++seq;
                live.Add(r);
                routes++;
            }
            for (int i = 0; i < LookupsPerFamilyPerRound; i++)
            {
                var dst = RandomAddr(rng, 128, regions);
                var src = RandomAddr(rng, 128, regions);
                uint mark = (uint)rng.Next(0, 4);
                var fl = new FlowI6 { Daddr = dst, Saddr = src, Mark = mark, Iif = 1 };
                var res = v6.Fib6RuleLookup(fl, false, out int err);
                int want = RefLookup6(live, rules, dst, src, mark, out var wantRoute);
                int got = res != null ? Ipv6Net.RejectError(res.Route) : err != 0 ? err : -VirtKernel.Protocol.Errno.ENETUNREACH;
                Assert.Equal(want, got);
                if (want == 0 || (wantRoute != null && res != null)) Assert.Same(wantRoute!.Model, res!.Route);
                lookups++;
            }
        }
        Assert.True(routes >= 50_000, $"{routes} routes");
        Assert.True(lookups >= 50_000, $"{lookups} lookups");
    }

    /// <summary>fib6_table_lookup by linear scan: the longest prefix holding a route, its lowest
    /// metric, first inserted.</summary>
    private static Ref? RefTable6(List<Ref> live, uint table, UInt128 dst)
    {
        for (int plen = 128; plen >= 0; plen--)
        {
            var m = Inet.Mask6(plen);
            Ref? best = null;
            foreach (var r in live)
            {
                if (r.Table != table || r.Plen != plen || (dst & m) != r.Dst) continue;
                if (best == null || r.Prio < best.Prio || (r.Prio == best.Prio && r.Seq < best.Seq)) best = r;
            }
            if (best != null) return best;
        }
        return null;
    }

    private static int Reject6(Ref r) => r.Type switch
    {
        RTN_BLACKHOLE => -VirtKernel.Protocol.Errno.EINVAL,
        RTN_UNREACHABLE => -VirtKernel.Protocol.Errno.EHOSTUNREACH,
        RTN_PROHIBIT => -VirtKernel.Protocol.Errno.EACCES,
        RTN_THROW => -VirtKernel.Protocol.Errno.EAGAIN,
        _ => 0,
    };

    private static int RefLookup6(List<Ref> live, List<RefRule>? rules, UInt128 dst, UInt128 src, uint mark, out Ref? route)
    {
        route = null;
        const int EAGAIN = -VirtKernel.Protocol.Errno.EAGAIN, ENETUNREACH = -VirtKernel.Protocol.Errno.ENETUNREACH;
        if (rules == null)
        {
            foreach (var t in new[] { (uint)RT_TABLE_LOCAL, (uint)RT_TABLE_MAIN })
            {
                var r = RefTable6(live, t, dst);
                if (r != null && Reject6(r) != EAGAIN)
                {
                    route = r;
                    return Reject6(r);
                }
            }
            return ENETUNREACH;
        }
        foreach (var rule in rules)
        {
            if (!RuleMatches(rule, src, dst, mark, 128)) continue;
            switch (rule.Action)
            {
                case FR_ACT_UNREACHABLE: return ENETUNREACH;
                case FR_ACT_PROHIBIT: return -VirtKernel.Protocol.Errno.EACCES;
                case FR_ACT_BLACKHOLE: return -VirtKernel.Protocol.Errno.EINVAL;
            }
            var r = RefTable6(live, rule.Table, dst);
            if (r == null || Reject6(r) == EAGAIN) continue;
            route = r;
            return Reject6(r);
        }
        return ENETUNREACH;
    }
}
