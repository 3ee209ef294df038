/*
 * test-pop3-server.c - the POP3 engine against a fake io and fake hooks.
 *
 * The fake io collects output in a buf; the fake hooks either complete at
 * once from inside the hook (synchronous) or leave the operation pending
 * until the test (playing the event loop) completes it. Sessions are run
 * whole, byte by byte and at every split point, synchronously and deferred,
 * with message data delivered in every chunk size: all must give the same
 * transcript.
 */
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
static const char *
fx_scram_secret(void)
{
	static char *secret;

	if (secret == NULL)
		secret = sasl_scram_secret_make("secret word", 4096);
	T_ASSERT(secret != NULL);
	return secret;
}

static void
fx_write(void *ctx, const uint8_t *data, size_t len)
{
	struct fx *fx = ctx;

	T_ASSERT(fx->close_calls == 0);
	T_INTEQ(buf_append(&fx->out, data, len), 0);
	if (fx->free_in_write)
		pop3_server_session_free(&fx->s);
}

static void
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
static bool
fx_account(const char *user)
{
	return strcmp(user, "tim") == 0 || strcmp(user, "locky") == 0 ||
	       strcmp(user, "tempy") == 0 || strcmp(user, "gone") == 0;
}

static void
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

static void
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

static void
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
static void
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

static void
fx_begin_op(struct fx *fx, enum fx_op op)
{
	if (fx->op != FX_NONE)
		fx->overlapping_hook = true;
	fx->op = op;
	if (!fx->opts.deferred || (op == FX_MAILDROP && fx->opts.sync_maildrop))
		fx_complete(fx);
}

static void
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

static void
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

static void
fx_retrieve(void *ctx, struct pop3_server_session *s, unsigned index, long top_lines)
{
	struct fx *fx = ctx;

	T_ASSERT(index < fx->msg_count);
	fx->retrieve_calls++;
	fx->retr_index = index;
	fx_begin_op(fx, FX_RETRIEVE);
}

static void
fx_update(void *ctx, struct pop3_server_session *s, const unsigned *idx, unsigned count)
{
	struct fx *fx = ctx;

	fx->update_calls++;
	T_ASSERT(count <= N_ELEMENTS(fx->upd_idx));
	fx->upd_count = count;
	memcpy(fx->upd_idx, idx, count * sizeof(*idx));
	fx_begin_op(fx, FX_UPDATE);
}

static void
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

static void
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

static void
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
static struct fx *
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

static struct fx *
fx_new_limits(bool plaintext, bool deferred, const struct pop3_server_limits *limits)
{
	struct fx_opts opts = { .plaintext = plaintext, .deferred = deferred, .limits = limits };

	return fx_new_opts(&opts, false);
}

static struct fx *
fx_new(bool plaintext, bool deferred)
{
	return fx_new_limits(plaintext, deferred, NULL);
}

static void
fx_free(struct fx *fx)
{
	pop3_server_session_free(&fx->s);
	T_INTEQ(fx->disconnect_calls, 1);
	T_ASSERT(!fx->overlapping_hook);
	buf_deinit(&fx->out);
	mem_free(&fx);
}

/* Feed len bytes; then play the event loop until nothing is pending. */
static void
fx_input(struct fx *fx, const char *data, size_t len)
{
	if (fx->s == NULL)
		return;
	pop3_server_session_input(fx->s, (const uint8_t *)data, len);
	while (fx->op != FX_NONE && fx->s != NULL)
		fx_complete(fx);
}

static void
fx_send(struct fx *fx, const char *text)
{
	fx_input(fx, text, strlen(text));
}

/* Output since the last call, as a string (valid until the next call). */
static const char *
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

static void
check_session_result(struct fx *fx)
{
	T_INTEQ(fx->update_calls, 1);
	T_INTEQ(fx->upd_count, 2);
	T_INTEQ(fx->upd_idx[0], 0);
	T_INTEQ(fx->upd_idx[1], 2);
	T_INTEQ(fx->close_calls, 1);
	T_INTEQ(fx->disconnect_calls, 1);
}

static void
test_pop3_server_full_session(void)
{
	struct fx *fx = fx_new(true, false);

	T_STREQ(fx_out(fx), GREETING);
	T_ASSERT(pop3_server_session_wants_input(fx->s));
	T_ASSERT(pop3_server_session_user(fx->s) == NULL);
	fx_send(fx, "USER tim\r\nPASS secret word\r\n");
	T_STREQ(fx_out(fx), "+OK\r\n" LOGIN_OK);
	T_STREQ(pop3_server_session_user(fx->s), "tim");
	T_STREQ(pop3_server_session_client_ip(fx->s), "192.0.2.1");
	fx_free(fx);

	fx = fx_new(true, false);
	fx_send(fx, session_in);
	T_STREQ(fx_out(fx), session_out);
	check_session_result(fx);
	T_ASSERT(pop3_server_session_is_closed(fx->s));
	T_ASSERT(!pop3_server_session_wants_input(fx->s));
	fx_free(fx);
}

/* Run session_in fed as [0,split) [split,len) (split 0: one byte at a time). */
static void
run_split_session(bool deferred, size_t split, size_t chunk)
{
	struct fx *fx = fx_new(true, deferred);
	size_t len = sizeof(session_in) - 1;

	fx->chunk = chunk;
	if (split == 0) {
		for (size_t i = 0; i < len; i++)
			fx_input(fx, session_in + i, 1);
	} else {
		fx_input(fx, session_in, split);
		fx_input(fx, session_in + split, len - split);
	}
	if (!T_STREQ(fx_out(fx), session_out))
		fprintf(stderr, "  deferred %d split %zu chunk %zu\n", deferred, split, chunk);
	check_session_result(fx);
	fx_free(fx);
}

static void
test_pop3_server_any_split(void)
{
	size_t len = sizeof(session_in) - 1;

	for (int deferred = 0; deferred <= 1; deferred++) {
		for (size_t split = 0; split < len; split++)
			run_split_session(deferred, split, 0);
		/* every chunking of the message data */
		for (size_t chunk = 1; chunk <= 44; chunk++)
			run_split_session(deferred, 0, chunk);
	}
}

static void
test_pop3_server_capa(void)
{
	struct fx *fx = fx_new(true, false);

	fx_out(fx);
	fx_send(fx, "CAPA\r\ncapa\r\n");
	T_STREQ(fx_out(fx), CAPA_PLAIN CAPA_PLAIN);
	fx_send(fx, "USER tim\r\nPASS secret word\r\nCAPA\r\n");
	/* TRANSACTION: the same list (RFC 2449 5, RFC 5034 3) */
	T_STREQ(fx_out(fx), "+OK\r\n" LOGIN_OK CAPA_PLAIN);
	fx_free(fx);

	fx = fx_new(false, false);
	fx_out(fx);
	fx_send(fx, "CAPA\r\n");
	T_STREQ(fx_out(fx), CAPA_NOPLAIN);
	fx_free(fx);
}

static void
test_pop3_server_plaintext_refused(void)
{
	struct fx *fx = fx_new(false, false);

	fx_out(fx);
	fx_send(fx, "USER tim\r\nPASS secret word\r\nAUTH PLAIN AHRpbQBzZWNyZXQgd29yZA==\r\n"
		    "AUTH PLAIN\r\nAUTH LOGIN\r\nauth login dGlt\r\nAUTH\r\n");
	T_STREQ(fx_out(fx), NEED_TLS NEED_TLS NEED_TLS NEED_TLS NEED_TLS NEED_TLS
			    "+OK\r\n" MECHS_NOPLAIN "\r\n.\r\n");
	T_INTEQ(fx->auth_calls, 0);
	T_INTEQ(fx->results_ok + fx->results_failed, 0);
	/* -PLUS is not offered without channel binding */
	fx_send(fx, "AUTH SCRAM-SHA-256-PLUS\r\n");
	T_STREQ(fx_out(fx), "-ERR unsupported authentication mechanism\r\n");
	fx_free(fx);
}

