namespace SrsProxy.Grpc;

/// <summary>Routes of <c>PROXY_GRPC</c>, mapped on that listener only.</summary>
internal static class GrpcEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<ControlService>();
        endpoints.MapGrpcHealthChecksService();
    }
}
