/*
 * smtp-client.c - SMTP client engine: lifecycle, input and reply dispatch,
 * the session dialogue (greeting, EHLO/HELO, STARTTLS, AUTH), RSET, QUIT and
 * connection failures. The transaction is in smtp-client-message.c.
 *
 * Does not: anything with sockets or timers (io), or any retry policy.
 * Invariants: see smtp-client-private.h.
 */
#include "smtp/smtp-client-private.h"

#include "core/base64.h"
#include "core/mem.h"

#include <stdio.h>
#include <string.h>

void
smtp_client_settings_init_default(struct smtp_client_settings *set)
{
	memset(set, 0, sizeof(*set));
	set->tls = SMTP_CLIENT_TLS_OPPORTUNISTIC;
	smtp_reply_limits_init_default(&set->reply_limits);
	/* RFC 5321 4.5.3.2 */
	set->timeouts.greeting = 300;
	set->timeouts.command = 300;
	set->timeouts.mail = 300;
	set->timeouts.rcpt = 300;
	set->timeouts.data_init = 120;
	set->timeouts.data_block = 180;
	set->timeouts.data_final = 600;
	set->timeouts.quit = 300;
}

const char *
smtp_client_stage_name(enum smtp_client_stage stage)
{
	switch (stage) {
	case SMTP_CLIENT_STAGE_GREETING: return "initial greeting";
	case SMTP_CLIENT_STAGE_HELO: return "EHLO";
	case SMTP_CLIENT_STAGE_STARTTLS: return "STARTTLS";
	case SMTP_CLIENT_STAGE_AUTH: return "AUTH";
	case SMTP_CLIENT_STAGE_MAIL: return "MAIL FROM";
	case SMTP_CLIENT_STAGE_RCPT: return "RCPT TO";
	case SMTP_CLIENT_STAGE_DATA: return "DATA";
	case SMTP_CLIENT_STAGE_BODY: return "message body";
	case SMTP_CLIENT_STAGE_DATA_END: return "end of DATA";
	case SMTP_CLIENT_STAGE_RSET: return "RSET";
	case SMTP_CLIENT_STAGE_QUIT: return "QUIT";
	case SMTP_CLIENT_STAGE_IDLE: return "idle";
	}
	return "unknown";
}

struct smtp_client *
smtp_client_new(const struct smtp_client_settings *settings, const struct smtp_client_hooks *hooks,
		void *hook_ctx, const struct smtp_client_io *io, void *io_ctx)
{
	struct smtp_client *c = mem_zalloc(sizeof(*c));

	ASSERT(settings->helo_name != NULL);
	c->set = *settings;
	c->helo_name = mem_strdup(settings->helo_name);
	c->set.helo_name = c->helo_name;
	if (settings->auth_user != NULL) {
		c->auth_user = mem_strdup(settings->auth_user);
		c->auth_password = mem_strdup(settings->auth_password != NULL ?
					      settings->auth_password : "");
	}
	c->set.auth_user = c->auth_user;
	c->set.auth_password = c->auth_password;
	if (c->set.max_output == 0)
		c->set.max_output = SMTP_CLIENT_DEFAULT_MAX_OUTPUT;
	c->hooks = *hooks;
	c->hook_ctx = hook_ctx;
	c->io = *io;
	c->io_ctx = io_ctx;
	c->refcount = 1;
	c->tls = settings->tls_active;
	smtp_reply_parser_init(&c->parser, &c->set.reply_limits);
	buf_init(&c->out, 0);
	return c;
}

static void
client_destroy(struct smtp_client *c)
{
	smtp_client_msg_clear(c);
	smtp_reply_parser_deinit(&c->parser);
	if (c->auth_password != NULL) {
		explicit_bzero(c->auth_password, strlen(c->auth_password));
		mem_free(&c->auth_password);
	}
	mem_free(&c->auth_user);
	mem_free(&c->helo_name);
	mem_free(&c->conn_text);
	mem_free(&c->expect);
	if (c->out.data != NULL)
		explicit_bzero(c->out.data, c->out.cap);
	buf_deinit(&c->out);
	mem_free(&c);
}

