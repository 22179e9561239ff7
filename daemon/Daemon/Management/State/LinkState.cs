using System.Text;
using System.Text.Json.Nodes;
using VirtKernel.Daemon.Rtnl;
using VirtKernel.Model;
using VirtKernel.Model.Ipv4;
using VirtKernel.Model.Ipv6;
using VirtKernel.Model.Links;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;
using static VirtKernel.Daemon.Management.State.StateRegistry;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Daemon.Management.State;

/// <summary>Links of every kind and their IPv4/IPv6 addresses ("links" section). Export reads the
/// model; import sends the requests `ip` would send (RTM_NEWLINK with the exported index, address,
/// kind options..., RTM_NEWLINKPROP, RTM_SETLINK for masters and flags, RTM_NEWLINK for port options, RTM_NEWADDR),
/// so it goes through every check the kernel makes, then restores what no request sets (the
/// address assignment type, the next automatic ifindex). The routes addresses make follow from them.</summary>
public sealed class LinkState : IStateSubsystem
{
    public string Name => "links";

    /// <summary>dev_change_flags' user-changeable flags (PROMISC and ALLMULTI come from gflags).</summary>
    private const uint ChangeableFlags = IFF_UP | IFF_DEBUG | IFF_NOTRAILERS | IFF_NOARP | IFF_DYNAMIC |
                                         IFF_MULTICAST | IFF_PORTSEL | IFF_AUTOMEDIA | IFF_PROMISC | IFF_ALLMULTI;

    private static readonly (string Name, uint Flag)[] FlagNames =
    [
        ("UP", IFF_UP), ("DEBUG", IFF_DEBUG), ("NOTRAILERS", IFF_NOTRAILERS), ("NOARP", IFF_NOARP),
        ("PROMISC", IFF_PROMISC), ("ALLMULTI", IFF_ALLMULTI), ("MULTICAST", IFF_MULTICAST),
        ("PORTSEL", IFF_PORTSEL), ("AUTOMEDIA", IFF_AUTOMEDIA), ("DYNAMIC", IFF_DYNAMIC),
    ];

    /// <summary>IFA_F_* an address request may carry (the others are the kernel's to set).</summary>
    private const uint RequestableAddrFlags = IFA_F_NODAD | IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR |
                                              IFA_F_NOPREFIXROUTE | IFA_F_MCAUTOJOIN | IFA_F_OPTIMISTIC;

    // ---- export ---------------------------------------------------------------------------------

    public JsonNode Export(Net net, ExportContext ctx)
    {
        var devs = new JsonArray();
        foreach (var dev in net.Devices) devs.Add(ExportDevice(dev));
        return new JsonObject { ["ifindex_next"] = net.IfindexNext, ["devices"] = devs };
    }

    private static JsonObject ExportDevice(NetDevice dev)
    {
        uint flags = (dev.Flags & ChangeableFlags & ~(uint)(IFF_PROMISC | IFF_ALLMULTI)) | (dev.GFlags & (uint)(IFF_PROMISC | IFF_ALLMULTI));
        var o = new JsonObject
        {
            ["ifindex"] = dev.Ifindex,
            ["name"] = dev.Name,
            ["kind"] = dev.Ops.Kind,
            ["flags"] = new JsonArray(FlagNames.Where(f => (flags & f.Flag) != 0).Select(f => (JsonNode)f.Name).ToArray()),
            ["mtu"] = dev.Mtu,
            ["address"] = Mac(dev.DevAddr.AsSpan(0, dev.AddrLen)),
            ["broadcast"] = Mac(dev.Broadcast.AsSpan(0, dev.AddrLen)),
            ["addr_assign_type"] = dev.AddrAssignType,
            ["txqlen"] = dev.TxQueueLen,
            ["group"] = dev.Group,
            ["alias"] = dev.Alias,
            ["altnames"] = new JsonArray(dev.AltNames.Select(a => (JsonNode)a).ToArray()),
            ["numtxqueues"] = dev.NumTxQueues,
            ["numrxqueues"] = dev.NumRxQueues,
            ["gso_max_size"] = dev.GsoMaxSize,
            ["gso_max_segs"] = dev.GsoMaxSegs,
            ["gro_max_size"] = dev.GroMaxSize,
            ["gso_ipv4_max_size"] = dev.GsoIpv4MaxSize,
            ["gro_ipv4_max_size"] = dev.GroIpv4MaxSize,
            ["linkmode"] = dev.LinkMode,
            ["qdisc"] = dev.Qdisc,
            ["protodown"] = dev.ProtoDown,
        };
        var linkNet = dev.Ops.GetLinkNet(dev);
        if (dev.Ops.Kind == "veth")
        {
            o["peer"] = dev.IfLink;
            if (linkNet != null && linkNet != dev.Net) o["peer_netns"] = linkNet.Id;
        }
        else if (dev.IfLink != dev.Ifindex && dev.IfLink != 0)
        {
            o["link"] = dev.IfLink;
            if (linkNet != null && linkNet != dev.Net) o["link_netns"] = linkNet.Id;
        }
        if (dev.Master != null) o["master"] = dev.Master.Name;
        if (dev.Ip6 != null)
        {
            o["addrgenmode"] = dev.Ip6.Cnf[DEVCONF_ADDR_GEN_MODE];
            o["ipv6_ready"] = dev.Ip6.Ready;
            if (dev.Ip6.Token != 0) o["token"] = Inet.FormatV6(dev.Ip6.Token);
        }
        if (RtnlLinkKind.Of(dev) is { } kind)
        {
            if (kind.HasFillInfo) o["info_data"] = KindAttrs.Export(w => kind.FillInfo(w, dev), kind.Kind, slave: false);
        }
        if (dev.Master != null && RtnlLinkKind.Of(dev.Master) is { HasSlaveInfo: true } mk)
            o["info_slave_data"] = KindAttrs.Export(w => mk.FillSlaveInfo(w, dev.Master, dev), mk.Kind, slave: true);
        if (dev.Ip4 != null) o["ipv4"] = new JsonArray(dev.Ip4.Addrs.Select(a => (JsonNode)ExportAddr4(a, dev)).ToArray());
        if (dev.Ip6 != null) o["ipv6"] = new JsonArray(dev.Ip6.Addrs.Select(a => (JsonNode)ExportAddr6(a, dev)).ToArray());
        return o;
    }

