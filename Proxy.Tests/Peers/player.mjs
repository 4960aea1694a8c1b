#!/usr/bin/env node
// Headless-Chromium WebRTC test peer: WHEP player, WHIP publisher, or SRS
// JSON-API player/publisher.  Used against the werift origin directly and
// through the C# proxy.
//
//   node player.mjs --url <endpoint> [--mode whep|whip|play-json|publish-json]
//        [--seconds 8] [--min-frames 10] [--delete] [--hold-ms N] [--audio]
//        [--streamurl webrtc://host/app/stream] [--keep-mdns] [--no-gather-wait]
//        [--only-tcp]
//
// --only-tcp removes every non-TCP a=candidate line from the answer before
// setRemoteDescription, so ICE can only use TCP (RFC 6544): a player behind a
// firewall that blocks UDP.
//
// The page is served by a tiny HTTP server on 127.0.0.1 (another port than the
// endpoint, so every API call from the page is cross-origin and exercises CORS
// preflight).  stdout: exactly ONE line of JSON with the result; exit code 0
// if ok, 1 otherwise.  All logs (including the page's console) go to stderr.

import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

// ---------------------------------------------------------------- CLI parsing
function parseArgs(argv) {
  const o = {
    url: null,
    mode: "whep",
    seconds: 8,
    minFrames: 10,
    del: false,
    holdMs: 0,
    audio: false,
    streamurl: null,
    keepMdns: false,
    gatherWait: true,
    onlyTcp: false,
    chromium: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
      return argv[++i];
    };
    switch (a) {
      case "--url": o.url = next(); break;
      case "--mode": o.mode = next(); break;
      case "--seconds": o.seconds = Number(next()); break;
      case "--min-frames": o.minFrames = Number(next()); break;
      case "--delete": o.del = true; break;
      case "--hold-ms": o.holdMs = Number(next()); break;
      case "--audio": o.audio = true; break;
      case "--streamurl": o.streamurl = next(); break;
      case "--keep-mdns": o.keepMdns = true; break;
      case "--no-gather-wait": o.gatherWait = false; break;
      case "--only-tcp": o.onlyTcp = true; break;
      case "--chromium": o.chromium = next(); break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if (!o.url) throw new Error("--url is required");
  if (!["whep", "whip", "play-json", "publish-json"].includes(o.mode)) throw new Error(`bad --mode ${o.mode}`);
  return o;
}

const stdoutWrite = process.stdout.write.bind(process.stdout);
console.log = (...a) => process.stderr.write(a.map(String).join(" ") + "\n");
const log = (...a) => process.stderr.write(`[player ${new Date().toISOString().slice(11, 23)}] ${a.join(" ")}\n`);

const result = {
  ok: false,
  mode: null,
  status: null,
  location: null,
  etag: null,
  contentType: null,
  sessionid: null,
  framesDecoded: 0,
  framesEncoded: 0,
  packetsReceived: 0,
  bytesReceived: 0,
  packetsSent: 0,
  bytesSent: 0,
  iceConnectionState: null,
  connectionState: null,
  selectedPair: null,
  remoteCandidates: [],
  offerCandidates: [],
  answerSdp: null,
  offerSdp: null,
  deleteStatus: null,
  error: null,
};

let opts;
try {
  opts = parseArgs(process.argv);
} catch (e) {
  result.error = e.message;
  stdoutWrite(JSON.stringify(result) + "\n");
  process.exit(2);
}
result.mode = opts.mode;

// ---------------------------------------------------------------- page code
// Runs inside Chromium.  Kept as plain functions passed to page.evaluate.

/** Create the RTCPeerConnection, POST the offer, apply the answer. */
async function pageStart(a) {
  const out = { status: null, location: null, etag: null, contentType: null, answer: null, appliedAnswer: null, offer: null, sessionid: null, body: null, error: null };
  try {
    await pageStartInner(a, out);
  } catch (e) {
    out.error = String(e && e.message ? e.message : e);
  }
  return out;
}

async function pageStartInner(a, out) {
  const pc = new RTCPeerConnection();
  window.__pc = pc;
  pc.oniceconnectionstatechange = () => console.log("iceConnectionState=" + pc.iceConnectionState);
  pc.onconnectionstatechange = () => console.log("connectionState=" + pc.connectionState);
  const sending = a.mode === "whip" || a.mode === "publish-json";
  if (!sending) {
    pc.addTransceiver("video", { direction: "recvonly" });
    if (a.audio) pc.addTransceiver("audio", { direction: "recvonly" });
    pc.ontrack = (ev) => {
      console.log("ontrack kind=" + ev.track.kind);
      // Attach to a <video> so the decoder definitely runs.
      if (ev.track.kind === "video") {
        const v = document.createElement("video");
        v.muted = true; v.autoplay = true; v.playsInline = true;
        v.srcObject = new MediaStream([ev.track]);
        document.body.appendChild(v);
        v.play().catch(() => {});
      }
    };
  } else {
    let stream = null;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: 320, height: 240, frameRate: 15 },
        audio: !!a.audio,
      });
      console.log("getUserMedia ok: " + stream.getTracks().map((t) => t.kind + ":" + t.label).join(","));
    } catch (e) {
      console.log("getUserMedia failed (" + e + "), using canvas.captureStream");
      const c = document.createElement("canvas");
      c.width = 320; c.height = 240;
      document.body.appendChild(c);
      const g = c.getContext("2d");
      let n = 0;
      setInterval(() => {
        n++;
        g.fillStyle = `hsl(${(n * 7) % 360},80%,50%)`;
        g.fillRect(0, 0, 320, 240);
        g.fillStyle = "#fff";
        g.font = "40px sans-serif";
        g.fillText(String(n), 20, 120);
      }, 66);
      stream = c.captureStream(15);
    }
    for (const t of stream.getTracks()) pc.addTransceiver(t, { direction: "sendonly", streams: [stream] });
    window.__stream = stream;
  }
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  if (a.gatherWait) {
    await new Promise((resolve) => {
      if (pc.iceGatheringState === "complete") return resolve();
      const t = setTimeout(resolve, 3000);
      pc.addEventListener("icegatheringstatechange", () => {
        if (pc.iceGatheringState === "complete") { clearTimeout(t); resolve(); }
      });
    });
  }
  out.offer = pc.localDescription.sdp;

  let resp;
  if (a.mode === "whep" || a.mode === "whip") {
    resp = await fetch(a.url, {
      method: "POST", headers: { "Content-Type": "application/sdp" }, body: out.offer,
      signal: AbortSignal.timeout(a.httpTimeoutMs),
    });
    out.status = resp.status;
    out.location = resp.headers.get("Location");
    out.etag = resp.headers.get("ETag");
    out.contentType = resp.headers.get("Content-Type");
    const text = await resp.text();
    out.body = text.slice(0, 2000);
    if (resp.status !== 201 && resp.status !== 200) throw new Error("POST status " + resp.status + ": " + text.slice(0, 300));
    out.answer = text;
  } else {
    resp = await fetch(a.url, {
      method: "POST",
      signal: AbortSignal.timeout(a.httpTimeoutMs),
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        api: a.url, streamurl: a.streamurl, clientip: null, sdp: out.offer,
        tid: Math.random().toString(16).slice(2, 9),
      }),
    });
    out.status = resp.status;
    out.contentType = resp.headers.get("Content-Type");
    const text = await resp.text();
    out.body = text.slice(0, 2000);
    let j = null;
    try { j = JSON.parse(text); } catch {}
    if (!j || j.code !== 0 || !j.sdp) throw new Error("JSON API failed: status " + resp.status + " " + text.slice(0, 300));
    out.answer = j.sdp;
    out.sessionid = j.sessionid ?? null;
  }
  let answer = out.answer;
  if (a.onlyTcp) {
    // A UDP-blocking firewall, as far as ICE can tell: only the answer's TCP candidates are left to pair with.
    answer = answer.split(/\r?\n/).filter((l) => !l.startsWith("a=candidate:") || / tcp /i.test(l)).join("\r\n");
    out.appliedAnswer = answer;
  }
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
}

