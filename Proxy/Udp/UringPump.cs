using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using SrsProxy.Configuration;
using static SrsProxy.Udp.LinuxUdp;

namespace SrsProxy.Udp;

/// <summary>
/// A pump thread like <see cref="UdpPump"/> (epoll), on <c>io_uring</c>: every session socket and the public socket
/// have a multishot <c>recvmsg</c> armed once, and the kernel receives their datagrams into provided buffers.
/// With <c>IORING_SETUP_DEFER_TASKRUN</c> it does so only when the pump asks for completions, so one wait
/// (which is also the coalescing sleep) collects every datagram of every socket: no <c>epoll_wait</c>, no
/// <c>recvmmsg</c> per ready socket, no separate sleep. Sends stay one <c>sendmmsg</c> per batch, straight
/// from the buffers the datagrams were received into.
/// Sessions are added and removed from any thread through a queue the pump drains; a removed session's
/// receive is cancelled before the pump forgets it, so the kernel lets go of its socket.
/// </summary>
internal sealed unsafe class UringPump : IUdpPump
{
    /// <summary>Buffers for datagrams from the origins; a burst beyond them waits in the socket's queue, not lost.</summary>
    private const ushort OriginBuffers = 256;

    private const ushort ClientBuffers = 64;

    private const ushort OriginGroup = 0;
    private const ushort ClientGroup = 1;

    private const uint SubmissionEntries = 512;
    private const uint CompletionEntries = 4096;

    /// <summary>Room for a client's address in a client buffer (<c>sizeof(struct sockaddr_in6)</c>).</summary>
    private const int ClientNameRoom = 28;

    /// <summary>After a coalescing wait, wake early once this many datagrams are in: a batch is full.</summary>
    private const uint EarlyWake = UdpPump.BatchSize;

    private const ulong WakeTag = 0;
    private const ulong PublicTag = ulong.MaxValue;

    /// <summary>Set on the user data of a cancel request's own completion, which the pump ignores.</summary>
    private const ulong CancelBit = 1UL << 62;

    private readonly Socket _public;
    private readonly UdpCounters _counters;
    private readonly int _maxDatagramSize;
    private readonly Action<Exception> _failed;
    private readonly IUdpRelayHandler? _ingress;
    private readonly long _coalesceNanoseconds;
    private readonly PumpPriority _priority;
    private readonly Action<int>? _priorityRefused;
    private readonly int _wake;
    private readonly Dictionary<ulong, UdpSession> _sessions = new();
    private readonly ConcurrentQueue<Command> _commands = new();
    private readonly SocketAddress _from;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;
    private int _disposed;
    private int _threadId;

    // The pump thread's own state, made on it (a single-issuer ring belongs to the thread that made it).
    private IoUring _ring = null!;
    private IoUring.ProvidedBuffers _originBuffers = null!;
    private IoUring.ProvidedBuffers? _clientBuffers;
    private MsgHdr* _originHeader;
    private MsgHdr* _clientHeader;
    private ulong* _wakeValue;
    private MMsgHdr* _messages;
    private IoVec* _iov;
    private byte* _names;
    private readonly UdpSession?[] _senders = new UdpSession?[UdpPump.BatchSize];
    private readonly ushort[] _batchBuffers = new ushort[UdpPump.BatchSize];

    /// <summary>Sockets named by submissions not yet made, held open so that their numbers cannot be reused meanwhile.</summary>
    private readonly List<SafeHandle> _held = new();

    private readonly record struct Command(ulong Tag, UdpSession? Session, SafeHandle? Handle);

    public UringPump(string name, Socket publicSocket, int maxDatagramSize, UdpCounters counters, Action<Exception> failed,
        IUdpRelayHandler? ingress = null, TimeSpan coalesce = default, PumpPriority priority = PumpPriority.Normal,
        Action<int>? priorityRefused = null)
    {
        _public = publicSocket;
        _maxDatagramSize = maxDatagramSize;
        _counters = counters;
        _failed = failed;
        _ingress = ingress;
        _coalesceNanoseconds = coalesce.Ticks * 100;
        _priority = priority;
        _priorityRefused = priorityRefused;
        _from = new SocketAddress(publicSocket.AddressFamily);
        // Blocking: io_uring completes a read of a non-blocking file with EAGAIN instead of waiting for it.
        _wake = EventFd(0, EfdCloexec);
        if (_wake < 0)
        {
            throw new SocketException(Marshal.GetLastPInvokeError());
        }

        Name = name;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
        try
        {
            // The ring is made on the thread; a failure there is the constructor's.
            _started.Task.GetAwaiter().GetResult();
        }
        catch
        {
            _thread.Join();
            Close(_wake);
            throw;
        }
    }

