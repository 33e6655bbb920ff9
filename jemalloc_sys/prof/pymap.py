"""Symbol maps in the perf-map format: ``<dump>.pymap`` (Python frames) and ``/tmp/perf-<pid>.map``.

Each line is ``<start> <size> <name>`` in hex (the format Linux ``perf`` reads for
JIT code). jemalloc-sys's Python-frame hook writes one beside every heap dump
(``jemalloc_build/csrc/pyframes.c``), naming its synthetic frames
``py::<qualname> <file>:<line>``; CPython's ``-X perf`` and JITs write
``/tmp/perf-<pid>.map``. Addresses found in a map are named from it.
"""

from __future__ import annotations

import bisect
import os
import re
from dataclasses import dataclass
from pathlib import Path

PYTHON_PREFIX = "py::"

_LINE = re.compile(r"^([0-9a-fA-F]+)\s+([0-9a-fA-F]+)\s+(.+?)\s*$")


@dataclass(frozen=True)
class PythonFrame:
    """A Python function and line, from a ``py::`` map entry."""

    qualname: str
    filename: str
    line: int

    @property
    def label(self) -> str:
        """How reports show it: ``fill_cache (cache.py:8)``."""
        return f"{self.qualname} ({os.path.basename(self.filename)}:{self.line})"


def python_frame(name: str) -> PythonFrame | None:
    """Parse ``py::<qualname> <file>:<line>``; None for any other name."""
    if not name.startswith(PYTHON_PREFIX):
        return None
    qualname, _, place = name[len(PYTHON_PREFIX):].partition(" ")
    filename, _, line = place.rpartition(":")
    return PythonFrame(qualname, filename or "?", int(line) if line.isdigit() else 0)


class PerfMap:
    """Address ranges and names from perf-map files, looked up by address."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._entries: list[tuple[int, int, str]] = []

    def load(self, path: Path) -> int:
        """Add the entries of one file; returns how many (0 for a missing or unreadable file)."""
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return 0
        added = 0
        for line in text.splitlines():
            match = _LINE.match(line)
            if match:
                start, size = int(match.group(1), 16), int(match.group(2), 16)
                self._entries.append((start, start + size, match.group(3)))
                added += 1
        self._entries.sort()
        self._starts = [e[0] for e in self._entries]
        return added

    def name(self, address: int) -> str | None:
        i = bisect.bisect_right(self._starts, address) - 1
        if i >= 0 and self._entries[i][0] <= address < self._entries[i][1]:
            return self._entries[i][2]
        return None

    def __len__(self) -> int:
        return len(self._entries)


def maps_for(dump: Path) -> PerfMap:
    """The maps that name a dump's addresses: ``<dump>.pymap``, and the process's ``/tmp/perf-<pid>.map``."""
    found = PerfMap()
    found.load(dump.with_name(dump.name + ".pymap"))
    pid = re.match(r"^[^.]+\.(\d+)\.", dump.name)
    if pid:
        found.load(Path(f"/tmp/perf-{pid.group(1)}.map"))
    return found
