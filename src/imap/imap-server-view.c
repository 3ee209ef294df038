/*
 * imap-server-view.c - the selected mailbox as the client sees it: the UID
 * list (sequence number n is uids[n - 1]), sequence-set resolution, and the
 * untagged updates that keep the client's view in step with the mailbox
 * (RFC 9051 7.4.1 EXPUNGE, 7.3.1 EXISTS, 7.5.2 FETCH; RFC 7162 3.2.10
 * VANISHED, 3.1.4 MODSEQ): the sync through hooks->mailbox_sync and
 * imap_server_finish(), which every selected-state command ends with.
 *
 * Does not: the commands themselves (imap-server-select.c and the files
 * named in imap-server-private.h), message flags (the glue keeps them; the
 * engine only passes changes through), or any I/O.
 *
 * Expunges while a non-UID FETCH, STORE or SEARCH runs (RFC 9051 7.5.1)
 * are not reported: the message keeps its sequence number with its bit in
 * sel->gone set, commands skip it, and the next command that may report
 * expunges does so. EXPUNGE responses go out highest sequence number first,
 * so that each number is still valid when the client reads it.
 *
 * A sync answered IMAP_MAILBOX_NONEXISTENT means the selected mailbox is
 * gone: "* BYE" and close. Any other failure sends nothing and the next
 * NOOP or change notification tries again.
 *
 * Invariants: sel->uids is strictly ascending; gone bits exist for every
 * index below sel->count (the array is NULL while gone_count == 0 may also
 * hold); per-session memory is the UID array, one bit per message and the
 * saved search result, never per-message flags. sel->known (ascending by
 * uid, each uid once) holds what the session's own STOREs told the client,
 * with a modseq above the HIGHESTMODSEQ of the last sync: a sync skips a
 * change of such a uid with a modseq not above the known one, so neither a
 * change notification that comes before the STORE's tagged OK nor one that
 * comes after echoes the client's own change, while another session's later
 * change (a higher modseq) is still reported. A change a sync reports goes
 * into sel->known too, so that a reply of the session's own that read the
 * message earlier (a STORE whose sync ran before its reply) does not follow
 * it with a lower MODSEQ (RFC 7162 3.1: a message's modseq never goes down).
 *
 * \Recent (RFC 3501 2.3.2, IMAP4rev1 only): the glue claims messages for
 * the session and reports the UID range with the select or sync; the view
 * keeps at most IMAP_SERVER_RECENT_MAX disjoint ranges inline (no
 * per-message memory), shows \Recent in the flag updates it writes and
 * sends "* n RECENT" with EXISTS (RFC 3501 7.3.2).
 *
 * Keywords: the view's FLAGS list only grows; a keyword a response is about
 * to show that the list lacks goes out in "* FLAGS" first (RFC 9051 7.3.5).
 * CONDSTORE enabled by a command (RFC 7162 3.1) sends one "OK
 * [HIGHESTMODSEQ]" when that command ends (imap_server_finish); a
 * HIGHESTMODSEQ of 0 (a mailbox that never changed) goes out as 1.
 */
#include "imap/imap-server-private.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "imap/imap-flags.h"
#include "imap/imap-seqset.h"

/* ---- the UID array and gone bits ---- */

static bool
view_is_gone(const struct imap_server_selected *sel, size_t i)
{
	return sel->gone != NULL && (sel->gone[i / 8] & (1u << (i % 8))) != 0;
}

static void
view_reserve(struct imap_server_selected *sel, size_t want)
{
	size_t old_bytes = (sel->alloc + 7) / 8, new_alloc, new_bytes;

	if (want <= sel->alloc)
		return;
	new_alloc = sel->alloc < 16 ? 16 : sel->alloc;
	while (new_alloc < want)
		new_alloc = mem_size_mul(new_alloc, 2);
	sel->uids = mem_realloc(sel->uids, mem_size_mul(new_alloc, sizeof(*sel->uids)));
	if (sel->gone != NULL) {
		new_bytes = (new_alloc + 7) / 8;
		sel->gone = mem_realloc(sel->gone, new_bytes);
		memset(sel->gone + old_bytes, 0, new_bytes - old_bytes);
	}
	sel->alloc = new_alloc;
}

