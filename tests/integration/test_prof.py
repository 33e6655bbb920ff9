"""Heap profiling end to end: dumps from a real program, read by our report and by upstream jeprof.

The program (``tests/programs/prof_app.py``) allocates from two functions of a tiny C
library compiled here (``tests/programs/prof_known.c``), so
the function names in the profile are known in advance: ``alloc_in_known_function``
uses ``calloc`` (20 MB kept alive), ``malloc_in_second_function`` uses ``malloc``
(10 MB). The second one matters because jemalloc's ``malloc`` tail-calls its slow
path, leaving no ``malloc`` frame on sampled stacks: Debian's jeprof (5.3.0) then
charges those bytes to jemalloc's ``prof_backtrace_impl``; our report names the caller.
Parsing alone is tested in tests/unit/test_prof_heap.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import last_json, program, run_cli, run_program

from jemalloc_sys import prof


def _compile(tmp_path: Path, name: str, *defines: str) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler (gcc) to build the test program's library")
    src = program("prof_known.c")
    out = tmp_path / name
    # -O1 keeps the two functions separate; no -g, so names come from the symbol table only.
    subprocess.run([cc, "-O1", "-shared", "-fPIC", *defines, "-o", str(out), str(src)], check=True)
    return out


@pytest.fixture(scope="module")
def prof_site(make_package: Callable[..., Path]) -> Path:
    return make_package(JEMALLOC_SYS_BUILD_VARIANT="profiling")


_JEPROF_ROW = re.compile(r"^\s*([\d.]+)\s+([\d.]+)%\s+([\d.]+)%\s+([\d.]+)\s+([\d.]+)%\s+(.+?)\s*$")


def _jeprof_rows(heap: Path) -> list[tuple[float, float, str]]:
    jeprof = shutil.which("jeprof")
    if jeprof is None:
        pytest.skip("upstream jeprof is not installed (Debian: apt-get install libjemalloc-dev)")
    proc = subprocess.run([jeprof, "--text", sys.executable, str(heap)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = []
    for line in proc.stdout.splitlines():
        m = _JEPROF_ROW.match(line)
        if m:
            rows.append((float(m.group(1)), float(m.group(4)), m.group(6).removesuffix(" (inline)")))
    assert rows, proc.stdout
    return rows


@pytest.mark.build
def test_profile_run_report_and_jeprof_agree(prof_site: Path, tmp_path: Path) -> None:
    lib = _compile(tmp_path, "libknown.so")
    out = tmp_path / "out"
    run = run_cli(prof_site, "run", "--conf", "lg_prof_sample:12", "--profile", str(out), "--",
               sys.executable, str(program("prof_app.py")), str(lib), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    dumps = sorted(out.glob("jeprof.*.heap"))
    assert dumps, f"no .heap in {out}: {list(out.iterdir())}"
    heap = dumps[-1]

    report = run_cli(prof_site, "prof", "report", str(heap), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    ours = [line.split()[-1] for line in report.stdout.splitlines()[1:]]
    assert ours[:2] == ["alloc_in_known_function", "malloc_in_second_function"], report.stdout

    parsed = prof.build_report(prof.read(heap))
    flat = {row.function: row.flat for row in parsed.rows}
    # jemalloc records the size class (100000 -> 114688 bytes, at most 25% more); at a 4 KiB sample
    # interval the sampling correction for 100 kB objects is a factor of 1 + 1e-12.
    assert 100000 <= flat["alloc_in_known_function"] / 200 <= 125000, report.stdout
    assert flat["malloc_in_second_function"] / 100 == pytest.approx(flat["alloc_in_known_function"] / 200)

    theirs = _jeprof_rows(heap)
    assert theirs[0][2] == "alloc_in_known_function", theirs  # the same top function
    assert theirs[0][0] == pytest.approx(flat["alloc_in_known_function"] / 1048576, abs=0.1)
    cum = {name: c for _, c, name in theirs}
    assert cum["malloc_in_second_function"] == pytest.approx(flat["malloc_in_second_function"] / 1048576, abs=0.1)

    folded = run_cli(prof_site, "prof", "report", str(heap), "--collapsed", cwd=tmp_path)
    assert folded.returncode == 0, folded.stderr
    top = folded.stdout.splitlines()[0]
    stack, _, size = top.rpartition(" ")
    assert stack.split(";")[-1] == "alloc_in_known_function" and int(size) == round(flat["alloc_in_known_function"])
    assert len(stack.split(";")) > 3  # root first: the whole call chain, not just the allocating frame


@pytest.mark.build
def test_in_process_dump_and_controls(prof_site: Path, tmp_path: Path) -> None:
    lib = _compile(tmp_path, "libknown_rjem.so", "-DCALLOC=_rjem_calloc", "-DMALLOC=_rjem_malloc")
    heap = tmp_path / "inprocess.heap"
    env = dict(os.environ, _RJEM_MALLOC_CONF="prof:true,lg_prof_sample:14")
    out = last_json(run_program(prof_site, "prof_inprocess.py", str(lib), str(heap), env=env).stdout)
    assert out == {"active": True, "lg_sample": 14, "paused": False}
    profile = prof.read(heap)
    assert profile.period == 4096  # prof.reset(12) changed the sample rate
    report = prof.build_report(profile)
    assert report.rows[0].function == "alloc_in_known_function"
    assert 100000 <= report.rows[0].flat / 100 <= 125000
