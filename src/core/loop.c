/*
 * loop.c - epoll event loop with a timer heap and deferred calls (loop.h).
 *
 * Removal during dispatch: a removed io is marked dead and freed after the
 * current batch of epoll events, so a later event of the same batch that
 * points at it is skipped instead of touching freed memory. Timers live in a
 * binary min-heap keyed by deadline; each timer remembers its heap index.
 */
#include "core/loop.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "core/mem.h"

#define LOOP_MAX_EVENTS 256

struct loop_io {
	struct loop *loop;
	int fd;
	unsigned events;
	bool dead;
	loop_io_cb *cb;
	void *ctx;
	struct loop_io *next_dead;
};

struct loop_timer {
	struct loop *loop;
	uint64_t deadline;
	size_t heap_index; /* SIZE_MAX when not armed */
	loop_timer_cb *cb;
	void *ctx;
	bool oneshot_free; /* deferred call: freed after it runs */
};

struct loop {
	int epfd;
	bool stop;
	uint64_t now;
	struct loop_timer **heap;
	size_t heap_len, heap_cap;
	struct loop_io *dead_ios;
};

static uint64_t
loop_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct loop *
loop_new(void)
{
	struct loop *loop = mem_zalloc(sizeof(*loop));

	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		PANIC("epoll_create1: %s", strerror(errno));
	loop->now = loop_clock();
	return loop;
}

static void
loop_free_dead(struct loop *loop)
{
	while (loop->dead_ios != NULL) {
		struct loop_io *io = loop->dead_ios;

		loop->dead_ios = io->next_dead;
		mem_free(&io);
	}
}

void
loop_free(struct loop **loopp)
{
	struct loop *loop = *loopp;

	if (loop == NULL)
		return;
	loop_free_dead(loop);
	for (size_t i = 0; i < loop->heap_len; i++) {
		if (loop->heap[i]->oneshot_free)
			mem_free(&loop->heap[i]);
		else
			loop->heap[i]->heap_index = SIZE_MAX;
	}
	mem_free(&loop->heap);
	close(loop->epfd);
	mem_free(loopp);
}

uint64_t
loop_now(struct loop *loop)
{
	return loop->now;
}

static uint32_t
loop_epoll_events(unsigned events)
{
	uint32_t ev = 0;

	if (events & LOOP_READ)
		ev |= EPOLLIN | EPOLLRDHUP;
	if (events & LOOP_WRITE)
		ev |= EPOLLOUT;
	return ev;
}

struct loop_io *
loop_io_add(struct loop *loop, int fd, unsigned events, loop_io_cb *cb, void *ctx)
{
	struct loop_io *io = mem_zalloc(sizeof(*io));
	struct epoll_event ev = { .events = loop_epoll_events(events), .data.ptr = io };

	io->loop = loop;
	io->fd = fd;
	io->events = events;
	io->cb = cb;
	io->ctx = ctx;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		PANIC("epoll_ctl(ADD, %d): %s", fd, strerror(errno));
	return io;
}

