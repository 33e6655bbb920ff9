/* Smoke test for a cross-built jemalloc_sys library: link against it, ask it
 * for its page size and version through mallctl, then allocate, write, check
 * and free blocks of many sizes. Prints one "ok" line; any failure exits 1
 * (a library built for a smaller page size than the kernel's fails here: its
 * first allocation returns NULL after "<jemalloc>: Unsupported system page size"). */
#include <stdio.h>
#include <string.h>
#include <jemalloc/jemalloc.h>
#ifndef _WIN32
#include <unistd.h>
#endif

#define COUNT 2000

int main(void) {
    static unsigned char *blocks[COUNT];
    const char *version = NULL;
    size_t page = 0, len = sizeof(page), vlen = sizeof(version);
    unsigned long checksum = 0;

    unsigned char *first = _rjem_malloc(64);
    if (first == NULL) {
        fprintf(stderr, "first allocation failed\n");
        return 1;
    }
    _rjem_free(first);
    if (_rjem_mallctl("arenas.page", &page, &len, NULL, 0) != 0 ||
        _rjem_mallctl("version", (void *)&version, &vlen, NULL, 0) != 0) {
        fprintf(stderr, "mallctl failed\n");
        return 1;
    }
    for (int i = 0; i < COUNT; i++) {
        size_t size = 8 + (size_t)(i * 37 % 20000);
        blocks[i] = _rjem_malloc(size);
        if (blocks[i] == NULL) {
            fprintf(stderr, "malloc(%zu) failed\n", size);
            return 1;
        }
        memset(blocks[i], i & 0xff, size);
    }
    for (int i = 0; i < COUNT; i++) {
        if (blocks[i][0] != (unsigned char)(i & 0xff)) {
            fprintf(stderr, "block %d corrupted\n", i);
            return 1;
        }
        checksum += blocks[i][0];
        _rjem_free(blocks[i]);
    }
#ifdef _WIN32
    long os_page = 0;
#else
    long os_page = sysconf(_SC_PAGESIZE);
#endif
    printf("ok page=%zu os_page=%ld version=%s blocks=%d checksum=%lu\n", page, os_page, version, COUNT, checksum);
    return 0;
}
