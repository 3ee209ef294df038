/*
 * fuzz-sasl-plain.c - libFuzzer target for sasl_plain_parse().
 *
 * Input: one decoded PLAIN message. Checks that an accepted message is
 * exactly authzid NUL authcid NUL password (the parse loses and invents
 * nothing) and that every field respects the documented limits.
 */
#include "sasl/sasl-plain.h"
#include "core/mem.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sasl_plain *p;
	const char *error = NULL;
	size_t zl, cl, pl;

	if (sasl_plain_parse(data, size, &p, &error) < 0) {
		ASSERT(p == NULL && error != NULL);
		return 0;
	}
	zl = strlen(p->authzid);
	cl = strlen(p->authcid);
	pl = strlen(p->password);
	ASSERT(zl <= SASL_PLAIN_MAX_FIELD && cl <= SASL_PLAIN_MAX_FIELD &&
	       pl <= SASL_PLAIN_MAX_FIELD);
	ASSERT(cl > 0 && pl > 0);
	ASSERT(zl + 1 + cl + 1 + pl == size);
	ASSERT(memcmp(data, p->authzid, zl) == 0 && data[zl] == '\0');
	ASSERT(memcmp(data + zl + 1, p->authcid, cl) == 0 && data[zl + 1 + cl] == '\0');
	ASSERT(memcmp(data + zl + cl + 2, p->password, pl) == 0);
	sasl_plain_free(&p);
	return 0;
}
