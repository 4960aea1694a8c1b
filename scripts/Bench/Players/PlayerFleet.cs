using System.Diagnostics;
using SrsProxy.Bench.Measure;
using SrsProxy.Bench.Pacing;

namespace SrsProxy.Bench.Players;

/// <summary>
/// N players against one signalling API: connects them a few at a time, then one pacing thread sends every
/// player's RTCP feedback. With burst pacing: at the configured rate, and an ICE consent check (RFC 7675)
/// about every 5 s, as a browser does. Otherwise as the traffic pattern's feedback schedule says: the captured
/// pion players sent their receiver reports and an occasional PLI and no STUN (their RTCP every second keeps
/// the path alive), so neither does this. Receiving is each player's own async loop; there is no thread per
/// player.
/// </summary>
internal sealed class PlayerFleet : IAsyncDisposable
{
    /// <summary>Browsers send a consent check every 5 s on average (RFC 7675 section 5.1).</summary>
    private static readonly long ConsentInterval = 5 * Stopwatch.Frequency;

    private static readonly TimeSpan FeedbackTick = TimeSpan.FromMilliseconds(10);

    private readonly BenchOptions _options;
    private readonly TrafficPattern _traffic;
    private readonly HttpClient _http;
    private readonly CancellationTokenSource _stopping = new();
    private Thread? _pacer;
    private volatile RunPhase _phase;

    /// <summary>
    /// Players of one mode. With <paramref name="sendTo"/>, they send their ICE checks and feedback there
    /// instead of to the answer's candidate (the floor mode's relay).
    /// </summary>
    public PlayerFleet(BenchOptions options, TrafficPattern traffic, HttpClient http, bool tcp = false, System.Net.IPEndPoint? sendTo = null)
    {
        _options = options;
        _traffic = traffic;
        _http = http;
        Players = [.. Enumerable.Range(0, options.Players).Select(i => new Player(i, Latency, tcp, sendTo))];
    }

    public IReadOnlyList<Player> Players { get; }

    public LatencyHistogram Latency { get; } = new();

    public RunPhase Phase
    {
        get => _phase;
        set => _phase = value;
    }

    /// <summary>
    /// Connects the first half of the players, calls <paramref name="halfway"/> (where the memory one more
    /// session costs is sampled, past the proxy's one-time warm-up), then connects the rest.
    /// </summary>
    public async Task ConnectAsync(Uri apiBase, Func<Task> halfway, CancellationToken cancellationToken)
    {
        var url = new Uri(apiBase, $"/rtc/v1/whep/?app={Uri.EscapeDataString(_options.App)}&stream={Uri.EscapeDataString(_options.Stream)}");
        using var gate = new SemaphoreSlim(_options.ConnectConcurrency);
        Task ConnectAll(IEnumerable<Player> players) => Task.WhenAll(players.Select(async player =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                await player.ConnectAsync(_http, url, cancellationToken);
            }
            finally
            {
                gate.Release();
            }
        }));

        await ConnectAll(Players.Take(Players.Count / 2));
        await halfway();
        await ConnectAll(Players.Skip(Players.Count / 2));
        var schedule = _traffic.FeedbackSchedule([.. Players.Where(p => p.Connected).Select(p => p.Index)]);
        _pacer = new Thread(schedule is null ? PaceLoop : () => ScheduledPaceLoop(schedule)) { IsBackground = true, Name = "players-feedback" };
        _pacer.Start();
    }

    /// <summary>Stops feedback, ends every session with a DELETE of its URL, and closes the sockets.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _pacer?.Join();
        using var gate = new SemaphoreSlim(_options.ConnectConcurrency);
        await Task.WhenAll(Players.Select(async player =>
        {
            if (player.Location is { } location)
            {
                await gate.WaitAsync();
                try
                {
                    using var response = await _http.DeleteAsync(location);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    // The session ends on the idle timeout instead.
                }
                finally
                {
                    gate.Release();
                }
            }

            await player.CloseAsync();
        }));
        _stopping.Dispose();
    }

    /// <summary>
    /// Every tick, each connected player is owed <c>rate × elapsed</c> feedback datagrams; each starts at a
    /// random point of its interval so feedback does not arrive in lockstep.
    /// </summary>
    private void PaceLoop()
    {
        var packet = GC.AllocateUninitializedArray<byte>(_options.FeedbackSize, pinned: true);
        Random.Shared.NextBytes(packet);
        var stun = new byte[256];
        var connected = Players.Where(p => p.Connected).ToArray();
        var start = Stopwatch.GetTimestamp();
        foreach (var player in connected)
        {
            player.FeedbackCredit = Random.Shared.NextDouble();
            player.NextConsent = start + (long)(Random.Shared.NextDouble() * ConsentInterval);
        }

        var last = start;
        while (!_stopping.IsCancellationRequested)
        {
            Thread.Sleep(FeedbackTick);
            var now = Stopwatch.GetTimestamp();
            var credit = _options.FeedbackRate * Math.Min(1.0, (double)(now - last) / Stopwatch.Frequency);
            last = now;
            var phase = _phase;
            foreach (var player in connected)
            {
                player.FeedbackCredit += credit;
                while (player.FeedbackCredit >= 1)
                {
                    player.FeedbackCredit -= 1;
                    MediaPacket.WriteFeedback(packet, (uint)player.Index, player.FeedbackSequence++, Stopwatch.GetTimestamp(), phase);
                    if (!player.TrySend(packet))
                    {
                        player.FeedbackErrors++;
                        continue;
                    }

                    player.FeedbackSent++;
                    if (phase == RunPhase.Steady)
                    {
                        player.FeedbackSentSteady++;
                    }
                }

                if (now >= player.NextConsent)
                {
                    player.NextConsent = now + ConsentInterval;
                    player.TrySend(stun.AsSpan(0, player.WriteBindingRequest(stun)));
                }
            }
        }
    }

    /// <summary>Sends each datagram of the schedule at its time from the player it names, if that player connected.</summary>
    private void ScheduledPaceLoop(IFeedbackSchedule schedule)
    {
        PreciseWait.LowerTimerSlack();
        var packet = GC.AllocateUninitializedArray<byte>(ScheduleCapture.MaxLength, pinned: true);
        Random.Shared.NextBytes(packet);
        var ticksPerUs = Stopwatch.Frequency / 1e6;
        var start = Stopwatch.GetTimestamp();
        while (!_stopping.IsCancellationRequested)
        {
            var plan = schedule.Next();
            if (!double.IsFinite(plan.DueUs))
            {
                return;
            }

            var due = start + (long)(plan.DueUs * ticksPerUs);
            while (due - Stopwatch.GetTimestamp() > Stopwatch.Frequency / 10)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                Thread.Sleep(50);
            }

            PreciseWait.Until(due);
            if (plan.Slot < 0 || plan.Slot >= Players.Count || Players[plan.Slot] is not { Connected: true } player)
            {
                continue;
            }

            var phase = _phase;
            var datagram = packet.AsSpan(0, Math.Clamp(plan.Length, MediaPacket.MinSize, packet.Length));
            MediaPacket.WriteFeedback(datagram, (uint)player.Index, player.FeedbackSequence++, Stopwatch.GetTimestamp(), phase);
            if (!player.TrySend(datagram))
            {
                player.FeedbackErrors++;
                continue;
            }

            player.FeedbackSent++;
            if (phase == RunPhase.Steady)
            {
                player.FeedbackSentSteady++;
            }
        }
    }
}
