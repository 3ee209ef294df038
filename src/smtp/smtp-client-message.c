/*
 * smtp-client-message.c - one mail transaction of the SMTP client engine:
 * local checks, MAIL FROM, RCPT TO, DATA or BDAT (RFC 3030), PIPELINING
 * groups (RFC 2920), streaming the content through smtp-dotstuff.h, and the
 * per-recipient results.
 *
 * Flow: send_message() checks, then writes MAIL (with PIPELINING also every
 * RCPT, and DATA unless BDAT is used). Each reply is applied by msg_reply(),
 * then msg_advance() decides what to send next once every reply to what was
 * sent is in. The content is pulled from the caller (body_read) while the
 * output is not too full; the end of data is "." (DATA) or BDAT LAST. The
 * transaction ends with message_done; RSET follows when the server may still
 * hold a transaction (MAIL accepted but no reply to the end of data).
 *
 * Does not: DSN composition, retries, 8-bit or SMTPUTF8 downgrades.
 */
#include "smtp/smtp-client-private.h"

#include "core/mem.h"
#include "smtp/smtp-address.h"
#include "smtp/smtp-command.h"

#include <stdio.h>
#include <string.h>

static void msg_advance(struct smtp_client *c);

void
smtp_client_msg_clear(struct smtp_client *c)
{
	struct client_msg *m = &c->msg;
	unsigned i;

	for (i = 0; i < m->n_rcpts; i++) {
		mem_free(&m->texts[i]);
		mem_free(&m->addrs[i]);
		mem_free(&m->params[i]);
	}
	mem_free(&m->results);
	mem_free(&m->texts);
	mem_free(&m->addrs);
	mem_free(&m->params);
	mem_free(&m->accepted);
	buf_deinit(&m->chunk);
	memset(m, 0, sizeof(*m));
}

enum smtp_client_stage
smtp_client_msg_stage(const struct smtp_client *c)
{
	switch (c->msg.phase) {
	case CLIENT_PH_ENVELOPE: return SMTP_CLIENT_STAGE_RCPT;
	case CLIENT_PH_DATA: return SMTP_CLIENT_STAGE_DATA;
	case CLIENT_PH_BODY: return SMTP_CLIENT_STAGE_BODY;
	case CLIENT_PH_END: return SMTP_CLIENT_STAGE_DATA_END;
	}
	return SMTP_CLIENT_STAGE_IDLE;
}

static void
rcpt_local(struct smtp_client *c, unsigned i, enum smtp_client_status status, const char *enh,
	   const char *text, enum smtp_client_stage stage)
{
	smtp_client_result_local(&c->msg.results[i], &c->msg.texts[i], status, enh, text, stage);
}

/* Every recipient without a result gets this local one. */
static void
undecided_local(struct smtp_client *c, enum smtp_client_status status, const char *enh,
		const char *text, enum smtp_client_stage stage)
{
	unsigned i;

	for (i = 0; i < c->msg.n_rcpts; i++) {
		if (c->msg.results[i].status == SMTP_CLIENT_STATUS_NONE)
			rcpt_local(c, i, status, enh, text, stage);
	}
}

/* Recipients without a result get the reply; only_accepted: only those
 * whose RCPT was accepted. */
static void
undecided_reply(struct smtp_client *c, const struct smtp_reply *reply,
		enum smtp_client_stage stage, bool only_accepted)
{
	unsigned i;

	for (i = 0; i < c->msg.n_rcpts; i++) {
		if (c->msg.results[i].status != SMTP_CLIENT_STATUS_NONE)
			continue;
		if (only_accepted && !c->msg.accepted[i])
			continue;
		smtp_client_result_from_reply(&c->msg.results[i], &c->msg.texts[i], reply, stage);
	}
}

