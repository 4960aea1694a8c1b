using System.Globalization;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using SrsProxy.Configuration;
using SrsProxy.Tests.Common;
using YamlDotNet.RepresentationModel;

namespace SrsProxy.Tests.Deploy;

/// <summary>
/// deploy/compose.yaml, the laptop set-up: two SRS origins, Redis, two proxies. No container engine runs
/// here, so the file is checked against the proxy instead of being started: its variables, its published
/// ports, the image it builds and where the origins send their heartbeats.
/// </summary>
public class ComposeFileTests
{
    private static readonly YamlMappingNode Compose = Assert.Single(DeployKit.LoadYaml(DeployKit.File("compose.yaml")));

    private static IEnumerable<(string Name, YamlNode Service)> Services =>
        ((YamlMappingNode)Compose.Child("services")!).Children.Select(p => (((YamlScalarNode)p.Key).Value!, p.Value));

    /// <summary>The proxies: the services built from the kit's Containerfile.</summary>
    private static List<(string Name, YamlNode Service)> Proxies => Services.Where(s => s.Service.Child("build") is not null).ToList();

    private static List<(string Name, YamlNode Service)> Origins => Services.Where(s => s.Service.Text("image")?.StartsWith("ossrs/srs:", StringComparison.Ordinal) == true).ToList();

    private static Dictionary<string, string> Environment(YamlNode service) =>
        service.Pairs("environment").ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    /// <summary>Fails on: a YAML error, fewer than two origins or two proxies, no Redis, a build that names no Containerfile of the kit.</summary>
    [Fact]
    public void Compose_HasTwoOriginsRedisAndTwoProxies_BuiltFromTheContainerfile()
    {
        Assert.Equal(2, Origins.Count);
        Assert.Equal(2, Proxies.Count);
        Assert.Contains(Services, s => s.Service.Text("image")?.StartsWith("redis:", StringComparison.Ordinal) == true);
        Assert.All(Proxies, p =>
        {
            var build = p.Service.Child("build")!;
            var context = Path.GetFullPath(Path.Combine(DeployKit.File(), build.Text("context")!));
            Assert.True(File.Exists(Path.Combine(context, build.Text("dockerfile")!)), $"{p.Name}: no {build.Text("dockerfile")} in {context}");
            Assert.True(File.Exists(Path.Combine(context, "Proxy.sln")), $"{p.Name}: the build context is not the repository's root");
        });
    }

    /// <summary>
    /// Fails on: a name in a proxy's environment that the proxy does not read (a typo such as
    /// <c>PROXY_REDIS_HOTS</c> would leave it on 127.0.0.1), a value it refuses at start, a proxy not on the Redis
    /// registry (two proxies on memory registries would not share origins), a Redis host that is no service.
    /// </summary>
    [Fact]
    public void Compose_ProxyEnvironment_IsVariablesTheProxyReads_OnTheSharedRedis()
    {
        foreach (var (name, service) in Proxies)
        {
            var env = Environment(service);
            Assert.All(env.Keys, key => Assert.True(DeployKit.IsProxyVariable(key), $"{name}: {key} is not a variable the proxy reads"));
            var options = DeployKit.Options(env);
            Assert.Equal(LoadBalancerType.Redis, options.LoadBalancer);
            Assert.Contains(Services, s => s.Name == options.RedisHost);
        }
    }

