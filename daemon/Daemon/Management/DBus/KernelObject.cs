using System.Text.Json;
using System.Text.Json.Nodes;
using Tmds.DBus.Protocol;
using VirtKernel.Model;

namespace VirtKernel.Daemon.Management.DBus;

/// <summary>/org/virtkernel/Kernel1: org.virtkernel.Kernel1 (namespaces, export/import, reset,
/// properties, signals) and org.virtkernel.Faults1 (fault injection). Methods that change state
/// need the right to administer (the daemon's user or root, as for netlink): others get
/// org.freedesktop.DBus.Error.AccessDenied.</summary>
internal sealed class KernelObject(ManagementApi api, DBusService service, Func<Message, ValueTask<uint>> uidOf) : IPathMethodHandler
{
    public const string Interface = "org.virtkernel.Kernel1";
    public const string FaultsInterface = "org.virtkernel.Faults1";

    public string Path => ManagementApi.ObjectPath;
    public bool HandlesChildPaths => false;

    private static readonly ReadOnlyMemory<byte> KernelXml = """
        <interface name="org.virtkernel.Kernel1">
          <method name="ListNamespaces"><arg name="namespaces" direction="out" type="a(suo)"/></method>
          <method name="CreateNamespace"><arg name="name" direction="in" type="s"/><arg name="path" direction="out" type="o"/></method>
          <method name="DeleteNamespace"><arg name="name" direction="in" type="s"/></method>
          <method name="Export"><arg name="namespace" direction="in" type="s"/><arg name="json" direction="out" type="s"/></method>
          <method name="Import"><arg name="namespace" direction="in" type="s"/><arg name="json" direction="in" type="s"/></method>
          <method name="Reset"/>
          <property name="Version" type="s" access="read"/>
          <property name="NamespaceCount" type="u" access="read"/>
          <property name="Statistics" type="a{sv}" access="read"/>
          <signal name="NamespaceAdded"><arg name="name" type="s"/><arg name="id" type="u"/><arg name="path" type="o"/></signal>
          <signal name="NamespaceRemoved"><arg name="name" type="s"/><arg name="id" type="u"/><arg name="path" type="o"/></signal>
          <signal name="Changed"><arg name="namespace" type="s"/><arg name="id" type="u"/><arg name="notifications" type="a{su}"/></signal>
        </interface>
        <interface name="org.virtkernel.Faults1">
          <method name="Add"><arg name="spec" direction="in" type="a{sv}"/><arg name="id" direction="out" type="u"/></method>
          <method name="List"><arg name="faults" direction="out" type="aa{sv}"/></method>
          <method name="Clear"><arg name="id" direction="in" type="u"/><arg name="removed" direction="out" type="u"/></method>
        </interface>

        """u8.ToArray();