    private static uint Remaining(IfAddr a, uint lft, Kernel k)
    {
        if (lft == IfAddr.InfinityLifeTime) return lft;
        long gone = (k.Clock.NowMs - a.TstampMs) / 1000;
        return (uint)Math.Max(0, lft - gone);
    }

    private static JsonObject ExportAddr4(InIfAddr a, NetDevice dev)
    {
        var o = new JsonObject { ["local"] = Inet.FormatV4(a.Local), ["prefixlen"] = a.PrefixLen };
        if (a.Address != a.Local) o["peer"] = Inet.FormatV4(a.Address);
        if (a.Broadcast != 0) o["broadcast"] = Inet.FormatV4(a.Broadcast);
        if (a.Label != dev.Name) o["label"] = a.Label;
        return ExportIfAddr(o, a, dev);
    }

    private static JsonObject ExportAddr6(Inet6IfAddr a, NetDevice dev)
    {
        var o = new JsonObject { ["address"] = Inet.FormatV6(a.Addr), ["prefixlen"] = a.PrefixLen };
        if (a.PeerAddr != 0) o["peer"] = Inet.FormatV6(a.PeerAddr);
        return ExportIfAddr(o, a, dev);
    }

    /// <summary>What both families keep in struct in_ifaddr / inet6_ifaddr alike.</summary>
    private static JsonObject ExportIfAddr(JsonObject o, IfAddr a, NetDevice dev)
    {
        o["scope"] = a.Scope;
        o["flags"] = a.Flags;
        o["metric"] = a.RtPriority;
        o["proto"] = a.Proto;
        o["valid_lft"] = Remaining(a, a.ValidLft, dev.Net.Kernel);
        o["preferred_lft"] = Remaining(a, a.PreferredLft, dev.Net.Kernel);
        return o;
    }

    // ---- the document, checked --------------------------------------------------------------------

    private sealed class DevSpec
    {
        public required JsonObject Json;
        public required string Where;
        public int Ifindex;
        public string Name = "";
        public string? Kind;
        public uint Flags;
        public uint Mtu, TxQLen, Group, NumTx, NumRx;
        public uint GsoMaxSize, GsoMaxSegs, GroMaxSize, GsoIpv4MaxSize, GroIpv4MaxSize;
        public byte[] Address = [], Broadcast = [];
        public byte AddrAssignType;
        public string? Alias;
        public string? Qdisc;
        public List<string> AltNames = new();
        public int? Peer, Link;
        public string? Master;
        public byte LinkMode;
        public bool ProtoDown;
        public int? AddrGenMode;
        public bool Ipv6Ready;
        public string? Token;
        public JsonObject? InfoData, SlaveData;
        public List<JsonObject> V4 = new(), V6 = new();
    }

