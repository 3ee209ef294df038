/*
 * test-pop3-util.h - the fixture shared by the POP3 engine's test programs
 * (test-pop3-server.c, test-pop3-server-auth.c): a fake io collecting output
 * in a buf, and fake hooks that complete at once from inside the hook
 * (synchronous) or leave the operation pending until the test, playing the
 * event loop, completes it. Test code only: everything is static inline so
 * nothing of it reaches libpop3.a.
 */
#ifndef POP3_TEST_POP3_UTIL_H
#define POP3_TEST_POP3_UTIL_H

#include "pop3/pop3-server.h"
#include "core/base64.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"
#include "sasl/sasl-server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define HOST "mail.example.org"
#define STLS_OK "+OK Begin TLS negotiation\r\n"

static const char *const default_msgs[] = {
	"Subject: one\r\n\r\nbody\r\n.dot\r\n..two\r\n.\r\nend\r\n", /* 43 */
	"Subject: two\r\nX: y\r\n\r\nb1\r\nb2\r\nb3",                   /* 32, no CRLF */
	".From: dot\r\n\r\n",                                            /* 14 */
};
static const char *const default_uidls[] = { "uid-one", "uid-two", "uid-three" };

enum fx_op { FX_NONE, FX_AUTH, FX_MAILDROP, FX_RETRIEVE, FX_UPDATE };

struct fx_opts {
	bool plaintext;     /* settings.allow_plaintext_auth */
	bool stls;          /* settings.stls_available */
	bool deferred;      /* hooks complete from fx_complete, not inside the hook */
	bool sync_maildrop; /* ... except open_maildrop, always inside the hook */
	const struct pop3_server_limits *limits;
};

struct fx {
	struct pop3_server_session *s;
	struct buf out;
	struct fx_opts opts;
	size_t chunk;       /* retrieve data chunk size, 0 = whole message */
	const char *const *msgs;
	const char *const *uidls;
	unsigned msg_count;

	enum fx_op op;      /* the one operation the engine waits for */
	char mech[64], user[300], pass[300];
	bool want_secret;   /* auth_lookup asked for a SCRAM secret */
	unsigned retr_index;
	bool retr_fail_before, retr_fail_after;

	int close_calls, disconnect_calls, auth_calls, maildrop_calls, retrieve_calls;
	int update_calls, starttls_calls;
	int results_ok, results_failed;   /* auth_result calls */
	char result_mech[64], result_user[300], result_reason[200];
	unsigned upd_idx[16], upd_count;
	bool free_in_close, free_in_auth, free_in_maildrop, free_in_write, free_in_disconnect;
	bool free_in_starttls;
	bool overlapping_hook; /* a hook was called while another was pending */
	size_t out_at_starttls;
};

/* The stored SCRAM secret of every fx account: their password is "secret word". */
static inline const char *
fx_scram_secret(void)
{
	static char *secret;

	if (secret == NULL)
		secret = sasl_scram_secret_make("secret word", 4096);
	T_ASSERT(secret != NULL);
	return secret;
}

static inline void
fx_write(void *ctx, const uint8_t *data, size_t len)
{
	struct fx *fx = ctx;

	T_ASSERT(fx->close_calls == 0);
	T_INTEQ(buf_append(&fx->out, data, len), 0);
	if (fx->free_in_write)
		pop3_server_session_free(&fx->s);
}

static inline void
fx_close(void *ctx)
{
	struct fx *fx = ctx;

	fx->close_calls++;
	if (fx->free_in_close)
		pop3_server_session_free(&fx->s);
}

/* Accounts: tim (fine), locky (maildrop IN_USE), tempy (maildrop TEMPFAIL),
 * gone (maildrop FAILED); all with password "secret word". Password
 * "tempfail" or user "tempfail" (SCRAM): the check itself fails for now. */
static inline bool
fx_account(const char *user)
{
	return strcmp(user, "tim") == 0 || strcmp(user, "locky") == 0 ||
	       strcmp(user, "tempy") == 0 || strcmp(user, "gone") == 0;
}

static inline void
fx_auth_complete(struct fx *fx)
{
	bool ok;

	if (fx->want_secret) {
		if (strcmp(fx->user, "tempfail") == 0)
			pop3_server_auth_tempfail(fx->s);
		else
			pop3_server_auth_secret(fx->s,
						fx_account(fx->user) ? fx_scram_secret() : NULL);
		return;
	}
	if (strcmp(fx->pass, "tempfail") == 0) {
		pop3_server_auth_tempfail(fx->s);
		return;
	}
	ok = fx_account(fx->user) && strcmp(fx->pass, "secret word") == 0;
	/* before the completion: it may run the next command's hook */
	explicit_bzero(fx->pass, sizeof(fx->pass));
	pop3_server_auth_verified(fx->s, ok);
}

