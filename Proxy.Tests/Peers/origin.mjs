#!/usr/bin/env node
// SRS-like WebRTC origin used as a test peer for the C# srs-proxy replacement.
//
// What it imitates from an SRS origin:
//   * ICE-lite, ONE public UDP port (--rtc-port) shared by all sessions, the SDP
//     answer advertises "<ip> <rtc-port> typ host" (udp) plus a tcp passive line.
//   * HTTP API: WHEP/WHIP (/rtc/v1/whep/, /rtc/v1/whip/), the older JSON API
//     (/rtc/v1/play/, /rtc/v1/publish/), /api/v1/versions, CORS like SRS.
//   * Registration heartbeats to the proxy (same JSON body SRS sends).
//
// werift cannot share one UDP port between peer connections, so this file
// contains a small "UDP front": one public socket on --rtc-port demultiplexes
// datagrams to per-session werift peer connections that listen on internal
// loopback ports.  First contact from a remote address must be a STUN binding
// request whose USERNAME is "<answer ufrag>:<offer ufrag>"; after that all
// datagrams from that address (STUN, DTLS, SRTP, SRTCP) are relayed.  Each
// session has one internal relay socket and, like SRS, one current remote
// address: a binding request with the session's USERNAME from a new address
// moves the session there ("session address change", as SRS logs it), and
// werift's replies leave the public socket towards the current address.
//
// Test introspection: GET /debug/sessions, POST /debug/heartbeat?enabled=false.
//
// stdout: exactly one line "READY {...}".  Everything else goes to stderr.

import http from "node:http";
import dgram from "node:dgram";
import crypto from "node:crypto";
import { spawn } from "node:child_process";
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  MediaStreamTrack,
  RtpPacket,
} from "werift";

// ---------------------------------------------------------------- CLI parsing
function parseArgs(argv) {
  const opts = {
    apiPort: 0,
    rtcPort: 0,
    ip: "127.0.0.1",
    bind: "127.0.0.1",
    register: null,
    registerIntervalMs: 9000,
    serverId: "vid-" + crypto.randomBytes(4).toString("hex"),
    video: [],
    sessionTimeoutMs: 30000,
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
      return argv[++i];
    };
    switch (a) {
      case "--api-port": opts.apiPort = Number(next()); break;
      case "--rtc-port": opts.rtcPort = Number(next()); break;
      case "--ip": opts.ip = next(); break;
      case "--bind": opts.bind = next(); break;
      case "--register": opts.register = next(); break;
      case "--register-interval-ms": opts.registerIntervalMs = Number(next()); break;
      case "--server-id": opts.serverId = next(); break;
      case "--video": opts.video.push(next().replace(/^\/+/, "")); break;
      case "--session-timeout-ms": opts.sessionTimeoutMs = Number(next()); break;
      case "-h":
      case "--help":
        process.stderr.write(
          "usage: node origin.mjs --api-port N --rtc-port N [--ip 127.0.0.1] [--bind 127.0.0.1]\n" +
          "         [--register URL] [--register-interval-ms 9000] [--server-id ID]\n" +
          "         [--video app/stream]... [--session-timeout-ms 30000]\n");
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  return opts;
}

const opts = parseArgs(process.argv);
const SERVICE_ID = crypto.randomBytes(6).toString("base64url").replace(/[^A-Za-z0-9]/g, "x").slice(0, 8);
const PID = String(process.pid);

// Keep stdout clean: werift and friends may use console.log.
const stdoutWrite = process.stdout.write.bind(process.stdout);
console.log = (...a) => process.stderr.write(a.map(String).join(" ") + "\n");
console.info = console.log;
console.debug = console.log;

function log(...a) {
  const ts = new Date().toISOString().slice(11, 23);
  process.stderr.write(`[origin ${opts.serverId} ${ts}] ${a.join(" ")}\n`);
}

// ---------------------------------------------------------------- media setup
const VIDEO_CODECS = [
  new RTCRtpCodecParameters({
    mimeType: "video/VP8",
    clockRate: 90000,
    rtcpFeedback: [
      { type: "nack" },
      { type: "nack", parameter: "pli" },
      { type: "ccm", parameter: "fir" },
      { type: "goog-remb" },
    ],
  }),
];
const AUDIO_CODECS = [
  new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48000, channels: 2 }),
];

