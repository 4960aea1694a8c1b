using SrsProxy.Registry;
using SrsProxy.Udp;

namespace SrsProxy.WebRtc.Relay;

internal sealed partial class RtcRelay
{
    private long _lastRefresh;

    /// <summary>How often a shared registry hears which sessions still relay: three times per idle timeout.</summary>
    internal TimeSpan RefreshPeriod => _options.RtcIdleTimeout / 3;

    /// <summary>Closes sessions that went idle or whose origin is gone; tells a shared registry which still relay.</summary>
    public override async Task SweepAsync(CancellationToken cancellationToken)
    {
        if (_byId.IsEmpty)
        {
            return;
        }

        // Only an origin the registry lists as dead ends its sessions. One it does not list at all may be
        // state a restarted shared store lost (the origin re-registers within a heartbeat); if it is really
        // gone, its sessions go idle.
        HashSet<string>? dead = null;
        try
        {
            var origins = await _registry.GetOriginsAsync(cancellationToken);
            dead = origins.Where(o => !o.Alive).Select(o => o.Origin.Id).ToHashSet(StringComparer.Ordinal);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Without the registry, only idleness decides.
            LogRegistryError(e);
        }

        foreach (var session in _byId.Values)
        {
            // The idle clock counts only the player's datagrams (consent checks every few seconds, RTCP):
            // a player that vanished loses its session even while the origin streams to it.
            if (_time.GetElapsedTime(session.LastActivity) > _options.RtcIdleTimeout)
            {
                await CloseIdleAsync(session, cancellationToken);
            }
            else if (dead is not null && dead.Contains(session.Record.OriginId))
            {
                // Nobody left to tell at the origin.
                await CloseAsync(session, "origin gone");
            }
        }

        if (_registry.IsShared && _time.GetElapsedTime(_lastRefresh) >= RefreshPeriod)
        {
            _lastRefresh = _time.GetTimestamp();
            // Only sessions whose player was heard from since the last refresh: one whose player went quiet here
            // may be relayed by another instance now (the balancer moved the player), which claims it.
            var relaying = _byId.Values
                .Where(s => s.IsBound && !s.IsClosed && _time.GetElapsedTime(s.LastActivity) <= RefreshPeriod)
                .ToList();
            try
            {
                await _registry.RefreshRtcSessionsAsync(relaying.Select(s => s.Record).ToList(), cancellationToken);
                await _registry.PutPlayerAddressesAsync(
                    relaying.SelectMany(s => s.Addresses.Select(a => new PlayerAddress(AddressText.Of(a), s.Id))).ToList(), cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRegistryError(e);
            }
        }
    }

    /// <summary>
    /// A session whose player sent nothing for the idle timeout. Alone, the proxy ends it everywhere, the origin
    /// included. With a shared registry another instance may relay the player now (it claimed the session when
    /// it adopted it): then only the local copy goes; otherwise the session ends everywhere.
    /// </summary>
    private async Task CloseIdleAsync(RtcSession session, CancellationToken cancellationToken)
    {
        if (!_registry.IsShared)
        {
            await CloseAsync(session, "idle", endAtOrigin: true);
            return;
        }

        if (!await CloseAsync(session, "idle", forget: false))
        {
            return;
        }

        bool released;
        try
        {
            released = await _registry.ReleaseIdleRtcSessionAsync(session.Id, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The entry expires once no instance refreshes it; the origin's own timeout ends its side.
            LogRegistryError(e);
            return;
        }

        if (released)
        {
            EndAtOrigin(session.Record, "idle");
        }
    }
}
