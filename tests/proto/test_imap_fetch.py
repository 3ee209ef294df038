"""
IMAP FETCH against the real server (RFC 9051 6.4.5, 6.4.9, 7.5.2; RFC 3516 BINARY): messages
delivered over SMTP and fetched with Python's imaplib. Metadata and structure items, BODY[]
byte for byte (8-bit text and a binary-ish 8bit part included), \\Seen set by BODY[] but not by
BODY.PEEK, HEADER.FIELDS, partial ranges, BINARY decoding, UID FETCH, a sequence number beyond
the mailbox (BAD) and a 1000-message FETCH.
"""

import base64
import imaplib
import re
import smtplib

import pytest

from conftest import USER, assert_stored, free_port, make_message, smtp_send

TIMEOUT = 30
SENDER = "sender@example.org"

# every octet but NUL, CR and LF, in lines well under 998 octets
BINARYISH = bytes(b for b in range(1, 256) if b not in (10, 13))
ATTACHMENT = bytes(range(256)) * 4 + b"\x00end"
# the body of part 1 (the CRLF before the delimiter is not in it: RFC 2046 5.1.1)
PART1 = "Grüße aus Köln, 0123456789".encode()


@pytest.fixture
def imap_server(server_factory):
    port = free_port()
    s = server_factory(conf={"imap_listen": f"127.0.0.1:{port}"})
    s.imap_port = port
    return s


def login_select(s, mailbox="INBOX", readonly=False):
    m = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=TIMEOUT)
    typ, data = m.login(USER, s.accounts[USER])
    assert typ == "OK", data
    typ, data = m.select(mailbox, readonly=readonly)
    assert typ == "OK", data
    return m


def mime_message(subject):
    """multipart/mixed: 1 = 8-bit UTF-8 text, 2 = base64 attachment, 3 = 8bit binary-ish."""
    b64 = base64.encodebytes(ATTACHMENT).replace(b"\n", b"\r\n")
    body = (b"--XyZ\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n"
            b"\r\n"
            + PART1 + b"\r\n"
            b"--XyZ\r\n"
            b"Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"a.bin\"\r\n"
            b"\r\n" + b64 +
            b"--XyZ\r\n"
            b"Content-Type: application/x-binaryish\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n"
            b"\r\n" + BINARYISH + b"\r\n" + BINARYISH[::-1] + b"\r\n"
            b"--XyZ--\r\n")
    return make_message(subject, body, headers=["MIME-Version: 1.0",
                                                'Content-Type: multipart/mixed; boundary="XyZ"'])


def fetch_one(m, seq, items, uid=False):
    """The (meta, literal) of one message's response; meta is the text around a literal."""
    if uid:
        typ, data = m.uid("FETCH", seq, items)
    else:
        typ, data = m.fetch(seq, items)
    assert typ == "OK", data
    assert data and data[0] is not None, data
    return data


def literal_of(data):
    """The literal of a single-literal FETCH response."""
    tuples = [d for d in data if isinstance(d, tuple)]
    assert len(tuples) == 1, data
    return tuples[0][1]


def flags_of(m, seq):
    typ, data = m.fetch(seq, "(FLAGS)")
    assert typ == "OK", data
    f = re.search(rb"FLAGS \(([^)]*)\)", data[0])
    assert f, data
    return f.group(1).split()


def test_metadata_and_structure(imap_server):
    s = imap_server
    sent = make_message("fetch meta", b"Hello fetch.\r\nSecond line.\r\n")
    smtp_send(s, SENDER, [USER], sent)
    m = login_select(s)
    try:
        data = fetch_one(m, "1", "(FLAGS UID RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)")
        line = data[0] if isinstance(data[0], bytes) else data[0][0]
        # in the order asked, UID first
        # the first SELECT of an IMAP4rev1 session claims \Recent (RFC 3501 2.3.2)
        assert re.match(rb"1 \(UID 1 FLAGS \(\\Recent\) RFC822.SIZE (\d+) INTERNALDATE "
                        rb"\"\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}\" ENVELOPE ",
                        line), line
        size = int(re.search(rb"RFC822.SIZE (\d+)", line).group(1))
        assert b'"fetch meta"' in line, line
        assert b'(NIL NIL "sender" "example.org")' in line, line
        assert b'BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 28 2' \
            in line, line
        whole = literal_of(fetch_one(m, "1", "(BODY.PEEK[])"))
        assert len(whole) == size
        assert_stored(whole, sent, SENDER)
        # INTERNALDATE parses with imaplib's own parser
        assert imaplib.Internaldate2tuple(line) is not None
    finally:
        m.logout()


