using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using SrsProxy.Profiling.Perf;
using SrsProxy.Tests.Common;

namespace SrsProxy.Tests.Profiling;

/// <summary>
/// The kernel sampler behind CPU profiles, on this test process's own threads: a sample stands for one period
/// of a thread's CPU time, a sleeping thread gets none, and threads started during the window are found.
/// Where the kernel refuses perf events, the refusal must be the kind that sends profiles to EventPipe
/// (a permission, or no such system call), never a malformed request.
/// </summary>
[Collection(RealPeersCollection.Name)]
public sealed class PerfSamplerTests
{
    /// <summary>errno values that mean "not allowed here", not "asked wrongly".</summary>
    private static readonly int[] Refusals = [1 /* EPERM */, 13 /* EACCES */, 38 /* ENOSYS */, 2 /* ENOENT */, 95 /* EOPNOTSUPP */];

    /// <summary>The densest rate a profile may ask for (<c>?hz=1000</c>): enough samples in a test's short window.</summary>
    private const long OneMillisecond = 1_000_000;

    private static PerfSampler? StartOrExplainRefusal(bool perCpu = true)
    {
        try
        {
            return PerfSampler.Start(OneMillisecond, perCpu);
        }
        catch (PerfEventsRefusedException e)
        {
            Assert.True(!PerfEventInterop.Supported || Refusals.Contains(e.Errno), $"perf_event_open failed as if asked wrongly: {e.Message}");
            Assert.Contains("perf_event", e.Message);
            return null;
        }
    }

    /// <summary>Per CPU where this process may (root here), and per thread, the way without that right.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void BusyThread_GetsOneSamplePerPeriodOfItsCpu_SleepingThreadNone(bool perCpu)
    {
        // Both threads exist before the sampler starts, as the relay's threads do.
        var busy = new Worker(Spin);
        var sleeper = new Worker(() => { });
        using var sampler = StartOrExplainRefusal(perCpu);
        if (sampler is null)
        {
            busy.Finish();
            sleeper.Finish();
            return;
        }

        busy.Go(TimeSpan.FromMilliseconds(400));
        var samples = sampler.Stop();
        sleeper.Finish();

        var expected = busy.CpuNanoseconds / samples.PeriodNanoseconds;
        Assert.InRange(SamplesOf(samples, busy.Tid), expected * 0.75, (expected * 1.25) + 5);
        Assert.Equal(0, SamplesOf(samples, sleeper.Tid));
        Assert.Equal(0, samples.Lost);
        Assert.True(samples.Threads >= 1, $"{samples.Threads} threads sampled");
        Assert.NotEqual("thread", samples.ThreadNames[busy.Tid]);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ThreadStartedDuringTheWindow_IsSampled(bool perCpu)
    {
        using var sampler = StartOrExplainRefusal(perCpu);
        if (sampler is null)
        {
            return;
        }

        // Per thread, the sampler looks for new threads once a second: a thread that burns 1.5 s is found within it.
        var late = new Worker(Spin);
        late.Go(TimeSpan.FromMilliseconds(1500));
        var samples = sampler.Stop();
        Assert.True(SamplesOf(samples, late.Tid) > 100, $"{SamplesOf(samples, late.Tid)} samples of a thread that started after the sampler");
    }

    [Fact]
    public void Chains_ReachTheLibcFunctionAndTheKernelsSystemCall()
    {
        // A thread that spends its CPU in one system call through libc's syscall(), in a loop.
        var caller = new Worker(() => Syscall(39));
        using var sampler = StartOrExplainRefusal();
        if (sampler is null)
        {
            caller.Finish();
            return;
        }

        caller.Go(TimeSpan.FromMilliseconds(300));
        var samples = sampler.Stop();

        var native = NativeCode.ReadSelf();
        var kernel = samples.KernelFrames ? KernelSymbols.Read() : null;
        var names = samples.Counts.Where(c => c.Key.Tid == caller.Tid).SelectMany(c => c.Key.Frames())
            .Select(f => f.Kernel ? kernel?.Lookup(f.Address) ?? "?" : native.Lookup(f.Address)?.Function ?? "?")
            .ToHashSet();
        Assert.Contains("syscall", names);
        if (samples.KernelFrames)
        {
            Assert.Contains(names, n => n.Contains("getpid", StringComparison.Ordinal));
        }
    }

    private static void Spin()
    {
        var x = 1UL;
        for (var i = 0; i < 10_000; i++)
        {
            x = (x * 6364136223846793005UL) + 1442695040888963407UL;
        }

        GC.KeepAlive(x);
    }

    /// <summary>
    /// A thread that starts at once and waits; <see cref="Go"/> makes it repeat a step for a while and
    /// measures the CPU time it used (schedstat, in nanoseconds).
    /// </summary>
    private sealed class Worker
    {
        private readonly ManualResetEventSlim _go = new();
        private readonly ManualResetEventSlim _ready = new();
        private readonly Thread _thread;
        private TimeSpan _length;

        public Worker(Action step)
        {
            _thread = new Thread(() =>
            {
                Tid = CurrentTid();
                _ready.Set();
                _go.Wait();
                var before = ThreadCpu(Tid);
                var clock = Stopwatch.StartNew();
                while (clock.Elapsed < _length)
                {
                    step();
                }

                CpuNanoseconds = ThreadCpu(Tid) - before;
            });
            _thread.Start();
            _ready.Wait();
        }

        public int Tid { get; private set; }

        public long CpuNanoseconds { get; private set; }

        public void Go(TimeSpan length)
        {
            _length = length;
            _go.Set();
            _thread.Join();
        }

        public void Finish() => Go(TimeSpan.Zero);
    }

    private static long SamplesOf(PerfSamples samples, int tid) => samples.Counts.Where(c => c.Key.Tid == tid).Sum(c => c.Value);

    private static int CurrentTid() =>
        int.Parse(Path.GetFileName(new DirectoryInfo("/proc/thread-self").LinkTarget!), CultureInfo.InvariantCulture);

    /// <summary>The thread's CPU time in nanoseconds, from <c>schedstat</c> (exact, unlike stat's ticks).</summary>
    private static long ThreadCpu(int tid) =>
        long.Parse(File.ReadAllText($"/proc/self/task/{tid}/schedstat").Split(' ')[0], CultureInfo.InvariantCulture);

    [DllImport("libc", EntryPoint = "syscall")]
    private static extern long Syscall(long number);
}
