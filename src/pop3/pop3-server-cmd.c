/*
 * pop3-server-cmd.c - the command table and the commands that need no
 * authentication or TLS logic: CAPA, STAT, LIST, UIDL, RETR, TOP, DELE,
 * NOOP, RSET, QUIT (with the UPDATE state), RFC 1939 5-7 and RFC 2449 5.
 *
 * Does: check each parsed command against the table (allowed states,
 * argument count) in that order, then apply it. Message numbers are checked
 * in a fixed order: syntax, range, deleted mark (RFC 1939 5).
 *
 * Does not: authenticate (pop3-server-auth.c, pop3-server-sasl.c), STLS
 * (pop3-server-tls.c) or stream message data (pop3-server-retr.c). Deleted
 * marks live only in the session until QUIT hands them to hooks->update.
 */
#include "pop3/pop3-server-private.h"

#include <limits.h>
#include <string.h>

#include "core/mem.h"

#define POP3_IN_AUTH (1u << POP3_STATE_AUTHORIZATION)
#define POP3_IN_TRANS (1u << POP3_STATE_TRANSACTION)

struct pop3_server_command {
	enum pop3_command_id id;
	unsigned states;   /* POP3_IN_* mask */
	unsigned min_args, max_args;
	void (*apply)(struct pop3_server_session *s, struct pop3_command *cmd);
};

/* Message count and octets of the messages not marked deleted. */
static void
pop3_server_maildrop_totals(const struct pop3_server_session *s, unsigned *count_r,
			    uint64_t *octets_r)
{
	*count_r = 0;
	*octets_r = 0;
	for (unsigned i = 0; i < s->msg_count; i++) {
		if (s->deleted[i])
			continue;
		(*count_r)++;
		*octets_r += s->msgs[i].size;
	}
}

/* Resolve a message-number argument; on -1 the reply has been sent. */
static int
pop3_server_msg_arg(struct pop3_server_session *s, const char *arg, unsigned *index_r)
{
	unsigned n;

	if (pop3_command_parse_msgnum(arg, &n) < 0) {
		pop3_server_bad_command(s, "invalid message number");
		return -1;
	}
	if (n > s->msg_count) {
		pop3_server_reply(s, "-ERR no such message");
		return -1;
	}
	if (s->deleted[n - 1]) {
		pop3_server_reply(s, "-ERR message %u already deleted", n);
		return -1;
	}
	*index_r = n - 1;
	return 0;
}

/* "SASL" and the mechanisms offered now (RFC 5034 3), if any. */
static void
pop3_server_capa_sasl(struct pop3_server_session *s)
{
	const struct sasl_mech_info *const *mechs = sasl_mechanisms();
	struct buf line;

	buf_init(&line, 0);
	for (size_t i = 0; mechs[i] != NULL; i++) {
		if (pop3_server_mech_offered(s, mechs[i]) &&
		    buf_printf(&line, " %s", mechs[i]->name) < 0)
			PANIC("unlimited buffer refused data");
	}
	if (buf_len(&line) > 0)
		pop3_server_reply(s, "SASL%s", buf_cstr(&line));
	buf_deinit(&line);
}

/*
 * RFC 2449 5. The same list in both states: "Capabilities available in the
 * AUTHORIZATION state MUST be announced in both states" (RFC 2449 5; SASL
 * too after AUTH, RFC 5034 3). STLS while it can still be used (RFC 2595
 * 4: the list may change after it), USER and plain-text mechanisms only
 * where passwords may travel.
 */
static void
pop3_server_cmd_capa(struct pop3_server_session *s, struct pop3_command *cmd)
{
	pop3_server_reply(s, "+OK Capability list follows");
	pop3_server_reply(s, "TOP");
	pop3_server_reply(s, "UIDL");
	pop3_server_reply(s, "RESP-CODES");
	pop3_server_reply(s, "AUTH-RESP-CODE");
	pop3_server_reply(s, "PIPELINING");
	if (s->stls_available && !s->tls)
		pop3_server_reply(s, "STLS");
	if (pop3_server_plaintext_ok(s))
		pop3_server_reply(s, "USER");
	pop3_server_capa_sasl(s);
	pop3_server_reply(s, "IMPLEMENTATION Posthorn");
	pop3_server_reply(s, ".");
}

