using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SrsProxy.Configuration;
using SrsProxy.Registry;

namespace SrsProxy.WebRtc.Relay;

/// <summary>
/// Relays WebRTC media (STUN, DTLS, SRTP/SRTCP) between players and origins through one public UDP port.
/// A player's first STUN binding request names its session by USERNAME; after that the player's address
/// does. Each session has its own socket towards the origin, so the origin sees one address per player.
/// One long-lived receive loop per socket; no allocation, task, lock or log line per datagram.
/// </summary>
internal sealed partial class RtcRelay : IHostedService, IAsyncDisposable
{
    /// <summary>
    /// Receive buffer size. WebRTC keeps datagrams under the path MTU (about 1,200 bytes for DTLS and SRTP);
    /// 4 KiB leaves room for any STUN message and for loopback paths with a large MTU.
    /// </summary>
    internal const int MaxDatagramSize = 4096;

    /// <summary>
    /// Lookups of unknown usernames in a shared registry at once. They happen only for STUN requests naming a
    /// session this instance has not seen; the player retransmits, so a lookup that is not started is retried.
    /// </summary>
    internal const int MaxPendingLookups = 32;

    /// <summary>How long a username the shared registry did not know is not looked up again.</summary>
    private static readonly TimeSpan MissCacheTime = TimeSpan.FromSeconds(2);

    /// <summary>Most usernames remembered as unknown; past it the oldest go.</summary>
    private const int MaxMissCache = 4096;

    private readonly ProxyOptions _options;
    private readonly IProxyRegistry _registry;
    private readonly TimeProvider _time;
    private readonly ILogger<RtcRelay> _logger;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly ConcurrentDictionary<string, RtcSession> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RtcSession> _byUsername = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RtcSession>.AlternateLookup<ReadOnlySpan<char>> _byUsernameSpan;
    private readonly ConcurrentDictionary<AddressKey, RtcSession> _byAddress = new();
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _socket;
    private Task _receiveLoop = Task.CompletedTask;
    private Task _sweepLoop = Task.CompletedTask;
    private readonly Dictionary<string, long> _misses = new(StringComparer.Ordinal);
    private readonly HashSet<string> _lookups = new(StringComparer.Ordinal);
    private long _lastRefresh;
    private OriginPump[] _pumps = [];
    private int _nextPump;

    public RtcRelay(ProxyOptions options, IProxyRegistry registry, TimeProvider time, ILogger<RtcRelay> logger, IHostApplicationLifetime? lifetime = null)
    {
        _options = options;
        _registry = registry;
        _time = time;
        _logger = logger;
        _lifetime = lifetime;
        _byUsernameSpan = _byUsername.GetAlternateLookup<ReadOnlySpan<char>>();
        _registry.RtcSessionRemoved += OnRemovedFromRegistry;
    }

    public RelayCounters Counters { get; } = new();

    /// <summary>
    /// The engine for the origin-to-player half: on Linux, <see cref="OriginPump"/> threads that batch with
    /// <c>recvmmsg</c>/<c>sendmmsg</c>; elsewhere (or when a test asks), one async receive loop per session.
    /// </summary>
    internal bool Batched { get; init; } = OperatingSystem.IsLinux();

    /// <summary>Pump threads of the batched engine: one per core, at most 8.</summary>
    internal int PumpCount { get; init; } = Math.Clamp(Environment.ProcessorCount, 1, 8);

    /// <summary>The bound public address; its port is what answers advertise.</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)(_socket ?? throw new InvalidOperationException("relay not started")).LocalEndPoint!;

    public int SessionCount => _byId.Count;

