"""
Outbound delivery of internationalized mail (RFC 6531): a recipient with a non-ASCII local
part, or a message received with MAIL FROM ... SMTPUTF8 (UTF-8 header fields, ASCII addresses),
goes out with SMTPUTF8 to a next hop that offers it, and bounces with 5.6.7 (RFC 6531 3.4: no
downgrade) when the next hop does not offer it. A message without SMTPUTF8 but with an 8-bit
body goes with BODY=8BITMIME alone. The queue records the flag (posthorn queue list/show).

The next hop is a minimal SMTP sink on 127.0.0.2 (an SmtpSink of queuehelp.py) that offers
SMTPUTF8 or not and records the MAIL and RCPT lines as sent.
"""

import json

from conftest import USER, make_message
from tlshelp import tls_factory  # noqa: F401 (fixture)
from queuehelp import (SmtpSink, dns_fixture, dsns, outbound_conf, outcomes, queue_json, submit,
                       wait_for)

ZONE = """
utf8.test. 300 IN MX 10 mx.utf8.test.
mx.utf8.test. 300 IN A 127.0.0.2
"""

RCPT = "j\u00f6rg@utf8.test"


class Sink(SmtpSink):
    """SMTP on 127.0.0.2: accepts everything; records (mail line, rcpt lines, data) as bytes."""

    def __init__(self, smtputf8):
        super().__init__(capabilities=["8BITMIME"] + (["SMTPUTF8"] if smtputf8 else [])
                         + ["ENHANCEDSTATUSCODES"], backlog=8)

    def message_entry(self, s, data):
        return (s.mail_line, s.rcpt_lines, data)


dns = dns_fixture(ZONE)


def start(tls_factory, dns, sink):
    return tls_factory(conf=outbound_conf(dns, sink.port))


def submit_utf8(server):
    submit(server, [RCPT], make_message("utf8 envelope", b"hello\r\n", sender=USER, to=USER),
           mail_params="SMTPUTF8")


def test_utf8_recipient_goes_out_with_smtputf8(tls_factory, dns):
    with Sink(smtputf8=True) as sink:
        s = start(tls_factory, dns, sink)
        submit_utf8(s)
        wait_for(lambda: sink.messages, "delivery to the MX", s)
        mail, rcpts, data = sink.messages[0]
        assert mail.upper().endswith(b" SMTPUTF8") or b" SMTPUTF8 " in mail.upper(), mail
        assert mail.startswith(b"MAIL FROM:<" + USER.encode() + b">"), mail
        assert rcpts == [b"RCPT TO:<" + RCPT.encode("utf-8") + b">"], rcpts
        assert b"hello" in data
        wait_for(lambda: "status=sent" in s.log_text(), "the sent record", s)


def test_utf8_recipient_without_smtputf8_bounces_5_6_7(tls_factory, dns):
    with Sink(smtputf8=False) as sink:
        s = start(tls_factory, dns, sink)
        submit_utf8(s)
        wait_for(lambda: "dsn=5.6.7, status=bounced" in s.log_text(), "the bounce", s)
        assert sink.messages == []


# --------------------------------------------------------------------------------------------
# RFC 6531 3.4: a message received with SMTPUTF8 (here: ASCII addresses, a UTF-8 Subject) keeps
# needing SMTPUTF8 at the next hop; the queue entry records it (schema 7).

SUBJECT = "Gr\u00fc\u00dfe aus K\u00f6ln"
ASCII_RCPT = "ok@utf8.test"


def submit_utf8_header(server, rcpt=ASCII_RCPT, mail_params="SMTPUTF8"):
    submit(server, [rcpt], make_message(SUBJECT, b"plain ascii body\r\n", sender=USER, to=rcpt),
           mail_params=mail_params)


def test_smtputf8_message_with_ascii_addresses_goes_out_with_smtputf8(tls_factory, dns):
    with Sink(smtputf8=True) as sink:
        s = start(tls_factory, dns, sink)
        submit_utf8_header(s)
        wait_for(lambda: sink.messages, "delivery to the MX", s)
        mail, rcpts, data = sink.messages[0]
        words = mail.upper().split()
        assert mail.startswith(b"MAIL FROM:<" + USER.encode() + b">"), mail
        assert b"SMTPUTF8" in words, mail
        assert b"BODY=8BITMIME" in words, mail  # RFC 6531 3.4: SMTPUTF8 implies 8-bit
        assert rcpts == [b"RCPT TO:<" + ASCII_RCPT.encode() + b">"], rcpts
        assert ("Subject: " + SUBJECT).encode("utf-8") in data
        wait_for(lambda: "status=sent" in s.log_text(), "the sent record", s)


def test_smtputf8_message_to_host_without_smtputf8_bounces_5_6_7(tls_factory, dns):
    with Sink(smtputf8=False) as sink:
        s = start(tls_factory, dns, sink)
        submit_utf8_header(s)
        wait_for(lambda: "dsn=5.6.7, status=bounced" in s.log_text(), "the bounce", s)
        wait_for(lambda: dsns(s), "the DSN in the sender's mailbox", s)
        report = dsns(s)[0]
        assert b"5.6.7" in report
        # RFC 6533: the notice about an SMTPUTF8 original is a global report
        assert b"message/global-delivery-status" in report
        assert sink.messages == []
        assert sink.mail_cmds == [], sink.mail_cmds  # refused before MAIL


def test_8bit_body_without_smtputf8_goes_with_8bitmime_only(tls_factory, dns):
    with Sink(smtputf8=True) as sink:
        s = start(tls_factory, dns, sink)
        body = "K\u00e4se und Br\u00f6tchen\r\n".encode("utf-8")
        submit(s, [ASCII_RCPT], make_message("eight bit", body, sender=USER, to=ASCII_RCPT),
               mail_params="BODY=8BITMIME")
        wait_for(lambda: sink.messages, "delivery to the MX", s)
        mail, rcpts, data = sink.messages[0]
        words = mail.upper().split()
        assert b"BODY=8BITMIME" in words, mail
        assert b"SMTPUTF8" not in words, mail
        assert body in data


def test_queue_shows_smtputf8_flag(tls_factory, dns):
    with Sink(smtputf8=True) as sink:
        sink.rcpt_replies["tmp"] = "450 4.2.1 mailbox busy, try later"
        s = start(tls_factory, dns, sink)
        submit_utf8_header(s, rcpt="tmp1@utf8.test")
        submit_utf8_header(s, rcpt="tmp2@utf8.test", mail_params="")
        wait_for(lambda: len(outcomes(s, None, "deferred")) >= 2, "both deferred", s)
        entries = {e["recipients"][0]["address"]: e for e in queue_json(s)}
        assert entries["tmp1@utf8.test"]["smtputf8"] is True, entries
        assert entries["tmp2@utf8.test"]["smtputf8"] is False, entries
        r = s.cli("queue", "show", entries["tmp1@utf8.test"]["queue_id"], "--json")
        assert r.returncode == 0, r.stderr
        shown = json.loads(r.stdout)
        assert shown["smtputf8"] is True and shown["requiretls"] is False, shown
        # the text listing marks it too
        r = s.cli("queue", "list")
        assert r.returncode == 0, r.stderr
        assert r.stdout.count("(SMTPUTF8)") == 1, r.stdout