void
smtp_client_ref(struct smtp_client *c)
{
	c->refcount++;
}

void
smtp_client_unref(struct smtp_client *c)
{
	ASSERT(c->refcount > 0);
	if (--c->refcount == 0)
		client_destroy(c);
}

void
smtp_client_free(struct smtp_client **cp)
{
	struct smtp_client *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	ASSERT(!c->destroyed);
	c->destroyed = true;
	smtp_client_unref(c);
}

void
smtp_client_write(struct smtp_client *c, const void *data, size_t len)
{
	if (c->destroyed || c->state == CLIENT_ST_CLOSED || len == 0)
		return;
	c->io.write(c->io_ctx, data, len);
}

void
smtp_client_set_timer(struct smtp_client *c, unsigned seconds)
{
	c->timeout = seconds;
	if (!c->destroyed && c->io.timer != NULL)
		c->io.timer(c->io_ctx, seconds);
}

unsigned
smtp_client_timeout_for(const struct smtp_client *c, enum client_expect kind)
{
	const struct smtp_client_timeouts *t = &c->set.timeouts;

	switch (kind) {
	case CLIENT_EX_GREETING: return t->greeting;
	case CLIENT_EX_MAIL: return t->mail;
	case CLIENT_EX_RCPT: return t->rcpt;
	case CLIENT_EX_DATA: return t->data_init;
	case CLIENT_EX_BDAT: return t->data_block;
	case CLIENT_EX_DATA_END:
	case CLIENT_EX_DOT_DISCARD:
	case CLIENT_EX_BDAT_LAST: return t->data_final;
	case CLIENT_EX_QUIT: return t->quit;
	default: return t->command;
	}
}

enum smtp_client_stage
smtp_client_stage_for(enum client_expect kind)
{
	switch (kind) {
	case CLIENT_EX_GREETING: return SMTP_CLIENT_STAGE_GREETING;
	case CLIENT_EX_EHLO:
	case CLIENT_EX_HELO: return SMTP_CLIENT_STAGE_HELO;
	case CLIENT_EX_STARTTLS: return SMTP_CLIENT_STAGE_STARTTLS;
	case CLIENT_EX_AUTH: return SMTP_CLIENT_STAGE_AUTH;
	case CLIENT_EX_MAIL: return SMTP_CLIENT_STAGE_MAIL;
	case CLIENT_EX_RCPT: return SMTP_CLIENT_STAGE_RCPT;
	case CLIENT_EX_DATA: return SMTP_CLIENT_STAGE_DATA;
	case CLIENT_EX_DATA_END:
	case CLIENT_EX_DOT_DISCARD:
	case CLIENT_EX_BDAT:
	case CLIENT_EX_BDAT_LAST: return SMTP_CLIENT_STAGE_DATA_END;
	case CLIENT_EX_RSET: return SMTP_CLIENT_STAGE_RSET;
	case CLIENT_EX_QUIT: return SMTP_CLIENT_STAGE_QUIT;
	}
	return SMTP_CLIENT_STAGE_IDLE;
}

bool
smtp_client_expecting(const struct smtp_client *c)
{
	return c->expect_len > 0;
}

void
smtp_client_expect_push(struct smtp_client *c, enum client_expect kind, unsigned idx)
{
	if (c->expect_len == 0) {
		c->expect_head = 0;
		smtp_client_set_timer(c, smtp_client_timeout_for(c, kind));
	}
	if (c->expect_head + c->expect_len == c->expect_alloc) {
		if (c->expect_head > 0) {
			memmove(c->expect, c->expect + c->expect_head,
				c->expect_len * sizeof(*c->expect));
			c->expect_head = 0;
		} else {
			c->expect_alloc = c->expect_alloc == 0 ? 16 :
					  mem_size_mul(c->expect_alloc, 2);
			c->expect = mem_realloc(c->expect,
						mem_size_mul(c->expect_alloc, sizeof(*c->expect)));
		}
	}
	c->expect[c->expect_head + c->expect_len].kind = kind;
	c->expect[c->expect_head + c->expect_len].idx = idx;
	c->expect_len++;
}

