/*
 * imap-server-select.c - entering, using and leaving the selected state:
 * SELECT and EXAMINE (RFC 9051 6.3.2, 6.3.3) with the CONDSTORE and QRESYNC
 * parameters (RFC 7162 3.1.8, 3.2.5), CLOSE (6.4.1), UNSELECT (RFC 3691),
 * EXPUNGE (6.4.3) and UID EXPUNGE (RFC 4315 2.1), CHECK and NOOP (a full
 * sync), IDLE (RFC 2177; also in the authenticated state, without updates)
 * and the UID dispatcher (RFC 9051 6.4.9); the completions select_done and
 * expunge_done.
 *
 * Does not: hold or compute message data (the glue does), the view and
 * its updates (imap-server-view.c), FETCH, SEARCH, STORE, COPY and the rest
 * (their own files, reached through the UID dispatcher).
 *
 * SELECT while selected closes the old mailbox first ("* OK [CLOSED]",
 * RFC 9051 7.1, RFC 7162 3.2.11); a SELECT that then fails leaves the
 * session authenticated with nothing selected (RFC 9051 6.3.2).
 *
 * Invariants: s->sel is non-NULL exactly in IMAP_STATE_SELECTED; s->sop is
 * non-NULL exactly while a select or expunge hook is outstanding.
 */
#include "imap/imap-server-private.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "imap/imap-seqset.h"

/* Longest failure text taken from the glue. */
#define SELECT_MAX_GLUE_TEXT 200

enum select_op_kind { SOP_SELECT, SOP_EXPUNGE, SOP_UID_EXPUNGE, SOP_CLOSE };

struct imap_server_select_op {
	enum select_op_kind kind;
	char *name;                     /* SELECT: the mailbox (UTF-8) */
	struct imap_select_params params;
	char *known_uids;               /* params.qr_known_uids points here */
	uint32_t *uids;                 /* expunge: what was asked */
	size_t count;
};

static void
select_op_free(struct imap_server_session *s)
{
	struct imap_server_select_op *op = s->sop;

	if (op == NULL)
		return;
	s->sop = NULL;
	mem_free(&op->name);
	mem_free(&op->known_uids);
	mem_free(&op->uids);
	mem_free(&op);
}

static struct imap_server_select_op *
select_op_new(struct imap_server_session *s, enum select_op_kind kind)
{
	select_op_free(s);
	s->sop = mem_zalloc(sizeof(*s->sop));
	s->sop->kind = kind;
	return s->sop;
}

static void
selected_view_free(struct imap_server_selected **selp)
{
	struct imap_server_selected *sel = *selp;

	if (sel == NULL)
		return;
	*selp = NULL;
	mem_free(&sel->name);
	mem_free(&sel->uids);
	mem_free(&sel->gone);
	mem_free(&sel->keywords);
	mem_free(&sel->saved);
	mem_free(&sel);
}

void
imap_server_selected_free(struct imap_server_session *s)
{
	select_op_free(s);
	selected_view_free(&s->sel);
}

void
imap_server_unselect(struct imap_server_session *s)
{
	if (s->sel == NULL)
		return;
	selected_view_free(&s->sel);
	if (s->state == IMAP_STATE_SELECTED)
		s->state = IMAP_STATE_AUTH;
	if (s->shooks.mailbox_unselect != NULL && !imap_server_dead(s))
		s->shooks.mailbox_unselect(s->hook_ctx, s);
}

