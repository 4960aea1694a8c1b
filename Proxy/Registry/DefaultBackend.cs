using SrsProxy.Configuration;

namespace SrsProxy.Registry;

/// <summary>The static origin of <c>PROXY_DEFAULT_BACKEND_ENABLED=on</c>, as if it had registered.</summary>
internal static class DefaultBackend
{
    public static OriginServer Create(DefaultBackendOptions b)
    {
        static OriginEndpoint[] Port(int? port, string protocol = "") =>
            port is { } p ? [new OriginEndpoint(protocol, "", p)] : [];

        var pid = "0";
        return new OriginServer
        {
            Id = OriginServer.MakeId("default", "static", pid),
            DeviceId = "default",
            Ip = b.Ip,
            Server = "default",
            Service = "static",
            Pid = pid,
            Rtmp = Port(b.Rtmp),
            Http = Port(b.Http),
            Api = Port(b.Api),
            Rtc = Port(b.Rtc, "udp"),
            Srt = Port(b.Srt, "udp"),
            IsStatic = true,
        };
    }

}