    public IEnumerable<RtcSession> Sessions => _byId.Values;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var endPoint = _options.WebRtcServer.ToEndPoint();
        var socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.ReceiveBufferSize = _options.RtcSocketBufferBytes;
            socket.SendBufferSize = _options.RtcSocketBufferBytes;
            socket.Bind(endPoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _socket = socket;
        if (Batched)
        {
            _pumps = new OriginPump[PumpCount];
            for (var i = 0; i < _pumps.Length; i++)
            {
                _pumps[i] = new OriginPump(i, socket, Counters, _time, OnLoopFailed);
            }
        }

        LogListening(LocalEndPoint, socket.ReceiveBufferSize, socket.SendBufferSize, Batched ? $"{_pumps.Length} batching threads" : "a receive loop per session");
        _receiveLoop = Task.Run(() => ReceiveLoopAsync(socket, _stopping.Token));
        _sweepLoop = Task.Run(() => SweepLoopAsync(_stopping.Token));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        foreach (var pump in _pumps)
        {
            pump.Dispose();
        }

        _socket?.Dispose();
        foreach (var session in _byId.Values)
        {
            await CloseAsync(session, "proxy stopping");
        }

        await Task.WhenAll(_receiveLoop, _sweepLoop).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await StopAsync(CancellationToken.None);
        }

