"""
Outbound TLS policy of the queue (serve-queue-tls.c, serve-queue-route.c): DANE (RFC 7672) with
a DNSSEC-signed test zone (tests/dnsserver.py signs it and writes the trust anchor that the
server is given as dns_trust_anchor), and a scripted STARTTLS SMTP server (Python ssl) on
127.0.0.5 with a self-signed certificate made here with openssl(1).

The scripted server records every message with whether it came over TLS. MX hosts of the
signed zone all point at it (one port: smtp_outbound_port); they differ in their TLSA records:
    mx.dane.signed.test     3 1 1 of the server's key        -> DANE authenticates, delivered
    mx.badtlsa.signed.test  3 1 1 of another key             -> no match: deferred, nothing sent
    mx.pkix.signed.test     1 1 1 (PKIX-EE: unusable, RFC 7672 3.1.3) -> TLS mandatory but
                            unauthenticated (RFC 7672 2.2, Postfix "encrypt"): delivered over TLS
    mx.nostarttls.signed.test  the same unusable TLSA, a server on 127.0.0.7 (same port) that
                            offers no STARTTLS -> deferred, never sent in plain text
    mx.bogus.signed.test    TLSA whose signature is broken   -> host skipped, deferred (2.1.1)
    mx.ta.signed.test       2 0 1 of a test CA, chain with a leaf for mx.ta -> delivered
    mx.taname.signed.test   2 0 1 of that CA, but the leaf names mx.ta  -> deferred (3.2.2)

MTA-STS (RFC 8461) with an unsigned zone: the policies are served over HTTPS by a Python
http.server on 127.0.0.6 with a certificate of a test CA that the server trusts through
smtp_outbound_ca_file; mta_sts_port points at it. The SMTP server picks its certificate by SNI:
CA-signed for the MX names listed in the policies, another name's for mx.wrongcert.sts.
    good.sts       enforce, mx.good.sts                 -> delivered over verified TLS
    wrongcert.sts  enforce, the MX's certificate is for another name -> deferred
    notlisted.sts  enforce, MX 10 mx1 (not in the policy), MX 20 mx2 -> only mx2 is used
    rotate.sts     a new TXT id fetches the policy again (RFC 8461 3.1)
    good.sts       (again) a second message served from the memory cache: the store's row
                   deleted behind the server's back, and still no second fetch
    multi.sts      the policy host's A record goes nowhere, its AAAA (::1) serves the policy
    multi4.sts     two A records, one going nowhere (any order): the policy is fetched
    implicit.sts   no MX, enforce policy not naming the domain: the implicit MX is not used
    implicitok.sts no MX, enforce policy naming the domain itself: delivered, verified

REQUIRETLS (RFC 8689 4.2.1): an insecure MX bounces with 5.7.10; an MTA-STS or DANE host takes
the message; "TLS-Required: No" (RFC 8689 5) lets a message through a failing policy.
"""

import hashlib
import http.server
import os
import socket
import sqlite3
import ssl
import subprocess
import sys
import threading

import pytest

from conftest import REPO, USER, deadline_loop, make_message
from tlshelp import tls_factory  # noqa: F401 (fixture)

sys.path.insert(0, str(REPO / "tests"))
from dnsserver import DnsServer  # noqa: E402
from dnslib import RR  # noqa: E402

MX_IP = "127.0.0.5"
PLAIN_IP = "127.0.0.7"  # a server without STARTTLS, on the same port as the one at MX_IP


def make_cert(tmp, name, cn):
    """A self-signed EC certificate for cn: (cert path, key path, SPKI SHA-256 hex)."""
    cert, key = tmp / f"{name}.pem", tmp / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}"],
                   check=True, capture_output=True, timeout=30)
    pub = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-pubkey"],
                         check=True, capture_output=True, timeout=30).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         check=True, capture_output=True, timeout=30).stdout
    return cert, key, hashlib.sha256(der).hexdigest()


