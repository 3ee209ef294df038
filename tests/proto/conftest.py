"""
conftest.py - fixtures and helpers for Posthorn's protocol tests.

What it does: runs the real `posthorn` binary (POSTHORN_BIN, default build/posthorn of this
checkout) in a fresh temporary data dir on fresh loopback ports, adds accounts through the real
admin commands, and offers small raw SMTP and POP3 clients that keep every byte visible (the
stdlib clients hide line endings and dot-stuffing, which several tests must see).

What it does not do: it never touches a process it did not start (signals go to the pid of the
Popen it made), never uses a non-loopback address, and never skips: a missing binary or tool is a
failure, not a pass.

Invariants: every network read has a timeout (TIMEOUT, generous for a loaded 2-core machine),
every wait loop has a deadline, and every test has a wall-clock watchdog (SIGALRM, default
120 s, `@pytest.mark.timeout(N)` to change). A server started by a fixture must stop on SIGTERM
with exit status 0 within STOP_TIMEOUT, or the test errors at teardown.
"""

import atexit
import base64
import email.utils
import os
import queue
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

sys.dont_write_bytecode = True

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

HOSTNAME = "mx.posthorn.test"
DOMAIN = "localhost"
ACCOUNTS = {
    "user@localhost": "user-Secret-1",
    "bob@localhost": "bob-Secret-2",
}
USER, USER_PW = "user@localhost", ACCOUNTS["user@localhost"]
BOB, BOB_PW = "bob@localhost", ACCOUNTS["bob@localhost"]

TIMEOUT = float(os.environ.get("POSTHORN_TEST_TIMEOUT", "30"))  # one network read or write
START_TIMEOUT = 30.0  # serve: until both ports accept connections
STOP_TIMEOUT = 20.0  # SIGTERM: until the process has exited
CLI_TIMEOUT = 60.0  # one admin command
DEFAULT_TEST_LIMIT = 120  # watchdog for one test, seconds

CRLF = b"\r\n"


# --------------------------------------------------------------------------------------------
# watchdog: a hung test fails instead of hanging the run


