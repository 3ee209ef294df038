"""
Process life cycle of `posthorn serve`: SIGTERM with clients connected (idle, logged in, in
the middle of DATA) ends the process with status 0 within a bound and loses nothing that was
acknowledged; a second instance on the same ports fails without disturbing the first.
"""

import signal
import socket
import subprocess
import time

from conftest import (STOP_TIMEOUT, USER, ConnectionClosed, make_message, posthorn_bin,
                      smtp_send, split_trace)

SENDER = "life@example.org"


def sigterm_and_wait(srv):
    t0 = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    try:
        rc = srv.proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running {STOP_TIMEOUT} s after SIGTERM with idle clients; "
                             f"log:\n{srv.log_tail()}") from None
    assert rc == 0, f"exit status {rc} after SIGTERM; log:\n{srv.log_tail()}"
    return time.monotonic() - t0


def test_sigterm_with_idle_clients(server):
    smtp_send(server, SENDER, [USER], make_message("stay", b"stay\r\n"))
    idle_smtp = server.smtp()
    assert idle_smtp.ehlo().code == 250
    pop = server.pop3(USER)
    pop.ok("DELE 1")  # no QUIT: must not be deleted
    try:
        sigterm_and_wait(server)
        # the idle SMTP client was told (421) or simply closed
        try:
            data = idle_smtp.read_until_closed(5)
        except (ConnectionClosed, OSError):
            data = b""
        assert data == b"" or data.startswith(b"421"), data
    finally:
        idle_smtp.close()
        pop.close()
    server.start()
    assert len(server.messages(USER)) == 1


def test_sigterm_during_data(server):
    msg = make_message("in flight", b"a" * 1000 + b"\r\n")
    c = server.smtp()
    try:
        c.begin(SENDER, [USER])
        assert c.cmd("DATA").code == 354
        c.send(msg[:500])
        server.proc.send_signal(signal.SIGTERM)
        try:
            c.send(msg[500:] + b".\r\n")
            r = c.reply()
            code = r.code
        except (ConnectionClosed, OSError):
            code = None
        assert code in (None, 250, 421, 451), code
    finally:
        c.close()
    rc = server.proc.wait(STOP_TIMEOUT)
    assert rc == 0, f"exit status {rc}; log:\n{server.log_tail()}"
    server.start()
    stored = server.messages(USER)
    if code == 250:
        assert len(stored) == 1 and split_trace(stored[0])[2] == msg
    else:
        assert stored == []


def test_new_connections_refused_after_sigterm(server):
    busy = server.smtp()
    assert busy.ehlo().code == 250
    try:
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(STOP_TIMEOUT)
        assert server.proc.returncode == 0
    finally:
        busy.close()
    try:
        with socket.create_connection(("127.0.0.1", server.smtp_port), timeout=5) as s:
            s.settimeout(5)
            assert s.recv(100) == b"", "something still answers on the SMTP port"
    except OSError:
        pass  # refused: the port is closed
    server.start()
    server.assert_healthy()


def test_second_instance_fails_first_keeps_serving(server):
    r = subprocess.run([posthorn_bin(), "serve", "-c", str(server.conf_file)],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode != 0, "a second serve on the same ports and data dir started"
    assert r.stderr.strip() or r.stdout.strip(), "the second instance failed silently"
    server.assert_healthy()
    smtp_send(server, SENDER, [USER], make_message("still here", b"x\r\n"))
    assert len(server.messages(USER)) == 1


def test_restart_many_times(server):
    sent = []
    for i in range(5):
        m = make_message(f"restart {i}", b"restart %d\r\n" % i)
        smtp_send(server, SENDER, [USER], m)
        sent.append(m)
        server.restart()
    with server.pop3(USER) as p:
        uidls = p.uidl()
        got = p.retr_all()
        p.quit()
    assert [split_trace(g)[2] for g in got] == sent
    server.restart()
    with server.pop3(USER) as p:
        assert p.uidl() == uidls
        p.quit()
