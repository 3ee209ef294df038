"""
Message content over IMAP against the real server, with Python's imaplib: the cases Dovecot's
imaptest found wrong, each appended and read back through FETCH, SEARCH, SORT and THREAD.

- BINARY (RFC 3516) of quoted-printable: white space before a soft line break is text, white
  space at the end of an encoded line is padding (RFC 2045 6.7 rule 3); BINARY.SIZE agrees.
- ENVELOPE (RFC 9051 7.5.2): "user@domain (Real Name)" gives the name "Real Name" (as Dovecot
  and Cyrus do); "<@route:user@domain>" keeps "@route" as the addr-adl.
- SEARCH FROM/TO (RFC 3501 6.4.4) matches the parsed addresses: comments inside the address are
  ignored, substrings still match, a trailing comment is searched as the name.
- SORT (RFC 5256 3, RFC 5957): a group sorts by its name, "d" without a domain as "d", base
  subjects in i;ascii-casemap order ("[" and "_" after the letters).
- THREAD REFERENCES (RFC 5256 3 (1)(B)): a message's own References replace a parent link made
  from another message's References, unless that would make a loop.
"""

import imaplib
import re

import pytest

from conftest import USER, free_port

TIMEOUT = 30


@pytest.fixture
def imap(server_factory):
    port = free_port()
    s = server_factory(conf={"imap_listen": f"127.0.0.1:{port}"})
    m = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT)
    typ, data = m.login(USER, s.accounts[USER])
    assert typ == "OK", data
    yield m
    m.logout()


def crlf(text):
    return text.replace("\n", "\r\n").encode()


def fill(m, mailbox, messages):
    typ, data = m.create(mailbox)
    assert typ == "OK", data
    for text in messages:
        typ, data = m.append(mailbox, None, None, crlf(text))
        assert typ == "OK", data
    typ, data = m.select(mailbox)
    assert typ == "OK", data
    assert int(data[0]) == len(messages), data


def numbers(m, command, *args):
    typ, data = m._simple_command(command, *args)
    assert typ == "OK", (command, args, data)
    typ, data = m._untagged_response(typ, data, command)
    return data[0].decode() if data and data[0] else ""


QP_BODY = ("hello  \nbar=\n\nfoo\t=\nbar\nfoo\t \t= \n=62\nfoo = \t\nbar\nfoo =\n=62\n"
           "foo  \nbar=\n\nfoo_bar\n")
QP_DECODED = b"hello\r\nbar\r\nfoo\tbar\r\nfoo\t \tb\r\nfoo bar\r\nfoo b\r\nfoo\r\nbar\r\nfoo_bar\r\n"


def test_binary_quoted_printable(imap):
    fill(imap, "qp", ["From: a@b.example\nSubject: qp\nMIME-Version: 1.0\n"
                      "Content-Type: text/plain; charset=us-ascii\n"
                      "Content-Transfer-Encoding: quoted-printable\n\n" + QP_BODY])
    typ, data = imap.fetch("1", "(BINARY.PEEK[1])")
    assert typ == "OK", data
    assert data[0][1] == QP_DECODED
    typ, data = imap.fetch("1", "(BINARY.SIZE[1])")
    assert typ == "OK", data
    assert re.search(rb"BINARY\.SIZE\[1\] (\d+)", data[0]).group(1) == \
        str(len(QP_DECODED)).encode()


def test_envelope_comment_name_and_route(imap):
    fill(imap, "env", [
        "Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: user@domain (Real Name)\n\nbody\n",
        "Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: <@route:user@domain>\n\nbody\n",
        "Date: Thu, 15 Feb 2007 01:02:03 +0200\nFrom: Phrase <p@domain> (ignored)\n\nbody\n",
    ])
    typ, data = imap.fetch("1:3", "(ENVELOPE)")
    assert typ == "OK", data
    envs = [d.decode() for d in data]
    assert '(("Real Name" NIL "user" "domain"))' in envs[0]
    assert '((NIL "@route" "user" "domain"))' in envs[1]
    assert '(("Phrase" NIL "p" "domain"))' in envs[2]


def test_search_parsed_addresses(imap):
    fill(imap, "search", [
        "From: <user-from (comment)@ (comment) domain.org>\nTo: x@y\n\n1\n",
        "From: user-from@domain.org (RealFrom)\nTo: group: g1@d.org, g2@d.org;\n\n2\n",
        "From: other@domain.org\nTo: empty:;\n\n3\n",
    ])
    assert numbers(imap, "SEARCH", "FROM", "user-from@domain.org") == "1 2"
    assert numbers(imap, "SEARCH", "FROM", "ser-from@domain.or") == "1 2"
    assert numbers(imap, "SEARCH", "FROM", "realfrom") == "2"
    assert numbers(imap, "SEARCH", "FROM", "comment") == "1"  # HEADER text stays searchable
    assert numbers(imap, "SEARCH", "TO", "group") == "2"
    assert numbers(imap, "SEARCH", "TO", "g2@d.org") == "2"
    assert numbers(imap, "SEARCH", "TO", "empty") == "3"
    assert numbers(imap, "SEARCH", "FROM", "nobody") == ""


def test_sort_keys(imap):
    fill(imap, "sort", [
        "From: foo bar <a@b.c>\nCc: user2@domain2.org (foo bar)\nSubject: a\n\n1\n",
        "From: b@c.d\nCc: user2: blah@domain1.org;\nSubject: _\n\n2\n",
        "From: d\nCc: user1@domain1.org\nSubject: [xyz]\n\n3\n",
        "From: =?iso-8859-1?q?foo_aar?= <e@f.g>\nCc: zz@x\nSubject: C\n\n4\n",
        "From: empty:;\nSubject: Re: b\n\n5\n",
    ])
    assert numbers(imap, "SORT", "(CC)", "US-ASCII", "ALL") == "5 3 1 2 4"
    assert numbers(imap, "SORT", "(DISPLAYFROM)", "US-ASCII", "ALL") == "2 3 5 4 1"
    assert numbers(imap, "SORT", "(REVERSE DISPLAYFROM)", "US-ASCII", "ALL") == "1 4 5 3 2"
    assert numbers(imap, "SORT", "(SUBJECT)", "US-ASCII", "ALL") == "1 5 4 3 2"


def test_thread_own_references_win(imap):
    fill(imap, "thread", [
        "Message-ID: <a@b>\nDate: Fri, 22 Feb 2008 17:06:23 +0000\n\n1\n",
        "Message-ID: <b@b>\nReferences: <a@b> <c@b>\n"
        "Date: Fri, 22 Feb 2008 15:06:23 +0000\n\n2\n",
        "Message-ID: <c@b>\nReferences: <b@b>\nDate: Fri, 22 Feb 2008 16:06:25 +0000\n\n3\n",
    ])
    assert numbers(imap, "THREAD", "REFERENCES", "US-ASCII", "ALL") == "(3 2)(1)"
