using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using SrsProxy.Bench.Measure;

namespace SrsProxy.Bench.Players;

/// <summary>
/// One WHEP player: offers, does ICE as the controlling agent (a signed binding request with USE-CANDIDATE
/// to the answer's candidate), then receives media on its own connected UDP socket and counts loss,
/// reordering and one-way latency. Its feedback and consent checks are sent by <see cref="PlayerFleet"/>.
/// </summary>
internal sealed class Player
{
    /// <summary>
    /// Receive buffer of each player's socket: a player descheduled for a moment must not lose datagrams the
    /// relay delivered (1 MB holds seconds of a 1 Mbit/s stream). Capped by net.core.rmem_max.
    /// </summary>
    private const int ReceiveBufferBytes = 1024 * 1024;

    /// <summary>How long a player retries its first binding request before it gives up.</summary>
    private static readonly TimeSpan IceTimeout = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan IceRetry = TimeSpan.FromMilliseconds(100);

    private readonly TaskCompletionSource _iceDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly LatencyHistogram _latency;
    private readonly uint _transactionTag = (uint)RandomNumberGenerator.GetInt32(int.MaxValue);
    private readonly ulong _tieBreaker = (ulong)Random.Shared.NextInt64();
    private readonly Socket _socket;
    private byte[] _username = [];
    private byte[] _answerPassword = [];
    private long _transactions;
    private Task _receiveLoop = Task.CompletedTask;

    /// <summary>ICE-TCP: frames on a TCP connection instead of datagrams (RFC 6544, RFC 4571).</summary>
    private readonly bool _tcp;

    /// <summary>Where ICE checks and feedback go instead of the answer's candidate (the floor mode's relay), or null.</summary>
    private readonly IPEndPoint? _sendTo;

    /// <summary>ICE-TCP: one frame's header and payload, sent with one call (sends come from one thread at a time).</summary>
    private readonly byte[] _frame = new byte[2 + 2048];

