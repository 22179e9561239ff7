using System.Text;
using VirtKernel.Protocol;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Model.Sysctl;

/// <summary>How an entry of the namespace table handles its value.</summary>
public enum CtlKind
{
    /// <summary>proc_dointvec.</summary>
    Int,
    /// <summary>proc_dointvec_minmax.</summary>
    IntMinMax,
    /// <summary>proc_douintvec / proc_douintvec_minmax.</summary>
    UInt,
    /// <summary>proc_dou8vec_minmax.</summary>
    U8,
    /// <summary>proc_doulongvec_minmax.</summary>
    ULong,
    /// <summary>proc_dointvec_jiffies (seconds).</summary>
    Jiffies,
    /// <summary>proc_dointvec_ms_jiffies (milliseconds).</summary>
    MsJiffies,
    /// <summary>proc_dostring.</summary>
    String,
    /// <summary>A handler of its own (<see cref="NetCtlDef.Handler"/>).</summary>
    Custom,
}

/// <summary>One row of the per-namespace table: where the entry lives under net/, its mode, its
/// handler, its default as the file shows it (written through the handler to get the stored value),
/// its bounds, and whether it exists or is writable outside the initial namespace.</summary>
public sealed record NetCtlDef
{
    public required string Path { get; init; }
    public required ushort Mode { get; init; }
    public required CtlKind Kind { get; init; }
    /// <summary>The value as a fresh namespace shows it.</summary>
    public string Default { get; init; } = "";
    /// <summary>The value the initial namespace shows, when it differs (global hash sizes).</summary>
    public string? InitDefault { get; init; }
    public long? Min { get; init; }
    public long? Max { get; init; }
    /// <summary>Elements of a vector (tcp_rmem: 3).</summary>
    public int Length { get; init; } = 1;
    /// <summary>maxlen of a string entry.</summary>
    public int MaxLen { get; init; } = 64;
    public ProcHandler? Handler { get; init; }
    /// <summary>A value with its own place in the model (ip_forward is conf/all/forwarding): makes the
    /// entry for a namespace instead of a slot.</summary>
    public Func<Net, NetCtlDef, CtlFile>? Bind { get; init; }
    /// <summary>Only in the initial namespace (net.core.devconf_inherit_init_net, neigh/default...).</summary>
    public bool InitOnly { get; private set; }
    /// <summary>Global values: 0444 outside the initial namespace (core/rmem_max...).</summary>
    public bool ReadOnlyOutsideInit { get; private set; }
    /// <summary>Depends on the host (RAM, its settings); left out of snapshot comparisons.</summary>
    public bool HostDependent { get; private set; }
    /// <summary>A new namespace copies the initial namespace's value (tcp_rmem, tcp_wmem,
    /// tcp_congestion_control).</summary>
    public bool InheritsInit { get; private set; }
    /// <summary>Another entry's data (gc_min_interval_ms is gc_min_interval in milliseconds).</summary>
    public string? SameAs { get; init; }
    /// <summary>One value for the whole kernel, seen from every namespace (a static key).</summary>
    public bool Global { get; init; }

    internal int Slot = -1, StrSlot = -1;

    public NetCtlDef Host() { HostDependent = true; return this; }
    public NetCtlDef RoOutsideInit() { ReadOnlyOutsideInit = true; return this; }
    public NetCtlDef Init() { InitOnly = true; return this; }
    public NetCtlDef Inherit() { InheritsInit = true; return this; }
}

/// <summary>The namespace-wide part of /proc/sys/net (everything but conf/ and neigh/, which
/// devinet, addrconf and the neighbour tables register per device): the kernel's ctl tables of
/// net/core, ipv4, ipv6, netfilter, mptcp, unix and bridge, as the 6.18 kernel has them, with the
/// defaults of a fresh namespace and the ranges it enforces.</summary>
public static class NetTables
{
    private static NetCtlDef Row(CtlKind kind, string path, int mode, string dflt, long? min = null, long? max = null) =>
        new() { Path = path, Mode = (ushort)mode, Kind = kind, Default = dflt, Min = min, Max = max };

    private static NetCtlDef Int(string p, int m, string d) => Row(CtlKind.Int, p, m, d);
    private static NetCtlDef IntMM(string p, int m, string d, long min, long max) => Row(CtlKind.IntMinMax, p, m, d, min, max);
    private static NetCtlDef UInt(string p, int m, string d, long min, long max) => Row(CtlKind.UInt, p, m, d, min, max);
    private static NetCtlDef U8(string p, int m, string d, long min, long max) => Row(CtlKind.U8, p, m, d, min, max);
    private static NetCtlDef ULong(string p, int m, string d, long min, long max) => Row(CtlKind.ULong, p, m, d, min, max);
    private static NetCtlDef Jiffies(string p, int m, string d) => Row(CtlKind.Jiffies, p, m, d);
    private static NetCtlDef MsJiffies(string p, int m, string d) => Row(CtlKind.MsJiffies, p, m, d);
    private static NetCtlDef Str(string p, int m, string d, int maxlen = 64) =>
        new() { Path = p, Mode = (ushort)m, Kind = CtlKind.String, Default = d, MaxLen = maxlen };
    private static NetCtlDef Custom(string p, int m, string d, ProcHandler h, int length = 1, long? min = null, long? max = null) =>
        new() { Path = p, Mode = (ushort)m, Kind = CtlKind.Custom, Default = d, Handler = h, Length = length, Min = min, Max = max };
    private static NetCtlDef CustomStr(string p, int m, string d, ProcHandler h, int maxlen = 64) =>
        new() { Path = p, Mode = (ushort)m, Kind = CtlKind.Custom, Default = d, Handler = h, Length = 0, MaxLen = maxlen };

    private const long UMax = unchecked((long)ulong.MaxValue);

    /// <summary>The table, sorted by nothing in particular: the tree orders names itself.</summary>
    public static readonly NetCtlDef[] Defs = Build();