static void
msg_done_hook(struct smtp_client *c)
{
	struct client_msg *m = &c->msg;

	undecided_local(c, SMTP_CLIENT_STATUS_TEMPFAIL, "4.3.0", "no final reply for recipient",
			smtp_client_msg_stage(c));
	m->active = false;
	m->body_requested = false;
	c->body_bytes = m->enc.bytes_out;
	c->lines_broken = m->enc.lines_broken;
	if (!c->destroyed && c->hooks.message_done != NULL)
		c->hooks.message_done(c, c->hook_ctx, m->results, m->n_rcpts);
}

static void
msg_finish(struct smtp_client *c)
{
	msg_done_hook(c);
	if (c->destroyed || c->state != CLIENT_ST_MESSAGE)
		return;
	if (c->msg.server_txn) {
		/* RFC 5321 4.1.1.5: end the half-open transaction */
		c->state = CLIENT_ST_RSET;
		smtp_client_command(c, "RSET", CLIENT_EX_RSET, 0);
		return;
	}
	smtp_client_become_ready(c);
}

void
smtp_client_msg_abort(struct smtp_client *c, const struct smtp_client_result *res)
{
	unsigned i;

	for (i = 0; i < c->msg.n_rcpts; i++) {
		struct smtp_client_result *r = &c->msg.results[i];

		if (r->status != SMTP_CLIENT_STATUS_NONE)
			continue;
		*r = *res;
		r->status = SMTP_CLIENT_STATUS_TEMPFAIL;
		if (r->enhanced[0] != '4') {
			/* a 5xx at connection level still leaves this message untried */
			memcpy(r->enhanced, "4.0.0", 6);
		}
		mem_free(&c->msg.texts[i]);
		c->msg.texts[i] = mem_strdup(res->text != NULL ? res->text : "");
		r->text = c->msg.texts[i];
	}
	msg_done_hook(c);
}

/* ---- body ---- */

static void
body_pull(struct smtp_client *c)
{
	struct client_msg *m = &c->msg;

	while (!c->destroyed && c->state == CLIENT_ST_MESSAGE && m->phase == CLIENT_PH_BODY &&
	       !m->body_requested && !m->body_done && !m->wait_drain && !m->wait_bdat) {
		if (c->io.out_pending != NULL &&
		    c->io.out_pending(c->io_ctx) >= c->set.max_output) {
			m->wait_drain = true;
			return;
		}
		m->body_requested = true;
		m->in_body_read = true;
		if (c->hooks.body_read != NULL)
			c->hooks.body_read(c, c->hook_ctx);
		m->in_body_read = false;
		if (c->hooks.body_read == NULL)
			PANIC("smtp client: no body_read hook");
	}
}

static void
body_start(struct smtp_client *c)
{
	struct client_msg *m = &c->msg;

	m->phase = CLIENT_PH_BODY;
	smtp_dotstuff_init(&m->enc, !m->bdat, c->set.max_line);
	buf_init(&m->chunk, 0);
	smtp_client_set_timer(c, c->set.timeouts.data_block);
	body_pull(c);
}

void
smtp_client_body_data(struct smtp_client *c, const uint8_t *data, size_t len, bool last)
{
	struct client_msg *m = &c->msg;

	if (c->destroyed || !m->body_requested)
		return;
	m->body_requested = false;
	if (c->state != CLIENT_ST_MESSAGE || m->phase != CLIENT_PH_BODY)
		return;
	smtp_client_ref(c);
	buf_reset(&m->chunk);
	(void)smtp_dotstuff_feed(&m->enc, data, len, &m->chunk);
	if (last) {
		(void)smtp_dotstuff_finish(&m->enc, &m->chunk);
		m->body_done = true;
		m->phase = CLIENT_PH_END;
	}
	if (!m->bdat) {
		smtp_client_write(c, buf_data(&m->chunk), buf_len(&m->chunk));
		if (last)
			smtp_client_expect_push(c, CLIENT_EX_DATA_END, 0);
	} else if (buf_len(&m->chunk) > 0 || last) {
		/* RFC 3030 2: BDAT <size> [LAST], then exactly size octets */
		char cmd[64];
		int n = snprintf(cmd, sizeof(cmd), "BDAT %zu%s\r\n", buf_len(&m->chunk),
				 last ? " LAST" : "");

		smtp_client_write(c, cmd, (size_t)n);
		smtp_client_write(c, buf_data(&m->chunk), buf_len(&m->chunk));
		smtp_client_expect_push(c, last ? CLIENT_EX_BDAT_LAST : CLIENT_EX_BDAT, 0);
		if (!last && !m->pipelining)
			m->wait_bdat = true;
	}
	buf_reset(&m->chunk);
	smtp_client_set_timer(c, last ? c->set.timeouts.data_final : c->set.timeouts.data_block);
	if (!m->in_body_read)
		body_pull(c);
	smtp_client_unref(c);
}

