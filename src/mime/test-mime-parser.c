/*
 * test-mime-parser.c - MIME structure parser and Content-* value parsers.
 *
 * Every message is parsed whole, one byte at a time and split in two at
 * every point; the three trees, written out by dump() (type, flags, header
 * and body offsets and sizes, lines, parameters and the other stored
 * fields), must be identical and equal to the expected text. Expected
 * offsets were counted by hand from the messages below (CRLF = 2 octets).
 */
#include "core/mem.h"
#include "core/test.h"
#include "mime/test-mime-samples.h"
#include "mime/mime-params.h"
#include "mime/mime-parser.h"

#include <stdio.h>
#include <string.h>

static void
dump_params(struct buf *o, const struct mime_params *ps)
{
	for (unsigned i = 0; i < ps->count; i++) {
		const struct mime_param *p = &ps->items[i];

		buf_printf(o, " %s%s=[%s]", p->name, p->raw ? "*raw" : p->extended ? "*" : "",
			   p->value);
	}
}

static void
dump(const struct mime_part *p, struct buf *o)
{
	buf_printf(o, "%*s%s/%s f=%x h=%llu+%llu b=%llu+%llu l=%llu", (int)p->depth * 2, "",
		   p->content_type.type, p->content_type.subtype, p->flags,
		   (unsigned long long)p->header_offset, (unsigned long long)p->header_size,
		   (unsigned long long)p->body_offset, (unsigned long long)p->body_size,
		   (unsigned long long)p->body_lines);
	dump_params(o, &p->content_type.params);
	if (p->encoding_token != NULL)
		buf_printf(o, " enc=%s/%d", p->encoding_token, (int)p->encoding);
	if (p->disposition.type != NULL) {
		buf_printf(o, " disp=%s", p->disposition.type);
		dump_params(o, &p->disposition.params);
	}
	if (p->content_id != NULL)
		buf_printf(o, " id=%s", p->content_id);
	if (p->description != NULL)
		buf_printf(o, " desc=%s", p->description);
	for (unsigned i = 0; i < p->n_languages; i++)
		buf_printf(o, " lang=%s", p->languages[i]);
	for (unsigned i = 0; i < MIME_ENVELOPE_COUNT; i++) {
		if (p->envelope[i] != NULL)
			buf_printf(o, " %s=%s", mime_envelope_field_name(i), p->envelope[i]);
	}
	buf_append_byte(o, '\n');
	for (const struct mime_part *c = p->children; c != NULL; c = c->next)
		dump(c, o);
}

static char *
parse_split(const char *msg, size_t len, size_t step, size_t split,
	    const struct mime_parser_limits *limits)
{
	struct mime_parser *p = mime_parser_new(limits);
	struct mime_part *root;
	struct buf o;

	if (step > 0) {
		for (size_t i = 0; i < len; i += step)
			mime_parser_parse(p, (const uint8_t *)msg + i, len - i < step ? len - i : step);
	} else {
		mime_parser_parse(p, (const uint8_t *)msg, split);
		mime_parser_parse(p, (const uint8_t *)msg + split, len - split);
	}
	root = mime_parser_finish(&p);
	T_ASSERT(p == NULL);
	buf_init(&o, 0);
	dump(root, &o);
	mime_part_free(&root);
	return buf_steal_str(&o);
}

static void
check_limits(const char *msg, const char *expected, const struct mime_parser_limits *limits)
{
	size_t len = strlen(msg);
	char *whole = parse_split(msg, len, 0, len, limits);

	if (!T_STREQ(whole, expected))
		fprintf(stderr, "---- got:\n%s---- expected:\n%s", whole, expected);
	char *bytes = parse_split(msg, len, 1, 0, limits);

	T_STREQ(bytes, whole);
	mem_free(&bytes);
	for (size_t i = 0; i <= len; i++) {
		char *s = parse_split(msg, len, 0, i, limits);

		if (!T_STREQ(s, whole))
			fprintf(stderr, "  split at %zu\n", i);
		mem_free(&s);
	}
	mem_free(&whole);
}

static void
check(const char *msg, const char *expected)
{
	check_limits(msg, expected, NULL);
}

#define MSG_DIGEST \
	"Content-Type: multipart/digest; boundary=d\n" \
	"\n" \
	"--d\n" \
	"\n" \
	"Subject: one\n" \
	"\n" \
	"1\n" \
	"--d\n" \
	"Content-Type: text/plain\n" \
	"--d\n" \
	"\n" \
	"Subject: three\n" \
	"\n" \
	"3\n"