void
smtp_client_command(struct smtp_client *c, const char *line, enum client_expect kind,
		    unsigned idx)
{
	buf_reset(&c->out);
	buf_append_str(&c->out, line);
	buf_append(&c->out, "\r\n", 2);
	smtp_client_write(c, buf_data(&c->out), buf_len(&c->out));
	buf_reset(&c->out);
	smtp_client_expect_push(c, kind, idx);
}

/* ---- results ---- */

static void
result_set_text(char **text_r, struct smtp_client_result *res, const char *text, size_t len)
{
	mem_free(text_r);
	*text_r = smtp_reply_sanitize_dup(text, len, SMTP_CLIENT_DEFAULT_MAX_TEXT);
	res->text = *text_r;
}

void
smtp_client_result_from_reply(struct smtp_client_result *res, char **text_r,
			      const struct smtp_reply *reply, enum smtp_client_stage stage)
{
	unsigned cls = smtp_reply_class(reply->code);

	res->status = cls == 2 ? SMTP_CLIENT_STATUS_OK :
		      cls == 4 ? SMTP_CLIENT_STATUS_TEMPFAIL : SMTP_CLIENT_STATUS_PERMFAIL;
	res->code = reply->code;
	if (reply->enhanced[0] != '\0')
		memcpy(res->enhanced, reply->enhanced, sizeof(res->enhanced));
	else
		memcpy(res->enhanced, cls == 2 ? "2.0.0" : cls == 4 ? "4.0.0" : "5.0.0", 6);
	res->local = false;
	res->stage = stage;
	result_set_text(text_r, res, reply->text, reply->text_len);
}

void
smtp_client_result_local(struct smtp_client_result *res, char **text_r,
			 enum smtp_client_status status, const char *enhanced, const char *text,
			 enum smtp_client_stage stage)
{
	res->status = status;
	res->code = 0;
	snprintf(res->enhanced, sizeof(res->enhanced), "%s", enhanced);
	res->local = true;
	res->stage = stage;
	result_set_text(text_r, res, text, strlen(text));
}

/* ---- connection end ---- */

static void
client_close(struct smtp_client *c, const struct smtp_client_result *res)
{
	struct smtp_client_result copy = *res;
	char *text = mem_strdup(res->text != NULL ? res->text : "");

	/* res may point into data we are about to replace */
	mem_free(&c->conn_text);
	c->conn_text = text;
	copy.text = text;
	c->conn_result = copy;
	c->state = CLIENT_ST_CLOSED;
	c->expect_len = 0;
	smtp_client_set_timer(c, 0);
	if (!c->destroyed)
		c->io.close(c->io_ctx);
	if (c->msg.active)
		smtp_client_msg_abort(c, &c->conn_result);
	if (!c->destroyed && c->hooks.closed != NULL)
		c->hooks.closed(c, c->hook_ctx, &c->conn_result);
}

void
smtp_client_fail(struct smtp_client *c, const struct smtp_client_result *res, bool quit)
{
	if (c->state == CLIENT_ST_CLOSED || c->destroyed)
		return;
	smtp_client_ref(c);
	if (quit)
		smtp_client_write(c, "QUIT\r\n", 6);
	client_close(c, res);
	smtp_client_unref(c);
}

void
smtp_client_fail_local(struct smtp_client *c, enum smtp_client_status status,
		       const char *enhanced, const char *text, enum smtp_client_stage stage,
		       bool quit)
{
	struct smtp_client_result res;
	char *owned = NULL;

	memset(&res, 0, sizeof(res));
	smtp_client_result_local(&res, &owned, status, enhanced, text, stage);
	smtp_client_fail(c, &res, quit);
	mem_free(&owned);
}

