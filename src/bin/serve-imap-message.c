/*
 * serve-imap-message.c - the IMAP engine's STORE, COPY/MOVE and APPEND hooks
 * on the store, each as one serve_imap_job on the worker pool.
 *
 * STORE: store_message_set_flags (UNCHANGEDSINCE passed down; the client's
 * "UNCHANGEDSINCE 0", which fails for every existing message per RFC 7162
 * 3.1.3, is answered here without a change), then the flags and modseqs of
 * the named messages read back with store_message_list for the untagged
 * FETCH responses.
 *
 * COPY/MOVE: the destination resolved with serve_imap_mailbox_resolve (own
 * and shared names); it needs "i" (RFC 4314 4); store_message_copy does the
 * copy or move in one transaction and gives the COPYUID data (RFC 4315).
 * A COPY into the user's own mailbox is checked against the quota first.
 *
 * APPEND: each message is written into a store blob in the hook itself, on
 * the event loop (a page-cache write, as store.h allows), because the
 * engine's literal lives only as long as the command; the worker resolves
 * the destination ("i"; flags the user has no right to set are dropped,
 * RFC 4314 4), checks the mailbox owner's quota (store_account_quota) and delivers
 * all the messages with one store_deliver_multi: MULTIAPPEND (RFC 3502 6) is
 * all or nothing, also across a crash (one index transaction). Over quota
 * answers NO [OVERQUOTA] (RFC 9208 4.3).
 *
 * CATENATE (RFC 4469): the hook copies the parts (imap/imap-catenate.h);
 * the worker, after the destination checks (so a missing destination still
 * answers [TRYCREATE]), assembles each such message into a blob: TEXT parts
 * as sent, URL parts (imap/imap-url.h) read from the source message, which
 * must be in a mailbox the user may see (own or shared, through
 * serve_imap_mailbox_resolve) with the read right "r" (RFC 4314 4) and the
 * UIDVALIDITY the URL gives. A URL that names nothing readable answers NO
 * [BADURL url], a result over the engine's message limit NO [TOOBIG] (RFC
 * 4469 6); nothing is appended then. The assembled sizes count for the
 * quota like any APPEND.
 *
 * Store errors are logged (they may name files); the client gets the
 * engine's generic text.
 *
 * Invariants: a job owns copies of everything it uses; the engine is only
 * called from done(), on the loop, and not at all for an orphaned job.
 */
#include "bin/serve-imap.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/mem.h"
#include "imap/imap-catenate.h"

#define MESSAGE_ERROR_MAX 200

/* The engine's IMAP_FLAG_* are the store's STORE_FLAG_* (imap-server.h). */
_Static_assert(IMAP_FLAG_SEEN == STORE_FLAG_SEEN && IMAP_FLAG_DELETED == STORE_FLAG_DELETED &&
		       IMAP_FLAG_DRAFT == STORE_FLAG_DRAFT && IMAP_FLAG_MASK == STORE_FLAG_MASK,
	       "flag bits differ");

/* Worker: keep the store's error for the log (it may name files: the
 * client gets the engine's generic text). */
static void
message_error(char *buf, const char *error)
{
	snprintf(buf, MESSAGE_ERROR_MAX, "%s", error != NULL ? error : "store error");
}

/* Loop: log a store failure of a job. */
static void
message_log_error(const struct serve_imap_job *job, const char *what, const char *error)
{
	if (error[0] != '\0' && job->client != NULL)
		log_warning("imapd", "%s failed: user=<%s>, rip=%s, error=%s", what,
			    job->client->user, job->client->ip, error);
}

