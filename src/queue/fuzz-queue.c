/*
 * fuzz-queue.c - libFuzzer target for the queue's readers of network-given
 * text: queue_xtext_decode (ORCPT and ENVID as SMTP clients sent them),
 * queue_nexthop_parse (recipient addresses), and queue_dsn_build with the
 * input as the returned original and as the remote diagnostic.
 *
 * Input: split at the first NUL into a text (xtext, address, diagnostic)
 * and the rest (the original message). Checks, beyond "no crash": a decoded
 * xtext holds no control character; a next hop is lower-case and at most
 * QUEUE_DOMAIN_MAX octets; a DSN has only CRLF line ends.
 */
#include "queue/queue-dsn.h"
#include "queue/queue-policy.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
	if (!ok)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t tlen = nul != NULL ? (size_t)(nul - data) : size;
	char *text = mem_strndup((const char *)data, tlen);
	char out[512];
	struct queue_nexthop hop;
	const char *error = NULL;

	if (queue_xtext_decode(text, out, sizeof(out))) {
		for (const char *p = out; *p != '\0'; p++)
			check((unsigned char)*p >= 32 && *p != 127);
	}
	if (queue_nexthop_parse(text, &hop, &error) == 0) {
		check(strlen(hop.domain) <= QUEUE_DOMAIN_MAX && hop.domain[0] != '\0');
		for (const char *p = hop.domain; !hop.literal && *p != '\0'; p++)
			check(!(*p >= 'A' && *p <= 'Z'));
	}

	struct queue_dsn_rcpt rcpt = { "bob@remote.example", text, QUEUE_DSN_FAILED, "5.1.1",
				       "mx.remote.example", text, 1700000000, 0 };
	struct queue_dsn dsn = { 0 };
	struct buf b;

	dsn.reporting_mta = "mail.example.org";
	dsn.from = "MAILER-DAEMON@mail.example.org";
	dsn.to = "ann@example.org";
	dsn.queue_id = "Q1";
	dsn.envid = text;
	dsn.now = 1700000100;
	dsn.headers_only = size > 0 && (data[size - 1] & 1) != 0;
	dsn.rcpts = &rcpt;
	dsn.rcpt_count = 1;
	dsn.original = nul != NULL ? nul + 1 : NULL;
	dsn.original_len = nul != NULL ? size - tlen - 1 : 0;
	buf_init(&b, 0);
	if (queue_dsn_build(&dsn, &b, NULL, &error) == 0) {
		const uint8_t *d = buf_data(&b);

		for (size_t i = 0; i < buf_len(&b); i++) {
			if (d[i] == '\n')
				check(i > 0 && d[i - 1] == '\r');
			if (d[i] == '\r')
				check(i + 1 < buf_len(&b) && d[i + 1] == '\n');
		}
	}
	buf_deinit(&b);
	mem_free(&text);
	return 0;
}
