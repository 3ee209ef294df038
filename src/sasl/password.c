/*
 * password.c - see password.h.
 *
 * The dummy verification and the "is current" test both need the setting
 * ("$y$<params>$<salt>") libxcrypt would choose today. It is made on each
 * call by crypt_gensalt_rn() from a fixed salt, so it follows libxcrypt's
 * default cost without any global state, and costs microseconds next to the
 * hash itself.
 *
 * struct crypt_data is 32 KiB: it is allocated, not put on the (possibly
 * small) worker thread stack, and wiped before it is freed because it holds
 * a copy of the password.
 */
#include "sasl/password.h"

#include <crypt.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/mem.h"

#define YESCRYPT_PREFIX "$y$"
#define GENERATE_MAX 256

/* 56 characters: digits, lower and upper case letters, less 0 O o 1 l I. */
static const char generate_alphabet[] = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";

static struct crypt_data *
crypt_data_new(void)
{
	return mem_zalloc(sizeof(struct crypt_data));
}

static void
crypt_data_free(struct crypt_data **data)
{
	explicit_bzero(*data, sizeof(**data));
	mem_free(data);
}

/* The setting of a default-cost yescrypt hash with a fixed salt. Returns
 * false only when libxcrypt lacks yescrypt. */
static bool
default_setting(char *out, int size)
{
	static const char fixed_salt[] = "posthorn-dummy-salt";

	return crypt_gensalt_rn(YESCRYPT_PREFIX, 0, fixed_salt, (int)sizeof(fixed_salt) - 1, out,
				size) != NULL;
}

int
password_hash(const char *password, char **hash_r, const char **error_r)
{
	size_t len = strnlen(password, PASSWORD_MAX_LENGTH + 1);
	struct crypt_data *data;
	char *setting, *hash;

	*hash_r = NULL;
	if (len == 0 || len > PASSWORD_MAX_LENGTH) {
		*error_r = len == 0 ? "empty password" : "password too long";
		return -1;
	}
	/* NULL random bytes: libxcrypt takes the salt from the kernel */
	setting = crypt_gensalt_ra(YESCRYPT_PREFIX, 0, NULL, 0);
	if (setting == NULL) {
		*error_r = "cannot make a yescrypt salt";
		return -1;
	}
	data = crypt_data_new();
	hash = crypt_rn(password, setting, data, (int)sizeof(*data));
	free(setting); /* libxcrypt's malloc, not mem_alloc */
	if (hash == NULL) {
		crypt_data_free(&data);
		*error_r = "yescrypt hashing failed";
		return -1;
	}
	*hash_r = mem_strdup(hash);
	crypt_data_free(&data);
	return 1;
}

/* Equality of two len-byte strings in time independent of their contents. */
static bool
equal_const_time(const char *a, const char *b, size_t len)
{
	volatile uint8_t diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= (uint8_t)a[i] ^ (uint8_t)b[i];
	return diff == 0;
}

/* crypt_rn(password, setting) compared with expected. 1, 0 or -1. */
static int
compute_and_compare(const char *password, const char *setting, const char *expected)
{
	struct crypt_data *data = crypt_data_new();
	const char *computed = crypt_rn(password, setting, data, (int)sizeof(*data));
	int ret = -1;

	if (computed != NULL) {
		size_t len = strlen(computed);

		/* the length is not secret: it follows from the scheme */
		ret = len == strlen(expected) && equal_const_time(computed, expected, len) ? 1 : 0;
	}
	crypt_data_free(&data);
	return ret;
}

int
password_verify(const char *password, const char *hash)
{
	size_t hash_len = strnlen(hash, CRYPT_OUTPUT_SIZE);

	if (hash_len == 0 || hash_len == CRYPT_OUTPUT_SIZE ||
	    crypt_checksalt(hash) != CRYPT_SALT_OK)
		return -1;
	if (strnlen(password, PASSWORD_MAX_LENGTH + 1) > PASSWORD_MAX_LENGTH) {
		/* cannot match anything password_hash() made; same cost anyway */
		password_verify_dummy("");
		return 0;
	}
	return compute_and_compare(password, hash, hash);
}

void
password_verify_dummy(const char *password)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	if (!default_setting(setting, sizeof(setting)))
		return;
	if (strnlen(password, PASSWORD_MAX_LENGTH + 1) > PASSWORD_MAX_LENGTH)
		password = "";
	(void)compute_and_compare(password, setting, setting);
}

bool
password_hash_is_current(const char *hash)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char *params_end;
	size_t prefix_len;

	/* "$y$<params>$" is what must match; the salt differs by design */
	if (!default_setting(setting, sizeof(setting)))
		return false;
	params_end = strchr(setting + strlen(YESCRYPT_PREFIX), '$');
	if (params_end == NULL)
		return false;
	prefix_len = (size_t)(params_end - setting) + 1;
	return strncmp(hash, setting, prefix_len) == 0 && crypt_checksalt(hash) == CRYPT_SALT_OK;
}

/* Fills buf with len random bytes from getrandom(2). */
static void
random_fill(uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = getrandom(buf, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			PANIC("getrandom failed (errno %d)", n < 0 ? errno : 0);
		buf += n;
		len -= (size_t)n;
	}
}

char *
password_generate(size_t len)
{
	const size_t alphabet = sizeof(generate_alphabet) - 1;
	/* largest multiple of the alphabet size below 256: no modulo bias */
	const unsigned int limit = 256 - 256 % alphabet;
	uint8_t pool[64];
	size_t used = sizeof(pool), out = 0;
	char *pw;

	if (len == 0 || len > GENERATE_MAX)
		PANIC("password_generate: length %zu out of range", len);
	pw = mem_alloc(len + 1);
	while (out < len) {
		if (used == sizeof(pool)) {
			random_fill(pool, sizeof(pool));
			used = 0;
		}
		if (pool[used] < limit)
			pw[out++] = generate_alphabet[pool[used] % alphabet];
		used++;
	}
	pw[len] = '\0';
	explicit_bzero(pool, sizeof(pool));
	return pw;
}

void
password_free(char **password)
{
	if (*password == NULL)
		return;
	explicit_bzero(*password, strlen(*password));
	mem_free(password);
}
