/*
 * test-imap-server-message.c - STORE, COPY, MOVE and APPEND (MULTIAPPEND)
 * of the IMAP engine against fake hooks.
 *
 * The fake selected hooks answer SELECT with a view of five messages (UIDs
 * 1 2 3 5 8, UIDVALIDITY 77, HIGHESTMODSEQ 100) and record every request in
 * a log the tests compare. They complete at once from inside the hook
 * (synchronous) or when the test, playing the event loop, completes them
 * (deferred). Each script runs whole, byte by byte and split at several
 * points, both ways: every run must give the same transcript and log.
 */
#include "imap/imap-server-private.h"
#include "imap/imap-server.h"
#include "imap/imap-catenate.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

enum fx_op { FX_NONE, FX_AUTH, FX_LOGIN, FX_SELECT, FX_SYNC, FX_STORE, FX_COPY, FX_APPEND };

struct fx {
	struct imap_server_session *s;
	bool deferred;
	struct buf out;  /* what the client got */
	struct buf log;  /* what the hooks were asked */
	enum fx_op op;
	const char *rights;
	/* the outstanding request, copied */
	char name[300];
	bool move;
	uint32_t uids[64];
	size_t count;
	struct imap_store_request req;
	char keywords[300];
	size_t append_count;
	uint32_t new_uid; /* appended to INBOX: the next sync reports it */
	uint64_t since;   /* the modseq the last sync asked about */
	int closes;
};

static const uint32_t fx_view_uids[] = { 1, 2, 3, 5, 8 };
/* The store's change notification reaches the engine before store_done
 * (as the glue's does): the sync reports the STORE's changes itself. */
static bool fx_signal_store;
/* ... or after it (a late notification): the next command's sync reports
 * them; the sync reports UID 1 at fx_stored_modseq (another session's
 * change to it when above 101, with \Flagged added). */
static bool fx_late_signal;
static uint64_t fx_stored_modseq = 101;

static void
fx_write(void *ctx, const uint8_t *data, size_t len)
{
	struct fx *fx = ctx;

	T_INTEQ(buf_append(&fx->out, data, len), 0);
}

static void
fx_close(void *ctx)
{
	struct fx *fx = ctx;

	fx->closes++;
}

static void
fx_complete_select(struct fx *fx)
{
	struct imap_mailbox_view v;

	memset(&v, 0, sizeof(v));
	v.uidvalidity = 77;
	v.uidnext = 9;
	v.highest_modseq = 100;
	v.uids = fx_view_uids;
	v.count = N_ELEMENTS(fx_view_uids);
	v.keywords = "$Forwarded";
	v.rights = strcmp(fx->name, "Shared/ro") == 0 ? "lr"
		   : strcmp(fx->name, "Shared/seen") == 0 ? "lrs"
							  : fx->rights;
	if (strcmp(fx->name, "Gone") == 0)
		imap_server_select_done(fx->s, NULL, IMAP_MAILBOX_NONEXISTENT, NULL);
	else
		imap_server_select_done(fx->s, &v, IMAP_MAILBOX_OK, NULL);
}

static void
fx_complete_sync(struct fx *fx)
{
	struct imap_mailbox_view v;

	memset(&v, 0, sizeof(v));
	v.uidvalidity = 77;
	struct imap_message_change ch = { .uid = fx->new_uid, .modseq = 101 };
	struct imap_message_change stored = {
		.uid = 1,
		.flags = IMAP_FLAG_SEEN | (fx_stored_modseq > 101 ? IMAP_FLAG_FLAGGED : 0),
		.modseq = fx_stored_modseq,
	};

	v.uidnext = 9;
	v.highest_modseq = 100;
	v.keywords = "$Forwarded";
	v.rights = fx->rights;
	if (fx->new_uid != 0) {
		v.changes = &ch;
		v.change_count = 1;
		v.uidnext = fx->new_uid + 1;
		v.highest_modseq = 101;
		fx->new_uid = 0;
	} else if ((fx_signal_store || fx_late_signal) && fx->since < fx_stored_modseq) {
		/* as a store does: only what is above the modseq asked about */
		v.changes = &stored;
		v.change_count = 1;
		v.highest_modseq = fx_stored_modseq;
	}
	imap_server_sync_done(fx->s, &v, IMAP_MAILBOX_OK);
}

/* Every message gets the request's flags; UID 5 has modseq 200, so
 * UNCHANGEDSINCE below 200 fails for it (RFC 7162 3.1.3). */
static void
fx_complete_store(struct fx *fx)
{
	struct imap_message_change ch[64];
	uint32_t modified[64];
	size_t n = 0, m = 0;

	if (fx_signal_store)
		imap_server_mailbox_changed(fx->s);

	for (size_t i = 0; i < fx->count; i++) {
		uint64_t modseq = fx->uids[i] == 5 ? 200 : 100;

		if (fx->req.unchangedsince_set && modseq > fx->req.unchangedsince) {
			modified[m++] = fx->uids[i];
			continue;
		}
		ch[n].uid = fx->uids[i];
		ch[n].flags = fx->req.mode == IMAP_STORE_REMOVE ? 0 : fx->req.flags;
		ch[n].keywords = fx->req.mode == IMAP_STORE_REMOVE || fx->keywords[0] == '\0'
					 ? NULL
					 : fx->keywords;
		ch[n].modseq = 101 + i;
		n++;
	}
	imap_server_store_done(fx->s, ch, n, modified, m, IMAP_MAILBOX_OK, NULL);
	if (fx_late_signal && fx->s != NULL)
		imap_server_mailbox_changed(fx->s);
}

/* "Missing" does not exist; UID 3 vanished before the copy. */
static void
fx_complete_copy(struct fx *fx)
{
	uint32_t dst[64];

	if (strcmp(fx->name, "Missing") == 0) {
		imap_server_copy_done(fx->s, 0, NULL, NULL, 0, IMAP_MAILBOX_NONEXISTENT, NULL);
		return;
	}
	for (size_t i = 0; i < fx->count; i++)
		dst[i] = fx->uids[i] == 3 ? 0 : 1000 + (uint32_t)i;
	imap_server_copy_done(fx->s, 900, fx->uids, dst, fx->count, IMAP_MAILBOX_OK, NULL);
}

