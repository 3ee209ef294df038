/*
 * test-queue-sts.c - MTA-STS parsing (queue-sts.c): policies fed whole,
 * byte by byte and at every split point must agree; the RFC 8461 3.2
 * fields, limits and errors; TXT records (3.1); MX pattern matching (4.1);
 * the HTTP response of the policy fetch (3.3), checked whole.
 */
#include "queue/queue-sts.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "core/test.h"

/* Parse text whole, byte by byte, and split at every point: the same
 * verdict and policy each way. Returns the whole-parse result. */
static int
parse_all_ways(const char *text, struct queue_sts_policy *policy_r, const char **error_r)
{
	size_t len = strlen(text);
	struct queue_sts_policy *whole = mem_zalloc(sizeof(*whole));
	struct queue_sts_policy *other = mem_zalloc(sizeof(*other));
	struct queue_sts_parser *p = mem_zalloc(sizeof(*p));
	const char *e2 = NULL;
	int ret = queue_sts_policy_parse((const uint8_t *)text, len, whole, error_r);

	/* one byte at a time */
	queue_sts_parser_init(p);
	int r2 = 0;

	for (size_t i = 0; i < len && r2 == 0; i++)
		r2 = queue_sts_parser_feed(p, (const uint8_t *)text + i, 1, &e2);
	if (r2 == 0)
		r2 = queue_sts_parser_finish(p, other, &e2);
	T_INTEQ(r2, ret);
	if (ret == 1 && r2 == 1)
		T_ASSERT(memcmp(whole, other, sizeof(*whole)) == 0);
	else if (ret < 0 && r2 < 0)
		T_STREQ(e2, *error_r);
	/* every split into two pieces */
	for (size_t cut = 0; cut <= len; cut++) {
		queue_sts_parser_init(p);
		memset(other, 0, sizeof(*other));
		r2 = queue_sts_parser_feed(p, (const uint8_t *)text, cut, &e2);
		if (r2 == 0)
			r2 = queue_sts_parser_feed(p, (const uint8_t *)text + cut, len - cut, &e2);
		if (r2 == 0)
			r2 = queue_sts_parser_finish(p, other, &e2);
		if (!T_INTEQ(r2, ret))
			break;
		if (ret == 1 && memcmp(whole, other, sizeof(*whole)) != 0) {
			T_ASSERT(!"split changed the policy");
			break;
		}
	}
	if (policy_r != NULL)
		*policy_r = *whole;
	mem_free(&whole);
	mem_free(&other);
	mem_free(&p);
	return ret;
}

static void
test_sts_policy_ok(void)
{
	struct queue_sts_policy *pol = mem_zalloc(sizeof(*pol));
	const char *error = NULL;

	/* RFC 8461 3.2's example, CRLF */
	T_INTEQ(parse_all_ways("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
			       "mx: *.example.net\r\nmx: backupmx.example.com\r\n"
			       "max_age: 604800\r\n",
			       pol, &error),
		1);
	T_INTEQ(pol->mode, QUEUE_STS_MODE_ENFORCE);
	T_INTEQ(pol->max_age, 604800);
	T_INTEQ(pol->nmx, 3);
	T_STREQ(pol->mx[1], "*.example.net");
	/* LF only, no final terminator, blanks around values, unknown fields,
	 * upper-case mx lower-cased, a repeated mode keeps the first */
	T_INTEQ(parse_all_ways("version:STSv1\nmode:   testing \nfoo_bar: whatever\n"
			       "mx: MX1.Example.ORG\nmode: enforce\nmax_age:86400",
			       pol, &error),
		1);
	T_INTEQ(pol->mode, QUEUE_STS_MODE_TESTING);
	T_STREQ(pol->mx[0], "mx1.example.org");
	T_INTEQ(pol->max_age, 86400);
	/* mode none needs no mx; max_age clamped to a year */
	T_INTEQ(parse_all_ways("version: STSv1\nmode: none\nmax_age: 9999999999\n", pol, &error),
		1);
	T_INTEQ(pol->mode, QUEUE_STS_MODE_NONE);
	T_INTEQ(pol->max_age, QUEUE_STS_MAX_AGE_MAX);
	T_STREQ(queue_sts_mode_name(QUEUE_STS_MODE_ENFORCE), "enforce");
	mem_free(&pol);
}

static void
bad(const char *text, const char *want)
{
	const char *error = NULL;

	T_INTEQ(parse_all_ways(text, NULL, &error), -1);
	if (T_ASSERT(error != NULL) && !T_ASSERT(strstr(error, want) != NULL))
		fprintf(stderr, "  got \"%s\", want \"%s\"\n", error, want);
}

