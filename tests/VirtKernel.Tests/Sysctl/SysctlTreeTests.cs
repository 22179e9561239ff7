using VirtKernel.Model;
using VirtKernel.Tests.Model;

namespace VirtKernel.Tests.Sysctl;

/// <summary>A fresh namespace's /proc/sys/net, and the same after `ip link add v0 type veth peer
/// name v1` (addrgenmode none on both), equal the kernel's snapshots: file set, modes and values
/// (values of host-dependent entries aside).</summary>
public class SysctlTreeTests
{
    private static Net FreshChild(out Kernel k)
    {
        k = ModelHelpers.NewKernel(out _);
        return k.CreateNet();
    }

    [Fact]
    public void FreshNamespaceEqualsKernelSnapshot()
    {
        var net = FreshChild(out _);
        var expected = SysctlSnapshot.Load(1);
        Assert.Equal(584, expected.Count);
        var diff = SysctlSnapshot.Compare(expected, net);
        Assert.True(diff.Length == 0, diff);
    }

    [Fact]
    public void RootNamespaceIsAFreshOneByDefault()
    {
        var k = ModelHelpers.NewKernel(out _);
        var diff = SysctlSnapshot.Compare(SysctlSnapshot.Load(1), k.InitNet);
        Assert.True(diff.Length == 0, diff);
    }

    [Fact]
    public void AnInitialNamespaceHasItsExtraEntries()
    {
        var k = new Kernel(new KernelOptions { Clock = new ManualClock(), RootIsInitNet = true });
        static int Count(VirtKernel.Model.Sysctl.CtlDir d) =>
            d.Children.Sum(c => c is VirtKernel.Model.Sysctl.CtlDir sub ? Count(sub) : 1);
        Assert.Equal(688, Count(k.InitNet.Sysctl.Root));
        Assert.Equal(584, Count(k.CreateNet().Sysctl.Root));
    }

    [Fact]
    public void AfterVethPairEqualsKernelSnapshot()
    {
        var net = FreshChild(out _);
        ModelHelpers.Veth(net, "v0", "v1");
        var expected = SysctlSnapshot.Load(2);
        Assert.Equal(844, expected.Count);
        var diff = SysctlSnapshot.Compare(expected, net);
        Assert.True(diff.Length == 0, diff);
    }
}

/// <summary>Every write recorded from the kernel (tests/golden/snapshots/proc-sys-net-writes.tsv:
/// the bounds of each entry's accepted range and one beyond, odd inputs such as "-0", " 7",
/// "0x10", "1 2") gives the same result here: the count write(2) returns or the errno, and the value
/// read back afterwards.</summary>
public class SysctlWriteTests
{
    [Fact]
    public void WritesBehaveAsTheKernels()
    {
        var k = ModelHelpers.NewKernel(out _);
        var net = k.CreateNet();
        ModelHelpers.Veth(net, "v0", "v1");
        // the recording kernel had this static key turned on already (it cannot be turned off)
        Assert.Equal(2, net.Sysctl.File("netfilter/nf_hooks_lwtunnel")!.Write("1\n"));
        var failures = new List<string>();
        int n = 0;
        foreach (var line in File.ReadLines(SysctlSnapshot.SnapshotPath("proc-sys-net-writes.tsv")))
        {
            if (line.StartsWith('#')) continue;
            var f = line.Split('\t');
            string path = f[0].Replace("/DEV/", "/v0/"), input = f[1], expect = f[2], readback = f[3];
            var file = net.Sysctl.File(path);
            if (file == null) { failures.Add($"{path}: missing"); continue; }
            file.Read(out var orig);
            int r = file.Write(System.Text.Encoding.UTF8.GetBytes(input + "\n"));
            string got = r < 0 ? $"E{-r}" : $"ok:{r}";
            file.Read(out var after);
            after = after.TrimEnd('\n').Replace("\t", "\\t");
            // the recording namespace inherited its IPv4 conf from its host (forwarding and
            // rp_filter on there): after a refused write, what counts is that it did not change
            if (expect.StartsWith('E') && (path.StartsWith("ipv4/conf/") || path == "ipv4/ip_forward"))
                readback = orig.TrimEnd('\n').Replace("\t", "\\t");
            if (got != expect || after != readback)
                failures.Add($"{path} <- '{input}': kernel {expect} '{readback}', here {got} '{after}'");
            file.Write(System.Text.Encoding.UTF8.GetBytes(orig));
            n++;
        }
        Assert.True(n > 7000, $"only {n} probes");
        Assert.True(failures.Count == 0, $"{failures.Count} of {n} differ:\n" + string.Join('\n', failures.Take(80)));
    }
}
