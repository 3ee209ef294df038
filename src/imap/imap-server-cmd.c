/*
 * imap-server-cmd.c - the IMAP command table and the commands valid in any
 * state (RFC 9051 6.1: CAPABILITY, NOOP, LOGOUT), ID (RFC 2971) and ENABLE
 * (RFC 5161, RFC 9051 6.3.1).
 *
 * Does: look the command name up in the table, check the session state and
 * the argument count there (so that handlers see only commands they may
 * run), remember the tag for asynchronous answers, and call the handler.
 * A name not in the table answers "TAG BAD Unknown command"; one in the
 * table but not valid now "TAG BAD Command not valid in this state"; both
 * count as bad commands. A command whose hooks the glue did not set (the
 * selected-state hooks, acl, quota) is not offered: it is unknown.
 *
 * NOOP in the selected state is a full sync (imap-server-select.c); ENABLE
 * knows CONDSTORE and QRESYNC (RFC 7162 3.1, 3.2.3; QRESYNC implies
 * CONDSTORE) once the selected-state hooks exist.
 *
 * Does not: authentication commands (imap-server-auth.c), the mailbox
 * commands (imap-server-mailbox.c, imap-server-list.c).
 */
#include "imap/imap-server-private.h"

#include <string.h>
#include <strings.h>

#include "core/mem.h"

/* RFC 2971 3.3: at most 30 field-value pairs, fields up to 30 octets,
 * values up to 1024. */
#define IMAP_SERVER_ID_MAX_PAIRS 30
#define IMAP_SERVER_ID_MAX_FIELD 30
#define IMAP_SERVER_ID_MAX_VALUE 1024

/* Hooks a command needs; without them it is not offered at all and
 * answers like an unknown command. */
enum imap_server_cmd_needs {
	NEEDS_NONE = 0,
	NEEDS_SEL,      /* the selected-state hooks */
	NEEDS_ACL,      /* ... and shooks.acl */
	NEEDS_QUOTA,    /* ... and shooks.quota */
};

struct imap_server_command_def {
	const char *name;
	unsigned states;        /* enum imap_server_state bits */
	unsigned min_args, max_args;
	void (*handler)(struct imap_server_session *s, const struct imap_command *cmd);
	enum imap_server_cmd_needs needs;
};

static void
imap_server_cmd_capability(struct imap_server_session *s, const struct imap_command *cmd)
{
	struct buf caps;

	buf_init(&caps, 0);
	imap_server_capabilities(s, &caps);
	imap_server_untagged(s, "CAPABILITY %s", buf_cstr(&caps));
	buf_deinit(&caps);
	imap_server_ok(s, NULL, "CAPABILITY completed");
}

static void
imap_server_cmd_noop(struct imap_server_session *s, const struct imap_command *cmd)
{
	/* RFC 9051 6.1.2: a chance for untagged updates; none before SELECT */
	if (s->state == IMAP_STATE_SELECTED) {
		imap_server_select_noop(s);
		return;
	}
	imap_server_ok(s, NULL, "NOOP completed");
}

static void
imap_server_cmd_logout(struct imap_server_session *s, const struct imap_command *cmd)
{
	/* RFC 9051 6.1.3: BYE first, then the tagged OK, then close */
	imap_server_untagged(s, "BYE Logging out");
	imap_server_ok(s, NULL, "LOGOUT completed");
	imap_server_close(s);
}

/* RFC 2971 3.1: "(" *(string SP nstring) ")" or NIL, within 3.3's limits. */
static bool
imap_server_id_valid(const struct imap_arg *arg)
{
	const struct imap_arg *list;
	unsigned count;
	const char *str;
	size_t len;

	if (arg->type == IMAP_ARG_NIL)
		return true;
	if (!imap_arg_get_list(arg, &list, &count))
		return false;
	if (count % 2 != 0 || count / 2 > IMAP_SERVER_ID_MAX_PAIRS)
		return false;
	for (unsigned i = 0; i < count; i += 2) {
		if (!imap_arg_get_string(&list[i], &str, &len) || len > IMAP_SERVER_ID_MAX_FIELD)
			return false;
		if (!imap_arg_get_nstring(&list[i + 1], &str, &len) ||
		    len > IMAP_SERVER_ID_MAX_VALUE)
			return false;
	}
	return true;
}

