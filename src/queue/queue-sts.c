/*
 * queue-sts.c - MTA-STS (RFC 8461) TXT record and policy parsing, and MX
 * pattern matching; see queue-sts.h for the contract and the limits.
 *
 * The policy reader keeps one line at a time (bounded) and handles each
 * complete line at its LF, so feeding byte by byte or all at once is the
 * same. Field names and the values of version and mode are
 * case-sensitive (RFC 8461 3.2 ABNF: %s"..."); unknown fields are ignored
 * (3.2); a repeated field other than mx keeps its first value.
 *
 * The HTTP response of the policy fetch is checked whole (the fetch reads
 * until the server closes, HTTP/1.0 style), so it has no incremental form.
 *
 * Does not: any I/O, logging or allocation.
 */
#include "queue/queue-sts.h"

#include <string.h>

static bool
sts_is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
sts_is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static unsigned char
sts_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

const char *
queue_sts_mode_name(enum queue_sts_mode mode)
{
	switch (mode) {
	case QUEUE_STS_MODE_TESTING:
		return "testing";
	case QUEUE_STS_MODE_ENFORCE:
		return "enforce";
	case QUEUE_STS_MODE_NONE:
		break;
	}
	return "none";
}

void
queue_sts_parser_init(struct queue_sts_parser *p)
{
	memset(p, 0, sizeof(*p));
}

/* RFC 8461 3.2 sts-policy-mx-value: ["*."] Domain (letters, digits,
 * hyphens, dots; no empty label). Stored lower-case. */
static bool
sts_mx_pattern(const char *v, size_t len, char out[QUEUE_STS_MX_LEN + 1])
{
	size_t i = 0, label = 0;

	if (len == 0 || len > QUEUE_STS_MX_LEN)
		return false;
	if (len >= 2 && v[0] == '*' && v[1] == '.')
		i = 2;
	if (i == len)
		return false;
	for (size_t j = i; j < len; j++) {
		unsigned char c = (unsigned char)v[j];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!sts_is_alnum(c) && c != '-')
			return false;
		if (++label > 63)
			return false;
	}
	if (label == 0)
		return false;
	for (size_t j = 0; j < len; j++)
		out[j] = (char)sts_lower((unsigned char)v[j]);
	out[len] = '\0';
	return true;
}

static bool
sts_value_is(const char *v, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(v, want, len) == 0;
}

/* One complete line without its terminator. NULL = fine, else the error. */
static const char *
sts_line(struct queue_sts_parser *p, const char *line, size_t len)
{
	size_t k = 0, vs, ve;

	if (len == 0)
		return NULL; /* an empty line (e.g. the final one) carries nothing */
	/* field-name = ALPHA / DIGIT then ALPHA / DIGIT / "_" / "-" / "." */
	while (k < len && (sts_is_alnum((unsigned char)line[k]) || line[k] == '_' ||
			   line[k] == '-' || line[k] == '.'))
		k++;
	if (k == 0 || k >= len || line[k] != ':')
		return "a line is not \"key: value\"";
	vs = k + 1;
	while (vs < len && sts_is_wsp((unsigned char)line[vs]))
		vs++;
	ve = len;
	while (ve > vs && sts_is_wsp((unsigned char)line[ve - 1]))
		ve--;
	for (size_t j = vs; j < ve; j++) {
		unsigned char c = (unsigned char)line[j];

		if (c < 0x20 || c == 0x7f)
			return "a control character in a value";
	}
	const char *v = line + vs;
	size_t vlen = ve - vs;

	if (k == 7 && memcmp(line, "version", 7) == 0) {
		if (p->have_version)
			return NULL;
		if (!sts_value_is(v, vlen, "STSv1"))
			return "version is not STSv1";
		p->have_version = true;
	} else if (k == 4 && memcmp(line, "mode", 4) == 0) {
		if (p->have_mode)
			return NULL;
		if (sts_value_is(v, vlen, "enforce"))
			p->policy.mode = QUEUE_STS_MODE_ENFORCE;
		else if (sts_value_is(v, vlen, "testing"))
			p->policy.mode = QUEUE_STS_MODE_TESTING;
		else if (sts_value_is(v, vlen, "none"))
			p->policy.mode = QUEUE_STS_MODE_NONE;
		else
			return "mode is not enforce, testing or none";
		p->have_mode = true;
	} else if (k == 7 && memcmp(line, "max_age", 7) == 0) {
		uint64_t n = 0;

		if (p->have_max_age)
			return NULL;
		if (vlen == 0 || vlen > 10)
			return "max_age is not 1 to 10 digits";
		for (size_t j = 0; j < vlen; j++) {
			if (v[j] < '0' || v[j] > '9')
				return "max_age is not a number";
			n = n * 10 + (uint64_t)(v[j] - '0');
		}
		p->policy.max_age = n > QUEUE_STS_MAX_AGE_MAX ? QUEUE_STS_MAX_AGE_MAX : (uint32_t)n;
		p->have_max_age = true;
	} else if (k == 2 && memcmp(line, "mx", 2) == 0) {
		if (p->policy.nmx >= QUEUE_STS_MX_MAX)
			return "too many mx patterns";
		if (!sts_mx_pattern(v, vlen, p->policy.mx[p->policy.nmx]))
			return "an mx pattern is not a host name or \"*.\" domain";
		p->policy.nmx++;
	}
	/* other fields: ignored (RFC 8461 3.2) */
	return NULL;
}

