"""
Real IMAP sync clients against Posthorn (issue 3 "Tests"): mbsync (isync) over STARTTLS with
the server's own certificate, and offlineimap (offlineimap3) over plain IMAP on loopback
(plaintext_auth_loopback), each doing a full two-way sync of an account with 1,000 messages in
nested folders (INBOX, Work, Work/Projects, Archive/2025):

  1. first sync: every folder and message arrives in a local Maildir, flags mapped (\\Seen -> S,
     \\Flagged -> F, \\Answered -> R), message bytes identical but for the CRLF -> LF
     conversion that both clients make for Maildir (RFC 9051 2.2: IMAP lines end in CRLF);
  2. changes on both sides: flags set locally and on the server, messages deleted locally
     (must be expunged on the server) and expunged on the server (must disappear locally),
     new mail delivered into the local Maildir and APPENDed on the server;
  3. second sync: both sides hold the same messages with the same flags, uploaded bytes arrive
     intact, server-only keywords ($Label1, Project) are untouched;
  4. third sync: changes nothing (the client reports no transfers, the server's UIDs and flags
     and the local files are exactly as before).

Needs mbsync and offlineimap installed (tools/deps.sh test: isync, offlineimap3); a missing
tool fails the test.
"""

import atexit
import os
import re
import select
import shutil
import subprocess
import time

import pytest

import imapsync as S
from conftest import USER, free_port, make_data_base, require_tool
from tlshelp import tls_factory  # noqa: F401 (fixture)

SYNC_TIMEOUT = 120  # one run of a sync client
LOCAL_NEW = {"INBOX": 5, "Work/Projects": 3}  # messages delivered into the local Maildir
SERVER_NEW = {"INBOX": 4, "Archive/2025": 2}  # messages APPENDed on the server between syncs


# the populated account, made once per run: a copy of the data dir of a stopped server that
# received the corpus, and the corpus itself (APPENDing 1,000 messages costs most of the time)
_populated = {}


def copy_data(src, dst):
    """Copies a data dir without its drop-ins and log, keeping modes and (as root) owners:
    posthorn started as root works as its run_user, which owns the files."""
    skip = shutil.ignore_patterns("conf.d", "server.log")
    shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True, ignore=skip)
    if os.geteuid() != 0:
        return
    for root, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if d != "conf.d"]
        for name in [None] + dirs + [f for f in files if f != "server.log"]:
            path = root if name is None else os.path.join(root, name)
            st = os.lstat(path)
            os.lchown(os.path.join(dst, os.path.relpath(path, src)), st.st_uid, st.st_gid)


def replace_data(s, src):
    """Replaces s's data (store, blobs, certificate) with a copy of src; keeps its drop-in."""
    for entry in s.dir.iterdir():
        if entry.name in ("conf.d", "server.log"):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    copy_data(src, s.dir)


@pytest.fixture
def sync_server(tls_factory):
    """A started server with plain IMAP (loopback, passwords allowed) and STARTTLS offered,
    holding the 1,000-message corpus. Returns (server, corpus)."""
    port = free_port()
    conf = {"imap_listen": f"127.0.0.1:{port}", "plaintext_auth_loopback": "yes",
            "message_size_limit": "10M"}
    if _populated:
        s = tls_factory(conf=conf, start=False)
        replace_data(s, _populated["dir"])
        s.start()
        s.imap_port = port
        return s, _populated["corpus"]
    s = tls_factory(conf=conf)
    s.imap_port = port
    corpus = S.populate(port, USER, s.accounts[USER])
    # keep a copy for the next test; the restart also shows that the APPENDs were durable
    s.stop_ok()
    base = make_data_base("sync-template")
    atexit.register(shutil.rmtree, base, True)
    copy_data(s.dir, base / "data")
    s.start()
    _populated.update(dir=base / "data", corpus=corpus)
    return s, corpus


def imap(s):
    return S.connect(s.imap_port, USER, s.accounts[USER])


# --------------------------------------------------------------------------------------------
# the two clients