/**
 * Streams: key "app/stream" -> {
 *   key, source: "ffmpeg"|"whip"|null, publisher: session|null,
 *   players: Set<session>, requestKeyframe(): void, ffmpeg: ChildProcess|null }
 */
const streams = new Map();
function getStream(key) {
  let s = streams.get(key);
  if (!s) {
    s = { key, source: null, publisher: null, players: new Set(), requestKeyframe: () => {}, ffmpeg: null, rtpIn: 0 };
    streams.set(key, s);
  }
  return s;
}

/** Forward one RTP packet (Buffer or RtpPacket) to every connected player. */
function fanOut(stream, rtp) {
  stream.rtpIn++;
  for (const p of stream.players) {
    if (p.closed || !p.videoTrack) continue;
    try {
      // werift's RTCRtpSender rewrites SSRC, payload type (to the one
      // negotiated with this player), header extensions, seq/ts continuity.
      p.videoTrack.writeRtp(rtp);
    } catch (e) {
      /* ignore single packet errors */
    }
  }
}

const children = new Set(); // ffmpeg processes
const watchdogs = new Set(); // their "kill ffmpeg when we die" shells

/** Start an ffmpeg VP8 testsrc feeding RTP to a local socket for stream `key`. */
async function startFfmpegSource(key) {
  const stream = getStream(key);
  const sock = dgram.createSocket("udp4");
  await new Promise((res, rej) => { sock.once("error", rej); sock.bind(0, "127.0.0.1", res); });
  const port = sock.address().port;
  sock.on("message", (msg) => {
    if (msg.length < 12) return;
    const pt = msg[1] & 0x7f;
    if (pt >= 72 && pt <= 76) return; // RTCP (sender reports) from ffmpeg: ignore
    let pkt;
    try { pkt = RtpPacket.deSerialize(msg); } catch { return; }
    fanOut(stream, pkt);
  });
  const args = [
    "-nostdin", "-hide_banner", "-loglevel", "error",
    "-re", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15",
    "-an", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
    "-b:v", "400k", "-g", "15", "-keyint_min", "15",
    "-f", "rtp", "-payload_type", "96", `rtp://127.0.0.1:${port}?pkt_size=1200`,
  ];
  const child = spawn("ffmpeg", args, { stdio: ["ignore", "ignore", "inherit"] });
  children.add(child);
  child.on("error", (e) => log(`ffmpeg for ${key}: ${e.message}`));
  child.on("exit", (code, sig) => {
    children.delete(child);
    if (!shuttingDown) log(`ffmpeg for ${key} exited code=${code} sig=${sig}`);
  });
  // Watchdog: a tiny shell whose stdin is a pipe from us.  When this origin
  // exits for ANY reason (even SIGKILL) the pipe closes, `read` returns and
  // the shell kills ffmpeg -> never an orphan ffmpeg.
  const dog = spawn("sh", ["-c", `read _x; kill ${child.pid} 2>/dev/null; exit 0`], {
    stdio: ["pipe", "ignore", "ignore"],
  });
  dog.on("error", () => {});
  watchdogs.add(dog);
  stream.source = "ffmpeg";
  stream.ffmpeg = child;
  stream.ffmpegSocket = sock;
  log(`stream ${key}: ffmpeg testsrc VP8 -> rtp://127.0.0.1:${port}`);
}

// ---------------------------------------------------------------- sessions
/** id -> session record (kept after delete/close for /debug/sessions). */
const sessions = new Map();
/** local (answer) ufrag -> session */
const sessionsByUfrag = new Map();
/** "ip:port" -> {session, relay} for the public UDP socket */
const routes = new Map();

function sdpAttr(sdp, name) {
  const m = sdp.match(new RegExp(`^a=${name}:(.*)$`, "m"));
  return m ? m[1].trim() : null;
}

