/*
 * worker.h - a pool of threads for blocking work (storage, fsync, password
 * hashing), with completions delivered back on the event loop.
 *
 * worker_pool_submit(pool, work, done, ctx): work(ctx) runs on some worker
 * thread; afterwards done(ctx) runs on the loop thread. Nothing is cancelled:
 * a caller whose session ended meanwhile must keep ctx alive until done runs
 * (mark it "orphaned" and free it in done). Jobs start in submission order;
 * they may finish in any order.
 *
 * worker_pool_free waits for queued and running jobs and runs their done
 * callbacks, so a clean shutdown completes every started store operation.
 */
#ifndef CORE_WORKER_H
#define CORE_WORKER_H

struct loop;
struct worker_pool;

typedef void worker_fn(void *ctx);

struct worker_pool *worker_pool_new(struct loop *loop, unsigned threads);
void worker_pool_submit(struct worker_pool *pool, worker_fn *work, worker_fn *done, void *ctx);
/* Jobs submitted and not yet completed (done not yet run). */
unsigned worker_pool_pending(const struct worker_pool *pool);
void worker_pool_free(struct worker_pool **pool);

#endif