/* The glue's text, printable only, or fallback. */
static const char *
select_clean_text(char *buf, size_t size, const char *text, const char *fallback)
{
	size_t n = 0;

	for (; text != NULL && text[n] != '\0' && n + 1 < size && n < SELECT_MAX_GLUE_TEXT; n++) {
		unsigned char c = (unsigned char)text[n];

		buf[n] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	buf[n] = '\0';
	return n > 0 ? buf : fallback;
}

static const char *
select_result_text(enum imap_mailbox_result result)
{
	switch (result) {
	case IMAP_MAILBOX_NONEXISTENT:
		return "Mailbox does not exist";
	case IMAP_MAILBOX_NOPERM:
		return "Permission denied";
	case IMAP_MAILBOX_TEMPFAIL:
		return "Temporary failure, try again later";
	default:
		return "Operation not possible";
	}
}

static void
select_no(struct imap_server_session *s, enum imap_mailbox_result result, const char *text)
{
	char clean[SELECT_MAX_GLUE_TEXT + 1];

	if (result == IMAP_MAILBOX_OK)
		result = IMAP_MAILBOX_CANNOT;
	imap_server_no(s, imap_server_result_code(result),
		       select_clean_text(clean, sizeof(clean), text, select_result_text(result)));
}

/* ---- SELECT, EXAMINE ---- */

/* RFC 7162 3.2.5: "(QRESYNC (uidvalidity modseq [known-uids] [seq-match]))". */
static bool
select_parse_qresync(const struct imap_arg *arg, struct imap_server_select_op *op)
{
	const struct imap_arg *list, *match;
	unsigned count, n_match, i = 2;
	struct imap_seqset set;
	const char *text, *error;
	bool ok = true;

	if (!imap_arg_get_list(arg, &list, &count) || count < 2 || count > 4 ||
	    !imap_arg_get_number(&list[0], &op->params.qr_uidvalidity) ||
	    op->params.qr_uidvalidity == 0 ||
	    !imap_arg_get_number64(&list[1], &op->params.qr_modseq))
		return false;
	imap_seqset_init(&set);
	if (i < count && imap_arg_get_atom(&list[i], &text)) {
		/* known-uids: a UID set; "*" means nothing useful but is valid */
		ok = imap_seqset_parse(text, list[i].str_len, 0, IMAP_SEQSET_KEEP_STAR,
				       IMAP_SEQSET_DEFAULT_MAX_RANGES, &set, &error) > 0;
		if (ok)
			op->known_uids = mem_strdup(text);
		i++;
	}
	if (ok && i < count) {
		/* seq-match-data: "(known-sequence-set known-uid-set)"; checked,
		 * not used: the glue answers VANISHED from known-uids */
		ok = imap_arg_get_list(&list[i], &match, &n_match) && n_match == 2;
		for (unsigned k = 0; ok && k < 2; k++) {
			ok = imap_arg_get_atom(&match[k], &text) &&
			     imap_seqset_parse(text, match[k].str_len, 0, IMAP_SEQSET_KEEP_STAR,
					       IMAP_SEQSET_DEFAULT_MAX_RANGES, &set, &error) > 0;
		}
		i++;
	}
	imap_seqset_deinit(&set);
	op->params.qr_known_uids = op->known_uids;
	return ok && i == count;
}

/* The optional parameter list; NULL ok, else the BAD text. */
static const char *
select_parse_params(struct imap_server_session *s, const struct imap_arg *arg,
		    struct imap_server_select_op *op)
{
	const struct imap_arg *list;
	unsigned count;

	if (!imap_arg_get_list(arg, &list, &count))
		return "Invalid SELECT parameters";
	for (unsigned i = 0; i < count; i++) {
		if (imap_arg_atom_equals(&list[i], "CONDSTORE")) {
			op->params.condstore = true;
		} else if (imap_arg_atom_equals(&list[i], "QRESYNC")) {
			/* RFC 7162 3.2.5: BAD unless QRESYNC was enabled */
			if (!s->qresync_enabled)
				return "QRESYNC not enabled";
			if (i + 1 >= count || op->params.qresync ||
			    !select_parse_qresync(&list[i + 1], op))
				return "Invalid QRESYNC parameter";
			op->params.qresync = true;
			i++;
		} else {
			return "Unknown SELECT parameter";
		}
	}
	return NULL;
}

static void
select_start(struct imap_server_session *s, const struct imap_command *cmd, bool readonly)
{
	struct imap_server_select_op *op;
	const char *wire, *error;
	size_t len;
	char *name;
	int ret;

	if (!imap_arg_get_astring(&cmd->args[0], &wire, &len)) {
		imap_server_bad_command(s, s->cmd_tag, "Invalid mailbox name");
		return;
	}
	op = select_op_new(s, SOP_SELECT);
	op->params.readonly = readonly;
	if (cmd->n_args > 1 && (error = select_parse_params(s, &cmd->args[1], op)) != NULL) {
		select_op_free(s);
		imap_server_bad_command(s, s->cmd_tag, error);
		return;
	}
	ret = imap_server_mailbox_name(s, wire, len, &name, &error);
	if (ret < 0) {
		select_op_free(s);
		imap_server_bad_command(s, s->cmd_tag, error);
		return;
	}
	/* RFC 9051 6.3.2: selecting closes the mailbox selected before, even
	 * when the new SELECT fails; RFC 7162 3.2.11 "[CLOSED]" marks the spot */
	if (s->sel != NULL) {
		imap_server_unselect(s);
		imap_server_untagged(s, "OK [CLOSED] Previous mailbox closed");
	}
	if (ret == 0) {
		select_op_free(s);
		imap_server_no(s, "CANNOT", error);
		return;
	}
	op->name = name;
	op->params.condstore = op->params.condstore || op->params.qresync || s->condstore_enabled;
	op->params.rev2 = s->rev2_enabled;
	s->pending = IMAP_PENDING_SELECT;
	imap_server_flush(s);
	if (imap_server_dead(s))
		return;
	name = mem_strdup(op->name);
	s->shooks.mailbox_select(s->hook_ctx, s, name, &op->params);
	mem_free(&name);
}

void
imap_server_cmd_select(struct imap_server_session *s, const struct imap_command *cmd)
{
	select_start(s, cmd, false);
}

void
imap_server_cmd_examine(struct imap_server_session *s, const struct imap_command *cmd)
{
	select_start(s, cmd, true);
}

/* RFC 7162 3.2.5.1: what changed since the client's modseq, when its
 * UIDVALIDITY is still right. */
static void
select_qresync_updates(struct imap_server_session *s, const struct imap_mailbox_view *v)
{
	struct imap_seqset set;
	struct buf b;

	imap_seqset_init(&set);
	buf_init(&b, 0);
	for (size_t i = 0; i < v->vanished_count; i++) {
		if (v->vanished[i] != 0)
			imap_seqset_add(&set, v->vanished[i], v->vanished[i]);
	}
	if (set.count > 0) {
		imap_seqset_format(&set, &b);
		imap_server_untagged(s, "VANISHED (EARLIER) %s", buf_cstr(&b));
	}
	buf_deinit(&b);
	imap_seqset_deinit(&set);
	for (size_t i = 0; i < v->change_count; i++)
		imap_server_write_flags(s, &v->changes[i], true);
}

/* RFC 4314 4: read-write needs some right to change the mailbox. */
static bool
select_writable(const struct imap_server_selected *sel)
{
	return strpbrk(sel->rights, "iestw") != NULL;
}

static void
select_enter(struct imap_server_session *s, const struct imap_mailbox_view *v)
{
	struct imap_server_select_op *op = s->sop;
	struct imap_server_selected *sel = mem_zalloc(sizeof(*sel));
	uint32_t unseen;

	sel->name = mem_strdup(op->name);
	sel->uidvalidity = v->uidvalidity;
	sel->uidnext = v->uidnext;
	sel->highest_modseq = v->highest_modseq;
	sel->keywords = mem_strdup(v->keywords != NULL ? v->keywords : "");
	imap_server_view_set_rights(sel, v->rights);
	sel->readonly = op->params.readonly || !select_writable(sel);
	imap_server_view_set(sel, v->uids, v->uids != NULL ? v->count : 0);
	s->sel = sel;
	s->state = IMAP_STATE_SELECTED;
	/* RFC 7162 3.1.8: SELECT (CONDSTORE) enables CONDSTORE */
	if (op->params.condstore)
		imap_server_condstore_enable(s);
	/* RFC 3501 2.3.2: what the glue claimed (SELECT) or found unclaimed
	 * (EXAMINE) is \Recent in this session */
	if (!s->rev2_enabled)
		imap_server_view_recent_add(sel, v->recent_first, v->recent_end);

	/* RFC 9051 6.3.2 responses; RECENT and UNSEEN only for IMAP4rev1
	 * clients (RFC 3501 6.3.1) */
	imap_server_untagged(s, "%zu EXISTS", sel->count);
	if (!s->rev2_enabled) {
		sel->recent_reported = imap_server_view_recent_count(sel);
		imap_server_untagged(s, "%" PRIu32 " RECENT", sel->recent_reported);
	}
	imap_server_view_write_flag_lists(s);
	imap_server_untagged(s, "OK [UIDVALIDITY %" PRIu32 "] UIDs valid", sel->uidvalidity);
	imap_server_untagged(s, "OK [UIDNEXT %" PRIu32 "] Predicted next UID", sel->uidnext);
	unseen = imap_server_seq_of(s, v->first_unseen_uid);
	if (!s->rev2_enabled && unseen != 0)
		imap_server_untagged(s, "OK [UNSEEN %" PRIu32 "] First unseen", unseen);
	imap_server_modseq_announce(s);
	/* RFC 8474 4.2: the mailbox's object id */
	if (v->mailboxid != NULL && imap_server_objectid_valid(v->mailboxid))
		imap_server_untagged(s, "OK [MAILBOXID (%s)] Ok", v->mailboxid);
	if (op->params.qresync && op->params.qr_uidvalidity == sel->uidvalidity)
		select_qresync_updates(s, v);
	imap_server_ok(s, sel->readonly ? "READ-ONLY" : "READ-WRITE",
		       op->params.readonly ? "EXAMINE completed" : "SELECT completed");
}

void
imap_server_select_done(struct imap_server_session *s, const struct imap_mailbox_view *view,
			enum imap_mailbox_result result, const char *text)
{
	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_SELECT || s->sop == NULL)
		PANIC("imap_server_select_done without a select hook in progress");
	imap_server_ref(s);
	s->pending = IMAP_PENDING_NONE;
	if (result == IMAP_MAILBOX_OK && view != NULL)
		select_enter(s, view);
	else
		select_no(s, result, text);
	select_op_free(s);
	imap_server_resume(s);
	imap_server_flush(s);
	imap_server_unref(s);
}