class Mbsync:
    """mbsync with a config of its own: STARTTLS to Posthorn verified against its self-signed
    certificate, every folder, creation and expunge propagated both ways."""

    name = "mbsync"

    def __init__(self, s, work):
        self.tool = require_tool("mbsync")
        self.root = work / "mail"
        self.root.mkdir()
        self.conf = work / "mbsyncrc"
        self.conf.write_text(f"""\
IMAPAccount far
Host localhost
Port {s.imap_port}
User {USER}
Pass {s.accounts[USER]}
SSLType STARTTLS
CertificateFile {s.cert_path}
AuthMechs LOGIN
Timeout 60

IMAPStore far
Account far

MaildirStore near
Path {self.root}/
Inbox {self.root}/INBOX
SubFolders Verbatim

Channel sync
Far :far:
Near :near:
Patterns *
Create Both
Remove None
Expunge Both
SyncState *
""")
        self.inbox = self.root / "INBOX"

    def sync(self):
        """One `mbsync -a`; its stdout is a pseudo-terminal, as only then does mbsync print
        its progress counters (C: channels, B: boxes, F: far side, N: near side)."""
        master, slave = os.openpty()
        try:
            p = subprocess.Popen([self.tool, "-c", str(self.conf), "-a"], stdin=subprocess.DEVNULL,
                                 stdout=slave, stderr=subprocess.PIPE)
        finally:
            os.close(slave)
        out = b""
        end = time.monotonic() + SYNC_TIMEOUT
        try:
            while time.monotonic() < end:
                r, _, _ = select.select([master], [], [], max(0.0, end - time.monotonic()))
                if not r:
                    break
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            err = p.stderr.read()
            rc = p.wait(max(1.0, end - time.monotonic()))
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()
            os.close(master)
        text = (out + err).decode("utf-8", "replace")
        assert rc == 0, f"mbsync exited {rc}:\n{text[-3000:]}"
        assert "error" not in text.lower(), f"mbsync reported an error:\n{text[-3000:]}"
        return text

    def copied(self, out):
        """(messages copied to the server, to the local side) by one sync: the '+' counters
        of the far (F) and near (N) side on mbsync's last progress line."""
        counts = re.findall(r"F: \+(\d+)/\d+ .*?N: \+(\d+)/\d+", out)
        assert counts, f"mbsync printed no counters:\n{out[-2000:]!r}"
        return int(counts[-1][0]), int(counts[-1][1])

    def assert_no_changes(self, out):
        # the final counters: "F: +0/0 *0/0 #0/0  N: +0/0 *0/0 #0/0" -- nothing copied (+),
        # no flags changed (*), nothing trashed or expunged (#) on either side
        counts = re.findall(r"F: \+(\d+)/(\d+) \*(\d+)/(\d+) #(\d+)/(\d+)\s+"
                            r"N: \+(\d+)/(\d+) \*(\d+)/(\d+) #(\d+)/(\d+)", out)
        assert counts, f"mbsync printed no counters:\n{out[-2000:]!r}"
        assert set(counts[-1]) == {"0"}, f"the no-op sync changed something:\n{out[-500:]!r}"


class OfflineImap:
    """offlineimap (one-shot, basic UI) with a config of its own: plain IMAP on loopback."""

    name = "offlineimap"
    CHANGE = re.compile(r"(?im)^.*\b(copy message|adding flags?|removing flags?|deleting|"
                        r"adding keyword|removing keyword|creating folder)\b.*$")

    def __init__(self, s, work):
        self.tool = require_tool("offlineimap")
        self.root = work / "mail"
        self.root.mkdir()
        self.conf = work / "offlineimaprc"
        self.conf.write_text(f"""\
[general]
accounts = test
metadata = {work}/meta
ui = basic

[Account test]
localrepository = near
remoterepository = far

[Repository near]
type = Maildir
localfolders = {self.root}
sep = /

[Repository far]
type = IMAP
remotehost = 127.0.0.1
remoteport = {s.imap_port}
remoteuser = {USER}
remotepass = {s.accounts[USER]}
ssl = no
starttls = no
maxconnections = 1
holdconnectionopen = no
""")
        self.inbox = self.root / "INBOX"

    def sync(self):
        r = subprocess.run([self.tool, "-c", str(self.conf), "-o", "-u", "basic"],
                           capture_output=True, text=True, timeout=SYNC_TIMEOUT)
        out = r.stdout + r.stderr
        assert r.returncode == 0, f"offlineimap exited {r.returncode}:\n{out[-3000:]}"
        bad = [ln for ln in out.splitlines() if re.search(r"ERROR|Traceback|WARNING", ln)]
        assert not bad, "offlineimap reported problems:\n" + "\n".join(bad[:20]) + (
            f"\n...\n{out[-2000:]}")
        return out

    def copied(self, out):
        """(messages copied to the server, to the local side) by one sync, from the basic
        UI's "Copy message UID N (i/n) near:BOX -> far:BOX" lines."""
        moves = re.findall(r"(?m)^Copy message .* (near|far):.* -> (near|far):", out)
        return (sum(1 for a, b in moves if b == "far"), sum(1 for a, b in moves if b == "near"))

    def assert_no_changes(self, out):
        changes = self.CHANGE.findall(out)
        lines = [m.group(0) for m in self.CHANGE.finditer(out)]
        assert not changes, "the no-op sync changed something:\n" + "\n".join(lines[:20])


