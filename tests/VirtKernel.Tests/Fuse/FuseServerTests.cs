using System.Runtime.InteropServices;
using System.Text;
using VirtKernel.Model;
using VirtKernel.Protocol.Fuse;
using VirtKernel.SysfsFs.Fuse;
using VirtKernel.SysfsFs.Views;
using VirtKernel.Tests.Model;
using static VirtKernel.Protocol.Uapi;
using FuseP = VirtKernel.Protocol.Fuse.Fuse;

namespace VirtKernel.Tests.Fuse;

/// <summary>The FUSE request handler fed raw request bytes, as /dev/fuse would deliver them, with
/// its replies decoded from raw bytes: no mount involved.</summary>
public class FuseServerTests
{
    private const uint Owner = 1000, Other = 2000;

    private sealed class Sink : IFuseReplySink
    {
        public readonly List<byte[]> Replies = new();
        public void Send(ReadOnlySpan<byte> message) => Replies.Add(message.ToArray());
    }

    private readonly Kernel _k;
    private readonly FuseServer _srv;
    private readonly Sink _sink = new();
    private ulong _unique = 100;

    public FuseServerTests()
    {
        _k = ModelHelpers.NewKernel(out _);
        _srv = new FuseServer(new VkFs(_k), new FuseOptions { OwnerUid = Owner, OwnerGid = Owner });
    }

    private static byte[] Struct<T>(T v) where T : unmanaged
    {
        var b = new byte[Marshal.SizeOf<T>()];
        FuseP.Write(b, v);
        return b;
    }

    private static byte[] Name(string s) => Encoding.UTF8.GetBytes(s + "\0");

    /// <summary>One request; its reply (null when none came), as (error, payload).</summary>
    private (int Error, byte[] Payload)? Call(FuseOpcode op, ulong node, byte[] arg, uint uid = Owner)
    {
        var h = new FuseInHeader
        {
            Len = (uint)(FuseInHeader.Size + arg.Length), Opcode = op, Unique = ++_unique, NodeId = node,
            Uid = uid, Gid = uid, Pid = 42,
        };
        var req = new byte[h.Len];
        FuseP.Write(req, h);
        arg.CopyTo(req, FuseInHeader.Size);
        int before = _sink.Replies.Count;
        _srv.Handle(req, _sink);
        if (_sink.Replies.Count == before) return null;
        Assert.Equal(before + 1, _sink.Replies.Count);
        var rep = _sink.Replies[^1];
        Assert.True(FuseP.TryRead(rep, out FuseOutHeader o));
        Assert.Equal((uint)rep.Length, o.Len);
        Assert.Equal(_unique, o.Unique);
        return (o.Error, rep[FuseOutHeader.Size..]);
    }

    private byte[] Ok(FuseOpcode op, ulong node, byte[] arg, uint uid = Owner)
    {
        var r = Call(op, node, arg, uid);
        Assert.NotNull(r);
        Assert.True(r!.Value.Error == 0, $"{op}: error {r.Value.Error}");
        return r.Value.Payload;
    }

    private int Err(FuseOpcode op, ulong node, byte[] arg, uint uid = Owner)
    {
        var r = Call(op, node, arg, uid);
        Assert.NotNull(r);
        Assert.Empty(r!.Value.Payload);
        return r.Value.Error;
    }

    private FuseInitOut Init(uint minor = 44)
    {
        var p = Ok(FuseOpcode.Init, 0, Struct(new FuseInitIn
        {
            Major = 7, Minor = minor, MaxReadahead = 131072,
            Flags = (uint)(FuseP.AsyncRead | FuseP.AtomicOTrunc | FuseP.DoReaddirplus | FuseP.ReaddirplusAuto |
                           FuseP.ParallelDirops | FuseP.MaxPages | FuseP.InitExt),
        }));
        return FuseP.ReadPrefix<FuseInitOut>(p);
    }

    private FuseEntryOut Lookup(ulong parent, string name, uint uid = Owner) =>
        FuseP.ReadPrefix<FuseEntryOut>(Ok(FuseOpcode.Lookup, parent, Name(name), uid));

