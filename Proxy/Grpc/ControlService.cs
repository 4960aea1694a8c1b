using Grpc.Core;
using SrsProxy.Grpc.V1;
using SrsProxy.Hosting;
using SrsProxy.Registry;
using SrsProxy.SystemApi;

namespace SrsProxy.Grpc;

/// <summary>
/// <c>srsproxy.v1.Control</c> (Proxy/Grpc/control.proto): the system API's operator routes over gRPC, from the
/// same <see cref="OperatorView"/>, plus the event stream. <see cref="ControlAuthInterceptor"/> checks the
/// token before any method runs.
/// </summary>
internal sealed partial class ControlService(OperatorView view, EventHub hub, DrainState drain, ILogger<ControlService> logger) : Control.ControlBase
{
    public override async Task<ListOriginsResponse> ListOrigins(ListOriginsRequest request, ServerCallContext context)
    {
        var origins = await FromRegistry(() => view.OriginsAsync(context.CancellationToken));
        return new ListOriginsResponse { Origins = { origins.Select(ControlMapping.ToMessage) } };
    }

    public override async Task<ListStreamsResponse> ListStreams(ListStreamsRequest request, ServerCallContext context)
    {
        var streams = await FromRegistry(() => view.StreamsAsync(context.CancellationToken));
        return new ListStreamsResponse { Streams = { streams.Select(ControlMapping.ToMessage) } };
    }

    public override Task<ListSessionsResponse> ListSessions(ListSessionsRequest request, ServerCallContext context) =>
        Task.FromResult(new ListSessionsResponse { Sessions = { view.Sessions().Select(ControlMapping.ToMessage) } });

    public override async Task WatchEvents(WatchEventsRequest request, IServerStreamWriter<Event> responseStream, ServerCallContext context)
    {
        using var subscription = hub.TrySubscribe()
            ?? throw new RpcException(new Status(StatusCode.ResourceExhausted, $"already {EventHub.MaxWatchers} watchers, the most this proxy serves"));

        // The headers tell the client it is subscribed: every event from here on reaches it.
        await context.WriteResponseHeadersAsync([]);
        LogWatchStarted(context.Peer);

        // The watch ends when the drain has: what follows is the host's stop, which would otherwise wait for the
        // call until its timeout.
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, drain.Ended);
        try
        {
            await foreach (var e in subscription.ReadAllAsync(ending.Token))
            {
                await responseStream.WriteAsync(ControlMapping.ToMessage(e), ending.Token);
            }
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
        {
            // The drain ended: the call completes with OK.
        }
        finally
        {
            LogWatchEnded(context.Peer);
        }
    }

    public override async Task<CloseSessionResponse> CloseSession(CloseSessionRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.SessionId))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "session_id: required"));
        }

        var closed = await view.CloseSessionAsync(request.SessionId, $"gRPC CloseSession from {context.Peer}")
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"no session {request.SessionId} is relayed by this proxy instance"));
        return new CloseSessionResponse { Session = ControlMapping.ToMessage(closed) };
    }

    public override Task<DrainResponse> Drain(DrainRequest request, ServerCallContext context) =>
        Task.FromResult(ControlMapping.ToMessage(view.RequestDrain($"gRPC Drain from {context.Peer}")));

    /// <summary>A registry that cannot answer is the client's UNAVAILABLE (retry later), as the HTTP API's 503.</summary>
    private static async Task<T> FromRegistry<T>(Func<ValueTask<T>> read)
    {
        try
        {
            return await read();
        }
        catch (RegistryUnavailableException e)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, e.Message));
        }
    }

    [LoggerMessage(EventId = 1020, Level = LogLevel.Information, Message = "gRPC event watch from {Peer} started")]
    private partial void LogWatchStarted(string peer);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Information, Message = "gRPC event watch from {Peer} ended")]
    private partial void LogWatchEnded(string peer);
}
