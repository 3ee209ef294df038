"""
Outbound connection reuse and per-destination concurrency (serve-queue-conn.c): after a
message the scheduler keeps the connection to the next hop idle for
queue_connection_cache_time and sends the next message for the same host over it (RSET when
needed, no new EHLO); at most queue_destination_concurrency connections go to one host at once,
the other deliveries wait; a cached connection that the server closed, or that fails on reuse
before the transaction, costs nothing: the message goes over a fresh connection, exactly once.

CountingSmtp (also used by test_queue_relay.py) is a scripted SMTP server on 127.0.0.2 that
counts connections, EHLOs, AUTH and the most sessions open at once. Every wait is bounded.
"""

import base64
import socket
import ssl
import threading
import time

import pytest

from conftest import USER, make_message
from tlshelp import tls_factory  # noqa: F401 (fixture)
from test_queue import ZONE, DnsServer, queue_ids, submit, wait_for


class CountingSmtp:
    """SMTP server on 127.0.0.2 that accepts every recipient and counts what it sees.

    Knobs (attributes, set before the messages are sent):
        data_delay        seconds to wait before answering the end of DATA
        close_after_data  close the connection right after the 250 to the end of DATA
        idle_close        close a connection that stays silent this long after a message
        reject_reuse      answer 421 to MAIL FROM on a connection that already took a message
        tls_context       an ssl.SSLContext: offer STARTTLS and do it
        auth              (user, password): offer AUTH PLAIN LOGIN, require it before MAIL
        auth_reply        bytes to answer every AUTH with (e.g. a 535), instead of checking
    """

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.2", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.lock = threading.Lock()
        self.messages = []     # (mail_from, rcpts, data, session number)
        self.connections = 0
        self.ehlos = 0
        self.rsets = 0
        self.open_now = 0
        self.open_max = 0
        self.auth_seen = []    # (session, tls active, ok)
        self.data_delay = 0.0
        self.close_after_data = False
        self.idle_close = None
        self.reject_reuse = False
        self.tls_context = None
        self.auth = None
        self.auth_reply = None
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
            with self.lock:
                self.connections += 1
                number = self.connections
                self.open_now += 1
                self.open_max = max(self.open_max, self.open_now)
            threading.Thread(target=self.session, args=(conn, number), daemon=True).start()

    def received(self, rcpt):
        with self.lock:
            return [m for m in self.messages if rcpt in m[1]]

    def _auth_ok(self, blob):
        try:
            parts = base64.b64decode(blob).split(b"\0")
        except ValueError:
            return False
        user, password = self.auth
        return len(parts) == 3 and parts[1] == user.encode() and parts[2] == password.encode()

    def session(self, conn, number):
        conn.settimeout(10)
        f = conn.makefile("rb")
        tls = False
        authed = False
        taken = 0

        def send(line):
            conn.sendall(line.encode() + b"\r\n")

        try:
            send("220 counting.test ESMTP")
            mail_from, rcpts = None, []
            while True:
                if taken > 0 and self.idle_close is not None and mail_from is None:
                    conn.settimeout(self.idle_close)
                try:
                    line = f.readline()
                except (socket.timeout, TimeoutError):
                    return  # an idle connection closed by the server
                conn.settimeout(10)
                if not line:
                    return
                cmd = line.decode("utf-8", "replace").rstrip("\r\n")
                up = cmd.upper()
                if up.startswith("EHLO"):
                    with self.lock:
                        self.ehlos += 1
                    ext = b"250-counting.test\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
                    if self.tls_context is not None and not tls:
                        ext += b"250-STARTTLS\r\n"
                    if self.auth is not None or self.auth_reply is not None:
                        ext += b"250-AUTH PLAIN LOGIN\r\n"
                    conn.sendall(ext + b"250 SIZE 10000000\r\n")
                elif up == "STARTTLS" and self.tls_context is not None and not tls:
                    send("220 2.0.0 go ahead")
                    conn = self.tls_context.wrap_socket(conn, server_side=True)
                    conn.settimeout(10)
                    f = conn.makefile("rb")
                    tls = True
                elif up.startswith("AUTH PLAIN "):
                    if self.auth_reply is not None:
                        with self.lock:
                            self.auth_seen.append((number, tls, False))
                        conn.sendall(self.auth_reply)
                        continue
                    ok = self.auth is not None and self._auth_ok(cmd[11:].strip())
                    with self.lock:
                        self.auth_seen.append((number, tls, ok))
                    if ok:
                        authed = True
                        send("235 2.7.0 authenticated")
                    else:
                        send("535 5.7.8 authentication failed")
                elif up.startswith("MAIL FROM:"):
                    if self.auth is not None and not authed:
                        send("530 5.7.0 authentication required")
                        continue
                    if self.reject_reuse and taken > 0:
                        send("421 4.4.2 not taking more on this connection")
                        return
                    mail_from, rcpts = cmd[10:].split(">")[0].lstrip("<"), []
                    send("250 2.1.0 ok")
                elif up.startswith("RCPT TO:"):
                    rcpts.append(cmd[8:].split(">")[0].lstrip("<"))
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
                        if chunk == b".\r\n":
                            break
                        data += chunk[1:] if chunk.startswith(b".") else chunk
                    if self.data_delay:
                        time.sleep(self.data_delay)
                    with self.lock:
                        self.messages.append((mail_from, rcpts, data, number))
                    taken += 1
                    mail_from, rcpts = None, []
                    send("250 2.0.0 accepted")
                    if self.close_after_data:
                        return
                elif up == "RSET":
                    with self.lock:
                        self.rsets += 1
                    mail_from, rcpts = None, []
                    send("250 2.0.0 ok")
                elif up == "NOOP":
                    send("250 2.0.0 ok")
                elif up == "QUIT":
                    send("221 2.0.0 bye")
                    return
                else:
                    send("502 5.5.2 not implemented")
        except (OSError, ssl.SSLError):
            return
        finally:
            with self.lock:
                self.open_now -= 1
            try:
                conn.close()
            except OSError:
                pass


