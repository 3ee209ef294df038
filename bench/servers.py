"""
servers.py - the two systems under test, each configured on loopback in a temporary directory:
Posthorn (`posthorn init` plus a conf.d drop-in) and Postfix + Dovecot (Postfix with its own
config_directory and queue_directory, `postfix -c DIR`, delivering a virtual domain through
Dovecot LMTP into Maildir; Dovecot with its own base_dir and config file, `dovecot -c FILE`,
serving IMAP and POP3, users in a passwd-file).

What it does not do: touch the system's own Postfix or Dovecot configuration or services, or
stop any process it did not start (Posthorn by the pid of its Popen, Postfix by `postfix -c DIR
stop`, Dovecot by `doveadm -c FILE stop` and then the pid of its master).

Both systems get the same accounts with the same password hash (Posthorn's yescrypt hash is
copied into Dovecot's passwd-file as {CRYPT}), so a LOGIN costs the same on both. The account
used for the idle-connection load also gets a SCRAM-SHA-256 entry on Dovecot and logs in with
SCRAM on both (a yescrypt verification per connection would make 10,000 logins take an hour).
"""

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time

DOMAIN = "bench.test"
PASSWORD = "bench-Secret-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, seconds, proc=None):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    r = subprocess.run(cmd, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {r.returncode}: "
                           f"{(r.stderr or '')[-800:]}{(r.stdout or '')[-400:]}")
    return r


def run_daemon(cmd, logpath, timeout=120):
    """A command that leaves a daemon behind: its output goes to a file, not to a pipe the
    daemon would keep open."""
    with open(logpath, "ab") as f:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=f, timeout=timeout)
    if r.returncode != 0:
        with open(logpath, errors="replace") as f:
            tail = f.read()[-800:]
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {r.returncode}: {tail}")


