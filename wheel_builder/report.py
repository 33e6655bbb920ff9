"""What wheel_builder shows: a one-line progress display while it works, then the tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from jemalloc_build.source import sha256_of

from .install_check import Step
from .pipeline import Built
from .verify import SKIPPED


def _status(ok: bool, detail: str) -> str:
    return "skip" if detail.startswith(SKIPPED) else "ok  " if ok else "FAIL"


class Progress:
    """One status line, rewritten in place on a terminal; phase changes only otherwise (CI logs)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last_phase = ""

    def __call__(self, line: str) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K" + line[:150])
            self.stream.flush()
            return
        phase = line.split(" compiling ")[0]
        if phase != self.last_phase:
            self.last_phase = phase
            self.stream.write(line + "\n")
            self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 1024:.0f} KiB"


def table(results: list[Built]) -> str:
    rows = [("variant", "file", "size", "sha256", "build time")]
    for r in results:
        rows.append((r.variant, r.path.name, _size(r.path), sha256_of(r.path), f"{r.seconds:.0f}s"))
        rows.append(("", r.sdist.name, _size(r.sdist), sha256_of(r.sdist), ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def checks(results: list[Built], steps: list[Step]) -> str:
    lines = []
    for r in results:
        for name, ok, detail in r.checks:
            lines.append(f"{_status(ok, detail)} {r.variant:<9} {name:<24} {detail.removeprefix(SKIPPED)}")
    for name, ok, detail in steps:
        lines.append(f"{_status(ok, detail)} {'venv':<9} {name:<24} {detail}")
    return "\n".join(lines)


def as_json(results: list[Built], steps: list[Step], *, target: str, seconds: float, ok: bool) -> dict[str, Any]:
    return {
        "ok": ok,
        "target": target,
        "seconds": round(seconds, 1),
        "wheels": [
            {"variant": r.variant, "distribution": r.distribution, "file": r.path.name, "tag": r.tag,
             "size": r.path.stat().st_size, "sha256": sha256_of(r.path), "seconds": round(r.seconds, 1),
             "sdist": {"file": r.sdist.name, "sha256": sha256_of(r.sdist), "size": r.sdist.stat().st_size},
             "checks": [{"name": n, "ok": o, "detail": d} for n, o, d in r.checks]}
            for r in results
        ],
        "install_check": [{"name": n, "ok": o, "detail": d} for n, o, d in steps],
    }
