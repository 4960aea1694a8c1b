using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using SrsProxy.Configuration;
using static SrsProxy.Udp.LinuxUdp;

namespace SrsProxy.Udp;

/// <summary>
/// The origin-to-client half of a <see cref="UdpRelayEngine"/> on Linux: one thread with its own epoll set
/// of session sockets. Each wake-up reads every readable session socket with <c>recvmmsg</c> into one batch,
/// then sends the batch to the clients through the public socket with <c>sendmmsg</c>. An origin sends a
/// stream's packet to all its players at once, so a burst to N players costs a few system calls instead of
/// 2N, and the last player of the burst waits less.
/// A session socket needs no receive buffer, task or state machine of its own while idle: the pump's
/// buffers serve them all. Nothing is allocated per datagram.
/// </summary>
internal sealed unsafe class UdpPump : IDisposable
{
    /// <summary>Datagrams sent per <c>sendmmsg</c>.</summary>
    internal const int BatchSize = 64;

    /// <summary>Datagrams read from one socket per wake-up; epoll reports a socket with more again.</summary>
    private const int PerSocket = 16;

    private const int MaxEvents = 256;

    /// <summary>Datagrams read from the public socket per <c>recvmmsg</c> (clients to origins).</summary>
    internal const int IngressBatchSize = 32;

    /// <summary>
    /// Batches read from the public socket per wake-up at most: 256 datagrams every 250 µs of coalescing is a
    /// million a second, far above what one thread relays, and the bound keeps the origins' side served.
    /// </summary>
    private const int IngressBatchesPerWake = 8;

    /// <summary>The epoll tag of the pump's own eventfd, which wakes it to stop. Sessions get tags from 1.</summary>
    private const ulong WakeTag = 0;

    /// <summary>The epoll tag of the public socket, on the one pump that reads it.</summary>
    private const ulong PublicTag = ulong.MaxValue;

    private static long s_nextTag;

    private readonly int _epoll;
    private readonly int _wake;
    private readonly Socket _public;
    private readonly UdpCounters _counters;
    private readonly int _maxDatagramSize;
    private readonly Action<Exception> _failed;
    private readonly ConcurrentDictionary<ulong, UdpSession> _sessions = new();
    private readonly UdpSession?[] _senders = new UdpSession?[BatchSize];
    private readonly MMsgHdr* _messages;
    private readonly IoVec* _iov;
    private readonly byte* _names;
    private readonly byte* _buffers;
    private readonly byte* _events;
    private readonly IUdpRelayHandler? _ingress;
    private readonly long _coalesceNanoseconds;
    private readonly PumpPriority _priority;
    private readonly Action<int>? _priorityRefused;
    private readonly MMsgHdr* _inMessages;
    private readonly IoVec* _inIov;
    private readonly byte* _inNames;
    private readonly byte* _inBuffers;
    private readonly SocketAddress _from;
    private readonly Thread _thread;
    private volatile bool _stopping;
    private int _disposed;
    private int _threadId;