static void
test_pop3_server_dropped_connection(void)
{
	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx *fx = fx_new(true, deferred);

		fx_send(fx, "USER tim\r\nPASS secret word\r\nDELE 1\r\nDELE 2\r\n");
		T_INTEQ(fx->close_calls, 0);
		/* connection dropped: the glue frees the session without QUIT */
		pop3_server_session_free(&fx->s);
		T_INTEQ(fx->disconnect_calls, 1);
		T_INTEQ(fx->update_calls, 0);
		fx_free(fx);
	}
	{
		struct fx *fx = fx_new(true, true);

		/* dropped while the login hook is outstanding */
		pop3_server_session_input(fx->s, (const uint8_t *)"USER tim\r\nPASS x\r\n", 18);
		T_INTEQ(fx->op, FX_AUTH);
		T_ASSERT(!pop3_server_session_wants_input(fx->s));
		T_INTEQ(fx->update_calls, 0);
		fx_free(fx);
	}
}

static void
test_pop3_server_quit_in_authorization(void)
{
	struct fx *fx = fx_new(true, false);

	fx_out(fx);
	fx_send(fx, "USER tim\r\nQUIT\r\n");
	T_STREQ(fx_out(fx), "+OK\r\n+OK " HOST " POP3 server signing off\r\n");
	T_INTEQ(fx->update_calls, 0);
	T_INTEQ(fx->close_calls, 1);
	T_INTEQ(fx->disconnect_calls, 1);
	fx_free(fx);
}

static void
test_pop3_server_update_failure(void)
{
	struct fx *fx = fx_new(true, true);

	fx_send(fx, "USER tim\r\nPASS secret word\r\nQUIT\r\n");
	fx_out(fx);
	T_INTEQ(fx->update_calls, 1);
	T_INTEQ(fx->upd_count, 0);
	fx_free(fx);

	fx = fx_new(true, true);
	fx_send(fx, "USER tim\r\nPASS secret word\r\nDELE 2\r\n");
	pop3_server_session_input(fx->s, (const uint8_t *)"QUIT\r\n", 6);
	T_INTEQ(fx->op, FX_UPDATE);
	fx_out(fx);
	fx->op = FX_NONE;
	pop3_server_update_done(fx->s, false);
	T_STREQ(fx_out(fx), "-ERR [SYS/TEMP] some deleted messages not removed\r\n");
	T_INTEQ(fx->close_calls, 1);
	fx_free(fx);
}

static void
test_pop3_server_auth_plain_initial(void)
{
	static const char *const ok[] = {
		"AUTH PLAIN AHRpbQBzZWNyZXQgd29yZA==\r\n",     /* \0tim\0secret word */
		"auth plain dGltAHRpbQBzZWNyZXQgd29yZA==\r\n", /* authzid == authcid */
	};

	for (size_t i = 0; i < N_ELEMENTS(ok); i++) {
		struct fx *fx = fx_new(true, i == 1);

		fx_out(fx);
		fx_send(fx, ok[i]);
		T_STREQ(fx_out(fx), LOGIN_OK);
		T_STREQ(fx->user, "tim");
		T_STREQ(pop3_server_session_user(fx->s), "tim");
		fx_free(fx);
	}
}

static void
test_pop3_server_auth_plain_continuation(void)
{
	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx *fx = fx_new(true, deferred);

		fx_out(fx);
		fx_send(fx, "AUTH PLAIN\r\n");
		T_STREQ(fx_out(fx), "+ \r\n");
		fx_send(fx, "AHRpbQBzZWNyZXQgd29yZA==\r\nSTAT\r\n");
		T_STREQ(fx_out(fx), LOGIN_OK "+OK 3 89\r\n");
		fx_free(fx);
	}
}

static void
test_pop3_server_auth_cancel(void)
{
	struct fx *fx = fx_new(true, false);

	fx_out(fx);
	fx_send(fx, "AUTH PLAIN\r\n*\r\nSTAT\r\nAUTH PLAIN\r\n\r\n");
	T_STREQ(fx_out(fx), "+ \r\n-ERR authentication canceled\r\n"
			    "-ERR command not valid in this state\r\n"
			    "+ \r\n" AUTH_FAILED);
	T_INTEQ(fx->auth_calls, 0);
	/* the SASL line may be longer than a command line */
	fx_send(fx, "AUTH PLAIN\r\n");
	{
		char line[1100];

		memset(line, 'A', 1000);
		memcpy(line + 1000, "\r\n", 3);
		fx_send(fx, line);
	}
	T_STREQ(fx_out(fx), "+ \r\n" AUTH_FAILED);
	fx_send(fx, "AUTH PLAIN\r\nAHRpbQBzZWNyZXQgd29yZA==\r\n");
	T_STREQ(fx_out(fx), "+ \r\n" LOGIN_OK);
	fx_free(fx);
}

static void
test_pop3_server_auth_refusals(void)
{
	struct fx *fx = fx_new(true, false);

	fx_out(fx);
	/* foreign authzid: admin acting as tim */
	fx_send(fx, "AUTH PLAIN YWRtaW4AdGltAHNlY3JldCB3b3Jk\r\n");
	T_STREQ(fx_out(fx), AUTH_FAILED);
	T_INTEQ(fx->auth_calls, 0);
	T_INTEQ(fx->maildrop_calls, 0);
	fx_send(fx, "AUTH PLAIN AHRpbQBzZWNyZXQgd29yZA=\r\nAUTH PLAIN\r\n!!!!\r\n");
	T_STREQ(fx_out(fx), "-ERR invalid base64 data\r\n+ \r\n-ERR invalid base64 data\r\n");
	fx_send(fx, "AUTH CRAM-MD5\r\nAUTH X\r\nAUTH\r\nAUTH PLAIN =\r\n");
	T_STREQ(fx_out(fx), "-ERR unsupported authentication mechanism\r\n"
			    "-ERR unsupported authentication mechanism\r\n" AUTHLIST_PLAIN
			    AUTH_FAILED);
	T_INTEQ(fx->close_calls, 0);
	/* the third failure (foreign authzid, empty message, wrong password) closes */
	fx_send(fx, "AUTH PLAIN AHRpbQB3cm9uZw==\r\nNOOP\r\n");
	T_STREQ(fx_out(fx), AUTH_FAILED);
	T_INTEQ(fx->close_calls, 1);
	T_INTEQ(fx->auth_calls, 1);
	T_STREQ(fx->mech, "PLAIN");
	fx_free(fx);
}

static void
test_pop3_server_login_results(void)
{
	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx *fx = fx_new(true, deferred);

		fx_out(fx);
		fx_send(fx, "USER locky\r\nPASS secret word\r\nUSER tim\r\nPASS tempfail\r\n"
			    "USER tempy\r\nPASS secret word\r\n");
		T_STREQ(fx_out(fx), "+OK\r\n-ERR [IN-USE] maildrop is locked by another session\r\n"
				    "+OK\r\n-ERR [SYS/TEMP] temporary failure, try again later\r\n"
				    "+OK\r\n" TEMPFAIL);
		T_INTEQ(fx->auth_calls, 3);
		T_INTEQ(fx->maildrop_calls, 2);
		T_STREQ(fx->mech, "USER");
		/* unknown user and wrong password: the same reply */
		fx_send(fx, "USER nobody\r\nPASS secret word\r\nUSER tim\r\nPASS wrong\r\n");
		T_STREQ(fx_out(fx), "+OK\r\n" AUTH_FAILED "+OK\r\n" AUTH_FAILED);
		T_INTEQ(fx->close_calls, 0);
		T_INTEQ(fx->maildrop_calls, 2);
		/* PASS needs USER first, also after a failed PASS (RFC 1939 7) */
		fx_send(fx, "PASS secret word\r\n");
		T_STREQ(fx_out(fx), "-ERR USER first\r\n");
		/* an account gone between its check and its maildrop: a failure too */
		fx_send(fx, "USER gone\r\nPASS secret word\r\nNOOP\r\n");
		T_STREQ(fx_out(fx), "+OK\r\n" AUTH_FAILED);
		T_INTEQ(fx->close_calls, 1);
		T_INTEQ(fx->auth_calls, 6);
		T_INTEQ(fx->maildrop_calls, 3);
		T_ASSERT(pop3_server_session_user(fx->s) == NULL);
		/* auth_result: locky, tempy, gone authenticated; the rest failed */
		T_INTEQ(fx->results_ok, 3);
		T_INTEQ(fx->results_failed, 3);
		T_STREQ(fx->result_mech, "USER");
		T_STREQ(fx->result_user, "gone");
		fx_free(fx);
	}
}

