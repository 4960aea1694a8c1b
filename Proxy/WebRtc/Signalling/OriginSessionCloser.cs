using System.Threading.Channels;
using SrsProxy.Registry;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.WebRtc.Signalling;

/// <summary>
/// Ends at the origin the WebRTC sessions the proxy ended on its own (a player that vanished, a proxy that
/// stops): a DELETE on the origin's session URL (WHIP/WHEP), so the origin stops encrypting media for nobody
/// instead of waiting for its own timeout (about 30 s for SRS). Off the relay's threads: a bounded queue and a
/// few requests at a time; a full queue drops and counts, and the origin's timeout ends those sessions.
/// Registered before the relay, so it stops after it and still tells the origin of the sessions the relay
/// closes on its way out.
/// </summary>
internal sealed partial class OriginSessionCloser : IHostedService
{
    /// <summary>Sessions waiting for their DELETE; a wave of vanished players is a few hundred at most.</summary>
    internal const int QueueCapacity = 4096;

    /// <summary>DELETEs in flight at once, so a wave does not open hundreds of connections to one origin.</summary>
    private const int Concurrency = 4;

    /// <summary>How long a stopping proxy keeps telling origins; what is left then ends by the origins' timeouts.</summary>
    private static readonly TimeSpan StopDeadline = TimeSpan.FromSeconds(3);

    private readonly Channel<RtcSessionRecord> _queue = Channel.CreateBounded<RtcSessionRecord>(
        new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = false });

    private readonly OriginClient _origins;
    private readonly ILogger<OriginSessionCloser> _logger;
    private readonly CancellationTokenSource _abort = new();
    private Task _loop = Task.CompletedTask;
    private long _ended;
    private long _failed;
    private long _dropped;

    public OriginSessionCloser(RtcRelay relay, OriginClient origins, ILogger<OriginSessionCloser> logger)
    {
        _origins = origins;
        _logger = logger;
        relay.OriginSessionOrphaned += (record, _) => Enqueue(record);
    }

    /// <summary>Origin sessions ended by a DELETE the origin accepted (2xx, or 404: already gone).</summary>
    public long Ended => Interlocked.Read(ref _ended);

    /// <summary>DELETEs that failed: origin unreachable, too slow, or another error status.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Sessions not told because the queue was full or the proxy stopped first.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    internal void Enqueue(RtcSessionRecord record)
    {
        if (!_queue.Writer.TryWrite(record))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Parallel.ForEachAsync(
            _queue.Reader.ReadAllAsync(_abort.Token),
            new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = _abort.Token },
            (record, token) => new ValueTask(DeleteAsync(record, token)));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        try
        {
            await _loop.WaitAsync(StopDeadline, cancellationToken);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            await _abort.CancelAsync();
        }

        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        while (_queue.Reader.TryRead(out _))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    private async Task DeleteAsync(RtcSessionRecord record, CancellationToken cancellationToken)
    {
        if (record.OriginLocation is not { } location || !Uri.TryCreate(location, UriKind.Absolute, out var url))
        {
            return;
        }

        try
        {
            var answer = await _origins.SendAsync(HttpMethod.Delete, url, null, null, [], cancellationToken);
            if (answer.IsSuccess || answer.Status == StatusCodes.Status404NotFound)
            {
                Interlocked.Increment(ref _ended);
                LogEnded(record.Id, url.Authority, answer.Status);
                return;
            }

            Interlocked.Increment(ref _failed);
            LogFailed(record.Id, url.Authority, $"status {answer.Status}");
        }
        catch (OriginException e)
        {
            Interlocked.Increment(ref _failed);
            LogFailed(record.Id, url.Authority, e.Message);
        }
    }

    [LoggerMessage(EventId = 203, Level = LogLevel.Debug, Message = "Session {SessionId}: ended at origin {Origin} ({Status})")]
    private partial void LogEnded(string sessionId, string origin, int status);

    [LoggerMessage(EventId = 204, Level = LogLevel.Information, Message = "Session {SessionId}: origin {Origin} not told the session ended: {Reason}")]
    private partial void LogFailed(string sessionId, string origin, string reason);
}
