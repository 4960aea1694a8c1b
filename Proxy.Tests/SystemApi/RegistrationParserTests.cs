using System.Text.Json;
using System.Text.Json.Nodes;
using SrsProxy.SystemApi;

namespace SrsProxy.Tests.SystemApi;

public class RegistrationParserTests
{
    /// <summary>The body an SRS origin sends, as in the reference facts.</summary>
    internal const string SrsBody = """
        {"device_id":"origin1","ip":"127.0.0.1","server":"vid-xxx","service":"yyy","pid":"1234",
         "rtmp":["19351"],"http":["8081"],"api":["19851"],"srt":["udp://0.0.0.0:10081"],
         "rtc":["udp://0.0.0.0:8001","tcp://0.0.0.0:8001"],"summaries":{"ok":true}}
        """;

    private static (bool Ok, string Error, SrsProxy.Registry.OriginServer Origin) Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var ok = RegistrationParser.TryParse(document.RootElement, out var origin, out var error);
        return (ok, error, origin);
    }

    [Fact]
    public void TryParse_SrsBody_BuildsOrigin()
    {
        var (ok, _, origin) = Parse(SrsBody);
        Assert.True(ok);
        Assert.Equal("vid-xxx-yyy-1234", origin.Id);
        Assert.Equal("origin1", origin.DeviceId);
        Assert.Equal(19351, origin.Rtmp.Single().Port);
        Assert.Equal(new Uri("http://127.0.0.1:19851/"), origin.ApiBaseUri);
        Assert.Equal(8001, origin.RtcUdpPort);
        Assert.Equal(2, origin.Rtc.Count);
        Assert.True(origin.Rtc[1].IsTcp);
        Assert.False(origin.Rtc[1].IsUdp);
    }

    [Fact]
    public void TryParse_OnlyMandatoryFields_IsEnough()
    {
        var (ok, _, origin) = Parse("""{"ip":"origin.example.com","server":"s","service":"v","pid":7,"rtmp":["1935"]}""");
        Assert.True(ok);
        Assert.Equal("s-v-7", origin.Id);
        Assert.Null(origin.ApiBaseUri);
        Assert.Equal(0, origin.RtcUdpPort);
    }

    [Theory]
    [InlineData("ip")]
    [InlineData("server")]
    [InlineData("service")]
    [InlineData("pid")]
    [InlineData("rtmp")]
    public void TryParse_MissingMandatoryField_NamesIt(string field)
    {
        var body = JsonNode.Parse(SrsBody)!.AsObject();
        body.Remove(field);
        var (ok, error, _) = Parse(body.ToJsonString());
        Assert.False(ok);
        Assert.StartsWith(field + ":", error);
    }

    [Theory]
    [InlineData("ip", "\"\"", "ip:")]
    [InlineData("ip", "\"0.0.0.0\"", "ip:")]
    [InlineData("ip", "\"bad host!\"", "ip:")]
    [InlineData("ip", "42", "ip:")]
    [InlineData("server", "\"\"", "server:")]
    [InlineData("pid", "{}", "pid:")]
    [InlineData("rtmp", "[]", "rtmp:")]
    [InlineData("rtmp", "\"19351\"", "rtmp:")]
    [InlineData("rtmp", "[\"abc\"]", "rtmp[0]:")]
    [InlineData("rtmp", "[\"0\"]", "rtmp[0]:")]
    [InlineData("api", "[\"19851\", \"99999\"]", "api[1]:")]
    [InlineData("rtc", "[\"quic://0.0.0.0:8001\"]", "rtc[0]:")]
    [InlineData("rtc", "[\"udp://0.0.0.0\"]", "rtc[0]:")]
    [InlineData("srt", "[null]", "srt[0]:")]
    public void TryParse_BadField_NamesIt(string field, string json, string expectedPrefix)
    {
        var body = JsonNode.Parse(SrsBody)!.AsObject();
        body[field] = JsonNode.Parse(json);
        var (ok, error, _) = Parse(body.ToJsonString());
        Assert.False(ok);
        Assert.StartsWith(expectedPrefix, error);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("null")]
    public void TryParse_NotAnObject_Fails(string json) => Assert.StartsWith("body:", Parse(json).Error);

    [Fact]
    public void TryParse_OverlongIdentity_Fails()
    {
        var body = JsonNode.Parse(SrsBody)!.AsObject();
        body["server"] = new string('x', 1000);
        Assert.StartsWith("server:", Parse(body.ToJsonString()).Error);
    }
}
