/* est_threadpool.h -- estcore's own worker threads for splitting large kernels.
 *
 * Design:
 *   - A pool has `num_threads` compute threads IN TOTAL: the thread that calls
 *     est_threadpool_run() plus (num_threads - 1) persistent workers. With
 *     num_threads == 1 there are no workers and every run is inline.
 *   - An idle worker spins for a short, bounded time (EST_SPIN_DEFAULT_US, or
 *     ESTCORE_SPIN_US) waiting for the next job, then sleeps on a condition
 *     variable; a caller waiting for the tasks its workers took does the same.
 *     The kernels of one plan run come back to back, so within a run (and between
 *     the steps of a training loop) the workers never sleep: splitting a kernel
 *     costs an atomic store and a cache-line transfer instead of a futex wake-up
 *     (15-40 us in a VM, and a woken vCPU then runs its first tens of
 *     microseconds slower): a 128x784x256 GEMM on 2 threads took 306 us with
 *     sleeping workers and 155 us with spinning ones (1 thread: 305 us). Spinning
 *     is bounded and, after its first 20 us, yields the CPU every 64 checks, and
 *     nothing ever spins waiting on a preempted thread for longer than the budget:
 *     the collapse of OpenBLAS's pool on a shared 2-core machine (10-40x, its
 *     threads spin inside the GEMM on each other) cannot happen here.
 *   - est_threadpool_run(pool, n_tasks, fn, ctx) calls fn(ctx, i) exactly once for
 *     every i in [0, n_tasks), on any of the pool's threads including the caller,
 *     and returns when all calls have returned. Tasks are handed out by owner
 *     ranges: the caller owns the first n_tasks / T, worker w the (w + 1)-th, and
 *     each thread runs its own range front to back before it takes from the back of
 *     another's, so the same thread runs the same part of each kernel from run to
 *     run and reads what it wrote while it is still in its own cache. The caller
 *     always works on its own job, so a run makes progress even if every worker is
 *     busy elsewhere.
 *   - The pool's job queue (an intrusive list of jobs that still have untaken
 *     tasks) and each job's counters are guarded by one mutex per pool. Several
 *     threads may call est_threadpool_run() on the same pool at once; their jobs
 *     share the workers first-come first-served.
 *
 * Ownership: the pool owns its worker threads and its own state. `ctx` stays owned
 * by the caller and must stay valid until est_threadpool_run() returns. Tasks must
 * not fail (validate before splitting) and must write disjoint memory.
 *
 * Cost: a run with n_tasks <= 1 or no workers is a plain loop. Otherwise about one
 * mutex round trip per task; with the workers asleep (the first run after an idle
 * spell longer than the spin budget) also one condition-variable wake-up per worker
 * used (tens of microseconds in a VM).
 *
 * The process-wide default pool (est_set_num_threads / est_parallel_for) is what
 * the kernels use. It is created lazily, resized by est_set_num_threads() (which
 * waits for runs in flight), and reset in a fork()ed child (the child starts
 * without workers and creates a fresh pool on first use; the atfork handlers are
 * registered before the registry's lock is first taken, by any of the functions
 * below). A pool from est_threadpool_create has no such handling: a fork()ed child
 * must neither use nor destroy it (its workers do not exist there).
 *
 * Contention guard (default pool only): when another process holds a core, a worker
 * that took a task may be preempted for a whole time slice while the caller, done
 * with its own tasks, waits for it; the split run is then slower than running every
 * task on the caller. est_parallel_for times each split run (the caller's own tasks
 * and the whole run); a run that gained nothing (est__guard_update) makes the next
 * runs inline for a back-off period (1 ms after a first loss; then doubling while
 * split runs keep losing, and at least 32 times the time the losing run waited; at
 * most 1 s; reset by a run that gains), after which one split run probes again.
 * A single loss is often not contention: a worker's first run of a kernel, touching
 * its fresh scratch, took 30-65 ms in the tutorial CNN's first step, and when that
 * one loss set a 1 s inline period the next 10-14 steps ran on one thread (68 ms
 * instead of 36). So a run is no evidence at all, and leaves the guard as it was,
 * when it was the first split run of a new pool (its workers were starting) or when a
 * thread grew a per-thread buffer during it (est__pool_note_warmup: the kernel's
 * first touch of fresh memory, which the caller's tasks did not pay alike). Before,
 * two such runs in a row (the pool's first, then a worker's first implicit GEMM)
 * counted as two losses: the second set a 126-997 ms inline period, and the
 * tutorial CNN's first 16-18 steps ran on one thread (56-60 ms instead of 29-31).
 * Load sensing (default pool only) acts before the loss: every 1 ms at most, the
 * machine's runnable threads that are not the pool's (/proc/loadavg) are read as a
 * split run starts and again as a run ends at least 250 us later; the smaller count
 * goes into a moving average that forgets by elapsed time (est__sense_fold), so a
 * thread of this process that runs in bursts as kernels start (an input pipeline's
 * refill) does not count and a process that spins does; only as many workers help
 * as there are CPUs those others leave idle on average (est__helpers_policy); with
 * none left the run, and the split of the kernels planned meanwhile
 * (est_split_count), is the one-thread one. A 2-CPU machine with another process
 * spinning runs the tutorial CNN step in 74.5 ms on 2 threads against 74.6 ms on
 * one (83-84 ms before sensing, which planned 2-thread splits run inline).
 * Results do not change (kernels are bit-identical for any split); on a quiet
 * machine split runs gain and the guard never engages. Cost: two clock reads per
 * task the caller runs. ESTCORE_CONTENTION_GUARD=0 in the environment (read on the
 * first split run) turns it and the load sensing off, for measurements.
 */
