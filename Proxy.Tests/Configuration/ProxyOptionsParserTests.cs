using System.Net;
using SrsProxy.Configuration;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests.Configuration;

public class ProxyOptionsParserTests
{
    private static ProxyOptions Parse(params (string Key, string Value)[] env) =>
        ProxyOptionsParser.Parse(env.ToDictionary(e => e.Key, e => e.Value));

    [Fact]
    public void Parse_Empty_HasReferenceDefaults()
    {
        var o = Parse();
        Assert.Equal(new ListenAddress(null, 11985), o.HttpApi);
        Assert.Equal(18080, o.HttpServer.Port);
        Assert.Equal(11935, o.RtmpServer.Port);
        Assert.Equal(18000, o.WebRtcServer.Port);
        Assert.Equal(20080, o.SrtServer.Port);
        Assert.Equal(12025, o.SystemApi.Port);
        Assert.Null(o.Pprof);
        Assert.Equal(TimeSpan.FromSeconds(30), o.ForceQuitTimeout);
        Assert.Equal(TimeSpan.FromSeconds(20), o.GraceQuitTimeout);
        Assert.Equal("../trunk/research", o.StaticFiles);
        Assert.Equal(LoadBalancerType.Memory, o.LoadBalancer);
        Assert.Equal(("127.0.0.1", 6379, "", 0), (o.RedisHost, o.RedisPort, o.RedisPassword, o.RedisDb));
        Assert.Null(o.DefaultBackend);
        Assert.Null(o.Candidate);
        Assert.Equal(TimeSpan.FromSeconds(30), o.OriginTtl);
        Assert.Equal(TimeSpan.FromSeconds(30), o.RtcIdleTimeout);
    }

    [Fact]
    public void Parse_SeedGuideVariables_UseStandardPorts()
    {
        var o = Parse(("GO_PPROF", ":6060"), ("PROXY_RTMP_SERVER", "1935"), ("PROXY_HTTP_SERVER", "8080"),
            ("PROXY_HTTP_API", "1985"), ("PROXY_WEBRTC_SERVER", "8000"), ("PROXY_SRT_SERVER", "10080"),
            ("PROXY_SYSTEM_API", "12025"), ("PROXY_LOAD_BALANCER_TYPE", "memory"));
        Assert.Equal(new ListenAddress(null, 6060), o.Pprof);
        Assert.Equal(1935, o.RtmpServer.Port);
        Assert.Equal(1985, o.HttpApi.Port);
        Assert.Equal(8000, o.WebRtcServer.Port);
    }

    [Fact]
    public void Parse_HostAndPort_KeepsHost()
    {
        var o = Parse(("PROXY_HTTP_API", "127.0.0.1:1985"), ("PROXY_SYSTEM_API", "[::1]:12025"), ("PROXY_WEBRTC_SERVER", "localhost:8000"));
        Assert.Equal(IPAddress.Loopback, o.HttpApi.Host);
        Assert.Equal(IPAddress.IPv6Loopback, o.SystemApi.Host);
        Assert.Equal(IPAddress.Loopback, o.WebRtcServer.Host);
    }

    [Fact]
    public void Parse_PprofAlias_IsAccepted()
    {
        Assert.Equal(new ListenAddress(IPAddress.Loopback, 6061), Parse(("PROXY_PPROF", "127.0.0.1:6061")).Pprof);
    }

    [Fact]
    public void Parse_PprofCpuSampler_AutoByDefault_AnyCase()
    {
        Assert.Equal(CpuSampler.Auto, Parse().PprofCpuSampler);
        Assert.Equal(CpuSampler.Perf, Parse(("PROXY_PPROF_CPU_SAMPLER", "perf")).PprofCpuSampler);
        Assert.Equal(CpuSampler.EventPipe, Parse(("PROXY_PPROF_CPU_SAMPLER", "EventPipe")).PprofCpuSampler);
        Assert.Contains(("PROXY_PPROF_CPU_SAMPLER", "auto"), ProxyOptionsParser.Describe(Parse()));
    }

