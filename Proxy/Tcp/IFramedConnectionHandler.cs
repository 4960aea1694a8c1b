namespace SrsProxy.Tcp;

/// <summary>
/// The protocol side of a <see cref="FramedTcpListener"/>: what a connection's frames mean. Called on the
/// connection's own read task, one frame at a time; the frame's bytes are valid only during the call.
/// </summary>
internal interface IFramedConnectionHandler
{
    /// <summary>
    /// The connection's first frame, its only chance to prove it belongs here. False closes the connection without
    /// an answer (the refusal is counted as <see cref="TcpCloseReason.BadFirstFrame"/>).
    /// </summary>
    bool OnFirstFrame(FramedConnection connection, ReadOnlySpan<byte> frame);

    /// <summary>Every later frame. False closes the connection (its session ended).</summary>
    bool OnFrame(FramedConnection connection, ReadOnlySpan<byte> frame);

    /// <summary>The connection closed, for whatever reason; called once, after its last frame.</summary>
    void OnClosed(FramedConnection connection);
}
