"""
Durability (DESIGN.md 3): a 250 to DATA means the message is stored. The server is SIGKILLed
right after a 250, or in the middle of DATA, or while several clients are sending, then
restarted: every message that got a 250 is there exactly once and byte-identical, nothing that
was cut off appears, and nothing appears half-written.

SIGKILL does not lose data the kernel already has, so those tests catch replies sent before the
message was written and committed (and recovery bugs after a crash), not a missing fsync. For
that, the last test traces the server with strace (which must be installed and allowed to
ptrace): the 250 must come after the message file's fsync, its rename, the fsync of the
directory holding the new name, and a sync of the store index.
"""

import os
import random
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (BOB, TIMEOUT, USER, ConnectionClosed, SmtpClient, deadline_loop,
                      make_message, require_tool, split_trace)

SENDER = "durable@example.org"
ID_RE = re.compile(rb"^X-Test-Id: (\S+)\r$", re.M)


def tag_of(stored):
    m = ID_RE.search(stored)
    assert m, f"stored message without X-Test-Id: {stored[:300]!r}"
    return m.group(1).decode()


def payload(rnd, tag, size):
    line = b"%s " % tag.encode()
    body = bytearray()
    while len(body) < size:
        body += line + bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz0123456789")
                             for _ in range(60)) + b"\r\n"
    return make_message(f"durable {tag}", bytes(body), headers=[f"X-Test-Id: {tag}"])


def check_mailboxes(srv, attempted, acked, users=(USER,)):
    """Every acked message exactly once and intact; anything else present must be a complete
    message that was fully sent (the 250 may have been lost with the process)."""
    seen = {}
    for user in users:
        for stored in srv.messages(user):
            rp, _, rest = split_trace(stored)
            tid = tag_of(rest)
            assert tid in attempted, f"unknown message {tid} in {user}'s mailbox"
            assert tid not in seen, f"message {tid} stored twice"
            seen[tid] = user
            assert rest == attempted[tid], f"message {tid} is not byte-identical (partial?)"
            assert rp.split(b":", 1)[1].strip() == f"<{SENDER}>".encode()
    missing = sorted(set(acked) - set(seen))
    assert not missing, f"{len(missing)} messages got 250 but are gone after SIGKILL: {missing}"
    return seen