static void
test_pop3_server_wrong_state(void)
{
	struct fx *fx = fx_new(true, false);

	fx_out(fx);
	fx_send(fx, "STAT\r\nLIST\r\nRETR 1\r\nDELE 1\r\nNOOP\r\nRSET\r\nUIDL\r\nTOP 1 1\r\n"
		    "APOP tim c4c9334bac560ecc979e58001b3e22fb\r\nLAST\r\n");
	T_STREQ(fx_out(fx), "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR unknown command\r\n-ERR unknown command\r\n");
	fx_send(fx, "USER tim\r\nPASS secret word\r\nUSER tim\r\nPASS x\r\nAUTH PLAIN\r\nLAST\r\n"
		    "STLS\r\n");
	T_STREQ(fx_out(fx), "+OK\r\n" LOGIN_OK
			    "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR unknown command\r\n"
			    "-ERR command not valid in this state\r\n");
	fx_send(fx, "STAT 1\r\nRETR\r\nTOP 1\r\nLIST 1 2\r\nNOOP x\r\n");
	T_STREQ(fx_out(fx), "-ERR wrong number of arguments\r\n-ERR wrong number of arguments\r\n"
			    "-ERR wrong number of arguments\r\n-ERR wrong number of arguments\r\n"
			    "-ERR wrong number of arguments\r\n");
	fx_free(fx);
}

static void
test_pop3_server_message_numbers(void)
{
	struct fx *fx = fx_new(true, false);

	fx_send(fx, "USER tim\r\nPASS secret word\r\n");
	fx_out(fx);
	fx_send(fx, "RETR 0\r\nRETR 4\r\nRETR x\r\nRETR 99999999999\r\nLIST 4\r\nUIDL 0\r\n"
		    "TOP 1 -1\r\nTOP 4 1\r\nTOP 1 99999999999999999999\r\nDELE 4\r\n");
	T_STREQ(fx_out(fx), "-ERR invalid message number\r\n-ERR no such message\r\n"
			    "-ERR invalid message number\r\n-ERR invalid message number\r\n"
			    "-ERR no such message\r\n-ERR invalid message number\r\n"
			    "-ERR invalid line count\r\n-ERR no such message\r\n"
			    "-ERR invalid line count\r\n-ERR no such message\r\n");
	/* a huge but valid line count means the whole body */
	fx_send(fx, "TOP 2 9223372036854775807\r\nTOP 2 9223372036854775808\r\n");
	T_STREQ(fx_out(fx), "+OK top of message follows\r\nSubject: two\r\nX: y\r\n\r\n"
			    "b1\r\nb2\r\nb3\r\n.\r\n"
			    "+OK top of message follows\r\nSubject: two\r\nX: y\r\n\r\n"
			    "b1\r\nb2\r\nb3\r\n.\r\n");
	fx_free(fx);
}

static void
test_pop3_server_bad_commands_limit(void)
{
	struct pop3_server_limits limits;
	struct fx *fx;
	struct buf expect;

	pop3_server_limits_init_default(&limits);
	T_INTEQ(limits.max_bad_commands, 20);
	fx = fx_new_limits(true, false, &limits);
	fx_out(fx);
	buf_init(&expect, 0);
	for (int i = 0; i < 20; i++) {
		fx_send(fx, "XYZZY\r\n");
		buf_append_str(&expect, "-ERR unknown command\r\n");
	}
	T_STREQ(fx_out(fx), buf_cstr(&expect));
	T_INTEQ(fx->close_calls, 0);
	fx_send(fx, "BAD!\r\nNOOP\r\n");
	T_STREQ(fx_out(fx), "-ERR too many bad commands\r\n");
	T_INTEQ(fx->close_calls, 1);
	T_ASSERT(!pop3_server_session_wants_input(fx->s));
	fx_send(fx, "CAPA\r\n");
	T_STREQ(fx_out(fx), "");
	buf_deinit(&expect);
	fx_free(fx);
}

static void
test_pop3_server_line_too_long(void)
{
	struct fx *fx = fx_new(true, false);
	char line[400];

	fx_out(fx);
	memset(line, 'N', 300);
	memcpy(line + 300, "\r\nCAPA\r\n", 9);
	fx_send(fx, line);
	T_STREQ(fx_out(fx), "-ERR line too long\r\n" CAPA_PLAIN);
	/* 255 octets with CRLF is still a line (a long password) */
	memcpy(line, "PASS ", 5);
	memset(line + 5, 'p', 248);
	memcpy(line + 253, "\r\n", 3);
	fx_send(fx, "USER tim\r\n");
	fx_send(fx, line);
	T_STREQ(fx_out(fx), "+OK\r\n" AUTH_FAILED);
	T_INTEQ(strlen(fx->user), 3);
	fx_free(fx);
}

static void
test_pop3_server_pipelining(void)
{
	struct fx *fx = fx_new(true, true);

	fx_out(fx);
	/* everything in one input; each hook waits for the test to complete it */
	pop3_server_session_input(fx->s, (const uint8_t *)session_in, sizeof(session_in) - 1);
	T_INTEQ(fx->op, FX_AUTH);
	T_ASSERT(!pop3_server_session_wants_input(fx->s));
	T_STREQ(fx_out(fx), CAPA_PLAIN "+OK\r\n");
	fx_complete(fx);
	T_INTEQ(fx->op, FX_MAILDROP);
	T_ASSERT(!pop3_server_session_wants_input(fx->s));
	T_STREQ(fx_out(fx), "");
	fx_complete(fx);
	T_INTEQ(fx->op, FX_RETRIEVE);
	T_INTEQ(fx->retr_index, 0);
	while (fx->op != FX_NONE)
		fx_complete(fx);
	T_STREQ(fx_out(fx), session_out + strlen(GREETING CAPA_PLAIN "+OK\r\n"));
	check_session_result(fx);
	fx_free(fx);
}

static void
test_pop3_server_timeout(void)
{
	struct fx *fx = fx_new(true, false);

	fx_send(fx, "USER tim\r\nPASS secret word\r\nDELE 1\r\n");
	fx_out(fx);
	pop3_server_session_timeout(fx->s);
	T_STREQ(fx_out(fx), "-ERR autologout timer expired\r\n");
	T_INTEQ(fx->close_calls, 1);
	T_INTEQ(fx->update_calls, 0);
	pop3_server_session_timeout(fx->s); /* twice: nothing more */
	T_STREQ(fx_out(fx), "");
	fx_free(fx);

	/* with a login outstanding: after it completes */
	fx = fx_new(true, true);
	fx_out(fx);
	pop3_server_session_input(fx->s, (const uint8_t *)"USER tim\r\nPASS secret word\r\n", 28);
	pop3_server_session_timeout(fx->s);
	T_STREQ(fx_out(fx), "+OK\r\n");
	T_INTEQ(fx->close_calls, 0);
	fx_complete(fx);
	T_INTEQ(fx->op, FX_MAILDROP);
	T_INTEQ(fx->close_calls, 0);
	fx_complete(fx);
	T_STREQ(fx_out(fx), LOGIN_OK "-ERR autologout timer expired\r\n");
	T_INTEQ(fx->close_calls, 1);
	fx_free(fx);
}

