/*
 * penalty.c - see penalty.h. A small array searched linearly: failed logins
 * are rare events and the table is bounded, so this stays cheap and simple.
 */
#include "core/penalty.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"

#define PENALTY_KEY_MAX 64

struct penalty_entry {
	char key[PENALTY_KEY_MAX];
	unsigned failures;
	uint64_t last_ms;
};

struct penalty {
	struct penalty_entry *entries;
	size_t count, max;
};

struct penalty *
penalty_new(size_t max_entries)
{
	struct penalty *p = mem_zalloc(sizeof(*p));

	p->max = max_entries == 0 ? 1 : max_entries;
	p->entries = mem_array(p->max, sizeof(*p->entries));
	return p;
}

void
penalty_free(struct penalty **pp)
{
	if (*pp == NULL)
		return;
	mem_free(&(*pp)->entries);
	mem_free(pp);
}

static struct penalty_entry *
penalty_find(struct penalty *p, const char *key)
{
	for (size_t i = 0; i < p->count; i++) {
		if (strncmp(p->entries[i].key, key, PENALTY_KEY_MAX - 1) == 0)
			return &p->entries[i];
	}
	return NULL;
}

static struct penalty_entry *
penalty_slot(struct penalty *p, const char *key)
{
	struct penalty_entry *e;
	size_t oldest = 0;

	if (p->count < p->max) {
		e = &p->entries[p->count++];
	} else {
		for (size_t i = 1; i < p->count; i++) {
			if (p->entries[i].last_ms < p->entries[oldest].last_ms)
				oldest = i;
		}
		e = &p->entries[oldest];
	}
	memset(e, 0, sizeof(*e));
	snprintf(e->key, sizeof(e->key), "%s", key);
	return e;
}

uint64_t
penalty_fail(struct penalty *p, const char *key, uint64_t now_ms, uint64_t base_ms,
	     uint64_t max_ms)
{
	struct penalty_entry *e = penalty_find(p, key);
	uint64_t delay;

	if (e == NULL)
		e = penalty_slot(p, key);
	else if (now_ms - e->last_ms > PENALTY_FORGET_MS)
		e->failures = 0;
	e->failures++;
	e->last_ms = now_ms;
	if (base_ms == 0)
		return 0;
	delay = e->failures > 20 ? max_ms : base_ms << (e->failures - 1);
	return delay > max_ms ? max_ms : delay;
}

void
penalty_clear(struct penalty *p, const char *key)
{
	struct penalty_entry *e = penalty_find(p, key);

	if (e != NULL) {
		*e = p->entries[p->count - 1];
		p->count--;
	}
}

unsigned
penalty_count(struct penalty *p, const char *key, uint64_t now_ms)
{
	struct penalty_entry *e = penalty_find(p, key);

	if (e == NULL || now_ms - e->last_ms > PENALTY_FORGET_MS)
		return 0;
	return e->failures;
}
