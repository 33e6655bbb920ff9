"""What the wheelhouse weighs (each wheel, each library in it) and what ``import jemalloc_sys`` costs, installed."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import report, sites
from .shipped import Installed, Wheelhouse

_PROBE = ("import time, jemalloc_sys; t0 = time.perf_counter(); jemalloc_sys.load();"
          " print(f'load_ms={(time.perf_counter() - t0) * 1e3:.3f}')")


def importtime_ms(stderr: str, module: str) -> float:
    """Cumulative microseconds of ``module`` from ``python -X importtime``'s table, in ms."""
    for line in stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module:
            return int(parts[1]) / 1000
    raise RuntimeError(f"-X importtime did not list {module}")


def import_cost(site: Path, rounds: int) -> tuple[float, float]:
    """Median ms of ``import jemalloc_sys`` (``-X importtime``, cumulative) and of a following ``load()``."""
    env = {**sites.clean_env(os.environ), "PYTHONPATH": str(site)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # Write the .pyc files once, as pip does when it installs a wheel.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(site)], env=env, check=True, capture_output=True)
    imports, loads = [], []
    for _ in range(rounds):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", _PROBE], env=env, capture_output=True,
                              text=True, cwd=tempfile.gettempdir(), check=True)
        imports.append(importtime_ms(proc.stderr, "jemalloc_sys"))
        loads.append(float(proc.stdout.strip().rpartition("load_ms=")[2]))
    return statistics.median(imports), statistics.median(loads)


@dataclass(frozen=True, kw_only=True)
class Member:
    name: str
    size: int
    compressed: int


def libraries_in(wheel: Path) -> list[Member]:
    """The shared libraries inside a wheel (ELF files; not the ``-l`` linker script): unpacked and compressed sizes."""
    with zipfile.ZipFile(wheel) as zf:
        return [Member(name=i.filename, size=i.file_size, compressed=i.compress_size) for i in zf.infolist()
                if ".so" in Path(i.filename).name and zf.read(i.filename)[:4] == b"\x7fELF"]


def render(house: Wheelhouse, installed: Installed, rounds: int) -> str:
    imp, load = import_cost(installed.site, rounds)
    rows = []
    for variant, wheel in house.wheels.items():
        libs = libraries_in(wheel.path)
        rows.append([variant, wheel.path.name, f"{wheel.size / 1024:.0f}",
                     "; ".join(f"`{Path(m.name).name}` {m.size / 1024:.0f} ({m.compressed / 1024:.0f} zipped)"
                               for m in libs)])
    return "\n".join([
        "### Footprint: the wheelhouse and the import", "",
        f"`import jemalloc_sys` from the installed base wheel: {imp:.1f} ms (median of {rounds} fresh interpreters,"
        " `python -X importtime`'s cumulative time, .pyc present); the following `jemalloc_sys.load()` (ctypes and"
        f" the dlopen of the library, paid once per process): {load:.2f} ms.", "",
        report.table(["variant", "wheel", "wheel KB", "libraries in it: KB unpacked (KB zipped)"], rows), ""])