/** Remove candidates from the offer (the origin is ICE-lite: it never sends checks). */
function stripCandidates(sdp) {
  return sdp
    .split(/\r?\n/)
    .filter((l) => !l.startsWith("a=candidate:") && !l.startsWith("a=end-of-candidates"))
    .join("\r\n");
}

/**
 * Rewrite werift's answer like SRS would write it: session-level a=ice-lite,
 * c=IN IP4 0.0.0.0, m-line port 9, and exactly our public candidates.
 */
function rewriteAnswer(sdp) {
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  const out = [];
  let inMedia = false;
  let sawSessionLite = false;
  let mediaRejected = false;
  const cands = [
    `a=candidate:0 1 udp 2130706431 ${opts.ip} ${rtcPort} typ host generation 0`,
    `a=candidate:1 1 tcp 1845501695 ${opts.ip} ${rtcPort} typ host tcptype passive generation 0`,
    `a=end-of-candidates`,
  ];
  const flushCands = () => {
    if (inMedia && !mediaRejected) out.push(...cands);
  };
  for (const l of lines) {
    if (l.startsWith("m=")) {
      if (!inMedia && !sawSessionLite) out.push("a=ice-lite");
      flushCands();
      inMedia = true;
      const parts = l.split(" ");
      mediaRejected = parts[1] === "0";
      if (!mediaRejected) parts[1] = "9";
      out.push(parts.join(" "));
      continue;
    }
    if (l.startsWith("a=candidate:") || l.startsWith("a=end-of-candidates")) continue;
    if (l === "a=ice-lite") {
      if (!inMedia) { sawSessionLite = true; out.push(l); }
      continue; // werift writes it per media section; SRS has it at session level
    }
    if (l.startsWith("c=IN IP4 ") && inMedia) { out.push("c=IN IP4 0.0.0.0"); continue; }
    out.push(l);
  }
  flushCands();
  return out.join("\r\n") + "\r\n";
}

function sessionPublicView(s) {
  return {
    id: s.id,
    app: s.app,
    stream: s.stream,
    kind: s.kind,
    api: s.api, // "whep" | "whip" | "play" | "publish"
    username: s.username,
    localUfrag: s.localUfrag,
    remoteUfrag: s.remoteUfrag,
    remoteAddresses: [...s.remoteAddresses],
    currentAddress: s.peer ? `${s.peer.address}:${s.peer.port}` : null,
    addressChanges: s.addressChanges,
    internalPort: s.internalPort,
    connectionState: s.closed ? "closed" : s.pc.connectionState,
    iceConnectionState: s.closed ? "closed" : s.pc.iceConnectionState,
    offerHadCandidates: s.offerHadCandidates,
    offerCandidates: s.offerCandidates,
    deleted: s.deleted,
    closed: s.closed,
    closeReason: s.closeReason,
    createdAt: s.createdAt,
    rxPackets: s.rxPackets,
    txPackets: s.txPackets,
    rtpForwarded: s.rtpForwarded,
    patches: s.patches,
  };
}

async function waitGatheringComplete(pc, timeoutMs = 5000) {
  if (pc.iceGatheringState === "complete") return;
  await new Promise((resolve) => {
    const t = setTimeout(resolve, timeoutMs);
    pc.iceGatheringStateChange.subscribe((st) => {
      if (st === "complete") { clearTimeout(t); resolve(); }
    });
  });
}

class HttpError extends Error {
  constructor(status, msg) { super(msg); this.status = status; }
}

/**
 * Create a WebRTC session for an SDP offer.
 * kind: "whep" (player, origin sends) or "whip" (publisher, origin receives).
 */