int
queue_sts_parser_feed(struct queue_sts_parser *p, const uint8_t *data, size_t len,
		      const char **error_r)
{
	if (p->error == NULL && len > QUEUE_STS_POLICY_MAX - p->total)
		p->error = "the policy is larger than 64 KiB";
	for (size_t i = 0; i < len && p->error == NULL; i++) {
		char c = (char)data[i];

		p->total++;
		if (c != '\n') {
			if (p->line_len >= QUEUE_STS_LINE_MAX)
				p->overflow = true;
			else
				p->line[p->line_len++] = c;
			continue;
		}
		if (p->overflow) {
			p->error = "a line of the policy is too long";
			break;
		}
		/* RFC 8461 3.2: lines end in LF or CRLF */
		if (p->line_len > 0 && p->line[p->line_len - 1] == '\r')
			p->line_len--;
		p->error = sts_line(p, p->line, p->line_len);
		p->line_len = 0;
	}
	if (p->error != NULL) {
		*error_r = p->error;
		return -1;
	}
	return 0;
}

int
queue_sts_parser_finish(struct queue_sts_parser *p, struct queue_sts_policy *policy_r,
			const char **error_r)
{
	if (p->error == NULL && p->overflow)
		p->error = "a line of the policy is too long";
	if (p->error == NULL && p->line_len > 0) {
		/* the last line may lack its terminator (3.2: [sts-policy-term]) */
		if (p->line[p->line_len - 1] == '\r')
			p->line_len--;
		p->error = sts_line(p, p->line, p->line_len);
		p->line_len = 0;
	}
	if (p->error == NULL && !p->have_version)
		p->error = "no version field";
	if (p->error == NULL && !p->have_mode)
		p->error = "no mode field";
	if (p->error == NULL && !p->have_max_age)
		p->error = "no max_age field";
	if (p->error == NULL && p->policy.mode != QUEUE_STS_MODE_NONE && p->policy.nmx == 0)
		p->error = "no mx field";
	if (p->error != NULL) {
		*error_r = p->error;
		return -1;
	}
	*policy_r = p->policy;
	return 1;
}

int
queue_sts_policy_parse(const uint8_t *data, size_t len, struct queue_sts_policy *policy_r,
		       const char **error_r)
{
	struct queue_sts_parser p;

	queue_sts_parser_init(&p);
	if (queue_sts_parser_feed(&p, data, len, error_r) < 0)
		return -1;
	return queue_sts_parser_finish(&p, policy_r, error_r);
}

