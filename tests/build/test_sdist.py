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
