using Grpc.Core;
using SrsProxy.Grpc.V1;

namespace SrsProxy.Tests.Grpc;

/// <summary>
/// A <c>WatchEvents</c> call read in the background into a list, so a test can wait for the event it expects
/// while the others (an origin's status, another session) pass by, and name what it did see when it fails.
/// </summary>
internal sealed class WatchedEvents : IDisposable
{
    private readonly AsyncServerStreamingCall<Event> _call;
    private readonly List<Event> _events = [];
    private readonly Task _reading;

    private WatchedEvents(AsyncServerStreamingCall<Event> call)
    {
        _call = call;
        _reading = ReadAsync();
    }

    /// <summary>Starts reading once the server sent its headers, i.e. once the watch is subscribed.</summary>
    public static async Task<WatchedEvents> StartAsync(AsyncServerStreamingCall<Event> call)
    {
        await call.ResponseHeadersAsync.WaitAsync(TimeSpan.FromSeconds(10));
        return new WatchedEvents(call);
    }

    public IReadOnlyList<Event> Seen
    {
        get
        {
            lock (_events)
            {
                return _events.ToList();
            }
        }
    }

    /// <summary>The first event that matches, waiting up to <paramref name="milliseconds"/> for it.</summary>
    public async Task<Event> WaitForAsync(Func<Event, bool> match, string what, int milliseconds = 15_000)
    {
        Event? found = null;
        await Common.Wait.UntilAsync(
            () => (found = Seen.FirstOrDefault(match)) is not null || _reading.IsCompleted,
            $"{what}; events seen: {string.Join(", ", Seen.Select(e => e.KindCase))}",
            milliseconds);
        return found ?? throw new InvalidOperationException($"the watch ended before {what}: {_reading.Exception?.GetBaseException().Message ?? "completed"}");
    }

    private async Task ReadAsync()
    {
        await foreach (var e in _call.ResponseStream.ReadAllAsync())
        {
            lock (_events)
            {
                _events.Add(e);
            }
        }
    }

    public void Dispose() => _call.Dispose();
}
