using System.Net;

namespace SrsProxy.Profiling;

internal static partial class PprofEndpoints
{
    [LoggerMessage(EventId = 910, Level = LogLevel.Information, Message = "pprof: {Name} served to {Client}: {Bytes} bytes")]
    private static partial void LogServed(ILogger logger, string name, long bytes, IPAddress? client);

    [LoggerMessage(EventId = 911, Level = LogLevel.Information, Message = "pprof: {What} abandoned: {Client} went away; the session is stopped")]
    private static partial void LogAbandoned(ILogger logger, string what, IPAddress? client);

    [LoggerMessage(EventId = 912, Level = LogLevel.Error, Message = "pprof: the {What} failed")]
    private static partial void LogFailed(ILogger logger, string what, Exception exception);
}