    public string Name { get; }

    public int ThreadId => Volatile.Read(ref _threadId);

    public bool Add(UdpSession session, Socket socket)
    {
        var handle = socket.SafeHandle;
        var held = false;
        try
        {
            handle.DangerousAddRef(ref held);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        var tag = UdpPump.NextTag();
        session.PumpTag = tag;
        _commands.Enqueue(new Command(tag, session, handle));
        WakeUp();
        if (session.IsClosed)
        {
            Remove(session, socket);
        }

        return true;
    }

    public void Remove(UdpSession session, Socket socket)
    {
        var tag = Interlocked.Exchange(ref session.PumpTag, 0);
        if (tag == 0)
        {
            return;
        }

        _commands.Enqueue(new Command(tag, null, null));
        WakeUp();
    }

    private void WakeUp()
    {
        ulong one = 1;
        Write(_wake, &one, sizeof(ulong));
    }

    private void Run()
    {
        try
        {
            Volatile.Write(ref _threadId, ThreadScheduling.CurrentThreadId());
            Setup();
        }
        catch (Exception e)
        {
            _started.TrySetException(e);
            return;
        }

        _started.TrySetResult();
        try
        {
            if (_priority != PumpPriority.Normal && ThreadScheduling.ApplyToCurrentThread(_priority) is var refused and not 0)
            {
                _priorityRefused?.Invoke(refused);
            }

            var publicFd = (int)_public.SafeHandle.DangerousGetHandle();
            ArmWake();
            if (_ingress is not null)
            {
                ArmReceive(publicFd, PublicTag, _clientBuffers!.Group, _clientHeader);
            }

            var coalesced = false;
            while (!_stopping)
            {
                DrainCommands();
                // After work, sleep the coalescing time while the kernel queues what arrives (waking early for a
                // full batch); after a quiet spell, wait for the next datagram however long.
                _ring.SubmitAndWait(coalesced ? EarlyWake : 1, coalesced ? _coalesceNanoseconds : -1);
                ReleaseHeld();

                var handled = Reap(publicFd);
                coalesced = handled > 0 && _coalesceNanoseconds > 0;
            }
        }
        catch (Exception e)
        {
            _failed(e);
        }
        finally
        {
            Teardown();
        }
    }

    private void Setup()
    {
        _ring = IoUring.Create(SubmissionEntries, CompletionEntries);
        try
        {
            _originBuffers = new IoUring.ProvidedBuffers(_ring, OriginGroup, OriginBuffers, sizeof(IoUring.RecvMsgOut) + _maxDatagramSize + 1);
            if (_ingress is not null)
            {
                _clientBuffers = new IoUring.ProvidedBuffers(_ring, ClientGroup, ClientBuffers, sizeof(IoUring.RecvMsgOut) + ClientNameRoom + _maxDatagramSize + 1);
            }
        }
        catch
        {
            _ring.Dispose();
            _originBuffers?.Dispose();
            throw;
        }

        _originHeader = (MsgHdr*)NativeMemory.AllocZeroed((nuint)sizeof(MsgHdr));
        _clientHeader = (MsgHdr*)NativeMemory.AllocZeroed((nuint)sizeof(MsgHdr));
        _clientHeader->NameLength = ClientNameRoom;
        _wakeValue = (ulong*)NativeMemory.AllocZeroed(sizeof(ulong));
        _messages = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(UdpPump.BatchSize * sizeof(MMsgHdr)));
        _iov = (IoVec*)NativeMemory.AllocZeroed((nuint)(UdpPump.BatchSize * sizeof(IoVec)));
        _names = (byte*)NativeMemory.AllocZeroed((nuint)(UdpPump.BatchSize * SocketAddressCapacity));
        for (var k = 0; k < UdpPump.BatchSize; k++)
        {
            _messages[k].Header.Iov = &_iov[k];
            _messages[k].Header.IovLength = 1;
            _messages[k].Header.Name = _names + (k * SocketAddressCapacity);
        }
    }

