/* threads.h — a pool of threads sharing the module's memory, for splitting the big loops (GEMM columns,
 * attention heads) of one forward pass.
 *
 * par_run(n, fn, ctx) calls fn(ctx, i) once for every i in [0, n), spread over the calling thread and the
 * pool's workers, and returns when all calls are done. The caller always takes tasks too, so par_run
 * finishes even when no worker ever joined. Tasks of one par_run must not depend on each other and must not
 * call par_run or allocate (workers never allocate: the allocator is not thread-safe).
 *
 * Builds: only dist/xlmr-mt.wasm (-DXLMR_THREADS -matomics -mbulk-memory, shared memory imported as
 * env.memory) has workers. Everywhere else par_run is a plain loop and par_threads() is 1.
 *
 * Threaded build, host side (JS): instantiate the module once (the main instance: run _initialize, load the
 * model), call xlmr_threads_set(n) and, for each worker i in [0, n), reserve a stack with
 * xlmr_alloc(XLMR_THREAD_STACK); then, in worker i, instantiate the same module on the same memory (no
 * _initialize), set its exported __stack_pointer global to the stack's top (base + XLMR_THREAD_STACK, 16-byte
 * aligned) and call xlmr_thread_main(i), which returns only after xlmr_threads_stop(). */
#ifndef XLMR_THREADS_H
#define XLMR_THREADS_H

#include "xlmr.h"

#define XLMR_THREAD_STACK (256 * 1024)

typedef void (*par_fn)(void *ctx, int task);

void par_run(int n, par_fn fn, void *ctx);
/* Threads that may run tasks (workers announced by xlmr_threads_set, plus the caller): for sizing tasks. */
int par_threads(void);

/* Announces n workers (0 <= n <= 64) before they start; returns the number of threads par_run will use
 * (1 + n in the threaded build, 1 elsewhere). */
XLMR_API(xlmr_threads_set) int xlmr_threads_set(int n);
/* A worker's loop. Returns at once in builds without threads. */
XLMR_API(xlmr_thread_main) void xlmr_thread_main(int id);
/* Ends every xlmr_thread_main (they return after their current task); par_run is serial afterwards. */
XLMR_API(xlmr_threads_stop) void xlmr_threads_stop(void);
/* 1 in the threaded build: lets the host tell the builds apart without parsing names. */
XLMR_API(xlmr_threads_supported) int xlmr_threads_supported(void);

#endif
