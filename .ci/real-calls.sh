#!/usr/bin/env bash
# Real calls through the real Asterisk (issue 24): the rig of .ci/asterisk-rig.sh with the
# line's deploy/asterisk/ files, baresip phones for the caller (known by a number and a
# name), a second caller (the operators' queue, issue 26), the police (the emergency target), the switchboard and the roster's two operators
# (one Kazakh, one Russian), two `ivr serve` instances behind IVR_AGI sharing one fresh
# PostgreSQL database (created here, dropped at the end; no wrap-up, so that the operators'
# queue's test sees the operator free once a call ends), and the driver
# .ci/asterisk/real_calls.py (its docstring lists the tests), whose last line is
# `N passed, N failed`.
#
# Usage: .ci/real-calls.sh path/to/built/ivr
# Env: PRESSES (key presses timed per dialplan, default 30), NINES (calls pressing 9, per
#      dialplan, default 5), IVR_TEST_POSTGRES_URL (the PostgreSQL server, default
#      postgres://postgres@127.0.0.1:5432/postgres).
# Time: warm (Asterisk built) about 7 minutes, nearly all of it the calls (425 s measured
# with a load average of 10 on 2 cores; 368 s with the queue's test, on a machine shared with
# other builds; 285 s before tests 3-6, 9 and SIGTERM were added).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "${1:?usage: .ci/real-calls.sh path/to/built/ivr}")
source .ci/asterisk-rig.sh

AGI_PORTS=(4573 4574)
RIG_AGI="127.0.0.1:${AGI_PORTS[0]}&127.0.0.1:${AGI_PORTS[1]}"
SIP_PORT=${SIP_PORT:-5060}
# name:SIP port:control port:RTP ports; the operators' names and SIP ports are RIG_OPERATOR_PHONES'.
# Two caller phones (the second for the operators' queue: two callers, one operator), their RTP
# ports packets.py's CALLER_RTP and SECOND_CALLER_RTP.
phones=(caller:5070:4444:20000-20049 caller2:5080:4449:20050-20099 police:5072:4445:20200-20299
        operator:5074:4446:20400-20499 kk_operator:5076:4447:20600-20699 ru_operator:5078:4448:20800-20899)
