/*
 * imap-server.c - session lifecycle, the input loop, parser events and
 * closing.
 *
 * Does: create/free sessions; buffer input and feed it to the parser
 * (imap/imap-parser.h); turn its events into actions: a command goes to the
 * dispatcher (imap-server-cmd.c), a literal continuation request is answered
 * "+ Ready for literal data" (RFC 9051 7.5), a line (line mode) goes to the
 * AUTHENTICATE exchange, an error becomes "TAG BAD", "* BAD" or "NO/BAD
 * [TOOBIG]"; count bad commands; close; drop held input (STARTTLS);
 * timeouts and shutdown; the re-entrancy rules of imap-server-private.h.
 *
 * Does not: interpret commands (imap-server-cmd.c, imap-server-auth.c, the
 * selected-state files) or format responses (imap-server-reply.c). A line
 * in line mode goes to IDLE (imap-server-select.c) while idling, else to
 * the AUTHENTICATE exchange.
 *
 * Literal limits (RFC 7888): before login the parser allows literals up to
 * max_literal_prelogin and, as LITERAL- says, non-synchronizing ones of at
 * most 4096 octets; after login max_literal and LITERAL+. A refused
 * synchronizing literal gets "TAG NO [TOOBIG]" and no continuation, so the
 * client never sends its data (RFC 9051 7.1, RFC 4469 TOOBIG). A refused
 * non-synchronizing literal gets "TAG BAD [TOOBIG]" (RFC 7888 4) and its
 * data, which the client sends anyway, is skipped by the parser; when that
 * is more than the state's literal limit the session is closed instead of
 * reading it all.
 *
 * How the loop stays correct when hooks complete synchronously: as in the
 * POP3 engine, the loop runs with s->processing set and stops while a hook
 * is outstanding; a completion inside the hook only updates state, one
 * from the event loop restarts the loop (imap_server_resume).
 */
#include "imap/imap-server-private.h"

#include <string.h>

#include "core/mem.h"

void
imap_server_limits_init_default(struct imap_server_limits *limits)
{
	memset(limits, 0, sizeof(*limits));
	limits->max_line = IMAP_PARSER_DEFAULT_MAX_LINE;
	limits->max_literal_prelogin = 8192;
	limits->max_literal = 64 * 1024 * 1024;
	limits->max_command = 80 * 1024 * 1024;
	limits->max_bad_commands = 20;
	limits->max_auth_failures = 3;
	limits->max_input_buffer = 65536;
	limits->max_mailbox_name = 1000;
}

/* Keep only atoms (RFC 9051 9 capability = atom) of the glue's extras. */
static char *
imap_server_sanitize_caps(const char *extra)
{
	struct buf b;
	const char *p = extra != NULL ? extra : "";

	buf_init(&b, 0);
	while (*p != '\0') {
		const char *start;
		bool ok = true;

		while (*p == ' ')
			p++;
		start = p;
		while (*p != '\0' && *p != ' ') {
			unsigned char c = (unsigned char)*p;

			if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
				ok = false;
			p++;
		}
		if (ok && p > start) {
			if (buf_len(&b) > 0)
				(void)buf_append_byte(&b, ' ');
			(void)buf_append(&b, start, (size_t)(p - start));
		}
	}
	return buf_steal_str(&b);
}

