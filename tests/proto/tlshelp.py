"""
tlshelp.py - fixtures and clients for the TLS, submission and SASL protocol tests
(test_tls.py, test_submission.py, test_auth.py, test_starttls_injection.py).

What it does: a Server (conftest.py) that also serves submission (RFC 6409), submissions and
pop3s (implicit TLS, RFC 8314) on fresh loopback ports and verifies the certificate that
`posthorn init` generated; raw SMTP and POP3 clients that can start TLS (implicit, STARTTLS, STLS)
with Python's ssl or, where the tls-exporter channel binding (RFC 9266) is needed, with pyOpenSSL
(Python's ssl has no keying-material exporter); a SCRAM-SHA-256(-PLUS) client (RFC 5802, 7677)
built on hashlib/hmac; SASL drivers for SMTP AUTH (RFC 4954) and POP3 AUTH (RFC 5034).

What it does not do: it changes nothing in conftest.py's fixtures (it subclasses them), never
talks to a non-loopback address, and never skips: a missing tool or Python module fails the test.

Invariants: every read has the conftest TIMEOUT (or a shorter, explicit one); the drop-in turns
off IMAP and sets auth_failure_delay = 0 unless a test asks otherwise, so that failed logins do
not slow the run down.
"""

import base64
import hashlib
import hmac
import os
import select
import socket
import ssl
import subprocess
import time

import pytest

from conftest import (CLI_TIMEOUT, TIMEOUT, USER, Pop3Client, Server, ServerPool, SmtpClient,
                      b64, deadline_loop, dot_stuff, free_port, require_tool)

CERT_NAME = "localhost"  # the name a client verifies the generated certificate against
TLS_LOG_WAIT = 5.0  # seconds to wait for a log line written at handshake time


# --------------------------------------------------------------------------------------------
# the server: conftest's Server plus the TLS listeners


class TlsServer(Server):
    """A Server whose drop-in also sets submission_listen, submissions_listen and
    pop3s_listen to fresh loopback ports (and turns IMAP off: not implemented yet)."""

    DEFAULTS = {
        "imap_listen": "",
        "imaps_listen": "",
        "auth_failure_delay": "0",
    }

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.submission_port = None
        self.submissions_port = None
        self.pop3s_port = None

    @property
    def cert_path(self):
        return self.dir / "tls" / "cert.pem"

    @property
    def key_path(self):
        return self.dir / "tls" / "key.pem"

    def pick_ports(self):
        while True:
            super().pick_ports()
            self.submission_port = free_port()
            self.submissions_port = free_port()
            self.pop3s_port = free_port()
            ports = [self.smtp_port, self.pop3_port, self.submission_port,
                     self.submissions_port, self.pop3s_port]
            if len(set(ports)) == len(ports):
                return

    def settings(self):
        s = super().settings()
        s.update(self.DEFAULTS)
        s.update({
            "submission_listen": f"127.0.0.1:{self.submission_port}",
            "submissions_listen": f"127.0.0.1:{self.submissions_port}",
            "pop3s_listen": f"127.0.0.1:{self.pop3s_port}",
        })
        s.update(self.extra)
        return s

    def ports(self):
        return super().ports() + [("127.0.0.1", self.submission_port),
                                  ("127.0.0.1", self.submissions_port),
                                  ("127.0.0.1", self.pop3s_port)]

    # ---- clients

    def context(self, **kw):
        return client_context(self.cert_path, **kw)

    def port(self, role):
        return {"smtp": self.smtp_port, "submission": self.submission_port,
                "submissions": self.submissions_port, "pop3": self.pop3_port,
                "pop3s": self.pop3s_port}[role]

    def smtp_client(self, role, ctx=None, source=None, wrap=None, greeting=True):
        """A raw SMTP client on `role` ("smtp", "submission", "submissions"); TLS at once
        on submissions. wrap overrides how TLS is started (see ssl_wrapper / ossl_wrapper)."""
        wrap = wrap or ssl_wrapper(ctx or self.context())
        return TlsSmtp(self.port(role), wrap, implicit=(role == "submissions"), source=source,
                       greeting=greeting)

    def pop3_client(self, role, ctx=None, source=None, wrap=None):
        wrap = wrap or ssl_wrapper(ctx or self.context())
        return TlsPop3(self.port(role), wrap, implicit=(role == "pop3s"), source=source)

    def authed_submission(self, user=USER, password=None, role="submissions"):
        """Connected over TLS (implicit, or STARTTLS on "submission"), EHLO'd and
        authenticated with AUTH PLAIN."""
        c = self.smtp_client(role)
        try:
            if role == "submission":
                assert c.ehlo().code == 250
                c.starttls()
            r = c.ehlo()
            assert r.code == 250, r
            r = c.auth_plain(user, self.accounts[user] if password is None else password)
            assert r.code == 235, r
        except BaseException:
            c.close()
            raise
        return c

    def messages(self, user=USER, password=None):
        """Every message of user's mailbox over pop3s (works whatever
        plaintext_auth_loopback says)."""
        with self.pop3_client("pop3s") as p:
            p.login(user, self.accounts[user] if password is None else password)
            msgs = p.retr_all()
            p.quit()
        return msgs

    def assert_healthy(self):
        assert self.alive(), f"server died (status {self.proc.poll()}); log:\n{self.log_tail()}"
        with self.smtp_client("submissions") as c:
            assert c.ehlo().code == 250
            assert c.cmd("NOOP").code == 250
            assert c.cmd("QUIT").code == 221
        with self.pop3_client("pop3s") as p:
            p.login(USER, self.accounts[USER])
            assert p.cmd("STAT").startswith(b"+OK")
            p.quit()
        assert self.alive(), f"server died; log:\n{self.log_tail()}"

    def wait_log(self, predicate, what, timeout=TLS_LOG_WAIT):
        """The first log line for which predicate(line) holds; fails after timeout."""
        for _ in deadline_loop(timeout):
            for line in self.log_text().splitlines():
                if predicate(line):
                    return line
        raise AssertionError(f"no log line {what} within {timeout} s; log:\n{self.log_tail()}")


