/*
 * smtp-address.c - RFC 5321 4.1.2 path parser and canonical formatter.
 *
 * A recursive-descent parser over a cursor (p, end). Each rule function
 * either advances the cursor past what it matched and returns 0, or sets
 * ap->error and returns -1; the caller then stops. The grammar, with the
 * RFC 6531 3.3 additions for UTF-8 (only with SMTP_ADDRESS_ALLOW_UTF8):
 *
 *   Local-part   = Dot-string / Quoted-string
 *   Dot-string   = Atom *("." Atom)            Atom = 1*atext (+ UTF8-non-ascii)
 *   Quoted-string = DQUOTE *(qtextSMTP / quoted-pairSMTP) DQUOTE
 *   Domain       = sub-domain *("." sub-domain)
 *   sub-domain   = Let-dig [Ldh-str]           (+ U-label)
 *   address-literal = "[" ( IPv4 / "IPv6:" IPv6 / General ) "]"
 *
 * Limits (RFC 5321 4.5.3.1) are checked on the transmitted form. Labels of an
 * ASCII domain are also held to 63 octets (RFC 1035 2.3.4).
 */
#include "smtp/smtp-address.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"

#define SMTP_DOMAIN_MAX_LABEL 63

struct addr_parser {
	const uint8_t *p, *end;
	unsigned flags;
	const struct smtp_address_limits *limits;
	const char *error;
	bool utf8;
};

void
smtp_address_limits_init_default(struct smtp_address_limits *limits)
{
	limits->max_localpart = SMTP_ADDRESS_DEFAULT_MAX_LOCALPART;
	limits->max_domain = SMTP_ADDRESS_DEFAULT_MAX_DOMAIN;
	limits->max_path = SMTP_ADDRESS_DEFAULT_MAX_PATH;
}

size_t
smtp_utf8_sequence_len(const uint8_t *p, const uint8_t *end)
{
	size_t avail = (size_t)(end - p), n;
	uint8_t lo = 0x80, hi = 0xbf;

	if (avail == 0)
		return 0;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;      /* no overlong forms */
		else if (p[0] == 0xed)
			hi = 0x9f;      /* no UTF-16 surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;      /* nothing above U+10FFFF */
	} else {
		return 0;
	}
	if (avail < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	}
	return n;
}

