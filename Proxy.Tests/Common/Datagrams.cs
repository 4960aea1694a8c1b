using System.Net;
using System.Net.Sockets;

namespace SrsProxy.Tests.Common;

/// <summary>Reading a test's own UDP sockets: what arrived, and proof that nothing did.</summary>
internal static class Datagrams
{
    /// <summary>Large enough for any datagram a test sends, oversized ones included.</summary>
    private const int BufferSize = 65536;

    /// <summary>The next datagram on <paramref name="socket"/>, or null when none came within <paramref name="milliseconds"/>.</summary>
    public static async Task<byte[]?> ReceiveAsync(Socket socket, int milliseconds = 2000)
    {
        var buffer = new byte[BufferSize];
        using var timeout = new CancellationTokenSource(milliseconds);
        try
        {
            var received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), timeout.Token);
            return buffer[..received.ReceivedBytes];
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// Fails if a datagram reaches any of <paramref name="sockets"/> within <see cref="Wait.QuietMilliseconds"/>,
    /// all watched at once. "Nothing arrived" cannot be waited for like a condition; this watches long enough
    /// that a datagram the relay wrongly sends would be seen.
    /// </summary>
    public static async Task AssertNoneAsync(params Socket[] sockets)
    {
        var received = await Task.WhenAll(sockets.Select(s => ReceiveAsync(s, Wait.QuietMilliseconds)));
        for (var i = 0; i < sockets.Length; i++)
        {
            Assert.True(received[i] is null, $"a datagram of {received[i]?.Length} bytes reached {sockets[i].LocalEndPoint}");
        }
    }
}
