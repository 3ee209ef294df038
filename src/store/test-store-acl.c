/*
 * test-store-acl.c - mailbox ACLs (store_acl_*, RFC 4314) on both backends:
 * rights validation and canonical form, entries, effective rights (owner,
 * account entry, "anyone", "authenticated"), the shared-mailbox listing,
 * removal with the mailbox and the account, and the SQLite upgrade from
 * schema version 3.
 */
#include "store/store-sqlite.h"
#include "store/test-store-util.h"

#include <sys/stat.h>

static void
test_rights_normalize(void)
{
	char out[STORE_ACL_RIGHTS_SIZE];
	const char *error = NULL;

	T_INTEQ(store_acl_rights_normalize("", out, &error), 0);
	T_STREQ(out, "");
	T_INTEQ(store_acl_rights_normalize("lrswipkxtea", out, &error), 0);
	T_STREQ(out, STORE_ACL_RIGHTS_ALL);
	T_INTEQ(store_acl_rights_normalize("rlrl", out, &error), 0);
	T_STREQ(out, "lr");
	/* RFC 4314 2.1.1: c = k x, d = e t x */
	T_INTEQ(store_acl_rights_normalize("c", out, &error), 0);
	T_STREQ(out, "kx");
	T_INTEQ(store_acl_rights_normalize("d", out, &error), 0);
	T_STREQ(out, "etx");
	T_INTEQ(store_acl_rights_normalize("lrcd", out, &error), 0);
	T_STREQ(out, "eklrtx");
	T_INTEQ(store_acl_rights_normalize("lrz", out, &error), -1);
	T_ASSERT(error != NULL && strstr(error, "'z'") != NULL);
	T_INTEQ(store_acl_rights_normalize("L", out, NULL), -1);
	T_INTEQ(store_acl_rights_normalize("0", out, NULL), -1);
	T_INTEQ(store_acl_rights_normalize("l r", out, NULL), -1);
	T_INTEQ(store_acl_rights_normalize("\x01", out, NULL), -1);
}

/* Two accounts, each with its default mailboxes. */
struct acl_fixture {
	uint64_t alice, bob, carol, alice_inbox, alice_sent;
};

static void
fixture(struct store *st, struct acl_fixture *f)
{
	f->alice = add_account(st, "Alice@example.com");
	f->bob = add_account(st, "bob@example.com");
	f->carol = add_account(st, "carol@example.org");
	f->alice_inbox = mailbox_id(st, f->alice, "INBOX");
	f->alice_sent = mailbox_id(st, f->alice, "Sent");
}

static void
rights_are(struct store *st, uint64_t mailbox, uint64_t account, const char *expect, int ret)
{
	char rights[STORE_ACL_RIGHTS_SIZE] = "junk";

	T_INTEQ(store_acl_rights(st, mailbox, account, rights, NULL), ret);
	T_STREQ(rights, expect);
}

