#!/usr/bin/env python3
"""Draws docs/grafana/dashboard.png from a real run of the server, without Grafana.

    python3 docs/grafana/render.py              # build, run ~85 s of load, draw
    python3 docs/grafana/render.py --replay target/grafana-render/scrapes.json

What it does:

1. Builds the release binaries (`cargo build --release -p imstatus-server -p imstatus-bench`;
   cargo does nothing when they are up to date).
2. Starts `target/release/imstatus serve` with a temporary data directory, a fixed admin token
   and three apps: one for `imstatus-bench run --workload fanout` (custom statuses fanned out to
   watchers at rising, then falling rates), one for `imstatus-bench run --workload churn-verify`
   (flaps, re-logins, custom statuses), and one for the small wire-protocol clients here (logins
   and logouts, abrupt closes, kicks, heartbeat timeouts, refused logins, requests refused with
   an error, a watcher that reads in bursts (its pushes wait and are coalesced), and clients
   that stop reading until they are closed as slow consumers). The
   churn and wire apps have a state-change callback URL: a small HTTP receiver here that
   answers 200, sometimes slowly, with 500 or with 400, is slow for a while and down for a
   while, so that callbacks are retried, time out, are rejected, queue up and are dropped.
3. Scrapes GET /metrics every second, then evaluates what each panel of
   docs/grafana/imstatus.json shows: rate() over a sliding window (RATE_WINDOW, what
   $__rate_interval is with a short scrape interval; without Prometheus' extrapolation to the
   window's edges), sums by label, and histogram_quantile() by linear interpolation inside the
   bucket, as Prometheus does.
4. Draws those panels (titles, units, legends and colours from the dashboard file) into a
   dark, Grafana-like grid: the stat panels in one line, then the time series in lines of
   at most six.

Needs Python 3 and matplotlib; without matplotlib it makes a virtual environment under
target/grafana-venv, installs it there with pip and runs itself again with it. The load is kept
modest (a few thousand deliveries a second at most): it runs on shared 2-core machines. A docs
tool, not run in CI.
"""

import argparse
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "docs" / "grafana" / "imstatus.json"
OUT = ROOT / "docs" / "grafana" / "dashboard.png"
WORK = ROOT / "target" / "grafana-render"
VENV = ROOT / "target" / "grafana-venv"
IMSTATUS = ROOT / "target" / "release" / "imstatus"
BENCH = ROOT / "target" / "release" / "imstatus-bench"

ADMIN_TOKEN = "render-admin-token"
FANOUT_APP, FANOUT_KEY = 1400000001, "render-fanout-key"
CHURN_APP, CHURN_KEY = 1400000002, "render-churn-key"
WIRE_APP, WIRE_KEY = 1400000003, "render-wire-key"
UNKNOWN_APP = 1400009999

RUN_SECONDS = 80
RATE_WINDOW = 10.0
PLATFORMS = ["Android", "iPhone", "iPad", "Windows", "Mac", "Linux", "Web"]
MOODS = ["in a meeting", "listening to music", "on the train", "lunch", "focus time", "away",
         "commuting", "gaming", "at the gym", "brb"]


def ensure_matplotlib():
    """Imports matplotlib, or installs it into target/grafana-venv and runs this script there."""
    try:
        import matplotlib  # noqa: F401
        return
    except ImportError:
        pass
    python = VENV / "bin" / "python"
    if Path(sys.prefix).resolve() == VENV.resolve():
        sys.exit("matplotlib is missing from the venv at %s" % VENV)
    if not python.exists():
        print("matplotlib is missing: installing it into %s" % VENV, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "matplotlib"], check=True)
    os.execv(str(python), [str(python), str(Path(__file__).resolve())] + sys.argv[1:])


# --------------------------------------------------------------------------- the wire protocol

def read_frame(sock):
    """One frame as a dict, or None when the connection is closed."""
    head = recv_exactly(sock, 4)
    if head is None:
        return None
    body = recv_exactly(sock, struct.unpack(">I", head)[0])
    return None if body is None else json.loads(body)


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        try:
            chunk = sock.recv(n - len(data))
        except (OSError, ValueError):
            return None
        if not chunk:
            return None
        data += chunk
    return data


