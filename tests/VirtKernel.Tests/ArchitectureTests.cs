using System.Reflection;
using VirtKernel.Model;

namespace VirtKernel.Tests;

/// <summary>The dependency rules of the design: the model never sees wire bytes, the codec never
/// sees the model.</summary>
public class ArchitectureTests
{
    private static IEnumerable<Type> ReferencedTypes(Assembly asm)
    {
        foreach (var t in asm.GetTypes())
        {
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                yield return f.FieldType;
            foreach (var m in t.GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                yield return m.ReturnType;
                foreach (var p in m.GetParameters()) yield return p.ParameterType;
                var body = m.GetMethodBody();
                if (body == null) continue;
                foreach (var l in body.LocalVariables) yield return l.LocalType;
            }
        }
    }

    [Fact]
    public void ModelUsesNoCodecType()
    {
        var codecNamespaces = new[] { "VirtKernel.Protocol.Netlink", "VirtKernel.Protocol.Rtnetlink", "VirtKernel.Protocol.Shim" };
        var offenders = ReferencedTypes(typeof(Kernel).Assembly)
            .Select(t => t.IsByRef || t.IsArray || t.IsPointer ? t.GetElementType()! : t)
            .Where(t => t.Namespace != null && codecNamespaces.Any(ns => t.Namespace.StartsWith(ns)))
            .Select(t => t.FullName).Distinct().ToList();
        Assert.Empty(offenders);
    }

    [Fact]
    public void ProtocolReferencesNothingOfVirtKernel()
    {
        var refs = typeof(VirtKernel.Protocol.Netlink.NlWriter).Assembly.GetReferencedAssemblies()
            .Where(a => a.Name!.StartsWith("VirtKernel")).Select(a => a.Name).ToList();
        Assert.Empty(refs);
    }
}
