using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace SrsProxy.Configuration;

/// <summary>
/// Turns the environment into <see cref="ProxyOptions"/>. Every bad value is collected, and all of them are
/// reported in one <see cref="ConfigurationException"/> line naming each variable and its value.
/// </summary>
internal static class ProxyOptionsParser
{
    /// <summary>
    /// Settings with two names: the name the parser reads, and the other name operators may bring. The
    /// reference's own names are accepted so that an existing deployment's environment works unchanged
    /// (srs-proxy 8.x: issue 13); ours stay for existing deployments of this proxy. Either name alone works;
    /// both set to equal values is fine; both set to different values stops the start naming both, because
    /// guessing which one the operator meant would run the proxy with a setting nobody chose.
    /// </summary>
    private static readonly Dictionary<string, string> Aliases = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["GO_PPROF"] = "PROXY_PPROF",
        ["PROXY_ORIGIN_TTL"] = "PROXY_ORIGIN_SERVER_TTL",
        ["PROXY_REDIS_PREFIX"] = "PROXY_REDIS_KEY_PREFIX",
        ["PROXY_SYSTEM_API_TOKEN"] = "PROXY_HTTP_API_AUTH_TOKEN",
    };

    /// <summary>
    /// Every variable the parser reads, under each of its names (<see cref="Aliases"/> included). The deploy kit's
    /// tests check each name a manifest or compose file sets against it, so a misspelt variable, which the proxy
    /// would silently ignore, fails a test instead. <see cref="Parse"/> refuses to read a name missing here,
    /// so the list cannot fall behind the parser. A plain set: a FrozenSet would load System.Collections.Immutable
    /// (about 0.9 MB of resident memory) for some fifty names read once at start.
    /// </summary>
    public static readonly IReadOnlySet<string> VariableNames = new HashSet<string>(StringComparer.Ordinal)
    {
        "GO_PPROF", "PROXY_PPROF", "PROXY_PPROF_CPU_SAMPLER",
        "PROXY_HTTP_API", "PROXY_HTTP_SERVER", "PROXY_RTMP_SERVER", "PROXY_WEBRTC_SERVER", "PROXY_SRT_SERVER", "PROXY_SYSTEM_API",
        "PROXY_FORCE_QUIT_TIMEOUT", "PROXY_GRACE_QUIT_TIMEOUT", "PROXY_STATIC_FILES", "PROXY_LOAD_BALANCER_TYPE",
        "PROXY_REDIS_HOST", "PROXY_REDIS_PORT", "PROXY_REDIS_PASSWORD", "PROXY_REDIS_DB", "PROXY_REDIS_PREFIX", "PROXY_REDIS_KEY_PREFIX",
        "PROXY_ORIGIN_TTL", "PROXY_ORIGIN_SERVER_TTL", "PROXY_RTC_IDLE_TIMEOUT", "PROXY_ORIGIN_TIMEOUT", "PROXY_ORIGIN_QUARANTINE",
        "PROXY_RTC_MAX_SESSIONS", "PROXY_MAX_ORIGINS", "PROXY_RTC_SOCKET_BUFFER", "PROXY_RTC_SESSION_SOCKET_BUFFER",
        "PROXY_RTC_PUMPS", "PROXY_RTC_COALESCE", "PROXY_RTC_PUMP_PRIORITY", "PROXY_SRT_IDLE_TIMEOUT", "PROXY_SRT_SOCKET_BUFFER", "PROXY_SRT_SESSION_SOCKET_BUFFER",
        "PROXY_CANDIDATE", "PROXY_DEFAULT_BACKEND_ENABLED", "PROXY_DEFAULT_BACKEND_IP", "PROXY_DEFAULT_BACKEND_RTMP",
        "PROXY_DEFAULT_BACKEND_HTTP", "PROXY_DEFAULT_BACKEND_API", "PROXY_DEFAULT_BACKEND_RTC", "PROXY_DEFAULT_BACKEND_SRT",
        "PROXY_SYSTEM_API_TOKEN", "PROXY_HTTP_API_AUTH_ENABLED", "PROXY_HTTP_API_AUTH_TYPE", "PROXY_HTTP_API_AUTH_TOKEN",
        "PROXY_REDIS_SENTINELS", "PROXY_REDIS_SENTINEL_MASTER", "PROXY_REDIS_SENTINEL_PASSWORD", "PROXY_GRPC",
        "PROXY_WEBRTC_TCP_SERVER", "PROXY_RTC_TCP_MAX_CONNECTIONS", "PROXY_RTC_TCP_FIRST_FRAME_TIMEOUT",
    };

    /// <summary>Values never written into an error message or the start-up line.</summary>
    private static readonly HashSet<string> Secrets = new(StringComparer.Ordinal)
    {
        "PROXY_REDIS_PASSWORD", "PROXY_REDIS_SENTINEL_PASSWORD", "PROXY_SYSTEM_API_TOKEN", "PROXY_HTTP_API_AUTH_TOKEN",
    };

    private const string Masked = "******";

    public static ProxyOptions Parse(IReadOnlyDictionary<string, string> env)
    {
        var errors = new List<string>();
        var defaults = new ProxyOptions();

        // A blank value counts as unset, as in the reference: a .env file often lists every name, empty.
        string? Raw(string name) => !VariableNames.Contains(name)
            ? throw new InvalidOperationException($"{name} is read but missing from ProxyOptionsParser.VariableNames")
            : env.TryGetValue(name, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : null;

        static string Shown(string name, string text) => $"{name}={(Secrets.Contains(name) ? Masked : text)}";

        // Reads one setting under each of its names. Values are compared once parsed, so 60s and 1m agree.
        // Returns the fallback when neither name is set or a value is bad (the error is recorded).
        T Read<T>(string name, T fallback, Func<string, (bool Ok, T Value)> parse, string expected)
        {
            (string Name, string Text, T Value)? first = null;
            var bad = false;
            foreach (var given in Aliases.TryGetValue(name, out var alias) ? [name, alias] : new[] { name })
            {
                if (Raw(given) is not { } text)
                {
                    continue;
                }

                var (ok, value) = parse(text);
                if (!ok)
                {
                    errors.Add($"{Shown(given, text)}: {expected}");
                    bad = true;
                }
                else if (first is not { } chosen)
                {
                    first = (given, text, value);
                }
                else if (!EqualityComparer<T>.Default.Equals(chosen.Value, value))
                {
                    errors.Add($"{Shown(chosen.Name, chosen.Text)} and {Shown(given, text)} disagree: set one");
                    bad = true;
                }
            }

            return bad || first is not { } result ? fallback : result.Value;
        }

        string? Get(string name) => Read<string?>(name, null, text => (true, text), "");

        ListenAddress Listen(string name, ListenAddress fallback) => Read(
            name,
            fallback,
            text => (ListenAddress.TryParse(text, out var address), address),
            "expected a port (1985) or host:port (127.0.0.1:1985)");

        TimeSpan Duration(string name, TimeSpan fallback, bool allowZero = false) => Read(
            name,
            fallback,
            text => GoDuration.TryParse(text, out var value) && (value > TimeSpan.Zero || (allowZero && value == TimeSpan.Zero)) ? (true, value) : (false, default),
            "expected a positive duration such as 30s, 1m30s or 500ms");

        int Integer(string name, int fallback, int min, int max) => Read(
            name,
            fallback,
            text => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max ? (true, value) : (false, 0),
            $"expected a whole number from {min} to {max}");

        int Port(string name, int fallback) => Integer(name, fallback, 1, 65535);

        // One of an enum's names in any case, never its number: the settings that pick a mode.
        T Choice<T>(string name, T fallback)
            where T : struct, Enum
        {
            var values = Enum.GetValues<T>();
            return Read(
                name,
                fallback,
                text => values.FirstOrDefault(v => string.Equals(v.ToString(), text, StringComparison.OrdinalIgnoreCase)) is var value
                    && string.Equals(value.ToString(), text, StringComparison.OrdinalIgnoreCase) ? (true, value) : (false, fallback),
                "expected " + string.Join(", ", values.Select(v => v.ToString().ToLowerInvariant())));
        }

        bool? OnOff(string name) => Read<bool?>(
            name,
            null,
            text => text.ToLowerInvariant() switch
            {
                "off" or "false" or "no" or "0" => (true, false),
                "on" or "true" or "yes" or "1" => (true, true),
                _ => (false, null),
            },
            "expected on or off");

        bool Switch(string name) => OnOff(name) ?? false;

        var options = defaults with
        {
            HttpApi = Listen("PROXY_HTTP_API", defaults.HttpApi),
            HttpServer = Listen("PROXY_HTTP_SERVER", defaults.HttpServer),
            RtmpServer = Listen("PROXY_RTMP_SERVER", defaults.RtmpServer),
            WebRtcServer = Listen("PROXY_WEBRTC_SERVER", defaults.WebRtcServer),
            SrtServer = Listen("PROXY_SRT_SERVER", defaults.SrtServer),
            SystemApi = Listen("PROXY_SYSTEM_API", defaults.SystemApi),
            ForceQuitTimeout = Duration("PROXY_FORCE_QUIT_TIMEOUT", defaults.ForceQuitTimeout),
            GraceQuitTimeout = Duration("PROXY_GRACE_QUIT_TIMEOUT", defaults.GraceQuitTimeout),
            StaticFiles = Get("PROXY_STATIC_FILES") ?? defaults.StaticFiles,
            RedisHost = Get("PROXY_REDIS_HOST") ?? defaults.RedisHost,
            RedisPort = Port("PROXY_REDIS_PORT", defaults.RedisPort),
            RedisPassword = Get("PROXY_REDIS_PASSWORD") ?? defaults.RedisPassword,
            RedisDb = Integer("PROXY_REDIS_DB", defaults.RedisDb, 0, 15),
            RedisPrefix = Get("PROXY_REDIS_PREFIX") ?? defaults.RedisPrefix,
            OriginTtl = Duration("PROXY_ORIGIN_TTL", defaults.OriginTtl),
            RtcIdleTimeout = Duration("PROXY_RTC_IDLE_TIMEOUT", defaults.RtcIdleTimeout),
            OriginTimeout = Duration("PROXY_ORIGIN_TIMEOUT", defaults.OriginTimeout),
            OriginQuarantine = Duration("PROXY_ORIGIN_QUARANTINE", defaults.OriginQuarantine),
            MaxRtcSessions = Integer("PROXY_RTC_MAX_SESSIONS", defaults.MaxRtcSessions, 1, 1_000_000),
            MaxOrigins = Integer("PROXY_MAX_ORIGINS", defaults.MaxOrigins, 1, 100_000),
            RtcSocketBufferBytes = Integer("PROXY_RTC_SOCKET_BUFFER", defaults.RtcSocketBufferBytes, 4096, 1 << 30),
            RtcSessionSocketBufferBytes = Integer("PROXY_RTC_SESSION_SOCKET_BUFFER", defaults.RtcSessionSocketBufferBytes, 4096, 1 << 30),
            RtcPumps = Integer("PROXY_RTC_PUMPS", defaults.RtcPumps, 1, 64),
            RtcCoalesce = Duration("PROXY_RTC_COALESCE", defaults.RtcCoalesce, allowZero: true),
            RtcPumpPriority = Choice("PROXY_RTC_PUMP_PRIORITY", defaults.RtcPumpPriority),
            SrtIdleTimeout = Duration("PROXY_SRT_IDLE_TIMEOUT", defaults.SrtIdleTimeout),
            SrtSocketBufferBytes = Integer("PROXY_SRT_SOCKET_BUFFER", defaults.SrtSocketBufferBytes, 4096, 1 << 30),
            SrtSessionSocketBufferBytes = Integer("PROXY_SRT_SESSION_SOCKET_BUFFER", defaults.SrtSessionSocketBufferBytes, 4096, 1 << 30),
            RtcTcpMaxConnections = Integer("PROXY_RTC_TCP_MAX_CONNECTIONS", defaults.RtcTcpMaxConnections, 1, 1_000_000),
            RtcTcpFirstFrameTimeout = Duration("PROXY_RTC_TCP_FIRST_FRAME_TIMEOUT", defaults.RtcTcpFirstFrameTimeout),
        };

        if (options.RtcPumpPriority == PumpPriority.Realtime && options.RtcCoalesce == TimeSpan.Zero)
        {
            // A real-time pump that never sleeps holds a core under a flood, and normal threads (the API, the
            // registry's heartbeats) get only what the kernel's real-time throttling leaves.
            errors.Add("PROXY_RTC_PUMP_PRIORITY=realtime needs PROXY_RTC_COALESCE above 0: the pump's sleep after each wake-up is what lets other threads run");
        }

        // ICE-TCP: off, or where to listen (unset: the UDP relay's own host and port).
        var tcp = Read<(bool Enabled, ListenAddress? Address)>(
            "PROXY_WEBRTC_TCP_SERVER",
            (true, null),
            text => text.Equals("off", StringComparison.OrdinalIgnoreCase)
                ? (true, (false, null))
                : ListenAddress.TryParse(text, out var address) ? (true, (true, address)) : (false, default),
            "expected off, a port (18000) or host:port (127.0.0.1:18000)");
        options = options with { WebRtcTcpEnabled = tcp.Enabled, WebRtcTcpServer = tcp.Address };
        if (tcp is (true, null) && options.WebRtcServer.Port != 0 &&
            new[] { options.HttpApi, options.HttpServer, options.RtmpServer, options.SystemApi }.Any(l => l.Port == options.WebRtcServer.Port))
        {
            // A drop-in must start with the reference's settings: one that put a TCP listener on the WebRTC port's
            // number (legal when WebRTC was UDP only) gets no ICE-TCP by default rather than a refusal to start.
            options = options with { WebRtcTcpEnabled = false };
        }

        // GO_PPROF is the reference's name (PROXY_PPROF its alias). Empty = off.
        var pprof = Read<ListenAddress?>("GO_PPROF", null, text => ListenAddress.TryParse(text, out var a) ? (true, a) : (false, null), "expected :6060 or host:port");
        if (pprof is not null)
        {
            options = options with { Pprof = pprof };
        }

        options = options with
        {
            PprofCpuSampler = Choice("PROXY_PPROF_CPU_SAMPLER", CpuSampler.Auto),
        };

        options = ParseSentinels(Get, options, errors);
        // Empty = off, as GO_PPROF: an operator's port is opened on purpose.
        if (Read<ListenAddress?>("PROXY_GRPC", null, text => ListenAddress.TryParse(text, out var a) ? (true, a) : (false, null), "expected a port (9090) or host:port (127.0.0.1:9090)") is { } grpc)
        {
            options = options with { Grpc = grpc };
        }

        var balancer = Get("PROXY_LOAD_BALANCER_TYPE");
        switch (balancer?.ToLowerInvariant())
        {
            case null or "memory":
                break;
            case "redis":
                options = options with { LoadBalancer = LoadBalancerType.Redis };
                break;
            default:
                errors.Add($"PROXY_LOAD_BALANCER_TYPE={balancer}: expected memory or redis");
                break;
        }

        if (Get("PROXY_CANDIDATE") is { } candidate)
        {
            if (IPAddress.TryParse(candidate, out var candidateIp) && !candidateIp.Equals(IPAddress.Any) && !candidateIp.Equals(IPAddress.IPv6Any))
            {
                options = options with { Candidate = candidateIp };
            }
            else
            {
                errors.Add($"PROXY_CANDIDATE={candidate}: expected the IP address players reach the proxy at");
            }
        }

        if (Switch("PROXY_DEFAULT_BACKEND_ENABLED"))
        {
            var ip = Get("PROXY_DEFAULT_BACKEND_IP") ?? "127.0.0.1";
            if (!IPAddress.TryParse(ip, out _) && Uri.CheckHostName(ip) != UriHostNameType.Dns)
            {
                errors.Add($"PROXY_DEFAULT_BACKEND_IP={ip}: expected an IP address or host name");
            }

            int? http = Get("PROXY_DEFAULT_BACKEND_HTTP") is null ? null : Port("PROXY_DEFAULT_BACKEND_HTTP", 0);
            options = options with
            {
                DefaultBackend = new DefaultBackendOptions(
                    ip,
                    Port("PROXY_DEFAULT_BACKEND_RTMP", 1935),
                    http,
                    Port("PROXY_DEFAULT_BACKEND_API", 1985),
                    Port("PROXY_DEFAULT_BACKEND_RTC", 8000),
                    Port("PROXY_DEFAULT_BACKEND_SRT", 10080)),
            };
        }

        options = options with { SystemApiToken = ReadAuthentication(Raw, OnOff, Get, errors) };
        CheckDistinctPorts(options, errors);
        if (errors.Count > 0)
        {
            throw new ConfigurationException("invalid configuration: " + string.Join("; ", errors));
        }

        return options;
    }

    /// <summary>
    /// The token origins and operators must present on the system API; empty = open. Two spellings turn it on:
    /// ours, <c>PROXY_SYSTEM_API_TOKEN</c> alone, and srs-proxy 8.x's <c>PROXY_HTTP_API_AUTH_ENABLED=on</c>
    /// with <c>_TYPE=bearer</c> and <c>_TOKEN</c>. As in 8.x, its token counts only when its switch is on, so an
    /// 8.x environment with authentication off stays open here too; and an incomplete 8.x set-up stops the
    /// start rather than run open while the operator believes it is protected.
    /// </summary>
    private static string ReadAuthentication(Func<string, string?> raw, Func<string, bool?> onOff, Func<string, string?> get, List<string> errors)
    {
        const string Enabled = "PROXY_HTTP_API_AUTH_ENABLED";
        const string Type = "PROXY_HTTP_API_AUTH_TYPE";
        const string Token = "PROXY_HTTP_API_AUTH_TOKEN";
        var enabled = onOff(Enabled);
        var ours = raw("PROXY_SYSTEM_API_TOKEN");
        if (enabled == false && ours is not null)
        {
            errors.Add($"{Enabled}={raw(Enabled)} and PROXY_SYSTEM_API_TOKEN={Masked} disagree: set one");
            return "";
        }

        if (enabled != true && ours is null)
        {
            return "";
        }

        var type = raw(Type);
        if (type is null && enabled == true)
        {
            errors.Add($"{Type} is unset: {Enabled}=on needs {Type}=bearer");
        }
        else if (type is not null && !type.Equals("bearer", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{Type}={type}: only supports bearer");
        }

        // Either name of the token; when both are set they must agree (Aliases).
        var token = get("PROXY_SYSTEM_API_TOKEN");
        if (ours is null && raw(Token) is null)
        {
            errors.Add($"{Token} is unset: {Enabled}=on needs the token origins send");
        }

        return token ?? "";
    }

    /// <summary>
    /// <c>PROXY_REDIS_SENTINELS</c>, <c>PROXY_REDIS_SENTINEL_MASTER</c> and <c>PROXY_REDIS_SENTINEL_PASSWORD</c>.
    /// The last two without the first are an error: a forgotten sentinel list would otherwise silently send the
    /// proxy to <c>PROXY_REDIS_HOST</c>, most likely a replica or nothing.
    /// </summary>
    private static ProxyOptions ParseSentinels(Func<string, string?> get, ProxyOptions options, List<string> errors)
    {
        const int SentinelPort = 26379;
        var master = get("PROXY_REDIS_SENTINEL_MASTER");
        var password = get("PROXY_REDIS_SENTINEL_PASSWORD");
        if (get("PROXY_REDIS_SENTINELS") is not { } list)
        {
            if (master is not null)
            {
                errors.Add($"PROXY_REDIS_SENTINEL_MASTER={master}: needs PROXY_REDIS_SENTINELS, the sentinels to ask for that master");
            }

            if (password is not null)
            {
                errors.Add("PROXY_REDIS_SENTINEL_PASSWORD: needs PROXY_REDIS_SENTINELS, the sentinels it is for");
            }

            return options;
        }

        var sentinels = new List<HostPort>();
        var bad = new List<string>();
        foreach (var item in list.Split(',', StringSplitOptions.TrimEntries))
        {
            if (HostPort.TryParse(item, SentinelPort, out var sentinel))
            {
                if (!sentinels.Contains(sentinel))
                {
                    sentinels.Add(sentinel);
                }
            }
            else
            {
                bad.Add(item.Length == 0 ? "(empty)" : item);
            }
        }

        if (bad.Count > 0)
        {
            errors.Add($"PROXY_REDIS_SENTINELS={list}: expected host:port,host:port (a host alone means port {SentinelPort}); not a host:port: {string.Join(", ", bad)}");
        }

        if (master is not null && master.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            // Sentinel's +switch-master messages separate fields with spaces: such a name could never be followed.
            errors.Add($"PROXY_REDIS_SENTINEL_MASTER={master}: expected the name of the sentinels' monitor line, without spaces");
            master = null;
        }

        return options with
        {
            RedisSentinels = sentinels,
            RedisSentinelMaster = master ?? options.RedisSentinelMaster,
            RedisSentinelPassword = password ?? options.RedisSentinelPassword,
        };
    }

    /// <summary>Two listeners of one transport on one fixed port would fail to bind later, less clearly.</summary>
    private static void CheckDistinctPorts(ProxyOptions options, List<string> errors)
    {
        var listeners = new List<(string Name, ListenAddress Address, ProtocolType Protocol)>
        {
            ("PROXY_HTTP_API", options.HttpApi, ProtocolType.Tcp),
            ("PROXY_HTTP_SERVER", options.HttpServer, ProtocolType.Tcp),
            ("PROXY_RTMP_SERVER", options.RtmpServer, ProtocolType.Tcp),
            ("PROXY_SYSTEM_API", options.SystemApi, ProtocolType.Tcp),
            ("PROXY_WEBRTC_SERVER", options.WebRtcServer, ProtocolType.Udp),
            ("PROXY_SRT_SERVER", options.SrtServer, ProtocolType.Udp),
        };
        if (options.WebRtcTcpEnabled)
        {
            listeners.Add(("PROXY_WEBRTC_TCP_SERVER", options.WebRtcTcpServer ?? options.WebRtcServer, ProtocolType.Tcp));
        }

        if (options.Pprof is { } pprof)
        {
            listeners.Add(("GO_PPROF", pprof, ProtocolType.Tcp));
        }

        if (options.Grpc is { } grpc)
        {
            listeners.Add(("PROXY_GRPC", grpc, ProtocolType.Tcp));
        }

        foreach (var group in listeners.Where(l => l.Address.Port != 0).GroupBy(l => (l.Address.Port, l.Protocol)))
        {
            if (group.Count() > 1)
            {
                errors.Add($"{string.Join(" and ", group.Select(l => $"{l.Name}={l.Address}"))}: two listeners on one port");
            }
        }
    }

    /// <summary>The effective configuration as name/value pairs for the start-up log, secrets masked.</summary>
    public static IEnumerable<(string Name, string Value)> Describe(ProxyOptions o)
    {
        static string Mask(string secret) => secret.Length == 0 ? "(empty)" : Masked;

        yield return ("GO_PPROF", o.Pprof?.ToString() ?? "(off)");
        yield return ("PROXY_PPROF_CPU_SAMPLER", o.PprofCpuSampler.ToString().ToLowerInvariant());
        yield return ("PROXY_FORCE_QUIT_TIMEOUT", GoDuration.Format(o.ForceQuitTimeout));
        yield return ("PROXY_GRACE_QUIT_TIMEOUT", GoDuration.Format(o.GraceQuitTimeout));
        yield return ("PROXY_GRPC", o.Grpc?.ToString() ?? "(off)");
        yield return ("PROXY_HTTP_API", o.HttpApi.ToString());
        yield return ("PROXY_HTTP_SERVER", o.HttpServer.ToString());
        yield return ("PROXY_RTMP_SERVER", o.RtmpServer.ToString());
        yield return ("PROXY_WEBRTC_SERVER", o.WebRtcServer.ToString());
        yield return ("PROXY_WEBRTC_TCP_SERVER", !o.WebRtcTcpEnabled ? "off" : o.WebRtcTcpServer?.ToString() ?? $"{o.WebRtcServer} (as PROXY_WEBRTC_SERVER)");
        yield return ("PROXY_SRT_SERVER", o.SrtServer.ToString());
        yield return ("PROXY_SYSTEM_API", o.SystemApi.ToString());
        yield return ("PROXY_STATIC_FILES", o.StaticFiles);
        yield return ("PROXY_LOAD_BALANCER_TYPE", o.LoadBalancer.ToString().ToLowerInvariant());
        yield return ("PROXY_REDIS_HOST", o.RedisHost);
        yield return ("PROXY_REDIS_PORT", o.RedisPort.ToString(CultureInfo.InvariantCulture));
        yield return ("PROXY_REDIS_PASSWORD", Mask(o.RedisPassword));
        yield return ("PROXY_REDIS_DB", o.RedisDb.ToString(CultureInfo.InvariantCulture));
        yield return ("PROXY_REDIS_PREFIX", o.RedisPrefix);
        yield return ("PROXY_REDIS_SENTINELS", o.RedisSentinels.Count == 0 ? "(none: PROXY_REDIS_HOST)" : string.Join(",", o.RedisSentinels));
        if (o.RedisSentinels.Count > 0)
        {
            yield return ("PROXY_REDIS_SENTINEL_MASTER", o.RedisSentinelMaster);
            yield return ("PROXY_REDIS_SENTINEL_PASSWORD", Mask(o.RedisSentinelPassword));
        }

        yield return ("PROXY_DEFAULT_BACKEND_ENABLED", o.DefaultBackend is null ? "off" : "on");
        if (o.DefaultBackend is { } b)
        {
            yield return ("PROXY_DEFAULT_BACKEND", $"ip={b.Ip} rtmp={b.Rtmp} http={b.Http?.ToString(CultureInfo.InvariantCulture) ?? "(none)"} api={b.Api} rtc={b.Rtc} srt={b.Srt}");
        }

        yield return ("PROXY_CANDIDATE", o.Candidate?.ToString() ?? "(origin's address)");
        yield return ("PROXY_ORIGIN_TTL", GoDuration.Format(o.OriginTtl));
        yield return ("PROXY_RTC_IDLE_TIMEOUT", GoDuration.Format(o.RtcIdleTimeout));
        yield return ("PROXY_ORIGIN_TIMEOUT", GoDuration.Format(o.OriginTimeout));
        yield return ("PROXY_ORIGIN_QUARANTINE", GoDuration.Format(o.OriginQuarantine));
        yield return ("PROXY_RTC_MAX_SESSIONS", o.MaxRtcSessions.ToString(CultureInfo.InvariantCulture));
        yield return ("PROXY_MAX_ORIGINS", o.MaxOrigins.ToString(CultureInfo.InvariantCulture));
        yield return ("PROXY_RTC_SOCKET_BUFFER", o.RtcSocketBufferBytes.ToString(CultureInfo.InvariantCulture));
        yield return ("PROXY_RTC_SESSION_SOCKET_BUFFER", o.RtcSessionSocketBufferBytes.ToString(CultureInfo.InvariantCulture));
        yield return ("PROXY_RTC_PUMPS", o.RtcPumps.ToString(CultureInfo.InvariantCulture));
        yield return ("PROXY_RTC_COALESCE", GoDuration.Format(o.RtcCoalesce));
        yield return ("PROXY_RTC_PUMP_PRIORITY", o.RtcPumpPriority.ToString().ToLowerInvariant());
        yield return ("PROXY_RTC_TCP_MAX_CONNECTIONS", o.RtcTcpMaxConnections.ToString(CultureInfo.InvariantCulture));
        yield return ("PROXY_RTC_TCP_FIRST_FRAME_TIMEOUT", GoDuration.Format(o.RtcTcpFirstFrameTimeout));
        yield return ("PROXY_SRT_IDLE_TIMEOUT", GoDuration.Format(o.SrtIdleTimeout));
        yield return ("PROXY_SRT_SOCKET_BUFFER", o.SrtSocketBufferBytes.ToString(CultureInfo.InvariantCulture));
        yield return ("PROXY_SRT_SESSION_SOCKET_BUFFER", o.SrtSessionSocketBufferBytes.ToString(CultureInfo.InvariantCulture));
        yield return ("PROXY_SYSTEM_API_TOKEN", Mask(o.SystemApiToken));
    }
}
