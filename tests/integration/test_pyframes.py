"""Heap profiles that name Python functions, on the shipped profiling wheel (issue 17).

The base and profiling wheels of the wheelhouse (the README's main command) are
installed into a fresh venv of each CPython the machine has; the profiled program
runs under ``jemalloc-sys run --profile`` (which sets ``JEMALLOC_SYS_PYFRAMES=1`` and
``PYTHONMALLOC=malloc``; the wheel's ``.pth`` file starts the hook) and dumps while its
data is alive. CPython 3.12 and 3.13 get Python frames; 3.10 and 3.11 native frames
only, with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from conftest import Wheelhouse, find_interpreter, make_venv, program, run_program, shipped_wheel

pytestmark = [pytest.mark.build, pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Python frames are Linux-only")]


FILL = program("fill.py")
WITH_FRAMES = ("3.12", "3.13")


@pytest.fixture(scope="module")
def venvs(wheelhouse: Wheelhouse, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """version -> a venv holding the shipped base and profiling wheels."""
    wheels = [shipped_wheel(wheelhouse, "base"), shipped_wheel(wheelhouse, "profiling")]
    made = {}
    for version in ("3.10", "3.11", *WITH_FRAMES):
        python = find_interpreter(version)
        if python is None:
            continue
        made[version] = make_venv(tmp_path_factory.mktemp(f"py{version}") / "venv", *wheels, python=python)
    return made


def _venv(venvs: dict[str, Path], version: str) -> Path:
    if version not in venvs:
        pytest.skip(f"no python{version} on this machine (pyenv install {version} adds it)")
    return venvs[version]


def _run(venv: Path, *args: str, conf: str = "", timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LD_PRELOAD", "MALLOC_CONF")}
    return subprocess.run([str(venv / "bin" / "jemalloc-sys"), "run", *(["--conf", conf] if conf else []), *args],
                          env=env, capture_output=True, text=True, timeout=timeout, cwd=tempfile.gettempdir())


def _report(venv: Path, dump: Path, *extra: str) -> str:
    proc = subprocess.run([str(venv / "bin" / "jemalloc-sys"), "prof", "report", str(dump), *extra],
                          capture_output=True, text=True, timeout=300, cwd=tempfile.gettempdir())
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _python_rows(venv: Path, dump: Path) -> dict[str, tuple[float, list[str]]]:
    """label -> (flat bytes, Python stack) of the report's Python table, read through the package itself."""
    proc = run_program(None, "python_sites.py", str(dump), python=venv / "bin" / "python")
    return {k: (v[0], v[1]) for k, v in json.loads(proc.stdout).items()}


def _fill(venv: Path, tmp_path: Path, sample: str) -> tuple[Path, dict[str, object]]:
    dump = tmp_path / "fill.heap"
    proc = _run(venv, "--profile", str(tmp_path / "final"), "--conf", sample, "--", str(venv / "bin" / "python"),
                str(FILL), str(dump))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    status: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return dump, status


def _find(rows: dict[str, tuple[float, list[str]]], function: str) -> tuple[str, tuple[float, list[str]]]:
    found = [(label, row) for label, row in rows.items() if label.startswith(function + " (fill.py:")]
    assert found, f"{function} not among {list(rows)[:10]}"
    return found[0]


@pytest.mark.parametrize("version", WITH_FRAMES)
def test_the_report_names_the_python_functions_that_allocated(venvs: dict[str, Path], tmp_path: Path,
                                                              version: str) -> None:
    venv = _venv(venvs, version)
    dump, status = _fill(venv, tmp_path, "lg_prof_sample:0")
    assert status["python_frames"] is True, status
    rows = _python_rows(venv, dump)
    fill_label, (fill_bytes, stack) = _find(rows, "fill_cache")
    assert fill_bytes >= 20 * (1 << 20)
    assert [frame.split(" (")[0] for frame in stack] == ["fill_cache", "outer", "<module>"]
    assert all(":" in frame and frame.endswith(")") for frame in stack)  # with line numbers
    _, (load_bytes, _) = _find(rows, "Cache.load")
    assert load_bytes >= 20 * 1000 * 1000
    text = _report(venv, dump, "--stacks", "1")
    frames = [line.strip() for line in text.splitlines()[1:]]
    assert frames.index("bytes_new") < frames.index(fill_label) < frames.index("_PyEval_EvalFrameDefault")
    assert Path(str(dump) + ".pymap").is_file()


@pytest.mark.parametrize("version", WITH_FRAMES)
def test_default_sampling_gives_the_same_totals_within_30_percent(venvs: dict[str, Path], tmp_path: Path,
                                                                  version: str) -> None:
    venv = _venv(venvs, version)
    exact, _ = _fill(venv, tmp_path / "exact", "lg_prof_sample:0")
    sampled, _ = _fill(venv, tmp_path / "sampled", "lg_prof_sample:19")
    for function in ("fill_cache", "Cache.load"):
        want = _find(_python_rows(venv, exact), function)[1][0]
        got = _find(_python_rows(venv, sampled), function)[1][0]
        assert 0.7 * want <= got <= 1.3 * want, (function, want, got)


def test_threads_in_gil_free_code_and_a_forked_child(venvs: dict[str, Path], tmp_path: Path) -> None:
    venv = _venv(venvs, WITH_FRAMES[-1] if WITH_FRAMES[-1] in venvs else WITH_FRAMES[0])
    base = tmp_path / "threads"
    proc = _run(venv, "--profile", str(tmp_path / "final"), "--conf", "lg_prof_sample:12", "--",
                str(venv / "bin" / "python"), str(program("pyframes_threads.py")), "10", str(base), timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # no crash, no deadlock (the timeout)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"python_frames": True, "child_status": 0}
    child = _python_rows(venv, Path(str(base) + "-child.heap"))
    assert any(label.startswith("child_profile (pyframes_threads.py:") for label in child), list(child)[:10]
    assert any(label.startswith("churn (pyframes_threads.py:") for label in _python_rows(venv, Path(str(base) + ".heap")))


def test_the_flame_graph_is_an_svg_that_names_fill_cache(venvs: dict[str, Path], tmp_path: Path) -> None:
    venv = _venv(venvs, WITH_FRAMES[0] if WITH_FRAMES[0] in venvs else WITH_FRAMES[-1])
    dump, _ = _fill(venv, tmp_path, "lg_prof_sample:0")
    svg = tmp_path / "fill.svg"
    _report(venv, dump, "--svg", str(svg))
    root = ElementTree.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    titles = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}title")]
    python_boxes = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("data-kind") == "python"]
    assert any(t.startswith("fill_cache (fill.py:") for t in titles) and python_boxes


@pytest.mark.parametrize("version", ["3.10", "3.11"])
def test_older_pythons_profile_with_native_frames_and_say_why(venvs: dict[str, Path], tmp_path: Path,
                                                              version: str) -> None:
    venv = _venv(venvs, version)
    dump, status = _fill(venv, tmp_path, "lg_prof_sample:0")
    assert status["python_frames"] is False
    assert "3.12 and 3.13" in str(status["reason"])
    text = _report(venv, dump)
    assert "bytes_new" in text or "_PyBytes_FromSize" in text  # the native profile is intact (names vary)
