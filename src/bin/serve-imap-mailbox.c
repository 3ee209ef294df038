/*
 * serve-imap-mailbox.c - IMAP mailbox names to store mailboxes, and the ACL
 * (RFC 4314) and QUOTA (RFC 9208) hooks of the IMAP glue.
 *
 * Names: the account's own mailboxes by name, and the shared namespace
 * "Shared/<owner address>/<name>" (RFC 2342 5 "other users' / shared",
 * announced by NAMESPACE), which is the owner's mailbox <name> when the
 * account has at least "l" on it. A mailbox the account may not see is
 * answered exactly like one that does not exist (RFC 4314 4: no way to
 * probe for names without "l").
 *
 * LIST/LSUB (serve_imap_hook_list): the account's mailboxes, the shared
 * ones it may see, and its subscriptions; every subscription goes to the
 * engine as a name of its own (exists = false), which the engine merges
 * with the mailbox of that name, so that subscribed names whose mailbox is
 * gone are listed as \NonExistent (RFC 5258 3.1) and by LSUB.
 *
 * Does not: enforce rights of message commands (the engine enforces the
 * rights string per command, the other glue files check the right their
 * hook needs), negative rights (the store refuses them), refuse names in
 * the shared namespace for CREATE/RENAME (the engine does, it owns the
 * prefix).
 *
 * Invariants: the resolve functions and the job work run on worker threads
 * and touch only the store; completions run on the loop and touch only the
 * engine. Every store string is copied into the job before the loop sees it.
 */
#include <string.h>
#include <strings.h>

#include "bin/serve-imap.h"
#include "core/buf.h"
#include "core/mem.h"

/* ---- names ---- */

#define SHARED_PREFIX "Shared/"
#define SHARED_PREFIX_LEN (sizeof(SHARED_PREFIX) - 1)

/* Split "Shared/<owner>/<name>" into owner (copied into owner_r, at most
 * STORE_ADDRESS_MAX octets) and the owner's name (a pointer into name).
 * 1 a shared name, 0 not in the shared namespace, -1 in it but not a
 * mailbox name (no owner or no mailbox part). */
static int
shared_name_split(const char *name, char owner_r[STORE_ADDRESS_MAX + 1], const char **rest_r)
{
	const char *owner, *sep;
	size_t len;

	if (strncmp(name, SHARED_PREFIX, SHARED_PREFIX_LEN) != 0)
		return strcmp(name, "Shared") == 0 ? -1 : 0;
	owner = name + SHARED_PREFIX_LEN;
	sep = strchr(owner, '/');
	if (sep == NULL || sep == owner || sep[1] == '\0')
		return -1;
	len = (size_t)(sep - owner);
	if (len > STORE_ADDRESS_MAX)
		return -1;
	memcpy(owner_r, owner, len);
	owner_r[len] = '\0';
	*rest_r = sep + 1;
	return 1;
}

int
serve_imap_mailbox_resolve(struct store *store, uint64_t account_id, const char *name,
			   struct serve_imap_mailbox *mb_r)
{
	char owner[STORE_ADDRESS_MAX + 1];
	struct store_account acct;
	const char *rest;
	int ret;

	memset(mb_r, 0, sizeof(*mb_r));
	ret = shared_name_split(name, owner, &rest);
	if (ret < 0)
		return 0;
	if (ret == 0) {
		ret = store_mailbox_lookup(store, account_id, name, &mb_r->box, NULL);
		if (ret != 1)
			return ret < 0 ? -1 : 0;
		mb_r->owner_id = account_id;
		memcpy(mb_r->rights, STORE_ACL_RIGHTS_ALL, sizeof(STORE_ACL_RIGHTS_ALL));
		return 1;
	}
	ret = store_account_lookup(store, owner, &acct, NULL);
	if (ret != 1)
		return ret < 0 ? -1 : 0;
	mb_r->owner_id = acct.id;
	store_account_deinit(&acct);
	/* one name per mailbox: the account's own ones are not shared with it */
	if (mb_r->owner_id == account_id)
		return 0;
	ret = store_mailbox_lookup(store, mb_r->owner_id, rest, &mb_r->box, NULL);
	if (ret != 1)
		return ret < 0 ? -1 : 0;
	ret = store_acl_rights(store, mb_r->box.id, account_id, mb_r->rights, NULL);
	if (ret == 1 && strchr(mb_r->rights, 'l') != NULL)
		return 1;
	/* RFC 4314 4: without "l" the mailbox does not exist for the account */
	store_mailbox_deinit(&mb_r->box);
	memset(mb_r, 0, sizeof(*mb_r));
	return ret < 0 ? -1 : 0;
}

