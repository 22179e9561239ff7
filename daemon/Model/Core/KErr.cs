namespace VirtKernel.Model;

/// <summary>A kernel function's error: errno (positive) and the extack message the kernel sets
/// with NL_SET_ERR_MSG, if any. <see cref="Ok"/> is success.</summary>
public readonly record struct KErr(int Errno, string? Msg = null)
{
    public static readonly KErr Ok = default;
    public bool Failed => Errno != 0;
    public override string ToString() => Failed ? $"errno {Errno}{(Msg is null ? "" : ": " + Msg)}" : "ok";
}
