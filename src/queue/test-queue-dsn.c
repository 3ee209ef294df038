/*
 * test-queue-dsn.c - DSN messages (RFC 3464, RFC 6522) and xtext decoding.
 * The built DSN is parsed back with the MIME parser to check its structure.
 */
#include "queue/queue-dsn.h"

#include <string.h>

#include "core/buf.h"
#include "core/test.h"
#include "mime/mime-parser.h"

static const char original[] =
	"From: Ann <ann@example.org>\r\n"
	"To: bob@remote.example\r\n"
	"Subject: Gr\xc3\xbc\xc3\x9f" "e\r\n"
	"\r\n"
	"K\xc3\xa4se und Wurst.\r\n"
	"bare LF here\nand a bare CR\rend\r\n";

static const struct queue_dsn_rcpt two_rcpts[] = {
	{ "bob@remote.example", "rfc822;bob+40remote.example", QUEUE_DSN_FAILED, "5.1.1",
	  "mx.remote.example", "550 5.1.1 <bob@remote.example>: no such\x01 user", 1700000000,
	  0 },
	{ "carl@remote.example", NULL, QUEUE_DSN_FAILED, "4.4.7", NULL, NULL, 0, 0 },
};

static void
dsn_init(struct queue_dsn *d)
{
	memset(d, 0, sizeof(*d));
	d->reporting_mta = "mail.example.org";
	d->from = "MAILER-DAEMON@mail.example.org";
	d->to = "ann@example.org";
	d->queue_id = "4F2a9XyZ";
	d->envid = "env+2B1";
	d->arrival = 1699990000;
	d->now = 1700000100;
	d->rcpts = two_rcpts;
	d->rcpt_count = 2;
	d->original = (const uint8_t *)original;
	d->original_len = sizeof(original) - 1;
}

static bool
has(const struct buf *b, const char *s)
{
	return memmem(buf_data(b), buf_len(b), s, strlen(s)) != NULL;
}

/* No bare CR or LF anywhere. */
static bool
all_crlf(const struct buf *b)
{
	const uint8_t *d = buf_data(b);

	for (size_t i = 0; i < buf_len(b); i++) {
		if (d[i] == '\r' && (i + 1 == buf_len(b) || d[i + 1] != '\n'))
			return false;
		if (d[i] == '\n' && (i == 0 || d[i - 1] != '\r'))
			return false;
	}
	return true;
}

static void
test_dsn_failure_structure(void)
{
	struct queue_dsn d;
	struct buf out;
	const char *error = NULL;
	bool eightbit = false;
	struct mime_part *root;
	const struct mime_part *p;

	dsn_init(&d);
	buf_init(&out, 0);
	T_INTEQ(queue_dsn_build(&d, &out, &eightbit, &error), 0);
	T_ASSERT(eightbit);
	T_ASSERT(all_crlf(&out));
	T_ASSERT(has(&out, "To: <ann@example.org>\r\n"));
	T_ASSERT(has(&out, "Auto-Submitted: auto-replied\r\n"));
	T_ASSERT(has(&out, "Original-Envelope-Id: env+1\r\n"));
	T_ASSERT(has(&out, "Reporting-MTA: dns; mail.example.org\r\n"));
	T_ASSERT(has(&out, "Original-Recipient: rfc822;bob@remote.example\r\n"));
	T_ASSERT(has(&out, "Final-Recipient: rfc822; bob@remote.example\r\n"));
	T_ASSERT(has(&out, "Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.remote.example\r\n"));
	/* the control character in the remote text became a space */
	T_ASSERT(has(&out, "Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.example>: no such  user\r\n"));
	T_ASSERT(has(&out, "Final-Recipient: rfc822; carl@remote.example\r\nAction: failed\r\n"
			   "Status: 4.4.7\r\n"));
	/* the whole original comes back, line ends made CRLF */
	T_ASSERT(has(&out, "Content-Type: message/rfc822\r\n"));
	T_ASSERT(has(&out, "bare LF here\r\nand a bare CR\r\nend\r\n"));

	root = mime_parse_message(buf_data(&out), buf_len(&out), NULL);
	T_ASSERT(root != NULL);
	T_STREQ(root->content_type.type, "multipart");
	T_STREQ(root->content_type.subtype, "report");
	T_INTEQ(root->n_children, 3);
	p = mime_part_child(root, 1);
	T_ASSERT(p != NULL && strcmp(p->content_type.subtype, "plain") == 0);
	p = mime_part_child(root, 2);
	T_ASSERT(p != NULL && strcmp(p->content_type.type, "message") == 0 &&
		 strcmp(p->content_type.subtype, "delivery-status") == 0);
	p = mime_part_child(root, 3);
	T_ASSERT(p != NULL && strcmp(p->content_type.subtype, "rfc822") == 0);
	mime_part_free(&root);
	buf_deinit(&out);
}

