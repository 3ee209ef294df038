"""
Real third-party clients: swaks (SMTP, with and without PIPELINING) delivers, curl fetches over
POP3 and uploads over SMTP. What these programs send and expect is the truth the server must meet.
"""

import re
import subprocess

from conftest import (TIMEOUT, USER, USER_PW, assert_stored, make_message, require_tool,
                      split_trace)

CLIENT_TIMEOUT = 60


def swaks(server, *args):
    exe = require_tool("swaks")
    cmd = [exe, "--server", f"127.0.0.1:{server.smtp_port}", "--helo", "client.example",
           "--timeout", str(int(TIMEOUT)), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=CLIENT_TIMEOUT,
                          stdin=subprocess.DEVNULL)


def curl(*args, binary=False):
    exe = require_tool("curl")
    return subprocess.run([exe, "-sS", "--max-time", str(int(TIMEOUT)), *args],
                          capture_output=True, timeout=CLIENT_TIMEOUT, text=not binary,
                          stdin=subprocess.DEVNULL)


def curl_pop3(server, path, user=USER, password=USER_PW, *extra):
    return curl(f"pop3://127.0.0.1:{server.pop3_port}/{path}", "-u", f"{user}:{password}",
                *extra, binary=True)


def test_swaks_delivers_and_curl_pop3_fetches(server):
    text = "swaks-body-7f3a91 hello from swaks"
    r = swaks(server, "--to", USER, "--from", "sender@example.org", "--body", text,
              "--header", "Subject: swaks test")
    assert r.returncode == 0, f"swaks exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert re.search(r"<-\s+250 .*queued as", r.stdout), r.stdout
    got = curl_pop3(server, "1")
    assert got.returncode == 0, got.stderr
    assert text.encode() in got.stdout, got.stdout[-500:]
    assert b"Subject: swaks test" in got.stdout
    # curl's output is the stored message exactly (curl undoes the dot-stuffing)
    stored = server.messages(USER)
    assert len(stored) == 1
    assert got.stdout == stored[0]
    rp, _, _ = split_trace(stored[0])
    assert rp.rstrip() == b"Return-Path: <sender@example.org>", rp


def test_swaks_pipelining(server):
    text = "pipelined-body-22c9"
    r = swaks(server, "--pipeline", "--to", USER, "--from", "sender@example.org",
              "--body", text)
    assert r.returncode == 0, f"swaks exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    lines = r.stdout.splitlines()
    # With PIPELINING swaks writes MAIL and RCPT before reading either reply.
    i_mail = next(i for i, ln in enumerate(lines) if re.match(r"\s*-> MAIL FROM", ln))
    i_rcpt = next(i for i, ln in enumerate(lines) if re.match(r"\s*-> RCPT TO", ln))
    assert i_rcpt == i_mail + 1, "swaks did not pipeline (server lacks PIPELINING?):\n" + r.stdout
    got = curl_pop3(server, "1")
    assert got.returncode == 0, got.stderr
    assert text.encode() in got.stdout


def test_swaks_several_recipients_one_unknown(server):
    r = swaks(server, "--to", f"{USER},nobody-here@localhost,bob@localhost",
              "--from", "sender@example.org", "--body", "partly")
    # swaks goes on when at least one recipient is accepted
    assert r.returncode == 0, f"swaks exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert re.search(r"<\*\*\s+550 5\.1\.1", r.stdout), r.stdout
    assert len(server.messages(USER)) == 1
    assert len(server.messages("bob@localhost")) == 1


def test_swaks_unknown_recipient_fails(server):
    r = swaks(server, "--to", "nobody-here@localhost", "--from", "sender@example.org")
    assert r.returncode == 24, f"swaks exit {r.returncode} (want 24: no RCPT accepted)\n{r.stdout}"
    assert "550" in r.stdout
    assert server.messages(USER) == []


def test_swaks_relay_denied(server):
    r = swaks(server, "--to", "someone@example.org", "--from", "sender@example.org")
    assert r.returncode == 24, f"swaks exit {r.returncode}\n{r.stdout}"
    assert re.search(r"<\*\*\s+55[04] 5\.7\.1", r.stdout), r.stdout


def test_curl_smtp_upload(server, tmp_path):
    msg = make_message("curl upload", b"Uploaded by curl.\r\n.dot line\r\n..two\r\nend\r\n")
    f = tmp_path / "mail.eml"
    f.write_bytes(msg)
    r = curl(f"smtp://127.0.0.1:{server.smtp_port}/client.example", "--mail-from",
             "curl@example.org", "--mail-rcpt", USER, "-T", str(f))
    assert r.returncode == 0, f"curl exit {r.returncode}: {r.stderr}"
    stored = server.messages(USER)
    assert len(stored) == 1
    assert_stored(stored[0], msg, "curl@example.org")


def test_curl_smtp_unknown_rcpt_fails(server, tmp_path):
    f = tmp_path / "mail.eml"
    f.write_bytes(make_message("x", b"x\r\n"))
    r = curl(f"smtp://127.0.0.1:{server.smtp_port}", "--mail-from", "curl@example.org",
             "--mail-rcpt", "nobody-here@localhost", "-T", str(f))
    assert r.returncode == 55, f"curl exit {r.returncode} (want 55, send failed): {r.stderr}"


def test_curl_pop3_list_sizes_exact(server):
    for i in range(3):
        r = swaks(server, "--to", USER, "--from", "sender@example.org", "--body", f"m{i}" * (i + 1))
        assert r.returncode == 0, r.stdout
    got = curl_pop3(server, "")
    assert got.returncode == 0, got.stderr
    listing = dict(ln.split() for ln in got.stdout.decode().splitlines())
    stored = server.messages(USER)
    # RFC 1939 5 LIST: the exact size of each message in octets
    assert listing == {str(i + 1): str(len(m)) for i, m in enumerate(stored)}


def test_curl_pop3_wrong_password(server):
    r = curl_pop3(server, "", USER, "not-the-password")
    assert r.returncode == 67, f"curl exit {r.returncode} (want 67, login denied): {r.stderr}"


def test_curl_pop3_uidl_and_dele(server):
    for i in range(2):
        r = swaks(server, "--to", USER, "--from", "sender@example.org", "--body", f"n{i}")
        assert r.returncode == 0, r.stdout
    r = curl_pop3(server, "", USER, USER_PW, "-X", "UIDL")
    assert r.returncode == 0, r.stderr
    uidls = [ln.split() for ln in r.stdout.decode().splitlines()]
    assert [u[0] for u in uidls] == ["1", "2"] and uidls[0][1] != uidls[1][1], uidls
    # DELE through curl (it sends QUIT afterwards, which commits the deletion)
    r = curl_pop3(server, "1", USER, USER_PW, "-X", "DELE", "-I")
    assert r.returncode == 0, r.stderr
    with server.pop3(USER) as p:
        assert list(p.uidl().values()) == [uidls[1][1]]
        p.quit()