class Conn:
    """A client connection: 4-byte big-endian length + JSON frames (docs/protocol.md). A reader
    thread takes replies and pushes as they come, so the server never waits on us."""

    def __init__(self, addr, read=True, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect(addr)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.next_id = 1
        self.replies = {}
        self.pushes = 0
        self.kicked = False
        self.closed = False
        self.cv = threading.Condition()
        self.send_lock = threading.Lock()
        if read:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            frame = read_frame(self.sock)
            if frame is None:
                break
            with self.cv:
                if frame.get("type") in ("ok", "error"):
                    self.replies[frame.get("id", 0)] = frame
                    self.cv.notify_all()
                else:
                    self.pushes += 1
                    self.kicked |= frame.get("type") == "kicked"
        with self.cv:
            self.closed = True
            self.cv.notify_all()

    def send(self, op, **fields):
        with self.send_lock:
            rid = self.next_id
            self.next_id += 1
            body = json.dumps(dict(id=rid, op=op, **fields)).encode()
            self.sock.sendall(struct.pack(">I", len(body)) + body)
            return rid

    def request(self, op, timeout=5.0, **fields):
        """The reply to one request, or None when the connection closed or nothing came."""
        try:
            rid = self.send(op, **fields)
        except OSError:
            return None
        deadline = time.monotonic() + timeout
        with self.cv:
            while rid not in self.replies and 0 not in self.replies and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cv.wait(left)
            return self.replies.pop(rid, None) or self.replies.get(0)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def ok(reply):
    return reply is not None and reply.get("type") == "ok"


class Sigs:
    """UserSigs made by `imstatus usersig`."""

    def __init__(self):
        self.cache = {}

    def get(self, user, app=WIRE_APP, key=WIRE_KEY, expire=3600):
        if (user, app, key, expire) not in self.cache:
            out = subprocess.run(
                [str(IMSTATUS), "usersig", "--app-id", str(app), "--key", key, "--user", user,
                 "--expire", str(expire)], check=True, capture_output=True, text=True)
            self.cache[(user, app, key, expire)] = out.stdout.strip()
        return self.cache[(user, app, key, expire)]


# --------------------------------------------------------------------------- the wire clients

class WireLoad:
    """The clients of the third app: regulars who stay and change their custom status, churners
    who come and go, kicks, silent devices that time out, refused requests, a watcher that reads
    in bursts; and slow consumers of the fanout app."""

    def __init__(self, addr, sigs, t0):
        self.addr, self.sigs, self.t0 = addr, sigs, t0
        self.stop = threading.Event()
        self.rng = random.Random(7)
        self.regulars = ["p%d" % i for i in range(16)]
        self.churners = ["c%d" % i for i in range(24)]
        self.conns = {}  # regular -> Conn
        self.lock = threading.Lock()
        self.stats = {"slow_closed": [], "kicks": 0, "refused": 0, "silent": 0}
        self.threads = []
        # Made now, expired by the time it is used.
        self.expired_sig = sigs.get("latecomer", expire=1)
        for user in self.regulars + self.churners + ["errand", "intruder", "stranger", "laggard"]:
            sigs.get(user)
        self.bad_sig = sigs.get("intruder", key="not-the-key")

    def login(self, user, platform=None, device=None, **conn_args):
        conn = Conn(self.addr, **conn_args)
        if not ok(conn.request("hello", version=1)):
            conn.close()
            return None
        reply = conn.request("login", sdk_app_id=WIRE_APP, user_id=user,
                             user_sig=self.sigs.get(user),
                             platform=platform or self.rng.choice(PLATFORMS),
                             device_id=device or "%s-%08x" % (user, self.rng.getrandbits(32)))
        if not ok(reply):
            conn.close()
            return None
        return conn

    def start(self):
        for i, user in enumerate(self.regulars):
            self.spawn(self.regular, user, i)
        self.spawn(self.churn)
        self.spawn(self.kicker)
        self.spawn(self.errors)
        self.spawn(self.director)
        self.spawn(self.laggard)

    def spawn(self, fn, *args):
        thread = threading.Thread(target=fn, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)
        with self.lock:
            for conn in self.conns.values():
                conn.close()

    def elapsed(self):
        return time.monotonic() - self.t0

    def regular(self, user, i):
        rng = random.Random(i)
        platform = PLATFORMS[i % len(PLATFORMS)]
        device = "%s-main" % user
        watched = rng.sample([u for u in self.regulars if u != user], 8) + rng.sample(self.churners, 4)
        last_beat = 0.0
        while not self.stop.is_set():
            with self.lock:
                conn = self.conns.get(user)
            if conn is None or conn.closed:
                conn = self.login(user, platform, device)
                if conn is None:
                    self.stop.wait(1)
                    continue
                conn.request("subscribe", user_ids=watched)
                with self.lock:
                    self.conns[user] = conn
            self.stop.wait(rng.uniform(0.8, 2.5))
            roll = rng.random()
            if roll < 0.45:
                conn.request("set_self_status", custom_status=rng.choice(MOODS))
            elif roll < 0.5:
                conn.request("set_self_status", custom_status="")
            elif roll < 0.65:
                conn.request("get_user_status", user_ids=rng.sample(self.regulars, 5))
            elif roll < 0.75:
                gone = rng.sample(watched, 2)
                conn.request("unsubscribe", user_ids=gone)
                conn.request("subscribe", user_ids=gone)
            if time.monotonic() - last_beat > 2.0:
                conn.request("heartbeat")
                last_beat = time.monotonic()

    def churn(self):
        rng = random.Random(11)
        online = {}
        while not self.stop.wait(rng.uniform(0.15, 0.5)):
            user = rng.choice(self.churners)
            conn = online.pop(user, None)
            if conn is None or conn.closed:
                conn = self.login(user)
                if conn is not None:
                    conn.request("subscribe", user_ids=rng.sample(self.regulars, 4))
                    if rng.random() < 0.5:
                        conn.request("set_self_status", custom_status=rng.choice(MOODS))
                    online[user] = conn
            elif rng.random() < 0.5:
                conn.request("logout")
                conn.close()
            else:
                conn.close()  # the connection just goes: a disconnect
            for other in list(online.values()):
                if other.closed:
                    continue
                if rng.random() < 0.1:
                    other.send("heartbeat")
        for conn in online.values():
            conn.close()

    def kicker(self):
        """Every 10 s a regular logs in on the same platform from another device, which takes
        the place of the first (one instance per platform)."""
        rng = random.Random(13)
        while not self.stop.wait(10):
            i = rng.randrange(len(self.regulars))
            user = self.regulars[i]
            platform = PLATFORMS[i % len(PLATFORMS)]
            conn = self.login(user, platform, "%s-new-%d" % (user, rng.getrandbits(16)))
            if conn is None:
                continue
            with self.lock:
                old = self.conns.get(user)
                self.conns[user] = conn
            self.stats["kicks"] += 1
            if old is not None:
                threading.Timer(3, old.close).start()

    def errors(self):
        """Something refused every 2 s: logins with a bad, an expired or another app's UserSig,
        a query too large, a burst of heartbeats, a request before logging in."""
        errand = None
        step = 0
        while not self.stop.wait(2):
            step += 1
            kind = step % 6
            try:
                if kind in (0, 1, 2):
                    conn = Conn(self.addr)
                    conn.request("hello", version=1)
                    app, user, sig = [
                        (WIRE_APP, "intruder", self.bad_sig),
                        (WIRE_APP, "latecomer", self.expired_sig),
                        (UNKNOWN_APP, "stranger", self.sigs.get("stranger")),
                    ][kind]
                    conn.request("login", sdk_app_id=app, user_id=user, user_sig=sig,
                                 platform="Web", device_id="refused-%d" % step)
                    conn.close()
                    self.stats["refused"] += 1
                elif kind == 5:
                    conn = Conn(self.addr)
                    conn.request("hello", version=1)
                    conn.request("heartbeat")  # not logged in: 6014
                    conn.close()
                else:
                    if errand is None or errand.closed:
                        errand = self.login("errand", "Web", "errand")
                    if errand is None:
                        continue
                    if kind == 3:
                        errand.request("get_user_status", user_ids=["u%d" % i for i in range(501)])
                    else:
                        for _ in range(16):
                            errand.send("heartbeat")
            except OSError:
                pass
        if errand is not None:
            errand.close()

    def director(self):
        """Silent devices (they time out) and slow consumers, at set times."""
        plan = [(8, self.silent, 3), (35, self.slow_consumer, "slowpoke1"),
                (45, self.silent, 2), (62, self.slow_consumer, "slowpoke2")]
        for at, fn, arg in plan:
            if self.stop.wait(max(0, at - self.elapsed())):
                return
            self.spawn(fn, arg)

    def silent(self, count):
        """Devices that log in and then send nothing: closed after the app's heartbeat timeout."""
        conns = [self.login("quiet%d" % self.rng.getrandbits(20)) for _ in range(count)]
        self.stats["silent"] += sum(c is not None for c in conns)
        self.stop.wait(30)
        for conn in conns:
            if conn is not None:
                conn.close()

    def laggard(self):
        """A watcher that reads in bursts: large answers fill the socket's buffers until the
        server, stuck writing, reads no more; then it reads nothing for 5 s while the pushes for
        the users it watches wait in its outbox, a newer status of a user taking the place of
        the older one (coalesced); then it reads everything."""
        user = "laggard"
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(self.addr)
        sock.settimeout(5)
        rid = 0
        pending = bytearray()  # what the socket did not take yet: frames are never cut

        def queue(op, **fields):
            nonlocal rid
            rid += 1
            body = json.dumps(dict(id=rid, op=op, **fields)).encode()
            pending.extend(struct.pack(">I", len(body)) + body)
            return rid

        def flush():
            """Sends what the socket takes now; answers whether everything went."""
            while pending:
                try:
                    sent = sock.send(pending, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    return False
                del pending[:sent]
            return True

        def reply(wanted):
            flush()
            while True:
                frame = read_frame(sock)
                if frame is None or frame.get("id") == wanted:
                    return frame

        try:
            reply(queue("hello", version=1))
            if not ok(reply(queue("login", sdk_app_id=WIRE_APP, user_id=user,
                                  user_sig=self.sigs.get(user), platform="Mac", device_id=user))):
                return
            reply(queue("subscribe", user_ids=self.regulars + self.churners))
            ghosts = self.regulars + ["ghost%d" % i for i in range(484)]
            while not self.stop.is_set():
                queue("heartbeat")
                # Loopback's socket buffers grow to megabytes: twenty answers of 40 KB went
                # straight into them, nothing waited in the outbox and nothing was coalesced.
                # Hundreds of them fill the buffers, and the server stops reading meanwhile.
                for _ in range(300):
                    queue("get_user_status", user_ids=ghosts)
                    if not flush():
                        break
                    time.sleep(0.002)
                if self.stop.wait(5):
                    break
                sock.settimeout(0.3)
                try:
                    while sock.recv(65536):
                        flush()
                except socket.timeout:
                    pass
                sock.settimeout(5)
        except OSError:
            pass
        finally:
            sock.close()

    def slow_consumer(self, user):
        """A client of the fanout app that watches 200 of its busy users, asks for large answers
        and reads nothing: once the socket's buffers are full, what is queued for it waits in its
        outbox (a push per user, coalesced) until that is more than the server allows ([limits]
        outbox_max_entries, outbox_max_bytes), and it is closed as a slow consumer."""
        sig = self.sigs.get(user, app=FANOUT_APP, key=FANOUT_KEY)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(self.addr)
        sock.settimeout(5)
        started = time.monotonic()

        def send(rid, op, **fields):
            body = json.dumps(dict(id=rid, op=op, **fields)).encode()
            sock.sendall(struct.pack(">I", len(body)) + body)

        def reply(rid):
            while True:
                frame = read_frame(sock)
                if frame is None or frame.get("id") == rid:
                    return frame

        try:
            send(1, "hello", version=1)
            reply(1)
            send(2, "login", sdk_app_id=FANOUT_APP, user_id=user, user_sig=sig,
                 platform="Android", device_id=user)
            if not ok(reply(2)):
                return
            for rid, first in [(3, 0), (4, 100)]:
                send(rid, "subscribe", user_ids=["u%d" % i for i in range(first, first + 100)])
                reply(rid)
            # From here on nothing is read. Large answers fill the socket's buffers until the
            # server, stuck writing, reads no more (a send times out); then nothing but a
            # heartbeat a second, and the pushes for the watched users pile up (coalesced: no reply
            # comes between them) in the outbox. A send fails once the server closed.
            started = time.monotonic()
            rid = 5
            everyone = ["u%d" % i for i in range(500)]
            sock.settimeout(1)
            stuck = False
            while time.monotonic() - started < 30 and not self.stop.is_set():
                try:
                    if stuck:
                        send(rid, "heartbeat")
                    else:
                        send(rid, "get_user_status", user_ids=everyone)
                    rid += 1
                except socket.timeout:
                    stuck = True
                self.stop.wait(1 if stuck else 0.1)
        except OSError:
            self.stats["slow_closed"].append(round(time.monotonic() - started, 1))
        finally:
            sock.close()


# --------------------------------------------------------------------------- the webhook receiver

class Receiver:
    """The apps' backend for state-change callbacks: HTTP/1.1 on a loopback port, a thread per
    connection. Mostly a quick 200; now and then a 500 (retried), a 400 (rejected, not retried)
    or a 6 s wait (past the server's 5 s timeout). From SLOW_AT it is slow for 10 s (answers
    take 0.5-1.5 s, so that callbacks queue behind the server's 8 requests in flight per app);
    from DOWN_AT it answers 503 to everything for 10 s (more than the server's 4 attempts take,
    so some callbacks are dropped)."""

    SLOW_AT, DOWN_AT, SPELL = 30, 55, 10

    def __init__(self, t0):
        self.t0 = t0
        self.rng = random.Random(17)
        self.lock = threading.Lock()
        self.stats = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, wait = receiver.decide()
                if wait:
                    time.sleep(wait)
                body = b'{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the server gave up waiting: a timeout

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/im/state-change" % self.server.server_address[1]

    def decide(self):
        """(status, seconds to wait before answering) for the next request."""
        t = time.monotonic() - self.t0
        with self.lock:
            roll = self.rng.random()
            if self.DOWN_AT <= t < self.DOWN_AT + self.SPELL:
                status, wait = 503, 0.0
            elif roll < 0.01:
                status, wait = 200, 6.0
            elif roll < 0.04:
                status, wait = 500, 0.0
            elif roll < 0.05:
                status, wait = 400, 0.0
            elif self.SLOW_AT <= t < self.SLOW_AT + self.SPELL:
                status, wait = 200, self.rng.uniform(0.5, 1.5)
            else:
                status, wait = 200, self.rng.uniform(0.002, 0.03)
            self.stats[status] = self.stats.get(status, 0) + 1
        return status, wait

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- the run

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(admin):
    request = urllib.request.Request("http://%s/metrics" % admin,
                                     headers={"Authorization": "Bearer " + ADMIN_TOKEN})
    with urllib.request.urlopen(request, timeout=2) as answer:
        return answer.read().decode()


def run_load():
    """Runs the server and the load; answers the scrapes as [(unix time, text)]."""
    print("building the release binaries (cargo does nothing if they are fresh)", flush=True)
    subprocess.run(["cargo", "build", "--release", "-p", "imstatus-server", "-p", "imstatus-bench"],
                   cwd=ROOT, check=True)
    WORK.mkdir(parents=True, exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="imstatus-render-"))
    port, admin_port = free_port(), free_port()
    addr, admin = ("127.0.0.1", port), "127.0.0.1:%d" % admin_port
    config = data / "imstatus.toml"
    generous = "\n".join("%s = { calls = 100000, window = \"1s\" }" % rate for rate in
                         ["query_rate", "subscribe_rate", "unsubscribe_rate", "set_status_rate"])
    t0 = time.monotonic()
    receiver = Receiver(t0)
    receiver.start()
    apps = ""
    for app, key, timeout, hooked in [(FANOUT_APP, FANOUT_KEY, "30s", False),
                                      (CHURN_APP, CHURN_KEY, "30s", True),
                                      (WIRE_APP, WIRE_KEY, "8s", True)]:
        apps += ('\n[[app]]\nsdk_app_id = %d\nsecret_key = "%s"\nstatus_enabled = true\n'
                 'heartbeat_timeout = "%s"\nsubscription_limit = 200\n%s\n'
                 % (app, key, timeout, generous))
        if hooked:
            apps += ('state_change_callback_url = "%s"\nstate_change_callback_secret = "%s"\n'
                     % (receiver.url, "render-callback-secret"))
    config.write_text(
        'listen = "127.0.0.1:%d"\nadmin_listen = "%s"\nadmin_token = "%s"\ndata_dir = "%s"\n\n'
        "[limits]\n# Every client here connects from 127.0.0.1.\n"
        "max_unauthenticated_per_ip = 10000\n"
        "# Fewer waiting pushes than the default 8192, so that a client watching 200 busy users\n"
        "# and reading nothing is closed as a slow consumer within seconds.\n"
        "outbox_max_entries = 100\n%s" % (port, admin, ADMIN_TOKEN, data / "data", apps))
    log = open(WORK / "server.log", "w")
    server = subprocess.Popen([str(IMSTATUS), "--log-format", "json", "serve", "--config", str(config)],
                              stdout=log, stderr=log, env=dict(os.environ, IMSTATUS_LOG="info"))
    benches = []
    load = None
    scrapes = []
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen("http://%s/v1/health/ready" % admin, timeout=1) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start: see %s" % (WORK / "server.log"))
            time.sleep(0.1)
        print("server %d on %s, admin on %s; %d s of load" % (server.pid, addr, admin, RUN_SECONDS),
              flush=True)

        stop_scraping = threading.Event()

        def scraper():
            next_at = time.monotonic()
            while not stop_scraping.is_set():
                try:
                    scrapes.append((time.time(), scrape(admin)))
                except OSError as e:
                    print("scrape failed: %s" % e, flush=True)
                next_at += 1.0
                stop_scraping.wait(max(0, next_at - time.monotonic()))

        t0 = receiver.t0 = time.monotonic()
        scraping = threading.Thread(target=scraper, daemon=True)
        scraping.start()
        load = WireLoad(addr, Sigs(), t0)
        load.start()

        def bench(args, name):
            out = open(WORK / ("%s.jsonl" % name), "w")
            cmd = [str(BENCH), "run", "--system", "imstatus", "--addr", "%s:%d" % addr,
                   "--server-pid", str(server.pid), "--heartbeat", "5", "--detect-timeout", "30",
                   "--connect-concurrency", "32"] + args
            benches.append((name, subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, text=True)))

        # The fanout outlasts the scrapes: the picture ends on a live server.
        time.sleep(3)
        bench(["--workload", "fanout", "--n", "600", "--k", "20", "--rates", "40,120,240,160,80",
               "--duration", "15", "--no-stop-on-fail", "--app-id", str(FANOUT_APP),
               "--key", FANOUT_KEY], "fanout")
        time.sleep(max(0, 25 - (time.monotonic() - t0)))
        bench(["--workload", "churn-verify", "--n", "300", "--k", "10", "--churn-rate", "30",
               "--duration", "25", "--app-id", str(CHURN_APP), "--key", CHURN_KEY], "churn-verify")
        time.sleep(max(0, RUN_SECONDS - (time.monotonic() - t0)))
        stop_scraping.set()
        scraping.join()
        load.finish()
        print("wire clients: %s" % load.stats, flush=True)
        print("webhook receiver answers: %s" % dict(sorted(receiver.stats.items())), flush=True)
        for name, process in benches:
            _, err = process.communicate(timeout=120)
            print("%s: %s" % (name, err.strip().replace("\n", "\n  ")), flush=True)
    finally:
        for _, process in benches:
            if process.poll() is None:
                process.kill()
        if load is not None:
            load.stop.set()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        # After the server: it sends what is queued before it exits.
        receiver.stop()
        shutil.rmtree(data, ignore_errors=True)
    return scrapes