static void
test_dsn_headers_only(void)
{
	struct queue_dsn d;
	struct buf out;
	const char *error = NULL;
	bool eightbit = true;

	dsn_init(&d);
	d.headers_only = true;
	buf_init(&out, 0);
	T_INTEQ(queue_dsn_build(&d, &out, &eightbit, &error), 0);
	T_ASSERT(has(&out, "Content-Type: text/rfc822-headers\r\n"));
	T_ASSERT(has(&out, "Subject: Gr"));
	T_ASSERT(!has(&out, "Wurst"));
	T_ASSERT(eightbit); /* the 8-bit Subject: */
	buf_deinit(&out);

	/* over the return limit: headers only too */
	dsn_init(&d);
	d.max_return = 10;
	buf_init(&out, 0);
	T_INTEQ(queue_dsn_build(&d, &out, NULL, &error), 0);
	T_ASSERT(has(&out, "text/rfc822-headers"));
	T_ASSERT(!has(&out, "Wurst"));
	buf_deinit(&out);
}

static void
test_dsn_delay(void)
{
	static const struct queue_dsn_rcpt rcpt = { "bob@remote.example", NULL,
						    QUEUE_DSN_DELAYED, "4.4.1", NULL,
						    "connection timed out", 1700000000,
						    1700400000 };
	struct queue_dsn d;
	struct buf out;
	const char *error = NULL;

	dsn_init(&d);
	d.rcpts = &rcpt;
	d.rcpt_count = 1;
	d.original = (const uint8_t *)"Subject: plain\r\n\r\nbody text\r\n";
	d.original_len = strlen((const char *)d.original);
	buf_init(&out, 0);
	T_INTEQ(queue_dsn_build(&d, &out, NULL, &error), 0);
	T_ASSERT(has(&out, "Subject: Delivery delay notice"));
	T_ASSERT(has(&out, "Action: delayed\r\n"));
	T_ASSERT(has(&out, "Will-Retry-Until: "));
	/* a delay notice returns the header only */
	T_ASSERT(has(&out, "text/rfc822-headers"));
	T_ASSERT(!has(&out, "body text"));
	buf_deinit(&out);
}

/* One report for a round: a failure, a relayed and a delivered recipient
 * (RFC 3464 2.3.3); a success-only report returns the header, described as
 * such. */
