/*
 * Python frames in jemalloc heap profiles, at jemalloc's sampling cost.
 *
 * jemalloc samples allocations (one backtrace per 512 KiB by default) and lets a program
 * replace the function that collects a sampled backtrace (experimental.hooks.prof_backtrace).
 * This library's hook calls jemalloc's own unwinder first, then -- when the sampling thread
 * is running Python -- walks that thread's Python frames and inserts one synthetic address
 * per Python frame just before each _PyEval_EvalFrameDefault frame of the native stack (the
 * C frame that runs them). Addresses come from a reserved PROT_NONE region, one 16-byte slot
 * per (code object, line), so jemalloc groups samples by them like any return address. A dump
 * hook (experimental.hooks.prof_dump) writes <dump>.pymap beside each dump, in the perf-map
 * format ("start size name"), naming every slot "py::<qualname> <file>:<line>".
 *
 * It is a plain C library: it links neither jemalloc nor Python. jemalloc_sys.pyframes (in
 * Python, at start-up) passes jemalloc's mallctl, a few CPython functions (all exported and
 * allocation-free) and the struct offsets it measured and checked on the running interpreter,
 * so one build serves every CPython version whose layout it knows (3.12, 3.13).
 *
 * Inside malloc it must never block, never allocate, never call into Python's allocator:
 * - it runs only on a thread attached to the interpreter (the current thread state is set),
 *   which holds the GIL, so the interning table has one writer at a time; readers (the dump
 *   hook, Python) see entries published with release stores;
 * - the table and the name buffer are fixed-size and mapped at start-up; when full, frames
 *   land in an overflow slot instead of failing;
 * - code objects are kept alive (Py_IncRef, allocation-free) while their slot exists, so the
 *   names stay valid for the dump at exit;
 * - names are copied at first sight when they are compact ASCII strings (the common case,
 *   read at offsets measured at start-up); others are filled in later by Python (at
 *   on-demand dumps and at exit, through jsys_pf_set_name).
 * After fork the child keeps the table (it is plain memory) and goes on.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

#define SLOT_BYTES 16          /* one synthetic "function" per (code, line) */
#define CAPACITY (1u << 16)    /* slots; the table is a power of two */
#define NAMES_BYTES (8u << 20) /* copied qualnames and file names */
#define MAX_PY_FRAMES 256
#define MAX_GROUPS 64
#define OVERFLOW_SLOT 0 /* slot 0 stands for every frame that found no room */

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
typedef void (*backtrace_hook)(void **, unsigned *, unsigned);
typedef void (*dump_hook)(const char *);

/* What Python measured on the running interpreter (jemalloc_sys/pyframes.py); version 1. */
struct jsys_pf_config {
	int version;
	mallctl_fn mallctl;
	void *(*get_tstate)(void);      /* _PyThreadState_UncheckedGet / PyThreadState_GetUnchecked */
	int (*frame_get_line)(void *);  /* PyUnstable_InterpreterFrame_GetLine */
	void (*incref)(void *);         /* Py_IncRef */
	size_t tstate_frame_offset;     /* tstate -> current frame (3.13), or -> cframe (3.12) */
	size_t cframe_frame_offset;     /* cframe -> current frame (3.12); (size_t)-1 when direct */
	size_t frame_code_offset;       /* _PyInterpreterFrame -> f_code / f_executable */
	size_t frame_previous_offset;   /* _PyInterpreterFrame -> previous */
	size_t frame_owner_offset;      /* _PyInterpreterFrame -> owner (one byte) */
	int owner_cstack;               /* FRAME_OWNED_BY_CSTACK: an entry frame of the C stack */
	void *code_type;                /* &PyCode_Type */
	size_t code_qualname_offset;    /* PyCodeObject -> co_qualname */
	size_t code_filename_offset;    /* PyCodeObject -> co_filename */
	size_t str_length_offset;       /* PyASCIIObject -> length */
	size_t str_state_offset;        /* PyASCIIObject -> state (32 bits) */
	uint32_t str_ascii_mask;        /* state bits of a compact ASCII string */
	size_t str_ascii_data_offset;   /* where a compact ASCII string's bytes start */
	uintptr_t eval_start, eval_end; /* _PyEval_EvalFrameDefault's code */
	int python_frames;              /* 0: only name-capture tests; no frame walk */
};

struct slot {
	void *code;
	int line;
	uint32_t qualname, qualname_len, filename, filename_len; /* offsets into names; len 0 = unknown */
};

