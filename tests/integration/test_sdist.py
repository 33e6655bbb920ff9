"""The sdist carries the verified source and a generated configure: it installs with no network and no autoconf."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import (
    JEMALLOC_VERSION,
    SUPPORTED_PYTHONS,
    TARBALL,
    base_env,
    find_interpreter,
    last_json,
    make_venv,
    needs_tarball,
    run_program,
)

pytestmark = [pytest.mark.build, pytest.mark.slow, needs_tarball]


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
    facts = last_json(run_program(None, "load_report.py", python=python, cwd=tmp_path, env=env).stdout)
    assert Path(facts["package"]).is_relative_to(facts["prefix"]), facts["package"]
    assert facts["version"] == JEMALLOC_VERSION
    assert facts["library"].startswith(str(fresh_venv))


@pytest.mark.parametrize("version", SUPPORTED_PYTHONS)
def test_the_sdist_builds_and_loads_on_every_supported_python(sdist: Path, tmp_path: Path, version: str) -> None:
    """Issue 11: a platform without a wheel gets the sdist, so it must build with pip's isolated build on each."""
    python = find_interpreter(version)
    if python is None:
        pytest.skip(f"no python{version} on this machine (pyenv install {version} adds it)")
    venv_python = str(make_venv(tmp_path / "venv", python=python) / "bin" / "python")
    env = {k: v for k, v in base_env().items() if k != "JEMALLOC_SYS_SOURCE"}
    proc = subprocess.run([venv_python, "-m", "pip", "install", "-q", str(sdist)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    facts = last_json(run_program(None, "load_report.py", python=venv_python, cwd=tmp_path, env=env).stdout)
    assert facts["python"] == [int(part) for part in version.split(".")] and facts["version"] == JEMALLOC_VERSION
