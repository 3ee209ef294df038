"""
Message submission (RFC 6409) on the submission (STARTTLS) and submissions (implicit TLS,
RFC 8314) ports: AUTH before MAIL, the sender must be the account or an alias that reaches it
(MAIL FROM and From:), no null sender, Message-ID and Date added when missing, local mail
delivered at once, other domains queued; the port 25 role never relays and never offers AUTH.
Real clients: swaks (PLAIN, LOGIN), curl (smtp:// with STARTTLS, smtps://), msmtp (SCRAM-SHA-256
via GNU SASL, GnuTLS).
"""

import email.utils
import json
import os
import re
import time

import pytest

from conftest import BOB, CRLF, USER, header_fields, make_message, require_tool, split_trace
from tlshelp import CERT_NAME, curl, curl_tls_args, describe, ehlo_keywords, run_tool, swaks
from tlshelp import strict_server, tls_factory, tls_server  # noqa: F401 (fixtures)

REMOTE = "friend@remote.example"
ALIASES = [("sales@localhost", USER),                     # reaches only user
           ("team@localhost", USER, BOB),                 # reaches user among others
           ("bobonly@localhost", BOB)]                    # does not reach user


@pytest.fixture
def sub_server(tls_factory):
    return tls_factory(aliases=ALIASES)


def authed(server, role="submissions", user=USER):
    return server.authed_submission(user=user, role=role)


def submit(c, mail_from, rcpts, msg):
    """MAIL, RCPT..., DATA on an authenticated client; returns the reply after DATA."""
    r = c.cmd(f"MAIL FROM:<{mail_from}>")
    assert r.code == 250, (mail_from, r)
    for rcpt in rcpts:
        r = c.cmd(f"RCPT TO:<{rcpt}>")
        assert r.code == 250, (rcpt, r)
    return c.send_message(msg)


def fields(stored):
    """{name_lower: [values]} of the header of a stored message."""
    out = {}
    for field, name, _ in header_fields(stored):
        value = field.split(b":", 1)[1].strip().decode("utf-8", "replace")
        out.setdefault(name.decode(), []).append(re.sub(r"\r\n[ \t]", " ", value))
    return out


def bare_message(subject, sender=USER, to=BOB, extra=()):
    """A message without Message-ID and Date."""
    head = [f"From: <{sender}>", f"To: <{to}>", f"Subject: {subject}", *extra]
    return ("\r\n".join(head) + "\r\n\r\nbody of " + subject + "\r\n").encode()


# ---- EHLO and AUTH per port


def test_submission_starttls_then_auth_offered(sub_server):
    s = sub_server
    with s.smtp_client("submission") as c:
        kw = ehlo_keywords(c.ehlo())
        assert "STARTTLS" in kw, kw
        assert "SCRAM-SHA-256-PLUS" not in kw.get("AUTH", []), f"-PLUS without TLS: {kw}"
        c.starttls()
        r = c.ehlo()
        kw = ehlo_keywords(r)
        assert "STARTTLS" not in kw, kw
        mechs = kw.get("AUTH")
        assert mechs is not None, f"no AUTH after STARTTLS on submission: {r}"
        for m in ("PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"):
            assert m in mechs, f"AUTH lacks {m}: {mechs}"
        assert c.cmd("STARTTLS").code == 503
        assert c.auth_plain(USER, s.accounts[USER]).code == 235


def test_submissions_offers_auth(sub_server):
    with sub_server.smtp_client("submissions") as c:
        assert c.greeting.code == 220
        kw = ehlo_keywords(c.ehlo())
        for m in ("PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS"):
            assert m in kw.get("AUTH", []), kw


@pytest.mark.parametrize("role", ["submission", "submissions"])
def test_mail_before_auth_is_530(sub_server, role):
    with sub_server.smtp_client(role) as c:
        c.ehlo()
        if role == "submission":
            c.starttls()
            c.ehlo()
        r = c.cmd(f"MAIL FROM:<{USER}>")
        assert r.code == 530 and r.enhanced == "5.7.0", r
        r = c.cmd(f"RCPT TO:<{USER}>")
        assert r.code in (503, 530), r
        assert c.cmd("DATA").code in (503, 530)
        # the session goes on: authenticate and submit
        assert c.auth_plain(USER, sub_server.accounts[USER]).code == 235
        assert c.cmd(f"MAIL FROM:<{USER}>").code == 250


def test_second_auth_is_503(sub_server):
    with authed(sub_server) as c:
        r = c.auth_plain(USER, sub_server.accounts[USER])
        assert r.code == 503, f"AUTH after a successful AUTH (RFC 4954 4): {r}"


