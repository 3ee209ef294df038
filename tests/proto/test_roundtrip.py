"""
Round trip SMTP -> store -> POP3 with Python's smtplib and poplib: 100 varied messages come back
byte-identical (after the prepended Return-Path and Received), in arrival order, with distinct
UIDLs that survive sessions and restarts; DELE/QUIT, dropped connections, RSET and TOP follow
RFC 1939.
"""

import base64
import hashlib
import poplib
import random
import smtplib

import pytest

from conftest import (CRLF, TIMEOUT, USER, USER_PW, Pop3Client, assert_stored, deadline_loop,
                      make_message, smtp_send, split_trace)

SENDER = "roundtrip@example.org"


def pop3_open(server, user=USER, password=USER_PW):
    p = poplib.POP3("127.0.0.1", server.pop3_port, timeout=TIMEOUT)
    p.user(user)
    p.pass_(password)
    return p


def joined(lines):
    """poplib strips CRLF and undoes dot-stuffing; put the line ends back."""
    return b"".join(ln + CRLF for ln in lines)


def check_uidl(uid):
    # RFC 1939 7: 1 to 70 characters in the range 0x21 to 0x7E
    assert 1 <= len(uid) <= 70 and all(0x21 <= b <= 0x7E for b in uid), uid


def build_messages(n=100, seed=1939):
    """[(message_bytes, mail_options)] of several kinds, all CRLF, each ending in CRLF."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        kind = i % 5
        subject = f"roundtrip {i} kind {kind}"
        if kind == 0:
            body = b"".join(b"plain ascii line %d: %s\r\n" % (j, bytes(
                rnd.choice(b"abcdefghijklmnopqrstuvwxyz ") for _ in range(rnd.randrange(0, 70))))
                for j in range(rnd.randrange(1, 40)))
            out.append((make_message(subject, body), ()))
        elif kind == 1:
            words = ["Grüße", "naïve", "façade", "Ελλάδα", "Москва", "東京", "🙂", "½€",
                     "smørrebrød", "İstanbul"]
            body = "".join(" ".join(rnd.choice(words) for _ in range(rnd.randrange(1, 12)))
                           + "\r\n" for _ in range(rnd.randrange(1, 30))).encode("utf-8")
            msg = make_message(subject, body, headers=[
                "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
                "Content-Transfer-Encoding: 8bit"])
            out.append((msg, ("BODY=8BITMIME",)))
        elif kind == 2:
            blob = rnd.randbytes(100 * 1024 + rnd.randrange(0, 4096))
            b64 = base64.encodebytes(blob).replace(b"\n", b"\r\n")
            body = (b"--frontier\r\nContent-Type: text/plain\r\n\r\nSee attachment.\r\n"
                    b"--frontier\r\nContent-Type: application/octet-stream\r\n"
                    b"Content-Transfer-Encoding: base64\r\n"
                    b"Content-Disposition: attachment; filename=\"random.bin\"\r\n\r\n"
                    + b64 + b"--frontier--\r\n")
            msg = make_message(subject, body, headers=[
                "MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="frontier"'])
            out.append((msg, ()))
        elif kind == 3:
            body = (b".\r\n..\r\n...\r\n.leading dot\r\n..leading dots\r\n \r\n. \r\n"
                    b"text\r\n.\r\n.\r\nafter dots %d\r\n.\r\n" % i)
            out.append((make_message(subject, body), ()))
        else:
            line = bytes(rnd.choice(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(998))
            assert len(line) == 998
            body = b"before\r\n" + line + CRLF + b"." + line[1:] + CRLF + b"after\r\n"
            out.append((make_message(subject, body), ()))
    return out


def send_all(server, messages, per_connection=10):
    for start in range(0, len(messages), per_connection):
        with smtplib.SMTP("127.0.0.1", server.smtp_port, local_hostname="client.example",
                          timeout=TIMEOUT) as s:
            assert s.ehlo()[0] == 250
            for msg, opts in messages[start:start + per_connection]:
                code, resp = s.mail(SENDER, list(opts))
                assert code == 250, resp
                code, resp = s.rcpt(USER)
                assert code == 250, resp
                code, resp = s.data(msg)
                assert code == 250, resp


def fetch_poplib(server):
    """(messages, uidls, sizes) of USER's mailbox through poplib."""
    p = pop3_open(server)
    try:
        count, total = p.stat()
        _, listing, _ = p.list()
        sizes = [int(ln.split()[1]) for ln in listing]
        assert [int(ln.split()[0]) for ln in listing] == list(range(1, count + 1))
        assert sum(sizes) == total, (sizes, total)
        _, uidl_lines, _ = p.uidl()
        uidls = [ln.split()[1] for ln in uidl_lines]
        assert [int(ln.split()[0]) for ln in uidl_lines] == list(range(1, count + 1))
        msgs = [joined(p.retr(i)[1]) for i in range(1, count + 1)]
        assert p.quit().startswith(b"+OK")
    finally:
        p.close()
    return msgs, uidls, sizes


