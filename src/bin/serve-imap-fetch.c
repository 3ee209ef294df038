/*
 * serve-imap-fetch.c - the FETCH hook: a worker job that reads the
 * requested messages of the selected mailbox from the store, sets \Seen
 * when the engine asks (a non-PEEK body item), renders each message with
 * imap_fetch_render() into one buffer and completes with
 * imap_server_fetch_done() on the loop.
 *
 * Bodies are mapped one message at a time, and only when an item needs the
 * content (imap_fetch_needs_content()); metadata comes from one
 * store_message_list over the request's UID range. Messages the store no
 * longer has (expunged meanwhile) are skipped: the engine reports the
 * expunge later. With VANISHED (RFC 7162 3.2.6) the job writes "* VANISHED
 * (EARLIER) uids" first, from the store's tombstones. EMAILID (RFC 8474
 * 5.1) is "M" + the body's blob id, the same for copies of a message;
 * THREADID is NIL (RFC 8474 5.2 allows it when threads are not tracked).
 *
 * Does not: choose chunks (the engine sends at most a few dozen messages
 * per request), decide on \Seen (the engine's set_seen), or run on the
 * loop.
 *
 * \Recent (RFC 3501 2.3.2): the engine names the session's recent UIDs;
 * the glue sets IMAP_FLAG_RECENT in their flags and the renderer shows it.
 *
 * Keywords: the keywords of every message rendered are handed to the
 * engine (imap_server_fetch_keywords) before the responses, so that a
 * keyword another session just created is announced in FLAGS before a
 * FETCH shows it (RFC 9051 7.3.5).
 *
 * Invariants: the job holds a reference to the engine's items, so a client
 * that goes away while the worker renders leaves nothing dangling.
 */
#include "bin/serve-imap.h"

#include "core/mem.h"
#include "imap/imap-fetch.h"
#include "imap/imap-flags.h"
#include "imap/imap-message.h"
#include "imap/imap-seqset.h"

#include <string.h>

struct fetch_job {
	struct serve_imap_job base;     /* first */
	struct imap_fetch_items *items; /* a reference */
	uint32_t *uids, *seqs;
	size_t count;
	uint64_t mailbox_id;
	bool set_seen;
	bool vanished;                  /* items->vanished when the hook ran */
	uint64_t changedsince;
	unsigned render_flags;
	struct imap_recent_range *recent; /* the session's \Recent UIDs */
	size_t recent_count;
	/* answer */
	struct buf keywords;            /* of the messages rendered, "" none */
	struct imap_message_change *seen; /* \Seen set here and reported in FLAGS */
	size_t n_seen;
	struct buf out;
	enum imap_mailbox_result result;
	const char *text;
};

static bool
fetch_in_ranges(const struct imap_seq_range *r, unsigned count, uint32_t uid)
{
	for (unsigned i = 0; i < count; i++) {
		if (uid >= r[i].first && uid <= r[i].last)
			return true;
	}
	return false;
}

/* "* VANISHED (EARLIER) uids" for the request's UID set (RFC 7162 3.2.6). */
static int
fetch_vanished(struct fetch_job *job, struct store *store)
{
	const struct imap_fetch_items *items = job->items;
	struct imap_seqset set;
	uint32_t *gone;
	size_t n;
	int ret;

	ret = store_message_vanished(store, job->mailbox_id, items->vanished_since, &gone, &n,
				     NULL);
	if (ret != 1)
		return ret;
	imap_seqset_init(&set);
	for (size_t i = 0; i < n; i++) {
		if (fetch_in_ranges(items->vanished_set, items->vanished_set_count, gone[i]))
			imap_seqset_add(&set, gone[i], gone[i]);
	}
	if (set.count > 0) {
		buf_append_str(&job->out, "* VANISHED (EARLIER) ");
		imap_seqset_format(&set, &job->out);
		buf_append_str(&job->out, "\r\n");
	}
	imap_seqset_deinit(&set);
	mem_free(&gone);
	return 1;
}

/* Set \Seen on the requested messages that lack it; *changed_r (sorted,
 * allocated) gets their UIDs. 1 ok, 0 mailbox gone, -1 error. */
