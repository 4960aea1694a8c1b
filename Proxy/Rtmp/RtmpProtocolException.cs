namespace SrsProxy.Rtmp;

/// <summary>The peer broke the RTMP protocol or a limit; the connection is closed with this reason.</summary>
internal sealed class RtmpProtocolException(string message) : Exception(message);
