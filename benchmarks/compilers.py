"""What a library's compiler really did: the build record, jemalloc's configure summary, the backend's flags.

Issue 10 asks, if the shipped (zig) build is slower than a host-gcc build of
the same flags, to find out why. Two builds with identical configure arguments
can still differ in what reaches the code generator: ``zig cc`` turns the ``-O``
level into its own optimization mode and adds flags of its own. This module
gathers the facts for the toolchain section: the compiler named in the build
record, ``CONFIGURE_CFLAGS`` from the ``configure.log`` the builder keeps in the
cache entry, and the flags the backend receives (``cc <flags> -###``). It only
reads and reports; it changes nothing in the builder.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SUMMARY = re.compile(r"^([A-Z][A-Z_]*[A-Z])\s+:\s?(.*)$")
BACKEND_FLAGS = re.compile(r"^(-O\S*|-mframe-pointer=\S+|-f(no-)?omit-frame-pointer|-march=\S+|-mtune=\S+"
                           r"|-target-cpu|-funroll-loops|-f(no-)?stack-protector\S*|-stack-protector)$")
"""Flags of a compiler backend line that change the speed of the generated code."""


def configure_summary(text: str) -> dict[str, str]:
    """jemalloc's configure summary (``CC : ...``, ``CONFIGURE_CFLAGS : ...``) from its output or ``configure.log``."""
    found = {}
    for line in text.splitlines():
        match = _SUMMARY.match(line.rstrip())
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def backend_line(driver_output: str) -> list[str]:
    """The words of the compiler backend's command line in ``cc -###`` output (gcc's cc1, clang's -cc1)."""
    for line in driver_output.splitlines():
        words = shlex.split(line) if line.startswith(" ") else []
        if words and ("-cc1" in words or Path(words[0]).name == "cc1"):
            return words
    return []


def speed_flags(words: Iterable[str]) -> list[str]:
    """The speed-relevant flags of a backend line, in order; ``-target-cpu X`` kept as one item."""
    out: list[str] = []
    items = list(words)
    for i, word in enumerate(items):
        if BACKEND_FLAGS.match(word):
            flag = f"{word} {items[i + 1]}" if word == "-target-cpu" and i + 1 < len(items) else word
            if flag not in out:
                out.append(flag)
    return out


def probe_backend(cc: str, cflags: str) -> list[str]:
    """``<cc> <cflags> -### -c probe.c``: the flags the backend gets for jemalloc's own CFLAGS ([] if it fails)."""
    with tempfile.TemporaryDirectory() as folder:
        src = Path(folder) / "probe.c"
        src.write_text("int f(int x) { return x * 3; }\n", encoding="ascii")
        try:
            proc = subprocess.run([*shlex.split(cc), *shlex.split(cflags), "-###", "-c", str(src), "-o",
                                   str(Path(folder) / "probe.o")], capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            return []
    return speed_flags(backend_line(proc.stderr + proc.stdout))


def find_entry(caches: Iterable[Path], flavour: str, configure_args: list[str],
               compiler: list[str]) -> Path | None:
    """The builder cache entry (``builds/<flavour>-<key>``) whose record has these configure arguments and compiler.

    An installed package keeps the in-process library's record whole but only part
    of the preload library's (no cache key), so entries are matched on what both
    records keep: the flavour, the configure arguments and the compiler identity.
    """
    for cache in caches:
        for record_path in sorted((cache / "builds").glob(f"{flavour}-*/build-record.json")):
            try:
                record = json.loads(record_path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if (record.get("configure_args") == configure_args and record.get("compiler", {}).get("cc") == compiler
                    and (record_path.parent / "configure.log").is_file()):
                return record_path.parent
    return None


@dataclass(frozen=True, kw_only=True)
class Facts:
    compiler: str
    """The build record's compiler: what it is and its version."""
    configure_cflags: str
    """jemalloc's configure-chosen CFLAGS ('' when the cache entry is not here)."""
    extra_cflags: str
    """What the builder (and an experiment) added through EXTRA_CFLAGS, path maps left out."""
    backend: list[str]
    """Speed-relevant flags the backend receives for those CFLAGS ([] when unknown)."""


def facts(record: dict[str, Any], entry: Path | None) -> Facts:
    compiler = f"{' '.join(record['compiler']['cc'])} ({record['compiler']['version']})"
    if entry is None:
        return Facts(compiler=compiler, configure_cflags="", extra_cflags="", backend=[])
    summary = configure_summary((entry / "configure.log").read_text(encoding="utf-8", errors="replace"))
    cflags = summary.get("CONFIGURE_CFLAGS", "")
    extra = " ".join(f for f in shlex.split(summary.get("EXTRA_CFLAGS", "")) if not f.startswith("-ffile-prefix-map="))
    # make compiles with CONFIGURE_CFLAGS, then SPECIFIED_CFLAGS, then EXTRA_CFLAGS: the last -O or -f wins.
    everything = " ".join([cflags, summary.get("SPECIFIED_CFLAGS", ""), extra])
    backend = probe_backend(summary["CC"], everything) if summary.get("CC") else []
    return Facts(compiler=compiler, configure_cflags=cflags, extra_cflags=extra, backend=backend)


def optimization(flags: Iterable[str]) -> str:
    """The last ``-O`` level among ``flags`` ('' if none), as the compiler would apply it."""
    levels = [f for f in flags if f.startswith("-O")]
    return levels[-1] if levels else ""