def test_body_roundtrip_8bit_and_seen(imap_server):
    s = imap_server
    sent = mime_message("fetch 8bit")
    smtp_send(s, SENDER, [USER], sent, mail_options=("BODY=8BITMIME",))
    m = login_select(s)
    try:
        whole = literal_of(fetch_one(m, "1", "(BODY.PEEK[])"))
        assert_stored(whole, sent, SENDER)
        assert b"\\Seen" not in flags_of(m, "1")
        # RFC822.SIZE counts exactly the octets of BODY[]
        line = fetch_one(m, "1", "(RFC822.SIZE)")[0]
        assert int(re.search(rb"RFC822.SIZE (\d+)", line).group(1)) == len(whole)
        # BODY[] sets \Seen and the response says so (RFC 9051 6.4.5)
        data = fetch_one(m, "1", "(BODY[TEXT])")
        text = literal_of(data)
        assert whole.endswith(text) and text.startswith(b"--XyZ\r\n"), text[:40]
        rest = b"".join(d if isinstance(d, bytes) else d[0] for d in data)
        assert b"\\Seen" in rest, data
        assert b"\\Seen" in flags_of(m, "1")
        # the binary-ish 8bit part comes back byte for byte
        part3 = literal_of(fetch_one(m, "1", "(BODY.PEEK[3])"))
        assert part3 == BINARYISH + b"\r\n" + BINARYISH[::-1]
    finally:
        m.logout()


def test_sections_partial_and_binary(imap_server):
    s = imap_server
    sent = mime_message("fetch sections")
    smtp_send(s, SENDER, [USER], sent, mail_options=("BODY=8BITMIME",))
    m = login_select(s)
    try:
        hdr = literal_of(fetch_one(m, "1", "(BODY.PEEK[HEADER.FIELDS (Subject)])"))
        assert hdr == b"Subject: fetch sections\r\n\r\n"
        data = fetch_one(m, "1", "(BODY.PEEK[1]<0.10>)")
        assert b"BODY[1]<0>" in data[0][0], data
        assert literal_of(data) == PART1[:10]
        # a range past the end is cut; an origin past the end gives nothing
        assert literal_of(fetch_one(m, "1", "(BODY.PEEK[1]<20.1000>)")) == PART1[20:]
        assert literal_of(fetch_one(m, "1", "(BODY.PEEK[1]<100000.5>)")) == b""
        mime = literal_of(fetch_one(m, "1", "(BODY.PEEK[2.MIME])"))
        assert mime.startswith(b"Content-Type: application/octet-stream") and \
            mime.endswith(b"\r\n\r\n"), mime
        # BINARY decodes base64; the NUL in it needs literal8 (RFC 3516 4.2)
        data = fetch_one(m, "1", "(BINARY.PEEK[2])")
        assert b"BINARY[2] ~{" in data[0][0], data[0][0]
        assert literal_of(data) == ATTACHMENT
        line = fetch_one(m, "1", "(BINARY.SIZE[2])")[0]
        assert re.search(rb"BINARY.SIZE\[2\] (\d+)", line).group(1) == \
            str(len(ATTACHMENT)).encode(), line
        assert literal_of(fetch_one(m, "1", "(BINARY.PEEK[1])")) == PART1
        assert b"\\Seen" not in flags_of(m, "1")
        # BINARY without PEEK sets \Seen
        fetch_one(m, "1", "(BINARY[2]<0.4>)")
        assert b"\\Seen" in flags_of(m, "1")
    finally:
        m.logout()


def test_uid_fetch_and_range_errors(imap_server):
    s = imap_server
    for i in range(3):
        smtp_send(s, SENDER, [USER], make_message(f"uid {i}"))
    m = login_select(s)
    try:
        typ, data = m.uid("FETCH", "2:3", "(FLAGS)")
        assert typ == "OK", data
        assert [re.match(rb"(\d+) \(UID (\d+) ", d).groups() for d in data] == \
            [(b"2", b"2"), (b"3", b"3")], data
        # UIDs that do not exist: nothing, but OK
        typ, data = m.uid("FETCH", "100:200", "(FLAGS)")
        assert typ == "OK" and data == [None], data
        # a sequence number beyond the mailbox is BAD (RFC 9051 6.4)
        with pytest.raises(imaplib.IMAP4.error, match="BAD"):
            m.fetch("4", "(FLAGS)")
        with pytest.raises(imaplib.IMAP4.error, match="BAD"):
            m.fetch("1", "(NOSUCHITEM)")
        # the session is still usable
        typ, data = m.fetch("3", "(UID)")
        assert typ == "OK" and data == [b"3 (UID 3)"], data
    finally:
        m.logout()


def test_examine_does_not_set_seen(imap_server):
    s = imap_server
    smtp_send(s, SENDER, [USER], make_message("examine"))
    m = login_select(s, readonly=True)
    try:
        fetch_one(m, "1", "(BODY[])")
        assert b"\\Seen" not in flags_of(m, "1")
    finally:
        m.logout()