static void
acl_entries(struct store *st, const char *dir)
{
	struct store_acl_entry *e = NULL;
	struct acl_fixture f;
	const char *error = NULL;
	size_t n = 0;

	fixture(st, &f);
	if (T_INTEQ(store_acl_get(st, f.alice_inbox, &e, &n, NULL), 1))
		T_INTEQ(n, 0);
	store_acl_list_free(&e, n);
	T_INTEQ(store_acl_set(st, f.alice_inbox, "BOB@example.com", "rl", &error), 1);
	T_INTEQ(store_acl_set(st, f.alice_inbox, "carol@example.org", "lrsc", NULL), 1);
	T_INTEQ(store_acl_set(st, f.alice_inbox, "Authenticated", "l", NULL), 1);
	T_INTEQ(store_acl_set(st, f.alice_inbox, "anyone", "r", NULL), 1);
	/* replacing */
	T_INTEQ(store_acl_set(st, f.alice_inbox, "bob@example.com", "lrw", NULL), 1);
	if (T_INTEQ(store_acl_get(st, f.alice_inbox, &e, &n, NULL), 1) && T_INTEQ(n, 4)) {
		T_STREQ(e[0].identifier, "anyone");
		T_INTEQ(e[0].account_id, 0);
		T_STREQ(e[0].rights, "r");
		T_STREQ(e[1].identifier, "authenticated");
		T_STREQ(e[1].rights, "l");
		T_STREQ(e[2].identifier, "bob@example.com");
		T_INTEQ(e[2].account_id, f.bob);
		T_STREQ(e[2].rights, "lrw");
		T_STREQ(e[3].identifier, "carol@example.org");
		T_STREQ(e[3].rights, "klrsx");
	}
	store_acl_list_free(&e, n);
	T_ASSERT(e == NULL);

	/* refusals */
	T_INTEQ(store_acl_set(st, f.alice_inbox, "bob@example.com", "lq", &error), -1);
	T_INTEQ(store_acl_set(st, f.alice_inbox, "-bob@example.com", "l", &error), -1);
	T_ASSERT(error != NULL && strstr(error, "negative") != NULL);
	T_INTEQ(store_acl_set(st, f.alice_inbox, "not an address", "l", NULL), -1);
	T_INTEQ(store_acl_set(st, f.alice_inbox, "nobody@example.com", "l", NULL), 0);
	T_INTEQ(store_acl_set(st, 999999, "bob@example.com", "l", NULL), 0);
	T_INTEQ(store_acl_get(st, 999999, &e, &n, NULL), 0);
	T_ASSERT(e == NULL && n == 0);

	/* empty rights remove; removing again is fine */
	T_INTEQ(store_acl_set(st, f.alice_inbox, "carol@example.org", "", NULL), 1);
	T_INTEQ(store_acl_set(st, f.alice_inbox, "carol@example.org", "", NULL), 1);
	T_INTEQ(store_acl_set(st, f.alice_inbox, "anyone", "", NULL), 1);
	if (T_INTEQ(store_acl_get(st, f.alice_inbox, &e, &n, NULL), 1) && T_INTEQ(n, 2)) {
		T_STREQ(e[0].identifier, "authenticated");
		T_STREQ(e[1].identifier, "bob@example.com");
	}
	store_acl_list_free(&e, n);
	(void)dir;
}
BOTH(acl_entries)

static void
acl_effective(struct store *st, const char *dir)
{
	struct acl_fixture f;

	fixture(st, &f);
	/* the owner has everything, even with entries naming it */
	rights_are(st, f.alice_inbox, f.alice, STORE_ACL_RIGHTS_ALL, 1);
	T_INTEQ(store_acl_set(st, f.alice_inbox, "alice@example.com", "l", NULL), 1);
	rights_are(st, f.alice_inbox, f.alice, STORE_ACL_RIGHTS_ALL, 1);
	/* nothing for others without entries */
	rights_are(st, f.alice_inbox, f.bob, "", 1);
	rights_are(st, f.alice_inbox, 0, "", 1);
	rights_are(st, 999999, f.bob, "", 0);

	T_INTEQ(store_acl_set(st, f.alice_inbox, "bob@example.com", "rs", NULL), 1);
	rights_are(st, f.alice_inbox, f.bob, "rs", 1);
	rights_are(st, f.alice_inbox, f.carol, "", 1);
	T_INTEQ(store_acl_set(st, f.alice_inbox, "authenticated", "lw", NULL), 1);
	rights_are(st, f.alice_inbox, f.bob, "lrsw", 1);
	rights_are(st, f.alice_inbox, f.carol, "lw", 1);
	rights_are(st, f.alice_inbox, 0, "", 1); /* not authenticated */
	T_INTEQ(store_acl_set(st, f.alice_inbox, "anyone", "li", NULL), 1);
	rights_are(st, f.alice_inbox, f.bob, "ilrsw", 1);
	rights_are(st, f.alice_inbox, f.carol, "ilw", 1);
	rights_are(st, f.alice_inbox, 0, "il", 1);
	/* other mailboxes are untouched */
	rights_are(st, f.alice_sent, f.bob, "", 1);
	(void)dir;
}
BOTH(acl_effective)

