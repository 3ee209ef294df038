/*
 * serve-imap-select.c - IMAP glue for the selected state: the select, sync,
 * unselect and expunge hooks over the store, and change notification
 * (store_notify_subscribe) handed from the committing thread to the event
 * loop, so that an IDLE session (RFC 2177) sees a delivery at once.
 *
 * Does not: decide what the client is told (the engine turns the views
 * this file reports into EXISTS, EXPUNGE/VANISHED and FETCH responses),
 * FETCH, SEARCH, STORE, COPY (their own serve-imap-*.c files).
 *
 * Hand-off: the store calls select_notify() on whichever thread committed
 * the change. It only marks the client's watch under the hub's mutex, puts
 * it on the hub's pending list (once however many changes come) and wakes
 * the loop through the hub's eventfd; on the loop the hub calls
 * imap_server_mailbox_changed(). The hub is one per process (this process
 * has one loop), created with the first subscription and kept until exit.
 *
 * Invariants: a watch is on the hub's list exactly while w->queued (both
 * under hub.lock); w->client is set (loop thread only) while the watch is
 * the client's c->sel; a watch is freed only after store_notify_unsubscribe
 * returned (no callback running or to come) and it was taken off the list.
 * A select job owns its watch until its done callback installs or frees it.
 *
 * \Recent (RFC 3501 2.3.2): an IMAP4rev1 SELECT claims the messages no
 * session has claimed (store_mailbox_claim_recent) and each sync that finds
 * messages new to the session claims those that are still unclaimed; an
 * EXAMINE only looks (store_mailbox_recent) and claims nothing; an
 * IMAP4rev2 session does neither (RFC 9051 appendix E).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bin/serve-imap.h"
#include "core/loop.h"
#include "core/mem.h"
#include "imap/imap-flags.h"
#include "imap/imap-seqset.h"

/* What a session does with \Recent. */
enum select_recent {
	SELECT_RECENT_NONE,   /* IMAP4rev2 */
	SELECT_RECENT_PEEK,   /* EXAMINE: shows the unclaimed ones */
	SELECT_RECENT_CLAIM,  /* SELECT */
};

struct serve_imap_selected {
	struct imap_client *client;   /* loop thread; NULL until installed */
	enum select_recent recent;
	uint32_t seen_uidnext;        /* loop thread: the view's UIDNEXT so far */
	uint64_t mailbox_id;
	uint64_t owner_id;
	char *name;                   /* as the engine named it */
	uint32_t uidvalidity;
	char *keywords;               /* every keyword seen in the mailbox, "" none */
	struct store_notify_sub *sub;
	/* under hub.lock */
	uint64_t notified_modseq;     /* highest modseq a notification reported */
	bool queued;
	struct serve_imap_selected *next;
};

static struct {
	pthread_mutex_t lock;
	int efd;
	struct loop *loop;
	struct loop_io *io;
	struct serve_imap_selected *head; /* pending, under lock */
} hub = { .lock = PTHREAD_MUTEX_INITIALIZER, .efd = -1 };

/* ---- the cross-thread hand-off ---- */

