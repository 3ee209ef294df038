"""
The admin command line: stable exit codes (0 ok, 1 usage, 2 not found, 3 exists, 4 config,
5 store/other), --json listings that parse and list what was added, `config check` with
file:line: errors, `config show -n` (only changed keys), and changes made while the server runs
taking effect at once (new password, deleted account, new domain).
"""

import json
import re

import pytest

from conftest import BOB, USER, USER_PW, Server, describe_run, make_message, smtp_send

OK, USAGE, NOT_FOUND, EXISTS, CONFIG, FAILURE = 0, 1, 2, 3, 4, 5


def strings_in(value):
    """Every string anywhere inside a parsed JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)


def listing(srv, what):
    r = srv.cli(what, "list", "--json")
    assert r.returncode == OK, describe_run(r)
    try:
        parsed = json.loads(r.stdout)
    except ValueError as e:
        raise AssertionError(f"`{what} list --json` is not JSON ({e}): {r.stdout!r}") from None
    return parsed, set(strings_in(parsed))


def expect(r, code):
    assert r.returncode == code, f"want exit {code}\n" + describe_run(r)
    if code != OK:
        assert r.stderr.strip(), "a failing command should say why on stderr"


@pytest.fixture
def store(server_factory):
    """An initialised data dir, no server process (admin commands only)."""
    return server_factory(start=False, template=False)


def test_domain_add_list_del(store):
    expect(store.cli("domain", "add", "example.test"), OK)
    expect(store.cli("domain", "add", "example.test"), EXISTS)
    parsed, names = listing(store, "domain")
    assert isinstance(parsed, list)
    assert {"localhost", "example.test"} <= names, parsed
    plain = store.cli("domain", "list")
    expect(plain, OK)
    assert "example.test" in plain.stdout.split()
    expect(store.cli("domain", "del", "example.test"), OK)
    expect(store.cli("domain", "del", "example.test"), NOT_FOUND)
    _, names = listing(store, "domain")
    assert "example.test" not in names and "localhost" in names


def test_domain_catchall(store):
    expect(store.cli("domain", "catchall", "nosuch.test", USER), NOT_FOUND)
    expect(store.cli("domain", "add", "example.test"), OK)
    expect(store.cli("domain", "catchall", "example.test", USER), OK)
    parsed, names = listing(store, "domain")
    assert USER in names, parsed


def test_account_add_list_del(store):
    expect(store.cli("account", "add", "carol@localhost", "--password-stdin",
                     input="carol-pw\n"), OK)
    expect(store.cli("account", "add", "carol@localhost", "--password-stdin",
                     input="carol-pw\n"), EXISTS)
    expect(store.cli("account", "add", "CAROL@LOCALHOST", "--password-stdin",
                     input="carol-pw\n"), EXISTS)  # addresses are case-insensitive
    parsed, names = listing(store, "account")
    assert {"carol@localhost", USER, BOB} <= names, parsed
    expect(store.cli("account", "del", "carol@localhost"), OK)
    expect(store.cli("account", "del", "carol@localhost"), NOT_FOUND)
    _, names = listing(store, "account")
    assert "carol@localhost" not in names and USER in names


def test_account_in_unknown_domain_refused(store):
    r = store.cli("account", "add", "dave@nosuch.test", "--password-stdin", input="pw\n")
    expect(r, NOT_FOUND)  # the domain is not found
    _, names = listing(store, "account")
    assert "dave@nosuch.test" not in names


def test_account_passwd_unknown_is_not_found(store):
    expect(store.cli("account", "passwd", "nobody@localhost", "--password-stdin",
                     input="x\n"), NOT_FOUND)


def test_alias_add_list_del(store):
    expect(store.cli("alias", "add", "team@localhost", USER, BOB), OK)
    expect(store.cli("alias", "add", "team@localhost", USER), EXISTS)
    parsed, names = listing(store, "alias")
    assert {"team@localhost", USER, BOB} <= names, parsed
    expect(store.cli("alias", "del", "team@localhost"), OK)
    expect(store.cli("alias", "del", "team@localhost"), NOT_FOUND)
    _, names = listing(store, "alias")
    assert "team@localhost" not in names


def test_empty_listings_are_json(store):
    parsed, names = listing(store, "alias")
    assert not names, parsed


@pytest.mark.parametrize("args", [
    ("frobnicate",),
    ("domain",),
    ("domain", "add"),
    ("domain", "explode", "x.test"),
    ("account", "add"),
    ("alias", "add", "lonely@localhost"),
    ("account", "list", "--no-such-option"),
])
def test_usage_errors_exit_1(store, args):
    expect(store.cli(*args), USAGE)


def test_config_check_good(store):
    r = store.cli("config", "check")
    expect(r, OK)


def test_config_check_bad_key_file_line(store):
    bad = store.dir / "conf.d" / "zz-bad.conf"
    bad.write_text("# a comment\n\nno_such_key = 1\n")
    r = store.cli("config", "check")
    assert r.returncode == CONFIG, describe_run(r)
    out = r.stdout + r.stderr
    assert re.search(r"zz-bad\.conf:3:", out), f"no file:line: in\n{out}"
    # serve refuses the same file, quickly and with the same exit code
    r = store.run("serve", "-c", str(store.conf_file), timeout=30)
    assert r.returncode == CONFIG, describe_run(r)


def test_config_check_bad_value_file_line(store):
    (store.dir / "conf.d" / "zz-bad.conf").write_text("smtp_recipient_limit = 5\n")
    r = store.cli("config", "check")
    assert r.returncode == CONFIG, describe_run(r)
    assert re.search(r"zz-bad\.conf:1:", r.stdout + r.stderr), describe_run(r)
    (store.dir / "conf.d" / "zz-bad.conf").write_text("smtp_command_timeout = soon\n")
    r = store.cli("config", "check")
    assert r.returncode == CONFIG and re.search(r"zz-bad\.conf:1:", r.stdout + r.stderr), \
        describe_run(r)


def test_config_show_n_only_changed(store):
    r = store.cli("config", "show", "-n")
    expect(r, OK)
    shown = {}
    for line in r.stdout.splitlines():
        if line.strip():
            key, sep, value = line.partition("=")
            assert sep, f"not 'key = value': {line!r}"
            shown[key.strip()] = value.strip()
    settings = store.settings()
    # what the drop-in changed is there, with the drop-in's value
    assert shown.get("smtp_listen") == settings["smtp_listen"], shown
    assert shown.get("pop3_listen") == settings["pop3_listen"], shown
    assert shown.get("hostname") == settings["hostname"], shown
    # and nothing that no file sets
    set_anywhere = set(settings)
    files = [store.conf_file] + sorted((store.conf_file.parent / "conf.d").glob("*.conf"))
    for f in files:
        for line in f.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                set_anywhere.add(line.split("=", 1)[0].strip())
    assert set(shown) <= set_anywhere, f"unchanged keys shown: {set(shown) - set_anywhere}"
    full = store.cli("config", "show")
    expect(full, OK)
    full_keys = {ln.split("=", 1)[0].strip() for ln in full.stdout.splitlines() if "=" in ln}
    assert "pop3_timeout" in full_keys and "pop3_timeout" not in shown
    assert set(shown) < full_keys


def test_dropin_overrides_main_file(store):
    # conf.d/*.conf override posthorn.conf: the drop-in's smtp_recipient_limit wins
    with open(store.conf_file, "a") as f:
        f.write("\nsmtp_recipient_limit = 500\n")
    r = store.cli("config", "show", "-n")
    expect(r, OK)
    values = dict(ln.split("=", 1) for ln in r.stdout.splitlines() if "=" in ln)
    values = {k.strip(): v.strip() for k, v in values.items()}
    assert values.get("smtp_recipient_limit") == "100", r.stdout


def test_missing_config_file_is_config_error(store):
    r = store.run("domain", "list", "-c", str(store.dir / "nope.conf"))
    assert r.returncode == CONFIG, describe_run(r)


def test_generated_password_works(server):
    r = server.cli("account", "add", "gen@localhost")
    expect(r, OK)
    m = re.search(r"^password: (\S+)$", r.stdout, re.M)
    assert m, f"no 'password: XXXX' line: {r.stdout!r}"
    with server.pop3("gen@localhost", m.group(1)) as p:
        assert p.stat() == (0, 0)
        p.quit()


def test_account_passwd_changes_pop3_password(server):
    r = server.cli("account", "passwd", USER, "--password-stdin", input="brand-New-pw\n")
    expect(r, OK)
    assert "brand-New-pw" not in r.stdout + r.stderr
    with server.pop3() as p:
        p.ok(f"USER {USER}")
        assert p.cmd(f"PASS {USER_PW}").startswith(b"-ERR"), "the old password still works"
    with server.pop3(USER, "brand-New-pw") as p:
        p.quit()


def test_deleted_account_rcpt_550(server):
    with server.smtp() as c:
        c.begin(rcpts=[BOB])
    expect(server.cli("account", "del", BOB), OK)
    with server.smtp() as c:
        c.begin(rcpts=())
        r = c.cmd(f"RCPT TO:<{BOB}>")
        assert r.code == 550 and r.enhanced == "5.1.1", r
    with server.pop3() as p:
        p.ok(f"USER {BOB}")
        assert p.cmd(f"PASS {server.accounts[BOB]}").startswith(b"-ERR")


def test_new_domain_and_alias_live(server):
    expect(server.cli("domain", "add", "fresh.test"), OK)
    server.add_account("new@fresh.test", "new-Secret-5")
    expect(server.cli("alias", "add", "info@fresh.test", "new@fresh.test"), OK)
    msg = make_message("live", b"no restart needed\r\n", to="info@fresh.test")
    smtp_send(server, "sender@example.org", ["info@fresh.test"], msg)
    assert len(server.messages("new@fresh.test")) == 1
    expect(server.cli("alias", "del", "info@fresh.test"), OK)
    with server.smtp() as c:
        c.begin(rcpts=())
        assert c.cmd("RCPT TO:<info@fresh.test>").code == 550
    expect(server.cli("account", "del", "new@fresh.test"), OK)
    expect(server.cli("domain", "del", "fresh.test"), OK)
    with server.smtp() as c:
        c.begin(rcpts=())
        r = c.cmd("RCPT TO:<new@fresh.test>")
        assert r.code in (550, 554) and r.enhanced == "5.7.1", r


def test_init_refuses_existing_dir(store):
    r = store.run("init", "--dir", str(store.dir))
    assert r.returncode == EXISTS, describe_run(r)


def test_init_defaults(data_base):
    s = Server(data_base / "fresh", accounts={})
    r = s.run("init", "--dir", str(s.dir))
    assert r.returncode == OK, describe_run(r)
    assert s.conf_file.is_file()
    parsed, names = listing(s, "domain")
    assert names == {"localhost"}, parsed
    r = s.cli("config", "check")
    assert r.returncode == OK, describe_run(r)



def test_fresh_init_serves(server_factory):
    # the whole path without the session template: init, account add, serve, deliver, fetch
    srv = server_factory(template=False)
    msg = make_message("fresh", b"from a freshly initialised data dir\r\n")
    smtp_send(srv, "sender@example.org", [USER], msg)
    got = srv.messages(USER)
    assert len(got) == 1 and got[0].endswith(msg)
