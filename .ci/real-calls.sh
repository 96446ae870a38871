#!/usr/bin/env bash
# Real calls through the real Asterisk (issue 24): the rig of .ci/asterisk-rig.sh with the
# line's deploy/asterisk/ files, baresip phones for the caller, the police (the emergency
# target) and the operator, two FastAGI instances behind IVR_AGI, and the driver
# .ci/asterisk/real_calls.py, whose last line is `N passed, N failed`.
#
# Usage: .ci/real-calls.sh path/to/built/ivr
# Env: PRESSES (key presses timed per dialplan, default 30), NINES (calls pressing 9, per
#      dialplan, default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "${1:?usage: .ci/real-calls.sh path/to/built/ivr}")
source .ci/asterisk-rig.sh

AGI_PORTS=(4573 4574)
RIG_AGI="127.0.0.1:${AGI_PORTS[0]}&127.0.0.1:${AGI_PORTS[1]}"
SIP_PORT=${SIP_PORT:-5060}
phones=(caller:5070:4444:20000-20099 police:5072:4445:20200-20299 operator:5074:4446:20400-20499)
RIG_DIR=$(mktemp -d /tmp/real-calls.XXXXXX)
trap rig_cleanup EXIT

rig_build
for p in "$SIP_PORT" 5070 5072 5074 4444 4445 4446 "${AGI_PORTS[@]}" 8088; do
  if ss -Hlntu "( sport = :$p )" | grep -q .; then echo "port $p is in use" >&2; exit 1; fi
done
export SIP_PORT
rig_start "$binary"
rig_check

# The phones: what each sends is a quiet tone (the caller) or a voice (the police), padded
# because baresip's file source ends the call at its end; each records what it hears.
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$RIG_DIR/caller_src.wav" synth 600 sine 350 vol 0.02
cp "$RIG_DIR/caller_src.wav" "$RIG_DIR/answer_src.wav"
for phone in "${phones[@]}"; do
  IFS=: read -r name sip ctrl rtp <<<"$phone"
  dir=$RIG_DIR/ua-$name
  mkdir -p "$dir"
  source=$RIG_DIR/answer_src.wav; answer=";answermode=auto"
  if [ "$name" = caller ]; then source=$RIG_DIR/caller_src.wav; answer=""; fi
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
  echo "<sip:$name@127.0.0.1:$sip>;regint=0$answer" > "$dir/accounts"
  baresip -4 -f "$dir" > "$RIG_DIR/ua-$name.log" 2>&1 < /dev/null &
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

# The two `ivr serve` instances behind IVR_AGI, each on its own HTTP port and database.
instances=$(python3 - "$binary" "$RIG_DIR" "${AGI_PORTS[@]}" <<'PY'
import json, socket, sys
binary, rig, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]
def free():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port
out = []
for i, port in enumerate(ports):
    http = free()
    env = {"IVR_LISTEN": f"127.0.0.1:{http}", "IVR_PUBLIC_URL": f"http://127.0.0.1:{http}",
           "IVR_AGI_LISTEN": f"127.0.0.1:{port}", "IVR_DATABASE_URL": f"sqlite://{rig}/ivr-{i}.sqlite3",
           "IVR_DATA_DIR": f"{rig}/data-{i}", "IVR_EMERGENCY_NUMBER": "PJSIP/police",
           "IVR_OPERATOR_NUMBER": "PJSIP/operator", "IVR_DRAIN_MS": "300",
           "IVR_LINE_SECRET": "real-calls-line-secret"}
    out.append({"argv": [binary, "serve"], "env": env, "port": port})
print(json.dumps(out))
PY
)
rig_log "FastAGI behind IVR_AGI ($RIG_AGI): two ivr serve"

python3 .ci/asterisk/real_calls.py --rig-dir "$RIG_DIR" --sip-port "$SIP_PORT" --caller-dir "$RIG_DIR/ua-caller" \
  --instances "$instances" --presses "${PRESSES:-30}" --nines "${NINES:-5}" --figures "$RIG_DIR/figures.json" \
  | tee "$RIG_DIR/real-calls.out"
status=${PIPESTATUS[0]}
grep -h 'ivr-111: ' "$RIG_DIR/log/messages.log" | sed 's/^/    /' | tail -20 || true
rig_log "logs and recordings in $RIG_DIR"
exit "$status"
