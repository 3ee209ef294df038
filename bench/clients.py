"""
clients.py - small blocking IMAP, POP3 and SMTP clients for the benchmark.

What it does: speaks just enough of each protocol to drive the loads of bench.py against any
server (Posthorn or Postfix + Dovecot) the same way: IMAP LOGIN / AUTHENTICATE SCRAM-SHA-256
(RFC 5802, RFC 7677) / SELECT / STATUS / IDLE (RFC 2177), POP3 USER/PASS/UIDL/RETR (RFC 1939),
SMTP with AUTH PLAIN (RFC 4954).

What it does not do: TLS (everything runs on loopback, where both servers accept plain-text
passwords), literals in server responses beyond skipping them, or any error recovery: a
protocol error raises ProtoError and the caller reports the figure as "not run" with its text.

Invariants: every socket has a timeout; no loop waits without a deadline.
"""

import base64
import hashlib
import hmac
import os
import re
import socket
import time

TIMEOUT = 60.0


class ProtoError(Exception):
    pass


class LineSock:
    def __init__(self, port, host="127.0.0.1", timeout=TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def fill(self):
        data = self.sock.recv(262144)
        if not data:
            raise ProtoError("connection closed by server")
        self.buf += data

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + 2:]
                return out
            self.fill()

    def exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ------------------------------------------------------------------------------------------
# SCRAM-SHA-256 client side; the salted password is cached per (password, salt, iterations)

_salted = {}


def scram_first(user):
    nonce = base64.b64encode(os.urandom(18)).decode()
    bare = f"n={user},r={nonce}"
    return nonce, bare, base64.b64encode(("n,," + bare).encode()).decode()


def scram_final(password, nonce, bare, server_first_b64):
    sf = base64.b64decode(server_first_b64).decode()
    attrs = dict(kv.split("=", 1) for kv in sf.split(","))
    if not attrs.get("r", "").startswith(nonce):
        raise ProtoError("SCRAM: server nonce does not extend ours")
    salt = base64.b64decode(attrs["s"])
    iters = int(attrs["i"])
    key = (password, salt, iters)
    if key not in _salted:
        _salted[key] = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iters)
    sp = _salted[key]
    ck = hmac.new(sp, b"Client Key", hashlib.sha256).digest()
    stored = hashlib.sha256(ck).digest()
    without_proof = f"c=biws,r={attrs['r']}"
    auth_msg = f"{bare},{sf},{without_proof}".encode()
    sig = hmac.new(stored, auth_msg, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(ck, sig))
    final = f"{without_proof},p={base64.b64encode(proof).decode()}"
    return base64.b64encode(final.encode()).decode()


# ------------------------------------------------------------------------------------------
# IMAP

class Imap:
    def __init__(self, port, timeout=TIMEOUT):
        self.c = LineSock(port, timeout=timeout)
        self.tagn = 0
        greet = self.c.line()
        if not greet.startswith(b"* OK"):
            raise ProtoError(f"IMAP greeting: {greet[:200]!r}")
        self.caps = set()
        m = re.search(rb"\[CAPABILITY ([^\]]*)\]", greet)
        if m:
            self.caps = set(m.group(1).upper().split())

    def read_untagged_or(self, tag):
        """One response line (literals appended inline); returns bytes."""
        line = self.c.line()
        while True:
            m = re.search(rb"\{(\d+)\+?\}$", line)
            if not m:
                return line
            line += self.c.exact(int(m.group(1))) + self.c.line()

    def cmd(self, text):
        """Sends one command; returns (status, text of tagged line, untagged lines)."""
        self.tagn += 1
        tag = f"b{self.tagn}".encode()
        self.c.send(tag + b" " + text.encode() + b"\r\n")
        untagged = []
        while True:
            line = self.read_untagged_or(tag)
            if line.startswith(tag + b" "):
                rest = line[len(tag) + 1:]
                return rest.split(b" ", 1)[0].decode(), rest.decode(errors="replace"), untagged
            if line.startswith(b"+"):
                raise ProtoError(f"unexpected continuation to {text.split()[0]}")
            untagged.append(line)

    def ok(self, text):
        st, rest, untagged = self.cmd(text)
        if st != "OK":
            raise ProtoError(f"{text.split()[0]}: {rest[:200]}")
        return untagged

    def capability(self):
        for line in self.ok("CAPABILITY"):
            if line.upper().startswith(b"* CAPABILITY "):
                self.caps = set(line[13:].upper().split())
        return self.caps

    def login(self, user, password):
        self.ok(f'LOGIN "{user}" "{password}"')
        self.capability()

    def login_scram(self, user, password):
        nonce, bare, first = scram_first(user)
        self.tagn += 1
        tag = f"b{self.tagn}".encode()
        self.c.send(tag + b" AUTHENTICATE SCRAM-SHA-256 " + first.encode() + b"\r\n")
        step = 0
        while True:
            line = self.c.line()
            if line.startswith(b"+"):
                if step == 0:
                    self.c.send(scram_final(password, nonce, bare, line[2:].decode()).encode()
                                + b"\r\n")
                else:
                    self.c.send(b"\r\n")
                step += 1
            elif line.startswith(tag + b" "):
                if not line[len(tag) + 1:].startswith(b"OK"):
                    raise ProtoError(f"AUTHENTICATE SCRAM-SHA-256: {line[:200]!r}")
                return

    def select(self, box="INBOX"):
        exists = None
        for line in self.ok(f"SELECT {box}"):
            m = re.match(rb"\* (\d+) EXISTS", line)
            if m:
                exists = int(m.group(1))
        if exists is None:
            raise ProtoError("SELECT: no EXISTS")
        return exists

    def status_messages(self, box="INBOX"):
        for line in self.ok(f"STATUS {box} (MESSAGES)"):
            m = re.search(rb"MESSAGES (\d+)", line)
            if m:
                return int(m.group(1))
        raise ProtoError("STATUS: no MESSAGES")

    def idle_start(self):
        self.tagn += 1
        self.idle_tag = f"b{self.tagn}".encode()
        self.c.send(self.idle_tag + b" IDLE\r\n")
        while True:
            line = self.c.line()
            if line.startswith(b"+"):
                return
            if line.startswith(self.idle_tag + b" "):
                raise ProtoError(f"IDLE: {line[:200]!r}")

    def logout(self):
        try:
            self.c.send(b"z LOGOUT\r\n")
        except OSError:
            pass
        self.c.close()


