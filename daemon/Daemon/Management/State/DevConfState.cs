using System.Text.Json.Nodes;
using VirtKernel.Model;
using VirtKernel.Model.Ipv4;
using VirtKernel.Model.Ipv6;
using VirtKernel.Protocol;
using static VirtKernel.Daemon.Management.State.StateRegistry;

namespace VirtKernel.Daemon.Management.State;

/// <summary>net.ipv4.conf.* and net.ipv6.conf.* ("devconf" section): all, default and every
/// device, named as in /proc/sys (forwarding, accept_redirects, ...). Import writes the values that
/// differ, after the links exist. The writes are those of the tables alone: the side effects a
/// sysctl write has (forwarding turning off router advertisements, disable_ipv6 dropping
/// addresses, ...) belong to the sysctl tree and are not replayed here.</summary>
public sealed class DevConfState : IStateSubsystem
{
    public string Name => "devconf";

    private static readonly Dictionary<int, string> V4Names = NamesOf("IPV4_DEVCONF_", 1, DevConf.Max);
    // stable_secret is not an integer (DevConf6.StableSecret)
    private static readonly Dictionary<int, string> V6Names = NamesOf("DEVCONF_", 0, DevConf6.Max - 1)
        .Where(kv => kv.Value != "stable_secret").ToDictionary();

    private static Dictionary<int, string> NamesOf(string prefix, int min, int max)
    {
        var d = new Dictionary<int, string>();
        foreach (var f in typeof(Uapi).GetFields())
        {
            if (!f.IsLiteral || !f.Name.StartsWith(prefix) || f.Name.Contains("MAX") || f.GetRawConstantValue() is not int v) continue;
            if (v < min || v > max) continue;
            d.TryAdd(v, f.Name[prefix.Length..].ToLowerInvariant());
        }
        for (int i = min; i <= max; i++) d.TryAdd(i, i.ToString());
        return d;
    }

    public JsonNode Export(Net net, ExportContext ctx)
    {
        var v4Devs = new JsonObject();
        var v6Devs = new JsonObject();
        foreach (var dev in net.Devices)
        {
            if (dev.Ip4 != null) v4Devs[dev.Name] = V4(dev.Ip4.Cnf);
            if (dev.Ip6 != null) v6Devs[dev.Name] = V6(dev.Ip6.Cnf);
        }
        return new JsonObject
        {
            ["ipv4"] = new JsonObject { ["all"] = V4(net.Ipv4.All), ["default"] = V4(net.Ipv4.Default), ["devices"] = v4Devs },
            ["ipv6"] = new JsonObject { ["all"] = V6(net.Ipv6.All), ["default"] = V6(net.Ipv6.Default), ["devices"] = v6Devs },
        };
    }

    private static JsonObject V4(DevConf c)
    {
        var o = new JsonObject();
        foreach (var (i, n) in V4Names.OrderBy(kv => kv.Key)) o[n] = c[i];
        return o;
    }

    private static JsonObject V6(DevConf6 c)
    {
        var o = new JsonObject();
        foreach (var (i, n) in V6Names.OrderBy(kv => kv.Key)) o[n] = c[i];
        if (c.StableSecret is UInt128 s) o["stable_secret"] = Inet.FormatV6(s);
        return o;
    }

    public void Validate(JsonNode? section, ImportContext ctx)
    {
        if (section == null) return;
        var o = Obj(section, "devconf");
        foreach (var (fam, names) in new[] { ("ipv4", V4Names), ("ipv6", V6Names) })
        {
            if (o[fam] == null) continue;
            var f = Obj(o[fam], "devconf." + fam);
            foreach (var (key, table) in f)
            {
                if (key == "devices")
                {
                    foreach (var (dev, t) in Obj(table, $"devconf.{fam}.devices")) CheckTable(t, names, $"devconf.{fam}.devices.{dev}");
                }
                else if (key is "all" or "default") CheckTable(table, names, $"devconf.{fam}.{key}");
                else throw Bad($"devconf.{fam}", $"unknown key \"{key}\"");
            }
        }
    }

    private static void CheckTable(JsonNode? t, Dictionary<int, string> names, string where)
    {
        foreach (var (k, v) in Obj(t, where))
        {
            if (k == "stable_secret") { Str(v, where + "." + k); continue; }
            if (!names.ContainsValue(k)) throw Bad(where, $"unknown setting \"{k}\"");
            Int(v, where + "." + k, int.MinValue, uint.MaxValue);
        }
    }

    public void Clear(Net net, ImportContext ctx) { }

    public void Apply(JsonNode? section, ImportContext ctx)
    {
        if (section == null) return;
        var net = ctx.Net;
        var o = Obj(section, "devconf");
        if (o["ipv4"] is JsonObject v4)
        {
            if (v4["all"] != null) Write4(net.Ipv4.All, v4["all"]);
            if (v4["default"] != null) Write4(net.Ipv4.Default, v4["default"]);
            if (v4["devices"] is JsonObject devs)
                foreach (var (name, t) in devs)
                {
                    var dev = net.GetDevice(name) ?? throw new ApiError(ApiError.ImportFailed, $"devconf.ipv4.devices.{name}: no such device");
                    if (dev.Ip4 != null) Write4(dev.Ip4.Cnf, t);
                }
        }
        if (o["ipv6"] is JsonObject v6)
        {
            if (v6["all"] != null) Write6(net.Ipv6.All, v6["all"]);
            if (v6["default"] != null) Write6(net.Ipv6.Default, v6["default"]);
            if (v6["devices"] is JsonObject devs)
                foreach (var (name, t) in devs)
                {
                    var dev = net.GetDevice(name) ?? throw new ApiError(ApiError.ImportFailed, $"devconf.ipv6.devices.{name}: no such device");
                    if (dev.Ip6 != null) Write6(dev.Ip6.Cnf, t);
                }
        }
    }

    private static void Write4(DevConf c, JsonNode? t)
    {
        foreach (var (i, n) in V4Names)
            if (t![n] is { } v && (int)Int(v, n, int.MinValue, uint.MaxValue) is var x && c[i] != x) c.Set(i, x);
    }

    private static void Write6(DevConf6 c, JsonNode? t)
    {
        foreach (var (i, n) in V6Names)
            if (t![n] is { } v && (int)Int(v, n, int.MinValue, uint.MaxValue) is var x && c[i] != x) c[i] = x;
        if (t!["stable_secret"] is { } s) c.StableSecret = Inet.ParseV6(Str(s, "stable_secret"));
    }
}
