"""``python -m wheel_builder release-check`` on the main command's real wheelhouse, whole and damaged.

The wheelhouse holds what this machine builds: every variant's manylinux x86-64
wheel and every sdist (the session fixture of tests/conftest.py), so the check
runs with ``--platforms manylinux-x86_64``. It must pass on the wheelhouse as
built, then fail on copies with one wheel missing, a tag that names another
version, and a truncated wheel, each naming what is wrong.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, Wheelhouse, shipped_wheel

from jemalloc_build import project, variants
from wheel_builder import published

pytestmark = [pytest.mark.build, pytest.mark.slow]

PLATFORM = "manylinux-x86_64"
TAG = f"v{project.version()}"


def _check(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wheel_builder", "release-check", str(folder), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def _copy(wheelhouse: Wheelhouse, tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    shutil.copytree(wheelhouse[0], folder)
    return folder


def _failures(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in proc.stdout.splitlines() if line.startswith("FAIL ")]  # not the FAILED: summary


def test_the_main_commands_wheelhouse_is_a_release_and_is_staged_companions_first(
        wheelhouse: Wheelhouse, tmp_path: Path) -> None:
    proc = _check(wheelhouse[0], "--tag", TAG, "--platforms", PLATFORM, "--stage", str(tmp_path / "upload"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _failures(proc) == []
    checked = {line.split()[1] for line in proc.stdout.splitlines() if line.startswith("ok")}
    for variant in variants.VARIANTS:
        assert shipped_wheel(wheelhouse, variant.name).name in checked
        assert published.sdist_name(variant, project.version()) in checked
    assert "staged for upload in this order:" in proc.stdout
    for batch, names in published.UPLOAD_ORDER:
        staged = sorted(p.name for p in (tmp_path / "upload" / batch).iterdir())
        assert staged == sorted(p.name for p in wheelhouse[0].iterdir()
                                if p.name.split("-")[0] in {published.stem(variants.get(n)) for n in names})


def test_a_missing_wheel_fails_and_nothing_is_staged(wheelhouse: Wheelhouse, tmp_path: Path) -> None:
    folder = _copy(wheelhouse, tmp_path)
    (folder / shipped_wheel(wheelhouse, "stats").name).unlink()
    proc = _check(folder, "--tag", TAG, "--platforms", PLATFORM, "--stage", str(tmp_path / "upload"))
    assert proc.returncode == 1
    assert [line.split(None, 3)[3] for line in _failures(proc)] == [
        f"missing {published.wheel_name(variants.get('stats'), project.version(), published.BY_NAME[PLATFORM])}"]
    assert not (tmp_path / "upload").exists()


def test_a_tag_naming_another_version_fails(wheelhouse: Wheelhouse) -> None:
    proc = _check(wheelhouse[0], "--tag", "v9.9.9.9", "--platforms", PLATFORM)
    assert proc.returncode == 1
    failures = _failures(proc)
    assert len(failures) == 1 and "'v9.9.9.9' does not name this tree's version" in failures[0], failures


def test_a_broken_wheel_fails_twine_and_its_own_checks(wheelhouse: Wheelhouse, tmp_path: Path) -> None:
    folder = _copy(wheelhouse, tmp_path)
    broken = folder / shipped_wheel(wheelhouse, "profiling").name
    broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 2])  # an interrupted download
    proc = _check(folder, "--tag", TAG, "--platforms", PLATFORM)
    assert proc.returncode == 1
    failures = _failures(proc)
    assert any("twine check" in line and broken.name in line for line in failures), failures
    assert {line.split()[2] for line in failures if line.split()[1] == broken.name} == {"license", "sbom",
                                                                                     "metadata"}
    assert all(broken.name in line for line in failures), failures
