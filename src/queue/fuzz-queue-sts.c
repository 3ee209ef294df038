/*
 * fuzz-queue-sts.c - libFuzzer target for the MTA-STS readers (queue-sts.c):
 * the input as a policy file (whole, and split at its first byte's value),
 * as a _mta-sts TXT record, and as the HTTP response of a policy fetch.
 *
 * Checks beyond "no crash": both ways of feeding the policy agree; a policy
 * read has at most QUEUE_STS_MX_MAX lower-case patterns and a max_age within
 * the limit; every pattern matches a host built from it; a TXT id is 1 to 32
 * letters and digits; an HTTP response taken has status 200 and a body
 * inside the input, at its end, within QUEUE_STS_POLICY_MAX and without NUL.
 */
#include "queue/queue-sts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	struct queue_sts_policy *a = mem_zalloc(sizeof(*a));
	struct queue_sts_policy *b = mem_zalloc(sizeof(*b));
	struct queue_sts_parser *p = mem_zalloc(sizeof(*p));
	char id[QUEUE_STS_ID_MAX + 1];
	const char *error = NULL;
	size_t cut = size > 0 ? data[0] % (size + 1) : 0;
	int ra, rb;

	ra = queue_sts_policy_parse(data, size, a, &error);
	queue_sts_parser_init(p);
	rb = queue_sts_parser_feed(p, data, cut, &error);
	if (rb == 0)
		rb = queue_sts_parser_feed(p, data + cut, size - cut, &error);
	if (rb == 0)
		rb = queue_sts_parser_finish(p, b, &error);
	check(ra == rb);
	if (ra == 1) {
		check(memcmp(a, b, sizeof(*a)) == 0);
		check(a->nmx <= QUEUE_STS_MX_MAX && a->max_age <= QUEUE_STS_MAX_AGE_MAX);
		for (size_t i = 0; i < a->nmx; i++) {
			char host[QUEUE_STS_MX_LEN + 8];
			const char *pat = a->mx[i];

			for (const char *c = pat; *c != '\0'; c++)
				check(!(*c >= 'A' && *c <= 'Z'));
			snprintf(host, sizeof(host), "%s%s", pat[0] == '*' ? "x" : "",
				 pat[0] == '*' ? pat + 1 : pat);
			check(strlen(host) > QUEUE_STS_MX_LEN || queue_sts_mx_match(a, host));
		}
	}
	if (queue_sts_txt_parse(data, size, id, &error) == 1) {
		size_t n = strlen(id);

		check(n >= 1 && n <= QUEUE_STS_ID_MAX);
	}
	{
		const uint8_t *body = NULL;
		size_t blen = 0;
		unsigned status = 0;

		if (queue_sts_http_response(data, size, &status, &body, &blen, &error) == 1) {
			check(status == 200 && blen <= QUEUE_STS_POLICY_MAX);
			check(body >= data && body + blen == data + size);
			check(memchr(body, '\0', blen) == NULL);
		} else {
			check(body == NULL && blen == 0);
			check(status == 0 || (status >= 100 && status <= 599));
		}
	}
	mem_free(&a);
	mem_free(&b);
	mem_free(&p);
	return 0;
}
