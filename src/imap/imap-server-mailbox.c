/*
 * imap-server-mailbox.c - mailbox names and the authenticated-state mailbox
 * commands but LIST/LSUB: NAMESPACE (RFC 2342), CREATE (RFC 9051 6.3.4,
 * USE of RFC 6154 3), DELETE (6.3.5), RENAME (6.3.6), SUBSCRIBE and
 * UNSUBSCRIBE (6.3.7, 6.3.8), STATUS (6.3.11), their hooks and completions;
 * OBJECTID's MAILBOXID (RFC 8474 4.1 CREATE response code, 4.2 STATUS item),
 * which the glue makes up and the engine only checks and passes on.
 *
 * Names: the client writes modified UTF-7 (RFC 3501 5.1.3) until it enables
 * UTF8=ACCEPT (RFC 6855 3), UTF-8 afterwards; the hooks always see UTF-8
 * with '/' as the separator, the inbox (any case, RFC 9051 5.1) as "INBOX".
 * A name that is not valid modified UTF-7 is a syntax error (BAD); one
 * that is valid but not acceptable (empty, too long, control characters,
 * wildcards, a leading separator, an empty, "." or ".." level) is refused
 * with "NO [CANNOT]" (RFC 5530 3) without asking the glue.
 *
 * The shared namespace (RFC 2342 5, announced when the settings ask for it)
 * holds other users' mailboxes, which the glue maps: CREATE and RENAME of a
 * name at or below its root ("Shared", in any case) are refused here with
 * "NO [CANNOT]", as an own mailbox there could never be reached again.
 *
 * Does not: decide whether a mailbox exists or may be changed (the glue
 * does), INBOX rename semantics (the glue's), SELECT.
 *
 * Invariants: at most one hook outstanding; every hook gets its own copy
 * of the strings; text from the glue reaches the client only sanitised.
 */
#include "imap/imap-server-private.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "imap/imap-utf7.h"

/* Longest failure text taken from the glue. */
#define IMAP_SERVER_MAX_GLUE_TEXT 200

static const struct {
	const char *name;
	unsigned bit;
} imap_server_special_uses[] = {
	{ "\\All", IMAP_SPECIAL_USE_ALL },         { "\\Archive", IMAP_SPECIAL_USE_ARCHIVE },
	{ "\\Drafts", IMAP_SPECIAL_USE_DRAFTS },   { "\\Flagged", IMAP_SPECIAL_USE_FLAGGED },
	{ "\\Junk", IMAP_SPECIAL_USE_JUNK },       { "\\Sent", IMAP_SPECIAL_USE_SENT },
	{ "\\Trash", IMAP_SPECIAL_USE_TRASH },
};

static const struct {
	const char *name;
	unsigned bit;
} imap_server_status_names[] = {
	{ "MESSAGES", IMAP_STATUS_MESSAGES },   { "UIDNEXT", IMAP_STATUS_UIDNEXT },
	{ "UIDVALIDITY", IMAP_STATUS_UIDVALIDITY }, { "UNSEEN", IMAP_STATUS_UNSEEN },
	{ "DELETED", IMAP_STATUS_DELETED },     { "SIZE", IMAP_STATUS_SIZE },
	{ "HIGHESTMODSEQ", IMAP_STATUS_HIGHESTMODSEQ }, { "RECENT", IMAP_STATUS_RECENT },
	{ "MAILBOXID", IMAP_STATUS_MAILBOXID },
};

/* RFC 8474 4: objectid = 1*255(ALPHA / DIGIT / "_" / "-") */
#define IMAP_SERVER_OBJECTID_MAX 255

