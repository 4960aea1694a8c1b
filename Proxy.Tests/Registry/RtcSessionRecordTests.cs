using System.Text.Json;
using SrsProxy.Registry;

namespace SrsProxy.Tests.Registry;

public class RtcSessionRecordTests
{
    /// <summary>A shared registry stores sessions as this JSON; another instance must read back the same record.</summary>
    [Fact]
    public void Json_RoundTripsEveryField()
    {
        var record = new RtcSessionRecord
        {
            Id = "0123456789abcdef0123456789abcdef", Kind = "whip", StreamKey = "__defaultVhost__/live/s", OriginId = "a-svc-1",
            Username = "ans:off", IcePassword = "pwd", RelayHost = "127.0.0.1", RelayPort = 8000,
            OriginLocation = "http://127.0.0.1:1985/rtc/v1/whip/?session=x", Created = new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero),
        };

        var json = JsonSerializer.Serialize(record, RegistryJsonContext.Default.RtcSessionRecord);
        Assert.Equal(record, JsonSerializer.Deserialize(json, RegistryJsonContext.Default.RtcSessionRecord));
        Assert.Equal(record with { OriginLocation = null }, JsonSerializer.Deserialize(
            JsonSerializer.Serialize(record with { OriginLocation = null }, RegistryJsonContext.Default.RtcSessionRecord), RegistryJsonContext.Default.RtcSessionRecord));
    }
}
