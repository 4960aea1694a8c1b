namespace SrsProxy.WebRtc.Relay;

/// <summary>What a datagram on the WebRTC port is, by its first byte (RFC 7983 section 7).</summary>
internal enum DatagramKind : byte
{
    Unknown,
    Stun,
    Dtls,
    Rtp,
}

internal static class DatagramClass
{
    public static DatagramKind Of(byte first) => first switch
    {
        <= 3 => DatagramKind.Stun,
        >= 20 and <= 63 => DatagramKind.Dtls,
        >= 128 and <= 191 => DatagramKind.Rtp,
        _ => DatagramKind.Unknown,
    };
}
