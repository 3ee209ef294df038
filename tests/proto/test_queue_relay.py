"""
Relay hosts (serve-queue.c, serve-queue-conn.c): SMTP AUTH (RFC 4954) with the credentials of
relayhost_auth_file at relay hosts only (relayhost and transport_map relays, never MX hosts),
after STARTTLS; a refused login defers (4.7.8, like Postfix's smtp_sasl_auth_soft_bounce); a
credentials file that others may read is refused; transport_map sends a domain to its own
relay; and `posthorn queue bounce` from another process takes effect within a scan interval.

Uses CountingSmtp and ScriptedSmtp of queuehelp.py (CountingSmtp can do STARTTLS with the
server's own test certificate and AUTH PLAIN). Every wait is bounded.
"""

import os
import time

from conftest import USER, make_message
from tlshelp import tls_factory  # noqa: F401 (fixture)
from queuehelp import (CountingSmtp, ScriptedSmtp, dns_fixture, dsns, log_lines,
                       outbound_conf, queue_ids, server_context, sink_fixture, submit,
                       wait_for)

RELAY_USER = "relayuser@example.net"
RELAY_PASSWORD = "pa55 with spaces"

dns = dns_fixture()
relay_a = sink_fixture(CountingSmtp)
relay_b = sink_fixture(CountingSmtp)


def base_conf(dns, port, **extra):
    return outbound_conf(dns, port, relayhost_auth_file="relay-auth", **extra)


def make_server(tls_factory, conf, mode=0o600, content=None):
    """A server whose config directory holds relay-auth (owned like the directory)."""
    s = tls_factory(conf=conf, start=False)
    path = s.dir / "relay-auth"
    path.write_text(content if content is not None else f"{RELAY_USER} {RELAY_PASSWORD}\n")
    st = os.stat(s.dir)
    os.chown(path, st.st_uid, st.st_gid)
    os.chmod(path, mode)
    s.start()
    return s


def server_tls(s):
    return server_context(s.cert_path, s.key_path)


def test_relay_auth_plain_after_starttls(tls_factory, dns, relay_a):
    """relayhost with credentials: STARTTLS first, then AUTH PLAIN with the file's user and
    password (the password may hold spaces); both messages go over the one authenticated
    connection; the password is never logged."""
    s = make_server(tls_factory, base_conf(dns, 1, relayhost=f"[127.0.0.2]:{relay_a.port}",
                                           queue_connection_cache_time="10s"))
    relay_a.tls_context = server_tls(s)
    relay_a.auth = (RELAY_USER, RELAY_PASSWORD)
    for i in range(2):
        rcpt = f"r{i}@far.test"
        submit(s, [rcpt], make_message("relay", b"via relay\r\n", sender=USER, to=rcpt))
        wait_for(lambda: relay_a.received(rcpt), f"relay of {rcpt}", s)
    assert relay_a.auth_seen == [(1, True, True)], relay_a.auth_seen
    assert relay_a.connections == 1
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    assert RELAY_PASSWORD not in s.log_text()
    s.assert_healthy()


def test_relay_auth_plain_text_on_loopback(tls_factory, dns, relay_a):
    """A relay on this machine without STARTTLS: the credentials may go in plain text there
    (loopback only), and the mail is relayed."""
    s = make_server(tls_factory, base_conf(dns, 1, relayhost=f"[127.0.0.2]:{relay_a.port}"))
    relay_a.auth = (RELAY_USER, RELAY_PASSWORD)
    submit(s, ["lo@far.test"], make_message("lo", b"l\r\n", sender=USER, to="lo@far.test"))
    wait_for(lambda: relay_a.received("lo@far.test"), "the relay", s)
    assert relay_a.auth_seen == [(1, False, True)], relay_a.auth_seen


def test_relay_auth_failure_defers(tls_factory, dns, relay_a):
    """The relay refuses the login (535 5.7.8): the recipient is deferred with 4.7.8, not
    bounced; no DSN; the entry stays queued."""
    s = make_server(tls_factory, base_conf(dns, 1, relayhost=f"[127.0.0.2]:{relay_a.port}"))
    relay_a.tls_context = server_tls(s)
    relay_a.auth_reply = b"535 5.7.8 authentication credentials invalid\r\n"
    submit(s, ["x@far.test"], make_message("bad login", b"b\r\n", sender=USER, to="x@far.test"))
    wait_for(lambda: [ln for ln in log_lines(s, "to=<x@far.test>") if "status=deferred" in ln],
             "the deferral", s)
    line = [ln for ln in log_lines(s, "to=<x@far.test>") if "status=deferred" in ln][0]
    assert "dsn=4.7.8" in line and "535" in line and "AUTH" in line, line
    assert log_lines(s, "status=bounced") == []
    assert relay_a.messages == []
    assert len(queue_ids(s)) == 1
    assert dsns(s) == []