class TlsSmtp:
    """A small SMTP server offering STARTTLS with the given certificate; records
    (mail_from, rcpts, data, tls) per message."""

    def __init__(self, cert, key, ip=MX_IP, port=0, starttls=True):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert), str(key))
        self.starttls = starttls   # False: EHLO offers no STARTTLS and STARTTLS is refused
        self.sessions = 0          # connections accepted
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.messages = []
        self.handshakes = 0        # completed TLS handshakes
        self.mail_cmds = []        # every MAIL FROM command as received
        self.no_requiretls = set()  # SNI names whose EHLO does not offer REQUIRETLS
        self.lock = threading.Lock()
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
            with self.lock:
                self.sessions += 1
            threading.Thread(target=self.session, args=(conn,), daemon=True).start()

    def session(self, conn):
        conn.settimeout(10)
        tls = False
        f = conn.makefile("rb")

        def send(line):
            conn.sendall(line.encode() + b"\r\n")

        try:
            send("220 tls.test ESMTP")
            mail_from, rcpts = None, []
            while True:
                line = f.readline()
                if not line:
                    return
                cmd = line.decode("utf-8", "replace").rstrip("\r\n")
                up = cmd.upper()
                if up.startswith("EHLO"):
                    # REQUIRETLS (RFC 8689 4.1) is offered over TLS only
                    starttls = b"250-REQUIRETLS\r\n" if tls else b"250-STARTTLS\r\n"
                    if not self.starttls:
                        starttls = b""
                    if tls and getattr(conn, "sni", None) in self.no_requiretls:
                        starttls = b""
                    conn.sendall(b"250-tls.test\r\n250-8BITMIME\r\n" + starttls
                                 + b"250-ENHANCEDSTATUSCODES\r\n250 SIZE 10000000\r\n")
                elif up == "STARTTLS" and not tls and self.starttls:
                    send("220 2.0.0 go ahead")
                    try:
                        conn = self.ctx.wrap_socket(conn, server_side=True)
                    except (ssl.SSLError, OSError):
                        return
                    with self.lock:
                        self.handshakes += 1
                    tls = True
                    f = conn.makefile("rb")
                elif up.startswith("MAIL FROM:"):
                    mail_from, rcpts = cmd[10:].split(">")[0].lstrip("<"), []
                    with self.lock:
                        self.mail_cmds.append(cmd)
                    send("250 2.1.0 ok")
                elif up.startswith("RCPT TO:"):
                    rcpts.append(cmd[8:].split(">")[0].lstrip("<"))
                    send("250 2.1.5 ok")
                elif up == "DATA":
                    send("354 go ahead")
                    data = b""
                    while True:
                        chunk = f.readline()
                        if not chunk:
                            return
                        if chunk == b".\r\n":
                            break
                        data += chunk[1:] if chunk.startswith(b".") else chunk
                    with self.lock:
                        self.messages.append((mail_from, rcpts, data, tls))
                    send("250 2.0.0 accepted")
                elif up == "RSET":
                    mail_from, rcpts = None, []
                    send("250 2.0.0 ok")
                elif up == "QUIT":
                    send("221 2.0.0 bye")
                    return
                else:
                    send("502 5.5.2 not implemented")
        except (OSError, ssl.SSLError):
            return
        finally:
            conn.close()

    def received(self, rcpt):
        with self.lock:
            return [m for m in self.messages if rcpt in m[1]]


def dane_zone(port, good_spki, other_spki, ca_hash):
    return f"""
ta.signed.test. 300 IN MX 10 mx.ta.signed.test.
mx.ta.signed.test. 300 IN A {MX_IP}
_{port}._tcp.mx.ta.signed.test. 300 IN TLSA 2 0 1 {ca_hash}
taname.signed.test. 300 IN MX 10 mx.taname.signed.test.
mx.taname.signed.test. 300 IN A {MX_IP}
_{port}._tcp.mx.taname.signed.test. 300 IN TLSA 2 0 1 {ca_hash}
!sign signed.test.
dane.signed.test. 300 IN MX 10 mx.dane.signed.test.
mx.dane.signed.test. 300 IN A {MX_IP}
_{port}._tcp.mx.dane.signed.test. 300 IN TLSA 3 1 1 {good_spki}
badtlsa.signed.test. 300 IN MX 10 mx.badtlsa.signed.test.
mx.badtlsa.signed.test. 300 IN A {MX_IP}
_{port}._tcp.mx.badtlsa.signed.test. 300 IN TLSA 3 1 1 {other_spki}
pkix.signed.test. 300 IN MX 10 mx.pkix.signed.test.
mx.pkix.signed.test. 300 IN A {MX_IP}
_{port}._tcp.mx.pkix.signed.test. 300 IN TLSA 1 1 1 {other_spki}
nostarttls.signed.test. 300 IN MX 10 mx.nostarttls.signed.test.
mx.nostarttls.signed.test. 300 IN A {PLAIN_IP}
_{port}._tcp.mx.nostarttls.signed.test. 300 IN TLSA 1 1 1 {other_spki}
bogus.signed.test. 300 IN MX 10 mx.bogus.signed.test.
mx.bogus.signed.test. 300 IN A {MX_IP}
_{port}._tcp.mx.bogus.signed.test. 300 IN TLSA 3 1 1 {good_spki}
!corrupt _{port}._tcp.mx.bogus.signed.test. TLSA 3 1 1 {other_spki}
"""


@pytest.fixture
def certs(tmp_path):
    good = make_cert(tmp_path, "mx", "mx.dane.signed.test")
    other = make_cert(tmp_path, "other", "other.signed.test")
    return good, other


@pytest.fixture
def ta_chain(tmp_path):
    """A test CA, a leaf for mx.ta.signed.test under it, the chain file (leaf, then CA) with
    its key, and the SHA-256 of the CA certificate (for TLSA 2 0 1)."""
    ca = make_ca(tmp_path)
    leaf, key = make_leaf(tmp_path, ca, "taleaf", ["mx.ta.signed.test"])
    chain = tmp_path / "tachain.pem"
    chain.write_bytes(leaf.read_bytes() + ca[0].read_bytes())
    der = subprocess.run(["openssl", "x509", "-in", str(ca[0]), "-outform", "DER"],
                         check=True, capture_output=True, timeout=30).stdout
    return (chain, key), hashlib.sha256(der).hexdigest()


