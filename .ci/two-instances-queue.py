#!/usr/bin/env python3
"""The operators' queue over two real instances behind nginx (issue 26), run by
.ci/two-instances.sh once the instances share a database with one Kazakh operator on the
roster (`ivr operators add`), IVR_QUEUE_STRATEGY=longest_free and IVR_WRAP_UP_SECONDS=0.

Calls are played as the platform plays them: signed webhooks, following the URLs each
answer gives (a menu's action, a stretch of waiting's no-input URL, a dial's action, the
whisper an operator's answer fetches), so a caller's state travels in the URLs and any
instance may answer any of them. nginx says which instance answered (`X-Upstream`).

`twiml`: caller A presses 1 then 0 and is rung the operator, who answers (the whisper);
caller B asks on the instance A's ring did not come from and waits first in the queue;
caller C waits second. The instance that answered B's last webhook is killed (SIGKILL):
B and C ask again through nginx, the other instance answers, both still wait, their rows
still in the queue. A's dial ends `completed`: C, asking ahead of B, is never rung; B is,
when B's stretch of waiting ends; C then waits while the operator is rung for B.

`jambonz` (both instances up again): the same arrival order for two callers and one
operator, in jambonz's webhooks.

Prints one line per check (`ok: ...` or `FAIL: ...`) and exits non-zero on any failure.
"""
import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

OPERATOR = "+77170000001"
failures = []


def check(ok, line):
    print(f"{'ok' if ok else 'FAIL'}: {line}", flush=True)
    if not ok:
        failures.append(line)
    return ok


class Line:
    """Where webhooks go: nginx, or one instance directly (signed for the public URL)."""

    def __init__(self, public, instances, dialect, secret):
        self.public, self.dialect, self.secret = public, dialect, secret
        self.instances = instances  # {"127.0.0.1:port": pid}

    def absolute(self, url):
        return url if url.startswith("http") else self.public + url

    def send(self, url, fields, via=None):
        """Posts the webhook; (the answer's body, the instance that answered)."""
        url = self.absolute(url)
        if self.dialect == "twiml":
            data = url + "".join(k + v for k, v in sorted(fields.items()))
            sig = base64.b64encode(hmac.new(self.secret.encode(), data.encode(), hashlib.sha1).digest()).decode()
            body, headers = urllib.parse.urlencode(fields).encode(), {"X-Twilio-Signature": sig}
        else:
            body, stamp = json.dumps(fields).encode(), str(int(time.time()))
            mac = hmac.new(self.secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            headers = {"Jambonz-Signature": f"t={stamp},v1={mac}", "Content-Type": "application/json"}
        target = url if via is None else url.replace(self.public, f"http://{via}", 1)
        request = urllib.request.Request(target, data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200, (url, answer.status)
            upstream = answer.headers.get("X-Upstream") or via
            return answer.read().decode(), upstream.split(",")[-1].strip()


class Call:
    """One caller's call: the last answer, read into what the platform does next."""

    def __init__(self, line, n):
        self.line, self.n = line, n
        self.reply, self.by, self.answered = None, None, None

    def fields(self, event, value=None):
        sid = f"CA{self.n:032x}"
        if self.line.dialect == "twiml":
            fields = {"CallSid": sid, "AccountSid": "AC0123", "From": f"+7701666{self.n:04d}", "To": "111",
                      "CallStatus": "in-progress", "Direction": "inbound"}
            extra = {"pressed": {"Digits": value}, "dial": {"DialCallStatus": value, "DialCallDuration": "30"}}
            return {**fields, **extra.get(event, {})}
        fields = {"call_sid": sid, "direction": "inbound", "from": f"+7701666{self.n:04d}", "to": "111",
                  "call_status": "in-progress", "sip_status": 200, "account_sid": "9351f46a"}
        extra = {"pressed": {"reason": "dtmfDetected", "digits": value}, "silence": {"reason": "timeout"},
                 "dial": {"dial_call_status": value, "dial_sip_status": 200},
                 "answered": {"direction": "outbound", "parent_call_sid": sid}}
        return {**fields, **extra.get(event, {})}

    def post(self, url, event, value=None, via=None):
        body, self.by = self.line.send(url, self.fields(event, value), via)
        self.answered = time.time()
        self.reply = read(self.line.dialect, body)
        return self

    def incoming(self, via=None):
        path = "/twilio/voice" if self.line.dialect == "twiml" else "/jambonz/call"
        return self.post(path, "incoming", via=via)

    def press(self, key, via=None):
        assert self.reply["kind"] == "gather", f"caller {self.n} pressed {key} on {self.reply}"
        return self.post(self.reply["action"], "pressed", key, via)

    def wait(self, via=None):
        """The stretch of silence ends: the no-input URL (at once: the caller drives time)."""
        assert self.reply["kind"] == "gather", f"caller {self.n} waited on {self.reply}"
        return self.post(self.reply["no_input"], "silence", via=via)

    def whisper(self):
        """The operator answers: the platform fetches the whisper; its prompts."""
        body, _ = self.line.send(self.reply["whispers"][0], self.fields("answered"))
        return read(self.line.dialect, body)["prompts"]

    def dial_ends(self, status):
        assert self.reply["kind"] == "dial", f"caller {self.n}'s dial ended on {self.reply}"
        return self.post(self.reply["action"], "dial", status)

    def rung(self):
        return self.reply["targets"] if self.reply["kind"] == "dial" else []

    def waiting(self):
        return self.reply["kind"] == "gather" and self.reply["node"] == "operator"

    def heard(self):
        return [p.rsplit("/prompts/", 1)[-1].removesuffix(".wav") for p in self.reply["prompts"]]


def node(url):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)).get("n", "")


