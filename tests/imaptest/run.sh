#!/bin/sh
# run.sh - Dovecot's imaptest against a throw-away Posthorn on loopback.
#
# What it does: makes a fresh data dir (`posthorn init`, two accounts), turns on plain IMAP on a
# free 127.0.0.1 port through a conf.d drop-in (every other listener off), starts `posthorn
# serve`, then
#   1. runs each of imaptest's scripted compliance tests on its own (one imaptest process per
#      test file, so that a hang or a crash is charged to that test only) and prints one line
#      per test: PASS, FAIL, SKIP (imaptest skipped it: a capability it needs is not
#      advertised) or ERROR (imaptest itself timed out or died), then the totals;
#   2. runs imaptest's stress mode (random commands with state tracking, several clients on one
#      mailbox) and reports the number of error lines imaptest printed.
# Per-test output goes to $OUT/scripts/NAME.log, the stress output to $OUT/stress.log; the
# server log is $OUT/server.log.
#
# What it does not do: it is not part of `make test` (imaptest is not packaged by Debian), it
# never builds or installs imaptest, never uses a non-loopback address, and stops only the
# server it started (by pid).
#
# Usage (from anywhere):
#   IMAPTEST=/path/to/imaptest [IMAPTEST_TESTS=/path/to/imaptest/src/tests] \
#   [POSTHORN_BIN=build/posthorn] sh tests/imaptest/run.sh [scripts|stress|all] [TEST...]
# Environment:
#   IMAPTEST         the imaptest binary (required)
#   IMAPTEST_TESTS   its scripted tests directory (default: ../src/tests beside the binary,
#                    i.e. the source tree it was built in)
#   IMAPTEST_LIBDIR  prepended to LD_LIBRARY_PATH for imaptest (default /usr/lib/dovecot,
#                    where Debian's dovecot-dev build links it)
#   POSTHORN_BIN     the server binary (default build/posthorn of this checkout)
#   STRESS_CLIENTS   stress mode clients (default 10)    STRESS_SECS   seconds (default 30)
#   STRESS_ARGS      more imaptest words for the stress run, e.g. "rawlog seed=1" (rawlog
#                    files are written to $OUT/stress/)
#   TEST_TIMEOUT     seconds allowed for one scripted test (default 60)
#   OUT              where logs go (default: a new directory under ${TMPDIR:-/tmp})
# Exit status: 0 when every scripted test that ran passed and the stress run had no errors,
# 1 otherwise, 2 on a setup problem.
#
# Invariant: every wait is bounded (timeout(1) around each imaptest run, a deadline for the
# server to start and to stop).

set -u

MODE=${1:-all}
[ $# -gt 0 ] && shift
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

die() {
	echo "run.sh: $*" >&2
	exit 2
}

case $MODE in
scripts | stress | all) ;;
*) die "unknown mode '$MODE' (scripts, stress or all)" ;;
esac

[ -n "${IMAPTEST:-}" ] || die "set IMAPTEST to the imaptest binary"
[ -x "$IMAPTEST" ] || die "IMAPTEST=$IMAPTEST is not an executable"
# absolute paths: the stress run works in its own directory (rawlog files)
IMAPTEST=$(cd "$(dirname "$IMAPTEST")" && pwd)/$(basename "$IMAPTEST")
TESTS=${IMAPTEST_TESTS:-$(dirname "$IMAPTEST")/tests}
[ -d "$TESTS" ] || die "no tests directory $TESTS (set IMAPTEST_TESTS)"
TESTS=$(cd "$TESTS" && pwd)
[ -f "$TESTS/default.mbox" ] || die "no $TESTS/default.mbox"
BIN=${POSTHORN_BIN:-$REPO/build/posthorn}
[ -x "$BIN" ] || die "no posthorn binary $BIN (make, or set POSTHORN_BIN)"
LIBDIR=${IMAPTEST_LIBDIR:-/usr/lib/dovecot}
STRESS_CLIENTS=${STRESS_CLIENTS:-10}
STRESS_SECS=${STRESS_SECS:-30}
TEST_TIMEOUT=${TEST_TIMEOUT:-60}
command -v timeout >/dev/null || die "timeout(1) (coreutils) is needed"
command -v python3 >/dev/null || die "python3 is needed (free port, readiness check)"

OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/posthorn-imaptest.XXXXXX")}
mkdir -p "$OUT/scripts" || die "cannot create $OUT"
DATA=$OUT/data
# started as root, posthorn drops to its run user, which must reach the data dir
[ "$(id -u)" -eq 0 ] && chmod 755 "$OUT"

USER1=imaptest@localhost
USER2=imaptest2@localhost
PASS=imaptest-Secret-1

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')

"$BIN" init --dir "$DATA" --domain localhost --hostname imaptest.posthorn.test \
	>"$OUT/init.log" 2>&1 || die "posthorn init failed: see $OUT/init.log"
CONF=$DATA/posthorn.conf
for u in "$USER1" "$USER2"; do
	echo "$PASS" | "$BIN" account add "$u" --password-stdin -c "$CONF" >>"$OUT/init.log" 2>&1 ||
		die "account add $u failed: see $OUT/init.log"
done
mkdir -p "$DATA/conf.d"
{
	echo "# written by tests/imaptest/run.sh"
	# every listener of the main file off (fixed ports would clash), then IMAP on our port
	sed -n 's/^[[:space:]]*\([a-z0-9_]*_listen\)[[:space:]]*=.*/\1 =/p' "$CONF" | sort -u |
		grep -v '^imap_listen '
	echo "imap_listen = 127.0.0.1:$PORT"
	echo "plaintext_auth_loopback = yes"
	echo "auth_failure_delay = 0"
	echo "message_size_limit = 10M"
} >"$DATA/conf.d/imaptest.conf"

