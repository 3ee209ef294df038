/*
 * conf-value.c - parse, format and free one value of each schema type.
 *
 * What it does: the codecs behind conf_value_parse() / conf_value_format()
 * (conf-private.h). Formatting always gives text that parses back to the same
 * value, so `posthorn config show` output is a valid config file.
 *
 * What it does not do: it never sees key names or file positions (the caller
 * adds them to error messages), and it does not compare keys with each other
 * (conf-load.c checks listen addresses shared between keys).
 *
 * Invariants: numbers are plain decimal digits (no sign, no spaces, no hex);
 * every multiplication by a suffix is overflow-checked; a value is replaced
 * only when the whole new text is valid, so a failed parse leaves the
 * previous value in place.
 */
#include "conf/conf-private.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/buf.h"
#include "core/mem.h"

#define KIB UINT64_C(1024)
#define MS_PER_S UINT64_C(1000)

/* A one-letter unit suffix; tables are largest first, for formatting. */
struct unit {
	char suffix;
	uint64_t factor;
};

static const struct unit size_units[] = {
	{ 'G', KIB * KIB * KIB }, { 'M', KIB * KIB }, { 'k', KIB }, { 'K', KIB },
};
static const struct unit duration_units[] = {
	{ 'd', 86400 * MS_PER_S }, { 'h', 3600 * MS_PER_S }, { 'm', 60 * MS_PER_S },
	{ 's', MS_PER_S },
};

/* Reads the leading decimal digits of s. Returns the number of digits (0 if
 * none), or -1 when the number does not fit in 64 bits. */
static int
parse_digits(const char *s, uint64_t *value_r)
{
	uint64_t v = 0;
	int n = 0;

	for (; s[n] >= '0' && s[n] <= '9'; n++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(s[n] - '0'), &v))
			return -1;
	}
	*value_r = v;
	return n;
}

/* "value" with an optional one-letter unit from units (or none: factor
 * plain). Returns 0, -1 with the reason in error. */
static int
parse_scaled(const char *text, const char *what, uint64_t plain, const struct unit *units,
	     size_t unit_count, uint64_t *value_r, struct buf *error)
{
	uint64_t n, factor = plain;
	int digits = parse_digits(text, &n);

	if (digits < 0) {
		buf_printf(error, "'%.40s' is too large", text);
		return -1;
	}
	if (digits > 0 && text[digits] != '\0') {
		factor = 0;
		for (size_t i = 0; i < unit_count && text[digits + 1] == '\0'; i++) {
			if (text[digits] == units[i].suffix)
				factor = units[i].factor;
		}
	}
	if (digits == 0 || factor == 0) {
		buf_printf(error, "'%.40s' is not a %s", text, what);
		return -1;
	}
	if (__builtin_mul_overflow(n, factor, value_r)) {
		buf_printf(error, "'%.40s' is too large", text);
		return -1;
	}
	return 0;
}

/* Appends n with the largest unit that divides it exactly. */
static int
format_scaled(uint64_t n, const struct unit *units, size_t unit_count, struct buf *out)
{
	for (size_t i = 0; i < unit_count && n != 0; i++) {
		if (n % units[i].factor == 0)
			return buf_printf(out, "%llu%c", (unsigned long long)(n / units[i].factor),
					  units[i].suffix);
	}
	return buf_printf(out, "%llu", (unsigned long long)n);
}

static int
format_size(uint64_t n, struct buf *out)
{
	return format_scaled(n, size_units, N_ELEMENTS(size_units), out);
}

/* Whole seconds; a value set by code that is not a whole second is rounded up. */
static int
format_duration(uint64_t ms, struct buf *out)
{
	if (ms == 0)
		return buf_append_str(out, "0s");
	if (ms % MS_PER_S != 0)
		return buf_printf(out, "%llus", (unsigned long long)(ms / MS_PER_S + 1));
	return format_scaled(ms, duration_units, N_ELEMENTS(duration_units), out);
}

