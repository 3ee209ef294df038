"""
`posthorn gc`: removes message bodies that no message or queue entry references and stale
temporary files, once they are older than the grace period, while the server runs; bodies in
use are never touched.
"""

import json
import os
import time

from conftest import USER, make_message, smtp_send

HOUR = 3600


def test_gc_removes_only_old_unreferenced_files(server):
    s = server
    data = make_message("kept by gc")
    smtp_send(s, "sender@example.org", [USER], data)
    referenced = [p for p in (s.dir / "blobs").rglob("*") if p.is_file()]
    assert len(referenced) == 1, referenced
    # an orphan body (as left by a crash between commit and unlink), two hours old
    orphan = s.dir / "blobs" / "ab" / ("ab" + "0" * 30)
    orphan.write_bytes(b"Subject: orphan\r\n\r\nx\r\n")
    # a fresh orphan: inside the grace period, must stay
    fresh = s.dir / "blobs" / "cd" / ("cd" + "1" * 30)
    fresh.write_bytes(b"Subject: fresh\r\n\r\nx\r\n")
    old = time.time() - 2 * HOUR
    os.utime(orphan, (old, old))
    # the referenced body is old too: age alone must not make it garbage
    os.utime(referenced[0], (old, old))
    r = s.cli("gc", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["blobs_removed"] == 1, res
    assert not orphan.exists()
    assert fresh.exists()
    assert referenced[0].exists()
    msgs = s.messages(USER)
    assert len(msgs) == 1 and msgs[0].endswith(data)
    s.assert_healthy()
