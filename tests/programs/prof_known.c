/* Library of the heap-profiling tests (tests/integration/test_prof.py): allocations from known functions.
 *
 * alloc_in_known_function(n, size) keeps n calloc'd blocks, malloc_in_second_function(n, size)
 * keeps n malloc'd and written blocks; both return n. Compile with -DCALLOC=_rjem_calloc
 * -DMALLOC=_rjem_malloc to allocate from the prefixed library instead of the process malloc.
 * Built -O1 without -g, so the two functions stay separate and names come from the symbol table. */
#include <stdlib.h>
#include <string.h>
#ifndef CALLOC
#define CALLOC calloc
#define MALLOC malloc
#endif
void *CALLOC(size_t, size_t);
void *MALLOC(size_t);
void *keep[4096]; /* exported, so the compiler cannot drop the allocations as unused */
__attribute__((noinline)) int alloc_in_known_function(int n, size_t size) {
    for (int i = 0; i < n; i++) { keep[i] = CALLOC(1, size); }
    return n;
}
__attribute__((noinline)) int malloc_in_second_function(int n, size_t size) {
    for (int i = 0; i < n; i++) { keep[2048 + i] = MALLOC(size); memset(keep[2048 + i], 1, size); }
    return n;
}
