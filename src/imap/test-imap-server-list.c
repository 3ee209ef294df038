/*
 * test-imap-server-list.c - the IMAP engine's subscription listing and its
 * shared-namespace refusals against a fake io and fake hooks: LIST
 * (SUBSCRIBED) and LSUB with subscribed names whose mailbox is gone (RFC
 * 5258 3.1 \NonExistent, RFC 3501 6.3.9 \Noselect), CHILDINFO (RFC 5258
 * 3.5) only for subscribed descendants the command does not list, and
 * CREATE/RENAME under the shared namespace refused by the engine (RFC 2342
 * 5) without calling the glue.
 *
 * The fake glue answers LIST as serve-imap-mailbox.c does: the existing
 * mailboxes (subscribed or not) and then every subscription as a separate
 * entry with exists = false, for the engine to merge. The tree is the one
 * imaptest's "listext" script builds. Each script runs after a LOGIN, in
 * whole and byte by byte, with the hooks completing inside the hook and
 * later: all four must give the same transcript.
 */
#include "imap/imap-server-private.h"
#include "imap/imap-server.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"

#include <stdio.h>
#include <string.h>

enum fx_op { FX_NONE, FX_AUTH, FX_LOGIN, FX_LIST, FX_OP };

struct fx {
	struct imap_server_session *s;
	struct buf out, hooks; /* the replies; one line per mailbox hook call */
	bool deferred;
	enum fx_op op;
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

/* imaptest listext after its DELETE of test6: name, special use,
 * subscribed, exists. */
static const struct imap_mailbox_info fx_boxes[] = {
	{ "INBOX", 0, false, true },
	{ "t", 0, false, true },
	{ "t/test1", 0, false, true },
	{ "t/test2", 0, false, true },
	{ "t/test2/test1", 0, false, true },
	{ "t/test3", 0, false, true },
	{ "t/test4/test5", 0, false, true },
	{ "t/test4/test52", 0, false, true },
	{ "t/test7/test7", 0, false, true },
	{ "t/test8/test8", 0, false, true },
	{ "t/test8/test9", 0, false, true },
	/* the subscriptions, t/test6 without its mailbox */
	{ "INBOX", 0, true, false },
	{ "t/test1", 0, true, false },
	{ "t/test2/test1", 0, true, false },
	{ "t/test6", 0, true, false },
	{ "t/test7/test7", 0, true, false },
	{ "t/test8/test8", 0, true, false },
	{ "t/test8/test9", 0, true, false },
};

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
	else if (op == FX_LIST)
		imap_server_list_done(fx->s, fx_boxes, N_ELEMENTS(fx_boxes), IMAP_MAILBOX_OK);
	else
		imap_server_mailbox_op_done(fx->s, IMAP_MAILBOX_OK, NULL);
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
fx_list(void *ctx, struct imap_server_session *s)
{
	fx_begin(ctx, FX_LIST);
}

static void
fx_status(void *ctx, struct imap_server_session *s, const char *name, unsigned items)
{
	T_ASSERT(false);
}

static void
fx_create(void *ctx, struct imap_server_session *s, const char *name, unsigned su)
{
	struct fx *fx = ctx;

	(void)buf_printf(&fx->hooks, "create %s\n", name);
	fx_begin(fx, FX_OP);
}

static void
fx_delete(void *ctx, struct imap_server_session *s, const char *name)
{
	struct fx *fx = ctx;

	(void)buf_printf(&fx->hooks, "delete %s\n", name);
	fx_begin(fx, FX_OP);
}

static void
fx_rename(void *ctx, struct imap_server_session *s, const char *a, const char *b)
{
	struct fx *fx = ctx;

	(void)buf_printf(&fx->hooks, "rename %s %s\n", a, b);
	fx_begin(fx, FX_OP);
}

static void
fx_subscribe(void *ctx, struct imap_server_session *s, const char *name, bool on)
{
	struct fx *fx = ctx;

	(void)buf_printf(&fx->hooks, "%s %s\n", on ? "subscribe" : "unsubscribe", name);
	fx_begin(fx, FX_OP);
}

static const struct imap_server_io fx_io = { .write = fx_write, .close = fx_close };
static const struct imap_server_hooks fx_hooks = {
	.auth_lookup = fx_auth_lookup,
	.authenticated = fx_authenticated,
	.mailbox_list = fx_list,
	.mailbox_status = fx_status,
	.mailbox_create = fx_create,
	.mailbox_delete = fx_delete,
	.mailbox_rename = fx_rename,
	.mailbox_subscribe = fx_subscribe,
};

static void
fx_input(struct fx *fx, const char *data, size_t len)
{
	imap_server_session_input(fx->s, (const uint8_t *)data, len);
	while (fx->op != FX_NONE && fx->s != NULL)
		fx_complete(fx);
}

/* A logged-in session, greeting and LOGIN reply dropped. */
static struct fx *
fx_new(bool deferred, bool shared)
{
	struct fx *fx = mem_zalloc(sizeof(*fx));
	struct imap_server_settings set;
	static const char login[] = "a LOGIN tim secret\r\n";

	memset(&set, 0, sizeof(set));
	set.hostname = "imap.example.org";
	set.auth_plaintext_allowed = true;
	set.namespace_shared = shared;
	imap_server_limits_init_default(&set.limits);
	buf_init(&fx->out, 0);
	buf_init(&fx->hooks, 0);
	fx->deferred = deferred;
	fx->s = imap_server_session_new(&set, &fx_hooks, fx, &fx_io, fx, "192.0.2.7");
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
	buf_deinit(&fx->out);
	buf_deinit(&fx->hooks);
	mem_free(&fx);
}

/* Run in whole, then byte by byte, synchronous and deferred; out is the
 * transcript, hooks the mailbox hook calls (NULL: not checked). */
static void
run_script(bool shared, const char *in, const char *out, const char *hooks)
{
	size_t len = strlen(in);

	for (int deferred = 0; deferred <= 1; deferred++) {
		for (int bytewise = 0; bytewise <= 1; bytewise++) {
			struct fx *fx = fx_new(deferred, shared);
			bool ok;

			if (bytewise) {
				for (size_t i = 0; i < len; i++)
					fx_input(fx, in + i, 1);
			} else {
				fx_input(fx, in, len);
			}
			ok = T_STREQ(buf_cstr(&fx->out), out);
			if (hooks != NULL)
				ok = T_STREQ(buf_cstr(&fx->hooks), hooks) && ok;
			if (!ok)
				fprintf(stderr, "  deferred %d bytewise %d\n", deferred, bytewise);
			fx_free(fx);
		}
	}
}

/* RFC 5258 3.1: a subscribed name without its mailbox is listed by LIST
 * (SUBSCRIBED) as \NonExistent; RFC 3501 6.3.9: LSUB lists it, as
 * \Noselect. Plain LIST never shows it. */
static void
test_subscribed_gone(void)
{
	static const char in[] =
		"b LIST (SUBSCRIBED) \"\" t/*\r\n"
		"c LSUB \"\" t/*\r\n"
		"d LSUB \"\" t/%\r\n"
		"e LIST \"\" t/test6\r\n"
		"f LIST \"\" t/% RETURN (SUBSCRIBED)\r\n"
		"g LIST (SUBSCRIBED) \"\" INBOX\r\n";
	static const char out[] =
		"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"t/test1\"\r\n"
		"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"t/test2/test1\"\r\n"
		"* LIST (\\NonExistent \\Subscribed) \"/\" \"t/test6\"\r\n"
		"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"t/test7/test7\"\r\n"
		"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"t/test8/test8\"\r\n"
		"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"t/test8/test9\"\r\n"
		"b OK LIST completed\r\n"
		"* LSUB () \"/\" \"t/test1\"\r\n"
		"* LSUB () \"/\" \"t/test2/test1\"\r\n"
		"* LSUB (\\Noselect) \"/\" \"t/test6\"\r\n"
		"* LSUB () \"/\" \"t/test7/test7\"\r\n"
		"* LSUB () \"/\" \"t/test8/test8\"\r\n"
		"* LSUB () \"/\" \"t/test8/test9\"\r\n"
		"c OK LSUB completed\r\n"
		"* LSUB () \"/\" \"t/test1\"\r\n"
		"* LSUB (\\Noselect) \"/\" \"t/test2\"\r\n"
		"* LSUB (\\Noselect) \"/\" \"t/test6\"\r\n"
		"* LSUB (\\Noselect) \"/\" \"t/test7\"\r\n"
		"* LSUB (\\Noselect) \"/\" \"t/test8\"\r\n"
		"d OK LSUB completed\r\n"
		"e OK LIST completed\r\n"
		"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"t/test1\"\r\n"
		"* LIST (\\HasChildren) \"/\" \"t/test2\"\r\n"
		"* LIST (\\HasNoChildren) \"/\" \"t/test3\"\r\n"
		"* LIST (\\Noselect \\HasChildren) \"/\" \"t/test4\"\r\n"
		"* LIST (\\Noselect \\HasChildren) \"/\" \"t/test7\"\r\n"
		"* LIST (\\Noselect \\HasChildren) \"/\" \"t/test8\"\r\n"
		"f OK LIST completed\r\n"
		"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\"\r\n"
		"g OK LIST completed\r\n";

	run_script(true, in, out, "");
}

/* RFC 5258 3.5: CHILDINFO on a returned name whose subscribed descendant
 * the command does not list; a descendant that is listed needs none
 * (imaptest "listext"). */
static void
test_childinfo(void)
{
	static const char in[] =
		"b LIST (SUBSCRIBED RECURSIVEMATCH) \"\" t/test2% RETURN (CHILDREN)\r\n"
		"c LIST (SUBSCRIBED RECURSIVEMATCH) \"\" t*test7\r\n"
		"d LIST (SUBSCRIBED RECURSIVEMATCH) \"\" t*test8\r\n"
		"e LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (t/test2)\r\n"
		"f LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (t/test2 t/test2/test1)\r\n"
		"g LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %\r\n"
		"h LIST (SUBSCRIBED) \"\" %\r\n";
	static const char out[] =
		"* LIST (\\HasChildren) \"/\" \"t/test2\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
		"b OK LIST completed\r\n"
		"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"t/test7/test7\"\r\n"
		"c OK LIST completed\r\n"
		/* no mailbox t/test8: \NonExistent (RFC 5258 3.5's table) */
		"* LIST (\\NonExistent \\HasChildren) \"/\" \"t/test8\""
		" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
		"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"t/test8/test8\"\r\n"
		"d OK LIST completed\r\n"
		"* LIST (\\HasChildren) \"/\" \"t/test2\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
		"e OK LIST completed\r\n"
		"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"t/test2/test1\"\r\n"
		"f OK LIST completed\r\n"
		"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\"\r\n"
		"* LIST (\\HasChildren) \"/\" \"t\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
		"g OK LIST completed\r\n"
		"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\"\r\n"
		"h OK LIST completed\r\n";

	run_script(true, in, out, "");
}

/* RFC 2342 5: the shared namespace holds other users' mailboxes; CREATE
 * and RENAME there are refused by the engine, in any case of the root, and
 * the glue never hears of them. DELETE and SUBSCRIBE go to the glue. */
static void
test_shared_namespace(void)
{
	static const char in[] =
		"b CREATE Shared/bob@example.org/x\r\n"
		"c CREATE shared\r\n"
		"d CREATE SHARED/x/\r\n"
		"e RENAME Work Shared/x\r\n"
		"f RENAME Shared/bob@example.org/x Work\r\n"
		"g CREATE SharedStuff\r\n"
		"h CREATE Work/Shared\r\n"
		"i RENAME Work Shared2\r\n"
		"j DELETE Shared/bob@example.org/x\r\n"
		"k SUBSCRIBE Shared/bob@example.org/x\r\n";
	static const char out[] =
		"b NO [CANNOT] Mailboxes cannot be created in the shared namespace\r\n"
		"c NO [CANNOT] Mailboxes cannot be created in the shared namespace\r\n"
		"d NO [CANNOT] Mailboxes cannot be created in the shared namespace\r\n"
		"e NO [CANNOT] Shared mailboxes cannot be renamed\r\n"
		"f NO [CANNOT] Shared mailboxes cannot be renamed\r\n"
		"g OK CREATE completed\r\n"
		"h OK CREATE completed\r\n"
		"i OK RENAME completed\r\n"
		"j OK DELETE completed\r\n"
		"k OK SUBSCRIBE completed\r\n";
	static const char hooks[] = "create SharedStuff\n"
				    "create Work/Shared\n"
				    "rename Work Shared2\n"
				    "delete Shared/bob@example.org/x\n"
				    "subscribe Shared/bob@example.org/x\n";

	run_script(true, in, out, hooks);
}

/* Without the shared namespace "Shared" is an ordinary name. */
static void
test_shared_namespace_off(void)
{
	static const char in[] = "b CREATE Shared/x\r\n"
				 "c RENAME Shared/x Shared/y\r\n"
				 "d NAMESPACE\r\n";
	static const char out[] = "b OK CREATE completed\r\n"
				  "c OK RENAME completed\r\n"
				  "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"
				  "d OK NAMESPACE completed\r\n";

	run_script(false, in, out, "create Shared/x\nrename Shared/x Shared/y\n");
}

static const struct test tests[] = {
	TEST_ENTRY(test_subscribed_gone),
	TEST_ENTRY(test_childinfo),
	TEST_ENTRY(test_shared_namespace),
	TEST_ENTRY(test_shared_namespace_off),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("imap-server-list", tests);
}