    private static NetCtlDef[] Build()
    {
        var list = new List<NetCtlDef>
        {
            // ---- generated from the 6.18 kernel's fresh namespace: mode, default, accepted range ----
            IntMM("core/optmem_max", 0x1a4, "131072", 0, int.MaxValue),
            Custom("core/rps_default_mask", 0x1a4, "0", RpsDefaultMask),
            IntMM("core/somaxconn", 0x1a4, "4096", 0, int.MaxValue),
            U8("core/tstamp_allow_data", 0x1a4, "1", 0, 1),
            U8("core/txrehash", 0x1a4, "1", 0, 1),
            Int("core/xfrm_acq_expires", 0x1a4, "30"),
            UInt("core/xfrm_aevent_etime", 0x1a4, "10", 0, uint.MaxValue),
            UInt("core/xfrm_aevent_rseqth", 0x1a4, "2", 0, uint.MaxValue),
            Int("core/xfrm_larval_drop", 0x1a4, "1"),
            UInt("ipv4/fib_multipath_hash_fields", 0x1a4, "7", 1, 4095),
            U8("ipv4/fib_multipath_hash_policy", 0x1a4, "0", 0, 3),
            UInt("ipv4/fib_multipath_hash_seed", 0x1a4, "0", 0, uint.MaxValue),
            U8("ipv4/fib_multipath_use_neigh", 0x1a4, "0", 0, 1),
            U8("ipv4/fib_notify_on_flag_change", 0x1a4, "0", 0, 2),
            U8("ipv4/fwmark_reflect", 0x1a4, "0", 0, 255),
            U8("ipv4/icmp_echo_enable_probe", 0x1a4, "0", 0, 1),
            U8("ipv4/icmp_echo_ignore_all", 0x1a4, "0", 0, 1),
            U8("ipv4/icmp_echo_ignore_broadcasts", 0x1a4, "1", 0, 1),
            U8("ipv4/icmp_errors_use_inbound_ifaddr", 0x1a4, "0", 0, 1),
            U8("ipv4/icmp_ignore_bogus_error_responses", 0x1a4, "1", 0, 1),
            IntMM("ipv4/icmp_msgs_burst", 0x1a4, "50", 0, int.MaxValue),
            IntMM("ipv4/icmp_msgs_per_sec", 0x1a4, "1000", 0, int.MaxValue),
            MsJiffies("ipv4/icmp_ratelimit", 0x1a4, "1000"),
            Int("ipv4/icmp_ratemask", 0x1a4, "6168"),
            U8("ipv4/igmp_link_local_mcast_reports", 0x1a4, "1", 0, 255),
            Int("ipv4/igmp_max_memberships", 0x1a4, "20"),
            Int("ipv4/igmp_max_msf", 0x1a4, "10"),
            IntMM("ipv4/igmp_qrv", 0x1a4, "2", 1, int.MaxValue),
            U8("ipv4/ip_autobind_reuse", 0x1a4, "0", 0, 1),
            U8("ipv4/ip_default_ttl", 0x1a4, "64", 1, 255),
            U8("ipv4/ip_dynaddr", 0x1a4, "0", 0, 255),
            U8("ipv4/ip_early_demux", 0x1a4, "1", 0, 255),
            U8("ipv4/ip_forward_update_priority", 0x1a4, "1", 0, 1),
            U8("ipv4/ip_forward_use_pmtu", 0x1a4, "0", 0, 255),
            U8("ipv4/ip_no_pmtu_disc", 0x1a4, "0", 0, 255),
            U8("ipv4/ip_nonlocal_bind", 0x1a4, "0", 0, 255),
            IntMM("ipv4/ipfrag_max_dist", 0x1a4, "64", 0, int.MaxValue),
            Jiffies("ipv4/ipfrag_time", 0x1a4, "30"),
            U8("ipv4/nexthop_compat_mode", 0x1a4, "1", 0, 1),
            U8("ipv4/raw_l3mdev_accept", 0x1a4, "1", 0, 1),
            Int("ipv4/route/min_adv_mss", 0x1a4, "256"),
            UInt("ipv4/route/min_pmtu", 0x1a4, "552", 68, int.MaxValue),
            Jiffies("ipv4/route/mtu_expires", 0x1a4, "600"),
            U8("ipv4/tcp_abort_on_overflow", 0x1a4, "0", 0, 255),
            IntMM("ipv4/tcp_adv_win_scale", 0x1a4, "1", -31, 31),
            U8("ipv4/tcp_app_win", 0x1a4, "31", 0, 31),
            U8("ipv4/tcp_autocorking", 0x1a4, "1", 0, 1),
            U8("ipv4/tcp_backlog_ack_defer", 0x1a4, "1", 0, 1),
            Int("ipv4/tcp_base_mss", 0x1a4, "1024"),
            Int("ipv4/tcp_challenge_ack_limit", 0x1a4, "2147483647"),
            UInt("ipv4/tcp_child_ehash_entries", 0x1a4, "0", 0, 16777216),
            ULong("ipv4/tcp_comp_sack_delay_ns", 0x1a4, "1000000", 0, unchecked((long)ulong.MaxValue)),
            U8("ipv4/tcp_comp_sack_nr", 0x1a4, "44", 0, 255),
            ULong("ipv4/tcp_comp_sack_slack_ns", 0x1a4, "100000", 0, unchecked((long)ulong.MaxValue)),
            U8("ipv4/tcp_dsack", 0x1a4, "1", 0, 255),
            U8("ipv4/tcp_early_demux", 0x1a4, "1", 0, 255),
            U8("ipv4/tcp_early_retrans", 0x1a4, "3", 0, 4),
            U8("ipv4/tcp_ecn", 0x1a4, "2", 0, 2),
            U8("ipv4/tcp_ecn_fallback", 0x1a4, "1", 0, 1),
            U8("ipv4/tcp_ecn_option", 0x1a4, "2", 0, 2),
            U8("ipv4/tcp_ecn_option_beacon", 0x1a4, "3", 0, 3),
            U8("ipv4/tcp_fack", 0x1a4, "0", 0, 255),
            Int("ipv4/tcp_fastopen", 0x1a4, "1"),
            IntMM("ipv4/tcp_fastopen_blackhole_timeout_sec", 0x1a4, "0", 0, int.MaxValue),
            Jiffies("ipv4/tcp_fin_timeout", 0x1a4, "60"),
            U8("ipv4/tcp_frto", 0x1a4, "2", 0, 255),
            U8("ipv4/tcp_fwmark_accept", 0x1a4, "0", 0, 255),
            MsJiffies("ipv4/tcp_invalid_ratelimit", 0x1a4, "500"),
            Jiffies("ipv4/tcp_keepalive_intvl", 0x1a4, "75"),
            U8("ipv4/tcp_keepalive_probes", 0x1a4, "9", 0, 255),
            Jiffies("ipv4/tcp_keepalive_time", 0x1a4, "7200"),
            U8("ipv4/tcp_l3mdev_accept", 0x1a4, "0", 0, 1),
            Int("ipv4/tcp_limit_output_bytes", 0x1a4, "4194304"),
            IntMM("ipv4/tcp_max_reordering", 0x1a4, "300", 1, int.MaxValue),
            Int("ipv4/tcp_max_syn_backlog", 0x1a4, "2048").Host(),
            Int("ipv4/tcp_max_tw_buckets", 0x1a4, "131072").Host(),
            U8("ipv4/tcp_migrate_req", 0x1a4, "0", 0, 1),
            IntMM("ipv4/tcp_min_rtt_wlen", 0x1a4, "300", 0, 86400),
            UInt("ipv4/tcp_min_snd_mss", 0x1a4, "48", 48, 65535),
            U8("ipv4/tcp_min_tso_segs", 0x1a4, "2", 1, 255),
            U8("ipv4/tcp_moderate_rcvbuf", 0x1a4, "1", 0, 255),
            UInt("ipv4/tcp_mtu_probe_floor", 0x1a4, "48", 48, 65535),
            U8("ipv4/tcp_mtu_probing", 0x1a4, "0", 0, 255),
            U8("ipv4/tcp_no_metrics_save", 0x1a4, "0", 0, 255),
            U8("ipv4/tcp_no_ssthresh_metrics_save", 0x1a4, "1", 0, 1),
            UInt("ipv4/tcp_notsent_lowat", 0x1a4, "4294967295", 0, uint.MaxValue),
            U8("ipv4/tcp_orphan_retries", 0x1a4, "0", 0, 255),
            IntMM("ipv4/tcp_pacing_ca_ratio", 0x1a4, "120", 0, 1000),
            IntMM("ipv4/tcp_pacing_ss_ratio", 0x1a4, "200", 0, 1000),
            U8("ipv4/tcp_pingpong_thresh", 0x1a4, "1", 1, 255),
            IntMM("ipv4/tcp_plb_cong_thresh", 0x1a4, "128", 0, 256),
            U8("ipv4/tcp_plb_enabled", 0x1a4, "0", 0, 1),
            U8("ipv4/tcp_plb_idle_rehash_rounds", 0x1a4, "3", 0, 31),
            U8("ipv4/tcp_plb_rehash_rounds", 0x1a4, "12", 0, 31),
            U8("ipv4/tcp_plb_suspend_rto_sec", 0x1a4, "60", 0, 255),
            UInt("ipv4/tcp_probe_interval", 0x1a4, "600", 0, 17179869),
            Int("ipv4/tcp_probe_threshold", 0x1a4, "8"),
            U8("ipv4/tcp_recovery", 0x1a4, "1", 0, 255),
            U8("ipv4/tcp_reflect_tos", 0x1a4, "0", 0, 1),
            IntMM("ipv4/tcp_reordering", 0x1a4, "3", 1, 300),
            U8("ipv4/tcp_retrans_collapse", 0x1a4, "1", 0, 255),
            U8("ipv4/tcp_retries1", 0x1a4, "3", 0, 255),
            U8("ipv4/tcp_retries2", 0x1a4, "15", 0, 255),
            U8("ipv4/tcp_rfc1337", 0x1a4, "0", 0, 255),
            UInt("ipv4/tcp_rto_max_ms", 0x1a4, "120000", 1000, 120000),
            IntMM("ipv4/tcp_rto_min_us", 0x1a4, "200000", 1, int.MaxValue),
            U8("ipv4/tcp_sack", 0x1a4, "1", 0, 255),
            U8("ipv4/tcp_shrink_window", 0x1a4, "0", 0, 1),
            U8("ipv4/tcp_slow_start_after_idle", 0x1a4, "1", 0, 255),
            U8("ipv4/tcp_stdurg", 0x1a4, "0", 0, 255),
            U8("ipv4/tcp_syn_linear_timeouts", 0x1a4, "4", 0, 127),
            U8("ipv4/tcp_syn_retries", 0x1a4, "6", 1, 127),
            U8("ipv4/tcp_synack_retries", 0x1a4, "5", 0, 255),
            U8("ipv4/tcp_syncookies", 0x1a4, "1", 0, 255),
            U8("ipv4/tcp_thin_linear_timeouts", 0x1a4, "0", 0, 255),
            U8("ipv4/tcp_timestamps", 0x1a4, "1", 0, 255),
            U8("ipv4/tcp_tso_rtt_log", 0x1a4, "9", 0, 255),
            U8("ipv4/tcp_tso_win_divisor", 0x1a4, "3", 0, 255),
            U8("ipv4/tcp_tw_reuse", 0x1a4, "2", 0, 2),
            UInt("ipv4/tcp_tw_reuse_delay", 0x1a4, "1000", 1, 60000),
            U8("ipv4/tcp_window_scaling", 0x1a4, "1", 0, 255),
            U8("ipv4/tcp_workaround_signed_windows", 0x1a4, "0", 0, 255),
            UInt("ipv4/udp_child_hash_entries", 0x1a4, "0", 0, 65536),
            U8("ipv4/udp_early_demux", 0x1a4, "1", 0, 255),
            U8("ipv4/udp_l3mdev_accept", 0x1a4, "0", 0, 1),
            IntMM("ipv4/udp_rmem_min", 0x1a4, "4096", 1, int.MaxValue),
            IntMM("ipv4/udp_wmem_min", 0x1a4, "4096", 1, int.MaxValue),
            Int("ipv4/xfrm4_gc_thresh", 0x1a4, "32768"),
            U8("ipv6/anycast_src_echo_reply", 0x1a4, "0", 0, 255),
            U8("ipv6/auto_flowlabels", 0x1a4, "1", 0, 3),
            U8("ipv6/bindv6only", 0x1a4, "0", 0, 255),
            UInt("ipv6/fib_multipath_hash_fields", 0x1a4, "7", 1, 4095),
            U8("ipv6/fib_multipath_hash_policy", 0x1a4, "0", 0, 3),
            U8("ipv6/fib_notify_on_flag_change", 0x1a4, "0", 0, 2),
            U8("ipv6/flowlabel_consistency", 0x1a4, "1", 0, 255),
            IntMM("ipv6/flowlabel_reflect", 0x1a4, "0", 0, 7),
            U8("ipv6/flowlabel_state_ranges", 0x1a4, "0", 0, 255),
            U8("ipv6/fwmark_reflect", 0x1a4, "0", 0, 255),
            U8("ipv6/icmp/echo_ignore_all", 0x1a4, "0", 0, 255),
            U8("ipv6/icmp/echo_ignore_anycast", 0x1a4, "0", 0, 255),
            U8("ipv6/icmp/echo_ignore_multicast", 0x1a4, "0", 0, 255),
            U8("ipv6/icmp/error_anycast_as_unicast", 0x1a4, "0", 0, 1),
            MsJiffies("ipv6/icmp/ratelimit", 0x1a4, "100"),
            Jiffies("ipv6/idgen_delay", 0x1a4, "1"),
            Int("ipv6/idgen_retries", 0x1a4, "3"),
            UInt("ipv6/ioam6_id", 0x1a4, "16777215", 0, 16777215),
            ULong("ipv6/ioam6_id_wide", 0x1a4, "72057594037927935", 0, 72057594037927935),
            Jiffies("ipv6/ip6frag_time", 0x1a4, "60"),
            U8("ipv6/ip_nonlocal_bind", 0x1a4, "0", 0, 255),
            Int("ipv6/max_dst_opts_length", 0x1a4, "2147483647"),
            Int("ipv6/max_dst_opts_number", 0x1a4, "8"),
            Int("ipv6/max_hbh_length", 0x1a4, "2147483647"),
            Int("ipv6/max_hbh_opts_number", 0x1a4, "8"),
            Int("ipv6/route/gc_elasticity", 0x1a4, "9"),
            Jiffies("ipv6/route/gc_interval", 0x1a4, "30"),
            Jiffies("ipv6/route/gc_min_interval", 0x1a4, "0"),
            MsJiffies("ipv6/route/gc_min_interval_ms", 0x1a4, "500") with { SameAs = "ipv6/route/gc_min_interval" },
            Int("ipv6/route/gc_thresh", 0x1a4, "1024"),
            Jiffies("ipv6/route/gc_timeout", 0x1a4, "60"),
            Int("ipv6/route/max_size", 0x1a4, "2147483647"),
            Int("ipv6/route/min_adv_mss", 0x1a4, "1220"),
            Jiffies("ipv6/route/mtu_expires", 0x1a4, "600"),
            U8("ipv6/route/skip_notify_on_dev_down", 0x1a4, "0", 0, 1),
            Int("ipv6/seg6_flowlabel", 0x1a4, "0"),
            Int("ipv6/xfrm6_gc_thresh", 0x1a4, "32768"),
            Jiffies("mptcp/add_addr_timeout", 0x1a4, "120"),
            U8("mptcp/allow_join_initial_addr_port", 0x1a4, "1", 0, 1),
            IntMM("mptcp/blackhole_timeout", 0x1a4, "3600", 0, int.MaxValue),
            U8("mptcp/checksum_enabled", 0x1a4, "0", 0, 1),
            Jiffies("mptcp/close_timeout", 0x1a4, "60"),
            U8("mptcp/enabled", 0x1a4, "1", 0, 1),
            UInt("mptcp/stale_loss_cnt", 0x1a4, "4", 0, uint.MaxValue),
            U8("mptcp/syn_retrans_before_tcp_fallback", 0x1a4, "2", 0, 255),
            U8("netfilter/nf_conntrack_acct", 0x1a4, "0", 0, 1),
            U8("netfilter/nf_conntrack_checksum", 0x1a4, "1", 0, 1),
            U8("netfilter/nf_conntrack_events", 0x1a4, "2", 0, 2),
            Jiffies("netfilter/nf_conntrack_frag6_timeout", 0x1a4, "60"),
            Jiffies("netfilter/nf_conntrack_generic_timeout", 0x1a4, "600"),
            Jiffies("netfilter/nf_conntrack_gre_timeout", 0x1a4, "30"),
            Jiffies("netfilter/nf_conntrack_gre_timeout_stream", 0x1a4, "180"),
            Jiffies("netfilter/nf_conntrack_icmp_timeout", 0x1a4, "30"),
            Jiffies("netfilter/nf_conntrack_icmpv6_timeout", 0x1a4, "30"),
            U8("netfilter/nf_conntrack_log_invalid", 0x1a4, "0", 0, 255),
            Jiffies("netfilter/nf_conntrack_sctp_timeout_closed", 0x1a4, "10"),
            Jiffies("netfilter/nf_conntrack_sctp_timeout_cookie_echoed", 0x1a4, "3"),
            Jiffies("netfilter/nf_conntrack_sctp_timeout_cookie_wait", 0x1a4, "3"),
            Jiffies("netfilter/nf_conntrack_sctp_timeout_established", 0x1a4, "210"),
            Jiffies("netfilter/nf_conntrack_sctp_timeout_heartbeat_sent", 0x1a4, "30"),
            Jiffies("netfilter/nf_conntrack_sctp_timeout_shutdown_ack_sent", 0x1a4, "3"),
            Jiffies("netfilter/nf_conntrack_sctp_timeout_shutdown_recd", 0x1a4, "3"),
            Jiffies("netfilter/nf_conntrack_sctp_timeout_shutdown_sent", 0x1a4, "3"),
            U8("netfilter/nf_conntrack_tcp_be_liberal", 0x1a4, "0", 0, 1),
            U8("netfilter/nf_conntrack_tcp_ignore_invalid_rst", 0x1a4, "0", 0, 1),
            U8("netfilter/nf_conntrack_tcp_loose", 0x1a4, "1", 0, 1),
            U8("netfilter/nf_conntrack_tcp_max_retrans", 0x1a4, "3", 0, 255),
            Jiffies("netfilter/nf_conntrack_tcp_timeout_close", 0x1a4, "10"),
            Jiffies("netfilter/nf_conntrack_tcp_timeout_close_wait", 0x1a4, "60"),
            Jiffies("netfilter/nf_conntrack_tcp_timeout_established", 0x1a4, "432000"),
            Jiffies("netfilter/nf_conntrack_tcp_timeout_fin_wait", 0x1a4, "120"),
            Jiffies("netfilter/nf_conntrack_tcp_timeout_last_ack", 0x1a4, "30"),
            Jiffies("netfilter/nf_conntrack_tcp_timeout_max_retrans", 0x1a4, "300"),
            Jiffies("netfilter/nf_conntrack_tcp_timeout_syn_recv", 0x1a4, "60"),
            Jiffies("netfilter/nf_conntrack_tcp_timeout_syn_sent", 0x1a4, "120"),
            Jiffies("netfilter/nf_conntrack_tcp_timeout_time_wait", 0x1a4, "120"),
            Jiffies("netfilter/nf_conntrack_tcp_timeout_unacknowledged", 0x1a4, "300"),
            U8("netfilter/nf_conntrack_timestamp", 0x1a4, "0", 0, 1),
            Jiffies("netfilter/nf_conntrack_udp_timeout", 0x1a4, "30"),
            Jiffies("netfilter/nf_conntrack_udp_timeout_stream", 0x1a4, "120"),
            Custom("netfilter/nf_hooks_lwtunnel", 0x1a4, "0", NfHooksLwtunnel, 1, 0, 1) with { Global = true },
            Int("unix/max_dgram_qlen", 0x1a4, "10"),
            // ---- entries with a handler of their own ----
            Custom("ipv4/ip_forward", 0x1a4, "0", null!) with { Bind = Ipv4.Ipv4Net.BindIpForward },
            Custom("ipv4/route/flush", 0x80, "", Ipv4RouteFlush) with { Length = 0 },
            Custom("ipv6/route/flush", 0x80, "", Ipv6RouteFlush) with { Length = 0 },
            Custom("bridge/bridge-nf-call-arptables", 0x1a4, "1", BrnfCallTables),
            Custom("bridge/bridge-nf-call-ip6tables", 0x1a4, "1", BrnfCallTables),
            Custom("bridge/bridge-nf-call-iptables", 0x1a4, "1", BrnfCallTables),
            Custom("bridge/bridge-nf-filter-pppoe-tagged", 0x1a4, "0", BrnfCallTables),
            Custom("bridge/bridge-nf-filter-vlan-tagged", 0x1a4, "0", BrnfCallTables),
            Custom("bridge/bridge-nf-pass-vlan-input-dev", 0x1a4, "0", BrnfCallTables),
            Custom("ipv4/ip_local_port_range", 0x1a4, "32768\t60999", LocalPortRange, 2, 1, 65535),
            Custom("ipv4/ip_unprivileged_port_start", 0x1a4, "1024", PrivilegedPorts, 1, 0, 65535),
            Custom("ipv4/ping_group_range", 0x1a4, "1\t0", PingGroupRange, 2, 0, 4294967294),
            Custom("ipv4/tcp_rmem", 0x1a4, "4096\t131072\t33554432", Proc.DoIntVecMinMax, 3, 1, int.MaxValue).Host().Inherit(),
            Custom("ipv4/tcp_wmem", 0x1a4, "4096\t16384\t4194304", Proc.DoIntVecMinMax, 3, 1, int.MaxValue).Host().Inherit(),
            CustomStr("ipv4/tcp_available_congestion_control", 0x124, "reno bbr cubic", (t, io) => Proc.DoString(t, io, 4096)).Host(),
            CustomStr("ipv4/tcp_allowed_congestion_control", 0x1a4, "reno bbr", TcpAllowedCongestionControl, 4096).Host().RoOutsideInit(),
            CustomStr("ipv4/tcp_congestion_control", 0x1a4, "bbr", TcpCongestionControl, 16).Host().Inherit(),
            CustomStr("ipv4/tcp_fastopen_key", 0x180, "00000000-00000000-00000000-00000000", TcpFastopenKey, 256),
            CustomStr("ipv4/ip_local_reserved_ports", 0x1a4, "", (t, io) => LargeBitmap(t, io, 65536), 65536),
            CustomStr("ipv6/icmp/ratemask", 0x1a4, "0-1,3-127", (t, io) => LargeBitmap(t, io, 256), 4096),
            Custom("ipv4/tcp_ehash_entries", 0x124, "-262144", Proc.DoIntVec) with { InitDefault = "262144" },
            Custom("ipv4/udp_hash_entries", 0x124, "-16384", Proc.DoIntVec) with { InitDefault = "16384" },
            ULong("ipv4/ipfrag_high_thresh", 0x1a4, "4194304", 0, UMax) with { Kind = CtlKind.Custom, Handler = FragThresh },
            ULong("ipv4/ipfrag_low_thresh", 0x1a4, "3145728", 0, UMax) with { Kind = CtlKind.Custom, Handler = FragThresh },
            ULong("ipv6/ip6frag_high_thresh", 0x1a4, "4194304", 0, UMax) with { Kind = CtlKind.Custom, Handler = FragThresh },
            ULong("ipv6/ip6frag_low_thresh", 0x1a4, "3145728", 0, UMax) with { Kind = CtlKind.Custom, Handler = FragThresh },
            ULong("netfilter/nf_conntrack_frag6_high_thresh", 0x1a4, "4194304", 0, UMax) with { Kind = CtlKind.Custom, Handler = FragThresh },
            ULong("netfilter/nf_conntrack_frag6_low_thresh", 0x1a4, "3145728", 0, UMax) with { Kind = CtlKind.Custom, Handler = FragThresh },
            IntMM("core/rmem_default", 0x1a4, "212992", 2304, int.MaxValue).RoOutsideInit(),
            IntMM("core/rmem_max", 0x1a4, "4194304", 2304, int.MaxValue).RoOutsideInit().Host(),
            IntMM("core/wmem_default", 0x1a4, "212992", 4608, int.MaxValue).RoOutsideInit(),
            IntMM("core/wmem_max", 0x1a4, "4194304", 4608, int.MaxValue).RoOutsideInit().Host(),
            IntMM("netfilter/nf_conntrack_buckets", 0x1a4, "262144", 1, 1073741824).RoOutsideInit().Host(),
            Int("netfilter/nf_conntrack_count", 0x124, "0"),
            UInt("netfilter/nf_conntrack_expect_max", 0x1a4, "4096", 1, int.MaxValue).RoOutsideInit(),
            Int("netfilter/nf_conntrack_max", 0x1a4, "262144").RoOutsideInit().Host(),
            CustomStr("mptcp/available_path_managers", 0x124, "kernel userspace", (t, io) => Proc.DoString(t, io, 4096)),
            CustomStr("mptcp/available_schedulers", 0x124, "default", (t, io) => Proc.DoString(t, io, 4096)),
            CustomStr("mptcp/path_manager", 0x1a4, "kernel", MptcpPathManager, 16),
            U8("mptcp/pm_type", 0x1a4, "0", 0, 1) with { Kind = CtlKind.Custom, Handler = MptcpPmType },
            CustomStr("mptcp/scheduler", 0x1a4, "default", (t, io) => StringChoice(t, io, 16, ["default"], Errno.ENOENT), 16),
        };
        for (int i = 0; i <= 10; i++)
        {
            string logger = i switch { 2 => "nf_log_ipv4", 3 => "nf_log_arp", 5 => "nf_log_netdev", 7 => "nf_log_bridge", 10 => "nf_log_ipv6", _ => "NONE" };
            list.Add(CustomStr($"netfilter/nf_log/{i}", 0x1a4, logger,
                (t, io) => StringChoice(t, io, 64, logger == "NONE" ? ["NONE"] : ["NONE", logger], Errno.ENOENT)));
        }
        // ---- the initial namespace only (net_core_table, ipv4_table, ipv6_table, ipv4_route_table...) ----
        list.AddRange(new[]
        {
            IntMM("core/bpf_jit_enable", 0x1a4, "1", 0, 2).Init(),
            IntMM("core/bpf_jit_harden", 0x180, "0", 0, 2).Init(),
            IntMM("core/bpf_jit_kallsyms", 0x180, "1", 0, 1).Init(),
            ULong("core/bpf_jit_limit", 0x180, "528482304", 1, UMax).Init().Host(),
            IntMM("core/busy_poll", 0x1a4, "0", 0, int.MaxValue).Init(),
            IntMM("core/busy_read", 0x1a4, "0", 0, int.MaxValue).Init(),
            CustomStr("core/default_qdisc", 0x1a4, "pfifo_fast",
                (t, io) => StringChoice(t, io, 16, ["pfifo_fast", "pfifo", "bfifo", "noqueue", "fq_codel", "fq", "sfq", "pfifo_head_drop"], Errno.ENOENT), 16).Init(),
            IntMM("core/dev_weight", 0x1a4, "64", 1, int.MaxValue).Init(),
            IntMM("core/dev_weight_rx_bias", 0x1a4, "1", 1, int.MaxValue).Init(),
            IntMM("core/dev_weight_tx_bias", 0x1a4, "1", 1, int.MaxValue).Init(),
            IntMM("core/devconf_inherit_init_net", 0x1a4, "0", 0, 3).Init(),
            IntMM("core/fb_tunnels_only_for_init_net", 0x1a4, "0", 0, 2).Init(),
            U8("core/flow_limit_cpu_bitmap", 0x1a4, "0", 0, 3).Init(),
            Int("core/flow_limit_table_len", 0x1a4, "4096").Init(),
            IntMM("core/gro_normal_batch", 0x1a4, "8", 1, int.MaxValue).Init(),
            IntMM("core/high_order_alloc_disable", 0x1a4, "0", 0, 1).Init(),
            IntMM("core/max_skb_frags", 0x1a4, "17", 1, 17).Init(),
            IntMM("core/mem_pcpu_rsv", 0x1a4, "256", 256, int.MaxValue).Init(),
            Int("core/message_burst", 0x1a4, "10").Init(),
            Jiffies("core/message_cost", 0x1a4, "5").Init(),
            Int("core/netdev_budget", 0x1a4, "300").Init(),
            IntMM("core/netdev_budget_usecs", 0x1a4, "8000", 0, int.MaxValue).Init(),
            Int("core/netdev_max_backlog", 0x1a4, "1000").Init(),
            CustomStr("core/netdev_rss_key", 0x124, string.Join(':', Enumerable.Repeat("00", 52)), (t, io) => Proc.DoString(t, io, 4096), 4096).Init().Host(),
            Int("core/netdev_tstamp_prequeue", 0x1a4, "1").Init(),
            IntMM("core/netdev_unregister_timeout_secs", 0x1a4, "10", 1, 3600).Init(),
            IntMM("core/rps_sock_flow_entries", 0x1a4, "0", 0, int.MaxValue).Init(),
            IntMM("core/skb_defer_max", 0x1a4, "64", 0, int.MaxValue).Init(),
            Int("core/warnings", 0x1a4, "0").Init(),
            Int("ipv4/cipso_cache_bucket_size", 0x1a4, "10").Init(),
            Int("ipv4/cipso_cache_enable", 0x1a4, "1").Init(),
            Int("ipv4/cipso_rbm_optfmt", 0x1a4, "0").Init(),
            Int("ipv4/cipso_rbm_strictvalid", 0x1a4, "1").Init(),
            UInt("ipv4/fib_sync_mem", 0x1a4, "524288", 524288, 67108864).Init(),
            Jiffies("ipv4/inet_peer_maxttl", 0x1a4, "600").Init(),
            Jiffies("ipv4/inet_peer_minttl", 0x1a4, "120").Init(),
            Int("ipv4/inet_peer_threshold", 0x1a4, "65664").Init(),
            Jiffies("ipv4/ipfrag_secret_interval", 0x1a4, "0").Init(),
            Int("ipv4/route/error_burst", 0x1a4, "1250").Init(),
            Int("ipv4/route/error_cost", 0x1a4, "250").Init(),
            Int("ipv4/route/gc_elasticity", 0x1a4, "8").Init(),
            Jiffies("ipv4/route/gc_interval", 0x1a4, "60").Init(),
            Jiffies("ipv4/route/gc_min_interval", 0x1a4, "0").Init(),
            MsJiffies("ipv4/route/gc_min_interval_ms", 0x1a4, "500").Init() with { SameAs = "ipv4/route/gc_min_interval" },
            Int("ipv4/route/gc_thresh", 0x1a4, "-1").Init(),
            Jiffies("ipv4/route/gc_timeout", 0x1a4, "300").Init(),
            Int("ipv4/route/max_size", 0x1a4, "2147483647").Init(),
            Int("ipv4/route/redirect_load", 0x1a4, "5").Init(),
            Int("ipv4/route/redirect_number", 0x1a4, "9").Init(),
            Int("ipv4/route/redirect_silence", 0x1a4, "5120").Init(),
            CustomStr("ipv4/tcp_available_ulp", 0x124, "mptcp", (t, io) => Proc.DoString(t, io, 4096)).Init(),
            Int("ipv4/tcp_low_latency", 0x1a4, "0").Init(),
            Int("ipv4/tcp_max_orphans", 0x1a4, "131072").Init().Host(),
            Custom("ipv4/tcp_mem", 0x1a4, "287901\t383870\t575802", Proc.DoULongVecMinMax, 3).Init().Host(),
            Custom("ipv4/udp_mem", 0x1a4, "575805\t767740\t1151610", Proc.DoULongVecMinMax, 3).Init().Host(),
            Int("ipv6/calipso_cache_bucket_size", 0x1a4, "10").Init(),
            Int("ipv6/calipso_cache_enable", 0x1a4, "1").Init(),
            Jiffies("ipv6/ip6frag_secret_interval", 0x1a4, "0").Init(),
            Int("ipv6/mld_max_msf", 0x1a4, "64").Init(),
            IntMM("ipv6/mld_qrv", 0x1a4, "2", 1, int.MaxValue).Init(),
            Int("netfilter/nf_log_all_netns", 0x1a4, "0").Init(),
            Int("nf_conntrack_max", 0x1a4, "262144").Init().Host(),
        });
        return list.ToArray();
    }

