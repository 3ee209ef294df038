#!/usr/bin/python3
"""
bench.py - Posthorn side by side with Postfix + Dovecot on this machine (issue 6).

What it does: configures both systems on loopback in one temporary directory (servers.py),
runs the same six loads against each in turn, and writes a Markdown table (figure, peer figure,
ratio Posthorn / peer) to bench/results/results.md and a plot to bench/results/bench.png; the
table is printed too. BENCH_QUICK=1 uses small counts (a smoke test of a few minutes).
IMAPTEST=/path/to/imaptest enables the imaptest stress load.

What it does not do: install packages or build Posthorn (bench/run.sh does), or invent a figure:
a load that cannot run (a missing tool, a command the server does not support yet) is reported
as "not run: REASON", and a load stopped by its time bound reports what was reached.

Invariants: every load is bounded in count and in time; everything started is stopped in a
finally block (and bench/run.sh traps signals); nothing listens beyond 127.0.0.1.
"""

import argparse
import datetime
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import clients  # noqa: E402
import report  # noqa: E402
import servers  # noqa: E402
from servers import DOMAIN, PASSWORD  # noqa: E402

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")

if QUICK:
    CFG = dict(tp_count={1: 100, 10: 100, 100: 50}, tp_conc=[1, 10, 50], lat_msgs={1: 20, 10: 5},
               stress_clients=[10, 50, 200], stress_secs=15, idle_conns=[100, 300],
               pop3_msgs=300, out_msgs=300, limit=120)
else:
    CFG = dict(tp_count={1: 2000, 10: 2000, 100: 1000}, tp_conc=[1, 10, 50],
               lat_msgs={1: 200, 10: 50}, stress_clients=[10, 50, 200], stress_secs=60,
               idle_conns=[1000, 10000], pop3_msgs=10000, out_msgs=10000, limit=600)

SIZES = [1, 10, 100]  # KiB
SENDER = f"sender@example.org"


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


class Row:
    def __init__(self, load, param, unit, higher_better, target=None):
        self.load, self.param, self.unit = load, param, unit
        self.higher_better = higher_better
        self.target = target  # (factor, text): ratio wanted, as advantage factor
        self.ph = None   # number or "not run: ..." text
        self.peer = None

    def set(self, which, value):
        setattr(self, which, value)


ROWS = []
NOT_SELECTED = "not run: load not selected"


def row(*a, **kw):
    r = Row(*a, **kw)
    ROWS.append(r)
    return r


def not_run(e):
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return f"not run: {text[:160]}"


# ------------------------------------------------------------------------------------------
# counting what is visible in a mailbox

def imap_counter(port, user, password):
    c = clients.Imap(port)
    c.login(f"{user}@{DOMAIN}", password)
    return c


def wait_visible(port, user, want, seconds, conn=None):
    """Polls IMAP STATUS (MESSAGES) until `want` messages are visible or time runs out; returns
    (count, monotonic time it was seen). conn: an open, logged-in counter connection (its
    login then costs nothing inside a timed window); it is logged out either way."""
    c = conn or imap_counter(port, user, PASSWORD)
    try:
        end = time.monotonic() + seconds
        n = 0
        while True:
            n = c.status_messages()
            now = time.monotonic()
            if n >= want or now >= end:
                return n, now
            time.sleep(0.05)
    finally:
        c.logout()


# ------------------------------------------------------------------------------------------
# 1. SMTP accept throughput (smtp-source), visible in the mailbox

