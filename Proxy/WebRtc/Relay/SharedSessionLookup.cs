using System.Collections.Concurrent;
using System.Net;
using SrsProxy.Registry;
using SrsProxy.Udp;

namespace SrsProxy.WebRtc.Relay;

/// <summary>
/// Finds, in a shared registry, a session this instance does not know: by the USERNAME of a STUN request
/// (another instance answered the player's offer), or by the player's address (another instance relayed the
/// player until the balancer sent it here: any datagram will do). Off the datagram path. Strangers drive this
/// path, so it is bounded in count, and a username or address the registry did not know is not asked about
/// again for a while: that check reads the username as a span, or the address as a value, with no allocation
/// and no lock shared with anything else.
/// </summary>
internal sealed partial class SharedSessionLookup
{
    /// <summary>
    /// Lookups at once, of both kinds. The player sends again, so a lookup that is not started is retried.
    /// </summary>
    internal const int MaxPending = 32;

    /// <summary>Most usernames (and, apart, addresses) remembered as unknown; past it the expired and then the oldest go.</summary>
    internal const int MaxMisses = 4096;

    /// <summary>How long a username or address the shared registry did not know is not looked up again.</summary>
    internal static readonly TimeSpan MissCacheTime = TimeSpan.FromSeconds(2);

    private readonly Func<string, CancellationToken, ValueTask<RtcSessionRecord?>> _findByUsername;
    private readonly Func<string, CancellationToken, ValueTask<RtcSessionRecord?>> _findByAddress;
    private readonly TimeProvider _time;
    private readonly Func<RtcSessionRecord, string, bool> _adopt;
    private readonly Func<RtcSessionRecord, SocketAddress, AddressKey, byte[], bool> _adoptAddress;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;
    private readonly ConcurrentDictionary<string, long> _misses = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> _missesBySpan;
    private readonly ConcurrentDictionary<string, byte> _pending = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte>.AlternateLookup<ReadOnlySpan<char>> _pendingBySpan;
    private readonly ConcurrentDictionary<AddressKey, long> _addressMisses = new();
    private readonly ConcurrentDictionary<AddressKey, byte> _addressPending = new();
    private int _pendingCount;

    /// <summary>
    /// <paramref name="findByUsername"/> and <paramref name="findByAddress"/> ask the shared registry
    /// (<see cref="IProxyRegistry.FindRtcSessionByUsernameAsync"/>, <see cref="IProxyRegistry.FindRtcSessionByPlayerAddressAsync"/>).
    /// <paramref name="adopt"/> opens a session found by username here, and gets the record and the username.
    /// <paramref name="adoptAddress"/> opens a session found by address here and binds that address, and gets
    /// the record, the address, and a copy of the datagram that asked.
    /// </summary>
    public SharedSessionLookup(
        Func<string, CancellationToken, ValueTask<RtcSessionRecord?>> findByUsername,
        Func<string, CancellationToken, ValueTask<RtcSessionRecord?>> findByAddress,
        TimeProvider time,
        Func<RtcSessionRecord, string, bool> adopt,
        Func<RtcSessionRecord, SocketAddress, AddressKey, byte[], bool> adoptAddress,
        ILogger logger,
        CancellationToken stopping)
    {
        _findByUsername = findByUsername;
        _findByAddress = findByAddress;
        _time = time;
        _adopt = adopt;
        _adoptAddress = adoptAddress;
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
        if ((_missesBySpan.TryGetValue(username, out var missed) && _time.GetElapsedTime(missed) < MissCacheTime) ||
            _pendingBySpan.ContainsKey(username) || !TryReserve())
        {
            return false;
        }

        var key = new string(username);
        if (!_pending.TryAdd(key, 0))
        {
            Interlocked.Decrement(ref _pendingCount);
            return false;
        }

        StartLookup(key);
        return true;
    }

