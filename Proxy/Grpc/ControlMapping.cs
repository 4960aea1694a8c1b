using Google.Protobuf.WellKnownTypes;
using SrsProxy.Grpc.V1;
using SrsProxy.Registry;
using SrsProxy.SystemApi;

namespace SrsProxy.Grpc;

/// <summary>
/// The operator's records (<see cref="OperatorView"/>, the system API's JSON shapes) as <c>srsproxy.v1</c>
/// messages, field for field: the data has one shape, and this is only its other spelling.
/// </summary>
internal static class ControlMapping
{
    public static Origin ToMessage(OriginView view)
    {
        var origin = new Origin
        {
            Id = view.Id,
            DeviceId = view.DeviceId,
            Ip = view.Ip,
            Alive = view.Alive,
            Static = view.IsStatic,
            LastHeartbeat = Timestamp.FromDateTimeOffset(view.LastHeartbeat),
            HeartbeatAgeSeconds = view.HeartbeatAgeSeconds,
            ActiveSessions = view.ActiveSessions,
            UnreachableUntil = view.UnreachableUntil is { } until ? Timestamp.FromDateTimeOffset(until) : null,
        };
        foreach (var (protocol, addresses) in view.Endpoints)
        {
            origin.Endpoints[protocol] = new Endpoints { Addresses = { addresses } };
        }

        return origin;
    }

    public static V1.Stream ToMessage(StreamState state) => new()
    {
        Stream_ = state.StreamKey,
        OriginId = state.OriginId,
        Since = Timestamp.FromDateTimeOffset(state.Since),
        ActiveSessions = state.ActiveSessions,
    };

    public static Session ToMessage(SessionView view) => new()
    {
        Id = view.Id,
        Kind = view.Kind,
        Stream = view.Stream,
        OriginId = view.OriginId,
        OriginUdp = view.OriginUdp,
        Player = view.Player ?? "",
        IdleSeconds = view.IdleSeconds,
        PacketsToOrigin = view.PacketsToOrigin,
        PacketsToPlayer = view.PacketsToPlayer,
        BytesToOrigin = view.BytesToOrigin,
        BytesToPlayer = view.BytesToPlayer,
    };

    public static DrainResponse ToMessage(DrainAnswer answer)
    {
        var response = new DrainResponse
        {
            Draining = answer.Draining,
            Reason = answer.Reason ?? "",
            Since = answer.Since is { } since ? Timestamp.FromDateTimeOffset(since) : null,
            Deadline = answer.Deadline is { } deadline ? Timestamp.FromDateTimeOffset(deadline) : null,
            ActiveTotal = answer.ActiveTotal,
        };
        foreach (var (kind, count) in answer.Active)
        {
            response.Active[kind] = count;
        }

        foreach (var (kind, count) in answer.Refused)
        {
            response.Refused[kind] = count;
        }

        return response;
    }

    public static Event ToMessage(ProxyEvent e)
    {
        var message = new Event { Time = Timestamp.FromDateTimeOffset(e.Time) };
        switch (e)
        {
            case OriginStatusEvent origin:
                message.Origin = new OriginStatus { OriginId = origin.OriginId, Alive = origin.Alive };
                break;
            case SessionOpenedEvent opened:
                message.SessionOpened = new SessionOpened { Session = ToMessage(opened.Session) };
                break;
            case SessionClosedEvent closed:
                message.SessionClosed = new SessionClosed
                {
                    SessionId = closed.SessionId,
                    Kind = closed.Kind,
                    Stream = closed.Stream,
                    OriginId = closed.OriginId,
                    Reason = closed.Reason,
                    PacketsToOrigin = closed.PacketsToOrigin,
                    PacketsToPlayer = closed.PacketsToPlayer,
                };
                break;
            case StreamMovedEvent moved:
                message.StreamMoved = new StreamMoved { Stream = moved.Stream, FromOriginId = moved.FromOriginId, ToOriginId = moved.ToOriginId };
                break;
            case EventsDroppedEvent dropped:
                message.Dropped = new EventsDropped { Count = dropped.Count };
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(e), e.GetType().Name, "an event with no message");
        }

        return message;
    }
}
