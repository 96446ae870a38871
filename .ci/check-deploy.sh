#!/usr/bin/env bash
# Checks what can be checked of deploy/ without installing it: the systemd unit with
# `systemd-analyze verify` (the binary it starts is this build's), and the nginx site with
# `nginx -t` inside a minimal nginx.conf, with a throwaway self-signed certificate standing
# in for the real one; and the Prometheus alert rules with `promtool check rules`.
# Usage: .ci/check-deploy.sh path/to/built/ivr
set -euo pipefail
cd "$(dirname "$0")/.."
binary=$(realpath "$1")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

sed "s#/usr/local/bin/ivr#$binary#g" deploy/ivr.service > "$scratch/ivr.service"
cp deploy/ivr.socket "$scratch/ivr.socket"
grep -q '^Requires=ivr.socket' "$scratch/ivr.service" || { echo "ivr.service no longer requires ivr.socket" >&2; exit 1; }
systemd-analyze verify "$scratch/ivr.socket" "$scratch/ivr.service"
echo "ok: deploy/ivr.service and deploy/ivr.socket pass systemd-analyze verify"

site=ivr.111.example.kz
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$site" \
  -keyout "$scratch/key.pem" -out "$scratch/cert.pem" 2>/dev/null
sed -e "s#/etc/letsencrypt/live/$site/fullchain.pem#$scratch/cert.pem#" \
    -e "s#/etc/letsencrypt/live/$site/privkey.pem#$scratch/key.pem#" deploy/nginx-ivr.conf > "$scratch/site.conf"
grep -q "$scratch/cert.pem" "$scratch/site.conf" || { echo "the site no longer names the certificate this check replaces" >&2; exit 1; }
printf 'pid %s/nginx.pid;\nerror_log stderr;\nevents {}\nhttp { include %s/site.conf; }\n' "$scratch" "$scratch" > "$scratch/nginx.conf"
nginx -t -q -c "$scratch/nginx.conf"
echo "ok: deploy/nginx-ivr.conf passes nginx -t"

promtool check rules deploy/prometheus-alerts.yml
echo "ok: deploy/prometheus-alerts.yml passes promtool check rules"
