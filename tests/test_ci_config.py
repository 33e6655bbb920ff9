"""The release configuration, checked by the tools that will read it.

``[tool.cibuildwheel]`` must give the intended matrix on every platform (asked of
cibuildwheel itself), pyproject.toml must satisfy validate-pyproject, and the
GitHub Actions workflow must satisfy its JSON schema and build every variant on
every runner from one sdist, then publish with trusted publishing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomllib
import yaml
from conftest import ROOT

from jemalloc_build import variants

WORKFLOW = ROOT / "ci" / "workflows" / "wheels.yml"

EXPECTED_IDENTIFIERS = {
    "linux": {
        "cp312-manylinux_x86_64", "cp312-manylinux_i686", "cp312-manylinux_aarch64", "cp312-manylinux_ppc64le",
        "cp312-manylinux_s390x", "cp312-manylinux_armv7l", "cp312-musllinux_x86_64", "cp312-musllinux_aarch64",
    },
    "macos": {"cp312-macosx_x86_64", "cp312-macosx_arm64"},
    "windows": {"cp312-win_amd64", "cp312-win_arm64"},
}
RUNNERS = {"ubuntu-latest", "ubuntu-24.04-arm", "macos-15-intel", "macos-14", "windows-latest", "windows-11-arm"}


def _tool(module: str, executable: str) -> list[str]:
    """Run a PyPI tool through this interpreter (they are in ci/requirements-test.txt)."""
    if shutil.which(executable) is None:
        pytest.skip(f"{executable} is not installed: pip install -r ci/requirements-test.txt")
    return [sys.executable, "-m", module]


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _workflow() -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return data


@pytest.mark.parametrize("platform", sorted(EXPECTED_IDENTIFIERS))
def test_cibuildwheel_lists_the_intended_matrix(platform: str) -> None:
    cmd = [*_tool("cibuildwheel", "cibuildwheel"), "--print-build-identifiers", "--platform", platform]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if not k.startswith("CIBW_")})
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split()) == EXPECTED_IDENTIFIERS[platform]


def test_pyproject_is_valid() -> None:
    proc = subprocess.run([*_tool("validate_pyproject", "validate-pyproject"), "pyproject.toml"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Valid file: pyproject.toml" in proc.stdout


def test_workflow_matches_the_github_actions_schema() -> None:
    cmd = [*_tool("check_jsonschema", "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok -- validation done" in proc.stdout


def test_a_broken_workflow_fails_the_schema_check(tmp_path: Path) -> None:
    """The schema check can fail: a job without runs-on is rejected."""
    broken = _workflow()
    del broken["jobs"]["sdist"]["runs-on"]
    (tmp_path / "wheels.yml").write_text(yaml.safe_dump(broken))
    cmd = [*_tool("check_jsonschema", "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
           str(tmp_path / "wheels.yml")]
    assert subprocess.run(cmd, capture_output=True, text=True, timeout=120).returncode != 0


def test_workflow_builds_every_variant_on_every_runner_from_the_sdist() -> None:
    jobs = _workflow()["jobs"]
    assert set(jobs) == {"sdist", "wheels", "publish"}
    matrix = jobs["wheels"]["strategy"]["matrix"]
    assert matrix["variant"] == [v.name for v in variants.VARIANTS]
    platforms = matrix["platform"]
    assert {p["os"] for p in platforms} == RUNNERS
    assert {p["arch"] for p in platforms if p.get("qemu")} == {"armv7l", "ppc64le", "s390x"}
    assert jobs["wheels"]["needs"] == "sdist"
    build = next(s for s in jobs["wheels"]["steps"] if "cibuildwheel" in s.get("run", ""))
    assert build["env"]["CIBW_CONFIG_SETTINGS"] == "variant=${{ matrix.variant }}"
    assert "sdist/*.tar.gz" in build["run"]


def test_publish_uses_trusted_publishing_after_every_build() -> None:
    publish = _workflow()["jobs"]["publish"]
    assert set(publish["needs"]) == {"sdist", "wheels"}
    assert publish["permissions"] == {"id-token": "write"}
    assert any(s.get("uses", "").startswith("pypa/gh-action-pypi-publish@") for s in publish["steps"])
    assert not any("password" in (s.get("with") or {}) for s in publish["steps"])


def test_cibuildwheel_repairs_explicitly_and_runs_the_smoke_test() -> None:
    cibw = _pyproject()["tool"]["cibuildwheel"]
    for platform in ("linux", "macos", "windows"):
        assert cibw[platform]["repair-wheel-command"], platform
    assert "auditwheel repair" in cibw["linux"]["repair-wheel-command"]
    assert "delocate-wheel" in cibw["macos"]["repair-wheel-command"]
    assert "delvewheel repair" not in cibw["windows"]["repair-wheel-command"]
    assert cibw["test-command"] == "python {project}/tests/wheel_smoke.py"
    assert (ROOT / "tests" / "wheel_smoke.py").is_file()
    assert "graft tests" in (ROOT / "MANIFEST.in").read_text()  # the sdist carries the smoke test


def test_build_python_is_new_enough_for_the_builder() -> None:
    build = _pyproject()["tool"]["cibuildwheel"]["build"]
    assert build.startswith("cp3") and int(build[3:5]) >= 11  # jemalloc_build reads TOML with tomllib
