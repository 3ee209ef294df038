#!/usr/bin/python3
"""
dnsserver.py - a small authoritative DNS server for Posthorn's tests (dns/ unit tests, queue
tests): serves records from a zone text on 127.0.0.1 over UDP and TCP (one port), and can be
told to answer SERVFAIL or REFUSED, to be slow, or to never answer, for chosen names. Optionally
it DNSSEC-signs one zone (ldns-keygen + ldns-signzone from Debian's ldnsutils) and writes the
trust anchor for it, so that tests can see secure, insecure and bogus answers.

What it does not do: no wildcards, no delegations, no zone transfers, no NSEC proofs for
negative answers in a signed zone (they come out bogus), no non-IN classes. It never listens on
anything but loopback.

Zone text (a file, or a string given to DnsServer): zone-file lines as dnslib reads them
(absolute names, e.g. "mx1.example.test. 300 IN A 192.0.2.1"; $ORIGIN and $TTL work), plus
directive lines starting with '!':
    !servfail NAME            every question about NAME gets RCODE SERVFAIL
    !refused NAME             ... RCODE REFUSED
    !timeout NAME             questions about NAME are never answered (UDP and TCP)
    !delay SECONDS NAME       answer NAME after SECONDS (other names are not held up)
    !sign ORIGIN              sign the records at and below ORIGIN (needs --trust-anchor)
    !corrupt NAME TYPE RDATA  after signing, replace the RDATA of NAME's TYPE records (their
                              RRSIG no longer matches: the answer is bogus)
Answers: the records of the asked type; a CNAME at the name is followed inside the data (at
most 8 steps). A name with no records but names below it exists (NODATA), any other unknown
name is NXDOMAIN. Negative answers carry an SOA: the nearest one in the data, else a made-up
one at the name's top-level label. A UDP answer larger than the client's EDNS size (512 without
EDNS) is sent truncated (TC) so that the client retries over TCP.

From a shell:
    /usr/bin/python3 tests/dnsserver.py --zone zone.txt [--port 0] [--trust-anchor ta.key]
prints "port N" on stdout once it serves (N = the port, chosen free when --port is 0), and runs
until SIGTERM or SIGINT. Then e.g. `dig -p N @127.0.0.1 example.test MX`.

From pytest (tests/proto): put tests/ on sys.path and use the class, which serves from threads
of the test process itself:
    sys.path.insert(0, str(REPO / "tests"))
    from dnsserver import DnsServer
    with DnsServer(ZONE_TEXT) as dns:       # dns.port; dns.trust_anchor with !sign
        ... write "dns_resolver = 127.0.0.1@%d" % dns.port into posthorn.conf ...

Needs python3-dnslib (tools/deps.sh test installs it); fails loudly without it.
"""

import argparse
import os
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time

try:
    from dnslib import CLASS, DNSHeader, DNSRecord, EDNS0, QTYPE, RCODE, RR, DNSLabel
except ImportError:  # pragma: no cover - a missing dependency must be visible
    sys.stderr.write("dnsserver.py: python3-dnslib is not installed "
                     "(apt-get install python3-dnslib, or: sh tools/deps.sh test)\n")
    sys.exit(3)

MAX_CNAME = 8


def _key(name):
    """Case-folded DNSLabel for dictionary keys."""
    return DNSLabel(str(name).lower())


