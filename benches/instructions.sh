#!/usr/bin/env bash
# Instructions per incoming-call webhook, counted by valgrind's callgrind (a count, so it
# does not depend on what else the machine is doing, unlike wrk's requests per second).
# The release `ivr serve` runs at README's default configuration, as in benches/loopback.sh
# (default log level, statistics on, SQLite in its working folder, signature checking on);
# counting starts after a warm-up and covers N signed incoming-call webhooks on one kept-alive
# connection plus what the service does for them meanwhile (the statistics writer's commits
# included), then the functions that cost most are printed.
#
#   bash benches/instructions.sh [requests]      # default 2000
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-2000}
command -v valgrind >/dev/null || { apt-get update -q && apt-get install -y -q valgrind; }
cargo build -q --release --bin ivr
target_dir=$(realpath -m "${CARGO_TARGET_DIR:-target}")
root=$PWD
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
token=loopback-token
public=https://ivr.bench
port=8114

(cd "$tmp" && exec env -u IVR_LOG -u IVR_DATABASE_URL -u IVR_DATA_DIR -u IVR_CONFIG \
  IVR_LISTEN=127.0.0.1:$port IVR_PUBLIC_URL=$public IVR_TWILIO_AUTH_TOKEN=$token \
  IVR_OPERATOR_NUMBER=+77170000111 IVR_FLOW="$root/flows/hotline.toml" IVR_PROMPTS="$root/prompts" \
  valgrind -q --tool=callgrind --callgrind-out-file="$tmp/callgrind.out" \
  "$target_dir/release/ivr" serve 2>>"$tmp/serve.log") & pid=$!

python3 - "$port" "$token" "$public" "$requests" <<'PY'
import base64, hashlib, hmac, http.client, subprocess, sys, time, urllib.parse
port, token, public, requests = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])

def post(conn, n):
    params = [("CallSid", f"CA{n:032x}"), ("AccountSid", "AC0123"), ("From", "+77011234567"),
              ("To", "111"), ("CallStatus", "ringing"), ("Direction", "inbound")]
    data = public + "/twilio/voice" + "".join(k + v for k, v in sorted(params))
    sig = base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()
    conn.request("POST", "/twilio/voice", urllib.parse.urlencode(params),
                 {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig})
    response = conn.getresponse()
    response.read()
    assert response.status == 200, response.status

for _ in range(600):  # valgrind starts slowly
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        post(conn, 0)
        break
    except (ConnectionError, OSError):
        time.sleep(0.1)
else:
    sys.exit("the service did not start")
for n in range(1, 201):  # warm-up: connections, caches, the database's first commits
    post(conn, n)
time.sleep(1)
subprocess.run(["callgrind_control", "-z"], check=True, capture_output=True)
for n in range(1000, 1000 + requests):
    post(conn, n)
time.sleep(1)  # the writer commits what the requests recorded
subprocess.run(["callgrind_control", "-d"], check=True, capture_output=True)
PY
kill "$pid"; sleep 0.5; kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
dump=$(ls -t "$tmp"/callgrind.out.* | head -1)
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "instructions per incoming-call webhook: $((total / requests)) ($total over $requests requests)"
echo "-- functions by their own instructions (callgrind_annotate; the dump is kept as $target_dir/callgrind.webhooks.out):"
cp "$dump" "$target_dir/callgrind.webhooks.out"
callgrind_annotate --threshold=100 "$dump" 2>/dev/null | grep -E '^ *[0-9,]+ \(' |
  grep -vE 'clone|thread_start|call_once|start_thread|backtrace|tokio::runtime' | sed -n '2,31p'