    [Fact]
    public void Parse_RtcPumpPriority_NormalByDefault_AnyCase()
    {
        Assert.Equal(PumpPriority.Normal, Parse().RtcPumpPriority);
        Assert.Equal(PumpPriority.High, Parse(("PROXY_RTC_PUMP_PRIORITY", "high")).RtcPumpPriority);
        Assert.Equal(PumpPriority.Realtime, Parse(("PROXY_RTC_PUMP_PRIORITY", "Realtime")).RtcPumpPriority);
        Assert.Contains(("PROXY_RTC_PUMP_PRIORITY", "normal"), ProxyOptionsParser.Describe(Parse()));
    }

    /// <summary>A real-time pump must sleep between wake-ups, or a flood lets it hold a core.</summary>
    [Fact]
    public void Parse_RealtimePump_WithoutCoalescing_IsRefused()
    {
        var e = Assert.Throws<ConfigurationException>(() => Parse(("PROXY_RTC_PUMP_PRIORITY", "realtime"), ("PROXY_RTC_COALESCE", "0")));
        Assert.Contains("PROXY_RTC_PUMP_PRIORITY=realtime needs PROXY_RTC_COALESCE above 0", e.Message);
        Assert.Equal(PumpPriority.High, Parse(("PROXY_RTC_PUMP_PRIORITY", "high"), ("PROXY_RTC_COALESCE", "0")).RtcPumpPriority);
    }

    /// <summary>gRPC is an operator's port: off unless set, and then a listener like the others.</summary>
    [Fact]
    public void Parse_Grpc_OffByDefault_ListenAddressWhenSet_ClashesWithOtherListeners()
    {
        Assert.Null(Parse().Grpc);
        Assert.Equal(new ListenAddress(IPAddress.Loopback, 9090), Parse(("PROXY_GRPC", "127.0.0.1:9090")).Grpc);
        Assert.Contains(("PROXY_GRPC", "(off)"), ProxyOptionsParser.Describe(Parse()));
        Assert.Contains("PROXY_GRPC=abc", Assert.Throws<ConfigurationException>(() => Parse(("PROXY_GRPC", "abc"))).Message);
        var clash = Assert.Throws<ConfigurationException>(() => Parse(("PROXY_GRPC", "12025")));
        Assert.Contains("PROXY_GRPC=:12025", clash.Message);
    }