static void
test_pop3_server_shutdown(void)
{
	struct fx *fx = fx_new(true, true);

	fx_send(fx, "USER tim\r\nPASS secret word\r\nDELE 3\r\n");
	fx_out(fx);
	pop3_server_session_input(fx->s, (const uint8_t *)"RETR 2\r\nNOOP\r\n", 14);
	T_INTEQ(fx->op, FX_RETRIEVE);
	pop3_server_session_shutdown(fx->s);
	T_INTEQ(fx->close_calls, 0);
	fx_complete(fx);
	/* the retrieve finishes, pipelined NOOP is not run, no UPDATE */
	T_STREQ(fx_out(fx), "+OK 32 octets\r\nSubject: two\r\nX: y\r\n\r\nb1\r\nb2\r\nb3\r\n.\r\n"
			    "-ERR [SYS/TEMP] server shutting down\r\n");
	T_INTEQ(fx->close_calls, 1);
	T_INTEQ(fx->update_calls, 0);
	fx_free(fx);

	/* idle: at once */
	fx = fx_new(true, false);
	fx_out(fx);
	pop3_server_session_shutdown(fx->s);
	T_STREQ(fx_out(fx), "-ERR [SYS/TEMP] server shutting down\r\n");
	T_INTEQ(fx->close_calls, 1);
	fx_free(fx);

	/* an UPDATE in progress finishes and answers normally */
	fx = fx_new(true, true);
	fx_send(fx, "USER tim\r\nPASS secret word\r\nDELE 3\r\n");
	fx_out(fx);
	pop3_server_session_input(fx->s, (const uint8_t *)"QUIT\r\n", 6);
	pop3_server_session_shutdown(fx->s);
	fx_complete(fx);
	T_STREQ(fx_out(fx), "+OK " HOST " POP3 server signing off (2 messages left)\r\n");
	T_INTEQ(fx->update_calls, 1);
	T_INTEQ(fx->close_calls, 1);
	fx_free(fx);
}

static void
test_pop3_server_retrieve_failure(void)
{
	struct fx *fx = fx_new(true, false);

	fx_send(fx, "USER tim\r\nPASS secret word\r\n");
	fx_out(fx);
	fx->retr_fail_before = true;
	fx_send(fx, "RETR 1\r\nNOOP\r\n");
	T_STREQ(fx_out(fx), "-ERR [SYS/TEMP] message could not be read\r\n+OK\r\n");
	fx->retr_fail_before = false;
	fx->retr_fail_after = true;
	fx_send(fx, "RETR 2\r\nNOOP\r\n");
	/* the response cannot be finished: close without the terminating line */
	T_STREQ(fx_out(fx), "+OK 32 octets\r\nSubject: two\r\nX: y\r\n\r\nb1\r\nb2\r\nb3");
	T_INTEQ(fx->close_calls, 1);
	T_INTEQ(fx->update_calls, 0);
	fx_free(fx);
}

static void
test_pop3_server_message_shapes(void)
{
	static const char *const msgs[] = {
		"",                                   /* empty */
		"Subject: x\r\nFrom: y\r\n",          /* header only, no blank line */
		"A: b\r\n\r\nends in CR\r",           /* bare CR at the end */
		"A: b\n\n.bare LF\nx",                /* LF line ends */
		".\r\n.\r\n\r\n.\r\n",                /* dots everywhere */
		"A: b\r\n\r\n\r\n\r\nx\r\n",          /* empty body lines count */
	};
	static const char *const uidls[] = { "a", "b", "c", "d", "e", "f" };
	struct fx *fx = fx_new(true, false);

	fx->msgs = msgs;
	fx->uidls = uidls;
	fx->msg_count = N_ELEMENTS(msgs);
	fx_send(fx, "USER tim\r\nPASS secret word\r\n");
	fx_out(fx);
	fx_send(fx, "RETR 1\r\nTOP 1 5\r\nTOP 2 0\r\nRETR 3\r\nTOP 3 0\r\nRETR 4\r\nTOP 4 0\r\n");
	T_STREQ(fx_out(fx), "+OK 0 octets\r\n.\r\n"
			    "+OK top of message follows\r\n.\r\n"
			    "+OK top of message follows\r\nSubject: x\r\nFrom: y\r\n.\r\n"
			    "+OK 19 octets\r\nA: b\r\n\r\nends in CR\r\n.\r\n"
			    "+OK top of message follows\r\nA: b\r\n\r\n.\r\n"
			    "+OK 16 octets\r\nA: b\n\n..bare LF\nx\r\n.\r\n"
			    "+OK top of message follows\r\nA: b\n\n.\r\n");
	fx_send(fx, "RETR 5\r\nTOP 5 0\r\nTOP 6 1\r\nTOP 6 2\r\n");
	T_STREQ(fx_out(fx), "+OK 11 octets\r\n..\r\n..\r\n\r\n..\r\n.\r\n"
			    "+OK top of message follows\r\n..\r\n..\r\n\r\n.\r\n"
			    "+OK top of message follows\r\nA: b\r\n\r\n\r\n.\r\n"
			    "+OK top of message follows\r\nA: b\r\n\r\n\r\n\r\n.\r\n");
	fx_free(fx);
}

static void
test_pop3_server_free_inside_callbacks(void)
{
	struct fx *fx;

	/* glue frees the session from inside io->close (QUIT, sync update) */
	fx = fx_new(true, false);
	fx->free_in_close = true;
	fx_send(fx, "USER tim\r\nPASS secret word\r\nDELE 1\r\nQUIT\r\nNOOP\r\n");
	T_ASSERT(fx->s == NULL);
	T_INTEQ(fx->close_calls, 1);
	T_INTEQ(fx->update_calls, 1);
	fx_free(fx);

	/* ... from inside the auth_lookup hook, the open_maildrop hook (also
	 * when that is called from the auth completion), and starttls */
	for (int deferred = 0; deferred <= 1; deferred++) {
		fx = fx_new(true, deferred);
		fx->free_in_auth = true;
		fx_send(fx, "USER tim\r\nPASS secret word\r\nSTAT\r\n");
		T_ASSERT(fx->s == NULL);
		T_INTEQ(fx->close_calls, 0);
		fx_free(fx);

		fx = fx_new(true, deferred);
		fx->free_in_maildrop = true;
		fx_send(fx, "AUTH PLAIN AHRpbQBzZWNyZXQgd29yZA==\r\nSTAT\r\n");
		T_ASSERT(fx->s == NULL);
		T_INTEQ(fx->maildrop_calls, 1);
		fx_free(fx);
	}
	{
		struct fx_opts opts = { .stls = true };

		fx = fx_new_opts(&opts, false);
		fx->free_in_starttls = true;
		fx_send(fx, "STLS\r\nCAPA\r\n");
		T_ASSERT(fx->s == NULL);
		T_INTEQ(fx->starttls_calls, 1);
		T_STREQ(fx_out(fx), GREETING STLS_OK);
		fx_free(fx);
	}

	/* ... from inside io->write (a write error), in the middle of a RETR */
	fx = fx_new(true, false);
	fx_send(fx, "USER tim\r\nPASS secret word\r\n");
	fx->chunk = 3;
	fx->free_in_write = true;
	fx_send(fx, "RETR 1\r\nRETR 2\r\n");
	T_ASSERT(fx->s == NULL);
	fx_free(fx);

	/* ... from inside disconnect, called by a close */
	fx = fx_new(true, false);
	fx->free_in_disconnect = true;
	fx_send(fx, "QUIT\r\nNOOP\r\n");
	T_ASSERT(fx->s == NULL);
	T_INTEQ(fx->close_calls, 1);
	fx_free(fx);
}