struct imap_server_session *
imap_server_session_new(const struct imap_server_settings *settings,
			const struct imap_server_hooks *hooks, void *hook_ctx,
			const struct imap_server_io *io, void *io_ctx, const char *client_ip)
{
	struct imap_server_session *s = mem_zalloc(sizeof(*s));
	const struct imap_server_limits *l = &settings->limits;
	struct imap_parser_limits pl;

	ASSERT(hooks->auth_lookup != NULL && hooks->authenticated != NULL);
	ASSERT(hooks->mailbox_list != NULL && hooks->mailbox_status != NULL &&
	       hooks->mailbox_create != NULL && hooks->mailbox_delete != NULL &&
	       hooks->mailbox_rename != NULL && hooks->mailbox_subscribe != NULL);
	ASSERT(l->max_mailbox_name >= 1);
	ASSERT(!settings->starttls_available || hooks->starttls != NULL);
	ASSERT(io->write != NULL && io->close != NULL);
	/* RFC 7162 4 wants 8192-octet lines; AUTHENTICATE lines need room too */
	ASSERT(l->max_line >= 8192 && l->max_input_buffer >= 1);
	ASSERT(l->max_literal_prelogin <= l->max_literal && l->max_literal <= l->max_command);
	s->hostname = mem_strdup(settings->hostname != NULL ? settings->hostname : "localhost");
	for (char *p = s->hostname; *p != '\0'; p++) {
		/* it goes into responses: no line breaks or controls from config */
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			*p = '_';
	}
	s->client_ip = mem_strdup(client_ip != NULL ? client_ip : "");
	s->capability_extra = imap_server_sanitize_caps(settings->capability_extra);
	s->plaintext_allowed = settings->auth_plaintext_allowed;
	s->starttls_available = settings->starttls_available;
	s->namespace_shared = settings->namespace_shared;
	s->limits = *l;
	s->hooks = *hooks;
	s->hook_ctx = hook_ctx;
	s->io = *io;
	s->io_ctx = io_ctx;
	s->state = IMAP_STATE_NOT_AUTH;
	imap_parser_limits_init_default(&pl);
	s->parser = imap_parser_new(&pl, 0);
	imap_server_set_parser_mode(s);
	buf_init(&s->in, l->max_input_buffer);
	buf_init(&s->out, 0);
	return s;
}

/* Parser limits and flags for the current state (call between commands). */
void
imap_server_set_parser_mode(struct imap_server_session *s)
{
	struct imap_parser_limits pl;
	unsigned flags = 0;

	imap_parser_limits_init_default(&pl);
	pl.max_line = s->limits.max_line;
	pl.max_command = s->limits.max_command;
	if (s->state == IMAP_STATE_NOT_AUTH) {
		pl.max_literal = s->limits.max_literal_prelogin;
		flags |= IMAP_PARSER_FLAG_LITERAL_MINUS;
	} else {
		pl.max_literal = s->limits.max_literal;
	}
	if (s->utf8_enabled)
		flags |= IMAP_PARSER_FLAG_UTF8;
	imap_parser_set_limits(s->parser, &pl);
	imap_parser_set_flags(s->parser, flags);
}

void
imap_server_wipe_buf(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_deinit(b);
}

static void
imap_server_destroy(struct imap_server_session *s)
{
	imap_parser_free(&s->parser);
	imap_server_wipe_buf(&s->in);
	buf_deinit(&s->out);
	mem_free(&s->cmd_tag);
	mem_free(&s->user);
	mem_free(&s->login_user);
	mem_free(&s->pass_user);
	mem_free(&s->status_name);
	imap_server_list_free(s);
	imap_server_fetch_free(s);
	imap_server_search_free(s);
	imap_server_message_free(s);
	imap_server_selected_free(s);
	if (s->sasl != NULL)
		sasl_server_free(&s->sasl);
	imap_server_tls_free(s);
	mem_free(&s->capability_extra);
	mem_free(&s->hostname);
	mem_free(&s->client_ip);
	mem_free(&s);
}

/* STARTTLS (RFC 9051 6.2.1): what the client sent after the STARTTLS line,
 * before the TLS switch, is dropped unread. */
void
imap_server_discard_input(struct imap_server_session *s)
{
	imap_server_wipe_buf(&s->in);
	imap_parser_reset(s->parser);
}

void
imap_server_ref(struct imap_server_session *s)
{
	s->refcount++;
}

void
imap_server_unref(struct imap_server_session *s)
{
	ASSERT(s->refcount > 0);
	if (--s->refcount == 0 && s->free_requested)
		imap_server_destroy(s);
}

bool
imap_server_dead(const struct imap_server_session *s)
{
	return s->closed || s->free_requested;
}

static void
imap_server_end(struct imap_server_session *s)
{
	if (s->ended)
		return;
	s->ended = true;
	if (s->hooks.disconnect != NULL)
		s->hooks.disconnect(s->hook_ctx, s);
}

