namespace SrsProxy.Tests.Common;

/// <summary>
/// For counters another thread writes just after the datagram that a test saw arrive: the test waits for the
/// count, within a bound, instead of racing that thread.
/// </summary>
public static class Wait
{
    public static async Task UntilAsync(Func<bool> condition, string what, int milliseconds = 5000)
    {
        var deadline = Environment.TickCount64 + milliseconds;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                Assert.Fail($"not within {milliseconds} ms: {what}");
            }

            await Task.Delay(10);
        }
    }
}
