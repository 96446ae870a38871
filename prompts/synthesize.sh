#!/usr/bin/env bash
# Regenerate the placeholder recordings of the prompt library from the spoken scripts:
#
#   prompts/<lang>/<key>.txt  --espeak-ng + sox-->  prompts/<lang>/<key>.wav
#
# Usage:  bash prompts/synthesize.sh [kk|ru]... [key]...
#   no arguments      every key of manifest.toml in both languages
#   kk | ru           only that language (may be given twice for both)
#   key ...           only these keys (names from manifest.toml)
#   e.g.  bash prompts/synthesize.sh ru welcome main_menu
#
# Output format (what the service expects): RIFF WAV, 8000 Hz, mono, 16-bit signed PCM,
# leading/trailing silence trimmed and padded back to PAD_S seconds, peak normalised to
# -1 dBFS, no dither (so the same input gives the same bytes with the same tool versions).
#
# Studio recordings are never overwritten: a key whose manifest.toml entry says
# `recording = { <lang> = "studio" }` is skipped in that language (and said so).
#
# Spellings for espeak-ng only: espeak.tsv (language, TAB, as written, TAB, as spoken) is
# applied to the script before it is spoken, so the script itself stays what a voice artist
# reads (e.g. Russian «115-1», which espeak-ng would otherwise read wrongly).
#
# Speaking rates for placeholders only: rates.tsv (language, TAB, key or glob, TAB, words
# per minute) speaks a few placeholders faster than WPM, where a clear sentence does not fit
# a limit of the flow at the default rate. A voice artist reads at their own pace.
#
# Voice markers: a line that is exactly "[kk]" or "[ru]" switches the espeak-ng voice for
# the lines that follow (the default is the voice of the file's own language). Each run of
# lines in one voice is synthesised separately and the pieces are joined with JOIN_PAUSE_S
# seconds of silence. No prompt uses them today: a caller who has chosen no language hears
# each prompt's two recordings, one in each language.
#
# Debian packages: espeak-ng, sox.
set -euo pipefail
export LC_ALL=C.UTF-8

readonly RATE=8000         # Hz
readonly WPM=150           # espeak-ng speaking rate (words per minute); default 175 is fast for phone
                           # (rates.tsv speaks a few placeholders faster)
readonly PAD_S=0.15        # silence left at each end, seconds
readonly JOIN_PAUSE_S=0.4  # pause between voice segments, seconds
readonly THRESHOLD=0.1%    # below this level counts as silence when trimming
readonly NORM_DB=-1        # peak level, dBFS
readonly MAX_S=150         # longest allowed prompt, seconds
readonly LANGS_ALL=(kk ru)

die() { echo "synthesize.sh: $*" >&2; exit 1; }

