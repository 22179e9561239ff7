namespace VirtKernel.Model;

/// <summary>The TCP congestion control algorithms the kernel knows (tcp_cong_list), as far as route
/// metrics need them: RTAX_CC_ALGO stores a key (tcp_ca_get_key_by_name) and dumps give the name
/// back (tcp_ca_get_name_by_key).</summary>
public static class TcpCongestion
{
    /// <summary>tcp_available_congestion_control of the reference machine.</summary>
    private static readonly string[] Names = ["reno", "bbr", "cubic"];

    /// <summary>tcp_ca_get_key_by_name: 0 (TCP_CA_UNSPEC) for an unknown name.</summary>
    public static uint KeyByName(string name)
    {
        int i = Array.IndexOf(Names, name);
        return i < 0 ? 0u : (uint)(i + 1);
    }

    /// <summary>tcp_ca_get_name_by_key: null for an unknown key.</summary>
    public static string? NameByKey(uint key) => key >= 1 && key <= Names.Length ? Names[key - 1] : null;
}