SERVER=
# start_server: posthorn serve in the background, waits until it greets (30 s at most)
start_server() {
	echo "==== start" >>"$OUT/server.log"
	"$BIN" serve -c "$CONF" >>"$OUT/server.log" 2>&1 </dev/null &
	SERVER=$!
	python3 - "$PORT" <<'EOF'
import socket, sys, time
end = time.monotonic() + 30
while time.monotonic() < end:
    try:
        with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) as s:
            if s.recv(200).startswith(b"* OK"):
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
EOF
}
stop_server() {
	[ -n "$SERVER" ] || return 0
	if kill -0 "$SERVER" 2>/dev/null; then
		kill -TERM "$SERVER"
		i=0
		while kill -0 "$SERVER" 2>/dev/null && [ $i -lt 100 ]; do
			sleep 0.2
			i=$((i + 1))
		done
		kill -0 "$SERVER" 2>/dev/null && kill -KILL "$SERVER"
	fi
	wait "$SERVER" 2>/dev/null
	SERVER=
}
# server_alive: true when the server we started is still running (a crash is reported and
# the server restarted by the caller, so that one crash does not fail every later test)
server_alive() {
	[ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null
}
trap stop_server EXIT
trap 'exit 2' INT TERM
start_server || { tail -20 "$OUT/server.log" >&2; die "server did not start"; }

# imaptest SECONDS ARGS...: one imaptest run against our server, killed after SECONDS
imaptest() {
	t=$1
	shift
	LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
		timeout -k 5 "$t" "$IMAPTEST" host=127.0.0.1 port="$PORT" \
		user="$USER1" user2="$USER2" pass="$PASS" "$@"
}

echo "posthorn: $BIN (IMAP 127.0.0.1:$PORT)  imaptest: $IMAPTEST  logs: $OUT"
status=0

if [ "$MODE" != stress ]; then
	if [ $# -gt 0 ]; then
		names=$*
	else
		names=$(cd "$TESTS" && for f in *; do
			[ -f "$f" ] && case $f in *.mbox) ;; *) echo "$f" ;; esac
		done)
	fi
	pass=0 fail=0 skip=0 err=0 failed=""
	for name in $names; do
		log=$OUT/scripts/$name.log
		imaptest "$TEST_TIMEOUT" test="$TESTS/$name" >"$log" 2>&1
		rc=$?
		# commands run = the N of "base protocol: F/N" plus that of "extensions: F/N"
		ran=$(sed -n 's/^\(base protocol\|extensions\): [0-9]*\/\([0-9]*\) .*/\2/p' "$log" |
			awk '{ n += $1 } END { print n + 0 }')
		needs=$(sed -n 's/^capabilities:[[:space:]]*//p' "$TESTS/$name" | head -1)
		if grep -q '^1 test groups: 0 failed, 0 skipped' "$log" && [ "$ran" -gt 0 ]; then
			verdict="PASS ($ran commands)"
			pass=$((pass + 1))
		elif grep -q '^1 test groups: 0 failed' "$log"; then
			# imaptest skips a test whose capabilities the server does not advertise after
			# login (it then runs no command; some versions do not count it as skipped)
			verdict="SKIP (needs ${needs:-?})"
			skip=$((skip + 1))
		elif grep -q '^1 test groups: 1 failed' "$log"; then
			verdict=FAIL
			fail=$((fail + 1))
			failed="$failed $name"
		else
			verdict="ERROR (imaptest exit $rc)"
			err=$((err + 1))
			failed="$failed $name"
		fi
		if ! server_alive; then
			verdict="$verdict, server died: $(grep -a 'PANIC\|AddressSanitizer\|runtime error' \
				"$OUT/server.log" | tail -1)"
			stop_server
			start_server || die "server did not restart"
		fi
		printf '%-40s %s\n' "$name" "$verdict"
	done
	total=$((pass + fail + skip + err))
	echo "scripted tests: $total run, $pass passed, $fail failed, $skip skipped," \
		"$err errors"
	[ -n "$failed" ] && echo "not passed:$failed" && status=1
fi

if [ "$MODE" != scripts ]; then
	log=$OUT/stress.log
	mkdir -p "$OUT/stress"
	# shellcheck disable=SC2086 # STRESS_ARGS is a list of words on purpose
	(cd "$OUT/stress" && imaptest $((STRESS_SECS + 60)) mbox="$TESTS/default.mbox" \
		clients="$STRESS_CLIENTS" secs="$STRESS_SECS,10" ${STRESS_ARGS:-}) >"$log" 2>&1
	rc=$?
	errors=$(grep -c 'Error:\|Fatal:\|Panic:' "$log")
	echo "stress: $STRESS_CLIENTS clients, $STRESS_SECS s: imaptest exit $rc, $errors error lines" \
		"(first ones below; all in $log)"
	grep 'Error:\|Fatal:\|Panic:' "$log" | head -10
	tail -n 4 "$log" | sed 's/^/  /'
	if [ "$rc" -ne 0 ] || [ "$errors" -ne 0 ]; then
		status=1
	fi
	if ! server_alive; then
		echo "posthorn serve died during the stress run:" \
			"$(grep -a 'PANIC\|AddressSanitizer\|runtime error' "$OUT/server.log" | tail -1)"
		status=1
	fi
fi

exit $status