static void
fail_reply(struct smtp_client *c, const struct smtp_reply *reply, enum smtp_client_stage stage,
	   bool quit, bool soft)
{
	struct smtp_client_result res;
	char *owned = NULL;

	memset(&res, 0, sizeof(res));
	smtp_client_result_from_reply(&res, &owned, reply, stage);
	if (soft && res.status == SMTP_CLIENT_STATUS_PERMFAIL)
		res.status = SMTP_CLIENT_STATUS_TEMPFAIL;
	if (res.status == SMTP_CLIENT_STATUS_OK)
		res.status = SMTP_CLIENT_STATUS_TEMPFAIL;
	smtp_client_fail(c, &res, quit);
	mem_free(&owned);
}

static enum smtp_client_stage
current_stage(const struct smtp_client *c)
{
	if (c->expect_len > 0)
		return smtp_client_stage_for(c->expect[c->expect_head].kind);
	switch (c->state) {
	case CLIENT_ST_TLS: return SMTP_CLIENT_STAGE_STARTTLS;
	case CLIENT_ST_MESSAGE: return smtp_client_msg_stage(c);
	default: return SMTP_CLIENT_STAGE_IDLE;
	}
}

static void
close_ok(struct smtp_client *c)
{
	struct smtp_client_result res;

	memset(&res, 0, sizeof(res));
	res.status = SMTP_CLIENT_STATUS_OK;
	memcpy(res.enhanced, "2.0.0", 6);
	res.local = true;
	res.stage = SMTP_CLIENT_STAGE_QUIT;
	res.text = "connection closed";
	client_close(c, &res);
}

/* ---- session dialogue ---- */

void
smtp_client_become_ready(struct smtp_client *c)
{
	c->state = CLIENT_ST_READY;
	smtp_client_set_timer(c, 0);
	if (!c->destroyed && c->hooks.ready != NULL)
		c->hooks.ready(c, c->hook_ctx);
}

static void
send_ehlo(struct smtp_client *c, bool ehlo)
{
	buf_reset(&c->out);
	buf_printf(&c->out, "%s %s\r\n", ehlo ? "EHLO" : "HELO", c->helo_name);
	smtp_client_write(c, buf_data(&c->out), buf_len(&c->out));
	buf_reset(&c->out);
	smtp_client_expect_push(c, ehlo ? CLIENT_EX_EHLO : CLIENT_EX_HELO, 0);
	c->state = CLIENT_ST_EHLO;
}

static bool
word_eq(const char *w, size_t len, const char *kw)
{
	return strlen(kw) == len && strncasecmp(w, kw, len) == 0;
}