void
smtp_client_output_drained(struct smtp_client *c)
{
	if (c->destroyed || !c->msg.wait_drain)
		return;
	c->msg.wait_drain = false;
	smtp_client_ref(c);
	body_pull(c);
	smtp_client_unref(c);
}

/* ---- replies ---- */

void
smtp_client_msg_reply(struct smtp_client *c, enum client_expect kind, unsigned idx,
		      const struct smtp_reply *reply)
{
	struct client_msg *m = &c->msg;
	unsigned cls = smtp_reply_class(reply->code);

	ASSERT(m->active);
	switch (kind) {
	case CLIENT_EX_MAIL:
		if (cls == 2) {
			m->server_txn = true;
		} else {
			undecided_reply(c, reply, SMTP_CLIENT_STAGE_MAIL, false);
			m->failed = true;
			m->phase = CLIENT_PH_END;
		}
		break;
	case CLIENT_EX_RCPT:
		/* after a refused MAIL the RCPT replies (503) mean nothing */
		if (m->failed || m->results[idx].status != SMTP_CLIENT_STATUS_NONE)
			break;
		if (cls == 2) {
			m->accepted[idx] = true;
			m->n_accepted++;
		} else {
			smtp_client_result_from_reply(&m->results[idx], &m->texts[idx], reply,
						      SMTP_CLIENT_STAGE_RCPT);
		}
		break;
	case CLIENT_EX_DATA:
		if (cls == 3) {
			if (m->failed || m->n_accepted == 0) {
				/* RFC 2920 3.1: DATA went out in the group, nobody
				 * takes the message: end it empty */
				smtp_client_write(c, ".\r\n", 3);
				smtp_client_expect_push(c, CLIENT_EX_DOT_DISCARD, 0);
				m->phase = CLIENT_PH_END;
			} else {
				body_start(c);
			}
			break;
		}
		if (cls == 2) {
			smtp_client_fail_local(c, SMTP_CLIENT_STATUS_TEMPFAIL, "4.5.0",
					       "unexpected 2xx reply to DATA",
					       SMTP_CLIENT_STAGE_DATA, true);
			return;
		}
		if (!m->failed && m->n_accepted > 0)
			undecided_reply(c, reply, SMTP_CLIENT_STAGE_DATA, true);
		m->failed = true;
		m->phase = CLIENT_PH_END;
		break;
	case CLIENT_EX_DATA_END:
		undecided_reply(c, reply, SMTP_CLIENT_STAGE_DATA_END, true);
		m->server_txn = false;
		break;
	case CLIENT_EX_DOT_DISCARD:
		m->server_txn = false;
		break;
	case CLIENT_EX_BDAT:
		if (cls != 2) {
			if (!m->failed)
				undecided_reply(c, reply, SMTP_CLIENT_STAGE_DATA_END, true);
			m->failed = true;
			m->phase = CLIENT_PH_END;
			m->wait_bdat = false;
			break;
		}
		if (m->wait_bdat) {
			m->wait_bdat = false;
			body_pull(c);
			if (c->destroyed || c->state != CLIENT_ST_MESSAGE)
				return;
		}
		break;
	case CLIENT_EX_BDAT_LAST:
		if (!m->failed) {
			undecided_reply(c, reply, SMTP_CLIENT_STAGE_DATA_END, true);
			if (cls == 2)
				m->server_txn = false;
		}
		break;
	default:
		PANIC("not a transaction reply");
	}
	msg_advance(c);
}

