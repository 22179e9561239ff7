using System.Buffers.Binary;
using System.Text.Json.Nodes;
using VirtKernel.Model;
using VirtKernel.Protocol;
using VirtKernel.Protocol.Netlink;
using static VirtKernel.Daemon.Management.State.StateRegistry;

namespace VirtKernel.Daemon.Management.State;

/// <summary>An object as its dump message shows it, in JSON: the family header's fields by name
/// ("hdr") and the attributes named after their uapi constants ("attrs": RTA_TABLE: 254, RTA_DST:
/// "10.0.0.0", NDA_LLADDR: "02:00:00:00:00:01", numbers for integers, {"hex": ...} for the rest),
/// in the order the kernel writes them. The subsystems whose objects a request can recreate from
/// what a dump shows (routes, rules, nexthops, neighbours: what `ip route save` / `restore` rely on)
/// export with the kernel's fill function and import by sending that message back as a request,
/// with the fields only the kernel may set taken out.</summary>
public sealed class MessageCodec
{
    private readonly (string Name, int Offset, int Size)[] _hdr;
    private readonly int _hdrLen;
    private readonly Dictionary<int, string> _byType = new();
    private readonly Dictionary<string, int> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _widths;
    private readonly HashSet<string> _addrs, _macs, _strings;

    public MessageCodec(string prefix, int hdrLen, (string, int, int)[] hdr, Dictionary<string, int> widths,
        string[] addrs, string[] macs, string[] strings, string[] exclude)
    {
        _hdrLen = hdrLen;
        _hdr = hdr;
        _widths = widths;
        _addrs = [.. addrs];
        _macs = [.. macs];
        _strings = [.. strings];
        foreach (var f in typeof(Uapi).GetFields())
        {
            if (!f.IsLiteral || !f.Name.StartsWith(prefix) || f.GetRawConstantValue() is not int v) continue;
            if (f.Name.Contains("MAX") || f.Name.EndsWith("_UNSPEC") || f.Name.EndsWith("_PAD") || f.Name.Contains("UNUSED")) continue;
            if (exclude.Any(x => f.Name.StartsWith(x))) continue;
            if (_byType.TryAdd(v, f.Name)) _byName[f.Name] = v;
        }
    }

    public int HdrLen => _hdrLen;

    /// <summary>The message (netlink header included) as {"hdr": ..., "attrs": ...}, without the
    /// attributes named in <paramref name="skip"/> (counters, times).</summary>
    public JsonObject ToJson(ReadOnlySpan<byte> msg, byte family, params string[] skip)
    {
        var body = msg[NlMsgHdr.Size..];
        var h = new JsonObject();
        foreach (var (name, off, size) in _hdr)
            h[name] = size switch
            {
                1 => body[off],
                2 => BinaryPrimitives.ReadUInt16LittleEndian(body[off..]),
                _ => BinaryPrimitives.ReadUInt32LittleEndian(body[off..]),
            };
        var a = new JsonObject();
        foreach (var at in new NlAttrIterator(body[_hdrLen..], 0))
        {
            string name = _byType.TryGetValue(at.Type, out var n) ? n : at.Type.ToString();
            if (skip.Contains(name)) continue;
            var p = at.Payload;
            JsonNode? v;
            if (_addrs.Contains(name) && p.Length is 4 or 16)
                v = p.Length == 4 ? Inet.FormatV4(BinaryPrimitives.ReadUInt32BigEndian(p)) : Inet.FormatV6(Inet.V6(p));
            else if (_macs.Contains(name)) v = Mac(p);
            else if (_strings.Contains(name) && p.Length > 0 && p[^1] == 0) v = at.String;
            else if (p.Length == 0) v = true;
            else if (_widths.TryGetValue(name, out var wd) && wd == p.Length)
                v = wd switch { 1 => p[0], 2 => BinaryPrimitives.ReadUInt16LittleEndian(p), 4 => BinaryPrimitives.ReadUInt32LittleEndian(p), _ => BinaryPrimitives.ReadUInt64LittleEndian(p) };
            else v = new JsonObject { ["hex"] = Convert.ToHexString(p).ToLowerInvariant() };
            a[name] = v;
        }
        _ = family;
        return new JsonObject { ["hdr"] = h, ["attrs"] = a };
    }

