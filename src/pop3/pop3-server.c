/*
 * pop3-server.c - session lifecycle, the input loop, output and closing.
 *
 * Does: create/free sessions; buffer input and feed it line by line to the
 * command dispatcher (pop3-server-cmd.c) or the SASL exchange
 * (pop3-server-sasl.c); collect replies and hand them to io->write; close;
 * drop held input (STLS); timeouts and shutdown; the re-entrancy rules of
 * pop3-server-private.h.
 *
 * Does not: interpret commands (pop3-server-cmd.c), authenticate
 * (pop3-server-auth.c, pop3-server-sasl.c) or stream messages
 * (pop3-server-retr.c).
 *
 * How the loop stays correct when hooks complete synchronously: the loop
 * runs with s->processing set and stops as soon as a hook is outstanding.
 * A completion called from inside the hook only updates state and returns;
 * the loop then sees pending == NONE and goes on with the next line. A
 * completion called later, from the event loop, restarts the loop itself
 * (pop3_server_resume). So the loop never nests, however commands complete.
 * A completion that may itself start the next hook (an authentication that
 * goes on to open the maildrop) holds the loop off with pop3_server_hold()
 * and restarts it from pop3_server_release(), after the glue's hook frames
 * it called into have returned.
 */
#include "pop3/pop3-server-private.h"

#include <stdarg.h>
#include <string.h>

#include "core/mem.h"

void
pop3_server_limits_init_default(struct pop3_server_limits *limits)
{
	memset(limits, 0, sizeof(*limits));
	limits->max_line = POP3_COMMAND_DEFAULT_MAX_LINE;
	limits->max_auth_line = 8192;
	limits->max_arg = POP3_COMMAND_DEFAULT_MAX_ARG;
	limits->max_bad_commands = 20;
	limits->max_auth_failures = 3;
	limits->max_input_buffer = 65536;
}

struct pop3_server_session *
pop3_server_session_new(const struct pop3_server_settings *settings,
			const struct pop3_server_hooks *hooks, void *hook_ctx,
			const struct pop3_server_io *io, void *io_ctx, const char *client_ip)
{
	struct pop3_server_session *s = mem_zalloc(sizeof(*s));
	const struct pop3_server_limits *l = &settings->limits;

	ASSERT(hooks->auth_lookup != NULL && hooks->open_maildrop != NULL);
	ASSERT(hooks->retrieve != NULL && hooks->update != NULL);
	ASSERT(!settings->stls_available || hooks->starttls != NULL);
	ASSERT(io->write != NULL && io->close != NULL);
	/* RFC 2449 4 needs 255-octet command lines; the rest must be usable. */
	ASSERT(l->max_line >= 255 && l->max_auth_line >= l->max_line);
	ASSERT(l->max_arg >= 40 && l->max_input_buffer >= 1);
	s->hostname = mem_strdup(settings->hostname != NULL ? settings->hostname : "localhost");
	for (char *p = s->hostname; *p != '\0'; p++) {
		/* it goes into replies: no line breaks or spaces from config */
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			*p = '_';
	}
	s->client_ip = mem_strdup(client_ip != NULL ? client_ip : "");
	s->allow_plaintext_auth = settings->allow_plaintext_auth;
	s->stls_available = settings->stls_available;
	s->limits = *l;
	s->hooks = *hooks;
	s->hook_ctx = hook_ctx;
	s->io = *io;
	s->io_ctx = io_ctx;
	s->state = POP3_STATE_AUTHORIZATION;
	pop3_command_limits_init_default(&s->cmd_limits);
	s->cmd_limits.max_arg = l->max_arg;
	pop3_line_reader_init(&s->reader, l->max_line);
	buf_init(&s->in, l->max_input_buffer);
	/* The engine controls this one: it is flushed at POP3_SERVER_OUT_FLUSH
	 * and never holds more than that plus one reply line. */
	buf_init(&s->out, 0);
	return s;
}

void
pop3_server_wipe_buf(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_deinit(b);
}

static void
pop3_server_destroy(struct pop3_server_session *s)
{
	pop3_line_reader_deinit(&s->reader);
	pop3_server_wipe_buf(&s->in);
	buf_deinit(&s->out);
	mem_free(&s->user);
	mem_free(&s->login_user);
	mem_free(&s->pass_user);
	if (s->sasl != NULL)
		sasl_server_free(&s->sasl);
	pop3_server_tls_free(s);
	mem_free(&s->msgs);
	mem_free(&s->deleted);
	mem_free(&s->hostname);
	mem_free(&s->client_ip);
	mem_free(&s);
}

