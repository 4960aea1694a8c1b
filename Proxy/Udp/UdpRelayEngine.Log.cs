using System.Net;
using SrsProxy.Configuration;

namespace SrsProxy.Udp;

internal sealed partial class UdpRelayEngine
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "{Relay} relay listening on udp {EndPoint} (receive buffer {ReceiveBuffer} B, send buffer {SendBuffer} B; {Engine})")]
    private partial void LogListening(string relay, IPEndPoint endPoint, int receiveBuffer, int sendBuffer, string engine);

    [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "{Relay} relay: {Pump} cannot run at priority {Priority} ({Error}): it runs at normal priority. Realtime needs CAP_SYS_NICE or an RLIMIT_RTPRIO of at least 1, high CAP_SYS_NICE or an RLIMIT_NICE of at least 30")]
    private partial void LogPriorityRefused(string relay, string pump, PumpPriority priority, string error);

    [LoggerMessage(EventId = 105, Level = LogLevel.Error, Message = "{Relay} relay: a session's origin receive loop failed")]
    private partial void LogOriginLoopFailed(string relay, Exception exception);

    [LoggerMessage(EventId = 106, Level = LogLevel.Critical, Message = "{Relay} relay: a receive loop failed; stopping the proxy")]
    private partial void LogLoopFailed(string relay, Exception exception);
}