# --------------------------------------------------------------------------- the queries

LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        if m:
            labels = tuple(sorted(LABEL.findall(m.group(2) or "")))
            samples[(m.group(1), labels)] = float(m.group(3))
    return samples


class Prom:
    """Just enough of PromQL over the scrapes for the dashboard's panels."""

    def __init__(self, scrapes):
        self.times = [t for t, _ in scrapes]
        self.samples = [parse(text) for _, text in scrapes]
        self.series = {}
        for i, samples in enumerate(self.samples):
            for key, value in samples.items():
                self.series.setdefault(key, [None] * len(self.times))[i] = value

    def select(self, name, where):
        for (metric, labels), values in self.series.items():
            if metric != name:
                continue
            labels = dict(labels)
            if all(pred(labels.get(label, "")) if callable(pred) else labels.get(label, "") == pred
                   for label, pred in (where or {}).items()):
                yield labels, values

    def sum_by(self, selected, by):
        groups = {}
        for labels, values in selected:
            group = groups.setdefault(tuple(labels.get(label, "") for label in by),
                                      [None] * len(self.times))
            for i, value in enumerate(values):
                if value is not None:
                    group[i] = (group[i] or 0.0) + value
        return groups

    def gauge(self, name, where=None, by=()):
        return self.sum_by(self.select(name, where), by)

    def rate_of(self, values, window):
        out = [None] * len(values)
        for i in range(len(values)):
            points = [(self.times[j], values[j]) for j in range(i + 1)
                      if values[j] is not None and self.times[j] > self.times[i] - window - 0.5]
            if len(points) < 2 or points[-1][0] <= points[0][0]:
                continue
            increase = 0.0
            for (_, a), (_, b) in zip(points, points[1:]):
                increase += b - a if b >= a else b  # a counter reset
            out[i] = increase / (points[-1][0] - points[0][0])
        return out

    def rate(self, name, where=None, by=(), window=RATE_WINDOW):
        return self.sum_by(((labels, self.rate_of(values, window))
                            for labels, values in self.select(name, where)), by)

    def quantile(self, q, name, where=None, by=(), window=RATE_WINDOW):
        buckets = self.rate(name + "_bucket", where, tuple(by) + ("le",), window)
        groups = {}
        for key, values in buckets.items():
            groups.setdefault(key[:-1], []).append((float(key[-1]), values))
        out = {}
        for group, bounds in groups.items():
            bounds.sort()
            out[group] = [bucket_quantile(q, [(le, values[i]) for le, values in bounds])
                          for i in range(len(self.times))]
        return out


