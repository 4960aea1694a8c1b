using System.Net;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace SrsProxy.Hosting;

/// <summary>
/// The proxy's HTTP listeners. Each Kestrel endpoint tags its connections with its role, so one host serves
/// several ports with separate routes, and the bound ports are known even when the kernel chose them.
/// </summary>
internal sealed class Listeners
{
    private static readonly object RoleKey = new();
    private readonly Dictionary<ListenerRole, ListenOptions> _endpoints = [];

    public void Listen(KestrelServerOptions kestrel, ListenerRole role, IPEndPoint endPoint)
    {
        kestrel.Listen(endPoint, listen =>
        {
            _endpoints[role] = listen;
            listen.Use(next => connection =>
            {
                connection.Items[RoleKey] = role;
                return next(connection);
            });
        });
    }

    /// <summary>The bound address of a listener, valid once the server has started.</summary>
    public IPEndPoint EndPointOf(ListenerRole role) => _endpoints[role].IPEndPoint
        ?? throw new InvalidOperationException($"listener {role} is not an IP endpoint");

    public static ListenerRole? RoleOf(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(RoleKey, out var role) == true ? (ListenerRole)role! : null;
}