caller_name="Gulnara Testcaller"
server=${IVR_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
database="real_calls_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
database_url="${server%/*}/$database"
RIG_DIR=$(mktemp -d /tmp/real-calls.XXXXXX)
cleanup() {
  rig_cleanup
  psql -q "$server" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

rig_build
used=()
for phone in "${phones[@]}"; do
  IFS=: read -r name sip ctrl rtp <<<"$phone"
  used+=("$sip" "$ctrl")
done
for p in "$SIP_PORT" "${used[@]}" "${AGI_PORTS[@]}" 8088; do
  if ss -Hlntu "( sport = :$p )" | grep -q .; then echo "port $p is in use" >&2; exit 1; fi
done
export SIP_PORT
rig_start "$binary"
rig_check

# The instances' one database, and the roster: a Kazakh and a Russian operator, each on
# their own phone, by number (RIG_OPERATOR_PHONES; IVR_ASTERISK_DIAL=PJSIP/{} dials them);
# the switchboard is IVR_OPERATOR_NUMBER.
psql -q "$server" -c "CREATE DATABASE $database" >/dev/null
export IVR_DATABASE_URL=$database_url
"$binary" migrate >/dev/null 2>&1
read -r kk_operator ru_operator <<<"$(for phone in $RIG_OPERATOR_PHONES; do echo -n "${phone%%:*} "; done)"
"$binary" operators add --name "Айгерим" --target "$kk_operator" --languages kk >/dev/null
"$binary" operators add --name "Ольга" --target "$ru_operator" --languages ru >/dev/null
unset IVR_DATABASE_URL
rig_log "PostgreSQL database $database: two operators, $kk_operator (kk) and $ru_operator (ru)"

# The phones: what each sends is a quiet 350 Hz tone (heard.py finds the caller's in an
# operator's recording), padded because baresip's file source ends the call at its end;
# each records what it hears.
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$RIG_DIR/caller_src.wav" synth 600 sine 350 vol 0.02
cp "$RIG_DIR/caller_src.wav" "$RIG_DIR/answer_src.wav"
phones_json=$(for phone in "${phones[@]}"; do
  IFS=: read -r name sip ctrl rtp <<<"$phone"
  dir=$RIG_DIR/ua-$name
  mkdir -p "$dir"
  source=$RIG_DIR/answer_src.wav; account="<sip:$name@127.0.0.1:$sip>;regint=0;answermode=auto"
  if [ "$name" = caller ]; then
    source=$RIG_DIR/caller_src.wav; account="\"$caller_name\" <sip:$RIG_CALLER_NUMBER@127.0.0.1:$sip>;regint=0"
  elif [ "$name" = caller2 ]; then
    source=$RIG_DIR/caller_src.wav; account="<sip:$RIG_SECOND_CALLER_NUMBER@127.0.0.1:$sip>;regint=0"
  fi
  cat > "$dir/config" <<EOF
poll_method		epoll
sip_listen		127.0.0.1:$sip
net_interface		127.0.0.1
dns_server		127.0.0.1:53
call_local_timeout	120
call_max_calls		4
audio_player		alsa,null
audio_alert		alsa,null
audio_source		aufile,$source
rtp_ports		$rtp
module_path		/usr/lib/baresip/modules
module			g711.so
module			alsa.so
module			aufile.so
module			sndfile.so
module_app		account.so
module_app		menu.so
module_app		ctrl_tcp.so
ctrl_tcp_listen		127.0.0.1:$ctrl
snd_path		$dir
EOF
  echo "$account" > "$dir/accounts"
  echo "\"$name\": {\"sip\": $sip, \"ctrl\": $ctrl, \"dir\": \"$dir\"}"
done | paste -sd, | sed 's/^/{/; s/$/}/')
for phone in "${phones[@]}"; do
  IFS=: read -r name sip ctrl rtp <<<"$phone"
  baresip -4 -f "$RIG_DIR/ua-$name" > "$RIG_DIR/ua-$name.log" 2>&1 < /dev/null &
  RIG_PIDS+=($!)
done
for phone in "${phones[@]}"; do
  IFS=: read -r name sip ctrl rtp <<<"$phone"
  for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$ctrl") 2>/dev/null && break
    sleep 0.1
  done
  (exec 3<>/dev/tcp/127.0.0.1/"$ctrl") 2>/dev/null || { echo "the $name phone never listened" >&2; exit 1; }
done

# The two `ivr serve` instances behind IVR_AGI, each on its own HTTP port and data dir, on
# the one database. IVR_DRAIN_MS is long enough for a SIGTERM's drain to be seen on a call.
instances=$(python3 - "$binary" "$RIG_DIR" "$database_url" "${AGI_PORTS[@]}" <<'PY'
import json, socket, sys
binary, rig, database, ports = sys.argv[1], sys.argv[2], sys.argv[3], [int(p) for p in sys.argv[4:]]
def free():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port
out = []
for i, port in enumerate(ports):
    http = free()
    env = {"IVR_LISTEN": f"127.0.0.1:{http}", "IVR_PUBLIC_URL": f"http://127.0.0.1:{http}",
           "IVR_AGI_LISTEN": f"127.0.0.1:{port}", "IVR_DATABASE_URL": database,
           "IVR_DATA_DIR": f"{rig}/data-{i}", "IVR_EMERGENCY_NUMBER": "PJSIP/police",
           "IVR_OPERATOR_NUMBER": "PJSIP/operator", "IVR_ASTERISK_DIAL": "PJSIP/{}", "IVR_DRAIN_MS": "4000",
           "IVR_LINE_SECRET": "real-calls-line-secret",
           "IVR_WRAP_UP_SECONDS": "0", "IVR_QUEUE_STRATEGY": "longest_free", "IVR_QUEUE_WAIT_SECONDS": "5"}
    out.append({"argv": [binary, "serve"], "env": env})
print(json.dumps(out))
PY
)
rig_log "FastAGI behind IVR_AGI ($RIG_AGI): two ivr serve"

started=$SECONDS
python3 .ci/asterisk/real_calls.py --rig-dir "$RIG_DIR" --sip-port "$SIP_PORT" --phones "$phones_json" \
  --caller-number "$RIG_CALLER_NUMBER" --second-caller-number "$RIG_SECOND_CALLER_NUMBER" --caller-name "$caller_name" --instances "$instances" \
  --presses "${PRESSES:-30}" --nines "${NINES:-5}" --figures "$RIG_DIR/figures.json" \
  | tee "$RIG_DIR/real-calls.out"
status=${PIPESTATUS[0]}
grep -h 'ivr-111: ' "$RIG_DIR/log/messages.log" | sed 's/^/    /' | tail -20 || true
rig_log "calls $((SECONDS - started)) s; logs and recordings in $RIG_DIR"
exit "$status"
