/*
 * test-rfc5322-date.c - Date: parser and formatter, Message-ID generator.
 *
 * Parsed dates are described as "TIME ZONE [unknown] [wrong-weekday]" and
 * compared to values computed independently (Python's calendar.timegm). The
 * formatter is checked against fixed strings and by round trips through the
 * parser over a wide range of instants and zones.
 */
#include "core/mem.h"
#include "core/test.h"
#include "mime/rfc5322-date.h"
#include "mime/rfc5322-message-id.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
check(const char *value, const char *expected)
{
	struct rfc5322_date d;
	const char *err = NULL;
	char got[200];

	if (rfc5322_date_parse((const uint8_t *)value, strlen(value), &d, &err) < 0) {
		T_ASSERT(d.time == 0 && d.zone == 0);
		snprintf(got, sizeof(got), "! %s", err);
	} else {
		snprintf(got, sizeof(got), "%lld %+d%s%s", (long long)d.time, d.zone,
			 d.zone_unknown ? " unknown" : "", d.wrong_weekday ? " wrong-weekday" : "");
	}
	if (!T_STREQ(got, expected))
		fprintf(stderr, "  value: %s\n", value);
}

static void
test_parse_current(void)
{
	check("Fri, 21 Nov 1997 09:55:06 -0600", "880127706 -360");
	check("21 Nov 1997 09:55:06 -0600", "880127706 -360");
	check("Fri, 21 Nov 1997 09:55 -0600", "880127700 -360");
	check("Tue, 1 Jul 2003 10:52:37 +0200", "1057049557 +120");
	check("Tue, 01 Jul 2003 10:52:37 +0200", "1057049557 +120");
	check("Thu, 13 Feb 1969 23:32:54 -0330", "-27723426 -210");
	check("Thu, 1 Jan 1970 00:00:00 +0000", "0 +0");
	check("Mon, 1 Jan 1900 00:00:00 +0000", "-2208988800 +0");
	check("Fri, 31 Dec 9999 23:59:59 +0000", "253402300799 +0");
	check("Fri, 31 Dec 9999 23:59:59 -9959", "253402660739 -5999");
	/* names are case-insensitive (RFC 5234 2.3) */
	check("fri, 21 NOV 1997 09:55:06 -0600", "880127706 -360");
	/* leap days and seconds */
	check("Tue, 29 Feb 2000 00:00:00 +0000", "951782400 +0");
	check("29 Feb 2004 00:00:00 +0000", "1078012800 +0");
	check("29 Feb 1900 00:00:00 +0000", "! Invalid day");
	check("29 Feb 2001 00:00:00 +0000", "! Invalid day");
	check("31 Dec 2016 23:59:60 +0000", "1483228800 +0");
	/* a day-of-week that is not the date's is reported, not refused */
	check("Mon, 21 Nov 1997 09:55:06 -0600", "880127706 -360 wrong-weekday");
	/* "-0000": no zone information (RFC 5322 3.3) */
	check("21 Nov 1997 09:55:06 -0000", "880106106 +0 unknown");
	check("21 Nov 1997 09:55:06 +0000", "880106106 +0");
}

