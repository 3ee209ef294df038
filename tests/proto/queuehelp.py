"""
queuehelp.py - shared pieces of the outbound-queue protocol tests (test_queue*.py,
test_smtp_dsn.py): a scriptable SMTP server standing in for the next hop, the DNS zone they
route by, the drop-in that points a Server's queue at both, and submit / wait helpers.

What it does: SmtpSink listens on one loopback address (127.0.0.2 unless told otherwise) and
serves every connection in a thread of its own: a greeting, EHLO with the capabilities it is
given (plus STARTTLS when it has a TLS context, AUTH PLAIN LOGIN when it has credentials or a
canned AUTH reply), STARTTLS, AUTH PLAIN (RFC 4954, initial response only), MAIL, RCPT, DATA
(dot-stuffing undone, RFC 5321 4.5.2), BDAT (RFC 3030, when CHUNKING is offered), RSET, NOOP,
QUIT. It records every message, every command line (all, MAIL and RCPT apart), connections,
EHLOs, RSETs, TLS handshakes, AUTH attempts and the most sessions open at once. A test scripts
it through attributes (rcpt_replies, idle_close, auth, auth_reply, tls_context) or a subclass
overrides its hooks (ehlo_capabilities, on_mail, on_rcpt, drop_during_data, end_of_message,
message_entry); ScriptedSmtp and CountingSmtp below are the two such servers that several
test files share.

What it does not do: it never listens beyond loopback, never checks the message content, and
keeps no state across connections except what it records; AUTH is PLAIN only.

Invariants: every socket read has a timeout (10 s, or idle_close between messages), every wait
in these helpers is bounded, and close() stops the accept loop within a second or so (the
session threads are daemons and end with their connection).
"""

import base64
import json
import ssl
import socket
import sys
import threading
import time

import pytest

from conftest import REPO, USER, deadline_loop

sys.path.insert(0, str(REPO / "tests"))
from dnsserver import DnsServer  # noqa: E402,F401 (re-exported for the test files)

# remote.test and twomx.test reach the sink on 127.0.0.2 (twomx.test after a dead first MX)
ZONE = """
remote.test. 300 IN MX 10 mx.remote.test.
mx.remote.test. 300 IN A 127.0.0.2
twomx.test. 300 IN MX 10 dead.twomx.test.
twomx.test. 300 IN MX 20 mx.remote.test.
dead.twomx.test. 300 IN A 127.0.0.3
nullmx.test. 300 IN MX 0 .
!servfail broken.test.
"""

SESSION_TIMEOUT = 10  # one read by a sink session, seconds
DEFAULT_CAPABILITIES = ("8BITMIME", "PIPELINING", "ENHANCEDSTATUSCODES", "SIZE 10000000")


# --------------------------------------------------------------------------------------------
# the next hop


def prefixed(table, local):
    """The value of the first key of table that local starts with, else None."""
    return next((v for k, v in table.items() if local.startswith(k)), None)