class Zone:
    def __init__(self, text, trust_anchor=None, workdir=None):
        self.records = []  # list of RR
        self.servfail, self.refused, self.timeout = set(), set(), set()
        self.delay = {}
        self.sign_origin = None
        self.corrupt = []
        lines = []
        for line in text.splitlines():
            s = line.strip()
            if s.startswith("!"):
                self._directive(s[1:].split())
            else:
                lines.append(line)
        self.records = list(RR.fromZone("\n".join(lines) + "\n")) if lines else []
        if self.sign_origin is not None:
            if trust_anchor is None:
                raise ValueError("!sign needs a trust anchor output file")
            self._sign(trust_anchor, workdir)
        for name, qtype, rdata in self.corrupt:
            for rr in self.records:
                if _key(rr.rname) == name and rr.rtype == qtype:
                    rr.rdata = RR.fromZone("x. 1 IN %s %s" % (QTYPE[qtype], rdata))[0].rdata
        self._index()

    def _directive(self, words):
        if not words:
            raise ValueError("empty directive")
        op = words[0]
        if op in ("servfail", "refused", "timeout") and len(words) == 2:
            getattr(self, op).add(_key(words[1]))
        elif op == "delay" and len(words) == 3:
            self.delay[_key(words[2])] = float(words[1])
        elif op == "sign" and len(words) == 2:
            self.sign_origin = words[1]
        elif op == "corrupt" and len(words) >= 4:
            self.corrupt.append((_key(words[1]), getattr(QTYPE, words[2].upper()),
                                 " ".join(words[3:])))
        else:
            raise ValueError("bad directive: !" + " ".join(words))

    def _sign(self, trust_anchor, workdir):
        origin = _key(self.sign_origin)
        inside = [rr for rr in self.records if _key(rr.rname).matchSuffix(origin)]
        outside = [rr for rr in self.records if not _key(rr.rname).matchSuffix(origin)]
        if not any(rr.rtype == QTYPE.SOA and _key(rr.rname) == origin for rr in inside):
            inside.insert(0, RR.fromZone("%s 300 IN SOA ns.%s hostmaster.%s 1 3600 600 86400 60"
                                         % (origin, origin, origin))[0])
        tmp = tempfile.mkdtemp(prefix="dnssign-", dir=workdir)
        try:
            zonefile = os.path.join(tmp, "zone")
            with open(zonefile, "w") as f:
                for rr in inside:
                    f.write(rr.toZone() + "\n")
            # ECDSA P-256 (algorithm 13): quick to make and to check.
            out = subprocess.run(["ldns-keygen", "-a", "ECDSAP256SHA256", "-k", str(origin)],
                                 cwd=tmp, check=True, capture_output=True, text=True, timeout=60)
            keybase = out.stdout.strip()
            # Signed afresh on every start: valid from yesterday for 30 days.
            stamp = lambda t: time.strftime("%Y%m%d%H%M%S", time.gmtime(t))
            now = time.time()
            subprocess.run(["ldns-signzone", "-i", stamp(now - 86400), "-e",
                            stamp(now + 30 * 86400), "-o", str(origin),
                            "zone", keybase], cwd=tmp, check=True, capture_output=True,
                           timeout=60)
            with open(os.path.join(tmp, "zone.signed")) as f:
                signed = list(RR.fromZone(f.read()))
            with open(os.path.join(tmp, keybase + ".key")) as f:
                key = f.read()
            with open(trust_anchor, "w") as f:
                f.write(key)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.records = outside + signed

    def _index(self):
        self.names = {}
        self.exists = set()
        self.soas = {}
        for rr in self.records:
            k = _key(rr.rname)
            self.names.setdefault(k, []).append(rr)
            if rr.rtype == QTYPE.SOA:
                self.soas[k] = rr
            label = k
            while True:
                self.exists.add(label)
                if len(label.label) == 0:
                    break
                label = DNSLabel(label.label[1:])

    def soa_for(self, name):
        label = name
        while True:
            if label in self.soas:
                return self.soas[label]
            if len(label.label) == 0:
                break
            label = DNSLabel(label.label[1:])
        top = DNSLabel(name.label[-1:]) if name.label else DNSLabel(".")
        return RR.fromZone("%s 60 IN SOA ns.invalid. hostmaster.invalid. 1 3600 600 86400 60"
                           % top)[0]

    def answer(self, request, dnssec_ok):
        """The reply to request, or None to stay silent."""
        q = request.q
        name = _key(q.qname)
        reply = request.reply()
        reply.header.aa = 1
        if name in self.timeout:
            return None
        if name in self.delay:
            time.sleep(self.delay[name])
        if name in self.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if name in self.refused:
            reply.header.rcode = RCODE.REFUSED
            return reply
        for _ in range(MAX_CNAME + 1):
            rrs = self.names.get(name, [])
            found = [rr for rr in rrs if rr.rtype == q.qtype or
                     (q.qtype == QTYPE.ANY and rr.rtype != QTYPE.RRSIG)]
            cname = [rr for rr in rrs if rr.rtype == QTYPE.CNAME]
            if not found and cname and q.qtype != QTYPE.CNAME:
                reply.add_answer(cname[0])
                self._add_sigs(reply, rrs, QTYPE.CNAME, dnssec_ok)
                name = _key(cname[0].rdata.label)
                continue
            break
        if found:
            for rr in found:
                reply.add_answer(rr)
            self._add_sigs(reply, rrs, q.qtype, dnssec_ok)
            return reply
        if name not in self.exists:
            reply.header.rcode = RCODE.NXDOMAIN
        reply.add_auth(self.soa_for(name))
        return reply

    @staticmethod
    def _add_sigs(reply, rrs, qtype, dnssec_ok):
        if not dnssec_ok:
            return
        for rr in rrs:
            if rr.rtype == QTYPE.RRSIG and rr.rdata.covered == qtype:
                reply.add_answer(rr)


