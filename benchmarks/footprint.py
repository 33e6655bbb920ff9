"""``import jemalloc_sys`` cost, and what each variant weighs on disk and in a wheel."""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from jemalloc_build import variants

from . import sites

_PROBE = ("import time; t0 = time.perf_counter(); import jemalloc_sys; t1 = time.perf_counter();"
          " jemalloc_sys.load(); t2 = time.perf_counter(); print(f'{(t1 - t0) * 1e3:.3f} {(t2 - t1) * 1e3:.3f}')")


def import_cost(site: Path, rounds: int) -> tuple[float, float]:
    """Median milliseconds of ``import jemalloc_sys`` and of the following ``jemalloc_sys.load()``, fresh interpreters."""
    env = {**sites.clean_env(dict(os.environ)), "PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([sys.executable, "-c", "import jemalloc_sys"], env={**env, "PYTHONDONTWRITEBYTECODE": ""},
                   cwd=tempfile.gettempdir(), check=True)  # write the .pyc files once, as an installed wheel has them
    imports, loads = [], []
    for _ in range(rounds):
        out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True,
                             cwd=tempfile.gettempdir(), check=True).stdout.split()
        imports.append(float(out[0]))
        loads.append(float(out[1]))
    return statistics.median(imports), statistics.median(loads)


@dataclass(frozen=True, kw_only=True)
class Size:
    variant: str
    inprocess_kb: float
    preload_kb: float
    package_deflated_kb: float
    """The installed package zipped with deflate: what its wheel weighs, give or take metadata."""


def _deflated(folder: Path) -> int:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, path.relative_to(folder))
    return len(buf.getvalue())


def sizes(cache_dir: Path) -> list[Size]:
    found = []
    for variant in variants.VARIANTS:
        site = sites.site(cache_dir, variants.merged_features(variant))
        lib = site / "jemalloc_sys" / "lib"
        inproc = next(lib.glob("libjemalloc_sys.so*"))
        pre = next(lib.glob("libjemalloc_sys_preload.so*"), None)
        found.append(Size(variant=variant.name, inprocess_kb=inproc.stat().st_size / 1024,
                          preload_kb=pre.stat().st_size / 1024 if pre else 0.0,
                          package_deflated_kb=_deflated(site) / 1024))
    return found
