using VirtKernel.Tests.Support;

namespace VirtKernel.Tests.Wire;

/// <summary>One measured case: datagrams sent in order on one socket, and for each the datagrams
/// the real kernel answered (hex, nlmsg_pid zeroed).</summary>
public sealed record KernelCase(string Name, SockOpts Opts, string[] Sends, string[][] Answers)
{
    public override string ToString() => Name;
}

/// <summary>Malformed and unusual input gets the kernel's answer: every case of
/// <see cref="MalformedInputCases"/> was measured on Linux 6.18; VirtKernel must answer the same
/// datagrams (acknowledgements, errors and DONE byte for byte, data messages by type and flags),
/// or stay silent where the kernel does. Cases VirtKernel does not answer like the kernel yet are
/// listed in <see cref="Pending"/> with the reason, and checked to still differ, so that the list
/// is kept true.</summary>
public class MalformedInputTests
{
    /// <summary>Cases known to differ from the kernel, with why.</summary>
    private static readonly Dictionary<string, string> Pending = new()
    {
    };

    public static TheoryData<string> Names()
    {
        var d = new TheoryData<string>();
        foreach (var c in MalformedInputCases.All.Where(c => !Pending.ContainsKey(c.Name))) d.Add(c.Name);
        return d;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void AnswersLikeTheKernel(string name)
    {
        var diff = Compare(MalformedInputCases.All.Single(x => x.Name == name));
        if (diff != null) Assert.Fail(diff);
    }

    /// <summary>Every pending case still differs (a fact, so that an empty list is no error).</summary>
    [Fact]
    public void PendingCasesStillDiffer()
    {
        foreach (var (name, why) in Pending)
        {
            var diff = Compare(MalformedInputCases.All.Single(x => x.Name == name));
            Assert.True(diff != null, $"{name} now answers like the kernel: take it off the pending list ({why})");
        }
    }

    /// <summary>Runs a case on a fresh virtual kernel; null when every answer matches the kernel's.</summary>
    private static string? Compare(KernelCase c)
    {
        var h = new EngineHarness(c.Opts);
        for (int i = 0; i < c.Sends.Length; i++)
        {
            var replies = h.Send(Convert.FromHexString(c.Sends[i]));
            var expected = c.Answers[i].Select(x => NlBytes.Comparable(Convert.FromHexString(x))).ToList();
            var actual = replies.Select(x => NlBytes.Comparable(x)).ToList();
            if (!expected.SequenceEqual(actual))
                return $"send {i}: the kernel answered\n{NlBytes.DescribeAll(c.Answers[i].Select(Convert.FromHexString))}" +
                    $"VirtKernel answered\n{NlBytes.DescribeAll(replies)}";
        }
        return null;
    }
}