class TlsPool(ServerPool):
    def make(self, conf=None, accounts=None, start=True, ipv6=False, domain="localhost",
             aliases=()):
        s = TlsServer(self.base / f"srv{len(self.servers)}", conf=conf, accounts=accounts,
                      domain=domain)
        s.ipv6 = ipv6
        self.servers.append(s)
        s.init()
        for source, *targets in aliases:
            s.cli_ok("alias", "add", source, *targets)
        if start:
            s.start()
        return s


@pytest.fixture
def tls_factory(data_base):
    """make(conf={key: value}, accounts=..., start=True, aliases=[(src, target...)])."""
    pool = TlsPool(data_base)
    yield pool.make
    pool.close()


@pytest.fixture
def tls_server(tls_factory):
    """A started TlsServer with the default drop-in (plaintext_auth_loopback at its default)."""
    return tls_factory()


@pytest.fixture
def strict_server(tls_factory):
    """A started TlsServer with plaintext_auth_loopback = no: no password before TLS."""
    return tls_factory(conf={"plaintext_auth_loopback": "no"})


# --------------------------------------------------------------------------------------------
# TLS plumbing


def client_context(cafile, minimum=None, maximum=None):
    """A verifying client context that trusts only cafile (check_hostname on)."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


def ssl_wrapper(ctx, hostname=CERT_NAME):
    return lambda sock: ctx.wrap_socket(sock, server_hostname=hostname)


def tcp_connect(port, source=None, timeout=TIMEOUT):
    """A TCP connection to 127.0.0.1:port, from source (another loopback address) if given."""
    src = (source, 0) if source else None
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=src)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def require_pyopenssl():
    try:
        from OpenSSL import SSL
    except ImportError:
        pytest.fail("Python module OpenSSL (Debian python3-openssl) is not installed: the "
                    "tls-exporter channel binding needs its export_keying_material "
                    "(add python3-openssl to tools/deps.sh test)", pytrace=False)
    if not hasattr(SSL.Connection, "export_keying_material"):
        pytest.fail("pyOpenSSL too old: no Connection.export_keying_material", pytrace=False)
    return SSL


class OsslSocket:
    """A TLS client socket on pyOpenSSL with the few socket methods the raw clients use
    (sendall, recv, settimeout, close), plus version(), cipher() and the RFC 5705 exporter.
    The underlying socket is non-blocking; every wait is a select() with the timeout."""

    def __init__(self, sock, cafile, hostname=CERT_NAME, timeout=TIMEOUT, tls13=True):
        SSL = require_pyopenssl()
        self._SSL = SSL
        ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
        ctx.set_min_proto_version(SSL.TLS1_3_VERSION if tls13 else SSL.TLS1_2_VERSION)
        if not tls13:
            ctx.set_max_proto_version(SSL.TLS1_2_VERSION)
        ctx.load_verify_locations(str(cafile))
        ctx.set_verify(SSL.VERIFY_PEER, lambda conn, cert, err, depth, ok: bool(ok))
        self.timeout = timeout
        self.raw = sock
        sock.setblocking(False)
        self.conn = SSL.Connection(ctx, sock)
        self.conn.set_tlsext_host_name(hostname.encode())
        self.conn.set_connect_state()
        self._io(self.conn.do_handshake)

    def _io(self, fn, *args):
        SSL = self._SSL
        end = time.monotonic() + (self.timeout if self.timeout is not None else 1e9)
        while True:
            try:
                return fn(*args)
            except SSL.WantReadError:
                rd, wr = [self.raw], []
            except SSL.WantWriteError:
                rd, wr = [], [self.raw]
            left = end - time.monotonic()
            if left <= 0 or not any(select.select(rd, wr, [], left)):
                raise socket.timeout("TLS read/write timed out")

    def sendall(self, data):
        view = memoryview(bytes(data))
        while view:
            n = self._io(self.conn.send, view.tobytes())
            view = view[n:]

    def recv(self, n):
        SSL = self._SSL
        try:
            return self._io(self.conn.recv, n)
        except SSL.ZeroReturnError:
            return b""
        except SSL.SysCallError as e:
            if e.args and e.args[0] in (-1, 0):  # unexpected EOF
                return b""
            raise ConnectionResetError(str(e)) from e

    def settimeout(self, t):
        self.timeout = t

    def setsockopt(self, *args):
        self.raw.setsockopt(*args)

    def close(self):
        self.raw.close()

    def version(self):
        return self.conn.get_protocol_version_name()

    def cipher(self):
        return (self.conn.get_cipher_name(), self.conn.get_cipher_version(),
                self.conn.get_cipher_bits())

    def exporter(self, label=b"EXPORTER-Channel-Binding", length=32):
        """RFC 9266 tls-exporter: label EXPORTER-Channel-Binding, no context (in TLS 1.3 the
        same as an empty context, RFC 8446 7.5), 32 bytes."""
        return self.conn.export_keying_material(label, length)

    def peer_cert_der(self):
        from OpenSSL import crypto
        return crypto.dump_certificate(crypto.FILETYPE_ASN1, self.conn.get_peer_certificate())


def ossl_wrapper(cafile, tls13=True):
    return lambda sock: OsslSocket(sock, cafile, tls13=tls13)


def tls_server_end_point(der):
    """RFC 5929 4.1: hash of the server certificate with its signature's hash algorithm,
    SHA-256 instead of MD5 or SHA-1 (and, undefined by the RFC, for hashless signatures)."""
    from cryptography import x509
    cert = x509.load_der_x509_certificate(der)
    try:
        alg = cert.signature_hash_algorithm
    except Exception:  # e.g. Ed25519: no separate hash
        alg = None
    name = alg.name if alg is not None else "sha256"
    if name in ("md5", "sha1"):
        name = "sha256"
    return hashlib.new(name, der).digest()


def tls_info(sock):
    """(protocol version, cipher name) as the client's TLS object reports them."""
    return sock.version(), sock.cipher()[0]