@pytest.fixture
def mx(certs, ta_chain):
    (cert, key, _), _ = certs
    chain, _ = ta_chain
    s = SniSmtp((cert, key), {"mx.ta.signed.test": chain, "mx.taname.signed.test": chain})
    yield s
    s.close()


@pytest.fixture
def dane_dns(mx, certs, ta_chain):
    (_, _, good), (_, _, other) = certs
    with DnsServer(dane_zone(mx.port, good, other, ta_chain[1])) as d:
        yield d


def readable_copy(server, src, name):
    """src copied into the server's directory, readable after the server drops privileges."""
    dst = server.dir / name
    dst.write_bytes(open(src, "rb").read())
    os.chmod(dst, 0o644)
    return str(dst)


def outbound_server(factory, dns, port, extra=None):
    conf = {
        "dns_resolver": f"127.0.0.1@{dns.port}",
        "relayhost": "",
        "smtp_outbound_port": str(port),
        "smtp_outbound_tls": "may",
        "smtp_dane": "yes",
        "queue_retry_min": "1s",
        "queue_retry_max": "2s",
        "queue_scan_interval": "1s",
    }
    conf.update(extra or {})
    s = factory(conf=conf, start=False)
    s.set_conf(dns_trust_anchor=readable_copy(s, dns.trust_anchor, "dns-ta.key")
               if dns.trust_anchor else "none")
    s.start()
    return s


@pytest.fixture
def dane_server(tls_factory, mx, dane_dns):
    return outbound_server(tls_factory, dane_dns, mx.port)


def submit(server, rcpts, msg, user=USER, requiretls=False):
    c = server.authed_submission(user=user)
    try:
        params = " REQUIRETLS" if requiretls else ""
        assert c.cmd(f"MAIL FROM:<{user}>{params}").code == 250
        for r in rcpts:
            rr = c.cmd(f"RCPT TO:<{r}>")
            assert rr.code == 250, (r, rr)
        r = c.send_message(msg)
        assert r.code == 250, r
    finally:
        c.close()


def wait_for(pred, what, server, seconds=25):
    for _ in deadline_loop(seconds, 0.1):
        if pred():
            return
    raise AssertionError(f"timed out waiting for {what}; log:\n{server.log_tail(40)}")


def wait_deferred(s, rcpt, what):
    """Wait for a log line saying rcpt was deferred."""
    wait_for(lambda: any(f"to=<{rcpt}>" in ln and "status=deferred" in ln
                         for ln in s.log_text().splitlines()), what, s)


def test_dane_ee_match_delivered_over_tls(dane_server, mx):
    s = dane_server
    msg = make_message("dane ok", b"over DANE\r\n", sender=USER, to="ok@dane.signed.test")
    submit(s, ["ok@dane.signed.test"], msg)
    wait_for(lambda: mx.received("ok@dane.signed.test"), "delivery over DANE", s)
    _, rcpts, data, tls = mx.received("ok@dane.signed.test")[0]
    assert tls, "sent without TLS"
    assert data.endswith(b"over DANE\r\n")
    wait_for(lambda: "to=<ok@dane.signed.test>" in s.log_text()
             and "status=sent" in s.log_text(), "the sent log line", s)


def test_dane_mismatch_not_delivered_deferred(dane_server, mx):
    s = dane_server
    msg = make_message("dane bad", b"must not arrive\r\n", sender=USER,
                       to="no@badtlsa.signed.test")
    submit(s, ["no@badtlsa.signed.test"], msg)

    wait_deferred(s, "no@badtlsa.signed.test", "a deferral")
    lines = [ln for ln in s.log_text().splitlines() if "to=<no@badtlsa.signed.test>" in ln]
    assert any("DANE" in ln for ln in lines), lines
    # the handshake happened (the certificate was seen), but no mail went over it
    assert mx.handshakes >= 1
    assert mx.received("no@badtlsa.signed.test") == []
    # no plain-text retry either: still nothing after another retry round
    for _ in deadline_loop(2.5, 0.1):
        pass
    assert mx.received("no@badtlsa.signed.test") == []


def test_dane_ta_chain_and_name(dane_server, mx):
    s = dane_server
    # DANE-TA(2): the CA in the presented chain is the anchor, the leaf carries the MX name
    msg = make_message("dane ta", b"via the TA\r\n", sender=USER, to="t@ta.signed.test")
    submit(s, ["t@ta.signed.test"], msg)
    wait_for(lambda: mx.received("t@ta.signed.test"), "delivery over DANE-TA", s)
    assert mx.received("t@ta.signed.test")[0][3]
    # the same chain for another MX name: the TA matches, the name does not (RFC 7672 3.2.2)
    msg = make_message("dane ta name", b"must not arrive\r\n", sender=USER,
                       to="u@taname.signed.test")
    submit(s, ["u@taname.signed.test"], msg)

    wait_deferred(s, "u@taname.signed.test", "a deferral")
    lines = [ln for ln in s.log_text().splitlines() if "to=<u@taname.signed.test>" in ln]
    assert any("DANE authentication failed" in ln for ln in lines), lines
    assert mx.received("u@taname.signed.test") == []


