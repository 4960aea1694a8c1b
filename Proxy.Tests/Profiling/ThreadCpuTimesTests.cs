using SrsProxy.Profiling;

namespace SrsProxy.Tests.Profiling;

public sealed class ThreadCpuTimesTests
{
    [Fact]
    public void TryParseStat_NameWithSpacesAndParens_ReadsUtimePlusStime()
    {
        // Fields after the name: state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15).
        const string stat = "1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 0 0";
        Assert.True(ThreadCpuTimes.TryParseStat(stat, out var nanoseconds));
        Assert.Equal(300 * 10_000_000L, nanoseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1234 no parens S 1")]
    [InlineData("1234 (x) S 1 2")]
    [InlineData("1234 (x) S 1 1234 1234 0 -1 4194560 100 0 0 0 abc 50")]
    public void TryParseStat_Malformed_IsFalse(string stat) => Assert.False(ThreadCpuTimes.TryParseStat(stat, out _));

    [Fact]
    public void Read_ThisThread_HasCpuTime()
    {
        if (!ThreadCpuTimes.Available)
        {
            return;
        }

        var end = DateTime.UtcNow.AddMilliseconds(50);
        var spin = 0L;
        while (DateTime.UtcNow < end)
        {
            spin++;
        }

        var times = ThreadCpuTimes.Read();
        Assert.True(spin > 0);
        Assert.True(times.TryGetValue(GetTid(), out var mine), "this thread is listed");
        Assert.True(mine > 0);
    }

    private static int GetTid() => int.Parse(File.ReadAllText("/proc/thread-self/stat").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
}
