#!/usr/bin/env bash
# The real Asterisk of ../shared/asterisk/ with the line's deploy/asterisk/ files loaded, as
# a PBX would load them (docs/asterisk.md). Run it: builds Asterisk (cached under a prefix
# named by its version), installs the SIP phones, starts Asterisk, checks that the line's
# dialplan is loaded and reloads without an error, stops everything; exits non-zero on any
# failure. Source it: defines rig_build, rig_start and rig_stop for the real-call suite.
#
# Time: cold (Asterisk built from the tarballs, apt not counted) 191 s on an idle 2-core
# machine per ../shared/asterisk/README.md, 1276 s measured here under a load average of 15;
# warm (the prefix holds 22.10.1) about 4 s: build.sh returns at once, Asterisk boots in 3 s.
#
# Usage: .ci/asterisk-rig.sh path/to/built/ivr   (writes the PBX fallback with `ivr fallback`)
# Env: ASTERISK_PREFIX (default /opt/asterisk-22.10.1), RIG_DIR (default: a fresh temp dir),
#      RIG_AGI (the FastAGI addresses, default 127.0.0.1:4573&127.0.0.1:4574), RIG_CALLER_NUMBER
#      (the caller phone's SIP user, default 77015550123), RIG_SECOND_CALLER_NUMBER (a second
#      caller phone's, default 77015550124), RIG_OPERATOR_PHONES (the roster's
#      phones as number:name:port, default 77172000001:kk_operator:5076
#      77172000002:ru_operator:5078), the ports of
#      ../shared/asterisk/run.sh (SIP_PORT, HTTP_PORT, POLICE_PORT, OPERATOR_PORT …).
set -euo pipefail

RIG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RIG_SHARED=$(cd "$RIG_ROOT/../shared/asterisk" && pwd)
RIG_VERSION=22.10.1
: "${ASTERISK_PREFIX:=/opt/asterisk-$RIG_VERSION}"
: "${RIG_AGI:=127.0.0.1:4573&127.0.0.1:4574}"
# The caller's number (its phone's SIP user) and the roster's operators' phones
# (number:phone's name:SIP port): PJSIP endpoints named by the number, as a trunk's
# IVR_ASTERISK_DIAL=PJSIP/{} reaches them.
: "${RIG_CALLER_NUMBER:=77015550123}"
: "${RIG_SECOND_CALLER_NUMBER:=77015550124}"
: "${RIG_OPERATOR_PHONES:=77172000001:kk_operator:5076 77172000002:ru_operator:5078}"
RIG_STARTED=

rig_log() { printf '[asterisk-rig %(%H:%M:%S)T] %s\n' -1 "$*"; }