    /// <summary>
    /// Fails on: a published container port that is none of that proxy's listeners or has the wrong protocol
    /// (e.g. <c>18000:18000/tcp</c>), a listener left unpublished, a WebRTC port published on another laptop port
    /// (answers carry the proxy's own port, so players would send to a port nothing listens on), two services
    /// publishing one laptop port.
    /// </summary>
    [Fact]
    public void Compose_PublishedPorts_AreEachProxysListeners()
    {
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, service) in Proxies)
        {
            var listeners = DeployKit.Listeners(DeployKit.Options(Environment(service)));
            var published = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in service.Items("ports").Select(p => ((YamlScalarNode)p).Value!))
            {
                // "HOST:CONTAINER/PROTOCOL", as the kit writes them.
                var (ports, protocol) = entry.Split('/') is [var p, var proto] ? (p, proto.ToUpperInvariant()) : (entry, "TCP");
                var (host, container) = ports.Split(':') is [var h, var c] ? (int.Parse(h, CultureInfo.InvariantCulture), int.Parse(c, CultureInfo.InvariantCulture)) : throw new Xunit.Sdk.XunitException($"{name}: {entry} is not HOST:CONTAINER/PROTOCOL");
                var match = listeners.Where(l => l.Value.Port == container && l.Value.ProtocolName == protocol).Select(l => l.Key).SingleOrDefault();
                Assert.True(match is not null, $"{name}: {entry} publishes no listener of the proxy ({string.Join(", ", listeners.Select(l => $"{l.Key} {l.Value.Port}/{l.Value.ProtocolName}"))})");
                Assert.True(match is not ("webrtc" or "webrtc-tcp") || host == container, $"{name}: the WebRTC port {container} must be published as itself, not as {host}");
                Assert.True(taken.Add($"{host}/{protocol}"), $"{name}: laptop port {host}/{protocol} is published twice");
                published.Add(match!);
            }

            Assert.Equal(listeners.Keys.Order(StringComparer.Ordinal), published.Order(StringComparer.Ordinal));
            Assert.Equal(ProtocolType.Udp, listeners["webrtc"].Protocol);
        }
    }

    /// <summary>
    /// The origins' heartbeats, sent by this test to a running proxy at the path and port the compose file names.
    /// Fails on: a heartbeat URL to a service that is not a proxy, to another port than that proxy's system API,
    /// or to a path that does not register (e.g. <c>/api/v1/register</c>); heartbeats or their ports turned off;
    /// an origin's WebRTC candidate that is not its own address on the network.
    /// </summary>
    [Fact]
    public async Task Compose_OriginHeartbeats_RegisterWithAProxy()
    {
        await using var proxy = await TestProxy.StartAsync();
        var proxies = Proxies.ToDictionary(p => p.Name, p => DeployKit.Options(Environment(p.Service)));
        foreach (var (name, origin) in Origins)
        {
            var env = Environment(origin);
            Assert.Equal("on", env["SRS_HEARTBEAT_ENABLED"]);
            Assert.Equal("on", env["SRS_HEARTBEAT_PORTS"]);
            var url = new Uri(env["SRS_HEARTBEAT_URL"]);
            Assert.True(proxies.TryGetValue(url.Host, out var target), $"{name} sends heartbeats to {url.Host}, which is not a proxy of the file");
            Assert.Equal(target!.SystemApi.Port, url.Port);
            var network = Assert.Single(((YamlMappingNode)origin.Child("networks")!).Children).Value;
            Assert.Equal(network.Text("ipv4_address"), env["SRS_RTC_SERVER_CANDIDATE"]);

            // What SRS 7 sends with SRS_HEARTBEAT_PORTS=on, to the same path on the running proxy.
            var beat = new JsonObject
            {
                ["ip"] = "127.0.0.1",
                ["device_id"] = env["SRS_HEARTBEAT_DEVICE_ID"],
                ["server"] = name,
                ["service"] = "compose",
                ["pid"] = "1",
                ["rtmp"] = new JsonArray(env["SRS_RTMP_LISTEN"]),
                ["http"] = new JsonArray(env["SRS_HTTP_SERVER_LISTEN"]),
                ["api"] = new JsonArray(env["SRS_HTTP_API_LISTEN"]),
                ["rtc"] = new JsonArray($"udp://0.0.0.0:{env["SRS_RTC_SERVER_LISTEN"]}"),
                ["srt"] = new JsonArray($"udp://0.0.0.0:{env["SRS_SRT_SERVER_LISTEN"]}"),
            };
            var answer = await proxy.Http.PostAsync(new Uri(proxy.SystemApi, url.PathAndQuery.TrimStart('/')), new StringContent(beat.ToJsonString()));
            Assert.True(answer.IsSuccessStatusCode, $"{name}: {url.PathAndQuery} answered {(int)answer.StatusCode}");
        }

        await proxy.WaitForOriginsAsync(Origins.Count);
    }
}