static void
test_dsn_combined_and_success(void)
{
	static const struct queue_dsn_rcpt rcpts[] = {
		{ "bob@remote.example", NULL, QUEUE_DSN_FAILED, "5.1.1", "mx.remote.example",
		  "550 5.1.1 no such user", 1700000000, 0 },
		{ "eve@remote.example", "rfc822;eve+40remote.example", QUEUE_DSN_RELAYED, "2.0.0",
		  "mx.remote.example", "250 2.0.0 ok", 1700000000, 0 },
		{ "ann@example.org", NULL, QUEUE_DSN_DELIVERED, "2.0.0", NULL, NULL, 1700000000,
		  0 },
	};
	struct queue_dsn d;
	struct buf out;
	const char *error = NULL;

	dsn_init(&d);
	d.rcpts = rcpts;
	d.rcpt_count = 3;
	d.original = (const uint8_t *)"Subject: plain\r\n\r\nbody text\r\n";
	d.original_len = strlen((const char *)d.original);
	buf_init(&out, 0);
	T_INTEQ(queue_dsn_build(&d, &out, NULL, &error), 0);
	T_ASSERT(has(&out, "Subject: Delivery failure notice"));
	T_ASSERT(has(&out, "Final-Recipient: rfc822; bob@remote.example\r\nAction: failed\r\n"));
	T_ASSERT(has(&out, "Original-Recipient: rfc822;eve@remote.example\r\n"
			   "Final-Recipient: rfc822; eve@remote.example\r\nAction: relayed\r\n"));
	T_ASSERT(has(&out, "Final-Recipient: rfc822; ann@example.org\r\nAction: delivered\r\n"));
	T_ASSERT(has(&out, "message/rfc822"));
	T_ASSERT(has(&out, "body text"));
	T_ASSERT(all_crlf(&out));
	buf_deinit(&out);

	d.rcpts = rcpts + 1;
	d.rcpt_count = 2;
	buf_init(&out, 0);
	T_INTEQ(queue_dsn_build(&d, &out, NULL, &error), 0);
	T_ASSERT(has(&out, "Subject: Delivery success notice"));
	T_ASSERT(has(&out, "Content-Description: Message Headers\r\n"));
	T_ASSERT(has(&out, "text/rfc822-headers"));
	T_ASSERT(!has(&out, "body text"));
	T_ASSERT(!has(&out, "Will-Retry-Until"));
	buf_deinit(&out);
}

static void
test_dsn_boundary_avoids_content(void)
{
	struct queue_dsn d;
	struct buf out;
	const char *error = NULL;
	static const char evil[] = "Subject: x\r\n\r\n--4F2a9XyZ.1700000100.0/mail.example.org\r\n";
	struct mime_part *root;

	dsn_init(&d);
	d.original = (const uint8_t *)evil;
	d.original_len = sizeof(evil) - 1;
	buf_init(&out, 0);
	T_INTEQ(queue_dsn_build(&d, &out, NULL, &error), 0);
	T_ASSERT(has(&out, "boundary=\"4F2a9XyZ.1700000100.1/mail.example.org\""));
	root = mime_parse_message(buf_data(&out), buf_len(&out), NULL);
	T_INTEQ(root->n_children, 3);
	mime_part_free(&root);
	buf_deinit(&out);
}

static void
test_dsn_bad_arguments(void)
{
	struct queue_dsn d;
	struct buf out;
	const char *error = NULL;
	static const struct queue_dsn_rcpt bad = { "a\r\nb@x", NULL, QUEUE_DSN_FAILED, "5.0.0",
						   NULL, NULL, 0, 0 };

	buf_init(&out, 0);
	dsn_init(&d);
	d.to = "";
	T_INTEQ(queue_dsn_build(&d, &out, NULL, &error), -1);
	dsn_init(&d);
	d.rcpt_count = 0;
	T_INTEQ(queue_dsn_build(&d, &out, NULL, &error), -1);
	dsn_init(&d);
	d.rcpts = &bad;
	d.rcpt_count = 1;
	T_INTEQ(queue_dsn_build(&d, &out, NULL, &error), -1);
	T_INTEQ(buf_len(&out), 0);
	buf_deinit(&out);

	/* a limit too small: error, out not half-filled */
	buf_init(&out, 100);
	dsn_init(&d);
	T_INTEQ(queue_dsn_build(&d, &out, NULL, &error), -1);
	T_INTEQ(buf_len(&out), 0);
	buf_deinit(&out);
}

static void
test_xtext(void)
{
	char out[64];

	T_ASSERT(queue_xtext_decode("rfc822;a+2Bb+40example.org", out, sizeof(out)));
	T_STREQ(out, "rfc822;a+b@example.org");
	T_ASSERT(queue_xtext_decode("", out, sizeof(out)));
	T_STREQ(out, "");
	T_ASSERT(!queue_xtext_decode("a+2", out, sizeof(out)));
	T_ASSERT(!queue_xtext_decode("a+2b", out, sizeof(out))); /* lower-case hex */
	T_ASSERT(!queue_xtext_decode("a=b", out, sizeof(out)));
	T_ASSERT(!queue_xtext_decode("a b", out, sizeof(out)));
	T_ASSERT(!queue_xtext_decode("a+0Db", out, sizeof(out))); /* CR */
	T_ASSERT(!queue_xtext_decode("abcdef", out, 6));
	T_ASSERT(queue_xtext_decode("abcde", out, 6));
}