static void
fx_complete_append(struct fx *fx)
{
	uint32_t uids[64];

	if (strcmp(fx->name, "Missing") == 0) {
		imap_server_append_done(fx->s, 0, NULL, 0, IMAP_MAILBOX_NONEXISTENT, NULL);
		return;
	}
	if (strcmp(fx->name, "Full") == 0) {
		imap_server_append_done(fx->s, 0, NULL, 0, IMAP_MAILBOX_CANNOT,
					"Quota\r\nexceeded");
		return;
	}
	/* the glue's CATENATE failures (RFC 4469 6) */
	if (strcmp(fx->name, "BadUrl") == 0) {
		imap_server_append_refused(fx->s, IMAP_CATENATE_BADURL, "/INBOX/;UID=9]\r\n",
					   "No such\rmessage");
		return;
	}
	if (strcmp(fx->name, "Big") == 0) {
		imap_server_append_refused(fx->s, IMAP_CATENATE_TOOBIG, NULL, NULL);
		return;
	}
	for (size_t i = 0; i < fx->append_count; i++)
		uids[i] = 9 + (uint32_t)i;
	if (strcmp(fx->name, "INBOX") == 0)
		fx->new_uid = 9;
	imap_server_append_done(fx->s, 77, uids, fx->append_count, IMAP_MAILBOX_OK, NULL);
}

static void
fx_complete(struct fx *fx)
{
	enum fx_op op = fx->op;

	fx->op = FX_NONE;
	switch (op) {
	case FX_AUTH:
		imap_server_auth_verified(fx->s, true);
		break;
	case FX_LOGIN:
		imap_server_login_done(fx->s, true);
		break;
	case FX_SELECT:
		fx_complete_select(fx);
		break;
	case FX_SYNC:
		fx_complete_sync(fx);
		break;
	case FX_STORE:
		fx_complete_store(fx);
		break;
	case FX_COPY:
		fx_complete_copy(fx);
		break;
	case FX_APPEND:
		fx_complete_append(fx);
		break;
	case FX_NONE:
		break;
	}
}

static void
fx_begin(struct fx *fx, enum fx_op op)
{
	T_INTEQ(fx->op, FX_NONE);
	fx->op = op;
	if (!fx->deferred)
		fx_complete(fx);
}

static void
fx_auth_lookup(void *ctx, struct imap_server_session *s, const char *mech, const char *authcid,
	       const char *password)
{
	fx_begin(ctx, FX_AUTH);
}

static void
fx_authenticated(void *ctx, struct imap_server_session *s, const char *user)
{
	fx_begin(ctx, FX_LOGIN);
}

static void
fx_unused_list(void *ctx, struct imap_server_session *s)
{
	imap_server_list_done(s, NULL, 0, IMAP_MAILBOX_TEMPFAIL);
}

static void
fx_unused_status(void *ctx, struct imap_server_session *s, const char *name, unsigned items)
{
	imap_server_status_done(s, NULL, IMAP_MAILBOX_TEMPFAIL);
}

static void
fx_unused_create(void *ctx, struct imap_server_session *s, const char *name, unsigned su)
{
	imap_server_mailbox_op_done(s, IMAP_MAILBOX_CANNOT, NULL);
}

static void
fx_unused_delete(void *ctx, struct imap_server_session *s, const char *name)
{
	imap_server_mailbox_op_done(s, IMAP_MAILBOX_CANNOT, NULL);
}

static void
fx_unused_rename(void *ctx, struct imap_server_session *s, const char *a, const char *b)
{
	imap_server_mailbox_op_done(s, IMAP_MAILBOX_CANNOT, NULL);
}

static void
fx_unused_subscribe(void *ctx, struct imap_server_session *s, const char *name, bool sub)
{
	imap_server_mailbox_op_done(s, IMAP_MAILBOX_CANNOT, NULL);
}

static void
fx_select(void *ctx, struct imap_server_session *s, const char *name,
	  const struct imap_select_params *params)
{
	struct fx *fx = ctx;

	snprintf(fx->name, sizeof(fx->name), "%s", name);
	fx_begin(fx, FX_SELECT);
}

static void
fx_sync(void *ctx, struct imap_server_session *s, uint64_t since_modseq)
{
	struct fx *fx = ctx;

	fx->since = since_modseq;
	fx_begin(fx, FX_SYNC);
}

static void
fx_fetch(void *ctx, struct imap_server_session *s, const struct imap_fetch_request *req)
{
	imap_server_fetch_done(s, NULL, 0, IMAP_MAILBOX_CANNOT, NULL);
}

static void
fx_search(void *ctx, struct imap_server_session *s, const struct imap_search_request *req)
{
	imap_server_search_done(s, NULL, IMAP_MAILBOX_CANNOT, NULL);
}

static void
fx_expunge(void *ctx, struct imap_server_session *s, const uint32_t *uids, size_t count)
{
	imap_server_expunge_done(s, NULL, 0, IMAP_MAILBOX_CANNOT, NULL);
}

static void
fx_log_uids(struct fx *fx, const uint32_t *uids, size_t count)
{
	T_ASSERT(count <= N_ELEMENTS(fx->uids));
	fx->count = count < N_ELEMENTS(fx->uids) ? count : N_ELEMENTS(fx->uids);
	memcpy(fx->uids, uids, fx->count * sizeof(*uids));
	for (size_t i = 0; i < fx->count; i++)
		(void)buf_printf(&fx->log, "%s%" PRIu32, i > 0 ? "," : " ", uids[i]);
}

static void
fx_store(void *ctx, struct imap_server_session *s, const struct imap_store_request *req)
{
	struct fx *fx = ctx;

	fx->req = *req;
	snprintf(fx->keywords, sizeof(fx->keywords), "%s",
		 req->keywords != NULL ? req->keywords : "");
	fx->req.keywords = NULL;
	(void)buf_printf(&fx->log, "store mode=%d flags=%#x kw=%s ucs=%d/%" PRIu64 " uids",
			 (int)req->mode, req->flags, fx->keywords, req->unchangedsince_set,
			 req->unchangedsince);
	fx_log_uids(fx, req->uids, req->count);
	(void)buf_append_byte(&fx->log, '\n');
	fx_begin(fx, FX_STORE);
}

