"""
\\Recent for IMAP4rev1 sessions against the real server (RFC 3501 2.3.2, 6.3.1, 6.4.4, 7.3.2,
6.3.10): the first SELECT after a delivery claims the messages (RECENT count, \\Recent in
FETCH FLAGS, SEARCH RECENT/NEW/OLD), a second session's SELECT does not see them, EXAMINE
shows them without claiming, STATUS RECENT counts what nobody claimed, a delivery while a
session is selected becomes recent there (EXISTS with RECENT), and an IMAP4rev2 session
(RFC 9051 appendix E) neither sees nor claims anything. Also the CONDSTORE details of this
work: a mailbox that never changed reports HIGHESTMODSEQ 1 (RFC 7162 3.1: mod-sequences are
at least 1), and FETCH MODSEQ enables CONDSTORE with one HIGHESTMODSEQ (RFC 7162 3.1).
"""

import imaplib
import re

import pytest

from conftest import USER, free_port, make_message, smtp_send
from test_imap_select import Raw

TIMEOUT = 20


@pytest.fixture
def imap_server(server_factory):
    port = free_port()
    s = server_factory(conf={"imap_listen": f"127.0.0.1:{port}"})
    s.imap_port = port
    return s


def deliver(server, n=1, tag="r"):
    for i in range(n):
        m = make_message(f"recent {tag}{i}", f"body {tag}{i}\r\n".encode())
        smtp_send(server, "sender@example.org", [USER], m)


def login(s, rev2=False):
    r = Raw(s.imap_port)
    _, tagged = r.cmd("L", f'LOGIN "{USER}" "{s.accounts[USER]}"')
    assert tagged.startswith(b"L OK"), tagged
    if rev2:
        _, tagged = r.cmd("E", "ENABLE IMAP4rev2")
        assert tagged.startswith(b"E OK"), tagged
    return r


def recent_count(lines):
    counts = [int(m.group(1)) for m in (re.match(rb"\* (\d+) RECENT$", ln) for ln in lines) if m]
    return counts[-1] if counts else None


def fetch_flags(r, tag, seqs="1:*"):
    lines, tagged = r.cmd(tag, f"FETCH {seqs} (FLAGS)")
    assert tagged.startswith(tag.encode() + b" OK"), tagged
    out = {}
    for ln in lines:
        m = re.match(rb"\* (\d+) FETCH \(FLAGS \(([^)]*)\)\)$", ln)
        if m:
            out[int(m.group(1))] = set(m.group(2).split())
    return out


def search(r, tag, criteria):
    lines, tagged = r.cmd(tag, f"SEARCH {criteria}")
    assert tagged.startswith(tag.encode() + b" OK"), tagged
    found = [ln for ln in lines if ln.startswith(b"* SEARCH")]
    assert len(found) == 1, lines
    return [int(x) for x in found[0].split()[2:]]


def status_recent(r, tag):
    lines, tagged = r.cmd(tag, "STATUS INBOX (RECENT MESSAGES)")
    assert tagged.startswith(tag.encode() + b" OK"), tagged
    m = re.search(rb"RECENT (\d+)", b" ".join(lines))
    assert m, lines
    return int(m.group(1))


def test_first_select_claims_second_does_not(imap_server):
    s = imap_server
    deliver(s, 3)
    a, b = login(s), login(s)
    try:
        assert status_recent(a, "s1") == 3
        # LIST-STATUS (RFC 5819) answers the same
        lines, tagged = a.cmd("s0", 'LIST "" INBOX RETURN (STATUS (RECENT MESSAGES))')
        assert tagged.startswith(b"s0 OK"), tagged
        assert any(re.search(rb"^\* STATUS .*RECENT 3", ln) for ln in lines), lines
        # EXAMINE shows them and claims nothing
        lines, tagged = b.cmd("x", "EXAMINE INBOX")
        assert tagged.startswith(b"x OK [READ-ONLY]"), tagged
        assert recent_count(lines) == 3, lines
        assert all(b"\\Recent" in f for f in fetch_flags(b, "xf").values())
        _, tagged = b.cmd("xc", "CLOSE")
        assert tagged.startswith(b"xc OK"), tagged
        assert status_recent(a, "s2") == 3
        # the first SELECT gets them
        lines, tagged = a.cmd("a1", "SELECT INBOX")
        assert tagged.startswith(b"a1 OK [READ-WRITE]"), tagged
        assert recent_count(lines) == 3, lines
        flags = fetch_flags(a, "a2")
        assert sorted(flags) == [1, 2, 3], flags
        assert all(b"\\Recent" in f for f in flags.values()), flags
        assert search(a, "a3", "RECENT") == [1, 2, 3]
        assert search(a, "a4", "OLD") == []
        _, tagged = a.cmd("a5", "STORE 2 +FLAGS.SILENT (\\Seen)")
        assert tagged.startswith(b"a5 OK"), tagged
        assert search(a, "a6", "NEW") == [1, 3]
        # the second session's SELECT sees nothing recent
        lines, tagged = b.cmd("b1", "SELECT INBOX")
        assert tagged.startswith(b"b1 OK"), tagged
        assert recent_count(lines) == 0, lines
        assert not any(b"\\Recent" in f for f in fetch_flags(b, "b2").values())
        assert search(b, "b3", "RECENT") == []
        assert search(b, "b4", "OLD") == [1, 2, 3]
        assert status_recent(b, "b5") == 0
        # \Recent stays with the first session for as long as it has them
        assert all(b"\\Recent" in f for f in fetch_flags(a, "a7").values())
    finally:
        a.close()
        b.close()


