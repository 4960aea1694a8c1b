using System.Net;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests.Http;

/// <summary>CORS on the signalling listener, through the real proxy.</summary>
public class CorsMiddlewareTests
{
    [Fact]
    public async Task Preflight_AllowsBrowserPlayers_AndExposesWhepHeaders()
    {
        await using var proxy = await TestProxy.StartAsync();
        var request = new HttpRequestMessage(HttpMethod.Options, new Uri(proxy.HttpApi, "rtc/v1/whep/?app=live&stream=s"));
        request.Headers.Add("Origin", "http://player.example");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "content-type,authorization");
        var response = await proxy.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("POST", response.Headers.GetValues("Access-Control-Allow-Methods").Single());
        Assert.Contains("DELETE", response.Headers.GetValues("Access-Control-Allow-Methods").Single());
        Assert.Contains("Authorization", response.Headers.GetValues("Access-Control-Allow-Headers").Single());
        var exposed = response.Headers.GetValues("Access-Control-Expose-Headers").Single();
        Assert.Contains("Location", exposed);
        Assert.Contains("ETag", exposed);
        Assert.Contains("Link", exposed);
    }
}
