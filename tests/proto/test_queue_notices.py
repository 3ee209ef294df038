"""
Delivery status notices of the outbound queue beyond bounces (RFC 3461 5.2, 6.2; RFC 3464):
success notices ("relayed") for NOTIFY=SUCCESS when the next hop does not offer DSN, none when
it does (it takes NOTIFY over), one delay notice per recipient after queue_delay_warning (kept
across a restart), and one combined report when failures and successes end in the same round.

The next hop is a small scripted SMTP server on 127.0.0.2 (NoticeSmtp below, an SmtpSink of
queuehelp.py) that can offer DSN or not and records the RCPT lines it got; routing by MX goes
through tests/dnsserver.py like test_queue.py. Notices go to the local sender, so they land in
its mailbox. Every wait is bounded.
"""

import email
import threading
import time

import pytest

from conftest import USER, make_message
from tlshelp import tls_factory  # noqa: F401 (fixture)
from queuehelp import (SmtpSink, dns_fixture, dsns, log_lines, outbound_conf, queue_ids,
                       queue_json, sink_fixture, submit, wait_for)


class NoticeSmtp(SmtpSink):
    """Next hop by recipient local part: bad* gets 550 5.1.1, slow* gets 450 4.2.1 until
    accept_slow is set, everything else 250. offer_dsn puts DSN into the EHLO reply."""

    def __init__(self, offer_dsn=False):
        super().__init__(name="notices.test",
                         capabilities=["8BITMIME", "PIPELINING"] + (["DSN"] if offer_dsn else [])
                         + ["ENHANCEDSTATUSCODES", "SIZE 10000000"])
        self.accept_slow = threading.Event()

    def on_rcpt(self, s, addr, local):
        if local.startswith("bad"):
            return "550 5.1.1 no such user here"
        if local.startswith("slow") and not self.accept_slow.is_set():
            return "450 4.2.1 mailbox busy, try later"
        return "250 2.1.5 ok"


dns = dns_fixture()
remote = sink_fixture(NoticeSmtp)
dsn_remote = sink_fixture(NoticeSmtp, offer_dsn=True)


def report_fields(dsn_bytes):
    """The message/delivery-status part: (per-message fields, [per-recipient dicts])."""
    msg = email.message_from_bytes(dsn_bytes)
    assert msg.get_content_type() == "multipart/report"
    part = msg.get_payload()[1]
    assert part.get_content_type() == "message/delivery-status"
    text = part.as_string().split("\n\n", 1)[1]
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]

    def fields(block):
        out = {}
        for line in block.splitlines():
            if ":" in line and not line[0].isspace():
                k, v = line.split(":", 1)
                out[k.strip().lower()] = v.strip()
        return out

    return fields(blocks[0]), [fields(b) for b in blocks[1:]]


def test_success_relayed_without_remote_dsn(tls_factory, remote, dns):
    """NOTIFY=SUCCESS to a next hop without DSN: exactly one success notice, action "relayed"
    (RFC 3461 5.2.3), headers only, to the local sender; the entry goes away and the notice
    is not repeated."""
    s = tls_factory(conf=outbound_conf(dns, remote.port))
    msg = make_message("success please", b"the body text 7734\r\n", sender=USER,
                       to="ok1@remote.test")
    submit(s, [("ok1@remote.test", "NOTIFY=SUCCESS")], msg)
    wait_for(lambda: remote.received("ok1@remote.test"), "the relay", s, 30)
    assert "NOTIFY" not in remote.rcpts_seen("ok1@remote.test")[0], \
        "NOTIFY must not go to a server without DSN"
    wait_for(lambda: len(dsns(s)) >= 1, "the success notice", s, 30)
    wait_for(lambda: queue_ids(s) == [], "the queue to empty", s, 30)
    time.sleep(3)  # a few more scans: nothing more may come
    notices = dsns(s)
    assert len(notices) == 1, [n[:300] for n in notices]
    d = notices[0]
    head = email.message_from_bytes(d)
    assert head["Subject"] == "Delivery success notice", head["Subject"]
    per_msg, per_rcpt = report_fields(d)
    assert len(per_rcpt) == 1, per_rcpt
    assert per_rcpt[0]["final-recipient"] == "rfc822; ok1@remote.test", per_rcpt
    assert per_rcpt[0]["action"] == "relayed", per_rcpt
    assert per_rcpt[0]["status"].startswith("2."), per_rcpt
    assert b"the body text 7734" not in d, "a success notice returns the header only"
    assert log_lines(s, "sender delivery status notification:"), s.log_tail()
    s.assert_healthy()


