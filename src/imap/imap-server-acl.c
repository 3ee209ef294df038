/*
 * imap-server-acl.c - the ACL commands (RFC 4314 3: SETACL, DELETEACL,
 * GETACL, LISTRIGHTS, MYRIGHTS) and the QUOTA commands (RFC 9208 4:
 * GETQUOTA, GETQUOTAROOT), their hooks, completions and capabilities.
 *
 * The engine checks the syntax (mailbox names as for every other command,
 * identifiers non-empty without control characters, rights only of RFC
 * 4314 2.1 and 2.1.1: an unknown right is BAD, RFC 4314 3.1) and renders
 * the responses; the glue decides who may do what. Rights from the glue
 * are canonical RFC 4314 2.1 letters; the engine adds the obsolete virtual
 * rights "c" and "d" (RFC 4314 2.1.1) where they belong, tied the way the
 * store ties them: "c" = k x, "d" = x t e.
 *
 * Does not: SETQUOTA (RFC 9208 4.1.3: quotas are set by the administrator
 * through the CLI), negative rights, SASLprep of identifiers (identifiers
 * are account addresses and two ASCII keywords), RIGHTS= beyond "texk".
 *
 * Invariants: at most one hook outstanding (IMAP_PENDING_ACL or
 * IMAP_PENDING_QUOTA); while one is, the command's mailbox name and
 * identifier live in s->status_name as "name\0identifier\0" (STATUS and
 * these commands never overlap, and session teardown frees it) and the
 * operation in s->status_items. Text from the glue reaches the client only
 * as IMAP strings or, for response text, sanitised.
 */
#include "imap/imap-server-private.h"

#include <inttypes.h>
#include <string.h>

#include "core/mem.h"

/* Longest failure text taken from the glue. */
#define IMAP_ACL_MAX_GLUE_TEXT 200
/* Every right a client may write (RFC 4314 2.1, 2.1.1). */
#define IMAP_ACL_RIGHTS_KNOWN "lrswipkxtecda"
/* The rights the engine passes on to the client from the glue. */
#define IMAP_ACL_RIGHTS_REAL "aeiklprstwx"
/* Members of the virtual rights as this server ties them. */
#define IMAP_ACL_CREATE_MEMBERS "kx"
#define IMAP_ACL_DELETE_MEMBERS "xte"
/* Room for every real right, "c", "d" and the NUL. */
#define IMAP_ACL_SHOW_SIZE 16

/* s->status_items for IMAP_PENDING_QUOTA */
#define IMAP_QUOTA_OP_GETQUOTA 1u
#define IMAP_QUOTA_OP_GETQUOTAROOT 2u

/* ---- helpers ---- */

static bool
imap_acl_hooks_present(const struct imap_server_session *s, bool quota)
{
	return s->have_shooks && (quota ? s->shooks.quota != NULL : s->shooks.acl != NULL);
}

void
imap_server_acl_capabilities(const struct imap_server_session *s, struct buf *out)
{
	static const char acl[] = " ACL RIGHTS=texk";
	static const char quota[] = " QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE";
	int ret = 0;

	/* RFC 4314 2.1: RIGHTS= lists the rights beyond RFC 2086's */
	if (imap_acl_hooks_present(s, false))
		ret = buf_append_str(out, buf_len(out) > 0 ? acl : acl + 1);
	/* RFC 9208 3.1, 5: the resources this server reports */
	if (ret == 0 && imap_acl_hooks_present(s, true))
		ret = buf_append_str(out, buf_len(out) > 0 ? quota : quota + 1);
	if (ret < 0)
		PANIC("unlimited buffer refused data");
}

static bool
imap_acl_has_any(const char *rights, const char *members)
{
	return strpbrk(rights, members) != NULL;
}

/* rights from the glue as the client sees them: only real rights, then "c"
 * and "d" when any of their members is there (RFC 4314 2.1.1). */
