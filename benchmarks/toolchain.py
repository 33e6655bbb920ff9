"""Shipped (zig-built) libraries against the same flags built with the host gcc: the ratio, and why.

Issue 10: the wheels are built by zig's clang, a user's sdist build (and this
harness, before) by gcc. Here both builds of the base variant run the C
microbenchmark and the Python workload side by side, and the table gives each
library's time as a ratio to its host-gcc build. To find out where a difference
comes from, experiment rows rebuild the shipped configuration with one flag
added (:data:`EXPERIMENTS`; not shipped), and below the table the run prints
what each build's compiler received: the build record's compiler, the CFLAGS
jemalloc's configure chose, and the flags the code generator really got
(:mod:`compilers`). The builder itself is not changed here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from jemalloc_build.errors import BuildError

from . import compilers, hostbuild, measure, programs, report, runtime, sites
from .hostbuild import LocalBuild
from .shipped import Installed

SHIPPED = "shipped (zig cc)"
HOST = "host gcc"
EXPERIMENTS: dict[str, str] = {"zig cc + -fomit-frame-pointer (experiment)": "-fomit-frame-pointer"}
"""Label -> EXTRA_CFLAGS added to the shipped (release toolchain) configuration: candidate causes of a difference.

zig cc keeps frame pointers (clang's -mframe-pointer=all) where gcc at -O3 omits them."""
FLAVOURS = {"preload": "preload", "inprocess": "in-process (dlopen)"}


def row(flavour: str, who: str) -> str:
    return f"{FLAVOURS[flavour]}, {who}"


def _envs(flavour: str, builds: dict[str, tuple[Path, Path, Path]], base: dict[str, str]) -> dict[str, dict[str, str]]:
    """Row -> environment for one library flavour; ``builds``: who -> (site, in-process library, preload library)."""
    envs = {}
    for who, (site, inprocess, _) in builds.items():
        if flavour == "preload":
            envs[row(flavour, who)] = sites.preload_env(site, base)
        else:
            envs[row(flavour, who)] = {**base, "BENCH_LIB": str(inprocess), "BENCH_PREFIX": "_rjem_"}
    return envs


def local_builds(host_cache: Path, work: Path, progress: Callable[[str], None]) -> tuple[LocalBuild, dict[str, LocalBuild],
                                                                                         list[str]]:
    """The host-gcc build, the experiments that could be built, and why others could not."""
    host = hostbuild.build(hostbuild.host_environ(host_cache, "base"), work, "host gcc", progress)
    experiments, skipped = {}, []
    for label, flags in EXPERIMENTS.items():
        try:
            env = hostbuild.release_experiment_environ(host_cache, "base", flags)
            experiments[label] = hostbuild.build(env, work, label, progress)
        except BuildError as exc:  # wheel_builder's MissingToolError too
            skipped.append(f"{label}: not built ({exc})")
    return host, experiments, skipped


def run(shipped: Installed, host_cache: Path, work: Path, builder_caches: Iterable[Path], *, quick: bool, rounds: int,
        threads: int, progress: Callable[[str], None]) -> str:
    host, experiments, skipped = local_builds(host_cache, work, progress)
    builds = {SHIPPED: (shipped.site, shipped.inprocess, shipped.preload), HOST: (host.site, host.inprocess, host.preload),
              **{label: (b.site, b.inprocess, b.preload) for label, b in experiments.items()}}
    base = sites.clean_env(os.environ)
    envs = {**_envs("preload", builds, base), **_envs("inprocess", builds, base)}
    baselines = {name: row(flavour, HOST) for flavour in FLAVOURS for name in _envs(flavour, builds, base)}
    cases = runtime.c_cases(quick, threads)
    results = runtime.measure_c(programs.through_pointers(work), envs, cases, rounds, progress)
    py_envs = _envs("preload", builds, {**base, "PYTHONMALLOC": "malloc"})
    py_case, cmd = runtime.python_case(quick, threads)
    progress(f"  {py_case}")
    py = measure.interleaved(list(py_envs), rounds, lambda name: measure.run(cmd, env=py_envs[name]), progress)
    not_here = f"{report.NOT_APPLICABLE} (Python allocates through malloc)"
    results[py_case] = {**py, **{name: measure.Series(error=not_here) for name in envs if name not in py}}
    table = report.runs_table(
        "Toolchain: shipped (zig) against host gcc, same flags",
        f"Base variant. Median of {rounds} interleaved rounds; every row's ratio is to the host-gcc build of the same"
        " library (above 1.00x: slower than gcc). Experiment rows are the shipped configuration with one flag added,"
        " built here; they are not shipped.",
        list(envs), [*[c.name for c in cases], py_case], results, baselines,
        "Where a zig build is slower than host gcc (or peaks more than 5 % higher):", lambda name: HOST not in name)
    notes = [f"- {line}" for line in skipped]
    return "\n".join([table, *notes, "", explain(shipped, host, experiments, builder_caches)])


def explain(shipped: Installed, host: LocalBuild, experiments: dict[str, LocalBuild],
            builder_caches: Iterable[Path]) -> str:
    """Compiler, configure CFLAGS and backend flags of every build of each library, as a table."""
    caches = list(builder_caches)
    rows = []
    same = []
    for flavour in FLAVOURS:
        # The package's record is the in-process library's; its "preload" part overrides what differs.
        record = shipped.record if flavour == "inprocess" else {**shipped.record, **shipped.record["preload"]}
        entry = compilers.find_entry(caches, flavour, record["configure_args"], record["compiler"]["cc"])
        same.append(f"{flavour}: " + arguments_differ(record["configure_args"], host.record(flavour)["configure_args"]))
        found = [(SHIPPED, compilers.facts(record, entry)),
                 (HOST, compilers.facts(host.record(flavour), host.entry(flavour))),
                 *[(label, compilers.facts(b.record(flavour), b.entry(flavour))) for label, b in experiments.items()]]
        for who, f in found:
            rows.append([row(flavour, who), f.compiler,
                         f"`{f.configure_cflags}`" if f.configure_cflags else "(cache entry not here)",
                         f"`{f.extra_cflags}`" if f.extra_cflags else "", " ".join(f.backend) or "?"])
    return "\n".join([
        "What each build's compiler received (build record; jemalloc's `CONFIGURE_CFLAGS` and the builder's"
        " `EXTRA_CFLAGS` from the cache entry's `configure.log`; the code generator's speed-relevant flags from"
        " `cc <those flags> -###`):", "",
        report.table(["library", "compiler", "jemalloc's CONFIGURE_CFLAGS", "EXTRA_CFLAGS (path maps left out)",
                      "code generator receives"], rows), "",
        f"Configure arguments, shipped against host gcc: {'; '.join(same)}.", ""])


def arguments_differ(shipped: list[str], host: list[str]) -> str:
    """``identical``, or which configure arguments only one of the two builds had."""
    only_shipped = [a for a in shipped if a not in host]
    only_host = [a for a in host if a not in shipped]
    if not only_shipped and not only_host:
        return "identical"
    return f"only shipped {' '.join(only_shipped) or '-'}, only host gcc {' '.join(only_host) or '-'}"
