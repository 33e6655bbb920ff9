"""Name the frames of a heap profile from ELF symbol tables, without binutils.

An address is mapped to (file, offset) through the dump's own copy of
``/proc/self/maps``, the offset to the file's virtual address through its
``PT_LOAD`` segments, and that to the nearest function symbol at or below it
(``.symtab`` when the file has one, ``.dynsym`` otherwise), the rule
``jeprof`` applies with ``nm -n``.
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass
from pathlib import Path

from .. import _elf
from .heap import HeapProfile
from .pymap import PerfMap, PythonFrame, maps_for, python_frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    address: int
    function: str
    """The symbol name, or ``0x<address>`` when nothing is known (jeprof's convention)."""
    library: str | None = None
    offset: int | None = None
    python: PythonFrame | None = None
    """Set for a Python frame (named by the dump's ``.pymap``)."""

    @property
    def label(self) -> str:
        """The name reports show: ``fill_cache (cache.py:8)`` for Python frames, the symbol otherwise."""
        return self.python.label if self.python is not None else self.function


class _ObjectSymbols:
    def __init__(self, path: str) -> None:
        self.path = path
        self.loads: list[tuple[int, int, int]] = []
        self.starts: list[int] = []
        self.names: list[str] = []
        try:
            info = _elf.read(path)
        except (OSError, _elf.NotELFError, ValueError) as exc:
            log.info("cannot read symbols of %s: %s", path, exc)
            return
        self.loads = sorted(info.load_segments, key=lambda s: s[1])
        best: dict[int, str] = {}
        for sym in info.functions():
            # Several names at one address: prefer the global one, the name callers use.
            if sym.value not in best or sym.binding == 1:
                best[sym.value] = sym.name
        self.starts = sorted(best)
        self.names = [best[s] for s in self.starts]

    def vaddr(self, file_offset: int) -> int | None:
        for vaddr, offset, memsz in self.loads:
            if offset <= file_offset < offset + memsz:
                return file_offset - offset + vaddr
        return None

    def lookup(self, vaddr: int) -> str | None:
        i = bisect.bisect_right(self.starts, vaddr) - 1
        return self.names[i] if i >= 0 else None


class Symbolizer:
    """Caches symbol tables per library; one instance per profile (or several, same machine)."""

    def __init__(self, profile: HeapProfile, perf_maps: PerfMap | None = None) -> None:
        self.profile = profile
        self.perf_maps = perf_maps if perf_maps is not None else (
            maps_for(profile.path) if profile.path is not None else PerfMap())
        self._objects: dict[str, _ObjectSymbols] = {}
        self._frames: dict[int, Frame] = {}

    def frame(self, address: int) -> Frame:
        cached = self._frames.get(address)
        if cached is not None:
            return cached
        mapped = self.perf_maps.name(address)
        if mapped is not None:
            self._frames[address] = Frame(address, mapped, python=python_frame(mapped))
            return self._frames[address]
        result = Frame(address, f"0x{address:016x}")
        mapping = self.profile.mapping_for(address)
        if mapping is not None and mapping.path.startswith("/") and Path(mapping.path).is_file():
            obj = self._objects.get(mapping.path)
            if obj is None:
                obj = self._objects[mapping.path] = _ObjectSymbols(mapping.path)
            file_offset = address - mapping.start + mapping.offset
            vaddr = obj.vaddr(file_offset)
            name = obj.lookup(vaddr) if vaddr is not None else None
            result = Frame(address, name or result.function, mapping.path, file_offset)
        self._frames[address] = result
        return result

    def stack(self, addresses: tuple[int, ...]) -> list[Frame]:
        """Frames innermost first; return addresses (all but the first) minus one, to land inside the call."""
        return [self.frame(a if i == 0 else a - 1) for i, a in enumerate(addresses)]
