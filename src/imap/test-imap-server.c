/*
 * test-imap-server.c - the IMAP engine's session layer against a fake io and
 * fake hooks.
 *
 * The fake io collects output in a buf; the fake hooks complete either at
 * once from inside the hook (synchronous) or when the test, playing the
 * event loop, completes them (deferred). Scripts run whole, byte by byte
 * and split at every point, both ways: all must give the same transcript.
 * The SCRAM client side is computed with OpenSSL's libcrypto.
 */
#include "imap/imap-server-private.h"
#include "imap/imap-server.h"
#include "core/base64.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"
#include "sasl/sasl-server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#define HOST "imap.example.org"

enum fx_op { FX_NONE, FX_AUTH, FX_LOGIN, FX_LIST, FX_STATUS, FX_MBOX };

struct fx_opts {
	bool plaintext;
	bool starttls;
	bool deferred;
	bool tls;       /* implicit TLS */
	bool cb;        /* channel binding set from the start */
	bool shared;    /* namespace_shared */
	const struct imap_server_limits *limits;
};

struct fx {
	struct imap_server_session *s;
	struct buf out;
	struct fx_opts opts;
	enum fx_op op;
	char mech[64], user[300], pass[300];
	bool want_secret;
	int close_calls, disconnect_calls, auth_calls, login_calls, starttls_calls;
	int results_ok, results_failed;
	char result_mech[64], result_reason[200];
	bool free_in_close, free_in_auth, free_in_login, free_in_write, free_in_starttls;
	bool free_in_disconnect, overlapping_hook;
	size_t out_at_starttls;
	/* mailbox hooks: the last name, a log of every call */
	char mbox[300];
	struct buf log;
	bool list_fail, free_in_status;
};

static const uint8_t fx_exporter[32] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };

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
		imap_server_session_free(&fx->s);
}

static void
fx_close(void *ctx)
{
	struct fx *fx = ctx;

	fx->close_calls++;
	if (fx->free_in_close)
		imap_server_session_free(&fx->s);
}

/* Accounts: tim and nologin (login hook fails), password "secret word";
 * password or SCRAM user "tempfail": the check fails for now. */
static bool
fx_account(const char *user)
{
	return strcmp(user, "tim") == 0 || strcmp(user, "nologin") == 0;
}

static void fx_complete_mailbox(struct fx *fx, enum fx_op op);

static void
fx_complete(struct fx *fx)
{
	enum fx_op op = fx->op;

	fx->op = FX_NONE;
	if (fx->s == NULL)
		return;
	if (op == FX_LIST || op == FX_STATUS || op == FX_MBOX) {
		fx_complete_mailbox(fx, op);
	} else if (op == FX_LOGIN) {
		imap_server_login_done(fx->s, strcmp(fx->user, "nologin") != 0);
	} else if (op == FX_AUTH && fx->want_secret) {
		if (strcmp(fx->user, "tempfail") == 0)
			imap_server_auth_tempfail(fx->s);
		else
			imap_server_auth_secret(fx->s, fx_account(fx->user) ? fx_scram_secret()
									    : NULL);
	} else if (op == FX_AUTH) {
		if (strcmp(fx->pass, "tempfail") == 0)
			imap_server_auth_tempfail(fx->s);
		else
			imap_server_auth_verified(fx->s, fx_account(fx->user) &&
								 strcmp(fx->pass, "secret word") == 0);
	}
}

/* The user's mailboxes (RFC 5258 5 style): Fruit/Peach is subscribed but
 * gone, Vegetable exists only as a parent, "bad//name" is skipped. */
static const struct imap_mailbox_info fx_boxes[] = {
	{ "INBOX", 0, true, true },
	{ "Drafts", IMAP_SPECIAL_USE_DRAFTS, true, true },
	{ "Sent", IMAP_SPECIAL_USE_SENT, true, true },
	{ "Entw\xc3\xbcrfe", 0, false, true },
	{ "Fruit", 0, false, true },
	{ "Fruit/Apple", 0, true, true },
	{ "Fruit/Banana", 0, false, true },
	{ "Fruit/Peach", 0, true, false },
	{ "Vegetable/Broccoli", 0, true, true },
	{ "Tofu", 0, false, true },
	{ "bad//name", 0, true, true },
};

static void
fx_complete_mailbox(struct fx *fx, enum fx_op op)
{
	struct imap_status_info st = { .uidvalidity = 42, .unseen = 1, .size = 1000,
				       .highest_modseq = 7 };

	if (op == FX_LIST) {
		imap_server_list_done(fx->s, fx_boxes, N_ELEMENTS(fx_boxes),
				      fx->list_fail ? IMAP_MAILBOX_TEMPFAIL : IMAP_MAILBOX_OK);
	} else if (op == FX_STATUS) {
		st.messages = (uint32_t)strlen(fx->mbox);
		st.uidnext = st.messages + 1;
		if (strcmp(fx->mbox, "Fresh") == 0) {
			/* never changed (modseq 0 in the store), 2 not claimed */
			st.highest_modseq = 0;
			st.recent = 2;
		}
		imap_server_status_done(fx->s, strcmp(fx->mbox, "gone") == 0 ? NULL : &st,
					strcmp(fx->mbox, "gone") == 0 ? IMAP_MAILBOX_NONEXISTENT
								      : IMAP_MAILBOX_OK);
	} else if (strcmp(fx->mbox, "exists") == 0) {
		imap_server_mailbox_op_done(fx->s, IMAP_MAILBOX_EXISTS, NULL);
	} else if (strcmp(fx->mbox, "gone") == 0) {
		imap_server_mailbox_op_done(fx->s, IMAP_MAILBOX_NONEXISTENT, NULL);
	} else if (strcmp(fx->mbox, "tempfail") == 0) {
		imap_server_mailbox_op_done(fx->s, IMAP_MAILBOX_TEMPFAIL, "Disk\r\nfull");
	} else {
		imap_server_mailbox_op_done(fx->s, IMAP_MAILBOX_OK, NULL);
	}
}

static void
fx_begin_op(struct fx *fx, enum fx_op op)
{
	if (fx->op != FX_NONE)
		fx->overlapping_hook = true;
	fx->op = op;
	if (!fx->opts.deferred)
		fx_complete(fx);
}

static void
fx_auth_lookup(void *ctx, struct imap_server_session *s, const char *mech, const char *authcid,
	       const char *password)
{
	struct fx *fx = ctx;

	T_ASSERT(s == fx->s);
	T_ASSERT(!imap_server_session_wants_input(s));
	fx->auth_calls++;
	snprintf(fx->mech, sizeof(fx->mech), "%s", mech);
	snprintf(fx->user, sizeof(fx->user), "%s", authcid);
	snprintf(fx->pass, sizeof(fx->pass), "%s", password != NULL ? password : "");
	fx->want_secret = password == NULL;
	if (fx->free_in_auth) {
		imap_server_session_free(&fx->s);
		return;
	}
	fx_begin_op(fx, FX_AUTH);
}

static void
fx_authenticated(void *ctx, struct imap_server_session *s, const char *user)
{
	struct fx *fx = ctx;

	T_ASSERT(s == fx->s);
	fx->login_calls++;
	T_STREQ(user, fx->user);
	if (fx->free_in_login) {
		imap_server_session_free(&fx->s);
		return;
	}
	fx_begin_op(fx, FX_LOGIN);
}

