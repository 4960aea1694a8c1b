namespace SrsProxy.Profiling;

internal sealed partial class EventPipeRecorder
{
    [LoggerMessage(EventId = 901, Level = LogLevel.Debug, Message = "pprof: EventPipe session for {Name} started")]
    private partial void LogSessionStarted(string name);

    [LoggerMessage(EventId = 902, Level = LogLevel.Debug, Message = "pprof: EventPipe session for {Name} stopped: {Bytes} bytes in {Milliseconds} ms")]
    private partial void LogSessionStopped(string name, long bytes, long milliseconds);

    [LoggerMessage(EventId = 903, Level = LogLevel.Warning, Message = "pprof: the {Name} recording reached {Bytes} bytes and was stopped early")]
    private partial void LogStoppedAtCap(string name, long bytes);

    [LoggerMessage(EventId = 904, Level = LogLevel.Error, Message = "pprof: the EventPipe session for {Name} did not stop cleanly")]
    private partial void LogStopFailed(string name, Exception exception);
}
