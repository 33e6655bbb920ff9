"""Heap profiles in Python: read jemalloc's ``.heap`` dumps, symbolize them, report the top sites.

``jeprof`` needs Perl and binutils (``nm``, ``addr2line``); a container running a
Python service rarely has them. This package reads the dump itself and names
frames from the ELF symbol tables of the libraries the dump lists
(:mod:`jemalloc_sys._elf`), following ``jeprof``'s conventions so that both
tools rank the same functions on the same file.
"""

from __future__ import annotations

from .heap import HeapProfile, Sample, parse, read
from .report import Report, SiteTotal, build_report, collapsed, format_stacks, format_text, python_sites
from .symbolize import Symbolizer

__all__ = [
    "HeapProfile",
    "Report",
    "Sample",
    "SiteTotal",
    "Symbolizer",
    "build_report",
    "collapsed",
    "format_stacks",
    "format_text",
    "parse",
    "python_sites",
    "read",
]
