using System.Net;
using System.Net.Sockets;

namespace SrsProxy.WebRtc.Relay;

internal sealed partial class RtcRelay
{
    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "RTC session {SessionId} opened: {Kind} {Stream}, username {Username}, origin udp {Origin}")]
    private partial void LogSessionOpened(string sessionId, string kind, string stream, string username, IPEndPoint origin);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "RTC session {SessionId} closed ({Reason}): {ToOrigin} datagrams to origin, {ToPlayer} to player")]
    private partial void LogSessionClosed(string sessionId, string reason, long toOrigin, long toPlayer);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "RTC session {SessionId}: player address {Player} (slot {Slot})")]
    private partial void LogPlayerBound(string sessionId, string player, int slot);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "RTC session {SessionId}: cannot open a socket towards the origin ({Error})")]
    private partial void LogOriginSocketFailed(string sessionId, SocketError error);

    [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "Registry unavailable to the relay")]
    private partial void LogRegistryError(Exception exception);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Information, Message = "RTC session {SessionId}: player tcp connection {Player} (slot {Slot})")]
    private partial void LogStreamBound(string sessionId, string player, int slot);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Warning, Message = "RTC session {SessionId}: tcp connection {Player} refused, the session holds {Max} already (cap)")]
    private partial void LogStreamRefused(string sessionId, string player, int max);
}