def bucket_quantile(q, buckets):
    """Prometheus' histogram_quantile for one point: (upper bound, cumulative rate) pairs."""
    if any(count is None for _, count in buckets) or len(buckets) < 2:
        return None
    if buckets[-1][0] != float("inf"):
        return None
    counts, highest = [], 0.0
    for _, count in buckets:  # monotonic, as Prometheus makes them
        highest = max(highest, count)
        counts.append(highest)
    total = counts[-1]
    if total <= 0:
        return None
    rank = q * total
    b = next(i for i, count in enumerate(counts) if count >= rank)
    if b == len(buckets) - 1:
        return buckets[-2][0]
    if b == 0 and buckets[0][0] <= 0:
        return buckets[0][0]
    start, end, count = 0.0, buckets[b][0], counts[b]
    if b > 0:
        start = buckets[b - 1][0]
        count -= counts[b - 1]
        rank -= counts[b - 1]
    return start + (end - start) * (rank / count)


def legend(groups, fmt, order=None):
    """[(legend, values)] from {label values: values}, legends made like Grafana's {{label}}."""
    items = sorted(groups.items(), key=lambda kv: (
        order.index(kv[0][0]) if order and kv[0][0] in order else 99, kv[0]))
    return [(fmt.format(*key), values) for key, values in items]