static void
fx_starttls(void *ctx, struct imap_server_session *s)
{
	struct fx *fx = ctx;

	T_ASSERT(fx->op == FX_NONE);
	T_ASSERT(imap_server_session_is_tls(s));
	fx->starttls_calls++;
	fx->out_at_starttls = buf_len(&fx->out);
	if (fx->free_in_starttls)
		imap_server_session_free(&fx->s);
}

static void
fx_auth_result(void *ctx, struct imap_server_session *s, const char *mech, const char *authcid,
	       bool ok, const char *reason)
{
	struct fx *fx = ctx;

	T_ASSERT(ok == (reason == NULL));
	if (ok)
		fx->results_ok++;
	else
		fx->results_failed++;
	snprintf(fx->result_mech, sizeof(fx->result_mech), "%s", mech);
	snprintf(fx->result_reason, sizeof(fx->result_reason), "%s", reason != NULL ? reason : "");
}

static void
fx_disconnect(void *ctx, struct imap_server_session *s)
{
	struct fx *fx = ctx;

	fx->disconnect_calls++;
	fx->op = FX_NONE;
	if (fx->free_in_disconnect)
		imap_server_session_free(&fx->s);
}

static void
fx_mailbox_list(void *ctx, struct imap_server_session *s)
{
	struct fx *fx = ctx;

	T_ASSERT(s == fx->s);
	(void)buf_append_str(&fx->log, "list\n");
	fx_begin_op(fx, FX_LIST);
}

static void
fx_mailbox_status(void *ctx, struct imap_server_session *s, const char *name, unsigned items)
{
	struct fx *fx = ctx;

	T_ASSERT(!imap_server_session_wants_input(s));
	snprintf(fx->mbox, sizeof(fx->mbox), "%s", name);
	(void)buf_printf(&fx->log, "status %s %#x\n", name, items);
	if (fx->free_in_status) {
		imap_server_session_free(&fx->s);
		return;
	}
	fx_begin_op(fx, FX_STATUS);
}

static void
fx_mailbox_create(void *ctx, struct imap_server_session *s, const char *name,
		  unsigned special_use)
{
	struct fx *fx = ctx;

	snprintf(fx->mbox, sizeof(fx->mbox), "%s", name);
	(void)buf_printf(&fx->log, "create %s %#x\n", name, special_use);
	fx_begin_op(fx, FX_MBOX);
}

static void
fx_mailbox_delete(void *ctx, struct imap_server_session *s, const char *name)
{
	struct fx *fx = ctx;

	snprintf(fx->mbox, sizeof(fx->mbox), "%s", name);
	(void)buf_printf(&fx->log, "delete %s\n", name);
	fx_begin_op(fx, FX_MBOX);
}

static void
fx_mailbox_rename(void *ctx, struct imap_server_session *s, const char *old_name,
		  const char *new_name)
{
	struct fx *fx = ctx;

	snprintf(fx->mbox, sizeof(fx->mbox), "%s", new_name);
	(void)buf_printf(&fx->log, "rename %s %s\n", old_name, new_name);
	fx_begin_op(fx, FX_MBOX);
}

static void
fx_mailbox_subscribe(void *ctx, struct imap_server_session *s, const char *name, bool subscribe)
{
	struct fx *fx = ctx;

	snprintf(fx->mbox, sizeof(fx->mbox), "%s", name);
	(void)buf_printf(&fx->log, "%s %s\n", subscribe ? "subscribe" : "unsubscribe", name);
	fx_begin_op(fx, FX_MBOX);
}

static const struct imap_server_io fx_io = { .write = fx_write, .close = fx_close };
static const struct imap_server_hooks fx_hooks = {
	.auth_lookup = fx_auth_lookup,
	.authenticated = fx_authenticated,
	.starttls = fx_starttls,
	.auth_result = fx_auth_result,
	.disconnect = fx_disconnect,
	.mailbox_list = fx_mailbox_list,
	.mailbox_status = fx_mailbox_status,
	.mailbox_create = fx_mailbox_create,
	.mailbox_delete = fx_mailbox_delete,
	.mailbox_rename = fx_mailbox_rename,
	.mailbox_subscribe = fx_mailbox_subscribe,
};

static struct fx *
fx_new_opts(const struct fx_opts *opts)
{
	struct fx *fx = mem_zalloc(sizeof(*fx));
	struct imap_server_settings set;
	struct sasl_channel_binding cb = { .tls_exporter = fx_exporter,
					   .tls_exporter_len = sizeof(fx_exporter) };

	memset(&set, 0, sizeof(set));
	set.hostname = HOST;
	set.auth_plaintext_allowed = opts->plaintext;
	set.starttls_available = opts->starttls;
	set.capability_extra = "X-ONE bad\"cap X-TWO";
	set.namespace_shared = opts->shared;
	if (opts->limits != NULL)
		set.limits = *opts->limits;
	else
		imap_server_limits_init_default(&set.limits);
	buf_init(&fx->out, 0);
	buf_init(&fx->log, 0);
	fx->opts = *opts;
	fx->opts.limits = NULL;
	fx->s = imap_server_session_new(&set, &fx_hooks, fx, &fx_io, fx, "192.0.2.7");
	if (opts->tls)
		imap_server_session_set_tls(fx->s, true);
	if (opts->cb)
		imap_server_session_set_channel_binding(fx->s, &cb);
	imap_server_session_start(fx->s);
	return fx;
}

static struct fx *
fx_new(bool plaintext, bool deferred)
{
	struct fx_opts opts = { .plaintext = plaintext, .deferred = deferred };

	return fx_new_opts(&opts);
}

static void
fx_free(struct fx *fx)
{
	imap_server_session_free(&fx->s);
	T_INTEQ(fx->disconnect_calls, 1);
	T_ASSERT(!fx->overlapping_hook);
	buf_deinit(&fx->out);
	buf_deinit(&fx->log);
	mem_free(&fx);
}

static void
fx_input(struct fx *fx, const char *data, size_t len)
{
	if (fx->s == NULL)
		return;
	imap_server_session_input(fx->s, (const uint8_t *)data, len);
	while (fx->op != FX_NONE && fx->s != NULL)
		fx_complete(fx);
}

static void
fx_send(struct fx *fx, const char *text)
{
	fx_input(fx, text, strlen(text));
}

static const char *
fx_out(struct fx *fx)
{
	static char copy[16384];

	snprintf(copy, sizeof(copy), "%s", buf_cstr(&fx->out));
	buf_reset(&fx->out);
	return copy;
}

#define CAPS_BASE "IMAP4rev2 IMAP4rev1 SASL-IR LITERAL- ID ENABLE"
#define MECHS_NOPLAIN "AUTH=SCRAM-SHA-256"
#define MECHS_PLAIN "AUTH=SCRAM-SHA-256 AUTH=PLAIN AUTH=LOGIN"
#define CAPS_NOPLAIN CAPS_BASE " LOGINDISABLED " MECHS_NOPLAIN
#define CAPS_PLAIN CAPS_BASE " " MECHS_PLAIN
#define CAPS_STLS CAPS_BASE " STARTTLS LOGINDISABLED " MECHS_NOPLAIN
#define CAPS_AUTH "IMAP4rev2 IMAP4rev1 LITERAL+ ID ENABLE UTF8=ACCEPT NAMESPACE LIST-EXTENDED " \
		  "LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE X-ONE X-TWO"
