/*
 * test-imap-server-acl.c - the ACL (RFC 4314) and QUOTA (RFC 9208) commands
 * of the IMAP engine against a fake io and fake hooks.
 *
 * The fake hooks complete at once from inside the hook (synchronous) or
 * when the test, playing the event loop, completes them (deferred). Each
 * script runs after a LOGIN, whole, byte by byte and split at a few points,
 * both ways: all must give the same transcript and the same hook log.
 */
#include "imap/imap-server-private.h"
#include "imap/imap-server.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"

#include <stdio.h>
#include <string.h>

enum fx_op { FX_NONE, FX_AUTH, FX_LOGIN, FX_ACL, FX_QUOTA };

struct fx {
	struct imap_server_session *s;
	struct buf out, log;
	bool deferred, no_quota, free_in_acl;
	enum fx_op op;
	enum imap_acl_op acl_op;
	char name[300], root[300];
	bool have_root;
	int disconnect_calls;
	bool overlapping_hook;
};

static void
fx_write(void *ctx, const uint8_t *data, size_t len)
{
	struct fx *fx = ctx;

	T_INTEQ(buf_append(&fx->out, data, len), 0);
}

static void
fx_close(void *ctx)
{
}

/* GETACL's answer: the owner is implicit; one entry needs quoting. */
static const struct imap_acl_entry fx_acl[] = {
	{ "anyone", "lr" },
	{ "bob@example.org", "eiklrstwx" },
	{ "we \"ird\"", "a" },
	{ "", "l" }, /* skipped: not an identifier */
};

/* LISTRIGHTS' optional groups for a non-owner: every right on its own, one
 * repeated and one virtual right (both must be dropped). */
static const struct imap_acl_entry fx_groups[] = {
	{ NULL, "l" }, { NULL, "r" }, { NULL, "s" }, { NULL, "w" }, { NULL, "i" },
	{ NULL, "p" }, { NULL, "k" }, { NULL, "x" }, { NULL, "t" }, { NULL, "e" },
	{ NULL, "a" }, { NULL, "l" }, { NULL, "c" },
};

static void
fx_complete_acl(struct fx *fx)
{
	if (strcmp(fx->name, "gone") == 0) {
		imap_server_acl_done(fx->s, NULL, 0, NULL, IMAP_MAILBOX_NONEXISTENT, NULL);
	} else if (strcmp(fx->name, "locked") == 0) {
		imap_server_acl_done(fx->s, NULL, 0, NULL, IMAP_MAILBOX_NOPERM, "No\r\nway");
	} else if (strcmp(fx->name, "busy") == 0) {
		imap_server_acl_done(fx->s, NULL, 0, NULL, IMAP_MAILBOX_TEMPFAIL, NULL);
	} else if (fx->acl_op == IMAP_ACL_GET) {
		imap_server_acl_done(fx->s, fx_acl, N_ELEMENTS(fx_acl), NULL, IMAP_MAILBOX_OK,
				     NULL);
	} else if (fx->acl_op == IMAP_ACL_MYRIGHTS) {
		/* "Shared/..." names: read-only; else the owner */
		imap_server_acl_done(fx->s, NULL, 0,
				     strncmp(fx->name, "Shared/", 7) == 0 ? "lrs" : "aeiklprstwx",
				     IMAP_MAILBOX_OK, NULL);
	} else if (fx->acl_op == IMAP_ACL_LISTRIGHTS && strcmp(fx->name, "INBOX") == 0) {
		/* the owner: everything, always */
		imap_server_acl_done(fx->s, NULL, 0, "aeiklprstwx", IMAP_MAILBOX_OK, NULL);
	} else if (fx->acl_op == IMAP_ACL_LISTRIGHTS) {
		imap_server_acl_done(fx->s, fx_groups, N_ELEMENTS(fx_groups), "", IMAP_MAILBOX_OK,
				     NULL);
	} else {
		imap_server_acl_done(fx->s, NULL, 0, NULL, IMAP_MAILBOX_OK, NULL);
	}
}

static const struct imap_quota_resource fx_res[] = {
	{ "STORAGE", 10, 1024 },
	{ "MESSAGE", 3, 100 },
	{ "bad name", 1, 2 }, /* skipped: not an atom */
};