def assert_quiet(client, seconds=0.5):
    """Nothing more arrives from the server within `seconds` (nor is anything buffered)."""
    assert not client.buf, f"unexpected buffered bytes from the server: {bytes(client.buf)!r}"
    sock = client.sock
    sock.settimeout(seconds)
    try:
        data = sock.recv(4096)
    except (socket.timeout, TimeoutError):
        data = None
    finally:
        sock.settimeout(TIMEOUT)
    assert data is None, f"unexpected data from the server: {data!r}"


# --------------------------------------------------------------------------------------------
# clients


class TlsSmtp(SmtpClient):
    """conftest's raw SMTP client that can run over TLS: implicit (from the first byte) or
    after STARTTLS (RFC 3207), with a chosen source address."""

    def __init__(self, port, wrap, implicit=False, source=None, timeout=TIMEOUT, greeting=True):
        self.sock = tcp_connect(port, source, timeout)
        self.buf = bytearray()
        self.wrap = wrap
        try:
            if implicit:
                self.sock = wrap(self.sock)
            self.greeting = self.reply() if greeting else None
        except BaseException:
            self.close()
            raise

    def start_tls_layer(self):
        """The TLS handshake on this connection (after a go-ahead already read)."""
        assert not self.buf, ("bytes arrived after the STARTTLS go-ahead, before the handshake: "
                              f"{bytes(self.buf)!r}")
        self.sock = self.wrap(self.sock)

    def starttls(self):
        r = self.cmd("STARTTLS")
        assert r.code == 220, f"STARTTLS refused: {r}"
        self.start_tls_layer()
        return r

    def tls_info(self):
        return tls_info(self.sock)

    def auth_plain(self, user, password, authzid=""):
        return self.cmd("AUTH PLAIN " + b64(f"{authzid}\0{user}\0{password}"))

    def auth_login(self, user, password, initial=False):
        if initial:
            r = self.cmd("AUTH LOGIN " + b64(user))
        else:
            r = self.cmd("AUTH LOGIN")
            if r.code != 334:
                return r
            r = self.cmd(b64(user))
        if r.code != 334:
            return r
        return self.cmd(b64(password))

    def auth_scram(self, scram, mech=None, initial=True):
        """Runs SCRAM over SMTP AUTH; returns the final reply. scram.verified tells whether
        the server proved its knowledge of the password (RFC 5802 server-final v=)."""
        mech = mech or scram.mechanism
        return sasl_exchange(self, scram, f"AUTH {mech}", initial, smtp_framing)

    def send_message(self, msg):
        """DATA + dot-stuffed msg + end; returns the reply after the final dot."""
        r = self.cmd("DATA")
        assert r.code == 354, r
        self.send(dot_stuff(msg) + b".\r\n")
        return self.reply()