void
loop_io_set_events(struct loop_io *io, unsigned events)
{
	struct epoll_event ev = { .events = loop_epoll_events(events), .data.ptr = io };

	if (io->events == events)
		return;
	io->events = events;
	if (epoll_ctl(io->loop->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		PANIC("epoll_ctl(MOD, %d): %s", io->fd, strerror(errno));
}

void
loop_io_remove(struct loop_io **iop)
{
	struct loop_io *io = *iop;

	if (io == NULL)
		return;
	/* the fd may already be closed by a careless caller: ignore errors */
	(void)epoll_ctl(io->loop->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->dead = true;
	io->next_dead = io->loop->dead_ios;
	io->loop->dead_ios = io;
	*iop = NULL;
}

/* ---- timer heap ---- */

static void
heap_swap(struct loop *loop, size_t a, size_t b)
{
	struct loop_timer *t = loop->heap[a];

	loop->heap[a] = loop->heap[b];
	loop->heap[b] = t;
	loop->heap[a]->heap_index = a;
	loop->heap[b]->heap_index = b;
}

static void
heap_up(struct loop *loop, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (loop->heap[parent]->deadline <= loop->heap[i]->deadline)
			break;
		heap_swap(loop, i, parent);
		i = parent;
	}
}

static void
heap_down(struct loop *loop, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, min = i;

		if (l < loop->heap_len && loop->heap[l]->deadline < loop->heap[min]->deadline)
			min = l;
		if (r < loop->heap_len && loop->heap[r]->deadline < loop->heap[min]->deadline)
			min = r;
		if (min == i)
			break;
		heap_swap(loop, i, min);
		i = min;
	}
}

static void
heap_remove(struct loop *loop, struct loop_timer *t)
{
	size_t i = t->heap_index;

	if (i == SIZE_MAX)
		return;
	loop->heap_len--;
	if (i != loop->heap_len) {
		loop->heap[i] = loop->heap[loop->heap_len];
		loop->heap[i]->heap_index = i;
		heap_down(loop, i);
		heap_up(loop, i);
	}
	t->heap_index = SIZE_MAX;
}

static void
heap_insert(struct loop *loop, struct loop_timer *t)
{
	if (loop->heap_len == loop->heap_cap) {
		loop->heap_cap = loop->heap_cap == 0 ? 64 : mem_size_mul(loop->heap_cap, 2);
		loop->heap = mem_realloc(loop->heap, mem_size_mul(loop->heap_cap, sizeof(*loop->heap)));
	}
	t->heap_index = loop->heap_len;
	loop->heap[loop->heap_len++] = t;
	heap_up(loop, t->heap_index);
}

struct loop_timer *
loop_timer_add(struct loop *loop, uint64_t msecs, loop_timer_cb *cb, void *ctx)
{
	struct loop_timer *t = mem_zalloc(sizeof(*t));

	t->loop = loop;
	t->cb = cb;
	t->ctx = ctx;
	t->heap_index = SIZE_MAX;
	t->deadline = loop->now + msecs;
	heap_insert(loop, t);
	return t;
}

void
loop_timer_reset(struct loop_timer *t, uint64_t msecs)
{
	heap_remove(t->loop, t);
	t->deadline = t->loop->now + msecs;
	heap_insert(t->loop, t);
}

void
loop_timer_remove(struct loop_timer **tp)
{
	struct loop_timer *t = *tp;

	if (t == NULL)
		return;
	heap_remove(t->loop, t);
	mem_free(tp);
}

void
loop_defer(struct loop *loop, loop_timer_cb *cb, void *ctx)
{
	struct loop_timer *t = loop_timer_add(loop, 0, cb, ctx);

	t->oneshot_free = true;
}

static void
loop_run_timers(struct loop *loop)
{
	/* Run only timers that were due at the start, so a callback that re-arms
	 * a zero timer cannot starve the io. */
	uint64_t now = loop->now;
	unsigned budget = (unsigned)loop->heap_len;

	while (budget-- > 0 && loop->heap_len > 0 && loop->heap[0]->deadline <= now) {
		struct loop_timer *t = loop->heap[0];

		heap_remove(loop, t);
		if (t->oneshot_free) {
			loop_timer_cb *cb = t->cb;
			void *ctx = t->ctx;

			mem_free(&t);
			cb(ctx);
		} else {
			t->cb(t->ctx);
		}
	}
}

static int
loop_next_timeout(struct loop *loop)
{
	uint64_t d;

	if (loop->heap_len == 0)
		return -1;
	if (loop->heap[0]->deadline <= loop->now)
		return 0;
	d = loop->heap[0]->deadline - loop->now;
	return d > 60000 ? 60000 : (int)d;
}

int
loop_run(struct loop *loop)
{
	struct epoll_event events[LOOP_MAX_EVENTS];

	loop->stop = false;
	while (!loop->stop) {
		int n = epoll_wait(loop->epfd, events, LOOP_MAX_EVENTS, loop_next_timeout(loop));

		if (n < 0 && errno != EINTR)
			return -1;
		loop->now = loop_clock();
		for (int i = 0; i < n; i++) {
			struct loop_io *io = events[i].data.ptr;
			unsigned ev = 0;

			if (io->dead)
				continue;
			if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
				ev |= LOOP_READ;
			if (events[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				ev |= LOOP_WRITE;
			if (events[i].events & (EPOLLHUP | EPOLLERR))
				ev |= LOOP_ERROR;
			io->cb(io->ctx, ev & (io->events | LOOP_ERROR));
		}
		loop_free_dead(loop);
		loop_run_timers(loop);
		loop_free_dead(loop);
	}
	return 0;
}

void
loop_stop(struct loop *loop)
{
	loop->stop = true;
}