static bool
is_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool
smtp_is_atext(uint8_t c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* RFC 5321 4.1.2 qtextSMTP: %d32-33 / %d35-91 / %d93-126. */
static bool
is_qtext(uint8_t c)
{
	return c >= 32 && c <= 126 && c != '"' && c != '\\';
}

static int
fail(struct addr_parser *ap, const char *error)
{
	if (ap->error == NULL)
		ap->error = error;
	return -1;
}

/* Step over one non-ASCII UTF-8 character at ap->p (which is >= 0x80). */
static int
take_utf8(struct addr_parser *ap, struct buf *out)
{
	size_t n;

	if ((ap->flags & SMTP_ADDRESS_ALLOW_UTF8) == 0)
		return fail(ap, "Non-ASCII character in address without SMTPUTF8");
	n = smtp_utf8_sequence_len(ap->p, ap->end);
	if (n == 0)
		return fail(ap, "Malformed UTF-8 in address");
	if (out != NULL && buf_append(out, ap->p, n) < 0)
		return fail(ap, "Address too long");
	ap->p += n;
	ap->utf8 = true;
	return 0;
}

static int
parse_dot_string(struct addr_parser *ap, struct buf *out)
{
	for (;;) {
		const uint8_t *atom = ap->p;

		while (ap->p < ap->end) {
			if (smtp_is_atext(*ap->p)) {
				if (buf_append_byte(out, *ap->p) < 0)
					return fail(ap, "Local part too long");
				ap->p++;
			} else if (*ap->p >= 0x80) {
				if (take_utf8(ap, out) < 0)
					return -1;
			} else {
				break;
			}
		}
		if (ap->p == atom)
			return fail(ap, "Invalid local part");
		if (ap->p == ap->end || *ap->p != '.')
			return 0;
		if (buf_append_byte(out, '.') < 0)
			return fail(ap, "Local part too long");
		ap->p++;
	}
}

static int
parse_quoted_string(struct addr_parser *ap, struct buf *out)
{
	ap->p++;        /* the opening DQUOTE */
	while (ap->p < ap->end) {
		uint8_t c = *ap->p;

		if (c == '"') {
			ap->p++;
			return 0;
		}
		if (c >= 0x80) {
			if (take_utf8(ap, out) < 0)
				return -1;
			continue;
		}
		if (c == '\\') {
			/* quoted-pairSMTP = %d92 %d32-126 */
			if (ap->p + 1 == ap->end || ap->p[1] < 32 || ap->p[1] > 126)
				return fail(ap, "Invalid quoted pair in local part");
			c = ap->p[1];
			ap->p++;
		} else if (!is_qtext(c)) {
			return fail(ap, "Invalid character in quoted local part");
		}
		if (buf_append_byte(out, c) < 0)
			return fail(ap, "Local part too long");
		ap->p++;
	}
	return fail(ap, "Unterminated quoted local part");
}

static int
parse_local_part(struct addr_parser *ap, char **localpart_r)
{
	const uint8_t *start = ap->p;
	struct buf out;
	int ret;

	buf_init(&out, ap->limits->max_localpart);
	if (ap->p < ap->end && *ap->p == '"')
		ret = parse_quoted_string(ap, &out);
	else
		ret = parse_dot_string(ap, &out);
	if (ret == 0 && (size_t)(ap->p - start) > ap->limits->max_localpart)
		ret = fail(ap, "Local part too long");
	if (ret < 0) {
		buf_deinit(&out);
		return -1;
	}
	*localpart_r = buf_steal_str(&out);
	buf_deinit(&out);
	return 0;
}

/* sub-domain = Let-dig [Ldh-str]: no leading or trailing hyphen. */
static int
parse_subdomain(struct addr_parser *ap)
{
	const uint8_t *start = ap->p;
	bool ascii = true, hyphen = false;

	if (ap->p == ap->end || *ap->p == '-')
		return fail(ap, "Invalid domain");
	while (ap->p < ap->end) {
		uint8_t c = *ap->p;

		if (is_alnum(c) || c == '-') {
			hyphen = c == '-';
			ap->p++;
		} else if (c >= 0x80) {
			if (take_utf8(ap, NULL) < 0)
				return -1;
			ascii = false;
			hyphen = false;
		} else {
			break;
		}
	}
	if (ap->p == start || hyphen)
		return fail(ap, "Invalid domain");
	if (ascii && (size_t)(ap->p - start) > SMTP_DOMAIN_MAX_LABEL)
		return fail(ap, "Domain label too long");
	return 0;
}

static int
parse_domain(struct addr_parser *ap)
{
	const uint8_t *start = ap->p;

	for (;;) {
		if (parse_subdomain(ap) < 0)
			return -1;
		if (ap->p == ap->end || *ap->p != '.')
			break;
		ap->p++;
	}
	if ((size_t)(ap->p - start) > ap->limits->max_domain)
		return fail(ap, "Domain too long");
	return 0;
}

/* IPv4-address-literal = Snum 3("." Snum), Snum = 1*3DIGIT of value 0-255. */
static bool
is_ipv4_literal(const uint8_t *p, size_t len)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned value = 0, digits = 0;

		if (part > 0) {
			if (i == len || p[i] != '.')
				return false;
			i++;
		}
		while (i < len && p[i] >= '0' && p[i] <= '9' && digits < 3) {
			value = value * 10 + (unsigned)(p[i] - '0');
			digits++;
			i++;
		}
		if (digits == 0 || value > 255)
			return false;
	}
	return i == len;
}

static bool
is_ipv6_literal(const uint8_t *p, size_t len)
{
	char tmp[INET6_ADDRSTRLEN + 1];
	struct in6_addr a;

	if (len >= sizeof(tmp))
		return false;
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET6, tmp, &a) == 1;
}

