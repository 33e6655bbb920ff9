"""jemalloc_sys.cpus: the CPUs a process may use, from fake cgroup trees (v2, hybrid, v1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jemalloc_sys import cpus


def _v2(root: Path, cpu_max: str, *, path: str = "/", hybrid: bool = False) -> Path:
    tree = root / "unified" if hybrid else root
    folder = tree / path.strip("/") if path.strip("/") else tree
    folder.mkdir(parents=True, exist_ok=True)
    if not hybrid:
        (root / "cgroup.controllers").write_text("cpu memory\n")
    (folder / "cpu.max").write_text(cpu_max + "\n")
    proc = root.parent / "proc-self-cgroup"
    proc.write_text(f"0::{path}\n")
    return proc


@pytest.mark.parametrize(("cpu_max", "cpus_expected", "arenas"), [
    ("50000 100000", 1, 4),      # half a CPU rounds up to one
    ("200000 100000", 2, 8),
    ("max 100000", 16, 64),      # no quota: the affinity mask
    ("1600000 100000", 16, 64),  # a quota above the mask: the mask
])
def test_quota_and_mask_give_the_arena_count(tmp_path: Path, cpu_max: str, cpus_expected: int, arenas: int) -> None:
    proc = _v2(tmp_path / "cg", cpu_max)
    limit = cpus.limit(cgroup_root=tmp_path / "cg", proc_self_cgroup=proc, affinity=16)
    assert (limit.cpus, limit.arenas) == (cpus_expected, arenas)
    assert f"{arenas} = 4 x {cpus_expected} CPUs" in limit.explain()


def test_an_ancestor_quota_counts_and_the_smallest_wins(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    proc = _v2(root, "300000 100000", path="/kubepods/pod1/container")
    (root / "kubepods" / "cpu.max").write_text("150000 100000\n")
    limit = cpus.limit(cgroup_root=root, proc_self_cgroup=proc, affinity=64)
    assert limit.quota == 1.5 and limit.cpus == 2
    assert limit.source == str(root / "kubepods" / "cpu.max")


def test_hybrid_mounts_keep_v2_under_unified(tmp_path: Path) -> None:
    proc = _v2(tmp_path / "cg", "100000 100000", hybrid=True)
    assert cpus.limit(cgroup_root=tmp_path / "cg", proc_self_cgroup=proc, affinity=8).cpus == 1


def test_cgroup_v1_cfs_quota(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    group = root / "cpu,cpuacct" / "docker" / "abc"
    group.mkdir(parents=True)
    (group / "cpu.cfs_quota_us").write_text("250000\n")
    (group / "cpu.cfs_period_us").write_text("100000\n")
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text("12:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n")
    limit = cpus.limit(cgroup_root=root, proc_self_cgroup=proc, affinity=32)
    assert (limit.quota, limit.cpus, limit.arenas) == (2.5, 3, 12)
    (group / "cpu.cfs_quota_us").write_text("-1\n")  # v1's "no limit"
    assert cpus.limit(cgroup_root=root, proc_self_cgroup=proc, affinity=32).quota is None


def test_no_cgroup_information_falls_back_to_the_mask(tmp_path: Path) -> None:
    limit = cpus.limit(cgroup_root=tmp_path, proc_self_cgroup=tmp_path / "missing", affinity=3)
    assert (limit.cpus, limit.quota, limit.arenas) == (3, None, 12)
    assert "affinity mask" in limit.explain()
