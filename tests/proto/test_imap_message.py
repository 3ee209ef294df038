"""
IMAP commands that change messages, with Python's imaplib against the real server: APPEND with
flags, keywords and a date (APPENDUID, RFC 4315), 8-bit and literal8 (RFC 3516) content round
trips, MULTIAPPEND (RFC 3502) all or nothing, [TRYCREATE] for a missing mailbox, STORE +FLAGS /
-FLAGS / FLAGS.SILENT with keywords, COPY with COPYUID, MOVE and UID MOVE (RFC 6851), and the
account's quota refusing an APPEND.
"""

import imaplib
import re
import time

import pytest

from conftest import USER, USER_PW, free_port

TIMEOUT = 20


@pytest.fixture
def srv(server_factory):
    port = free_port()
    s = server_factory(conf={"imap_listen": f"127.0.0.1:{port}"})
    s.imap_port = port
    return s


def login(s):
    m = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=TIMEOUT)
    typ, data = m.login(USER, USER_PW)
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


def message(subject, body=b"Hello.\r\n"):
    return (b"From: a@example.org\r\nTo: user@localhost\r\nSubject: " + subject.encode()
            + b"\r\nMessage-ID: <" + subject.replace(" ", ".").encode()
            + b"@example.org>\r\n\r\n" + body)


def appenduid(data):
    match = re.search(rb"\[APPENDUID (\d+) ([0-9:,]+)\]", data[0])
    assert match, data
    return int(match.group(1)), match.group(2).decode()


def status(m, mailbox, items="(MESSAGES UIDNEXT)"):
    typ, data = m.status(mailbox, items)
    assert typ == "OK", data
    return {k.decode(): int(v) for k, v in re.findall(rb"([A-Z]+) (\d+)", data[0])}


def fetch_flags(m, uid):
    typ, data = m.uid("FETCH", str(uid), "(FLAGS)")
    assert typ == "OK", data
    match = re.search(rb"FLAGS \(([^)]*)\)", data[0])
    assert match, data
    return set(match.group(1).decode().split()) - {"\\Recent"}


def fetch_body(m, uid):
    typ, data = m.uid("FETCH", str(uid), "(BODY.PEEK[])")
    assert typ == "OK", data
    return data[0][1]


def test_append_flags_date_and_appenduid(srv):
    m = login(srv)
    try:
        msg = message("append one")
        date = imaplib.Time2Internaldate(time.mktime((2024, 2, 5, 13, 14, 15, 0, 0, -1)))
        typ, data = m.append("INBOX", r"(\Seen $Work)", date, msg)
        assert typ == "OK", data
        uidvalidity, uid = appenduid(data)
        st = status(m, "INBOX", "(MESSAGES UIDVALIDITY)")
        assert st == {"MESSAGES": 1, "UIDVALIDITY": uidvalidity}, st

        typ, data = m.select("INBOX")
        assert typ == "OK" and data == [b"1"], data
        assert fetch_flags(m, uid) == {"\\Seen", "$Work"}
        typ, data = m.uid("FETCH", uid, "(INTERNALDATE RFC822.SIZE)")
        assert typ == "OK", data
        want = imaplib.Internaldate2tuple(data[0])
        assert want is not None and time.mktime(want) == time.mktime(
            time.localtime(time.mktime((2024, 2, 5, 13, 14, 15, 0, 0, -1)))), data
        assert b"RFC822.SIZE %d" % len(msg) in data[0], data
        assert fetch_body(m, uid) == msg

        # appending to the selected mailbox shows at once (RFC 9051 6.3.12)
        typ, data = m.append("INBOX", None, None, message("append two"))
        assert typ == "OK", data
        assert appenduid(data)[1] == str(int(uid) + 1), data
        typ, data = m.noop()
        typ, data = m.search(None, "ALL")
        assert typ == "OK" and data == [b"1 2"], data
    finally:
        m.logout()