bool
imap_server_objectid_valid(const char *id)
{
	size_t n = 0;

	if (id == NULL)
		return false;
	for (; id[n] != '\0'; n++) {
		char c = id[n];

		if (n == IMAP_SERVER_OBJECTID_MAX)
			return false;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

/* ---- names ---- */

const char *
imap_server_mailbox_name_check(const struct imap_server_session *s, const char *utf8, size_t len)
{
	const char *error, *level = utf8, *end = utf8 + len;

	if (len == 0)
		return "Empty mailbox name";
	if (len > s->limits.max_mailbox_name)
		return "Mailbox name too long";
	if (imap_mailbox_name_utf8_check(utf8, len, &error) < 0)
		return error;
	if (memchr(utf8, '%', len) != NULL || memchr(utf8, '*', len) != NULL)
		return "Wildcards are not allowed in mailbox names";
	/* every level non-empty and not "." or "..": no way out of the tree */
	for (;;) {
		const char *sep = memchr(level, IMAP_SERVER_SEP, (size_t)(end - level));
		size_t n = (size_t)((sep != NULL ? sep : end) - level);

		if (n == 0)
			return "Empty hierarchy level in mailbox name";
		if ((n == 1 && level[0] == '.') || (n == 2 && level[0] == '.' && level[1] == '.'))
			return "Invalid hierarchy level in mailbox name";
		if (sep == NULL)
			return NULL;
		level = sep + 1;
	}
}

int
imap_server_mailbox_name(const struct imap_server_session *s, const char *wire, size_t len,
			 char **name_r, const char **error_r)
{
	struct buf b;
	const char *why;

	*name_r = NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)wire[i];

		if (c < 0x20 || c == 0x7f) {
			*error_r = "Control characters are not allowed in mailbox names";
			return 0;
		}
	}
	buf_init(&b, 0);
	if (s->utf8_enabled) {
		(void)buf_append(&b, wire, len);
	} else if (imap_utf7_to_utf8(wire, len, &b, &why) < 0) {
		buf_deinit(&b);
		/* no mailbox has such a name: NO, like a name that breaks a rule
		 * below (imaptest "atoms"; Dovecot answers the same) */
		*error_r = "Invalid modified UTF-7 mailbox name";
		return 0;
	}
	why = imap_server_mailbox_name_check(s, (const char *)buf_data(&b), buf_len(&b));
	if (why != NULL) {
		buf_deinit(&b);
		*error_r = why;
		return 0;
	}
	*name_r = buf_steal_str(&b);
	imap_server_mailbox_fold_inbox(*name_r);
	return 1;
}

void
imap_server_mailbox_fold_inbox(char *name)
{
	/* RFC 9051 5.1: INBOX is case-insensitive, also as a parent */
	if (strncasecmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == IMAP_SERVER_SEP))
		memcpy(name, "INBOX", 5);
}

bool
imap_server_append_mailbox(const struct imap_server_session *s, struct buf *out, const char *utf8)
{
	struct buf b;
	const char *error;
	bool ok = true;

	if (s->utf8_enabled) {
		imap_server_append_string(out, utf8, strlen(utf8), true);
		return true;
	}
	buf_init(&b, 0);
	if (imap_utf8_to_utf7(utf8, strlen(utf8), &b, &error) < 0)
		ok = false;
	else
		imap_server_append_string(out, (const char *)buf_data(&b), buf_len(&b), false);
	buf_deinit(&b);
	return ok;
}

/* The mailbox argument i of cmd as a checked UTF-8 name, or a reply. */
static char *
imap_server_mailbox_arg(struct imap_server_session *s, const struct imap_arg *arg, bool create)
{
	const char *wire, *error;
	size_t len;
	char *name;
	int ret;

	if (!imap_arg_get_astring(arg, &wire, &len)) {
		imap_server_bad_command(s, s->cmd_tag, "Invalid mailbox name");
		return NULL;
	}
	/* RFC 9051 6.3.4: a trailing separator only says the client means to
	 * create names below it; the mailbox is created without it */
	if (create && len > 1 && wire[len - 1] == IMAP_SERVER_SEP)
		len--;
	ret = imap_server_mailbox_name(s, wire, len, &name, &error);
	if (ret < 0) {
		imap_server_bad_command(s, s->cmd_tag, error);
		return NULL;
	}
	if (ret == 0) {
		imap_server_no(s, "CANNOT", error);
		return NULL;
	}
	return name;
}

const char *
imap_server_result_code(enum imap_mailbox_result result)
{
	switch (result) {
	case IMAP_MAILBOX_EXISTS:
		return "ALREADYEXISTS";
	case IMAP_MAILBOX_NONEXISTENT:
		return "NONEXISTENT";
	case IMAP_MAILBOX_CANNOT:
		return "CANNOT";
	case IMAP_MAILBOX_NOPERM:
		return "NOPERM";
	case IMAP_MAILBOX_TEMPFAIL:
		return "UNAVAILABLE";
	case IMAP_MAILBOX_OVERQUOTA:
		return "OVERQUOTA";
	case IMAP_MAILBOX_OK:
		break;
	}
	PANIC("invalid mailbox result %d", (int)result);
}

static const char *
imap_server_result_text(enum imap_mailbox_result result)
{
	switch (result) {
	case IMAP_MAILBOX_EXISTS:
		return "Mailbox already exists";
	case IMAP_MAILBOX_NONEXISTENT:
		return "Mailbox does not exist";
	case IMAP_MAILBOX_NOPERM:
		return "Permission denied";
	case IMAP_MAILBOX_TEMPFAIL:
		return "Temporary failure, try again later";
	case IMAP_MAILBOX_OVERQUOTA:
		return "Quota exceeded";
	default:
		return "Operation not possible";
	}
}

