"""
SMTP smuggling (CVE-2023-51764 and relatives): the end of DATA is <CRLF>.<CRLF> and nothing else.
A message whose body holds a fake end marker built from bare LF or CR ("\\n.\\n", "\\r.\\r",
...) followed by a second, smuggled transaction must neither end early nor give the smuggled
envelope a 2xx. Posthorn refuses any message holding a bare CR or LF with 550 5.6.0 at the real
end. Also: a bare LF or CR in a command line is 500 5.5.2 and closes the connection.
"""

import pytest

from conftest import USER, parse_replies, split_trace

VICTIM = "victim@localhost"
ENDINGS = [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\r\n.\r", b"\n..\n"]
SMUGGLED = (b"MAIL FROM:<evil@x>\r\nRCPT TO:<victim@localhost>\r\nDATA\r\n"
            b"From: <evil@x>\r\nSubject: Smuggled\r\n\r\nSmuggled\r\n")


@pytest.fixture
def victim_server(server_factory):
    return server_factory(accounts={USER: "user-Secret-1", VICTIM: "victim-Secret-9"})


def smuggle(server, ending):
    """Sends the whole attack in one sendall() and returns every reply until the server closed
    the connection after our QUIT."""
    with server.smtp() as c:
        r = c.ehlo("attacker.example")
        assert r.code == 250, r
        c.send(b"MAIL FROM:<legit@example.org>\r\nRCPT TO:<victim@localhost>\r\nDATA\r\n"
               b"From: <legit@example.org>\r\nSubject: legit\r\n\r\nlegit body line\r\n"
               + b"x" + ending + SMUGGLED + b"\r\n.\r\nQUIT\r\n")
        data = c.read_until_closed()
    return parse_replies(data)


@pytest.mark.parametrize("ending", ENDINGS, ids=lambda e: repr(e)[2:-1])
def test_no_smuggling(victim_server, ending):
    replies = smuggle(victim_server, ending)
    codes = [r.code for r in replies]
    assert codes[:3] == [250, 250, 354], replies
    # Between 354 and the reply to QUIT there is exactly one reply: the one to the real end.
    # A smuggling server answers 250 (end of DATA), 250 (MAIL), 250 (RCPT), 354, 250.
    after = replies[3:]
    assert after and after[-1].code == 221, replies
    assert len(after) == 2, f"more than one reply to the DATA content: {replies}"
    assert not 200 <= after[0].code < 300, f"the DATA content got a 2xx: {replies}"
    msgs = victim_server.messages(VICTIM)
    assert len(msgs) <= 1
    for m in msgs:
        rp, _, rest = split_trace(m)
        assert b"evil@x" not in rp, "the smuggled envelope was delivered"
        assert not rest.startswith(b"From: <evil@x>"), "a smuggled message was stored"


@pytest.mark.parametrize("ending", ENDINGS, ids=lambda e: repr(e)[2:-1])
def test_bare_cr_lf_in_data_refused_550_560(victim_server, ending):
    replies = smuggle(victim_server, ending)
    assert [r.code for r in replies][:3] == [250, 250, 354], replies
    r = replies[3]
    assert r.code == 550 and r.enhanced == "5.6.0", r
    assert replies[4].code == 221, replies
    assert victim_server.messages(VICTIM) == []


def test_bare_lf_in_data_then_session_usable(victim_server):
    with victim_server.smtp() as c:
        c.begin(rcpts=[VICTIM])
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: lf\r\n\r\nbare\nlf\r\n.\r\n")
        r = c.reply()
        assert r.code == 550 and r.enhanced == "5.6.0", r
        # the refusal ends the transaction, not the session
        c.begin(rcpts=[VICTIM], ehlo=False)
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: fine\r\n\r\nfine\r\n.\r\n")
        assert c.reply().code == 250
    msgs = victim_server.messages(VICTIM)
    assert len(msgs) == 1
    assert split_trace(msgs[0])[2] == b"Subject: fine\r\n\r\nfine\r\n"


def test_real_crlf_dot_crlf_inside_one_send_is_two_messages(victim_server):
    # The proper end marker followed by a second transaction in one write is legitimate
    # PIPELINING-style input: both messages are delivered, each with its own envelope.
    with victim_server.smtp() as c:
        assert c.ehlo().code == 250
        c.send(b"MAIL FROM:<one@example.org>\r\nRCPT TO:<victim@localhost>\r\nDATA\r\n"
               b"Subject: one\r\n\r\none\r\n.\r\n"
               b"MAIL FROM:<two@example.org>\r\nRCPT TO:<victim@localhost>\r\nDATA\r\n"
               b"Subject: two\r\n\r\ntwo\r\n.\r\nQUIT\r\n")
        replies = parse_replies(c.read_until_closed())
    assert [r.code for r in replies] == [250, 250, 354, 250, 250, 250, 354, 250, 221], replies
    msgs = victim_server.messages(VICTIM)
    assert [split_trace(m)[0].split(b":", 1)[1].strip() for m in msgs] == \
        [b"<one@example.org>", b"<two@example.org>"]


@pytest.mark.parametrize("line", [b"EHLO client.example\n", b"NOOP\nNOOP\r\n",
                                  b"MAIL FROM:<a@example.org>\rRCPT TO:<user@localhost>\r\n",
                                  b"NOOP\r"],
                         ids=["ehlo-lf", "noop-lf", "mail-cr", "noop-cr"])
def test_bare_lf_or_cr_in_command_line_500_and_close(server, line):
    with server.smtp() as c:
        if not line.startswith(b"EHLO"):
            assert c.ehlo().code == 250
        c.send(line)
        if line == b"NOOP\r":
            # a CR alone is not an end of line yet; what follows decides: not LF -> bare CR
            c.send(b"X\r\n")
        data = c.read_until_closed()
    replies = parse_replies(data)
    assert len(replies) == 1, replies
    assert replies[0].code == 500 and replies[0].enhanced == "5.5.2", replies
    server.assert_healthy()


def test_next_client_served_after_bare_lf(server):
    with server.smtp() as c:
        c.send(b"EHLO evil\n")
        assert c.reply().code == 500
        assert c.closed_by_server()
    with server.smtp() as c:
        c.begin()
        assert c.cmd("DATA").code == 354
        c.send(b"Subject: after\r\n\r\nafter\r\n.\r\n")
        assert c.reply().code == 250
    assert len(server.messages(USER)) == 1


# ---- BDAT: the chunk is data whatever happens to the command (RFC 3030 2: after a failure
# the server "MUST accept and discard the associated message data" before replying)

CHUNK = (b"MAIL FROM:<evil@x>\r\nRCPT TO:<victim@localhost>\r\nDATA\r\nSmuggled\r\n.\r\n"
         b"RSET\r\n")


def bdat_replies(server, prologue):
    with server.smtp() as c:
        assert c.ehlo().code == 250
        c.send(prologue + b"BDAT %d LAST\r\n" % len(CHUNK) + CHUNK + b"QUIT\r\n")
        return parse_replies(c.read_until_closed())


def test_bdat_without_transaction_discards_chunk(victim_server):
    replies = bdat_replies(victim_server, b"")
    assert [r.code for r in replies] == [503, 221], replies
    assert victim_server.messages(VICTIM) == []


def test_bdat_without_valid_recipient_discards_chunk(victim_server):
    replies = bdat_replies(victim_server, b"MAIL FROM:<a@example.org>\r\n"
                                          b"RCPT TO:<nobody-here@localhost>\r\n")
    codes = [r.code for r in replies]
    assert codes[:2] == [250, 550] and len(codes) == 4 and codes[-1] == 221, replies
    assert codes[2] in (503, 554), replies
    assert victim_server.messages(VICTIM) == []


def test_bdat_over_size_limit_discards_chunk(victim_server):
    big = b"Subject: big\r\n\r\n" + b"y" * (1100 * 1024) + b"\r\n"
    with victim_server.smtp() as c:
        c.begin(rcpts=[VICTIM])
        c.send(b"BDAT %d LAST\r\n" % len(big) + big)
        r = c.reply()
        assert r.code == 552, r
        # the session goes on, in step with the client
        assert c.cmd("NOOP").code == 250
        c.begin(rcpts=[VICTIM], ehlo=False)
        c.send(b"BDAT 4 LAST\r\nok\r\n")
        assert c.reply().code == 250
    msgs = victim_server.messages(VICTIM)
    assert len(msgs) == 1 and split_trace(msgs[0])[2] == b"ok\r\n"


def test_bdat_chunk_holding_end_marker_is_data(victim_server):
    msg = b"Subject: bdat\r\n\r\nbefore\r\n.\r\n" + CHUNK + b"after\r\n"
    with victim_server.smtp() as c:
        c.begin(rcpts=[VICTIM])
        c.send(b"BDAT %d LAST\r\n" % len(msg) + msg + b"QUIT\r\n")
        replies = parse_replies(c.read_until_closed())
    assert [r.code for r in replies] == [250, 221], replies
    msgs = victim_server.messages(VICTIM)
    assert len(msgs) == 1
    assert split_trace(msgs[0])[2] == msg
