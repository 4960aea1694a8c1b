using System.Net;

namespace SrsProxy.Udp;

internal sealed partial class UdpRelayEngine
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "{Relay} relay listening on udp {EndPoint} (receive buffer {ReceiveBuffer} B, send buffer {SendBuffer} B; {Engine})")]
    private partial void LogListening(string relay, IPEndPoint endPoint, int receiveBuffer, int sendBuffer, string engine);

    [LoggerMessage(EventId = 105, Level = LogLevel.Error, Message = "{Relay} relay: a session's origin receive loop failed")]
    private partial void LogOriginLoopFailed(string relay, Exception exception);

    [LoggerMessage(EventId = 106, Level = LogLevel.Critical, Message = "{Relay} relay: a receive loop failed; stopping the proxy")]
    private partial void LogLoopFailed(string relay, Exception exception);
}
