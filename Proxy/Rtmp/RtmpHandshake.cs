using System.Buffers.Binary;

namespace SrsProxy.Rtmp;

/// <summary>
/// The simple RTMP handshake (RTMP specification section 5.2): C0/C1 → S0/S1/S2 → C2. ffmpeg, OBS, SRS and
/// nginx-rtmp all accept it. Only the version byte is checked; the random parts are echoed, not verified.
/// </summary>
internal static class RtmpHandshake
{
    public const int PacketSize = 1536;
    private const byte Version = 3;

    /// <summary>As the server, towards a publisher or player.</summary>
    public static async Task AcceptAsync(Stream input, Stream output, CancellationToken cancellationToken)
    {
        var c0c1 = new byte[1 + PacketSize];
        await input.ReadExactlyAsync(c0c1, cancellationToken);
        if (c0c1[0] != Version)
        {
            throw new RtmpProtocolException($"RTMP version {c0c1[0]}, expected {Version} (is this RTMPE or not RTMP at all?)");
        }

        var s0s1s2 = new byte[1 + PacketSize * 2];
        s0s1s2[0] = Version;
        FillOwnPacket(s0s1s2.AsSpan(1, PacketSize));
        c0c1.AsSpan(1, PacketSize).CopyTo(s0s1s2.AsSpan(1 + PacketSize));
        await output.WriteAsync(s0s1s2, cancellationToken);
        await output.FlushAsync(cancellationToken);

        var c2 = new byte[PacketSize];
        await input.ReadExactlyAsync(c2, cancellationToken);
    }

    /// <summary>As a client, towards an origin.</summary>
    public static async Task ConnectAsync(Stream input, Stream output, CancellationToken cancellationToken)
    {
        var c0c1 = new byte[1 + PacketSize];
        c0c1[0] = Version;
        FillOwnPacket(c0c1.AsSpan(1));
        await output.WriteAsync(c0c1, cancellationToken);
        await output.FlushAsync(cancellationToken);

        var s0s1s2 = new byte[1 + PacketSize * 2];
        await input.ReadExactlyAsync(s0s1s2, cancellationToken);
        if (s0s1s2[0] != Version)
        {
            throw new RtmpProtocolException($"origin answered RTMP version {s0s1s2[0]}");
        }

        await output.WriteAsync(s0s1s2.AsMemory(1, PacketSize), cancellationToken);
        await output.FlushAsync(cancellationToken);
    }

    private static void FillOwnPacket(Span<byte> packet)
    {
        BinaryPrimitives.WriteUInt32BigEndian(packet, (uint)Environment.TickCount);
        packet[4..8].Clear();
        // The plain handshake's random bytes are echoed back and carry no secret: a fast generator, not the
        // framework's cryptographic one, which on Linux is OpenSSL and would map libcrypto (about 5 MB) into every
        // proxy that relays RTMP.
        Random.Shared.NextBytes(packet[8..]);
    }
}
