/*
 * test-store.c - the store API against both backends ("mem" and "sqlite"),
 * through the same test functions, plus SQLite-only checks: persistence
 * across reopen, schema upgrades from version 1, garbage collection, and
 * crash safety (a child delivering in a loop is SIGKILLed; every message it
 * reported must be intact). The outbound queue has its own program,
 * test-store-queue.c; helpers shared by both are in test-store-util.h.
 *
 * `test-store --bench` instead measures group commit: 1, 4 and 16 threads
 * each delivering 200 small messages, printing deliveries per second and
 * the number of index commits. Benchmarks are not tests: nothing is timed
 * in the test run.
 */
#include "store/store.h"
#include "store/store-sqlite.h"
#include "store/test-store-util.h"

#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * Domains, accounts, aliases
 */
static void
t_domains(struct store *st, const char *dir)
{
	struct store_domain d, *list;
	const char *error = NULL;
	size_t n;

	T_INTEQ(store_domain_add(st, "Example.COM", &error), 1);
	T_INTEQ(store_domain_add(st, "example.com", &error), 0);
	T_INTEQ(store_domain_add(st, "b.example", &error), 1);
	T_INTEQ(store_domain_add(st, "", &error), -1);
	T_INTEQ(store_domain_add(st, "a..b", &error), -1);
	T_INTEQ(store_domain_add(st, "-a.example", &error), -1);
	T_INTEQ(store_domain_add(st, "a b.example", &error), -1);
	T_INTEQ(store_domain_lookup(st, "bad domain", &d, &error), 0);
	T_INTEQ(store_domain_lookup(st, "nope.example", &d, &error), 0);
	if (T_INTEQ(store_domain_lookup(st, "EXAMPLE.com", &d, &error), 1)) {
		T_STREQ(d.name, "example.com");
		T_ASSERT(d.catchall == NULL);
	}
	store_domain_deinit(&d);
	T_INTEQ(store_domain_set_catchall(st, "example.COM", "Postmaster@example.com", &error), 1);
	T_INTEQ(store_domain_set_catchall(st, "nope.example", "x@example.com", &error), 0);
	T_INTEQ(store_domain_set_catchall(st, "example.com", "not an address", &error), -1);
	if (T_INTEQ(store_domain_lookup(st, "example.com", &d, &error), 1))
		T_STREQ(d.catchall, "Postmaster@example.com");
	store_domain_deinit(&d);
	T_INTEQ(store_domain_set_catchall(st, "example.com", NULL, &error), 1);
	if (T_INTEQ(store_domain_lookup(st, "example.com", &d, NULL), 1))
		T_ASSERT(d.catchall == NULL);
	store_domain_deinit(&d);
	if (T_INTEQ(store_domain_list(st, &list, &n, &error), 1) && T_INTEQ(n, 2)) {
		T_STREQ(list[0].name, "b.example");
		T_STREQ(list[1].name, "example.com");
	}
	store_domain_list_free(&list, n);
	T_INTEQ(store_domain_del(st, "nope.example", &error), 0);
	T_INTEQ(store_domain_del(st, "B.example", &error), 1);
	T_INTEQ(store_domain_lookup(st, "b.example", &d, NULL), 0);
}
BOTH(t_domains)

/* SCRAM secrets as the SASL code might make them; opaque to the store. */
#define SCRAM1 "SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVkS2V5$c2VydmVyS2V5"
#define SCRAM2 "SCRAM-SHA-256$4096:bmV3$bmV3U3RvcmVk$bmV3U2VydmVy"

static void
t_accounts(struct store *st, const char *dir)
{
	struct store_account a, *list;
	struct store_mailbox *boxes;
	const char *error = NULL;
	char long_secret[STORE_SCRAM_SECRET_MAX + 2];
	uint64_t id = 0;
	size_t n;

	T_INTEQ(store_domain_add(st, "example.com", &error), 1);
	T_INTEQ(store_domain_add(st, "other.example", &error), 1);
	T_INTEQ(store_account_add(st, "Alice@EXAMPLE.com", "$y$one", SCRAM1, &id, &error), 1);
	T_ASSERT(id != 0);
	T_INTEQ(store_account_add(st, "alice@example.com", "$y$two", NULL, NULL, &error), 0);
	T_INTEQ(store_account_add(st, "bob@other.example", "$y$bob", NULL, NULL, &error), 1);
	T_INTEQ(store_account_add(st, "carol@missing.example", "$y$x", NULL, NULL, &error), -1);
	T_ASSERT(error != NULL && strstr(error, "missing.example") != NULL);
	T_INTEQ(store_account_add(st, "no-at-sign", "$y$x", NULL, NULL, &error), -1);
	T_INTEQ(store_account_add(st, "sp ace@example.com", "$y$x", NULL, NULL, &error), -1);
	T_INTEQ(store_account_add(st, "carol@example.com", "$y$x", "", NULL, &error), -1);
	T_INTEQ(store_account_add(st, "carol@example.com", "$y$x", "a\nb", NULL, &error), -1);
	memset(long_secret, 'x', sizeof(long_secret) - 1);
	long_secret[sizeof(long_secret) - 1] = '\0';
	T_INTEQ(store_account_add(st, "carol@example.com", "$y$x", long_secret, NULL, &error), -1);
	T_INTEQ(store_account_lookup(st, "carol@example.com", &a, &error), 0);
	if (T_INTEQ(store_account_lookup(st, "ALICE@example.COM", &a, &error), 1)) {
		T_INTEQ(a.id, id);
		T_STREQ(a.address, "Alice@example.com");
		T_STREQ(a.password_hash, "$y$one");
		T_STREQ(a.scram_secret, SCRAM1);
		T_INTEQ(a.quota_bytes, 0);
		T_INTEQ(a.quota_messages, 0);
	}
	store_account_deinit(&a);
	T_ASSERT(a.password_hash == NULL && a.scram_secret == NULL);
	if (T_INTEQ(store_account_lookup(st, "bob@other.example", &a, &error), 1))
		T_ASSERT(a.scram_secret == NULL);
	store_account_deinit(&a);
	/* a new password without a SCRAM secret drops the old one */
	T_INTEQ(store_account_set_password(st, "alice@example.com", "$y$new", NULL, &error), 1);
	T_INTEQ(store_account_set_password(st, "nobody@example.com", "$y$new", NULL, &error), 0);
	T_INTEQ(store_account_set_password(st, "alice@example.com", "$y$new", "\x01", &error), -1);
	if (T_INTEQ(store_account_lookup(st, "alice@example.com", &a, &error), 1)) {
		T_STREQ(a.password_hash, "$y$new");
		T_ASSERT(a.scram_secret == NULL);
	}
	store_account_deinit(&a);
	T_INTEQ(store_account_set_password(st, "alice@example.com", "$y$3", SCRAM2, &error), 1);
	if (T_INTEQ(store_account_lookup(st, "alice@example.com", &a, &error), 1)) {
		T_STREQ(a.password_hash, "$y$3");
		T_STREQ(a.scram_secret, SCRAM2);
	}
	store_account_deinit(&a);
	T_INTEQ(store_account_lookup(st, "not valid", &a, &error), 0);
	if (T_INTEQ(store_account_list(st, NULL, &list, &n, &error), 1) && T_INTEQ(n, 2)) {
		T_STREQ(list[0].address, "Alice@example.com");
		T_STREQ(list[0].scram_secret, SCRAM2);
		T_STREQ(list[1].address, "bob@other.example");
		T_ASSERT(list[1].scram_secret == NULL);
	}
	store_account_list_free(&list, n);
	if (T_INTEQ(store_account_list(st, "OTHER.example", &list, &n, &error), 1) && T_INTEQ(n, 1))
		T_STREQ(list[0].address, "bob@other.example");
	store_account_list_free(&list, n);
	T_INTEQ(store_account_list(st, "missing.example", &list, &n, &error), 1);
	T_INTEQ(n, 0);
	store_account_list_free(&list, n);
	T_INTEQ(store_domain_del(st, "example.com", &error), -1);
	T_ASSERT(error != NULL && strstr(error, "account") != NULL);
	T_INTEQ(store_account_del(st, "aLiCe@example.com", &error), 1);
	T_INTEQ(store_account_del(st, "alice@example.com", &error), 0);
	T_INTEQ(store_account_lookup(st, "alice@example.com", &a, &error), 0);
	T_INTEQ(store_mailbox_list(st, id, &boxes, &n, &error), 0);
	T_INTEQ(store_domain_del(st, "example.com", &error), 1);
}
BOTH(t_accounts)

