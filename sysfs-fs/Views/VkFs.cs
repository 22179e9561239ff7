using System.Runtime.CompilerServices;
using System.Text;
using VirtKernel.Model;
using VirtKernel.Model.Sysctl;
using VirtKernel.Protocol;
using VirtKernel.SysfsFs.Fuse;

namespace VirtKernel.SysfsFs.Views;

/// <summary>The tree one daemon serves: ns/ID/ for every live namespace (ID = the daemon's namespace
/// id, as in the state directory's ns/ID handles), each holding the views a process in that
/// namespace sees at the kernel's paths:
/// <code>
///   ns/ID/proc/sys/net              /proc/sys/net
///   ns/ID/proc/net                  /proc/net (and /proc/self/net)
///   ns/ID/sys/class/net             /sys/class/net (symbolic links to ../../devices/virtual/net/DEV)
///   ns/ID/sys/devices/virtual/net   /sys/devices/virtual/net
/// </code>
/// so that a path of the kernel maps to ns/&lt;current namespace&gt;/&lt;same path&gt;. Nodes read the model
/// as it is when asked; the caller holds the kernel lock around every request.</summary>
public sealed class VkFs : FsDir
{
    private readonly StaticDir _ns;

    public VkFs(Kernel kernel)
    {
        Kernel = kernel;
        _ns = new NsRoot(this);
    }

    public Kernel Kernel { get; }

    public override FsNode? Lookup(string name) => name == "ns" ? _ns : null;
    public override IEnumerable<KeyValuePair<string, FsNode>> List() => [new("ns", _ns)];

    private readonly ConditionalWeakTable<Net, NsDir> _nsDirs = new();

    internal NsDir NsDirOf(Net net) => _nsDirs.GetValue(net, n => new NsDir(this, n));

    /// <summary>ns/: one directory per live namespace, by id.</summary>
    private sealed class NsRoot(VkFs fs) : StaticDir
    {
        public override FsNode? Lookup(string name)
        {
            if (!int.TryParse(name, out int id) || id.ToString() != name) return null;
            var net = fs.Kernel.GetNet(id);
            return net == null || net.Dying ? null : fs.NsDirOf(net);
        }

        public override IEnumerable<KeyValuePair<string, FsNode>> List() =>
            fs.Kernel.Nets.Where(n => !n.Dying).OrderBy(n => n.Id)
                .Select(n => new KeyValuePair<string, FsNode>(n.Id.ToString(), fs.NsDirOf(n))).ToList();
    }
}

/// <summary>ns/ID: the views of one namespace.</summary>
public sealed class NsDir : StaticDir
{
    private readonly ConditionalWeakTable<CtlNode, FsNode> _ctl = new();

    internal NsDir(VkFs fs, Net net)
    {
        Fs = fs;
        Net = net;
        var proc = new ScopedDir(this);
        proc.Add("net", new ProcNetDir(this));
        proc.Add("sys", new ScopedDir(this).Add("net", Wrap(net.Sysctl.Root)));
        var sys = new ScopedDir(this, 0x1ed);
        var devicesNet = new DevicesNetDir(this);
        sys.Add("class", new ScopedDir(this, 0x1ed).Add("net", new ClassNetDir(this)));
        sys.Add("devices", new ScopedDir(this, 0x1ed).Add("virtual", new ScopedDir(this, 0x1ed).Add("net", devicesNet)));
        Add("proc", proc);
        Add("sys", sys);
        DevicesNet = devicesNet;
    }

    public VkFs Fs { get; }
    public Net Net { get; }
    internal DevicesNetDir DevicesNet { get; }

    /// <summary>The namespace still exists (its views vanish with it).</summary>
    public override bool Alive => !Net.Dying && Fs.Kernel.GetNet(Net.Id) == Net;

    /// <summary>The namespace can go away: stat() asks every time.</summary>
    public override double AttrTimeout => 0;

    /// <summary>The node standing for a sysctl directory or entry (one per object).</summary>
    internal FsNode Wrap(CtlNode n) => _ctl.GetValue(n, c => c is CtlDir d ? new SysctlDirNode(this, d) : new SysctlFileNode(this, (CtlFile)c));
}

/// <summary>A fixed directory that lives as long as its namespace.</summary>
public class ScopedDir(NsDir ns, uint mode = 0x16d) : StaticDir(mode)
{
    protected NsDir Ns { get; } = ns;
    public override bool Alive => Ns.Alive;
    public new ScopedDir Add(string name, FsNode node)
    {
        base.Add(name, node);
        return this;
    }
}

/// <summary>A directory of /proc/sys/net (struct ctl_dir).</summary>
internal sealed class SysctlDirNode(NsDir ns, CtlDir dir) : FsDir
{
    public override bool Alive => dir.Registered && ns.Alive;

    /// <summary>A device's directory (conf/DEV, neigh/DEV) can go: stat() asks every time.</summary>
    public override double AttrTimeout => IsDeviceDir(dir) ? 0 : 3600;

    /// <summary>The name of a device's directory can come back as another directory (the device
    /// renamed, moved, or its inet6_dev rebuilt after an MTU below 1280): the kernel must look the
    /// name up again each time rather than keep the old inode behind it.</summary>
    public override double EntryTimeout => IsDeviceDir(dir) ? 0 : 3600;

    internal static bool IsDeviceDir(CtlDir? d) => d?.Parent?.Name is "conf" or "neigh";

    /// <summary>proc_sys has no create: a new name gives ENOENT.</summary>
    public override int CreateErrno => Errno.ENOENT;

    public override FsNode? Lookup(string name) => dir[name] is { } c ? ns.Wrap(c) : null;

    public override IEnumerable<KeyValuePair<string, FsNode>> List() =>
        dir.Children.Select(c => new KeyValuePair<string, FsNode>(c.Name, ns.Wrap(c))).ToList();
}

/// <summary>An entry of /proc/sys/net: its text read through its handler, writes passed with their
/// file position.</summary>
internal sealed class SysctlFileNode(NsDir ns, CtlFile file) : FsFile
{
    public override bool Alive => file.Registered && ns.Alive;
    public override uint Mode => file.Mode;
    public override double AttrTimeout => SysctlDirNode.IsDeviceDir(file.Parent) ? 0 : 3600;
    public override double EntryTimeout => SysctlDirNode.IsDeviceDir(file.Parent) ? 0 : 3600;

    /// <summary>A sysctl's value is the model's, whatever the time.</summary>
    public override bool Cacheable => true;

    public override int Read(FsCaller caller, out byte[] content)
    {
        int err = file.Read(out var text);
        content = err < 0 ? [] : Encoding.UTF8.GetBytes(text);
        return err;
    }

    public override int Write(FsCaller caller, long offset, ReadOnlySpan<byte> data) => file.Write(data, offset);
}