async function createSession({ app, stream: streamName, kind, api, offer }) {
  if (!app || !streamName) throw new HttpError(400, "app and stream are required");
  if (!offer || !offer.includes("v=0")) throw new HttpError(400, "body must be an SDP offer");
  const key = `${app}/${streamName}`;
  const stream = getStream(key);
  if (kind === "whep" && !stream.source) throw new HttpError(404, `stream ${key} not found (no publisher)`);
  if (kind === "whip" && stream.source) throw new HttpError(409, `stream ${key} is busy (already published)`);

  const offerCandidates = offer.split(/\r?\n/).filter((l) => l.startsWith("a=candidate:"));
  const remoteUfrag = sdpAttr(offer, "ice-ufrag");
  if (!remoteUfrag) throw new HttpError(400, "offer has no a=ice-ufrag");

  const pc = new RTCPeerConnection({
    iceLite: true,
    iceServers: [], // werift defaults to Google STUN; no network here
    iceUseIpv4: true,
    iceUseIpv6: false,
    iceInterfaceAddresses: { udp4: "127.0.0.1" },
    iceAdditionalHostAddresses: ["127.0.0.1"],
    bundlePolicy: "max-bundle",
    codecs: { video: VIDEO_CODECS, audio: AUDIO_CODECS },
  });

  const id = crypto.randomBytes(6).toString("hex");
  const s = {
    id, app, stream: streamName, key, kind, api, pc,
    token: crypto.randomBytes(8).toString("hex"),
    remoteUfrag, localUfrag: null, username: null,
    remoteAddresses: [], relays: new Map(), relay: null, peer: null, addressChanges: 0, internalPort: null,
    offerHadCandidates: offerCandidates.length > 0, offerCandidates,
    deleted: false, closed: false, closeReason: null,
    createdAt: new Date().toISOString(), lastRx: Date.now(),
    rxPackets: 0, txPackets: 0, rtpForwarded: 0, patches: 0,
    videoTrack: null,
  };

  if (kind === "whep") {
    s.videoTrack = new MediaStreamTrack({ kind: "video" });
    pc.addTransceiver(s.videoTrack, { direction: "sendonly" });
  } else {
    pc.addTransceiver("video", { direction: "recvonly" });
    // Must subscribe before setRemoteDescription: werift fires onTrack there.
    pc.onTrack.subscribe((track) => {
      log(`session ${id}: publisher track kind=${track.kind} ssrc=${track.ssrc}`);
      if (track.kind !== "video") return;
      const receiver = pc.getTransceivers().find((t) => t.receiver.tracks.includes(track))?.receiver;
      stream.requestKeyframe = () => {
        if (s.closed || !track.ssrc) return;
        receiver?.sendRtcpPLI(track.ssrc).catch(() => {});
      };
      track.onReceiveRtp.subscribe((rtp) => {
        s.rtpForwarded++;
        fanOut(stream, rtp);
      });
    });
  }

  // Reserve the stream for this publisher while negotiating (no double publish).
  if (kind === "whip") stream.source = "whip";
  let answerSdp;
  try {
    await pc.setRemoteDescription({ type: "offer", sdp: stripCandidates(offer) });
    // Offer m-lines we did not pre-create (e.g. an audio section) are answered
    // by werift with its defaults; no media is ever sent on them.
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    await waitGatheringComplete(pc);
    const local = pc.localDescription.sdp;
    s.localUfrag = sdpAttr(local, "ice-ufrag");
    s.username = `${s.localUfrag}:${remoteUfrag}`;
    const cand = local
      .split(/\r?\n/)
      .filter((l) => l.startsWith("a=candidate:"))
      .map((l) => l.split(" "))
      .find((p) => p[2].toLowerCase() === "udp" && p[4] === "127.0.0.1");
    if (!cand) throw new HttpError(500, "werift did not gather a 127.0.0.1 udp candidate");
    s.internalPort = Number(cand[5]);
    answerSdp = rewriteAnswer(local);
  } catch (e) {
    if (kind === "whip") stream.source = null;
    try { pc.close(); } catch {}
    if (e instanceof HttpError) throw e;
    throw new HttpError(400, `negotiation failed: ${e.message}`);
  }

  sessions.set(id, s);
  sessionsByUfrag.set(s.localUfrag, s);

  pc.connectionStateChange.subscribe((st) => {
    log(`session ${id} (${kind} ${key}) connectionState=${st}`);
    if (st === "connected" && kind === "whep") {
      // A new player needs a keyframe from the publisher.
      stream.requestKeyframe();
      setTimeout(() => stream.requestKeyframe(), 500);
    }
    if (st === "failed" || st === "closed") closeSession(s, `connectionState ${st}`);
  });

  if (kind === "whep") {
    stream.players.add(s);
  } else {
    stream.source = "whip";
    stream.publisher = s;
  }
  log(`session ${id} created: ${api} ${key} username=${s.username} internal=127.0.0.1:${s.internalPort} offerCandidates=${offerCandidates.length}`);
  return { session: s, answerSdp };
}

