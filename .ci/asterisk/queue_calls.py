"""10. The operators' queue on real phones (issue 26; real_calls.py runs it): two callers and
one operator over FastAGI.

The first caller chooses Kazakh, then 0: the Kazakh operator's phone rings and answers. The
second caller, from a second caller phone, does the same while the operator is on the first
call: they hear their place (`queue_position`, then `queue_number_1`, matched in their
phone's recording) and the operator's phone gets no second INVITE. The first caller hangs up:
within IVR_QUEUE_WAIT_SECONDS + 3 s (the second caller's call asks again at the end of each
stretch of waiting) the operator's phone gets an INVITE for the second caller.

A method of the suite (real_calls.Suite), which places the calls and knows the phones, the
packets and the instances.
"""
import re
import time

from heard import holds, recording
from packets import SECOND_CALLER_RTP, first_voiced, key_end, next_prompt, wait_until

CALL_ID = re.compile(rb"^Call-ID:\s*(\S+)", re.M | re.I)


class QueueCalls:
    def invites(self, phone, after):
        """(time, Call-ID) of each new call offered to `phone` after `after` (retransmissions once)."""
        seen = {}
        for stamp, _, dst, payload in self.sniffer.since(after):
            if dst == self.sip[phone] and payload.startswith(b"INVITE "):
                found = CALL_ID.search(payload)
                seen.setdefault(found.group(1) if found else stamp, stamp)
        return sorted(seen.values())

    def second_press(self, digit):
        """The second caller presses `digit`; when its key's end reached the wire."""
        t = time.time()
        self.phones["caller2"].command("sndcode", digit)
        code = "0123456789*#".index(digit)
        return wait_until(lambda: key_end(self.sniffer, t - 0.05, code, SECOND_CALLER_RTP), 3, self.pumped())

    def pumped(self):
        return [self.caller, self.phones["caller2"]]

    def two_callers_one_operator(self):
        second, operator = self.phones["caller2"], self.phones["kk_operator"]
        stretch = int(self.instances.commands[0]["env"].get("IVR_QUEUE_WAIT_SECONDS", "5"))
        since = time.time()
        # The first caller: 1, then 0 one second into the safety notice (as test 4).
        first_on = self.kazakh_asks_for_operator()
        first_invite = self.invites("kk_operator", since)
        self.caller.pump(4)  # the whisper, then the two are talking
        # The second caller, while the operator is on the first call.
        second.events.clear()
        dialled = time.time()
        second.command("dial", f"sip:{self.a.line}@127.0.0.1:{self.a.sip_port}")
        second_answered = second.wait_event("CALL_ESTABLISHED", 10) is not None
        if second_answered:
            self.made.append(("kk", "operator"))
        first = wait_until(lambda: first_voiced(self.sniffer, dialled, SECOND_CALLER_RTP), 5, self.pumped())
        self.pump_until(first and first + 1.0, 3)
        chose2 = self.second_press("1") if first else None
        notice2 = wait_until(lambda: chose2 and next_prompt(self.sniffer, chose2, SECOND_CALLER_RTP), 5,
                             self.pumped())
        self.pump_until(notice2 and notice2[1] + 1.0, 3)
        zero2 = self.second_press("0") if notice2 else None
        # The transfer's prompt and the position (about 6.5 s), and two stretches of waiting.
        self.pump_until(zero2 and zero2 + 7 + 2 * stretch, 10 + 2 * stretch)
        while_on_call = self.invites("kk_operator", since)
        # The first caller hangs up; the second caller's next ask rings the operator.
        self.caller.command("hangup")
        hung_up = time.time()
        self.caller.wait_event("CALL_CLOSED", 5)
        limit = stretch + 3

        def rung_again():
            later = [t for t in self.invites("kk_operator", since) if t > hung_up]
            return later[0] if later else None
        invite = wait_until(rung_again, limit + 5, self.pumped())
        took = invite - hung_up if invite else None
        picked = invite is not None and wait_until(
            lambda: True if sum(e.get("type") == "CALL_ESTABLISHED" for e in operator.events) >= 2 else None, 10,
            [operator]) is not None
        second.pump(2)
        if not second.seen("CALL_CLOSED"):
            second.command("hangup")
            second.wait_event("CALL_CLOSED", 5)
        wait_until(lambda: True if sum(e.get("type") == "CALL_CLOSED" for e in operator.events) >= 2 else None, 5,
                   [operator])
        self.hang_up()
        path = recording(self.dirs["caller2"], dialled)
        position, number = (holds(path, self.prompt("kk", key)) for key in ("queue_position", "queue_number_1"))
        at_position = position["matches"][0]["at_seconds"] if position and position.get("ok") else None
        at_number = [m["at_seconds"] for m in number["matches"]] if number and number.get("ok") else []
        # The number follows the position at once (the position's recording is 2.4 s long).
        told = at_position is not None and any(0 < at - at_position <= 3.5 for at in at_number)
        ok = bool(first_on and len(first_invite) == 1 and second_answered and zero2 and told
                  and len(while_on_call) == 1 and took is not None and took <= limit and picked)
        self.figures["queue_hang_up_to_invite_ms"] = [took * 1000] if took is not None else []
        self.result("two callers, one operator: the second waits, hears their place (queue_position, "
                    "queue_number_1), no second INVITE while the operator is on the first call; the first hangs up: "
                    f"the operator's phone is rung for the second within IVR_QUEUE_WAIT_SECONDS + 3 s ({limit} s)", ok,
                    f"operator answered the first={first_on}; second caller answered={second_answered}, keys 1 and 0 "
                    f"seen={chose2 is not None and zero2 is not None}; in {path or 'no recording'}: queue_position at "
                    f"{at_position} s, queue_number_1 at {at_number} s; INVITEs to the operator while on the call "
                    f"{len(while_on_call)}; hang-up -> INVITE for the second {took and round(took, 2)} s; "
                    f"operator answered the second={picked}")
