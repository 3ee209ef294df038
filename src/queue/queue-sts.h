/*
 * queue-sts.h - MTA-STS (RFC 8461) without I/O: the _mta-sts TXT record
 * (3.1), the policy file (3.2) read incrementally, and matching an MX host
 * against the policy's patterns (4.1).
 *
 * Does not: look up the TXT record, fetch the policy over HTTPS, cache it
 * or decide what to do with a host (serve-queue-sts.c and
 * serve-queue-tls.c do). Pure functions, no globals, no logging; any split
 * of the policy's bytes over queue_sts_parser_feed() calls gives the same
 * result.
 *
 * Limits: the policy file at most QUEUE_STS_POLICY_MAX octets (RFC 8461 3.3
 * lets senders stop at 64 KiB), a line at most QUEUE_STS_LINE_MAX, at most
 * QUEUE_STS_MX_MAX mx patterns (more make the policy invalid rather than be
 * cut, which could turn legitimate hosts away), max_age clamped to
 * QUEUE_STS_MAX_AGE_MAX (3.2: "a maximum value of 31557600").
 */
#ifndef QUEUE_QUEUE_STS_H
#define QUEUE_QUEUE_STS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUEUE_STS_POLICY_MAX 65536u
#define QUEUE_STS_LINE_MAX 1024u
#define QUEUE_STS_MX_MAX 64u
#define QUEUE_STS_MX_LEN 253u /* longest host name pattern, without the NUL */
#define QUEUE_STS_MAX_AGE_MAX 31557600u
#define QUEUE_STS_ID_MAX 32u

enum queue_sts_mode {
	QUEUE_STS_MODE_NONE,    /* no policy in force (RFC 8461 5) */
	QUEUE_STS_MODE_TESTING, /* report only: deliver as without a policy */
	QUEUE_STS_MODE_ENFORCE, /* only matching MX hosts, PKIX-verified TLS */
};

struct queue_sts_policy {
	enum queue_sts_mode mode;
	uint32_t max_age;                          /* seconds */
	size_t nmx;
	char mx[QUEUE_STS_MX_MAX][QUEUE_STS_MX_LEN + 1]; /* lower case, "*.dom" or "host" */
};

/* The incremental reader of a policy file (RFC 8461 3.2). Embed it and
 * queue_sts_parser_init() it; no resources to free. */
struct queue_sts_parser {
	char line[QUEUE_STS_LINE_MAX + 1];
	size_t line_len;
	size_t total;
	bool overflow;  /* the current line is too long */
	const char *error;
	bool have_version, have_mode, have_max_age;
	struct queue_sts_policy policy;
};

void queue_sts_parser_init(struct queue_sts_parser *parser);
/* Feed the next len octets of the policy. 0 = fine so far, -1 = invalid
 * (with *error_r, static text; every later call fails the same way). */
int queue_sts_parser_feed(struct queue_sts_parser *parser, const uint8_t *data, size_t len,
			  const char **error_r);
/* End of the policy: 1 with *policy_r filled (a copy), or -1 with *error_r
 * (missing version/mode/max_age, no mx for enforce or testing, ...). */
int queue_sts_parser_finish(struct queue_sts_parser *parser, struct queue_sts_policy *policy_r,
			    const char **error_r);
/* The whole policy at once: the two calls above. */
int queue_sts_policy_parse(const uint8_t *data, size_t len, struct queue_sts_policy *policy_r,
			   const char **error_r);

/* The TXT record of _mta-sts.DOMAIN (RFC 8461 3.1), its strings joined:
 * 1 with id_r set to the id (1 to 32 letters and digits), 0 when the record
 * is not an MTA-STS one (does not start with "v=STSv1"; the caller ignores
 * it), -1 with *error_r when it starts so but is invalid. */
int queue_sts_txt_parse(const uint8_t *txt, size_t len, char id_r[QUEUE_STS_ID_MAX + 1],
			const char **error_r);

/* Is host (presentation form, any case, trailing dot allowed) matched by
 * one of the policy's mx patterns (RFC 8461 4.1: exact, or "*." and
 * exactly one more label in front)? */
bool queue_sts_mx_match(const struct queue_sts_policy *policy, const char *host);

/* "none", "testing", "enforce" (static). */
const char *queue_sts_mode_name(enum queue_sts_mode mode);

/* Longest header section of a policy fetch's HTTP response (with the
 * status line and the empty line). */
#define QUEUE_STS_HEADER_MAX 16384u

/*
 * The complete HTTP/1.x response to the policy fetch (RFC 8461 3.3), read
 * until the server closed: 1 with *body_r (pointing into data) and
 * *body_len_r the policy file, or -1 with *error_r (static text).
 * *status_r is the status code once the status line parsed, else 0.
 * Checked exactly: the status line (RFC 9112 4: "HTTP/1.D 3DIGIT" then SP
 * or its end) with status 200 (3xx redirects are not followed, 3.3); every
 * header line "token:value" ending in CRLF, without control characters or
 * obsolete folding; Content-Type, when present once, text/plain with
 * optional parameters; Content-Length, when present (repeats must agree),
 * digits only and equal to the body's length; no Transfer-Encoding; the
 * header section within QUEUE_STS_HEADER_MAX; the body within
 * QUEUE_STS_POLICY_MAX and without NUL.
 */
int queue_sts_http_response(const uint8_t *data, size_t len, unsigned *status_r,
			    const uint8_t **body_r, size_t *body_len_r, const char **error_r);

#endif
