"""Top allocation sites of a heap profile, in jeprof's terms, and folded stacks.

jeprof's rules, followed here so that both tools rank the same functions:
counts are unsampled (:meth:`Sample.scaled`); frames up to and including the
allocator's entry point (``malloc``, ``calloc``, ...) are dropped from each
stack, since they are the allocator's own; a function's *flat* bytes are those
of the stacks where it is the innermost remaining frame, its *cumulative*
bytes those of the stacks where it appears at all; the table is sorted by flat,
then cumulative bytes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .heap import HeapProfile
from .symbolize import Frame, Symbolizer

ENTRY_POINTS = frozenset({
    "malloc", "calloc", "realloc", "free", "cfree", "memalign", "posix_memalign", "aligned_alloc", "valloc",
    "pvalloc", "mallocx", "rallocx", "xallocx", "dallocx", "sdallocx", "sdallocx_noflags", "newImpl",
    "fallbackNewImpl", "fallback_impl", "operator new", "operator new[]", "malloc_zone_malloc",
    "malloc_zone_calloc", "malloc_zone_realloc", "malloc_zone_memalign", "malloc_zone_valloc",
})
"""Allocator entry points (plain, ``_``-prefixed on Mach-O, or with this package's ``_rjem_`` prefix)."""

INTERNALS = frozenset({
    "imalloc", "imalloc_body", "malloc_default", "prof_alloc_prep", "prof_backtrace_impl", "prof_backtrace",
    "prof_tctx_create", "irallocx_prof", "do_rallocx", "ixallocx_prof",
})
"""jemalloc's own functions on the profiling path. They matter because ``malloc`` *tail-calls*
``malloc_default``, so a sampled ``malloc`` leaves no ``malloc`` frame to cut at (jemalloc 5.3.1's
jeprof lists these too, but not under the ``_rjem_je_`` private namespace this package builds with)."""


ALLOCATOR_LIBRARIES = ("libjemalloc",)
"""Frames inside a library whose file name starts so are the allocator's own, whatever their symbol:
a library without ``.symtab`` (zig strips it) names its internal functions after the nearest exported one."""


def is_allocator_frame(name: str, library: str | None = None) -> bool:
    """True for a frame that belongs to the allocator rather than to the program."""
    if library is not None and Path(library).name.startswith(ALLOCATOR_LIBRARIES):
        return True
    bare = name.removeprefix("_rjem_").removeprefix("je_").lstrip("_")
    return (name in ENTRY_POINTS or bare in ENTRY_POINTS or bare in INTERNALS
            or name.startswith("_rjem_je_"))


@dataclass(frozen=True)
class SiteTotal:
    function: str
    flat: float
    cum: float


@dataclass(frozen=True)
class Report:
    total: float
    rows: list[SiteTotal]
    stacks: list[tuple[list[str], float]]
    """Each reduced stack (innermost first) with its estimated bytes in use."""


def _reduce(frames: list[Frame]) -> list[str]:
    path: list[str] = []
    for frame in frames:
        if is_allocator_frame(frame.function, frame.library):
            path = []  # everything so far was inside the allocator
            continue
        path.append(frame.function)
    return path


def build_report(profile: HeapProfile, *, symbolizer: Symbolizer | None = None) -> Report:
    sym = symbolizer or Symbolizer(profile)
    flat: dict[str, float] = defaultdict(float)
    cum: dict[str, float] = defaultdict(float)
    stacks: list[tuple[list[str], float]] = []
    total = 0.0
    for sample in profile.samples:
        _, size = sample.scaled(profile.period)
        if size <= 0:
            continue
        path = _reduce(sym.stack(sample.stack))
        total += size
        stacks.append((path, size))
        if not path:
            continue
        flat[path[0]] += size
        for name in set(path):
            cum[name] += size
    rows = [SiteTotal(name, flat.get(name, 0.0), cum[name]) for name in cum]
    rows.sort(key=lambda r: (-r.flat, -r.cum, r.function))
    return Report(total=total, rows=rows, stacks=stacks)


def _mb(value: float) -> str:
    return f"{value / 1048576:.1f}"


def format_text(report: Report, *, limit: int = 20) -> str:
    """jeprof ``--text``-like table: flat MB, flat%, running sum%, cum MB, cum%, function."""
    def pct(value: float) -> float:
        return 100.0 * value / report.total if report.total else 0.0

    lines = [f"Total: {_mb(report.total)} MB"]
    running = 0.0
    for row in report.rows[:limit]:
        running += row.flat
        lines.append(f"{_mb(row.flat):>8} {pct(row.flat):5.1f}% {pct(running):5.1f}% "
                     f"{_mb(row.cum):>8} {pct(row.cum):5.1f}% {row.function}")
    return "\n".join(lines)


def collapsed(report: Report) -> str:
    """Folded stacks (``outer;...;inner <bytes>``) for flamegraph.pl, speedscope, inferno."""
    folded: dict[str, float] = defaultdict(float)
    for path, size in report.stacks:
        key = ";".join(reversed(path)) if path else "[allocator]"
        folded[key] += size
    return "\n".join(f"{k} {round(v)}" for k, v in sorted(folded.items(), key=lambda kv: -kv[1]))
