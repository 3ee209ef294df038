"""
Hostile and broken input (the Redis protocol.tcl habit): over-long lines, NUL and binary junk,
deep pipelining, one byte per write, silent clients, POP3 nonsense. The server answers each
with the protocol's error reply, keeps the session where the RFC says so, enforces its error
limit and timeouts, and afterwards is alive and serves a fresh client normally.
"""

import random
import socket
import time

import pytest

from conftest import (CRLF, USER, ConnectionClosed, Pop3Client, assert_stored, deadline_loop,
                      dot_stuff, make_message, parse_replies, smtp_send)


# ---- SMTP


def test_overlong_command_line_500_then_continue(server):
    with server.smtp() as c:
        assert c.ehlo().code == 250
        r = c.cmd(b"NOOP " + b"x" * 10240)
        assert r.code == 500 and r.enhanced == "5.5.2", r
        assert c.cmd("NOOP").code == 250
        # an over-long MAIL in a session: the same, and the transaction can still start
        r = c.cmd(b"MAIL FROM:<" + b"a" * 10240 + b"@example.org>")
        assert r.code == 500 and r.enhanced == "5.5.2", r
        c.begin(ehlo=False)
        assert c.cmd("DATA").code == 354
        msg = make_message("after long line", b"ok\r\n")
        c.send(msg + b".\r\n")
        assert c.reply().code == 250
    assert_stored(server.messages(USER)[0], msg, "sender@example.org")


def test_overlong_line_is_one_error_not_several_commands(server):
    # The tail of an over-long line must not be run as a command ("...QUIT" at its end).
    with server.smtp() as c:
        assert c.ehlo().code == 250
        c.send(b"X" * 10240 + b"QUIT\r\nNOOP\r\n" + b"RSET" * 3000 + b"QUIT\r\nQUIT\r\n")
        replies = parse_replies(c.read_until_closed())
    assert [r.code for r in replies] == [500, 250, 500, 221], replies


def test_error_limit_421_and_close(server_factory):
    srv = server_factory(conf={"smtp_error_limit": "3"})
    with srv.smtp() as c:
        assert c.ehlo().code == 250
        codes = []
        for i in range(6):
            bad = b"BOGUS%d" % i if i % 2 == 0 else b"NOOP " + b"y" * 10240
            try:
                r = c.cmd(bad)
            except (ConnectionClosed, OSError):
                break
            codes.append(r.code)
            if r.code == 421:
                break
        assert codes and codes[-1] == 421, f"no 421 after {len(codes)} errors: {codes}"
        assert all(code == 500 for code in codes[:-1]), codes
        # "over the limit": the 421 comes with the 3rd or 4th error, not earlier or later
        assert len(codes) in (3, 4), codes
        assert c.closed_by_server(), "no close after 421"
    srv.assert_healthy()


def test_error_count_is_per_session(server_factory):
    srv = server_factory(conf={"smtp_error_limit": "3"})
    for _ in range(3):
        with srv.smtp() as c:
            assert c.ehlo().code == 250
            assert c.cmd("BOGUS").code == 500
            assert c.cmd("BOGUS").code == 500
            assert c.cmd("NOOP").code == 250
    srv.assert_healthy()


def test_nul_and_high_bytes_in_commands(server):
    with server.smtp() as c:
        assert c.ehlo().code == 250
        for bad in (b"\x00\x00\x00", b"NO\x00OP", b"\xff\xfe\xfd\xfc",
                    b"MAIL FROM:<a\x00b@example.org>", b"\x1b[2J\x07"):
            r = c.cmd(bad)
            assert 500 <= r.code < 600, (bad, r)
        # RCPT with a NUL in the address inside a transaction
        assert c.cmd("MAIL FROM:<sender@example.org>").code == 250
        r = c.cmd(b"RCPT TO:<us\x00er@localhost>")
        assert 500 <= r.code < 600, r
        assert c.cmd(f"RCPT TO:<{USER}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: after NULs\r\n\r\nok\r\n.\r\n")
        assert c.reply().code == 250
    server.assert_healthy()