static void
fx_complete_quota(struct fx *fx)
{
	if (fx->have_root && strcmp(fx->root, "") != 0) {
		/* only the account's root "" exists */
		imap_server_quota_done(fx->s, NULL, NULL, 0, IMAP_MAILBOX_OK, NULL);
	} else if (!fx->have_root && strcmp(fx->name, "gone") == 0) {
		imap_server_quota_done(fx->s, NULL, NULL, 0, IMAP_MAILBOX_NONEXISTENT, NULL);
	} else if (!fx->have_root && strcmp(fx->name, "free") == 0) {
		imap_server_quota_done(fx->s, NULL, NULL, 0, IMAP_MAILBOX_OK, NULL);
	} else {
		imap_server_quota_done(fx->s, "", fx_res, N_ELEMENTS(fx_res), IMAP_MAILBOX_OK,
				       NULL);
	}
}

static void
fx_complete(struct fx *fx)
{
	enum fx_op op = fx->op;

	fx->op = FX_NONE;
	if (fx->s == NULL)
		return;
	if (op == FX_AUTH)
		imap_server_auth_verified(fx->s, true);
	else if (op == FX_LOGIN)
		imap_server_login_done(fx->s, true);
	else if (op == FX_ACL)
		fx_complete_acl(fx);
	else if (op == FX_QUOTA)
		fx_complete_quota(fx);
}

static void
fx_begin_op(struct fx *fx, enum fx_op op)
{
	if (fx->op != FX_NONE)
		fx->overlapping_hook = true;
	fx->op = op;
	if (!fx->deferred)
		fx_complete(fx);
}

static void
fx_auth_lookup(void *ctx, struct imap_server_session *s, const char *mech, const char *authcid,
	       const char *password)
{
	fx_begin_op(ctx, FX_AUTH);
}

static void
fx_authenticated(void *ctx, struct imap_server_session *s, const char *user)
{
	fx_begin_op(ctx, FX_LOGIN);
}

static void
fx_disconnect(void *ctx, struct imap_server_session *s)
{
	struct fx *fx = ctx;

	fx->disconnect_calls++;
	fx->op = FX_NONE;
}

static void
fx_unused_hook(void *ctx, struct imap_server_session *s)
{
	T_ASSERT(false);
}

/* The mailbox hooks are required but never called by these scripts. */
static void
fx_unused_status(void *ctx, struct imap_server_session *s, const char *name, unsigned items)
{
	T_ASSERT(false);
}

static void
fx_unused_create(void *ctx, struct imap_server_session *s, const char *name, unsigned su)
{
	T_ASSERT(false);
}

static void
fx_unused_delete(void *ctx, struct imap_server_session *s, const char *name)
{
	T_ASSERT(false);
}

static void
fx_unused_rename(void *ctx, struct imap_server_session *s, const char *a, const char *b)
{
	T_ASSERT(false);
}

static void
fx_unused_subscribe(void *ctx, struct imap_server_session *s, const char *name, bool on)
{
	T_ASSERT(false);
}

static void
fx_unused_select(void *ctx, struct imap_server_session *s, const char *name,
		 const struct imap_select_params *params)
{
	T_ASSERT(false);
}

static void
fx_unused_sync(void *ctx, struct imap_server_session *s, uint64_t since)
{
	T_ASSERT(false);
}

static void
fx_unused_fetch(void *ctx, struct imap_server_session *s, const struct imap_fetch_request *req)
{
	T_ASSERT(false);
}

static void
fx_unused_search(void *ctx, struct imap_server_session *s, const struct imap_search_request *req)
{
	T_ASSERT(false);
}

static void
fx_unused_store(void *ctx, struct imap_server_session *s, const struct imap_store_request *req)
{
	T_ASSERT(false);
}

static void
fx_unused_copy(void *ctx, struct imap_server_session *s, const uint32_t *uids, size_t count,
	       const char *dest, bool move)
{
	T_ASSERT(false);
}

static void
fx_unused_expunge(void *ctx, struct imap_server_session *s, const uint32_t *uids, size_t count)
{
	T_ASSERT(false);
}

static void
fx_unused_append(void *ctx, struct imap_server_session *s, const char *name,
		 const struct imap_append_message *msgs, size_t count)
{
	T_ASSERT(false);
}

static const char *const fx_op_names[] = { "get", "set", "delete", "myrights", "listrights" };

