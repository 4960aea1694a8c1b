using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using SrsProxy.Bench.Measure;
using SrsProxy.Bench.Pacing;

namespace SrsProxy.Bench.Origin;

/// <summary>
/// An SRS-like origin: registers on the proxy's system API, answers WHEP offers with an ICE-lite SDP whose
/// only candidate is its one UDP port, answers STUN binding requests, and sends every bound session RTP-sized
/// datagrams from one socket, paced as <see cref="TrafficPattern"/> says (OriginSimulator.Send.cs). Media is
/// plain bytes (no DTLS or SRTP): a relay only carries them.
/// </summary>
internal sealed partial class OriginSimulator : IAsyncDisposable
{
    /// <summary>SRS re-registers every 9 s (its heartbeat interval).</summary>
    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(9);

    /// <summary>
    /// Socket buffers: a descheduled moment must not overflow them (about 8 MB is what the proxy asks for; the
    /// kernel caps it at net.core.rmem_max/wmem_max).
    /// </summary>
    private const int SocketBufferBytes = 8 * 1024 * 1024;

    private readonly BenchOptions _options;
    private readonly TrafficPattern _traffic;
    private readonly ConcurrentDictionary<string, OriginSession> _byUsername = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ulong, OriginSession> _byAddress = new();
    private readonly ConcurrentDictionary<string, OriginSession> _byOfferUfrag = new(StringComparer.Ordinal);
    private readonly Lock _activeLock = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Socket _socket;
    private readonly WebApplication _api;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly string _service = Sdp.RandomToken(8);
    private OriginSession[] _active = [];
    private Thread? _sender;
    private Thread? _receiver;
    private Task _heartbeat = Task.CompletedTask;
    private int _nextSsrc = 1000;
    private volatile RunPhase _phase;