def test_transport_map_and_mx(tls_factory, dns, relay_a, relay_b):
    """transport_map sends a.test to relay A (with AUTH); remote.test goes by MX to B, where
    no AUTH is tried although credentials are configured (B offers AUTH, and fails it)."""
    conf = base_conf(dns, relay_b.port, transport_map=f"a.test=[127.0.0.2]:{relay_a.port}")
    s = make_server(tls_factory, conf)
    relay_a.tls_context = server_tls(s)
    relay_a.auth = (RELAY_USER, RELAY_PASSWORD)
    relay_b.auth_reply = b"535 5.7.8 no logins here\r\n"
    submit(s, ["one@a.test", "two@remote.test"],
           make_message("split", b"two ways\r\n", sender=USER, to="one@a.test"))
    wait_for(lambda: relay_a.received("one@a.test"), "the relay of a.test", s)
    wait_for(lambda: relay_b.received("two@remote.test"), "the MX delivery", s)
    assert [m[1] for m in relay_a.messages] == [["one@a.test"]]
    assert [m[1] for m in relay_b.messages] == [["two@remote.test"]]
    assert relay_a.auth_seen == [(1, True, True)]
    assert relay_b.auth_seen == []
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)


def test_transport_map_beats_relayhost(tls_factory, dns, relay_a, relay_b):
    """relayhost B for everything, transport_map .sub.test (subdomains) to A: x.sub.test goes
    to A, other.test to B."""
    conf = base_conf(dns, 1, relayhost=f"[127.0.0.2]:{relay_b.port}",
                     transport_map=("nothing.test=[127.0.0.2]:1, "
                                    f".sub.test=[127.0.0.2]:{relay_a.port}"))
    s = make_server(tls_factory, conf)
    for r in (relay_a, relay_b):
        r.tls_context = server_tls(s)
        r.auth = (RELAY_USER, RELAY_PASSWORD)
    submit(s, ["p@x.sub.test", "q@other.test"],
           make_message("map", b"m\r\n", sender=USER, to="p@x.sub.test"))
    wait_for(lambda: relay_a.received("p@x.sub.test"), "the relay to A", s)
    wait_for(lambda: relay_b.received("q@other.test"), "the relay to B", s)
    assert [m[1] for m in relay_a.messages] == [["p@x.sub.test"]]
    assert [m[1] for m in relay_b.messages] == [["q@other.test"]]
    assert relay_b.auth_seen and relay_b.auth_seen[0][2]


def test_auth_file_readable_by_others_refused(tls_factory, dns, relay_a):
    """A credentials file with mode 0644 is refused with a logged error; nothing is sent to
    the relay with or without AUTH; the rest of the server runs."""
    s = make_server(tls_factory, base_conf(dns, 1, relayhost=f"[127.0.0.2]:{relay_a.port}"),
                    mode=0o644)
    wait_for(lambda: log_lines(s, "relayhost_auth_file") and
             log_lines(s, "readable by group or others"), "the refusal in the log", s, 10)
    submit(s, ["z@far.test"], make_message("no", b"n\r\n", sender=USER, to="z@far.test"))
    time.sleep(2)
    assert relay_a.connections == 0
    assert len(queue_ids(s)) == 1
    s.assert_healthy()


def test_config_check_reports_bad_transport_map(tls_factory, dns):
    """`posthorn config check` reports a malformed transport_map."""
    s = tls_factory(start=False)
    assert s.cli("config", "check").returncode == 0
    s.set_conf(transport_map="a.test=[300.1.1.1]")
    r = s.cli("config", "check")
    assert r.returncode != 0
    assert "transport_map" in (r.stdout + r.stderr), r


def test_cli_bounce_taken_up_within_a_scan(tls_factory, dns):
    """`posthorn queue bounce` in another process: the scheduler finishes the entry (DSN,
    removal) within a few seconds, long before its periodic sweep (10 scan intervals = 30 s)."""
    with ScriptedSmtp() as remote:
        s = tls_factory(conf=outbound_conf(dns, remote.port, queue_retry_min="1h",
                                           queue_retry_max="2h", queue_scan_interval="3s"))
        submit(s, ["tmp9@remote.test"], make_message("bounce me", b"b\r\n", sender=USER,
                                                     to="tmp9@remote.test"))
        wait_for(lambda: [ln for ln in log_lines(s, "to=<tmp9@remote.test>")
                          if "status=deferred" in ln], "a deferral", s)
        ids = queue_ids(s)
        assert len(ids) == 1
        time.sleep(3.5)  # past the start-up sweep and a scan or so
        t0 = time.monotonic()
        r = s.cli("queue", "bounce", ids[0])
        assert r.returncode == 0, r.stderr
        wait_for(lambda: queue_ids(s) == [], "the entry to be finished", s, 10)
        assert time.monotonic() - t0 < 8
        wait_for(lambda: dsns(s), "the DSN", s)