/* STLS (RFC 2595 4): what the client sent after the STLS line, before the
 * TLS switch, is dropped unread. The reader holds no partial line then: the
 * STLS line was complete and the rest is still in s->in. */
void
pop3_server_discard_input(struct pop3_server_session *s)
{
	ASSERT(!pop3_line_reader_in_line(&s->reader));
	pop3_server_wipe_buf(&s->in);
}

void
pop3_server_ref(struct pop3_server_session *s)
{
	s->refcount++;
}

void
pop3_server_unref(struct pop3_server_session *s)
{
	ASSERT(s->refcount > 0);
	if (--s->refcount == 0 && s->free_requested)
		pop3_server_destroy(s);
}

bool
pop3_server_dead(const struct pop3_server_session *s)
{
	return s->closed || s->free_requested;
}

/* The session is over for the glue: tell it once. */
static void
pop3_server_end(struct pop3_server_session *s)
{
	if (s->ended)
		return;
	s->ended = true;
	if (s->hooks.disconnect != NULL)
		s->hooks.disconnect(s->hook_ctx, s);
}

void
pop3_server_session_free(struct pop3_server_session **sp)
{
	struct pop3_server_session *s = *sp;

	if (s == NULL)
		return;
	*sp = NULL;
	if (s->free_requested)
		return;
	pop3_server_ref(s);
	s->free_requested = true;
	pop3_server_end(s);
	pop3_server_unref(s);
}

void
pop3_server_flush(struct pop3_server_session *s)
{
	size_t len = buf_len(&s->out);

	if (len == 0)
		return;
	if (s->free_requested || s->closed) {
		buf_reset(&s->out);
		return;
	}
	/* io->write may free the session (it holds our caller's reference). */
	s->io.write(s->io_ctx, buf_data(&s->out), len);
	buf_reset(&s->out);
}

void
pop3_server_write(struct pop3_server_session *s, const void *data, size_t len)
{
	if (pop3_server_dead(s) || len == 0)
		return;
	if (len >= POP3_SERVER_OUT_FLUSH) {
		/* large message chunk: pass it through instead of copying it */
		pop3_server_flush(s);
		if (!pop3_server_dead(s))
			s->io.write(s->io_ctx, data, len);
		return;
	}
	if (buf_append(&s->out, data, len) < 0)
		PANIC("unlimited output buffer refused data");
	if (buf_len(&s->out) >= POP3_SERVER_OUT_FLUSH)
		pop3_server_flush(s);
}

void
pop3_server_reply(struct pop3_server_session *s, const char *fmt, ...)
{
	va_list ap;

	if (pop3_server_dead(s))
		return;
	va_start(ap, fmt);
	if (buf_vprintf(&s->out, fmt, ap) < 0)
		PANIC("unlimited output buffer refused data");
	va_end(ap);
	if (buf_append_str(&s->out, "\r\n") < 0)
		PANIC("unlimited output buffer refused data");
	if (buf_len(&s->out) >= POP3_SERVER_OUT_FLUSH)
		pop3_server_flush(s);
}

/* Flush, close the connection, end the session. No UPDATE here (RFC 1939 6). */
void
pop3_server_close(struct pop3_server_session *s)
{
	if (pop3_server_dead(s))
		return;
	pop3_server_flush(s);
	if (pop3_server_dead(s))
		return;
	s->closed = true;
	s->io.close(s->io_ctx);
	pop3_server_end(s);
}

void
pop3_server_bad_command(struct pop3_server_session *s, const char *error)
{
	if (++s->bad_commands > s->limits.max_bad_commands) {
		pop3_server_reply(s, "-ERR too many bad commands");
		pop3_server_close(s);
		return;
	}
	pop3_server_reply(s, "-ERR %s", error);
}

void
pop3_server_session_start(struct pop3_server_session *s)
{
	ASSERT(!s->started);
	s->started = true;
	pop3_server_ref(s);
	/* RFC 1939 4. No APOP timestamp: APOP is not offered. */
	pop3_server_reply(s, "+OK %s POP3 server ready", s->hostname);
	pop3_server_flush(s);
	pop3_server_unref(s);
}

