using System.Buffers.Binary;
using VirtKernel.Protocol.Netlink;
using static VirtKernel.Protocol.Uapi;

namespace VirtKernel.Tests.Support;

/// <summary>Helpers to look at reply datagrams in tests.</summary>
public static class NlBytes
{
    /// <summary>The messages of a datagram as netlink_rcv_skb would walk them.</summary>
    public static List<byte[]> Messages(ReadOnlySpan<byte> dg)
    {
        var list = new List<byte[]>();
        int off = 0;
        while (dg.Length - off >= NlMsgHdr.Size)
        {
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(dg[off..]);
            if (len < NlMsgHdr.Size || len > dg.Length - off) break;
            list.Add(dg.Slice(off, (int)len).ToArray());
            off += Nl.Align((int)len);
        }
        return list;
    }

    /// <summary>A copy with every message's nlmsg_pid set to 0.</summary>
    public static byte[] ZeroPids(ReadOnlySpan<byte> dg)
    {
        var b = dg.ToArray();
        int off = 0;
        while (b.Length - off >= NlMsgHdr.Size)
        {
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(off));
            if (len < NlMsgHdr.Size) break;
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(off + 12), 0);
            off += Nl.Align((int)len);
        }
        return b;
    }

    /// <summary>How a reply datagram is compared with the kernel's: NLMSG_ERROR and NLMSG_DONE byte
    /// for byte (pid zeroed), data messages by type, flags and sequence only (their content is the
    /// business of the link/address/route tests).</summary>
    public static string Comparable(ReadOnlySpan<byte> dg)
    {
        var parts = new List<string>();
        foreach (var m in Messages(ZeroPids(dg)))
        {
            var h = NlMsgHdr.Read(m);
            if (h.Type is NLMSG_ERROR or NLMSG_DONE) parts.Add(Convert.ToHexString(m).ToLowerInvariant());
            else parts.Add($"<type {h.Type} flags 0x{h.Flags:x} seq {h.Seq}>");
        }
        return string.Join(" ", parts);
    }

    /// <summary>Datagrams described message by message (for assertion messages).</summary>
    public static string DescribeAll(IEnumerable<byte[]> datagrams)
    {
        var sb = new System.Text.StringBuilder();
        int n = 0;
        foreach (var dg in datagrams)
        {
            sb.Append($"datagram {n++} ({dg.Length} bytes)\n");
            foreach (var m in NlMessageTree.ParseDatagram(ZeroPids(dg), VirtKernel.Protocol.Rtnetlink.RtnlSchema.Schema, out var rest))
            {
                if (m.Header.Type is NLMSG_ERROR or NLMSG_DONE) sb.Append(m.Describe());
                else sb.Append($"  {m.Name} len {m.Header.Len} flags 0x{m.Header.Flags:x} seq {m.Header.Seq}\n");
            }
        }
        if (n == 0) sb.Append("(silence)\n");
        return sb.ToString();
    }

    public static NlMessageTree Tree(ReadOnlySpan<byte> msg) =>
        NlMessageTree.Parse(msg, VirtKernel.Protocol.Rtnetlink.RtnlSchema.Schema);
}