def test_authzid_of_another_user_is_535(sub_server):
    s = sub_server
    with s.smtp_client("submissions") as c:
        c.ehlo()
        r = c.auth_plain(USER, s.accounts[USER], authzid=BOB)
        assert r.code == 535, r
        assert c.cmd(f"MAIL FROM:<{BOB}>").code == 530
        r = c.auth_plain(USER, s.accounts[USER], authzid=USER)  # the same identity is fine
        assert r.code == 235, r


# ---- the sender


def test_mail_from_must_be_own_or_alias(sub_server):
    with authed(sub_server) as c:
        for sender, ok in ((USER, True), ("user@LOCALHOST", True), ("sales@localhost", True),
                           ("team@localhost", True), (BOB, False), ("bobonly@localhost", False),
                           ("someone@example.org", False), ("nobody@localhost", False)):
            r = c.cmd(f"MAIL FROM:<{sender}>")
            if ok:
                assert r.code == 250, (sender, r)
                assert c.cmd("RSET").code == 250
            else:
                assert r.code == 553 and r.enhanced == "5.7.1", (sender, r)


def test_null_sender_refused(sub_server):
    with authed(sub_server) as c:
        r = c.cmd("MAIL FROM:<>")
        assert 500 <= r.code < 600, f"null sender on submission: {r}"
        assert c.cmd(f"RCPT TO:<{BOB}>").code == 503


def test_from_header_checked_at_end_of_data(sub_server):
    s = sub_server
    with authed(s) as c:
        forged = make_message("forged", b"pretending to be bob\r\n", sender=BOB, to=BOB)
        r = submit(c, USER, [BOB], forged)
        assert r.code == 553 and r.enhanced == "5.7.1", f"From: {BOB} accepted: {r}"
        # the session goes on; a display name and an alias of ours are fine
        named = make_message("named", b"named\r\n", sender=USER, to=BOB).replace(
            f"From: <{USER}>".encode(), f'From: "User, The" <{USER}>'.encode())
        assert submit(c, USER, [BOB], named).code == 250
        alias = make_message("alias", b"alias\r\n", sender="sales@localhost", to=BOB)
        assert submit(c, "sales@localhost", [BOB], alias).code == 250
        other = make_message("other", b"other\r\n", sender="bobonly@localhost", to=BOB)
        r = submit(c, USER, [BOB], other)
        assert r.code == 553 and r.enhanced == "5.7.1", r
    got = s.messages(BOB)
    subjects = sorted(re.search(rb"Subject: (\S+)", m).group(1) for m in got)
    assert subjects == [b"alias", b"named"], subjects


FROM_CASES = [
    # (From: field body, accepted?) - the address is parsed, not searched for as text
    ('"bob@localhost" <user@localhost>', True),
    ("user@localhost (a comment)", True),
    ("User <user@LOCALHOST>", True),
    ("=?utf-8?q?U=C3=BCser?= <user@localhost>", True),
    ('"user@localhost" <bob@localhost>', False),
    ("bob@localhost (user@localhost)", False),
    ("user@localhost, bob@localhost", False),
    ("Bob\r\n <bob@localhost>", False),
    ("<user@localhost>\r\nFrom: <bob@localhost>", False),  # two From: fields
]


def test_from_header_parsing(sub_server):
    s = sub_server
    wrong = []
    with authed(s) as c:
        for i, (frm, ok) in enumerate(FROM_CASES):
            msg = (f"From: {frm}\r\nTo: <{BOB}>\r\nSubject: from{i}\r\n\r\ncase {i}\r\n").encode()
            r = submit(c, USER, [BOB], msg)
            if (r.code == 250) != ok or (not ok and r.code not in (550, 553)):
                wrong.append((frm, ok, r))
        # BDAT (RFC 3030) gets the same check as DATA
        for frm, code in ((BOB, 553), (USER, 250)):
            msg = f"From: <{frm}>\r\nTo: <{BOB}>\r\nSubject: bdat\r\n\r\nchunked\r\n".encode()
            assert c.cmd(f"MAIL FROM:<{USER}>").code == 250
            assert c.cmd(f"RCPT TO:<{BOB}>").code == 250
            c.send(f"BDAT {len(msg)} LAST\r\n".encode() + msg)
            r = c.reply()
            if r.code != code:
                wrong.append((f"BDAT From: <{frm}>", code == 250, r))
    assert not wrong, "\n".join(f"From: {f!r}: want {'250' if ok else '553'}, got {r}"
                                for f, ok, r in wrong)
    n_ok = sum(ok for _, ok in FROM_CASES) + 1
    assert len(s.messages(BOB)) == n_ok


# ---- what submission adds, and where the mail goes


