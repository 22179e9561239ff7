using System.Text.Json.Nodes;
using VirtKernel.Daemon.Rtnl;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using static VirtKernel.Daemon.Management.State.StateRegistry;

namespace VirtKernel.Daemon.Management.State;

/// <summary>A link kind's options (IFLA_INFO_DATA) and a port's (IFLA_INFO_SLAVE_DATA) as JSON: the
/// attributes the kind's fill_info writes, named after their uapi constants (IFLA_BR_STP_STATE: 0),
/// numbers for integers, strings for strings, {"hex": ...} for the rest. Import sends back those the
/// kind's policy accepts (the read-only ones — timers, ids, counters — follow from the others).</summary>
public static class KindAttrs
{
    private static readonly Dictionary<string, (Dictionary<int, string> ByType, Dictionary<string, int> ByName)> Names = new();

    /// <summary>Attributes a request could carry but that are the kernel's to decide on import
    /// (a port's STP state follows from the bridge's state machine).</summary>
    private static readonly HashSet<string> NotImported = ["IFLA_BRPORT_STATE"];

    private static string Prefix(string kind, bool slave) => (kind, slave) switch
    {
        ("bridge", false) => "IFLA_BR_",
        ("bridge", true) => "IFLA_BRPORT_",
        ("vxlan", _) => "IFLA_VXLAN_",
        ("macvlan", _) => "IFLA_MACVLAN_",
        ("vlan", _) => "IFLA_VLAN_",
        ("veth", _) => "VETH_INFO_",
        _ => "IFLA_" + kind.ToUpperInvariant() + "_",
    };