    public OriginSimulator(BenchOptions options, TrafficPattern traffic)
    {
        _options = options;
        _traffic = traffic;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.ReceiveBufferSize = SocketBufferBytes;
        _socket.SendBufferSize = SocketBufferBytes;
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http1));
        _api = builder.Build();
        _api.MapPost("/rtc/v1/whep/", OfferAsync);
        _api.MapDelete("/rtc/v1/whep/", Delete);
    }

    /// <summary>The UDP port every session shares, as in SRS's answers.</summary>
    public IPEndPoint UdpEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public Uri ApiBase { get; private set; } = null!;

    public int ReceiveBufferBytes => _socket.ReceiveBufferSize;

    /// <summary>Datagrams sent from now on carry this phase; the players measure only steady ones.</summary>
    public RunPhase Phase
    {
        get => _phase;
        set => _phase = value;
    }

    /// <summary>What the sender planned and achieved in the steady window; read it after the window.</summary>
    public PacingRecorder Pacing { get; } = new();

    public long UnknownDatagrams;

    public long StunAnswered;

    /// <summary>A session by its player's offer ufrag, closed or not, until <see cref="Forget"/>.</summary>
    public OriginSession? FindByOfferUfrag(string offerUfrag) => _byOfferUfrag.GetValueOrDefault(offerUfrag);

    /// <summary>Closes every session and forgets them: the next mode starts clean.</summary>
    public void Forget()
    {
        foreach (var session in _byOfferUfrag.Values)
        {
            _byUsername.TryRemove(new KeyValuePair<string, OriginSession>(session.Username, session));
            Close(session);
        }

        _byOfferUfrag.Clear();
    }

    public async Task StartAsync(Uri? registerAt)
    {
        await _api.StartAsync();
        var address = _api.Urls.First();
        ApiBase = new Uri(address.EndsWith('/') ? address : address + "/");
        _receiver = new Thread(ReceiveLoop) { IsBackground = true, Name = "origin-receive" };
        _receiver.Start();
        var schedule = _traffic.OriginSchedule();
        _sender = new Thread(schedule is null ? SendBurstLoop : () => SendScheduledLoop(schedule))
        {
            IsBackground = true,
            Name = "origin-send",
            Priority = ThreadPriority.AboveNormal,
        };
        _sender.Start();
        if (registerAt is not null)
        {
            var target = new Uri(registerAt, "/api/v1/srs/register");
            await RegisterAsync(target, throwOnError: true);
            _heartbeat = HeartbeatAsync(target);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _socket.Dispose();
        _sender?.Join();
        _receiver?.Join();
        await _heartbeat.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _api.StopAsync();
        await _api.DisposeAsync();
        _http.Dispose();
        _stopping.Dispose();
    }

    private async Task HeartbeatAsync(Uri target)
    {
        using var timer = new PeriodicTimer(HeartbeatInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                await RegisterAsync(target, throwOnError: false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The body SRS's heartbeat posts (trunk/src/app/srs_app_heartbeat.cpp with ports on).</summary>
    private async Task RegisterAsync(Uri target, bool throwOnError)
    {
        var body = new Dictionary<string, object>
        {
            ["device_id"] = "bench-origin",
            ["ip"] = "127.0.0.1",
            ["server"] = "vid-bench",
            ["service"] = _service,
            ["pid"] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["rtmp"] = new[] { "19351" },
            ["http"] = new[] { "8081" },
            ["api"] = new[] { ApiBase.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            ["rtc"] = new[] { $"udp://127.0.0.1:{UdpEndPoint.Port}" },
        };
        try
        {
            using var response = await _http.PostAsJsonAsync(target, body, _stopping.Token);
            if (!response.IsSuccessStatusCode)
            {
                var text = await response.Content.ReadAsStringAsync(_stopping.Token);
                throw new HttpRequestException($"register at {target}: HTTP {(int)response.StatusCode} {text}");
            }
        }
        catch (Exception e) when (!throwOnError && e is HttpRequestException or TaskCanceledException)
        {
            await Console.Error.WriteLineAsync($"bench: origin heartbeat failed: {e.Message}");
        }
    }

    private async Task OfferAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var offer = await reader.ReadToEndAsync(context.RequestAborted);
        var response = context.Response;
        if (!offer.StartsWith("v=0", StringComparison.Ordinal) || Sdp.Attribute(offer, "ice-ufrag") is not { Length: > 0 } offerUfrag)
        {
            response.StatusCode = StatusCodes.Status400BadRequest;
            await response.WriteAsync("not an SDP offer with a=ice-ufrag\n", context.RequestAborted);
            return;
        }

        // SRS's answers: an 8-character ufrag and a 32-character password.
        var answerUfrag = Sdp.RandomToken(8);
        var password = Sdp.RandomToken(32);
        var session = new OriginSession((uint)Interlocked.Increment(ref _nextSsrc), offerUfrag, answerUfrag, password);
        if (!_byUsername.TryAdd(session.Username, session))
        {
            response.StatusCode = StatusCodes.Status409Conflict;
            await response.WriteAsync("ICE username in use\n", context.RequestAborted);
            return;
        }

        _byOfferUfrag[offerUfrag] = session;

        var query = context.Request.Query;
        var app = query["app"].ToString();
        var stream = query["stream"].ToString();
        var answer = Sdp.Answer(answerUfrag, password, UdpEndPoint, app, stream);
        response.StatusCode = StatusCodes.Status201Created;
        response.ContentType = "application/sdp";
        response.Headers.Location = $"/rtc/v1/whep/?action=delete&app={Uri.EscapeDataString(app)}&stream={Uri.EscapeDataString(stream)}&session={Uri.EscapeDataString(session.Username)}";
        await response.WriteAsync(answer, context.RequestAborted);
    }

    private Task Delete(HttpContext context)
    {
        var username = context.Request.Query["session"].ToString();
        if (!_byUsername.TryRemove(username, out var session))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        Close(session);
        return Task.CompletedTask;
    }

    private void Close(OriginSession session)
    {
        if (!session.TryClose())
        {
            return;
        }

        if (session.Remote is { } remote)
        {
            _byAddress.TryRemove(new KeyValuePair<ulong, OriginSession>(AddressKeys.Of(remote), session));
        }

        lock (_activeLock)
        {
            _active = [.. _active.Where(s => s != session)];
        }
    }

    /// <summary>STUN binding requests (answered) and the players' RTCP feedback (counted), from one socket.</summary>
    private void ReceiveLoop()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(4096, pinned: true);
        var response = new byte[512];
        var from = new SocketAddress(AddressFamily.InterNetwork);
        while (!_stopping.IsCancellationRequested)
        {
            int length;
            try
            {
                length = _socket.ReceiveFrom(buffer, SocketFlags.None, from);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionRefused)
            {
                continue;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            var datagram = buffer.AsSpan(0, length);
            if (length > 0 && datagram[0] >= 128)
            {
                if (_byAddress.TryGetValue(AddressKeys.Of(from), out var known) &&
                    MediaPacket.TryRead(datagram, out _, out _, out var phase))
                {
                    known.FeedbackTotal++;
                    if (phase == RunPhase.Steady)
                    {
                        known.FeedbackSteady++;
                    }
                }
                else
                {
                    Interlocked.Increment(ref UnknownDatagrams);
                }

                continue;
            }

            if (!Stun.TryReadRequest(datagram, out var username, out var integrityOffset) ||
                !_byUsername.TryGetValue(Encoding.ASCII.GetString(username), out var session) ||
                !Stun.HasValidIntegrity(datagram, integrityOffset, session.Password))
            {
                Interlocked.Increment(ref UnknownDatagrams);
                continue;
            }

            session.StunRequests++;
            var key = AddressKeys.Of(from);
            if (session.Remote is not { } remote || AddressKeys.Of(remote) != key)
            {
                Bind(session, from, key);
            }

            var written = Stun.WriteBindingSuccess(response, datagram, from, session.Password);
            try
            {
                _socket.SendTo(response.AsSpan(0, written), SocketFlags.None, from);
                Interlocked.Increment(ref StunAnswered);
            }
            catch (SocketException)
            {
            }
        }
    }

    private void Bind(OriginSession session, SocketAddress from, ulong key)
    {
        var old = session.Remote;
        session.Bind(from);
        if (old is not null)
        {
            _byAddress.TryRemove(new KeyValuePair<ulong, OriginSession>(AddressKeys.Of(old), session));
        }

        _byAddress[key] = session;
        lock (_activeLock)
        {
            if (!session.IsClosed && !_active.Contains(session))
            {
                // Start each session at a random point of the packet interval, so sessions do not send in lockstep.
                session.Credit = Random.Shared.NextDouble();
                _active = [.. _active, session];
            }
        }
    }
}