static void
test_sts_policy_bad(void)
{
	bad("mode: enforce\nmx: a.example\nmax_age: 1\n", "no version");
	bad("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n", "version");
	bad("version: stsv1\nmode: enforce\nmx: a.example\nmax_age: 1\n", "version");
	bad("version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n", "mode");
	bad("version: STSv1\nmx: a.example\nmax_age: 1\n", "no mode");
	bad("version: STSv1\nmode: enforce\nmx: a.example\n", "no max_age");
	bad("version: STSv1\nmode: enforce\nmax_age: 1\n", "no mx");
	bad("version: STSv1\nmode: testing\nmax_age: 1\n", "no mx");
	bad("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", "max_age");
	bad("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901\n", "max_age");
	bad("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1x\n", "max_age");
	bad("version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n", "mx pattern");
	bad("version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n", "mx pattern");
	bad("version: STSv1\nmode: enforce\nmx: *.\nmax_age: 1\n", "mx pattern");
	bad("version: STSv1\nmode: enforce\nmx: a_b.example\nmax_age: 1\n", "mx pattern");
	bad("version: STSv1\nmode: enforce\nmx:\nmax_age: 1\n", "mx pattern");
	bad("version: STSv1\nnot a field\n", "key: value");
	bad("version: STSv1\n: value\n", "key: value");
	/* a bare CR is no line end */
	bad("version: STSv1\nmode: enforce\rmx: a.example\nmax_age: 1\n", "control");
	bad("version: STSv1\nx: a\001b\n", "control");
}

static void
test_sts_policy_limits(void)
{
	struct queue_sts_parser *p = mem_zalloc(sizeof(*p));
	struct queue_sts_policy *pol = mem_zalloc(sizeof(*pol));
	char *big = mem_alloc(QUEUE_STS_POLICY_MAX + 100);
	const char *error = NULL;
	size_t n = 0;

	/* a line of exactly the limit is fine, one more is not */
	queue_sts_parser_init(p);
	memset(big, 'x', QUEUE_STS_LINE_MAX);
	memcpy(big, "other:", 6);
	big[QUEUE_STS_LINE_MAX] = '\n';
	T_INTEQ(queue_sts_parser_feed(p, (const uint8_t *)big, QUEUE_STS_LINE_MAX + 1, &error), 0);
	queue_sts_parser_init(p);
	big[QUEUE_STS_LINE_MAX] = 'x';
	big[QUEUE_STS_LINE_MAX + 1] = '\n';
	T_INTEQ(queue_sts_parser_feed(p, (const uint8_t *)big, QUEUE_STS_LINE_MAX + 2, &error), -1);
	T_ASSERT(strstr(error, "too long") != NULL);
	/* ... also when it is the last line */
	queue_sts_parser_init(p);
	T_INTEQ(queue_sts_parser_feed(p, (const uint8_t *)big, QUEUE_STS_LINE_MAX + 1, &error), 0);
	T_INTEQ(queue_sts_parser_finish(p, pol, &error), -1);
	/* more than 64 KiB in all */
	queue_sts_parser_init(p);
	for (size_t i = 0; i < QUEUE_STS_POLICY_MAX + 100; i++)
		big[i] = (i % 64) == 63 ? '\n' : 'a';
	T_INTEQ(queue_sts_parser_feed(p, (const uint8_t *)big, QUEUE_STS_POLICY_MAX + 100, &error),
		-1);
	T_ASSERT(strstr(error, "64 KiB") != NULL);
	/* the error sticks */
	T_INTEQ(queue_sts_parser_feed(p, (const uint8_t *)"\n", 1, &error), -1);
	/* too many mx patterns */
	n = (size_t)snprintf(big, 200, "version: STSv1\nmode: enforce\nmax_age: 1\n");
	for (unsigned i = 0; i <= QUEUE_STS_MX_MAX; i++)
		n += (size_t)snprintf(big + n, 100, "mx: mx%u.example\n", i);
	T_INTEQ(queue_sts_policy_parse((const uint8_t *)big, n, pol, &error), -1);
	T_ASSERT(strstr(error, "too many") != NULL);
	mem_free(&big);
	mem_free(&p);
	mem_free(&pol);
}

static int
txt(const char *text, char id[QUEUE_STS_ID_MAX + 1])
{
	const char *error = NULL;

	id[0] = '\0';
	return queue_sts_txt_parse((const uint8_t *)text, strlen(text), id, &error);
}