/* ---- NAMESPACE ---- */

void
imap_server_cmd_namespace(struct imap_server_session *s, const struct imap_command *cmd)
{
	/* RFC 2342 5: personal, other users', shared; one personal namespace
	 * without prefix, the shared one only when configured */
	imap_server_untagged(s, "NAMESPACE ((\"\" \"/\")) NIL %s",
			     s->namespace_shared ? "((\"" IMAP_SERVER_SHARED_PREFIX "\" \"/\"))"
						 : "NIL");
	imap_server_ok(s, NULL, "NAMESPACE completed");
}

/* ---- CREATE, DELETE, RENAME, (UN)SUBSCRIBE ---- */

/* The shared namespace's root or a name below it (any case: clients spell
 * it either way), when that namespace is announced. */
static bool
imap_server_in_shared_namespace(const struct imap_server_session *s, const char *name)
{
	size_t n = strlen(IMAP_SERVER_SHARED_PREFIX) - 1; /* without the separator */

	return s->namespace_shared && strncasecmp(name, IMAP_SERVER_SHARED_PREFIX, n) == 0 &&
	       (name[n] == '\0' || name[n] == IMAP_SERVER_SEP);
}

static const char imap_server_create_ok[] = "CREATE completed";

/* Set up the pending op; false when the session died flushing. */
static bool
imap_server_op_begin(struct imap_server_session *s, const char *ok_text)
{
	s->op_ok_text = ok_text;
	s->pending = IMAP_PENDING_MAILBOX_OP;
	imap_server_flush(s);
	return !imap_server_dead(s);
}

/* RFC 6154 3: "(USE (\Sent ...))"; 1 ok, 0 unknown attribute, -1 syntax. */
static int
imap_server_create_params(const struct imap_arg *arg, unsigned *special_use_r)
{
	const struct imap_arg *params, *attrs;
	unsigned n_params, n_attrs;
	const char *atom;

	*special_use_r = 0;
	if (!imap_arg_get_list(arg, &params, &n_params) || n_params != 2 ||
	    !imap_arg_atom_equals(&params[0], "USE") ||
	    !imap_arg_get_list(&params[1], &attrs, &n_attrs))
		return -1;
	for (unsigned i = 0; i < n_attrs; i++) {
		bool known = false;

		if (!imap_arg_get_atom(&attrs[i], &atom))
			return -1;
		for (size_t j = 0; j < N_ELEMENTS(imap_server_special_uses); j++) {
			if (strcasecmp(atom, imap_server_special_uses[j].name) == 0) {
				*special_use_r |= imap_server_special_uses[j].bit;
				known = true;
			}
		}
		if (!known)
			return 0;
	}
	return 1;
}

void
imap_server_cmd_create(struct imap_server_session *s, const struct imap_command *cmd)
{
	unsigned special_use = 0;
	char *name;

	if (cmd->n_args == 2) {
		int ret = imap_server_create_params(&cmd->args[1], &special_use);

		if (ret < 0) {
			imap_server_bad_command(s, s->cmd_tag, "Invalid CREATE parameters");
			return;
		}
		if (ret == 0) {
			/* RFC 6154 3 */
			imap_server_no(s, "USEATTR", "Unsupported special-use attribute");
			return;
		}
	}
	name = imap_server_mailbox_arg(s, &cmd->args[0], true);
	if (name == NULL)
		return;
	if (strcmp(name, "INBOX") == 0) {
		/* RFC 9051 6.3.4: INBOX always exists */
		imap_server_no(s, "ALREADYEXISTS", "Mailbox already exists");
	} else if (imap_server_in_shared_namespace(s, name)) {
		/* RFC 2342 5: other users' names, not the user's to make */
		imap_server_no(s, "CANNOT", "Mailboxes cannot be created in the shared namespace");
	} else if (imap_server_op_begin(s, imap_server_create_ok)) {
		s->hooks.mailbox_create(s->hook_ctx, s, name, special_use);
	}
	mem_free(&name);
}

void
imap_server_cmd_delete(struct imap_server_session *s, const struct imap_command *cmd)
{
	char *name = imap_server_mailbox_arg(s, &cmd->args[0], false);

	if (name == NULL)
		return;
	if (strcmp(name, "INBOX") == 0) {
		/* RFC 9051 6.3.5: deleting INBOX is an error */
		imap_server_no(s, "CANNOT", "INBOX cannot be deleted");
	} else if (imap_server_op_begin(s, "DELETE completed")) {
		s->hooks.mailbox_delete(s->hook_ctx, s, name);
	}
	mem_free(&name);
}