/* ---- CLOSE, UNSELECT, EXPUNGE ---- */

static void
expunge_start(struct imap_server_session *s, enum select_op_kind kind, uint32_t *uids,
	      size_t count)
{
	struct imap_server_select_op *op = select_op_new(s, kind);
	struct imap_server_selected *sel = s->sel;

	op->uids = uids;
	op->count = count;
	if (uids == NULL) {
		/* every message the client still sees */
		op->uids = mem_array(sel->count + 1, sizeof(*op->uids));
		for (size_t i = 0; i < sel->count; i++) {
			if (sel->gone == NULL || (sel->gone[i / 8] & (1u << (i % 8))) == 0)
				op->uids[op->count++] = sel->uids[i];
		}
	}
	s->pending = IMAP_PENDING_EXPUNGE;
	imap_server_flush(s);
	if (imap_server_dead(s))
		return;
	s->shooks.message_expunge(s->hook_ctx, s, op->uids, op->count);
}

/* May the session expunge? Else the NO is written. */
static bool
expunge_allowed(struct imap_server_session *s)
{
	if (s->sel->readonly) {
		imap_server_no(s, "READ-ONLY", "Mailbox is read-only");
		return false;
	}
	if (!imap_server_has_right(s, 'e')) {
		/* RFC 4314 4: EXPUNGE needs "e" */
		imap_server_no(s, "NOPERM", "Permission denied");
		return false;
	}
	return true;
}