class WatchdogTimeout(Exception):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    marker = item.get_closest_marker("timeout")
    limit = int(marker.args[0]) if marker else DEFAULT_TEST_LIMIT

    def on_alarm(signum, frame):
        raise WatchdogTimeout(f"{item.nodeid}: still running after {limit} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# --------------------------------------------------------------------------------------------
# paths, tools, ports


_bin_copy = None


def posthorn_bin():
    """The binary under test; fails the test loudly when it is missing. The first call copies
    it aside, so that a rebuild during the run does not change or remove it under the tests."""
    global _bin_copy
    if _bin_copy is None:
        path = Path(os.environ.get("POSTHORN_BIN") or REPO / "build" / "posthorn")
        if not path.is_file() or not os.access(path, os.X_OK):
            pytest.fail(f"posthorn binary not found or not executable: {path} "
                        "(build it with make, or set POSTHORN_BIN)", pytrace=False)
        snap = Path(tempfile.mkdtemp(prefix="posthorn-proto-bin-"))
        snap.chmod(0o755)
        shutil.copy2(path, snap / "posthorn")
        atexit.register(shutil.rmtree, snap, True)
        _bin_copy = str(snap / "posthorn")
    return _bin_copy


def require_tool(name):
    """Path of an external client program; fails (never skips) when it is not installed."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"required tool '{name}' is not installed (tools/deps.sh test)",
                    pytrace=False)
    return path


def free_port(host="127.0.0.1"):
    """A port that was free a moment ago (the kernel's choice for port 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def deadline_loop(seconds, interval=0.02):
    """Yields until `seconds` have passed; the caller breaks out when its condition holds."""
    end = time.monotonic() + seconds
    while True:
        yield
        if time.monotonic() >= end:
            return
        time.sleep(interval)


# --------------------------------------------------------------------------------------------
# the server under test


class Server:
    """One posthorn data dir and (when started) one `posthorn serve` process."""

    def __init__(self, root, conf=None, accounts=None, domain=DOMAIN):
        self.dir = Path(root)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf_file = self.dir / "posthorn.conf"
        self.dropin = self.dir / "conf.d" / "test.conf"
        self.log_path = self.dir / "server.log"
        self.domain = domain
        self.accounts = dict(ACCOUNTS if accounts is None else accounts)
        self.extra = dict(conf or {})
        self.smtp_port = None
        self.pop3_port = None
        self.proc = None
        self.starts = 0
        self.ever_ready = False
        self.killed_on_purpose = False
        self.ipv6 = False
        self.smtp_port6 = None

    # ---- admin commands

    def run(self, *args, input=None, timeout=CLI_TIMEOUT):
        """`posthorn ARGS...` with no -c added; returns the CompletedProcess (text mode)."""
        return subprocess.run([posthorn_bin(), *args], input=input, capture_output=True,
                              text=True, timeout=timeout, cwd=self.dir)

    def cli(self, *args, input=None, timeout=CLI_TIMEOUT):
        """`posthorn ARGS... -c CONF` (options after the subcommand words)."""
        return self.run(*args, "-c", str(self.conf_file), input=input, timeout=timeout)

    def cli_ok(self, *args, input=None):
        r = self.cli(*args, input=input)
        assert r.returncode == 0, describe_run(r)
        return r

    def add_account(self, address, password):
        self.cli_ok("account", "add", address, "--password-stdin", input=password + "\n")
        self.accounts[address] = password

    # ---- setup

    def init(self, template=False):
        """`posthorn init` and `account add` for each account; or, with template, a copy of a
        data dir made that way once per session (a store holds hundreds of directories and
        every admin command syncs, which would cost most of a second per test)."""
        make_traversable(self.dir.parent)
        if template:
            copy_tree_owned(template_dir(self.domain, self.accounts), self.dir)
            self.write_dropin()
            return
        r = self.run("init", "--dir", str(self.dir), "--domain", self.domain,
                     "--hostname", HOSTNAME)
        assert r.returncode == 0, describe_run(r)
        assert self.conf_file.is_file(), f"init did not create {self.conf_file}"
        self.write_dropin()
        for address, password in list(self.accounts.items()):
            self.add_account(address, password)

    def main_conf_keys(self):
        keys = set()
        for line in self.conf_file.read_text(errors="replace").splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                keys.add(line.split("=", 1)[0].strip())
        return keys

    def settings(self):
        ipv6 = f",[::1]:{self.smtp_port6}" if self.ipv6 else ""
        s = {
            "hostname": HOSTNAME,
            "smtp_listen": f"127.0.0.1:{self.smtp_port}{ipv6}",
            "submission_listen": "",
            "imap_listen": "",
            "pop3_listen": f"127.0.0.1:{self.pop3_port}",
            "message_size_limit": "1M",
            "smtp_recipient_limit": "100",
            "local_address_literals": "127.0.0.1",
            "recipient_delimiter": "+",
            # failed logins are answered at once (test_pop3 checks the delay itself)
            "auth_failure_delay": "0",
            # outbound mail stays here: a relay host where nothing listens defers it
            # (test_queue.py sets up DNS and a remote server of its own)
            "relayhost": "[127.0.0.1]:9",
        }
        # every other listener of the main file off: fixed ports would clash between runs
        for key in sorted(self.main_conf_keys()):
            if key.endswith("_listen") and key not in s:
                s[key] = ""
        s.update(self.extra)
        return s

    def pick_ports(self):
        self.smtp_port = free_port()
        self.pop3_port = free_port()
        self.smtp_port6 = free_port("::1") if self.ipv6 else None

    def write_dropin(self):
        if self.smtp_port is None:
            self.pick_ports()
        self.dropin.parent.mkdir(exist_ok=True)
        lines = ["# written by tests/proto/conftest.py"]
        lines += [f"{k} = {v}".rstrip() for k, v in self.settings().items()]
        self.dropin.write_text("\n".join(lines) + "\n")

    def set_conf(self, **kw):
        """Changes drop-in settings; takes effect at the next start."""
        self.extra.update({k: str(v) for k, v in kw.items()})
        self.write_dropin()

    # ---- process control

    def start(self):
        assert not self.alive(), "already running"
        for attempt in range(3):
            with open(self.log_path, "ab") as log:
                log.write(f"==== start {self.starts + 1}\n".encode())
                log.flush()
                self.proc = subprocess.Popen([posthorn_bin(), "serve", "-c", str(self.conf_file)],
                                             stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                             cwd=self.dir)
            self.starts += 1
            self.killed_on_purpose = False
            if self.wait_ready():
                self.ever_ready = True
                return self
            # A port picked at random may have been taken since: new ports, first start only.
            if not self.ever_ready and self.proc.poll() is not None \
                    and "in use" in self.log_text().lower():
                self.pick_ports()
                self.write_dropin()
                continue
            break
        status = self.proc.poll()
        if status is None:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)
        pytest.fail(f"posthorn serve did not become ready within {START_TIMEOUT} s "
                    f"(exit status {status}); log:\n{self.log_tail()}", pytrace=False)

    def ports(self):
        p = [("127.0.0.1", self.smtp_port), ("127.0.0.1", self.pop3_port)]
        if self.ipv6:
            p.append(("::1", self.smtp_port6))
        return p

    def wait_ready(self):
        """True once every configured port accepts; False when the process exits first."""
        pending = self.ports()
        for _ in deadline_loop(START_TIMEOUT):
            if self.proc.poll() is not None:
                return False
            still = []
            for host, port in pending:
                try:
                    with socket.create_connection((host, port), timeout=2):
                        pass
                except OSError:
                    still.append((host, port))
            pending = still
            if not pending:
                return True
        return False

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM and wait; returns the exit status (None when it had to be SIGKILLed)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT)
                return None
        return self.proc.returncode

    def stop_ok(self):
        rc = self.stop()
        assert rc == 0, (f"posthorn serve did not exit 0 on SIGTERM within {STOP_TIMEOUT} s "
                         f"(status {rc}); log:\n{self.log_tail()}")

    def kill(self):
        """SIGKILL (a crash) and reap."""
        assert self.alive(), f"server is not running; log:\n{self.log_tail()}"
        self.proc.kill()
        self.proc.wait(STOP_TIMEOUT)
        self.killed_on_purpose = True

    def restart(self):
        self.stop_ok()
        self.start()

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, n=60):
        return "\n".join(self.log_text().splitlines()[-n:])

    # ---- clients

    def smtp(self, **kw):
        return SmtpClient(self.smtp_port, **kw)

    def pop3(self, user=None, password=None, **kw):
        c = Pop3Client(self.pop3_port, **kw)
        if user is not None:
            c.login(user, self.accounts[user] if password is None else password)
        return c

    def messages(self, user=USER, password=None):
        """Every message of user's mailbox, in POP3 order, byte-exact (raw client)."""
        with self.pop3(user, password) as p:
            msgs = p.retr_all()
            p.quit()
        return msgs

    def assert_healthy(self):
        """The process is alive and a fresh SMTP and POP3 client are served normally."""
        assert self.alive(), f"server died (status {self.proc.poll()}); log:\n{self.log_tail()}"
        with self.smtp() as c:
            r = c.ehlo()
            assert r.code == 250, r
            assert c.cmd("NOOP").code == 250
            r = c.cmd("QUIT")
            assert r.code == 221, r
        with self.pop3(USER) as p:
            assert p.cmd("STAT").startswith(b"+OK")
            p.quit()
        assert self.alive(), f"server died; log:\n{self.log_tail()}"


