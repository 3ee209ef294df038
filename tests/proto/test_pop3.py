"""
POP3 (RFC 1939, 2449 CAPA, 5034 AUTH) basics with the raw client: capabilities, USER/PASS and
AUTH PLAIN in both forms, STAT/LIST/UIDL single and multi-line forms, QUIT in each state, and
the session's fixed view of the maildrop.
"""

import time

from conftest import BOB, USER, USER_PW, Pop3Client, b64, make_message, smtp_send


def deliver(server, n=1, to=USER, tag="m"):
    msgs = []
    for i in range(n):
        m = make_message(f"pop3 {tag}{i}", f"pop3 message {tag}{i}\r\n".encode(), to=to)
        smtp_send(server, "sender@example.org", [to], m)
        msgs.append(m)
    return msgs


def test_greeting_and_capa(server):
    with Pop3Client(server.pop3_port) as p:
        assert p.greeting.startswith(b"+OK")
        status, body = p.multi("CAPA")
        caps = {ln.split()[0].upper(): ln.split()[1:] for ln in body.decode().splitlines()}
        for cap in ("USER", "UIDL", "TOP", "SASL"):
            assert cap in caps, f"CAPA lacks {cap}: {body!r}"
        assert "PLAIN" in [m.upper() for m in caps["SASL"]], caps["SASL"]
        p.quit()


def test_user_pass_and_quit_in_authorization_state(server):
    with Pop3Client(server.pop3_port) as p:
        r = p.cmd("QUIT")
        assert r.startswith(b"+OK"), r
        assert p.sock.recv(10) == b"", "no close after QUIT"
    with Pop3Client(server.pop3_port) as p:
        p.ok(f"USER {USER}")
        p.ok(f"PASS {USER_PW}")
        assert p.stat() == (0, 0)
        p.quit()
        assert p.sock.recv(10) == b""


def test_wrong_password_then_right(server):
    with Pop3Client(server.pop3_port) as p:
        p.ok(f"USER {USER}")
        assert p.cmd("PASS not-it").startswith(b"-ERR")
        assert p.cmd("STAT").startswith(b"-ERR")  # still not logged in
        p.login(USER, USER_PW)
        assert p.stat()[0] == 0
        p.quit()
    with Pop3Client(server.pop3_port) as p:
        p.cmd("USER nobody@localhost")  # RFC 1939 allows +OK or -ERR for USER ...
        assert p.cmd("PASS whatever").startswith(b"-ERR")  # ... but no login follows


def test_auth_plain_initial_response(server):
    with Pop3Client(server.pop3_port) as p:
        r = p.cmd("AUTH PLAIN " + b64(f"\0{USER}\0{USER_PW}"))
        assert r.startswith(b"+OK"), r
        assert p.stat()[0] == 0
        p.quit()


def test_auth_plain_exchange_and_authzid(server):
    with Pop3Client(server.pop3_port) as p:
        r = p.cmd("AUTH PLAIN")
        assert r.startswith(b"+"), r
        r = p.cmd(b64(f"{USER}\0{USER}\0{USER_PW}"))  # authzid equal to authcid is fine
        assert r.startswith(b"+OK"), r
        p.quit()
    with Pop3Client(server.pop3_port) as p:
        # acting as someone else is not allowed
        r = p.cmd("AUTH PLAIN " + b64(f"{BOB}\0{USER}\0{USER_PW}"))
        assert r.startswith(b"-ERR"), r
        r = p.cmd("AUTH PLAIN " + b64(f"\0{USER}\0wrong"))
        assert r.startswith(b"-ERR"), r


def test_stat_list_uidl_forms(server):
    msgs = deliver(server, 3)
    with server.pop3(USER) as p:
        count, total = p.stat()
        sizes = p.list()
        assert count == 3 and sorted(sizes) == [1, 2, 3] and sum(sizes.values()) == total
        uidls = p.uidl()
        for n in (1, 2, 3):
            assert p.cmd(f"LIST {n}").split() == [b"+OK", str(n).encode(),
                                                   str(sizes[n]).encode()]
            assert p.cmd(f"UIDL {n}").split() == [b"+OK", str(n).encode(), uidls[n].encode()]
        for n, m in enumerate(msgs, 1):
            got = p.retr(n)
            assert got.endswith(m) and len(got) == sizes[n]
        p.quit()


def test_session_sees_maildrop_as_at_login(server):
    deliver(server, 1)
    with server.pop3(USER) as p:
        assert p.stat()[0] == 1
        deliver(server, 1, tag="late")  # arrives during the session
        assert p.stat()[0] == 1
        assert sorted(p.list()) == [1]
        assert p.cmd("RETR 2").startswith(b"-ERR")
        p.ok("DELE 1")
        p.quit()
    with server.pop3(USER) as p:
        assert p.stat()[0] == 1  # the new one stays, the deleted one is gone
        assert b"pop3 message late0" in p.retr(1)
        p.quit()


def test_mailboxes_are_separate(server):
    deliver(server, 2, to=USER)
    deliver(server, 1, to=BOB)
    with server.pop3(USER) as p:
        assert p.stat()[0] == 2
        p.quit()
    with server.pop3(BOB) as p:
        assert p.stat()[0] == 1
        p.quit()


def test_noop_and_rset_replies(server):
    with server.pop3(USER) as p:
        assert p.cmd("NOOP").startswith(b"+OK")
        assert p.cmd("RSET").startswith(b"+OK")
        p.quit()


def test_two_sessions_on_one_mailbox(server):
    # RFC 1939 8 lets a server refuse a second session ([IN-USE]); if it allows one, deleting
    # in both must leave a consistent maildrop.
    deliver(server, 3)
    a = server.pop3(USER)
    b = Pop3Client(server.pop3_port)
    try:
        b.ok(f"USER {USER}")
        r = b.cmd(f"PASS {USER_PW}")
        a.ok("DELE 1")
        if r.startswith(b"+OK"):
            b.ok("DELE 1")
            b.ok("DELE 2")
            assert a.cmd("QUIT").startswith(b"+OK")
            r = b.cmd("QUIT")
            assert r.startswith(b"+OK") or r.startswith(b"-ERR"), r
            want = 1
        else:
            assert a.cmd("QUIT").startswith(b"+OK")
            want = 2
    finally:
        a.close()
        b.close()
    with server.pop3(USER) as p:
        count = p.stat()[0]
        got = p.retr_all()
        p.quit()
    assert count == want, (count, want)
    assert b"pop3 message m2" in got[-1]
    server.assert_healthy()


def test_failed_login_is_delayed(server_factory):
    # Password guessing is slowed down: a wrong password is answered after auth_failure_delay.
    srv = server_factory(conf={"auth_failure_delay": "1s"})
    with Pop3Client(srv.pop3_port) as p:
        p.ok(f"USER {USER}")
        t0 = time.monotonic()
        assert p.cmd("PASS wrong-guess").startswith(b"-ERR")
        assert time.monotonic() - t0 >= 0.9, "a failed login was answered without delay"
    with Pop3Client(srv.pop3_port) as p:
        t0 = time.monotonic()
        assert p.cmd("AUTH PLAIN " + b64(f"\0{USER}\0also-wrong")).startswith(b"-ERR")
        assert time.monotonic() - t0 >= 0.9
        p.login(USER, USER_PW)  # the right password still works afterwards
        p.quit()
