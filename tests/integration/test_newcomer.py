"""A newcomer's first run of the README's main command: the fresh-machine failures of issue 11, caught here.

The machine as a new user has it: a clean copy of the tracked files, a venv made
by the interpreter's own ``venv`` (setuptools 65.5 on pyenv's 3.11, no
``setuptools.command.bdist_wheel``), a PATH with neither zig nor autoconf, not
root, an empty home (no tool environment, no builder cache). ``python -m
wheel_builder --variants base`` must succeed with no manual step: it makes its
own tool environment (zig, cmeel-autoconf, setuptools >= 77...) from PyPI.
Only zig's global cache (compiled libc stubs, a speed cache with no say in the
output) is seeded from the suite's, to keep CI within its budget.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ZIG_CACHE

pytestmark = [pytest.mark.build, pytest.mark.slow]

NOBODY = 65534
HIDDEN = ("autoconf", "autoheader", "autom4te", "autoreconf", "autoscan", "autoupdate", "ifnames", "zig")
"""Programs a fresh machine does not have (Debian's autoconf is installed for other tests)."""


def _path_without_tools(where: Path) -> str:
    """A PATH folder with every program of /usr/local/bin and /usr/bin except autoconf's and zig."""
    where.mkdir()
    for folder in (Path("/usr/local/bin"), Path("/usr/bin")):
        for program in folder.iterdir():
            if program.name.startswith(HIDDEN) or (where / program.name).exists():
                continue
            (where / program.name).symlink_to(program)
    return str(where)


def _as_newcomer(uid: int) -> list[str]:
    """Run as an unprivileged user when the suite runs as root (CI does)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop root for this test")
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


def _newcomer_python(user: list[str], where: Path) -> str:
    """An interpreter the unprivileged user can make a venv with: the system's, else ours.

    Ours may sit in root's home, which the user cannot enter; Debian's own Python 3 (with its
    ensurepip's setuptools 65.5) is the interpreter a new user of a fresh machine has anyway.
    """
    for n, python in enumerate(("/usr/bin/python3", sys.executable)):
        trial = where / f"trial-venv-{n}"
        made = subprocess.run([*user, python, "-m", "venv", "--without-pip", str(trial)], capture_output=True)
        if made.returncode == 0 and subprocess.run([*user, str(trial / "bin" / "python"), "-c", "pass"],
                                                   capture_output=True).returncode == 0:
            return python
    pytest.skip(f"no interpreter the unprivileged user can make a venv with ({sys.executable} is in a folder"
                " closed to it, and /usr/bin/python3 has no venv)")


@pytest.fixture
def newcomer_dir() -> Iterator[Path]:
    """A folder the unprivileged user owns (pytest's own tmp_path is closed to other users)."""
    where = Path(tempfile.mkdtemp(prefix="jemalloc-sys-newcomer-"))
    try:
        yield where
    finally:
        shutil.rmtree(where, ignore_errors=True)


def test_the_main_command_works_on_a_fresh_machine(project_copy: Path, newcomer_dir: Path) -> None:
    tmp_path = newcomer_dir
    home, checkout = tmp_path / "home", tmp_path / "checkout"
    home.mkdir()
    shutil.copytree(project_copy, checkout, symlinks=True)
    zig_cache = ZIG_CACHE
    if zig_cache.is_dir():
        shutil.copytree(zig_cache, home / ".cache" / "jemalloc-sys" / "zig", symlinks=True)
    bin_dir = _path_without_tools(tmp_path / "bin")
    if os.geteuid() == 0:
        for path in (home, checkout, tmp_path):
            os.chown(path, NOBODY, NOBODY)
        for root, dirs, files in os.walk(tmp_path):
            for name in dirs + files:
                os.lchown(os.path.join(root, name), NOBODY, NOBODY)
    env = {"HOME": str(home), "PATH": bin_dir, "LANG": "C.UTF-8", "TMPDIR": str(tmp_path)}
    env.update({k: v for k, v in os.environ.items() if k.startswith(("PIP_", "http", "HTTP", "no_proxy"))})
    user = _as_newcomer(NOBODY)
    venv_dir = tmp_path / "venv"
    subprocess.run([*user, _newcomer_python(user, tmp_path), "-m", "venv", str(venv_dir)], env=env, check=True, capture_output=True,
                   cwd=tmp_path)
    python = str(venv_dir / "bin" / "python")
    old = subprocess.run([python, "-c", "import setuptools; print(setuptools.__version__)"], env=env,
                         capture_output=True, text=True, check=True).stdout.strip()
    assert int(old.split(".")[0]) < 70, f"the venv should start with an old setuptools, has {old}"
    assert shutil.which("autoconf", path=bin_dir) is None and shutil.which("zig", path=bin_dir) is None
    proc = subprocess.run([*user, python, "-m", "wheel_builder", "--variants", "base",
                           "--cache-dir", str(home / ".cache" / "jemalloc-sys")],
                          cwd=checkout, env=env, capture_output=True, text=True, timeout=3000)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "OK: 1 wheels and sdists in wheelhouse" in proc.stdout
    assert sorted(p.name.split("-")[0] for p in (checkout / "wheelhouse").glob("jemalloc_sys-*")) == [
        "jemalloc_sys", "jemalloc_sys"]  # the wheel and the sdist
    assert "tools: creating" in proc.stderr  # its own tool environment...
    after = subprocess.run([python, "-c", "import setuptools; print(setuptools.__version__)"], env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert after == old  # ...and the user's interpreter untouched