/* One EHLO keyword line: "KEYWORD[ params]" (RFC 5321 4.1.1.1). */
static void
ehlo_line(struct smtp_client *c, const char *l, size_t len)
{
	size_t kw = 0, i;

	while (kw < len && l[kw] != ' ' && l[kw] != '=')
		kw++;
	if (word_eq(l, kw, "PIPELINING"))
		c->ext |= SMTP_CLIENT_EXT_PIPELINING;
	else if (word_eq(l, kw, "8BITMIME"))
		c->ext |= SMTP_CLIENT_EXT_8BITMIME;
	else if (word_eq(l, kw, "SMTPUTF8"))
		c->ext |= SMTP_CLIENT_EXT_SMTPUTF8;
	else if (word_eq(l, kw, "CHUNKING"))
		c->ext |= SMTP_CLIENT_EXT_CHUNKING;
	else if (word_eq(l, kw, "DSN"))
		c->ext |= SMTP_CLIENT_EXT_DSN;
	else if (word_eq(l, kw, "STARTTLS"))
		c->ext |= SMTP_CLIENT_EXT_STARTTLS;
	else if (word_eq(l, kw, "ENHANCEDSTATUSCODES"))
		c->ext |= SMTP_CLIENT_EXT_ENHANCEDSTATUSCODES;
	else if (word_eq(l, kw, "REQUIRETLS"))
		c->ext |= SMTP_CLIENT_EXT_REQUIRETLS;
	else if (word_eq(l, kw, "SIZE")) {
		/* RFC 1870 4: "SIZE" [SP number]; 0 or absent = no fixed limit */
		uint64_t n = 0;

		c->ext |= SMTP_CLIENT_EXT_SIZE;
		for (i = kw + 1; i < len && l[i] >= '0' && l[i] <= '9'; i++) {
			if (n > (UINT64_MAX - 9) / 10) {
				n = 0;  /* absurd: treat as no limit */
				break;
			}
			n = n * 10 + (uint64_t)(l[i] - '0');
		}
		c->size_limit = n;
	} else if (word_eq(l, kw, "AUTH")) {
		/* RFC 4954 3; "AUTH=" is the pre-standard form some servers add */
		c->ext |= SMTP_CLIENT_EXT_AUTH;
		i = kw;
		while (i < len) {
			size_t start;

			while (i < len && (l[i] == ' ' || l[i] == '='))
				i++;
			start = i;
			while (i < len && l[i] != ' ')
				i++;
			if (word_eq(l + start, i - start, "PLAIN"))
				c->ext |= SMTP_CLIENT_EXT_AUTH_PLAIN;
			else if (word_eq(l + start, i - start, "LOGIN"))
				c->ext |= SMTP_CLIENT_EXT_AUTH_LOGIN;
		}
	}
}