def one(groups, name):
    return [(name, values) for values in groups.values()][:1] or [(name, [])]


REASONS = ["login", "logout", "disconnect", "timeout", "kick", "custom"]
RESULTS = ["ok", "failed", "timeout", "retried", "rejected", "dropped"]


def panels_of(p):
    """What each panel of the dashboard shows, by title: [(legend, values per scrape)]."""
    g, r, qn = p.gauge, p.rate, p.quantile
    lat = "imstatus_push_latency_seconds"
    return {
        "Users online": one(g("imstatus_users_online"), "users online"),
        "Devices online": one(g("imstatus_devices_online"), "devices online"),
        "Devices logged in": one(g("imstatus_devices_logged_in"), "devices logged in"),
        "Connections": one(g("imstatus_connections"), "connections"),
        "Subscriptions": one(g("imstatus_subscriptions"), "subscriptions"),
        "Version": legend(g("imstatus_build_info", by=("version",)), "{}"),
        "Online": one(g("imstatus_users_online"), "users online")
        + one(g("imstatus_devices_online"), "devices online")
        + one(g("imstatus_devices_logged_in"), "devices logged in")
        + one(g("imstatus_connections_logged_in"), "connections logged in")
        + one(g("imstatus_connections"), "connections (all apps)"),
        "Subscriptions by app": legend(g("imstatus_subscriptions", by=("app",)), "app {}"),
        "Status changes/s by reason": legend(
            r("imstatus_status_changes_total", by=("reason",)), "{}", REASONS),
        "Notifications/s": legend(r("imstatus_notifications_total", by=("app",)), "app {}"),
        "Commands/s by command": legend(r("imstatus_replies_total", by=("command",)), "{}"),
        "Push latency": one(qn(0.5, lat), "p50") + one(qn(0.9, lat), "p90")
        + one(qn(0.99, lat), "p99"),
        "Push latency p99": one(qn(0.99, lat, window=300), "p99"),
        "Command duration p99 by command": legend(
            qn(0.99, "imstatus_command_duration_seconds", by=("command",)), "{}"),
        "Error replies/s by code": legend(
            r("imstatus_replies_total", where={"code": lambda c: c != "0"}, by=("code",)), "{}"),
        "Rejected logins/s by code": legend(
            r("imstatus_rejected_logins_total", by=("code",)), "{}"),
        "Slow-consumer closes/s": one(r("imstatus_slow_consumer_closes_total"), "closes"),
        "Coalesced pushes/s": one(r("imstatus_coalesced_pushes_total"), "coalesced"),
        "Store commit duration": one(qn(0.5, "imstatus_store_commit_duration_seconds"), "p50")
        + one(qn(0.99, "imstatus_store_commit_duration_seconds"), "p99"),
        "Rows per commit": [("mean", ratio(r("imstatus_store_commit_rows_sum"),
                                           r("imstatus_store_commit_rows_count")))]
        + one(qn(0.99, "imstatus_store_commit_rows"), "p99"),
        "Store commits/s": one(r("imstatus_store_commit_duration_seconds_count"), "commits/s")
        + one(r("imstatus_store_commit_rows_sum"), "rows/s"),
        "Webhook requests/s by result": legend(
            r("imstatus_webhook_requests_total", by=("result",)), "{}", RESULTS),
        "Webhook queue by app": legend(g("imstatus_webhook_queued", by=("app",)), "app {}"),
        "Resident memory": one(g("imstatus_process_resident_memory_bytes"), "imstatus"),
        "CPU": one(r("imstatus_process_cpu_seconds_total"), "imstatus"),
        "Open file descriptors": one(g("imstatus_process_open_fds"), "imstatus"),
        "Cluster nodes": one(g("imstatus_cluster_nodes"), "nodes"),
        "Redis bus errors/s": one(r("imstatus_cluster_bus_errors_total"), "errors"),
        "Resubscribes/s": one(r("imstatus_cluster_resubscribes_total"), "resubscribes"),
        "Reaped devices & lost locks": one(r("imstatus_cluster_reaped_devices_total"), "reaped")
        + one(r("imstatus_cluster_lost_locks_total"), "lost locks"),
    }


