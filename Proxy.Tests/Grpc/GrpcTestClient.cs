using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using SrsProxy.Grpc.V1;

namespace SrsProxy.Tests.Grpc;

/// <summary>Grpc.Net.Client on a proxy's <c>PROXY_GRPC</c> listener (h2c: an http:// address), with the two services' clients.</summary>
internal sealed class GrpcTestClient : IDisposable
{
    private readonly GrpcChannel _channel;

    public GrpcTestClient(Uri address, string? token = null)
    {
        _channel = GrpcChannel.ForAddress(address);
        Health = new Health.HealthClient(_channel);
        Control = new Control.ControlClient(_channel);
        Auth = token is null ? [] : new Metadata { { "authorization", "Bearer " + token } };
    }

    public Health.HealthClient Health { get; }

    public Control.ControlClient Control { get; }

    /// <summary>The metadata every Control call carries: the token, when the test's proxy has one.</summary>
    public Metadata Auth { get; }

    public static DateTime Deadline => DateTime.UtcNow.AddSeconds(10);

    public async Task<HealthCheckResponse.Types.ServingStatus> CheckAsync(string service) =>
        (await Health.CheckAsync(new HealthCheckRequest { Service = service }, deadline: Deadline)).Status;

    public void Dispose() => _channel.Dispose();
}
