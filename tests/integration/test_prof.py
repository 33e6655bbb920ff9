"""Heap profiling end to end: dumps from a real program, read by our report and by upstream jeprof.

The program allocates from two functions of a tiny C library compiled here, so
the function names in the profile are known in advance: ``alloc_in_known_function``
uses ``calloc`` (20 MB kept alive), ``malloc_in_second_function`` uses ``malloc``
(10 MB). The second one matters because jemalloc's ``malloc`` tail-calls its slow
path, leaving no ``malloc`` frame on sampled stacks: Debian's jeprof (5.3.0) then
charges those bytes to jemalloc's ``prof_backtrace_impl``; our report names the caller.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_python

from jemalloc_sys import prof
from jemalloc_sys.errors import HeapProfileError

C_SOURCE = r"""
#include <stdlib.h>
#include <string.h>
#ifndef CALLOC
#define CALLOC calloc
#define MALLOC malloc
#endif
void *CALLOC(size_t, size_t);
void *MALLOC(size_t);
void *keep[4096]; /* exported, so the compiler cannot drop the allocations as unused */
__attribute__((noinline)) int alloc_in_known_function(int n, size_t size) {
    for (int i = 0; i < n; i++) { keep[i] = CALLOC(1, size); }
    return n;
}
__attribute__((noinline)) int malloc_in_second_function(int n, size_t size) {
    for (int i = 0; i < n; i++) { keep[2048 + i] = MALLOC(size); memset(keep[2048 + i], 1, size); }
    return n;
}
"""

APP = """
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.alloc_in_known_function(200, 100000)
lib.malloc_in_second_function(100, 100000)
"""

HEAP = """heap_v2/524288
  t*: 3: 3145728 [0: 0]
  t0: 3: 3145728 [0: 0]
@ 0x1010 0x2020
  t*: 2: 2097152 [0: 0]
  t0: 2: 2097152 [0: 0]
@ 0x1030
  t*: 1: 1048576 [0: 0]

MAPPED_LIBRARIES:
00001000-00003000 r-xp 00000000 08:01 42    /nonexistent/libdemo.so
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0    [stack]
"""


def test_parse_heap_v2() -> None:
    profile = prof.parse(HEAP)
    assert (profile.period, profile.total_objects, profile.total_bytes) == (524288, 3, 3145728)
    assert [s.stack for s in profile.samples] == [(0x1010, 0x2020), (0x1030,)]
    assert [(s.objects, s.bytes) for s in profile.samples] == [(2, 2097152), (1, 1048576)]
    assert [m.path for m in profile.maps] == ["/nonexistent/libdemo.so", "[stack]"]
    assert profile.mapping_for(0x2020) is not None and profile.mapping_for(0x5000) is None
    objs, size = profile.samples[0].scaled(profile.period)
    factor = 1 / (1 - math.exp(-(2097152 / 2) / 524288))  # the Poisson correction jeprof applies to heap_v2
    assert objs == pytest.approx(2 * factor) and size == pytest.approx(2097152 * factor)
    # unknown library: frames keep their address as name, as jeprof prints them
    report = prof.build_report(profile)
    assert report.rows[0].function == "0x0000000000001010"


def test_parse_rejects_other_formats(tmp_path: Path) -> None:
    with pytest.raises(HeapProfileError, match="heap_v2"):
        prof.parse("heap profile: 1: 2 [3: 4] @ heapprofile\n")
    bad = tmp_path / "x.heap"
    bad.write_text("heap_v2/1\n@ 0xZZ\n")
    with pytest.raises(HeapProfileError, match=r"x\.heap:2: bad stack line"):
        prof.read(bad)


def _compile(tmp_path: Path, name: str, *defines: str) -> Path:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler (gcc) to build the test program's library")
    src = tmp_path / "known.c"
    src.write_text(C_SOURCE)
    out = tmp_path / name
    # -O1 keeps the two functions separate; no -g, so names come from the symbol table only.
    subprocess.run([cc, "-O1", "-shared", "-fPIC", *defines, "-o", str(out), str(src)], check=True)
    return out


@pytest.fixture(scope="module")
def prof_site(make_package: Callable[..., Path]) -> Path:
    return make_package(JEMALLOC_SYS_BUILD_VARIANT="profiling")


def _cli(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.run([sys.executable, "-m", "jemalloc_sys.cli", *args], env=env, capture_output=True,
                          text=True, timeout=300, cwd=cwd)


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
    (tmp_path / "app.py").write_text(APP)
    out = tmp_path / "out"
    run = _cli(prof_site, "run", "--conf", "lg_prof_sample:12", "--profile", str(out), "--",
               sys.executable, "app.py", str(lib), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    dumps = sorted(out.glob("jeprof.*.heap"))
    assert dumps, f"no .heap in {out}: {list(out.iterdir())}"
    heap = dumps[-1]

    report = _cli(prof_site, "prof", "report", str(heap), cwd=tmp_path)
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

    folded = _cli(prof_site, "prof", "report", str(heap), "--collapsed", cwd=tmp_path)
    assert folded.returncode == 0, folded.stderr
    top = folded.stdout.splitlines()[0]
    stack, _, size = top.rpartition(" ")
    assert stack.split(";")[-1] == "alloc_in_known_function" and int(size) == round(flat["alloc_in_known_function"])
    assert len(stack.split(";")) > 3  # root first: the whole call chain, not just the allocating frame


@pytest.mark.build
def test_in_process_dump_and_controls(prof_site: Path, tmp_path: Path) -> None:
    lib = _compile(tmp_path, "libknown_rjem.so", "-DCALLOC=_rjem_calloc", "-DMALLOC=_rjem_malloc")
    heap = tmp_path / "inprocess.heap"
    code = f"""
import ctypes, json
import jemalloc_sys
from jemalloc_sys import ctl
a = ctl.default()  # loads the prefixed library RTLD_GLOBAL: the test library binds _rjem_calloc to it
lib = ctypes.CDLL({str(lib)!r})
out = {{"active": a.prof_active, "lg_sample": a.prof_lg_sample}}
a.prof_active = False
out["paused"] = a.prof_active
a.prof_active = True
a.prof_reset(12)
lib.alloc_in_known_function(100, 100000)
a.prof_dump({str(heap)!r})
print(json.dumps(out))
"""
    env = dict(os.environ, _RJEM_MALLOC_CONF="prof:true,lg_prof_sample:14")
    proc = run_python(prof_site, code, env=env)
    import json

    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"active": True, "lg_sample": 14, "paused": False}
    profile = prof.read(heap)
    assert profile.period == 4096  # prof.reset(12) changed the sample rate
    report = prof.build_report(profile)
    assert report.rows[0].function == "alloc_in_known_function"
    assert 100000 <= report.rows[0].flat / 100 <= 125000
