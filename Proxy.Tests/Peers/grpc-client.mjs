#!/usr/bin/env node
// An independent client of the proxy's gRPC listener (PROXY_GRPC): @grpc/grpc-js with the repo's own
// Proxy/Grpc/control.proto loaded at run time by @grpc/proto-loader, so nothing of the proxy's C# code is
// involved on this side.
//
//   node grpc-client.mjs --address 127.0.0.1:PORT --proto ../../Proxy/Grpc/control.proto [--token TOKEN]
//                        [--timeout-ms 60000]
//
// It checks health (overall and each part), that the Control service refuses a call without the token,
// then watches events. Once the watch is subscribed it prints "WATCHING" on stdout: the test then starts a
// player. On that player's "opened" event it lists the sessions until the player's plays (media relayed to
// it), closes the player's session and waits for its "closed" event. Last line on stdout: one JSON object with what it saw; "ok" is true only when every
// step passed. Diagnostics go to stderr.

import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import path from "node:path";
import { fileURLToPath } from "node:url";

const opts = { address: null, proto: null, token: null, timeoutMs: 60000 };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const next = () => process.argv[++i];
  switch (a) {
    case "--address": opts.address = next(); break;
    case "--proto": opts.proto = next(); break;
    case "--token": opts.token = next(); break;
    case "--timeout-ms": opts.timeoutMs = Number(next()); break;
    default: throw new Error(`unknown argument ${a}`);
  }
}
if (!opts.address || !opts.proto) throw new Error("--address and --proto are required");

const log = (m) => process.stderr.write(`[grpc-client] ${m}\n`);
const here = path.dirname(fileURLToPath(import.meta.url));
const loadOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
const control = grpc.loadPackageDefinition(protoLoader.loadSync(path.resolve(opts.proto), loadOptions)).srsproxy.v1;
const health = grpc.loadPackageDefinition(protoLoader.loadSync(path.join(here, "grpc", "health.proto"), loadOptions)).grpc.health.v1;

// h2c: insecure credentials make grpc-js speak HTTP/2 in clear from the first byte.
const credentials = grpc.credentials.createInsecure();
const healthClient = new health.Health(opts.address, credentials);
const controlClient = new control.Control(opts.address, credentials);
const withToken = () => {
  const md = new grpc.Metadata();
  if (opts.token) md.set("authorization", `Bearer ${opts.token}`);
  return md;
};
const deadline = () => new Date(Date.now() + 10000);

const unary = (client, method, request, metadata = new grpc.Metadata()) =>
  new Promise((resolve, reject) => client[method](request, metadata, { deadline: deadline() }, (err, res) => (err ? reject(err) : resolve(res))));

const result = { ok: false, health: {}, unauthenticatedCode: null, opened: null, listed: null, closeAnswer: null, closed: null, events: [], error: null };
// Writes to a pipe are asynchronous: exit only once the result is written, or it may be lost.
const finish = (code) => process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(code));
setTimeout(() => { result.error = `timed out after ${opts.timeoutMs} ms`; finish(1); }, opts.timeoutMs).unref();

try {
  for (const service of ["", "alive", "registry", "webrtc", "rtmp", "srt"]) {
    result.health[service] = (await unary(healthClient, "Check", { service })).status;
  }
  try {
    await unary(healthClient, "Check", { service: "no.such.Service" });
    result.health.unknown = "answered";
  } catch (e) {
    result.health.unknown = grpc.status[e.code];
  }

  if (opts.token) {
    try {
      await unary(controlClient, "ListSessions", {});
    } catch (e) {
      result.unauthenticatedCode = grpc.status[e.code];
    }
  }

  let closing = null;
  const watch = controlClient.WatchEvents({}, withToken());
  const closed = new Promise((resolve, reject) => {
    watch.on("metadata", () => process.stdout.write("WATCHING\n"));
    watch.on("error", (e) => { if (e.code !== grpc.status.CANCELLED) reject(e); });
    watch.on("data", async (event) => {
      result.events.push(event.kind);
      try {
        if (event.kind === "session_opened" && !result.opened) {
          const session = event.session_opened.session;
          result.opened = { id: session.id, kind: session.kind, stream: session.stream, origin_id: session.origin_id };
          // The session opens with the offer, before ICE and DTLS: list until it plays, so that what is
          // closed is a playing player. The handshakes take a dozen datagrams or so; past 50, media flows.
          let listing;
          for (let tries = 0; tries < 100; tries++) {
            listing = await unary(controlClient, "ListSessions", {}, withToken());
            const mine = listing.sessions.find((s) => s.id === session.id);
            if (mine && Number(mine.packets_to_player) > 50) break;
            await new Promise((r) => setTimeout(r, 200));
          }
          result.listed = listing.sessions.map((s) => ({ id: s.id, kind: s.kind, stream: s.stream, packets_to_player: s.packets_to_player }));
          // The closed event may come before the answer: both are awaited below.
          closing = unary(controlClient, "CloseSession", { session_id: session.id }, withToken());
          closing.catch(reject);
        } else if (event.kind === "session_closed" && result.opened && event.session_closed.session_id === result.opened.id) {
          result.closed = { id: event.session_closed.session_id, reason: event.session_closed.reason };
          resolve();
        }
      } catch (e) {
        reject(e);
      }
    });
  });
  await closed;
  result.closeAnswer = { id: (await closing).session.id };
  watch.cancel();
  result.ok = true;
  finish(0);
} catch (e) {
  log(e.stack || String(e));
  result.error = `${e.code !== undefined ? grpc.status[e.code] + ": " : ""}${e.details || e.message}`;
  finish(1);
}