static void
test_parse_obsolete(void)
{
	/* RFC 5322 4.3: two- and three-digit years */
	check("21 Nov 97 09:55:06 GMT", "880106106 +0");
	check("1 Jan 49 00:00:00 +0000", "2493072000 +0");
	check("1 Jan 50 00:00:00 +0000", "-631152000 +0");
	check("1 Jan 103 00:00:00 +0000", "1041379200 +0");
	/* named zones */
	check("1 Jan 1970 00:00:00 UT", "0 +0");
	check("1 Jan 1970 00:00:00 gmt", "0 +0");
	check("1 Jan 1970 00:00:00 EST", "18000 -300");
	check("1 Jan 1970 00:00:00 EDT", "14400 -240");
	check("1 Jan 1970 00:00:00 CST", "21600 -360");
	check("1 Jan 1970 00:00:00 CDT", "18000 -300");
	check("1 Jan 1970 00:00:00 MST", "25200 -420");
	check("1 Jan 1970 00:00:00 MDT", "21600 -360");
	check("1 Jan 1970 00:00:00 PST", "28800 -480");
	check("1 Jan 1970 00:00:00 PDT", "25200 -420");
	/* military and unknown zones mean -0000 */
	check("1 Jan 1970 00:00:00 Z", "0 +0 unknown");
	check("1 Jan 1970 00:00:00 a", "0 +0 unknown");
	check("1 Jan 1970 00:00:00 CEST", "0 +0 unknown");
	check("1 Jan 1970 00:00:00 J", "! Invalid zone");
	check("1 Jan 1970 00:00:00 ABCDEF", "! Invalid zone");
	/* CFWS everywhere (A.5, A.6.3) */
	check("Fri, 21 Nov 1997 09(comment):   55  :  06 -0600", "880127706 -360");
	check(" Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n"
	      "               -0330 (Newfoundland Time)", "-27723480 -210");
	check("(c) Fri (c) , (c) 21 (c) Nov (c) 1997 (c) 09 (c) : (c) 55 (c) -0600 (c)",
	      "880127700 -360");
	check("Fri, 21 Nov 1997 09:55:06GMT", "880106106 +0");
	check("Fri, 21 Nov 1997 09:55:06 -0600\r\n", "880127706 -360");
}

static void
test_parse_errors(void)
{
	check("", "! Invalid day");
	check("   ", "! Invalid day");
	check("Fri 21 Nov 1997 09:55:06 -0600", "! Missing , after day of week");
	check("Fry, 21 Nov 1997 09:55:06 -0600", "! Invalid day of week");
	check("Friday, 21 Nov 1997 09:55:06 -0600", "! Invalid day of week");
	check("Fri, 21 Nov 1997 09:55:06", "! Missing zone");
	check("Fri, 21 Nov 1997 9:55:06 -0600", "! Invalid hour");
	check("Fri, 21 Nov 1997 09:5:06 -0600", "! Invalid minute");
	check("Fri, 21 Nov 1997 09:55:6 -0600", "! Invalid second");
	check("Fri, 21 Nov 1997 0955 -0600", "! Invalid hour");
	check("Fri, 21 Nov 1997 09 -0600", "! Invalid time");
	check("Fri, 21 Foo 1997 09:55:06 -0600", "! Invalid month");
	check("Fri, 21Nov 1997 09:55:06 -0600", "! Invalid month");
	check("Fri, 21 Nov1997 09:55:06 -0600", "! Invalid year");
	check("Fri, 21 Nov 1997T09:55:06 -0600", "! Invalid hour");
	check("Fri, 21 Nov 1 09:55:06 -0600", "! Invalid year");
	check("Fri, 21 Nov 19970 09:55:06 -0600", "! Invalid year");
	check("Fri, 21 Nov 1899 09:55:06 -0600", "! Year before 1900");
	check("Fri, 21 Nov 0000 09:55:06 -0600", "! Year before 1900");
	check("Fri, 32 Nov 1997 09:55:06 -0600", "! Invalid day");
	check("Fri, 31 Nov 1997 09:55:06 -0600", "! Invalid day");
	check("Fri, 0 Nov 1997 09:55:06 -0600", "! Invalid day");
	check("Fri, 123 Nov 1997 09:55:06 -0600", "! Invalid day");
	check("Fri, 21 Nov 1997 24:00:00 -0600", "! Invalid time");
	check("Fri, 21 Nov 1997 23:60:00 -0600", "! Invalid time");
	check("Fri, 21 Nov 1997 23:59:61 -0600", "! Invalid time");
	check("Fri, 21 Nov 1997 09:55:06 -060", "! Invalid zone");
	check("Fri, 21 Nov 1997 09:55:06 -06000", "! Invalid zone");
	check("Fri, 21 Nov 1997 09:55:06 -0660", "! Invalid zone");
	check("Fri, 21 Nov 1997 09:55:06 - 0600", "! Invalid zone");
	check("Fri, 21 Nov 1997 09:55:06 0600", "! Missing zone");
	check("Fri, 21 Nov 1997 09:55:06 -0600 extra", "! Unexpected text after date");
	check("Fri, 21 Nov 1997 09:55:06 -0600 (open", "! Unterminated comment");
	check("Fri, 21 Nov 1997 09:55:06 -0600\r\nX", "! Line break not followed by white space");
	check("Fri, 21 Nov 1997 09:55:06.5 -0600", "! Invalid character in date");
	check("2024-01-01T00:00:00Z", "! Invalid day");
	check("Fri, 21 Nov 1997 09:55:06 \xc3\xa4", "! Invalid character in date");
	check("Fri, 21 Nov 1997 99999999999999999999:55:06 -0600", "! Invalid hour");
}