def test_pkix_usages_unusable_tls_mandatory(dane_server, mx, certs):
    """RFC 7672 2.2 (and 3.1.3): a secure TLSA RRset whose records are all unusable (PKIX-EE
    here) still makes TLS mandatory, only unauthenticated (Postfix "encrypt"): a host offering
    STARTTLS gets the mail over TLS although its certificate matches no record; a host
    offering no STARTTLS gets nothing, not even in plain text, and the mail is deferred."""
    s = dane_server
    (cert, key, _), _ = certs
    plain = TlsSmtp(cert, key, ip=PLAIN_IP, port=mx.port, starttls=False)
    try:
        msg = make_message("pkix", b"pkix only\r\n", sender=USER, to="p@pkix.signed.test")
        submit(s, ["p@pkix.signed.test"], msg)
        wait_for(lambda: mx.received("p@pkix.signed.test"), "delivery over TLS", s)
        assert mx.received("p@pkix.signed.test")[0][3], "sent without TLS"
        assert "mx.pkix.signed.test: TLSA records, none usable: TLS required" in s.log_text()

        msg = make_message("no tls", b"must not arrive\r\n", sender=USER,
                           to="n@nostarttls.signed.test")
        submit(s, ["n@nostarttls.signed.test"], msg)
        wait_deferred(s, "n@nostarttls.signed.test", "a deferral")
        assert plain.sessions >= 1, "the host without STARTTLS was never tried"
        lines = [ln for ln in s.log_text().splitlines()
                 if "to=<n@nostarttls.signed.test>" in ln]
        assert any("TLS is required" in ln and "not offered" in ln for ln in lines), lines
        # no plain-text retry, not even after more retry rounds
        wait_for(lambda: len([ln for ln in s.log_text().splitlines()
                              if "to=<n@nostarttls.signed.test>" in ln
                              and "status=deferred" in ln]) >= 2, "a second deferral", s)
        assert plain.received("n@nostarttls.signed.test") == []
        assert plain.mail_cmds == [], plain.mail_cmds
        assert "trying again without TLS" not in s.log_text()
    finally:
        plain.close()


def test_bogus_tlsa_defers(dane_server, mx):
    s = dane_server
    msg = make_message("bogus", b"must not arrive\r\n", sender=USER, to="b@bogus.signed.test")
    submit(s, ["b@bogus.signed.test"], msg)

    wait_deferred(s, "b@bogus.signed.test", "a deferral")
    lines = [ln for ln in s.log_text().splitlines() if "to=<b@bogus.signed.test>" in ln]
    assert any("TLSA lookup" in ln and "bogus" in ln for ln in lines), lines
    assert mx.received("b@bogus.signed.test") == []


# --------------------------------------------------------------------------------------------
# MTA-STS

STS_IP = "127.0.0.6"
DEAD_IP = "127.0.0.9"  # nothing listens there: connections are refused


def make_ca(tmp):
    cert, key = tmp / "ca.pem", tmp / "ca.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=Posthorn test CA",
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def make_leaf(tmp, ca, name, names):
    """A certificate for names signed by ca: (cert, key)."""
    cert, key, csr = tmp / f"{name}.pem", tmp / f"{name}.key", tmp / f"{name}.csr"
    ext = tmp / f"{name}.ext"
    ext.write_text("subjectAltName=" + ",".join(f"DNS:{n}" for n in names) + "\n")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key), "-out", str(csr),
                    "-subj", f"/CN={names[0]}"], check=True, capture_output=True, timeout=30)
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey",
                    str(ca[1]), "-CAcreateserial", "-out", str(cert), "-days", "2",
                    "-extfile", str(ext)], check=True, capture_output=True, timeout=30)
    return cert, key


POLICIES = {
    "mta-sts.good.sts": "version: STSv1\r\nmode: enforce\r\nmx: mx.good.sts\r\n"
                        "max_age: 86400\r\n",
    "mta-sts.wrongcert.sts": "version: STSv1\nmode: enforce\nmx: mx.wrongcert.sts\n"
                             "max_age: 86400\n",
    "mta-sts.notlisted.sts": "version: STSv1\nmode: enforce\nmx: *.ok.notlisted.sts\n"
                             "max_age: 86400\n",
    "mta-sts.rotate.sts": "version: STSv1\nmode: enforce\nmx: mx.rotate.sts\nmax_age: 86400\n",
    "mta-sts.norequire.sts": "version: STSv1\nmode: enforce\nmx: *.norequire.sts\n"
                             "max_age: 86400\n",
    "mta-sts.none.norequire.sts": "version: STSv1\nmode: enforce\nmx: mx1.norequire.sts\n"
                                  "max_age: 86400\n",
    "mta-sts.multi.sts": "version: STSv1\nmode: enforce\nmx: mx.multi.sts\nmax_age: 86400\n",
    "mta-sts.multi4.sts": "version: STSv1\nmode: enforce\nmx: mx.multi4.sts\nmax_age: 86400\n",
    "mta-sts.implicit.sts": "version: STSv1\nmode: enforce\nmx: mx.implicit.sts\n"
                            "max_age: 86400\n",
    "mta-sts.implicitok.sts": "version: STSv1\nmode: enforce\nmx: implicitok.sts\n"
                              "max_age: 86400\n",
}


