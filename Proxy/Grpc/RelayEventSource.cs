using SrsProxy.SystemApi;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Grpc;

/// <summary>
/// Publishes the WebRTC relay's sessions opening and closing (with the relay's reason) to the
/// <see cref="EventHub"/>, as they happen, on the relay's own thread: building the event is skipped while no
/// one watches. A hosted service so that it listens from the start to the stop of the host.
/// </summary>
internal sealed class RelayEventSource(RtcRelay relay, OperatorView view, EventHub hub) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        relay.SessionOpened += OnOpened;
        relay.SessionClosed += OnClosed;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        relay.SessionOpened -= OnOpened;
        relay.SessionClosed -= OnClosed;
        return Task.CompletedTask;
    }

    private void OnOpened(RtcSession session)
    {
        if (hub.HasWatchers)
        {
            hub.Publish(new SessionOpenedEvent(hub.Time.GetUtcNow(), view.ViewOf(session)));
        }
    }

    private void OnClosed(RtcSession session, string reason)
    {
        if (hub.HasWatchers)
        {
            var record = session.Record;
            hub.Publish(new SessionClosedEvent(hub.Time.GetUtcNow(), session.Id, record.Kind, record.StreamKey, record.OriginId, reason,
                Volatile.Read(ref session.PacketsToOrigin), Volatile.Read(ref session.PacketsToClient)));
        }
    }
}