static int
check_range(const struct conf_key *key, uint64_t v, int (*fmt)(uint64_t, struct buf *),
	    struct buf *error)
{
	if (v >= key->min && v <= key->max)
		return 0;
	buf_append_str(error, v < key->min ? "must be at least " : "must be at most ");
	fmt(v < key->min ? key->min : key->max, error);
	return -1;
}

static int
format_plain(uint64_t n, struct buf *out)
{
	return buf_printf(out, "%llu", (unsigned long long)n);
}

static int
parse_uint(const struct conf_key *key, const char *text, void *field, struct buf *error)
{
	uint64_t v;

	if (parse_scaled(text, "number", 1, NULL, 0, &v, error) < 0 ||
	    check_range(key, v, format_plain, error) < 0)
		return -1;
	ASSERT(key->max <= UINT_MAX);
	*(unsigned int *)field = (unsigned int)v;
	return 0;
}

static int
parse_size(const struct conf_key *key, const char *text, void *field, struct buf *error)
{
	uint64_t v;

	if (parse_scaled(text, "size (bytes, or a number with suffix k, M or G)", 1, size_units,
			 N_ELEMENTS(size_units), &v, error) < 0 ||
	    check_range(key, v, format_size, error) < 0)
		return -1;
	*(uint64_t *)field = v;
	return 0;
}

static int
parse_duration(const struct conf_key *key, const char *text, void *field, struct buf *error)
{
	uint64_t v;

	if (parse_scaled(text, "duration (seconds, or a number with suffix s, m, h or d)",
			 MS_PER_S, duration_units, N_ELEMENTS(duration_units), &v, error) < 0 ||
	    check_range(key, v, format_duration, error) < 0)
		return -1;
	*(uint64_t *)field = v;
	return 0;
}

static int
parse_bool(const char *text, void *field, struct buf *error)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < N_ELEMENTS(yes); i++) {
		if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
			*(bool *)field = strcasecmp(text, yes[i]) == 0;
			return 0;
		}
	}
	buf_printf(error, "'%.40s' is not yes or no (or true/false, on/off, 1/0)", text);
	return -1;
}

static int
parse_enum(const struct conf_key *key, const char *text, void *field, struct buf *error)
{
	for (unsigned int i = 0; key->choices[i] != NULL; i++) {
		if (strcasecmp(text, key->choices[i]) == 0) {
			*(unsigned int *)field = i;
			return 0;
		}
	}
	buf_printf(error, "'%.40s' is not one of:", text);
	for (unsigned int i = 0; key->choices[i] != NULL; i++)
		buf_printf(error, "%s %s", i == 0 ? "" : ",", key->choices[i]);
	return -1;
}

static int
parse_string(const struct conf_key *key, const char *text, void *field, struct buf *error)
{
	size_t len = strlen(text);
	const char *msg;

	if (len < key->min || len > key->max) {
		uint64_t bound = len < key->min ? key->min : key->max;

		if (len == 0)
			buf_append_str(error, "must not be empty");
		else
			buf_printf(error, "must be at %s %llu character%s long",
				   len < key->min ? "least" : "most", (unsigned long long)bound,
				   bound == 1 ? "" : "s");
		return -1;
	}
	if (key->check != NULL && (msg = key->check(text)) != NULL) {
		buf_printf(error, "'%.40s': %s", text, msg);
		return -1;
	}
	mem_free((char **)field);
	*(char **)field = mem_strdup(text);
	return 0;
}

/* ---- lists ---- */

/* Calls item() for each comma-separated item of text with surrounding
 * spaces and tabs removed. An all-blank text has no items; an empty item
 * between commas is an error. Returns the number of items or -1. */
static int
list_split(const char *text, int (*item)(const char *s, size_t len, void *ctx, struct buf *error),
	   void *ctx, struct buf *error)
{
	const char *p = text;
	int count = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		const char *s = p;

		while (len > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			len--;
		}
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len == 0) {
			buf_append_str(error, "empty item in comma-separated list");
			return -1;
		}
		if (++count > CONF_LIST_MAX_ITEMS) {
			buf_printf(error, "more than %d items", CONF_LIST_MAX_ITEMS);
			return -1;
		}
		if (item(s, len, ctx, error) < 0)
			return -1;
		if (comma == NULL)
			return count;
		p = comma + 1;
	}
}

