"""The real calls that follow a caller through the line's menus (real_calls.py runs them):
a Kazakh caller's guidance and operator, a silent caller, a caller who hangs up in the
middle of guidance, and a restart (SIGTERM) of the instance serving a call.

Each is a method of the suite (real_calls.Suite), which places the call and knows the
phones, the packets and the instances.
"""
import datetime
import os
import re
import signal
import subprocess
import time

from heard import concatenate, first_match, holds, recording, seconds, tone_onset, voiced_end
from packets import longest_gap, next_prompt, pause_after, sip_to, wait_until

# How the statistics count a caller who hangs up in the middle of a guidance part: the outcome
# docs/statistics.md defines (a topic is heard only once its part has played or the caller
# moved on from it; `abandoned` is a hang-up before hearing any guidance to its end or
# reaching a transfer), so no topic, and the part as where the caller left.
HUNG_UP_IN_GUIDANCE = "abandoned"
# Asterisk's log line of a prompt played over FastAGI, with its time: which instance served it
# (the port of its prompt URLs) and which prompt.
PLAYING = re.compile(r"^\[([\d-]+ [\d:.]+)\].*Playing 'http://127\.0\.0\.1:(\d+)/prompts/(\w+)/(\w+)\.wav")
HANDED_BACK = re.compile(r"^\[([\d-]+ [\d:.]+)\].*ivr-111: (\S+) ended with AGISTATUS=(\w+)")
WHISPER_URL = re.compile(r"http://127\.0\.0\.1:\d+/prompts/(\w+)/(\w+)\.wav")


def log_time(stamp):
    """A time in Asterisk's log (logger.conf's dateformat, local time) as seconds since the epoch."""
    return datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()


def http_port(command):
    return int(command["env"]["IVR_PUBLIC_URL"].rsplit(":", 1)[1])