static struct jsys_pf_config cfg;
static backtrace_hook native;
static dump_hook previous_dump;
static char *region;            /* CAPACITY * SLOT_BYTES, PROT_NONE */
static struct slot *slots;      /* CAPACITY */
static uint32_t *index_of;      /* CAPACITY: slot number + 1, 0 = empty */
static char *names;             /* NAMES_BYTES */
static uint32_t used_slots = 1; /* slot 0 is the overflow slot */
static uint32_t used_names;
static uint64_t samples, python_samples;

static uintptr_t at(const void *base, size_t offset) { return *(const uintptr_t *)((const char *)base + offset); }

/* Copy a compact ASCII str's bytes into the name buffer; 0 when it is something else. */
static uint32_t copy_name(const void *str, uint32_t *length) {
	*length = 0;
	if (str == NULL) {
		return 0;
	}
	uint32_t state = *(const uint32_t *)((const char *)str + cfg.str_state_offset);
	if ((state & cfg.str_ascii_mask) != cfg.str_ascii_mask) {
		return 0;
	}
	size_t len = (size_t)at(str, cfg.str_length_offset);
	uint32_t start = __atomic_load_n(&used_names, __ATOMIC_RELAXED);
	if (len == 0 || len > 4096 || start + len > NAMES_BYTES) {
		return 0;
	}
	memcpy(names + start, (const char *)str + cfg.str_ascii_data_offset, len);
	__atomic_store_n(&used_names, (uint32_t)(start + len), __ATOMIC_RELEASE);
	*length = (uint32_t)len;
	return start;
}

static uint32_t intern(void *code, int line) {
	uintptr_t key = (uintptr_t)code ^ ((uintptr_t)(unsigned)line * 0x9e3779b97f4a7c15ull);
	uint32_t mask = CAPACITY - 1;
	for (uint32_t probe = 0, i = (uint32_t)(key ^ (key >> 29)) & mask; probe < CAPACITY; probe++, i = (i + 1) & mask) {
		uint32_t found = __atomic_load_n(&index_of[i], __ATOMIC_ACQUIRE);
		if (found == 0) {
			uint32_t n = __atomic_load_n(&used_slots, __ATOMIC_RELAXED);
			if (n >= CAPACITY / 2) { /* keep the table half empty: probes stay short */
				return OVERFLOW_SLOT;
			}
			struct slot *s = &slots[n];
			s->code = code;
			s->line = line;
			s->qualname = copy_name((void *)at(code, cfg.code_qualname_offset), &s->qualname_len);
			s->filename = copy_name((void *)at(code, cfg.code_filename_offset), &s->filename_len);
			cfg.incref(code); /* the slot's reference: the code object outlives the profile */
			__atomic_store_n(&used_slots, n + 1, __ATOMIC_RELEASE);
			__atomic_store_n(&index_of[i], n + 1, __ATOMIC_RELEASE);
			return n;
		}
		struct slot *s = &slots[found - 1];
		if (s->code == code && s->line == line) {
			return found - 1;
		}
	}
	return OVERFLOW_SLOT;
}

static void *slot_address(uint32_t n) { return region + (size_t)n * SLOT_BYTES + SLOT_BYTES / 2; }

/* The current thread's Python frames, innermost first, as slot addresses; group_end[g] ends group g. */
static unsigned python_frames(void *tstate, void **out, unsigned *group_end, unsigned *groups) {
	uintptr_t frame = at(tstate, cfg.tstate_frame_offset);
	if (cfg.cframe_frame_offset != (size_t)-1 && frame != 0) {
		frame = at((void *)frame, cfg.cframe_frame_offset);
	}
	unsigned n = 0;
	*groups = 0;
	for (unsigned steps = 0; frame != 0 && steps < 4096; steps++) {
		const void *f = (const void *)frame;
		int owner = *((const unsigned char *)f + cfg.frame_owner_offset);
		if (owner == cfg.owner_cstack) {
			/* An entry frame: the frames so far ran in one _PyEval_EvalFrameDefault call. */
			if (n > 0 && (*groups == 0 || group_end[*groups - 1] != n) && *groups < MAX_GROUPS) {
				group_end[(*groups)++] = n;
			}
		} else if (n < MAX_PY_FRAMES) {
			void *code = (void *)at(f, cfg.frame_code_offset);
			if (code != NULL && (void *)at(code, sizeof(intptr_t)) == cfg.code_type) {
				out[n++] = slot_address(intern(code, cfg.frame_get_line((void *)f)));
			}
		}
		frame = at(f, cfg.frame_previous_offset);
	}
	if (n > 0 && (*groups == 0 || group_end[*groups - 1] != n) && *groups < MAX_GROUPS) {
		group_end[(*groups)++] = n;
	}
	return n;
}

