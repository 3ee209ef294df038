/*
 * imap-server-message.c - the commands that change messages: STORE (RFC
 * 9051 6.4.6, CONDSTORE's UNCHANGEDSINCE of RFC 7162 3.1.3), COPY (6.4.7)
 * with UIDPLUS's COPYUID (RFC 4315), MOVE (RFC 6851), APPEND (6.3.12) with
 * MULTIAPPEND (RFC 3502), literal8 (RFC 3516 4.4: NUL octets are stored
 * as they are), CATENATE (RFC 4469: parts and URLs parsed here, the message
 * assembled by the glue, imap-catenate.h) and APPENDUID, their UID forms,
 * flag lists (the keyword NIL included), and the completions store_done /
 * copy_done / append_done / append_refused.
 *
 * Does: parse and check the arguments (syntax errors are BAD before any NO),
 * apply the ACL rights of RFC 4314 4 to STORE (\Seen needs "s", \Deleted
 * "t", every other flag and keyword "w"; flags the user may not change are
 * dropped, and only a STORE left with nothing the user may change fails,
 * as RFC 4314 4 asks), refuse changes in a read-only mailbox, hand one
 * request to the glue's hook, and turn its answer into the untagged FETCH /
 * COPYUID / EXPUNGE responses and the tagged reply, which always goes out
 * through imap_server_finish() so that the command's untagged updates come
 * first.
 *
 * Does not: know the messages (the glue reads and writes the store), keep
 * the view (imap-server-select.c: resolve_set, seq_of, view_expunged,
 * write_flags), or stream APPEND data (the parser holds each literal, up
 * to limits.max_literal, in memory).
 *
 * Limits: a keyword is an atom (RFC 9051 9 flag-keyword) of at most
 * IMAP_SERVER_KEYWORD_MAX octets; a command names at most
 * IMAP_SERVER_KEYWORDS_MAX distinct keywords; a MULTIAPPEND holds at most
 * IMAP_SERVER_APPEND_MAX messages.
 *
 * Known limit: FLAGS (replace) with only some of the rights "s", "t", "w"
 * is done as +FLAGS or -FLAGS when one of them says it all; otherwise it
 * fails with NO [NOPERM] (the hook's request has no mask of the flags the
 * user may change).
 *
 * Invariants: s->message exists from a command's start until its tagged
 * reply is written (or the session is freed); the request given to a hook
 * is valid during the hook call only.
 */
#include "imap/imap-server-private.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "imap/imap-catenate.h"
#include "imap/imap-flags.h"

#define IMAP_SERVER_KEYWORD_MAX 100
#define IMAP_SERVER_KEYWORDS_MAX 64
#define IMAP_SERVER_APPEND_MAX 1000
/* Longest failure text taken from the glue. */
#define IMAP_SERVER_MESSAGE_GLUE_TEXT 200
/* Longest URL repeated in a [BADURL url] code. */
#define IMAP_SERVER_BADURL_MAX 1024

/* One APPEND message given as CATENATE parts (RFC 4469 5). */
struct imap_server_catenate {
	struct imap_catenate_part *parts;  /* views into the parser's command */
	struct imap_url *urls;             /* parts[i].url points here */
	size_t count;
	const char *bad_url, *bad_why;     /* the first URL that does not parse */
};

enum imap_server_message_kind {
	IMAP_MESSAGE_STORE,
	IMAP_MESSAGE_COPY,
	IMAP_MESSAGE_MOVE,
	IMAP_MESSAGE_APPEND,
};

/* One command in progress (s->message). */
struct imap_server_message {
	enum imap_server_message_kind kind;
	bool uid;          /* UID form: responses name UIDs */
	bool silent;       /* STORE ...SILENT */
	char *name;        /* COPY/MOVE/APPEND destination (UTF-8) */
	/* the tagged reply, written by imap_server_message_reply() */
	const char *status;
	char *code;
	char *text;
	/* STORE: the changes to report, written after the sync (keywords
	 * owned) */
	struct imap_message_change *changes;
	char **change_keywords;  /* changes[i].keywords points here */
	size_t change_count;
	/* APPEND: the messages (data point into the parser's command) */
	struct imap_append_message *msgs;
	char **msg_keywords;
	struct imap_server_catenate *cats;  /* count 0: an ordinary literal */
	size_t msg_count;
};

/* ---- command state ---- */

static void
imap_server_message_deinit(struct imap_server_message *m)
{
	for (size_t i = 0; i < m->change_count; i++)
		mem_free(&m->change_keywords[i]);
	mem_free(&m->change_keywords);
	mem_free(&m->changes);
	for (size_t i = 0; i < m->msg_count; i++)
		mem_free(&m->msg_keywords[i]);
	mem_free(&m->msg_keywords);
	for (size_t i = 0; m->cats != NULL && i <= m->msg_count; i++) {
		for (size_t k = 0; k < m->cats[i].count; k++)
			imap_url_deinit(&m->cats[i].urls[k]);
		mem_free(&m->cats[i].urls);
		mem_free(&m->cats[i].parts);
	}
	mem_free(&m->cats);
	mem_free(&m->msgs);
	mem_free(&m->name);
	mem_free(&m->code);
	mem_free(&m->text);
}

void
imap_server_message_free(struct imap_server_session *s)
{
	if (s->message == NULL)
		return;
	imap_server_message_deinit(s->message);
	mem_free(&s->message);
}

static struct imap_server_message *
imap_server_message_new(struct imap_server_session *s, enum imap_server_message_kind kind,
			bool uid)
{
	imap_server_message_free(s);
	s->message = mem_zalloc(sizeof(*s->message));
	s->message->kind = kind;
	s->message->uid = uid;
	return s->message;
}

