"""
Outbound delivery between real servers (issue 5): two Posthorn instances (domain a.test on
127.0.0.2, b.test on 127.0.0.3) exchange mail both ways, found through MX records of the test
DNS server, and a private Postfix (c.test on 127.0.0.4, tests/proto/postfixhelp.py) receives mail
from Posthorn into a Maildir and relays mail to Posthorn, both ways with STARTTLS.

All three listen for SMTP on the same port number P (one that is free on the three addresses),
so that every Posthorn can use smtp_outbound_port = P and Postfix's transport map names
[127.0.0.2]:P. Every wait is bounded; Postfix needs root (the tests run as root in CI) and is
started and stopped with its own config directory, never the system's.
"""

import socket
import subprocess

import pytest

from conftest import deadline_loop, make_message
from postfixhelp import Postfix
from tlshelp import tls_factory  # noqa: F401 (fixture)
from test_queue import DnsServer, queue_ids, submit, wait_for

ALICE, ALICE_PW = "alice@a.test", "alice-Secret-1"
BOB, BOB_PW = "bob@b.test", "bob-Secret-2"
CAROL = "carol@c.test"

ZONE = """
a.test. 300 IN MX 10 mx.a.test.
mx.a.test. 300 IN A 127.0.0.2
b.test. 300 IN MX 10 mx.b.test.
mx.b.test. 300 IN A 127.0.0.3
c.test. 300 IN MX 10 mx.c.test.
mx.c.test. 300 IN A 127.0.0.4
"""


def shared_port():
    """A port free on 127.0.0.2, .3 and .4 at once (bounded number of tries)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.2", 0))
            port = s.getsockname()[1]
        ok = True
        for host in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            with socket.socket() as t:
                try:
                    t.bind((host, port))
                except OSError:
                    ok = False
        if ok:
            return port
    raise AssertionError("no port free on 127.0.0.2-4")


@pytest.fixture
def net():
    with DnsServer(ZONE) as dns:
        yield {"dns": dns, "port": shared_port()}


def instance(tls_factory, net, domain, address, user, password):
    s = tls_factory(conf={
        "hostname": f"mx.{domain}",
        "dns_resolver": f"127.0.0.1@{net['dns'].port}",
        "dns_trust_anchor": "none",
        "relayhost": "",
        "smtp_outbound_port": str(net["port"]),
        "queue_retry_min": "1s",
        "queue_retry_max": "2s",
        "queue_scan_interval": "1s",
    }, accounts={user: password}, domain=domain, start=False)
    s.set_conf(smtp_listen=f"127.0.0.1:{s.smtp_port},{address}:{net['port']}")
    s.start()
    return s


@pytest.fixture
def a_and_b(tls_factory, net):
    a = instance(tls_factory, net, "a.test", "127.0.0.2", ALICE, ALICE_PW)
    b = instance(tls_factory, net, "b.test", "127.0.0.3", BOB, BOB_PW)
    return a, b


@pytest.fixture
def postfix(data_base, net):
    # a throwaway self-signed certificate for Postfix's smtpd (nobody verifies it)
    key, cert = data_base / "pf-key.pem", data_base / "pf-cert.pem"
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=mx.c.test", "-keyout", str(key), "-out", str(cert)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    p = Postfix(data_base / "postfix", "127.0.0.4", net["port"], "c.test", ["carol"],
                {"a.test": f"[127.0.0.2]:{net['port']}", "b.test": f"[127.0.0.3]:{net['port']}"},
                tls_files=(key, cert))
    try:
        p.start()
        yield p
    finally:
        p.stop()


def mailbox_with(server, user, needle):
    return [m for m in server.messages(user) if needle in m]


def test_two_posthorn_instances_both_ways(a_and_b):
    a, b = a_and_b
    submit(a, [BOB], make_message("a to b", b"from alice to bob\r\n", sender=ALICE, to=BOB),
           user=ALICE)
    submit(b, [ALICE], make_message("b to a", b"from bob to alice\r\n", sender=BOB, to=ALICE),
           user=BOB)
    wait_for(lambda: mailbox_with(b, BOB, b"from alice to bob"), "alice's mail at b", b, 30)
    wait_for(lambda: mailbox_with(a, ALICE, b"from bob to alice"), "bob's mail at a", a, 30)
    got = mailbox_with(b, BOB, b"from alice to bob")
    assert len(got) == 1
    assert b"by mx.b.test" in got[0] and b"Subject: a to b" in got[0]
    sent = [ln for ln in a.log_text().splitlines()
            if f"to=<{BOB}>, relay=mx.b.test[127.0.0.3]:" in ln and "status=sent" in ln]
    assert len(sent) == 1, a.log_tail(30)
    # STARTTLS is offered by b and used by a (opportunistic)
    assert "TLS established" in b.log_text()
    wait_for(lambda: queue_ids(a) == [] and queue_ids(b) == [], "empty queues", a)
    assert len(mailbox_with(a, ALICE, b"from bob to alice")) == 1


def test_bounce_between_instances(a_and_b):
    """b refuses an unknown user with 550: a sends alice one DSN naming b's reply."""
    a, b = a_and_b
    submit(a, ["nobody@b.test"], make_message("to nobody", b"nobody home\r\n", sender=ALICE,
                                              to="nobody@b.test"), user=ALICE)
    wait_for(lambda: [m for m in a.messages(ALICE) if b"multipart/report" in m],
             "the DSN at a", a, 30)
    dsn = [m for m in a.messages(ALICE) if b"multipart/report" in m]
    assert len(dsn) == 1
    assert b"Final-Recipient: rfc822; nobody@b.test" in dsn[0]
    assert b"Remote-MTA: dns; mx.b.test" in dsn[0]
    assert b"550" in dsn[0] and b"5.1.1" in dsn[0]
    wait_for(lambda: queue_ids(a) == [], "an empty queue at a", a)


