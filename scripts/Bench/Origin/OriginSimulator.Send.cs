using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SrsProxy.Bench.Pacing;

namespace SrsProxy.Bench.Origin;

/// <summary>The origin's two senders: the schedule-driven one (srs pacing, replay) and the burst tick loop.</summary>
internal sealed partial class OriginSimulator
{
    /// <summary>Long waits sleep in steps of this at most, so the sender notices that it is to stop.</summary>
    private static readonly long StopCheckTicks = Stopwatch.Frequency / 10;

    private bool _recording;

    /// <summary>
    /// Sends one datagram at a time when the schedule says, to the session in the slot it names. The schedule
    /// is told when the previous datagram actually went out: a real origin's next send follows its last one.
    /// Each send is timed just before it happens, for the report and for the datagram's own timestamp.
    /// </summary>
    private void SendScheduledLoop(IOriginSchedule schedule)
    {
        PreciseWait.LowerTimerSlack();
        var packet = GC.AllocateUninitializedArray<byte>(_traffic.MaxDatagram, pinned: true);
        Random.Shared.NextBytes(packet);
        var ticksPerUs = Stopwatch.Frequency / 1e6;
        var start = Stopwatch.GetTimestamp();
        var previousUs = 0.0;

        // Further behind than this, the sender shifts the schedule rather than sending the backlog at once.
        var catchUpLimit = (long)(schedule.CatchUpLimitUs * ticksPerUs);
        while (!_stopping.IsCancellationRequested)
        {
            var plan = schedule.Next(previousUs, _active.Length);
            var due = double.IsFinite(plan.DueUs) ? start + (long)(plan.DueUs * ticksPerUs) : long.MaxValue;
            var now = Stopwatch.GetTimestamp();
            if (now - due > catchUpLimit)
            {
                start += now - due;
                due = now;
                Pacing.Rebased++;
            }

            while (due - Stopwatch.GetTimestamp() > StopCheckTicks)
            {
                if (_stopping.IsCancellationRequested)
                {
                    return;
                }

                Thread.Sleep(50);
            }

            PreciseWait.Until(due);
            var sentAt = Stopwatch.GetTimestamp();
            previousUs = (sentAt - start) / ticksPerUs;
            var active = _active;
            if (plan.Slot < 0 || plan.Slot >= active.Length)
            {
                continue;
            }

            var session = active[plan.Slot];
            if (session.Remote is not { } remote || session.IsClosed)
            {
                continue;
            }

            var phase = _phase;
            var datagram = packet.AsSpan(0, Math.Clamp(plan.Length, MediaPacket.MinSize, packet.Length));
            MediaPacket.WriteMedia(datagram, session.Ssrc, session.Sequence++, sentAt, phase);
            if (SendMedia(session, datagram, remote, phase, sentAt, plan.GapUs, due, schedule.Skipped) is null)
            {
                return;
            }
        }
    }

    /// <summary>
    /// The burst sender (<c>--pacing burst</c>): every tick, each bound session gets the datagrams its rate owes
    /// it since the last tick (elapsed time, so a late tick catches up instead of losing rate), sent back to back.
    /// </summary>
    private void SendBurstLoop()
    {
        var packet = GC.AllocateUninitializedArray<byte>(_options.PacketSize, pinned: true);
        Random.Shared.NextBytes(packet);
        var rate = _options.PacketRate;
        var tick = (long)(_options.TickMs * Stopwatch.Frequency / 1000);
        var last = Stopwatch.GetTimestamp();
        var next = last + tick;
        while (!_stopping.IsCancellationRequested)
        {
            var now = Stopwatch.GetTimestamp();
            if (now < next)
            {
                Thread.Sleep(Math.Max(1, (int)((next - now) * 1000 / Stopwatch.Frequency)));
                continue;
            }

            // A descheduled sender catches up at most one second of media, as an origin drains its queue.
            var credit = rate * Math.Min(1.0, (double)(now - last) / Stopwatch.Frequency);
            last = now;
            next = Math.Max(next + tick, now + tick / 2);
            var phase = _phase;
            foreach (var session in _active)
            {
                if (session.Remote is not { } remote || session.IsClosed)
                {
                    continue;
                }

                session.Credit += credit;
                while (session.Credit >= 1)
                {
                    session.Credit -= 1;
                    var sentAt = Stopwatch.GetTimestamp();
                    MediaPacket.WriteMedia(packet, session.Ssrc, session.Sequence++, sentAt, phase);
                    if (SendMedia(session, packet, remote, phase, sentAt, null, 0, 0) is null)
                    {
                        return;
                    }
                }
            }
        }
    }

    /// <summary>Records a steady-window send in <see cref="Pacing"/> (cleared when a window starts); false outside one.</summary>
    /// <summary>
    /// Sends one media datagram to a session and counts it (sent, sent in the window, or a send error). True when
    /// sent, false when the kernel refused it, null when the socket is closed and the sender should stop.
    /// </summary>
    private bool? SendMedia(OriginSession session, ReadOnlySpan<byte> datagram, SocketAddress remote, RunPhase phase, long sentAt, double? plannedGapUs, long due, long skipped)
    {
        try
        {
            _socket.SendTo(datagram, SocketFlags.None, remote);
        }
        catch (SocketException)
        {
            session.SendErrors++;
            return false;
        }
        catch (ObjectDisposedException)
        {
            return null;
        }

        session.SentTotal++;
        if (Record(phase, sentAt, plannedGapUs, due, skipped))
        {
            session.SentSteady++;
        }

        return true;
    }

    private bool Record(RunPhase phase, long sentAt, double? plannedGapUs, long due, long skipped)
    {
        if (phase != RunPhase.Steady)
        {
            _recording = false;
            return false;
        }

        if (!_recording)
        {
            Pacing.Clear();
            Pacing.SkippedBefore = skipped;
            _recording = true;
        }

        Pacing.Record(sentAt, plannedGapUs, due);
        Pacing.Skipped = skipped - Pacing.SkippedBefore;
        return true;
    }
}