def test_no_notice_when_remote_offers_dsn(tls_factory, dsn_remote, dns):
    """The next hop offers DSN: NOTIFY=SUCCESS is passed on with the RCPT and we send no
    notice ourselves (RFC 3461 5.2.2)."""
    s = tls_factory(conf=outbound_conf(dns, dsn_remote.port))
    msg = make_message("success via dsn hop", b"x\r\n", sender=USER, to="ok2@remote.test")
    submit(s, [("ok2@remote.test", "NOTIFY=SUCCESS")], msg)
    wait_for(lambda: dsn_remote.received("ok2@remote.test"), "the relay", s, 30)
    line = dsn_remote.rcpts_seen("ok2@remote.test")[0]
    assert "NOTIFY=SUCCESS" in line.upper(), line
    wait_for(lambda: queue_ids(s) == [], "the queue to empty", s, 30)
    time.sleep(3)
    assert dsns(s) == [], "no notice from us when the next hop reports"
    assert not log_lines(s, "notification:"), s.log_tail()
    s.assert_healthy()


@pytest.mark.timeout(180)
def test_one_delay_notice_kept_across_restart(tls_factory, remote, dns):
    """A recipient deferred past queue_delay_warning gets exactly one delay notice (action
    "delayed", Will-Retry-Until), not repeated by later retries nor after a restart; one with
    NOTIFY=FAILURE gets none. When it finally goes through, no failure notice follows."""
    s = tls_factory(conf=outbound_conf(dns, remote.port, queue_delay_warning="3s"))
    submit(s, [("slow1@remote.test", "")],
               make_message("delayed one", b"d\r\n", sender=USER, to="slow1@remote.test"))
    submit(s, [("slow2@remote.test", "NOTIFY=FAILURE")],
               make_message("delayed two", b"d\r\n", sender=USER, to="slow2@remote.test"))
    wait_for(lambda: len(dsns(s)) >= 1, "the delay notice", s, 40)
    d = dsns(s)[0]
    assert email.message_from_bytes(d)["Subject"].startswith("Delivery delay notice")
    per_msg, per_rcpt = report_fields(d)
    assert [r["final-recipient"] for r in per_rcpt] == ["rfc822; slow1@remote.test"], per_rcpt
    assert per_rcpt[0]["action"] == "delayed", per_rcpt
    assert per_rcpt[0]["status"] == "4.2.1", per_rcpt
    assert "will-retry-until" in per_rcpt[0], per_rcpt
    assert len(log_lines(s, "sender delay notification:")) == 1, s.log_tail()
    flags = {r["address"]: r["delay_notice_sent"] for e in queue_json(s)
             for r in e["recipients"]}
    assert flags == {"slow1@remote.test": True, "slow2@remote.test": False}, flags

    def deferrals(rcpt):
        return [line for line in log_lines(s, f"to=<{rcpt}>") if "status=deferred" in line]

    # more retries: still one notice
    seen = len(deferrals("slow1@remote.test"))
    wait_for(lambda: len(deferrals("slow1@remote.test")) >= seen + 2, "two more retries", s, 40)
    assert len(dsns(s)) == 1, "the delay notice must not be repeated"
    # a restart: the flag is persistent
    s.restart()
    before = len(remote.rcpts_seen("slow1@remote.test"))
    wait_for(lambda: len(remote.rcpts_seen("slow1@remote.test")) >= before + 2,
             "retries after the restart", s, 40)
    assert len(dsns(s)) == 1, "a restart must not repeat the delay notice"
    # now it goes through: neither a failure nor a success notice
    remote.accept_slow.set()
    wait_for(lambda: remote.received("slow1@remote.test") and
             remote.received("slow2@remote.test"), "the final deliveries", s, 40)
    wait_for(lambda: queue_ids(s) == [], "the queue to empty", s, 30)
    time.sleep(2)
    assert len(dsns(s)) == 1, [n[:300] for n in dsns(s)]
    assert not log_lines(s, "non-delivery notification"), s.log_tail()
    s.assert_healthy()


