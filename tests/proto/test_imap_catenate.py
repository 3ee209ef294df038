"""
CATENATE (RFC 4469) with Python's imaplib against the real server: TEXT parts and URL parts (RFC
5092: the relative "/mailbox;UIDVALIDITY=n/;UID=n/;SECTION=s/;PARTIAL=o.l" form and the full
"imap://user@host/..." form naming the logged-in user) assembled into one message, MULTIAPPEND
with CATENATE, NO [BADURL url] with nothing appended for URLs naming nothing readable (wrong
UIDVALIDITY, no such message or mailbox, another user, a shared mailbox without the read right),
[TRYCREATE] before any URL check, NO [TOOBIG] past the message limit, the quota; also APPEND of a
literal8 holding NUL (RFC 3516 4.4), STORE of the keyword NIL and "[" in mailbox names.
"""

import imaplib
import re

import pytest

from conftest import BOB, BOB_PW, USER, USER_PW, free_port

TIMEOUT = 30
ALICE, ALICE_PW = "alice@localhost", "alice-Secret-3"


@pytest.fixture
def srv(server_factory):
    port = free_port()
    s = server_factory(conf={"imap_listen": f"127.0.0.1:{port}"})
    s.imap_port = port
    return s


def login(s, user=USER, password=USER_PW):
    m = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=TIMEOUT)
    typ, data = m.login(user, password)
    assert typ == "OK", data
    return m


def raw(m, data):
    """Send one command (bytes, literals included); (status, tagged text, untagged lines)."""
    tag = m._new_tag()
    m.send(tag + b" " + data + b"\r\n")
    lines = []
    for _ in range(10000):
        line = m._get_line()
        if line.startswith(tag + b" "):
            rest = line[len(tag) + 1:].decode(errors="replace")
            return rest.split(" ", 1)[0], rest, lines
        lines.append(line)
    raise AssertionError("no tagged reply")


def lit(data):
    """A non-synchronizing literal (LITERAL+, RFC 7888)."""
    return b"{%d+}\r\n" % len(data) + data


def append(m, mailbox, msg):
    """APPEND msg; (uidvalidity, uid)."""
    typ, text, _ = raw(m, b"APPEND " + mailbox.encode() + b" " + lit(msg))
    assert typ == "OK", text
    match = re.search(r"\[APPENDUID (\d+) (\d+)\]", text)
    assert match, text
    return int(match.group(1)), int(match.group(2))


def fetch_body(m, mailbox, uid):
    typ, data = m.select(mailbox)
    assert typ == "OK", data
    typ, data = m.uid("FETCH", str(uid), "(BODY.PEEK[])")
    assert typ == "OK", data
    return data[0][1]


def messages(m, mailbox):
    typ, data = m.status(mailbox, "(MESSAGES)")
    assert typ == "OK", data
    return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))


MSG = (b"From: a@example.org\r\nSubject: source\r\n\r\nHello world body\r\n")
MULTI = (b"From: a@example.org\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n"
         b"--xx\r\nContent-Type: text/plain\r\n\r\none\r\n"
         b"--xx\r\nContent-Type: text/html\r\n\r\n<b>two</b>\r\n--xx--\r\n")