    [Theory]
    [InlineData("PROXY_HTTP_API", "abc")]
    [InlineData("PROXY_HTTP_API", "70000")]
    [InlineData("PROXY_WEBRTC_SERVER", "host.example:8000")]
    [InlineData("PROXY_LOAD_BALANCER_TYPE", "consul")]
    [InlineData("PROXY_ORIGIN_TTL", "soon")]
    [InlineData("PROXY_RTC_IDLE_TIMEOUT", "-5s")]
    [InlineData("PROXY_FORCE_QUIT_TIMEOUT", "0s")]
    [InlineData("PROXY_REDIS_PORT", "0")]
    [InlineData("PROXY_REDIS_DB", "99")]
    [InlineData("PROXY_CANDIDATE", "not-an-ip")]
    [InlineData("PROXY_CANDIDATE", "0.0.0.0")]
    [InlineData("PROXY_DEFAULT_BACKEND_ENABLED", "maybe")]
    [InlineData("GO_PPROF", "6060:x")]
    [InlineData("PROXY_PPROF_CPU_SAMPLER", "dtrace")]
    [InlineData("PROXY_RTC_PUMP_PRIORITY", "-20")]
    public void Parse_BadValue_NamesVariableAndValueOnOneLine(string name, string value)
    {
        var e = Assert.Throws<ConfigurationException>(() => Parse((name, value)));
        Assert.Contains($"{name}={value}", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Parse_SeveralBadValues_ReportsAllOfThem()
    {
        var e = Assert.Throws<ConfigurationException>(() => Parse(("PROXY_HTTP_API", "abc"), ("PROXY_ORIGIN_TTL", "x")));
        Assert.Contains("PROXY_HTTP_API=abc", e.Message);
        Assert.Contains("PROXY_ORIGIN_TTL=x", e.Message);
    }

    [Fact]
    public void Parse_TwoListenersOnOnePort_IsRejected()
    {
        var e = Assert.Throws<ConfigurationException>(() => Parse(("PROXY_HTTP_API", "1985"), ("PROXY_SYSTEM_API", "1985")));
        Assert.Contains("PROXY_HTTP_API=:1985", e.Message);
        Assert.Contains("PROXY_SYSTEM_API=:1985", e.Message);
    }

    [Fact]
    public void Parse_UdpAndTcpOnOnePort_IsAllowed()
    {
        var o = Parse(("PROXY_HTTP_API", "8000"), ("PROXY_WEBRTC_SERVER", "8000"));
        Assert.Equal(8000, o.WebRtcServer.Port);

        // ICE-TCP would take the HTTP API's port: off by default then, so that such a setup still starts.
        Assert.False(o.WebRtcTcpEnabled);
    }

    [Fact]
    public void Parse_WebRtcTcpServer_DefaultsToWebRtcPort_CanMoveOrBeOff()
    {
        var o = Parse(("PROXY_WEBRTC_SERVER", "8000"));
        Assert.True(o.WebRtcTcpEnabled);
        Assert.Null(o.WebRtcTcpServer);
        Assert.Equal((true, 8443), (Parse(("PROXY_WEBRTC_TCP_SERVER", "8443")).WebRtcTcpEnabled, Parse(("PROXY_WEBRTC_TCP_SERVER", "8443")).WebRtcTcpServer!.Value.Port));
        Assert.False(Parse(("PROXY_WEBRTC_TCP_SERVER", "OFF")).WebRtcTcpEnabled);
        var e = Assert.Throws<ConfigurationException>(() => Parse(("PROXY_WEBRTC_TCP_SERVER", "nope")));
        Assert.Contains("PROXY_WEBRTC_TCP_SERVER=nope", e.Message);
        e = Assert.Throws<ConfigurationException>(() => Parse(("PROXY_HTTP_API", "8443"), ("PROXY_WEBRTC_TCP_SERVER", "8443")));
        Assert.Contains("two listeners on one port", e.Message);
        Assert.Equal(TimeSpan.FromSeconds(2), Parse(("PROXY_RTC_TCP_FIRST_FRAME_TIMEOUT", "2s")).RtcTcpFirstFrameTimeout);
        Assert.Equal(7, Parse(("PROXY_RTC_TCP_MAX_CONNECTIONS", "7")).RtcTcpMaxConnections);
    }

    [Fact]
    public void Parse_NewVariables_AreRead()
    {
        var o = Parse(("PROXY_CANDIDATE", "192.0.2.10"), ("PROXY_ORIGIN_TTL", "1m30s"), ("PROXY_RTC_IDLE_TIMEOUT", "15"),
            ("PROXY_RTC_MAX_SESSIONS", "50"), ("PROXY_SYSTEM_API_TOKEN", "s3cret"));
        Assert.Equal(IPAddress.Parse("192.0.2.10"), o.Candidate);
        Assert.Equal(TimeSpan.FromSeconds(90), o.OriginTtl);
        Assert.Equal(TimeSpan.FromSeconds(15), o.RtcIdleTimeout);
        Assert.Equal(50, o.MaxRtcSessions);
        Assert.Equal("s3cret", o.SystemApiToken);
    }

    [Fact]
    public void Parse_DefaultBackend_UsesReferenceDefaults()
    {
        var o = Parse(("PROXY_DEFAULT_BACKEND_ENABLED", "on"));
        Assert.Equal(new DefaultBackendOptions("127.0.0.1", 1935, null, 1985, 8000, 10080), o.DefaultBackend);
        var custom = Parse(("PROXY_DEFAULT_BACKEND_ENABLED", "on"), ("PROXY_DEFAULT_BACKEND_IP", "127.0.0.2"), ("PROXY_DEFAULT_BACKEND_RTC", "8001"), ("PROXY_DEFAULT_BACKEND_HTTP", "8081"));
        Assert.Equal(new DefaultBackendOptions("127.0.0.2", 1935, 8081, 1985, 8001, 10080), custom.DefaultBackend);
    }

    [Fact]
    public void Describe_MasksSecrets()
    {
        var o = Parse(("PROXY_REDIS_PASSWORD", "hunter2"), ("PROXY_SYSTEM_API_TOKEN", "tok"));
        var text = string.Join(" ", ProxyOptionsParser.Describe(o).Select(p => $"{p.Name}={p.Value}"));
        Assert.DoesNotContain("hunter2", text);
        Assert.DoesNotContain("=tok", text);
        Assert.Contains("PROXY_REDIS_PASSWORD=******", text);
        Assert.Contains("PROXY_HTTP_API=:11985", text);
    }

    [Theory]
    [InlineData("PROXY_ORIGIN_SERVER_TTL", "1m")]
    [InlineData("PROXY_ORIGIN_TTL", "1m")]
    public void Parse_OriginTtl_EitherName(string name, string value)
    {
        Assert.Equal(TimeSpan.FromMinutes(1), Parse((name, value)).OriginTtl);
    }

    [Theory]
    [InlineData("PROXY_REDIS_KEY_PREFIX")]
    [InlineData("PROXY_REDIS_PREFIX")]
    public void Parse_RedisPrefix_EitherName(string name)
    {
        Assert.Equal("site-a:", Parse((name, "site-a:")).RedisPrefix);
    }

    /// <summary>
    /// srs-proxy 8.x defaults to no prefix, and its environment files list the name empty. An empty value here
    /// means unset, like every other setting: our keys are laid out differently from 8.x's and cannot be
    /// shared with it, so an empty prefix would only put ours at the root of the database beside its keys.
    /// </summary>
    [Fact]
    public void Parse_RedisKeyPrefixEmpty_KeepsOurDefault()
    {
        Assert.Equal("srs-proxy:", Parse(("PROXY_REDIS_KEY_PREFIX", "")).RedisPrefix);
        Assert.Equal("srs-proxy:", Parse(("PROXY_REDIS_KEY_PREFIX", " "), ("PROXY_REDIS_PREFIX", "")).RedisPrefix);
    }

    [Theory]
    [InlineData("PROXY_ORIGIN_TTL", "60s", "PROXY_ORIGIN_SERVER_TTL", "1m")]
    [InlineData("PROXY_REDIS_PREFIX", "a:", "PROXY_REDIS_KEY_PREFIX", "a:")]
    [InlineData("GO_PPROF", ":6060", "PROXY_PPROF", "6060")]
    [InlineData("PROXY_SYSTEM_API_TOKEN", "tok", "PROXY_HTTP_API_AUTH_TOKEN", "tok")]
    public void Parse_BothNamesEqual_IsAccepted(string ours, string ourValue, string theirs, string theirValue)
    {
        var o = Parse((ours, ourValue), (theirs, theirValue));
        Assert.Equal(o, Parse((ours, ourValue)));
    }

    [Theory]
    [InlineData("PROXY_ORIGIN_TTL", "30s", "PROXY_ORIGIN_SERVER_TTL", "60s")]
    [InlineData("PROXY_REDIS_PREFIX", "a:", "PROXY_REDIS_KEY_PREFIX", "b:")]
    [InlineData("GO_PPROF", ":6060", "PROXY_PPROF", ":6061")]
    public void Parse_BothNamesDisagree_OneLineNamesBoth(string ours, string ourValue, string theirs, string theirValue)
    {
        var e = Assert.Throws<ConfigurationException>(() => Parse((ours, ourValue), (theirs, theirValue)));
        Assert.Contains($"{ours}={ourValue} and {theirs}={theirValue} disagree: set one", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Parse_TokenNamesDisagree_NamesBothWithoutTheTokens()
    {
        var e = Assert.Throws<ConfigurationException>(() => Parse(("PROXY_SYSTEM_API_TOKEN", "ours-secret"),
            ("PROXY_HTTP_API_AUTH_ENABLED", "on"), ("PROXY_HTTP_API_AUTH_TYPE", "bearer"), ("PROXY_HTTP_API_AUTH_TOKEN", "their-secret")));
        Assert.Contains("PROXY_SYSTEM_API_TOKEN=****** and PROXY_HTTP_API_AUTH_TOKEN=****** disagree: set one", e.Message);
        Assert.DoesNotContain("secret", e.Message);
    }

    [Theory]
    [InlineData("0s")]
    [InlineData("0")]
    [InlineData("-30s")]
    [InlineData("5 minutes")]
    public void Parse_OriginServerTtlNotPositive_NamesIt(string value)
    {
        var e = Assert.Throws<ConfigurationException>(() => Parse(("PROXY_ORIGIN_SERVER_TTL", value)));
        Assert.Contains($"PROXY_ORIGIN_SERVER_TTL={value}: expected a positive duration", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Parse_ReferenceAuth_SetsTheToken()
    {
        var o = Parse(("PROXY_HTTP_API_AUTH_ENABLED", "on"), ("PROXY_HTTP_API_AUTH_TYPE", "Bearer"), ("PROXY_HTTP_API_AUTH_TOKEN", "t0k"));
        Assert.Equal("t0k", o.SystemApiToken);
    }

    /// <summary>As in 8.x, its token does nothing while its switch is off: such a deployment stays open.</summary>
    [Theory]
    [InlineData("off")]
    [InlineData("")]
    public void Parse_ReferenceAuthOff_TokenIgnored(string enabled)
    {
        var o = Parse(("PROXY_HTTP_API_AUTH_ENABLED", enabled), ("PROXY_HTTP_API_AUTH_TYPE", "basic"), ("PROXY_HTTP_API_AUTH_TOKEN", "t0k"));
        Assert.Equal("", o.SystemApiToken);
    }

    [Fact]
    public void Parse_ReferenceAuthOn_OurTokenName_IsAccepted()
    {
        var o = Parse(("PROXY_HTTP_API_AUTH_ENABLED", "on"), ("PROXY_HTTP_API_AUTH_TYPE", "bearer"), ("PROXY_SYSTEM_API_TOKEN", "t0k"));
        Assert.Equal("t0k", o.SystemApiToken);
    }

    [Theory]
    [InlineData("PROXY_HTTP_API_AUTH_TYPE is unset", "PROXY_HTTP_API_AUTH_TOKEN", "t0k")]
    [InlineData("PROXY_HTTP_API_AUTH_TOKEN is unset", "PROXY_HTTP_API_AUTH_TYPE", "bearer")]
    [InlineData("PROXY_HTTP_API_AUTH_TYPE=basic: only supports bearer", "PROXY_HTTP_API_AUTH_TYPE", "basic", "PROXY_HTTP_API_AUTH_TOKEN", "t0k")]
    [InlineData("PROXY_HTTP_API_AUTH_TYPE=jwt: only supports bearer", "PROXY_HTTP_API_AUTH_TYPE", "jwt", "PROXY_HTTP_API_AUTH_TOKEN", "t0k")]
    [InlineData("PROXY_HTTP_API_AUTH_TYPE=basic: only supports bearer", "PROXY_HTTP_API_AUTH_TYPE", "basic", "PROXY_SYSTEM_API_TOKEN", "t0k")]
    public void Parse_ReferenceAuthEnabledIncomplete_NamesTheVariable(string expected, params string[] pairs)
    {
        var env = new List<(string, string)> { ("PROXY_HTTP_API_AUTH_ENABLED", "on") };
        for (var i = 0; i < pairs.Length; i += 2)
        {
            env.Add((pairs[i], pairs[i + 1]));
        }

        var e = Assert.Throws<ConfigurationException>(() => Parse([.. env]));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain("t0k", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Parse_OurTokenWithAuthTypeBasic_IsRejected()
    {
        var e = Assert.Throws<ConfigurationException>(() => Parse(("PROXY_SYSTEM_API_TOKEN", "t0k"), ("PROXY_HTTP_API_AUTH_TYPE", "basic")));
        Assert.Contains("PROXY_HTTP_API_AUTH_TYPE=basic: only supports bearer", e.Message);
    }

    [Fact]
    public void Parse_ReferenceAuthOff_OurTokenSet_Disagree()
    {
        var e = Assert.Throws<ConfigurationException>(() => Parse(("PROXY_HTTP_API_AUTH_ENABLED", "off"), ("PROXY_SYSTEM_API_TOKEN", "t0k")));
        Assert.Contains("PROXY_HTTP_API_AUTH_ENABLED=off and PROXY_SYSTEM_API_TOKEN=****** disagree: set one", e.Message);
        Assert.DoesNotContain("t0k", e.Message);
    }

    [Fact]
    public void Describe_ReferenceAuthToken_IsMasked()
    {
        var o = Parse(("PROXY_HTTP_API_AUTH_ENABLED", "on"), ("PROXY_HTTP_API_AUTH_TYPE", "bearer"), ("PROXY_HTTP_API_AUTH_TOKEN", "t0k-value"));
        var text = string.Join(" ", ProxyOptionsParser.Describe(o).Select(p => $"{p.Name}={p.Value}"));
        Assert.DoesNotContain("t0k-value", text);
        Assert.Contains("PROXY_SYSTEM_API_TOKEN=******", text);
    }

    /// <summary>
    /// Regression: SRT borrowed the WebRTC idle timeout and socket buffer settings, so tuning one protocol
    /// changed the other. SRT has its own now.
    /// </summary>
    [Fact]
    public void Parse_SrtSettings_AreItsOwn_NotWebRtcs()
    {
        var o = Parse(("PROXY_RTC_IDLE_TIMEOUT", "2m"), ("PROXY_RTC_SOCKET_BUFFER", "65536"), ("PROXY_RTC_SESSION_SOCKET_BUFFER", "65536"));
        Assert.Equal(TimeSpan.FromSeconds(10), o.SrtIdleTimeout);
        Assert.Equal(8 * 1024 * 1024, o.SrtSocketBufferBytes);
        Assert.Equal(1024 * 1024, o.SrtSessionSocketBufferBytes);
        var srt = Parse(("PROXY_SRT_IDLE_TIMEOUT", "3s"), ("PROXY_SRT_SOCKET_BUFFER", "131072"), ("PROXY_SRT_SESSION_SOCKET_BUFFER", "262144"));
        Assert.Equal((TimeSpan.FromSeconds(3), 131072, 262144), (srt.SrtIdleTimeout, srt.SrtSocketBufferBytes, srt.SrtSessionSocketBufferBytes));
        Assert.Equal(TimeSpan.FromSeconds(30), srt.RtcIdleTimeout);
    }

    [Fact]
    public void Parse_Sentinels_ListWithDefaultPortAndNames()
    {
        var none = Parse();
        Assert.Empty(none.RedisSentinels);
        Assert.Equal(("mymaster", ""), (none.RedisSentinelMaster, none.RedisSentinelPassword));

        var o = Parse(("PROXY_REDIS_SENTINELS", " 10.0.0.1:26380, sentinel-1.redis ,[::1]:26381,10.0.0.1:26380"),
            ("PROXY_REDIS_SENTINEL_MASTER", "media"), ("PROXY_REDIS_SENTINEL_PASSWORD", "s3cret"));
        Assert.Equal([new HostPort("10.0.0.1", 26380), new HostPort("sentinel-1.redis", 26379), new HostPort("::1", 26381)], o.RedisSentinels);
        Assert.Equal(("media", "s3cret"), (o.RedisSentinelMaster, o.RedisSentinelPassword));
        Assert.Equal("mymaster", Parse(("PROXY_REDIS_SENTINELS", "10.0.0.1")).RedisSentinelMaster);

        var text = string.Join(" ", ProxyOptionsParser.Describe(o).Select(p => $"{p.Name}={p.Value}"));
        Assert.Contains("PROXY_REDIS_SENTINELS=10.0.0.1:26380,sentinel-1.redis:26379,[::1]:26381", text);
        Assert.Contains("PROXY_REDIS_SENTINEL_MASTER=media", text);
        Assert.DoesNotContain("s3cret", text);
    }

    [Theory]
    [InlineData("PROXY_REDIS_SENTINELS", "10.0.0.1:0", "10.0.0.1:0")]
    [InlineData("PROXY_REDIS_SENTINELS", "10.0.0.1:26379,,10.0.0.2", "(empty)")]
    [InlineData("PROXY_REDIS_SENTINELS", "10.0.0.1:26379,host:port", "host:port")]
    [InlineData("PROXY_REDIS_SENTINELS", "::1:26379", "::1:26379")]
    [InlineData("PROXY_REDIS_SENTINELS", "bad_host!:26379", "bad_host!:26379")]
    public void Parse_BadSentinelList_OneLineNamingVariableAndEntry(string name, string value, string entry)
    {
        var e = Assert.Throws<ConfigurationException>(() => Parse((name, value)));
        Assert.Contains($"{name}={value}: expected host:port", e.Message);
        Assert.EndsWith($"not a host:port: {entry}", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Theory]
    [InlineData("PROXY_REDIS_SENTINEL_MASTER", "media")]
    [InlineData("PROXY_REDIS_SENTINEL_PASSWORD", "pw")]
    public void Parse_SentinelSettingWithoutSentinels_IsRejected(string name, string value)
    {
        var e = Assert.Throws<ConfigurationException>(() => Parse((name, value)));
        Assert.Contains($"{name}", e.Message);
        Assert.Contains("needs PROXY_REDIS_SENTINELS", e.Message);
        Assert.DoesNotContain("=pw", e.Message);
    }

    [Fact]
    public void Parse_SentinelMasterWithSpace_IsRejected()
    {
        var e = Assert.Throws<ConfigurationException>(() => Parse(("PROXY_REDIS_SENTINELS", "10.0.0.1"), ("PROXY_REDIS_SENTINEL_MASTER", "my master")));
        Assert.Contains("PROXY_REDIS_SENTINEL_MASTER=my master: expected the name of the sentinels' monitor line, without spaces", e.Message);
    }

    /// <summary>
    /// The deploy kit's tests accept exactly the names in <see cref="ProxyOptionsParser.VariableNames"/>, so the list
    /// must be what the parser reads: a name read but unlisted throws at parse, a name listed but never read
    /// would let a manifest set a variable that does nothing.
    /// </summary>
    [Fact]
    public void VariableNames_AreExactlyTheNamesParseReads()
    {
        // Every optional branch taken: the default backend and both spellings of the token.
        var env = new RecordingEnvironment(new Dictionary<string, string>
        {
            ["PROXY_DEFAULT_BACKEND_ENABLED"] = "on",
            ["PROXY_DEFAULT_BACKEND_HTTP"] = "8080",
            ["PROXY_HTTP_API_AUTH_ENABLED"] = "on",
            ["PROXY_HTTP_API_AUTH_TYPE"] = "bearer",
            ["PROXY_HTTP_API_AUTH_TOKEN"] = "t",
            ["PROXY_SYSTEM_API_TOKEN"] = "t",
        });
        ProxyOptionsParser.Parse(env);
        Assert.Equal(ProxyOptionsParser.VariableNames.Order(StringComparer.Ordinal), env.Asked.Order(StringComparer.Ordinal));
    }
}