static int
parse_address_literal(struct addr_parser *ap)
{
	const uint8_t *start = ap->p, *content;
	size_t len;

	ap->p++;        /* "[" */
	content = ap->p;
	/* dcontent = %d33-90 / %d94-126 */
	while (ap->p < ap->end && *ap->p >= 33 && *ap->p <= 126 && *ap->p != '[' &&
	       *ap->p != '\\' && *ap->p != ']')
		ap->p++;
	if (ap->p == ap->end || *ap->p != ']')
		return fail(ap, "Invalid address literal");
	len = (size_t)(ap->p - content);
	ap->p++;
	if (len > 5 && strncasecmp((const char *)content, "IPv6:", 5) == 0) {
		if (!is_ipv6_literal(content + 5, len - 5))
			return fail(ap, "Invalid IPv6 address literal");
	} else if (memchr(content, ':', len) != NULL) {
		return fail(ap, "Unsupported address literal");
	} else if (!is_ipv4_literal(content, len)) {
		return fail(ap, "Invalid IPv4 address literal");
	}
	if ((size_t)(ap->p - start) > ap->limits->max_domain)
		return fail(ap, "Domain too long");
	return 0;
}

static int
parse_mailbox(struct addr_parser *ap, struct smtp_address *addr)
{
	const uint8_t *domain;

	if (parse_local_part(ap, &addr->localpart) < 0)
		return -1;
	if (ap->p == ap->end || *ap->p != '@')
		return fail(ap, "Missing @domain in address");
	ap->p++;
	domain = ap->p;
	if (ap->p < ap->end && *ap->p == '[') {
		if (parse_address_literal(ap) < 0)
			return -1;
		addr->literal = true;
	} else if (parse_domain(ap) < 0) {
		return -1;
	}
	addr->domain = mem_strndup((const char *)domain, (size_t)(ap->p - domain));
	return 0;
}

/* A-d-l = At-domain *( "," At-domain ) ":"  -- checked, then ignored. */
static int
parse_source_route(struct addr_parser *ap)
{
	for (;;) {
		ap->p++;        /* "@" */
		if (parse_domain(ap) < 0)
			return -1;
		if (ap->p == ap->end)
			break;
		if (*ap->p == ':') {
			ap->p++;
			return 0;
		}
		if (*ap->p != ',' || ap->p + 1 == ap->end || ap->p[1] != '@')
			break;
		ap->p++;
	}
	return fail(ap, "Invalid source route");
}

static bool
starts_with_ci(const uint8_t *p, const uint8_t *end, const char *prefix)
{
	size_t n = strlen(prefix);

	return (size_t)(end - p) >= n && strncasecmp((const char *)p, prefix, n) == 0;
}

static int
parse_path_inner(struct addr_parser *ap, struct smtp_address *addr)
{
	ap->p++;        /* "<" */
	if (ap->p < ap->end && *ap->p == '>') {
		if ((ap->flags & SMTP_ADDRESS_ALLOW_NULL) == 0)
			return fail(ap, "Null path not allowed here");
		ap->p++;
		addr->localpart = mem_strdup("");
		return 0;
	}
	if ((ap->flags & SMTP_ADDRESS_ALLOW_POSTMASTER) != 0 &&
	    starts_with_ci(ap->p, ap->end, "postmaster>")) {
		addr->localpart = mem_strndup((const char *)ap->p, 10);
		ap->p += 11;
		return 0;
	}
	if (ap->p < ap->end && *ap->p == '@' && parse_source_route(ap) < 0)
		return -1;
	if (parse_mailbox(ap, addr) < 0)
		return -1;
	if (ap->p == ap->end || *ap->p != '>')
		return fail(ap, "Missing > after address");
	ap->p++;
	return 0;
}

int
smtp_address_parse_path(const uint8_t *data, size_t len, unsigned flags,
			const struct smtp_address_limits *limits,
			struct smtp_address *addr_r, size_t *consumed_r, const char **error_r)
{
	struct addr_parser ap = {
		.p = data, .end = data + len, .flags = flags, .limits = limits,
	};

