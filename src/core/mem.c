/*
 * mem.c - see mem.h. Allocation failure and size overflow are fatal.
 */
#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
core_panic(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "posthorn: PANIC at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

void *
mem_alloc(size_t size)
{
	void *p = malloc(size == 0 ? 1 : size);

	if (p == NULL)
		PANIC("out of memory allocating %zu bytes", size);
	return p;
}

void *
mem_zalloc(size_t size)
{
	void *p = calloc(1, size == 0 ? 1 : size);

	if (p == NULL)
		PANIC("out of memory allocating %zu bytes", size);
	return p;
}

void *
mem_array(size_t count, size_t size)
{
	return mem_zalloc(mem_size_mul(count, size));
}

void *
mem_realloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size == 0 ? 1 : size);

	if (p == NULL)
		PANIC("out of memory reallocating %zu bytes", size);
	return p;
}

void *
mem_memdup(const void *src, size_t size)
{
	void *p = mem_alloc(size);

	if (size > 0)
		memcpy(p, src, size);
	return p;
}

char *
mem_strdup(const char *src)
{
	return mem_memdup(src, strlen(src) + 1);
}

char *
mem_strndup(const char *src, size_t max)
{
	size_t n = strnlen(src, max);
	char *p = mem_alloc(mem_size_add(n, 1));

	memcpy(p, src, n);
	p[n] = '\0';
	return p;
}

void
mem_free_ptr(void **ptr)
{
	free(*ptr);
	*ptr = NULL;
}

size_t
mem_size_add(size_t a, size_t b)
{
	size_t r;

	if (__builtin_add_overflow(a, b, &r))
		PANIC("size overflow: %zu + %zu", a, b);
	return r;
}

size_t
mem_size_mul(size_t a, size_t b)
{
	size_t r;

	if (__builtin_mul_overflow(a, b, &r))
		PANIC("size overflow: %zu * %zu", a, b);
	return r;
}
