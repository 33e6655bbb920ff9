"""The control API (``jemalloc_sys.ctl``) and the type table it relies on.

The type table is derived from ``src/ctl.c`` at build time; the parser is
checked here on a small hand-made excerpt (fast) and on the real table shipped
in a built package. Every runtime check runs in a child interpreter that
imports the package under test, and prints JSON the parent asserts on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import run_python

from jemalloc_build import mallctl_types

MiB = 1 << 20

EXCERPT = r"""
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
"""

MUTEX_LIST = """
#define MUTEX_PROF_GLOBAL_MUTEXES \\
    OP(ctl) \\
    OP(prof)
"""


def test_parser_walks_tables_macros_and_hand_written_functions() -> None:
    table = mallctl_types.parse(EXCERPT, MUTEX_LIST)
    assert table["version"] == {"type": "const char *", "read": True, "write": False}
    assert table["stats.allocated"]["type"] == "size_t"
    assert table["stats.allocated"]["requires"] == "config_stats"
    assert table["arena.*.purge"] == {"type": None, "read": False, "write": False}
    assert table["arena.*.dss"] == {"type": "const char *", "read": True, "write": True}
    # written by hand (no WRITE macro), still recognised as writable bool
    assert table["background_thread"] == {"type": "bool", "read": True, "write": True}
    # expanded from the mutex list, with # stringification and ## pasting
    for mutex in ("ctl", "prof"):
        assert table[f"stats.mutexes.{mutex}.num_ops"]["type"] == "uint64_t"
    assert len(table) == 7


def test_parser_rejects_a_source_without_the_tree() -> None:
    with pytest.raises(mallctl_types.MallctlSourceError, match="root_node"):
        mallctl_types.parse("int main(void) { return 0; }")


@pytest.fixture(scope="module")
def stats_site(make_package: Callable[..., Path]) -> Path:
    return make_package(JEMALLOC_SYS_BUILD_VARIANT="stats")


def _child_json(site: Path, code: str, **env: str) -> Any:
    proc = run_python(site, code, env=dict(os.environ, **env))
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.build
def test_shipped_table_matches_the_documented_types(stats_site: Path) -> None:
    doc = json.loads((stats_site / "jemalloc_sys" / "_mallctl_types.json").read_text())
    names = doc["names"]
    # Types as jemalloc's manual documents them (man jemalloc, MALLCTL NAMESPACE).
    documented = {"version": "const char *", "epoch": "uint64_t", "background_thread": "bool",
                  "max_background_threads": "size_t", "arenas.narenas": "unsigned", "opt.dirty_decay_ms": "ssize_t",
                  "stats.allocated": "size_t", "stats.resident": "size_t", "thread.allocated": "uint64_t",
                  "thread.allocatedp": "uint64_t *", "prof.active": "bool", "prof.dump": "const char *",
                  "prof.reset": "size_t", "arena.*.dirty_decay_ms": "ssize_t"}
    for name, ctype in documented.items():
        assert names[name]["type"] == ctype, name
    assert names["stats.allocated"]["requires"] == "config_stats"
    assert names["prof.active"]["requires"] == "config_prof"
    assert names["version"]["write"] is False and names["background_thread"]["write"] is True
    assert "narenas" in doc["conf_options"] and "prof_prefix" in doc["conf_options"]
    assert len(names) > 300


ALLOC_CODE = """
import ctypes, json
from jemalloc_sys import ctl
a = ctl.default()
lib = a.handle
malloc = getattr(lib, a.prefix + "malloc"); malloc.restype = ctypes.c_void_p; malloc.argtypes = [ctypes.c_size_t]
free = getattr(lib, a.prefix + "free"); free.argtypes = [ctypes.c_void_p]
out = {"version": a.version, "epoch0": a.epoch()}
out["before"] = a.stats().__dict__
mib = a.mib("stats.allocated")
blocks = [malloc(1 << 20) for _ in range(64)]
for b in blocks:
    ctypes.memset(b, 1, 1 << 20)
out["during"] = a.stats().__dict__
out["mib_during"] = mib.get()
out["epoch1"] = a.epoch()
for b in blocks:
    free(b)
out["after_free"] = a.stats().__dict__
a.purge()
out["after_purge"] = a.stats().__dict__
t0 = a.thread_allocated()
p = malloc(3 << 20)
out["thread_delta"] = a.thread_allocated() - t0
allocp, deallocp = a.thread_counters()
out["thread_pointer_matches"] = allocp.contents.value == a.thread_allocated()
free(p)
report = a.stats_print()
out["report_version"] = report["jemalloc"]["version"]
out["report_allocated"] = report["jemalloc"]["stats"]["allocated"]
a.max_background_threads = 1
a.background_thread = True
out["bg"] = [a.background_thread, a.max_background_threads]
a.background_thread = False
out["bg_off"] = a.background_thread
a.decay()
print(json.dumps(out))
"""


@pytest.mark.build
def test_stats_follow_a_64_mib_allocation_and_purge(stats_site: Path) -> None:
    # Decay off: freed pages stay resident until *we* purge, so the purge is what moves `resident`.
    out = _child_json(stats_site, ALLOC_CODE, _RJEM_MALLOC_CONF="dirty_decay_ms:-1,muzzy_decay_ms:-1")
    assert out["version"].startswith("5.3.1-")
    assert out["epoch1"] > out["epoch0"]
    before, during, freed, purged = out["before"], out["during"], out["after_free"], out["after_purge"]
    grew = during["allocated"] - before["allocated"]
    assert grew >= 64 * MiB, f"allocated grew by {grew} bytes for 64 MiB allocated ({before} -> {during})"
    assert out["mib_during"] == during["allocated"]
    shrank = during["allocated"] - freed["allocated"]
    assert shrank >= 64 * MiB, f"allocated fell by {shrank} bytes after freeing 64 MiB ({during} -> {freed})"
    assert freed["resident"] >= 64 * MiB, f"freed pages should stay resident with decay off: {freed}"
    released = freed["resident"] - purged["resident"]
    assert released >= 60 * MiB, f"purge released only {released} bytes of resident ({freed} -> {purged})"
    assert out["thread_delta"] >= 3 * MiB
    assert out["thread_pointer_matches"] is True
    assert out["report_version"] == out["version"]
    assert out["report_allocated"] > 0
    assert out["bg"] == [True, 1]
    assert out["bg_off"] is False


ERRORS_CODE = """
import json
from jemalloc_sys import ctl, errors
a = ctl.default()
out = {}
def attempt(label, fn):
    try:
        fn()
        out[label] = None
    except errors.MallctlError as exc:
        out[label] = [type(exc).__name__, exc.errno, exc.name, str(exc), getattr(exc, "feature", None)]
