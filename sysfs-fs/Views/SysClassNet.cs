using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using VirtKernel.Model;
using VirtKernel.Protocol;
using VirtKernel.SysfsFs.Fuse;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.SysfsFs.Views;

/// <summary>/sys/class/net: one symbolic link per device of the namespace, to
/// ../../devices/virtual/net/DEV.</summary>
internal sealed class ClassNetDir(NsDir ns) : FsDir
{
    private readonly ConditionalWeakTable<NetDevice, DevLink> _links = new();

    public override uint Mode => 0x1ed;
    public override bool Alive => ns.Alive;

    private DevLink Link(NetDevice d) => _links.GetValue(d, dev => new DevLink(ns, dev, dev.Name));

    public override FsNode? Lookup(string name) =>
        ns.Net.GetDevice(name) is { } d && d.Name == name ? LinkFor(d) : null;

    private DevLink LinkFor(NetDevice d)
    {
        var l = Link(d);
        if (l.BoundName == d.Name) return l;
        // renamed: a new link (the kernel moves the sysfs entry)
        _links.Remove(d);
        return Link(d);
    }

    public override IEnumerable<KeyValuePair<string, FsNode>> List() =>
        ns.Net.Devices.Select(d => new KeyValuePair<string, FsNode>(d.Name, LinkFor(d))).ToList();

    internal sealed class DevLink(NsDir ns, NetDevice dev, string name) : FsSymlink
    {
        public string BoundName { get; } = name;
        public override bool Alive => ns.Alive && dev.IsRegistered && dev.Net == ns.Net && dev.Name == BoundName;
        public override double AttrTimeout => 0;
        public override string Target => "../../devices/virtual/net/" + BoundName;
    }
}

/// <summary>/sys/devices/virtual/net: one directory per device with the attributes of net-sysfs.c
/// (and power/, queues/, statistics/).</summary>
internal sealed class DevicesNetDir(NsDir ns) : FsDir
{
    private readonly ConditionalWeakTable<NetDevice, DeviceDir> _dirs = new();

    public override uint Mode => 0x1ed;
    public override bool Alive => ns.Alive;

    private DeviceDir DirFor(NetDevice d)
    {
        if (_dirs.TryGetValue(d, out var x) && x.BoundName == d.Name) return x;
        _dirs.Remove(d);
        var n = new DeviceDir(ns, d, d.Name);
        _dirs.Add(d, n);
        return n;
    }

    public override FsNode? Lookup(string name) =>
        ns.Net.GetDevice(name) is { } d && d.Name == name ? DirFor(d) : null;

    public override IEnumerable<KeyValuePair<string, FsNode>> List() =>
        ns.Net.Devices.Select(d => new KeyValuePair<string, FsNode>(d.Name, DirFor(d))).ToList();
}

/// <summary>/sys/devices/virtual/net/DEV (the kobject of a net_device).</summary>
internal sealed class DeviceDir : FsDir
{
    private readonly NsDir _ns;
    private readonly NetDevice _dev;
    private readonly Dictionary<string, FsNode> _fixed = new(StringComparer.Ordinal);

    public DeviceDir(NsDir ns, NetDevice dev, string name)
    {
        _ns = ns;
        _dev = dev;
        BoundName = name;
        foreach (var (n, mode, show, store) in Attrs)
            _fixed[n] = new Attr(this, mode, show, store);
        var power = new SubDir(this, 0x1ed);
        power.Add("autosuspend_delay_ms", new Attr(this, 0x1a4, _ => (-Errno.EIO, ""), null));
        power.Add("control", new Attr(this, 0x1a4, _ => (0, "auto"), (_, s) => s.Trim() is "auto" or "on" ? 0 : -Errno.EINVAL));
        power.Add("runtime_active_time", new Attr(this, 0x124, _ => (0, "0"), null));
        power.Add("runtime_status", new Attr(this, 0x124, _ => (0, "unsupported"), null));
        power.Add("runtime_suspended_time", new Attr(this, 0x124, _ => (0, "0"), null));
        _fixed["power"] = power;
        var stats = new SubDir(this, 0x1ed);
        foreach (var s in StatNames) stats.Add(s, new Attr(this, 0x124, _ => (0, "0"), null));
        _fixed["statistics"] = stats;
        _fixed["subsystem"] = new FixedSymlinkIn(this, "../../../../class/net");
        _fixed["queues"] = Queues();
    }

