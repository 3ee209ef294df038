/*
 * worker.c - thread pool with completions on the event loop (worker.h).
 *
 * Jobs go into a FIFO under a mutex; idle threads wait on a condition
 * variable. A finished job moves to the done list and the loop is woken
 * through an eventfd; the loop thread then runs the done callbacks.
 * The pool's own state is touched by workers only under the mutex.
 */
#include "core/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/loop.h"
#include "core/mem.h"

struct worker_job {
	worker_fn *work;
	worker_fn *done;
	void *ctx;
	struct worker_job *next;
};

struct worker_pool {
	struct loop *loop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct worker_job *queue_head, *queue_tail;
	struct worker_job *done_head, *done_tail;
	unsigned pending;
	bool stopping;
	int efd;
	struct loop_io *io;
	pthread_t *threads;
	unsigned nthreads;
};

static void *
worker_thread(void *arg)
{
	struct worker_pool *pool = arg;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		struct worker_job *job;
		uint64_t one = 1;

		while (pool->queue_head == NULL && !pool->stopping)
			pthread_cond_wait(&pool->cond, &pool->lock);
		job = pool->queue_head;
		if (job == NULL)
			break;
		pool->queue_head = job->next;
		if (pool->queue_head == NULL)
			pool->queue_tail = NULL;
		pthread_mutex_unlock(&pool->lock);

		job->work(job->ctx);

		pthread_mutex_lock(&pool->lock);
		job->next = NULL;
		if (pool->done_tail != NULL)
			pool->done_tail->next = job;
		else
			pool->done_head = job;
		pool->done_tail = job;
		if (write(pool->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			PANIC("eventfd write: %s", strerror(errno));
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

static void
worker_pool_run_done(struct worker_pool *pool)
{
	struct worker_job *list;

	pthread_mutex_lock(&pool->lock);
	list = pool->done_head;
	pool->done_head = pool->done_tail = NULL;
	pthread_mutex_unlock(&pool->lock);
	while (list != NULL) {
		struct worker_job *job = list;

		list = job->next;
		pool->pending--;
		if (job->done != NULL)
			job->done(job->ctx);
		mem_free(&job);
	}
}

static void
worker_pool_event(void *ctx, unsigned events)
{
	struct worker_pool *pool = ctx;
	uint64_t n;

	if (read(pool->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		PANIC("eventfd read: %s", strerror(errno));
	worker_pool_run_done(pool);
}

struct worker_pool *
worker_pool_new(struct loop *loop, unsigned threads)
{
	struct worker_pool *pool = mem_zalloc(sizeof(*pool));

	if (threads == 0)
		threads = 1;
	pool->loop = loop;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pool->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool->efd < 0)
		PANIC("eventfd: %s", strerror(errno));
	if (loop != NULL)
		pool->io = loop_io_add(loop, pool->efd, LOOP_READ, worker_pool_event, pool);
	pool->threads = mem_array(threads, sizeof(pthread_t));
	pool->nthreads = threads;
	for (unsigned i = 0; i < threads; i++) {
		int err = pthread_create(&pool->threads[i], NULL, worker_thread, pool);

		if (err != 0)
			PANIC("pthread_create: %s", strerror(err));
	}
	return pool;
}

void
worker_pool_submit(struct worker_pool *pool, worker_fn *work, worker_fn *done, void *ctx)
{
	struct worker_job *job = mem_zalloc(sizeof(*job));

	job->work = work;
	job->done = done;
	job->ctx = ctx;
	pool->pending++;
	pthread_mutex_lock(&pool->lock);
	if (pool->queue_tail != NULL)
		pool->queue_tail->next = job;
	else
		pool->queue_head = job;
	pool->queue_tail = job;
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
}

unsigned
worker_pool_pending(const struct worker_pool *pool)
{
	return pool->pending;
}

void
worker_pool_free(struct worker_pool **poolp)
{
	struct worker_pool *pool = *poolp;

	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	/* threads drain the queue before they exit */
	for (unsigned i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	/* done callbacks may submit more work: run them until nothing is left */
	worker_pool_run_done(pool);
	if (pool->pending != 0)
		PANIC("worker pool freed with %u jobs submitted from done callbacks", pool->pending);
	loop_io_remove(&pool->io);
	close(pool->efd);
	pthread_cond_destroy(&pool->cond);
	pthread_mutex_destroy(&pool->lock);
	mem_free(&pool->threads);
	mem_free(poolp);
}
