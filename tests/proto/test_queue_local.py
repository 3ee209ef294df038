"""
Local recipients of queued mail, and delivery slots (serve-queue.c): the scheduler delivers
every recipient of an entry that is ours (our domains, and address literals listed in
local_address_literals, decided as for RCPT on the SMTP side) together, like one SMTP
transaction: the body is stored once (the copies share one EMAILID, RFC 8474 5.1) and each
account gets one copy however many recipients (aliases, subaddresses) reach it; an unknown
local user in the same entry bounces 5.1.1 (an alias leading outside 5.3.0, as RCPT refuses both)
while the others are delivered. A delivery that
waits for a connection slot (queue_destination_concurrency) does not hold a
queue_max_deliveries place, so a busy destination does not stop mail to others.

Queued mail for local recipients is made as it happens in service: mail for a domain that is
not ours yet (its DNS fails, so it stays deferred) becomes local when the domain and its
accounts are added, and `posthorn queue flush` makes it due. Every wait is bounded.
"""

import email
import imaplib
import re
import threading
import time

from conftest import BOB, USER, free_port, make_message, smtp_send
from tlshelp import tls_factory  # noqa: F401 (fixture)
from queuehelp import (ZONE, ScriptedSmtp, dns_fixture, dsns, log_lines, outbound_conf,
                       outcomes, queue_ids, sink_fixture, submit, wait_for)

remote = sink_fixture(ScriptedSmtp)
# other.test reaches the same sink through another host name (another destination)
dns = dns_fixture(ZONE + "other.test. 300 IN MX 10 mx.other.test.\n"
                         "mx.other.test. 300 IN A 127.0.0.2\n")

IMAP_TIMEOUT = 20
DEPT = {  # accounts of broken.test once it is ours
    "a@broken.test": "a-Secret-11",
    "b@broken.test": "b-Secret-12",
}


def emailids(s, user, password):
    """The EMAILID (RFC 8474) of every message in user's INBOX, over IMAP."""
    m = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=IMAP_TIMEOUT)
    try:
        typ, data = m.login(user, password)
        assert typ == "OK", data
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK", data
        if int(data[0]) == 0:
            return []
        typ, data = m.fetch("1:*", "(EMAILID)")
        assert typ == "OK", data
        ids = []
        for item in data:
            text = item.decode() if isinstance(item, bytes) else item[0].decode()
            match = re.search(r"EMAILID \(([A-Za-z0-9_-]+)\)", text)
            assert match, text
            ids.append(match.group(1))
        return ids
    finally:
        m.logout()


def queued(s, rcpt, status):
    """The scheduler's outcome lines for rcpt (not those of SMTP's own local deliveries)."""
    return [line for line in outcomes(s, rcpt, status) if "posthorn/queue[" in line]


def imap_server(tls_factory, dns, remote, **extra):
    port = free_port()
    s = tls_factory(conf=outbound_conf(dns, remote.port, imap_listen=f"127.0.0.1:{port}",
                                       **extra))
    s.imap_port = port
    return s


