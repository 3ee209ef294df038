/*
 * conf-sni.c - see conf-sni.h.
 */
#include "conf/conf-sni.h"

#include <stdbool.h>
#include <string.h>

#include "core/mem.h"

/* A host name of letters, digits, '-' and '.', optionally after "*."; no
 * empty label. */
static bool
sni_hostname_ok(const char *s, size_t len)
{
	size_t label = 0;

	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
	}
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || c == '-') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

static const char *
sni_trim(const char *s, const char *end, const char **end_r)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end_r = end;
	return s;
}

/* One HOST=CERT:KEY item; -1 with *error_r. */
static int
sni_item(const char *item, const char *end, struct conf_sni_entry *e, const char **error_r)
{
	const char *eq, *colon;

	item = sni_trim(item, end, &end);
	eq = memchr(item, '=', (size_t)(end - item));
	colon = eq != NULL ? memchr(eq, ':', (size_t)(end - eq)) : NULL;
	if (eq == NULL || colon == NULL) {
		*error_r = "each item must be HOST=CERTFILE:KEYFILE";
		return -1;
	}
	if (!sni_hostname_ok(item, (size_t)(eq - item))) {
		*error_r = "bad host name before '=' (a host name or *.domain)";
		return -1;
	}
	if (colon == eq + 1 || colon + 1 == end) {
		*error_r = "empty certificate or key file name";
		return -1;
	}
	e->hostname = mem_strndup(item, (size_t)(eq - item));
	e->cert_file = mem_strndup(eq + 1, (size_t)(colon - eq - 1));
	e->key_file = mem_strndup(colon + 1, (size_t)(end - colon - 1));
	return 0;
}

int
conf_sni_parse(const char *value, struct conf_sni_entry **entries_r, size_t *count_r,
	       const char **error_r)
{
	struct conf_sni_entry *list = NULL;
	size_t n = 0;
	const char *p = value, *end;

	*entries_r = NULL;
	*count_r = 0;
	sni_trim(p, p + strlen(p), &end);
	while (*p == ' ' || *p == '\t')
		p++;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *item_end = comma != NULL ? comma : end;

		if (n == CONF_SNI_MAX_ENTRIES) {
			*error_r = "too many items";
			conf_sni_free(&list, n);
			return -1;
		}
		list = mem_realloc(list, mem_size_mul(n + 1, sizeof(*list)));
		memset(&list[n], 0, sizeof(list[n]));
		if (sni_item(p, item_end, &list[n], error_r) < 0) {
			conf_sni_free(&list, n);
			return -1;
		}
		n++;
		p = comma != NULL ? comma + 1 : end;
		if (comma != NULL && p >= end) {
			*error_r = "empty item after ','";
			conf_sni_free(&list, n);
			return -1;
		}
	}
	*entries_r = list;
	*count_r = n;
	return 1;
}

void
conf_sni_free(struct conf_sni_entry **entries, size_t count)
{
	for (size_t i = 0; *entries != NULL && i < count; i++) {
		mem_free(&(*entries)[i].hostname);
		mem_free(&(*entries)[i].cert_file);
		mem_free(&(*entries)[i].key_file);
	}
	mem_free(entries);
}
