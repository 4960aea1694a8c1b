namespace SrsProxy.Profiling;

internal sealed partial class PprofListenerNotice
{
    [LoggerMessage(EventId = 920, Level = LogLevel.Information, Message = "pprof: profiles on http://{Address}/debug/pprof/ (GO_PPROF); nothing runs until one is asked for")]
    private partial void LogListening(string address);

    [LoggerMessage(EventId = 921, Level = LogLevel.Warning, Message = "pprof: GO_PPROF={Address} serves profiles to other hosts, not only loopback: anyone who reaches it can read the proxy's code and spend its CPU. Prefer 127.0.0.1:PORT")]
    private partial void LogExposed(string address);
}
