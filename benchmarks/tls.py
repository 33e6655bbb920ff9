"""Issue 14: an extension's allocation loop under the runner, against the initial-exec preload reference.

jemalloc keeps its per-thread cache in TLS. The in-process library is built with
global-dynamic TLS (it must be dlopen-able; every TLS access may call
``__tls_get_addr``); the preload library with initial-exec TLS, which is faster.
The preload library now also answers as the in-process library (soname
``libjemalloc_sys.so.2`` and the ``_rjem_*`` names, ``jemalloc_build/csrc/
prefixed_aliases.c``), so under ``jemalloc-sys run`` an extension linked against
the package binds to it by soname and gets initial-exec speed.

The "extension" is ``c/alloc_bench.c`` built with direct ``_rjem_malloc``/
``_rjem_free`` calls and linked ``-ljemalloc_sys`` against the base wheel's
package (DT_NEEDED, no rpath). The reference is the same loop calling
``malloc``/``free`` with the preload library LD_PRELOAD'ed. Each run prints which
object served its malloc (dladdr), and a row whose loop was not served by the
library it names fails instead of reporting a wrong number.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from . import measure, programs, report, sites
from .runtime import Case
from .shipped import Installed

REFERENCE = "reference: `malloc`/`free`, preload library LD_PRELOAD'ed (initial-exec TLS)"
UNDER_RUNNER = "extension loop under `jemalloc-sys run` (binds to the preload library by soname)"
NO_RUNNER = "extension loop without the runner (in-process library, global-dynamic TLS; LD_LIBRARY_PATH)"
DLOPEN = "in-process library via dlopen/dlsym, as `jemalloc_sys.load()` (global-dynamic TLS)"
GOAL = 1.03

_ALLOCATOR = re.compile(r"^allocator=(.*)$", re.MULTILINE)


def cases(quick: bool) -> list[Case]:
    scale = 4 if quick else 1
    return [Case(name="1 thread, 16-256 B", args=("1", str(20_000_000 // scale), "16", "256", "1000")),
            Case(name="2 threads, 16 B-32 KiB", args=("2", str(2_000_000 // scale), "16", "32768", "20000"))]


def served_by(stdout: str) -> str:
    """The ``allocator=`` line of a run: the file of the object whose malloc the loop called."""
    match = _ALLOCATOR.search(stdout)
    return match.group(1).strip() if match else ""


def _checked(cmd: list[str], env: dict[str, str], expect: Path) -> measure.Run:
    result = measure.run(cmd, env=env)
    got = served_by(result.stdout)
    if not got or os.path.realpath(got) != os.path.realpath(expect):
        raise measure.ChildFailed(f"served by {got or '?'}, not {expect.name}")
    return result


def run(installed: Installed, work: Path, *, quick: bool, rounds: int, progress: Callable[[str], None]) -> str:
    base = sites.clean_env(os.environ)
    runner = sites.preload_env(installed.site, base)
    direct = programs.direct(work)
    ext = programs.extension(work, installed.base_lib_dir)
    pointers = programs.through_pointers(work)
    pre, inproc = installed.preload, installed.inprocess
    rows: dict[str, tuple[Path, dict[str, str], Path]] = {
        REFERENCE: (direct, runner, pre),
        UNDER_RUNNER: (ext, runner, pre),
        NO_RUNNER: (ext, {**base, "LD_LIBRARY_PATH": str(installed.base_lib_dir)}, inproc),
        DLOPEN: (pointers, {**base, "BENCH_LIB": str(inproc), "BENCH_PREFIX": "_rjem_"}, inproc),
    }
    results: dict[str, dict[str, measure.Series]] = {}
    for case in cases(quick):
        progress(f"  TLS: {case.name}")

        def one(name: str, case: Case = case) -> measure.Run:
            exe, env, expect = rows[name]
            return _checked([str(exe), *case.args], env, expect)

        results[case.name] = measure.interleaved(list(rows), rounds, one, progress)
    names = [c.name for c in cases(quick)]
    table = report.runs_table(
        "TLS: an extension's allocation loop", f"Base wheel. Median of {rounds} interleaved rounds; ratio to the"
        " initial-exec reference. Every row checks (dladdr) that the library it names served its loop.",
        list(rows), names, results, dict.fromkeys(rows, REFERENCE))
    goal_lines = report.goals([(f"under the runner / reference, {n}", results[n][UNDER_RUNNER].cpu
                                if results[n][UNDER_RUNNER].runs else float("nan"),
                                results[n][REFERENCE].cpu if results[n][REFERENCE].runs else float("nan"), GOAL, True)
                               for n in names])
    return table + "\n" + "\n".join(goal_lines) + "\n"