#define GREETING(caps) "* OK [CAPABILITY " caps "] " HOST " IMAP4rev2 server ready\r\n"
#define LOGGED_IN(tag) tag " OK [CAPABILITY " CAPS_AUTH "] Logged in\r\n"
#define AUTH_FAILED(tag) tag " NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
#define PRIVACY(tag) tag " NO [PRIVACYREQUIRED] Plaintext authentication is disallowed " \
			 "without TLS\r\n"
#define UNAVAIL(tag) tag " NO [UNAVAILABLE] Temporary failure, try again later\r\n"
#define CONT "+ Ready for literal data\r\n"

static void
test_imap_server_capability(void)
{
	struct fx_opts o1 = { .starttls = true }, o2 = { .plaintext = true };
	struct fx_opts o3 = { .tls = true }, o4 = { .tls = true, .cb = true };
	struct fx *fx;

	fx = fx_new_opts(&o1);
	T_STREQ(fx_out(fx), GREETING(CAPS_STLS));
	fx_send(fx, "a CAPABILITY\r\n");
	T_STREQ(fx_out(fx), "* CAPABILITY " CAPS_STLS "\r\na OK CAPABILITY completed\r\n");
	fx_free(fx);

	fx = fx_new(false, false);
	T_STREQ(fx_out(fx), GREETING(CAPS_NOPLAIN));
	fx_free(fx);

	fx = fx_new_opts(&o2);
	T_STREQ(fx_out(fx), GREETING(CAPS_PLAIN));
	fx_free(fx);

	fx = fx_new_opts(&o3);
	T_STREQ(fx_out(fx), GREETING(CAPS_PLAIN));
	fx_free(fx);

	fx = fx_new_opts(&o4);
	T_STREQ(fx_out(fx), GREETING(CAPS_BASE " AUTH=SCRAM-SHA-256-PLUS " MECHS_PLAIN));
	T_STREQ(imap_server_session_client_ip(fx->s), "192.0.2.7");
	imap_server_session_set_channel_binding(fx->s, NULL);
	fx_send(fx, "a capability\r\n");
	T_STREQ(fx_out(fx), "* CAPABILITY " CAPS_PLAIN "\r\na OK CAPABILITY completed\r\n");
	fx_free(fx);
}

/* A whole session; the expected transcript is the same however it is fed. */
static const char session_in[] =
	"a CAPABILITY\r\nb NOOP\r\nc ID NIL\r\nd ENABLE UTF8=ACCEPT\r\n"
	"c2 ID (\"name\" \"test\" \"version\" NIL)\r\nx1 FOO\r\n"
	"e LOGIN {3}\r\ntim {11+}\r\nsecret word\r\n"
	"f ENABLE IMAP4rev2 UTF8=ACCEPT X-UNKNOWN\r\ng enable utf8=accept\r\n"
	"h LOGIN tim x\r\ni AUTHENTICATE PLAIN\r\nj SELECT INBOX\r\nk STARTTLS\r\n"
	"l NOOP\n"
	"m LOGOUT\r\nn NOOP\r\n";
static const char session_out[] =
	GREETING(CAPS_PLAIN)
	"* CAPABILITY " CAPS_PLAIN "\r\na OK CAPABILITY completed\r\n"
	"b OK NOOP completed\r\n"
	"* ID (\"name\" \"Posthorn\")\r\nc OK ID completed\r\n"
	"d BAD Command not valid in this state\r\n"
	"* ID (\"name\" \"Posthorn\")\r\nc2 OK ID completed\r\n"
	"x1 BAD Unknown command\r\n"
	CONT LOGGED_IN("e")
	"* ENABLED IMAP4rev2 UTF8=ACCEPT\r\nf OK ENABLE completed\r\n"
	"* ENABLED\r\ng OK ENABLE completed\r\n"
	"h BAD Command not valid in this state\r\n"
	"i BAD Command not valid in this state\r\n"
	"j BAD Unknown command\r\n"
	"k BAD Command not valid in this state\r\n"
	"l OK NOOP completed\r\n"
	"* BYE Logging out\r\nm OK LOGOUT completed\r\n";

static void
check_session(struct fx *fx, const char *what, size_t split)
{
	if (!T_STREQ(fx_out(fx), session_out))
		fprintf(stderr, "  %s deferred %d split %zu\n", what, fx->opts.deferred, split);
	T_INTEQ(fx->close_calls, 1);
	T_INTEQ(fx->auth_calls, 1);
	T_INTEQ(fx->login_calls, 1);
	T_STREQ(fx->mech, IMAP_SERVER_LOGIN_MECH);
	T_INTEQ(fx->results_ok, 1);
}

static void
test_imap_server_session_splits(void)
{
	size_t len = sizeof(session_in) - 1;

	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx *fx = fx_new(true, deferred);

		fx_send(fx, session_in);
		check_session(fx, "whole", 0);
		T_ASSERT(imap_server_session_is_closed(fx->s));
		T_ASSERT(imap_server_session_rev2_enabled(fx->s));
		T_ASSERT(imap_server_session_utf8_enabled(fx->s));
		fx_free(fx);

		fx = fx_new(true, deferred);
		for (size_t i = 0; i < len; i++)
			fx_input(fx, session_in + i, 1);
		check_session(fx, "bytes", 0);
		fx_free(fx);

		for (size_t split = 1; split < len; split++) {
			fx = fx_new(true, deferred);
			fx_input(fx, session_in, split);
			fx_input(fx, session_in + split, len - split);
			check_session(fx, "split", split);
			fx_free(fx);
		}
	}
}

static const char stls_in[] = "a STARTTLS\r\nb LOGIN tim {11+}\r\nsecret word\r\nc CAPABILITY\r\n"
			      "d AUTHENTICATE PLAIN AHRpbQBzZWNyZXQgd29yZA==\r\n";

/* The glue reads stls_in in plain text split at split (0: byte by byte) and
 * drops what it read once starttls was called; the engine must drop the
 * rest of a chunk itself. Only the STARTTLS is answered. */
static void
run_stls_injection(bool plaintext, bool deferred, size_t split)
{
	struct fx_opts o = { .starttls = true, .plaintext = plaintext, .deferred = deferred };
	struct fx *fx = fx_new_opts(&o);
	size_t len = sizeof(stls_in) - 1, pos = 0;
	const char *greeting = plaintext ? GREETING(CAPS_BASE " STARTTLS " MECHS_PLAIN)
					 : GREETING(CAPS_STLS);
	char expect[1024];

	while (pos < len && fx->starttls_calls == 0 && fx->s != NULL) {
		size_t n = split == 0 ? 1 : pos < split ? split - pos : len - pos;

		fx_input(fx, stls_in + pos, n);
		pos += n;
	}
	snprintf(expect, sizeof(expect), "%sa OK Begin TLS negotiation now\r\n", greeting);
	if (!T_STREQ(fx_out(fx), expect))
		fprintf(stderr, "  split %zu deferred %d\n", split, deferred);
	T_INTEQ(fx->starttls_calls, 1);
	T_INTEQ(fx->out_at_starttls, strlen(expect));
	T_INTEQ(fx->auth_calls, 0);
	T_ASSERT(imap_server_session_is_tls(fx->s));
	T_ASSERT(imap_server_session_user(fx->s) == NULL);
	/* over TLS now */
	fx_send(fx, "e CAPABILITY\r\nf STARTTLS\r\ng LOGIN tim \"secret word\"\r\n");
	T_STREQ(fx_out(fx), "* CAPABILITY " CAPS_PLAIN "\r\ne OK CAPABILITY completed\r\n"
			    "f BAD TLS already active\r\n" LOGGED_IN("g"));
	T_STREQ(imap_server_session_user(fx->s), "tim");
	fx_free(fx);
}