def make_traversable(path):
    """Run as root, the server drops to its run_user: that user must be able to
    reach the data directory, so give every ancestor the search bit (pytest
    makes its temporary directories 0700)."""
    if os.geteuid() != 0:
        return
    p = Path(path).resolve()
    p.mkdir(parents=True, exist_ok=True)
    while p != p.parent:
        mode = p.stat().st_mode
        if not mode & 0o001:
            os.chmod(p, (mode & 0o7777) | 0o011)
        p = p.parent


_templates = {}


def template_dir(domain, accounts):
    """A data dir made by the real `posthorn init` + `account add`, once per session for each
    (domain, accounts); removed when the test run ends."""
    key = (domain, tuple(sorted(accounts.items())))
    if key not in _templates:
        base = make_data_base("template")
        atexit.register(shutil.rmtree, base, True)
        tpl = Server(base / "tpl", accounts=accounts, domain=domain)
        tpl.init()
        tpl.dropin.unlink()
        _templates[key] = tpl.dir
    return _templates[key]


def copy_tree_owned(src, dst):
    """Copies src to dst keeping modes and (when root) owners: posthorn started as root works
    as its run_user, which owns the data dir's files."""
    shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("server.log"))
    if os.geteuid() != 0:
        return
    for root, dirs, files in os.walk(src):
        for name in [None] + dirs + files:
            path = root if name is None else os.path.join(root, name)
            st = os.lstat(path)
            os.lchown(os.path.join(dst, os.path.relpath(path, src)), st.st_uid, st.st_gid)


