"""
The end of a delivery round (bin/serve-queue-finish.c) with the timer scan out of the way
(queue_scan_interval = 1h): the scheduler no longer rescans after every message, so these
check that what must start at once still does. A slot freed at the max_deliveries limit goes
to the entry left waiting for it; a notice queued by a round is delivered without waiting for
the timer; a finished entry leaves the queue in one step and is delivered exactly once.

Remote side: ScriptedSmtp of queuehelp.py (ok* accepts, bad* gets 550 5.1.1).
"""

import time

from conftest import USER, make_message
from tlshelp import tls_factory  # noqa: F401 (fixture)
from queuehelp import (ZONE, ScriptedSmtp, dns_fixture, dsns, log_lines, outbound_conf,
                       queue_ids, sink_fixture, submit, submit_each, wait_for)

remote = sink_fixture(ScriptedSmtp)
dns = dns_fixture(ZONE)

NO_TIMER = "3600s"  # the longest queue_scan_interval: only kicks can start deliveries


def test_slot_freed_at_the_limit_goes_to_a_waiting_entry(tls_factory, remote, dns):
    """One delivery at a time: every message but the first waits for a slot; each finished
    delivery must hand its slot on at once (not at the timer an hour later)."""
    s = tls_factory(conf=outbound_conf(dns, remote.port, queue_max_deliveries=1,
                                       queue_scan_interval=NO_TIMER))
    rcpts = [f"ok{i}@remote.test" for i in range(8)]
    submit_each(s, rcpts, lambda r: make_message("one slot", b"wait for it\r\n", sender=USER,
                                                 to=r))
    wait_for(lambda: all(remote.received(r) for r in rcpts), "every message through one slot",
             s, 30)
    wait_for(lambda: queue_ids(s) == [], "the queue to empty", s)
    time.sleep(1)
    for r in rcpts:
        assert len(remote.received(r)) == 1, (r, remote.received(r))
    assert len(log_lines(s, ": removed")) == len(rcpts)


def test_notice_of_a_round_is_delivered_without_the_timer(tls_factory, remote, dns):
    """A bounce queues a DSN: a new entry that only a scan finds, so the round that queued
    it must kick one; the DSN reaches the local sender's mailbox long before the timer."""
    s = tls_factory(conf=outbound_conf(dns, remote.port, queue_scan_interval=NO_TIMER))
    msg = make_message("bounce me", b"no such user there\r\n", sender=USER,
                       to="bad7@remote.test")
    submit(s, ["bad7@remote.test", "ok7@remote.test"], msg)
    wait_for(lambda: len(dsns(s)) == 1, "the DSN in the sender's mailbox", s, 20)
    wait_for(lambda: queue_ids(s) == [], "the queue to empty", s)
    assert len(remote.received("ok7@remote.test")) == 1
    assert remote.received("bad7@remote.test") == []
    report = dsns(s)[0]
    assert b"bad7@remote.test" in report and b"5.1.1" in report
    assert b"ok7@remote.test" not in report.split(b"message/delivery-status", 1)[-1]