static void
imap_server_cmd_id(struct imap_server_session *s, const struct imap_command *cmd)
{
	struct buf b;

	if (!imap_server_id_valid(&cmd->args[0])) {
		imap_server_bad_command(s, s->cmd_tag, "Invalid ID arguments");
		return;
	}
	/* RFC 2971 3.2: the server's own identification, always sent. No
	 * version: it tells an attacker more than it tells a client. */
	buf_init(&b, 0);
	if (buf_append_str(&b, "ID (") < 0)
		PANIC("unlimited buffer refused data");
	imap_server_append_string(&b, "name", 4, false);
	(void)buf_append_byte(&b, ' ');
	imap_server_append_string(&b, "Posthorn", 8, false);
	(void)buf_append_byte(&b, ')');
	imap_server_untagged(s, "%s", buf_cstr(&b));
	buf_deinit(&b);
	imap_server_ok(s, NULL, "ID completed");
}

static void
imap_server_cmd_enable(struct imap_server_session *s, const struct imap_command *cmd)
{
	struct buf enabled;
	const char *name;
	bool was_condstore = s->condstore_enabled;

	for (unsigned i = 0; i < cmd->n_args; i++) {
		if (!imap_arg_get_atom(&cmd->args[i], &name)) {
			imap_server_bad_command(s, s->cmd_tag, "Invalid ENABLE arguments");
			return;
		}
	}
	buf_init(&enabled, 0);
	(void)buf_append_str(&enabled, "ENABLED");
	for (unsigned i = 0; i < cmd->n_args; i++) {
		(void)imap_arg_get_atom(&cmd->args[i], &name);
		/* RFC 5161 3.1: list only what this command newly enabled;
		 * unknown names are ignored */
		if (strcasecmp(name, "IMAP4rev2") == 0 && !s->rev2_enabled) {
			s->rev2_enabled = true;
			(void)buf_append_str(&enabled, " IMAP4rev2");
		} else if (strcasecmp(name, "UTF8=ACCEPT") == 0 && !s->utf8_enabled) {
			/* RFC 6855 3: UTF-8 in quoted strings from now on */
			s->utf8_enabled = true;
			imap_server_set_parser_mode(s);
			(void)buf_append_str(&enabled, " UTF8=ACCEPT");
		} else if (strcasecmp(name, "CONDSTORE") == 0 && s->have_shooks &&
			   !s->condstore_enabled) {
			/* RFC 7162 3.1 */
			s->condstore_enabled = true;
			(void)buf_append_str(&enabled, " CONDSTORE");
		} else if (strcasecmp(name, "QRESYNC") == 0 && s->have_shooks &&
			   !s->qresync_enabled) {
			/* RFC 7162 3.2.3: QRESYNC implies CONDSTORE, and the
			 * ENABLED response names QRESYNC only */
			s->qresync_enabled = true;
			s->condstore_enabled = true;
			(void)buf_append_str(&enabled, " QRESYNC");
		}
	}
	imap_server_untagged(s, "%s", buf_cstr(&enabled));
	/* RFC 7162 3.1.8: CONDSTORE newly enabled with a mailbox selected
	 * announces its HIGHESTMODSEQ */
	if (!was_condstore)
		imap_server_modseq_announce(s);
	buf_deinit(&enabled);
	imap_server_ok(s, NULL, "ENABLE completed");
}

#define ANY IMAP_STATES_ANY
#define NOT_AUTH IMAP_STATE_NOT_AUTH
/* Commands of the authenticated state stay valid once a mailbox is
 * selected (RFC 9051 3.3). */
#define AUTH IMAP_STATES_AUTHED
#define SEL IMAP_STATE_SELECTED

