"""Issue 11: the README's main command, cold, against the floor of the libraries it builds.

Floor: for each library the wheelhouse ships (every variant's in-process and
preload library), a bare ``configure`` + ``make -j<cores> build_lib_shared`` with
the host gcc and the configure arguments the builder passes for it: what any
build of those libraries must pay on this machine. Cold main command:
``python -m wheel_builder`` end to end (sdists, wheels, repair, verification,
install check) with an empty builder cache. Its tool environment (build,
auditwheel, ziglang... in the user cache folder) is provisioned beforehand,
untimed: it is installed once per machine, not per build. Rebuild: the same
command again with that cache now filled. Floors and main command alternate
round by round like every other section.
"""

from __future__ import annotations

import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jemalloc_build import build as build_mod
from jemalloc_build import cache, configure, malloc_conf, manifest, source, toolchain
from wheel_builder import tools

from . import hostbuild, measure, report, shipped
from .paths import ROOT
from .shipped import Wheelhouse

GOAL = 1.15


@dataclass(kw_only=True)
class Floor:
    library: str
    configure: list[float] = field(default_factory=list)
    make: list[float] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(c + m for c, m in zip(self.configure, self.make))


@dataclass(kw_only=True)
class BuildTimes:
    variants: list[str]
    jobs: int
    floors: dict[str, Floor] = field(default_factory=dict)
    args: dict[str, list[str]] = field(default_factory=dict)
    """library -> the configure arguments its floor used."""
    cold: list[float] = field(default_factory=list)
    rebuild: list[float] = field(default_factory=list)
    error: str = ""

    @property
    def floor_sum(self) -> float:
        return sum(f.seconds for f in self.floors.values()) if self.floors else float("nan")


