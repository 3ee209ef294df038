/*
 * log.h - one line per event, Postfix-style (DESIGN.md 4).
 *
 * Lines look like
 *   2026-11-22T12:00:00.123Z mx posthorn/smtpd[4242]: 4F2A1C0B9D: client=...
 * so that tools which parse "program[pid]: QUEUEID: key=value" keep working.
 * Everything that came from a client must pass through log_sanitize() (or the
 * "%S"-free helpers below): control characters and non-ASCII bytes become
 * '?', and the text is cut at a bound. Passwords and AUTH payloads are never
 * given to the log at all.
 *
 * Thread-safe: one write(2) per line.
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERROR, LOG_FATAL };

void log_init(const char *hostname, enum log_level min_level);
void log_set_level(enum log_level min_level);
/* 0 ok, -1 unknown name. */
int log_level_parse(const char *name, enum log_level *level_r);

void log_event(enum log_level level, const char *service, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(svc, ...) log_event(LOG_DEBUG, svc, __VA_ARGS__)
#define log_info(svc, ...) log_event(LOG_INFO, svc, __VA_ARGS__)
#define log_warning(svc, ...) log_event(LOG_WARNING, svc, __VA_ARGS__)
#define log_error(svc, ...) log_event(LOG_ERROR, svc, __VA_ARGS__)

/* Copy client-supplied bytes into dst (size dstsize, always NUL-terminated),
 * replacing anything but printable ASCII with '?' and cutting at dstsize-1.
 * Returns dst. */
char *log_sanitize(char *dst, size_t dstsize, const void *src, size_t len);

#endif
