"""The sdist carries the verified source and a generated configure: it installs with no network and no autoconf."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from conftest import TARBALL, base_env, needs_tarball

pytestmark = [pytest.mark.build, pytest.mark.slow, needs_tarball]


@pytest.fixture(scope="module")
def sdist(project_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(out)],
                   cwd=project_copy, env=base_env(), check=True, capture_output=True, text=True, timeout=900)
    (path,) = out.glob("jemalloc_sys-*.tar.gz")
    return path


def test_sdist_carries_source_configure_and_builder(sdist: Path) -> None:
    assert TARBALL is not None
    with tarfile.open(sdist) as archive:
        names = {Path(*Path(n).parts[1:]).as_posix() for n in archive.getnames()}
    assert f"vendor/jemalloc/{TARBALL.name}" in names
    assert "vendor/jemalloc/configure" in names
    assert "vendor/jemalloc/configure.json" in names
    assert "vendor/jemalloc/manifest.toml" in names
    assert "jemalloc_build/build.py" in names and "_backend/jemalloc_sys_backend.py" in names
    assert not any(n.startswith("jemalloc_sys/lib/") for n in names)


def test_install_from_sdist_offline_without_autoconf(sdist: Path, fresh_venv: Path, tmp_path: Path) -> None:
    # No JEMALLOC_SYS_SOURCE, an empty cache, downloads pointed at a closed port, and an autoconf that fails loudly:
    # the only way to succeed is the source and configure inside the sdist.
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    autoconf = fake_bin / "autoconf"
    autoconf.write_text("#!/bin/sh\necho 'autoconf must not run for an sdist build' >&2\nexit 99\n")
    autoconf.chmod(0o755)
    env = {k: v for k, v in base_env().items() if k != "JEMALLOC_SYS_SOURCE"}
    env.update({
        "JEMALLOC_SYS_CACHE_DIR": str(tmp_path / "empty-cache"),
        "PATH": f"{fake_bin}{os.pathsep}{env['PATH']}",
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
    })
    python = str(fresh_venv / "bin" / "python")
    proc = subprocess.run([python, "-m", "pip", "install", "--no-index", "--no-build-isolation", str(sdist)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    code = ("import jemalloc_sys as j, pathlib, sys\n"
            "h = j.load()\n"
            "assert pathlib.Path(j.__file__).is_relative_to(sys.prefix), j.__file__\n"
            "print(j.jemalloc_version, j.library_path())")
    check = subprocess.run([python, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert check.returncode == 0, check.stderr
    version, library = check.stdout.split()
    assert version.startswith("5.3.1-0-g81034ce1f")
    assert library.startswith(str(fresh_venv))


SUPPORTED = ("3.10", "3.11", "3.12", "3.13")
"""Every Python ``requires-python`` promises (a test below fails if the two drift)."""


def _interpreter(version: str) -> str | None:
    """``pythonX.Y`` as the machine offers it (on PATH, or installed by pyenv but not selected), resolved."""
    import shutil

    candidates = [found] if (found := shutil.which(f"python{version}")) else []
    if shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
        candidates += sorted(map(str, Path(root).glob(f"versions/{version}.*/bin/python{version}")), reverse=True)
    for candidate in candidates:
        proc = subprocess.run([candidate, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True)
        if proc.returncode == 0:
            return proc.stdout.strip()
    return None


def test_supported_versions_are_what_requires_python_says() -> None:
    from jemalloc_build import project

    assert project.pyproject()["project"]["requires-python"] == f">={SUPPORTED[0]}"
    classifiers = project.pyproject()["project"]["classifiers"]
    assert {c.rsplit(" ", 1)[-1] for c in classifiers if c.startswith("Programming Language :: Python :: 3.")} == set(
        SUPPORTED)


@pytest.mark.parametrize("version", SUPPORTED)
def test_the_sdist_builds_and_loads_on_every_supported_python(sdist: Path, tmp_path: Path, version: str) -> None:
    """Issue 11: a platform without a wheel gets the sdist, so it must build with pip's isolated build on each."""
    python = _interpreter(version)
    if python is None:
        pytest.skip(f"no python{version} on this machine (pyenv install {version} adds it)")
    env_dir = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(env_dir)], check=True, capture_output=True, timeout=300)
    venv_python = str(env_dir / "bin" / "python")
    env = {k: v for k, v in base_env().items() if k != "JEMALLOC_SYS_SOURCE"}
    proc = subprocess.run([venv_python, "-m", "pip", "install", "-q", str(sdist)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    code = "import sys, jemalloc_sys as j; j.load(); print(sys.version_info[:2], j.jemalloc_version)"
    check = subprocess.run([venv_python, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith(f"({version.replace('.', ', ')})") and "5.3.1-0-g81034ce1f" in check.stdout
