"""How many CPUs a process may really use: affinity mask and cgroup CPU quota.

jemalloc sizes its arenas from the CPUs it sees (4 arenas per CPU, jemalloc's
``opt.narenas`` default), which in a container is the host's CPU count or its
affinity mask, not the container's CPU quota: a 2-CPU container on a 64-core
host gets 256 arenas, each holding its own dirty pages. The quota lives in the
cgroup filesystem: ``cpu.max`` (cgroup v2: ``"<quota> <period>"`` or ``"max
<period>"``) or ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (v1; quota ``-1``
means none), set on the process's cgroup or any ancestor (the smallest wins).

Every function takes the filesystem roots as arguments, so tests point them at
fake files and containers with unusual mounts can too.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

ARENAS_PER_CPU = 4
"""jemalloc's own ratio (``opt.narenas`` defaults to 4 x the CPU count)."""

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_SELF_CGROUP = Path("/proc/self/cgroup")


@dataclass(frozen=True, kw_only=True)
class CpuLimit:
    """The CPUs a process may use and where the figure comes from."""

    cpus: int
    """Whole CPUs: the affinity mask's size, or the quota rounded up when that is smaller."""
    affinity: int
    quota: float | None
    """CPU quota in CPUs (``cpu.max`` 50000/100000 -> 0.5), None when unlimited or unknown."""
    source: str
    """Which file set the quota (or why there is none), for the dry run."""

    @property
    def arenas(self) -> int:
        """The arena count jemalloc would pick if it saw :attr:`cpus` CPUs."""
        return ARENAS_PER_CPU * self.cpus

    def explain(self) -> str:
        if self.quota is None:
            return f"{self.arenas} = {ARENAS_PER_CPU} x {self.cpus} CPUs (affinity mask; {self.source})"
        return (f"{self.arenas} = {ARENAS_PER_CPU} x {self.cpus} CPUs (cgroup CPU quota {self.quota:g} from"
                f" {self.source}, rounded up; affinity mask {self.affinity})")


def _cgroup_paths(proc_self_cgroup: Path) -> tuple[str | None, str | None]:
    """This process's cgroup v2 path and v1 ``cpu`` controller path, from ``/proc/self/cgroup``."""
    v2 = v1 = None
    try:
        text = proc_self_cgroup.read_text(encoding="utf-8")
    except OSError:
        return None, None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            v2 = path
        elif "cpu" in controllers.split(","):
            v1 = path
    return v2, v1


def _ancestors(root: Path, path: str) -> list[Path]:
    """``root/path`` and every parent up to ``root``."""
    folders = [root]
    for part in [p for p in path.split("/") if p]:
        folders.append(folders[-1] / part)
    return folders[::-1]


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _v2_quota(root: Path, path: str) -> tuple[float, Path] | None:
    # cgroup v2 is mounted at the root, or at root/unified next to v1 controllers ("hybrid" systems).
    if not (root / "cgroup.controllers").is_file() and (root / "unified").is_dir():
        root = root / "unified"
    best: tuple[float, Path] | None = None
    for folder in _ancestors(root, path):
        text = _read(folder / "cpu.max")
        if text is None:
            continue
        quota, _, period = text.partition(" ")
        if quota == "max" or not period:
            continue
        cpus = int(quota) / int(period)
        if best is None or cpus < best[0]:
            best = (cpus, folder / "cpu.max")
    return best


def _v1_quota(root: Path, path: str) -> tuple[float, Path] | None:
    best: tuple[float, Path] | None = None
    for mount in ("cpu,cpuacct", "cpu", "cpuacct,cpu"):
        if not (root / mount).is_dir():
            continue
        for folder in _ancestors(root / mount, path):
            quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
            if quota is None or period is None or int(quota) <= 0 or int(period) <= 0:
                continue
            cpus = int(quota) / int(period)
            if best is None or cpus < best[0]:
                best = (cpus, folder / "cpu.cfs_quota_us")
        break
    return best


def affinity_count() -> int:
    """CPUs in this process's affinity mask (``os.cpu_count()`` where there is no such call)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def limit(*, cgroup_root: Path = CGROUP_ROOT, proc_self_cgroup: Path = PROC_SELF_CGROUP,
          affinity: int | None = None) -> CpuLimit:
    """The CPUs this process may use: the affinity mask, capped by the cgroup quota (v2, else v1)."""
    mask = affinity if affinity is not None else affinity_count()
    v2, v1 = _cgroup_paths(proc_self_cgroup)
    found = _v2_quota(cgroup_root, v2) if v2 is not None else None
    if found is None and v1 is not None:
        found = _v1_quota(cgroup_root, v1)
    if found is None:
        why = "no cgroup CPU quota" if (v2 is not None or v1 is not None) else f"no cgroup in {proc_self_cgroup}"
        return CpuLimit(cpus=mask, affinity=mask, quota=None, source=why)
    quota, where = found
    cpus = max(1, min(mask, math.ceil(quota)))
    return CpuLimit(cpus=cpus, affinity=mask, quota=quota, source=str(where))
