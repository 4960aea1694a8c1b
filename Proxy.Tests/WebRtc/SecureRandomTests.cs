using SrsProxy.WebRtc;

namespace SrsProxy.Tests.WebRtc;

/// <summary>The kernel's random bytes behind session ids and STUN transaction ids.</summary>
public sealed class SecureRandomTests
{
    [Fact]
    public void GetBytes_FillsAllAndDiffersEachTime()
    {
        var seen = new HashSet<string>();
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(seen.Add(Convert.ToHexString(SecureRandom.GetBytes(16))));
        }

        // A large request is filled to its end (getrandom may return fewer bytes than asked past 256).
        var large = SecureRandom.GetBytes(1 << 20);
        Assert.True(large.AsSpan(large.Length - 64).ContainsAnyExcept((byte)0));

        // Every byte value shows up in a megabyte, each about 4,096 times.
        var counts = new int[256];
        foreach (var b in large)
        {
            counts[b]++;
        }

        Assert.All(counts, count => Assert.InRange(count, 3_500, 4_700));
    }
}
