"""Shared fixtures: the pinned tarball, one build cache per test run, and built packages.

Builds are the expensive part of this suite (tens of seconds each), so every
test asks for a configuration through :func:`build` and identical
configurations are built once per run and reused (the builder's own cache,
keyed by its inputs, in ``build/test-cache`` of the checkout).

Builds use the toolchain the wheels are built with (:data:`RELEASE_TARGET`: zig
for manylinux on Linux x86-64), so what the tests exercise is what we ship and
shares its cache entries with the wheelhouse. A test that needs another
toolchain asks for ``toolchain="host"`` and says so in its name (``host_gcc``).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jemalloc_build import build as build_mod  # noqa: E402
from jemalloc_build import cache as cache_mod  # noqa: E402
from jemalloc_build import cross, manifest, source  # noqa: E402
from jemalloc_build import settings as settings_mod  # noqa: E402
from jemalloc_build.errors import BuildError  # noqa: E402
from jemalloc_build.setuptools_ext import install_into  # noqa: E402
from wheel_builder.pipeline import default_target_name  # noqa: E402

TARBALL_NAME = "jemalloc_5.3.1.orig.tar.gz"
DATA = ROOT / "tests" / "data"
"""Input files of the tests (heap profiles, source excerpts): data, not programs."""
PROGRAMS = ROOT / "tests" / "programs"
"""Child programs the tests run: real files, so ruff and mypy check them."""
CACHE_DIR = Path(os.environ.get("JEMALLOC_SYS_TEST_CACHE", ROOT / "build" / "test-cache"))
ZIG_CACHE = Path(os.environ.get("JEMALLOC_SYS_TEST_ZIG_CACHE") or cache_mod.default_cache_dir() / "zig")
"""zig's global cache for every zig build of the suite: the user cache folder's, which ``python -m
wheel_builder`` also uses. It holds what zig compiles once per target and zig version (libc, compiler-rt,
libunwind: over ten minutes for all the targets on two cores, musl's libc most of it) and has no say in
what a build produces, so a clean clone reuses it; the builder cache (``CACHE_DIR``) stays per checkout,
so every library is still built by the run. A machine's first run fills it."""
JEMALLOC_VERSION = manifest.load().version_string
"""The pinned jemalloc's version string, as a built library reports it (``5.3.1-0-g81034ce1f...``)."""
DEBIAN_JEMALLOC = Path("/usr/lib/x86_64-linux-gnu/libjemalloc.so.2")
"""Debian's libjemalloc2 (5.3.0), where installed: another jemalloc in the process, or an override."""
RELEASE_TARGET = default_target_name()
"""The target ``python -m wheel_builder`` builds by default here: what the suite's builds use."""


def find_tarball() -> Path | None:
    """The pinned tarball, found the builder's way ($JEMALLOC_SYS_SOURCE, offline copies, the cache, download)."""
    try:
        path, _ = source.locate_tarball(os.environ.get("JEMALLOC_SYS_SOURCE", ""), manifest.load(), CACHE_DIR)
    except BuildError as exc:
        print(f"conftest: no jemalloc tarball: {exc}", file=sys.stderr)
        return None
    return path


TARBALL = find_tarball()
needs_tarball = pytest.mark.skipif(TARBALL is None, reason=f"no {TARBALL_NAME}: set JEMALLOC_SYS_SOURCE to it")


def base_env(**extra: str) -> dict[str, str]:
    """Environment for builder calls: the pinned source and the shared cache, nothing inherited from JEMALLOC_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JEMALLOC_SYS_", "JEMALLOC_OVERRIDE"))}
    if TARBALL is not None:
        env["JEMALLOC_SYS_SOURCE"] = str(TARBALL)
    env["JEMALLOC_SYS_CACHE_DIR"] = str(CACHE_DIR)
    env["ZIG_GLOBAL_CACHE_DIR"] = str(ZIG_CACHE)
    env.update(extra)
    return env


def release_env(**extra: str) -> dict[str, str]:
    """:func:`base_env` plus the release toolchain (zig for manylinux here): builds match the wheels'."""
    env = base_env()
    if RELEASE_TARGET != "host":
        env.update(cross.environment(RELEASE_TARGET, CACHE_DIR / "cross-tools"))
    env.update(extra)
    return env


def toolchain_env(toolchain: str, **extra: str) -> dict[str, str]:
    """``release`` (what we ship), ``host`` (this machine's cc, for tests that say host_gcc) or a cross target."""
    if toolchain == "release":
        return release_env(**extra)
    if toolchain == "host":
        return base_env(**extra)
    return {**base_env(), **cross.environment(toolchain, CACHE_DIR / "cross-tools"), **extra}


def resolve_settings(env: dict[str, str]) -> settings_mod.BuildSettings:
    return build_mod.settings_for(env)


@pytest.fixture(scope="session")
def build() -> Callable[..., build_mod.BuildResult]:
    """``build(flavour="inprocess", toolchain="release", **env)`` -> BuildResult (``JEMALLOC_SYS_FEATURES="stats"``...)."""
    if TARBALL is None:
        pytest.skip(f"no {TARBALL_NAME}: set JEMALLOC_SYS_SOURCE to it")

    def run(flavour: str = "inprocess", toolchain: str = "release", **env: str) -> build_mod.BuildResult:
        full = toolchain_env(toolchain, **env)
        return build_mod.build_jemalloc(resolve_settings(full), environ=full, flavour=flavour,
                                        report=lambda line: None)

    return run


@pytest.fixture(scope="session")
def make_package(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``make_package(toolchain="release", **env)`` -> a folder to put on PYTHONPATH holding a built ``jemalloc_sys``.

    The Python sources are this checkout's; the native part is built for ``env``.
    Identical requests return the same folder.
    """
    if TARBALL is None:
        pytest.skip(f"no {TARBALL_NAME}: set JEMALLOC_SYS_SOURCE to it")
    made: dict[tuple[tuple[str, str], ...], Path] = {}

    def run(toolchain: str = "release", **env: str) -> Path:
        key = (("toolchain", toolchain), *sorted(env.items()))
        if key not in made:
            full = toolchain_env(toolchain, **env)
            results = build_mod.build_all(resolve_settings(full), environ=full, report=lambda line: None)
            site = tmp_path_factory.mktemp("pkg")
            shutil.copytree(ROOT / "jemalloc_sys", site / "jemalloc_sys",
                            ignore=shutil.ignore_patterns("__pycache__", "lib", "include", "bin", "_build_record.json"))
            install_into(site / "jemalloc_sys", results)
            made[key] = site
        return made[key]

    return run


@pytest.fixture(scope="session")
def default_package(make_package: Callable[..., Path]) -> Path:
    return make_package()


def need_tool(name: str) -> str:
    """The path of the program ``name``; the test skips, naming where it comes from, when it is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (ci/apt-packages.txt lists it)")
    return path


def run_checked(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
                timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; a non-zero exit is an AssertionError showing the command and the end of its output."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"$ {shlex.join(cmd)} -> exit {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def program(name: str) -> Path:
    """The child program ``tests/programs/<name>``; its docstring gives its arguments and what it prints."""
    path = PROGRAMS / name
    assert path.is_file(), f"no child program {path}"
    return path


def run_program(site: Path | None, name: str, *args: str, python: str | Path = sys.executable,
                env: dict[str, str] | None = None, cwd: Path | None = None, check: bool = True,
                timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``tests/programs/<name> ARGS`` with ``python``; ``site`` (a folder holding jemalloc_sys) goes first on PYTHONPATH.

    Run by path, a program has its own folder first on ``sys.path``, never the working
    folder: the checkout's own (unbuilt) jemalloc_sys cannot shadow the package under
    test. ``check``: a failing child is an AssertionError showing its output.
    """
    full_env = dict(os.environ if env is None else env)
    if site is not None:
        full_env["PYTHONPATH"] = os.pathsep.join([str(site), full_env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run([str(python), str(program(name)), *args], env=full_env, capture_output=True, text=True,
                          timeout=timeout, cwd=cwd or site or Path(tempfile.gettempdir()))
    if check and proc.returncode != 0:
        raise AssertionError(f"{name} failed ({proc.returncode}):\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def last_json(stdout: str) -> Any:
    """The JSON document on the last line of a child's output (what every child program prints last)."""
    return json.loads(stdout.strip().splitlines()[-1])


CLI = (sys.executable, "-m", "jemalloc_sys.cli")
"""The ``jemalloc-sys`` command of the package on PYTHONPATH, as this interpreter runs it."""


def run_cli(site: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``jemalloc-sys ARGS`` (``python -m jemalloc_sys.cli``) of the package in ``site``; ``env`` defaults to ours.

    cwd defaults to ``site``: ``-m`` puts the working folder first on sys.path, and the
    checkout's own package is unbuilt.
    """
    full = dict(os.environ if env is None else env)
    full["PYTHONPATH"] = str(site)
    return subprocess.run([*CLI, *args], env=full, capture_output=True, text=True, timeout=timeout, cwd=cwd or site)


def recipe_yaml(name: str) -> dict[str, Any]:
    """``recipe/<name>`` (the conda recipe's YAML files) as data; skips the test where pyyaml is missing."""
    yaml = pytest.importorskip("yaml", reason="pyyaml is in ci/requirements-test.txt")
    doc: dict[str, Any] = yaml.safe_load((ROOT / "recipe" / name).read_text(encoding="utf-8"))
    return doc


@pytest.fixture
def clean_env() -> Iterator[dict[str, str]]:
    yield base_env()


@pytest.fixture(scope="session")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tracked files of the checkout, as a new user would have them (no build folders, no caches)."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    dest = tmp_path_factory.mktemp("project")
    for name in files:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def make_venv(where: Path, *wheels: Path, python: str | Path = sys.executable, system_site: bool = False,
              env: dict[str, str] | None = None) -> Path:
    """A fresh venv of ``python`` at ``where``, with ``wheels`` installed from their folders (never from an index).

    ``system_site``: the venv also sees ``python``'s packages (setuptools, build) while
    keeping its own site-packages, for ``pip install --no-index --no-build-isolation``:
    nothing is downloaded. ``env`` is pip's environment (default: :func:`clean_run_env`).
    """
    cmd = [str(python), "-m", "venv", *(["--system-site-packages"] if system_site else []), str(where)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    venv_python = str(where / "bin" / "python")
    if system_site:
        # ensurepip's own old setuptools would shadow the system one (which has bdist_wheel).
        subprocess.run([venv_python, "-m", "pip", "uninstall", "-q", "-y", "setuptools"], check=False,
                       capture_output=True)
    if wheels:
        find = [arg for folder in sorted({str(w.parent) for w in wheels}) for arg in ("--find-links", folder)]
        cmd = [venv_python, "-m", "pip", "install", "-q", "--no-index", *find, *map(str, wheels)]
        proc = subprocess.run(cmd, env=clean_run_env() if env is None else env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, f"$ {' '.join(cmd)}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return where


def clean_run_env() -> dict[str, str]:
    """What a user's shell would have: no PYTHONPATH, no LD_LIBRARY_PATH, no jemalloc settings of ours."""
    drop = ("PYTHONPATH", "LD_LIBRARY_PATH", "LD_PRELOAD", "PYTHONHOME", "VIRTUAL_ENV")
    return {k: v for k, v in os.environ.items()
            if k not in drop and not k.startswith(("JEMALLOC_SYS_", "_RJEM_", "MALLOC_CONF"))}


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty venv that sees this interpreter's packages (for ``pip install --no-build-isolation``)."""
    return make_venv(tmp_path_factory.mktemp("venv") / "venv", system_site=True)


def find_interpreter(version: str) -> str | None:
    """``pythonX.Y`` as the machine offers it (on PATH, or installed by pyenv but not selected), resolved."""
    candidates = [found] if (found := shutil.which(f"python{version}")) else []
    if shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
        candidates += sorted(map(str, Path(root).glob(f"versions/{version}.*/bin/python{version}")), reverse=True)
    for candidate in candidates:
        proc = subprocess.run([candidate, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True)
        if proc.returncode == 0:
            return proc.stdout.strip()
    return None


SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")
"""Every Python ``requires-python`` promises (tests/unit/test_project.py fails if the two drift)."""


@pytest.fixture(scope="session")
def stats_package(make_package: Callable[..., Path]) -> Path:
    """A package folder (for PYTHONPATH) of the stats variant."""
    return make_package(JEMALLOC_SYS_BUILD_VARIANT="stats")


@pytest.fixture(scope="session")
def sdist(project_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base sdist, made ONCE per run by ``python -m build --sdist`` from the tracked files of the checkout."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out)],
                   cwd=project_copy, env=base_env(), check=True, capture_output=True, text=True, timeout=900)
    (path,) = out.glob("jemalloc_sys-*.tar.gz")
    return path


Wheelhouse = tuple[Path, dict[str, Any], str, str]
"""What the README's main command made: the folder, its build-report.json, its stdout and stderr."""


def run_wheel_builder(*args: str, timeout: float = 5400, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``python -m wheel_builder ARGS`` from the checkout, with the suite's source and no inherited settings."""
    env = base_env()
    env.pop("SOURCE_DATE_EPOCH", None)
    return subprocess.run([sys.executable, "-m", "wheel_builder", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def run_jemalloc_build(*args: str, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """``python -m jemalloc_build ARGS`` (the builder's own command line) in the checkout, with ``env`` only."""
    return subprocess.run([sys.executable, "-m", "jemalloc_build", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Wheelhouse:
    """Every variant's wheel and sdist, made ONCE per run by the README's main command (the shipped artifacts).

    The builder cache is the suite's, so the libraries are the ones every other test built.
    """
    if TARBALL is None:
        pytest.skip(f"no {TARBALL_NAME}: set JEMALLOC_SYS_SOURCE to it")
    if RELEASE_TARGET != "manylinux-x86_64":
        pytest.skip("the manylinux_2_17 x86_64 wheelhouse is built and installed natively on Linux x86-64 only")
    out = tmp_path_factory.mktemp("wheelhouse")
    proc = run_wheel_builder("--out", str(out), "--cache-dir", str(CACHE_DIR))
    assert proc.returncode == 0, f"wheel_builder failed:\n{proc.stdout}\n{proc.stderr[-5000:]}"
    report = json.loads((out / "build-report.json").read_text())
    return out, report, proc.stdout, proc.stderr


@pytest.fixture(scope="session")
def sdists(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every variant's sdist by name, made ONCE per run by ``python -m wheel_builder sdists`` (the release's first job)."""
    if TARBALL is None:
        pytest.skip(f"no {TARBALL_NAME}: set JEMALLOC_SYS_SOURCE to it")
    from jemalloc_build import project, variants

    out = tmp_path_factory.mktemp("sdists")
    proc = run_wheel_builder("sdists", "--out", str(out), "--cache-dir", str(CACHE_DIR), timeout=1800)
    assert proc.returncode == 0, f"wheel_builder sdists failed:\n{proc.stdout}\n{proc.stderr[-5000:]}"
    made = {v.name: out / f"{v.distribution.replace('-', '_')}-{project.version()}.tar.gz" for v in variants.VARIANTS}
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in made.values())
    return made


def shipped_wheel(wheelhouse: Wheelhouse, variant: str) -> Path:
    """The wheel of ``variant`` in the wheelhouse."""
    out, report, _, _ = wheelhouse
    entry = next(w for w in report["wheels"] if w["variant"] == variant)
    return out / entry["file"]