def test_local_recipients_delivered_together(tls_factory, dns, remote):
    """One entry with two local users, an alias and a subaddress reaching them, an unknown
    user and an alias to another domain: one copy per account from one stored body, one
    outcome line per recipient (sent, relay=local) in one pass, the unknown one bounced 5.1.1
    and the forwarding alias 5.3.0 in one DSN to the sender."""
    s = imap_server(tls_factory, dns, remote, queue_retry_min="1h", queue_retry_max="2h")
    rcpts = ["a@broken.test", "b@broken.test", "c@broken.test", "b+tag@broken.test",
             "x@broken.test", "fwd@broken.test"]
    msg = make_message("to the department", b"one copy each\r\n", sender=USER,
                       to="a@broken.test")
    submit(s, rcpts, msg)
    # broken.test is not ours yet and its DNS fails: every recipient is deferred
    for r in rcpts:
        wait_for(lambda: outcomes(s, r, "deferred"), f"the deferral of {r}", s)
    assert len(queue_ids(s)) == 1
    # now it becomes ours: two accounts, an alias to a, no x
    s.cli_ok("domain", "add", "broken.test")
    for addr, pw in DEPT.items():
        s.add_account(addr, pw)
    s.cli_ok("alias", "add", "c@broken.test", "a@broken.test")
    s.cli_ok("alias", "add", "fwd@broken.test", "someone@remote.test")
    s.cli_ok("queue", "flush")
    wait_for(lambda: queue_ids(s) == [] and dsns(s), "local delivery and the DSN", s, 30)
    for addr in ("a@broken.test", "b@broken.test", "c@broken.test", "b+tag@broken.test"):
        lines = outcomes(s, addr, "sent")
        assert len(lines) == 1, (addr, lines)
        assert "relay=local" in lines[0] and "dsn=2.0.0" in lines[0], lines[0]
    bounced = outcomes(s, "x@broken.test", "bounced")
    assert len(bounced) == 1 and "relay=local" in bounced[0] and "dsn=5.1.1" in bounced[0], \
        bounced
    assert outcomes(s, "x@broken.test", "sent") == []
    # an alias leading outside is refused as RCPT refuses it, not routed to ourselves by MX
    bounced = outcomes(s, "fwd@broken.test", "bounced")
    assert len(bounced) == 1 and "dsn=5.3.0" in bounced[0], bounced
    assert remote.received("someone@remote.test") == []
    # exactly one copy per account, and both copies are one stored body
    got = {addr: s.messages(addr) for addr in DEPT}
    for addr, msgs in got.items():
        assert len(msgs) == 1, (addr, len(msgs))
        assert b"one copy each\r\n" in msgs[0] and b"Subject: to the department" in msgs[0]
    ids = [emailids(s, addr, pw) for addr, pw in DEPT.items()]
    assert len(ids[0]) == 1 and ids[0] == ids[1], ids
    # one DSN, for x and fwd alone
    time.sleep(1.5)
    reports = dsns(s)
    assert len(reports) == 1, len(reports)
    status = email.message_from_bytes(reports[0]).get_payload()[1].as_string()
    assert "Final-Recipient: rfc822; x@broken.test" in status, status
    assert "Final-Recipient: rfc822; fwd@broken.test" in status, status
    assert "Status: 5.1.1" in status and "Status: 5.3.0" in status, status
    for addr in ("a@broken.test", "b@broken.test", "c@broken.test"):
        assert f"rfc822; {addr}" not in status, status
    s.assert_healthy()


def test_local_failure_defers_without_duplicates(tls_factory, dns, remote):
    """A recipient whose account is over quota is deferred (4.2.2, as RCPT's 452) while the
    others of the entry are delivered once; once there is room it is delivered, and nobody
    gets a second copy."""
    s = imap_server(tls_factory, dns, remote, queue_retry_min="1h", queue_retry_max="2h")
    rcpts = ["a@broken.test", "b@broken.test"]
    submit(s, rcpts, make_message("quota", b"q\r\n", sender=USER, to="a@broken.test"))
    for r in rcpts:
        wait_for(lambda: outcomes(s, r, "deferred"), f"the deferral of {r}", s)
    s.cli_ok("domain", "add", "broken.test")
    for addr, pw in DEPT.items():
        s.add_account(addr, pw)
    s.cli_ok("account", "quota", "b@broken.test", "0", "1")
    # fill b's quota with one message of its own
    smtp_send(s, "sender@example.org", ["b@broken.test"],
              make_message("filler", b"f\r\n", to="b@broken.test"))
    s.cli_ok("queue", "flush")
    wait_for(lambda: queued(s, "a@broken.test", "sent"), "a's delivery", s)
    wait_for(lambda: any("dsn=4.2.2" in line
                         for line in queued(s, "b@broken.test", "deferred")),
             "b's quota deferral", s)
    assert len(s.messages("a@broken.test")) == 1
    assert len(s.messages("b@broken.test")) == 1
    s.cli_ok("account", "quota", "b@broken.test", "0", "0")
    s.cli_ok("queue", "flush")
    wait_for(lambda: queue_ids(s) == [], "the entry to finish", s)
    assert len(queued(s, "a@broken.test", "sent")) == 1
    assert len(queued(s, "b@broken.test", "sent")) == 1
    assert len(s.messages("a@broken.test")) == 1
    assert len(s.messages("b@broken.test")) == 2