static void
imap_acl_rights_show(const char *rights, char out[IMAP_ACL_SHOW_SIZE])
{
	size_t n = 0;

	for (const char *p = IMAP_ACL_RIGHTS_REAL; *p != '\0'; p++) {
		if (rights != NULL && strchr(rights, *p) != NULL)
			out[n++] = *p;
	}
	out[n] = '\0';
	if (imap_acl_has_any(out, IMAP_ACL_CREATE_MEMBERS))
		out[n++] = 'c';
	if (imap_acl_has_any(out, IMAP_ACL_DELETE_MEMBERS))
		out[n++] = 'd';
	out[n] = '\0';
}

/* rights with the virtual ones left out: what one LISTRIGHTS group holds */
static void
imap_acl_rights_real(const char *rights, char out[IMAP_ACL_SHOW_SIZE])
{
	size_t n = 0;

	for (const char *p = IMAP_ACL_RIGHTS_REAL; *p != '\0'; p++) {
		if (rights != NULL && strchr(rights, *p) != NULL)
			out[n++] = *p;
	}
	out[n] = '\0';
}

/* " " + an IMAP string onto out */
static void
imap_acl_append_sp_string(const struct imap_server_session *s, struct buf *out, const char *str)
{
	if (buf_append_byte(out, ' ') < 0)
		PANIC("unlimited buffer refused data");
	imap_server_append_string(out, str, strlen(str), s->utf8_enabled);
}

