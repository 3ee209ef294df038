/*
 * rfc5322-date.c - RFC 5322 3.3 date-time parser and formatter.
 *
 * The parser reads the value as a token stream (numbers, letter words, and
 * the characters , : + -) with CFWS skipped between tokens, since the
 * obsolete grammar (RFC 5322 4.3) allows CFWS between nearly every part.
 * Where the current grammar needs white space (between day, month, year and
 * time) the token must have had some before it, so "1Jan2000" is refused.
 *
 * Calendar arithmetic is proleptic Gregorian on day counts from 0001-01-01,
 * done here rather than with timegm()/gmtime_r() so that results do not
 * depend on the C library's time_t range handling.
 */
#include "mime/rfc5322-date.h"

#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "mime/rfc5322-chars.h"

#define MAX_ZONE 5999   /* "+9959": two digits of hours, two of minutes */

/* 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z as seconds since the epoch. */
#define T_YEAR_1 (-62135596800LL)
#define T_YEAR_10000 253402300800LL

static const char *const day_names[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const month_names[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const int days_before_month[] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };

enum date_tok_kind {
	DT_END = 0,
	DT_NUMBER,
	DT_WORD,
	DT_CHAR,
};

struct date_tok {
	enum date_tok_kind kind;
	const uint8_t *start;
	size_t len;             /* octets of the token */
	unsigned value;         /* DT_NUMBER, when len <= 9 */
	bool space_before;      /* CFWS came before it */
};

struct date_lexer {
	const uint8_t *p, *end;
	struct date_tok tok;
	const char *error;
};

static bool
is_leap(long year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int
month_days(long year, int month)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return days[month] + (month == 1 && is_leap(year) ? 1 : 0);
}

/* Days from 0001-01-01 to year-01-01 (year >= 1). */
static long long
days_before_year(long year)
{
	long long y = year - 1;

	return y * 365 + y / 4 - y / 100 + y / 400;
}

/* Days since 1970-01-01 of a date; month 0..11. */
static long long
days_from_epoch(long year, int month, int day)
{
	long long days = days_before_year(year) - days_before_year(1970);

	days += days_before_month[month] + (month > 1 && is_leap(year) ? 1 : 0);
	return days + day - 1;
}

/* Day of the week, 0 = Sunday, of a day count since 1970-01-01 (a Thursday). */
static int
weekday(long long days)
{
	long long w = (days + 4) % 7;

	return (int)(w < 0 ? w + 7 : w);
}

static int
lex_fail(struct date_lexer *lx, const char *error)
{
	if (lx->error == NULL)
		lx->error = error;
	return -1;
}

static int
lex_next(struct date_lexer *lx)
{
	struct date_tok *t = &lx->tok;
	const char *err;
	int skipped = rfc5322_skip_cfws(&lx->p, lx->end, &err);

	if (skipped < 0)
		return lex_fail(lx, err);
	memset(t, 0, sizeof(*t));
	t->space_before = skipped > 0;
	t->start = lx->p;
	if (lx->p == lx->end)
		return 0;
	if (rfc5322_is_digit(*lx->p)) {
		t->kind = DT_NUMBER;
		for (; lx->p < lx->end && rfc5322_is_digit(*lx->p); lx->p++) {
			if (++t->len <= 9)
				t->value = t->value * 10 + (unsigned)(*lx->p - '0');
		}
	} else if (rfc5322_is_alpha(*lx->p)) {
		t->kind = DT_WORD;
		for (; lx->p < lx->end && rfc5322_is_alpha(*lx->p); lx->p++)
			t->len++;
	} else if (*lx->p == ',' || *lx->p == ':' || *lx->p == '+' || *lx->p == '-') {
		t->kind = DT_CHAR;
		t->len = 1;
		lx->p++;
	} else {
		return lex_fail(lx, "Invalid character in date");
	}
	return 0;
}

static bool
tok_is_char(const struct date_lexer *lx, char c)
{
	return lx->tok.kind == DT_CHAR && lx->tok.start[0] == (uint8_t)c;
}

/* Index of the current word in a table of three-letter names, or -1. */
static int
tok_name(const struct date_lexer *lx, const char *const *names, int count)
{
	if (lx->tok.kind != DT_WORD || lx->tok.len != 3)
		return -1;
	for (int i = 0; i < count; i++) {
		if (strncasecmp((const char *)lx->tok.start, names[i], 3) == 0)
			return i;
	}
	return -1;
}

/*
 * A number of min..max digits, with white space before it if `space`;
 * then the next token. Returns its value or -1.
 */
static long
take_number(struct date_lexer *lx, size_t min, size_t max, bool space, const char *error)
{
	long value = (long)lx->tok.value;

	if (lx->tok.kind != DT_NUMBER || lx->tok.len < min || lx->tok.len > max ||
	    (space && !lx->tok.space_before))
		return lex_fail(lx, error);
	if (lex_next(lx) < 0)
		return -1;
	return value;
}

struct zone_name {
	const char *name;
	int minutes;
};

/* RFC 5322 4.3 obs-zone. */
static const struct zone_name zone_names[] = {
	{ "UT", 0 }, { "GMT", 0 },
	{ "EST", -5 * 60 }, { "EDT", -4 * 60 },
	{ "CST", -6 * 60 }, { "CDT", -5 * 60 },
	{ "MST", -7 * 60 }, { "MDT", -6 * 60 },
	{ "PST", -8 * 60 }, { "PDT", -7 * 60 },
};

/* zone = ("+" / "-") 4DIGIT / obs-zone, then the end of the value. */
static int
parse_zone(struct date_lexer *lx, struct rfc5322_date *d)
{
	const struct date_tok *t = &lx->tok;

	if (tok_is_char(lx, '+') || tok_is_char(lx, '-')) {
		bool minus = t->start[0] == '-';
		long hhmm;

		if (lex_next(lx) < 0)
			return -1;
		if (t->space_before || (hhmm = take_number(lx, 4, 4, false, "Invalid zone")) < 0)
			return lex_fail(lx, "Invalid zone");
		if (hhmm % 100 > 59)
			return lex_fail(lx, "Invalid zone");
		d->zone = (int)(hhmm / 100 * 60 + hhmm % 100) * (minus ? -1 : 1);
		/* RFC 5322 3.3: "-0000" means no information about the zone */
		d->zone_unknown = minus && hhmm == 0;
		return 0;
	}
	if (t->kind != DT_WORD)
		return lex_fail(lx, "Missing zone");
	for (size_t i = 0; i < N_ELEMENTS(zone_names); i++) {
		if (t->len == strlen(zone_names[i].name) &&
		    strncasecmp((const char *)t->start, zone_names[i].name, t->len) == 0) {
			d->zone = zone_names[i].minutes;
			return lex_next(lx);
		}
	}
	/* military zones (not "J") and other names: treat as -0000 (RFC 5322 4.3) */
	if ((t->len == 1 && (t->start[0] | 0x20) == 'j') || t->len > 5)
		return lex_fail(lx, "Invalid zone");
	d->zone_unknown = true;
	return lex_next(lx);
}

/* time-of-day = hour ":" minute [ ":" second ]; seconds since midnight. */
static long
parse_time_of_day(struct date_lexer *lx)
{
	long hour, minute, second = 0;

	if ((hour = take_number(lx, 2, 2, true, "Invalid hour")) < 0)
		return -1;
	if (!tok_is_char(lx, ':') || lex_next(lx) < 0)
		return lex_fail(lx, "Invalid time");
	if ((minute = take_number(lx, 2, 2, false, "Invalid minute")) < 0)
		return -1;
	if (tok_is_char(lx, ':')) {
		if (lex_next(lx) < 0)
			return -1;
		if ((second = take_number(lx, 2, 2, false, "Invalid second")) < 0)
			return -1;
	}
	if (hour > 23 || minute > 59 || second > 60)
		return lex_fail(lx, "Invalid time");
	return hour * 3600 + minute * 60 + second;
}

/* RFC 5322 4.3: two-digit years 00-49 are 20xx, others and three-digit +1900. */
static long
parse_year(struct date_lexer *lx)
{
	size_t digits = lx->tok.len;
	long year = take_number(lx, 2, 4, true, "Invalid year");

	if (year < 0)
		return -1;
	if (digits == 2)
		year += year < 50 ? 2000 : 1900;
	else if (digits == 3)
		year += 1900;
	if (year < 1900)
		return lex_fail(lx, "Year before 1900");
	return year;
}

static int
parse_date_time(struct date_lexer *lx, struct rfc5322_date *d)
{
	int dow = -1, month;
	long day, year, secs;
	long long days;

	if (lex_next(lx) < 0)
		return -1;
	if (lx->tok.kind == DT_WORD) {
		if ((dow = tok_name(lx, day_names, 7)) < 0)
			return lex_fail(lx, "Invalid day of week");
		if (lex_next(lx) < 0 || !tok_is_char(lx, ',') || lex_next(lx) < 0)
			return lex_fail(lx, "Missing , after day of week");
	}
	if ((day = take_number(lx, 1, 2, false, "Invalid day")) < 0)
		return -1;
	if ((month = tok_name(lx, month_names, 12)) < 0 || !lx->tok.space_before)
		return lex_fail(lx, "Invalid month");
	if (lex_next(lx) < 0 || (year = parse_year(lx)) < 0)
		return -1;
	if (day < 1 || day > month_days(year, month))
		return lex_fail(lx, "Invalid day");
	if ((secs = parse_time_of_day(lx)) < 0 || parse_zone(lx, d) < 0)
		return -1;
	if (lx->tok.kind != DT_END)
		return lex_fail(lx, "Unexpected text after date");
	days = days_from_epoch(year, month, (int)day);
	d->time = (time_t)(days * 86400 + secs - (long long)d->zone * 60);
	d->wrong_weekday = dow >= 0 && dow != weekday(days);
	return 0;
}

int
rfc5322_date_parse(const uint8_t *value, size_t len, struct rfc5322_date *date_r,
		   const char **error_r)
{
	struct date_lexer lx = { .p = value, .end = value + len };

	memset(date_r, 0, sizeof(*date_r));
	if (parse_date_time(&lx, date_r) < 0) {
		memset(date_r, 0, sizeof(*date_r));
		*error_r = lx.error;
		return -1;
	}
	return 1;
}

int
rfc5322_date_format(time_t t, int zone, struct buf *out)
{
	long long local, days, secs, n;
	long year = 1;
	int month = 0, azone = zone < 0 ? -zone : zone;

	if (zone < -MAX_ZONE || zone > MAX_ZONE || (long long)t < T_YEAR_1 - MAX_ZONE * 60 ||
	    (long long)t >= T_YEAR_10000 + MAX_ZONE * 60)
		return -1;
	local = (long long)t + zone * 60;
	if (local < T_YEAR_1 || local >= T_YEAR_10000)
		return -1;
	days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
	secs = local - days * 86400;
	/* days since 0001-01-01; a year has at most 366 days, so start below */
	n = days + days_before_year(1970);
	year = (long)(n / 366) + 1;
	while (days_before_year(year + 1) <= n)
		year++;
	n -= days_before_year(year);
	while (month < 11 && n >= month_days(year, month)) {
		n -= month_days(year, month);
		month++;
	}
	return buf_printf(out, "%s, %d %s %04ld %02d:%02d:%02d %c%02d%02d",
			  day_names[weekday(days)], (int)n + 1, month_names[month], year,
			  (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
			  zone < 0 ? '-' : '+', azone / 60, azone % 60);
}

int
rfc5322_date_format_local(time_t t, struct buf *out)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return -1;
	return rfc5322_date_format(t, (int)(tm.tm_gmtoff / 60), out);
}
