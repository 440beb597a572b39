/* threads.c — the worker pool behind par_run (see threads.h).
 *
 * One job at a time. The job's parameters live in slot (job & 1); the ticket word holds (job << 16) | next
 * task index. A thread claims task i of job j by a compare-and-swap of the ticket from (j, i) to (j, i + 1),
 * so a thread still finishing job j - 1 can never take (or lose) a task of job j, and the slot of job j is
 * not rewritten until job j + 1 is done. Workers spin briefly for the next job, then sleep on the ticket
 * (memory.atomic.wait32); the caller spins until its job's done count reaches n (it may be a browser main
 * thread, where waiting is not allowed). */
#include "threads.h"

#if defined(XLMR_THREADS) && defined(__wasm_atomics__)

#include <stdatomic.h>

#define MAX_WORKERS 64
#define SPIN_BEFORE_SLEEP 20000

typedef struct par_slot {
    par_fn fn;
    void *ctx;
    int n;
    atomic_int done;
} par_slot;

static struct {
    atomic_int ticket; /* (job << 16) | next task; job in [0, 0x7fff] */
    atomic_int stop;
    int n_workers;
    par_slot slot[2];
} pool;

static inline int ticket_job(int t) { return (t >> 16) & 0x7fff; }
static inline int ticket_idx(int t) { return t & 0xffff; }

/* Runs tasks of job j until none is left. */
static void take_tasks(int j) {
    par_slot *s = &pool.slot[j & 1];
    for (;;) {
        int t = atomic_load(&pool.ticket);
        if (ticket_job(t) != j || ticket_idx(t) >= s->n) return;
        if (!atomic_compare_exchange_weak(&pool.ticket, &t, t + 1)) continue;
        s->fn(s->ctx, ticket_idx(t));
        atomic_fetch_add(&s->done, 1);
    }
}

void par_run(int n, par_fn fn, void *ctx) {
    if (n <= 0) return;
    if (pool.n_workers == 0 || n == 1 || n > 0xffff - MAX_WORKERS) {
        for (int i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    const int j = (ticket_job(atomic_load(&pool.ticket)) + 1) & 0x7fff;
    par_slot *s = &pool.slot[j & 1];
    s->fn = fn;
    s->ctx = ctx;
    s->n = n;
    atomic_store(&s->done, 0);
    atomic_store(&pool.ticket, j << 16); /* publishes the slot (sequentially consistent) */
    __builtin_wasm_memory_atomic_notify((int *)&pool.ticket, (unsigned)pool.n_workers);
    take_tasks(j);
    while (atomic_load(&s->done) < n) {
    }
}

int par_threads(void) { return 1 + pool.n_workers; }

int xlmr_threads_set(int n) {
    if (n < 0) n = 0;
    if (n > MAX_WORKERS) n = MAX_WORKERS;
    atomic_store(&pool.stop, 0);
    pool.n_workers = n;
    return 1 + n;
}

void xlmr_thread_main(int id) {
    (void)id;
    int last = ticket_job(atomic_load(&pool.ticket)); /* jobs before this worker started are not its business */
    for (;;) {
        int t = atomic_load(&pool.ticket);
        for (int spin = 0; ticket_job(t) == last && spin < SPIN_BEFORE_SLEEP && !atomic_load(&pool.stop); spin++)
            t = atomic_load(&pool.ticket);
        if (atomic_load(&pool.stop)) return;
        if (ticket_job(t) == last) {
            __builtin_wasm_memory_atomic_wait32((int *)&pool.ticket, t, -1);
            continue;
        }
        last = ticket_job(t);
        take_tasks(last);
    }
}

void xlmr_threads_stop(void) {
    pool.n_workers = 0;
    atomic_store(&pool.stop, 1);
    /* wake sleepers: bump the job number with no tasks (n = 0 in that slot) */
    const int j = (ticket_job(atomic_load(&pool.ticket)) + 1) & 0x7fff;
    pool.slot[j & 1].n = 0;
    atomic_store(&pool.ticket, j << 16);
    __builtin_wasm_memory_atomic_notify((int *)&pool.ticket, MAX_WORKERS);
}

int xlmr_threads_supported(void) { return 1; }

#else /* no threads: a plain loop */

void par_run(int n, par_fn fn, void *ctx) {
    for (int i = 0; i < n; i++) fn(ctx, i);
}
int par_threads(void) { return 1; }
int xlmr_threads_set(int n) {
    (void)n;
    return 1;
}
void xlmr_thread_main(int id) { (void)id; }
void xlmr_threads_stop(void) {}
int xlmr_threads_supported(void) { return 0; }

#endif
