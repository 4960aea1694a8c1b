using System.Buffers.Binary;
using System.Net.Sockets;
using SrsProxy.Registry;
using SrsProxy.Streams;

namespace SrsProxy.Rtmp;

/// <summary>
/// One RTMP client through the proxy. The proxy is the server until the client names its stream: it answers
/// <c>connect</c> and <c>createStream</c> itself, then reads <c>publish</c> or <c>play</c>. It then picks the
/// stream's origin (the same rule as WebRTC, so RTMP publishers and WHEP players meet), connects to it as a
/// client with the same commands, and relays messages both ways. Chunking, acknowledgements and pings
/// belong to each hop; message stream ids are mapped between the two.
/// </summary>
internal sealed partial class RtmpSession : IAsyncDisposable
{
    /// <summary>Client's stream id: the proxy answers its createStream with 1.</summary>
    private const uint ClientStreamId = 1;

    /// <summary>Window acknowledgement size announced to each peer.</summary>
    private const int AckWindow = 2_500_000;

    /// <summary>Largest media message once relaying (RTMP's 24-bit length allows 16 MiB).</summary>
    private const int MaxMediaMessage = 16 * 1024 * 1024;

    /// <summary>Most bytes of unfinished media messages per connection.</summary>
    private const int MaxMediaBuffered = 32 * 1024 * 1024;

    private readonly IProxyRegistry _registry;
    private readonly RtmpLimits _limits;
    private readonly ILogger _logger;
    private readonly RtmpHop _client;
    private RtmpHop? _origin;
    private uint _originStreamId;

    public RtmpSession(Socket client, IProxyRegistry registry, RtmpLimits limits, ILogger logger)
    {
        _registry = registry;
        _limits = limits;
        _logger = logger;
        _client = new RtmpHop(client);
    }

    public string Remote => _client.Socket.RemoteEndPoint?.ToString() ?? "?";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        Request request;
        using (var setup = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            setup.CancelAfter(_limits.HandshakeTimeout);
            await RtmpHandshake.AcceptAsync(_client.Input, _client.Output, setup.Token);
            setup.CancelAfter(_limits.CommandTimeout);
            request = await ReadRequestAsync(setup.Token);
        }

        OriginServer origin;
        try
        {
            origin = await _registry.PickOriginAsync(request.Stream, cancellationToken);
        }
        catch (Exception e) when (e is NoOriginAvailableException or RegistryUnavailableException)
        {
            await RtmpControl.SendStatusAsync(_client.Writer, ClientStreamId, "error", request.IsPublish ? "NetStream.Publish.BadName" : "NetStream.Play.StreamNotFound", e.Message, cancellationToken);
            throw new RtmpProtocolException(e.Message);
        }

        using (var setup = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            setup.CancelAfter(_limits.OriginTimeout);
            try
            {
                await ConnectOriginAsync(origin, request, setup.Token);
            }
            catch (Exception e) when (e is SocketException or IOException or RtmpProtocolException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                var reason = $"origin {origin.Id} failed: {(e is OperationCanceledException ? "timed out" : e.Message)}";
                if (e is not RtmpProtocolException)
                {
                    // Refused, reset or silent (not an origin that answered "no"): no new streams go there for a while.
                    await _registry.TryReportOriginUnreachableAsync(origin);
                }

                await RtmpControl.SendStatusAsync(_client.Writer, ClientStreamId, "error", request.IsPublish ? "NetStream.Publish.Rejected" : "NetStream.Play.Failed", reason, cancellationToken);
                throw new RtmpProtocolException(reason);
            }
        }

        LogRelaying(Remote, request.IsPublish ? "publish" : "play", request.Stream.Key, origin.Id);
        foreach (var hop in new[] { _client, _origin! })
        {
            hop.Reader.MaxMessageSize = MaxMediaMessage;
            hop.Reader.MaxBufferedBytes = MaxMediaBuffered;
        }

