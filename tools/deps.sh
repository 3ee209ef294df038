#!/bin/sh
# deps.sh - install the Debian packages Posthorn needs to build (and, with
# "test", to run its tests) when any is missing. Needs root (or sudo) only
# when something is missing.
set -e
pkgs="gcc make libc6-dev libsqlite3-dev libcrypt-dev libssl-dev libunbound-dev zlib1g-dev openssl"
if [ "$1" = "test" ]; then
	pkgs="$pkgs python3 python3-pytest python3-openssl strace swaks curl msmtp libnet-ssleay-perl libauthen-sasl-perl python3-dnslib dns-root-data ldnsutils postfix isync offlineimap3 libmail-imapclient-perl openssl"
fi
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
# the interop tests run a private Postfix (tests/proto/postfixhelp.py): the
# package must not set up and start a system-wide instance
case "$missing" in *" postfix"*)
	echo "postfix postfix/main_mailer_type select No configuration" |
		$SUDO debconf-set-selections ;;
esac
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