def test_append_8bit_and_binary_round_trip(srv):
    m = login(srv)
    try:
        eight = message("eight bit", "Grüße aus Köln, ½ €.\r\n".encode())
        typ, data = m.append("INBOX", None, None, eight)
        assert typ == "OK", data
        uid8 = appenduid(data)[1]

        # literal8 (RFC 3516 4.4): 8-bit octets and a lone CR, no NUL
        binary = message("binary", bytes(range(1, 256)) + b"\r\n")
        typ, text, _ = raw(m, b"APPEND INBOX ~{%d+}\r\n" % len(binary) + binary)
        assert typ == "OK" and "[APPENDUID " in text, text
        uidb = re.search(r"\[APPENDUID \d+ (\d+)\]", text).group(1)

        # NUL octets are stored as they are (RFC 3516 4.4: bodies are
        # byte-exact) and BINARY gives them back in a literal8
        nul = message("nul", b"a\x00b\r\n")
        typ, text, _ = raw(m, b"APPEND INBOX ~{%d+}\r\n" % len(nul) + nul)
        assert typ == "OK" and "[APPENDUID " in text, text
        uidn = re.search(r"\[APPENDUID \d+ (\d+)\]", text).group(1)

        m.select("INBOX")
        assert fetch_body(m, uid8) == eight
        assert fetch_body(m, uidb) == binary
        typ, data = m.uid("FETCH", uidn, "(BINARY.PEEK[] RFC822.SIZE)")
        assert typ == "OK" and data[0][1] == nul, data
        assert b"RFC822.SIZE %d" % len(nul) in data[1], data
        assert status(m, "INBOX")["MESSAGES"] == 3
    finally:
        m.logout()


def test_append_to_missing_mailbox_trycreate(srv):
    m = login(srv)
    try:
        typ, data = m.append("NoSuchBox", None, None, message("nowhere"))
        assert typ == "NO" and b"[TRYCREATE]" in data[0], data
        typ, data = m.create("NoSuchBox")
        assert typ == "OK", data
        typ, data = m.append("NoSuchBox", None, None, message("now there"))
        assert typ == "OK", data
        assert status(m, "NoSuchBox")["MESSAGES"] == 1
    finally:
        m.logout()


def test_multiappend_all_or_nothing(srv):
    m = login(srv)
    try:
        a, b, c = message("multi a"), message("multi b"), message("multi c")
        typ, text, _ = raw(m, b"APPEND Archive (\\Flagged) {%d+}\r\n" % len(a) + a
                           + b" {%d+}\r\n" % len(b) + b
                           + b' "01-Jan-2020 10:00:00 +0000" {%d+}\r\n' % len(c) + c)
        assert typ == "OK", text
        match = re.search(r"\[APPENDUID \d+ (\d+):(\d+)\]", text)
        assert match and int(match.group(2)) - int(match.group(1)) == 2, text
        assert status(m, "Archive")["MESSAGES"] == 3

        # one bad message (a bad date) refuses the whole command
        typ, text, _ = raw(m, b"APPEND Archive {%d+}\r\n" % len(a) + a
                           + b' "31-Feb-2020 10:00:00 +0000" {%d+}\r\n' % len(b) + b)
        assert typ == "BAD", text
        typ, text, _ = raw(m, b"APPEND Archive {%d+}\r\n" % len(a) + a
                           + b" (\\Recent) {%d+}\r\n" % len(b) + b)
        assert typ == "BAD", text
        assert status(m, "Archive")["MESSAGES"] == 3
    finally:
        m.logout()


def append_n(m, n, mailbox="INBOX"):
    uids = []
    for i in range(n):
        typ, data = m.append(mailbox, None, None, message(f"msg {i}"))
        assert typ == "OK", data
        uids.append(appenduid(data)[1])
    return uids