static void
fx_acl_hook(void *ctx, struct imap_server_session *s, enum imap_acl_op op, const char *name,
	    const char *identifier, const char *rights)
{
	struct fx *fx = ctx;

	T_ASSERT(s == fx->s);
	T_ASSERT(!imap_server_session_wants_input(s));
	T_ASSERT((unsigned)op < N_ELEMENTS(fx_op_names));
	fx->acl_op = op;
	snprintf(fx->name, sizeof(fx->name), "%s", name);
	(void)buf_printf(&fx->log, "acl %s %s %s %s\n", fx_op_names[op], name,
			 identifier != NULL ? identifier : "-", rights != NULL ? rights : "-");
	if (fx->free_in_acl) {
		imap_server_session_free(&fx->s);
		return;
	}
	fx_begin_op(fx, FX_ACL);
}

static void
fx_quota_hook(void *ctx, struct imap_server_session *s, const char *root, const char *name)
{
	struct fx *fx = ctx;

	T_ASSERT(s == fx->s);
	T_ASSERT((root == NULL) != (name == NULL));
	fx->have_root = root != NULL;
	snprintf(fx->root, sizeof(fx->root), "%s", root != NULL ? root : "");
	snprintf(fx->name, sizeof(fx->name), "%s", name != NULL ? name : "");
	(void)buf_printf(&fx->log, "quota %s %s\n", root != NULL ? root : "-",
			 name != NULL ? name : "-");
	fx_begin_op(fx, FX_QUOTA);
}

static const struct imap_server_io fx_io = { .write = fx_write, .close = fx_close };
static const struct imap_server_hooks fx_hooks = {
	.auth_lookup = fx_auth_lookup,
	.authenticated = fx_authenticated,
	.disconnect = fx_disconnect,
	.mailbox_list = fx_unused_hook,
	.mailbox_status = fx_unused_status,
	.mailbox_create = fx_unused_create,
	.mailbox_delete = fx_unused_delete,
	.mailbox_rename = fx_unused_rename,
	.mailbox_subscribe = fx_unused_subscribe,
};

static void
fx_input(struct fx *fx, const char *data, size_t len)
{
	if (fx->s == NULL)
		return;
	imap_server_session_input(fx->s, (const uint8_t *)data, len);
	while (fx->op != FX_NONE && fx->s != NULL)
		fx_complete(fx);
}