static void
send_rcpt(struct smtp_client *c, unsigned i)
{
	buf_reset(&c->out);
	buf_printf(&c->out, "RCPT TO:<%s>%s\r\n", c->msg.addrs[i],
		   c->msg.params[i] != NULL ? c->msg.params[i] : "");
	smtp_client_write(c, buf_data(&c->out), buf_len(&c->out));
	buf_reset(&c->out);
	smtp_client_expect_push(c, CLIENT_EX_RCPT, i);
}

static void
msg_advance(struct smtp_client *c)
{
	struct client_msg *m = &c->msg;

	if (c->destroyed || !m->active || c->state != CLIENT_ST_MESSAGE ||
	    smtp_client_expecting(c))
		return;
	switch (m->phase) {
	case CLIENT_PH_ENVELOPE:
		if (m->failed)
			break;
		if (!m->pipelining) {
			/* RFC 5321 3.3: one RCPT at a time */
			while (m->next_rcpt < m->n_rcpts && m->addrs[m->next_rcpt] == NULL)
				m->next_rcpt++;
			if (m->next_rcpt < m->n_rcpts) {
				send_rcpt(c, m->next_rcpt++);
				return;
			}
		}
		if (m->n_accepted == 0)
			break;  /* RFC 5321 3.3: no DATA without a recipient */
		if (m->bdat) {
			body_start(c);
			return;
		}
		if (!m->data_sent) {
			m->data_sent = true;
			m->phase = CLIENT_PH_DATA;
			smtp_client_command(c, "DATA", CLIENT_EX_DATA, 0);
			return;
		}
		break;
	case CLIENT_PH_DATA:
	case CLIENT_PH_BODY:
		return;
	case CLIENT_PH_END:
		break;
	}
	msg_finish(c);
}

/* ---- starting a message ---- */

static bool
ascii_printable(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((uint8_t)*s <= 0x20 || (uint8_t)*s >= 0x7f)
			return false;
	}
	return true;
}

/* RFC 3461 4.1, 4.2: " NOTIFY=..." and " ORCPT=type;xtext" */
static char *
rcpt_params(const struct smtp_client_rcpt *r)
{
	struct buf b;
	const char *semi;

	buf_init(&b, 0);
	if ((r->notify & SMTP_CLIENT_NOTIFY_NEVER) != 0) {
		buf_append_str(&b, " NOTIFY=NEVER");
	} else if (r->notify != 0) {
		const char *sep = " NOTIFY=";

		if ((r->notify & SMTP_CLIENT_NOTIFY_SUCCESS) != 0) {
			buf_printf(&b, "%sSUCCESS", sep);
			sep = ",";
		}
		if ((r->notify & SMTP_CLIENT_NOTIFY_FAILURE) != 0) {
			buf_printf(&b, "%sFAILURE", sep);
			sep = ",";
		}
		if ((r->notify & SMTP_CLIENT_NOTIFY_DELAY) != 0)
			buf_printf(&b, "%sDELAY", sep);
	}
	semi = r->orcpt != NULL ? strchr(r->orcpt, ';') : NULL;
	if (semi != NULL && semi > r->orcpt && semi[1] != '\0' && ascii_printable(r->orcpt) &&
	    strlen(r->orcpt) <= 500) {
		buf_append_str(&b, " ORCPT=");
		buf_append(&b, r->orcpt, (size_t)(semi - r->orcpt) + 1);
		(void)smtp_xtext_encode((const uint8_t *)semi + 1, strlen(semi + 1), &b);
	}
	if (buf_len(&b) == 0) {
		buf_deinit(&b);
		return NULL;
	}
	return buf_steal_str(&b);
}

