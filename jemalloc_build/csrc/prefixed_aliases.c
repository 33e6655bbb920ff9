/*
 * The in-process library's names, answered by the preload library.
 *
 * Under `jemalloc-sys run` the process allocator is the preload library (unprefixed
 * `malloc`, initial-exec TLS). Extensions and `jemalloc_sys.load()` use the in-process
 * ABI: soname libjemalloc_sys.so.2 and `_rjem_`-prefixed functions. The preload library
 * is linked with that soname, so the dynamic loader resolves an extension's DT_NEEDED to
 * the object already loaded, and this file gives it the `_rjem_` names: each one is a
 * function that calls the unprefixed one. The library is linked with -Bsymbolic, so the
 * call binds inside the library and compiles to a direct jump (no PLT, no second TLS
 * model): one allocator per process, at the preload library's speed.
 *
 * The function list is jemalloc 5.3.1's public API; the builder checks after configure
 * that it matches include/jemalloc/internal/public_symbols.txt, so a jemalloc update that
 * adds a function fails the build instead of shipping an incomplete ABI.
 */
#include <stddef.h>

/* What this configure found: JEMALLOC_OVERRIDE_{MEMALIGN,VALLOC,PVALLOC} exist only where the C
 * library has the function (musl has no pvalloc), exactly when jemalloc exports it. */
#include "jemalloc/jemalloc_defs.h"

#define EXPORT __attribute__((visibility("default")))

void *malloc(size_t size);
void *calloc(size_t number, size_t size);
int posix_memalign(void **ptr, size_t alignment, size_t size);
void *aligned_alloc(size_t alignment, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t alignment, size_t size);
void *mallocx(size_t size, int flags);
void *rallocx(void *ptr, size_t size, int flags);
size_t xallocx(void *ptr, size_t size, size_t extra, int flags);
size_t sallocx(const void *ptr, int flags);
void dallocx(void *ptr, int flags);
void sdallocx(void *ptr, size_t size, int flags);
size_t nallocx(size_t size, int flags);
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp);
int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
void malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts);
size_t malloc_usable_size(const void *ptr);

EXPORT void *_rjem_malloc(size_t size) { return malloc(size); }
EXPORT void *_rjem_calloc(size_t number, size_t size) { return calloc(number, size); }
EXPORT int _rjem_posix_memalign(void **ptr, size_t alignment, size_t size) {
	return posix_memalign(ptr, alignment, size);
}
EXPORT void *_rjem_aligned_alloc(size_t alignment, size_t size) { return aligned_alloc(alignment, size); }
EXPORT void *_rjem_realloc(void *ptr, size_t size) { return realloc(ptr, size); }
EXPORT void _rjem_free(void *ptr) { free(ptr); }
EXPORT void _rjem_free_sized(void *ptr, size_t size) { free_sized(ptr, size); }
EXPORT void _rjem_free_aligned_sized(void *ptr, size_t alignment, size_t size) {
	free_aligned_sized(ptr, alignment, size);
}
EXPORT void *_rjem_mallocx(size_t size, int flags) { return mallocx(size, flags); }
EXPORT void *_rjem_rallocx(void *ptr, size_t size, int flags) { return rallocx(ptr, size, flags); }
EXPORT size_t _rjem_xallocx(void *ptr, size_t size, size_t extra, int flags) {
	return xallocx(ptr, size, extra, flags);
}
EXPORT size_t _rjem_sallocx(const void *ptr, int flags) { return sallocx(ptr, flags); }
EXPORT void _rjem_dallocx(void *ptr, int flags) { dallocx(ptr, flags); }
EXPORT void _rjem_sdallocx(void *ptr, size_t size, int flags) { sdallocx(ptr, size, flags); }
EXPORT size_t _rjem_nallocx(size_t size, int flags) { return nallocx(size, flags); }
EXPORT int _rjem_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) {
	return mallctl(name, oldp, oldlenp, newp, newlen);
}
EXPORT int _rjem_mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp) {
	return mallctlnametomib(name, mibp, miblenp);
}
EXPORT int _rjem_mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
                              size_t newlen) {
	return mallctlbymib(mib, miblen, oldp, oldlenp, newp, newlen);
}
EXPORT void _rjem_malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts) {
	malloc_stats_print(write_cb, cbopaque, opts);
}
EXPORT size_t _rjem_malloc_usable_size(const void *ptr) { return malloc_usable_size(ptr); }
#ifdef JEMALLOC_OVERRIDE_MEMALIGN
void *memalign(size_t alignment, size_t size);
EXPORT void *_rjem_memalign(size_t alignment, size_t size) { return memalign(alignment, size); }
#endif
#ifdef JEMALLOC_OVERRIDE_VALLOC
void *valloc(size_t size);
EXPORT void *_rjem_valloc(size_t size) { return valloc(size); }
#endif
#ifdef JEMALLOC_OVERRIDE_PVALLOC
void *pvalloc(size_t size);
EXPORT void *_rjem_pvalloc(size_t size) { return pvalloc(size); }
#endif

/*
 * The public variables cannot be aliased without jemalloc's own translation unit: these are
 * separate objects, so that an extension referring to them still loads. jemalloc reads the
 * unprefixed ones (`malloc_conf`, `malloc_message`); values written here are not seen.
 */
EXPORT __attribute__((weak)) const char *_rjem_malloc_conf = NULL;
EXPORT __attribute__((weak)) const char *_rjem_malloc_conf_2_conf_harder = NULL;
EXPORT void (*_rjem_malloc_message)(void *, const char *) = NULL;
