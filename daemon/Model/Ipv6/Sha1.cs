using System.Buffers.Binary;
using System.Numerics;

namespace VirtKernel.Model.Ipv6;

/// <summary>The SHA-1 compression function on one 64-byte block from the standard initial state,
/// without padding — what lib/crypto/sha1.c sha1_transform after sha1_init computes, which
/// ipv6_generate_stable_address uses (a full SHA-1 hash would give other bits).</summary>
public static class Sha1
{
    public static void TransformOneBlock(ReadOnlySpan<byte> block, Span<uint> digest)
    {
        digest[0] = 0x67452301; digest[1] = 0xefcdab89; digest[2] = 0x98badcfe; digest[3] = 0x10325476; digest[4] = 0xc3d2e1f0;
        Span<uint> w = stackalloc uint[80];
        for (int i = 0; i < 16; i++) w[i] = BinaryPrimitives.ReadUInt32BigEndian(block[(i * 4)..]);
        for (int i = 16; i < 80; i++) w[i] = BitOperations.RotateLeft(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint a = digest[0], b = digest[1], c = digest[2], d = digest[3], e = digest[4];
        for (int i = 0; i < 80; i++)
        {
            uint f, k;
            if (i < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
            else if (i < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
            else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
            else { f = b ^ c ^ d; k = 0xca62c1d6; }
            uint t = BitOperations.RotateLeft(a, 5) + f + e + k + w[i];
            e = d; d = c; c = BitOperations.RotateLeft(b, 30); b = a; a = t;
        }
        digest[0] += a; digest[1] += b; digest[2] += c; digest[3] += d; digest[4] += e;
    }
}
