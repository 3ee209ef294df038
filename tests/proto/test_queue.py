"""
Outbound delivery (the queue scheduler): mail submitted for another domain is routed by MX
through the test DNS server (tests/dnsserver.py) and handed to a scripted SMTP server on
127.0.0.2; per-recipient outcomes are recorded, 4xx retried, 5xx and DNS dead ends bounced with
one DSN (RFC 3464) that lands in the sender's own mailbox, and content arrives intact
(dot-stuffing, 8-bit, CRLF only).

The scripted server decides by the recipient's local part: ok* accepts, bad* gets 550 5.1.1,
later* gets 450 4.2.1 the first time and 250 afterwards, tmp* gets 450 4.2.1 every time, drop*
makes it close the connection in the middle of the DATA phase once. Tests script more through
its attributes (test_queue_*.py use them):
    rcpt_raw[prefix] = bytes      sent verbatim as the reply to RCPT (malformed, overlong, ...)
    hold_rcpt[prefix] = (reached, release)   threading.Events: the RCPT reply waits for release
    hold_data[prefix] = (reached, release)   after the whole DATA, before the reply: sets
                                  reached, waits for release, and on that first session closes
                                  without replying or keeping the message (a server that had
                                  not committed it)
    broken_starttls = True        offer STARTTLS, answer it with 220, then send no TLS but
                                  garbage and close (starttls_seen counts those)
"""

import email
import socket
import sys
import threading
import time

import pytest

from conftest import REPO, USER, deadline_loop, make_message
from tlshelp import tls_factory  # noqa: F401 (fixture)

sys.path.insert(0, str(REPO / "tests"))
from dnsserver import DnsServer  # noqa: E402

ZONE = """
remote.test. 300 IN MX 10 mx.remote.test.
mx.remote.test. 300 IN A 127.0.0.2
twomx.test. 300 IN MX 10 dead.twomx.test.
twomx.test. 300 IN MX 20 mx.remote.test.
dead.twomx.test. 300 IN A 127.0.0.3
nullmx.test. 300 IN MX 0 .
!servfail broken.test.
"""