static const struct imap_server_command_def imap_server_commands[] = {
	{ "CAPABILITY", ANY, 0, 0, imap_server_cmd_capability, NEEDS_NONE },
	{ "NOOP", ANY, 0, 0, imap_server_cmd_noop, NEEDS_NONE },
	{ "LOGOUT", ANY, 0, 0, imap_server_cmd_logout, NEEDS_NONE },
	{ "ID", ANY, 1, 1, imap_server_cmd_id, NEEDS_NONE },
	{ "STARTTLS", NOT_AUTH, 0, 0, imap_server_cmd_starttls, NEEDS_NONE },
	{ "AUTHENTICATE", NOT_AUTH, 1, 2, imap_server_cmd_authenticate, NEEDS_NONE },
	{ "LOGIN", NOT_AUTH, 2, 2, imap_server_cmd_login, NEEDS_NONE },
	{ "ENABLE", AUTH, 1, 100, imap_server_cmd_enable, NEEDS_NONE },
	{ "COMPRESS", AUTH, 1, 1, imap_server_cmd_compress, NEEDS_NONE },
	{ "NAMESPACE", AUTH, 0, 0, imap_server_cmd_namespace, NEEDS_NONE },
	{ "LIST", AUTH, 2, 5, imap_server_cmd_list, NEEDS_NONE },
	{ "LSUB", AUTH, 2, 2, imap_server_cmd_lsub, NEEDS_NONE },
	{ "CREATE", AUTH, 1, 2, imap_server_cmd_create, NEEDS_NONE },
	{ "DELETE", AUTH, 1, 1, imap_server_cmd_delete, NEEDS_NONE },
	{ "RENAME", AUTH, 2, 2, imap_server_cmd_rename, NEEDS_NONE },
	{ "SUBSCRIBE", AUTH, 1, 1, imap_server_cmd_subscribe, NEEDS_NONE },
	{ "UNSUBSCRIBE", AUTH, 1, 1, imap_server_cmd_unsubscribe, NEEDS_NONE },
	{ "STATUS", AUTH, 2, 2, imap_server_cmd_status, NEEDS_NONE },
	{ "SELECT", AUTH, 1, 2, imap_server_cmd_select, NEEDS_SEL },
	{ "EXAMINE", AUTH, 1, 2, imap_server_cmd_examine, NEEDS_SEL },
	{ "APPEND", AUTH, 2, 10000, imap_server_cmd_append, NEEDS_SEL },
	{ "GETACL", AUTH, 1, 1, imap_server_cmd_getacl, NEEDS_ACL },
	{ "SETACL", AUTH, 3, 3, imap_server_cmd_setacl, NEEDS_ACL },
	{ "DELETEACL", AUTH, 2, 2, imap_server_cmd_deleteacl, NEEDS_ACL },
	{ "MYRIGHTS", AUTH, 1, 1, imap_server_cmd_myrights, NEEDS_ACL },
	{ "LISTRIGHTS", AUTH, 2, 2, imap_server_cmd_listrights, NEEDS_ACL },
	{ "GETQUOTA", AUTH, 1, 1, imap_server_cmd_getquota, NEEDS_QUOTA },
	{ "GETQUOTAROOT", AUTH, 1, 1, imap_server_cmd_getquotaroot, NEEDS_QUOTA },
	{ "CLOSE", SEL, 0, 0, imap_server_cmd_close, NEEDS_NONE },
	{ "UNSELECT", SEL, 0, 0, imap_server_cmd_unselect, NEEDS_NONE },
	{ "EXPUNGE", SEL, 0, 0, imap_server_cmd_expunge, NEEDS_NONE },
	{ "CHECK", SEL, 0, 0, imap_server_cmd_check, NEEDS_NONE },
	{ "IDLE", AUTH, 0, 0, imap_server_cmd_idle, NEEDS_SEL },
	{ "FETCH", SEL, 2, 3, imap_server_cmd_fetch, NEEDS_NONE },
	{ "STORE", SEL, 3, 10000, imap_server_cmd_store, NEEDS_NONE },
	{ "SEARCH", SEL, 1, 10000, imap_server_cmd_search, NEEDS_NONE },
	{ "SORT", SEL, 3, 10000, imap_server_cmd_sort, NEEDS_NONE },
	{ "THREAD", SEL, 3, 10000, imap_server_cmd_thread, NEEDS_NONE },
	{ "COPY", SEL, 2, 2, imap_server_cmd_copy, NEEDS_NONE },
	{ "MOVE", SEL, 2, 2, imap_server_cmd_move, NEEDS_NONE },
	{ "UID", SEL, 2, 10000, imap_server_cmd_uid, NEEDS_NONE },
};

void
imap_server_command(struct imap_server_session *s, const struct imap_command *cmd)
{
	const struct imap_server_command_def *def = NULL;

	for (size_t i = 0; i < N_ELEMENTS(imap_server_commands); i++) {
		if (strcmp(imap_server_commands[i].name, cmd->name) == 0) {
			def = &imap_server_commands[i];
			break;
		}
	}
	if (def == NULL) {
		imap_server_bad_command(s, cmd->tag, "Unknown command");
		return;
	}
	if ((def->needs != NEEDS_NONE && !s->have_shooks) ||
	    (def->needs == NEEDS_ACL && s->shooks.acl == NULL) ||
	    (def->needs == NEEDS_QUOTA && s->shooks.quota == NULL)) {
		imap_server_bad_command(s, cmd->tag, "Unknown command");
		return;
	}
	if ((def->states & s->state) == 0) {
		imap_server_bad_command(s, cmd->tag, "Command not valid in this state");
		return;
	}
	if (cmd->n_args < def->min_args || cmd->n_args > def->max_args) {
		imap_server_bad_command(s, cmd->tag, "Invalid arguments");
		return;
	}
	mem_free(&s->cmd_tag);
	s->cmd_tag = mem_strdup(cmd->tag);
	s->cmd_uid = false;
	def->handler(s, cmd);
}
