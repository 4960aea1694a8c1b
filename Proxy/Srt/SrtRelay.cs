using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using SrsProxy.Configuration;
using SrsProxy.Registry;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Srt;

/// <summary>
/// SRT on <c>PROXY_SRT_SERVER</c> (UDP). The proxy answers the caller's induction itself (with a cookie bound
/// to the caller's address, so a spoofed conclusion is ignored), reads the stream id from its conclusion, picks
/// the origin, does its own induction with the origin, and passes the conclusion on with the origin's cookie.
/// After that, datagrams are relayed both ways: each caller has its own socket towards the origin, and a
/// datagram from the caller is checked to carry the destination socket id the origin gave it.
/// </summary>
internal sealed partial class SrtRelay : BackgroundService
{
    /// <summary>SRT's largest datagram is 1,500 bytes; room for a jumbo path.</summary>
    private const int MaxDatagramSize = 2048;

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
    private readonly byte[] _cookieSecret = RandomNumberGenerator.GetBytes(32);
    private readonly Socket _socket;

    public SrtRelay(ProxyOptions options, IProxyRegistry registry, TimeProvider time, ILogger<SrtRelay> logger)
    {
        _options = options;
        _registry = registry;
        _time = time;
        _logger = logger;
        var endPoint = options.SrtServer.ToEndPoint();
        _socket = new Socket(endPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        if (endPoint.Address.Equals(IPAddress.IPv6Any))
        {
            _socket.DualMode = true;
        }

        _socket.ReceiveBufferSize = options.RtcSocketBufferBytes;
        _socket.Bind(endPoint);
    }

    /// <summary>Callers at once; past it new conclusions are rejected.</summary>
    internal int MaxSessions { get; init; } = 1000;

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public int SessionCount => _sessions.Count;

    public long Dropped;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogListening(LocalEndPoint);
        var sweep = SweepLoopAsync(stoppingToken);
        var buffer = GC.AllocateUninitializedArray<byte>(MaxDatagramSize, pinned: true);
        var from = new SocketAddress(_socket.AddressFamily);
        while (!stoppingToken.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, from, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize)
            {
                continue;
            }

            HandleFromCaller(buffer.AsSpan(0, length), from);
        }

        foreach (var session in _sessions.Values)
        {
            session.TryClose();
        }

        _socket.Dispose();
        await sweep.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private void HandleFromCaller(ReadOnlySpan<byte> datagram, SocketAddress from)
    {
        var key = AddressKey.From(from);
        if (_sessions.TryGetValue(key, out var session))
        {
            var destination = datagram.Length >= SrtHandshake.HeaderLength ? SrtHandshake.DestinationSocketId(datagram) : uint.MaxValue;
            if (destination != session.OriginSocketId && destination != 0)
            {
                // Not for the origin socket this caller connected to (handshakes carry 0).
                Interlocked.Increment(ref Dropped);
                return;
            }

            if (session.Established && session.Origin is { } origin && !session.IsClosed)
            {
                session.Touch(_time.GetTimestamp());
                origin.Send(datagram, SocketFlags.None, out _);
                session.PacketsToOrigin++;
            }

            // While the origin handshake runs, the caller's retransmitted conclusions are answered by it.
            return;
        }

        if (!SrtHandshake.TryParse(datagram, out var handshake))
        {
            Interlocked.Increment(ref Dropped);
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
            var created = new SrtSession(copy, stream.Key);
            created.Touch(_time.GetTimestamp());
            if (_sessions.TryAdd(key, created))
            {
                _ = ConnectAsync(created, key, stream, datagram.ToArray());
            }
        }
        else
        {
            Interlocked.Increment(ref Dropped);
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
        _socket.SendTo(response, SocketFlags.None, from);
    }

    private void Reject(ReadOnlySpan<byte> conclusion, SocketAddress to, uint reason)
    {
        Span<byte> response = stackalloc byte[SrtHandshake.HeaderLength + SrtHandshake.BodyLength];
        conclusion[..response.Length].CopyTo(response);
        BinaryPrimitives.WriteUInt32BigEndian(response[12..], BinaryPrimitives.ReadUInt32BigEndian(conclusion[(SrtHandshake.HeaderLength + SrtHandshake.SocketIdOffset)..]));
        BinaryPrimitives.WriteUInt32BigEndian(response[(SrtHandshake.HeaderLength + SrtHandshake.TypeOffset)..], reason);
        _socket.SendTo(response, SocketFlags.None, to);
    }

    /// <summary>A SYN cookie bound to the caller's address and the current minute (and the one before).</summary>
    private uint CookieFor(SocketAddress address, int minutesAgo = 0)
    {
        Span<byte> input = stackalloc byte[address.Size + 8];
        address.Buffer.Span[..address.Size].CopyTo(input);
        BinaryPrimitives.WriteInt64BigEndian(input[address.Size..], (_time.GetUtcNow().ToUnixTimeSeconds() / 60) - minutesAgo);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_cookieSecret, input, mac);
        return BinaryPrimitives.ReadUInt32BigEndian(mac);
    }

