/*
 * mem.h - allocation that never returns NULL, and overflow-checked sizes.
 *
 * Out of memory is not an expected failure for a mail server: it ends the
 * process (STYLE.md, Errors). Every size computed from input goes through
 * mem_size_add()/mem_size_mul(), which panic on overflow instead of wrapping.
 * PANIC() is for broken invariants only; it logs file and line and aborts.
 */
#ifndef CORE_MEM_H
#define CORE_MEM_H

#include <stddef.h>
#include <stdint.h>

void *mem_alloc(size_t size);                    /* uninitialised, never NULL */
void *mem_zalloc(size_t size);                   /* zeroed, never NULL */
void *mem_array(size_t count, size_t size);      /* zeroed count*size, checked */
void *mem_realloc(void *ptr, size_t size);
void *mem_memdup(const void *src, size_t size);
char *mem_strdup(const char *src);
char *mem_strndup(const char *src, size_t max);  /* copies at most max bytes, adds NUL */
/* Free *ptr and set it to NULL. */
void mem_free_ptr(void **ptr);
#define mem_free(pp) mem_free_ptr((void **)(pp))

size_t mem_size_add(size_t a, size_t b);
size_t mem_size_mul(size_t a, size_t b);

__attribute__((noreturn, format(printf, 3, 4))) void
core_panic(const char *file, int line, const char *fmt, ...);

#define PANIC(...) core_panic(__FILE__, __LINE__, __VA_ARGS__)
#define ASSERT(expr) \
	do { \
		if (!(expr)) \
			core_panic(__FILE__, __LINE__, "assertion failed: %s", #expr); \
	} while (0)

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

#endif
