using System.Buffers.Binary;
using VirtKernel.Protocol.Netlink;
using VirtKernel.Protocol.Rtnetlink;

namespace VirtKernel.Tests.Fuzz;

/// <summary>Mutations of a request datagram: bit flips and interesting bytes, lying nlmsg_len and
/// nla_len, truncation, attribute shuffles, drops, duplicates and insertions (unknown types, deep
/// nests), changed types, flags and fixed headers, garbage or a second message after the first.
/// Structural mutations go through <see cref="NlMessageTree"/>, which keeps what it cannot parse.</summary>
public sealed class Mutator(Random rng, FuzzCorpus corpus)
{
    private static readonly byte[] Interesting = [0x00, 0x01, 0x03, 0x04, 0x7f, 0x80, 0xfe, 0xff];

    public byte[] Mutate(byte[] datagram)
    {
        var b = datagram;
        int n = 1 + rng.Next(rng.Next(4) == 0 ? 6 : 3);
        for (int i = 0; i < n && b.Length > 0; i++) b = MutateOnce(b);
        return b;
    }

    private byte[] MutateOnce(byte[] b)
    {
        switch (rng.Next(16))
        {
            case 0:
            case 1:
            {
                b = b.ToArray();
                int flips = 1 + rng.Next(8);
                for (int i = 0; i < flips; i++) b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                return b;
            }
            case 2:
                b = b.ToArray();
                b[rng.Next(b.Length)] = Interesting[rng.Next(Interesting.Length)];
                return b;
            case 3:
            {
                if (b.Length < 4) return b;
                b = b.ToArray();
                uint len = BinaryPrimitives.ReadUInt32LittleEndian(b);
                uint[] choices = [0, 4, 15, 16, 17, len - 1, len + 1, len + 4, len - 4, (uint)rng.Next(0, 2 * b.Length + 1), uint.MaxValue];
                BinaryPrimitives.WriteUInt32LittleEndian(b, choices[rng.Next(choices.Length)]);
                return b;
            }
            case 4:
            case 5:
                return AttrLength(b);
            case 6:
            {
                int cut = rng.Next(b.Length);
                var t = b[..cut];
                if (t.Length >= 4 && rng.Next(2) == 0) BinaryPrimitives.WriteUInt32LittleEndian(t, (uint)t.Length);
                return t;
            }
            case 7:
            case 8:
                return Structural(b, Shuffle);
            case 9:
                return Structural(b, (list, _) =>
                {
                    if (list.Count == 0) return;
                    int i = rng.Next(list.Count);
                    if (rng.Next(2) == 0) list.RemoveAt(i);
                    else list.Insert(rng.Next(list.Count + 1), Clone(list[i]));
                });
            case 10:
                return Structural(b, (list, _) => list.Insert(rng.Next(list.Count + 1), RandomAttr(0)));
            case 11:
            {
                if (b.Length < 6) return b;
                b = b.ToArray();
                ushort type = rng.Next(3) switch { 0 => (ushort)rng.Next(0, 20), 1 => (ushort)rng.Next(16, 140), _ => (ushort)rng.Next(65536) };
                BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(4), type);
                return b;
            }
            case 12:
            {
                if (b.Length < 8) return b;
                b = b.ToArray();
                ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(6));
                flags ^= (ushort)(1 << rng.Next(rng.Next(3) == 0 ? 16 : 11));
                BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(6), flags);
                return b;
            }
            case 13:
            {
                // the fixed header: family, index, prefix length, table...
                if (b.Length <= 16) return b;
                b = b.ToArray();
                int end = Math.Min(b.Length, 32);
                int k = 1 + rng.Next(3);
                for (int i = 0; i < k; i++) b[16 + rng.Next(end - 16)] = rng.Next(3) == 0 ? Interesting[rng.Next(Interesting.Length)] : (byte)rng.Next(256);
                return b;
            }
            case 14:
            {
                // something after the message: garbage, zeros, or another request
                byte[] tail = rng.Next(3) switch
                {
                    0 => RandomBytes(rng.Next(1, 24)),
                    1 => new byte[rng.Next(1, 130)],
                    _ => corpus.Next(),
                };
                int pad = rng.Next(3) == 0 ? rng.Next(4) : (4 - b.Length % 4) % 4;
                return [.. b, .. RandomBytes(pad), .. tail];
            }
            default:
                return Structural(b, (list, depth) =>
                {
                    // a deep nest in place of or beside an attribute
                    var node = new NlAttrNode { RawType = (ushort)rng.Next(1, 80) };
                    var cur = node;
                    int levels = rng.Next(2, 300);
                    for (int i = 0; i < levels && depth + i < 1000; i++)
                    {
                        var child = new NlAttrNode { RawType = (ushort)(rng.Next(1, 6) | (rng.Next(2) == 0 ? Nl.AttrFNested : 0)) };
                        cur.Children = [child];
                        cur = child;
                    }
                    list.Insert(rng.Next(list.Count + 1), node);
                });
        }
    }

    private byte[] RandomBytes(int n)
    {
        var b = new byte[n];
        rng.NextBytes(b);
        return b;
    }

    /// <summary>Sets the nla_len of a random attribute (at any depth) to a lie.</summary>
    private byte[] AttrLength(byte[] b)
    {
        var offsets = new List<int>();
        try
        {
            var msgs = NlMessageTree.ParseDatagram(b, RtnlSchema.Schema, out _);
            if (msgs.Count == 0) return b;
            int off = NlMsgHdr.Size + msgs[0].Fixed.Length;
            Collect(msgs[0].Attributes, off, offsets);
        }
        catch (FormatException) { return b; }
        if (offsets.Count == 0) return b;
        b = b.ToArray();
        int at = offsets[rng.Next(offsets.Count)];
        ushort len = BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at));
        ushort[] choices = [0, 1, 2, 3, 4, 5, (ushort)(len - 1), (ushort)(len + 1), (ushort)(len + 4), (ushort)(len + 100), ushort.MaxValue];
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at), choices[rng.Next(choices.Length)]);
        return b;
    }

    private static void Collect(List<NlAttrNode> attrs, int off, List<int> into)
    {
        foreach (var a in attrs)
        {
            into.Add(off);
            if (a.Children != null) Collect(a.Children, off + Nl.AttrHdrLen + a.Data.Length, into);
            off += a.EncodedLength;
        }
    }

    /// <summary>Applies <paramref name="change"/> to the attribute list of the first message or of
    /// one of its nests, and emits the datagram again (nlmsg_len and nest lengths recomputed).</summary>
    private byte[] Structural(byte[] b, Action<List<NlAttrNode>, int> change)
    {
        List<NlMessageTree> msgs;
        byte[] trailing;
        try { msgs = NlMessageTree.ParseDatagram(b, RtnlSchema.Schema, out trailing); }
        catch (FormatException) { return b; }
        if (msgs.Count == 0) return b;
        var lists = new List<(List<NlAttrNode> List, int Depth)> { (msgs[0].Attributes, 0) };
        Lists(msgs[0].Attributes, 1, lists);
        var (list, depth) = lists[rng.Next(lists.Count)];
        change(list, depth);
        try { return NlMessageTree.ToDatagram(msgs, trailing); }
        catch (InvalidOperationException) { return b; } // a nest grew past 64 KiB
    }

    private static void Lists(List<NlAttrNode> attrs, int depth, List<(List<NlAttrNode>, int)> into)
    {
        foreach (var a in attrs)
        {
            if (a.Children == null) continue;
            into.Add((a.Children, depth));
            Lists(a.Children, depth + 1, into);
        }
    }

    private void Shuffle(List<NlAttrNode> list, int depth)
    {
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    private NlAttrNode RandomAttr(int depth)
    {
        ushort type = rng.Next(4) switch
        {
            0 => (ushort)rng.Next(0, 70),
            1 => (ushort)rng.Next(70, 600),
            2 => (ushort)(rng.Next(1, 70) | Nl.AttrFNested),
            _ => (ushort)rng.Next(65536),
        };
        if (depth < 4 && rng.Next(4) == 0)
            return new NlAttrNode { RawType = type, Children = Enumerable.Range(0, rng.Next(1, 4)).Select(_ => RandomAttr(depth + 1)).ToList() };
        int len = rng.Next(6) switch { 0 => 0, 1 => 1, 2 => 2, 3 => 4, 4 => 8, _ => rng.Next(0, 40) };
        return new NlAttrNode { RawType = type, Data = RandomBytes(len) };
    }

    private static NlAttrNode Clone(NlAttrNode a) => new()
    {
        RawType = a.RawType, Data = a.Data, Trailing = a.Trailing, Padding = a.Padding, Spec = a.Spec,
        Children = a.Children?.Select(Clone).ToList(),
    };
}