static void
acl_shared(struct store *st, const char *dir)
{
	struct store_acl_shared *sh = NULL;
	struct acl_fixture f;
	uint64_t bob_inbox;
	size_t n = 0;

	fixture(st, &f);
	bob_inbox = mailbox_id(st, f.bob, "INBOX");
	if (T_INTEQ(store_acl_shared_mailboxes(st, f.bob, &sh, &n, NULL), 1))
		T_INTEQ(n, 0);
	store_acl_shared_free(&sh, n);

	T_INTEQ(store_acl_set(st, f.alice_sent, "bob@example.com", "lr", NULL), 1);
	T_INTEQ(store_acl_set(st, f.alice_inbox, "bob@example.com", "r", NULL), 1); /* no l */
	T_INTEQ(store_acl_set(st, f.alice_inbox, "anyone", "l", NULL), 1);
	/* bob's own mailbox shared with everyone is not "shared" for bob */
	T_INTEQ(store_acl_set(st, bob_inbox, "authenticated", "lr", NULL), 1);
	T_INTEQ(store_acl_set(st, mailbox_id(st, f.carol, "Drafts"), "bob@example.com", "w", NULL),
		1);

	if (T_INTEQ(store_acl_shared_mailboxes(st, f.bob, &sh, &n, NULL), 1) && T_INTEQ(n, 2)) {
		T_INTEQ(sh[0].mailbox_id, f.alice_inbox);
		T_INTEQ(sh[0].owner_id, f.alice);
		T_STREQ(sh[0].owner, "Alice@example.com");
		T_STREQ(sh[0].name, "INBOX");
		T_STREQ(sh[0].rights, "lr");
		T_INTEQ(sh[1].mailbox_id, f.alice_sent);
		T_STREQ(sh[1].name, "Sent");
		T_STREQ(sh[1].rights, "lr");
	}
	store_acl_shared_free(&sh, n);
	T_ASSERT(sh == NULL);

	/* carol sees alice's INBOX (anyone) and bob's INBOX (authenticated) */
	if (T_INTEQ(store_acl_shared_mailboxes(st, f.carol, &sh, &n, NULL), 1) &&
	    T_INTEQ(n, 2)) {
		T_STREQ(sh[0].owner, "Alice@example.com");
		T_STREQ(sh[0].rights, "l");
		T_STREQ(sh[1].owner, "bob@example.com");
		T_INTEQ(sh[1].mailbox_id, bob_inbox);
		T_STREQ(sh[1].rights, "lr");
	}
	store_acl_shared_free(&sh, n);
	if (T_INTEQ(store_acl_shared_mailboxes(st, 0, &sh, &n, NULL), 1))
		T_INTEQ(n, 0);
	store_acl_shared_free(&sh, n);
	(void)dir;
}
BOTH(acl_shared)

static void
acl_cascade(struct store *st, const char *dir)
{
	struct store_acl_shared *sh = NULL;
	struct store_acl_entry *e = NULL;
	struct acl_fixture f;
	uint64_t bob_inbox, id;
	size_t n = 0;

	fixture(st, &f);
	bob_inbox = mailbox_id(st, f.bob, "INBOX");
	T_INTEQ(store_mailbox_create(st, f.alice, "Team", 0, &id, NULL), 1);
	T_INTEQ(store_acl_set(st, id, "bob@example.com", "lr", NULL), 1);
	T_INTEQ(store_acl_set(st, id, "anyone", "l", NULL), 1);
	T_INTEQ(store_acl_set(st, f.alice_inbox, "bob@example.com", "lr", NULL), 1);
	T_INTEQ(store_acl_set(st, f.alice_inbox, "carol@example.org", "lr", NULL), 1);
	T_INTEQ(store_acl_set(st, bob_inbox, "carol@example.org", "lr", NULL), 1);

	/* a deleted mailbox takes its entries along; a new one of the same
	 * name starts without any */
	T_INTEQ(store_mailbox_delete(st, f.alice, "Team", NULL), 1);
	T_INTEQ(store_acl_get(st, id, &e, &n, NULL), 0);
	T_INTEQ(store_mailbox_create(st, f.alice, "Team", 0, &id, NULL), 1);
	if (T_INTEQ(store_acl_get(st, id, &e, &n, NULL), 1))
		T_INTEQ(n, 0);
	store_acl_list_free(&e, n);

	/* a deleted account's entries go from other mailboxes */
	T_INTEQ(store_account_del(st, "bob@example.com", NULL), 1);
	if (T_INTEQ(store_acl_get(st, f.alice_inbox, &e, &n, NULL), 1) && T_INTEQ(n, 1))
		T_STREQ(e[0].identifier, "carol@example.org");
	store_acl_list_free(&e, n);
	/* and its own mailboxes' entries with them */
	if (T_INTEQ(store_acl_shared_mailboxes(st, f.carol, &sh, &n, NULL), 1) &&
	    T_INTEQ(n, 1))
		T_INTEQ(sh[0].mailbox_id, f.alice_inbox);
	store_acl_shared_free(&sh, n);
	/* a new account does not inherit anything */
	T_ASSERT(add_account(st, "bob@example.com") != 0);
	if (T_INTEQ(store_acl_get(st, f.alice_inbox, &e, &n, NULL), 1))
		T_INTEQ(n, 1);
	store_acl_list_free(&e, n);
	(void)dir;
}
BOTH(acl_cascade)