static void
t_aliases(struct store *st, const char *dir)
{
	struct store_alias *list;
	const char *error = NULL;
	char **targets;
	size_t n;

	T_INTEQ(store_domain_add(st, "example.com", &error), 1);
	T_INTEQ(store_domain_add(st, "list.example", &error), 1);
	T_INTEQ(store_alias_add(st, "Info@Example.com", "bob@other.org", &error), 1);
	T_INTEQ(store_alias_add(st, "info@example.com", "alice@example.com", &error), 1);
	T_INTEQ(store_alias_add(st, "INFO@example.com", "bob@other.org", &error), 0);
	T_INTEQ(store_alias_add(st, "x@missing.example", "bob@other.org", &error), -1);
	T_INTEQ(store_alias_add(st, "x@example.com", "not an address", &error), -1);
	T_INTEQ(store_alias_add(st, "all@list.example", "alice@example.com", &error), 1);
	if (T_INTEQ(store_alias_lookup(st, "iNFo@EXAMPLE.COM", &targets, &n, &error), 1) &&
	    T_INTEQ(n, 2)) {
		T_STREQ(targets[0], "alice@example.com");
		T_STREQ(targets[1], "bob@other.org");
	}
	store_alias_targets_free(&targets, n);
	T_INTEQ(store_alias_lookup(st, "nobody@example.com", &targets, &n, &error), 0);
	T_INTEQ(n, 0);
	if (T_INTEQ(store_alias_list(st, NULL, &list, &n, &error), 1) && T_INTEQ(n, 3)) {
		T_STREQ(list[0].source, "all@list.example");
		/* each row keeps the spelling its source was added with */
		T_STREQ(list[1].source, "info@example.com");
		T_STREQ(list[1].target, "alice@example.com");
		T_STREQ(list[2].source, "Info@example.com");
		T_STREQ(list[2].target, "bob@other.org");
	}
	store_alias_list_free(&list, n);
	T_INTEQ(store_alias_list(st, "example.com", &list, &n, &error), 1);
	T_INTEQ(n, 2);
	store_alias_list_free(&list, n);
	T_INTEQ(store_alias_del(st, "info@example.com", "bob@other.org", &error), 1);
	T_INTEQ(store_alias_del(st, "info@example.com", "bob@other.org", &error), 0);
	if (T_INTEQ(store_alias_lookup(st, "info@example.com", &targets, &n, &error), 1) &&
	    T_INTEQ(n, 1))
		T_STREQ(targets[0], "alice@example.com");
	store_alias_targets_free(&targets, n);
	T_INTEQ(store_alias_add(st, "info@example.com", "carol@other.org", &error), 1);
	T_INTEQ(store_alias_del(st, "INFO@example.com", NULL, &error), 1);
	T_INTEQ(store_alias_lookup(st, "info@example.com", &targets, &n, &error), 0);
	/* deleting a domain takes its aliases along */
	T_INTEQ(store_domain_del(st, "list.example", &error), 1);
	T_INTEQ(store_alias_list(st, NULL, &list, &n, &error), 1);
	T_INTEQ(n, 0);
	store_alias_list_free(&list, n);
}
BOTH(t_aliases)

/* Sender addresses for submission: own address and direct alias sources
 * only (no catch-all, no alias of an alias, no subaddress targets). */
static void
t_send_as(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "Alice@example.com"), b = add_account(st, "bob@example.com");
	const char *error = NULL;

	T_INTEQ(store_alias_add(st, "info@example.com", "ALICE@Example.COM", &error), 1);
	T_INTEQ(store_alias_add(st, "team@example.com", "alice@example.com", &error), 1);
	T_INTEQ(store_alias_add(st, "team@example.com", "bob@example.com", &error), 1);
	T_INTEQ(store_alias_add(st, "ext@example.com", "alice@other.example", &error), 1);
	T_INTEQ(store_alias_add(st, "nested@example.com", "team@example.com", &error), 1);
	T_INTEQ(store_alias_add(st, "sub@example.com", "alice+sub@example.com", &error), 1);
	T_INTEQ(store_domain_set_catchall(st, "example.com", "alice@example.com", &error), 1);

	T_INTEQ(store_account_may_send_as(st, a, "alice@example.com", &error), 1);
	T_INTEQ(store_account_may_send_as(st, a, "ALICE@EXAMPLE.COM", &error), 1);
	T_INTEQ(store_account_may_send_as(st, a, "Info@example.com", &error), 1);
	T_INTEQ(store_account_may_send_as(st, a, "team@example.com", &error), 1);
	T_INTEQ(store_account_may_send_as(st, b, "TEAM@example.com", &error), 1);
	T_INTEQ(store_account_may_send_as(st, b, "bob@example.com", &error), 1);
	T_INTEQ(store_account_may_send_as(st, b, "info@example.com", &error), 0);
	T_INTEQ(store_account_may_send_as(st, b, "alice@example.com", &error), 0);
	T_INTEQ(store_account_may_send_as(st, a, "bob@example.com", &error), 0);
	T_INTEQ(store_account_may_send_as(st, a, "ext@example.com", &error), 0);
	T_INTEQ(store_account_may_send_as(st, a, "nested@example.com", &error), 0);
	T_INTEQ(store_account_may_send_as(st, a, "sub@example.com", &error), 0);
	T_INTEQ(store_account_may_send_as(st, a, "alice+sub@example.com", &error), 0);
	T_INTEQ(store_account_may_send_as(st, a, "anyone@example.com", &error), 0); /* catch-all */
	T_INTEQ(store_account_may_send_as(st, a, "alice@other.example", &error), 0);
	T_INTEQ(store_account_may_send_as(st, a, "not an address", &error), 0);
	T_INTEQ(store_account_may_send_as(st, a, "", &error), 0);
	T_INTEQ(store_account_may_send_as(st, 999999, "alice@example.com", &error), 0);
	T_INTEQ(store_account_may_send_as(st, 0, "alice@example.com", &error), 0);
	/* rights go with the alias */
	T_INTEQ(store_alias_del(st, "team@example.com", "bob@example.com", &error), 1);
	T_INTEQ(store_account_may_send_as(st, b, "team@example.com", &error), 0);
	T_INTEQ(store_account_may_send_as(st, a, "team@example.com", &error), 1);
}
BOTH(t_send_as)

/*
 * Mailboxes
 */