	memset(addr_r, 0, sizeof(*addr_r));
	*consumed_r = 0;
	if (len == 0 || data[0] != '<') {
		*error_r = "Path must start with <";
		return -1;
	}
	if (parse_path_inner(&ap, addr_r) == 0 &&
	    (size_t)(ap.p - data) > limits->max_path)
		fail(&ap, "Path too long");
	if (ap.error != NULL) {
		smtp_address_deinit(addr_r);
		*error_r = ap.error;
		return -1;
	}
	addr_r->utf8 = ap.utf8;
	*consumed_r = (size_t)(ap.p - data);
	return 1;
}

int
smtp_address_parse_mailbox(const uint8_t *data, size_t len, unsigned flags,
			   const struct smtp_address_limits *limits,
			   struct smtp_address *addr_r, const char **error_r)
{
	struct addr_parser ap = {
		.p = data, .end = data + len, .flags = flags, .limits = limits,
	};

	memset(addr_r, 0, sizeof(*addr_r));
	if (parse_mailbox(&ap, addr_r) == 0 && ap.p != ap.end)
		fail(&ap, "Unexpected character after address");
	if (ap.error == NULL && len + 2 > limits->max_path)
		fail(&ap, "Path too long");
	if (ap.error != NULL) {
		smtp_address_deinit(addr_r);
		*error_r = ap.error;
		return -1;
	}
	addr_r->utf8 = ap.utf8;
	return 1;
}

void
smtp_address_deinit(struct smtp_address *addr)
{
	mem_free(&addr->localpart);
	mem_free(&addr->domain);
	memset(addr, 0, sizeof(*addr));
}

void
smtp_address_copy(struct smtp_address *dst, const struct smtp_address *src)
{
	*dst = *src;
	dst->localpart = src->localpart == NULL ? NULL : mem_strdup(src->localpart);
	dst->domain = src->domain == NULL ? NULL : mem_strdup(src->domain);
}

/* A local part may go out bare only when it is a Dot-string. */
static bool
localpart_is_dot_string(const char *s)
{
	bool atom_empty = true;

	for (const uint8_t *p = (const uint8_t *)s; *p != '\0'; p++) {
		if (*p == '.') {
			if (atom_empty)
				return false;
			atom_empty = true;
		} else if (smtp_is_atext(*p) || *p >= 0x80) {
			atom_empty = false;
		} else {
			return false;
		}
	}
	return !atom_empty;
}

static void
format_localpart(const char *localpart, struct buf *out)
{
	if (localpart_is_dot_string(localpart)) {
		buf_append_str(out, localpart);
		return;
	}
	buf_append_byte(out, '"');
	for (const char *p = localpart; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_append_byte(out, '\\');
		buf_append_byte(out, (uint8_t)*p);
	}
	buf_append_byte(out, '"');
}

static int
format_into(const struct smtp_address *addr, struct buf *out, bool path)
{
	size_t old_len = buf_len(out);
	struct buf tmp;
	int ret;

	/* Build unbounded, then append in one step so that a failure leaves out unchanged. */
	buf_init(&tmp, 0);
	if (path)
		buf_append_byte(&tmp, '<');
	if (addr->domain == NULL) {
		buf_append_str(&tmp, addr->localpart == NULL ? "" : addr->localpart);
	} else {
		format_localpart(addr->localpart == NULL ? "" : addr->localpart, &tmp);
		buf_append_byte(&tmp, '@');
		buf_append_str(&tmp, addr->domain);
	}
	if (path)
		buf_append_byte(&tmp, '>');
	ret = buf_append(out, buf_data(&tmp), buf_len(&tmp));
	buf_deinit(&tmp);
	ASSERT(ret == 0 || buf_len(out) == old_len);
	return ret;
}

int
smtp_address_format(const struct smtp_address *addr, struct buf *out)
{
	return format_into(addr, out, false);
}

int
smtp_address_format_path(const struct smtp_address *addr, struct buf *out)
{
	return format_into(addr, out, true);
}