@pytest.mark.timeout(180)
def test_hundred_messages_roundtrip(server):
    messages = build_messages(100)
    send_all(server, messages)
    msgs, uidls, sizes = fetch_poplib(server)
    assert len(msgs) == 100
    for i, ((sent, _), stored) in enumerate(zip(messages, msgs)):
        try:
            assert_stored(stored, sent, SENDER)
        except AssertionError as e:
            raise AssertionError(f"message {i + 1} (kind {i % 5}): {e}") from None
    # RFC 1939 LIST: exact sizes
    assert sizes == [len(m) for m in msgs]
    assert len(set(uidls)) == 100, "UIDLs are not distinct"
    for uid in uidls:
        check_uidl(uid)
    # a second session, then a restart: same UIDLs, same bytes
    digest = [hashlib.sha256(m).hexdigest() for m in msgs]
    again, uidls2, _ = fetch_poplib(server)
    assert uidls2 == uidls
    assert [hashlib.sha256(m).hexdigest() for m in again] == digest
    server.restart()
    again, uidls3, _ = fetch_poplib(server)
    assert uidls3 == uidls, "UIDLs changed across a restart"
    assert [hashlib.sha256(m).hexdigest() for m in again] == digest


def send_three(server):
    sent = [make_message(f"three {i}", b"message %d\r\nline 2\r\nline 3\r\n" % i)
            for i in range(3)]
    for m in sent:
        smtp_send(server, SENDER, [USER], m)
    return sent


def test_dele_quit_removes(server):
    sent = send_three(server)
    p = pop3_open(server)
    _, before, _ = p.uidl()
    before = [ln.split()[1] for ln in before]
    assert p.dele(2).startswith(b"+OK")
    count, _ = p.stat()
    assert count == 2  # RFC 1939: deleted messages are not counted
    _, listing, _ = p.list()
    assert [ln.split()[0] for ln in listing] == [b"1", b"3"]
    with pytest.raises(poplib.error_proto):
        p.retr(2)
    with pytest.raises(poplib.error_proto):
        p.dele(2)  # already deleted
    assert p.quit().startswith(b"+OK")
    msgs, uidls, _ = fetch_poplib(server)
    assert uidls == [before[0], before[2]]
    assert_stored(msgs[0], sent[0], SENDER)
    assert_stored(msgs[1], sent[2], SENDER)
    # a new message never reuses a UIDL (RFC 1939 7)
    smtp_send(server, SENDER, [USER], make_message("fourth", b"4\r\n"))
    _, uidls, _ = fetch_poplib(server)
    assert uidls[:2] == [before[0], before[2]] and uidls[2] not in before


def login_retrying(server, user=USER):
    """A POP3 session, retrying while the maildrop is still locked by a dying session."""
    last = None
    for _ in deadline_loop(15, 0.05):
        p = Pop3Client(server.pop3_port)
        p.ok(f"USER {user}")
        last = p.cmd(f"PASS {server.accounts[user]}")
        if last.startswith(b"+OK"):
            return p
        p.close()
    raise AssertionError(f"cannot log in again after a dropped session: {last!r}")