static const char *
format(time_t t, int zone, struct buf *out)
{
	buf_reset(out);
	if (rfc5322_date_format(t, zone, out) < 0)
		return "-1";
	return buf_cstr(out);
}

static void
test_format(void)
{
	struct buf out;

	buf_init(&out, 0);
	T_STREQ(format(880127706, -360, &out), "Fri, 21 Nov 1997 09:55:06 -0600");
	T_STREQ(format(0, 0, &out), "Thu, 1 Jan 1970 00:00:00 +0000");
	T_STREQ(format(-27723426, -210, &out), "Thu, 13 Feb 1969 23:32:54 -0330");
	T_STREQ(format(1057049557, 120, &out), "Tue, 1 Jul 2003 10:52:37 +0200");
	T_STREQ(format(951782400, 0, &out), "Tue, 29 Feb 2000 00:00:00 +0000");
	T_STREQ(format(951782399, 0, &out), "Mon, 28 Feb 2000 23:59:59 +0000");
	T_STREQ(format(-1, 0, &out), "Wed, 31 Dec 1969 23:59:59 +0000");
	T_STREQ(format(-1, 1, &out), "Thu, 1 Jan 1970 00:00:59 +0001");
	T_STREQ(format(253402300799, 0, &out), "Fri, 31 Dec 9999 23:59:59 +0000");
	T_STREQ(format(253402300800, 0, &out), "-1");
	T_STREQ(format(253402300800, -60, &out), "Fri, 31 Dec 9999 23:00:00 -0100");
	T_STREQ(format(-62135596800, 0, &out), "Mon, 1 Jan 0001 00:00:00 +0000");
	T_STREQ(format(-62135596801, 0, &out), "-1");
	T_STREQ(format(0, 5999, &out), "Mon, 5 Jan 1970 03:59:00 +9959");
	T_STREQ(format(0, 6000, &out), "-1");
	T_STREQ(format(0, -6000, &out), "-1");
	T_STREQ(format((time_t)INT64_MAX, 0, &out), "-1");
	T_STREQ(format((time_t)INT64_MIN, 0, &out), "-1");
	buf_deinit(&out);
	/* a bounded buffer too small: -1, unchanged */
	buf_init(&out, 10);
	buf_append_str(&out, "x");
	T_INTEQ(rfc5322_date_format(0, 0, &out), -1);
	T_STREQ(buf_cstr(&out), "x");
	buf_deinit(&out);
}

static void
test_format_roundtrip(void)
{
	struct buf out;
	struct rfc5322_date d;
	const char *err;
	unsigned failures = 0;

	/* 1900-01-06 .. 9999-12-26 in odd steps, zones across the range: the
	 * local date stays within the years the parser takes */
	buf_init(&out, 0);
	for (long long t = -2208556800LL; t < 253401868800LL; t += 7777777LL * 13 + 12345) {
		for (int zone = -5999; zone <= 5999; zone += 1237) {
			buf_reset(&out);
			if (rfc5322_date_format((time_t)t, zone, &out) < 0 ||
			    rfc5322_date_parse(buf_data(&out), buf_len(&out), &d, &err) < 0 ||
			    d.time != (time_t)t || d.zone != zone || d.wrong_weekday) {
				if (failures++ < 5)
					fprintf(stderr, "  roundtrip %lld %d: %s\n", t, zone,
						buf_cstr(&out));
			}
		}
	}
	T_INTEQ(failures, 0);
	buf_deinit(&out);
}

