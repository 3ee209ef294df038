/*
 * test-imap-server-objectid.c - the IMAP engine's OBJECTID (RFC 8474:
 * MAILBOXID in STATUS, LIST-STATUS and CREATE's OK) and LIST-MYRIGHTS (RFC
 * 8440) against a fake io and fake hooks.
 *
 * The fake hooks complete at once from inside the hook (synchronous) or
 * when the test, playing the event loop, completes them (deferred). Each
 * script runs after a LOGIN, whole and byte by byte, both ways: all must
 * give the same transcript. EMAILID/THREADID rendering is imap-fetch's
 * (test-imap-fetch.c); the ids themselves are the glue's.
 */
#include "imap/imap-server-private.h"
#include "imap/imap-server.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"

#include <stdio.h>
#include <string.h>

enum fx_op { FX_NONE, FX_AUTH, FX_LOGIN, FX_LIST, FX_STATUS, FX_CREATE, FX_DELETE };

struct fx {
	struct imap_server_session *s;
	struct buf out;
	bool deferred, no_acl;
	enum fx_op op;
	char name[300];
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

/* The user's mailboxes and their rights: own ones with all rights, a
 * shared one read-only, one without known rights, one subscribed but
 * gone (rights given but it does not exist: no MYRIGHTS), "Team" only a
 * parent. */
static const struct imap_mailbox_info fx_boxes[] = {
	{ "INBOX", 0, true, true },
	{ "Sent", IMAP_SPECIAL_USE_SENT, false, true },
	{ "Team/Plans", 0, false, true },
	{ "Shared/alice@example.org/Box", 0, false, true },
	{ "Unknown", 0, false, true },
	{ "Gone", 0, true, false },
};
static const char *const fx_rights[] = {
	"aeiklprstwx", "aeiklprstwx", "lrswi", "lrs", NULL, "lr",
};

static void
fx_complete_mailbox(struct fx *fx, enum fx_op op)
{
	struct imap_status_info st = { .messages = 3, .uidnext = 9, .uidvalidity = 42 };

	if (op == FX_LIST) {
		imap_server_list_done_rights(fx->s, fx_boxes, fx_rights, N_ELEMENTS(fx_boxes),
					     IMAP_MAILBOX_OK);
	} else if (op == FX_STATUS && strcmp(fx->name, "Unknown") == 0) {
		/* an id that is not an objectid is left out, never sent */
		imap_server_status_done_id(fx->s, &st, "bad id", IMAP_MAILBOX_OK);
	} else if (op == FX_STATUS && strcmp(fx->name, "Sent") == 0) {
		/* the old completion: no id */
		imap_server_status_done(fx->s, &st, IMAP_MAILBOX_OK);
	} else if (op == FX_STATUS && strcmp(fx->name, "Gone") == 0) {
		imap_server_status_done_id(fx->s, NULL, "Fgone", IMAP_MAILBOX_NONEXISTENT);
	} else if (op == FX_STATUS) {
		char id[64];

		/* a different id per mailbox: the name's length */
		snprintf(id, sizeof(id), "F%zu_x-y", strlen(fx->name));
		imap_server_status_done_id(fx->s, &st, id, IMAP_MAILBOX_OK);
	} else if (op == FX_CREATE && strcmp(fx->name, "old") == 0) {
		imap_server_mailbox_op_done(fx->s, IMAP_MAILBOX_OK, NULL);
	} else if (op == FX_CREATE && strcmp(fx->name, "exists") == 0) {
		imap_server_mailbox_op_done_id(fx->s, IMAP_MAILBOX_EXISTS, NULL, "Fx");
	} else if (op == FX_CREATE && strcmp(fx->name, "badid") == 0) {
		imap_server_mailbox_op_done_id(fx->s, IMAP_MAILBOX_OK, NULL, "F(1)");
	} else if (op == FX_CREATE) {
		imap_server_mailbox_op_done_id(fx->s, IMAP_MAILBOX_OK, NULL, "F00ab0042");
	} else {
		/* an id given to another op is not sent: RFC 8474 4.1 is CREATE's */
		imap_server_mailbox_op_done_id(fx->s, IMAP_MAILBOX_OK, NULL, "Fdel");
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
	else
		fx_complete_mailbox(fx, op);
}

static void
fx_begin_op(struct fx *fx, enum fx_op op, const char *name)
{
	if (fx->op != FX_NONE)
		fx->overlapping_hook = true;
	fx->op = op;
	snprintf(fx->name, sizeof(fx->name), "%s", name != NULL ? name : "");
	if (!fx->deferred)
		fx_complete(fx);
}

static void
fx_auth_lookup(void *ctx, struct imap_server_session *s, const char *mech, const char *authcid,
	       const char *password)
{
	fx_begin_op(ctx, FX_AUTH, NULL);
}

static void
fx_authenticated(void *ctx, struct imap_server_session *s, const char *user)
{
	fx_begin_op(ctx, FX_LOGIN, NULL);
}

static void
fx_disconnect(void *ctx, struct imap_server_session *s)
{
	struct fx *fx = ctx;

	fx->disconnect_calls++;
	fx->op = FX_NONE;
}

static void
fx_list(void *ctx, struct imap_server_session *s)
{
	fx_begin_op(ctx, FX_LIST, NULL);
}

static void
fx_status(void *ctx, struct imap_server_session *s, const char *name, unsigned items)
{
	fx_begin_op(ctx, FX_STATUS, name);
}

static void
fx_create(void *ctx, struct imap_server_session *s, const char *name, unsigned su)
{
	fx_begin_op(ctx, FX_CREATE, name);
}

static void
fx_delete(void *ctx, struct imap_server_session *s, const char *name)
{
	fx_begin_op(ctx, FX_DELETE, name);
}

static void
fx_rename(void *ctx, struct imap_server_session *s, const char *a, const char *b)
{
	fx_begin_op(ctx, FX_DELETE, a);
}

static void
fx_subscribe(void *ctx, struct imap_server_session *s, const char *name, bool on)
{
	fx_begin_op(ctx, FX_DELETE, name);
}

/* The selected-state hooks are needed for OBJECTID / LIST-MYRIGHTS to be
 * offered; these scripts never select. */
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

static void
fx_unused_acl(void *ctx, struct imap_server_session *s, enum imap_acl_op op, const char *name,
	      const char *identifier, const char *rights)
{
	T_ASSERT(false);
}

static const struct imap_server_io fx_io = { .write = fx_write, .close = fx_close };
static const struct imap_server_hooks fx_hooks = {
	.auth_lookup = fx_auth_lookup,
	.authenticated = fx_authenticated,
	.disconnect = fx_disconnect,
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
	if (fx->s == NULL)
		return;
	imap_server_session_input(fx->s, (const uint8_t *)data, len);
	while (fx->op != FX_NONE && fx->s != NULL)
		fx_complete(fx);
}

/* A logged-in session; the greeting and the LOGIN reply are kept in
 * *login_r when login_r != NULL, then dropped. */
static struct fx *
fx_new(bool deferred, bool no_acl, char **login_r)
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
	fx->deferred = deferred;
	fx->no_acl = no_acl;
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
	sh.acl = no_acl ? NULL : fx_unused_acl;
	imap_server_session_set_selected_hooks(fx->s, &sh);
	imap_server_session_start(fx->s);
	fx_input(fx, login, sizeof(login) - 1);
	T_ASSERT(strstr(buf_cstr(&fx->out), "a OK ") != NULL);
	if (login_r != NULL)
		*login_r = mem_strdup(buf_cstr(&fx->out));
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
	mem_free(&fx);
}

/* Run in whole, then byte by byte, synchronous and deferred. */
static void
run_script(bool no_acl, const char *in, const char *out)
{
	size_t len = strlen(in);

	for (int deferred = 0; deferred <= 1; deferred++) {
		for (int bytewise = 0; bytewise <= 1; bytewise++) {
			struct fx *fx = fx_new(deferred, no_acl, NULL);

			if (bytewise) {
				for (size_t i = 0; i < len; i++)
					fx_input(fx, in + i, 1);
			} else {
				fx_input(fx, in, len);
			}
			if (!T_STREQ(buf_cstr(&fx->out), out))
				fprintf(stderr, "  deferred %d bytewise %d\n", deferred, bytewise);
			fx_free(fx);
		}
	}
}

static void
test_objectid_valid(void)
{
	char id[300];

	T_ASSERT(imap_server_objectid_valid("F00ab0042"));
	T_ASSERT(imap_server_objectid_valid("_-aZ9"));
	T_ASSERT(imap_server_objectid_valid("M"));
	T_ASSERT(!imap_server_objectid_valid(NULL));
	T_ASSERT(!imap_server_objectid_valid(""));
	T_ASSERT(!imap_server_objectid_valid("a b"));
	T_ASSERT(!imap_server_objectid_valid("F(1)"));
	T_ASSERT(!imap_server_objectid_valid("a.b"));
	T_ASSERT(!imap_server_objectid_valid("\xc3\xbc"));
	memset(id, 'x', sizeof(id));
	id[255] = '\0';
	T_ASSERT(imap_server_objectid_valid(id));
	id[255] = 'x';
	id[256] = '\0';
	T_ASSERT(!imap_server_objectid_valid(id));
}

/* RFC 8474 4.2 (STATUS), 4.1 (CREATE). */
static void
test_mailboxid(void)
{
	static const char in[] =
		"b STATUS INBOX (UIDNEXT MAILBOXID)\r\n"
		"c status Team/Plans (mailboxid)\r\n"
		"d STATUS Unknown (MESSAGES MAILBOXID)\r\n"
		"e STATUS Sent (MAILBOXID MESSAGES)\r\n"
		"f STATUS Gone (MAILBOXID)\r\n"
		"g STATUS INBOX (MAILBOXID BOGUS)\r\n"
		"h CREATE Projects\r\n"
		"i CREATE old\r\n"
		"j CREATE exists\r\n"
		"k CREATE badid\r\n"
		"l DELETE Projects\r\n"
		"m RENAME a b\r\n";
	static const char out[] =
		"* STATUS \"INBOX\" (UIDNEXT 9 MAILBOXID (F5_x-y))\r\n"
		"b OK STATUS completed\r\n"
		"* STATUS \"Team/Plans\" (MAILBOXID (F10_x-y))\r\n"
		"c OK STATUS completed\r\n"
		"* STATUS \"Unknown\" (MESSAGES 3)\r\n"
		"d OK STATUS completed\r\n"
		"* STATUS \"Sent\" (MESSAGES 3)\r\n"
		"e OK STATUS completed\r\n"
		"f NO [NONEXISTENT] Mailbox does not exist\r\n"
		"g BAD Invalid STATUS items\r\n"
		"h OK [MAILBOXID (F00ab0042)] CREATE completed\r\n"
		"i OK CREATE completed\r\n"
		"j NO [ALREADYEXISTS] Mailbox already exists\r\n"
		"k OK CREATE completed\r\n"
		"l OK DELETE completed\r\n"
		"m OK RENAME completed\r\n";

	run_script(false, in, out);
}

/* RFC 8440 3: MYRIGHTS after each existing mailbox's LIST line, before its
 * STATUS line; none for parents, \NonExistent ones or unknown rights. */
static void
test_list_myrights(void)
{
	static const char in[] =
		"b LIST \"\" \"*\" RETURN (MYRIGHTS)\r\n"
		"c LIST \"\" \"%\" RETURN (STATUS (MAILBOXID) MYRIGHTS)\r\n"
		"d LIST (SUBSCRIBED) \"\" \"*\" RETURN (MYRIGHTS)\r\n"
		"e LIST \"\" \"Sent\"\r\n";
	static const char out[] =
		"* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
		"* MYRIGHTS \"INBOX\" \"aeiklprstwxcd\"\r\n"
		"* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n"
		"* MYRIGHTS \"Sent\" \"aeiklprstwxcd\"\r\n"
		"* LIST (\\HasNoChildren) \"/\" \"Shared/alice@example.org/Box\"\r\n"
		"* MYRIGHTS \"Shared/alice@example.org/Box\" \"lrs\"\r\n"
		"* LIST (\\HasNoChildren) \"/\" \"Team/Plans\"\r\n"
		"* MYRIGHTS \"Team/Plans\" \"ilrsw\"\r\n"
		"* LIST (\\HasNoChildren) \"/\" \"Unknown\"\r\n"
		"b OK LIST completed\r\n"
		"* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n"
		"* MYRIGHTS \"INBOX\" \"aeiklprstwxcd\"\r\n"
		"* STATUS \"INBOX\" (MAILBOXID (F5_x-y))\r\n"
		"* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n"
		"* MYRIGHTS \"Sent\" \"aeiklprstwxcd\"\r\n"
		"* STATUS \"Sent\" ()\r\n"
		"* LIST (\\Noselect \\HasChildren) \"/\" \"Shared\"\r\n"
		"* LIST (\\Noselect \\HasChildren) \"/\" \"Team\"\r\n"
		"* LIST (\\HasNoChildren) \"/\" \"Unknown\"\r\n"
		"* STATUS \"Unknown\" ()\r\n"
		"c OK LIST completed\r\n"
		"* LIST (\\NonExistent \\Subscribed) \"/\" \"Gone\"\r\n"
		"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\"\r\n"
		"* MYRIGHTS \"INBOX\" \"aeiklprstwxcd\"\r\n"
		"d OK LIST completed\r\n"
		"* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\n"
		"e OK LIST completed\r\n";

	run_script(false, in, out);
}

/* Without the ACL hook there is no LIST-MYRIGHTS: the option is unknown. */
static void
test_list_myrights_absent(void)
{
	static const char in[] = "b LIST \"\" \"*\" RETURN (MYRIGHTS)\r\n";
	static const char out[] = "b BAD Invalid LIST arguments\r\n";

	run_script(true, in, out);
}

static void
test_capabilities(void)
{
	char *login;
	struct fx *fx = fx_new(false, false, &login);

	T_ASSERT(strstr(login, " OBJECTID") != NULL);
	T_ASSERT(strstr(login, " LIST-MYRIGHTS") != NULL);
	mem_free(&login);
	fx_free(fx);
	fx = fx_new(false, true, &login);
	T_ASSERT(strstr(login, " OBJECTID") != NULL);
	T_ASSERT(strstr(login, "LIST-MYRIGHTS") == NULL);
	mem_free(&login);
	fx_free(fx);
}

static const struct test tests[] = {
	TEST_ENTRY(test_objectid_valid),
	TEST_ENTRY(test_mailboxid),
	TEST_ENTRY(test_list_myrights),
	TEST_ENTRY(test_list_myrights_absent),
	TEST_ENTRY(test_capabilities),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("imap-server-objectid", tests);
}