    private static (Dictionary<int, string> ByType, Dictionary<string, int> ByName) Table(string prefix)
    {
        lock (Names)
        {
            if (Names.TryGetValue(prefix, out var t)) return t;
            var byType = new Dictionary<int, string>();
            var byName = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var f in typeof(Uapi).GetFields())
            {
                if (!f.IsLiteral || !f.Name.StartsWith(prefix) || f.GetRawConstantValue() is not int v) continue;
                string rest = f.Name[prefix.Length..];
                if (rest == "MAX" || System.Text.RegularExpressions.Regex.IsMatch(rest, "^MAX_[0-9]") || rest == "UNSPEC" || rest == "PAD") continue;
                // longer prefixes (IFLA_BR_ vs IFLA_BRPORT_) are other tables
                if (prefix == "IFLA_BR_" && f.Name.StartsWith("IFLA_BRPORT_")) continue;
                byType.TryAdd(v, f.Name);
                byName[f.Name] = v;
            }
            Names[prefix] = (byType, byName);
            return (byType, byName);
        }
    }

    private static Policy? PolicyOf(string kind, bool slave)
    {
        var k = RtnlLinkKind.Get(kind);
        return k == null ? null : slave ? k.SlavePolicy : k.DataPolicy;
    }

    /// <summary>Kinds whose devices are created without options, which are then set one by one
    /// where they differ from the defaults (a bridge's ageing time, even unchanged, rearms its gc).</summary>
    public static bool CreatedBare(string kind) => kind == "bridge";

    public static JsonObject Export(Action<NlWriter> fill, string kind, bool slave)
    {
        var w = new NlWriter(1 << 14);
        fill(w);
        var (byType, _) = Table(Prefix(kind, slave));
        var policy = PolicyOf(kind, slave);
        var o = new JsonObject();
        foreach (var a in new NlAttrIterator(w.Span, 0))
        {
            string name = byType.TryGetValue(a.Type, out var n) ? n : a.Type.ToString();
            var type = policy != null && a.Type <= policy.MaxType ? policy[a.Type].Type : NlaType.Unspec;
            o[name] = type switch
            {
                NlaType.U8 or NlaType.S8 when a.Length == 1 => a.U8,
                NlaType.U16 or NlaType.S16 when a.Length == 2 => a.U16,
                NlaType.U32 or NlaType.S32 or NlaType.UInt or NlaType.SInt when a.Length == 4 => a.U32,
                NlaType.U64 or NlaType.Msecs or NlaType.UInt or NlaType.SInt when a.Length == 8 => a.U64,
                NlaType.Flag when a.Length == 0 => true,
                NlaType.String or NlaType.NulString => a.String,
                _ => new JsonObject { ["hex"] = Convert.ToHexString(a.Payload).ToLowerInvariant() },
            };
        }
        return o;
    }

    /// <summary>Checks that every attribute is known and its value fits its policy type.</summary>
    public static void Check(JsonObject attrs, string kind, bool slave, string where)
    {
        var w = new NlWriter(1 << 14);
        Put(w, attrs, kind, slave, where);
    }

    public static void Put(NlWriter w, JsonObject attrs, string kind, bool slave, string? where = null)
    {
        where ??= slave ? "info_slave_data" : "info_data";
        var (_, byName) = Table(Prefix(kind, slave));
        var policy = PolicyOf(kind, slave);
        foreach (var (name, value) in attrs)
        {
            string at = where + "." + name;
            if (!byName.TryGetValue(name, out int type) && !int.TryParse(name, out type))
                throw Bad(at, $"unknown {kind} attribute");
            if (NotImported.Contains(name)) continue;
            var p = policy != null && type <= policy.MaxType ? policy[type] : NlaPolicy.None;
            if (p == NlaPolicy.None || p.Type == NlaType.Reject) continue; // read-only: not in the kind's policy
            if (value is JsonObject hex)
            {
                var h = Str(hex["hex"], at + ".hex");
                byte[] bytes;
                try { bytes = Convert.FromHexString(h); }
                catch (FormatException) { throw Bad(at, "invalid hex"); }
                if (p.Type == NlaType.Flag)
                {
                    // a flag the dump writes as a u8 (IFLA_VXLAN_TTL_INHERIT): present when non-zero
                    if (bytes.Any(b => b != 0)) w.PutFlag(type);
                    continue;
                }
                // vxlan's reserved bits follow from the extensions in use unless asked for: only a
                // value other than the one without extensions is sent
                if (name == "IFLA_VXLAN_RESERVED_BITS" && Convert.ToHexString(bytes) == "F7FFFFFF000000FF") continue;
                if (name == "IFLA_BR_MULTI_BOOLOPT" && bytes.Length == 8)
                {
                    // struct br_boolopt_multi { optval, optmask }: the dump's mask names every option;
                    // only those that are on need asking for (some cannot be asked for at all here)
                    uint on = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes);
                    if (on == 0) continue;
                    System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), on);
                }
                w.PutBytes(type, bytes);
                continue;
            }
            // options at their default that this kernel refuses to be asked for (no VLAN filtering),
            // or whose mere presence changes the device (vxlan_nl2conf counts an extension as used
            // when its attribute is there, even off)
            if (name is "IFLA_BR_VLAN_FILTERING" or "IFLA_VXLAN_REMCSUM_RX" &&
                value is JsonValue vf && vf.TryGetValue<long>(out var vfv) && vfv == 0) continue;
            switch (p.Type)
            {
                case NlaType.U8: case NlaType.S8: w.PutU8(type, (byte)Int(value, at, 0, 255)); break;
                case NlaType.U16: case NlaType.S16: w.PutU16(type, (ushort)Int(value, at, 0, ushort.MaxValue)); break;
                case NlaType.U32: case NlaType.S32: w.PutU32(type, (uint)Int(value, at, 0, uint.MaxValue)); break;
                case NlaType.U64: case NlaType.Msecs: case NlaType.UInt: case NlaType.SInt:
                    w.PutU64(type, value is JsonValue v && v.TryGetValue<ulong>(out var u) ? u : (ulong)Int(value, at, 0));
                    break;
                case NlaType.Flag:
                    if (Bool(value, at)) w.PutFlag(type);
                    break;
                case NlaType.String: case NlaType.NulString: w.PutString(type, Str(value, at)); break;
                default: throw Bad(at, "expected {\"hex\": ...}");
            }
        }
    }
}