static void
test_format_local(void)
{
	struct buf out;

	buf_init(&out, 0);
	/* POSIX TZ strings: no zone database needed */
	setenv("TZ", "UTC0", 1);
	tzset();
	T_INTEQ(rfc5322_date_format_local(880127706, &out), 0);
	T_STREQ(buf_cstr(&out), "Fri, 21 Nov 1997 15:55:06 +0000");
	setenv("TZ", "XYZ-5:30", 1);
	tzset();
	buf_reset(&out);
	T_INTEQ(rfc5322_date_format_local(880127706, &out), 0);
	T_STREQ(buf_cstr(&out), "Fri, 21 Nov 1997 21:25:06 +0530");
	setenv("TZ", "ABC7", 1);
	tzset();
	buf_reset(&out);
	T_INTEQ(rfc5322_date_format_local(880127706, &out), 0);
	T_STREQ(buf_cstr(&out), "Fri, 21 Nov 1997 08:55:06 -0700");
	unsetenv("TZ");
	tzset();
	buf_deinit(&out);
}

/* "<" 26 base32 characters "@" host ">" */
static bool
is_message_id(const char *s, const char *host)
{
	size_t len = strlen(s), hlen = strlen(host);

	if (len != 1 + RFC5322_MESSAGE_ID_RANDOM_LEN + 1 + hlen + 1 || s[0] != '<' ||
	    s[len - 1] != '>' || s[1 + RFC5322_MESSAGE_ID_RANDOM_LEN] != '@' ||
	    strncmp(s + 2 + RFC5322_MESSAGE_ID_RANDOM_LEN, host, hlen) != 0)
		return false;
	for (size_t i = 1; i <= RFC5322_MESSAGE_ID_RANDOM_LEN; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '2' && s[i] <= '7')))
			return false;
	}
	return true;
}

static void
test_message_id(void)
{
	struct buf a, b;
	const char *err = NULL;
	static const char *const bad_hosts[] = {
		"", ".", ".a", "a.", "a..b", "a b", "[192.0.2.1]", "a@b", "h\xc3\xa4.example",
	};

	buf_init(&a, 0);
	buf_init(&b, 0);
	T_INTEQ(rfc5322_message_id_generate("mx.example.com", &a, &err), 0);
	T_INTEQ(rfc5322_message_id_generate("mx.example.com", &b, &err), 0);
	T_ASSERT(is_message_id(buf_cstr(&a), "mx.example.com"));
	T_ASSERT(is_message_id(buf_cstr(&b), "mx.example.com"));
	T_ASSERT(strcmp(buf_cstr(&a), buf_cstr(&b)) != 0);
	buf_reset(&a);
	T_INTEQ(rfc5322_message_id_generate("localhost", &a, &err), 0);
	T_ASSERT(is_message_id(buf_cstr(&a), "localhost"));
	for (size_t i = 0; i < N_ELEMENTS(bad_hosts); i++) {
		err = NULL;
		buf_reset(&a);
		T_INTEQ(rfc5322_message_id_generate(bad_hosts[i], &a, &err), -1);
		T_STREQ(err, "Host name is not a dot-atom");
		T_INTEQ(buf_len(&a), 0);
	}
	buf_deinit(&a);
	buf_deinit(&b);
	/* a bounded buffer too small: -1, unchanged */
	buf_init(&a, 20);
	T_INTEQ(rfc5322_message_id_generate("mx.example.com", &a, &err), -1);
	T_INTEQ(buf_len(&a), 0);
	buf_deinit(&a);
}

static const struct test tests[] = {
	TEST_ENTRY(test_parse_current),
	TEST_ENTRY(test_parse_obsolete),
	TEST_ENTRY(test_parse_errors),
	TEST_ENTRY(test_format),
	TEST_ENTRY(test_format_roundtrip),
	TEST_ENTRY(test_format_local),
	TEST_ENTRY(test_message_id),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("rfc5322-date", tests);
}
