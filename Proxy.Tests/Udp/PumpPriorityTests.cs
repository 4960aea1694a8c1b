using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SrsProxy.Configuration;
using SrsProxy.Tests.Common;
using SrsProxy.Udp;

namespace SrsProxy.Tests.Udp;

/// <summary>
/// <c>PROXY_RTC_PUMP_PRIORITY</c>: the pump thread, and only it, is scheduled as asked, which the kernel shows in
/// <c>/proc/self/task/TID/stat</c>; where the kernel refuses (no CAP_SYS_NICE, no RLIMIT_RTPRIO), the pump runs
/// at normal priority, relays as before, and a warning names the pump and the reason.
/// </summary>
public sealed class PumpPriorityTests
{
    private sealed class Session(SocketAddress client) : UdpSession(0)
    {
        public override SocketAddress? DestinationOf(ReadOnlySpan<byte> datagram) => client;
    }

    private sealed class Echo : IUdpRelayHandler
    {
        public void OnDatagram(ReadOnlySpan<byte> datagram, SocketAddress from)
        {
        }

        public Task SweepAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    [Theory]
    [InlineData("normal")]
    [InlineData("high")]
    [InlineData("realtime")]
    public async Task Pump_RunsAtThePriorityAsked_OrWarnsAndRelaysAtNormal(string setting)
    {
        var priority = Enum.Parse<PumpPriority>(setting, ignoreCase: true);

        // What this process may do, asked of a thread of the test's own.
        var refused = 0;
        var probe = new Thread(() => refused = ThreadScheduling.ApplyToCurrentThread(priority));
        probe.Start();
        probe.Join();

        // The process's own scheduling (a CI runner may start it niced or as a batch job): a normal pump keeps it.
        var process = Scheduling(Environment.ProcessId);

        using var origin = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        origin.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var logger = new CapturingLogger<UdpRelayEngine>();
        var name = setting[..4]; // a thread name (comm) holds 15 characters: "real-pump-0"
        await using var engine = new UdpRelayEngine(
            new UdpEngineOptions(name, "TEST_SERVER", new ListenAddress(IPAddress.Loopback, 0), 1500, 1 << 20, 1 << 20, TimeSpan.FromHours(1))
            {
                Batched = true,
                PumpCount = 1,
                Coalesce = TimeSpan.FromMicroseconds(250),
                Priority = priority,
            },
            new UdpCounters(),
            TimeProvider.System,
            logger);
        engine.Start(new Echo());
        var session = new Session(client.LocalEndPoint!.Serialize());
        Assert.True(engine.TryAttach(session, (IPEndPoint)origin.LocalEndPoint!, out _));

        // The pump relays whatever its priority.
        origin.SendTo([7, 8], session.OriginSocket!.LocalEndPoint!);
        Assert.Equal([7, 8], await Datagrams.ReceiveAsync(client));

        var (policy, rtPriority, nice) = Scheduling(ThreadNamed($"{name}-pump-0"));
        var warnings = logger.Entries.Where(e => e.EventId.Id == 107).ToList();
        if (priority == PumpPriority.Normal || refused != 0)
        {
            Assert.Equal(process, (policy, rtPriority, nice));
            if (priority == PumpPriority.Normal)
            {
                Assert.Empty(warnings);
            }
            else
            {
                var warning = Assert.Single(warnings);
                Assert.Equal(LogLevel.Warning, warning.Level);
                Assert.Equal($"{name}-pump-0", warning.Field("Pump"));
                Assert.Equal(System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(refused), warning.Field("Error"));
            }
        }
        else if (priority == PumpPriority.High)
        {
            Assert.Equal((process.Policy, 0, ThreadScheduling.HighNice), (policy, rtPriority, nice));
            Assert.Empty(warnings);
        }
        else
        {
            // SCHED_FIFO at the lowest real-time priority.
            Assert.Equal((1, ThreadScheduling.RealtimePriority), (policy, rtPriority));
            Assert.Empty(warnings);
        }

        // Only the pump: the process's other threads are left as they were.
        Assert.Equal(process, Scheduling(Environment.ProcessId));
        engine.Detach(session);
    }

    private static int ThreadNamed(string name)
    {
        foreach (var task in Directory.GetDirectories("/proc/self/task"))
        {
            if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') == name)
            {
                return int.Parse(Path.GetFileName(task), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"no thread named {name}");
    }

    /// <summary>A thread's policy, real-time priority and nice value, as the kernel reports them (proc(5): fields 41, 40, 19).</summary>
    private static (int Policy, int RtPriority, int Nice) Scheduling(int thread)
    {
        var stat = File.ReadAllText($"/proc/self/task/{thread}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

        // fields[0] is field 3 (state).
        int Field(int number) => int.Parse(fields[number - 3], System.Globalization.CultureInfo.InvariantCulture);
        return (Field(41), Field(40), Field(19));
    }
}
