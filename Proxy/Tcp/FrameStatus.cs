namespace SrsProxy.Tcp;

/// <summary>What <see cref="Rfc4571.TryReadFrame"/> found at the start of a stream's unread bytes.</summary>
internal enum FrameStatus
{
    /// <summary>Not a whole frame yet: read more.</summary>
    Incomplete,

    /// <summary>A whole frame; its payload follows the two length bytes.</summary>
    Complete,

    /// <summary>The length field is zero: no packet in it (RFC 4571 frames carry one packet each).</summary>
    Empty,

    /// <summary>The length field exceeds what the relay takes: the stream cannot be trusted to be framed.</summary>
    TooLong,
}
