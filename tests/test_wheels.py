"""The README's main command, ``python -m wheel_builder``, and the wheels it makes.

The wheelhouse is built ONCE per test run (session fixture; the builder's cache
in ``build/test-cache`` is reused across runs) by the real command: sdist, every
variant's manylinux_2_17 wheel from it (zig cc, glibc 2.17), auditwheel repair,
the builder's own verification. The tests then look at the result themselves:
the policy auditwheel reports, the exact file lists, the acceptance flow of the
extras in a fresh venv, the smoke test cibuildwheel runs, and a genuinely
separate rebuild that must be byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CACHE_DIR, ROOT, TARBALL, TARBALL_NAME, base_env

from jemalloc_build import variants

pytestmark = [pytest.mark.build, pytest.mark.slow]

CHECKS = {"policy", "symbols", "features", "no build paths", "license", "sbom", "metadata", "twine check",
          "check-wheel-contents"}
CONFIG_OF = {"stats": "stats", "profiling": "prof", "debug": "debug"}
"""The jemalloc ``config.*`` mallctl each variant turns on."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run_builder(*args: str, timeout: float = 5400) -> subprocess.CompletedProcess[str]:
    env = base_env()
    env.pop("SOURCE_DATE_EPOCH", None)
    return subprocess.run([sys.executable, "-m", "wheel_builder", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str, str]:
    if TARBALL is None:
        pytest.skip(f"no {TARBALL_NAME}: set JEMALLOC_SYS_SOURCE to it")
    if not sys.platform.startswith("linux") or os.uname().machine != "x86_64":
        pytest.skip("the manylinux_2_17 x86_64 wheelhouse is built and installed natively on Linux x86-64 only")
    out = tmp_path_factory.mktemp("wheelhouse")
    proc = _run_builder("--out", str(out), "--cache-dir", str(CACHE_DIR))
    assert proc.returncode == 0, f"wheel_builder failed:\n{proc.stdout}\n{proc.stderr[-5000:]}"
    report = json.loads((out / "build-report.json").read_text())
    return out, report, proc.stdout, proc.stderr


def _wheel(report: dict[str, Any], out: Path, variant: str) -> Path:
    entry = next(w for w in report["wheels"] if w["variant"] == variant)
    return out / entry["file"]


def test_main_command_builds_every_variant_and_prints_the_table(wheelhouse: tuple[Path, dict[str, Any], str, str]) -> None:
    out, report, stdout, stderr = wheelhouse
    assert report["ok"] is True and report["target"] == "manylinux-x86_64"
    assert [w["variant"] for w in report["wheels"]] == [v.name for v in variants.VARIANTS]
    header = stdout.splitlines()[0].split()
    assert header == ["variant", "tag", "size", "sha256", "build", "time"]
    for wheel in report["wheels"]:
        path = out / wheel["file"]
        assert _sha256(path) == wheel["sha256"]
        row = next(line for line in stdout.splitlines() if line.startswith(wheel["variant"] + " "))
        assert wheel["sha256"] in row and wheel["tag"] in row
    sdist = out / report["sdist"]["file"]
    assert sdist.is_file() and _sha256(sdist) == report["sdist"]["sha256"]
    # the progress display: phases and compile units as they happen
    assert "sdist: python -m build --sdist" in stderr
    assert "wheel profiling: inprocess library:" in stderr or "reusing" in stderr


@pytest.mark.parametrize("variant", [v.name for v in variants.VARIANTS])
def test_every_verification_passed(wheelhouse: tuple[Path, dict[str, Any], str, str], variant: str) -> None:
    _, report, _, _ = wheelhouse
    entry = next(w for w in report["wheels"] if w["variant"] == variant)
    assert {c["name"] for c in entry["checks"]} == CHECKS
    failed = [c for c in entry["checks"] if not c["ok"]]
    assert not failed, failed


@pytest.mark.parametrize("variant", [v.name for v in variants.VARIANTS])
def test_auditwheel_agrees_on_manylinux_2_17(wheelhouse: tuple[Path, dict[str, Any], str, str], variant: str) -> None:
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
        wheelhouse: tuple[Path, dict[str, Any], str, str]) -> None:
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
    info = "jemalloc_sys-5.3.1.0.dist-info"
    assert {n for n in names if n.startswith(info)} >= {f"{info}/{f}" for f in (
        "METADATA", "WHEEL", "RECORD", "licenses/LICENSE", "sboms/jemalloc.cdx.json")}
    assert not any("bin/jeprof" in n for n in names)  # jeprof ships with profiling builds only