    public async ValueTask HandleMethodAsync(MethodContext context)
    {
        if (context.IsDBusIntrospectRequest)
        {
            context.ReplyIntrospectXml([KernelXml, IntrospectionXml.DBusProperties]);
            return;
        }
        var r = context.Request;
        try
        {
            switch (r.InterfaceAsString, r.MemberAsString, r.SignatureAsString ?? "")
            {
                case (Interface, "ListNamespaces", ""):
                {
                    var list = await api.Server.Invoke(api.ListNamespaces).ConfigureAwait(false);
                    using var w = context.CreateReplyWriter("a(suo)");
                    var a = w.WriteArrayStart(DBusType.Struct);
                    foreach (var ns in list)
                    {
                        w.WriteStructureStart();
                        w.WriteString(ns.Name);
                        w.WriteUInt32((uint)ns.Id);
                        w.WriteObjectPath(ns.Path);
                    }
                    w.WriteArrayEnd(a);
                    context.Reply(w.CreateMessage());
                    return;
                }
                case (Interface, "CreateNamespace", "s"):
                {
                    string name = r.GetBodyReader().ReadString();
                    await RequireAdmin(r).ConfigureAwait(false);
                    var ns = await api.Server.Invoke(() => api.CreateNamespace(name)).ConfigureAwait(false);
                    using var w = context.CreateReplyWriter("o");
                    w.WriteObjectPath(ns.Path);
                    context.Reply(w.CreateMessage());
                    return;
                }
                case (Interface, "DeleteNamespace", "s"):
                {
                    string name = r.GetBodyReader().ReadString();
                    await RequireAdmin(r).ConfigureAwait(false);
                    await api.Server.Invoke(() => { api.DeleteNamespace(name); return 0; }).ConfigureAwait(false);
                    ReplyEmpty(context);
                    return;
                }
                case (Interface, "Export", "s"):
                {
                    string ns = r.GetBodyReader().ReadString();
                    string json = await api.Server.Invoke(() => api.Export(ns)).ConfigureAwait(false);
                    using var w = context.CreateReplyWriter("s");
                    w.WriteString(json);
                    context.Reply(w.CreateMessage());
                    return;
                }
                case (Interface, "Import", "ss"):
                {
                    var reader = r.GetBodyReader();
                    string ns = reader.ReadString();
                    string json = reader.ReadString();
                    await RequireAdmin(r).ConfigureAwait(false);
                    await api.Server.Invoke(() => { api.Import(ns, json); return 0; }).ConfigureAwait(false);
                    ReplyEmpty(context);
                    return;
                }
                case (Interface, "Reset", ""):
                    await RequireAdmin(r).ConfigureAwait(false);
                    await api.Server.Invoke(() => { api.Reset(); return 0; }).ConfigureAwait(false);
                    ReplyEmpty(context);
                    return;
                case (FaultsInterface, "Add", "a{sv}"):
                {
                    var spec = ReadFaultSpec(r.GetBodyReader().ReadDictionaryOfStringToVariantValue());
                    await RequireAdmin(r).ConfigureAwait(false);
                    uint id = await api.Server.Invoke(() => api.AddFault(spec)).ConfigureAwait(false);
                    using var w = context.CreateReplyWriter("u");
                    w.WriteUInt32(id);
                    context.Reply(w.CreateMessage());
                    return;
                }
                case (FaultsInterface, "List", ""):
                {
                    var list = await api.Server.Invoke(api.ListFaults).ConfigureAwait(false);
                    using var w = context.CreateReplyWriter("aa{sv}");
                    var a = w.WriteArrayStart(DBusType.Array);
                    foreach (var f in list) WriteJsonDict(ref Unsafe(w), f);
                    w.WriteArrayEnd(a);
                    context.Reply(w.CreateMessage());
                    return;
                }
                case (FaultsInterface, "Clear", "u"):
                {
                    uint id = r.GetBodyReader().ReadUInt32();
                    await RequireAdmin(r).ConfigureAwait(false);
                    uint n = await api.Server.Invoke(() => api.ClearFaults(id)).ConfigureAwait(false);
                    using var w = context.CreateReplyWriter("u");
                    w.WriteUInt32(n);
                    context.Reply(w.CreateMessage());
                    return;
                }
                case ("org.freedesktop.DBus.Properties", "Get", "ss"):
                {
                    var reader = r.GetBodyReader();
                    string iface = reader.ReadString(), prop = reader.ReadString();
                    var props = await Properties(iface).ConfigureAwait(false);
                    if (props?[prop] is not { } value)
                    {
                        context.ReplyError("org.freedesktop.DBus.Error.UnknownProperty", $"no property {prop} on {iface}");
                        return;
                    }
                    using var w = context.CreateReplyWriter("v");
                    WriteVariant(ref Unsafe(w), value);
                    context.Reply(w.CreateMessage());
                    return;
                }
                case ("org.freedesktop.DBus.Properties", "GetAll", "s"):
                {
                    string iface = r.GetBodyReader().ReadString();
                    var props = await Properties(iface).ConfigureAwait(false) ?? new JsonObject();
                    using var w = context.CreateReplyWriter("a{sv}");
                    WriteJsonDict(ref Unsafe(w), props);
                    context.Reply(w.CreateMessage());
                    return;
                }
                case ("org.freedesktop.DBus.Properties", "Set", _):
                    context.ReplyError("org.freedesktop.DBus.Error.PropertyReadOnly", "the properties of this object are read-only");
                    return;
            }
        }
        catch (ApiError e)
        {
            context.ReplyError(e.Name, e.Message);
        }
    }