    // ---- slots and defaults ------------------------------------------------------------------------

    private static readonly Dictionary<string, NetCtlDef> ByPath = new(StringComparer.Ordinal);
    internal static readonly int NumSlots, StrSlots;

    static NetTables()
    {
        int n = 0, s = 0;
        foreach (var d in Defs)
        {
            ByPath.Add(d.Path, d);
            if (d.Bind != null) continue;
            if (d.SameAs != null)
            {
                var other = ByPath[d.SameAs];
                d.Slot = other.Slot;
                d.StrSlot = other.StrSlot;
                continue;
            }
            if (d.Kind == CtlKind.String || (d.Kind == CtlKind.Custom && d.Length == 0)) d.StrSlot = s++;
            else
            {
                d.Slot = n;
                n += d.Length;
            }
        }
        NumSlots = n;
        StrSlots = s;
    }

    public static NetCtlDef? Find(string path) => ByPath.GetValueOrDefault(path);

    private static NetSysctlValues? _childTemplate, _initTemplate;

    /// <summary>The values of a fresh namespace (or of the initial one): every default written
    /// through its own handler once, then copied for each namespace.</summary>
    internal static NetSysctlValues Template(bool init)
    {
        ref var t = ref init ? ref _initTemplate : ref _childTemplate;
        if (t != null) return t;
        var v = new NetSysctlValues(init);
        foreach (var d in Defs)
        {
            if (d.Bind != null || (d.InitOnly && !init)) continue;
            if (d.Default.Length == 0 && (d.Mode & 0x124) == 0) continue; // write-only: nothing stored
            var f = Make(d, v, null);
            string text = (init ? d.InitDefault : null) ?? d.Default;
            int r = f.Write(Encoding.UTF8.GetBytes(text.Replace("\\t", "\t") + "\n"));
            if (r < 0) throw new InvalidOperationException($"default of net/{d.Path} ({text}) does not parse: {r}");
        }
        return t = v;
    }