class LineCalls:
    def sql(self, query):
        """Rows of `query` on the instances' shared database, as lists of text fields."""
        url = self.instances.commands[0]["env"]["IVR_DATABASE_URL"]
        out = subprocess.run(["psql", "-qAtX", "-F", "|", url, "-c", query], capture_output=True, text=True,
                             check=True)
        return [line.split("|") for line in out.stdout.splitlines() if line]

    def choose_kazakh(self, answered):
        """1 one second into the language choice; the time the key's end reached Asterisk."""
        first = wait_until(lambda: self.first_voiced(answered), 5, [self.caller])
        self.pump_until(first and first + 1.0, 3)
        return self.press("1") if first else None

    def kazakh_guidance(self):
        """3. 1 (Kazakh), then a topic (5, rights) once the main menu has played whole, and a
        hang-up 1.5 s after the part's length: the call outlasts the part, so the topic counts as
        heard (`self_service`, docs/statistics.md)."""
        since = time.time()
        _, answered = self.dial(self.a.line, ("kk", "self_service"))
        chose = self.choose_kazakh(answered)
        # The safety notice, its one second of waiting (a pause in the packets), the welcome and
        # the topics, then the wait for a key: the second pause after the key.
        notice_end = wait_until(lambda: chose and pause_after(self.sniffer, chose + 0.5, 0.6), 25, [self.caller])
        menu_end = wait_until(lambda: notice_end and pause_after(self.sniffer, notice_end + 0.8, 0.6), 40,
                              [self.caller])
        topic = self.press("5") if menu_end else None
        part = seconds(self.prompt("kk", "guidance_rights_1"))
        self.pump_until(topic and topic + part + 1.5, part + 3)
        self.hang_up()
        path = recording(self.dirs["caller"], since)
        menu = holds(path, self.prompt("kk", "main_menu"))
        guidance = holds(path, self.prompt("kk", "guidance_rights_1"))
        ok = bool(topic and first_match(menu) is not None and first_match(guidance) is not None
                  and first_match(guidance) > first_match(menu))
        self.result("1 (Kazakh), then 5: the caller hears the Kazakh main menu, then the first part of the topic", ok,
                    f"key 1 seen={chose is not None}, main menu's end seen={menu_end is not None}; Kazakh main menu "
                    f"at {first_match(menu)} s, Kazakh rights part 1 at {first_match(guidance)} s of {path}")

    def kazakh_asks_for_operator(self):
        """A Kazakh caller's call: 1, then 0 one second into the safety notice; whether the
        Kazakh operator's phone answered (auto-answer) within 25 s."""
        _, answered = self.dial(self.a.line, ("kk", "operator"))
        chose = self.choose_kazakh(answered)
        notice = wait_until(lambda: chose and next_prompt(self.sniffer, chose), 5, [self.caller])
        self.pump_until(notice and notice[1] + 1.0, 3)
        zero = self.press("0") if notice else None
        return zero is not None and self.phones["kk_operator"].wait_event("CALL_ESTABLISHED", 25) is not None

    def kazakh_operator(self):
        """4. 0 as a Kazakh caller (during the safety notice): the Kazakh operator is rung,
        hears the Kazakh whisper and then the caller; the Russian operator is not rung."""
        mark = self.log_mark()
        since = time.time()
        answered_kk = self.kazakh_asks_for_operator()
        # The whisper (a few seconds), then the caller's tone for a while.
        self.caller.pump(7 if answered_kk else 0)
        self.hang_up()
        ru_invite = sip_to(self.sniffer, self.sip["ru_operator"], "INVITE", since)
        urls = [url for line in self.log_since(mark) if "ivr-111-whisper" in line and "Playback(" in line
                for url in WHISPER_URL.findall(line)]
        languages = sorted({language for language, _ in urls})
        detail = f"Kazakh operator answered={answered_kk}; Russian operator's INVITE={ru_invite is not None}; " \
                 f"whisper {['/'.join(u) for u in urls]}"
        whisper_ok = False
        if urls:
            whisper = concatenate([self.prompt(language, key) for language, key in urls],
                                  os.path.join(self.a.rig_dir, "whisper-kk.wav"))
            path = recording(self.dirs["kk_operator"], since)
            at = first_match(holds(path, whisper))
            caller_from = tone_onset(path) if path else None
            # Where the whisper's last word ends (its recordings end in a little silence), to a
            # 20 ms packet.
            ended = at + voiced_end(whisper) if at is not None else None
            whisper_ok = ended is not None and caller_from is not None and ended <= caller_from + 0.02
            detail += f"; in {path}: whisper {at}-{ended and round(ended, 2)} s, the caller from {caller_from} s"
        ok = answered_kk and ru_invite is None and languages == ["kk"] and whisper_ok
        self.result("0 as a Kazakh caller rings the Kazakh operator and not the Russian one; the operator hears the "
                    "Kazakh whisper, then the caller", ok, detail)

    def flow_audit_to_person(self):
        """`ivr flow audit`'s figure for a caller silent from the start: until someone is rung."""
        command = self.instances.commands[0]
        out = subprocess.run([command["argv"][0], "flow", "audit"], env=dict(os.environ, **command["env"]),
                             capture_output=True, text=True).stdout
        found = re.search(r"^\s*the start\s+\S+\s+([\d.]+) s", out, re.M)
        if not found:
            raise RuntimeError(f"`ivr flow audit` printed no silent caller's wait from the start:\n{out}")
        return float(found.group(1))

    def silent_caller(self):
        """5. Nothing pressed: an operator's phone rings within the audit's figure + 2 s of the
        answer. No language was chosen, so an operator of either language takes them: under
        IVR_QUEUE_STRATEGY=longest_free (the operators' queue, docs/operators.md), the one free
        longest alone is rung."""
        limit = self.flow_audit_to_person() + 2.0
        since = time.time()
        _, answered = self.dial(self.a.line, ("none", "operator"))
        ports = (self.sip["kk_operator"], self.sip["ru_operator"])

        def rung():
            invites = [sip_to(self.sniffer, port, "INVITE", since) for port in ports]
            return min(i for i in invites if i) if any(invites) else None
        first = wait_until(rung, limit + 5, [self.caller])
        self.caller.pump(1.5)
        rung_phones = [port for port in ports if sip_to(self.sniffer, port, "INVITE", since)]
        took = first - answered if first else None
        picked = any(self.phones[p].wait_event("CALL_ESTABLISHED", 5) for p in ("kk_operator", "ru_operator")) \
            if first else False
        self.caller.pump(1)
        self.hang_up()
        ok = took is not None and took <= limit and len(rung_phones) == 1 and picked
        self.result("a caller who presses nothing: an operator's phone rings within the flow audit's figure + 2 s", ok,
                    f"INVITE {took and round(took, 2)} s after the answer (limit {limit:.1f} s); "
                    f"operators' phones rung {len(rung_phones)} (longest_free: one); answered={picked}")

    def hang_up_in_guidance(self):
        """6. 1, then 3 (evidence) during the safety notice, and a hang-up 3 s into the part: the
        call's row says where and how it ended, and that the topic was not heard (the call ended
        before the part's length, with no step after it)."""
        _, answered = self.dial(self.a.line, ("kk", HUNG_UP_IN_GUIDANCE))
        chose = self.choose_kazakh(answered)
        notice = wait_until(lambda: chose and next_prompt(self.sniffer, chose), 5, [self.caller])
        self.pump_until(notice and notice[1] + 1.0, 3)
        topic = self.press("3") if notice else None
        part = wait_until(lambda: topic and next_prompt(self.sniffer, topic), 5, [self.caller])
        self.pump_until(part and part[1] + 3.0, 5)
        self.hang_up()
        query = "SELECT language, topics, exit_node, outcome, ended FROM calls WHERE exit_node = 'evidence_1'"
        rows, deadline = self.sql(query), time.time() + 10
        while not (rows and rows[0][4]) and time.time() < deadline:  # the writer commits within ms
            time.sleep(0.25)
            rows = self.sql(query)
        want = [["kk", "", "evidence_1", HUNG_UP_IN_GUIDANCE, "completed"]]
        ok = part is not None and rows == want
        self.result(f"a hang-up 3 s into a guidance part is counted as {HUNG_UP_IN_GUIDANCE}, the topic not heard, "
                    "left at that part", ok,
                    f"part heard from {part and round(part[1] - answered, 2)} s; calls row(s) "
                    f"(language, topics, exit node, outcome, end) {rows}")

    def drained(self, prompt):
        """Issue 23 item 4: SIGTERM to the instance serving a call in the middle of the language
        menu. The call stays on it until the drain ends (IVR_DRAIN_MS), then the dialplan
        carries it to the other instance, which plays the menu again; nothing is cut off."""
        first_port, other_port = (http_port(c) for c in self.instances.commands[:2])
        drain = int(self.instances.commands[0]["env"]["IVR_DRAIN_MS"]) / 1000
        mark = self.log_mark()
        since = time.time()
        _, answered = self.dial(self.a.line, ("none", "emergency"))
        first = wait_until(lambda: self.first_voiced(answered), 5, [self.caller])
        self.pump_until(first and first + 1.0, 3)
        signalled = time.time()
        process = self.instances.send(0, signal.SIGTERM)
        exited = wait_until(lambda: time.time() if process and process.poll() is not None else None, drain + 10,
                            [self.caller])
        handed = None
        while handed is None and time.time() < (exited or signalled) + 3:
            self.caller.pump(0.1)
            handed = next((m for m in map(HANDED_BACK.match, self.log_since(mark)) if m), None)
        again = wait_until(lambda: self.played_after(mark, other_port, handed), 3, [self.caller])
        self.pump_until(again and again + seconds(prompt) + 0.5, 5)
        nine = self.press("9")
        gap = longest_gap(self.sniffer, signalled, nine or time.time())
        rang = self.police.wait_event("CALL_ESTABLISHED", 10) is not None
        cut_off = self.caller.seen("CALL_CLOSED")
        self.caller.pump(1)
        self.hang_up()
        on_first = [t for t, port in self.plays(mark) if port == first_port and t > signalled]
        handed_at = log_time(handed.group(1)) - signalled if handed else None
        check, path = self.heard(since, prompt, occurrences=2)
        # The conversations end in the drain's last quarter (the rest is the statistics').
        ok = bool(handed and handed.group(2).endswith(":4573") and handed.group(3) == "SUCCESS"
                  and drain * 0.75 - 0.3 <= handed_at <= drain + 0.5 and on_first and again and again - log_time(
                      handed.group(1)) <= 2.0 and check and check["ok"] and gap <= 1.0 and not cut_off and rang)
        self.result("SIGTERM to the serving instance mid-menu: the call stays on it until the drain ends, then the "
                    "other instance plays the menu again; never cut off; 9 rings the police", ok,
                    f"handed back {handed_at and round(handed_at, 2)} s after the signal (IVR_DRAIN_MS {drain:.1f} s, "
                    f"{handed and handed.group(3)}); {len(on_first)} prompt(s) started on it meanwhile; menu again "
                    f"from the other {again and handed and round(again - log_time(handed.group(1)), 2)} s after; "
                    f"longest silence {gap:.2f} s; instance exited {exited and round(exited - signalled, 2)} s after "
                    f"the signal; menu heard whole twice={bool(check and check['ok'])} in {path}; "
                    f"police answered={rang}")
        self.instances.start(0)

    def plays(self, mark):
        """(time, instance's HTTP port) of every prompt Asterisk started over FastAGI since `mark`."""
        return [(log_time(m.group(1)), int(m.group(2))) for m in map(PLAYING.match, self.log_since(mark)) if m]

    def played_after(self, mark, port, handed):
        if handed is None:
            return None
        after = log_time(handed.group(1))
        return next((t for t, p in self.plays(mark) if p == port and t >= after), None)
