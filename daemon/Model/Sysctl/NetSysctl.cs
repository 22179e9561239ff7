namespace VirtKernel.Model.Sysctl;

/// <summary>The /proc/sys/net tree of one namespace: the namespace-wide tables, conf/all and
/// conf/default, and the directories that devinet, addrconf and the neighbour tables register for
/// each device (register_net_sysctl / unregister_net_sysctl_table). The tree is built the first time
/// somebody looks, since most namespaces are never looked at: devices registered before that get
/// their directories then. The values live in the model: the
/// namespace's <see cref="Values"/>, the DevConf/DevConf6 objects, the NeighParms.</summary>
public sealed class NetSysctl
{
    private readonly CtlDir _root = new("net");
    private bool _built;

    internal NetSysctl(Net net)
    {
        Net = net;
        Values = net.IsInit ? NetTables.Template(true).Copy() : net.Kernel.NewNetSysctlValues();
    }

    public Net Net { get; }
    public NetSysctlValues Values { get; }

    /// <summary>Has somebody looked at the tree yet (see <see cref="Root"/>)?</summary>
    internal bool Built => _built;

    /// <summary>The "net" directory (what /proc/sys/net shows).</summary>
    public CtlDir Root
    {
        get
        {
            if (!_built) Build();
            return _root;
        }
    }

    /// <summary>The entry at net/<paramref name="path"/>, or null.</summary>
    public CtlFile? File(string path) => Root.Find(path) as CtlFile;

    private void Build()
    {
        _built = true;
        foreach (var d in NetTables.Defs)
        {
            if (d.InitOnly && !Net.IsInit) continue;
            var values = d.Global ? Net.Kernel.HostSysctl : Values;
            var f = d.Bind != null ? d.Bind(Net, d) : NetTables.Make(d, values, Net);
            int slash = d.Path.LastIndexOf('/');
            var dir = slash < 0 ? _root : Walk(d.Path[..slash]);
            dir.Add(f);
        }
        Net.Ipv4.DevinetSysctlRegisterAllDefault(this);
        Net.Ipv6.AddrconfSysctlRegisterAllDefault(this);
        // the directories devinet and addrconf registered for the devices present
        foreach (var dev in Net.Devices)
        {
            if (dev.Ip4 is { } inDev) Net.Ipv4.DevinetSysctlRegisterDirs(inDev);
            if (dev.Ip6 is { } idev) Net.Ipv6.AddrconfSysctlRegisterDirs(idev);
        }
        if (Net.IsInit)
        {
            Register("ipv4/neigh", "default", NeighSysctl.Files(Net, Net.Kernel.ArpTblParms, null, ipv6: false));
            Register("ipv6/neigh", "default", NeighSysctl.Files(Net, Net.Kernel.NdTblParms, null, ipv6: true));
        }
    }

    private CtlDir Walk(string path)
    {
        var d = _root;
        foreach (var part in path.Split('/')) d = d.Dir(part);
        return d;
    }

    /// <summary>register_net_sysctl_sz: a directory <paramref name="name"/> under
    /// <paramref name="parent"/> holding <paramref name="files"/>; it replaces nothing (a name
    /// registered twice keeps the newest).</summary>
    internal CtlDir Register(string parent, string name, IEnumerable<CtlFile> files)
    {
        var dir = new CtlDir(name);
        dir.AddLazy(files);
        Walk(parent).Add(dir);
        return dir;
    }

    /// <summary>unregister_net_sysctl_table: the directory and everything in it are gone.</summary>
    internal static void Unregister(CtlDir? dir)
    {
        if (dir?.Parent is { } p) p.Remove(dir);
        else if (dir != null) dir.Registered = false;
    }
}
