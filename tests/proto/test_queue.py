"""
Outbound delivery (the queue scheduler): mail submitted for another domain is routed by MX
through the test DNS server (tests/dnsserver.py) and handed to a scripted SMTP server on
127.0.0.2; per-recipient outcomes are recorded, 4xx retried, 5xx and DNS dead ends bounced with
one DSN (RFC 3464) that lands in the sender's own mailbox, and content arrives intact
(dot-stuffing, 8-bit, CRLF only).

The scripted server is ScriptedSmtp of queuehelp.py: it decides by the recipient's local part
(ok* accepts, bad* gets 550 5.1.1, later* gets 450 4.2.1 the first time, tmp* every time, drop*
makes it close the connection in the middle of the DATA phase once); the other test_queue_*.py
script more through its attributes. The names other test files import from here (ZONE,
DnsServer, ScriptedSmtp, queue_ids, submit, wait_for) are those of queuehelp.py.
"""

import email
import time

import pytest

from conftest import USER, make_message
from tlshelp import tls_factory  # noqa: F401 (fixture)
from queuehelp import (DEFAULT_CAPABILITIES, ZONE, DnsServer,  # noqa: F401 (DnsServer)
                       ScriptedSmtp, SmtpSink, dns_fixture, dsns, log_lines, outbound_conf,
                       outcomes, queue_ids, sink_fixture, submit, wait_for)

# besides queuehelp's ZONE: MX hosts that do not exist (NXDOMAIN) or have no address (NODATA)
ZONE_NOHOST = ZONE + """
nohost.test. 300 IN MX 10 mx.nohost.test.
nohost.test. 300 IN MX 20 mx2.nohost.test.
noaddr.test. 300 IN MX 10 mx.noaddr.test.
mx.noaddr.test. 300 IN TXT "a name with no address"
noimplicit.test. 300 IN TXT "no MX and no address"
halfmx.test. 300 IN MX 10 gone.halfmx.test.
halfmx.test. 300 IN MX 20 mx.remote.test.
"""

remote = sink_fixture(ScriptedSmtp)
dns = dns_fixture(ZONE_NOHOST)


@pytest.fixture
def outbound(tls_factory, remote, dns):
    return tls_factory(conf=outbound_conf(dns, remote.port))


def deliver_one(server, sink, rcpt, subject, body):
    """Submit a message with body to rcpt alone and wait until sink has it from USER to rcpt;
    returns the data as received."""
    submit(server, [rcpt], make_message(subject, body, sender=USER, to=rcpt))
    wait_for(lambda: sink.received(rcpt), f"the delivery to {rcpt}", server)
    mail_from, rcpts, data = sink.received(rcpt)[0]
    assert mail_from == USER and rcpts == [rcpt]
    return data


def test_delivered_by_mx_intact(outbound, remote):
    s = outbound
    body = (b"Gr\xc3\xbc\xc3\x9fe aus dem Test\r\n.leading dot\r\n..two dots\r\n"
            + b"x" * 900 + b"\r\nend\r\n")
    data = deliver_one(s, remote, "ok@remote.test", "outbound intact", body)
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


def test_delivered_by_bdat_when_chunking_offered(tls_factory, dns):
    """A next hop that offers CHUNKING gets the message in BDAT chunks (RFC 3030), never with
    DATA, and byte for byte as submitted: no dot-stuffing inside BDAT (RFC 3030 2)."""
    with SmtpSink(capabilities=DEFAULT_CAPABILITIES + ("CHUNKING",)) as sink:
        s = tls_factory(conf=outbound_conf(dns, sink.port))
        body = (b".leading dot\r\n..two dots\r\n.\r\n"
                + b"".join(b"chunk line %05d\r\n" % n for n in range(6000)) + b"end\r\n")
        data = deliver_one(s, sink, "ok5@remote.test", "chunked", body)
        assert data.endswith(body), data[-200:]
        verbs = [c.split(" ", 1)[0].upper() for c in sink.commands]
        assert "BDAT" in verbs and "DATA" not in verbs, verbs
        last = [c for c in sink.commands if c.upper().startswith("BDAT ")][-1]
        assert last.upper().endswith(" LAST"), sink.commands
        wait_for(lambda: queue_ids(s) == [], "the entry to leave the queue", s)


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
    wait_for(lambda: len(dsns(s)) == 1, "the DSN in the sender's mailbox", s)
    time.sleep(1.5)
    assert len(dsns(s)) == 1, "more than one DSN"
    dsn = email.message_from_bytes(dsns(s)[0])
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
    assert b"mixed results" in dsns(s)[0]