    private async Task ConnectAsync(SrtSession session, AddressKey key, Streams.StreamUrl stream, byte[] conclusion)
    {
        try
        {
            var origin = await _registry.PickOriginAsync(stream, CancellationToken.None);
            var endpoint = origin.Srt.FirstOrDefault(e => e.IsUdp) ?? throw new InvalidOperationException($"origin {origin.Id} registered no srt endpoint");
            var host = origin.HostFor(endpoint).Trim('[', ']');
            var address = IPAddress.TryParse(host, out var ip) ? ip : (await Dns.GetHostAddressesAsync(host)).First();
            var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            session.Origin = socket;
            socket.Connect(new IPEndPoint(address, endpoint.Port));

            // Our own induction towards the origin, built from the caller's conclusion.
            var induction = conclusion.AsSpan(0, SrtHandshake.HeaderLength + SrtHandshake.BodyLength).ToArray();
            BinaryPrimitives.WriteUInt32BigEndian(induction.AsSpan(12), 0);
            var body = induction.AsSpan(SrtHandshake.HeaderLength);
            BinaryPrimitives.WriteUInt32BigEndian(body, 4);
            BinaryPrimitives.WriteUInt16BigEndian(body[4..], 0);
            BinaryPrimitives.WriteUInt16BigEndian(body[6..], 2);
            BinaryPrimitives.WriteUInt32BigEndian(body[SrtHandshake.TypeOffset..], SrtHandshake.TypeInduction);
            BinaryPrimitives.WriteUInt32BigEndian(body[SrtHandshake.CookieOffset..], 0);
            var inductionAnswer = await ExchangeAsync(socket, induction, SrtHandshake.TypeInduction);
            var originCookie = BinaryPrimitives.ReadUInt32BigEndian(inductionAnswer.AsSpan(SrtHandshake.HeaderLength + SrtHandshake.CookieOffset));

            BinaryPrimitives.WriteUInt32BigEndian(conclusion.AsSpan(SrtHandshake.HeaderLength + SrtHandshake.CookieOffset), originCookie);
            var answer = await ExchangeAsync(socket, conclusion, SrtHandshake.TypeConclusion);
            _socket.SendTo(answer, SocketFlags.None, session.Client);
            session.OriginSocketId = BinaryPrimitives.ReadUInt32BigEndian(answer.AsSpan(SrtHandshake.HeaderLength + SrtHandshake.SocketIdOffset));
            session.MarkEstablished();
            LogEstablished(session.ToString(), origin.Id);
            await OriginLoopAsync(session, socket);
        }
        catch (Exception e) when (e is NoOriginAvailableException or RegistryUnavailableException or InvalidOperationException or SocketException or TimeoutException)
        {
            LogFailed(session.ToString(), e.Message);
            Reject(conclusion, session.Client, e is NoOriginAvailableException or RegistryUnavailableException ? RejectUnavailable : RejectBadGateway);
        }
        finally
        {
            session.TryClose();
            _sessions.TryRemove(new KeyValuePair<AddressKey, SrtSession>(key, session));
        }
    }

    /// <summary>Sends a handshake to the origin until it answers with the expected type (three tries).</summary>
    private static async Task<byte[]> ExchangeAsync(Socket socket, byte[] request, uint expectedType)
    {
        var buffer = new byte[MaxDatagramSize];
        for (var attempt = 0; attempt < 3; attempt++)
        {
            socket.Send(request);
            using var timeout = new CancellationTokenSource(OriginStepTimeout);
            try
            {
                while (true)
                {
                    var length = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                    if (SrtHandshake.TryParse(buffer.AsSpan(0, length), out var answer))
                    {
                        if (answer.Type == expectedType)
                        {
                            return buffer[..length];
                        }

                        if (answer.Type >= 1000 && answer.Type < 3000)
                        {
                            throw new InvalidOperationException($"origin rejected the handshake ({answer.Type})");
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        throw new TimeoutException("origin did not answer the SRT handshake");
    }

    private async Task OriginLoopAsync(SrtSession session, Socket socket)
    {
        var buffer = new byte[MaxDatagramSize];
        while (!session.IsClosed)
        {
            int length;
            try
            {
                length = await socket.ReceiveAsync(buffer, SocketFlags.None);
            }
            catch (SocketException e) when (!session.IsClosed && e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset)
            {
                continue;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            session.Touch(_time.GetTimestamp());
            try
            {
                _socket.SendTo(buffer.AsSpan(0, length), SocketFlags.None, session.Client);
            }
            catch (SocketException)
            {
                Interlocked.Increment(ref Dropped);
                continue;
            }

            session.PacketsToClient++;
        }
    }

    /// <summary>Ends sessions with no datagram either way for the idle timeout (SRT sends keepalives every second).</summary>
    private async Task SweepLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                foreach (var (key, session) in _sessions)
                {
                    if (_time.GetElapsedTime(session.LastActivity) > _options.RtcIdleTimeout && session.TryClose())
                    {
                        _sessions.TryRemove(new KeyValuePair<AddressKey, SrtSession>(key, session));
                        LogIdle(session.ToString(), session.PacketsToOrigin, session.PacketsToClient);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override void Dispose()
    {
        _socket.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "SRT listening on udp {EndPoint}")]
    private partial void LogListening(IPEndPoint endPoint);

    [LoggerMessage(EventId = 701, Level = LogLevel.Information, Message = "SRT {Session}: relaying through origin {Origin}")]
    private partial void LogEstablished(string session, string origin);

    [LoggerMessage(EventId = 702, Level = LogLevel.Warning, Message = "SRT {Session}: refused: {Reason}")]
    private partial void LogFailed(string session, string reason);

    [LoggerMessage(EventId = 703, Level = LogLevel.Information, Message = "SRT {Session}: ended (idle), {ToOrigin} datagrams to origin, {ToClient} to caller")]
    private partial void LogIdle(string session, long toOrigin, long toClient);
}