# --------------------------------------------------------------------------------------------
# comparisons


def assert_same(server, local, what):
    """Same folders, same Message-IDs in each, same system flags."""
    assert sorted(server) == sorted(local), (
        f"{what}: folders differ: server {sorted(server)} local {sorted(local)}")
    for folder in server:
        smids, lmids = set(server[folder]), set(local[folder])
        assert smids == lmids, (
            f"{what}: {folder}: only on the server {sorted(smids - lmids)[:5]} "
            f"({len(smids - lmids)}), only local {sorted(lmids - smids)[:5]} "
            f"({len(lmids - smids)})")
        diff = [(mid, sorted(server[folder][mid][1]), local[folder][mid][1])
                for mid in smids
                if S.flags_letters(server[folder][mid][1]) != local[folder][mid][1]]
        assert not diff, f"{what}: {folder}: flags differ (server, local): {diff[:5]} " \
                         f"({len(diff)} messages)"


def strip_client_headers(data):
    """Removes the bookkeeping header a sync client may add to a message it copies
    (mbsync: X-TUID, offlineimap: X-OfflineIMAP) -- only from the header section."""
    eol = b"\r\n" if b"\r\n" in data[:2000] else b"\n"
    end = data.find(eol + eol)
    end = len(data) if end < 0 else end + len(eol)
    lines = data[:end].split(eol)[:-1]  # each header line without its line ending
    kept = [ln for ln in lines if not re.match(rb"(?i)x-(tuid|offlineimap):", ln)]
    return b"".join(ln + eol for ln in kept) + data[end:]