static void backtrace_with_python(void **vec, unsigned *len, unsigned max) {
	native(vec, len, max);
	__atomic_add_fetch(&samples, 1, __ATOMIC_RELAXED);
	void *tstate = cfg.python_frames ? cfg.get_tstate() : NULL;
	if (tstate == NULL) {
		return; /* not running Python (C thread, or the GIL released): native frames only */
	}
	void *py[MAX_PY_FRAMES];
	unsigned group_end[MAX_GROUPS], groups = 0;
	unsigned count = python_frames(tstate, py, group_end, &groups);
	if (count == 0) {
		return;
	}
	void *merged[512];
	unsigned out = 0, group = 0, taken = 0, limit = max < 512 ? max : 512;
	for (unsigned i = 0; i < *len && out < limit; i++) {
		uintptr_t pc = (uintptr_t)vec[i];
		if (pc > cfg.eval_start && pc <= cfg.eval_end && group < groups) {
			/* Before the eval frame: the Python frames it runs, innermost first. */
			for (; taken < group_end[group] && out < limit; taken++) {
				merged[out++] = py[taken];
			}
			group++;
		}
		if (out < limit) {
			merged[out++] = vec[i];
		}
	}
	if (group == 0) {
		return; /* the unwinder saw no eval frame: keep the native stack as it was */
	}
	memcpy(vec, merged, out * sizeof(void *));
	*len = out;
	__atomic_add_fetch(&python_samples, 1, __ATOMIC_RELAXED);
}

/* ---- the .pymap beside each dump ---------------------------------------------------------- */

static void put(int fd, char *buf, size_t *used, const char *text, size_t n) {
	if (*used + n > 4096) {
		if (write(fd, buf, *used) < 0) {
			/* nothing more to do: the dump itself is written */
		}
		*used = 0;
	}
	if (n > 4096) {
		n = 4096;
	}
	memcpy(buf + *used, text, n);
	*used += n;
}

static void write_pymap(const char *dump) {
	char path[4096];
	if (dump == NULL || snprintf(path, sizeof(path), "%s.pymap", dump) >= (int)sizeof(path)) {
		return;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		return;
	}
	char buf[4096], head[128];
	size_t used = 0;
	uint32_t count = __atomic_load_n(&used_slots, __ATOMIC_ACQUIRE);
	for (uint32_t n = 0; n < count; n++) {
		const struct slot *s = &slots[n];
		int k = snprintf(head, sizeof(head), "%lx %x py::", (unsigned long)(region + (size_t)n * SLOT_BYTES),
		                 SLOT_BYTES);
		put(fd, buf, &used, head, (size_t)k);
		if (n == OVERFLOW_SLOT) {
			static const char overflow[] = "<more frames than the table holds> ?:0\n";
			put(fd, buf, &used, overflow, sizeof(overflow) - 1);
			continue;
		}
		if (s->qualname_len) {
			put(fd, buf, &used, names + s->qualname, s->qualname_len);
		} else {
			k = snprintf(head, sizeof(head), "<code at %p>", s->code);
			put(fd, buf, &used, head, (size_t)k);
		}
		put(fd, buf, &used, " ", 1);
		if (s->filename_len) {
			put(fd, buf, &used, names + s->filename, s->filename_len);
		} else {
			put(fd, buf, &used, "?", 1);
		}
		k = snprintf(head, sizeof(head), ":%d\n", s->line);
		put(fd, buf, &used, head, (size_t)k);
	}
	if (used > 0 && write(fd, buf, used) < 0) {
		/* as above */
	}
	close(fd);
}

static void dump_with_pymap(const char *filename) {
	write_pymap(filename);
	if (previous_dump != NULL) {
		previous_dump(filename);
	}
}

/* ---- the API jemalloc_sys.pyframes calls ---------------------------------------------------- */