need() { # command debian-package
  command -v "$1" >/dev/null 2>&1 \
    || die "'$1' not found. Install the Debian package '$2':  sudo apt-get install -y $2"
}
need espeak-ng espeak-ng
need sox sox
for v in "${LANGS_ALL[@]}"; do
  espeak-ng --voices="$v" 2>/dev/null | awk 'NR>1 {print $2}' | grep -qx "$v" \
    || die "espeak-ng has no '$v' voice. Install the Debian package 'espeak-ng-data' (comes with espeak-ng)."
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifest="$here/manifest.toml"
[[ -f $manifest ]] || die "missing $manifest"
mapfile -t all_keys < <(sed -n 's/^[[:space:]]*\[prompts\.\([A-Za-z0-9_]*\)\][[:space:]]*$/\1/p' "$manifest")
(( ${#all_keys[@]} > 0 )) || die "no [prompts.<key>] tables in $manifest"

langs=(); keys=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,33p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    kk|ru) langs+=("$arg") ;;
    *) printf '%s\n' "${all_keys[@]}" | grep -qx -- "$arg" \
         || die "unknown argument '$arg': not a language (kk, ru) nor a key in manifest.toml"
       keys+=("$arg") ;;
  esac
done
(( ${#langs[@]} )) || langs=("${LANGS_ALL[@]}")
(( ${#keys[@]} )) || keys=("${all_keys[@]}")

# recording_of KEY LANG: "studio" or "synthetic", as manifest.toml records it.
recording_of() {
  awk -v key="$1" -v lang="$2" '
    /^\[prompts\./ { inkey = ($0 == "[prompts." key "]") }
    inkey && /^recording[[:space:]]*=/ {
      if (match($0, lang "[[:space:]]*=[[:space:]]*\"[a-z-]+\"")) {
        s = substr($0, RSTART, RLENGTH); gsub(/.*= *"|"/, "", s); print s; exit
      }
    }' "$manifest"
}

spellings="$here/espeak.tsv"
rates="$here/rates.tsv"

# rate_of LANG KEY: words per minute for this placeholder: the first line of rates.tsv for
# LANG whose key pattern (a shell glob: whisper_*) matches KEY, else WPM.
rate_of() {
  local rate="" l pattern wpm
  if [[ -f $rates ]]; then
    while IFS=$'\t' read -r l pattern wpm; do
      [[ $l == "$1" && -n $wpm ]] || continue
      # shellcheck disable=SC2053  # the pattern is a glob on purpose
      [[ $2 == $pattern ]] && { rate="$wpm"; break; }
    done < <(grep -v '^#' "$rates")
  fi
  [[ -z $rate ]] && rate="$WPM"
  [[ $rate =~ ^[0-9]+$ ]] && (( rate >= WPM && rate <= 200 )) \
    || die "rates.tsv: $1 $2 at '$rate' words per minute: give a whole number from $WPM to 200"
  printf '%s' "$rate"
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# sox: -D no dither (deterministic), -V1 errors only.
sox_() { sox -D -V1 "$@"; }

sox_ -n -r "$RATE" -c 1 -b 16 -e signed-integer "$tmp/pause.wav" trim 0 "$JOIN_PAUSE_S"

# for_espeak LANG TEXTFILE: the text with espeak.tsv's replacements for LANG applied.
for_espeak() {
  if [[ -f $spellings ]]; then
    awk -F '\t' -v lang="$1" '
      FNR == NR { if ($0 !~ /^#/ && $1 == lang && NF == 3) { from[++n] = $2; to[n] = $3 }; next }
      { for (i = 1; i <= n; i++) { while ((p = index($0, from[i])) > 0) $0 = substr($0, 1, p - 1) to[i] substr($0, p + length(from[i])) } print }
    ' "$spellings" "$2"
  else
    cat "$2"
  fi
}

# synth_segment VOICE RATE TEXTFILE OUT.wav: speak, resample to 8 kHz mono 16-bit, trim both ends.
synth_segment() {
  for_espeak "$1" "$3" > "$tmp/spoken.txt"
  espeak-ng -v "$1" -s "$2" -f "$tmp/spoken.txt" -w "$tmp/raw.wav"
  sox_ "$tmp/raw.wav" -c 1 -b 16 -e signed-integer "$4" \
    rate -v "$RATE" \
    silence 1 0.01 "$THRESHOLD" reverse silence 1 0.01 "$THRESHOLD" reverse
}

synth_prompt() { # LANG KEY
  local lang="$1" key="$2"
  local src="$here/$lang/$key.txt" out="$here/$lang/$key.wav"
  [[ -f $src ]] || die "missing script $src"
  if [[ $(recording_of "$key" "$lang") == studio ]]; then
    printf '%-4s %-22s studio recording, kept\n' "$lang" "$key"
    return 0
  fi
  local voice="$lang" buf="" line n=0 rate
  local -a parts=()
  rate="$(rate_of "$lang" "$key")"

  flush() {
    [[ -n $buf ]] || return 0
    n=$((n + 1))
    printf '%s' "$buf" > "$tmp/seg$n.txt"
    synth_segment "$voice" "$rate" "$tmp/seg$n.txt" "$tmp/seg$n.wav"
    (( ${#parts[@]} )) && parts+=("$tmp/pause.wav")
    parts+=("$tmp/seg$n.wav")
    buf=""
  }

  while IFS= read -r line || [[ -n $line ]]; do
    line="${line%$'\r'}"
    local trimmed="${line#"${line%%[![:space:]]*}"}"; trimmed="${trimmed%"${trimmed##*[![:space:]]}"}"
    if [[ $trimmed =~ ^\[([a-z]+)\]$ ]]; then
      case "${BASH_REMATCH[1]}" in
        kk|ru) flush; voice="${BASH_REMATCH[1]}" ;;
        *) die "$src: unknown voice marker '$trimmed' (use [kk] or [ru])" ;;
      esac
      continue
    fi
    [[ -z $trimmed ]] && continue
    buf+="$trimmed"$'\n'
  done < "$src"
  flush
  (( ${#parts[@]} )) || die "$src has no text to speak"

  sox_ "${parts[@]}" -r "$RATE" -c 1 -b 16 -e signed-integer "$tmp/out.wav" \
    pad "$PAD_S" "$PAD_S" norm "$NORM_DB"
  mv -f "$tmp/out.wav" "$out"
  rm -f "$tmp"/seg*.wav "$tmp"/seg*.txt

  local dur; dur="$(sox --i -D "$out")"
  awk -v d="$dur" -v m="$MAX_S" 'BEGIN { exit !(d > m) }' \
    && die "$out is ${dur}s long, over the ${MAX_S}s limit: shorten $src"
  if [[ $rate == "$WPM" ]]; then
    printf '%-4s %-22s %7.2f s\n' "$lang" "$key" "$dur"
  else
    printf '%-4s %-22s %7.2f s  (%s words a minute)\n' "$lang" "$key" "$dur" "$rate"
  fi
}

for lang in "${langs[@]}"; do
  for key in "${keys[@]}"; do
    synth_prompt "$lang" "$key"
  done
done