/* The tagged reply the command ends with (status "OK"/"NO"; code and text
 * copied, code may be NULL). */
static void
imap_server_message_set_reply(struct imap_server_session *s, const char *status,
			      const char *code, const char *text)
{
	struct imap_server_message *m = s->message;

	m->status = status;
	mem_free(&m->code);
	mem_free(&m->text);
	m->code = code != NULL ? mem_strdup(code) : NULL;
	m->text = mem_strdup(text);
}

/* imap_server_finish()'s done: the tagged reply, then the state goes. */
static void
imap_server_message_reply(struct imap_server_session *s)
{
	struct imap_server_message *m = s->message;

	if (m == NULL)
		return;
	imap_server_tagged(s, s->cmd_tag, m->status, m->code, m->text);
	imap_server_message_free(s);
}

/* End the command: sync (selected state) and the tagged reply. */
static void
imap_server_message_end(struct imap_server_session *s, enum imap_server_sync_mode mode, bool force)
{
	if (s->sel == NULL) {
		imap_server_message_reply(s);
		return;
	}
	imap_server_finish(s, mode, force, imap_server_message_reply);
}

/* Printable text of the glue, or fallback. */
static char *
imap_server_glue_text(const char *text, const char *fallback)
{
	char clean[IMAP_SERVER_MESSAGE_GLUE_TEXT + 1];
	size_t n = 0;

	for (; text != NULL && text[n] != '\0' && n < IMAP_SERVER_MESSAGE_GLUE_TEXT; n++) {
		unsigned char c = (unsigned char)text[n];

		clean[n] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	clean[n] = '\0';
	return mem_strdup(n > 0 ? clean : fallback);
}

/* A failed hook: the NO reply for result. For a destination that does not
 * exist, [TRYCREATE] (RFC 9051 6.3.12, 6.4.7). */
static void
imap_server_message_failed(struct imap_server_session *s, enum imap_mailbox_result result,
			   const char *text, bool trycreate)
{
	struct imap_server_message *m = s->message;
	const char *fallback;

	switch (result) {
	case IMAP_MAILBOX_NONEXISTENT:
		fallback = "Mailbox does not exist";
		break;
	case IMAP_MAILBOX_NOPERM:
		fallback = "Permission denied";
		break;
	case IMAP_MAILBOX_TEMPFAIL:
		fallback = "Temporary failure, try again later";
		break;
	default:
		fallback = "Operation not possible";
		break;
	}
	m->status = "NO";
	mem_free(&m->code);
	mem_free(&m->text);
	m->code = mem_strdup(trycreate && result == IMAP_MAILBOX_NONEXISTENT
				     ? "TRYCREATE"
				     : imap_server_result_code(result));
	m->text = imap_server_glue_text(text, fallback);
}

/* Hand the command to a hook: false when the session died flushing. */
static bool
imap_server_message_begin(struct imap_server_session *s, enum imap_server_pending pending)
{
	s->pending = pending;
	imap_server_flush(s);
	return !imap_server_dead(s);
}

/* ---- flags ---- */

/* One flag into *flags / kw (space-separated, case-insensitively unique). */
static int
imap_server_flag_add(const struct imap_arg *arg, unsigned *flags, struct buf *kw,
		     unsigned *kw_count, const char **error_r)
{
	const char *atom;
	size_t len;

	/* RFC 9051 9: flag-keyword = atom, and "NIL" is an atom like any
	 * other here (the parser types it NIL for nstring's sake) */
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_NIL) {
		*error_r = "Invalid flag";
		return 0;
	}
	atom = arg->str;
	len = arg->str_len;
	if (atom[0] == '\\') {
		unsigned bit = imap_flag_from_name(atom);

		if (bit != 0 && bit != IMAP_FLAG_RECENT) {
			*flags |= bit;
			return 1;
		}
		/* RFC 9051 2.3.2: \Recent is the server's (and gone in rev2) */
		*error_r = bit == IMAP_FLAG_RECENT ? "\\Recent cannot be set"
						   : "Unknown system flag";
		return 0;
	}
	if (len == 0 || len > IMAP_SERVER_KEYWORD_MAX) {
		*error_r = "Invalid keyword length";
		return 0;
	}
	if (!imap_keyword_valid(atom, len)) {
		*error_r = "Invalid character in keyword";
		return 0;
	}
	/* already there? keywords compare case-insensitively */
	if (imap_keywords_has(buf_len(kw) > 0 ? buf_cstr(kw) : NULL, atom, len))
		return 1;
	if (*kw_count >= IMAP_SERVER_KEYWORDS_MAX) {
		*error_r = "Too many keywords";
		return 0;
	}
	(*kw_count)++;
	if ((buf_len(kw) > 0 && buf_append_byte(kw, ' ') < 0) || buf_append(kw, atom, len) < 0)
		PANIC("unlimited buffer refused data");
	return 1;
}

/* Flags from args[0..n): one flag list, or flags (STORE's unparenthesised
 * form, RFC 9051 9 store-att-flags). */
static int
imap_server_parse_flag_args(const struct imap_arg *args, unsigned n, unsigned *flags_r,
			    char **keywords_r, const char **error_r)
{
	const struct imap_arg *list = args;
	unsigned count = n, kw_count = 0;
	struct buf kw;
	int ret = 1;

	*flags_r = 0;
	*keywords_r = NULL;
	if (n == 1 && args[0].type == IMAP_ARG_LIST)
		(void)imap_arg_get_list(&args[0], &list, &count);
	buf_init(&kw, 0);
	for (unsigned i = 0; i < count && ret == 1; i++)
		ret = imap_server_flag_add(&list[i], flags_r, &kw, &kw_count, error_r);
	if (ret == 1 && buf_len(&kw) > 0)
		*keywords_r = buf_steal_str(&kw);
	buf_deinit(&kw);
	return ret;
}

