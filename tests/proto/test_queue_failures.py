"""
Outbound delivery, failure paths (issue 5): malformed and overlong replies from the next hop,
DNS timeouts, queue lifetime expiry, mail loops (too many Received: fields), a DSN that cannot
be delivered (never a DSN about a DSN), and `posthorn queue bounce`.

Uses ScriptedSmtp, the DNS zone and the helpers of queuehelp.py; the scripted server's
rcpt_replies / hold_rcpt hooks make it misbehave on purpose. Every wait is bounded.
"""

import email
import threading
import time

import pytest

from conftest import USER, make_message
from tlshelp import tls_factory  # noqa: F401 (fixture)
from queuehelp import (ZONE, ScriptedSmtp, dns_fixture, dsns, log_lines, outbound_conf,
                       outcomes, queue_ids, sink_fixture, submit, wait_for)

FAILURE_ZONE = ZONE + "!timeout slow.test.\n"

remote = sink_fixture(ScriptedSmtp)
dns = dns_fixture(FAILURE_ZONE)


def status_part(dsn_bytes):
    msg = email.message_from_bytes(dsn_bytes)
    assert msg.get_content_type() == "multipart/report"
    return msg.get_payload()[1].as_string()


# garbage the next hop may send: ESC sequences, BEL, NUL, a bare CR, 8-bit bytes
NASTY = b"\x1b[31mred\x07 \x00nul \rcr \xff\xfe end"


def assert_no_raw_controls(data, what):
    for bad in (b"\x1b", b"\x07", b"\x00"):
        assert bad not in data, f"raw control byte {bad!r} in {what}"


def test_malformed_multiline_reply_deferred(tls_factory, remote, dns):
    """A multi-line reply whose lines carry different codes, or a continuation line without a
    code, breaks the connection (RFC 5321 4.2.1): the recipient is deferred, nothing crashes,
    and the log line carries only sanitised text."""
    s = tls_factory(conf=outbound_conf(dns, remote.port))
    remote.rcpt_replies["mixcode"] = (b"250-first line fine\r\n451-" + NASTY
                                      + b"\r\n250 last\r\n")
    remote.rcpt_replies["nocode"] = b"250-first line fine\r\ngarbage " + NASTY + b"\r\n"
    for rcpt in ("mixcode1@remote.test", "nocode1@remote.test"):
        submit(s, [rcpt], make_message("malformed", b"x\r\n", sender=USER, to=rcpt))
    for rcpt in ("mixcode1@remote.test", "nocode1@remote.test"):
        wait_for(lambda: outcomes(s, rcpt, "deferred"),
                 f"a deferral of {rcpt}", s, 30)
        line = outcomes(s, rcpt, "deferred")[0]
        assert "malformed reply" in line, line
        assert "dsn=4." in line, line
    assert_no_raw_controls(s.log_path.read_bytes(), "the log")
    assert len(queue_ids(s)) == 2, "deferred entries must stay queued"
    assert remote.messages == []
    assert dsns(s) == [], "a deferral must not bounce"
    s.assert_healthy()


def test_overlong_reply_lines(tls_factory, remote, dns):
    """Reply lines far above the 512 octets of RFC 5321 4.5.3.1.5: the code counts (451 is
    deferred, 550 bounced), the text is truncated and sanitised in the log and the DSN."""
    s = tls_factory(conf=outbound_conf(dns, remote.port))
    remote.rcpt_replies["ovtemp"] = b"451 4.3.2 " + b"T" * 6000 + NASTY + b"\r\n"
    remote.rcpt_replies["ovperm"] = (b"550-5.1.1 " + b"P" * 3000 + b"\r\n550 5.1.1 " + NASTY
                                 + b"Q" * 70000 + b"\r\n")
    submit(s, ["ovperm1@remote.test", "ok7@remote.test"],
           make_message("overlong", b"overlong replies\r\n", sender=USER, to="ok7@remote.test"))
    submit(s, ["ovtemp1@remote.test"],
           make_message("overlong 4xx", b"overlong\r\n", sender=USER, to="ovtemp1@remote.test"))
    wait_for(lambda: remote.received("ok7@remote.test"), "the good recipient's delivery", s)
    wait_for(lambda: outcomes(s, "ovperm1@remote.test", "bounced"), "the bounce", s)
    perm = outcomes(s, "ovperm1@remote.test", "bounced")[0]
    assert "status=bounced" in perm and "dsn=5.1.1" in perm, perm
    assert len(perm) < 4000, "an overlong reply must be truncated in the log"
    wait_for(lambda: outcomes(s, "ovtemp1@remote.test", "deferred"), "the 4xx deferral", s)
    temp = outcomes(s, "ovtemp1@remote.test", "deferred")
    assert temp and "dsn=4.3.2" in temp[0], temp
    assert_no_raw_controls(s.log_path.read_bytes(), "the log")
    wait_for(lambda: len(dsns(s)) == 1, "one DSN for the bounced recipient", s)
    d = dsns(s)[0]
    assert_no_raw_controls(d, "the DSN")
    status = status_part(d)
    assert "Final-Recipient: rfc822; ovperm1@remote.test" in status, status
    assert "ovtemp1" not in status and "ok7" not in status, status
    assert "PPPP" in status
    assert len(d) < 20000, "the DSN must carry a truncated diagnostic"
    ids = queue_ids(s)
    assert len(ids) == 1, "the deferred recipient keeps the entry"
    s.assert_healthy()