@pytest.fixture
def counting():
    s = CountingSmtp()
    yield s
    s.close()


@pytest.fixture
def dns():
    with DnsServer(ZONE) as d:
        yield d


def reuse_conf(remote, dns, **extra):
    conf = {
        "dns_resolver": f"127.0.0.1@{dns.port}",
        "dns_trust_anchor": "none",
        "relayhost": "",
        "smtp_outbound_port": str(remote.port),
        "queue_retry_min": "1s",
        "queue_retry_max": "2s",
        "queue_scan_interval": "1s",
    }
    conf.update({k: str(v) for k, v in extra.items()})
    return conf


def status_lines(server, status):
    return [ln for ln in server.log_text().splitlines()
            if "to=<" in ln and f"status={status} " in ln]


def test_sequential_messages_share_one_connection(tls_factory, counting, dns):
    """Messages sent one after another, each within the cache time of the last, go over the
    first connection: one TCP connection, one EHLO, every message once."""
    s = tls_factory(conf=reuse_conf(counting, dns, queue_connection_cache_time="10s"))
    for i in range(4):
        rcpt = f"seq{i}@remote.test"
        submit(s, [rcpt], make_message(f"seq {i}", b"reuse me\r\n", sender=USER, to=rcpt))
        wait_for(lambda: counting.received(rcpt), f"delivery of {rcpt}", s)
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    assert len(counting.messages) == 4
    assert counting.connections == 1, counting.connections
    assert counting.ehlos == 1, counting.ehlos
    assert len({m[3] for m in counting.messages}) == 1
    assert status_lines(s, "deferred") == []
    s.assert_healthy()


def test_no_reuse_when_cache_time_is_zero(tls_factory, counting, dns):
    """queue_connection_cache_time = 0: every message gets its own connection (and QUIT)."""
    s = tls_factory(conf=reuse_conf(counting, dns, queue_connection_cache_time="0"))
    for i in range(3):
        rcpt = f"noc{i}@remote.test"
        submit(s, [rcpt], make_message(f"nocache {i}", b"x\r\n", sender=USER, to=rcpt))
        wait_for(lambda: counting.received(rcpt), f"delivery of {rcpt}", s)
    assert counting.connections == 3, counting.connections
    assert counting.ehlos == 3


