namespace VirtKernel.Model.Ipv4;

/// <summary>struct in_ifaddr: one IPv4 address of a device.</summary>
public sealed class InIfAddr : IfAddr
{
    public override byte Family => 2; // AF_INET
    public uint Local;                  // ifa_local
    public uint Address;                // ifa_address (the peer on point-to-point)
    public uint Mask;                   // ifa_mask
    public uint Broadcast;              // ifa_broadcast (0 = none)
    public string Label = "";           // ifa_label
    /// <summary>Position key of ifa_list (see <see cref="InDevice"/>).</summary>
    internal long Seq;
    internal bool Secondary => (Flags & VirtKernel.Protocol.Uapi.IFA_F_SECONDARY) != 0;

    /// <summary>ifa_address &amp; ifa_mask: the subnet this address belongs to.</summary>
    public uint Prefix => Address & Mask;

    /// <summary>inet_ifa_match(addr, ifa).</summary>
    public bool Matches(uint addr) => ((addr ^ Address) & Mask) == 0;

    public override string ToString() => $"{Inet.FormatV4(Local)}/{PrefixLen} dev {Dev?.Name}";
}
