/*
 * store-name.c - checks and normal forms of what the store keeps as text:
 * domain names, addresses, mailbox names, keywords; plus blob ids and the
 * UIDVALIDITY sequence. Shared by every backend so that they agree exactly.
 *
 * Text the store keeps opaque (SCRAM secrets, queue envelope strings) is only
 * bounded and kept UTF-8 without control characters, so that it can be logged
 * and listed (also as JSON) safely.
 *
 * Does not: convert internationalised domains between U-labels and A-labels
 * (the caller passes the form it wants kept), parse quoted local parts, or
 * fold case outside ASCII. Case folding is ASCII only, so the lookup key of
 * an address is well defined whatever the bytes (RFC 6531 local parts are
 * compared exactly above 0x7f).
 *
 * Invariant: a name accepted here is valid UTF-8 without control characters,
 * so backends may store it as text and compare it bytewise.
 */
#include "store/store-private.h"

#include "core/buf.h"
#include "core/mem.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

const struct store_default_mailbox store_default_mailboxes[] = {
	{ "INBOX", 0 },
	{ "Sent", STORE_SPECIAL_USE_SENT },
	{ "Drafts", STORE_SPECIAL_USE_DRAFTS },
	{ "Trash", STORE_SPECIAL_USE_TRASH },
	{ "Junk", STORE_SPECIAL_USE_JUNK },
	{ "Archive", STORE_SPECIAL_USE_ARCHIVE },
};
const size_t store_default_mailbox_count = N_ELEMENTS(store_default_mailboxes);

/* Well-formed UTF-8 (RFC 3629 4): no overlong forms, surrogates or values
 * above U+10FFFF. */
static bool
utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((uint8_t)*s < 0x20 || *s == 0x7f)
			return true;
	}
	return false;
}

static void
ascii_lower(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	}
}

static bool
domain_label_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c >= 0x80;
}

/* RFC 1035 2.3.4 lengths, RFC 1123 2.1 letters, digits and inner hyphens;
 * bytes above 0x7f are allowed for U-labels (RFC 5890). */
static int
domain_check(const char *s, size_t len, const char **error_r)
{
	size_t label = 0;

	if (len == 0 || len > STORE_DOMAIN_MAX) {
		*error_r = "domain name must have 1 to 253 octets";
		return -1;
	}
	if (!utf8_valid((const uint8_t *)s, len)) {
		*error_r = "domain name is not valid UTF-8";
		return -1;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (label == 0 || label > 63) {
				*error_r = "domain name labels must have 1 to 63 octets";
				return -1;
			}
			if (s[i - 1] == '-' || s[i - label] == '-') {
				*error_r = "domain name label begins or ends with '-'";
				return -1;
			}
			label = 0;
		} else if (!domain_label_char((uint8_t)s[i])) {
			*error_r = "domain name has a character other than letters, digits, '-'";
			return -1;
		} else {
			label++;
		}
	}
	return 0;
}

int
store_domain_normalize(const char *in, char **name_r, const char **error_r)
{
	if (domain_check(in, strlen(in), error_r) < 0)
		return -1;
	*name_r = mem_strdup(in);
	ascii_lower(*name_r);
	return 0;
}

/* Local part: 1..64 octets (RFC 5321 4.5.3.1.1), UTF-8 (RFC 6531), no
 * spaces, controls or '@' (quoted local parts are not supported). */
static int
local_part_check(const char *s, size_t len, const char **error_r)
{
	if (len == 0 || len > STORE_LOCAL_PART_MAX) {
		*error_r = "local part must have 1 to 64 octets";
		return -1;
	}
	if (!utf8_valid((const uint8_t *)s, len)) {
		*error_r = "address is not valid UTF-8";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)s[i];

		if (c <= 0x20 || c == 0x7f || c == '@') {
			*error_r = "local part has a space, control character or '@'";
			return -1;
		}
	}
	return 0;
}

