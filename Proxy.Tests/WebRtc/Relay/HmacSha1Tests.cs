using System.Security.Cryptography;
using System.Text;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Tests.WebRtc.Relay;

/// <summary>
/// The relay's own HMAC-SHA1 (STUN's MESSAGE-INTEGRITY) against the published test vectors and against OpenSSL's
/// (the framework's <see cref="HMACSHA1"/> on Linux) for keys and messages of every length around SHA-1's
/// 64-byte block, where padding goes wrong if it goes wrong anywhere.
/// </summary>
public sealed class HmacSha1Tests
{
    [Theory]
    [InlineData("", "da39a3ee5e6b4b0d3255bfef95601890afd80709")]
    [InlineData("abc", "a9993e364706816aba3e25717850c26c9cd0d89d")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1")]
    public void Sha1_FipsVectors(string message, string hash)
    {
        Span<byte> actual = stackalloc byte[HmacSha1.HashLength];
        HmacSha1.Sha1.Hash(Encoding.ASCII.GetBytes(message), actual);
        Assert.Equal(hash, Convert.ToHexStringLower(actual));
    }

    [Fact]
    public void Sha1_AMillionAs_FedInUnevenPieces()
    {
        var sha = new HmacSha1.Sha1();
        var piece = Encoding.ASCII.GetBytes(new string('a', 997));
        var left = 1_000_000;
        while (left > 0)
        {
            var part = Math.Min(left, piece.Length);
            sha.Append(piece.AsSpan(0, part));
            left -= part;
        }

        Span<byte> actual = stackalloc byte[HmacSha1.HashLength];
        sha.Finish(actual);
        Assert.Equal("34aa973cd4c4daa4f61eeb2bdbad27316534016f", Convert.ToHexStringLower(actual));
    }

    /// <summary>RFC 2202 section 3, test cases 1 to 7 (case 5's truncation left out: the full MAC is compared).</summary>
    [Theory]
    [InlineData("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265", "b617318655057264e28bc0b6fb378c8ef146be00")]
    [InlineData("4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd", "125d7342b9ac11cd91a39af48aa17b4f63f175d3")]
    [InlineData("0102030405060708090a0b0c0d0e0f10111213141516171819", "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd", "4c9007f4026250c6bc8414f9bf50c86c2d7235da")]
    [InlineData("0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", "546573742057697468205472756e636174696f6e", "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04")]
    public void Hmac_Rfc2202Vectors(string key, string data, string mac)
    {
        Span<byte> actual = stackalloc byte[HmacSha1.HashLength];
        HmacSha1.HashData(Convert.FromHexString(key), Convert.FromHexString(data), actual);
        Assert.Equal(mac, Convert.ToHexStringLower(actual));
    }

    [Theory]
    [InlineData("Test Using Larger Than Block-Size Key - Hash Key First", "aa4ae5e15272d00e95705637ce8a3b55ed402112")]
    [InlineData("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data", "e8e99d0f45237d786d6bbaa7965c7808bbff1a91")]
    public void Hmac_Rfc2202_KeysLongerThanABlock(string data, string mac)
    {
        Span<byte> actual = stackalloc byte[HmacSha1.HashLength];
        HmacSha1.HashData(Enumerable.Repeat((byte)0xaa, 80).ToArray(), Encoding.ASCII.GetBytes(data), actual);
        Assert.Equal(mac, Convert.ToHexStringLower(actual));
    }

    [Fact]
    public void Hmac_EveryLengthAroundTheBlock_AgreesWithOpenSsl()
    {
        var random = new Random(20261201);
        int[] keyLengths = [0, 1, 16, 22, 55, 56, 63, 64, 65, 127, 128, 200];
        int[] dataLengths = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 548, 1200, 1500];
        Span<byte> ours = stackalloc byte[HmacSha1.HashLength];
        foreach (var keyLength in keyLengths)
        {
            foreach (var dataLength in dataLengths)
            {
                var key = new byte[keyLength];
                var data = new byte[dataLength];
                random.NextBytes(key);
                random.NextBytes(data);
                HmacSha1.HashData(key, data, ours);
                Assert.True(HMACSHA1.HashData(key, data).AsSpan().SequenceEqual(ours), $"key {keyLength} bytes, data {dataLength} bytes");
            }
        }
    }
}