def test_delivery_while_selected_is_recent_there(imap_server):
    s = imap_server
    deliver(s, 1, "old")
    a = login(s)
    b = login(s)
    try:
        lines, tagged = a.cmd("a1", "SELECT INBOX")
        assert recent_count(lines) == 1, lines
        lines, tagged = b.cmd("b1", "SELECT INBOX")
        assert recent_count(lines) == 0, lines
        deliver(s, 2, "new")
        # whichever session syncs first claims the new ones: here a
        lines = []
        for i in range(50):
            more, tagged = a.cmd(f"n{i}", "NOOP")
            lines += more
            if any(ln == b"* 3 EXISTS" for ln in lines):
                break
        assert b"* 3 EXISTS" in lines, lines
        assert recent_count(lines) == 3, lines
        assert search(a, "a2", "RECENT") == [1, 2, 3]
        lines = []
        for i in range(50):
            more, tagged = b.cmd(f"m{i}", "NOOP")
            lines += more
            if any(ln == b"* 3 EXISTS" for ln in lines):
                break
        assert b"* 3 EXISTS" in lines, lines
        assert recent_count(lines) in (None, 0), lines
        assert search(b, "b2", "RECENT") == []
        assert status_recent(b, "b3") == 0
    finally:
        a.close()
        b.close()


def test_rev2_session_neither_sees_nor_claims(imap_server):
    s = imap_server
    deliver(s, 2)
    r2 = login(s, rev2=True)
    r1 = login(s)
    try:
        lines, tagged = r2.cmd("a", "SELECT INBOX")
        assert tagged.startswith(b"a OK"), tagged
        assert not any(b"RECENT" in ln for ln in lines), lines
        assert not any(b"\\Recent" in f for f in fetch_flags(r2, "b").values())
        # still unclaimed for an IMAP4rev1 session
        assert status_recent(r1, "c") == 2
        lines, tagged = r1.cmd("d", "SELECT INBOX")
        assert recent_count(lines) == 2, lines
    finally:
        r1.close()
        r2.close()


def test_highestmodseq_at_least_one_and_implicit_condstore(imap_server):
    s = imap_server
    r = login(s)
    try:
        _, tagged = r.cmd("c", "CREATE Empty")
        assert tagged.startswith(b"c OK"), tagged
        lines, tagged = r.cmd("s", "STATUS Empty (HIGHESTMODSEQ)")
        assert any(b"HIGHESTMODSEQ 1)" in ln for ln in lines), lines
        lines, tagged = r.cmd("e", "SELECT Empty (CONDSTORE)")
        assert b"* OK [HIGHESTMODSEQ 1] Highest" in lines, lines
        r.close()
        deliver(s, 2)
        r = login(s)
        lines, tagged = r.cmd("a", "SELECT INBOX")
        assert not any(b"HIGHESTMODSEQ" in ln for ln in lines), lines
        # FETCH MODSEQ is CONDSTORE-enabling: HIGHESTMODSEQ once, then MODSEQ
        # in the FETCH responses of flag changes
        lines, tagged = r.cmd("b", "FETCH 1 (MODSEQ)")
        assert tagged.startswith(b"b OK"), tagged
        assert sum(1 for ln in lines if ln.startswith(b"* OK [HIGHESTMODSEQ ")) == 1, lines
        lines, tagged = r.cmd("c", "FETCH 2 (MODSEQ)")
        assert not any(b"HIGHESTMODSEQ" in ln for ln in lines), lines
        lines, tagged = r.cmd("d", "STORE 1 +FLAGS (\\Flagged)")
        assert any(re.match(rb"\* 1 FETCH \(.*MODSEQ \(\d+\)", ln) for ln in lines), lines
    finally:
        r.close()


def test_recent_in_fetch_with_other_flags_and_bodies(imap_server):
    s = imap_server
    deliver(s, 2)
    m = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=TIMEOUT)
    try:
        typ, data = m.login(USER, s.accounts[USER])
        assert typ == "OK", data
        typ, data = m.select("INBOX")
        assert typ == "OK", data
        typ, data = m.store("1", "+FLAGS", "(\\Draft $Kw)")
        assert typ == "OK", data
        typ, data = m.store("2", "+FLAGS", "(\\Seen)")
        assert typ == "OK", data
        for items in ("(BODY.PEEK[] FLAGS)", "(FLAGS BODY.PEEK[])", "(FLAGS)"):
            typ, data = m.fetch("1:2", items)
            assert typ == "OK", data
            text = b"".join(d if isinstance(d, bytes) else d[0] + d[1] for d in data)
            flags = [set(f.split()) for f in re.findall(rb"FLAGS \(([^)]*)\)", text)]
            assert flags == [{b"\\Recent", b"\\Draft", b"$Kw"}, {b"\\Recent", b"\\Seen"}], text
            if b"BODY[]" in text:
                assert text.count(b"recent r0") == 1 and text.count(b"body r1") == 1, text
        typ, data = m.search(None, "NEW")
        assert typ == "OK" and data == [b"1"], data
        typ, data = m.search(None, "RECENT DRAFT")
        assert typ == "OK" and data == [b"1"], data
    finally:
        m.logout()