int
store_address_parse(const char *in, struct store_address *addr_r, const char **error_r)
{
	const char *at = strrchr(in, '@');
	size_t len = strlen(in);

	memset(addr_r, 0, sizeof(*addr_r));
	if (at == NULL) {
		*error_r = "address has no '@'";
		return -1;
	}
	if (len > STORE_ADDRESS_MAX) {
		*error_r = "address is longer than 254 octets";
		return -1;
	}
	if (local_part_check(in, (size_t)(at - in), error_r) < 0 ||
	    store_domain_normalize(at + 1, &addr_r->domain, error_r) < 0)
		return -1;
	addr_r->address = mem_strdup(in);
	ascii_lower(addr_r->address + (at - in));
	addr_r->key = mem_strdup(addr_r->address);
	ascii_lower(addr_r->key);
	return 0;
}

void
store_address_deinit(struct store_address *addr)
{
	mem_free(&addr->address);
	mem_free(&addr->key);
	mem_free(&addr->domain);
}

int
store_address_check(const char *in, const char **error_r)
{
	struct store_address addr;
	int ret = store_address_parse(in, &addr, error_r);

	store_address_deinit(&addr);
	return ret;
}

bool
store_address_has_key(const char *address, const char *key)
{
	struct store_address addr;
	const char *error;
	bool ret = store_address_parse(address, &addr, &error) == 0 && strcmp(addr.key, key) == 0;

	store_address_deinit(&addr);
	return ret;
}

int
store_text_check(const char *what, const char *s, size_t max, const char **error_r)
{
	if (strlen(s) > max) {
		*error_r = store_error_printf("%s is longer than %zu octets", what, max);
		return -1;
	}
	if (!utf8_valid((const uint8_t *)s, strlen(s)) || has_control(s)) {
		*error_r = store_error_printf("%s is not UTF-8 text without control characters",
					      what);
		return -1;
	}
	return 0;
}

bool
store_queue_id_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z')) || i == STORE_QUEUE_ID_MAX)
			return false;
	}
	return i > 0;
}

int
store_mailbox_name_normalize(const char *in, char **name_r, const char **error_r)
{
	size_t len = strlen(in);

	if (len == 0 || len > STORE_MAILBOX_NAME_MAX) {
		*error_r = "mailbox name must have 1 to 512 octets";
		return -1;
	}
	if (!utf8_valid((const uint8_t *)in, len) || has_control(in)) {
		*error_r = "mailbox name is not UTF-8 text without control characters";
		return -1;
	}
	/* RFC 9051 5.1: '%' and '*' are valid but cannot be LISTed reliably. */
	if (strpbrk(in, "%*") != NULL) {
		*error_r = "mailbox name contains '%' or '*'";
		return -1;
	}
	if (in[0] == '/' || in[len - 1] == '/' || strstr(in, "//") != NULL) {
		*error_r = "mailbox name has an empty hierarchy level";
		return -1;
	}
	*name_r = mem_strdup(strcasecmp(in, "INBOX") == 0 ? "INBOX" : in);
	return 0;
}

bool
store_mailbox_name_under(const char *name, const char *parent)
{
	size_t len = strlen(parent);

	return strncmp(name, parent, len) == 0 && (name[len] == '\0' || name[len] == '/');
}

bool
store_str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
store_blob_id_generate(char id_r[STORE_BLOB_ID_LEN + 1], const char **error_r)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t raw[STORE_BLOB_ID_LEN / 2];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = store_error_printf("getrandom: %s", strerror(errno));
			return -1;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof(raw); i++) {
		id_r[2 * i] = hex[raw[i] >> 4];
		id_r[2 * i + 1] = hex[raw[i] & 0xf];
	}
	id_r[STORE_BLOB_ID_LEN] = '\0';
	return 0;
}

bool
store_blob_id_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return i == STORE_BLOB_ID_LEN;
}

uint32_t
store_uidvalidity_next(uint32_t last)
{
	time_t now = time(NULL);

	if (last == UINT32_MAX)
		return 0;
	if (now > (time_t)last && now <= (time_t)UINT32_MAX)
		return (uint32_t)now;
	return last + 1;
}
