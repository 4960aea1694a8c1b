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
            if (_time.GetElapsedTime(session.LastActivity) > _options.RtcIdleTimeout)
            {
                // In a shared registry another instance may relay this session now; its entry expires
                // once no instance refreshes it.
                await CloseAsync(session, "idle", forget: !_registry.IsShared);
            }
            else if (dead is not null && dead.Contains(session.Record.OriginId))
            {
                await CloseAsync(session, "origin gone");
            }
        }

        if (_registry.IsShared && _time.GetElapsedTime(_lastRefresh) >= RefreshPeriod)
        {
            _lastRefresh = _time.GetTimestamp();
            var relaying = _byId.Values.Where(s => s.IsBound && !s.IsClosed).Select(s => s.Record).ToList();
            try
            {
                await _registry.RefreshRtcSessionsAsync(relaying, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRegistryError(e);
            }
        }
    }
}