static void
pop3_server_cmd_stat(struct pop3_server_session *s, struct pop3_command *cmd)
{
	unsigned count;
	uint64_t octets;

	/* RFC 1939 5: deleted messages are not counted */
	pop3_server_maildrop_totals(s, &count, &octets);
	pop3_server_reply(s, "+OK %u %llu", count, (unsigned long long)octets);
}

/* LIST and UIDL share their shape: one line, or a multi-line listing. */
static void
pop3_server_listing(struct pop3_server_session *s, struct pop3_command *cmd, bool uidl)
{
	unsigned index, count;
	uint64_t octets;

	if (cmd->argc == 1) {
		if (pop3_server_msg_arg(s, cmd->args[0], &index) < 0)
			return;
		if (uidl)
			pop3_server_reply(s, "+OK %u %s", index + 1, s->msgs[index].uidl);
		else
			pop3_server_reply(s, "+OK %u %llu", index + 1,
					  (unsigned long long)s->msgs[index].size);
		return;
	}
	pop3_server_maildrop_totals(s, &count, &octets);
	if (uidl)
		pop3_server_reply(s, "+OK unique-id listing follows");
	else
		pop3_server_reply(s, "+OK %u messages (%llu octets)", count,
				  (unsigned long long)octets);
	for (unsigned i = 0; i < s->msg_count && !pop3_server_dead(s); i++) {
		if (s->deleted[i])
			continue;
		if (uidl)
			pop3_server_reply(s, "%u %s", i + 1, s->msgs[i].uidl);
		else
			pop3_server_reply(s, "%u %llu", i + 1, (unsigned long long)s->msgs[i].size);
	}
	pop3_server_reply(s, ".");
}

static void
pop3_server_cmd_list(struct pop3_server_session *s, struct pop3_command *cmd)
{
	pop3_server_listing(s, cmd, false);
}

static void
pop3_server_cmd_uidl(struct pop3_server_session *s, struct pop3_command *cmd)
{
	pop3_server_listing(s, cmd, true);
}

static void
pop3_server_cmd_retr(struct pop3_server_session *s, struct pop3_command *cmd)
{
	unsigned index;

	if (pop3_server_msg_arg(s, cmd->args[0], &index) < 0)
		return;
	pop3_server_retr_start(s, index, -1);
}

/* RFC 1939 7: TOP msg n, n non-negative. Huge n means the whole body. */
static void
pop3_server_cmd_top(struct pop3_server_session *s, struct pop3_command *cmd)
{
	unsigned index;
	uint64_t lines;

	if (pop3_command_parse_uint(cmd->args[1], UINT64_MAX, &lines) < 0) {
		pop3_server_bad_command(s, "invalid line count");
		return;
	}
	if (pop3_server_msg_arg(s, cmd->args[0], &index) < 0)
		return;
	pop3_server_retr_start(s, index, lines > LONG_MAX ? LONG_MAX : (long)lines);
}

static void
pop3_server_cmd_dele(struct pop3_server_session *s, struct pop3_command *cmd)
{
	unsigned index;

	if (pop3_server_msg_arg(s, cmd->args[0], &index) < 0)
		return;
	s->deleted[index] = true;
	pop3_server_reply(s, "+OK message %u deleted", index + 1);
}

static void
pop3_server_cmd_noop(struct pop3_server_session *s, struct pop3_command *cmd)
{
	pop3_server_reply(s, "+OK");
}

static void
pop3_server_cmd_rset(struct pop3_server_session *s, struct pop3_command *cmd)
{
	unsigned count;
	uint64_t octets;

	for (unsigned i = 0; i < s->msg_count; i++)
		s->deleted[i] = false;
	pop3_server_maildrop_totals(s, &count, &octets);
	pop3_server_reply(s, "+OK maildrop has %u messages (%llu octets)", count,
			  (unsigned long long)octets);
}