void
serve_imap_mailbox_deinit(struct serve_imap_mailbox *mb)
{
	store_mailbox_deinit(&mb->box);
	memset(mb, 0, sizeof(*mb));
}

/* ---- LIST hook (RFC 9051 6.3.9, RFC 5258, LSUB of RFC 3501 6.3.9) ---- */

struct list_job {
	struct serve_imap_job base;
	/* results */
	enum imap_mailbox_result result;
	struct store_mailbox *boxes;
	size_t box_count;
	struct store_acl_shared *shared; /* other accounts' mailboxes we may see */
	size_t shared_count;
	char **subs;                     /* subscribed names, mailbox or not */
	size_t sub_count;
};

static void
list_work(struct serve_imap_job *base)
{
	struct list_job *job = (struct list_job *)base;
	struct store *store = base->srv->store;
	int ret = store_mailbox_list(store, base->account_id, &job->boxes, &job->box_count, NULL);

	if (ret == 1)
		ret = store_subscription_list(store, base->account_id, &job->subs, &job->sub_count,
					      NULL);
	/* the shared namespace "Shared/<owner>/<name>" (RFC 4314 "l") */
	if (ret == 1)
		ret = store_acl_shared_mailboxes(store, base->account_id, &job->shared,
						 &job->shared_count, NULL);
	job->result = ret == 1 ? IMAP_MAILBOX_OK : IMAP_MAILBOX_TEMPFAIL;
}

static void
list_job_free(struct list_job *job)
{
	if (job->boxes != NULL)
		store_mailbox_list_free(&job->boxes, job->box_count);
	if (job->shared != NULL)
		store_acl_shared_free(&job->shared, job->shared_count);
	store_subscription_list_free(&job->subs, job->sub_count);
	mem_free(&job);
}

static void
list_done(struct serve_imap_job *base)
{
	struct list_job *job = (struct list_job *)base;
	size_t total = mem_size_add(mem_size_add(job->box_count, job->shared_count),
				    job->sub_count);
	struct imap_mailbox_info *info = mem_array(total + 1, sizeof(*info));
	const char **rights = mem_array(total + 1, sizeof(*rights));
	char **shared_names = mem_array(job->shared_count + 1, sizeof(*shared_names));
	size_t n = 0;
	struct buf name;

	if (base->client == NULL)
		goto out;
	for (size_t i = 0; i < job->box_count; i++, n++) {
		info[n].name = job->boxes[i].name;
		info[n].special_use = job->boxes[i].special_use;
		info[n].subscribed = job->boxes[i].subscribed;
		info[n].exists = true;
		/* RFC 8440: the owner has every right (serve_imap_mailbox_resolve) */
		rights[n] = STORE_ACL_RIGHTS_ALL;
	}
	/* other accounts' mailboxes as "Shared/<owner>/<name>"; names the
	 * engine refuses (too long) it skips itself */
	for (size_t i = 0; i < job->shared_count; i++, n++) {
		buf_init(&name, 0);
		(void)buf_printf(&name, SHARED_PREFIX "%s/%s", job->shared[i].owner,
				 job->shared[i].name);
		shared_names[i] = buf_steal_str(&name);
		info[n].name = shared_names[i];
		info[n].exists = true;
		rights[n] = job->shared[i].rights;
	}
	/* subscriptions as names of their own: the engine merges them with
	 * the mailbox of the same name, the rest are gone (\NonExistent) */
	for (size_t i = 0; i < job->sub_count; i++, n++) {
		info[n].name = job->subs[i];
		info[n].subscribed = true;
		info[n].exists = false;
		rights[n] = NULL;
	}
	imap_server_list_done_rights(base->client->session, info, rights, (unsigned)n,
				     job->result);
out:
	for (size_t i = 0; i < job->shared_count; i++)
		mem_free(&shared_names[i]);
	mem_free(&shared_names);
	mem_free(&info);
	mem_free(&rights);
	list_job_free(job);
}

void
serve_imap_hook_list(void *ctx, struct imap_server_session *s)
{
	struct list_job *job = mem_zalloc(sizeof(*job));

	job->base.work = list_work;
	job->base.done = list_done;
	serve_imap_job_start(ctx, &job->base);
}