    private static (int IfindexNext, List<DevSpec> Devs) Parse(JsonNode? section)
    {
        var o = Obj(section, "links");
        int next = (int)Int(o["ifindex_next"], "links.ifindex_next", 1, int.MaxValue);
        var list = new List<DevSpec>();
        var byIndex = new HashSet<int>();
        var byName = new HashSet<string>();
        int i = 0;
        foreach (var n in Arr(o["devices"], "links.devices"))
        {
            string w = $"links.devices[{i++}]";
            var d = Obj(n, w);
            var s = new DevSpec { Json = d, Where = w };
            s.Ifindex = (int)Int(d["ifindex"], w + ".ifindex", 1, int.MaxValue);
            s.Name = Str(d["name"], w + ".name");
            w = s.Where = $"links.devices[{s.Name}]";
            if (!Net.DevValidName(s.Name)) throw Bad(w, $"\"{s.Name}\" is not a valid interface name");
            if (!byIndex.Add(s.Ifindex)) throw Bad(w, $"ifindex {s.Ifindex} is used twice");
            if (!byName.Add(s.Name)) throw Bad(w, "the name is used twice");
            s.Kind = OptStr(d, "kind", w);
            if (s.Kind != null && RtnlLinkKind.Get(s.Kind) == null)
                throw new ApiError(ApiError.ImportFailed, $"{w}: link kind \"{s.Kind}\" is not supported by this daemon");
            foreach (var f in Arr(d["flags"] ?? new JsonArray(), w + ".flags"))
            {
                var fn = Str(f, w + ".flags");
                var hit = FlagNames.FirstOrDefault(x => x.Name == fn);
                if (hit.Name == null) throw Bad(w + ".flags", $"unknown flag \"{fn}\"");
                s.Flags |= hit.Flag;
            }
            s.Mtu = (uint)Int(d["mtu"], w + ".mtu", 0, uint.MaxValue);
            s.Address = ParseMac(Str(d["address"], w + ".address"), w + ".address");
            s.Broadcast = d["broadcast"] is null ? [] : ParseMac(Str(d["broadcast"], w + ".broadcast"), w + ".broadcast");
            s.AddrAssignType = (byte)(OptInt(d, "addr_assign_type", w, 0, 3) ?? NetAddrAssign.Set);
            s.TxQLen = (uint)(OptInt(d, "txqlen", w, 0, uint.MaxValue) ?? 1000);
            s.Group = (uint)(OptInt(d, "group", w, 0, uint.MaxValue) ?? 0);
            s.NumTx = (uint)(OptInt(d, "numtxqueues", w, 1, 4096) ?? 1);
            s.NumRx = (uint)(OptInt(d, "numrxqueues", w, 1, 4096) ?? 1);
            s.GsoMaxSize = (uint)(OptInt(d, "gso_max_size", w, 0, uint.MaxValue) ?? 65536);
            s.GsoMaxSegs = (uint)(OptInt(d, "gso_max_segs", w, 0, uint.MaxValue) ?? 65535);
            s.GroMaxSize = (uint)(OptInt(d, "gro_max_size", w, 0, uint.MaxValue) ?? 65536);
            s.GsoIpv4MaxSize = (uint)(OptInt(d, "gso_ipv4_max_size", w, 0, uint.MaxValue) ?? 65536);
            s.GroIpv4MaxSize = (uint)(OptInt(d, "gro_ipv4_max_size", w, 0, uint.MaxValue) ?? 65536);
            s.Alias = OptStr(d, "alias", w);
            s.Qdisc = OptStr(d, "qdisc", w);
            if (s.Qdisc is not (null or "noop" or "noqueue" or "pfifo_fast" or "fq_codel"))
                throw new ApiError(ApiError.ImportFailed, $"{w}: qdisc \"{s.Qdisc}\" cannot be imported (no traffic control here)");
            foreach (var a in Arr(d["altnames"] ?? new JsonArray(), w + ".altnames")) s.AltNames.Add(Str(a, w + ".altnames"));
            s.Peer = (int?)OptInt(d, "peer", w, 1, int.MaxValue);
            s.Link = (int?)OptInt(d, "link", w, 1, int.MaxValue);
            if (d["peer_netns"] != null || d["link_netns"] != null)
                throw new ApiError(ApiError.ImportFailed, $"{w}: a link to a device of another namespace cannot be imported yet");
            s.Master = OptStr(d, "master", w);
            s.LinkMode = (byte)(OptInt(d, "linkmode", w, 0, 1) ?? 0);
            s.ProtoDown = d["protodown"] is { } pd && Bool(pd, w + ".protodown");
            s.AddrGenMode = (int?)OptInt(d, "addrgenmode", w, 0, 3);
            s.Ipv6Ready = d["ipv6_ready"] is { } rd && Bool(rd, w + ".ipv6_ready");
            s.Token = OptStr(d, "token", w);
            s.InfoData = d["info_data"] is null ? null : Obj(d["info_data"], w + ".info_data");
            s.SlaveData = d["info_slave_data"] is null ? null : Obj(d["info_slave_data"], w + ".info_slave_data");
            if (s.Kind == "veth" && s.Peer == null) throw Bad(w, "a veth device needs its \"peer\"");
            foreach (var a in Arr(d["ipv4"] ?? new JsonArray(), w + ".ipv4")) s.V4.Add(Obj(a, w + ".ipv4"));
            foreach (var a in Arr(d["ipv6"] ?? new JsonArray(), w + ".ipv6")) s.V6.Add(Obj(a, w + ".ipv6"));
            list.Add(s);
        }
        if (!list.Any(s => s.Kind == null && s.Ifindex == 1 && s.Name == "lo"))
            throw Bad("links.devices", "the loopback device (lo, ifindex 1) is missing");
        foreach (var s in list)
        {
            if (s.Kind == null && s.Ifindex != 1)
                throw new ApiError(ApiError.ImportFailed, $"{s.Where}: a device without a link kind cannot be created");
            if (s.Peer is int p)
            {
                var ps = list.FirstOrDefault(x => x.Ifindex == p);
                if (ps == null || ps.Kind != "veth" || ps.Peer != s.Ifindex)
                    throw Bad(s.Where, $"veth peer {p} is not a veth device of the document pointing back");
            }
            if (s.Link is int l && !byIndex.Contains(l)) throw Bad(s.Where, $"lower device {l} is not in the document");
            if (s.Master != null && !byName.Contains(s.Master)) throw Bad(s.Where, $"master \"{s.Master}\" is not in the document");
        }
        return (next, list.OrderBy(s => s.Ifindex).ToList());
    }

