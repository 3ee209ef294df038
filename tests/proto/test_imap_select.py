"""
IMAP's selected state against the real server: SELECT/EXAMINE responses after SMTP delivery
(RFC 9051 6.3.2, 6.3.3), IDLE (RFC 2177) seeing a delivery within 100 ms, EXPUNGE (6.4.3),
NOOP reflecting another session's changes (6.1.2), CLOSE (6.4.1), UNSELECT (RFC 3691) and
SELECT of a mailbox that does not exist. Python's imaplib where it fits; a raw socket where
the exact bytes or timing matter (IDLE) or where imaplib refuses to send (EXPUNGE on EXAMINE).
"""

import imaplib
import re
import select
import socket
import time

import pytest

from conftest import USER, free_port, make_message, smtp_send

TIMEOUT = 20


@pytest.fixture
def imap_server(server_factory):
    port = free_port()
    s = server_factory(conf={"imap_listen": f"127.0.0.1:{port}"})
    s.imap_port = port
    return s


def deliver(server, n=1, tag="m"):
    for i in range(n):
        m = make_message(f"select {tag}{i}", f"body {tag}{i}\r\n".encode())
        smtp_send(server, "sender@example.org", [USER], m)


def login(s):
    m = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=TIMEOUT)
    typ, data = m.login(USER, s.accounts[USER])
    assert typ == "OK", data
    return m


