#!/usr/bin/env bash
# New calls per second with a million calls left unfinished (issue 14, "the live-call map
# cliff"): the real `ivr serve` at README's defaults (default log level, statistics on into
# SQLite, signature checking on), loaded over 127.0.0.1 by wrk with signed incoming-call
# webhooks, each a call of its own (its own CallSid and caller number).
#
#   1. before: req/s of new calls on the fresh service;
#   2. fill: UNFINISHED more calls answered and never ended (no status callback ever);
#   3. after: req/s of new calls again, and the service's resident memory at each stage.
#
# A call the service answered costs it no memory: its state travels in the provider's
# URLs and its statistics id is a keyed hash (ivr/stats/keys.rs), so "after" should equal
# "before". Each measured run draws new calls from a pool of its own (PROBE_CALLS, default
# 200,000); a run that sends more than the pool sends the pool again (redeliveries).
#
#   bash benches/unfinished_calls.sh [unfinished=1000000] [seconds=10] [connections=32]
#   IVR_BIN=target/debug/ivr PROBE_CALLS=2000 bash benches/unfinished_calls.sh 5000 2 4   # a quick check
set -euo pipefail
cd "$(dirname "$0")/.."
unfinished=${1:-1000000}
seconds=${2:-10}
connections=${3:-32}
probe=${PROBE_CALLS:-200000}
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
# IVR_BIN: another build of `ivr` (a debug build, to check the script at a small scale).
binary=${IVR_BIN:-}
if [ -z "$binary" ]; then
  cargo build -q --release --bin ivr
  binary=${CARGO_TARGET_DIR:-target}/release/ivr
fi

token=unfinished-token
public=https://ivr.bench
address=127.0.0.1:8114
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

# "<X-Twilio-Signature> <form body>" per line: distinct calls, signed as Twilio signs them.
calls() { # first count
  python3 - "$token" "$public/twilio/voice" "$1" "$2" <<'PY'
import base64, hashlib, hmac, sys, urllib.parse
token, url, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
out = sys.stdout
for n in range(first, first + count):
    params = {"CallSid": f"CA{n:032x}", "AccountSid": "AC0123", "From": f"+7701{n:07d}", "To": "111",
              "CallStatus": "ringing", "Direction": "inbound"}
    data = url + "".join(k + v for k, v in sorted(params.items()))
    sig = base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()
    out.write(sig + " " + urllib.parse.urlencode(params) + "\n")
PY
}
calls 0 "$probe" > "$tmp/before.txt"
calls "$probe" "$unfinished" > "$tmp/fill.txt"
calls $((probe + unfinished)) "$probe" > "$tmp/after.txt"

# wrk: sends the file's calls in order, round and round (the measured runs).
cat > "$tmp/calls.lua" <<'LUA'
local calls, next_call = {}, 1
init = function()
  for line in io.lines(os.getenv("CALLS")) do
    local sig, body = line:match("^(%S+) (.*)$")
    calls[#calls + 1] = wrk.format("POST", "/twilio/voice",
      {["Content-Type"] = "application/x-www-form-urlencoded", ["X-Twilio-Signature"] = sig}, body)
  end
end
request = function()
  local r = calls[next_call]
  next_call = next_call % #calls + 1
  return r
end
LUA

# The fill: every call of the file once, on `connections` kept-alive connections, 32 in
# flight on each; counts the answers that are not 200. (wrk cannot stop after a count.)
fill() { # file
  python3 - "$address" "$connections" "$1" <<'PY'
import asyncio, sys
host, port = sys.argv[1].split(":")
connections, path = int(sys.argv[2]), sys.argv[3]

def request(line):
    sig, body = line.rstrip("\n").split(" ", 1)
    return (f"POST /twilio/voice HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {sig}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}").encode()

async def send(requests):
    reader, writer = await asyncio.open_connection(host, int(port))
    failed, buffer = 0, b""
    for start in range(0, len(requests), 32):
        window = requests[start:start + 32]
        writer.write(b"".join(window))
        await writer.drain()
        answers = 0
        while answers < len(window):
            buffer += await reader.read(65536)
            while (at := buffer.find(b"HTTP/1.1 ")) >= 0 and len(buffer) >= at + 12:
                answers += 1
                failed += buffer[at + 9:at + 12] != b"200"
                buffer = buffer[at + 12:]
    writer.close()
    return failed

async def main():
    requests = [request(line) for line in open(path)]
    failed = await asyncio.gather(*(send(requests[k::connections]) for k in range(connections)))
    print(f"answered {len(requests)}, not 200: {sum(failed)}")

asyncio.run(main())
PY
}

IVR_LISTEN=$address IVR_PUBLIC_URL=$public IVR_TWILIO_AUTH_TOKEN=$token IVR_OPERATOR_NUMBER=+77170000111 \
  IVR_DATA_DIR="$tmp/data" IVR_DATABASE_URL="sqlite://$tmp/bench.sqlite3" \
  "$binary" serve 2>"$tmp/serve.log" & pid=$!
for _ in $(seq 1 600); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$address/readyz" || true)" = 200 ] && break
  kill -0 "$pid" || { cat "$tmp/serve.log" >&2; exit 1; }
  sleep 0.1
done
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$pid/status"; }

measure() { # name file
  echo "== $1: RSS $(rss)"
  CALLS=$2 wrk -t1 -c"$connections" -d"${seconds}s" --latency -s "$tmp/calls.lua" "http://$address/twilio/voice" \
    | tee "$tmp/$1.out"
}
measure before "$tmp/before.txt"
echo "== fill: $unfinished calls answered, none ended"
fill "$tmp/fill.txt"
measure after "$tmp/after.txt"
echo "== RSS at the end: $(rss)"
rate() { awk '/Requests\/sec/ {print $2}' "$tmp/$1.out"; }
echo "new calls: before $(rate before) req/s, after $unfinished unfinished calls $(rate after) req/s"
