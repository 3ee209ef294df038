/*
 * loop.h - the event loop: epoll for file descriptors, a min-heap of timers,
 * and deferred calls. Single-threaded: every function here must be called on
 * the loop's thread, except loop_wakeup-style paths documented elsewhere
 * (the worker pool signals the loop through an eventfd it registers itself).
 *
 * Callbacks may add and remove any io or timer, including the one being run.
 */
#ifndef CORE_LOOP_H
#define CORE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop;
struct loop_io;
struct loop_timer;

#define LOOP_READ 0x1u
#define LOOP_WRITE 0x2u
#define LOOP_ERROR 0x4u /* reported together with READ/WRITE on hangup or error */

typedef void loop_io_cb(void *ctx, unsigned events);
typedef void loop_timer_cb(void *ctx);

struct loop *loop_new(void);
void loop_free(struct loop **loop);

/* Watch fd for events (LOOP_READ|LOOP_WRITE). The io is owned by the loop until
 * loop_io_remove(&io), which must be called before the fd is closed. */
struct loop_io *loop_io_add(struct loop *loop, int fd, unsigned events, loop_io_cb *cb, void *ctx);
void loop_io_set_events(struct loop_io *io, unsigned events);
void loop_io_remove(struct loop_io **io);

/* One-shot timer firing after msecs; it stays allocated until removed (a fired
 * timer may be re-armed with loop_timer_reset). */
struct loop_timer *loop_timer_add(struct loop *loop, uint64_t msecs, loop_timer_cb *cb, void *ctx);
void loop_timer_reset(struct loop_timer *t, uint64_t msecs);
void loop_timer_remove(struct loop_timer **t);

/* Run cb(ctx) on the next loop iteration (after current io callbacks). */
void loop_defer(struct loop *loop, loop_timer_cb *cb, void *ctx);

/* Milliseconds of a monotonic clock, cached per iteration. */
uint64_t loop_now(struct loop *loop);

/* Run until loop_stop() is called. Returns 0, or -1 on an epoll failure. */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);

#endif
