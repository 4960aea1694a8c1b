using Microsoft.AspNetCore.Server.Kestrel.Core;
using SrsProxy.Configuration;
using SrsProxy.Grpc;
using SrsProxy.Http;
using SrsProxy.HttpStream;
using SrsProxy.Metrics;
using SrsProxy.Profiling;
using SrsProxy.Registry;
using SrsProxy.Registry.Redis;
using SrsProxy.Rtmp;
using SrsProxy.Srt;
using SrsProxy.SystemApi;
using SrsProxy.WebRtc.Relay;
using SrsProxy.WebRtc.Signalling;

namespace SrsProxy.Hosting;

/// <summary>
/// Builds the proxy: one Generic Host with Kestrel serving each HTTP listener's own routes, and the UDP relay
/// as a hosted service. The same code runs the real process and the functional tests.
/// </summary>
internal static class ProxyApp
{
    /// <summary>Largest request body Kestrel accepts on any listener; handlers set tighter caps.</summary>
    private const long MaxRequestBodyBytes = 1024 * 1024;

    /// <summary>Longest wait for Redis on any call: signalling would rather answer 503 than hang.</summary>
    private static readonly TimeSpan RedisTimeout = TimeSpan.FromSeconds(2);

    public static WebApplication Build(ProxyOptions options, Action<WebApplicationBuilder>? configure = null)
    {
        // The empty builder, then only what the proxy uses: Kestrel without HTTPS, routing, console logs. The slim
        // builder's other defaults (appsettings.json with a file watcher and its thread, configuration from every
        // environment variable, host filtering, forwarded headers, the authorization check at start) load ten
        // assemblies the proxy never calls, about 2 MB of resident memory; its settings come from ProxyOptions.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();
        builder.Logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
            console.UseUtcTimestamp = true;
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
            Listeners.Listen(kestrel, ListenerRole.HttpApi, options.HttpApi.ToEndPoint());
            Listeners.Listen(kestrel, ListenerRole.SystemApi, options.SystemApi.ToEndPoint());
            Listeners.Listen(kestrel, ListenerRole.HttpServer, options.HttpServer.ToEndPoint());
            if (options.Pprof is { } pprof)
            {
                Listeners.Listen(kestrel, ListenerRole.Pprof, pprof.ToEndPoint());
            }

            if (options.Grpc is { } grpc)
            {
                Listeners.Listen(kestrel, ListenerRole.Grpc, grpc.ToEndPoint(), HttpProtocols.Http2);
            }
        });
        // The drain takes up to the grace; the services' own stop then closes what is left within the allowance.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = options.GraceQuitTimeout + DrainState.CloseAllowance);

        builder.Services.AddProxyServices(options);
        if (options.Pprof is { } address)
        {
            builder.Services.AddProfiling(new ProfilingOptions { Address = address, CpuSampler = options.PprofCpuSampler });
        }

        if (options.Grpc is not null)
        {
            builder.Services.AddProxyGrpc();
        }

        configure?.Invoke(builder);

        var app = builder.Build();

        // The instruments exist from the start, for dotnet-counters as much as for /metrics.
        app.Services.GetRequiredService<PrometheusExporter>();
        app.MapWhen(context => Listeners.RoleOf(context) == ListenerRole.HttpApi, api =>
        {
            api.Use(CorsMiddleware.InvokeAsync);
            api.Use(SignallingMetricsMiddleware.InvokeAsync);
            api.Use(ErrorMiddleware.InvokeAsync);
            api.UseRouting();
            api.UseEndpoints(WebRtcEndpoints.Map);
        });
        app.MapWhen(context => Listeners.RoleOf(context) == ListenerRole.SystemApi, system =>
        {
            system.Use(ErrorMiddleware.InvokeAsync);
            system.UseRouting();
            system.Use(BearerAuth.InvokeAsync);
            system.UseEndpoints(endpoints =>
            {
                SystemApiEndpoints.Map(endpoints);
                ProbeEndpoints.Map(endpoints);
            });
        });
        app.MapWhen(context => Listeners.RoleOf(context) == ListenerRole.HttpServer, http => HttpServerEndpoints.Configure(http, options));
        if (options.Pprof is not null)
        {
            app.MapWhen(context => Listeners.RoleOf(context) == ListenerRole.Pprof, pprof =>
            {
                pprof.UseRouting();
                pprof.UseEndpoints(PprofEndpoints.Map);
            });
        }

        if (options.Grpc is not null)
        {
            app.MapWhen(context => Listeners.RoleOf(context) == ListenerRole.Grpc, grpc =>
            {
                grpc.UseRouting();
                grpc.UseEndpoints(GrpcEndpoints.Map);
            });
        }

        return app;
    }

    public static IServiceCollection AddProxyServices(this IServiceCollection services, ProxyOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        // Redis's registration is a method of its own, so that StackExchange.Redis is loaded only when chosen.
        if (options.LoadBalancer == LoadBalancerType.Redis)
        {
            services.AddRedisRegistry(options, RedisTimeout);
        }
        else
        {
            services.AddSingleton<IProxyRegistry>(sp => new MemoryRegistry(options, sp.GetRequiredService<TimeProvider>()));
        }

        services.AddSingleton<RtcRelay>();
        services.AddMetrics();
        services.AddSingleton<ProxyMetrics>();
        services.AddSingleton<PrometheusExporter>();

        // Hosted services stop in reverse order: the closer stops after the relay, so it still tells the
        // origins of the sessions the relay closes on its way out.
        services.AddSingleton<OriginSessionCloser>();
        services.AddHostedService(sp => sp.GetRequiredService<OriginSessionCloser>());
        services.AddHostedService(sp => sp.GetRequiredService<RtcRelay>());

        // After the relay: it listens on the port the relay bound, and stops (closing its connections) first.
        services.AddSingleton<RtcTcpServer>();
        services.AddHostedService(sp => sp.GetRequiredService<RtcTcpServer>());
        services.AddSingleton(RtmpLimits.From(options));
        services.AddSingleton<RtmpServer>();
        services.AddHostedService(sp => sp.GetRequiredService<RtmpServer>());
        services.AddSingleton<SrtRelay>();
        services.AddHostedService(sp => sp.GetRequiredService<SrtRelay>());
        services.AddSingleton<OriginClient>();
        services.AddSingleton<HttpStreamProxy>();
        services.AddSingleton<WebRtcSignalling>();

        // The drain waits for what each protocol still plays; the counts are read only while it drains. Its
        // hosted service holds the host's stop in StoppingAsync, before any service stops.
        services.AddSingleton(sp => new DrainableCount("webrtc", () => sp.GetRequiredService<RtcRelay>().SessionCount));
        services.AddSingleton(sp => new DrainableCount("rtmp", () => sp.GetRequiredService<RtmpServer>().ConnectionCount));
        services.AddSingleton(sp => new DrainableCount("srt", () => sp.GetRequiredService<SrtRelay>().SessionCount));
        services.AddSingleton(sp => new DrainableCount("http_stream", () => sp.GetRequiredService<HttpStreamProxy>().ActiveCount));
        services.AddSingleton<DrainState>();
        services.AddHostedService(sp => sp.GetRequiredService<DrainState>());
        services.AddSingleton<Readiness>();
        services.AddSingleton<OperatorView>();
        return services;
    }
}