static void
test_pop3_server_input_buffer_full(void)
{
	struct pop3_server_limits limits;
	struct fx *fx;
	char big[100];

	pop3_server_limits_init_default(&limits);
	limits.max_input_buffer = 64;
	fx = fx_new_limits(true, true, &limits);
	fx_out(fx);
	pop3_server_session_input(fx->s, (const uint8_t *)"USER tim\r\nPASS secret word\r\n", 28);
	T_INTEQ(fx->op, FX_AUTH);
	memset(big, 'x', sizeof(big));
	pop3_server_session_input(fx->s, (const uint8_t *)big, 40);
	T_INTEQ(fx->close_calls, 0);
	pop3_server_session_input(fx->s, (const uint8_t *)big, 40);
	T_STREQ(fx_out(fx), "+OK\r\n-ERR input buffer full\r\n");
	T_INTEQ(fx->close_calls, 1);
	/* late completions of the cancelled work are ignored */
	pop3_server_auth_verified(fx->s, true);
	pop3_server_auth_secret(fx->s, NULL);
	pop3_server_auth_tempfail(fx->s);
	pop3_server_login_done(fx->s, POP3_LOGIN_OK, NULL, 0);
	T_STREQ(fx_out(fx), "");
	fx_free(fx);
}

static void
test_pop3_server_hostname_sanitised(void)
{
	struct pop3_server_settings set;
	struct fx fx;

	memset(&fx, 0, sizeof(fx));
	memset(&set, 0, sizeof(set));
	buf_init(&fx.out, 0);
	set.hostname = "evil\r\n+OK host";
	pop3_server_limits_init_default(&set.limits);
	fx.s = pop3_server_session_new(&set, &fx_hooks, &fx, &fx_io, &fx, NULL);
	pop3_server_session_start(fx.s);
	T_STREQ(fx_out(&fx), "+OK evil__+OK_host POP3 server ready\r\n");
	T_STREQ(pop3_server_session_client_ip(fx.s), "");
	pop3_server_session_free(&fx.s);
	T_INTEQ(fx.disconnect_calls, 1);
	buf_deinit(&fx.out);
}

static void
test_pop3_server_drop_during_retrieve(void)
{
	struct fx *fx = fx_new(true, true);

	fx_send(fx, "USER tim\r\nPASS secret word\r\nDELE 2\r\n");
	fx_out(fx);
	pop3_server_session_input(fx->s, (const uint8_t *)"RETR 1\r\nQUIT\r\n", 14);
	T_INTEQ(fx->op, FX_RETRIEVE);
	pop3_server_retrieve_data(fx->s, (const uint8_t *)"Subject: one\r\n.", 15);
	T_STREQ(fx_out(fx), "+OK 43 octets\r\nSubject: one\r\n..");
	/* the client goes away in the middle: free, no QUIT processed, no UPDATE */
	pop3_server_session_free(&fx->s);
	T_INTEQ(fx->disconnect_calls, 1);
	T_INTEQ(fx->update_calls, 0);
	T_INTEQ(fx->close_calls, 0);
	fx_free(fx);
}

/* ---- STLS (RFC 2595 4) ---- */

static const char stls_in[] =
	"CAPA\r\nSTLS\r\nUSER tim\r\nPASS secret word\r\nAUTH PLAIN AHRpbQBzZWNyZXQgd29yZA==\r\n"
	"CAPA\r\nQUIT\r\n";

/*
 * Feed stls_in as [0,split) [split,len) (split 0: one byte at a time) the way
 * a glue reads it in plain text: once starttls has been called it drops the
 * octets it read and has not passed on. Within one input call the engine
 * must drop them itself: nothing after "+OK Begin TLS negotiation" may be
 * answered or acted on, however the bytes were split.
 */
static void
run_stls_injection(const struct fx_opts *opts, size_t split, const char *capa_before)
{
	struct fx *fx = fx_new_opts(opts, false);
	size_t len = sizeof(stls_in) - 1, pos = 0;
	struct buf expect;

	while (pos < len && fx->starttls_calls == 0 && fx->s != NULL) {
		size_t n = split == 0 ? 1 : pos < split ? split - pos : len - pos;

		fx_input(fx, stls_in + pos, n);
		pos += n;
	}
	buf_init(&expect, 0);
	buf_printf(&expect, "%s%s%s", GREETING, capa_before, STLS_OK);
	if (!T_STREQ(fx_out(fx), buf_cstr(&expect)))
		fprintf(stderr, "  split %zu deferred %d\n", split, opts->deferred);
	T_INTEQ(fx->starttls_calls, 1);
	T_INTEQ(fx->out_at_starttls, buf_len(&expect));
	T_INTEQ(fx->auth_calls, 0);
	T_INTEQ(fx->close_calls, 0);
	T_ASSERT(pop3_server_session_is_tls(fx->s));
	T_ASSERT(pop3_server_session_wants_input(fx->s));
	T_ASSERT(pop3_server_session_user(fx->s) == NULL);
	/* now over TLS: AUTHORIZATION as after the greeting, no new greeting */
	fx_send(fx, "PASS secret word\r\nCAPA\r\nSTLS\r\nUSER tim\r\nPASS secret word\r\n");
	T_STREQ(fx_out(fx), "-ERR USER first\r\n" CAPA_PLAIN "-ERR TLS already active\r\n"
			    "+OK\r\n" LOGIN_OK);
	T_INTEQ(fx->starttls_calls, 1);
	buf_deinit(&expect);
	fx_free(fx);
}

static void
test_pop3_server_stls_injection(void)
{
	size_t len = sizeof(stls_in) - 1;

	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx_opts plain = { .stls = true, .deferred = deferred };
		/* with plain-text logins allowed (loopback) injected ones would work */
		struct fx_opts loopback = { .stls = true, .plaintext = true, .deferred = deferred };

		for (size_t split = 0; split <= len; split++) {
			run_stls_injection(&plain, split, CAPA_STLS);
			run_stls_injection(&loopback, split, CAPA_STLS_PLAIN);
		}
	}
}

