/*
 * floor-relay: the proxy's WebRTC relay path with nothing else, the benchmark's "floor" mode (scripts/bench
 * --modes proxy,floor,direct). It makes the same system calls as the proxy's pump (Proxy/Udp/UdpPump.cs) in
 * the same order, and does the least user-space work a relay can: no STUN parsing beyond "is this a binding
 * request", no username lookup, no counters, no consent or idle sweeps, no managed runtime. What it costs per
 * datagram under a traffic pattern is what that pattern costs the kernel with this design: the floor the
 * proxy is compared with.
 *
 *   floor-relay ORIGIN_IP ORIGIN_PORT COALESCE_US
 *
 * One UDP socket on 127.0.0.1 (an ephemeral port, printed as "port N" on stdout) takes the players' datagrams.
 * The first datagram from a new player address, if it is a STUN binding request, opens that player's session:
 * a socket connected to the origin, as the proxy opens one per session. From then on, the player's datagrams
 * go to the origin through its session socket (send), and what the origin sends to a session socket goes to
 * its player through the public socket (recvmmsg on each ready session socket, one sendmmsg per batch).
 * After each wake-up's work the thread sleeps COALESCE_US microseconds and then takes what arrived meanwhile
 * without blocking, as the pump does (PROXY_RTC_COALESCE, 250 µs by default there too).
 *
 * Sessions are never closed: the benchmark stops the process after the mode.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The pump's constants (UdpPump.cs) and the proxy's defaults (ProxyOptions.cs). */
enum {
    BATCH = 64,               /* datagrams per sendmmsg */
    PER_SOCKET = 16,          /* datagrams read from one session socket per wake-up */
    MAX_EVENTS = 256,
    INGRESS_BATCH = 32,       /* datagrams per recvmmsg on the public socket */
    INGRESS_BATCHES = 8,      /* such batches per wake-up at most */
    MAX_DATAGRAM = 4096,      /* RtcRelay.MaxDatagramSize */
    PUBLIC_BUFFER = 8 << 20,  /* PROXY_RTC_SOCKET_BUFFER */
    SESSION_BUFFER = 1 << 20, /* PROXY_RTC_SESSION_SOCKET_BUFFER */
    MAX_SESSIONS = 16384,
    TABLE_SIZE = 32768,       /* open addressing, a power of two at least twice MAX_SESSIONS */
};

static const uint64_t PUBLIC_TAG = UINT64_MAX;

struct session {
    int fd;
    struct sockaddr_in player;
};

static struct session sessions[MAX_SESSIONS];
static int session_count;
/* Player address -> session index + 1; 0 is an empty slot. */
static uint64_t table_keys[TABLE_SIZE];
static int table_values[TABLE_SIZE];

static struct mmsghdr out_messages[BATCH];
static struct iovec out_iov[BATCH];
static unsigned char out_buffers[BATCH][MAX_DATAGRAM];

static struct mmsghdr in_messages[INGRESS_BATCH];
static struct iovec in_iov[INGRESS_BATCH];
static struct sockaddr_in in_names[INGRESS_BATCH];
static unsigned char in_buffers[INGRESS_BATCH][MAX_DATAGRAM + 1];

static struct sockaddr_in origin;
static int epoll_fd;
static int public_fd;