    /// <summary>Instantiates one row for a namespace's values (ctl_table with data pointing there).</summary>
    internal static CtlFile Make(NetCtlDef d, NetSysctlValues v, Net? net)
    {
        v.MakePrivate(); // the entry points into the arrays: they must be this namespace's own
        ushort mode = d.ReadOnlyOutsideInit && !v.IsInit ? (ushort)(d.Mode & ~0x92) : d.Mode;
        ProcHandler h = d.Kind switch
        {
            CtlKind.Int => Proc.DoIntVec,
            CtlKind.IntMinMax => Proc.DoIntVecMinMax,
            CtlKind.UInt => Proc.DoUIntVec,
            CtlKind.U8 => Proc.DoU8VecMinMax,
            CtlKind.ULong => Proc.DoULongVecMinMax,
            CtlKind.Jiffies => Proc.DoIntVecJiffies,
            CtlKind.MsJiffies => Proc.DoIntVecMsJiffies,
            CtlKind.String => (t, io) => Proc.DoString(t, io, d.MaxLen),
            _ => d.Handler!,
        };
        int slash = d.Path.LastIndexOf('/');
        return new CtlFile(d.Path[(slash + 1)..], mode, h)
        {
            Data = d.Slot >= 0 ? new SlotData(v.Nums, d.Slot, d.Length) : null,
            Text = d.StrSlot >= 0 ? new StringSlot(v.Strs, d.StrSlot) : null,
            Min = d.Min, Max = d.Max, Net = net, Extra1 = v, Extra2 = d, HostDependent = d.HostDependent,
        };
    }