function closeSession(s, reason, deleted = false) {
  if (deleted) s.deleted = true;
  if (s.closed) return;
  s.closed = true;
  s.closeReason = reason;
  log(`session ${s.id} closed: ${reason}`);
  const stream = streams.get(s.key);
  if (stream) {
    stream.players.delete(s);
    if (stream.publisher === s) {
      stream.publisher = null;
      stream.source = null;
      stream.requestKeyframe = () => {};
    }
  }
  sessionsByUfrag.delete(s.localUfrag);
  for (const [addr, relay] of s.relays) {
    if (routes.get(addr)?.session === s) routes.delete(addr);
    try { relay.close(); } catch {}
  }
  s.relays.clear();
  try { s.pc.close(); } catch {}
}

// ---------------------------------------------------------------- UDP front
const publicSock = dgram.createSocket("udp4");
let rtcPort = 0;

/** Returns the USERNAME of a STUN binding request, or null. */
function stunBindingUsername(buf) {
  if (buf.length < 20) return null;
  if ((buf[0] & 0xc0) !== 0) return null;
  if (buf.readUInt16BE(0) !== 0x0001) return null; // Binding request
  if (buf.readUInt32BE(4) !== 0x2112a442) return null; // magic cookie
  const end = Math.min(buf.length, 20 + buf.readUInt16BE(2));
  let off = 20;
  while (off + 4 <= end) {
    const type = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 2);
    if (off + 4 + len > end) return null;
    if (type === 0x0006) return buf.subarray(off + 4, off + 4 + len).toString("utf8");
    off += 4 + len + ((4 - (len % 4)) % 4);
  }
  return null;
}

/**
 * Route a remote address to its session. Like SRS, a session has ONE current
 * remote address: the first STUN binding request creates the session's relay
 * socket; a binding request with the session's USERNAME from another address
 * is SRS's "session address change": that address takes over the same relay
 * socket, so werift sees nothing change and its media now goes to the new
 * address.  (SRS also checks MESSAGE-INTEGRITY there; this test origin does
 * not, and says so here.)
 */
function addRoute(s, addr, rinfo, username) {
  s.peer = { address: rinfo.address, port: rinfo.port };
  if (!s.relay) {
    const relay = dgram.createSocket("udp4");
    relay.bind(0, "127.0.0.1");
    relay.on("error", (e) => log(`relay error ${addr}: ${e.message}`));
    relay.on("message", (reply) => {
      s.txPackets++;
      publicSock.send(reply, s.peer.port, s.peer.address);
    });
    s.relay = relay;
  } else {
    s.addressChanges++;
    log(`session ${s.id}: session address change to ${addr} (USERNAME ${username})`);
  }
  const route = { session: s, relay: s.relay };
  routes.set(addr, route);
  s.relays.set(addr, s.relay);
  if (!s.remoteAddresses.includes(addr)) s.remoteAddresses.push(addr);
  log(`session ${s.id}: new remote address ${addr} (USERNAME ${username})`);
  return route;
}

/** Session for a STUN USERNAME "<answer ufrag>:<offer ufrag>", or null. */
function sessionForUsername(username) {
  const [localUfrag, remoteUfrag] = username.split(":");
  const s = sessionsByUfrag.get(localUfrag);
  if (!s || s.closed || (remoteUfrag && remoteUfrag !== s.remoteUfrag)) return null;
  return s;
}

