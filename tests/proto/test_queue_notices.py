"""
Delivery status notices of the outbound queue beyond bounces (RFC 3461 5.2, 6.2; RFC 3464):
success notices ("relayed") for NOTIFY=SUCCESS when the next hop does not offer DSN, none when
it does (it takes NOTIFY over), one delay notice per recipient after queue_delay_warning (kept
across a restart), and one combined report when failures and successes end in the same round.

The next hop is a small scripted SMTP server on 127.0.0.2 (NoticeSmtp below) that can offer
DSN or not and records the RCPT lines it got; routing by MX goes through tests/dnsserver.py
like test_queue.py. Notices go to the local sender, so they land in its mailbox. Every wait is
bounded.
"""

import email
import json
import socket
import threading
import time

import pytest

from conftest import USER, make_message
from tlshelp import tls_factory  # noqa: F401 (fixture)
from test_queue import ZONE, DnsServer, queue_ids, wait_for


class NoticeSmtp:
    """Next hop by recipient local part: bad* gets 550 5.1.1, slow* gets 450 4.2.1 until
    accept_slow is set, everything else 250. offer_dsn puts DSN into the EHLO reply."""

    def __init__(self, offer_dsn=False):
        self.offer_dsn = offer_dsn
        self.accept_slow = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.2", 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.lock = threading.Lock()
        self.messages = []    # (mail_from, [rcpts], data)
        self.rcpt_lines = []  # every RCPT command as received
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
            send("220 notices.test ESMTP")
            mail_from, rcpts = None, []
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.decode("utf-8", "replace").rstrip("\r\n")
                up = cmd.upper()
                if up.startswith("EHLO"):
                    dsn = b"250-DSN\r\n" if self.offer_dsn else b""
                    conn.sendall(b"250-notices.test\r\n250-8BITMIME\r\n250-PIPELINING\r\n"
                                 + dsn + b"250-ENHANCEDSTATUSCODES\r\n250 SIZE 10000000\r\n")
                elif up.startswith("MAIL FROM:"):
                    mail_from, rcpts = cmd[10:].split(">")[0].lstrip("<"), []
                    send("250 2.1.0 ok")
                elif up.startswith("RCPT TO:"):
                    addr = cmd[8:].split(">")[0].lstrip("<")
                    local = addr.split("@")[0]
                    with self.lock:
                        self.rcpt_lines.append(cmd)
                    if local.startswith("bad"):
                        send("550 5.1.1 no such user here")
                    elif local.startswith("slow") and not self.accept_slow.is_set():
                        send("450 4.2.1 mailbox busy, try later")
                    else:
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
                        if chunk == b".\r\n":
                            break
                        if chunk.startswith(b"."):
                            chunk = chunk[1:]
                        data += chunk
                    with self.lock:
                        self.messages.append((mail_from, rcpts, data))
                    send("250 2.0.0 accepted")
                elif up == "RSET":
                    mail_from, rcpts = None, []
                    send("250 2.0.0 ok")
                elif up == "NOOP":
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

    def rcpts_seen(self, rcpt):
        with self.lock:
            return [line for line in self.rcpt_lines if f"<{rcpt}>" in line]


@pytest.fixture
def dns():
    with DnsServer(ZONE) as d:
        yield d


@pytest.fixture
def remote():
    s = NoticeSmtp()
    yield s
    s.close()


@pytest.fixture
def dsn_remote():
    s = NoticeSmtp(offer_dsn=True)
    yield s
    s.close()


def outbound_conf(remote, dns, **extra):
    conf = {
        "dns_resolver": f"127.0.0.1@{dns.port}",
        "dns_trust_anchor": "none",
        "relayhost": "",
        "smtp_outbound_port": str(remote.port),
        "queue_retry_min": "1s",
        "queue_retry_max": "2s",
        "queue_scan_interval": "1s",
    }
    conf.update(extra)
    return conf


def submit_dsn(server, rcpts, msg, user=USER):
    """Submit msg from user; rcpts are (address, "NOTIFY=..." or "")."""
    c = server.authed_submission(user=user)
    try:
        assert c.cmd(f"MAIL FROM:<{user}>").code == 250
        for addr, params in rcpts:
            line = f"RCPT TO:<{addr}>" + (f" {params}" if params else "")
            rr = c.cmd(line)
            assert rr.code == 250, (line, rr)
        r = c.send_message(msg)
        assert r.code == 250, r
    finally:
        c.close()


def queue_json(server):
    r = server.cli("queue", "list", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def dsns(server, user=USER):
    return [m for m in server.messages(user) if b"multipart/report" in m]


def log_lines(server, needle):
    return [line for line in server.log_text().splitlines() if needle in line]


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
    s = tls_factory(conf=outbound_conf(remote, dns))
    msg = make_message("success please", b"the body text 7734\r\n", sender=USER,
                       to="ok1@remote.test")
    submit_dsn(s, [("ok1@remote.test", "NOTIFY=SUCCESS")], msg)
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
    s = tls_factory(conf=outbound_conf(dsn_remote, dns))
    msg = make_message("success via dsn hop", b"x\r\n", sender=USER, to="ok2@remote.test")
    submit_dsn(s, [("ok2@remote.test", "NOTIFY=SUCCESS")], msg)
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
    s = tls_factory(conf=outbound_conf(remote, dns, queue_delay_warning="3s"))
    submit_dsn(s, [("slow1@remote.test", "")],
               make_message("delayed one", b"d\r\n", sender=USER, to="slow1@remote.test"))
    submit_dsn(s, [("slow2@remote.test", "NOTIFY=FAILURE")],
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
    s = tls_factory(conf=outbound_conf(remote, dns))
    msg = make_message("mixed", b"mixed body 4242\r\n", sender=USER, to="ok3@remote.test")
    submit_dsn(s, [("bad3@remote.test", ""), ("ok3@remote.test", "NOTIFY=SUCCESS,FAILURE")],
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
    s = tls_factory(conf=outbound_conf(remote, dns, queue_delay_warning="2s"))
    msg = make_message("two rounds", b"r\r\n", sender=USER, to="ok5@remote.test")
    submit_dsn(s, [("ok5@remote.test", "NOTIFY=SUCCESS"), ("slow5@remote.test", "NOTIFY=SUCCESS")],
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
    s = tls_factory(conf=outbound_conf(remote, dns))
    msg = make_message("later local", b"l\r\n", sender=USER, to="slow6@remote.test")
    submit_dsn(s, [("slow6@remote.test", "NOTIFY=SUCCESS")], msg)
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