def test_adds_message_id_and_date_when_missing(sub_server):
    s = sub_server
    with authed(s) as c:
        assert submit(c, USER, [BOB], bare_message("bare")).code == 250
    (stored,) = s.messages(BOB)
    f = fields(stored)
    assert len(f.get("message-id", [])) == 1, f
    assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", f["message-id"][0]), f["message-id"]
    assert len(f.get("date", [])) == 1, f
    when = email.utils.parsedate_to_datetime(f["date"][0])
    assert abs(when.timestamp() - time.time()) < 300, f["date"]
    assert stored.endswith(b"\r\n\r\nbody of bare\r\n")


def test_keeps_message_id_and_date_when_present(sub_server):
    s = sub_server
    msg = make_message("complete", b"complete\r\n", sender=USER, to=BOB)
    with authed(s, role="submission") as c:
        assert submit(c, USER, [BOB], msg).code == 250
    (stored,) = s.messages(BOB)
    rp, _, rest = split_trace(stored)
    assert rp.split(b":", 1)[1].strip() == f"<{USER}>".encode(), rp
    assert rest == msg, "submission changed a message that had Message-ID and Date"


def test_local_mail_delivered_at_once(sub_server):
    s = sub_server
    with authed(s) as c:
        msg = make_message("at once", b"now\r\n", sender=USER, to=BOB)
        r = submit(c, USER, [BOB, USER], msg)
        assert r.code == 250, r
        # still connected: the mail is already in both mailboxes
        assert [m.endswith(msg) for m in s.messages(BOB)] == [True]
        assert [m.endswith(msg) for m in s.messages(USER)] == [True]


def queue_json(server):
    r = server.cli("queue", "list", "--json")
    assert r.returncode == 0, describe(r)
    data = json.loads(r.stdout)
    assert isinstance(data, list), data
    return data


def test_remote_recipient_is_queued(sub_server):
    s = sub_server
    with authed(s) as c:
        msg = make_message("outbound", b"to the world\r\n", sender=USER, to=REMOTE)
        r = submit(c, USER, [REMOTE], msg)
        assert r.code == 250, r
        qid = re.search(rb"queued as ([A-Za-z0-9._-]+)", b" ".join(r.lines))
        assert qid, f"250 does not name the queue id: {r}"
        qid = qid.group(1).decode()
    text = s.cli("queue", "list")
    assert text.returncode == 0, describe(text)
    assert qid in text.stdout and REMOTE in text.stdout, (
        f"queue list lacks {qid} / {REMOTE}:\n{text.stdout}\nlog:\n{s.log_tail()}")
    entries = [e for e in queue_json(s) if e.get("queue_id") == qid]
    assert len(entries) == 1, queue_json(s)
    e = entries[0]
    assert {"queue_id", "sender", "size", "arrival", "recipients"} <= set(e), e
    assert e["sender"] == USER, e
    assert isinstance(e["size"], int) and e["size"] >= len(msg), e
    rcpts = {r["address"]: r["state"] for r in e["recipients"]}
    assert REMOTE in rcpts and isinstance(rcpts[REMOTE], str) and rcpts[REMOTE], e
    assert s.messages(BOB) == []


def test_port25_never_relays_nor_offers_auth(sub_server):
    s = sub_server
    with s.smtp_client("smtp") as c:
        kw = ehlo_keywords(c.ehlo())
        assert "AUTH" not in kw, kw
        c.starttls()
        kw = ehlo_keywords(c.ehlo())
        assert "AUTH" not in kw, kw
        r = c.auth_plain(USER, s.accounts[USER])
        assert r.code in (502, 503), f"AUTH on the port 25 role: {r}"
        assert c.cmd(f"MAIL FROM:<{USER}>").code == 250
        r = c.cmd(f"RCPT TO:<{REMOTE}>")
        assert r.code == 554 and r.enhanced == "5.7.1", f"relay on port 25: {r}"
        assert c.cmd(f"RCPT TO:<{BOB}>").code == 250  # local mail is still fine
    r = s.cli("queue", "list", "--json")
    assert r.returncode == 0, describe(r)
    assert REMOTE not in r.stdout, r.stdout


# ---- real clients


