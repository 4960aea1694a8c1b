#!/usr/bin/env bash
# Self-check of the test peers WITHOUT the proxy:
#   1. origin.mjs with an ffmpeg VP8 testsrc on live/livestream
#   2. Chromium WHEP player straight at the origin (+ DELETE)
#   3. Chromium JSON-API player (/rtc/v1/play/) of live/livestream
#   4. Chromium WHIP publisher of live/pub, and a WHEP player of live/pub
#   5. /debug/sessions sanity (remote addresses, deleted flags)
# Prints one summary line per step; exits non-zero on the first failure.
set -u
cd "$(dirname "$0")"

if [ ! -d node_modules/werift ] || [ ! -d node_modules/playwright-core ]; then
  npm ci --no-audit --no-fund >&2 || exit 1
fi

TMP=$(mktemp -d /tmp/peers-selftest.XXXXXX)
ORIGIN_PID=""
PUB_PID=""
cleanup() {
  [ -n "$PUB_PID" ] && kill "$PUB_PID" 2>/dev/null
  [ -n "$ORIGIN_PID" ] && kill "$ORIGIN_PID" 2>/dev/null
  [ -n "$ORIGIN_PID" ] && wait "$ORIGIN_PID" 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; echo "--- origin stderr (tail)"; tail -n 40 "$TMP/origin.err"; exit 1; }

# Summarize a player result (drop the big SDP fields).
summ() {
  node -e '
    const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    for (const k of ["answerSdp", "offerSdp", "offerCandidates"]) delete d[k];
    console.log(JSON.stringify(d));' "$1"
}
field() { node -e 'const d=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(d[process.argv[2]])' "$1" "$2"; }

# 1. origin (pipe stdin from a fifo-less `sleep` would also work; we just use &)
node origin.mjs --api-port 0 --rtc-port 0 --video live/livestream >"$TMP/origin.out" 2>"$TMP/origin.err" &
ORIGIN_PID=$!
for _ in $(seq 1 50); do grep -q '^READY ' "$TMP/origin.out" 2>/dev/null && break; sleep 0.2; done
grep -q '^READY ' "$TMP/origin.out" || fail "origin did not print READY"
READY=$(head -n1 "$TMP/origin.out")
echo "origin: $READY"
API=$(echo "$READY" | sed -n 's/.*"api":\([0-9]*\).*/\1/p')
RTC=$(echo "$READY" | sed -n 's/.*"rtc":\([0-9]*\).*/\1/p')
BASE="http://127.0.0.1:$API"
echo "versions: $(curl -s "$BASE/api/v1/versions")"

# 2. WHEP player of the ffmpeg stream, with DELETE
node player.mjs --url "$BASE/rtc/v1/whep/?app=live&stream=livestream" --seconds 15 --min-frames 10 --delete \
  >"$TMP/whep.json" 2>"$TMP/whep.err"
echo "whep livestream: $(summ "$TMP/whep.json")"
[ "$(field "$TMP/whep.json" ok)" = "true" ] || { tail -n 30 "$TMP/whep.err"; fail "WHEP player"; }
grep -q "127.0.0.1 $RTC typ host" "$TMP/whep.json" || fail "answer candidate is not 127.0.0.1:$RTC"

# 3. SRS JSON API player
node player.mjs --url "$BASE/rtc/v1/play/" --mode play-json --streamurl "webrtc://127.0.0.1/live/livestream" \
  --seconds 15 --min-frames 10 >"$TMP/json.json" 2>"$TMP/json.err"
echo "play-json livestream: $(summ "$TMP/json.json")"
[ "$(field "$TMP/json.json" ok)" = "true" ] || { tail -n 30 "$TMP/json.err"; fail "JSON API player"; }

# 4. WHIP publisher (held long enough for the player), then WHEP player of it
node player.mjs --url "$BASE/rtc/v1/whip/?app=live&stream=pub" --mode whip --seconds 15 --min-frames 10 \
  --hold-ms 20000 --delete >"$TMP/whip.json" 2>"$TMP/whip.err" &
PUB_PID=$!
for _ in $(seq 1 60); do
  curl -s "$BASE/debug/sessions" | grep -q '"kind":"whip","api":"whip"[^}]*"connectionState":"connected"' && break
  sleep 0.25
done
node player.mjs --url "$BASE/rtc/v1/whep/?app=live&stream=pub" --seconds 15 --min-frames 10 --delete \
  >"$TMP/whep-pub.json" 2>"$TMP/whep-pub.err"
echo "whep pub: $(summ "$TMP/whep-pub.json")"
PLAY_OK=$(field "$TMP/whep-pub.json" ok)
kill -TERM "$PUB_PID" 2>/dev/null  # ends the hold early; the publisher DELETEs and reports
wait "$PUB_PID"
PUB_PID=""
echo "whip pub: $(summ "$TMP/whip.json")"
[ "$PLAY_OK" = "true" ] || { tail -n 30 "$TMP/whep-pub.err"; fail "WHEP player of WHIP stream"; }
[ "$(field "$TMP/whip.json" ok)" = "true" ] || { tail -n 30 "$TMP/whip.err"; fail "WHIP publisher"; }

# 5. introspection
echo "sessions:"
curl -s "$BASE/debug/sessions" | node -e '
  let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => {
    for (const x of JSON.parse(s))
      console.log(`  ${x.id} ${x.api} ${x.app}/${x.stream} state=${x.connectionState} deleted=${x.deleted} ` +
        `offerHadCandidates=${x.offerHadCandidates} remote=${x.remoteAddresses.join(",")}`);
  });'

# Stop the origin and make sure its ffmpeg (grand)children went away with it.
KIDS=$(pgrep -P "$ORIGIN_PID" | tr '\n' ' ')
GRANDKIDS=$(for k in $KIDS; do pgrep -P "$k"; done | tr '\n' ' ')
kill -TERM "$ORIGIN_PID"; wait "$ORIGIN_PID"; ORIGIN_PID=""
sleep 0.5
for p in $KIDS $GRANDKIDS; do kill -0 "$p" 2>/dev/null && fail "child process $p left behind"; done
echo "origin children ($KIDS$GRANDKIDS) all gone"
echo "PASS"
