using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using SrsProxy.Configuration;
using SrsProxy.Tests.Common;
using YamlDotNet.RepresentationModel;

namespace SrsProxy.Tests.Deploy;

/// <summary>
/// deploy/kubernetes: every manifest is checked against the proxy itself. No cluster runs here, so what the
/// API server and kubelet would do with them (admission, scheduling, the probes' timing) is not tested; what
/// the manifests claim about the proxy (its variables, ports, probe paths, drain and its duration) is.
/// </summary>
public class KubernetesManifestTests
{
    private static readonly string Directory = DeployKit.File("kubernetes");

    /// <summary>Every object of every manifest, with the file it came from.</summary>
    private static readonly List<(string File, YamlMappingNode Object)> Objects = System.IO.Directory
        .GetFiles(Directory, "*.yaml")
        .Where(f => Path.GetFileName(f) != "kustomization.yaml")
        .SelectMany(f => DeployKit.LoadYaml(f).Select(o => (Path.GetFileName(f), o)))
        .ToList();

    private static YamlMappingNode Only(string kind) => Assert.Single(Objects, o => o.Object.Text("kind") == kind).Object;

    private static YamlNode PodSpec => Only("Deployment").Child("spec")!.Child("template")!.Child("spec")!;

    private static YamlNode Container => Assert.Single(PodSpec.Items("containers"), c => c.Text("name") == "srs-proxy");

    /// <summary>The ConfigMap the container takes its environment from (envFrom), by the name the Deployment gives.</summary>
    private static YamlMappingNode ConfigMap
    {
        get
        {
            var name = Assert.Single(Container.Items("envFrom")).Child("configMapRef")!.Text("name");
            return Assert.Single(Objects, o => o.Object.Text("kind") == "ConfigMap" && o.Object.Child("metadata")!.Text("name") == name).Object;
        }
    }

    /// <summary>The options the proxy runs with in the pod: the ConfigMap's data and the container's literal env.</summary>
    private static ProxyOptions PodOptions
    {
        get
        {
            var env = ConfigMap.Pairs("data").ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            foreach (var variable in Container.Items("env").Where(e => e.Child("value") is not null))
            {
                env[variable.Text("name")!] = variable.Text("value")!;
            }

            return DeployKit.Options(env);
        }
    }

    /// <summary>Fails on: a YAML syntax error, an object without apiVersion or kind, a manifest kustomization.yaml leaves out.</summary>
    [Fact]
    public void Manifests_Parse_AndKustomizationAppliesEveryOne()
    {
        Assert.NotEmpty(Objects);
        Assert.All(Objects, o =>
        {
            Assert.False(string.IsNullOrEmpty(o.Object.Text("apiVersion")), $"{o.File}: apiVersion");
            Assert.False(string.IsNullOrEmpty(o.Object.Text("kind")), $"{o.File}: kind");
            Assert.False(string.IsNullOrEmpty(o.Object.Child("metadata")?.Text("name")), $"{o.File}: metadata.name");
        });
        var kustomization = Assert.Single(DeployKit.LoadYaml(Path.Combine(Directory, "kustomization.yaml")));
        Assert.Equal(
            Objects.Select(o => o.File).Distinct().Order(StringComparer.Ordinal),
            kustomization.Items("resources").Select(r => ((YamlScalarNode)r).Value!).Order(StringComparer.Ordinal));
        foreach (var kind in new[] { "Deployment", "ConfigMap", "PodDisruptionBudget" })
        {
            Only(kind);
        }

        Assert.Contains(Objects, o => o.Object.Text("kind") == "Service");
    }

    /// <summary>
    /// Fails on: a misspelt or invented variable in the ConfigMap or the container's env (the proxy would ignore
    /// it and run on its default), a value the proxy refuses at start (e.g. <c>PROXY_GRACE_QUIT_TIMEOUT: soon</c>),
    /// envFrom naming a ConfigMap the kit lacks, a secretKeyRef that is not optional without saying so.
    /// </summary>
    [Fact]
    public void Environment_EveryName_IsAVariableTheProxyReads_AndEveryValueParses()
    {
        var names = ConfigMap.Pairs("data").Select(p => p.Key)
            .Concat(Container.Items("env").Select(e => e.Text("name")!))
            .ToList();
        Assert.NotEmpty(names);
        Assert.All(names, name => Assert.True(DeployKit.IsProxyVariable(name), $"{name} is not a variable the proxy reads"));
        Assert.All(Container.Items("env").Where(e => e.Child("valueFrom") is not null), e =>
            Assert.Equal("true", e.Child("valueFrom")!.Child("secretKeyRef")!.Text("optional")));

        var options = PodOptions;
        Assert.Equal(LoadBalancerType.Redis, options.LoadBalancer);
        Assert.NotNull(options.Candidate);
    }

