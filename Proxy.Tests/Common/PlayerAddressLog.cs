using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SrsProxy.WebRtc.Relay;
using Xunit.Sdk;

// Every test fails if, while it ran, a test proxy bound a player address outside the test network.
[assembly: SrsProxy.Tests.Common.PlayersInsideTestNetwork]

namespace SrsProxy.Tests.Common;

/// <summary>
/// The network the tests may use: loopback and the veth pair that <c>scripts/netns-run</c> puts in the tests'
/// network namespace, on 198.18.0.0/15 (RFC 2544's benchmark range). A player address outside it means the
/// proxy was made to send to an interface of the machine itself: the run was not hermetic.
/// </summary>
internal static class TestNetwork
{
    private static readonly IPNetwork LoopbackV4 = IPNetwork.Parse("127.0.0.0/8");
    private static readonly IPNetwork Benchmark = IPNetwork.Parse("198.18.0.0/15");

    public const string Description = "loopback (127.0.0.0/8, ::1) and 198.18.0.0/15";

    public static bool Contains(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return address.AddressFamily == AddressFamily.InterNetwork
            ? LoopbackV4.Contains(address) || Benchmark.Contains(address)
            : address.Equals(IPAddress.IPv6Loopback);
    }
}

/// <summary>A player address a test proxy's WebRTC relay bound: media for the session went there.</summary>
internal sealed record BoundPlayer(string SessionId, string Text)
{
    /// <summary>The address, or null when the relay's text is not an <c>ip:port</c> (never inside then).</summary>
    public IPEndPoint? EndPoint { get; } = IPEndPoint.TryParse(Text, out var endPoint) ? endPoint : null;

    public bool Inside => EndPoint is { } e && TestNetwork.Contains(e.Address);

    public override string ToString() => $"{Text} (session {SessionId})";
}

/// <summary>
/// Every player address the relay of a test proxy binds, read from the relay's own "player address" log line
/// (<c>RtcRelay.LogPlayerBound</c>, Information, with a <c>Player</c> field): <see cref="TestProxy"/> adds one
/// to each proxy it starts, so the proxy's code is not touched. Kept per proxy and for the whole test process.
/// </summary>
internal sealed class PlayerAddressLog : ILoggerProvider
{
    private static readonly List<BoundPlayer> All = [];
    private readonly List<BoundPlayer> _mine = [];

    /// <summary>The relay's log category: the one filter rule that lets its Information lines reach this provider.</summary>
    public static string Category { get; } = typeof(RtcRelay).FullName!;

    /// <summary>What this proxy's relay bound, in order.</summary>
    public IReadOnlyList<BoundPlayer> Bound
    {
        get
        {
            lock (_mine)
            {
                return [.. _mine];
            }
        }
    }

    /// <summary>How many addresses every proxy of this process bound so far: a mark for <see cref="Since"/>.</summary>
    public static int Count
    {
        get
        {
            lock (All)
            {
                return All.Count;
            }
        }
    }

    public static IReadOnlyList<BoundPlayer> Since(int mark)
    {
        lock (All)
        {
            return All.Skip(mark).ToList();
        }
    }

    public ILogger CreateLogger(string categoryName) => categoryName == Category ? new Logger(this) : NullLogger.Instance;

    public void Dispose()
    {
    }

    private void Add(BoundPlayer player)
    {
        lock (_mine)
        {
            _mine.Add(player);
        }

        lock (All)
        {
            All.Add(player);
        }
    }

    private sealed class Logger(PlayerAddressLog owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (state is not IReadOnlyList<KeyValuePair<string, object?>> fields)
            {
                return;
            }

            string? player = null;
            var session = "?";
            foreach (var (key, value) in fields)
            {
                switch (key)
                {
                    case "Player":
                        player = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture);
                        break;
                    case "SessionId":
                        session = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "?";
                        break;
                }
            }

            if (player is not null)
            {
                owner.Add(new BoundPlayer(session, player));
            }
        }
    }
}

/// <summary>
/// Fails a test during which a test proxy bound a player address outside <see cref="TestNetwork"/>: the
/// tests must reach nothing but what they start. Applied to the whole assembly. When tests run in parallel,
/// an address bound by one is also seen by the others that ran at the same time.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Class | AttributeTargets.Method)]
internal sealed class PlayersInsideTestNetworkAttribute : BeforeAfterTestAttribute
{
    // Tests of one class never run at the same time, so the method is key enough.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<MethodInfo, int> Marks = new();

    public override void Before(MethodInfo methodUnderTest) => Marks[methodUnderTest] = PlayerAddressLog.Count;

    public override void After(MethodInfo methodUnderTest)
    {
        if (!Marks.TryRemove(methodUnderTest, out var mark))
        {
            return;
        }

        var outside = PlayerAddressLog.Since(mark).Where(p => !p.Inside).ToList();
        if (outside.Count > 0)
        {
            throw new XunitException(OutsideMessage(outside));
        }
    }

    public static string OutsideMessage(IEnumerable<BoundPlayer> outside) =>
        $"The proxy bound player addresses outside {TestNetwork.Description}: {string.Join(", ", outside)}. " +
        "A player (Chromium) offered an interface of this machine, so the proxy sent to it: the run was not hermetic. " +
        "Run the tests in their own network namespace: scripts/test [dotnet test arguments], or scripts/netns-run dotnet test ...";
}