/* Any thread: the store committed a change of w's mailbox. */
static void
select_notify(void *ctx, uint64_t mailbox_id, uint64_t modseq)
{
	struct serve_imap_selected *w = ctx;
	bool wake = false;
	uint64_t one = 1;

	pthread_mutex_lock(&hub.lock);
	if (modseq > w->notified_modseq)
		w->notified_modseq = modseq;
	if (!w->queued) {
		w->queued = true;
		w->next = hub.head;
		hub.head = w;
		wake = true;
	}
	pthread_mutex_unlock(&hub.lock);
	/* a full counter (EAGAIN) still wakes the loop */
	if (wake && write(hub.efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		PANIC("eventfd write: %s", strerror(errno));
}

/* Loop thread: hand every pending watch to its session, one at a time so
 * that a session freed meanwhile takes its own watch off the list. */
static void
select_hub_event(void *ctx, unsigned events)
{
	uint64_t n;

	if (read(hub.efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		PANIC("eventfd read: %s", strerror(errno));
	for (unsigned budget = 0; budget < 100000; budget++) {
		struct serve_imap_selected *w;

		pthread_mutex_lock(&hub.lock);
		w = hub.head;
		if (w != NULL) {
			hub.head = w->next;
			w->next = NULL;
			w->queued = false;
		}
		pthread_mutex_unlock(&hub.lock);
		if (w == NULL)
			break;
		if (w->client != NULL && w->client->session != NULL)
			imap_server_mailbox_changed(w->client->session);
	}
}

static void
select_hub_init(struct loop *loop)
{
	if (hub.loop == loop)
		return;
	if (hub.efd < 0) {
		hub.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (hub.efd < 0)
			PANIC("eventfd: %s", strerror(errno));
	}
	/* one loop per process; a new one (tests) takes the hub over */
	hub.loop = loop;
	hub.io = loop_io_add(loop, hub.efd, LOOP_READ, select_hub_event, NULL);
}

static struct serve_imap_selected *
select_watch_new(const char *name)
{
	struct serve_imap_selected *w = mem_zalloc(sizeof(*w));

	w->name = mem_strdup(name);
	w->keywords = mem_strdup("");
	return w;
}

/* Stop notification and free (loop thread). */
static void
select_watch_free(struct serve_imap_selected **wp)
{
	struct serve_imap_selected *w = *wp;

	if (w == NULL)
		return;
	*wp = NULL;
	/* waits for a callback in flight; none runs after it */
	store_notify_unsubscribe(&w->sub);
	pthread_mutex_lock(&hub.lock);
	if (w->queued) {
		for (struct serve_imap_selected **p = &hub.head; *p != NULL; p = &(*p)->next) {
			if (*p == w) {
				*p = w->next;
				break;
			}
		}
		w->queued = false;
	}
	pthread_mutex_unlock(&hub.lock);
	mem_free(&w->name);
	mem_free(&w->keywords);
	mem_free(&w);
}

static uint64_t
select_watch_notified(struct serve_imap_selected *w)
{
	uint64_t m;

	pthread_mutex_lock(&hub.lock);
	m = w->notified_modseq;
	pthread_mutex_unlock(&hub.lock);
	return m;
}

static enum imap_mailbox_result
select_result(int ret)
{
	return ret > 0 ? IMAP_MAILBOX_OK : ret == 0 ? IMAP_MAILBOX_NONEXISTENT
						    : IMAP_MAILBOX_TEMPFAIL;
}

/* ---- \Recent ---- */

/* Worker: the messages [from, upto) are new to the session: claim them or,
 * read-only, find those nobody claimed (RFC 3501 2.3.2). Sets the view's
 * recent range; a store failure leaves it empty (nothing is recent, which
 * only costs the flag). */
static void
select_recent(struct store *store, enum select_recent mode, uint64_t mailbox_id, uint32_t from,
	      uint32_t upto, struct imap_mailbox_view *view)
{
	uint32_t first = 0, end = 0, count;

	view->recent_first = 0;
	view->recent_end = 0;
	if (mode == SELECT_RECENT_NONE || upto <= from)
		return;
	if (mode == SELECT_RECENT_CLAIM) {
		if (store_mailbox_claim_recent(store, mailbox_id, upto, &first, &end, NULL) != 1)
			return;
	} else {
		if (store_mailbox_recent(store, mailbox_id, &first, &count, NULL) != 1)
			return;
		end = upto;
	}
	if (first < from)
		first = from;
	if (first < end) {
		view->recent_first = first;
		view->recent_end = end;
	}
}

/* ---- SELECT / EXAMINE ---- */

struct select_job {
	struct serve_imap_job base;
	struct serve_imap_selected *w;
	struct imap_select_params params;
	char *known_uids;
	/* results */
	enum imap_mailbox_result result;
	struct imap_mailbox_view view;
	char rights[STORE_ACL_RIGHTS_SIZE];
	char mailboxid[SERVE_IMAP_MAILBOXID_SIZE];
	struct store_message *msgs;
	size_t msg_count;
	uint32_t *uids, *vanished;
	struct imap_message_change *changes;
};

/* RFC 7162 3.2.5.1: only the client's known UIDs, when it sent them. */
static bool
select_known(const struct imap_seqset *known, uint32_t uid)
{
	return known == NULL || imap_seqset_contains(known, uid);
}

static void
select_qresync(struct select_job *job, struct store *store)
{
	struct imap_seqset known_set, *known = NULL;
	size_t n = 0, nv = 0;
	uint32_t *vanished = NULL;
	size_t vcount = 0;
	const char *error;

	if (job->known_uids != NULL) {
		imap_seqset_init(&known_set);
		if (imap_seqset_parse(job->known_uids, strlen(job->known_uids),
				      job->view.uidnext > 1 ? job->view.uidnext - 1 : 1, 0,
				      IMAP_SEQSET_DEFAULT_MAX_RANGES, &known_set, &error) > 0)
			known = &known_set;
	}
	if (store_message_vanished(store, job->w->mailbox_id, job->params.qr_modseq, &vanished,
				   &vcount, NULL) == 1) {
		job->vanished = mem_array(vcount + 1, sizeof(*job->vanished));
		for (size_t i = 0; i < vcount; i++) {
			if (select_known(known, vanished[i]))
				job->vanished[nv++] = vanished[i];
		}
		mem_free(&vanished);
	}
	job->changes = mem_array(job->msg_count + 1, sizeof(*job->changes));
	for (size_t i = 0; i < job->msg_count; i++) {
		const struct store_message *m = &job->msgs[i];

		if (m->modseq > job->params.qr_modseq && select_known(known, m->uid)) {
			job->changes[n].uid = m->uid;
			job->changes[n].flags = m->flags & IMAP_FLAG_MASK;
			job->changes[n].keywords = m->keywords;
			job->changes[n].modseq = m->modseq;
			n++;
		}
	}
	job->view.vanished = job->vanished;
	job->view.vanished_count = nv;
	job->view.changes = job->changes;
	job->view.change_count = n;
	if (known != NULL)
		imap_seqset_deinit(known);
}

static void
select_work(struct serve_imap_job *base)
{
	struct select_job *job = (struct select_job *)base;
	struct store *store = base->srv->store;
	struct serve_imap_mailbox mb;
	int ret = serve_imap_mailbox_resolve(store, base->account_id, job->w->name, &mb);

	job->result = select_result(ret);
	if (ret != 1)
		return;
	if (strchr(mb.rights, 'r') == NULL) {
		/* RFC 4314 4: SELECT needs "r" ("l" is resolve's) */
		job->result = IMAP_MAILBOX_NOPERM;
		serve_imap_mailbox_deinit(&mb);
		return;
	}
	job->w->mailbox_id = mb.box.id;
	job->w->owner_id = mb.owner_id;
	job->w->uidvalidity = mb.box.uidvalidity;
	memcpy(job->rights, mb.rights, sizeof(job->rights));
	/* subscribe before listing: a change after the list is notified */
	job->w->sub = store_notify_subscribe(store, mb.box.id, select_notify, job->w);
	job->view.uidvalidity = mb.box.uidvalidity;
	job->view.uidnext = mb.box.uidnext;
	job->view.highest_modseq = mb.box.highest_modseq;
	serve_imap_mailboxid(&mb.box, job->mailboxid);
	job->view.mailboxid = job->mailboxid;
	serve_imap_mailbox_deinit(&mb);
	ret = store_message_list(store, job->w->mailbox_id, NULL, &job->msgs, &job->msg_count,
				 NULL);
	if (ret != 1) {
		job->result = select_result(ret);
		return;
	}
	job->uids = mem_array(job->msg_count + 1, sizeof(*job->uids));
	for (size_t i = 0; i < job->msg_count; i++) {
		const struct store_message *m = &job->msgs[i];

		job->uids[i] = m->uid;
		if (job->view.first_unseen_uid == 0 && (m->flags & STORE_FLAG_SEEN) == 0)
			job->view.first_unseen_uid = m->uid;
		/* a list read after the mailbox may hold newer messages */
		if (m->uid >= job->view.uidnext)
			job->view.uidnext = m->uid + 1;
		if (m->modseq > job->view.highest_modseq)
			job->view.highest_modseq = m->modseq;
	}
	job->view.uids = job->uids;
	job->view.count = job->msg_count;
	if (job->params.qresync && job->params.qr_uidvalidity == job->view.uidvalidity)
		select_qresync(job, store);
	select_recent(store, job->w->recent, job->w->mailbox_id, 0, job->view.uidnext,
		      &job->view);
}

static void
select_job_free(struct select_job *job)
{
	select_watch_free(&job->w);
	if (job->msgs != NULL)
		store_message_list_free(&job->msgs, job->msg_count);
	mem_free(&job->known_uids);
	mem_free(&job->uids);
	mem_free(&job->vanished);
	mem_free(&job->changes);
	mem_free(&job);
}

static void
select_done(struct serve_imap_job *base)
{
	struct select_job *job = (struct select_job *)base;
	struct imap_client *c = base->client;
	struct serve_imap_selected *w;
	uint64_t highest = job->view.highest_modseq;

	if (c == NULL || job->result != IMAP_MAILBOX_OK) {
		if (c != NULL)
			imap_server_select_done(c->session, NULL, job->result, NULL);
		select_job_free(job);
		return;
	}
	/* the client's watch from now on */
	w = job->w;
	job->w = NULL;
	select_watch_free(&c->sel);
	c->sel = w;
	w->client = c;
	for (size_t i = 0; i < job->msg_count; i++)
		(void)imap_keywords_merge(&w->keywords, job->msgs[i].keywords);
	job->view.keywords = w->keywords;
	job->view.rights = job->rights;
	w->seen_uidnext = job->view.uidnext;
	imap_server_select_done(c->session, &job->view, IMAP_MAILBOX_OK, NULL);
	/* a change between the list and now was notified to nobody */
	if (c->session != NULL && select_watch_notified(w) > highest)
		imap_server_mailbox_changed(c->session);
	select_job_free(job);
}

void
serve_imap_hook_select(void *ctx, struct imap_server_session *s, const char *name,
		       const struct imap_select_params *params)
{
	struct imap_client *c = ctx;
	struct select_job *job = mem_zalloc(sizeof(*job));

	select_hub_init(c->base.server->loop);
	/* the engine left the old mailbox before asking */
	select_watch_free(&c->sel);
	job->w = select_watch_new(name);
	job->w->recent = params->rev2	   ? SELECT_RECENT_NONE
			 : params->readonly ? SELECT_RECENT_PEEK
					    : SELECT_RECENT_CLAIM;
	job->params = *params;
	if (params->qr_known_uids != NULL)
		job->known_uids = mem_strdup(params->qr_known_uids);
	job->params.qr_known_uids = job->known_uids;
	job->base.work = select_work;
	job->base.done = select_done;
	serve_imap_job_start(c, &job->base);
}

void
serve_imap_hook_unselect(void *ctx, struct imap_server_session *s)
{
	struct imap_client *c = ctx;

	select_watch_free(&c->sel);
}

/* ---- sync ---- */

struct sync_job {
	struct serve_imap_job base;
	uint64_t mailbox_id;
	char *name;
	uint64_t since;
	uint64_t notified;
	enum select_recent recent;
	uint32_t seen_uidnext;
	/* results */
	enum imap_mailbox_result result;
	struct imap_mailbox_view view;
	bool have_rights;
	char rights[STORE_ACL_RIGHTS_SIZE];
	struct store_message *msgs;
	size_t msg_count;
	uint32_t *vanished;
	struct imap_message_change *changes;
};

static void
sync_work(struct serve_imap_job *base)
{
	struct sync_job *job = (struct sync_job *)base;
	struct store *store = base->srv->store;
	struct store_message_query q = { .changed_since = job->since };
	struct serve_imap_mailbox mb;
	size_t vcount = 0;
	int ret;

	/* the mailbox first: its HIGHESTMODSEQ must not be above what the
	 * lists below show */
	job->view.highest_modseq = job->since > job->notified ? job->since : job->notified;
	ret = serve_imap_mailbox_resolve(store, base->account_id, job->name, &mb);
	if (ret < 0) {
		job->result = IMAP_MAILBOX_TEMPFAIL;
		return;
	}
	if (ret == 1 && mb.box.id == job->mailbox_id) {
		job->view.uidvalidity = mb.box.uidvalidity;
		job->view.uidnext = mb.box.uidnext;
		job->view.highest_modseq = mb.box.highest_modseq;
		memcpy(job->rights, mb.rights, sizeof(job->rights));
		job->have_rights = true;
	}
	if (ret == 1)
		serve_imap_mailbox_deinit(&mb);
	ret = store_message_vanished(store, job->mailbox_id, job->since, &job->vanished, &vcount,
				     NULL);
	if (ret == 1)
		ret = store_message_list(store, job->mailbox_id, job->since > 0 ? &q : NULL,
					 &job->msgs, &job->msg_count, NULL);
	if (ret != 1) {
		/* 0: the mailbox (by id: a rename keeps it) was deleted */
		job->result = ret == 0 ? IMAP_MAILBOX_NONEXISTENT : IMAP_MAILBOX_TEMPFAIL;
		return;
	}
	job->result = IMAP_MAILBOX_OK;
	job->changes = mem_array(job->msg_count + 1, sizeof(*job->changes));
	for (size_t i = 0; i < job->msg_count; i++) {
		const struct store_message *m = &job->msgs[i];

		job->changes[i].uid = m->uid;
		job->changes[i].flags = m->flags & IMAP_FLAG_MASK;
		job->changes[i].keywords = m->keywords;
		job->changes[i].modseq = m->modseq;
		if (m->modseq > job->view.highest_modseq)
			job->view.highest_modseq = m->modseq;
		if (m->uid >= job->view.uidnext)
			job->view.uidnext = m->uid + 1;
	}
	job->view.vanished = job->vanished;
	job->view.vanished_count = vcount;
	job->view.changes = job->changes;
	job->view.change_count = job->msg_count;
	/* every UID below uidnext is in the list or expunged: the new ones
	 * the list shows are the ones to claim */
	select_recent(store, job->recent, job->mailbox_id, job->seen_uidnext, job->view.uidnext,
		      &job->view);
}

static void
sync_job_free(struct sync_job *job)
{
	if (job->msgs != NULL)
		store_message_list_free(&job->msgs, job->msg_count);
	mem_free(&job->name);
	mem_free(&job->vanished);
	mem_free(&job->changes);
	mem_free(&job);
}

static void
sync_done(struct serve_imap_job *base)
{
	struct sync_job *job = (struct sync_job *)base;
	struct imap_client *c = base->client;

	if (c == NULL) {
		sync_job_free(job);
		return;
	}
	if (c->sel != NULL && job->result == IMAP_MAILBOX_OK) {
		for (size_t i = 0; i < job->msg_count; i++)
			(void)imap_keywords_merge(&c->sel->keywords, job->msgs[i].keywords);
		job->view.keywords = c->sel->keywords;
		if (job->view.uidvalidity == 0)
			job->view.uidvalidity = c->sel->uidvalidity;
		if (job->view.uidnext > c->sel->seen_uidnext)
			c->sel->seen_uidnext = job->view.uidnext;
	}
	job->view.rights = job->have_rights ? job->rights : NULL;
	imap_server_sync_done(c->session, job->result == IMAP_MAILBOX_OK ? &job->view : NULL,
			      job->result);
	sync_job_free(job);
}

void
serve_imap_hook_sync(void *ctx, struct imap_server_session *s, uint64_t since_modseq)
{
	struct imap_client *c = ctx;
	struct sync_job *job;

	if (c->sel == NULL) {
		imap_server_sync_done(s, NULL, IMAP_MAILBOX_TEMPFAIL);
		return;
	}
	job = mem_zalloc(sizeof(*job));
	job->mailbox_id = c->sel->mailbox_id;
	job->name = mem_strdup(c->sel->name);
	job->since = since_modseq;
	job->notified = select_watch_notified(c->sel);
	job->recent = c->sel->recent;
	job->seen_uidnext = c->sel->seen_uidnext;
	job->base.work = sync_work;
	job->base.done = sync_done;
	serve_imap_job_start(c, &job->base);
}

/* ---- EXPUNGE, CLOSE, UID EXPUNGE ---- */

struct expunge_job {
	struct serve_imap_job base;
	uint64_t mailbox_id;
	uint32_t *uids;     /* asked, ascending */
	size_t count;
	/* results */
	int ret;
	uint32_t *gone;     /* expunged */
	size_t gone_count;
};

static bool
expunge_asked(const struct expunge_job *job, uint32_t uid)
{
	size_t lo = 0, hi = job->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (job->uids[mid] == uid)
			return true;
		if (job->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static void
expunge_work(struct serve_imap_job *base)
{
	struct expunge_job *job = (struct expunge_job *)base;
	struct store *store = base->srv->store;
	struct store_message_query q = { 0 };
	struct store_message *msgs = NULL;
	size_t n = 0;

	job->ret = 1;
	if (job->count == 0)
		return;
	q.uid_first = job->uids[0];
	q.uid_last = job->uids[job->count - 1];
	job->ret = store_message_list(store, job->mailbox_id, &q, &msgs, &n, NULL);
	if (job->ret != 1)
		return;
	job->gone = mem_array(n + 1, sizeof(*job->gone));
	for (size_t i = 0; i < n; i++) {
		/* RFC 9051 6.4.3: only messages with \Deleted */
		if ((msgs[i].flags & STORE_FLAG_DELETED) != 0 && expunge_asked(job, msgs[i].uid))
			job->gone[job->gone_count++] = msgs[i].uid;
	}
	store_message_list_free(&msgs, n);
	if (job->gone_count > 0)
		job->ret = store_message_expunge(store, job->mailbox_id, job->gone,
						 job->gone_count, NULL);
}

static void
expunge_done(struct serve_imap_job *base)
{
	struct expunge_job *job = (struct expunge_job *)base;
	struct imap_client *c = base->client;

	if (c != NULL) {
		if (job->ret == 1)
			imap_server_expunge_done(c->session, job->gone, job->gone_count,
						 IMAP_MAILBOX_OK, NULL);
		else
			imap_server_expunge_done(c->session, NULL, 0, select_result(job->ret),
						 NULL);
	}
	mem_free(&job->uids);
	mem_free(&job->gone);
	mem_free(&job);
}

void
serve_imap_hook_expunge(void *ctx, struct imap_server_session *s, const uint32_t *uids,
			size_t count)
{
	struct imap_client *c = ctx;
	struct expunge_job *job;

	if (c->sel == NULL) {
		imap_server_expunge_done(s, NULL, 0, IMAP_MAILBOX_NONEXISTENT, NULL);
		return;
	}
	job = mem_zalloc(sizeof(*job));
	job->mailbox_id = c->sel->mailbox_id;
	job->uids = count > 0 ? mem_memdup(uids, mem_size_mul(count, sizeof(*uids))) : NULL;
	job->count = count;
	job->base.work = expunge_work;
	job->base.done = expunge_done;
	serve_imap_job_start(c, &job->base);
}

/* ---- the client ---- */

void
serve_imap_select_free(struct imap_client *c)
{
	select_watch_free(&c->sel);
}

uint64_t
serve_imap_selected_mailbox(const struct imap_client *c)
{
	return c->sel != NULL ? c->sel->mailbox_id : 0;
}
