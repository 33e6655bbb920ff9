/*
 * jemalloc_probe: uses one shipped jemalloc library the way a program would, and reports
 * what happened as one JSON object on stdout. wheel_builder's functional checks (and
 * cibuildwheel's test command) run it once per check, in a fresh process each, so a crash
 * in one check is reported as that check's failure.
 *
 *   jemalloc_probe LIBRARY PREFIX CHECK [ARG]
 *
 * LIBRARY is opened with dlopen (for the preload library it is already in the process,
 * through LD_PRELOAD, and dlopen returns that copy); PREFIX is its symbol prefix
 * ("_rjem_" or "" for the preload library). CHECK is one of:
 *
 *   prof DUMP    allocate PROBE_BLOCKS blocks of PROBE_BLOCK bytes in probe_site(), a function
 *                with a known name, then write a heap profile to DUMP (profiling must be on:
 *                the caller sets the library's MALLOC_CONF variable)
 *   stats        stats.allocated before, while and after holding 64 MiB
 *   background   turn background_thread on; report the setting and the thread count
 *   fork         turn background threads on, fork while four threads allocate; the child allocates
 *                from a new thread and reports whether jemalloc's background thread runs in it
 *                (the preload library restarts it; jemalloc alone stops it in every child)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#define probe_open(path) ((void *)LoadLibraryA(path))
#define probe_sym(handle, name) ((void *)GetProcAddress((HMODULE)(handle), name))
#else
#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#define probe_open(path) dlopen(path, RTLD_NOW | RTLD_GLOBAL)
#define probe_sym(handle, name) dlsym(handle, name)
#endif

#define PROBE_BLOCK ((size_t)1 << 20)
#define PROBE_BLOCKS 16
#define STATS_BYTES ((size_t)64 << 20)

typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);

static calloc_fn je_calloc;
static malloc_fn je_malloc;
static free_fn je_free;
static mallctl_fn je_mallctl;

static void *resolve(void *handle, const char *prefix, const char *name) {
	char full[128];
	snprintf(full, sizeof(full), "%s%s", prefix, name);
	void *symbol = probe_sym(handle, full);
	if (symbol == NULL) {
		printf("{\"ok\": false, \"error\": \"symbol %s not found\"}\n", full);
		exit(3);
	}
	return symbol;
}

/* The frame a heap profile must name: not inlined, and the call is not a tail call. */
void *volatile probe_sink[PROBE_BLOCKS];
#if defined(__GNUC__)
__attribute__((noinline))
#endif
void probe_site(int index) {
	probe_sink[index] = je_calloc(PROBE_BLOCK, 1);
	((volatile char *)probe_sink[index])[0] = 1;
}

static int check_prof(const char *dump) {
	for (int i = 0; i < PROBE_BLOCKS; i++) {
		probe_site(i);
	}
	int rc = je_mallctl("prof.dump", NULL, NULL, (void *)&dump, sizeof(dump));
	printf("{\"ok\": %s, \"dump_rc\": %d, \"site\": \"probe_site\", \"bytes\": %zu}\n", rc == 0 ? "true" : "false",
	       rc, (size_t)PROBE_BLOCKS * PROBE_BLOCK);
	for (int i = 0; i < PROBE_BLOCKS; i++) {
		je_free(probe_sink[i]);
	}
	return rc == 0 ? 0 : 1;
}

static size_t allocated(void) {
	uint64_t epoch = 1;
	size_t value = 0, len = sizeof(value), elen = sizeof(epoch);
	je_mallctl("epoch", &epoch, &elen, &epoch, elen);
	if (je_mallctl("stats.allocated", &value, &len, NULL, 0) != 0) {
		return (size_t)-1;
	}
	return value;
}

static int check_stats(void) {
	size_t before = allocated();
	void *block = je_malloc(STATS_BYTES);
	memset(block, 1, 4096);
	size_t during = allocated();
	je_free(block);
	size_t after = allocated();
	printf("{\"ok\": true, \"before\": %zu, \"during\": %zu, \"after\": %zu, \"bytes\": %zu}\n", before, during,
	       after, STATS_BYTES);
	return 0;
}

#ifndef _WIN32
static int thread_count(void) {
	DIR *dir = opendir("/proc/self/task");
	int count = 0;
	if (dir == NULL) {
		return -1;
	}
	for (struct dirent *entry = readdir(dir); entry != NULL; entry = readdir(dir)) {
		count += entry->d_name[0] != '.';
	}
	closedir(dir);
	return count;
}