def _run_quiet(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def measure_floors(times: BuildTimes, host_cache: Path, work: Path, progress: Callable[[str], None]) -> None:
    """configure + make of every library, one after the other, each in a fresh object folder."""
    mf = manifest.load()
    for variant in times.variants:
        env = hostbuild.host_environ(host_cache, variant)
        settings = build_mod.settings_for(env)
        tc = toolchain.detect(target=settings.target, environ=env)
        cache_dir = cache.cache_root(settings.cache_dir)
        tree = source.prepare(explicit=settings.source, manifest=mf, cache_dir=cache_dir, environ=env).tree  # untimed
        known = malloc_conf.known_options(tree)
        for flavour, spec in configure.FLAVOURS.items():
            if spec.oses is not None and tc.host.os not in spec.oses:
                continue
            plan = configure.plan(settings, target=tc.host, cross=tc.cross, manifest=mf, known_options=known,
                                  flavour=flavour, family=tc.family,
                                  link_stub_dir=str(cache_dir / "cross-tools" / "link-stubs"))
            label = f"{variant} {flavour}"
            objdir = work / "floor" / label.replace(" ", "-")
            shutil.rmtree(objdir, ignore_errors=True)
            objdir.mkdir(parents=True)
            # The builder's own flag: no debug info except in the debug variant (it is what the wheels get).
            build_env = {**env, "CC": shlex.join(tc.cc), "EXTRA_CFLAGS": "" if "debug" in plan.features else "-g0"}
            progress(f"  floor: {label}: configure + make -j{times.jobs} build_lib_shared (host {tc.cc[0]})")
            floor = times.floors.setdefault(label, Floor(library=label))
            times.args[label] = list(plan.args)
            floor.configure.append(_run_quiet(["sh", str(tree / "configure"), "--prefix=/usr/local", *plan.args],
                                              objdir, build_env))
            floor.make.append(_run_quiet([tc.make, f"-j{times.jobs}", "build_lib_shared"], objdir, build_env))
            shutil.rmtree(objdir, ignore_errors=True)


def main_command(variants: list[str], cache_dir: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "wheel_builder", "--cache-dir", str(cache_dir), "--out", str(out),
            "--variants", ",".join(variants)]


def measure_main(times: BuildTimes, work: Path, n: int, progress: Callable[[str], None]) -> None:
    """The main command with an empty cache, then again with that cache filled."""
    env = hostbuild.clean_environ()  # the cache is given on the command line
    fresh = work / f"cold-cache-{n}"
    for label, out, into in (("cold", work / f"cold-out-{n}", times.cold), ("rebuild", work / f"rebuild-out-{n}",
                                                                         times.rebuild)):
        progress(f"  main command, {label}: {shlex.join(main_command(times.variants, fresh, out))}")
        started = time.monotonic()
        proc = subprocess.run(main_command(times.variants, fresh, out), cwd=ROOT, env=env, capture_output=True,
                              text=True, check=False)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise measure.ChildFailed(f"python -m wheel_builder exited {proc.returncode}: {last}")
        into.append(time.monotonic() - started)
        progress(f"    {into[-1]:.0f}s")
    shutil.rmtree(fresh, ignore_errors=True)


def run(variants: list[str], host_cache: Path, work: Path, *, rounds: int, progress: Callable[[str], None]) -> BuildTimes:
    times = BuildTimes(variants=variants, jobs=os.cpu_count() or 1)
    progress("  tool environment: provisioning before the timed runs (untimed)")
    tools.ensure(cache.default_cache_dir() / "tools", install=True, say=progress)
    steps: list[Callable[[int], None]] = [lambda n: measure_floors(times, host_cache, work, progress),
                                          lambda n: measure_main(times, work, n, progress)]
    try:
        for r in range(rounds):
            for step in measure.rotated(steps, r):
                step(r)
    except (measure.ChildFailed, subprocess.CalledProcessError, OSError) as exc:
        times.error = str(exc)
        progress(f"    failed: {exc}")
    return times


def shipped_arguments(house: Wheelhouse, variants: list[str]) -> dict[str, list[str]]:
    """library label (as the floors name them) -> the configure arguments of the shipped library."""
    found = {}
    for variant in variants:
        if variant in house.wheels:
            record = shipped.record_in_wheel(house.wheels[variant].path, variant)
            found[f"{variant} inprocess"] = list(record["configure_args"])
            if "preload" in record:
                found[f"{variant} preload"] = list(record["preload"]["configure_args"])
    return found


def argument_notes(floor_args: dict[str, list[str]], shipped_args: dict[str, list[str]]) -> list[str]:
    """Where a floor's configure arguments differ from the shipped library's (the backtrace method may)."""
    notes = []
    for label, args in floor_args.items():
        theirs = shipped_args.get(label)
        if theirs is None:
            notes.append(f"- {label}: no shipped library to compare with.")
        elif args != theirs:
            notes.append(f"- {label}: floor only {' '.join(a for a in args if a not in theirs) or '-'};"
                         f" shipped only {' '.join(a for a in theirs if a not in args) or '-'}.")
    return notes or ["- none: every floor used exactly the shipped library's configure arguments."]


def render(times: BuildTimes, house: Wheelhouse) -> str:
    floors = [[f.library, f"{statistics.median(f.configure):.1f}", f"{statistics.median(f.make):.1f}",
               f"{f.seconds:.1f}"] for f in times.floors.values()]
    total = times.floor_sum
    floors.append([f"**sum of {len(times.floors)} floors**", "", "", f"{total:.1f}"])
    cold = statistics.median(times.cold) if times.cold else float("nan")
    rebuild = statistics.median(times.rebuild) if times.rebuild else float("nan")
    which = "all four variants" if len(times.variants) == 4 else f"variants {', '.join(times.variants)} only"
    steps = [[f"cold main command: `python -m wheel_builder` ({which}), empty builder cache", f"{cold:.0f}",
              report.ratio(cold, total)],
             ["rebuild: the same command, cache filled", f"{rebuild:.0f}", report.ratio(rebuild, total)]]
    lines = ["### Build: the main command against the floor", "",
             f"Floor per library: bare `configure` + `make -j{times.jobs} build_lib_shared` with the host compiler and"
             " the builder's configure arguments for it. The main command's tool environment was provisioned before"
             f" timing (untimed). Median of {max(len(times.cold), 1)} round(s).", "",
             report.table(["library", "configure s", "make s", "floor s"], floors), "",
             report.table(["step", "seconds", "vs sum of floors"], steps), "",
             *report.goals([("cold main command / sum of floors", cold, total, GOAL, True)]), "",
             "Configure arguments of the floors that differ from the shipped libraries':", "",
             *argument_notes(times.args, shipped_arguments(house, times.variants))]
    if times.error:
        lines += ["", f"Failed: {times.error}"]
    return "\n".join(lines) + "\n"