def server_context(cert, key):
    """A server-side ssl.SSLContext with the given PEM certificate and key."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


class SinkSession:
    """One connection of an SmtpSink: what the hooks see and may change. A reply is a str (one
    line, CRLF added) or bytes (sent as they are); hangup set by a hook closes the connection
    after its reply (or without one when the hook returns None)."""

    def __init__(self, conn, number):
        self.conn = conn
        self.number = number  # 1 for the sink's first connection, and so on
        self.file = conn.makefile("rb")
        self.tls = False
        self.authed = False
        self.taken = 0  # messages accepted on this connection
        self.hangup = False
        self.line = b""  # the current command line as received, without CRLF
        self.chunks = b""  # BDAT data so far
        self.reset()

    def reset(self):
        """Forget the transaction (MAIL, RSET, after a message)."""
        self.mail_from = None
        self.mail_line = None  # the MAIL command as received (bytes)
        self.rcpts = []  # accepted addresses
        self.rcpt_lines = []  # the RCPT commands of accepted addresses (bytes)

    @property
    def sni(self):
        """The server name the client sent in its TLS handshake (set by an sni_callback)."""
        return getattr(self.conn, "sni", None)

    def send(self, reply):
        self.conn.sendall(reply if isinstance(reply, bytes) else reply.encode() + b"\r\n")

    def start_tls(self, ctx):
        self.conn = ctx.wrap_socket(self.conn, server_side=True)
        self.conn.settimeout(SESSION_TIMEOUT)
        self.file = self.conn.makefile("rb")
        self.tls = True


class SmtpSink:
    """A next-hop SMTP server on ip (loopback), accepting every recipient by default.

    Attributes a test may set (before the mail is sent):
        rcpt_replies[prefix]  reply to RCPT for local parts starting with prefix (str, or bytes
                              sent verbatim; only a str 2xx accepts the recipient)
        tls_context           an ssl.SSLContext: offer STARTTLS and do it
        auth                  (user, password): offer AUTH, require it before MAIL
        auth_reply            bytes to answer every AUTH with (e.g. a 535), instead of checking
        idle_close            close a connection that stays silent this long after a message
    Records (under lock): messages (see message_entry), commands, mail_cmds, rcpt_cmds (str),
    connections, ehlos, rsets, handshakes, open_now, open_max, auth_seen ((session number,
    tls, ok) per AUTH)."""

    def __init__(self, ip="127.0.0.2", name="sink.test", capabilities=DEFAULT_CAPABILITIES,
                 tls_context=None, backlog=16):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(backlog)
        self.sock.settimeout(0.2)
        self.name = name
        self.capabilities = list(capabilities)
        self.tls_context = tls_context
        self.rcpt_replies = {}
        self.auth = None
        self.auth_reply = None
        self.idle_close = None
        self.lock = threading.Lock()
        self.messages = []
        self.commands = []
        self.mail_cmds = []
        self.rcpt_cmds = []
        self.auth_seen = []
        self.connections = 0
        self.ehlos = 0
        self.rsets = 0
        self.handshakes = 0
        self.open_now = 0
        self.open_max = 0
        self.stop_flag = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

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
                self.connections += 1
                number = self.connections
                self.open_now += 1
                self.open_max = max(self.open_max, self.open_now)
            threading.Thread(target=self.session, args=(conn, number), daemon=True).start()

    # ---- what the tests read

    def received(self, rcpt):
        """The recorded messages that went to rcpt."""
        with self.lock:
            return [m for m in self.messages if rcpt in m[1]]

    def rcpts_seen(self, rcpt):
        """Every RCPT command naming rcpt, accepted or not, as received."""
        with self.lock:
            return [line for line in self.rcpt_cmds if f"<{rcpt}>" in line]

    # ---- one connection

    def session(self, conn, number):
        conn.settimeout(SESSION_TIMEOUT)
        s = SinkSession(conn, number)
        try:
            s.send(f"220 {self.name} ESMTP")
            while not s.hangup:
                if s.taken > 0 and self.idle_close is not None and s.mail_from is None:
                    s.conn.settimeout(self.idle_close)
                try:
                    line = s.file.readline()
                except (socket.timeout, TimeoutError):
                    return  # silent too long: closed by the server
                s.conn.settimeout(SESSION_TIMEOUT)
                if not line:
                    return
                s.line = line.rstrip(b"\r\n")
                cmd = s.line.decode("utf-8", "replace")
                with self.lock:
                    self.commands.append(cmd)
                reply = self.dispatch(s, cmd)
                if reply is not None:
                    s.send(reply)
        except (OSError, ssl.SSLError):
            return
        finally:
            with self.lock:
                self.open_now -= 1
            try:
                s.conn.close()
            except OSError:
                pass

    def dispatch(self, s, cmd):
        up = cmd.upper()
        if up.startswith("EHLO"):
            return self.do_ehlo(s)
        if up == "STARTTLS":
            return self.do_starttls(s)
        if up.startswith("AUTH PLAIN "):
            return self.do_auth(s, cmd)
        if up.startswith("MAIL FROM:"):
            return self.do_mail(s, cmd)
        if up.startswith("RCPT TO:"):
            return self.do_rcpt(s, cmd)
        if up == "DATA":
            return self.do_data(s)
        if up.startswith("BDAT ") and "CHUNKING" in self.capabilities:
            return self.do_bdat(s, cmd)
        if up == "RSET":
            with self.lock:
                self.rsets += 1
            s.reset()
            return "250 2.0.0 ok"
        if up == "NOOP":
            return "250 2.0.0 ok"
        if up == "QUIT":
            s.hangup = True
            return "221 2.0.0 bye"
        return "502 5.5.2 not implemented"

    def ehlo_capabilities(self, s):
        """The EHLO keywords for this session (hook)."""
        caps = list(self.capabilities)
        if self.tls_context is not None and not s.tls:
            caps.append("STARTTLS")
        if self.auth is not None or self.auth_reply is not None:
            caps.append("AUTH PLAIN LOGIN")
        return caps

    def do_ehlo(self, s):
        with self.lock:
            self.ehlos += 1
        lines = [self.name] + self.ehlo_capabilities(s)
        return b"".join(f"250{'-' if i + 1 < len(lines) else ' '}{text}\r\n".encode()
                        for i, text in enumerate(lines))

    def do_starttls(self, s):
        if self.tls_context is None or s.tls:
            return "502 5.5.2 not implemented"
        s.send("220 2.0.0 go ahead")
        try:
            s.start_tls(self.tls_context)
        except (ssl.SSLError, OSError):
            s.hangup = True
            return None
        with self.lock:
            self.handshakes += 1
        return None

    def auth_ok(self, blob):
        try:
            parts = base64.b64decode(blob).split(b"\0")
        except ValueError:
            return False
        user, password = self.auth
        return len(parts) == 3 and parts[1] == user.encode() and parts[2] == password.encode()

    def do_auth(self, s, cmd):
        if self.auth_reply is not None:
            with self.lock:
                self.auth_seen.append((s.number, s.tls, False))
            return self.auth_reply
        ok = self.auth is not None and self.auth_ok(cmd[11:].strip())
        with self.lock:
            self.auth_seen.append((s.number, s.tls, ok))
        if not ok:
            return "535 5.7.8 authentication failed"
        s.authed = True
        return "235 2.7.0 authenticated"

    def on_mail(self, s, cmd):
        """Hook: a reply refusing MAIL, or None to take it."""
        return None

    def do_mail(self, s, cmd):
        if self.auth is not None and not s.authed:
            return "530 5.7.0 authentication required"
        with self.lock:
            self.mail_cmds.append(cmd)
        reply = self.on_mail(s, cmd)
        if reply is not None:
            return reply
        s.reset()
        s.mail_from = cmd[10:].split(">")[0].lstrip("<")
        s.mail_line = s.line
        return "250 2.1.0 ok"

    def on_rcpt(self, s, addr, local):
        """Hook: the reply to RCPT TO:<addr> (local = its local part)."""
        reply = prefixed(self.rcpt_replies, local)
        return "250 2.1.5 ok" if reply is None else reply

    def do_rcpt(self, s, cmd):
        addr = cmd[8:].split(">")[0].lstrip("<")
        with self.lock:
            self.rcpt_cmds.append(cmd)
        reply = self.on_rcpt(s, addr, addr.split("@")[0])
        if isinstance(reply, str) and reply.startswith("2"):
            s.rcpts.append(addr)
            s.rcpt_lines.append(s.line)
        return reply

    def drop_during_data(self, s, data):
        """Hook: True closes the connection in the middle of DATA (data = what came so far)."""
        return False

    def do_data(self, s):
        if not s.rcpts:
            return "554 5.5.1 no valid recipients"
        s.send("354 go ahead")
        data = b""
        while True:
            chunk = s.file.readline()
            if not chunk or self.drop_during_data(s, data):
                s.hangup = True
                return None
            if chunk == b".\r\n":
                break
            data += chunk[1:] if chunk.startswith(b".") else chunk
        return self.end_of_message(s, data)

    def do_bdat(self, s, cmd):
        words = cmd.split()
        if len(words) not in (2, 3) or not words[1].isdigit() or \
                (len(words) == 3 and words[2].upper() != "LAST"):
            s.hangup = True  # the size is unknown: the rest cannot be read as commands
            return "501 5.5.4 syntax: BDAT size [LAST]"
        size = int(words[1])
        chunk = s.file.read(size)
        if len(chunk) < size:
            s.hangup = True
            return None
        if not s.rcpts:
            s.chunks = b""
            return "554 5.5.1 no valid recipients"
        s.chunks += chunk
        if len(words) == 3:
            data, s.chunks = s.chunks, b""
            return self.end_of_message(s, data)
        return f"250 2.0.0 {size} octets received"

    def message_entry(self, s, data):
        """Hook: what messages records for one message."""
        return (s.mail_from, s.rcpts, data)

    def end_of_message(self, s, data):
        """The whole message has come (DATA or BDAT LAST): record it and answer (hook)."""
        with self.lock:
            self.messages.append(self.message_entry(s, data))
        s.taken += 1
        s.reset()
        return "250 2.0.0 accepted"


class ScriptedSmtp(SmtpSink):
    """The next hop of test_queue*.py, acting by recipient local part: ok* accepts, bad* gets
    550 5.1.1, later* gets 450 4.2.1 the first time and 250 afterwards, tmp* gets 450 4.2.1
    every time, drop* makes it close the connection in the middle of the DATA phase once.
    messages holds (mail_from, [rcpts], data); seen counts RCPTs per local part. More knobs:
        rcpt_replies[prefix] = bytes  sent verbatim as the reply to RCPT (malformed, overlong)
        hold_rcpt[prefix] = (reached, release)   threading.Events: the first RCPT reply for
                                  such a local part waits for release
        hold_data[prefix] = (reached, release)   after the whole DATA, before the reply: sets
                                  reached, waits for release, and on that first session closes
                                  without replying or keeping the message (a server that had
                                  not committed it); held_sessions counts those
        broken_starttls = True    offer STARTTLS, answer it with 220, then send no TLS but
                                  garbage and close (starttls_seen counts those)"""

    def __init__(self):
        super().__init__(name="scripted.test")
        self.seen = {}
        self.hold_rcpt = {}
        self.hold_data = {}
        self.held_sessions = 0
        self.broken_starttls = False
        self.starttls_seen = 0

    def ehlo_capabilities(self, s):
        caps = super().ehlo_capabilities(s)
        return caps + ["STARTTLS"] if self.broken_starttls else caps

    def do_starttls(self, s):
        if not self.broken_starttls:
            return super().do_starttls(s)
        with self.lock:
            self.starttls_seen += 1
        s.send("220 2.0.0 ready to start TLS")
        s.hangup = True
        return b"this is not a TLS server hello\r\n" * 4

    def on_mail(self, s, cmd):
        s.drop = False
        return None

    def on_rcpt(self, s, addr, local):
        with self.lock:
            n = self.seen.get(local, 0)
            self.seen[local] = n + 1
        hold = prefixed(self.hold_rcpt, local)
        if hold is not None and n == 0:
            hold[0].set()
            hold[1].wait(30)
        raw = prefixed(self.rcpt_replies, local)
        if raw is not None:
            return raw
        if local.startswith("bad"):
            return "550 5.1.1 no such user here"
        if local.startswith("tmp") or (local.startswith("later") and n == 0):
            return "450 4.2.1 mailbox busy, try later"
        s.drop = getattr(s, "drop", False) or (local.startswith("drop") and n == 0)
        return "250 2.1.5 ok"

    def drop_during_data(self, s, data):
        return getattr(s, "drop", False) and len(data) > 10

    def end_of_message(self, s, data):
        held = [v for r in s.rcpts for k, v in self.hold_data.items()
                if r.split("@")[0].startswith(k) and self.seen.get(r.split("@")[0]) == 1]
        if not held:
            return super().end_of_message(s, data)
        with self.lock:
            self.held_sessions += 1
        held[0][0].set()
        held[0][1].wait(60)
        s.hangup = True
        return None  # never acknowledged, not kept


class CountingSmtp(SmtpSink):
    """The next hop of test_queue_reuse.py and test_queue_relay.py: accepts every recipient;
    messages holds (mail_from, rcpts, data, session number). Knobs besides SmtpSink's:
        data_delay        seconds to wait before answering the end of DATA
        close_after_data  close the connection right after the 250 to the end of DATA
        reject_reuse      answer 421 to MAIL FROM on a connection that already took a message
                          (and close it)"""

    def __init__(self):
        super().__init__(name="counting.test", capabilities=("8BITMIME", "PIPELINING",
                                                             "SIZE 10000000"), backlog=64)
        self.data_delay = 0.0
        self.close_after_data = False
        self.reject_reuse = False

    def on_mail(self, s, cmd):
        if self.reject_reuse and s.taken > 0:
            s.hangup = True
            return "421 4.4.2 not taking more on this connection"
        return None

    def message_entry(self, s, data):
        return (s.mail_from, s.rcpts, data, s.number)

    def end_of_message(self, s, data):
        if self.data_delay:
            time.sleep(self.data_delay)
        reply = super().end_of_message(s, data)
        if self.close_after_data:
            s.hangup = True
        return reply


def sink_fixture(cls, **kw):
    """A pytest fixture (assign it to the fixture's name) yielding cls(**kw), closed after."""
    @pytest.fixture
    def fixture():
        with cls(**kw) as sink:
            yield sink
    return fixture


def dns_fixture(zone=ZONE):
    """A pytest fixture (assign it to `dns`) yielding a DnsServer serving zone."""
    @pytest.fixture
    def dns():
        with DnsServer(zone) as d:
            yield d
    return dns


# --------------------------------------------------------------------------------------------
# the server under test


def outbound_conf(dns, port, **extra):
    """Drop-in settings for outbound delivery by MX through the test DNS server (no DNSSEC, no
    relay host) to SMTP port `port`, retried every second or two; extra (values made str)
    adds to or overrides them."""
    conf = {
        "dns_resolver": f"127.0.0.1@{dns.port}",
        "dns_trust_anchor": "none",
        "relayhost": "",
        "smtp_outbound_port": str(port),
        "queue_retry_min": "1s",
        "queue_retry_max": "2s",
        "queue_scan_interval": "1s",
    }
    conf.update({k: str(v) for k, v in extra.items()})
    return conf


def submit(server, rcpts, msg, user=USER, mail_params=""):
    """Submit msg from user (authenticated submission) to rcpts, each an address or (address,
    RCPT parameters); every reply must be 2xx. Returns the reply to the end of data."""
    c = server.authed_submission(user=user)
    try:
        r = c.cmd(f"MAIL FROM:<{user}>" + (f" {mail_params}" if mail_params else ""))
        assert r.code == 250, r
        for rcpt in rcpts:
            addr, params = (rcpt, "") if isinstance(rcpt, str) else rcpt
            line = f"RCPT TO:<{addr}>" + (f" {params}" if params else "")
            rr = c.cmd(line)
            assert rr.code == 250, (line, rr)
        r = c.send_message(msg)
        assert r.code == 250, r
        return r
    finally:
        c.close()


def submit_each(server, rcpts, make, user=USER):
    """One message per recipient over one submission connection; make(rcpt) builds each."""
    c = server.authed_submission(user=user)
    try:
        for rcpt in rcpts:
            assert c.cmd(f"MAIL FROM:<{user}>").code == 250
            assert c.cmd(f"RCPT TO:<{rcpt}>").code == 250
            assert c.send_message(make(rcpt)).code == 250
    finally:
        c.close()


def wait_for(pred, what, server, seconds=25):
    for _ in deadline_loop(seconds, 0.1):
        if pred():
            return
    raise AssertionError(f"timed out waiting for {what}; log:\n{server.log_tail(40)}")


def queue_json(server):
    r = server.cli("queue", "list", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def queue_ids(server):
    return [e["queue_id"] for e in queue_json(server)]


def dsns(server, user=USER):
    """The delivery reports (multipart/report) in user's mailbox."""
    return [m for m in server.messages(user) if b"multipart/report" in m]


def log_lines(server, needle):
    return [line for line in server.log_text().splitlines() if needle in line]


def outcomes(server, rcpt, status):
    """The scheduler's log lines for rcpt (None: any recipient) with status= status (sent,
    deferred, bounced)."""
    needle = "to=<" if rcpt is None else f"to=<{rcpt}>"
    return [line for line in log_lines(server, needle) if f"status={status} " in line]