def read(dialect, body):
    """{kind: gather|dial|hangup|empty, prompts, action, no_input, timeout, node, targets, whispers}."""
    prompts = []
    if dialect == "twiml":
        verbs = list(ET.fromstring(body))
        for i, verb in enumerate(verbs):
            if verb.tag == "Play":
                prompts.append(verb.text.strip())
            elif verb.tag == "Gather":
                prompts += [p.text.strip() for p in verb.iter("Play")]
                after = verbs[i + 1] if i + 1 < len(verbs) else None
                return {"kind": "gather", "prompts": prompts, "action": verb.get("action"),
                        "no_input": after.text.strip(), "timeout": int(verb.get("timeout")),
                        "node": node(verb.get("action"))}
            elif verb.tag == "Dial":
                numbers = list(verb)
                return {"kind": "dial", "prompts": prompts, "action": verb.get("action"), "node": node(verb.get("action")),
                        "targets": [t.text.strip() for t in numbers], "whispers": [t.get("url") for t in numbers]}
            elif verb.tag == "Hangup":
                return {"kind": "hangup", "prompts": prompts}
        return {"kind": "empty" if not verbs else "whisper", "prompts": prompts}
    for verb in json.loads(body):
        if verb["verb"] == "play":
            prompts += verb["url"]
        elif verb["verb"] == "gather":
            prompts += verb.get("play", {}).get("url", [])
            return {"kind": "gather", "prompts": prompts, "action": verb["actionHook"], "no_input": verb["actionHook"],
                    "timeout": verb["timeout"], "node": node(verb["actionHook"])}
        elif verb["verb"] == "dial":
            targets = verb["target"]
            return {"kind": "dial", "prompts": prompts, "action": verb["actionHook"], "node": node(verb["actionHook"]),
                    "targets": [t.get("number") or t.get("sipUri") for t in targets],
                    "whispers": [t.get("confirmHook") for t in targets]}
        elif verb["verb"] == "hangup":
            return {"kind": "hangup", "prompts": prompts}
    return {"kind": "empty", "prompts": prompts}


def asks(line, n, via=None):
    """A Kazakh caller: 1 at the language choice, then 0 (during the safety notice)."""
    call = Call(line, n).incoming()
    call.press("1")
    call.press("0", via=via)
    return call


def refuses(address):
    host, port = address.split(":")
    try:
        socket.create_connection((host, int(port)), timeout=0.5).close()
        return False
    except ConnectionRefusedError:
        return True


def sql(database, query):
    return subprocess.run(["psql", "-qAtX", database, "-c", query], capture_output=True, text=True,
                          check=True).stdout.strip()


