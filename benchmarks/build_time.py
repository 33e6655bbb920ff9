"""Build time: sdist -> repaired wheel (one variant) against the floor, in one run.

The floor is what any build of the same libraries must pay: a bare
``configure`` + ``make -jN build_lib_shared`` of exactly the libraries the
wheel ships (the in-process and, on Linux, the preload flavour), with the same
source tree, configure arguments and compiler flags. The wheel side runs the
real clients (``pip wheel`` on the sdist, ``auditwheel repair``) through
``wheel_builder.pipeline``, with a fresh builder cache (the extracted source is
prepared beforehand, untimed, for both sides). A rebuild is the same ``pip
wheel`` + repair again with that cache now filled.
"""

from __future__ import annotations

import os
import shlex
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jemalloc_build import build as build_mod
from jemalloc_build import configure, malloc_conf, manifest, source, toolchain
from jemalloc_build import settings as settings_mod
from wheel_builder import pipeline

from . import libraries


@dataclass(kw_only=True)
class BuildTimes:
    floor: list[float] = field(default_factory=list)
    sdist: float = 0.0
    wheel: float = 0.0
    """pip wheel + auditwheel repair from the sdist, empty cache."""
    rebuild: float = 0.0
    wheel_path: Path | None = None
    jobs: int = 0

    @property
    def floor_median(self) -> float:
        return statistics.median(self.floor)


def _floor(tree: Path, objroot: Path, settings: settings_mod.BuildSettings, mf: manifest.Manifest,
           jobs: int) -> float:
    """configure + make of every shipped flavour, as the builder would run them, timed."""
    tc = toolchain.detect(target=settings.target)
    flavours = [f for f in configure.FLAVOURS if build_mod.flavour_supported(f, settings)]
    known = malloc_conf.known_options(tree)
    started = time.monotonic()
    for flavour in flavours:
        plan = configure.plan(settings, target=tc.host, cross=tc.cross, manifest=mf, known_options=known,
                              flavour=flavour)
        objdir = objroot / flavour
        objdir.mkdir(parents=True)
        env = {**os.environ, "CC": shlex.join(tc.cc),
               "EXTRA_CFLAGS": build_mod._extra_cflags(plan, objdir, tree, mf.version)}
        for cmd in (["sh", str(tree / "configure"), "--prefix=/usr/local", *plan.args],
                    [tc.make, f"-j{jobs}", "build_lib_shared"]):
            subprocess.run(cmd, cwd=objdir, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def run(work: Path, *, rounds: int, progress: Callable[[str], None]) -> BuildTimes:
    cache_dir = work / "build-cache"
    env = libraries.builder_env(cache_dir)
    settings = settings_mod.resolve(environ=env)
    mf = manifest.load()
    src = source.prepare(explicit=env["JEMALLOC_SYS_SOURCE"], manifest=mf, cache_dir=cache_dir)  # untimed, shared
    times = BuildTimes(jobs=os.cpu_count() or 1)
    target = pipeline.resolve_target("host", tools_dir=work / "tools")
    quiet: Callable[[str], None] = lambda line: None  # noqa: E731
    benv = {**pipeline.build_env(target, cache_dir=str(cache_dir), epoch=pipeline.source_date_epoch()),
            "JEMALLOC_SYS_SOURCE": env["JEMALLOC_SYS_SOURCE"]}

    progress("  build: floor (configure + make of the shipped libraries)")
    times.floor.append(_floor(src.tree, work / "floor-0", settings, mf, times.jobs))
    progress(f"    {times.floor[-1]:.1f}s")

    progress("  build: sdist")
    sdist_dir = work / "sdist-out"
    sdist_dir.mkdir()
    sd_work = work / "sd"
    sd_work.mkdir()
    started = time.monotonic()
    sdist = pipeline.build_sdist(out=sdist_dir, env=benv, work=sd_work, progress=quiet)
    times.sdist = time.monotonic() - started

    for label in ("wheel", "rebuild"):
        progress(f"  build: {label}: pip wheel <sdist> + auditwheel repair")
        step = work / label
        step.mkdir()
        started = time.monotonic()
        raw = pipeline.build_wheel(sdist, variant="base", env=benv, work=step, progress=quiet)
        repaired = pipeline.repair(raw, target=target, env=benv, work=step, progress=quiet, variant="base")
        setattr(times, label, time.monotonic() - started)
        times.wheel_path = repaired
        progress(f"    {getattr(times, label):.1f}s")

    for n in range(1, rounds):
        progress("  build: floor again")
        times.floor.append(_floor(src.tree, work / f"floor-{n}", settings, mf, times.jobs))
        progress(f"    {times.floor[-1]:.1f}s")
    for n in range(rounds):
        shutil.rmtree(work / f"floor-{n}", ignore_errors=True)
    return times