def describe_run(r):
    return (f"`{' '.join(map(str, r.args))}` exited {r.returncode}\n"
            f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}")


class ServerPool:
    """Servers made by one fixture; teardown stops each and checks a clean exit."""

    def __init__(self, base):
        self.base = Path(base)
        self.servers = []

    def make(self, conf=None, accounts=None, start=True, ipv6=False, domain=DOMAIN,
             template=True):
        s = Server(self.base / f"srv{len(self.servers)}", conf=conf, accounts=accounts,
                   domain=domain)
        s.ipv6 = ipv6
        self.servers.append(s)
        s.init(template=template)
        if start:
            s.start()
        return s

    def close(self):
        problems = []
        for s in self.servers:
            if s.proc is None:
                continue
            was_alive = s.alive()
            rc = s.stop()
            if not was_alive and s.killed_on_purpose:
                continue
            if rc != 0:
                problems.append(f"server in {s.dir}: exit status {rc} "
                                f"({'alive at teardown' if was_alive else 'had died'}), "
                                f"want 0 after SIGTERM within {STOP_TIMEOUT} s; log tail:\n"
                                f"{s.log_tail(40)}")
            else:
                print(f"---- {s.dir}/server.log (tail)\n{s.log_tail(30)}")
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)


def make_data_base(label):
    """A fresh directory for data dirs. Not pytest's tmp_path: that lives under a 0700 directory
    of the invoking user, and posthorn started as root works as its unprivileged run_user,
    which must be able to reach its data dir. POSTHORN_TEST_TMP chooses the parent."""
    parent = os.environ.get("POSTHORN_TEST_TMP") or tempfile.gettempdir()
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)[-60:]
    base = Path(tempfile.mkdtemp(prefix=f"posthorn-proto-{safe}-", dir=parent))
    base.chmod(0o755)
    return base


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


class Remover:
    """Removes finished data dirs in a background thread: a store holds a few hundred
    directories, and removing them inline would add most of a second to every test."""

    def __init__(self):
        self.queue = queue.Queue()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            path = self.queue.get()
            if path is None:
                return
            shutil.rmtree(path, ignore_errors=True)

    def finish(self):
        self.queue.put(None)
        self.thread.join(120)


@pytest.fixture(scope="session")
def remover():
    r = Remover()
    yield r
    r.finish()