    private void Teardown()
    {
        if (_ring is null)
        {
            return;
        }

        // Closing the ring ends every receive and lets go of the sockets; the buffers are free after that.
        _ring.Dispose();
        ReleaseHeld();
        _originBuffers.Dispose();
        _clientBuffers?.Dispose();
        NativeMemory.Free(_originHeader);
        NativeMemory.Free(_clientHeader);
        NativeMemory.Free(_wakeValue);
        NativeMemory.Free(_messages);
        NativeMemory.Free(_iov);
        NativeMemory.Free(_names);
        while (_commands.TryDequeue(out var command))
        {
            command.Handle?.DangerousRelease();
        }

        _sessions.Clear();
    }

    private IoUring.Sqe* Sqe()
    {
        var sqe = _ring.NextSqe();
        if (sqe is null)
        {
            _ring.Submit();
            ReleaseHeld();
            sqe = _ring.NextSqe();
        }

        return sqe;
    }

    /// <summary>Lets go of sockets whose submissions are made: the kernel holds its own reference from then on.</summary>
    private void ReleaseHeld()
    {
        foreach (var handle in _held)
        {
            handle.DangerousRelease();
        }

        _held.Clear();
    }

    private void ArmWake()
    {
        var sqe = Sqe();
        sqe->Opcode = IoUring.OpRead;
        sqe->Fd = _wake;
        sqe->Address = (ulong)_wakeValue;
        sqe->Length = sizeof(ulong);
        sqe->Offset = ulong.MaxValue;
        sqe->UserData = WakeTag;
    }

    private void ArmReceive(int fd, ulong tag, ushort group, MsgHdr* header)
    {
        var sqe = Sqe();
        sqe->Opcode = IoUring.OpRecvMsg;
        sqe->Fd = fd;
        sqe->Address = (ulong)header;
        sqe->Length = 1;
        sqe->Flags = IoUring.SqeBufferSelect;
        sqe->IoPrio = IoUring.RecvMultishot;
        sqe->BufGroup = group;
        sqe->UserData = tag;
    }

    private void Cancel(ulong tag)
    {
        var sqe = Sqe();
        sqe->Opcode = IoUring.OpAsyncCancel;
        sqe->Fd = -1;
        sqe->Address = tag;
        sqe->UserData = tag | CancelBit;
    }

    /// <summary>Arms receives for added sessions and cancels those of removed ones, in the order asked.</summary>
    private void DrainCommands()
    {
        while (_commands.TryDequeue(out var command))
        {
            if (command.Session is { } session)
            {
                _sessions[command.Tag] = session;
                ArmReceive((int)command.Handle!.DangerousGetHandle(), command.Tag, OriginGroup, _originHeader);
                _held.Add(command.Handle);
            }
            else if (_sessions.Remove(command.Tag))
            {
                Cancel(command.Tag);
            }
        }
    }

    /// <summary>Handles every completion ready: relays the origins' datagrams in batches, hands the clients' on.</summary>
    private int Reap(int publicFd)
    {
        var handled = 0;
        var count = 0;
        while (true)
        {
            var completions = _ring.Completions(out var head);
            if (completions.IsEmpty)
            {
                break;
            }

            foreach (ref readonly var cqe in completions)
            {
                var tag = cqe.UserData;
                if (tag == WakeTag)
                {
                    if (!_stopping)
                    {
                        ArmWake();
                    }
                }
                else if (tag == PublicTag)
                {
                    handled++;
                    FromClient(cqe);
                    if ((cqe.Flags & IoUring.CqeMore) == 0 && !_stopping)
                    {
                        ArmReceive(publicFd, PublicTag, ClientGroup, _clientHeader);
                    }
                }
                else if ((tag & CancelBit) != 0)
                {
                    // A cancel's own completion: the cancelled receive reports separately.
                }
                else
                {
                    handled++;
                    if (count == UdpPump.BatchSize)
                    {
                        Flush(publicFd, count);
                        count = 0;
                    }

                    count = FromOrigin(cqe, count);
                }
            }

            _ring.Advance(head, completions.Length);
        }

        Flush(publicFd, count);
        _clientBuffers?.Publish();
        return handled;
    }