void
imap_server_cmd_close(struct imap_server_session *s, const struct imap_command *cmd)
{
	/* RFC 9051 6.4.1: silently expunge when read-write (and, RFC 4314 4,
	 * allowed); no updates at all */
	if (s->sel->readonly || !imap_server_has_right(s, 'e')) {
		imap_server_unselect(s);
		imap_server_ok(s, NULL, "CLOSE completed");
		return;
	}
	expunge_start(s, SOP_CLOSE, NULL, 0);
}

void
imap_server_cmd_unselect(struct imap_server_session *s, const struct imap_command *cmd)
{
	/* RFC 3691 2: like CLOSE without the expunge */
	imap_server_unselect(s);
	imap_server_ok(s, NULL, "UNSELECT completed");
}

void
imap_server_cmd_expunge(struct imap_server_session *s, const struct imap_command *cmd)
{
	if (expunge_allowed(s))
		expunge_start(s, SOP_EXPUNGE, NULL, 0);
}

/* RFC 4315 2.1: UID EXPUNGE set. */
static void
select_uid_expunge(struct imap_server_session *s, const struct imap_arg *arg)
{
	uint32_t *uids;
	size_t count;
	const char *error;

	if (imap_server_resolve_set(s, arg, true, &uids, &count, &error) == 0) {
		imap_server_bad_command(s, s->cmd_tag, error);
		return;
	}
	if (!expunge_allowed(s)) {
		mem_free(&uids);
		return;
	}
	expunge_start(s, SOP_UID_EXPUNGE, uids, count);
}

