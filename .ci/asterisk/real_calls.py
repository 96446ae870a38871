#!/usr/bin/env python3
"""Real calls into the rig's Asterisk (.ci/real-calls.sh starts everything this drives).

Each test is a real SIP call from the caller's baresip phone; what it checks is what the
phones heard and received: the caller's recording matched against the prompt's WAV
(../shared/asterisk/lib/wavcheck.py's envelope correlation), and the packets on the
loopback interface (a packet socket, kernel timestamps): the RTP reaching the caller's
phone, the caller's RFC 4733 key events, the INVITE reaching the police phone.

Timings come from those packets, not from the recordings: baresip records only the packets
it receives, and Asterisk sends none while it waits (for a FastAGI command, for a key after
Read()'s prompt), so a recording has no dead air in it to measure.

Prints one line per test and, last, `N passed, N failed`.
"""
import argparse
import glob
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_LIB = os.path.join(HERE, "..", "..", "..", "shared", "asterisk", "lib")
sys.path.insert(0, SHARED_LIB)
from bsctl import BaresipCtrl  # noqa: E402
import wavcheck  # noqa: E402

SO_TIMESTAMPNS = 35
SO_RCVBUFFORCE = 33
CALLER_RTP = range(20000, 20100)
VOICED_RMS = 0.02 * 32768


def ulaw_to_linear(byte):
    byte = ~byte & 0xFF
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    sample = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -sample if sign else sample


ULAW = [ulaw_to_linear(b) for b in range(256)]


def alaw_to_linear(byte):
    byte ^= 0x55
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    sample = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    return sample if sign else -sample


ALAW = [alaw_to_linear(b) for b in range(256)]


class Sniffer:
    """Every UDP packet on lo that matters here, with the kernel's receive time."""

    def __init__(self, sip_ports):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.sock.bind(("lo", 0))
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        # Everything on lo passes through this socket (other builds' traffic too): a deep
        # buffer, so that a busy machine drops none of the few packets timed here.
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 32 << 20)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
        self.sock.settimeout(0.2)
        self.sip_ports = set(sip_ports)
        self.packets = []  # (time, src_port, dst_port, payload)
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            try:
                data, ancillary, _, address = self.sock.recvmsg(65535, 64)
            except socket.timeout:
                continue
            if address[2] == socket.PACKET_OUTGOING or len(data) < 14 + 20 + 8:
                continue
            ip = data[14:]
            if ip[0] >> 4 != 4 or ip[9] != 17:
                continue
            udp = ip[(ip[0] & 0x0F) * 4:]
            src, dst = struct.unpack("!HH", udp[:4])
            if not (src in CALLER_RTP or dst in CALLER_RTP or dst in self.sip_ports):
                continue
            stamp = time.time()
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    seconds, nanos = struct.unpack("qq", value[:16])
                    stamp = seconds + nanos / 1e9
            with self.lock:
                self.packets.append((stamp, src, dst, bytes(udp[8:])))

    def since(self, t):
        with self.lock:
            return [p for p in self.packets if p[0] >= t]

    def stop(self):
        self.running = False
        self.thread.join(1)
        self.sock.close()


def rtp_level(payload):
    """(payload type, RMS of the decoded audio) of an RTP packet, or None."""
    if len(payload) < 12 or payload[0] >> 6 != 2:
        return None
    pt = payload[1] & 0x7F
    start = 12 + 4 * (payload[0] & 0x0F)
    body = payload[start:]
    table = ULAW if pt == 0 else ALAW if pt == 8 else None
    if table is None or not body:
        return (pt, 0.0)
    return (pt, (sum(table[b] ** 2 for b in body) / len(body)) ** 0.5)


def key_end(sniffer, after, digit_code):
    """Kernel time of the first RFC 4733 end packet of `digit_code` the caller sent after `after`."""
    for stamp, src, _, payload in sniffer.since(after):
        if src in CALLER_RTP and len(payload) >= 16 and payload[0] >> 6 == 2:
            event = payload[12 + 4 * (payload[0] & 0x0F):]
            if (payload[1] & 0x7F) not in (0, 8) and len(event) >= 4 and event[0] == digit_code and event[1] & 0x80:
                return stamp
    return None


