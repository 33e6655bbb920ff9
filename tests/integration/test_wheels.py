"""The README's main command, ``python -m wheel_builder``, and the wheels it makes.

The wheelhouse is built ONCE per test run (session fixture; the builder's cache
in ``build/test-cache`` is reused across runs) by the real command: sdist, every
variant's manylinux_2_17 wheel from it (zig cc, glibc 2.17), auditwheel repair,
the builder's own verification. The tests then look at the result themselves:
the policy auditwheel reports, the exact file lists, the acceptance flow of the
extras in a fresh venv, the smoke test cibuildwheel runs, and a genuinely
separate rebuild that must be byte-identical. The argument and tool checks that
build nothing are in tests/unit/test_wheel_builder_main.py and test_tools.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CACHE_DIR, ROOT, Wheelhouse, make_venv, program, run_wheel_builder

from jemalloc_build import project, variants

pytestmark = [pytest.mark.build, pytest.mark.slow]

VERSION = project.version()

CHECKS = {"policy", "symbols", "features", "no build paths", "license", "sbom", "metadata", "twine check",
          "check-wheel-contents"}
FUNCTIONAL = {
    "base": {"background thread", "fork"},
    "stats": {"stats", "background thread", "fork"},
    "profiling": {"prof", "stats", "background thread", "fork"},
    "debug": {"prof", "stats", "background thread", "fork"},
}
"""The functional checks each variant's two libraries must pass (wheel_builder/functional.py)."""
CONFIG_OF = {"stats": "stats", "profiling": "prof", "debug": "debug"}
"""The jemalloc ``config.*`` mallctl each variant turns on."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wheel(report: dict[str, Any], out: Path, variant: str) -> Path:
    entry = next(w for w in report["wheels"] if w["variant"] == variant)
    return out / entry["file"]


def test_main_command_builds_every_variant_and_prints_the_table(wheelhouse: Wheelhouse) -> None:
    out, report, stdout, stderr = wheelhouse
    assert report["ok"] is True and report["target"] == "manylinux-x86_64"
    assert [w["variant"] for w in report["wheels"]] == [v.name for v in variants.VARIANTS]
    header = stdout.splitlines()[0].split()
    assert header == ["variant", "file", "size", "sha256", "build", "time"]
    for wheel in report["wheels"]:
        path = out / wheel["file"]
        assert _sha256(path) == wheel["sha256"]
        row = next(line for line in stdout.splitlines() if line.startswith(wheel["variant"] + " "))
        assert wheel["sha256"] in row and wheel["tag"] in row
        sdist = out / wheel["sdist"]["file"]
        assert sdist.is_file() and _sha256(sdist) == wheel["sdist"]["sha256"]
        assert sdist.name == f"{wheel['distribution'].replace('-', '_')}-{VERSION}.tar.gz"
    # the progress display: phases and compile units as they happen
    assert "sdist base: python -m build --sdist -C variant=base" in stderr
    assert "wheel profiling: inprocess library:" in stderr or "reusing" in stderr


@pytest.mark.parametrize("variant", [v.name for v in variants.VARIANTS])
def test_every_verification_passed(wheelhouse: Wheelhouse, variant: str) -> None:
    _, report, _, _ = wheelhouse
    entry = next(w for w in report["wheels"] if w["variant"] == variant)
    functional = {f"{check} ({flavour})" for check in FUNCTIONAL[variant] for flavour in ("inprocess", "preload")}
    assert {c["name"] for c in entry["checks"]} == CHECKS | functional
    failed = [c for c in entry["checks"] if not c["ok"]]
    assert not failed, failed


@pytest.mark.parametrize("variant", [v.name for v in variants.VARIANTS])
def test_auditwheel_agrees_on_manylinux_2_17(wheelhouse: Wheelhouse, variant: str) -> None:
    out, report, _, _ = wheelhouse
    wheel = _wheel(report, out, variant)
    assert "manylinux_2_17_x86_64" in wheel.name.split("-")[-1]
    proc = subprocess.run([sys.executable, "-m", "auditwheel", "show", "--json", str(wheel)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["overall_tag"] == "manylinux_2_17_x86_64"


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zf:
        return {n for n in zf.namelist() if not n.endswith("/")}  # auditwheel adds folder entries


def test_base_wheel_holds_exactly_the_checkout_python_sources_and_the_native_parts(
        wheelhouse: Wheelhouse) -> None:
    out, report, _, _ = wheelhouse
    names = _names(_wheel(report, out, "base"))
    python = {n for n in names if n.startswith("jemalloc_sys/") and n.endswith((".py", "py.typed"))}
    checkout = {f"jemalloc_sys/{p.relative_to(ROOT / 'jemalloc_sys').as_posix()}"
                for p in (ROOT / "jemalloc_sys").rglob("*") if p.suffix == ".py" or p.name == "py.typed"}
    checkout = {n for n in checkout if "__pycache__" not in n}
    assert python == checkout
    for native in ("lib/libjemalloc_sys.so.2", "lib/libjemalloc_sys_preload.so.2", "lib/libjemalloc_sys.so",
                   "include/jemalloc/jemalloc.h", "COPYING.jemalloc", "_build_record.json"):
        assert f"jemalloc_sys/{native}" in names, native
    info = f"jemalloc_sys-{VERSION}.dist-info"
    assert {n for n in names if n.startswith(info)} >= {f"{info}/{f}" for f in (
        "METADATA", "WHEEL", "RECORD", "licenses/LICENSE", "sboms/jemalloc.cdx.json")}
    assert not any("bin/jeprof" in n for n in names)  # jeprof ships with profiling builds only
    assert not any("pyframes.so" in n for n in names)  # so does the Python-frames hook library
    assert "jemalloc_sys_pyframes.pth" in names  # its start-up hook lives in the base (one per environment)


@pytest.mark.parametrize("variant", ["stats", "profiling", "debug"])
def test_companion_holds_the_base_native_payload_under_its_own_package(
        wheelhouse: Wheelhouse, variant: str) -> None:
    out, report, _, _ = wheelhouse
    base = _names(_wheel(report, out, "base"))
    names = _names(_wheel(report, out, variant))
    package = variants.get(variant).package
    native = {n.removeprefix("jemalloc_sys/") for n in base
              if n.startswith("jemalloc_sys/") and not n.endswith((".py", "py.typed"))}
    if variant in ("profiling", "debug"):
        native |= {"bin/jeprof", "bin/jeprof-inprocess", "lib/libjemalloc_sys_pyframes.so"}
    info = f"{package}-{VERSION}.dist-info"
    expected = {f"{package}/{n}" for n in native} | {f"{package}/__init__.py", f"{package}/py.typed"}
    assert {n for n in names if not n.startswith(info)} == expected
    assert {n for n in names if n.startswith(info)} == {f"{info}/{f}" for f in (
        "METADATA", "WHEEL", "RECORD", "top_level.txt", "licenses/LICENSE", "sboms/jemalloc.cdx.json")}


# --- acceptance: the extras in a fresh virtual environment ---

class _Env:
    def __init__(self, root: Path, wheelhouse: Path) -> None:
        make_venv(root)
        self.python = str(root / "bin" / "python")
        self.root = root
        self.find = ["--no-index", "--find-links", str(wheelhouse)]

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        full = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JEMALLOC_SYS_VARIANT")}
        full.update(env, PIP_DISABLE_PIP_VERSION_CHECK="1")
        proc = subprocess.run([self.python, *args], cwd=self.root, env=full, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, f"{args}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    def state(self, **env: str) -> tuple[str, dict[str, bool]]:
        facts = json.loads(self.run(str(program("variant_report.py")), **env).stdout)
        return facts["variant"], facts["config"]

    def pip_check(self) -> None:
        assert "No broken requirements found" in self.run("-m", "pip", "check").stdout


@pytest.fixture(scope="module")
def fresh_env(wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Env]:
    out = wheelhouse[0]
    env = _Env(tmp_path_factory.mktemp("venv") / "env", out)
    env.run("-m", "pip", "install", "-q", *env.find, "jemalloc-sys")
    yield env


def test_base_alone(fresh_env: _Env) -> None:
    assert fresh_env.state() == ("base", {"stats": False, "prof": False, "debug": False})
    fresh_env.pip_check()


@pytest.mark.parametrize("variant", ["stats", "profiling", "debug"])
def test_extra_activates_its_variant_and_removing_it_returns_to_base(fresh_env: _Env, variant: str) -> None:
    fresh_env.run("-m", "pip", "install", "-q", *fresh_env.find, f"jemalloc-sys[{variant}]")
    name, config = fresh_env.state()
    assert name == variant
    assert config[CONFIG_OF[variant]] is True
    assert config["stats"] is True  # every variant above base has statistics
    fresh_env.pip_check()
    fresh_env.run("-m", "pip", "uninstall", "-y", "-q", variants.get(variant).distribution)
    assert fresh_env.state() == ("base", {"stats": False, "prof": False, "debug": False})
    fresh_env.pip_check()


def test_environment_selects_among_installed_variants_and_smoke_test_passes(fresh_env: _Env) -> None:
    fresh_env.run("-m", "pip", "install", "-q", *fresh_env.find, "jemalloc-sys[stats,profiling]")
    try:
        assert fresh_env.state()[0] == "profiling"
        assert fresh_env.state(JEMALLOC_SYS_VARIANT="stats") == ("stats", {"stats": True, "prof": False,
                                                                            "debug": False})
        smoke = fresh_env.run(str(program("wheel_smoke.py"))).stdout
        for package in ("jemalloc_sys", "jemalloc_sys_stats", "jemalloc_sys_profiling"):
            assert f"{package}: libjemalloc_sys.so.2 loads, allocates" in smoke
            assert f"ok   {package} fork (preload)" in smoke
        assert "ok   jemalloc_sys_profiling prof (preload): our report: probe_site 16.0 MB" in smoke
        assert "FAIL" not in smoke
        assert "active variant profiling" in smoke
    finally:
        fresh_env.run("-m", "pip", "uninstall", "-y", "-q", "jemalloc-sys-stats", "jemalloc-sys-profiling")


# --- reproducibility and errors ---

def test_a_separate_build_from_the_same_sdist_is_byte_identical(
        wheelhouse: Wheelhouse, tmp_path: Path) -> None:
    """A genuinely separate build: a fresh, empty builder cache (new configure + make) and another work folder."""
    out, report, _, _ = wheelhouse
    again = tmp_path / "again"
    proc = run_wheel_builder("--variants", "base", "--from-sdists", str(out), "--out", str(again),
                        "--cache-dir", str(tmp_path / "fresh-cache"), "--no-install-check")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    first = _wheel(report, out, "base")
    second = again / first.name
    fresh = tmp_path / "fresh-cache" / "builds"
    assert len(list(fresh.glob("inprocess-*"))) == 1  # it did compile, into the empty cache, not reuse
    assert _sha256(second) == _sha256(first)


def test_tool_versions_are_checked_not_just_presence(tmp_path: Path) -> None:
    """A tool environment whose setuptools is too old is incomplete (issue 11: 65.5 passed a presence check)."""
    from wheel_builder import tools

    env = tools.ToolEnv(root=tmp_path / "env")
    make_venv(env.root)
    subprocess.run([str(env.python), "-m", "pip", "install", "-q", "setuptools==65.5.0", "packaging"], check=True,
                   capture_output=True)
    found = tools.problems(env)
    assert "setuptools 65.5.0 does not satisfy >=77" in found
    assert "ziglang missing" in found


def test_a_profiling_library_that_cannot_backtrace_fails_the_main_command(tmp_path: Path) -> None:
    """Issue 10: force jemalloc's frame-pointer-intrinsics fallback (zig, code without frame pointers): the
    functional check must fail the run with one line naming the variant and the check."""
    if not sys.platform.startswith("linux") or os.uname().machine != "x86_64":
        pytest.skip("the fallback's crash is shown with the manylinux x86_64 zig toolchain")
    proc = run_wheel_builder("--variants", "profiling", "-C", "prof-backtrace=gcc", "--out", str(tmp_path / "wh"),
                        "--cache-dir", str(CACHE_DIR), "--no-install-check")
    assert proc.returncode == 1, proc.stdout + proc.stderr[-3000:]
    failed = [line for line in proc.stdout.splitlines() if line.startswith("FAIL ")]
    assert failed and all(line.split()[1] == "profiling" for line in failed), proc.stdout
    assert any(line.split()[2] == "prof" and "the probe died" in line for line in failed), proc.stdout
    assert "FAILED: 1 wheels" in proc.stdout