static void
t_special_use(struct store *st, const char *dir)
{
	static const struct {
		const char *name;
		unsigned special_use;
	} expect[] = {
		{ "Archive", STORE_SPECIAL_USE_ARCHIVE }, { "Drafts", STORE_SPECIAL_USE_DRAFTS },
		{ "INBOX", 0 },				  { "Junk", STORE_SPECIAL_USE_JUNK },
		{ "Sent", STORE_SPECIAL_USE_SENT },	  { "Trash", STORE_SPECIAL_USE_TRASH },
	};
	uint64_t account = add_account(st, "alice@example.com");
	struct store_mailbox *list, m;
	uint32_t inbox_uidvalidity = 0;
	size_t n;

	if (T_INTEQ(store_mailbox_list(st, account, &list, &n, NULL), 1) && T_INTEQ(n, 6)) {
		for (size_t i = 0; i < n; i++) {
			T_STREQ(list[i].name, expect[i].name);
			T_INTEQ(list[i].special_use, expect[i].special_use);
			T_ASSERT(list[i].subscribed);
			T_INTEQ(list[i].account_id, account);
			T_INTEQ(list[i].uidnext, 1);
			T_INTEQ(list[i].highest_modseq, 0);
			T_INTEQ(list[i].messages, 0);
			T_ASSERT(list[i].uidvalidity != 0);
			for (size_t k = 0; k < i; k++)
				T_ASSERT(list[k].uidvalidity != list[i].uidvalidity);
			if (strcmp(list[i].name, "INBOX") == 0)
				inbox_uidvalidity = list[i].uidvalidity;
		}
	}
	store_mailbox_list_free(&list, n);
	if (T_INTEQ(store_mailbox_lookup(st, account, "inbox", &m, NULL), 1)) {
		T_STREQ(m.name, "INBOX");
		T_INTEQ(m.uidvalidity, inbox_uidvalidity);
	}
	store_mailbox_deinit(&m);
	T_INTEQ(store_mailbox_lookup(st, account, "sent", &m, NULL), 0); /* only INBOX folds */
	T_INTEQ(store_mailbox_list(st, account + 1000, &list, &n, NULL), 0);
}
BOTH(t_special_use)

static void
t_mailbox_ops(struct store *st, const char *dir)
{
	uint64_t account = add_account(st, "alice@example.com");
	struct store_mailbox m;
	const char *error = NULL;
	uint32_t old_uidvalidity = 0;
	uint64_t id = 0;

	T_INTEQ(store_mailbox_create(st, account, "Work", 0, &id, &error), 1);
	T_ASSERT(id != 0);
	T_INTEQ(store_mailbox_create(st, account, "Work", 0, NULL, &error), 0);
	T_INTEQ(store_mailbox_create(st, account, "Work/Projekte \xc3\xa4",
				     STORE_SPECIAL_USE_FLAGGED, NULL, &error),
		1);
	T_INTEQ(store_mailbox_create(st, account + 1000, "Work", 0, NULL, &error), -1);
	T_INTEQ(store_mailbox_create(st, account, "", 0, NULL, &error), -1);
	T_INTEQ(store_mailbox_create(st, account, "a//b", 0, NULL, &error), -1);
	T_INTEQ(store_mailbox_create(st, account, "/a", 0, NULL, &error), -1);
	T_INTEQ(store_mailbox_create(st, account, "a*", 0, NULL, &error), -1);
	T_INTEQ(store_mailbox_create(st, account, "bad\xff", 0, NULL, &error), -1);
	T_INTEQ(store_mailbox_create(st, account, "x", 0x1000, NULL, &error), -1);
	if (T_INTEQ(store_mailbox_lookup(st, account, "Work", &m, &error), 1)) {
		T_INTEQ(m.id, id);
		T_ASSERT(!m.subscribed);
		old_uidvalidity = m.uidvalidity;
	}
	store_mailbox_deinit(&m);
	T_INTEQ(store_mailbox_set_subscribed(st, account, "Work", true, &error), 1);
	T_INTEQ(store_mailbox_set_subscribed(st, account, "Nope", true, &error), 0);
	T_INTEQ(store_mailbox_rename(st, account, "Work", "Jobs", &error), 1);
	T_INTEQ(store_mailbox_lookup(st, account, "Work", &m, &error), 0);
	if (T_INTEQ(store_mailbox_lookup(st, account, "Jobs", &m, &error), 1)) {
		T_INTEQ(m.id, id);
		T_INTEQ(m.uidvalidity, old_uidvalidity);
		T_ASSERT(m.subscribed);
	}
	store_mailbox_deinit(&m);
	if (T_INTEQ(store_mailbox_lookup(st, account, "Jobs/Projekte \xc3\xa4", &m, &error), 1))
		T_INTEQ(m.special_use, STORE_SPECIAL_USE_FLAGGED);
	store_mailbox_deinit(&m);
	T_INTEQ(store_mailbox_rename(st, account, "Nope", "Other", &error), 0);
	T_INTEQ(store_mailbox_rename(st, account, "Jobs", "Sent", &error), -1);
	T_INTEQ(store_mailbox_rename(st, account, "Jobs", "Jobs/Sub", &error), -1);
	T_INTEQ(store_mailbox_rename(st, account, "INBOX", "Sent", &error), -1);
	T_INTEQ(store_mailbox_delete(st, account, "inbox", &error), -1);
	T_INTEQ(store_mailbox_delete(st, account, "Jobs", &error), 1);
	T_INTEQ(store_mailbox_delete(st, account, "Jobs", &error), 0);
	T_INTEQ(store_mailbox_lookup(st, account, "Jobs/Projekte \xc3\xa4", &m, &error), 1);
	store_mailbox_deinit(&m);
	/* a re-created name gets a new, greater UIDVALIDITY (RFC 9051 2.3.1.1) */
	T_INTEQ(store_mailbox_create(st, account, "Jobs", 0, NULL, &error), 1);
	if (T_INTEQ(store_mailbox_lookup(st, account, "Jobs", &m, &error), 1))
		T_ASSERT(m.uidvalidity > old_uidvalidity);
	store_mailbox_deinit(&m);
}
BOTH(t_mailbox_ops)

static char *db_text(const char *dir, const char *sql);

/* The subscriptions as one string, "a,b,c" in list order. */
static char *
subscriptions_text(struct store *st, uint64_t account)
{
	struct buf b;
	char **names;
	size_t n;

	buf_init(&b, 0);
	if (T_INTEQ(store_subscription_list(st, account, &names, &n, NULL), 1)) {
		for (size_t i = 0; i < n; i++)
			(void)buf_printf(&b, "%s%s", i > 0 ? "," : "", names[i]);
		store_subscription_list_free(&names, n);
	}
	return buf_steal_str(&b);
}

#define T_SUBSCRIPTIONS(st, account, want)                   \
	do {                                                 \
		char *t_subs = subscriptions_text(st, account); \
		T_STREQ(t_subs, want);                       \
		mem_free(&t_subs);                           \
	} while (0)