def scenario(s, corpus, client):
    total = sum(len(v) for v in corpus.values())
    assert total == 1000

    # ---- 1. first sync: everything arrives
    out = client.sync()
    assert client.copied(out) == (0, total), out[-2000:]
    m = imap(s)
    try:
        server = S.server_state(m)
        # the corpus, plus the special-use folders made for every new account (empty)
        assert {f: len(server.get(f, ())) for f in corpus} == \
            {f: len(v) for f, v in corpus.items()}
        extra = {f: len(v) for f, v in server.items() if f not in corpus}
        assert set(extra.values()) <= {0}, f"unexpected messages in {extra}"
        local = S.local_state(client.root, client.inbox)
        assert_same(server, local, "after the first sync")
        # bytes: a few of each kind (plain, folded header, MIME, 8-bit, dots, large)
        for folder in ("INBOX", "Work/Projects"):
            for n in range(7):
                mid, data = S.message(folder, n)
                uid = server[folder][mid][0]
                got = S.server_body(m, folder, uid)
                assert got == data, f"server copy of {mid} differs: {len(got)} vs {len(data)}"
                lpath = local[folder][mid][0]
                assert strip_client_headers(lpath.read_bytes()) == S.unix_lines(data), (
                    f"local copy {lpath} of {mid} differs from the server's")

        # ---- 2. changes on both sides (on disjoint messages)
        inbox = sorted(local["INBOX"].items(), key=lambda kv: kv[0])
        work = sorted(local["Work"].items(), key=lambda kv: kv[0])
        local_flagged = [mid for mid, _ in inbox[0:10]]
        for mid in local_flagged:
            path, letters = local["INBOX"][mid]
            S.set_local_flags(path, set(letters) | {"F", "S"})
        local_deleted = {"INBOX": [mid for mid, _ in inbox[10:20]],
                         "Work": [mid for mid, _ in work[0:15]]}
        for folder, mids in local_deleted.items():
            for mid in mids:
                local[folder][mid][0].unlink()
        local_new = {}
        for folder, n in LOCAL_NEW.items():
            d = S.maildir_folders(client.root, client.inbox)[folder]
            for i in range(n):
                mid, data = S.message(folder, i, tag=f"local-{client.name}")
                S.deliver_local(d, S.unix_lines(data))
                local_new[mid] = (folder, data)

        server_seen = [mid for mid, _ in inbox[20:30]]
        S.server_store(m, "INBOX", [server["INBOX"][mid][0] for mid in server_seen],
                       "+FLAGS", ["\\Seen", "\\Answered"])
        server_unflag = [mid for mid in server["Work"] if "\\Flagged" in server["Work"][mid][1]
                         and mid not in local_deleted["Work"]][:5]
        S.server_store(m, "Work", [server["Work"][mid][0] for mid in server_unflag],
                       "-FLAGS", ["\\Flagged"])
        server_expunged = {"INBOX": [mid for mid, _ in inbox[30:42]],
                           "Archive/2025": sorted(server["Archive/2025"])[0:8]}
        for folder, mids in server_expunged.items():
            S.server_expunge(m, folder, [server[folder][mid][0] for mid in mids])
        server_new = {}
        for folder, n in SERVER_NEW.items():
            for i in range(n):
                mid, data = S.message(folder, i, tag=f"server-{client.name}")
                S.ok(m.append(S.quote(folder), "(\\Flagged)", None, data), "APPEND")
                server_new[mid] = (folder, data)
    finally:
        m.logout()

    # ---- 3. second sync: both sides agree, every change went the right way
    out = client.sync()
    assert client.copied(out) == (len(local_new), len(server_new)), out[-2000:]
    m = imap(s)
    try:
        server2 = S.server_state(m)
        local2 = S.local_state(client.root, client.inbox)
        assert_same(server2, local2, "after the second sync")
        for folder, mids in local_deleted.items():
            left = [mid for mid in mids if mid in server2[folder]]
            assert not left, f"deleted locally but still on the server in {folder}: {left[:5]}"
        for folder, mids in server_expunged.items():
            left = [mid for mid in mids if mid in local2[folder]]
            assert not left, f"expunged on the server but still local in {folder}: {left[:5]}"
        for mid in local_flagged:
            assert {"\\Flagged", "\\Seen"} <= server2["INBOX"][mid][1], (
                mid, server2["INBOX"][mid])
        for mid in server_seen:
            assert local2["INBOX"][mid][1] == S.flags_letters(server2["INBOX"][mid][1]), mid
            assert {"S", "R"} <= set(local2["INBOX"][mid][1]), (mid, local2["INBOX"][mid])
        for mid in server_unflag:
            assert "F" not in local2["Work"][mid][1], (mid, local2["Work"][mid])
        for mid, (folder, data) in server_new.items():
            assert "F" in local2[folder][mid][1], (mid, local2[folder].get(mid))
            lpath = local2[folder][mid][0]
            assert strip_client_headers(lpath.read_bytes()) == S.unix_lines(data), lpath
        for mid, (folder, data) in local_new.items():
            uid = server2[folder][mid][0]
            got = strip_client_headers(S.server_body(m, folder, uid))
            assert got == data, f"uploaded {mid}: server copy differs from the local file"
        # keywords the client does not know are left alone on the server
        for folder, msgs in corpus.items():
            for mid, (data, flags) in msgs.items():
                if mid in server2[folder]:
                    kw = {f for f in flags if not f.startswith("\\")}
                    assert kw <= server2[folder][mid][1], (folder, mid, server2[folder][mid])
        want = {f: len(corpus[f]) - len(local_deleted.get(f, ())) - len(server_expunged.get(f, ()))
                + sum(1 for fo, _ in local_new.values() if fo == f)
                + sum(1 for fo, _ in server_new.values() if fo == f) for f in corpus}
        assert {f: len(server2[f]) for f in corpus} == want
    finally:
        m.logout()

    # ---- 4. third sync: nothing to do
    files_before = S.local_files(client.root)
    out = client.sync()
    client.assert_no_changes(out)
    m = imap(s)
    try:
        server3 = S.server_state(m)
    finally:
        m.logout()
    assert server3 == server2, "the no-op sync changed the server"
    files_after = S.local_files(client.root)
    changed = sorted(set(files_before.items()) ^ set(files_after.items()))
    assert not changed, f"the no-op sync changed local files: {changed[:10]}"
    assert s.alive(), f"server died; log:\n{s.log_tail()}"


@pytest.mark.timeout(240)
def test_mbsync_two_way_sync_1000_messages(sync_server, tmp_path):
    s, corpus = sync_server
    scenario(s, corpus, Mbsync(s, tmp_path))


@pytest.mark.timeout(240)
def test_offlineimap_two_way_sync_1000_messages(sync_server, tmp_path):
    s, corpus = sync_server
    scenario(s, corpus, OfflineImap(s, tmp_path))
