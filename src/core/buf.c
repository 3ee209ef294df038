/*
 * buf.c - see buf.h. Growth doubles; consumed space at the front is reused
 * by moving the unread bytes down only when room is needed.
 */
#include "core/buf.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
buf_deinit(struct buf *b)
{
	mem_free(&b->data);
	b->start = b->end = b->cap = 0;
}

struct buf *
buf_new(size_t max)
{
	struct buf *b = mem_alloc(sizeof(*b));

	buf_init(b, max);
	return b;
}

void
buf_free(struct buf **b)
{
	if (*b == NULL)
		return;
	buf_deinit(*b);
	mem_free(b);
}

uint8_t *
buf_reserve(struct buf *b, size_t len)
{
	size_t used = buf_len(b);
	size_t need = mem_size_add(mem_size_add(used, len), 1);

	if (b->max != 0 && used + len > b->max)
		return NULL;
	if (b->start > 0 && b->end + len + 1 > b->cap) {
		memmove(b->data, b->data + b->start, used);
		b->start = 0;
		b->end = used;
	}
	if (need > b->cap) {
		size_t cap = b->cap < 64 ? 64 : b->cap;

		while (cap < need)
			cap = mem_size_mul(cap, 2);
		b->data = mem_realloc(b->data, cap);
		b->cap = cap;
	}
	return b->data + b->end;
}

void
buf_commit(struct buf *b, size_t len)
{
	ASSERT(b->end + len < b->cap);
	b->end += len;
	b->data[b->end] = '\0';
}

int
buf_append(struct buf *b, const void *data, size_t len)
{
	uint8_t *p = buf_reserve(b, len);

	if (p == NULL)
		return -1;
	if (len > 0)
		memcpy(p, data, len);
	buf_commit(b, len);
	return 0;
}

int
buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_append_byte(struct buf *b, uint8_t c)
{
	return buf_append(b, &c, 1);
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	uint8_t *p;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		PANIC("vsnprintf failed");
	p = buf_reserve(b, (size_t)n);
	if (p == NULL)
		return -1;
	vsnprintf((char *)p, (size_t)n + 1, fmt, ap);
	buf_commit(b, (size_t)n);
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return ret;
}

void
buf_consume(struct buf *b, size_t n)
{
	ASSERT(n <= buf_len(b));
	b->start += n;
	if (b->start == b->end)
		b->start = b->end = 0;
	if (b->data != NULL)
		b->data[b->end] = '\0';
}

void
buf_truncate(struct buf *b, size_t len)
{
	ASSERT(len <= buf_len(b));
	b->end = b->start + len;
	if (b->data != NULL)
		b->data[b->end] = '\0';
}

void
buf_reset(struct buf *b)
{
	b->start = b->end = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

char *
buf_steal_str(struct buf *b)
{
	char *s;

	if (b->data == NULL)
		return mem_strdup("");
	if (b->start > 0)
		memmove(b->data, b->data + b->start, buf_len(b) + 1);
	s = (char *)b->data;
	memset(b, 0, offsetof(struct buf, max));
	return s;
}