static void
imap_acl_sanitize(const char *text, char clean[IMAP_ACL_MAX_GLUE_TEXT + 1])
{
	size_t n = 0;

	for (; text != NULL && text[n] != '\0' && n < IMAP_ACL_MAX_GLUE_TEXT; n++) {
		unsigned char c = (unsigned char)text[n];

		clean[n] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	clean[n] = '\0';
}

static const char *
imap_acl_result_text(enum imap_mailbox_result result)
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

/* The mailbox argument as a checked UTF-8 name, or the reply was sent. */
static char *
imap_acl_mailbox_arg(struct imap_server_session *s, const struct imap_arg *arg)
{
	const char *wire, *error;
	size_t len;
	char *name;
	int ret;

	if (!imap_arg_get_astring(arg, &wire, &len)) {
		imap_server_bad_command(s, s->cmd_tag, "Invalid mailbox name");
		return NULL;
	}
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

/* An identifier argument (RFC 4314 3: empty is BAD), or NULL after BAD. */
static const char *
imap_acl_identifier_arg(struct imap_server_session *s, const struct imap_arg *arg)
{
	const char *id;
	size_t len;

	if (!imap_arg_get_astring(arg, &id, &len) || len == 0 || strlen(id) != len) {
		imap_server_bad_command(s, s->cmd_tag, "Invalid identifier");
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];

		if (c < 0x20 || c == 0x7f) {
			imap_server_bad_command(s, s->cmd_tag, "Invalid identifier");
			return NULL;
		}
	}
	return id;
}

/* Keep name and identifier for the response, then call the hook. */
static void
imap_acl_begin(struct imap_server_session *s, enum imap_acl_op op, const char *name,
	       const char *identifier, const char *rights)
{
	size_t nlen = strlen(name), ilen = identifier != NULL ? strlen(identifier) : 0;
	char *state = mem_alloc(mem_size_add(mem_size_add(nlen, ilen), 2));

	memcpy(state, name, nlen + 1);
	memcpy(state + nlen + 1, identifier != NULL ? identifier : "", ilen + 1);
	mem_free(&s->status_name);
	s->status_name = state;
	s->status_items = (unsigned)op;
	s->pending = IMAP_PENDING_ACL;
	imap_server_flush(s);
	if (!imap_server_dead(s))
		s->shooks.acl(s->hook_ctx, s, op, name, identifier, rights);
}

/* The common part of the ACL commands: hooks, mailbox, identifier. */
static void
imap_acl_command(struct imap_server_session *s, const struct imap_command *cmd,
		 enum imap_acl_op op)
{
	const char *identifier = NULL, *rights = NULL;
	size_t len;
	char *name;

	if (!imap_acl_hooks_present(s, false)) {
		imap_server_bad_command(s, s->cmd_tag, "Unknown command");
		return;
	}
	if (op == IMAP_ACL_SET || op == IMAP_ACL_DELETE || op == IMAP_ACL_LISTRIGHTS) {
		identifier = imap_acl_identifier_arg(s, &cmd->args[1]);
		if (identifier == NULL)
			return;
	}
	if (op == IMAP_ACL_SET) {
		if (!imap_arg_get_astring(&cmd->args[2], &rights, &len) || strlen(rights) != len) {
			imap_server_bad_command(s, s->cmd_tag, "Invalid rights");
			return;
		}
		/* RFC 4314 3.1: optional "+" or "-", then known rights only */
		for (size_t i = rights[0] == '+' || rights[0] == '-' ? 1 : 0; i < len; i++) {
			if (strchr(IMAP_ACL_RIGHTS_KNOWN, rights[i]) == NULL) {
				imap_server_bad_command(s, s->cmd_tag, "Unsupported right");
				return;
			}
		}
	}
	name = imap_acl_mailbox_arg(s, &cmd->args[0]);
	if (name == NULL)
		return;
	imap_acl_begin(s, op, name, identifier, rights);
	mem_free(&name);
}

/* ---- ACL commands (RFC 4314 3) ---- */

void
imap_server_cmd_setacl(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_acl_command(s, cmd, IMAP_ACL_SET);
}

void
imap_server_cmd_deleteacl(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_acl_command(s, cmd, IMAP_ACL_DELETE);
}

void
imap_server_cmd_getacl(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_acl_command(s, cmd, IMAP_ACL_GET);
}

void
imap_server_cmd_listrights(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_acl_command(s, cmd, IMAP_ACL_LISTRIGHTS);
}

void
imap_server_cmd_myrights(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_acl_command(s, cmd, IMAP_ACL_MYRIGHTS);
}

/* "LISTRIGHTS name identifier required group..." (RFC 4314 3.7): each
 * right once; "c" and "d" as groups of their own unless required already
 * has them (RFC 4314 2.1.1: this server does not tie their members). */
static void
imap_acl_listrights_line(const struct imap_server_session *s, struct buf *line,
			 const char *identifier, const struct imap_acl_entry *groups,
			 size_t count, const char *required)
{
	char req[IMAP_ACL_SHOW_SIZE], group[IMAP_ACL_SHOW_SIZE], seen[IMAP_ACL_SHOW_SIZE];
	bool any_create = false, any_delete = false;
	size_t n_seen;

	imap_acl_rights_show(required, req);
	imap_acl_append_sp_string(s, line, identifier);
	imap_acl_append_sp_string(s, line, req);
	imap_acl_rights_real(req, seen);
	n_seen = strlen(seen);
	for (size_t i = 0; i < count; i++) {
		size_t n = 0;

		imap_acl_rights_real(groups[i].rights, group);
		/* drop rights already listed: the same right never twice */
		for (size_t j = 0; group[j] != '\0'; j++) {
			if (strchr(seen, group[j]) == NULL)
				group[n++] = group[j];
		}
		group[n] = '\0';
		if (n == 0)
			continue;
		memcpy(seen + n_seen, group, n + 1);
		n_seen += n;
		any_create = any_create || imap_acl_has_any(group, IMAP_ACL_CREATE_MEMBERS);
		any_delete = any_delete || imap_acl_has_any(group, IMAP_ACL_DELETE_MEMBERS);
		imap_acl_append_sp_string(s, line, group);
	}
	if (any_create && strchr(req, 'c') == NULL)
		imap_acl_append_sp_string(s, line, "c");
	if (any_delete && strchr(req, 'd') == NULL)
		imap_acl_append_sp_string(s, line, "d");
}

static void
imap_acl_write_ok(struct imap_server_session *s, enum imap_acl_op op, const char *name,
		  const char *identifier, const struct imap_acl_entry *entries, size_t count,
		  const char *rights)
{
	char show[IMAP_ACL_SHOW_SIZE];
	struct buf line;
	const char *ok = "SETACL completed";

	buf_init(&line, 0);
	switch (op) {
	case IMAP_ACL_SET:
		break;
	case IMAP_ACL_DELETE:
		ok = "DELETEACL completed";
		break;
	case IMAP_ACL_GET:
		/* RFC 4314 3.6 */
		(void)buf_append_str(&line, "ACL ");
		(void)imap_server_append_mailbox(s, &line, name);
		for (size_t i = 0; i < count; i++) {
			if (entries[i].identifier == NULL || entries[i].identifier[0] == '\0')
				continue;
			imap_acl_rights_show(entries[i].rights, show);
			imap_acl_append_sp_string(s, &line, entries[i].identifier);
			imap_acl_append_sp_string(s, &line, show);
		}
		ok = "GETACL completed";
		break;
	case IMAP_ACL_MYRIGHTS:
		/* RFC 4314 3.8 */
		(void)buf_append_str(&line, "MYRIGHTS ");
		(void)imap_server_append_mailbox(s, &line, name);
		imap_acl_rights_show(rights, show);
		imap_acl_append_sp_string(s, &line, show);
		ok = "MYRIGHTS completed";
		break;
	case IMAP_ACL_LISTRIGHTS:
		(void)buf_append_str(&line, "LISTRIGHTS ");
		(void)imap_server_append_mailbox(s, &line, name);
		imap_acl_listrights_line(s, &line, identifier, entries, count, rights);
		ok = "LISTRIGHTS completed";
		break;
	}
	if (buf_len(&line) > 0)
		imap_server_untagged(s, "%s", buf_cstr(&line));
	buf_deinit(&line);
	imap_server_ok(s, NULL, ok);
}

void
imap_server_acl_done(struct imap_server_session *s, const struct imap_acl_entry *entries,
		     size_t count, const char *rights, enum imap_mailbox_result result,
		     const char *text)
{
	char clean[IMAP_ACL_MAX_GLUE_TEXT + 1];
	enum imap_acl_op op;
	const char *name, *identifier;

	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_ACL)
		PANIC("imap_server_acl_done without an acl hook in progress");
	imap_server_ref(s);
	s->pending = IMAP_PENDING_NONE;
	op = (enum imap_acl_op)s->status_items;
	name = s->status_name;
	identifier = name + strlen(name) + 1;
	if (result == IMAP_MAILBOX_OK) {
		imap_acl_write_ok(s, op, name, identifier, entries, count, rights);
	} else {
		imap_acl_sanitize(text, clean);
		imap_server_no(s, imap_server_result_code(result),
			       clean[0] != '\0' ? clean : imap_acl_result_text(result));
	}
	mem_free(&s->status_name);
	imap_server_resume(s);
	imap_server_flush(s);
	imap_server_unref(s);
}

