/*
 * serve-smtp.h - private to the SMTP glue (serve-smtp.c: connections, TLS,
 * AUTH, MAIL and RCPT; serve-smtp-data.c: the message, submission checks,
 * local delivery and the outbound queue).
 *
 * One job at most is outstanding per client (the engine waits for each
 * hook). If the client goes away while a job runs, the job is orphaned: it
 * finishes on its worker, and its completion only cleans up.
 */
#ifndef BIN_SERVE_SMTP_H
#define BIN_SERVE_SMTP_H

#include <stdbool.h>
#include <stdint.h>

#include "bin/serve.h"
#include "core/buf.h"
#include "core/worker.h"
#include "mime/rfc5322-header.h"
#include "store/store.h"

struct conn;
struct loop_timer;
struct serve_auth;
struct smtp_server_session;
struct smtp_client;

struct smtp_job {
	struct smtp_client *client; /* NULL once orphaned */
	struct server *srv;
	/* rcpt */
	char *localpart, *domain;
	bool literal;
	unsigned notify;    /* RCPT NOTIFY= (SMTP_DSN_NOTIFY_*, the store's values) */
	char *orcpt;        /* RCPT ORCPT= as received, NULL = none */
	enum delivery_status status;
	uint64_t *accounts;
	size_t account_count;
	/* mail / data_end: sender rights */
	uint64_t account_id;
	char **senders; /* addresses the account must be allowed to use */
	size_t sender_count;
	bool sender_ok;
	/* data_begin / deliver */
	struct store_blob *blob, *qblob;
	struct buf header;
	struct store_delivery_target *targets;
	char *queue_id;
	char *envelope_from;
	char **remote;
	size_t remote_count;
	/* deliver: DSN parameters (RFC 3461) and REQUIRETLS (RFC 8689) */
	unsigned *remote_notify;
	char **remote_orcpt;
	char *envid;          /* NULL = none */
	int64_t arrival;      /* when the message was complete (seconds) */
	enum store_queue_ret dsn_ret;
	bool requiretls;
	bool smtputf8;        /* MAIL FROM ... SMTPUTF8 (RFC 6531 3.4) */
	char **success;       /* local recipients with NOTIFY=SUCCESS */
	char **success_orcpt;
	size_t success_count;
	char dsn_id[16];      /* queue id of the "delivered" DSN, "" = none */
	char dsn_error[128];  /* why it could not be queued, "" = no error */
	int ret;
	bool over_quota;    /* rcpt: a recipient's mailbox is full; data: the message does
			       not fit a recipient's quota */
	char error[256];
};

struct smtp_client {
	struct server_client base;
	enum server_service service;
	struct conn *conn;
	struct smtp_server_session *session;
	struct loop_timer *idle;
	char ip[64];
	bool implicit_tls;
	struct serve_tls_cb cb_storage;
	/* authentication */
	struct serve_auth *auth;
	bool auth_is_secret;
	uint64_t auth_account_id; /* of the last looked-up authcid */
	char auth_address[256];
	uint64_t account_id;      /* after a successful AUTH, else 0 */
	/* transaction */
	char queue_id[16];
	uint64_t tx_start_ms;
	uint64_t msg_size;
	uint64_t *accounts; /* merged local accounts of accepted recipients */
	size_t account_count;
	char **remote;      /* accepted recipients outside our domains (submission) */
	size_t remote_count;
	unsigned *remote_notify; /* their NOTIFY= and ORCPT= (NULL = none), same index */
	char **remote_orcpt;
	char **success;     /* accepted local recipients with NOTIFY=SUCCESS (RFC 3461 5.2.2) */
	char **success_orcpt;
	size_t success_count;
	struct store_blob *blob;  /* local copy: Return-Path + trace + message */
	struct store_blob *qblob; /* queue copy: trace + message */
	bool blob_failed;
	/* submission: the header is held until it is complete */
	bool in_header;
	struct rfc5322_header_parser hp;
	struct buf held;
	bool has_date, has_msgid, header_bad;
	unsigned header_flags; /* the parser's RFC5322_HEADER_FLAG_* at the end of the header */
	unsigned from_count, sender_count;
	struct buf from_value, sender_value;
	struct smtp_job *job;
};

/* serve-smtp.c */
void smtp_job_submit(struct smtp_client *c, struct smtp_job *job, worker_fn *work,
		     worker_fn *done);
struct smtp_client *smtp_job_finish(struct smtp_job *job);
void smtp_job_free(struct smtp_job *job);
void smtp_update_reading(struct smtp_client *c);
void smtp_client_reset_tx(struct smtp_client *c);
bool smtp_client_is_submission(const struct smtp_client *c);
/* Append a copy of s (NULL stays NULL) to the array *v of n entries. */
void smtp_strv_push(char ***v, size_t n, const char *s);
/* Check on a worker that account_id may use each address (subaddresses are
 * reduced to their base address first). */
bool smtp_senders_allowed(struct server *srv, uint64_t account_id, char **addresses,
			  size_t count);

/* serve-smtp-data.c */
void smtp_hook_data_begin(struct smtp_server_session *s, void *ctx);
void smtp_hook_data_write(struct smtp_server_session *s, void *ctx, const uint8_t *data,
			  size_t len);
void smtp_hook_data_end(struct smtp_server_session *s, void *ctx, uint64_t size);

#endif