    // ---- handlers of their own -----------------------------------------------------------------------

    private static NetSysctlValues Values(CtlFile t) => (NetSysctlValues)t.Extra1!;

    /// <summary>rps_default_mask_sysctl: a CPU mask in hex (bitmap_parse); bits beyond the possible
    /// CPUs make it EOVERFLOW, the bits that fit having been stored.</summary>
    private static int RpsDefaultMask(CtlFile t, ProcIo io)
    {
        long possible = (1L << (t.Net?.Kernel.Options.PossibleCpus ?? 2)) - 1;
        if (!io.Write)
        {
            io.Output.Append(t.Data![0].ToString("x")).Append('\n');
            return 0;
        }
        var s = Encoding.ASCII.GetString(io.Input);
        int nl = s.IndexOf('\n');
        if (nl >= 0) s = s[..nl];
        var digits = s.Replace(" ", "");
        if (digits.Length == 0 || !digits.All(Uri.IsHexDigit)) return -Errno.EINVAL;
        digits = digits.TrimStart('0');
        UInt128 v = 0;
        bool overflow = digits.Length > 16;
        foreach (char c in digits.Length > 16 ? digits[^16..] : digits) v = v * 16 + (uint)Convert.ToInt32(c.ToString(), 16);
        t.Data![0] = (long)(v & (UInt128)possible);
        return overflow || v > (UInt128)possible ? -Errno.EOVERFLOW : 0;
    }

