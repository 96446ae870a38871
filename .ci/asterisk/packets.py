"""The packets on the loopback interface that the real calls are timed by (real_calls.py).

A packet socket on lo sees every UDP datagram the phones and Asterisk exchange, each with the
kernel's receive time: the RTP reaching the caller's phone (decoded to tell sound from
silence), the caller's RFC 4733 key events, the SIP requests reaching each phone.
"""
import bisect
import ctypes
import socket
import struct
import threading
import time

SO_TIMESTAMPNS = 35
SO_RCVBUFFORCE = 33
SO_ATTACH_FILTER = 26
# The caller phones' RTP ports (.ci/real-calls.sh): the first caller's 20000-20049 and the
# second's 20050-20099. Only the queue's test (queue_calls.py) has both on a call at once, and
# it tells them apart by SECOND_CALLER_RTP.
CALLER_RTP = range(20000, 20100)
SECOND_CALLER_RTP = range(20050, 20100)
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
        # The kernel passes on only what is timed here: on a busy machine (other tests' traffic
        # on lo, a load of many processes per core) a Python loop reading every packet on lo
        # fell seconds behind.
        self.filter = udp_filter(CALLER_RTP, self.sip_ports)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, self.filter)
        self.packets = []  # (time, src_port, dst_port, payload), in the order received
        self.stamps = []  # their times, for bisect
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
                self.stamps.append(stamp)

    def since(self, t):
        # Received in order, so nearly sorted by time: bisect a second early, then filter.
        with self.lock:
            start = bisect.bisect_left(self.stamps, t - 1.0)
            return [p for p in self.packets[start:] if p[0] >= t]

    def stop(self):
        self.running = False
        self.thread.join(1)
        self.sock.close()


def udp_filter(rtp, sip_ports):
    """A classic BPF program (for SO_ATTACH_FILTER on lo, Ethernet framing) that passes the
    IPv4 UDP datagrams from or to a port in `rtp`, or to one of `sip_ports`."""
    program, labels, jumps = [], {}, []

    def op(code, k=0, true=None, false=None):
        program.append([code, 0, 0, k])
        jumps.append((len(program) - 1, true, false))

    def label(name):
        labels[name] = len(program)
    op(0x28, 12)                                   # ldh [12]: the ethertype
    op(0x15, 0x0800, None, "drop")                 # IPv4
    op(0x30, 23)                                   # ldb [23]: the protocol
    op(0x15, 17, None, "drop")                     # UDP
    op(0x28, 20)                                   # ldh [20]: flags and fragment offset
    op(0x45, 0x1FFF, "drop", None)                 # not a later fragment
    op(0xB1, 14)                                   # ldxb 4*([14]&0xf): the IP header's length
    for offset, name in ((14, "src"), (16, "dst")):
        op(0x48, offset)                           # ldh [x+offset]: the port
        op(0x35, rtp.start, None, name)            # >= the first RTP port
        op(0x35, rtp.stop, name, "pass")           # < past the last: pass
        label(name)
    for port in sorted(sip_ports):
        op(0x15, port, "pass", None)               # the port is still loaded: dst
    label("drop")
    op(0x06, 0)
    label("pass")
    op(0x06, 0xFFFF)
    for at, true, false in jumps:
        program[at][1] = labels[true] - at - 1 if true else 0
        program[at][2] = labels[false] - at - 1 if false else 0
    code = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(code)
    fprog = struct.pack("HL", len(program), ctypes.addressof(buffer))
    udp_filter.keep = buffer  # the kernel copies it at attach; kept alive until then
    return fprog


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


def key_end(sniffer, after, digit_code, rtp=CALLER_RTP):
    """Kernel time of the first RFC 4733 end packet of `digit_code` the caller sent after `after`
    (a caller phone: its RTP ports, `rtp`)."""
    for stamp, src, _, payload in sniffer.since(after):
        if src in rtp and len(payload) >= 16 and payload[0] >> 6 == 2:
            event = payload[12 + 4 * (payload[0] & 0x0F):]
            if (payload[1] & 0x7F) not in (0, 8) and len(event) >= 4 and event[0] == digit_code and event[1] & 0x80:
                return stamp
    return None


def next_prompt(sniffer, t_end, rtp=CALLER_RTP):
    """(first packet, first voiced packet) to the caller of what plays after the sound that
    was playing at `t_end` stopped: Asterisk stops sending when a prompt is cut, so the next
    prompt starts after a pause in the packets (or, without one, after an unvoiced packet)."""
    gap_seen, last, first_packet = False, t_end, None
    for stamp, _, dst, payload in sniffer.since(t_end):
        if dst not in rtp:
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


def is_audio(payload):
    """An RTP packet of G.711 audio (payload type 0 or 8), told without decoding it."""
    return len(payload) > 12 and payload[0] >> 6 == 2 and payload[1] & 0x7F in (0, 8)


def caller_audio(sniffer, after):
    """Kernel times of the audio packets that reached the caller's phone after `after`."""
    return [stamp for stamp, _, dst, payload in sniffer.since(after) if dst in CALLER_RTP and is_audio(payload)]


def pause_after(sniffer, after, min_gap):
    """The last audio packet to the caller before the first pause of `min_gap` seconds or more
    that starts after `after` (Asterisk sends nothing while it waits for a key): None while
    the caller is still hearing something. A pause still going on is told by the packets the
    caller's phone sends meanwhile (every 20 ms), not by the clock: the packets are read in a
    thread that may lag behind on a busy machine."""
    stamps, sent = [], None
    for stamp, src, dst, payload in sniffer.since(after):
        if dst in CALLER_RTP and is_audio(payload):
            stamps.append(stamp)
        elif src in CALLER_RTP:
            sent = stamp
    for before, later in zip(stamps, stamps[1:]):
        if later - before >= min_gap:
            return before
    if stamps and sent is not None and sent - stamps[-1] >= min_gap:
        return stamps[-1]
    return None


def longest_gap(sniffer, start, end):
    """The longest stretch, in seconds, between `start` and `end` in which no audio reached the caller."""
    stamps = [start] + [s for s in caller_audio(sniffer, start) if s <= end] + [end]
    return max(later - before for before, later in zip(stamps, stamps[1:]))


def first_voiced(sniffer, after, rtp=CALLER_RTP):
    """The first packet after `after` that brought a caller's phone (its RTP ports, `rtp`) a
    sound (not silence)."""
    for stamp, _, dst, payload in sniffer.since(after):
        level = rtp_level(payload) if dst in rtp else None
        if level and level[0] in (0, 8) and level[1] > VOICED_RMS:
            return stamp
    return None