static void
fx_copy(void *ctx, struct imap_server_session *s, const uint32_t *uids, size_t count,
	const char *dest, bool move)
{
	struct fx *fx = ctx;

	snprintf(fx->name, sizeof(fx->name), "%s", dest);
	(void)buf_printf(&fx->log, "%s %s uids", move ? "move" : "copy", dest);
	fx_log_uids(fx, uids, count);
	(void)buf_append_byte(&fx->log, '\n');
	fx_begin(fx, FX_COPY);
}

static void
fx_append(void *ctx, struct imap_server_session *s, const char *name,
	  const struct imap_append_message *msgs, size_t count)
{
	struct fx *fx = ctx;
	const struct imap_catenate_part *parts_unused;
	size_t n_unused;
	uint64_t max_unused;

	snprintf(fx->name, sizeof(fx->name), "%s", name);
	fx->append_count = count;
	(void)buf_printf(&fx->log, "append %s %zu\n", name, count);
	for (size_t i = 0; i < count; i++) {
		const struct imap_catenate_part *parts;
		size_t n;
		uint64_t max;

		(void)buf_printf(&fx->log, " flags=%#x kw=%s date=%" PRId64 " data=", msgs[i].flags,
				 msgs[i].keywords != NULL ? msgs[i].keywords : "",
				 msgs[i].internaldate);
		for (size_t k = 0; k < msgs[i].len; k++) {
			if (msgs[i].data[k] == '\0')
				(void)buf_append_str(&fx->log, "\\0");
			else
				(void)buf_append_byte(&fx->log, msgs[i].data[k]);
		}
		if (imap_server_append_catenate(s, i, &parts, &n, &max)) {
			T_ASSERT(msgs[i].data == NULL && msgs[i].len == 0);
			T_INTEQ(max, 64 * 1024 * 1024);
			for (size_t k = 0; k < n; k++) {
				if (parts[k].type == IMAP_CATENATE_TEXT) {
					(void)buf_append_str(&fx->log, " TEXT=");
					(void)buf_append(&fx->log, parts[k].data, parts[k].len);
				} else {
					(void)buf_printf(&fx->log, " URL=%s(%s,%s,%u,%u,%s)",
							 parts[k].url_text, parts[k].url->mailbox,
							 parts[k].url->user != NULL
								 ? parts[k].url->user : "-",
							 (unsigned)parts[k].url->uidvalidity,
							 (unsigned)parts[k].url->uid,
							 parts[k].url->section != NULL
								 ? parts[k].url->section : "-");
				}
			}
		}
		(void)buf_append_byte(&fx->log, '\n');
	}
	T_ASSERT(!imap_server_append_catenate(s, count, &parts_unused, &n_unused, &max_unused));
	fx_begin(fx, FX_APPEND);
}

static const struct imap_server_io fx_io = { .write = fx_write, .close = fx_close };
static const struct imap_server_hooks fx_hooks = {
	.auth_lookup = fx_auth_lookup,
	.authenticated = fx_authenticated,
	.mailbox_list = fx_unused_list,
	.mailbox_status = fx_unused_status,
	.mailbox_create = fx_unused_create,
	.mailbox_delete = fx_unused_delete,
	.mailbox_rename = fx_unused_rename,
	.mailbox_subscribe = fx_unused_subscribe,
};
static const struct imap_server_selected_hooks fx_shooks = {
	.mailbox_select = fx_select,
	.mailbox_sync = fx_sync,
	.message_fetch = fx_fetch,
	.message_search = fx_search,
	.message_store = fx_store,
	.message_copy = fx_copy,
	.message_expunge = fx_expunge,
	.message_append = fx_append,
};

static struct fx *
fx_new(bool deferred, const char *rights)
{
	struct fx *fx = mem_zalloc(sizeof(*fx));
	struct imap_server_settings set;

	memset(&set, 0, sizeof(set));
	set.hostname = "imap.example.org";
	set.auth_plaintext_allowed = true;
	imap_server_limits_init_default(&set.limits);
	fx->deferred = deferred;
	fx->rights = rights != NULL ? rights : "aeiklprstwx";
	buf_init(&fx->out, 0);
	buf_init(&fx->log, 0);
	fx->s = imap_server_session_new(&set, &fx_hooks, fx, &fx_io, fx, "192.0.2.1");
	imap_server_session_set_selected_hooks(fx->s, &fx_shooks);
	imap_server_session_start(fx->s);
	buf_reset(&fx->out); /* the greeting is not this file's business */
	return fx;
}

static void
fx_free(struct fx **fxp)
{
	struct fx *fx = *fxp;

	imap_server_session_free(&fx->s);
	buf_deinit(&fx->out);
	buf_deinit(&fx->log);
	mem_free(fxp);
}

/* Play the event loop: complete outstanding hooks (bounded). */
static void
fx_pump(struct fx *fx)
{
	for (int i = 0; i < 1000 && fx->op != FX_NONE && fx->s != NULL; i++)
		fx_complete(fx);
	T_INTEQ(fx->op, FX_NONE);
}

/* Feed in chunks of chunk octets (0: all at once), pumping after each. */
static void
fx_input(struct fx *fx, const char *in, size_t len, size_t chunk)
{
	for (size_t at = 0; at < len;) {
		size_t n = chunk == 0 || chunk > len - at ? len - at : chunk;

		imap_server_session_input(fx->s, (const uint8_t *)in + at, n);
		fx_pump(fx);
		at += n;
	}
}

#define LOGIN "l LOGIN tim secret\r\n"
#define SELECT "s SELECT INBOX\r\n"

/* The transcript of script after login and SELECT (those lines removed),
 * and the hook log; both allocated. Checks that every way of feeding it
 * gives the same. */
static void
run_len(const char *script, size_t len, const char *rights, char **out_r, char **log_r)
{
	const size_t chunks[] = { 0, 1, 2, 3, 7, 13 };
	char *first_out = NULL, *first_log = NULL;

	for (int deferred = 0; deferred < 2; deferred++) {
		for (size_t c = 0; c < N_ELEMENTS(chunks); c++) {
			struct fx *fx = fx_new(deferred != 0, rights);
			const char *out;

			fx_input(fx, LOGIN, strlen(LOGIN), 0);
			if (rights == NULL || strcmp(rights, "-") != 0)
				fx_input(fx, SELECT, strlen(SELECT), 0);
			buf_reset(&fx->out);
			buf_reset(&fx->log);
			fx_input(fx, script, len, chunks[c]);
			out = buf_cstr(&fx->out);
			if (first_out == NULL) {
				first_out = mem_strdup(out);
				first_log = mem_strdup(buf_cstr(&fx->log));
			} else if (!T_STREQ(out, first_out) ||
				   !T_STREQ(buf_cstr(&fx->log), first_log)) {
				fprintf(stderr, "  deferred %d chunk %zu\n", deferred, chunks[c]);
			}
			fx_free(&fx);
		}
	}
	*out_r = first_out;
	*log_r = first_log;
}