    /// <summary>nf_hooks_lwtunnel_sysctl_handler: a static key that can be turned on, not off (EBUSY).</summary>
    private static int NfHooksLwtunnel(CtlFile t, ProcIo io)
    {
        long[] tmp = [t.Data![0]];
        int ret = OnCopy(t, io, tmp, Proc.DoIntVecMinMax, 0, 1);
        if (!io.Write || ret != 0) return ret;
        if (tmp[0] != 0)
        {
            t.Data[0] = 1;
            return 0;
        }
        return t.Data[0] != 0 ? -Errno.EBUSY : 0;
    }

    /// <summary>ipv4_sysctl_rtcache_flush: any write flushes (there is no route cache to flush).</summary>
    private static int Ipv4RouteFlush(CtlFile t, ProcIo io) => io.Write ? 0 : -Errno.EINVAL;

    /// <summary>ipv6_sysctl_rtcache_flush: the written delay must be an integer.</summary>
    private static int Ipv6RouteFlush(CtlFile t, ProcIo io)
    {
        if (!io.Write) return -Errno.EINVAL;
        var tmp = new CtlFile(t.Name, t.Mode, Proc.DoIntVec) { Data = new SlotData(new long[1], 0, 1) };
        var r = ProcIo.ForWrite(io.Input, io.Pos);
        int err = Proc.DoIntVec(tmp, r);
        io.Consumed = r.Consumed;
        return err;
    }