def twiml(line, database, stretch):
    a = asks(line, 1)
    check(a.rung() == [OPERATOR], f"caller A (1, then 0) is rung the operator at once: {a.rung()} (from {a.by})")
    whisper = a.whisper()
    check(bool(whisper), f"the operator answers A: the whisper fetched ({len(whisper)} prompts)")
    other = next(i for i in line.instances if i != a.by)
    b = asks(line, 2, via=other)
    check(b.waiting() and "kk/queue_number_1" in b.heard(),
          f"caller B asks on the other instance ({b.by}): waits on node {b.reply.get('node')}, hears {b.heard()}")
    c = asks(line, 3)
    check(c.waiting() and "kk/queue_number_2" in c.heard(),
          f"caller C asks ({c.by}): waits on node {c.reply.get('node')}, hears {c.heard()}")
    victim = b.by
    os.kill(line.instances[victim], signal.SIGKILL)
    killed = time.time()
    # Until the process is gone, its socket may still take a connection and reset it once the
    # request is sent, which nginx does not retry for a POST (502): as any proxy would, the
    # checks begin once the port refuses connections.
    while refuses(victim) is False and time.time() < killed + 5:
        time.sleep(0.01)
    print(f"kill -9 of {victim} (pid {line.instances[victim]}), the instance that answered B's last webhook; "
          f"its port refused connections {time.time() - killed:.3f} s after", flush=True)
    b.wait()
    c.wait()
    check(b.waiting() and c.waiting() and victim not in (b.by, c.by),
          f"after the kill B and C ask again through nginx: answered by {b.by} and {c.by} "
          f"{time.time() - killed:.2f} s after it, both still waiting")
    rows = int(sql(database, "SELECT count(*) FROM queue_callers"))
    check(rows == 2, f"both places kept in queue_callers after the kill: {rows} rows")
    # Positions are told once until they change; B asking again as a new arrival would be
    # told 2 behind C, so silence here means B kept its place (checked below by the order).
    check(not any("queue_number" in p for p in b.heard() + c.heard()),
          f"no new position told (unchanged): B hears {b.heard()}, C hears {c.heard()}")
    a.dial_ends("completed")
    ended = time.time()
    check(not a.rung(), f"A's dial ends completed (/twilio/dial, DialCallStatus=completed): A now {a.reply['kind']}")
    # The platform asks again when a caller's stretch of silence (the gather's timeout) ends:
    # B's ends `stretch` s after its last answer (before A's dial ended), and B asks then,
    # by the clock, as Twilio would. Meanwhile C asks every 0.25 s, ahead of B, also once
    # the operator is free in the database (the instance that took A's dial end wrote it).
    b_due = b.answered + b.reply["timeout"]
    c_asks, free_at, after_free = 0, None, 0
    while time.time() < b_due:
        if free_at is None and sql(database, "SELECT activity FROM operator_states") == "free":
            free_at = time.time()
        c.wait()
        c_asks += 1
        after_free += free_at is not None
        if not check(c.waiting(), f"C asking ahead of B is not rung (ask {c_asks}): {c.reply['kind']}"):
            break
        time.sleep(0.25)
    check(after_free >= 2, f"C asked {c_asks} times ahead of B, {after_free} of them with the operator free in "
                           f"operator_states (from {free_at and round(free_at - ended, 2)} s after A's dial end); "
                           "none rang")
    b.wait()
    while not b.rung() and time.time() < ended + 3 * stretch + 5:
        time.sleep(max(0.0, b.answered + b.reply["timeout"] - time.time()))
        b.wait()
    took = time.time() - ended
    check(b.rung() == [OPERATOR], f"B (first in the queue, its instance killed) is rung the operator: {b.rung()}")
    c.wait()
    check(c.waiting(), "C asking after B was rung waits (the operator is reserved for B)")
    check(took <= stretch + 0.5, f"figure: A's dial end -> B rung {took:.2f} s (B asks when its gather's timeout, "
                                 f"IVR_QUEUE_WAIT_SECONDS = {stretch} s, has passed since its last answer; "
                                 f"bound {stretch} s + 0.5 s)")
    b.whisper()
    b.dial_ends("completed")
    # C too, so the queue is empty for the next dialect.
    while not c.rung() and time.time() < ended + 6 * stretch + 10:
        time.sleep(0.5)
        c.wait()
    check(c.rung() == [OPERATOR], f"then C is rung: {c.rung()}")
    c.whisper()
    c.dial_ends("completed")


def jambonz(line, stretch):
    a = asks(line, 11)
    check(a.rung() == [OPERATOR], f"jambonz: caller A is rung the operator at once: {a.rung()}")
    a.whisper()
    b = asks(line, 12)
    check(b.waiting() and "kk/queue_number_1" in b.heard(), f"jambonz: caller B waits, hears {b.heard()}")
    c = asks(line, 13)
    check(c.waiting() and "kk/queue_number_2" in c.heard(), f"jambonz: caller C waits, hears {c.heard()}")
    a.dial_ends("completed")
    ended = time.time()
    for _ in range(4 * stretch):
        c.wait()
        if not check(c.waiting(), f"jambonz: C asking ahead of B is not rung: {c.reply['kind']}"):
            break
        time.sleep(0.25)
    b.wait()
    check(b.rung() == [OPERATOR], f"jambonz: B is rung the operator {time.time() - ended:.2f} s after A's dial "
                                  f"ended: {b.rung()}")


def main():
    phase, public, secret, database, stretch = sys.argv[1:6]
    instances = dict(item.split("=") for item in sys.argv[6].split(","))
    instances = {address: int(pid) for address, pid in instances.items()}
    line = Line(public, instances, phase, secret)
    try:
        if phase == "twiml":
            twiml(line, database, int(stretch))
        else:
            jambonz(line, int(stretch))
    except Exception as e:  # noqa: BLE001 - any failure of the calls is a failed check, reported
        check(False, f"the {phase} calls ran to their end: {e!r}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
