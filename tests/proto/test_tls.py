"""
TLS on every port that has it: the certificate `posthorn init` makes (verifiable for localhost,
127.0.0.1, ::1 and the host name), STARTTLS on the SMTP and submission ports (RFC 3207), STLS
for POP3 (RFC 2595), implicit TLS on submissions and pop3s (RFC 8314), TLS 1.2 and 1.3 only,
the version and cipher in the Received header and in the log, and real clients (openssl s_client,
curl) verifying the server.
"""

import re
import socket
import ssl
import threading
import warnings

from conftest import HOSTNAME, USER, make_message, require_tool, smtp_send, split_trace
from tlshelp import (CERT_NAME, TlsSmtp, curl, curl_tls_args, describe, ehlo_keywords,
                     run_tool, ssl_wrapper)
from tlshelp import strict_server, tls_factory, tls_server  # noqa: F401 (fixtures)

SENDER = "sender@example.org"


def unfold(field):
    return re.sub(rb"\r\n[ \t]", b" ", field).decode("utf-8", "replace")


# ---- the certificate that init makes


def test_init_writes_certificate_key_and_tls_dropin(tls_server):
    s = tls_server
    assert s.cert_path.is_file() and s.key_path.is_file(), list(s.dir.iterdir())
    dropin = s.dir / "conf.d" / "10-tls.conf"
    assert dropin.is_file(), f"init did not write {dropin}"
    settings = {}
    for line in dropin.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            k, _, v = line.partition("=")
            settings[k.strip()] = v.strip()
    assert settings.get("tls_cert") == "tls/cert.pem", settings
    assert settings.get("tls_key") == "tls/key.pem", settings
    # the private key is nobody else's business
    mode = s.key_path.stat().st_mode & 0o777
    assert mode & 0o007 == 0, f"{s.key_path} is accessible to others: mode {mode:o}"
    # the key belongs to the certificate
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(s.cert_path), str(s.key_path))

    from cryptography import x509
    cert = x509.load_pem_x509_certificate(s.cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
    ips = {str(a) for a in san.get_values_for_type(x509.IPAddress)}
    assert {"localhost", HOSTNAME} <= dns, dns
    assert {"127.0.0.1", "::1"} <= ips, ips


def test_served_certificate_verifies_for_localhost(tls_server):
    s = tls_server
    want_der = ssl.PEM_cert_to_DER_cert(s.cert_path.read_text())
    for role in ("submissions", "pop3s"):
        client = s.smtp_client(role) if role == "submissions" else s.pop3_client(role)
        with client as c:
            assert c.sock.getpeercert(binary_form=True) == want_der, role
            san = dict.fromkeys(v for _, v in c.sock.getpeercert()["subjectAltName"])
            assert "localhost" in san and "127.0.0.1" in san, san
    # the other names of the certificate verify too: the IP address and the host name
    for name in ("127.0.0.1", HOSTNAME):
        wrap = ssl_wrapper(s.context(), hostname=name)
        with TlsSmtp(s.submissions_port, wrap, implicit=True) as c:
            assert c.greeting.code == 220
    # and verification is real: a name the certificate does not carry fails
    wrap = ssl_wrapper(s.context(), hostname="other.example")
    try:
        TlsSmtp(s.submissions_port, wrap, implicit=True).close()
    except ssl.SSLCertVerificationError as e:
        assert "other.example" in str(e) or "mismatch" in str(e).lower(), e
    else:
        raise AssertionError("a certificate for other.example was accepted")
    s.assert_healthy()


def s_client(server, port, *extra):
    exe = require_tool("openssl")
    cmd = [exe, "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", str(server.cert_path),
           "-verify_hostname", CERT_NAME, "-verify_return_error", "-brief", *extra]
    return run_tool(cmd, input="")


def test_openssl_s_client_verifies_each_port(tls_server):
    s = tls_server
    for port, extra in ((s.submissions_port, ()), (s.pop3s_port, ()),
                        (s.smtp_port, ("-starttls", "smtp")),
                        (s.submission_port, ("-starttls", "smtp")),
                        (s.pop3_port, ("-starttls", "pop3"))):
        r = s_client(s, port, *extra)
        out = r.stdout + r.stderr
        assert r.returncode == 0, describe(r)
        assert re.search(r"Verification: OK", out), out
        assert re.search(r"Protocol version: TLSv1\.[23]", out), out
    s.assert_healthy()


# ---- protocol versions


def test_tls12_and_tls13_both_negotiated(tls_server):
    s = tls_server
    for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
        ctx = s.context(minimum=version, maximum=version)
        with s.smtp_client("submissions", ctx=ctx) as c:
            assert c.sock.version() == name
            assert c.ehlo().code == 250
        with s.pop3_client("pop3s", ctx=ctx) as p:
            assert p.sock.version() == name
            assert p.cmd("CAPA").startswith(b"+OK")
        with s.smtp_client("smtp", ctx=ctx) as c:
            assert c.ehlo().code == 250
            c.starttls()
            assert c.sock.version() == name
            assert c.ehlo().code == 250
    # without a pin, a modern client gets TLS 1.3
    with s.smtp_client("submissions") as c:
        assert c.sock.version() == "TLSv1.3"


def old_tls_context():
    """A client that offers TLS 1.0 and 1.1 only."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    return ctx


def control_old_tls_works(server):
    """Proves that old_tls_context() can really complete a TLS 1.1 handshake here (with a
    local Python server using the same certificate), so that a failure against posthorn is
    the server's refusal and not this client's inability."""
    sctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    sctx.load_cert_chain(str(server.cert_path), str(server.key_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sctx.minimum_version = ssl.TLSVersion.TLSv1
    sctx.set_ciphers("ALL:@SECLEVEL=0")
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(1)
    lsock.settimeout(10)
    errors = []

    def serve():
        try:
            conn, _ = lsock.accept()
            with sctx.wrap_socket(conn, server_side=True) as t:
                t.sendall(b"x")
        except Exception as e:  # reported below
            errors.append(e)

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    try:
        with socket.create_connection(lsock.getsockname(), timeout=10) as raw:
            with old_tls_context().wrap_socket(raw) as t:
                version = t.version()
                t.recv(1)
    finally:
        th.join(10)
        lsock.close()
    assert not errors, errors
    assert version in ("TLSv1", "TLSv1.1"), version


def assert_old_tls_refused(wrap_target, what):
    try:
        t = old_tls_context().wrap_socket(wrap_target)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as e:
        assert not isinstance(e, ssl.SSLCertVerificationError), e
        return str(e)
    version = t.version()
    t.close()
    raise AssertionError(f"{what}: a TLS 1.0/1.1-only client negotiated {version}")


def test_tls10_and_tls11_refused(tls_server):
    s = tls_server
    control_old_tls_works(s)
    for port in (s.submissions_port, s.pop3s_port):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            assert_old_tls_refused(raw, f"port {port}")
    with s.smtp_client("smtp") as c:
        assert c.ehlo().code == 250
        assert c.cmd("STARTTLS").code == 220
        assert_old_tls_refused(c.sock, "STARTTLS")
    with s.pop3_client("pop3") as p:
        assert p.cmd("STLS").startswith(b"+OK")
        assert_old_tls_refused(p.sock, "STLS")
    s.assert_healthy()


# ---- SMTP STARTTLS (RFC 3207)


def test_smtp_port_starttls_flow(tls_server):
    s = tls_server
    with s.smtp_client("smtp") as c:
        kw = ehlo_keywords(c.ehlo())
        assert "STARTTLS" in kw, kw
        assert "AUTH" not in kw, f"port 25 role offers AUTH: {kw}"
        r = c.starttls()
        assert r.enhanced == "2.0.0" or r.enhanced is None, r
        # RFC 3207 4.2: the client must EHLO again; a transaction before it is out of order
        r = c.cmd(f"MAIL FROM:<{SENDER}>")
        assert r.code == 503, f"MAIL right after the TLS handshake, before EHLO: {r}"
        r = c.ehlo()
        assert r.code == 250 and r.lines[0].split()[0].decode() == HOSTNAME, r
        kw = ehlo_keywords(r)
        assert "STARTTLS" not in kw, f"STARTTLS offered again inside TLS: {kw}"
        assert "AUTH" not in kw, f"port 25 role offers AUTH: {kw}"
        assert "PIPELINING" in kw and "8BITMIME" in kw, kw
        r = c.cmd("STARTTLS")
        assert r.code == 503, f"second STARTTLS: {r}"
        msg = make_message("over tls", b"sent over STARTTLS\r\n")
        c.begin(SENDER, [USER], ehlo=False)
        r = c.send_message(msg)
        assert r.code == 250, r
        assert c.cmd("QUIT").code == 221
    stored = s.messages(USER)
    assert len(stored) == 1 and stored[0].endswith(msg)


def test_starttls_with_parameter_is_syntax_error(tls_server):
    with tls_server.smtp_client("smtp") as c:
        c.ehlo()
        r = c.cmd("STARTTLS now")
        assert r.code == 501, r  # RFC 3207 4: STARTTLS takes no parameters
        assert c.cmd("NOOP").code == 250  # still plain text, still working


def test_submissions_and_pop3s_do_not_offer_starttls(tls_server):
    s = tls_server
    with s.smtp_client("submissions") as c:
        assert c.greeting.code == 220
        kw = ehlo_keywords(c.ehlo())
        assert "STARTTLS" not in kw, kw
        assert c.cmd("STARTTLS").code == 503
    with s.pop3_client("pop3s") as p:
        caps = p.capa()
        assert "STLS" not in caps, caps
        assert p.cmd("STLS").startswith(b"-ERR")
        p.login(USER, s.accounts[USER])
        assert p.stat() == (0, 0)
        p.quit()


def test_implicit_tls_ports_speak_no_plain_text(tls_server):
    s = tls_server
    for port in (s.submissions_port, s.pop3s_port):
        with TlsSmtp(port, None, greeting=False) as c:
            c.sock.settimeout(0.7)
            try:
                early = c.sock.recv(100)
            except socket.timeout:
                early = None
            assert early is None, f"port {port} sent {early!r} before any TLS ClientHello"
            c.sock.settimeout(10)
            c.send(b"EHLO client.example\r\nUSER x\r\n")
            rest = c.read_until_closed(10)
            assert b"250" not in rest and b"+OK" not in rest, rest
    s.assert_healthy()


def test_broken_handshake_after_starttls(tls_server):
    s = tls_server
    with s.smtp_client("smtp") as c:
        c.ehlo()
        assert c.cmd("STARTTLS").code == 220
        c.send(b"this is not a ClientHello\r\n")
        rest = c.read_until_closed(10)
        assert b"250" not in rest, rest
    with s.pop3_client("pop3") as p:
        assert p.cmd("STLS").startswith(b"+OK")
        p.send(b"\x16\x03\x01\x00\x05\x01")  # the start of a handshake, then gone
    s.assert_healthy()


# ---- POP3 STLS (RFC 2595)


def test_pop3_stls_flow(tls_server):
    s = tls_server
    with s.pop3_client("pop3") as p:
        caps = p.capa()
        assert "STLS" in caps, caps
        p.stls()
        caps = p.capa()
        assert "STLS" not in caps, f"STLS offered again inside TLS: {caps}"
        assert "USER" in caps and "PLAIN" in caps.get("SASL", []), caps
        assert p.cmd("STLS").startswith(b"-ERR"), "second STLS accepted"
        p.login(USER, s.accounts[USER])
        assert p.stat() == (0, 0)
        p.quit()


def test_pop3_stls_refused_after_login(tls_server):
    s = tls_server  # plaintext_auth_loopback = yes: a plain login on loopback works
    with s.pop3_client("pop3") as p:
        p.login(USER, s.accounts[USER])
        r = p.cmd("STLS")
        assert r.startswith(b"-ERR"), f"STLS in TRANSACTION state (RFC 2595 4): {r!r}"
        assert p.stat() == (0, 0)
        p.quit()


# ---- what the server records about TLS


def assert_tls_in_received(stored, version, cipher):
    _, rcvd, _ = split_trace(stored)
    text = unfold(rcvd)
    assert version in text and cipher in text, (
        f"Received header does not name {version} and {cipher}: {text!r}")
    assert re.search(re.escape(version) + r".{0,40}" + re.escape(cipher), text), text


def test_received_header_and_log_name_version_and_cipher(tls_server):
    s = tls_server
    # TLS 1.2 over STARTTLS on the port 25 role
    ctx12 = s.context(maximum=ssl.TLSVersion.TLSv1_2)
    with s.smtp_client("smtp", ctx=ctx12) as c:
        c.ehlo()
        c.starttls()
        v12, c12 = c.tls_info()
        assert v12 == "TLSv1.2", v12
        c.begin(SENDER, [USER])
        assert c.send_message(make_message("tls12", b"tls 1.2\r\n")).code == 250
    # TLS 1.3 on submissions, authenticated
    c = s.authed_submission()
    with c:
        v13, c13 = c.tls_info()
        assert v13 == "TLSv1.3", v13
        assert c.cmd(f"MAIL FROM:<{USER}>").code == 250
        assert c.cmd(f"RCPT TO:<{USER}>").code == 250
        assert c.send_message(make_message("tls13", b"tls 1.3\r\n", sender=USER)).code == 250
    # and a plain-text delivery claims no TLS
    with s.smtp_client("smtp") as c:
        c.begin(SENDER, [USER])
        assert c.send_message(make_message("plain", b"plain\r\n")).code == 250
    stored = {m.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0]: m for m in s.messages(USER)}
    assert set(stored) == {b"tls12", b"tls13", b"plain"}, list(stored)
    assert_tls_in_received(stored[b"tls12"], v12, c12)
    assert_tls_in_received(stored[b"tls13"], v13, c13)
    _, rcvd, _ = split_trace(stored[b"plain"])
    assert "TLS" not in unfold(rcvd), f"plain-text delivery's Received claims TLS: {rcvd!r}"
    for version, cipher in ((v12, c12), (v13, c13)):
        s.wait_log(lambda ln: version in ln and cipher in ln,
                   f"naming {version} and {cipher}")


# ---- real clients


def test_curl_pop3_stls_and_pop3s(strict_server):
    s = strict_server  # plaintext_auth_loopback = no: curl must use TLS to log in at all
    msg = make_message("for curl", b"curl over tls\r\n")
    smtp_send(s, SENDER, [USER], msg)
    pw = s.accounts[USER]
    r1 = curl(f"pop3://{CERT_NAME}:{s.pop3_port}/1", "--ssl-reqd", "-u", f"{USER}:{pw}",
              *curl_tls_args(s, s.pop3_port), binary=True)
    assert r1.returncode == 0, describe(r1)
    r2 = curl(f"pop3s://{CERT_NAME}:{s.pop3s_port}/1", "-u", f"{USER}:{pw}",
              *curl_tls_args(s, s.pop3s_port), binary=True)
    assert r2.returncode == 0, describe(r2)
    stored = s.messages(USER)
    assert len(stored) == 1 and stored[0].endswith(msg)
    assert r1.stdout == stored[0] and r2.stdout == stored[0]
    # and curl really verifies: with only the system's CAs the same request fails (60)
    r3 = curl(f"pop3s://{CERT_NAME}:{s.pop3s_port}/1", "-u", f"{USER}:{pw}",
              "--resolve", f"{CERT_NAME}:{s.pop3s_port}:127.0.0.1", binary=True)
    assert r3.returncode == 60, describe(r3)
