/* A downstream program: allocates through jemalloc-sys and reports what jemalloc itself says.
 *
 * Nothing is taken on trust: the usable size comes from jemalloc's sallocx (which would crash
 * on memory it does not own), and the file that answered is found with dladdr on the version
 * string that the library's own mallctl returned. Exit 0 only if sallocx agrees with nallocx.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

/* The library's symbols are prefixed (_rjem_mallocx...); this makes jemalloc.h offer them as je_*. */
#define JEMALLOC_NO_DEMANGLE
#include <jemalloc/jemalloc.h>

int main(void) {
    const char *version = NULL;
    size_t len = sizeof(version);
    if (je_mallctl("version", (void *)&version, &len, NULL, 0) != 0) {
        fprintf(stderr, "je_mallctl(\"version\") failed\n");
        return 2;
    }
    void *p = je_mallocx(1000, 0);
    if (p == NULL) {
        return 3;
    }
    size_t usable = je_sallocx(p, 0);
    size_t expected = je_nallocx(1000, 0);
    Dl_info info;
    const char *library = dladdr(version, &info) && info.dli_fname ? info.dli_fname : "?";
    printf("version=%s\nusable=%zu\nnallocx=%zu\nlibrary=%s\n", version, usable, expected, library);
    je_dallocx(p, 0);
    return usable == expected && usable >= 1000 ? 0 : 1;
}