/* A version 3 database gets the acl table on open, keeps its data, ends up
 * with the schema of a new database, and its ACLs work and cascade. */
static void
test_sqlite_migrate_v3(void)
{
	char *dir = new_data_dir(), *fresh_dir = new_data_dir(), *text = NULL;
	char rights[STORE_ACL_RIGHTS_SIZE];
	struct store *st;

	if (!T_INTEQ(mkdir(dir, 0700), 0) || !T_INTEQ(db_exec(dir, sqlite_schema_v1_sql), 0) ||
	    !T_INTEQ(db_exec(dir, sqlite_schema_migrations[0]), 0) ||
	    !T_INTEQ(db_exec(dir, sqlite_schema_migrations[1]), 0) ||
	    !T_INTEQ(db_exec(dir,
			     "INSERT INTO schema_version VALUES (3);"
			     "INSERT INTO domains (id, name) VALUES (1, 'example.com');"
			     "INSERT INTO accounts (id, domain_id, address, address_key,"
			     " password_hash, uidvalidity_last)"
			     " VALUES (7, 1, 'a@example.com', 'a@example.com', '$y$a', 5),"
			     " (8, 1, 'b@example.com', 'b@example.com', '$y$b', 6);"
			     "INSERT INTO mailboxes (id, account_id, name, uidvalidity, subscribed)"
			     " VALUES (70, 7, 'INBOX', 5, 1), (80, 8, 'INBOX', 6, 1);"),
		     0))
		goto out;
	text = db_text(dir, "SELECT count(*) FROM sqlite_master WHERE name = 'acl'");
	T_STREQ(text, "0");
	mem_free(&text);
	if ((st = open_store("sqlite", dir)) == NULL)
		goto out;
	T_INTEQ(store_acl_set(st, 70, "b@example.com", "lr", NULL), 1);
	T_INTEQ(store_acl_rights(st, 70, 8, rights, NULL), 1);
	T_STREQ(rights, "lr");
	T_INTEQ(store_acl_rights(st, 70, 7, rights, NULL), 1);
	T_STREQ(rights, STORE_ACL_RIGHTS_ALL);
	store_close(&st);
	text = db_text(dir, "SELECT group_concat(version) FROM schema_version");
	T_STREQ(text, "7");
	mem_free(&text);
	text = db_text(dir, "SELECT rights FROM acl WHERE mailbox_id = 70 AND account_id = 8");
	T_STREQ(text, "lr");
	mem_free(&text);

	/* reopened: the entry is there and goes with the account */
	if ((st = open_store("sqlite", dir)) == NULL)
		goto out;
	T_INTEQ(store_acl_rights(st, 70, 8, rights, NULL), 1);
	T_STREQ(rights, "lr");
	T_INTEQ(store_account_del(st, "b@example.com", NULL), 1);
	store_close(&st);
	text = db_text(dir, "SELECT count(*) FROM acl");
	T_STREQ(text, "0");
	mem_free(&text);

	schema_check_as_new(dir, fresh_dir, "table acl:", NULL);
out:
	mem_free(&text);
	mem_free(&dir);
	mem_free(&fresh_dir);
}

static const struct test tests[] = {
	TEST_ENTRY(test_rights_normalize),
	TEST_ENTRY(acl_entries_mem),
	TEST_ENTRY(acl_entries_sqlite),
	TEST_ENTRY(acl_effective_mem),
	TEST_ENTRY(acl_effective_sqlite),
	TEST_ENTRY(acl_shared_mem),
	TEST_ENTRY(acl_shared_sqlite),
	TEST_ENTRY(acl_cascade_mem),
	TEST_ENTRY(acl_cascade_sqlite),
	TEST_ENTRY(test_sqlite_migrate_v3),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("store-acl", tests);
}