static void
expunge_ok(struct imap_server_session *s)
{
	imap_server_ok(s, NULL, "EXPUNGE completed");
}

void
imap_server_expunge_done(struct imap_server_session *s, const uint32_t *uids, size_t count,
			 enum imap_mailbox_result result, const char *text)
{
	enum select_op_kind kind;

	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_EXPUNGE || s->sop == NULL)
		PANIC("imap_server_expunge_done without an expunge hook in progress");
	imap_server_ref(s);
	s->pending = IMAP_PENDING_NONE;
	kind = s->sop->kind;
	select_op_free(s);
	if (result != IMAP_MAILBOX_OK) {
		select_no(s, result, text);
	} else if (kind == SOP_CLOSE) {
		imap_server_unselect(s);
		imap_server_ok(s, NULL, "CLOSE completed");
	} else {
		/* RFC 9051 7.4.1 / RFC 7162 3.2.10: EXPUNGE n or VANISHED */
		imap_server_view_expunged(s, uids, count);
		imap_server_finish(s, IMAP_SYNC_FULL, false, expunge_ok);
	}
	imap_server_resume(s);
	imap_server_flush(s);
	imap_server_unref(s);
}

/* ---- NOOP, CHECK ---- */

static void
noop_ok(struct imap_server_session *s)
{
	imap_server_ok(s, NULL, "NOOP completed");
}

static void
check_ok(struct imap_server_session *s)
{
	imap_server_ok(s, NULL, "CHECK completed");
}

void
imap_server_select_noop(struct imap_server_session *s)
{
	/* RFC 9051 6.1.2: the way to poll for updates */
	imap_server_finish(s, IMAP_SYNC_FULL, true, noop_ok);
}

void
imap_server_cmd_check(struct imap_server_session *s, const struct imap_command *cmd)
{
	/* RFC 3501 6.4.1 (gone from RFC 9051): nothing to checkpoint here, so
	 * a NOOP */
	imap_server_finish(s, IMAP_SYNC_FULL, true, check_ok);
}