@pytest.mark.parametrize("seed", range(4))
def test_random_binary_junk(server, seed):
    junk = random.Random(seed).randbytes(64 * 1024)
    with server.smtp() as c:
        assert c.ehlo().code == 250
        try:
            c.send(junk)
        except OSError:
            pass  # the server may close before it has read everything
        try:
            data = c.read_until_closed()
        except ConnectionResetError:
            data = b""
    # whatever came back is well-formed replies, none of them a success
    for r in parse_replies(data[: data.rfind(CRLF) + 2] if CRLF in data else b""):
        assert r.code >= 400, r
    server.assert_healthy()


def test_junk_without_line_ends(server):
    rnd = random.Random(7)
    junk = bytes(b for b in rnd.randbytes(80 * 1024) if b not in (10, 13))
    with server.smtp() as c:
        assert c.ehlo().code == 250
        c.send(junk + CRLF)
        r = c.reply()
        assert r.code == 500 and r.enhanced == "5.5.2", r
        assert c.cmd("NOOP").code == 250
    server.assert_healthy()


def test_thousand_pipelined_noops(server):
    with server.smtp() as c:
        assert c.ehlo().code == 250
        c.send(b"NOOP\r\n" * 1000 + b"QUIT\r\n")
        replies = parse_replies(c.read_until_closed())
    assert [r.code for r in replies] == [250] * 1000 + [221]


def send_bytewise(sock_owner, data):
    for i in range(len(data)):
        sock_owner.send(data[i:i + 1])
        if i % 8 == 0:
            time.sleep(0.0005)  # pacing, so that the server sees many small reads


def test_smtp_one_byte_per_send(server):
    msg = make_message("bytewise", b"sent one byte at a time\r\n.dot\r\n")
    with server.smtp() as c:
        for line, want in ((b"EHLO client.example\r\n", 250),
                           (b"MAIL FROM:<sender@example.org>\r\n", 250),
                           (b"RCPT TO:<user@localhost>\r\n", 250), (b"DATA\r\n", 354),
                           (dot_stuff(msg) + b".\r\n", 250),
                           (b"QUIT\r\n", 221)):
            send_bytewise(c, line)
            r = c.reply()
            assert r.code == want, (line[:30], r)
    assert_stored(server.messages(USER)[0], msg, "sender@example.org")


def test_pop3_one_byte_per_send(server):
    msg = make_message("pop bytewise", b"x\r\n")
    smtp_send(server, "sender@example.org", [USER], msg)
    with Pop3Client(server.pop3_port) as p:
        for line in (f"USER {USER}\r\n", f"PASS {server.accounts[USER]}\r\n", "STAT\r\n"):
            send_bytewise(p, line.encode())
            r = p.line()
            assert r.startswith(b"+OK"), (line, r)
        send_bytewise(p, b"RETR 1\r\n")
        assert p.line().startswith(b"+OK")
        assert_stored(p.read_multi(), msg, "sender@example.org")
        p.quit()


def test_silent_clients_do_not_block_others(server):
    silent = [server.smtp(), server.smtp(greeting=False), Pop3Client(server.pop3_port)]
    try:
        msg = make_message("while others sleep", b"served\r\n")
        with server.smtp() as c:
            c.begin()
            assert c.cmd("DATA").code == 354
            c.send(msg + b".\r\n")
            assert c.reply().code == 250
        assert_stored(server.messages(USER)[0], msg, "sender@example.org")
        # a client stalled in the middle of DATA blocks nobody either
        stalled = server.smtp()
        silent.append(stalled)
        stalled.begin()
        assert stalled.cmd("DATA").code == 354
        stalled.send(b"Subject: half\r\n\r\nhalf a mess")
        with server.smtp() as c:
            c.begin()
            assert c.cmd("DATA").code == 354
            c.send(msg + b".\r\n")
            assert c.reply().code == 250
        assert len(server.messages(USER)) == 2
    finally:
        for s in silent:
            s.close()
    server.assert_healthy()


def test_smtp_command_timeout_421(server_factory):
    srv = server_factory(conf={"smtp_command_timeout": "2s"})
    with srv.smtp() as c:
        t0 = time.monotonic()
        data = c.read_until_closed(timeout=30)
        elapsed = time.monotonic() - t0
    replies = parse_replies(data)
    assert len(replies) == 1 and replies[0].code == 421, replies
    assert replies[0].enhanced == "4.4.2", replies
    assert elapsed >= 1.5, f"closed after {elapsed:.2f} s, before the 2 s timeout"
    srv.assert_healthy()