static void
test_imap_server_starttls_injection(void)
{
	size_t len = sizeof(stls_in) - 1;

	for (int deferred = 0; deferred <= 1; deferred++) {
		for (size_t split = 0; split <= len; split++) {
			run_stls_injection(false, deferred, split);
			run_stls_injection(true, deferred, split);
		}
	}
}

static void
test_imap_server_starttls_errors(void)
{
	struct fx_opts tls = { .starttls = true, .tls = true };
	struct fx *fx = fx_new(true, false);

	(void)fx_out(fx);
	fx_send(fx, "a STARTTLS\r\nb STARTTLS extra\r\n");
	T_STREQ(fx_out(fx), "a NO TLS not available\r\nb BAD Invalid arguments\r\n");
	fx_free(fx);

	fx = fx_new_opts(&tls);
	(void)fx_out(fx);
	fx_send(fx, "a STARTTLS\r\n");
	T_STREQ(fx_out(fx), "a BAD TLS already active\r\n");
	T_INTEQ(fx->starttls_calls, 0);
	fx_free(fx);

	/* the glue frees the session inside the starttls hook */
	tls.tls = false;
	fx = fx_new_opts(&tls);
	fx->free_in_starttls = true;
	fx_send(fx, "a STARTTLS\r\nb NOOP\r\n");
	T_ASSERT(fx->s == NULL);
	T_INTEQ(fx->starttls_calls, 1);
	fx_free(fx);
}

static void
test_imap_server_login(void)
{
	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx *fx = fx_new(true, deferred);

		(void)fx_out(fx);
		fx_send(fx, "a LOGIN tim wrong\r\nb LOGIN tim tempfail\r\nc LOGIN nologin "
			    "\"secret word\"\r\nd LOGIN nobody \"secret word\"\r\n");
		T_STREQ(fx_out(fx), AUTH_FAILED("a") UNAVAIL("b") UNAVAIL("c") AUTH_FAILED("d"));
		T_INTEQ(fx->results_failed, 3);
		T_INTEQ(fx->results_ok, 1);
		T_STREQ(fx->result_mech, IMAP_SERVER_LOGIN_MECH);
		T_ASSERT(imap_server_session_user(fx->s) == NULL);
		fx_send(fx, "e LOGIN tim (x)\r\nf LOGIN tim\r\ng LOGIN tim wrong\r\nh NOOP\r\n");
		T_STREQ(fx_out(fx), "e BAD Invalid arguments\r\nf BAD Invalid arguments\r\n"
				    AUTH_FAILED("g") "* BYE Too many authentication failures\r\n");
		T_INTEQ(fx->close_calls, 1);
		fx_free(fx);

		/* no plain text before TLS */
		fx = fx_new(false, deferred);
		(void)fx_out(fx);
		fx_send(fx, "a LOGIN tim \"secret word\"\r\n");
		T_STREQ(fx_out(fx), PRIVACY("a"));
		T_INTEQ(fx->auth_calls, 0);
		fx_free(fx);
	}
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

static void
b64_str(char *dst, size_t size, const void *src, size_t len)
{
	struct buf b;

	buf_init(&b, 0);
	T_INTEQ(base64_encode(&b, src, len), 0);
	snprintf(dst, size, "%s", buf_cstr(&b));
	buf_deinit(&b);
}

static void
test_imap_server_authenticate_plain(void)
{
	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx *fx = fx_new(true, deferred);

		(void)fx_out(fx);
		/* SASL-IR (RFC 4959), wrong password, then via a continuation */
		fx_send(fx, "a AUTHENTICATE PLAIN AHRpbQB3cm9uZw==\r\n"
			    "b AUTHENTICATE PLAIN\r\n");
		T_STREQ(fx_out(fx), AUTH_FAILED("a") "+ \r\n");
		fx_send(fx, "AHRpbQBzZWNyZXQgd29yZA==\r\n");
		T_STREQ(fx_out(fx), LOGGED_IN("b"));
		T_STREQ(fx->mech, "PLAIN");
		T_STREQ(imap_server_session_user(fx->s), "tim");
		fx_free(fx);

		fx = fx_new(true, deferred);
		(void)fx_out(fx);
		fx_send(fx, "a AUTHENTICATE PLAIN\r\n*\r\nb AUTHENTICATE PLAIN\r\n!!!\r\n"
			    "c AUTHENTICATE PLAIN =\r\nd AUTHENTICATE X-FOO\r\n"
			    "e AUTHENTICATE PLAIN AHRpbQB0ZW1wZmFpbA==\r\n"
			    "f AUTHENTICATE SCRAM-SHA-256-PLUS\r\ng AUTHENTICATE\r\n"
			    "h authenticate login\r\n");
		T_STREQ(fx_out(fx), "+ \r\na BAD Authentication canceled\r\n"
				    "+ \r\nb BAD Invalid base64 data\r\n" AUTH_FAILED("c")
				    "d NO Unsupported authentication mechanism\r\n" UNAVAIL("e")
				    "f NO Unsupported authentication mechanism\r\n"
				    "g BAD Invalid arguments\r\n+ VXNlcm5hbWU6\r\n");
		fx_send(fx, "dGlt\r\n");
		T_STREQ(fx_out(fx), "+ UGFzc3dvcmQ6\r\n");
		fx_send(fx, "c2VjcmV0IHdvcmQ=\r\nz NOOP\r\n");
		T_STREQ(fx_out(fx), LOGGED_IN("h") "z OK NOOP completed\r\n");
		T_STREQ(fx->mech, "LOGIN");
		fx_free(fx);

		/* plain-text mechanisms need TLS or the glue's permission */
		fx = fx_new(false, deferred);
		(void)fx_out(fx);
		fx_send(fx, "a AUTHENTICATE PLAIN AHRpbQBzZWNyZXQgd29yZA==\r\n");
		T_STREQ(fx_out(fx), PRIVACY("a"));
		T_INTEQ(fx->auth_calls, 0);
		fx_free(fx);
	}
}

/* The client side of SCRAM-SHA-256 (RFC 5802 3, RFC 7677). */
struct scram {
	const char *gs2;
	const char *cnonce;
	char first_bare[256];
	char server_final[128];
};

static void
hmac256(const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t out[32])
{
	unsigned out_len = 32;

	T_ASSERT(HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) != NULL);
}

static void
scram_first(struct scram *sc, const char *user, char *dst, size_t size)
{
	char msg[300];

	sc->cnonce = "fyko+d2lbbFgONRv9qkxdawL";
	snprintf(sc->first_bare, sizeof(sc->first_bare), "n=%s,r=%s", user, sc->cnonce);
	snprintf(msg, sizeof(msg), "%s%s", sc->gs2, sc->first_bare);
	b64_str(dst, size, msg, strlen(msg));
}

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

	if (!T_ASSERT(r == server_first && salt != NULL && iter != NULL))
		return;
	snprintf(nonce, sizeof(nonce), "%.*s", (int)(salt - r - 2), r + 2);
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

/* The output must be exactly one "+ " challenge line; decode it. */
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

/* A SCRAM exchange up to the server-final challenge; true when that came
 * and matched. tag "s". */