void
imap_server_cmd_rename(struct imap_server_session *s, const struct imap_command *cmd)
{
	char *old_name, *new_name;

	old_name = imap_server_mailbox_arg(s, &cmd->args[0], false);
	if (old_name == NULL)
		return;
	new_name = imap_server_mailbox_arg(s, &cmd->args[1], false);
	if (new_name == NULL) {
		mem_free(&old_name);
		return;
	}
	if (strcmp(new_name, "INBOX") == 0) {
		/* RFC 9051 6.3.6: the new name must not exist; INBOX always does */
		imap_server_no(s, "ALREADYEXISTS", "Mailbox already exists");
	} else if (imap_server_in_shared_namespace(s, old_name) ||
		   imap_server_in_shared_namespace(s, new_name)) {
		imap_server_no(s, "CANNOT", "Shared mailboxes cannot be renamed");
	} else if (imap_server_op_begin(s, "RENAME completed")) {
		s->hooks.mailbox_rename(s->hook_ctx, s, old_name, new_name);
	}
	mem_free(&new_name);
	mem_free(&old_name);
}

static void
imap_server_subscribe(struct imap_server_session *s, const struct imap_command *cmd,
		      bool subscribe)
{
	char *name = imap_server_mailbox_arg(s, &cmd->args[0], false);

	if (name == NULL)
		return;
	if (imap_server_op_begin(s, subscribe ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed"))
		s->hooks.mailbox_subscribe(s->hook_ctx, s, name, subscribe);
	mem_free(&name);
}

void
imap_server_cmd_subscribe(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_subscribe(s, cmd, true);
}

void
imap_server_cmd_unsubscribe(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_subscribe(s, cmd, false);
}

void
imap_server_mailbox_op_done(struct imap_server_session *s, enum imap_mailbox_result result,
			    const char *text)
{
	imap_server_mailbox_op_done_id(s, result, text, NULL);
}

void
imap_server_mailbox_op_done_id(struct imap_server_session *s, enum imap_mailbox_result result,
			       const char *text, const char *mailboxid)
{
	char clean[IMAP_SERVER_MAX_GLUE_TEXT + 1];
	char code[sizeof("MAILBOXID ()") + IMAP_SERVER_OBJECTID_MAX];
	size_t n = 0;

	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_MAILBOX_OP)
		PANIC("imap_server_mailbox_op_done without a mailbox hook in progress");
	imap_server_ref(s);
	s->pending = IMAP_PENDING_NONE;
	if (result == IMAP_MAILBOX_OK) {
		/* RFC 8474 4.1: CREATE's OK carries the new mailbox's id (the
		 * op's OK text tells CREATE from the other ops) */
		bool with_id = s->op_ok_text == imap_server_create_ok &&
			       imap_server_objectid_valid(mailboxid);

		if (with_id)
			(void)snprintf(code, sizeof(code), "MAILBOXID (%s)", mailboxid);
		imap_server_ok(s, with_id ? code : NULL, s->op_ok_text);
	} else {
		/* the glue's text goes into a response line: printable only */
		for (; text != NULL && text[n] != '\0' && n < IMAP_SERVER_MAX_GLUE_TEXT; n++) {
			unsigned char c = (unsigned char)text[n];

			clean[n] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
		}
		clean[n] = '\0';
		imap_server_no(s, imap_server_result_code(result),
			       n > 0 ? clean : imap_server_result_text(result));
	}
	imap_server_resume(s);
	imap_server_flush(s);
	imap_server_unref(s);
}

/* ---- STATUS ---- */

unsigned
imap_server_status_items(const struct imap_server_session *s, const struct imap_arg *arg)
{
	const struct imap_arg *list;
	unsigned count, items = 0;
	const char *atom;

	if (!imap_arg_get_list(arg, &list, &count) || count == 0)
		return 0;
	for (unsigned i = 0; i < count; i++) {
		unsigned bit = 0;

		if (!imap_arg_get_atom(&list[i], &atom))
			return 0;
		for (size_t j = 0; j < N_ELEMENTS(imap_server_status_names); j++) {
			if (strcasecmp(atom, imap_server_status_names[j].name) == 0)
				bit = imap_server_status_names[j].bit;
		}
		/* RFC 9051 removed RECENT (appendix E); rev1 clients get the
		 * glue's count (imap_status_info.recent) */
		if (bit == 0 || (bit == IMAP_STATUS_RECENT && s->rev2_enabled))
			return 0;
		items |= bit;
	}
	return items;
}

void
imap_server_status_line(const struct imap_server_session *s, struct buf *out, const char *utf8,
			unsigned items, const struct imap_status_info *info)
{
	imap_server_status_line_id(s, out, utf8, items, info, NULL);
}

void
imap_server_status_line_id(const struct imap_server_session *s, struct buf *out,
			   const char *utf8, unsigned items, const struct imap_status_info *info,
			   const char *mailboxid)
{
	const char *sep = "";
	int ret = 0;

	(void)buf_append_str(out, "STATUS ");
	(void)imap_server_append_mailbox(s, out, utf8);
	(void)buf_append_str(out, " (");
#define ITEM(bit, fmt, value)                                                   \
	if ((items & (bit)) != 0 && ret == 0) {                                 \
		ret = buf_printf(out, "%s" fmt, sep, value);                     \
		sep = " ";                                                      \
	}
	ITEM(IMAP_STATUS_MESSAGES, "MESSAGES %" PRIu32, info->messages);
	ITEM(IMAP_STATUS_UIDNEXT, "UIDNEXT %" PRIu32, info->uidnext);
	ITEM(IMAP_STATUS_UIDVALIDITY, "UIDVALIDITY %" PRIu32, info->uidvalidity);
	ITEM(IMAP_STATUS_UNSEEN, "UNSEEN %" PRIu32, info->unseen);
	ITEM(IMAP_STATUS_DELETED, "DELETED %" PRIu32, info->deleted);
	ITEM(IMAP_STATUS_SIZE, "SIZE %" PRIu64, info->size);
	ITEM(IMAP_STATUS_HIGHESTMODSEQ, "HIGHESTMODSEQ %" PRIu64,
	     imap_server_modseq_out(info->highest_modseq));
	ITEM(IMAP_STATUS_RECENT, "RECENT %" PRIu32, info->recent);
	/* RFC 8474 4.2; an id the glue does not know (or got wrong) is left
	 * out rather than sent malformed */
	if ((items & IMAP_STATUS_MAILBOXID) != 0 && imap_server_objectid_valid(mailboxid)) {
		ITEM(IMAP_STATUS_MAILBOXID, "MAILBOXID (%s)", mailboxid);
	}
#undef ITEM
	if (ret < 0 || buf_append_byte(out, ')') < 0)
		PANIC("unlimited buffer refused data");
}

void
imap_server_cmd_status(struct imap_server_session *s, const struct imap_command *cmd)
{
	unsigned items = imap_server_status_items(s, &cmd->args[1]);
	char *name;

	if (items == 0) {
		imap_server_bad_command(s, s->cmd_tag, "Invalid STATUS items");
		return;
	}
	name = imap_server_mailbox_arg(s, &cmd->args[0], false);
	if (name == NULL)
		return;
	mem_free(&s->status_name);
	s->status_name = mem_strdup(name);
	s->status_items = items;
	s->pending = IMAP_PENDING_STATUS;
	imap_server_flush(s);
	if (!imap_server_dead(s))
		s->hooks.mailbox_status(s->hook_ctx, s, name, items);
	mem_free(&name);
}

void
imap_server_status_done(struct imap_server_session *s, const struct imap_status_info *info,
			enum imap_mailbox_result result)
{
	imap_server_status_done_id(s, info, NULL, result);
}

void
imap_server_status_done_id(struct imap_server_session *s, const struct imap_status_info *info,
			   const char *mailboxid, enum imap_mailbox_result result)
{
	struct buf line;

	if (imap_server_dead(s))
		return;
	if (s->pending == IMAP_PENDING_LIST_STATUS) {
		imap_server_list_status_done_id(s, info, mailboxid, result);
		return;
	}
	if (s->pending != IMAP_PENDING_STATUS)
		PANIC("imap_server_status_done without a status hook in progress");
	imap_server_ref(s);
	s->pending = IMAP_PENDING_NONE;
	if (result == IMAP_MAILBOX_OK) {
		ASSERT(info != NULL);
		buf_init(&line, 0);
		imap_server_status_line_id(s, &line, s->status_name, s->status_items, info,
					   mailboxid);
		imap_server_untagged(s, "%s", buf_cstr(&line));
		buf_deinit(&line);
		imap_server_ok(s, NULL, "STATUS completed");
	} else {
		imap_server_no(s, imap_server_result_code(result), imap_server_result_text(result));
	}
	mem_free(&s->status_name);
	imap_server_resume(s);
	imap_server_flush(s);
	imap_server_unref(s);
}