    private ulong Walk(string path)
    {
        ulong node = FuseP.RootId;
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries)) node = Lookup(node, part).NodeId;
        return node;
    }

    private ulong Open(ulong node, uint flags, uint uid = Owner)
    {
        var o = FuseP.ReadPrefix<FuseOpenOut>(Ok(FuseOpcode.Open, node, Struct(new FuseOpenIn { Flags = flags }), uid));
        Assert.Equal(FuseP.FopenDirectIo, o.OpenFlags & FuseP.FopenDirectIo);
        return o.Fh;
    }

    private string Read(ulong node, ulong fh, ulong offset = 0, uint size = 4096) =>
        Encoding.UTF8.GetString(Ok(FuseOpcode.Read, node, Struct(new FuseReadIn { Fh = fh, Offset = offset, Count = size })));

    private string Cat(string path)
    {
        ulong n = Walk(path);
        ulong fh = Open(n, 0);
        var s = Read(n, fh);
        Ok(FuseOpcode.Release, n, Struct(new FuseReleaseIn { Fh = fh }));
        return s;
    }

    private (int Error, uint Count) Write(ulong node, ulong fh, string data, ulong offset = 0, uint uid = Owner)
    {
        var d = Encoding.UTF8.GetBytes(data);
        var arg = Struct(new FuseWriteIn { Fh = fh, Offset = offset, Count = (uint)d.Length }).Concat(d).ToArray();
        var r = Call(FuseOpcode.Write, node, arg, uid)!.Value;
        return (r.Error, r.Error == 0 ? FuseP.ReadPrefix<FuseWriteOut>(r.Payload).Count : 0);
    }

    [Fact]
    public void StructSizesMatchTheKernelAbi()
    {
        Assert.Equal(40, FuseP.SizeOf<FuseInHeader>());
        Assert.Equal(16, FuseP.SizeOf<FuseOutHeader>());
        Assert.Equal(88, FuseP.SizeOf<FuseAttr>());
        Assert.Equal(128, FuseP.SizeOf<FuseEntryOut>());
        Assert.Equal(104, FuseP.SizeOf<FuseAttrOut>());
        Assert.Equal(64, FuseP.SizeOf<FuseInitIn>());
        Assert.Equal(64, FuseP.SizeOf<FuseInitOut>());
        Assert.Equal(40, FuseP.SizeOf<FuseReadIn>());
        Assert.Equal(40, FuseP.SizeOf<FuseWriteIn>());
        Assert.Equal(88, FuseP.SizeOf<FuseSetattrIn>());
        Assert.Equal(80, FuseP.SizeOf<FuseStatfsOut>());
        Assert.Equal(24, FuseP.SizeOf<FuseDirent>());
        Assert.Equal(24, FuseP.SizeOf<FuseReleaseIn>());
    }

    [Fact]
    public void InitNegotiatesTheLowerMinorAndTheWantedFlags()
    {
        Assert.Equal(-5, Err(FuseOpcode.Getattr, FuseP.RootId, new byte[16])); // EIO before INIT
        var o = Init(44);
        Assert.Equal(7u, o.Major);
        Assert.Equal(38u, o.Minor);
        Assert.Equal(128u * 1024, o.MaxWrite);
        Assert.NotEqual(0u, o.Flags & (uint)FuseP.DoReaddirplus);
        Assert.Equal(0u, o.Flags & (uint)FuseP.AsyncRead); // offered, not wanted
        Assert.Equal(0u, o.Flags & (uint)FuseP.WritebackCache); // wanted only if offered
        Assert.True(_srv.Initialized);
    }

    [Fact]
    public void InitWithANewerMajorAnswersOurVersionOnly()
    {
        var r = Call(FuseOpcode.Init, 0, Struct(new FuseInitIn { Major = 8, Minor = 0 }))!.Value;
        Assert.Equal(0, r.Error);
        Assert.Equal(8, r.Payload.Length);
        Assert.Equal(7u, BitConverter.ToUInt32(r.Payload, 0));
        Assert.False(_srv.Initialized);
        Assert.Equal(-71, Err(FuseOpcode.Init, 0, Struct(new FuseInitIn { Major = 6, Minor = 0 }))); // EPROTO
    }

    [Fact]
    public void AnOldKernelGetsTheOldReplySizes()
    {
        var r = Call(FuseOpcode.Init, 0, Struct(new FuseInitIn { Major = 7, Minor = 8 }))!.Value;
        Assert.Equal(24, r.Payload.Length);
        var e = Ok(FuseOpcode.Lookup, FuseP.RootId, Name("ns"));
        Assert.Equal(FuseP.CompatEntryOutSize, e.Length);
    }

    [Fact]
    public void LookupGetattrAndTheTreeOfANamespace()
    {
        Init();
        var ns = Lookup(FuseP.RootId, "ns");
        Assert.Equal(0x4000u | 0x16d, ns.Attr.Mode);
        Assert.Equal(Owner, ns.Attr.Uid);
        Assert.Equal(-2, Err(FuseOpcode.Lookup, FuseP.RootId, Name("nosuch")));
        Assert.Equal(-2, Err(FuseOpcode.Lookup, ns.NodeId, Name("7")));
        ulong f = Walk("ns/0/proc/sys/net/ipv4/ip_forward");
        var a = FuseP.ReadPrefix<FuseAttrOut>(Ok(FuseOpcode.Getattr, f, new byte[16]));
        Assert.Equal(0x8000u | 0x1a4, a.Attr.Mode);
        Assert.Equal(0ul, a.Attr.FileSize);
        var flush = Lookup(Walk("ns/0/proc/sys/net/ipv4/route"), "flush");
        Assert.Equal(0x8000u | 0x80, flush.Attr.Mode);
        Assert.Equal("0\n", Cat("ns/0/proc/sys/net/ipv4/ip_forward"));
        Assert.Equal(-20, Err(FuseOpcode.Lookup, f, Name("x"))); // ENOTDIR
    }

    [Fact]
    public void ReadsComeFromOneSnapshotPerOpen()
    {
        Init();
        ulong n = Walk("ns/0/proc/sys/net/ipv4/tcp_rmem");
        ulong fh = Open(n, 0);
        Assert.Equal("4096\t", Read(n, fh, 0, 5));
        // the value changes between the two reads of one open: the second read continues the snapshot
        _k.InitNet.Sysctl.File("ipv4/tcp_rmem")!.Write("1 2 3\n");
        Assert.Equal("131072\t33554432\n", Read(n, fh, 5));
        Assert.Equal("", Read(n, fh, 100));
        Ok(FuseOpcode.Release, n, Struct(new FuseReleaseIn { Fh = fh }));
        Assert.Equal("1\t2\t3\n", Cat("ns/0/proc/sys/net/ipv4/tcp_rmem"));
        Assert.Equal(-9, Err(FuseOpcode.Read, n, Struct(new FuseReadIn { Fh = fh, Count = 10 }))); // EBADF after release
    }

    [Fact]
    public void WritesGoThroughTheHandlerWithTheirPosition()
    {
        Init();
        ulong n = Walk("ns/0/proc/sys/net/ipv4/conf/lo/rp_filter");
        ulong fh = Open(n, 1);
        Assert.Equal((0, 2u), Write(n, fh, "2\n"));
        Assert.Equal(-22, Write(n, fh, "abc\n").Error);
        Assert.Equal((0, 2u), Write(n, fh, "1 7\n"));      // a short count: the rest is not parsed
        Assert.Equal((0, 0u), Write(n, fh, "7\n", offset: 2)); // strict writes: ignored past 0
        Ok(FuseOpcode.Release, n, Struct(new FuseReleaseIn { Fh = fh }));
        Assert.Equal(1, _k.InitNet.Loopback.Ip4!.Cnf[IPV4_DEVCONF_RP_FILTER]);
        // a stable_secret that was never set reads as EIO
        ulong s = Walk("ns/0/proc/sys/net/ipv6/conf/lo/stable_secret");
        ulong sfh = Open(s, 0);
        Assert.Equal(-5, Err(FuseOpcode.Read, s, Struct(new FuseReadIn { Fh = sfh, Count = 100 })));
    }

    [Fact]
    public void PermissionsAreProcSysctls()
    {
        Init();
        ulong fwd = Walk("ns/0/proc/sys/net/ipv4/ip_forward");
        // another user may read, not write
        Open(fwd, 0, Other);
        Assert.Equal(-13, Err(FuseOpcode.Open, fwd, Struct(new FuseOpenIn { Flags = 1 }), Other));
        Assert.Equal(-13, Err(FuseOpcode.Access, fwd, Struct(new FuseAccessIn { Mask = 2 }), Other));
        Ok(FuseOpcode.Access, fwd, Struct(new FuseAccessIn { Mask = 4 }), Other);
        // root gets the owner's bits, without an override: a 0444 entry stays unwritable
        ulong mc = Walk("ns/0/proc/sys/net/ipv4/conf/lo/mc_forwarding");
        Assert.Equal(-13, Err(FuseOpcode.Open, mc, Struct(new FuseOpenIn { Flags = 1 }), 0));
        // write-only: no reading, even for the owner
        ulong flush = Walk("ns/0/proc/sys/net/ipv4/route/flush");
        Assert.Equal(-13, Err(FuseOpcode.Open, flush, Struct(new FuseOpenIn { Flags = 0 })));
        ulong ffh = Open(flush, 1);
        Assert.Equal((0, 2u), Write(flush, ffh, "1\n"));
        // stable_secret (0600) is not readable by others
        ulong sec = Walk("ns/0/proc/sys/net/ipv6/conf/lo/stable_secret");
        Assert.Equal(-13, Err(FuseOpcode.Open, sec, Struct(new FuseOpenIn { Flags = 0 }), Other));
    }

    [Fact]
    public void SetattrTruncatesButKeepsModeAndOwner()
    {
        Init();
        ulong fwd = Walk("ns/0/proc/sys/net/ipv4/ip_forward");
        var a = FuseP.ReadPrefix<FuseAttrOut>(Ok(FuseOpcode.Setattr, fwd, Struct(new FuseSetattrIn { Valid = FuseP.FattrSize })));
        Assert.Equal(0x8000u | 0x1a4, a.Attr.Mode);
        Assert.Equal(-1, Err(FuseOpcode.Setattr, fwd, Struct(new FuseSetattrIn { Valid = FuseP.FattrMode, Mode = 0x180 })));
        Assert.Equal(-1, Err(FuseOpcode.Setattr, fwd, Struct(new FuseSetattrIn { Valid = FuseP.FattrUid, Uid = 5 })));
        ulong dir = Walk("ns/0/proc/sys/net/ipv4");
        // proc_sys has no create; sysfs directories refuse with EACCES
        Assert.Equal(-2, Err(FuseOpcode.Create, dir, Struct(new FuseCreateIn { Mode = 0x81a4 }).Concat(Name("x")).ToArray()));
        Assert.Equal(-2, Err(FuseOpcode.Mkdir, dir, Struct(new FuseMkdirIn { Mode = 0x1ed }).Concat(Name("x")).ToArray()));
        Assert.Equal(-13, Err(FuseOpcode.Unlink, dir, Name("ip_forward")));
        Assert.Equal(-13, Err(FuseOpcode.Create, Walk("ns/0/sys/class/net"), Struct(new FuseCreateIn { Mode = 0x81a4 }).Concat(Name("x")).ToArray()));
    }

    /// <summary>Decodes a READDIR/READDIRPLUS reply: (name, ino, off, type, node id or 0).</summary>
    private static List<(string Name, ulong Ino, ulong Off, uint Type, ulong Node)> Dirents(byte[] p, bool plus)
    {
        var list = new List<(string, ulong, ulong, uint, ulong)>();
        int i = 0;
        while (i < p.Length)
        {
            ulong node = 0;
            int at = i;
            if (plus)
            {
                node = FuseP.ReadPrefix<FuseEntryOut>(p.AsSpan(i)).NodeId;
                at += FuseEntryOut.Size;
            }
            var d = FuseP.ReadPrefix<FuseDirent>(p.AsSpan(at));
            string name = Encoding.UTF8.GetString(p, at + FuseDirent.Size, (int)d.Namelen);
            list.Add((name, d.Ino, d.Off, d.Type, node));
            i += plus ? FuseP.DirentplusSize((int)d.Namelen) : FuseP.DirentSize((int)d.Namelen);
        }
        return list;
    }

    [Fact]
    public void ReaddirListsInOrderAndContinuesAtTheOffsetGiven()
    {
        Init();
        ulong conf = Walk("ns/0/proc/sys/net/ipv4/conf");
        var o = FuseP.ReadPrefix<FuseOpenOut>(Ok(FuseOpcode.Opendir, conf, Struct(new FuseOpenIn())));
        var all = Dirents(Ok(FuseOpcode.Readdir, conf, Struct(new FuseReadIn { Fh = o.Fh, Count = 4096 })), false);
        Assert.Equal([".", "..", "all", "default", "lo"], all.Select(e => e.Name));
        Assert.Equal(4u, all[2].Type); // DT_DIR
        // a small buffer: three entries (32 bytes each), then the rest from the last offset
        var first = Dirents(Ok(FuseOpcode.Readdir, conf, Struct(new FuseReadIn { Fh = o.Fh, Count = 100 })), false);
        Assert.Equal(3, first.Count);
        var rest = Dirents(Ok(FuseOpcode.Readdir, conf, Struct(new FuseReadIn { Fh = o.Fh, Offset = first[^1].Off, Count = 4096 })), false);
        Assert.Equal(["default", "lo"], rest.Select(e => e.Name));
        Assert.Empty(Ok(FuseOpcode.Readdir, conf, Struct(new FuseReadIn { Fh = o.Fh, Offset = 5, Count = 4096 })));
        Ok(FuseOpcode.Releasedir, conf, Struct(new FuseReleaseIn { Fh = o.Fh }));
        Assert.Equal(0, _srv.OpenDirCount);
    }

    [Fact]
    public void ReaddirplusCountsLookupsThatForgetReleases()
    {
        Init();
        ulong conf = Walk("ns/0/proc/sys/net/ipv4/conf");
        int before = _srv.NodeCount;
        var o = FuseP.ReadPrefix<FuseOpenOut>(Ok(FuseOpcode.Opendir, conf, Struct(new FuseOpenIn())));
        var ents = Dirents(Ok(FuseOpcode.Readdirplus, conf, Struct(new FuseReadIn { Fh = o.Fh, Count = 8192 })), true);
        Assert.Equal(0ul, ents[0].Node); // "." and ".." carry no entry
        Assert.Equal(0ul, ents[1].Node);
        Assert.All(ents.Skip(2), e => Assert.NotEqual(0ul, e.Node));
        Assert.Equal(before + 3, _srv.NodeCount);
        // FORGET has no reply; BATCH_FORGET neither
        Assert.Null(Call(FuseOpcode.Forget, ents[2].Node, Struct(new FuseForgetIn { Nlookup = 1 })));
        var batch = Struct(new FuseBatchForgetIn { Count = 2 })
            .Concat(Struct(new FuseForgetOne { NodeId = ents[3].Node, Nlookup = 1 }))
            .Concat(Struct(new FuseForgetOne { NodeId = ents[4].Node, Nlookup = 1 })).ToArray();
        Assert.Null(Call(FuseOpcode.BatchForget, 0, batch));
        Assert.Equal(before, _srv.NodeCount);
        // a node id the kernel forgot is unknown
        Assert.Equal(-116, Err(FuseOpcode.Getattr, ents[2].Node, new byte[16]));
    }

    [Fact]
    public void DeviceDirectoriesFollowTheirDevices()
    {
        Init();
        var net = _k.InitNet;
        var (v0, _) = ModelHelpers.Veth(net, "v0", "v1");
        ulong conf = Walk("ns/0/proc/sys/net/ipv4/conf");
        var d = Lookup(conf, "v0");
        Assert.Equal(0ul, d.AttrValid);        // stat() of a device's directory always asks
        Assert.Equal(0ul, d.EntryValid);       // nor does a path walk: the name may come back as another directory
        ulong rp = Lookup(d.NodeId, "rp_filter").NodeId;
        net.DevChangeName(v0, "w0");
        // the old directory is gone (a new registration carries the new name): ESTALE makes the
        // kernel walk the path again, and the name is not found any more
        Assert.Equal(-116, Err(FuseOpcode.Getattr, d.NodeId, new byte[16]));
        Assert.Equal(-116, Err(FuseOpcode.Open, rp, Struct(new FuseOpenIn())));
        Assert.Equal(-116, Err(FuseOpcode.Lookup, d.NodeId, Name("rp_filter")));
        Assert.Equal(-2, Err(FuseOpcode.Lookup, conf, Name("v0")));
        var w = Lookup(conf, "w0");
        Assert.NotEqual(d.NodeId, w.NodeId);
        Assert.Equal("0\n", Cat("ns/0/proc/sys/net/ipv4/conf/w0/rp_filter"));
        net.DelLink(net.GetDevice("w0")!);
        Assert.Equal(-2, Err(FuseOpcode.Lookup, conf, Name("w0")));
        Assert.Equal(-116, Err(FuseOpcode.Getattr, w.NodeId, new byte[16]));
    }

    [Fact]
    public void NamespacesComeAndGo()
    {
        Init();
        var child = _k.CreateNet();
        ulong ns = Lookup(FuseP.RootId, "ns").NodeId;
        var o = FuseP.ReadPrefix<FuseOpenOut>(Ok(FuseOpcode.Opendir, ns, Struct(new FuseOpenIn())));
        var names = Dirents(Ok(FuseOpcode.Readdir, ns, Struct(new FuseReadIn { Fh = o.Fh, Count = 4096 })), false).Select(e => e.Name);
        Assert.Equal([".", "..", "0", child.Id.ToString()], names);
        ulong fwd = Walk($"ns/{child.Id}/proc/sys/net/ipv4/ip_forward");
        // outside the initial namespace the global entries are read-only
        Assert.Equal(0x8000u | 0x124, Lookup(Walk($"ns/{child.Id}/proc/sys/net/core"), "rmem_max").Attr.Mode);
        _k.DestroyNet(child);
        Assert.Equal(-116, Err(FuseOpcode.Getattr, fwd, new byte[16]));
        Assert.Equal(-2, Err(FuseOpcode.Lookup, ns, Name(child.Id.ToString())));
    }

    [Fact]
    public void SymlinksStatfsAndTheRest()
    {
        Init();
        ulong lo = Walk("ns/0/sys/class/net/lo");
        var l = FuseP.ReadPrefix<FuseAttrOut>(Ok(FuseOpcode.Getattr, lo, new byte[16]));
        Assert.Equal(0xA000u | 0x1ff, l.Attr.Mode);
        Assert.Equal("../../devices/virtual/net/lo", Encoding.UTF8.GetString(Ok(FuseOpcode.Readlink, lo, [])));
        Assert.Equal(-22, Err(FuseOpcode.Readlink, Walk("ns/0/proc/sys/net/ipv4/ip_forward"), []));
        var st = FuseP.ReadPrefix<FuseStatfsOut>(Ok(FuseOpcode.Statfs, FuseP.RootId, []));
        Assert.Equal(255u, st.Namelen);
        Assert.Equal(-38, Err(FuseOpcode.Getxattr, FuseP.RootId, new byte[8]));   // ENOSYS
        Assert.Equal(-38, Err(FuseOpcode.Fallocate, FuseP.RootId, new byte[32]));
        Assert.Null(Call(FuseOpcode.Interrupt, 0, Struct(new FuseInterruptIn { Unique = 5 })));
        Ok(FuseOpcode.Flush, FuseP.RootId, new byte[24]);
        Ok(FuseOpcode.Destroy, 0, []);
        Assert.True(_srv.Destroyed);
    }

    [Fact]
    public void SysfsAttributesChangeTheModel()
    {
        Init();
        var net = _k.InitNet;
        var (v0, _) = ModelHelpers.Veth(net, "v0", "v1");
        ulong mtu = Walk("ns/0/sys/devices/virtual/net/v0/mtu");
        var a = FuseP.ReadPrefix<FuseAttrOut>(Ok(FuseOpcode.Getattr, mtu, new byte[16]));
        Assert.Equal(4096ul, a.Attr.FileSize);
        ulong fh = Open(mtu, 1);
        Assert.Equal((0, 5u), Write(mtu, fh, "1400\n"));
        Assert.Equal(1400u, v0.Mtu);
        Assert.Equal(-22, Write(mtu, fh, "99999\n").Error);
        Assert.Equal(-22, Write(mtu, fh, "abc\n").Error);
        Assert.Equal("1400\n", Cat("ns/0/sys/devices/virtual/net/v0/mtu"));
        Assert.Equal("down\n", Cat("ns/0/sys/devices/virtual/net/v0/operstate"));
        ulong carrier = Walk("ns/0/sys/devices/virtual/net/v0/carrier");
        ulong cfh = Open(carrier, 0);
        Assert.Equal(-22, Err(FuseOpcode.Read, carrier, Struct(new FuseReadIn { Fh = cfh, Count = 10 })));
        ulong alias = Walk("ns/0/sys/devices/virtual/net/v0/ifalias");
        ulong afh = Open(alias, 1);
        Assert.Equal((0, 6u), Write(alias, afh, "uplnk\n"));
        Assert.Equal("uplnk", v0.Alias);
    }
}