static inline void
fx_maildrop_complete(struct fx *fx)
{
	struct pop3_message_info info[8];
	enum pop3_login_result res = POP3_LOGIN_OK;

	memset(info, 0, sizeof(info));
	for (unsigned i = 0; i < fx->msg_count; i++) {
		info[i].size = strlen(fx->msgs[i]);
		snprintf(info[i].uidl, sizeof(info[i].uidl), "%s", fx->uidls[i]);
	}
	if (strcmp(fx->user, "locky") == 0)
		res = POP3_LOGIN_IN_USE;
	else if (strcmp(fx->user, "tempy") == 0)
		res = POP3_LOGIN_TEMPFAIL;
	else if (strcmp(fx->user, "gone") == 0)
		res = POP3_LOGIN_FAILED;
	pop3_server_login_done(fx->s, res, info, fx->msg_count);
}

static inline void
fx_retrieve_complete(struct fx *fx)
{
	const char *m = fx->msgs[fx->retr_index];
	size_t len = strlen(m), chunk = fx->chunk == 0 ? len : fx->chunk;

	if (fx->retr_fail_before) {
		pop3_server_retrieve_done(fx->s, false);
		return;
	}
	for (size_t pos = 0; pos < len && fx->s != NULL; pos += chunk)
		pop3_server_retrieve_data(fx->s, (const uint8_t *)m + pos,
					  len - pos < chunk ? len - pos : chunk);
	if (fx->s != NULL)
		pop3_server_retrieve_done(fx->s, !fx->retr_fail_after);
}

/* Complete the pending operation (the event loop's part). */
static inline void
fx_complete(struct fx *fx)
{
	enum fx_op op = fx->op;

	fx->op = FX_NONE;
	if (fx->s == NULL)
		return;
	if (op == FX_AUTH)
		fx_auth_complete(fx);
	else if (op == FX_MAILDROP)
		fx_maildrop_complete(fx);
	else if (op == FX_RETRIEVE)
		fx_retrieve_complete(fx);
	else if (op == FX_UPDATE)
		pop3_server_update_done(fx->s, true);
}

static inline void
fx_begin_op(struct fx *fx, enum fx_op op)
{
	if (fx->op != FX_NONE)
		fx->overlapping_hook = true;
	fx->op = op;
	if (!fx->opts.deferred || (op == FX_MAILDROP && fx->opts.sync_maildrop))
		fx_complete(fx);
}

static inline void
fx_auth_lookup(void *ctx, struct pop3_server_session *s, const char *mech, const char *authcid,
	       const char *password)
{
	struct fx *fx = ctx;

	T_ASSERT(s == fx->s);
	T_ASSERT(!pop3_server_session_wants_input(s));
	fx->auth_calls++;
	snprintf(fx->mech, sizeof(fx->mech), "%s", mech);
	snprintf(fx->user, sizeof(fx->user), "%s", authcid);
	snprintf(fx->pass, sizeof(fx->pass), "%s", password != NULL ? password : "");
	fx->want_secret = password == NULL;
	if (fx->free_in_auth) {
		pop3_server_session_free(&fx->s);
		return;
	}
	fx_begin_op(fx, FX_AUTH);
}

static inline void
fx_open_maildrop(void *ctx, struct pop3_server_session *s, const char *user)
{
	struct fx *fx = ctx;

	T_ASSERT(s == fx->s);
	fx->maildrop_calls++;
	T_STREQ(user, fx->user);
	if (fx->free_in_maildrop) {
		pop3_server_session_free(&fx->s);
		return;
	}
	fx_begin_op(fx, FX_MAILDROP);
	/* the name stays valid for the whole call, even after the completion */
	T_STREQ(user, fx->user);
}

static inline void
fx_retrieve(void *ctx, struct pop3_server_session *s, unsigned index, long top_lines)
{
	struct fx *fx = ctx;

	T_ASSERT(index < fx->msg_count);
	fx->retrieve_calls++;
	fx->retr_index = index;
	fx_begin_op(fx, FX_RETRIEVE);
}

static inline void
fx_update(void *ctx, struct pop3_server_session *s, const unsigned *idx, unsigned count)
{
	struct fx *fx = ctx;

	fx->update_calls++;
	T_ASSERT(count <= N_ELEMENTS(fx->upd_idx));
	fx->upd_count = count;
	memcpy(fx->upd_idx, idx, count * sizeof(*idx));
	fx_begin_op(fx, FX_UPDATE);
}

