"""
Outbound delivery of mail with an internationalized envelope (RFC 6531): a recipient with a
non-ASCII local part goes out with MAIL FROM ... SMTPUTF8 to a next hop that offers SMTPUTF8,
and bounces with 5.6.7 (RFC 6531 3.4: no downgrade) when the next hop does not offer it.

The next hop is a minimal SMTP sink on 127.0.0.2 (an SmtpSink of queuehelp.py) that offers
SMTPUTF8 or not and records the MAIL and RCPT lines as sent.
"""

from conftest import USER, make_message
from tlshelp import tls_factory  # noqa: F401 (fixture)
from queuehelp import SmtpSink, dns_fixture, outbound_conf, submit, wait_for

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