@pytest.mark.timeout(150)
def test_dns_timeout_defers(tls_factory, remote, dns):
    """An MX query that is never answered: after the resolver's timeout the recipient is
    deferred (4.4.3 class), never bounced."""
    s = tls_factory(conf=outbound_conf(dns, remote.port))
    submit(s, ["a@slow.test"],
           make_message("dns timeout", b"t\r\n", sender=USER, to="a@slow.test"))
    start = time.monotonic()
    wait_for(lambda: outcomes(s, "a@slow.test", "deferred"),
             "a deferral after the DNS timeout", s, 90)
    assert time.monotonic() - start < 90
    assert not outcomes(s, "a@slow.test", "bounced")
    assert len(queue_ids(s)) == 1
    assert dsns(s) == []


def test_servfail_retried_not_bounced(tls_factory, remote, dns):
    """SERVFAIL stays a temporary failure across retries."""
    s = tls_factory(conf=outbound_conf(dns, remote.port))
    submit(s, ["a@broken.test"], make_message("servfail", b"s\r\n", sender=USER,
                                              to="a@broken.test"))
    wait_for(lambda: len(outcomes(s, "a@broken.test", "deferred")) >= 2, "two deferrals", s, 40)
    assert not outcomes(s, "a@broken.test", "bounced")
    assert len(queue_ids(s)) == 1
    assert dsns(s) == []


def test_lifetime_expiry_bounces_once(tls_factory, remote, dns):
    """A recipient that keeps getting 4xx bounces when the queue lifetime is over: one DSN for
    it, none for the recipient that was delivered, and the entry leaves the queue."""
    s = tls_factory(conf=outbound_conf(dns, remote.port, queue_lifetime="3s"))
    remote.rcpt_replies["tmpnasty"] = b"451 4.2.1 busy " + NASTY + b"\r\n"
    submit(s, ["tmp1@remote.test", "ok8@remote.test", "tmpnasty1@remote.test"],
           make_message("expiry", b"expire me\r\n", sender=USER, to="ok8@remote.test"))
    wait_for(lambda: queue_ids(s) == [], "the entry to expire", s, 40)
    wait_for(lambda: len(dsns(s)) == 1, "the DSN", s)
    time.sleep(2.5)
    assert len(dsns(s)) == 1, "more than one DSN"
    assert len(remote.received("ok8@remote.test")) == 1
    assert remote.seen.get("tmp1", 0) >= 2, "the 4xx recipient was not retried"
    d = dsns(s)[0]
    assert_no_raw_controls(d, "the DSN")
    status = status_part(d)
    assert "Final-Recipient: rfc822; tmp1@remote.test" in status, status
    assert "Final-Recipient: rfc822; tmpnasty1@remote.test" in status, status
    assert "ok8@remote.test" not in status
    assert "Action: failed" in status
    # Diagnostic-Code has the remote reply alone (RFC 3464 2.3.6); why we gave up is told
    # in the human-readable part
    assert "Diagnostic-Code: smtp; 450 4.2.1 mailbox busy" in status, status
    human = email.message_from_bytes(d).get_payload()[0].get_payload(decode=True)
    assert b"gave up" in human, human
    bounced = outcomes(s, "tmp1@remote.test", "bounced")
    assert len(bounced) == 1, bounced


def test_too_many_received_is_a_loop(tls_factory, remote, dns):
    """More than 50 Received: fields (RFC 5321 6.3): bounced 5.4.6, never sent; a message
    with fewer goes out."""
    s = tls_factory(conf=outbound_conf(dns, remote.port))
    few = [f"Received: from hop{i}.example by hop{i + 1}.example; Mon, 1 Jan 2024 00:00:00 +0000"
           for i in range(40)]
    many = few + few[:15]
    submit(s, ["ok9@remote.test"], make_message("few hops", b"f\r\n", headers=few, sender=USER,
                                                 to="ok9@remote.test"))
    submit(s, ["ok10@remote.test"], make_message("many hops", b"m\r\n", headers=many,
                                                  sender=USER, to="ok10@remote.test"))
    wait_for(lambda: remote.received("ok9@remote.test"), "the message with 40 hops", s)
    wait_for(lambda: len(dsns(s)) == 1, "the loop DSN", s)
    assert remote.received("ok10@remote.test") == []
    line = outcomes(s, "ok10@remote.test", "bounced")[0]
    assert "dsn=5.4.6" in line, line
    status = status_part(dsns(s)[0])
    assert "Final-Recipient: rfc822; ok10@remote.test" in status
    assert "Status: 5.4.6" in status, status
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)


