#!/usr/bin/env node
// WHEP players on werift (a WebRTC stack in TypeScript, ICE with RFC 7675 consent checks every ~5 s), many
// in one process: a fleet of real players that a test can kill at once without a DELETE (a wave of viewers
// who vanished), or watch through a failover, measuring the gaps in the media each one receives.
//
//   node werift-player.mjs --url <WHEP endpoint> [--count N] [--bind 127.0.0.1] [--delete-on-exit]
//
// stdout: one line "READY {...}" once every player connected (or gave up), then a line
// "STATS {...}" every 200 ms: per player its session URL, RTP packets received, the time since the last
// one and the longest gap between two packets so far (all in ms), and the last gaps of 150 ms or more with
// when each began and ended (Unix ms). stdin closing, or SIGTERM, ends the
// players (with a DELETE of each session when --delete-on-exit is given).
// Everything else goes to stderr.

import { RTCPeerConnection, RTCRtpCodecParameters } from "werift";

const opts = { url: null, count: 1, bind: "127.0.0.1", deleteOnExit: false, connectTimeoutMs: 20000 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const next = () => process.argv[++i];
  switch (a) {
    case "--url": opts.url = next(); break;
    case "--count": opts.count = Number(next()); break;
    case "--bind": opts.bind = next(); break;
    case "--delete-on-exit": opts.deleteOnExit = true; break;
    case "--connect-timeout-ms": opts.connectTimeoutMs = Number(next()); break;
    default: throw new Error(`unknown argument ${a}`);
  }
}
if (!opts.url) throw new Error("--url is required");

const log = (m) => process.stderr.write(`[werift-player] ${m}\n`);

/** Gaps between two RTP packets listed one by one (video at 15 fps sends every ~67 ms). */
const LONG_GAP_MS = 150;

const VIDEO = [
  new RTCRtpCodecParameters({
    mimeType: "video/VP8",
    clockRate: 90000,
    rtcpFeedback: [{ type: "nack" }, { type: "nack", parameter: "pli" }],
  }),
];

async function gathered(pc) {
  if (pc.iceGatheringState === "complete") return;
  await new Promise((resolve) => {
    const t = setTimeout(resolve, 5000);
    pc.iceGatheringStateChange.subscribe((s) => { if (s === "complete") { clearTimeout(t); resolve(); } });
  });
}

async function startPlayer(index) {
  const player = { index, location: null, rtp: 0, lastRtp: 0, lastRtpAt: 0, firstRtp: 0, maxGapMs: 0, gaps: [], state: "new", error: null, pc: null };
  const pc = new RTCPeerConnection({
    iceServers: [], // no network but what the test started
    iceUseIpv4: true,
    iceUseIpv6: false,
    iceInterfaceAddresses: { udp4: opts.bind },
    codecs: { video: VIDEO, audio: [] },
  });
  player.pc = pc;
  pc.connectionStateChange.subscribe((s) => { player.state = s; });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe(() => {
      const now = performance.now();
      const at = Date.now();
      if (player.rtp > 0) {
        const gap = now - player.lastRtp;
        player.maxGapMs = Math.max(player.maxGapMs, gap);
        // Gaps a viewer would notice, with when they began and ended (Unix ms), the last few kept.
        if (gap >= LONG_GAP_MS) {
          player.gaps.push({ from: player.lastRtpAt, to: at, ms: Math.round(gap) });
          if (player.gaps.length > 16) player.gaps.shift();
        }
      } else {
        player.firstRtp = now;
      }
      player.rtp++;
      player.lastRtp = now;
      player.lastRtpAt = at;
    });
  });
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const response = await fetch(opts.url, { method: "POST", headers: { "content-type": "application/sdp" }, body: pc.localDescription.sdp });
    const answer = await response.text();
    if (response.status !== 201) throw new Error(`WHEP answered ${response.status}: ${answer.slice(0, 200)}`);
    const location = response.headers.get("location");
    player.location = location ? new URL(location, opts.url).toString() : null;
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
  } catch (e) {
    player.state = "failed";
    player.error = String(e.message ?? e);
    log(`player ${index}: ${player.error}`);
  }
  return player;
}

function view(p, now) {
  return {
    index: p.index,
    location: p.location,
    state: p.state,
    error: p.error,
    rtp: p.rtp,
    lastRtpAgoMs: p.rtp > 0 ? Math.round(now - p.lastRtp) : null,
    maxGapMs: Math.round(p.maxGapMs),
    gaps: p.gaps,
  };
}

const players = await Promise.all(Array.from({ length: opts.count }, (_, i) => startPlayer(i)));
const deadline = performance.now() + opts.connectTimeoutMs;
while (performance.now() < deadline && players.some((p) => p.state !== "failed" && p.rtp === 0)) {
  await new Promise((r) => setTimeout(r, 100));
}
const now = performance.now();
process.stdout.write(`READY ${JSON.stringify({ players: players.map((p) => view(p, now)) })}\n`);

const timer = setInterval(() => {
  const t = performance.now();
  process.stdout.write(`STATS ${JSON.stringify({ players: players.map((p) => view(p, t)) })}\n`);
}, 200);

let ending = false;
async function end() {
  if (ending) return;
  ending = true;
  clearInterval(timer);
  if (opts.deleteOnExit) {
    await Promise.all(players.filter((p) => p.location).map((p) => fetch(p.location, { method: "DELETE" }).catch(() => {})));
  }
  for (const p of players) {
    try { await p.pc.close(); } catch {}
  }
  process.exit(0);
}
process.stdin.on("end", end);
process.stdin.resume();
process.on("SIGTERM", end);
