"""
OBJECTID (RFC 8474) and LIST-MYRIGHTS (RFC 8440) with Python's imaplib: STATUS (MAILBOXID)
stays across RENAME and changes after DELETE + CREATE of the same name, CREATE's OK carries
[MAILBOXID (id)], FETCH EMAILID is the same for a message and its COPY and differs between
messages, THREADID is NIL, SEARCH EMAILID finds both copies, and LIST ... RETURN (MYRIGHTS)
gives all rights on own mailboxes and the granted ones on a shared mailbox.
"""

import imaplib
import re

import pytest

from conftest import BOB, BOB_PW, free_port

TIMEOUT = 20
ALICE, ALICE_PW = "alice@localhost", "alice-Secret-3"
OBJECTID = rb"[A-Za-z0-9_-]{1,255}"


@pytest.fixture
def srv(server_factory):
    """A server with IMAP on a fresh port and alice added with the CLI."""
    port = free_port()
    s = server_factory(conf={"imap_listen": f"127.0.0.1:{port}"})
    s.imap_port = port
    s.add_account(ALICE, ALICE_PW)
    return s


def login(s, user, password):
    m = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=TIMEOUT)
    typ, data = m.login(user, password)
    assert typ == "OK", data
    return m


def raw(m, *args):
    """One command; (typ, tagged text, untagged lines) with nothing parsed away."""
    tag = m._new_tag()
    m.send(tag + b" " + " ".join(args).encode() + b"\r\n")
    lines = []
    for _ in range(10000):
        line = m._get_line()
        if line.startswith(tag + b" "):
            rest = line[len(tag) + 1:].decode()
            return rest.split(" ", 1)[0], rest, lines
        lines.append(line.decode())
    raise AssertionError("no tagged reply")


def mailboxid(m, name):
    typ, data = m.status(name, "(MAILBOXID)")
    assert typ == "OK", data
    match = re.search(rb"MAILBOXID \((" + OBJECTID + rb")\)", data[0])
    assert match, data
    return match.group(1).decode()


def message(subject, body):
    return (f"From: a@example.org\r\nTo: b@example.org\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject}@example.org>\r\n\r\n{body}\r\n").encode()


def test_capabilities(srv):
    m = login(srv, ALICE, ALICE_PW)
    try:
        caps = m.capability()[1][0].decode().split()
        assert "OBJECTID" in caps and "LIST-MYRIGHTS" in caps, caps
    finally:
        m.logout()


def test_mailboxid_create_rename_delete(srv):
    m = login(srv, ALICE, ALICE_PW)
    try:
        typ, text, _ = raw(m, "CREATE", "Projects")
        assert typ == "OK", text
        match = re.search(r"\[MAILBOXID \(([A-Za-z0-9_-]+)\)\]", text)
        assert match, text
        created = match.group(1)
        assert mailboxid(m, "Projects") == created
        inbox = mailboxid(m, "INBOX")
        assert inbox != created
        # RFC 8474 4: the id survives RENAME ...
        assert m.rename("Projects", "Archive2026")[0] == "OK"
        assert mailboxid(m, "Archive2026") == created
        # ... but a mailbox deleted and created again is another mailbox
        assert m.delete("Archive2026")[0] == "OK"
        typ, text, _ = raw(m, "CREATE", "Archive2026")
        assert typ == "OK", text
        again = mailboxid(m, "Archive2026")
        assert again != created and again in text
        # LIST-STATUS (RFC 5819) carries it too
        typ, text, lines = raw(m, "LIST", '""', "Archive2026", "RETURN", "(STATUS", "(MAILBOXID))")
        assert typ == "OK", text
        assert any(f"MAILBOXID ({again})" in l for l in lines if l.startswith("* STATUS")), lines
        # the same id from another session
        m2 = login(srv, ALICE, ALICE_PW)
        try:
            assert mailboxid(m2, "Archive2026") == again
            assert mailboxid(m2, "INBOX") == inbox
        finally:
            m2.logout()
    finally:
        m.logout()