/** Summarize getStats(). */
async function pageStats() {
  const pc = window.__pc;
  const s = {
    framesDecoded: 0, framesEncoded: 0, packetsReceived: 0, bytesReceived: 0, packetsSent: 0, bytesSent: 0,
    iceConnectionState: pc ? pc.iceConnectionState : null,
    connectionState: pc ? pc.connectionState : null,
    selectedPair: null,
  };
  if (!pc) return s;
  const report = await pc.getStats();
  const byId = new Map();
  report.forEach((r) => byId.set(r.id, r));
  let pair = null;
  report.forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "video") {
      s.framesDecoded += r.framesDecoded || 0;
      s.packetsReceived += r.packetsReceived || 0;
      s.bytesReceived += r.bytesReceived || 0;
    }
    if (r.type === "outbound-rtp" && r.kind === "video") {
      s.framesEncoded += r.framesEncoded || 0;
      s.packetsSent += r.packetsSent || 0;
      s.bytesSent += r.bytesSent || 0;
    }
    if (r.type === "transport" && r.selectedCandidatePairId) pair = byId.get(r.selectedCandidatePairId);
  });
  if (!pair) report.forEach((r) => { if (!pair && r.type === "candidate-pair" && r.nominated && r.state === "succeeded") pair = r; });
  if (pair) {
    const l = byId.get(pair.localCandidateId);
    const r = byId.get(pair.remoteCandidateId);
    s.selectedPair = {
      local: l ? `${l.address ?? l.ip}:${l.port}` : null,
      remote: r ? `${r.address ?? r.ip}:${r.port}` : null,
      localType: l?.candidateType ?? null,
      remoteType: r?.candidateType ?? null,
      protocol: l?.protocol ?? null,
    };
  }
  return s;
}