/* RFC 9051 6.3.5, 6.3.7: subscriptions are names and outlive mailboxes. */
static void
t_subscriptions(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "alice@example.com"), b = add_account(st, "bob@example.com");
	struct store_mailbox m;
	const char *error = NULL;
	char **names = NULL;
	size_t n = 0;

	/* an account's first mailboxes start subscribed */
	T_SUBSCRIPTIONS(st, a, "Archive,Drafts,INBOX,Junk,Sent,Trash");
	T_INTEQ(store_subscription_list(st, a + b + 1000, &names, &n, &error), 0);
	T_ASSERT(names == NULL && n == 0);
	T_INTEQ(store_mailbox_create(st, a, "Work", 0, NULL, &error), 1);
	T_INTEQ(store_mailbox_create(st, a, "Work/Gone", 0, NULL, &error), 1);
	T_INTEQ(store_mailbox_create(st, a, "Work/X", 0, NULL, &error), 1);
	T_INTEQ(store_mailbox_create(st, a, "Jobs/X", 0, NULL, &error), 1);
	/* subscribing needs the mailbox; twice is fine */
	T_INTEQ(store_mailbox_set_subscribed(st, a, "Nope", true, &error), 0);
	T_INTEQ(store_mailbox_set_subscribed(st, b, "Work", true, &error), 0);
	T_INTEQ(store_mailbox_set_subscribed(st, a, "Work", true, &error), 1);
	T_INTEQ(store_mailbox_set_subscribed(st, a, "Work", true, &error), 1);
	T_INTEQ(store_mailbox_set_subscribed(st, a, "Work/Gone", true, &error), 1);
	T_INTEQ(store_mailbox_set_subscribed(st, a, "Work/X", true, &error), 1);
	T_INTEQ(store_mailbox_set_subscribed(st, a, "Jobs/X", true, &error), 1);
	if (T_INTEQ(store_mailbox_lookup(st, a, "Work/Gone", &m, &error), 1))
		T_ASSERT(m.subscribed);
	store_mailbox_deinit(&m);
	/* DELETE leaves the name subscribed (RFC 3501 6.3.6) */
	T_INTEQ(store_mailbox_delete(st, a, "Work/Gone", &error), 1);
	T_INTEQ(store_mailbox_delete(st, a, "Jobs/X", &error), 1);
	T_SUBSCRIPTIONS(st, a, "Archive,Drafts,INBOX,Jobs/X,Junk,Sent,Trash,Work,Work/Gone,Work/X");
	/* a mailbox created again under a subscribed name is subscribed */
	T_INTEQ(store_mailbox_create(st, a, "Work/Gone", 0, NULL, &error), 1);
	if (T_INTEQ(store_mailbox_lookup(st, a, "Work/Gone", &m, &error), 1))
		T_ASSERT(m.subscribed);
	store_mailbox_deinit(&m);
	T_INTEQ(store_mailbox_delete(st, a, "Work/Gone", &error), 1);
	/* RENAME moves the subtree's subscriptions, gone names included;
	 * Work/X merges into the Jobs/X that is subscribed already */
	T_INTEQ(store_mailbox_rename(st, a, "Work", "Jobs", &error), 1);
	T_SUBSCRIPTIONS(st, a, "Archive,Drafts,INBOX,Jobs,Jobs/Gone,Jobs/X,Junk,Sent,Trash");
	if (T_INTEQ(store_mailbox_lookup(st, a, "Jobs/X", &m, &error), 1))
		T_ASSERT(m.subscribed);
	store_mailbox_deinit(&m);
	/* a name that is no mailbox can be unsubscribed, once */
	T_INTEQ(store_mailbox_set_subscribed(st, a, "Jobs/Gone", false, &error), 1);
	T_INTEQ(store_mailbox_set_subscribed(st, a, "Jobs/Gone", false, &error), 0);
	T_INTEQ(store_mailbox_set_subscribed(st, a, "Nope", false, &error), 0);
	/* INBOX in any case; other accounts untouched */
	T_INTEQ(store_mailbox_set_subscribed(st, a, "inbox", false, &error), 1);
	T_SUBSCRIPTIONS(st, a, "Archive,Drafts,Jobs,Jobs/X,Junk,Sent,Trash");
	T_SUBSCRIPTIONS(st, b, "Archive,Drafts,INBOX,Junk,Sent,Trash");
	/* renaming INBOX moves messages, not subscriptions */
	T_INTEQ(store_mailbox_set_subscribed(st, a, "INBOX", true, &error), 1);
	T_INTEQ(store_mailbox_rename(st, a, "INBOX", "Old", &error), 1);
	T_SUBSCRIPTIONS(st, a, "Archive,Drafts,INBOX,Jobs,Jobs/X,Junk,Sent,Trash");
	/* deleting the account drops its subscriptions */
	T_INTEQ(store_account_del(st, "alice@example.com", &error), 1);
	T_INTEQ(store_subscription_list(st, a, &names, &n, &error), 0);
	T_SUBSCRIPTIONS(st, b, "Archive,Drafts,INBOX,Junk,Sent,Trash");
	if (dir != NULL) {
		char *count = db_text(dir, "SELECT count(*) FROM subscriptions");

		T_STREQ(count, "6");
		mem_free(&count);
	}
}
BOTH(t_subscriptions)

/*
 * Delivery and messages
 */
static void
t_deliver_three(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "alice@example.com"), b = add_account(st, "bob@example.com");
	uint64_t archive = mailbox_id(st, a, "Archive"), inbox_a = mailbox_id(st, a, "INBOX");
	struct store_delivery_target t[3] = { { a, 0, 0, 0, NULL },
					      { b, 0, STORE_FLAG_SEEN, 0, NULL },
					      { a, archive, 0, 1234567890, NULL } };
	struct store_delivery_result r[3], r2;
	struct store_message *msgs;
	struct store_mailbox m;
	const char *error = NULL;
	const char *text = "Subject: hello\r\n\r\nbody\r\n";
	char *body;
	size_t n;

	T_INTEQ(deliver_text(st, text, t, 3, r, &error), 1);
	T_INTEQ(r[0].mailbox_id, inbox_a);
	T_INTEQ(r[1].mailbox_id, mailbox_id(st, b, "INBOX"));
	T_INTEQ(r[2].mailbox_id, archive);
	T_INTEQ(r[0].uid, 1);
	T_INTEQ(r[1].uid, 1);
	T_INTEQ(r[2].uid, 1);
	T_INTEQ(r[0].modseq, 1);
	T_INTEQ(deliver1(st, a, "second\r\n", &r2), 1);
	T_INTEQ(r2.uid, 2);
	T_INTEQ(r2.modseq, 2);
	if (T_INTEQ(store_message_list(st, inbox_a, NULL, &msgs, &n, &error), 1) && T_INTEQ(n, 2)) {
		T_INTEQ(msgs[0].uid, 1);
		T_INTEQ(msgs[1].uid, 2);
		T_INTEQ(msgs[0].size, strlen(text));
		T_INTEQ(msgs[0].flags, 0);
		T_ASSERT(msgs[0].keywords == NULL);
		T_ASSERT(msgs[0].internaldate > 1600000000);
		T_ASSERT(msgs[0].savedate >= msgs[0].internaldate);
		T_ASSERT(strcmp(msgs[0].blob_id, msgs[1].blob_id) != 0);
		if (dir != NULL)
			T_ASSERT(blob_file_exists(dir, msgs[0].blob_id));
	}
	store_message_list_free(&msgs, n);
	/* one body, three messages */
	if (T_INTEQ(store_message_list(st, r[1].mailbox_id, NULL, &msgs, &n, &error), 1) &&
	    T_INTEQ(n, 1))
		T_INTEQ(msgs[0].flags, STORE_FLAG_SEEN);
	store_message_list_free(&msgs, n);
	if (T_INTEQ(store_message_list(st, archive, NULL, &msgs, &n, &error), 1) && T_INTEQ(n, 1))
		T_INTEQ(msgs[0].internaldate, 1234567890);
	store_message_list_free(&msgs, n);
	if (dir != NULL)
		T_INTEQ(count_files(dir, "blobs"), 2);
	body = read_body(st, archive, 1);
	T_STREQ(body, text);
	mem_free(&body);
	T_ASSERT(read_body(st, archive, 2) == NULL);
	if (T_INTEQ(store_mailbox_lookup(st, a, "INBOX", &m, &error), 1)) {
		T_INTEQ(m.uidnext, 3);
		T_INTEQ(m.highest_modseq, 2);
		T_INTEQ(m.messages, 2);
		T_INTEQ(m.size, strlen(text) + strlen("second\r\n"));
	}
	store_mailbox_deinit(&m);
}
BOTH(t_deliver_three)