@pytest.fixture
def data_base(request, remover):
    """A fresh directory for this test; removed afterwards unless the test failed (or
    POSTHORN_TEST_KEEP is set)."""
    base = make_data_base(request.node.name)
    yield base
    rep = getattr(request.node, "rep_call", None)
    if (rep is not None and rep.failed) or os.environ.get("POSTHORN_TEST_KEEP"):
        print(f"data kept in {base}")
    else:
        remover.queue.put(base)


@pytest.fixture
def server_factory(data_base):
    """make(conf={key: value}, accounts={addr: pw}, start=True, ipv6=False, template=True)
    -> Server (template=False runs the real init and account add for this data dir)."""
    pool = ServerPool(data_base)
    yield pool.make
    pool.close()


@pytest.fixture
def server(server_factory):
    """A started server with ACCOUNTS in domain localhost and the default drop-in."""
    return server_factory()


# --------------------------------------------------------------------------------------------
# SMTP


class Reply:
    """One SMTP reply: code and the text of each line (bytes, without code and CRLF)."""

    def __init__(self, code, lines):
        self.code = code
        self.lines = lines

    @property
    def text(self):
        return b"\n".join(self.lines).decode("utf-8", "replace")

    @property
    def enhanced(self):
        """The RFC 3463 enhanced status code of the first line, or None."""
        m = re.match(rb"([245]\.\d{1,3}\.\d{1,3})(?:\s|$)", self.lines[0])
        return m.group(1).decode() if m else None

    def __repr__(self):
        return f"<Reply {self.code} {self.text!r}>"


REPLY_LINE = re.compile(rb"([2-5][0-9][0-9])([ -])(.*)\Z", re.S)


class ConnectionClosed(Exception):
    pass


class SmtpClient:
    """A raw SMTP client: sends exactly the bytes given, parses replies strictly (CRLF lines,
    RFC 5321 4.2 multi-line form)."""

    def __init__(self, port, host="127.0.0.1", timeout=TIMEOUT, greeting=True):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.greeting = self.reply() if greeting else None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionClosed(f"connection closed; unparsed bytes {bytes(self.buf)[:200]!r}")
        self.buf += chunk

    def line(self):
        while True:
            i = self.buf.find(CRLF)
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if len(self.buf) > 1 << 20:
                raise AssertionError("reply line longer than 1 MiB")
            self._fill()

    def reply(self):
        lines = []
        while True:
            raw = self.line()
            m = REPLY_LINE.match(raw)
            assert m, f"malformed reply line {raw!r}"
            code = int(m.group(1))
            assert not lines or code == lines[0][0], f"code changed inside a reply: {raw!r}"
            assert b"\n" not in raw and b"\r" not in raw, f"bare CR/LF in reply {raw!r}"
            lines.append((code, m.group(3)))
            if m.group(2) == b" ":
                return Reply(code, [t for _, t in lines])

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def cmd(self, line):
        if isinstance(line, str):
            line = line.encode("utf-8")
        self.send(line + CRLF)
        return self.reply()

    def ehlo(self, name="client.example"):
        return self.cmd(f"EHLO {name}")

    def read_until_closed(self, timeout=TIMEOUT):
        """Every byte until the server closes; AssertionError if it does not within timeout."""
        end = time.monotonic() + timeout
        data = bytearray(self.buf)
        self.buf.clear()
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"server did not close within {timeout} s; "
                                     f"got {bytes(data)[-300:]!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return bytes(data)
            if not chunk:
                return bytes(data)
            data += chunk

    def closed_by_server(self, timeout=TIMEOUT):
        """True when the server closes the connection (after any pending bytes) in time."""
        try:
            rest = self.read_until_closed(timeout)
        except AssertionError:
            return False
        assert rest == b"", f"unexpected bytes before close: {rest!r}"
        return True

    def begin(self, mail_from="sender@example.org", rcpts=(USER,), ehlo=True):
        """EHLO, MAIL, RCPT...; asserts each is accepted."""
        if ehlo:
            r = self.ehlo()
            assert r.code == 250, r
        r = self.cmd(f"MAIL FROM:<{mail_from}>")
        assert r.code == 250, r
        for rcpt in rcpts:
            r = self.cmd(f"RCPT TO:<{rcpt}>")
            assert r.code == 250, (rcpt, r)