@pytest.mark.parametrize("variant", ["stats", "profiling", "debug"])
def test_companion_holds_the_base_native_payload_under_its_own_package(
        wheelhouse: tuple[Path, dict[str, Any], str, str], variant: str) -> None:
    out, report, _, _ = wheelhouse
    base = _names(_wheel(report, out, "base"))
    names = _names(_wheel(report, out, variant))
    package = variants.get(variant).package
    native = {n.removeprefix("jemalloc_sys/") for n in base
              if n.startswith("jemalloc_sys/") and not n.endswith((".py", "py.typed"))}
    if variant in ("profiling", "debug"):
        native.add("bin/jeprof")
    info = f"{package}-5.3.1.0.dist-info"
    expected = {f"{package}/{n}" for n in native} | {f"{package}/__init__.py", f"{package}/py.typed"}
    assert {n for n in names if not n.startswith(info)} == expected
    assert {n for n in names if n.startswith(info)} == {f"{info}/{f}" for f in (
        "METADATA", "WHEEL", "RECORD", "top_level.txt", "licenses/LICENSE", "sboms/jemalloc.cdx.json")}


# --- acceptance: the extras in a fresh virtual environment ---

class _Env:
    def __init__(self, root: Path, wheelhouse: Path) -> None:
        venv.EnvBuilder(with_pip=True).create(root)
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
        code = ("import json, jemalloc_sys; from jemalloc_sys import ctl; a = ctl.default();"
                "print(json.dumps([jemalloc_sys.variant(),"
                " {n: a.read('config.' + n, 'bool') for n in ('stats', 'prof', 'debug')}]))")
        name, config = json.loads(self.run("-c", code, **env).stdout)
        return name, config

    def pip_check(self) -> None:
        assert "No broken requirements found" in self.run("-m", "pip", "check").stdout


@pytest.fixture(scope="module")
def fresh_env(wheelhouse: tuple[Path, dict[str, Any], str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Env]:
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
        smoke = fresh_env.run(str(ROOT / "tests" / "wheel_smoke.py")).stdout
        for package in ("jemalloc_sys", "jemalloc_sys_stats", "jemalloc_sys_profiling"):
            assert f"{package}: libjemalloc_sys.so.2 loads, allocates" in smoke
        assert "active variant profiling" in smoke
    finally:
        fresh_env.run("-m", "pip", "uninstall", "-y", "-q", "jemalloc-sys-stats", "jemalloc-sys-profiling")


# --- reproducibility and errors ---

def test_a_separate_build_from_the_same_sdist_is_byte_identical(
        wheelhouse: tuple[Path, dict[str, Any], str, str], tmp_path: Path) -> None:
    """A genuinely separate build: a fresh, empty builder cache (new configure + make) and another work folder."""
    out, report, _, _ = wheelhouse
    sdist = out / report["sdist"]["file"]
    again = tmp_path / "again"
    proc = _run_builder("--variants", "base", "--sdist", str(sdist), "--out", str(again),
                        "--cache-dir", str(tmp_path / "fresh-cache"), "--no-install-check")
    assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
    first = _wheel(report, out, "base")
    second = again / first.name
    assert "compiling" in proc.stderr  # it did compile, not reuse
    assert _sha256(second) == _sha256(first)


def test_unknown_variant_is_refused_in_one_line() -> None:
    proc = _run_builder("--variants", "base,fastest", timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: --variants='fastest' is not a variant; accepted: base, stats, profiling,"
                                   " debug")


def test_a_missing_tool_is_named_with_its_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from wheel_builder import tools

    fake = tools.Tool(distribution="jemalloc-sys-no-such-tool", requirement="jemalloc-sys-no-such-tool>=1", why="test")
    monkeypatch.setattr(tools, "TOOLS", (*tools.TOOLS, fake))
    with pytest.raises(tools.MissingToolError) as info:
        tools.ensure(linux=True, zig=True, install=False)
    text = str(info.value)
    assert "\n" not in text
    assert "-m pip install 'jemalloc-sys-no-such-tool>=1'" in text and "jemalloc-sys-no-such-tool" in text.split(";")[0]
