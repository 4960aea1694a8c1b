namespace SrsProxy.Hosting;

/// <summary>Which of the proxy's HTTP listeners a connection arrived on; each serves its own routes.</summary>
internal enum ListenerRole
{
    /// <summary><c>PROXY_HTTP_API</c>: WHIP/WHEP signalling.</summary>
    HttpApi,

    /// <summary><c>PROXY_SYSTEM_API</c>: origin registration and the operator's API.</summary>
    SystemApi,

    /// <summary><c>PROXY_HTTP_SERVER</c>: HTTP-FLV, HLS and static files.</summary>
    HttpServer,

    /// <summary><c>GO_PPROF</c>: the profiling endpoint; listened on only when set.</summary>
    Pprof,

    /// <summary><c>PROXY_GRPC</c>: gRPC health and the operator's service, HTTP/2 only; listened on only when set.</summary>
    Grpc,
}