static void
t_expunge(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "alice@example.com"), b = add_account(st, "bob@example.com");
	struct store_delivery_target t[3] = { { a, 0, 0, 0, NULL },
					      { b, 0, 0, 0, NULL },
					      { b, 0, 0, 0, NULL } };
	struct store_delivery_result r[3];
	struct store_message *msgs;
	struct store_mailbox m;
	const char *error = NULL;
	char blob_id[STORE_BLOB_ID_LEN + 1] = "";
	uint32_t uids[2];
	uint64_t size;
	size_t n;
	int fd = -1;
	char buf[64];

	T_INTEQ(deliver_text(st, "shared body", t, 3, r, &error), 1);
	T_INTEQ(r[1].uid, 1);
	T_INTEQ(r[2].uid, 2); /* the same mailbox twice: two messages */
	if (T_INTEQ(store_message_list(st, r[0].mailbox_id, NULL, &msgs, &n, &error), 1) &&
	    T_INTEQ(n, 1))
		memcpy(blob_id, msgs[0].blob_id, sizeof(blob_id));
	store_message_list_free(&msgs, n);
	T_INTEQ(store_message_open(st, r[0].mailbox_id, 1, &fd, &size, &error), 1);
	T_INTEQ(store_message_expunge(st, r[0].mailbox_id, &r[0].uid, 1, &error), 1);
	if (dir != NULL)
		T_ASSERT(blob_file_exists(dir, blob_id));
	T_ASSERT(read_body(st, r[0].mailbox_id, 1) == NULL);
	if (T_INTEQ(store_mailbox_lookup(st, a, "INBOX", &m, &error), 1)) {
		T_INTEQ(m.messages, 0);
		T_INTEQ(m.size, 0);
		T_INTEQ(m.highest_modseq, 2);
		T_INTEQ(m.uidnext, 2);
	}
	store_mailbox_deinit(&m);
	uids[0] = 1;
	uids[1] = 2;
	T_INTEQ(store_message_expunge(st, r[1].mailbox_id, uids, 2, &error), 1);
	if (dir != NULL)
		T_ASSERT(!blob_file_exists(dir, blob_id));
	/* an open body stays readable after its last expunge */
	if (T_ASSERT(fd >= 0)) {
		T_INTEQ(read(fd, buf, sizeof(buf)), 11);
		T_INTEQ(size, 11);
		close(fd);
	}
	T_INTEQ(store_message_expunge(st, r[1].mailbox_id, uids, 2, &error), 1);
	T_INTEQ(store_message_expunge(st, 999999, uids, 2, &error), 0);
	if (T_INTEQ(store_mailbox_lookup(st, b, "INBOX", &m, &error), 1)) {
		T_INTEQ(m.messages, 0);
		T_INTEQ(m.highest_modseq, 3);
		T_INTEQ(m.uidnext, 3); /* UIDs are never reused */
	}
	store_mailbox_deinit(&m);
	if (dir != NULL)
		T_INTEQ(count_files(dir, "blobs"), 0);
}
BOTH(t_expunge)

static const struct store_message *
find_uid(const struct store_message *msgs, size_t n, uint32_t uid)
{
	for (size_t i = 0; i < n; i++) {
		if (msgs[i].uid == uid)
			return &msgs[i];
	}
	return NULL;
}

static void
t_flags(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "alice@example.com");
	struct store_delivery_target t = { a, 0, STORE_FLAG_SEEN, 0, NULL };
	struct store_flag_change add = { STORE_FLAGS_ADD, STORE_FLAG_FLAGGED, "$Forwarded Work",
					 0 };
	struct store_flag_change del = { STORE_FLAGS_REMOVE, STORE_FLAG_SEEN, "work", 0 };
	struct store_flag_change set = { STORE_FLAGS_REPLACE, STORE_FLAG_DRAFT, "a b a", 0 };
	struct store_flag_change bad = { STORE_FLAGS_ADD, 0, "\\Seen", 0 };
	struct store_message_query q = { 0, 0, 0, false };
	struct store_delivery_result r[3];
	struct store_message *msgs;
	const struct store_message *m1;
	const char *error = NULL;
	uint32_t uids[2] = { 1, 42 };
	size_t n;

	for (int i = 0; i < 3; i++)
		T_INTEQ(deliver_text(st, "x", &t, 1, &r[i], &error), 1);
	T_INTEQ(store_message_set_flags(st, r[0].mailbox_id, uids, 2, &add, NULL, NULL, &error), 1);
	T_INTEQ(store_message_set_flags(st, r[0].mailbox_id, uids, 2, &add, NULL, NULL, &error), 1);
	T_INTEQ(store_message_set_flags(st, r[0].mailbox_id, uids, 1, &bad, NULL, NULL, &error),
		-1);
	bad.keywords = "paren(";
	T_INTEQ(store_message_set_flags(st, r[0].mailbox_id, uids, 1, &bad, NULL, NULL, &error),
		-1);
	T_INTEQ(store_message_set_flags(st, 999999, uids, 1, &add, NULL, NULL, &error), 0);
	q.changed_since = 3;
	if (T_INTEQ(store_message_list(st, r[0].mailbox_id, &q, &msgs, &n, &error), 1) &&
	    T_INTEQ(n, 1)) {
		T_INTEQ(msgs[0].uid, 1);
		T_INTEQ(msgs[0].flags, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
		T_STREQ(msgs[0].keywords, "$Forwarded Work");
		T_INTEQ(msgs[0].modseq, 4); /* the repeated change changed nothing */
	}
	store_message_list_free(&msgs, n);
	T_INTEQ(store_message_set_flags(st, r[0].mailbox_id, uids, 1, &del, NULL, NULL, &error), 1);
	uids[0] = 2;
	T_INTEQ(store_message_set_flags(st, r[0].mailbox_id, uids, 1, &set, NULL, NULL, &error), 1);
	q.changed_since = 0;
	q.uid_first = 1;
	q.uid_last = 2;
	if (T_INTEQ(store_message_list(st, r[0].mailbox_id, &q, &msgs, &n, &error), 1) &&
	    T_INTEQ(n, 2)) {
		m1 = find_uid(msgs, n, 1);
		T_INTEQ(m1->flags, STORE_FLAG_FLAGGED);
		T_STREQ(m1->keywords, "$Forwarded");
		T_INTEQ(m1->modseq, 5);
		T_INTEQ(msgs[1].flags, STORE_FLAG_DRAFT);
		T_STREQ(msgs[1].keywords, "a b");
		T_INTEQ(msgs[1].modseq, 6);
	}
	store_message_list_free(&msgs, n);
	set.keywords = NULL;
	T_INTEQ(store_message_set_flags(st, r[0].mailbox_id, uids, 1, &set, NULL, NULL, &error), 1);
	q.uid_first = 2;
	if (T_INTEQ(store_message_list(st, r[0].mailbox_id, &q, &msgs, &n, &error), 1) &&
	    T_INTEQ(n, 1))
		T_ASSERT(msgs[0].keywords == NULL);
	store_message_list_free(&msgs, n);
}
BOTH(t_flags)

static void
keyword_list(char *buf, size_t size, char prefix, int count)
{
	buf[0] = '\0';
	for (int i = 0; i < count; i++)
		snprintf(buf + strlen(buf), size - strlen(buf), "%c%d ", prefix, i);
}

/* Keyword limits, and a failing change leaves every message as it was. */
static void
t_keyword_limits(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "alice@example.com");
	struct store_flag_change change = { STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0 };
	struct store_delivery_result r[2];
	struct store_message *msgs;
	char list[600];
	uint32_t uids[2] = { 1, 2 };
	size_t n;

	T_INTEQ(deliver1(st, a, "one", &r[0]), 1);
	T_INTEQ(deliver1(st, a, "two", &r[1]), 1);
	keyword_list(list, sizeof(list), 'k', STORE_KEYWORDS_MAX + 1);
	change.keywords = list;
	T_INTEQ(store_message_set_flags(st, r[0].mailbox_id, uids, 2, &change, NULL, NULL, NULL),
		-1);
	keyword_list(list, sizeof(list), 'k', 40);
	T_INTEQ(store_message_set_flags(st, r[0].mailbox_id, uids, 1, &change, NULL, NULL, NULL),
		1);
	/* 40 more would give message 1 over 64: neither message changes */
	keyword_list(list, sizeof(list), 'm', 40);
	T_INTEQ(store_message_set_flags(st, r[0].mailbox_id, uids, 2, &change, NULL, NULL, NULL),
		-1);
	if (T_INTEQ(store_message_list(st, r[0].mailbox_id, NULL, &msgs, &n, NULL), 1) &&
	    T_INTEQ(n, 2)) {
		T_INTEQ(msgs[0].flags, STORE_FLAG_SEEN);
		T_ASSERT(msgs[0].keywords != NULL && strstr(msgs[0].keywords, "k39") != NULL &&
			 strstr(msgs[0].keywords, "m0") == NULL);
		T_INTEQ(msgs[0].modseq, 3);
		T_INTEQ(msgs[1].flags, 0);
		T_ASSERT(msgs[1].keywords == NULL);
		T_INTEQ(msgs[1].modseq, 2);
	}
	store_message_list_free(&msgs, n);
}
BOTH(t_keyword_limits)