static void
run(const char *script, const char *rights, char **out_r, char **log_r)
{
	run_len(script, strlen(script), rights, out_r, log_r);
}

static void
check(const char *script, const char *rights, const char *want_out, const char *want_log)
{
	char *out, *log;

	run(script, rights, &out, &log);
	if ((want_out != NULL && !T_STREQ(out, want_out)) ||
	    (want_log != NULL && !T_STREQ(log, want_log)))
		fprintf(stderr, "  script: %s", script);
	mem_free(&out);
	mem_free(&log);
}

/* ---- flag lists ---- */

static void
test_imap_server_message_flags(void)
{
	/* parse_flags through the parser, then append_flags back */
	static const struct {
		const char *line;
		int ok;
		unsigned flags;
		const char *keywords;
	} cases[] = {
		{ "t X (\\Seen \\Deleted)\r\n", 1, IMAP_FLAG_SEEN | IMAP_FLAG_DELETED, NULL },
		{ "t X (\\seen $Junk foo FOO \\DRAFT)\r\n", 1, IMAP_FLAG_SEEN | IMAP_FLAG_DRAFT,
		  "$Junk foo" },
		{ "t X ()\r\n", 1, 0, NULL },
		{ "t X \\Flagged\r\n", 1, IMAP_FLAG_FLAGGED, NULL },
		{ "t X (\\Recent)\r\n", 0, 0, NULL },
		{ "t X (\\Bogus)\r\n", 0, 0, NULL },
		{ "t X (a]b)\r\n", 0, 0, NULL },
		{ "t X ((\\Seen))\r\n", 0, 0, NULL },
		{ "t X (\"quoted\")\r\n", 0, 0, NULL },
		{ "t X (\\Answered \\Flagged \\Draft)\r\n", 1,
		  IMAP_FLAG_ANSWERED | IMAP_FLAG_FLAGGED | IMAP_FLAG_DRAFT, NULL },
		/* RFC 9051 9 flag-keyword = atom: NIL is one (imaptest "nil") */
		{ "t X NIL\r\n", 1, 0, "NIL" },
		{ "t X (nil \\Seen NIL)\r\n", 1, IMAP_FLAG_SEEN, "nil" },
		/* "[" is an ATOM-CHAR (RFC 9051 9) */
		{ "t X (a[b)\r\n", 1, 0, "a[b" },
	};
	struct imap_parser_limits limits;

	imap_parser_limits_init_default(&limits);
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct imap_parser *p = imap_parser_new(&limits, 0);
		const struct imap_command *cmd;
		const char *error = NULL;
		unsigned flags = 99;
		char *kw = NULL;
		size_t used;
		int ret;

		T_INTEQ(imap_parser_feed(p, (const uint8_t *)cases[i].line, strlen(cases[i].line),
					 &used),
			IMAP_PARSER_COMMAND);
		cmd = imap_parser_get_command(p);
		ret = imap_server_parse_flags(&cmd->args[0], &flags, &kw, &error);
		if (!T_INTEQ(ret, cases[i].ok))
			fprintf(stderr, "  case %zu\n", i);
		if (ret == 1) {
			T_INTEQ(flags, cases[i].flags);
			if (cases[i].keywords == NULL)
				T_ASSERT(kw == NULL);
			else
				T_STREQ(kw != NULL ? kw : "(null)", cases[i].keywords);
		} else {
			T_ASSERT(error != NULL);
		}
		mem_free(&kw);
		imap_parser_free(&p);
	}
	{
		struct buf b;

		buf_init(&b, 0);
		/* the FLAGS writer: response order, \\Recent left to the
		 * caller, keywords that are no atom left out */
		imap_server_view_flags(&b, IMAP_FLAG_SEEN | IMAP_FLAG_DELETED | IMAP_FLAG_RECENT,
				       "$Junk x a]b");
		T_STREQ(buf_cstr(&b), "\\Deleted \\Seen $Junk x");
		buf_reset(&b);
		imap_server_view_flags(&b, 0, NULL);
		T_STREQ(buf_cstr(&b), "");
		buf_deinit(&b);
	}
}

/* Too many and too long keywords. */
static void
test_imap_server_message_keyword_limits(void)
{
	struct buf line;
	char *out, *log;

	buf_init(&line, 0);
	(void)buf_append_str(&line, "a STORE 1 +FLAGS (");
	for (int i = 0; i < 65; i++)
		(void)buf_printf(&line, "%sk%d", i > 0 ? " " : "", i);
	(void)buf_append_str(&line, ")\r\n");
	run(buf_cstr(&line), NULL, &out, &log);
	T_STREQ(out, "a BAD Too many keywords\r\n");
	T_STREQ(log, "");
	mem_free(&out);
	mem_free(&log);
	buf_reset(&line);
	(void)buf_append_str(&line, "a STORE 1 +FLAGS (");
	for (int i = 0; i < 101; i++)
		(void)buf_append_byte(&line, 'k');
	(void)buf_append_str(&line, ")\r\n");
	run(buf_cstr(&line), NULL, &out, &log);
	T_STREQ(out, "a BAD Invalid keyword length\r\n");
	mem_free(&out);
	mem_free(&log);
	buf_deinit(&line);
}

/* ---- STORE ---- */

