namespace VirtKernel.Protocol;

// include/uapi/linux/neighbour.h constants the uapi generator does not pick up (anonymous enums and
// bits newer than the 6.1 headers), as the 6.18 kernel has them.
public static partial class Uapi
{
    /// <summary>NDA_FDB_EXT_ATTRS nested attributes.</summary>
    public const int NFEA_UNSPEC = 0, NFEA_ACTIVITY_NOTIFY = 1, NFEA_DONT_REFRESH = 2, NFEA_MAX = 2;
    /// <summary>NFEA_ACTIVITY_NOTIFY bits.</summary>
    public const byte FDB_NOTIFY_BIT = 1 << 0, FDB_NOTIFY_INACTIVE_BIT = 1 << 1;
    /// <summary>NDA_FLAGS_EXT bits: NTF_EXT_MANAGED (bit 0), NTF_EXT_LOCKED (bit 1), NTF_EXT_EXT_VALIDATED (bit 2).</summary>
    public const uint NTF_EXT_LOCKED = 1 << 1, NTF_EXT_EXT_VALIDATED = 1 << 2;
    /// <summary>NTF_EXT_MASK: what user space may set (NTF_EXT_MANAGED | NTF_EXT_EXT_VALIDATED).</summary>
    public const uint NTF_EXT_MASK_6_18 = 1 << 0 | 1 << 2;
}