def next_prompt(sniffer, t_end):
    """(first packet, first voiced packet) to the caller of what plays after the sound that
    was playing at `t_end` stopped: Asterisk stops sending when a prompt is cut, so the next
    prompt starts after a pause in the packets (or, without one, after an unvoiced packet)."""
    gap_seen, last, first_packet = False, t_end, None
    for stamp, _, dst, payload in sniffer.since(t_end):
        if dst not in CALLER_RTP:
            continue
        level = rtp_level(payload)
        if level is None or level[0] not in (0, 8):
            continue
        voiced = level[1] > VOICED_RMS
        if not gap_seen:
            paused = stamp - last > 0.03
            last = stamp
            if paused:
                gap_seen, first_packet = True, stamp
            elif not voiced:
                gap_seen = True
                continue
            else:
                continue
        if first_packet is None:
            first_packet = stamp
        if voiced:
            return first_packet, stamp
    return None


def first_sound_after(sniffer, t_end):
    found = next_prompt(sniffer, t_end)
    return found[1] if found else None


def sip_to(sniffer, port, method, after):
    for stamp, _, dst, payload in sniffer.since(after):
        if dst == port and payload.startswith(method.encode()):
            return stamp
    return None


def wait_until(predicate, timeout, pumps=()):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value is not None:
            return value
        for p in pumps:
            p.pump(0.02)
        if not pumps:
            time.sleep(0.02)
    return None


def percentile(values, q):
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


class Instances:
    """The FastAGI servers behind IVR_AGI, started and stopped here by their own PIDs."""

    def __init__(self, commands, logs):
        self.commands, self.logs, self.procs = commands, logs, {}

    def start(self, i):
        env = dict(os.environ, **self.commands[i]["env"])
        log = open(self.logs[i], "ab")
        self.procs[i] = subprocess.Popen(self.commands[i]["argv"], env=env, stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL)
        port = self.commands[i]["port"]
        ok = wait_until(lambda: True if self.listening(port) else None, 60)
        if not ok:
            raise RuntimeError(f"instance {i} never listened on {port}")

    @staticmethod
    def listening(port):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def kill(self, i, sig=signal.SIGKILL):
        proc = self.procs.pop(i, None)
        if proc and proc.poll() is None:
            proc.send_signal(sig)
            proc.wait(15)

    def stop_all(self):
        for i in list(self.procs):
            self.kill(i, signal.SIGTERM)