def tls_line(output):
    """(version, cipher) from swaks' '=== TLS started with cipher VERSION:CIPHER:BITS'."""
    m = re.search(r"TLS started with cipher (TLSv[\d.]+):([A-Za-z0-9_-]+)", output)
    assert m, output
    return m.group(1), m.group(2)


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_swaks_starttls_auth(strict_server, mech):
    s = strict_server  # plaintext_auth_loopback = no: AUTH only works inside TLS
    text = f"swaks-{mech}-b41e"
    r = swaks(s, "submission", "-tls", "--tls-verify", "--tls-ca-path", str(s.cert_path),
              "--auth", mech, "--auth-user", USER, "--auth-password", s.accounts[USER],
              "--from", USER, "--to", BOB, "--body", text)
    assert r.returncode == 0, describe(r)
    assert re.search(r"<[-~]\s+235", r.stdout), r.stdout
    version, cipher = tls_line(r.stdout)
    (stored,) = s.messages(BOB)
    assert text.encode() in stored
    _, rcvd, _ = split_trace(stored)
    rcvd = re.sub(rb"\r\n[ \t]", b" ", rcvd).decode()
    assert version in rcvd and cipher in rcvd, rcvd


def test_swaks_implicit_tls(strict_server):
    s = strict_server
    r = swaks(s, "submissions", "-tlsc", "--tls-verify", "--tls-ca-path", str(s.cert_path),
              "--auth", "PLAIN", "--auth-user", USER, "--auth-password", s.accounts[USER],
              "--from", USER, "--to", BOB, "--body", "implicit-3c")
    assert r.returncode == 0, describe(r)
    assert b"implicit-3c" in s.messages(BOB)[0]
    # a wrong password is refused with 535 and swaks says so
    r = swaks(s, "submissions", "-tlsc", "--auth", "PLAIN", "--auth-user", USER,
              "--auth-password", "wrong", "--from", USER, "--to", BOB)
    assert r.returncode != 0 and re.search(r"<(\*\*|~\*)\s+535", r.stdout), describe(r)


def curl_upload(s, url, port, msg_path, password):
    return curl(url, "--ssl-reqd", "-u", f"{USER}:{password}", "--mail-from", USER,
                "--mail-rcpt", BOB, "-T", str(msg_path), *curl_tls_args(s, port))


def test_curl_smtp_starttls_and_smtps(strict_server):
    s = strict_server
    pw = s.accounts[USER]
    for scheme, port, tag in (("smtp", s.submission_port, "starttls-d1"),
                              ("smtps", s.submissions_port, "implicit-d2")):
        path = s.dir / f"{tag}.eml"
        msg = make_message(tag, f"curl {tag}\r\n".encode(), sender=USER, to=BOB)
        path.write_bytes(msg)
        r = curl_upload(s, f"{scheme}://{CERT_NAME}:{port}/client.example", port, path, pw)
        assert r.returncode == 0, describe(r)
    got = s.messages(BOB)
    assert len(got) == 2, got
    assert b"curl starttls-d1" in got[0] and b"curl implicit-d2" in got[1]
    # wrong password: curl fails with its login-denied exit code (67)
    path = s.dir / "starttls-d1.eml"
    r = curl_upload(s, f"smtp://{CERT_NAME}:{s.submission_port}/x", s.submission_port, path,
                    "wrong")
    assert r.returncode == 67, describe(r)


def msmtp_config(s, name, port, starttls):
    path = s.dir / f"msmtprc-{name}"
    path.write_text("\n".join([
        "defaults",
        f"account {name}",
        "host 127.0.0.1",
        f"port {port}",
        "tls on",
        f"tls_starttls {'on' if starttls else 'off'}",
        f"tls_trust_file {s.cert_path}",
        f"tls_host_override {CERT_NAME}",
        "auth scram-sha-256",
        f"user {USER}",
        f"password {s.accounts[USER]}",
        f"from {USER}",
        f"timeout {int(30)}",
        "",
    ]))
    os.chmod(path, 0o600)
    return path


def test_msmtp_scram_sha_256(strict_server):
    s = strict_server
    exe = require_tool("msmtp")
    for name, port, starttls in (("starttls", s.submission_port, True),
                                 ("implicit", s.submissions_port, False)):
        conf = msmtp_config(s, name, port, starttls)
        msg = make_message(f"msmtp {name}", f"msmtp-{name}-77\r\n".encode(), sender=USER,
                           to=BOB)
        r = run_tool([exe, "--debug", "-C", str(conf), "-a", name, BOB],
                     input=msg.replace(CRLF, b"\n").decode())
        assert r.returncode == 0, describe(r)
        out = r.stdout + r.stderr
        assert re.search(r"AUTH SCRAM-SHA-256(?!-)", out), out
        if starttls:
            assert "STARTTLS" in out, out
    got = s.messages(BOB)
    assert len(got) == 2
    assert b"msmtp-starttls-77" in got[0] and b"msmtp-implicit-77" in got[1]
    # msmtp turns LF into CRLF itself; the header block must have come through intact
    assert all(CRLF + CRLF in m for m in got)
