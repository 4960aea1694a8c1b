using SrsProxy.Hosting;
using SrsProxy.Http;

namespace SrsProxy.SystemApi;

/// <summary>
/// Probes and the drain on <c>PROXY_SYSTEM_API</c> (issue 12): <c>GET /healthz</c> (the process serves),
/// <c>GET /readyz</c> (it should get new work), and <c>/api/v1/drain</c> (stop taking new work, exit when
/// what plays has ended or at <c>PROXY_GRACE_QUIT_TIMEOUT</c>, as on SIGTERM). The probes need no token (a
/// load balancer or kubelet has none); the drain stops the process, so it needs the system API's token when
/// one is set (<see cref="BearerAuth"/>).
/// </summary>
internal static partial class ProbeEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", (HttpContext context, DrainState drain) =>
            JsonAnswer.WriteAsync(context, new HealthAnswer(true, drain.IsDraining), ProbeJsonContext.Default.HealthAnswer)).AllowAnonymous();
        endpoints.MapGet("/readyz", ReadyAsync).AllowAnonymous();
        endpoints.MapGet("/api/v1/drain", (HttpContext context, DrainState drain) => WriteDrainAsync(context, drain));
        endpoints.MapPost("/api/v1/drain", DrainAsync);
    }

    private static async Task ReadyAsync(HttpContext context, Readiness readiness)
    {
        var checks = await readiness.CheckAsync();
        var ready = checks.All(c => c.Ok);
        context.Response.StatusCode = ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.CacheControl = "no-store";
        await JsonAnswer.WriteAsync(context, new ReadinessAnswer(ready, checks), ProbeJsonContext.Default.ReadinessAnswer);
    }

    private static async Task DrainAsync(HttpContext context, DrainState drain, IHostApplicationLifetime lifetime, ILoggerFactory loggers)
    {
        var remote = context.Connection.RemoteIpAddress?.ToString() ?? "?";
        if (drain.BeginDrain($"POST /api/v1/drain from {remote}"))
        {
            LogDrainRequested(loggers.CreateLogger(typeof(ProbeEndpoints).FullName!), remote);
        }

        // The same stop as SIGTERM: the host's stop waits for the drain, then closes what is left and exits.
        lifetime.StopApplication();
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        await WriteDrainAsync(context, drain);
    }

    private static Task WriteDrainAsync(HttpContext context, DrainState drain)
    {
        var info = drain.Info;
        var active = drain.ActiveCounts();
        var answer = new DrainAnswer(0, info is not null, info?.Reason, info?.Since, info?.Deadline, active.Values.Sum(), active, drain.RefusedCounts());
        return JsonAnswer.WriteAsync(context, answer, ProbeJsonContext.Default.DrainAnswer);
    }

    [LoggerMessage(EventId = 310, Level = LogLevel.Warning, Message = "Drain requested by {Remote} (POST /api/v1/drain): the proxy exits once nothing plays, or at PROXY_GRACE_QUIT_TIMEOUT")]
    private static partial void LogDrainRequested(ILogger logger, string remote);
}