static inline void
fx_starttls(void *ctx, struct pop3_server_session *s)
{
	struct fx *fx = ctx;

	T_ASSERT(s == fx->s);
	T_ASSERT(fx->op == FX_NONE);
	fx->starttls_calls++;
	fx->out_at_starttls = buf_len(&fx->out);
	/* the reply was handed over before the switch */
	T_ASSERT(buf_len(&fx->out) >= strlen(STLS_OK));
	T_MEMEQ(buf_data(&fx->out) + buf_len(&fx->out) - strlen(STLS_OK), strlen(STLS_OK), STLS_OK,
		strlen(STLS_OK));
	T_ASSERT(pop3_server_session_is_tls(s));
	if (fx->free_in_starttls)
		pop3_server_session_free(&fx->s);
}

static inline void
fx_auth_result(void *ctx, struct pop3_server_session *s, const char *mech, const char *authcid,
	       bool ok, const char *reason)
{
	struct fx *fx = ctx;

	T_ASSERT(s == fx->s);
	T_ASSERT(ok == (reason == NULL));
	if (ok)
		fx->results_ok++;
	else
		fx->results_failed++;
	snprintf(fx->result_mech, sizeof(fx->result_mech), "%s", mech);
	snprintf(fx->result_user, sizeof(fx->result_user), "%s", authcid != NULL ? authcid : "-");
	snprintf(fx->result_reason, sizeof(fx->result_reason), "%s", reason != NULL ? reason : "");
}

static inline void
fx_disconnect(void *ctx, struct pop3_server_session *s)
{
	struct fx *fx = ctx;

	fx->disconnect_calls++;
	fx->op = FX_NONE; /* the glue cancels whatever it was doing */
	if (fx->free_in_disconnect)
		pop3_server_session_free(&fx->s);
}

static const struct pop3_server_io fx_io = { .write = fx_write, .close = fx_close };
static const struct pop3_server_hooks fx_hooks = {
	.auth_lookup = fx_auth_lookup,
	.open_maildrop = fx_open_maildrop,
	.retrieve = fx_retrieve,
	.update = fx_update,
	.starttls = fx_starttls,
	.auth_result = fx_auth_result,
	.disconnect = fx_disconnect,
};

/* A session with opts; tls: implicit TLS (set before the greeting). */
static inline struct fx *
fx_new_opts(const struct fx_opts *opts, bool tls)
{
	struct fx *fx = mem_zalloc(sizeof(*fx));
	struct pop3_server_settings set;

	memset(&set, 0, sizeof(set));
	set.hostname = HOST;
	set.allow_plaintext_auth = opts->plaintext;
	set.stls_available = opts->stls;
	if (opts->limits != NULL)
		set.limits = *opts->limits;
	else
		pop3_server_limits_init_default(&set.limits);
	buf_init(&fx->out, 0);
	fx->opts = *opts;
	fx->opts.limits = NULL;
	fx->msgs = default_msgs;
	fx->uidls = default_uidls;
	fx->msg_count = N_ELEMENTS(default_msgs);
	fx->s = pop3_server_session_new(&set, &fx_hooks, fx, &fx_io, fx, "192.0.2.1");
	T_ASSERT(!pop3_server_session_is_tls(fx->s));
	if (tls)
		pop3_server_session_set_tls(fx->s, true);
	pop3_server_session_start(fx->s);
	return fx;
}

static inline struct fx *
fx_new_limits(bool plaintext, bool deferred, const struct pop3_server_limits *limits)
{
	struct fx_opts opts = { .plaintext = plaintext, .deferred = deferred, .limits = limits };

	return fx_new_opts(&opts, false);
}

static inline struct fx *
fx_new(bool plaintext, bool deferred)
{
	return fx_new_limits(plaintext, deferred, NULL);
}

static inline void
fx_free(struct fx *fx)
{
	pop3_server_session_free(&fx->s);
	T_INTEQ(fx->disconnect_calls, 1);
	T_ASSERT(!fx->overlapping_hook);
	buf_deinit(&fx->out);
	mem_free(&fx);
}

/* Feed len bytes; then play the event loop until nothing is pending. */
static inline void
fx_input(struct fx *fx, const char *data, size_t len)
{
	if (fx->s == NULL)
		return;
	pop3_server_session_input(fx->s, (const uint8_t *)data, len);
	while (fx->op != FX_NONE && fx->s != NULL)
		fx_complete(fx);
}

static inline void
fx_send(struct fx *fx, const char *text)
{
	fx_input(fx, text, strlen(text));
}

/* Output since the last call, as a string (valid until the next call). */
static inline const char *
fx_out(struct fx *fx)
{
	static char copy[16384];

	snprintf(copy, sizeof(copy), "%s", buf_cstr(&fx->out));
	buf_reset(&fx->out);
	return copy;
}

#define GREETING "+OK " HOST " POP3 server ready\r\n"
/* The mechanisms in sasl_mechanisms() order: without plain-text ones, with
 * them, and with channel binding too. */
