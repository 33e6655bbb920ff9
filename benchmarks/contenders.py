"""Who runs a workload: one environment per allocator, built from the table in :mod:`libraries`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import libraries, sites

GLIBC = "glibc 2.36 malloc"
OURS_PRELOAD = "jemalloc-sys preload (base)"
OURS_PRELOAD_PROF = "jemalloc-sys preload (profiling variant)"
OURS_INPROCESS = "jemalloc-sys in-process (dlopen, global-dynamic TLS)"


@dataclass(frozen=True, kw_only=True)
class Contender:
    name: str
    env: dict[str, str]
    dlopen: bool = False
    """True when the allocator is reached only through dlopen/dlsym (C benchmarks only)."""


def runtime_contenders(cache_dir: Path, *, python_malloc: bool, with_dlopen: bool) -> list[Contender]:
    base = sites.clean_env(dict(os.environ))
    if python_malloc:
        base["PYTHONMALLOC"] = "malloc"
    found = [Contender(name=GLIBC, env=base)]
    debian = libraries.SYSTEM_ALLOCATORS[0]
    if debian.path.is_file():
        found.append(Contender(name=debian.name, env={**base, "LD_PRELOAD": str(debian.path)}))
    found.append(Contender(name=OURS_PRELOAD, env=sites.preload_env(sites.site(cache_dir), base)))
    found.append(Contender(name=OURS_PRELOAD_PROF,
                           env=sites.preload_env(sites.site(cache_dir, "profiling,stats"), base)))
    if with_dlopen:
        lib = libraries.ours(cache_dir).library
        found.append(Contender(name=OURS_INPROCESS, env={**base, "BENCH_LIB": str(lib), "BENCH_PREFIX": "_rjem_"},
                               dlopen=True))
    for other in libraries.SYSTEM_ALLOCATORS[1:]:
        if other.path.is_file():
            found.append(Contender(name=other.name, env={**base, "LD_PRELOAD": str(other.path)}))
    return found