int
imap_server_parse_flags(const struct imap_arg *arg, unsigned *flags_r, char **keywords_r,
			const char **error_r)
{
	return imap_server_parse_flag_args(arg, 1, flags_r, keywords_r, error_r);
}

/* A set of numbers (ascending runs as "a:b") onto out. */
static void
imap_server_append_set(struct buf *out, const uint32_t *nums, size_t count)
{
	for (size_t i = 0; i < count;) {
		size_t j = i;
		int ret;

		while (j + 1 < count && nums[j + 1] == nums[j] + 1)
			j++;
		ret = buf_printf(out, "%s%" PRIu32, i > 0 ? "," : "", nums[i]);
		if (ret == 0 && j > i)
			ret = buf_printf(out, ":%" PRIu32, nums[j]);
		if (ret < 0)
			PANIC("unlimited buffer refused data");
		i = j + 1;
	}
}

/* ---- STORE ---- */

/* "(UNCHANGEDSINCE n)" (RFC 7162 3.1.3); false on anything else. */
static bool
imap_server_store_modifiers(const struct imap_arg *arg, uint64_t *unchangedsince_r)
{
	const struct imap_arg *list;
	unsigned count;
	bool seen = false;

	if (!imap_arg_get_list(arg, &list, &count) || count == 0 || count % 2 != 0)
		return false;
	for (unsigned i = 0; i < count; i += 2) {
		if (!imap_arg_atom_equals(&list[i], "UNCHANGEDSINCE") || seen ||
		    !imap_arg_get_number64(&list[i + 1], unchangedsince_r))
			return false;
		seen = true;
	}
	return true;
}

/* "[+|-]FLAGS[.SILENT]" */
static bool
imap_server_store_item(const char *item, enum imap_store_mode *mode_r, bool *silent_r)
{
	*mode_r = IMAP_STORE_REPLACE;
	if (*item == '+' || *item == '-') {
		*mode_r = *item == '+' ? IMAP_STORE_ADD : IMAP_STORE_REMOVE;
		item++;
	}
	*silent_r = false;
	if (strcasecmp(item, "FLAGS") == 0)
		return true;
	*silent_r = true;
	return strcasecmp(item, "FLAGS.SILENT") == 0;
}

/*
 * RFC 4314 4: keep what the user may change. 1 go on with req, 0 refused
 * (NO reply set up).
 */
static int
imap_server_store_rights(struct imap_server_session *s, struct imap_store_request *req,
			 char **keywords)
{
	bool w = imap_server_has_right(s, 'w');
	unsigned allowed = 0, set, clear;

	if (imap_server_has_right(s, 's'))
		allowed |= IMAP_FLAG_SEEN;
	if (imap_server_has_right(s, 't'))
		allowed |= IMAP_FLAG_DELETED;
	if (w)
		allowed |= IMAP_FLAG_ANSWERED | IMAP_FLAG_FLAGGED | IMAP_FLAG_DRAFT;
	if (req->mode != IMAP_STORE_REPLACE) {
		bool asked = req->flags != 0 || *keywords != NULL;

		req->flags &= allowed;
		if (!w)
			mem_free(keywords);
		/* "SHOULD NOT fail if the user has rights to modify at least
		 * one flag specified" - so it fails when there is none */
		if (asked && req->flags == 0 && *keywords == NULL)
			return 0;
		return 1;
	}
	if (allowed == IMAP_FLAG_MASK)
		return 1;
	if (w || allowed == 0)
		return 0;
	/* no "w": keywords and the other system flags stay as they are */
	mem_free(keywords);
	set = req->flags & allowed;
	clear = allowed & ~req->flags;
	if (clear == 0) {
		req->mode = IMAP_STORE_ADD;
		req->flags = set;
	} else if (set == 0) {
		req->mode = IMAP_STORE_REMOVE;
		req->flags = clear;
	} else {
		return 0;
	}
	return 1;
}

void
imap_server_store_run(struct imap_server_session *s, const struct imap_arg *args,
		      unsigned n_args, bool uid)
{
	struct imap_store_request req;
	const char *item, *error;
	char *keywords = NULL;
	uint32_t *uids = NULL;
	size_t count = 0;
	unsigned i = 1;
	bool silent;

	memset(&req, 0, sizeof(req));
	if (n_args >= 2 && args[1].type == IMAP_ARG_LIST) {
		if (!imap_server_store_modifiers(&args[1], &req.unchangedsince)) {
			imap_server_bad_command(s, s->cmd_tag, "Invalid STORE modifiers");
			return;
		}
		req.unchangedsince_set = true;
		i = 2;
	}
	if (n_args < i + 2 || !imap_arg_get_atom(&args[i], &item) ||
	    !imap_server_store_item(item, &req.mode, &silent)) {
		imap_server_bad_command(s, s->cmd_tag, "Invalid STORE arguments");
		return;
	}
	if (imap_server_parse_flag_args(&args[i + 1], n_args - i - 1, &req.flags, &keywords,
					&error) == 0) {
		imap_server_bad_command(s, s->cmd_tag, error);
		return;
	}
	if (imap_server_resolve_set(s, &args[0], uid, &uids, &count, &error) == 0) {
		mem_free(&keywords);
		imap_server_bad_command(s, s->cmd_tag, error);
		return;
	}
	imap_server_message_new(s, IMAP_MESSAGE_STORE, uid)->silent = silent;
	/* RFC 7162 3.1: UNCHANGEDSINCE is a CONDSTORE enabling command */
	if (req.unchangedsince_set)
		imap_server_condstore_enable(s);
	if (s->sel->readonly) {
		/* RFC 9051 6.4.6: no changes in a read-only mailbox */
		imap_server_message_set_reply(s, "NO", "READ-ONLY", "Mailbox is read-only");
		imap_server_message_end(s, uid ? IMAP_SYNC_FULL : IMAP_SYNC_NO_EXPUNGE, false);
	} else if (imap_server_store_rights(s, &req, &keywords) == 0) {
		imap_server_message_set_reply(s, "NO", "NOPERM",
					      "No right to change these flags");
		imap_server_message_end(s, uid ? IMAP_SYNC_FULL : IMAP_SYNC_NO_EXPUNGE, false);
	} else if (count == 0) {
		/* RFC 9051 6.4.8: a UID set naming no message is not an error */
		imap_server_message_set_reply(s, "OK", NULL, "STORE completed");
		imap_server_message_end(s, uid ? IMAP_SYNC_FULL : IMAP_SYNC_NO_EXPUNGE, false);
	} else if (imap_server_message_begin(s, IMAP_PENDING_STORE)) {
		req.uids = uids;
		req.count = count;
		req.keywords = keywords;
		s->shooks.message_store(s->hook_ctx, s, &req);
	}
	mem_free(&uids);
	mem_free(&keywords);
}