static int check_background(void) {
	int before = thread_count();
	_Bool on = 1, now = 0;
	size_t len = sizeof(now);
	int rc = je_mallctl("background_thread", NULL, NULL, &on, sizeof(on));
	je_mallctl("background_thread", &now, &len, NULL, 0);
	/* jemalloc starts its first background thread asynchronously. */
	int after = thread_count();
	for (int i = 0; i < 100 && after <= before; i++) {
		usleep(20000);
		after = thread_count();
	}
	printf("{\"ok\": %s, \"rc\": %d, \"background_thread\": %s, \"threads_before\": %d, \"threads_after\": %d}\n",
	       rc == 0 && now && after > before ? "true" : "false", rc, now ? "true" : "false", before, after);
	return rc == 0 && now && after > before ? 0 : 1;
}

static volatile int stop;

static void *churn(void *arg) {
	(void)arg;
	while (!stop) {
		for (size_t size = 16; size < 65536; size *= 3) {
			void *p = je_malloc(size);
			((volatile char *)p)[0] = 1;
			je_free(p);
		}
	}
	return NULL;
}

static void *child_thread(void *arg) {
	(void)arg;
	for (int i = 0; i < 1000; i++) {
		je_free(je_malloc((size_t)(i % 97 + 1) * 64));
	}
	return NULL;
}

static _Bool background_on(void) {
	_Bool now = 0;
	size_t len = sizeof(now);
	return je_mallctl("background_thread", &now, &len, NULL, 0) == 0 && now;
}

#define CHILD_NO_BACKGROUND 10 /* exit status of a clean child whose background thread did not come back */

static int check_fork(void) {
	_Bool on = 1;
	int parent_background = je_mallctl("background_thread", NULL, NULL, &on, sizeof(on)) == 0 && background_on();
	pthread_t threads[4];
	for (int i = 0; i < 4; i++) {
		pthread_create(&threads[i], NULL, churn, NULL);
	}
	usleep(50000);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(20); /* a deadlocked child dies of SIGALRM and is reported */
		pthread_t thread;
		void *block = je_malloc(1 << 20);
		je_free(block);
		if (pthread_create(&thread, NULL, child_thread, NULL) != 0 || pthread_join(thread, NULL) != 0) {
			_exit(4);
		}
		for (int i = 0; i < 50 && !(background_on() && thread_count() > 1); i++) {
			usleep(20000);
		}
		_exit(background_on() && thread_count() > 1 ? 0 : CHILD_NO_BACKGROUND);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	stop = 1;
	for (int i = 0; i < 4; i++) {
		pthread_join(threads[i], NULL);
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	int clean = code == 0 || code == CHILD_NO_BACKGROUND;
	printf("{\"ok\": %s, \"child_status\": %d, \"signal\": %d, \"parent_background\": %s,"
	       " \"child_background\": %s}\n", clean ? "true" : "false", code,
	       WIFSIGNALED(status) ? WTERMSIG(status) : 0, parent_background ? "true" : "false",
	       code == 0 ? "true" : "false");
	return clean ? 0 : 1;
}
#endif

int main(int argc, char **argv) {
	if (argc < 4) {
		fprintf(stderr, "usage: %s LIBRARY PREFIX prof DUMP|stats|background|fork\n", argv[0]);
		return 2;
	}
	void *handle = probe_open(argv[1]);
	if (handle == NULL) {
		printf("{\"ok\": false, \"error\": \"cannot open %s\"}\n", argv[1]);
		return 3;
	}
	const char *prefix = argv[2];
	je_calloc = (calloc_fn)resolve(handle, prefix, "calloc");
	je_malloc = (malloc_fn)resolve(handle, prefix, "malloc");
	je_free = (free_fn)resolve(handle, prefix, "free");
	je_mallctl = (mallctl_fn)resolve(handle, prefix, "mallctl");
	fflush(stdout);
	if (strcmp(argv[3], "prof") == 0 && argc == 5) {
		return check_prof(argv[4]);
	}
	if (strcmp(argv[3], "stats") == 0) {
		return check_stats();
	}
#ifndef _WIN32
	if (strcmp(argv[3], "background") == 0) {
		return check_background();
	}
	if (strcmp(argv[3], "fork") == 0) {
		return check_fork();
	}
#endif
	fprintf(stderr, "unknown check %s\n", argv[3]);
	return 2;
}
