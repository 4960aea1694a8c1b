using System.Text;

namespace SrsProxy.Tests.Common;

/// <summary>
/// The inverse of the proxy's stream id decoding, which only peers need: the tests build handshakes with it,
/// and the fuzz harness (scripts/Fuzz, which compiles this file too) checks decoding against it.
/// </summary>
internal static class SrtStreamIdEncoding
{
    /// <summary>A stream id as libsrt puts it in the handshake extension: UTF-8, each 4-byte word reversed, zero-padded.</summary>
    public static byte[] Encode(string streamId)
    {
        var bytes = Encoding.UTF8.GetBytes(streamId);
        var padded = new byte[(bytes.Length + 3) / 4 * 4];
        for (var i = 0; i < padded.Length; i += 4)
        {
            for (var j = 0; j < 4; j++)
            {
                padded[i + j] = i + 3 - j < bytes.Length ? bytes[i + 3 - j] : (byte)0;
            }
        }

        return padded;
    }
}