static void
test_sts_txt(void)
{
	char id[QUEUE_STS_ID_MAX + 1];

	T_INTEQ(txt("v=STSv1; id=20160831085700Z;", id), 1);
	T_STREQ(id, "20160831085700Z");
	T_INTEQ(txt("v=STSv1;id=abc", id), 1);
	T_STREQ(id, "abc");
	T_INTEQ(txt("v=STSv1 ; id=abc ; ext=1", id), 1);
	T_STREQ(id, "abc");
	T_INTEQ(txt("v=STSv1; ext=x; id=12345678901234567890123456789012", id), 1);
	T_INTEQ(strlen(id), 32);
	/* not MTA-STS records: ignored */
	T_INTEQ(txt("v=spf1 -all", id), 0);
	T_INTEQ(txt("v=STSv10; id=1", id), 0);
	T_INTEQ(txt("", id), 0);
	/* MTA-STS but invalid */
	T_INTEQ(txt("v=STSv1;", id), -1);
	T_INTEQ(txt("v=STSv1; id=", id), -1);
	T_INTEQ(txt("v=STSv1; id=a-b", id), -1);
	T_INTEQ(txt("v=STSv1; id=123456789012345678901234567890123", id), -1);
	T_INTEQ(txt("v=STSv1; id=1; id=2", id), -1);
	T_INTEQ(txt("v=STSv1 id=1", id), -1);
	T_INTEQ(txt("v=STSv1; junk", id), -1);
}

static void
test_sts_mx_match(void)
{
	struct queue_sts_policy *pol = mem_zalloc(sizeof(*pol));
	const char *error = NULL;
	static const char text[] = "version: STSv1\nmode: enforce\nmax_age: 1\n"
				   "mx: mail.example.com\nmx: *.example.net\n";

	T_INTEQ(queue_sts_policy_parse((const uint8_t *)text, sizeof(text) - 1, pol, &error), 1);
	T_ASSERT(queue_sts_mx_match(pol, "mail.example.com"));
	T_ASSERT(queue_sts_mx_match(pol, "MAIL.Example.COM."));
	T_ASSERT(!queue_sts_mx_match(pol, "mail2.example.com"));
	T_ASSERT(!queue_sts_mx_match(pol, "x.mail.example.com"));
	T_ASSERT(queue_sts_mx_match(pol, "mx1.example.net"));
	/* RFC 8461 4.1: the wildcard is one label, not zero or two */
	T_ASSERT(!queue_sts_mx_match(pol, "example.net"));
	T_ASSERT(!queue_sts_mx_match(pol, "a.b.example.net"));
	T_ASSERT(!queue_sts_mx_match(pol, ".example.net"));
	T_ASSERT(!queue_sts_mx_match(pol, ""));
	T_ASSERT(!queue_sts_mx_match(pol, "xexample.net"));
	mem_free(&pol);
}

/* The HTTP response of the policy fetch (RFC 8461 3.3): whole inputs, the
 * checks are exact. */
#define POL "version: STSv1\r\nmode: testing\r\nmx: mx.example\r\nmax_age: 60\r\n"

