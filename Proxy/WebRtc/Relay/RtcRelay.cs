using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using SrsProxy.Configuration;
using SrsProxy.Registry;
using SrsProxy.Udp;

namespace SrsProxy.WebRtc.Relay;

/// <summary>
/// Relays WebRTC media (STUN, DTLS, SRTP/SRTCP) between players and origins through one public UDP port, on
/// the shared <see cref="UdpRelayEngine"/>. A player's first STUN binding request names its session by
/// USERNAME; after that the player's address does. Each session has its own socket towards the origin, so
/// the origin sees one address per player.
/// This file: the sessions' lifecycle. <c>RtcRelay.Datagrams.cs</c>: what a player's datagram does;
/// <c>RtcRelay.Sweep.cs</c>: idle and dead-origin sessions.
/// </summary>
internal sealed partial class RtcRelay : UdpRelayService
{
    /// <summary>
    /// Largest datagram relayed. WebRTC keeps datagrams under the path MTU (about 1,200 bytes for DTLS and
    /// SRTP); 4 KiB leaves room for any STUN message and for loopback paths with a large MTU.
    /// </summary>
    internal const int MaxDatagramSize = 4096;

    private readonly ProxyOptions _options;
    private readonly IProxyRegistry _registry;
    private readonly TimeProvider _time;
    private readonly ILogger<RtcRelay> _logger;
    private readonly ConcurrentDictionary<string, RtcSession> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RtcSession> _byUsername = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RtcSession>.AlternateLookup<ReadOnlySpan<char>> _byUsernameSpan;
    private readonly ConcurrentDictionary<AddressKey, RtcSession> _byAddress = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly SharedSessionLookup? _lookup;
    private readonly PlayerAddressPublisher? _addressPublisher;

    public RtcRelay(ProxyOptions options, IProxyRegistry registry, TimeProvider time, ILogger<RtcRelay> logger, IHostApplicationLifetime? lifetime = null)
        : base(time, logger, lifetime)
    {
        _options = options;
        _registry = registry;
        _time = time;
        _logger = logger;
        _byUsernameSpan = _byUsername.GetAlternateLookup<ReadOnlySpan<char>>();
        if (registry.IsShared)
        {
            _lookup = new SharedSessionLookup(registry.FindRtcSessionByUsernameAsync, registry.FindRtcSessionByPlayerAddressAsync, time,
                Adopt, AdoptByAddress, logger, _stopping.Token);
            _addressPublisher = new PlayerAddressPublisher(registry, logger, _stopping.Token);
        }

        _registry.RtcSessionRemoved += OnRemovedFromRegistry;
    }


    public int SessionCount => _byId.Count;

    public IEnumerable<RtcSession> Sessions => _byId.Values;

    protected override UdpEngineOptions CreateEngineOptions(bool batched) =>
        new("rtc", "PROXY_WEBRTC_SERVER", _options.WebRtcServer, MaxDatagramSize, _options.RtcSocketBufferBytes, _options.RtcSessionSocketBufferBytes,
            TimeSpan.FromTicks(Math.Clamp(_options.RtcIdleTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond * 100, TimeSpan.TicksPerSecond)))
        {
            Batched = batched,
            PumpCount = _options.RtcPumps,
            Coalesce = _options.RtcCoalesce,
            Priority = _options.RtcPumpPriority,
        };

    protected override async ValueTask CloseAllAsync(string reason)
    {
        await _stopping.CancelAsync();
        // Every player is cut: their sessions end here, in the registry and at the origin.
        foreach (var session in _byId.Values)
        {
            await CloseAsync(session, reason, endAtOrigin: true);
        }
    }

    /// <summary>
    /// Registers a session the signalling path created. Its origin socket opens when the player's first
    /// STUN request arrives. False if its ICE username is taken (two live sessions never share one).
    /// </summary>
    public bool TryOpen(RtcSessionRecord record, IPEndPoint originEndPoint, out RtcSession session)
    {
        session = new RtcSession(record, originEndPoint, _time.GetTimestamp());
        if (!_byUsername.TryAdd(record.Username, session))
        {
            return false;
        }

        _byId[record.Id] = session;
        Interlocked.Increment(ref Counters.SessionsOpened);
        LogSessionOpened(record.Id, record.Kind, record.StreamKey, record.Username, originEndPoint);
        SessionOpened?.Invoke(session);
        return true;
    }

    public RtcSession? Find(string id) => _byId.GetValueOrDefault(id);

    /// <summary>
    /// Raised on the opening thread once a session is relayed here (signalled, or adopted from another
    /// instance), for the operator's event stream. A handler must be quick and must not throw.
    /// </summary>
    public event Action<RtcSession>? SessionOpened;

    /// <summary>Raised on the closing thread once a session is closed here, with why; as <see cref="SessionOpened"/>.</summary>
    public event Action<RtcSession, string>? SessionClosed;

    /// <summary>After an ICE restart: the session answers to its new username from now on.</summary>
    public bool TryUpdate(RtcSession session, RtcSessionRecord record)
    {
        var oldUsername = session.Record.Username;
        if (oldUsername != record.Username && !_byUsername.TryAdd(record.Username, session))
        {
            return false;
        }

        session.Update(record);
        if (oldUsername != record.Username)
        {
            _byUsername.TryRemove(new KeyValuePair<string, RtcSession>(oldUsername, session));
        }

        return true;
    }

