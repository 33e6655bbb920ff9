"""jemalloc_sys.prof.pymap and the Python side of the report: names from perf-map files."""

from __future__ import annotations

from pathlib import Path

from jemalloc_sys.prof import build_report, parse, python_sites
from jemalloc_sys.prof.pymap import PerfMap, maps_for, python_frame

PYMAP = """7f0000000000 10 py::<more frames than the table holds> ?:0
7f0000000010 10 py::fill_cache /srv/app/cache.py:8
7f0000000020 10 py::outer /srv/app/cache.py:11
7f0000000030 10 py::<module> /srv/app/cache.py:14
"""

HEAP = """heap_v2/1
  t*: 2: 3145728 [0: 0]
@ 0x1010 0x7f0000000018 0x7f0000000028 0x7f0000000038 0x2020
  t*: 2: 3145728 [0: 0]

MAPPED_LIBRARIES:
00001000-00003000 r-xp 00000000 08:01 42    /nonexistent/libpython.so
"""


def test_python_frames_are_parsed_with_file_and_line() -> None:
    frame = python_frame("py::Cache.load /srv/app/cache.py:25")
    assert frame is not None and (frame.qualname, frame.filename, frame.line) == ("Cache.load", "/srv/app/cache.py", 25)
    assert frame.label == "Cache.load (cache.py:25)"
    assert python_frame("malloc") is None


def test_a_perf_map_names_addresses_in_its_ranges(tmp_path: Path) -> None:
    path = tmp_path / "x.pymap"
    path.write_text(PYMAP + "not a map line\n")
    maps = PerfMap()
    assert maps.load(path) == 4 and len(maps) == 4
    assert maps.name(0x7F0000000017) == "py::fill_cache /srv/app/cache.py:8"
    assert maps.name(0x7F0000000040) is None and maps.name(0x10) is None
    assert PerfMap().load(tmp_path / "missing") == 0


def test_the_report_ranks_by_innermost_python_frame(tmp_path: Path) -> None:
    dump = tmp_path / "jeprof.123.0.f.heap"
    dump.write_text(HEAP)
    (tmp_path / "jeprof.123.0.f.heap.pymap").write_text(PYMAP)
    assert len(maps_for(dump)) == 4
    report = build_report(parse(HEAP, path=dump))
    sites = python_sites(report)
    (row, stack) = sites[0]
    assert row.function == "fill_cache (cache.py:8)" and row.flat == report.total
    assert [(r.function, r.flat, r.cum) for r, _ in sites[1:]] == [
        ("<module> (cache.py:14)", 0.0, report.total), ("outer (cache.py:11)", 0.0, report.total)]
    assert stack == ["fill_cache (cache.py:8)", "outer (cache.py:11)", "<module> (cache.py:14)"]
    assert report.python == frozenset(stack)
