/* est_threadpool.c -- persistent worker threads that spin briefly, then sleep
 * (see est_threadpool.h).
 *
 * Lock order: g_mu (the default-pool registry) may be held while a pool's `mu` is
 * taken (destroy joins workers); never the reverse. Tasks run with no lock held.
 * g_sense_mu (load sensing's sample in progress) is a leaf, only ever trylocked, never
 * held with g_mu or a pool's `mu`.
 * Lock-free reads: `posted` (a worker spinning for work) and a job's `pending` (its
 * caller spinning for the workers' tasks); every write of either happens under `mu`.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "estcore/est_threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EST_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define EST_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define EST_CPU_RELAX() ((void)0)
#endif

/* Tasks are handed out by owner ranges: with `slots` threads that may take part (the
 * caller and the helpers allowed), range r = [r * n / slots, (r + 1) * n / slots)
 * belongs to the caller (r = 0) or to worker r - 1. Each thread takes its own range
 * front to back, then takes from the back of the range with the most tasks left
 * (its owner late or busy elsewhere). So each thread runs the same part of every
 * kernel from one run to the next, and the part of an array that one kernel wrote
 * (or one step's update of a weight and its optimizer slots) is read by the same
 * thread in the next kernel (or step) while it is still in its core's cache. Before,
 * the threads took tasks in turn from one counter and which thread ran which task
 * changed from run to run: the data went from one core's cache to the other's, which
 * on a VM whose two vCPUs sat on different chiplets cost 175 ns a cache line (55 ns
 * when they shared an L3). Which thread runs a task never changes a result (tasks
 * write disjoint memory). */
typedef struct est_job {
    est_task_fn fn;
    void *ctx;
    int64_t n_tasks;
    int64_t left;             /* tasks not yet taken; guarded by pool->mu */
    int slots;                /* owner ranges (1 + max_helpers, at most n_tasks) */
    int64_t cur[EST_MAX_THREADS]; /* range r's untaken tasks are [cur[r], end[r]); */
    int64_t end[EST_MAX_THREADS]; /* both guarded by pool->mu */
    _Atomic int64_t pending;  /* tasks not yet finished; written under pool->mu, read
                                 without it by the job's caller while it spins */
    int waiting;              /* the caller sleeps on done_cv; guarded by pool->mu */
    int max_helpers;          /* workers that may take tasks of this job */
    int helpers;              /* workers that have; guarded by pool->mu */
    uint64_t id;              /* unique per pool (the `posted` count at queueing) */
    struct est_job *link;     /* queue link; guarded by pool->mu */
} est_job;

typedef struct {
    struct est_threadpool *pool;
    int slot; /* its owner range in every job: 1 + its index among the workers */
} est_worker_arg;

struct est_threadpool {
    pthread_mutex_t mu;     /* guards everything below except `posted` */
    pthread_cond_t work_cv; /* signalled when a job is queued for a sleeper, or on shutdown */
    pthread_cond_t done_cv; /* broadcast when a waiting caller's job finishes */
    est_job *head;          /* jobs with untaken tasks, oldest first */
    est_job *tail;
    int shutdown;
    int started;            /* workers that have entered their loop (start handshake) */
    _Atomic int sleepers;   /* workers waiting on work_cv; written under mu, read
                               without it by est_parallel_for's load sensing */
    int num_workers;
    _Atomic uint64_t posted; /* bumped (under mu) on every queued job and on shutdown */
    pthread_t *threads;
    est_worker_arg *wargs; /* worker i's argument; owned by the pool */
};

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- spin budget ---------------------------------------------------------------- */

/* How long an idle worker, or a caller waiting for its workers, spins before it
 * sleeps (ns). ESTCORE_SPIN_US (0..100000, read once) overrides the default. */
static int64_t g_spin_ns = EST_SPIN_DEFAULT_US * (int64_t)1000;
static pthread_once_t g_spin_once = PTHREAD_ONCE_INIT;
static void read_spin_env(void) {
    const char *env = getenv("ESTCORE_SPIN_US");
    if (env == NULL || env[0] == '\0') return;
    char *end = NULL;
    long v = strtol(env, &end, 10);
    if (end != NULL && *end == '\0' && v >= 0 && v <= 100000) g_spin_ns = (int64_t)v * 1000;
}
static int64_t spin_budget_ns(void) {
    pthread_once(&g_spin_once, read_spin_env);
    return g_spin_ns;
}

