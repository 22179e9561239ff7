using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tmds.DBus.Protocol;
using VirtKernel.Daemon.Management;

namespace VirtKernel.Daemon.Cli;

/// <summary>`vk ns`, `vk export`, `vk import`, `vk fault`, `vk stats`, `vk reset`: thin clients of the
/// D-Bus management API (org.virtkernel.Kernel1 / Faults1) of a running daemon.</summary>
public static class ManageCommands
{
    private const string Dest = "org.virtkernel.Kernel1";
    private const string Obj = "/org/virtkernel/Kernel1";
    private const string Kernel1 = "org.virtkernel.Kernel1";
    private const string Faults1 = "org.virtkernel.Faults1";

    public static IEnumerable<Command> Commands(Option<string?> socketOpt)
    {
        var dbusOpt = new Option<string?>("--dbus") { Description = "the API's D-Bus address, or session/system (default: the daemon's own socket, SOCKET.bus)" };
        var netnsOpt = new Option<string>("--netns", "-n") { Description = "namespace name (default: the initial namespace)", DefaultValueFactory = _ => "" };

        string Address(ParseResult r)
        {
            var d = r.GetValue(dbusOpt);
            if (d == "session") return DBusAddress.Session ?? throw new InvalidOperationException("DBUS_SESSION_BUS_ADDRESS is not set");
            if (d == "system") return DBusAddress.System ?? "unix:path=/var/run/dbus/system_bus_socket";
            if (!string.IsNullOrEmpty(d)) return d;
            return "unix:path=" + ManagementHost.BusSocketPath(Paths.Resolve(r.GetValue(socketOpt)));
        }

        var nsList = new Command("list", "list the namespaces (id and name; the initial one has no name)");
        nsList.SetAction(r => Run(Address(r), async c =>
        {
            var list = await c.CallMethodAsync(Call(c, Kernel1, "ListNamespaces", null, default), static (m, _) =>
            {
                var rd = m.GetBodyReader();
                var res = new List<(string, uint)>();
                var end = rd.ReadArrayStart(DBusType.Struct);
                while (rd.HasNext(end))
                {
                    rd.AlignStruct();
                    string n = rd.ReadString();
                    uint id = rd.ReadUInt32();
                    rd.ReadObjectPath();
                    res.Add((n, id));
                }
                return res;
            });
            foreach (var (n, id) in list) Console.WriteLine(n.Length == 0 ? $"{id}\t(initial)" : $"{id}\t{n}");
            return 0;
        }));
        var nameArg = new Argument<string>("name");
        var nsAdd = new Command("add", "create a namespace with a name (as ip netns add)") { nameArg };
        nsAdd.SetAction(r => Run(Address(r), async c =>
        {
            await c.CallMethodAsync(Call(c, Kernel1, "CreateNamespace", "s", (ref MessageWriter w) => w.WriteString(r.GetValue(nameArg)!)));
            return 0;
        }));
        var nsDel = new Command("del", "delete a namespace's name (as ip netns del)") { nameArg };
        nsDel.SetAction(r => Run(Address(r), async c =>
        {
            await c.CallMethodAsync(Call(c, Kernel1, "DeleteNamespace", "s", (ref MessageWriter w) => w.WriteString(r.GetValue(nameArg)!)));
            return 0;
        }));
        var ns = new Command("ns", "namespaces") { nsList, nsAdd, nsDel };

        var export = new Command("export", "print a namespace's state as JSON") { netnsOpt };
        export.SetAction(r => Run(Address(r), async c =>
        {
            var json = await c.CallMethodAsync(Call(c, Kernel1, "Export", "s", (ref MessageWriter w) => w.WriteString(r.GetValue(netnsOpt)!)),
                static (m, _) => m.GetBodyReader().ReadString());
            Console.WriteLine(json);
            return 0;
        }));

        var fileArg = new Argument<string>("file") { Description = "a document written by vk export (- for standard input)" };
        var import = new Command("import", "replace a namespace's state with a document, atomically") { fileArg, netnsOpt };
        import.SetAction(r => Run(Address(r), async c =>
        {
            string f = r.GetValue(fileArg)!;
            string json = f == "-" ? await Console.In.ReadToEndAsync() : await File.ReadAllTextAsync(f);
            await c.CallMethodAsync(Call(c, Kernel1, "Import", "ss", (ref MessageWriter w) =>
            {
                w.WriteString(r.GetValue(netnsOpt)!);
                w.WriteString(json);
            }));
            return 0;
        }));

        var reset = new Command("reset", "let every named namespace go and bring the initial one back to its boot state");
        reset.SetAction(r => Run(Address(r), async c =>
        {
            await c.CallMethodAsync(Call(c, Kernel1, "Reset", null, default));
            return 0;
        }));

        var stats = new Command("stats", "requests by message type, errors by errno, notifications, clients");
        stats.SetAction(r => Run(Address(r), async c =>
        {
            var text = await c.CallMethodAsync(Call(c, "org.freedesktop.DBus.Properties", "Get", "ss", (ref MessageWriter w) =>
            {
                w.WriteString(Kernel1);
                w.WriteString("Statistics");
            }), static (m, _) => Format(m.GetBodyReader().ReadVariantValue(), ""));
            Console.Write(text);
            return 0;
        }));

        var actionOpt = new Option<string>("--action") { Description = "error (default), dump-intr, enobufs or delay", DefaultValueFactory = _ => "error" };
        var typeOpt = new Option<string?>("--type") { Description = "message type (RTM_NEWLINK, NEWLINK, or a number; default: any)" };
        var errnoOpt = new Option<string?>("--errno") { Description = "errno of an error fault (EINTR, 4, ...; default EIO)" };
        var extackOpt = new Option<string?>("--extack") { Description = "extack message of an error fault" };
        var nthOpt = new Option<ulong?>("--nth") { Description = "fire on the Nth matching message only" };
        var everyOpt = new Option<bool>("--every") { Description = "with --nth: on every Nth" };
        var probOpt = new Option<double?>("--probability") { Description = "fire on this fraction of matches (0..1), drawn from --seed" };
        var seedOpt = new Option<ulong?>("--seed") { Description = "seed of --probability" };
        var delayOpt = new Option<int?>("--delay-ms") { Description = "delay of a delay fault" };
        var limitOpt = new Option<ulong?>("--limit") { Description = "fire at most this many times" };
        var faultNs = new Option<string>("--netns", "-n") { Description = "namespace name (\"\" the initial one; default: any)", DefaultValueFactory = _ => "*" };
        var fAdd = new Command("add", "inject a fault") { actionOpt, typeOpt, errnoOpt, extackOpt, nthOpt, everyOpt, probOpt, seedOpt, delayOpt, limitOpt, faultNs };
        fAdd.SetAction(r => Run(Address(r), async c =>
        {
            var spec = new Dictionary<string, VariantValue>
            {
                ["action"] = r.GetValue(actionOpt)!,
                ["namespace"] = r.GetValue(faultNs)!,
            };
            if (r.GetValue(typeOpt) is { } t) spec["type"] = t;
            if (r.GetValue(errnoOpt) is { } e) spec["errno"] = e;
            if (r.GetValue(extackOpt) is { } x) spec["extack"] = x;
            if (r.GetValue(nthOpt) is { } n) spec["nth"] = n;
            if (r.GetValue(everyOpt)) spec["every"] = true;
            if (r.GetValue(probOpt) is { } p) spec["probability"] = p;
            if (r.GetValue(seedOpt) is { } s) spec["seed"] = s;
            if (r.GetValue(delayOpt) is { } d) spec["delay_ms"] = (uint)d;
            if (r.GetValue(limitOpt) is { } l) spec["limit"] = l;
            uint id = await c.CallMethodAsync(Call(c, Faults1, "Add", "a{sv}", (ref MessageWriter w) => w.WriteDictionary(spec)),
                static (m, _) => m.GetBodyReader().ReadUInt32());
            Console.WriteLine(id);
            return 0;
        }));
        var fList = new Command("list", "list the faults in force (JSON)");
        fList.SetAction(r => Run(Address(r), async c =>
        {
            var text = await c.CallMethodAsync(Call(c, Faults1, "List", null, default), static (m, _) =>
            {
                var rd = m.GetBodyReader();
                var arr = new JsonArray();
                var end = rd.ReadArrayStart(DBusType.Array);
                while (rd.HasNext(end))
                {
                    var o = new JsonObject();
                    foreach (var (k, v) in rd.ReadDictionaryOfStringToVariantValue()) o[k] = ToJson(v);
                    arr.Add(o);
                }
                return arr.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
            });
            Console.WriteLine(text);
            return 0;
        }));
        var idArg = new Argument<uint>("id") { Description = "the fault to remove (0 or none: all)", DefaultValueFactory = _ => 0 };
        var fClear = new Command("clear", "remove a fault, or all") { idArg };
        fClear.SetAction(r => Run(Address(r), async c =>
        {
            uint n = await c.CallMethodAsync(Call(c, Faults1, "Clear", "u", (ref MessageWriter w) => w.WriteUInt32(r.GetValue(idArg))),
                static (m, _) => m.GetBodyReader().ReadUInt32());
            Console.WriteLine($"{n} removed");
            return 0;
        }));
        var fault = new Command("fault", "fault injection") { fAdd, fList, fClear };

        foreach (var c in new[] { ns, export, import, reset, stats, fault })
        {
            c.Options.Add(socketOpt);
            c.Options.Add(dbusOpt);
            foreach (var sub in c.Subcommands)
            {
                sub.Options.Add(socketOpt);
                sub.Options.Add(dbusOpt);
            }
            yield return c;
        }
    }