# ------------------------------------------------------------------------------------------
# POP3

class Pop3:
    def __init__(self, port, timeout=TIMEOUT):
        self.c = LineSock(port, timeout=timeout)
        self.expect_ok("greeting", self.c.line())

    @staticmethod
    def expect_ok(what, line):
        if not line.startswith(b"+OK"):
            raise ProtoError(f"POP3 {what}: {line[:200]!r}")
        return line

    def cmd(self, text):
        self.c.send(text.encode() + b"\r\n")
        return self.expect_ok(text.split()[0], self.c.line())

    def multi(self, text):
        """A multi-line command; returns the byte count of the body (dot-unstuffed lines)."""
        self.cmd(text)
        n = 0
        lines = 0
        while True:
            line = self.c.line()
            if line == b".":
                return n, lines
            n += len(line) + 2
            lines += 1

    def login(self, user, password):
        self.cmd(f"USER {user}")
        self.cmd(f"PASS {password}")

    def stat(self):
        return int(self.cmd("STAT").split()[1])

    def quit(self):
        try:
            self.cmd("QUIT")
        finally:
            self.c.close()


# ------------------------------------------------------------------------------------------
# SMTP

class Smtp:
    def __init__(self, port, timeout=TIMEOUT):
        self.c = LineSock(port, timeout=timeout)
        self.reply("greeting", 220)

    def reply(self, what, want):
        lines = []
        while True:
            line = self.c.line()
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                break
        code = int(lines[-1][:3]) if lines[-1][:3].isdigit() else 0
        if code != want:
            raise ProtoError(f"SMTP {what}: {b' / '.join(lines)[:300]!r}")
        return lines

    def cmd(self, text, want):
        self.c.send(text.encode() + b"\r\n")
        return self.reply(text.split()[0], want)

    def ehlo(self, name="bench.client"):
        return self.cmd(f"EHLO {name}", 250)

    def auth_plain(self, user, password):
        tok = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        self.cmd(f"AUTH PLAIN {tok}", 235)

    def send_message(self, sender, rcpt, data):
        """data: bytes, CRLF line ends, already dot-stuffed, without the final dot. Returns
        the monotonic time at which the end-of-data dot was sent (the 250 is then read)."""
        self.cmd(f"MAIL FROM:<{sender}>", 250)
        self.cmd(f"RCPT TO:<{rcpt}>", 250)
        self.cmd("DATA", 354)
        self.c.send(data + b".\r\n")
        t_end = time.monotonic()
        return t_end

    def finish_message(self):
        self.reply("end of data", 250)

    def quit(self):
        try:
            self.c.send(b"QUIT\r\n")
            self.c.line()
        except (OSError, ProtoError):
            pass
        self.c.close()


def make_message(sender, rcpt, size, subject="bench"):
    """A message of about `size` bytes of body, CRLF, dot-stuffing not needed (no line
    starts with a dot)."""
    head = (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{os.urandom(8).hex()}@bench.client>\r\n"
            f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\r\n\r\n")
    line = b"x" * 76 + b"\r\n"
    return head.encode() + line * max(1, size // len(line))