void
imap_server_cmd_store(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_store_run(s, cmd->args, cmd->n_args, false);
}

static int
imap_server_uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Is uid in uids[0..count) (ascending)? */
static bool
imap_server_uid_in(const uint32_t *uids, size_t count, uint32_t uid)
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

/* imap_server_finish()'s done for STORE: the FETCH responses, then the
 * tagged reply. store_done recorded the changes with the view first, so a
 * sync that runs before (here) or after (the next command's, when the
 * store's notification comes late) does not report them as if they came
 * from elsewhere (RFC 9051 6.4.6; .SILENT stays silent). A sync that
 * reported a newer state of a message (another session's change) makes
 * ours stale: it is not sent. */
static void imap_server_store_fetch(struct imap_server_session *s,
				    const struct imap_message_change *c);

static void
imap_server_store_reply(struct imap_server_session *s)
{
	struct imap_server_message *m = s->message;

	if (m == NULL)
		return;
	for (size_t i = 0; i < m->change_count; i++) {
		const struct imap_message_change *c = &m->changes[i];

		if (c->modseq == 0 || !imap_server_view_known_newer(s, c->uid, c->modseq))
			imap_server_store_fetch(s, c);
	}
	imap_server_message_reply(s);
}

/* The untagged FETCH of one message changed by this STORE. */
static void
imap_server_store_fetch(struct imap_server_session *s, const struct imap_message_change *c)
{
	struct imap_server_message *m = s->message;
	uint32_t seq = imap_server_seq_of(s, c->uid);

	if (seq == 0)
		return;
	if (!m->silent) {
		imap_server_write_flags(s, c, m->uid);
	} else if (s->condstore_enabled) {
		/* RFC 7162 3.1.3: .SILENT still reports the new MODSEQ */
		if (m->uid)
			imap_server_untagged(s, "%" PRIu32 " FETCH (UID %" PRIu32
					     " MODSEQ (%" PRIu64 "))",
					     seq, c->uid, c->modseq);
		else
			imap_server_untagged(s, "%" PRIu32 " FETCH (MODSEQ (%" PRIu64 "))", seq,
					     c->modseq);
	}
}

void
imap_server_store_done(struct imap_server_session *s, const struct imap_message_change *changes,
		       size_t change_count, const uint32_t *modified, size_t modified_count,
		       enum imap_mailbox_result result, const char *text)
{
	struct imap_server_message *m;
	bool was_held;

	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_STORE || s->message == NULL)
		PANIC("imap_server_store_done without a store hook in progress");
	imap_server_ref(s);
	s->pending = IMAP_PENDING_NONE;
	was_held = imap_server_hold(s);
	m = s->message;
	if (result != IMAP_MAILBOX_OK) {
		imap_server_message_failed(s, result, text, false);
	} else {
		uint32_t *sorted = mem_array(modified_count + 1, sizeof(*sorted));

		if (modified_count > 0)
			memcpy(sorted, modified, modified_count * sizeof(*modified));
		qsort(sorted, modified_count, sizeof(*sorted), imap_server_uid_cmp);
		modified = sorted;
		m->changes = mem_array(change_count + 1, sizeof(*m->changes));
		m->change_keywords = mem_array(change_count + 1, sizeof(*m->change_keywords));
		for (size_t i = 0; i < change_count; i++) {
			size_t k = m->change_count;

			if (imap_server_uid_in(modified, modified_count, changes[i].uid))
				continue;
			m->changes[k] = changes[i];
			if (changes[i].keywords != NULL)
				m->change_keywords[k] = mem_strdup(changes[i].keywords);
			m->changes[k].keywords = m->change_keywords[k];
			m->change_count++;
		}
		if (modified_count > 0) {
			/* RFC 7162 3.1.3: [MODIFIED set], UIDs for UID STORE */
			struct buf code;
			uint32_t *nums = mem_array(modified_count, sizeof(*nums));
			size_t n = 0;

			for (size_t i = 0; i < modified_count; i++) {
				uint32_t num = m->uid ? modified[i]
						      : imap_server_seq_of(s, modified[i]);

				if (num != 0)
					nums[n++] = num;
			}
			buf_init(&code, 0);
			(void)buf_append_str(&code, "MODIFIED ");
			imap_server_append_set(&code, nums, n);
			imap_server_message_set_reply(s, "OK", n > 0 ? buf_cstr(&code) : NULL,
						      "Conditional STORE failed");
			buf_deinit(&code);
			mem_free(&nums);
		} else {
			imap_server_message_set_reply(s, "OK", NULL, "STORE completed");
		}
		mem_free(&sorted);
	}
	/* before any sync: the client learns these from this reply */
	imap_server_view_known_add(s, m->changes, m->change_count);
	if (s->sel == NULL)
		imap_server_store_reply(s);
	else
		imap_server_finish(s, m->uid ? IMAP_SYNC_FULL : IMAP_SYNC_NO_EXPUNGE, false,
				   imap_server_store_reply);
	imap_server_release(s, was_held);
	imap_server_unref(s);
}