/* Parse and format an address; NULL when invalid. */
static char *
format_address(const char *s, bool utf8)
{
	struct smtp_address_limits limits;
	struct smtp_address addr;
	const char *error;
	struct buf b;

	smtp_address_limits_init_default(&limits);
	if (smtp_address_parse_mailbox((const uint8_t *)s, strlen(s),
				       utf8 ? SMTP_ADDRESS_ALLOW_UTF8 : 0, &limits, &addr,
				       &error) < 0)
		return NULL;
	buf_init(&b, 0);
	(void)smtp_address_format(&addr, &b);
	smtp_address_deinit(&addr);
	return buf_steal_str(&b);
}

/* Local checks before anything is sent; false when the message is over. */
static bool
msg_check(struct smtp_client *c, const struct smtp_client_message *msg, char **sender_r)
{
	char text[160];

	*sender_r = NULL;
	if (msg->sender[0] != '\0') {
		*sender_r = format_address(msg->sender, msg->smtputf8);
		if (*sender_r == NULL) {
			undecided_local(c, SMTP_CLIENT_STATUS_PERMFAIL, "5.1.7",
					"invalid sender address syntax", SMTP_CLIENT_STAGE_MAIL);
			return false;
		}
	}
	if (msg->smtputf8 && (c->ext & SMTP_CLIENT_EXT_SMTPUTF8) == 0) {
		/* RFC 6531 3.4: no downgrade here */
		undecided_local(c, SMTP_CLIENT_STATUS_PERMFAIL, "5.6.7",
				"SMTPUTF8 is required, but was not offered by host",
				SMTP_CLIENT_STAGE_MAIL);
		return false;
	}
	if (msg->requiretls && (!c->tls || (c->ext & SMTP_CLIENT_EXT_REQUIRETLS) == 0)) {
		/* RFC 8689 4.2.1 step 4, 7.3 (X.7.30) */
		undecided_local(c, SMTP_CLIENT_STATUS_PERMFAIL, "5.7.30",
				c->tls ? "REQUIRETLS is required, but was not offered by host"
				       : "REQUIRETLS is required, but the connection is not encrypted",
				SMTP_CLIENT_STAGE_MAIL);
		return false;
	}
	if (msg->eightbit && (c->ext & SMTP_CLIENT_EXT_8BITMIME) == 0) {
		/* RFC 6152 3: 8-bit content only to a server offering 8BITMIME */
		undecided_local(c, SMTP_CLIENT_STATUS_PERMFAIL, "5.6.3",
				"message has 8-bit content, but host does not offer 8BITMIME",
				SMTP_CLIENT_STAGE_MAIL);
		return false;
	}
	if ((c->ext & SMTP_CLIENT_EXT_SIZE) != 0 && c->size_limit > 0 &&
	    msg->size > c->size_limit) {
		/* RFC 1870 6 */
		snprintf(text, sizeof(text), "message size %llu exceeds size limit %llu of server",
			 (unsigned long long)msg->size, (unsigned long long)c->size_limit);
		undecided_local(c, SMTP_CLIENT_STATUS_PERMFAIL, "5.3.4", text,
				SMTP_CLIENT_STAGE_MAIL);
		return false;
	}
	return true;
}

