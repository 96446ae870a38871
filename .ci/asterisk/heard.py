"""What a phone heard: its recording (baresip's sndfile writes what it decodes to
`dump-*-dec.wav`), matched against the prompts' WAVs by ../shared/asterisk/lib/wavcheck.py's
envelope correlation, and the caller's own tone found in an operator's recording.
"""
import glob
import json
import math
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_LIB = os.path.join(HERE, "..", "..", "..", "shared", "asterisk", "lib")
sys.path.insert(0, SHARED_LIB)
import wavcheck  # noqa: E402

# What the caller's phone sends (.ci/real-calls.sh): a quiet 350 Hz tone.
CALLER_TONE_HZ = 350


def seconds(wav):
    rate, samples = wavcheck.read_mono16(wav)
    return len(samples) / rate


def voiced_end(wav, frame_ms=10):
    """Seconds into `wav` at which its last sound ends (wavcheck's voiced threshold)."""
    rate, samples = wavcheck.read_mono16(wav)
    envelope = wavcheck.envelope(samples, rate, frame_ms)
    last = max((i for i, level in enumerate(envelope) if level > 0.02), default=-1)
    return (last + 1) * frame_ms / 1000


def recording(directory, since):
    """The phone's newest recording begun at or after `since`, or None."""
    files = [f for f in glob.glob(os.path.join(directory, "dump-*-dec.wav")) if os.path.getmtime(f) >= since]
    return max(files, key=os.path.getmtime) if files else None


def holds(path, prompt, occurrences=1, min_corr=None):
    """wavcheck's verdict on whether the recording at `path` holds `prompt` whole (its JSON), or None.

    `min_corr` raises wavcheck's threshold where a prompt's cut-off start followed by another
    prompt must not pass for the whole prompt (a whole one correlates at about 1.0 here)."""
    if not path:
        return None
    extra = ["--min-corr", str(min_corr)] if min_corr is not None else []
    out = subprocess.run([sys.executable, os.path.join(SHARED_LIB, "wavcheck.py"), path, prompt,
                          "--min-occurrences", str(occurrences), *extra], capture_output=True, text=True)
    try:
        return json.loads(out.stdout)
    except json.JSONDecodeError:
        return None


def first_match(check):
    """Where, in seconds into the recording, the first (best) match starts; None without one."""
    return check["matches"][0]["at_seconds"] if check and check.get("ok") and check["matches"] else None


def concatenate(prompts, out):
    """The prompts one after the other in one WAV, as Playback(a&b&c) plays them."""
    subprocess.run(["sox", *prompts, out], check=True)
    return out


def tone_onset(path, frequency=CALLER_TONE_HZ, frame_ms=20, frames_in_a_row=10):
    """Seconds into the recording at which `frequency` is first heard steadily (Goertzel per
    frame: most of the frame's energy at that frequency, `frames_in_a_row` frames running),
    or None: where the operator starts to hear the caller."""
    rate, samples = wavcheck.read_mono16(path)
    n = rate * frame_ms // 1000
    coefficient = 2 * math.cos(2 * math.pi * frequency / rate)
    run = 0
    for frame, start in enumerate(range(0, len(samples) - n + 1, n)):
        chunk = samples[start:start + n]
        s1 = s2 = 0.0
        energy = 0.0
        for x in chunk:
            s1, s2 = x + coefficient * s1 - s2, s1
            energy += x * x
        tone = (s1 * s1 + s2 * s2 - coefficient * s1 * s2) * 2 / n
        steady = energy / n > 50 ** 2 and tone >= 0.6 * energy
        run = run + 1 if steady else 0
        if run == frames_in_a_row:
            return (frame - frames_in_a_row + 1) * frame_ms / 1000
    return None
