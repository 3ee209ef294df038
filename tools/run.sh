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

Posthorn listens on 127.0.0.1 (unprivileged ports; see README "Connecting"):
  SMTP 2525 (STARTTLS)   submission 2587 (STARTTLS + AUTH)   submissions 2465 (TLS + AUTH)
  POP3 2110 (STLS)       POP3S 2995 (TLS)
  IMAP 2143 (STARTTLS)   IMAPS 2993 (TLS)
The certificate is self-signed: $DATA/tls/cert.pem

Send a message:   swaks --server 127.0.0.1:2525 --to user@localhost
Fetch it:         curl pop3://127.0.0.1:2110/1 -u user@localhost:PASSWORD
Send as the user: swaks --server 127.0.0.1:2587 -tls --auth PLAIN --au user@localhost \\
                        --ap PASSWORD --from user@localhost --to user@localhost
Mail program:     IMAP 127.0.0.1:2993 SSL/TLS (or POP3 127.0.0.1:2995), SMTP 127.0.0.1:2465
                  SSL/TLS, normal password,
                  user name user@localhost (accept the self-signed certificate once).

EOT
exec "$BIN" serve -c "$DATA/posthorn.conf"
