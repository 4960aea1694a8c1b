using SrsProxy.Streams;

namespace SrsProxy.Registry;

/// <summary>
/// The proxy's shared state: origins and their heartbeats, stream-to-origin affinity, and WebRTC sessions.
/// Every method is asynchronous and every value plain data, so that an implementation may keep the state
/// in this process (<see cref="MemoryRegistry"/>) or in a store that several proxy instances share.
/// Nothing on the per-datagram path calls it.
/// </summary>
internal interface IProxyRegistry
{
    /// <summary>
    /// True when other proxy instances share this state: the relay then looks up sessions it does not know
    /// and keeps the shared copies of its sessions fresh.
    /// </summary>
    bool IsShared { get; }

    /// <summary>
    /// Raised (on any thread) when a session was removed, here or, for a shared registry, by another
    /// instance; the relay closes its local copy.
    /// </summary>
    event Action<string>? RtcSessionRemoved;

    /// <summary>
    /// Adds the origin or refreshes its heartbeat; true when the origin is new. Throws
    /// <see cref="RegistryFullException"/> at the cap.
    /// </summary>
    ValueTask<bool> RegisterOriginAsync(OriginServer origin, CancellationToken cancellationToken);

    /// <summary>Every origin known, alive or not, with its active session count.</summary>
    ValueTask<IReadOnlyList<OriginState>> GetOriginsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The origin for a stream: the one it already sticks to while that origin is alive and not in quarantine,
    /// else the available origin with the fewest active sessions (random among equals), which the stream then
    /// sticks to. Throws <see cref="NoOriginAvailableException"/> when no origin is available.
    /// </summary>
    ValueTask<OriginServer> PickOriginAsync(StreamUrl stream, CancellationToken cancellationToken);

    /// <summary>
    /// The proxy could not reach the origin (connection refused, no answer within the origin timeout): it gets
    /// no new streams for <c>PROXY_ORIGIN_QUARANTINE</c>, before its TTL would tell, and the streams stuck to it
    /// move to another origin on their next pick. Its playing sessions are left alone: they end only if it
    /// stops heartbeating.
    /// </summary>
    ValueTask ReportOriginUnreachableAsync(string originId, CancellationToken cancellationToken);

    /// <summary>Streams with an affinity and their session counts.</summary>
    ValueTask<IReadOnlyList<StreamState>> GetStreamsAsync(CancellationToken cancellationToken);

    /// <summary>Stores a new session. Throws <see cref="RegistryFullException"/> at the session cap.</summary>
    ValueTask AddRtcSessionAsync(RtcSessionRecord session, CancellationToken cancellationToken);

    /// <summary>Replaces a session (an ICE restart changes its username). False if it is gone.</summary>
    ValueTask<bool> UpdateRtcSessionAsync(RtcSessionRecord session, CancellationToken cancellationToken);

    ValueTask<RtcSessionRecord?> GetRtcSessionAsync(string id, CancellationToken cancellationToken);

    /// <summary>The session a STUN USERNAME (<c>answer ufrag:offer ufrag</c>) belongs to, or null.</summary>
    ValueTask<RtcSessionRecord?> FindRtcSessionByUsernameAsync(string username, CancellationToken cancellationToken);

    /// <summary>
    /// Shares the player addresses this instance verified (a STUN request signed with the session's ICE
    /// password came from each), so that another instance the balancer sends the player to can take the
    /// session over on the player's first datagram of any kind. Kept as long as the sessions; a registry of one
    /// instance keeps nothing.
    /// </summary>
    ValueTask PutPlayerAddressesAsync(IReadOnlyCollection<PlayerAddress> addresses, CancellationToken cancellationToken);

    /// <summary>The session a verified player address (<c>ip:port</c>, <c>[ipv6]:port</c>) belongs to, or null.</summary>
    ValueTask<RtcSessionRecord?> FindRtcSessionByPlayerAddressAsync(string address, CancellationToken cancellationToken);

    /// <summary>
    /// Tells the registry these sessions are still relaying here: a shared registry extends their expiry, writes
    /// them back if it lost them (a restarted store), with their streams' affinity, and notes this instance as
    /// the one relaying them (the claim <see cref="ReleaseIdleRtcSessionAsync"/> respects).
    /// </summary>
    ValueTask RefreshRtcSessionsAsync(IReadOnlyCollection<RtcSessionRecord> sessions, CancellationToken cancellationToken);

    /// <summary>
    /// Removes a session this instance found idle unless another instance claimed it meanwhile (it relays the
    /// player now: see <see cref="RefreshRtcSessionsAsync"/>). True when removed: the caller then ends the
    /// session at the origin. A registry of one instance simply removes it.
    /// </summary>
    ValueTask<bool> ReleaseIdleRtcSessionAsync(string id, CancellationToken cancellationToken);

    /// <summary>Removes a session; false if it was already gone.</summary>
    ValueTask<bool> RemoveRtcSessionAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Remembers which origin serves an HLS playlist, under an opaque id that the HTTP proxy appends to the
    /// playlist's segment URLs (the reference's <c>spbhid</c>): segments arrive on other connections, maybe at
    /// other instances, and must reach the same origin. Kept for <paramref name="lifetime"/>, renewed on use.
    /// </summary>
    ValueTask PutHlsOriginAsync(string hlsId, string originId, TimeSpan lifetime, CancellationToken cancellationToken);

    /// <summary>The origin id behind an HLS id, its lifetime renewed; null when unknown or expired.</summary>
    ValueTask<string?> GetHlsOriginAsync(string hlsId, TimeSpan lifetime, CancellationToken cancellationToken);
}
