#!/usr/bin/env bash
# Two real `ivr serve` on one fresh PostgreSQL database behind Debian's nginx (round-robin
# upstream on a loopback port, no sticky sessions), as docs/statistics.md's "Several
# instances behind a load balancer" runs them (issue 14). Calls are driven through nginx
# as Twilio drives them (signed webhooks, following the action URLs of each answer), so
# consecutive webhooks of a call land on alternate instances; some incoming-call webhooks are
# delivered twice; one instance is restarted in the middle of every call. Then
# `ivr report --format json` and the rows of `calls` must show each call once, with its
# end and its duration.
#
# Then the operators' queue (issue 26) over the same two instances and nginx:
# .ci/two-instances-queue.py (its docstring says what it checks), with a `kill -9` of an
# instance while callers wait.
#
# Usage: .ci/two-instances.sh path/to/built/ivr   (IVR_TEST_POSTGRES_URL names the server)
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "$1")
server=${IVR_TEST_POSTGRES_URL:?IVR_TEST_POSTGRES_URL names the PostgreSQL server}
scratch=$(mktemp -d)
database="ivr_two_instances_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
database_url="${server%/*}/$database"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$server" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
trap cleanup EXIT
psql -q "$server" -c "CREATE DATABASE $database" >/dev/null

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
front=$(free_port)
ports=("$(free_port)" "$(free_port)")
token=two-instances-token
stretch=3  # IVR_QUEUE_WAIT_SECONDS: the queue's checks ask again after it
public="http://127.0.0.1:$front"

# Starts instance $1 (0 or 1) and records its pid in pids[$1].
# Webhooks only: no FastAGI listener, which both instances would want at its default port.
# The queue's settings are for .ci/two-instances-queue.py (no operator is on the roster
# before it runs).
start() {
  IVR_LISTEN="127.0.0.1:${ports[$1]}" IVR_PUBLIC_URL=$public IVR_TWILIO_AUTH_TOKEN=$token \
    IVR_JAMBONZ_WEBHOOK_SECRET=$token IVR_QUEUE_STRATEGY=longest_free IVR_WRAP_UP_SECONDS=0 \
    IVR_QUEUE_WAIT_SECONDS=$stretch \
    IVR_OPERATOR_NUMBER=+77170000111 IVR_DATABASE_URL=$database_url IVR_DATA_DIR="$scratch/data-$1" \
    IVR_DRAIN_MS=300 IVR_AGI_LISTEN=off "$binary" serve 2>>"$scratch/ivr-$1.log" &
  pids[$1]=$!
}
# Polls a /readyz until it answers 200.
ready() {
  for _ in $(seq 1 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1/readyz" || true)" = 200 ] && return 0
    sleep 0.1
  done
  echo "$1 never became ready" >&2; cat "$scratch"/ivr-*.log >&2; return 1
}

start 0
start 1
mkdir -p "$scratch/nginx"
cat > "$scratch/nginx.conf" <<EOF
pid $scratch/nginx/nginx.pid;
error_log stderr warn;
daemon off;
events {}
http {
    access_log off;
    client_body_temp_path $scratch/nginx/body;
    proxy_temp_path $scratch/nginx/proxy;
    fastcgi_temp_path $scratch/nginx/fastcgi;
    uwsgi_temp_path $scratch/nginx/uwsgi;
    scgi_temp_path $scratch/nginx/scgi;
    upstream ivr {
        server 127.0.0.1:${ports[0]};
        server 127.0.0.1:${ports[1]};
    }
    server {
        listen 127.0.0.1:$front;
        location / {
            proxy_pass http://ivr;
            proxy_set_header Host \$host;
            proxy_next_upstream error timeout;
            # Which instance answered: the queue's checks kill the one that served a caller.
            add_header X-Upstream \$upstream_addr always;
        }
    }
}
EOF
nginx -c "$scratch/nginx.conf" 2>"$scratch/nginx.log" &
pids+=($!)
ready "http://127.0.0.1:${ports[0]}"
ready "http://127.0.0.1:${ports[1]}"
ready "$public"

