namespace SrsProxy.Tests.Common;

/// <summary>
/// The tests' one way to wait for something another thread or process does: a counter the relay writes just
/// after the datagram a test saw arrive, an origin's heartbeat, a port a tool opens. The test names the
/// condition and a bound, and fails with that name when the bound passes, instead of racing the other side or
/// sleeping for a guessed time.
/// </summary>
public static class Wait
{
    /// <summary>
    /// How long a test watches for something that must not happen (a datagram that must not be relayed). On
    /// loopback a relayed datagram arrives within a millisecond; half a second still catches one when a loaded
    /// 2-core machine leaves the relay's loop waiting for a core, so a check that must fail does.
    /// </summary>
    public const int QuietMilliseconds = 500;

    /// <summary>Polls <paramref name="condition"/> until it holds; fails naming <paramref name="what"/> after <paramref name="milliseconds"/>.</summary>
    public static Task UntilAsync(Func<bool> condition, string what, int milliseconds = 5000) =>
        UntilAsync(() => Task.FromResult(condition()), what, milliseconds);

    /// <summary>
    /// Polls an asynchronous <paramref name="condition"/> (an HTTP query, a registry read) until it holds; fails
    /// naming <paramref name="what"/> after <paramref name="milliseconds"/>. The pause between polls grows from
    /// 10 to 100 ms, so a cheap condition is seen at once and an expensive one is not asked in a tight loop.
    /// </summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, int milliseconds = 5000)
    {
        var deadline = Environment.TickCount64 + milliseconds;
        var pause = 10;
        while (!await condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                Assert.Fail($"not within {milliseconds} ms: {what}");
            }

            await Task.Delay(pause);
            pause = Math.Min(pause * 2, 100);
        }
    }
}
