/*
 * sasl-plain.c - see sasl-plain.h. Checks run in a fixed order: separators,
 * then each field's length, emptiness and UTF-8 (RFC 4616 2), so that the
 * reported error is deterministic for a given input.
 */
#include "sasl/sasl-plain.h"

#include <stdbool.h>
#include <string.h>

#include "core/mem.h"
#include "sasl/sasl-text.h"

enum sasl_plain_field {
	SASL_PLAIN_AUTHZID,
	SASL_PLAIN_AUTHCID,
	SASL_PLAIN_PASSWORD,
};

static const struct {
	bool may_be_empty;
	const char *too_long, *empty, *bad_utf8;
} sasl_plain_fields[] = {
	[SASL_PLAIN_AUTHZID] = { true, "authorization identity too long", NULL,
				 "authorization identity is not valid UTF-8" },
	[SASL_PLAIN_AUTHCID] = { false, "authentication identity too long",
				 "empty authentication identity",
				 "authentication identity is not valid UTF-8" },
	[SASL_PLAIN_PASSWORD] = { false, "password too long", "empty password",
				  "password is not valid UTF-8" },
};

static int
sasl_plain_check_field(enum sasl_plain_field f, const uint8_t *p, size_t len,
		       const char **error_r)
{
	if (len > SASL_PLAIN_MAX_FIELD) {
		*error_r = sasl_plain_fields[f].too_long;
		return -1;
	}
	if (len == 0 && !sasl_plain_fields[f].may_be_empty) {
		*error_r = sasl_plain_fields[f].empty;
		return -1;
	}
	if (!sasl_utf8_valid(p, len)) {
		*error_r = sasl_plain_fields[f].bad_utf8;
		return -1;
	}
	return 0;
}

int
sasl_plain_parse(const uint8_t *msg, size_t len, struct sasl_plain **plain_r,
		 const char **error_r)
{
	const uint8_t *nul1, *nul2, *authcid, *passwd;
	size_t zlen, clen, plen;
	struct sasl_plain *plain;

	*plain_r = NULL;
	nul1 = len == 0 ? NULL : memchr(msg, '\0', len);
	nul2 = nul1 == NULL ? NULL : memchr(nul1 + 1, '\0', len - (size_t)(nul1 + 1 - msg));
	if (nul2 == NULL) {
		*error_r = "missing NUL separator";
		return -1;
	}
	authcid = nul1 + 1;
	passwd = nul2 + 1;
	zlen = (size_t)(nul1 - msg);
	clen = (size_t)(nul2 - authcid);
	plen = len - (size_t)(passwd - msg);
	if (memchr(passwd, '\0', plen) != NULL) {
		*error_r = "too many NUL separators";
		return -1;
	}
	if (sasl_plain_check_field(SASL_PLAIN_AUTHZID, msg, zlen, error_r) < 0 ||
	    sasl_plain_check_field(SASL_PLAIN_AUTHCID, authcid, clen, error_r) < 0 ||
	    sasl_plain_check_field(SASL_PLAIN_PASSWORD, passwd, plen, error_r) < 0)
		return -1;

	plain = mem_zalloc(sizeof(*plain));
	plain->authzid = mem_strndup((const char *)msg, zlen);
	plain->authcid = mem_strndup((const char *)authcid, clen);
	plain->password = mem_alloc(plen + 1);
	memcpy(plain->password, passwd, plen);
	plain->password[plen] = '\0';
	*plain_r = plain;
	return 1;
}

void
sasl_plain_free(struct sasl_plain **plain)
{
	struct sasl_plain *p = *plain;

	if (p == NULL)
		return;
	explicit_bzero(p->password, strlen(p->password));
	mem_free(&p->password);
	mem_free(&p->authcid);
	mem_free(&p->authzid);
	mem_free(plain);
}