class TlsPop3(Pop3Client):
    """conftest's raw POP3 client over TLS: implicit (pop3s) or after STLS (RFC 2595)."""

    def __init__(self, port, wrap, implicit=False, source=None, timeout=TIMEOUT):
        self.sock = tcp_connect(port, source, timeout)
        self.buf = bytearray()
        self.wrap = wrap
        try:
            if implicit:
                self.sock = wrap(self.sock)
            self.greeting = self.line()
            assert self.greeting.startswith(b"+OK"), self.greeting
        except BaseException:
            self.close()
            raise

    def start_tls_layer(self):
        assert not self.buf, ("bytes arrived after the STLS go-ahead, before the handshake: "
                              f"{bytes(self.buf)!r}")
        self.sock = self.wrap(self.sock)

    def stls(self):
        r = self.cmd("STLS")
        assert r.startswith(b"+OK"), f"STLS refused: {r!r}"
        self.start_tls_layer()
        return r

    def tls_info(self):
        return tls_info(self.sock)

    def capa(self):
        """{CAPABILITY: [args]} from CAPA (RFC 2449)."""
        _, body = self.multi("CAPA")
        out = {}
        for ln in body.decode().splitlines():
            words = ln.split()
            if words:
                out[words[0].upper()] = [w.upper() for w in words[1:]]
        return out

    def auth_plain(self, user, password, authzid=""):
        return self.cmd("AUTH PLAIN " + b64(f"{authzid}\0{user}\0{password}"))

    def auth_login(self, user, password):
        r = self.cmd("AUTH LOGIN")
        if not r.startswith(b"+ ") and r != b"+":
            return r
        r = self.cmd(b64(user))
        if not r.startswith(b"+ ") and r != b"+":
            return r
        return self.cmd(b64(password))

    def auth_scram(self, scram, mech=None, initial=True):
        mech = mech or scram.mechanism
        return sasl_exchange(self, scram, f"AUTH {mech}", initial, pop3_framing)


