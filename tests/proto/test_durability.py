"""
Durability (DESIGN.md 3): a 250 to DATA means the message is stored. The server is SIGKILLed
right after a 250, or in the middle of DATA, or while several clients are sending, then
restarted: every message that got a 250 is there exactly once and byte-identical, nothing that
was cut off appears, and nothing appears half-written.

SIGKILL does not lose data the kernel already has, so this catches replies sent before the
message was written and committed (and recovery bugs after a crash), not a missing fsync.
"""

import random
import re
import threading
import time

import pytest

from conftest import (BOB, TIMEOUT, USER, ConnectionClosed, SmtpClient, deadline_loop,
                      make_message, split_trace)

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
    assert not set(cut) & set(seen), f"messages cut off mid-DATA were stored: {set(cut) & set(seen)}"
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