    /// <summary>
    /// Fails on: a container port whose number is not its listener's (e.g. <c>webrtc: 8000</c> while the proxy
    /// listens on 18000), a name that is no listener, a wrong protocol (WebRTC and SRT are UDP, the rest TCP), a
    /// listener with no container port, a Prometheus annotation on another port than the system API's.
    /// </summary>
    [Fact]
    public void ContainerPorts_AreTheListenersPortsAndProtocols()
    {
        var listeners = DeployKit.Listeners(PodOptions);
        var ports = Container.Items("ports").ToList();
        foreach (var port in ports)
        {
            var name = port.Text("name")!;
            Assert.True(listeners.TryGetValue(name, out var listener), $"container port {name} names no listener of the proxy");
            Assert.Equal((name, listener.Port, listener.ProtocolName), (name, int.Parse(port.Text("containerPort")!, CultureInfo.InvariantCulture), port.Text("protocol") ?? "TCP"));
        }

        Assert.Equal(listeners.Keys.Order(StringComparer.Ordinal), ports.Select(p => p.Text("name")!).Order(StringComparer.Ordinal));
        var annotations = Only("Deployment").Child("spec")!.Child("template")!.Child("metadata")!.Child("annotations")!;
        Assert.Equal(listeners["system-api"].Port.ToString(CultureInfo.InvariantCulture), annotations.Text("prometheus.io/port"));
        Assert.Equal("/metrics", annotations.Text("prometheus.io/path"));
    }

    /// <summary>
    /// Fails on: a Service port whose number or protocol is not its listener's (the WebRTC port in particular
    /// must be the proxy's own: answers carry it), a targetPort that is no container port of that listener, a
    /// selector or PodDisruptionBudget selector that matches no pod of the Deployment.
    /// </summary>
    [Fact]
    public void Services_PortsMatchTheListeners_AndSelectorsMatchThePods()
    {
        var listeners = DeployKit.Listeners(PodOptions);
        var containerPorts = Container.Items("ports").ToDictionary(p => p.Text("name")!, p => p.Text("containerPort")!);
        var podLabels = Only("Deployment").Child("spec")!.Child("template")!.Child("metadata")!.Pairs("labels").ToHashSet();
        var services = Objects.Where(o => o.Object.Text("kind") == "Service").Select(o => o.Object).ToList();
        var exposed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var service in services)
        {
            var spec = service.Child("spec")!;
            Assert.NotEmpty(spec.Pairs("selector"));
            Assert.All(spec.Pairs("selector"), label => Assert.Contains(label, podLabels));
            foreach (var port in spec.Items("ports"))
            {
                var name = port.Text("name")!;
                Assert.True(listeners.TryGetValue(name, out var listener), $"Service port {name} names no listener of the proxy");
                Assert.Equal((name, listener.Port, listener.ProtocolName), (name, int.Parse(port.Text("port")!, CultureInfo.InvariantCulture), port.Text("protocol") ?? "TCP"));
                var target = port.Text("targetPort")!;
                Assert.True(target == name || target == containerPorts[name], $"Service port {name} targets {target}, not the container port {name}");
                exposed.Add(name);
            }
        }

