using System.Net;
using System.Net.Sockets;
using System.Text;
using SrsProxy.Registry;

namespace SrsProxy.WebRtc.Relay;

/// <summary>
/// One player's WebRTC session in the relay: the player's current address, and the socket that carries its
/// datagrams to the origin, so the origin sees one distinct address per player. The receive loop of the
/// relay's public socket writes the player side; the session's own loop reads the origin side.
/// </summary>
internal sealed class RtcSession
{
    private volatile SocketAddress? _playerAddress;
    private volatile RtcSessionRecord _record;
    private volatile byte[] _icePassword;
    private int _closed;
    private long _lastActivity;

    public RtcSession(RtcSessionRecord record, IPEndPoint originEndPoint, string icePassword, long now)
    {
        _record = record;
        _icePassword = Encoding.UTF8.GetBytes(icePassword);
        OriginEndPoint = originEndPoint;
        _lastActivity = now;
    }

    public string Id => _record.Id;

    public RtcSessionRecord Record => _record;

    public IPEndPoint OriginEndPoint { get; }

    /// <summary>The origin's ICE password: a STUN request from a new player address must be signed with it.</summary>
    public ReadOnlySpan<byte> IcePassword => _icePassword;

    /// <summary>Connected to the origin once the first STUN request from the player arrived; null before.</summary>
    public Socket? OriginSocket { get; set; }

    public SocketAddress? PlayerAddress => _playerAddress;

    public AddressKey PlayerKey { get; private set; }

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Stopwatch timestamp of the last datagram either way (or of creation).</summary>
    public long LastActivity => Volatile.Read(ref _lastActivity);

    /// <summary>Datagrams and bytes player to origin; written only by the public socket's receive loop.</summary>
    public long PacketsToOrigin;

    public long BytesToOrigin;

    /// <summary>Datagrams and bytes origin to player; written only by this session's receive loop.</summary>
    public long PacketsToPlayer;

    public long BytesToPlayer;

    public void Touch(long now) => Volatile.Write(ref _lastActivity, now);

    /// <summary>Moves the session to a new player address (a copy: the caller's buffer is reused).</summary>
    public void SetPlayerAddress(SocketAddress address, AddressKey key)
    {
        var copy = new SocketAddress(address.Family, address.Size);
        address.Buffer.Span[..address.Size].CopyTo(copy.Buffer.Span);
        PlayerKey = key;
        _playerAddress = copy;
    }

    /// <summary>After an ICE restart the username and password change; the relay re-indexes the username.</summary>
    public void Update(RtcSessionRecord record, string icePassword)
    {
        _icePassword = Encoding.UTF8.GetBytes(icePassword);
        _record = record;
    }

    /// <summary>Marks the session closed; true only for the first caller.</summary>
    public bool TryClose() => Interlocked.Exchange(ref _closed, 1) == 0;
}