        _stopping.Dispose();
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
        return true;
    }

    public RtcSession? Find(string id) => _byId.GetValueOrDefault(id);

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
    /// Ends a session at once: tables cleared, origin socket closed and, unless <paramref name="forget"/> is
    /// false, its registry entry removed (which, in a shared registry, ends it on every instance).
    /// </summary>
    public async ValueTask<bool> CloseAsync(RtcSession session, string reason, bool forget = true)
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

        if (session.OriginSocket is { } originSocket)
        {
            session.Pump?.Remove(session, originSocket);
            originSocket.Dispose();
        }

        Interlocked.Add(ref Counters.ClosedPacketsToOrigin, Volatile.Read(ref session.PacketsToOrigin));
        Interlocked.Add(ref Counters.ClosedBytesToOrigin, Volatile.Read(ref session.BytesToOrigin));
        Interlocked.Add(ref Counters.ClosedPacketsToPlayer, Volatile.Read(ref session.PacketsToPlayer));
        Interlocked.Add(ref Counters.ClosedBytesToPlayer, Volatile.Read(ref session.BytesToPlayer));
        Interlocked.Increment(ref Counters.SessionsClosed);
        LogSessionClosed(session.Id, reason, session.PacketsToOrigin, session.PacketsToPlayer);
        if (!forget)
        {
            return true;
        }

        try
        {
            await _registry.RemoveRtcSessionAsync(session.Id, CancellationToken.None);
        }
        catch (Exception e)
        {
            // A shared registry lets the entry expire once no instance refreshes it.
            LogRegistryError(e);
        }

        return true;
    }

    private void OnRemovedFromRegistry(string id)
    {
        if (_byId.TryGetValue(id, out var session))
        {
            _ = CloseAsync(session, "removed from the registry", forget: false).AsTask();
        }
    }

    private async Task ReceiveLoopAsync(Socket socket, CancellationToken cancellationToken)
    {
        // One pinned buffer and one address object for the life of the loop: nothing per datagram.
        // One byte more than the largest datagram taken: a longer one fills it, and is dropped whole rather than
        // relayed cut short (the kernel truncates without an error).
        var buffer = GC.AllocateUninitializedArray<byte>(MaxDatagramSize + 1, pinned: true);
        var from = new SocketAddress(socket.AddressFamily);
        while (!cancellationToken.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await socket.ReceiveFromAsync(buffer, SocketFlags.None, from, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            catch (SocketException e) when (IsPerDatagramError(e.SocketErrorCode))
            {
                // An ICMP error for an earlier send, or an oversized datagram: about one datagram, not the socket.
                Counters.Drop(DropReason.Malformed);
                continue;
            }
            catch (SocketException e) when (cancellationToken.IsCancellationRequested || e.SocketErrorCode == SocketError.OperationAborted)
            {
                break;
            }
            catch (Exception e)
            {
                OnLoopFailed(e);
                return;
            }

            if (length > MaxDatagramSize)
            {
                Counters.Drop(DropReason.Malformed);
                continue;
            }

            HandleFromPlayer(buffer.AsSpan(0, length), from);
        }
    }

    private static bool IsPerDatagramError(SocketError error) =>
        error is SocketError.ConnectionReset or SocketError.ConnectionRefused or SocketError.MessageSize
            or SocketError.HostUnreachable or SocketError.NetworkUnreachable;

    /// <summary>One datagram from a player (or anyone): find its session and pass it to the origin.</summary>
    internal void HandleFromPlayer(ReadOnlySpan<byte> datagram, SocketAddress from)
    {
        if (datagram.IsEmpty)
        {
            Counters.Drop(DropReason.Malformed);
            return;
        }

        var key = AddressKey.From(from);
        RtcSession? session;
        switch (DatagramClass.Of(datagram[0]))
        {
            case DatagramKind.Stun:
                if (!StunMessage.TryParse(datagram, out var stun))
                {
                    Counters.Drop(DropReason.Malformed);
                    return;
                }

                if (stun.IsBindingRequest && !stun.Username.IsEmpty)
                {
                    session = FindByUsername(stun.Username);
                    if (session is null)
                    {
                        Counters.Drop(DropReason.UnknownUsername);
                        if (_registry.IsShared)
                        {
                            // Another instance may have answered this player's offer.
                            StartLookup(stun.Username);
                        }

                        return;
                    }

                    var slot = session.SlotOf(key);
                    if (slot < 0)
                    {
                        // A new address joins the session only with proof it knows the ICE password:
                        // a spoofed request naming a known username must not steal the media.
                        if (!stun.HasValidIntegrity(session.IcePassword))
                        {
                            Counters.Drop(DropReason.BadIntegrity);
                            return;
                        }

                        slot = TryBind(session, from, key);
                        if (slot < 0)
                        {
                            return;
                        }
                    }

                    if (stun.HasUseCandidate && session.MediaSlot != slot)
                    {
                        session.SetMediaSlot(slot);
                    }

                    session.RememberTransaction(stun.TransactionId, slot);
                }
                else if (!_byAddress.TryGetValue(key, out session))
                {
                    Counters.Drop(DropReason.UnknownAddress);
                    return;
                }

                break;
            case DatagramKind.Dtls or DatagramKind.Rtp:
                if (!_byAddress.TryGetValue(key, out session))
                {
                    Counters.Drop(DropReason.UnknownAddress);
                    return;
                }

                // Media from one of the player's addresses: that is where the origin's media goes now.
                var mediaSlot = session.SlotOf(key);
                if (mediaSlot >= 0 && mediaSlot != session.MediaSlot)
                {
                    session.SetMediaSlot(mediaSlot);
                }

                break;
            default:
                Counters.Drop(DropReason.Malformed);
                return;
        }

        ForwardToOrigin(session, datagram);
    }

    private RtcSession? FindByUsername(ReadOnlySpan<byte> username)
    {
        Span<char> chars = stackalloc char[StunMessage.MaxUsernameLength];
        if (Ascii.ToUtf16(username, chars, out var written) != OperationStatus.Done)
        {
            return null;
        }

        return _byUsernameSpan.TryGetValue(chars[..written], out var session) ? session : null;
    }

    /// <summary>
    /// Looks an unknown username up in the shared registry, off the datagram path: the datagram that asked is
    /// dropped, and the player's next retransmission finds the session. Bounded in count, and a username
    /// the registry did not know is not asked about again for a while.
    /// </summary>
    private void StartLookup(ReadOnlySpan<byte> usernameBytes)
    {
        if (!Ascii.IsValid(usernameBytes))
        {
            return;
        }

        var username = Encoding.ASCII.GetString(usernameBytes);
        var now = _time.GetTimestamp();
        lock (_lookups)
        {
            if (_lookups.Count >= MaxPendingLookups || _lookups.Contains(username) ||
                (_misses.TryGetValue(username, out var missed) && _time.GetElapsedTime(missed, now) < MissCacheTime))
            {
                return;
            }

            _lookups.Add(username);
        }

        _ = LookupAsync(username);
    }

    private async Task LookupAsync(string username)
    {
        RtcSessionRecord? record = null;
        try
        {
            record = await _registry.FindRtcSessionByUsernameAsync(username, _stopping.Token);
            if (record is not null && !_byId.ContainsKey(record.Id) && IPAddress.TryParse(record.RelayHost, out var host))
            {
                if (TryOpen(record, new IPEndPoint(host, record.RelayPort), out _))
                {
                    LogSessionAdopted(record.Id, username);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogRegistryError(e);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            lock (_lookups)
            {
                _lookups.Remove(username);
                if (record is null)
                {
                    if (_misses.Count >= MaxMissCache)
                    {
                        _misses.Remove(_misses.MinBy(m => m.Value).Key);
                    }

                    _misses[username] = _time.GetTimestamp();
                }
            }
        }
    }

    /// <summary>
    /// Adds a player address to the session, opening its origin socket on first use. Returns the address's
    /// slot, or -1 when the session cannot take it.
    /// </summary>
    private int TryBind(RtcSession session, SocketAddress from, AddressKey key)
    {
        if (session.IsClosed)
        {
            Counters.Drop(DropReason.SessionClosed);
            return -1;
        }

        if (session.OriginSocket is null)
        {
            Socket originSocket;
            try
            {
                originSocket = new Socket(session.OriginEndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp)
                {
                    ReceiveBufferSize = _options.RtcSessionSocketBufferBytes,
                };
                originSocket.Connect(session.OriginEndPoint);
            }
            catch (SocketException e)
            {
                // Out of file descriptors or ports: resource pressure, the session stays unbound.
                Counters.Drop(DropReason.SendFailed);
                LogOriginSocketFailed(session.Id, e.SocketErrorCode);
                return -1;
            }

            session.OriginSocket = originSocket;
            if (session.IsClosed)
            {
                // Closed by another thread before the socket was published: CloseAsync did not see it.
                originSocket.Dispose();
                Counters.Drop(DropReason.SessionClosed);
                return -1;
            }

            if (_pumps.Length > 0)
            {
                var pump = _pumps[(int)((uint)Interlocked.Increment(ref _nextPump) % (uint)_pumps.Length)];
                session.Pump = pump;
                if (!pump.Add(session, originSocket))
                {
                    // The kernel refused the epoll entry (out of memory or closed meanwhile): the session
                    // stays unbound, and the player's next STUN request tries again.
                    session.OriginSocket = null;
                    originSocket.Dispose();
                    Counters.Drop(DropReason.SendFailed);
                    LogOriginSocketFailed(session.Id, SocketError.NoBufferSpaceAvailable);
                    return -1;
                }
            }
            else
            {
                _ = OriginLoopAsync(session, originSocket);
            }
        }

        var slot = session.AddAddress(from, key, out var evicted);
        if (evicted is { } old)
        {
            _byAddress.TryRemove(new KeyValuePair<AddressKey, RtcSession>(old, session));
        }

        _byAddress[key] = session;
        if (session.IsClosed)
        {
            // Closed while binding: do not leave the address behind.
            _byAddress.TryRemove(new KeyValuePair<AddressKey, RtcSession>(key, session));
            return -1;
        }

        LogPlayerBound(session.Id, AddressText.Of(from), slot);
        return slot;
    }

    private void ForwardToOrigin(RtcSession session, ReadOnlySpan<byte> datagram)
    {
        var socket = session.OriginSocket;
        if (socket is null)
        {
            Counters.Drop(DropReason.SessionClosed);
            return;
        }

        session.Touch(_time.GetTimestamp());
        try
        {
            socket.Send(datagram, SocketFlags.None, out var error);
            if (error != SocketError.Success)
            {
                Counters.Drop(DropReason.SendFailed);
                return;
            }
        }
        catch (ObjectDisposedException)
        {
            Counters.Drop(DropReason.SessionClosed);
            return;
        }

        session.PacketsToOrigin++;
        session.BytesToOrigin += datagram.Length;
    }

    /// <summary>The public socket's loop or a pump failed: without it the relay is down, so the proxy stops.</summary>
    private void OnLoopFailed(Exception e)
    {
        LogReceiveLoopFailed(e);
        Environment.ExitCode = 1;
        _lifetime?.StopApplication();
    }

    /// <summary>
    /// The portable engine: the session's own receive loop. What the origin sends goes to the player's
    /// current address.
    /// </summary>
    private async Task OriginLoopAsync(RtcSession session, Socket originSocket)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxDatagramSize + 1);
        try
        {
            var publicSocket = _socket!;
            while (!session.IsClosed)
            {
                int length;
                try
                {
                    length = await originSocket.ReceiveAsync(buffer.AsMemory(0, MaxDatagramSize + 1), SocketFlags.None);
                }
                catch (SocketException e) when (!session.IsClosed && IsPerDatagramError(e.SocketErrorCode))
                {
                    // The origin's port answered an earlier datagram with ICMP unreachable, or sent one too large.
                    Counters.Drop(e.SocketErrorCode == SocketError.MessageSize ? DropReason.Malformed : DropReason.SendFailed);
                    continue;
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
                {
                    break;
                }

                if (length > MaxDatagramSize)
                {
                    Counters.Drop(DropReason.Malformed);
                    continue;
                }

                var datagram = buffer.AsSpan(0, length);
                var player = session.DestinationOf(datagram);
                if (player is null)
                {
                    continue;
                }

                session.Touch(_time.GetTimestamp());
                try
                {
                    publicSocket.SendTo(datagram, SocketFlags.None, player);
                }
                catch (SocketException)
                {
                    Counters.Drop(DropReason.SendFailed);
                    continue;
                }
                catch (ObjectDisposedException)
                {
                    break;
                }

                session.PacketsToPlayer++;
                session.BytesToPlayer += length;
            }
        }
        catch (Exception e)
        {
            LogOriginLoopFailed(session.Id, e);
            await CloseAsync(session, "relay error");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Closes sessions that went idle or whose origin is gone.</summary>
    private async Task SweepLoopAsync(CancellationToken cancellationToken)
    {
        var period = TimeSpan.FromTicks(Math.Clamp(_options.RtcIdleTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond * 100, TimeSpan.TicksPerSecond));
        using var timer = new PeriodicTimer(period, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                await SweepAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal async Task SweepAsync(CancellationToken cancellationToken)
    {
        if (_byId.IsEmpty)
        {
            return;
        }

        // Only an origin the registry lists as dead ends its sessions. One it does not list at all may be
        // state a restarted shared store lost (the origin re-registers within a heartbeat); if it is really
        // gone, its sessions go idle.
        HashSet<string>? dead = null;
        try
        {
            var origins = await _registry.GetOriginsAsync(cancellationToken);
            dead = origins.Where(o => !o.Alive).Select(o => o.Origin.Id).ToHashSet(StringComparer.Ordinal);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Without the registry, only idleness decides.
            LogRegistryError(e);
        }

        foreach (var session in _byId.Values)
        {
            if (_time.GetElapsedTime(session.LastActivity) > _options.RtcIdleTimeout)
            {
                // In a shared registry another instance may relay this session now; its entry expires
                // once no instance refreshes it.
                await CloseAsync(session, "idle", forget: !_registry.IsShared);
            }
            else if (dead is not null && dead.Contains(session.Record.OriginId))
            {
                await CloseAsync(session, "origin gone");
            }
        }

        if (_registry.IsShared && _time.GetElapsedTime(_lastRefresh) >= RefreshPeriod)
        {
            _lastRefresh = _time.GetTimestamp();
            var relaying = _byId.Values.Where(s => s.IsBound && !s.IsClosed).Select(s => s.Record).ToList();
            try
            {
                await _registry.RefreshRtcSessionsAsync(relaying, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRegistryError(e);
            }
        }
    }

    /// <summary>How often a shared registry hears which sessions still relay: three times per idle timeout.</summary>
    internal TimeSpan RefreshPeriod => _options.RtcIdleTimeout / 3;
}
