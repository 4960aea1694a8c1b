using System.Globalization;
using System.Net;
using System.Net.Sockets;
using SrsProxy.Bench.Pacing;
using SrsProxy.Bench.Report;

namespace SrsProxy.Bench;

/// <summary>
/// The WHEP load benchmark (see scripts/bench and the README's "Performance" section): N players through a
/// proxy that speaks SRS's register/WHEP API, then the same players directly against the origin simulator.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["free-ports", var countText] && int.TryParse(countText, out var count))
        {
            // For scripts/bench: loopback ports free for both TCP and UDP right now.
            Console.WriteLine(string.Join(' ', FreePorts(count)));
            return 0;
        }

        if (args is ["fit-schedule", ..])
        {
            try
            {
                return FitCommand.Run(args[1..], Console.Out);
            }
            catch (Exception e) when (e is FormatException or IOException or InvalidDataException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"bench: {e.Message}");
                return 2;
            }
        }

        if (args is ["-h"] or ["--help"])
        {
            Console.WriteLine(BenchOptions.Usage);
            return 0;
        }

        BenchOptions options;
        TrafficPattern traffic;
        try
        {
            options = BenchOptions.Parse(args);
            traffic = TrafficPattern.Create(options);
        }
        catch (Exception e) when (e is FormatException or IOException or InvalidDataException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"bench: {e.Message}\n{BenchOptions.Usage}");
            return 2;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        Directory.CreateDirectory(options.OutputDirectory);
        var stamp = DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var stem = Path.Combine(options.OutputDirectory, $"bench-{stamp}-{options.Players}p");
        BenchReport report;
        try
        {
            report = await new BenchRunner(options, traffic, Console.Error).RunAsync(stem, cancel.Token);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("bench: interrupted");
            return 130;
        }
        catch (HttpRequestException e)
        {
            await Console.Error.WriteLineAsync($"bench: {e.Message}");
            return 1;
        }

        var markdown = ReportWriter.ToMarkdown(report);
        await File.WriteAllTextAsync(stem + ".json", ReportWriter.ToJson(report));
        await File.WriteAllTextAsync(stem + ".md", markdown);
        Console.WriteLine(markdown);
        await Console.Error.WriteLineAsync($"bench: report written to {stem}.json and {stem}.md");

        if (options.AssertNoLoss)
        {
            var failures = report.Modes
                .Where(m => m.PlayersConnected < m.PlayersRequested || m.MediaLost > 0 || m.FeedbackReceived < m.FeedbackSent || m.MediaSent == 0)
                .Select(m => $"{m.Mode}: {m.PlayersConnected}/{m.PlayersRequested} connected, {m.MediaLost} of {m.MediaSent} media and " +
                    $"{Math.Max(0, m.FeedbackSent - m.FeedbackReceived)} of {m.FeedbackSent} feedback datagrams lost")
                .ToList();
            if (failures.Count > 0)
            {
                await Console.Error.WriteLineAsync("bench: --assert-no-loss failed: " + string.Join("; ", failures));
                return 1;
            }

            await Console.Error.WriteLineAsync("bench: --assert-no-loss: every player connected, no datagram lost");
        }

        return 0;
    }

    private static List<int> FreePorts(int count)
    {
        var sockets = new List<Socket>();
        var ports = new List<int>();
        try
        {
            while (ports.Count < count)
            {
                var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(tcp);
                tcp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                var port = ((IPEndPoint)tcp.LocalEndPoint!).Port;
                var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                sockets.Add(udp);
                try
                {
                    udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                    ports.Add(port);
                }
                catch (SocketException)
                {
                }
            }
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }

        return ports;
    }
}