def test_own_address_literal_delivered_locally(tls_factory, dns, remote):
    """user@[127.0.0.1] with 127.0.0.1 in local_address_literals is ours: RCPT takes it as a
    local recipient, and so does the scheduler: a "delivered" DSN to the sender
    user@[127.0.0.1] goes into user@localhost's mailbox, not over SMTP to ourselves."""
    s = tls_factory(conf=outbound_conf(dns, remote.port, local_address_literals="127.0.0.1",
                                       smtp_outbound_port=str(free_port())))
    sender = "user@[127.0.0.1]"
    smtp_send(s, sender, ["bob@[127.0.0.1]"],
              make_message("literal", b"to a literal\r\n", sender=sender, to=BOB),
              rcpt_options=["NOTIFY=SUCCESS"])
    assert any(b"to a literal" in m for m in s.messages(BOB))
    wait_for(lambda: outcomes(s, sender, "sent"), "the DSN's delivery", s)
    line = outcomes(s, sender, "sent")[0]
    assert "relay=local" in line and "dsn=2.0.0" in line, line
    assert outcomes(s, sender, "deferred") == []
    reports = dsns(s, USER)
    assert len(reports) == 1, len(reports)
    status = email.message_from_bytes(reports[0]).get_payload()[1].as_string()
    assert "Action: delivered" in status, status
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)


def test_unlisted_literal_is_not_local(tls_factory, dns, remote):
    """With its IP not in local_address_literals a literal is nobody's local address on either side:
    RCPT refuses it (no relay), and queued mail to it goes to the network (here: deferred,
    nothing listens), never into a local mailbox."""
    s = tls_factory(conf=outbound_conf(dns, remote.port, smtp_outbound_port=str(free_port()),
                                       local_address_literals="192.0.2.7",
                                       queue_retry_min="1h", queue_retry_max="2h"))
    c = s.smtp_client("smtp")
    try:
        assert c.ehlo().code == 250
        assert c.cmd("MAIL FROM:<sender@example.org>").code == 250
        r = c.cmd("RCPT TO:<bob@[127.0.0.1]>")
        assert r.code == 554, r
    finally:
        c.close()
    sender = "user@[127.0.0.1]"
    smtp_send(s, sender, [BOB], make_message("unlisted", b"u\r\n", sender=sender, to=BOB),
              rcpt_options=["NOTIFY=SUCCESS"])
    wait_for(lambda: outcomes(s, sender, "deferred"), "the DSN's deferral", s)
    assert "relay=local" not in outcomes(s, sender, "deferred")[0]
    assert dsns(s, USER) == []


def test_waiting_delivery_does_not_hold_a_delivery_place(tls_factory, dns, remote):
    """queue_max_deliveries = 2, queue_destination_concurrency = 1: one message held at the
    busy destination, a second waiting for its slot, and a third for another destination is
    delivered meanwhile (it would wait for the first before the fix)."""
    s = tls_factory(conf=outbound_conf(dns, remote.port, queue_max_deliveries=2,
                                       queue_destination_concurrency=1,
                                       queue_connection_cache_time="0", log_level="debug"))
    reached, release = threading.Event(), threading.Event()
    remote.hold_rcpt["slow"] = (reached, release)
    try:
        submit(s, ["slow1@remote.test"],
               make_message("slow 1", b"s1\r\n", sender=USER, to="slow1@remote.test"))
        assert reached.wait(30), "the first RCPT never reached the remote"
        submit(s, ["slow2@remote.test"],
               make_message("slow 2", b"s2\r\n", sender=USER, to="slow2@remote.test"))
        wait_for(lambda: log_lines(s, "waiting for a connection slot to mx.remote.test"),
                 "the second delivery to wait for a slot", s)
        submit(s, ["ok3@other.test"],
               make_message("other", b"o\r\n", sender=USER, to="ok3@other.test"))
        wait_for(lambda: remote.received("ok3@other.test"), "delivery to the idle destination",
                 s, 15)
        assert remote.received("slow1@remote.test") == []
        assert remote.received("slow2@remote.test") == []
    finally:
        release.set()
    wait_for(lambda: remote.received("slow2@remote.test"), "the waiting delivery", s, 30)
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    for r in ("slow1@remote.test", "slow2@remote.test", "ok3@other.test"):
        assert len(remote.received(r)) == 1, r
    assert outcomes(s, None, "deferred") == []
    s.assert_healthy()
