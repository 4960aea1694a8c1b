using SrsProxy.Configuration;
using SrsProxy.Hosting;

namespace SrsProxy;

internal static partial class Program
{
    public static async Task<int> Main()
    {
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

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("SrsProxy");
        LogStarting(logger, VersionAnswer.Current.Version, Environment.ProcessId,
            string.Join(" ", ProxyOptionsParser.Describe(options).Select(p => $"{p.Name}={p.Value}")));

        LogNotServed(logger, $"RTMP ({options.RtmpServer}), HTTP-FLV/HLS ({options.HttpServer}) and SRT ({options.SrtServer}) proxying are not in this build; those ports are not served");

        // The reference's hard stop: whatever still runs this long after the signal, the process exits.
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.ApplicationStopping.Register(() =>
        {
            var timer = new Timer(_ =>
            {
                Console.Error.WriteLine($"srs-proxy: not stopped after PROXY_FORCE_QUIT_TIMEOUT={GoDuration.Format(options.ForceQuitTimeout)}, exiting");
                Environment.Exit(1);
            });
            timer.Change(options.ForceQuitTimeout, Timeout.InfiniteTimeSpan);
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
        catch (System.Net.Sockets.SocketException e)
        {
            LogStartFailed(logger, $"udp {options.WebRtcServer}: {e.Message}");
            return 1;
        }

        return Environment.ExitCode;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "srs-proxy {Version} pid {Pid} starting: {Configuration}")]
    private static partial void LogStarting(ILogger logger, string version, int pid, string configuration);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "{What}")]
    private static partial void LogNotServed(ILogger logger, string what);

    [LoggerMessage(EventId = 2, Level = LogLevel.Critical, Message = "srs-proxy cannot start: {Reason}")]
    private static partial void LogStartFailed(ILogger logger, string reason);
}