static void
test_sts_http_response(void)
{
	static const struct {
		const char *in;
		int ret;
		unsigned status;
		const char *result; /* the body when 1, the error when -1 */
	} cases[] = {
		{ "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 60\r\n\r\n" POL,
		  1, 200, POL },
		{ "HTTP/1.1 200 OK\r\ncontent-type:TEXT/Plain ; charset=utf-8\r\n"
		  "Server: x\r\n\r\n" POL, 1, 200, POL },
		{ "HTTP/1.1 200\r\n\r\n", 1, 200, "" },
		{ "HTTP/1.1 200 \r\nContent-Length: 2\r\nContent-Length:2 \r\n\r\nab", 1, 200,
		  "ab" },
		{ "HTTP/1.1 200 OK\r\nX-Empty:\r\n\r\nab", 1, 200, "ab" },
		/* status line */
		{ "HTTP/1.1 2000 OK\r\n\r\n", -1, 0, "malformed HTTP status line" },
		{ "HTTP/1.1 20 OK\r\n\r\n", -1, 0, "malformed HTTP status line" },
		{ "HTTP/2 200 OK\r\n\r\n", -1, 0, "malformed HTTP status line" },
		{ "HTTP/1.1  200 OK\r\n\r\n", -1, 0, "malformed HTTP status line" },
		{ "http/1.1 200 OK\r\n\r\n", -1, 0, "malformed HTTP status line" },
		{ "HTTP/1.1 200 O\x01K\r\n\r\n", -1, 200,
		  "control character in the HTTP status line" },
		{ "HTTP/1.1 301 Moved\r\nLocation: https://x/\r\n\r\n", -1, 301,
		  "HTTP status is not 200 (redirects are not followed)" },
		{ "HTTP/1.1 404 Not Found\r\n\r\n", -1, 404,
		  "HTTP status is not 200 (redirects are not followed)" },
		/* header fields */
		{ "HTTP/1.1 200 OK\r\nContent-Type: text/plainfoo\r\n\r\n", -1, 200,
		  "Content-Type is not text/plain" },
		{ "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n", -1, 200,
		  "Content-Type is not text/plain" },
		{ "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Type: text/plain\r\n\r\n",
		  -1, 200, "more than one Content-Type" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nab", -1, 200,
		  "invalid Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nab", -1, 200,
		  "invalid Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nab", -1, 200,
		  "invalid Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", -1, 200, "invalid Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551618\r\n\r\nab", -1, 200,
		  "invalid Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nab", -1, 200,
		  "conflicting Content-Length fields" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab", -1, 200,
		  "body length does not match Content-Length" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab", -1, 200,
		  "body length does not match Content-Length" },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n", -1,
		  200, "Transfer-Encoding is not supported" },
		{ "HTTP/1.1 200 OK\r\nContent-Type : text/plain\r\n\r\n", -1, 200,
		  "malformed HTTP header line" },
		{ "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", -1, 200, "malformed HTTP header line" },
		{ "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", -1, 200,
		  "malformed HTTP header line" },
		{ "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", -1, 200,
		  "obsolete HTTP header line folding" },
		{ "HTTP/1.1 200 OK\r\nX: a\nContent-Type: text/html\r\n\r\n", -1, 200,
		  "control character in an HTTP header field" },
		{ "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", -1, 200,
		  "control character in an HTTP header field" },
		/* incomplete */
		{ "", -1, 0, "incomplete HTTP response" },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", -1, 0, "incomplete HTTP response" },
		{ "HTTP/1.1 200 OK\n\nab", -1, 0, "incomplete HTTP response" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const uint8_t *body = (const uint8_t *)"x";
		size_t blen = 99;
		unsigned status = 999;
		const char *error = NULL;
		int r = queue_sts_http_response((const uint8_t *)cases[i].in, strlen(cases[i].in),
						&status, &body, &blen, &error);

		T_INTEQ(r, cases[i].ret);
		T_INTEQ(status, cases[i].status);
		if (r == 1) {
			T_MEMEQ(body, blen, cases[i].result, strlen(cases[i].result));
		} else {
			T_STREQ(error, cases[i].result);
			T_ASSERT(body == NULL && blen == 0);
		}
	}
}

/* A response cut anywhere (the server closed early) is never taken when it
 * has a Content-Length; a NUL and the size limits are refused. */
static void
test_sts_http_response_limits(void)
{
	static const char full[] =
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 60\r\n\r\n" POL;
	size_t flen = strlen(full);
	const uint8_t *body;
	size_t blen;
	unsigned status;
	const char *error = NULL;
	char *big;
	size_t n;

	for (size_t cut = 0; cut < flen; cut++)
		T_INTEQ(queue_sts_http_response((const uint8_t *)full, cut, &status, &body, &blen,
						&error), -1);
	T_INTEQ(queue_sts_http_response((const uint8_t *)full, flen, &status, &body, &blen,
					&error), 1);
	T_INTEQ(queue_sts_http_response((const uint8_t *)"HTTP/1.1 200 OK\r\n\r\na\0b", 22,
					&status, &body, &blen, &error), -1);
	T_STREQ(error, "NUL in the policy");
	/* a body of QUEUE_STS_POLICY_MAX octets is fine, one more is not */
	n = 19 + QUEUE_STS_POLICY_MAX + 1;
	big = mem_alloc(n);
	memcpy(big, "HTTP/1.1 200 OK\r\n\r\n", 19);
	memset(big + 19, 'a', n - 19);
	T_INTEQ(queue_sts_http_response((const uint8_t *)big, n - 1, &status, &body, &blen,
					&error), 1);
	T_INTEQ(blen, QUEUE_STS_POLICY_MAX);
	T_INTEQ(queue_sts_http_response((const uint8_t *)big, n, &status, &body, &blen, &error),
		-1);
	T_STREQ(error, "policy larger than 64 KiB");
	mem_free(&big);
	/* a header section longer than QUEUE_STS_HEADER_MAX */
	n = QUEUE_STS_HEADER_MAX + 64;
	big = mem_alloc(n);
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(big + 20, 'a', n - 20);
	memcpy(big + n - 4, "\r\n\r\n", 4);
	T_INTEQ(queue_sts_http_response((const uint8_t *)big, n, &status, &body, &blen, &error),
		-1);
	T_STREQ(error, "HTTP header section too long");
	mem_free(&big);
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_sts_policy_ok),
		TEST_ENTRY(test_sts_policy_bad),
		TEST_ENTRY(test_sts_policy_limits),
		TEST_ENTRY(test_sts_txt),
		TEST_ENTRY(test_sts_mx_match),
		TEST_ENTRY(test_sts_http_response),
		TEST_ENTRY(test_sts_http_response_limits),
		{ NULL, NULL },
	};

	return test_main("queue-sts", tests);
}
