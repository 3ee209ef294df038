"""
SMTP basics (RFC 5321, 1870, 2920, 3030, 3463, 6152, 6531) against the real server: greeting
and EHLO, the simple commands, sequence errors, recipient resolution (accounts, aliases,
subaddresses, catch-all, address literals, case), limits, BDAT, SMTPUTF8 and 8BITMIME. Every
delivery is checked byte for byte through POP3: stored = Return-Path + Received + the bytes sent.
"""

import re

import pytest

from conftest import (BOB, CRLF, HOSTNAME, USER, USER_PW, SmtpClient, assert_stored,
                      make_message, queue_id, smtp_send, split_trace)

SENDER = "sender@example.org"


def ehlo_keywords(reply):
    """{KEYWORD: [params]} from an EHLO reply (the first line is the greeting line)."""
    out = {}
    for line in reply.lines[1:]:
        words = line.decode().split()
        out[words[0].upper()] = words[1:]
    return out


# ---- greeting, EHLO, simple commands


def test_greeting_and_ehlo_capabilities(server):
    with server.smtp() as c:
        # RFC 5321 4.3.1 / 4.2: "220 <domain> ..." names this host.
        assert c.greeting.code == 220
        assert c.greeting.lines[0].split()[0].decode() == HOSTNAME, c.greeting
        r = c.ehlo("client.example")
        assert r.code == 250, r
        assert r.lines[0].split()[0].decode() == HOSTNAME, r
        kw = ehlo_keywords(r)
        for ext in ("PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8",
                    "CHUNKING"):
            assert ext in kw, f"EHLO lacks {ext}: {r.lines}"
        # RFC 1870: SIZE announces the fixed limit (message_size_limit = 1M in the drop-in).
        assert len(kw["SIZE"]) == 1 and kw["SIZE"][0].isdigit(), kw["SIZE"]
        assert 1000000 <= int(kw["SIZE"][0]) <= 1048576, kw["SIZE"]
        assert c.cmd("QUIT").code == 221


def test_helo_then_mail(server):
    with server.smtp() as c:
        r = c.cmd("HELO client.example")
        assert r.code == 250 and HOSTNAME in r.text, r
        assert c.cmd(f"MAIL FROM:<{SENDER}>").code == 250
        assert c.cmd(f"RCPT TO:<{USER}>").code == 250


def test_second_ehlo_resets_transaction(server):
    # RFC 5321 4.1.4: EHLO in a session resets the state as RSET does.
    with server.smtp() as c:
        c.begin()
        assert c.ehlo().code == 250
        r = c.cmd("DATA")
        assert r.code == 503, r


def test_vrfy_252(server):
    # RFC 5321 3.5.3: 252 = cannot verify, will accept and attempt delivery. The same answer for
    # an existing and a non-existing user, so VRFY does not enumerate accounts.
    with server.smtp() as c:
        c.ehlo()
        for who in (USER, "nobody-here@localhost", "user"):
            r = c.cmd(f"VRFY {who}")
            assert r.code == 252, (who, r)


def test_help_214(server):
    with server.smtp() as c:
        c.ehlo()
        r = c.cmd("HELP")
        assert r.code == 214, r
        r = c.cmd("HELP MAIL")
        assert r.code in (214, 504), r


def test_noop(server):
    with server.smtp() as c:
        c.ehlo()
        r = c.cmd("NOOP")
        assert r.code == 250 and r.enhanced == "2.0.0", r
        # RFC 5321 4.1.1.9: a parameter string is ignored.
        assert c.cmd("NOOP some text").code == 250
        assert c.cmd("noop").code == 250  # verbs are case-insensitive (2.4)


def test_rset_clears_transaction(server):
    with server.smtp() as c:
        c.begin()
        r = c.cmd("RSET")
        assert r.code == 250, r
        assert c.cmd("DATA").code == 503  # no transaction any more
        assert c.cmd(f"RCPT TO:<{USER}>").code == 503
        # a new transaction after RSET is fine
        assert c.cmd(f"MAIL FROM:<{SENDER}>").code == 250
        assert c.cmd(f"RCPT TO:<{USER}>").code == 250


def test_quit_221_and_close(server):
    with server.smtp() as c:
        c.ehlo()
        r = c.cmd("QUIT")
        assert r.code == 221 and r.enhanced == "2.0.0", r
        assert c.closed_by_server(), "server kept the connection open after 221"


