"""RSS over time of the service-like workload, including jemalloc's decay and background-thread settings."""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import contenders, libraries, measure, sites

CONFIGS: tuple[tuple[str, str], ...] = (
    ("jemalloc-sys preload, defaults", ""),
    ("jemalloc-sys preload, background_thread:true", "background_thread:true"),
    ("jemalloc-sys preload, dirty_decay_ms:1000,muzzy_decay_ms:0", "dirty_decay_ms:1000,muzzy_decay_ms:0"),
    ("jemalloc-sys preload, both of the above", "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0"),
)
"""Our preload library with the settings users reach for (passed through preload_env's conf)."""


@dataclass(kw_only=True)
class Trace:
    name: str
    samples: list[tuple[float, float]]
    busy_end: float
    requests: int
    max_rss_mb: float
    error: str = ""

    def at(self, t: float) -> float:
        """RSS at the last sample taken no later than ``t``."""
        before = [mb for when, mb in self.samples if when <= t]
        return before[-1] if before else float("nan")

    @property
    def busy_median(self) -> float:
        busy = [mb for when, mb in self.samples if 0 < when <= self.busy_end]
        return statistics.median(busy) if busy else float("nan")


def run(cache_dir: Path, *, quick: bool, threads: int, progress: Callable[[str], None]) -> tuple[list[Trace], float, float]:
    busy, idle, interval = (4.0, 6.0, 0.5) if quick else (8.0, 14.0, 0.5)
    base = sites.clean_env(dict(os.environ))
    base["PYTHONMALLOC"] = "malloc"
    site = sites.site(cache_dir)
    who: list[tuple[str, dict[str, str]]] = [(contenders.GLIBC, base),
                                             (contenders.GLIBC + ", MALLOC_ARENA_MAX=2", {**base, "MALLOC_ARENA_MAX": "2"})]
    debian = libraries.SYSTEM_ALLOCATORS[0]
    if debian.path.is_file():
        who.append((debian.name, {**base, "LD_PRELOAD": str(debian.path)}))
    who += [(name, sites.preload_env(site, base, conf)) for name, conf in CONFIGS]
    who += [(o.name, {**base, "LD_PRELOAD": str(o.path)}) for o in libraries.SYSTEM_ALLOCATORS[1:] if o.path.is_file()]
    script = Path(__file__).parent / "workloads" / "service.py"
    traces = []
    for name, env in who:
        progress(f"  service: {name}")
        try:
            result = measure.run([sys.executable, str(script), str(threads), str(busy), str(idle), str(interval)],
                                 env=env, timeout=busy + idle + 120)
            data = json.loads(next(line for line in result.stdout.splitlines() if line.startswith("{")))
            traces.append(Trace(name=name, samples=[(float(a), float(b)) for a, b in data["samples"]],
                                busy_end=float(data["busy_end"]), requests=int(data["requests"]),
                                max_rss_mb=result.max_rss_kb / 1024))
        except (measure.ChildFailed, OSError, ValueError) as exc:
            traces.append(Trace(name=name, samples=[], busy_end=0, requests=0, max_rss_mb=0, error=str(exc)))
    return traces, busy, idle
