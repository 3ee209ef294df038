"""
STARTTLS command injection (CVE-2011-0411 and its many relatives): plain-text commands sent in
the same packet right after STARTTLS/STLS must be thrown away when TLS starts (RFC 3207 4.2,
RFC 2595 4), never answered inside TLS as if the client had sent them there. Each test puts
STARTTLS and further commands in ONE send(), completes the handshake, and then checks that the
first reply inside TLS answers the client's own first TLS command, that the injected commands
left no trace in the session state, and that no stray reply arrives afterwards.
"""

from conftest import HOSTNAME, USER, b64
from tlshelp import assert_quiet, ehlo_keywords
from tlshelp import strict_server, tls_factory, tls_server  # noqa: F401 (fixtures)


def assert_own_ehlo_reply(r):
    """r is the reply to our EHLO (multi-line, greeting line names the host), not a reply to
    an injected NOOP or MAIL."""
    assert r.code == 250, r
    assert r.lines[0].split()[0].decode() == HOSTNAME, f"not an EHLO reply: {r}"
    assert len(r.lines) > 1 and "PIPELINING" in ehlo_keywords(r), f"not an EHLO reply: {r}"


def inject_smtp(c, injected, ehlo_first=True):
    """Sends [EHLO +] STARTTLS + injected as one write; reads the replies due in plain text
    (EHLO's, then 220); does the handshake."""
    data = b""
    if ehlo_first:
        data += b"EHLO client.example\r\n"
    data += b"STARTTLS\r\n" + injected
    c.send(data)
    if ehlo_first:
        assert c.reply().code == 250
    r = c.reply()
    assert r.code == 220, f"STARTTLS: {r}"
    c.start_tls_layer()  # asserts that nothing followed the 220 in plain text


def test_smtp_port_injection_discarded(tls_server):
    with tls_server.smtp_client("smtp") as c:
        assert c.ehlo().code == 250
        inject_smtp(c, b"NOOP\r\nMAIL FROM:<a@b.example>\r\n", ehlo_first=False)
        assert_own_ehlo_reply(c.ehlo())
        r = c.cmd(f"RCPT TO:<{USER}>")
        assert r.code == 503, f"RCPT without MAIL inside TLS: the injected MAIL took effect? {r}"
        r = c.cmd("NOOP")
        assert r.code == 250, r
        assert_quiet(c)


def test_smtp_port_injection_pipelined_with_ehlo(tls_server):
    # EHLO, STARTTLS and the injection all in one packet (PIPELINING is offered)
    with tls_server.smtp_client("smtp") as c:
        inject_smtp(c, b"MAIL FROM:<a@b.example>\r\nRCPT TO:<" + USER.encode() + b">\r\n"
                    b"DATA\r\n")
        assert_own_ehlo_reply(c.ehlo())
        r = c.cmd("DATA")
        assert r.code == 503, f"DATA inside TLS accepted after an injected transaction: {r}"
        assert c.cmd("NOOP").code == 250
        assert_quiet(c)


def test_submission_injected_auth_not_honoured(strict_server):
    s = strict_server
    pw = s.accounts[USER]
    with s.smtp_client("submission") as c:
        assert c.ehlo().code == 250
        inject_smtp(c, b"AUTH PLAIN " + b64(f"\0{USER}\0{pw}").encode() + b"\r\n"
                    b"MAIL FROM:<" + USER.encode() + b">\r\n", ehlo_first=False)
        r = c.ehlo()
        assert_own_ehlo_reply(r)
        assert "AUTH" in ehlo_keywords(r), r
        r = c.cmd(f"MAIL FROM:<{USER}>")
        assert r.code == 530, f"MAIL inside TLS without AUTH: injected AUTH honoured? {r}"
        assert c.cmd("NOOP").code == 250
        assert_quiet(c)


def test_submission_injection_noop_mail(tls_server):
    s = tls_server
    with s.smtp_client("submission") as c:
        assert c.ehlo().code == 250
        inject_smtp(c, b"NOOP\r\nMAIL FROM:<a@b.example>\r\n", ehlo_first=False)
        assert_own_ehlo_reply(c.ehlo())
        r = c.auth_plain(USER, s.accounts[USER])
        assert r.code == 235, f"our AUTH inside TLS: {r}"
        r = c.cmd(f"RCPT TO:<{USER}>")
        assert r.code == 503, f"RCPT without MAIL: {r}"
        assert c.cmd("NOOP").code == 250
        assert_quiet(c)


def test_pop3_stls_injection_discarded(tls_server):
    s = tls_server
    with s.pop3_client("pop3") as p:
        p.send(b"STLS\r\nUSER " + USER.encode() + b"\r\n")
        r = p.line()
        assert r.startswith(b"+OK"), f"STLS: {r!r}"
        p.start_tls_layer()
        # had the injected USER been kept, this PASS would log in (or a +OK would come first)
        r = p.cmd(f"PASS {s.accounts[USER]}")
        assert r.startswith(b"-ERR"), f"PASS without USER inside TLS: {r!r}"
        caps = p.capa()
        assert "STLS" not in caps, caps
        assert_quiet(p)
        p.login(USER, s.accounts[USER])
        assert p.stat() == (0, 0)
        p.quit()


def test_pop3_stls_injection_of_capa_and_auth(strict_server):
    s = strict_server
    pw = s.accounts[USER]
    with s.pop3_client("pop3") as p:
        p.send(b"STLS\r\nCAPA\r\nAUTH PLAIN " + b64(f"\0{USER}\0{pw}").encode() + b"\r\n")
        r = p.line()
        assert r.startswith(b"+OK"), f"STLS: {r!r}"
        p.start_tls_layer()
        r = p.cmd("STAT")
        assert r.startswith(b"-ERR"), f"STAT inside TLS before login: {r!r}"
        assert_quiet(p)
        p.login(USER, pw)
        assert p.stat() == (0, 0)
        p.quit()
