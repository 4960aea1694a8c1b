#!/usr/bin/env node
// UDP load through the proxy's WebRTC relay, from outside the proxy's process, so that a profile of the
// proxy shows the relay and not the load generator.
//
// Two loopback sockets: an "origin" that echoes every datagram back to its sender (the relay's session
// socket), and a "player" that, once told the relay's port and a STUN binding request to open the session
// with, sends that request and then RTP-like datagrams at --rate per second.
//
// stdout: "READY {"origin":PORT}" first; then, after a line "START <relay port> <stun request hex>" on
// stdin, a line "STATS {"sent":N,"echoed":N,"received":N}" every 250 ms. Exits when stdin closes.

import dgram from "node:dgram";

const args = process.argv.slice(2);
const rateIndex = args.indexOf("--rate");
const rate = rateIndex >= 0 ? Number(args[rateIndex + 1]) : 4000;
const stats = { sent: 0, echoed: 0, received: 0 };

const origin = dgram.createSocket("udp4");
const player = dgram.createSocket("udp4");
origin.on("message", (message, from) => {
  stats.echoed++;
  origin.send(message, from.port, from.address);
});
player.on("message", () => {
  stats.received++;
});
origin.on("error", (e) => console.error("origin", e));
player.on("error", (e) => console.error("player", e));

await Promise.all([
  new Promise((resolve) => origin.bind(0, "127.0.0.1", resolve)),
  new Promise((resolve) => player.bind(0, "127.0.0.1", resolve)),
]);
origin.setRecvBufferSize(4 * 1024 * 1024);
player.setRecvBufferSize(4 * 1024 * 1024);
console.log(`READY ${JSON.stringify({ origin: origin.address().port })}`);

const rtp = Buffer.alloc(1012);
rtp.set([0x80, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2]);

function startSending(relayPort) {
  const started = process.hrtime.bigint();
  const tick = () => {
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    const due = Math.floor(elapsed * rate);
    // Bounded burst per tick, so a stall does not turn into a flood.
    for (let i = 0; stats.sent < due && i < 200; i++) {
      player.send(rtp, relayPort, "127.0.0.1");
      stats.sent++;
    }
    setTimeout(tick, 1);
  };
  tick();
  setInterval(() => console.log(`STATS ${JSON.stringify(stats)}`), 250);
}

let buffered = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  buffered += chunk;
  let newline;
  while ((newline = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, newline).trim();
    buffered = buffered.slice(newline + 1);
    const [command, port, stunHex] = line.split(" ");
    if (command !== "START") {
      continue;
    }

    const relayPort = Number(port);
    const stun = Buffer.from(stunHex, "hex");
    player.send(stun, relayPort, "127.0.0.1");
    // The origin's first datagram is the binding request: the player's address is bound, media may flow.
    origin.once("message", () => startSending(relayPort));
  }
});
process.stdin.on("end", () => process.exit(0));
