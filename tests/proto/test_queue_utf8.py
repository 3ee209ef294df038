"""
Outbound delivery of mail with an internationalized envelope (RFC 6531): a recipient with a
non-ASCII local part goes out with MAIL FROM ... SMTPUTF8 to a next hop that offers SMTPUTF8,
and bounces with 5.6.7 (RFC 6531 3.4: no downgrade) when the next hop does not offer it.

The next hop is a minimal SMTP sink on 127.0.0.2 that offers SMTPUTF8 or not and records the
MAIL and RCPT lines as sent.
"""

import socket
import sys
import threading

import pytest

from conftest import REPO, USER, deadline_loop, make_message
from tlshelp import tls_factory  # noqa: F401 (fixture)

sys.path.insert(0, str(REPO / "tests"))
from dnsserver import DnsServer  # noqa: E402

ZONE = """
utf8.test. 300 IN MX 10 mx.utf8.test.
mx.utf8.test. 300 IN A 127.0.0.2
"""

RCPT = "j\u00f6rg@utf8.test"


class Sink:
    """SMTP on 127.0.0.2: accepts everything; records (mail line, rcpt lines, data)."""

    def __init__(self, smtputf8):
        self.smtputf8 = smtputf8
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.2", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.messages = []
        self.lock = threading.Lock()
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
        mail, rcpts = None, []
        try:
            conn.sendall(b"220 sink.test ESMTP\r\n")
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.rstrip(b"\r\n")
                up = cmd.upper()
                if up.startswith(b"EHLO"):
                    ext = b"250-SMTPUTF8\r\n" if self.smtputf8 else b""
                    conn.sendall(b"250-sink.test\r\n250-8BITMIME\r\n" + ext
                                 + b"250 ENHANCEDSTATUSCODES\r\n")
                elif up.startswith(b"MAIL FROM:"):
                    mail, rcpts = cmd, []
                    conn.sendall(b"250 2.1.0 ok\r\n")
                elif up.startswith(b"RCPT TO:"):
                    rcpts.append(cmd)
                    conn.sendall(b"250 2.1.5 ok\r\n")
                elif up == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    data = b""
                    while True:
                        chunk = f.readline()
                        if not chunk:
                            return
                        if chunk == b".\r\n":
                            break
                        data += chunk
                    with self.lock:
                        self.messages.append((mail, rcpts, data))
                    conn.sendall(b"250 2.0.0 accepted\r\n")
                elif up == b"QUIT":
                    conn.sendall(b"221 2.0.0 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 2.0.0 ok\r\n")
        except OSError:
            return
        finally:
            conn.close()


@pytest.fixture
def dns():
    with DnsServer(ZONE) as d:
        yield d


def start(tls_factory, dns, sink):
    return tls_factory(conf={
        "dns_resolver": f"127.0.0.1@{dns.port}",
        "dns_trust_anchor": "none",
        "relayhost": "",
        "smtp_outbound_port": str(sink.port),
        "queue_retry_min": "1s",
        "queue_retry_max": "2s",
        "queue_scan_interval": "1s",
    })


def submit_utf8(server):
    c = server.authed_submission()
    try:
        assert c.cmd(f"MAIL FROM:<{USER}> SMTPUTF8").code == 250
        r = c.cmd(f"RCPT TO:<{RCPT}>")
        assert r.code == 250, r
        r = c.send_message(make_message("utf8 envelope", b"hello\r\n", sender=USER, to=USER))
        assert r.code == 250, r
    finally:
        c.close()


def wait_for(pred, what, server, seconds=20):
    for _ in deadline_loop(seconds, 0.1):
        if pred():
            return
    raise AssertionError(f"timed out waiting for {what}; log:\n{server.log_tail(40)}")


def test_utf8_recipient_goes_out_with_smtputf8(tls_factory, dns):
    sink = Sink(smtputf8=True)
    try:
        s = start(tls_factory, dns, sink)
        submit_utf8(s)
        wait_for(lambda: sink.messages, "delivery to the MX", s)
        mail, rcpts, data = sink.messages[0]
        assert mail.upper().endswith(b" SMTPUTF8") or b" SMTPUTF8 " in mail.upper(), mail
        assert mail.startswith(b"MAIL FROM:<" + USER.encode() + b">"), mail
        assert rcpts == [b"RCPT TO:<" + RCPT.encode("utf-8") + b">"], rcpts
        assert b"hello" in data
        wait_for(lambda: "status=sent" in s.log_text(), "the sent record", s)
    finally:
        sink.close()


def test_utf8_recipient_without_smtputf8_bounces_5_6_7(tls_factory, dns):
    sink = Sink(smtputf8=False)
    try:
        s = start(tls_factory, dns, sink)
        submit_utf8(s)
        wait_for(lambda: "dsn=5.6.7, status=bounced" in s.log_text(), "the bounce", s)
        assert sink.messages == []
    finally:
        sink.close()