/* RFC 6533: a UTF-8 recipient makes the report internationalized; the
 * scheduler's "host H said: REPLY (in reply to X)" gives Diagnostic-Code
 * "smtp; REPLY"; our own reasons are "X-Posthorn;". */
static void
test_dsn_international_and_diagnostics(void)
{
	static const struct queue_dsn_rcpt rcpts[] = {
		{ "j\xc3\xb6rg@remote.example", NULL, QUEUE_DSN_FAILED, "5.1.1",
		  "mx.remote.example",
		  "host mx.remote.example[192.0.2.1] said: 550 5.1.1 unknown (in reply to RCPT TO "
		  "command)", 1700000000, 0 },
		{ "carl@remote.example", NULL, QUEUE_DSN_FAILED, "5.4.4", NULL,
		  "Host or domain name not found", 0, 0 },
	};
	struct queue_dsn d;
	struct buf out;
	const char *error = NULL;
	bool eightbit = false;
	struct mime_part *root;
	const struct mime_part *p;

	dsn_init(&d);
	d.rcpts = rcpts;
	buf_init(&out, 0);
	T_INTEQ(queue_dsn_build(&d, &out, &eightbit, &error), 0);
	T_ASSERT(eightbit);
	T_ASSERT(all_crlf(&out));
	T_ASSERT(has(&out, "report-type=global-delivery-status;"));
	T_ASSERT(has(&out, "Content-Type: message/global-delivery-status\r\n"));
	T_ASSERT(has(&out, "Final-Recipient: utf-8; j\xc3\xb6rg@remote.example\r\n"));
	T_ASSERT(has(&out, "Final-Recipient: rfc822; carl@remote.example\r\n"));
	T_ASSERT(has(&out, "Diagnostic-Code: smtp; 550 5.1.1 unknown\r\n"));
	T_ASSERT(has(&out, "Diagnostic-Code: X-Posthorn; Host or domain name not found\r\n"));
	/* the human-readable part keeps the whole story */
	T_ASSERT(has(&out, "said: 550 5.1.1 unknown (in reply to RCPT TO command)"));
	T_ASSERT(has(&out, "Content-Type: message/global\r\n"));
	root = mime_parse_message(buf_data(&out), buf_len(&out), NULL);
	T_ASSERT(root != NULL && root->n_children == 3);
	p = mime_part_child(root, 2);
	T_ASSERT(p != NULL && strcmp(p->content_type.subtype, "global-delivery-status") == 0);
	mime_part_free(&root);

	/* headers only: message/global-headers; the flag alone also makes it global */
	d.rcpts = two_rcpts;
	d.smtputf8 = true;
	d.headers_only = true;
	buf_reset(&out);
	T_INTEQ(queue_dsn_build(&d, &out, &eightbit, &error), 0);
	T_ASSERT(has(&out, "Content-Type: message/global-headers\r\n"));
	T_ASSERT(has(&out, "Final-Recipient: rfc822; bob@remote.example\r\n"));
	/* not in the scheduler's form: the text as it is */
	T_ASSERT(has(&out, "Diagnostic-Code: smtp; 550 5.1.1 <bob@remote.example>: no such  user"));
	buf_deinit(&out);
}

static const struct test tests[] = {
	TEST_ENTRY(test_dsn_failure_structure),
	TEST_ENTRY(test_dsn_headers_only),
	TEST_ENTRY(test_dsn_combined_and_success),
	TEST_ENTRY(test_dsn_delay),
	TEST_ENTRY(test_dsn_boundary_avoids_content),
	TEST_ENTRY(test_dsn_bad_arguments),
	TEST_ENTRY(test_xtext),
	TEST_ENTRY(test_dsn_international_and_diagnostics),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("queue-dsn", tests);
}