static void
t_failed_delivery(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "alice@example.com"), b = add_account(st, "bob@example.com");
	struct store_delivery_target bad_account[2] = { { a, 0, 0, 0, NULL },
							{ 999999, 0, 0, 0, NULL } };
	struct store_delivery_target foreign_box[2] = {
		{ a, 0, 0, 0, NULL }, { a, mailbox_id(st, b, "Sent"), 0, 0, NULL }
	};
	struct store_delivery_result r[2];
	struct store_blob *blob;
	struct store_mailbox m;
	const char *error = NULL;

	T_INTEQ(deliver_text(st, "doomed", bad_account, 2, r, &error), -1);
	T_ASSERT(error != NULL && strstr(error, "999999") != NULL);
	T_INTEQ(deliver_text(st, "doomed", foreign_box, 2, r, &error), -1);
	T_INTEQ(deliver_text(st, "doomed", foreign_box, 0, r, &error), -1);
	if (T_INTEQ(store_mailbox_lookup(st, a, "INBOX", &m, &error), 1)) {
		T_INTEQ(m.messages, 0);
		T_INTEQ(m.uidnext, 1);
		T_INTEQ(m.highest_modseq, 0);
	}
	store_mailbox_deinit(&m);
	T_INTEQ(store_blob_begin(st, &blob, &error), 1);
	T_INTEQ(store_blob_write(blob, "abc", 3), 0);
	T_INTEQ(store_blob_size(blob), 3);
	if (dir != NULL)
		T_INTEQ(count_files(dir, "tmp"), 1);
	store_blob_abort(&blob);
	T_ASSERT(blob == NULL);
	if (dir != NULL) {
		T_INTEQ(count_files(dir, "blobs"), 0);
		T_INTEQ(count_files(dir, "tmp"), 0);
	}
	/* the store still works after the failures */
	T_INTEQ(deliver1(st, a, "fine", &r[0]), 1);
	T_INTEQ(r[0].uid, 1);
}
BOTH(t_failed_delivery)

static void
t_account_delete(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "alice@example.com"), b = add_account(st, "bob@example.com");
	struct store_delivery_target t[2] = { { a, 0, 0, 0, NULL }, { b, 0, 0, 0, NULL } };
	struct store_delivery_result r[2];
	struct store_message *msgs;
	const char *error = NULL;
	char *body;
	size_t n;

	T_INTEQ(deliver_text(st, "for both", t, 2, r, &error), 1);
	T_INTEQ(deliver1(st, a, "alice only", &r[0]), 1);
	T_INTEQ(store_account_del(st, "alice@example.com", &error), 1);
	T_INTEQ(store_message_list(st, r[0].mailbox_id, NULL, &msgs, &n, &error), 0);
	body = read_body(st, r[1].mailbox_id, 1);
	T_STREQ(body, "for both");
	mem_free(&body);
	if (dir != NULL)
		T_INTEQ(count_files(dir, "blobs"), 1);
	T_INTEQ(store_account_del(st, "bob@example.com", &error), 1);
	if (dir != NULL)
		T_INTEQ(count_files(dir, "blobs"), 0);
	T_INTEQ(store_domain_del(st, "example.com", &error), 1);
}
BOTH(t_account_delete)

/*
 * Concurrency
 */
#define CONC_THREADS 8
#define CONC_MESSAGES 50

#define CONC_BAD_THREADS 2

struct conc_ctx {
	struct store *st;
	uint64_t a, b;
	int thread;
	int failures;
};

/* Threads numbered CONC_THREADS and up deliver to a missing account: they
 * share commit batches with the others and must fail alone. */
static void *
conc_thread(void *arg)
{
	struct conc_ctx *ctx = arg;
	struct store_delivery_target t[2] = { { ctx->a, 0, 0, 0, NULL },
					      { ctx->b, 0, 0, 0, NULL } };
	struct store_delivery_result r[2];
	const char *error;
	char text[64];

	if (ctx->thread >= CONC_THREADS)
		t[1].account_id = 999999;
	for (int i = 0; i < CONC_MESSAGES; i++) {
		snprintf(text, sizeof(text), "thread %d message %d\r\n", ctx->thread, i);
		if (deliver_text(ctx->st, text, t, 2, r, &error) != 1)
			ctx->failures++;
	}
	return NULL;
}

/* Every message present once, UIDs 1..N. */
static void
conc_check_mailbox(struct store *st, uint64_t mailbox)
{
	bool seen[CONC_THREADS][CONC_MESSAGES] = { { false } };
	struct store_message *msgs;
	size_t n;

	if (!T_INTEQ(store_message_list(st, mailbox, NULL, &msgs, &n, NULL), 1) ||
	    !T_INTEQ(n, CONC_THREADS * CONC_MESSAGES))
		return;
	for (size_t i = 0; i < n; i++) {
		char *body = read_body(st, mailbox, msgs[i].uid);
		int th = -1, k = -1;

		T_INTEQ(msgs[i].uid, i + 1);
		T_INTEQ(msgs[i].modseq, i + 1);
		if (T_ASSERT(body != NULL) &&
		    T_INTEQ(sscanf(body, "thread %d message %d", &th, &k), 2) &&
		    T_ASSERT(th >= 0 && th < CONC_THREADS && k >= 0 && k < CONC_MESSAGES)) {
			T_ASSERT(!seen[th][k]);
			seen[th][k] = true;
		}
		mem_free(&body);
	}
	store_message_list_free(&msgs, n);
}

static void
t_concurrent(struct store *st, const char *dir)
{
	struct conc_ctx ctx[CONC_THREADS + CONC_BAD_THREADS];
	pthread_t threads[CONC_THREADS + CONC_BAD_THREADS];
	uint64_t a = add_account(st, "alice@example.com"), b = add_account(st, "bob@example.com");

	for (int i = 0; i < CONC_THREADS + CONC_BAD_THREADS; i++) {
		ctx[i] = (struct conc_ctx){ st, a, b, i, 0 };
		T_INTEQ(pthread_create(&threads[i], NULL, conc_thread, &ctx[i]), 0);
	}
	for (int i = 0; i < CONC_THREADS + CONC_BAD_THREADS; i++) {
		pthread_join(threads[i], NULL);
		T_INTEQ(ctx[i].failures, i < CONC_THREADS ? 0 : CONC_MESSAGES);
	}
	conc_check_mailbox(st, mailbox_id(st, a, "INBOX"));
	conc_check_mailbox(st, mailbox_id(st, b, "INBOX"));
	if (dir != NULL) {
		T_INTEQ(count_files(dir, "blobs"), CONC_THREADS * CONC_MESSAGES);
		T_INTEQ(count_files(dir, "tmp"), 0);
	}
}
BOTH(t_concurrent)
/*
 * SQLite only: persistence, garbage collection, crash safety
 */