/* ---- IDLE (RFC 2177) ---- */

void
imap_server_cmd_idle(struct imap_server_session *s, const struct imap_command *cmd)
{
	s->idling = true;
	imap_server_write(s, "+ idling\r\n", 10);
	imap_parser_expect_line(s->parser);
	imap_server_flush(s);
	/* what changed before IDLE goes out now */
	if (s->sel != NULL && (s->sel->changed || s->sel->gone_count > 0))
		imap_server_idle_sync(s);
}

static void
idle_ok(struct imap_server_session *s)
{
	imap_server_ok(s, NULL, "IDLE terminated");
}

void
imap_server_idle_line(struct imap_server_session *s, const char *line, size_t len)
{
	s->idling = false;
	if (len != 4 || strncasecmp(line, "DONE", 4) != 0) {
		/* RFC 2177 3: anything but DONE ends IDLE as a bad command */
		imap_server_bad_command(s, s->cmd_tag, "Expected DONE");
		return;
	}
	imap_server_finish(s, IMAP_SYNC_FULL, false, idle_ok);
}

void
imap_server_idle_line_error(struct imap_server_session *s, const char *text)
{
	s->idling = false;
	imap_server_bad_command(s, s->cmd_tag, text);
}

/* ---- UID <command> (RFC 9051 6.4.9) ---- */

void
imap_server_cmd_uid(struct imap_server_session *s, const struct imap_command *cmd)
{
	const struct imap_arg *args = cmd->args + 1;
	unsigned n = cmd->n_args - 1;
	const char *sub;

	if (!imap_arg_get_atom(&cmd->args[0], &sub)) {
		imap_server_bad_command(s, s->cmd_tag, "Invalid UID command");
		return;
	}
	s->cmd_uid = true;
	if (strcasecmp(sub, "FETCH") == 0 && n >= 2 && n <= 3)
		imap_server_fetch_run(s, args, n, true);
	else if (strcasecmp(sub, "STORE") == 0 && n >= 3 && n <= 4)
		imap_server_store_run(s, args, n, true);
	else if (strcasecmp(sub, "SEARCH") == 0 && n >= 1)
		imap_server_search_run(s, "SEARCH", args, n, true);
	else if (strcasecmp(sub, "SORT") == 0 && n >= 3)
		imap_server_search_run(s, "SORT", args, n, true);
	else if (strcasecmp(sub, "THREAD") == 0 && n >= 3)
		imap_server_search_run(s, "THREAD", args, n, true);
	else if (strcasecmp(sub, "COPY") == 0 && n == 2)
		imap_server_copy_run(s, args, n, true, false);
	else if (strcasecmp(sub, "MOVE") == 0 && n == 2)
		imap_server_copy_run(s, args, n, true, true);
	else if (strcasecmp(sub, "EXPUNGE") == 0 && n == 1)
		select_uid_expunge(s, &args[0]);
	else
		imap_server_bad_command(s, s->cmd_tag, "Invalid UID command");
}

/* ---- set-up and state ---- */

void
imap_server_session_set_selected_hooks(struct imap_server_session *s,
				       const struct imap_server_selected_hooks *hooks)
{
	ASSERT(hooks->mailbox_select != NULL && hooks->mailbox_sync != NULL &&
	       hooks->message_fetch != NULL && hooks->message_search != NULL &&
	       hooks->message_store != NULL && hooks->message_copy != NULL &&
	       hooks->message_expunge != NULL && hooks->message_append != NULL);
	s->shooks = *hooks;
	s->have_shooks = true;
}

const char *
imap_server_session_selected(const struct imap_server_session *s)
{
	return s->sel != NULL ? s->sel->name : NULL;
}

bool
imap_server_session_condstore_enabled(const struct imap_server_session *s)
{
	return s->condstore_enabled;
}

bool
imap_server_session_qresync_enabled(const struct imap_server_session *s)
{
	return s->qresync_enabled;
}
