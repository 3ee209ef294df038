/*
 * buf.h - growable byte buffer with a hard maximum.
 *
 * Every buffer that grows from network or file input has a maximum size; an
 * append that would exceed it fails (returns -1) and leaves the buffer
 * unchanged, so the caller can answer with a protocol error instead of
 * growing without bound. max == 0 means "no limit" and is only for buffers
 * whose size the program itself controls.
 *
 * Bytes are consumed from the front (buf_consume) without moving memory each
 * time; the unread region is buf_data(b) .. buf_data(b)+buf_len(b). The
 * region is always followed by a NUL byte (not counted), so text can be used
 * as a C string when it holds no NUL of its own.
 */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t *data;  /* allocation */
	size_t start;   /* first unread byte */
	size_t end;     /* one past last byte */
	size_t cap;     /* allocated bytes (always > end, room for the NUL) */
	size_t max;     /* maximum of buf_len(); 0 = unlimited */
};

void buf_init(struct buf *b, size_t max);
void buf_deinit(struct buf *b);                  /* frees memory; buffer is empty */
struct buf *buf_new(size_t max);
void buf_free(struct buf **b);

static inline uint8_t *
buf_data(const struct buf *b)
{
	return b->data == NULL ? (uint8_t *)"" : b->data + b->start;
}
static inline size_t
buf_len(const struct buf *b)
{
	return b->end - b->start;
}
static inline const char *
buf_cstr(const struct buf *b)
{
	return (const char *)buf_data(b);
}

/* 0 ok, -1 the result would exceed max (buffer unchanged). */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_append_byte(struct buf *b, uint8_t c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Drop n bytes from the front (n <= buf_len). */
void buf_consume(struct buf *b, size_t n);
/* Drop bytes from the end so that buf_len == len (len <= buf_len). */
void buf_truncate(struct buf *b, size_t len);
void buf_reset(struct buf *b);
/* Make room for len more bytes and return where they go; commit with buf_commit.
 * Returns NULL when that would exceed max. */
uint8_t *buf_reserve(struct buf *b, size_t len);
void buf_commit(struct buf *b, size_t len);
/* Take ownership of the contents as a NUL-terminated string; buffer becomes empty. */
char *buf_steal_str(struct buf *b);

#endif
