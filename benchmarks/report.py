"""Markdown for the README's performance section, from the measured results."""

from __future__ import annotations

import math

from .build_time import BuildTimes
from .footprint import Size
from .measure import ratio
from .runtime import Table
from .service import Trace


def table(t: Table, note: str = "") -> str:
    lines = [f"#### {t.title}", ""]
    if note:
        lines += [note, ""]
    lines.append("| allocator | " + " | ".join(f"{c}: CPU s (ratio) / peak RSS MB" for c in t.cases) + " |")
    lines.append("| --- | " + " | ".join("---" for _ in t.cases) + " |")
    for row in t.rows:
        cells = []
        for case in t.cases:
            s, base = t.results[case][row], t.results[case][t.baseline]
            if s.error or not s.runs:
                cells.append(f"fails: {s.error.rpartition(': ')[2][:60]}")
            elif base.error or not base.runs:
                cells.append(f"{s.cpu:.3f} / {s.rss_mb:.1f}")
            else:
                cells.append(f"{s.cpu:.3f} ({ratio(s.cpu, base.cpu)}) / {s.rss_mb:.1f}")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def service(traces: list[Trace], busy: float, idle: float) -> str:
    marks = [busy / 2, busy, busy + idle / 2, busy + idle - 0.5]
    head = " | ".join(f"RSS MB at {m:.0f}s" for m in marks)
    lines = ["#### Service-like workload: RSS over time", "",
             f"16 threads, PYTHONMALLOC=malloc; busy {busy:.0f}s (requests with short-lived 64 B-64 KiB buffers and a"
             f" shared cache of 1-256 KiB entries), then the cache is dropped and the process idles {idle:.0f}s.", "",
             f"| allocator | requests served | {head} | peak RSS MB |", "| --- | --- | " + " | ".join("---" for _ in marks)
             + " | --- |"]
    for t in traces:
        if t.error:
            lines.append(f"| {t.name} | fails: {t.error[:60]} |" + " |" * (len(marks) + 1))
            continue
        cells = " | ".join("-" if math.isnan(t.at(m)) else f"{t.at(m):.0f}" for m in marks)
        lines.append(f"| {t.name} | {t.requests} | {cells} | {t.max_rss_mb:.0f} |")
    return "\n".join(lines) + "\n"


def build(b: BuildTimes) -> str:
    floor = b.floor_median
    return "\n".join([
        "#### Build time (base variant, host toolchain)", "",
        "| step | seconds | vs floor |", "| --- | --- | --- |",
        f"| floor: configure + make -j{b.jobs} build_lib_shared of both shipped libraries"
        f" (median of {len(b.floor)}: {', '.join(f'{x:.1f}' for x in b.floor)}) | {floor:.1f} | 1.00x |",
        f"| sdist -> repaired wheel (pip wheel + auditwheel repair, empty cache) | {b.wheel:.1f} | {ratio(b.wheel, floor)} |",
        f"| rebuild of the unchanged configuration (pip wheel + repair, cache filled) | {b.rebuild:.1f}"
        f" | {ratio(b.rebuild, floor)} |",
        f"| (making the sdist, for reference) | {b.sdist:.1f} | |",
    ]) + "\n"


def footprint(import_ms: float, load_ms: float, sizes: list[Size], wheel_kb: float | None) -> str:
    lines = ["#### Import cost and sizes", "",
             f"`import jemalloc_sys`: {import_ms:.1f} ms (median of `python -X importtime`'s cumulative time,"
             " fresh interpreters, .pyc present);"
             f" the following `jemalloc_sys.load()` (dlopen of the library): {load_ms:.2f} ms.", "",
             "| variant | in-process library KB | preload library KB | package zipped (deflate) KB |",
             "| --- | --- | --- | --- |"]
    for s in sizes:
        lines.append(f"| {s.variant} | {s.inprocess_kb:.0f} | {s.preload_kb:.0f} | {s.package_deflated_kb:.0f} |")
    if wheel_kb is not None:
        lines += ["", f"The base wheel built by the build-time benchmark (host toolchain, repaired): {wheel_kb:.0f} KB."]
    return "\n".join(lines) + "\n"
