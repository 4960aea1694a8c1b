namespace SrsProxy.Udp;

/// <summary>
/// A stream connection that carries a client's datagrams instead of the public UDP socket (ICE-TCP, RFC 6544):
/// what the engine hands an origin's datagram to when the session's destination is a <see cref="StreamAddress"/>.
/// </summary>
internal interface IStreamSink
{
    /// <summary>
    /// Queues one datagram as one frame, copying it; never blocks. False when the connection is closed or its
    /// queue is full (the sink counts why): the datagram is dropped, as a full UDP send buffer drops it.
    /// </summary>
    bool TrySend(ReadOnlySpan<byte> datagram);

    /// <summary>Closes the connection (its session ended); safe to call twice and from any thread.</summary>
    void Abort();
}
