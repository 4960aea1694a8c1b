using System.Net;

namespace SrsProxy.Configuration;

/// <summary>
/// Everything the proxy reads from its environment, with the reference's defaults. Built once at start by
/// <see cref="ProxyOptionsParser"/>; immutable afterwards.
/// </summary>
internal sealed record ProxyOptions
{
    /// <summary>WHIP/WHEP signalling. Defaults to 11985, the reference's port.</summary>
    public ListenAddress HttpApi { get; init; } = new(null, 11985);

    /// <summary>HTTP-FLV, HLS and static files. Defaults to 18080.</summary>
    public ListenAddress HttpServer { get; init; } = new(null, 18080);

    /// <summary>RTMP. Defaults to 11935.</summary>
    public ListenAddress RtmpServer { get; init; } = new(null, 11935);

    /// <summary>WebRTC media, one UDP port for every session. Defaults to 18000.</summary>
    public ListenAddress WebRtcServer { get; init; } = new(null, 18000);

    /// <summary>
    /// ICE-TCP (RFC 6544) for players whose UDP is blocked (<c>PROXY_WEBRTC_TCP_SERVER</c>): a port or host:port,
    /// or <c>off</c>. Defaults to null, meaning the host and port the UDP relay bound (<see cref="WebRtcServer"/>),
    /// because firewalls that block UDP usually let TCP through to the same number, and one number is simpler to
    /// open and to explain. Answers offer a passive TCP candidate there, below the UDP ones.
    /// </summary>
    public ListenAddress? WebRtcTcpServer { get; init; }

    /// <summary>False with <c>PROXY_WEBRTC_TCP_SERVER=off</c>: no TCP listener, no TCP candidate. Defaults to on.</summary>
    public bool WebRtcTcpEnabled { get; init; } = true;

    /// <summary>
    /// Cap on ICE-TCP connections open at once, authenticated or not (<c>PROXY_RTC_TCP_MAX_CONNECTIONS</c>); more
    /// are closed at accept. Defaults to 1,000, because TCP is the fallback of the few players behind UDP-blocking
    /// firewalls, and each connection may hold up to 128 queued frames (about 256 KiB of pooled buffers) while
    /// its player reads slowly: 1,000 bound that at about 256 MiB.
    /// </summary>
    public int RtcTcpMaxConnections { get; init; } = 1_000;

    /// <summary>
    /// Time from a TCP connection's accept to its first whole frame, the STUN binding request that must
    /// authenticate it (<c>PROXY_RTC_TCP_FIRST_FRAME_TIMEOUT</c>). Defaults to 5 s, because a browser sends that
    /// request as soon as the connection is up (RFC 6544 section 7.1), while a connection that sends nothing, or
    /// a byte at a time, must not hold one of the capped places for long.
    /// </summary>
    public TimeSpan RtcTcpFirstFrameTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>SRT (UDP). Defaults to 20080.</summary>
    public ListenAddress SrtServer { get; init; } = new(null, 20080);

    /// <summary>Origin registration and the operator's API. Defaults to 12025.</summary>
    public ListenAddress SystemApi { get; init; } = new(null, 12025);

    /// <summary>Profiling listener (<c>GO_PPROF</c>); null = off, nothing listens.</summary>
    public ListenAddress? Pprof { get; init; }

    /// <summary>How CPU profiles sample (<c>PROXY_PPROF_CPU_SAMPLER</c>). Defaults to auto: the kernel's CPU-time samples where allowed.</summary>
    public CpuSampler PprofCpuSampler { get; init; } = CpuSampler.Auto;

    /// <summary>
    /// gRPC listener (<c>PROXY_GRPC</c>): the standard health service and the operator's <c>srsproxy.v1.Control</c>,
    /// HTTP/2 without TLS (h2c). Defaults to null = off, nothing listens, because it is an operator's port that a
    /// deployment opens on purpose.
    /// </summary>
    public ListenAddress? Grpc { get; init; }

    /// <summary>Hard exit after a shutdown signal. Defaults to 30 s like the reference.</summary>
    public TimeSpan ForceQuitTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Graceful drain of the HTTP servers. Defaults to 20 s like the reference.</summary>
    public TimeSpan GraceQuitTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Static files for the HTTP server. Defaults to the reference's <c>../trunk/research</c>.</summary>
    public string StaticFiles { get; init; } = "../trunk/research";

    public LoadBalancerType LoadBalancer { get; init; } = LoadBalancerType.Memory;

    public string RedisHost { get; init; } = "127.0.0.1";

    public int RedisPort { get; init; } = 6379;

