using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using SrsProxy.Configuration;
using SrsProxy.Hosting;
using SrsProxy.Registry;
using SrsProxy.Streams;
using SrsProxy.Udp;

namespace SrsProxy.Srt;

/// <summary>
/// SRT on <c>PROXY_SRT_SERVER</c> (UDP), on the shared <see cref="UdpRelayEngine"/>. The proxy answers the
/// caller's induction itself (with a cookie bound to the caller's address, so a spoofed conclusion is
/// ignored), reads the stream id from its conclusion, picks the origin, does its own induction with the
/// origin, and passes the conclusion on with the origin's cookie. After that, datagrams are relayed both ways:
/// each caller has its own socket towards the origin, and a datagram from the caller is checked to carry the
/// destination socket id the origin gave it.
/// </summary>
internal sealed partial class SrtRelay : UdpRelayService
{
    /// <summary>SRT's largest datagram is 1,500 bytes (its default MSS); room for a jumbo path.</summary>
    internal const int MaxDatagramSize = 2048;

    /// <summary>SRT's magic value in the induction response's extension field (SRT RFC section 4.3.1.1).</summary>
    private const ushort SrtMagic = 0x4A17;

    /// <summary>Rejection codes sent in the handshake type field (SRT_REJX_*: 1000 + an HTTP-like status).</summary>
    private const uint RejectUnavailable = 1503, RejectBadGateway = 1502, RejectBadRequest = 1400;

    private static readonly TimeSpan OriginStepTimeout = TimeSpan.FromMilliseconds(500);

    private readonly ProxyOptions _options;
    private readonly IProxyRegistry _registry;
    private readonly TimeProvider _time;
    private readonly ILogger<SrtRelay> _logger;
    private readonly ConcurrentDictionary<AddressKey, SrtSession> _sessions = new();
    private byte[]? _cookieSecret;
    private readonly DrainState? _drain;

    public SrtRelay(ProxyOptions options, IProxyRegistry registry, TimeProvider time, ILogger<SrtRelay> logger, IHostApplicationLifetime? lifetime = null, DrainState? drain = null)
        : base(time, logger, lifetime)
    {
        _options = options;
        _registry = registry;
        _time = time;
        _logger = logger;
        _drain = drain;
    }

    /// <summary>Callers relayed or in their handshake now: what a drain waits for.</summary>
    public int SessionCount => _sessions.Count;

    /// <summary>Callers at once; past it new conclusions are rejected.</summary>
    internal int MaxSessions { get; init; } = 1000;

    protected override UdpEngineOptions CreateEngineOptions(bool batched) =>
        new("srt", "PROXY_SRT_SERVER", _options.SrtServer, MaxDatagramSize, _options.SrtSocketBufferBytes, _options.SrtSessionSocketBufferBytes, TimeSpan.FromSeconds(1))
        {
            Batched = batched,

            // SRT carries a handful of streams, not thousands of players: one pump is plenty.
            PumpCount = 1,
        };

    protected override ValueTask CloseAllAsync(string reason)
    {
        foreach (var (key, session) in _sessions)
        {
            Close(key, session, reason);
        }

        return ValueTask.CompletedTask;
    }

    public override void OnDatagram(ReadOnlySpan<byte> datagram, SocketAddress from) => HandleFromCaller(datagram, from);

    internal void HandleFromCaller(ReadOnlySpan<byte> datagram, SocketAddress from)
    {
        var key = AddressKey.From(from);
        if (_sessions.TryGetValue(key, out var session))
        {
            var destination = datagram.Length >= SrtHandshake.HeaderLength ? SrtHandshake.DestinationSocketId(datagram) : uint.MaxValue;
            if (destination != session.OriginSocketId && destination != 0)
            {
                // Not for the origin socket this caller connected to (handshakes carry 0).
                Counters.Drop(DropReason.UnknownAddress);
                return;
            }

            if (session.Established)
            {
                Engine.ForwardToOrigin(session, datagram, _time.GetTimestamp());
            }

            // While the origin handshake runs, the caller's retransmitted conclusions are answered by it.
            return;
        }

        if (!SrtHandshake.TryParse(datagram, out var handshake))
        {
            Counters.Drop(DropReason.UnknownAddress);
            return;
        }

        if (_drain is { IsDraining: true })
        {
            // No new caller (induction or conclusion) while draining. Counted, never answered: a rejection would
            // answer a datagram from an address nobody verified; the caller times out, and its retry goes to a
            // ready instance.
            _drain.CountRefused("srt");
            return;
        }

        if (handshake.Type == SrtHandshake.TypeInduction)
        {
            AnswerInduction(datagram, from);
        }
        else if (handshake.Type == SrtHandshake.TypeConclusion && (handshake.Cookie == CookieFor(from) || handshake.Cookie == CookieFor(from, minutesAgo: 1)))
        {
            if (!SrtStreamId.TryParse(handshake.StreamId, out var stream, out _))
            {
                Reject(datagram, from, RejectBadRequest);
                return;
            }

            if (_sessions.Count >= MaxSessions)
            {
                Reject(datagram, from, RejectUnavailable);
                return;
            }

            var copy = new SocketAddress(from.Family, from.Size);
            from.Buffer.Span[..from.Size].CopyTo(copy.Buffer.Span);
            var created = new SrtSession(copy, stream.Key, _time.GetTimestamp());
            if (_sessions.TryAdd(key, created))
            {
                _ = ConnectAsync(created, key, stream, datagram.ToArray());
            }
        }
        else
        {
            Counters.Drop(DropReason.UnknownAddress);
        }
    }

