using System.Buffers;
using System.Text;
using SrsProxy.Udp;

namespace SrsProxy.WebRtc.Relay;

internal sealed partial class RtcRelay
{
    /// <summary>
    /// TCP connections one session may hold: a browser opens one per local address it checks from (RFC 6544
    /// section 7.2), as it sends from several UDP addresses, so the same bound as for those.
    /// </summary>
    internal const int MaxStreamsPerSession = RtcSession.MaxPlayerAddresses;

    /// <summary>
    /// The first frame of an ICE-TCP connection (RFC 6544): it must be a STUN binding request whose USERNAME names a
    /// session here and whose MESSAGE-INTEGRITY verifies with that session's ICE password, the same proof a new UDP
    /// address must give. Then the connection joins the session as one of its player addresses and the request goes
    /// on to the origin over UDP. Null, with the reason counted, for anything else: the caller closes the
    /// connection unanswered, so a stranger learns nothing and gets no bytes back.
    /// </summary>
    internal RtcSession? TryAcceptStream(ReadOnlySpan<byte> frame, StreamAddress address)
    {
        if (frame.IsEmpty || DatagramClass.Of(frame[0]) != DatagramKind.Stun || !StunMessage.TryParse(frame, out var stun) ||
            !stun.IsBindingRequest || stun.Username.IsEmpty)
        {
            Counters.Drop(DropReason.Malformed);
            return null;
        }

        Span<char> username = stackalloc char[StunMessage.MaxUsernameLength];
        if (Ascii.ToUtf16(stun.Username, username, out var written) != OperationStatus.Done ||
            !_byUsernameSpan.TryGetValue(username[..written], out var session))
        {
            // No lookup in a shared registry: the connection's bytes cannot move to another instance's session.
            Counters.Drop(DropReason.UnknownUsername);
            return null;
        }

        if (!stun.HasValidIntegrity(session.IcePassword))
        {
            Counters.Drop(DropReason.BadIntegrity);
            return null;
        }

        if (!session.TryAddStream(address.Sink, MaxStreamsPerSession))
        {
            LogStreamRefused(session.Id, AddressText.Of(address), MaxStreamsPerSession);
            return null;
        }

        var slot = TryBindStream(session, address);
        if (slot < 0)
        {
            session.RemoveStream(address.Sink);
            return null;
        }

        if (stun.HasUseCandidate && session.MediaSlot != slot)
        {
            session.SetMediaSlot(slot);
        }

        session.RememberTransaction(stun.TransactionId, slot);
        Engine.ForwardStreamToOrigin(session, frame, _time.GetTimestamp());
        return session;
    }

    /// <summary>
    /// A later frame of an authenticated connection: the rules of a known UDP address (RFC 7983 classes; a
    /// nomination or media from the connection moves the origin's media to it), then on to the origin. False once
    /// the session has ended, to close the connection.
    /// </summary>
    internal bool HandleFromStream(RtcSession session, StreamAddress address, ReadOnlySpan<byte> frame)
    {
        if (session.IsClosed)
        {
            return false;
        }

        var slot = session.SlotOf(address.Key);
        if (slot < 0)
        {
            // The slot went to a newer address (more than MaxPlayerAddresses checked): the connection proved itself
            // once, so it takes one back.
            slot = TryBindStream(session, address);
            if (slot < 0)
            {
                return !session.IsClosed;
            }
        }

        switch (DatagramClass.Of(frame[0]))
        {
            case DatagramKind.Stun:
                if (!StunMessage.TryParse(frame, out var stun))
                {
                    Counters.Drop(DropReason.Malformed);
                    return true;
                }

                if (stun.IsBindingRequest)
                {
                    if (stun.HasUseCandidate && session.MediaSlot != slot)
                    {
                        session.SetMediaSlot(slot);
                    }

                    session.RememberTransaction(stun.TransactionId, slot);
                }

                break;
            case DatagramKind.Dtls or DatagramKind.Rtp:
                if (session.MediaSlot != slot)
                {
                    session.SetMediaSlot(slot);
                }

                break;
            default:
                Counters.Drop(DropReason.Malformed);
                return true;
        }

        Engine.ForwardStreamToOrigin(session, frame, _time.GetTimestamp());
        return true;
    }

    /// <summary>A connection of the session closed: it no longer counts against the session's cap.</summary>
    internal static void StreamClosed(RtcSession session, StreamAddress address) => session.RemoveStream(address.Sink);

    /// <summary>
    /// Adds a connection's address to the session, opening the origin socket on first use; -1 when it cannot. Not
    /// in the address table: a connection's frames arrive already knowing their session.
    /// </summary>
    private int TryBindStream(RtcSession session, StreamAddress address)
    {
        var slot = TryAddAddress(session, address, address.Key);
        if (slot < 0 || session.IsClosed)
        {
            return -1;
        }

        LogStreamBound(session.Id, AddressText.Of(address), slot);
        return slot;
    }
}