def ehlo_keywords(reply):
    """{KEYWORD: [PARAMS...]} (upper case) of an EHLO reply; the first line is the greeting."""
    out = {}
    for line in reply.lines[1:]:
        words = line.decode().split()
        if words:
            out[words[0].upper()] = [w.upper() for w in words[1:]]
    return out


# --------------------------------------------------------------------------------------------
# SCRAM (RFC 5802, SHA-256 per RFC 7677), client side


class ScramError(AssertionError):
    pass


def saslname(name):
    """RFC 5802 5.1: '=' and ',' in a user name are escaped as =3D and =2C."""
    return name.replace("=", "=3D").replace(",", "=2C")


def scram_attrs(text):
    """'a=x,b=y' -> {'a': 'x', 'b': 'y'} (values keep any '=')."""
    out = {}
    for part in text.split(","):
        if len(part) < 2 or part[1] != "=":
            raise ScramError(f"malformed SCRAM attribute {part!r} in {text!r}")
        out[part[0]] = part[2:]
    return out


def _hmac(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


class Scram:
    """One SCRAM-SHA-256 exchange. cb_type ("tls-exporter", "tls-server-end-point", ...) with
    cb_data selects -PLUS ("p=TYPE"); gs2_flag "n" or "y" selects plain SCRAM-SHA-256.
    Test knobs: wrong_nonce, wrong_proof tamper with the client-final message."""

    def __init__(self, user, password, cb_type=None, cb_data=b"", gs2_flag="n", authzid="",
                 nonce=None, wrong_nonce=False, wrong_proof=False):
        self.user, self.password = user, password
        authz = f"a={saslname(authzid)}" if authzid else ""
        if cb_type:
            self.gs2_header = f"p={cb_type},{authz},"
            self.cb_data = cb_data
            self.mechanism = "SCRAM-SHA-256-PLUS"
        else:
            self.gs2_header = f"{gs2_flag},{authz},"
            self.cb_data = b""
            self.mechanism = "SCRAM-SHA-256"
        # printable, no ',' (RFC 5802 7: c-nonce)
        self.cnonce = nonce or base64.b64encode(os.urandom(18)).decode()
        self.bare = f"n={saslname(user)},r={self.cnonce}"
        self.wrong_nonce, self.wrong_proof = wrong_nonce, wrong_proof
        self.salt = self.iterations = self.server_signature = None
        self.verified = False
        self.server_error = None

    def client_first(self):
        return (self.gs2_header + self.bare).encode()

    def client_final(self, server_first):
        sf = server_first.decode()
        a = scram_attrs(sf)
        for k in "rsi":
            if k not in a:
                raise ScramError(f"server-first-message without {k}=: {sf!r}")
        if not a["r"].startswith(self.cnonce) or len(a["r"]) <= len(self.cnonce):
            raise ScramError(f"server nonce does not extend ours ({self.cnonce!r}): {sf!r}")
        self.salt = base64.b64decode(a["s"], validate=True)
        self.iterations = int(a["i"])
        if self.iterations < 4096:  # RFC 7677 4: at least 4096
            raise ScramError(f"iteration count {self.iterations} < 4096")
        nonce = a["r"] + ("x" if self.wrong_nonce else "")
        cbind = base64.b64encode(self.gs2_header.encode() + self.cb_data).decode()
        without_proof = f"c={cbind},r={nonce}"
        auth_message = f"{self.bare},{sf},{without_proof}".encode()
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode("utf-8"), self.salt,
                                     self.iterations)
        client_key = _hmac(salted, b"Client Key")
        stored_key = hashlib.sha256(client_key).digest()
        signature = _hmac(stored_key, auth_message)
        proof = bytes(x ^ y for x, y in zip(client_key, signature))
        if self.wrong_proof:
            proof = bytes([proof[0] ^ 1]) + proof[1:]
        self.server_signature = _hmac(_hmac(salted, b"Server Key"), auth_message)
        return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()

    def check_server_final(self, server_final):
        text = server_final.decode()
        a = scram_attrs(text)
        if "e" in a:
            self.server_error = a["e"]
            return False
        if "v" not in a:
            raise ScramError(f"server-final-message without v=: {text!r}")
        self.verified = hmac.compare_digest(base64.b64decode(a["v"]), self.server_signature)
        if not self.verified:
            raise ScramError("server signature does not match: the server does not know the "
                             "password, or computed the AuthMessage differently")
        return True


