using System.Buffers.Binary;
using System.Security.Cryptography;

namespace SrsProxy.Fuzz.Targets;

/// <summary>
/// STUN (RFC 8489) as the relay reads every datagram that comes to its port: <see cref="StunMessage.TryParse"/>
/// and the MESSAGE-INTEGRITY check. What is parsed lies inside the datagram; a message signed with a password
/// verifies with it, and with no other; a bit flipped in the signed part fails the check.
/// </summary>
internal sealed class StunTarget : IFuzzTarget
{
    private static readonly byte[] Password = "0123456789abcdef0123456789abcdef"u8.ToArray();
    private static readonly byte[] OtherPassword = "fedcba9876543210fedcba9876543210"u8.ToArray();

    public string Name => "stun";

    public string Description => "StunMessage.TryParse + HasValidIntegrity: bounds, sign/verify round trip";

    public void Run(byte[] input)
    {
        _ = StunMessage.IsResponse(input);
        if (!StunMessage.TryParse(input, out var message))
        {
            return;
        }

        Check.That(input.Length >= StunMessage.HeaderLength && (input.Length & 3) == 0, "a parsed message is a header and whole 32-bit words");
        Check.That(message.Username.Length <= StunMessage.MaxUsernameLength, "USERNAME is under 509 bytes");
        Check.That(message.TransactionId.Length == StunMessage.TransactionIdLength, "transaction id is 12 bytes");
        Check.Equal(message.Type == StunMessage.BindingRequest, message.IsBindingRequest, "IsBindingRequest");
        var integrity = message.IntegrityOffset;
        Check.That(integrity == -1 || (integrity >= StunMessage.HeaderLength && integrity + 24 <= input.Length && (integrity & 3) == 0),
            $"MESSAGE-INTEGRITY offset {integrity} is an attribute inside the {input.Length}-byte datagram");
        _ = message.HasValidIntegrity(Password);
        if (integrity < 0)
        {
            Check.That(!message.HasValidIntegrity(Password), "no MESSAGE-INTEGRITY never verifies");
            return;
        }

        // Sign the same message with a known password the way RFC 8489 section 14.5 says, then check it.
        var signed = (byte[])input.Clone();
        Sign(signed, integrity, Password);
        Check.That(StunMessage.TryParse(signed, out var again), "a signed message still parses");
        Check.Equal(integrity, again.IntegrityOffset, "integrity offset after signing");
        Check.That(again.HasValidIntegrity(Password), "a message signed with a password verifies with it");
        Check.That(!again.HasValidIntegrity(OtherPassword), "a message signed with a password fails with another");

        // Flip one bit of the signed part (all before the attribute but the length field, which the check
        // rewrites): the check must fail whenever the message still parses to the same attribute.
        var flip = input[^1] % (integrity - 2);
        flip = flip < 2 ? flip : flip + 2;
        var tampered = (byte[])signed.Clone();
        tampered[flip] ^= 0x01;
        if (StunMessage.TryParse(tampered, out var changed) && changed.IntegrityOffset == integrity)
        {
            Check.That(!changed.HasValidIntegrity(Password), $"a bit flipped at byte {flip} of the signed part fails the check");
        }
    }

    private static void Sign(byte[] message, int integrityOffset, byte[] password)
    {
        var prefix = message.AsSpan(0, integrityOffset).ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(prefix.AsSpan(2), (ushort)(integrityOffset + 24 - StunMessage.HeaderLength));
        HMACSHA1.HashData(password, prefix, message.AsSpan(integrityOffset + 4, 20));
    }
}