/* Spin until *word differs from `seen` (returns 1) or `budget` ns pass (returns 0).
 * After the first EST__SPIN_PURE_NS the loop also yields the CPU on each check, so a
 * spinner that shares its core with a runnable thread (another process, or this
 * process's own caller) hands the core over instead of burning its time slice. */
#define EST__SPIN_PURE_NS ((int64_t)20000)
static int spin_u64(const _Atomic uint64_t *word, uint64_t seen, int64_t budget) {
    if (budget <= 0) return 0;
    const int64_t t0 = now_ns();
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (atomic_load_explicit(word, memory_order_acquire) != seen) return 1;
            EST_CPU_RELAX();
        }
        const int64_t t = now_ns() - t0;
        if (t >= budget) return 0;
        if (t >= EST__SPIN_PURE_NS) sched_yield();
    }
}
static int spin_zero_i64(const _Atomic int64_t *word, int64_t budget) {
    if (budget <= 0) return 0;
    const int64_t t0 = now_ns();
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (atomic_load_explicit(word, memory_order_acquire) == 0) return 1;
            EST_CPU_RELAX();
        }
        const int64_t t = now_ns() - t0;
        if (t >= budget) return 0;
        if (t >= EST__SPIN_PURE_NS) sched_yield();
    }
}

/* Unlink `job` from the queue. `pool->mu` is held here. */
static void queue_remove(est_threadpool *pool, est_job *job) {
    est_job *prev = NULL;
    for (est_job *j = pool->head; j != NULL; prev = j, j = j->link) {
        if (j != job) continue;
        if (prev) prev->link = j->link; else pool->head = j->link;
        if (pool->tail == j) pool->tail = prev;
        j->link = NULL;
        return;
    }
}

/* Split `job`'s tasks into its owner ranges (see est_job). */
static void job_ranges(est_job *job, int max_helpers) {
    int64_t slots = (int64_t)max_helpers + 1;
    if (slots > job->n_tasks) slots = job->n_tasks;
    job->slots = (int)slots;
    for (int r = 0; r < job->slots; r++) {
        job->cur[r] = job->n_tasks * r / slots;
        job->end[r] = job->n_tasks * (r + 1) / slots;
    }
}

/* Take a task of `job` for the thread owning range `slot` (the caller 0, worker w
 * w + 1): the front of its own range, else the back of the range with the most tasks
 * left; unlink the job once its last task is taken. `pool->mu` is held here and
 * job->left > 0. */
static int64_t take_task(est_threadpool *pool, est_job *job, int slot) {
    int64_t i;
    if (slot < job->slots && job->cur[slot] < job->end[slot]) {
        i = job->cur[slot]++;
    } else {
        int from = 0;
        for (int r = 1; r < job->slots; r++)
            if (job->end[r] - job->cur[r] > job->end[from] - job->cur[from]) from = r;
        i = --job->end[from];
    }
    if (--job->left == 0) queue_remove(pool, job);
    return i;
}

/* The first queued job this worker may take a task of: the one it helps already
 * (*helping holds that job's id), or one with room for another helper, which it
 * then joins when `join`. NULL when there is none. `pool->mu` is held here. */
static est_job *pick_job(est_threadpool *pool, uint64_t *helping, int join) {
    for (est_job *j = pool->head; j != NULL; j = j->link) {
        if (j->id == *helping) return j;
        if (j->helpers < j->max_helpers) {
            if (join) {
                j->helpers++;
                *helping = j->id;
            }
            return j;
        }
    }
    return NULL;
}

/* Run one task with the lock released, then account for it. `pool->mu` held on
 * entry and on return. */
static void finish_task(est_threadpool *pool, est_job *job) {
    /* `waiting` is read first: once pending is 0 the caller may return and its job
     * (on the caller's stack) is gone -- though the caller always takes `mu` before
     * returning, so nothing here races with that as long as `mu` is held. */
    const int waiting = job->waiting;
    const int64_t left = atomic_load_explicit(&job->pending, memory_order_relaxed) - 1;
    atomic_store_explicit(&job->pending, left, memory_order_release);
    if (left == 0 && waiting) pthread_cond_broadcast(&pool->done_cv);
}

static void run_task(est_threadpool *pool, est_job *job, int64_t i) {
    pthread_mutex_unlock(&pool->mu);
    job->fn(job->ctx, i);
    pthread_mutex_lock(&pool->mu);
    finish_task(pool, job);
}