    public Player(int index, LatencyHistogram latency, bool tcp = false, IPEndPoint? sendTo = null)
    {
        Index = index;
        _latency = latency;
        _tcp = tcp;
        _sendTo = sendTo;
        OfferUfrag = Sdp.RandomToken(8);
        OfferPassword = Sdp.RandomToken(24);
        _socket = tcp
            ? new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true }
            : new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.ReceiveBufferSize = ReceiveBufferBytes;
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    }

    public int Index { get; }

    /// <summary>The player's own UDP port (its socket's drops are the load generator's).</summary>
    public int LocalPort => ((IPEndPoint)_socket.LocalEndPoint!).Port;

    public string OfferUfrag { get; }

    public string OfferPassword { get; }

    /// <summary>The session URL the answer's Location named, for DELETE.</summary>
    public Uri? Location { get; private set; }

    /// <summary>Where ICE checks and feedback go: the answer's candidate (the proxy, or the origin in direct mode), or the floor relay.</summary>
    public IPEndPoint? Remote { get; private set; }

    public string? Error { get; private set; }

    public bool Connected { get; private set; }

    /// <summary>Offer POST to answer, and offer POST to ICE success, in Stopwatch ticks; 0 = not reached.</summary>
    public long AnswerTicks { get; private set; }

    public long IceTicks { get; private set; }

    // Written by this player's receive loop only.
    public long ReceivedTotal;
    public long ReceivedSteady;
    public long ReceivedBytesSteady;
    public long Reordered;
    public long Malformed;
    public long StunResponses;
    private ulong _highestSequence;
    private bool _anyMedia;

    // Written by the fleet's pacing thread only.
    public double FeedbackCredit;
    public ulong FeedbackSequence;
    public long FeedbackSent;
    public long FeedbackSentSteady;
    public long FeedbackErrors;
    public long NextConsent;

    public async Task ConnectAsync(HttpClient http, Uri whepUrl, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            var offer = Sdp.Offer(OfferUfrag, OfferPassword, (IPEndPoint)_socket.LocalEndPoint!);
            using var content = new StringContent(offer, Encoding.UTF8, "application/sdp");
            content.Headers.ContentType!.CharSet = null;
            using var response = await http.PostAsync(whepUrl, content, cancellationToken);
            var answer = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                Error = $"WHEP offer: HTTP {(int)response.StatusCode} {Shorten(answer)}";
                return;
            }

            AnswerTicks = Stopwatch.GetTimestamp() - start;
            if (Sdp.Attribute(answer, "ice-ufrag") is not { Length: > 0 } answerUfrag ||
                Sdp.Attribute(answer, "ice-pwd") is not { Length: > 0 } answerPassword ||
                Sdp.FirstCandidate(answer, _tcp ? "tcp" : "udp") is not { } candidate)
            {
                Error = $"WHEP answer without ice-ufrag, ice-pwd or a {(_tcp ? "TCP" : "UDP")} candidate";
                return;
            }

            Location = response.Headers.Location is { } location ? new Uri(whepUrl, location) : null;
            _username = Encoding.ASCII.GetBytes(answerUfrag + ":" + OfferUfrag);
            _answerPassword = Encoding.ASCII.GetBytes(answerPassword);
            Remote = _sendTo ?? candidate;
            if (_tcp)
            {
                await _socket.ConnectAsync(Remote, cancellationToken);
            }
            else
            {
                _socket.Connect(Remote);
            }

            _receiveLoop = _tcp ? ReceiveFramesAsync() : ReceiveLoopAsync();

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(IceTimeout);
            var buffer = new byte[256];
            while (!_iceDone.Task.IsCompleted)
            {
                TrySend(buffer.AsSpan(0, WriteBindingRequest(buffer)));
                try
                {
                    await _iceDone.Task.WaitAsync(IceRetry, timeout.Token);
                }
                catch (TimeoutException)
                {
                }
            }

            IceTicks = Stopwatch.GetTimestamp() - start;
            Connected = true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            Error = Remote is null
                ? "WHEP offer: no answer in time"
                : $"ICE: no binding success response from {Remote} within {IceTimeout.TotalSeconds} s";
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or TaskCanceledException)
        {
            Error = $"{e.GetType().Name}: {e.Message}";
        }
    }

    /// <summary>A signed binding request with the next transaction id: the tag, then a counter.</summary>
    public int WriteBindingRequest(Span<byte> buffer)
    {
        Span<byte> transactionId = stackalloc byte[Stun.TransactionIdLength];
        BinaryPrimitives.WriteUInt32BigEndian(transactionId, _transactionTag);
        BinaryPrimitives.WriteUInt64BigEndian(transactionId[4..], (ulong)Interlocked.Increment(ref _transactions));
        return Stun.WriteBindingRequest(buffer, transactionId, _username, _answerPassword, _tieBreaker);
    }

    /// <summary>Sends on the connected socket; false (and no exception) when the kernel refuses it.</summary>
    public bool TrySend(ReadOnlySpan<byte> datagram)
    {
        try
        {
            if (_tcp)
            {
                lock (_frame)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(_frame, (ushort)datagram.Length);
                    datagram.CopyTo(_frame.AsSpan(2));
                    _socket.Send(_frame.AsSpan(0, 2 + datagram.Length), SocketFlags.None, out var streamError);
                    return streamError == SocketError.Success;
                }
            }

            _socket.Send(datagram, SocketFlags.None, out var error);
            return error == SocketError.Success;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    public async Task CloseAsync()
    {
        _socket.Dispose();
        await _receiveLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>
    /// The receive loop: one pinned buffer for its life. A receive that finds a datagram queued completes at
    /// once, so the loop drains the socket before it waits again.
    /// </summary>
    private async Task ReceiveLoopAsync()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(2048, pinned: true);
        while (true)
        {
            int length;
            try
            {
                length = await _socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused or SocketError.ConnectionReset)
            {
                // ICMP for an earlier send (the far end's port is gone for a moment): about that datagram only.
                continue;
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            // The kernel's arrival stamp, not this thread's clock: see KernelArrival.
            Handle(buffer.AsSpan(0, length), KernelArrival.LastOr(_socket, Stopwatch.GetTimestamp()));
        }
    }

    /// <summary>ICE-TCP's receive loop: cuts the stream into RFC 4571 frames, each one datagram for <see cref="Handle"/>.</summary>
    private async Task ReceiveFramesAsync()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(64 * 1024, pinned: true);
        var filled = 0;
        while (true)
        {
            int length;
            try
            {
                length = await _socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            if (length == 0)
            {
                return;
            }

            filled += length;
            var now = Stopwatch.GetTimestamp();
            var offset = 0;
            while (filled - offset >= 2)
            {
                var size = BinaryPrimitives.ReadUInt16BigEndian(buffer.AsSpan(offset));
                if (filled - offset - 2 < size)
                {
                    break;
                }

                Handle(buffer.AsSpan(offset + 2, size), now);
                offset += 2 + size;
            }

            buffer.AsSpan(offset, filled - offset).CopyTo(buffer);
            filled -= offset;
        }
    }

    private void Handle(ReadOnlySpan<byte> datagram, long now)
    {
        if (datagram.Length > 0 && datagram[0] < 4)
        {
            if (Stun.IsBindingSuccess(datagram) &&
                BinaryPrimitives.ReadUInt32BigEndian(Stun.TransactionId(datagram)) == _transactionTag)
            {
                StunResponses++;
                _iceDone.TrySetResult();
            }
            else
            {
                Malformed++;
            }

            return;
        }

        if (!MediaPacket.TryRead(datagram, out var sequence, out var timestamp, out var phase))
        {
            Malformed++;
            return;
        }

        ReceivedTotal++;
        var late = _anyMedia && sequence < _highestSequence;
        if (!late)
        {
            _highestSequence = sequence;
            _anyMedia = true;
        }

        if (phase == RunPhase.Steady)
        {
            ReceivedSteady++;
            ReceivedBytesSteady += datagram.Length;
            _latency.Record(now - timestamp);
            if (late)
            {
                Reordered++;
            }
        }
    }

    private static string Shorten(string text) => text.Length > 200 ? text[..200] + "..." : text.ReplaceLineEndings(" ");
}