static void
test_sqlite_reopen(void)
{
	char *dir = new_data_dir();
	struct store *st = open_store("sqlite", dir);
	struct store_flag_change seen = { STORE_FLAGS_ADD, STORE_FLAG_SEEN, "$Junk", 0 };
	struct store_mailbox before, after;
	struct store_message *msgs;
	struct store_delivery_result r;
	struct store_account acc;
	struct store_domain dom;
	uint32_t uid2 = 2;
	uint64_t a;
	char **targets;
	char *body;
	size_t n;

	if (st == NULL)
		goto out;
	a = add_account(st, "Alice@example.com");
	for (int i = 0; i < 3; i++)
		T_INTEQ(deliver1(st, a, i == 2 ? "third" : "other", &r), 1);
	T_INTEQ(store_message_expunge(st, r.mailbox_id, &uid2, 1, NULL), 1);
	T_INTEQ(store_message_set_flags(st, r.mailbox_id, &r.uid, 1, &seen, NULL, NULL, NULL), 1);
	T_INTEQ(store_alias_add(st, "info@example.com", "Alice@example.com", NULL), 1);
	T_INTEQ(store_domain_set_catchall(st, "example.com", "alice@example.com", NULL), 1);
	T_INTEQ(store_mailbox_lookup(st, a, "INBOX", &before, NULL), 1);
	store_close(&st);

	if ((st = open_store("sqlite", dir)) == NULL)
		goto out;
	if (T_INTEQ(store_account_lookup(st, "alice@EXAMPLE.com", &acc, NULL), 1))
		T_INTEQ(acc.id, a);
	store_account_deinit(&acc);
	if (T_INTEQ(store_mailbox_lookup(st, a, "INBOX", &after, NULL), 1)) {
		T_INTEQ(after.id, before.id);
		T_INTEQ(after.uidvalidity, before.uidvalidity);
		T_INTEQ(after.uidnext, 4);
		T_INTEQ(after.highest_modseq, before.highest_modseq);
		T_INTEQ(after.messages, 2);
	}
	store_mailbox_deinit(&after);
	if (T_INTEQ(store_message_list(st, before.id, NULL, &msgs, &n, NULL), 1) && T_INTEQ(n, 2)) {
		T_INTEQ(msgs[0].uid, 1);
		T_INTEQ(msgs[1].uid, 3);
		T_INTEQ(msgs[1].flags, STORE_FLAG_SEEN);
		T_STREQ(msgs[1].keywords, "$Junk");
	}
	store_message_list_free(&msgs, n);
	body = read_body(st, before.id, 3);
	T_STREQ(body, "third");
	mem_free(&body);
	T_INTEQ(deliver1(st, a, "fourth", &r), 1);
	T_INTEQ(r.uid, 4);
	T_INTEQ(r.modseq, before.highest_modseq + 1);
	T_INTEQ(store_alias_lookup(st, "INFO@example.com", &targets, &n, NULL), 1);
	store_alias_targets_free(&targets, n);
	if (T_INTEQ(store_domain_lookup(st, "example.com", &dom, NULL), 1))
		T_STREQ(dom.catchall, "alice@example.com");
	store_domain_deinit(&dom);
	store_mailbox_deinit(&before);
	store_close(&st);
out:
	mem_free(&dir);
}

/* A database as the first release left it is upgraded on open, keeps its
 * data, and ends up with exactly the schema of a new one. */
static void
test_sqlite_migrate(void)
{
	char *dir = new_data_dir(), *fresh_dir = new_data_dir(), *text = NULL;
	struct store_settings set = { "sqlite", NULL };
	struct store_delivery_result r;
	struct store_queue_entry e;
	struct store_account acc;
	const char *error = NULL;
	struct store *st;

	if (!T_INTEQ(mkdir(dir, 0700), 0) || !T_INTEQ(db_exec(dir, sqlite_schema_v1_sql), 0) ||
	    !T_INTEQ(db_exec(dir,
			     "INSERT INTO schema_version VALUES (1);"
			     "INSERT INTO domains (id, name) VALUES (1, 'example.com');"
			     "INSERT INTO accounts (id, domain_id, address, address_key,"
			     " password_hash, uidvalidity_last)"
			     " VALUES (7, 1, 'Old@example.com', 'old@example.com', '$y$old', 5);"
			     "INSERT INTO mailboxes (account_id, name, uidvalidity, subscribed)"
			     " VALUES (7, 'INBOX', 5, 1);"),
		     0))
		goto out;
	if ((st = open_store("sqlite", dir)) == NULL)
		goto out;
	if (T_INTEQ(store_account_lookup(st, "OLD@example.com", &acc, NULL), 1)) {
		T_INTEQ(acc.id, 7);
		T_STREQ(acc.address, "Old@example.com");
		T_STREQ(acc.password_hash, "$y$old");
		T_ASSERT(acc.scram_secret == NULL);
	}
	store_account_deinit(&acc);
	if (T_INTEQ(deliver1(st, 7, "after the upgrade", &r), 1))
		T_INTEQ(r.uid, 1);
	/* schema 6 copied mailboxes.subscribed into the subscriptions table */
	T_SUBSCRIPTIONS(st, 7, "INBOX");
	T_INTEQ(store_account_set_password(st, "old@example.com", "$y$new", SCRAM1, NULL), 1);
	T_INTEQ(queue1(st, "M1", "queued after the upgrade"), 1);
	store_close(&st);
	text = db_text(dir, "SELECT group_concat(version) FROM schema_version");
	T_STREQ(text, "7");
	mem_free(&text);

	/* reopening an upgraded database changes nothing */
	if ((st = open_store("sqlite", dir)) == NULL)
		goto out;
	if (T_INTEQ(store_account_lookup(st, "old@example.com", &acc, NULL), 1))
		T_STREQ(acc.scram_secret, SCRAM1);
	store_account_deinit(&acc);
	T_INTEQ(store_queue_get(st, "M1", &e, NULL), 1);
	store_queue_entry_deinit(&e);
	text = read_body(st, r.mailbox_id, 1);
	T_STREQ(text, "after the upgrade");
	mem_free(&text);
	store_close(&st);

	schema_check_as_new(dir, fresh_dir, "scram_secret", "queue_rcpts");
	mem_free(&text);

	/* a database from a newer program is refused and left alone */
	T_INTEQ(db_exec(dir, "UPDATE schema_version SET version = 99"), 0);
	set.data_dir = dir;
	T_INTEQ(store_open(&set, &st, &error), -1);
	T_ASSERT(error != NULL && strstr(error, "99") != NULL);
	text = db_text(dir, "SELECT group_concat(version) FROM schema_version");
	T_STREQ(text, "99");
	mem_free(&text);
out:
	mem_free(&dir);
	mem_free(&fresh_dir);
}

static void
write_file(const char *dir, const char *rel, const char *text, time_t age)
{
	char path[600];
	struct timespec times[2];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!T_ASSERT(fd >= 0))
		return;
	T_INTEQ(write(fd, text, strlen(text)), strlen(text));
	close(fd);
	clock_gettime(CLOCK_REALTIME, &times[0]);
	times[0].tv_sec -= age;
	times[1] = times[0];
	T_INTEQ(utimensat(AT_FDCWD, path, times, 0), 0);
}

