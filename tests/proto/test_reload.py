"""
SIGHUP reloads the configuration (DESIGN.md 4, README "Command line"): new certificates for new
connections while open TLS connections keep theirs and go on working, new limits for new
sessions, and a broken configuration is refused while the server keeps running on the old one.
"""

import signal
import socket
import ssl
import subprocess
import time

from tlshelp import tls_factory, tls_server  # noqa: F401 (fixtures)

TIMEOUT = 20


def peer_cert(port, sni="localhost"):
    """DER certificate the server presents on an implicit-TLS port (not verified: the
    point is which certificate it is)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as s:
            der = s.getpeercert(binary_form=True)
            assert s.recv(512).startswith(b"220"), "no greeting over TLS"
            return der


def make_cert(cert, key, cn):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-subj", f"/CN={cn}", "-addext",
                    "subjectAltName=DNS:localhost", "-days", "2", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True, timeout=TIMEOUT)
    key.chmod(0o644)  # the test's own throwaway key; the server runs as another user


def hup_and_wait(s, text):
    before = s.log_path.read_text(errors="replace").count(text)
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if s.log_path.read_text(errors="replace").count(text) > before:
            return
        time.sleep(0.05)
    raise AssertionError(f"no '{text}' in the log after SIGHUP:\n{s.log_tail(20)}")


def smtp_line(sock, cmd):
    sock.sendall(cmd + b"\r\n")
    data = b""
    while True:
        chunk = sock.recv(4096)
        assert chunk, "connection closed"
        data += chunk
        lines = data.split(b"\r\n")
        if len(lines) > 1 and any(len(l) > 3 and l[3:4] == b" " for l in lines[:-1]):
            return data


def test_sighup_new_certificate_for_new_connections_only(tls_server):
    s = tls_server
    port = s.port("submissions")
    old = peer_cert(port)
    # a TLS connection opened before the reload
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    before = ctx.wrap_socket(raw, server_hostname="localhost")
    try:
        assert before.recv(512).startswith(b"220")
        assert smtp_line(before, b"EHLO before.example").startswith(b"250")
        new_cert, new_key = s.dir / "tls" / "new-cert.pem", s.dir / "tls" / "new-key.pem"
        make_cert(new_cert, new_key, "reloaded.example")
        (s.dir / "conf.d" / "zz-newcert.conf").write_text(
            f"tls_cert = {new_cert}\ntls_key = {new_key}\n")
        hup_and_wait(s, "configuration reloaded")
        new = peer_cert(port)
        assert new != old, "a new connection still gets the old certificate"
        assert new == ssl.PEM_cert_to_DER_cert(new_cert.read_text())
        # the old connection is not dropped and still works, on its old session
        assert before.getpeercert(binary_form=True) == old
        assert smtp_line(before, b"NOOP").startswith(b"250")
    finally:
        before.close()
    # (assert_healthy would verify against the old certificate)
    assert s.alive(), s.log_tail()
    assert peer_cert(port) == new


def test_sighup_new_limits_for_new_sessions(tls_server):
    s = tls_server
    with socket.create_connection(("127.0.0.1", s.smtp_port), timeout=TIMEOUT) as c:
        assert c.recv(512).startswith(b"220")
        assert b"SIZE 1048576" in smtp_line(c, b"EHLO a.example")
    (s.dir / "conf.d" / "zz-size.conf").write_text("message_size_limit = 2M\n")
    hup_and_wait(s, "configuration reloaded")
    with socket.create_connection(("127.0.0.1", s.smtp_port), timeout=TIMEOUT) as c:
        assert c.recv(512).startswith(b"220")
        assert b"SIZE 2097152" in smtp_line(c, b"EHLO b.example")


def test_sighup_with_broken_config_keeps_old_one(tls_server):
    s = tls_server
    (s.dir / "conf.d" / "zz-broken.conf").write_text("no_such_key = 1\n")
    hup_and_wait(s, "reload failed")
    (s.dir / "conf.d" / "zz-broken.conf").unlink()
    # a certificate that does not exist: refused too, TLS keeps working
    (s.dir / "conf.d" / "zz-nocert.conf").write_text("tls_cert = /nonexistent/cert.pem\n")
    hup_and_wait(s, "reload failed")
    (s.dir / "conf.d" / "zz-nocert.conf").unlink()
    assert peer_cert(s.port("submissions"))
    s.assert_healthy()


def test_sighup_adds_sni_certificate_and_config_check_validates_it(tls_server):
    s = tls_server
    port = s.port("submissions")
    default = peer_cert(port)
    cert, key = s.dir / "tls" / "other-cert.pem", s.dir / "tls" / "other-key.pem"
    make_cert(cert, key, "other.example")
    bad = s.dir / "conf.d" / "zz-sni.conf"
    bad.write_text("tls_sni_certs = other.example\n")
    r = s.cli("config", "check")
    assert r.returncode == 4, r
    assert "zz-sni.conf:1: tls_sni_certs:" in r.stderr, r.stderr
    bad.write_text(f"tls_sni_certs = other.example={cert}:{key}\n")
    assert s.cli("config", "check").returncode == 0
    hup_and_wait(s, "configuration reloaded")
    assert peer_cert(port, sni="other.example") == ssl.PEM_cert_to_DER_cert(cert.read_text())
    # other names still get the default certificate
    assert peer_cert(port, sni="localhost") == default