let unknownDropped = 0;
publicSock.on("message", (msg, rinfo) => {
  const addr = `${rinfo.address}:${rinfo.port}`;
  let route = routes.get(addr);
  const username = stunBindingUsername(msg);
  if (username !== null) {
    const s = sessionForUsername(username);
    if (!s) {
      unknownDropped++;
      if (unknownDropped <= 20) log(`dropping STUN from ${addr} with unknown USERNAME ${username}`);
      return;
    }
    if (route && route.session !== s) {
      // Same remote address now speaks for another session (a proxy reusing a
      // socket): SRS would keep the old mapping; we follow the USERNAME.
      log(`remote address ${addr} moves from session ${route.session.id} to ${s.id}`);
      route.session.relays.delete(addr);
      routes.delete(addr);
      route = null;
    }
    if (!route) route = addRoute(s, addr, rinfo, username);
    else if (s.peer && (s.peer.address !== rinfo.address || s.peer.port !== rinfo.port)) {
      // A known address of the session speaks again: it is the current one now.
      s.peer = { address: rinfo.address, port: rinfo.port };
      s.addressChanges++;
      log(`session ${s.id}: session address change back to ${addr}`);
    }
  } else if (!route) {
    unknownDropped++; // not STUN and not from a known address: ignore
    return;
  }
  const s = route.session;
  s.rxPackets++;
  s.lastRx = Date.now();
  route.relay.send(msg, s.internalPort, "127.0.0.1");
});
publicSock.on("error", (e) => log(`public UDP socket error: ${e.message}`));

// Idle sessions (peer vanished without DELETE) are closed like SRS does.
setInterval(() => {
  const now = Date.now();
  for (const s of sessions.values()) {
    if (!s.closed && now - s.lastRx > opts.sessionTimeoutMs) closeSession(s, "timeout (no packets)");
  }
}, 2000).unref();

// ---------------------------------------------------------------- HTTP API
function setCors(res) {
  res.setHeader("Access-Control-Allow-Origin", "*");
  res.setHeader("Access-Control-Allow-Methods", "GET, POST, HEAD, PUT, DELETE, OPTIONS, PATCH");
  res.setHeader("Access-Control-Allow-Headers", "*, Content-Type, Authorization, If-Match");
  res.setHeader("Access-Control-Expose-Headers", "Location, ETag, Server, Content-Type, Content-Length, Link");
  res.setHeader("Server", "SRS/6.0.0 (werift test origin)");
}

function send(res, status, body, type = "text/plain; charset=utf-8", extra = {}) {
  for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
  if (body === undefined || body === null) {
    res.writeHead(status);
    res.end();
    return;
  }
  const buf = Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  res.writeHead(status, { "Content-Type": type, "Content-Length": buf.length });
  res.end(buf);
}
const sendJson = (res, status, obj) => send(res, status, obj, "application/json");

