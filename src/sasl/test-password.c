/*
 * test-password.c - yescrypt hashing, verification, the dummy check and
 * random passwords (password.c). Each hash costs ~0.1 s, so the cases are
 * few and share work where they can.
 */
#include "sasl/password.h"
#include "core/mem.h"
#include "core/test.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

static void
test_hash_verify(void)
{
	const char *error = NULL;
	char *hash = NULL, *hash2 = NULL;

	T_INTEQ(password_hash("correct horse", &hash, &error), 1);
	if (!T_ASSERT(hash != NULL))
		return;
	T_ASSERT(strncmp(hash, "$y$", 3) == 0);
	T_INTEQ(password_verify("correct horse", hash), 1);
	T_INTEQ(password_verify("correct horsE", hash), 0);
	T_INTEQ(password_verify("correct hors", hash), 0);
	T_INTEQ(password_verify("", hash), 0);
	T_ASSERT(password_hash_is_current(hash));
	/* same password, new salt: a different hash that verifies too */
	T_INTEQ(password_hash("correct horse", &hash2, &error), 1);
	T_ASSERT(hash2 != NULL && strcmp(hash, hash2) != 0);
	T_INTEQ(password_verify("correct horse", hash2), 1);
	mem_free(&hash);
	mem_free(&hash2);
}

static void
test_hash_errors(void)
{
	const char *error = NULL;
	char *hash = (char *)"x";
	char long_pw[PASSWORD_MAX_LENGTH + 2];

	T_INTEQ(password_hash("", &hash, &error), -1);
	T_ASSERT(hash == NULL);
	T_STREQ(error, "empty password");
	memset(long_pw, 'a', sizeof(long_pw) - 1);
	long_pw[sizeof(long_pw) - 1] = '\0';
	T_INTEQ(password_hash(long_pw, &hash, &error), -1);
	T_STREQ(error, "password too long");
	long_pw[PASSWORD_MAX_LENGTH] = '\0';
	T_INTEQ(password_hash(long_pw, &hash, &error), 1);
	T_INTEQ(password_verify(long_pw, hash), 1);
	long_pw[PASSWORD_MAX_LENGTH] = 'a';
	T_INTEQ(password_verify(long_pw, hash), 0);
	mem_free(&hash);
}

static void
test_bad_hashes(void)
{
	/* a real hash of "secret", then damaged copies of it */
	const char *good = "$y$j9T$kGNkcBos/Jfb7VtWxNmis0$"
			   "2.aswEBIZ5vCdRD7GuBKM4V4qNZN6PxrGwPiydjQnH.";

	T_INTEQ(password_verify("secret", good), 1);
	T_INTEQ(password_verify("Secret", good), 0);
	T_INTEQ(password_verify("secret", ""), -1);
	T_INTEQ(password_verify("secret", "*"), -1);
	T_INTEQ(password_verify("secret", "!"), -1);
	T_INTEQ(password_verify("secret", "$y$"), -1);
	T_INTEQ(password_verify("secret", "$y$j9T$short"), -1);
	T_INTEQ(password_verify("secret", "$y$j9T"), -1);
	T_INTEQ(password_verify("secret", "$z$j9T$kGNkcBos/Jfb7VtWxNmis0$2.aswE"), -1);
	T_INTEQ(password_verify("secret", "plain text"), -1);
	/* legacy schemes are refused even when well-formed */
	T_INTEQ(password_verify("secret", "garbage"), -1);              /* DES */
	T_INTEQ(password_verify("secret", "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1"), -1); /* MD5 */
	/* a changed hash character: still well-formed, no longer matching */
	T_INTEQ(password_verify("secret", "$y$j9T$kGNkcBos/Jfb7VtWxNmis0$"
					  "2.aswEBIZ5vCdRD7GuBKM4V4qNZN6PxrGwPiydjQnI."),
		0);
	T_ASSERT(!password_hash_is_current("$6$salt$abc"));
	T_ASSERT(!password_hash_is_current("$y$j9T"));
}

/* An imported SHA-512 crypt hash ("$6$") verifies, and is not current. */
static void
test_imported_sha512(void)
{
	const char *sha512 = "$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterL"
			     "p8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/";

	T_INTEQ(password_verify("password", sha512), 1);
	T_INTEQ(password_verify("passwore", sha512), 0);
	T_ASSERT(!password_hash_is_current(sha512));
}

static double
elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* The dummy costs about as much as a real verification. Loose bounds on the
 * fastest of three runs each: a sanity check, not a benchmark, and not
 * flaky on a busy machine. */
static void
test_dummy_cost(void)
{
	const char *error;
	char *hash;
	struct timespec t0, t1, t2;
	double real = 1e9, dummy = 1e9;

	T_INTEQ(password_hash("pw", &hash, &error), 1);
	for (int i = 0; i < 3; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		T_INTEQ(password_verify("wrong", hash), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		password_verify_dummy("wrong");
		clock_gettime(CLOCK_MONOTONIC, &t2);
		if (elapsed_ms(&t0, &t1) < real)
			real = elapsed_ms(&t0, &t1);
		if (elapsed_ms(&t1, &t2) < dummy)
			dummy = elapsed_ms(&t1, &t2);
	}
	T_ASSERT(dummy > real / 3 && dummy < real * 3);
	mem_free(&hash);
}

static void
test_generate(void)
{
	static const char alphabet[] = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
	unsigned int seen[256] = { 0 };

	for (size_t len = 1; len <= 256; len += 51) {
		char *pw = password_generate(len);

		T_INTEQ(strlen(pw), len);
		T_INTEQ(strspn(pw, alphabet), len);
		password_free(&pw);
		T_ASSERT(pw == NULL);
	}
	/* every character of the alphabet turns up, and no look-alike does */
	for (int i = 0; i < 40; i++) {
		char *pw = password_generate(256);

		for (const char *p = pw; *p != '\0'; p++)
			seen[(unsigned char)*p]++;
		password_free(&pw);
	}
	for (const char *a = alphabet; *a != '\0'; a++)
		T_ASSERT(seen[(unsigned char)*a] > 0);
	for (const char *a = "0Oo1lI"; *a != '\0'; a++)
		T_INTEQ(seen[(unsigned char)*a], 0);
	char *a = password_generate(20), *b = password_generate(20);

	T_ASSERT(strcmp(a, b) != 0);
	password_free(&a);
	password_free(&b);
	password_free(&a); /* NULL is fine */
}

static void *
verify_thread(void *arg)
{
	const char *hash = arg;
	int ok = password_verify("threads", hash) == 1 && password_verify("x", hash) == 0;

	return ok ? (void *)hash : NULL;
}

/* Concurrent verification on worker threads gives the same answers. */
static void
test_threads(void)
{
	const char *error;
	char *hash;
	pthread_t t[4];
	void *ret;

	T_INTEQ(password_hash("threads", &hash, &error), 1);
	for (int i = 0; i < 4; i++)
		T_INTEQ(pthread_create(&t[i], NULL, verify_thread, hash), 0);
	for (int i = 0; i < 4; i++) {
		T_INTEQ(pthread_join(t[i], &ret), 0);
		T_ASSERT(ret == hash);
	}
	mem_free(&hash);
}

static const struct test tests[] = {
	TEST_ENTRY(test_hash_verify),
	TEST_ENTRY(test_hash_errors),
	TEST_ENTRY(test_bad_hashes),
	TEST_ENTRY(test_imported_sha512),
	TEST_ENTRY(test_dummy_cost),
	TEST_ENTRY(test_generate),
	TEST_ENTRY(test_threads),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("password", tests);
}
