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

    public static void Listen(KestrelServerOptions kestrel, ListenerRole role, IPEndPoint endPoint) =>
        kestrel.Listen(endPoint, listen => listen.Use(next => connection =>
        {
            connection.Items[RoleKey] = role;
            return next(connection);
        }));

    public static ListenerRole? RoleOf(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(RoleKey, out var role) == true ? (ListenerRole)role! : null;
}
