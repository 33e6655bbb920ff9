/* Recipe test for libjemalloc-sys: allocate through the installed jemalloc and report it.
 * The library's symbols carry the _rjem_ prefix; JEMALLOC_MANGLE maps the usual names to them. */
#define JEMALLOC_MANGLE
#include <jemalloc/jemalloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int read_bool(const char *name) {
    bool value = false;
    size_t size = sizeof(value);
    return mallctl(name, &value, &size, NULL, 0) == 0 ? (int)value : -1;
}

int main(void) {
    char *block = mallocx(4096, 0);
    if (block == NULL) {
        fprintf(stderr, "mallocx failed\n");
        return 1;
    }
    memset(block, 0x5a, 4096);
    size_t usable = sallocx(block, 0); /* only jemalloc can answer this about its own block */
    dallocx(block, 0);
    const char *version = NULL;
    size_t size = sizeof(version);
    if (mallctl("version", &version, &size, NULL, 0) != 0) {
        fprintf(stderr, "mallctl(version) failed\n");
        return 1;
    }
    printf("allocated through jemalloc %s: %zu usable bytes\n", version, usable);
    printf("config.prof=%d\n", read_bool("config.prof"));
    printf("config.stats=%d\n", read_bool("config.stats"));
    printf("config.debug=%d\n", read_bool("config.debug"));
    return usable >= 4096 ? 0 : 1;
}
