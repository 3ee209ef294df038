/*
 * serve-imap-search.c - the SEARCH/SORT/THREAD hook: a worker job that
 * walks the selected mailbox's messages in the client's view, matches each
 * with imap_search_match(), keeps the SORT/THREAD keys of the matches
 * (imap_sort_item_init) and answers with imap_server_search_done().
 *
 * Bodies are mapped one message at a time, and only when the program reads
 * content (imap_search_needs_content()); a big mailbox costs one body's
 * mapping plus the small keys of the matches. Messages of the view that the
 * store no longer has (expunged meanwhile) are skipped.
 *
 * Does not: index (every search reads the messages it needs), run on the
 * event loop (store calls and matching are the worker's).
 */
#include "bin/serve-imap.h"

#include "core/mem.h"
#include "imap/imap-message.h"
#include "imap/imap-search.h"

#include <string.h>
#include <time.h>

struct search_job {
	struct serve_imap_job base; /* first */
	struct imap_search_program *prog;
	uint32_t *view; /* the engine's view, ascending UIDs */
	size_t view_count;
	uint64_t mailbox_id;
	bool uid;
	bool want_modseqs; /* imap_search_request.want_modseqs */
	int64_t now;
	struct imap_recent_range *recent; /* the session's \Recent UIDs */
	size_t recent_count;
	/* answer */
	enum imap_mailbox_result result;
	uint32_t *uids;
	uint64_t *modseqs; /* of uids[i]; NULL unless want_modseqs */
	size_t count;
	char *thread;
	uint64_t highest_modseq;
};

static void
search_work(struct serve_imap_job *base)
{
	struct search_job *job = (struct search_job *)base;
	struct store *store = base->srv->store;
	const struct imap_search_program *prog = job->prog;
	enum imap_search_kind kind = imap_search_program_kind(prog);
	bool content = imap_search_needs_content(prog);
	struct store_message *msgs;
	struct imap_sort_item *items = NULL;
	size_t n_msgs, n_items = 0, m = 0;
	int ret;

	ret = store_message_list(store, job->mailbox_id, NULL, &msgs, &n_msgs, NULL);
	if (ret != 1) {
		job->result = ret == 0 ? IMAP_MAILBOX_NONEXISTENT : IMAP_MAILBOX_TEMPFAIL;
		return;
	}
	job->uids = mem_array(job->view_count + 1, sizeof(uint32_t));
	if (job->want_modseqs)
		job->modseqs = mem_array(job->view_count + 1, sizeof(uint64_t));
	if (kind != IMAP_SEARCH_KIND_SEARCH)
		items = mem_array(job->view_count + 1, sizeof(*items));
	job->result = IMAP_MAILBOX_OK;
	for (size_t i = 0; i < job->view_count; i++) {
		struct imap_message msg;
		char emailid[STORE_BLOB_ID_LEN + 2];
		const uint8_t *data = NULL;
		size_t len = 0;

		/* both lists ascend: advance the store's to this UID */
		while (m < n_msgs && msgs[m].uid < job->view[i])
			m++;
		if (m == n_msgs || msgs[m].uid != job->view[i])
			continue;
		memset(&msg, 0, sizeof(msg));
		msg.seq = (uint32_t)(i + 1);
		msg.uid = msgs[m].uid;
		msg.flags = msgs[m].flags & STORE_FLAG_MASK;
		/* RFC 3501 6.4.4: RECENT, NEW and OLD test it */
		if (imap_server_recent_contains(job->recent, job->recent_count, msg.uid))
			msg.flags |= IMAP_FLAG_RECENT;
		msg.keywords = msgs[m].keywords;
		msg.modseq = msgs[m].modseq;
		msg.internaldate = msgs[m].internaldate;
		msg.savedate = msgs[m].savedate;
		msg.size = msgs[m].size;
		/* SEARCH EMAILID (RFC 8474 6): the same id FETCH EMAILID gives
		 * (serve-imap-fetch.c); no THREADID, so SEARCH THREADID finds
		 * nothing */
		if (msgs[m].blob_id[0] != '\0') {
			emailid[0] = 'M';
			memcpy(emailid + 1, msgs[m].blob_id, sizeof(msgs[m].blob_id));
			msg.emailid = emailid;
		}
		if (content) {
			ret = serve_imap_body_map(store, job->mailbox_id, msg.uid, &data, &len);
			if (ret == 0)
				continue;
			if (ret < 0) {
				job->result = IMAP_MAILBOX_TEMPFAIL;
				break;
			}
			msg.data = data != NULL ? data : (const uint8_t *)"";
			msg.size = len;
		}
		if (imap_search_match(prog, &msg, job->now)) {
			if (job->modseqs != NULL)
				job->modseqs[job->count] = msg.modseq;
			job->uids[job->count++] = msg.uid;
			if (msg.modseq > job->highest_modseq)
				job->highest_modseq = msg.modseq;
			if (items != NULL)
				imap_sort_item_init(prog, &msg, &items[n_items++]);
		}
		imap_message_deinit(&msg);
		serve_imap_body_unmap(data, len);
	}
	store_message_list_free(&msgs, n_msgs);
	if (job->result == IMAP_MAILBOX_OK && kind == IMAP_SEARCH_KIND_SORT) {
		imap_sort_items(prog, items, n_items);
		for (size_t i = 0; i < n_items; i++)
			job->uids[i] = items[i].uid;
	} else if (job->result == IMAP_MAILBOX_OK && kind == IMAP_SEARCH_KIND_THREAD) {
		struct buf out;

		buf_init(&out, 0);
		imap_thread_render(prog, items, n_items, job->uid, &out);
		job->thread = buf_steal_str(&out);
		buf_deinit(&out);
	}
	for (size_t i = 0; i < n_items; i++)
		imap_sort_item_deinit(&items[i]);
	mem_free(&items);
}