static void fail(const char *what)
{
    fprintf(stderr, "floor-relay: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint64_t key_of(const struct sockaddr_in *address)
{
    return ((uint64_t)address->sin_addr.s_addr << 16) | address->sin_port;
}

static unsigned slot_of(uint64_t key)
{
    return (unsigned)((key * 0x9E3779B97F4A7C15ull) >> 49) & (TABLE_SIZE - 1);
}

static struct session *find(const struct sockaddr_in *player)
{
    uint64_t key = key_of(player);
    for (unsigned slot = slot_of(key);; slot = (slot + 1) & (TABLE_SIZE - 1)) {
        if (table_values[slot] == 0)
            return NULL;
        if (table_keys[slot] == key)
            return &sessions[table_values[slot] - 1];
    }
}

/* A STUN binding request (RFC 8489): top two bits zero, type 0x0001, the magic cookie. */
static int is_binding_request(const unsigned char *data, size_t length)
{
    return length >= 20 && data[0] == 0x00 && data[1] == 0x01 &&
           data[4] == 0x21 && data[5] == 0x12 && data[6] == 0xA4 && data[7] == 0x42;
}

static struct session *open_session(const struct sockaddr_in *player)
{
    if (session_count == MAX_SESSIONS)
        return NULL;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    int size = SESSION_BUFFER;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (connect(fd, (const struct sockaddr *)&origin, sizeof origin) != 0) {
        close(fd);
        return NULL;
    }

    int index = session_count;
    struct epoll_event event = { .events = EPOLLIN, .data.u64 = (uint64_t)index + 1 };
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
        close(fd);
        return NULL;
    }

    session_count++;
    sessions[index].fd = fd;
    sessions[index].player = *player;
    uint64_t key = key_of(player);
    unsigned slot = slot_of(key);
    while (table_values[slot] != 0)
        slot = (slot + 1) & (TABLE_SIZE - 1);
    table_keys[slot] = key;
    table_values[slot] = index + 1;
    return &sessions[index];
}

/* Players to origin: batch after batch while they come full, as the pump's ReceiveFromClients. */
static void receive_from_players(void)
{
    for (int batch = 0; batch < INGRESS_BATCHES; batch++) {
        for (int k = 0; k < INGRESS_BATCH; k++) {
            in_messages[k].msg_hdr.msg_name = &in_names[k];
            in_messages[k].msg_hdr.msg_namelen = sizeof in_names[k];
            in_messages[k].msg_hdr.msg_flags = 0;
            in_iov[k].iov_len = MAX_DATAGRAM + 1;
        }

        int received = recvmmsg(public_fd, in_messages, INGRESS_BATCH, MSG_DONTWAIT, NULL);
        if (received <= 0)
            return;
        for (int k = 0; k < received; k++) {
            size_t length = in_messages[k].msg_len;
            if ((in_messages[k].msg_hdr.msg_flags & MSG_TRUNC) || length > MAX_DATAGRAM)
                continue;
            struct session *session = find(&in_names[k]);
            if (session == NULL && is_binding_request(in_buffers[k], length))
                session = open_session(&in_names[k]);
            if (session != NULL)
                send(session->fd, in_buffers[k], length, MSG_DONTWAIT);
        }

        if (received < INGRESS_BATCH)
            return;
    }
}

/* What the session socket holds, into the batch from slot count on; returns the new count. */
static int receive_from_origin(struct session *session, int count)
{
    for (int k = count; k < count + PER_SOCKET; k++) {
        out_messages[k].msg_hdr.msg_name = NULL;
        out_messages[k].msg_hdr.msg_namelen = 0;
        out_messages[k].msg_hdr.msg_flags = 0;
        out_iov[k].iov_len = MAX_DATAGRAM;
    }

    int received = recvmmsg(session->fd, out_messages + count, PER_SOCKET, MSG_DONTWAIT, NULL);
    if (received <= 0)
        return count;
    int kept = count;
    for (int k = count; k < count + received; k++) {
        if (out_messages[k].msg_hdr.msg_flags & MSG_TRUNC)
            continue;
        if (kept != k) {
            void *buffer = out_iov[kept].iov_base;
            out_iov[kept].iov_base = out_iov[k].iov_base;
            out_iov[k].iov_base = buffer;
        }

        out_messages[kept].msg_hdr.msg_name = &session->player;
        out_messages[kept].msg_hdr.msg_namelen = sizeof session->player;
        out_iov[kept].iov_len = out_messages[k].msg_len;
        kept++;
    }

    return kept;
}

static void flush(int count)
{
    int start = 0;
    while (start < count) {
        int sent = sendmmsg(public_fd, out_messages + start, (unsigned)(count - start), 0);
        if (sent > 0)
            start += sent;
        else if (sent < 0 && errno == EINTR)
            continue;
        else
            start++;
    }
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: floor-relay ORIGIN_IP ORIGIN_PORT COALESCE_US\n");
        return 2;
    }

    origin.sin_family = AF_INET;
    origin.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &origin.sin_addr) != 1) {
        fprintf(stderr, "floor-relay: not an IPv4 address: %s\n", argv[1]);
        return 2;
    }

    long coalesce_ns = atol(argv[3]) * 1000;

    /* The benchmark's load generator runs at idle priority and this process is its child: run as the proxy
       does, under the normal policy. */
    struct sched_param normal = { 0 };
    if (sched_setscheduler(0, SCHED_OTHER, &normal) != 0 || setpriority(PRIO_PROCESS, 0, 0) != 0)
        fprintf(stderr, "floor-relay: cannot leave the load generator's scheduling: %s\n", strerror(errno));

    public_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (public_fd < 0)
        fail("socket");
    int size = PUBLIC_BUFFER;
    setsockopt(public_fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(public_fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    struct sockaddr_in local = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t local_length = sizeof local;
    if (bind(public_fd, (struct sockaddr *)&local, sizeof local) != 0 ||
        getsockname(public_fd, (struct sockaddr *)&local, &local_length) != 0)
        fail("bind");

    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event event = { .events = EPOLLIN, .data.u64 = PUBLIC_TAG };
    if (epoll_fd < 0 || epoll_ctl(epoll_fd, EPOLL_CTL_ADD, public_fd, &event) != 0)
        fail("epoll");

    for (int k = 0; k < BATCH; k++) {
        out_iov[k].iov_base = out_buffers[k];
        out_messages[k].msg_hdr.msg_iov = &out_iov[k];
        out_messages[k].msg_hdr.msg_iovlen = 1;
    }

    for (int k = 0; k < INGRESS_BATCH; k++) {
        in_iov[k].iov_base = in_buffers[k];
        in_messages[k].msg_hdr.msg_iov = &in_iov[k];
        in_messages[k].msg_hdr.msg_iovlen = 1;
    }

    printf("port %d\n", ntohs(local.sin_port));
    fflush(stdout);

    static struct epoll_event events[MAX_EVENTS];
    int timeout = -1;
    for (;;) {
        int ready = epoll_wait(epoll_fd, events, MAX_EVENTS, timeout);
        if (ready < 0) {
            if (errno == EINTR)
                continue;
            fail("epoll_wait");
        }

        if (ready == 0) {
            timeout = -1;
            continue;
        }

        int count = 0;
        for (int i = 0; i < ready; i++) {
            uint64_t tag = events[i].data.u64;
            if (tag == PUBLIC_TAG) {
                receive_from_players();
            } else {
                if (count > BATCH - PER_SOCKET) {
                    flush(count);
                    count = 0;
                }

                count = receive_from_origin(&sessions[tag - 1], count);
            }
        }

        flush(count);
        if (coalesce_ns > 0) {
            struct timespec pause = { .tv_sec = coalesce_ns / 1000000000, .tv_nsec = coalesce_ns % 1000000000 };
            clock_nanosleep(CLOCK_MONOTONIC, 0, &pause, NULL);
            timeout = 0;
        }
    }
}