def test_unknown_command_500(server):
    with server.smtp() as c:
        c.ehlo()
        r = c.cmd("FROBNICATE now")
        assert r.code == 500 and r.enhanced == "5.5.2", r
        assert c.cmd("NOOP").code == 250


def test_enhanced_status_codes_on_replies(server):
    # RFC 2034: with ENHANCEDSTATUSCODES every reply except greeting/EHLO/HELP carries one.
    with server.smtp() as c:
        c.ehlo()
        for line in (f"MAIL FROM:<{SENDER}>", f"RCPT TO:<{USER}>", "RSET", "NOOP"):
            r = c.cmd(line)
            assert r.enhanced is not None and r.enhanced[0] == str(r.code)[0], (line, r)


# ---- sequence errors


def test_rcpt_before_mail_503(server):
    with server.smtp() as c:
        c.ehlo()
        r = c.cmd(f"RCPT TO:<{USER}>")
        assert r.code == 503 and r.enhanced == "5.5.1", r


def test_data_without_rcpt_503(server):
    with server.smtp() as c:
        c.ehlo()
        assert c.cmd("DATA").code == 503  # no MAIL
        assert c.cmd(f"MAIL FROM:<{SENDER}>").code == 250
        r = c.cmd("DATA")
        assert r.code == 503 and r.enhanced == "5.5.1", r
        # the transaction is still open: a recipient and DATA now work
        assert c.cmd(f"RCPT TO:<{USER}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: x\r\n\r\nx\r\n.\r\n")
        assert c.reply().code == 250


def test_nested_mail_503(server):
    with server.smtp() as c:
        c.ehlo()
        assert c.cmd(f"MAIL FROM:<{SENDER}>").code == 250
        r = c.cmd("MAIL FROM:<other@example.org>")
        assert r.code == 503, r


def test_mail_before_ehlo_503(server):
    with server.smtp() as c:
        r = c.cmd(f"MAIL FROM:<{SENDER}>")
        assert r.code == 503, r


def test_mail_syntax_errors_501(server):
    with server.smtp() as c:
        c.ehlo()
        for bad in ("MAIL FROM:", "MAIL FROM:<unterminated@example.org",
                    "MAIL FROM:<a@b> NOSUCHPARAM=1", "MAIL TO:<a@b>"):
            r = c.cmd(bad)
            assert r.code in (500, 501, 504, 555), (bad, r)
        assert c.cmd(f"MAIL FROM:<{SENDER}>").code == 250


# ---- delivery and recipient resolution


def test_send_and_fetch_byte_identical(server):
    msg = make_message("plain", b"Line one\r\nLine two\r\n\r\n.leading dot\r\n..two dots\r\n")
    qid = smtp_send(server, SENDER, [USER], msg)
    assert qid
    stored = server.messages(USER)
    assert len(stored) == 1
    assert_stored(stored[0], msg, SENDER)
    # RFC 5321 4.4: the from clause names the EHLO name and the client's address
    _, rcvd, _ = split_trace(stored[0])
    assert b"client.example" in rcvd and b"127.0.0.1" in rcvd, rcvd


def test_data_reply_names_queue_id(server):
    with server.smtp() as c:
        c.begin()
        assert c.cmd("DATA").code == 354
        c.send(make_message("qid") + b".\r\n")
        r = c.reply()
        assert r.code == 250, r
        assert re.fullmatch(rb"2\.0\.0 Ok: queued as [A-Za-z0-9]+", r.lines[-1]), r
        first = queue_id(r.lines[-1])
        # a second message in the same session gets another id
        c.begin(ehlo=False)
        assert c.cmd("DATA").code == 354
        c.send(make_message("qid2") + b".\r\n")
        r = c.reply()
        assert r.code == 250 and queue_id(r.lines[-1]) != first, r


def test_multiple_recipients_each_get_a_copy(server):
    msg = make_message("two", b"for both\r\n")
    smtp_send(server, SENDER, [USER, BOB], msg)
    for who in (USER, BOB):
        stored = server.messages(who)
        assert len(stored) == 1, who
        assert_stored(stored[0], msg, SENDER)


