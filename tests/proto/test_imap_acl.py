"""
IMAP ACLs (RFC 4314) and quotas (RFC 9208) with Python's imaplib: SETACL/GETACL/MYRIGHTS/
LISTRIGHTS/DELETEACL, the shared namespace "Shared/<owner>/<name>" in NAMESPACE, LIST and
STATUS, NOPERM for a user without "a", the same NONEXISTENT for a mailbox one may not see as for
one that does not exist, `posthorn acl set|get|delete`, `posthorn account quota` and
GETQUOTAROOT / GETQUOTA, and SELECT of a shared mailbox.
"""

import imaplib
import json
import re

import pytest

from conftest import BOB, BOB_PW, free_port, make_message, smtp_send

TIMEOUT = 20
ALICE, ALICE_PW = "alice@localhost", "alice-Secret-3"
CAROL, CAROL_PW = "carol@localhost", "carol-Secret-4"
TEAM = "Shared/" + ALICE + "/Team"


@pytest.fixture
def srv(server_factory):
    """A server with IMAP on a fresh port and alice and carol added with the CLI."""
    port = free_port()
    s = server_factory(conf={"imap_listen": f"127.0.0.1:{port}"})
    s.imap_port = port
    s.add_account(ALICE, ALICE_PW)
    s.add_account(CAROL, CAROL_PW)
    return s


def login(s, user, password):
    m = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=TIMEOUT)
    typ, data = m.login(user, password)
    assert typ == "OK", data
    return m


def q(name):
    return '"' + name + '"'


def raw(m, *args):
    """One command; (typ, tagged text, untagged lines) with nothing parsed away."""
    tag = m._new_tag()
    m.send(tag + b" " + " ".join(args).encode() + b"\r\n")
    lines = []
    while True:
        line = m._get_line()
        if line.startswith(tag + b" "):
            rest = line[len(tag) + 1:].decode()
            return rest.split(" ", 1)[0], rest, lines
        lines.append(line.decode())


def listed(m):
    typ, data = m.list('""', "*")
    assert typ == "OK", data
    names = []
    for line in data:
        match = re.match(rb'\(.*?\) "/" "?(.*?)"?$', line)
        assert match, line
        names.append(match.group(1).decode())
    return names


def test_capabilities_and_namespace(srv):
    m = login(srv, ALICE, ALICE_PW)
    try:
        typ, data = m.capability()
        caps = data[0].decode().split()
        for cap in ("ACL", "RIGHTS=texk", "QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE"):
            assert cap in caps, caps
        typ, data = m.namespace()
        assert typ == "OK" and b'(("Shared/" "/"))' in data[0], data
    finally:
        m.logout()


def test_setacl_shares_folder_with_bob(srv):
    a = login(srv, ALICE, ALICE_PW)
    b = login(srv, BOB, BOB_PW)
    try:
        assert a.create("Team")[0] == "OK"
        assert a.create("Private")[0] == "OK"
        # before the grant bob sees nothing of alice
        assert not [n for n in listed(b) if n.startswith("Shared/")]
        typ, data = a.setacl("Team", BOB, "lr")
        assert typ == "OK", data
        typ, data = a.getacl("Team")
        assert typ == "OK" and data == [b'"Team" "bob@localhost" "lr"'], data
        typ, data = a.myrights("Team")
        assert typ == "OK" and data == [b'"Team" "aeiklprstwxcd"'], data
        typ, text, lines = raw(a, "LISTRIGHTS", "Team", BOB)
        assert typ == "OK", text
        assert lines == ['* LISTRIGHTS "Team" "bob@localhost" "" "l" "r" "s" "w" "i" "p" "k" '
                         '"x" "t" "e" "a" "c" "d"'], lines

        # bob: the folder in the shared namespace, with its parents
        names = listed(b)
        assert TEAM in names and "Shared/" + ALICE + "/Private" not in names, names
        assert "INBOX" in names, names
        typ, data = b.myrights(q(TEAM))
        assert typ == "OK" and data == [b'"' + TEAM.encode() + b'" "lr"'], data
        typ, data = b.status(q(TEAM), "(MESSAGES UIDVALIDITY UIDNEXT)")
        assert typ == "OK", data
        typ, own = a.status("Team", "(MESSAGES UIDVALIDITY UIDNEXT)")
        assert data[0].split(b" (")[1] == own[0].split(b" (")[1], (data, own)

        # bob has no "a": no ACL changes, no ACL listing (RFC 4314 4)
        typ, text, _ = raw(b, "SETACL", q(TEAM), CAROL, "lr")
        assert typ == "NO" and "[NOPERM]" in text, text
        typ, text, _ = raw(b, "GETACL", q(TEAM))
        assert typ == "NO" and "[NOPERM]" in text, text
        typ, text, _ = raw(b, "DELETEACL", q(TEAM), BOB)
        assert typ == "NO" and "[NOPERM]" in text, text

        # an unrecognised right is BAD (RFC 4314 3.1)
        typ, text, _ = raw(a, "SETACL", "Team", BOB, "lrq")
        assert typ == "BAD", text
        # "+" adds, "-" removes
        assert raw(a, "SETACL", "Team", BOB, "+w")[0] == "OK"
        assert b.myrights(q(TEAM))[1] == [b'"' + TEAM.encode() + b'" "lrw"']
        assert raw(a, "SETACL", "Team", BOB, "-w")[0] == "OK"
        assert b.myrights(q(TEAM))[1] == [b'"' + TEAM.encode() + b'" "lr"']

        # DELETEACL: gone from bob's view again
        typ, data = a.deleteacl("Team", BOB)
        assert typ == "OK", data
        assert TEAM not in listed(b)
    finally:
        a.logout()
        b.logout()


