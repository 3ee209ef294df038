"""
SASL authentication for SMTP submission (RFC 4954) and POP3 (RFC 5034): PLAIN (RFC 4616), LOGIN,
SCRAM-SHA-256 (RFC 5802, 7677) and SCRAM-SHA-256-PLUS with the tls-exporter channel binding
(RFC 9266; computed with pyOpenSSL's exporter) and tls-server-end-point (RFC 5929). No password
mechanism before TLS when plaintext_auth_loopback = no; failed logins look alike for unknown users
and wrong passwords (reply and time), and slow down per client address.
"""

import os
import shutil
import statistics
import time

import pytest

from conftest import BOB, USER, b64, make_data_base
from tlshelp import (OsslSocket, Scram, ScramError, TlsPool, ehlo_keywords, ossl_wrapper,
                     tls_server_end_point)
from tlshelp import strict_server, tls_factory, tls_server  # noqa: F401 (fixtures)

ALL_MECHS = ("PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS")
PASSWORD_MECHS = ("PLAIN", "LOGIN")  # reveal the password: only inside TLS (strict)


@pytest.fixture(scope="module")
def shared():
    """One server for the read-only mechanism tests of this module (each test uses fresh
    connections; auth_failure_delay = 0, plaintext_auth_loopback at its default)."""
    base = make_data_base("auth-shared")
    pool = TlsPool(base)
    try:
        yield pool.make()
    finally:
        pool.close()
        shutil.rmtree(base, ignore_errors=True)


# ---- the SCRAM client itself