static int
fetch_set_seen(struct fetch_job *job, struct store *store, const struct store_message *msgs,
	       size_t n_msgs, uint32_t **changed_r, size_t *n_changed_r)
{
	struct store_flag_change change = { .mode = STORE_FLAGS_ADD, .flags = STORE_FLAG_SEEN };
	uint32_t *changed = mem_array(job->count + 1, sizeof(*changed));
	size_t n = 0, m = 0;
	int ret = 1;

	for (size_t i = 0; i < job->count; i++) {
		while (m < n_msgs && msgs[m].uid < job->uids[i])
			m++;
		if (m < n_msgs && msgs[m].uid == job->uids[i] &&
		    (msgs[m].flags & STORE_FLAG_SEEN) == 0)
			changed[n++] = job->uids[i];
	}
	if (n > 0)
		ret = store_message_set_flags(store, job->mailbox_id, changed, n, &change, NULL,
					      NULL, NULL);
	*changed_r = changed;
	*n_changed_r = ret == 1 ? n : 0;
	return ret;
}

static int
fetch_list(struct fetch_job *job, struct store *store, bool uids_only,
	   struct store_message **msgs_r, size_t *n_r)
{
	struct store_message_query q = {
		.uid_first = job->uids[0], .uid_last = job->uids[job->count - 1],
		.changed_since = uids_only ? 0 : job->changedsince, .uids_only = uids_only,
	};

	return store_message_list(store, job->mailbox_id, &q, msgs_r, n_r, NULL);
}

/* Render the messages; false on an error that ends the request. */
static bool
fetch_render_all(struct fetch_job *job, struct store *store, const struct store_message *msgs,
		 size_t n_msgs, const uint32_t *changed, size_t n_changed)
{
	bool content = imap_fetch_needs_content(job->items);
	size_t m = 0, c = 0;

	for (size_t i = 0; i < job->count; i++) {
		struct imap_message msg;
		char emailid[STORE_BLOB_ID_LEN + 2];
		const uint8_t *data = NULL;
		size_t len = 0;
		unsigned flags = job->render_flags;
		enum imap_fetch_render_result r;

		while (m < n_msgs && msgs[m].uid < job->uids[i])
			m++;
		if (m == n_msgs || msgs[m].uid != job->uids[i])
			continue; /* gone, or unchanged since CHANGEDSINCE */
		while (c < n_changed && changed[c] < job->uids[i])
			c++;
		if (c < n_changed && changed[c] == job->uids[i]) {
			flags |= IMAP_FETCH_RENDER_ADD_FLAGS;
			/* the engine learns of it: no sync repeats it (keywords are
			 * not needed for that, uid and modseq are) */
			if (job->seen == NULL)
				job->seen = mem_array(job->count, sizeof(*job->seen));
			job->seen[job->n_seen].uid = msgs[m].uid;
			job->seen[job->n_seen].flags = msgs[m].flags & STORE_FLAG_MASK;
			job->seen[job->n_seen].modseq = msgs[m].modseq;
			job->n_seen++;
		}
		memset(&msg, 0, sizeof(msg));
		msg.seq = job->seqs[i];
		msg.uid = msgs[m].uid;
		msg.flags = msgs[m].flags & STORE_FLAG_MASK;
		msg.keywords = msgs[m].keywords;
		msg.modseq = msgs[m].modseq;
		msg.internaldate = msgs[m].internaldate;
		msg.savedate = msgs[m].savedate;
		msg.size = msgs[m].size;
		/* RFC 8474 5.1: EMAILID from the body blob, which copies share
		 * (allowed there); THREADID stays NIL (5.2: no threading) */
		if (msgs[m].blob_id[0] != '\0') {
			emailid[0] = 'M';
			memcpy(emailid + 1, msgs[m].blob_id, sizeof(msgs[m].blob_id));
			msg.emailid = emailid;
		}
		if (content) {
			int ret = serve_imap_body_map(store, job->mailbox_id, msg.uid, &data, &len);

			if (ret == 0)
				continue;
			if (ret < 0) {
				job->result = IMAP_MAILBOX_TEMPFAIL;
				job->text = "Cannot read the message now";
				return false;
			}
			msg.data = data != NULL ? data : (const uint8_t *)"";
			msg.size = len;
		}
		if (imap_server_recent_contains(job->recent, job->recent_count, msg.uid))
			msg.flags |= IMAP_FLAG_RECENT;
		r = imap_fetch_render(job->items, &msg, flags, &job->out);
		if (r == IMAP_FETCH_RENDER_OK)
			(void)imap_keywords_add(&job->keywords, msg.keywords);
		imap_message_deinit(&msg);
		serve_imap_body_unmap(data, len);
		if (r == IMAP_FETCH_RENDER_UNKNOWN_CTE) {
			job->result = IMAP_MAILBOX_CANNOT;
			job->text = IMAP_FETCH_UNKNOWN_CTE_TEXT;
			return false;
		}
		if (r != IMAP_FETCH_RENDER_OK) {
			job->result = IMAP_MAILBOX_TEMPFAIL;
			job->text = "Response too big";
			return false;
		}
	}
	return true;
}

