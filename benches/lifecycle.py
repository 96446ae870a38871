#!/usr/bin/env python3
"""A process's life under load, against the real `ivr serve` at README's default
configuration (statistics on, SQLite `ivr.sqlite3`, default log level), started the way
deploy/ivr.socket starts it: the listening socket is held here and passed as LISTEN_FDS,
so it outlives each process.

  python3 benches/lifecycle.py BINARY [kill9|kill9-outage|restart|idle] ... [--seconds N] [--idle N]

--seconds: how long the load runs (default 30; the kill or SIGTERM comes at a third of it);
--idle: connections held in `idle` (default 5,000). Small values make a quick check.

- kill9: calls at 60 calls/s, `kill -9` mid-load, a new process started at once (as
  systemd's Restart=always does) replays the spool: answered flow records missing from the
  database, and how many of those were answered more than 200 ms before the kill (the
  promise: none).
- kill9-outage: the same while another process holds SQLite's write lock (an outage).
- restart: calls at 60 calls/s, each ended by its status callback, SIGTERM mid-load, the
  next process started when the first exits (as `systemctl restart` does): webhooks that
  failed, and ends not linked to their call (a status callback keyed before the next
  process read the day's shared key makes a row of its own, without a start).
- idle: 5,000 connections held (half sending a slow request), then real calls timed.

Each call is a new call's webhook then a key press every second (language, a topic, the
main menu...), five webhooks a call; an answered webhook's record key (call id, step) is
read from the state in the action URL it returns.
"""
import argparse, os, re, resource, signal, socket, sqlite3, subprocess, tempfile, threading, time
import http.client, urllib.parse
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATE = 60  # calls per second
KEYS = ["1", "2", "*", "1"]  # after the incoming call: language, topic, repeat, topic


class Service:
    def __init__(self, binary, workdir, sock):
        self.binary, self.workdir, self.sock, self.proc = binary, workdir, sock, None

    def start(self):
        env = dict(os.environ)
        env.update(IVR_FLOW=f"{ROOT}/flows/hotline.toml", IVR_PROMPTS=f"{ROOT}/prompts",
                   IVR_PUBLIC_URL="http://ivr.bench", IVR_OPERATOR_NUMBER="+77170000111")
        # The socket becomes descriptor 3 in the child, as systemd passes it; LISTEN_PID is
        # the child's own pid (the shell's, which `exec` keeps).
        fd = self.sock.fileno()
        move = "" if fd == 3 else f"exec 3<&{fd} {fd}<&-; "
        script = move + 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" serve'
        with open(os.path.join(self.workdir, "log"), "a") as log:
            self.proc = subprocess.Popen(["bash", "-c", script, self.binary], cwd=self.workdir, env=env,
                                         pass_fds=(fd,), stderr=log)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self):
        return self.proc.wait()


def post(conn_holder, path, params):
    """One webhook on the call's kept-alive connection (a new one after `Connection: close`)."""
    body = urllib.parse.urlencode(params)
    conn = conn_holder.get("c") or http.client.HTTPConnection(*conn_holder["addr"], timeout=30)
    conn_holder["c"] = conn
    try:
        conn.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        text = resp.read().decode()
        if resp.getheader("connection", "").lower() == "close":
            conn.close(); conn_holder["c"] = None
        return resp.status, text
    except (ConnectionError, http.client.HTTPException, OSError) as e:
        conn.close(); conn_holder["c"] = None
        return None, repr(e)


def record_key(twiml):
    # The state in the URL: c= the call id, q= the step counter (the record's seq).
    m = re.search(r'action="[^"]*\?c=([0-9a-f]{16})&amp;[^"]*?&amp;q=(\d+)', twiml)
    if not m:
        return None
    call = int(m.group(1), 16)
    call = call - (1 << 64) if call >= 1 << 63 else call
    return (call, int(m.group(2)))


class Load:
    def __init__(self, addr, hang_up=False):
        self.addr, self.hang_up = addr, hang_up
        self.answered, self.failed, self.lock = [], [], threading.Lock()
        self.stop = threading.Event()

    def call(self, n):
        holder = {"addr": self.addr}
        sid = f"CA{n:032x}"
        fields = [("CallSid", sid), ("From", f"+7701{n % 10_000_000:07d}"), ("To", "111"), ("CallStatus", "ringing")]
        status, text = post(holder, "/twilio/voice", fields)
        for key in [None] + KEYS:
            if key is not None:
                m = re.search(r'<Gather[^>]*action="http://ivr\.bench([^"]+)"', text or "")
                if not m or self.stop.is_set():
                    return
                time.sleep(1)
                status, text = post(holder, m.group(1).replace("&amp;", "&"), fields + [("Digits", key)])
            self.note(status, text, record_key(text))
        if self.hang_up:
            ended = [("CallSid", sid), ("From", fields[1][1]), ("To", "111"), ("CallStatus", "completed"),
                     ("CallDuration", str(len(KEYS) + 1))]
            status, text = post(holder, "/twilio/status", ended)
            self.note(status if status != 204 else 200, text, None)

    def note(self, status, text, key):
        at = time.monotonic()
        with self.lock:
            if status == 200:
                self.answered.append((at, key))
            else:
                self.failed.append((at, status, (text or "")[:80]))

    def run(self, seconds):
        with ThreadPoolExecutor(max_workers=RATE * 8) as pool:
            start = time.monotonic()
            n = 0
            while time.monotonic() - start < seconds and not self.stop.is_set():
                pool.submit(self.call, n)
                n += 1
                time.sleep(max(0, start + n / RATE - time.monotonic()))
            self.stop.set()
        return n