static bool
scram_run(struct fx *fx, const char *mech, struct scram *sc, const char *user,
	  const char *password, const uint8_t *cb, size_t cb_len, bool initial)
{
	char first[400], line[800], challenge[400];

	scram_first(sc, user, first, sizeof(first));
	if (initial) {
		snprintf(line, sizeof(line), "s AUTHENTICATE %s %s\r\n", mech, first);
		fx_send(fx, line);
	} else {
		snprintf(line, sizeof(line), "s AUTHENTICATE %s\r\n", mech);
		fx_send(fx, line);
		T_STREQ(fx_out(fx), "+ \r\n");
		snprintf(line, sizeof(line), "%s\r\n", first);
		fx_send(fx, line);
	}
	if (!fx_challenge(fx, challenge, sizeof(challenge)))
		return false;
	T_ASSERT(fx->want_secret);
	scram_final(sc, password, challenge, cb, cb_len, line, sizeof(line) - 2);
	memcpy(line + strlen(line), "\r\n", 3);
	fx_send(fx, line);
	if (buf_len(&fx->out) > 0 && buf_data(&fx->out)[0] == 's')
		return false; /* tagged failure; still in fx->out */
	if (!fx_challenge(fx, challenge, sizeof(challenge)))
		return false;
	return T_STREQ(challenge, sc->server_final);
}

static void
test_imap_server_authenticate_scram(void)
{
	for (int deferred = 0; deferred <= 1; deferred++) {
		for (int initial = 0; initial <= 1; initial++) {
			struct fx *fx = fx_new(false, deferred);
			struct scram sc = { .gs2 = "n,," };

			(void)fx_out(fx);
			T_ASSERT(scram_run(fx, "SCRAM-SHA-256", &sc, "tim", "secret word", NULL, 0,
					   initial));
			fx_send(fx, "\r\n");
			T_STREQ(fx_out(fx), LOGGED_IN("s"));
			T_STREQ(imap_server_session_user(fx->s), "tim");
			T_INTEQ(fx->results_ok, 1);
			fx_free(fx);
		}
		/* wrong password, unknown user: same failure */
		struct fx *fx = fx_new(false, deferred);
		struct scram sc = { .gs2 = "n,," };

		(void)fx_out(fx);
		T_ASSERT(!scram_run(fx, "SCRAM-SHA-256", &sc, "tim", "wrong", NULL, 0, true));
		T_STREQ(fx_out(fx), AUTH_FAILED("s"));
		T_ASSERT(!scram_run(fx, "SCRAM-SHA-256", &sc, "nobody", "x", NULL, 0, false));
		T_STREQ(fx_out(fx), AUTH_FAILED("s"));
		T_INTEQ(fx->results_failed, 2);
		/* a non-empty answer to the server-final data fails */
		T_ASSERT(scram_run(fx, "SCRAM-SHA-256", &sc, "tim", "secret word", NULL, 0, true));
		fx_send(fx, "eA==\r\n");
		T_STREQ(fx_out(fx), AUTH_FAILED("s") "* BYE Too many authentication failures\r\n");
		fx_free(fx);

		/* -PLUS with tls-exporter binding */
		struct fx_opts o = { .tls = true, .cb = true, .deferred = deferred };
		struct scram plus = { .gs2 = "p=tls-exporter,," };

		fx = fx_new_opts(&o);
		(void)fx_out(fx);
		T_ASSERT(scram_run(fx, "SCRAM-SHA-256-PLUS", &plus, "tim", "secret word",
				   fx_exporter, sizeof(fx_exporter), true));
		fx_send(fx, "\r\nt NOOP\r\n");
		T_STREQ(fx_out(fx), LOGGED_IN("s") "t OK NOOP completed\r\n");
		fx_free(fx);
	}
}

static void
test_imap_server_literals(void)
{
	struct imap_server_limits lim;
	struct fx_opts o = { .plaintext = true, .limits = &lim };
	char big[5200];
	struct fx *fx;

	imap_server_limits_init_default(&lim);
	lim.max_literal_prelogin = 8192;
	lim.max_bad_commands = 3;
	fx = fx_new_opts(&o);
	(void)fx_out(fx);
	/* synchronizing: "+" then the data; too big: NO [TOOBIG], no "+" */
	fx_send(fx, "a ID (\"name\" {4}\r\n");
	T_STREQ(fx_out(fx), CONT);
	fx_send(fx, "abcd)\r\nb LOGIN {9000}\r\nc ID ({4+}\r\nname {2+}\r\nxy)\r\n");
	T_STREQ(fx_out(fx), "* ID (\"name\" \"Posthorn\")\r\na OK ID completed\r\n"
			    "b NO [TOOBIG] Literal too big\r\n"
			    "* ID (\"name\" \"Posthorn\")\r\nc OK ID completed\r\n");
	/* LITERAL- before login: a non-synchronizing literal over 4096 is a
	 * BAD [TOOBIG] and its data is skipped */
	memset(big, 'x', sizeof(big));
	memcpy(big, "d LOGIN {5000+}\r\n", 17);
	memcpy(big + 17 + 5000, " y\r\ne NOOP\r\n", 13);
	fx_send(fx, big);
	T_STREQ(fx_out(fx), "d BAD [TOOBIG] Non-synchronizing literal too big (LITERAL-)\r\n"
			    "e OK NOOP completed\r\n");
	/* far more than the state allows: closed instead of skipping it all */
	fx_send(fx, "f LOGIN {100000+}\r\n");
	T_STREQ(fx_out(fx), "f BAD [TOOBIG] Non-synchronizing literal too big (LITERAL-)\r\n"
			    "* BYE Literal too big\r\n");
	T_INTEQ(fx->close_calls, 1);
	fx_free(fx);

	/* after login: LITERAL+ and the big limit */
	fx = fx_new_opts(&o);
	fx_send(fx, "a LOGIN tim \"secret word\"\r\nb ID ({5000+}\r\n");
	memset(big, 'x', 5000);
	fx_input(fx, big, 5000);
	(void)fx_out(fx);
	fx_send(fx, " NIL)\r\n");
	T_STREQ(fx_out(fx), "b BAD Invalid ID arguments\r\n");
	/* syntax errors, untagged when no tag was read; too many: BYE */
	fx_send(fx, "\r\nc ID (\r\n(\r\n");
	T_STREQ(fx_out(fx), "* BAD Empty command line\r\nc BAD Missing )\r\n"
			    "* BYE Too many invalid commands\r\n");
	fx_free(fx);
}

static void
test_imap_server_bad_input(void)
{
	struct fx *fx = fx_new(true, false);
	const char *out;

	(void)fx_out(fx);
	fx_send(fx, "a NOOP extra\r\nb ENABLE (x)\r\n\"q\" NOOP\r\nc AUTHENTICATE PLAIN\r\n");
	out = fx_out(fx);
	T_STREQ(out, "a BAD Invalid arguments\r\nb BAD Command not valid in this state\r\n"
		     "* BAD Invalid character in tag\r\n+ \r\n");
	/* a bare CR in the AUTHENTICATE response line */
	fx_send(fx, "ab\rc\r\nd NOOP\r\n");
	out = fx_out(fx);
	T_ASSERT(strncmp(out, "c BAD ", 6) == 0);
	T_ASSERT(strstr(out, "d OK NOOP completed\r\n") != NULL);
	T_INTEQ(fx->results_failed, 1);
	fx_free(fx);
}

