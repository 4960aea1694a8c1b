using Microsoft.Extensions.Diagnostics.HealthChecks;
using SrsProxy.Hosting;

namespace SrsProxy.Grpc;

/// <summary>
/// Whether one protocol part (WebRTC relay, RTMP, SRT) takes new work: the host has started, the part runs,
/// and no drain has begun (a draining part refuses new work, so a balancer should send it none).
/// </summary>
internal sealed class PartHealthCheck(string part, Func<bool> running, DrainState drain, IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var result = !lifetime.ApplicationStarted.IsCancellationRequested ? HealthCheckResult.Unhealthy($"{part}: starting")
            : drain.Info is { } info ? HealthCheckResult.Unhealthy($"{part}: draining since {info.Since:O} ({info.Reason})")
            : !running() ? HealthCheckResult.Unhealthy($"{part}: not running")
            : HealthCheckResult.Healthy();
        return Task.FromResult(result);
    }
}
