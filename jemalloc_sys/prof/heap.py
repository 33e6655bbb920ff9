"""The jemalloc heap dump (``heap_v2``) as data.

Layout, as jemalloc 5 writes it (``prof_dump``)::

    heap_v2/<mean sample interval in bytes>
      t*: <objs>: <bytes> [<objs>: <bytes>]       totals (in use [cumulative])
      t<tid>: ...                                  per thread
    @ 0x<pc> 0x<pc> ...                            one stack, innermost first
      t*: <objs>: <bytes> [<objs>: <bytes>]
      t<tid>: ...
    ...
    MAPPED_LIBRARIES:
    <the process's /proc/self/maps>

Counts are of *sampled* allocations; :meth:`Sample.scaled` undoes the
sampling the way jeprof does for this format (a Poisson process: an
allocation of ``s`` bytes is sampled with probability ``1 - exp(-s/period)``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import HeapProfileError

_HEADER = re.compile(r"^heap_v2/(\d+)\s*$")
_COUNTS = re.compile(r"^\s*t(\*|\d+):\s*(\d+):\s*(\d+)\s*\[\s*(\d+):\s*(\d+)\s*\]\s*$")
_MAP = re.compile(r"^([0-9a-f]+)-([0-9a-f]+)\s+(\S{4})\s+([0-9a-f]+)\s+\S+\s+\d+\s*(.*)$")


@dataclass(frozen=True)
class Mapping:
    """One line of the process's memory map: [start, end) of ``path`` from file ``offset``."""

    start: int
    end: int
    perms: str
    offset: int
    path: str


@dataclass
class Sample:
    """One allocation stack and its sampled counts (all threads)."""

    stack: tuple[int, ...]
    """Return addresses as recorded, innermost frame first."""
    objects: int
    bytes: int
    cum_objects: int = 0
    cum_bytes: int = 0

    def scaled(self, period: int) -> tuple[float, float]:
        """Estimated (objects, bytes) in use, correcting for sampling at mean interval ``period``."""
        if self.objects == 0 or period <= 0:
            return float(self.objects), float(self.bytes)
        ratio = (self.bytes / self.objects) / period
        factor = 1.0 / (1.0 - math.exp(-ratio))
        return self.objects * factor, self.bytes * factor


@dataclass
class HeapProfile:
    period: int
    """Mean bytes between samples (``2**lg_prof_sample``)."""
    total_objects: int
    total_bytes: int
    samples: list[Sample] = field(default_factory=list)
    maps: list[Mapping] = field(default_factory=list)
    path: Path | None = None

    def mapping_for(self, address: int) -> Mapping | None:
        for m in self.maps:
            if m.start <= address < m.end:
                return m
        return None


def parse(text: str, *, path: Path | None = None) -> HeapProfile:
    """Parse the text of a ``.heap`` file; :class:`HeapProfileError` says where it went wrong."""
    where = str(path) if path else "heap profile"
    lines = text.splitlines()
    if not lines:
        raise HeapProfileError(f"{where}: empty file; is it a jemalloc .heap dump?")
    header = _HEADER.match(lines[0])
    if header is None:
        raise HeapProfileError(f"{where}: first line {lines[0][:60]!r} is not 'heap_v2/<period>';"
                               " only jemalloc 5 heap dumps are supported")
    profile = HeapProfile(period=int(header.group(1)), total_objects=0, total_bytes=0, path=path)
    current: Sample | None = None
    in_maps = False
    for number, line in enumerate(lines[1:], start=2):
        if in_maps:
            m = _MAP.match(line)
            if m:
                profile.maps.append(Mapping(int(m.group(1), 16), int(m.group(2), 16), m.group(3),
                                            int(m.group(4), 16), m.group(5).strip()))
            continue
        if line.startswith("MAPPED_LIBRARIES:"):
            in_maps = True
            continue
        if line.startswith("@"):
            try:
                stack = tuple(int(word, 16) for word in line[1:].split())
            except ValueError:
                raise HeapProfileError(f"{where}:{number}: bad stack line {line[:80]!r}") from None
            current = Sample(stack=stack, objects=0, bytes=0)
            profile.samples.append(current)
            continue
        counts = _COUNTS.match(line)
        if counts:
            if counts.group(1) != "*":
                continue  # per-thread detail; the t* line already sums the threads
            objs, size, cobjs, csize = (int(counts.group(i)) for i in range(2, 6))
            if current is None:
                profile.total_objects, profile.total_bytes = objs, size
            else:
                current.objects, current.bytes, current.cum_objects, current.cum_bytes = objs, size, cobjs, csize
            continue
        if line.strip():
            raise HeapProfileError(f"{where}:{number}: unexpected line {line[:80]!r}")
    return profile


def read(path: str | Path) -> HeapProfile:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise HeapProfileError(f"cannot read heap profile {file}: {exc.strerror}") from None
    return parse(text, path=file)