/* inet_pton of len bytes of s as family. Returns 1 ok, 0 not an address. */
static int
addr_parse(int family, const char *s, size_t len, struct conf_addr *addr_r)
{
	char tmp[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(tmp))
		return 0;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	memset(addr_r, 0, sizeof(*addr_r));
	addr_r->family = family;
	return inet_pton(family, tmp, &addr_r->u) == 1 ? 1 : 0;
}

static bool
addr_equal(const struct conf_addr *a, const struct conf_addr *b)
{
	if (a->family != b->family)
		return false;
	if (a->family == AF_INET)
		return a->u.v4.s_addr == b->u.v4.s_addr;
	return memcmp(&a->u.v6, &b->u.v6, sizeof(a->u.v6)) == 0;
}

static bool
addr_is_wildcard(const struct conf_addr *a)
{
	if (a->family == AF_INET)
		return a->u.v4.s_addr == htonl(INADDR_ANY);
	return memcmp(&a->u.v6, &in6addr_any, sizeof(a->u.v6)) == 0;
}

static int
addr_format(const struct conf_addr *a, struct buf *out)
{
	char tmp[INET6_ADDRSTRLEN];

	if (inet_ntop(a->family, &a->u, tmp, sizeof(tmp)) == NULL)
		PANIC("inet_ntop failed for family %d", a->family);
	return buf_append_str(out, tmp);
}

bool
conf_listen_overlap(const struct conf_listen *a, const struct conf_listen *b)
{
	return a->port == b->port && a->addr.family == b->addr.family &&
	       (addr_equal(&a->addr, &b->addr) || addr_is_wildcard(&a->addr) ||
		addr_is_wildcard(&b->addr));
}

int
conf_listen_format(const struct conf_listen *l, struct buf *out)
{
	bool v6 = l->addr.family == AF_INET6;

	if ((v6 && buf_append_byte(out, '[') < 0) || addr_format(&l->addr, out) < 0)
		return -1;
	return buf_printf(out, "%s:%u", v6 ? "]" : "", (unsigned int)l->port);
}

/* Parses one item, "addr:port" or "[v6addr]:port". Returns 0 or -1. */
static int
listen_item_parse(const char *s, size_t len, struct conf_listen *l, struct buf *error)
{
	const char *end = s + len, *host = s, *port_text;
	size_t host_len;
	int family = AF_INET, digits;
	int show = len > 60 ? 60 : (int)len;
	uint64_t port;

	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (close == NULL) {
			buf_printf(error, "'%.*s' lacks the closing ']'", show, s);
			return -1;
		}
		family = AF_INET6;
		host = s + 1;
		host_len = (size_t)(close - host);
		port_text = close + 1;
	} else {
		const char *colon = memrchr(s, ':', len);

		port_text = colon != NULL ? colon : end;
		host_len = (size_t)(port_text - s);
		if (memchr(s, ':', host_len) != NULL) {
			buf_printf(error, "'%.*s': write an IPv6 address in brackets, as [::1]:25",
				   show, s);
			return -1;
		}
	}
	if (port_text == end || *port_text != ':') {
		buf_printf(error, "'%.*s' lacks the :port", show, s);
		return -1;
	}
	if (addr_parse(family, host, host_len, &l->addr) == 0) {
		buf_printf(error, "'%.*s' is not an IP%s address",
			   (int)(host_len > 60 ? 60 : host_len), host,
			   family == AF_INET ? "v4" : "v6");
		return -1;
	}
	port_text++;
	/* The item ends at NUL, ',' or blank: parse_digits stops inside it. */
	digits = parse_digits(port_text, &port);
	if (digits <= 0 || port_text + digits != end || port == 0 || port > 65535) {
		buf_printf(error, "'%.*s' is not a port number (1-65535)",
			   (int)(end - port_text > 20 ? 20 : end - port_text), port_text);
		return -1;
	}
	l->port = (uint16_t)port;
	return 0;
}

