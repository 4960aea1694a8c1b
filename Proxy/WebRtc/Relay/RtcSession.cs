using System.Buffers.Binary;
using System.Net;
using System.Text;
using SrsProxy.Registry;
using SrsProxy.Udp;

namespace SrsProxy.WebRtc.Relay;

/// <summary>
/// One player's WebRTC session in the relay, and the socket that carries its datagrams to the origin, so the
/// origin sees one distinct address per player.
/// A player may check connectivity from several of its addresses at once (a browser tries every local
/// interface), so the session knows up to <see cref="MaxPlayerAddresses"/> of them: a STUN response from the
/// origin goes back to the address that sent the request, as if the origin had answered it directly, and
/// everything else goes to the media address, the one the player nominated or last sent media from.
/// The one thread that reads the public socket writes the player side (and, once, the thread that adopts a
/// session by its player's address, before the receive thread can find it); the thread that reads the origin
/// socket reads it.
/// </summary>
internal sealed class RtcSession : UdpSession
{
    /// <summary>Player addresses remembered per session; the oldest is forgotten past it.</summary>
    internal const int MaxPlayerAddresses = 4;

    /// <summary>Recent STUN requests whose responses are routed back by transaction id.</summary>
    private const int TransactionSlots = 16;

    /// <summary>The slot of a transaction the proxy started itself: its response goes to no player.</summary>
    private const int ProxySlot = -2;

    private readonly SocketAddress?[] _addresses = new SocketAddress?[MaxPlayerAddresses];
    private readonly AddressKey[] _keys = new AddressKey[MaxPlayerAddresses];
    private readonly Transaction[] _transactions = new Transaction[TransactionSlots];
    private readonly List<IStreamSink> _streams = [];
    private volatile SocketAddress? _mediaAddress;
    private volatile RtcSessionRecord _record;
    private volatile byte[] _icePassword;
    private int _addressCount;

    /// <summary>When each slot's address joined (a counter, 0 for a connection that closed): the oldest goes first.</summary>
    private readonly long[] _joined = new long[MaxPlayerAddresses];
    private long _joins;
    private int _nextTransaction;
    private int _mediaSlot = -1;

    public RtcSession(RtcSessionRecord record, IPEndPoint originEndPoint, long now)
        : base(now)
    {
        _record = record;
        _icePassword = Encoding.UTF8.GetBytes(record.IcePassword);
        OriginEndPoint = originEndPoint;
    }

    public string Id => _record.Id;

    public RtcSessionRecord Record => _record;

    public IPEndPoint OriginEndPoint { get; }

    /// <summary>The origin's ICE password: a STUN request from a new player address must be signed with it.</summary>
    public ReadOnlySpan<byte> IcePassword => _icePassword;

    /// <summary>Where the origin's media goes; null until the player's first STUN request.</summary>
    public SocketAddress? MediaAddress => _mediaAddress;

    /// <summary>True once a player address joined: the session relays, or did, through this instance.</summary>
    public bool IsBound => Volatile.Read(ref _mediaSlot) >= 0;

