#!/usr/bin/env python3
"""Real calls into the rig's Asterisk (.ci/real-calls.sh starts everything this drives).

Each test is a real SIP call from the caller's baresip phone to the line (111, the shipped
`ivr-111` context in front of two `ivr serve` over FastAGI) or to the native dialplan beside
it (112); what it checks is what the phones heard and received: a phone's recording matched
against the prompts' WAVs (heard.py: ../shared/asterisk/lib/wavcheck.py's envelope
correlation), and the packets on the loopback interface (packets.py: a packet socket, kernel
timestamps): the RTP reaching the caller's phone, the caller's RFC 4733 key events, the SIP
requests reaching the police's and the operators' phones.

The tests, in the order run (the numbers are issue 24's):
 1. the language choice is heard within 1 s of the answer (line and native);
 2. 9 one second into the first prompt cuts it and rings the police (line and native,
    timed 9 -> INVITE); the dead air after a key press (line and native);
    the police hang up: the call ends and enters no other instance;
 3. 1 (Kazakh), then a topic: the Kazakh main menu and the topic's first part are heard;
 4. 0 as a Kazakh caller rings the Kazakh operator's phone and not the Russian one, whose
    recording holds the Kazakh whisper before the caller;
 5. a caller who presses nothing is ringing an operator (one, under longest_free) within
    `ivr flow audit`'s figure plus 2 s of the answer;
 6. a caller who hangs up in the middle of a guidance part: its row in the database says
    `abandoned`, the topic not heard;
10. (issue 26) two callers and one operator: the second waits and hears their place, the
    operator is not rung again while on the first call, and is rung for the second once
    the first hangs up (queue_calls.py);
 7. kill -9 of the serving instance mid-menu: the menu again from the other one, 9 works;
    SIGTERM of the serving instance mid-menu (issue 23): the call stays on it until the
    drain ends, then goes on at the menu on the other one, never cut off, 9 works;
 8. every instance down: the PBX's fallback tells the police number, 9 rings the police;
 9. `ivr report --format json` counts exactly the calls made to the line, by language and
    outcome, and no caller identifier is in the database, the data dirs or the logs.

Timings come from the packets, not from the recordings: baresip records only the packets
it receives, and Asterisk sends none while it waits (for a FastAGI command, for a key after
Read()'s prompt), so a recording has no dead air in it to measure.

Prints one line per test and, last, `N passed, N failed`.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from heard import SHARED_LIB, holds, recording, seconds
from line_calls import LineCalls
from queue_calls import QueueCalls
from accounting import account
from packets import Sniffer, first_sound_after, first_voiced, key_end, next_prompt, percentile, sip_to, wait_until

sys.path.insert(0, SHARED_LIB)
from bsctl import BaresipCtrl  # noqa: E402


class Instances:
    """The FastAGI servers behind IVR_AGI, started and stopped here by their own PIDs."""

    def __init__(self, commands, logs):
        self.commands, self.logs, self.procs = commands, logs, {}

    def start(self, i):
        env = dict(os.environ, **self.commands[i]["env"])
        log = open(self.logs[i], "ab")
        self.procs[i] = subprocess.Popen(self.commands[i]["argv"], env=env, stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL)
        ready = wait_until(lambda: True if self.ready(i) else None, 60)
        if not ready:
            raise RuntimeError(f"instance {i} never became ready")

    def ready(self, i):
        if self.procs[i].poll() is not None:
            raise RuntimeError(f"instance {i} exited with {self.procs[i].returncode} (log {self.logs[i]})")
        try:
            with urllib.request.urlopen(self.commands[i]["env"]["IVR_PUBLIC_URL"] + "/readyz", timeout=0.5) as r:
                return r.status == 200
        except OSError:
            return False

    def send(self, i, sig):
        """Sends `sig` to instance `i`; returns its process, still to be waited for."""
        proc = self.procs.pop(i, None)
        if proc and proc.poll() is None:
            proc.send_signal(sig)
        return proc

    def kill(self, i, sig=signal.SIGKILL):
        proc = self.send(i, sig)
        if proc:
            proc.wait(15)

    def stop_all(self):
        """SIGTERM to every instance at once (each drains), then waits for each."""
        for proc in [self.send(i, signal.SIGTERM) for i in list(self.procs)]:
            if proc:
                proc.wait(30)


class Suite(LineCalls, QueueCalls):
    def __init__(self, a, phones, instances):
        self.a, self.instances = a, instances
        self.results = []
        self.figures = {}
        # The calls made to the line, (language, outcome) as the statistics should count them.
        self.made = []
        self.dirs = {name: phone["dir"] for name, phone in phones.items()}
        self.sip = {name: phone["sip"] for name, phone in phones.items()}
        self.sniffer = Sniffer(self.sip.values())
        self.phones = {name: BaresipCtrl(phone["ctrl"], name=name, log=self.quiet) for name, phone in phones.items()}
        self.caller, self.police = self.phones["caller"], self.phones["police"]
        self.asterisk_log = os.path.join(a.rig_dir, "log", "messages.log")
        self.prompts = os.path.join(a.rig_dir, "prompts")

    def quiet(self, line):
        if self.a.verbose:
            print(line, flush=True)

    def result(self, name, ok, detail):
        self.results.append(bool(ok))
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}", flush=True)

    def prompt(self, language, key):
        return os.path.join(self.prompts, language, f"{key}.wav")

    def dial(self, extension, counted=None):
        """Calls `extension`; a call to the line is counted as `counted` (language, outcome)."""
        for phone in self.phones.values():
            phone.events.clear()
        t0 = time.time()
        self.caller.command("dial", f"sip:{extension}@127.0.0.1:{self.a.sip_port}")
        if self.caller.wait_event("CALL_ESTABLISHED", 10) is None:
            raise RuntimeError(f"the call to {extension} was not answered")
        if extension == self.a.line:
            self.made.append(counted)
        answered = sip_to(self.sniffer, self.sip["caller"], "SIP/2.0 200", t0) or time.time()
        return t0, answered

    def hang_up(self):
        if not self.caller.seen("CALL_CLOSED"):
            self.caller.command("hangup")
            self.caller.wait_event("CALL_CLOSED", 5)
        for name, phone in self.phones.items():
            if name != "caller" and phone.seen("CALL_ESTABLISHED") and not phone.seen("CALL_CLOSED"):
                phone.wait_event("CALL_CLOSED", 5)
        time.sleep(0.3)

    def heard(self, since, prompt, occurrences=1, phone="caller", min_corr=None):
        path = recording(self.dirs[phone], since)
        check = holds(path, prompt, occurrences, min_corr)
        return check, path or "no recording"

    def first_voiced(self, after):
        return first_voiced(self.sniffer, after)

    def press(self, digit):
        t = time.time()
        self.caller.command("sndcode", digit)
        code = "0123456789*#".index(digit)
        return wait_until(lambda: key_end(self.sniffer, t - 0.05, code), 3, [self.caller])

    def pump_until(self, moment, limit):
        """Lets the call run until the wall-clock `moment` (at most `limit` seconds)."""
        wait_until(lambda: True if moment is not None and time.time() >= moment else None, limit, [self.caller])

    def log_mark(self):
        return os.path.getsize(self.asterisk_log)

    def log_since(self, mark):
        with open(self.asterisk_log, errors="replace") as f:
            f.seek(mark)
            return f.readlines()

    # ----------------------------------------------------------------------------- tests
    def language_choice(self, extension, prompt, prompt_seconds):
        since = time.time()
        _, answered = self.dial(extension, ("none", "abandoned"))
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
        _, answered = self.dial(extension, ("none", "emergency"))
        first = wait_until(lambda: self.first_voiced(answered), 5, [self.caller])
        if first is None:
            self.hang_up()
            self.result(f"{label}: 9 one second into the first prompt", False, "no prompt heard")
            return None
        self.pump_until(first + 1.0, 2)
        end = self.press("9")
        invite = wait_until(lambda: sip_to(self.sniffer, self.sip["police"], "INVITE", since), 10, [self.caller])
        rang = self.police.wait_event("CALL_ESTABLISHED", 10) is not None
        self.caller.pump(1)
        self.hang_up()
        # The prompt's first second and the transfer prompt after it correlate with the whole
        # prompt at about 0.72 (wavcheck's default threshold is 0.7); heard whole, it is 1.0.
        check, _ = self.heard(since, prompt, min_corr=0.9)
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
            _, answered = self.dial(extension, ("none", "abandoned"))
            sound = wait_until(lambda: self.first_voiced(answered), 5, [self.caller])
            for _ in range(min(20, presses - len(gaps))):
                if sound is None:
                    break
                self.pump_until(sound + 1.0, 3)
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
        mark = self.log_mark()
        _, answered = self.dial(self.a.line, ("none", "emergency"))
        first = wait_until(lambda: self.first_voiced(answered), 5, [self.caller])
        self.pump_until(first and first + 1.0, 3)
        self.press("9")
        rang = self.police.wait_event("CALL_ESTABLISHED", 15) is not None
        self.police.pump(2)
        self.police.command("hangup")
        ended = self.caller.wait_event("CALL_CLOSED", 20) is not None
        self.hang_up()
        reentries = [line.strip() for line in self.log_since(mark)
                     if "ended with AGISTATUS" in line and "app_verbose" in line]
        ok = rang and ended and not reentries
        self.result("the police hang up: the call ends and no other instance is entered (a normal end does not loop)",
                    ok, f"police answered={rang}; caller's call ended={ended}; re-entries={reentries}")

    def failover(self, prompt, prompt_seconds):
        since = time.time()
        _, answered = self.dial(self.a.line, ("none", "emergency"))
        first = wait_until(lambda: self.first_voiced(answered), 5, [self.caller])
        self.pump_until(first and first + 1.5, 3)
        killed = time.time()
        self.instances.kill(0)
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
        self.instances.start(0)

    def everyone_down(self, prompt):
        self.instances.stop_all()
        since = time.time()
        _, answered = self.dial(self.a.line)
        self.made.pop()  # the PBX's own fallback: no instance counts this call
        first = wait_until(lambda: self.first_voiced(answered), 8, [self.caller])
        heard_whole = seconds(prompt) + 1.0
        self.pump_until(first and first + heard_whole, heard_whole + 2)
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
        for phone in self.phones.values():
            phone.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rig-dir", required=True)
    ap.add_argument("--sip-port", type=int, default=5060)
    ap.add_argument("--phones", required=True,
                    help='JSON: {"caller": {"sip", "ctrl", "dir"}, "caller2", "police", "operator", "kk_operator", "ru_operator"}')
    ap.add_argument("--caller-number", required=True, help="the caller phone's SIP user, its number")
    ap.add_argument("--second-caller-number", required=True, help="the second caller phone's SIP user")
    ap.add_argument("--caller-name", required=True, help="the caller phone's display name")
    ap.add_argument("--instances", required=True, help="JSON: [{argv, env}, …] in IVR_AGI's order")
    ap.add_argument("--line", default="111")
    ap.add_argument("--native", default="112")
    ap.add_argument("--presses", type=int, default=30)
    ap.add_argument("--nines", type=int, default=5)
    ap.add_argument("--figures", help="write the figures here as JSON")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()

    commands = json.loads(a.instances)
    instances = Instances(commands, [os.path.join(a.rig_dir, f"agi-{i}.log") for i in range(len(commands))])
    suite = Suite(a, json.loads(a.phones), instances)
    choose = suite.prompt("kk", "choose_language")
    police_number = os.path.join(a.rig_dir, "fallback", "sounds", "kk", "police_number.wav")
    try:
        for i in range(len(commands)):
            instances.start(i)
        prompt_seconds = seconds(choose)
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
        suite.kazakh_guidance()
        suite.kazakh_operator()
        suite.silent_caller()
        suite.hang_up_in_guidance()
        suite.two_callers_one_operator()
        suite.failover(choose, prompt_seconds)
        suite.drained(choose)
        suite.everyone_down(police_number)
        account(suite, commands, (a.caller_number, a.second_caller_number), a.caller_name)
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