class PolicyServer:
    """HTTPS on ip (STS_IP; "::1" for IPv6) and port (0: any free one) serving POLICIES by
    Host; counts requests per host."""

    def __init__(self, cert, key, ip=STS_IP, port=0):
        policies, hits = POLICIES, {}
        self.hits = hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                hits[host] = hits.get(host, 0) + 1
                body = policies.get(host)
                if self.path != "/.well-known/mta-sts.txt" or body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            address_family = socket.AF_INET6 if ":" in ip else socket.AF_INET

        self.httpd = Server((ip, port), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.2}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class SniSmtp(TlsSmtp):
    """TlsSmtp choosing the certificate by SNI (by_name: name -> (cert, key), else the
    default); records the SNI of every handshake."""

    def __init__(self, default, by_name):
        super().__init__(*default)
        self.snis = []
        ctxs = {}
        for name, (cert, key) in by_name.items():
            ctxs[name] = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctxs[name].load_cert_chain(str(cert), str(key))

        def pick(sock, name, ctx):
            with self.lock:
                self.snis.append(name)
            sock.sni = name
            if name in ctxs:
                sock.context = ctxs[name]
        self.ctx.sni_callback = pick


def sts_zone():
    return f"""
_mta-sts.good.sts. 300 IN TXT "v=STSv1; id=20260101T1;"
mta-sts.good.sts. 300 IN A {STS_IP}
good.sts. 300 IN MX 10 mx.good.sts.
mx.good.sts. 300 IN A {MX_IP}
_mta-sts.wrongcert.sts. 300 IN TXT "v=STSv1; id=1"
mta-sts.wrongcert.sts. 300 IN A {STS_IP}
wrongcert.sts. 300 IN MX 10 mx.wrongcert.sts.
mx.wrongcert.sts. 300 IN A {MX_IP}
_mta-sts.notlisted.sts. 300 IN TXT "v=STSv1; id=abc"
mta-sts.notlisted.sts. 300 IN A {STS_IP}
notlisted.sts. 300 IN MX 10 mx1.notlisted.sts.
notlisted.sts. 300 IN MX 20 mx2.ok.notlisted.sts.
mx1.notlisted.sts. 300 IN A {MX_IP}
mx2.ok.notlisted.sts. 300 IN A {MX_IP}
_mta-sts.rotate.sts. 1 IN TXT "v=STSv1; id=1"
mta-sts.rotate.sts. 300 IN A {STS_IP}
rotate.sts. 300 IN MX 10 mx.rotate.sts.
mx.rotate.sts. 300 IN A {MX_IP}
plain.sts. 300 IN MX 10 mx.plain.sts.
mx.plain.sts. 300 IN A {MX_IP}
_mta-sts.norequire.sts. 300 IN TXT "v=STSv1; id=1"
mta-sts.norequire.sts. 300 IN A {STS_IP}
norequire.sts. 300 IN MX 10 mx1.norequire.sts.
norequire.sts. 300 IN MX 20 mx2.norequire.sts.
mx1.norequire.sts. 300 IN A {MX_IP}
mx2.norequire.sts. 300 IN A {MX_IP}
_mta-sts.none.norequire.sts. 300 IN TXT "v=STSv1; id=1"
mta-sts.none.norequire.sts. 300 IN A {STS_IP}
none.norequire.sts. 300 IN MX 10 mx1.norequire.sts.
_mta-sts.multi.sts. 300 IN TXT "v=STSv1; id=1"
mta-sts.multi.sts. 300 IN A {DEAD_IP}
mta-sts.multi.sts. 300 IN AAAA ::1
multi.sts. 300 IN MX 10 mx.multi.sts.
mx.multi.sts. 300 IN A {MX_IP}
_mta-sts.multi4.sts. 300 IN TXT "v=STSv1; id=1"
mta-sts.multi4.sts. 300 IN A {DEAD_IP}
mta-sts.multi4.sts. 300 IN A {STS_IP}
multi4.sts. 300 IN MX 10 mx.multi4.sts.
mx.multi4.sts. 300 IN A {MX_IP}
_mta-sts.implicit.sts. 300 IN TXT "v=STSv1; id=1"
mta-sts.implicit.sts. 300 IN A {STS_IP}
implicit.sts. 300 IN A {MX_IP}
_mta-sts.implicitok.sts. 300 IN TXT "v=STSv1; id=1"
mta-sts.implicitok.sts. 300 IN A {STS_IP}
implicitok.sts. 300 IN A {MX_IP}
"""