def test_servfail_defers_without_bounce(outbound, remote):
    s = outbound
    msg = make_message("servfail", b"dns trouble\r\n", sender=USER, to="a@broken.test")
    submit(s, ["a@broken.test"], msg)
    wait_for(lambda: "to=<a@broken.test>, relay=none" in s.log_text()
             and "status=deferred" in s.log_text(), "a deferral", s)
    assert len(queue_ids(s)) == 1
    assert dsns(s) == []


def test_unreachable_first_mx_and_drop_mid_data(outbound, remote):
    s = outbound
    msg = make_message("two mx", b"second mx please\r\n", sender=USER, to="ok2@twomx.test")
    submit(s, ["ok2@twomx.test"], msg)
    wait_for(lambda: remote.received("ok2@twomx.test"), "delivery through the second MX", s)
    wait_for(lambda: log_lines(s, "to=<ok2@twomx.test>, relay=mx.remote.test"),
             "the sent line", s)
    # the preference-10 host was tried first, and its failure logged (Postfix style:
    # "ID: connect to HOST[IP]:PORT: REASON")
    lines = s.log_text().splitlines()
    dead = [i for i, ln in enumerate(lines)
            if f"connect to dead.twomx.test[127.0.0.3]:{remote.port}: " in ln]
    sent = [i for i, ln in enumerate(lines)
            if "to=<ok2@twomx.test>, relay=mx.remote.test[127.0.0.2]" in ln
            and "status=sent" in ln]
    assert dead and sent and dead[0] < sent[0], (dead, sent, s.log_tail(30))
    assert "Connection refused" in lines[dead[0]], lines[dead[0]]
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
    s.restart()
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
    s.restart()
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


def test_mx_hosts_without_address_bounced(outbound, remote):
    """Every MX host of a domain authoritatively has no address (NXDOMAIN for both MX names of
    nohost.test, NODATA for noaddr.test's), or the implicit MX has none (noimplicit.test exists
    but has neither MX nor address records): waiting cannot help, so the recipients bounce at
    once with 5.4.4 (Postfix: "Host or domain name not found"), one DSN, no retry. A domain that
    does not exist at all still bounces with 5.1.2."""
    s = outbound
    rcpts = ["a@nohost.test", "b@noaddr.test", "c@noimplicit.test", "d@nxdomain.test"]
    msg = make_message("no host", b"nowhere to go\r\n", sender=USER, to=rcpts[0])
    submit(s, rcpts, msg)
    wait_for(lambda: queue_ids(s) == [], "the entry to be finished", s)
    wait_for(lambda: len(dsns(s)) == 1, "the DSN in the sender's mailbox", s)
    for r in rcpts:
        assert len(outcomes(s, r, "bounced")) == 1, log_lines(s, f"to=<{r}>")
        assert outcomes(s, r, "deferred") == [], log_lines(s, f"to=<{r}>")
    for r in rcpts[:3]:
        assert "dsn=5.4.4" in outcomes(s, r, "bounced")[0], outcomes(s, r, "bounced")
    assert "dsn=5.1.2" in outcomes(s, "d@nxdomain.test", "bounced")[0]
    # both MX hosts of nohost.test were looked up (the last one is reported)
    assert log_lines(s, "name=mx.nohost.test type=A: Host not found")
    assert "name=mx2.nohost.test type=A: Host not found" in outcomes(s, "a@nohost.test",
                                                                     "bounced")[0]
    status = email.message_from_bytes(dsns(s)[0]).get_payload()[1].as_string()
    for r in rcpts:
        assert f"Final-Recipient: rfc822; {r}" in status, status
    assert status.count("Status: 5.4.4") == 3 and "Status: 5.1.2" in status, status
    assert "Host or domain name not found" in status, status
    time.sleep(2.5)  # more than one retry interval: nothing was retried, nothing more sent
    assert len(dsns(s)) == 1
    for r in rcpts:
        assert outcomes(s, r, "deferred") == [] and len(outcomes(s, r, "bounced")) == 1
    assert remote.connections == 0


def test_one_mx_without_address_other_delivers(outbound, remote):
    """A missing MX host among good ones is skipped (logged), the mail goes to the next MX and
    nothing bounces."""
    s = outbound
    deliver_one(s, remote, "ok7@halfmx.test", "half", b"via the second MX\r\n")
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    assert len(outcomes(s, "ok7@halfmx.test", "sent")) == 1
    assert outcomes(s, "ok7@halfmx.test", "bounced") == []
    assert log_lines(s, "name=gone.halfmx.test type=A: Host not found")
    assert dsns(s) == []