static void
test_imap_server_timeout_shutdown(void)
{
	struct fx *fx = fx_new(true, true);

	(void)fx_out(fx);
	imap_server_session_timeout(fx->s);
	T_STREQ(fx_out(fx), "* BYE Autologout; idle for too long\r\n");
	T_INTEQ(fx->close_calls, 1);
	T_ASSERT(!imap_server_session_wants_input(fx->s));
	fx_free(fx);

	/* with a hook outstanding: after its completion */
	fx = fx_new(true, true);
	(void)fx_out(fx);
	imap_server_session_input(fx->s, (const uint8_t *)"a LOGIN tim \"secret word\"\r\nb NOOP\r\n",
				  35);
	T_INTEQ(fx->op, FX_AUTH);
	T_ASSERT(!imap_server_session_wants_input(fx->s));
	imap_server_session_shutdown(fx->s);
	T_STREQ(fx_out(fx), "");
	fx_complete(fx);
	T_INTEQ(fx->op, FX_LOGIN);
	fx_complete(fx);
	T_STREQ(fx_out(fx), LOGGED_IN("a") "* BYE Server shutting down\r\n");
	T_INTEQ(fx->close_calls, 1);
	fx_free(fx);

	/* freed with a hook outstanding: disconnect once, no completion */
	fx = fx_new(true, true);
	fx_send(fx, "a AUTHENTICATE PLAIN AHRpbQBzZWNyZXQgd29yZA==\r\n");
	fx_free(fx);
}

static void
test_imap_server_free_inside(void)
{
	static const char in[] = "a LOGIN tim \"secret word\"\r\nb NOOP\r\nc LOGOUT\r\n";

	for (int deferred = 0; deferred <= 1; deferred++) {
		for (int where = 0; where < 6; where++) {
			struct fx *fx = fx_new(true, deferred);

			fx->free_in_close = where == 0;
			fx->free_in_auth = where == 1;
			fx->free_in_login = where == 2;
			fx->free_in_write = where == 3;
			fx->free_in_disconnect = where == 4 || where == 0;
			if (where == 5) {
				fx_send(fx, "a LOGIN tim \"secret word\"\r\n");
				fx->free_in_write = true;
			}
			fx_send(fx, in);
			T_ASSERT(fx->s == NULL || where == 5);
			fx_free(fx);
		}
	}
}

static void
test_imap_server_strings(void)
{
	struct buf b;

	buf_init(&b, 0);
	imap_server_append_string(&b, "a\"b\\c", 5, false);
	(void)buf_append_byte(&b, ' ');
	imap_server_append_string(&b, "x\r\ny", 4, false);
	(void)buf_append_byte(&b, ' ');
	imap_server_append_string(&b, "caf\xc3\xa9", 5, false);
	(void)buf_append_byte(&b, ' ');
	imap_server_append_string(&b, "caf\xc3\xa9", 5, true);
	(void)buf_append_byte(&b, ' ');
	imap_server_append_nstring(&b, NULL, 0, false);
	(void)buf_append_byte(&b, ' ');
	imap_server_append_string(&b, "", 0, false);
	T_STREQ(buf_cstr(&b), "\"a\\\"b\\\\c\" {4}\r\nx\r\ny {5}\r\ncaf\xc3\xa9 \"caf\xc3\xa9\" NIL \"\"");
	buf_deinit(&b);
}

/* ---- mailbox commands ---- */

static void
test_imap_server_list_match(void)
{
	static const struct {
		const char *pattern, *name;
		bool match;
	} cases[] = {
		{ "*", "Fruit/Apple", true },    { "%", "Fruit/Apple", false },
		{ "%", "Fruit", true },          { "Fruit/%", "Fruit/Apple", true },
		{ "Fruit/%", "Fruit", false },   { "Fruit%", "Fruit", true },
		{ "Fruit%", "Fruits", true },    { "Fruit%", "Fruit/Apple", false },
		{ "Fruit*", "Fruit/Apple", true }, { "F*e", "Fruit/Apple", true },
		{ "F%e", "Fruit/Apple", false }, { "%/%", "Fruit/Apple", true },
		{ "%/%", "Fruit/Apple/Red", false }, { "*/Red", "Fruit/Apple/Red", true },
		{ "inbox", "INBOX", true },      { "InBoX/%", "INBOX/x", true },
		{ "inbox/X", "INBOX/x", false }, { "i*", "INBOX", true },
		{ "fruit", "Fruit", false },     { "", "", true },
		{ "", "a", false },              { "a*b*c", "aXbYc", true },
		{ "a*b*c", "aXbY", false },      { "*%", "a/b", true },
		{ "Tofu", "Tofu", true },        { "Tof", "Tofu", false },
		{ "Entw\xc3\xbc%", "Entw\xc3\xbcrfe", true },
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		if (!T_ASSERT(imap_server_list_match(cases[i].pattern, cases[i].name) ==
			      cases[i].match))
			fprintf(stderr, "  pattern \"%s\" name \"%s\"\n", cases[i].pattern,
				cases[i].name);
	}
}

#define LOGIN_IN "a LOGIN tim \"secret word\"\r\n"

/* Run in/out whole, byte by byte and split at every point, with
 * synchronous and deferred hooks; the hook log must be log each time. */
static void
run_script(const struct fx_opts *base, const char *in, const char *out, const char *log)
{
	size_t len = strlen(in);

	for (int deferred = 0; deferred <= 1; deferred++) {
		for (size_t split = 0; split <= len; split++) {
			struct fx_opts o = *base;
			struct fx *fx;

			o.plaintext = true;
			o.deferred = deferred;
			fx = fx_new_opts(&o);
			(void)fx_out(fx);
			if (split == 0) {
				for (size_t i = 0; i < len; i++)
					fx_input(fx, in + i, 1);
			} else {
				fx_input(fx, in, split);
				fx_input(fx, in + split, len - split);
			}
			if (!T_STREQ(fx_out(fx), out) || !T_STREQ(buf_cstr(&fx->log), log)) {
				fprintf(stderr, "  deferred %d split %zu\n", deferred, split);
				fx_free(fx);
				return;
			}
			fx_free(fx);
			if (split == 0)
				split = len > 400 ? len / 7 : 0; /* long scripts: a few splits */
		}
	}
}

static const char list_in[] =
	LOGIN_IN
	"b LIST \"\" \"%\"\r\n"
	"c LIST \"Fruit/\" \"*\"\r\n"
	"c2 LIST \"Fruit\" \"/%\"\r\n"
	"d LIST \"\" \"inbox\"\r\n"
	"e LIST \"\" \"\"\r\n"
	"e2 LIST \"Fruit/Apple\" \"\"\r\n"
	"f LIST (SUBSCRIBED) \"\" \"*\"\r\n"
	"g LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\"\r\n"
	"h LIST (SPECIAL-USE REMOTE) \"\" \"*\" RETURN (SPECIAL-USE)\r\n"
	"i LIST \"\" (\"Tofu\" \"Entw&APw-rfe\") RETURN (SUBSCRIBED CHILDREN)\r\n"
	"i2 LIST () \"\" \"Fruit/*\" RETURN (SUBSCRIBED)\r\n"
	"j LIST \"\" \"Fruit*\" RETURN (STATUS (MESSAGES UIDNEXT SIZE))\r\n"
	"k LIST \"\" \"&Jjo\"\r\n"
	"l LIST (RECURSIVEMATCH) \"\" \"*\"\r\n"
	"m LIST (FOO) \"\" \"*\"\r\n"
	"m2 LIST \"\" \"*\" RETURN (STATUS ())\r\n"
	"n LSUB \"\" \"%\"\r\n"
	"o LSUB \"Fruit/\" \"*\"\r\n"
	"p NAMESPACE\r\n";
