/*
 * Background purging threads that survive fork().
 *
 * jemalloc turns background threads off in every fork child (its postfork handler resets
 * them to disabled), so the workers of a prefork server (gunicorn, celery prefork, uWSGI,
 * multiprocessing) never purge in the background even when the parent was started with
 * background_thread:true. This file, linked into the preload library only, brings them back
 * in any forking program, Python or not:
 *
 *   prefork (parent, before jemalloc takes its locks): if background threads are on, install
 *     an allocation hook (jemalloc's experimental.hooks.install);
 *   child (right after fork): only set a flag -- no lock, no thread, no allocation;
 *   parent (after fork): remove the hook again;
 *   the hook, at the child's first allocation: turn background threads back on (this creates
 *     the thread, outside fork's restricted window, once the child runs normally) and remove
 *     itself. In the parent the flag is never set and the hook returns at once.
 *
 * Hooks put every allocation on jemalloc's slow path while installed, so one exists only
 * between a fork and the child's first allocation (and, in the parent, for the duration of
 * fork()). A child that execs without allocating never runs it.
 *
 * Ordering: prefork handlers run in reverse registration order, so ours must be registered
 * after jemalloc's (which jemalloc registers while it initializes); the constructor makes
 * sure jemalloc is initialized first.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void *malloc(size_t size);
void free(void *ptr);
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

/* jemalloc 5.3's hooks_t (include/jemalloc/internal/hook.h): three callbacks and their argument. */
typedef void (*sys_alloc_hook)(void *extra, int type, void *result, uintptr_t result_raw, uintptr_t args_raw[3]);
typedef struct {
	sys_alloc_hook alloc_hook;
	void *dalloc_hook;
	void *expand_hook;
	void *extra;
} sys_hooks_t;

static void *hook_handle;     /* the installed hook, or NULL */
static volatile int restart;  /* set in the child only */

static void remove_hook(void) {
	void *handle = hook_handle;
	if (handle != NULL) {
		hook_handle = NULL;
		mallctl("experimental.hooks.remove", NULL, NULL, &handle, sizeof(handle));
	}
}

static void on_alloc(void *extra, int type, void *result, uintptr_t result_raw, uintptr_t args_raw[3]) {
	(void)extra, (void)type, (void)result, (void)result_raw, (void)args_raw;
	if (!__atomic_exchange_n(&restart, 0, __ATOMIC_ACQ_REL)) {
		return;
	}
	bool on = true;
	mallctl("background_thread", NULL, NULL, &on, sizeof(on));
	remove_hook();
}

static void prefork(void) {
	bool on = false;
	size_t len = sizeof(on);
	if (mallctl("background_thread", &on, &len, NULL, 0) != 0 || !on || hook_handle != NULL) {
		return;
	}
	sys_hooks_t hooks = {on_alloc, NULL, NULL, NULL};
	void *handle = NULL;
	size_t handle_len = sizeof(handle);
	if (mallctl("experimental.hooks.install", &handle, &handle_len, &hooks, sizeof(hooks)) == 0) {
		hook_handle = handle;
	}
}

static void postfork_parent(void) { remove_hook(); }

static void postfork_child(void) {
	if (hook_handle != NULL) {
		restart = 1;
	}
}

__attribute__((constructor)) static void jemalloc_sys_fork_background_init(void) {
	free(malloc(1)); /* jemalloc initializes (and registers its own fork handlers) first */
	pthread_atfork(prefork, postfork_parent, postfork_child);
}