/* An over-long line (RFC 2449 4): the reader skips the rest of it. */
static void
pop3_server_line_too_long(struct pop3_server_session *s)
{
	if (s->sasl_continue)
		pop3_server_sasl_fail(s, "line too long");
	pop3_server_bad_command(s, "line too long");
}

/* Take one line from the input; 1 handled one, 0 need more input. */
static int
pop3_server_process_line(struct pop3_server_session *s)
{
	size_t used, len;
	char *line;
	int ret;

	ret = pop3_line_reader_feed(&s->reader, buf_data(&s->in), buf_len(&s->in), &used, &line,
				    &len);
	/* what the reader copied may be a password: do not leave it behind */
	explicit_bzero(buf_data(&s->in), used);
	buf_consume(&s->in, used);
	if (buf_len(&s->in) == 0 && s->in.cap > POP3_SERVER_OUT_FLUSH) {
		/* a burst of pipelined input is over: give the memory back */
		pop3_server_wipe_buf(&s->in);
	}
	if (ret == 0)
		return 0;
	if (ret < 0)
		pop3_server_line_too_long(s);
	else if (s->sasl_continue)
		pop3_server_sasl_line(s, line, len);
	else
		pop3_server_command_line(s, line, len);
	return 1;
}

/* Deferred timeout/shutdown, once no hook is outstanding. */
static bool
pop3_server_deferred_close(struct pop3_server_session *s)
{
	if (s->close_reply == NULL || s->pending != POP3_PENDING_NONE || pop3_server_dead(s))
		return false;
	pop3_server_reply(s, "%s", s->close_reply);
	pop3_server_close(s);
	return true;
}

static void
pop3_server_process(struct pop3_server_session *s)
{
	if (s->processing)
		return;
	s->processing = true;
	while (!pop3_server_dead(s) && s->pending == POP3_PENDING_NONE &&
	       !pop3_server_deferred_close(s)) {
		if (pop3_server_process_line(s) == 0)
			break;
	}
	s->processing = false;
	pop3_server_flush(s);
}

void
pop3_server_resume(struct pop3_server_session *s)
{
	if (pop3_server_dead(s))
		return;
	if (s->processing)
		return; /* synchronous completion: the running loop goes on */
	pop3_server_process(s);
}

bool
pop3_server_hold(struct pop3_server_session *s)
{
	bool was_held = s->processing;

	s->processing = true;
	return was_held;
}

void
pop3_server_release(struct pop3_server_session *s, bool was_held)
{
	s->processing = was_held;
	pop3_server_resume(s);
	pop3_server_flush(s);
}

void
pop3_server_session_input(struct pop3_server_session *s, const uint8_t *data, size_t len)
{
	ASSERT(s->started);
	if (pop3_server_dead(s))
		return;
	pop3_server_ref(s);
	if (buf_append(&s->in, data, len) < 0) {
		/* Only a glue that ignores wants_input/max_input_buffer gets here.
		 * In the middle of a RETR response no reply can be inserted. */
		if (!(s->pending == POP3_PENDING_RETRIEVE && s->retr.started))
			pop3_server_reply(s, "-ERR input buffer full");
		pop3_server_close(s);
	} else {
		pop3_server_process(s);
	}
	pop3_server_unref(s);
}

bool
pop3_server_session_wants_input(const struct pop3_server_session *s)
{
	return s->started && !pop3_server_dead(s) && s->pending == POP3_PENDING_NONE;
}

bool
pop3_server_session_is_closed(const struct pop3_server_session *s)
{
	return pop3_server_dead(s);
}

static void
pop3_server_request_close(struct pop3_server_session *s, const char *reply)
{
	if (pop3_server_dead(s) || s->close_reply != NULL)
		return;
	pop3_server_ref(s);
	s->close_reply = reply;
	if (!s->processing)
		pop3_server_deferred_close(s);
	pop3_server_unref(s);
}

void
pop3_server_session_timeout(struct pop3_server_session *s)
{
	pop3_server_request_close(s, "-ERR autologout timer expired");
}

void
pop3_server_session_shutdown(struct pop3_server_session *s)
{
	pop3_server_request_close(s, "-ERR [SYS/TEMP] server shutting down");
}

const char *
pop3_server_session_client_ip(const struct pop3_server_session *s)
{
	return s->client_ip;
}

const char *
pop3_server_session_user(const struct pop3_server_session *s)
{
	return s->state == POP3_STATE_AUTHORIZATION ? NULL : s->user;
}
