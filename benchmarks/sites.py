"""The runner's environment, asked of an installed package, and a clean base environment.

The preload environment comes from the package's own ``jemalloc_sys.preload_env()``
(what ``jemalloc-sys run`` uses), computed once in a child interpreter that
imports the package from ``site``; the benchmark then starts its workloads with
that environment directly, so no launcher process inflates their peak RSS.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

CLEAN_ALLOCATOR_ENV = ("LD_PRELOAD", "LD_LIBRARY_PATH", "MALLOC_CONF", "_RJEM_MALLOC_CONF", "PYTHONMALLOC",
                       "GLIBC_TUNABLES", "MALLOC_ARENA_MAX", "BENCH_LIB", "BENCH_PREFIX", "JEMALLOC_SYS_VARIANT",
                       "PYTHONPATH")


def clean_env(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` without anything that would change which allocator runs, how, or which package is imported."""
    return {k: v for k, v in base.items() if k not in CLEAN_ALLOCATOR_ENV}


def preload_env(site_dir: Path, base: Mapping[str, str], conf: str = "", **options: object) -> dict[str, str]:
    """``jemalloc_sys.preload.preload_env(conf, **options)`` of the package in ``site_dir``, applied to ``base``.

    That is the runner's environment; ``options`` are the function's keyword arguments
    (``profile=DIR``, ``python_frames=False``...), passed as JSON.
    """
    code = ("import json, sys; from jemalloc_sys import preload; "
            "print(json.dumps(preload.preload_env(sys.argv[1] or None, env=json.loads(sys.argv[2]),"
            " **json.loads(sys.argv[3]))))")
    proc = subprocess.run([sys.executable, "-c", code, conf, json.dumps(dict(base)), json.dumps(options)],
                          env={**base, "PYTHONPATH": str(site_dir)}, capture_output=True, text=True,
                          cwd=tempfile.gettempdir(), check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"preload_env in {site_dir} failed: {proc.stderr.strip().splitlines()[-1:]}")
    result: dict[str, str] = json.loads(proc.stdout)
    return result