void
imap_server_session_free(struct imap_server_session **sp)
{
	struct imap_server_session *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	if (s->free_requested)
		return;
	imap_server_ref(s);
	s->free_requested = true;
	imap_server_end(s);
	imap_server_unref(s);
}

void
imap_server_flush(struct imap_server_session *s)
{
	size_t len = buf_len(&s->out);

	if (len == 0)
		return;
	if (imap_server_dead(s)) {
		buf_reset(&s->out);
		return;
	}
	/* io->write may free the session (our caller holds a reference) */
	s->io.write(s->io_ctx, buf_data(&s->out), len);
	buf_reset(&s->out);
}

void
imap_server_close(struct imap_server_session *s)
{
	if (imap_server_dead(s))
		return;
	imap_server_flush(s);
	if (imap_server_dead(s))
		return;
	s->closed = true;
	s->state = IMAP_STATE_LOGOUT;
	s->io.close(s->io_ctx);
	imap_server_end(s);
}

void
imap_server_bad_command(struct imap_server_session *s, const char *tag, const char *text)
{
	if (++s->bad_commands > s->limits.max_bad_commands) {
		/* RFC 9051 7.1.5: BYE before closing for a reason of our own */
		imap_server_untagged(s, "BYE Too many invalid commands");
		imap_server_close(s);
		return;
	}
	imap_server_tagged(s, tag, "BAD", NULL, text);
}

void
imap_server_session_start(struct imap_server_session *s)
{
	struct buf caps;

	ASSERT(!s->started);
	s->started = true;
	imap_server_ref(s);
	/* RFC 9051 7.1.1 greeting with the capabilities (7.2.2), so that the
	 * client needs no CAPABILITY round trip */
	buf_init(&caps, 0);
	imap_server_capabilities(s, &caps);
	imap_server_untagged(s, "OK [CAPABILITY %s] %s IMAP4rev2 server ready", buf_cstr(&caps),
			     s->hostname);
	buf_deinit(&caps);
	imap_server_flush(s);
	imap_server_unref(s);
}

/* A parser error: the matching response. */
static void
imap_server_parse_error(struct imap_server_session *s)
{
	const struct imap_parser_error *err = imap_parser_get_error(s->parser);
	uint64_t limit = s->state == IMAP_STATE_NOT_AUTH ? s->limits.max_literal_prelogin
							 : s->limits.max_literal;

	if (s->idling) {
		/* line mode: the line after IDLE was unusable */
		imap_server_idle_line_error(s, err->message);
		return;
	}
	if (s->sasl_continue) {
		/* line mode: the AUTHENTICATE response line was unusable */
		imap_server_sasl_line_error(s, err->message);
		return;
	}
	if (err->code != IMAP_PARSER_ERROR_TOO_BIG) {
		imap_server_bad_command(s, err->tag, err->message);
		return;
	}
	if (err->skip_bytes == 0) {
		/* synchronizing literal: no "+" was sent, no data follows */
		imap_server_tagged(s, err->tag, "NO", "TOOBIG", err->message);
		return;
	}
	/* RFC 7888 4: a refused non-synchronizing literal is a BAD [TOOBIG] */
	imap_server_tagged(s, err->tag, "BAD", "TOOBIG", err->message);
	if (err->skip_bytes > limit) {
		imap_server_untagged(s, "BYE Literal too big");
		imap_server_close(s);
	}
}

