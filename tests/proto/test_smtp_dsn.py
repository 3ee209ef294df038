"""
DSN (RFC 3461) and REQUIRETLS (RFC 8689) on the SMTP server, and alias loops at RCPT, with real
clients (Python's smtplib, swaks) against the real binary.

What it checks: the EHLO keywords (DSN always, REQUIRETLS only over TLS); malformed DSN
parameters refused with 501 5.5.4, unknown ones with 555; the DSN parameters of a submitted
message kept in its queue entry (read back from the store) and handed on to the next hop (a
scripted relay that offers DSN records what our queue sends it); a "delivered" DSN (RFC 3461
5.2.2, RFC 3464 action "delivered") in the sender's mailbox for a local recipient that asked for
NOTIFY=SUCCESS, none for the null sender or without SUCCESS; REQUIRETLS refused in plain text
(530 5.7.10) and accepted after STARTTLS; an alias loop refused at RCPT with 550 5.4.6.
"""

import email
import smtplib
import sqlite3
import subprocess

from conftest import BOB, TIMEOUT, USER, make_message, require_tool
from tlshelp import tls_factory  # noqa: F401 (fixture)
from queuehelp import SmtpSink, dsns, sink_fixture, submit, wait_for

CLIENT_TIMEOUT = 60


def plain_smtp(server):
    s = smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="client.example",
                     timeout=TIMEOUT)
    code, _ = s.ehlo()
    assert code == 250
    return s


def send(s, mail_from, rcpts, msg, mail_options=(), rcpt_options=()):
    code, text = s.mail(mail_from, list(mail_options))
    assert code == 250, (code, text)
    for r in rcpts:
        code, text = s.rcpt(r, list(rcpt_options))
        assert code == 250, (r, code, text)
    code, text = s.data(msg)
    assert code == 250, (code, text)
    return text.decode().rsplit(" ", 1)[-1]


def queue_rows(server, queue_id):
    """The queue entry and its recipients as the store keeps them (read-only)."""
    dbs = list(server.dir.rglob("posthorn.db"))
    assert len(dbs) == 1, dbs
    db = sqlite3.connect(f"file:{dbs[0]}?mode=ro", uri=True, timeout=TIMEOUT)
    try:
        db.row_factory = sqlite3.Row
        entry = db.execute("SELECT * FROM queue WHERE queue_id = ?", (queue_id,)).fetchone()
        assert entry is not None, f"no queue entry {queue_id}"
        rcpts = db.execute("SELECT * FROM queue_rcpts WHERE entry_id = ? ORDER BY idx",
                           (entry["id"],)).fetchall()
        return dict(entry), [dict(r) for r in rcpts]
    finally:
        db.close()


# a relay host on 127.0.0.1 that offers DSN and records every command line
relay = sink_fixture(SmtpSink, ip="127.0.0.1", name="relay.test",
                     capabilities=("8BITMIME", "DSN", "ENHANCEDSTATUSCODES"), backlog=8)


# ---- EHLO