def descendants(root):
    """root and every process below it (from /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
            ppid = int(st[st.rindex(")") + 2:].split()[1])
        except (OSError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def pss_kib(pids):
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


# ------------------------------------------------------------------------------------------

class Posthorn:
    name = "Posthorn"

    def __init__(self, root, binary, users, scram_users):
        self.dir = os.path.join(root, "posthorn")
        self.bin = binary
        self.conf = os.path.join(self.dir, "posthorn.conf")
        self.dropin = os.path.join(self.dir, "conf.d", "90-bench.conf")
        self.log = os.path.join(self.dir, "server.log")
        self.users = list(users) + list(scram_users)
        self.proc = None
        self.smtp_port = free_port()
        self.submission_port = free_port()
        self.imap_port = free_port()
        self.pop3_port = free_port()
        self.extra = {}
        self.hashes = {}

    def cli(self, *args, input=None, timeout=120):
        return run([self.bin, *args, "-c", self.conf], input=input, timeout=timeout)

    def setup(self):
        run([self.bin, "init", "--dir", self.dir, "--domain", DOMAIN,
             "--hostname", "mx.posthorn.bench"])
        self.write_dropin()
        for u in self.users:
            self.cli("account", "add", f"{u}@{DOMAIN}", "--password-stdin",
                     input=PASSWORD + "\n")
        db = sqlite3.connect(os.path.join(self.dir, "posthorn.db"))
        try:
            for addr, h in db.execute("SELECT address, password_hash FROM accounts"):
                self.hashes[addr] = h
        finally:
            db.close()

    def write_dropin(self):
        s = {
            "smtp_listen": f"127.0.0.1:{self.smtp_port}",
            "submission_listen": f"127.0.0.1:{self.submission_port}",
            "submissions_listen": "",
            "imap_listen": f"127.0.0.1:{self.imap_port}",
            "imaps_listen": "",
            "pop3_listen": f"127.0.0.1:{self.pop3_port}",
            "pop3s_listen": "",
            "auth_failure_delay": "0",
            "smtp_max_connections": "2000",
            "pop3_max_connections": "2000",
            "relayhost": "[127.0.0.1]:9",
            "queue_retry_min": "1s",
            "queue_retry_max": "2s",
            "queue_scan_interval": "1s",
        }
        s.update(self.extra)
        with open(self.dropin, "w") as f:
            f.write("# written by bench/servers.py\n")
            for k, v in s.items():
                f.write(f"{k} = {v}\n")

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([self.bin, "serve", "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=logf, stderr=logf, cwd=self.dir)
        logf.close()
        for port in (self.smtp_port, self.imap_port, self.pop3_port):
            if not wait_port(port, 60, self.proc):
                raise RuntimeError(f"posthorn serve did not start; log tail:\n{self.log_tail()}")

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)

    def log_tail(self, n=30):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def pids(self):
        return descendants(self.proc.pid) if self.proc and self.proc.poll() is None else []

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


# ------------------------------------------------------------------------------------------

DOVECOT_CONF = """# written by bench/servers.py
base_dir = {d}/run
state_dir = {d}/state
instance_name = posthorn-bench-dovecot
protocols = imap pop3 lmtp
listen = 127.0.0.1
log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login scram-sha-256
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:{d}/mail/%n/Maildir
mail_max_userip_connections = 20000
default_process_limit = 12000
default_client_limit = 24000
default_vsz_limit = 1G
passdb {{
  driver = passwd-file
  args = username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
  process_limit = 12000
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
service imap {{
  process_limit = 12000
}}
service anvil {{
  client_limit = 30000
}}
service auth {{
  client_limit = 30000
}}
protocol lmtp {{
  postmaster_address = postmaster@{domain}
}}
"""

POSTFIX_MAIN = """# written by bench/servers.py
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.peer.bench
mydomain = peer.bench
myorigin = $myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
virtual_mailbox_domains = {domain}
virtual_transport = lmtp:inet:127.0.0.1:{lmtp}
relayhost = {relayhost}
smtp_tls_security_level = none
smtpd_tls_security_level = none
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
biff = no
"""


class Peer:
    """Postfix (SMTP in, queue, relay out) + Dovecot (LMTP, IMAP, POP3)."""
    name = "Postfix+Dovecot"

    def __init__(self, root, users, scram_users, hashes):
        self.dir = os.path.join(root, "peer")
        self.dc = os.path.join(self.dir, "dovecot")
        self.pf = os.path.join(self.dir, "postfix")
        self.dc_conf = os.path.join(self.dc, "dovecot.conf")
        self.users = list(users)
        self.scram_users = list(scram_users)
        self.hashes = hashes
        self.smtp_port = free_port()
        self.imap_port = free_port()
        self.pop3_port = free_port()
        self.lmtp_port = free_port()
        self.relayhost = "[127.0.0.1]:9"
        self.dc_master = None
        self.dc_started = False
        self.pf_running = False

    def setup(self):
        import pwd
        import grp
        nobody = pwd.getpwnam("nobody")
        for p in (self.dc, self.pf, os.path.join(self.dc, "mail"), os.path.join(self.pf, "data"),
                  os.path.join(self.pf, "queue")):
            os.makedirs(p, exist_ok=True)
            os.chmod(p, 0o755)
        os.chown(os.path.join(self.dc, "mail"), nobody.pw_uid, nobody.pw_gid)
        with open(self.dc_conf, "w") as f:
            f.write(DOVECOT_CONF.format(d=self.dc, uid=nobody.pw_uid, gid=nobody.pw_gid,
                                        imap=self.imap_port, pop3=self.pop3_port,
                                        lmtp=self.lmtp_port, domain=DOMAIN))
        lines = []
        for u in self.users:
            h = self.hashes.get(f"{u}@{DOMAIN}")
            lines.append(f"{u}@{DOMAIN}:{{CRYPT}}{h}" if h else f"{u}@{DOMAIN}:{{PLAIN}}{PASSWORD}")
        for u in self.scram_users:
            h = run(["doveadm", "pw", "-s", "SCRAM-SHA-256", "-p", PASSWORD]).stdout.strip()
            lines.append(f"{u}@{DOMAIN}:{h}")
        with open(os.path.join(self.dc, "users"), "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(os.path.join(self.dc, "users"), 0o644)
        self.write_postfix()
        try:
            os.chown(os.path.join(self.pf, "data"), pwd.getpwnam("postfix").pw_uid,
                     grp.getgrnam("postfix").gr_gid)
        except KeyError:
            pass

    def write_postfix(self):
        with open(os.path.join(self.pf, "main.cf"), "w") as f:
            f.write(POSTFIX_MAIN.format(d=self.pf, domain=DOMAIN, lmtp=self.lmtp_port,
                                        relayhost=self.relayhost))
        src = "/etc/postfix/master.cf"
        if not os.path.exists(src):
            src = "/usr/share/postfix/master.cf.dist"
        shutil.copy(src, os.path.join(self.pf, "master.cf"))
        pc = ["postconf", "-c", self.pf]
        run(pc + ["-MX", "smtp/inet"])
        run(pc + ["-M", f"127.0.0.1:{self.smtp_port}/inet="
                  f"127.0.0.1:{self.smtp_port} inet n - n - - smtpd"])
        run(pc + ["-F", "*/*/chroot = n"])

    def set_relayhost(self, value):
        self.relayhost = value
        run(["postconf", "-c", self.pf, "-e", f"relayhost = {value}"])

    def start(self):
        self.start_dovecot()
        self.start_postfix()

    def start_dovecot(self):
        self.dc_started = True
        run_daemon(["dovecot", "-c", self.dc_conf], os.path.join(self.dc, "start.log"))
        pidfile = os.path.join(self.dc, "run", "master.pid")
        for _ in range(200):
            if os.path.exists(pidfile):
                break
            time.sleep(0.05)
        with open(pidfile) as f:
            self.dc_master = int(f.read().strip())
        for port in (self.imap_port, self.pop3_port, self.lmtp_port):
            if not wait_port(port, 30):
                raise RuntimeError("dovecot did not start: " + self.dovecot_log_tail())

    def start_postfix(self):
        self.pf_running = True
        run_daemon(["postfix", "-c", self.pf, "start"], os.path.join(self.pf, "start.log"))
        if not wait_port(self.smtp_port, 60):
            raise RuntimeError("postfix did not start (see " + self.pf + "/maillog)")

    def stop_postfix(self):
        if self.pf_running:
            subprocess.run(["postfix", "-c", self.pf, "stop"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
            self.pf_running = False
            # master exits asynchronously; wait until the port is free
            for _ in range(200):
                try:
                    with socket.create_connection(("127.0.0.1", self.smtp_port), timeout=0.5):
                        time.sleep(0.05)
                except OSError:
                    break

    def stop_dovecot(self):
        if not self.dc_started:
            return
        self.dc_started = False
        subprocess.run(["doveadm", "-c", self.dc_conf, "stop"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        if self.dc_master is None:
            return
        for _ in range(300):
            if not os.path.exists(f"/proc/{self.dc_master}"):
                break
            time.sleep(0.1)
        else:
            try:
                os.kill(self.dc_master, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.dc_master = None

    def stop(self):
        self.stop_postfix()
        self.stop_dovecot()

    def dovecot_log_tail(self, n=20):
        try:
            with open(os.path.join(self.dc, "dovecot.log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def dovecot_pids(self):
        return descendants(self.dc_master) if self.dc_master else []

    def queue_count(self, sub):
        n = 0
        for _root, _dirs, files in os.walk(os.path.join(self.pf, "queue", sub)):
            n += len(files)
        return n
