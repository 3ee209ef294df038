"""
IMAP SEARCH, SORT and THREAD against the real server (RFC 9051 6.4.4, RFC 4731 ESEARCH, RFC 5182
SEARCHRES, RFC 5256 SORT/THREAD): a small mailbox delivered over SMTP (a reply chain, an
RFC 2047 subject with a quoted-printable UTF-8 body, a base64 body) searched with Python's
imaplib: FROM, SUBJECT, BODY (decoded, UTF-8 through a literal), SINCE/BEFORE/SENTBEFORE,
UNSEEN after a STORE, NOT, OR, UID SEARCH, ESEARCH RETURN (MIN MAX COUNT), RETURN (SAVE) and
"$", SORT (REVERSE DATE), THREAD REFERENCES and ORDEREDSUBJECT, and the errors: an unknown key
is BAD, an unknown charset is NO [BADCHARSET].
"""

import base64
import datetime
import imaplib
import re

import pytest

from conftest import USER, free_port, smtp_send

TIMEOUT = 30
SENDER = "sender@example.org"


@pytest.fixture
def imap_server(server_factory):
    port = free_port()
    s = server_factory(conf={"imap_listen": f"127.0.0.1:{port}"})
    s.imap_port = port
    return s


def message(n, sender, subject, date, body, extra=(), ctype=None):
    head = [f"From: {sender}", f"To: <{USER}>", f"Subject: {subject}",
            f"Message-ID: <m{n}@client.example>", f"Date: {date}"]
    if ctype:
        head += ["MIME-Version: 1.0"] + list(ctype)
    head += list(extra)
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


MESSAGES = [
    message(1, "Alice <alice@example.org>", "Lunch plans", "Mon, 1 Jan 2024 10:00:00 +0000",
            b"Shall we eat at noon?\r\n"),
    message(2, "Bob <bob@example.org>", "Re: Lunch plans", "Mon, 1 Jan 2024 11:00:00 +0000",
            b"Yes, the usual place.\r\n",
            extra=["In-Reply-To: <m1@client.example>", "References: <m1@client.example>"]),
    message(3, "Carol <carol@example.org>", "=?utf-8?q?Gr=C3=BC=C3=9Fe?=",
            "Tue, 2 Jan 2024 09:00:00 +0000", b"Sch=C3=B6ne Gr=C3=BC=C3=9Fe aus K=C3=B6ln\r\n",
            ctype=["Content-Type: text/plain; charset=utf-8",
                   "Content-Transfer-Encoding: quoted-printable"]),
    message(4, "Alice <alice@example.org>", "Re: Lunch plans", "Mon, 1 Jan 2024 12:00:00 +0000",
            b"Count me in.\r\n",
            extra=["References: <m1@client.example> <m2@client.example>"]),
    message(5, "Dave <dave@example.org>", "Quarterly report", "Wed, 3 Jan 2024 09:00:00 +0000",
            base64.encodebytes(b"the numbers are attached\r\n").replace(b"\n", b"\r\n"),
            ctype=["Content-Type: text/plain; charset=us-ascii",
                   "Content-Transfer-Encoding: base64"]),
]


@pytest.fixture
def mailbox(imap_server):
    s = imap_server
    for data in MESSAGES:
        smtp_send(s, SENDER, [USER], data)
    m = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=TIMEOUT)
    typ, data = m.login(USER, s.accounts[USER])
    assert typ == "OK", data
    typ, data = m.select("INBOX")
    assert typ == "OK", data
    assert int(data[0]) == len(MESSAGES), data
    yield m
    m.logout()


def search(m, *criteria, charset=None):
    typ, data = m.search(charset, *criteria)
    assert typ == "OK", (criteria, data)
    return [int(x) for x in data[0].split()]


def imap_date(d):
    return f"{d.day}-{d.strftime('%b')}-{d.year}"


def test_capabilities(imap_server):
    m = imaplib.IMAP4("127.0.0.1", imap_server.imap_port, timeout=TIMEOUT)
    try:
        m.login(USER, imap_server.accounts[USER])
        typ, data = m.capability()
        caps = set(data[0].decode().split())
        for cap in ("ESEARCH", "SEARCHRES", "SORT", "THREAD=REFERENCES",
                    "THREAD=ORDEREDSUBJECT"):
            assert cap in caps, caps
    finally:
        m.logout()


def test_search_keys(mailbox):
    m = mailbox
    assert search(m, "ALL") == [1, 2, 3, 4, 5]
    assert search(m, "FROM", "alice") == [1, 4]
    assert search(m, "FROM", "ALICE@EXAMPLE.ORG") == [1, 4]
    assert search(m, "SUBJECT", "lunch") == [1, 2, 4]
    assert search(m, "SUBJECT", "nothing-like-this") == []
    assert search(m, "BODY", '"usual place"') == [2]
    assert search(m, "BODY", '"numbers are attached"') == [5]   # base64 decoded
    assert search(m, "TEXT", "quarterly") == [5]
    assert search(m, "NOT", "SUBJECT", "lunch") == [3, 5]
    assert search(m, "OR", "FROM", "bob", "FROM", "dave") == [2, 5]
    assert search(m, "2:4", "FROM", "alice") == [4]
    assert search(m, "SENTBEFORE", "2-Jan-2024") == [1, 2, 4]
    assert search(m, "SENTON", "2-Jan-2024") == [3]
    # INTERNALDATE is the delivery time (today, UTC): a day either side is safe at midnight
    today = datetime.datetime.now(datetime.timezone.utc).date()
    yesterday = today - datetime.timedelta(days=1)
    tomorrow = today + datetime.timedelta(days=1)
    assert search(m, "SINCE", imap_date(yesterday)) == [1, 2, 3, 4, 5]
    assert search(m, "BEFORE", imap_date(yesterday)) == []
    assert search(m, "SINCE", imap_date(tomorrow + datetime.timedelta(days=1))) == []
    assert search(m, "LARGER", "1", "SMALLER", "100000") == [1, 2, 3, 4, 5]