async function pageDelete(url) {
  try {
    const r = await fetch(url, { method: "DELETE", signal: AbortSignal.timeout(10000) });
    await r.text();
    return { status: r.status, error: null };
  } catch (e) {
    return { status: null, error: String(e) };
  }
}

function pageClose() {
  try { window.__pc?.close(); } catch {}
  try { window.__stream?.getTracks().forEach((t) => t.stop()); } catch {}
}

// ---------------------------------------------------------------- node side
let browser = null;
let pageServer = null;
let userDataDir = null;
let finished = false;

async function cleanup() {
  try {
    if (browser) await Promise.race([browser.close(), new Promise((r) => setTimeout(r, 5000))]);
  } catch {}
  browser = null;
  try { pageServer?.close(); } catch {}
  try { if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true }); } catch {}
}

async function finish(code) {
  if (finished) return;
  finished = true;
  await cleanup();
  stdoutWrite(JSON.stringify(result) + "\n");
  process.exit(code);
}

// A signal during --hold-ms (after media was confirmed) just ends the hold:
// the player then DELETEs (if --delete) and reports normally.  Any other time
// it aborts with an error.
let holding = false;
let stopHold = false;
for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"]) {
  process.on(sig, () => {
    if (holding && !stopHold) {
      log(`${sig} during hold: ending hold early`);
      stopHold = true;
      return;
    }
    result.error = result.error || `killed by ${sig}`;
    finish(1);
  });
}

// If our parent (the test runner) dies we are re-parented: abort and clean up.
const initialPpid = process.ppid;
setInterval(() => {
  if (process.ppid !== initialPpid) {
    result.error = result.error || "parent died";
    finish(1);
  }
}, 1000).unref();

