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
internal static class ProbeEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", (HttpContext context, DrainState drain) =>
            JsonAnswer.WriteAsync(context, new HealthAnswer(true, drain.IsDraining), ProbeJsonContext.Default.HealthAnswer)).AllowAnonymous();
        endpoints.MapGet("/readyz", ReadyAsync).AllowAnonymous();
        endpoints.MapGet("/api/v1/drain", (HttpContext context, OperatorView view) => JsonAnswer.WriteAsync(context, view.DrainStatus(), ProbeJsonContext.Default.DrainAnswer));
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

    private static Task DrainAsync(HttpContext context, OperatorView view)
    {
        var answer = view.RequestDrain($"POST /api/v1/drain from {context.Connection.RemoteIpAddress?.ToString() ?? "?"}");
        context.Response.StatusCode = StatusCodes.Status202Accepted;
        return JsonAnswer.WriteAsync(context, answer, ProbeJsonContext.Default.DrainAnswer);
    }
}