/* ---- COPY, MOVE ---- */

/* The destination mailbox argument, or a reply (NULL). */
static char *
imap_server_dest_arg(struct imap_server_session *s, const struct imap_arg *arg, bool *bad_r)
{
	const char *wire, *error;
	size_t len;
	char *name;
	int ret;

	*bad_r = true;
	if (!imap_arg_get_astring(arg, &wire, &len)) {
		imap_server_bad_command(s, s->cmd_tag, "Invalid mailbox name");
		return NULL;
	}
	ret = imap_server_mailbox_name(s, wire, len, &name, &error);
	if (ret < 0) {
		imap_server_bad_command(s, s->cmd_tag, error);
		return NULL;
	}
	*bad_r = false;
	if (ret == 0) {
		imap_server_no(s, "CANNOT", error);
		return NULL;
	}
	return name;
}

void
imap_server_copy_run(struct imap_server_session *s, const struct imap_arg *args,
		     unsigned n_args, bool uid, bool move)
{
	struct imap_server_message *m;
	const char *error;
	uint32_t *uids = NULL;
	size_t count = 0;
	char *name;
	bool bad;

	if (n_args != 2) {
		imap_server_bad_command(s, s->cmd_tag, "Invalid arguments");
		return;
	}
	if (imap_server_resolve_set(s, &args[0], uid, &uids, &count, &error) == 0) {
		imap_server_bad_command(s, s->cmd_tag, error);
		return;
	}
	name = imap_server_dest_arg(s, &args[1], &bad);
	if (name == NULL) {
		mem_free(&uids);
		return;
	}
	m = imap_server_message_new(s, move ? IMAP_MESSAGE_MOVE : IMAP_MESSAGE_COPY, uid);
	m->name = name;
	if (move && s->sel->readonly) {
		imap_server_message_set_reply(s, "NO", "READ-ONLY", "Mailbox is read-only");
		imap_server_message_end(s, IMAP_SYNC_FULL, false);
	} else if (move && (!imap_server_has_right(s, 't') || !imap_server_has_right(s, 'e'))) {
		/* RFC 6851 3.3 / RFC 4314 4: moving expunges from the source */
		imap_server_message_set_reply(s, "NO", "NOPERM", "No right to expunge here");
		imap_server_message_end(s, IMAP_SYNC_FULL, false);
	} else if (count == 0) {
		/* nothing to do (an empty UID set is not an error) */
		imap_server_message_set_reply(s, "OK", NULL,
					      move ? "MOVE completed, no messages"
						   : "COPY completed, no messages");
		imap_server_message_end(s, IMAP_SYNC_FULL, false);
	} else if (imap_server_message_begin(s, IMAP_PENDING_COPY)) {
		s->shooks.message_copy(s->hook_ctx, s, uids, count, name, move);
	}
	mem_free(&uids);
}

void
imap_server_cmd_copy(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_copy_run(s, cmd->args, cmd->n_args, false, false);
}

void
imap_server_cmd_move(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_copy_run(s, cmd->args, cmd->n_args, false, true);
}

void
imap_server_copy_done(struct imap_server_session *s, uint32_t dst_uidvalidity,
		      const uint32_t *src_uids, const uint32_t *dst_uids, size_t count,
		      enum imap_mailbox_result result, const char *text)
{
	struct imap_server_message *m;
	uint32_t *src = NULL, *dst = NULL;
	size_t n = 0;
	struct buf code;
	bool was_held;

	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_COPY || s->message == NULL)
		PANIC("imap_server_copy_done without a copy hook in progress");
	imap_server_ref(s);
	s->pending = IMAP_PENDING_NONE;
	was_held = imap_server_hold(s);
	m = s->message;
	buf_init(&code, 0);
	if (result != IMAP_MAILBOX_OK) {
		imap_server_message_failed(s, result, text, true);
	} else {
		/* the pairs that were copied (dst 0: the source was gone) */
		src = mem_array(count > 0 ? count : 1, sizeof(*src));
		dst = mem_array(count > 0 ? count : 1, sizeof(*dst));
		for (size_t i = 0; i < count; i++) {
			if (src_uids[i] != 0 && dst_uids[i] != 0) {
				src[n] = src_uids[i];
				dst[n++] = dst_uids[i];
			}
		}
		if (n > 0) {
			/* RFC 4315 3: COPYUID uidvalidity source-set dest-set */
			(void)buf_printf(&code, "COPYUID %" PRIu32 " ", dst_uidvalidity);
			imap_server_append_set(&code, src, n);
			(void)buf_append_byte(&code, ' ');
			imap_server_append_set(&code, dst, n);
		}
		if (m->kind == IMAP_MESSAGE_MOVE) {
			/* RFC 6851 4.3: COPYUID in an untagged OK before the
			 * EXPUNGEs, then the tagged OK */
			if (n > 0)
				imap_server_untagged(s, "OK [%s] Moved", buf_cstr(&code));
			if (n > 0)
				imap_server_view_expunged(s, src, n);
			imap_server_message_set_reply(s, "OK", NULL, "MOVE completed");
		} else {
			imap_server_message_set_reply(s, "OK", n > 0 ? buf_cstr(&code) : NULL,
						      "COPY completed");
		}
	}
	buf_deinit(&code);
	mem_free(&src);
	mem_free(&dst);
	if (!imap_server_dead(s))
		imap_server_message_end(s, IMAP_SYNC_FULL, false);
	imap_server_release(s, was_held);
	imap_server_unref(s);
}

