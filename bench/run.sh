#!/bin/sh
# run.sh - "make bench": Posthorn side by side with Postfix + Dovecot (issue 6).
#
# Installs what is missing from Debian (postfix, dovecot-core/-imapd/-pop3d/-lmtpd,
# python3-matplotlib), builds Posthorn, then runs bench/bench.py, which configures both
# systems on loopback in a temporary directory, runs the loads, stops everything it started
# and writes bench/results/results.md and bench/results/bench.png.
#
# Environment: BENCH_QUICK=1 small counts (a few minutes); IMAPTEST=/path/to/imaptest
# enables the imaptest stress load (not packaged in Debian; see bench/README.md);
# BUILD=dir the build directory (default build); BENCH_ONLY=tp,lat,stress,idle,pop3,out
# runs some loads only. Needs root: apt-get, and Postfix's master runs as root.
#
# It never touches the system's own Postfix or Dovecot: the packages' services are not
# started by this script, and the instances it starts have their own directories.
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: run as root (apt-get, and Postfix's master process runs as root)" >&2
	exit 2
fi

need=""
for p in postfix dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd python3-matplotlib; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		need="$need $p"
done
if [ -n "$need" ]; then
	echo "bench: installing$need"
	# no questions, and no system-wide mail configuration: ours lives in a temporary dir
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/tmp/posthorn-bench-apt.log 2>&1 ||
	{ apt-get update -q >/dev/null 2>&1 &&
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/tmp/posthorn-bench-apt.log 2>&1; } ||
	{ echo "bench: apt-get install failed, see /tmp/posthorn-bench-apt.log" >&2; exit 1; }
fi

sh tools/deps.sh >/dev/null || exit 1
make -s -j"$(nproc)" BUILD="$BUILD" "$BUILD/posthorn" || exit 1

if [ -z "${IMAPTEST:-}" ] && command -v imaptest >/dev/null 2>&1; then
	IMAPTEST=$(command -v imaptest)
fi
export IMAPTEST=${IMAPTEST:-}

# 10,000 idle IMAP connections need that many descriptors on each side
ulimit -n "$(ulimit -Hn)" 2>/dev/null

# bench.py stops everything it started in its own finally blocks; a signal reaches it
# through the process group, and the trap only keeps this shell from exiting first
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"' INT TERM HUP
/usr/bin/python3 bench/bench.py --posthorn "$BUILD/posthorn" --only "${BENCH_ONLY:-}" &
pid=$!
wait "$pid"
status=$?
wait "$pid" 2>/dev/null
exit $status
