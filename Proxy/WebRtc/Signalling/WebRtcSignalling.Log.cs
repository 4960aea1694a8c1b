namespace SrsProxy.WebRtc.Signalling;

internal sealed partial class WebRtcSignalling
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Signalling {Path}: {Reason}")]
    private partial void LogOriginFailed(string? path, string reason);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Signalling refused: {Reason}")]
    private partial void LogRegistryUnavailable(string reason);

    [LoggerMessage(EventId = 205, Level = LogLevel.Warning, Message = "Origin {OriginId} gets no new streams for a while: {Reason}")]
    private partial void LogOriginQuarantined(string originId, string reason);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Session {SessionId}: the origin was not told of the DELETE: {Reason}")]
    private partial void LogOriginDeleteFailed(string sessionId, string reason);
}
