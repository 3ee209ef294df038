/*
 * imap-server-fetch.c - FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9), with
 * the CHANGEDSINCE and VANISHED modifiers (RFC 7162 3.1.4, 3.2.6).
 *
 * What it does: resolves the set against the view (imap-server-view.c),
 * parses the items (imap-fetch.h), decides whether \Seen is to be set (a
 * non-PEEK body item, a read-write mailbox and the "s" right, RFC 4314 4),
 * and hands the messages to hooks->message_fetch in chunks of bounded size
 * (a few messages when their content is needed, more for metadata), writing
 * each chunk's responses as they come. The command ends through
 * imap_server_finish(): non-UID FETCH may not report expunges (RFC 9051
 * 7.5.1), UID FETCH may.
 *
 * What it does not do: read or render messages (the glue, on workers, with
 * imap_fetch_render()).
 *
 * Errors: syntax (set, items, modifiers) is BAD; a sequence number beyond
 * the mailbox is BAD (RFC 9051 6.4); the glue's failure is NO with its
 * code; a BINARY of an unknown transfer encoding is NO [UNKNOWN-CTE] (RFC
 * 3516 4.3), which the glue reports as IMAP_MAILBOX_CANNOT with the text
 * IMAP_FETCH_UNKNOWN_CTE_TEXT.
 *
 * Invariants: s->fetch is set exactly while a FETCH runs (until its tagged
 * reply); at most one message_fetch is outstanding; a glue that completes
 * inside the hook does not make the chunks recurse (the loop in
 * fetch_continue runs them).
 */
#include "imap/imap-server-private.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "imap/imap-fetch.h"
#include "imap/imap-seqset.h"

/* Messages per message_fetch request: content can be large (the glue
 * holds one request's responses in memory), metadata is small. */
#define FETCH_CHUNK_CONTENT 20
#define FETCH_CHUNK_METADATA 500
/* Longest text of the glue's kept for a NO. */
#define FETCH_MAX_TEXT 200

struct imap_server_fetch {
	struct imap_fetch_items *items;
	uint32_t *uids, *seqs;
	size_t count;
	size_t next;            /* first message of the next chunk */
	size_t chunk_max;
	bool uid;
	bool set_seen;
	uint64_t changedsince;
	bool started;           /* a request was made */
	bool in_hook;           /* inside shooks.message_fetch */
	bool completed;         /* the request made inside the hook completed */
	bool failed;
	enum imap_mailbox_result result;
	bool unknown_cte;
	char text[FETCH_MAX_TEXT + 1];
};

void
imap_server_fetch_free(struct imap_server_session *s)
{
	struct imap_server_fetch *f = s->fetch;

	if (f == NULL)
		return;
	imap_fetch_items_free(&f->items);
	mem_free(&f->uids);
	mem_free(&f->seqs);
	mem_free(&s->fetch);
}

static void
fetch_ok(struct imap_server_session *s)
{
	/* (a HIGHESTMODSEQ for CONDSTORE just enabled went out in
	 * imap_server_finish, RFC 7162 3.1) */
	imap_server_fetch_free(s);
	imap_server_ok(s, NULL, s->cmd_uid ? "UID FETCH completed" : "FETCH completed");
}

/* Every chunk done (or one failed): the tagged reply. */
static void
fetch_end(struct imap_server_session *s)
{
	struct imap_server_fetch *f = s->fetch;
	bool uid = f->uid;

	s->pending = IMAP_PENDING_NONE;
	f->next = f->count; /* nothing more to request */
	if (f->failed) {
		if (f->unknown_cte)
			imap_server_no(s, "UNKNOWN-CTE", "Cannot decode the part's "
				       "Content-Transfer-Encoding");
		else
			imap_server_no(s, imap_server_result_code(f->result),
				       f->text[0] != '\0' ? f->text : "FETCH failed");
		imap_server_fetch_free(s);
		return;
	}
	/* s->fetch is freed by fetch_ok, after the sync */
	imap_server_finish(s, uid ? IMAP_SYNC_FULL : IMAP_SYNC_NO_EXPUNGE, false, fetch_ok);
}