const candLines = (sdp) => (sdp || "").split(/\r?\n/).filter((l) => l.startsWith("a=candidate:"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  // Hard upper bound on the whole run (hung endpoint, stuck browser...).
  const budgetMs = 30000 + opts.seconds * 1000 + opts.holdMs;
  setTimeout(() => {
    result.error = result.error || `overall timeout after ${budgetMs} ms`;
    finish(1);
  }, budgetMs).unref();
  const endpoint = new URL(opts.url);
  if (opts.mode === "play-json" || opts.mode === "publish-json") {
    // Accept ?app=&stream= on the URL or --streamurl.
    if (!opts.streamurl) {
      const app = endpoint.searchParams.get("app") || "live";
      const stream = endpoint.searchParams.get("stream") || "livestream";
      opts.streamurl = `webrtc://${endpoint.host}/${app}/${stream}`;
    }
  }

  // Tiny page server (distinct origin from the endpoint -> CORS).
  pageServer = http.createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end("<!doctype html><html><head><title>peer</title></head><body></body></html>");
  });
  await new Promise((r) => pageServer.listen(0, "127.0.0.1", r));
  const pageUrl = `http://127.0.0.1:${pageServer.address().port}/`;

  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "peer-chromium-"));
  const disabled = ["Translate", "MediaRouter", "OptimizationHints"];
  if (!opts.keepMdns) disabled.push("WebRtcHideLocalIpsWithMdns");
  // A persistent context on a fresh temp dir == "fresh --user-data-dir".
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: opts.chromium,
    headless: true,
    // We handle signals ourselves (graceful end of --hold-ms, then cleanup).
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      "--allow-loopback-in-peer-connection",
      "--autoplay-policy=no-user-gesture-required",
      `--disable-features=${disabled.join(",")}`,
    ],
  });
  const page = browser.pages()[0] || (await browser.newPage());
  page.on("console", (m) => log(`page console.${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log(`page error: ${e.message}`));
  await page.goto(pageUrl);

  log(`mode=${opts.mode} url=${opts.url}${opts.streamurl ? " streamurl=" + opts.streamurl : ""}`);
  // pageStartInner must be defined in the page too: inject both functions.
  await page.addScriptTag({ content: `${pageStartInner.toString()}\n` });
  const start = await page.evaluate(pageStart, {
    mode: opts.mode, url: opts.url, audio: opts.audio, streamurl: opts.streamurl, gatherWait: opts.gatherWait, onlyTcp: opts.onlyTcp,
    httpTimeoutMs: 10000,
  });
  Object.assign(result, {
    status: start.status,
    location: start.location,
    etag: start.etag,
    contentType: start.contentType,
    sessionid: start.sessionid,
    answerSdp: start.answer,
    offerSdp: start.offer,
    remoteCandidates: candLines(start.answer),
    appliedCandidates: candLines(start.appliedAnswer ?? start.answer),
    offerCandidates: candLines(start.offer),
  });
  log(`POST status=${start.status} location=${start.location} etag=${start.etag}`);
  log(`offer candidates: ${JSON.stringify(result.offerCandidates)}`);
  log(`answer candidates: ${JSON.stringify(result.remoteCandidates)}`);
  if (start.error) {
    result.error = start.error;
    if (start.body && !start.answer) result.responseBody = start.body;
    await page.evaluate(pageClose).catch(() => {});
    return finish(1);
  }

  const sending = opts.mode === "whip" || opts.mode === "publish-json";
  const deadline = Date.now() + opts.seconds * 1000;
  let mediaOk = false;
  let lastLog = 0;
  while (Date.now() < deadline) {
    const st = await page.evaluate(pageStats);
    Object.assign(result, st);
    const count = sending ? Math.min(st.framesEncoded, st.packetsSent) : st.framesDecoded;
    if (Date.now() - lastLog > 1000) {
      lastLog = Date.now();
      log(`stats ice=${st.iceConnectionState} decoded=${st.framesDecoded} encoded=${st.framesEncoded} rx=${st.packetsReceived} tx=${st.packetsSent}`);
    }
    if (count >= opts.minFrames && (st.iceConnectionState === "connected" || st.iceConnectionState === "completed")) {
      mediaOk = true;
      break;
    }
    await sleep(250);
  }
  if (!mediaOk) result.error = `media not flowing within ${opts.seconds}s (min ${opts.minFrames})`;

  if (opts.holdMs > 0 && mediaOk) {
    log(`holding ${opts.holdMs} ms`);
    holding = true;
    const holdEnd = Date.now() + opts.holdMs;
    // The longest time no video packet arrived while holding (sampled every 100 ms): what a viewer sees as
    // a freeze, e.g. across a failover between proxy instances.
    let lastPackets = result.packetsReceived, lastGrowth = Date.now();
    result.maxStallMs = 0;
    while (Date.now() < holdEnd && !stopHold) {
      await sleep(Math.min(100, holdEnd - Date.now()));
      Object.assign(result, await page.evaluate(pageStats));
      const now = Date.now();
      if (result.packetsReceived > lastPackets) {
        lastPackets = result.packetsReceived;
        lastGrowth = now;
      }
      result.maxStallMs = Math.max(result.maxStallMs, now - lastGrowth);
    }
    holding = false;
  }

  if (opts.del) {
    if (result.location) {
      const delUrl = new URL(result.location, opts.url).toString();
      const d = await page.evaluate(pageDelete, delUrl);
      result.deleteStatus = d.status;
      log(`DELETE ${delUrl} -> ${d.status}${d.error ? " " + d.error : ""}`);
      if (d.error && !result.error) result.error = `DELETE failed: ${d.error}`;
    } else if (!result.error) {
      result.error = "no Location header to DELETE";
    }
  }
  await page.evaluate(pageClose).catch(() => {});

  const delOk = !opts.del || (result.deleteStatus >= 200 && result.deleteStatus < 300);
  if (mediaOk && !delOk && !result.error) result.error = `DELETE status ${result.deleteStatus}`;
  result.ok = mediaOk && delOk;
  await finish(result.ok ? 0 : 1);
}

main().catch(async (e) => {
  log(`error: ${e.stack || e}`);
  if (!result.error) result.error = String(e.message || e).split("\n")[0];
  await finish(1);
});
