/*
 * serve-dsn.h - queue a delivery status notification (RFC 3464) built by
 * queue/queue-dsn.h: the one way every part of the server sends a DSN (the
 * SMTP glue's "delivered" notices for local recipients with NOTIFY=SUCCESS,
 * RFC 3461 5.2.2; the queue's bounces and notices may use it too).
 *
 * What it does: builds the message, writes it into a new queue entry with the
 * null sender (RFC 5321 4.5.5, RFC 3461 6.2: a DSN never asks for DSNs, so its
 * one recipient gets NOTIFY=NEVER) addressed to the original sender. The
 * queue then delivers it like any other entry: into the mailbox when the
 * sender is one of our users (serve-queue.c's local delivery), else by SMTP.
 *
 * What it does not do: decide whether a DSN is due (NOTIFY, the null-sender
 * rule is checked again here as a safety net), log, or kick the scheduler
 * (serve_queue_kick, from the event loop).
 *
 * Runs on a worker thread (it calls the store).
 */
#ifndef BIN_SERVE_DSN_H
#define BIN_SERVE_DSN_H

#include <stdbool.h>

#include "bin/serve.h"
#include "queue/queue-dsn.h"

/* The returned original is cut to its header above this size (RFC 3461 4.3
 * lets the MTA decide; a DSN should not carry a huge message back). */
#define SERVE_DSN_MAX_RETURN (1024u * 1024u)

/*
 * Build dsn and queue it to dsn->to with the null sender. dsn->reporting_mta
 * and dsn->from may be NULL: then the server's host name and
 * "MAILER-DAEMON@hostname" are used; max_return 0 means SERVE_DSN_MAX_RETURN.
 * requiretls: the entry carries REQUIRETLS (RFC 8689 5: a notice about a
 * REQUIRETLS message that returns content must travel under TLS too).
 * Returns 1 queued (id_r holds the new queue id), 0 nothing queued because
 * dsn->to is the null sender (or NULL), -1 error (*error_r: a static or
 * store text; nothing queued).
 */
int serve_dsn_queue(struct server *srv, const struct queue_dsn *dsn, bool requiretls,
		    char id_r[16], const char **error_r);

#endif
