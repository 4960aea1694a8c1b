using Grpc.Core;
using Grpc.Core.Interceptors;
using SrsProxy.Configuration;
using SrsProxy.SystemApi;

namespace SrsProxy.Grpc;

/// <summary>
/// The system API's token on the operator's gRPC service: with <c>PROXY_SYSTEM_API_TOKEN</c> set, every
/// <c>srsproxy.v1.Control</c> call needs the metadata <c>authorization: Bearer TOKEN</c> (the same check as
/// <see cref="BearerAuth"/>: closing sessions and draining are the operator's), else it ends with
/// <c>UNAUTHENTICATED</c>. The health service is not intercepted: a kubelet or balancer has no token.
/// </summary>
internal sealed partial class ControlAuthInterceptor(ProxyOptions options, ILogger<ControlAuthInterceptor> logger) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, responseStream, context);
    }

    private void Authorize(ServerCallContext context)
    {
        var token = options.SystemApiToken;
        if (token.Length == 0)
        {
            return;
        }

        var given = BearerAuth.BearerOf(context.RequestHeaders.GetValue("authorization"));
        if (given is not null && BearerAuth.SameToken(given, token))
        {
            return;
        }

        LogRefused(context.Method, context.Peer, given is null ? "no Bearer token" : "wrong token");
        throw new RpcException(new Status(StatusCode.Unauthenticated, "this service needs the system API token: metadata authorization: Bearer TOKEN"));
    }

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "gRPC {Method} from {Peer} refused: {Reason}")]
    private partial void LogRefused(string method, string peer, string reason);
}
