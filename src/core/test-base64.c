/* test-base64.c - RFC 4648 base64: test vectors, round trips, strict rejection. */
#include "core/base64.h"
#include "core/mem.h"
#include "core/test.h"

#include <string.h>

/* RFC 4648 10 test vectors. */
static const struct {
	const char *plain;
	const char *encoded;
} vectors[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void
test_base64_rfc4648_vectors(void)
{
	for (size_t i = 0; i < N_ELEMENTS(vectors); i++) {
		struct buf b;

		buf_init(&b, 0);
		T_INTEQ(base64_encode(&b, vectors[i].plain, strlen(vectors[i].plain)), 0);
		T_STREQ(buf_cstr(&b), vectors[i].encoded);
		T_INTEQ(buf_len(&b), base64_encoded_len(strlen(vectors[i].plain)));
		buf_reset(&b);
		T_INTEQ(base64_decode(&b, vectors[i].encoded, strlen(vectors[i].encoded)), 0);
		T_MEMEQ(buf_data(&b), buf_len(&b), vectors[i].plain, strlen(vectors[i].plain));
		buf_deinit(&b);
	}
}

static void
test_base64_all_bytes_roundtrip(void)
{
	uint8_t data[256];
	struct buf enc, dec;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(255 - i);
	for (size_t len = 0; len <= sizeof(data); len++) {
		buf_init(&enc, 0);
		buf_init(&dec, 0);
		T_INTEQ(base64_encode(&enc, data, len), 0);
		T_INTEQ(buf_len(&enc) % 4, 0);
		T_INTEQ(base64_decode(&dec, buf_cstr(&enc), buf_len(&enc)), 0);
		T_MEMEQ(buf_data(&dec), buf_len(&dec), data, len);
		T_ASSERT(buf_len(&dec) <= base64_decoded_max_len(buf_len(&enc)));
		buf_deinit(&enc);
		buf_deinit(&dec);
	}
}

static void
test_base64_alphabet(void)
{
	/* 0xfb 0xff 0xbf uses the two non-alphanumeric characters. */
	static const uint8_t bytes[] = { 0xfb, 0xff, 0xbf, 0x00, 0x10, 0x83 };
	struct buf b;

	buf_init(&b, 0);
	T_INTEQ(base64_encode(&b, bytes, sizeof(bytes)), 0);
	T_STREQ(buf_cstr(&b), "+/+/ABCD");
	buf_reset(&b);
	T_INTEQ(base64_decode(&b, "+/+/ABCD", 8), 0);
	T_MEMEQ(buf_data(&b), buf_len(&b), bytes, sizeof(bytes));
	buf_deinit(&b);
}

static void
test_base64_reject(void)
{
	static const char *const bad[] = {
		"Zg",        /* missing padding (length not a multiple of 4) */
		"Zg=",       /* short padding */
		"Zg===",     /* too much padding */
		"====",      /* padding only */
		"Z===",      /* three pad characters */
		"Zm9v=",     /* padding after a full quantum */
		"Zg==Zm9v",  /* padding in the middle */
		"Zm=v",      /* '=' not at the end */
		"Zh==",      /* non-zero unused bits (RFC 4648 3.5) */
		"Zm9=",      /* non-zero unused bits */
		"Zm9v\n",    /* whitespace is not skipped */
		"Zm 9v",
		"Zm9-",      /* URL-safe alphabet is not accepted */
		"Zm9_",
		"Zm9\x80",
	};
	struct buf b;

	buf_init(&b, 0);
	T_INTEQ(buf_append_str(&b, "keep"), 0);
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		if (base64_decode(&b, bad[i], strlen(bad[i])) != -1)
			T_STREQ(bad[i], "(should have been rejected)");
		T_STREQ(buf_cstr(&b), "keep");
	}
	/* a NUL byte inside the counted input */
	T_INTEQ(base64_decode(&b, "Zm\0v", 4), -1);
	T_STREQ(buf_cstr(&b), "keep");
	buf_deinit(&b);
}

static void
test_base64_limit(void)
{
	struct buf b;

	buf_init(&b, 5);
	T_INTEQ(base64_encode(&b, "foo", 3), 0);
	T_INTEQ(base64_encode(&b, "foo", 3), -1);
	T_STREQ(buf_cstr(&b), "Zm9v");
	buf_reset(&b);
	T_INTEQ(base64_decode(&b, "Zm9vYmFy", 8), -1);
	T_INTEQ(buf_len(&b), 0);
	T_INTEQ(base64_decode(&b, "Zm9vYg==", 8), 0);
	T_STREQ(buf_cstr(&b), "foob");
	buf_deinit(&b);
}

static void
test_base64_append(void)
{
	struct buf b;

	buf_init(&b, 0);
	T_INTEQ(buf_append_str(&b, "x:"), 0);
	T_INTEQ(base64_encode(&b, "fo", 2), 0);
	T_STREQ(buf_cstr(&b), "x:Zm8=");
	T_INTEQ(base64_decode(&b, "Zm8=", 4), 0);
	T_STREQ(buf_cstr(&b), "x:Zm8=fo");
	buf_deinit(&b);
}

static const struct test tests[] = {
	TEST_ENTRY(test_base64_rfc4648_vectors),
	TEST_ENTRY(test_base64_all_bytes_roundtrip),
	TEST_ENTRY(test_base64_alphabet),
	TEST_ENTRY(test_base64_reject),
	TEST_ENTRY(test_base64_limit),
	TEST_ENTRY(test_base64_append),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("base64", tests);
}
