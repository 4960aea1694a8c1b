using Microsoft.Extensions.Diagnostics.HealthChecks;
using SrsProxy.Hosting;

namespace SrsProxy.Grpc;

/// <summary>
/// A health check answered by <see cref="Readiness"/>, the same conditions <c>GET /readyz</c> reports: all of
/// them (listeners bound, registry answering, no drain), or only the one named, so that gRPC and HTTP probes
/// never disagree.
/// </summary>
internal sealed class ReadinessHealthCheck(Readiness readiness, string? only = null) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var checks = await readiness.CheckAsync();
        var failed = checks.Where(c => !c.Ok && (only is null || c.Name == only)).ToList();
        return failed.Count == 0
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy(string.Join("; ", failed.Select(c => $"{c.Name}: {c.Detail}")));
    }
}