@pytest.fixture
def sts_env(tmp_path):
    ca = make_ca(tmp_path)
    mx_cert = make_leaf(tmp_path, ca, "mxleaf",
                        ["mx.good.sts", "mx1.notlisted.sts", "mx2.ok.notlisted.sts",
                         "mx.rotate.sts", "mx1.norequire.sts", "mx2.norequire.sts",
                         "mx.multi.sts", "mx.multi4.sts", "implicit.sts", "implicitok.sts"])
    other = make_leaf(tmp_path, ca, "otherleaf", ["other.sts"])
    https = make_leaf(tmp_path, ca, "https", list(POLICIES))
    POLICIES["mta-sts.rotate.sts"] = ("version: STSv1\nmode: enforce\nmx: mx.rotate.sts\n"
                                      "max_age: 86400\n")
    smtp = SniSmtp(mx_cert, {"mx.wrongcert.sts": other})
    smtp.no_requiretls.add("mx1.norequire.sts")
    web = PolicyServer(*https)
    web.v6 = PolicyServer(*https, ip="::1", port=web.port)  # the same port (mta_sts_port)
    dns = DnsServer(sts_zone()).start()
    yield ca, smtp, web, dns
    dns.stop()
    web.v6.close()
    web.close()
    smtp.close()


@pytest.fixture
def sts_server(tls_factory, sts_env):
    ca, smtp, web, dns = sts_env
    s = tls_factory(conf={
        "dns_resolver": f"127.0.0.1@{dns.port}",
        "dns_trust_anchor": "none",
        "relayhost": "",
        "smtp_outbound_port": str(smtp.port),
        "smtp_outbound_tls": "may",
        "smtp_mta_sts": "yes",
        "mta_sts_port": str(web.port),
        "queue_retry_min": "1s",
        "queue_retry_max": "2s",
        "queue_scan_interval": "1s",
    }, start=False)
    s.set_conf(smtp_outbound_ca_file=readable_copy(s, ca[0], "test-ca.pem"))
    s.start()
    return s


def test_sts_enforce_delivered_verified(sts_server, sts_env):
    s, (_, smtp, web, _) = sts_server, sts_env
    msg = make_message("sts ok", b"policy says yes\r\n", sender=USER, to="a@good.sts")
    submit(s, ["a@good.sts"], msg)
    wait_for(lambda: smtp.received("a@good.sts"), "delivery under MTA-STS", s)
    assert smtp.received("a@good.sts")[0][3], "not over TLS"
    assert web.hits.get("mta-sts.good.sts", 0) == 1
    log = s.log_text()
    assert "MTA-STS policy of good.sts (id 20260101T1): mode enforce" in log, log
    # a second message uses the cached policy (same id): no second fetch
    msg = make_message("sts again", b"cached\r\n", sender=USER, to="b@good.sts")
    submit(s, ["b@good.sts"], msg)
    wait_for(lambda: smtp.received("b@good.sts"), "the second delivery", s)
    assert web.hits.get("mta-sts.good.sts", 0) == 1, web.hits
    assert s.cli("queue", "list", "--json").returncode == 0


def test_sts_enforce_wrong_certificate_deferred(sts_server, sts_env):
    s, (_, smtp, _, _) = sts_server, sts_env
    msg = make_message("sts bad cert", b"must not arrive\r\n", sender=USER,
                       to="c@wrongcert.sts")
    submit(s, ["c@wrongcert.sts"], msg)

    wait_deferred(s, "c@wrongcert.sts", "a deferral")
    lines = [ln for ln in s.log_text().splitlines() if "to=<c@wrongcert.sts>" in ln]
    assert any("MTA-STS" in ln and "mx.wrongcert.sts" in ln for ln in lines), lines
    assert "mx.wrongcert.sts" in smtp.snis  # the handshake happened, the mail did not go
    assert smtp.received("c@wrongcert.sts") == []


def test_sts_enforce_unlisted_mx_not_used(sts_server, sts_env):
    s, (_, smtp, _, _) = sts_server, sts_env
    msg = make_message("sts mx", b"second mx\r\n", sender=USER, to="d@notlisted.sts")
    submit(s, ["d@notlisted.sts"], msg)
    wait_for(lambda: smtp.received("d@notlisted.sts"), "delivery through the listed MX", s)
    assert "mx2.ok.notlisted.sts" in smtp.snis
    assert "mx1.notlisted.sts" not in smtp.snis, smtp.snis
    assert "MX mx1.notlisted.sts of notlisted.sts is not in its MTA-STS policy" in s.log_text()