static const char list_out[] =
	LOGGED_IN("a")
	"* LIST (\\HasNoChildren \\Drafts) \"/\" \"Drafts\"\r\n"
	"* LIST (\\HasNoChildren) \"/\" \"Entw&APw-rfe\"\r\n"
	"* LIST (\\HasChildren) \"/\" \"Fruit\"\r\n"
	"* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
	"* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n"
	"* LIST (\\HasNoChildren) \"/\" \"Tofu\"\r\n"
	"* LIST (\\Noselect \\HasChildren) \"/\" \"Vegetable\"\r\n"
	"b OK LIST completed\r\n"
	"* LIST (\\HasNoChildren) \"/\" \"Fruit/Apple\"\r\n"
	"* LIST (\\HasNoChildren) \"/\" \"Fruit/Banana\"\r\n"
	"c OK LIST completed\r\n"
	"* LIST (\\HasNoChildren) \"/\" \"Fruit/Apple\"\r\n"
	"* LIST (\\HasNoChildren) \"/\" \"Fruit/Banana\"\r\n"
	"c2 OK LIST completed\r\n"
	"* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
	"d OK LIST completed\r\n"
	"* LIST (\\Noselect) \"/\" \"\"\r\n"
	"e OK LIST completed\r\n"
	"* LIST (\\Noselect) \"/\" \"Fruit/\"\r\n"
	"e2 OK LIST completed\r\n"
	"* LIST (\\HasNoChildren \\Subscribed \\Drafts) \"/\" \"Drafts\"\r\n"
	"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Fruit/Apple\"\r\n"
	"* LIST (\\NonExistent \\Subscribed) \"/\" \"Fruit/Peach\"\r\n"
	"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\"\r\n"
	"* LIST (\\HasNoChildren \\Subscribed \\Sent) \"/\" \"Sent\"\r\n"
	"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Vegetable/Broccoli\"\r\n"
	"f OK LIST completed\r\n"
	"* LIST (\\HasNoChildren \\Subscribed \\Drafts) \"/\" \"Drafts\"\r\n"
	"* LIST (\\HasChildren) \"/\" \"Fruit\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
	"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\"\r\n"
	"* LIST (\\HasNoChildren \\Subscribed \\Sent) \"/\" \"Sent\"\r\n"
	"* LIST (\\NonExistent \\HasChildren) \"/\" \"Vegetable\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
	"g OK LIST completed\r\n"
	"* LIST (\\HasNoChildren \\Drafts) \"/\" \"Drafts\"\r\n"
	"* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n"
	"h OK LIST completed\r\n"
	"* LIST (\\HasNoChildren) \"/\" \"Entw&APw-rfe\"\r\n"
	"* LIST (\\HasNoChildren) \"/\" \"Tofu\"\r\n"
	"i OK LIST completed\r\n"
	"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Fruit/Apple\"\r\n"
	"* LIST (\\HasNoChildren) \"/\" \"Fruit/Banana\"\r\n"
	"i2 OK LIST completed\r\n"
	"* LIST (\\HasChildren) \"/\" \"Fruit\"\r\n"
	"* STATUS \"Fruit\" (MESSAGES 5 UIDNEXT 6 SIZE 1000)\r\n"
	"* LIST (\\HasNoChildren) \"/\" \"Fruit/Apple\"\r\n"
	"* STATUS \"Fruit/Apple\" (MESSAGES 11 UIDNEXT 12 SIZE 1000)\r\n"
	"* LIST (\\HasNoChildren) \"/\" \"Fruit/Banana\"\r\n"
	"* STATUS \"Fruit/Banana\" (MESSAGES 12 UIDNEXT 13 SIZE 1000)\r\n"
	"j OK LIST completed\r\n"
	"k OK LIST completed\r\n"
	"l BAD Invalid LIST arguments\r\n"
	"m BAD Invalid LIST arguments\r\n"
	"m2 BAD Invalid LIST arguments\r\n"
	"* LSUB () \"/\" \"Drafts\"\r\n"
	"* LSUB (\\Noselect) \"/\" \"Fruit\"\r\n"
	"* LSUB () \"/\" \"INBOX\"\r\n"
	"* LSUB () \"/\" \"Sent\"\r\n"
	"* LSUB (\\Noselect) \"/\" \"Vegetable\"\r\n"
	"n OK LSUB completed\r\n"
	"* LSUB () \"/\" \"Fruit/Apple\"\r\n"
	"* LSUB (\\Noselect) \"/\" \"Fruit/Peach\"\r\n"
	"o OK LSUB completed\r\n"
	"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"
	"p OK NAMESPACE completed\r\n";
static const char list_log[] =
	"list\nlist\nlist\nlist\nlist\nlist\nlist\nlist\nlist\nlist\n"
	"status Fruit 0x23\nstatus Fruit/Apple 0x23\nstatus Fruit/Banana 0x23\n"
	"list\nlist\nlist\n";

static void
test_imap_server_list(void)
{
	struct fx_opts o = { 0 };

	run_script(&o, list_in, list_out, list_log);
}

static const char mbox_in[] =
	LOGIN_IN
	"q CREATE \"Entw&APw-rfe/\"\r\n"
	"r CREATE exists\r\n"
	"s CREATE inbox\r\n"
	"t CREATE \"a//b\"\r\n"
	"u CREATE \"a/../b\"\r\n"
	"v CREATE \"/a\"\r\n"
	"w CREATE \"&Jjo\"\r\n"
	"x CREATE {3}\r\na\tb\r\n"
	"y CREATE Sent2 (USE (\\Sent \\junk))\r\n"
	"z CREATE S3 (USE (\\Bogus))\r\n"
	"z2 CREATE S3 (FOO)\r\n"
	"z3 CREATE \"a*\"\r\n"
	"A DELETE INBOX\r\n"
	"B DELETE gone\r\n"
	"C RENAME Tofu Inbox\r\n"
	"D RENAME Tofu Tempeh\r\n"
	"E SUBSCRIBE tempfail\r\n"
	"F UNSUBSCRIBE Tofu\r\n"
	"G STATUS Tofu (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ RECENT)\r\n"
	"H STATUS gone (MESSAGES)\r\n"
	"I STATUS Tofu ()\r\n"
	"J STATUS \"Entw&APw-rfe\" (size)\r\n"
	"K DELETE \"\"\r\n"
	"L CREATE (x)\r\n"
	"M STATUS Fresh (HIGHESTMODSEQ RECENT)\r\n"
	"N STATUS Tofu (RECENT)\r\n";