/* Make requests until one is outstanding or all are done. */
static void
fetch_continue(struct imap_server_session *s)
{
	for (;;) {
		struct imap_server_fetch *f = s->fetch;
		struct imap_fetch_request req;
		size_t n;
		bool was_held;

		if (imap_server_dead(s))
			return;
		if (f->failed || (f->next >= f->count && f->started)) {
			fetch_end(s);
			return;
		}
		n = f->count - f->next;
		if (n > f->chunk_max)
			n = f->chunk_max;
		memset(&req, 0, sizeof(req));
		req.items = f->items;
		req.uids = f->uids + f->next;
		req.seqs = f->seqs + f->next;
		req.count = n;
		req.set_seen = f->set_seen;
		req.changedsince = f->changedsince;
		req.utf8 = s->utf8_enabled;
		req.rev2 = s->rev2_enabled;
		req.recent = s->sel->recent;
		req.recent_count = s->sel->recent_count;
		f->next += n;
		f->started = true;
		f->completed = false;
		f->in_hook = true;
		s->pending = IMAP_PENDING_FETCH;
		imap_server_flush(s);
		if (imap_server_dead(s))
			return;
		was_held = imap_server_hold(s);
		s->shooks.message_fetch(s->hook_ctx, s, &req);
		s->processing = was_held;
		if (imap_server_dead(s) || s->fetch != f)
			return;
		f->in_hook = false;
		if (!f->completed)
			return;
	}
}

void
imap_server_fetch_done(struct imap_server_session *s, const uint8_t *responses, size_t len,
		       enum imap_mailbox_result result, const char *text)
{
	struct imap_server_fetch *f = s->fetch;

	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_FETCH || f == NULL)
		PANIC("imap_server_fetch_done without a fetch hook in progress");
	imap_server_ref(s);
	imap_server_write(s, responses, len);
	/* VANISHED goes with the first request only */
	f->items->vanished = false;
	if (result != IMAP_MAILBOX_OK) {
		size_t n = 0;

		f->failed = true;
		f->result = result;
		f->unknown_cte = result == IMAP_MAILBOX_CANNOT && text != NULL &&
				 strcmp(text, IMAP_FETCH_UNKNOWN_CTE_TEXT) == 0;
		/* the glue's text goes into a response line: printable only */
		for (; text != NULL && text[n] != '\0' && n < FETCH_MAX_TEXT; n++) {
			unsigned char c = (unsigned char)text[n];

			f->text[n] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
		}
		f->text[n] = '\0';
	}
	if (f->in_hook) {
		/* fetch_continue goes on when the hook returns */
		f->completed = true;
	} else {
		fetch_continue(s);
		imap_server_resume(s);
		imap_server_flush(s);
	}
	imap_server_unref(s);
}

/* FETCH modifiers (RFC 7162 3.1.4, 3.2.6): 1 ok, 0 BAD (*error_r). */
static int
fetch_parse_modifiers(struct imap_server_session *s, struct imap_server_fetch *f,
		      const struct imap_arg *arg, bool *vanished_r, const char **error_r)
{
	const struct imap_arg *list;
	unsigned count;
	bool changedsince = false;

	*vanished_r = false;
	if (!imap_arg_get_list(arg, &list, &count) || count == 0) {
		*error_r = "Invalid FETCH modifiers";
		return 0;
	}
	/* "FETCH 1 PREVIEW (LAZY)": the list is PREVIEW's (RFC 8970 3.1) */
	if (count == 1 && imap_arg_atom_equals(&list[0], "LAZY") &&
	    imap_fetch_items_has(f->items, IMAP_FETCH_PREVIEW) && f->items->count == 1)
		return 1;
	for (unsigned i = 0; i < count; i++) {
		if (imap_arg_atom_equals(&list[i], "CHANGEDSINCE") && i + 1 < count &&
		    !changedsince) {
			/* mod-sequence-valzer: 0 is allowed (every message) */
			if (!imap_arg_get_number64(&list[i + 1], &f->changedsince)) {
				*error_r = "Invalid CHANGEDSINCE value";
				return 0;
			}
			changedsince = true;
			i++;
		} else if (imap_arg_atom_equals(&list[i], "VANISHED") && !*vanished_r) {
			*vanished_r = true;
		} else {
			*error_r = "Unknown FETCH modifier";
			return 0;
		}
	}
	if (*vanished_r && (!f->uid || !s->qresync_enabled || !changedsince)) {
		/* RFC 7162 3.2.6: UID FETCH only, with CHANGEDSINCE, QRESYNC on */
		*error_r = "VANISHED needs UID FETCH, CHANGEDSINCE and QRESYNC";
		return 0;
	}
	if (changedsince) {
		/* RFC 7162 3.1: CHANGEDSINCE is a CONDSTORE-enabling command;
		 * 3.1.4.1: the responses then include MODSEQ */
		imap_server_condstore_enable(s);
		imap_fetch_items_add(f->items, IMAP_FETCH_MODSEQ);
	}
	return 1;
}