def test_catenate_assembles_text_and_urls(srv):
    m = login(srv)
    try:
        typ, data = m.capability()
        assert "CATENATE" in data[0].decode().split(), data
        assert m.create("Out")[0] == "OK"
        uv, uid = append(m, "INBOX", MSG)
        _, uid2 = append(m, "INBOX", MULTI)
        cmd = (b"APPEND Out (\\Seen) CATENATE (URL \"/INBOX;UIDVALIDITY=%d/;UID=%d/;SECTION=HEADER\""
               b" TEXT " % (uv, uid) + lit(b"new body\r\n")
               + b" URL \"/inbox/;uid=%d/;section=2\"" % uid2
               + b" TEXT " + lit(b"\r\n-- \r\n")
               + b" URL \"imap://user%%40localhost;AUTH=*@127.0.0.1/INBOX/;UID=%d/;SECTION=TEXT/;PARTIAL=6.5\")"
               % uid)
        typ, text, _ = raw(m, cmd)
        assert typ == "OK" and "[APPENDUID" in text, text
        new_uid = int(re.search(r"APPENDUID \d+ (\d+)", text).group(1))
        assert fetch_body(m, "Out", new_uid) == (
            b"From: a@example.org\r\nSubject: source\r\n\r\nnew body\r\n<b>two</b>\r\n-- \r\nworld")
        typ, data = m.uid("FETCH", str(new_uid), "(FLAGS)")
        assert b"\\Seen" in data[0], data
        # the whole message, and a PARTIAL past its end (nothing)
        cmd = (b"APPEND Out CATENATE (URL \"/INBOX/;UID=%d\") CATENATE (URL "
               b"\"/INBOX/;UID=%d/;PARTIAL=100000.1\" TEXT " % (uid, uid) + lit(b"X: y\r\n\r\nz\r\n")
               + b")")
        typ, text, _ = raw(m, cmd)
        assert typ == "OK", text
        uids = re.search(r"APPENDUID \d+ (\d+):(\d+)", text)
        assert uids, text
        assert fetch_body(m, "Out", int(uids.group(1))) == MSG
        assert fetch_body(m, "Out", int(uids.group(2))) == b"X: y\r\n\r\nz\r\n"
    finally:
        m.logout()


def test_catenate_bad_urls_append_nothing(srv):
    m = login(srv)
    try:
        assert m.create("Out")[0] == "OK"
        uv, uid = append(m, "INBOX", MSG)
        bad = [
            b"/INBOX;UIDVALIDITY=%d/;UID=%d" % (uv + 1, uid),       # another UIDVALIDITY
            b"/INBOX/;UID=%d" % (uid + 5),                           # no such message
            b"/Nowhere/;UID=1",                                      # no such mailbox
            b"/INBOX/;UID=%d/;SECTION=4" % uid,                      # no such part
            b"imap://bob%%40localhost@127.0.0.1/INBOX/;UID=%d" % uid,  # another user
            b"/INBOX;UID=1",                                         # not a URL
            b"/INBOX/;UID=1;URLAUTH=anonymous:internal:00",          # URLAUTH
        ]
        for url in bad:
            cmd = (b"APPEND Out CATENATE (TEXT " + lit(b"a: b\r\n\r\n") + b" URL \"" + url
                   + b"\" TEXT " + lit(b"c\r\n") + b")")
            typ, text, _ = raw(m, cmd)
            assert typ == "NO" and text.startswith("NO [BADURL " + url.decode()), (url, text)
        # MULTIAPPEND: one bad URL refuses every message
        cmd = (b"APPEND Out " + lit(b"a: b\r\n\r\nc\r\n") + b" CATENATE (URL \"/INBOX/;UID=%d\")"
               % (uid + 9))
        typ, text, _ = raw(m, cmd)
        assert typ == "NO" and "[BADURL" in text, text
        assert messages(m, "Out") == 0
        # a missing destination is [TRYCREATE], whatever the URLs
        cmd = (b"APPEND Missing CATENATE (URL \"/INBOX;UIDVALIDITY=%d/;UID=%d\")" % (uv + 1, uid))
        typ, text, _ = raw(m, cmd)
        assert typ == "NO" and "[TRYCREATE]" in text, text
        # syntax errors are BAD
        typ, text, _ = raw(m, b"APPEND Out CATENATE (TEXT \"quoted\")")
        assert typ == "BAD", text
    finally:
        m.logout()


