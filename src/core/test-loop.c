/* test-loop.c - event loop timers, io, deferred calls and the worker pool. */
#include "core/loop.h"
#include "core/mem.h"
#include "core/test.h"
#include "core/worker.h"

#include <unistd.h>

static int timer_order[8];
static int timer_count;
static struct loop *tloop;

static void
timer_cb(void *ctx)
{
	timer_order[timer_count++] = (int)(intptr_t)ctx;
	if (timer_count == 3)
		loop_stop(tloop);
}

static void
test_loop_timers(void)
{
	struct loop_timer *a, *b, *c, *d;

	tloop = loop_new();
	timer_count = 0;
	a = loop_timer_add(tloop, 30, timer_cb, (void *)3);
	b = loop_timer_add(tloop, 10, timer_cb, (void *)1);
	c = loop_timer_add(tloop, 20, timer_cb, (void *)2);
	d = loop_timer_add(tloop, 15, timer_cb, (void *)9);
	loop_timer_remove(&d);
	T_ASSERT(d == NULL);
	T_INTEQ(loop_run(tloop), 0);
	T_INTEQ(timer_count, 3);
	T_INTEQ(timer_order[0], 1);
	T_INTEQ(timer_order[1], 2);
	T_INTEQ(timer_order[2], 3);
	loop_timer_remove(&a);
	loop_timer_remove(&b);
	loop_timer_remove(&c);
	loop_free(&tloop);
}

struct pipe_ctx {
	struct loop_io *io;
	int fd;
	char got[16];
	size_t len;
};

static void
pipe_cb(void *ctx, unsigned events)
{
	struct pipe_ctx *p = ctx;
	ssize_t n = read(p->fd, p->got + p->len, sizeof(p->got) - 1 - p->len);

	if (n > 0)
		p->len += (size_t)n;
	if (n <= 0 || p->len >= 5) {
		loop_io_remove(&p->io);
		loop_stop(tloop);
	}
}

static void
test_loop_io(void)
{
	int fds[2];
	struct pipe_ctx p = { 0 };

	T_INTEQ(pipe(fds), 0);
	tloop = loop_new();
	p.fd = fds[0];
	p.io = loop_io_add(tloop, fds[0], LOOP_READ, pipe_cb, &p);
	T_INTEQ(write(fds[1], "hello", 5), 5);
	loop_run(tloop);
	T_MEMEQ(p.got, p.len, "hello", 5);
	close(fds[0]);
	close(fds[1]);
	loop_free(&tloop);
}

static int work_sum, done_count;

static void
work_fn(void *ctx)
{
	int *v = ctx;

	*v = *v * 2;
}

static void
done_fn(void *ctx)
{
	int *v = ctx;

	work_sum += *v;
	if (++done_count == 100)
		loop_stop(tloop);
}

static void
test_worker_pool(void)
{
	struct worker_pool *pool;
	int values[100];

	tloop = loop_new();
	pool = worker_pool_new(tloop, 4);
	work_sum = done_count = 0;
	for (int i = 0; i < 100; i++) {
		values[i] = i;
		worker_pool_submit(pool, work_fn, done_fn, &values[i]);
	}
	T_INTEQ(worker_pool_pending(pool), 100);
	loop_run(tloop);
	T_INTEQ(done_count, 100);
	T_INTEQ(work_sum, 2 * 4950);
	T_INTEQ(worker_pool_pending(pool), 0);
	worker_pool_free(&pool);
	loop_free(&tloop);
}

static void
test_worker_pool_free_drains(void)
{
	struct worker_pool *pool;
	int values[10];

	tloop = loop_new();
	pool = worker_pool_new(tloop, 2);
	work_sum = done_count = 0;
	for (int i = 0; i < 10; i++) {
		values[i] = 1;
		worker_pool_submit(pool, work_fn, done_fn, &values[i]);
	}
	worker_pool_free(&pool);
	T_INTEQ(done_count, 10);
	T_INTEQ(work_sum, 20);
	loop_free(&tloop);
}

static const struct test tests[] = {
	TEST_ENTRY(test_loop_timers),
	TEST_ENTRY(test_loop_io),
	TEST_ENTRY(test_worker_pool),
	TEST_ENTRY(test_worker_pool_free_drains),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("loop", tests);
}