    public string BoundName { get; }
    public NetDevice Dev => _dev;
    public override uint Mode => 0x1ed;
    public override double AttrTimeout => 0;
    public override bool Alive => _ns.Alive && _dev.IsRegistered && _dev.Net == _ns.Net && _dev.Name == BoundName;

    private static readonly string[] StatNames =
    [
        "collisions", "multicast", "rx_bytes", "rx_compressed", "rx_crc_errors", "rx_dropped", "rx_errors",
        "rx_fifo_errors", "rx_frame_errors", "rx_length_errors", "rx_missed_errors", "rx_nohandler",
        "rx_over_errors", "rx_packets", "tx_aborted_errors", "tx_bytes", "tx_carrier_errors", "tx_compressed",
        "tx_dropped", "tx_errors", "tx_fifo_errors", "tx_heartbeat_errors", "tx_packets", "tx_window_errors",
    ];

    private SubDir Queues()
    {
        var q = new SubDir(this, 0x1ed);
        for (int i = 0; i < (int)_dev.RealNumRxQueues; i++)
        {
            var rx = new SubDir(this, 0x1ed);
            rx.Add("rps_cpus", new Attr(this, 0x1a4, _ => (0, "0"), null));
            rx.Add("rps_flow_cnt", new Attr(this, 0x1a4, _ => (0, "0"), null));
            q.Add($"rx-{i}", rx);
        }
        for (int i = 0; i < (int)_dev.RealNumTxQueues; i++)
        {
            var tx = new SubDir(this, 0x1ed);
            // no qdisc with traffic classes and no XPS on loopback-like devices: ENOENT
            bool mq = !_dev.IsLoopback && (_dev.PrivFlags & PrivFlags.Ebridge) == 0;
            tx.Add("traffic_class", new Attr(this, 0x124, _ => mq ? (0, "0") : (-Errno.ENOENT, ""), null));
            tx.Add("tx_maxrate", new Attr(this, 0x1a4, _ => (0, "0"), null));
            tx.Add("tx_timeout", new Attr(this, 0x124, _ => (0, "0"), null));
            tx.Add("xps_cpus", new Attr(this, 0x1a4, _ => mq ? (0, "0") : (-Errno.ENOENT, ""), null));
            tx.Add("xps_rxqs", new Attr(this, 0x1a4, _ => (0, "0"), null));
            q.Add($"tx-{i}", tx);
        }
        return q;
    }

    private delegate (int Err, string Text) Show(NetDevice dev);
    private delegate int Store(NetDevice dev, string text);

    private static string Mac(byte[] a, int len) => string.Join(':', a.Take(len).Select(b => b.ToString("x2")));

    private static readonly string[] OperStates = ["unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"];

    /// <summary>netdev_show: EINVAL when the device is not running (carrier, dormant, testing...).</summary>
    private static (int, string) Running(NetDevice d, Func<string> f) => d.IsUp ? (0, f()) : (-Errno.EINVAL, "");

    /// <summary>Devices whose driver reports link settings (ethtool): veth says 10000 full.</summary>
    private static bool HasLinkSettings(NetDevice d) => d.Ops.Kind == "veth";

