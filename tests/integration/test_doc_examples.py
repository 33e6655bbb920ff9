"""The README's and the docs' examples, run against the shipped wheels (issue 15).

Every block marked ``<!-- example: NAME -->`` runs here, as a reader would run it: in
a venv holding the base and profiling wheels of the session's wheelhouse (the one
``python -m wheel_builder`` made for the other tests; nothing else is built), with
that venv first on ``PATH``, in one folder shared by all examples in document order
(the README's profile is read again by the runner page). Each command must exit 0
and the example's distinctive lines (``tests/docs_examples.py``) must be in what it
printed. The venv's interpreter is CPython 3.12 or 3.13 when the machine has one,
so the profile examples show Python functions as documented.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Wheelhouse, shipped_wheel
from docs_examples import EXAMPLES, FRAMES, all_blocks, console_commands

pytestmark = [pytest.mark.build, pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the runner and the wheels are Linux's")]

ORDER = list(dict.fromkeys(b.name for b in all_blocks() if b.name))
"""Example names in document order: README first, then the pages."""

DONE: set[str] = set()
"""Examples already run in the shared folder this session."""


def _interpreter() -> tuple[str, str]:
    """(path, version) of a CPython 3.12/3.13 if the machine has one, else the running interpreter."""
    candidates = [shutil.which(f"python{v}") for v in reversed(FRAMES)]
    if shutil.which("pyenv"):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
        for v in reversed(FRAMES):
            candidates += sorted(map(str, Path(root).glob(f"versions/{v}.*/bin/python{v}")), reverse=True)
    for candidate in filter(None, candidates):
        proc = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True)
        if proc.returncode == 0:
            return candidate, proc.stdout.strip()
    return sys.executable, f"{sys.version_info[0]}.{sys.version_info[1]}"


def _venv(where: Path, python: str, *wheels: Path) -> Path:
    subprocess.run([python, "-m", "venv", str(where)], check=True, capture_output=True)
    if wheels:
        subprocess.run([str(where / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                        *map(str, wheels)], check=True, capture_output=True)
    return where


def _env(venv: Path) -> dict[str, str]:
    drop = ("PYTHONPATH", "LD_PRELOAD", "MALLOC_CONF", "_RJEM_MALLOC_CONF", "JEMALLOC_SYS_VARIANT", "PYTHONMALLOC",
            "PIP_FIND_LINKS", "PIP_INDEX_URL")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.fixture(scope="module")
def interpreter() -> tuple[str, str]:
    return _interpreter()


@pytest.fixture(scope="module")
def shared(wheelhouse: Wheelhouse, interpreter: tuple[str, str],
           tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(venv with the base and profiling wheels, the folder every example runs in)."""
    venv = _venv(tmp_path_factory.mktemp("docs-venv") / "venv", interpreter[0],
                 shipped_wheel(wheelhouse, "base"), shipped_wheel(wheelhouse, "profiling"))
    return venv, tmp_path_factory.mktemp("docs-examples")


def _run(name: str, venv: Path, cwd: Path) -> str:
    """Write the example's files, run its blocks in order; everything it printed."""
    printed = []
    env = _env(venv)
    for block in (b for b in all_blocks() if b.name == name):
        if block.file:
            (cwd / block.file).write_text(block.body + "\n", encoding="utf-8")
            continue
        if block.lang == "python":
            script = cwd / f"_{name}.py"
            script.write_text(block.body + "\n", encoding="utf-8")
            runs = [[str(venv / "bin" / "python"), str(script)]]
        else:
            runs = [["bash", "-c", command] for command in console_commands(block.body)]
        for argv in runs:
            proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
            assert proc.returncode == 0, f"{block.where}: {argv[-1]!r} exited {proc.returncode}:\n" \
                                         f"{proc.stdout}\n{proc.stderr}"
            printed.append(proc.stdout + proc.stderr)
    return "\n".join(printed)


@pytest.mark.parametrize("name", ORDER)
def test_documented_example(name: str, shared: tuple[Path, Path], interpreter: tuple[str, str],
                            wheelhouse: Wheelhouse, tmp_path: Path) -> None:
    example = EXAMPLES[name]
    missing = [tool for tool in example.tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: apt-get install build-essential binutils)")
    if example.python_frames and interpreter[1] not in FRAMES:
        pytest.skip(f"Python functions in profiles need CPython {' or '.join(FRAMES)}; the venv has {interpreter[1]}")
    if example.venv == "empty":
        venv = _venv(tmp_path / "venv", interpreter[0])
        cwd = tmp_path / "work"
        cwd.mkdir()
        (cwd / "wheelhouse").symlink_to(wheelhouse[0], target_is_directory=True)
    else:
        venv, cwd = shared
        for before in example.after:
            if before not in DONE:
                _run(before, venv, cwd)
                DONE.add(before)
    printed = _run(name, venv, cwd)
    DONE.add(name)
    for line in example.expect:
        assert line in printed, f"{name}: expected {line!r} in:\n{printed}"