# The calls, in two halves: up to the language choice, then (after a restart of instance
# 0) the rest. State between the halves is what Twilio keeps: the last answer's URLs.
drive() { python3 - "$1" "$public" "$token" "$scratch/calls.json" <<'PY'
import base64, hashlib, hmac, json, sys, urllib.parse, urllib.request
import xml.etree.ElementTree as ET

half, public, token, saved = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
CALLS = 12

def post(url, params):
    data = url + "".join(k + v for k, v in sorted(params.items()))
    sig = base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()
    req = urllib.request.Request(url, data=urllib.parse.urlencode(params).encode(),
                                 headers={"X-Twilio-Signature": sig})
    with urllib.request.urlopen(req, timeout=10) as answer:
        assert answer.status == 200, (url, answer.status)
        return answer.read().decode()

def action(twiml, tag):
    for element in ET.fromstring(twiml).iter(tag):
        if element.get("action"):
            return element.get("action")
    raise AssertionError(f"no <{tag} action> in {twiml}")

def caller(n):
    return {"CallSid": f"CA{n:032x}", "AccountSid": "AC0123", "From": f"+7701555{n:04d}", "To": "111",
            "CallStatus": "in-progress", "Direction": "inbound"}

if half == "start":
    calls = {}
    for n in range(CALLS):
        incoming = post(f"{public}/twilio/voice", caller(n))
        if n % 3 == 0:  # the provider delivers the incoming-call webhook again
            post(f"{public}/twilio/voice", caller(n))
        welcome = post(action(incoming, "Gather"), {**caller(n), "Digits": "2"})
        calls[n] = welcome
    json.dump(calls, open(saved, "w"))
else:
    calls = json.load(open(saved))
    for n in range(CALLS):
        last = calls[str(n)]
        if n % 2 == 0:  # the police: 9, the dial ends, then the call
            dial = post(action(last, "Gather"), {**caller(n), "Digits": "9"})
            post(action(dial, "Dial"), {**caller(n), "DialCallStatus": "completed", "DialCallDuration": "20"})
        post(f"{public}/twilio/status", {**caller(n), "CallStatus": "completed", "CallDuration": str(30 + n)})
    print(CALLS)
PY
}
drive start
# Instance 0 restarts in the middle of every call (SIGTERM, drain, a new process).
kill -TERM "${pids[0]}"
wait "${pids[0]}" || true
start 0
ready "http://127.0.0.1:${ports[0]}"
calls=$(drive finish)

# Every record committed: each instance drains into the database on SIGTERM.
for i in 0 1; do kill -TERM "${pids[$i]}"; wait "${pids[$i]}" || true; done
IVR_DATABASE_URL=$database_url "$binary" report --format json > "$scratch/report.json"
rows=$(psql -qAt "$database_url" -c "SELECT count(*), count(*) FILTER (WHERE ended = 'completed'), \
  count(*) FILTER (WHERE outcome = 'emergency' AND seconds_to_transfer BETWEEN 0 AND 10), \
  string_agg(ivr_seconds::text, ',' ORDER BY ivr_seconds) FILTER (WHERE outcome <> 'emergency') FROM calls")
python3 - "$calls" "$rows" "$scratch/report.json" <<'PY'
import json, sys
calls, rows, report = int(sys.argv[1]), sys.argv[2].split("|"), json.load(open(sys.argv[3]))
summary = report.get("summary", report)
police = (calls + 1) // 2
expected_seconds = ",".join(str(30 + n) for n in range(calls) if n % 2 == 1)
problems = []
if summary["calls"] != calls: problems.append(f"report counts {summary['calls']} calls, not {calls}")
if summary["ended"].get("completed") != calls: problems.append(f"ended {summary['ended']}, not {calls} completed")
if summary["emergency_transfers"] != police: problems.append(f"{summary['emergency_transfers']} police transfers, not {police}")
if int(rows[0]) != calls: problems.append(f"{rows[0]} rows in calls, not {calls}")
if int(rows[1]) != calls: problems.append(f"{rows[1]} rows with their end, not {calls}")
if int(rows[2]) != police: problems.append(f"{rows[2]} police calls timed from their start, not {police}")
if rows[3] != expected_seconds: problems.append(f"durations {rows[3]}, not the provider's {expected_seconds}")
if problems:
    sys.exit("two instances behind nginx: " + "; ".join(problems))
print(f"ok: {calls} calls through nginx over two instances (one restarted mid-call), redeliveries included: "
      f"counted once each, every end and duration linked")
PY

# The operators' queue: both instances again, one Kazakh operator on the roster (reloaded by
# each instance within IVR_ROSTER_REFRESH_MS, 1 s), TwiML callers with a kill -9 among
# them, then (the killed instance restarted) the same arrival order in jambonz's webhooks.
start 0
start 1
ready "http://127.0.0.1:${ports[0]}"
ready "http://127.0.0.1:${ports[1]}"
IVR_DATABASE_URL=$database_url "$binary" operators add --name "Айгерим" --target +77170000001 --languages kk >/dev/null
sleep 2.5
instances() { echo "127.0.0.1:${ports[0]}=${pids[0]},127.0.0.1:${ports[1]}=${pids[1]}"; }
python3 .ci/two-instances-queue.py twiml "$public" "$token" "$database_url" "$stretch" "$(instances)"
for i in 0 1; do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    wait "${pids[$i]}" 2>/dev/null || true
    start "$i"
    ready "http://127.0.0.1:${ports[$i]}"
  fi
done
sleep 1.5
python3 .ci/two-instances-queue.py jambonz "$public" "$token" "$database_url" "$stretch" "$(instances)"
