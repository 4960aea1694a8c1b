using System.Net;
using System.Text;

namespace SrsProxy.Bench.Origin;

/// <summary>
/// One player's session on the simulated origin: its ICE credentials, where its media goes once a STUN
/// binding request arrived (the proxy's socket for this session, or the player itself in direct mode), and
/// what was sent and received in the steady window. The sender thread alone writes the send side.
/// </summary>
internal sealed class OriginSession
{
    private SocketAddress? _remote;
    private int _closed;

    public OriginSession(uint ssrc, string offerUfrag, string answerUfrag, string password)
    {
        Ssrc = ssrc;
        OfferUfrag = offerUfrag;
        AnswerUfrag = answerUfrag;
        Username = answerUfrag + ":" + offerUfrag;
        Password = Encoding.ASCII.GetBytes(password);
    }

    public uint Ssrc { get; }

    public string OfferUfrag { get; }

    public string AnswerUfrag { get; }

    /// <summary>What the player's binding requests carry: "answer-ufrag:offer-ufrag".</summary>
    public string Username { get; }

    public byte[] Password { get; }

    /// <summary>Where media goes: the source of the last authenticated binding request; null before.</summary>
    public SocketAddress? Remote => Volatile.Read(ref _remote);

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    // Written by the sender thread only.
    public ulong Sequence;
    public double Credit;
    public long SentSteady;
    public long SentTotal;
    public long SendErrors;

    // Written by the receive thread only.
    public long FeedbackSteady;
    public long FeedbackTotal;
    public long StunRequests;

    public void Bind(SocketAddress from)
    {
        var copy = new SocketAddress(from.Family, from.Size);
        from.Buffer.Span[..from.Size].CopyTo(copy.Buffer.Span);
        Volatile.Write(ref _remote, copy);
    }

    public bool TryClose() => Interlocked.Exchange(ref _closed, 1) == 0;
}