/* Feed held input to the parser up to one event; 1 handled one, 0 need more. */
static int
imap_server_process_event(struct imap_server_session *s)
{
	enum imap_parser_result ret;
	const char *line;
	size_t used = 0, len;

	if (buf_len(&s->in) == 0)
		return 0;
	ret = imap_parser_feed(s->parser, buf_data(&s->in), buf_len(&s->in), &used);
	/* what the parser copied may be a password: leave nothing behind */
	explicit_bzero(buf_data(&s->in), used);
	buf_consume(&s->in, used);
	if (buf_len(&s->in) == 0 && s->in.cap > IMAP_SERVER_OUT_FLUSH)
		imap_server_wipe_buf(&s->in);
	switch (ret) {
	case IMAP_PARSER_NEED_MORE:
		return 0;
	case IMAP_PARSER_CONTINUE:
		/* RFC 9051 7.5: ready for the literal's data */
		imap_server_write(s, "+ Ready for literal data\r\n", 26);
		imap_server_flush(s);
		return 1;
	case IMAP_PARSER_COMMAND:
		imap_server_command(s, imap_parser_get_command(s->parser));
		return 1;
	case IMAP_PARSER_LINE:
		line = imap_parser_get_line(s->parser, &len);
		if (s->idling)
			imap_server_idle_line(s, line, len);
		else
			imap_server_sasl_line(s, line, len);
		return 1;
	case IMAP_PARSER_ERROR:
		imap_server_parse_error(s);
		return 1;
	default:
		PANIC("invalid parser result %d", (int)ret);
	}
}

/* Deferred timeout/shutdown, once no hook is outstanding. */
static bool
imap_server_deferred_close(struct imap_server_session *s)
{
	if (s->close_reply == NULL || s->pending != IMAP_PENDING_NONE || imap_server_dead(s))
		return false;
	imap_server_untagged(s, "%s", s->close_reply);
	imap_server_close(s);
	return true;
}

static void
imap_server_process(struct imap_server_session *s)
{
	if (s->processing)
		return;
	s->processing = true;
	while (!imap_server_dead(s) && s->pending == IMAP_PENDING_NONE &&
	       !imap_server_deferred_close(s)) {
		if (imap_server_process_event(s) == 0)
			break;
	}
	s->processing = false;
	imap_server_flush(s);
}

void
imap_server_resume(struct imap_server_session *s)
{
	if (imap_server_dead(s) || s->processing)
		return;
	imap_server_process(s);
}

bool
imap_server_hold(struct imap_server_session *s)
{
	bool was_held = s->processing;

	s->processing = true;
	return was_held;
}

void
imap_server_release(struct imap_server_session *s, bool was_held)
{
	s->processing = was_held;
	imap_server_resume(s);
	imap_server_flush(s);
}

void
imap_server_session_input(struct imap_server_session *s, const uint8_t *data, size_t len)
{
	ASSERT(s->started);
	if (imap_server_dead(s))
		return;
	imap_server_ref(s);
	if (buf_append(&s->in, data, len) < 0) {
		/* only a glue that ignores wants_input/max_input_buffer gets here */
		imap_server_untagged(s, "BYE Input buffer full");
		imap_server_close(s);
	} else {
		imap_server_process(s);
	}
	imap_server_unref(s);
}

bool
imap_server_session_wants_input(const struct imap_server_session *s)
{
	return s->started && !imap_server_dead(s) && s->pending == IMAP_PENDING_NONE;
}

bool
imap_server_session_is_closed(const struct imap_server_session *s)
{
	return imap_server_dead(s);
}

static void
imap_server_request_close(struct imap_server_session *s, const char *reply)
{
	if (imap_server_dead(s) || s->close_reply != NULL)
		return;
	imap_server_ref(s);
	s->close_reply = reply;
	if (!s->processing)
		imap_server_deferred_close(s);
	imap_server_unref(s);
}

void
imap_server_session_timeout(struct imap_server_session *s)
{
	imap_server_request_close(s, "BYE Autologout; idle for too long");
}

void
imap_server_session_shutdown(struct imap_server_session *s)
{
	imap_server_request_close(s, "BYE Server shutting down");
}

const char *
imap_server_session_client_ip(const struct imap_server_session *s)
{
	return s->client_ip;
}

const char *
imap_server_session_user(const struct imap_server_session *s)
{
	return (s->state & IMAP_STATES_AUTHED) != 0 ? s->user : NULL;
}

bool
imap_server_session_rev2_enabled(const struct imap_server_session *s)
{
	return s->rev2_enabled;
}

bool
imap_server_session_utf8_enabled(const struct imap_server_session *s)
{
	return s->utf8_enabled;
}