static void
fetch_work(struct serve_imap_job *base)
{
	struct fetch_job *job = (struct fetch_job *)base;
	struct store *store = base->srv->store;
	struct store_message *msgs = NULL;
	uint32_t *changed = NULL;
	size_t n_msgs = 0, n_changed = 0;
	int ret = 1;

	job->result = IMAP_MAILBOX_OK;
	if (job->vanished)
		ret = fetch_vanished(job, store);
	if (ret == 1 && job->count > 0 && job->set_seen) {
		ret = fetch_list(job, store, true, &msgs, &n_msgs);
		if (ret == 1)
			ret = fetch_set_seen(job, store, msgs, n_msgs, &changed, &n_changed);
		store_message_list_free(&msgs, n_msgs);
		n_msgs = 0;
	}
	if (ret == 1 && job->count > 0)
		ret = fetch_list(job, store, false, &msgs, &n_msgs);
	if (ret != 1) {
		job->result = ret == 0 ? IMAP_MAILBOX_NONEXISTENT : IMAP_MAILBOX_TEMPFAIL;
		job->text = ret == 0 ? "Mailbox no longer exists" : "Cannot read the mailbox now";
	} else if (job->count > 0) {
		fetch_render_all(job, store, msgs, n_msgs, changed, n_changed);
		store_message_list_free(&msgs, n_msgs);
	}
	mem_free(&changed);
}

static void
fetch_done(struct serve_imap_job *base)
{
	struct fetch_job *job = (struct fetch_job *)base;

	if (base->client != NULL) {
		if (buf_len(&job->keywords) > 0)
			imap_server_fetch_keywords(base->client->session, buf_cstr(&job->keywords));
		if (job->n_seen > 0 && job->result == IMAP_MAILBOX_OK)
			imap_server_fetch_known(base->client->session, job->seen, job->n_seen);
		imap_server_fetch_done(base->client->session, buf_data(&job->out),
				       buf_len(&job->out), job->result, job->text);
	}
	mem_free(&job->seen);
	imap_fetch_items_free(&job->items);
	mem_free(&job->uids);
	mem_free(&job->seqs);
	mem_free(&job->recent);
	buf_deinit(&job->out);
	buf_deinit(&job->keywords);
	mem_free(&job);
}

void
serve_imap_hook_fetch(void *ctx, struct imap_server_session *s,
		      const struct imap_fetch_request *req)
{
	struct imap_client *c = ctx;
	struct fetch_job *job;
	uint64_t mailbox_id = serve_imap_selected_mailbox(c);

	if (mailbox_id == 0) {
		imap_server_fetch_done(s, NULL, 0, IMAP_MAILBOX_NONEXISTENT, "No mailbox selected");
		return;
	}
	job = mem_zalloc(sizeof(*job));
	job->base.work = fetch_work;
	job->base.done = fetch_done;
	job->items = imap_fetch_items_ref(req->items);
	job->uids = mem_array(req->count + 1, sizeof(uint32_t));
	job->seqs = mem_array(req->count + 1, sizeof(uint32_t));
	if (req->count > 0) {
		memcpy(job->uids, req->uids, req->count * sizeof(uint32_t));
		memcpy(job->seqs, req->seqs, req->count * sizeof(uint32_t));
	}
	job->count = req->count;
	job->mailbox_id = mailbox_id;
	job->set_seen = req->set_seen;
	job->vanished = req->items->vanished;
	job->changedsince = req->changedsince;
	job->render_flags = (req->utf8 ? IMAP_FETCH_RENDER_UTF8 : 0) |
			    (req->rev2 ? IMAP_FETCH_RENDER_REV2 : 0);
	if (req->recent_count > 0) {
		job->recent = mem_memdup(req->recent,
					 mem_size_mul(req->recent_count, sizeof(*req->recent)));
		job->recent_count = req->recent_count;
	}
	/* the output is the process's own (bounded by the engine's chunks) */
	buf_init(&job->out, 0);
	buf_init(&job->keywords, 0);
	serve_imap_job_start(c, &job->base);
}
