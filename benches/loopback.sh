#!/usr/bin/env bash
# Loopback comparison of the incoming-call webhook: the real `ivr serve` with signature
# checking on, against a bare axum handler that parses the same form body and returns a
# static TwiML document (benches/webhooks.rs --bare-server). Each server runs alone, then
# wrk (a second process) loads it over 127.0.0.1 with the same signed request.
#
#   bash benches/loopback.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${2:-32}
command -v wrk >/dev/null || { apt-get update -q && apt-get install -y -q wrk; }
cargo build -q --release --bin ivr
cargo bench -q --bench webhooks --no-run

token=loopback-token
public=https://ivr.bench
body='CallSid=CA0123456789abcdef0123456789abcdef&AccountSid=AC0123&From=%2B77011234567&To=111&CallStatus=ringing&Direction=inbound'
export BODY=$body
export SIG=$(python3 - "$token" "$public/twilio/voice" "$body" <<'PY'
import base64, hashlib, hmac, sys, urllib.parse
token, url, body = sys.argv[1:]
data = url + "".join(k + v for k, v in sorted(urllib.parse.parse_qsl(body, keep_blank_values=True)))
print(base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode())
PY
)
script=$(mktemp --suffix=.lua)
cat > "$script" <<'LUA'
wrk.method = "POST"
wrk.body = os.getenv("BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["X-Twilio-Signature"] = os.getenv("SIG")
LUA

wait_ready() {
  for _ in $(seq 1 200); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/x-www-form-urlencoded' \
      -H "X-Twilio-Signature: $SIG" --data "$BODY" "http://$1/twilio/voice" || true)
    [ "$code" = 200 ] && return 0
    sleep 0.05
  done
  echo "server at $1 did not become ready" >&2; return 1
}

measure() { # name address
  wait_ready "$2"
  wrk -t1 -c"$connections" -d2s -s "$script" "http://$2/twilio/voice" >/dev/null
  wrk -t1 -c"$connections" -d"${seconds}s" --latency -s "$script" "http://$2/twilio/voice" | tee "/tmp/loopback-$1.txt"
}

bare_bin=$(ls -t target/release/deps/webhooks-* | grep -v '\.d$' | head -1)
run_real() {
  IVR_LISTEN=127.0.0.1:8113 IVR_PUBLIC_URL=$public IVR_TWILIO_AUTH_TOKEN=$token IVR_LOG=error \
    IVR_OPERATOR_NUMBER=+77170000111 IVR_DATA_DIR="$tmp/data" IVR_DATABASE_URL="sqlite://$tmp/bench.sqlite3" \
    ./target/release/ivr serve & pid=$!
  echo "== ivr serve (signature checking on), round $1"; measure "real-$1" 127.0.0.1:8113
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
run_bare() {
  "$bare_bin" --bare-server 127.0.0.1:8112 >/dev/null & pid=$!
  echo "== bare axum baseline, round $1"; measure "bare-$1" 127.0.0.1:8112
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
tmp=$(mktemp -d)
# Alternate the two servers so that anything else the machine does falls on both alike.
for round in 1 2; do run_real "$round"; run_bare "$round"; done

rate() { awk '/Requests\/sec/ {print $2}' "/tmp/loopback-$1.txt"; }
python3 - "$(rate real-1)" "$(rate real-2)" "$(rate bare-1)" "$(rate bare-2)" <<'PY'
import sys
r1, r2, b1, b2 = map(float, sys.argv[1:])
r, b = (r1 + r2) / 2, (b1 + b2) / 2
print(f"ivr serve {r:.0f} req/s (rounds {r1:.0f}, {r2:.0f}); bare {b:.0f} req/s (rounds {b1:.0f}, {b2:.0f}); ratio {r / b:.2f}")
PY
rm -rf "$script" "$tmp"
