namespace VirtKernel.Model.Ipv6;

/// <summary>enum { INET6_IFADDR_STATE_... }: where an address is in its DAD life.</summary>
public enum Inet6IfAddrState { PreDad, Dad, Postdad, ErrDad, Dead }

/// <summary>struct inet6_ifaddr: one IPv6 address of a device.</summary>
public sealed class Inet6IfAddr : IfAddr
{
    public override byte Family => 10; // AF_INET6
    public UInt128 Addr;
    public UInt128 PeerAddr;            // 0 = none
    public Inet6IfAddrState State = Inet6IfAddrState.PreDad;
    /// <summary>The local route (table local) of this address, inserted when DAD completes.</summary>
    internal Route? LocalRoute;
    internal TimerQueue.Timer? DadTimer;
    internal long Seq;
    /// <summary>The device is in this address's solicited-node group (addrconf_join_solicit).</summary>
    internal bool SolicitJoined;

    public bool Tentative => (Flags & VirtKernel.Protocol.Uapi.IFA_F_TENTATIVE) != 0;
    public override string ToString() => $"{Inet.FormatV6(Addr)}/{PrefixLen} dev {Dev?.Name}";
}