static void
write_mail(struct smtp_client *c, const struct smtp_client_message *msg, const char *sender)
{
	bool dsn = (c->ext & SMTP_CLIENT_EXT_DSN) != 0;

	buf_reset(&c->out);
	buf_printf(&c->out, "MAIL FROM:<%s>", sender != NULL ? sender : "");
	if ((c->ext & SMTP_CLIENT_EXT_SIZE) != 0 && msg->size > 0)
		buf_printf(&c->out, " SIZE=%llu", (unsigned long long)msg->size);
	if (msg->eightbit)
		buf_append_str(&c->out, " BODY=8BITMIME");
	if (msg->smtputf8)
		buf_append_str(&c->out, " SMTPUTF8");
	if (msg->requiretls)
		buf_append_str(&c->out, " REQUIRETLS");
	if (dsn && msg->ret != SMTP_CLIENT_RET_NONE)
		buf_append_str(&c->out,
			       msg->ret == SMTP_CLIENT_RET_FULL ? " RET=FULL" : " RET=HDRS");
	if (dsn && msg->envid != NULL && msg->envid[0] != '\0' && ascii_printable(msg->envid) &&
	    strlen(msg->envid) <= 100) {
		/* RFC 3461 4.4: at most 100 characters, xtext */
		buf_append_str(&c->out, " ENVID=");
		(void)smtp_xtext_encode((const uint8_t *)msg->envid, strlen(msg->envid), &c->out);
	}
	buf_append(&c->out, "\r\n", 2);
	smtp_client_write(c, buf_data(&c->out), buf_len(&c->out));
	buf_reset(&c->out);
	smtp_client_expect_push(c, CLIENT_EX_MAIL, 0);
}

void
smtp_client_send_message(struct smtp_client *c, const struct smtp_client_message *msg)
{
	struct client_msg *m = &c->msg;
	char *sender = NULL;
	unsigned i, n_valid = 0;
	bool dsn = (c->ext & SMTP_CLIENT_EXT_DSN) != 0;

	ASSERT(c->state == CLIENT_ST_READY);
	ASSERT(msg->n_rcpts > 0 && msg->sender != NULL);
	smtp_client_msg_clear(c);
	smtp_client_ref(c);
	c->state = CLIENT_ST_MESSAGE;
	c->body_bytes = 0;
	c->lines_broken = 0;
	m->active = true;
	m->n_rcpts = msg->n_rcpts;
	m->results = mem_array(msg->n_rcpts, sizeof(*m->results));
	m->texts = mem_array(msg->n_rcpts, sizeof(*m->texts));
	m->addrs = mem_array(msg->n_rcpts, sizeof(*m->addrs));
	m->params = mem_array(msg->n_rcpts, sizeof(*m->params));
	m->accepted = mem_array(msg->n_rcpts, sizeof(*m->accepted));
	m->pipelining = (c->ext & SMTP_CLIENT_EXT_PIPELINING) != 0 && !c->set.no_pipelining;
	m->bdat = (c->ext & SMTP_CLIENT_EXT_CHUNKING) != 0 && !c->set.no_chunking;
	smtp_dotstuff_init(&m->enc, !m->bdat, c->set.max_line);

	if (!msg_check(c, msg, &sender)) {
		m->phase = CLIENT_PH_END;
		msg_finish(c);
		goto out;
	}
	for (i = 0; i < msg->n_rcpts; i++) {
		m->addrs[i] = format_address(msg->rcpts[i].address != NULL ?
					     msg->rcpts[i].address : "", msg->smtputf8);
		if (m->addrs[i] == NULL) {
			rcpt_local(c, i, SMTP_CLIENT_STATUS_PERMFAIL, "5.1.3",
				   "invalid recipient address syntax", SMTP_CLIENT_STAGE_RCPT);
			continue;
		}
		if (dsn)
			m->params[i] = rcpt_params(&msg->rcpts[i]);
		n_valid++;
	}
	if (n_valid == 0) {
		m->phase = CLIENT_PH_END;
		msg_finish(c);
		goto out;
	}
	m->phase = CLIENT_PH_ENVELOPE;
	write_mail(c, msg, sender);
	if (m->pipelining) {
		/* RFC 2920 3.1: MAIL, every RCPT and DATA in one group */
		for (i = 0; i < m->n_rcpts; i++) {
			if (m->addrs[i] != NULL)
				send_rcpt(c, i);
		}
		if (!m->bdat) {
			m->data_sent = true;
			smtp_client_command(c, "DATA", CLIENT_EX_DATA, 0);
		}
	}
out:
	mem_free(&sender);
	smtp_client_unref(c);
}
