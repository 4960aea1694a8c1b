namespace SrsProxy.Hosting;

internal sealed partial class DrainState
{
    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Draining ({Reason}): no new sessions; waiting for {Active} to end, at most {GraceSeconds} s (PROXY_GRACE_QUIT_TIMEOUT)")]
    private partial void LogBegun(string reason, string active, double graceSeconds);

    [LoggerMessage(EventId = 21, Level = LogLevel.Information, Message = "Draining: still playing {Active}; {SecondsLeft:0} s to the deadline")]
    private partial void LogProgress(string active, double secondsLeft);

    [LoggerMessage(EventId = 22, Level = LogLevel.Information, Message = "Drain ended: nothing left playing after {Seconds:0.0} s")]
    private partial void LogEmpty(double seconds);

    [LoggerMessage(EventId = 23, Level = LogLevel.Warning, Message = "Drain ended at the grace deadline ({GraceSeconds} s, PROXY_GRACE_QUIT_TIMEOUT) with {Active} still playing: closing them")]
    private partial void LogDeadline(double graceSeconds, string active);

    [LoggerMessage(EventId = 24, Level = LogLevel.Error, Message = "Drain failed; stopping without waiting further")]
    private partial void LogFailed(Exception exception);
}
