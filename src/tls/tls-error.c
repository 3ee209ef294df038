/*
 * tls-error.c - OpenSSL's per-thread error queue as one line of text.
 *
 * Does: turn every queued error into its reason string (plus OpenSSL's
 * detail text when there is some), join them, clear the queue.
 * Does not: log; keep anything between calls except the per-thread buffer
 * that tls.h documents.
 */
#include "tls/tls-private.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TLS_ERROR_MAX 1024

static _Thread_local char tls_error_buf[TLS_ERROR_MAX];

/* Append text at *pos of dst, cutting at the end; keeps dst terminated. */
static void
tls_error_append(char *dst, size_t dstsize, size_t *pos, const char *text)
{
	int n;

	if (*pos + 1 >= dstsize)
		return;
	n = snprintf(dst + *pos, dstsize - *pos, "%s", text);
	if (n < 0)
		return;
	*pos += (size_t)n < dstsize - *pos ? (size_t)n : dstsize - *pos - 1;
}

char *
tls_error_format(char *dst, size_t dstsize, const char *what)
{
	const char *data, *reason, *sep = "";
	unsigned long e, last = 0;
	char code[32];
	size_t pos = 0;
	int flags;

	dst[0] = '\0';
	if (what != NULL) {
		tls_error_append(dst, dstsize, &pos, what);
		sep = ": ";
	}
	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		if (e == last)
			continue;
		last = e;
		reason = ERR_reason_error_string(e);
		if (reason == NULL) {
			snprintf(code, sizeof(code), "error %08lx", e);
			reason = code;
		}
		tls_error_append(dst, dstsize, &pos, sep);
		tls_error_append(dst, dstsize, &pos, reason);
		if ((flags & ERR_TXT_STRING) != 0 && data != NULL && data[0] != '\0') {
			tls_error_append(dst, dstsize, &pos, " (");
			tls_error_append(dst, dstsize, &pos, data);
			tls_error_append(dst, dstsize, &pos, ")");
		}
		sep = "; ";
	}
	if (last == 0) {
		tls_error_append(dst, dstsize, &pos, sep);
		tls_error_append(dst, dstsize, &pos, "unknown error");
	}
	return dst;
}

const char *
tls_error_take(const char *what)
{
	return tls_error_format(tls_error_buf, sizeof(tls_error_buf), what);
}

const char *
tls_error_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tls_error_buf, sizeof(tls_error_buf), fmt, ap);
	va_end(ap);
	return tls_error_buf;
}
