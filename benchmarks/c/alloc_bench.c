/* Allocation microbenchmark: each thread keeps a live working set of objects and
 * replaces a random one per step (free + malloc of a random size), touching
 * every new object so the pages are really used.
 *
 * Usage: alloc_bench THREADS OPS_PER_THREAD MIN_SIZE MAX_SIZE WORKING_SET
 *
 * Three builds of this one file (benchmarks/programs.py):
 *  - default: the allocator is whatever malloc the process has (the system's, or
 *    an LD_PRELOAD'ed one), or, when BENCH_LIB is set, a library dlopen'ed after
 *    start-up whose functions are BENCH_PREFIX + "malloc"/"free" -- the way
 *    Python loads jemalloc_sys in-process. Calls go through function pointers.
 *  - -DBENCH_DIRECT: direct calls to malloc/free (through the PLT, like any
 *    program): the initial-exec reference under LD_PRELOAD.
 *  - -DBENCH_DIRECT -DBENCH_RJEM, linked with -ljemalloc_sys: direct calls to
 *    _rjem_malloc/_rjem_free, as a C extension linked against the package does.
 *
 * Prints "seconds=<wall time of the timed loop>", "peak_rss_kb=<VmHWM>" (the
 * process's own high-water mark: a parent's wait4 ru_maxrss would include the
 * launcher's RSS, which Linux carries across fork and exec) and
 * "allocator=<file>": the object whose malloc the loop called (dladdr), so the
 * harness can check which library really served it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);

#if defined(BENCH_RJEM)
void *_rjem_malloc(size_t size);
void _rjem_free(void *ptr);
#define do_malloc _rjem_malloc
#define do_free _rjem_free
#elif defined(BENCH_DIRECT)
#define do_malloc malloc
#define do_free free
#else
static malloc_fn do_malloc = malloc;
static free_fn do_free = free;
#endif
static long ops, min_size, max_size, working_set;

static uint64_t next_random(uint64_t *state) { /* xorshift64*: cheap and allocation-free */
    uint64_t x = *state;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ULL;
}

static void *worker(void *arg) {
    uint64_t state = 0x9E3779B97F4A7C15ULL ^ (uintptr_t)arg;
    void **slots = do_malloc((size_t)working_set * sizeof(void *));
    if (slots == NULL) { fprintf(stderr, "alloc_bench: out of memory\n"); exit(2); }
    memset(slots, 0, (size_t)working_set * sizeof(void *));
    long span = max_size - min_size + 1;
    for (long i = 0; i < ops; i++) {
        uint64_t r = next_random(&state);
        long idx = (long)(r % (uint64_t)working_set);
        /* Mostly small objects with a tail of larger ones: 7 in 8 from the bottom 1/16 of the range. */
        long size = min_size + (long)((r >> 32) % (uint64_t)(((r >> 29) & 7) ? (span / 16 + 1) : span));
        if (slots[idx] != NULL) do_free(slots[idx]);
        char *p = do_malloc((size_t)size);
        if (p == NULL) { fprintf(stderr, "alloc_bench: malloc(%ld) failed\n", size); exit(2); }
        p[0] = (char)i; p[size - 1] = (char)i;
        slots[idx] = p;
    }
    for (long i = 0; i < working_set; i++) if (slots[i] != NULL) do_free(slots[i]);
    do_free(slots);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s THREADS OPS_PER_THREAD MIN_SIZE MAX_SIZE WORKING_SET\n", argv[0]);
        return 2;
    }
    long threads = atol(argv[1]);
    ops = atol(argv[2]); min_size = atol(argv[3]); max_size = atol(argv[4]); working_set = atol(argv[5]);
    if (threads < 1 || ops < 1 || min_size < 1 || max_size < min_size || working_set < 1) {
        fprintf(stderr, "alloc_bench: every argument must be positive and MIN_SIZE <= MAX_SIZE\n");
        return 2;
    }
#ifndef BENCH_DIRECT
    const char *lib = getenv("BENCH_LIB");
    if (lib != NULL && *lib) {
        void *handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
        if (handle == NULL) { fprintf(stderr, "alloc_bench: dlopen: %s\n", dlerror()); return 3; }
        const char *prefix = getenv("BENCH_PREFIX") ? getenv("BENCH_PREFIX") : "";
        char name[128];
        snprintf(name, sizeof name, "%smalloc", prefix);
        do_malloc = (malloc_fn)dlsym(handle, name);
        snprintf(name, sizeof name, "%sfree", prefix);
        do_free = (free_fn)dlsym(handle, name);
        if (do_malloc == NULL || do_free == NULL) { fprintf(stderr, "alloc_bench: no %smalloc/free in %s\n", prefix, lib); return 3; }
    }
#endif
    Dl_info info;
    malloc_fn called = do_malloc;
    printf("allocator=%s\n", dladdr((void *)called, &info) != 0 && info.dli_fname != NULL ? info.dli_fname : "?");
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long t = 0; t < threads; t++) pthread_create(&tids[t], NULL, worker, (void *)(uintptr_t)(t + 1));
    for (long t = 0; t < threads; t++) pthread_join(tids[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("seconds=%.6f\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    free(tids);
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    while (status != NULL && fgets(line, sizeof line, status) != NULL)
        if (strncmp(line, "VmHWM:", 6) == 0) printf("peak_rss_kb=%ld\n", atol(line + 6));
    if (status != NULL) fclose(status);
    return 0;
}