attempt("unknown", lambda: a.get("stats.allocatd"))
attempt("wrong_size", lambda: a.read("arenas.narenas", "uint64_t"))
attempt("wrong_python_type", lambda: a.set("background_thread", "yes"))
attempt("read_only", lambda: a.set("version", "6.0"))
attempt("no_stats", lambda: a.get("stats.allocated"))
attempt("no_prof", lambda: a.get("prof.active"))
attempt("index", lambda: a.call("arena.999999.purge"))
print(json.dumps(out))
"""


@pytest.mark.build
def test_error_paths_raise_the_documented_exceptions(make_package: Callable[..., Path]) -> None:
    out = _child_json(make_package(), ERRORS_CODE)  # the default build: no stats, no profiling
    assert out["unknown"][:3] == ["UnknownNameError", 2, "stats.allocatd"]
    assert "did you mean 'stats.allocated'" in out["unknown"][3]
    assert out["wrong_size"][:2] == ["WrongTypeError", 22] and "unsigned" in out["wrong_size"][3]
    assert out["wrong_python_type"][0] == "WrongTypeError"
    assert out["read_only"][:2] == ["ReadOnlyError", 1]
    kind, code, name, message, feature = out["no_stats"]
    assert (kind, code, name, feature) == ("FeatureMissingError", 2, "stats.allocated", "stats")
    assert "jemalloc-sys[stats]" in message and "JEMALLOC_SYS_FEATURES=stats" in message
    assert out["no_prof"][0] == "FeatureMissingError" and out["no_prof"][4] == "profiling"
    assert "jemalloc-sys[profiling]" in out["no_prof"][3]
    assert out["index"][:2] == ["UnknownNameError", 2]


@pytest.mark.build
def test_process_allocator_refuses_when_malloc_is_not_jemalloc(stats_site: Path) -> None:
    code = ("import jemalloc_sys, json\nfrom jemalloc_sys import errors\n"
            "jemalloc_sys.load()  # a prefixed jemalloc in the process does not make it the allocator\n"
            "try:\n    jemalloc_sys.process_allocator()\n    print(json.dumps(None))\n"
            "except errors.NotUnderJemallocError as exc:\n    print(json.dumps(str(exc)))\n")
    message = _child_json(stats_site, code, LD_PRELOAD="")
    assert message is not None and "not jemalloc" in message and "jemalloc-sys run" in message


SWEEP_CODE = """
import errno, json
from jemalloc_sys import ctl, errors
a = ctl.default()
doc = ctl.types_table()
# Queries answer about an input written in the same call (a pointer, a size); without one jemalloc
# rightly says EINVAL, so they are not type checks.
QUERIES = ("arenas.lookup", "thread.tcache.ncached_max.read_sizeclass")
checked, wrong, skipped = 0, [], []
for pattern, entry in sorted(doc["names"].items()):
    if not entry["read"] or entry["type"] not in ctl.CTYPES or pattern in QUERIES or pattern.startswith(
        ("experimental.", "arenas.create", "tcache.create")):
        skipped.append(pattern)
        continue
    name = pattern.replace("*", "0")
    try:
        a.get(name)
        checked += 1
    except errors.WrongTypeError as exc:
        wrong.append([name, str(exc)])
    except errors.MallctlError:
        checked += 1  # ENOENT/EFAULT/EAGAIN: the name resolved, the size was not the problem
print(json.dumps({"checked": checked, "wrong": wrong, "skipped": len(skipped)}))
"""


@pytest.mark.build
def test_every_derived_type_has_the_size_the_library_expects(stats_site: Path) -> None:
    # jemalloc answers EINVAL when the buffer size differs from sizeof(type): reading every readable
    # name with the derived type checks the whole table against the compiled library.
    out = _child_json(stats_site, SWEEP_CODE)
    assert out["wrong"] == []
    assert out["checked"] > 300, out


@pytest.mark.build
def test_without_a_shipped_table_the_core_names_still_work(stats_site: Path, tmp_path: Path) -> None:
    # What a JEMALLOC_OVERRIDE package looks like to ctl: a library and a record, no derived table.
    import shutil

    site = tmp_path / "site"
    shutil.copytree(stats_site, site)
    (site / "jemalloc_sys" / "_mallctl_types.json").unlink()
    code = """
import json
from jemalloc_sys import ctl, errors
a = ctl.default()
out = {"allocated": a.stats().allocated, "narenas": a.read("arenas.narenas", "unsigned")}
try:
    a.get("arenas.narenas")
except errors.WrongTypeError as exc:
    out["untyped"] = str(exc)
print(json.dumps(out))
"""
    out = _child_json(site, code)
    assert out["allocated"] > 0 and out["narenas"] >= 1
    assert "ships no type table" in out["untyped"] and "read(name, 'size_t')" in out["untyped"]