#define MECHS_NOPLAIN "SCRAM-SHA-256"
#define MECHS_PLAIN "SCRAM-SHA-256 PLAIN LOGIN"
#define MECHS_PLUS "SCRAM-SHA-256-PLUS SCRAM-SHA-256 PLAIN LOGIN"
#define AUTHLIST_PLAIN "+OK\r\nSCRAM-SHA-256\r\nPLAIN\r\nLOGIN\r\n.\r\n"
#define CAPA_HEAD                                                                     \
	"+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n" \
	"PIPELINING\r\n"
#define CAPA_TAIL "IMPLEMENTATION Posthorn\r\n.\r\n"
#define CAPA_PLAIN CAPA_HEAD "USER\r\nSASL " MECHS_PLAIN "\r\n" CAPA_TAIL
#define CAPA_NOPLAIN CAPA_HEAD "SASL " MECHS_NOPLAIN "\r\n" CAPA_TAIL
#define CAPA_STLS CAPA_HEAD "STLS\r\nSASL " MECHS_NOPLAIN "\r\n" CAPA_TAIL
#define CAPA_STLS_PLAIN CAPA_HEAD "STLS\r\nUSER\r\nSASL " MECHS_PLAIN "\r\n" CAPA_TAIL
#define CAPA_PLUS CAPA_HEAD "USER\r\nSASL " MECHS_PLUS "\r\n" CAPA_TAIL

#define LOGIN_OK "+OK maildrop has 3 messages (89 octets)\r\n"
#define AUTH_FAILED "-ERR [AUTH] Authentication failed\r\n"
#define TEMPFAIL "-ERR [SYS/TEMP] temporary failure, try again later\r\n"
#define NEED_TLS "-ERR [AUTH] Plain-text authentication requires TLS\r\n"

/* The full session of the task: input and the exact expected output. */
static const char session_in[] =
	"CAPA\r\nUSER tim\r\nPASS secret word\r\nSTAT\r\nLIST\r\nLIST 2\r\nUIDL\r\nUIDL 3\r\n"
	"RETR 1\r\nRETR 2\r\nTOP 2 0\r\nTOP 2 2\r\nTOP 2 10\r\nTOP 3 0\r\n"
	"DELE 1\r\nDELE 1\r\nRETR 1\r\nSTAT\r\nLIST\r\nRSET\r\nDELE 3\r\nDELE 1\r\nnoop\r\n"
	"QUIT\r\nNOOP\r\n";
static const char session_out[] =
	GREETING CAPA_PLAIN
	"+OK\r\n" LOGIN_OK
	"+OK 3 89\r\n"
	"+OK 3 messages (89 octets)\r\n1 43\r\n2 32\r\n3 14\r\n.\r\n"
	"+OK 2 32\r\n"
	"+OK unique-id listing follows\r\n1 uid-one\r\n2 uid-two\r\n3 uid-three\r\n.\r\n"
	"+OK 3 uid-three\r\n"
	"+OK 43 octets\r\nSubject: one\r\n\r\nbody\r\n..dot\r\n...two\r\n..\r\nend\r\n.\r\n"
	"+OK 32 octets\r\nSubject: two\r\nX: y\r\n\r\nb1\r\nb2\r\nb3\r\n.\r\n"
	"+OK top of message follows\r\nSubject: two\r\nX: y\r\n\r\n.\r\n"
	"+OK top of message follows\r\nSubject: two\r\nX: y\r\n\r\nb1\r\nb2\r\n.\r\n"
	"+OK top of message follows\r\nSubject: two\r\nX: y\r\n\r\nb1\r\nb2\r\nb3\r\n.\r\n"
	"+OK top of message follows\r\n..From: dot\r\n\r\n.\r\n"
	"+OK message 1 deleted\r\n"
	"-ERR message 1 already deleted\r\n"
	"-ERR message 1 already deleted\r\n"
	"+OK 2 46\r\n"
	"+OK 2 messages (46 octets)\r\n2 32\r\n3 14\r\n.\r\n"
	"+OK maildrop has 3 messages (89 octets)\r\n"
	"+OK message 3 deleted\r\n"
	"+OK message 1 deleted\r\n"
	"+OK\r\n"
	"+OK " HOST " POP3 server signing off (1 messages left)\r\n";

static inline void
check_session_result(struct fx *fx)
{
	T_INTEQ(fx->update_calls, 1);
	T_INTEQ(fx->upd_count, 2);
	T_INTEQ(fx->upd_idx[0], 0);
	T_INTEQ(fx->upd_idx[1], 2);
	T_INTEQ(fx->close_calls, 1);
	T_INTEQ(fx->disconnect_calls, 1);
}

#endif
