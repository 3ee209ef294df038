/*
 * serve-dsn.c - build a DSN and put it into the outbound queue (see
 * serve-dsn.h).
 *
 * Invariants: never a DSN to the null sender; the DSN itself has the null
 * sender and NOTIFY=NEVER, so a DSN never causes another one (no loops);
 * nothing is queued unless the whole message was built and written; a DSN
 * that queue_dsn_build made internationalized (RFC 6533: an SMTPUTF8
 * original, or an address that is not ASCII) is queued with SMTPUTF8, so
 * the delivery engine only hands it to a next hop that offers SMTPUTF8
 * (RFC 6531 3.4).
 */
#include "bin/serve-dsn.h"

#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "store/store.h"

int
serve_dsn_queue(struct server *srv, const struct queue_dsn *dsn, bool requiretls, char id_r[16],
		const char **error_r)
{
	struct queue_dsn d = *dsn;
	struct store_blob *blob = NULL;
	struct store_queue_envelope_rcpt rcpt = { 0 };
	struct store_queue_envelope env = { 0 };
	char from[STORE_ADDRESS_MAX + 32];
	struct buf out;
	bool eightbit = false;
	int ret = -1;

	id_r[0] = '\0';
	/* RFC 5321 4.5.5, RFC 3461 6.2: never to the null sender */
	if (d.to == NULL || d.to[0] == '\0')
		return 0;
	if (d.reporting_mta == NULL)
		d.reporting_mta = srv->hostname;
	if (d.from == NULL) {
		snprintf(from, sizeof(from), "MAILER-DAEMON@%s", srv->hostname);
		d.from = from;
	}
	if (d.max_return == 0)
		d.max_return = SERVE_DSN_MAX_RETURN;
	buf_init(&out, 0);
	if (queue_dsn_build(&d, &out, &eightbit, error_r) < 0) {
		buf_deinit(&out);
		return -1;
	}
	rcpt.address = d.to;
	rcpt.orcpt = NULL;
	rcpt.notify = STORE_QUEUE_NOTIFY_NEVER;
	env.sender = "";
	env.rcpts = &rcpt;
	env.rcpt_count = 1;
	env.requiretls = requiretls;
	env.smtputf8 = queue_dsn_is_global(&d);
	serve_queue_id(id_r);
	*error_r = NULL;
	if (store_blob_begin(srv->store, &blob, error_r) == 1 &&
	    store_blob_write(blob, buf_data(&out), buf_len(&out)) == 0 &&
	    store_queue_add(srv->store, &blob, &env, id_r, error_r) == 1)
		ret = 1;
	if (blob != NULL)
		store_blob_abort(&blob);
	if (ret < 0) {
		if (*error_r == NULL)
			*error_r = "cannot write the DSN";
		id_r[0] = '\0';
	}
	buf_deinit(&out);
	return ret;
}
