"""Built ``jemalloc_sys`` packages for the benchmarks, and the preload environment they give.

The preload environment comes from the package's own ``jemalloc_sys.preload_env()``
(what ``jemalloc-sys run`` uses), computed once in a child interpreter; the
benchmark then starts its workloads with that environment directly, so no
launcher process inflates their peak RSS.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

from jemalloc_build import settings as settings_mod
from jemalloc_build.setuptools_ext import build_all, install_into

from .libraries import ROOT, builder_env

CLEAN_ALLOCATOR_ENV = ("LD_PRELOAD", "MALLOC_CONF", "_RJEM_MALLOC_CONF", "PYTHONMALLOC", "GLIBC_TUNABLES",
                       "MALLOC_ARENA_MAX", "BENCH_LIB", "BENCH_PREFIX")


def clean_env(base: dict[str, str]) -> dict[str, str]:
    """``base`` without anything that would change which allocator runs or how."""
    return {k: v for k, v in base.items() if k not in CLEAN_ALLOCATOR_ENV}


@cache
def site(cache_dir: Path, features: str = "") -> Path:
    """A folder for PYTHONPATH with a complete ``jemalloc_sys`` built with ``features``."""
    env = builder_env(cache_dir, **({"JEMALLOC_SYS_FEATURES": features} if features else {}))
    results = build_all(settings_mod.resolve(environ=env))
    folder = Path(tempfile.mkdtemp(prefix="jemalloc-bench-site-"))
    shutil.copytree(ROOT / "jemalloc_sys", folder / "jemalloc_sys",
                    ignore=shutil.ignore_patterns("__pycache__", "lib", "include", "bin", "_build_record.json"))
    install_into(folder / "jemalloc_sys", results)
    return folder


def preload_env(site_dir: Path, base: dict[str, str], conf: str = "", python_malloc: bool = False) -> dict[str, str]:
    """``jemalloc_sys.preload_env(conf)`` of the package in ``site_dir``, applied to ``base``."""
    code = ("import json, sys, jemalloc_sys; "
            "print(json.dumps(jemalloc_sys.preload_env(sys.argv[1] or None, env=json.loads(sys.argv[2]),"
            " python_malloc=sys.argv[3] == '1')))")
    proc = subprocess.run([sys.executable, "-c", code, conf, json.dumps(base), "1" if python_malloc else "0"],
                          env={**base, "PYTHONPATH": str(site_dir)}, capture_output=True, text=True,
                          cwd=tempfile.gettempdir(), check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"preload_env in {site_dir} failed: {proc.stderr.strip().splitlines()[-1:]}")
    result: dict[str, str] = json.loads(proc.stdout)
    return result