    /// <summary>The header fields of a message of the document (missing ones are zero).</summary>
    public Dictionary<string, long> Header(JsonObject o, string where)
    {
        var h = Obj(o["hdr"], where + ".hdr");
        var d = new Dictionary<string, long>();
        foreach (var (name, _, size) in _hdr)
            d[name] = h[name] == null ? 0 : Int(h[name], $"{where}.hdr.{name}", size == 4 ? int.MinValue : 0, size switch { 1 => 255, 2 => 65535, _ => uint.MaxValue });
        foreach (var (k, _) in h)
            if (_hdr.All(x => x.Name != k)) throw Bad(where + ".hdr", $"unknown field \"{k}\"");
        return d;
    }

    /// <summary>The attributes of a message of the document as (type, bytes), checked.</summary>
    public List<(string Name, int Type, byte[] Value)> Attrs(JsonObject o, string where)
    {
        var list = new List<(string, int, byte[])>();
        if (o["attrs"] == null) return list;
        foreach (var (name, value) in Obj(o["attrs"], where + ".attrs"))
        {
            string at = $"{where}.attrs.{name}";
            if (!_byName.TryGetValue(name, out int type) && !int.TryParse(name, out type)) throw Bad(at, "unknown attribute");
            byte[] b;
            if (value is JsonObject hex)
            {
                try { b = Convert.FromHexString(Str(hex["hex"], at + ".hex")); }
                catch (FormatException) { throw Bad(at, "invalid hex"); }
            }
            else if (value is JsonValue jv && jv.GetValueKind() == System.Text.Json.JsonValueKind.True) b = [];
            else if (value is JsonValue sv && sv.GetValueKind() == System.Text.Json.JsonValueKind.String)
            {
                string s = Str(value, at);
                if (_addrs.Contains(name))
                {
                    if (s.Contains(':'))
                    {
                        b = new byte[16];
                        try { Inet.V6(Inet.ParseV6(s), b); }
                        catch (FormatException) { throw Bad(at, $"\"{s}\" is not an address"); }
                    }
                    else
                    {
                        b = new byte[4];
                        try { BinaryPrimitives.WriteUInt32BigEndian(b, Inet.ParseV4(s)); }
                        catch (FormatException) { throw Bad(at, $"\"{s}\" is not an address"); }
                    }
                }
                else if (_macs.Contains(name)) b = ParseMac(s, at);
                else if (_strings.Contains(name)) b = [.. System.Text.Encoding.UTF8.GetBytes(s), 0];
                else throw Bad(at, "expected a number or {\"hex\": ...}");
            }
            else
            {
                if (!_widths.TryGetValue(name, out var wd)) throw Bad(at, "expected {\"hex\": ...}");
                b = new byte[wd];
                switch (wd)
                {
                    case 1: b[0] = (byte)Int(value, at, 0, 255); break;
                    case 2: BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)Int(value, at, 0, 65535)); break;
                    case 4: BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)Int(value, at, int.MinValue, uint.MaxValue)); break;
                    default:
                        BinaryPrimitives.WriteUInt64LittleEndian(b, value is JsonValue u && u.TryGetValue<ulong>(out var ul) ? ul : (ulong)Int(value, at));
                        break;
                }
            }
            list.Add((name, type, b));
        }
        return list;
    }

    /// <summary>Writes the family header and the attributes after <see cref="RtnlClient.Begin"/>.</summary>
    public void Write(NlWriter w, Dictionary<string, long> hdr, List<(string Name, int Type, byte[] Value)> attrs)
    {
        var h = w.Reserve(_hdrLen);
        h.Clear();
        foreach (var (name, off, size) in _hdr)
        {
            long v = hdr[name];
            switch (size)
            {
                case 1: h[off] = (byte)v; break;
                case 2: BinaryPrimitives.WriteUInt16LittleEndian(h[off..], (ushort)v); break;
                default: BinaryPrimitives.WriteUInt32LittleEndian(h[off..], (uint)v); break;
            }
        }
        foreach (var (_, type, value) in attrs) w.PutBytes(type, value);
    }

    /// <summary>Whether <paramref name="o"/> is a well-formed message of this codec.</summary>
    public void Check(JsonNode? n, string where)
    {
        var o = Obj(n, where);
        Header(o, where);
        Attrs(o, where);
        foreach (var (k, _) in o)
            if (k is not ("hdr" or "attrs")) throw Bad(where, $"unknown key \"{k}\"");
    }
}