def test_failure_and_success_combined(tls_factory, remote, dns):
    """One recipient refused (5xx), one relayed with NOTIFY=SUCCESS in the same round: one
    report listing both (RFC 3464 2.3: one per-recipient block each)."""
    s = tls_factory(conf=outbound_conf(dns, remote.port))
    msg = make_message("mixed", b"mixed body 4242\r\n", sender=USER, to="ok3@remote.test")
    submit(s, [("bad3@remote.test", ""), ("ok3@remote.test", "NOTIFY=SUCCESS,FAILURE")],
               msg)
    wait_for(lambda: len(dsns(s)) >= 1, "the report", s, 30)
    wait_for(lambda: queue_ids(s) == [], "the queue to empty", s, 30)
    time.sleep(3)
    notices = dsns(s)
    assert len(notices) == 1, [n[:300] for n in notices]
    d = notices[0]
    assert email.message_from_bytes(d)["Subject"] == "Delivery failure notice"
    per_msg, per_rcpt = report_fields(d)
    actions = {r["final-recipient"]: r["action"] for r in per_rcpt}
    assert actions == {"rfc822; bad3@remote.test": "failed",
                       "rfc822; ok3@remote.test": "relayed"}, per_rcpt
    assert b"mixed body 4242" in d, "a failure report returns the message (RET not given)"
    assert len(log_lines(s, "sender non-delivery notification:")) == 1, s.log_tail()
    s.assert_healthy()


@pytest.mark.timeout(120)
def test_success_after_deferral_and_partial_round(tls_factory, remote, dns):
    """NOTIFY=SUCCESS on two recipients of one entry, one relayed at once and one deferred:
    the first round sends the "relayed" notice for the first while the entry stays; no delay
    notice for the other (its NOTIFY lacks DELAY even past queue_delay_warning); when it goes
    through later, a second notice names only it. Never a notice twice for one recipient."""
    s = tls_factory(conf=outbound_conf(dns, remote.port, queue_delay_warning="2s"))
    msg = make_message("two rounds", b"r\r\n", sender=USER, to="ok5@remote.test")
    submit(s, [("ok5@remote.test", "NOTIFY=SUCCESS"), ("slow5@remote.test", "NOTIFY=SUCCESS")],
               msg)
    wait_for(lambda: len(dsns(s)) >= 1, "the first success notice", s, 30)
    first = dsns(s)[0]
    _, per_rcpt = report_fields(first)
    assert [(r["final-recipient"], r["action"]) for r in per_rcpt] == \
        [("rfc822; ok5@remote.test", "relayed")], per_rcpt
    assert len(queue_ids(s)) == 1, "the deferred recipient keeps the entry"
    # retries past the delay warning: no further notice
    wait_for(lambda: len(remote.rcpts_seen("slow5@remote.test")) >= 4, "more retries", s, 40)
    assert len(dsns(s)) == 1, [n[:300] for n in dsns(s)]
    remote.accept_slow.set()
    wait_for(lambda: len(dsns(s)) >= 2, "the second success notice", s, 30)
    wait_for(lambda: queue_ids(s) == [], "the queue to empty", s, 30)
    time.sleep(3)
    notices = dsns(s)
    assert len(notices) == 2, [n[:300] for n in notices]
    second = [n for n in notices if n != first][0]
    _, per_rcpt = report_fields(second)
    assert [(r["final-recipient"], r["action"]) for r in per_rcpt] == \
        [("rfc822; slow5@remote.test", "relayed")], per_rcpt
    assert len(log_lines(s, "sender delivery status notification:")) == 2, s.log_tail()
    s.assert_healthy()


@pytest.mark.timeout(120)
def test_success_delivered_locally_by_scheduler(tls_factory, remote, dns):
    """A queued recipient whose domain becomes ours while it waits is delivered into the
    mailbox by the scheduler: the success notice says "delivered" (RFC 3464 2.3.3), not
    "relayed"."""
    s = tls_factory(conf=outbound_conf(dns, remote.port))
    msg = make_message("later local", b"l\r\n", sender=USER, to="slow6@remote.test")
    submit(s, [("slow6@remote.test", "NOTIFY=SUCCESS")], msg)
    wait_for(lambda: remote.rcpts_seen("slow6@remote.test"), "the first (deferred) try", s, 30)
    (qid,) = queue_ids(s)
    s.cli_ok("queue", "hold", qid)  # no try while the domain has no account yet
    s.cli_ok("domain", "add", "remote.test")
    s.add_account("slow6@remote.test", "pw-slow6-secret")
    s.cli_ok("queue", "release", qid)  # due again within queue_retry_max (2 s)
    wait_for(lambda: len(dsns(s)) >= 1, "the success notice", s, 30)
    wait_for(lambda: queue_ids(s) == [], "the queue to empty", s, 30)
    time.sleep(2)
    notices = dsns(s)
    assert len(notices) == 1, [n[:300] for n in notices]
    _, per_rcpt = report_fields(notices[0])
    assert [(r["final-recipient"], r["action"]) for r in per_rcpt] == \
        [("rfc822; slow6@remote.test", "delivered")], per_rcpt
    assert "remote-mta" not in per_rcpt[0], per_rcpt
    assert len(s.messages("slow6@remote.test")) == 1
    assert remote.received("slow6@remote.test") == []
    s.assert_healthy()
