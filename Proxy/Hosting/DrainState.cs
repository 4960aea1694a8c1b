using System.Collections.Concurrent;
using SrsProxy.Configuration;
using SrsProxy.Http;

namespace SrsProxy.Hosting;

/// <summary>
/// The graceful drain (issue 12). Once begun (SIGTERM, any other stop of the host, or
/// <c>POST /api/v1/drain</c>) the instance is unready for good: whatever accepts new work asks
/// <see cref="IsDraining"/> and refuses it, while what is already playing keeps flowing. The drain ends when
/// the <see cref="DrainableCount"/>s add up to zero or <c>PROXY_GRACE_QUIT_TIMEOUT</c> after it began,
/// whichever comes first; <see cref="Ended"/> then fires, and the host's stop closes whatever is left.
/// As a hosted lifecycle service, it holds the host's stop in <see cref="StoppingAsync"/>, which the host runs
/// before any service's <c>StopAsync</c>: Kestrel, the relays and RTMP keep serving throughout the drain.
/// </summary>
internal sealed partial class DrainState : IHostedLifecycleService, IDisposable
{
    /// <summary>
    /// <c>Retry-After</c> of a refusal while draining: a client retrying this soon reaches another instance,
    /// since load balancers stop sending here once <c>/readyz</c> fails.
    /// </summary>
    internal static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Time the host's stop gets after the drain's deadline to close what is left (sessions, sockets, the last
    /// HTTP responses): added to the host's shutdown timeout so that the drain does not use it all up.
    /// </summary>
    internal static readonly TimeSpan CloseAllowance = TimeSpan.FromSeconds(5);

    /// <summary>How often the counts are read while draining; ten reads a second cost nothing.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How often a long drain logs what it still waits for.</summary>
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(5);

    /// <summary>The kinds of new work a drain refuses (RTMP is refused by the kernel: its listener closes).</summary>
    internal static readonly string[] RefusalKinds = ["webrtc", "srt", "http_stream"];

    private readonly TimeSpan _grace;
    private readonly IReadOnlyList<DrainableCount> _counts;
    private readonly TimeProvider _time;
    private readonly ILogger<DrainState> _logger;
    private readonly CancellationTokenSource _started = new();
    private readonly CancellationTokenSource _ended = new();
    private readonly TaskCompletionSource<DrainOutcome> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, long> _refused = new(StringComparer.Ordinal);
    private readonly CancellationTokenRegistration _onStopping;
    private DrainInfo? _info;
    private int _begun;

    public DrainState(ProxyOptions options, IEnumerable<DrainableCount> counts, TimeProvider time, ILogger<DrainState> logger, IHostApplicationLifetime? lifetime = null)
    {
        _grace = options.GraceQuitTimeout;
        _counts = counts.ToList();
        _time = time;
        _logger = logger;
        foreach (var kind in RefusalKinds)
        {
            _refused[kind] = 0;
        }

        // A signal stops the host through the lifetime: mark the drain at once, before the host gets to the
        // services, so not one new offer slips in between.
        _onStopping = lifetime?.ApplicationStopping.Register(static state => ((DrainState)state!).BeginDrain("stopping"), this) ?? default;
    }

    public bool IsDraining => Volatile.Read(ref _begun) != 0;

    /// <summary>Fires when the drain begins: listeners that refuse new work by closing (RTMP) close then.</summary>
    public CancellationToken Started => _started.Token;

    /// <summary>Fires when the drain ends (empty or deadline): streams still running past the deadline end then.</summary>
    public CancellationToken Ended => _ended.Token;

    /// <summary>How the drain ended, once it has.</summary>
    public Task<DrainOutcome> Completion => _completion.Task;

    /// <summary>Why, since when and until when the instance drains; null before.</summary>
    public DrainInfo? Info => Volatile.Read(ref _info);

    public int ActiveCount => _counts.Sum(c => c.Count);

    /// <summary>Each kind of work still playing, by name.</summary>
    public IReadOnlyDictionary<string, int> ActiveCounts() => _counts.ToDictionary(c => c.Name, c => c.Count, StringComparer.Ordinal);

    /// <summary>New work refused since the drain began, by kind.</summary>
    public IReadOnlyDictionary<string, long> RefusedCounts() => _refused.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    /// <summary>
    /// Begins the drain; later calls do nothing. True for the call that began it.
    /// </summary>
    public bool BeginDrain(string reason)
    {
        if (Interlocked.Exchange(ref _begun, 1) != 0)
        {
            return false;
        }

        var since = _time.GetUtcNow();
        Volatile.Write(ref _info, new DrainInfo(reason, since, since + _grace));
        LogBegun(reason, Describe(), _grace.TotalSeconds);
        _started.Cancel();
        _ = MonitorAsync(_time.GetTimestamp());
        return true;
    }

    /// <summary>Counts one piece of new work refused because the instance drains.</summary>
    public void CountRefused(string kind) => _refused.AddOrUpdate(kind, 1, static (_, n) => n + 1);

    /// <summary>
    /// Answers a new HTTP request refused while draining: 503 with <c>Retry-After</c>, as a problem document,
    /// and <c>Connection: close</c> so that a keep-alive client's retry opens a connection the load balancer
    /// can send elsewhere.
    /// </summary>
    public Task RefuseAsync(HttpContext context, string kind)
    {
        CountRefused(kind);
        context.Response.Headers.Connection = "close";
        return Problem.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "this proxy instance is draining before it stops; retry, and another instance will answer", RetryAfter);
    }

    private string Describe() => string.Join(", ", _counts.Select(c => $"{c.Name} {c.Count}"));

    private async Task MonitorAsync(long begun)
    {
        var outcome = DrainOutcome.Deadline;
        try
        {
            var lastProgress = begun;
            while (true)
            {
                if (ActiveCount == 0)
                {
                    outcome = DrainOutcome.Empty;
                    break;
                }

                var left = _grace - _time.GetElapsedTime(begun);
                if (left <= TimeSpan.Zero)
                {
                    break;
                }

                if (_time.GetElapsedTime(lastProgress) >= ProgressInterval)
                {
                    lastProgress = _time.GetTimestamp();
                    LogProgress(Describe(), left.TotalSeconds);
                }

                await Task.Delay(left < PollInterval ? left : PollInterval, _time);
            }
        }
        catch (Exception e)
        {
            // A count that throws must not hold the stop for ever: the drain ends, and the stop closes the rest.
            LogFailed(e);
        }

        if (outcome == DrainOutcome.Empty)
        {
            LogEmpty(_time.GetElapsedTime(begun).TotalSeconds);
        }
        else
        {
            LogDeadline(_grace.TotalSeconds, Describe());
        }

        _ended.Cancel();
        _completion.TrySetResult(outcome);
    }

    public Task StoppingAsync(CancellationToken cancellationToken)
    {
        BeginDrain("stopping");
        return WaitEndedAsync(cancellationToken);
    }

    private async Task WaitEndedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _completion.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout ran out first (it is the grace plus CloseAllowance): stop anyway.
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// The token sources stay undisposed: they hold no timer, and a drain still running when the host is
    /// disposed (its shutdown timeout ran out) must still be able to end.
    /// </summary>
    public void Dispose() => _onStopping.Dispose();
}
