using System.Net.Sockets;

namespace SrsProxy.Tests.Deploy;

/// <summary>One of the proxy's listeners: the variable that sets it, its port, its transport.</summary>
internal sealed record Listener(string Variable, int Port, ProtocolType Protocol)
{
    /// <summary>The protocol as Kubernetes (TCP, UDP) and compose (tcp, udp) spell it.</summary>
    public string ProtocolName => Protocol == ProtocolType.Udp ? "UDP" : "TCP";
}