def parse_replies(data):
    """Splits a byte stream of SMTP replies into Reply objects (strict CRLF)."""
    out, cur = [], []
    assert data == b"" or data.endswith(CRLF), f"trailing partial reply {data[-100:]!r}"
    for raw in data.split(CRLF)[:-1]:
        m = REPLY_LINE.match(raw)
        assert m, f"malformed reply line {raw!r}"
        cur.append((int(m.group(1)), m.group(3)))
        if m.group(2) == b" ":
            out.append(Reply(cur[0][0], [t for _, t in cur]))
            cur = []
    assert not cur, "unterminated multi-line reply"
    return out


def dot_stuff(data):
    """RFC 5321 4.5.2: a leading '.' of any line doubled; data must end with CRLF."""
    assert data.endswith(CRLF)
    return re.sub(rb"(?m)^\.", b"..", data)


def smtp_send(server, mail_from, rcpts, data, mail_options=(), rcpt_options=()):
    """Sends one message with smtplib (EHLO, MAIL, RCPT..., DATA); asserts every step is
    accepted and returns the queue id from '250 2.0.0 Ok: queued as ID'. data is bytes with
    CRLF line endings ending in CRLF: smtplib then puts exactly these bytes on the wire."""
    assert data.endswith(CRLF)
    with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="client.example",
                      timeout=TIMEOUT) as s:
        code, msg = s.ehlo()
        assert code == 250, (code, msg)
        code, msg = s.mail(mail_from, list(mail_options))
        assert code == 250, (code, msg)
        for rcpt in rcpts:
            code, msg = s.rcpt(rcpt, list(rcpt_options))
            assert code == 250, (rcpt, code, msg)
        code, msg = s.data(data)
        assert code == 250, (code, msg)
        return queue_id(msg)


def queue_id(text):
    if isinstance(text, str):
        text = text.encode()
    m = re.search(rb"queued as ([A-Za-z0-9._-]+)\s*$", text)
    assert m, f"250 after DATA does not name the queue id: {text!r}"
    return m.group(1).decode()