    /// <summary>The slot of a known player address, or -1.</summary>
    public int SlotOf(AddressKey key)
    {
        var count = _addressCount;
        for (var i = 0; i < count; i++)
        {
            if (_keys[i] == key)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Remembers a new player address (a copy: the caller's buffer is reused). When all slots are taken, a closed
    /// connection's slot goes first, else the oldest address's, never the one the origin's media goes to: a browser
    /// with several interfaces checks from more addresses (UDP and TCP) than there are slots, and may go on
    /// checking after it nominated one. Its key is returned so the relay can forget it too.
    /// </summary>
    public int AddAddress(SocketAddress address, AddressKey key, out AddressKey? evicted)
    {
        // A stream's address is the connection's own and never reused: kept as is, so the engine finds its sink.
        SocketAddress copy;
        if (address is StreamAddress)
        {
            copy = address;
        }
        else
        {
            copy = new SocketAddress(address.Family, address.Size);
            address.Buffer.Span[..address.Size].CopyTo(copy.Buffer.Span);
        }

        // Taken once per new player address, never per datagram: the adopting thread and the receive thread
        // may both bind an address of one session at about the same moment.
        lock (_keys)
        {
            return AddAddressLocked(copy, key, out evicted);
        }
    }

    private int AddAddressLocked(SocketAddress copy, AddressKey key, out AddressKey? evicted)
    {
        int slot;
        evicted = null;
        if (_addressCount < MaxPlayerAddresses)
        {
            slot = _addressCount;
        }
        else
        {
            slot = OldestSlot(except: _mediaSlot);
            evicted = _keys[slot];
        }

        _keys[slot] = key;
        _addresses[slot] = copy;
        if (_addressCount < MaxPlayerAddresses)
        {
            _addressCount++;
        }

        _joined[slot] = ++_joins;

        // The first address is the media path until the player nominates or sends from another; a later one never
        // replaces it here, since the media path's slot is never reused.
        if (_mediaSlot < 0)
        {
            SetMediaSlot(slot);
        }

        return slot;
    }

    /// <summary>The slot that joined first (closed connections before all), other than <paramref name="except"/>.</summary>
    private int OldestSlot(int except)
    {
        var oldest = -1;
        for (var i = 0; i < _addressCount; i++)
        {
            if (i != except && (oldest < 0 || _joined[i] < _joined[oldest]))
            {
                oldest = i;
            }
        }

        return oldest;
    }

    /// <summary>The slot that joined last and is still usable (not a closed connection), other than <paramref name="except"/>; -1 if none.</summary>
    private int NewestSlot(int except)
    {
        var newest = -1;
        for (var i = 0; i < _addressCount; i++)
        {
            if (i != except && _joined[i] > 0 && (newest < 0 || _joined[i] > _joined[newest]))
            {
                newest = i;
            }
        }

        return newest;
    }

    /// <summary>
    /// Every UDP player address the session knows, verified each, for sharing with other instances. A TCP
    /// connection's address is left out: no other instance could reach the player through it.
    /// </summary>
    public IEnumerable<SocketAddress> Addresses => _addresses.Take(Volatile.Read(ref _addressCount)).OfType<SocketAddress>().Where(a => a is not StreamAddress);

    /// <summary>Every address the session knows, for cleanup.</summary>
    public IEnumerable<AddressKey> Keys => _keys.Take(_addressCount);

    public int MediaSlot => Volatile.Read(ref _mediaSlot);

    /// <summary>The player nominated this address, or sent media from it: the origin's media goes there.</summary>
    public void SetMediaSlot(int slot)
    {
        // The receive thread and a TCP connection's task (ICE-TCP) may both move the media path: the lock keeps the
        // address and its slot in step. Taken only when the path changes, never per datagram of a settled session.
        lock (_keys)
        {
            _mediaAddress = _addresses[slot];
            Volatile.Write(ref _mediaSlot, slot);
        }
    }

    /// <summary>
    /// Counts a TCP connection in (ICE-TCP), so that the session's end closes it. False, with nothing changed, when
    /// the session already has <paramref name="max"/> connections or is closed.
    /// </summary>
    public bool TryAddStream(IStreamSink stream, int max)
    {
        lock (_streams)
        {
            if (IsClosed || _streams.Count >= max)
            {
                return false;
            }

            _streams.Add(stream);
            return true;
        }
    }

    /// <summary>
    /// A TCP connection of the session closed: it no longer counts against the cap, its slot is the first to go to
    /// a new address, and if the origin's media went to it, the media goes to the newest other address instead (the
    /// player's next nomination or datagram from its chosen path moves it there anyway).
    /// </summary>
    public void RemoveStream(IStreamSink stream)
    {
        lock (_streams)
        {
            _streams.Remove(stream);
        }

        lock (_keys)
        {
            for (var i = 0; i < _addressCount; i++)
            {
                if (_addresses[i] is StreamAddress address && ReferenceEquals(address.Sink, stream))
                {
                    _joined[i] = 0;
                    if (_mediaSlot == i && NewestSlot(except: i) is var other and >= 0)
                    {
                        SetMediaSlot(other);
                    }
                }
            }
        }
    }

    /// <summary>TCP connections open now.</summary>
    public int StreamCount
    {
        get
        {
            lock (_streams)
            {
                return _streams.Count;
            }
        }
    }

    /// <summary>Closes every TCP connection of the session; called once it is closed.</summary>
    public void AbortStreams()
    {
        IStreamSink[] streams;
        lock (_streams)
        {
            streams = [.. _streams];
            _streams.Clear();
        }

        foreach (var stream in streams)
        {
            stream.Abort();
        }
    }

    /// <summary>Notes a STUN request the proxy sent the origin itself, so that its response goes to no player.</summary>
    public void RememberOwnTransaction(ReadOnlySpan<byte> transactionId) => RememberTransaction(transactionId, ProxySlot);

    /// <summary>Notes which player address sent a STUN request, so its response can find the way back.</summary>
    public void RememberTransaction(ReadOnlySpan<byte> transactionId, int slot)
    {
        var transaction = new Transaction(
            BinaryPrimitives.ReadUInt64LittleEndian(transactionId),
            BinaryPrimitives.ReadUInt32LittleEndian(transactionId[8..]),
            slot);

        // The receive loop writes a slot while the thread reading the origin socket may read it: a slot is
        // 16 bytes, written in more than one store, so without the lock a reader could see half of a new
        // transaction and half of an old one, and send a response to the wrong address. The lock is the
        // session's own and taken only for STUN (about one request a second per player), never for media.
        lock (_transactions)
        {
            var index = _nextTransaction;
            _nextTransaction = (index + 1) % TransactionSlots;
            _transactions[index] = transaction;
        }
    }

    /// <summary>The address a STUN response goes to: the requester's, else the media address; none for the proxy's own.</summary>
    public SocketAddress? AddressForResponse(ReadOnlySpan<byte> transactionId)
    {
        var high = BinaryPrimitives.ReadUInt64LittleEndian(transactionId);
        var low = BinaryPrimitives.ReadUInt32LittleEndian(transactionId[8..]);
        var slot = -1;
        lock (_transactions)
        {
            foreach (var transaction in _transactions)
            {
                if (transaction.High == high && transaction.Low == low)
                {
                    slot = transaction.Slot;
                    break;
                }
            }
        }

        return slot switch
        {
            ProxySlot => null,
            >= 0 => _addresses[slot] ?? _mediaAddress,
            _ => _mediaAddress,
        };
    }

    /// <summary>
    /// Where a datagram from the origin goes: a STUN response to the address that sent the request, anything
    /// else to the media address. Null before any player address joined.
    /// </summary>
    public override SocketAddress? DestinationOf(ReadOnlySpan<byte> datagram) =>
        StunMessage.IsResponse(datagram) ? AddressForResponse(datagram.Slice(8, StunMessage.TransactionIdLength)) : _mediaAddress;

    /// <summary>After an ICE restart the username and password change; the relay re-indexes the username.</summary>
    public void Update(RtcSessionRecord record)
    {
        _icePassword = Encoding.UTF8.GetBytes(record.IcePassword);
        _record = record;
    }

    /// <summary>A STUN transaction id (96 bits) and the slot of the address that sent it.</summary>
    private readonly record struct Transaction(ulong High, uint Low, int Slot);
}
