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
