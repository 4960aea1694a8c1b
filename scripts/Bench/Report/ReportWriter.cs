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
        text.Append(w.Pacing == "burst"
            ? Invariant($"### WHEP benchmark: {w.Players} players x {w.BitratePerPlayer / 1000.0:0.#} kbit/s ({w.PacketsPerSecondPerPlayer:0.#} datagrams/s of {w.PacketSize} B each), burst pacing")
            : Invariant($"### WHEP benchmark: {w.Players} players x {w.BitratePerPlayer / 1000.0:0.#} kbit/s ({w.PacketsPerSecondPerPlayer:0.#} media datagrams/s per player), {w.Pacing} pacing"));
        text.Append('\n').Append('\n');
        text.Append(Invariant($"{report.Started:yyyy-MM-dd HH:mm zzz}, {report.Machine.Cores} cores, {report.Machine.Runtime}, net.core.rmem_max {report.Machine.RmemMax}"));
        if (report.Machine.LoadAverage.Count == 3)
        {
            text.Append(Invariant($", load average {report.Machine.LoadAverage[0]:0.00} / {report.Machine.LoadAverage[1]:0.00} / {report.Machine.LoadAverage[2]:0.00} (1/5/15 min) at the start"));
        }

        text.Append(Invariant($"; warm-up {w.WarmupSeconds:0.#} s, window {w.WindowSeconds:0.#} s"));
        if (report.Label.Length > 0)
        {
            text.Append("; ").Append(report.Label);
        }

        text.Append(".\n\n").Append(w.Description).Append(".\n\n");
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
        Row("**wake-ups per relayed datagram** (voluntary context switches, all threads; preemptions)", m => m.Proxy?.WakeUps is { PerDatagram: { } perDatagram } wakeUps
            ? Invariant($"**{perDatagram:0.000}** ({wakeUps.Total / m.WindowSeconds:N0}/s; {wakeUps.Involuntary / m.WindowSeconds:N0} preemptions/s)")
            : "-");
        Row("system calls per relayed datagram (perf, after the window)", m => m.Proxy?.Syscalls is not { } sys
            ? "-"
            : sys.PerDatagram is { } perDatagram
                ? Invariant($"{perDatagram:0.000} ({string.Join(", ", sys.ByKind!.OrderByDescending(k => k.Value).Select(k => Invariant($"{k.Key} {k.Value:0.000}")))}; {sys.Seconds:0.#} s)")
                : "not measured: " + sys.NotMeasured);
        Row("proxy RSS: idle -> loaded; per session added by the second half", m => m.Proxy is { } p ? Invariant($"{p.RssIdleMb:0.0} -> {p.RssMb:0.0} MB; {p.RssPerSessionKb:0.0} KB") : "-");
        Row("proxy live managed heap (pprof heap): idle -> all connected; per session added by the second half", m => m.Proxy is { HeapIdleMb: { } idle, HeapMb: { } loaded, HeapPerSessionKb: { } per }
            ? Invariant($"{idle:0.00} -> {loaded:0.00} MB; {per:0.00} KB") : m.Proxy is null ? "-" : "not measured (--heap)");
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
        Row("origin send gaps p10 / p50 / p90 / p99 achieved (planned)", m => GapCells(m.Pacing, g => Invariant($"{g.P10:0} / {g.P50:0} / {g.P90:0} / {g.P99:0} µs")));
        Row("origin bursts p10 / p50 / p90 achieved (planned)", m => GapCells(m.Pacing, g => Invariant($"{g.BurstP10:0} / {g.BurstP50:0} / {g.BurstP90:0}")));
        Row("load generator CPU-s per 10^6 datagrams, % of one core", m => Invariant($"{m.LoadGenerator.CpuSecondsPerMillionDatagrams:0.00}, {m.LoadGenerator.CpuPercentOfCore:0.0} %"));
        Row("machine CPU busy (all cores = 100 %)", m => Invariant($"{m.MachineBusyPercent:0.0} %"));
        Row("hypervisor steal (all cores = 100 %)", m => Invariant($"{m.StealPercent:0.0} %"));
        Row("other processes' CPU, % of one core", m => Invariant($"{m.OtherProcessesCpuPercentOfCore:0.0} %"));
        Row("load average 1 / 5 / 15 min at the window's end", m => m.LoadAverage.Count == 3
            ? Invariant($"{m.LoadAverage[0]:0.00} / {m.LoadAverage[1]:0.00} / {m.LoadAverage[2]:0.00}")
            : "-");

        text.Append('\n');
        AppendPacing(text, modes);
        AppendThreads(text, modes);
        if (report.AddedLatencyUs is { } added)
        {
            text.Append(Invariant($"Latency the proxy adds over direct: p50 {added.P50:+0;-0;0} µs, p99 {added.P99:+0;-0;0} µs, max {added.Max:+0;-0;0} µs.\n"));
        }

        if (modes.FirstOrDefault(m => m.Mode == "proxy") is { Proxy: { } proxyCost } proxyMode &&
            modes.FirstOrDefault(m => m.Mode == "floor") is { Proxy: { } floorCost } floorMode)
        {
            static double Datagrams(ModeReport m) => Math.Max(1, m.DatagramsPerSecond * m.WindowSeconds);
            double Ratio(double proxy, double floor) => proxy / Datagrams(proxyMode) / Math.Max(1e-12, floor / Datagrams(floorMode));
            text.Append(Invariant($"The proxy costs {proxyCost.Cpu.CpuSecondsPerMillionDatagrams:0.00} CPU-s per 10^6 datagrams, the floor relay {floorCost.Cpu.CpuSecondsPerMillionDatagrams:0.00}: "));
            text.Append(Invariant($"**{Ratio(proxyCost.Cpu.CpuSeconds, floorCost.Cpu.CpuSeconds):0.00}x the floor** (user {Ratio(proxyCost.Cpu.UserSeconds, floorCost.Cpu.UserSeconds):0.00}x, "));
            text.Append(Invariant($"system {Ratio(proxyCost.Cpu.SystemSeconds, floorCost.Cpu.SystemSeconds):0.00}x; the modes run one after the other, so a change in the machine between them shows here too). "));
            text.Append(Invariant($"The floor's latency p50 / p99: {floorMode.LatencyUs.P50:0} / {floorMode.LatencyUs.P99:0} µs.\n"));
        }

        text.Append("Per datagram, the Go srs-proxy costs 12.5 CPU-s per 10^6 at 300 players (~32k/s) on this kind of machine; ");
        text.Append("a minimal C relay, 6-7 at 30k/s and ~5 at 100k/s. Under a real SRS origin with 300 players (~23.7k/s), the Go srs-proxy ");
        text.Append("(leak fixed) costs ~14.6 with 0.32-0.35 wake-ups per relayed datagram.\n");
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

    /// <summary>Achieved, then planned in parentheses when the pacing had a plan.</summary>
    private static string GapCells(PacingFigures pacing, Func<GapFigures, string> cell) =>
        pacing.Sends < 2 ? "-" : pacing.Planned is { } planned ? $"{cell(pacing.Achieved)} ({cell(planned)})" : cell(pacing.Achieved);

    /// <summary>How the origin simulator sent, against its plan and the capture: was the pacing honoured?</summary>
    private static void AppendPacing(StringBuilder text, IReadOnlyList<ModeReport> modes)
    {
        var withSends = modes.Where(m => m.Pacing.Sends > 1).ToList();
        if (withSends.Count == 0)
        {
            return;
        }

        var capture = withSends[0].Pacing.Capture;
        text.Append("\n#### Origin pacing in the window (gaps between consecutive sends; bursts split at gaps over 100 µs)\n\n");
        var columns = new List<(string Name, GapFigures? Figures, PacingFigures? Pacing)>();
        if (capture is not null)
        {
            columns.Add(("capture", capture, null));
        }

        foreach (var m in withSends)
        {
            if (m.Pacing.Planned is { } planned)
            {
                columns.Add(($"{m.Mode}: planned", planned, m.Pacing));
            }

            columns.Add(($"{m.Mode}: achieved", m.Pacing.Achieved, m.Pacing));
        }

        text.Append("| |").Append(string.Join("", columns.Select(c => $" {c.Name} |"))).Append('\n');
        text.Append("|---|").Append(string.Join("", columns.Select(_ => "---|"))).Append('\n');
        void Row(string name, Func<(string Name, GapFigures? Figures, PacingFigures? Pacing), string> cell) =>
            text.Append("| ").Append(name).Append(" |").Append(string.Join("", columns.Select(c => $" {cell(c)} |"))).Append('\n');
        Row("gap p10 / p50 / p90 / p99", c => c.Figures is { } g ? Invariant($"{g.P10:0} / {g.P50:0} / {g.P90:0} / {g.P99:0} µs") : "-");
        Row("burst p10 / p50 / p90", c => c.Figures is { } g ? Invariant($"{g.BurstP10:0} / {g.BurstP50:0} / {g.BurstP90:0} sends") : "-");
        Row("sends/s (all players)", c => c.Pacing is { } p ? Invariant($"{p.SendsPerSecond:N0}") : "-");
        Row("late against the plan p50 / p99 / max", c => c.Pacing is { LateP50Us: { } p50 } p && c.Name.EndsWith("achieved", StringComparison.Ordinal)
            ? Invariant($"{p50:0} / {p.LateP99Us:0} / {p.LateMaxUs:0} µs{(p.Rebased > 0 ? Invariant($"; fell behind and paused the schedule {p.Rebased} times") : "")}") +
                (p.Skipped > 0 ? Invariant($"; {p.Skipped:N0} datagrams skipped (a player over 250 ms of media behind)") : "")
            : "-");
        text.Append('\n');
        if (capture is not null)
        {
            text.Append("The capture's bursts are those of its own players (300 for the SRS capture); with fewer players a pass over them is shorter, ");
            text.Append("so planned bursts are too. Gaps are measured just before each send, so a send that takes longer than the next gap delays it.\n");
        }
    }

    /// <summary>The proxy's threads by name: who wakes up how often, and what each costs.</summary>
    private static void AppendThreads(StringBuilder text, IReadOnlyList<ModeReport> modes)
    {
        foreach (var m in modes)
        {
            if (m.Proxy?.WakeUps is not { } wakeUps || wakeUps.ByThread.Count == 0)
            {
                continue;
            }

            text.Append(Invariant($"\n#### Proxy threads in the window ({m.Mode}): wake-ups (voluntary context switches) by thread name\n\n"));
            text.Append("| thread (comm) | threads | wake-ups/s | per relayed datagram | preemptions/s | CPU, % of one core |\n|---|---|---|---|---|---|\n");
            var perSecond = Math.Max(1e-9, m.DatagramsPerSecond);
            foreach (var t in wakeUps.ByThread.Where(t => t.WakeUpsPerSecond >= 0.5 || t.CpuPercentOfCore >= 0.5))
            {
                text.Append(Invariant($"| {t.Name} | {t.Threads} | {t.WakeUpsPerSecond:N0} | {t.WakeUpsPerSecond / perSecond:0.000} | {t.PreemptionsPerSecond:N0} | {t.CpuPercentOfCore:0.0} |\n"));
            }

            var quiet = wakeUps.ByThread.Count(t => t.WakeUpsPerSecond < 0.5 && t.CpuPercentOfCore < 0.5);
            if (quiet > 0)
            {
                text.Append(Invariant($"\n{quiet} more thread names with under 0.5 wake-ups/s and 0.5 % CPU."));
            }

            if (wakeUps.ThreadsEnded > 0 || wakeUps.ThreadsStarted > 0)
            {
                text.Append(Invariant($" Threads started in the window: {wakeUps.ThreadsStarted}; ended (their wake-ups are not counted): {wakeUps.ThreadsEnded}."));
            }

            text.Append("\n\n");
        }
    }

    private static string Maybe(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "-";

    private static string Invariant(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);
}
