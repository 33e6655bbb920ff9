"""jemalloc_sys.prof.flamegraph: the SVG drawn from a report."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

from jemalloc_sys.prof.flamegraph import svg, tree
from jemalloc_sys.prof.report import Report

SVG = "{http://www.w3.org/2000/svg}"


def _report() -> Report:
    stacks = [(["bytes_new", "fill_cache (a.py:3)", "main"], 3 << 20), (["PyList_New", "main"], 1 << 20)]
    return Report(total=4 << 20, rows=[], stacks=stacks, python=frozenset({"fill_cache (a.py:3)"}))


def test_the_tree_sums_sizes_from_the_root() -> None:
    root = tree(_report())
    assert root.size == 4 << 20
    assert root.children["main"].size == 4 << 20
    assert root.children["main"].children["fill_cache (a.py:3)"].size == 3 << 20
    assert root.depth() == 4


def test_widths_follow_bytes_and_python_frames_are_marked() -> None:
    doc = svg(_report(), title="t")
    root = ElementTree.fromstring(doc)
    rects = {g.find(f"{SVG}title").text.split(" (")[0]: g.find(f"{SVG}rect") for g in root.iter(f"{SVG}g")}
    width = {name: float(rect.get("width")) for name, rect in rects.items()}
    assert abs(width["fill_cache"] - 3 * width["PyList_New"]) < 0.5
    assert rects["fill_cache"].get("data-kind") == "python" and rects["main"].get("data-kind") == "native"
    assert doc == svg(_report(), title="t")  # deterministic