    private static ref MessageWriter Unsafe(in MessageWriter w) => ref System.Runtime.CompilerServices.Unsafe.AsRef(in w);

    private async ValueTask RequireAdmin(Message request)
    {
        uint uid = await uidOf(request).ConfigureAwait(false);
        if (!api.Server.Engine.IsPrivileged(uid))
            throw new ApiError(ApiError.AccessDenied, $"uid {uid} may not administer this kernel (only uid {api.Server.Engine.DaemonUid} and root may)");
    }

    private async Task<JsonObject?> Properties(string iface)
    {
        if (iface != Interface) return null;
        var (requests, errors, notifications, clients, sockets, faults, count) = await api.Server.Invoke(() =>
        {
            var (rq, er, nt) = api.Hooks.Snapshot();
            return (rq, er, nt, api.Server.ConnectionCount, api.Server.Engine.SocketCount, api.Hooks.Faults.Count,
                api.Kernel.Nets.Count(n => !n.Dying && !api.State.ScratchIds.Contains(n.Id)));
        }).ConfigureAwait(false);
        JsonObject Named(Dictionary<int, ulong> d, Func<int, string> name)
        {
            var o = new JsonObject();
            foreach (var (k, v) in d.OrderBy(kv => kv.Key)) o[name(k)] = v;
            return o;
        }
        return new JsonObject
        {
            ["Version"] = ManagementApi.Version,
            ["NamespaceCount"] = (uint)count,
            ["Statistics"] = new JsonObject
            {
                ["requests"] = Named(requests, MessageNames.TypeName),
                ["errors"] = Named(errors, MessageNames.ErrnoName),
                ["notifications"] = Named(notifications, MessageNames.TypeName),
                ["clients"] = (uint)clients,
                ["netlink_sockets"] = (uint)sockets,
                ["dbus_clients"] = (uint)service.ClientCount,
                ["faults"] = (uint)faults,
            },
        };
    }

    private static void ReplyEmpty(MethodContext context)
    {
        using var w = context.CreateReplyWriter(null);
        context.Reply(w.CreateMessage());
    }

    // ---- JSON values as D-Bus values ---------------------------------------------------------------

    /// <summary>An object as a{sv}: strings s, booleans b, integers u/i/t/x by range, other numbers d,
    /// objects of numbers a{st}, other objects a{sv}.</summary>
    internal static void WriteJsonDict(ref MessageWriter w, JsonObject o)
    {
        var d = w.WriteDictionaryStart();
        foreach (var (k, v) in o)
        {
            if (v is null) continue;
            w.WriteDictionaryEntryStart();
            w.WriteString(k);
            WriteVariant(ref w, v);
        }
        w.WriteDictionaryEnd(d);
    }

    internal static void WriteVariant(ref MessageWriter w, JsonNode v)
    {
        switch (v)
        {
            case JsonObject o when o.All(kv => kv.Value is JsonValue jv && jv.GetValueKind() == JsonValueKind.Number):
            {
                w.WriteSignature("a{st}");
                var d = w.WriteDictionaryStart();
                foreach (var (k, x) in o)
                {
                    w.WriteDictionaryEntryStart();
                    w.WriteString(k);
                    w.WriteUInt64(x!.GetValue<ulong>());
                }
                w.WriteDictionaryEnd(d);
                return;
            }
            case JsonObject o:
                w.WriteSignature("a{sv}");
                WriteJsonDict(ref w, o);
                return;
            case JsonValue jv when jv.GetValueKind() == JsonValueKind.String:
                w.WriteVariantString(jv.GetValue<string>());
                return;
            case JsonValue jv when jv.GetValueKind() is JsonValueKind.True or JsonValueKind.False:
                w.WriteVariantBool(jv.GetValue<bool>());
                return;
            case JsonValue jv when jv.TryGetValue<uint>(out var u):
                w.WriteVariantUInt32(u);
                return;
            case JsonValue jv when jv.TryGetValue<int>(out var i):
                w.WriteVariantInt32(i);
                return;
            case JsonValue jv when jv.TryGetValue<ulong>(out var t):
                w.WriteVariantUInt64(t);
                return;
            case JsonValue jv when jv.TryGetValue<long>(out var x):
                w.WriteVariantInt64(x);
                return;
            case JsonValue jv when jv.TryGetValue<double>(out var dd):
                w.WriteVariantDouble(dd);
                return;
            default:
                w.WriteVariantString(v.ToJsonString());
                return;
        }
    }