/* An item holding a blank is two items missing their comma. */
static int
check_no_blank(const char *s, size_t len, struct buf *error)
{
	if (memchr(s, ' ', len) == NULL && memchr(s, '\t', len) == NULL)
		return 0;
	buf_printf(error, "'%.*s': separate items with commas", (int)(len > 60 ? 60 : len), s);
	return -1;
}

static int
listen_item(const char *s, size_t len, void *ctx, struct buf *error)
{
	struct conf_listen_list *list = ctx;
	struct conf_listen l;

	if (check_no_blank(s, len, error) < 0 || listen_item_parse(s, len, &l, error) < 0)
		return -1;
	for (unsigned int i = 0; i < list->count; i++) {
		if (conf_listen_overlap(&list->items[i], &l)) {
			buf_printf(error, "'%.*s' overlaps an earlier item", (int)len, s);
			return -1;
		}
	}
	list->items = mem_realloc(list->items, mem_size_mul(list->count + 1, sizeof(l)));
	list->items[list->count++] = l;
	return 0;
}

static int
parse_listen(const struct conf_key *key, const char *text, void *field, struct buf *error)
{
	struct conf_listen_list list = { 0, NULL };

	if (list_split(text, listen_item, &list, error) < 0) {
		mem_free(&list.items);
		return -1;
	}
	mem_free(&((struct conf_listen_list *)field)->items);
	*(struct conf_listen_list *)field = list;
	return 0;
}

static int
iplist_item(const char *s, size_t len, void *ctx, struct buf *error)
{
	struct conf_addr_list *list = ctx;
	struct conf_addr a;

	if (check_no_blank(s, len, error) < 0)
		return -1;
	if (addr_parse(AF_INET, s, len, &a) == 0 && addr_parse(AF_INET6, s, len, &a) == 0) {
		buf_printf(error, "'%.*s' is not an IPv4 or IPv6 address",
			   (int)(len > 60 ? 60 : len), s);
		return -1;
	}
	for (unsigned int i = 0; i < list->count; i++) {
		if (addr_equal(&list->items[i], &a)) {
			buf_printf(error, "'%.*s' is listed twice", (int)len, s);
			return -1;
		}
	}
	list->items = mem_realloc(list->items, mem_size_mul(list->count + 1, sizeof(a)));
	list->items[list->count++] = a;
	return 0;
}

static int
parse_iplist(const char *text, void *field, struct buf *error)
{
	struct conf_addr_list list = { 0, NULL };

	if (list_split(text, iplist_item, &list, error) < 0) {
		mem_free(&list.items);
		return -1;
	}
	mem_free(&((struct conf_addr_list *)field)->items);
	*(struct conf_addr_list *)field = list;
	return 0;
}

int
conf_value_parse(const struct conf_key *key, const char *text, void *field, struct buf *error)
{
	switch (key->type) {
	case CONF_TYPE_STRING:
		return parse_string(key, text, field, error);
	case CONF_TYPE_ENUM:
		return parse_enum(key, text, field, error);
	case CONF_TYPE_BOOL:
		return parse_bool(text, field, error);
	case CONF_TYPE_UINT:
		return parse_uint(key, text, field, error);
	case CONF_TYPE_SIZE:
		return parse_size(key, text, field, error);
	case CONF_TYPE_DURATION:
		return parse_duration(key, text, field, error);
	case CONF_TYPE_LISTEN:
		return parse_listen(key, text, field, error);
	case CONF_TYPE_IPLIST:
		return parse_iplist(text, field, error);
	}
	PANIC("key %s: bad type %d", key->name, (int)key->type);
}

