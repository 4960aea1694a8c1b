using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SrsProxy.Bench.Report;

/// <summary>The report as JSON (every figure) and as a markdown table (the ones a reader compares).</summary>
internal static class ReportWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static string ToJson(BenchReport report) => JsonSerializer.Serialize(report, Json);

    public static string ToMarkdown(BenchReport report)
    {
        var w = report.Workload;
        var text = new StringBuilder();
        text.Append(Invariant($"### WHEP benchmark: {w.Players} players x {w.BitratePerPlayer / 1000.0:0.#} kbit/s ({w.PacketsPerSecondPerPlayer:0.#} datagrams/s of {w.PacketSize} B each)"));
        text.Append('\n').Append('\n');
        text.Append(Invariant($"{report.Started:yyyy-MM-dd HH:mm zzz}, {report.Machine.Cores} cores, {report.Machine.Runtime}, net.core.rmem_max {report.Machine.RmemMax}"));
        text.Append(Invariant($"; feedback {w.FeedbackPerSecondPerPlayer:0.#}/s x {w.FeedbackSize} B per player upstream; warm-up {w.WarmupSeconds:0.#} s, window {w.WindowSeconds:0.#} s"));
        if (report.Label.Length > 0)
        {
            text.Append("; ").Append(report.Label);
        }

        text.Append("\n\n");
        var modes = report.Modes;
        text.Append("| |").Append(string.Join("", modes.Select(m => $" {m.Mode} |"))).Append('\n');
        text.Append("|---|").Append(string.Join("", modes.Select(_ => "---|"))).Append('\n');
        void Row(string name, Func<ModeReport, string> cell) =>
            text.Append("| ").Append(name).Append(" |").Append(string.Join("", modes.Select(m => $" {cell(m)} |"))).Append('\n');

        Row("players connected", m => $"{m.PlayersConnected}/{m.PlayersRequested}");
        Row("origin sent, % of the target rate", m => Invariant($"{100 * m.MediaSentPerSecond / Math.Max(1e-9, m.MediaTargetPerSecond):0.0} % of {m.MediaTargetPerSecond:N0}/s"));
        Row("media to players: datagrams/s, Mbit/s", m => Invariant($"{m.MediaDatagramsPerSecond:N0}, {m.MediaMbitPerSecond:0.0}"));
        Row("datagrams/s relayed (media + feedback)", m => Invariant($"{m.DatagramsPerSecond:N0}"));
        Row("media loss", m => Invariant($"{m.MediaLossPercent:0.000} % ({m.MediaLost} of {m.MediaSent:N0})"));
        Row("feedback loss", m => Invariant($"{m.FeedbackLossPercent:0.000} % ({Math.Max(0, m.FeedbackSent - m.FeedbackReceived)} of {m.FeedbackSent:N0})"));
        Row("reordered", m => Invariant($"{m.ReorderedPercent:0.000} % ({m.Reordered})"));
        Row("one-way latency p50 / p99 / max", m => Invariant($"{m.LatencyUs.P50:0} / {m.LatencyUs.P99:0} / {m.LatencyUs.Max:0} µs"));
        Row("WHEP answer p50 / p99", m => Invariant($"{m.WhepAnswerMs.P50:0.0} / {m.WhepAnswerMs.P99:0.0} ms"));
        Row("ICE connected p50 / p99", m => Invariant($"{m.IceConnectedMs.P50:0.0} / {m.IceConnectedMs.P99:0.0} ms"));
        Row("**proxy CPU-s per 10^6 datagrams** (user + sys)", m => m.Proxy is { } p
            ? Invariant($"**{p.Cpu.CpuSecondsPerMillionDatagrams:0.00}** ({p.Cpu.UserSeconds * 1e6 / Math.Max(1, m.DatagramsPerSecond * m.WindowSeconds):0.00} + {p.Cpu.SystemSeconds * 1e6 / Math.Max(1, m.DatagramsPerSecond * m.WindowSeconds):0.00})")
            : "-");
        Row("proxy CPU, % of one core", m => m.Proxy is { } p ? Invariant($"{p.Cpu.CpuPercentOfCore:0.0} %") : "-");
        Row("proxy RSS: idle -> loaded; per session added by the second half", m => m.Proxy is { } p ? Invariant($"{p.RssIdleMb:0.0} -> {p.RssMb:0.0} MB; {p.RssPerSessionKb:0.0} KB") : "-");
        Row("proxy live managed heap (pprof heap): idle -> all connected; per session added by the second half", m => m.Proxy is { HeapIdleMb: { } idle, HeapMb: { } loaded, HeapPerSessionKb: { } per }
            ? Invariant($"{idle:0.00} -> {loaded:0.00} MB; {per:0.00} KB") : "-");
        Row("proxy threads", m => m.Proxy is { } p ? p.Threads.ToString(CultureInfo.InvariantCulture) : "-");
        Row("proxy GC gen0 / gen1 / gen2 per 10^6 datagrams", m => m.Proxy?.Gen0PerMillionDatagrams is { } g0
            ? Invariant($"{g0:0.00} / {m.Proxy.Gen1PerMillionDatagrams:0.00} / {m.Proxy.Gen2PerMillionDatagrams:0.00}")
            : "-");
        Row("proxy allocated bytes per datagram", m => m.Proxy?.AllocatedBytesPerMillionDatagrams is { } a
            ? Invariant($"{a / 1e6:0.000} (window less one /metrics scrape of {m.Proxy.ScrapeAllocatedBytes / 1e3:0.0} KB)")
            : "-");
        Row("proxy drops in the window", m => m.Proxy?.Drops is { } drops
            ? (drops.Values.Sum() == 0 ? "0" : string.Join(", ", drops.Where(d => d.Value > 0).Select(d => Invariant($"{d.Key} {d.Value:0}"))))
            : "-");
        Row("kernel drops, full receive buffer: players / origin / proxy public / proxy to-origin sockets", m =>
            Invariant($"{m.KernelDrops.Players} / {m.KernelDrops.Origin} / {Maybe(m.KernelDrops.ProxyPublic)} / {Maybe(m.KernelDrops.ProxyOther)}"));
        Row("load generator CPU-s per 10^6 datagrams, % of one core", m => Invariant($"{m.LoadGenerator.CpuSecondsPerMillionDatagrams:0.00}, {m.LoadGenerator.CpuPercentOfCore:0.0} %"));
        Row("machine CPU busy (all cores = 100 %)", m => Invariant($"{m.MachineBusyPercent:0.0} %"));
        Row("other processes' CPU, % of one core", m => Invariant($"{m.OtherProcessesCpuPercentOfCore:0.0} %"));

        text.Append('\n');
        if (report.AddedLatencyUs is { } added)
        {
            text.Append(Invariant($"Latency the proxy adds over direct: p50 {added.P50:+0;-0;0} µs, p99 {added.P99:+0;-0;0} µs, max {added.Max:+0;-0;0} µs.\n"));
        }

        text.Append("Per datagram, the Go srs-proxy costs 12.5 CPU-s per 10^6 at 300 players (~32k/s) on this kind of machine; ");
        text.Append("a minimal C relay, 6-7 at 30k/s and ~5 at 100k/s.\n");
        foreach (var mode in modes)
        {
            foreach (var error in mode.SetupErrors)
            {
                text.Append("- ").Append(mode.Mode).Append(": setup failed: ").Append(error).Append('\n');
            }

            foreach (var note in mode.Notes)
            {
                text.Append("- ").Append(mode.Mode).Append(": ").Append(note).Append('\n');
            }
        }

        return text.ToString();
    }

    private static string Maybe(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "-";

    private static string Invariant(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);
}