    private static FaultSpec ReadFaultSpec(Dictionary<string, VariantValue> d)
    {
        var s = new FaultSpec();
        foreach (var (k, v) in d)
        {
            switch (k)
            {
                case "action": s.Action = AsString(v, k); break;
                case "namespace" or "netns": s.Namespace = AsString(v, k); break;
                case "type": s.Type = AsString(v, k); break;
                case "errno": s.Errno = AsString(v, k); break;
                case "extack" or "message": s.Extack = AsString(v, k); break;
                case "nth": s.Nth = AsU64(v, k); break;
                case "every": s.Every = v.Type == VariantValueType.Bool ? v.GetBool() : AsU64(v, k) != 0; break;
                case "probability": s.Probability = v.Type == VariantValueType.Double ? v.GetDouble() : double.TryParse(AsString(v, k), System.Globalization.CultureInfo.InvariantCulture, out var p) ? p : throw BadArg(k); break;
                case "seed": s.Seed = AsU64(v, k); break;
                case "delay_ms" or "delay": s.DelayMs = (int)Math.Min(AsU64(v, k), int.MaxValue); break;
                case "limit" or "count": s.Limit = AsU64(v, k); break;
                default: throw new ApiError(ApiError.InvalidArgs, $"unknown fault key \"{k}\" (action, namespace, type, errno, extack, nth, every, probability, seed, delay_ms, limit)");
            }
        }
        return s;
    }

    private static ApiError BadArg(string k) => new(ApiError.InvalidArgs, $"invalid value for \"{k}\"");

    private static string AsString(VariantValue v, string k) => v.Type switch
    {
        VariantValueType.String => v.GetString(),
        VariantValueType.Int32 => v.GetInt32().ToString(),
        VariantValueType.UInt32 => v.GetUInt32().ToString(),
        VariantValueType.Int64 => v.GetInt64().ToString(),
        VariantValueType.UInt64 => v.GetUInt64().ToString(),
        VariantValueType.Int16 => v.GetInt16().ToString(),
        VariantValueType.UInt16 => v.GetUInt16().ToString(),
        VariantValueType.Byte => v.GetByte().ToString(),
        _ => throw BadArg(k),
    };

    private static ulong AsU64(VariantValue v, string k) => v.Type switch
    {
        VariantValueType.Byte => v.GetByte(),
        VariantValueType.UInt16 => v.GetUInt16(),
        VariantValueType.UInt32 => v.GetUInt32(),
        VariantValueType.UInt64 => v.GetUInt64(),
        VariantValueType.Int16 when v.GetInt16() >= 0 => (ulong)v.GetInt16(),
        VariantValueType.Int32 when v.GetInt32() >= 0 => (ulong)v.GetInt32(),
        VariantValueType.Int64 when v.GetInt64() >= 0 => (ulong)v.GetInt64(),
        VariantValueType.String when ulong.TryParse(v.GetString(), out var x) => x,
        _ => throw BadArg(k),
    };
}

/// <summary>/org/virtkernel/Kernel1/ns/ID: one object per namespace with its properties
/// (org.virtkernel.Namespace1: Id, Name, Devices, Addresses, Sockets).</summary>
internal sealed class NamespaceObjects(ManagementApi api, Func<Message, ValueTask<uint>> uidOf) : IPathMethodHandler
{
    public const string Interface = "org.virtkernel.Namespace1";
    public string Path => "/org/virtkernel/Kernel1/ns";
    public bool HandlesChildPaths => true;

