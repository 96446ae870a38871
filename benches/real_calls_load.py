#!/usr/bin/env python3
"""Calls at once into the real Asterisk, placed by SIPp, measured on what reached the callers.

benches/real_calls_load.sh starts the rig and the service and runs this once per dialplan.
This writes the callers' pcap (their audio, with the key presses in it as RFC 4733 events),
receives on every caller's media port what Asterisk sends (one socket per call, so each
call's packets are its own), runs SIPp, and measures:

- SIPp's own count of successful and failed calls (its statistics file);
- every prompt each caller should have heard, found in the audio they received: the
  prompt's WAV encoded as Asterisk encodes it (G.711 u-law through its own table, main/ulaw.c)
  is searched for byte for byte in the call's payloads, in the order the call plays them, and
  counted whole when all of it arrived, but for at most one 20 ms frame at its end (Asterisk
  sends a prompt's last part-frame with the next sound); also the packets lost (gaps in the
  RTP sequence numbers) and the longest pause between two packets inside a prompt;
- CPU (utime + stime from /proc) of the service's processes and of Asterisk from just before
  the first call to a second after the last, per call-minute carried;
- the service's resident memory (VmRSS) before the calls and at its peak with them all up.

Prints one line per figure and writes them all as JSON (--out).
"""
import argparse
import array
import bisect
import json
import math
import os
import selectors
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
FRAME = 160  # samples (and u-law bytes) in 20 ms at 8 kHz
TICKS = os.sysconf("SC_CLK_TCK")
TELEPHONE_EVENT = 101
SO_TIMESTAMPNS = 35  # each packet's arrival time from the kernel, not from when it was read

# What each caller hears and does, in order (flows/hotline.toml): the prompts of a menu, how
# long the service waits after them before it plays on, and the key pressed in that wait
# (PRESS_INTO_WAIT after the last prompt ended). After the last step the caller listens on for
# PRESS_INTO_WAIT and hangs up.
CALL = (
    # The language menu, every prompt in Kazakh then in Russian: 2 chooses Russian.
    (("kk/choose_language", "ru/choose_language", "kk/police_operator_keys", "ru/police_operator_keys",
      "kk/language_stay_on_line", "ru/language_stay_on_line"), 5.0, "2"),
    # The safety notice (a message: a key pressed in its 1 s counts for the next menu).
    (("ru/safety_notice",), 1.0, None),
    # The main menu as first heard: 1 is the first guidance topic (what stalking is).
    (("ru/welcome", "ru/main_menu"), 5.0, "1"),
    # Its first part and what the keys do next; the caller hangs up in the wait after it.
    (("ru/guidance_definition", "ru/next_definition"), 5.0, None),
)
# Into a menu's 5 s wait for a key: the service may fall this far behind the recordings'
# own lengths before a key lands in a prompt (and cuts it, which is then counted).
PRESS_INTO_WAIT = 3.0
KEY_MS = 100  # how long each key is held (RFC 4733 event duration), whole 20 ms frames


def ulaw_table():
    """Asterisk's slin -> u-law table (main/ulaw.c without G711_NEW_ALGORITHM), built as it
    builds it: indexed by the sample's top 14 bits, the last sample written to an index wins."""

    def linear2ulaw(sample):
        sign = (sample >> 8) & 0x80
        if sign:
            sample = -sample
        sample = min(sample, 32635) + 0x84
        exponent = max(0, (sample >> 7).bit_length() - 1) if sample >> 7 else 0
        exponent = min(exponent, 7)
        mantissa = (sample >> (exponent + 3)) & 0x0F
        byte = ~(sign | (exponent << 4) | mantissa) & 0xFF
        return byte or 0x02

    table = bytearray(16384)
    for i in range(-32768, 32768):
        table[(i & 0xFFFF) >> 2] = linear2ulaw(i)
    return bytes(table)


ULAW = ulaw_table()


def encode(samples):
    return bytes(ULAW[(s & 0xFFFF) >> 2] for s in samples)


def read_wav(path):
    with wave.open(path, "rb") as w:
        if (w.getframerate(), w.getsampwidth(), w.getnchannels()) != (8000, 2, 1):
            raise SystemExit(f"{path}: not 8 kHz 16-bit mono")
        samples = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples


class Prompt:
    """A recording as Asterisk sends it, and where in it a search can start: 20 ms of speech,
    not silence, which would be found anywhere."""

    def __init__(self, name, path):
        self.name, samples = name, read_wav(path)
        self.data = encode(samples)
        self.seconds = len(samples) / 8000
        loud = next((i for i, s in enumerate(samples) if abs(s) > 1000), 0)
        self.anchor = min(loud, max(0, len(self.data) - FRAME))


# ------------------------------------------------------------------------------ the pcap
def caller_pcap(path, prompt_seconds):
    """The caller's side of the call as a pcap SIPp plays: 20 ms PCMU packets of a quiet 350 Hz
    tone (a phone held to an ear in a quiet room), and each key as an RFC 4733 event in place of
    the audio, one SSRC and one sequence throughout. Returns the call's length in seconds."""
    events, t = [], 0.0
    for (prompts, wait, key), seconds in zip(CALL, prompt_seconds):
        t += seconds
        if key:
            events.append((t + PRESS_INTO_WAIT, "0123456789*#".index(key)))
            t += PRESS_INTO_WAIT + KEY_MS / 1000
        else:
            t += wait
    # the last step ends in the wait after its prompts: the caller hangs up there
    length = t - CALL[-1][1] + PRESS_INTO_WAIT
    # Times in whole 20 ms frames: SIPp paces the packets by their pcap times, and a time
    # that went back (a float rounded to the next second) would add a second of silence.
    packets, seq, ts, frame = [], 1000, 0, 0
    ssrc = 0x1111AAAA
    tone = encode(int(655 * math.sin(2 * math.pi * 350 * n / 8000)) for n in range(8000))
    event_at = {round(at / 0.02): digit for at, digit in events}
    while frame * 0.02 < length:
        digit = event_at.get(frame)
        if digit is None:
            offset = (frame * FRAME) % 8000
            packets.append((frame, struct.pack("!BBHII", 0x80, 0, seq, ts, ssrc) + tone[offset:offset + FRAME]))
            seq, ts, frame = (seq + 1) & 0xFFFF, ts + FRAME, frame + 1
            continue
        steps = KEY_MS // 20
        for i in range(steps):
            payload = struct.pack("!BBH", digit, 10, (i + 1) * FRAME)
            marker = 0x80 if i == 0 else 0
            packets.append((frame + i, struct.pack("!BBHII", 0x80, marker | TELEPHONE_EVENT, seq, ts, ssrc) + payload))
            seq = (seq + 1) & 0xFFFF
        for _ in range(3):  # the end, sent three times (RFC 4733 2.5.1.4)
            payload = struct.pack("!BBH", digit, 0x80 | 10, steps * FRAME)
            packets.append((frame + steps, struct.pack("!BBHII", 0x80, TELEPHONE_EVENT, seq, ts, ssrc) + payload))
            seq = (seq + 1) & 0xFFFF
        ts, frame = ts + (steps + 1) * FRAME, frame + steps + 1
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # Ethernet link type
        for at, rtp in packets:
            udp = struct.pack("!HHHH", 40000, 40000, 8 + len(rtp), 0) + rtp
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                             socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1"))
            frame_bytes = b"\0" * 12 + b"\x08\x00" + ip + udp
            f.write(struct.pack("<IIII", at // 50, at % 50 * 20000, len(frame_bytes), len(frame_bytes)) + frame_bytes)
    return length


# --------------------------------------------------------------------------- the receiver
def between(plays, by_step, start):
    """One call's gaps between consecutive prompts of a menu, and how far behind the
    recordings' lengths each menu followed by a key ended."""
    gaps, behind, at, due = [], [], 0, 0.0
    for (prompts, wait, key), seconds in zip(CALL, by_step):
        mine = plays[at:at + len(prompts)]
        at += len(prompts)
        gaps.extend(b[5] - a[6] - 0.02 for a, b in zip(mine, mine[1:]) if a[6] is not None and b[5] is not None)
        due += seconds
        if key and mine[-1][6] is not None:
            behind.append(mine[-1][6] + 0.02 - start - due)
        due += PRESS_INTO_WAIT + KEY_MS / 1000 if key else wait
    return gaps, behind


def arrival(ancillary):
    """When the kernel received a packet (SO_TIMESTAMPNS), or now."""
    for level, kind, value in ancillary:
        if (level, kind) == (socket.SOL_SOCKET, SO_TIMESTAMPNS):
            seconds, nanos = struct.unpack("qq", value[:16])
            return seconds + nanos / 1e9
    return time.time()


class Receiver:
    """A socket on each caller's media port (and a drain on its RTCP port): every packet
    Asterisk sends the call, with the time the kernel received it."""

    def __init__(self, ports):
        self.selector = selectors.DefaultSelector()
        self.packets = {port: [] for port in ports}
        self.sockets = []
        for port in ports:
            for p in (port, port + 1):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
                s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                s.bind(("127.0.0.1", p))
                s.setblocking(False)
                self.selector.register(s, selectors.EVENT_READ, port if p == port else None)
                self.sockets.append(s)
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            for key, _ in self.selector.select(0.2):
                while True:
                    try:
                        data, ancillary, _, _ = key.fileobj.recvmsg(2048, 64)
                    except BlockingIOError:
                        break
                    if key.data is not None:
                        self.packets[key.data].append((arrival(ancillary), data))

    def stop(self):
        self.running = False
        self.thread.join(2)
        for s in self.sockets:
            s.close()


def call_audio(packets):
    """(u-law bytes in arrival order, each packet's start offset and arrival time, packets
    lost by their sequence numbers)."""
    stream, offsets, times, lost, last = bytearray(), [], [], 0, None
    for stamp, data in packets:
        if len(data) < 12 or data[0] >> 6 != 2:
            continue
        head = 12 + 4 * (data[0] & 0x0F)
        if data[0] & 0x10 and len(data) >= head + 4:
            head += 4 + 4 * struct.unpack("!H", data[head + 2:head + 4])[0]
        seq, ssrc = struct.unpack("!H", data[2:4])[0], data[8:12]
        step = (seq - last[0]) & 0xFFFF if last and last[1] == ssrc else 1
        if 0 < step < 0x8000:
            lost += step - 1
        last = (seq, ssrc)
        if data[1] & 0x7F == 0:
            offsets.append(len(stream))
            times.append(stamp)
            stream += data[head:]
    return bytes(stream), offsets, times, lost


def common_prefix(a, b):
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def heard(prompts, stream, offsets, times):
    """Per prompt, in the order played: (name, seconds of it received, whole, the most one of
    its packets arrived after its place in the recording, counted from its first packet, the
    longest pause between two of its packets, when its first and its last whole frame arrived).
    Its last part-frame, which Asterisk may send only with the next sound, is left out of the
    times."""
    out, cursor = [], 0
    for prompt in prompts:
        anchor = prompt.data[prompt.anchor:prompt.anchor + FRAME]
        at = stream.find(anchor, cursor)
        if at < 0:
            out.append((prompt.name, 0.0, False, 0.0, 0.0, None, None))
            continue
        forward = common_prefix(stream[at:], prompt.data[prompt.anchor:])
        before = stream[max(0, at - prompt.anchor):at][::-1]
        backward = common_prefix(before, prompt.data[:prompt.anchor][::-1])
        got = backward + forward
        first = bisect.bisect_right(offsets, at - backward) - 1
        last = max(first, bisect.bisect_right(offsets, at + forward - 1 - FRAME) - 1)
        late = max(times[i] - times[first] - (offsets[i] - offsets[first]) / 8000 for i in range(first, last + 1))
        pause = max((times[i + 1] - times[i] for i in range(first, last)), default=0.0)
        out.append((prompt.name, got / 8000, got >= len(prompt.data) - FRAME, late, pause, times[first], times[last]))
        cursor = at + forward
    return out


# ----------------------------------------------------------------------- /proc and SIPp
def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sipp_counts(path):
    """(successful, failed) calls from the last line of SIPp's statistics file."""
    with open(path) as f:
        rows = [line.rstrip("\n").split(";") for line in f if line.strip()]
    head, last = rows[0], rows[-1]
    return int(last[head.index("SuccessfulCall(C)")]), int(last[head.index("FailedCall(C)")])


def spread(seconds):
    """p50, p99 and max, in ms."""
    cuts = statistics.quantiles(seconds, n=100, method="inclusive") if len(seconds) > 1 else seconds * 99
    return {"p50": round(cuts[49] * 1000, 1) if cuts else None, "p99": round(cuts[98] * 1000, 1) if cuts else None,
            "max": round(max(seconds, default=0) * 1000, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True, help="what is called: line or native")
    ap.add_argument("--extension", required=True)
    ap.add_argument("--asterisk", required=True, help="Asterisk's SIP address, host:port")
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--rate", type=float, default=50, help="calls started per second")
    ap.add_argument("--sipp-port", type=int, default=5162)
    ap.add_argument("--media-port", type=int, default=32000, help="SIPp's -mp; calls from +4, 4 apart")
    ap.add_argument("--prompts", required=True, help="the prompt library (prompts/)")
    ap.add_argument("--ivr-pids", default="", help="the service's processes, comma-separated")
    ap.add_argument("--asterisk-pid", type=int, required=True)
    ap.add_argument("--work", required=True, help="a directory for the pcap, SIPp's files, the result")
    ap.add_argument("--idle-seconds", type=float, default=15, help="how long the idle CPU is measured")
    ap.add_argument("--out", help="write the figures here as JSON")
    a = ap.parse_args()

    os.makedirs(a.work, exist_ok=True)
    prompts = [Prompt(name, os.path.join(a.prompts, name + ".wav")) for step in CALL for name in step[0]]
    by_step = [sum(p.seconds for p in prompts if p.name in step[0]) for step in CALL]
    length = caller_pcap(os.path.join(a.work, "caller.pcap"), by_step)
    shutil.copy(os.path.join(HERE, "real_calls_load.xml"), os.path.join(a.work, "caller.xml"))
    ports = [a.media_port + 4 * n for n in range(1, a.calls + 1)]
    ivr = [int(p) for p in a.ivr_pids.split(",") if p]

    receiver = Receiver(ports)
    idle_rss = sum(rss_kib(p) for p in ivr)
    load_before = os.getloadavg()
    # What the processes spend with no call (timers, the roster's reload, the statistics
    # writer), per second, to take off the run's CPU: the calls' own cost is what remains.
    pids = ivr + [a.asterisk_pid]
    cpu0, idle0 = {p: cpu_seconds(p) for p in pids}, time.time()
    time.sleep(a.idle_seconds)
    idle = {p: (cpu_seconds(p) - cpu0[p]) / (time.time() - idle0) for p in pids}
    cpu0 = {p: cpu_seconds(p) for p in pids}
    stat = os.path.join(a.work, "sipp-stat.csv")
    argv = ["sipp", a.asterisk, "-sf", os.path.join(a.work, "caller.xml"), "-s", a.extension,
            "-i", "127.0.0.1", "-p", str(a.sipp_port), "-mi", "127.0.0.1", "-mp", str(a.media_port),
            "-m", str(a.calls), "-l", str(a.calls), "-r", str(a.rate), "-d", str(int(length * 1000)),
            "-timeout", f"{int(length + a.calls / a.rate + 60)}s", "-timeout_error",
            "-trace_stat", "-stf", stat, "-fd", "1", "-trace_err", "-error_file", os.path.join(a.work, "sipp-errors.log"),
            "-nostdin"]
    started = time.time()
    with open(os.path.join(a.work, "sipp.out"), "wb") as log:
        sipp = subprocess.Popen(argv, cwd=a.work, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        peak_rss, loads = idle_rss, []
        while sipp.poll() is None:
            peak_rss = max(peak_rss, sum(rss_kib(p) for p in ivr))
            loads.append(os.getloadavg()[0])
            try:
                sipp.wait(0.5)
            except subprocess.TimeoutExpired:
                pass
    ended = time.time()
    # The calls' ends (statistics written, channels torn down) are in the window too.
    time.sleep(1.0)
    cpu = {p: cpu_seconds(p) - cpu0[p] for p in cpu0}
    window = time.time() - started
    calls_cpu = {p: cpu[p] - idle[p] * window for p in pids}
    receiver.stop()

    successful, failed = sipp_counts(stat)
    call_minutes = successful * length / 60
    plays, lost, spans, gaps, behind = [], 0, [], [], []
    for port in ports:
        stream, offsets, times, gone = call_audio(receiver.packets[port])
        lost += gone
        mine = heard(prompts, stream, offsets, times) if stream else [(p.name, 0.0, False, 0.0, 0.0, None, None)
                                                                       for p in prompts]
        plays.extend(mine)
        turns, lags = between(mine, by_step, times[0] if times else 0.0)
        gaps.extend(turns)
        behind.extend(lags)
    cut = [p for p in plays if not p[2]]
    for prompt in {p.name: p for p in prompts}.values():
        mine = [p for p in plays if p[0] == prompt.name and p[2]]
        spans.append((prompt.name, prompt.seconds, min((p[1] for p in mine), default=0.0),
                      max((p[3] for p in mine), default=0.0), max((p[4] for p in mine), default=0.0)))
    ivr_cpu = sum(cpu[p] for p in ivr)

    def per_minute(seconds):
        return round(seconds * 1000 / call_minutes, 1) if call_minutes else None

    figures = {
        "label": a.label, "extension": a.extension, "calls": a.calls, "rate": a.rate,
        "call_seconds": round(length, 2), "ramp_seconds": round(a.calls / a.rate, 1),
        "sipp_successful": successful, "sipp_failed": failed, "sipp_exit": sipp.returncode,
        "run_seconds": round(ended - started, 1), "call_minutes": round(call_minutes, 2),
        "prompts_expected": len(prompts) * a.calls, "prompts_whole": len(plays) - len(cut), "prompts_cut": len(cut),
        "cut_examples": [(p[0], round(p[1], 2)) for p in cut[:10]],
        "rtp_packets_received": sum(len(v) for v in receiver.packets.values()), "rtp_packets_lost": lost,
        # per prompt heard whole: the longest pause between two of its packets, and the most
        # one of them arrived after its place in the recording (from the prompt's first)
        "pause_inside_prompt_ms": spread([p[4] for p in plays if p[2]]),
        "late_inside_prompt_ms": spread([p[3] for p in plays if p[2]]),
        # from one prompt's last packet to the next one's first, inside a menu: a FastAGI turn
        # (STREAM FILE's reply, the next STREAM FILE) or Read()'s next file, 20 ms less
        "gap_between_prompts_ms": spread(gaps),
        # how far behind the recordings' own lengths (and the waits) a menu's last prompt
        # ended, counted from the call's first packet: past PRESS_INTO_WAIT, a key cuts it
        "behind_at_key_ms": spread(behind),
        "per_prompt": [{"prompt": n, "seconds": round(s, 3), "least_heard": round(h, 3),
                        "latest_packet_ms": round(x * 1000, 1), "longest_pause_ms": round(g * 1000, 1)}
                       for n, s, h, x, g in spans],
        "cpu_window_seconds": round(window, 1),
        "ivr_cpu_seconds": round(ivr_cpu, 2),
        "ivr_idle_cpu_ms_per_second": round(sum(idle[p] for p in ivr) * 1000, 2),
        "ivr_cpu_ms_per_call_minute": per_minute(sum(calls_cpu[p] for p in ivr)),
        "asterisk_cpu_seconds": round(cpu[a.asterisk_pid], 2),
        "asterisk_idle_cpu_ms_per_second": round(idle[a.asterisk_pid] * 1000, 2),
        "asterisk_cpu_ms_per_call_minute": per_minute(calls_cpu[a.asterisk_pid]),
        "ivr_rss_idle_kib": idle_rss, "ivr_rss_peak_kib": peak_rss,
        "ivr_rss_per_call_kib": round((peak_rss - idle_rss) / a.calls, 1),
        "load_before": [round(x, 2) for x in load_before],
        "load_during": {"min": round(min(loads, default=0), 2), "max": round(max(loads, default=0), 2)},
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    for key, value in figures.items():
        if key != "per_prompt":
            print(f"{a.label}: {key} = {json.dumps(value)}", flush=True)
    for row in figures["per_prompt"]:
        print(f"{a.label}: prompt {row['prompt']}: {row['seconds']} s, least heard {row['least_heard']} s, "
              f"a packet at most {row['latest_packet_ms']} ms after its place, "
              f"longest pause inside {row['longest_pause_ms']} ms", flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(figures, f, indent=1)
    return 0 if failed == 0 and successful == a.calls and not cut else 1


if __name__ == "__main__":
    sys.exit(main())