def test_unknown_recipient_550_511(server):
    with server.smtp() as c:
        c.begin(rcpts=())
        r = c.cmd("RCPT TO:<nobody-here@localhost>")
        assert r.code == 550 and r.enhanced == "5.1.1", r
        # the session continues
        assert c.cmd(f"RCPT TO:<{USER}>").code == 250


@pytest.mark.parametrize("rcpt", ["someone@example.org", "user@localhost.example.org",
                                  "user@[10.11.12.13]", "user%localhost@example.org"])
def test_relay_denied(server, rcpt):
    with server.smtp() as c:
        c.begin(rcpts=())
        r = c.cmd(f"RCPT TO:<{rcpt}>")
        assert r.code in (550, 554) and r.enhanced == "5.7.1", (rcpt, r)


def test_alias_delivers_to_targets(server):
    server.cli_ok("alias", "add", "team@localhost", USER, BOB)
    msg = make_message("alias", b"to the team\r\n", to="team@localhost")
    smtp_send(server, SENDER, ["team@localhost"], msg)
    for who in (USER, BOB):
        stored = server.messages(who)
        assert len(stored) == 1, who
        assert_stored(stored[0], msg, SENDER)


def test_subaddress_delivers_to_user(server):
    msg = make_message("tagged", b"subaddress\r\n", to="user+lists@localhost")
    smtp_send(server, SENDER, ["user+lists@localhost"], msg)
    stored = server.messages(USER)
    assert len(stored) == 1
    assert_stored(stored[0], msg, SENDER)
    # the extension of an unknown user does not make it known
    with server.smtp() as c:
        c.begin(rcpts=())
        assert c.cmd("RCPT TO:<nobody+x@localhost>").code == 550


def test_catchall_domain(server):
    server.cli_ok("domain", "add", "example.test")
    server.add_account("real@example.test", "real-Secret-3")
    server.cli_ok("domain", "catchall", "example.test", USER)
    m1 = make_message("catchall", b"anything goes\r\n", to="whatever123@example.test")
    smtp_send(server, SENDER, ["whatever123@example.test"], m1)
    m2 = make_message("exact", b"an account wins over the catch-all\r\n", to="real@example.test")
    smtp_send(server, SENDER, ["real@example.test"], m2)
    got = server.messages(USER)
    assert len(got) == 1
    assert_stored(got[0], m1, SENDER)
    got = server.messages("real@example.test")
    assert len(got) == 1
    assert_stored(got[0], m2, SENDER)
    # the catch-all of one domain does not make other domains local
    with server.smtp() as c:
        c.begin(rcpts=())
        assert c.cmd("RCPT TO:<whatever123@localhost>").code == 550


def test_address_literal_local(server):
    # local_address_literals = 127.0.0.1 in the drop-in: user@[127.0.0.1] is user@localhost.
    msg = make_message("literal", b"via an address literal\r\n", to="user@[127.0.0.1]")
    smtp_send(server, SENDER, ["user@[127.0.0.1]"], msg)
    stored = server.messages(USER)
    assert len(stored) == 1
    assert_stored(stored[0], msg, SENDER)
    with server.smtp() as c:
        c.begin(rcpts=())
        r = c.cmd("RCPT TO:<user@[127.0.0.2]>")  # not listed: not ours
        assert r.code in (550, 554) and r.enhanced == "5.7.1", r
        r = c.cmd("RCPT TO:<nobody-here@[127.0.0.1]>")
        assert r.code == 550 and r.enhanced == "5.1.1", r


def test_case_insensitive_local_part_and_domain(server):
    sent = []
    for rcpt in ("USER@LOCALHOST", "User@LocalHost", "uSeR+Tag@localhost"):
        msg = make_message(f"case {rcpt}", b"case\r\n", to=rcpt)
        smtp_send(server, SENDER, [rcpt], msg)
        sent.append(msg)
    stored = server.messages(USER)
    assert len(stored) == 3
    for s, m in zip(stored, sent):
        assert_stored(s, m, SENDER)


