"""
imapsync.py - helpers for test_imap_sync.py: a mail corpus, the server side seen through
Python's imaplib, and the local side seen as Maildir folders on disk.

What it does: builds a deterministic set of messages (varied sizes, MIME, 8-bit UTF-8 bodies,
folded headers, lines starting with "From " and ".", each with a unique Message-ID that ties
the server copy to the local copy); fills an account over IMAP (CREATE + APPEND with flags and
keywords); snapshots the server (per folder: Message-ID -> UID, flags, size) and a Maildir tree
(per folder: Message-ID -> file, flags); changes either side (flags, deletions, new mail).

What it does not do: it never talks to anything but the loopback server it is given, never
assumes a sync client's file naming beyond the Maildir standard (":2,FLAGS" info suffix, cur/
new/tmp), and never hides a protocol error: every IMAP command's status is asserted.

Invariants: every socket has a timeout; every walk is over a finite directory tree made by
the test; message bodies end with CRLF (IMAP's line ending); a Message-ID occurs once.
"""

import imaplib
import os
import re
import threading
import time
from pathlib import Path

TIMEOUT = 30
POPULATE_TIMEOUT = 100  # all APPENDs of the corpus

# IMAP system flag <-> Maildir info letter (the Maildir spec: D, F, P, R, S, T; \Deleted is T)
FLAG_LETTER = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S",
               "\\Deleted": "T"}
LETTER_FLAG = {v: k for k, v in FLAG_LETTER.items()}

# the account's folders as the server names them (hierarchy separator "/")
FOLDERS = {"INBOX": 400, "Work": 250, "Work/Projects": 200, "Archive/2025": 150}


# --------------------------------------------------------------------------------------------
# the corpus


def message(folder, n, tag="orig"):
    """Message number n of folder: deterministic bytes, CRLF line endings, ending in CRLF.
    Returns (message_id, bytes)."""
    mid = f"<{tag}.{folder.replace('/', '.')}.{n}@sync.posthorn.test>"
    kind = n % 7
    head = [
        f"From: Sender {n} <sender{n % 13}@example.org>",
        "To: <user@localhost>",
        f"Subject: {folder} message {n} ({tag})",
        f"Message-ID: {mid}",
        f"Date: Mon, {1 + n % 28:02d} Sep 2025 {n % 24:02d}:{n % 60:02d}:07 +0200",
    ]
    if kind == 1:  # a long header folded over several lines
        head.append("X-Long: " + "\r\n\t".join(f"part{i} " + "x" * 50 for i in range(6)))
    if kind == 2:  # MIME multipart with a base64 part
        head += ["MIME-Version: 1.0",
                 'Content-Type: multipart/mixed; boundary="b-%d"' % n]
        body = (f"--b-{n}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
                f"Part one of {n}.\r\n--b-{n}\r\nContent-Type: application/octet-stream\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\n"
                + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\r\n" * (1 + n % 40)
                + f"--b-{n}--\r\n")
    elif kind == 3:  # 8-bit UTF-8 body
        head += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
                 "Content-Transfer-Encoding: 8bit"]
        body = f"Grüße aus Köln, Nachricht {n}. Ünïcödé ✓\r\n" * (1 + n % 5)
    elif kind == 4:  # lines that mbox and SMTP treat specially, and an empty line at the end
        body = f"From the start of a line {n}\r\n.\r\n..two dots\r\n>From quoted\r\n\r\n"
    elif kind == 5:  # a larger message (~10-40 KB)
        body = "".join(f"line {i} of a long message {n} " + "y" * 60 + "\r\n"
                       for i in range(120 * (1 + n % 4)))
    else:
        body = f"Body of message {n} in {folder}.\r\n"
    data = ("\r\n".join(head) + "\r\n\r\n" + body).encode("utf-8")
    return mid, data


def initial_flags(n):
    """The flags message n starts with on the server (some \\Seen, \\Flagged, keywords)."""
    flags = []
    if n % 3 == 0:
        flags.append("\\Seen")
    if n % 10 == 0:
        flags.append("\\Flagged")
    if n % 25 == 0:
        flags.append("\\Answered")
    if n % 17 == 0:
        flags.append("$Label1")
    if n % 31 == 0:
        flags.append("Project")
    return flags


# --------------------------------------------------------------------------------------------
# the server side


def connect(port, user, password):
    m = imaplib.IMAP4("127.0.0.1", port, timeout=TIMEOUT)
    ok(m.login(user, password), "LOGIN")
    return m