# Builds Asterisk once per machine (build.sh exits at once when the prefix holds this
# version) and installs the phones and the tools the calls need.
rig_build() {
  local started=$SECONDS
  BUILD_DIR=${BUILD_DIR:-/tmp/asterisk-rig-build} KEEP_BUILD=0 bash "$RIG_SHARED/build.sh" "$ASTERISK_PREFIX"
  [ "$("$ASTERISK_PREFIX/sbin/asterisk" -V)" = "Asterisk $RIG_VERSION" ]
  rig_log "Asterisk $RIG_VERSION in $ASTERISK_PREFIX ($((SECONDS - started)) s)"
  local wanted=(baresip sip-tester sox espeak-ng python3 iproute2) missing=() p
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    rig_log "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# rig_cli COMMAND: one Asterisk CLI command against the running rig.
rig_cli() { "$ASTERISK_PREFIX/sbin/asterisk" -C "$RIG_DIR/etc/asterisk.conf" -rx "$1"; }
# rig_has TEXT COMMAND: the command's output holds TEXT. Read whole before grep looks, so
# that grep -q stopping early cannot fail the writer under pipefail.
rig_has() { local out; out=$(rig_cli "$2"); grep -qF -- "$1" <<<"$out"; }

# rig_start IVR_BINARY: renders the rig's conf/ plus the line's deploy/asterisk/ files and
# the fallback `ivr fallback --dialect asterisk` writes, and starts Asterisk on them.
rig_start() {
  local ivr=$1
  : "${RIG_DIR:=$(mktemp -d /tmp/asterisk-rig.XXXXXX)}"
  mkdir -p "$RIG_DIR"
  RIG_DIR=$(cd "$RIG_DIR" && pwd)
  local conf=$RIG_DIR/conf
  rm -rf "$conf" "$RIG_DIR/fallback"
  mkdir -p "$conf"
  cp "$RIG_SHARED"/conf/*.conf "$conf/"
  chmod u+w "$conf"/*.conf

  (cd "$RIG_ROOT" && "$ivr" fallback --dialect asterisk "$RIG_DIR/fallback") >/dev/null

  # The line's files under the names a PBX gives them (docs/asterisk.md), untouched.
  cp "$RIG_ROOT/deploy/asterisk/extensions.conf" "$conf/ivr-111.conf"
  cp "$RIG_DIR/fallback/ivr-111-fallback.conf" "$conf/ivr-111-fallback.conf"
  # The globals docs/asterisk.md asks for, pointed at the rig's phones; 111 from the
  # caller's phone enters the line; 112 is the native dialplan the suite measures beside it.
  python3 - "$conf/extensions.conf" "$RIG_AGI" <<'PY'
import sys
path, agi = sys.argv[1], sys.argv[2]
text = open(path).read()
globals_ = (f"[globals]\nIVR_AGI = {agi}\nIVR_POLICE = PJSIP/police\nIVR_SWITCHBOARD = PJSIP/operator\n"
            "IVR_SOUNDS = @RUN_DIR@/fallback/sounds\n")
assert text.count("[globals]\n") == 1 and text.count("[from-caller]\n") == 1
text = text.replace("[globals]\n", globals_)
# Each call to the line is logged with its unique id and channel: what the real-call suite
# makes sure the service never keeps.
text = text.replace("[from-caller]\n", "[from-caller]\nexten => 111,1,Verbose(1,rig-call ${UNIQUEID} ${CHANNEL})\n"
                    " same => n,Goto(ivr-111,s,1)\nexten => 112,1,Goto(native-111,s,1)\n")
text += "\n#include ivr-111.conf\n#include ivr-111-fallback.conf\n#include rig-native.conf\n"
open(path, "w").write(text)
PY
  cp "$RIG_ROOT/.ci/asterisk/rig-native.conf" "$conf/rig-native.conf"
  rm -rf "$RIG_DIR/prompts"
  cp -r "$RIG_ROOT/prompts" "$RIG_DIR/prompts"
  # The rig's other phones: two callers known by a number (the SIP user the endpoint is
  # named after: `agi_callerid`), and a Kazakh and a Russian operator for the roster,
  # dialled by number.
  local phone number name port
  for number in "$RIG_CALLER_NUMBER" "$RIG_SECOND_CALLER_NUMBER"; do
    printf '\n[%s](endpoint-tpl)\ncontext = from-caller\naors = %s\n[%s]\ntype = aor\nmax_contacts = 1\n' \
      "$number" "$number" "$number" >> "$conf/pjsip.conf"
  done
  for phone in $RIG_OPERATOR_PHONES; do
    IFS=: read -r number name port <<<"$phone"
    printf '\n[%s](endpoint-tpl)\ncontext = from-internal\naors = %s\n[%s]\ntype = aor\ncontact = sip:%s@127.0.0.1:%s\n' \
      "$number" "$number" "$number" "$name" "$port" >> "$conf/pjsip.conf"
  done
  # The trunk example, moved onto loopback: proves it loads, rings nothing (no one listens).
  sed -e 's/192\.0\.2\.10:5060/127.0.0.1:5090/' -e 's/203\.0\.113\.1:5060/127.0.0.1:5091/' \
      -e 's/203\.0\.113\.1/127.0.0.2/' "$RIG_ROOT/deploy/asterisk/pjsip.conf" >> "$conf/pjsip.conf"
  # The media cache directory the deploy file sets, so the rig runs with what a PBX gets.
  CACHE_DIR=$(sed -n 's/^astcachedir => //p' "$RIG_ROOT/deploy/asterisk/asterisk.conf")
  [ -n "$CACHE_DIR" ] || { echo "deploy/asterisk/asterisk.conf sets no astcachedir" >&2; return 1; }

  PREFIX=$ASTERISK_PREFIX CONF_DIR=$conf CACHE_DIR=$CACHE_DIR bash "$RIG_SHARED/run.sh" "$RIG_DIR" | sed 's/^/    /'
  RIG_STARTED=1
  # The recordings the fallback plays, where IVR_SOUNDS points.
  [ -f "$RIG_DIR/fallback/sounds/kk/police_number.wav" ]
}

rig_stop() {
  if [ -n "$RIG_STARTED" ]; then
    bash "$RIG_SHARED/stop.sh" "$RIG_DIR" | sed 's/^/    /'
    RIG_STARTED=
  fi
}

# The processes started beside the rig (phones, `ivr serve`): rig_cleanup ends them by their
# ids, then stops Asterisk (`trap rig_cleanup EXIT`).
RIG_PIDS=()
rig_cleanup() {
  local pid
  for pid in "${RIG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${RIG_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rig_stop
}

# The checks of the loaded dialplan: every context listed, a reload without an error.
rig_check() {
  local context
  for context in ivr-111 ivr-111-fallback native-111; do
    rig_has "'s' => " "dialplan show $context" ||
      { echo "dialplan show $context does not list the context" >&2; rig_cli "dialplan show $context" >&2; return 1; }
    rig_log "ok: dialplan show $context lists it"
  done
  rig_has 'AGI(agi://${IVR_ADDRESS}/hotline)' "dialplan show s@ivr-111" ||
    { echo "ivr-111 does not enter FastAGI" >&2; return 1; }
  rig_has 'Dial(${IVR_POLICE}' "dialplan show s@ivr-111-fallback" ||
    { echo "the fallback does not dial the police" >&2; return 1; }
  local mark; mark=$(wc -c < "$RIG_DIR/log/messages.log")
  rig_has 'Dialplan reloaded' 'dialplan reload' || { echo "dialplan reload failed" >&2; return 1; }
  # A reload reports syntax problems only in the log.
  if tail -c +"$((mark + 1))" "$RIG_DIR/log/messages.log" | grep -E 'WARNING|ERROR' | grep -Ei 'pbx_config|config\.c|extensions'; then
    echo "dialplan reload logged a problem" >&2; return 1
  fi
  rig_log "ok: dialplan reload without a warning"
  rig_has 'Endpoint:  kz-trunk' 'pjsip show endpoint kz-trunk' ||
    { echo "the trunk example did not load" >&2; return 1; }
  rig_log "ok: deploy/asterisk/pjsip.conf's trunk loads (pjsip show endpoint kz-trunk)"
  rig_has "$CACHE_DIR" 'core show settings' ||
    { echo "astcachedir is not $CACHE_DIR" >&2; rig_cli 'core show settings' | grep -i cache >&2; return 1; }
  rig_log "ok: media cache in $CACHE_DIR"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  binary=$(realpath "${1:?usage: .ci/asterisk-rig.sh path/to/built/ivr}")
  own_dir=
  if [ -z "${RIG_DIR:-}" ]; then RIG_DIR=$(mktemp -d /tmp/asterisk-rig.XXXXXX); own_dir=1; fi
  trap 'rig_stop; [ -z "$own_dir" ] || rm -rf "$RIG_DIR"' EXIT
  started=$SECONDS
  rig_build
  built=$SECONDS
  rig_start "$binary"
  rig_check
  rig_log "ok: build and phones $((built - started)) s, start and checks $((SECONDS - built)) s"
fi
