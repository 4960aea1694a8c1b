using System.Net;
using System.Text.Json;
using SrsProxy.Tests.Common;
using SrsProxy.Tests.SystemApi;

namespace SrsProxy.Tests.Http;

/// <summary>/api/v1/versions, through the real proxy.</summary>
public class VersionAnswerTests
{
    [Fact]
    public async Task Versions_OnBothListeners()
    {
        await using var proxy = await TestProxy.StartAsync();
        foreach (var listener in new[] { proxy.HttpApi, proxy.SystemApi })
        {
            var json = JsonDocument.Parse(await proxy.Http.GetStringAsync(new Uri(listener, "api/v1/versions"))).RootElement;
            Assert.False(string.IsNullOrEmpty(json.GetProperty("signature").GetString()));
            Assert.False(string.IsNullOrEmpty(json.GetProperty("version").GetString()));
        }

        // Routes stay on their listener: registration is not served on the signalling port.
        var wrong = await proxy.Http.PostAsync(new Uri(proxy.HttpApi, "api/v1/srs/register"), new StringContent(RegistrationParserTests.SrsBody));
        Assert.Equal(HttpStatusCode.NotFound, wrong.StatusCode);
    }
}