    public string RedisPassword { get; init; } = "";

    public int RedisDb { get; init; }

    /// <summary>
    /// Redis Sentinels to ask for the current primary (<c>PROXY_REDIS_SENTINELS</c>, <c>host:port,host:port</c>;
    /// a host alone means port 26379, Sentinel's own default). When set, <see cref="RedisHost"/> and
    /// <see cref="RedisPort"/> are not used: the proxy writes wherever the sentinels say the primary is, and
    /// follows a failover. Defaults to none, a single Redis at <c>PROXY_REDIS_HOST</c>, because that is the
    /// reference's setup and needs no other process.
    /// </summary>
    public IReadOnlyList<HostPort> RedisSentinels { get; init; } = [];

    /// <summary>
    /// The service (master) name the sentinels monitor (<c>PROXY_REDIS_SENTINEL_MASTER</c>), the name in their
    /// <c>sentinel monitor NAME host port quorum</c> line. Defaults to <c>mymaster</c>, because that is the name in
    /// the sentinel.conf that Redis ships and most guides copy.
    /// </summary>
    public string RedisSentinelMaster { get; init; } = "mymaster";

    /// <summary>
    /// The sentinels' own password (<c>PROXY_REDIS_SENTINEL_PASSWORD</c>, their <c>requirepass</c>).
    /// <c>PROXY_REDIS_PASSWORD</c> is for the data nodes only. Defaults to empty, because sentinels usually
    /// run without one on a private network while the data nodes have one.
    /// </summary>
    public string RedisSentinelPassword { get; init; } = "";

    /// <summary>
    /// Prefix of every Redis key and channel (<c>PROXY_REDIS_PREFIX</c>), so two deployments can share one
    /// Redis. Defaults to <c>srs-proxy:</c>.
    /// </summary>
    public string RedisPrefix { get; init; } = "srs-proxy:";

    /// <summary>A static origin, for a proxy with no registering origins (<c>PROXY_DEFAULT_BACKEND_*</c>).</summary>
    public DefaultBackendOptions? DefaultBackend { get; init; }

    /// <summary>
    /// The address players reach the proxy at (<c>PROXY_CANDIDATE</c>). When set, it replaces the origin's
    /// address in answer candidates, so origins need no hand-set candidate (SRS issue 4608). Defaults to
    /// unset: the origin's address stays, as in the reference.
    /// </summary>
    public IPAddress? Candidate { get; init; }