static void
test_pop3_server_stls_policy(void)
{
	struct fx_opts opts = { .stls = true };
	struct fx *fx = fx_new_opts(&opts, false);

	fx_out(fx);
	/* before TLS: STLS offered, passwords refused */
	fx_send(fx, "CAPA\r\nUSER tim\r\nPASS secret word\r\nAUTH PLAIN\r\nAUTH LOGIN\r\nAUTH\r\n"
		    "STLS x\r\n");
	T_STREQ(fx_out(fx), CAPA_STLS NEED_TLS NEED_TLS NEED_TLS NEED_TLS
			    "+OK\r\n" MECHS_NOPLAIN "\r\n.\r\n"
			    "-ERR wrong number of arguments\r\n");
	T_ASSERT(!pop3_server_session_is_tls(fx->s));
	fx_send(fx, "stls\r\n");
	T_STREQ(fx_out(fx), STLS_OK);
	T_ASSERT(pop3_server_session_is_tls(fx->s));
	/* after: no STLS, passwords allowed, second STLS refused */
	fx_send(fx, "CAPA\r\nAUTH\r\nSTLS\r\nAUTH PLAIN AHRpbQBzZWNyZXQgd29yZA==\r\n"
		    "CAPA\r\nSTLS\r\n");
	T_STREQ(fx_out(fx), CAPA_PLAIN AUTHLIST_PLAIN "-ERR TLS already active\r\n" LOGIN_OK
			    CAPA_PLAIN "-ERR command not valid in this state\r\n");
	T_INTEQ(fx->starttls_calls, 1);
	fx_free(fx);

	/* STLS held behind a hook and run when it completes: the starttls hook
	 * is called from inside the completion, and what followed is dropped */
	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx_opts pipe_opts = { .stls = true, .plaintext = true,
					     .deferred = deferred };

		fx = fx_new_opts(&pipe_opts, false);
		fx_out(fx);
		fx_send(fx, "USER tim\r\nPASS wrong\r\nSTLS\r\nUSER tim\r\nPASS secret word\r\n");
		T_STREQ(fx_out(fx), "+OK\r\n" AUTH_FAILED STLS_OK);
		T_INTEQ(fx->starttls_calls, 1);
		T_INTEQ(fx->auth_calls, 1);
		fx_free(fx);
	}

	/* not offered without a certificate */
	fx = fx_new(true, false);
	fx_out(fx);
	fx_send(fx, "STLS\r\n");
	T_STREQ(fx_out(fx), "-ERR STLS not available\r\n");
	fx_free(fx);

	/* not between USER and PASS (the USER stays) */
	opts.plaintext = true;
	fx = fx_new_opts(&opts, false);
	fx_out(fx);
	fx_send(fx, "USER tim\r\nSTLS\r\nPASS secret word\r\n");
	T_STREQ(fx_out(fx), "+OK\r\n-ERR STLS not allowed after USER\r\n" LOGIN_OK);
	T_INTEQ(fx->starttls_calls, 0);
	fx_free(fx);

	/* implicit TLS (RFC 8314 3.1): no STLS, passwords allowed */
	for (int stls = 0; stls <= 1; stls++) {
		struct fx_opts tls_opts = { .stls = stls };

		fx = fx_new_opts(&tls_opts, true);
		T_ASSERT(pop3_server_session_is_tls(fx->s));
		fx_out(fx);
		fx_send(fx, "CAPA\r\nSTLS\r\nUSER tim\r\nPASS secret word\r\nCAPA\r\n");
		T_STREQ(fx_out(fx), CAPA_PLAIN "-ERR TLS already active\r\n+OK\r\n" LOGIN_OK
				    CAPA_PLAIN);
		T_INTEQ(fx->starttls_calls, 0);
		fx_free(fx);
	}

	/* set_tls(false): back to the glue's verdict */
	fx = fx_new_opts(&opts, true);
	pop3_server_session_set_tls(fx->s, false);
	T_ASSERT(!pop3_server_session_is_tls(fx->s));
	fx_out(fx);
	fx_send(fx, "CAPA\r\n");
	T_STREQ(fx_out(fx), CAPA_HEAD "STLS\r\nUSER\r\nSASL " MECHS_PLAIN "\r\n" CAPA_TAIL);
	fx_free(fx);
}

/* ---- SASL mechanisms ---- */

static void
b64_str(char *dst, size_t size, const void *data, size_t len)
{
	struct buf b;

	buf_init(&b, 0);
	T_INTEQ(base64_encode(&b, data, len), 0);
	snprintf(dst, size, "%s", buf_cstr(&b));
	buf_deinit(&b);
}

/* Decode base64 text into dst (NUL-terminated); the length, or -1. */
static long
unb64(uint8_t *dst, size_t size, const char *src, size_t len)
{
	struct buf b;
	long n = -1;

	buf_init(&b, 0);
	if (base64_decode(&b, src, len) == 0 && buf_len(&b) < size) {
		memcpy(dst, buf_data(&b), buf_len(&b));
		dst[buf_len(&b)] = '\0';
		n = (long)buf_len(&b);
	}
	buf_deinit(&b);
	return n;
}

/* The output must be exactly one challenge line; decode it into dst. */
static bool
fx_challenge(struct fx *fx, char *dst, size_t size)
{
	const char *out = fx_out(fx);
	size_t len = strlen(out);

	dst[0] = '\0';
	if (!T_ASSERT(len >= 4 && strncmp(out, "+ ", 2) == 0 &&
		      strstr(out, "\r\n") == out + len - 2)) {
		fprintf(stderr, "  output: %s\n", out);
		return false;
	}
	return T_ASSERT(unb64((uint8_t *)dst, size, out + 2, len - 4) >= 0);
}

/* The client side of SCRAM-SHA-256 (RFC 5802 3, RFC 7677), with OpenSSL. */
struct scram {
	const char *gs2;        /* GS2 header: "n,,", "y,,", "p=tls-exporter,," */
	const char *cnonce;
	char first_bare[256];
	char server_final[128]; /* what the server must send: "v=..." */
};

/* client-first-message, base64-encoded. */
static void
scram_first(struct scram *sc, const char *user, char *dst, size_t size)
{
	char msg[300];

	if (sc->cnonce == NULL)
		sc->cnonce = "rOprNGfwEbeRWgbNEkqO";
	snprintf(sc->first_bare, sizeof(sc->first_bare), "n=%s,r=%s", user, sc->cnonce);
	snprintf(msg, sizeof(msg), "%s%s", sc->gs2, sc->first_bare);
	b64_str(dst, size, msg, strlen(msg));
}

static void
hmac256(const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t out[32])
{
	unsigned out_len = 32;

	T_ASSERT(HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) != NULL);
	T_INTEQ(out_len, 32);
}

/* client-final-message for server_first, base64-encoded; sets server_final. */
static void
scram_final(struct scram *sc, const char *password, const char *server_first,
	    const uint8_t *cb, size_t cb_len, char *dst, size_t size)
{
	const char *r = strstr(server_first, "r="), *salt = strstr(server_first, ",s=");
	const char *iter = strstr(server_first, ",i=");
	uint8_t salted[32], client_key[32], stored_key[32], sig[32], proof[32], server_key[32];
	uint8_t salt_bin[128], cbind[128];
	char nonce[128], cbind64[200], without_proof[400], auth_msg[1200], proof64[64];
	char msg[500], sig64[64];
	long salt_len;
	size_t gs2_len = strlen(sc->gs2);

	T_ASSERT(r == server_first && salt != NULL && iter != NULL);
	if (r != server_first || salt == NULL || iter == NULL)
		return;
	snprintf(nonce, sizeof(nonce), "%.*s", (int)(salt - r - 2), r + 2);
	T_ASSERT(strncmp(nonce, sc->cnonce, strlen(sc->cnonce)) == 0);
	salt_len = unb64(salt_bin, sizeof(salt_bin), salt + 3, (size_t)(iter - salt - 3));
	T_ASSERT(salt_len > 0);
	T_ASSERT(PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt_bin, (int)salt_len,
				   (int)strtol(iter + 3, NULL, 10), EVP_sha256(), 32, salted) == 1);
	hmac256(salted, 32, "Client Key", 10, client_key);
	SHA256(client_key, 32, stored_key);
	memcpy(cbind, sc->gs2, gs2_len);
	if (cb_len > 0)
		memcpy(cbind + gs2_len, cb, cb_len);
	b64_str(cbind64, sizeof(cbind64), cbind, gs2_len + cb_len);
	snprintf(without_proof, sizeof(without_proof), "c=%s,r=%s", cbind64, nonce);
	snprintf(auth_msg, sizeof(auth_msg), "%s,%s,%s", sc->first_bare, server_first,
		 without_proof);
	hmac256(stored_key, 32, auth_msg, strlen(auth_msg), sig);
	for (int i = 0; i < 32; i++)
		proof[i] = client_key[i] ^ sig[i];
	b64_str(proof64, sizeof(proof64), proof, 32);
	snprintf(msg, sizeof(msg), "%s,p=%s", without_proof, proof64);
	b64_str(dst, size, msg, strlen(msg));
	hmac256(salted, 32, "Server Key", 10, server_key);
	hmac256(server_key, 32, auth_msg, strlen(auth_msg), sig);
	b64_str(sig64, sizeof(sig64), sig, 32);
	snprintf(sc->server_final, sizeof(sc->server_final), "v=%s", sig64);
}

static const uint8_t fx_exporter[32] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

