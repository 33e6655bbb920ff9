/* The mutex list of the excerpt (jemalloc's include/jemalloc/internal/mutex_prof.h, shortened). */
#define MUTEX_PROF_GLOBAL_MUTEXES \
    OP(ctl) \
    OP(prof)