def test_catenate_shared_mailbox_needs_read_right(srv):
    srv.add_account(ALICE, ALICE_PW)
    a = login(srv, ALICE, ALICE_PW)
    b = login(srv, BOB, BOB_PW)
    try:
        assert a.create("Team")[0] == "OK"
        _, uid = append(a, "Team", MSG)
        url = b"/Shared/alice%%40localhost/Team/;UID=%d/;SECTION=HEADER" % uid
        cmd = b"APPEND INBOX CATENATE (URL \"" + url + b"\" TEXT " + lit(b"mine\r\n") + b")"
        # not shared: as if it did not exist
        typ, text, _ = raw(b, cmd)
        assert typ == "NO" and "[BADURL" in text, text
        # "l" alone: visible but not readable (RFC 4314 4)
        assert a.setacl("Team", BOB, "l")[0] == "OK"
        typ, text, _ = raw(b, cmd)
        assert typ == "NO" and "[BADURL" in text, text
        assert messages(b, "INBOX") == 0
        assert a.setacl("Team", BOB, "lr")[0] == "OK"
        typ, text, _ = raw(b, cmd)
        assert typ == "OK", text
        uid_b = int(re.search(r"APPENDUID \d+ (\d+)", text).group(1))
        assert fetch_body(b, "INBOX", uid_b) == (
            b"From: a@example.org\r\nSubject: source\r\n\r\nmine\r\n")
    finally:
        a.logout()
        b.logout()


def test_catenate_limits(srv):
    m = login(srv)
    try:
        # 2 MiB source, named 33 times: over the 64 MiB message limit
        big = b"From: a@example.org\r\n\r\n" + (b"x" * 1022 + b"\r\n") * 2048
        _, uid = append(m, "INBOX", big)
        cmd = b"APPEND INBOX CATENATE (" + b" ".join(
            [b"URL \"/INBOX/;UID=%d\"" % uid] * 33) + b")"
        typ, text, _ = raw(m, cmd)
        assert typ == "NO" and text.startswith("NO [TOOBIG]"), text
        assert messages(m, "INBOX") == 1
        # the quota counts the assembled size
        srv.cli_ok("account", "quota", USER, str(3 * 1024 * 1024), "0")
        cmd = b"APPEND INBOX CATENATE (URL \"/INBOX/;UID=%d\")" % uid
        typ, text, _ = raw(m, cmd)
        assert typ == "NO" and "[OVERQUOTA]" in text, text
        assert messages(m, "INBOX") == 1
    finally:
        m.logout()


def test_append_literal8_with_nul_is_stored(srv):
    m = login(srv)
    try:
        body = b"\x00\x01binary\x00\r\n"
        msg = (b"From: a@example.org\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: application/octet-stream\r\n"
               b"Content-Transfer-Encoding: binary\r\n\r\n" + body)
        typ, text, _ = raw(m, b"APPEND INBOX ~{%d+}\r\n" % len(msg) + msg)
        assert typ == "OK", text
        uid = int(re.search(r"APPENDUID \d+ (\d+)", text).group(1))
        assert m.select("INBOX")[0] == "OK"
        typ, text, lines = raw(m, b"UID FETCH %d (BINARY.PEEK[1] RFC822.SIZE)" % uid)
        assert typ == "OK", text
        blob = b"\r\n".join(lines)
        assert b"RFC822.SIZE %d" % len(msg) in blob, lines
        assert b"~{%d}" % len(body) in blob, lines
        # literal8 TEXT parts of CATENATE too
        typ, text, _ = raw(m, b"APPEND INBOX CATENATE (TEXT ~{%d+}\r\n" % len(msg) + msg + b")")
        assert typ == "OK", text
    finally:
        m.logout()


def test_store_nil_keyword_and_bracket_names(srv):
    m = login(srv)
    try:
        append(m, "INBOX", MSG)
        assert m.select("INBOX")[0] == "OK"
        typ, text, lines = raw(m, b"STORE 1 +FLAGS NIL")
        assert typ == "OK", text
        typ, data = m.fetch("1", "(FLAGS)")
        assert typ == "OK" and b"NIL" in data[0], data
        # "[" and "}" are ATOM-CHARs (RFC 9051 9): a name, not a section
        typ, text, _ = raw(m, b"SELECT x[y}")
        assert typ == "NO", text
        typ, text, _ = raw(m, b"CREATE a[b")
        assert typ == "OK", text
        typ, text, lines = raw(m, b"LIST \"\" a[*")
        assert typ == "OK" and any(b"a[b" in line for line in lines), (text, lines)
    finally:
        m.logout()