class Raw:
    """A line-oriented raw IMAP client: every byte visible, every read bounded."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.buf = b""
        assert self.line().startswith(b"* OK")

    def close(self):
        self.sock.close()

    def line(self, timeout=TIMEOUT):
        end = time.monotonic() + timeout
        while b"\r\n" not in self.buf:
            left = end - time.monotonic()
            assert left > 0, f"no line within {timeout} s; have {self.buf!r}"
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            chunk = self.sock.recv(65536)
            assert chunk, f"connection closed; have {self.buf!r}"
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def cmd(self, tag, text):
        """Sends 'tag text', returns (untagged lines, tagged line)."""
        self.sock.sendall(tag.encode() + b" " + text.encode() + b"\r\n")
        lines = []
        for _ in range(10000):
            ln = self.line()
            if ln.startswith(tag.encode() + b" "):
                return lines, ln
            lines.append(ln)
        raise AssertionError("too many lines")


def expunges(lines):
    """The lines but untagged FETCH: a session's own STORE may come back as FETCH updates
    (its change notification can arrive after the STORE's reply), nothing else may."""
    return [ln for ln in lines if not re.match(rb"\* \d+ FETCH \(", ln)]


def raw_login(s):
    r = Raw(s.imap_port)
    _, tagged = r.cmd("L", f'LOGIN "{USER}" "{s.accounts[USER]}"')
    assert tagged.startswith(b"L OK"), tagged
    return r


def test_select_after_delivery_and_examine(imap_server):
    s = imap_server
    deliver(s, 2)
    r = raw_login(s)
    try:
        lines, tagged = r.cmd("a", "SELECT INBOX")
        assert tagged.startswith(b"a OK [READ-WRITE]"), tagged
        assert b"* 2 EXISTS" in lines, lines
        # RFC 3501 2.3.2: the first SELECT after delivery claims both
        assert b"* 2 RECENT" in lines, lines
        assert any(ln.startswith(b"* FLAGS (") and b"\\Seen" in ln for ln in lines), lines
        assert any(ln.startswith(b"* OK [PERMANENTFLAGS (") and b"\\*" in ln
                   for ln in lines), lines
        assert any(re.match(rb"\* OK \[UIDVALIDITY [1-9][0-9]*\]", ln) for ln in lines), lines
        assert any(ln.startswith(b"* OK [UIDNEXT 3]") for ln in lines), lines
        assert any(ln.startswith(b"* OK [UNSEEN 1]") for ln in lines), lines
        # EXAMINE: read-only; leaving INBOX says [CLOSED] first (RFC 9051 7.1)
        lines, tagged = r.cmd("b", "EXAMINE INBOX")
        assert tagged.startswith(b"b OK [READ-ONLY]"), tagged
        assert lines[0].startswith(b"* OK [CLOSED]"), lines
        assert b"* 2 EXISTS" in lines, lines
        assert b"* 0 RECENT" in lines, lines
        assert b"* OK [PERMANENTFLAGS ()] No permanent flags permitted" in lines, lines
        _, tagged = r.cmd("c", "EXPUNGE")
        assert tagged.startswith(b"c NO [READ-ONLY]"), tagged
    finally:
        r.close()


def test_select_with_imaplib_and_condstore(imap_server):
    s = imap_server
    deliver(s, 1)
    m = login(s)
    try:
        typ, data = m.select("INBOX")
        assert typ == "OK" and data == [b"1"], (typ, data)
        assert m.untagged_responses.get("UIDNEXT") == [b"2"], m.untagged_responses
        assert "READ-WRITE" in m.untagged_responses, m.untagged_responses
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK" and data == [b"1"], (typ, data)
        assert "READ-ONLY" in m.untagged_responses, m.untagged_responses
    finally:
        m.logout()
    r = raw_login(s)
    try:
        lines, tagged = r.cmd("a", "SELECT INBOX (CONDSTORE)")
        assert tagged.startswith(b"a OK [READ-WRITE]"), tagged
        assert any(re.match(rb"\* OK \[HIGHESTMODSEQ [1-9][0-9]*\]", ln) for ln in lines), lines
        # QRESYNC needs ENABLE QRESYNC first (RFC 7162 3.2.5)
        _, tagged = r.cmd("b", "SELECT INBOX (QRESYNC (1 1))")
        assert tagged.startswith(b"b BAD"), tagged
        lines, tagged = r.cmd("c", "ENABLE QRESYNC")
        assert lines == [b"* ENABLED QRESYNC"] and tagged.startswith(b"c OK"), (lines, tagged)
    finally:
        r.close()


def test_select_nonexistent_mailbox(imap_server):
    m = login(imap_server)
    try:
        typ, data = m.select("No/Such/Box")
        assert typ == "NO", (typ, data)
        assert b"NONEXISTENT" in data[0], data
        assert m.state == "AUTH"
    finally:
        m.logout()
    r = raw_login(imap_server)
    try:
        r.cmd("a", "SELECT INBOX")
        lines, tagged = r.cmd("b", "SELECT Nowhere")
        assert tagged.startswith(b"b NO [NONEXISTENT]"), tagged
        assert lines == [b"* OK [CLOSED] Previous mailbox closed"], lines
        # nothing selected any more (RFC 9051 6.3.2)
        _, tagged = r.cmd("c", "CLOSE")
        assert tagged.startswith(b"c BAD"), tagged
    finally:
        r.close()


@pytest.mark.timeout(60)
def test_idle_sees_delivery_within_100ms(imap_server):
    s = imap_server
    deliver(s, 1)
    r = raw_login(s)
    try:
        lines, tagged = r.cmd("a", "SELECT INBOX")
        assert b"* 1 EXISTS" in lines, lines
        r.sock.sendall(b"i IDLE\r\n")
        assert r.line() == b"+ idling"
        delays = []
        for n in range(2, 5):
            deliver(s, 1, tag=f"idle{n}")
            t0 = time.monotonic()
            got = r.line(timeout=5)
            delays.append(time.monotonic() - t0)
            assert got == f"* {n} EXISTS".encode(), got
            # RFC 3501 7.3.2: this IMAP4rev1 session claims the new one
            assert r.line(timeout=5) == f"* {n} RECENT".encode()
        # SMTP's 250 comes once the message is stored: the update follows at once
        assert max(delays) < 0.1, delays
        r.sock.sendall(b"DONE\r\n")
        assert r.line() == b"i OK IDLE terminated"
        # IDLE again, then garbage instead of DONE ends it with BAD
        r.sock.sendall(b"j IDLE\r\n")
        assert r.line() == b"+ idling"
        r.sock.sendall(b"NOT DONE\r\n")
        assert r.line().startswith(b"j BAD")
        _, tagged = r.cmd("k", "NOOP")
        assert tagged == b"k OK NOOP completed"
    finally:
        r.close()


def test_noop_in_two_sessions_and_expunge(imap_server):
    s = imap_server
    deliver(s, 3)
    a, b = raw_login(s), raw_login(s)
    try:
        a.cmd("a1", "SELECT INBOX")
        b.cmd("b1", "SELECT INBOX")
        deliver(s, 1, tag="new")
        lines, tagged = a.cmd("a2", "NOOP")
        # a (IMAP4rev1) claims the new message: \Recent there (RFC 3501 2.3.2)
        assert lines == [b"* 4 EXISTS", b"* 4 RECENT"] and tagged == b"a2 OK NOOP completed", \
            (lines, tagged)
        lines, tagged = b.cmd("b2", "STORE 2 +FLAGS.SILENT (\\Deleted)")
        assert tagged.startswith(b"b2 OK"), (lines, tagged)
        lines, tagged = a.cmd("a3", "NOOP")
        # a's SELECT claimed the three (RFC 3501 2.3.2)
        assert any(re.match(rb"\* 2 FETCH \(FLAGS \(\\Recent \\Deleted\)\)", ln) for ln in lines), \
            lines
        lines, tagged = b.cmd("b3", "EXPUNGE")
        assert tagged == b"b3 OK EXPUNGE completed", tagged
        assert expunges(lines) == [b"* 2 EXPUNGE"], lines
        lines, tagged = a.cmd("a4", "NOOP")
        assert lines == [b"* 2 EXPUNGE"], lines
        lines, tagged = a.cmd("a5", "CHECK")
        assert lines == [] and tagged == b"a5 OK CHECK completed", (lines, tagged)
        # UID EXPUNGE (RFC 4315) only removes the UIDs named
        b.cmd("b4", "STORE 1:* +FLAGS.SILENT (\\Deleted)")
        lines, tagged = b.cmd("b5", "UID EXPUNGE 4")
        assert tagged.startswith(b"b5 OK"), tagged
        assert expunges(lines) == [b"* 3 EXPUNGE"], lines
        lines, tagged = a.cmd("a6", "NOOP")
        assert b"* 3 EXPUNGE" in lines, lines
    finally:
        a.close()
        b.close()


def test_close_and_unselect(imap_server):
    s = imap_server
    deliver(s, 2)
    r = raw_login(s)
    try:
        r.cmd("a", "SELECT INBOX")
        _, tagged = r.cmd("b", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        assert tagged.startswith(b"b OK"), tagged
        # UNSELECT: no expunge
        lines, tagged = r.cmd("c", "UNSELECT")
        assert lines == [] and tagged == b"c OK UNSELECT completed", (lines, tagged)
        lines, tagged = r.cmd("d", "SELECT INBOX")
        assert b"* 2 EXISTS" in lines, lines
        # CLOSE: expunges silently
        lines, tagged = r.cmd("e", "CLOSE")
        assert lines == [] and tagged == b"e OK CLOSE completed", (lines, tagged)
        _, tagged = r.cmd("f", "EXPUNGE")
        assert tagged.startswith(b"f BAD"), tagged
        lines, tagged = r.cmd("g", "EXAMINE INBOX")
        assert b"* 1 EXISTS" in lines, lines
        assert not any(ln.startswith(b"* OK [CLOSED]") for ln in lines), lines
    finally:
        r.close()


def test_qresync_reselect_reports_vanished_and_changes(imap_server):
    s = imap_server
    deliver(s, 3)
    a, b = raw_login(s), raw_login(s)
    try:
        lines, tagged = a.cmd("a1", "ENABLE QRESYNC")
        assert lines == [b"* ENABLED QRESYNC"], lines
        lines, tagged = a.cmd("a2", "SELECT INBOX")
        uidvalidity = next(re.match(rb"\* OK \[UIDVALIDITY (\d+)\]", ln).group(1)
                           for ln in lines if ln.startswith(b"* OK [UIDVALIDITY"))
        modseq = next(re.match(rb"\* OK \[HIGHESTMODSEQ (\d+)\]", ln).group(1)
                      for ln in lines if ln.startswith(b"* OK [HIGHESTMODSEQ"))
        a.cmd("a3", "UNSELECT")
        b.cmd("b1", "SELECT INBOX")
        _, tagged = b.cmd("b2", "UID STORE 1,3 +FLAGS.SILENT (\\Deleted)")
        assert tagged.startswith(b"b2 OK"), tagged
        _, tagged = b.cmd("b3", "UID EXPUNGE 1")
        assert tagged.startswith(b"b3 OK"), tagged
        lines, tagged = a.cmd("a4", "SELECT INBOX (QRESYNC (%s %s))"
                              % (uidvalidity.decode(), modseq.decode()))
        assert tagged.startswith(b"a4 OK [READ-WRITE]"), tagged
        assert b"* VANISHED (EARLIER) 1" in lines, lines
        assert any(re.match(rb"\* 2 FETCH \(UID 3 FLAGS \(\\Deleted\) MODSEQ \(\d+\)\)", ln)
                   for ln in lines), lines
        assert b"* 2 EXISTS" in lines, lines
        # with QRESYNC on, expunges come as VANISHED (RFC 7162 3.2.10)
        _, tagged = b.cmd("b4", "EXPUNGE")
        lines, tagged = a.cmd("a5", "NOOP")
        assert lines == [b"* VANISHED 3"], lines
    finally:
        a.close()
        b.close()


@pytest.mark.timeout(60)
def test_idle_sees_other_sessions_flags_and_expunge(imap_server):
    s = imap_server
    deliver(s, 2)
    a, b = raw_login(s), raw_login(s)
    try:
        a.cmd("a1", "SELECT INBOX")
        b.cmd("b1", "SELECT INBOX")
        a.sock.sendall(b"a2 IDLE\r\n")
        assert a.line() == b"+ idling"
        _, tagged = b.cmd("b2", "STORE 1 +FLAGS.SILENT (\\Deleted)")
        assert tagged.startswith(b"b2 OK"), tagged
        # a's SELECT came first: the message is \Recent in a (RFC 3501 2.3.2)
        assert a.line(timeout=5) == b"* 1 FETCH (FLAGS (\\Recent \\Deleted))"
        _, tagged = b.cmd("b3", "EXPUNGE")
        assert tagged.startswith(b"b3 OK"), tagged
        assert a.line(timeout=5) == b"* 1 EXPUNGE"
        a.sock.sendall(b"DONE\r\n")
        assert a.line() == b"a2 OK IDLE terminated"
    finally:
        a.close()
        b.close()


def test_selected_mailbox_deleted_by_other_session(imap_server):
    s = imap_server
    a, b = raw_login(s), raw_login(s)
    try:
        _, tagged = b.cmd("b1", "CREATE Tmp")
        assert tagged.startswith(b"b1 OK"), tagged
        lines, tagged = a.cmd("a1", "SELECT Tmp")
        assert b"* 0 EXISTS" in lines and tagged.startswith(b"a1 OK"), (lines, tagged)
        _, tagged = b.cmd("b2", "DELETE Tmp")
        assert tagged.startswith(b"b2 OK"), tagged
        a.sock.sendall(b"a2 NOOP\r\n")
        assert a.line() == b"* BYE Selected mailbox no longer exists"
    finally:
        a.close()
        b.close()
