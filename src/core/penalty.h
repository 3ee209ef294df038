/*
 * penalty.h - failure counts per key (a client IP) that decay with time, for
 * slowing down password guessing: each failed login from an address waits
 * longer before its reply (base, 2*base, 4*base, ... up to max).
 *
 * Keys are compared as exact strings. The table is bounded: when full, the
 * entry seen least recently is forgotten. An entry not touched for
 * PENALTY_FORGET_MS counts as clean again. A success from a key clears it,
 * so the real user who types the password right is not slowed down later;
 * other addresses are never affected by one address's failures.
 *
 * Single-threaded (the event loop's); times are the caller's milliseconds.
 */
#ifndef CORE_PENALTY_H
#define CORE_PENALTY_H

#include <stddef.h>
#include <stdint.h>

#define PENALTY_FORGET_MS (15u * 60u * 1000u)

struct penalty;

struct penalty *penalty_new(size_t max_entries);
void penalty_free(struct penalty **p);

/* Record a failure of key at now_ms and return how long its reply should be
 * delayed: 0 when base_ms is 0, else base_ms << (failures - 1), at most max_ms. */
uint64_t penalty_fail(struct penalty *p, const char *key, uint64_t now_ms, uint64_t base_ms,
		      uint64_t max_ms);
/* Forget key's failures (a successful login). */
void penalty_clear(struct penalty *p, const char *key);
/* Current failure count of key (0 when unknown or forgotten). */
unsigned penalty_count(struct penalty *p, const char *key, uint64_t now_ms);

#endif