        // Either side ending ends both.
        using var relay = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var up = PumpClientToOriginAsync(relay.Token);
        var down = PumpOriginToClientAsync(relay.Token);
        var first = await Task.WhenAny(up, down);
        await relay.CancelAsync();
        _client.Shutdown();
        _origin?.Shutdown();
        await Task.WhenAll(up, down).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await first;
    }

    /// <summary>The command phase: answers connect and createStream, returns at publish or play.</summary>
    private async Task<Request> ReadRequestAsync(CancellationToken cancellationToken)
    {
        Dictionary<string, object?>? connect = null;
        while (true)
        {
            var message = await _client.Reader.ReadAsync(cancellationToken) ?? throw new RtmpProtocolException("client left before publish or play");
            if (await HandleControlAsync(message, _client, cancellationToken))
            {
                continue;
            }

            if (message.TypeId != RtmpMessage.CommandAmf0 && message.TypeId != RtmpMessage.CommandAmf3)
            {
                continue;
            }

            var body = message.TypeId == RtmpMessage.CommandAmf3 && message.Payload.Length > 0 ? message.Payload[1..] : message.Payload;
            if (!Amf0.TryDecodeAll(body.Span, out var values) || values.Count < 2 || values[0] is not string name)
            {
                throw new RtmpProtocolException("malformed command");
            }

            var transaction = values[1] is double t ? t : 0;
            switch (name)
            {
                case "connect":
                    connect = values.Count > 2 ? values[2] as Dictionary<string, object?> : null;
                    if (connect?.GetValueOrDefault("app") is not string)
                    {
                        throw new RtmpProtocolException("connect without an app");
                    }

                    await AcceptConnectAsync(transaction, cancellationToken);
                    break;
                case "createStream":
                    await RtmpControl.SendCommandAsync(_client.Writer, 0, cancellationToken, "_result", transaction, null, (double)ClientStreamId);
                    break;
                case "releaseStream" or "FCPublish" or "FCSubscribe":
                    await RtmpControl.SendCommandAsync(_client.Writer, 0, cancellationToken, "_result", transaction, null, null);
                    break;
                case "publish" or "play":
                    if (connect is null)
                    {
                        throw new RtmpProtocolException($"{name} before connect");
                    }

                    if (values.Count < 4 || values[3] is not string streamName || streamName.Length == 0)
                    {
                        throw new RtmpProtocolException($"{name} without a stream name");
                    }

                    var stream = RtmpStreamName.Of(connect.GetValueOrDefault("app") as string ?? "", connect.GetValueOrDefault("tcUrl") as string ?? "", streamName) ?? throw new RtmpProtocolException($"no stream in tcUrl/app/name '{streamName}'");
                    return new Request(name == "publish", stream, connect, message.Payload.ToArray(), message.TypeId);
                default:
                    // _checkbw, getStreamLength and the like: nothing the proxy must answer.
                    break;
            }
        }
    }

    private async Task AcceptConnectAsync(double transaction, CancellationToken cancellationToken)
    {
        await RtmpControl.SendAsync(_client.Writer, RtmpMessage.WindowAckSize, AckWindow, cancellationToken);
        var bandwidth = new byte[5];
        BinaryPrimitives.WriteInt32BigEndian(bandwidth, AckWindow);
        bandwidth[4] = 2;
        await _client.Writer.WriteAsync(RtmpMessage.SetPeerBandwidth, 0, 0, bandwidth, cancellationToken);
        await _client.Writer.SetChunkSizeAsync(RtmpChunkWriter.OutgoingChunkSize, cancellationToken);
        await RtmpControl.SendCommandAsync(_client.Writer, 0, cancellationToken, "_result", transaction,
            new Dictionary<string, object?> { ["fmsVer"] = "FMS/3,5,3,888", ["capabilities"] = 127.0, ["mode"] = 1.0 },
            new Dictionary<string, object?>
            {
                ["level"] = "status",
                ["code"] = "NetConnection.Connect.Success",
                ["description"] = "Connection succeeded.",
                ["objectEncoding"] = 0.0,
            });
    }

    /// <summary>Connects to the origin as a client with the client's own connect, createStream and publish/play.</summary>
    private async Task ConnectOriginAsync(OriginServer origin, Request request, CancellationToken cancellationToken)
    {
        var endpoint = origin.Rtmp.FirstOrDefault() ?? throw new RtmpProtocolException($"origin {origin.Id} registered no rtmp endpoint");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(origin.HostFor(endpoint).Trim('[', ']'), endpoint.Port, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        // A hop's streams need a connected socket.
        _origin = new RtmpHop(socket);
        await RtmpHandshake.ConnectAsync(_origin.Input, _origin.Output, cancellationToken);
        await _origin.Writer.SetChunkSizeAsync(RtmpChunkWriter.OutgoingChunkSize, cancellationToken);

        await RtmpControl.SendCommandAsync(_origin.Writer, 0, cancellationToken, "connect", 1.0, request.Connect);
        await ExpectResultAsync(1.0, "connect", cancellationToken);
        await RtmpControl.SendCommandAsync(_origin.Writer, 0, cancellationToken, "createStream", 2.0, null);
        var created = await ExpectResultAsync(2.0, "createStream", cancellationToken);
        _originStreamId = created.Count > 3 && created[3] is double id ? (uint)id : throw new RtmpProtocolException("origin's createStream gave no stream id");

        // The client's own publish/play command, on the origin's stream id.
        await _origin.Writer.WriteAsync(request.CommandType, 0, _originStreamId, request.CommandPayload, cancellationToken);
        if (request.IsPublish)
        {
            await ExpectStatusAsync("NetStream.Publish.Start", cancellationToken);
        }
    }

    private async Task<List<object?>> ExpectResultAsync(double transaction, string what, CancellationToken cancellationToken)
    {
        while (true)
        {
            var message = await _origin!.Reader.ReadAsync(cancellationToken) ?? throw new RtmpProtocolException($"origin closed during {what}");
            if (await HandleControlAsync(message, _origin!, cancellationToken) || message.TypeId != RtmpMessage.CommandAmf0 ||
                !Amf0.TryDecodeAll(message.Payload.Span, out var values) || values.Count < 2)
            {
                continue;
            }

            if (values[1] is double t && t == transaction)
            {
                return values[0] as string == "_result" ? values : throw new RtmpProtocolException($"origin refused {what}: {Describe(values)}");
            }
        }
    }

    /// <summary>Waits for the origin's onStatus; relays it to the client on success, fails with its text otherwise.</summary>
    private async Task ExpectStatusAsync(string expected, CancellationToken cancellationToken)
    {
        while (true)
        {
            var message = await _origin!.Reader.ReadAsync(cancellationToken) ?? throw new RtmpProtocolException("origin closed before starting the stream");
            if (await HandleControlAsync(message, _origin!, cancellationToken) || message.TypeId != RtmpMessage.CommandAmf0 ||
                !Amf0.TryDecodeAll(message.Payload.Span, out var values) || values.Count < 4 || values[0] as string != "onStatus")
            {
                continue;
            }

            var info = values[3] as Dictionary<string, object?>;
            if (info?.GetValueOrDefault("code") as string == expected)
            {
                await _client.Writer.WriteAsync(message.TypeId, message.Timestamp, ClientStreamId, message.Payload, cancellationToken);
                return;
            }

            if (info?.GetValueOrDefault("level") as string == "error")
            {
                throw new RtmpProtocolException($"origin refused: {info.GetValueOrDefault("code")} {info.GetValueOrDefault("description")}");
            }
        }
    }

    private async Task PumpClientToOriginAsync(CancellationToken cancellationToken)
    {
        while (await _client.Reader.ReadAsync(cancellationToken) is { } message)
        {
            if (await HandleControlAsync(message, _client, cancellationToken))
            {
                continue;
            }

            var streamId = message.StreamId == ClientStreamId ? _originStreamId : message.StreamId;
            await _origin!.Writer.WriteAsync(message.TypeId, message.Timestamp, streamId, message.Payload, cancellationToken);
        }
    }

    private async Task PumpOriginToClientAsync(CancellationToken cancellationToken)
    {
        while (await _origin!.Reader.ReadAsync(cancellationToken) is { } message)
        {
            if (await HandleControlAsync(message, _origin!, cancellationToken))
            {
                continue;
            }

            var streamId = message.StreamId == _originStreamId ? ClientStreamId : message.StreamId;
            await _client.Writer.WriteAsync(message.TypeId, message.Timestamp, streamId, message.Payload, cancellationToken);
        }
    }

    /// <summary>
    /// Handles what belongs to one hop: chunk size, acknowledgement window, pings. Returns true when the message
    /// is consumed. User control events about a stream (begin, EOF) from the origin are rewritten and relayed.
    /// </summary>
    private async ValueTask<bool> HandleControlAsync(RtmpMessage message, RtmpHop hop, CancellationToken cancellationToken)
    {
        await hop.AcknowledgeAsync(cancellationToken);
        var payload = message.Payload.Span;
        switch (message.TypeId)
        {
            case RtmpMessage.SetChunkSize when payload.Length >= 4:
                hop.Reader.SetChunkSize(BinaryPrimitives.ReadInt32BigEndian(payload) & 0x7FFFFFFF);
                return true;
            case RtmpMessage.WindowAckSize when payload.Length >= 4:
                hop.AckWindow = BinaryPrimitives.ReadUInt32BigEndian(payload);
                return true;
            case RtmpMessage.UserControl when payload.Length >= 2:
                var eventType = BinaryPrimitives.ReadUInt16BigEndian(payload);
                if (eventType == 6 && payload.Length >= 6)
                {
                    // PingRequest: answered on the same hop with PingResponse and the same timestamp.
                    var pong = new byte[6];
                    BinaryPrimitives.WriteUInt16BigEndian(pong, 7);
                    payload[2..6].CopyTo(pong.AsSpan(2));
                    await hop.Writer.WriteAsync(RtmpMessage.UserControl, 0, 0, pong, cancellationToken);
                    return true;
                }

                if (hop == _origin && eventType is 0 or 1 or 2 or 4 && payload.Length >= 6 &&
                    BinaryPrimitives.ReadUInt32BigEndian(payload[2..]) == _originStreamId && _originStreamId != 0)
                {
                    // StreamBegin/EOF/Dry/IsRecorded for the origin's stream: the client knows it as stream 1.
                    var rewritten = payload[..6].ToArray();
                    BinaryPrimitives.WriteUInt32BigEndian(rewritten.AsSpan(2), ClientStreamId);
                    await _client.Writer.WriteAsync(RtmpMessage.UserControl, message.Timestamp, 0, rewritten, cancellationToken);
                }

                return true;
            case RtmpMessage.SetChunkSize or RtmpMessage.WindowAckSize or RtmpMessage.Abort or RtmpMessage.Acknowledgement or RtmpMessage.SetPeerBandwidth:
                return true;
            default:
                return false;
        }
    }

    private static string Describe(List<object?> values) =>
        string.Join(" ", values.OfType<Dictionary<string, object?>>().SelectMany(d => d).Where(p => p.Key is "code" or "description").Select(p => p.Value));

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        if (_origin is { } origin)
        {
            await origin.DisposeAsync();
        }
    }

    private sealed record Request(bool IsPublish, StreamUrl Stream, Dictionary<string, object?> Connect, byte[] CommandPayload, byte CommandType);

    [LoggerMessage(EventId = 500, Level = LogLevel.Information, Message = "RTMP {Remote}: {Kind} {Stream} through origin {Origin}")]
    private partial void LogRelaying(string remote, string kind, string stream, string origin);
}