def load_throughput(sys_, label):
    for size in SIZES:
        for conc in CFG["tp_conc"]:
            r = ROWS_BY[("tp", size, conc)]
            user = f"tp{size}c{conc}"
            n = CFG["tp_count"][size]
            try:
                before, _ = wait_visible(sys_.imap_port, user, 0, 1)
                counter = imap_counter(sys_.imap_port, user, PASSWORD)
                t0 = time.monotonic()
                p = subprocess.run(["smtp-source", "-4", "-s", str(conc), "-m", str(n),
                                    "-l", str(size * 1024), "-f", SENDER,
                                    "-t", f"{user}@{DOMAIN}", "-M", "bench.client",
                                    f"127.0.0.1:{sys_.smtp_port}"],
                                   capture_output=True, text=True, timeout=CFG["limit"])
                if p.returncode != 0:
                    raise RuntimeError(f"smtp-source: {(p.stderr or p.stdout).strip()[-200:]}")
                got, t1 = wait_visible(sys_.imap_port, user, before + n, CFG["limit"], counter)
                got -= before
                v = got / (t1 - t0)
                r.set(label, v if got >= n else f"{v:.1f} (only {got}/{n} visible)")
                log(f"  throughput {size} KiB c={conc}: {v:.1f} msg/s ({got}/{n})")
            except Exception as e:  # noqa: BLE001 - reported, not hidden
                r.set(label, not_run(e))
                log(f"  throughput {size} KiB c={conc}: {e}")


# ------------------------------------------------------------------------------------------
# 2. latency from end of DATA to visible over IMAP (IDLE, or NOOP polling without IDLE)

def latency_pair(sys_, user, count, out, errors):
    import select as sel
    try:
        im = imap_counter(sys_.imap_port, user, PASSWORD)
        caps = im.capability()
        exists = im.select()
        use_idle = b"IDLE" in caps
        if use_idle:
            im.idle_start()
        sm = clients.Smtp(sys_.smtp_port)
        sm.ehlo()
        rcpt = f"{user}@{DOMAIN}"
        noop_out = False
        for i in range(count):
            data = clients.make_message(SENDER, rcpt, 1024, subject=f"lat {i}")
            t_end = sm.send_message(SENDER, rcpt, data)
            got_250 = False
            t_vis = None
            deadline = t_end + 60
            while (not got_250 or t_vis is None) and time.monotonic() < deadline:
                if not use_idle and t_vis is None and not noop_out:
                    time.sleep(0.002)
                    im.c.send(b"n NOOP\r\n")
                    noop_out = True
                rl = [im.c.sock] + ([] if got_250 else [sm.c.sock])
                ready, _, _ = sel.select(rl, [], [], 0.5)
                t_now = time.monotonic()
                if im.c.sock in ready:
                    im.c.fill()
                if sm.c.sock in ready:
                    sm.c.fill()
                if not got_250 and re.search(rb"(^|\r\n)\d{3} [^\r\n]*\r\n", sm.c.buf):
                    sm.finish_message()
                    got_250 = True
                while b"\r\n" in im.c.buf:
                    line = im.c.line()
                    m = re.match(rb"\* (\d+) EXISTS", line)
                    if m and int(m.group(1)) > exists:
                        exists = int(m.group(1))
                        if t_vis is None:
                            t_vis = t_now
                    if line.startswith(b"n "):
                        noop_out = False
            if t_vis is None:
                raise clients.ProtoError("message not visible over IMAP within 60 s")
            out.append(t_vis - t_end)
        sm.quit()
        im.c.close()
        if not use_idle:
            errors.append("(no IDLE: NOOP polled every 2 ms)")
    except Exception as e:  # noqa: BLE001
        errors.append(str(e) or type(e).__name__)