    public void Validate(JsonNode? section, ImportContext ctx)
    {
        var (_, devs) = Parse(section);
        foreach (var d in devs)
        {
            if (d.InfoData != null) KindAttrs.Check(d.InfoData, d.Kind ?? "", slave: false, d.Where + ".info_data");
            foreach (var a in d.V4) ParseAddr4(a, d.Where + ".ipv4");
            foreach (var a in d.V6) ParseAddr6(a, d.Where + ".ipv6");
        }
    }

    // ---- import -----------------------------------------------------------------------------------

    public void Clear(Net net, ImportContext ctx)
    {
        var rtnl = ctx.Rtnl;
        foreach (var dev in net.Devices.OrderByDescending(d => d.Ifindex).ToList())
        {
            if (dev == net.Loopback || !dev.IsRegistered || dev.Net != net) continue;
            var w = rtnl.Begin(RTM_DELLINK, 0);
            new IfInfoMsg { Index = dev.Ifindex }.Write(w.Reserve(IfInfoMsg.Size));
            rtnl.Send($"removing {dev.Name}");
        }
        var lo = net.Loopback;
        foreach (var alt in lo.AltNames.ToList())
        {
            var w = rtnl.Begin(RTM_DELLINKPROP, 0);
            new IfInfoMsg { Index = lo.Ifindex }.Write(w.Reserve(IfInfoMsg.Size));
            int pl = w.BeginNest(IFLA_PROP_LIST);
            w.PutString(IFLA_ALT_IFNAME, alt);
            w.EndNest(pl);
            rtnl.Send("removing an altname of lo");
        }
        if (lo.Ip4 != null)
            foreach (var a in lo.Ip4.Addrs.Where(a => (a.Flags & IFA_F_SECONDARY) == 0).ToList())
                DelAddr4(rtnl, lo, a);
    }