def test_fetch_1000_messages(imap_server):
    s = imap_server
    n = 1000
    with smtplib.SMTP("127.0.0.1", s.smtp_port, local_hostname="client.example",
                      timeout=TIMEOUT) as c:
        for i in range(n):
            c.sendmail(SENDER, [USER], make_message(f"bulk {i:04d}"))
    m = login_select(s)
    try:
        typ, data = m.fetch("1:*", "(UID RFC822.SIZE)")
        assert typ == "OK"
        assert len(data) == n, len(data)
        for i, d in enumerate(data):
            assert d.startswith(f"{i + 1} (UID {i + 1} RFC822.SIZE ".encode()), d
        typ, data = m.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK"
        subjects = [d[1] for d in data if isinstance(d, tuple)]
        assert subjects == [f"Subject: bulk {i:04d}\r\n\r\n".encode() for i in range(n)]
    finally:
        m.logout()


def test_changedsince_and_vanished(imap_server):
    """RFC 7162 3.1.4 CHANGEDSINCE, 3.2.6 VANISHED (UID FETCH, QRESYNC enabled)."""
    s = imap_server
    for i in range(4):
        smtp_send(s, SENDER, [USER], make_message(f"qresync {i}"))
    m = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=TIMEOUT)
    try:
        typ, data = m.login(USER, s.accounts[USER])
        assert typ == "OK", data
        typ, data = m._simple_command("ENABLE", "QRESYNC")
        assert typ == "OK", data
        typ, data = m.select("INBOX")
        assert typ == "OK", data
        typ, data = m.fetch("1:*", "(MODSEQ)")
        assert typ == "OK", data
        modseqs = [int(re.search(rb"MODSEQ \((\d+)\)", d).group(1)) for d in data]
        assert modseqs == sorted(modseqs) and len(set(modseqs)) == 4, data
        # only messages changed since the third one's modseq; MODSEQ is implied
        typ, data = m.uid("FETCH", "1:*", "(FLAGS) (CHANGEDSINCE %d)" % modseqs[2])
        assert typ == "OK", data
        assert len(data) == 1 and re.match(rb"4 \(UID 4 FLAGS \(\\Recent\) MODSEQ \(\d+\)\)",
                                           data[0]), \
            data
        # expunge UID 2, then ask what vanished since the start
        typ, data = m.store("2", "+FLAGS.SILENT", "(\\Deleted)")
        assert typ == "OK", data
        typ, data = m.expunge()
        assert typ == "OK", data
        # QRESYNC reports the expunge itself as VANISHED (RFC 7162 3.2.10)
        assert m.untagged_responses.pop("VANISHED", None) == [b"2"]
        typ, data = m.uid("FETCH", "1:3", "(FLAGS) (CHANGEDSINCE 1 VANISHED)")
        assert typ == "OK", data
        vanished = m.untagged_responses.pop("VANISHED", None)
        assert vanished == [b"(EARLIER) 2"], (vanished, data)
        # VANISHED without QRESYNC's conditions is BAD
        with pytest.raises(imaplib.IMAP4.error, match="BAD"):
            m.fetch("1", "(FLAGS) (CHANGEDSINCE 1 VANISHED)")
    finally:
        m.logout()


def test_binary_unknown_cte_is_no(imap_server):
    """RFC 3516 4.3: BINARY of a part whose encoding the server cannot undo."""
    s = imap_server
    sent = make_message("uue", b"begin 644 x\r\n`\r\nend\r\n",
                        headers=["MIME-Version: 1.0", "Content-Transfer-Encoding: x-uuencode"])
    smtp_send(s, SENDER, [USER], sent)
    m = login_select(s)
    try:
        typ, data = m.fetch("1", "(BINARY.PEEK[1])")
        assert typ == "NO" and b"[UNKNOWN-CTE]" in data[-1], (typ, data)
        # BODY still gives the octets as they are
        assert literal_of(fetch_one(m, "1", "(BODY.PEEK[1])")) == b"begin 644 x\r\n`\r\nend\r\n"
    finally:
        m.logout()


def test_seen_set_by_fetch_is_not_echoed(imap_server):
    """BODY[] sets \\Seen and says so in its own response; the session's next NOOPs do not
    report that change again, while another session learns of it."""
    s = imap_server
    smtp_send(s, SENDER, [USER], make_message("seen echo", b"read me\r\n", to=USER))
    m = login_select(s)
    other = login_select(s)
    try:
        data = fetch_one(m, "1", "(BODY[])")
        rest = b"".join(d if isinstance(d, bytes) else d[0] for d in data)
        assert b"\\Seen" in rest, rest
        # one response for message 1, not a second one from the command's own sync
        heads = [d[0] if isinstance(d, tuple) else d for d in data]
        assert len([h for h in heads if h and h.startswith(b"1 (")]) == 1, data
        for _ in range(3):
            m.untagged_responses.clear()
            typ, _data = m.noop()
            assert typ == "OK"
            assert "FETCH" not in m.untagged_responses, m.untagged_responses
        other.untagged_responses.clear()
        typ, _data = other.noop()
        fetched = b" ".join(x for x in other.untagged_responses.get("FETCH", []) if x)
        assert b"\\Seen" in fetched, other.untagged_responses
    finally:
        m.logout()
        other.logout()