def test_scram_client_matches_rfc7677_example():
    # RFC 7677 3: user "user", password "pencil"; checks this module's client, not the server
    sc = Scram("user", "pencil", nonce="rOprNGfwEbeRWgbNEkqO")
    assert sc.client_first() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    final = sc.client_final(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                            b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    assert final == (b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                     b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
    assert sc.check_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    with pytest.raises(ScramError):
        Scram("user", "pencil", nonce="abc").client_final(b"r=xyz,s=AAAA,i=4096")


# ---- running one mechanism


def binding(c, cb_type):
    """Channel-binding data of client c's TLS connection."""
    if cb_type == "tls-exporter":
        assert isinstance(c.sock, OsslSocket), "tls-exporter needs the pyOpenSSL client"
        assert c.sock.version() == "TLSv1.3", c.sock.version()
        return c.sock.exporter()
    if cb_type == "tls-server-end-point":
        der = (c.sock.peer_cert_der() if isinstance(c.sock, OsslSocket)
               else c.sock.getpeercert(binary_form=True))
        return tls_server_end_point(der)
    raise AssertionError(cb_type)


def run_mech(c, mech, user, password, smtp):
    """Authenticates on client c (TlsSmtp or TlsPop3) with one mechanism variant; returns the
    final reply and, for SCRAM, the Scram object."""
    sc = None
    if mech == "PLAIN":
        r = c.auth_plain(user, password)
    elif mech == "PLAIN-challenge":  # no initial response: empty challenge first
        r = c.cmd("AUTH PLAIN")
        empty = r.code == 334 and r.lines[0].strip() == b"" if smtp else r.strip() == b"+"
        assert empty, f"AUTH PLAIN without initial response: {r!r}"
        r = c.cmd(b64(f"\0{user}\0{password}"))
    elif mech == "LOGIN":
        r = c.auth_login(user, password)
    elif mech == "LOGIN-initial" and smtp:
        r = c.auth_login(user, password, initial=True)
    elif mech == "SCRAM-SHA-256":
        sc = Scram(user, password)
        r = c.auth_scram(sc)
    elif mech == "SCRAM-SHA-256-no-initial":
        sc = Scram(user, password)
        r = c.auth_scram(sc, initial=False)
    elif mech.startswith("SCRAM-SHA-256-PLUS/"):
        cb_type = mech.split("/", 1)[1]
        sc = Scram(user, password, cb_type=cb_type, cb_data=binding(c, cb_type))
        r = c.auth_scram(sc)
    else:
        raise AssertionError(mech)
    return r, sc


def smtp_ok(r):
    return r.code == 235


def pop3_ok(r):
    return r.startswith(b"+OK")


def open_smtp(s, role, ossl):
    wrap = ossl_wrapper(s.cert_path) if ossl else None
    c = s.smtp_client(role, wrap=wrap)
    assert c.ehlo().code == 250
    if role == "submission":
        c.starttls()
        assert c.ehlo().code == 250
    return c


def open_pop3(s, role, ossl):
    wrap = ossl_wrapper(s.cert_path) if ossl else None
    p = s.pop3_client(role, wrap=wrap)
    if role == "pop3":
        p.stls()
    return p


SMTP_MECHS = ["PLAIN", "PLAIN-challenge", "LOGIN", "LOGIN-initial", "SCRAM-SHA-256",
              "SCRAM-SHA-256-no-initial", "SCRAM-SHA-256-PLUS/tls-exporter",
              "SCRAM-SHA-256-PLUS/tls-server-end-point"]
POP3_MECHS = ["PLAIN", "PLAIN-challenge", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-256-no-initial",
              "SCRAM-SHA-256-PLUS/tls-exporter", "SCRAM-SHA-256-PLUS/tls-server-end-point"]


@pytest.mark.parametrize("role", ["submission", "submissions"])
@pytest.mark.parametrize("mech", SMTP_MECHS)
def test_smtp_auth_mechanism(shared, mech, role):
    s = shared
    with open_smtp(s, role, ossl="tls-exporter" in mech) as c:
        r, sc = run_mech(c, mech, USER, s.accounts[USER], smtp=True)
        assert r.code == 235 and r.enhanced == "2.7.0", f"{mech}: {r}"
        if sc is not None:
            assert sc.verified, "server signature not checked"
        assert c.cmd(f"MAIL FROM:<{USER}>").code == 250, "not authenticated after 235"


@pytest.mark.parametrize("role", ["pop3", "pop3s"])
@pytest.mark.parametrize("mech", POP3_MECHS)
def test_pop3_auth_mechanism(shared, mech, role):
    s = shared
    with open_pop3(s, role, ossl="tls-exporter" in mech) as p:
        r, sc = run_mech(p, mech, USER, s.accounts[USER], smtp=False)
        assert r.startswith(b"+OK"), f"{mech}: {r!r}"
        if sc is not None:
            assert sc.verified, "server signature not checked"
        assert p.stat()[0] >= 0
        p.quit()


def test_plus_advertised_only_inside_tls(shared):
    s = shared
    with s.smtp_client("submission") as c:
        kw = ehlo_keywords(c.ehlo())
        assert "SCRAM-SHA-256-PLUS" not in kw.get("AUTH", []), kw
        r = c.auth_scram(Scram(USER, s.accounts[USER], cb_type="tls-exporter",
                               cb_data=b"\0" * 32))
        assert 500 <= r.code < 600, f"-PLUS without TLS: {r}"
    with s.pop3_client("pop3") as p:
        assert "SCRAM-SHA-256-PLUS" not in p.capa().get("SASL", [])
        p.stls()
        assert "SCRAM-SHA-256-PLUS" in p.capa().get("SASL", [])


# ---- SCRAM refusals


def scram_case(c, case, pw):
    """A SCRAM exchange that must fail; returns its final reply."""
    if case == "wrong-password":
        return c.auth_scram(Scram(USER, pw + "x"))
    if case == "wrong-binding-data":
        return c.auth_scram(Scram(USER, pw, cb_type="tls-exporter", cb_data=os.urandom(32)))
    if case == "tls-unique":  # a binding type the server does not support
        return c.auth_scram(Scram(USER, pw, cb_type="tls-unique", cb_data=os.urandom(12)))
    if case == "y-flag-but-server-has-plus":  # RFC 5802 6: a downgrade; must fail
        return c.auth_scram(Scram(USER, pw, gs2_flag="y"))
    if case == "p-flag-on-plain-scram":
        sc = Scram(USER, pw, cb_type="tls-exporter", cb_data=c.sock.exporter())
        return c.auth_scram(sc, mech="SCRAM-SHA-256")
    if case == "n-flag-on-plus":
        return c.auth_scram(Scram(USER, pw), mech="SCRAM-SHA-256-PLUS")
    if case == "wrong-nonce":
        return c.auth_scram(Scram(USER, pw, wrong_nonce=True))
    if case == "wrong-proof":
        return c.auth_scram(Scram(USER, pw, wrong_proof=True))
    if case == "authzid-of-other-user":
        return c.auth_scram(Scram(USER, pw, authzid=BOB))
    raise AssertionError(case)


SCRAM_FAILURES = ["wrong-password", "wrong-binding-data", "tls-unique",
                  "y-flag-but-server-has-plus", "p-flag-on-plain-scram", "n-flag-on-plus",
                  "wrong-nonce", "wrong-proof", "authzid-of-other-user"]


@pytest.mark.parametrize("case", SCRAM_FAILURES)
def test_smtp_scram_refused(shared, case):
    s = shared
    with open_smtp(s, "submissions", ossl=True) as c:
        r = scram_case(c, case, s.accounts[USER])
        assert r.code in (535, 501), f"{case}: {r}"
        assert c.cmd(f"MAIL FROM:<{USER}>").code == 530, "authenticated after a refusal"
        # the session can still authenticate properly
        assert c.auth_plain(USER, s.accounts[USER]).code == 235


@pytest.mark.parametrize("case", ["wrong-password", "wrong-binding-data",
                                  "y-flag-but-server-has-plus", "wrong-proof"])
def test_pop3_scram_refused(shared, case):
    s = shared
    with open_pop3(s, "pop3s", ossl=True) as p:
        r = scram_case(p, case, s.accounts[USER])
        assert r.startswith(b"-ERR"), f"{case}: {r!r}"
        assert p.cmd("STAT").startswith(b"-ERR"), "logged in after a refusal"
        assert p.auth_plain(USER, s.accounts[USER]).startswith(b"+OK")


def test_scram_y_flag_without_tls_is_fine(shared):
    # "y": the client could bind but thinks the server cannot; true without TLS (loopback
    # plain text allowed by default), so SCRAM-SHA-256 succeeds
    s = shared
    with s.smtp_client("submission") as c:
        kw = ehlo_keywords(c.ehlo())
        assert "SCRAM-SHA-256" in kw.get("AUTH", []), kw
        sc = Scram(USER, s.accounts[USER], gs2_flag="y")
        r = c.auth_scram(sc)
        assert r.code == 235 and sc.verified, r


def test_scram_unknown_user_looks_like_wrong_password(shared):
    s = shared
    seen = {}
    for who in (USER, "nobody-here@localhost", USER, "nobody-here@localhost"):
        with open_smtp(s, "submissions", ossl=False) as c:
            sc = Scram(who, "not-the-password")
            r = c.auth_scram(sc)
            assert sc.salt is not None, f"{who}: no server-first message: {r}"
            seen.setdefault(who, []).append((sc.salt, sc.iterations, r.code, r.text))
    real, fake = seen[USER], seen["nobody-here@localhost"]
    assert real[0] == real[1] and fake[0] == fake[1], (
        f"salt or reply changes between attempts (real {real}, unknown {fake}): an unknown "
        "user must get a stable fake salt")
    assert len(real[0][0]) == len(fake[0][0]) and real[0][1] == fake[0][1], (real, fake)
    assert (real[0][2], real[0][3]) == (fake[0][2], fake[0][3]), (real, fake)
    assert real[0][2] == 535


# ---- no password before TLS (plaintext_auth_loopback = no)


def test_smtp_no_auth_before_starttls(strict_server):
    s = strict_server
    with s.smtp_client("submission") as c:
        kw = ehlo_keywords(c.ehlo())
        assert "STARTTLS" in kw and "AUTH" not in kw, kw
        for mech in ALL_MECHS:
            r = c.cmd(f"AUTH {mech} " + b64(f"\0{USER}\0{s.accounts[USER]}"))
            assert r.code == 530 and (r.enhanced or "").startswith("5.7"), (mech, r)
        assert c.cmd(f"MAIL FROM:<{USER}>").code == 530
        c.starttls()
        kw = ehlo_keywords(c.ehlo())
        for m in ALL_MECHS:
            assert m in kw.get("AUTH", []), kw
        assert c.auth_login(USER, s.accounts[USER]).code == 235


def test_pop3_no_password_before_stls(strict_server):
    s = strict_server
    pw = s.accounts[USER]
    with s.pop3_client("pop3") as p:
        caps = p.capa()
        assert "STLS" in caps, caps
        assert "USER" not in caps, f"USER offered before STLS: {caps}"
        for m in PASSWORD_MECHS:
            assert m not in caps.get("SASL", []), f"SASL {m} offered before STLS: {caps}"
        assert p.cmd(f"USER {USER}").startswith(b"-ERR")
        assert p.cmd(f"PASS {pw}").startswith(b"-ERR")
        assert p.cmd("AUTH PLAIN " + b64(f"\0{USER}\0{pw}")).startswith(b"-ERR")
        assert p.cmd("STAT").startswith(b"-ERR")
        p.stls()
        caps = p.capa()
        assert "USER" in caps, caps
        for m in ALL_MECHS:
            assert m in caps.get("SASL", []), caps
        p.login(USER, pw)
        assert p.stat() == (0, 0)
        p.quit()
    with s.pop3_client("pop3s") as p:
        assert "USER" in p.capa()
        assert p.auth_login(USER, pw).startswith(b"+OK")
        p.quit()


def test_plaintext_allowed_on_loopback_by_default(shared):
    s = shared
    with s.smtp_client("submission") as c:
        kw = ehlo_keywords(c.ehlo())
        assert "PLAIN" in kw.get("AUTH", []), kw
        assert c.auth_plain(USER, s.accounts[USER]).code == 235
    with s.pop3_client("pop3") as p:
        p.login(USER, s.accounts[USER])
        p.quit()


# ---- protocol details


def test_auth_cancel_and_bad_input(shared):
    s = shared
    with open_smtp(s, "submissions", ossl=False) as c:
        assert c.cmd("AUTH LOGIN").code == 334
        r = c.cmd("*")
        assert r.code == 501, f"cancelled AUTH (RFC 4954 4): {r}"
        r = c.cmd("AUTH X-NO-SUCH-MECH")
        assert r.code == 504, r
        r = c.cmd("AUTH PLAIN !!not*base64!!")
        assert r.code == 501, r
        assert c.cmd(f"MAIL FROM:<{USER}>").code == 530
        assert c.auth_plain(USER, s.accounts[USER]).code == 235
    with open_pop3(s, "pop3s", ossl=False) as p:
        assert p.cmd("AUTH LOGIN").startswith(b"+")
        assert p.cmd("*").startswith(b"-ERR")
        assert p.cmd("AUTH X-NO-SUCH-MECH").startswith(b"-ERR")
        assert p.cmd("AUTH PLAIN !!not*base64!!").startswith(b"-ERR")
        assert p.auth_plain(USER, s.accounts[USER]).startswith(b"+OK")
        p.quit()


def test_passwords_never_logged(tls_server):
    s = tls_server
    pw = s.accounts[USER]
    wrong = "Wr0ng-Guess-5eb1"
    with open_smtp(s, "submissions", ossl=False) as c:
        assert c.auth_plain(USER, wrong).code == 535
        assert c.auth_plain(USER, pw).code == 235
    with open_smtp(s, "submission", ossl=False) as c:
        assert c.auth_login(USER, pw).code == 235
    with open_pop3(s, "pop3s", ossl=False) as p:
        assert p.cmd(f"USER {USER}").startswith(b"+OK")
        assert p.cmd(f"PASS {wrong}").startswith(b"-ERR")
        p.login(USER, pw)
        p.quit()
    log = s.log_text()
    for secret in (pw, wrong, b64(f"\0{USER}\0{pw}"), b64(f"\0{USER}\0{wrong}"), b64(pw)):
        assert secret not in log, f"log reveals {secret!r}"


# ---- failed logins: indistinguishable and slowed down


def timed_smtp_auth(s, user, password, source=None):
    """(seconds for the AUTH command's reply, reply) on a fresh submissions connection."""
    with s.smtp_client("submissions", source=source) as c:
        assert c.ehlo().code == 250
        t0 = time.monotonic()
        r = c.auth_plain(user, password)
        return time.monotonic() - t0, r


def trimmed_mean(values):
    """Mean without the single largest and smallest value: one scheduling hiccup on a loaded
    machine must not decide the comparison."""
    return statistics.mean(sorted(values)[1:-1])


def measure_failures(s, rounds=8):
    """Interleaved failed AUTH PLAIN attempts: (unknown-user results, wrong-password results),
    each a list of (seconds, code, text)."""
    unknown, wrong = [], []
    for i in range(rounds):
        order = [("unknown", "nobody-here@localhost"), ("wrong", USER)]
        if i % 2:
            order.reverse()
        for kind, who in order:
            t, r = timed_smtp_auth(s, who, "not-the-password")
            (unknown if kind == "unknown" else wrong).append((t, r.code, r.text))
    return unknown, wrong


def test_unknown_user_and_wrong_password_alike(tls_server):
    s = tls_server  # auth_failure_delay = 0: only the server's own work is measured
    timed_smtp_auth(s, "nobody-here@localhost", "x")  # warm up both paths
    timed_smtp_auth(s, USER, "x")
    report = []
    # A real difference (a password hash skipped for unknown users) shows in every round;
    # noise of a loaded machine rarely twice in a row: a second round only after a miss.
    for _ in range(2):
        unknown, wrong = measure_failures(s)
        replies = {(code, text) for _, code, text in unknown + wrong}
        assert len(replies) == 1, f"replies differ: {replies}"
        assert next(iter(replies))[0] == 535
        mu = trimmed_mean([t for t, _, _ in unknown])
        mw = trimmed_mean([t for t, _, _ in wrong])
        report.append(f"unknown user {mu * 1000:.1f} ms "
                      f"{[round(t * 1000, 1) for t, _, _ in unknown]} vs wrong password "
                      f"{mw * 1000:.1f} ms {[round(t * 1000, 1) for t, _, _ in wrong]}")
        if abs(mu - mw) <= 0.2 * max(mu, mw):
            break
    else:
        raise AssertionError("mean reply times more than 20 % apart in both rounds:\n" +
                             "\n".join(report))
    # POP3 says the same for both, too
    lines = set()
    for who in ("nobody-here@localhost", USER):
        with open_pop3(s, "pop3s", ossl=False) as p:
            lines.add(p.auth_plain(who, "not-the-password"))
    assert len(lines) == 1 and next(iter(lines)).startswith(b"-ERR"), lines


@pytest.mark.timeout(90)
def test_failure_delay_grows_per_client_address(tls_factory):
    s = tls_factory(conf={"auth_failure_delay": "1s", "auth_failure_delay_max": "15s"})
    pw = s.accounts[USER]
    times = []
    for _ in range(3):
        t, r = timed_smtp_auth(s, USER, "wrong-guess", source="127.0.0.1")
        assert r.code == 535, r
        times.append(t)
    t1, t2, t3 = times
    assert t1 >= 0.8, f"first failure answered after {t1:.2f} s, want about 1 s"
    assert t2 >= t1 + 0.5 and t3 >= t1 + 1.5, f"delays do not grow: {times}"
    # another address is not slowed down by 127.0.0.1's failures
    t, r = timed_smtp_auth(s, USER, pw, source="127.0.0.2")
    assert r.code == 235, r
    assert t < 0.8, f"the real user from 127.0.0.2 waited {t:.2f} s"
    # and neither is that address's own first failure beyond the base delay
    t, r = timed_smtp_auth(s, USER, "wrong-guess", source="127.0.0.2")
    assert r.code == 535 and 0.8 <= t < t3 - 1.0, (t, times)
    # a success from 127.0.0.1 clears its record: the next failure is back to the base delay
    t, r = timed_smtp_auth(s, USER, pw, source="127.0.0.1")
    assert r.code == 235, r
    t, r = timed_smtp_auth(s, USER, "wrong-guess", source="127.0.0.1")
    assert r.code == 535 and t < t2 - 0.3, (t, times)


@pytest.mark.timeout(60)
def test_scram_failures_are_delayed_too(tls_factory):
    # A failed SCRAM exchange is a failed login like any other: without the delay, SCRAM
    # would be the way around auth_failure_delay for a password guesser.
    s = tls_factory(conf={"auth_failure_delay": "1s"})
    with s.smtp_client("submissions", source="127.0.0.1") as c:
        assert c.ehlo().code == 250
        t0 = time.monotonic()
        r = c.auth_scram(Scram(USER, "wrong-guess"))
        t_smtp = time.monotonic() - t0
        assert r.code == 535, r
    with s.pop3_client("pop3s", source="127.0.0.2") as p:
        t0 = time.monotonic()
        r = p.auth_scram(Scram(USER, "wrong-guess"))
        t_pop3 = time.monotonic() - t0
        assert r.startswith(b"-ERR"), r
    assert t_smtp >= 0.8 and t_pop3 >= 0.8, (
        f"failed SCRAM answered after {t_smtp:.3f} s (SMTP) and {t_pop3:.3f} s (POP3) with "
        "auth_failure_delay = 1s")