def test_undeliverable_dsn_makes_no_dsn(tls_factory, remote, dns):
    """A DSN (null sender) that itself fails is dropped with a log line, never answered by
    another DSN (RFC 5321 4.5.5): the sender's account disappears while its message bounces."""
    s = tls_factory(conf=outbound_conf(dns, remote.port))
    reached, release = threading.Event(), threading.Event()
    remote.hold_rcpt["bad9"] = (reached, release)
    submit(s, ["bad9@remote.test"], make_message("dsn of dsn", b"d\r\n", sender=USER,
                                                 to="bad9@remote.test"))
    try:
        assert reached.wait(30), "the RCPT never reached the remote"
        s.cli_ok("account", "del", USER)
    finally:
        release.set()
    wait_for(lambda: log_lines(s, "sender non-delivery notification"), "the DSN", s)
    wait_for(lambda: outcomes(s, "user@localhost", "bounced"), "the DSN's bounce", s)
    line = outcomes(s, "user@localhost", "bounced")[0]
    assert "relay=local" in line and "dsn=5.1.1" in line, line
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    time.sleep(2.5)
    assert len(log_lines(s, "sender non-delivery notification")) == 1
    assert queue_ids(s) == []


def test_cli_bounce(tls_factory, remote, dns):
    """`posthorn queue bounce ID`: every pending recipient fails permanently, the scheduler
    finishes the entry (one DSN, entry removed) although no recipient is due any more."""
    s = tls_factory(conf=outbound_conf(dns, remote.port, queue_retry_min="1h",
                                       queue_retry_max="2h"))
    submit(s, ["tmp2@remote.test", "ok11@remote.test"],
           make_message("cli bounce", b"b\r\n", sender=USER, to="tmp2@remote.test"))
    wait_for(lambda: outcomes(s, "tmp2@remote.test", "deferred"), "a deferral", s)
    ids = queue_ids(s)
    assert len(ids) == 1
    r = s.cli("queue", "bounce", ids[0])
    assert r.returncode == 0, r.stderr
    assert "1 recipient bounced" in r.stdout, r.stdout
    # the CLI marks the queue changed, so the next scan may finish the entry before `show`
    # runs: then the entry is gone (and the DSN below proves the bounce); while it is
    # there, it must show the bounce
    shown = s.cli("queue", "show", ids[0], "--json")
    if shown.returncode == 0:
        assert '"state":"bounced"' in shown.stdout, shown.stdout
    else:
        assert queue_ids(s) == [], (shown.stdout, shown.stderr)
    wait_for(lambda: queue_ids(s) == [], "the entry to be finished", s, 40)
    wait_for(lambda: len(dsns(s)) == 1, "the DSN", s)
    status = status_part(dsns(s)[0])
    assert "Final-Recipient: rfc822; tmp2@remote.test" in status
    assert "bounced by the administrator" in status
    assert "ok11" not in status
    assert len(remote.received("ok11@remote.test")) == 1
    assert s.cli("queue", "bounce", ids[0]).returncode == 2
    assert s.cli("queue", "bounce").returncode == 1


def test_cli_bounce_while_stopped_finished_at_start(tls_factory, remote, dns):
    """An entry bounced while the server is down (like one left all-final by a crash between
    recording and removal) is finished by the sweep at start-up, long before the periodic one:
    one DSN, the entry removed."""
    s = tls_factory(conf=outbound_conf(dns, remote.port, queue_retry_min="1h",
                                       queue_retry_max="2h", queue_scan_interval="30s"))
    submit(s, ["tmp3@remote.test"], make_message("bounce offline", b"o\r\n", sender=USER,
                                                 to="tmp3@remote.test"))
    wait_for(lambda: outcomes(s, "tmp3@remote.test", "deferred"), "a deferral", s)
    s.stop_ok()
    ids = queue_ids(s)
    assert len(ids) == 1
    r = s.cli("queue", "bounce", ids[0])
    assert r.returncode == 0, r.stderr
    s.start()
    wait_for(lambda: queue_ids(s) == [], "the start-up sweep to finish the entry", s, 10)
    wait_for(lambda: len(dsns(s)) == 1, "the DSN", s, 10)
    assert "bounced by the administrator" in status_part(dsns(s)[0])


def test_broken_starttls_falls_back_to_plain_text(tls_factory, remote, dns):
    """A next hop that offers STARTTLS but cannot do TLS: with opportunistic TLS (RFC 7435,
    smtp_outbound_tls = may) the same host is tried again at once without STARTTLS, and the
    mail goes out in the same delivery run (no deferral), exactly once."""
    s = tls_factory(conf=outbound_conf(dns, remote.port))
    remote.broken_starttls = True
    submit(s, ["ok12@remote.test"], make_message("bad tls", b"tls is broken\r\n", sender=USER,
                                                 to="ok12@remote.test"))
    wait_for(lambda: remote.received("ok12@remote.test"), "the plain-text delivery", s)
    assert remote.starttls_seen == 1
    assert outcomes(s, "ok12@remote.test", "deferred") == []
    assert len(outcomes(s, "ok12@remote.test", "sent")) == 1
    assert log_lines(s, "trying again without TLS")
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    assert len(remote.received("ok12@remote.test")) == 1