static void
ehlo_parse(struct smtp_client *c, const struct smtp_reply *reply)
{
	const char *p = reply->text, *end = reply->text + reply->text_len;
	bool first = true;

	c->ext = 0;
	c->size_limit = 0;
	while (p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;

		/* the first line is the server's name and greeting */
		if (!first)
			ehlo_line(c, p, (size_t)(le - p));
		first = false;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

static void
auth_send_b64(struct smtp_client *c, const char *prefix, const uint8_t *data, size_t len)
{
	struct buf b;

	buf_init(&b, 0);
	buf_append_str(&b, prefix);
	(void)base64_encode(&b, data, len);
	buf_append(&b, "\r\n", 2);
	smtp_client_write(c, buf_data(&b), buf_len(&b));
	explicit_bzero(b.data, b.cap);
	buf_deinit(&b);
	smtp_client_expect_push(c, CLIENT_EX_AUTH, 0);
}

static void
auth_start(struct smtp_client *c)
{
	if (!c->tls && !c->set.auth_plaintext_allowed) {
		smtp_client_fail_local(c, SMTP_CLIENT_STATUS_TEMPFAIL, "4.7.0",
				       "refusing to send credentials without TLS",
				       SMTP_CLIENT_STAGE_AUTH, true);
		return;
	}
	c->state = CLIENT_ST_AUTH;
	c->auth_step = 0;
	if ((c->ext & SMTP_CLIENT_EXT_AUTH_PLAIN) != 0) {
		/* RFC 4616: [authzid] NUL authcid NUL passwd, with the initial
		 * response (RFC 4954 4) */
		size_t ul = strlen(c->auth_user), pl = strlen(c->auth_password);
		size_t n = mem_size_add(mem_size_add(ul, pl), 2);
		uint8_t *msg = mem_alloc(n);

		msg[0] = '\0';
		memcpy(msg + 1, c->auth_user, ul);
		msg[1 + ul] = '\0';
		memcpy(msg + 2 + ul, c->auth_password, pl);
		c->auth_login = false;
		auth_send_b64(c, "AUTH PLAIN ", msg, n);
		explicit_bzero(msg, n);
		mem_free(&msg);
	} else if ((c->ext & SMTP_CLIENT_EXT_AUTH_LOGIN) != 0) {
		c->auth_login = true;
		smtp_client_command(c, "AUTH LOGIN", CLIENT_EX_AUTH, 0);
	} else {
		smtp_client_fail_local(c, SMTP_CLIENT_STATUS_TEMPFAIL, "4.7.0",
				       (c->ext & SMTP_CLIENT_EXT_AUTH) != 0 ?
				       "no supported AUTH mechanism offered by host" :
				       "AUTH is configured, but not offered by host",
				       SMTP_CLIENT_STAGE_AUTH, true);
	}
}

/* After EHLO/HELO: STARTTLS, AUTH or ready. */
static void
session_next(struct smtp_client *c)
{
	if (!c->tls && c->set.tls != SMTP_CLIENT_TLS_NONE && !c->starttls_refused &&
	    (c->ext & SMTP_CLIENT_EXT_STARTTLS) != 0) {
		c->state = CLIENT_ST_STARTTLS;
		smtp_client_command(c, "STARTTLS", CLIENT_EX_STARTTLS, 0);
		return;
	}
	if (!c->tls && c->set.tls == SMTP_CLIENT_TLS_REQUIRED) {
		smtp_client_fail_local(c, SMTP_CLIENT_STATUS_TEMPFAIL, "4.7.4",
				       c->starttls_refused ? "STARTTLS was refused by host" :
				       "TLS is required, but was not offered by host",
				       SMTP_CLIENT_STAGE_STARTTLS, true);
		return;
	}
	if (c->auth_user != NULL && !c->authenticated) {
		auth_start(c);
		return;
	}
	smtp_client_become_ready(c);
}

static void
auth_reply(struct smtp_client *c, const struct smtp_reply *reply)
{
	if (reply->code == 334 && c->auth_login && c->auth_step < 2) {
		/* RFC 4954 4 with LOGIN: user name, then password */
		const char *s = c->auth_step == 0 ? c->auth_user : c->auth_password;

		c->auth_step++;
		auth_send_b64(c, "", (const uint8_t *)s, strlen(s));
		return;
	}
	if (smtp_reply_class(reply->code) == 2) {
		c->authenticated = true;
		smtp_client_become_ready(c);
		return;
	}
	if (reply->code == 334) {
		/* a challenge we have no answer for: cancel (RFC 4954 4) */
		smtp_client_write(c, "*\r\n", 3);
		smtp_client_expect_push(c, CLIENT_EX_AUTH, 0);
		c->auth_step = 99;
		return;
	}
	/* like Postfix's smtp_sasl_auth_soft_bounce: a login failure is
	 * temporary (configuration or server trouble, not the message) */
	fail_reply(c, reply, SMTP_CLIENT_STAGE_AUTH, true, true);
}

static void
session_reply(struct smtp_client *c, enum client_expect kind, const struct smtp_reply *reply)
{
	unsigned cls = smtp_reply_class(reply->code);

	switch (kind) {
	case CLIENT_EX_GREETING:
		if (cls != 2) {
			/* RFC 5321 3.1: 554 (or 4xx) greeting, only QUIT left */
			fail_reply(c, reply, SMTP_CLIENT_STAGE_GREETING, true, false);
			return;
		}
		send_ehlo(c, true);
		return;
	case CLIENT_EX_EHLO:
		if (cls == 2) {
			c->esmtp = true;
			ehlo_parse(c, reply);
			session_next(c);
		} else if (cls == 5) {
			/* RFC 5321 3.2: fall back to HELO */
			send_ehlo(c, false);
		} else {
			fail_reply(c, reply, SMTP_CLIENT_STAGE_HELO, true, false);
		}
		return;
	case CLIENT_EX_HELO:
		if (cls != 2) {
			fail_reply(c, reply, SMTP_CLIENT_STAGE_HELO, true, false);
			return;
		}
		c->esmtp = false;
		c->ext = 0;
		c->size_limit = 0;
		session_next(c);
		return;
	case CLIENT_EX_STARTTLS:
		if (cls != 2) {
			c->starttls_refused = true;
			session_next(c);
			return;
		}
		/* RFC 3207 4.2: anything the server sent after 220 in plain
		 * text is thrown away (the input loop stops here too) */
		c->state = CLIENT_ST_TLS;
		smtp_reply_parser_reset(&c->parser);
		smtp_client_set_timer(c, c->set.timeouts.command);
		if (!c->destroyed && c->hooks.starttls != NULL)
			c->hooks.starttls(c, c->hook_ctx);
		else
			smtp_client_tls_done(c, false);
		return;
	case CLIENT_EX_AUTH:
		auth_reply(c, reply);
		return;
	case CLIENT_EX_RSET:
		if (cls != 2) {
			fail_reply(c, reply, SMTP_CLIENT_STAGE_RSET, true, false);
			return;
		}
		smtp_client_become_ready(c);
		return;
	case CLIENT_EX_QUIT:
		close_ok(c);
		return;
	default:
		PANIC("not a session reply");
	}
}

static void
handle_reply(struct smtp_client *c, const struct smtp_reply *reply)
{
	struct client_expect_entry e;

	if (c->expect_len == 0) {
		/* RFC 5321 3.8: a server may send 421 at any time and close */
		struct smtp_client_result res;
		char *owned = NULL;

		memset(&res, 0, sizeof(res));
		smtp_client_result_from_reply(&res, &owned, reply, current_stage(c));
		res.status = SMTP_CLIENT_STATUS_TEMPFAIL;
		if (reply->code != 421) {
			mem_free(&owned);
			smtp_client_result_local(&res, &owned, SMTP_CLIENT_STATUS_TEMPFAIL, "4.5.0",
						 "unexpected reply from server", current_stage(c));
		}
		smtp_client_fail(c, &res, false);
		mem_free(&owned);
		return;
	}
	e = c->expect[c->expect_head];
	c->expect_head++;
	c->expect_len--;
	if (c->expect_len > 0)
		smtp_client_set_timer(c, smtp_client_timeout_for(
						 c, c->expect[c->expect_head].kind));
	if (reply->code == 421 && e.kind != CLIENT_EX_QUIT) {
		/* RFC 5321 3.8: the server is closing; everything open is temporary */
		fail_reply(c, reply, smtp_client_stage_for(e.kind), false, true);
		return;
	}
	if (smtp_reply_class(reply->code) == 3 && e.kind != CLIENT_EX_DATA &&
	    e.kind != CLIENT_EX_AUTH) {
		smtp_client_fail_local(c, SMTP_CLIENT_STATUS_TEMPFAIL, "4.5.0",
				       "unexpected 3xx reply from server",
				       smtp_client_stage_for(e.kind), true);
		return;
	}
	switch (e.kind) {
	case CLIENT_EX_MAIL:
	case CLIENT_EX_RCPT:
	case CLIENT_EX_DATA:
	case CLIENT_EX_DATA_END:
	case CLIENT_EX_DOT_DISCARD:
	case CLIENT_EX_BDAT:
	case CLIENT_EX_BDAT_LAST:
		smtp_client_msg_reply(c, e.kind, e.idx, reply);
		break;
	default:
		session_reply(c, e.kind, reply);
		break;
	}
}

void
smtp_client_start(struct smtp_client *c)
{
	ASSERT(c->state == CLIENT_ST_INIT);
	c->state = CLIENT_ST_GREETING;
	smtp_client_expect_push(c, CLIENT_EX_GREETING, 0);
}

void
smtp_client_input(struct smtp_client *c, const uint8_t *data, size_t len)
{
	size_t pos = 0;

	if (c->destroyed || c->state == CLIENT_ST_CLOSED || c->state == CLIENT_ST_TLS)
		return;
	smtp_client_ref(c);
	while (pos < len && !c->destroyed && c->state != CLIENT_ST_CLOSED &&
	       c->state != CLIENT_ST_TLS) {
		const struct smtp_reply *reply;
		const char *error;
		size_t used;
		enum smtp_reply_result r;

		r = smtp_reply_parser_feed(&c->parser, data + pos, len - pos, &used, &reply,
					   &error);
		pos += used;
		if (r == SMTP_REPLY_ERROR) {
			char text[128];

			snprintf(text, sizeof(text), "malformed reply from server: %s", error);
			smtp_client_fail_local(c, SMTP_CLIENT_STATUS_TEMPFAIL, "4.5.0", text,
					       current_stage(c), false);
			break;
		}
		if (r == SMTP_REPLY_NEED_MORE)
			break;
		handle_reply(c, reply);
	}
	smtp_client_unref(c);
}

void
smtp_client_disconnected(struct smtp_client *c, const char *reason)
{
	char text[160];

	if (c->destroyed || c->state == CLIENT_ST_CLOSED)
		return;
	smtp_client_ref(c);
	if (c->state == CLIENT_ST_QUIT) {
		close_ok(c);
	} else {
		snprintf(text, sizeof(text), "lost connection with server while %s%s%s",
			 smtp_client_stage_name(current_stage(c)), reason != NULL ? ": " : "",
			 reason != NULL ? reason : "");
		smtp_client_fail_local(c, SMTP_CLIENT_STATUS_TEMPFAIL, "4.4.2", text,
				       current_stage(c), false);
	}
	smtp_client_unref(c);
}

void
smtp_client_timeout(struct smtp_client *c)
{
	char text[128];

	if (c->destroyed || c->state == CLIENT_ST_CLOSED)
		return;
	smtp_client_ref(c);
	if (c->state == CLIENT_ST_QUIT) {
		close_ok(c);
	} else {
		snprintf(text, sizeof(text), "conversation with server timed out while %s",
			 smtp_client_stage_name(current_stage(c)));
		smtp_client_fail_local(c, SMTP_CLIENT_STATUS_TEMPFAIL, "4.4.2", text,
				       current_stage(c), false);
	}
	smtp_client_unref(c);
}

void
smtp_client_tls_done(struct smtp_client *c, bool ok)
{
	if (c->destroyed || c->state != CLIENT_ST_TLS)
		return;
	smtp_client_ref(c);
	if (!ok) {
		smtp_client_fail_local(c, SMTP_CLIENT_STATUS_TEMPFAIL, "4.7.5",
				       "TLS handshake with server failed",
				       SMTP_CLIENT_STAGE_STARTTLS, false);
	} else {
		/* RFC 3207 4.2: forget what EHLO said before TLS */
		c->tls = true;
		c->ext = 0;
		c->size_limit = 0;
		smtp_reply_parser_reset(&c->parser);
		send_ehlo(c, true);
	}
	smtp_client_unref(c);
}

void
smtp_client_quit(struct smtp_client *c)
{
	if (c->destroyed || c->state == CLIENT_ST_CLOSED || c->state == CLIENT_ST_QUIT)
		return;
	smtp_client_ref(c);
	if (c->state == CLIENT_ST_READY) {
		c->state = CLIENT_ST_QUIT;
		smtp_client_command(c, "QUIT", CLIENT_EX_QUIT, 0);
	} else {
		smtp_client_fail_local(c, SMTP_CLIENT_STATUS_TEMPFAIL, "4.3.0",
				       "delivery interrupted: connection closed by us",
				       current_stage(c), c->state != CLIENT_ST_INIT &&
				       c->state != CLIENT_ST_TLS);
	}
	smtp_client_unref(c);
}

unsigned
smtp_client_get_extensions(const struct smtp_client *c)
{
	return c->ext;
}

uint64_t
smtp_client_get_size_limit(const struct smtp_client *c)
{
	return c->size_limit;
}

bool
smtp_client_is_tls(const struct smtp_client *c)
{
	return c->tls;
}

bool
smtp_client_is_authenticated(const struct smtp_client *c)
{
	return c->authenticated;
}

unsigned
smtp_client_get_timeout(const struct smtp_client *c)
{
	return c->timeout;
}

uint64_t
smtp_client_get_body_bytes(const struct smtp_client *c)
{
	return c->body_bytes;
}

uint64_t
smtp_client_get_lines_broken(const struct smtp_client *c)
{
	return c->lines_broken;
}