static void
test_imap_server_message_store(void)
{
	/* a keyword new to the mailbox is announced first (RFC 9051 7.3.5) */
	check("a STORE 1:2 +FLAGS (\\Seen $Junk)\r\n", NULL,
	      "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded $Junk)\r\n"
	      "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Forwarded "
	      "$Junk \\*)] Flags permitted\r\n"
	      "* 1 FETCH (FLAGS (\\Seen $Junk))\r\n"
	      "* 2 FETCH (FLAGS (\\Seen $Junk))\r\n"
	      "a OK STORE completed\r\n",
	      "store mode=0 flags=0x1 kw=$Junk ucs=0/0 uids 1,2\n");
	check("a STORE 3 -FLAGS \\Deleted\r\n", NULL,
	      "* 3 FETCH (FLAGS ())\r\na OK STORE completed\r\n",
	      "store mode=1 flags=0x8 kw= ucs=0/0 uids 3\n");
	/* unparenthesised flags, RFC 9051 9 store-att-flags */
	check("a UID STORE 5 FLAGS \\Seen \\Flagged\r\n", NULL,
	      "* 4 FETCH (UID 5 FLAGS (\\Flagged \\Seen))\r\na OK STORE completed\r\n",
	      "store mode=2 flags=0x5 kw= ucs=0/0 uids 5\n");
	check("a STORE 1:* FLAGS.SILENT (\\Answered)\r\n", NULL, "a OK STORE completed\r\n",
	      "store mode=2 flags=0x2 kw= ucs=0/0 uids 1,2,3,5,8\n");
	/* UID sets may name messages that do not exist */
	check("a UID STORE 4,6:7,100 +FLAGS (\\Seen)\r\n", NULL, "a OK STORE completed\r\n", "");
	check("a UID STORE 4,8 +FLAGS.silent (\\Seen)\r\n", NULL, "a OK STORE completed\r\n",
	      "store mode=0 flags=0x1 kw= ucs=0/0 uids 8\n");
}

static void
test_imap_server_message_store_condstore(void)
{
	/* RFC 7162 3.1.3: MODIFIED in the tagged OK; MODSEQ in every FETCH
	 * and even with .SILENT; UNCHANGEDSINCE enables CONDSTORE, which
	 * reports HIGHESTMODSEQ first (RFC 7162 3.1) */
	check("a STORE 3:4 (UNCHANGEDSINCE 150) +FLAGS (\\Seen)\r\n", NULL,
	      "* OK [HIGHESTMODSEQ 100] Highest\r\n"
	      "* 3 FETCH (FLAGS (\\Seen) MODSEQ (101))\r\n"
	      "a OK [MODIFIED 4] Conditional STORE failed\r\n",
	      "store mode=0 flags=0x1 kw= ucs=1/150 uids 3,5\n");
	check("a UID STORE 3,5 (UNCHANGEDSINCE 150) +FLAGS.SILENT (\\Seen)\r\n", NULL,
	      "* OK [HIGHESTMODSEQ 100] Highest\r\n"
	      "* 3 FETCH (UID 3 MODSEQ (101))\r\n"
	      "a OK [MODIFIED 5] Conditional STORE failed\r\n",
	      NULL);
	check("a STORE 1 (UNCHANGEDSINCE 300) +FLAGS (\\Seen)\r\n"
	      "b STORE 2 +FLAGS.SILENT (\\Seen)\r\n",
	      NULL,
	      "* OK [HIGHESTMODSEQ 100] Highest\r\n"
	      "* 1 FETCH (FLAGS (\\Seen) MODSEQ (101))\r\na OK STORE completed\r\n"
	      "* 2 FETCH (MODSEQ (101))\r\nb OK STORE completed\r\n",
	      NULL);
	check("a STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)\r\n", NULL,
	      "a BAD Invalid STORE modifiers\r\n", "");
	check("a STORE 1 (FOO 1) +FLAGS (\\Seen)\r\n", NULL, "a BAD Invalid STORE modifiers\r\n",
	      "");
}

/* Our own change comes back in the sync that ends the STORE: one FETCH. */
static void
test_imap_server_message_store_synced(void)
{
	fx_signal_store = true;
	check("a STORE 1 +FLAGS (\\Seen)\r\n", NULL,
	      "* 1 FETCH (FLAGS (\\Seen))\r\na OK STORE completed\r\n",
	      "store mode=0 flags=0x1 kw= ucs=0/0 uids 1\n");
	check("a UID STORE 1 +FLAGS (\\Seen)\r\n", NULL,
	      "* 1 FETCH (UID 1 FLAGS (\\Seen))\r\na OK STORE completed\r\n", NULL);
	fx_signal_store = false;
}

/* The client's own change is not echoed, whether the store's notification
 * comes before the tagged OK or after it (RFC 9051 6.4.6: .SILENT stays
 * silent); another session's later change of the same message is. */
static void
test_imap_server_message_store_no_echo(void)
{
	fx_signal_store = true;
	check("a STORE 1 +FLAGS.SILENT (\\Seen)\r\nb NOOP\r\n", NULL,
	      "a OK STORE completed\r\nb OK NOOP completed\r\n", NULL);
	fx_signal_store = false;
	fx_late_signal = true;
	check("a STORE 1 +FLAGS.SILENT (\\Seen)\r\nb NOOP\r\nc NOOP\r\n", NULL,
	      "a OK STORE completed\r\nb OK NOOP completed\r\nc OK NOOP completed\r\n",
	      NULL);
	check("a STORE 1 +FLAGS (\\Seen)\r\nb NOOP\r\n", NULL,
	      "* 1 FETCH (FLAGS (\\Seen))\r\na OK STORE completed\r\nb OK NOOP completed\r\n",
	      NULL);
	/* a STORE of other messages does not hide UID 1's change */
	check("a STORE 2 +FLAGS.SILENT (\\Seen)\r\nb NOOP\r\n", NULL,
	      "a OK STORE completed\r\n* 1 FETCH (FLAGS (\\Seen))\r\nb OK NOOP completed\r\n",
	      NULL);
	/* another session changed UID 1 after us (modseq 150): reported */
	fx_stored_modseq = 150;
	check("a STORE 1 +FLAGS.SILENT (\\Seen)\r\nb NOOP\r\n", NULL,
	      "a OK STORE completed\r\n* 1 FETCH (FLAGS (\\Flagged \\Seen))\r\n"
	      "b OK NOOP completed\r\n",
	      NULL);
	fx_late_signal = false;
	/* ... also when its change arrives before our reply: ours is stale */
	fx_signal_store = true;
	check("a STORE 1 +FLAGS (\\Seen)\r\n", NULL,
	      "* 1 FETCH (FLAGS (\\Flagged \\Seen))\r\na OK STORE completed\r\n", NULL);
	fx_signal_store = false;
	fx_stored_modseq = 101;
}