/* RFC 1939 6: QUIT in TRANSACTION enters UPDATE; in AUTHORIZATION it does not. */
static void
pop3_server_cmd_quit(struct pop3_server_session *s, struct pop3_command *cmd)
{
	unsigned *indices, count = 0;

	if (s->state == POP3_STATE_AUTHORIZATION) {
		pop3_server_reply(s, "+OK %s POP3 server signing off", s->hostname);
		pop3_server_close(s);
		return;
	}
	indices = mem_array(s->msg_count == 0 ? 1 : s->msg_count, sizeof(*indices));
	for (unsigned i = 0; i < s->msg_count; i++) {
		if (s->deleted[i])
			indices[count++] = i;
	}
	s->state = POP3_STATE_UPDATE;
	s->pending = POP3_PENDING_UPDATE;
	pop3_server_flush(s);
	if (!pop3_server_dead(s))
		s->hooks.update(s->hook_ctx, s, indices, count);
	mem_free(&indices);
}

void
pop3_server_update_done(struct pop3_server_session *s, bool ok)
{
	unsigned left = 0;

	if (pop3_server_dead(s))
		return;
	if (s->pending != POP3_PENDING_UPDATE)
		PANIC("pop3_server_update_done without an update in progress");
	pop3_server_ref(s);
	s->pending = POP3_PENDING_NONE;
	for (unsigned i = 0; i < s->msg_count; i++)
		left += !s->deleted[i];
	if (ok)
		pop3_server_reply(s, "+OK %s POP3 server signing off (%u messages left)",
				  s->hostname, left);
	else
		pop3_server_reply(s, "-ERR [SYS/TEMP] some deleted messages not removed");
	pop3_server_close(s);
	pop3_server_unref(s);
}

static const struct pop3_server_command pop3_server_commands[] = {
	{ POP3_CMD_CAPA, POP3_IN_AUTH | POP3_IN_TRANS, 0, 0, pop3_server_cmd_capa },
	{ POP3_CMD_USER, POP3_IN_AUTH, 1, 1, pop3_server_cmd_user },
	{ POP3_CMD_PASS, POP3_IN_AUTH, 1, 1, pop3_server_cmd_pass },
	{ POP3_CMD_AUTH, POP3_IN_AUTH, 0, 2, pop3_server_cmd_auth },
	{ POP3_CMD_STAT, POP3_IN_TRANS, 0, 0, pop3_server_cmd_stat },
	{ POP3_CMD_LIST, POP3_IN_TRANS, 0, 1, pop3_server_cmd_list },
	{ POP3_CMD_UIDL, POP3_IN_TRANS, 0, 1, pop3_server_cmd_uidl },
	{ POP3_CMD_RETR, POP3_IN_TRANS, 1, 1, pop3_server_cmd_retr },
	{ POP3_CMD_TOP, POP3_IN_TRANS, 2, 2, pop3_server_cmd_top },
	{ POP3_CMD_DELE, POP3_IN_TRANS, 1, 1, pop3_server_cmd_dele },
	{ POP3_CMD_NOOP, POP3_IN_TRANS, 0, 0, pop3_server_cmd_noop },
	{ POP3_CMD_RSET, POP3_IN_TRANS, 0, 0, pop3_server_cmd_rset },
	{ POP3_CMD_QUIT, POP3_IN_AUTH | POP3_IN_TRANS, 0, 0, pop3_server_cmd_quit },
	{ POP3_CMD_STLS, POP3_IN_AUTH, 0, 0, pop3_server_cmd_stls },
};

void
pop3_server_command_line(struct pop3_server_session *s, char *line, size_t len)
{
	const struct pop3_server_command *c = NULL;
	struct pop3_command cmd;
	const char *error;

	if (pop3_command_parse(line, len, &s->cmd_limits, &cmd, &error) < 0) {
		pop3_server_bad_command(s, error);
		return;
	}
	for (size_t i = 0; i < N_ELEMENTS(pop3_server_commands); i++) {
		if (pop3_server_commands[i].id == cmd.id)
			c = &pop3_server_commands[i];
	}
	if (c == NULL) {
		/* includes APOP and LAST, which are not offered */
		pop3_server_bad_command(s, "unknown command");
		return;
	}
	if ((c->states & (1u << s->state)) == 0) {
		pop3_server_bad_command(s, "command not valid in this state");
		return;
	}
	if (cmd.argc < c->min_args || cmd.argc > c->max_args) {
		pop3_server_bad_command(s, "wrong number of arguments");
		return;
	}
	c->apply(s, &cmd);
}