/* ---- ACL hook (RFC 4314 3, 4) ---- */

struct acl_job {
	struct serve_imap_job base;
	enum imap_acl_op op;
	char *name, *identifier, *rights;
	/* results */
	enum imap_mailbox_result result;
	const char *text;                /* a literal, NULL = the engine's */
	struct imap_acl_entry *entries;  /* strings owned by the job */
	size_t count;
	char answer[STORE_ACL_RIGHTS_SIZE]; /* MYRIGHTS; LISTRIGHTS required */
};

static const char *const acl_single_rights[] = { "l", "r", "s", "w", "i", "p", "k", "x", "t",
						 "e", "a" };

static bool
acl_identifier_special(const char *identifier)
{
	return strcasecmp(identifier, STORE_ACL_ANYONE) == 0 ||
	       strcasecmp(identifier, STORE_ACL_AUTHENTICATED) == 0;
}

/* The identifier names: 1 the mailbox's owner, 0 someone else who can be
 * given rights, -1 nobody (job->result set). */
static int
acl_identifier_check(struct store *store, struct acl_job *job, uint64_t owner_id)
{
	struct store_account acct;
	int ret;

	if (acl_identifier_special(job->identifier))
		return 0;
	if (job->identifier[0] == '-') {
		/* RFC 4314 2: negative rights are optional; this server has none */
		job->result = IMAP_MAILBOX_CANNOT;
		job->text = "Negative rights are not supported";
		return -1;
	}
	ret = store_account_lookup(store, job->identifier, &acct, NULL);
	if (ret != 1) {
		job->result = ret < 0 ? IMAP_MAILBOX_TEMPFAIL : IMAP_MAILBOX_CANNOT;
		job->text = ret < 0 ? NULL : "No such identifier";
		return -1;
	}
	ret = acct.id == owner_id ? 1 : 0;
	store_account_deinit(&acct);
	return ret;
}

/* The identifier's current entry on the mailbox ("" when none). */
static int
acl_current_rights(struct store *store, uint64_t mailbox_id, const char *identifier,
		   char rights_r[STORE_ACL_RIGHTS_SIZE])
{
	struct store_acl_entry *entries;
	size_t count;
	int ret = store_acl_get(store, mailbox_id, &entries, &count, NULL);

	rights_r[0] = '\0';
	if (ret != 1)
		return ret;
	for (size_t i = 0; i < count; i++) {
		if (strcasecmp(entries[i].identifier, identifier) == 0)
			memcpy(rights_r, entries[i].rights, sizeof(entries[i].rights));
	}
	store_acl_list_free(&entries, count);
	return 1;
}

/* SETACL's rights (RFC 4314 3.1): "+" adds to, "-" removes from the
 * current ones, else they replace them. 1 ok, -1 error (job->result set). */
static int
acl_new_rights(struct store *store, struct acl_job *job, uint64_t mailbox_id,
	       char out_r[STORE_ACL_RIGHTS_SIZE])
{
	char cur[STORE_ACL_RIGHTS_SIZE], given[STORE_ACL_RIGHTS_SIZE];
	const char *rights = job->rights;
	char mode = rights[0] == '+' || rights[0] == '-' ? rights[0] : '=';
	size_t n = 0;

	if (store_acl_rights_normalize(mode == '=' ? rights : rights + 1, given, NULL) < 0) {
		/* the engine checked the letters already */
		job->result = IMAP_MAILBOX_CANNOT;
		return -1;
	}
	if (mode == '=') {
		memcpy(out_r, given, sizeof(given));
		return 1;
	}
	if (acl_current_rights(store, mailbox_id, job->identifier, cur) < 0) {
		job->result = IMAP_MAILBOX_TEMPFAIL;
		return -1;
	}
	for (const char *p = STORE_ACL_RIGHTS_ALL; *p != '\0'; p++) {
		bool in_cur = strchr(cur, *p) != NULL, in_given = strchr(given, *p) != NULL;

		if (mode == '+' ? in_cur || in_given : in_cur && !in_given)
			out_r[n++] = *p;
	}
	out_r[n] = '\0';
	return 1;
}