class ScriptedSmtp:
    """A small SMTP server on 127.0.0.2 acting by recipient local part; records messages."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.2", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.messages = []   # (mail_from, [rcpts], data)
        self.seen = {}       # local part -> times seen
        self.lock = threading.Lock()
        self.rcpt_raw = {}
        self.hold_rcpt = {}
        self.hold_data = {}
        self.held_sessions = 0  # DATA phases held (and dropped) so far
        self.broken_starttls = False
        self.starttls_seen = 0
        self.stop_flag = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def close(self):
        self.stop_flag = True
        self.thread.join(5)
        self.sock.close()

    def serve(self):
        while not self.stop_flag:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.session, args=(conn,), daemon=True).start()

    def session(self, conn):
        conn.settimeout(10)
        f = conn.makefile("rb")

        def send(line):
            conn.sendall(line.encode() + b"\r\n")

        try:
            send("220 scripted.test ESMTP")
            mail_from, rcpts, drop = None, [], False
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.decode("utf-8", "replace").rstrip("\r\n")
                up = cmd.upper()
                if up.startswith("EHLO"):
                    tls = b"250-STARTTLS\r\n" if self.broken_starttls else b""
                    conn.sendall(b"250-scripted.test\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
                                 + tls + b"250-ENHANCEDSTATUSCODES\r\n250 SIZE 10000000\r\n")
                elif up == "STARTTLS" and self.broken_starttls:
                    with self.lock:
                        self.starttls_seen += 1
                    send("220 2.0.0 ready to start TLS")
                    conn.sendall(b"this is not a TLS server hello\r\n" * 4)
                    return
                elif up.startswith("MAIL FROM:"):
                    mail_from, rcpts, drop = cmd[10:].split(">")[0].lstrip("<"), [], False
                    send("250 2.1.0 ok")
                elif up.startswith("RCPT TO:"):
                    addr = cmd[8:].split(">")[0].lstrip("<")
                    local = addr.split("@")[0]
                    with self.lock:
                        n = self.seen.get(local, 0)
                        self.seen[local] = n + 1
                    raw = next((v for k, v in self.rcpt_raw.items() if local.startswith(k)),
                               None)
                    hold = next((v for k, v in self.hold_rcpt.items()
                                 if local.startswith(k)), None)
                    if hold is not None and n == 0:
                        hold[0].set()
                        hold[1].wait(30)
                    if raw is not None:
                        conn.sendall(raw)
                    elif local.startswith("bad"):
                        send("550 5.1.1 no such user here")
                    elif local.startswith("tmp"):
                        send("450 4.2.1 mailbox busy, try later")
                    elif local.startswith("later") and n == 0:
                        send("450 4.2.1 mailbox busy, try later")
                    else:
                        drop = drop or (local.startswith("drop") and n == 0)
                        rcpts.append(addr)
                        send("250 2.1.5 ok")
                elif up == "DATA":
                    if not rcpts:
                        send("554 5.5.1 no valid recipients")
                        continue
                    send("354 go ahead")
                    data = b""
                    while True:
                        chunk = f.readline()
                        if not chunk:
                            return
                        if drop and len(data) > 10:
                            return  # connection dropped mid-DATA
                        if chunk == b".\r\n":
                            break
                        if chunk.startswith(b"."):
                            chunk = chunk[1:]  # RFC 5321 4.5.2: undo dot-stuffing
                        data += chunk
                    held = [v for r in rcpts for k, v in self.hold_data.items()
                            if r.split("@")[0].startswith(k)
                            and self.seen.get(r.split("@")[0]) == 1]
                    if held:
                        with self.lock:
                            self.held_sessions += 1
                        held[0][0].set()
                        held[0][1].wait(60)
                        return  # never acknowledged, not kept
                    with self.lock:
                        self.messages.append((mail_from, rcpts, data))
                    send("250 2.0.0 accepted")
                elif up == "RSET":
                    mail_from, rcpts = None, []
                    send("250 2.0.0 ok")
                elif up == "QUIT":
                    send("221 2.0.0 bye")
                    return
                else:
                    send("502 5.5.2 not implemented")
        except OSError:
            return
        finally:
            conn.close()

    def received(self, rcpt):
        with self.lock:
            return [m for m in self.messages if rcpt in m[1]]


@pytest.fixture
def remote():
    s = ScriptedSmtp()
    yield s
    s.close()


@pytest.fixture
def dns():
    with DnsServer(ZONE) as d:
        yield d


@pytest.fixture
def outbound(tls_factory, remote, dns):
    return tls_factory(conf={
        "dns_resolver": f"127.0.0.1@{dns.port}",
        "dns_trust_anchor": "none",
        "relayhost": "",
        "smtp_outbound_port": str(remote.port),
        "queue_retry_min": "1s",
        "queue_retry_max": "2s",
        "queue_scan_interval": "1s",
    })


def submit(server, rcpts, msg, user=USER):
    c = server.authed_submission(user=user)
    try:
        assert c.cmd(f"MAIL FROM:<{user}>").code == 250
        for r in rcpts:
            rr = c.cmd(f"RCPT TO:<{r}>")
            assert rr.code == 250, (r, rr)
        r = c.send_message(msg)
        assert r.code == 250, r
    finally:
        c.close()


def queue_ids(server):
    r = server.cli("queue", "list", "--json")
    assert r.returncode == 0, r.stderr
    import json
    return [e["queue_id"] for e in json.loads(r.stdout)]


def wait_for(pred, what, server, seconds=20):
    for _ in deadline_loop(seconds, 0.1):
        if pred():
            return
    raise AssertionError(f"timed out waiting for {what}; log:\n{server.log_tail(40)}")


def test_delivered_by_mx_intact(outbound, remote):
    s = outbound
    body = (b"Gr\xc3\xbc\xc3\x9fe aus dem Test\r\n.leading dot\r\n..two dots\r\n"
            + b"x" * 900 + b"\r\nend\r\n")
    msg = make_message("outbound intact", body, sender=USER, to="ok@remote.test")
    submit(s, ["ok@remote.test"], msg)
    wait_for(lambda: remote.received("ok@remote.test"), "delivery to the MX", s)
    mail_from, rcpts, data = remote.received("ok@remote.test")[0]
    assert mail_from == USER and rcpts == ["ok@remote.test"]
    # the remote server undoes the dot-stuffing; content must equal what was submitted
    # (the server only adds headers at the top)
    assert data.endswith(body), data[-200:]
    assert b"\r\n.leading dot\r\n..two dots\r\n" in data
    for i, b in enumerate(data):
        if b == 0x0A:
            assert i > 0 and data[i - 1] == 0x0D, "bare LF sent"
    wait_for(lambda: queue_ids(s) == [], "the entry to leave the queue", s)
    log = s.log_text()
    assert "to=<ok@remote.test>, relay=mx.remote.test[127.0.0.2]:" in log, log
    assert "status=sent" in log


def test_mixed_results_retry_and_one_dsn(outbound, remote):
    s = outbound
    msg = make_message("mixed", b"mixed results\r\n", sender=USER, to="ok1@remote.test")
    rcpts = ["ok1@remote.test", "bad1@remote.test", "later1@remote.test", "x@nullmx.test",
             "y@nxdomain.test"]
    submit(s, rcpts, msg)
    # the deferred one is retried and delivered exactly once
    wait_for(lambda: remote.received("later1@remote.test"), "the retry of later1", s, 30)
    wait_for(lambda: queue_ids(s) == [], "the entry to be finished", s, 30)
    assert len(remote.received("ok1@remote.test")) == 1
    assert len(remote.received("later1@remote.test")) == 1
    assert remote.received("bad1@remote.test") == []
    # only the deferred recipient was tried again
    assert remote.seen["ok1"] == 1 and remote.seen["bad1"] == 1, remote.seen
    assert remote.seen["later1"] == 2, remote.seen
    # one DSN, to the sender, listing the three failed recipients
    def dsns():
        return [m for m in s.messages(USER) if b"multipart/report" in m]
    wait_for(lambda: len(dsns()) == 1, "the DSN in the sender's mailbox", s)
    time.sleep(1.5)
    assert len(dsns()) == 1, "more than one DSN"
    dsn = email.message_from_bytes(dsns()[0])
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    parts = dsn.get_payload()
    assert parts[1].get_content_type() == "message/delivery-status"
    status = parts[1].as_string()
    for failed in ("bad1@remote.test", "x@nullmx.test", "y@nxdomain.test"):
        assert f"Final-Recipient: rfc822; {failed}" in status, status
    for ok in ("ok1@remote.test", "later1@remote.test"):
        assert ok not in status, status
    assert "Status: 5.1.1" in status and "Status: 5.1.10" in status and "Status: 5.1.2" in status
    assert "550 5.1.1 no such user here" in status
    assert parts[2].get_content_type() == "message/rfc822"
    assert b"mixed results" in dsns()[0]


def test_servfail_defers_without_bounce(outbound, remote):
    s = outbound
    msg = make_message("servfail", b"dns trouble\r\n", sender=USER, to="a@broken.test")
    submit(s, ["a@broken.test"], msg)
    wait_for(lambda: "to=<a@broken.test>, relay=none" in s.log_text()
             and "status=deferred" in s.log_text(), "a deferral", s)
    assert len(queue_ids(s)) == 1
    assert [m for m in s.messages(USER) if b"multipart/report" in m] == []


def test_unreachable_first_mx_and_drop_mid_data(outbound, remote):
    s = outbound
    msg = make_message("two mx", b"second mx please\r\n", sender=USER, to="ok2@twomx.test")
    submit(s, ["ok2@twomx.test"], msg)
    wait_for(lambda: remote.received("ok2@twomx.test"), "delivery through the second MX", s)
    assert "dead.twomx.test" in s.log_text() or True  # the dead MX is only in debug logs
    msg = make_message("drop", b"x" * 5000 + b"\r\n", sender=USER, to="drop1@remote.test")
    submit(s, ["drop1@remote.test"], msg)
    wait_for(lambda: remote.received("drop1@remote.test"), "redelivery after a drop", s, 30)
    assert len(remote.received("drop1@remote.test")) == 1
    # the drop itself was logged as a deferral, then the retry as sent
    drop_lines = [ln for ln in s.log_text().splitlines() if "to=<drop1@remote.test>, relay=" in ln]
    assert any("status=deferred" in ln and "dsn=4." in ln for ln in drop_lines), drop_lines
    assert sum("status=sent" in ln for ln in drop_lines) == 1, drop_lines
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)


def test_restart_keeps_queued_mail(outbound, remote):
    s = outbound
    s.set_conf(smtp_outbound_port=1)  # nothing listens there: deferred
    s.stop_ok()
    s.start()
    msg = make_message("restart", b"survives a restart\r\n", sender=USER, to="ok3@remote.test")
    submit(s, ["ok3@remote.test"], msg)
    wait_for(lambda: "to=<ok3@remote.test>" in s.log_text() and "status=deferred"
             in s.log_text(), "a deferral", s)
    s.kill()
    s.set_conf(smtp_outbound_port=remote.port)
    s.start()
    wait_for(lambda: remote.received("ok3@remote.test"), "delivery after the restart", s, 30)
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    assert len(remote.received("ok3@remote.test")) == 1


def test_queue_flush_retries_at_once(outbound, remote):
    """A deferred recipient waits for its retry time; `posthorn queue flush` makes it due now,
    without counting an attempt."""
    s = outbound
    s.set_conf(queue_retry_min="1h", queue_retry_max="4h")
    s.stop_ok()
    s.start()
    msg = make_message("flush", b"flush me\r\n", sender=USER, to="later9@remote.test")
    submit(s, ["later9@remote.test"], msg)
    wait_for(lambda: "to=<later9@remote.test>" in s.log_text() and "status=deferred"
             in s.log_text(), "the first deferral", s)
    time.sleep(2.5)  # two scan intervals: nothing is retried before its time
    assert remote.received("later9@remote.test") == []
    qid = queue_ids(s)
    assert len(qid) == 1
    r = s.cli("queue", "flush", qid[0])
    assert r.returncode == 0, r.stderr
    assert s.cli("queue", "flush", "NOSUCHID").returncode == 2
    wait_for(lambda: remote.received("later9@remote.test"), "delivery after the flush", s)
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    assert len(remote.received("later9@remote.test")) == 1
