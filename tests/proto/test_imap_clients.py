"""
A real IMAP client library beside the sync tools of test_imap_sync.py: Perl's Mail::IMAPClient
(Debian libmail-imapclient-perl) drives one whole session against Posthorn on loopback, the way
the many Perl mail scripts in the wild (imapsync's ancestors, cron jobs, ticket systems) do:

  login; LIST; CREATE of nested folders (with the separator the library learnt from the
  server); SUBSCRIBE and LSUB; APPEND with flags and a date (APPENDUID read by the library);
  SELECT; SEARCH; FETCH of the whole message, a header field, the size, the flags and the
  internal date; STORE +FLAGS and -FLAGS; COPY (COPYUID); the library's move() (COPY, then
  \\Deleted) and UID MOVE (RFC 6851); STORE \\Deleted and EXPUNGE; EXAMINE; RENAME and
  DELETE of a folder; LOGOUT.

Every step is checked inside the Perl script (it stops with the library's LastError at the
first wrong answer and prints "ok N - what" per step); afterwards Python's imaplib checks the
server's state independently (which folder holds which message with which flags).

Needs perl and Mail::IMAPClient (tools/deps.sh test: libmail-imapclient-perl); a missing
module fails the test.
"""

import imaplib
import re
import subprocess

import pytest

from conftest import free_port, require_tool

TIMEOUT = 20
ALICE, ALICE_PW = "alice@localhost", "alice-Secret-3"

PERL_SESSION = r"""
use strict;
use warnings;
use Mail::IMAPClient;

my ($host, $port, $user, $pass) = @ARGV;
my $n = 0;
my $imap;

sub check {
	my ($cond, $what) = @_;
	$n++;
	unless ($cond) {
		my $err = $imap ? ($imap->LastError // '') : ($@ // '');
		print "not ok $n - $what: $err\n";
		exit 1;
	}
	print "ok $n - $what\n";
}

# flags without \Recent (RFC 3501 2.3.2: it depends on which session saw the message first)
sub flags_of {
	my ($uid) = @_;
	return join ' ', sort grep { $_ ne '\\Recent' } @{ $imap->flags($uid) };
}

sub msg {
	my ($subject, $body) = @_;
	return "From: <perl\@example.org>\r\nTo: <$user>\r\nSubject: $subject\r\n"
	    . "Message-ID: <$subject.perl\@example.org>\r\n"
	    . "Date: Tue, 03 Mar 2026 10:00:00 +0000\r\n\r\n$body\r\n";
}

$imap = Mail::IMAPClient->new(Server => $host, Port => $port, User => $user,
    Password => $pass, Uid => 1, Timeout => 20, Ignoresizeerrors => 0);
check($imap && $imap->IsAuthenticated, "login");
check($imap->has_capability('IMAP4rev1') || $imap->has_capability('IMAP4rev2'),
    "capability IMAP4rev1/IMAP4rev2");
check($imap->has_capability('UIDPLUS'), "capability UIDPLUS");

my $sep = $imap->separator('INBOX');
check(defined $sep && $sep eq '/', "separator '/'");
my @folders = $imap->folders;
check((grep { $_ eq 'INBOX' } @folders) == 1, "LIST has INBOX");

my $top = "Clients";
my $box = "$top${sep}Perl";
my $deep = "$box${sep}Deep";
check($imap->create($box), "CREATE $box");
check($imap->create($deep), "CREATE $deep");
check(!$imap->create($box), "CREATE of an existing folder refused");
@folders = $imap->folders($top);
check((grep { $_ eq $box } @folders) && (grep { $_ eq $deep } @folders),
    "LIST $top* has both: @folders");
check($imap->is_parent($box), "$box has children");
check($imap->exists($deep) && !$imap->exists("$top${sep}Nope"), "exists");
check($imap->subscribe($box), "SUBSCRIBE $box");
check((grep { $_ eq $box } $imap->subscribed), "LSUB has $box");

my @bodies = (msg("one", "first body"), msg("two", "second body"), msg("three", "third"));
my $uid1 = $imap->append_string($box, $bodies[0], '\\Seen', '03-Mar-2026 10:00:00 +0000');
my $uid2 = $imap->append_string($box, $bodies[1]);
my $uid3 = $imap->append_string($box, $bodies[2], '\\Flagged $Label1');
check($uid1 && $uid2 && $uid3 && $uid1 =~ /^\d+$/ && $uid1 < $uid2 && $uid2 < $uid3,
    "APPEND x3 with APPENDUID ($uid1 $uid2 $uid3)");

check($imap->select($box), "SELECT $box");
check($imap->message_count($box) == 3, "3 messages");
my $found = $imap->search('SUBJECT', $imap->Quote('two'));
check($found && @$found == 1 && $found->[0] == $uid2, "SEARCH SUBJECT two = $uid2");
$found = $imap->search('UNSEEN');
check($found && join(',', sort { $a <=> $b } @$found) eq "$uid2,$uid3", "SEARCH UNSEEN");
check($imap->message_string($uid2) eq $bodies[1], "FETCH whole message byte-identical");
check($imap->get_header($uid1, 'Subject') eq 'one', "FETCH header Subject");
check($imap->size($uid3) == length($bodies[2]), "FETCH RFC822.SIZE");
my $flags = flags_of($uid3);
check($flags eq '$Label1 \\Flagged', "FETCH FLAGS ($flags)");
check($imap->internaldate($uid1) =~ /^03-Mar-2026 10:00:00 \+0000$/, "INTERNALDATE");

check($imap->set_flag('\\Answered', $uid1, $uid2), "STORE +FLAGS \\Answered");
check($imap->unset_flag('\\Flagged', $uid3), "STORE -FLAGS \\Flagged");
check($imap->see($uid2), "STORE +FLAGS \\Seen");
$flags = flags_of($uid2);
check($flags eq '\\Answered \\Seen', "flags of $uid2 ($flags)");
$flags = flags_of($uid3);
check($flags eq '$Label1', "flags of $uid3 ($flags)");

my $copied = $imap->copy($deep, $uid1);
check($copied, "COPY to $deep ($copied)");
# the library's move(): COPY, then \\Deleted on the source
my $moved = $imap->move('INBOX', $uid3);
check($moved, "move() to INBOX ($moved)");
check($imap->message_count($box) == 3, "3 until EXPUNGE");
check((grep { $_ eq '\\Deleted' } @{ $imap->flags($uid3) }), "moved one is \\Deleted");
check($imap->delete_message($uid2) == 1, "STORE \\Deleted");
check($imap->expunge, "EXPUNGE");
check($imap->message_count($box) == 1, "1 left after EXPUNGE");
$found = $imap->search('ALL');
check($found && @$found == 1 && $found->[0] == $uid1, "SEARCH ALL = $uid1");
# RFC 6851 UID MOVE, which this library version has no method for
my $uid4 = $imap->append_string($box, msg("four", "fourth"));
check($uid4 && $uid4 > $uid3, "APPEND four ($uid4)");
check($imap->has_capability('MOVE'), "capability MOVE");
check($imap->tag_and_run(qq{UID MOVE $uid4 "$deep"}), "UID MOVE to $deep");
check($imap->message_count($box) == 1, "1 left after UID MOVE");

check($imap->examine($deep), "EXAMINE $deep");
check($imap->message_count($deep) == 2, "$deep holds the copy and the moved one");
check($imap->close, "CLOSE");
check($imap->create("$top${sep}Tmp") && $imap->rename("$top${sep}Tmp", "$top${sep}Tmp2"),
    "CREATE + RENAME");
check($imap->exists("$top${sep}Tmp2") && !$imap->exists("$top${sep}Tmp"), "renamed");
check($imap->delete("$top${sep}Tmp2"), "DELETE");
check(!$imap->exists("$top${sep}Tmp2"), "deleted");
check($imap->logout, "LOGOUT");
print "done $n\n";
"""


