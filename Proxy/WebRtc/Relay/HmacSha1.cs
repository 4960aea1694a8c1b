using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace SrsProxy.WebRtc.Relay;

/// <summary>
/// HMAC-SHA1 (RFC 2104 over FIPS 180-4's SHA-1), the MAC of STUN's short-term credentials (RFC 8489 section
/// 14.5), computed here rather than by <c>System.Security.Cryptography</c>: on Linux that one is OpenSSL, and
/// the relay's first ICE check loaded libcrypto, libssl and the runtime's shim into every proxy that relays
/// WebRTC, about 5 MB of resident memory for one MAC per player address. SHA-1 is what STUN prescribes, not a
/// choice made here; it is checked against OpenSSL's in the tests. MACs are compared with
/// <see cref="System.Security.Cryptography.CryptographicOperations.FixedTimeEquals"/>, which is managed code and
/// loads no native library.
/// </summary>
internal static class HmacSha1
{
    public const int HashLength = 20;
    private const int BlockLength = 64;

    /// <summary>Writes the 20-byte MAC of <paramref name="data"/> under <paramref name="key"/> into <paramref name="mac"/>.</summary>
    public static void HashData(ReadOnlySpan<byte> key, ReadOnlySpan<byte> data, Span<byte> mac)
    {
        Span<byte> pad = stackalloc byte[BlockLength];
        pad.Clear();
        if (key.Length > BlockLength)
        {
            Sha1.Hash(key, pad);
        }
        else
        {
            key.CopyTo(pad);
        }

        // Inner: SHA-1((K ^ ipad) || data); outer: SHA-1((K ^ opad) || inner).
        for (var i = 0; i < BlockLength; i++)
        {
            pad[i] ^= 0x36;
        }

        var inner = new Sha1();
        inner.Append(pad);
        inner.Append(data);
        Span<byte> innerHash = stackalloc byte[HashLength];
        inner.Finish(innerHash);

        for (var i = 0; i < BlockLength; i++)
        {
            pad[i] ^= 0x36 ^ 0x5C;
        }

        var outer = new Sha1();
        outer.Append(pad);
        outer.Append(innerHash);
        outer.Finish(mac);
    }

    /// <summary>SHA-1, fed in pieces: five state words, a block being filled, and the length so far.</summary>
    internal struct Sha1
    {
        private uint _h0, _h1, _h2, _h3, _h4;
        private Block _block;
        private int _filled;
        private ulong _length;

        public Sha1()
        {
            (_h0, _h1, _h2, _h3, _h4) = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0);
        }

        public static void Hash(ReadOnlySpan<byte> data, Span<byte> hash)
        {
            var sha = new Sha1();
            sha.Append(data);
            sha.Finish(hash);
        }

        public void Append(ReadOnlySpan<byte> data)
        {
            _length += (ulong)data.Length;
            while (data.Length > 0)
            {
                var part = Math.Min(data.Length, BlockLength - _filled);
                data[..part].CopyTo(((Span<byte>)_block)[_filled..]);
                _filled += part;
                data = data[part..];
                if (_filled == BlockLength)
                {
                    Compress(_block);
                    _filled = 0;
                }
            }
        }

        /// <summary>Pads (0x80, zeros, the length in bits, big-endian) and writes the 20-byte hash.</summary>
        public void Finish(Span<byte> hash)
        {
            var bits = _length * 8;
            Span<byte> block = _block;
            block[_filled++] = 0x80;
            if (_filled > BlockLength - 8)
            {
                block[_filled..].Clear();
                Compress(block);
                _filled = 0;
            }

            block[_filled..(BlockLength - 8)].Clear();
            BinaryPrimitives.WriteUInt64BigEndian(block[(BlockLength - 8)..], bits);
            Compress(block);
            BinaryPrimitives.WriteUInt32BigEndian(hash, _h0);
            BinaryPrimitives.WriteUInt32BigEndian(hash[4..], _h1);
            BinaryPrimitives.WriteUInt32BigEndian(hash[8..], _h2);
            BinaryPrimitives.WriteUInt32BigEndian(hash[12..], _h3);
            BinaryPrimitives.WriteUInt32BigEndian(hash[16..], _h4);
        }

        private void Compress(ReadOnlySpan<byte> block)
        {
            Span<uint> w = stackalloc uint[80];
            for (var t = 0; t < 16; t++)
            {
                w[t] = BinaryPrimitives.ReadUInt32BigEndian(block[(t * 4)..]);
            }

            for (var t = 16; t < 80; t++)
            {
                w[t] = BitOperations.RotateLeft(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);
            }

            var (a, b, c, d, e) = (_h0, _h1, _h2, _h3, _h4);
            for (var t = 0; t < 80; t++)
            {
                var (f, k) = t switch
                {
                    < 20 => ((b & c) | (~b & d), 0x5A827999u),
                    < 40 => (b ^ c ^ d, 0x6ED9EBA1u),
                    < 60 => ((b & c) | (b & d) | (c & d), 0x8F1BBCDCu),
                    _ => (b ^ c ^ d, 0xCA62C1D6u),
                };
                var temp = BitOperations.RotateLeft(a, 5) + f + e + k + w[t];
                (e, d, c, b, a) = (d, c, BitOperations.RotateLeft(b, 30), a, temp);
            }

            _h0 += a;
            _h1 += b;
            _h2 += c;
            _h3 += d;
            _h4 += e;
        }

        [InlineArray(BlockLength)]
        private struct Block
        {
            private byte _first;
        }
    }
}