def test_concurrency_limit_and_waiting_entries_reuse(tls_factory, counting, dns):
    """queue_destination_concurrency = 2 with ten entries at once and a slow server: never more
    than two sessions open, nothing deferred (the others wait for a slot), every message
    delivered exactly once, and the waiting ones take the connections over (two in all)."""
    s = tls_factory(conf=reuse_conf(counting, dns, queue_destination_concurrency=2,
                                    queue_connection_cache_time="10s"))
    counting.data_delay = 0.3
    rcpts = [f"conc{i}@remote.test" for i in range(10)]
    c = s.authed_submission()
    try:
        for r in rcpts:
            assert c.cmd(f"MAIL FROM:<{USER}>").code == 250
            assert c.cmd(f"RCPT TO:<{r}>").code == 250
            assert c.send_message(make_message("conc", b"c\r\n", sender=USER, to=r)).code == 250
    finally:
        c.close()
    wait_for(lambda: len(counting.messages) == 10, "ten deliveries", s, 40)
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    assert counting.open_max <= 2, counting.open_max
    assert counting.connections <= 2, counting.connections
    for r in rcpts:
        assert len(counting.received(r)) == 1, r
    assert status_lines(s, "deferred") == []
    s.assert_healthy()


def test_concurrency_one_serialises(tls_factory, counting, dns):
    """queue_destination_concurrency = 1: one session at a time, all over one connection."""
    s = tls_factory(conf=reuse_conf(counting, dns, queue_destination_concurrency=1))
    counting.data_delay = 0.1
    c = s.authed_submission()
    try:
        for i in range(5):
            r = f"one{i}@remote.test"
            assert c.cmd(f"MAIL FROM:<{USER}>").code == 250
            assert c.cmd(f"RCPT TO:<{r}>").code == 250
            assert c.send_message(make_message("one", b"1\r\n", sender=USER, to=r)).code == 250
    finally:
        c.close()
    wait_for(lambda: len(counting.messages) == 5, "five deliveries", s, 30)
    assert counting.open_max == 1
    assert counting.connections == 1
    assert counting.ehlos == 1


def test_server_closes_idle_connection(tls_factory, counting, dns):
    """The next hop closes a connection that is idle for 0.3 s: the cached connection is
    dropped, the next message goes over a new one, exactly once, nothing deferred."""
    s = tls_factory(conf=reuse_conf(counting, dns, queue_connection_cache_time="10s"))
    counting.idle_close = 0.3
    for i in range(3):
        rcpt = f"idle{i}@remote.test"
        submit(s, [rcpt], make_message(f"idle {i}", b"i\r\n", sender=USER, to=rcpt))
        wait_for(lambda: counting.received(rcpt), f"delivery of {rcpt}", s)
        time.sleep(0.8)
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    assert len(counting.messages) == 3
    for i in range(3):
        assert len(counting.received(f"idle{i}@remote.test")) == 1
    assert counting.connections == 3
    assert status_lines(s, "deferred") == []
    s.assert_healthy()


def test_server_closes_right_after_message(tls_factory, counting, dns):
    """The next hop closes right after its 250 (the close may reach us after the connection
    was taken again): every message still arrives exactly once, none deferred."""
    s = tls_factory(conf=reuse_conf(counting, dns, queue_connection_cache_time="10s"))
    counting.close_after_data = True
    c = s.authed_submission()
    try:
        for i in range(6):
            r = f"cls{i}@remote.test"
            assert c.cmd(f"MAIL FROM:<{USER}>").code == 250
            assert c.cmd(f"RCPT TO:<{r}>").code == 250
            assert c.send_message(make_message("cls", b"c\r\n", sender=USER, to=r)).code == 250
    finally:
        c.close()
    wait_for(lambda: len(counting.messages) == 6, "six deliveries", s, 30)
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    for i in range(6):
        assert len(counting.received(f"cls{i}@remote.test")) == 1
    assert status_lines(s, "deferred") == []


def test_reuse_refused_falls_back_to_fresh_connection(tls_factory, counting, dns):
    """The next hop answers 421 to the second MAIL on a connection: the delivery that took the
    cached connection is not deferred but sent over a new connection, exactly once."""
    s = tls_factory(conf=reuse_conf(counting, dns, queue_connection_cache_time="10s"))
    counting.reject_reuse = True
    for i in range(3):
        rcpt = f"rej{i}@remote.test"
        submit(s, [rcpt], make_message(f"rej {i}", b"r\r\n", sender=USER, to=rcpt))
        wait_for(lambda: counting.received(rcpt), f"delivery of {rcpt}", s)
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    for i in range(3):
        assert len(counting.received(f"rej{i}@remote.test")) == 1
    assert counting.connections == 3
    assert status_lines(s, "deferred") == []
    assert [ln for ln in s.log_text().splitlines() if "cached connection" in ln], \
        "the failed reuse must be logged"