static void
acl_work_set(struct store *store, struct acl_job *job, const struct serve_imap_mailbox *mb)
{
	char rights[STORE_ACL_RIGHTS_SIZE];
	int ret = acl_identifier_check(store, job, mb->owner_id);

	if (ret < 0)
		return;
	if (ret == 1) {
		job->result = IMAP_MAILBOX_CANNOT;
		job->text = "The owner always has all rights";
		return;
	}
	if (job->op == IMAP_ACL_DELETE)
		rights[0] = '\0';
	else if (acl_new_rights(store, job, mb->box.id, rights) < 0)
		return;
	ret = store_acl_set(store, mb->box.id, job->identifier, rights, NULL);
	job->result = ret > 0 ? IMAP_MAILBOX_OK : ret == 0 ? IMAP_MAILBOX_CANNOT :
							     IMAP_MAILBOX_TEMPFAIL;
}

static void
acl_work_get(struct store *store, struct acl_job *job, const struct serve_imap_mailbox *mb)
{
	struct store_acl_entry *entries;
	size_t count;
	int ret = store_acl_get(store, mb->box.id, &entries, &count, NULL);

	if (ret != 1) {
		job->result = ret < 0 ? IMAP_MAILBOX_TEMPFAIL : IMAP_MAILBOX_NONEXISTENT;
		return;
	}
	job->entries = mem_array(count + 1, sizeof(*job->entries));
	for (size_t i = 0; i < count; i++) {
		job->entries[i].identifier = mem_strdup(entries[i].identifier);
		job->entries[i].rights = mem_strdup(entries[i].rights);
	}
	job->count = count;
	store_acl_list_free(&entries, count);
}

static void
acl_work_listrights(struct store *store, struct acl_job *job,
		    const struct serve_imap_mailbox *mb)
{
	int ret = acl_identifier_check(store, job, mb->owner_id);

	if (ret < 0)
		return;
	if (ret == 1) {
		/* the owner: every right, always (RFC 4314 3.7 required rights) */
		memcpy(job->answer, STORE_ACL_RIGHTS_ALL, sizeof(STORE_ACL_RIGHTS_ALL));
		return;
	}
	/* anyone else: none required, each right on its own (nothing tied) */
	job->entries = mem_array(N_ELEMENTS(acl_single_rights), sizeof(*job->entries));
	for (size_t i = 0; i < N_ELEMENTS(acl_single_rights); i++) {
		job->entries[i].identifier = mem_strdup("");
		job->entries[i].rights = mem_strdup(acl_single_rights[i]);
	}
	job->count = N_ELEMENTS(acl_single_rights);
}

static void
acl_work(struct serve_imap_job *base)
{
	struct acl_job *job = (struct acl_job *)base;
	struct store *store = base->srv->store;
	struct serve_imap_mailbox mb;
	int ret = serve_imap_mailbox_resolve(store, base->account_id, job->name, &mb);

	job->result = IMAP_MAILBOX_OK;
	if (ret != 1) {
		job->result = ret < 0 ? IMAP_MAILBOX_TEMPFAIL : IMAP_MAILBOX_NONEXISTENT;
		return;
	}
	if (job->op == IMAP_ACL_MYRIGHTS) {
		/* RFC 4314 4: MYRIGHTS needs any right; "l" is there already */
		memcpy(job->answer, mb.rights, sizeof(mb.rights));
	} else if (strchr(mb.rights, 'a') == NULL) {
		/* RFC 4314 4: the other ACL commands need "a" */
		job->result = IMAP_MAILBOX_NOPERM;
	} else if (job->op == IMAP_ACL_SET || job->op == IMAP_ACL_DELETE) {
		acl_work_set(store, job, &mb);
	} else if (job->op == IMAP_ACL_GET) {
		acl_work_get(store, job, &mb);
	} else {
		acl_work_listrights(store, job, &mb);
	}
	serve_imap_mailbox_deinit(&mb);
}

static void
acl_job_free(struct acl_job *job)
{
	for (size_t i = 0; i < job->count; i++) {
		mem_free(&job->entries[i].identifier);
		mem_free(&job->entries[i].rights);
	}
	mem_free(&job->entries);
	mem_free(&job->name);
	mem_free(&job->identifier);
	mem_free(&job->rights);
	mem_free(&job);
}

static void
acl_done(struct serve_imap_job *base)
{
	struct acl_job *job = (struct acl_job *)base;

	if (base->client != NULL)
		imap_server_acl_done(base->client->session, job->entries, job->count, job->answer,
				     job->result, job->text);
	acl_job_free(job);
}