def test_store_flags_and_keywords(srv):
    m = login(srv)
    try:
        uids = append_n(m, 3)
        typ, data = m.select("INBOX")
        assert typ == "OK", data

        typ, data = m.store("1:2", "+FLAGS", r"(\Flagged $Label1)")
        assert typ == "OK", data
        # one FETCH per changed message (a later sync may repeat one: legal, RFC 9051 7.5.2)
        assert {d.split(b" ")[0] for d in data} == {b"1", b"2"}, data
        assert all(b"\\Flagged" in d and b"$Label1" in d for d in data), data
        assert fetch_flags(m, uids[0]) == {"\\Flagged", "$Label1"}
        assert fetch_flags(m, uids[2]) == set()

        typ, data = m.store("1", "-FLAGS", r"($Label1)")
        assert typ == "OK" and b"FLAGS (\\Flagged)" in without_recent(data[0]), data
        assert fetch_flags(m, uids[0]) == {"\\Flagged"}

        # .SILENT: the STORE itself sends no FETCH (the engine test checks that exactly; a
        # sync racing with the store's change notification may still report the change)
        typ, text, lines = raw(m, b"STORE 3 FLAGS.SILENT (\\Seen \\Answered)")
        assert typ == "OK", text
        assert fetch_flags(m, uids[2]) == {"\\Seen", "\\Answered"}

        # UID STORE answers with the UID
        typ, data = m.uid("STORE", uids[1], "FLAGS", r"(\Deleted)")
        assert typ == "OK" and b"UID " + uids[1].encode() in data[0], data
        assert fetch_flags(m, uids[1]) == {"\\Deleted"}

        # \Recent cannot be stored; keywords must be atoms
        typ, text, _ = raw(m, b"STORE 1 +FLAGS (\\Recent)")
        assert typ == "BAD", text
        typ, text, _ = raw(m, b"STORE 1 +FLAGS (bad]kw)")
        assert typ == "BAD", text

        # EXAMINE: read-only
        m.select("INBOX", readonly=True)
        typ, text, _ = raw(m, b"STORE 1 +FLAGS (\\Seen)")
        assert typ == "NO", text
    finally:
        m.logout()


def without_recent(line):
    """A FETCH line without \\Recent: imaplib speaks IMAP4rev1, whose sessions see the flag
    (RFC 3501 2.3.2); these tests are about the flags a STORE changes."""
    return re.sub(rb" \\Recent(?=\))|\\Recent ?", b"", line)


def untagged_fetches(lines):
    return [without_recent(line) for line in lines if re.match(rb"\* \d+ FETCH ", line)]


def test_own_store_is_not_echoed(srv):
    """RFC 9051 6.4.6: .SILENT sends no FETCH, neither in the STORE's reply nor in a later
    sync once the store's change notification arrives; another session still hears of it."""
    m = login(srv)
    other = login(srv)
    try:
        append_n(m, 3)
        for conn in (m, other):
            typ, data = conn.select("INBOX")
            assert typ == "OK", data

        typ, text, lines = raw(m, b"STORE 1 +FLAGS.SILENT (\\Seen)")
        assert typ == "OK", text
        assert untagged_fetches(lines) == [], lines
        typ, text, lines = raw(m, b"STORE 2 +FLAGS (\\Flagged)")
        assert typ == "OK", text
        assert untagged_fetches(lines) == [b"* 2 FETCH (FLAGS (\\Flagged))"], lines

        # the other session is told of both changes (bounded wait for the notification)
        seen = []
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            typ, text, lines = raw(other, b"NOOP")
            assert typ == "OK", text
            seen += untagged_fetches(lines)
            if len(seen) < 2:
                time.sleep(0.05)
        assert sorted(seen) == [b"* 1 FETCH (FLAGS (\\Seen))",
                                b"* 2 FETCH (FLAGS (\\Flagged))"], seen

        # by now the notifications have reached this session too: no echo of its own changes
        for _ in range(5):
            typ, text, lines = raw(m, b"NOOP")
            assert typ == "OK", text
            assert untagged_fetches(lines) == [], lines
            time.sleep(0.05)

        # the other session's change of the same message is reported to the first
        typ, text, lines = raw(other, b"STORE 1 +FLAGS.SILENT (\\Answered)")
        assert typ == "OK", text
        got = []
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            typ, text, lines = raw(m, b"NOOP")
            assert typ == "OK", text
            got = untagged_fetches(lines)
            if not got:
                time.sleep(0.05)
        assert got == [b"* 1 FETCH (FLAGS (\\Answered \\Seen))"], got
    finally:
        other.logout()
        m.logout()


