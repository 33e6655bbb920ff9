"""The release configuration, checked by the tools that will read it.

``[tool.cibuildwheel]`` must give the intended matrix on every platform (asked of
cibuildwheel itself), pyproject.toml must satisfy validate-pyproject, and the
GitHub Actions workflow must satisfy its JSON schema and zizmor's audits, build
each variant's wheels from that variant's own sdist on every runner that publishes
it (``wheel_builder/published.py``), and publish through the release check,
companions first, with trusted publishing.
"""

from __future__ import annotations

import os
import re
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
from wheel_builder import published

WORKFLOW = ROOT / "ci" / "workflows" / "wheels.yml"

CIBW_OS = {"gnu": "linux", "apple": "macos", "msvc": "windows"}
"""cibuildwheel's --platform for each toolchain family of wheel_builder/published.py."""


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


@pytest.mark.parametrize("platform", sorted(set(CIBW_OS.values())))
def test_cibuildwheel_lists_the_published_platforms(platform: str) -> None:
    python = _pyproject()["tool"]["cibuildwheel"]["build"].removesuffix("-*")
    expected = {f"{python}-{p.identifier}" for p in published.PLATFORMS if CIBW_OS[p.family] == platform}
    cmd = [*_tool("cibuildwheel", "cibuildwheel"), "--print-build-identifiers", "--platform", platform]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if not k.startswith("CIBW_")})
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split()) == expected


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
    text = WORKFLOW.read_text()
    assert text.count("    runs-on: ubuntu-latest\n") >= 1
    (tmp_path / "wheels.yml").write_text(text.replace("    runs-on: ubuntu-latest\n", "", 1))
    cmd = [*_tool("check_jsonschema", "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
           str(tmp_path / "wheels.yml")]
    assert subprocess.run(cmd, capture_output=True, text=True, timeout=120).returncode != 0


def _zizmor(path: Path) -> subprocess.CompletedProcess[str]:
    zizmor = shutil.which("zizmor")
    if zizmor is None:
        pytest.skip("zizmor is not installed: pip install -r ci/requirements-test.txt")
    return subprocess.run([zizmor, "--offline", "--no-progress", str(path)], capture_output=True, text=True,
                          timeout=120)


def test_zizmor_reports_nothing_on_the_workflow() -> None:
    """zizmor's offline audits (pinning, credentials, permissions, injection...), nothing suppressed inline."""
    proc = _zizmor(WORKFLOW)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout, proc.stdout
    assert "zizmor: ignore" not in WORKFLOW.read_text()


def test_zizmor_fails_an_unpinned_checkout_that_keeps_its_credentials(tmp_path: Path) -> None:
    """The audit can fail: checkout by tag, keeping its credentials."""
    pinned = re.search(r"- uses: actions/checkout@\S+ # \S+\n\s+with:\n\s+persist-credentials: false\n",
                       WORKFLOW.read_text())
    assert pinned is not None
    (tmp_path / "wheels.yml").write_text(WORKFLOW.read_text().replace(pinned.group(0), "- uses: actions/checkout@v4\n"))
    proc = _zizmor(tmp_path / "wheels.yml")
    assert proc.returncode != 0
    assert "unpinned-uses" in proc.stdout and "artipacked" in proc.stdout, proc.stdout


def _steps(job: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = _workflow()["jobs"][job]["steps"]
    return steps


def test_every_action_is_pinned_by_commit_with_its_tag_named() -> None:
    lines = [line.strip().removeprefix("- ") for line in WORKFLOW.read_text().splitlines()
             if line.strip().removeprefix("- ").startswith("uses:")]
    assert len(lines) >= 8
    for line in lines:
        assert re.fullmatch(r"uses: [\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+(\.\d+)*", line), line


def test_checkouts_keep_no_credentials_and_no_step_hides_a_failure() -> None:
    for job in _workflow()["jobs"]:
        for step in _steps(job):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, job
            run = step.get("run", "")
            assert "|| true" not in run and "brew install" not in run and "GITHUB_PATH" not in run, (job, step)
            assert "msys64" not in run.lower(), (job, step)  # MSYS2 is where setup-msys2 says it is


def test_pull_requests_that_change_what_is_built_run_the_matrix() -> None:
    paths = _workflow()[True]["pull_request"]["paths"]  # YAML 1.1 reads the key `on` as True
    for needed in ("vendor/**", "MANIFEST.in", "tests/programs/wheel_smoke.py", "wheel_builder/**", "jemalloc_build/**",
                   "jemalloc_sys/**", "_backend/**", "pyproject.toml", "setup.py", "ci/workflows/wheels.yml"):
        assert needed in paths, needed


def _matrix_jobs() -> set[tuple[str, str, str]]:
    """(variant, runner, arch) of every job the wheels matrix expands to, excludes applied."""
    matrix = _workflow()["jobs"]["wheels"]["strategy"]["matrix"]
    jobs = {(v, p["os"], p["arch"]) for v in matrix["variant"] for p in matrix["platform"]}
    for rule in matrix.get("exclude", []):
        jobs.discard((rule["variant"], rule["platform"]["os"], rule["platform"]["arch"]))
    return jobs


def test_the_matrix_builds_every_published_variant_on_its_runner_and_nothing_else() -> None:
    matrix = _workflow()["jobs"]["wheels"]["strategy"]["matrix"]
    assert matrix["variant"] == [v.name for v in variants.VARIANTS]
    assert {(p["os"], p["arch"], bool(p.get("qemu"))) for p in matrix["platform"]} == {
        (p.runner, p.arch, p.qemu) for p in published.PLATFORMS}
    expected = {(v.name, p.runner, p.arch) for p in published.PLATFORMS for v in variants.VARIANTS
                if published.publishes(v, p)}
    assert _matrix_jobs() == expected
    assert ("profiling", "windows-latest", "AMD64") not in expected  # MSVC cannot build profiling


def test_each_variant_is_built_from_its_own_sdist() -> None:
    jobs = _workflow()["jobs"]
    assert any("python -m wheel_builder sdists --out dist" in s.get("run", "") for s in _steps("sdists"))
    assert jobs["wheels"]["needs"] == "sdists"
    assert "CIBW_CONFIG_SETTINGS" not in WORKFLOW.read_text()
    stem = jobs["wheels"]["env"]["SDIST_STEM"]
    assert stem == "${{ matrix.variant == 'base' && 'jemalloc_sys' || format('jemalloc_sys_{0}', matrix.variant) }}"
    for variant in variants.VARIANTS:  # what that expression gives is the sdist's file name stem
        assert published.stem(variant) == ("jemalloc_sys" if variant.is_base else f"jemalloc_sys_{variant.name}")
    builds = [s for s in _steps("wheels") if "python -m cibuildwheel" in s.get("run", "")]
    assert [s["if"] for s in builds] == ["runner.os != 'Windows'", "runner.os == 'Windows'"]
    assert all("SDIST_STEM" in s["run"] for s in builds)


def test_windows_puts_msvc_first_and_finds_msys2_where_setup_msys2_put_it() -> None:
    steps = _steps("wheels")
    msys2 = next(s for s in steps if s.get("uses", "").startswith("msys2/setup-msys2@"))
    build = next(s for s in steps if s.get("if") == "runner.os == 'Windows'" and "cibuildwheel" in s.get("run", ""))
    assert build["env"]["MSYS2_LOCATION"] == f"${{{{ steps.{msys2['id']}.outputs.msys2-location }}}}"
    assert build["shell"] == "pwsh"
    path = next(line for line in build["run"].splitlines() if line.strip().startswith("$env:PATH ="))
    assert path.index("$msvc") < path.index("MSYS2_LOCATION") < path.index("$env:PATH)")
    assert "link.exe" in build["run"]  # and the step checks that link.exe is MSVC's
    assert _pyproject()["tool"]["cibuildwheel"]["windows"]["environment"]["CC"] == "cl"


def test_publish_checks_the_release_then_uploads_companions_before_the_base() -> None:
    publish = _workflow()["jobs"]["publish"]
    assert set(publish["needs"]) == {"sdists", "wheels"}
    assert publish["permissions"] == {"contents": "read", "id-token": "write"}
    steps = publish["steps"]
    check = next(i for i, s in enumerate(steps) if "release-check" in s.get("run", ""))
    assert 'python -m wheel_builder release-check dist --tag "$TAG" --stage upload' in steps[check]["run"]
    assert steps[check]["env"]["TAG"] == "${{ github.ref_name }}"
    uploads = [(i, s) for i, s in enumerate(steps) if s.get("uses", "").startswith("pypa/gh-action-pypi-publish@")]
    assert uploads and all(i > check for i, _ in uploads)
    assert [s["with"]["packages-dir"] for _, s in uploads] == [f"upload/{b}" for b, _ in published.UPLOAD_ORDER]
    assert not any("password" in (s.get("with") or {}) for s in steps)


def test_cibuildwheel_repairs_explicitly_and_runs_the_smoke_test() -> None:
    cibw = _pyproject()["tool"]["cibuildwheel"]
    assert "auditwheel repair" in cibw["linux"]["repair-wheel-command"]
    assert "delocate-wheel" in cibw["macos"]["repair-wheel-command"]
    # No extension module and only system DLLs: cibuildwheel's documented empty command, not delvewheel.
    assert cibw["windows"]["repair-wheel-command"] == ""
    # The functional probe needs a GCC-style compiler: Windows runs the smoke test only.
    assert cibw["windows"]["test-environment"] == {**cibw["test-environment"], "JEMALLOC_SYS_SMOKE_ONLY": "1"}
    assert cibw["test-command"] == "python {project}/tests/programs/wheel_smoke.py"
    assert (ROOT / "tests" / "programs" / "wheel_smoke.py").is_file()
    assert "graft tests" in (ROOT / "MANIFEST.in").read_text()  # the sdist carries the smoke test


def test_build_python_is_new_enough_for_the_builder() -> None:
    build = _pyproject()["tool"]["cibuildwheel"]["build"]
    assert build.startswith("cp3") and int(build[3:5]) >= 11  # jemalloc_build reads TOML with tomllib