    /// <summary>
    /// The listener's induction response (SRT RFC section 4.3.1.1): version 5, the SRT magic, and a cookie
    /// the caller must echo. Same size as the request, so it cannot amplify.
    /// </summary>
    private void AnswerInduction(ReadOnlySpan<byte> request, SocketAddress from)
    {
        Span<byte> response = stackalloc byte[SrtHandshake.HeaderLength + SrtHandshake.BodyLength];
        request[..response.Length].CopyTo(response);
        var callerSocket = BinaryPrimitives.ReadUInt32BigEndian(request[(SrtHandshake.HeaderLength + SrtHandshake.SocketIdOffset)..]);
        BinaryPrimitives.WriteUInt32BigEndian(response[12..], callerSocket);
        var body = response[SrtHandshake.HeaderLength..];
        BinaryPrimitives.WriteUInt32BigEndian(body, 5);
        BinaryPrimitives.WriteUInt16BigEndian(body[4..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(body[6..], SrtMagic);
        BinaryPrimitives.WriteUInt32BigEndian(body[SrtHandshake.CookieOffset..], CookieFor(from));
        Engine.SendToClient(response, from);
    }

    private void Reject(ReadOnlySpan<byte> conclusion, SocketAddress to, uint reason)
    {
        Span<byte> response = stackalloc byte[SrtHandshake.HeaderLength + SrtHandshake.BodyLength];
        conclusion[..response.Length].CopyTo(response);
        BinaryPrimitives.WriteUInt32BigEndian(response[12..], BinaryPrimitives.ReadUInt32BigEndian(conclusion[(SrtHandshake.HeaderLength + SrtHandshake.SocketIdOffset)..]));
        BinaryPrimitives.WriteUInt32BigEndian(response[(SrtHandshake.HeaderLength + SrtHandshake.TypeOffset)..], reason);
        Engine.SendToClient(response, to);
    }

    /// <summary>
    /// The key of the SYN cookies, made at the first handshake rather than at start: the first call into
    /// System.Security.Cryptography loads OpenSSL, about 5 MB of resident memory that a proxy no caller has
    /// reached yet need not hold (README, "Where the memory goes").
    /// </summary>
    private byte[] CookieSecret => LazyInitializer.EnsureInitialized(ref _cookieSecret, static () => RandomNumberGenerator.GetBytes(32));

    /// <summary>A SYN cookie bound to the caller's address and the current minute (and the one before).</summary>
    private uint CookieFor(SocketAddress address, int minutesAgo = 0)
    {
        Span<byte> input = stackalloc byte[address.Size + 8];
        address.Buffer.Span[..address.Size].CopyTo(input);
        BinaryPrimitives.WriteInt64BigEndian(input[address.Size..], (_time.GetUtcNow().ToUnixTimeSeconds() / 60) - minutesAgo);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(CookieSecret, input, mac);
        return BinaryPrimitives.ReadUInt32BigEndian(mac);
    }

    private async Task ConnectAsync(SrtSession session, AddressKey key, StreamUrl stream, byte[] conclusion)
    {
        OriginServer? origin = null;
        try
        {
            origin = await _registry.PickOriginAsync(stream, CancellationToken.None);
            var endpoint = origin.Srt.FirstOrDefault(e => e.IsUdp) ?? throw new InvalidOperationException($"origin {origin.Id} registered no srt endpoint");
            var host = origin.HostFor(endpoint).Trim('[', ']');
            var address = IPAddress.TryParse(host, out var ip) ? ip : (await Dns.GetHostAddressesAsync(host)).First();
            if (!Engine.TryAttach(session, new IPEndPoint(address, endpoint.Port), out var error))
            {
                throw new SocketException((int)error);
            }

            // Our own induction towards the origin, built from the caller's conclusion.
            var induction = conclusion.AsSpan(0, SrtHandshake.HeaderLength + SrtHandshake.BodyLength).ToArray();
            BinaryPrimitives.WriteUInt32BigEndian(induction.AsSpan(12), 0);
            var body = induction.AsSpan(SrtHandshake.HeaderLength);
            BinaryPrimitives.WriteUInt32BigEndian(body, 4);
            BinaryPrimitives.WriteUInt16BigEndian(body[4..], 0);
            BinaryPrimitives.WriteUInt16BigEndian(body[6..], 2);
            BinaryPrimitives.WriteUInt32BigEndian(body[SrtHandshake.TypeOffset..], SrtHandshake.TypeInduction);
            BinaryPrimitives.WriteUInt32BigEndian(body[SrtHandshake.CookieOffset..], 0);
            var inductionAnswer = await ExchangeAsync(session, induction, SrtHandshake.TypeInduction);
            var originCookie = BinaryPrimitives.ReadUInt32BigEndian(inductionAnswer.AsSpan(SrtHandshake.HeaderLength + SrtHandshake.CookieOffset));

            BinaryPrimitives.WriteUInt32BigEndian(conclusion.AsSpan(SrtHandshake.HeaderLength + SrtHandshake.CookieOffset), originCookie);
            var answer = await ExchangeAsync(session, conclusion, SrtHandshake.TypeConclusion);
            session.MarkEstablished(BinaryPrimitives.ReadUInt32BigEndian(answer.AsSpan(SrtHandshake.HeaderLength + SrtHandshake.SocketIdOffset)));
            Engine.SendToClient(answer, session.Client);
            LogEstablished(session.ToString(), origin.Id);
        }
        catch (Exception e) when (e is NoOriginAvailableException or RegistryUnavailableException or InvalidOperationException or SocketException or TimeoutException)
        {
            LogFailed(session.ToString(), e.Message);
            if (e is TimeoutException && !session.IsClosed)
            {
                // The origin did not answer three handshakes: no new streams go there for a while.
                await _registry.TryReportOriginUnreachableAsync(origin);
            }

            if (!session.IsClosed)
            {
                Reject(conclusion, session.Client, e is NoOriginAvailableException or RegistryUnavailableException ? RejectUnavailable : RejectBadGateway);
            }

            Close(key, session, "handshake failed");
        }
    }

    /// <summary>Sends a handshake to the origin until it answers with the expected type (three tries).</summary>
    private async Task<byte[]> ExchangeAsync(SrtSession session, byte[] request, uint expectedType)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            Engine.ForwardToOrigin(session, request, _time.GetTimestamp());

            // One deadline per attempt, however many other handshakes the origin sends meanwhile.
            var sent = _time.GetTimestamp();
            while (OriginStepTimeout - _time.GetElapsedTime(sent) is { Ticks: > 0 } left &&
                await session.NextHandshakeAsync(left, _time) is { } answer)
            {
                if (!SrtHandshake.TryParse(answer, out var parsed))
                {
                    continue;
                }

                if (parsed.Type == expectedType)
                {
                    return answer;
                }

                if (parsed.Type is >= 1000 and < 3000)
                {
                    throw new InvalidOperationException($"origin rejected the handshake ({parsed.Type})");
                }
            }

            if (session.IsClosed)
            {
                break;
            }
        }

        throw new TimeoutException("origin did not answer the SRT handshake");
    }