int
queue_sts_txt_parse(const uint8_t *txt, size_t len, char id_r[QUEUE_STS_ID_MAX + 1],
		    const char **error_r)
{
	size_t i = 0;
	bool have_id = false;

	/* RFC 8461 3.1: sts-text-record = sts-version 1*(sts-sep sts-field)
	 * [sts-sep]; sts-version = %s"v=STSv1" */
	if (len < 7 || memcmp(txt, "v=STSv1", 7) != 0)
		return 0;
	i = 7;
	if (i < len && txt[i] != ';' && !sts_is_wsp(txt[i]))
		return 0; /* "v=STSv10": not this version */
	while (i < len) {
		size_t ns, ne, vs, ve;

		/* sts-sep = *WSP ";" *WSP */
		while (i < len && sts_is_wsp(txt[i]))
			i++;
		if (i >= len)
			break;
		if (txt[i] != ';') {
			*error_r = "fields are not separated by \";\"";
			return -1;
		}
		i++;
		while (i < len && sts_is_wsp(txt[i]))
			i++;
		if (i >= len)
			break;
		ns = i;
		while (i < len && (sts_is_alnum(txt[i]) || txt[i] == '_' || txt[i] == '-' ||
				   txt[i] == '.'))
			i++;
		ne = i;
		if (ne == ns || i >= len || txt[i] != '=') {
			*error_r = "a field is not \"name=value\"";
			return -1;
		}
		i++;
		vs = i;
		/* ext-value = 1*(%x21-3A / %x3C / %x3E-7E) */
		while (i < len && txt[i] > 0x20 && txt[i] < 0x7f && txt[i] != ';' && txt[i] != '=')
			i++;
		ve = i;
		if (ne - ns == 2 && memcmp(txt + ns, "id", 2) == 0) {
			if (have_id) {
				*error_r = "more than one id";
				return -1;
			}
			if (ve == vs || ve - vs > QUEUE_STS_ID_MAX) {
				*error_r = "the id is not 1 to 32 letters and digits";
				return -1;
			}
			for (size_t j = vs; j < ve; j++) {
				if (!sts_is_alnum(txt[j])) {
					*error_r = "the id is not 1 to 32 letters and digits";
					return -1;
				}
			}
			memcpy(id_r, txt + vs, ve - vs);
			id_r[ve - vs] = '\0';
			have_id = true;
		} else if (ve == vs) {
			*error_r = "a field has no value";
			return -1;
		}
	}
	if (!have_id) {
		*error_r = "no id field";
		return -1;
	}
	return 1;
}

