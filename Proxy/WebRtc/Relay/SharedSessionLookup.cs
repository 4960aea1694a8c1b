using System.Collections.Concurrent;
using SrsProxy.Registry;

namespace SrsProxy.WebRtc.Relay;

/// <summary>
/// Finds, in a shared registry, a session that another instance answered the offer of, when a STUN request
/// names a username this instance does not know. Off the datagram path: the request that asked is dropped,
/// and the player's next retransmission finds the session. Strangers drive this path, so it is bounded in
/// count, and a username the registry did not know is not asked about again for a while: that check reads
/// the username as a span, with no allocation and no lock shared with anything else.
/// </summary>
internal sealed partial class SharedSessionLookup
{
    /// <summary>
    /// Lookups at once. The player retransmits, so a lookup that is not started is retried.
    /// </summary>
    internal const int MaxPending = 32;

    /// <summary>Most usernames remembered as unknown; past it the expired and then the oldest go.</summary>
    internal const int MaxMisses = 4096;

    /// <summary>How long a username the shared registry did not know is not looked up again.</summary>
    internal static readonly TimeSpan MissCacheTime = TimeSpan.FromSeconds(2);

    private readonly Func<string, CancellationToken, ValueTask<RtcSessionRecord?>> _find;
    private readonly TimeProvider _time;
    private readonly Func<RtcSessionRecord, string, bool> _adopt;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;
    private readonly ConcurrentDictionary<string, long> _misses = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> _missesBySpan;
    private readonly ConcurrentDictionary<string, byte> _pending = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte>.AlternateLookup<ReadOnlySpan<char>> _pendingBySpan;
    private int _pendingCount;

    /// <summary>
    /// <paramref name="find"/> asks the shared registry (<see cref="IProxyRegistry.FindRtcSessionByUsernameAsync"/>);
    /// <paramref name="adopt"/> opens a found session here, and gets the record and the username that found it.
    /// </summary>
    public SharedSessionLookup(Func<string, CancellationToken, ValueTask<RtcSessionRecord?>> find, TimeProvider time, Func<RtcSessionRecord, string, bool> adopt, ILogger logger, CancellationToken stopping)
    {
        _find = find;
        _time = time;
        _adopt = adopt;
        _logger = logger;
        _stopping = stopping;
        _missesBySpan = _misses.GetAlternateLookup<ReadOnlySpan<char>>();
        _pendingBySpan = _pending.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>
    /// Starts a lookup of <paramref name="username"/> unless it missed recently, is already being looked up,
    /// or too many are. Returns whether one started. A cached miss costs two span lookups and nothing else.
    /// </summary>
    public bool Request(ReadOnlySpan<char> username)
    {
        if (_missesBySpan.TryGetValue(username, out var missed) && _time.GetElapsedTime(missed) < MissCacheTime)
        {
            return false;
        }

        if (_pendingBySpan.ContainsKey(username))
        {
            return false;
        }

        if (Interlocked.Increment(ref _pendingCount) > MaxPending)
        {
            Interlocked.Decrement(ref _pendingCount);
            return false;
        }

        var key = new string(username);
        if (!_pending.TryAdd(key, 0))
        {
            Interlocked.Decrement(ref _pendingCount);
            return false;
        }

        _ = LookupAsync(key);
        return true;
    }

    private async Task LookupAsync(string username)
    {
        RtcSessionRecord? record = null;
        try
        {
            record = await _find(username, _stopping);
            if (record is not null && _adopt(record, username))
            {
                LogSessionAdopted(record.Id, username);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e)
        {
            LogRegistryError(e);
        }
        finally
        {
            if (record is null)
            {
                RememberMiss(username);
            }

            _pending.TryRemove(username, out _);
            Interlocked.Decrement(ref _pendingCount);
        }
    }

    private void RememberMiss(string username)
    {
        var now = _time.GetTimestamp();
        if (_misses.Count >= MaxMisses)
        {
            // Rare (only after a registry round trip, at most MaxPending at once): expired entries go first.
            foreach (var (name, at) in _misses)
            {
                if (_time.GetElapsedTime(at, now) >= MissCacheTime)
                {
                    _misses.TryRemove(name, out _);
                }
            }

            if (_misses.Count >= MaxMisses && !_misses.IsEmpty)
            {
                _misses.TryRemove(_misses.MinBy(m => m.Value).Key, out _);
            }
        }

        _misses[username] = now;
    }

    [LoggerMessage(EventId = 108, Level = LogLevel.Information, Message = "RTC session {SessionId}: found in the shared registry by username {Username}; relaying it here")]
    private partial void LogSessionAdopted(string sessionId, string username);

    [LoggerMessage(EventId = 109, Level = LogLevel.Warning, Message = "Registry unavailable to the relay's session lookup")]
    private partial void LogRegistryError(Exception exception);
}