def test_pop3_timeout_closes(server_factory):
    srv = server_factory(conf={"pop3_timeout": "2s"})
    with Pop3Client(srv.pop3_port) as p:
        t0 = time.monotonic()
        p.sock.settimeout(30)
        rest = b""
        try:
            while True:
                chunk = p.sock.recv(4096)
                if not chunk:
                    break
                rest += chunk
        except ConnectionResetError:
            pass
        elapsed = time.monotonic() - t0
    assert 1.5 <= elapsed < 30, elapsed
    assert rest == b"" or rest.startswith(b"-ERR"), rest
    srv.assert_healthy()


def test_data_line_over_limit_not_mangled(server):
    # A 100 KiB text line (RFC 5321 4.5.3.1.6 allows 1000 octets): the server may refuse the
    # message (5xx at the end of data) or keep it, but never store it cut, split or rewrapped.
    msg = b"Subject: long\r\n\r\n" + b"z" * (100 * 1024) + b"\r\n"
    with server.smtp() as c:
        c.begin()
        assert c.cmd("DATA").code == 354
        c.send(msg + b".\r\n")
        r = c.reply()
        assert r.code == 250 or 500 <= r.code < 600, r
        assert c.cmd("NOOP").code == 250
    stored = server.messages(USER)
    if r.code == 250:
        assert len(stored) == 1
        assert_stored(stored[0], msg, "sender@example.org")
    else:
        assert stored == []
    server.assert_healthy()


@pytest.mark.parametrize("line", [
    "MAIL FROM:<sender@example.org> SIZE=99999999999999999999999999",
    "MAIL FROM:<sender@example.org> SIZE=-1",
    "MAIL FROM:<sender@example.org> SIZE=",
    "MAIL FROM:<sender@example.org> BODY=9BITMIME",
    "MAIL FROM:<" + "l" * 300 + "@example.org>",
])
def test_bad_mail_parameters(server, line):
    with server.smtp() as c:
        assert c.ehlo().code == 250
        r = c.cmd(line)
        assert 500 <= r.code < 600, r
        assert c.cmd("MAIL FROM:<sender@example.org>").code == 250


# ---- POP3


def test_pop3_malformed_commands(server_factory):
    server = server_factory(conf={"pop3_error_limit": "100"})
    smtp_send(server, "sender@example.org", [USER], make_message("pop", b"x\r\n"))
    with Pop3Client(server.pop3_port) as p:
        for bad in ("STAT", "RETR 1", "PASS nope", "FOO", "USER"):  # before login
            r = p.cmd(bad)
            assert r.startswith(b"-ERR"), (bad, r)
        p.login(USER, server.accounts[USER])
        for bad in ("RETR 0", "RETR 999", "RETR abc", "RETR", "RETR -1", "TOP", "TOP 1",
                    "TOP 1 x", "TOP 0 1", "DELE 0", "DELE 999", "LIST 999", "UIDL 0",
                    "XYZZY", "RETR 4294967297"):
            r = p.cmd(bad)
            assert r.startswith(b"-ERR"), (bad, r)
        # the session continues, keywords are case-insensitive (RFC 1939 3)
        assert p.cmd("noop").startswith(b"+OK")
        assert p.stat()[0] == 1
        assert p.cmd("LIST 1").startswith(b"+OK 1 ")
        p.quit()
    server.assert_healthy()


def test_pop3_overlong_line(server):
    with server.pop3(USER) as p:
        r = p.cmd(b"NOOP " + b"q" * 10240)
        assert r.startswith(b"-ERR"), r
        assert p.cmd("NOOP").startswith(b"+OK")
        r = p.cmd(b"X" * 10240 + b"QUIT")
        assert r.startswith(b"-ERR"), r
        assert p.cmd("STAT").startswith(b"+OK")
        p.quit()
    server.assert_healthy()


def test_pop3_garbage_and_nul(server):
    with server.pop3(USER) as p:
        for bad in (b"\x00\x00", b"ST\x00AT", b"\xff\xfe", b"NOOP\x00"):
            r = p.cmd(bad)
            assert r.startswith(b"-ERR"), (bad, r)
        assert p.cmd("NOOP").startswith(b"+OK")
        p.quit()
    server.assert_healthy()


