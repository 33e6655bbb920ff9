"""No jemalloc source, tarball or generated file is tracked by git."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import ROOT, TARBALL


def tracked_files() -> list[str]:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (an sdist): nothing is tracked")
    return subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()


def test_no_archives_or_configure_are_tracked() -> None:
    for name in tracked_files():
        assert not name.endswith((".tar.gz", ".tar.bz2", ".tar.xz", ".tgz")), name
        assert Path(name).name not in ("configure", "configure.ac", "jemalloc.h", "jemalloc_internal_defs.h.in"), name


def test_no_tracked_file_is_a_file_of_the_jemalloc_tarball() -> None:
    if TARBALL is None:
        pytest.skip("no pinned tarball here to compare against (set JEMALLOC_SYS_SOURCE)")
    with tarfile.open(TARBALL) as archive:
        upstream = {Path(m.name).name for m in archive.getmembers() if m.isfile() and m.size > 200}
        upstream -= {"README", "README.md", "LICENSE", "COPYING", "__init__.py", "Makefile", "setup.py", ".gitignore"}
    clashes = [name for name in tracked_files() if Path(name).name in upstream]
    assert clashes == []
