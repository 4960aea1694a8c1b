using System.Threading.Channels;
using SrsProxy.Registry;

namespace SrsProxy.WebRtc.Relay;

/// <summary>
/// Writes the player addresses the relay verifies to the shared registry as they are bound, so that an
/// instance the balancer moves a player to can take its session over at once (the relay's refresh writes
/// them again with the sessions). Off the datagram path: a bounded queue, drained in batches; a full queue
/// drops, and the next refresh writes what was dropped.
/// </summary>
internal sealed partial class PlayerAddressPublisher
{
    /// <summary>Addresses waiting; a burst of new players is a few hundred.</summary>
    private const int QueueCapacity = 4096;

    /// <summary>Addresses per registry call.</summary>
    private const int BatchSize = 128;

    private readonly Channel<PlayerAddress> _queue = Channel.CreateBounded<PlayerAddress>(
        new BoundedChannelOptions(QueueCapacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    private readonly IProxyRegistry _registry;
    private readonly ILogger _logger;

    public PlayerAddressPublisher(IProxyRegistry registry, ILogger logger, CancellationToken stopping)
    {
        _registry = registry;
        _logger = logger;
        _ = Task.Run(() => RunAsync(stopping), CancellationToken.None);
    }

    public void Publish(PlayerAddress address) => _queue.Writer.TryWrite(address);

    private async Task RunAsync(CancellationToken stopping)
    {
        var batch = new List<PlayerAddress>(BatchSize);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stopping))
            {
                while (batch.Count < BatchSize && _queue.Reader.TryRead(out var address))
                {
                    batch.Add(address);
                }

                try
                {
                    await _registry.PutPlayerAddressesAsync(batch, stopping);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogRegistryError(e);
                }

                batch.Clear();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "Registry unavailable: verified player addresses not shared until the next refresh")]
    private partial void LogRegistryError(Exception exception);
}
