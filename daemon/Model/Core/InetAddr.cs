using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace VirtKernel.Model;

/// <summary>Helpers for addresses as the model stores them: IPv4 as a host-order uint, IPv6 as a
/// UInt128 holding the address as a big-endian number, so that numeric order is address order.</summary>
public static class Inet
{
    public static uint V4(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadUInt32BigEndian(b);
    public static void V4(uint a, Span<byte> dst) => BinaryPrimitives.WriteUInt32BigEndian(dst, a);
    public static UInt128 V6(ReadOnlySpan<byte> b) => BinaryPrimitives.ReadUInt128BigEndian(b);
    public static void V6(UInt128 a, Span<byte> dst) => BinaryPrimitives.WriteUInt128BigEndian(dst, a);

    public static uint Mask4(int plen) => plen == 0 ? 0u : uint.MaxValue << (32 - plen);
    public static UInt128 Mask6(int plen) => plen == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - plen);

    public static uint ParseV4(string s) => V4(IPAddress.Parse(s).GetAddressBytes());
    public static UInt128 ParseV6(string s) => V6(IPAddress.Parse(s).GetAddressBytes());

    public static string FormatV4(uint a)
    {
        Span<byte> b = stackalloc byte[4];
        V4(a, b);
        return new IPAddress(b).ToString();
    }

    public static string FormatV6(UInt128 a)
    {
        Span<byte> b = stackalloc byte[16];
        V6(a, b);
        return new IPAddress(b).ToString();
    }

    // include/net/ipv6.h / net/ipv6/addrconf_core.c: __ipv6_addr_type() scope values
    public const int Ipv6ScopeNodeLocal = 0x01, Ipv6ScopeLinkLocal = 0x02, Ipv6ScopeSiteLocal = 0x05,
        Ipv6ScopeOrgLocal = 0x08, Ipv6ScopeGlobal = 0x0e;

    public static bool IsV6LinkLocal(UInt128 a) => (a >> 118) == 0x3fa; // fe80::/10
    public static bool IsV6Multicast(UInt128 a) => (a >> 120) == 0xff;
    public static bool IsV6Loopback(UInt128 a) => a == UInt128.One;
    public static bool IsV6Any(UInt128 a) => a == UInt128.Zero;
    public static bool IsV4Mapped(UInt128 a) => (a >> 32) == 0xffff;

    /// <summary>ipv6_addr_src_scope(): the scope used to order a device's address list.</summary>
    public static int Ipv6SrcScope(UInt128 a)
    {
        if (IsV6Multicast(a)) return (int)((a >> 112) & 0xf);
        if (IsV6Loopback(a)) return Ipv6ScopeNodeLocal;
        if (IsV6LinkLocal(a)) return Ipv6ScopeLinkLocal;
        if ((a >> 118) == 0x3fb) return Ipv6ScopeSiteLocal; // fec0::/10
        if (IsV4Mapped(a))
        {
            uint v4 = (uint)a;
            if ((v4 >> 24) == 127 || (v4 >> 16) == 0xa9fe) return Ipv6ScopeLinkLocal;
        }
        return Ipv6ScopeGlobal;
    }

    /// <summary>ipv4_is_multicast/lbcast/zeronet...</summary>
    public static bool IsV4Multicast(uint a) => (a & 0xf0000000) == 0xe0000000;
    public static bool IsV4Loopback(uint a) => (a >> 24) == 127;
    public static bool IsV4LimitedBroadcast(uint a) => a == 0xffffffff;
    public static bool IsV4ZeroNet(uint a) => (a >> 24) == 0;

    public static AddressFamily Family(int af) => af == 10 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
}
