using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Grpc.Core;
using Grpc.Health.V1;
using SrsProxy.Configuration;
using SrsProxy.Grpc.V1;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests.Grpc;

/// <summary>
/// The operator's gRPC service against a running proxy with real sessions: a werift origin registering itself
/// and werift players playing through the proxy, read and closed over <c>PROXY_GRPC</c> by Grpc.Net.Client
/// and by an independent client, @grpc/grpc-js loading the repo's .proto (<c>Peers/grpc-client.mjs</c>).
/// </summary>
[Collection(RealPeersCollection.Name)]
public sealed class ControlServiceTests
{
    private const string Token = "operator-token";

    [Fact]
    public async Task DotnetClient_PlayingPlayer_ListedOpenedClosedByOperator_OriginSessionDeleted()
    {
        await using var proxy = await StartProxyAsync();
        await using var origin = await OriginPeer.StartAsync(new Uri(proxy.RegisterUrl, $"?token={Token}"), "live/livestream");
        await proxy.WaitForOriginsAsync(1);
        using var client = new GrpcTestClient(proxy.Grpc!, Token);

        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await client.CheckAsync(""));
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.Control.ListSessionsAsync(new ListSessionsRequest(), deadline: GrpcTestClient.Deadline));
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);

        using var events = await WatchedEvents.StartAsync(client.Control.WatchEvents(new WatchEventsRequest(), client.Auth));
        await using var players = await WeriftPlayers.StartAsync(Whep(proxy), 1);
        var player = Assert.Single(players.Players);
        Assert.True(player.GetProperty("rtp").GetInt32() > 0, $"player playing: {player}\n{players.Stderr}");
        var id = new Uri(player.GetProperty("location").GetString()!).Segments[^1];

        var opened = (await events.WaitForAsync(e => e.SessionOpened?.Session.Id == id, $"session {id} opened")).SessionOpened.Session;
        Assert.Equal("whep", opened.Kind);
        Assert.Equal(origin.Id, opened.OriginId);
        Assert.EndsWith("live/livestream", opened.Stream, StringComparison.Ordinal);

        // The list shows the playing session with its media counted, as the HTTP API does (one source for both).
        var session = Assert.Single((await client.Control.ListSessionsAsync(new ListSessionsRequest(), client.Auth, GrpcTestClient.Deadline)).Sessions);
        Assert.Equal(id, session.Id);
        Assert.True(session.PacketsToPlayer > 0, $"media counted: {session}");
        Assert.StartsWith("127.0.0.1:", session.Player, StringComparison.Ordinal);
        var http = Assert.Single((await proxy.GetJsonAsync("api/v1/sessions")).GetProperty("sessions").EnumerateArray());
        Assert.Equal((session.Id, session.Kind, session.Stream, session.OriginId, session.OriginUdp, session.Player),
            (http.GetProperty("id").GetString(), http.GetProperty("kind").GetString(), http.GetProperty("stream").GetString(),
             http.GetProperty("origin_id").GetString(), http.GetProperty("origin_udp").GetString(), http.GetProperty("player").GetString()));
        var listedOrigin = Assert.Single((await client.Control.ListOriginsAsync(new ListOriginsRequest(), client.Auth, GrpcTestClient.Deadline)).Origins);
        Assert.Equal((origin.Id, true, 1), (listedOrigin.Id, listedOrigin.Alive, listedOrigin.ActiveSessions));
        var httpOrigin = Assert.Single((await proxy.GetJsonAsync("api/v1/origins")).GetProperty("origins").EnumerateArray());
        Assert.Equal(httpOrigin.GetProperty("endpoints").GetProperty("rtc").EnumerateArray().Select(e => e.GetString()!), listedOrigin.Endpoints["rtc"].Addresses);
        var stream = Assert.Single((await client.Control.ListStreamsAsync(new ListStreamsRequest(), client.Auth, GrpcTestClient.Deadline)).Streams);
        Assert.Equal((opened.Stream, origin.Id), (stream.Stream_, stream.OriginId));

        // Closed by the operator: the answer names the session, the watcher is told why, the relay and the
        // registry forget it, the origin's session is DELETEd, and the player gets no more media.
        var closed = await client.Control.CloseSessionAsync(new CloseSessionRequest { SessionId = id }, client.Auth, GrpcTestClient.Deadline);
        Assert.Equal(id, closed.Session.Id);
        var closedEvent = (await events.WaitForAsync(e => e.SessionClosed?.SessionId == id, $"session {id} closed")).SessionClosed;
        Assert.Equal("closed by operator", closedEvent.Reason);
        Assert.Equal(origin.Id, closedEvent.OriginId);
        Assert.Empty((await client.Control.ListSessionsAsync(new ListSessionsRequest(), client.Auth, GrpcTestClient.Deadline)).Sessions);
        await Wait.UntilAsync(async () => (await WhepSessionsAsync(origin)).Any(s => s.GetProperty("deleted").GetBoolean()), "the origin's session DELETEd", 10_000);
        await Wait.UntilAsync(() => players.Players[0].GetProperty("lastRtpAgoMs").GetInt32() > 1500, "the player gets no more media", 10_000);

        var again = await Assert.ThrowsAsync<RpcException>(async () => await client.Control.CloseSessionAsync(new CloseSessionRequest { SessionId = id }, client.Auth, GrpcTestClient.Deadline));
        Assert.Equal(StatusCode.NotFound, again.StatusCode);
    }

    [Fact]
    public async Task GrpcJsClient_ReadsHealth_SeesPlayerOpened_ListsAndClosesIt_SeesClosed()
    {
        await using var proxy = await StartProxyAsync();
        await using var origin = await OriginPeer.StartAsync(new Uri(proxy.RegisterUrl, $"?token={Token}"), "live/livestream");
        await proxy.WaitForOriginsAsync(1);
        var proto = Path.GetFullPath(Path.Combine(Peers.Directory, "..", "..", "Proxy", "Grpc", "control.proto"));
        using var node = Peers.StartNode("grpc-client.mjs", ["--address", $"127.0.0.1:{proxy.Grpc!.Port}", "--proto", proto, "--token", Token, "--timeout-ms", "60000"]);
        var stderr = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var first = await node.StandardOutput.ReadLineAsync(timeout.Token);
        if (first != "WATCHING")
        {
            Assert.Fail($"the grpc-js client did not watch: {first}\n{await WhenExitedAsync(node, stderr)}");
        }

        await using var players = await WeriftPlayers.StartAsync(Whep(proxy), 1);
        var player = Assert.Single(players.Players);
        Assert.True(player.GetProperty("rtp").GetInt32() > 0, $"player playing: {player}\n{players.Stderr}");
        var id = new Uri(player.GetProperty("location").GetString()!).Segments[^1];
        var last = await node.StandardOutput.ReadToEndAsync();
        await node.WaitForExitAsync();
        var line = last.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        Assert.True(line is not null, $"the grpc-js client printed no result (exit {node.ExitCode}): {await stderr}");
        var result = JsonDocument.Parse(line).RootElement;
        Assert.True(result.GetProperty("ok").GetBoolean(), $"grpc-js client: {result}\n{await stderr}");

        var health = result.GetProperty("health");
        foreach (var service in new[] { "", "alive", "registry", "webrtc", "rtmp", "srt" })
        {
            Assert.Equal("SERVING", health.GetProperty(service).GetString());
        }

        Assert.Equal("NOT_FOUND", health.GetProperty("unknown").GetString());
        Assert.Equal("UNAUTHENTICATED", result.GetProperty("unauthenticatedCode").GetString());
        Assert.Equal(id, result.GetProperty("opened").GetProperty("id").GetString());
        Assert.Equal("whep", result.GetProperty("opened").GetProperty("kind").GetString());
        var listed = Assert.Single(result.GetProperty("listed").EnumerateArray());
        Assert.Equal(id, listed.GetProperty("id").GetString());
        Assert.True(long.Parse(listed.GetProperty("packets_to_player").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > 50, $"listed playing: {listed}");
        Assert.Equal(id, result.GetProperty("closeAnswer").GetProperty("id").GetString());
        Assert.Equal("closed by operator", result.GetProperty("closed").GetProperty("reason").GetString());

        Assert.Equal(0, proxy.Relay.SessionCount);
        await Wait.UntilAsync(async () => (await WhepSessionsAsync(origin)).Any(s => s.GetProperty("deleted").GetBoolean()), "the origin's session DELETEd", 10_000);
        await Wait.UntilAsync(() => players.Players[0].GetProperty("lastRtpAgoMs").GetInt32() > 1500, "the player gets no more media", 10_000);
    }

    /// <summary>Without a token configured the service is open, as the system API is; health never needs one.</summary>
    [Fact]
    public async Task NoTokenConfigured_ControlAnswersWithoutMetadata()
    {
        await using var proxy = await TestProxy.StartAsync(o => o with { Grpc = new ListenAddress(IPAddress.Loopback, 0) });
        using var client = new GrpcTestClient(proxy.Grpc!);
        Assert.Empty((await client.Control.ListSessionsAsync(new ListSessionsRequest(), deadline: GrpcTestClient.Deadline)).Sessions);
        Assert.Empty((await client.Control.ListOriginsAsync(new ListOriginsRequest(), deadline: GrpcTestClient.Deadline)).Origins);
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await client.Control.CloseSessionAsync(new CloseSessionRequest { SessionId = "nope" }, deadline: GrpcTestClient.Deadline));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    /// <summary>The gRPC port speaks gRPC only: the system API's routes are not there, and it is not on the system API.</summary>
    [Fact]
    public async Task GrpcRoutes_OnlyOnGrpcListener()
    {
        await using var proxy = await TestProxy.StartAsync(o => o with { Grpc = new ListenAddress(IPAddress.Loopback, 0) });
        using var onSystemApi = new GrpcTestClient(proxy.SystemApi);
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await onSystemApi.CheckAsync(""));
        Assert.NotEqual(StatusCode.OK, refused.StatusCode);

        using var h2c = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var notThere = await h2c.GetAsync(new Uri(proxy.Grpc!, "api/v1/sessions"));
        Assert.Equal(HttpStatusCode.NotFound, notThere.StatusCode);
    }

    private static async Task<TestProxy> StartProxyAsync()
    {
        var proxy = await TestProxy.StartAsync(o => o with { Grpc = new ListenAddress(IPAddress.Loopback, 0), SystemApiToken = Token });
        proxy.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return proxy;
    }

    private static Uri Whep(TestProxy proxy) => new(proxy.HttpApi, "rtc/v1/whep/?app=live&stream=livestream");

    private static async Task<List<JsonElement>> WhepSessionsAsync(OriginPeer origin) =>
        (await origin.SessionsAsync()).EnumerateArray().Where(s => s.GetProperty("api").GetString() == "whep").ToList();

    private static async Task<string> WhenExitedAsync(System.Diagnostics.Process node, Task<string> stderr)
    {
        if (!node.HasExited)
        {
            node.Kill();
        }

        return await node.StandardOutput.ReadToEndAsync() + await stderr;
    }
}