def load_latency(sys_, label):
    for conc in (1, 10):
        r50, r99 = ROWS_BY[("lat", conc, 50)], ROWS_BY[("lat", conc, 99)]
        out, errors = [], []
        threads = [threading.Thread(target=latency_pair,
                                    args=(sys_, f"lat{i}", CFG["lat_msgs"][conc], out, errors))
                   for i in range(conc)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(CFG["limit"])
        hard = [e for e in errors if not e.startswith("(")]
        if hard or not out:
            msg = not_run(hard[0] if hard else "no sample")
            r50.set(label, msg)
            r99.set(label, msg)
            log(f"  latency c={conc}: {msg}")
            continue
        out.sort()
        p50 = out[len(out) // 2] * 1000
        p99 = out[min(len(out) - 1, int(len(out) * 0.99))] * 1000
        note = " " + errors[0] if errors else ""
        r50.set(label, p50 if not note else f"{p50:.2f}{note}")
        r99.set(label, p99 if not note else f"{p99:.2f}{note}")
        log(f"  latency c={conc}: p50 {p50:.2f} ms p99 {p99:.2f} ms ({len(out)} samples){note}")


# ------------------------------------------------------------------------------------------
# 3. imaptest stress

def write_mbox(path, n=50):
    with open(path, "wb") as f:
        for i in range(n):
            body = clients.make_message(SENDER, f"st@{DOMAIN}", 512 * (1 + i % 20),
                                        subject=f"stress {i}")
            f.write(b"From sender@example.org Thu Jan  1 00:00:00 2026\n")
            f.write(body.replace(b"\r\n", b"\n") + b"\n")


def imaptest_probe(sys_):
    """SELECT, FETCH, STORE, APPEND and EXPUNGE must work before imaptest means anything."""
    c = imap_counter(sys_.imap_port, "st1", PASSWORD)
    try:
        c.select()
        msg = b"Subject: probe\r\n\r\nprobe\r\n"
        c.tagn += 1
        c.c.send(f"p{c.tagn} APPEND INBOX {{{len(msg)}}}\r\n".encode())
        line = c.c.line()
        if not line.startswith(b"+"):
            raise clients.ProtoError(f"APPEND: {line[:160]!r}")
        c.c.send(msg + b"\r\n")
        while True:
            line = c.c.line()
            if line.startswith(f"p{c.tagn} ".encode()):
                if b" OK" not in line[:10]:
                    raise clients.ProtoError(f"APPEND: {line[:160]!r}")
                break
        c.ok("NOOP")
        c.ok("FETCH 1:* (UID FLAGS RFC822.SIZE)")
        c.ok("STORE 1 +FLAGS (\\Deleted)")
        c.ok("EXPUNGE")
    finally:
        c.logout()


def load_stress(sys_, label, imaptest, mbox):
    for clients_n in CFG["stress_clients"]:
        rc, rl = ROWS_BY[("st", clients_n, "cps")], ROWS_BY[("st", clients_n, "lat")]
        if not imaptest:
            for r in (rc, rl):
                r.set(label, "not run: imaptest not found, set IMAPTEST=")
            continue
        try:
            imaptest_probe(sys_)
            env = dict(os.environ)
            env["LD_LIBRARY_PATH"] = "/usr/lib/dovecot" + (
                ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
            secs = CFG["stress_secs"]
            p = subprocess.run([imaptest, "host=127.0.0.1", f"port={sys_.imap_port}",
                                f"user=st%d@{DOMAIN}", "users=1-10", f"pass={PASSWORD}",
                                f"mbox={mbox}", f"clients={clients_n}", f"secs={secs}",
                                "no_tracking", "logout=0"],
                               capture_output=True, text=True, timeout=secs + 120, env=env)
            with open(os.path.join(os.path.dirname(mbox), f"imaptest-{label}-{clients_n}.log"),
                      "w") as f:
                f.write(p.stdout + p.stderr)
            cps, lat, errs, note = parse_imaptest(p.stdout + p.stderr, secs, clients_n)
            note += f" ({errs} errors)" if errs else ""
            rc.set(label, cps if not note else f"{cps:.0f}{note}")
            rl.set(label, lat if lat is not None else "not run: no timer line in output")
            log(f"  imaptest {clients_n} clients: {cps:.0f} cmd/s, {lat} ms/cmd{note}")
        except Exception as e:  # noqa: BLE001
            for r in (rc, rl):
                r.set(label, not_run(e))
            log(f"  imaptest {clients_n} clients: {e}")


def parse_imaptest(out, secs, clients_n):
    """(commands/s in steady state, mean ms/command, error count, note). LOGIN is left out of
    both figures: it costs one yescrypt verification on either system (the same hash), and
    with all clients logging in at once it would dominate a short run. Steady state: the
    per-second rows after the row in which the last client finished LOGIN."""
    lines = out.splitlines()
    stripped = [x.strip() for x in lines]
    if "Totals:" not in stripped:
        raise RuntimeError("imaptest printed no totals: " + (lines[-1] if lines else "nothing"))
    i = stripped.index("Totals:")
    names = lines[i + 1].split()
    k = len(names)
    li = names.index("Logi") if "Logi" in names else -1
    rows, wsum, wcount = [], 0, 0
    pending = [0] * k
    for x in lines[:i]:
        parts = x.split()
        if x.strip().endswith("ms/cmd avg") and len(parts) >= k:
            avg = [int(p) for p in parts[:k]]
            wsum += sum(a * n for j, (a, n) in enumerate(zip(avg, pending)) if j != li)
            wcount += sum(n for j, n in enumerate(pending) if j != li)
            pending = [0] * k
        elif "/" in x and len(parts) > k and all(p.isdigit() for p in parts[:k]):
            row = [int(p) for p in parts[:k]]
            rows.append(row)
            pending = [p + q for p, q in zip(pending, row)]
    logins, steady = 0, None
    for j, row in enumerate(rows):
        logins += row[li] if li >= 0 else 0
        if steady is None and logins >= clients_n:
            steady = j + 1
    note = ""
    if steady is None or steady >= len(rows):
        note = " (not all clients logged in during the run)"
        use = rows
    else:
        use = rows[steady:]
    cmds = sum(sum(v for j, v in enumerate(row) if j != li) for row in use)
    cps = cmds / len(use) if use else 0.0
    lat = wsum / wcount if wcount else None
    errs = sum(1 for x in lines if x.startswith("Error:") or " Error: " in x)
    return cps, lat, errs, note


# ------------------------------------------------------------------------------------------
# 4. memory per idle IMAP connection

def open_idle(port, n, seconds, sink):
    """Opens up to n connections logged in (SCRAM-SHA-256), INBOX selected, in IDLE; appends
    them to sink; stops at the time bound."""
    end = time.monotonic() + seconds
    lock = threading.Lock()
    errors = []

    def worker(k):
        while time.monotonic() < end:
            with lock:
                if len(sink) + k_pending[0] >= n or errors:
                    return
                k_pending[0] += 1
            try:
                c = clients.Imap(port, timeout=60)
                c.login_scram(f"idle@{DOMAIN}", PASSWORD)
                c.select()
                c.idle_start()
                with lock:
                    sink.append(c)
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(str(e) or type(e).__name__)
            finally:
                with lock:
                    k_pending[0] -= 1

    k_pending = [0]
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    return errors


def load_idle(sys_, label, pids_fn):
    conns = []
    base = servers.pss_kib(pids_fn())
    try:
        for n in CFG["idle_conns"]:
            r = ROWS_BY[("idle", n)]
            rd = ROWS_BY[("idle", n, "delta")]
            errors = open_idle(sys_.imap_port, n, min(CFG["limit"], 300), conns)
            time.sleep(2)
            if not conns:
                r.set(label, not_run(errors[0] if errors else "no connection"))
                rd.set(label, r.__dict__[label])
                log(f"  idle {n}: {r.__dict__[label]}")
                break
            pss = servers.pss_kib(pids_fn())
            per = pss / len(conns)
            delta = (pss - base) / len(conns)
            if len(conns) < n:
                why = errors[0][:80] if errors else "time bound"
                r.set(label, f"{per:.1f} (only {len(conns)}/{n} connections: {why})")
                rd.set(label, f"{delta:.1f} (only {len(conns)}/{n} connections)")
            else:
                r.set(label, per)
                rd.set(label, delta)
            log(f"  idle {n}: {len(conns)} connections, PSS {pss} KiB (before: {base} KiB), "
                f"{per:.1f} KiB/conn, increase {delta:.1f} KiB/conn")
            if len(conns) < n:
                break
    finally:
        for c in conns:
            c.c.close()
        time.sleep(2)


# ------------------------------------------------------------------------------------------
# 5. POP3 UIDL + RETR of a full mailbox

def load_pop3(sys_, label):
    r = ROWS_BY[("pop3",)]
    n = CFG["pop3_msgs"]
    try:
        p = subprocess.run(["smtp-source", "-4", "-s", "10", "-m", str(n), "-l", "2048",
                            "-f", SENDER, "-t", f"pop@{DOMAIN}", "-M", "bench.client",
                            f"127.0.0.1:{sys_.smtp_port}"],
                           capture_output=True, text=True, timeout=CFG["limit"] * 2)
        if p.returncode != 0:
            raise RuntimeError(f"smtp-source: {(p.stderr or p.stdout).strip()[-200:]}")
        got, _ = wait_visible(sys_.imap_port, "pop", n, CFG["limit"])
        if got < n:
            raise RuntimeError(f"only {got}/{n} messages visible after filling")
        c = clients.Pop3(sys_.pop3_port, timeout=CFG["limit"])
        c.login(f"pop@{DOMAIN}", PASSWORD)
        t0 = time.monotonic()
        _, uidls = c.multi("UIDL")
        total = 0
        for i in range(1, uidls + 1):
            b, _ = c.multi(f"RETR {i}")
            total += b
        c.quit()
        t1 = time.monotonic()
        r.set(label, t1 - t0)
        log(f"  pop3: UIDL + {uidls} RETR ({total} bytes) in {t1 - t0:.2f} s")
    except Exception as e:  # noqa: BLE001
        r.set(label, not_run(e))
        log(f"  pop3: {e}")


# ------------------------------------------------------------------------------------------
# 6. outbound: queued messages delivered to smtp-sink

def inject_outbound(port, n, auth, conc=10):
    errors = []
    per = [n // conc + (1 if i < n % conc else 0) for i in range(conc)]
    sender = f"out@{DOMAIN}"

    def worker(k):
        try:
            s = clients.Smtp(port, timeout=120)
            s.ehlo()
            if auth:
                s.auth_plain(sender, PASSWORD)
            for i in range(k):
                data = clients.make_message(sender, "rcpt@remote.example", 2048)
                s.send_message(sender, "rcpt@remote.example", data)
                s.finish_message()
            s.quit()
        except Exception as e:  # noqa: BLE001
            errors.append(str(e))

    threads = [threading.Thread(target=worker, args=(k,)) for k in per]
    for t in threads:
        t.start()
    for t in threads:
        t.join(CFG["limit"] * 2)
    if errors:
        raise RuntimeError(f"injection: {errors[0]}")


def start_sink(n):
    port = servers.free_port()
    p = subprocess.Popen(["smtp-sink", "-4", "-u", "nobody", "-M", str(n), "-m", "512",
                          f"127.0.0.1:{port}", "1024"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    if not servers.wait_port(port, 20, p):
        raise RuntimeError("smtp-sink did not start: " + p.stderr.read().decode()[-200:])
    return p, port


def wait_sink(p, seconds):
    try:
        p.wait(seconds)
        return True
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(10)
        return False


def load_outbound_posthorn(ph):
    r = ROWS_BY[("out",)]
    n = CFG["out_msgs"]
    sink = None
    try:
        inject_outbound(ph.submission_port, n, auth=True)
        time.sleep(1)
        ph.stop()
        sink, port = start_sink(n)
        ph.extra["relayhost"] = f"[127.0.0.1]:{port}"
        ph.write_dropin()
        t0 = time.monotonic()
        ph.start()
        done = wait_sink(sink, CFG["limit"])
        t1 = time.monotonic()
        r.set("ph", (t1 - t0) if done else f"not run: not all {n} delivered within "
              f"{CFG['limit']} s")
        log(f"  outbound posthorn: {n} in {t1 - t0:.2f} s" if done else "  outbound: timeout")
    except Exception as e:  # noqa: BLE001
        r.set("ph", not_run(e))
        log(f"  outbound posthorn: {e}")
    finally:
        if sink and sink.poll() is None:
            sink.kill()
            sink.wait(10)
        ph.extra["relayhost"] = "[127.0.0.1]:9"
        if not ph.alive():
            ph.write_dropin()
            ph.start()


def load_outbound_peer(peer):
    r = ROWS_BY[("out",)]
    n = CFG["out_msgs"]
    sink = None
    try:
        inject_outbound(peer.smtp_port, n, auth=False)
        end = time.monotonic() + CFG["limit"]
        while time.monotonic() < end:
            if peer.queue_count("deferred") >= n and peer.queue_count("incoming") == 0 \
                    and peer.queue_count("active") == 0:
                break
            time.sleep(0.2)
        sink, port = start_sink(n)
        peer.set_relayhost(f"[127.0.0.1]:{port}")
        # a reload, not a restart: `postfix start` checks every queue file (minutes for
        # 10,000), which is not delivery work
        servers.run(["postfix", "-c", peer.pf, "reload"], timeout=CFG["limit"])
        time.sleep(1)
        t0 = time.monotonic()
        servers.run(["postqueue", "-c", peer.pf, "-f"])
        done = wait_sink(sink, CFG["limit"])
        t1 = time.monotonic()
        r.set("peer", (t1 - t0) if done else f"not run: not all {n} delivered within "
              f"{CFG['limit']} s")
        log(f"  outbound postfix: {n} in {t1 - t0:.2f} s" if done else "  outbound: timeout")
    except Exception as e:  # noqa: BLE001
        r.set("peer", not_run(e))
        log(f"  outbound postfix: {e}")
    finally:
        if sink and sink.poll() is None:
            sink.kill()
            sink.wait(10)


# ------------------------------------------------------------------------------------------

ROWS_BY = {}


def define_rows():
    for size in SIZES:
        for conc in CFG["tp_conc"]:
            tgt = (5, "≥ 5×") if conc == 50 else None
            ROWS_BY[("tp", size, conc)] = row("1. SMTP accept → visible",
                                               f"{size} KiB, {conc} sessions", "msg/s", True,
                                               tgt)
    for conc in (1, 10):
        for p in (50, 99):
            ROWS_BY[("lat", conc, p)] = row("2. end of DATA → visible over IMAP",
                                            f"p{p}, {conc} senders", "ms", False)
    for n in CFG["stress_clients"]:
        ROWS_BY[("st", n, "cps")] = row("3. imaptest stress", f"{n} clients", "cmd/s", True,
                                        (3, "≥ 3×"))
        ROWS_BY[("st", n, "lat")] = row("3. imaptest stress", f"{n} clients, mean", "ms/cmd",
                                        False)
    for n in CFG["idle_conns"]:
        ROWS_BY[("idle", n)] = row("4. memory per idle IMAP connection",
                                   f"{n} in IDLE, PSS/conn", "KiB", False, (50, "≤ 1/50"))
        ROWS_BY[("idle", n, "delta")] = row("4. memory per idle IMAP connection",
                                            f"{n} in IDLE, PSS increase/conn", "KiB", False)
    ROWS_BY[("pop3",)] = row("5. POP3 UIDL + RETR all", f"{CFG['pop3_msgs']} messages",
                             "s", False, (2, "≥ 2×"))
    ROWS_BY[("out",)] = row("6. outbound queue → smtp-sink", f"{CFG['out_msgs']} messages",
                            "s", False, (2, "≥ 2×"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--posthorn", required=True)
    ap.add_argument("--results", default=os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "results", "quick" if QUICK else ""))
    ap.add_argument("--only", default="", help="comma-separated loads: tp,lat,stress,idle,pop3,out")
    args = ap.parse_args()

    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    only = set(x for x in args.only.split(",") if x)

    def want(x):
        return not only or x in only

    imaptest = os.environ.get("IMAPTEST", "")
    if imaptest and not os.access(imaptest, os.X_OK):
        log(f"IMAPTEST={imaptest} is not an executable file: stress load not run")
        imaptest = ""
    define_rows()
    for r in ROWS:
        r.ph = r.peer = NOT_SELECTED if only else None
    root = tempfile.mkdtemp(prefix="posthorn-bench-")
    os.chmod(root, 0o755)
    log(f"working directory {root} ({'quick' if QUICK else 'full'} mode)")
    tp_users = [f"tp{s}c{c}" for s in SIZES for c in CFG["tp_conc"]]
    users = tp_users + [f"lat{i}" for i in range(10)] + [f"st{i}" for i in range(1, 11)] + \
        ["pop", "out"]
    ph = servers.Posthorn(root, args.posthorn, users, ["idle"])
    peer = None
    started = time.time()
    try:
        log("setting up Posthorn")
        ph.setup()
        log("setting up Postfix + Dovecot")
        peer = servers.Peer(root, users, ["idle"], ph.hashes)
        peer.setup()
        ph.start()
        peer.start()
        mbox = os.path.join(root, "stress.mbox")
        write_mbox(mbox)
        for label, sys_, pids in (("ph", ph, ph.pids), ("peer", peer, peer.dovecot_pids)):
            log(f"== {sys_.name}")
            if want("tp"):
                load_throughput(sys_, label)
            if want("lat"):
                load_latency(sys_, label)
            if want("stress"):
                load_stress(sys_, label, imaptest, mbox)
            if want("idle"):
                load_idle(sys_, label, pids)
            if want("pop3"):
                load_pop3(sys_, label)
        if want("out"):
            log("== outbound")
            load_outbound_posthorn(ph)
            load_outbound_peer(peer)
    finally:
        log("stopping servers")
        ph.stop()
        if peer is not None:
            peer.stop()
    machine = (f"{platform.node()}: {os.cpu_count()} CPUs, "
               f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') >> 30} GiB, "
               f"{platform.platform()}")
    meta = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                machine=machine, mode="quick (BENCH_QUICK=1)" if QUICK else "full",
                duration=f"{(time.time() - started) / 60:.1f} min",
                versions=versions(args.posthorn))
    os.makedirs(args.results, exist_ok=True)
    if only:
        merged = report.merge_previous(ROWS, os.path.join(args.results, "results.md"))
        meta["mode"] += f"; loads {','.join(sorted(only))} re-run on {meta['date']}"
        if merged:
            meta["mode"] += f", other rows from the run of {merged}"
    md = report.markdown(ROWS, meta)
    with open(os.path.join(args.results, "results.md"), "w") as f:
        f.write(md)
    print(md)
    try:
        report.plot(ROWS, meta, os.path.join(args.results, "bench.png"))
    except Exception as e:  # noqa: BLE001
        log(f"plot not written: {e}")
    if os.environ.get("BENCH_KEEP"):
        log(f"kept {root} (BENCH_KEEP)")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def versions(binary):
    out = []
    for cmd in (["postconf", "-d", "-h", "mail_version"], ["dovecot", "--version"]):
        try:
            out.append(f"{cmd[0]} {subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()}")
        except Exception:  # noqa: BLE001
            pass
    try:
        rev = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)), "rev-parse",
                              "--short", "HEAD"], capture_output=True, text=True, timeout=30)
        out.insert(0, f"posthorn {rev.stdout.strip() or '?'}")
    except Exception:  # noqa: BLE001
        pass
    return ", ".join(out)


if __name__ == "__main__":
    sys.exit(main())