def test_null_sender_accepted(server):
    msg = make_message("bounce", b"a delivery status notification\r\n", sender="MAILER-DAEMON")
    with server.smtp() as c:
        c.ehlo()
        r = c.cmd("MAIL FROM:<>")
        assert r.code == 250, r
        assert c.cmd(f"RCPT TO:<{USER}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(msg + b".\r\n")
        assert c.reply().code == 250
    stored = server.messages(USER)
    assert len(stored) == 1
    assert_stored(stored[0], msg, "")  # Return-Path: <>


def test_size_param_over_limit_552_at_mail(server):
    with server.smtp() as c:
        c.ehlo()
        r = c.cmd(f"MAIL FROM:<{SENDER}> SIZE=2000000")
        assert r.code == 552 and r.enhanced == "5.3.4", r
        r = c.cmd(f"MAIL FROM:<{SENDER}> SIZE=1000")
        assert r.code == 250, r


def test_message_over_limit_552_at_end(server):
    big = make_message("big", (b"x" * 998 + b"\r\n") * 1200)  # ~1.2 MB > 1M
    with server.smtp() as c:
        c.begin()
        assert c.cmd("DATA").code == 354
        c.send(big + b".\r\n")
        r = c.reply()
        assert r.code == 552 and r.enhanced == "5.3.4", r
        # the session goes on: a small message is accepted
        c.begin(ehlo=False)
        assert c.cmd("DATA").code == 354
        small = make_message("small", b"ok\r\n")
        c.send(small + b".\r\n")
        assert c.reply().code == 250
    stored = server.messages(USER)
    assert len(stored) == 1
    assert_stored(stored[0], small, SENDER)


def test_recipient_limit_452(server):
    # smtp_recipient_limit = 100 in the drop-in; a catch-all makes every local part valid.
    server.cli_ok("domain", "add", "many.test")
    server.cli_ok("domain", "catchall", "many.test", BOB)
    with server.smtp() as c:
        c.ehlo()
        assert c.cmd(f"MAIL FROM:<{SENDER}>").code == 250
        # pipelined, as RFC 2920 allows for RCPT
        c.send(b"".join(b"RCPT TO:<r%d@many.test>\r\n" % i for i in range(101)))
        rs = c.replies(101)
        assert [r.code for r in rs[:100]] == [250] * 100, [r for r in rs[:100] if r.code != 250]
        assert rs[100].code == 452, rs[100]
        assert rs[100].enhanced == "4.5.3", rs[100]
        # the transaction with 100 recipients still goes through
        assert c.cmd("DATA").code == 354
        c.send(make_message("hundred", b"x\r\n") + b".\r\n")
        assert c.reply().code == 250


# ---- BDAT, SMTPUTF8, 8BITMIME


def test_bdat_two_chunks_and_last(server):
    msg = (b"From: <sender@example.org>\r\nTo: <user@localhost>\r\nSubject: chunks\r\n\r\n"
           b"first chunk with 8-bit \xc3\xa9t\xc3\xa9\r\n"
           b".a line starting with a dot\r\n"
           b".\r\n"  # a lone dot line is data in BDAT, not an end marker
           b"tail\r\n")
    cut = msg.index(b".\r\n", 60) + 1  # split between '.' and CRLF, and later inside a CRLF
    chunks = [msg[:cut], msg[cut:-1], msg[-1:]]
    with server.smtp() as c:
        c.begin()
        c.send(b"BDAT %d\r\n" % len(chunks[0]) + chunks[0])
        r = c.reply()
        assert r.code == 250, r
        c.send(b"BDAT %d\r\n" % len(chunks[1]) + chunks[1])
        assert c.reply().code == 250
        c.send(b"BDAT %d LAST\r\n" % len(chunks[2]) + chunks[2])
        r = c.reply()
        assert r.code == 250, r
        queue_id(r.lines[-1])
        assert c.cmd("NOOP").code == 250
    stored = server.messages(USER)
    assert len(stored) == 1
    assert_stored(stored[0], msg, SENDER)


def test_bdat_pipelined_with_zero_last(server):
    body = b"".join(b"line %d of a pipelined BDAT message\r\n" % i for i in range(200))
    msg = b"Subject: bdat pipelined\r\n\r\n" + body
    half = len(msg) // 2
    with server.smtp() as c:
        c.ehlo()
        c.send(b"MAIL FROM:<sender@example.org>\r\nRCPT TO:<user@localhost>\r\n"
               + b"BDAT %d\r\n" % half + msg[:half]
               + b"BDAT %d\r\n" % (len(msg) - half) + msg[half:]
               + b"BDAT 0 LAST\r\n")
        rs = c.replies(5)
        assert [r.code for r in rs] == [250] * 5, rs
        queue_id(rs[-1].lines[-1])
    stored = server.messages(USER)
    assert len(stored) == 1
    assert_stored(stored[0], msg, SENDER)


def test_bdat_then_data_is_503(server):
    # RFC 3030 2: DATA after BDAT in one transaction is a sequence error.
    with server.smtp() as c:
        c.begin()
        c.send(b"BDAT 5\r\nHello")
        assert c.reply().code == 250
        r = c.cmd("DATA")
        assert r.code == 503, r
        assert c.cmd("RSET").code == 250
    assert server.messages(USER) == []


def test_smtputf8_addresses(server):
    server.cli_ok("domain", "add", "utf8.test")
    server.cli_ok("domain", "catchall", "utf8.test", USER)
    sender = "jörg.müller@example.org"
    rcpt = "ünïcødé@utf8.test"
    msg = ("From: Jörg <jörg.müller@example.org>\r\nTo: <ünïcødé@utf8.test>\r\n"
           "Subject: grüße\r\n\r\nUTF-8 everywhere: 日本語\r\n").encode("utf-8")
    with server.smtp() as c:
        c.ehlo()
        # without the SMTPUTF8 parameter a UTF-8 address is refused (RFC 6531 3.5)
        r = c.cmd(f"MAIL FROM:<{sender}>")
        assert 500 <= r.code < 600, r
        assert c.cmd("RSET").code == 250
        r = c.cmd(f"MAIL FROM:<{sender}> SMTPUTF8 BODY=8BITMIME")
        assert r.code == 250, r
        r = c.cmd(f"RCPT TO:<{rcpt}>")
        assert r.code == 250, r
        assert c.cmd("DATA").code == 354
        c.send(msg + b".\r\n")
        assert c.reply().code == 250
    stored = server.messages(USER)
    assert len(stored) == 1
    assert_stored(stored[0], msg, sender)


def test_8bitmime_body_intact(server):
    body = ("Grüße aus Köln — ½ € ✓\r\n"
            "Ελληνικά, русский, 中文\r\n").encode("utf-8") + bytes(range(0x80, 0x100)) + CRLF
    msg = make_message("8bit", body, headers=["MIME-Version: 1.0",
                                               "Content-Type: text/plain; charset=utf-8",
                                               "Content-Transfer-Encoding: 8bit"])
    smtp_send(server, SENDER, [USER], msg, mail_options=["BODY=8BITMIME"])
    stored = server.messages(USER)
    assert len(stored) == 1
    assert_stored(stored[0], msg, SENDER)


def test_ipv6_loopback_listener(server_factory):
    srv = server_factory(ipv6=True)
    msg = make_message("v6", b"over ::1\r\n")
    with SmtpClient(srv.smtp_port6, host="::1") as c:
        c.begin()
        assert c.cmd("DATA").code == 354
        c.send(msg + b".\r\n")
        assert c.reply().code == 250
    stored = srv.messages(USER)
    assert len(stored) == 1
    rp, rcvd, rest = split_trace(stored[0])
    assert rest == msg
    assert b"::1" in rcvd, rcvd  # RFC 5321 4.4: the client's address in the from clause


def test_pop3_password_is_checked(server):
    # sanity for every test above: the fetch helper really logs in
    with server.pop3() as p:
        p.ok(f"USER {USER}")
        assert p.cmd("PASS wrong" + USER_PW).startswith(b"-ERR")


# ---- edges


def sized_message(size):
    """A message of exactly size octets (CRLF lines of at most 100 octets)."""
    head = b"Subject: exact size\r\n\r\n"
    left = size - len(head)
    lines = []
    while left > 0:
        n = min(100, left)
        if left - n in (1,):  # never leave a remainder too short for a line ending
            n -= 1
        lines.append(b"s" * (n - 2) + CRLF if n >= 2 else b"")
        left -= n
    msg = head + b"".join(lines)
    assert len(msg) == size
    return msg


def ehlo_size(c):
    r = c.ehlo()
    return int(ehlo_keywords(r)["SIZE"][0])


def test_size_limit_boundary(server):
    # RFC 1870: the size is the message as sent, CRLFs included, without the final dot.
    with server.smtp() as c:
        limit = ehlo_size(c)
        assert c.cmd(f"MAIL FROM:<{SENDER}> SIZE={limit + 1}").code == 552
        assert c.cmd(f"MAIL FROM:<{SENDER}> SIZE={limit}").code == 250
        assert c.cmd(f"RCPT TO:<{USER}>").code == 250
        assert c.cmd("DATA").code == 354
        exact = sized_message(limit)
        c.send(exact + b".\r\n")
        r = c.reply()
        assert r.code == 250, f"a message of exactly SIZE {limit} octets was refused: {r}"
        c.begin(ehlo=False)
        assert c.cmd("DATA").code == 354
        c.send(sized_message(limit + 1) + b".\r\n")
        r = c.reply()
        assert r.code == 552, f"a message of SIZE + 1 octets was accepted: {r}"
    stored = server.messages(USER)
    assert len(stored) == 1
    assert_stored(stored[0], exact, SENDER)


def test_helo_ehlo_need_an_argument(server):
    with server.smtp() as c:
        assert c.cmd("EHLO").code == 501
        assert c.cmd("HELO").code == 501
        assert c.ehlo().code == 250


def test_postmaster_without_domain(server):
    # RFC 5321 4.1.1.3: RCPT TO:<Postmaster> (no domain) MUST be accepted.
    server.cli_ok("alias", "add", "postmaster@localhost", USER)
    msg = make_message("to postmaster", b"hello postmaster\r\n", to="Postmaster")
    with server.smtp() as c:
        c.begin(rcpts=())
        r = c.cmd("RCPT TO:<Postmaster>")
        assert r.code == 250, r
        assert c.cmd("DATA").code == 354
        c.send(msg + b".\r\n")
        assert c.reply().code == 250
    stored = server.messages(USER)
    assert len(stored) == 1
    assert_stored(stored[0], msg, SENDER)


def test_quoted_local_part_sender(server):
    sender = '"john q. public"@example.org'
    msg = make_message("quoted", b"quoted sender\r\n")
    with server.smtp() as c:
        c.ehlo()
        r = c.cmd(f"MAIL FROM:<{sender}>")
        assert r.code == 250, r
        assert c.cmd(f"RCPT TO:<{USER}>").code == 250
        assert c.cmd("DATA").code == 354
        c.send(msg + b".\r\n")
        assert c.reply().code == 250
    assert_stored(server.messages(USER)[0], msg, sender)


@pytest.mark.parametrize("name", ["x" * 250 + ".example", "[127.0.0.1]", "[IPv6:::1]",
                                  "a(b)c;d", "unqualified", "xn--bcher-kva.example"])
def test_odd_ehlo_names_keep_trace_well_formed(server, name):
    msg = make_message("odd ehlo", b"x\r\n")
    with server.smtp() as c:
        r = c.ehlo(name)
        if r.code != 250:
            assert r.code == 501, r  # refusing a bad name is fine
            return
        c.begin(ehlo=False)
        assert c.cmd("DATA").code == 354
        c.send(msg + b".\r\n")
        assert c.reply().code == 250
    stored = server.messages(USER)
    assert len(stored) == 1
    assert_stored(stored[0], msg, SENDER)  # Received still one well-formed field


def test_empty_message(server):
    with server.smtp() as c:
        c.begin()
        assert c.cmd("DATA").code == 354
        c.send(b".\r\n")
        r = c.reply()
        assert r.code == 250 or 500 <= r.code < 600, r
        assert c.cmd("NOOP").code == 250
    stored = server.messages(USER)
    if r.code == 250:
        assert len(stored) == 1
        assert split_trace(stored[0])[2] == b""
    else:
        assert stored == []
    server.assert_healthy()


def test_concurrent_senders(server):
    import threading

    errors, qids = [], []
    lock = threading.Lock()

    def sender(t):
        try:
            for i in range(10):
                m = make_message(f"concurrent {t}-{i}", b"thread %d message %d\r\n" % (t, i),
                                 headers=[f"X-Seq: {t}-{i}"])
                q = smtp_send(server, SENDER, [USER if i % 2 else BOB], m)
                with lock:
                    qids.append(q)
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=sender, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(qids) == 80 and len(set(qids)) == 80, "queue ids are not unique"
    got = server.messages(USER) + server.messages(BOB)
    seqs = sorted(re.search(rb"X-Seq: (\S+)", m).group(1) for m in got)
    assert seqs == sorted(b"%d-%d" % (t, i) for t in range(8) for i in range(10))