    /// <summary>brnf_sysctl_call_tables: any non-zero value is stored as 1.</summary>
    private static int BrnfCallTables(CtlFile t, ProcIo io)
    {
        int err = Proc.DoIntVec(t, io);
        if (io.Write && t.Data![0] != 0) t.Data[0] = 1;
        return err;
    }

    /// <summary>Runs a generic handler on a copy of the values (the kernel's struct ctl_table tmp
    /// with its own data), so that the caller checks before storing.</summary>
    private static int OnCopy(CtlFile t, ProcIo io, long[] tmp, ProcHandler h, long? min, long? max)
    {
        var f = new CtlFile(t.Name, t.Mode, h) { Data = new SlotData(tmp, 0, tmp.Length), Min = min, Max = max };
        return h(f, io);
    }

    /// <summary>ipv4_local_port_range: two ports, the first not below ip_unprivileged_port_start.</summary>
    private static int LocalPortRange(CtlFile t, ProcIo io)
    {
        var d = t.Data!;
        long[] range = [d[0], d[1]];
        int ret = OnCopy(t, io, range, Proc.DoIntVecMinMax, t.Min, t.Max);
        if (io.Write && ret == 0)
        {
            if (range[1] < range[0] || range[0] < Values(t).Num("ipv4/ip_unprivileged_port_start")) return -Errno.EINVAL;
            d[0] = range[0];
            d[1] = range[1];
        }
        return ret;
    }

    /// <summary>ipv4_privileged_ports: not above the start of the local port range.</summary>
    private static int PrivilegedPorts(CtlFile t, ProcIo io)
    {
        var d = t.Data!;
        long[] pports = [d[0]];
        int ret = OnCopy(t, io, pports, Proc.DoIntVecMinMax, t.Min, t.Max);
        if (io.Write && ret == 0)
        {
            if (Values(t).Num("ipv4/ip_local_port_range") < pports[0]) return -Errno.EINVAL;
            d[0] = pports[0];
        }
        return ret;
    }

    /// <summary>ipv4_ping_group_range: two group ids; a range upside down means "nobody" (1 0).</summary>
    private static int PingGroupRange(CtlFile t, ProcIo io)
    {
        var d = t.Data!;
        long[] urange = [d[0], d[1]];
        var f = new CtlFile(t.Name, t.Mode, Proc.DoIntVec) { Data = new SlotData(urange, 0, 2) };
        int ret = Proc.DoIntVec(f, io, f.Data,
            (tt, data, i, neg, lval) =>
            {
                if (neg || lval > (ulong)t.Max!.Value) return false;
                data[i] = (long)lval;
                return true;
            },
            (long stored, out bool neg, out ulong lval) =>
            {
                neg = false;
                lval = (ulong)stored;
            });
        if (io.Write && ret == 0)
        {
            if (urange[1] < urange[0]) (urange[0], urange[1]) = (1, 0);
            d[0] = urange[0];
            d[1] = urange[1];
        }
        return ret;
    }

    /// <summary>proc_doulongvec_minmax of the fragment memory thresholds: low may not exceed high,
    /// high may not go below low.</summary>
    private static int FragThresh(CtlFile t, ProcIo io)
    {
        var v = Values(t);
        string path = ((NetCtlDef)t.Extra2!).Path;
        bool high = path.Contains("high_thresh");
        string other = high ? path.Replace("high_thresh", "low_thresh") : path.Replace("low_thresh", "high_thresh");
        var f = new CtlFile(t.Name, t.Mode, Proc.DoULongVecMinMax)
        {
            Data = t.Data,
            MinFn = high ? () => v.Num(other) : () => 0,
            MaxFn = high ? () => unchecked((long)ulong.MaxValue) : () => v.Num(other),
        };
        return Proc.DoULongVecMinMax(f, io);
    }

    /// <summary>A string entry whose value must be one of <paramref name="choices"/>.</summary>
    private static int StringChoice(CtlFile t, ProcIo io, int maxlen, string[] choices, int errno)
    {
        if (!io.Write) return Proc.DoString(t, io, maxlen);
        var tmp = new TextBox { Value = t.Text!.Value };
        var f = new CtlFile(t.Name, t.Mode, (_, _) => 0) { Text = tmp };
        int ret = Proc.DoString(f, io, maxlen);
        if (ret != 0) return ret;
        if (Array.IndexOf(choices, tmp.Value) < 0) return -errno;
        t.Text.Value = tmp.Value;
        return 0;
    }

    private sealed class TextBox : IProcString
    {
        public string Value { get; set; } = "";
    }

    /// <summary>proc_tcp_congestion_control: an available algorithm; outside the initial namespace
    /// only one of the allowed ones (others: EPERM), unknown names: ENOENT.</summary>
    private static int TcpCongestionControl(CtlFile t, ProcIo io)
    {
        if (!io.Write) return Proc.DoString(t, io, 16);
        var v = Values(t);
        var tmp = new TextBox { Value = t.Text!.Value };
        int ret = Proc.DoString(new CtlFile(t.Name, t.Mode, (_, _) => 0) { Text = tmp }, io, 16);
        if (ret != 0) return ret;
        var available = v.Str("ipv4/tcp_available_congestion_control").Split(' ');
        if (Array.IndexOf(available, tmp.Value) < 0) return -Errno.ENOENT;
        if (!v.IsInit && Array.IndexOf(v.Str("ipv4/tcp_allowed_congestion_control").Split(' '), tmp.Value) < 0)
            return -Errno.EPERM;
        t.Text.Value = tmp.Value;
        return 0;
    }