def test_dele_then_dropped_connection_removes_nothing(server):
    send_three(server)
    with server.pop3(USER) as p:
        uidls = p.uidl()
        for n in (1, 2, 3):
            p.ok(f"DELE {n}")
        p.sock.shutdown(2)  # drop without QUIT
    p = login_retrying(server)
    try:
        assert p.stat()[0] == 3
        assert p.uidl() == uidls
        p.quit()
    finally:
        p.close()
    server.restart()  # the dropped session is surely finished now
    with server.pop3(USER) as p:
        assert p.uidl() == uidls
        p.quit()


def test_rset_undeletes(server):
    send_three(server)
    p = pop3_open(server)
    count, size = p.stat()
    p.dele(1)
    p.dele(3)
    assert p.stat()[0] == 1
    assert p.rset().startswith(b"+OK")
    assert p.stat() == (count, size)
    assert len(p.retr(1)[1]) > 0
    assert p.quit().startswith(b"+OK")
    msgs, _, _ = fetch_poplib(server)
    assert len(msgs) == 3


def test_top(server):
    body = b"".join(b"body line %d\r\n" % i for i in range(1, 6))
    sent = make_message("top test", body)
    smtp_send(server, SENDER, [USER], sent)
    full = server.messages(USER)[0]
    head, _, rest = full.partition(b"\r\n\r\n")
    assert rest == body
    p = pop3_open(server)
    try:
        for n in (0, 1, 2, 5, 50):
            _, lines, _ = p.top(1, n)
            want = head + b"\r\n\r\n" + b"".join(body.splitlines(keepends=True)[:n])
            assert joined(lines) == want, f"TOP 1 {n}"
        with pytest.raises(poplib.error_proto):
            p.top(2, 0)  # no such message
        p.dele(1)
        with pytest.raises(poplib.error_proto):
            p.top(1, 0)  # deleted
        p.rset()
        assert p.quit().startswith(b"+OK")
    finally:
        p.close()


def test_arrival_order_across_connections(server):
    # Interleave two connections: the mailbox order is the order of the 250 replies.
    sent = []
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=TIMEOUT) as a, \
            smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=TIMEOUT) as b:
        a.ehlo()
        b.ehlo()
        for i in range(6):
            s = (a, b)[i % 2]
            m = make_message(f"order {i}", b"order %d\r\n" % i)
            assert s.sendmail(SENDER, [USER], m) == {}
            sent.append(m)
    msgs, _, _ = fetch_poplib(server)
    assert len(msgs) == 6
    for got, want in zip(msgs, sent):
        _, _, rest = split_trace(got)
        assert rest == want


def test_big_message_of_dot_lines(server):
    # ~900 KB where every line starts with '.', lengths varying so that the stuffed dots fall
    # at every offset of the server's read and write buffers (SMTP unstuffing, POP3 stuffing).
    rnd = random.Random(77)
    lines = []
    size = 0
    while size < 900 * 1024:
        ln = b"." * rnd.randrange(1, 4) + bytes(rnd.choice(b"abcxyz") for _ in
                                               range(rnd.randrange(0, 300))) + CRLF
        lines.append(ln)
        size += len(ln)
    body = b"".join(lines)
    msg = make_message("dots", body)
    smtp_send(server, SENDER, [USER], msg)
    msgs, _, sizes = fetch_poplib(server)
    assert len(msgs) == 1 and sizes[0] == len(msgs[0])
    assert_stored(msgs[0], msg, SENDER)
    p = pop3_open(server)
    try:
        _, top, _ = p.top(1, 3)
        head = msgs[0].partition(b"\r\n\r\n")[0]
        assert joined(top) == head + b"\r\n\r\n" + b"".join(lines[:3])
        p.quit()
    finally:
        p.close()
