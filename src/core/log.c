/*
 * log.c - see log.h. Writes to stderr (the foreground server's log; run it
 * under systemd or a supervisor to route it). Does not do syslog yet.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char log_hostname[64] = "localhost";
static enum log_level log_min_level = LOG_INFO;

static const char *const log_level_names[] = { "debug", "info", "warning", "error", "fatal" };

void
log_init(const char *hostname, enum log_level min_level)
{
	if (hostname != NULL && hostname[0] != '\0') {
		/* only the first label, as syslog does */
		size_t n = strcspn(hostname, ".");

		if (n >= sizeof(log_hostname))
			n = sizeof(log_hostname) - 1;
		memcpy(log_hostname, hostname, n);
		log_hostname[n] = '\0';
	}
	log_min_level = min_level;
}

void
log_set_level(enum log_level min_level)
{
	log_min_level = min_level;
}

int
log_level_parse(const char *name, enum log_level *level_r)
{
	for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
		if (strcmp(name, log_level_names[i]) == 0) {
			*level_r = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_event(enum log_level level, const char *service, const char *fmt, ...)
{
	char line[2048];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int r;
	va_list ap;

	if (level < log_min_level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03dZ %s posthorn/%s[%d]: %s", (int)(tv.tv_usec / 1000),
		     log_hostname, service, (int)getpid(),
		     level == LOG_INFO ? "" : level == LOG_DEBUG ? "debug: " :
		     level == LOG_WARNING ? "warning: " : level == LOG_ERROR ? "error: " : "fatal: ");
	if (r > 0 && (size_t)r < sizeof(line) - n)
		n += (size_t)r;
	va_start(ap, fmt);
	r = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n - 1 ? (size_t)r : sizeof(line) - n - 2;
	line[n++] = '\n';
	/* a short write of a log line is not worth more than one retry */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

char *
log_sanitize(char *dst, size_t dstsize, const void *src, size_t len)
{
	const unsigned char *s = src;
	size_t i;

	if (dstsize == 0)
		return dst;
	for (i = 0; i < len && i < dstsize - 1; i++)
		dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	dst[i] = '\0';
	return dst;
}
