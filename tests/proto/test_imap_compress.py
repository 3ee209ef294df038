"""
IMAP COMPRESS=DEFLATE (RFC 4978) against the real server, over plain IMAP and over implicit TLS
(imaps): the capability after login, "COMPRESS DEFLATE" answered in plain text and everything
after it deflated both ways (raw deflate, RFC 1951), commands pipelined behind COMPRESS read
as compressed data, a second COMPRESS refused with NO [COMPRESSIONACTIVE], an unknown mechanism
and COMPRESS before login refused with BAD, corrupt compressed input ending only that
connection, and a 10 MB decompression bomb that neither kills the server nor grows its memory.
imaplib has no COMPRESS: the client is a raw socket with zlib.
"""

import os
import socket
import ssl
import time
import zlib

import pytest

from conftest import USER, free_port, make_message, smtp_send
from tlshelp import tls_factory  # noqa: F401 (fixture)

TIMEOUT = 20
SENDER = "sender@example.org"
# compressible and recognisable
BODY = b"".join(b"line %05d of a rather repetitive message body\r\n" % i for i in range(2000))


@pytest.fixture
def imap_server(tls_factory):
    ports = {"imap": free_port(), "imaps": free_port()}
    s = tls_factory(conf={"imap_listen": f"127.0.0.1:{ports['imap']}",
                          "imaps_listen": f"127.0.0.1:{ports['imaps']}"})
    s.imap_port, s.imaps_port = ports["imap"], ports["imaps"]
    return s


class Client:
    """A raw IMAP client that can switch to deflate both ways."""

    def __init__(self, sock):
        self.sock = sock
        self.comp = self.decomp = None
        self.text = b""      # received, decompressed, not yet returned
        self.wire_in = 0     # octets received after the switch (compressed)

    def send(self, data):
        if self.comp is not None:
            data = self.comp.compress(data) + self.comp.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(f"connection closed; pending {self.text[-300:]!r}")
        if self.decomp is not None:
            self.wire_in += len(chunk)
            chunk = self.decomp.decompress(chunk)
        self.text += chunk

    def until_tag(self, tag):
        """Everything up to and including the tagged line of tag."""
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end:
            pos = 0
            while True:
                nl = self.text.find(b"\r\n", pos)
                if nl < 0:
                    break
                if self.text.startswith(tag + b" ", pos):
                    out, self.text = self.text[:nl + 2], self.text[nl + 2:]
                    return out
                pos = nl + 2
            self._fill()
        raise AssertionError(f"no {tag!r} reply within {TIMEOUT} s: {self.text[-300:]!r}")

    def cmd(self, tag, line):
        self.send(tag + b" " + line + b"\r\n")
        return self.until_tag(tag)

    def start_compress(self):
        self.comp = zlib.compressobj(wbits=-15)
        self.decomp = zlib.decompressobj(wbits=-15)
        # anything read past the OK line is already compressed
        rest, self.text = self.text, b""
        self.wire_in += len(rest)
        self.text = self.decomp.decompress(rest)


def connect(s, tls=False):
    raw = socket.create_connection(("127.0.0.1", s.imaps_port if tls else s.imap_port),
                                   timeout=TIMEOUT)
    if tls:
        ctx = ssl.create_default_context(cafile=str(s.cert_path))
        raw = ctx.wrap_socket(raw, server_hostname="localhost")
        ctx.check_hostname = False
    c = Client(raw)
    c.until_tag(b"*")
    return c


def login(c, s):
    r = c.cmd(b"a", b"LOGIN " + USER.encode() + b" " + s.accounts[USER].encode())
    assert b"a OK" in r, r


def deliver(s):
    smtp_send(s, SENDER, [USER], make_message("compressed", body=BODY))


def session_roundtrip(s, tls):
    deliver(s)
    c = connect(s, tls)
    try:
        login(c, s)
        r = c.cmd(b"b", b"CAPABILITY")
        assert b" COMPRESS=DEFLATE" in r, r
        r = c.cmd(b"c", b"COMPRESS DEFLATE")
        assert r.endswith(b"c OK DEFLATE active\r\n"), r
        c.start_compress()
        r = c.cmd(b"d", b"SELECT INBOX")
        assert b"d OK" in r and b"* 1 EXISTS" in r, r
        r = c.cmd(b"e", b"FETCH 1 BODY.PEEK[TEXT]")
        assert b"e OK" in r and BODY in r, r[-300:]
        # it really was compressed: far fewer octets on the wire than the body
        assert c.wire_in < len(BODY) // 4, (c.wire_in, len(BODY))
        # RFC 4978 3: once per session
        r = c.cmd(b"f", b"COMPRESS DEFLATE")
        assert b"f NO [COMPRESSIONACTIVE]" in r, r
        r = c.cmd(b"g", b"LOGOUT")
        assert b"* BYE" in r and b"g OK" in r, r
    finally:
        c.sock.close()


