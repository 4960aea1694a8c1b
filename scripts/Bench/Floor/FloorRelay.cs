using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace SrsProxy.Bench.Floor;

/// <summary>
/// The floor mode's relay (floor-relay.c) as a child process: started towards the origin simulator's UDP port,
/// it prints the public port the players send to; the bench measures it as it measures the proxy, and stops it
/// after the mode. What it writes to stderr (a refused scheduling policy, say) goes to the bench's log.
/// </summary>
internal sealed class FloorRelay : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(5);

    private readonly Process _process;

    private FloorRelay(Process process, IPEndPoint publicEndPoint)
    {
        _process = process;
        PublicEndPoint = publicEndPoint;
    }

    public int Pid => _process.Id;

    /// <summary>Where the players send: the relay's public socket.</summary>
    public IPEndPoint PublicEndPoint { get; }

    public static async Task<FloorRelay> StartAsync(string path, IPEndPoint origin, int coalesceUs, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(path)
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(origin.Address.ToString());
        start.ArgumentList.Add(origin.Port.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(coalesceUs.ToString(CultureInfo.InvariantCulture));
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{path} did not start");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        string? line = null;
        try
        {
            line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }

        if (line is null || !line.StartsWith("port ", StringComparison.Ordinal) ||
            !int.TryParse(line.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            Stop(process);
            process.Dispose();
            throw new InvalidOperationException($"{path} did not say its port ({line ?? "no output"}); its errors are in the log above");
        }

        return new FloorRelay(process, new IPEndPoint(IPAddress.Loopback, port));
    }

    public void Dispose()
    {
        Stop(_process);
        _process.Dispose();
    }

    private static void Stop(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill();
            process.WaitForExit(5000);
        }
    }
}
