/* A hand-made excerpt of jemalloc's src/ctl.c for tests/unit/test_mallctl_types.py: a named and an
 * indexed table, a macro-generated mutex table (# and ##), CTL_*_GEN getters and hand-written functions. */
#define NAME(n) {true}, n
#define MUTEX_PROF_DATA_NODE(prefix) \
    static const ctl_named_node_t stats_##prefix##_node[] = { \
        {NAME("num_ops"), CTL(stats_##prefix##_num_ops)}};
#define OP(mtx) MUTEX_PROF_DATA_NODE(mutexes_##mtx)
MUTEX_PROF_GLOBAL_MUTEXES
#undef OP
static const ctl_named_node_t stats_mutexes_node[] = {
#define OP(mtx) {NAME(#mtx), CHILD(named, stats_mutexes_##mtx)},
    MUTEX_PROF_GLOBAL_MUTEXES
#undef OP
};
static const ctl_named_node_t arena_i_node[] = {
    {NAME("purge"), CTL(arena_i_purge)}, {NAME("dss"), CTL(arena_i_dss)}};
static const ctl_named_node_t super_arena_i_node[] = {{NAME(""), CHILD(named, arena_i)}};
static const ctl_indexed_node_t arena_node[] = {{INDEX(arena_i)}};
static const ctl_named_node_t stats_node[] = {
    {NAME("allocated"), CTL(stats_allocated)},
    {NAME("mutexes"), CHILD(named, stats_mutexes)}};
static const ctl_named_node_t root_node[] = {{NAME("version"), CTL(version)},
    {NAME("arena"), CHILD(indexed, arena)}, {NAME("stats"), CHILD(named, stats)},
    {NAME("background_thread"), CTL(background_thread)}};

CTL_RO_NL_GEN(version, JEMALLOC_VERSION, const char *)
CTL_RO_CGEN(config_stats, stats_allocated, ctl_stats->allocated, size_t)
#define RO_MUTEX_CTL_GEN(n, l) CTL_RO_CGEN(config_stats, stats_##n##_num_ops, l.n_lock_ops, uint64_t)
#define OP(mtx) RO_MUTEX_CTL_GEN(mutexes_##mtx, ctl_stats->mutex_prof_data[global_prof_mutex_##mtx])
MUTEX_PROF_GLOBAL_MUTEXES
#undef OP

static int
arena_i_purge_ctl(tsd_t *tsd, const size_t *mib, size_t miblen, void *oldp,
    size_t *oldlenp, void *newp, size_t newlen) {
    NEITHER_READ_NOR_WRITE();
    return 0;
}

static int
arena_i_dss_ctl(tsd_t *tsd, const size_t *mib, size_t miblen, void *oldp,
    size_t *oldlenp, void *newp, size_t newlen) {
    const char *dss = NULL;
    WRITE(dss, const char *);
    READ(dss, const char *);
    return 0;
}

static int
background_thread_ctl(tsd_t *tsd, const size_t *mib, size_t miblen, void *oldp,
    size_t *oldlenp, void *newp, size_t newlen) {
    if (newlen != sizeof(bool)) { return EINVAL; }
    bool newval = *(bool *)newp;
    READ(oldval, bool);
    return 0;
}