def fetch_ids(m, uids):
    typ, data = m.uid("FETCH", uids, "(EMAILID THREADID)")
    assert typ == "OK", data
    ids = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if line is None or line == b")":
            continue
        uid = re.search(rb"UID (\d+)", line)
        eid = re.search(rb"EMAILID \((" + OBJECTID + rb")\)", line)
        assert uid and eid, line
        # RFC 8474 5.2: no thread ids here
        assert b"THREADID NIL" in line, line
        ids[int(uid.group(1))] = eid.group(1).decode()
    return ids


def test_emailid_copy_and_search(srv):
    m = login(srv, ALICE, ALICE_PW)
    try:
        assert m.create("Keep")[0] == "OK"
        assert m.append("INBOX", None, None, message("one", "first body"))[0] == "OK"
        assert m.append("INBOX", None, None, message("two", "second body"))[0] == "OK"
        assert m.select("INBOX")[0] == "OK"
        ids = fetch_ids(m, "1:*")
        assert len(ids) == 2, ids
        first, second = (ids[u] for u in sorted(ids))
        assert first != second
        assert m.uid("COPY", str(min(ids)), "Keep")[0] == "OK"
        # the same id again, and stable across commands
        assert fetch_ids(m, "1:*") == ids
        assert m.select("Keep")[0] == "OK"
        kept = fetch_ids(m, "1:*")
        assert list(kept.values()) == [first], kept
        # SEARCH EMAILID (RFC 8474 6) finds the copy here and the original there
        typ, data = m.uid("SEARCH", "EMAILID", first)
        assert typ == "OK" and data[0].split() == [str(u).encode() for u in kept], data
        typ, data = m.uid("SEARCH", "EMAILID", second)
        assert typ == "OK" and data[0].split() == [], data
        assert m.select("INBOX")[0] == "OK"
        typ, data = m.uid("SEARCH", "EMAILID", first)
        assert typ == "OK" and data[0].split() == [str(min(ids)).encode()], data
        typ, data = m.uid("SEARCH", "THREADID", "T1")
        assert typ == "OK" and data[0].split() == [], data
    finally:
        m.logout()


def myrights(lines):
    out = {}
    for line in lines:
        match = re.match(r'\* MYRIGHTS "?(.*?)"? "?([a-z]*)"?$', line)
        if match:
            out[match.group(1)] = match.group(2)
    return out


def test_list_myrights(srv):
    a = login(srv, ALICE, ALICE_PW)
    try:
        assert a.create("Team")[0] == "OK"
        assert a.setacl("Team", BOB, "lrs")[0] == "OK"
        typ, text, lines = raw(a, "LIST", '""', '"*"', "RETURN", "(MYRIGHTS)")
        assert typ == "OK", text
        rights = myrights(lines)
        assert rights.get("INBOX") == "aeiklprstwxcd", lines
        assert rights.get("Team") == "aeiklprstwxcd", lines
        # every MYRIGHTS comes right after its mailbox's LIST line
        for i, line in enumerate(lines):
            if line.startswith("* MYRIGHTS"):
                name = line.split(" ", 2)[2].rsplit(" ", 1)[0]
                assert lines[i - 1].startswith("* LIST") and lines[i - 1].endswith(name), lines
    finally:
        a.logout()
    b = login(srv, BOB, BOB_PW)
    try:
        team = "Shared/" + ALICE + "/Team"
        typ, text, lines = raw(b, "LIST", '""', '"*"', "RETURN", "(MYRIGHTS)")
        assert typ == "OK", text
        rights = myrights(lines)
        assert rights.get(team) == "lrs", lines
        assert rights.get("INBOX") == "aeiklprstwxcd", lines
        # the implied "Shared/..." parents are no mailboxes: no MYRIGHTS
        assert "Shared" not in rights and "Shared/" + ALICE not in rights, lines
        # and it agrees with MYRIGHTS (RFC 4314 3.8)
        typ, text, lines = raw(b, "MYRIGHTS", '"' + team + '"')
        assert typ == "OK" and myrights(lines).get(team) == "lrs", lines
    finally:
        b.logout()
