"""Shipped (zig-built) libraries against the same flags built with the host gcc: the ratio, and why.

Issue 10: the wheels are built by zig's clang, the test suite used to exercise
gcc builds. Here both builds of the base variant run the C microbenchmark and
the Python workload side by side, and the table gives shipped / host-gcc for
each library. Below it, the facts that explain a difference: each build's
compiler, the CFLAGS jemalloc's configure chose, and what the backend really
received (:mod:`compilers`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from . import compilers, measure, programs, report, runtime, sites
from .hostbuild import HostBuild
from .shipped import Installed

SHIPPED_PRE = "preload, shipped (zig cc)"
HOST_PRE = "preload, host gcc"
SHIPPED_IN = "in-process (dlopen), shipped (zig cc)"
HOST_IN = "in-process (dlopen), host gcc"
BASELINES = {SHIPPED_PRE: HOST_PRE, HOST_PRE: HOST_PRE, SHIPPED_IN: HOST_IN, HOST_IN: HOST_IN}


def _dl(base: dict[str, str], lib: Path) -> dict[str, str]:
    return {**base, "BENCH_LIB": str(lib), "BENCH_PREFIX": "_rjem_"}


def run(shipped: Installed, host: HostBuild, work: Path, builder_caches: Iterable[Path], *, quick: bool, rounds: int,
        threads: int, progress: Callable[[str], None]) -> str:
    base = sites.clean_env(os.environ)
    envs = {SHIPPED_PRE: sites.preload_env(shipped.site, base), HOST_PRE: sites.preload_env(host.site, base),
            SHIPPED_IN: _dl(base, shipped.inprocess), HOST_IN: _dl(base, host.inprocess)}
    cases = runtime.c_cases(quick, threads)
    results = runtime.measure_c(programs.through_pointers(work), envs, cases, rounds, progress)
    py_base = {**base, "PYTHONMALLOC": "malloc"}
    py_envs = {SHIPPED_PRE: sites.preload_env(shipped.site, py_base), HOST_PRE: sites.preload_env(host.site, py_base)}
    py_case, cmd = runtime.python_case(quick, threads)
    progress(f"  {py_case}")
    py = measure.interleaved(list(py_envs), rounds, lambda name: measure.run(cmd, env=py_envs[name]), progress)
    not_here = f"{report.NOT_APPLICABLE} (Python allocates through malloc)"
    results[py_case] = {**py, SHIPPED_IN: measure.Series(error=not_here), HOST_IN: measure.Series(error=not_here)}
    table = report.runs_table(
        "Toolchain: shipped (zig) against host gcc, same flags",
        f"Base variant. Median of {rounds} interleaved rounds; each shipped row's ratio is to the host-gcc build of"
        " the same library (shipped / host gcc: above 1.00x the shipped library is slower).",
        list(envs), [*[c.name for c in cases], py_case], results, BASELINES,
        "Where the shipped build is slower than host gcc (or peaks more than 5 % higher):", lambda row: True)
    return table + "\n" + explain(shipped, host, builder_caches)


def explain(shipped: Installed, host: HostBuild, builder_caches: Iterable[Path]) -> str:
    """Compiler, configure CFLAGS and backend flags of both builds of each library, as a table."""
    caches = list(builder_caches)
    rows = []
    same = []
    for flavour in ("inprocess", "preload"):
        # The package's record is the in-process library's; its "preload" part overrides what differs.
        record = shipped.record if flavour == "inprocess" else {**shipped.record, **shipped.record["preload"]}
        entry = compilers.find_entry(caches, flavour, record["configure_args"], record["compiler"]["cc"])
        same.append(f"{flavour}: " + arguments_differ(record["configure_args"], host.record(flavour)["configure_args"]))
        for who, f in ((f"{flavour}, shipped", compilers.facts(record, entry)),
                       (f"{flavour}, host gcc", compilers.facts(host.record(flavour), host.entry(flavour)))):
            rows.append([who, f.compiler, f"`{f.configure_cflags}`" if f.configure_cflags else "(cache entry not here)",
                         " ".join(f.backend) or "?"])
    return "\n".join([
        "What each build's compiler received (build record; `CONFIGURE_CFLAGS` from the builder cache entry's"
        " `configure.log`; the backend's speed-relevant flags from `cc <CONFIGURE_CFLAGS> -###`):", "",
        report.table(["library", "compiler", "jemalloc's CONFIGURE_CFLAGS", "backend receives"], rows), "",
        f"Configure arguments, shipped against host gcc: {'; '.join(same)}.", ""])


def arguments_differ(shipped: list[str], host: list[str]) -> str:
    """``identical``, or which configure arguments only one of the two builds had."""
    only_shipped = [a for a in shipped if a not in host]
    only_host = [a for a in host if a not in shipped]
    if not only_shipped and not only_host:
        return "identical"
    return f"only shipped {' '.join(only_shipped) or '-'}, only host gcc {' '.join(only_host) or '-'}"
