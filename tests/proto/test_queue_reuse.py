"""
Outbound connection reuse and per-destination concurrency (serve-queue-conn.c): after a
message the scheduler keeps the connection to the next hop idle for
queue_connection_cache_time and sends the next message for the same host over it (RSET when
needed, no new EHLO); at most queue_destination_concurrency connections go to one host at once,
the other deliveries wait; a cached connection that the server closed, or that fails on reuse
before the transaction, costs nothing: the message goes over a fresh connection, exactly once.

CountingSmtp of queuehelp.py (also used by test_queue_relay.py) is a scripted SMTP server on
127.0.0.2 that counts connections, EHLOs, AUTH and the most sessions open at once. Every wait is
bounded.
"""

import time

from conftest import USER, make_message
from tlshelp import tls_factory  # noqa: F401 (fixture)
from queuehelp import (CountingSmtp, dns_fixture, log_lines, outbound_conf, outcomes,
                       queue_ids, sink_fixture, submit, submit_each, wait_for)

counting = sink_fixture(CountingSmtp)
dns = dns_fixture()


def test_sequential_messages_share_one_connection(tls_factory, counting, dns):
    """Messages sent one after another, each within the cache time of the last, go over the
    first connection: one TCP connection, one EHLO, every message once."""
    s = tls_factory(conf=outbound_conf(dns, counting.port, queue_connection_cache_time="10s"))
    for i in range(4):
        rcpt = f"seq{i}@remote.test"
        submit(s, [rcpt], make_message(f"seq {i}", b"reuse me\r\n", sender=USER, to=rcpt))
        wait_for(lambda: counting.received(rcpt), f"delivery of {rcpt}", s)
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    assert len(counting.messages) == 4
    assert counting.connections == 1, counting.connections
    assert counting.ehlos == 1, counting.ehlos
    assert len({m[3] for m in counting.messages}) == 1
    assert outcomes(s, None, "deferred") == []
    s.assert_healthy()


def test_no_reuse_when_cache_time_is_zero(tls_factory, counting, dns):
    """queue_connection_cache_time = 0: every message gets its own connection (and QUIT)."""
    s = tls_factory(conf=outbound_conf(dns, counting.port, queue_connection_cache_time="0"))
    for i in range(3):
        rcpt = f"noc{i}@remote.test"
        submit(s, [rcpt], make_message(f"nocache {i}", b"x\r\n", sender=USER, to=rcpt))
        wait_for(lambda: counting.received(rcpt), f"delivery of {rcpt}", s)
    assert counting.connections == 3, counting.connections
    assert counting.ehlos == 3


def test_concurrency_limit_and_waiting_entries_reuse(tls_factory, counting, dns):
    """queue_destination_concurrency = 2 with ten entries at once and a slow server: never more
    than two sessions open, nothing deferred (the others wait for a slot), every message
    delivered exactly once, and the waiting ones take the connections over (two in all)."""
    s = tls_factory(conf=outbound_conf(dns, counting.port, queue_destination_concurrency=2,
                                    queue_connection_cache_time="10s"))
    counting.data_delay = 0.3
    rcpts = [f"conc{i}@remote.test" for i in range(10)]
    submit_each(s, rcpts, lambda r: make_message("conc", b"c\r\n", sender=USER, to=r))
    wait_for(lambda: len(counting.messages) == 10, "ten deliveries", s, 40)
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    assert counting.open_max <= 2, counting.open_max
    assert counting.connections <= 2, counting.connections
    for r in rcpts:
        assert len(counting.received(r)) == 1, r
    assert outcomes(s, None, "deferred") == []
    s.assert_healthy()


def test_concurrency_one_serialises(tls_factory, counting, dns):
    """queue_destination_concurrency = 1: one session at a time, all over one connection."""
    s = tls_factory(conf=outbound_conf(dns, counting.port, queue_destination_concurrency=1))
    counting.data_delay = 0.1
    submit_each(s, [f"one{i}@remote.test" for i in range(5)],
                lambda r: make_message("one", b"1\r\n", sender=USER, to=r))
    wait_for(lambda: len(counting.messages) == 5, "five deliveries", s, 30)
    assert counting.open_max == 1
    assert counting.connections == 1
    assert counting.ehlos == 1


def test_server_closes_idle_connection(tls_factory, counting, dns):
    """The next hop closes a connection that is idle for 0.3 s: the cached connection is
    dropped, the next message goes over a new one, exactly once, nothing deferred."""
    s = tls_factory(conf=outbound_conf(dns, counting.port, queue_connection_cache_time="10s"))
    counting.idle_close = 0.3
    for i in range(3):
        rcpt = f"idle{i}@remote.test"
        submit(s, [rcpt], make_message(f"idle {i}", b"i\r\n", sender=USER, to=rcpt))
        wait_for(lambda: counting.received(rcpt), f"delivery of {rcpt}", s)
        time.sleep(0.8)
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    assert len(counting.messages) == 3
    for i in range(3):
        assert len(counting.received(f"idle{i}@remote.test")) == 1
    assert counting.connections == 3
    assert outcomes(s, None, "deferred") == []
    s.assert_healthy()


def test_server_closes_right_after_message(tls_factory, counting, dns):
    """The next hop closes right after its 250 (the close may reach us after the connection
    was taken again): every message still arrives exactly once, none deferred."""
    s = tls_factory(conf=outbound_conf(dns, counting.port, queue_connection_cache_time="10s"))
    counting.close_after_data = True
    submit_each(s, [f"cls{i}@remote.test" for i in range(6)],
                lambda r: make_message("cls", b"c\r\n", sender=USER, to=r))
    wait_for(lambda: len(counting.messages) == 6, "six deliveries", s, 30)
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    for i in range(6):
        assert len(counting.received(f"cls{i}@remote.test")) == 1
    assert outcomes(s, None, "deferred") == []


def test_reuse_refused_falls_back_to_fresh_connection(tls_factory, counting, dns):
    """The next hop answers 421 to the second MAIL on a connection: the delivery that took the
    cached connection is not deferred but sent over a new connection, exactly once."""
    s = tls_factory(conf=outbound_conf(dns, counting.port, queue_connection_cache_time="10s"))
    counting.reject_reuse = True
    for i in range(3):
        rcpt = f"rej{i}@remote.test"
        submit(s, [rcpt], make_message(f"rej {i}", b"r\r\n", sender=USER, to=rcpt))
        wait_for(lambda: counting.received(rcpt), f"delivery of {rcpt}", s)
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s)
    for i in range(3):
        assert len(counting.received(f"rej{i}@remote.test")) == 1
    assert counting.connections == 3
    assert outcomes(s, None, "deferred") == []
    assert log_lines(s, "cached connection"), "the failed reuse must be logged"