# SASL framing per protocol: how a challenge looks and how success/failure look.

def smtp_framing(client, line):
    """Sends one line, returns ("challenge", bytes) | ("ok", reply) | ("fail", reply)."""
    r = client.cmd(line)
    if r.code == 334:
        return "challenge", base64.b64decode(r.lines[0].strip(), validate=True), r
    return ("ok" if r.code == 235 else "fail"), None, r


def pop3_framing(client, line):
    r = client.cmd(line)
    if r == b"+" or r.startswith(b"+ "):
        return "challenge", base64.b64decode(r[2:].strip(), validate=True), r
    return ("ok" if r.startswith(b"+OK") else "fail"), None, r


def sasl_exchange(client, scram, command, initial, framing):
    """The SCRAM exchange; returns the final reply (Reply or POP3 line). A server that reports
    success without a verifiable server-final fails here (RFC 5802 3: the client must check
    the server signature)."""
    if initial:
        kind, data, r = framing(client, f"{command} {b64(scram.client_first())}")
    else:
        kind, data, r = framing(client, command)
        if kind != "challenge":
            return r
        assert data == b"", f"first challenge of a client-first mechanism is not empty: {r!r}"
        kind, data, r = framing(client, b64(scram.client_first()))
    if kind != "challenge":
        return r  # refused at once
    kind, data, r = framing(client, b64(scram.client_final(data)))
    if kind == "challenge":
        if scram.check_server_final(data):
            kind, data, r = framing(client, "")
            return r
        # e=...: the server reports failure in the SCRAM layer; finish the exchange
        kind, data, r = framing(client, "")
        assert kind != "ok", f"success after SCRAM e={scram.server_error}: {r!r}"
        return r
    if kind == "ok":
        # POP3 may carry the server-final as additional data on +OK (RFC 4422 3.6)
        words = r.split() if isinstance(r, bytes) else []
        if len(words) >= 2:
            try:
                final = base64.b64decode(words[1], validate=True)
                if final.startswith(b"v="):
                    scram.check_server_final(final)
                    return r
            except (ValueError, ScramError):
                pass
        raise ScramError(f"success without a SCRAM server-final message: {r!r}")
    return r


# --------------------------------------------------------------------------------------------
# external tools


def run_tool(cmd, input=None, timeout=CLI_TIMEOUT, text=True):
    return subprocess.run(cmd, input=input, capture_output=True, text=text, timeout=timeout,
                          stdin=None if input is not None else subprocess.DEVNULL)


def describe(r):
    return (f"`{' '.join(map(str, r.args))}` exited {r.returncode}\n"
            f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")


def swaks(server, role, *args):
    exe = require_tool("swaks")
    cmd = [exe, "--server", f"127.0.0.1:{server.port(role)}", "--helo", "client.example",
           "--timeout", str(int(TIMEOUT)), *args]
    return run_tool(cmd)


def curl(*args, binary=False):
    exe = require_tool("curl")
    return run_tool([exe, "-sS", "--max-time", str(int(TIMEOUT)), *args], text=not binary)


def curl_tls_args(server, port):
    """Verify the generated certificate for the name localhost while connecting to 127.0.0.1
    (the server listens on IPv4 loopback only)."""
    return ["--cacert", str(server.cert_path), "--resolve", f"{CERT_NAME}:{port}:127.0.0.1"]

