"""
IMAP's part of "TLS everywhere": STARTTLS (RFC 9051 6.2.1) with injection protection, implicit
TLS (RFC 8314), LOGINDISABLED and no password before TLS (RFC 9051 6.2.3, 7.2.1), AUTHENTICATE
with SASL-IR (PLAIN, SCRAM-SHA-256), TLS 1.0/1.1 refused, and real clients (Python's imaplib,
curl with --ssl-reqd). Only what the IMAP engine serves today is used: login and folder commands.
"""

import base64
import imaplib
import socket
import ssl
import subprocess

import pytest

from conftest import USER, free_port
from tlshelp import CERT_NAME, Scram, tls_factory  # noqa: F401 (fixture)

TIMEOUT = 20


@pytest.fixture
def imap_server(tls_factory):
    """A server with IMAP on fresh ports and no passwords before TLS."""
    ports = {"imap": free_port(), "imaps": free_port()}
    s = tls_factory(conf={"imap_listen": f"127.0.0.1:{ports['imap']}",
                          "imaps_listen": f"127.0.0.1:{ports['imaps']}",
                          "plaintext_auth_loopback": "no"})
    s.imap_port, s.imaps_port = ports["imap"], ports["imaps"]
    return s


def ctx_for(s, **kw):
    ctx = ssl.create_default_context(cafile=str(s.cert_path))
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def read_until_tag(sock, tag):
    data = b""
    while not any(line.startswith(tag + b" ") for line in data.split(b"\r\n")):
        chunk = sock.recv(65536)
        assert chunk, f"connection closed; got {data!r}"
        data += chunk
    return data


def test_logindisabled_before_starttls_and_login_after(imap_server):
    s = imap_server
    m = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=TIMEOUT)
    try:
        caps = set(m.capabilities)
        assert "LOGINDISABLED" in caps and "STARTTLS" in caps, caps
        assert not any(c.startswith("AUTH=PLAIN") or c == "AUTH=LOGIN" for c in caps), caps
        # a password-revealing login is refused before TLS
        with pytest.raises(imaplib.IMAP4.error, match="PRIVACYREQUIRED"):
            m.login(USER, s.accounts[USER])
        m.starttls(ctx_for(s))
        typ, data = m.capability()
        caps = set(data[0].decode().split())
        assert "LOGINDISABLED" not in caps and "STARTTLS" not in caps, caps
        assert "AUTH=PLAIN" in caps, caps
        typ, data = m.login(USER, s.accounts[USER])
        assert typ == "OK", data
        typ, data = m.list()
        assert typ == "OK" and any(b'"INBOX"' in line for line in data), data
    finally:
        m.logout()


def test_starttls_injection_is_not_acted_on(imap_server):
    s = imap_server
    with socket.create_connection(("127.0.0.1", s.imap_port), timeout=TIMEOUT) as raw:
        assert raw.recv(4096).startswith(b"* OK")
        raw.sendall(b"a STARTTLS\r\nb LOGIN " + USER.encode() + b" "
                    + s.accounts[USER].encode() + b"\r\nc LIST \"\" *\r\n")
        reply = read_until_tag(raw, b"a")
        assert b"a OK" in reply, reply
        assert b"b " not in reply and b"c " not in reply, reply
        tls = ctx_for(s).wrap_socket(raw, server_hostname=CERT_NAME)
        tls.sendall(b"d NOOP\r\n")
        reply = read_until_tag(tls, b"d")
        # the first answer inside TLS is to d: b and c were thrown away
        assert reply.split(b"\r\n")[0].startswith(b"d OK"), reply
        # and the session is not authenticated: LIST is not valid yet
        tls.sendall(b"e LIST \"\" *\r\n")
        reply = read_until_tag(tls, b"e")
        assert b"e BAD" in reply and b"* LIST" not in reply, reply
        tls.close()


