using System.Buffers;
using System.Net;
using System.Text;
using SrsProxy.Registry;
using SrsProxy.Udp;

namespace SrsProxy.WebRtc.Relay;

internal sealed partial class RtcRelay
{
    public override void OnDatagram(ReadOnlySpan<byte> datagram, SocketAddress from) => HandleFromPlayer(datagram, from);

    /// <summary>One datagram from a player (or anyone): find its session and pass it to the origin.</summary>
    internal void HandleFromPlayer(ReadOnlySpan<byte> datagram, SocketAddress from)
    {
        if (datagram.IsEmpty)
        {
            Counters.Drop(DropReason.Malformed);
            return;
        }

        var key = AddressKey.From(from);
        RtcSession? session;
        switch (DatagramClass.Of(datagram[0]))
        {
            case DatagramKind.Stun:
                if (!StunMessage.TryParse(datagram, out var stun))
                {
                    Counters.Drop(DropReason.Malformed);
                    return;
                }

                if (stun.IsBindingRequest && !stun.Username.IsEmpty)
                {
                    Span<char> username = stackalloc char[StunMessage.MaxUsernameLength];
                    if (Ascii.ToUtf16(stun.Username, username, out var written) != OperationStatus.Done)
                    {
                        Counters.Drop(DropReason.UnknownUsername);
                        return;
                    }

                    username = username[..written];
                    if (!_byUsernameSpan.TryGetValue(username, out session))
                    {
                        Counters.Drop(DropReason.UnknownUsername);

                        // Another instance may have answered this player's offer.
                        _lookup?.Request(username);
                        return;
                    }

                    var slot = session.SlotOf(key);
                    if (slot < 0)
                    {
                        // A new address joins the session only with proof it knows the ICE password:
                        // a spoofed request naming a known username must not steal the media.
                        if (!stun.HasValidIntegrity(session.IcePassword))
                        {
                            Counters.Drop(DropReason.BadIntegrity);
                            return;
                        }

                        slot = TryBind(session, from, key);
                        if (slot < 0)
                        {
                            return;
                        }
                    }

                    if (stun.HasUseCandidate && session.MediaSlot != slot)
                    {
                        session.SetMediaSlot(slot);
                    }

                    session.RememberTransaction(stun.TransactionId, slot);
                }
                else if (!_byAddress.TryGetValue(key, out session))
                {
                    Counters.Drop(DropReason.UnknownAddress);
                    _lookup?.RequestByAddress(key, from, datagram);
                    return;
                }

                break;
            case DatagramKind.Dtls or DatagramKind.Rtp:
                if (!_byAddress.TryGetValue(key, out session))
                {
                    Counters.Drop(DropReason.UnknownAddress);

                    // A player another instance relayed until the balancer sent it here.
                    _lookup?.RequestByAddress(key, from, datagram);
                    return;
                }

                // Media from one of the player's addresses: that is where the origin's media goes now.
                var mediaSlot = session.SlotOf(key);
                if (mediaSlot >= 0 && mediaSlot != session.MediaSlot)
                {
                    session.SetMediaSlot(mediaSlot);
                }

                break;
            default:
                Counters.Drop(DropReason.Malformed);
                return;
        }

        Engine.ForwardToOrigin(session, datagram, _time.GetTimestamp());
    }

    /// <summary>
    /// Adds a UDP player address to the session and to the address table, opening the origin socket on first
    /// use. Returns the address's slot, or -1 when the session cannot take it.
    /// </summary>
    private int TryBind(RtcSession session, SocketAddress from, AddressKey key)
    {
        var slot = TryAddAddress(session, from, key);
        if (slot < 0)
        {
            return -1;
        }

        _byAddress[key] = session;
        if (session.IsClosed)
        {
            // Closed while binding: do not leave the address behind.
            _byAddress.TryRemove(new KeyValuePair<AddressKey, RtcSession>(key, session));
            return -1;
        }

        var text = AddressText.Of(from);
        LogPlayerBound(session.Id, text, slot);
        _addressPublisher?.Publish(new PlayerAddress(text, session.Id));
        return slot;
    }

    /// <summary>
    /// What binding a player address takes on either transport: the session still open, its origin socket opened
    /// on first use, the address in one of its slots (and an address it pushed out forgotten). Returns the slot,
    /// or -1 when the session cannot take it.
    /// </summary>
    private int TryAddAddress(RtcSession session, SocketAddress address, AddressKey key)
    {
        if (session.IsClosed)
        {
            Counters.Drop(DropReason.SessionClosed);
            return -1;
        }

        if (session.OriginSocket is null && !Engine.TryAttach(session, session.OriginEndPoint, out var error))
        {
            // Out of file descriptors or ports (resource pressure), or closed meanwhile: the session stays
            // unbound, and the player's next STUN request tries again.
            Counters.Drop(session.IsClosed ? DropReason.SessionClosed : DropReason.SendFailed);
            if (!session.IsClosed)
            {
                LogOriginSocketFailed(session.Id, error);
            }

            return -1;
        }

        var slot = session.AddAddress(address, key, out var evicted);
        if (evicted is { } old)
        {
            _byAddress.TryRemove(new KeyValuePair<AddressKey, RtcSession>(old, session));
        }

        return slot;
    }
}
