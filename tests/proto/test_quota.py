"""
Quotas (RFC 9208 resources STORAGE and MESSAGE) enforced at SMTP delivery: a full mailbox
refuses at RCPT with 452 4.2.2 (temporary: the user can make room), a message that does not
fit refuses at the end of DATA with 552 5.2.2 and nothing is stored; `posthorn account quota`
sets and shows the limits.
"""

import smtplib

from conftest import BOB, TIMEOUT, USER, make_message


def send(server, rcpts, msg):
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=TIMEOUT) as c:
        return c.sendmail("someone@example.net", rcpts, msg)


def test_message_count_quota_refuses_at_rcpt(server):
    server.cli_ok("account", "quota", USER, "0", "2")
    for i in range(2):
        send(server, [USER], make_message(f"fits {i}", b"small\r\n", to=USER))
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=TIMEOUT) as c:
        c.ehlo()
        assert c.mail("someone@example.net")[0] == 250
        code, text = c.rcpt(USER)
        assert code == 452 and text.startswith(b"4.2.2"), (code, text)
        assert c.rcpt(BOB)[0] == 250  # others are not affected
    assert len(server.messages(USER)) == 2
    # raising the limit lets mail in again
    server.cli_ok("account", "quota", USER, "0", "0")
    send(server, [USER], make_message("after", b"room again\r\n", to=USER))
    assert len(server.messages(USER)) == 3


def test_storage_quota_refuses_at_end_of_data(server):
    server.cli_ok("account", "quota", USER, "4000", "0")
    big = make_message("too big", b"x" * 5000 + b"\r\n", to=USER)
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=TIMEOUT) as c:
        c.ehlo()
        assert c.mail("someone@example.net")[0] == 250
        assert c.rcpt(USER)[0] == 250
        assert c.rcpt(BOB)[0] == 250
        code, text = c.data(big)
        assert code == 552 and text.startswith(b"5.2.2"), (code, text)
    # nothing stored, for either recipient: one reply covers the transaction
    assert server.messages(USER) == [] and server.messages(BOB) == []
    small = make_message("small", b"fits\r\n", to=USER)
    send(server, [USER], small)
    assert len(server.messages(USER)) == 1
    r = server.cli_ok("account", "quota", USER)
    assert "4000" in r.stdout, r.stdout
