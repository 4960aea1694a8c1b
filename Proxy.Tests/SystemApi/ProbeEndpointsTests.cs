using System.Net;
using System.Text.Json;
using SrsProxy.Configuration;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests.SystemApi;

/// <summary><c>/healthz</c> and <c>/readyz</c> of the system API, as a load balancer or Kubernetes probes them.</summary>
public class ProbeEndpointsTests
{
    [Fact]
    public async Task Readyz_MemoryRegistry_Started_200WithEveryCheckOk()
    {
        await using var proxy = await TestProxy.StartAsync();
        var ready = await proxy.Http.GetAsync(new Uri(proxy.SystemApi, "readyz"));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        Assert.True(body.GetProperty("ready").GetBoolean());
        Assert.Equal(["listeners", "registry", "draining"], body.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        Assert.All(body.GetProperty("checks").EnumerateArray(), c => Assert.True(c.GetProperty("ok").GetBoolean()));
        Assert.Equal(HttpStatusCode.OK, (await proxy.Http.GetAsync(new Uri(proxy.SystemApi, "healthz"))).StatusCode);

        // Probes live on the system API only, not on the listeners players reach.
        Assert.Equal(HttpStatusCode.NotFound, (await proxy.Http.GetAsync(new Uri(proxy.HttpApi, "readyz"))).StatusCode);
    }

    [Fact]
    public async Task Readyz_RedisStopped_503NamingTheRegistry_200AgainWhenRedisReturns()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var proxy = await TestProxy.StartAsync(o => o with { LoadBalancer = LoadBalancerType.Redis, RedisPort = redis.Port, RedisPrefix = "probe:" });
        var readyz = new Uri(proxy.SystemApi, "readyz");
        Assert.Equal(HttpStatusCode.OK, (await proxy.Http.GetAsync(readyz)).StatusCode);

        await redis.StopAsync();
        await Wait.UntilAsync(async () => (await proxy.Http.GetAsync(readyz)).StatusCode == HttpStatusCode.ServiceUnavailable,
            "/readyz answers 503 once Redis is gone", 15_000);
        var started = Environment.TickCount64;
        var down = await proxy.Http.GetAsync(readyz);
        Assert.True(Environment.TickCount64 - started < 1500, "a probe answers within a second or so even with Redis gone");
        var body = JsonDocument.Parse(await down.Content.ReadAsStringAsync()).RootElement;
        Assert.False(body.GetProperty("ready").GetBoolean());
        var registry = body.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "registry");
        Assert.False(registry.GetProperty("ok").GetBoolean());
        Assert.Contains("registry", registry.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await proxy.Http.GetAsync(new Uri(proxy.SystemApi, "healthz"))).StatusCode);

        await redis.RestartAsync();
        await Wait.UntilAsync(async () => (await proxy.Http.GetAsync(readyz)).StatusCode == HttpStatusCode.OK,
            "/readyz answers 200 again once Redis is back", 30_000);
    }
}
