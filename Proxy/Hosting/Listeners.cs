using System.Net;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace SrsProxy.Hosting;

/// <summary>
/// The proxy's HTTP listeners. Each Kestrel endpoint tags its connections with its role, so one host serves
/// several ports with separate routes.
/// </summary>
internal static class Listeners
{
    private static readonly object RoleKey = new();

    /// <summary>
    /// Listens for one role. <paramref name="protocols"/> defaults to Kestrel's (HTTP/1.1 and HTTP/2 with TLS,
    /// so HTTP/1.1 in clear); gRPC passes <see cref="HttpProtocols.Http2"/>, since without TLS there is no ALPN
    /// to agree on HTTP/2 and its clients speak it from the first byte (h2c, "prior knowledge").
    /// </summary>
    public static void Listen(KestrelServerOptions kestrel, ListenerRole role, IPEndPoint endPoint, HttpProtocols? protocols = null) =>
        kestrel.Listen(endPoint, listen =>
        {
            if (protocols is { } chosen)
            {
                listen.Protocols = chosen;
            }

            listen.Use(next => connection =>
            {
                connection.Items[RoleKey] = role;
                return next(connection);
            });
        });

    public static ListenerRole? RoleOf(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(RoleKey, out var role) == true ? (ListenerRole)role! : null;
}