#define MSG_DEEP \
	"Content-Type: multipart/mixed; boundary=a\r\n" \
	"\r\n" \
	"--a\r\n" \
	"Content-Type: multipart/mixed; boundary=b\r\n" \
	"\r\n" \
	"--b\r\n" \
	"\r\n" \
	"x\r\n" \
	"--b--\r\n" \
	"--a\r\n" \
	"\r\n" \
	"y\r\n" \
	"--a\r\n" \
	"\r\n" \
	"z\r\n" \
	"--a--\r\n"

static void
test_plain(void)
{
	check(MSG_PLAIN,
	      "text/plain f=10 h=0+44 b=44+14 l=2 charset=[US-ASCII] Subject=hi From=Ann <ann@example.org>\n");
}

static void
test_mixed(void)
{
	check(MSG_MIXED,
	      "multipart/mixed f=5 h=0+48 b=48+241 l=14 boundary=[b1]\n"
	      "  text/plain f=0 h=64+43 b=107+6 l=1 charset=[utf-8]\n"
	      "  application/pdf f=0 h=124+133 b=257+12 l=0 name=[a.pdf] enc=base64/4 disp=attachment filename=[a.pdf]\n");
}

static void
test_nested(void)
{
	check(MSG_NESTED,
	      "multipart/mixed f=5 h=0+49 b=49+181 l=14 boundary=[outer]\n"
	      "  multipart/alternative f=1 h=58+55 b=113+65 l=6 boundary=[inner]\n"
	      "    text/plain f=10 h=122+2 b=124+5 l=0 charset=[US-ASCII]\n"
	      "    text/html f=0 h=140+27 b=167+11 l=0\n"
	      "  image/png f=0 h=189+27 b=216+3 l=0\n");
}

static void
test_rfc822(void)
{
	check(MSG_RFC822,
	      "multipart/mixed f=5 h=0+49 b=49+278 l=17 boundary=[=_x]\n"
	      "  text/plain f=0 h=56+73 b=129+15 l=1 enc=quoted-printable/3\n"
	      "  message/rfc822 f=2 h=153+58 b=211+105 l=5 desc=fwd\n"
	      "    text/plain f=10 h=211+95 b=306+10 l=0 charset=[US-ASCII] Subject=inner From=Bob <bob@example.net> To=team: a@x.org, b@y.org; Message-ID=<1@x>\n");
}

static void
test_utf8(void)
{
	check(MSG_8BIT,
	      "multipart/mixed f=5 h=0+67 b=67+277 l=12 boundary=[q] Subject=Gr\xc3""\xbc""\xc3""\x9f""e\n"
	      "  text/plain f=0 h=72+189 b=261+2 l=0 charset*=[\xe2""\x82""\xac"" rate] disp=attachment filename*raw=[iso-8859-1'de'%E4pfel.txt] lang=de lang=en\n"
	      "  text/plain f=0 h=270+67 b=337+1 l=0 name*=[long name]\n");
}

/* The second part's header is cut short by a delimiter: the LF before the
 * delimiter is not the header's (a fuzzer find: it lay outside the parent). */
static void
test_digest(void)
{
	check(MSG_DIGEST,
	      "multipart/digest f=1 h=0+44 b=44+73 l=12 boundary=[d]\n"
	      "  message/rfc822 f=12 h=48+1 b=49+15 l=2\n"
	      "    text/plain f=10 h=49+14 b=63+1 l=0 charset=[US-ASCII] Subject=one\n"
	      "  text/plain f=0 h=69+24 b=93+0 l=0\n"
	      "  message/rfc822 f=12 h=98+1 b=99+18 l=3\n"
	      "    text/plain f=10 h=99+16 b=115+2 l=1 charset=[US-ASCII] Subject=three\n");
}

static void
test_deep(void)
{
	check(MSG_DEEP,
	      "multipart/mixed f=5 h=0+45 b=45+94 l=14 boundary=[a]\n"
	      "  multipart/mixed f=5 h=50+45 b=95+15 l=3 boundary=[b]\n"
	      "    text/plain f=10 h=100+2 b=102+1 l=0 charset=[US-ASCII]\n"
	      "  text/plain f=10 h=117+2 b=119+1 l=0 charset=[US-ASCII]\n"
	      "  text/plain f=10 h=127+2 b=129+1 l=0 charset=[US-ASCII]\n");
}