def ok(res, what):
    typ, data = res
    assert typ == "OK", f"{what}: {typ} {data!r}"
    return data


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def populate(port, user, password, folders=FOLDERS):
    """Creates the folders and APPENDs their messages with their initial flags, one
    connection per folder in parallel (the server's group commit then shares fsyncs between
    them). Returns {folder: {message_id: (bytes, flags)}}."""
    m = connect(port, user, password)
    try:
        for folder in folders:
            if folder != "INBOX":
                ok(m.create(quote(folder)), f"CREATE {folder}")
    finally:
        m.logout()
    corpus = {folder: {} for folder in folders}
    errors = []

    def fill(folder, count):
        try:
            c = connect(port, user, password)
            try:
                for n in range(count):
                    mid, data = message(folder, n)
                    flags = initial_flags(n)
                    ok(c.append(quote(folder), "(" + " ".join(flags) + ")", None, data),
                       f"APPEND {folder} #{n}")
                    corpus[folder][mid] = (data, flags)
            finally:
                c.logout()
        except Exception as e:  # reported by the caller's thread
            errors.append(f"{folder}: {e!r}")

    threads = [threading.Thread(target=fill, args=(f, n), daemon=True)
               for f, n in folders.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(POPULATE_TIMEOUT)
    assert not any(t.is_alive() for t in threads), \
        f"APPENDs still running after {POPULATE_TIMEOUT} s"
    assert not errors, "populating the account failed: " + "; ".join(errors)
    return corpus


def list_folders(m):
    """Every selectable folder name the server lists (LIST "" *), decoded."""
    data = ok(m.list('""', "*"), "LIST")
    names = []
    for line in data:
        if line is None:
            continue
        if isinstance(line, tuple):  # a name sent as a literal
            attrs, name = line[0].decode(), line[1].decode()
        else:
            mt = re.match(rb'\((.*?)\) (NIL|"(?:[^"\\]|\\.)*") (.*)$', line)
            assert mt, f"unparsable LIST reply {line!r}"
            attrs, name = mt.group(1).decode(), mt.group(3).decode()
            if name.startswith('"'):
                name = re.sub(r'\\(.)', r'\1', name[1:-1])
        if "\\noselect" in attrs.lower() or "\\nonexistent" in attrs.lower():
            continue
        names.append(name)
    return sorted(names)


def server_folder(m, folder):
    """{message_id: (uid, frozenset(flags), size)} of one folder (EXAMINE: nothing changes)."""
    ok(m.select(quote(folder), readonly=True), f"EXAMINE {folder}")
    out = {}
    typ, data = m.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE)")
    assert typ == "OK", (folder, typ, data)
    meta = {}
    for line in data:
        if line is None:
            continue
        assert isinstance(line, bytes), f"unexpected literal in FLAGS fetch: {line!r}"
        uid = re.search(rb"\bUID (\d+)", line)
        flags = re.search(rb"\bFLAGS \(([^)]*)\)", line)
        size = re.search(rb"\bRFC822\.SIZE (\d+)", line)
        assert uid and flags and size, f"FETCH reply lacks UID/FLAGS/RFC822.SIZE: {line!r}"
        fl = frozenset(f for f in flags.group(1).decode().split() if f != "\\Recent")
        meta[int(uid.group(1))] = (fl, int(size.group(1)))
    if meta:
        typ, data = m.uid("FETCH", "1:*", "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        assert typ == "OK", (folder, typ, data)
        for item in data:
            if not isinstance(item, tuple):
                continue
            uid = re.search(rb"\bUID (\d+)", item[0])
            assert uid, f"header FETCH reply without UID: {item[0]!r}"
            mid = re.search(rb"(?im)^message-id:\s*(<[^>]*>)", item[1])
            assert mid, f"message without Message-ID in {folder}: {item[1]!r}"
            key = mid.group(1).decode()
            assert key not in out, f"Message-ID {key} twice in {folder}"
            u = int(uid.group(1))
            out[key] = (u, *meta[u])
    assert len(out) == len(meta), (f"{folder}: {len(meta)} messages by FLAGS fetch, "
                                   f"{len(out)} by header fetch")
    m.close()
    return out


def server_state(m):
    """{folder: server_folder(...)} for every listed folder."""
    return {f: server_folder(m, f) for f in list_folders(m)}


def server_body(m, folder, uid):
    ok(m.select(quote(folder), readonly=True), f"EXAMINE {folder}")
    typ, data = m.uid("FETCH", str(uid), "(BODY.PEEK[])")
    assert typ == "OK", (typ, data)
    parts = [d for d in data if isinstance(d, tuple)]
    assert len(parts) == 1, f"UID FETCH {uid} BODY.PEEK[] in {folder}: {data!r}"
    m.close()
    return parts[0][1]


def server_store(m, folder, uids, op, flags):
    """UID STORE uids op (flags) in folder (read-write)."""
    ok(m.select(quote(folder)), f"SELECT {folder}")
    for uid in uids:
        ok(m.uid("STORE", str(uid), op, "(" + " ".join(flags) + ")"), f"STORE {uid}")
    m.close()


def server_expunge(m, folder, uids):
    """Marks uids \\Deleted and EXPUNGEs them; asserts they are gone."""
    ok(m.select(quote(folder)), f"SELECT {folder}")
    for uid in uids:
        ok(m.uid("STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)"), f"STORE {uid}")
    ok(m.expunge(), "EXPUNGE")
    typ, data = m.uid("SEARCH", "UID", ",".join(map(str, uids)))
    assert typ == "OK" and data[0].split() == [], f"expunged UIDs still there: {data!r}"
    m.close()


# --------------------------------------------------------------------------------------------
# the local side: Maildir folders


def maildir_folders(root, inbox_path=None):
    """{folder name: Path} for every Maildir (a directory with cur/ new/ tmp/) under root;
    names are the relative paths with "/" (root itself, or inbox_path, is INBOX)."""
    root = Path(root)
    out = {}
    for dirpath, dirnames, _ in os.walk(root):
        d = Path(dirpath)
        if {"cur", "new", "tmp"} <= set(dirnames):
            rel = d.relative_to(root).as_posix()
            name = "INBOX" if rel in (".", "INBOX") or d == inbox_path else rel
            out[name] = d
        dirnames[:] = [x for x in dirnames if x not in ("cur", "new", "tmp")]
    return out


def maildir_info(path):
    """The flag letters of a Maildir file name ("" for new/ or no info part)."""
    name = Path(path).name
    if ":2," in name:
        return "".join(sorted(c for c in name.split(":2,", 1)[1] if c.isupper()))
    return ""


def local_message_id(path):
    data = Path(path).read_bytes()
    head = data.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    mt = re.search(rb"(?im)^message-id:\s*(<[^>]*>)", head)
    assert mt, f"local message without Message-ID: {path}: {data[:300]!r}"
    return mt.group(1).decode()


def local_folder(d):
    """{message_id: (Path, flag letters)} of one Maildir folder."""
    out = {}
    for sub in ("cur", "new"):
        for p in sorted((d / sub).iterdir()):
            if p.name.startswith("."):
                continue
            mid = local_message_id(p)
            assert mid not in out, f"Message-ID {mid} twice in {d}: {out[mid][0]} and {p}"
            out[mid] = (p, maildir_info(p))
    return out


def local_state(root, inbox_path=None):
    return {f: local_folder(d) for f, d in maildir_folders(root, inbox_path).items()}


def local_files(root):
    """Every message file under root with its size and mtime: a change detector for the no-op
    sync (dot files, the clients' own bookkeeping such as .mbsyncstate, are left out)."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f.startswith("."):
                continue
            p = Path(dirpath) / f
            st = p.stat()
            out[p.relative_to(root).as_posix()] = (st.st_size, st.st_mtime_ns)
    return out


def set_local_flags(path, letters):
    """Moves a Maildir message to cur/ with exactly these flag letters; returns the new Path."""
    path = Path(path)
    base = path.name.split(":2,", 1)[0]
    new = path.parent.parent / "cur" / (base + ":2," + "".join(sorted(letters)))
    os.rename(path, new)
    return new


_seq = [0]


def deliver_local(d, data):
    """Delivers a message into Maildir d the standard way (tmp/ then rename into new/)."""
    _seq[0] += 1
    name = f"{time.time_ns() // 10**9}.P{os.getpid()}Q{_seq[0]}.sync-test"
    tmp = d / "tmp" / name
    tmp.write_bytes(data)
    os.rename(tmp, d / "new" / name)


def unix_lines(data):
    """CRLF -> LF, the conversion sync clients make when they store into a Maildir."""
    return data.replace(b"\r\n", b"\n")


def flags_letters(flags):
    return "".join(sorted(FLAG_LETTER[f] for f in flags if f in FLAG_LETTER))
