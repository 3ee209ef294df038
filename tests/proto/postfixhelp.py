"""
postfixhelp.py - a private Postfix instance for interoperability tests (test_queue_interop.py).

What it does: writes a main.cf and master.cf into a temporary directory of its own
(config_directory, queue_directory, data_directory, a virtual Maildir tree, a texthash transport
map and a log file all live there), starts it with `postfix -c DIR start`, and stops it with
`postfix -c DIR stop` (then `abort` after a bounded wait). It listens on one loopback address
and port only (named in master.cf), delivers its virtual domain into Maildirs under DIR/mail, and
sends mail for other domains where its transport map says (no DNS: every next hop is a
[bracketed] address).

What it does not do: it never reads or changes /etc/postfix's main.cf, never touches a
system-wide Postfix instance or its queue, and never skips: Postfix must be installed
(tools/deps.sh test) and the tests must run as root (Postfix's master refuses to start
otherwise; the delivery agents drop to the postfix user and the virtual mailbox owner).
"""

import os
import pwd
import grp
import shutil
import socket
import subprocess
import time
from pathlib import Path

POSTFIX = "/usr/sbin/postfix"


class PostfixError(AssertionError):
    pass


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# every service runs unchrooted: the chroot would need copies of /etc files inside the
# private queue directory
MASTER_CF = """\
{address}:{port} inet n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       1       1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    """One private Postfix: domain `domain` (users: local parts with a Maildir each) served on
    address:port; transport = {domain: "[ip]:port"} for mail it sends on; with tls_files
    (key, certificate chain) its smtpd offers STARTTLS. Its smtp client always uses STARTTLS
    when offered (security level may)."""

    def __init__(self, root, address, port, domain, users, transport, tls_files=None):
        if shutil.which(POSTFIX) is None and not os.path.exists(POSTFIX):
            raise PostfixError("postfix is not installed (sh tools/deps.sh test)")
        if os.geteuid() != 0:
            raise PostfixError("a private postfix instance needs root (postfix start)")
        self.dir = Path(root)
        self.conf = self.dir / "etc"
        self.queue = self.dir / "queue"
        self.data = self.dir / "data"
        self.mail = self.dir / "mail"
        self.log = self.dir / "maillog"
        self.address, self.port, self.domain = address, port, domain
        self.users = list(users)
        self.transport = dict(transport)
        self.tls_files = tls_files  # (key, cert) PEM paths: smtpd offers STARTTLS
        self.running = False
        pw = pwd.getpwnam("postfix")
        self.vuid, self.vgid = pw.pw_uid, pw.pw_gid
        grp.getgrnam("postdrop")  # fails loudly when the package is half installed

    def write_config(self):
        for d in (self.conf, self.queue, self.data, self.mail):
            d.mkdir(parents=True, exist_ok=True)
        os.chown(self.data, self.vuid, self.vgid)
        os.chown(self.mail, self.vuid, self.vgid)
        (self.conf / "vmailbox").write_text(
            "".join(f"{u}@{self.domain} {self.domain}/{u}/\n" for u in self.users))
        (self.conf / "transport").write_text(
            "".join(f"{d} smtp:{hop}\n" for d, hop in self.transport.items()))
        main = {
            "compatibility_level": "3.6",
            "config_directory": str(self.conf),
            "queue_directory": str(self.queue),
            "data_directory": str(self.data),
            "maillog_file": str(self.log),
            "syslog_name": "postfix-posthorn-test",
            "myhostname": f"mx.{self.domain}",
            "mydomain": self.domain,
            "myorigin": "$mydomain",
            "mydestination": "",
            # Postfix accepts only addresses of configured interfaces here, and 127.0.0.4
            # is not one (only 127.0.0.1 is on lo): the smtpd line of master.cf names
            # address:port itself, so nothing but that one socket listens
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "relay_domains": ",".join(self.transport),
            "transport_maps": f"texthash:{self.conf}/transport",
            "virtual_mailbox_domains": self.domain,
            "virtual_mailbox_base": str(self.mail),
            "virtual_mailbox_maps": f"texthash:{self.conf}/vmailbox",
            "virtual_uid_maps": f"static:{self.vuid}",
            "virtual_gid_maps": f"static:{self.vgid}",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "smtp_dns_support_level": "disabled",
            "smtp_tls_security_level": "may",
            "smtpd_tls_security_level": "may" if self.tls_files else "none",
            "smtp_tls_loglevel": "1",
            "smtpd_tls_loglevel": "1",
            "smtputf8_enable": "no",
            "biff": "no",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "delay_warning_time": "0",
            "maillog_file_prefixes": str(self.dir),
        }
        if self.tls_files:
            main["smtpd_tls_chain_files"] = ", ".join(str(f) for f in self.tls_files)
        (self.conf / "main.cf").write_text("".join(f"{k} = {v}\n" for k, v in main.items()))
        master = MASTER_CF.format(address=self.address, port=self.port)
        (self.conf / "master.cf").write_text(master)

    def cmd(self, *args, timeout=60):
        return subprocess.run([POSTFIX, "-c", str(self.conf), *args], capture_output=True,
                              text=True, timeout=timeout)

    def start(self):
        self.write_config()
        r = self.cmd("check")
        if r.returncode != 0:
            raise PostfixError(f"postfix check failed: {r.stdout}{r.stderr}{self.log_text()}")
        r = self.cmd("start")
        if r.returncode != 0:
            raise PostfixError(f"postfix start failed: {r.stdout}{r.stderr}{self.log_text()}")
        self.running = True
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                with socket.create_connection((self.address, self.port), timeout=2) as s:
                    s.settimeout(5)
                    if s.recv(512).startswith(b"220"):
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise PostfixError(f"postfix does not answer on {self.address}:{self.port}; log:\n"
                           f"{self.log_text()}")

    def stop(self):
        if not self.running:
            return
        self.running = False
        pid = self.master_pid()
        self.cmd("stop")
        end = time.monotonic() + 20
        while time.monotonic() < end and pid is not None and alive(pid):
            time.sleep(0.1)
        if pid is not None and alive(pid):
            self.cmd("abort")

    def master_pid(self):
        """The pid in the private queue's master.pid (the file stays after a stop)."""
        try:
            return int((self.queue / "pid" / "master.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def maildir(self, user):
        """Every message in user's Maildir (new/ and cur/), as bytes."""
        out = []
        for sub in ("new", "cur"):
            d = self.mail / self.domain / user / sub
            if d.is_dir():
                out += [p.read_bytes() for p in sorted(d.iterdir())]
        return out
