"""Shared fixtures: the pinned tarball, one build cache per test run, and built packages.

Builds are the expensive part of this suite (tens of seconds each), so every
test asks for a configuration through :func:`build` and identical
configurations are built once per run and reused (the builder's own cache,
keyed by its inputs, in ``build/test-cache`` of the checkout).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jemalloc_build import build as build_mod  # noqa: E402
from jemalloc_build import settings as settings_mod  # noqa: E402
from jemalloc_build.setuptools_ext import build_all, install_into  # noqa: E402

TARBALL_NAME = "jemalloc_5.3.1.orig.tar.gz"


def find_tarball() -> Path | None:
    """The pinned tarball: $JEMALLOC_SYS_SOURCE, else ../shared/jemalloc/ beside the checkout."""
    explicit = os.environ.get("JEMALLOC_SYS_SOURCE")
    candidates = [Path(explicit)] if explicit else []
    candidates += [ROOT.parent / "shared" / "jemalloc" / TARBALL_NAME, ROOT / "vendor" / "jemalloc" / TARBALL_NAME]
    return next((p for p in candidates if p.is_file()), None)


TARBALL = find_tarball()
CACHE_DIR = Path(os.environ.get("JEMALLOC_SYS_TEST_CACHE", ROOT / "build" / "test-cache"))
needs_tarball = pytest.mark.skipif(TARBALL is None, reason=f"no {TARBALL_NAME}: set JEMALLOC_SYS_SOURCE to it")


def base_env(**extra: str) -> dict[str, str]:
    """Environment for builder calls: the pinned source and the shared cache, nothing inherited from JEMALLOC_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JEMALLOC_SYS_", "JEMALLOC_OVERRIDE"))}
    if TARBALL is not None:
        env["JEMALLOC_SYS_SOURCE"] = str(TARBALL)
    env["JEMALLOC_SYS_CACHE_DIR"] = str(CACHE_DIR)
    env.update(extra)
    return env


def resolve_settings(env: dict[str, str]) -> settings_mod.BuildSettings:
    return settings_mod.resolve(environ=env)


@pytest.fixture(scope="session")
def build() -> Callable[..., build_mod.BuildResult]:
    """``build(flavour="inprocess", **env)`` -> BuildResult, e.g. ``build(JEMALLOC_SYS_FEATURES="stats")``."""
    if TARBALL is None:
        pytest.skip(f"no {TARBALL_NAME}: set JEMALLOC_SYS_SOURCE to it")

    def run(flavour: str = "inprocess", **env: str) -> build_mod.BuildResult:
        settings = resolve_settings(base_env(**env))
        return build_mod.build_jemalloc(settings, flavour=flavour, report=lambda line: None)

    return run


@pytest.fixture(scope="session")
def make_package(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``make_package(**env)`` -> a folder to put on PYTHONPATH holding a built ``jemalloc_sys``.

    The Python sources are this checkout's; the native part is built for ``env``.
    Identical requests return the same folder.
    """
    if TARBALL is None:
        pytest.skip(f"no {TARBALL_NAME}: set JEMALLOC_SYS_SOURCE to it")
    made: dict[tuple[tuple[str, str], ...], Path] = {}

    def run(**env: str) -> Path:
        key = tuple(sorted(env.items()))
        if key not in made:
            settings = resolve_settings(base_env(**env))
            results = build_all(settings)
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


def run_python(site: Path | None, code: str, *, env: dict[str, str] | None = None,
               check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that imports jemalloc_sys from ``site``."""
    full_env = dict(os.environ if env is None else env)
    if site is not None:
        full_env["PYTHONPATH"] = os.pathsep.join([str(site), full_env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    # cwd matters: `python -c` puts the current folder first on sys.path, and the checkout's
    # own (unbuilt) jemalloc_sys must not shadow the package under test.
    proc = subprocess.run([sys.executable, "-c", code], env=full_env, capture_output=True, text=True,
                          timeout=timeout, cwd=site or Path(tempfile.gettempdir()))
    if check and proc.returncode != 0:
        raise AssertionError(f"child failed ({proc.returncode}):\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


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


def make_venv(where: Path) -> Path:
    """A fresh venv that sees this interpreter's packages (setuptools, build) but has its own site-packages.

    Used with ``pip install --no-index --no-build-isolation``: nothing is downloaded.
    """
    import venv

    venv.create(where, with_pip=True, system_site_packages=True)
    # ensurepip's own old setuptools would shadow the system one (which has bdist_wheel).
    subprocess.run([str(where / "bin" / "python"), "-m", "pip", "uninstall", "-q", "-y", "setuptools"],
                   check=False, capture_output=True)
    return where


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("venv"))