    private static readonly ReadOnlyMemory<byte> Xml = """
        <interface name="org.virtkernel.Namespace1">
          <method name="Export"><arg name="json" direction="out" type="s"/></method>
          <method name="Import"><arg name="json" direction="in" type="s"/></method>
          <property name="Id" type="u" access="read"/>
          <property name="Name" type="s" access="read"/>
          <property name="Devices" type="u" access="read"/>
          <property name="Addresses" type="u" access="read"/>
          <property name="Sockets" type="u" access="read"/>
        </interface>

        """u8.ToArray();

    public async ValueTask HandleMethodAsync(MethodContext context)
    {
        var r = context.Request;
        string path = r.PathAsString ?? "";
        string rest = path.Length > Path.Length ? path[(Path.Length + 1)..] : "";
        if (context.IsDBusIntrospectRequest)
        {
            if (rest.Length == 0)
            {
                var ids = await api.Server.Invoke(() => api.ListNamespaces().Select(n => n.Id.ToString()).ToList()).ConfigureAwait(false);
                context.ReplyIntrospectXml([], ids);
            }
            else context.ReplyIntrospectXml([Xml]);
            return;
        }
        if (!int.TryParse(rest, out int id) || rest.Contains('/')) return;
        try
        {
            switch (r.InterfaceAsString, r.MemberAsString, r.SignatureAsString ?? "")
            {
                case ("org.freedesktop.DBus.Properties", "Get", "ss"):
                {
                    var reader = r.GetBodyReader();
                    string iface = reader.ReadString(), prop = reader.ReadString();
                    var props = iface == Interface ? await Props(id).ConfigureAwait(false) : null;
                    if (props == null || props[prop] is not { } v)
                    {
                        context.ReplyError("org.freedesktop.DBus.Error.UnknownProperty", $"no property {prop} on {iface}");
                        return;
                    }
                    using var w = context.CreateReplyWriter("v");
                    KernelObject.WriteVariant(ref System.Runtime.CompilerServices.Unsafe.AsRef(in w), v);
                    context.Reply(w.CreateMessage());
                    return;
                }
                case ("org.freedesktop.DBus.Properties", "GetAll", "s"):
                {
                    string iface = r.GetBodyReader().ReadString();
                    var props = iface == Interface ? await Props(id).ConfigureAwait(false) : new JsonObject();
                    using var w = context.CreateReplyWriter("a{sv}");
                    KernelObject.WriteJsonDict(ref System.Runtime.CompilerServices.Unsafe.AsRef(in w), props);
                    context.Reply(w.CreateMessage());
                    return;
                }
                case (Interface, "Export", ""):
                {
                    string json = await api.Server.Invoke(() => api.Export("#" + id)).ConfigureAwait(false);
                    using var w = context.CreateReplyWriter("s");
                    w.WriteString(json);
                    context.Reply(w.CreateMessage());
                    return;
                }
                case (Interface, "Import", "s"):
                {
                    string json = r.GetBodyReader().ReadString();
                    uint uid = await uidOf(r).ConfigureAwait(false);
                    if (!api.Server.Engine.IsPrivileged(uid))
                        throw new ApiError(ApiError.AccessDenied, $"uid {uid} may not administer this kernel");
                    await api.Server.Invoke(() => { api.Import("#" + id, json); return 0; }).ConfigureAwait(false);
                    using var w = context.CreateReplyWriter(null);
                    context.Reply(w.CreateMessage());
                    return;
                }
            }
        }
        catch (ApiError e)
        {
            context.ReplyError(e.Name, e.Message);
        }
    }

    private Task<JsonObject> Props(int id) => api.Server.Invoke(() =>
        api.Kernel.GetNet(id) is { Dying: false } net && !api.State.ScratchIds.Contains(id)
            ? api.NamespaceProperties(net)
            : throw new ApiError("org.freedesktop.DBus.Error.UnknownObject", $"no namespace {id}"));
}