static void
test_imap_server_message_store_bad(void)
{
	check("a STORE 1 +FLAGS (\\Recent)\r\n", NULL, "a BAD \\Recent cannot be set\r\n", "");
	check("a STORE 1 FLAGZ (\\Seen)\r\n", NULL, "a BAD Invalid STORE arguments\r\n", "");
	check("a STORE 1 +FLAGS (\\Seen\r\n", NULL, NULL, "");
	check("a STORE 9 +FLAGS (\\Seen)\r\n", NULL, NULL, "");
	check("a STORE 1 +FLAGS (\\Foo)\r\n", NULL, "a BAD Unknown system flag\r\n", "");
}

static void
test_imap_server_message_store_rights(void)
{
	/* EXAMINE: read-only, RFC 9051 6.4.6 */
	check("e EXAMINE INBOX\r\na STORE 1 +FLAGS (\\Seen)\r\n", NULL, NULL, "");
	/* "lr" only: read-only too */
	check("a STORE 1 +FLAGS (\\Seen)\r\n", "lr",
	      "a NO [READ-ONLY] Mailbox is read-only\r\n", "");
	/* "lrs": \Seen is kept, the rest silently dropped (RFC 4314 4) */
	check("x SELECT Shared/seen\r\na STORE 1 +FLAGS (\\Seen \\Flagged kw)\r\n", NULL, NULL,
	      "store mode=0 flags=0x1 kw= ucs=0/0 uids 1\n");
	check("a STORE 1 +FLAGS (\\Flagged)\r\n", "lrs",
	      "a NO [NOPERM] No right to change these flags\r\n", "");
	/* FLAGS with only "s": one of +FLAGS / -FLAGS */
	check("a STORE 1 FLAGS (\\Seen \\Flagged)\r\n", "lrs", NULL,
	      "store mode=0 flags=0x1 kw= ucs=0/0 uids 1\n");
	check("a STORE 1 FLAGS ()\r\n", "lrs", NULL, "store mode=1 flags=0x1 kw= ucs=0/0 uids 1\n");
	/* "w" without "s": keywords yes, \Seen no */
	check("a STORE 1 +FLAGS (\\Seen kw)\r\n", "lrw", NULL,
	      "store mode=0 flags=0 kw=kw ucs=0/0 uids 1\n");
}

/* The output of a script that must show a NO with text, whatever else. */
static void
check_contains(const char *script, const char *rights, const char *want, const char *want_log)
{
	char *out, *log;

	run(script, rights, &out, &log);
	if (!T_ASSERT(strstr(out, want) != NULL))
		fprintf(stderr, "  got: %s  want: %s", out, want);
	if (want_log != NULL && !T_STREQ(log, want_log))
		fprintf(stderr, "  script: %s", script);
	mem_free(&out);
	mem_free(&log);
}

static void
test_imap_server_message_store_nil(void)
{
	/* imaptest "nil": STORE 1 +FLAGS NIL sets the keyword NIL */
	check_contains("a STORE 1 +FLAGS NIL\r\n", NULL,
		       "* 1 FETCH (FLAGS (NIL))\r\na OK STORE completed\r\n", NULL);
}

static void
test_imap_server_message_store_checks(void)
{
	check_contains("e EXAMINE INBOX\r\na STORE 1 +FLAGS (\\Seen)\r\n", NULL,
		       "a NO [READ-ONLY] Mailbox is read-only\r\n", "");
	check_contains("a STORE 1 +FLAGS (\\Seen\r\n", NULL, "a BAD ", "");
	check_contains("a STORE 9 +FLAGS (\\Seen)\r\n", NULL, "a BAD ", "");
	check_contains("x SELECT Shared/seen\r\na STORE 1 +FLAGS (\\Seen \\Flagged kw)\r\n", NULL,
		       "* 1 FETCH (FLAGS (\\Seen))\r\na OK STORE completed\r\n", NULL);
	check_contains("a STORE 1 FLAGS (\\Seen \\Flagged)\r\n", "lrs", "a OK STORE completed\r\n",
		       NULL);
}

/* ---- COPY, MOVE ---- */

static void
test_imap_server_message_copy(void)
{
	/* UID 3 vanished: left out of COPYUID (RFC 4315 3) */
	check("a COPY 1:3 Trash\r\n", NULL, "a OK [COPYUID 900 1:2 1000:1001] COPY completed\r\n",
	      "copy Trash uids 1,2,3\n");
	check("a UID COPY 5:8 Trash\r\n", NULL,
	      "a OK [COPYUID 900 5,8 1000:1001] COPY completed\r\n", "copy Trash uids 5,8\n");
	/* RFC 9051 6.4.7: [TRYCREATE] for a missing destination */
	check("a COPY 1 Missing\r\n", NULL, "a NO [TRYCREATE] Mailbox does not exist\r\n",
	      "copy Missing uids 1\n");
	check("a UID COPY 4 Trash\r\n", NULL, "a OK COPY completed, no messages\r\n", "");
	check("a COPY 1\r\n", NULL, "a BAD Invalid arguments\r\n", "");
	check("a COPY 1 \"\"\r\n", NULL, "a NO [CANNOT] Empty mailbox name\r\n", "");
	/* COPY from a read-only mailbox is fine */
	check_contains("e EXAMINE INBOX\r\na COPY 1 Trash\r\n", NULL,
		       "a OK [COPYUID 900 1 1000] COPY completed\r\n", NULL);
}

static void
test_imap_server_message_move(void)
{
	/* RFC 6851 4.3: untagged COPYUID, EXPUNGEs (highest first), tagged OK */
	check("a MOVE 2:4 Trash\r\n", NULL,
	      "* OK [COPYUID 900 2,5 1000,1002] Moved\r\n"
	      "* 4 EXPUNGE\r\n* 2 EXPUNGE\r\n"
	      "a OK MOVE completed\r\n",
	      "move Trash uids 2,3,5\n");
	check("a UID MOVE 8 Trash\r\nb UID STORE 8 +FLAGS (\\Seen)\r\n", NULL,
	      "* OK [COPYUID 900 8 1000] Moved\r\n* 5 EXPUNGE\r\na OK MOVE completed\r\n"
	      "b OK STORE completed\r\n",
	      "move Trash uids 8\n");
	check("a MOVE 1 Missing\r\n", NULL, "a NO [TRYCREATE] Mailbox does not exist\r\n", NULL);
	check("a MOVE 1 Trash\r\n", "lrsw", "a NO [NOPERM] No right to expunge here\r\n", "");
	check_contains("e EXAMINE INBOX\r\na MOVE 1 Trash\r\n", NULL,
		       "a NO [READ-ONLY] Mailbox is read-only\r\n", "");
}