void
imap_server_fetch_run(struct imap_server_session *s, const struct imap_arg *args,
		      unsigned n_args, bool uid)
{
	struct imap_server_fetch *f;
	const char *error = NULL;
	bool vanished = false;

	imap_server_fetch_free(s);
	f = mem_zalloc(sizeof(*f));
	s->fetch = f;
	f->uid = uid;
	if (imap_fetch_parse(&args[1], &f->items, &error) < 0 ||
	    imap_server_resolve_set(s, &args[0], uid, &f->uids, &f->count, &error) <= 0 ||
	    (n_args > 2 && fetch_parse_modifiers(s, f, &args[2], &vanished, &error) <= 0)) {
		imap_server_fetch_free(s);
		imap_server_bad_command(s, s->cmd_tag, error);
		return;
	}
	if (uid)
		imap_fetch_items_add(f->items, IMAP_FETCH_UID);
	/* RFC 7162 3.1: FETCH of MODSEQ is a CONDSTORE-enabling command */
	if (imap_fetch_items_has(f->items, IMAP_FETCH_MODSEQ))
		imap_server_condstore_enable(s);
	f->items->condstore = s->condstore_enabled;
	if (vanished) {
		struct imap_seqset set;
		const char *text;

		/* the UID set as given: expunged UIDs are not in the view */
		imap_seqset_init(&set);
		if (imap_arg_get_atom(&args[0], &text) &&
		    imap_seqset_parse(text, args[0].str_len, IMAP_SEQ_STAR, IMAP_SEQSET_KEEP_STAR,
				      IMAP_SEQSET_DEFAULT_MAX_RANGES, &set, &error) > 0 &&
		    set.count > 0) {
			f->items->vanished = true;
			f->items->vanished_since = f->changedsince;
			f->items->vanished_set = mem_memdup(set.ranges,
							    mem_size_mul(set.count,
									 sizeof(*set.ranges)));
			f->items->vanished_set_count = set.count;
		}
		imap_seqset_deinit(&set);
	}
	f->set_seen = imap_fetch_sets_seen(f->items) && !s->sel->readonly &&
		      imap_server_has_right(s, 's');
	f->seqs = mem_array(f->count + 1, sizeof(*f->seqs));
	for (size_t i = 0; i < f->count; i++)
		f->seqs[i] = imap_server_seq_of(s, f->uids[i]);
	f->chunk_max = imap_fetch_needs_content(f->items) ? FETCH_CHUNK_CONTENT
							  : FETCH_CHUNK_METADATA;
	if (f->count == 0 && !f->items->vanished) {
		/* nothing to fetch (a UID set of gone messages): just OK */
		fetch_end(s);
		return;
	}
	fetch_continue(s);
}

void
imap_server_cmd_fetch(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_fetch_run(s, cmd->args, cmd->n_args, false);
}

void
imap_server_fetch_keywords(struct imap_server_session *s, const char *keywords)
{
	if (s->sel != NULL && s->pending == IMAP_PENDING_FETCH)
		imap_server_view_keywords(s, keywords);
}

void
imap_server_fetch_known(struct imap_server_session *s, const struct imap_message_change *changes,
			size_t count)
{
	if (s->sel != NULL && s->pending == IMAP_PENDING_FETCH)
		imap_server_view_known_add(s, changes, count);
}
