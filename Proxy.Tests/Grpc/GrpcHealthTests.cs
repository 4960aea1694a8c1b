using System.Net;
using Grpc.Core;
using Grpc.Health.V1;
using SrsProxy.Configuration;
using SrsProxy.Grpc.V1;
using SrsProxy.Tests.Common;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace SrsProxy.Tests.Grpc;

/// <summary>
/// The standard <c>grpc.health.v1.Health</c> service on <c>PROXY_GRPC</c>, as a kubelet's gRPC probe or a
/// balancer asks it: overall and per part, tied to the drain, and open without the operator's token.
/// </summary>
public sealed class GrpcHealthTests
{
    private static readonly string[] Parts = ["alive", "registry", "webrtc", "rtmp", "srt"];

    [Fact]
    public async Task Check_EveryServiceServing_UnknownNotFound_NoTokenNeeded()
    {
        await using var proxy = await TestProxy.StartAsync(o => o with { Grpc = new ListenAddress(IPAddress.Loopback, 0), SystemApiToken = "secret" });
        using var client = new GrpcTestClient(proxy.Grpc!);
        Assert.Equal(ServingStatus.Serving, await client.CheckAsync(""));
        foreach (var part in Parts)
        {
            Assert.Equal((part, ServingStatus.Serving), (part, await client.CheckAsync(part)));
        }

        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await client.CheckAsync("srsproxy.v1.Nothing"));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }

    /// <summary>
    /// Once the drain begins (here by the Control service's Drain, which needs the token), the instance and
    /// each part that takes new work say NOT_SERVING, so balancers stop sending; "alive" and the registry stay
    /// SERVING, so a liveness probe does not restart an instance whose players are still playing out. A watch
    /// of the overall status sees the change. <c>/readyz</c> agrees.
    /// </summary>
    [Fact]
    public async Task DrainBegins_OverallAndPartsNotServing_AliveServing_WatchSeesIt()
    {
        await using var proxy = await TestProxy.StartAsync(o => o with
        {
            Grpc = new ListenAddress(IPAddress.Loopback, 0),
            SystemApiToken = "secret",
            GraceQuitTimeout = TimeSpan.FromSeconds(60),
        });
        using var client = new GrpcTestClient(proxy.Grpc!, "secret");
        using var watch = client.Health.Watch(new HealthCheckRequest { Service = "" });
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(ServingStatus.Serving, watch.ResponseStream.Current.Status);

        var denied = await Assert.ThrowsAsync<RpcException>(async () => await client.Control.DrainAsync(new DrainRequest(), deadline: GrpcTestClient.Deadline));
        Assert.Equal(StatusCode.Unauthenticated, denied.StatusCode);
        Assert.Equal(ServingStatus.Serving, await client.CheckAsync(""));

        var drain = await client.Control.DrainAsync(new DrainRequest(), client.Auth, GrpcTestClient.Deadline);
        Assert.True(drain.Draining);
        Assert.StartsWith("gRPC Drain from ", drain.Reason, StringComparison.Ordinal);
        Assert.Equal(0, drain.ActiveTotal);
        Assert.Contains("webrtc", drain.Active.Keys);

        Assert.Equal(ServingStatus.NotServing, await client.CheckAsync(""));
        foreach (var part in new[] { "webrtc", "rtmp", "srt" })
        {
            Assert.Equal((part, ServingStatus.NotServing), (part, await client.CheckAsync(part)));
        }

        Assert.Equal(ServingStatus.Serving, await client.CheckAsync("alive"));
        Assert.Equal(ServingStatus.Serving, await client.CheckAsync("registry"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await proxy.Http.GetAsync(new Uri(proxy.SystemApi, "readyz"))).StatusCode);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var statuses = new List<ServingStatus>();
        while (await watch.ResponseStream.MoveNext(timeout.Token))
        {
            statuses.Add(watch.ResponseStream.Current.Status);
            if (statuses[^1] == ServingStatus.NotServing)
            {
                break;
            }
        }

        Assert.Equal(ServingStatus.NotServing, statuses.LastOrDefault());
    }
}
