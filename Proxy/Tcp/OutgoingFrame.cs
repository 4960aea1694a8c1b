namespace SrsProxy.Tcp;

/// <summary>A frame waiting in a connection's queue: a pooled buffer holding the length header and the payload.</summary>
internal readonly record struct OutgoingFrame(byte[] Buffer, int Length);