def test_search_utf8(mailbox):
    m = mailbox
    # the subject's encoded words and the quoted-printable body are decoded
    m.literal = "GRÜSSE".encode()
    assert search(m, "SUBJECT", charset="UTF-8") == []
    m.literal = "grüße".encode()
    assert search(m, "SUBJECT", charset="UTF-8") == [3]
    m.literal = "SCHÖNE GRÜSSE".encode()
    assert search(m, "BODY", charset="UTF-8") == []
    m.literal = "Schöne Grüße aus Köln".encode()
    assert search(m, "BODY", charset="UTF-8") == [3]


def test_unseen_after_store(mailbox):
    m = mailbox
    assert search(m, "UNSEEN") == [1, 2, 3, 4, 5]
    typ, data = m.store("1,3", "+FLAGS", "(\\Seen)")
    assert typ == "OK", data
    assert search(m, "UNSEEN") == [2, 4, 5]
    assert search(m, "SEEN") == [1, 3]
    assert search(m, "NOT", "SEEN", "FROM", "alice") == [4]


def test_uid_search(mailbox):
    m = mailbox
    typ, data = m.fetch("1:5", "(UID)")
    assert typ == "OK", data
    uids = [int(re.search(rb"UID (\d+)", d).group(1)) for d in data]
    typ, data = m.uid("SEARCH", "FROM", "alice")
    assert typ == "OK", data
    assert [int(x) for x in data[0].split()] == [uids[0], uids[3]]
    typ, data = m.uid("SEARCH", "UID", f"{uids[1]}:*")
    assert typ == "OK", data
    assert [int(x) for x in data[0].split()] == uids[1:]


def test_esearch_and_searchres(mailbox):
    m = mailbox
    typ, data = m._simple_command("SEARCH", "RETURN", "(MIN MAX COUNT)", "SUBJECT", "lunch")
    assert typ == "OK", data
    typ, data = m._untagged_response(typ, data, "ESEARCH")
    line = data[0].decode()
    assert re.search(r'^\(TAG "[^"]+"\) ', line), line
    assert " MIN 1" in line and " MAX 4" in line and " COUNT 3" in line, line
    assert " ALL " not in line, line
    # RETURN (SAVE) answers no ESEARCH; "$" is the saved result (RFC 5182)
    typ, data = m._simple_command("SEARCH", "RETURN", "(SAVE)", "FROM", "alice")
    assert typ == "OK", data
    assert "ESEARCH" not in m.untagged_responses, m.untagged_responses
    assert search(m, "$") == [1, 4]
    assert search(m, "NOT", "$") == [2, 3, 5]
    typ, data = m.fetch("$", "(FLAGS)")
    assert typ == "OK" and len([d for d in data if d]) == 2, data


def test_sort(mailbox):
    m = mailbox
    typ, data = m.sort("(REVERSE DATE)", "UTF-8", "ALL")
    assert typ == "OK", data
    assert [int(x) for x in data[0].split()] == [5, 3, 4, 2, 1]
    typ, data = m.sort("(FROM DATE)", "UTF-8", "ALL")
    assert typ == "OK", data
    assert [int(x) for x in data[0].split()] == [1, 4, 2, 3, 5]
    typ, data = m.sort("(SUBJECT)", "UTF-8", "NOT", "FROM", "carol")
    assert typ == "OK", data
    assert [int(x) for x in data[0].split()] == [1, 2, 4, 5]


def test_thread(mailbox):
    m = mailbox
    typ, data = m.thread("REFERENCES", "UTF-8", "ALL")
    assert typ == "OK", data
    assert data[0] == b"(1 2 4)(3)(5)", data
    typ, data = m.thread("ORDEREDSUBJECT", "UTF-8", "ALL")
    assert typ == "OK", data
    assert data[0] == b"(1 (2)(4))(3)(5)", data


def test_errors(mailbox):
    m = mailbox
    with pytest.raises(imaplib.IMAP4.error, match="BAD"):
        m.search(None, "NOSUCHKEY")
    with pytest.raises(imaplib.IMAP4.error, match="BAD"):
        m.search(None, "BEFORE", "31-Feb-2024")
    with pytest.raises(imaplib.IMAP4.error, match="BAD"):
        m.sort("(NOSUCHKEY)", "UTF-8", "ALL")
    typ, data = m.search("KOI9-Z", "ALL")
    assert typ == "NO" and b"BADCHARSET" in data[0], data
    # the session goes on
    assert search(m, "ALL") == [1, 2, 3, 4, 5]