static int
format_list(const struct conf_key *key, const void *field, bool json, struct buf *out)
{
	const struct conf_listen_list *ll = field;
	const struct conf_addr_list *al = field;
	bool listen = key->type == CONF_TYPE_LISTEN;
	unsigned int count = listen ? ll->count : al->count;
	struct buf item;
	int ret = 0;

	buf_init(&item, 0);
	if (json)
		ret |= buf_append_byte(out, '[');
	for (unsigned int i = 0; i < count; i++) {
		buf_reset(&item);
		if (listen)
			conf_listen_format(&ll->items[i], &item);
		else
			addr_format(&al->items[i], &item);
		ret |= buf_append_str(out, i == 0 ? "" : json ? "," : ", ");
		if (json)
			ret |= conf_json_string(out, buf_cstr(&item));
		else
			ret |= buf_append_str(out, buf_cstr(&item));
	}
	if (json)
		ret |= buf_append_byte(out, ']');
	buf_deinit(&item);
	return ret < 0 ? -1 : 0;
}

int
conf_value_format(const struct conf_key *key, const void *field, struct buf *out)
{
	switch (key->type) {
	case CONF_TYPE_STRING:
		return buf_append_str(out, *(char *const *)field);
	case CONF_TYPE_ENUM:
		return buf_append_str(out, key->choices[*(const unsigned int *)field]);
	case CONF_TYPE_BOOL:
		return buf_append_str(out, *(const bool *)field ? "yes" : "no");
	case CONF_TYPE_UINT:
		return buf_printf(out, "%u", *(const unsigned int *)field);
	case CONF_TYPE_SIZE:
		return format_size(*(const uint64_t *)field, out);
	case CONF_TYPE_DURATION:
		return format_duration(*(const uint64_t *)field, out);
	case CONF_TYPE_LISTEN:
	case CONF_TYPE_IPLIST:
		return format_list(key, field, false, out);
	}
	PANIC("key %s: bad type %d", key->name, (int)key->type);
}

int
conf_value_format_json(const struct conf_key *key, const void *field, struct buf *out)
{
	switch (key->type) {
	case CONF_TYPE_STRING:
		return conf_json_string(out, *(char *const *)field);
	case CONF_TYPE_ENUM:
		return conf_json_string(out, key->choices[*(const unsigned int *)field]);
	case CONF_TYPE_BOOL:
		return buf_append_str(out, *(const bool *)field ? "true" : "false");
	case CONF_TYPE_UINT:
		return buf_printf(out, "%u", *(const unsigned int *)field);
	case CONF_TYPE_SIZE:
		return buf_printf(out, "%llu", (unsigned long long)*(const uint64_t *)field);
	case CONF_TYPE_DURATION:
		return buf_printf(out, "%llu",
				  (unsigned long long)(*(const uint64_t *)field / MS_PER_S));
	case CONF_TYPE_LISTEN:
	case CONF_TYPE_IPLIST:
		return format_list(key, field, true, out);
	}
	PANIC("key %s: bad type %d", key->name, (int)key->type);
}

void
conf_value_clear(const struct conf_key *key, void *field)
{
	switch (key->type) {
	case CONF_TYPE_STRING:
		mem_free((char **)field);
		break;
	case CONF_TYPE_LISTEN:
		mem_free(&((struct conf_listen_list *)field)->items);
		((struct conf_listen_list *)field)->count = 0;
		break;
	case CONF_TYPE_IPLIST:
		mem_free(&((struct conf_addr_list *)field)->items);
		((struct conf_addr_list *)field)->count = 0;
		break;
	default:
		break;
	}
}

int
conf_json_string(struct buf *out, const char *s)
{
	int ret = buf_append_byte(out, '"');

	for (; *s != '\0' && ret == 0; s++) {
		uint8_t c = (uint8_t)*s;

		if (c == '"' || c == '\\')
			ret = buf_printf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			ret = buf_printf(out, "\\u%04x", c);
		else
			ret = buf_append_byte(out, c);
	}
	return ret < 0 ? -1 : buf_append_byte(out, '"');
}
