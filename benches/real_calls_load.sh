#!/usr/bin/env bash
# 100 calls at once into the real Asterisk (issue 24, "Performance on the real line"): the
# rig of .ci/asterisk-rig.sh with the line's deploy/asterisk/ files, two `ivr serve` behind
# IVR_AGI as a PBX runs them, and SIPp (Debian's sip-tester) placing the calls with RTP from
# a pcap and the keys as RFC 4733 events. Each call: answered, the language menu heard whole,
# 2 (Russian), the safety notice and the main menu, 1 (the first guidance topic), its first
# part and what the keys do next heard whole, then the caller hangs up (84 s a call).
# The same calls then go to the native dialplan (.ci/asterisk/rig-native.conf, Read() on
# local copies of the same recordings) for Asterisk's own CPU beside it.
#
# benches/real_calls_load.py measures each run: SIPp's failed calls, every prompt found whole
# in the audio that reached its caller, CPU per call-minute of the service and of Asterisk,
# the service's RSS per call. The service runs as README's `cargo run` does (default log
# level, statistics on into SQLite), on its own ports. Exits 1 on any failed call or any
# prompt cut short. About 5 minutes: one warm-up call (Asterisk's media cache fetches each
# prompt once, as on a line that has been up), then the two runs of 84 s.
#
#   bash benches/real_calls_load.sh [path/to/ivr]      # default: cargo build, target/debug/ivr
#
# Env: CALLS (100), RATE (calls started per second, 50), WARMUP (1; 0: the first calls fill
# the media cache), and every port, none of them .ci/real-calls.sh's, so both can run at once:
# SIP_PORT (Asterisk, 5160), HTTP_PORT (Asterisk, 8188), RTP_START-RTP_END (Asterisk,
# 30000-30999), AGI_PORTS ("4673 4674"), SIPP_PORT (5162), SIPP_MEDIA_PORT (32000: the calls
# take every 4th port above it), POLICE_PORT/OPERATOR_PORT (5172/5174, where nobody listens).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -ge 1 ]; then
  binary=$(realpath "$1")
else
  cargo build -q --bin ivr
  binary=$(realpath "${CARGO_TARGET_DIR:-target}/debug/ivr")
fi
source .ci/asterisk-rig.sh

CALLS=${CALLS:-100}
RATE=${RATE:-50}
WARMUP=${WARMUP:-1}
read -r -a AGI_PORTS <<<"${AGI_PORTS:-4673 4674}"
SIPP_PORT=${SIPP_PORT:-5162}
SIPP_MEDIA_PORT=${SIPP_MEDIA_PORT:-32000}
export SIP_PORT=${SIP_PORT:-5160} HTTP_PORT=${HTTP_PORT:-8188} RTP_START=${RTP_START:-30000} RTP_END=${RTP_END:-30999}
export POLICE_PORT=${POLICE_PORT:-5172} OPERATOR_PORT=${OPERATOR_PORT:-5174}
RIG_AGI="127.0.0.1:${AGI_PORTS[0]}&127.0.0.1:${AGI_PORTS[1]}"
RIG_DIR=$(mktemp -d /tmp/real-calls-load.XXXXXX)
trap rig_cleanup EXIT

rig_build
last_media=$((SIPP_MEDIA_PORT + 4 * CALLS + 1))
for p in "$SIP_PORT" "$HTTP_PORT" "${AGI_PORTS[@]}" "$SIPP_PORT" "$SIPP_MEDIA_PORT" $((SIPP_MEDIA_PORT + 2)); do
  if ss -Hlntu "( sport = :$p )" | grep -q .; then echo "port $p is in use" >&2; exit 1; fi
done
if ss -Hlnu "( sport >= :$((SIPP_MEDIA_PORT + 4)) and sport <= :$last_media )" | grep -q .; then
  echo "a port of $((SIPP_MEDIA_PORT + 4))-$last_media (the callers' media) is in use" >&2; exit 1
fi
rig_start "$binary"
rig_check

# The two instances behind IVR_AGI, at README's defaults but for their addresses, the
# database and spool (in the run's folder) and the PBX's dial strings.
for i in 0 1; do
  http=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  IVR_LISTEN=127.0.0.1:$http IVR_AGI_LISTEN=127.0.0.1:${AGI_PORTS[$i]} \
    IVR_DATABASE_URL=sqlite://$RIG_DIR/ivr-$i.sqlite3 IVR_DATA_DIR=$RIG_DIR/data-$i \
    IVR_EMERGENCY_NUMBER=PJSIP/police IVR_OPERATOR_NUMBER=PJSIP/operator IVR_LINE_SECRET=real-calls-load-secret \
    "$binary" serve > "$RIG_DIR/ivr-$i.log" 2>&1 < /dev/null &
  RIG_PIDS+=($!)
done
for i in 0 1; do
  for _ in $(seq 1 300); do
    (exec 3<>/dev/tcp/127.0.0.1/"${AGI_PORTS[$i]}") 2>/dev/null && break
    kill -0 "${RIG_PIDS[$i]}" || { echo "ivr serve $i exited; its log:" >&2; cat "$RIG_DIR/ivr-$i.log" >&2; exit 1; }
    sleep 0.1
  done
  (exec 3<>/dev/tcp/127.0.0.1/"${AGI_PORTS[$i]}") 2>/dev/null || { echo "ivr serve $i never listened" >&2; exit 1; }
done
rig_log "FastAGI behind IVR_AGI ($RIG_AGI): ivr serve pids ${RIG_PIDS[*]}"

run() { # label extension calls [more options]
  python3 benches/real_calls_load.py --label "$1" --extension "$2" --calls "$3" "${@:4}" --rate "$RATE" \
    --asterisk "127.0.0.1:$SIP_PORT" --sipp-port "$SIPP_PORT" --media-port "$SIPP_MEDIA_PORT" \
    --prompts "$PWD/prompts" --ivr-pids "${RIG_PIDS[0]},${RIG_PIDS[1]}" --asterisk-pid "$(cat "$RIG_DIR/asterisk.pid")" \
    --work "$RIG_DIR/$1" --out "$RIG_DIR/$1.json"
}
status=0
if [ "$WARMUP" = 1 ]; then
  rig_log "warm-up: one call into the line (the media cache fetches each prompt once)"
  run warmup 111 1 --idle-seconds 1 > "$RIG_DIR/warmup.out" || { cat "$RIG_DIR/warmup.out" >&2; echo "the warm-up call failed" >&2; exit 1; }
fi
rig_log "uptime before the line's calls: $(uptime)"
run line 111 "$CALLS" || status=1
rig_log "uptime before the native calls: $(uptime)"
run native 112 "$CALLS" || status=1
# Anything the load made the dialplan or the service say: a call moved between instances
# (it went away or refused), a warning (but start-up's about the webhook secrets, unset here).
rig_log "ivr-111 re-entries and fallbacks in Asterisk's log: $(grep -c 'ivr-111: ' "$RIG_DIR/log/messages.log" || true)"
rig_log "warnings and errors in the service's logs: $(cat "$RIG_DIR"/ivr-*.log | grep -E ' (WARN|ERROR) ' | grep -cv 'is not set' || true)"
rig_log "figures in $RIG_DIR/line.json and $RIG_DIR/native.json; SIPp's files in $RIG_DIR/{line,native}/"
exit "$status"
