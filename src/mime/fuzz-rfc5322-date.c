/*
 * fuzz-rfc5322-date.c - libFuzzer target for the Date: parser and formatter.
 *
 * Input: a Date: value. Checks, beyond "no crash": a date that parses is
 * within the years the grammar allows; formatted back in its own zone it
 * parses to the same instant and zone, with a matching day of the week.
 */
#include "core/buf.h"
#include "mime/rfc5322-date.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1900-01-01 and 10000-01-01, UTC, as seconds since the epoch. */
#define T_1900 (-2208988800LL)
#define T_10000 253402300800LL

static void
check(bool ok)
{
	if (!ok)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rfc5322_date d, again;
	struct buf out;
	const char *err = NULL;
	long long local;

	if (rfc5322_date_parse(data, size, &d, &err) < 0) {
		check(err != NULL && d.time == 0 && d.zone == 0);
		return 0;
	}
	check(d.zone >= -5999 && d.zone <= 5999);
	check(!d.zone_unknown || d.zone == 0);
	local = (long long)d.time + d.zone * 60;
	/* a leap second on the last day of 9999 is the first second of 10000 */
	check(local >= T_1900 && local <= T_10000);
	if (local == T_10000)
		return 0;
	buf_init(&out, 64);
	check(rfc5322_date_format(d.time, d.zone, &out) == 0);
	check(rfc5322_date_parse(buf_data(&out), buf_len(&out), &again, &err) == 1);
	check(again.time == d.time && again.zone == d.zone && !again.wrong_weekday);
	buf_deinit(&out);
	return 0;
}