def _handle(zone, data, udp):
    """Wire reply for the query bytes data, or None."""
    try:
        request = DNSRecord.parse(data)
    except Exception:
        return None
    edns = [rr for rr in request.ar if rr.rtype == QTYPE.OPT]
    dnssec_ok = bool(edns) and bool(edns[0].ttl & 0x8000)
    if request.header.opcode != 0 or len(request.questions) != 1:
        reply = request.reply()
        reply.header.rcode = RCODE.NOTIMP if request.header.opcode != 0 else RCODE.FORMERR
    else:
        reply = zone.answer(request, dnssec_ok)
        if reply is None:
            return None
    if edns:
        reply.add_ar(EDNS0(udp_len=1232, flags="do" if dnssec_ok else ""))
    wire = reply.pack()
    limit = max(512, edns[0].rclass) if edns else 512
    if udp and len(wire) > limit:
        short = DNSRecord(DNSHeader(id=request.header.id, qr=1, aa=1, tc=1, rd=request.header.rd,
                                    ra=0), q=request.q)
        wire = short.pack()
    return wire


class _UDPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        wire = _handle(self.server.zone, data, True)
        if wire is not None:
            sock.sendto(wire, self.client_address)


class _TCPHandler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.settimeout(30)
        try:
            while True:
                head = self._read(sock, 2)
                if head is None:
                    return
                data = self._read(sock, struct.unpack("!H", head)[0])
                if data is None:
                    return
                wire = _handle(self.server.zone, data, False)
                if wire is not None:
                    sock.sendall(struct.pack("!H", len(wire)) + wire)
        except OSError:
            return

    @staticmethod
    def _read(sock, n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf


class _UDPServer(socketserver.ThreadingMixIn, socketserver.UDPServer):
    daemon_threads = True
    allow_reuse_address = False


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class DnsServer:
    """Serves zone text on 127.0.0.1:port (UDP and TCP) from background threads."""

    def __init__(self, text, port=0, trust_anchor=None, workdir=None):
        if trust_anchor is None and "!sign" in text:
            self._tmp = tempfile.mkdtemp(prefix="dnsta-")
            trust_anchor = os.path.join(self._tmp, "trust-anchor.key")
        else:
            self._tmp = None
        self.trust_anchor = trust_anchor
        self.zone = Zone(text, trust_anchor, workdir)
        self.port = None
        self._want = port
        self._servers = []

    def start(self):
        for _ in range(20):  # a free UDP port whose TCP twin is free too
            udp = _UDPServer(("127.0.0.1", self._want), _UDPHandler)
            port = udp.server_address[1]
            try:
                tcp = _TCPServer(("127.0.0.1", port), _TCPHandler)
            except OSError:
                udp.server_close()
                if self._want:
                    raise
                continue
            break
        else:
            raise OSError("no free port for UDP and TCP")
        for srv in (udp, tcp):
            srv.zone = self.zone
            threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                             daemon=True).start()
        self._servers = [udp, tcp]
        self.port = port
        return self

    def stop(self):
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        self._servers = []
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main():
    ap = argparse.ArgumentParser(description="authoritative test DNS server on 127.0.0.1")
    ap.add_argument("--zone", required=True, help="zone text file (see the module comment)")
    ap.add_argument("--port", type=int, default=0, help="port; 0 = a free one (default)")
    ap.add_argument("--trust-anchor", help="where !sign writes the zone's DNSKEY")
    args = ap.parse_args()
    with open(args.zone) as f:
        text = f.read()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    server = DnsServer(text, args.port, args.trust_anchor).start()
    print("port %d" % server.port, flush=True)
    while not stop.wait(1.0):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