/* A logged-in session; its output so far is dropped. */
static struct fx *
fx_new(bool deferred, bool no_quota)
{
	struct fx *fx = mem_zalloc(sizeof(*fx));
	struct imap_server_selected_hooks sh;
	struct imap_server_settings set;
	static const char login[] = "a LOGIN tim secret\r\n";

	memset(&set, 0, sizeof(set));
	set.hostname = "imap.example.org";
	set.auth_plaintext_allowed = true;
	imap_server_limits_init_default(&set.limits);
	buf_init(&fx->out, 0);
	buf_init(&fx->log, 0);
	fx->deferred = deferred;
	fx->no_quota = no_quota;
	fx->s = imap_server_session_new(&set, &fx_hooks, fx, &fx_io, fx, "192.0.2.7");
	memset(&sh, 0, sizeof(sh));
	sh.mailbox_select = fx_unused_select;
	sh.mailbox_sync = fx_unused_sync;
	sh.message_fetch = fx_unused_fetch;
	sh.message_search = fx_unused_search;
	sh.message_store = fx_unused_store;
	sh.message_copy = fx_unused_copy;
	sh.message_expunge = fx_unused_expunge;
	sh.message_append = fx_unused_append;
	sh.acl = fx_acl_hook;
	sh.quota = no_quota ? NULL : fx_quota_hook;
	imap_server_session_set_selected_hooks(fx->s, &sh);
	imap_server_session_start(fx->s);
	fx_input(fx, login, sizeof(login) - 1);
	T_ASSERT(strstr(buf_cstr(&fx->out), "a OK ") != NULL);
	buf_reset(&fx->out);
	return fx;
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
run_script(bool no_quota, const char *in, const char *out, const char *log)
{
	size_t len = strlen(in);

	for (int deferred = 0; deferred <= 1; deferred++) {
		for (size_t split = 0; split <= len; split++) {
			struct fx *fx = fx_new(deferred, no_quota);

			if (split == 0) {
				for (size_t i = 0; i < len; i++)
					fx_input(fx, in + i, 1);
			} else {
				fx_input(fx, in, split);
				fx_input(fx, in + split, len - split);
			}
			if (!T_STREQ(buf_cstr(&fx->out), out) ||
			    !T_STREQ(buf_cstr(&fx->log), log)) {
				fprintf(stderr, "  deferred %d split %zu\n", deferred, split);
				fx_free(fx);
				return;
			}
			fx_free(fx);
			if (split == 0)
				split = len > 400 ? len / 7 : 0;
		}
	}
}

static const char acl_in[] =
	"b SETACL Team bob@example.org lr\r\n"
	"c SETACL Team bob@example.org +cd\r\n"
	"d setacl Team anyone -w\r\n"
	"e SETACL Team anyone \"\"\r\n"
	"f SETACL Team bob lrQ\r\n"
	"g SETACL Team bob lrq0\r\n"
	"h SETACL Team \"\" lr\r\n"
	"i SETACL \"a//b\" bob lr\r\n"
	"j SETACL \"&Jjo\" bob lr\r\n"
	"k SETACL gone bob lr\r\n"
	"l SETACL locked bob lr\r\n"
	"m SETACL busy bob lr\r\n"
	"n DELETEACL Team bob@example.org\r\n"
	"o DELETEACL Team\r\n"
	"p GETACL Team\r\n"
	"q GETACL gone\r\n"
	"r MYRIGHTS inbox\r\n"
	"s MYRIGHTS \"Shared/alice@example.org/Team\"\r\n"
	"t LISTRIGHTS INBOX tim\r\n"
	"u LISTRIGHTS Team anyone\r\n"
	"v LISTRIGHTS Team\r\n"
	"w MYRIGHTS \"Entw&APw-rfe\"\r\n";
static const char acl_out[] =
	"b OK SETACL completed\r\n"
	"c OK SETACL completed\r\n"
	"d OK SETACL completed\r\n"
	"e OK SETACL completed\r\n"
	"f BAD Unsupported right\r\n"
	"g BAD Unsupported right\r\n"
	"h BAD Invalid identifier\r\n"
	"i NO [CANNOT] Empty hierarchy level in mailbox name\r\n"
	"j NO [CANNOT] Invalid modified UTF-7 mailbox name\r\n"
	"k NO [NONEXISTENT] Mailbox does not exist\r\n"
	"l NO [NOPERM] No  way\r\n"
	"m NO [UNAVAILABLE] Temporary failure, try again later\r\n"
	"n OK DELETEACL completed\r\n"
	"o BAD Invalid arguments\r\n"
	"* ACL \"Team\" \"anyone\" \"lr\" \"bob@example.org\" \"eiklrstwxcd\" "
	"\"we \\\"ird\\\"\" \"a\"\r\n"
	"p OK GETACL completed\r\n"
	"q NO [NONEXISTENT] Mailbox does not exist\r\n"
	"* MYRIGHTS \"INBOX\" \"aeiklprstwxcd\"\r\n"
	"r OK MYRIGHTS completed\r\n"
	"* MYRIGHTS \"Shared/alice@example.org/Team\" \"lrs\"\r\n"
	"s OK MYRIGHTS completed\r\n"
	"* LISTRIGHTS \"INBOX\" \"tim\" \"aeiklprstwxcd\"\r\n"
	"t OK LISTRIGHTS completed\r\n"
	"* LISTRIGHTS \"Team\" \"anyone\" \"\" \"l\" \"r\" \"s\" \"w\" \"i\" \"p\" \"k\" \"x\" "
	"\"t\" \"e\" \"a\" \"c\" \"d\"\r\n"
	"u OK LISTRIGHTS completed\r\n"
	"v BAD Invalid arguments\r\n"
	"* MYRIGHTS \"Entw&APw-rfe\" \"aeiklprstwxcd\"\r\n"
	"w OK MYRIGHTS completed\r\n";
static const char acl_log[] =
	"acl set Team bob@example.org lr\n"
	"acl set Team bob@example.org +cd\n"
	"acl set Team anyone -w\n"
	"acl set Team anyone \n"
	"acl set gone bob lr\n"
	"acl set locked bob lr\n"
	"acl set busy bob lr\n"
	"acl delete Team bob@example.org -\n"
	"acl get Team - -\n"
	"acl get gone - -\n"
	"acl myrights INBOX - -\n"
	"acl myrights Shared/alice@example.org/Team - -\n"
	"acl listrights INBOX tim -\n"
	"acl listrights Team anyone -\n"
	"acl myrights Entw\xc3\xbcrfe - -\n";

static void
test_acl_commands(void)
{
	run_script(false, acl_in, acl_out, acl_log);
}

static const char quota_in[] =
	"b GETQUOTAROOT inbox\r\n"
	"c GETQUOTA \"\"\r\n"
	"d GETQUOTA other\r\n"
	"e GETQUOTAROOT gone\r\n"
	"f GETQUOTAROOT free\r\n"
	"g GETQUOTAROOT \"a//b\"\r\n"
	"h GETQUOTA\r\n";
static const char quota_out[] =
	"* QUOTAROOT \"INBOX\" \"\"\r\n"
	"* QUOTA \"\" (STORAGE 10 1024 MESSAGE 3 100)\r\n"
	"b OK GETQUOTAROOT completed\r\n"
	"* QUOTA \"\" (STORAGE 10 1024 MESSAGE 3 100)\r\n"
	"c OK GETQUOTA completed\r\n"
	"d NO [NONEXISTENT] No such quota root\r\n"
	"e NO [NONEXISTENT] Mailbox does not exist\r\n"
	"* QUOTAROOT \"free\"\r\n"
	"f OK GETQUOTAROOT completed\r\n"
	"g NO [CANNOT] Empty hierarchy level in mailbox name\r\n"
	"h BAD Invalid arguments\r\n";
static const char quota_log[] =
	"quota - INBOX\n"
	"quota  -\n"
	"quota other -\n"
	"quota - gone\n"
	"quota - free\n";

static void
test_quota_commands(void)
{
	run_script(false, quota_in, quota_out, quota_log);
}

/* Without a quota hook the QUOTA commands do not exist. */
static void
test_quota_absent(void)
{
	run_script(true, "b GETQUOTAROOT INBOX\r\nc GETQUOTA \"\"\r\nd MYRIGHTS INBOX\r\n",
		   "b BAD Unknown command\r\nc BAD Unknown command\r\n"
		   "* MYRIGHTS \"INBOX\" \"aeiklprstwxcd\"\r\nd OK MYRIGHTS completed\r\n",
		   "acl myrights INBOX - -\n");
}

static void
test_acl_capabilities(void)
{
	struct fx *fx = fx_new(false, false);
	struct buf caps;

	buf_init(&caps, 0);
	imap_server_acl_capabilities(fx->s, &caps);
	T_STREQ(buf_cstr(&caps), "ACL RIGHTS=texk QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE");
	buf_reset(&caps);
	(void)buf_append_str(&caps, "IMAP4rev2");
	imap_server_acl_capabilities(fx->s, &caps);
	T_STREQ(buf_cstr(&caps),
		"IMAP4rev2 ACL RIGHTS=texk QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE");
	fx_free(fx);

	fx = fx_new(false, true);
	buf_reset(&caps);
	imap_server_acl_capabilities(fx->s, &caps);
	T_STREQ(buf_cstr(&caps), "ACL RIGHTS=texk");
	fx_free(fx);
	buf_deinit(&caps);
}

/* The glue frees the session from inside the hook, and with a deferred
 * completion outstanding: no completion may follow, nothing leaks. */
static void
test_acl_free_in_hook(void)
{
	static const char in[] = "b GETACL Team\r\nc MYRIGHTS INBOX\r\n";
	struct fx *fx = fx_new(false, false);

	fx->free_in_acl = true;
	fx_input(fx, in, sizeof(in) - 1);
	T_ASSERT(fx->s == NULL);
	T_STREQ(buf_cstr(&fx->log), "acl get Team - -\n");
	fx_free(fx);

	fx = fx_new(true, false);
	imap_server_session_input(fx->s, (const uint8_t *)in, sizeof(in) - 1);
	T_INTEQ(fx->op, FX_ACL);
	T_ASSERT(!imap_server_session_wants_input(fx->s));
	fx_free(fx);
}

static const struct test tests[] = {
	TEST_ENTRY(test_acl_commands),
	TEST_ENTRY(test_quota_commands),
	TEST_ENTRY(test_quota_absent),
	TEST_ENTRY(test_acl_capabilities),
	TEST_ENTRY(test_acl_free_in_hook),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("imap-server-acl", tests);
}