#ifndef ESTCORE_EST_THREADPOOL_H
#define ESTCORE_EST_THREADPOOL_H

#include "estcore/est_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Default spin budget of idle workers and of waiting callers, microseconds
 * (ESTCORE_SPIN_US in the environment, 0..100000, read once, overrides it; 0: never
 * spin, the workers sleep as soon as they are idle). */
#define EST_SPIN_DEFAULT_US 300

/* Upper bound on num_threads for any pool. */
#define EST_MAX_THREADS 64

/* One task: called once per index in [0, n_tasks). Must not block on other tasks. */
typedef void (*est_task_fn)(void *ctx, int64_t task);

typedef struct est_threadpool est_threadpool;

/* Create a pool with `num_threads` compute threads in total (1..EST_MAX_THREADS);
 * starts num_threads - 1 workers and waits until they are running.
 * Errors: EST_ERR_INVALID_ARGUMENT (num_threads out of range, out NULL),
 * EST_ERR_OUT_OF_MEMORY, EST_ERR_THREAD (pthread_create failed; nothing leaks).
 * On success *out is owned by the caller, who frees it with est_threadpool_destroy. */
est_status est_threadpool_create(int num_threads, est_threadpool **out);

/* Stop the workers (after the tasks already taken finish) and free the pool.
 * Must not be called while a run on this pool is in flight. NULL is a no-op. */
void est_threadpool_destroy(est_threadpool *pool);

/* Total compute threads of the pool (workers + the calling thread). */
int est_threadpool_num_threads(const est_threadpool *pool);

/* Run fn(ctx, i) for i in [0, n_tasks) and wait for all of them (see above).
 * Blocks the caller, who executes tasks too. n_tasks <= 0 returns at once.
 * Errors: EST_ERR_INVALID_ARGUMENT (pool or fn NULL). Thread-safe. */
est_status est_threadpool_run(est_threadpool *pool, int64_t n_tasks, est_task_fn fn, void *ctx);

/* ---- the process-wide default pool used by every kernel ---------------------- */

/* Set the compute threads of the default pool (1..EST_MAX_THREADS). Waits until
 * kernel runs in flight on the old pool finish, then drops it; the new pool is
 * created lazily on first use. Does not touch any BLAS library's threads.
 * Must not be called from inside a task (it would wait for its own run). Kernel runs
 * that other threads start while it waits are let in, so threads that run kernels
 * back to back without a pause can delay it indefinitely.
 * Errors: EST_ERR_INVALID_ARGUMENT. Thread-safe. */
est_status est_set_num_threads(int num_threads);

/* The default pool's compute threads; before any est_set_num_threads() call, the
 * number of CPUs this process may run on (sched_getaffinity), capped. */
int est_get_num_threads(void);