    private void Close(AddressKey key, SrtSession session, string reason)
    {
        if (!session.TryClose())
        {
            return;
        }

        _sessions.TryRemove(new KeyValuePair<AddressKey, SrtSession>(key, session));
        EngineOrNull?.Detach(session);
        Counters.AddClosed(session);
        LogClosed(session.ToString(), reason, session.PacketsToOrigin, session.PacketsToClient);
    }

    /// <summary>Ends sessions with no datagram either way for the idle timeout (SRT sends keepalives every second).</summary>
    public override Task SweepAsync(CancellationToken cancellationToken)
    {
        foreach (var (key, session) in _sessions)
        {
            if (_time.GetElapsedTime(session.LastActivity) > _options.SrtIdleTimeout)
            {
                Close(key, session, "idle");
            }
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 701, Level = LogLevel.Information, Message = "SRT {Session}: relaying through origin {Origin}")]
    private partial void LogEstablished(string session, string origin);

    [LoggerMessage(EventId = 702, Level = LogLevel.Warning, Message = "SRT {Session}: refused: {Reason}")]
    private partial void LogFailed(string session, string reason);

    [LoggerMessage(EventId = 703, Level = LogLevel.Information, Message = "SRT {Session}: ended ({Reason}), {ToOrigin} datagrams to origin, {ToClient} to caller")]
    private partial void LogClosed(string session, string reason, long toOrigin, long toClient);
}
