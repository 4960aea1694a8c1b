using SrsProxy.Configuration;
using SrsProxy.Http;
using SrsProxy.Hosting;

namespace SrsProxy;

internal static partial class Program
{
    private const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
    private const string EngineThreads = "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT";

    /// <summary>
    /// The force-quit timer, held here: a timer nothing references can be collected before it fires, and then
    /// a shutdown that hangs would hang for ever.
    /// </summary>
    private static Timer? s_forceQuit;

    public static async Task<int> Main()
    {
        // Elsewhere than Linux the relay runs on .NET's socket engine (the portable engine of Proxy/Udp), and
        // two settings made it cheaper there (scripts/bench, before the Linux pumps existed): completions run
        // on the engine's thread instead of hopping to the thread pool (CPU per datagram down ~20 %), and one
        // engine thread per core lets a burst to many players use every core (p99 2-8 ms instead of 9-19 ms
        // at 300 players on 2 cores). On Linux the pumps move every datagram themselves, so the runtime's
        // defaults stay. Read once when the socket engine starts; an operator's own value wins.
        if (!OperatingSystem.IsLinux())
        {
            if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
            {
                Environment.SetEnvironmentVariable(InlineCompletions, "1");
            }

            if (Environment.GetEnvironmentVariable(EngineThreads) is null)
            {
                Environment.SetEnvironmentVariable(EngineThreads, Math.Clamp(Environment.ProcessorCount, 1, 8).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        ProxyOptions options;
        try
        {
            options = ProxyOptionsParser.Parse(EnvironmentSource.Load());
        }
        catch (ConfigurationException e)
        {
            await Console.Error.WriteLineAsync($"srs-proxy: {e.Message}");
            return 2;
        }

        WebApplication app;
        try
        {
            app = ProxyApp.Build(options);
            _ = app.Services.GetRequiredService<SrsProxy.Registry.IProxyRegistry>();
        }
        catch (ConfigurationException e)
        {
            await Console.Error.WriteLineAsync($"srs-proxy: {e.Message}");
            return 2;
        }
        catch (SrsProxy.Registry.RegistryUnavailableException e)
        {
            await Console.Error.WriteLineAsync($"srs-proxy: PROXY_LOAD_BALANCER_TYPE=redis: {e.Message}");
            return 1;
        }

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SrsProxy");
        var openFiles = FileDescriptorLimit.Raise();
        if (openFiles is { } files && files < (ulong)options.MaxRtcSessions + 256)
        {
            LogStartWarning(logger, $"open-file limit {files} is below PROXY_RTC_MAX_SESSIONS={options.MaxRtcSessions}: each WebRTC session holds a socket; raise the hard limit (ulimit -Hn, LimitNOFILE)");
        }

        LogStarting(logger, VersionAnswer.Current.Version, Environment.ProcessId,
            string.Join(" ", ProxyOptionsParser.Describe(options).Select(p => $"{p.Name}={p.Value}")));
        if (options.ForceQuitTimeout < options.GraceQuitTimeout + DrainState.CloseAllowance)
        {
            LogStartWarning(logger, $"PROXY_FORCE_QUIT_TIMEOUT={GoDuration.Format(options.ForceQuitTimeout)} is shorter than the drain (PROXY_GRACE_QUIT_TIMEOUT={GoDuration.Format(options.GraceQuitTimeout)}, then up to {DrainState.CloseAllowance.TotalSeconds:0} s to close): a drain still running then is cut, exit code 1");
        }

        // The reference's hard stop: whatever still runs this long after the signal, the process exits. It
        // counts from the start of the stop (a signal, or POST /api/v1/drain, which stops the same way), drain
        // included: the operator's hard limit stays hard, as in the reference. The defaults (30 s against a
        // 20 s drain and 5 s to close) leave the whole drain inside it.
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.ApplicationStopping.Register(() =>
        {
            s_forceQuit = new Timer(_ =>
            {
                Console.Error.WriteLine($"srs-proxy: not stopped after PROXY_FORCE_QUIT_TIMEOUT={GoDuration.Format(options.ForceQuitTimeout)}, exiting");
                Environment.Exit(1);
            });
            s_forceQuit.Change(options.ForceQuitTimeout, Timeout.InfiniteTimeSpan);
        });

        try
        {
            await app.RunAsync();
        }
        catch (IOException e)
        {
            // Kestrel's "address already in use" and the like: one line, not a stack trace.
            LogStartFailed(logger, e.Message);
            return 1;
        }
        catch (ListenerBindException e)
        {
            // RTMP, WebRTC and SRT bind their own sockets: the message names the setting and the address.
            LogStartFailed(logger, e.Message);
            await Console.Error.WriteLineAsync($"srs-proxy: cannot listen: {e.Message}");
            return 1;
        }

        return Environment.ExitCode;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "srs-proxy {Version} pid {Pid} starting: {Configuration}")]
    private static partial void LogStarting(ILogger logger, string version, int pid, string configuration);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "{What}")]
    private static partial void LogStartWarning(ILogger logger, string what);

    [LoggerMessage(EventId = 2, Level = LogLevel.Critical, Message = "srs-proxy cannot start: {Reason}")]
    private static partial void LogStartFailed(ILogger logger, string reason);
}