static void *worker(void *arg) {
    est_threadpool *pool = ((est_worker_arg *)arg)->pool;
    const int slot = ((est_worker_arg *)arg)->slot;
    pthread_mutex_lock(&pool->mu);
    pool->started++;
    pthread_cond_broadcast(&pool->done_cv); /* start handshake */
    const int64_t budget = spin_budget_ns();
    uint64_t helping = 0; /* id of the job this worker helps (ids start at 1) */
    for (;;) {
        est_job *job = pick_job(pool, &helping, 1);
        if (job != NULL) {
            run_task(pool, job, take_task(pool, job, slot));
            continue;
        }
        if (pool->shutdown) break; /* nothing left this worker may take */
        /* Idle: spin a while for the next job (kernels of a plan run come back to
         * back), then sleep. A poster signals work_cv only when someone sleeps. */
        const uint64_t seen = atomic_load_explicit(&pool->posted, memory_order_relaxed);
        pthread_mutex_unlock(&pool->mu);
        spin_u64(&pool->posted, seen, budget);
        pthread_mutex_lock(&pool->mu);
        if (pick_job(pool, &helping, 0) != NULL || pool->shutdown ||
            atomic_load_explicit(&pool->posted, memory_order_relaxed) != seen)
            continue;
        atomic_fetch_add_explicit(&pool->sleepers, 1, memory_order_relaxed);
        pthread_cond_wait(&pool->work_cv, &pool->mu);
        atomic_fetch_sub_explicit(&pool->sleepers, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

static void stop_workers(est_threadpool *pool, int n) {
    pthread_mutex_lock(&pool->mu);
    pool->shutdown = 1;
    atomic_fetch_add_explicit(&pool->posted, 1, memory_order_release);
    pthread_cond_broadcast(&pool->work_cv);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 0; i < n; i++) pthread_join(pool->threads[i], NULL);
}

est_status est_threadpool_create(int num_threads, est_threadpool **out) {
    if (out == NULL || num_threads < 1 || num_threads > EST_MAX_THREADS)
        return EST_ERR_INVALID_ARGUMENT;
    *out = NULL;
    est_threadpool *pool = calloc(1, sizeof *pool);
    if (pool == NULL) return EST_ERR_OUT_OF_MEMORY;
    pool->num_workers = num_threads - 1;
    if (pool->num_workers > 0) {
        pool->threads = calloc((size_t)pool->num_workers, sizeof *pool->threads);
        pool->wargs = calloc((size_t)pool->num_workers, sizeof *pool->wargs);
        if (pool->threads == NULL || pool->wargs == NULL) {
            free(pool->threads);
            free(pool->wargs);
            free(pool);
            return EST_ERR_OUT_OF_MEMORY;
        }
    }
    if (pthread_mutex_init(&pool->mu, NULL) != 0 || pthread_cond_init(&pool->work_cv, NULL) != 0 ||
        pthread_cond_init(&pool->done_cv, NULL) != 0)
        abort(); /* broken invariant: init of default attributes cannot fail here */
    for (int i = 0; i < pool->num_workers; i++) {
        pool->wargs[i] = (est_worker_arg){pool, i + 1};
        if (pthread_create(&pool->threads[i], NULL, worker, &pool->wargs[i]) != 0) {
            stop_workers(pool, i);
            pthread_mutex_destroy(&pool->mu);
            pthread_cond_destroy(&pool->work_cv);
            pthread_cond_destroy(&pool->done_cv);
            free(pool->threads);
            free(pool->wargs);
            free(pool);
            return EST_ERR_THREAD;
        }
    }
    pthread_mutex_lock(&pool->mu);
    while (pool->started < pool->num_workers) pthread_cond_wait(&pool->done_cv, &pool->mu);
    pthread_mutex_unlock(&pool->mu);
    *out = pool;
    return EST_OK;
}

void est_threadpool_destroy(est_threadpool *pool) {
    if (pool == NULL) return;
    stop_workers(pool, pool->num_workers);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->work_cv);
    pthread_cond_destroy(&pool->done_cv);
    free(pool->threads);
    free(pool->wargs);
    free(pool);
}

int est_threadpool_num_threads(const est_threadpool *pool) {
    return pool ? pool->num_workers + 1 : 0;
}

/* est_threadpool_run with at most `max_helpers` workers taking tasks (1 or more);
 * when `stats` is non-NULL it also receives how many tasks the caller ran, how long
 * they took and how long the whole run took (for the contention guard of the default
 * pool). */
static void pool_run(est_threadpool *pool, int64_t n_tasks, est_task_fn fn, void *ctx,
                     int max_helpers, est__run_stats *stats) {
    est_job job; /* fields set one by one: the range arrays need no zeroing */
    job.fn = fn;
    job.ctx = ctx;
    job.n_tasks = n_tasks;
    job.left = n_tasks;
    job_ranges(&job, max_helpers);
    atomic_init(&job.pending, n_tasks);
    job.waiting = 0;
    job.max_helpers = max_helpers;
    job.helpers = 0;
    job.id = 0;
    job.link = NULL;
    int64_t t_start = stats ? now_ns() : 0, own_ns = 0, own = 0;
    pthread_mutex_lock(&pool->mu);
    if (pool->tail) pool->tail->link = &job; else pool->head = &job;
    pool->tail = &job;
    job.id = atomic_fetch_add_explicit(&pool->posted, 1, memory_order_release) + 1;
    /* Spinning workers see `posted` change; only sleepers need a (costly) wake-up. */
    const int sleepers = atomic_load_explicit(&pool->sleepers, memory_order_relaxed);
    int64_t wake = n_tasks - 1 < max_helpers ? n_tasks - 1 : max_helpers;
    if (sleepers > 0 && wake > 0) {
        if (wake >= sleepers) {
            pthread_cond_broadcast(&pool->work_cv);
        } else {
            for (int64_t i = 0; i < wake; i++) pthread_cond_signal(&pool->work_cv);
        }
    }
    /* The caller claims tasks like any worker until every task is taken ... */
    while (job.left > 0) {
        int64_t i = take_task(pool, &job, 0);
        if (stats) {
            pthread_mutex_unlock(&pool->mu);
            int64_t t0 = now_ns();
            job.fn(job.ctx, i);
            own_ns += now_ns() - t0;
            own++;
            pthread_mutex_lock(&pool->mu);
            finish_task(pool, &job);
        } else {
            run_task(pool, &job, i);
        }
    }
    /* ... then waits for the tasks the workers took: spinning a while, then asleep.
     * `job` lives on this stack, so nobody may touch it after pending reaches 0:
     * workers only touch it under mu, and this thread takes mu before returning. */
    if (atomic_load_explicit(&job.pending, memory_order_acquire) > 0) {
        pthread_mutex_unlock(&pool->mu);
        spin_zero_i64(&job.pending, spin_budget_ns());
        pthread_mutex_lock(&pool->mu);
        while (atomic_load_explicit(&job.pending, memory_order_relaxed) > 0) {
            job.waiting = 1;
            pthread_cond_wait(&pool->done_cv, &pool->mu);
        }
    }
    pthread_mutex_unlock(&pool->mu);
    if (stats) {
        stats->n_tasks = n_tasks;
        stats->own_tasks = own;
        stats->own_ns = own_ns;
        stats->total_ns = now_ns() - t_start;
    }
}

est_status est_threadpool_run(est_threadpool *pool, int64_t n_tasks, est_task_fn fn, void *ctx) {
    if (pool == NULL || fn == NULL) return EST_ERR_INVALID_ARGUMENT;
    if (n_tasks <= 0) return EST_OK;
    if (n_tasks == 1 || pool->num_workers == 0) {
        for (int64_t i = 0; i < n_tasks; i++) fn(ctx, i);
        return EST_OK;
    }
    pool_run(pool, n_tasks, fn, ctx, pool->num_workers, NULL);
    return EST_OK;
}

/* ---- default pool ------------------------------------------------------------ */

/* g_mu guards g_pool, g_num_threads and g_users. g_users counts est_parallel_for
 * calls in flight on g_pool; est_set_num_threads waits on g_cv until it is 0. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static est_threadpool *g_pool;
static int g_num_threads; /* 0 = not resolved yet */
static int g_users;
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;
/* Contention guard (est__guard_update): runs start inline until g_serial_until
 * (CLOCK_MONOTONIC ns); g_backoff is the next inline period. Relaxed atomics: a race
 * between concurrent callers only shifts a period, never correctness. */
static _Atomic int64_t g_serial_until;
static _Atomic int64_t g_backoff = EST__GUARD_MIN_NS;
/* Warm-ups noted by kernels (est__pool_note_warmup), ever: a split run during which it
 * changed is no evidence. Relaxed: a worker's increment comes before its task's
 * finish (pending, released under mu), which the caller acquires before reading. */
static _Atomic uint64_t g_warmups;
/* 1 from a pool's creation until its first split run (whose workers are starting). */
static _Atomic int g_pool_fresh;

void est__pool_note_warmup(void) {
    atomic_fetch_add_explicit(&g_warmups, 1, memory_order_relaxed);
}

int64_t est__guard_inline_ns(void) {
    const int64_t left = atomic_load_explicit(&g_serial_until, memory_order_relaxed) - now_ns();
    return left > 0 ? left : 0;
}
/* ESTCORE_CONTENTION_GUARD=0 turns the guard off (read once, for measurements). */
static int g_guard_on = 1;
static pthread_once_t g_guard_once = PTHREAD_ONCE_INIT;
static void read_guard_env(void) {
    const char *env = getenv("ESTCORE_CONTENTION_GUARD");
    g_guard_on = !(env != NULL && env[0] == '0' && env[1] == '\0');
}

static void sense_atfork_child(void);

static void atfork_prepare(void) { pthread_mutex_lock(&g_mu); }
static void atfork_parent(void) { pthread_mutex_unlock(&g_mu); }
/* The child has only the forking thread: the old pool's workers do not exist there,
 * so its memory is abandoned (not freed: its mutex may be in any state) and a fresh
 * pool is made on first use. */
static void atfork_child(void) {
    pthread_mutex_init(&g_mu, NULL);
    pthread_cond_init(&g_cv, NULL);
    g_pool = NULL;
    g_users = 0;
    atomic_store_explicit(&g_serial_until, 0, memory_order_relaxed);
    atomic_store_explicit(&g_backoff, EST__GUARD_MIN_NS, memory_order_relaxed);
    sense_atfork_child();
}
static void register_atfork(void) { pthread_atfork(atfork_prepare, atfork_parent, atfork_child); }

/* Lock g_mu, with the atfork handlers registered first: a fork() while another thread
 * holds g_mu must go through atfork_prepare, or the child inherits a locked g_mu and
 * hangs in its first kernel. Every lock of g_mu goes through here (est_split_count
 * locks it on every kernel call, long before, or without ever, creating a pool: with
 * one thread est_parallel_for never gets past its inline path). */
static void registry_lock(void) {
    pthread_once(&g_atfork_once, register_atfork);
    pthread_mutex_lock(&g_mu);
}

static int default_num_threads(void) {
    int n = 1;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        n = CPU_COUNT(&set);
    } else {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    if (n < 1) n = 1;
    if (n > EST_MAX_THREADS) n = EST_MAX_THREADS;
    return n;
}

/* g_mu held here. */
static int resolved_num_threads(void) {
    if (g_num_threads == 0) g_num_threads = default_num_threads();
    return g_num_threads;
}

est_status est_set_num_threads(int num_threads) {
    if (num_threads < 1 || num_threads > EST_MAX_THREADS) return EST_ERR_INVALID_ARGUMENT;
    registry_lock();
    while (g_users > 0) pthread_cond_wait(&g_cv, &g_mu);
    if (g_pool != NULL && est_threadpool_num_threads(g_pool) != num_threads) {
        est_threadpool_destroy(g_pool);
        g_pool = NULL;
    }
    g_num_threads = num_threads;
    pthread_mutex_unlock(&g_mu);
    return EST_OK;
}

int est_get_num_threads(void) {
    registry_lock();
    int n = resolved_num_threads();
    pthread_mutex_unlock(&g_mu);
    return n;
}

static int helpers_allowed(int workers, int sleepers);

/* Threads a split run would use now: 1 while the guard runs kernels inline or no CPU
 * is left idle by other processes (load sensing), else 1 + the helpers allowed. */
static int effective_threads(void) {
    registry_lock();
    int n = resolved_num_threads();
    int sleepers = g_pool != NULL ? atomic_load_explicit(&g_pool->sleepers, memory_order_relaxed) : n - 1;
    pthread_mutex_unlock(&g_mu);
    if (n <= 1) return 1;
    if (now_ns() < atomic_load_explicit(&g_serial_until, memory_order_relaxed)) return 1;
    pthread_once(&g_guard_once, read_guard_env);
    return g_guard_on ? 1 + helpers_allowed(n - 1, sleepers) : n;
}

int64_t est_split_count(int64_t work, int64_t min_work, int per_thread) {
    int64_t threads = effective_threads();
    if (threads <= 1) return 1;
    if (min_work < 1) min_work = 1;
    if (per_thread < 1) per_thread = 1;
    if (per_thread > EST_TASKS_PER_THREAD) per_thread = EST_TASKS_PER_THREAD;
    int64_t n = work / min_work;
    if (n > per_thread * threads) n = per_thread * threads;
    return n < 1 ? 1 : n;
}

/* ---- load sensing (default pool) ----------------------------------------------------
 * Every EST__SENSE_PERIOD_NS at most, one sample of the threads that keep the machine
 * busy besides this pool: the number of runnable threads of the whole machine
 * (/proc/loadavg's fourth field) less this pool's own (the caller and the workers not
 * asleep) and less this process's stream workers at work (est_note_own_burst), read
 * twice and the smaller count kept: once as a split run starts, once as a run (the
 * same one, a later one, or an inline one) ends at least EST__SENSE_GAP_NS after. When
 * no run ends for EST__SENSE_STALE_NS (kernels that never reach est_parallel_for), the
 * next start completes the sample instead. The samples fold into a moving average
 * (est__sense_fold: 7/8 kept a millisecond, at most 4 ms counted a sample), and only
 * as many workers help as there are CPUs the others leave idle on average: none while
 * another process keeps the only other core of a 2-CPU machine busy (it is runnable at
 * both reads), all while other threads run in bursts.
 * Why two reads, at a start and at an end: an input pipeline's thread refills the batch
 * the step has just taken, so it is runnable when the step's first kernel starts and
 * samples. Counted at that one instant (even averaged over many samples: they were
 * taken at the same moment of each step) it held the workers back in 9-10% of the MLP
 * step's split runs and made the Estimator's step with numpy_input_fn 1.17-1.25 ms on
 * average (0.98 with sensing off; 1.00-1.05 with the two reads); its burst (about
 * 80 us) is over when a kernel 250 us later ends.
 * Why the stream's workers are left out: a longer burst spans both reads. Evaluate's
 * batches of 1,000 rows (3 MB) are copied while a 2 ms kernel runs; the average stood
 * at 0.5 or more after 27 of 123 samples, and 2-3 of the 10 batches of a call ran
 * inline (5.2-5.7 ms instead of 3.1). The two reads remain for bursty threads that do
 * not report. A worker inside a burst but blocked (a page fault on a memory-mapped
 * source) is subtracted all the same, hiding one other thread for that moment.
 * Why the average forgets by time: a sample needs a run's end, and with the CNN's
 * kernels of several ms each samples came every 15-25 ms; an average that kept 7/8 a
 * sample held the workers back for 2-3 steps after a spinner stopped.
 * Why load sensing at all: a worker that shares its core with a busy thread is
 * preempted for whole time slices while its caller waits for its task; the guard above
 * only notices that after it happened. Where /proc/loadavg cannot be read every worker
 * helps. Off with the guard (ESTCORE_CONTENTION_GUARD=0). */
#define EST__SENSE_PERIOD_NS ((int64_t)1000000)
#define EST__SENSE_GAP_NS ((int64_t)250000)
#define EST__SENSE_STALE_NS ((int64_t)5000000) /* no run ended since the first read */
static int g_load_fd = -1;
static int g_online_cpus = 1;
static pthread_once_t g_load_once = PTHREAD_ONCE_INIT;
static _Atomic int64_t g_sense_next; /* CLOCK_MONOTONIC ns when the next read is due */
static _Atomic int g_busy_others;    /* runnable threads not of the pool: moving average,
                                        in 1/256ths */
static pthread_mutex_t g_sense_mu = PTHREAD_MUTEX_INITIALIZER; /* taken with trylock only */
static int g_sense_first = -1;  /* guarded by g_sense_mu: the sample's first read, -1: none */
static _Atomic int g_sense_pending; /* g_sense_first >= 0, for a look without the lock */
static int64_t g_sense_first_t; /* guarded by g_sense_mu: when it was taken */
static int64_t g_sense_last_t;  /* guarded by g_sense_mu: when the last sample completed */

static int (*_Atomic g_load_reader)(void); /* tests: instead of /proc/loadavg */

void est__set_load_reader(int (*reader)(void)) {
    atomic_store(&g_load_reader, reader);
}

static _Atomic int g_own_bursts; /* est_note_own_burst: this process's bursty threads at work */

void est_note_own_burst(int delta) {
    /* the atfork handlers must be in place before a fork can copy a count in progress
     * (a process may run streams before its first kernel) */
    pthread_once(&g_atfork_once, register_atfork);
    atomic_fetch_add_explicit(&g_own_bursts, delta, memory_order_relaxed);
}

/* The child of a fork: no stream worker of the parent is at work there, and a sample
 * the parent was taking (g_sense_mu possibly held by another thread) is dropped. */
static void sense_atfork_child(void) {
    pthread_mutex_init(&g_sense_mu, NULL);
    g_sense_first = -1;
    atomic_store_explicit(&g_sense_pending, 0, memory_order_relaxed);
    atomic_store_explicit(&g_sense_next, 0, memory_order_relaxed);
    atomic_store_explicit(&g_own_bursts, 0, memory_order_relaxed);
}

int est__own_bursts(void) {
    return atomic_load_explicit(&g_own_bursts, memory_order_relaxed);
}

static void open_load(void) {
    g_load_fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    g_online_cpus = c > 0 ? (int)c : 1;
}

/* Runnable threads on the machine now that are not the pool's (the caller and its
 * `workers` less the `sleepers`) nor this process's bursty threads at work
 * (est_note_own_burst), or -1 when unknown. */
static int read_others(int workers, int sleepers) {
    long others;
    int (*reader)(void) = atomic_load(&g_load_reader);
    if (reader != NULL) {
        const int r = reader();
        if (r < 0) return -1;
        others = r > 1000000 ? 1000000 : r;
    } else {
        if (g_load_fd < 0) return -1;
        char buf[160];
        ssize_t n = pread(g_load_fd, buf, sizeof buf - 1, 0);
        if (n <= 0) return -1;
        buf[n] = '\0';
        const char *p = buf;
        for (int field = 0; field < 3; field++) { /* "0.13 0.84 1.13 2/345 6789" */
            while (*p != '\0' && *p != ' ') p++;
            while (*p == ' ') p++;
        }
        if (*p < '0' || *p > '9') return -1;
        long v = strtol(p, NULL, 10);
        if (v < 0 || v >= 1000000) return -1;
        others = v - (1 + workers - sleepers);
    }
    others -= atomic_load_explicit(&g_own_bursts, memory_order_relaxed);
    return others < 0 ? 0 : (int)others;
}

/* Whether load can be read at all: /proc/loadavg opened, or a test's reader set. */
static int load_readable(void) {
    pthread_once(&g_load_once, open_load);
    return g_load_fd >= 0 || atomic_load(&g_load_reader) != NULL;
}

/* A split run of a pool with `workers` workers, `sleepers` of them asleep, starts
 * (at_end 0) or has ended (at_end 1): take the read of the sample that is due, if
 * any. Cheap when none is due (a clock read and an atomic load). */
static void sense(int at_end, int workers, int sleepers) {
    if (!load_readable()) return;
    const int64_t t = now_ns();
    if (t < atomic_load_explicit(&g_sense_next, memory_order_relaxed) ||
        pthread_mutex_trylock(&g_sense_mu) != 0)
        return;
    /* a start takes the first read when none is pending, an end the second (however long
     * its run took), and so does a start when no run has ended for EST__SENSE_STALE_NS */
    const int pending = g_sense_first >= 0;
    const int completes = pending && (at_end || t - g_sense_first_t > EST__SENSE_STALE_NS);
    if (t >= atomic_load_explicit(&g_sense_next, memory_order_relaxed) &&
        (completes || (!pending && !at_end))) {
        const int others = read_others(workers, sleepers);
        int64_t next = t + EST__SENSE_PERIOD_NS;
        if (others >= 0 && !pending) {
            g_sense_first = others;
            g_sense_first_t = t;
            atomic_store_explicit(&g_sense_pending, 1, memory_order_relaxed);
            next = t + EST__SENSE_GAP_NS;
        } else {
            if (others >= 0) {
                const int sample = others < g_sense_first ? others : g_sense_first;
                int avg = atomic_load_explicit(&g_busy_others, memory_order_relaxed);
                avg = est__sense_fold(avg, sample, t - g_sense_last_t);
                atomic_store_explicit(&g_busy_others, avg, memory_order_relaxed);
                g_sense_last_t = t;
            }
            g_sense_first = -1;
            atomic_store_explicit(&g_sense_pending, 0, memory_order_relaxed);
        }
        atomic_store_explicit(&g_sense_next, next, memory_order_relaxed);
    }
    pthread_mutex_unlock(&g_sense_mu);
}

/* Workers of a pool with `workers` workers, `sleepers` of them asleep, that may help a
 * split run now (0: run inline). */
static int helpers_allowed(int workers, int sleepers) {
    sense(0, workers, sleepers);
    if (!load_readable()) return workers;
    const int avg = atomic_load_explicit(&g_busy_others, memory_order_relaxed);
    return est__helpers_policy(g_online_cpus, workers, (avg + 128) / 256);
}

static int pool_sleepers(est_threadpool *pool) {
    return atomic_load_explicit(&pool->sleepers, memory_order_relaxed);
}

/* A kernel run that took no split run of the default pool (one task, or inline) has
 * ended: the end read of a pending sample, if due. While load sensing keeps kernels
 * inline they plan the one-thread split and run one task, so these ends are what
 * completes the samples that let the workers help again (kernels that never reach
 * est_parallel_for, such as an unsplit GEMM, leave it to the stale rule in sense). */
static void sense_after_inline_run(void) {
    if (!atomic_load_explicit(&g_sense_pending, memory_order_relaxed) ||
        now_ns() < atomic_load_explicit(&g_sense_next, memory_order_relaxed))
        return;
    registry_lock();
    /* no pool (est_set_num_threads dropped it, and kernels planned inline never make
     * one): its workers would all be asleep, as effective_threads assumes */
    const int workers = resolved_num_threads() - 1;
    const int sleepers = g_pool != NULL ? pool_sleepers(g_pool) : workers;
    pthread_mutex_unlock(&g_mu);
    if (workers > 0) sense(1, workers, sleepers);
}

void est_parallel_for(int64_t n_tasks, est_task_fn fn, void *ctx) {
    if (n_tasks <= 0) return;
    if (n_tasks > 1 && now_ns() >= atomic_load_explicit(&g_serial_until, memory_order_relaxed)) {
        registry_lock();
        est_threadpool *pool = NULL;
        if (resolved_num_threads() > 1) {
            if (g_pool == NULL) {
                if (est_threadpool_create(g_num_threads, &g_pool) != EST_OK)
                    g_pool = NULL; /* could not start workers: run inline below */
                else
                    atomic_store_explicit(&g_pool_fresh, 1, memory_order_relaxed);
            }
            pool = g_pool;
        }
        if (pool != NULL) g_users++;
        pthread_mutex_unlock(&g_mu);
        pthread_once(&g_guard_once, read_guard_env);
        const int helpers = pool == NULL ? 0
                            : g_guard_on ? helpers_allowed(pool->num_workers, pool_sleepers(pool))
                                         : pool->num_workers;
        if (pool != NULL && helpers > 0) {
            est__run_stats stats;
            const int fresh = atomic_exchange_explicit(&g_pool_fresh, 0, memory_order_relaxed);
            const uint64_t warmups = atomic_load_explicit(&g_warmups, memory_order_relaxed);
            pool_run(pool, n_tasks, fn, ctx, helpers, &stats);
            if (g_guard_on) sense(1, pool->num_workers, pool_sleepers(pool));
            const int evidence =
                !fresh && atomic_load_explicit(&g_warmups, memory_order_relaxed) == warmups;
            int64_t backoff = atomic_load_explicit(&g_backoff, memory_order_relaxed);
            int64_t inline_ns = g_guard_on && evidence ? est__guard_update(&stats, &backoff) : 0;
            atomic_store_explicit(&g_backoff, backoff, memory_order_relaxed);
            if (inline_ns > 0)
                atomic_store_explicit(&g_serial_until, now_ns() + inline_ns, memory_order_relaxed);
            pthread_mutex_lock(&g_mu);
            if (--g_users == 0) pthread_cond_broadcast(&g_cv);
            pthread_mutex_unlock(&g_mu);
            return;
        }
        if (pool != NULL) {
            pthread_mutex_lock(&g_mu);
            if (--g_users == 0) pthread_cond_broadcast(&g_cv);
            pthread_mutex_unlock(&g_mu);
        }
    }
    for (int64_t i = 0; i < n_tasks; i++) fn(ctx, i);
    sense_after_inline_run();
}
