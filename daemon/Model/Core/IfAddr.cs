using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model;

/// <summary>What IPv4 (in_ifaddr) and IPv6 (inet6_ifaddr) addresses share: the fields of an
/// RTM_NEWADDR message.</summary>
public abstract class IfAddr
{
    public const uint InfinityLifeTime = 0xffffffff;

    public NetDevice Dev = null!;
    public abstract byte Family { get; }
    public byte PrefixLen;
    public uint Flags;                  // IFA_F_*
    public byte Scope;                  // RT_SCOPE_*
    public uint ValidLft = InfinityLifeTime;
    public uint PreferredLft = InfinityLifeTime;
    public long CstampMs;               // creation time (clock ms)
    public long TstampMs;               // last update time (clock ms)
    public uint RtPriority;             // IFA_RT_PRIORITY
    public byte Proto;                  // IFA_PROTO
    public bool Dead;

    public bool IsPermanent => (Flags & IFA_F_PERMANENT) != 0;
}