def test_pop3_bad_auth_plain(server):
    with Pop3Client(server.pop3_port) as p:
        for bad in ("AUTH PLAIN !!!notbase64!!!", "AUTH PLAIN AAAA", "AUTH NOSUCHMECH"):
            r = p.cmd(bad)
            assert r.startswith(b"-ERR"), (bad, r)
        # the exchange form: "+ " then a cancel ("*", RFC 5034 4)
        r = p.cmd("AUTH PLAIN")
        assert r.startswith(b"+"), r
        r = p.cmd("*")
        assert r.startswith(b"-ERR"), r
        p.login(USER, server.accounts[USER])
        p.quit()


def test_pop3_error_limit(server_factory):
    srv = server_factory(conf={"pop3_error_limit": "3"})
    with Pop3Client(srv.pop3_port) as p:
        errors = 0
        closed = False
        for _ in range(8):
            try:
                r = p.cmd("BOGUS")
            except (ConnectionClosed, OSError):
                closed = True
                break
            assert r.startswith(b"-ERR"), r
            errors += 1
        assert closed, "the session survived 8 errors with pop3_error_limit = 3"
        assert errors in (3, 4), errors
    srv.assert_healthy()


def test_pop3_pipelined_commands(server):
    # RFC 2449 PIPELINING-style burst: many commands in one write, answers in order.
    with server.pop3(USER) as p:
        p.send(b"NOOP\r\n" * 200 + b"STAT\r\n" + b"BOGUS\r\n" + b"NOOP\r\n")
        answers = [p.line() for _ in range(203)]
        assert all(a.startswith(b"+OK") for a in answers[:201]), answers[:201]
        assert answers[201].startswith(b"-ERR") and answers[202].startswith(b"+OK")
        p.quit()


def test_smtp_data_timeout(server_factory):
    srv = server_factory(conf={"smtp_data_timeout": "2s"})
    with srv.smtp() as c:
        c.begin()
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: stalled\r\n\r\nhalf a mess")
        t0 = time.monotonic()
        data = c.read_until_closed(timeout=30)
        elapsed = time.monotonic() - t0
    replies = parse_replies(data)
    assert len(replies) == 1 and replies[0].code == 421, replies
    assert elapsed >= 1.5, f"closed after {elapsed:.2f} s, before the 2 s data timeout"
    assert srv.messages(USER) == []  # nothing of the cut message is stored
    srv.assert_healthy()


def test_smtp_max_connections(server_factory):
    srv = server_factory(conf={"smtp_max_connections": "3"})
    held = [srv.smtp() for _ in range(3)]
    try:
        for c in held:
            assert c.greeting.code == 220
        # the fourth is turned away (421, or closed) without disturbing the others
        try:
            extra = srv.smtp(greeting=False)
            data = extra.read_until_closed(timeout=15)
            extra.close()
            assert data == b"" or data.startswith(b"421"), data
        except (ConnectionClosed, OSError):
            pass
        for c in held:
            assert c.cmd("NOOP").code == 250
        held.pop().close()
        # a slot is free again (the server notices the close asynchronously: poll)
        for _ in deadline_loop(15, 0.05):
            try:
                with srv.smtp() as c:
                    if c.greeting.code == 220:
                        assert c.cmd("QUIT").code == 221
                        break
            except (ConnectionClosed, OSError, AssertionError):
                continue
        else:
            raise AssertionError("no connection accepted after one of three was closed")
    finally:
        for c in held:
            c.close()
    srv.assert_healthy()


def test_pop3_max_connections(server_factory):
    srv = server_factory(conf={"pop3_max_connections": "2"})
    held = [Pop3Client(srv.pop3_port) for _ in range(2)]
    try:
        # the third gets no +OK greeting: a -ERR, or the connection is closed
        with socket.create_connection(("127.0.0.1", srv.pop3_port), timeout=15) as s:
            data = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except (ConnectionResetError, socket.timeout):
                pass
        assert not data.startswith(b"+OK"), f"a third POP3 connection was served: {data!r}"
        for p in held:
            assert p.cmd("NOOP").startswith(b"-ERR")  # not logged in, but answered
    finally:
        for p in held:
            p.close()
    srv.assert_healthy()
