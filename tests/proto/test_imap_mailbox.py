"""
Mailbox commands of the authenticated state with Python's imaplib, as far as subscriptions and
the shared namespace go:

  - DELETE leaves the name subscribed (RFC 3501 6.3.6, RFC 9051 6.3.5): LIST (SUBSCRIBED)
    shows it as \\NonExistent (RFC 5258 3.1), LSUB as \\Noselect, plain LIST not at all; it can
    be unsubscribed, and a mailbox created again under the name is subscribed;
  - SUBSCRIBE of a name that is no mailbox is refused with NO [NONEXISTENT] (RFC 9051 6.3.7
    lets the server check), UNSUBSCRIBE of a name that is not subscribed with NO;
  - RENAME moves the subscriptions of the renamed subtree; subscriptions survive a restart;
  - LIST (SUBSCRIBED RECURSIVEMATCH) gives CHILDINFO only for a subscribed child that the
    command does not list itself (RFC 5258 3.5);
  - CREATE and RENAME under the shared namespace ("Shared/", in any case) are refused with
    NO [CANNOT], and nothing is created (RFC 2342 5).
"""

import imaplib

import pytest

from conftest import free_port

TIMEOUT = 20
ALICE, ALICE_PW = "alice@localhost", "alice-Secret-3"


@pytest.fixture
def srv(server_factory):
    """A server with IMAP on a fresh port and alice added with the CLI."""
    port = free_port()
    s = server_factory(conf={"imap_listen": f"127.0.0.1:{port}"})
    s.imap_port = port
    s.add_account(ALICE, ALICE_PW)
    return s


def login(s):
    m = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=TIMEOUT)
    typ, data = m.login(ALICE, ALICE_PW)
    assert typ == "OK", data
    return m


def raw(m, line):
    """One command; (status, tagged text, untagged lines) with nothing parsed away."""
    tag = m._new_tag()
    m.send(tag + b" " + line.encode() + b"\r\n")
    lines = []
    for _ in range(10000):
        got = m._get_line()
        if got.startswith(tag + b" "):
            rest = got[len(tag) + 1:].decode()
            return rest.split(" ", 1)[0], rest, lines
        lines.append(got.decode())
    raise AssertionError("no tagged reply")


def ok(m, line):
    typ, text, lines = raw(m, line)
    assert typ == "OK", (line, text)
    return lines


def listing(m, line):
    """{name: attribute string} of the LIST/LSUB lines of one command (names without '/'
    quoting only)."""
    out = {}
    for ln in ok(m, line):
        assert ln.startswith(("* LIST (", "* LSUB (")), ln
        attrs, rest = ln[8:].split(")", 1)
        name = rest.split('"/" ', 1)[1]
        extra = ""
        if name.startswith('"'):
            name, extra = name[1:].split('"', 1)
        out[name] = (attrs + extra).strip()
    return out


def test_delete_keeps_subscription(srv):
    m = login(srv)
    try:
        ok(m, "CREATE Projects/Old")
        ok(m, "CREATE Projects/New")
        ok(m, "SUBSCRIBE Projects/Old")
        ok(m, "SUBSCRIBE Projects/New")
        ok(m, "DELETE Projects/Old")
        subs = listing(m, 'LIST (SUBSCRIBED) "" "Projects/*"')
        assert set(subs) == {"Projects/Old", "Projects/New"}, subs
        assert "\\NonExistent" in subs["Projects/Old"] and "\\Subscribed" in subs["Projects/Old"]
        assert "\\NonExistent" not in subs["Projects/New"]
        lsub = listing(m, 'LSUB "" "Projects/*"')
        assert set(lsub) == {"Projects/Old", "Projects/New"}, lsub
        assert lsub["Projects/Old"] == "\\Noselect" and lsub["Projects/New"] == "", lsub
        # plain LIST shows mailboxes only
        assert set(listing(m, 'LIST "" "Projects/*"')) == {"Projects/New"}
        # the name stays subscribed across a restart
        m.logout()
        srv.restart()
        m = login(srv)
        subs = listing(m, 'LIST (SUBSCRIBED) "" "Projects/*"')
        assert "\\NonExistent" in subs.get("Projects/Old", ""), subs
        # a mailbox created again under the name is subscribed
        ok(m, "CREATE Projects/Old")
        subs = listing(m, 'LIST "" "Projects/Old" RETURN (SUBSCRIBED)')
        assert "\\Subscribed" in subs["Projects/Old"], subs
        ok(m, "DELETE Projects/Old")
        # a gone name can be unsubscribed, once
        ok(m, "UNSUBSCRIBE Projects/Old")
        typ, text, _ = raw(m, "UNSUBSCRIBE Projects/Old")
        assert typ == "NO", text
        assert set(listing(m, 'LSUB "" "Projects/*"')) == {"Projects/New"}
    finally:
        m.logout()


def test_subscribe_needs_mailbox(srv):
    m = login(srv)
    try:
        typ, text, _ = raw(m, "SUBSCRIBE Nowhere")
        assert typ == "NO" and "[NONEXISTENT]" in text, text
        assert listing(m, 'LSUB "" Nowhere') == {}
        # the account's first mailboxes start subscribed
        lsub = listing(m, 'LSUB "" "*"')
        assert {"INBOX", "Sent", "Drafts", "Trash"} <= set(lsub), lsub
    finally:
        m.logout()


def test_rename_moves_subscriptions(srv):
    m = login(srv)
    try:
        ok(m, "CREATE Work")
        ok(m, "CREATE Work/Plans")
        ok(m, "SUBSCRIBE Work")
        ok(m, "SUBSCRIBE Work/Plans")
        ok(m, "RENAME Work Jobs")
        lsub = listing(m, 'LSUB "" "*"')
        assert "Jobs" in lsub and "Jobs/Plans" in lsub, lsub
        assert "Work" not in lsub and "Work/Plans" not in lsub, lsub
        subs = listing(m, 'LIST (SUBSCRIBED) "" "Jobs*"')
        assert all("\\NonExistent" not in a for a in subs.values()), subs
    finally:
        m.logout()


def test_childinfo_only_for_unlisted_children(srv):
    m = login(srv)
    try:
        ok(m, "CREATE Top/Sub")
        ok(m, "SUBSCRIBE Top/Sub")
        # the child is not matched: its parent carries CHILDINFO
        got = listing(m, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
        assert 'CHILDINFO' in got.get("Top", ""), got
        # the child is listed itself: no CHILDINFO, the parent is not returned
        got = listing(m, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" (Top Top/Sub)')
        assert set(got) == {"Top/Sub"}, got
        assert "CHILDINFO" not in got["Top/Sub"]
    finally:
        m.logout()


def test_shared_namespace_refuses_create_and_rename(srv):
    m = login(srv)
    try:
        for line in ("CREATE Shared/x", "CREATE shared", "CREATE SHARED/y/",
                     "RENAME INBOX Shared/z", "RENAME Drafts shared/z"):
            typ, text, _ = raw(m, line)
            assert typ == "NO" and "[CANNOT]" in text, (line, text)
        names = listing(m, 'LIST "" "*"')
        assert not any(n.lower().startswith("shared") for n in names), names
        assert "Drafts" in names
        # a name that only starts with the word is an ordinary one
        ok(m, "CREATE SharedStuff")
        assert "SharedStuff" in listing(m, 'LIST "" "Shared*"')
    finally:
        m.logout()