/*
 * One SCRAM exchange up to the server-final challenge (initial response or
 * not): returns true when the server sent the expected server-final data,
 * which the client still has to acknowledge with an empty line.
 */
static bool
scram_run(struct fx *fx, const char *mech, struct scram *sc, const char *user,
	  const char *password, const uint8_t *cb, size_t cb_len, bool initial)
{
	char first[400], line[700], challenge[400];

	scram_first(sc, user, first, sizeof(first));
	if (initial) {
		snprintf(line, sizeof(line), "AUTH %s %s\r\n", mech, first);
		fx_send(fx, line);
	} else {
		snprintf(line, sizeof(line), "AUTH %s\r\n", mech);
		fx_send(fx, line);
		T_STREQ(fx_out(fx), "+ \r\n");
		snprintf(line, sizeof(line), "%s\r\n", first);
		fx_send(fx, line);
	}
	if (buf_len(&fx->out) > 0 && buf_data(&fx->out)[0] == '-')
		return false; /* refused at once; the reply is still in fx->out */
	if (!fx_challenge(fx, challenge, sizeof(challenge)))
		return false;
	T_ASSERT(fx->want_secret);
	T_ASSERT(strcasecmp(fx->mech, mech) == 0);
	scram_final(sc, password, challenge, cb, cb_len, line, sizeof(line) - 2);
	memcpy(line + strlen(line), "\r\n", 3);
	fx_send(fx, line);
	if (buf_len(&fx->out) > 0 && buf_data(&fx->out)[0] == '-')
		return false; /* refused at the end */
	if (!fx_challenge(fx, challenge, sizeof(challenge)))
		return false;
	/* RFC 5034 4: the server-final data came as a challenge, not with +OK */
	return T_STREQ(challenge, sc->server_final);
}

static void
test_pop3_server_auth_scram(void)
{
	for (int mode = 0; mode < 3; mode++) {
		for (int initial = 0; initial <= 1; initial++) {
			/* sync; deferred; deferred auth with a sync open_maildrop */
			struct fx_opts opts = { .deferred = mode > 0, .sync_maildrop = mode == 2 };
			struct fx *fx = fx_new_opts(&opts, false);
			struct scram sc = { .gs2 = "n,," };

			/* not a plain-text mechanism: offered without TLS */
			fx_out(fx);
			T_ASSERT(scram_run(fx, "SCRAM-SHA-256", &sc, "tim", "secret word", NULL, 0,
					   initial));
			T_INTEQ(fx->auth_calls, 1);
			T_STREQ(fx->user, "tim");
			T_INTEQ(fx->maildrop_calls, 0);
			T_INTEQ(fx->results_ok + fx->results_failed, 0);
			T_ASSERT(pop3_server_session_user(fx->s) == NULL);
			fx_send(fx, "\r\nSTAT\r\n");
			T_STREQ(fx_out(fx), LOGIN_OK "+OK 3 89\r\n");
			T_INTEQ(fx->maildrop_calls, 1);
			T_STREQ(pop3_server_session_user(fx->s), "tim");
			T_INTEQ(fx->results_ok, 1);
			T_INTEQ(fx->results_failed, 0);
			T_STREQ(fx->result_mech, "SCRAM-SHA-256");
			T_STREQ(fx->result_user, "tim");
			fx_free(fx);
		}
	}
}

static void
test_pop3_server_auth_scram_failures(void)
{
	struct fx *fx = fx_new(false, true);
	struct scram sc = { .gs2 = "n,," };
	char first[400];

	fx_out(fx);
	/* wrong password, unknown user: the same failure at the end */
	T_ASSERT(!scram_run(fx, "SCRAM-SHA-256", &sc, "tim", "wrong", NULL, 0, true));
	T_STREQ(fx_out(fx), AUTH_FAILED);
	T_INTEQ(fx->results_failed, 1);
	T_STREQ(fx->result_mech, "SCRAM-SHA-256");
	T_STREQ(fx->result_user, "tim");
	T_ASSERT(fx->result_reason[0] != '\0');
	T_ASSERT(!scram_run(fx, "SCRAM-SHA-256", &sc, "nobody", "secret word", NULL, 0, false));
	T_STREQ(fx_out(fx), AUTH_FAILED);
	T_INTEQ(fx->maildrop_calls, 0);
	T_INTEQ(fx->close_calls, 0);
	/* the secret cannot be read now: not a failed login */
	scram_first(&sc, "tempfail", first, sizeof(first));
	for (int i = 0; i < 4; i++) {
		fx_send(fx, "AUTH SCRAM-SHA-256 ");
		fx_send(fx, first);
		fx_send(fx, "\r\n");
		T_STREQ(fx_out(fx), "-ERR [SYS/TEMP] temporary failure, try again later\r\n");
	}
	T_INTEQ(fx->close_calls, 0);
	fx_free(fx);

	/* cancel at each step, bad base64, a non-empty answer to server-final */
	fx = fx_new(false, false);
	fx_out(fx);
	scram_first(&sc, "tim", first, sizeof(first));
	fx_send(fx, "AUTH SCRAM-SHA-256\r\n*\r\n");
	T_STREQ(fx_out(fx), "+ \r\n-ERR authentication canceled\r\n");
	T_STREQ(fx->result_user, "-");
	T_STREQ(fx->result_reason, "canceled");
	fx_send(fx, "AUTH SCRAM-SHA-256 ");
	fx_send(fx, first);
	fx_send(fx, "\r\n");
	T_ASSERT(strncmp(fx_out(fx), "+ ", 2) == 0);
	fx_send(fx, "*\r\nAUTH SCRAM-SHA-256 ");
	fx_send(fx, first);
	fx_send(fx, "\r\n");
	T_ASSERT(strncmp(fx_out(fx), "-ERR authentication canceled\r\n+ ", 32) == 0);
	fx_send(fx, "c=biws,r=x\r\n");
	T_STREQ(fx_out(fx), "-ERR invalid base64 data\r\n");
	T_ASSERT(scram_run(fx, "SCRAM-SHA-256", &sc, "tim", "secret word", NULL, 0, true));
	fx_send(fx, "*\r\n");
	T_STREQ(fx_out(fx), "-ERR authentication canceled\r\n");
	T_ASSERT(scram_run(fx, "scram-sha-256", &sc, "tim", "secret word", NULL, 0, true));
	fx_send(fx, "Zm9v\r\nSTAT\r\n");
	T_STREQ(fx_out(fx), AUTH_FAILED "-ERR command not valid in this state\r\n");
	T_INTEQ(fx->maildrop_calls, 0);
	T_INTEQ(fx->results_ok, 0);
	T_INTEQ(fx->results_failed, 5);
	T_STREQ(fx->result_reason, "response to the final server data not empty");
	T_INTEQ(fx->close_calls, 0);
	fx_free(fx);
}