def ratio(a, b):
    a = next(iter(a.values()), [])
    b = next(iter(b.values()), [])
    return [x / y if x is not None and y else None for x, y in zip(a, b)]


# --------------------------------------------------------------------------- the drawing

BG, PANEL, BORDER = "#111217", "#181b1f", "#2a2d35"
TEXT, DIM, GRID = "#ccccdc", "#8e8e9e", "#2c3235"
PALETTE = ["#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A6",
           "#705DA0", "#508642", "#CCA300", "#447EBC", "#C15C17"]
NAMED = {"green": "#73BF69", "red": "#F2495C", "orange": "#FF9830", "yellow": "#FADE2A",
         "blue": "#5794F2", "purple": "#B877D9"}


def si(v):
    for scale, suffix in [(1e9, "G"), (1e6, "M"), (1e3, "K")]:
        if abs(v) >= scale:
            return ("%.3g" % (v / scale)) + suffix
    return "%.3g" % v if v else "0"


def fmt(unit, v):
    if v is None:
        return "–"
    if unit == "s":
        if v == 0:
            return "0 s"
        if abs(v) < 1e-3:
            return "%.3g µs" % (v * 1e6)
        if abs(v) < 1:
            return "%.3g ms" % (v * 1e3)
        return "%.3g s" % v
    if unit == "bytes":
        return "%.3g MiB" % (v / 1048576) if v >= 1048576 else "%.3g KiB" % (v / 1024)
    if unit == "percentunit":
        return "%.3g%%" % (v * 100)
    if unit == "ops":
        return si(v) + " ops/s"
    if unit == "reqps":
        return si(v) + " req/s"
    return si(v)