    /// <summary>
    /// Raised (on the thread that closed it) when the proxy ended a session on its own, for any reason but the
    /// player's DELETE or the origin's death: the origin still holds its side and keeps encrypting media for
    /// nobody until told (<see cref="WebRtc.Signalling.OriginSessionCloser"/> sends the DELETE).
    /// </summary>
    public event Action<RtcSessionRecord, string>? OriginSessionOrphaned;

    /// <summary>
    /// Ends a session at once: tables cleared, origin socket closed and, unless <paramref name="forget"/> is
    /// false, its registry entry removed (which, in a shared registry, ends it on every instance). With
    /// <paramref name="endAtOrigin"/>, the origin is told too (<see cref="OriginSessionOrphaned"/>).
    /// </summary>
    public async ValueTask<bool> CloseAsync(RtcSession session, string reason, bool forget = true, bool endAtOrigin = false)
    {
        if (!session.TryClose())
        {
            return false;
        }

        _byId.TryRemove(new KeyValuePair<string, RtcSession>(session.Id, session));
        _byUsername.TryRemove(new KeyValuePair<string, RtcSession>(session.Record.Username, session));
        foreach (var key in session.Keys)
        {
            _byAddress.TryRemove(new KeyValuePair<AddressKey, RtcSession>(key, session));
        }

        EngineOrNull?.Detach(session);
        session.AbortStreams();
        Counters.AddClosed(session);
        LogSessionClosed(session.Id, reason, session.PacketsToOrigin, session.PacketsToClient);
        SessionClosed?.Invoke(session, reason);
        if (forget)
        {
            try
            {
                await _registry.RemoveRtcSessionAsync(session.Id, CancellationToken.None);
            }
            catch (Exception e)
            {
                // A shared registry lets the entry expire once no instance refreshes it.
                LogRegistryError(e);
            }
        }

        if (endAtOrigin)
        {
            EndAtOrigin(session.Record, reason);
        }

        return true;
    }

    /// <summary>Tells the origin, through whoever listens, that a session it holds has no player any more.</summary>
    private void EndAtOrigin(RtcSessionRecord record, string reason)
    {
        if (record.OriginLocation is not null)
        {
            OriginSessionOrphaned?.Invoke(record, reason);
        }
    }

    /// <summary>A session another instance answered, found in the shared registry: relay it here from now on.</summary>
    private bool Adopt(RtcSessionRecord record, string username)
    {
        if (_byId.ContainsKey(record.Id) || !IPAddress.TryParse(record.RelayHost, out var host) ||
            !TryOpen(record, new IPEndPoint(host, record.RelayPort), out _))
        {
            return false;
        }

        Claim(record);
        return true;
    }

    /// <summary>
    /// A session another instance relayed, found by the address of a player the cluster verified: the
    /// balancer sends that player here now (the other instance died, or was drained). Binds the address, tells
    /// the origin at once with a binding request of the session's own credentials from this instance's socket
    /// (the origin moves the session to a new source address on a binding request: SRS logs "session address
    /// change"), then passes on the datagram that asked. Runs on the lookup's thread, before the receive
    /// thread can find the session by this address.
    /// </summary>
    private bool AdoptByAddress(RtcSessionRecord record, SocketAddress from, AddressKey key, byte[] datagram)
    {
        if (!_byId.TryGetValue(record.Id, out var session))
        {
            if (!IPAddress.TryParse(record.RelayHost, out var host) || !TryOpen(record, new IPEndPoint(host, record.RelayPort), out session))
            {
                return false;
            }
        }

        if (session.SlotOf(key) >= 0)
        {
            return false;
        }

        var slot = TryBind(session, from, key);
        if (slot < 0)
        {
            return false;
        }

        session.SetMediaSlot(slot);
        session.Touch(_time.GetTimestamp());
        Span<byte> transaction = stackalloc byte[StunMessage.TransactionIdLength];
        var request = StunBindingRequest.Create(session.Record.Username, session.IcePassword, transaction);
        session.RememberOwnTransaction(transaction);

        // Sent on the session's socket directly, not counted as the player's: the request is the proxy's own,
        // and the counters belong to the receive thread.
        try
        {
            if (session.OriginSocket is { } socket)
            {
                socket.Send(request, SocketFlags.None, out _);
                socket.Send(datagram, SocketFlags.None, out _);
            }
        }
        catch (ObjectDisposedException)
        {
            // Closed meanwhile: nothing to move.
            return false;
        }

        Claim(record);
        return true;
    }

    /// <summary>Tells a shared registry this instance relays the session now, before its next refresh would.</summary>
    private void Claim(RtcSessionRecord record) => _ = ClaimAsync(record);

    private async Task ClaimAsync(RtcSessionRecord record)
    {
        try
        {
            await _registry.RefreshRtcSessionsAsync([record], _stopping.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRegistryError(e);
        }
    }

    private void OnRemovedFromRegistry(string id)
    {
        if (_byId.TryGetValue(id, out var session))
        {
            _ = CloseAsync(session, "removed from the registry", forget: false).AsTask();
        }
    }
}