def test_compress_plain(imap_server):
    session_roundtrip(imap_server, tls=False)


def test_compress_over_tls(imap_server):
    session_roundtrip(imap_server, tls=True)


def test_pipelined_after_compress_is_read_compressed(imap_server):
    s = imap_server
    for tls in (False, True):
        c = connect(s, tls)
        try:
            # LOGIN runs a hook: COMPRESS and the compressed command behind it wait
            # in the engine until it completes
            comp = zlib.compressobj(wbits=-15)
            tail = comp.compress(b"d LIST \"\" INBOX\r\nx NOOP\r\n") + comp.flush(zlib.Z_SYNC_FLUSH)
            c.send(b"a LOGIN " + USER.encode() + b" " + s.accounts[USER].encode()
                   + b"\r\nc COMPRESS DEFLATE\r\n" + tail)
            r = c.until_tag(b"a")
            assert b"a OK" in r, r
            r = c.until_tag(b"c")
            assert r.endswith(b"c OK DEFLATE active\r\n"), r
            c.start_compress()
            c.comp = comp
            r = c.until_tag(b"d")
            assert b"d OK" in r and b"INBOX" in r, r
            r = c.until_tag(b"x")
            assert b"x OK" in r, r
            r = c.cmd(b"y", b"NOOP")
            assert b"y OK" in r, r
        finally:
            c.sock.close()


def test_compress_refusals(imap_server):
    s = imap_server
    c = connect(s)
    try:
        assert b"COMPRESS=DEFLATE" not in c.cmd(b"p", b"CAPABILITY")
        r = c.cmd(b"q", b"COMPRESS DEFLATE")
        assert b"q BAD" in r, r
        login(c, s)
        r = c.cmd(b"b", b"COMPRESS GZIP")
        assert b"b BAD" in r, r
        r = c.cmd(b"c", b"COMPRESS")
        assert b"c BAD" in r, r
        # still plain text: nothing was switched
        r = c.cmd(b"d", b"NOOP")
        assert b"d OK" in r, r
    finally:
        c.sock.close()


def closed_by_server(c):
    """True once the server ends the connection within TIMEOUT (replies may come first)."""
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        try:
            c._fill()
        except (EOFError, ConnectionResetError, zlib.error):
            return True
        except socket.timeout:
            return False
    return False


def test_garbage_compressed_data_closes_connection(imap_server):
    s = imap_server
    c = connect(s)
    try:
        login(c, s)
        assert b"c OK" in c.cmd(b"c", b"COMPRESS DEFLATE")
        c.start_compress()
        # 0xff...: block type 3, invalid in RFC 1951 3.2.3
        c.sock.sendall(b"\xff" * 64)
        assert closed_by_server(c)
    finally:
        c.sock.close()
    assert "decompression failed" in s.log_text()
    c = connect(s)
    login(c, s)
    assert b"z OK" in c.cmd(b"z", b"NOOP")
    c.sock.close()
    s.assert_healthy()


@pytest.fixture
def bomb_server(tls_factory, monkeypatch):
    """As imap_server; under AddressSanitizer without its quarantine of freed memory, which
    would otherwise count every freed chunk in the peak RSS (no effect on a normal build)."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    monkeypatch.setenv("ASAN_OPTIONS", (opts + ":" if opts else "") + "quarantine_size_mb=0")
    port = free_port()
    s = tls_factory(conf={"imap_listen": f"127.0.0.1:{port}"})
    s.imap_port = port
    return s


def vm_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {key} for {pid}")


def test_decompression_bomb_bounded(bomb_server):
    s = bomb_server
    pid = s.proc.pid
    c = connect(s)
    try:
        login(c, s)
        assert b"c OK" in c.cmd(b"c", b"COMPRESS DEFLATE")
        c.start_compress()
        hwm_before = vm_kib(pid, "VmHWM")
        comp = zlib.compressobj(level=9, wbits=-15)
        bomb = b""
        for _ in range(10):
            bomb += comp.compress(b"A" * (1 << 20))
        bomb += comp.compress(b"\r\nb NOOP\r\n") + comp.flush(zlib.Z_SYNC_FLUSH)
        assert len(bomb) < 64 * 1024, len(bomb)
        c.sock.sendall(bomb)
        # a 10 MB line is refused: BAD (the session goes on) or BYE and a close
        try:
            r = c.until_tag(b"b")
            assert b"b OK" in r and b"BAD" in r, r[-300:]
        except EOFError:
            assert b"BYE" in c.text, c.text[-300:]
        grown = vm_kib(pid, "VmHWM") - hwm_before
        # far less than the 10 MB inflated: the server consumed it in bounded chunks
        assert grown < 4 * 1024, f"peak RSS grew by {grown} KiB"
    finally:
        c.sock.close()
    assert s.alive()
    c = connect(s)
    login(c, s)
    assert b"z OK" in c.cmd(b"z", b"NOOP")
    c.sock.close()
    s.assert_healthy()