def make_message(subject="test", body=b"Hello.\r\n", headers=(), sender="sender@example.org",
                 to=USER):
    """A small RFC 5322 message, CRLF line endings, ending in CRLF."""
    if isinstance(body, str):
        body = body.encode()
    head = [f"From: <{sender}>", f"To: <{to}>", f"Subject: {subject}",
            f"Message-ID: <{subject.replace(' ', '.')}.{time.time_ns()}@client.example>",
            "Date: " + email.utils.formatdate(localtime=False)]
    head += list(headers)
    return ("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + body


# --------------------------------------------------------------------------------------------
# stored-message checks: stored = Return-Path + Received (prepended) + exactly the bytes sent


def header_fields(data):
    """Yields (field_bytes_with_CRLF, name_lower) from the top of data until the blank line."""
    pos = 0
    while pos < len(data) and not data.startswith(CRLF, pos):
        end = data.find(CRLF, pos)
        assert end >= 0, f"header without CRLF: {data[pos:pos + 100]!r}"
        end += 2
        while end < len(data) and data[end:end + 1] in (b" ", b"\t"):
            nxt = data.find(CRLF, end)
            assert nxt >= 0
            end = nxt + 2
        field = data[pos:end]
        name = field.split(b":", 1)[0].strip().lower()
        yield field, name, pos
        pos = end


def split_trace(stored):
    """(return_path_field, received_field, rest): the two fields Posthorn prepends, each exactly
    once and in either order, then everything after them."""
    got = {}
    for field, name, pos in header_fields(stored):
        if len(got) == 2:
            return got[b"return-path"], got[b"received"], stored[pos:]
        assert name in (b"return-path", b"received") and name not in got, (
            f"stored message does not start with one Return-Path and one Received field; "
            f"found {field[:120]!r} (top: {stored[:400]!r})")
        got[name] = field
    if len(got) == 2:
        consumed = len(got[b"return-path"]) + len(got[b"received"])
        return got[b"return-path"], got[b"received"], stored[consumed:]
    raise AssertionError(f"no prepended Return-Path + Received in {stored[:400]!r}")


def assert_stored(stored, sent, mail_from):
    """stored is exactly Return-Path: <mail_from>, a Received field naming HOSTNAME and a date,
    then sent byte for byte."""
    rp, rcvd, rest = split_trace(stored)
    want_rp = b"<" + mail_from.encode("utf-8") + b">"
    assert rp.split(b":", 1)[1].strip() == want_rp, f"Return-Path {rp!r}, want {want_rp!r}"
    assert_received(rcvd)
    if rest != sent:
        raise AssertionError(f"stored body differs from the bytes sent: {first_diff(rest, sent)}")


def assert_received(rcvd):
    """RFC 5321 4.4: a Received field with 'by <this host>' and a date after the last ';'."""
    unfolded = re.sub(rb"\r\n[ \t]", b" ", rcvd).decode("utf-8", "replace")
    assert re.search(r"\bby\s+" + re.escape(HOSTNAME) + r"\b", unfolded, re.I), unfolded
    assert ";" in unfolded, f"Received without '; date': {unfolded!r}"
    date = unfolded.rsplit(";", 1)[1].strip()
    assert email.utils.parsedate_to_datetime(date) is not None, unfolded


def first_diff(a, b):
    n = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    return (f"lengths {len(a)} (stored) vs {len(b)} (sent); first difference at byte {n}: "
            f"stored {a[max(0, n - 40):n + 40]!r} sent {b[max(0, n - 40):n + 40]!r}")


# --------------------------------------------------------------------------------------------
# POP3


class Pop3Error(AssertionError):
    pass


class Pop3Client:
    """A raw POP3 client (RFC 1939): exact CRLF lines, multi-line responses un-dot-stuffed."""

    def __init__(self, port, host="127.0.0.1", timeout=TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.greeting = self.line()
        assert self.greeting.startswith(b"+OK"), self.greeting

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while True:
            i = self.buf.find(CRLF)
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionClosed(f"POP3 connection closed; pending {bytes(self.buf)!r}")
            self.buf += chunk

    def cmd(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.send(line + CRLF)
        return self.line()

    def ok(self, line):
        r = self.cmd(line)
        if not r.startswith(b"+OK"):
            raise Pop3Error(f"{line!r} -> {r!r}")
        return r

    def read_multi(self):
        """The lines of a multi-line response after its status line, un-dot-stuffed; returns
        the body as bytes with CRLF after every line."""
        out = bytearray()
        while True:
            line = self.line()
            if line == b".":
                return bytes(out)
            if line.startswith(b"."):
                line = line[1:]
            out += line + CRLF

    def multi(self, line):
        status = self.ok(line)
        return status, self.read_multi()

    def login(self, user, password):
        self.ok(f"USER {user}")
        self.ok(f"PASS {password}")

    def stat(self):
        r = self.ok("STAT")
        parts = r.split()
        return int(parts[1]), int(parts[2])

    def list(self):
        _, body = self.multi("LIST")
        return {int(a): int(b) for a, b in (ln.split() for ln in body.splitlines())}

    def uidl(self):
        _, body = self.multi("UIDL")
        out = {}
        for ln in body.splitlines():
            n, uid = ln.split(b" ", 1)
            out[int(n)] = uid.decode()
        return out

    def retr(self, n):
        return self.multi(f"RETR {n}")[1]

    def retr_all(self):
        return [self.retr(n) for n in sorted(self.list())]

    def quit(self):
        r = self.cmd("QUIT")
        assert r.startswith(b"+OK"), r
        return r


def b64(s):
    return base64.b64encode(s.encode("utf-8") if isinstance(s, str) else s).decode()