/* ---- APPEND ---- */

static int
imap_server_days_in_month(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/* Days from 1970-01-01 to year-month-day (proleptic Gregorian). */
static int64_t
imap_server_days_from_epoch(int year, int month, int day)
{
	int64_t days = 0;

	for (int y = 1970; y < year; y++)
		days += (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 366 : 365;
	for (int y = year; y < 1970; y++)
		days -= (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 366 : 365;
	for (int mo = 1; mo < month; mo++)
		days += imap_server_days_in_month(year, mo);
	return days + day - 1;
}

/* n digits at p, or -1. */
static int
imap_server_digits(const char *p, unsigned n)
{
	int v = 0;

	for (unsigned i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/*
 * RFC 9051 9 date-time without its quotes: "dd-Mon-yyyy hh:mm:ss +zzzz"
 * (the day may be " d"), a real calendar date and time. True and the time
 * in seconds since the epoch, or false.
 */
static bool
imap_server_parse_datetime(const char *str, size_t len, int64_t *time_r)
{
	static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
						"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	int day, month = 0, year, hour, min, sec, zh, zm;

	if (len != 26 || str[2] != '-' || str[6] != '-' || str[11] != ' ' || str[14] != ':' ||
	    str[17] != ':' || str[20] != ' ' || (str[21] != '+' && str[21] != '-'))
		return false;
	day = str[0] == ' ' ? imap_server_digits(str + 1, 1) : imap_server_digits(str, 2);
	for (int i = 0; i < 12; i++) {
		if (strncasecmp(str + 3, months[i], 3) == 0)
			month = i + 1;
	}
	year = imap_server_digits(str + 7, 4);
	hour = imap_server_digits(str + 12, 2);
	min = imap_server_digits(str + 15, 2);
	sec = imap_server_digits(str + 18, 2);
	zh = imap_server_digits(str + 22, 2);
	zm = imap_server_digits(str + 24, 2);
	if (month == 0 || year < 1 || day < 1 || day > imap_server_days_in_month(year, month) ||
	    hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60 || zh < 0 ||
	    zh > 23 || zm < 0 || zm > 59)
		return false;
	*time_r = imap_server_days_from_epoch(year, month, day) * 86400 + hour * 3600 + min * 60 +
		  sec - (str[21] == '-' ? -1 : 1) * (zh * 3600 + zm * 60);
	return true;
}

/* RFC 6855 4: "UTF8" SP "(" literal8 ")" at args[i]; NULL when not that. */
static const struct imap_arg *
imap_server_utf8_literal(const struct imap_arg *args, unsigned n_args, unsigned i)
{
	const struct imap_arg *list;
	unsigned count;

	if (i + 1 >= n_args || !imap_arg_atom_equals(&args[i], "UTF8") ||
	    !imap_arg_get_list(&args[i + 1], &list, &count) || count != 1 ||
	    list[0].type != IMAP_ARG_LITERAL8)
		return NULL;
	return &list[0];
}

/*
 * RFC 4469 5: "(" cat-part *(SP cat-part) ")", cat-part = "TEXT" SP literal
 * / "URL" SP astring; a TEXT literal may be a literal8 (RFC 4469 6, with
 * BINARY) and "UTF8 (literal8)" is a part too (RFC 6855 4). A URL that does
 * not parse is not a syntax error: it answers NO [BADURL] (RFC 4469 6), so
 * it is recorded in cat->bad_url. 1 ok, 0 BAD (*error_r).
 */
static int
imap_server_catenate_parse(const struct imap_arg *arg, struct imap_server_catenate *cat,
			   const char **error_r)
{
	const struct imap_arg *list, *lit;
	unsigned count, k = 0;

	if (!imap_arg_get_list(arg, &list, &count) || count == 0) {
		*error_r = "Invalid CATENATE arguments: (parts) expected";
		return 0;
	}
	cat->parts = mem_array(count, sizeof(*cat->parts));
	cat->urls = mem_array(count, sizeof(*cat->urls));
	while (k < count) {
		struct imap_catenate_part *part = &cat->parts[cat->count];
		const char *why, *str;
		size_t len;

		if ((lit = imap_server_utf8_literal(list, count, k)) != NULL) {
			part->type = IMAP_CATENATE_TEXT;
			(void)imap_arg_get_bytes(lit, &part->data, &part->len);
		} else if (k + 1 < count && imap_arg_atom_equals(&list[k], "TEXT") &&
			   (list[k + 1].type == IMAP_ARG_LITERAL ||
			    list[k + 1].type == IMAP_ARG_LITERAL8)) {
			part->type = IMAP_CATENATE_TEXT;
			(void)imap_arg_get_bytes(&list[k + 1], &part->data, &part->len);
		} else if (k + 1 < count && imap_arg_atom_equals(&list[k], "URL") &&
			   imap_arg_get_astring(&list[k + 1], &str, &len)) {
			part->type = IMAP_CATENATE_URL;
			part->url_text = str;
			part->url = &cat->urls[cat->count];
			if (imap_url_parse(str, len, &cat->urls[cat->count], &why) < 0 &&
			    cat->bad_url == NULL) {
				cat->bad_url = str;
				cat->bad_why = why;
			}
		} else {
			*error_r = "Invalid CATENATE part: TEXT literal or URL url expected";
			return 0;
		}
		cat->count++;
		k += 2;
	}
	return 1;
}

/*
 * One message of an APPEND from args[*i]: [flag-list] [date-time] and a
 * literal, or CATENATE (parts) into *cat. 1 ok (*i past it), 0 BAD
 * (*error_r).
 */
static int
imap_server_append_one(const struct imap_arg *args, unsigned n_args, unsigned *i,
		       struct imap_append_message *msg, struct imap_server_catenate *cat,
		       char **keywords_r, const char **error_r)
{
	const uint8_t *data;
	size_t len;

	memset(msg, 0, sizeof(*msg));
	*keywords_r = NULL;
	if (*i < n_args && args[*i].type == IMAP_ARG_LIST) {
		if (imap_server_parse_flags(&args[*i], &msg->flags, keywords_r, error_r) == 0)
			return 0;
		(*i)++;
	}
	if (*i < n_args && args[*i].type == IMAP_ARG_QUOTED) {
		if (!imap_server_parse_datetime(args[*i].str, args[*i].str_len,
						&msg->internaldate)) {
			*error_r = "Invalid date-time";
			return 0;
		}
		(*i)++;
	}
	/* RFC 4469 5: append-data =/ "CATENATE" SP "(" cat-part ... ")"; the
	 * glue assembles the message (data NULL here) */
	if (*i + 1 < n_args && imap_arg_atom_equals(&args[*i], "CATENATE")) {
		if (imap_server_catenate_parse(&args[*i + 1], cat, error_r) == 0)
			return 0;
		*i += 2;
		return 1;
	}
	/* RFC 6855 4: append-data =/ "UTF8" SP "(" literal8 ")" */
	if (*i + 1 < n_args && imap_arg_atom_equals(&args[*i], "UTF8")) {
		const struct imap_arg *lit = imap_server_utf8_literal(args, n_args, *i);

		if (lit == NULL || !imap_arg_get_bytes(lit, &data, &len)) {
			*error_r = "Invalid APPEND arguments: UTF8 (literal8) expected";
			return 0;
		}
		msg->data = data;
		msg->len = len;
		*i += 2;
		return 1;
	}
	/* RFC 9051 9 append-data: a literal; literal8 per RFC 3516 4.4 */
	if (*i >= n_args ||
	    (args[*i].type != IMAP_ARG_LITERAL && args[*i].type != IMAP_ARG_LITERAL8) ||
	    !imap_arg_get_bytes(&args[*i], &data, &len)) {
		*error_r = "Invalid APPEND arguments: message literal expected";
		return 0;
	}
	msg->data = data;
	msg->len = len;
	(*i)++;
	return 1;
}

/* RFC 3516 4.4 / the store: a message the server cannot keep; NULL ok. */
static const char *
imap_server_append_refuse(const struct imap_append_message *msg,
			  const struct imap_server_catenate *cat, const char **code_r)
{
	if (cat->count > 0)
		return NULL; /* the glue checks what it assembles */
	if (msg->len == 0) {
		*code_r = "CANNOT";
		return "Empty messages cannot be appended";
	}
	/* NUL octets (a literal8, RFC 3516 4.4) are stored as they are: bodies
	 * are byte-exact blobs, and FETCH BINARY gives them back */
	return NULL;
}

/* Set the reply NO [BADURL url] why (RFC 4469 6): url-resp-text is TEXT-CHARs
 * without "]". */
static void
imap_server_append_badurl(struct imap_server_session *s, const char *url, const char *why)
{
	struct buf code;

	buf_init(&code, 0);
	(void)buf_append_str(&code, "BADURL ");
	for (size_t n = 0; url[n] != '\0' && n < IMAP_SERVER_BADURL_MAX; n++) {
		unsigned char c = (unsigned char)url[n];

		if (c >= 0x20 && c < 0x7f && c != ']')
			(void)buf_append_byte(&code, c);
	}
	imap_server_message_set_reply(s, "NO", buf_cstr(&code),
				      why != NULL ? why : "Invalid URL");
	buf_deinit(&code);
}

/*
 * The URLs of every CATENATE message: each must parse and a full URL must
 * name the logged-in user (RFC 4469 5: URLs refer to this server and the
 * user's own access; we have no URLAUTH). NULL when all are fine, else the
 * reason with *url_r the URL.
 */
static const char *
imap_server_catenate_check(const struct imap_server_session *s, const char **url_r)
{
	const struct imap_server_message *m = s->message;

	for (size_t k = 0; k < m->msg_count; k++) {
		const struct imap_server_catenate *cat = &m->cats[k];

		if (cat->bad_url != NULL) {
			*url_r = cat->bad_url;
			return cat->bad_why;
		}
		for (size_t j = 0; j < cat->count; j++) {
			const struct imap_url *url = cat->parts[j].url;

			if (url == NULL || !url->full)
				continue;
			if (url->user == NULL || s->user == NULL ||
			    strcasecmp(url->user, s->user) != 0) {
				*url_r = cat->parts[j].url_text;
				return "URL does not name the logged-in user";
			}
		}
	}
	return NULL;
}

void
imap_server_cmd_append(struct imap_server_session *s, const struct imap_command *cmd)
{
	struct imap_server_message *m;
	const char *error, *code = NULL, *why = NULL, *badurl = NULL;
	unsigned i = 1;
	char *name;
	bool bad;

	m = imap_server_message_new(s, IMAP_MESSAGE_APPEND, false);
	m->msgs = mem_array(cmd->n_args + 1, sizeof(*m->msgs));
	m->msg_keywords = mem_array(cmd->n_args + 1, sizeof(*m->msg_keywords));
	m->cats = mem_array(cmd->n_args + 1, sizeof(*m->cats));
	while (i < cmd->n_args) {
		if (m->msg_count >= IMAP_SERVER_APPEND_MAX) {
			imap_server_message_free(s);
			imap_server_bad_command(s, s->cmd_tag, "Too many messages in one APPEND");
			return;
		}
		if (imap_server_append_one(cmd->args, cmd->n_args, &i, &m->msgs[m->msg_count],
					   &m->cats[m->msg_count], &m->msg_keywords[m->msg_count],
					   &error) == 0) {
			mem_free(&m->msg_keywords[m->msg_count]);
			imap_server_message_free(s);
			imap_server_bad_command(s, s->cmd_tag, error);
			return;
		}
		m->msgs[m->msg_count].keywords = m->msg_keywords[m->msg_count];
		m->msg_count++;
	}
	if (m->msg_count == 0) {
		imap_server_message_free(s);
		imap_server_bad_command(s, s->cmd_tag, "Invalid APPEND arguments");
		return;
	}
	name = imap_server_dest_arg(s, &cmd->args[0], &bad);
	if (name == NULL) {
		imap_server_message_free(s);
		return;
	}
	m->name = name;
	/* RFC 3502 6: all or nothing, so one refused message refuses all */
	for (size_t k = 0; k < m->msg_count && why == NULL; k++)
		why = imap_server_append_refuse(&m->msgs[k], &m->cats[k], &code);
	if (why == NULL)
		why = imap_server_catenate_check(s, &badurl);
	if (badurl != NULL) {
		imap_server_append_badurl(s, badurl, why);
		imap_server_message_end(s, IMAP_SYNC_FULL, false);
	} else if (why != NULL) {
		imap_server_message_set_reply(s, "NO", code, why);
		imap_server_message_end(s, IMAP_SYNC_FULL, false);
	} else if (imap_server_message_begin(s, IMAP_PENDING_APPEND)) {
		s->shooks.message_append(s->hook_ctx, s, name, m->msgs, m->msg_count);
	}
}

bool
imap_server_append_catenate(const struct imap_server_session *s, size_t index,
			    const struct imap_catenate_part **parts_r, size_t *count_r,
			    uint64_t *max_size_r)
{
	const struct imap_server_message *m = s->message;

	if (m == NULL || m->kind != IMAP_MESSAGE_APPEND || s->pending != IMAP_PENDING_APPEND ||
	    m->cats == NULL || index >= m->msg_count || m->cats[index].count == 0)
		return false;
	*parts_r = m->cats[index].parts;
	*count_r = m->cats[index].count;
	/* the largest message an ordinary APPEND literal may carry */
	*max_size_r = s->limits.max_literal;
	return true;
}

void
imap_server_append_refused(struct imap_server_session *s, enum imap_catenate_refusal code,
			   const char *url, const char *text)
{
	struct imap_server_message *m;
	bool was_held;

	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_APPEND || s->message == NULL)
		PANIC("imap_server_append_refused without an append hook in progress");
	imap_server_ref(s);
	s->pending = IMAP_PENDING_NONE;
	was_held = imap_server_hold(s);
	m = s->message;
	if (code == IMAP_CATENATE_BADURL) {
		imap_server_append_badurl(s, url != NULL ? url : "", NULL);
		mem_free(&m->text);
		m->text = imap_server_glue_text(text, "Invalid URL");
	} else {
		imap_server_message_set_reply(s, "NO", "TOOBIG", "Message too big");
		mem_free(&m->text);
		m->text = imap_server_glue_text(text, "Message too big");
	}
	imap_server_message_end(s, IMAP_SYNC_FULL, false);
	imap_server_release(s, was_held);
	imap_server_unref(s);
}

void
imap_server_append_done(struct imap_server_session *s, uint32_t uidvalidity, const uint32_t *uids,
			size_t count, enum imap_mailbox_result result, const char *text)
{
	struct imap_server_message *m;
	bool was_held, force;
	struct buf code;

	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_APPEND || s->message == NULL)
		PANIC("imap_server_append_done without an append hook in progress");
	imap_server_ref(s);
	s->pending = IMAP_PENDING_NONE;
	was_held = imap_server_hold(s);
	m = s->message;
	buf_init(&code, 0);
	if (result != IMAP_MAILBOX_OK) {
		imap_server_message_failed(s, result, text, true);
	} else {
		/* the message data lived in the parser's command: gone now */
		mem_free(&m->msgs);
		if (count > 0 && uids != NULL) {
			/* RFC 4315 3: APPENDUID uidvalidity uid-set */
			(void)buf_printf(&code, "APPENDUID %" PRIu32 " ", uidvalidity);
			imap_server_append_set(&code, uids, count);
		}
		imap_server_message_set_reply(s, "OK", count > 0 ? buf_cstr(&code) : NULL,
					      "APPEND completed");
	}
	buf_deinit(&code);
	/* RFC 9051 6.3.12: appending to the selected mailbox shows the new
	 * message at once (EXISTS) */
	force = result == IMAP_MAILBOX_OK && s->sel != NULL && m->name != NULL &&
		strcmp(s->sel->name, m->name) == 0;
	imap_server_message_end(s, IMAP_SYNC_FULL, force);
	imap_server_release(s, was_held);
	imap_server_unref(s);
}