function readBody(req, limit = 1 << 20) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let n = 0;
    req.on("data", (c) => {
      n += c.length;
      if (n > limit) { reject(new HttpError(413, "body too large")); req.destroy(); return; }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** "webrtc://host[:port]/app/stream[?...]" -> {app, stream} */
function parseStreamUrl(u) {
  if (!u) return {};
  const noQuery = String(u).split("?")[0];
  const m = noQuery.match(/^[a-z]+:\/\/[^/]+\/(.+)\/([^/]+)$/i);
  if (!m) return {};
  return { app: m[1], stream: m[2] };
}

let heartbeatEnabled = true;

async function handle(req, res) {
  setCors(res);
  const url = new URL(req.url, "http://127.0.0.1");
  const path = url.pathname.endsWith("/") ? url.pathname : url.pathname + "/";
  const q = url.searchParams;
  log(`HTTP ${req.method} ${req.url} from ${req.socket.remoteAddress}:${req.socket.remotePort}`);

  if (req.method === "OPTIONS") return send(res, 200, "");

  // ---- WHEP / WHIP
  if (path === "/rtc/v1/whep/" || path === "/rtc/v1/whip/") {
    const kind = path === "/rtc/v1/whep/" ? "whep" : "whip";
    if (req.method === "POST") {
      const offer = await readBody(req);
      const { session, answerSdp } = await createSession({
        app: q.get("app"), stream: q.get("stream"), kind, api: kind, offer,
      });
      const location =
        `/rtc/v1/${kind}/?action=delete&token=${session.token}` +
        `&app=${encodeURIComponent(session.app)}&stream=${encodeURIComponent(session.stream)}&session=${session.id}`;
      return send(res, 201, answerSdp, "application/sdp", {
        Location: location,
        ETag: `"${session.id}"`,
      });
    }
    if (req.method === "DELETE" || req.method === "PATCH") {
      const s = sessions.get(q.get("session") || "");
      if (!s || (q.get("token") && q.get("token") !== s.token)) return send(res, 404, "session not found");
      if (req.method === "DELETE") {
        if (s.deleted) return send(res, 404, "session already deleted");
        closeSession(s, "DELETE", true);
        return send(res, 200, "");
      }
      await readBody(req); // trickle ICE / ICE restart fragments are accepted and ignored
      s.patches++;
      return send(res, 204, null);
    }
    return send(res, 405, "method not allowed");
  }

  // ---- SRS JSON API
  if ((path === "/rtc/v1/play/" || path === "/rtc/v1/publish/") && req.method === "POST") {
    const kind = path === "/rtc/v1/play/" ? "whep" : "whip";
    const raw = await readBody(req);
    let body;
    try { body = JSON.parse(raw); } catch { throw new HttpError(400, "invalid JSON"); }
    const { app, stream } = parseStreamUrl(body.streamurl);
    try {
      const { session, answerSdp } = await createSession({
        app, stream, kind, api: kind === "whep" ? "play" : "publish", offer: body.sdp,
      });
      return sendJson(res, 200, {
        code: 0, server: opts.serverId, service: SERVICE_ID, pid: PID,
        sdp: answerSdp, sessionid: session.username,
      });
    } catch (e) {
      // SRS answers errors of this API with HTTP 200 and a non-zero code.
      if (e instanceof HttpError && e.status < 500) {
        return sendJson(res, 200, { code: e.status === 404 ? 5018 : 5000, server: opts.serverId, msg: e.message });
      }
      throw e;
    }
  }

  // ---- misc SRS API
  if (path === "/api/v1/versions/" && req.method === "GET") {
    return sendJson(res, 200, {
      code: 0, server: opts.serverId, service: SERVICE_ID, pid: PID,
      data: { major: 6, minor: 0, revision: 0, version: "6.0.0" },
    });
  }
  if (path === "/api/v1/summaries/" && req.method === "GET") {
    return sendJson(res, 200, { code: 0, server: opts.serverId, service: SERVICE_ID, pid: PID, data: { ok: true } });
  }

  // ---- test introspection
  if (path === "/debug/sessions/" && req.method === "GET") {
    return sendJson(res, 200, [...sessions.values()].map(sessionPublicView));
  }
  if (path === "/debug/streams/" && req.method === "GET") {
    return sendJson(res, 200, [...streams.values()].map((s) => ({
      key: s.key, source: s.source, players: [...s.players].map((p) => p.id),
      publisher: s.publisher ? s.publisher.id : null, rtpIn: s.rtpIn,
    })));
  }
  if (path === "/debug/stats/" && req.method === "GET") {
    return sendJson(res, 200, {
      server: opts.serverId, service: SERVICE_ID, pid: PID, api: apiPort, rtc: rtcPort,
      unknownDropped, routes: [...routes.keys()], heartbeatEnabled, registerSent: regSent, registerOk: regOk,
    });
  }
  if (path === "/debug/heartbeat/" && (req.method === "POST" || req.method === "GET")) {
    if (q.has("enabled")) {
      heartbeatEnabled = !/^(0|false|no|off)$/i.test(q.get("enabled"));
      log(`heartbeat ${heartbeatEnabled ? "enabled" : "disabled"} via API`);
      if (heartbeatEnabled) registerOnce();
    }
    return sendJson(res, 200, { enabled: heartbeatEnabled, sent: regSent, ok: regOk });
  }
  return send(res, 404, "not found");
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    const status = e instanceof HttpError ? e.status : 500;
    log(`HTTP ${req.method} ${req.url} -> ${status}: ${e.stack || e.message}`);
    if (!res.headersSent) send(res, status, e.message + "\n");
    else res.end();
  });
});
server.keepAliveTimeout = 5000;