void
serve_imap_hook_acl(void *ctx, struct imap_server_session *s, enum imap_acl_op op,
		    const char *name, const char *identifier, const char *rights)
{
	struct acl_job *job = mem_zalloc(sizeof(*job));

	job->op = op;
	job->name = mem_strdup(name);
	job->identifier = identifier != NULL ? mem_strdup(identifier) : NULL;
	job->rights = rights != NULL ? mem_strdup(rights) : NULL;
	job->base.work = acl_work;
	job->base.done = acl_done;
	serve_imap_job_start(ctx, &job->base);
}

/* ---- QUOTA hook (RFC 9208 4.2, 4.3) ---- */

/* The account's own quota root (RFC 9208 3.2): "". Shared mailboxes count
 * against their owner, whose quota is not the user's business: no root. */
#define QUOTA_ROOT ""

struct quota_job {
	struct serve_imap_job base;
	char *root, *name, *user;
	/* results */
	enum imap_mailbox_result result;
	bool have_root;
	struct imap_quota_resource res[2];
	size_t count;
};

/* RFC 9208 5.1: STORAGE in units of 1024 octets, rounded up */
static uint64_t
quota_kib(uint64_t bytes)
{
	return bytes / 1024u + (bytes % 1024u != 0 ? 1u : 0u);
}

/* The account's root and its resources with a limit (none: no root). */
static void
quota_work_account(struct store *store, struct quota_job *job)
{
	struct store_account acct;
	uint64_t bytes = 0, messages = 0;
	int ret = store_account_lookup(store, job->user, &acct, NULL);

	if (ret != 1 || acct.id != job->base.account_id) {
		job->result = ret < 0 ? IMAP_MAILBOX_TEMPFAIL : IMAP_MAILBOX_OK;
		if (ret == 1)
			store_account_deinit(&acct);
		return;
	}
	if (acct.quota_bytes != 0 || acct.quota_messages != 0) {
		ret = store_account_usage(store, acct.id, &bytes, &messages, NULL);
		if (ret < 0) {
			job->result = IMAP_MAILBOX_TEMPFAIL;
		} else {
			job->have_root = true;
			if (acct.quota_bytes != 0)
				job->res[job->count++] = (struct imap_quota_resource){
					"STORAGE", quota_kib(bytes), quota_kib(acct.quota_bytes)
				};
			if (acct.quota_messages != 0)
				job->res[job->count++] = (struct imap_quota_resource){
					"MESSAGE", messages, acct.quota_messages
				};
		}
	}
	store_account_deinit(&acct);
}

static void
quota_work(struct serve_imap_job *base)
{
	struct quota_job *job = (struct quota_job *)base;
	struct store *store = base->srv->store;
	struct serve_imap_mailbox mb;
	int ret;

	job->result = IMAP_MAILBOX_OK;
	if (job->root != NULL) {
		/* GETQUOTA: only the account's own root exists */
		if (strcmp(job->root, QUOTA_ROOT) == 0)
			quota_work_account(store, job);
		return;
	}
	/* GETQUOTAROOT: RFC 9208 4.3 needs the mailbox to be visible */
	ret = serve_imap_mailbox_resolve(store, base->account_id, job->name, &mb);
	if (ret != 1) {
		job->result = ret < 0 ? IMAP_MAILBOX_TEMPFAIL : IMAP_MAILBOX_NONEXISTENT;
		return;
	}
	if (mb.owner_id == base->account_id)
		quota_work_account(store, job);
	serve_imap_mailbox_deinit(&mb);
}

static void
quota_done(struct serve_imap_job *base)
{
	struct quota_job *job = (struct quota_job *)base;

	if (base->client != NULL)
		imap_server_quota_done(base->client->session, job->have_root ? QUOTA_ROOT : NULL,
				       job->res, job->count, job->result, NULL);
	mem_free(&job->root);
	mem_free(&job->name);
	mem_free(&job->user);
	mem_free(&job);
}

void
serve_imap_hook_quota(void *ctx, struct imap_server_session *s, const char *root,
		      const char *name)
{
	struct quota_job *job = mem_zalloc(sizeof(*job));
	const char *user = imap_server_session_user(s);

	job->root = root != NULL ? mem_strdup(root) : NULL;
	job->name = name != NULL ? mem_strdup(name) : NULL;
	job->user = mem_strdup(user != NULL ? user : "");
	job->base.work = quota_work;
	job->base.done = quota_done;
	serve_imap_job_start(ctx, &job->base);
}
