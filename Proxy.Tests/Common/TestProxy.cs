using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SrsProxy.Configuration;
using SrsProxy.Hosting;
using SrsProxy.Registry;
using SrsProxy.Rtmp;
using SrsProxy.Srt;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Tests.Common;

/// <summary>The real proxy, in this process, on ephemeral loopback ports with real sockets.</summary>
internal sealed class TestProxy : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestProxy(WebApplication app, ProxyOptions options, PlayerAddressLog players)
    {
        _app = app;
        Options = options;
        Players = players;

        // Kestrel binds its endpoints, and lists the addresses it bound, in the order ProxyApp.Build declares
        // them: the HTTP API, the system API, the HTTP server, then pprof and gRPC when they are on.
        ListeningAddresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Select(a => new Uri($"http://127.0.0.1:{new Uri(a).Port}/")).ToList();
        Assert.Equal(3 + (options.Pprof is null ? 0 : 1) + (options.Grpc is null ? 0 : 1), ListeningAddresses.Count);
        HttpApi = ListeningAddresses[0];
        SystemApi = ListeningAddresses[1];
        HttpServer = ListeningAddresses[2];
        Pprof = options.Pprof is null ? null : new Uri(ListeningAddresses[3], "debug/pprof/");
        Grpc = options.Grpc is null ? null : ListeningAddresses[^1];
        Relay = app.Services.GetRequiredService<RtcRelay>();
        Rtmp = app.Services.GetRequiredService<RtmpServer>();
        Srt = app.Services.GetRequiredService<SrtRelay>();
        Registry = app.Services.GetRequiredService<IProxyRegistry>();
    }

    public ProxyOptions Options { get; }

    /// <summary>Every HTTP listener, as a loopback URL of the port the server reports it bound.</summary>
    public IReadOnlyList<Uri> ListeningAddresses { get; }

    public Uri HttpApi { get; }

    public Uri SystemApi { get; }

    public Uri HttpServer { get; }

    /// <summary>The profiling endpoint's <c>/debug/pprof/</c>, when the options set <c>Pprof</c>.</summary>
    public Uri? Pprof { get; }

    /// <summary>The gRPC listener (h2c), when the options set <c>Grpc</c>.</summary>
    public Uri? Grpc { get; }

    public IServiceProvider Services => _app.Services;

    public RtcRelay Relay { get; }

    public RtmpServer Rtmp { get; }

    public SrtRelay Srt { get; }

    public IProxyRegistry Registry { get; }

    public IPEndPoint RelayEndPoint => Relay.LocalEndPoint;

    /// <summary>Every player address this proxy's relay bound (the relay's own log of them).</summary>
    public PlayerAddressLog Players { get; }

    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    public Uri RegisterUrl => new(SystemApi, "api/v1/srs/register");

    public static async Task<TestProxy> StartAsync(Func<ProxyOptions, ProxyOptions>? configure = null, Action<WebApplicationBuilder>? builder = null)
    {
        var loopback = new ListenAddress(IPAddress.Loopback, 0);
        var options = new ProxyOptions
        {
            HttpApi = loopback,
            HttpServer = loopback,
            RtmpServer = loopback,
            SystemApi = loopback,
            WebRtcServer = loopback,
            SrtServer = loopback,
            OriginTimeout = TimeSpan.FromSeconds(5),

            // Stopping a test's proxy does not wait for what still plays (a player that never sent DELETE
            // would hold every test's end for the default 20 s); the drain tests set their own grace.
            GraceQuitTimeout = TimeSpan.Zero,
        };
        options = configure?.Invoke(options) ?? options;
        var players = new PlayerAddressLog();
        var app = ProxyApp.Build(options, b =>
        {
            b.Logging.SetMinimumLevel(LogLevel.Warning);
            b.Logging.AddProvider(players);
            b.Logging.AddFilter<PlayerAddressLog>(PlayerAddressLog.Category, LogLevel.Information);
            builder?.Invoke(b);
        });
        await app.StartAsync();
        try
        {
            return new TestProxy(app, options, players);
        }
        catch
        {
            await app.StopAsync();
            await app.DisposeAsync();
            throw;
        }
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        var text = await Http.GetStringAsync(new Uri(SystemApi, path));
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Registers an origin as SRS would, with the given endpoints.</summary>
    public async Task RegisterAsync(string server, int? rtmp = null, int? http = null, int? srt = null)
    {
        var body = new System.Text.Json.Nodes.JsonObject
        {
            ["ip"] = "127.0.0.1",
            ["server"] = server,
            ["service"] = "svc",
            ["pid"] = "1",
            ["rtmp"] = new System.Text.Json.Nodes.JsonArray((rtmp ?? 1).ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        if (http is not null)
        {
            body["http"] = new System.Text.Json.Nodes.JsonArray(http.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (srt is not null)
        {
            body["srt"] = new System.Text.Json.Nodes.JsonArray($"udp://0.0.0.0:{srt}");
        }

        var response = await Http.PostAsync(RegisterUrl, new StringContent(body.ToJsonString()));
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Waits until at least <paramref name="count"/> origins are alive, as <c>/api/v1/origins</c> lists them.</summary>
    public Task WaitForOriginsAsync(int count) => Wait.UntilAsync(
        async () => (await GetJsonAsync("api/v1/origins")).GetProperty("origins").EnumerateArray().Count(o => o.GetProperty("alive").GetBoolean()) >= count,
        $"{count} origins alive at {SystemApi}",
        20_000);

    public async Task<string> MetricsAsync() => await Http.GetStringAsync(new Uri(SystemApi, "metrics"));

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