/* SCRAM-SHA-256-PLUS with tls-exporter channel binding (RFC 5802 6, RFC 9266). */
static void
test_pop3_server_auth_scram_plus(void)
{
	struct sasl_channel_binding cb = { .tls_exporter = fx_exporter,
					   .tls_exporter_len = sizeof(fx_exporter) };
	uint8_t other[32];

	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx_opts opts = { .stls = true, .deferred = deferred };
		struct fx *fx = fx_new_opts(&opts, false);
		struct scram sc = { .gs2 = "p=tls-exporter,," };

		/* STLS, then the glue sets the binding once the handshake is done */
		fx_send(fx, "STLS\r\n");
		fx_out(fx);
		pop3_server_session_set_channel_binding(fx->s, &cb);
		memset(&cb, 0, sizeof(cb)); /* the engine copied it */
		cb.tls_exporter = fx_exporter;
		cb.tls_exporter_len = sizeof(fx_exporter);
		fx_send(fx, "CAPA\r\nAUTH\r\n");
		T_STREQ(fx_out(fx), CAPA_PLUS "+OK\r\nSCRAM-SHA-256-PLUS\r\nSCRAM-SHA-256\r\n"
					      "PLAIN\r\nLOGIN\r\n.\r\n");
		/* data for another channel: refused */
		memset(other, 7, sizeof(other));
		T_ASSERT(!scram_run(fx, "SCRAM-SHA-256-PLUS", &sc, "tim", "secret word", other,
				    sizeof(other), true));
		T_STREQ(fx_out(fx), AUTH_FAILED);
		/* a client that could bind but thinks we cannot: a downgrade (RFC 5802 6) */
		sc.gs2 = "y,,";
		T_ASSERT(!scram_run(fx, "SCRAM-SHA-256", &sc, "tim", "secret word", NULL, 0,
				    false));
		T_STREQ(fx_out(fx), AUTH_FAILED);
		sc.gs2 = "p=tls-exporter,,";
		T_ASSERT(scram_run(fx, "SCRAM-SHA-256-PLUS", &sc, "tim", "secret word",
				   fx_exporter, sizeof(fx_exporter), deferred));
		T_STREQ(fx->mech, "SCRAM-SHA-256-PLUS");
		fx_send(fx, "\r\nCAPA\r\n");
		T_STREQ(fx_out(fx), LOGIN_OK CAPA_PLUS);
		fx_free(fx);
	}
	{
		/* cleared again: -PLUS neither offered nor accepted */
		struct fx *fx = fx_new(false, false);

		pop3_server_session_set_tls(fx->s, true);
		pop3_server_session_set_channel_binding(fx->s, &cb);
		pop3_server_session_set_channel_binding(fx->s, NULL);
		fx_out(fx);
		fx_send(fx, "CAPA\r\nAUTH SCRAM-SHA-256-PLUS\r\n");
		T_STREQ(fx_out(fx), CAPA_PLAIN "-ERR unsupported authentication mechanism\r\n");
		fx_free(fx);
	}
}

static void
test_pop3_server_auth_login(void)
{
	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx *fx = fx_new(true, deferred);
		char challenge[64];

		fx_out(fx);
		fx_send(fx, "AUTH LOGIN\r\n");
		T_ASSERT(fx_challenge(fx, challenge, sizeof(challenge)));
		T_STREQ(challenge, "Username:");
		fx_send(fx, "dGlt\r\n"); /* tim */
		T_ASSERT(fx_challenge(fx, challenge, sizeof(challenge)));
		T_STREQ(challenge, "Password:");
		fx_send(fx, "d3Jvbmc=\r\n"); /* wrong */
		T_STREQ(fx_out(fx), AUTH_FAILED);
		T_STREQ(fx->mech, "LOGIN");
		T_STREQ(fx->user, "tim");
		/* the user name as initial response */
		fx_send(fx, "AUTH LOGIN dGlt\r\n");
		T_ASSERT(fx_challenge(fx, challenge, sizeof(challenge)));
		T_STREQ(challenge, "Password:");
		fx_send(fx, "c2VjcmV0IHdvcmQ=\r\n"); /* secret word */
		T_STREQ(fx_out(fx), LOGIN_OK);
		T_INTEQ(fx->auth_calls, 2);
		T_STREQ(pop3_server_session_user(fx->s), "tim");
		fx_free(fx);
	}
}

/* A temporary failure of the check is not a failed login, and any hook
 * order (sync, deferred, mixed) gives the same replies. */
static void
test_pop3_server_auth_tempfail(void)
{
	for (int mode = 0; mode < 3; mode++) {
		struct fx_opts opts = { .plaintext = true, .deferred = mode > 0,
					.sync_maildrop = mode == 2 };
		struct fx *fx = fx_new_opts(&opts, false);

		fx_out(fx);
		for (int i = 0; i < 5; i++) {
			/* \0tim\0tempfail */
			fx_send(fx, "AUTH PLAIN AHRpbQB0ZW1wZmFpbA==\r\n"
				    "USER tim\r\nPASS tempfail\r\n");
			T_STREQ(fx_out(fx), TEMPFAIL "+OK\r\n" TEMPFAIL);
		}
		T_INTEQ(fx->close_calls, 0);
		T_INTEQ(fx->maildrop_calls, 0);
		/* \0locky\0secret word, \0tempy\0secret word */
		fx_send(fx, "AUTH PLAIN AGxvY2t5AHNlY3JldCB3b3Jk\r\n"
			    "AUTH PLAIN AHRlbXB5AHNlY3JldCB3b3Jk\r\n"
			    "AUTH PLAIN AHRpbQBzZWNyZXQgd29yZA==\r\nSTAT\r\n");
		T_STREQ(fx_out(fx), "-ERR [IN-USE] maildrop is locked by another session\r\n"
				    "-ERR [SYS/TEMP] temporary failure, try again later\r\n"
				    LOGIN_OK "+OK 3 89\r\n");
		T_INTEQ(fx->maildrop_calls, 3);
		fx_free(fx);
	}
}

/* The whole session with auth deferred and the maildrop opened at once
 * from the auth completion, at every split. */
static void
test_pop3_server_mixed_hooks(void)
{
	size_t len = sizeof(session_in) - 1;

	for (size_t split = 1; split < len; split += 7) {
		struct fx_opts opts = { .plaintext = true, .deferred = true,
					.sync_maildrop = true };
		struct fx *fx = fx_new_opts(&opts, false);

		fx_input(fx, session_in, split);
		fx_input(fx, session_in + split, len - split);
		T_STREQ(fx_out(fx), session_out);
		check_session_result(fx);
		fx_free(fx);
	}
}

static const struct test tests[] = {
	TEST_ENTRY(test_pop3_server_full_session),
	TEST_ENTRY(test_pop3_server_any_split),
	TEST_ENTRY(test_pop3_server_capa),
	TEST_ENTRY(test_pop3_server_plaintext_refused),
	TEST_ENTRY(test_pop3_server_dropped_connection),
	TEST_ENTRY(test_pop3_server_quit_in_authorization),
	TEST_ENTRY(test_pop3_server_update_failure),
	TEST_ENTRY(test_pop3_server_auth_plain_initial),
	TEST_ENTRY(test_pop3_server_auth_plain_continuation),
	TEST_ENTRY(test_pop3_server_auth_cancel),
	TEST_ENTRY(test_pop3_server_auth_refusals),
	TEST_ENTRY(test_pop3_server_login_results),
	TEST_ENTRY(test_pop3_server_wrong_state),
	TEST_ENTRY(test_pop3_server_message_numbers),
	TEST_ENTRY(test_pop3_server_bad_commands_limit),
	TEST_ENTRY(test_pop3_server_line_too_long),
	TEST_ENTRY(test_pop3_server_pipelining),
	TEST_ENTRY(test_pop3_server_timeout),
	TEST_ENTRY(test_pop3_server_shutdown),
	TEST_ENTRY(test_pop3_server_retrieve_failure),
	TEST_ENTRY(test_pop3_server_message_shapes),
	TEST_ENTRY(test_pop3_server_free_inside_callbacks),
	TEST_ENTRY(test_pop3_server_input_buffer_full),
	TEST_ENTRY(test_pop3_server_hostname_sanitised),
	TEST_ENTRY(test_pop3_server_drop_during_retrieve),
	TEST_ENTRY(test_pop3_server_stls_injection),
	TEST_ENTRY(test_pop3_server_stls_policy),
	TEST_ENTRY(test_pop3_server_auth_scram),
	TEST_ENTRY(test_pop3_server_auth_scram_failures),
	TEST_ENTRY(test_pop3_server_auth_scram_plus),
	TEST_ENTRY(test_pop3_server_auth_login),
	TEST_ENTRY(test_pop3_server_auth_tempfail),
	TEST_ENTRY(test_pop3_server_mixed_hooks),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("pop3-server", tests);
}
