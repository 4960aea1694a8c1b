using System.Diagnostics;
using System.Globalization;
using System.Text;
using SrsProxy.Registry;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Metrics;

/// <summary>
/// <c>GET /metrics</c> on the system API in Prometheus text format (version 0.0.4): what the relay carried
/// and dropped, its sessions, the registry's origins, and the runtime's GC and thread figures.
/// </summary>
internal static class MetricsEndpoint
{
    public static async Task WriteAsync(HttpContext context, RtcRelay relay, IProxyRegistry registry)
    {
        var text = new StringBuilder(4096);
        var counters = relay.Counters;
        long toOrigin = counters.ClosedPacketsToOrigin, toPlayer = counters.ClosedPacketsToPlayer;
        long bytesToOrigin = counters.ClosedBytesToOrigin, bytesToPlayer = counters.ClosedBytesToPlayer;
        var bound = 0;
        foreach (var session in relay.Sessions)
        {
            toOrigin += Volatile.Read(ref session.PacketsToOrigin);
            toPlayer += Volatile.Read(ref session.PacketsToPlayer);
            bytesToOrigin += Volatile.Read(ref session.BytesToOrigin);
            bytesToPlayer += Volatile.Read(ref session.BytesToPlayer);
            bound += session.MediaAddress is null ? 0 : 1;
        }

        Metric(text, "srs_proxy_rtc_datagrams_total", "counter", "Datagrams relayed by the WebRTC relay.",
            ("direction=\"to_origin\"", toOrigin), ("direction=\"to_player\"", toPlayer));
        Metric(text, "srs_proxy_rtc_bytes_total", "counter", "Bytes relayed by the WebRTC relay.",
            ("direction=\"to_origin\"", bytesToOrigin), ("direction=\"to_player\"", bytesToPlayer));
        Metric(text, "srs_proxy_rtc_dropped_total", "counter", "Datagrams the WebRTC relay dropped, by reason.",
            Enum.GetValues<DropReason>().Select(r => ($"reason=\"{Snake(r.ToString())}\"", counters.Drops(r))).ToArray());
        Metric(text, "srs_proxy_rtc_sessions", "gauge", "WebRTC sessions in the relay, by state.",
            ("state=\"relaying\"", bound), ("state=\"waiting_for_player\"", relay.SessionCount - bound));
        Metric(text, "srs_proxy_rtc_sessions_opened_total", "counter", "WebRTC sessions opened.", ("", counters.SessionsOpened));
        Metric(text, "srs_proxy_rtc_sessions_closed_total", "counter", "WebRTC sessions closed.", ("", counters.SessionsClosed));

        var origins = await registry.GetOriginsAsync(context.RequestAborted);
        Metric(text, "srs_proxy_origins", "gauge", "Registered origins, by liveness.",
            ("state=\"alive\"", origins.Count(o => o.Alive)), ("state=\"dead\"", origins.Count(o => !o.Alive)));

        Metric(text, "dotnet_gc_collections_total", "counter", "Garbage collections, by generation.",
            ("generation=\"0\"", GC.CollectionCount(0)), ("generation=\"1\"", GC.CollectionCount(1)), ("generation=\"2\"", GC.CollectionCount(2)));
        Metric(text, "dotnet_gc_allocated_bytes_total", "counter", "Bytes allocated on the managed heap since start.", ("", GC.GetTotalAllocatedBytes()));
        Metric(text, "dotnet_gc_heap_bytes", "gauge", "Managed heap size after the last collection.", ("", GC.GetGCMemoryInfo().HeapSizeBytes));
        Metric(text, "dotnet_threads", "gauge", "Threads in the process.", ("", Process.GetCurrentProcess().Threads.Count));
        Metric(text, "dotnet_threadpool_threads", "gauge", "Thread pool threads.", ("", ThreadPool.ThreadCount));

        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await context.Response.WriteAsync(text.ToString(), context.RequestAborted);
    }

    private static void Metric(StringBuilder text, string name, string type, string help, params (string Labels, long Value)[] samples)
    {
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        foreach (var (labels, value) in samples)
        {
            text.Append(name);
            if (labels.Length > 0)
            {
                text.Append('{').Append(labels).Append('}');
            }

            text.Append(' ').Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    private static string Snake(string pascal)
    {
        var result = new StringBuilder(pascal.Length + 4);
        foreach (var c in pascal)
        {
            if (char.IsUpper(c) && result.Length > 0)
            {
                result.Append('_');
            }

            result.Append(char.ToLowerInvariant(c));
        }

        return result.ToString();
    }
}