static void
search_done(struct serve_imap_job *base)
{
	struct search_job *job = (struct search_job *)base;

	if (base->client != NULL) {
		struct imap_search_result res;

		memset(&res, 0, sizeof(res));
		res.uids = job->uids;
		res.count = job->count;
		res.thread = job->thread;
		res.highest_modseq = job->highest_modseq;
		/* SORT reorders uids only (and never asks for them) */
		if (imap_search_program_kind(job->prog) == IMAP_SEARCH_KIND_SEARCH)
			res.modseqs = job->modseqs;
		imap_server_search_done(
		        base->client->session, job->result == IMAP_MAILBOX_OK ? &res : NULL,
		        job->result,
		        job->result == IMAP_MAILBOX_OK ? NULL : "Cannot search the mailbox now");
	}
	imap_search_program_free(&job->prog);
	mem_free(&job->view);
	mem_free(&job->recent);
	mem_free(&job->uids);
	mem_free(&job->modseqs);
	mem_free(&job->thread);
	mem_free(&job);
}

void
serve_imap_hook_search(void *ctx, struct imap_server_session *s,
                       const struct imap_search_request *req)
{
	struct imap_client *c = ctx;
	struct search_job *job;
	uint64_t mailbox_id = serve_imap_selected_mailbox(c);

	if (mailbox_id == 0) {
		imap_server_search_done(s, NULL, IMAP_MAILBOX_NONEXISTENT, "No mailbox selected");
		return;
	}
	job = mem_zalloc(sizeof(*job));
	job->base.work = search_work;
	job->base.done = search_done;
	/* the program is the engine's: keep a reference for the worker */
	job->prog = imap_search_program_ref(req->program);
	job->view = mem_array(req->count + 1, sizeof(uint32_t));
	if (req->count > 0)
		memcpy(job->view, req->uids, req->count * sizeof(uint32_t));
	job->view_count = req->count;
	if (req->recent_count > 0) {
		job->recent = mem_memdup(req->recent,
					 mem_size_mul(req->recent_count, sizeof(*req->recent)));
		job->recent_count = req->recent_count;
	}
	job->mailbox_id = mailbox_id;
	job->uid = req->uid;
	job->want_modseqs = req->want_modseqs;
	job->now = (int64_t)time(NULL);
	serve_imap_job_start(c, &job->base);
}