/* ---- APPEND ---- */

static void
test_imap_server_message_append(void)
{
	check("a APPEND Drafts (\\Draft kw) \" 5-Feb-2024 13:14:15 +0100\" {5+}\r\nHello\r\n", NULL,
	      "a OK [APPENDUID 77 9] APPEND completed\r\n",
	      "append Drafts 1\n flags=0x10 kw=kw date=1707135255 data=Hello\n");
	/* synchronizing literal: the "+" comes first */
	check("a APPEND Drafts {3}\r\nabc\r\n", NULL,
	      "+ Ready for literal data\r\na OK [APPENDUID 77 9] APPEND completed\r\n",
	      "append Drafts 1\n flags=0 kw= date=0 data=abc\n");
	/* MULTIAPPEND (RFC 3502) */
	check("a APPEND Sent {1+}\r\nx (\\Seen) {1+}\r\n"
	      "y \"01-Jan-2000 00:00:00 -0000\" {1+}\r\nz\r\n",
	      NULL, "a OK [APPENDUID 77 9:11] APPEND completed\r\n",
	      "append Sent 3\n flags=0 kw= date=0 data=x\n flags=0x1 kw= date=0 data=y\n"
	      " flags=0 kw= date=946684800 data=z\n");
	/* literal8 without NUL (RFC 3516 4.4) */
	check("a APPEND Sent ~{4+}\r\n\xc3\xa4\x01z\r\n", NULL,
	      "a OK [APPENDUID 77 9] APPEND completed\r\n",
	      "append Sent 1\n flags=0 kw= date=0 data=\xc3\xa4\x01z\n");
	/* RFC 6855 4: UTF8 (literal8) */
	check("a APPEND Sent (\\Seen) UTF8 (~{3+}\r\n\xc3\xa4z)\r\n", NULL,
	      "a OK [APPENDUID 77 9] APPEND completed\r\n",
	      "append Sent 1\n flags=0x1 kw= date=0 data=\xc3\xa4z\n");
	check("a APPEND Missing {1+}\r\nx\r\n", NULL, "a NO [TRYCREATE] Mailbox does not exist\r\n",
	      NULL);
	check("a APPEND Full {1+}\r\nx\r\n", NULL, "a NO [CANNOT] Quota  exceeded\r\n", NULL);
}

/* APPEND is valid in the authenticated state; in the selected mailbox
 * itself the new message shows at once (a sync). */
static void
test_imap_server_message_append_states(void)
{
	check("a APPEND INBOX {1+}\r\nx\r\n", "-", "a OK [APPENDUID 77 9] APPEND completed\r\n",
	      "append INBOX 1\n flags=0 kw= date=0 data=x\n");
	check("a APPEND INBOX {1+}\r\nx\r\n", NULL,
	      "* 6 EXISTS\r\na OK [APPENDUID 77 9] APPEND completed\r\n",
	      "append INBOX 1\n flags=0 kw= date=0 data=x\n");
}

static void
test_imap_server_message_append_bad(void)
{
	static const char *const bad[] = {
		"a APPEND Drafts (\\Recent) {1+}\r\nx\r\n",
		"a APPEND Drafts \"5-Feb-2024 13:14:15 +0100\" {1+}\r\nx\r\n",
		"a APPEND Drafts \"31-Feb-2024 13:14:15 +0100\" {1+}\r\nx\r\n",
		"a APPEND Drafts \"29-Feb-2023 13:14:15 +0100\" {1+}\r\nx\r\n",
		"a APPEND Drafts \"01-Foo-2024 13:14:15 +0100\" {1+}\r\nx\r\n",
		"a APPEND Drafts \"01-Jan-2024 24:00:00 +0100\" {1+}\r\nx\r\n",
		"a APPEND Drafts \"01-Jan-2024 12:60:00 +0100\" {1+}\r\nx\r\n",
		"a APPEND Drafts \"01-Jan-2024 12:00:00 0100\" {1+}\r\nx\r\n",
		"a APPEND Drafts \"01-Jan-2024 12:00:00 +0160\" {1+}\r\nx\r\n",
		"a APPEND Drafts \"01-Jan-2024 12:00:00\" {1+}\r\nx\r\n",
		"a APPEND Drafts \"01-Jan-24 12:00:00 +0100\" {1+}\r\nx\r\n",
		"a APPEND Drafts \"message\"\r\n",
		"a APPEND Drafts (\\Seen)\r\n",
		"a APPEND Drafts () () {1+}\r\nx\r\n",
		/* MULTIAPPEND with one bad message: nothing is appended */
		"a APPEND Drafts {1+}\r\nx (\\Bogus) {1+}\r\ny\r\n",
		"a APPEND Drafts {1+}\r\nx {1+}\r\ny \"bad\"\r\n",
		"a APPEND Drafts UTF8 ({1+}\r\nx)\r\n",
		"a APPEND Drafts UTF8 (~{1+}\r\nx ~{1+}\r\ny)\r\n",
		"a APPEND Drafts UTF8\r\n",
	};

	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		check_contains(bad[i], NULL, "a BAD ", "");
	/* RFC 3516 4.4: a literal8 with NUL octets is stored as it is */
	{
		static const char nul[] = "a APPEND Drafts {1+}\r\nx ~{3+}\r\na\0b\r\n";
		char *out, *log;

		run_len(nul, sizeof(nul) - 1, NULL, &out, &log);
		T_STREQ(out, "a OK [APPENDUID 77 9:10] APPEND completed\r\n");
		T_STREQ(log, "append Drafts 2\n flags=0 kw= date=0 data=x\n"
			     " flags=0 kw= date=0 data=a\\0b\n");
		mem_free(&out);
		mem_free(&log);
	}
	check("a APPEND Drafts {0+}\r\n\r\n", NULL,
	      "a NO [CANNOT] Empty messages cannot be appended\r\n", "");
	check("a APPEND \"\" {1+}\r\nx\r\n", NULL, "a NO [CANNOT] Empty mailbox name\r\n", "");
}

