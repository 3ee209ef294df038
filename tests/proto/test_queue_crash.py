"""
Outbound delivery across a crash (issue 5, DESIGN.md 3): SIGKILL of `posthorn serve` while the
queue is in the middle of deliveries loses nothing. The scripted remote server (ScriptedSmtp of
queuehelp.py, its hold_data hook) holds every
first DATA phase of hold* recipients open after the whole message arrived, without replying;
the server is killed then, and the remote drops those sessions without keeping the messages
(it never acknowledged them, so it must not have committed them). After the restart every
message is delivered exactly once and the queue is empty.

A message the remote had acknowledged (250 to the end of data) before the kill, but whose
outcome the queue had not recorded yet, is delivered again after the restart: RFC 5321 6.1
accepts that duplicate; test_kill_after_remote_acknowledged checks at least once and no more
than twice, and that the entry leaves the queue.
"""

import signal
import threading
import time

import pytest

from conftest import USER, deadline_loop, make_message
from tlshelp import tls_factory  # noqa: F401 (fixture)
from queuehelp import (ScriptedSmtp, dns_fixture, outbound_conf, queue_ids, sink_fixture, submit,
                       wait_for)

remote = sink_fixture(ScriptedSmtp)
dns = dns_fixture()


def outbound(tls_factory, remote, dns):
    return tls_factory(conf=outbound_conf(dns, remote.port))


def sigkill(server):
    """SIGKILL the server process (the Popen the fixture made) and reap it."""
    server.killed_on_purpose = True
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(20)


@pytest.mark.timeout(150)
def test_kill_during_data_loses_nothing(tls_factory, remote, dns):
    s = outbound(tls_factory, remote, dns)
    reached, release = threading.Event(), threading.Event()
    remote.hold_data["hold"] = (reached, release)
    rcpts = [f"hold{i}@remote.test" for i in range(4)]
    big = b"".join(b"line %05d of a message that is long enough to take a while\r\n" % n
                   for n in range(4000))
    try:
        for i, rcpt in enumerate(rcpts):
            body = big if i == 0 else f"message {i}\r\n".encode()
            submit(s, [rcpt], make_message(f"crash {i}", body, sender=USER, to=rcpt))
        # every delivery is inside its DATA phase, waiting for the reply
        for _ in deadline_loop(30, 0.05):
            if remote.held_sessions >= len(rcpts):
                break
        assert remote.held_sessions == len(rcpts), \
            f"only {remote.held_sessions} deliveries reached DATA; log:\n{s.log_tail(30)}"
        assert len(queue_ids(s)) == len(rcpts)
        # one more message arrives right before the crash
        submit(s, ["hold9@remote.test"], make_message("last", b"last one\r\n", sender=USER,
                                                      to="hold9@remote.test"))
        sigkill(s)
    finally:
        release.set()
    assert remote.messages == [], "the remote kept a message it never acknowledged"
    remote.hold_data.clear()
    s.start()
    for rcpt in rcpts + ["hold9@remote.test"]:
        wait_for(lambda: remote.received(rcpt), f"the delivery to {rcpt} after the restart", s,
                 40)
    wait_for(lambda: queue_ids(s) == [], "an empty queue", s, 30)
    time.sleep(2)
    for rcpt in rcpts + ["hold9@remote.test"]:
        assert len(remote.received(rcpt)) == 1, rcpt
    data = remote.received("hold0@remote.test")[0][2]
    assert data.endswith(big), "the long message arrived cut or changed"
    s.assert_healthy()


@pytest.mark.timeout(150)
def test_kill_after_remote_acknowledged(tls_factory, remote, dns):
    """Killed while the remote's 250 to end of data is on its way: delivered at least once,
    at most twice (RFC 5321 6.1), and the entry is gone in the end."""
    s = outbound(tls_factory, remote, dns)
    accepted = threading.Event()

    # let the message through, then kill as soon as the remote has it
    submit(s, ["ack1@remote.test"], make_message("ack", b"acknowledged\r\n", sender=USER,
                                                 to="ack1@remote.test"))
    for _ in deadline_loop(30, 0.005):
        if remote.received("ack1@remote.test"):
            accepted.set()
            break
    assert accepted.is_set(), f"never delivered; log:\n{s.log_tail(30)}"
    sigkill(s)
    s.start()
    wait_for(lambda: queue_ids(s) == [], "an empty queue after the restart", s, 30)
    n = len(remote.received("ack1@remote.test"))
    assert 1 <= n <= 2, n
