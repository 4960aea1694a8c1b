using System.Buffers.Binary;
using System.Net;
using SrsProxy.Registry;
using SrsProxy.Udp;
using SrsProxy.WebRtc.Relay;

namespace SrsProxy.Tests.WebRtc.Relay;

public class RtcSessionTests
{
    private static RtcSession Create() => new(
        new RtcSessionRecord { Id = "id", Kind = "whep", StreamKey = "k", OriginId = "o", Username = "a:b", IcePassword = "p", RelayHost = "127.0.0.1", RelayPort = 1 },
        new IPEndPoint(IPAddress.Loopback, 1),
        0);

    private static SocketAddress Address(int port) => new IPEndPoint(IPAddress.Loopback, port).Serialize();

    private static byte[] TransactionId(uint n)
    {
        // Both halves carry n, so a read that mixes two transactions names no transaction at all.
        var id = new byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(id, n * 0x1_0000_0001UL);
        BinaryPrimitives.WriteUInt32LittleEndian(id.AsSpan(8), n);
        return id;
    }

    [Fact]
    public void StunResponse_GoesToTheAddressThatAsked()
    {
        var session = Create();
        var a = session.AddAddress(Address(1000), AddressKey.From(Address(1000)), out _);
        var b = session.AddAddress(Address(2000), AddressKey.From(Address(2000)), out _);
        session.RememberTransaction(TransactionId(1), a);
        session.RememberTransaction(TransactionId(2), b);
        Assert.Equal(Address(1000), session.AddressForResponse(TransactionId(1)));
        Assert.Equal(Address(2000), session.AddressForResponse(TransactionId(2)));
    }

    /// <summary>
    /// A browser with several interfaces checks from more addresses than a session keeps (three UDP sockets and
    /// three ICE-TCP connections in the test namespace), and goes on checking after it nominated one: a new address
    /// takes the oldest slot, never the one the origin's media goes to.
    /// </summary>
    [Fact]
    public void MoreAddressesThanSlots_TheMediaPathStays_TheOldestOthersGo()
    {
        var session = Create();
        var nominated = session.AddAddress(Address(1000), AddressKey.From(Address(1000)), out _);
        for (var port = 1001; port < 1000 + RtcSession.MaxPlayerAddresses; port++)
        {
            session.AddAddress(Address(port), AddressKey.From(Address(port)), out var none);
            Assert.Null(none);
        }

        session.SetMediaSlot(nominated);
        for (var port = 2000; port < 2010; port++)
        {
            session.AddAddress(Address(port), AddressKey.From(Address(port)), out var evicted);

            // Oldest first: 1001, 1002, 1003, then 2000, 2001, ...; 1000 never.
            var expected = port - 2000 < RtcSession.MaxPlayerAddresses - 1 ? 1001 + (port - 2000) : 2000 + (port - 2000 - (RtcSession.MaxPlayerAddresses - 1));
            Assert.Equal(AddressKey.From(Address(expected)), evicted);
            Assert.Equal(Address(1000), session.MediaAddress);
            Assert.Equal(nominated, session.SlotOf(AddressKey.From(Address(1000))));
        }
    }

    private sealed class Connection : IStreamSink
    {
        public bool TrySend(ReadOnlySpan<byte> datagram) => true;

        public void Abort()
        {
        }
    }

    /// <summary>
    /// The media went over an ICE-TCP connection that then closed (the browser pruned it): the media goes to the
    /// newest other address at once instead of into a closed connection, and the closed one's slot is the next to go.
    /// </summary>
    [Fact]
    public void MediaConnectionCloses_MediaMovesToTheNewestOtherAddress_ItsSlotGoesFirst()
    {
        var session = Create();
        session.AddAddress(Address(1000), AddressKey.From(Address(1000)), out _);
        var connection = new Connection();
        var stream = new StreamAddress(Address(3000), connection);
        Assert.True(session.TryAddStream(connection, 4));
        var tcp = session.AddAddress(stream, stream.Key, out _);
        session.AddAddress(Address(1001), AddressKey.From(Address(1001)), out _);
        session.SetMediaSlot(tcp);
        Assert.Same(stream, session.MediaAddress);

        session.RemoveStream(connection);

        Assert.Equal(0, session.StreamCount);
        Assert.Equal(Address(1001), session.MediaAddress);
        session.AddAddress(Address(1002), AddressKey.From(Address(1002)), out _);
        session.AddAddress(Address(1003), AddressKey.From(Address(1003)), out var evicted);
        Assert.Equal(stream.Key, evicted);
    }

    /// <summary>
    /// Regression: the 16-byte transaction slots were written by the receive loop and read by a pump thread
    /// without synchronisation, so a torn read could match a transaction with another one's slot and send a
    /// STUN response to the wrong address. A writer fills the table while a reader looks up the newest ids;
    /// a table slot's successive transactions alternate between two addresses, so a torn read shows as a
    /// response sent to the other one. (On x64 the old 16-byte copy tore rarely; the lock makes it impossible.)
    /// </summary>
    [Fact]
    public async Task RememberTransaction_RacingReader_NeverMisroutes()
    {
        var session = Create();
        var first = session.AddAddress(Address(1000), AddressKey.From(Address(1000)), out _);
        var second = session.AddAddress(Address(2000), AddressKey.From(Address(2000)), out _);
        session.SetMediaSlot(first);
        static int SlotFor(uint n, int first, int second) => n / 16 % 2 == 0 ? first : second;
        long latest = 0;
        var stop = DateTime.UtcNow + TimeSpan.FromMilliseconds(500);
        var writer = Task.Run(() =>
        {
            for (uint n = 0; DateTime.UtcNow < stop; n++)
            {
                session.RememberTransaction(TransactionId(n), SlotFor(n, first, second));
                Volatile.Write(ref latest, n);
            }
        });
        var misrouted = 0;
        var lookups = 0;
        var reader = Task.Run(() =>
        {
            var firstAddress = Address(1000);
            var secondAddress = Address(2000);
            while (DateTime.UtcNow < stop)
            {
                var n = (uint)Volatile.Read(ref latest);
                var address = session.AddressForResponse(TransactionId(n));
                lookups++;

                // Not found (already overwritten) answers with the media address: only a found id with the
                // wrong address is a misroute.
                if (SlotFor(n, first, second) == first && address!.Equals(secondAddress))
                {
                    misrouted++;
                }
            }
        });
        await Task.WhenAll(writer, reader);
        Assert.True(lookups > 1000, $"only {lookups} lookups raced the writer");
        Assert.Equal(0, misrouted);
    }
}