def test_sts_new_id_refetches(sts_server, sts_env):
    s, (_, smtp, web, dns) = sts_server, sts_env
    msg = make_message("rotate 1", b"first\r\n", sender=USER, to="r1@rotate.sts")
    submit(s, ["r1@rotate.sts"], msg)
    wait_for(lambda: smtp.received("r1@rotate.sts"), "the first delivery", s)
    assert web.hits.get("mta-sts.rotate.sts") == 1
    # RFC 8461 3.1: a new id in the TXT record makes the sender fetch the policy again; the
    # new one no longer lists the MX, so the mail is held back
    POLICIES["mta-sts.rotate.sts"] = ("version: STSv1\nmode: enforce\nmx: new.rotate.sts\n"
                                      "max_age: 86400\n")
    zone = dns.zone
    zone.records = [rr for rr in zone.records if str(rr.rname) != "_mta-sts.rotate.sts."]
    zone.records.append(RR.fromZone('_mta-sts.rotate.sts. 1 IN TXT "v=STSv1; id=2"')[0])
    zone._index()
    for _ in deadline_loop(3, 0.5):  # the TTL of 1 s runs out in the resolver's cache
        pass
    msg = make_message("rotate 2", b"second\r\n", sender=USER, to="r2@rotate.sts")
    submit(s, ["r2@rotate.sts"], msg)

    wait_deferred(s, "r2@rotate.sts", "a deferral under the new policy")
    assert web.hits.get("mta-sts.rotate.sts") == 2, web.hits
    assert "MTA-STS policy of rotate.sts (id 2)" in s.log_text()
    assert smtp.received("r2@rotate.sts") == []


def delete_stored_policy(server, domain):
    """Remove domain's row from the store's MTA-STS cache (sts_policies) behind the running
    server's back; returns how many rows went (the store is SQLite, one posthorn.db)."""
    dbs = list(server.dir.rglob("posthorn.db"))
    assert len(dbs) == 1, dbs
    db = sqlite3.connect(str(dbs[0]), timeout=10)
    try:
        with db:
            return db.execute("DELETE FROM sts_policies WHERE domain = ?", (domain,)).rowcount
    finally:
        db.close()


def test_sts_second_message_from_memory(sts_server, sts_env):
    s, (_, smtp, web, _) = sts_server, sts_env
    msg = make_message("sts mem 1", b"first\r\n", sender=USER, to="m1@good.sts")
    submit(s, ["m1@good.sts"], msg)
    wait_for(lambda: smtp.received("m1@good.sts"), "the first delivery", s)
    assert web.hits.get("mta-sts.good.sts", 0) == 1, web.hits
    # the store's copy is gone: a runner that read the store again would find nothing there
    # and, the TXT record still announcing the policy, fetch it again (RFC 8461 5.1)
    assert delete_stored_policy(s, "good.sts") == 1
    msg = make_message("sts mem 2", b"second\r\n", sender=USER, to="m2@good.sts")
    submit(s, ["m2@good.sts"], msg)
    wait_for(lambda: smtp.received("m2@good.sts"), "the second delivery", s)
    assert smtp.received("m2@good.sts")[0][3], "not over TLS"
    assert web.hits.get("mta-sts.good.sts", 0) == 1, web.hits
    # the policy was in force for the second message as well: mx.good.sts verified (VERIFY
    # level, RFC 8461 4.2); a certificate failure would have been logged and deferred it
    assert "to=<m2@good.sts>" in s.log_text() and "status=sent" in s.log_text()


def test_sts_policy_host_next_address(sts_server, sts_env):
    s, (_, smtp, web, _) = sts_server, sts_env
    # A first (127.0.0.9, refused), then AAAA (::1, where the policy is served)
    msg = make_message("sts v6", b"second address\r\n", sender=USER, to="v@multi.sts")
    submit(s, ["v@multi.sts"], msg)
    wait_for(lambda: smtp.received("v@multi.sts"), "delivery after the second address", s)
    assert web.v6.hits.get("mta-sts.multi.sts", 0) == 1, web.v6.hits
    assert web.hits.get("mta-sts.multi.sts", 0) == 0, web.hits
    log = s.log_text()
    assert "MTA-STS policy host of multi.sts, 127.0.0.9: Connection refused" in log, log
    assert "MTA-STS policy of multi.sts (id 1): mode enforce" in log, log
    assert smtp.received("v@multi.sts")[0][3]
    # two A records, one refusing: whatever their order, the policy is fetched once
    msg = make_message("sts two a", b"either order\r\n", sender=USER, to="w@multi4.sts")
    submit(s, ["w@multi4.sts"], msg)
    wait_for(lambda: smtp.received("w@multi4.sts"), "delivery with two A records", s)
    assert web.hits.get("mta-sts.multi4.sts", 0) == 1, web.hits
    assert "MTA-STS policy of multi4.sts (id 1): mode enforce" in s.log_text()


def test_sts_implicit_mx_must_match(sts_server, sts_env):
    s, (_, smtp, web, _) = sts_server, sts_env
    # RFC 8461 4.1/5: the implicit MX (RFC 5321 5.1: the domain itself) is a candidate MX
    # host like any other: an enforce policy that does not name it rules it out
    msg = make_message("implicit", b"must not arrive\r\n", sender=USER, to="i@implicit.sts")
    submit(s, ["i@implicit.sts"], msg)

    wait_deferred(s, "i@implicit.sts", "a deferral")
    assert web.hits.get("mta-sts.implicit.sts", 0) == 1, web.hits
    log = s.log_text()
    assert "Implicit MX implicit.sts of implicit.sts is not in its MTA-STS policy" in log, log
    lines = [ln for ln in log.splitlines() if "to=<i@implicit.sts>" in ln]
    assert any("implicit MX" in ln and "4.7.5" in ln for ln in lines), lines
    assert "implicit.sts" not in smtp.snis, smtp.snis
    assert smtp.received("i@implicit.sts") == []
    # a policy naming the domain itself: delivered, over TLS verified for that name
    msg = make_message("implicit ok", b"named\r\n", sender=USER, to="j@implicitok.sts")
    submit(s, ["j@implicitok.sts"], msg)
    wait_for(lambda: smtp.received("j@implicitok.sts"), "delivery to the implicit MX", s)
    assert smtp.received("j@implicitok.sts")[0][3]
    assert "implicitok.sts" in smtp.snis, smtp.snis