    private void FromClient(in IoUring.Cqe cqe)
    {
        if ((cqe.Flags & IoUring.CqeBuffer) == 0)
        {
            if (cqe.Result is not (-IoUring.Enobufs or -IoUring.Ecanceled))
            {
                // An ICMP error for an earlier send to a client: about that datagram, not the socket.
                _counters.Drop(DropReason.Malformed);
            }

            return;
        }

        var bid = (ushort)(cqe.Flags >> IoUring.CqeBufferShift);
        var buffer = _clientBuffers![bid];
        var header = (IoUring.RecvMsgOut*)buffer;
        var length = (int)header->PayloadLength;
        if ((header->Flags & MsgTrunc) != 0 || length > _maxDatagramSize)
        {
            _counters.Drop(DropReason.Malformed);
        }
        else
        {
            var nameLength = (int)Math.Min(header->NameLength, ClientNameRoom);
            var name = buffer + sizeof(IoUring.RecvMsgOut);
            new ReadOnlySpan<byte>(name, nameLength).CopyTo(_from.Buffer.Span);
            _from.Size = nameLength;
            _ingress!.OnDatagram(new ReadOnlySpan<byte>(name + ClientNameRoom, length), _from);
        }

        _clientBuffers.Recycle(bid);
    }

    private int FromOrigin(in IoUring.Cqe cqe, int count)
    {
        var tag = cqe.UserData;
        var more = (cqe.Flags & IoUring.CqeMore) != 0;
        _sessions.TryGetValue(tag, out var session);
        if ((cqe.Flags & IoUring.CqeBuffer) == 0)
        {
            if (cqe.Result is not (-IoUring.Enobufs or -IoUring.Ecanceled))
            {
                // The origin's port answered an earlier datagram with ICMP unreachable.
                _counters.Drop(DropReason.SendFailed);
            }

            if (!more && session?.OriginSocket is { } socket && !_stopping)
            {
                Rearm(tag, socket);
            }

            return count;
        }

        var bid = (ushort)(cqe.Flags >> IoUring.CqeBufferShift);
        var buffer = _originBuffers[bid];
        if (!more && session?.OriginSocket is { } rearm && !_stopping)
        {
            Rearm(tag, rearm);
        }

        var header = (IoUring.RecvMsgOut*)buffer;
        var length = (int)header->PayloadLength;
        if (session is null || (header->Flags & MsgTrunc) != 0 || length > _maxDatagramSize)
        {
            if (session is not null)
            {
                _counters.Drop(DropReason.Malformed);
            }

            _originBuffers.Recycle(bid);
            return count;
        }

        var payload = buffer + sizeof(IoUring.RecvMsgOut);
        var datagram = new ReadOnlySpan<byte>(payload, length);
        var client = session.DestinationOf(datagram);
        if (client is StreamAddress stream)
        {
            if (stream.Sink.TrySend(datagram))
            {
                session.PacketsToClient++;
                session.BytesToClient += length;
            }

            client = null;
        }

        if (client is null)
        {
            _originBuffers.Recycle(bid);
            return count;
        }

        var size = client.Size;
        client.Buffer.Span[..size].CopyTo(new Span<byte>(_messages[count].Header.Name, size));
        _messages[count].Header.NameLength = (uint)size;
        _iov[count].Base = payload;
        _iov[count].Length = (nuint)length;
        _senders[count] = session;
        _batchBuffers[count] = bid;
        return count + 1;
    }

    private void Rearm(ulong tag, Socket socket)
    {
        // Submitted with the next wait, after the batch's buffers are offered again: a receive that ended for want of
        // buffers (ENOBUFS) would end again at once.
        var handle = socket.SafeHandle;
        var held = false;
        try
        {
            handle.DangerousAddRef(ref held);
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        ArmReceive((int)handle.DangerousGetHandle(), tag, OriginGroup, _originHeader);
        _held.Add(handle);
    }

    private void Flush(int publicFd, int count)
    {
        var start = 0;
        while (start < count)
        {
            var sent = SendMmsg(publicFd, _messages + start, (uint)(count - start), 0);
            if (sent > 0)
            {
                for (var k = start; k < start + sent; k++)
                {
                    var session = _senders[k]!;
                    session.PacketsToClient++;
                    session.BytesToClient += (long)_iov[k].Length;
                }

                start += sent;
            }
            else if (sent < 0 && Marshal.GetLastPInvokeError() == Eintr)
            {
                continue;
            }
            else
            {
                _counters.Drop(DropReason.SendFailed);
                start++;
            }
        }

        for (var k = 0; k < count; k++)
        {
            _originBuffers.Recycle(_batchBuffers[k]);
        }

        _originBuffers.Publish();
        Array.Clear(_senders, 0, count);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        WakeUp();
        if (!_thread.Join(TimeSpan.FromSeconds(5)))
        {
            return;
        }

        Close(_wake);
    }
}