/* ---- QUOTA commands (RFC 9208 4) ---- */

void
imap_server_cmd_getquota(struct imap_server_session *s, const struct imap_command *cmd)
{
	const char *root;
	size_t len;

	if (!imap_acl_hooks_present(s, true)) {
		imap_server_bad_command(s, s->cmd_tag, "Unknown command");
		return;
	}
	if (!imap_arg_get_astring(&cmd->args[0], &root, &len) || strlen(root) != len) {
		imap_server_bad_command(s, s->cmd_tag, "Invalid quota root");
		return;
	}
	mem_free(&s->status_name);
	s->status_name = mem_strdup(root);
	s->status_items = IMAP_QUOTA_OP_GETQUOTA;
	s->pending = IMAP_PENDING_QUOTA;
	imap_server_flush(s);
	if (!imap_server_dead(s))
		s->shooks.quota(s->hook_ctx, s, root, NULL);
}

void
imap_server_cmd_getquotaroot(struct imap_server_session *s, const struct imap_command *cmd)
{
	char *name;

	if (!imap_acl_hooks_present(s, true)) {
		imap_server_bad_command(s, s->cmd_tag, "Unknown command");
		return;
	}
	name = imap_acl_mailbox_arg(s, &cmd->args[0]);
	if (name == NULL)
		return;
	mem_free(&s->status_name);
	s->status_name = mem_strdup(name);
	s->status_items = IMAP_QUOTA_OP_GETQUOTAROOT;
	s->pending = IMAP_PENDING_QUOTA;
	imap_server_flush(s);
	if (!imap_server_dead(s))
		s->shooks.quota(s->hook_ctx, s, NULL, name);
	mem_free(&name);
}