static void
test_limits(void)
{
	struct mime_parser_limits l;

	/* too deep: the inner multipart is a leaf, flagged */
	mime_parser_limits_init_default(&l);
	l.max_depth = 1;
	check_limits(MSG_DEEP,
	      "multipart/mixed f=5 h=0+45 b=45+94 l=14 boundary=[a]\n"
	      "  multipart/mixed f=8 h=50+45 b=95+15 l=3 boundary=[b]\n"
	      "  text/plain f=10 h=117+2 b=119+1 l=0 charset=[US-ASCII]\n"
	      "  text/plain f=10 h=127+2 b=129+1 l=0 charset=[US-ASCII]\n", &l);
	/* too many parts: the rest is the body of the open parts */
	mime_parser_limits_init_default(&l);
	l.max_parts = 3;
	check_limits(MSG_DEEP,
	      "multipart/mixed f=9 h=0+45 b=45+94 l=14 boundary=[a]\n"
	      "  multipart/mixed f=5 h=50+45 b=95+15 l=3 boundary=[b]\n"
	      "    text/plain f=10 h=100+2 b=102+1 l=0 charset=[US-ASCII]\n", &l);
}

/* Fuzzer find: a field over max_field ended the header where that call's
 * input ended, which depended on the split. It ends after the last
 * complete field; the rest of the part is body. */
static void
test_header_limit(void)
{
	struct mime_parser_limits l;

	mime_parser_limits_init_default(&l);
	l.header.max_field = 16;
	/* a first line that is no field ends the header before any limit */
	check_limits("--b\r\nX: 1\r\nSubject: 0123456789\r\n\r\nbody\r\n",
		     "text/plain f=10 h=0+0 b=0+40 l=5 charset=[US-ASCII]\n", &l);
	check_limits("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX: 1\r\n"
		     "Subject: 0123456789\r\n\r\nbody\r\n--b--\r\n",
		     "text/plain f=18 h=0+0 b=0+92 l=8 charset=[US-ASCII]\n", &l);
	l.header.max_field = 64;
	check_limits("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX: 1\r\n"
		     "Subject: 0123456789012345678901234567890123456789012345678901234\r\n\r\n"
		     "body\r\n--b--\r\n",
		     "multipart/mixed f=5 h=0+45 b=45+92 l=6 boundary=[b]\n"
		     "  text/plain f=18 h=50+6 b=56+72 l=2 charset=[US-ASCII]\n", &l);
}

static void
test_odd(void)
{
	check("",
	      "text/plain f=10 h=0+0 b=0+0 l=0 charset=[US-ASCII]\n");
	check("Subject: x",
	      "text/plain f=10 h=0+10 b=10+0 l=0 charset=[US-ASCII] Subject=x\n");
	/* an encoded message/rfc822 cannot be parsed (RFC 2046 5.2.1) */
	check("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nQQ==\r\n",
	      "message/rfc822 f=0 h=0+67 b=67+6 l=1 enc=base64/4\n");
	/* fuzzer find: a part that is only the line break before the next
	 * delimiter is empty, and so is the message it holds; junk after a
	 * delimiter is ignored */
	check("Content-Type: multipart/digest; boundary=d\n\n--d junk\n\n--d\n\nSubject: x\n\n1\n"
	      "--d--\n",
	      "multipart/digest f=5 h=0+44 b=44+35 l=8 boundary=[d]\n"
	      "  message/rfc822 f=12 h=53+0 b=53+0 l=0\n"
	      "    text/plain f=10 h=53+0 b=53+0 l=0 charset=[US-ASCII]\n"
	      "  message/rfc822 f=12 h=58+1 b=59+13 l=2\n"
	      "    text/plain f=10 h=59+12 b=71+1 l=0 charset=[US-ASCII] Subject=x\n");
	/* a multipart without boundary is a leaf */
	check("Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nhi\r\n",
	      "multipart/mixed f=0 h=0+33 b=33+11 l=3\n");
}

static char *
params_str(const char *value)
{
	struct mime_content_type ct;
	const char *error;
	struct buf o;

	buf_init(&o, 0);
	if (mime_content_type_parse((const uint8_t *)value, strlen(value), &ct, &error) < 0) {
		buf_printf(&o, "! %s", error);
		return buf_steal_str(&o);
	}
	buf_printf(&o, "%s/%s", ct.type, ct.subtype);
	dump_params(&o, &ct.params);
	mime_content_type_deinit(&ct);
	return buf_steal_str(&o);
}

static void
check_ct(const char *value, const char *expected)
{
	char *s = params_str(value);

	if (!T_STREQ(s, expected))
		fprintf(stderr, "  value: %s\n", value);
	mem_free(&s);
}