def test_second_starttls_refused(imap_server):
    s = imap_server
    m = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=TIMEOUT)
    try:
        m.starttls(ctx_for(s))
        typ, data = m._simple_command("STARTTLS")
    except imaplib.IMAP4.error as e:
        assert "BAD" in str(e) or "TLS" in str(e), e
    else:
        assert typ in ("BAD", "NO"), (typ, data)
    finally:
        m.shutdown()


def test_implicit_tls_and_old_versions_refused(imap_server):
    s = imap_server
    m = imaplib.IMAP4_SSL("127.0.0.1", s.imaps_port, ssl_context=ctx_for(s), timeout=TIMEOUT)
    try:
        assert "LOGINDISABLED" not in m.capabilities
        assert m.login(USER, s.accounts[USER])[0] == "OK"
    finally:
        m.logout()
    for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.minimum_version = version
        ctx.maximum_version = version
        try:
            ctx.set_ciphers("ALL:@SECLEVEL=0")
        except ssl.SSLError:
            pass
        with socket.create_connection(("127.0.0.1", s.imaps_port), timeout=TIMEOUT) as raw:
            with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
                with ctx.wrap_socket(raw, server_hostname=CERT_NAME) as tls:
                    tls.recv(100)


@pytest.mark.parametrize("url", ["imap", "imaps"])
def test_curl_ssl_reqd(imap_server, url):
    s = imap_server
    port = s.imap_port if url == "imap" else s.imaps_port
    r = subprocess.run(["curl", "-sS", "--ssl-reqd", "--cacert", str(s.cert_path),
                        "--resolve", f"{CERT_NAME}:{port}:127.0.0.1",
                        f"{url}://{CERT_NAME}:{port}/", "-u", f"{USER}:{s.accounts[USER]}"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert "INBOX" in r.stdout and "Sent" in r.stdout, r.stdout


def test_authenticate_plain_and_foreign_authzid(imap_server):
    s = imap_server
    pw = s.accounts[USER]
    m = imaplib.IMAP4_SSL("127.0.0.1", s.imaps_port, ssl_context=ctx_for(s), timeout=TIMEOUT)
    try:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            m.authenticate("PLAIN", lambda _: f"someone@localhost\0{USER}\0{pw}".encode())
        typ, _ = m.authenticate("PLAIN", lambda _: f"\0{USER}\0{pw}".encode())
        assert typ == "OK"
    finally:
        m.logout()


def test_authenticate_scram_sha_256(imap_server):
    s = imap_server
    scram = Scram(USER, s.accounts[USER])
    steps = iter([scram.client_first, None, None])
    state = {}

    def respond(challenge):
        step = next(steps)
        if step is not None:
            return step()
        if "final" not in state:
            state["final"] = True
            return scram.client_final(challenge)
        assert scram.check_server_final(challenge), challenge
        return b""

    m = imaplib.IMAP4_SSL("127.0.0.1", s.imaps_port, ssl_context=ctx_for(s), timeout=TIMEOUT)
    try:
        typ, _ = m.authenticate("SCRAM-SHA-256", respond)
        assert typ == "OK"
        assert scram.verified
        assert m.list()[0] == "OK"
    finally:
        m.logout()
    # a wrong password fails like any other
    m = imaplib.IMAP4_SSL("127.0.0.1", s.imaps_port, ssl_context=ctx_for(s), timeout=TIMEOUT)
    try:
        bad = Scram(USER, "wrong")
        with pytest.raises(imaplib.IMAP4.error):
            m.authenticate("SCRAM-SHA-256",
                           lambda ch: bad.client_first() if not ch else bad.client_final(ch))
    finally:
        m.shutdown()


def test_tls_logged_with_version_and_cipher(imap_server):
    s = imap_server
    m = imaplib.IMAP4_SSL("127.0.0.1", s.imaps_port, ssl_context=ctx_for(s), timeout=TIMEOUT)
    version, cipher = m.sock.version(), m.sock.cipher()[0]
    m.logout()
    s.wait_log(lambda text: f"{version} with cipher {cipher}" in text and "imapd" in text,
               "imapd TLS log line")