@pytest.mark.timeout(150)
def test_posthorn_to_postfix(tls_factory, net, postfix):
    a = instance(tls_factory, net, "a.test", "127.0.0.2", ALICE, ALICE_PW)
    body = (b"to postfix\r\n.a leading dot\r\n" + "Gr\u00fc\u00dfe".encode() + b"\r\n"
            + b"y" * 1500 + b"\r\nend\r\n")
    submit(a, [CAROL], make_message("a to c", body, sender=ALICE, to=CAROL), user=ALICE)
    for _ in deadline_loop(40, 0.1):
        if postfix.maildir("carol"):
            break
    got = postfix.maildir("carol")
    assert len(got) == 1, f"posthorn log:\n{a.log_tail(30)}\npostfix log:\n{postfix.log_text()}"
    # Postfix stores with LF line ends; a line over 998 octets was folded by Posthorn
    # (RFC 5322 2.1.1), so compare the text without the line structure of the long line
    text = got[0]
    assert b"Subject: a to c" in text and b"Return-Path: <alice@a.test>" in text
    assert b"\n.a leading dot\n" in text
    assert "Gr\u00fc\u00dfe".encode() in text
    assert text.replace(b"\n", b"").count(b"y" * 1500) == 1
    assert text.rstrip(b"\n").endswith(b"end")
    assert "status=sent" in postfix.log_text()
    # Posthorn took the STARTTLS Postfix offers
    assert "TLS connection established from" in postfix.log_text(), postfix.log_text()
    wait_for(lambda: queue_ids(a) == [], "an empty queue at a", a)
    sent = [ln for ln in a.log_text().splitlines()
            if f"to=<{CAROL}>, relay=mx.c.test[127.0.0.4]:" in ln and "status=sent" in ln]
    assert len(sent) == 1


@pytest.mark.timeout(150)
def test_postfix_to_posthorn(tls_factory, net, postfix):
    a = instance(tls_factory, net, "a.test", "127.0.0.2", ALICE, ALICE_PW)
    with socket.create_connection(("127.0.0.4", net["port"]), timeout=10) as s:
        f = s.makefile("rb")

        def cmd(line, expect):
            if line is not None:
                s.sendall(line.encode() + b"\r\n")
            reply = f.readline()
            while reply[3:4] == b"-":
                reply = f.readline()
            assert reply.startswith(expect.encode()), (line, reply)

        cmd(None, "220")
        cmd("EHLO client.c.test", "250")
        cmd(f"MAIL FROM:<{CAROL}>", "250")
        cmd(f"RCPT TO:<{ALICE}>", "250")
        cmd("DATA", "354")
        msg = make_message("c to a", b"relayed by postfix\r\n", sender=CAROL, to=ALICE)
        s.sendall(msg + b".\r\n")
        cmd(None, "250")
        cmd("QUIT", "221")
    wait_for(lambda: mailbox_with(a, ALICE, b"relayed by postfix"), "postfix's mail at a", a,
             40)
    got = mailbox_with(a, ALICE, b"relayed by postfix")
    assert len(got) == 1
    assert b"by mx.c.test (Postfix)" in got[0], got[0][:600]
    assert b"by mx.a.test" in got[0]
    for _ in deadline_loop(20, 0.2):
        if "status=sent" in postfix.log_text() and "relay=127.0.0.2[127.0.0.2]" in \
                postfix.log_text():
            break
    log = postfix.log_text()
    assert f"to=<{ALICE}>, relay=127.0.0.2[127.0.0.2]:{net['port']}" in log, log
    assert "status=sent" in log
    # and Postfix took the STARTTLS Posthorn offers on its SMTP port
    assert "TLS connection established to 127.0.0.2" in log, log