    /// <summary>proc_allowed_congestion_control: every name must be available; kept in the order of
    /// the available list.</summary>
    private static int TcpAllowedCongestionControl(CtlFile t, ProcIo io)
    {
        if (!io.Write) return Proc.DoString(t, io, 4096);
        var v = Values(t);
        var tmp = new TextBox { Value = t.Text!.Value };
        int ret = Proc.DoString(new CtlFile(t.Name, t.Mode, (_, _) => 0) { Text = tmp }, io, 4096);
        if (ret != 0) return ret;
        var available = v.Str("ipv4/tcp_available_congestion_control").Split(' ');
        var names = tmp.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        foreach (var n in names)
            if (Array.IndexOf(available, n) < 0) return -Errno.ENOENT;
        t.Text.Value = string.Join(' ', available.Where(a => names.Contains(a)));
        return 0;
    }

    /// <summary>proc_tcp_fastopen_key: "%x-%x-%x-%x", optionally a comma and the backup key.</summary>
    private static int TcpFastopenKey(CtlFile t, ProcIo io)
    {
        if (!io.Write) return Proc.DoString(t, io, 256);
        var tmp = new TextBox { Value = t.Text!.Value };
        int ret = Proc.DoString(new CtlFile(t.Name, t.Mode, (_, _) => 0) { Text = tmp }, io, 76);
        if (ret != 0) return ret;
        var parts = tmp.Value.Split(',', 2);
        var keys = new List<string>();
        foreach (var part in parts)
        {
            var k = ScanKey(part);
            if (k == null) return -Errno.EINVAL;
            keys.Add(k);
        }
        t.Text.Value = string.Join(',', keys);
        return 0;
    }

    /// <summary>sscanf(buf, "%x-%x-%x-%x"): four hex numbers (the fourth may be followed by anything).</summary>
    private static string? ScanKey(string s)
    {
        var words = new uint[4];
        int p = 0;
        for (int i = 0; i < 4; i++)
        {
            while (p < s.Length && char.IsWhiteSpace(s[p])) p++;
            if (p + 1 < s.Length && s[p] == '0' && (s[p + 1] | 0x20) == 'x') p += 2;
            int start = p;
            ulong val = 0;
            while (p < s.Length && Uri.IsHexDigit(s[p]))
            {
                val = val * 16 + (ulong)Convert.ToInt32(s[p].ToString(), 16);
                p++;
            }
            if (p == start) return null;
            words[i] = unchecked((uint)val);
            if (i < 3)
            {
                if (p >= s.Length || s[p] != '-') return null;
                p++;
            }
        }
        return $"{words[0]:x8}-{words[1]:x8}-{words[2]:x8}-{words[3]:x8}";
    }

    /// <summary>proc_do_large_bitmap over <paramref name="bits"/> bits (kept as its list text).</summary>
    private static int LargeBitmap(CtlFile t, ProcIo io, int bits)
    {
        if (!io.Write)
        {
            io.Output.Append(t.Text!.Value).Append('\n');
            return 0;
        }
        if (io.Input.Length == 0) { io.Consumed = 0; return 0; }
        var set = Proc.ParseBitmapList(io.Input, bits);
        if (set == null) return -Errno.EINVAL;
        if (io.Pos != 0)
        {
            var old = Proc.ParseBitmapList(System.Text.Encoding.ASCII.GetBytes(t.Text!.Value), bits);
            if (old != null) set.UnionWith(old);
        }
        t.Text!.Value = Proc.FormatBitmapList(set);
        return 0;
    }

    /// <summary>proc_path_manager: "kernel" or "userspace"; pm_type follows.</summary>
    private static int MptcpPathManager(CtlFile t, ProcIo io)
    {
        int ret = StringChoice(t, io, 16, ["kernel", "userspace"], Errno.ENOENT);
        if (io.Write && ret == 0) Values(t).SetNum("mptcp/pm_type", t.Text!.Value == "kernel" ? 0 : 1);
        return ret;
    }

    /// <summary>proc_pm_type: 0 or 1; path_manager follows.</summary>
    private static int MptcpPmType(CtlFile t, ProcIo io)
    {
        int ret = Proc.DoU8VecMinMax(t, io);
        if (io.Write && ret == 0) Values(t).SetStr("mptcp/path_manager", t.Data![0] == 0 ? "kernel" : "userspace");
        return ret;
    }
}

/// <summary>The values of one namespace's table (the kernel's per-netns sysctl variables).</summary>
public sealed class NetSysctlValues
{
    public NetSysctlValues(bool init)
    {
        IsInit = init;
        _nums = new long[NetTables.NumSlots];
        _strs = new string[NetTables.StrSlots];
        Array.Fill(_strs, "");
    }

    private NetSysctlValues(NetSysctlValues from, bool share)
    {
        IsInit = from.IsInit;
        if (share)
        {
            _nums = from._nums;
            _strs = from._strs;
            _shared = from._shared = true;
        }
        else
        {
            _nums = (long[])from._nums.Clone();
            _strs = (string[])from._strs.Clone();
        }
    }

    public bool IsInit { get; }
    private long[] _nums;
    private string[] _strs;
    /// <summary>The arrays are another namespace's too (copy on write): namespaces made from the
    /// same values share them until one of them writes, or until its tree is built (the entries
    /// then point into arrays of its own).</summary>
    private bool _shared;

    internal long[] Nums => _nums;
    internal string[] Strs => _strs;

    /// <summary>Gives this namespace arrays of its own before a write.</summary>
    internal void MakePrivate()
    {
        if (!_shared) return;
        _nums = (long[])_nums.Clone();
        _strs = (string[])_strs.Clone();
        _shared = false;
    }

    internal NetSysctlValues Copy() => new(this, share: false);
    /// <summary>A copy sharing the arrays until either side writes.</summary>
    internal NetSysctlValues Share() => new(this, share: true);

    /// <summary>Same values as <paramref name="other"/>?</summary>
    internal bool SameAs(NetSysctlValues other) =>
        _nums.AsSpan().SequenceEqual(other._nums) && _strs.AsSpan().SequenceEqual(other._strs);

    private static NetCtlDef Def(string path) => NetTables.Find(path) ?? throw new ArgumentException("no such entry: net/" + path);

    /// <summary>Element <paramref name="i"/> of a numeric entry (net/ + <paramref name="path"/>).</summary>
    public long Num(string path, int i = 0) => _nums[Def(path).Slot + i];
    public void SetNum(string path, long v, int i = 0)
    {
        MakePrivate();
        _nums[Def(path).Slot + i] = v;
    }
    public string Str(string path) => _strs[Def(path).StrSlot];
    public void SetStr(string path, string v)
    {
        MakePrivate();
        _strs[Def(path).StrSlot] = v;
    }

    /// <summary>Copies the entries a new namespace takes from the initial one.</summary>
    internal void InheritFrom(NetSysctlValues init)
    {
        MakePrivate();
        foreach (var d in NetTables.Defs)
        {
            if (!d.InheritsInit) continue;
            if (d.Slot >= 0) Array.Copy(init._nums, d.Slot, _nums, d.Slot, d.Length);
            if (d.StrSlot >= 0) _strs[d.StrSlot] = init._strs[d.StrSlot];
        }
    }
}