static void
test_content_type(void)
{
	check_ct("text/plain", "text/plain");
	check_ct(" TEXT / Plain (comment) ; CharSet = \"UTF-8\" ;", "text/plain charset=[UTF-8]");
	check_ct("multipart/mixed; boundary=----=_Part_1_2.3", "multipart/mixed boundary=[----=_Part_1_2.3]");
	check_ct("text/plain; a=\"q\\\"x\"; a=second; b=(c)1", "text/plain a=[q\"x] b=[1]");
	check_ct("text", "! Content-Type has no type/subtype");
	check_ct("text/", "! Content-Type has no subtype");
	check_ct("", "! Content-Type has no type/subtype");
	/* RFC 2231 3, 4: continuations, out of order, encoded and mixed */
	check_ct("application/x-stuff; title*2=\"end\"; title*0=\"a \"; title*1=\"b \"",
		 "application/x-stuff title*=[a b end]");
	check_ct("application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
		 "application/x-stuff title*=[This is ***fun***]");
	check_ct("a/b; t*0*=us-ascii'en'This%20is%20even%20more%20; t*1*=%2A%2A%2Afun%2A%2A%2A%20;"
		 " t*2=\"isn't it!\"", "a/b t*=[This is even more ***fun*** isn't it!]");
	check_ct("a/b; n*=UTF-8''%F0%9F%98%80", "a/b n*=[\xf0\x9f\x98\x80]");
	/* not UTF-8 after decoding, or another charset: the raw form */
	check_ct("a/b; n*=utf-8''%E4", "a/b n*raw=[utf-8''%E4]");
	check_ct("a/b; n*=utf-8''%00", "a/b n*raw=[utf-8''%00]");
	check_ct("a/b; n*0*=koi8-r''%F0; n*1=\"a b\"", "a/b n*raw=[koi8-r''%F0a%20b]");
	/* a gap ends the continuation; no section 0: the plain value */
	check_ct("a/b; n*0=x; n*2=z", "a/b n*=[x]");
	check_ct("a/b; n*1=x; n=plain", "a/b n=[plain]");
	check_ct("a/b; n*00x=1", "a/b n*00x=[1]");
	/* junk ends the list, keeping what came before */
	check_ct("a/b; x=1; ; y=2", "a/b x=[1]");
	check_ct("a/b; x=1 junk; y=2", "a/b x=[1]");
}

static void
test_disposition_encoding(void)
{
	struct mime_disposition d;
	const char *error;
	const char *v = "Attachment; FileName=\"x y.txt\"; size=12";

	T_INTEQ(mime_disposition_parse((const uint8_t *)v, strlen(v), &d, &error), 1);
	T_STREQ(d.type, "attachment");
	T_STREQ(mime_params_get(&d.params, "filename"), "x y.txt");
	T_STREQ(mime_params_get(&d.params, "size"), "12");
	T_ASSERT(mime_params_get(&d.params, "none") == NULL);
	mime_disposition_deinit(&d);
	T_INTEQ(mime_disposition_parse((const uint8_t *)";a=b", 4, &d, &error), -1);
	T_ASSERT(d.type == NULL);

	T_INTEQ(mime_encoding_parse((const uint8_t *)" Base64 ", 8), MIME_ENCODING_BASE64);
	T_INTEQ(mime_encoding_parse((const uint8_t *)"quoted-printable(x)", 19),
		MIME_ENCODING_QUOTED_PRINTABLE);
	T_INTEQ(mime_encoding_parse((const uint8_t *)"8BIT", 4), MIME_ENCODING_8BIT);
	T_INTEQ(mime_encoding_parse((const uint8_t *)"binary", 6), MIME_ENCODING_BINARY);
	T_INTEQ(mime_encoding_parse((const uint8_t *)"7bit x", 6), MIME_ENCODING_OTHER);
	T_INTEQ(mime_encoding_parse((const uint8_t *)"", 0), MIME_ENCODING_OTHER);
	T_STREQ(mime_encoding_name(MIME_ENCODING_QUOTED_PRINTABLE), "QUOTED-PRINTABLE");
	T_ASSERT(mime_encoding_name(MIME_ENCODING_OTHER) == NULL);
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_content_type),
		TEST_ENTRY(test_disposition_encoding),
		TEST_ENTRY(test_plain),
		TEST_ENTRY(test_mixed),
		TEST_ENTRY(test_nested),
		TEST_ENTRY(test_rfc822),
		TEST_ENTRY(test_utf8),
		TEST_ENTRY(test_digest),
		TEST_ENTRY(test_deep),
		TEST_ENTRY(test_limits),
		TEST_ENTRY(test_header_limit),
		TEST_ENTRY(test_odd),
		{ NULL, NULL },
	};

	return test_main("mime-parser", tests);
}