@pytest.fixture
def srv(server_factory):
    port = free_port()
    s = server_factory(conf={"imap_listen": f"127.0.0.1:{port}"})
    s.imap_port = port
    s.add_account(ALICE, ALICE_PW)
    return s


def run_perl(srv, tmp_path):
    perl = require_tool("perl")
    probe = subprocess.run([perl, "-MMail::IMAPClient", "-e", "1"], capture_output=True,
                           text=True, timeout=30)
    if probe.returncode != 0:
        pytest.fail("Perl's Mail::IMAPClient is not installed (tools/deps.sh test: "
                    "libmail-imapclient-perl)", pytrace=False)
    script = tmp_path / "session.pl"
    script.write_text(PERL_SESSION)
    r = subprocess.run([perl, str(script), "127.0.0.1", str(srv.imap_port), ALICE, ALICE_PW],
                       capture_output=True, text=True, timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode == 0, f"Mail::IMAPClient session failed:\n{out[-4000:]}"
    m = re.search(r"^done (\d+)$", r.stdout, re.M)
    assert m, out[-4000:]
    steps = int(m.group(1))
    assert len(re.findall(r"^ok \d+ - ", r.stdout, re.M)) == steps >= 40, out[-4000:]
    assert "not ok" not in r.stdout
    return r.stdout


def fetch_all(m, box):
    """[(subject, flags without \\Recent)] of a folder, in UID order, read with imaplib."""
    typ, data = m.select(f'"{box}"', readonly=True)
    assert typ == "OK", data
    typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert typ == "OK", data
    out = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()
        flags = [f for f in flags if f != "\\Recent"]
        subject = item[1].decode().split(":", 1)[1].strip()
        out.append((subject, sorted(flags)))
    return out


def test_mail_imapclient_session(srv, tmp_path):
    run_perl(srv, tmp_path)
    m = imaplib.IMAP4("127.0.0.1", srv.imap_port, timeout=TIMEOUT)
    try:
        assert m.login(ALICE, ALICE_PW)[0] == "OK"
        assert fetch_all(m, "Clients/Perl") == [("one", ["\\Answered", "\\Seen"])]
        assert fetch_all(m, "Clients/Perl/Deep") == [("one", ["\\Answered", "\\Seen"]),
                                                     ("four", [])]
        assert fetch_all(m, "INBOX") == [("three", ["$Label1"])]
        typ, data = m.list('""', '"Clients/*"')
        assert typ == "OK", data
        names = sorted(re.search(rb'"/" "?([^"]*)"?$', d).group(1).decode() for d in data)
        assert names == ["Clients/Perl", "Clients/Perl/Deep"], names
        typ, data = m.lsub('""', '"Clients/*"')
        assert typ == "OK" and any(b'"Clients/Perl"' in d for d in data), data
    finally:
        m.logout()
