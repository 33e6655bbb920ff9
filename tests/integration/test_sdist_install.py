"""Acceptance of issue 13: where no wheel fits, ``pip install 'jemalloc-sys[profiling]'`` builds both from sdists.

A local index holds only sdists (ours, from ``python -m wheel_builder sdists``)
and the wheels of our build requirements (setuptools, from a folder of PyPI
downloads kept in the builder cache). In a fresh venv, pip is told to build our
two distributions from source; the companion's sdist must build its own library
(the profiling one), and that library must be the active one. The builder cache
is the suite's, so the libraries are usually reused.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from conftest import CACHE_DIR, PROGRAMS, ROOT

from jemalloc_build import project, variants

pytestmark = [pytest.mark.build, pytest.mark.slow]

REPORT = PROGRAMS / "variant_report.py"
DOWNLOADS = CACHE_DIR / "pypi-downloads"
"""PyPI wheels of our build requirements, downloaded once and kept (the folder is the local index's source)."""


def _build_requirements() -> list[str]:
    """``[build-system] requires`` of our sdists that apply to this interpreter (packaging evaluates the markers)."""
    from packaging.requirements import Requirement

    requires = project.pyproject()["build-system"]["requires"]
    return [r for r in requires if Requirement(r).marker is None or Requirement(r).marker.evaluate()]


def _download(requirements: list[str]) -> list[Path]:
    """Wheels satisfying ``requirements``, from DOWNLOADS, fetched from PyPI the first time."""
    DOWNLOADS.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--only-binary", ":all:", "--no-deps",
                           "--dest", str(DOWNLOADS), *requirements], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    if proc.returncode != 0:
        pytest.skip(f"cannot fetch {', '.join(requirements)} from PyPI into {DOWNLOADS}: "
                    f"{(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    return sorted(DOWNLOADS.glob("*.whl"))


@pytest.fixture(scope="module")
def index(sdists: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("index")
    for sdist in sdists.values():
        shutil.copy2(sdist, folder)
    for wheel in _download(_build_requirements()):
        shutil.copy2(wheel, folder)
    return folder


def test_extra_installs_from_sdists_and_activates_the_built_profiling_library(index: Path, tmp_path: Path) -> None:
    ours = {v.distribution.replace("-", "_") for v in variants.VARIANTS}
    assert not [p for p in index.glob("*.whl") if p.name.split("-")[0] in ours], "our wheels must not be offered"
    assert len(list(index.glob("*.tar.gz"))) == len(variants.VARIANTS)

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = str(env_dir / "bin" / "python")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("JEMALLOC_SYS_", "JEMALLOC_OVERRIDE", "PIP_", "PYTHONPATH"))}
    env.update(JEMALLOC_SYS_CACHE_DIR=str(CACHE_DIR), PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    profiling = variants.get("profiling").distribution
    cmd = [python, "-m", "pip", "install", "--no-index", "--find-links", str(index), "--no-cache-dir",
           "--no-binary", f"jemalloc-sys,{profiling}", "jemalloc-sys[profiling]"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=3000)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    version = project.version()
    for distribution in ("jemalloc-sys", profiling):  # both were built here, from their sdists
        assert f"Created wheel for {distribution}:" in proc.stdout, proc.stdout[-3000:]
        assert f"{distribution.replace('-', '_')}-{version}.tar.gz" in proc.stdout
    assert f"Successfully installed jemalloc-sys-{version} {profiling}-{version}" in proc.stdout

    report = subprocess.run([python, str(REPORT)], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120)
    assert report.returncode == 0, report.stderr
    facts = json.loads(report.stdout)
    assert facts["variant"] == "profiling"
    assert facts["config"] == {"stats": True, "prof": True, "debug": False}
    assert "profiling" in facts["features"]
    assert Path(facts["library"]).parent.parent.name == variants.get("profiling").package
    check = subprocess.run([python, "-m", "pip", "check"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert "No broken requirements found" in check.stdout, check.stdout + check.stderr
    assert str(ROOT) not in facts["library"]