class Suite:
    def __init__(self, a):
        self.a = a
        self.results = []
        self.figures = {}
        self.sniffer = Sniffer([a.caller_sip, a.police_sip, a.operator_sip])
        self.caller = BaresipCtrl(a.caller_ctrl, name="caller", log=self.quiet)
        self.police = BaresipCtrl(a.police_ctrl, name="police", log=self.quiet)
        self.operator = BaresipCtrl(a.operator_ctrl, name="operator", log=self.quiet)

    def quiet(self, line):
        if self.a.verbose:
            print(line, flush=True)

    def result(self, name, ok, detail):
        self.results.append(ok)
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}", flush=True)

    def dial(self, extension):
        for phone in (self.caller, self.police, self.operator):
            phone.events.clear()
        t0 = time.time()
        self.caller.command("dial", f"sip:{extension}@127.0.0.1:{self.a.sip_port}")
        if self.caller.wait_event("CALL_ESTABLISHED", 10) is None:
            raise RuntimeError(f"the call to {extension} was not answered")
        answered = sip_to(self.sniffer, self.a.caller_sip, "SIP/2.0 200", t0) or time.time()
        return t0, answered

    def hang_up(self):
        if not self.caller.seen("CALL_CLOSED"):
            self.caller.command("hangup")
            self.caller.wait_event("CALL_CLOSED", 5)
        for phone in (self.police, self.operator):
            if phone.seen("CALL_ESTABLISHED") and not phone.seen("CALL_CLOSED"):
                phone.wait_event("CALL_CLOSED", 5)
        time.sleep(0.3)

    def recording(self, since):
        files = [f for f in glob.glob(os.path.join(self.a.caller_dir, "dump-*-dec.wav")) if os.path.getmtime(f) >= since]
        return max(files, key=os.path.getmtime) if files else None

    def heard(self, since, prompt, occurrences=1):
        path = self.recording(since)
        if not path:
            return None, "no recording"
        out = subprocess.run([sys.executable, os.path.join(SHARED_LIB, "wavcheck.py"), path, prompt,
                              "--min-occurrences", str(occurrences)], capture_output=True, text=True)
        try:
            return json.loads(out.stdout), path
        except json.JSONDecodeError:
            return None, out.stderr.strip()

    def first_voiced(self, after):
        for stamp, _, dst, payload in self.sniffer.since(after):
            level = rtp_level(payload) if dst in CALLER_RTP else None
            if level and level[0] in (0, 8) and level[1] > VOICED_RMS:
                return stamp
        return None

    def press(self, digit):
        t = time.time()
        self.caller.command("sndcode", digit)
        return wait_until(lambda: key_end(self.sniffer, t - 0.05, "0123456789*#".index(digit) if digit.isdigit() else
                                          {"*": 10, "#": 11}[digit]), 3, [self.caller])

    # ----------------------------------------------------------------------------- tests
    def language_choice(self, extension, prompt, prompt_seconds):
        since = time.time()
        _, answered = self.dial(extension)
        first = wait_until(lambda: self.first_voiced(answered), 5, [self.caller])
        # The recording holds only the packets received: past the prompt's end and the 5 s wait
        # for a key, something else plays, so the prompt is in it whole even if a packet was lost.
        self.caller.pump(prompt_seconds + 6.5)
        self.hang_up()
        check, path = self.heard(since, prompt)
        ok = bool(check and check["ok"] and first is not None and first - answered <= 1.0)
        at = check["matches"][0] if check and check["matches"] else None
        self.result(f"{extension}: the caller hears the language choice within 1 s of the answer", ok,
                    f"first sound {((first or 0) - answered) * 1000:.0f} ms after the 200 OK; match {at} in {path}")

    def nine_rings_police(self, extension, label, prompt):
        """9 pressed 1 s into the first prompt cuts it and rings the police; returns 9 -> INVITE."""
        since = time.time()
        _, answered = self.dial(extension)
        first = wait_until(lambda: self.first_voiced(answered), 5, [self.caller])
        if first is None:
            self.hang_up()
            self.result(f"{label}: 9 one second into the first prompt", False, "no prompt heard")
            return None
        wait_until(lambda: True if time.time() >= first + 1.0 else None, 2, [self.caller])
        end = self.press("9")
        invite = wait_until(lambda: sip_to(self.sniffer, self.a.police_sip, "INVITE", since), 10, [self.caller])
        rang = self.police.wait_event("CALL_ESTABLISHED", 10) is not None
        self.caller.pump(1)
        self.hang_up()
        check, _ = self.heard(since, prompt)
        cut = bool(check) and not check["ok"]
        ok = bool(end and invite and rang and cut)
        self.result(f"{label}: 9 one second into the first prompt cuts it and rings the police phone", ok,
                    f"9 -> INVITE {f'{(invite - end) * 1000:.1f} ms' if end and invite else 'not timed'} "
                    f"(key end seen={end is not None}); police answered={rang}; "
                    f"prompt not heard whole={cut}")
        return (invite - end) * 1000 if ok else None

    def dead_air(self, extension, digit, presses):
        """Per press: (key's end -> first packet of the next prompt, -> its first sound), ms."""
        gaps = []
        while len(gaps) < presses:
            _, answered = self.dial(extension)
            sound = wait_until(lambda: self.first_voiced(answered), 5, [self.caller])
            for _ in range(min(20, presses - len(gaps))):
                if sound is None:
                    break
                wait_until(lambda: True if time.time() >= sound + 1.0 else None, 3, [self.caller])
                end = self.press(digit)
                if end is None:
                    break
                found = wait_until(lambda: next_prompt(self.sniffer, end), 8, [self.caller])
                if found is None:
                    sound = None
                    break
                sound = found[1]
                gaps.append(((found[0] - end) * 1000, (sound - end) * 1000))
            self.hang_up()
            if sound is None:
                break
        return gaps

    def police_hangs_up(self):
        """A normal end does not loop: the police hang up, the service ends the call, and the
        dialplan enters no other instance."""
        log = os.path.join(self.a.rig_dir, "log", "messages.log")
        start = os.path.getsize(log)
        _, answered = self.dial(self.a.line)
        first = wait_until(lambda: self.first_voiced(answered), 5, [self.caller])
        wait_until(lambda: True if first and time.time() >= first + 1.0 else None, 3, [self.caller])
        self.press("9")
        rang = self.police.wait_event("CALL_ESTABLISHED", 15) is not None
        self.police.pump(2)
        self.police.command("hangup")
        ended = self.caller.wait_event("CALL_CLOSED", 20) is not None
        self.hang_up()
        with open(log, errors="replace") as f:
            f.seek(start)
            reentries = [line.strip() for line in f if "ended with AGISTATUS" in line and "app_verbose" in line]
        ok = rang and ended and not reentries
        self.result("the police hang up: the call ends and no other instance is entered (a normal end does not loop)",
                    ok, f"police answered={rang}; caller's call ended={ended}; re-entries={reentries}")

    def operator_whisper(self):
        """0 rings the operator's phone, who hears the whisper (ivr-111-whisper) before the caller."""
        log = os.path.join(self.a.rig_dir, "log", "messages.log")
        start = os.path.getsize(log)
        _, answered = self.dial(self.a.line)
        first = wait_until(lambda: self.first_voiced(answered), 5, [self.caller])
        wait_until(lambda: True if first and time.time() >= first + 1.0 else None, 3, [self.caller])
        end = self.press("0")
        rang = self.operator.wait_event("CALL_ESTABLISHED", 20) is not None
        self.caller.pump(3)
        self.hang_up()
        with open(log, errors="replace") as f:
            f.seek(start)
            lines = [line for line in f if "ivr-111-whisper" in line]
        played = [line.split("Playback(", 1)[1].split(")", 1)[0] for line in lines if "Playback(" in line]
        returned = any("Return(" in line for line in lines)
        ok = bool(end and rang and played and returned)
        self.result("0 rings the operator's phone, who hears the whisper from ivr-111-whisper first", ok,
                    f"operator answered={rang}; whisper played={played[:1]}; returned to the bridge={returned}")

    def failover(self, instances, prompt, prompt_seconds):
        since = time.time()
        _, answered = self.dial(self.a.line)
        first = wait_until(lambda: self.first_voiced(answered), 5, [self.caller])
        wait_until(lambda: True if first and time.time() >= first + 1.5 else None, 3, [self.caller])
        killed = time.time()
        instances.kill(0)
        # The prompt from the start again, from the other instance: its first sound.
        again = wait_until(lambda: first_sound_after(self.sniffer, killed), 5, [self.caller])
        self.caller.pump(prompt_seconds)
        end = self.press("9")
        rang = self.police.wait_event("CALL_ESTABLISHED", 10) is not None
        self.caller.pump(1)
        self.hang_up()
        check, path = self.heard(since, prompt)
        gap = (again - killed) if again else None
        # Cut 1.5 s in, the first play cannot match whole: the match is the second, after the kill.
        whole_after_kill = bool(check and check["ok"] and check["matches"][0]["at_seconds"] >= 1.0)
        ok = bool(gap is not None and gap <= 2.0 and whole_after_kill and rang and end)
        self.result("kill -9 of the serving instance mid-menu: the same menu again within 2 s, then 9 rings the police",
                    ok, f"menu again {gap if gap is None else round(gap * 1000)} ms after the kill; "
                        f"whole menu heard after the kill={whole_after_kill} {check['matches'] if check else path}; "
                        f"police answered={rang}")
        instances.start(0)

    def everyone_down(self, instances, prompt):
        instances.stop_all()
        since = time.time()
        _, answered = self.dial(self.a.line)
        first = wait_until(lambda: self.first_voiced(answered), 8, [self.caller])
        heard_whole = len(wavcheck.read_mono16(prompt)[1]) / 8000 + 1.0
        wait_until(lambda: True if first and time.time() >= first + heard_whole else None, heard_whole + 2,
                   [self.caller])
        end = self.press("9")
        rang = self.police.wait_event("CALL_ESTABLISHED", 10) is not None
        self.caller.pump(1)
        self.hang_up()
        check, path = self.heard(since, prompt)
        head = check["matches"][0]["at_seconds"] if check and check["matches"] else None
        ok = bool(first and check and check["ok"] and rang and end)
        self.result("every instance down: the PBX's fallback tells the police number, and 9 rings the police", ok,
                    f"first sound {((first or 0) - answered) * 1000:.0f} ms after the 200 OK; police number heard at "
                    f"{head} s of {path}; police answered={rang}")

    def close(self):
        self.sniffer.stop()
        for phone in (self.caller, self.police, self.operator):
            phone.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rig-dir", required=True)
    ap.add_argument("--sip-port", type=int, default=5060)
    ap.add_argument("--caller-sip", type=int, default=5070)
    ap.add_argument("--police-sip", type=int, default=5072)
    ap.add_argument("--operator-sip", type=int, default=5074)
    ap.add_argument("--caller-ctrl", type=int, default=4444)
    ap.add_argument("--police-ctrl", type=int, default=4445)
    ap.add_argument("--operator-ctrl", type=int, default=4446)
    ap.add_argument("--caller-dir", required=True)
    ap.add_argument("--instances", required=True, help="JSON: [{argv, env, port}, …] in IVR_AGI's order")
    ap.add_argument("--line", default="111")
    ap.add_argument("--native", default="112")
    ap.add_argument("--presses", type=int, default=30)
    ap.add_argument("--nines", type=int, default=5)
    ap.add_argument("--figures", help="write the figures here as JSON")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()

    prompts = os.path.join(a.rig_dir, "prompts")
    choose = os.path.join(prompts, "kk", "choose_language.wav")
    police_number = os.path.join(a.rig_dir, "fallback", "sounds", "kk", "police_number.wav")
    commands = json.loads(a.instances)
    instances = Instances(commands, [os.path.join(a.rig_dir, f"agi-{i}.log") for i in range(len(commands))])
    suite = Suite(a)
    try:
        for i in range(len(commands)):
            instances.start(i)
        prompt_seconds = wavcheck.read_mono16(choose)[1].__len__() / 8000
        suite.language_choice(a.line, choose, prompt_seconds)
        suite.language_choice(a.native, choose, prompt_seconds)
        figures = suite.figures
        for label, extension in (("line", a.line), ("native", a.native)):
            nines = []
            for _ in range(a.nines):
                ms = suite.nine_rings_police(extension, f"{label} ({extension})", choose)
                if ms is not None:
                    nines.append(ms)
            figures[f"{label}_nine_to_invite_ms"] = nines
        for label, extension, digit in (("line", a.line, "*"), ("native", a.native, "1")):
            gaps = suite.dead_air(extension, digit, a.presses)
            packets, sounds = [g[0] for g in gaps], [g[1] for g in gaps]
            figures[f"{label}_key_to_next_packet_ms"] = packets
            figures[f"{label}_key_to_next_sound_ms"] = sounds
            suite.result(f"{label} ({extension}): dead air measured after {a.presses} key presses",
                         len(gaps) == a.presses,
                         f"{len(gaps)} presses; to the next prompt's first packet p50 {percentile(packets, 0.5):.1f} "
                         f"p99 {percentile(packets, 0.99):.1f} ms, to its first sound p50 {percentile(sounds, 0.5):.1f} "
                         f"p99 {percentile(sounds, 0.99):.1f} ms")
        suite.police_hangs_up()
        suite.operator_whisper()
        suite.failover(instances, choose, prompt_seconds)
        suite.everyone_down(instances, police_number)
    except Exception as e:  # noqa: BLE001 - any failure of the rig is a failed test, reported
        suite.result("the suite ran to its end", False, repr(e))
    finally:
        instances.stop_all()
        suite.close()
    for key, values in suite.figures.items():
        if values:
            print(f"figure {key}: n={len(values)} p50={percentile(values, 0.5):.1f} p99={percentile(values, 0.99):.1f} "
                  f"max={max(values):.1f}", flush=True)
    if a.figures:
        json.dump(suite.figures, open(a.figures, "w"))
    passed = sum(suite.results)
    print(f"{passed} passed, {len(suite.results) - passed} failed", flush=True)
    return 0 if passed == len(suite.results) and suite.results else 1


if __name__ == "__main__":
    sys.exit(main())
