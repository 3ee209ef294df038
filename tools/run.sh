#!/bin/sh
# run.sh - "make run": create ./data (as root: /var/lib/posthorn-dev) on first use (domain localhost, one
# account with a generated password), then serve in the foreground on
# 127.0.0.1 with unprivileged ports. Ctrl-C (SIGINT) or SIGTERM stops it.
BIN=${1:-build/posthorn}
cd "$(dirname "$0")/.." || exit 2
if [ "$(id -u)" -eq 0 ]; then
	# the server drops to the posthorn user, which must reach the data
	DATA=${POSTHORN_DATA:-/var/lib/posthorn-dev}
else
	DATA=${POSTHORN_DATA:-data}
fi
if [ ! -f "$DATA/posthorn.conf" ]; then
	"$BIN" init --dir "$DATA" --domain localhost --account user@localhost || exit 1
	echo
	echo "Created $DATA/ with the domain localhost and the account user@localhost."
	echo "The password above is shown once; change it with:"
	echo "  $BIN account passwd user@localhost -c $DATA/posthorn.conf"
else
	echo "Using $DATA/posthorn.conf (delete $DATA/ to start afresh)."
fi
cat <<EOT

Posthorn listens on 127.0.0.1: SMTP 2525, submission 2587, POP3 2110, IMAP 2143
(which services are on: $BIN config show smtp_listen pop3_listen -c $DATA/posthorn.conf).

Send a message:   swaks --server 127.0.0.1:2525 --to user@localhost
Fetch it:         curl pop3://127.0.0.1:2110/1 -u user@localhost:PASSWORD
                  (or user:PASSWORD: the domain may be left out for localhost)
Mail program:     POP3 server 127.0.0.1 port 2110, no encryption (loopback only),
                  user name user@localhost, normal password.

EOT
exec "$BIN" serve -c "$DATA/posthorn.conf"
