/*
 * rfc5322-date.h - Date: field values, parsed and formatted.
 *
 * What it does: parses a date-time (RFC 5322 3.3) into seconds since the
 * epoch and the zone offset it was written in, accepting the obsolete forms
 * of RFC 5322 4.3: comments and folding between any two parts ("09(comment):
 * 55 : 06"), two- and three-digit years (00-49 -> 2000-2049, otherwise +1900),
 * and alphabetic zones: UT and GMT (+0000), the US zones EST EDT CST CDT MST
 * MDT PST PDT with their offsets, and the military letters and any other
 * unknown name of 2 to 5 letters, which mean "-0000" (no zone information).
 * It formats a date-time the way RFC 5322 3.3 writes it, for a server that
 * adds a missing Date: (RFC 6409 8.2) or a Received: field.
 *
 * What it does not do: guess at dates that do not follow the grammar (ISO
 * 8601, ctime(3) format, a missing zone); the caller falls back on what it
 * knows (the arrival time). It does not refuse a date for being far in the
 * past or future: that is policy.
 *
 * Invariants: rfc5322_date_parse() is pure (no I/O, no globals, no TZ);
 * years run from 1900 (RFC 5322 3.3) to 9999; a day must exist in its month;
 * a time of day runs 00:00:00 to 23:59:60 (a leap second counts as the next
 * second's start).
 */
#ifndef MIME_RFC5322_DATE_H
#define MIME_RFC5322_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"

struct rfc5322_date {
	time_t time;            /* the instant, seconds since 1970-01-01 00:00:00 UTC */
	int zone;               /* minutes east of UTC it was written in (+0200: 120) */
	bool zone_unknown;      /* "-0000", military or unknown zone: zone is 0 and
				 * says nothing about the sender's time zone */
	bool wrong_weekday;     /* a day-of-week was given and is not the date's */
};

/*
 * Parse a Date: value (white space and comments around it allowed). Returns 1
 * with *date_r filled, or -1 with *error_r a static English text. A
 * day-of-week that does not match the date is not an error (RFC 5322 3.3
 * says it MUST match; policy decides): wrong_weekday tells.
 */
int rfc5322_date_parse(const uint8_t *value, size_t len, struct rfc5322_date *date_r,
		       const char **error_r);

/*
 * Append `t` as seen in the zone `zone` (minutes east of UTC, -5999..5999)
 * in the RFC 5322 3.3 form "Tue, 1 Jul 2003 10:52:37 +0200". Returns 0, or -1
 * when the local date falls outside the years 1..9999 or out would exceed its
 * maximum (out is then unchanged).
 */
int rfc5322_date_format(time_t t, int zone, struct buf *out);

/*
 * As rfc5322_date_format() in the process's local time zone (localtime_r, so
 * TZ applies): what a server writes when it adds Date: or Received:.
 */
int rfc5322_date_format_local(time_t t, struct buf *out);

#endif
