/* test_load_sensing.c -- load sensing of the default pool (est_threadpool.h), guard on.
 *
 * With a scripted reading (est__set_load_reader): a thread that is runnable as each
 * kernel starts but not as it ends (an input pipeline's thread refilling the batch a
 * step has just taken) does not hold the workers back; one runnable at every read (a
 * process spinning) does; once it stops, the workers help again within milliseconds,
 * also when no split run happens (the pool dropped, kernels planned inline).
 * Before, every sample was read as a run started, so the first case held the workers
 * back in every step.
 * A thread of this process runnable at every read holds them back unless it reported
 * its burst (est_note_own_burst). With /proc/loadavg: processes that keep every other
 * CPU busy hold them back.
 *
 * A "step" is one split run of 8 tasks of ~125 us of spinning each (~0.5 ms on two
 * threads, ~1 ms inline), then a 50 us pause. Whether the workers help is read from
 * est_split_count, which plans with the threads a split run would use now. */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "est_test.h"

static int64_t mono_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void spin_ns(int64_t ns) {
    const int64_t end = mono_ns() + ns;
    while (mono_ns() < end) {
    }
}

/* The scripted reading: a thread runnable from just before a step's run until its first
 * task starts (bursty), at every read (spinning), or never. */
enum { NONE, BURSTY, SPINNING };
static _Atomic int g_mode;
static _Atomic int g_in_burst;
static int g_busy; /* threads that leave no CPU idle for the workers: online CPUs - 1 */

static int scripted_reader(void) {
    switch (atomic_load(&g_mode)) {
    case BURSTY: return atomic_load(&g_in_burst) ? g_busy : 0;
    case SPINNING: return g_busy;
    default: return 0;
    }
}

static void spin_task(void *ctx, int64_t i) {
    (void)ctx;
    (void)i;
    atomic_store(&g_in_burst, 0);
    spin_ns(125000);
}

/* Runs steps for `ms` milliseconds; returns the share, in percent, of the steps of the
 * second half whose run was planned inline (by load sensing alone unless `any`: also
 * in an inline period of the contention guard). */
static int steps_held_back(int ms, int any) {
    const int64_t end = mono_ns() + (int64_t)ms * 1000000, half = mono_ns() + (int64_t)ms * 500000;
    int steps = 0, held = 0;
    while (mono_ns() < end) {
        atomic_store(&g_in_burst, 1);
        /* a scripted case leaves out the guard's inline periods (a worker preempted by
         * something else on this machine) */
        const int inline_run =
            est_split_count(1 << 20, 1, 1) == 1 && (any || est__guard_inline_ns() == 0);
        est_parallel_for(8, spin_task, NULL);
        if (mono_ns() > half) {
            steps++;
            held += inline_run;
        }
        spin_ns(50000);
    }
    return steps > 0 ? 100 * held / steps : 100;
}

/* After the average was pushed up, with no split run at all (the pool dropped by
 * est_set_num_threads, kernels planned inline: one-task runs, or none, as an unsplit
 * GEMM): the workers are let back in within `ms` milliseconds? */
static int recovers_without_split_runs(int ms, int one_task_runs) {
    atomic_store(&g_mode, SPINNING);
    steps_held_back(60, 0);
    CHECK_OK(est_set_num_threads(1));
    CHECK_OK(est_set_num_threads(2)); /* the pool is gone until a split run makes one */
    atomic_store(&g_mode, NONE);
    const int64_t end = mono_ns() + (int64_t)ms * 1000000;
    for (int i = 0; mono_ns() < end; i++) {
        if (est_split_count(1 << 20, 1, 1) > 1) return 1;
        if (one_task_runs && i % 2) est_parallel_for(1, spin_task, NULL);
        else spin_ns(125000); /* a kernel that never reaches est_parallel_for */
    }
    return 0;
}

int main(void) {
    const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 2) {
        fprintf(stderr, "test_load_sensing: SKIPPED: one CPU (no worker ever helps)\n");
        return est_test_finish("test_load_sensing");
    }
    g_busy = (int)cpus - 1;
    CHECK_OK(est_set_num_threads(2));
    est__set_load_reader(scripted_reader);
    atomic_store(&g_mode, NONE);
    CHECK(steps_held_back(100, 0) <= 5);
    atomic_store(&g_mode, BURSTY);
    const int bursty = steps_held_back(200, 0);
    CHECK(bursty <= 5);
    atomic_store(&g_mode, SPINNING);
    const int spinning = steps_held_back(200, 0);
    CHECK(spinning >= 95);
    /* back within 20 ms: the steps of the second half of 40 ms all split */
    atomic_store(&g_mode, NONE);
    const int after = steps_held_back(40, 0);
    CHECK(after <= 5);
    if (bursty > 5 || spinning < 95 || after > 5)
        fprintf(stderr, "scripted: bursty %d%%, spinning %d%%, after %d%% of the steps "
                        "held back\n", bursty, spinning, after);
    CHECK(recovers_without_split_runs(200, 1));
    CHECK(recovers_without_split_runs(200, 0));
    /* A thread of this process runnable at every read is load, unless it reported its
     * burst (est_note_own_burst, as the input pipeline's workers do). Scripted: a real
     * spinning thread competes with the workers, and the contention guard's inline
     * periods then decide the steps instead. */
    atomic_store(&g_mode, SPINNING);
    est_note_own_burst(g_busy);
    const int noted = steps_held_back(200, 0);
    est_note_own_burst(-g_busy);
    const int unnoted = steps_held_back(200, 0);
    if (noted > 5 || unnoted < 95)
        fprintf(stderr, "own bursts: %d%% of the steps held back with the bursts noted, %d%% "
                        "without\n", noted, unnoted);
    CHECK(noted <= 5);
    CHECK(unnoted >= 95);
    atomic_store(&g_mode, NONE);
    steps_held_back(40, 0);
    est__set_load_reader(NULL);

    /* /proc/loadavg from here on. */

    /* Processes that keep every CPU but this one busy. */
    pid_t *kids = malloc(sizeof(pid_t) * (size_t)(cpus - 1));
    CHECK(kids != NULL);
    int n_kids = 0;
    for (long i = 0; kids != NULL && i < cpus - 1; i++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            volatile unsigned long x = 0;
            for (;;) x++;
        }
        if (pid > 0) kids[n_kids++] = pid;
    }
    atomic_store(&g_mode, NONE);
    const int busy = steps_held_back(300, 1);
    for (int i = 0; i < n_kids; i++) {
        kill(kids[i], SIGKILL);
        waitpid(kids[i], NULL, 0);
    }
    free(kids);
    if (busy < 80) fprintf(stderr, "spinning processes: %d%% of the steps held back\n", busy);
    CHECK(busy >= 80);
    return est_test_finish("test_load_sensing");
}
