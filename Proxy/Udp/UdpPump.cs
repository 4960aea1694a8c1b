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

    /// <summary>Datagrams per segmented send at most (the kernel's <c>UDP_MAX_SEGMENTS</c> was 64 before Linux 6.3).</summary>
    private const int MaxSegments = 64;

    /// <summary>
    /// Largest datagram sent segmented: it must fit the path's MTU whole (1,500 on most links, less IP and UDP
    /// headers), or the kernel refuses the send; larger ones go alone, as before.
    /// </summary>
    private const int MaxSegmentSize = 1400;

    /// <summary>A segmented send's payload at most: one IP packet's worth.</summary>
    private const int MaxSegmentedBytes = 60_000;

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
    private readonly SocketAddress?[] _clients = new SocketAddress?[BatchSize];
    private readonly int[] _firstSlot = new int[BatchSize];
    private readonly int[] _segments = new int[BatchSize];
    private readonly int[] _segmentSize = new int[BatchSize];
    private readonly int[] _bytes = new int[BatchSize];
    private readonly MMsgHdr* _messages;
    private readonly MMsgHdr* _out;
    private readonly byte* _control;
    private int _outCount;
    private bool _gso = Environment.GetEnvironmentVariable("PROXY_UDP_GSO") != "0";
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
        _out = (MMsgHdr*)NativeMemory.AllocZeroed((nuint)(BatchSize * sizeof(MMsgHdr)));
        _control = (byte*)NativeMemory.AllocZeroed((nuint)(BatchSize * SegmentControlSize));
        for (var m = 0; m < BatchSize; m++)
        {
            _out[m].Header.Name = _names + (m * SocketAddressCapacity);
            WriteSegmentControl(_control + (m * SegmentControlSize));
        }
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

                _iov[kept].Length = (nuint)length;
                Append(kept, session, client, length);
                kept++;
            }

            return kept;
        }
        finally
        {
            handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Adds the datagram in slot <paramref name="slot"/> to the batch. Consecutive datagrams of one session to one
    /// client ride in one message when the kernel can cut them apart again (<c>UDP_SEGMENT</c>, generic segmentation
    /// offload): all of one size but the last, which may be shorter. The kernel then routes and builds one packet
    /// for the lot and splits it as late as it can; the client still receives each datagram on its own, in order.
    /// </summary>
    private void Append(int slot, UdpSession session, SocketAddress client, int length)
    {
        if (_gso && _outCount > 0)
        {
            var m = _outCount - 1;
            if (ReferenceEquals(_clients[m], client) && ReferenceEquals(_senders[m], session)
                && _firstSlot[m] + _segments[m] == slot
                && _bytes[m] == _segments[m] * _segmentSize[m] // the last so far is full size: another may follow
                && length <= _segmentSize[m] && _segmentSize[m] <= MaxSegmentSize
                && _segments[m] < MaxSegments && _bytes[m] + length <= MaxSegmentedBytes)
            {
                if (_segments[m] == 1)
                {
                    *(ushort*)(_control + (m * SegmentControlSize) + CmsgHeaderSize) = (ushort)_segmentSize[m];
                    _out[m].Header.Control = _control + (m * SegmentControlSize);
                    _out[m].Header.ControlLength = SegmentControlSize;
                }

                _segments[m]++;
                _bytes[m] += length;
                _out[m].Header.IovLength = (nuint)_segments[m];
                return;
            }
        }

        var next = _outCount++;
        var size = client.Size;
        client.Buffer.Span[..size].CopyTo(new Span<byte>(_out[next].Header.Name, size));
        _out[next].Header.NameLength = (uint)size;
        _out[next].Header.Iov = &_iov[slot];
        _out[next].Header.IovLength = 1;
        _out[next].Header.Control = null;
        _out[next].Header.ControlLength = 0;
        _out[next].Header.Flags = 0;
        _senders[next] = session;
        _clients[next] = client;
        _firstSlot[next] = slot;
        _segments[next] = 1;
        _segmentSize[next] = length;
        _bytes[next] = length;
    }

    /// <summary>Sends the batch to the clients; a datagram the kernel refuses is counted.</summary>
    private void Flush(int publicFd, int count)
    {
        var start = 0;
        while (start < _outCount)
        {
            var sent = SendMmsg(publicFd, _out + start, (uint)(_outCount - start), 0);
            if (sent > 0)
            {
                for (var m = start; m < start + sent; m++)
                {
                    var session = _senders[m]!;
                    session.PacketsToClient += _segments[m];
                    session.BytesToClient += _bytes[m];
                }

                start += sent;
                continue;
            }

            var error = sent < 0 ? Marshal.GetLastPInvokeError() : 0;
            if (error == Eintr)
            {
                continue;
            }

            if (_segments[start] > 1)
            {
                // The route refused the segmented send (a device without checksum offload: EIO, so never again;
                // a path MTU below the segment size: EINVAL, for this one). Its datagrams go one by one.
                if (error == Eio)
                {
                    _gso = false;
                }

                SendSegments(publicFd, start);
            }
            else
            {
                _counters.Drop(DropReason.SendFailed);
            }

            start++;
        }

        _outCount = 0;
        Array.Clear(_senders, 0, count);
        Array.Clear(_clients, 0, count);
    }

    private void SendSegments(int publicFd, int m)
    {
        var session = _senders[m]!;
        for (var i = 0; i < _segments[m]; i++)
        {
            var single = new MsgHdr
            {
                Name = _out[m].Header.Name,
                NameLength = _out[m].Header.NameLength,
                Iov = &_iov[_firstSlot[m] + i],
                IovLength = 1,
            };
            if (SendMsg(publicFd, &single, 0) >= 0)
            {
                session.PacketsToClient++;
                session.BytesToClient += (long)single.Iov->Length;
            }
            else
            {
                _counters.Drop(DropReason.SendFailed);
            }
        }
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
        NativeMemory.Free(_out);
        NativeMemory.Free(_control);
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