// ---------------------------------------------------------------- registration
let regSent = 0;
let regOk = 0;
let apiPort = 0;
function registerBody() {
  return {
    device_id: opts.serverId,
    ip: opts.ip,
    server: opts.serverId,
    service: SERVICE_ID,
    pid: PID,
    rtmp: ["19351"],
    http: ["8081"],
    api: [String(apiPort)],
    srt: ["udp://0.0.0.0:10081"],
    rtc: [`udp://0.0.0.0:${rtcPort}`, `tcp://0.0.0.0:${rtcPort}`],
  };
}
async function registerOnce() {
  if (!opts.register || !heartbeatEnabled || shuttingDown) return;
  regSent++;
  try {
    const r = await fetch(opts.register, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(registerBody()),
      signal: AbortSignal.timeout(3000),
    });
    const text = await r.text();
    if (r.ok) regOk++;
    log(`register -> ${opts.register}: HTTP ${r.status} ${text.slice(0, 200).replace(/\s+/g, " ")}`);
  } catch (e) {
    log(`register -> ${opts.register}: failed: ${e.cause?.code || e.message}`);
  }
}

// ---------------------------------------------------------------- lifecycle
let shuttingDown = false;
function shutdown(sig) {
  if (shuttingDown) return;
  shuttingDown = true;
  log(`shutting down (${sig})`);
  for (const c of children) { try { c.kill("SIGTERM"); } catch {} }
  for (const d of watchdogs) { try { d.stdin.end(); } catch {} }
  for (const s of sessions.values()) closeSession(s, "shutdown");
  for (const st of streams.values()) { try { st.ffmpegSocket?.close(); } catch {} }
  try { publicSock.close(); } catch {}
  server.close();
  server.closeAllConnections?.();
  // Give ffmpeg a moment to exit, then SIGKILL whatever is left and leave.
  setTimeout(() => {
    for (const c of children) { try { c.kill("SIGKILL"); } catch {} }
    process.exit(0);
  }, 400).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
process.on("SIGHUP", () => shutdown("SIGHUP"));
process.on("SIGUSR2", () => {
  heartbeatEnabled = !heartbeatEnabled;
  log(`heartbeat ${heartbeatEnabled ? "enabled" : "disabled"} via SIGUSR2`);
});
process.on("uncaughtException", (e) => log(`uncaughtException: ${e.stack || e}`));
process.on("unhandledRejection", (e) => log(`unhandledRejection: ${e?.stack || e}`));
// If our parent dies we get re-parented; exit then (keeps test runs clean).
const initialPpid = process.ppid;
setInterval(() => {
  if (process.ppid !== initialPpid) shutdown("parent died");
}, 1000).unref();

async function main() {
  await new Promise((res, rej) => {
    publicSock.once("error", rej);
    publicSock.bind(opts.rtcPort, opts.bind, () => { publicSock.off("error", rej); res(); });
  });
  rtcPort = publicSock.address().port;
  await new Promise((res, rej) => {
    server.once("error", rej);
    server.listen(opts.apiPort, opts.bind, () => { server.off("error", rej); res(); });
  });
  apiPort = server.address().port;
  for (const key of opts.video) await startFfmpegSource(key);
  if (opts.register) {
    registerOnce();
    setInterval(registerOnce, opts.registerIntervalMs);
  }
  log(`listening api=http://${opts.bind}:${apiPort} rtc=udp://${opts.bind}:${rtcPort} candidate=${opts.ip}:${rtcPort}`);
  stdoutWrite(`READY ${JSON.stringify({ api: apiPort, rtc: rtcPort, server: opts.serverId, service: SERVICE_ID, pid: PID })}\n`);
}

main().catch((e) => {
  log(`fatal: ${e.stack || e}`);
  process.exit(1);
});