# --------------------------------------------------------------------------------------------
# REQUIRETLS (RFC 8689)


def requiretls_bounce(s, rcpt, body):
    """Submit a REQUIRETLS message to rcpt and return the one DSN it earns."""
    msg = make_message("requiretls", body, sender=USER, to=rcpt)
    submit(s, [rcpt], msg, requiretls=True)

    def dsns():
        return [m for m in s.messages(USER) if b"multipart/report" in m]
    wait_for(lambda: len(dsns()) == 1, "the DSN", s)
    return dsns()[0]


def test_requiretls_insecure_mx_bounced(sts_server, sts_env):
    s, (_, smtp, _, _) = sts_server, sts_env
    dsn = requiretls_bounce(s, "e@plain.sts", b"only over verified TLS\r\n")
    assert b"Status: 5.7.10" in dsn, dsn[:2000]
    assert smtp.received("e@plain.sts") == []
    assert "mx.plain.sts" not in smtp.snis


def test_requiretls_sts_host_verified(sts_server, sts_env):
    s, (_, smtp, _, _) = sts_server, sts_env
    msg = make_message("requiretls ok", b"verified\r\n", sender=USER, to="f@good.sts")
    submit(s, ["f@good.sts"], msg, requiretls=True)
    wait_for(lambda: smtp.received("f@good.sts"), "delivery under REQUIRETLS", s)
    assert smtp.received("f@good.sts")[0][3]


def test_requiretls_sent_in_mail_from_and_host_without_it_skipped(sts_server, sts_env):
    s, (_, smtp, _, _) = sts_server, sts_env
    # RFC 8689 4.2.1: mx1 (preference 10) does not offer REQUIRETLS after STARTTLS, so the
    # message must not go there; mx2 offers it and gets MAIL FROM with the parameter
    msg = make_message("requiretls mx2", b"next host\r\n", sender=USER, to="k@norequire.sts")
    submit(s, ["k@norequire.sts"], msg, requiretls=True)
    wait_for(lambda: smtp.received("k@norequire.sts"), "delivery through mx2", s)
    assert "mx1.norequire.sts" in smtp.snis and "mx2.norequire.sts" in smtp.snis, smtp.snis
    with smtp.lock:
        mails = [c for c in smtp.mail_cmds if USER in c]
    assert len(mails) == 1 and mails[0].endswith(" REQUIRETLS"), smtp.mail_cmds
    assert smtp.received("k@norequire.sts")[0][3]
    assert (f"mx1.norequire.sts[{MX_IP}]:{smtp.port}: REQUIRETLS is required, but was not "
            "offered by host") in s.log_text()


def test_requiretls_no_host_offers_it_bounced(sts_server, sts_env):
    s, (_, smtp, _, _) = sts_server, sts_env
    dsn = requiretls_bounce(s, "m@none.norequire.sts", b"nowhere\r\n")
    assert b"Status: 5.7.30" in dsn, dsn[:2000]
    assert smtp.received("m@none.norequire.sts") == []
    assert smtp.mail_cmds == [], smtp.mail_cmds  # not even MAIL FROM went out


def test_requiretls_dane_host(dane_server, mx):
    s = dane_server
    msg = make_message("requiretls dane", b"dane\r\n", sender=USER, to="g@dane.signed.test")
    submit(s, ["g@dane.signed.test"], msg, requiretls=True)
    wait_for(lambda: mx.received("g@dane.signed.test"), "delivery over DANE", s)
    assert mx.received("g@dane.signed.test")[0][3]
    with mx.lock:
        assert any(c.endswith(" REQUIRETLS") for c in mx.mail_cmds), mx.mail_cmds


def test_tls_required_no_overrides_policy(sts_server, sts_env):
    s, (_, smtp, _, _) = sts_server, sts_env
    # the MX's certificate is not valid for it: MTA-STS would defer, but the sender said
    # "TLS-Required: No" (RFC 8689 5)
    msg = make_message("tls not required", b"deliver anyway\r\n", sender=USER,
                       to="h@wrongcert.sts", headers=["TLS-Required: No"])
    submit(s, ["h@wrongcert.sts"], msg)
    wait_for(lambda: smtp.received("h@wrongcert.sts"), "delivery despite the policy", s)
    assert smtp.received("h@wrongcert.sts")[0][3], "TLS was still to be tried"
