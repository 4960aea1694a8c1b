using System.Net.Sockets;
using SrsProxy.Configuration;
using YamlDotNet.RepresentationModel;

namespace SrsProxy.Tests.Deploy;

/// <summary>
/// What the deploy kit's tests share: the files of <c>deploy/</c>, YAML reading, and the proxy's own view of
/// its variables and listeners, taken from <see cref="ProxyOptionsParser"/> so that the kit is checked against
/// the proxy rather than against a second list kept by hand.
/// </summary>
internal static class DeployKit
{
    /// <summary>The repository's root: the directory above the test binaries that holds Proxy.sln.</summary>
    public static string Root { get; } = FindRoot();

    public static string File(params string[] parts) => Path.Combine([Root, "deploy", .. parts]);

    /// <summary>Every document of a YAML file, each a mapping (a Kubernetes object, a compose file).</summary>
    public static List<YamlMappingNode> LoadYaml(string path)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(path))
        {
            stream.Load(reader);
        }

        return stream.Documents.Select(d => Assert.IsType<YamlMappingNode>(d.RootNode)).ToList();
    }

    /// <summary>
    /// Whether the proxy reads the variable: a name of <see cref="ProxyOptionsParser.VariableNames"/> (aliases
    /// included), or a .NET runtime setting, which the runtime reads before the proxy starts.
    /// </summary>
    public static bool IsProxyVariable(string name) =>
        ProxyOptionsParser.VariableNames.Contains(name) || name.StartsWith("DOTNET_", StringComparison.Ordinal);

    /// <summary>
    /// The proxy's listeners by the port name the kit gives them (Kubernetes port names, compose comments),
    /// with the variable that sets each, its port under <paramref name="options"/> and its transport.
    /// </summary>
    public static Dictionary<string, Listener> Listeners(ProxyOptions options)
    {
        var listeners = new Dictionary<string, Listener>(StringComparer.Ordinal)
        {
            ["http-api"] = new("PROXY_HTTP_API", options.HttpApi.Port, ProtocolType.Tcp),
            ["http-server"] = new("PROXY_HTTP_SERVER", options.HttpServer.Port, ProtocolType.Tcp),
            ["rtmp"] = new("PROXY_RTMP_SERVER", options.RtmpServer.Port, ProtocolType.Tcp),
            ["system-api"] = new("PROXY_SYSTEM_API", options.SystemApi.Port, ProtocolType.Tcp),
            ["webrtc"] = new("PROXY_WEBRTC_SERVER", options.WebRtcServer.Port, ProtocolType.Udp),
            ["srt"] = new("PROXY_SRT_SERVER", options.SrtServer.Port, ProtocolType.Udp),
        };
        if (options.WebRtcTcpEnabled)
        {
            // ICE-TCP for players whose UDP is blocked: by default the WebRTC port's number, over TCP.
            listeners["webrtc-tcp"] = new("PROXY_WEBRTC_TCP_SERVER", (options.WebRtcTcpServer ?? options.WebRtcServer).Port, ProtocolType.Tcp);
        }

        if (options.Pprof is { } pprof)
        {
            listeners["pprof"] = new("GO_PPROF", pprof.Port, ProtocolType.Tcp);
        }

        return listeners;
    }

    /// <summary>The options the proxy would run with under these variables; a bad value fails the test.</summary>
    public static ProxyOptions Options(IReadOnlyDictionary<string, string> env)
    {
        try
        {
            return ProxyOptionsParser.Parse(env);
        }
        catch (ConfigurationException e)
        {
            Assert.Fail($"the proxy would refuse to start: {e.Message}");
            throw;
        }
    }

    public static YamlNode? Child(this YamlNode node, string key) =>
        node is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

    public static string? Text(this YamlNode node, string key) => (node.Child(key) as YamlScalarNode)?.Value;

    public static IEnumerable<YamlNode> Items(this YamlNode node, string key) =>
        node.Child(key) is YamlSequenceNode sequence ? sequence.Children : [];

    public static IEnumerable<KeyValuePair<string, string>> Pairs(this YamlNode node, string key) =>
        node.Child(key) is YamlMappingNode map
            ? map.Children.Select(p => KeyValuePair.Create(((YamlScalarNode)p.Key).Value!, (p.Value as YamlScalarNode)?.Value ?? ""))
            : [];

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "Proxy.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Proxy.sln not found above " + AppContext.BaseDirectory);
    }
}