@pytest.mark.timeout(150)
def test_sigkill_right_after_250(server_factory):
    srv = server_factory()
    rnd = random.Random(5321)
    attempted, acked, cut = {}, [], []
    for i in range(30):
        tag = f"seq-{i}"
        msg = payload(rnd, tag, rnd.choice((2_000, 40_000, 200_000)))
        attempted[tag] = msg
        with srv.smtp() as c:
            c.begin(SENDER, [USER])
            r = c.cmd("DATA")
            assert r.code == 354, r
            if i % 3 == 2:
                # killed in the middle of the data: this message must not appear
                c.send(msg[: len(msg) // 2])
                srv.kill()
                cut.append(tag)
            else:
                c.send(msg + b".\r\n")
                r = c.reply()
                assert r.code == 250, r
                srv.kill()  # immediately after the 250
                acked.append(tag)
        srv.start()
    seen = check_mailboxes(srv, attempted, acked)
    stored_cut = set(cut) & set(seen)
    assert not stored_cut, f"messages cut off mid-DATA were stored: {stored_cut}"
    # and in arrival order
    order = [tag_of(split_trace(m)[2]) for m in srv.messages(USER)]
    assert order == acked
    # UIDLs survive a crash too
    with srv.pop3(USER) as p:
        uidls = p.uidl()
        p.quit()
    srv.kill()
    srv.start()
    with srv.pop3(USER) as p:
        assert p.uidl() == uidls
        p.quit()


def burst_worker(port, rnd_seed, prefix, attempted, acked, lock, stop):
    rnd = random.Random(rnd_seed)
    n = 0
    try:
        while not stop.is_set():
            with SmtpClient(port, timeout=TIMEOUT) as c:
                for k in range(3):  # a few transactions per connection
                    c.begin(SENDER, [USER if n % 2 == 0 else BOB], ehlo=k == 0)
                    tag = f"{prefix}-{n}"
                    n += 1
                    msg = payload(rnd, tag, rnd.choice((1_000, 10_000, 120_000)))
                    with lock:
                        attempted[tag] = msg
                    if c.cmd("DATA").code != 354:
                        return
                    c.send(msg + b".\r\n")
                    r = c.reply()
                    if r.code == 250:
                        with lock:
                            acked.append(tag)
                    if stop.is_set():
                        return
    except (OSError, ConnectionClosed, AssertionError):
        return  # the server was killed under us


@pytest.mark.timeout(150)
def test_sigkill_during_concurrent_burst(server_factory):
    srv = server_factory()
    attempted, acked = {}, []
    lock = threading.Lock()
    for rnd_no in range(3):
        stop = threading.Event()
        before = len(acked)
        threads = [threading.Thread(target=burst_worker, daemon=True,
                                    args=(srv.smtp_port, 1000 * rnd_no + t, f"b{rnd_no}t{t}",
                                          attempted, acked, lock, stop))
                   for t in range(6)]
        for t in threads:
            t.start()
        for _ in deadline_loop(20, 0.005):
            if len(acked) - before >= 12 + 4 * rnd_no:
                break
        srv.kill()  # mid-flight: other clients are between commands or inside DATA
        stop.set()
        for t in threads:
            t.join(TIMEOUT)
            assert not t.is_alive(), "a client thread hung after the server was killed"
        assert len(acked) > before, f"round {rnd_no}: no message was accepted at all"
        srv.start()
    check_mailboxes(srv, attempted, acked, users=(USER, BOB))


@pytest.mark.timeout(120)
def test_restart_after_sigkill_keeps_serving(server_factory):
    # A crash leaves no stale lock or pid file that stops the next start, and POP3 sessions
    # killed in the middle of DELE delete nothing.
    srv = server_factory()
    msgs = [make_message(f"keep {i}", b"keep %d\r\n" % i, headers=[f"X-Test-Id: keep-{i}"])
            for i in range(3)]
    for m in msgs:
        with srv.smtp() as c:
            c.begin(SENDER, [USER])
            assert c.cmd("DATA").code == 354
            c.send(m + b".\r\n")
            assert c.reply().code == 250
    p = srv.pop3(USER)
    p.ok("DELE 1")
    p.ok("DELE 2")
    srv.kill()
    p.close()
    t0 = time.monotonic()
    srv.start()
    assert time.monotonic() - t0 < 30
    got = srv.messages(USER)
    assert [split_trace(g)[2] for g in got] == msgs


# ---- the order of system calls behind a 250 (DESIGN.md 3: "data fsync'd, rename, directory
# fsync'd, index committed" before the reply). SIGKILL cannot see a missing fsync; strace can.

TRACED = ("trace=openat,open,creat,close,fsync,fdatasync,rename,renameat,renameat2,write,"
          "writev,sendto,sendmsg")
LINE_RE = re.compile(r"^(\d+)\s+(.*)$")
CALL_RE = re.compile(r"^(\w+)\((.*)\)\s+=\s+(-?\d+|\?)")


def parse_strace(text):
    """[(name, args, ret, start_line, end_line)] with <unfinished ...>/resumed pairs joined."""
    events, pending = [], {}
    for i, line in enumerate(text.splitlines()):
        m = LINE_RE.match(line)
        if not m:
            continue
        pid, rest = m.groups()
        if rest.startswith("<... "):
            mm = re.match(r"<\.\.\. (\w+) resumed>(.*)$", rest)
            if not mm or pid not in pending:
                continue
            start, head = pending.pop(pid)
            rest, end = head + mm.group(2), i
        elif rest.endswith("<unfinished ...>"):
            pending[pid] = (i, rest[: -len("<unfinished ...>")].rstrip())
            continue
        else:
            start = end = i
        c = CALL_RE.match(rest)
        if c:
            ret = int(c.group(3)) if c.group(3) != "?" else None
            events.append((c.group(1), c.group(2), ret, start, end))
    return events


def quoted(args):
    return re.findall(r'"((?:[^"\\]|\\.)*)"', args)


def wait_traced(pid, tracer_pid):
    for _ in deadline_loop(20, 0.02):
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        tracers = set()
        for t in tasks:
            try:
                status = (t / "status").read_text()
            except OSError:
                continue
            tracers.add(int(re.search(r"TracerPid:\s+(\d+)", status).group(1)))
        if tracers == {tracer_pid}:
            return
    raise AssertionError(f"strace could not attach to {pid} (ptrace not permitted?)")


def traced_delivery(srv, use_bdat, tmpdir):
    strace = require_tool("strace")
    trace = tmpdir / "strace.out"
    msg = make_message("traced", b"durable?\r\n" * 50)
    c = srv.smtp()
    tracer = None
    try:
        c.begin(SENDER, [USER])
        tracer = subprocess.Popen([strace, "-f", "-qq", "-s", "80", "-e", TRACED, "-o",
                                   str(trace), "-p", str(srv.proc.pid)],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        wait_traced(srv.proc.pid, tracer.pid)
        if use_bdat:
            c.send(b"BDAT %d LAST\r\n" % len(msg) + msg)
        else:
            assert c.cmd("DATA").code == 354
            c.send(msg + b".\r\n")
        r = c.reply()
        assert r.code == 250, r
        assert c.cmd("NOOP").code == 250  # the 250 write is in the trace by now
        fd_paths = {}
        for fd in Path(f"/proc/{srv.proc.pid}/fd").iterdir():
            try:
                fd_paths[int(fd.name)] = os.readlink(fd)
            except OSError:
                pass
    finally:
        c.close()
        if tracer is not None:
            tracer.send_signal(signal.SIGINT)
            try:
                tracer.wait(20)
            except subprocess.TimeoutExpired:
                tracer.kill()
                tracer.wait(20)
    assert srv.messages(USER)[0].endswith(msg)
    return parse_strace(trace.read_text(errors="replace")), fd_paths


@pytest.mark.parametrize("use_bdat", [False, True], ids=["DATA", "BDAT"])
def test_250_only_after_fsync_rename_dirsync_commit(server_factory, data_base, use_bdat):
    srv = server_factory()
    events, fd_paths = traced_delivery(srv, use_bdat, data_base)
    reply_at = [e[3] for e in events if e[0] in ("sendto", "write", "writev", "sendmsg")
                and "250 2.0.0" in e[1] and "queued as" in e[1]]
    assert len(reply_at) == 1, f"the 250 reply is not in the trace: {events[-20:]}"
    t250 = reply_at[0]
    before = [e for e in events if e[4] < t250]

    # 1. a message file created during the transaction, synced while open, then renamed
    created = {}  # fd -> (basename, open_end)
    synced_files, renames, dir_fds, dir_syncs, syncs = {}, [], {}, [], []
    for name, args, ret, start, end in before:
        fd_arg = args.split(",", 1)[0].strip()
        if name in ("openat", "open", "creat") and ret is not None and ret >= 0:
            path = quoted(args)[0]
            if "O_DIRECTORY" in args:
                dir_fds[ret] = os.path.basename(path.rstrip("/"))
            elif "O_CREAT" in args or name == "creat":
                created[ret] = (os.path.basename(path), end)
        elif name == "close" and fd_arg.isdigit():
            created.pop(int(fd_arg), None)
            dir_fds.pop(int(fd_arg), None)
        elif name in ("fsync", "fdatasync") and ret == 0 and fd_arg.isdigit():
            fd = int(fd_arg)
            syncs.append((fd, end))
            if fd in created:
                synced_files[created[fd][0]] = end
            if fd in dir_fds:
                dir_syncs.append((dir_fds[fd], end))
        elif name.startswith("rename") and ret == 0:
            src, dst = quoted(args)[:2]
            renames.append((os.path.basename(src), dst, start, end))
    good = [(src, dst, start, end) for src, dst, start, end in renames
            if src in synced_files and synced_files[src] < start]
    assert good, (f"no message file was fsync'd and then renamed before the 250 "
                  f"(synced {synced_files}, renamed {renames})")
    src, dst, r_start, r_end = good[-1]

    # 2. the directory that received the name is fsync'd after the rename
    parent = os.path.basename(os.path.dirname(dst)) if "/" in dst else None
    dir_ok = any(end > r_end and (parent is None or name == parent) for name, end in dir_syncs)
    assert dir_ok, f"no fsync of the directory of {dst!r} between the rename and the 250"

    # 3. the index (SQLite database or its WAL) is synced after the rename
    def is_index(fd):
        p = fd_paths.get(fd, "")
        return p.endswith((".db", ".db-wal", ".db-journal", "-wal", "-journal"))

    assert any(end > r_end and is_index(fd) for fd, end in syncs), (
        f"no fsync of the store index after the rename and before the 250 "
        f"(syncs {syncs}, fds {fd_paths})")