def test_copy_with_copyuid(srv):
    m = login(srv)
    try:
        append_n(m, 3)
        m.select("INBOX")
        dst = status(m, "Archive", "(UIDVALIDITY UIDNEXT)")
        typ, data = m.copy("1:2", "Archive")
        assert typ == "OK", data
        match = re.search(rb"\[COPYUID (\d+) ([0-9:,]+) ([0-9:,]+)\]", data[0])
        assert match, data
        assert int(match.group(1)) == dst["UIDVALIDITY"], data
        assert match.group(3) == b"%d:%d" % (dst["UIDNEXT"], dst["UIDNEXT"] + 1), data
        assert status(m, "Archive")["MESSAGES"] == 2
        assert status(m, "INBOX")["MESSAGES"] == 3

        typ, data = m.copy("1", "Nowhere")
        assert typ == "NO" and b"[TRYCREATE]" in data[0], data
    finally:
        m.logout()


def test_move_and_uid_move(srv):
    m = login(srv)
    try:
        uids = append_n(m, 3)
        m.select("INBOX")
        body = fetch_body(m, uids[0])
        typ, text, lines = raw(m, b"MOVE 1 Trash")
        assert typ == "OK", text
        assert any(line.startswith(b"* OK [COPYUID ") for line in lines), lines
        assert b"* 1 EXPUNGE" in lines, lines
        # RFC 6851 4.3: COPYUID before the EXPUNGE
        assert [i for i, line in enumerate(lines) if b"COPYUID" in line][0] < \
            lines.index(b"* 1 EXPUNGE"), lines
        assert status(m, "Trash")["MESSAGES"] == 1
        typ, data = m.search(None, "ALL")
        assert data == [b"1 2"], data

        typ, text, lines = raw(m, b"UID MOVE " + uids[2].encode() + b" Trash")
        assert typ == "OK", text
        assert b"* 2 EXPUNGE" in lines, lines
        assert status(m, "Trash")["MESSAGES"] == 2
        assert status(m, "INBOX")["MESSAGES"] == 1

        m.select("Trash")
        typ, data = m.search(None, "ALL")
        assert data == [b"1 2"], data
        typ, data = m.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK" and data[0][1] == body, data

        typ, text, _ = raw(m, b"MOVE 1 Nowhere")
        assert typ == "NO" and "[TRYCREATE]" in text, text
    finally:
        m.logout()


def test_append_over_quota_is_refused(srv):
    srv.cli_ok("account", "quota", USER, "0", "2")
    m = login(srv)
    try:
        append_n(m, 2)
        typ, data = m.append("INBOX", None, None, message("one too many"))
        assert typ == "NO" and b"[OVERQUOTA]" in data[0] and b"Quota" in data[0], data
        assert status(m, "INBOX")["MESSAGES"] == 2
    finally:
        m.logout()


def test_copy_over_quota_is_refused_and_move_is_not(srv):
    srv.cli_ok("account", "quota", USER, "0", "3")
    m = login(srv)
    try:
        append_n(m, 2)
        m.select("INBOX")
        typ, data = m.copy("1:2", "Archive")
        assert typ == "NO" and b"[OVERQUOTA]" in data[0] and b"Quota" in data[0], data
        assert status(m, "Archive")["MESSAGES"] == 0
        typ, data = m.copy("1", "Archive")
        assert typ == "OK" and b"[COPYUID " in data[0], data
        # a MOVE between the user's own mailboxes uses no more
        typ, text, _ = raw(m, b"MOVE 1:2 Trash")
        assert typ == "OK", text
        assert status(m, "Trash")["MESSAGES"] == 2
    finally:
        m.logout()