/* A resource name from the glue goes out as an atom: letters, digits, '-'. */
static bool
imap_quota_resource_ok(const char *name)
{
	if (name == NULL || name[0] == '\0')
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	}
	return true;
}

/* "* QUOTA root (NAME usage limit ...)" (RFC 9208 5.1); nothing when no
 * resource is usable (the grammar needs at least one). */
static void
imap_quota_write(struct imap_server_session *s, const char *root,
		 const struct imap_quota_resource *res, size_t count)
{
	struct buf line;
	const char *sep = " (";

	buf_init(&line, 0);
	(void)buf_append_str(&line, "QUOTA ");
	imap_server_append_string(&line, root, strlen(root), s->utf8_enabled);
	for (size_t i = 0; i < count; i++) {
		if (!imap_quota_resource_ok(res[i].name))
			continue;
		(void)buf_printf(&line, "%s%s %" PRIu64 " %" PRIu64, sep, res[i].name,
				 res[i].usage, res[i].limit);
		sep = " ";
	}
	if (sep[0] == ' ' && sep[1] == '\0') {
		(void)buf_append_byte(&line, ')');
		imap_server_untagged(s, "%s", buf_cstr(&line));
	}
	buf_deinit(&line);
}

void
imap_server_quota_done(struct imap_server_session *s, const char *root,
		       const struct imap_quota_resource *res, size_t count,
		       enum imap_mailbox_result result, const char *text)
{
	char clean[IMAP_ACL_MAX_GLUE_TEXT + 1];
	struct buf line;

	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_QUOTA)
		PANIC("imap_server_quota_done without a quota hook in progress");
	imap_server_ref(s);
	s->pending = IMAP_PENDING_NONE;
	if (result == IMAP_MAILBOX_OK && s->status_items == IMAP_QUOTA_OP_GETQUOTAROOT) {
		/* RFC 9208 5.2: the mailbox and its roots (none: no quota) */
		buf_init(&line, 0);
		(void)buf_append_str(&line, "QUOTAROOT ");
		(void)imap_server_append_mailbox(s, &line, s->status_name);
		if (root != NULL)
			imap_acl_append_sp_string(s, &line, root);
		imap_server_untagged(s, "%s", buf_cstr(&line));
		buf_deinit(&line);
		if (root != NULL)
			imap_quota_write(s, root, res, count);
		imap_server_ok(s, NULL, "GETQUOTAROOT completed");
	} else if (result == IMAP_MAILBOX_OK && root != NULL) {
		imap_quota_write(s, root, res, count);
		imap_server_ok(s, NULL, "GETQUOTA completed");
	} else if (result == IMAP_MAILBOX_OK) {
		/* RFC 9208 4.2: a root that does not exist */
		imap_server_no(s, "NONEXISTENT", "No such quota root");
	} else {
		imap_acl_sanitize(text, clean);
		imap_server_no(s, imap_server_result_code(result),
			       clean[0] != '\0' ? clean : imap_acl_result_text(result));
	}
	mem_free(&s->status_name);
	imap_server_resume(s);
	imap_server_flush(s);
	imap_server_unref(s);
}