static void
view_mark_gone(struct imap_server_selected *sel, size_t i)
{
	if (view_is_gone(sel, i))
		return;
	if (sel->gone == NULL)
		sel->gone = mem_array((sel->alloc + 7) / 8, 1);
	sel->gone[i / 8] |= (uint8_t)(1u << (i % 8));
	sel->gone_count++;
}

/* Index of uid in the view, or -1. */
static ssize_t
view_index(const struct imap_server_selected *sel, uint32_t uid)
{
	size_t lo = 0, hi = sel->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sel->uids[mid] == uid)
			return (ssize_t)mid;
		if (sel->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static uint32_t
view_last_uid(const struct imap_server_selected *sel)
{
	return sel->count > 0 ? sel->uids[sel->count - 1] : 0;
}

void
imap_server_view_set(struct imap_server_selected *sel, const uint32_t *uids, size_t count)
{
	sel->count = 0;
	mem_free(&sel->gone);
	sel->gone_count = 0;
	view_reserve(sel, count);
	for (size_t i = 0; i < count; i++) {
		/* a glue that breaks the order would break every lookup */
		if (i > 0 && uids[i] <= uids[i - 1])
			continue;
		sel->uids[sel->count++] = uids[i];
	}
}

uint32_t
imap_server_seq_of(const struct imap_server_session *s, uint32_t uid)
{
	ssize_t i;

	if (s->sel == NULL)
		return 0;
	i = view_index(s->sel, uid);
	return i < 0 ? 0 : (uint32_t)i + 1;
}

bool
imap_server_has_right(const struct imap_server_session *s, char right)
{
	return s->sel != NULL && right != '\0' && strchr(s->sel->rights, right) != NULL;
}

/* ---- sequence sets ---- */

static int
resolve_uids(const struct imap_server_selected *sel, const struct imap_seqset *set,
	     uint32_t **uids_r, size_t *count_r)
{
	uint32_t *out = mem_array(sel->count + 1, sizeof(*out));
	size_t n = 0;

	/* walk the view, not the set: "1:4294967295" costs what the view does */
	for (size_t i = 0; i < sel->count; i++) {
		if (!view_is_gone(sel, i) && imap_seqset_contains(set, sel->uids[i]))
			out[n++] = sel->uids[i];
	}
	*uids_r = out;
	*count_r = n;
	return 1;
}

static int
resolve_seqs(const struct imap_server_selected *sel, const struct imap_seqset *set,
	     uint32_t **uids_r, size_t *count_r, const char **error_r)
{
	uint32_t *out;
	size_t n = 0;

	/* RFC 9051 9 (seq-number): a number above the message count, or "*"
	 * in an empty mailbox, names no message: the command is invalid */
	if (set->count == 0 || set->ranges[set->count - 1].last > sel->count) {
		*error_r = sel->count == 0 ? "No messages in the mailbox"
					   : "Message sequence number out of range";
		return 0;
	}
	out = mem_array(sel->count + 1, sizeof(*out));
	for (unsigned r = 0; r < set->count; r++) {
		for (uint32_t seq = set->ranges[r].first; seq <= set->ranges[r].last; seq++) {
			if (!view_is_gone(sel, seq - 1))
				out[n++] = sel->uids[seq - 1];
		}
	}
	*uids_r = out;
	*count_r = n;
	return 1;
}

/* "$" (RFC 5182 2.1): the saved result, without what is gone since. */
static int
resolve_saved(const struct imap_server_selected *sel, uint32_t **uids_r, size_t *count_r)
{
	uint32_t *out = mem_array(sel->saved_count + 1, sizeof(*out));
	size_t n = 0;

	/* RFC 5182 2.1: before any SEARCH ... SAVE the result is empty */
	for (size_t i = 0; sel->saved_valid && i < sel->saved_count; i++) {
		ssize_t at = view_index(sel, sel->saved[i]);

		if (at >= 0 && !view_is_gone(sel, (size_t)at))
			out[n++] = sel->saved[i];
	}
	*uids_r = out;
	*count_r = n;
	return 1;
}

int
imap_server_resolve_set(struct imap_server_session *s, const struct imap_arg *arg, bool uid,
			uint32_t **uids_r, size_t *count_r, const char **error_r)
{
	const struct imap_server_selected *sel = s->sel;
	struct imap_seqset set;
	const char *text;
	uint32_t star;
	int ret;

	*uids_r = NULL;
	*count_r = 0;
	ASSERT(sel != NULL);
	if (!imap_arg_get_atom(arg, &text)) {
		*error_r = "Invalid sequence set";
		return 0;
	}
	star = uid ? view_last_uid(sel) : (uint32_t)sel->count;
	imap_seqset_init(&set);
	if (imap_seqset_parse(text, arg->str_len, star, IMAP_SEQSET_ALLOW_DOLLAR,
			      IMAP_SEQSET_DEFAULT_MAX_RANGES, &set, error_r) < 0) {
		imap_seqset_deinit(&set);
		return 0;
	}
	if (set.searchres)
		ret = resolve_saved(sel, uids_r, count_r);
	else if (uid)
		ret = resolve_uids(sel, &set, uids_r, count_r);
	else
		ret = resolve_seqs(sel, &set, uids_r, count_r, error_r);
	imap_seqset_deinit(&set);
	return ret;
}

/* ---- untagged updates ---- */

static void
view_append_flag(struct buf *b, const char *flag)
{
	if (buf_len(b) > 0 && buf_append_byte(b, ' ') < 0)
		PANIC("unlimited buffer refused data");
	if (buf_append_str(b, flag) < 0)
		PANIC("unlimited buffer refused data");
}

/* The flags of a message or mailbox, space-separated, no parentheses. */
void
imap_server_view_flags(struct buf *b, unsigned flags, const char *keywords)
{
	const char *name;
	unsigned bit;

	/* \Recent is the caller's (it comes first in a FETCH, and never in
	 * FLAGS or PERMANENTFLAGS) */
	flags &= IMAP_FLAG_MASK;
	for (size_t i = 0; (name = imap_flag_at(i, &bit)) != NULL; i++) {
		if ((flags & bit) != 0)
			view_append_flag(b, name);
	}
	/* keywords are atoms (the store checked them); drop anything that
	 * could break the line */
	for (const char *p = keywords; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (imap_keyword_valid(p, n)) {
			if (buf_len(b) > 0)
				(void)buf_append_byte(b, ' ');
			(void)buf_append(b, p, n);
		}
		p += n;
		while (*p == ' ')
			p++;
	}
}

void
imap_server_write_flags(struct imap_server_session *s, const struct imap_message_change *c,
			bool with_uid)
{
	uint32_t seq = imap_server_seq_of(s, c->uid);
	struct buf flags, line;

	if (seq == 0 || view_is_gone(s->sel, seq - 1))
		return;
	/* RFC 9051 7.3.5: a keyword goes out in FLAGS before any message
	 * shows it (a STORE reply can come before the sync that would) */
	imap_server_view_keywords(s, c->keywords);
	buf_init(&flags, 0);
	buf_init(&line, 0);
	/* RFC 3501 2.3.2: \Recent first, as IMAP4rev1 servers list it */
	if (imap_server_recent_contains(s->sel->recent, s->sel->recent_count, c->uid))
		view_append_flag(&flags, "\\Recent");
	imap_server_view_flags(&flags, c->flags & IMAP_FLAG_MASK, c->keywords);
	(void)buf_printf(&line, "%" PRIu32 " FETCH (", seq);
	if (with_uid)
		(void)buf_printf(&line, "UID %" PRIu32 " ", c->uid);
	(void)buf_printf(&line, "FLAGS (%s)", buf_cstr(&flags));
	/* RFC 7162 3.1.4: MODSEQ in every untagged FETCH once CONDSTORE is on */
	if (s->condstore_enabled)
		(void)buf_printf(&line, " MODSEQ (%" PRIu64 ")", c->modseq);
	(void)buf_append_byte(&line, ')');
	imap_server_untagged(s, "%s", buf_cstr(&line));
	buf_deinit(&line);
	buf_deinit(&flags);
}

/* Report every gone message and drop it from the view: "* VANISHED set"
 * once QRESYNC is enabled (RFC 7162 3.2.10), else "* n EXPUNGE" from the
 * highest number down (RFC 9051 7.4.1). */
static void
view_report_gone(struct imap_server_session *s)
{
	struct imap_server_selected *sel = s->sel;
	size_t n = 0;

	if (sel == NULL || sel->gone_count == 0)
		return;
	if (s->qresync_enabled) {
		struct imap_seqset set;
		struct buf b;

		imap_seqset_init(&set);
		buf_init(&b, 0);
		for (size_t i = 0; i < sel->count; i++) {
			if (view_is_gone(sel, i))
				imap_seqset_add(&set, sel->uids[i], sel->uids[i]);
		}
		imap_seqset_format(&set, &b);
		imap_server_untagged(s, "VANISHED %s", buf_cstr(&b));
		buf_deinit(&b);
		imap_seqset_deinit(&set);
	} else {
		for (size_t i = sel->count; i-- > 0;) {
			if (view_is_gone(sel, i))
				imap_server_untagged(s, "%zu EXPUNGE", i + 1);
		}
	}
	for (size_t i = 0; i < sel->count; i++) {
		if (!view_is_gone(sel, i))
			sel->uids[n++] = sel->uids[i];
	}
	sel->count = n;
	mem_free(&sel->gone);
	sel->gone_count = 0;
}

void
imap_server_view_expunged(struct imap_server_session *s, const uint32_t *uids, size_t count)
{
	if (s->sel == NULL)
		return;
	for (size_t i = 0; i < count; i++) {
		ssize_t at = view_index(s->sel, uids[i]);

		if (at >= 0)
			view_mark_gone(s->sel, (size_t)at);
	}
	view_report_gone(s);
}

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Mark what the view says is expunged; append what is new (returns how many). */
static size_t
view_merge(struct imap_server_selected *sel, const struct imap_mailbox_view *v)
{
	uint32_t last = view_last_uid(sel);
	uint32_t *fresh, *gone;
	size_t n_fresh = 0, j = 0, added = 0;

	if (v->uids != NULL) {
		/* both ascending: whatever of ours is not in theirs is gone */
		for (size_t i = 0; i < sel->count; i++) {
			while (j < v->count && v->uids[j] < sel->uids[i])
				j++;
			if (j >= v->count || v->uids[j] != sel->uids[i])
				view_mark_gone(sel, i);
		}
		fresh = mem_array(v->count + 1, sizeof(*fresh));
		for (j = 0; j < v->count; j++) {
			if (v->uids[j] > last)
				fresh[n_fresh++] = v->uids[j];
		}
	} else {
		for (size_t i = 0; i < v->vanished_count; i++) {
			ssize_t at = view_index(sel, v->vanished[i]);

			if (at >= 0)
				view_mark_gone(sel, (size_t)at);
		}
		/* new since the last sync and expunged already: never shown */
		gone = mem_array(v->vanished_count + 1, sizeof(*gone));
		if (v->vanished_count > 0) {
			memcpy(gone, v->vanished, v->vanished_count * sizeof(*gone));
			qsort(gone, v->vanished_count, sizeof(*gone), uid_cmp);
		}
		fresh = mem_array(v->change_count + 1, sizeof(*fresh));
		for (j = 0; j < v->change_count; j++) {
			uint32_t uid = v->changes[j].uid;

			if (uid > last && bsearch(&uid, gone, v->vanished_count, sizeof(*gone),
						  uid_cmp) == NULL)
				fresh[n_fresh++] = uid;
		}
		mem_free(&gone);
	}
	qsort(fresh, n_fresh, sizeof(*fresh), uid_cmp);
	view_reserve(sel, mem_size_add(sel->count, n_fresh));
	for (size_t i = 0; i < n_fresh; i++) {
		if (added > 0 && fresh[i] == sel->uids[sel->count - 1])
			continue;
		sel->uids[sel->count++] = fresh[i];
		added++;
	}
	mem_free(&fresh);
	return added;
}

/* Copy the rights (RFC 4314 letters only) into sel. */
void
imap_server_view_set_rights(struct imap_server_selected *sel, const char *rights)
{
	size_t n = 0;

	for (const char *p = rights != NULL ? rights : ""; *p != '\0'; p++) {
		if (n + 1 < sizeof(sel->rights) && strchr("lrswipkxteacd", *p) != NULL &&
		    memchr(sel->rights, *p, n) == NULL)
			sel->rights[n++] = *p;
	}
	sel->rights[n] = '\0';
}

/* "* FLAGS" and "* OK [PERMANENTFLAGS]" (RFC 9051 7.3.5, 7.1), rights
 * applied: \Seen needs "s", \Deleted "t", the others and new keywords "w"
 * (RFC 4314 4). */
void
imap_server_view_write_flag_lists(struct imap_server_session *s)
{
	struct imap_server_selected *sel = s->sel;
	struct buf b;
	unsigned perm = 0;

	buf_init(&b, 0);
	imap_server_view_flags(&b, IMAP_FLAG_MASK, sel->keywords);
	imap_server_untagged(s, "FLAGS (%s)", buf_cstr(&b));
	buf_reset(&b);
	if (!sel->readonly) {
		if (imap_server_has_right(s, 's'))
			perm |= IMAP_FLAG_SEEN;
		if (imap_server_has_right(s, 't'))
			perm |= IMAP_FLAG_DELETED;
		if (imap_server_has_right(s, 'w'))
			perm |= IMAP_FLAG_ANSWERED | IMAP_FLAG_FLAGGED | IMAP_FLAG_DRAFT;
		imap_server_view_flags(&b, perm,
				       imap_server_has_right(s, 'w') ? sel->keywords : NULL);
		if (imap_server_has_right(s, 'w'))
			view_append_flag(&b, "\\*");
	}
	imap_server_untagged(s, "OK [PERMANENTFLAGS (%s)] %s", buf_cstr(&b),
			     buf_len(&b) > 0 ? "Flags permitted" : "No permanent flags permitted");
	buf_deinit(&b);
}

void
imap_server_view_keywords(struct imap_server_session *s, const char *keywords)
{
	struct imap_server_selected *sel = s->sel;

	if (sel == NULL || keywords == NULL)
		return;
	if (imap_keywords_merge(&sel->keywords, keywords))
		imap_server_view_write_flag_lists(s);
}

/* ---- \Recent (RFC 3501 2.3.2) ---- */

bool
imap_server_recent_contains(const struct imap_recent_range *ranges, size_t count, uint32_t uid)
{
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (uid < ranges[mid].first)
			hi = mid;
		else if (uid >= ranges[mid].end)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

void
imap_server_view_recent_add(struct imap_server_selected *sel, uint32_t first, uint32_t end)
{
	struct imap_recent_range *r = sel->recent;
	size_t n = sel->recent_count, at = 0, k;

	if (first >= end)
		return;
	/* the ranges after first's place and those it swallows */
	while (at < n && r[at].end < first)
		at++;
	k = at;
	while (k < n && r[k].first <= end) {
		if (r[k].first < first)
			first = r[k].first;
		if (r[k].end > end)
			end = r[k].end;
		k++;
	}
	if (k > at) {
		/* merged into r[at]; drop r[at + 1 .. k) */
		r[at].first = first;
		r[at].end = end;
		memmove(&r[at + 1], &r[k], (n - k) * sizeof(*r));
		sel->recent_count = n - (k - at - 1);
		return;
	}
	if (n == IMAP_SERVER_RECENT_MAX) {
		/* full: the oldest (lowest) range stops being recent */
		if (at == 0)
			return;
		memmove(&r[0], &r[1], (at - 1) * sizeof(*r));
		at--;
		n--;
	}
	memmove(&r[at + 1], &r[at], (n - at) * sizeof(*r));
	r[at].first = first;
	r[at].end = end;
	sel->recent_count = n + 1;
}

/* Index of the first UID of the view >= uid. */
static size_t
view_lower_bound(const struct imap_server_selected *sel, uint32_t uid)
{
	size_t lo = 0, hi = sel->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sel->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t
imap_server_view_recent_count(const struct imap_server_selected *sel)
{
	size_t n = 0;

	for (size_t i = 0; i < sel->recent_count; i++)
		n += view_lower_bound(sel, sel->recent[i].end) -
		     view_lower_bound(sel, sel->recent[i].first);
	return (uint32_t)n;
}

/* ---- CONDSTORE (RFC 7162 3.1) ---- */

uint64_t
imap_server_modseq_out(uint64_t modseq)
{
	return modseq > 0 ? modseq : 1;
}

void
imap_server_condstore_enable(struct imap_server_session *s)
{
	s->condstore_enabled = true;
}

void
imap_server_modseq_announce(struct imap_server_session *s)
{
	if (s->sel == NULL || !s->condstore_enabled || s->sel->modseq_announced)
		return;
	s->sel->modseq_announced = true;
	imap_server_untagged(s, "OK [HIGHESTMODSEQ %" PRIu64 "] Highest",
			     imap_server_modseq_out(s->sel->highest_modseq));
}

/* ---- what the client knows from its own commands ---- */

/* Index of uid in sel->known (ascending by uid), or where it would go. */
static size_t
view_known_find(const struct imap_server_selected *sel, uint32_t uid, bool *found_r)
{
	size_t lo = 0, hi = sel->known_count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (sel->known[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found_r = lo < sel->known_count && sel->known[lo].uid == uid;
	return lo;
}

/* Remember that the client knows uid as of modseq (the highest wins). */
static void
view_known_set(struct imap_server_selected *sel, uint32_t uid, uint64_t modseq)
{
	bool found;
	size_t at = view_known_find(sel, uid, &found);

	if (found) {
		if (modseq > sel->known[at].modseq)
			sel->known[at].modseq = modseq;
		return;
	}
	/* full: this one may be echoed once, which is noise, not loss */
	if (sel->known_count >= IMAP_SERVER_KNOWN_MAX)
		return;
	memmove(&sel->known[at + 1], &sel->known[at],
		(sel->known_count - at) * sizeof(sel->known[0]));
	sel->known[at].uid = uid;
	sel->known[at].modseq = modseq;
	sel->known_count++;
}

void
imap_server_view_known_add(struct imap_server_session *s,
			   const struct imap_message_change *changes, size_t count)
{
	struct imap_server_selected *sel = s->sel;

	if (sel == NULL)
		return;
	for (size_t i = 0; i < count; i++) {
		/* a sync asks for modseq > highest_modseq: nothing else comes back */
		if (changes[i].modseq > sel->highest_modseq)
			view_known_set(sel, changes[i].uid, changes[i].modseq);
	}
}

bool
imap_server_view_known_newer(const struct imap_server_session *s, uint32_t uid,
			     uint64_t modseq)
{
	bool found;
	size_t at;

	if (s->sel == NULL)
		return false;
	at = view_known_find(s->sel, uid, &found);
	return found && s->sel->known[at].modseq > modseq;
}

/* Drop what no sync from since_modseq on can report again. */
static void
view_known_prune(struct imap_server_selected *sel, uint64_t since_modseq)
{
	size_t n = 0;

	for (size_t i = 0; i < sel->known_count; i++) {
		if (sel->known[i].modseq > since_modseq)
			sel->known[n++] = sel->known[i];
	}
	sel->known_count = n;
}

/* Is change c one the client has (its own STORE's, or older)? Otherwise
 * the client is about to be told of it: remember that too. */
static bool
view_known_skip(struct imap_server_selected *sel, const struct imap_message_change *c)
{
	bool found;
	size_t at = view_known_find(sel, c->uid, &found);

	if (!found || c->modseq == 0)
		return false;
	if (c->modseq <= sel->known[at].modseq)
		return true;
	/* a later change (another session's): reported, and the STORE reply
	 * still to come must not follow it with the older state */
	sel->known[at].modseq = c->modseq;
	return false;
}

/* Apply a sync's answer and write the updates it allows. */
static void
view_apply(struct imap_server_session *s, const struct imap_mailbox_view *v,
	   enum imap_server_sync_mode mode)
{
	struct imap_server_selected *sel = s->sel;
	uint32_t last = view_last_uid(sel);
	bool with_uid = s->qresync_enabled || s->cmd_uid;
	size_t fresh;
	const char *kw = v->keywords != NULL ? v->keywords : "";

	/* the sync asked for changes above highest_modseq: older knowledge
	 * is of no more use (the STORE that recorded it has replied, or
	 * replies right after this sync and needs only the newer entries) */
	view_known_prune(sel, sel->highest_modseq);
	fresh = view_merge(sel, v);
	if (mode == IMAP_SYNC_FULL)
		view_report_gone(s);
	if (v->recent_end > v->recent_first && !s->rev2_enabled)
		imap_server_view_recent_add(sel, v->recent_first, v->recent_end);
	if (fresh > 0) {
		imap_server_untagged(s, "%zu EXISTS", sel->count);
		/* RFC 3501 7.3.2: the recent count with the new size, when
		 * there are recent messages or their number changed */
		uint32_t recent = imap_server_view_recent_count(sel);

		if (!s->rev2_enabled && (recent > 0 || recent != sel->recent_reported)) {
			sel->recent_reported = recent;
			imap_server_untagged(s, "%" PRIu32 " RECENT", recent);
		}
	}
	if (v->rights != NULL)
		imap_server_view_set_rights(sel, v->rights);
	/* RFC 9051 7.3.5: a new keyword changes FLAGS */
	imap_server_view_keywords(s, kw);
	for (size_t i = 0; i < v->change_count; i++) {
		/* new messages are the client's to FETCH; changes of known ones
		 * are news (RFC 9051 7.5.2) */
		if (v->changes[i].uid <= last && !view_known_skip(sel, &v->changes[i])) {
			imap_server_write_flags(s, &v->changes[i], with_uid);
			/* a reply of this session's own still to come (a STORE
			 * whose read-back predates this change) must not follow
			 * it with the older state (RFC 7162 3.1: a message's
			 * mod-sequence never goes down) */
			if (v->changes[i].modseq > sel->highest_modseq)
				view_known_set(sel, v->changes[i].uid, v->changes[i].modseq);
		}
	}
	if (v->uidnext > sel->uidnext)
		sel->uidnext = v->uidnext;
	if (v->highest_modseq > sel->highest_modseq)
		sel->highest_modseq = v->highest_modseq;
}

/* ---- the sync ---- */

static void
view_start_sync(struct imap_server_session *s, enum imap_server_sync_mode mode,
		void (*done)(struct imap_server_session *s))
{
	bool was_held;

	s->after_sync = done;
	s->sync_mode = mode;
	s->sel->changed = false;
	s->pending = IMAP_PENDING_SYNC;
	imap_server_flush(s);
	if (imap_server_dead(s))
		return;
	/* a completion may run inside the hook: keep the input loop out of
	 * the glue's frame, and leave resuming it to our caller */
	was_held = imap_server_hold(s);
	s->in_sync_hook = true;
	s->shooks.mailbox_sync(s->hook_ctx, s, s->sel->highest_modseq);
	s->in_sync_hook = false;
	s->processing = was_held;
}

/* The command's own done, after what every command's end sends. */
static void
view_finish_done(struct imap_server_session *s)
{
	void (*done)(struct imap_server_session *s) = s->finish_done;

	s->finish_done = NULL;
	imap_server_modseq_announce(s);
	if (done != NULL)
		done(s);
}

void
imap_server_finish(struct imap_server_session *s, enum imap_server_sync_mode mode, bool force,
		   void (*done)(struct imap_server_session *s))
{
	if (s->sel == NULL || imap_server_dead(s) || !s->have_shooks) {
		done(s);
		return;
	}
	s->finish_done = done;
	if (!force && !s->sel->changed) {
		if (mode == IMAP_SYNC_FULL)
			view_report_gone(s);
		view_finish_done(s);
		return;
	}
	view_start_sync(s, mode, view_finish_done);
}

/* Updates while idling go out at once. */
static void
view_idle_updates(struct imap_server_session *s)
{
	imap_server_flush(s);
}

void
imap_server_idle_sync(struct imap_server_session *s)
{
	/* bounded: each round either starts an outstanding sync or clears
	 * changed; a glue that signals inside every sync hook stops here */
	for (int round = 0; round < 4; round++) {
		if (!s->idling || s->sel == NULL || s->pending != IMAP_PENDING_NONE ||
		    imap_server_dead(s))
			return;
		if (!s->sel->changed) {
			view_report_gone(s);
			imap_server_flush(s);
			return;
		}
		view_start_sync(s, IMAP_SYNC_FULL, view_idle_updates);
	}
}

void
imap_server_mailbox_changed(struct imap_server_session *s)
{
	if (imap_server_dead(s) || s->sel == NULL)
		return;
	s->sel->changed = true;
	if (!s->idling || s->pending != IMAP_PENDING_NONE)
		return;
	imap_server_ref(s);
	imap_server_idle_sync(s);
	imap_server_flush(s);
	imap_server_unref(s);
}

void
imap_server_sync_done(struct imap_server_session *s, const struct imap_mailbox_view *view,
		      enum imap_mailbox_result result)
{
	void (*done)(struct imap_server_session *s);

	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_SYNC)
		PANIC("imap_server_sync_done without a sync hook in progress");
	imap_server_ref(s);
	s->pending = IMAP_PENDING_NONE;
	if (result == IMAP_MAILBOX_NONEXISTENT && s->sel != NULL) {
		/* the selected mailbox was deleted under the session: nothing
		 * it could say keeps the client's view right (RFC 9051 7.1.5) */
		s->after_sync = NULL;
		imap_server_untagged(s, "BYE Selected mailbox no longer exists");
		imap_server_close(s);
		imap_server_unref(s);
		return;
	}
	/* a failed sync sends nothing; the next change notification or NOOP
	 * tries again */
	if (result == IMAP_MAILBOX_OK && view != NULL && s->sel != NULL)
		view_apply(s, view, s->sync_mode);
	done = s->after_sync;
	s->after_sync = NULL;
	if (done != NULL)
		done(s);
	if (!s->in_sync_hook)
		imap_server_idle_sync(s);
	imap_server_resume(s);
	imap_server_flush(s);
	imap_server_unref(s);
}