/* Map the table, the name buffer and the synthetic region (once); 0 or ENOMEM. */
EXPORT int jsys_pf_prepare(void) {
	if (region != NULL) {
		return 0;
	}
	size_t table = (size_t)CAPACITY * (sizeof(struct slot) + sizeof(uint32_t)) + NAMES_BYTES;
	char *mem = mmap(NULL, table, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	void *reserved = mmap(NULL, (size_t)CAPACITY * SLOT_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
	                      -1, 0);
	if (mem == MAP_FAILED || reserved == MAP_FAILED) {
		return 12; /* ENOMEM */
	}
	slots = (struct slot *)mem;
	index_of = (uint32_t *)(mem + (size_t)CAPACITY * sizeof(struct slot));
	names = mem + (size_t)CAPACITY * (sizeof(struct slot) + sizeof(uint32_t));
	region = reserved;
	return 0;
}

/*
 * Walk the calling thread's Python frames with ``config`` and return their slots, innermost
 * first (the start-up check compares them with sys._getframe()). Called from Python, with the GIL.
 */
EXPORT unsigned jsys_pf_test_walk(const struct jsys_pf_config *config, uint32_t *out, unsigned max) {
	if (jsys_pf_prepare() != 0) {
		return 0;
	}
	cfg = *config;
	void *tstate = cfg.get_tstate();
	if (tstate == NULL) {
		return 0;
	}
	void *py[MAX_PY_FRAMES];
	unsigned group_end[MAX_GROUPS], groups = 0;
	unsigned count = python_frames(tstate, py, group_end, &groups);
	for (unsigned i = 0; i < count && i < max; i++) {
		out[i] = (uint32_t)(((char *)py[i] - region) / SLOT_BYTES);
	}
	return count < max ? count : max;
}

/* 0: installed; otherwise an errno-like code (jemalloc's mallctl answer, or ENOMEM). */
EXPORT int jsys_pf_install(const struct jsys_pf_config *config) {
	if (config == NULL || config->version != 1) {
		return 22; /* EINVAL */
	}
	int rc = jsys_pf_prepare();
	if (rc != 0) {
		return rc;
	}
	cfg = *config;
	size_t size = sizeof(native);
	rc = cfg.mallctl("experimental.hooks.prof_backtrace", &native, &size, NULL, 0);
	if (rc != 0) {
		return rc;
	}
	if (native == backtrace_with_python) {
		return 0; /* already installed (a second start) */
	}
	backtrace_hook ours = backtrace_with_python;
	rc = cfg.mallctl("experimental.hooks.prof_backtrace", NULL, NULL, &ours, sizeof(ours));
	if (rc != 0) {
		return rc;
	}
	size = sizeof(previous_dump);
	dump_hook dump = dump_with_pymap;
	return cfg.mallctl("experimental.hooks.prof_dump", &previous_dump, &size, &dump, sizeof(dump));
}

/* The synthetic region, for the report and the tests. */
EXPORT void *jsys_pf_region(void) { return region; }
EXPORT uint32_t jsys_pf_slots(void) { return __atomic_load_n(&used_slots, __ATOMIC_ACQUIRE); }
EXPORT uint64_t jsys_pf_samples(int python) {
	return __atomic_load_n(python ? &python_samples : &samples, __ATOMIC_RELAXED);
}

/* Slot n's code object and line; 1 when its names are both known. */
EXPORT int jsys_pf_slot(uint32_t n, void **code, int *line) {
	if (n == OVERFLOW_SLOT || n >= jsys_pf_slots()) {
		return -1;
	}
	*code = slots[n].code;
	*line = slots[n].line;
	return slots[n].qualname_len != 0 && slots[n].filename_len != 0;
}

/* Names Python resolved for a slot whose strings were not compact ASCII (called with the GIL). */
EXPORT int jsys_pf_set_name(uint32_t n, const char *qualname, const char *filename) {
	if (n == OVERFLOW_SLOT || n >= jsys_pf_slots()) {
		return -1;
	}
	size_t q = strlen(qualname), f = strlen(filename);
	uint32_t start = __atomic_load_n(&used_names, __ATOMIC_RELAXED);
	if (q == 0 || f == 0 || start + q + f > NAMES_BYTES) {
		return -1;
	}
	memcpy(names + start, qualname, q);
	memcpy(names + start + q, filename, f);
	__atomic_store_n(&used_names, (uint32_t)(start + q + f), __ATOMIC_RELEASE);
	slots[n].qualname = start;
	slots[n].filename = (uint32_t)(start + q);
	__atomic_store_n(&slots[n].filename_len, (uint32_t)f, __ATOMIC_RELEASE);
	__atomic_store_n(&slots[n].qualname_len, (uint32_t)q, __ATOMIC_RELEASE);
	return 0;
}

/* What the name capture reads from a str object (for the start-up check): its bytes, or 0. */
EXPORT uint32_t jsys_pf_test_copy_name(const void *str, const struct jsys_pf_config *config, char *out,
                                       uint32_t room) {
	if (jsys_pf_prepare() != 0) {
		return 0;
	}
	struct jsys_pf_config saved = cfg;
	cfg = *config;
	uint32_t length = 0;
	uint32_t start = copy_name(str, &length);
	if (length > 0 && length <= room) {
		memcpy(out, names + start, length);
	}
	__atomic_store_n(&used_names, start, __ATOMIC_RELEASE); /* the test copy is not kept */
	cfg = saved;
	return length <= room ? length : 0;
}

/* Write the .pymap for a dump path (Python calls it after an on-demand dump, once names are in). */
EXPORT void jsys_pf_write_pymap(const char *dump) { write_pymap(dump); }
