using System.Net;
using System.Net.Sockets;

namespace SrsProxy.WebRtc.Relay;

internal sealed partial class RtcRelay
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "WebRTC relay listening on udp {EndPoint} (receive buffer {ReceiveBuffer} B, send buffer {SendBuffer} B; origin side: {Engine})")]
    private partial void LogListening(IPEndPoint endPoint, int receiveBuffer, int sendBuffer, string engine);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "RTC session {SessionId} opened: {Kind} {Stream}, username {Username}, origin udp {Origin}")]
    private partial void LogSessionOpened(string sessionId, string kind, string stream, string username, IPEndPoint origin);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "RTC session {SessionId} closed ({Reason}): {ToOrigin} datagrams to origin, {ToPlayer} to player")]
    private partial void LogSessionClosed(string sessionId, string reason, long toOrigin, long toPlayer);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "RTC session {SessionId}: player address {Player} (slot {Slot})")]
    private partial void LogPlayerBound(string sessionId, string player, int slot);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "RTC session {SessionId}: cannot open a socket towards the origin ({Error})")]
    private partial void LogOriginSocketFailed(string sessionId, SocketError error);

    [LoggerMessage(EventId = 105, Level = LogLevel.Error, Message = "RTC session {SessionId}: origin receive loop failed")]
    private partial void LogOriginLoopFailed(string sessionId, Exception exception);

    [LoggerMessage(EventId = 106, Level = LogLevel.Critical, Message = "WebRTC relay receive loop failed; stopping the proxy")]
    private partial void LogReceiveLoopFailed(Exception exception);

    [LoggerMessage(EventId = 108, Level = LogLevel.Information, Message = "RTC session {SessionId}: found in the shared registry by username {Username}; relaying it here")]
    private partial void LogSessionAdopted(string sessionId, string username);

    [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "Registry unavailable to the relay")]
    private partial void LogRegistryError(Exception exception);
}