    private delegate void Body(ref MessageWriter w);

    private static MessageBuffer Call(DBusConnection c, string iface, string member, string? sig, Body? body)
    {
        using var w = c.GetMessageWriter();
        w.WriteMethodCallHeader(Dest, Obj, iface, member, sig);
        body?.Invoke(ref System.Runtime.CompilerServices.Unsafe.AsRef(in w));
        return w.CreateMessage();
    }

    private static int Run(string address, Func<DBusConnection, Task<int>> work)
    {
        try
        {
            using var c = new DBusConnection(address);
            c.ConnectAsync().AsTask().GetAwaiter().GetResult();
            return work(c).GetAwaiter().GetResult();
        }
        catch (DBusErrorReplyException e)
        {
            Console.Error.WriteLine($"vk: {e.ErrorMessage} ({e.ErrorName})");
            return 1;
        }
        catch (DBusConnectFailedException e)
        {
            Console.Error.WriteLine($"vk: cannot reach the management API at {address}: {e.Message}");
            return 2;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"vk: {e.Message}");
            return 2;
        }
    }

    private static string Format(VariantValue v, string indent)
    {
        var sb = new System.Text.StringBuilder();
        if (v.Type == VariantValueType.Dictionary)
        {
            for (int i = 0; i < v.Count; i++)
            {
                var (k, x) = v.GetDictionaryEntry(i);
                var key = k.Type == VariantValueType.String ? k.GetString() : k.ToString();
                var inner = x.Type == VariantValueType.Variant ? x.GetVariantValue() : x;
                if (inner.Type == VariantValueType.Dictionary)
                {
                    sb.Append(indent).Append(key).Append(":\n");
                    sb.Append(Format(inner, indent + "  "));
                }
                else sb.Append(indent).Append(key).Append(' ').Append(Scalar(inner)).Append('\n');
            }
        }
        else sb.Append(indent).Append(Scalar(v)).Append('\n');
        return sb.ToString();
    }

    private static string Scalar(VariantValue v) => v.Type switch
    {
        VariantValueType.String => v.GetString(),
        VariantValueType.Variant => Scalar(v.GetVariantValue()),
        VariantValueType.Bool => v.GetBool() ? "true" : "false",
        VariantValueType.Byte => v.GetByte().ToString(),
        VariantValueType.UInt16 => v.GetUInt16().ToString(),
        VariantValueType.Int16 => v.GetInt16().ToString(),
        VariantValueType.UInt32 => v.GetUInt32().ToString(),
        VariantValueType.Int32 => v.GetInt32().ToString(),
        VariantValueType.UInt64 => v.GetUInt64().ToString(),
        VariantValueType.Int64 => v.GetInt64().ToString(),
        VariantValueType.Double => v.GetDouble().ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => v.ToString(),
    };

    private static JsonNode? ToJson(VariantValue v) => v.Type switch
    {
        VariantValueType.Variant => ToJson(v.GetVariantValue()),
        VariantValueType.String => v.GetString(),
        VariantValueType.Bool => v.GetBool(),
        VariantValueType.Byte => v.GetByte(),
        VariantValueType.Int16 => v.GetInt16(),
        VariantValueType.UInt16 => v.GetUInt16(),
        VariantValueType.Int32 => v.GetInt32(),
        VariantValueType.UInt32 => v.GetUInt32(),
        VariantValueType.Int64 => v.GetInt64(),
        VariantValueType.UInt64 => v.GetUInt64(),
        VariantValueType.Double => v.GetDouble(),
        _ => v.ToString(),
    };
}
