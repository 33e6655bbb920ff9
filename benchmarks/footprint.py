"""``import jemalloc_sys`` cost, and what each variant weighs on disk and in a wheel."""

from __future__ import annotations

import io
import json
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

_PROBE = ("import time, jemalloc_sys; t0 = time.perf_counter(); jemalloc_sys.load();"
          " print(f'load_ms={(time.perf_counter() - t0) * 1e3:.3f}')")


def _importtime_ms(stderr: str, module: str) -> float:
    """Cumulative microseconds of ``module`` from ``python -X importtime``'s table, in ms."""
    for line in stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1000
    raise RuntimeError(f"-X importtime did not list {module}")


def import_cost(site: Path, rounds: int) -> tuple[float, float]:
    """Median ms of ``import jemalloc_sys`` (``-X importtime``, cumulative) and of a following ``load()``."""
    env = {**sites.clean_env(dict(os.environ)), "PYTHONPATH": str(site)}
    # Write the .pyc files once, as an installed wheel has them.
    subprocess.run([sys.executable, "-c", "import jemalloc_sys"], env=env, cwd=tempfile.gettempdir(), check=True)
    imports, loads = [], []
    for _ in range(rounds):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", _PROBE], env=env, capture_output=True,
                              text=True, cwd=tempfile.gettempdir(), check=True)
        imports.append(_importtime_ms(proc.stderr, "jemalloc_sys"))
        loads.append(float(proc.stdout.strip().rpartition("load_ms=")[2]))
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
        record = json.loads((site / "jemalloc_sys" / "_build_record.json").read_text(encoding="utf-8"))
        inproc = lib / record["library"]
        pre = lib / record["preload"]["library"] if "preload" in record else None
        found.append(Size(variant=variant.name, inprocess_kb=inproc.stat().st_size / 1024,
                          preload_kb=pre.stat().st_size / 1024 if pre else 0.0,
                          package_deflated_kb=_deflated(site) / 1024))
    return found
