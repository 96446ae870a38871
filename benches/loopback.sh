#!/usr/bin/env bash
# Loopback comparison of the incoming-call webhook, in both dialects: the real `ivr serve`
# at README's default configuration (default log level, statistics on, SQLite `ivr.sqlite3`
# and the spool in its working folder) with signature checking on (X-Twilio-Signature,
# Jambonz-Signature), against a bare axum handler that parses the same body (a form, JSON)
# and returns a static document (benches/webhooks.rs --bare-server). Each server runs alone,
# then wrk (a second process) loads it over 127.0.0.1 with signed requests: on TwiML each is
# a new call (its own CallSid), so every request is statistics for the writer; on jambonz,
# one call's webhook again and again (its signature carries a time, made as each run starts).
#
#   bash benches/loopback.sh [seconds] [connections]
#
# Goal: the service at 0.8x the bare handler or better. Beside requests per second, each run
# gives the server's CPU time per request (user + system, from /proc), which moves less with
# what else the machine does. The service's log (stderr) is kept and summarised at the end:
# how many lines, how many warnings (one per overflow episode).
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
# Every TwiML request is a new call (its own CallSid, signed): a statistics record for the
# writer each, as on a real line, not a redelivery of one call the service counts once.
# wrk cycles through LOOPBACK_CALLS of them (default 300,000), made here beforehand.
export CALLS=$(mktemp)
python3 - "$token" "$public/twilio/voice" "${LOOPBACK_CALLS:-300000}" > "$CALLS" <<'PY'
import base64, hashlib, hmac, sys, urllib.parse
token, url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
key = token.encode()
for n in range(count):
    params = [("AccountSid", "AC0123"), ("CallSid", f"CA{n:032x}"), ("CallStatus", "ringing"),
              ("Direction", "inbound"), ("From", f"+7701{n % 10_000_000:07d}"), ("To", "111")]
    data = url + "".join(k + v for k, v in params)  # already sorted by name
    sig = base64.b64encode(hmac.new(key, data.encode(), hashlib.sha1).digest()).decode()
    print(urllib.parse.urlencode(params) + "\t" + sig)
PY
script=$(mktemp --suffix=.lua)
cat > "$script" <<'LUA'
local requests, next = {}, 0
function init(args)
  for line in io.lines(os.getenv("CALLS")) do
    local body, signature = line:match("([^\t]+)\t(.+)")
    requests[#requests + 1] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = signature,
    }, body)
  end
end
function request()
  next = next % #requests + 1
  return requests[next]
end
LUA

# jambonz: the JSON body its feature server posts to the application's call webhook, and its
# Jambonz-Signature (HMAC-SHA256 over "<t>.<body>"), stamped when each run starts (jambonz
# refuses nothing older than five minutes, and neither does the service).
jambonz_secret=loopback-jambonz-secret
export JBODY='{"call_sid":"9f1c2b3a-0d4e-4f5a-8b6c-7d8e9f0a1b2c","direction":"inbound","from":"+77011234567","to":"111","call_id":"a1b2@203.0.113.7","sip_status":100,"sip_reason":"Trying","call_status":"trying","account_sid":"9351f46a-678c-43f5-b8a6-d4eb58d131af","application_sid":"0dddaabf-0a30-43e3-84e8-426873b1a78b","originating_sip_ip":"203.0.113.7","originating_sip_trunk_name":"kz-trunk"}'
jambonz_sign() {
  python3 - "$jambonz_secret" "$JBODY" <<'PY'
import hashlib, hmac, sys, time
secret, body = sys.argv[1:]
t = int(time.time())
print(f"t={t},v1=" + hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest())
PY
}
jscript=$(mktemp --suffix=.lua)
cat > "$jscript" <<'LUA'
wrk.method = "POST"
wrk.body = os.getenv("JBODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Jambonz-Signature"] = os.getenv("JSIG")
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

# The server's CPU time so far (user + system), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }

# One wrk run against the server `pid`; its output and the server's CPU time per request.
run_wrk() { # name script url
  local before after
  before=$(cpu_ticks)
  wrk -t1 -c"$connections" -d"${seconds}s" --latency -s "$2" "$3" > "/tmp/loopback-$1.txt"
  after=$(cpu_ticks)
  awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" \
    '/requests in/ {printf "server CPU: %.1f us per request\n", ticks / hz * 1e6 / $1}' \
    "/tmp/loopback-$1.txt" >> "/tmp/loopback-$1.txt"
  cat "/tmp/loopback-$1.txt"
}