    /// <summary>
    /// How long an origin stays alive after its last heartbeat (<c>PROXY_ORIGIN_TTL</c>, or srs-proxy 8.x's
    /// <c>PROXY_ORIGIN_SERVER_TTL</c>). Defaults to 30 s, because origins heartbeat every ~9 s: three missed
    /// beats mark it dead, where the reference waits 300 s and keeps sending players to a dead origin meanwhile.
    /// </summary>
    public TimeSpan OriginTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A WebRTC session with no datagram either way for this long is closed (<c>PROXY_RTC_IDLE_TIMEOUT</c>).
    /// Defaults to 30 s: ICE consent checks (RFC 7675) arrive every few seconds on a live session.
    /// </summary>
    public TimeSpan RtcIdleTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Time allowed for an origin to answer a signalling request (<c>PROXY_ORIGIN_TIMEOUT</c>). Defaults to
    /// 10 s; SRS answers in milliseconds, so a slower origin is treated as broken (504).
    /// </summary>
    public TimeSpan OriginTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long an origin that refused a connection or did not answer in time gets no new streams
    /// (<c>PROXY_ORIGIN_QUARANTINE</c>), however it heartbeats meanwhile. Defaults to 30 s, the origin TTL:
    /// long enough that a dead origin is never tried twice before its heartbeats are missed, short enough
    /// that an origin whose API stalled once gets traffic again soon. Its playing sessions are not touched.
    /// </summary>
    public TimeSpan OriginQuarantine { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Cap on WebRTC sessions (<c>PROXY_RTC_MAX_SESSIONS</c>); new offers past it get 503. Defaults to
    /// 10,000: each session holds one UDP socket and its file descriptor.
    /// </summary>
    public int MaxRtcSessions { get; init; } = 10_000;

    /// <summary>Cap on registered origins (<c>PROXY_MAX_ORIGINS</c>). Defaults to 1,000.</summary>
    public int MaxOrigins { get; init; } = 1_000;

    /// <summary>
    /// Kernel receive and send buffer of the WebRTC UDP socket (<c>PROXY_RTC_SOCKET_BUFFER</c>, bytes).
    /// Defaults to 8 MiB, because the kernel's 212 KB default holds ~90 datagrams and overflows when the
    /// relay is descheduled; the kernel caps it at <c>net.core.rmem_max</c>/<c>wmem_max</c>.
    /// </summary>
    public int RtcSocketBufferBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>
    /// Kernel receive buffer of each session's socket towards its origin (<c>PROXY_RTC_SESSION_SOCKET_BUFFER</c>,
    /// bytes). Defaults to 1 MiB: the kernel's 212 KB default overflowed at 1 Mbit/s per player when the relay
    /// was descheduled (measured with scripts/bench). Memory is used only while datagrams wait; the kernel caps
    /// it at <c>net.core.rmem_max</c>.
    /// </summary>
    public int RtcSessionSocketBufferBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// Threads that move WebRTC datagrams on Linux (<c>PROXY_RTC_PUMPS</c>). Defaults to 1: with coalescing one
    /// thread carries 300 players at about a sixth of a core, and every extra thread adds its own wake-ups;
    /// raise it when one core is not enough (README, Performance).
    /// </summary>
    public int RtcPumps { get; init; } = 1;

    /// <summary>
    /// How long a WebRTC pump lets datagrams accumulate after each wake-up's work (<c>PROXY_RTC_COALESCE</c>,
    /// e.g. <c>250us</c>; <c>0</c> turns it off). A real origin spreads its sends to N players over a
    /// millisecond or more, so without it the relay wakes for almost every datagram. Defaults to 250 us:
    /// under SRS pacing at 300 players (scripts/bench) it cut wake-ups per datagram from 0.28 to 0.06 and CPU
    /// per datagram by about a third, for about 0.4 ms more latency at the median on a 2-core machine shared
    /// with the load generator (README, Performance).
    /// </summary>
    public TimeSpan RtcCoalesce { get; init; } = TimeSpan.FromMicroseconds(250);

    /// <summary>
    /// How the WebRTC pump threads are scheduled (<c>PROXY_RTC_PUMP_PRIORITY</c>: <c>normal</c>, <c>high</c> or
    /// <c>realtime</c>). Defaults to normal. On a machine shared with busy processes (the benchmark's load
    /// generator on the same 2 cores), their wake-ups preempt the pump thousands of times a second in the middle
    /// of a batch, which doubles the median latency; <c>realtime</c> (<c>SCHED_FIFO</c>) removes that at the price
    /// of more wake-ups (README, Performance). Needs CAP_SYS_NICE, or RLIMIT_RTPRIO (realtime) or RLIMIT_NICE
    /// (high); where refused, the pump runs at normal priority and the proxy logs a warning.
    /// </summary>
    public PumpPriority RtcPumpPriority { get; init; } = PumpPriority.Normal;

    /// <summary>
    /// An SRT session with no datagram either way for this long is closed (<c>PROXY_SRT_IDLE_TIMEOUT</c>).
    /// Defaults to 10 s: SRT peers send a keepalive every second and libsrt gives a silent peer up after 5 s
    /// (<c>SRTO_PEERIDLETIMEO</c>), so a session silent for twice that is gone at both ends.
    /// </summary>
    public TimeSpan SrtIdleTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Kernel receive and send buffer of the SRT UDP socket (<c>PROXY_SRT_SOCKET_BUFFER</c>, bytes). Defaults
    /// to 8 MiB for the same reason as the WebRTC socket: ride out a descheduled moment without loss.
    /// </summary>
    public int SrtSocketBufferBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>
    /// Kernel receive buffer of each SRT session's socket towards its origin (<c>PROXY_SRT_SESSION_SOCKET_BUFFER</c>,
    /// bytes). Defaults to 1 MiB: an SRT player carries a whole stream, several Mbit/s, on one socket.
    /// </summary>
    public int SrtSessionSocketBufferBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// Shared secret the system API requires (<c>PROXY_SYSTEM_API_TOKEN</c>, or srs-proxy 8.x's
    /// <c>PROXY_HTTP_API_AUTH_*</c>) as <c>Authorization: Bearer</c> or <c>?token=</c>, on every route but the
    /// probes (<see cref="SystemApi.BearerAuth"/>). Defaults to empty = open, as in the reference (SRS issue 4690).
    /// </summary>
    public string SystemApiToken { get; init; } = "";
}

/// <summary>The static origin of <c>PROXY_DEFAULT_BACKEND_ENABLED=on</c>.</summary>
internal sealed record DefaultBackendOptions(string Ip, int Rtmp, int? Http, int Api, int Rtc, int Srt);