    /// <summary>
    /// Starts a lookup of the player address <paramref name="from"/> that sent <paramref name="datagram"/>, on
    /// the same terms as <see cref="Request"/>. A cached miss costs two dictionary lookups of a value and
    /// nothing else; a lookup that starts copies the address and the datagram (it goes on once the session is
    /// bound, so the player's first datagram through this instance is not lost).
    /// </summary>
    public bool RequestByAddress(AddressKey key, SocketAddress from, ReadOnlySpan<byte> datagram)
    {
        if ((_addressMisses.TryGetValue(key, out var missed) && _time.GetElapsedTime(missed) < MissCacheTime) ||
            _addressPending.ContainsKey(key) || !TryReserve())
        {
            return false;
        }

        if (!_addressPending.TryAdd(key, 0))
        {
            Interlocked.Decrement(ref _pendingCount);
            return false;
        }

        var address = new SocketAddress(from.Family, from.Size);
        from.Buffer.Span[..from.Size].CopyTo(address.Buffer.Span);
        StartLookup(key, address, datagram.ToArray());
        return true;
    }

    private bool TryReserve()
    {
        if (Interlocked.Increment(ref _pendingCount) > MaxPending)
        {
            Interlocked.Decrement(ref _pendingCount);
            return false;
        }

        return true;
    }

    // The lambdas live in these two methods, not in the Request methods: a lambda's captured variables are
    // allocated when their scope is entered, and the Request methods' cached-miss path must allocate nothing.
    private void StartLookup(string username) =>
        _ = LookupAsync(username, _misses, _pending, () => _findByUsername(username, _stopping), record =>
        {
            if (_adopt(record, username))
            {
                LogSessionAdopted(record.Id, username);
            }
        });

    private void StartLookup(AddressKey key, SocketAddress from, byte[] datagram)
    {
        var text = AddressText.Of(from);
        _ = LookupAsync(key, _addressMisses, _addressPending, () => _findByAddress(text, _stopping), record =>
        {
            if (_adoptAddress(record, from, key, datagram))
            {
                LogSessionAdoptedByAddress(record.Id, text);
            }
        });
    }

    /// <summary>One lookup of either kind: the registry asked, a found session adopted, a miss remembered, the slot freed.</summary>
    private async Task LookupAsync<TKey>(TKey key, ConcurrentDictionary<TKey, long> misses, ConcurrentDictionary<TKey, byte> pending,
        Func<ValueTask<RtcSessionRecord?>> find, Action<RtcSessionRecord> adopt)
        where TKey : notnull
    {
        RtcSessionRecord? record = null;
        try
        {
            record = await find();
            if (record is not null)
            {
                adopt(record);
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
                RememberMiss(misses, key);
            }

            pending.TryRemove(key, out _);
            Interlocked.Decrement(ref _pendingCount);
        }
    }

    private void RememberMiss<TKey>(ConcurrentDictionary<TKey, long> misses, TKey key)
        where TKey : notnull
    {
        var now = _time.GetTimestamp();
        if (misses.Count >= MaxMisses)
        {
            // Rare (only after a registry round trip, at most MaxPending at once): expired entries go first.
            foreach (var (missed, at) in misses)
            {
                if (_time.GetElapsedTime(at, now) >= MissCacheTime)
                {
                    misses.TryRemove(missed, out _);
                }
            }

            if (misses.Count >= MaxMisses && !misses.IsEmpty)
            {
                misses.TryRemove(misses.MinBy(m => m.Value).Key, out _);
            }
        }

        misses[key] = now;
    }

    [LoggerMessage(EventId = 108, Level = LogLevel.Information, Message = "RTC session {SessionId}: found in the shared registry by username {Username}; relaying it here")]
    private partial void LogSessionAdopted(string sessionId, string username);

    [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "RTC session {SessionId}: found in the shared registry by its player address {Player}; relaying it here")]
    private partial void LogSessionAdoptedByAddress(string sessionId, string player);

    [LoggerMessage(EventId = 109, Level = LogLevel.Warning, Message = "Registry unavailable to the relay's session lookup")]
    private partial void LogRegistryError(Exception exception);
}