bool
queue_sts_mx_match(const struct queue_sts_policy *policy, const char *host)
{
	char h[QUEUE_STS_MX_LEN + 2];
	size_t len = strlen(host);

	if (len > 0 && host[len - 1] == '.')
		len--;
	if (len == 0 || len > QUEUE_STS_MX_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		h[i] = (char)sts_lower((unsigned char)host[i]);
	h[len] = '\0';
	for (size_t i = 0; i < policy->nmx; i++) {
		const char *pat = policy->mx[i];

		if (pat[0] == '*' && pat[1] == '.') {
			/* RFC 8461 4.1: the wildcard covers exactly one label */
			const char *dot = strchr(h, '.');

			if (dot != NULL && dot != h && strcmp(dot + 1, pat + 2) == 0)
				return true;
		} else if (strcmp(h, pat) == 0) {
			return true;
		}
	}
	return false;
}

/* ---- the HTTP response of the policy fetch (RFC 8461 3.3) ---- */

/* RFC 9110 5.6.2 tchar */
static bool
http_is_tchar(unsigned char c)
{
	return sts_is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Does [s, s + len) equal the lower-case ASCII word, ignoring case? */
static bool
http_eq_ci(const uint8_t *s, size_t len, const char *word)
{
	size_t n = strlen(word);

	if (len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (sts_lower(s[i]) != (unsigned char)word[i])
			return false;
	}
	return true;
}

/* Content-Type value (OWS trimmed): "text/plain" then OWS and ";params", or
 * nothing (RFC 9110 8.3.1; type and subtype are case-insensitive). */
static bool
http_type_is_text_plain(const uint8_t *v, size_t len)
{
	size_t i = 10;

	if (len < 10 || !http_eq_ci(v, 10, "text/plain"))
		return false;
	while (i < len && sts_is_wsp(v[i]))
		i++;
	return i == len || v[i] == ';';
}

/* Content-Length value: 1*DIGIT (RFC 9110 8.6), no sign, no list; values
 * above 2^32 are refused (far beyond any policy). */
static bool
http_parse_length(const uint8_t *v, size_t len, uint64_t *n_r)
{
	uint64_t n = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		n = n * 10 + (uint64_t)(v[i] - '0');
		if (n > UINT32_MAX)
			return false;
	}
	*n_r = n;
	return true;
}

int
queue_sts_http_response(const uint8_t *data, size_t len, unsigned *status_r,
			const uint8_t **body_r, size_t *body_len_r, const char **error_r)
{
	const uint8_t *head_end, *line, *body;
	size_t head_len, llen, body_len;
	bool have_type = false, have_length = false;
	uint64_t clen = 0;

	*status_r = 0;
	*body_r = NULL;
	*body_len_r = 0;
	head_end = memmem(data, len < QUEUE_STS_HEADER_MAX ? len : QUEUE_STS_HEADER_MAX,
			  "\r\n\r\n", 4);
	if (head_end == NULL) {
		*error_r = len >= QUEUE_STS_HEADER_MAX ? "HTTP header section too long"
						       : "incomplete HTTP response";
		return -1;
	}
	head_len = (size_t)(head_end - data) + 2; /* every line with its CRLF */
	/* the status line: HTTP-version SP status-code SP [reason-phrase] */
	llen = (size_t)((const uint8_t *)memmem(data, head_len, "\r\n", 2) - data);
	if (llen < 12 || memcmp(data, "HTTP/1.", 7) != 0 || data[7] < '0' || data[7] > '9' ||
	    data[8] != ' ' || data[9] < '1' || data[9] > '5' || data[10] < '0' ||
	    data[10] > '9' || data[11] < '0' || data[11] > '9' || (llen > 12 && data[12] != ' ')) {
		*error_r = "malformed HTTP status line";
		return -1;
	}
	*status_r = (unsigned)(data[9] - '0') * 100 + (unsigned)(data[10] - '0') * 10 +
		    (unsigned)(data[11] - '0');
	for (size_t i = 13; i < llen; i++) {
		if ((data[i] < 0x20 && data[i] != '\t') || data[i] == 0x7f) {
			*error_r = "control character in the HTTP status line";
			return -1;
		}
	}
	if (*status_r != 200) {
		*error_r = "HTTP status is not 200 (redirects are not followed)";
		return -1;
	}
	/* the header fields: field-name ":" OWS field-value OWS CRLF */
	for (line = data + llen + 2; line < data + head_len; line += llen + 2) {
		const uint8_t *v, *ve;
		size_t nlen = 0;

		llen = (size_t)((const uint8_t *)memmem(line, (size_t)(data + head_len - line),
							"\r\n", 2) - line);
		while (nlen < llen && http_is_tchar(line[nlen]))
			nlen++;
		if (nlen == 0 || nlen == llen || line[nlen] != ':') {
			*error_r = sts_is_wsp(line[0]) ? "obsolete HTTP header line folding"
						       : "malformed HTTP header line";
			return -1;
		}
		v = line + nlen + 1;
		ve = line + llen;
		for (const uint8_t *c = v; c < ve; c++) {
			if ((*c < 0x20 && *c != '\t') || *c == 0x7f) {
				*error_r = "control character in an HTTP header field";
				return -1;
			}
		}
		while (v < ve && sts_is_wsp(*v))
			v++;
		while (ve > v && sts_is_wsp(ve[-1]))
			ve--;
		if (http_eq_ci(line, nlen, "content-type")) {
			if (have_type) {
				*error_r = "more than one Content-Type";
				return -1;
			}
			have_type = true;
			if (!http_type_is_text_plain(v, (size_t)(ve - v))) {
				*error_r = "Content-Type is not text/plain";
				return -1;
			}
		} else if (http_eq_ci(line, nlen, "content-length")) {
			uint64_t n;

			if (!http_parse_length(v, (size_t)(ve - v), &n)) {
				*error_r = "invalid Content-Length";
				return -1;
			}
			if (have_length && n != clen) {
				*error_r = "conflicting Content-Length fields";
				return -1;
			}
			have_length = true;
			clen = n;
		} else if (http_eq_ci(line, nlen, "transfer-encoding")) {
			*error_r = "Transfer-Encoding is not supported";
			return -1;
		}
	}
	body = head_end + 4;
	body_len = (size_t)(data + len - body);
	if (have_length && clen != body_len) {
		*error_r = "body length does not match Content-Length";
		return -1;
	}
	if (body_len > QUEUE_STS_POLICY_MAX) {
		*error_r = "policy larger than 64 KiB";
		return -1;
	}
	if (memchr(body, '\0', body_len) != NULL) {
		*error_r = "NUL in the policy";
		return -1;
	}
	*body_r = body;
	*body_len_r = body_len;
	return 1;
}