def test_invisible_mailbox_answers_like_nonexistent(srv):
    a = login(srv, ALICE, ALICE_PW)
    b = login(srv, BOB, BOB_PW)
    try:
        assert a.create("Private")[0] == "OK"
        hidden = q("Shared/" + ALICE + "/Private")
        missing = q("Shared/" + ALICE + "/Nowhere")
        nouser = q("Shared/nobody@localhost/Private")
        for cmd in (("STATUS", "(MESSAGES)"), ("MYRIGHTS",), ("GETACL",),
                    ("SETACL", CAROL, "lr"), ("GETQUOTAROOT",), ("SELECT",)):
            replies = []
            for name in (hidden, missing, nouser):
                typ, text, lines = raw(b, cmd[0], name, *cmd[1:])
                assert typ == "NO" and lines == [], (cmd, text, lines)
                # the same words whatever the reason: nothing to tell them apart
                replies.append(text.split(" ", 1)[1])
            assert replies[0] == replies[1] == replies[2], (cmd, replies)
            assert "[NONEXISTENT]" in replies[0], (cmd, replies)
        # "r" without "l" is still invisible (RFC 4314 4)
        assert a.setacl("Private", BOB, "r")[0] == "OK"
        typ, text, _ = raw(b, "STATUS", hidden, "(MESSAGES)")
        assert typ == "NO" and "[NONEXISTENT]" in text, text
        assert "Shared/" + ALICE + "/Private" not in listed(b)
    finally:
        a.logout()
        b.logout()


def test_cli_acl(srv):
    a = login(srv, ALICE, ALICE_PW)
    try:
        assert a.create("Team")[0] == "OK"
    finally:
        a.logout()
    srv.cli_ok("acl", "set", ALICE, "Team", CAROL, "lrs")
    srv.cli_ok("acl", "set", ALICE, "Team", "authenticated", "l")
    r = srv.cli_ok("acl", "get", ALICE, "Team", "--json")
    assert json.loads(r.stdout) == [{"identifier": "authenticated", "rights": "l"},
                                    {"identifier": CAROL, "rights": "lrs"}], r.stdout
    r = srv.cli_ok("acl", "get", ALICE, "Team")
    assert r.stdout.splitlines() == ["authenticated l", CAROL + " lrs"], r.stdout

    c = login(srv, CAROL, CAROL_PW)
    b = login(srv, BOB, BOB_PW)
    try:
        assert TEAM in listed(c)
        assert c.myrights(q(TEAM))[1] == [b'"' + TEAM.encode() + b'" "lrs"']
        # "authenticated": every account sees it
        assert b.myrights(q(TEAM))[1] == [b'"' + TEAM.encode() + b'" "l"']
        # "l" only: visible, but STATUS needs "r"
        typ, text, _ = raw(b, "STATUS", q(TEAM), "(MESSAGES)")
        assert typ == "NO" and "[NOPERM]" in text, text

        srv.cli_ok("acl", "set", ALICE, "Team", CAROL, "+a")
        # with "a" carol administers it over IMAP too
        typ, data = c.setacl(q(TEAM), BOB, "lr")
        assert typ == "OK", data
        typ, data = c.getacl(q(TEAM))
        assert typ == "OK", data
        assert data[0].startswith(b'"' + TEAM.encode() + b'" "authenticated" "l" '
                                  b'"bob@localhost" "lr" "carol@localhost" "alrs"'), data
        srv.cli_ok("acl", "delete", ALICE, "Team", CAROL)
        srv.cli_ok("acl", "delete", ALICE, "Team", "authenticated")
        assert TEAM not in listed(c)
        assert TEAM in listed(b)
    finally:
        c.logout()
        b.logout()

    r = srv.cli("acl", "delete", ALICE, "Team", CAROL)
    assert r.returncode == 2, r
    r = srv.cli("acl", "set", ALICE, "Nowhere", CAROL, "lr")
    assert r.returncode == 2, r
    r = srv.cli("acl", "set", "nobody@localhost", "Team", CAROL, "lr")
    assert r.returncode == 2, r
    r = srv.cli("acl", "set", ALICE, "Team", "nobody@localhost", "lr")
    assert r.returncode == 2, r
    r = srv.cli("acl", "set", ALICE, "Team", CAROL, "lrQ")
    assert r.returncode == 1, r
    r = srv.cli("acl", "get", ALICE)
    assert r.returncode == 1, r