/* CATENATE (RFC 4469): parts to the glue, URL checks, the glue's refusals. */
static void
test_imap_server_message_catenate(void)
{
	check("a APPEND Drafts (\\Seen) CATENATE (TEXT {3+}\r\nabc URL \"/INBOX/;UID=5\" "
	      "TEXT {2+}\r\nde URL /Sent;UIDVALIDITY=7/;UID=1/;SECTION=HEADER)\r\n",
	      NULL, "a OK [APPENDUID 77 9] APPEND completed\r\n",
	      "append Drafts 1\n flags=0x1 kw= date=0 data= TEXT=abc "
	      "URL=/INBOX/;UID=5(INBOX,-,0,5,-) TEXT=de "
	      "URL=/Sent;UIDVALIDITY=7/;UID=1/;SECTION=HEADER(Sent,-,7,1,HEADER)\n");
	/* with MULTIAPPEND, literal8 TEXT, UTF8 (literal8) and a full URL of
	 * the logged-in user */
	check("a APPEND Sent CATENATE (URL \"imap://tim@h/INBOX/;UID=1\") "
	      "(\\Flagged) CATENATE (TEXT ~{2+}\r\nxy UTF8 (~{1+}\r\nz)) {1+}\r\nq\r\n",
	      NULL, "a OK [APPENDUID 77 9:11] APPEND completed\r\n",
	      "append Sent 3\n flags=0 kw= date=0 data= URL=imap://tim@h/INBOX/;UID=1"
	      "(INBOX,tim,0,1,-)\n flags=0x4 kw= date=0 data= TEXT=xy TEXT=z\n"
	      " flags=0 kw= date=0 data=q\n");
	/* RFC 4469 6: a URL that names nothing gives NO [BADURL url], before
	 * the glue is asked */
	check("a APPEND Sent CATENATE (TEXT {1+}\r\nx URL \"/INBOX;UID=1\")\r\n", NULL,
	      "a NO [BADURL /INBOX;UID=1] Invalid URL: ;UIDVALIDITY= or /;UID= expected\r\n", "");
	check("a APPEND Sent CATENATE (URL \"imap://other@h/INBOX/;UID=1\")\r\n", NULL,
	      "a NO [BADURL imap://other@h/INBOX/;UID=1] URL does not name the logged-in user\r\n",
	      "");
	check("a APPEND Sent CATENATE (URL \"imap://h/INBOX/;UID=1\")\r\n", NULL,
	      "a NO [BADURL imap://h/INBOX/;UID=1] URL does not name the logged-in user\r\n", "");
	check("a APPEND Sent {1+}\r\nx CATENATE (URL \"/a/;UID=1/;URLAUTH=x\")\r\n", NULL,
	      "a NO [BADURL /a/;UID=1/;URLAUTH=x] Invalid URL: trailing characters\r\n", "");
	check("a APPEND Sent {1+}\r\nx CATENATE (URL \"/a]b/;UID=1/;URLAUTH=x\")\r\n", NULL,
	      "a NO [BADURL /ab/;UID=1/;URLAUTH=x] Invalid mailbox name in URL\r\n", "");
	/* the glue's refusals */
	check("a APPEND BadUrl CATENATE (URL \"/INBOX/;UID=9\")\r\n", NULL,
	      "a NO [BADURL /INBOX/;UID=9] No such message\r\n", NULL);
	check("a APPEND Big CATENATE (URL \"/INBOX/;UID=9\")\r\n", NULL,
	      "a NO [TOOBIG] Message too big\r\n", NULL);
	check("a APPEND Missing CATENATE (URL \"/INBOX/;UID=9\")\r\n", NULL,
	      "a NO [TRYCREATE] Mailbox does not exist\r\n", NULL);
	/* syntax errors are BAD */
	check_contains("a APPEND Sent CATENATE ()\r\n", NULL, "a BAD ", "");
	check_contains("a APPEND Sent CATENATE\r\n", NULL, "a BAD ", "");
	check_contains("a APPEND Sent CATENATE (TEXT \"x\")\r\n", NULL, "a BAD ", "");
	check_contains("a APPEND Sent CATENATE (TEXT)\r\n", NULL, "a BAD ", "");
	check_contains("a APPEND Sent CATENATE (URL (x))\r\n", NULL, "a BAD ", "");
	check_contains("a APPEND Sent CATENATE (FOO {1+}\r\nx)\r\n", NULL, "a BAD ", "");
	check_contains("a APPEND Sent CATENATE (TEXT {1+}\r\nx) \"x\"\r\n", NULL, "a BAD ", "");
}

/* The session goes away with a hook outstanding: nothing leaks, no call. */
static void
test_imap_server_message_free_pending(void)
{
	static const char *const scripts[] = {
		"a STORE 1 +FLAGS (\\Seen)\r\n",
		"a COPY 1 Trash\r\n",
		"a APPEND Drafts {1+}\r\nx\r\n",
	};

	for (size_t i = 0; i < N_ELEMENTS(scripts); i++) {
		struct fx *fx = fx_new(true, NULL);

		fx_input(fx, LOGIN, strlen(LOGIN), 0);
		fx_input(fx, SELECT, strlen(SELECT), 0);
		imap_server_session_input(fx->s, (const uint8_t *)scripts[i], strlen(scripts[i]));
		T_ASSERT(fx->op != FX_NONE);
		fx->op = FX_NONE; /* never completed: the session's free cleans up */
		fx_free(&fx);
	}
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_imap_server_message_flags),
		TEST_ENTRY(test_imap_server_message_keyword_limits),
		TEST_ENTRY(test_imap_server_message_store),
		TEST_ENTRY(test_imap_server_message_store_condstore),
		TEST_ENTRY(test_imap_server_message_store_synced),
		TEST_ENTRY(test_imap_server_message_store_no_echo),
		TEST_ENTRY(test_imap_server_message_store_bad),
		TEST_ENTRY(test_imap_server_message_store_rights),
		TEST_ENTRY(test_imap_server_message_store_checks),
		TEST_ENTRY(test_imap_server_message_copy),
		TEST_ENTRY(test_imap_server_message_move),
		TEST_ENTRY(test_imap_server_message_append),
		TEST_ENTRY(test_imap_server_message_append_states),
		TEST_ENTRY(test_imap_server_message_append_bad),
		TEST_ENTRY(test_imap_server_message_catenate),
		TEST_ENTRY(test_imap_server_message_store_nil),
		TEST_ENTRY(test_imap_server_message_free_pending),
		{ NULL, NULL },
	};

	return test_main("imap-server-message", tests);
}