    /// <summary>
    /// A pump thread. With <paramref name="ingress"/>, it also reads the public socket and hands each client
    /// datagram to it, so one wake-up serves both directions and .NET's socket engine never polls the public
    /// socket. With <paramref name="coalesce"/> above zero, after each wake-up's work the thread sleeps that
    /// long and then takes what arrived meanwhile without blocking: a burst spread over that time costs one
    /// wake-up instead of one per datagram, and no datagram waits longer than that.
    /// </summary>
    public UdpPump(string name, Socket publicSocket, int maxDatagramSize, UdpCounters counters, Action<Exception> failed,
        IUdpRelayHandler? ingress = null, TimeSpan coalesce = default, PumpPriority priority = PumpPriority.Normal,
        Action<int>? priorityRefused = null)
    {
        _priority = priority;
        _priorityRefused = priorityRefused;
        _public = publicSocket;
        _ingress = ingress;
        _coalesceNanoseconds = coalesce.Ticks * 100;
        _from = new SocketAddress(publicSocket.AddressFamily);
        _maxDatagramSize = maxDatagramSize;
        _counters = counters;
        _failed = failed;
        _epoll = EpollCreate(EpollCloexec);
        _wake = _epoll < 0 ? -1 : EventFd(0, EfdCloexec | EfdNonblock);
        if (_wake < 0 || EpollAdd(_epoll, _wake, WakeTag) != 0)
        {
            var error = Marshal.GetLastPInvokeError();
            CloseDescriptors();
            throw new SocketException(error);
        }

        _messages = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(BatchSize * sizeof(MMsgHdr)));
        _iov = (IoVec*)NativeMemory.AllocZeroed((nuint)(BatchSize * sizeof(IoVec)));
        _names = (byte*)NativeMemory.AllocZeroed((nuint)(BatchSize * SocketAddressCapacity));
        _buffers = (byte*)NativeMemory.Alloc((nuint)(BatchSize * _maxDatagramSize));
        _events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * EpollEventSize));
        for (var k = 0; k < BatchSize; k++)
        {
            _iov[k].Base = _buffers + (k * _maxDatagramSize);
            _messages[k].Header.Iov = &_iov[k];
            _messages[k].Header.IovLength = 1;
        }

        if (ingress is not null)
        {
            _inMessages = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(IngressBatchSize * sizeof(MMsgHdr)));
            _inIov = (IoVec*)NativeMemory.AllocZeroed((nuint)(IngressBatchSize * sizeof(IoVec)));
            _inNames = (byte*)NativeMemory.AllocZeroed((nuint)(IngressBatchSize * SocketAddressCapacity));
            _inBuffers = (byte*)NativeMemory.Alloc((nuint)(IngressBatchSize * (_maxDatagramSize + 1)));
            for (var k = 0; k < IngressBatchSize; k++)
            {
                _inIov[k].Base = _inBuffers + (k * (_maxDatagramSize + 1));
                _inMessages[k].Header.Iov = &_inIov[k];
                _inMessages[k].Header.IovLength = 1;
            }

            if (!WithDescriptor(publicSocket, fd => EpollAdd(_epoll, fd, PublicTag) == 0))
            {
                var error = Marshal.GetLastPInvokeError();
                FreeBuffers();
                CloseDescriptors();
                throw new SocketException(error);
            }
        }

        Name = name;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>The thread's name (<c>rtc-pump-0</c>), as <c>/proc</c> and profiles show it.</summary>
    public string Name { get; }

    /// <summary>The kernel's id of the pump's thread, 0 until it runs: where <see cref="PumpThreadStats"/> reads its counts.</summary>
    public int ThreadId => Volatile.Read(ref _threadId);

    /// <summary>Starts reading the session's origin socket. False if the socket is already closed.</summary>
    public bool Add(UdpSession session, Socket socket)
    {
        var tag = (ulong)Interlocked.Increment(ref s_nextTag);
        _sessions[tag] = session;
        session.PumpTag = tag;
        var added = WithDescriptor(socket, fd => EpollAdd(_epoll, fd, tag) == 0);
        if (!added)
        {
            _sessions.TryRemove(tag, out _);
            session.PumpTag = 0;
            return false;
        }

        if (session.IsClosed)
        {
            // Closed while being added: the closer may have looked before the tag was set.
            Remove(session, socket);
        }

        return true;
    }

    /// <summary>Stops reading the session's socket; call before disposing it. Safe to call twice.</summary>
    public void Remove(UdpSession session, Socket socket)
    {
        var tag = Interlocked.Exchange(ref session.PumpTag, 0);
        if (tag == 0)
        {
            return;
        }

        _sessions.TryRemove(tag, out _);
        if (Volatile.Read(ref _disposed) == 0)
        {
            // A socket already closed has left the epoll set by itself.
            WithDescriptor(socket, fd => EpollRemove(_epoll, fd) == 0);
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> with the socket's descriptor held open, so that a concurrent close cannot
    /// hand the number to another socket in between. False if the socket is already closed.
    /// </summary>
    private static bool WithDescriptor(Socket socket, Func<int, bool> action)
    {
        var handle = socket.SafeHandle;
        var held = false;
        try
        {
            handle.DangerousAddRef(ref held);
            return action((int)handle.DangerousGetHandle());
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (held)
            {
                handle.DangerousRelease();
            }
        }
    }

    private void Run()
    {
        try
        {
            Volatile.Write(ref _threadId, ThreadScheduling.CurrentThreadId());
            if (_priority != PumpPriority.Normal && ThreadScheduling.ApplyToCurrentThread(_priority) is var refused and not 0)
            {
                _priorityRefused?.Invoke(refused);
            }

            // The public socket outlives the pump: the relay stops its pumps before closing it.
            var publicFd = (int)_public.SafeHandle.DangerousGetHandle();

            // -1: block until something arrives; 0: just slept to coalesce, take what is there without blocking.
            var timeout = -1;
            while (!_stopping)
            {
                var ready = EpollWait(_epoll, _events, MaxEvents, timeout);
                if (ready < 0)
                {
                    var error = Marshal.GetLastPInvokeError();
                    if (error == Eintr)
                    {
                        continue;
                    }

                    throw new SocketException(error);
                }

                if (ready == 0)
                {
                    // Quiet since the last batch: wait for the next datagram, however long.
                    timeout = -1;
                    continue;
                }

                var count = 0;
                for (var i = 0; i < ready; i++)
                {
                    var tag = ReadEpollData(_events, i);
                    if (tag == WakeTag)
                    {
                        ulong value;
                        Read(_wake, &value, sizeof(ulong));
                    }
                    else if (tag == PublicTag)
                    {
                        ReceiveFromClients(publicFd);
                    }
                    else if (_sessions.TryGetValue(tag, out var session))
                    {
                        if (count > BatchSize - PerSocket)
                        {
                            Flush(publicFd, count);
                            count = 0;
                        }

                        count = Receive(session, count);
                    }
                }

                Flush(publicFd, count);
                if (_coalesceNanoseconds > 0 && !_stopping)
                {
                    SleepNanoseconds(_coalesceNanoseconds);
                    timeout = 0;
                }
            }
        }
        catch (Exception e)
        {
            _failed(e);
        }
    }

    /// <summary>
    /// Reads what the public socket holds and hands each datagram to the protocol: batch after batch while they
    /// come full, at most <see cref="IngressBatchesPerWake"/>; epoll reports the socket again for the rest.
    /// </summary>
    private void ReceiveFromClients(int publicFd)
    {
        for (var batch = 0; batch < IngressBatchesPerWake; batch++)
        {
            if (ReceiveBatchFromClients(publicFd) < IngressBatchSize)
            {
                return;
            }
        }
    }

    /// <summary>
    /// One <c>recvmmsg</c> on the public socket. A datagram longer than the relay takes is dropped whole and
    /// counted. Returns how many datagrams were read.
    /// </summary>
    private int ReceiveBatchFromClients(int publicFd)
    {
        for (var k = 0; k < IngressBatchSize; k++)
        {
            _inMessages[k].Header.Name = _inNames + (k * SocketAddressCapacity);
            _inMessages[k].Header.NameLength = SocketAddressCapacity;
            _inMessages[k].Header.Flags = 0;
            _inIov[k].Length = (nuint)(_maxDatagramSize + 1);
        }

        var received = RecvMmsg(publicFd, _inMessages, IngressBatchSize, MsgDontWait, null);
        if (received <= 0)
        {
            if (received < 0 && Marshal.GetLastPInvokeError() is not (Eagain or Eintr))
            {
                // An ICMP error for an earlier send to a client: about that datagram, not the socket.
                _counters.Drop(DropReason.Malformed);
            }

            return 0;
        }

        var address = _from.Buffer.Span;
        for (var k = 0; k < received; k++)
        {
            var length = (int)_inMessages[k].Length;
            if ((_inMessages[k].Header.Flags & MsgTrunc) != 0 || length > _maxDatagramSize)
            {
                _counters.Drop(DropReason.Malformed);
                continue;
            }

            var nameLength = (int)_inMessages[k].Header.NameLength;
            new ReadOnlySpan<byte>(_inNames + (k * SocketAddressCapacity), nameLength).CopyTo(address);
            _from.Size = nameLength;
            _ingress!.OnDatagram(new ReadOnlySpan<byte>(_inIov[k].Base, length), _from);
        }

        return received;
    }

    /// <summary>Reads what the session's socket holds into the batch from slot <paramref name="count"/> on.</summary>
    private int Receive(UdpSession session, int count)
    {
        var socket = session.OriginSocket;
        if (socket is null)
        {
            return count;
        }

        var handle = socket.SafeHandle;
        var held = false;
        try
        {
            handle.DangerousAddRef(ref held);
        }
        catch (ObjectDisposedException)
        {
            return count;
        }

        try
        {
            for (var k = count; k < count + PerSocket; k++)
            {
                _messages[k].Header.Name = null;
                _messages[k].Header.NameLength = 0;
                _messages[k].Header.Flags = 0;
                _iov[k].Length = (nuint)_maxDatagramSize;
            }

            var received = RecvMmsg((int)handle.DangerousGetHandle(), _messages + count, PerSocket, MsgDontWait, null);
            if (received <= 0)
            {
                if (received < 0 && Marshal.GetLastPInvokeError() is not (Eagain or Eintr))
                {
                    // The origin's port answered an earlier datagram with ICMP unreachable.
                    _counters.Drop(DropReason.SendFailed);
                }

                return count;
            }

            // No Touch here: the idle clock counts only the client's datagrams, so a client that vanished
            // loses its session however long the origin keeps sending (issue 12, dead players).
            var kept = count;
            for (var k = count; k < count + received; k++)
            {
                if ((_messages[k].Header.Flags & MsgTrunc) != 0)
                {
                    _counters.Drop(DropReason.Malformed);
                    continue;
                }

                var length = (int)_messages[k].Length;
                var datagram = new ReadOnlySpan<byte>(_iov[k].Base, length);
                var client = session.DestinationOf(datagram);
                if (client is null)
                {
                    continue;
                }

                if (client is StreamAddress stream)
                {
                    // The player's path is a TCP connection (ICE-TCP): the datagram is copied into its queue and
                    // leaves the batch; a full queue is the connection's counted drop.
                    if (stream.Sink.TrySend(datagram))
                    {
                        session.PacketsToClient++;
                        session.BytesToClient += length;
                    }

                    continue;
                }

                if (kept != k)
                {
                    // Keep the batch contiguous: the kept datagram's buffer moves to the kept slot.
                    var keptBuffer = _iov[kept].Base;
                    _iov[kept].Base = _iov[k].Base;
                    _iov[k].Base = keptBuffer;
                }

                var name = _names + (kept * SocketAddressCapacity);
                var size = client.Size;
                client.Buffer.Span[..size].CopyTo(new Span<byte>(name, size));
                _messages[kept].Header.Name = name;
                _messages[kept].Header.NameLength = (uint)size;
                _iov[kept].Length = (nuint)length;
                _senders[kept] = session;
                kept++;
            }

            return kept;
        }
        finally
        {
            handle.DangerousRelease();
        }
    }

    /// <summary>Sends slots 0 to <paramref name="count"/> to their clients; a datagram the kernel refuses is counted.</summary>
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

        Array.Clear(_senders, 0, count);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping = true;
        ulong one = 1;
        Write(_wake, &one, sizeof(ulong));
        if (!_thread.Join(TimeSpan.FromSeconds(5)))
        {
            // The thread still uses the buffers; leak them rather than free memory in use.
            return;
        }

        CloseDescriptors();
        FreeBuffers();
        _sessions.Clear();
    }

    private void FreeBuffers()
    {
        NativeMemory.Free(_messages);
        NativeMemory.Free(_iov);
        NativeMemory.Free(_names);
        NativeMemory.Free(_buffers);
        NativeMemory.Free(_events);
        NativeMemory.Free(_inMessages);
        NativeMemory.Free(_inIov);
        NativeMemory.Free(_inNames);
        NativeMemory.Free(_inBuffers);
    }

    private void CloseDescriptors()
    {
        if (_wake >= 0)
        {
            Close(_wake);
        }

        if (_epoll >= 0)
        {
            Close(_epoll);
        }
    }
}
