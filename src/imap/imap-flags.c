/*
 * imap-flags.c - the system flag table and the keyword sets of imap-flags.h.
 *
 * Sets are small (a mailbox has a few dozen keywords at most; the engine
 * bounds each command's list), so a linear scan per keyword is enough.
 */
#include "imap/imap-flags.h"

#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "imap/imap-server.h"

static const struct {
	const char *name;
	unsigned bit;
} imap_flags[] = {
	/* the order of FLAGS responses; \Recent (RFC 3501 2.3.2) last */
	{ "\\Answered", IMAP_FLAG_ANSWERED }, { "\\Flagged", IMAP_FLAG_FLAGGED },
	{ "\\Deleted", IMAP_FLAG_DELETED },   { "\\Seen", IMAP_FLAG_SEEN },
	{ "\\Draft", IMAP_FLAG_DRAFT },       { "\\Recent", IMAP_FLAG_RECENT },
};

const char *
imap_flag_at(size_t i, unsigned *bit_r)
{
	if (i >= N_ELEMENTS(imap_flags))
		return NULL;
	*bit_r = imap_flags[i].bit;
	return imap_flags[i].name;
}

unsigned
imap_flag_from_name(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(imap_flags); i++) {
		if (strcasecmp(name, imap_flags[i].name) == 0)
			return imap_flags[i].bit;
	}
	return 0;
}

bool
imap_keywords_has(const char *set, const char *kw, size_t len)
{
	for (const char *p = set; p != NULL && *p != '\0';) {
		size_t m = strcspn(p, " ");

		if (m > 0 && m == len && strncasecmp(p, kw, len) == 0)
			return true;
		p += m;
		while (*p == ' ')
			p++;
	}
	return false;
}

bool
imap_keyword_valid(const char *kw, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)kw[i];

		/* RFC 9051 9: ATOM-CHAR = any CHAR except atom-specials */
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

bool
imap_keywords_add(struct buf *set, const char *kw)
{
	bool added = false;

	for (const char *p = kw; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (n > 0 && !imap_keywords_has(buf_cstr(set), p, n)) {
			size_t before = buf_len(set);

			if ((before == 0 || buf_append_byte(set, ' ') == 0) &&
			    buf_append(set, p, n) == 0)
				added = true;
			else
				buf_truncate(set, before);
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	return added;
}

bool
imap_keywords_merge(char **set, const char *kw)
{
	struct buf b;
	bool added;

	if (kw == NULL || *kw == '\0')
		return false;
	buf_init(&b, 0);
	(void)buf_append_str(&b, *set);
	added = imap_keywords_add(&b, kw);
	if (added) {
		mem_free(set);
		*set = buf_steal_str(&b);
	}
	buf_deinit(&b);
	return added;
}
