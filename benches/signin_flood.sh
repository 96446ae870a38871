#!/usr/bin/env bash
# Memory under a sign-in flood: `ivr serve` as README runs it (`cargo run`: the debug build,
# default log level, statistics on, SQLite), one admin account, and wrk posting wrong
# passwords to POST /login from many connections at once, each a valid form with its CSRF
# token. Two floods, each against a fresh service:
#   one   - every request from one client with one name (the limits per address and per
#           name refuse it after its first failures, without a password check);
#   many  - behind a trusted proxy (IVR_TRUSTED_PROXIES=127.0.0.1), every request from a
#           random client address with a random name, so every one asks for a password
#           check: the worst case, bounded only by IVR_PASSWORD_CHECKS.
# The service's resident memory is sampled every 0.2 s; printed: the peak during the flood,
# what is held 5 s after it, and how many passwords were checked (the rest were answered
# 429 or 503 without a check).
#
#   bash benches/signin_flood.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
connections=${2:-64}
command -v wrk >/dev/null || { apt-get update -q && apt-get install -y -q wrk; }
cargo build -q --bin ivr
ivr=$PWD/target/debug/ivr
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
export IVR_LISTEN=127.0.0.1:8114 IVR_TRUSTED_PROXIES=127.0.0.1

cat > "$tmp/flood.lua" <<'LUA'
local csrf, cookie, many = os.getenv("CSRF"), os.getenv("COOKIE"), os.getenv("MANY") == "1"
request = function()
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = cookie }
  local name = "asel"
  if many then
    headers["X-Forwarded-For"] = string.format("%d.%d.%d.%d", math.random(1, 223), math.random(0, 255),
      math.random(0, 255), math.random(1, 254))
    name = "user" .. math.random(1, 1000000000)
  end
  local body = "csrf=" .. csrf .. "&name=" .. name .. "&password=not+the+password&next=%2Fadmin"
  return wrk.format("POST", "/login", headers, body)
end
LUA

flood() { # mode
  rm -rf "$tmp/db" && mkdir -p "$tmp/db"
  export IVR_DATABASE_URL="sqlite://$tmp/db/ivr.sqlite3" IVR_DATA_DIR="$tmp/db/data"
  echo 'correct horse battery staple' | "$ivr" users add --role admin --name asel >/dev/null
  "$ivr" serve 2>"$tmp/serve.log" & pid=$!
  for _ in $(seq 1 100); do curl -sf -o /dev/null http://127.0.0.1:8114/login && break; sleep 0.1; done
  # One sign-in form: its token and the cookie carrying its twin (valid for an hour).
  page=$(curl -s -c "$tmp/jar" http://127.0.0.1:8114/login)
  export CSRF=$(grep -o 'name="csrf" value="[^"]*"' <<<"$page" | head -1 | sed 's/.*value="//; s/"$//')
  export COOKIE="ivr_login=$(awk '$6 == "ivr_login" { print $7 }' "$tmp/jar")"
  export MANY=$([ "$1" = many ] && echo 1 || echo 0)
  rss() { awk '/^VmRSS/ { print $2 }' "/proc/$pid/status"; }
  echo "== flood: $1 (RSS before: $(( $(rss) / 1024 )) MiB)"
  ( while kill -0 "$pid" 2>/dev/null; do rss; sleep 0.2; done ) > "$tmp/rss" & sampler=$!
  wrk -t1 -c"$connections" -d"${seconds}s" -s "$tmp/flood.lua" http://127.0.0.1:8114/login
  sleep 5
  echo "RSS peak during the flood: $(( $(sort -n "$tmp/rss" | tail -1) / 1024 )) MiB; 5 s after: $(( $(rss) / 1024 )) MiB"
  kill $sampler 2>/dev/null || true
  echo "passwords checked (failed sign-ins logged): $(grep -c 'a failed sign-in' "$tmp/serve.log" || true)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
flood one
flood many
