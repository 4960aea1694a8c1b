using Microsoft.Extensions.Diagnostics.HealthChecks;
using SrsProxy.Hosting;
using SrsProxy.Rtmp;
using SrsProxy.Srt;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Grpc;

/// <summary>Services of <c>PROXY_GRPC</c>: the health service and its checks, the operator's service and its events.</summary>
internal static class GrpcServiceCollectionExtensions
{
    /// <summary>Largest request message: every request of ours is a few bytes; gRPC's default is 4 MB.</summary>
    internal const int MaxReceiveMessageBytes = 16 * 1024;

    /// <summary>
    /// How often <c>Watch</c> calls of the health service see a new result: the checks run this often, and are
    /// cheap (the registry is read at most once a second, by <see cref="Readiness"/>). Probes calling
    /// <c>Check</c> get a fresh result each time.
    /// </summary>
    internal static readonly TimeSpan HealthWatchPeriod = TimeSpan.FromSeconds(2);

    public static IServiceCollection AddProxyGrpc(this IServiceCollection services)
    {
        services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = MaxReceiveMessageBytes;
            grpc.EnableDetailedErrors = false;
        }).AddServiceOptions<ControlService>(control => control.Interceptors.Add<ControlAuthInterceptor>());

        services.AddGrpcHealthChecks(health =>
        {
            health.Services.Map(HealthServiceNames.Overall, _ => true);
            foreach (var name in HealthServiceNames.Parts)
            {
                health.Services.Map(name, check => check.Tags.Contains(name));
            }
        })
        .AddCheck(HealthServiceNames.Alive, () => HealthCheckResult.Healthy("the process serves"), [HealthServiceNames.Alive])
        .Add(new HealthCheckRegistration("ready", sp => new ReadinessHealthCheck(sp.GetRequiredService<Readiness>()), null, []))
        .Add(new HealthCheckRegistration(HealthServiceNames.Registry, sp => new ReadinessHealthCheck(sp.GetRequiredService<Readiness>(), "registry"), null, [HealthServiceNames.Registry]))
        .Add(Part(HealthServiceNames.WebRtc, sp => sp.GetRequiredService<RtcRelay>().IsRunning))
        .Add(Part(HealthServiceNames.Rtmp, sp => sp.GetRequiredService<RtmpServer>().ExecuteTask is { IsCompleted: false }))
        .Add(Part(HealthServiceNames.Srt, sp => sp.GetRequiredService<SrtRelay>().IsRunning));
        services.Configure<HealthCheckPublisherOptions>(publisher =>
        {
            publisher.Delay = TimeSpan.Zero;
            publisher.Period = HealthWatchPeriod;
        });

        services.AddSingleton(sp => new EventHub(sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<RelayEventSource>();
        services.AddHostedService(sp => sp.GetRequiredService<RelayEventSource>());
        services.AddSingleton<RegistryEventSource>();
        services.AddHostedService(sp => sp.GetRequiredService<RegistryEventSource>());
        return services;
    }

    private static HealthCheckRegistration Part(string name, Func<IServiceProvider, bool> running) =>
        new(name, sp => new PartHealthCheck(name, () => running(sp), sp.GetRequiredService<DrainState>(), sp.GetRequiredService<IHostApplicationLifetime>()), null, [name]);
}