def binary_locator():
    """A locator of ticks at multiples of a power of two KiB, at most five of them."""
    from matplotlib.ticker import Locator

    class Binary(Locator):
        def __call__(self):
            low, high = self.axis.get_view_interval()
            step = 1024.0
            while high / step > 5:
                step *= 2
            return [k * step for k in range(int(low // step), int(high // step) + 1)]

    return Binary()


def layout_of(dashboard):
    """Panels in dashboard order, each with the title of its row."""
    out, row = [], ""
    def walk(panels):
        nonlocal row
        for panel in panels:
            if panel["type"] == "row":
                row = panel["title"]
                walk(panel.get("panels", []))
            else:
                out.append(dict(panel, row=row))
    walk(dashboard["panels"])
    return out


def colour_of(panel, name, index):
    for override in panel["fieldConfig"].get("overrides", []):
        if override["matcher"]["options"] == name:
            for prop in override["properties"]:
                if prop["id"] == "color":
                    return prop["value"]["fixedColor"]
    colour = panel["fieldConfig"]["defaults"].get("color", {})
    if colour.get("mode") == "fixed":
        return colour["fixedColor"]
    return PALETTE[index % len(PALETTE)]


def threshold_colour(panel, value):
    colour = "green"
    for step in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]:
        if step["value"] is None or (value is not None and value >= step["value"]):
            colour = step["color"]
    return NAMED.get(colour, colour)


def last(values):
    return next((v for v in reversed(values) if v is not None), None)


def draw(scrapes, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    dashboard = json.loads(DASHBOARD.read_text())
    p = Prom(scrapes)
    shown = panels_of(p)
    times = [dt.datetime.fromtimestamp(t) for t in p.times]
    panels = layout_of(dashboard)
    stats = [x for x in panels if x["type"] == "stat"]
    series = [x for x in panels if x["type"] == "timeseries"]
    missing = [x["title"] for x in panels if x["title"] not in shown]
    if missing:
        raise SystemExit("render.py does not know how to draw: %s" % missing)

    # The stat panels in one line, then the time series in as few lines of at most six as
    # hold them, spread evenly over the lines (no line nearly empty), each panel about 230 px
    # high.
    gap, left = 8, 10
    sy, sh = 38, 100
    top = sy + sh + gap
    lines = (len(series) + 5) // 6
    cols = (len(series) + lines - 1) // lines
    W, H = 1600, top + lines * 230 + gap * (lines - 1) + 10
    fig = plt.figure(figsize=(W / 100, H / 100), dpi=100, facecolor=BG)
    plt.rcParams.update({"font.family": "DejaVu Sans", "font.size": 7})

    def box(x, y, w, h, face=PANEL):
        """A panel's frame; x, y, w, h in pixels from the top left."""
        fig.patches.append(FancyBboxPatch(
            (x / W, 1 - (y + h) / H), w / W, h / H, boxstyle="round,pad=0,rounding_size=0.003",
            transform=fig.transFigure, facecolor=face, edgecolor=BORDER, linewidth=0.8,
            zorder=-10))

    def text(x, y, s, **kw):
        fig.text(x / W, 1 - y / H, s, **kw)

    # The header, as Grafana's.
    start, end = times[0], times[-1]
    text(14, 20, "imstatus", color=TEXT, fontsize=13, weight="bold", va="center")
    text(112, 20, "App: All   ·   Data source: Prometheus", color=DIM, fontsize=8.5, va="center")
    text(W - 14, 20, "%s – %s   ·   %d scrapes, 1 s apart, rates over %d s"
         % (start.strftime("%Y-%m-%d %H:%M:%S"), end.strftime("%H:%M:%S"), len(times), RATE_WINDOW),
         color=DIM, fontsize=8, va="center", ha="right")

    sw = (W - 2 * left - gap * (len(stats) - 1)) / len(stats)
    for i, panel in enumerate(stats):
        x = left + i * (sw + gap)
        unit = panel["fieldConfig"]["defaults"].get("unit", "short")
        (name, values), *_ = shown[panel["title"]] or [("", [])]
        value = last(values)
        background = panel["options"].get("colorMode") == "background"
        colour = threshold_colour(panel, value) if background else colour_of(panel, name, 0)
        box(x, sy, sw, sh, face=colour if background else PANEL)
        fg = "#ffffff" if background else TEXT
        text(x + 8, sy + 14, panel["title"], color=fg, fontsize=8.5, weight="bold", va="center")
        text(x + sw - 8, sy + 14, panel["row"], color=fg if background else DIM, fontsize=6.5,
             va="center", ha="right", alpha=0.8)
        if panel["options"].get("graphMode") == "area" and any(v is not None for v in values):
            ax = fig.add_axes([(x + 1) / W, 1 - (sy + sh - 1) / H, (sw - 2) / W, (sh * 0.45) / H])
            ax.set_axis_off()
            ys = [v if v is not None else float("nan") for v in values]
            line = "#ffffff" if background else colour
            ax.fill_between(times, ys, color=line, alpha=0.18, linewidth=0)
            ax.plot(times, ys, color=line, linewidth=1, alpha=0.8)
            ax.set_ylim(bottom=0)
            ax.margins(x=0)
        if panel["options"].get("textMode") == "name":
            shown_text = name or "–"
        else:
            decimals = panel["fieldConfig"]["defaults"].get("decimals")
            shown_text = fmt(unit, value)
            if decimals is not None and unit == "s" and value is not None:
                shown_text = "%.*f ms" % (decimals, value * 1e3)
        text(x + sw / 2, sy + 55, shown_text, color="#ffffff" if background else colour,
             fontsize=21, weight="bold", ha="center", va="center")

    pw = (W - 2 * left - gap * (cols - 1)) / cols
    ph = (H - top - 10 - gap * (lines - 1)) / lines
    for i, panel in enumerate(series):
        x = left + (i % cols) * (pw + gap)
        y = top + (i // cols) * (ph + gap)
        box(x, y, pw, ph)
        text(x + 8, y + 13, panel["title"], color=TEXT, fontsize=8.5, weight="bold", va="center")
        if len(panel["title"]) < 26:
            text(x + pw - 8, y + 13, panel["row"], color=DIM, fontsize=6.5, va="center", ha="right")
        defaults = panel["fieldConfig"]["defaults"]
        unit = defaults.get("unit", "short")
        items = shown[panel["title"]]
        items = [(n, v) for n, v in items if any(e is not None for e in v)]
        legend_h = 14 * ((len(items) + 1) // 2) + 4
        ax = fig.add_axes([(x + 52) / W, 1 - (y + ph - 18 - legend_h) / H,
                           (pw - 62) / W, (ph - 48 - legend_h) / H])
        ax.set_facecolor(PANEL)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.tick_params(colors=DIM, labelsize=6.5, length=0, pad=3)
        ax.grid(True, color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
        ax.xaxis.set_major_locator(MaxNLocator(4))
        # Bytes tick at whole binary steps (4 MiB, not 3.81 MiB), as Grafana's do.
        ax.yaxis.set_major_locator(binary_locator() if unit == "bytes" else MaxNLocator(4))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _, unit=unit: fmt(unit, v)))
        ax.set_xlim(times[0], times[-1])
        if not items:
            ax.set_ylim(0, 1)
            ax.set_yticklabels([])
            ax.text(0.5, 0.5, "No data", transform=ax.transAxes, color=DIM, fontsize=11,
                    ha="center", va="center")
            continue
        stacked = defaults["custom"]["stacking"]["mode"] == "normal"
        bars = defaults["custom"]["drawStyle"] == "bars"
        base = [0.0] * len(times)
        for k, (name, values) in enumerate(items):
            colour = colour_of(panel, name, k)
            ys = [v if v is not None else float("nan") for v in values]
            if stacked:
                ys = [b + (v if v == v else 0.0) if v == v else float("nan") for b, v in zip(base, ys)]
            if bars:
                ax.bar(times, ys, width=1.0 / 86400 * 0.8, color=colour, linewidth=0, label=name)
            else:
                ax.plot(times, ys, color=colour, linewidth=1.1, label=name)
                lower = base if stacked else [0.0] * len(times)
                ax.fill_between(times, lower, ys, color=colour, alpha=0.25 if stacked else 0.1,
                                linewidth=0)
            if stacked:
                base = [y if y == y else b for b, y in zip(base, ys)]
        steps = defaults["thresholds"]["steps"]
        style = defaults["custom"]["thresholdsStyle"]["mode"]
        ax.set_ylim(bottom=0)
        if style != "off" and len(steps) > 1:
            # As in Grafana, a threshold does not stretch the axis: a p99 of 1 ms stays
            # readable under a 50 ms line; the line (and its area) shows once it is in range.
            limit = steps[1]["value"]
            high = ax.get_ylim()[1]
            if limit <= high:
                ax.axhline(limit, color=NAMED.get(steps[1]["color"]), linewidth=1,
                           linestyle="--")
            if "area" in style:
                if limit < high:
                    ax.axhspan(limit, high, color=NAMED.get(steps[1]["color"]), alpha=0.08,
                               linewidth=0)
                ax.axhspan(0, min(limit, high), color=NAMED.get(steps[0]["color"]), alpha=0.05,
                           linewidth=0)
            ax.set_ylim(0, high)
        handles, labels = ax.get_legend_handles_labels()
        # Two columns read left to right, as Grafana's legend flows (matplotlib fills a
        # column first).
        handles, labels = handles[0::2] + handles[1::2], labels[0::2] + labels[1::2]
        width = (pw - 16) / W
        leg = fig.legend(handles, labels, loc="upper left", ncol=2, frameon=False, fontsize=6.5,
                         labelcolor=TEXT, handlelength=1.2, columnspacing=1.0, handletextpad=0.4,
                         borderaxespad=0, bbox_to_anchor=(x / W + 6 / W, 1 - (y + ph - 2) / H,
                                                          width, legend_h / H))
        for line in leg.get_lines():
            line.set_linewidth(3)

    fig.savefig(out, dpi=100, facecolor=BG)
    plt.close(fig)
    shrink(out)
    return shown, p


def shrink(path, limit=400_000):
    """Keeps the PNG small: a 256-colour palette when the full-colour one is too large."""
    if path.stat().st_size <= limit:
        return
    from PIL import Image
    image = Image.open(path).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        path, optimize=True)


def summary(shown, p):
    def peak(title, name=None):
        best = None
        for legend_name, values in shown[title]:
            if name is None or legend_name == name:
                for v in values:
                    if v is not None and (best is None or v > best):
                        best = v
        return best

    notifications = [sum(v for v in vals if v is not None) for vals in
                     zip(*[values for _, values in shown["Notifications/s"]])] or [0]
    final = p.samples[-1]

    def total(name, **labels):
        return sum(v for (metric, ls), v in final.items()
                   if metric == name and all(dict(ls).get(k) == x for k, x in labels.items()))

    lines = [
        "peak users online: %d" % (peak("Users online") or 0),
        "peak connections: %d" % (peak("Connections") or 0),
        "peak notifications/s: %.0f (over %d s windows)" % (max(notifications), RATE_WINDOW),
        "peak commands/s: %.0f" % max([sum(v for v in vals if v is not None) for vals in
                                       zip(*[values for _, values in shown["Commands/s by command"]])] or [0]),
        "push latency p99: highest %s (over %d s windows), whole run %s" % (
            fmt("s", peak("Push latency", "p99")), RATE_WINDOW,
            fmt("s", last(shown["Push latency p99"][0][1]))),
        "push latency p50: highest %s" % fmt("s", peak("Push latency", "p50")),
        "pushes written: %d, notifications: %d, coalesced: %d" % (
            total("imstatus_push_latency_seconds_count"), total("imstatus_notifications_total"),
            total("imstatus_coalesced_pushes_total")),
        "status changes: " + ", ".join("%s %d" % (reason, total("imstatus_status_changes_total", reason=reason))
                                       for reason in REASONS),
        "slow-consumer closes: %d, rejected logins: %d, error replies: %d" % (
            total("imstatus_slow_consumer_closes_total"), total("imstatus_rejected_logins_total"),
            sum(v for (m, ls), v in final.items() if m == "imstatus_replies_total" and dict(ls).get("code") != "0")),
        "webhook requests: " + ", ".join(
            "%s %d" % (result, total("imstatus_webhook_requests_total", result=result))
            for result in RESULTS) + "; peak queue %d" % (peak("Webhook queue by app") or 0),
        "store commit p99: highest %s; peak resident memory %s; peak CPU %s" % (
            fmt("s", peak("Store commit duration", "p99")), fmt("bytes", peak("Resident memory")),
            fmt("percentunit", peak("CPU"))),
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replay", type=Path, help="draw from the scrapes of an earlier run")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    ensure_matplotlib()
    if args.replay:
        scrapes = [tuple(s) for s in json.loads(args.replay.read_text())]
    else:
        scrapes = run_load()
        (WORK / "scrapes.json").write_text(json.dumps(scrapes))
        print("scrapes kept in %s (draw again with --replay)" % (WORK / "scrapes.json"))
    shown, p = draw(scrapes, args.out)
    print("wrote %s (%d KB)" % (args.out, args.out.stat().st_size // 1000))
    print(summary(shown, p))


if __name__ == "__main__":
    main()