        // Every listener but pprof (loopback only) is reachable through some Service.
        Assert.Equal(listeners.Keys.Where(k => k != "pprof").Order(StringComparer.Ordinal), exposed.Order(StringComparer.Ordinal));
        var budget = Only("PodDisruptionBudget").Child("spec")!.Child("selector")!;
        Assert.All(budget.Pairs("matchLabels"), label => Assert.Contains(label, podLabels));
        Assert.All(Only("Deployment").Child("spec")!.Child("selector")!.Pairs("matchLabels"), label => Assert.Contains(label, podLabels));
    }

    /// <summary>
    /// Fails on: a probe on another port than the system API's (the players' listeners do not serve probes), a
    /// path the proxy does not answer 200 on (e.g. <c>/ready</c>), a readiness probe that is not <c>/readyz</c>
    /// or a liveness probe that is not <c>/healthz</c> (liveness must stay 200 while draining), a gRPC probe
    /// while the proxy has no gRPC listener.
    /// </summary>
    [Fact]
    public async Task Probes_AskTheSystemApi_OnPathsARunningProxyAnswers()
    {
        var listeners = DeployKit.Listeners(PodOptions);
        var containerPorts = Container.Items("ports").ToDictionary(p => p.Text("name")!, p => p.Text("containerPort")!);
        var probes = new[] { "readinessProbe", "livenessProbe", "startupProbe" }
            .Select(kind => (Kind: kind, Probe: Container.Child(kind)))
            .Where(p => p.Probe is not null)
            .ToList();
        Assert.Contains(probes, p => p.Kind == "readinessProbe");
        Assert.Contains(probes, p => p.Kind == "livenessProbe");

        await using var proxy = await TestProxy.StartAsync();
        foreach (var (kind, probe) in probes)
        {
            if (probe!.Child("grpc") is { } grpc)
            {
                // The gRPC health service comes with PROXY_GRPC; until the proxy reads it, nothing answers there.
                Assert.True(ProxyOptionsParser.VariableNames.Contains("PROXY_GRPC"), $"{kind} asks gRPC health, but the proxy has no gRPC listener");
                Assert.NotNull(grpc.Text("port"));
                continue;
            }

            var get = probe!.Child("httpGet");
            Assert.True(get is not null, $"{kind} is neither httpGet nor grpc");
            var port = get!.Text("port")!;
            Assert.Equal(listeners["system-api"].Port.ToString(CultureInfo.InvariantCulture), containerPorts.GetValueOrDefault(port, port));
            var path = get.Text("path")!;
            Assert.Equal(kind == "livenessProbe" ? "/healthz" : "/readyz", path);
            var answer = await proxy.Http.GetAsync(new Uri(proxy.SystemApi, path.TrimStart('/')));
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }
    }

    /// <summary>
    /// The preStop hook, run here with this machine's bash against a running proxy (the image's bash is not
    /// available here). Fails on: a hook that does not begin the drain, that ignores the token when the system
    /// API has one, or that succeeds when the proxy refused it.
    /// </summary>
    [Fact]
    public async Task PreStop_DrainsARunningProxy_WithTheSystemApiToken()
    {
        var command = Container.Child("lifecycle")!.Child("preStop")!.Child("exec")!.Items("command").Select(c => ((YamlScalarNode)c).Value!).ToArray();
        Assert.NotEmpty(command);
        await using var proxy = await TestProxy.StartAsync(o => o with { SystemApiToken = "deploy-test-token", GraceQuitTimeout = TimeSpan.FromSeconds(60) });
        var systemApi = $"127.0.0.1:{proxy.SystemApi.Port}";
        var drainUrl = new Uri(proxy.SystemApi, "api/v1/drain?token=deploy-test-token");

        var refused = await RunHookAsync(command, new() { ["PROXY_SYSTEM_API"] = systemApi });
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("401", refused.Stderr);
        Assert.False(JsonDocument.Parse(await proxy.Http.GetStringAsync(drainUrl)).RootElement.GetProperty("draining").GetBoolean());

        var drained = await RunHookAsync(command, new() { ["PROXY_SYSTEM_API"] = systemApi, ["PROXY_SYSTEM_API_TOKEN"] = "deploy-test-token" });
        Assert.True(drained.ExitCode == 0, $"preStop failed: {drained.Stderr}");
        var state = JsonDocument.Parse(await proxy.Http.GetStringAsync(drainUrl)).RootElement;
        Assert.True(state.GetProperty("draining").GetBoolean());
        Assert.StartsWith("POST /api/v1/drain", state.GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await proxy.Http.GetAsync(new Uri(proxy.SystemApi, "readyz"))).StatusCode);
    }

    /// <summary>
    /// Fails on: a terminationGracePeriodSeconds that Kubernetes would end with SIGKILL before the proxy's own
    /// end of the drain: PROXY_GRACE_QUIT_TIMEOUT plus the 5 s allowed to close what is left, or
    /// PROXY_FORCE_QUIT_TIMEOUT, whichever is longer (with the ConfigMap's values, or the defaults); and on
    /// missing resource requests or a missing memory limit.
    /// </summary>
    [Fact]
    public void TerminationGracePeriod_OutlastsTheDrain_AndResourcesAreSet()
    {
        var options = PodOptions;
        var period = TimeSpan.FromSeconds(int.Parse(PodSpec.Text("terminationGracePeriodSeconds")!, CultureInfo.InvariantCulture));
        var drain = options.GraceQuitTimeout + SrsProxy.Hosting.DrainState.CloseAllowance;
        Assert.True(period > drain, $"terminationGracePeriodSeconds {period.TotalSeconds} s does not exceed the drain, {drain.TotalSeconds} s");
        Assert.True(period > options.ForceQuitTimeout, $"terminationGracePeriodSeconds {period.TotalSeconds} s does not exceed PROXY_FORCE_QUIT_TIMEOUT");

        var resources = Container.Child("resources")!;
        Assert.NotNull(resources.Child("requests")!.Text("cpu"));
        Assert.NotNull(resources.Child("requests")!.Text("memory"));
        Assert.NotNull(resources.Child("limits")!.Text("memory"));
    }

    private static async Task<(int ExitCode, string Stderr)> RunHookAsync(string[] command, Dictionary<string, string> env)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in command.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        // The container's environment holds no stray PROXY_ variable of the test run's.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("PROXY_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in env)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stderr);
    }
}
