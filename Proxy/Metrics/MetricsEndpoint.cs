namespace SrsProxy.Metrics;

/// <summary>
/// <c>GET /metrics</c> on the system API: every instrument of <see cref="ProxyMetrics"/> and of the runtime, in
/// Prometheus text format (version 0.0.4).
/// </summary>
internal static class MetricsEndpoint
{
    public static async Task WriteAsync(HttpContext context, ProxyMetrics metrics, PrometheusExporter exporter)
    {
        await metrics.RefreshOriginsAsync(context.RequestAborted);
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await context.Response.WriteAsync(exporter.Collect(), context.RequestAborted);
    }
}
