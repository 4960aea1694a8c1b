using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using SrsProxy.Configuration;

namespace SrsProxy.Tests.Deploy;

/// <summary>
/// deploy/Containerfile. Building the image needs a container engine (docker, podman, buildah), which the
/// team's machines do not have, so the image itself is not built or run here. These tests check what can be
/// checked without one: what it publishes and starts, the ports it exposes, the user and runtime settings.
/// </summary>
public partial class ContainerfileTests
{
    private static readonly List<ContainerfileInstruction> Instructions =
        ContainerfileInstruction.Parse(File.ReadAllText(DeployKit.File("Containerfile")));

    private static int RuntimeStage => Instructions.Max(i => i.Stage);

    private static IEnumerable<ContainerfileInstruction> Runtime => Instructions.Where(i => i.Stage == RuntimeStage);

    /// <summary>
    /// Fails on: a publish of a project that does not exist, an ENTRYPOINT that is not the executable that
    /// project builds (its AssemblyName, and the file the build wrote), a publish that is not self-contained and
    /// trimmed (the runtime image has no .NET of its own), a runtime stage that copies another directory than the
    /// one published, or that starts the executable from another directory than it copied it to.
    /// </summary>
    [Fact]
    public void Containerfile_PublishesTheProxy_AndStartsTheAssemblyItBuilds()
    {
        var publish = Assert.Single(Instructions, i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
        var command = PublishCommand().Match(publish.Arguments);
        Assert.True(command.Success, $"cannot read the project and output of: {publish.Arguments}");
        var project = Path.Combine(DeployKit.Root, command.Groups["project"].Value);
        Assert.True(File.Exists(project), $"the Containerfile publishes {command.Groups["project"].Value}, which does not exist");
        var output = command.Groups["output"].Value;

        var csproj = XDocument.Load(project);
        var assemblyName = csproj.Descendants("AssemblyName").Single().Value;
        Assert.Equal(typeof(ProxyOptions).Assembly.GetName().Name, assemblyName);
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, assemblyName)), "the build wrote no executable " + assemblyName);
        Assert.Equal("true", csproj.Descendants("PublishSelfContained").Single().Value);
        Assert.Equal("true", csproj.Descendants("PublishTrimmed").Single().Value);

        var entrypoint = JsonSerializer.Deserialize<string[]>(Assert.Single(Runtime, i => i.Keyword == "ENTRYPOINT").Arguments)!;
        Assert.Equal(["./" + assemblyName], entrypoint);

        var copy = Assert.Single(Runtime, i => i.Keyword == "COPY").Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["--from=build", output], copy[..2]);
        var workdir = Runtime.Last(i => i.Keyword == "WORKDIR").Arguments;
        Assert.Equal(output.TrimEnd('/'), Path.GetFullPath(copy[2], workdir).TrimEnd('/'));
        Assert.Equal("build", BuildStageName().Match(Instructions.First(i => i.Keyword == "FROM").Arguments).Groups["name"].Value);
    }

    /// <summary>
    /// Fails on: an EXPOSE that is not a listener's default port, a UDP port exposed as TCP (or no protocol:
    /// EXPOSE defaults to TCP, and WebRTC and SRT are UDP), a listener's default left out.
    /// </summary>
    [Fact]
    public void Containerfile_ExposesEveryListenersDefaultPort_WithItsProtocol()
    {
        var exposed = Runtime.Where(i => i.Keyword == "EXPOSE")
            .SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(p => p.Contains('/') ? p.ToUpperInvariant() : p + "/TCP")
            .Order(StringComparer.Ordinal);
        var defaults = DeployKit.Listeners(new ProxyOptions()).Values
            .Select(l => $"{l.Port.ToString(CultureInfo.InvariantCulture)}/{l.ProtocolName}")
            .Order(StringComparer.Ordinal);
        Assert.Equal(defaults, exposed);
    }

    /// <summary>
    /// Fails on: no USER in the runtime stage (the aspnet image runs as root by default), USER root or 0, a user
    /// given by name (Kubernetes' runAsNonRoot can verify only a number), another UID than the Deployment's.
    /// </summary>
    [Fact]
    public void Containerfile_RunsAsTheImagesNonRootUser()
    {
        var user = Runtime.Last(i => i.Keyword == "USER").Arguments.Split(':')[0];
        Assert.True(int.TryParse(user, NumberStyles.None, CultureInfo.InvariantCulture, out var uid), $"USER {user} is not numeric");
        Assert.NotEqual(0, uid);
        var deployment = Assert.Single(DeployKit.LoadYaml(DeployKit.File("kubernetes", "deployment.yaml")));
        Assert.Equal(user, deployment.Child("spec")!.Child("template")!.Child("spec")!.Child("securityContext")!.Text("runAsUser"));
    }

    /// <summary>
    /// Fails on: a runtime setting of deploy/dotnet-runtime.env (e.g. the GC budget) missing from the image or
    /// with another value, or an ENV naming a variable the proxy does not read.
    /// </summary>
    [Fact]
    public void Containerfile_Environment_IsTheRuntimeSettingsOfDotnetRuntimeEnv()
    {
        var image = Runtime.Where(i => i.Keyword == "ENV")
            .Select(i => i.Arguments.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        var expected = new Dictionary<string, string>(StringComparer.Ordinal);
        EnvironmentSource.MergeDotEnv(expected, File.ReadAllText(DeployKit.File("dotnet-runtime.env")));
        Assert.NotEmpty(expected);
        Assert.Equal(expected.OrderBy(p => p.Key, StringComparer.Ordinal), image.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.All(image.Keys, name => Assert.True(DeployKit.IsProxyVariable(name), name));
    }

    /// <summary>
    /// Fails on: a RUN using a command outside what the images are known to have (the SDK's dotnet and the base
    /// system's coreutils; e.g. curl, which the runtime image lacks), a COPY of a path the repository lacks, base
    /// images of another .NET version than the proxy targets.
    /// </summary>
    [Fact]
    public void Containerfile_UsesOnlyCommandsTheImagesHave_AndCopiesPathsThatExist()
    {
        string[] known = ["dotnet", "rm", "mkdir", "cp", "mv", "ln", "chmod", "chown", "true"];
        foreach (var run in Instructions.Where(i => i.Keyword == "RUN"))
        {
            foreach (var step in run.Arguments.Split(["&&", "||", ";", "|"], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var program = step.Split(' ')[0];
                Assert.True(known.Contains(program), $"RUN uses {program}, which the images are not known to have: {run.Arguments}");
            }
        }

        foreach (var copy in Instructions.Where(i => i.Keyword == "COPY" && !i.Arguments.StartsWith("--from", StringComparison.Ordinal)))
        {
            var sources = copy.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1];
            Assert.All(sources, source => Assert.True(Path.Exists(Path.Combine(DeployKit.Root, source)), $"COPY {source}: not in the repository"));
        }

        // The images of the .NET version the proxy targets (net10.0: the 10.0 SDK, and the 10.0 runtime-deps
        // image a self-contained build runs on).
        var framework = XDocument.Load(Path.Combine(DeployKit.Root, "Directory.Build.props")).Descendants("TargetFramework").Single().Value;
        var version = framework["net".Length..];
        var images = Instructions.Where(i => i.Keyword == "FROM").Select(i => i.Arguments.Split(' ')[0]).ToList();
        Assert.Equal([$"mcr.microsoft.com/dotnet/sdk:{version}", $"mcr.microsoft.com/dotnet/runtime-deps:{version}"], images);
    }

    [GeneratedRegex(@"dotnet publish (?<project>\S+\.csproj)\b.*\s-o\s+(?<output>\S+)")]
    private static partial Regex PublishCommand();

    [GeneratedRegex(@"\bAS\s+(?<name>\S+)", RegexOptions.IgnoreCase)]
    private static partial Regex BuildStageName();
}