    public void Apply(JsonNode? section, ImportContext ctx)
    {
        var (next, specs) = Parse(section);
        var net = ctx.Net;
        var rtnl = ctx.Rtnl;
        var byIndex = specs.ToDictionary(s => s.Ifindex);

        // 1. devices, lower ones first; a veth pair with its first end
        var pending = specs.Where(s => s.Kind != null).ToList();
        var made = new HashSet<int> { 1 };
        while (pending.Count > 0)
        {
            var ready = pending.FirstOrDefault(s => s.Link is not int l || made.Contains(l));
            if (ready == null) throw Bad("links.devices", "the lower devices form a cycle");
            pending.Remove(ready);
            if (made.Contains(ready.Ifindex)) continue;
            var w = rtnl.Begin(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
            new IfInfoMsg { Index = ready.Ifindex }.Write(w.Reserve(IfInfoMsg.Size));
            PutCommon(w, ready);
            if (ready.Link is int lower) w.PutU32(IFLA_LINK, (uint)lower);
            int li = w.BeginNest(IFLA_LINKINFO);
            w.PutString(IFLA_INFO_KIND, ready.Kind!);
            if (ready.Kind == "veth")
            {
                var peer = byIndex[ready.Peer!.Value];
                int data = w.BeginNest(IFLA_INFO_DATA);
                int pn = w.BeginNest(VETH_INFO_PEER);
                new IfInfoMsg { Index = peer.Ifindex }.Write(w.Reserve(IfInfoMsg.Size));
                PutCommon(w, peer);
                w.EndNest(pn);
                w.EndNest(data);
                made.Add(peer.Ifindex);
            }
            else if (ready.InfoData != null && !KindAttrs.CreatedBare(ready.Kind!))
            {
                int data = w.BeginNest(IFLA_INFO_DATA);
                KindAttrs.Put(w, ready.InfoData, ready.Kind!, slave: false);
                w.EndNest(data);
            }
            w.EndNest(li);
            rtnl.Send($"creating {ready.Name}");
            made.Add(ready.Ifindex);
        }

        // 2. what the creation did not set (lo above all), altnames, IPv6 address generation
        foreach (var s in specs)
        {
            var dev = net.GetDevice(s.Ifindex) ?? throw new ApiError(ApiError.ImportFailed, $"{s.Where}: the device was not created");
            // kind options that differ from what the device has now (all of them for kinds created
            // bare: setting a bridge option to its default value is not free, it rearms timers)
            if (s.InfoData != null && RtnlLinkKind.Of(dev) is { HasFillInfo: true } kind)
            {
                var now = KindAttrs.Export(w => kind.FillInfo(w, dev), kind.Kind, slave: false);
                var diff = new JsonObject();
                foreach (var (k, v) in s.InfoData)
                    if (v != null && v.ToJsonString() != now[k]?.ToJsonString()) diff[k] = v.DeepClone();
                var cw = rtnl.Begin(RTM_NEWLINK, 0);
                new IfInfoMsg { Index = s.Ifindex }.Write(cw.Reserve(IfInfoMsg.Size));
                int li = cw.BeginNest(IFLA_LINKINFO);
                cw.PutString(IFLA_INFO_KIND, kind.Kind);
                int data = cw.BeginNest(IFLA_INFO_DATA);
                int before = cw.Length;
                KindAttrs.Put(cw, diff, kind.Kind, slave: false);
                bool any = cw.Length > before;
                cw.EndNest(data);
                cw.EndNest(li);
                if (any) rtnl.Send($"setting the {kind.Kind} options of {s.Name}");
            }
            var w = rtnl.Begin(RTM_SETLINK, 0);
            new IfInfoMsg { Index = s.Ifindex }.Write(w.Reserve(IfInfoMsg.Size));
            int mark = w.Length;
            if (dev.Mtu != s.Mtu) w.PutU32(IFLA_MTU, s.Mtu);
            if (dev.TxQueueLen != s.TxQLen) w.PutU32(IFLA_TXQLEN, s.TxQLen);
            if (dev.Group != s.Group) w.PutU32(IFLA_GROUP, s.Group);
            if (s.Address.Length > 0 && !dev.DevAddr.AsSpan(0, dev.AddrLen).SequenceEqual(s.Address)) w.PutBytes(IFLA_ADDRESS, s.Address);
            if (s.Broadcast.Length > 0 && !dev.Broadcast.AsSpan(0, dev.AddrLen).SequenceEqual(s.Broadcast)) w.PutBytes(IFLA_BROADCAST, s.Broadcast);
            if ((dev.Alias ?? "") != (s.Alias ?? "")) w.PutBytes(IFLA_IFALIAS, Encoding.UTF8.GetBytes(s.Alias ?? ""));
            if (dev.LinkMode != s.LinkMode) w.PutU8(IFLA_LINKMODE, s.LinkMode);
            if (dev.ProtoDown != s.ProtoDown) w.PutU8(IFLA_PROTO_DOWN, s.ProtoDown ? (byte)1 : (byte)0);
            if (dev.Ip6 != null && s.AddrGenMode is int mode && dev.Ip6.Cnf[DEVCONF_ADDR_GEN_MODE] != mode)
            {
                // stable-privacy needs the device's stable_secret (a sysctl of the devconf section)
                // before it can be asked for: it was written before the mode on the kernel too
                if (mode == IN6_ADDR_GEN_MODE_STABLE_PRIVACY && dev.Ip6.Cnf.StableSecret == null &&
                    ctx.Document["devconf"]?["ipv6"]?["devices"]?[s.Name]?["stable_secret"] is { } secret)
                    dev.Ip6.Cnf.StableSecret = Inet.ParseV6(Str(secret, $"devconf.ipv6.devices.{s.Name}.stable_secret"));
                int af = w.BeginNest(IFLA_AF_SPEC);
                int a6 = w.BeginNest(AF_INET6);
                w.PutU8(IFLA_INET6_ADDR_GEN_MODE, (byte)mode);
                w.EndNest(a6);
                w.EndNest(af);
            }
            if (w.Length > mark) rtnl.Send($"configuring {s.Name}");
            foreach (var alt in s.AltNames)
            {
                if (dev.AltNames.Contains(alt)) continue;
                w = rtnl.Begin(RTM_NEWLINKPROP, NLM_F_CREATE | NLM_F_APPEND);
                new IfInfoMsg { Index = s.Ifindex }.Write(w.Reserve(IfInfoMsg.Size));
                int pl = w.BeginNest(IFLA_PROP_LIST);
                w.PutString(IFLA_ALT_IFNAME, alt);
                w.EndNest(pl);
                rtnl.Send($"adding altname {alt} to {s.Name}");
            }
        }

        // 3. masters, in the order their ports were numbered, then the ports' options
        var ports = specs.Where(s => s.Master != null)
            .OrderBy(s => PortNo(s) ?? long.MaxValue)
            .ThenBy(s => s.Ifindex).ToList();
        var placeholders = new List<int>();
        foreach (var s in ports)
        {
            var master = specs.First(m => m.Name == s.Master);
            // a bridge numbers a new port with the lowest free number: numbers below the one the
            // port had are taken for a moment by placeholder devices
            if (net.GetDevice(master.Ifindex)?.Priv is NetBridge br && PortNo(s) is long wantNo)
            {
                for (int no = 1; no < wantNo && no < NetBridge.MaxPorts; no++)
                {
                    if (br.GetPort((ushort)no) != null) continue;
                    placeholders.Add(Placeholder(rtnl, net, master.Ifindex));
                }
            }
            var w = rtnl.Begin(RTM_SETLINK, 0);
            new IfInfoMsg { Index = s.Ifindex }.Write(w.Reserve(IfInfoMsg.Size));
            w.PutU32(IFLA_MASTER, (uint)master.Ifindex);
            rtnl.Send($"enslaving {s.Name} to {s.Master}");
        }
        foreach (int idx in placeholders)
        {
            var w = rtnl.Begin(RTM_DELLINK, 0);
            new IfInfoMsg { Index = idx }.Write(w.Reserve(IfInfoMsg.Size));
            rtnl.Send("removing a placeholder port");
        }
        foreach (var s in ports)
        {
            var master = specs.First(m => m.Name == s.Master);
            if (s.SlaveData == null || master.Kind == null) continue;
            var w = rtnl.Begin(RTM_NEWLINK, 0); // port options go through rtnl_newlink (slave_changelink), as `ip link set DEV type bridge_slave` sends them
            new IfInfoMsg { Index = s.Ifindex }.Write(w.Reserve(IfInfoMsg.Size));
            int li = w.BeginNest(IFLA_LINKINFO);
            w.PutString(IFLA_INFO_SLAVE_KIND, master.Kind);
            int sd = w.BeginNest(IFLA_INFO_SLAVE_DATA);
            int before = w.Length;
            KindAttrs.Put(w, s.SlaveData, master.Kind, slave: true);
            bool any = w.Length > before;
            w.EndNest(sd);
            w.EndNest(li);
            if (any) rtnl.Send($"setting the port options of {s.Name}");
        }

        // IPv6 tokens, as `ip token set` sends them (inet6_set_iftoken), before the devices go up
        var tokenBytes = new byte[16];
        foreach (var s in specs)
        {
            if (s.Token == null) continue;
            var token = ParseV6(JsonValue.Create(s.Token), $"links.devices.{s.Name}.token");
            var w = rtnl.Begin(RTM_SETLINK, 0);
            new IfInfoMsg { Family = (byte)AF_INET6, Index = s.Ifindex }.Write(w.Reserve(IfInfoMsg.Size));
            int spec = w.BeginNest(IFLA_AF_SPEC);
            int inet6 = w.BeginNest(AF_INET6);
            Inet.V6(token, tokenBytes);
            w.PutBytes(IFLA_INET6_TOKEN, tokenBytes);
            w.EndNest(inet6);
            w.EndNest(spec);
            rtnl.Send($"setting the IPv6 token of {s.Name}");
        }

        // 4. flags, then up, in index order
        foreach (var s in specs)
        {
            var dev = net.GetDevice(s.Ifindex)!;
            uint want = s.Flags & ~(uint)IFF_UP;
            uint have = (dev.Flags & ChangeableFlags & ~(uint)(IFF_UP | IFF_PROMISC | IFF_ALLMULTI)) | (dev.GFlags & (uint)(IFF_PROMISC | IFF_ALLMULTI));
            if (want == have) continue;
            SetFlags(rtnl, s, want, ChangeableFlags & ~(uint)IFF_UP);
        }
        // a device that was up once keeps traces of it (its root qdisc, lo's 127.0.0.1, IPv6 made
        // ready, routes): those the document shows as opened once are brought up first, then down
        // again where they are down now, then the others that are up come up
        foreach (var s in specs)
        {
            var dev = net.GetDevice(s.Ifindex)!;
            if (s.Qdisc is not (null or "noop") && !dev.IsUp) SetFlags(rtnl, s, IFF_UP, IFF_UP);
        }
        foreach (var s in specs)
        {
            var dev = net.GetDevice(s.Ifindex)!;
            if ((s.Flags & IFF_UP) == 0 && dev.IsUp) SetFlags(rtnl, s, 0, IFF_UP);
        }
        foreach (var s in specs)
        {
            var dev = net.GetDevice(s.Ifindex)!;
            if ((s.Flags & IFF_UP) != 0 && !dev.IsUp) SetFlags(rtnl, s, IFF_UP, IFF_UP);
        }

        // IPv6 became ready on a device once it had a carrier (IF_READY stays when the carrier goes,
        // as do the routes addrconf made then): a device that was ready but has no carrier now is
        // given one for a moment, as when its peer or lower device was up for a while
        foreach (var s in specs)
        {
            var dev = net.GetDevice(s.Ifindex)!;
            if (!s.Ipv6Ready || dev.Ip6 == null || dev.Ip6.Ready || !dev.IsUp || dev.Carrier) continue;
            net.NetifCarrierOn(dev);
            net.Kernel.RunDeferred();
            net.NetifCarrierOff(dev);
            net.Kernel.RunDeferred();
        }

        // 5. addresses: IPv4 in list order; IPv6 oldest first within a scope (the list is newest
        // first), skipping those the kernel made itself (::1, link-local) and removing those it made
        // that the document does not have
        foreach (var s in specs)
        {
            var dev = net.GetDevice(s.Ifindex)!;
            foreach (var a in s.V4)
            {
                var (local, peer, plen, bcast, label, scope, flags, metric, proto, valid, pref) = ParseAddr4(a, s.Where + ".ipv4");
                // made by the kernel itself (127.0.0.1/8 when lo comes up)
                if (dev.Ip4 != null && dev.Ip4.Addrs.Any(x => x.Local == local && x.PrefixLen == plen)) continue;
                var w = rtnl.Begin(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
                new IfAddrMsg { Family = AF_INET, PrefixLen = plen, Flags = (byte)(flags & 0xff), Scope = scope, Index = (uint)s.Ifindex }.Write(w.Reserve(IfAddrMsg.Size));
                var b4 = new byte[4];
                Inet.V4(local, b4); w.PutBytes(IFA_LOCAL, b4);
                Inet.V4(peer, b4); w.PutBytes(IFA_ADDRESS, b4);
                if (bcast != 0) { Inet.V4(bcast, b4); w.PutBytes(IFA_BROADCAST, b4); }
                w.PutString(IFA_LABEL, label ?? s.Name);
                w.PutU32(IFA_FLAGS, flags);
                if (metric != 0) w.PutU32(IFA_RT_PRIORITY, metric);
                if (proto != 0) w.PutU8(IFA_PROTO, proto);
                PutCacheInfo(w, valid, pref);
                rtnl.Send($"adding {Inet.FormatV4(local)}/{plen} to {s.Name}");
            }
            if (dev.Ip6 == null) continue;
            var wanted = s.V6.Select(a => ParseAddr6(a, s.Where + ".ipv6")).ToList();
            foreach (var a6 in wanted.AsEnumerable().Reverse())
            {
                if (dev.Ip6.Find(a6.Addr) is { } have && have.PrefixLen == a6.Plen) continue;
                var w = rtnl.Begin(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
                new IfAddrMsg { Family = AF_INET6, PrefixLen = a6.Plen, Flags = (byte)(a6.Flags & 0xff), Index = (uint)s.Ifindex }.Write(w.Reserve(IfAddrMsg.Size));
                var b16 = new byte[16];
                Inet.V6(a6.Addr, b16); w.PutBytes(IFA_LOCAL, b16);
                if (a6.Peer != 0) { Inet.V6(a6.Peer, b16); w.PutBytes(IFA_ADDRESS, b16); }
                w.PutU32(IFA_FLAGS, a6.Flags);
                if (a6.Metric != 0) w.PutU32(IFA_RT_PRIORITY, a6.Metric);
                if (a6.Proto != 0) w.PutU8(IFA_PROTO, a6.Proto);
                PutCacheInfo(w, a6.Valid, a6.Pref);
                rtnl.Send($"adding {Inet.FormatV6(a6.Addr)}/{a6.Plen} to {s.Name}");
            }
            foreach (var extra in dev.Ip6.Addrs.Where(x => !wanted.Any(a => a.Addr == x.Addr && a.Plen == x.PrefixLen)).ToList())
            {
                var w = rtnl.Begin(RTM_DELADDR, 0);
                new IfAddrMsg { Family = AF_INET6, PrefixLen = extra.PrefixLen, Index = (uint)s.Ifindex }.Write(w.Reserve(IfAddrMsg.Size));
                var b16 = new byte[16];
                Inet.V6(extra.Addr, b16); w.PutBytes(IFA_LOCAL, b16);
                rtnl.Send($"removing {Inet.FormatV6(extra.Addr)} from {s.Name}");
            }
        }

        // 6. what no request sets
        foreach (var s in specs)
        {
            var dev = net.GetDevice(s.Ifindex)!;
            dev.AddrAssignType = s.AddrAssignType;
            // the root qdisc a device got when it was first opened stays after it went down
            if (s.Qdisc != null) dev.Qdisc = s.Qdisc;
        }
        net.IfindexNext = next;
    }

    /// <summary>The number a bridge gave the port (IFLA_BRPORT_NO, a read-only u16).</summary>
    private static long? PortNo(DevSpec s) => s.SlaveData?["IFLA_BRPORT_NO"] switch
    {
        JsonValue v when v.TryGetValue<long>(out var n) => n,
        JsonObject { } o when o["hex"] is JsonValue h && h.TryGetValue<string>(out var hex) && hex.Length == 4 =>
            Convert.FromHexString(hex) is var b ? b[0] | (b[1] << 8) : null,
        _ => null,
    };

    /// <summary>A dummy device enslaved to a bridge to take a port number (removed afterwards).</summary>
    private static int Placeholder(RtnlClient rtnl, Net net, int masterIndex)
    {
        int idx = int.MaxValue;
        while (net.GetDevice(idx) != null) idx--;
        string name = "vkimport" + (int.MaxValue - idx);
        var w = rtnl.Begin(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        new IfInfoMsg { Index = idx }.Write(w.Reserve(IfInfoMsg.Size));
        w.PutString(IFLA_IFNAME, name);
        w.PutBytes(IFLA_ADDRESS, [0x02, 0, 0, 0, 0, 0x01]);
        w.PutU32(IFLA_MASTER, (uint)masterIndex);
        int li = w.BeginNest(IFLA_LINKINFO);
        w.PutString(IFLA_INFO_KIND, "dummy");
        w.EndNest(li);
        rtnl.Send("creating a placeholder port");
        return idx;
    }

    private static void SetFlags(RtnlClient rtnl, DevSpec s, uint flags, uint change)
    {
        var w = rtnl.Begin(RTM_SETLINK, 0);
        new IfInfoMsg { Index = s.Ifindex, Flags = flags, Change = change }.Write(w.Reserve(IfInfoMsg.Size));
        rtnl.Send($"setting the flags of {s.Name}");
    }

    /// <summary>The attributes a new device (or a veth peer) is created with.</summary>
    private static void PutCommon(NlWriter w, DevSpec s)
    {
        w.PutString(IFLA_IFNAME, s.Name);
        if (s.Address.Length > 0) w.PutBytes(IFLA_ADDRESS, s.Address);
        w.PutU32(IFLA_MTU, s.Mtu);
        w.PutU32(IFLA_TXQLEN, s.TxQLen);
        if (s.Group != 0) w.PutU32(IFLA_GROUP, s.Group);
        w.PutU32(IFLA_NUM_TX_QUEUES, s.NumTx);
        w.PutU32(IFLA_NUM_RX_QUEUES, s.NumRx);
        if (s.GsoMaxSize != 65536) w.PutU32(IFLA_GSO_MAX_SIZE, s.GsoMaxSize);
        if (s.GsoMaxSegs != 65535) w.PutU32(IFLA_GSO_MAX_SEGS, s.GsoMaxSegs);
        if (s.GroMaxSize != 65536) w.PutU32(IFLA_GRO_MAX_SIZE, s.GroMaxSize);
        if (s.GsoIpv4MaxSize != 65536) w.PutU32(IFLA_GSO_IPV4_MAX_SIZE, s.GsoIpv4MaxSize);
        if (s.GroIpv4MaxSize != 65536) w.PutU32(IFLA_GRO_IPV4_MAX_SIZE, s.GroIpv4MaxSize);
    }

    private static void PutCacheInfo(NlWriter w, uint valid, uint pref)
    {
        if (valid == IfAddr.InfinityLifeTime && pref == IfAddr.InfinityLifeTime) return;
        var ci = w.ReserveAttr(IFA_CACHEINFO, 16);
        ci.Clear();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(ci, pref);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(ci[4..], valid);
    }

    private static void DelAddr4(RtnlClient rtnl, NetDevice dev, InIfAddr a)
    {
        var w = rtnl.Begin(RTM_DELADDR, 0);
        new IfAddrMsg { Family = AF_INET, PrefixLen = a.PrefixLen, Index = (uint)dev.Ifindex }.Write(w.Reserve(IfAddrMsg.Size));
        var b4 = new byte[4];
        Inet.V4(a.Local, b4); w.PutBytes(IFA_LOCAL, b4);
        rtnl.Send($"removing {Inet.FormatV4(a.Local)} from {dev.Name}");
    }

    private static uint ParseV4(JsonNode? n, string where)
    {
        var s = Str(n, where);
        if (!System.Net.IPAddress.TryParse(s, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
            throw Bad(where, $"\"{s}\" is not an IPv4 address");
        return Inet.V4(ip.GetAddressBytes());
    }

    private static UInt128 ParseV6(JsonNode? n, string where)
    {
        var s = Str(n, where);
        if (!System.Net.IPAddress.TryParse(s, out var ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            throw Bad(where, $"\"{s}\" is not an IPv6 address");
        return Inet.V6(ip.GetAddressBytes());
    }

    private static (uint Local, uint Peer, byte Plen, uint Bcast, string? Label, byte Scope, uint Flags, uint Metric, byte Proto, uint Valid, uint Pref)
        ParseAddr4(JsonObject a, string w)
    {
        uint local = ParseV4(a["local"], w + ".local");
        uint peer = a["peer"] is null ? local : ParseV4(a["peer"], w + ".peer");
        byte plen = (byte)Int(a["prefixlen"], w + ".prefixlen", 0, 32);
        uint bcast = a["broadcast"] is null ? 0 : ParseV4(a["broadcast"], w + ".broadcast");
        string? label = OptStr(a, "label", w);
        byte scope = (byte)(OptInt(a, "scope", w, 0, 255) ?? 0);
        uint flags = (uint)(OptInt(a, "flags", w, 0, uint.MaxValue) ?? 0) & RequestableAddrFlags;
        uint metric = (uint)(OptInt(a, "metric", w, 0, uint.MaxValue) ?? 0);
        byte proto = (byte)(OptInt(a, "proto", w, 0, 255) ?? 0);
        uint valid = (uint)(OptInt(a, "valid_lft", w, 0, uint.MaxValue) ?? (long)IfAddr.InfinityLifeTime);
        uint pref = (uint)(OptInt(a, "preferred_lft", w, 0, uint.MaxValue) ?? (long)IfAddr.InfinityLifeTime);
        return (local, peer, plen, bcast, label, scope, flags, metric, proto, valid, pref);
    }

    private readonly record struct Addr6(UInt128 Addr, UInt128 Peer, byte Plen, uint Flags, uint Metric, byte Proto, uint Valid, uint Pref);

    private static Addr6 ParseAddr6(JsonObject a, string w) => new(
        ParseV6(a["address"], w + ".address"),
        a["peer"] is null ? 0 : ParseV6(a["peer"], w + ".peer"),
        (byte)Int(a["prefixlen"], w + ".prefixlen", 0, 128),
        (uint)(OptInt(a, "flags", w, 0, uint.MaxValue) ?? 0) & RequestableAddrFlags,
        (uint)(OptInt(a, "metric", w, 0, uint.MaxValue) ?? 0),
        (byte)(OptInt(a, "proto", w, 0, 255) ?? 0),
        (uint)(OptInt(a, "valid_lft", w, 0, uint.MaxValue) ?? (long)IfAddr.InfinityLifeTime),
        (uint)(OptInt(a, "preferred_lft", w, 0, uint.MaxValue) ?? (long)IfAddr.InfinityLifeTime));
}