    /// <summary>net-sysfs.c's attributes: name, mode, show, store (null: read-only).</summary>
    private static readonly (string Name, uint Mode, Show Show, Store? Store)[] Attrs =
    [
        ("addr_assign_type", 0x124, d => (0, d.AddrAssignType.ToString()), null),
        ("addr_len", 0x124, d => (0, d.AddrLen.ToString()), null),
        ("address", 0x124, d => (0, Mac(d.DevAddr, d.AddrLen)), null),
        ("broadcast", 0x124, d => (0, Mac(d.Broadcast, d.AddrLen)), null),
        ("carrier", 0x1a4, d => Running(d, () => d.Carrier ? "1" : "0"), (d, s) => d.IsUp ? -Errno.EOPNOTSUPP : -Errno.EINVAL),
        ("carrier_changes", 0x124, d => (0, d.CarrierChanges.ToString()), null),
        ("carrier_down_count", 0x124, d => (0, d.CarrierDownCount.ToString()), null),
        ("carrier_up_count", 0x124, d => (0, d.CarrierUpCount.ToString()), null),
        ("dev_id", 0x124, d => (0, "0x0"), null),
        ("dev_port", 0x124, d => (0, "0"), null),
        ("dormant", 0x124, d => Running(d, () => d.Dormant ? "1" : "0"), null),
        ("duplex", 0x124, d => d.IsUp && HasLinkSettings(d) ? (0, "full") : (-Errno.EINVAL, ""), null),
        ("flags", 0x1a4, d => (0, "0x" + d.Flags.ToString("x")), (d, s) => NetStore(d, s, v => d.Net.DevChangeFlags(d, unchecked((uint)v)))),
        ("gro_flush_timeout", 0x1a4, d => (0, SysfsExtras.Of(d).GroFlushTimeout.ToString()), (d, s) => ParseUlong(s, out var v) ? Set(() => SysfsExtras.Of(d).GroFlushTimeout = v) : -Errno.EINVAL),
        ("ifalias", 0x1a4, d => (0, d.Alias ?? ""), SetAlias),
        ("ifindex", 0x124, d => (0, d.Ifindex.ToString()), null),
        ("iflink", 0x124, d => (0, d.IfLink.ToString()), null),
        ("link_mode", 0x124, d => (0, d.LinkMode.ToString()), null),
        ("mtu", 0x1a4, d => (0, d.Mtu.ToString()), (d, s) => NetStore(d, s, v => v > int.MaxValue ? new KErr(Errno.EINVAL) : d.Net.DevSetMtu(d, (uint)v))),
        ("name_assign_type", 0x124, d => (0, d.IsLoopback ? "2" : "3"), null),
        ("napi_defer_hard_irqs", 0x1a4, d => (0, SysfsExtras.Of(d).NapiDeferHardIrqs.ToString()),
            (d, s) => !ParseUlong(s, out var v) ? -Errno.EINVAL : v > int.MaxValue ? -Errno.ERANGE : Set(() => SysfsExtras.Of(d).NapiDeferHardIrqs = v)),
        ("netdev_group", 0x1a4, d => (0, d.Group.ToString()), (d, s) => NetStore(d, s, v => { d.Group = unchecked((uint)(int)v); return KErr.Ok; })),
        ("operstate", 0x124, d => (0, OperStates[Math.Min(d.ReportedOperState, (byte)6)]), null),
        ("proto_down", 0x1a4, d => (0, d.ProtoDown ? "1" : "0"), (d, s) => ParseUlong(s, out _) ? -Errno.EOPNOTSUPP : -Errno.EINVAL),
        ("speed", 0x124, d => d.IsUp && HasLinkSettings(d) ? (0, "10000") : (-Errno.EINVAL, ""), null),
        ("testing", 0x124, d => Running(d, () => d.Testing ? "1" : "0"), null),
        ("threaded", 0x1a4, d => (0, "0"), (d, s) => ParseUlong(s, out _) ? -Errno.EOPNOTSUPP : -Errno.EINVAL),
        ("tx_queue_len", 0x1a4, d => (0, d.TxQueueLen.ToString()), (d, s) => NetStore(d, s, v => v > uint.MaxValue ? new KErr(Errno.EINVAL) : d.Net.DevChangeTxQueueLen(d, (uint)v))),
        ("type", 0x124, d => (0, d.Type.ToString()), null),
        ("uevent", 0x1a4, d => (0, Uevent(d)), (d, s) => 0),
    ];

    private static int Set(Action a)
    {
        a();
        return 0;
    }

    private static string Uevent(NetDevice d)
    {
        var sb = new StringBuilder();
        if ((d.PrivFlags & PrivFlags.Ebridge) != 0) sb.Append("DEVTYPE=bridge\n");
        sb.Append("INTERFACE=").Append(d.Name).Append("\nIFINDEX=").Append(d.Ifindex);
        return sb.ToString();
    }