/* est_threadpool_run on the default pool; inline when it has one thread or
 * n_tasks == 1. If the workers cannot be started the tasks run inline (slower, never
 * wrong). Thread-safe; do not call from inside a task (kernels never nest). */
void est_parallel_for(int64_t n_tasks, est_task_fn fn, void *ctx);

/* A thread of this process that is not a pool's and works in bursts (an input
 * pipeline's worker filling the next batch) says when a burst starts (delta +1) and
 * ends (-1). Load sensing (above) does not count such threads as other load: they
 * are this process's own work, runnable whenever a step has just taken a batch, and
 * the contention guard still sees what they cost. A thread inside a burst is left
 * out even while it waits (a page fault), hiding one other thread for that moment.
 * Lock-free (an atomic add; the first call registers the pool's fork handlers), any
 * thread; calls must pair up. The input pipeline reaches it through
 * est_stream_set_burst_hook (est_stream.h), wired by the Python seam. */
void est_note_own_burst(int delta);

/* Tests only: the bursts reported and not yet ended (est_note_own_burst). */
int est__own_bursts(void);

/* ---- contention guard policy (internal; a pure function, unit-tested) ---------- */

#define EST__GUARD_MIN_NS ((int64_t)1000000)    /* first inline period: 1 ms */
#define EST__GUARD_MAX_NS ((int64_t)1000000000) /* longest inline period: 1 s */
#define EST__GUARD_WASTE_FACTOR 32 /* inline period >= 32 x the time a loss wasted */
#define EST__GUARD_MIN_WAIT_NS ((int64_t)250000) /* a loss waited at least 250 us */

/* A kernel, on any thread, has just allocated memory that it is about to touch for
 * the first time (a grown per-thread buffer): the default pool's split run in
 * progress, if any, is no evidence for the contention guard (see above). Lock-free,
 * callable from inside a task. */
void est__pool_note_warmup(void);

/* What is left now of the default pool's inline period (ns; 0 when split runs are
 * allowed): the guard's state, for tests. */
int64_t est__guard_inline_ns(void);

/* Tests only: load sensing reads `reader()` instead of /proc/loadavg: the runnable
 * threads that are not the pool's (< 0: unknown); this process's reported bursts
 * (est_note_own_burst) are still taken off. NULL restores /proc/loadavg. Set it before
 * the runs it is meant for; not for concurrent use with running kernels. */
void est__set_load_reader(int (*reader)(void));

/* What one split run measured: its tasks, how many the caller ran, their total
 * duration and the whole run's duration (nanoseconds). */
typedef struct est__run_stats {
    int64_t n_tasks, own_tasks, own_ns, total_ns;
} est__run_stats;

/* The guard's verdict on one split run. Serial time is estimated as the caller's mean
 * task time times n_tasks (a kernel splits into near-equal tasks). A run whose
 * elapsed time is at least 90% of that estimate, and whose caller waited at least
 * EST__GUARD_MIN_WAIT_NS for the workers, gained nothing because a worker was
 * preempted (a worker's wake-up latency, tens of us, never counts: it costs small
 * runs a little and must not turn off the split of the large ones): it returns the
 * inline period to apply now and doubles *backoff: EST__GUARD_MIN_NS for the first
 * loss after a gain (*backoff at EST__GUARD_MIN_NS: one slow run may be a one-off,
 * such as a worker's first touch of its scratch), else the larger of *backoff and
 * EST__GUARD_WASTE_FACTOR times the time the caller sat waiting (total - own),
 * capped at EST__GUARD_MAX_NS. The waste term bounds what probing costs on a busy
 * machine: from the second loss in a row, a probe that waited a whole time slice
 * (tens of ms when the run queue is long) is followed by at least 32 times as long
 * inline, so probes cost at most ~3% during a streak of losses. Losses that alternate
 * with gains (a busy neighbour that comes and goes) each get the short pause only and
 * may cost up to a time slice each; load sensing is what keeps those runs inline.
 * A run that gained resets *backoff to EST__GUARD_MIN_NS and returns 0. A run with
 * no estimate (the caller ran none or all of the tasks) returns 0, *backoff kept. */