static bool
uid_listed(const uint32_t *uids, size_t count, uint32_t uid)
{
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (uids[mid] == uid)
			return true;
		if (uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* ---- STORE ---- */

struct store_job {
	struct serve_imap_job base;
	uint64_t mailbox_id;
	uint32_t *uids;            /* ascending */
	size_t count;
	struct store_flag_change change;
	char *keywords;
	bool fail_all;             /* UNCHANGEDSINCE 0 */
	/* results */
	enum imap_mailbox_result result;
	char error[MESSAGE_ERROR_MAX];
	struct store_message *msgs;
	size_t msg_count;
	uint32_t *modified;
	size_t modified_count;
};

/* The messages of uids as they are now (ascending, only listed ones). */
static int
store_read_back(struct store *store, struct store_job *job, const char **error_r)
{
	struct store_message_query q = { .uid_first = job->uids[0],
					 .uid_last = job->uids[job->count - 1] };
	size_t n = 0;
	int ret = store_message_list(store, job->mailbox_id, &q, &job->msgs, &job->msg_count,
				     error_r);

	if (ret != 1)
		return ret;
	for (size_t i = 0; i < job->msg_count; i++) {
		if (!uid_listed(job->uids, job->count, job->msgs[i].uid)) {
			mem_free(&job->msgs[i].keywords);
			continue;
		}
		job->msgs[n++] = job->msgs[i];
	}
	job->msg_count = n;
	return 1;
}

static void
store_work(struct serve_imap_job *base)
{
	struct store_job *job = (struct store_job *)base;
	struct store *store = base->srv->store;
	const char *error = NULL;
	int ret = 1;

	if (!job->fail_all)
		ret = store_message_set_flags(store, job->mailbox_id, job->uids, job->count,
					      &job->change, &job->modified, &job->modified_count,
					      &error);
	if (ret == 1)
		ret = store_read_back(store, job, &error);
	if (ret == 1 && job->fail_all) {
		/* RFC 7162 3.1.3: every existing message fails UNCHANGEDSINCE 0 */
		job->modified = mem_array(job->msg_count + 1, sizeof(*job->modified));
		for (size_t i = 0; i < job->msg_count; i++)
			job->modified[job->modified_count++] = job->msgs[i].uid;
	}
	job->result = ret == 1 ? IMAP_MAILBOX_OK
		      : ret == 0 ? IMAP_MAILBOX_NONEXISTENT
				 : IMAP_MAILBOX_CANNOT;
	if (ret < 0)
		message_error(job->error, error);
}

static void
store_done(struct serve_imap_job *base)
{
	struct store_job *job = (struct store_job *)base;
	struct imap_message_change *changes = NULL;

	if (base->client != NULL) {
		changes = mem_array(job->msg_count + 1, sizeof(*changes));
		for (size_t i = 0; i < job->msg_count; i++) {
			changes[i].uid = job->msgs[i].uid;
			changes[i].flags = job->msgs[i].flags & IMAP_FLAG_MASK;
			changes[i].keywords = job->msgs[i].keywords;
			changes[i].modseq = job->msgs[i].modseq;
		}
		message_log_error(base, "STORE", job->error);
		imap_server_store_done(base->client->session, changes, job->msg_count,
				       job->modified, job->modified_count, job->result, NULL);
	}
	mem_free(&changes);
	if (job->msgs != NULL)
		store_message_list_free(&job->msgs, job->msg_count);
	mem_free(&job->modified);
	mem_free(&job->uids);
	mem_free(&job->keywords);
	mem_free(&job);
}

void
serve_imap_hook_store(void *ctx, struct imap_server_session *s,
		      const struct imap_store_request *req)
{
	struct imap_client *c = ctx;
	struct store_job *job;
	uint64_t mailbox_id = serve_imap_selected_mailbox(c);

	if (mailbox_id == 0 || req->count == 0) {
		imap_server_store_done(s, NULL, 0, NULL, 0,
				       mailbox_id == 0 ? IMAP_MAILBOX_NONEXISTENT : IMAP_MAILBOX_OK,
				       NULL);
		return;
	}
	job = mem_zalloc(sizeof(*job));
	job->mailbox_id = mailbox_id;
	job->uids = mem_memdup(req->uids, mem_size_mul(req->count, sizeof(*req->uids)));
	job->count = req->count;
	job->keywords = req->keywords != NULL ? mem_strdup(req->keywords) : NULL;
	job->change.mode = req->mode == IMAP_STORE_ADD	    ? STORE_FLAGS_ADD
			   : req->mode == IMAP_STORE_REMOVE ? STORE_FLAGS_REMOVE
							    : STORE_FLAGS_REPLACE;
	job->change.flags = req->flags & STORE_FLAG_MASK;
	job->change.keywords = job->keywords;
	job->change.unchangedsince = req->unchangedsince_set ? req->unchangedsince : 0;
	job->fail_all = req->unchangedsince_set && req->unchangedsince == 0;
	job->base.work = store_work;
	job->base.done = store_done;
	serve_imap_job_start(c, &job->base);
}

/* ---- COPY, MOVE ---- */

struct copy_job {
	struct serve_imap_job base;
	uint64_t src_id;
	uint32_t *uids;
	size_t count;
	char *dest, *user;
	bool move;
	/* results */
	enum imap_mailbox_result result;
	char error[MESSAGE_ERROR_MAX];   /* for the log */
	const char *text;                /* for the client, NULL: the engine's */
	uint32_t *dst_uids;
	uint32_t uidvalidity;
};

/* COPY counts against the destination owner's quota, and so does a MOVE
 * into another account's mailbox (a MOVE between the user's own mailboxes
 * changes nothing; the selected mailbox is taken to be the user's own). 1
 * over, 0 fine, -1 store error. */
static int
copy_over_quota(struct store *store, struct copy_job *job, uint64_t owner_id)
{
	struct store_message_query q = { .uid_first = job->uids[0],
					 .uid_last = job->uids[job->count - 1] };
	struct store_message *msgs;
	uint64_t bytes = 0, count = 0;
	size_t n;
	int ret = store_message_list(store, job->src_id, &q, &msgs, &n, NULL);

	if (ret != 1)
		return ret < 0 ? -1 : 0;
	for (size_t i = 0; i < n; i++) {
		if (uid_listed(job->uids, job->count, msgs[i].uid)) {
			bytes += msgs[i].size;
			count++;
		}
	}
	store_message_list_free(&msgs, n);
	return store_account_over_quota(store, owner_id, bytes, count, NULL);
}

static void
copy_work(struct serve_imap_job *base)
{
	struct copy_job *job = (struct copy_job *)base;
	struct store *store = base->srv->store;
	struct serve_imap_mailbox mb;
	const char *error = NULL;
	int ret = serve_imap_mailbox_resolve(store, base->account_id, job->dest, &mb);

	if (ret != 1) {
		job->result = ret == 0 ? IMAP_MAILBOX_NONEXISTENT : IMAP_MAILBOX_TEMPFAIL;
		return;
	}
	if (strchr(mb.rights, 'i') == NULL) {
		/* RFC 4314 4: COPY and MOVE need "i" on the destination */
		job->result = IMAP_MAILBOX_NOPERM;
		serve_imap_mailbox_deinit(&mb);
		return;
	}
	if (!job->move || mb.owner_id != base->account_id) {
		ret = copy_over_quota(store, job, mb.owner_id);
		if (ret != 0) {
			job->result = ret > 0 ? IMAP_MAILBOX_OVERQUOTA : IMAP_MAILBOX_TEMPFAIL;
			job->text = ret > 0 ? "Quota exceeded" : NULL;
			serve_imap_mailbox_deinit(&mb);
			return;
		}
	}
	job->dst_uids = mem_array(job->count, sizeof(*job->dst_uids));
	ret = store_message_copy(store, job->src_id, job->uids, job->count, mb.box.id, job->move,
				 job->dst_uids, &job->uidvalidity, &error);
	serve_imap_mailbox_deinit(&mb);
	job->result = ret == 1 ? IMAP_MAILBOX_OK
		      : ret == 0 ? IMAP_MAILBOX_NONEXISTENT
				 : IMAP_MAILBOX_CANNOT;
	if (ret < 0)
		message_error(job->error, error);
}

static void
copy_done(struct serve_imap_job *base)
{
	struct copy_job *job = (struct copy_job *)base;

	if (base->client != NULL) {
		message_log_error(base, job->move ? "MOVE" : "COPY", job->error);
		imap_server_copy_done(base->client->session, job->uidvalidity, job->uids,
				      job->dst_uids, job->dst_uids != NULL ? job->count : 0,
				      job->result, job->text);
	}
	mem_free(&job->uids);
	mem_free(&job->dst_uids);
	mem_free(&job->dest);
	mem_free(&job->user);
	mem_free(&job);
}

void
serve_imap_hook_copy(void *ctx, struct imap_server_session *s, const uint32_t *uids,
		     size_t count, const char *dest, bool move)
{
	struct imap_client *c = ctx;
	struct copy_job *job;
	uint64_t src_id = serve_imap_selected_mailbox(c);

	if (src_id == 0 || count == 0) {
		imap_server_copy_done(s, 0, NULL, NULL, 0,
				      src_id == 0 ? IMAP_MAILBOX_CANNOT : IMAP_MAILBOX_OK, NULL);
		return;
	}
	job = mem_zalloc(sizeof(*job));
	job->src_id = src_id;
	job->uids = mem_memdup(uids, mem_size_mul(count, sizeof(*uids)));
	job->count = count;
	job->dest = mem_strdup(dest);
	job->user = mem_strdup(imap_server_session_user(s) != NULL ? imap_server_session_user(s)
								  : "");
	job->move = move;
	job->base.work = copy_work;
	job->base.done = copy_done;
	serve_imap_job_start(c, &job->base);
}

/* ---- APPEND ---- */

/* A CATENATE part, copied out of the engine's command. */
struct append_part {
	enum imap_catenate_part_type type;
	uint8_t *data;             /* TEXT */
	size_t len;
	char *url_text;            /* URL */
	struct imap_url url;
};

struct append_item {
	struct store_blob *blob;   /* NULL for CATENATE until assembled */
	unsigned flags;
	char *keywords;
	int64_t internaldate;
	struct append_part *parts; /* CATENATE (RFC 4469), else NULL */
	size_t part_count;
	uint64_t max_size;
};

struct append_job {
	struct serve_imap_job base;
	char *name, *user;
	struct append_item *items;
	size_t count;
	uint64_t total;            /* octets of all messages */
	/* results */
	enum imap_mailbox_result result;
	char error[MESSAGE_ERROR_MAX];   /* for the log */
	const char *text;                /* for the client, NULL: the engine's */
	uint32_t uidvalidity;
	uint32_t *uids;
	char *badurl;                    /* NO [BADURL badurl] */
	bool toobig;                     /* NO [TOOBIG] */
};

static void
append_job_free(struct append_job *job)
{
	for (size_t i = 0; i < job->count; i++) {
		struct append_item *item = &job->items[i];

		if (item->blob != NULL)
			store_blob_abort(&item->blob);
		mem_free(&item->keywords);
		for (size_t k = 0; k < item->part_count; k++) {
			mem_free(&item->parts[k].data);
			mem_free(&item->parts[k].url_text);
			imap_url_deinit(&item->parts[k].url);
		}
		mem_free(&item->parts);
	}
	mem_free(&job->badurl);
	mem_free(&job->items);
	mem_free(&job->uids);
	mem_free(&job->name);
	mem_free(&job->user);
	mem_free(&job);
}

/* RFC 4314 4: flags the user may not set are dropped, not refused. */
static void
append_rights(struct append_item *item, const char *rights)
{
	if (strchr(rights, 's') == NULL)
		item->flags &= ~STORE_FLAG_SEEN;
	if (strchr(rights, 't') == NULL)
		item->flags &= ~STORE_FLAG_DELETED;
	if (strchr(rights, 'w') == NULL) {
		item->flags &= STORE_FLAG_SEEN | STORE_FLAG_DELETED;
		mem_free(&item->keywords);
	}
}

/* The outcome of assembling one CATENATE message. */
enum catenate_result {
	CATENATE_OK = 1,
	CATENATE_BADURL = 0,       /* job->badurl, job->text */
	CATENATE_TOOBIG = -2,
	CATENATE_ERROR = -1,       /* store error: job->error */
};

/* Worker: append the octets the URL part names to blob, which may grow to
 * max_size octets; *why_r says why when the result is not CATENATE_OK. */
static enum catenate_result
catenate_url(struct store *store, uint64_t account_id, const struct append_part *part,
	     struct store_blob *blob, uint64_t max_size, const char **why_r)
{
	const struct imap_url *url = &part->url;
	struct serve_imap_mailbox mb;
	char *name = mem_strdup(url->mailbox);
	const uint8_t *data = NULL, *piece;
	size_t size = 0, len;
	struct buf scratch;
	int ret;
	enum catenate_result res = CATENATE_BADURL;

	imap_server_mailbox_fold_inbox(name);
	ret = serve_imap_mailbox_resolve(store, account_id, name, &mb);
	mem_free(&name);
	if (ret != 1) {
		*why_r = "URL names no mailbox of yours";
		return ret < 0 ? CATENATE_ERROR : CATENATE_BADURL;
	}
	if (strchr(mb.rights, 'r') == NULL) {
		/* RFC 4314 4: reading a message needs "r" on its mailbox */
		*why_r = "No right to read the mailbox of the URL";
	} else if (url->uidvalidity != 0 && url->uidvalidity != mb.box.uidvalidity) {
		*why_r = "URL's UIDVALIDITY is not the mailbox's";
	} else if ((ret = serve_imap_body_map(store, mb.box.id, url->uid, &data, &size)) != 1) {
		*why_r = ret < 0 ? "Cannot read the message of the URL" : "URL names no message";
		res = ret < 0 ? CATENATE_ERROR : CATENATE_BADURL;
	} else {
		buf_init(&scratch, (size_t)max_size);
		if (imap_url_section(url, data != NULL ? data : (const uint8_t *)"", size,
				     &scratch, &piece, &len, why_r) < 0)
			res = CATENATE_BADURL;
		else if (store_blob_size(blob) + len > max_size)
			res = CATENATE_TOOBIG;
		else if (store_blob_write(blob, piece, len) < 0)
			res = CATENATE_ERROR;
		else
			res = CATENATE_OK;
		buf_deinit(&scratch);
	}
	serve_imap_body_unmap(data, size);
	serve_imap_mailbox_deinit(&mb);
	return res;
}

/* Worker: assemble the CATENATE message item into a new blob (RFC 4469 5). */
static enum catenate_result
catenate_assemble(struct append_job *job, struct store *store, struct append_item *item)
{
	const char *error = NULL, *why = NULL;
	enum catenate_result res = CATENATE_OK;

	if (store_blob_begin(store, &item->blob, &error) != 1) {
		message_error(job->error, error);
		return CATENATE_ERROR;
	}
	for (size_t k = 0; k < item->part_count && res == CATENATE_OK; k++) {
		const struct append_part *part = &item->parts[k];

		if (part->type == IMAP_CATENATE_URL) {
			res = catenate_url(store, job->base.account_id, part, item->blob,
					   item->max_size, &why);
			if (res == CATENATE_BADURL) {
				job->badurl = mem_strdup(part->url_text);
				job->text = why;
			}
		} else if (store_blob_size(item->blob) + part->len > item->max_size) {
			res = CATENATE_TOOBIG;
		} else if (store_blob_write(item->blob, part->data, part->len) < 0) {
			res = CATENATE_ERROR;
		}
	}
	if (res == CATENATE_ERROR)
		message_error(job->error, why != NULL ? why : "cannot write the message");
	if (res == CATENATE_OK && store_blob_size(item->blob) == 0) {
		job->text = "Empty messages cannot be appended";
		res = CATENATE_BADURL;
	}
	if (res == CATENATE_OK)
		job->total += store_blob_size(item->blob);
	return res;
}

/* Worker: every CATENATE message of the job; false with job->result set. */
static bool
append_catenate_all(struct append_job *job, struct store *store)
{
	for (size_t i = 0; i < job->count; i++) {
		enum catenate_result res;

		if (job->items[i].parts == NULL)
			continue;
		res = catenate_assemble(job, store, &job->items[i]);
		if (res == CATENATE_OK)
			continue;
		job->toobig = res == CATENATE_TOOBIG;
		job->result = res == CATENATE_ERROR ? IMAP_MAILBOX_TEMPFAIL : IMAP_MAILBOX_CANNOT;
		if (res == CATENATE_ERROR)
			job->text = NULL;
		return false;
	}
	return true;
}

static void
append_work(struct serve_imap_job *base)
{
	struct append_job *job = (struct append_job *)base;
	struct store *store = base->srv->store;
	struct serve_imap_mailbox mb;
	struct store_blob **blobs;
	struct store_delivery_target *targets;
	struct store_delivery_result *res;
	const char *error = NULL;
	int ret = serve_imap_mailbox_resolve(store, base->account_id, job->name, &mb);

	if (ret != 1) {
		job->result = ret == 0 ? IMAP_MAILBOX_NONEXISTENT : IMAP_MAILBOX_TEMPFAIL;
		return;
	}
	if (strchr(mb.rights, 'i') == NULL) {
		job->result = IMAP_MAILBOX_NOPERM;
		serve_imap_mailbox_deinit(&mb);
		return;
	}
	if (!append_catenate_all(job, store)) {
		serve_imap_mailbox_deinit(&mb);
		return;
	}
	{
		ret = store_account_over_quota(store, mb.owner_id, job->total, job->count, NULL);
		if (ret != 0) {
			job->result = ret > 0 ? IMAP_MAILBOX_OVERQUOTA : IMAP_MAILBOX_TEMPFAIL;
			job->text = ret > 0 ? "Quota exceeded" : NULL;
			serve_imap_mailbox_deinit(&mb);
			return;
		}
	}
	job->uidvalidity = mb.box.uidvalidity;
	job->uids = mem_array(job->count, sizeof(*job->uids));
	blobs = mem_array(job->count, sizeof(*blobs));
	targets = mem_array(job->count, sizeof(*targets));
	res = mem_array(job->count, sizeof(*res));
	for (size_t i = 0; i < job->count; i++) {
		struct append_item *item = &job->items[i];

		append_rights(item, mb.rights);
		targets[i].account_id = mb.owner_id;
		targets[i].mailbox_id = mb.box.id;
		targets[i].flags = item->flags;
		targets[i].internaldate = item->internaldate;
		targets[i].keywords = item->keywords;
		blobs[i] = item->blob;
		item->blob = NULL; /* store_deliver_multi consumes it either way */
	}
	/* RFC 3502 6: all or nothing, in one index transaction */
	if (store_deliver_multi(store, blobs, job->count, targets, res, &error) == 1) {
		for (size_t i = 0; i < job->count; i++)
			job->uids[i] = res[i].uid;
		job->result = IMAP_MAILBOX_OK;
	} else {
		message_error(job->error, error);
		job->result = IMAP_MAILBOX_CANNOT;
	}
	mem_free(&res);
	mem_free(&targets);
	mem_free(&blobs);
	serve_imap_mailbox_deinit(&mb);
}

static void
append_done(struct serve_imap_job *base)
{
	struct append_job *job = (struct append_job *)base;

	if (base->client != NULL && (job->badurl != NULL || job->toobig)) {
		/* RFC 4469 6: NO [BADURL url] / NO [TOOBIG] */
		imap_server_append_refused(base->client->session,
					   job->badurl != NULL ? IMAP_CATENATE_BADURL
							       : IMAP_CATENATE_TOOBIG,
					   job->badurl, job->text);
	} else if (base->client != NULL) {
		message_log_error(base, "APPEND", job->error);
		imap_server_append_done(base->client->session, job->uidvalidity, job->uids,
					job->result == IMAP_MAILBOX_OK ? job->count : 0,
					job->result, job->text);
	}
	append_job_free(job);
}

void
serve_imap_hook_append(void *ctx, struct imap_server_session *s, const char *name,
		       const struct imap_append_message *msgs, size_t count)
{
	struct imap_client *c = ctx;
	struct store *store = c->base.server->store;
	const char *user = imap_server_session_user(s);
	struct append_job *job = mem_zalloc(sizeof(*job));

	job->name = mem_strdup(name);
	job->user = mem_strdup(user != NULL ? user : "");
	job->items = mem_array(count, sizeof(*job->items));
	job->count = count;
	/* the literals live as long as the command: into blobs now */
	for (size_t i = 0; i < count; i++) {
		struct append_item *item = &job->items[i];
		const struct imap_catenate_part *parts;
		size_t n;

		item->flags = msgs[i].flags & STORE_FLAG_MASK;
		item->keywords = msgs[i].keywords != NULL ? mem_strdup(msgs[i].keywords) : NULL;
		item->internaldate = msgs[i].internaldate;
		if (imap_server_append_catenate(s, i, &parts, &n, &item->max_size)) {
			/* assembled by the worker; copy the parts out of the command */
			item->parts = mem_array(n, sizeof(*item->parts));
			item->part_count = n;
			for (size_t k = 0; k < n; k++) {
				struct append_part *part = &item->parts[k];

				part->type = parts[k].type;
				if (parts[k].type == IMAP_CATENATE_TEXT) {
					/* + 1: the parser's NUL after every item
					 * (imap-parser.h), so that len 0 copies too */
					part->data = mem_memdup(parts[k].data, parts[k].len + 1);
					part->len = parts[k].len;
				} else {
					part->url_text = mem_strdup(parts[k].url_text);
					imap_url_copy(parts[k].url, &part->url);
				}
			}
			continue;
		}
		job->total += msgs[i].len;
		if (store_blob_begin(store, &item->blob, NULL) != 1 ||
		    store_blob_write(item->blob, msgs[i].data, msgs[i].len) < 0) {
			append_job_free(job);
			imap_server_append_done(s, 0, NULL, 0, IMAP_MAILBOX_TEMPFAIL,
						"Cannot store the message now");
			return;
		}
	}
	job->base.work = append_work;
	job->base.done = append_done;
	serve_imap_job_start(c, &job->base);
}