def test_ehlo_dsn_always_requiretls_only_over_tls(tls_factory):
    s = tls_factory()
    with plain_smtp(s) as c:
        assert c.has_extn("dsn")
        assert not c.has_extn("requiretls")
        code, _ = c.starttls(context=s.context())
        assert code == 220
        c.ehlo()
        assert c.has_extn("dsn") and c.has_extn("requiretls")
    # swaks shows the same lists before and after STARTTLS
    exe = require_tool("swaks")
    r = subprocess.run([exe, "--server", f"127.0.0.1:{s.smtp_port}", "--helo", "client.example",
                        "--timeout", str(int(TIMEOUT)), "--tls", "--quit-after", "EHLO",
                        "--to", USER], capture_output=True, text=True, timeout=CLIENT_TIMEOUT,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    before, after = r.stdout.split(" -> STARTTLS\n", 1)
    assert "250-DSN" in before and "REQUIRETLS" not in before, r.stdout
    assert "250-DSN" in after and "250 REQUIRETLS" in after, r.stdout


# ---- parameter syntax


def test_malformed_dsn_parameters_refused(tls_factory):
    s = tls_factory()
    with plain_smtp(s) as c:
        for opts, code, enh in [(["RET=ALL"], 501, "5.5.4"), (["ENVID=a+zz"], 501, "5.5.4"),
                                (["ENVID=" + "x" * 101], 501, "5.5.4"),
                                (["RET=FULL", "RET=HDRS"], 501, "5.5.4"),
                                (["XRET=FULL"], 555, "5.5.4")]:
            r = c.mail("sender@example.org", opts)
            assert (r[0], r[1].decode()[:5]) == (code, enh), (opts, r)
        assert c.mail("sender@example.org", ["RET=HDRS", "ENVID=ok+2B1"])[0] == 250
        for opts, text in [(["NOTIFY=NEVER,SUCCESS"], "NEVER cannot be combined"),
                           (["NOTIFY=SOMETIMES"], "Syntax: NOTIFY="),
                           (["ORCPT=rfc822"], "Syntax: ORCPT="),
                           (["ORCPT=rfc822;a+0Ab"], "not valid xtext"),
                           (["NOTIFY=DELAY", "NOTIFY=FAILURE"], "Duplicate RCPT parameter")]:
            r = c.rcpt(USER, opts)
            assert r[0] == 501 and r[1].startswith(b"5.5.4 ") and text.encode() in r[1], r
        r = c.rcpt(USER, ["XNOTIFY=NEVER"])
        assert r[0] == 555, r
        assert c.rcpt(USER, ["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;" + USER])[0] == 250


# ---- the queue keeps what it was given


def test_queued_entry_keeps_dsn_parameters_and_relays_them(tls_factory, relay):
    s = tls_factory(conf={"relayhost": f"[127.0.0.1]:{relay.port}",
                          "queue_scan_interval": "1s"})
    submit(s, [("a@remote.test", "NOTIFY=SUCCESS,DELAY ORCPT=rfc822;a+2Bx@remote.test"),
               ("b@remote.test", "NOTIFY=NEVER"), "c@remote.test"],
           make_message("dsn relay", b"relayed with DSN\r\n", sender=USER, to="a@remote.test"),
           mail_params="RET=HDRS ENVID=QQ+2B314")
    wait_for(lambda: len(relay.messages) >= 1, "the relay to receive the message", s)
    with relay.lock:
        lines = list(relay.commands)
    mail = [ln for ln in lines if ln.upper().startswith("MAIL FROM:")]
    assert len(mail) == 1 and mail[0].startswith(f"MAIL FROM:<{USER}>"), lines
    assert "RET=HDRS" in mail[0].split() and "ENVID=QQ+2B314" in mail[0].split(), lines
    rcpt = {ln.split(">")[0][9:]: ln for ln in lines if ln.upper().startswith("RCPT TO:")}
    assert "NOTIFY=SUCCESS,DELAY" in rcpt["a@remote.test"], lines
    assert "ORCPT=rfc822;a+2Bx@remote.test" in rcpt["a@remote.test"], lines
    assert "NOTIFY=NEVER" in rcpt["b@remote.test"], lines
    assert "NOTIFY" not in rcpt["c@remote.test"], lines


def test_queued_entry_envelope_in_store(tls_factory, tmp_path):
    # The entry must stay in the queue to be read back. REQUIRETLS mail to the
    # default relay host ([127.0.0.1]:9, which cannot be authenticated) would
    # bounce at once (RFC 8689 4.2.1), so the scheduler is kept from starting:
    # with an unreadable trust anchor outbound delivery is off and mail for
    # other domains stays queued (the server says so in its log).
    s = tls_factory(conf={"dns_trust_anchor": str(tmp_path / "no-such-root.key")})
    r = submit(s, [("a@remote.test", "NOTIFY=FAILURE ORCPT=rfc822;A@remote.test"),
                   "b@remote.test"],
               make_message("dsn store", b"kept\r\n", sender=USER, to="a@remote.test"),
               mail_params="RET=FULL ENVID=env+2B1 REQUIRETLS")
    qid = r.text.rsplit(" ", 1)[-1]
    assert "outbound delivery is off" in s.log_text(), "the scheduler was not kept off"
    entry, rcpts = queue_rows(s, qid)
    assert entry["envid"] == "env+2B1" and entry["ret"] == 1, entry
    assert entry["requiretls"] == 1, entry
    assert [(r["address"], r["orcpt"], r["notify"]) for r in rcpts] == [
        ("a@remote.test", "rfc822;A@remote.test", 4), ("b@remote.test", None, 0)], rcpts


# ---- "delivered" DSNs for local recipients


def test_local_notify_success_sends_delivered_dsn(tls_factory):
    s = tls_factory()
    msg = make_message("please confirm", b"confirm delivery\r\n", sender=USER, to=BOB)
    with plain_smtp(s) as c:
        qid = send(c, USER, [BOB], msg, mail_options=["RET=HDRS", "ENVID=track+2B7"],
                   rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;bob+2Bdsn@localhost"])
    assert any(b"confirm delivery" in m for m in s.messages(BOB))
    wait_for(lambda: len(dsns(s, USER)) == 1, "the delivered DSN in the sender's mailbox", s)
    raw = dsns(s, USER)[0]
    assert b"\r\nFrom: Mail Delivery System <MAILER-DAEMON@" in b"\r\n" + raw, raw[:300]
    dsn = email.message_from_bytes(raw)
    assert dsn.get_content_type() == "multipart/report"
    assert dsn.get_param("report-type") == "delivery-status"
    parts = dsn.get_payload()
    status = parts[1].as_string()
    assert "Action: delivered" in status and "Status: 2.0.0" in status, status
    assert "Final-Recipient: rfc822; bob@localhost" in status, status
    assert "Original-Recipient: rfc822;bob+dsn@localhost" in status, status
    assert "Original-Envelope-Id: track+7" in status, status
    assert qid in status or qid in parts[0].as_string(), status
    # RET=HDRS: the header comes back, not the body
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert b"Subject: please confirm" in raw and b"confirm delivery\r\n" not in raw
    assert "sender delivery status notification" in s.log_text()


def test_no_dsn_without_success_or_to_null_sender(tls_factory):
    s = tls_factory()
    with plain_smtp(s) as c:
        send(c, USER, [BOB], make_message("no notify", b"a\r\n", sender=USER, to=BOB),
             rcpt_options=["NOTIFY=FAILURE,DELAY"])
        send(c, USER, [BOB], make_message("never", b"b\r\n", sender=USER, to=BOB),
             rcpt_options=["NOTIFY=NEVER"])
        send(c, "", [BOB], make_message("null sender", b"c\r\n", sender=USER, to=BOB),
             rcpt_options=["NOTIFY=SUCCESS"])
        # a last one that asks: its DSN arriving shows the others had their chance
        send(c, USER, [BOB], make_message("marker", b"d\r\n", sender=USER, to=BOB),
             rcpt_options=["NOTIFY=SUCCESS"])
    assert len(s.messages(BOB)) == 4
    wait_for(lambda: len(dsns(s, USER)) >= 1, "the marker's DSN", s)
    got = dsns(s, USER)
    assert len(got) == 1 and b"Subject: marker" in got[0], got
    assert s.log_text().count("sender delivery status notification") == 1


def test_success_dsn_one_for_all_recipients_headers_only(tls_factory):
    # RFC 3461 4.3: RET=FULL asks for the content of "failed" DSNs; a success notice
    # returns the header only
    s = tls_factory()
    with plain_smtp(s) as c:
        send(c, USER, [BOB, "user+tag@localhost"],
             make_message("full return", b"the whole body\r\n", sender=USER, to=BOB),
             mail_options=["RET=FULL"], rcpt_options=["NOTIFY=SUCCESS"])
    wait_for(lambda: len(dsns(s, USER)) == 1, "the DSN", s)
    raw = dsns(s, USER)[0]
    dsn = email.message_from_bytes(raw)
    parts = dsn.get_payload()
    assert parts[2].get_content_type() == "text/rfc822-headers"
    assert b"Subject: full return" in raw and b"the whole body" not in raw
    status = parts[1].as_string()
    # one DSN for both recipients
    assert "Final-Recipient: rfc822; bob@localhost" in status
    assert "Final-Recipient: rfc822; user+tag@localhost" in status
    assert status.count("Action: delivered") == 2


# ---- REQUIRETLS


def test_requiretls_refused_in_plain_text_accepted_after_starttls(tls_factory):
    s = tls_factory()
    with plain_smtp(s) as c:
        code, text = c.mail("sender@example.org", ["REQUIRETLS"])
        assert (code, text[:6]) == (530, b"5.7.10"), (code, text)
        assert c.mail("sender@example.org")[0] == 250
    msg = make_message("tls required", b"secret\r\n", sender="sender@example.org", to=USER)
    with plain_smtp(s) as c:
        assert c.starttls(context=s.context())[0] == 220
        c.ehlo()
        code, text = c.mail("sender@example.org", ["REQUIRETLS=yes"])
        assert code == 501, (code, text)
        send(c, "sender@example.org", [USER], msg, mail_options=["REQUIRETLS"])
    assert any(b"secret\r\n" in m for m in s.messages(USER))


# ---- alias loops


def test_alias_loop_refused_at_rcpt(tls_factory):
    s = tls_factory(aliases=[("ping@localhost", "pong@localhost"),
                             ("pong@localhost", "ping@localhost"),
                             ("ok-alias@localhost", BOB)])
    with plain_smtp(s) as c:
        assert c.mail("sender@example.org")[0] == 250
        code, text = c.rcpt("ping@localhost")
        assert (code, text[:5]) == (550, b"5.4.6"), (code, text)
        assert c.rcpt("ok-alias@localhost")[0] == 250
