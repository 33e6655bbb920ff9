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
    python: frozenset[str] = frozenset()
    """The labels in :attr:`stacks` that are Python frames (named by the dump's ``.pymap``)."""

    def python_path(self, path: list[str]) -> list[str]:
        """The Python frames of a stack, innermost first."""
        return [name for name in path if name in self.python]


def _reduce(frames: list[Frame]) -> list[str]:
    path: list[str] = []
    for frame in frames:
        if frame.python is None and is_allocator_frame(frame.function, frame.library):
            path = []  # everything so far was inside the allocator
            continue
        path.append(frame.label)
    return path


def build_report(profile: HeapProfile, *, symbolizer: Symbolizer | None = None) -> Report:
    sym = symbolizer or Symbolizer(profile)
    flat: dict[str, float] = defaultdict(float)
    cum: dict[str, float] = defaultdict(float)
    stacks: list[tuple[list[str], float]] = []
    python: set[str] = set()
    total = 0.0
    for sample in profile.samples:
        _, size = sample.scaled(profile.period)
        if size <= 0:
            continue
        frames = sym.stack(sample.stack)
        python.update(f.label for f in frames if f.python is not None)
        path = _reduce(frames)
        total += size
        stacks.append((path, size))
        if not path:
            continue
        flat[path[0]] += size
        for name in set(path):
            cum[name] += size
    rows = [SiteTotal(name, flat.get(name, 0.0), cum[name]) for name in cum]
    rows.sort(key=lambda r: (-r.flat, -r.cum, r.function))
    return Report(total=total, rows=rows, stacks=stacks, python=frozenset(python))


def python_sites(report: Report) -> list[tuple[SiteTotal, list[str]]]:
    """Bytes by innermost Python frame (flat) and by any Python frame (cum), each with its largest Python stack."""
    flat: dict[str, float] = defaultdict(float)
    cum: dict[str, float] = defaultdict(float)
    biggest: dict[str, tuple[float, list[str]]] = {}
    for path, size in report.stacks:
        pyframes = report.python_path(path)
        if not pyframes:
            continue
        flat[pyframes[0]] += size
        for name in set(pyframes):
            cum[name] += size
        if size > biggest.get(pyframes[0], (0.0, []))[0]:
            biggest[pyframes[0]] = (size, pyframes)
    rows = [SiteTotal(name, flat.get(name, 0.0), cum[name]) for name in cum]
    rows.sort(key=lambda r: (-r.flat, -r.cum, r.function))
    return [(row, biggest.get(row.function, (0.0, [row.function]))[1]) for row in rows]


def _mb(value: float) -> str:
    return f"{value / 1048576:.1f}"


def format_text(report: Report, *, limit: int = 20) -> str:
    """jeprof ``--text``-like table: flat MB, flat%, running sum%, cum MB, cum%, function.

    With Python frames, a table by innermost Python frame comes first, each row with the
    Python stack that allocated most there (``fill_cache (app.py:8) <- outer (app.py:11)``).
    """
    def pct(value: float) -> float:
        return 100.0 * value / report.total if report.total else 0.0

    def table(rows: list[SiteTotal], extra: list[str] | None = None) -> list[str]:
        lines, running = [], 0.0
        for i, row in enumerate(rows[:limit]):
            running += row.flat
            lines.append(f"{_mb(row.flat):>8} {pct(row.flat):5.1f}% {pct(running):5.1f}% "
                         f"{_mb(row.cum):>8} {pct(row.cum):5.1f}% {row.function}")
            if extra is not None and len(extra[i].split(" <- ")) > 1:
                lines.append(f"{'':>40}{extra[i]}")
        return lines

    lines = [f"Total: {_mb(report.total)} MB"]
    sites = python_sites(report)
    if sites:
        lines.append("By Python function (innermost Python frame of each stack; flat, flat%, sum%, cum, cum%):")
        lines += table([row for row, _ in sites], [" <- ".join(stack) for _, stack in sites])
        lines.append("By native function:")
    return "\n".join(lines + table(report.rows))


def format_stacks(report: Report, *, limit: int = 10) -> str:
    """The ``limit`` largest stacks in full, innermost first, Python and native frames mixed."""
    folded: dict[tuple[str, ...], float] = defaultdict(float)
    for path, size in report.stacks:
        folded[tuple(path)] += size
    lines = []
    for frames, size in sorted(folded.items(), key=lambda kv: -kv[1])[:limit]:
        lines.append(f"{_mb(size)} MB")
        lines += [f"    {name}" for name in frames] or ["    [allocator]"]
    return "\n".join(lines)


def collapsed(report: Report) -> str:
    """Folded stacks (``outer;...;inner <bytes>``) for flamegraph.pl, speedscope, inferno."""
    folded: dict[str, float] = defaultdict(float)
    for path, size in report.stacks:
        key = ";".join(reversed(path)) if path else "[allocator]"
        folded[key] += size
    return "\n".join(f"{k} {round(v)}" for k, v in sorted(folded.items(), key=lambda kv: -kv[1]))
