using System.Diagnostics;
using System.Text.Json;

namespace SrsProxy.Tests.Common;

/// <summary>
/// The Node test peers in <c>Proxy.Tests/Peers</c>: an SRS-like origin on werift and a headless Chromium
/// player. <c>scripts/test</c> installs them (<c>npm ci</c>) before the tests run.
/// </summary>
internal static class Peers
{
    public static string Directory { get; } = FindPeers();

    private static string FindPeers()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "Proxy.Tests", "Peers");
            if (File.Exists(Path.Combine(candidate, "origin.mjs")))
            {
                if (!System.IO.Directory.Exists(Path.Combine(candidate, "node_modules", "werift")))
                {
                    throw new InvalidOperationException($"{candidate}/node_modules is missing: run scripts/test, or npm ci in that folder");
                }

                return candidate;
            }
        }

        throw new InvalidOperationException("Proxy.Tests/Peers not found above " + AppContext.BaseDirectory);
    }

    internal static Process StartNode(string script, IEnumerable<string> arguments, bool redirectInput = false)
    {
        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = Directory,
            RedirectStandardInput = redirectInput,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("cannot start node");
    }
}

/// <summary>An SRS-like WebRTC origin (werift): ICE-lite on one UDP port, WHIP/WHEP, registration heartbeats.</summary>
internal sealed class OriginPeer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _stderr = new();

    private OriginPeer(Process process, JsonElement ready)
    {
        _process = process;
        ApiPort = ready.GetProperty("api").GetInt32();
        RtcPort = ready.GetProperty("rtc").GetInt32();
        Id = $"{ready.GetProperty("server").GetString()}-{ready.GetProperty("service").GetString()}-{ready.GetProperty("pid").GetString()}";
    }

    public int ApiPort { get; }

    public int RtcPort { get; }

    /// <summary>The origin's identity as the proxy knows it: server-service-pid.</summary>
    public string Id { get; }

    public Uri Api => new($"http://127.0.0.1:{ApiPort}/");

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static async Task<OriginPeer> StartAsync(Uri? register, params string[] videoStreams)
    {
        var arguments = new List<string> { "--api-port", "0", "--rtc-port", "0", "--ip", "127.0.0.1", "--register-interval-ms", "1000" };
        if (register is not null)
        {
            arguments.AddRange(["--register", register.ToString()]);
        }

        foreach (var stream in videoStreams)
        {
            arguments.AddRange(["--video", stream]);
        }

        var process = Peers.StartNode("origin.mjs", arguments);
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        if (line is null || !line.StartsWith("READY ", StringComparison.Ordinal))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"origin did not start: {line}\n{stderr}");
        }

        var peer = new OriginPeer(process, JsonDocument.Parse(line["READY ".Length..]).RootElement.Clone());
        lock (stderr)
        {
            peer._stderr.Append(stderr);
        }

        process.ErrorDataReceived += (_, e) =>
        {
            lock (peer._stderr)
            {
                peer._stderr.AppendLine(e.Data);
            }
        };
        return peer;
    }

    /// <summary>What the origin knows of its sessions, including the addresses it saw each one from.</summary>
    public async Task<JsonElement> SessionsAsync()
    {
        using var http = new HttpClient();
        return JsonDocument.Parse(await http.GetStringAsync(new Uri(Api, "debug/sessions"))).RootElement.Clone();
    }

    /// <summary>
    /// What the origin says of itself, for a failing test's message: its streams (RTP in from the source), its
    /// sessions (datagrams in and out of each) and the tail of its log.
    /// </summary>
    public async Task<string> DescribeAsync()
    {
        string Tail(string text) => text.Length > 3000 ? text[^3000..] : text;
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var streams = await http.GetStringAsync(new Uri(Api, "debug/streams/"));
            var sessions = await http.GetStringAsync(new Uri(Api, "debug/sessions"));
            return $"--- origin {Id} streams ---\n{streams}\n--- origin {Id} sessions ---\n{sessions}\n--- origin {Id} log (tail) ---\n{Tail(Stderr)}";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return $"--- origin {Id} does not answer ({e.Message}) ---\n{Tail(Stderr)}";
        }
    }

    /// <summary>Kills the origin (and its ffmpeg) at once, as a crashed machine: its ports refuse from now on.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// Freezes (SIGSTOP) or thaws (SIGCONT) the origin's process: a hung origin, whose kernel still accepts
    /// connections that no one answers.
    /// </summary>
    public async Task SignalAsync(bool freeze)
    {
        using var kill = Process.Start("kill", [freeze ? "-STOP" : "-CONT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Stops (or resumes) the registration heartbeats, like an origin that hangs.</summary>
    public async Task SetHeartbeatAsync(bool enabled)
    {
        using var http = new HttpClient();
        var response = await http.PostAsync(new Uri(Api, $"debug/heartbeat?enabled={(enabled ? "true" : "false")}"), null);
        response.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await SignalAsync(freeze: false);
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}

/// <summary>Headless Chromium playing (WHEP, SRS JSON play) or publishing (WHIP) through a URL.</summary>
internal static class ChromiumPlayer
{
    public static async Task<PlayerResult> RunAsync(Uri url, string mode = "whep", int seconds = 15, params string[] extra)
    {
        using var player = Start(url, mode, seconds, extra);
        return await player.Result;
    }

    /// <summary>Starts a player and returns at once: for tests that act while it plays.</summary>
    public static RunningPlayer Start(Uri url, string mode = "whep", int seconds = 15, params string[] extra)
    {
        var arguments = new List<string> { "--url", url.ToString(), "--mode", mode, "--seconds", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        arguments.AddRange(extra);
        return new RunningPlayer(Peers.StartNode("player.mjs", arguments));
    }
}

/// <summary>A Chromium player still running; SIGTERM during <c>--hold-ms</c> ends the hold early.</summary>
internal sealed class RunningPlayer : IDisposable
{
    private readonly Process _process;

    public RunningPlayer(Process process)
    {
        _process = process;
        Result = CollectAsync();
    }

    public Task<PlayerResult> Result { get; }

    /// <summary>Ends the hold: the player then sends its DELETE (with <c>--delete</c>) and reports.</summary>
    public Task EndHoldAsync() => Signals.TerminateAsync(_process.Id);

    private async Task<PlayerResult> CollectAsync()
    {
        var stderr = _process.StandardError.ReadToEndAsync();
        var stdout = await _process.StandardOutput.ReadToEndAsync();
        await _process.WaitForExitAsync();
        var last = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        if (last is null)
        {
            throw new InvalidOperationException($"player printed nothing (exit {_process.ExitCode}): {await stderr}");
        }

        return new PlayerResult(JsonDocument.Parse(last).RootElement.Clone(), await stderr);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}

internal sealed record PlayerResult(JsonElement Json, string Stderr)
{
    public bool Ok => Json.GetProperty("ok").GetBoolean();

    public int FramesDecoded => Json.TryGetProperty("framesDecoded", out var f) && f.ValueKind == JsonValueKind.Number ? f.GetInt32() : 0;

    public string? Location => Json.GetProperty("location").GetString();

    public override string ToString()
    {
        var copy = System.Text.Json.Nodes.JsonNode.Parse(Json.GetRawText())!.AsObject();
        copy.Remove("offerSdp");
        copy.Remove("answerSdp");
        var tail = Stderr.Length > 3000 ? Stderr[^3000..] : Stderr;
        return copy.ToJsonString() + "\n--- player stderr (tail) ---\n" + tail;
    }
}

/// <summary>
/// WHEP players on werift (<c>Peers/werift-player.mjs</c>), many in one Node process: real ICE (consent checks
/// every ~5 s, RFC 7675), DTLS and SRTP. Killing the process is a wave of viewers who vanish without a DELETE.
/// </summary>
internal sealed class WeriftPlayers : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _stderr = new();
    private readonly Task _reading;
    private JsonElement _latest;

    private WeriftPlayers(Process process, JsonElement ready)
    {
        _process = process;
        _latest = ready;
        _reading = ReadStatsAsync();
    }

    /// <summary>The players as last reported (every 200 ms): location, state, rtp, lastRtpAgoMs, maxGapMs.</summary>
    public IReadOnlyList<JsonElement> Players
    {
        get
        {
            lock (_process)
            {
                return _latest.GetProperty("players").EnumerateArray().ToList();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public static async Task<WeriftPlayers> StartAsync(Uri whep, int count, string bind = "127.0.0.1", bool deleteOnExit = false)
    {
        var arguments = new List<string> { "--url", whep.ToString(), "--count", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", bind };
        if (deleteOnExit)
        {
            arguments.Add("--delete-on-exit");
        }

        var process = Peers.StartNode("werift-player.mjs", arguments, redirectInput: true);
        var stderr = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string? line;
        try
        {
            line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            line = null;
        }

        if (line is null || !line.StartsWith("READY ", StringComparison.Ordinal))
        {
            process.Kill(entireProcessTree: true);
            lock (stderr)
            {
                throw new InvalidOperationException($"werift players did not start: {line}\n{stderr}");
            }
        }

        var players = new WeriftPlayers(process, JsonDocument.Parse(line["READY ".Length..]).RootElement.Clone());
        process.ErrorDataReceived += (_, e) =>
        {
            lock (players._stderr)
            {
                players._stderr.AppendLine(e.Data);
            }
        };
        return players;
    }

    /// <summary>Kills the process at once: every player vanishes without a DELETE, as a closed laptop does.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>Ends the players the polite way (stdin closes; with <c>deleteOnExit</c>, a DELETE each).</summary>
    public async Task StopAsync()
    {
        if (!_process.HasExited)
        {
            _process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                await KillAsync();
            }
        }
    }

    private async Task ReadStatsAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            if (line.StartsWith("STATS ", StringComparison.Ordinal))
            {
                var stats = JsonDocument.Parse(line["STATS ".Length..]).RootElement.Clone();
                lock (_process)
                {
                    _latest = stats;
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        await _reading;
        _process.Dispose();
    }
}