def test_quota(srv):
    smtp_send(srv, "sender@example.org", [ALICE], make_message(subject="quota"))
    a = login(srv, ALICE, ALICE_PW)
    try:
        # no limits: no quota root
        typ, data = a.getquotaroot("INBOX")
        assert typ == "OK" and data[0] == [b'"INBOX"'], data
        typ, text, _ = raw(a, "GETQUOTA", '""')
        assert typ == "NO" and "[NONEXISTENT]" in text, text

        srv.cli_ok("account", "quota", ALICE, "1048576", "100")
        r = srv.cli_ok("account", "quota", ALICE, "--json")
        usage = json.loads(r.stdout)
        assert usage["bytes"] == 1048576 and usage["messages"] == 100, usage
        assert usage["used_messages"] == 1 and usage["used_bytes"] > 0, usage
        kib = (usage["used_bytes"] + 1023) // 1024

        typ, data = a.getquotaroot("inbox")
        assert typ == "OK", data
        assert data[0] == [b'"INBOX" ""'], data
        assert data[1] == [b'"" (STORAGE %d 1024 MESSAGE 1 100)' % kib], data
        typ, data = a.getquota('""')
        assert typ == "OK" and data == [b'"" (STORAGE %d 1024 MESSAGE 1 100)' % kib], data
        typ, text, _ = raw(a, "GETQUOTA", "other")
        assert typ == "NO" and "[NONEXISTENT]" in text, text

        # only the resources with a limit are reported
        srv.cli_ok("account", "quota", ALICE, "0", "5")
        typ, data = a.getquota('""')
        assert typ == "OK" and data == [b'"" (MESSAGE 1 5)'], data
    finally:
        a.logout()
    assert srv.cli("account", "quota", "nobody@localhost", "1", "1").returncode == 2
    assert srv.cli("account", "quota", ALICE, "lots", "1").returncode == 1


def test_select_shared_mailbox(srv):
    smtp_send(srv, "sender@example.org", [ALICE], make_message(subject="shared hello"))
    a = login(srv, ALICE, ALICE_PW)
    b = login(srv, BOB, BOB_PW)
    inbox = q("Shared/" + ALICE + "/INBOX")
    try:
        typ, text, _ = raw(b, "SELECT", inbox)
        assert typ == "NO" and "[NONEXISTENT]" in text, text
        assert a.setacl("INBOX", BOB, "lr")[0] == "OK"
        typ, data = b.status(inbox, "(MESSAGES)")
        assert typ == "OK" and b"MESSAGES 1" in data[0], data
        # no "s", "w", "t", "i", "e": SELECT gives READ-ONLY (RFC 4314 5.2)
        typ, text, lines = raw(b, "SELECT", inbox)
        assert typ == "OK" and "[READ-ONLY]" in text, (text, lines)
        assert "* 1 EXISTS" in lines, lines
        typ, text, _ = raw(b, "STORE", "1", "+FLAGS", "(\\Deleted)")
        assert typ == "NO", text
        typ, data = b.select(inbox, readonly=True)
        assert typ == "OK" and data == [b"1"], data
        typ, data = b.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK" and b"shared hello" in data[0][1], data
    finally:
        a.logout()
        b.logout()


def test_no_own_mailboxes_in_shared_namespace(srv):
    """An own mailbox named Shared/... could never be reached again: refused."""
    m = login(srv, ALICE, ALICE_PW)
    try:
        for name in ("Shared", "Shared/x", "shared/" + ALICE + "/Evil"):
            typ, text, _ = raw(m, "CREATE", q(name))
            assert typ == "NO" and "[CANNOT]" in text, (name, text)
        assert m.create("Sharedfolder")[0] == "OK"  # only the namespace itself is reserved
        typ, text, _ = raw(m, "RENAME", "Sharedfolder", q("Shared/y"))
        assert typ == "NO" and "[CANNOT]" in text, text
        assert not [n for n in listed(m) if n.lower().startswith("shared/")
                    and not n.startswith("Shared/" + BOB) and "Team" not in n], listed(m)
    finally:
        m.logout()