/* A pid that is not running (a child that has exited and been reaped). */
static pid_t
dead_pid(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

static void
test_sqlite_gc(void)
{
	char *dir = new_data_dir();
	struct store *st = open_store("sqlite", dir);
	const char *orphan_old = "ab/ab000000000000000000000000000001";
	const char *orphan_new = "cd/cd000000000000000000000000000002";
	struct store_gc_result res;
	struct store_delivery_result r;
	char name[64], *body;
	uint64_t a;

	if (st == NULL)
		goto out;
	a = add_account(st, "alice@example.com");
	T_INTEQ(deliver1(st, a, "keep me", &r), 1);
	snprintf(name, sizeof(name), "blobs/%s", orphan_old);
	write_file(dir, name, "old orphan", 7200);
	snprintf(name, sizeof(name), "blobs/%s", orphan_new);
	write_file(dir, name, "new", 0);
	snprintf(name, sizeof(name), "tmp/%ld.%s", (long)dead_pid(), "0123");
	write_file(dir, name, "dead writer", 0);
	snprintf(name, sizeof(name), "tmp/%ld.%s", (long)getpid(), "4567");
	write_file(dir, name, "live writer", 0);
	T_INTEQ(count_files(dir, "blobs"), 3);

	T_INTEQ(store_gc(st, STORE_GC_GRACE_DEFAULT, &res, NULL), 1);
	T_INTEQ(res.blobs_removed, 1);
	T_INTEQ(res.bytes_removed, strlen("old orphan"));
	T_INTEQ(res.tmp_removed, 1);
	T_INTEQ(count_files(dir, "blobs"), 2);
	T_INTEQ(count_files(dir, "tmp"), 1);

	T_INTEQ(store_gc(st, 0, &res, NULL), 1);
	T_INTEQ(res.blobs_removed, 1);
	T_INTEQ(res.tmp_removed, 1);
	T_INTEQ(count_files(dir, "blobs"), 1);
	T_INTEQ(count_files(dir, "tmp"), 0);
	body = read_body(st, r.mailbox_id, r.uid);
	T_STREQ(body, "keep me");
	mem_free(&body);
	store_close(&st);
out:
	mem_free(&dir);
}

static void
test_open_errors(void)
{
	struct store_settings set = { "sqlite", NULL };
	struct store *st = NULL;
	const char *error = NULL;
	char path[600];

	T_INTEQ(store_open(&set, &st, &error), -1);
	T_ASSERT(st == NULL && error != NULL);
	set.backend = "nosuch";
	T_INTEQ(store_open(&set, &st, &error), -1);
	T_ASSERT(error != NULL && strstr(error, "nosuch") != NULL);
	snprintf(path, sizeof(path), "%s/missing/parent", test_tmpdir());
	set.backend = NULL;
	set.data_dir = path;
	T_INTEQ(store_open(&set, &st, &error), -1);
}

/* Crash safety: every message the child reported delivered is there, exact. */
static void
crash_verify(struct store *st, uint64_t inbox, const char *report)
{
	char expect[4096];
	unsigned checked = 0;
	int thread, i;
	unsigned uid;
	int used;

	for (const char *p = report; sscanf(p, "%d %d %u\n%n", &thread, &i, &uid, &used) == 3;
	     p += used) {
		char *body = read_body(st, inbox, uid);

		crash_body(thread, i, expect, sizeof(expect));
		if (!T_STREQ(body, expect))
			fprintf(stderr, "  message %d/%d uid %u lost or damaged\n", thread, i, uid);
		mem_free(&body);
		checked++;
	}
	T_ASSERT(checked >= CRASH_LINES);
}

static void
test_sqlite_crash(void)
{
	char *dir = new_data_dir(), *report = NULL;
	struct store *st = open_store("sqlite", dir);
	struct store_message *msgs;
	uint64_t account, inbox;
	size_t n;

	if (st == NULL)
		goto out;
	account = add_account(st, "alice@example.com");
	inbox = mailbox_id(st, account, "INBOX");
	store_close(&st);
	report = crash_run_child(dir, account);
	if (report != NULL && (st = open_store("sqlite", dir)) != NULL) {
		T_INTEQ(count_files(dir, "tmp"), 0); /* the dead writer's files went on open */
		crash_verify(st, inbox, report);
		/* nothing referenced is missing */
		if (T_INTEQ(store_message_list(st, inbox, NULL, &msgs, &n, NULL), 1)) {
			for (size_t i = 0; i < n; i++) {
				char *body = read_body(st, inbox, msgs[i].uid);

				T_ASSERT(body != NULL);
				mem_free(&body);
			}
		}
		store_message_list_free(&msgs, n);
		store_close(&st);
	}
	mem_free(&report);
out:
	mem_free(&dir);
}

/*
 * Benchmark (by hand: test-store --bench)
 */
struct bench_ctx {
	struct store *st;
	uint64_t account;
	int messages;
	int failures;
};

static void *
bench_thread(void *arg)
{
	struct bench_ctx *ctx = arg;
	struct store_delivery_result r;
	char body[2048];

	for (int i = 0; i < ctx->messages; i++) {
		crash_body((int)ctx->account, i % 10, body, sizeof(body));
		if (deliver1(ctx->st, ctx->account, body, &r) != 1)
			ctx->failures++;
	}
	return NULL;
}

static void
bench_run(int nthreads, int messages)
{
	struct bench_ctx *ctx = mem_array((size_t)nthreads, sizeof(*ctx));
	pthread_t *threads = mem_array((size_t)nthreads, sizeof(*threads));
	char *dir = new_data_dir();
	struct store *st = open_store("sqlite", dir);
	uint64_t batches, deliveries;
	struct timespec t0, t1;
	double secs;
	int failures = 0;

	for (int i = 0; st != NULL && i < nthreads; i++) {
		char address[64];

		snprintf(address, sizeof(address), "user%d@example.com", i);
		ctx[i] = (struct bench_ctx){ st, add_account(st, address), messages, 0 };
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; st != NULL && i < nthreads; i++)
		pthread_create(&threads[i], NULL, bench_thread, &ctx[i]);
	for (int i = 0; st != NULL && i < nthreads; i++) {
		pthread_join(threads[i], NULL);
		failures += ctx[i].failures;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (st != NULL) {
		secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		sqlite_commit_stats(st, &batches, &deliveries);
		printf("%2d threads x %d messages: %7.0f deliveries/s, %5" PRIu64
		       " index commits (%.1f deliveries each), %d failures\n",
		       nthreads, messages, (double)(nthreads * messages) / secs, batches,
		       (double)deliveries / (double)(batches == 0 ? 1 : batches), failures);
		store_close(&st);
	}
	mem_free(&dir);
	mem_free(&threads);
	mem_free(&ctx);
}

static const struct test tests[] = {
	TEST_ENTRY(t_domains_mem),
	TEST_ENTRY(t_domains_sqlite),
	TEST_ENTRY(t_accounts_mem),
	TEST_ENTRY(t_accounts_sqlite),
	TEST_ENTRY(t_aliases_mem),
	TEST_ENTRY(t_aliases_sqlite),
	TEST_ENTRY(t_send_as_mem),
	TEST_ENTRY(t_send_as_sqlite),
	TEST_ENTRY(t_special_use_mem),
	TEST_ENTRY(t_special_use_sqlite),
	TEST_ENTRY(t_mailbox_ops_mem),
	TEST_ENTRY(t_mailbox_ops_sqlite),
	TEST_ENTRY(t_subscriptions_mem),
	TEST_ENTRY(t_subscriptions_sqlite),
	TEST_ENTRY(t_deliver_three_mem),
	TEST_ENTRY(t_deliver_three_sqlite),
	TEST_ENTRY(t_expunge_mem),
	TEST_ENTRY(t_expunge_sqlite),
	TEST_ENTRY(t_flags_mem),
	TEST_ENTRY(t_flags_sqlite),
	TEST_ENTRY(t_keyword_limits_mem),
	TEST_ENTRY(t_keyword_limits_sqlite),
	TEST_ENTRY(t_failed_delivery_mem),
	TEST_ENTRY(t_failed_delivery_sqlite),
	TEST_ENTRY(t_account_delete_mem),
	TEST_ENTRY(t_account_delete_sqlite),
	TEST_ENTRY(t_concurrent_mem),
	TEST_ENTRY(t_concurrent_sqlite),
	TEST_ENTRY(test_sqlite_reopen),
	TEST_ENTRY(test_sqlite_migrate),
	TEST_ENTRY(test_sqlite_gc),
	TEST_ENTRY(test_open_errors),
	TEST_ENTRY(test_sqlite_crash),
	{ NULL, NULL },
};

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
		static const int threads[] = { 1, 4, 16 };

		for (size_t i = 0; i < N_ELEMENTS(threads); i++)
			bench_run(threads[i], 200);
		return 0;
	}
	return test_main("store", tests);
}