static const char mbox_out[] =
	LOGGED_IN("a")
	"q OK CREATE completed\r\n"
	"r NO [ALREADYEXISTS] Mailbox already exists\r\n"
	"s NO [ALREADYEXISTS] Mailbox already exists\r\n"
	"t NO [CANNOT] Empty hierarchy level in mailbox name\r\n"
	"u NO [CANNOT] Invalid hierarchy level in mailbox name\r\n"
	"v NO [CANNOT] Empty hierarchy level in mailbox name\r\n"
	"w NO [CANNOT] Invalid modified UTF-7 mailbox name\r\n"
	CONT "x NO [CANNOT] Control characters are not allowed in mailbox names\r\n"
	"y OK CREATE completed\r\n"
	"z NO [USEATTR] Unsupported special-use attribute\r\n"
	"z2 BAD Invalid CREATE parameters\r\n"
	"z3 NO [CANNOT] Wildcards are not allowed in mailbox names\r\n"
	"A NO [CANNOT] INBOX cannot be deleted\r\n"
	"B NO [NONEXISTENT] Mailbox does not exist\r\n"
	"C NO [ALREADYEXISTS] Mailbox already exists\r\n"
	"D OK RENAME completed\r\n"
	"E NO [UNAVAILABLE] Disk  full\r\n"
	"F OK UNSUBSCRIBE completed\r\n"
	"* STATUS \"Tofu\" (MESSAGES 4 UIDNEXT 5 UIDVALIDITY 42 UNSEEN 1 DELETED 0 SIZE 1000 "
	"HIGHESTMODSEQ 7 RECENT 0)\r\n"
	"G OK STATUS completed\r\n"
	"H NO [NONEXISTENT] Mailbox does not exist\r\n"
	"I BAD Invalid STATUS items\r\n"
	"* STATUS \"Entw&APw-rfe\" (SIZE 1000)\r\n"
	"J OK STATUS completed\r\n"
	"K NO [CANNOT] Empty mailbox name\r\n"
	"L BAD Invalid mailbox name\r\n"
	/* RFC 7162 3.1: a modseq of 0 goes out as 1; RECENT is the
	 * status's own, not the one before */
	"* STATUS \"Fresh\" (HIGHESTMODSEQ 1 RECENT 2)\r\n"
	"M OK STATUS completed\r\n"
	"* STATUS \"Tofu\" (RECENT 0)\r\n"
	"N OK STATUS completed\r\n";
static const char mbox_log[] =
	"create Entw\xc3\xbcrfe 0\ncreate exists 0\ncreate Sent2 0x30\n"
	"delete gone\nrename Tofu Tempeh\nsubscribe tempfail\nunsubscribe Tofu\n"
	"status Tofu 0xff\nstatus gone 0x1\nstatus Entw\xc3\xbcrfe 0x20\n"
	"status Fresh 0xc0\nstatus Tofu 0x80\n";

static void
test_imap_server_mailbox_ops(void)
{
	struct fx_opts o = { 0 };

	run_script(&o, mbox_in, mbox_out, mbox_log);
}

/* UTF8=ACCEPT: names in UTF-8 both ways, no mUTF-7 decoding; IMAP4rev2:
 * no LSUB, no RECENT; the shared namespace when configured. */
static const char utf8_in[] =
	LOGIN_IN
	"b ENABLE IMAP4rev2 UTF8=ACCEPT\r\n"
	"c LIST \"\" \"Entw*\"\r\n"
	"d CREATE \"Entw&APw-rfe2\"\r\n"
	"e LSUB \"\" \"*\"\r\n"
	"f STATUS INBOX (RECENT)\r\n"
	"g CREATE \"M\xc3\xbcll\"\r\n"
	"h NAMESPACE\r\n"
	"i STATUS \"Entw\xc3\xbcrfe\" (UNSEEN)\r\n";
static const char utf8_out[] =
	LOGGED_IN("a")
	"* ENABLED IMAP4rev2 UTF8=ACCEPT\r\nb OK ENABLE completed\r\n"
	"* LIST (\\HasNoChildren) \"/\" \"Entw\xc3\xbcrfe\"\r\n"
	"c OK LIST completed\r\n"
	"d OK CREATE completed\r\n"
	"e BAD LSUB is not part of IMAP4rev2\r\n"
	"f BAD Invalid STATUS items\r\n"
	"g OK CREATE completed\r\n"
	"* NAMESPACE ((\"\" \"/\")) NIL ((\"Shared/\" \"/\"))\r\n"
	"h OK NAMESPACE completed\r\n"
	"* STATUS \"Entw\xc3\xbcrfe\" (UNSEEN 1)\r\n"
	"i OK STATUS completed\r\n";
static const char utf8_log[] =
	"list\ncreate Entw&APw-rfe2 0\ncreate M\xc3\xbcll 0\nstatus Entw\xc3\xbcrfe 0x8\n";

static void
test_imap_server_mailbox_utf8(void)
{
	struct fx_opts o = { .shared = true };

	run_script(&o, utf8_in, utf8_out, utf8_log);
}

static void
test_imap_server_mailbox_errors(void)
{
	struct imap_server_limits limits;
	struct fx_opts o = { .plaintext = true, .limits = &limits };
	struct fx *fx;

	/* not before login */
	fx = fx_new(true, false);
	(void)fx_out(fx);
	fx_send(fx, "a LIST \"\" *\r\nb CREATE x\r\nc NAMESPACE\r\n");
	T_STREQ(fx_out(fx), "a BAD Command not valid in this state\r\n"
			    "b BAD Command not valid in this state\r\n"
			    "c BAD Command not valid in this state\r\n");
	fx_free(fx);

	/* the name limit */
	imap_server_limits_init_default(&limits);
	limits.max_mailbox_name = 5;
	fx = fx_new_opts(&o);
	fx_send(fx, LOGIN_IN "b CREATE abcde\r\nc CREATE abcdef\r\n");
	(void)fx_out(fx);
	T_STREQ(buf_cstr(&fx->log), "create abcde 0\n");
	fx_free(fx);

	/* the list cannot be read */
	for (int deferred = 0; deferred <= 1; deferred++) {
		fx = fx_new(true, deferred);
		fx->list_fail = true;
		fx_send(fx, LOGIN_IN);
		(void)fx_out(fx);
		fx_send(fx, "b LIST \"\" *\r\nc NOOP\r\n");
		T_STREQ(fx_out(fx), "b NO [UNAVAILABLE] Cannot list mailboxes now\r\n"
				    "c OK NOOP completed\r\n");
		fx_free(fx);
	}

	/* freed inside a LIST-STATUS status hook */
	for (int deferred = 0; deferred <= 1; deferred++) {
		fx = fx_new(true, deferred);
		fx_send(fx, LOGIN_IN);
		fx->free_in_status = true;
		fx_send(fx, "b LIST \"\" * RETURN (STATUS (MESSAGES))\r\nc NOOP\r\n");
		T_ASSERT(fx->s == NULL);
		fx_free(fx);
	}

	/* freed with a LIST-STATUS status hook outstanding */
	fx = fx_new(true, true);
	fx_send(fx, LOGIN_IN);
	imap_server_session_input(fx->s, (const uint8_t *)"b LIST \"\" * RETURN (STATUS (SIZE))\r\n",
				  37);
	T_INTEQ(fx->op, FX_LIST);
	fx_complete(fx);
	T_INTEQ(fx->op, FX_STATUS);
	fx_free(fx);
}

static const struct test tests[] = {
	TEST_ENTRY(test_imap_server_capability),
	TEST_ENTRY(test_imap_server_session_splits),
	TEST_ENTRY(test_imap_server_starttls_injection),
	TEST_ENTRY(test_imap_server_starttls_errors),
	TEST_ENTRY(test_imap_server_login),
	TEST_ENTRY(test_imap_server_authenticate_plain),
	TEST_ENTRY(test_imap_server_authenticate_scram),
	TEST_ENTRY(test_imap_server_literals),
	TEST_ENTRY(test_imap_server_bad_input),
	TEST_ENTRY(test_imap_server_timeout_shutdown),
	TEST_ENTRY(test_imap_server_free_inside),
	TEST_ENTRY(test_imap_server_strings),
	TEST_ENTRY(test_imap_server_list_match),
	TEST_ENTRY(test_imap_server_list),
	TEST_ENTRY(test_imap_server_mailbox_ops),
	TEST_ENTRY(test_imap_server_mailbox_utf8),
	TEST_ENTRY(test_imap_server_mailbox_errors),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("imap-server", tests);
}
