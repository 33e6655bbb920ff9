"""jemalloc_sys.prof.heap: reading jemalloc's heap_v2 profiles (``tests/data/demo.heap``)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from conftest import DATA

from jemalloc_sys import prof
from jemalloc_sys.errors import HeapProfileError


def test_parse_heap_v2() -> None:
    profile = prof.parse((DATA / "demo.heap").read_text(encoding="utf-8"))
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