measure() { # name address dialect
  wait_ready "$2"
  if [ "$3" = twiml ]; then
    wrk -t1 -c"$connections" -d2s -s "$script" "http://$2/twilio/voice" >/dev/null
    run_wrk "$1" "$script" "http://$2/twilio/voice"
  else
    export JSIG=$(jambonz_sign)
    wrk -t1 -c"$connections" -d2s -s "$jscript" "http://$2/jambonz/call" >/dev/null
    run_wrk "jambonz-$1" "$jscript" "http://$2/jambonz/call"
  fi
}

target_dir=$(realpath -m "${CARGO_TARGET_DIR:-target}")
bare_bin=$(ls -t "$target_dir"/release/deps/webhooks-* | grep -v '\.d$' | head -1)
root=$PWD
# README's command, `cargo run` from the repository: every setting at its default but the
# address, the provider's credentials and the switchboard. The flow and prompts are the
# bundled ones; the database (`ivr.sqlite3`) and the spool (`data/`) go to the working
# folder, here a scratch one.
run_real() { # round dialect
  local work="$tmp/$2-$1"
  mkdir -p "$work"
  (cd "$work" && exec env -u IVR_LOG -u IVR_DATABASE_URL -u IVR_DATA_DIR -u IVR_CONFIG \
    IVR_LISTEN=127.0.0.1:8113 IVR_PUBLIC_URL=$public IVR_TWILIO_AUTH_TOKEN=$token \
    IVR_JAMBONZ_WEBHOOK_SECRET=$jambonz_secret IVR_OPERATOR_NUMBER=+77170000111 \
    IVR_FLOW="$root/flows/hotline.toml" IVR_PROMPTS="$root/prompts" \
    "$target_dir/release/ivr" serve 2>>"$tmp/serve.log") & pid=$!
  echo "== ivr serve (README's defaults, signature checking on), $2, round $1"; measure "real-$1" 127.0.0.1:8113 "$2"
  # SIGTERM starts the drain; a second one cuts it short (the statistics still go to the spool).
  kill "$pid"; sleep 0.5; kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
}
run_bare() { # round dialect
  "$bare_bin" --bare-server 127.0.0.1:8112 >/dev/null & pid=$!
  echo "== bare axum baseline, $2, round $1"; measure "bare-$1" 127.0.0.1:8112 "$2"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
tmp=$(mktemp -d)
# Each run on a new process and, for the service, a new working folder (its own database
# and spool), so that one dialect's run does not pay for the statistics the other left
# behind. The two servers alternate so that anything else the machine does falls on both.
for round in 1 2; do
  for dialect in twiml jambonz; do run_real "$round" "$dialect"; run_bare "$round" "$dialect"; done
done

rate() { awk '/Requests\/sec/ {print $2}' "/tmp/loopback-$1.txt"; }
cpu() { awk '/server CPU/ {print $3}' "/tmp/loopback-$1.txt"; }
for dialect in twiml jambonz; do
  p=""; [ "$dialect" = jambonz ] && p="jambonz-"
  python3 - "$dialect" "$(rate ${p}real-1)" "$(rate ${p}real-2)" "$(rate ${p}bare-1)" "$(rate ${p}bare-2)" \
    "$(cpu ${p}real-1)" "$(cpu ${p}real-2)" "$(cpu ${p}bare-1)" "$(cpu ${p}bare-2)" <<'PY'
import sys
d = sys.argv[1]
r1, r2, b1, b2, cr1, cr2, cb1, cb2 = map(float, sys.argv[2:])
r, b, cr, cb = (r1 + r2) / 2, (b1 + b2) / 2, (cr1 + cr2) / 2, (cb1 + cb2) / 2
print(f"{d}: ivr serve {r:.0f} req/s (rounds {r1:.0f}, {r2:.0f}); bare {b:.0f} req/s (rounds {b1:.0f}, {b2:.0f}); ratio {r / b:.2f}")
print(f"{d}: server CPU per request: ivr serve {cr:.1f} us, bare {cb:.1f} us; ratio {cb / cr:.2f}")
PY
done
echo "ivr serve's log: $(wc -l < "$tmp/serve.log") lines, $(grep -c WARN "$tmp/serve.log" || true) warnings:"
grep WARN "$tmp/serve.log" | sed 's/^/  /' | head -20
stored=0
for db in "$tmp"/*/ivr.sqlite3; do stored=$((stored + $(sqlite3 "$db" 'SELECT COUNT(*) FROM call_steps'))); done
echo "statistics stored: $stored records, $(cat "$tmp"/*/data/spool/* 2>/dev/null | wc -l) in the spool"
rm -rf "$script" "$jscript" "$tmp" "$CALLS"
