"""
The DNS settings of outbound delivery (dns_resolver, dns_trust_anchor): `posthorn config check`
accepts good values and rejects bad ones with file:line:, `config show` prints them back; and the
test DNS server of tests/dnsserver.py, used in-process as later queue tests will use it,
answers over UDP and TCP on loopback.
"""

import re
import sys

import pytest

from conftest import REPO, describe_run

sys.path.insert(0, str(REPO / "tests"))
from dnsserver import DnsServer  # noqa: E402 (needs tests/ on the path)

from dnslib import QTYPE, RCODE, DNSRecord  # noqa: E402

OK, CONFIG = 0, 4


@pytest.fixture
def store(server_factory):
    """An initialised data dir, no server process (admin commands only)."""
    return server_factory(start=False, template=False)


def check_with(store, text):
    (store.dir / "conf.d" / "zz-dns.conf").write_text(text)
    return store.cli("config", "check")


def test_config_dns_keys_good(store):
    r = check_with(store, "dns_resolver = 127.0.0.1@5353, ::1\ndns_trust_anchor = none\n")
    assert r.returncode == OK, describe_run(r)
    r = store.cli("config", "show", "-n")
    assert r.returncode == OK, describe_run(r)
    assert "dns_resolver = 127.0.0.1@5353, ::1" in r.stdout, r.stdout
    assert "dns_trust_anchor = none" in r.stdout, r.stdout


@pytest.mark.parametrize("line", [
    "dns_resolver = resolver.example",
    "dns_resolver = 192.0.2.1:53",
    "dns_resolver = 192.0.2.1@70000",
    "dns_resolver = 192.0.2.1,",
    "dns_trust_anchor = root.key",
])
def test_config_dns_keys_bad(store, line):
    r = check_with(store, "# dns\n" + line + "\n")
    assert r.returncode == CONFIG, describe_run(r)
    assert re.search(r"zz-dns\.conf:2: dns_", r.stdout + r.stderr), describe_run(r)


ZONE = """
example.test. 300 IN MX 10 mx1.example.test.
mx1.example.test. 300 IN A 192.0.2.1
!servfail broken.example.test.
"""


def ask(port, name, qtype, tcp=False):
    q = DNSRecord.question(name, qtype)
    return DNSRecord.parse(q.send("127.0.0.1", port, tcp=tcp, timeout=5))


def test_dnsserver_in_process():
    with DnsServer(ZONE) as dns:
        for tcp in (False, True):
            r = ask(dns.port, "example.test", "MX", tcp)
            assert r.header.rcode == RCODE.NOERROR
            assert [str(rr.rdata) for rr in r.rr if rr.rtype == QTYPE.MX] == \
                ["10 mx1.example.test."]
        assert ask(dns.port, "nosuch.example.test", "A").header.rcode == RCODE.NXDOMAIN
        r = ask(dns.port, "mx1.example.test", "MX")
        assert r.header.rcode == RCODE.NOERROR and not r.rr and r.auth  # NODATA with SOA
        assert ask(dns.port, "broken.example.test", "A").header.rcode == RCODE.SERVFAIL