def stored_keys(workdir):
    db = sqlite3.connect(os.path.join(workdir, "ivr.sqlite3"))
    keys = set(db.execute("SELECT call_id, seq FROM call_steps"))
    db.close()
    return keys


def ends_alone(workdir):
    """Calls with a start, and ends that made a row of their own (not linked to their call)."""
    db = sqlite3.connect(os.path.join(workdir, "ivr.sqlite3"))
    started, alone = db.execute("SELECT COUNT(started_at), COUNT(*) - COUNT(started_at) FROM calls").fetchone()
    db.close()
    return started, alone


def spool_empty(workdir):
    d = os.path.join(workdir, "data", "spool")
    return not os.path.isdir(d) or all(os.path.getsize(os.path.join(d, f)) == 0 for f in os.listdir(d))


def listening_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0)); s.listen(4096)
    return s


def kill9(binary, outage, seconds):
    work = tempfile.mkdtemp(prefix="ivr-kill9-")
    sock = listening_socket()
    svc = Service(binary, work, sock); svc.start()
    load = Load(sock.getsockname())
    t = threading.Thread(target=load.run, args=(seconds,)); t.start()
    time.sleep(seconds / 3)
    blocker = None
    if outage:
        blocker = sqlite3.connect(os.path.join(work, "ivr.sqlite3"), isolation_level=None, timeout=30)
        blocker.execute("BEGIN EXCLUSIVE")
        time.sleep(3)
    svc.signal(signal.SIGKILL); killed = time.monotonic(); svc.wait()
    svc = Service(binary, work, sock); svc.start()
    load.stop.set(); t.join()
    if blocker:
        blocker.execute("ROLLBACK"); blocker.close()
    answered = [(at, k) for at, k in load.answered if at < killed and k]
    deadline = time.time() + 60
    while time.time() < deadline and not spool_empty(work):
        time.sleep(0.2)
    time.sleep(0.5)
    svc.signal(signal.SIGTERM); svc.wait()
    stored = stored_keys(work)
    lost = [at for at, k in answered if k not in stored]
    promised = [at for at in lost if at < killed - 0.2]
    print(f"kill -9{' during an outage (write lock held 3 s)' if outage else ''}: {len(answered)} flow records "
          f"answered before the kill, {len(lost)} not in the database after the restart "
          f"({len(promised)} of them answered more than 200 ms before the kill)")
    return len(lost)


def restart(binary, seconds):
    work = tempfile.mkdtemp(prefix="ivr-restart-")
    sock = listening_socket()
    svc = Service(binary, work, sock); svc.start()
    load = Load(sock.getsockname(), hang_up=True)
    t = threading.Thread(target=load.run, args=(seconds,)); t.start()
    time.sleep(seconds / 3)
    svc.signal(signal.SIGTERM); signalled = time.monotonic(); svc.wait(); exited = time.monotonic()
    svc = Service(binary, work, sock); svc.start()
    t.join()
    time.sleep(6)
    svc.signal(signal.SIGTERM); svc.wait()
    started, alone = ends_alone(work)
    print(f"restart (SIGTERM, drain, next process on the same socket): {len(load.answered)} webhooks answered, "
          f"{len(load.failed)} failed; the first process exited {exited - signalled:.1f} s after SIGTERM; "
          f"{alone} ends not linked to their call ({started} calls started)")
    for failure in load.failed[:5]:
        print("  failed:", failure)
    return len(load.failed)


def idle(binary, connections):
    work = tempfile.mkdtemp(prefix="ivr-idle-")
    sock = listening_socket()
    svc = Service(binary, work, sock); svc.start()
    addr = sock.getsockname()
    held = []
    for i in range(connections):
        s = socket.create_connection(addr)
        if i % 2 == 0:
            s.sendall(b"POST /twilio/voice HTTP/1.1\r\nHost: x\r\n")
        held.append(s)
    times = []
    for n in range(200):
        holder = {"addr": addr}
        started = time.perf_counter()
        status, _ = post(holder, "/twilio/voice", [("CallSid", f"CA{n:032x}"), ("From", "+77010000000")])
        times.append((time.perf_counter() - started) * 1000)
        assert status == 200, status
    times.sort()
    print(f"{connections:,} idle/slow connections held: 200 real calls, p50 {times[100]:.1f} ms, p99 {times[197]:.1f} ms, "
          f"max {times[-1]:.1f} ms")
    for s in held:
        s.close()
    svc.signal(signal.SIGTERM); svc.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("what", nargs="*", help="kill9, kill9-outage, restart, idle (default: all)")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--idle", type=int, default=5000)
    args = parser.parse_args()
    # Thousands of held connections need as many descriptors here (the service raises its own).
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    binary = os.path.abspath(args.binary)
    runs = {"kill9": lambda: kill9(binary, False, args.seconds),
            "kill9-outage": lambda: kill9(binary, True, args.seconds),
            "restart": lambda: restart(binary, args.seconds),
            "idle": lambda: idle(binary, args.idle)}
    for what in args.what or list(runs):
        if what not in runs:
            parser.error(f"unknown run {what!r}: one of {', '.join(runs)}")
        runs[what]()