static inline int64_t est__guard_update(const est__run_stats *s, int64_t *backoff) {
    if (s->own_tasks <= 0 || s->own_tasks >= s->n_tasks) return 0;
    /* elapsed >= 0.9 * own_ns / own_tasks * n_tasks, in integers (no overflow below
     * 2^63 / 10 / n_tasks ns) */
    if (s->total_ns - s->own_ns >= EST__GUARD_MIN_WAIT_NS &&
        s->total_ns * 10 * s->own_tasks >= 9 * s->own_ns * s->n_tasks) {
        int64_t now = *backoff < EST__GUARD_MIN_NS ? EST__GUARD_MIN_NS : *backoff;
        if (now == EST__GUARD_MIN_NS) { /* the first loss after a gain: a short pause */
            *backoff = 2 * EST__GUARD_MIN_NS;
            return EST__GUARD_MIN_NS;
        }
        int64_t waited = s->total_ns - s->own_ns;
        if (waited > EST__GUARD_MAX_NS / EST__GUARD_WASTE_FACTOR) waited = EST__GUARD_MAX_NS;
        else waited *= EST__GUARD_WASTE_FACTOR;
        *backoff = now >= EST__GUARD_MAX_NS / 2 ? EST__GUARD_MAX_NS : 2 * now;
        now = waited > now ? waited : now;
        return now > EST__GUARD_MAX_NS ? EST__GUARD_MAX_NS : now;
    }
    *backoff = EST__GUARD_MIN_NS;
    return 0;
}

/* Load sensing's verdict (est_parallel_for): how many of a pool's `workers` may help a
 * split run when `others` runnable threads that are not the pool's share the
 * machine's `online_cpus`: the CPUs those others leave idle, less the caller's, at
 * most `workers`, at least 0 (0: run inline). */
static inline int est__helpers_policy(int online_cpus, int workers, int others) {
    int allowed = online_cpus - 1 - (others > 0 ? others : 0);
    if (allowed > workers) allowed = workers;
    return allowed < 0 ? 0 : allowed;
}

/* Load sensing's moving average (est_parallel_for): `avg` (runnable threads not of the
 * pool, in 1/256ths) after a new `sample` (threads) taken `dt_ns` after the previous
 * one. The weight of the past decays with time, not with the number of samples: 7/8
 * per whole millisecond elapsed, at least one and at most four. So the average forgets
 * at about the same pace whether kernels are short and samples come every 1 ms or a
 * conv's kernels take milliseconds each and samples come every 20 (two samples then
 * take a spinner that stopped out of it), and no single sample, however late, moves
 * it by more than 41% of the sample's value: a sample of one thread alone does not
 * take it from 0 past 0.5, two in a row do. */
static inline int est__sense_fold(int avg, int sample, int64_t dt_ns) {
    int64_t ms = dt_ns / 1000000;
    if (ms < 1) ms = 1;
    if (ms > 4) ms = 4;
    int keep = 256; /* of 256 */
    for (int64_t i = 0; i < ms; i++) keep -= keep / 8;
    return (int)(((int64_t)avg * keep + (int64_t)sample * 256 * (256 - keep)) / 256);
}

/* Tasks per compute thread a kernel splits into at most. More tasks than threads
 * lets the caller take over the work of a worker that the OS has not scheduled yet
 * (another process holds its core), so a busy machine slows a kernel down gracefully
 * instead of making the caller wait a whole time slice for the late worker. */
#define EST_TASKS_PER_THREAD 4

/* How many tasks a kernel should split `work` units into, given that a task should
 * carry at least `min_work` units and a thread at most `per_thread` tasks (clamped to
 * 1..EST_TASKS_PER_THREAD): 1 with one thread, else min(per_thread * threads,
 * work / min_work), at least 1, where `threads` is what a split run would use now:
 * est_get_num_threads(), or fewer while the contention guard runs kernels inline or
 * load sensing holds workers back (default pool; so the answer may change from call
 * to call, and kernels must give the same bits for any split). Locks the default
 * pool's registry briefly and, every 1 ms at most, reads /proc/loadavg. GEMM-based
 * kernels use fewer tasks per thread (each BLAS call repacks its operands). */
int64_t est_split_count(int64_t work, int64_t min_work, int per_thread);

#ifdef __cplusplus
}
#endif
#endif /* ESTCORE_EST_THREADPOOL_H */