    /// <summary>kstrtoul(buf, 0): decimal, 0x hex or 0 octal, one trailing newline allowed.</summary>
    private static bool ParseUlong(string s, out ulong v)
    {
        v = 0;
        if (s.EndsWith('\n')) s = s[..^1];
        if (s.StartsWith('+')) s = s[1..];
        if (s.Length == 0) return false;
        try
        {
            if (s.Length > 2 && s[0] == '0' && (s[1] | 0x20) == 'x') return ulong.TryParse(s[2..], NumberStyles.AllowHexSpecifier, null, out v);
            if (s.Length > 1 && s[0] == '0')
            {
                foreach (char c in s[1..])
                {
                    if (c < '0' || c > '7') return false;
                    v = checked(v * 8 + (ulong)(c - '0'));
                }
                return true;
            }
            return s.All(char.IsAsciiDigit) && ulong.TryParse(s, out v);
        }
        catch (OverflowException) { return false; }
    }

    /// <summary>netdev_store: the number, then the setter under the rtnl lock.</summary>
    private static int NetStore(NetDevice d, string s, Func<ulong, KErr> set)
    {
        if (!ParseUlong(s, out var v)) return -Errno.EINVAL;
        var e = set(v);
        return e.Failed ? -e.Errno : 0;
    }

    /// <summary>ifalias_store: dev_set_alias (the trailing newline dropped), then
    /// netdev_state_change.</summary>
    private static int SetAlias(NetDevice d, string s)
    {
        int len = s.Length;
        if (len > 0 && s[len - 1] == '\n') len--;
        if (Encoding.UTF8.GetByteCount(s[..len]) >= IFALIASZ) return -Errno.EINVAL;
        d.Alias = len == 0 ? null : s[..len];
        d.Net.NetdevStateChange(d);
        return 0;
    }

    public override FsNode? Lookup(string name)
    {
        if (_fixed.TryGetValue(name, out var n)) return n;
        return Dynamic().FirstOrDefault(kv => kv.Key == name).Value;
    }

    /// <summary>master, upper_MASTER and lower_PORT links (netdev_adjacent).</summary>
    private IEnumerable<KeyValuePair<string, FsNode>> Dynamic()
    {
        if (_dev.Master is { } m)
        {
            yield return new("master", new FixedSymlinkIn(this, "../" + m.Name));
            yield return new("upper_" + m.Name, new FixedSymlinkIn(this, "../" + m.Name));
        }
        foreach (var port in _dev.Net.Devices)
            if (port.Master == _dev) yield return new("lower_" + port.Name, new FixedSymlinkIn(this, "../" + port.Name));
    }

    public override IEnumerable<KeyValuePair<string, FsNode>> List() =>
        _fixed.Concat(Dynamic()).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();

    /// <summary>An attribute file (size 4096 as sysfs reports).</summary>
    private sealed class Attr(DeviceDir dir, uint mode, Show show, Store? store) : FsFile
    {
        public override uint Mode => mode;
        public override ulong Size => 4096;
        public override bool Alive => dir.Alive;
        public override double AttrTimeout => 0;

        public override int Read(FsCaller caller, out byte[] content)
        {
            var (err, text) = show(dir._dev);
            content = err < 0 ? [] : Encoding.UTF8.GetBytes(text + "\n");
            return err;
        }

        public override int Write(FsCaller caller, long offset, ReadOnlySpan<byte> data)
        {
            if (store == null) return -Errno.EACCES;
            int r = store(dir._dev, Encoding.UTF8.GetString(data));
            return r < 0 ? r : data.Length;
        }
    }

    private sealed class SubDir(DeviceDir dir, uint mode) : StaticDir(mode)
    {
        public override bool Alive => dir.Alive;
        public override double AttrTimeout => 0;
    }

    private sealed class FixedSymlinkIn(DeviceDir dir, string target) : FsSymlink
    {
        public override bool Alive => dir.Alive;
        public override double AttrTimeout => 0;
        public override string Target => target;
    }
}

/// <summary>Per-device values only sysfs shows (gro_flush_timeout, napi_defer_hard_irqs).</summary>
internal sealed class SysfsExtras
{
    private static readonly ConditionalWeakTable<NetDevice, SysfsExtras> Table = new();
    public static SysfsExtras Of(NetDevice d) => Table.GetValue(d, _ => new SysfsExtras());
    public ulong GroFlushTimeout;
    public ulong NapiDeferHardIrqs;
}
