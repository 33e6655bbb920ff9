"""Run a child process and measure it: wall time, the time it reports itself, peak RSS.

Peak RSS comes from ``wait4``'s rusage for that one child (``ru_maxrss``), which
``resource.getrusage(RUSAGE_CHILDREN)`` cannot give per child.
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Run:
    wall: float
    reported: float | None
    """``seconds=...`` printed by the child (its timed loop only), else None."""
    cpu: float
    """user + system CPU seconds of the whole child: steadier than wall time on a loaded machine."""
    max_rss_kb: int
    """The child's own VmHWM when it prints ``peak_rss_kb=``; else wait4's ru_maxrss (which includes the launcher)."""
    returncode: int
    stdout: str
    stderr: str

    @property
    def seconds(self) -> float:
        return self.reported if self.reported is not None else self.wall


class ChildFailed(RuntimeError):
    pass


_SECONDS = re.compile(r"^seconds=([0-9.]+)$", re.MULTILINE)
_PEAK = re.compile(r"^peak_rss_kb=([0-9]+)$", re.MULTILINE)


def run(cmd: Sequence[str], *, env: Mapping[str, str], timeout: float = 300, check: bool = True) -> Run:
    """Run ``cmd``; on failure (or timeout) raise with its stderr's last line unless ``check`` is false."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        proc = subprocess.Popen(list(cmd), env=dict(env), stdout=out, stderr=err, start_new_session=True)
        timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting again
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    match = _SECONDS.search(stdout)
    peak = _PEAK.search(stdout)
    result = Run(wall=wall, reported=float(match.group(1)) if match else None, cpu=usage.ru_utime + usage.ru_stime,
                 max_rss_kb=int(peak.group(1)) if peak else int(usage.ru_maxrss),
                 returncode=proc.returncode, stdout=stdout, stderr=stderr)
    if check and result.returncode != 0:
        last = (stderr.strip().splitlines() or ["(no output)"])[-1]
        raise ChildFailed(f"{cmd[0]} exited {result.returncode}: {last}")
    return result


@dataclass(kw_only=True)
class Series:
    """All runs of one contender in one benchmark."""

    runs: list[Run] = field(default_factory=list)
    error: str = ""

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.runs)

    @property
    def rss_mb(self) -> float:
        return statistics.median(r.max_rss_kb for r in self.runs) / 1024


def rotated(items: Sequence[T], r: int) -> list[T]:
    """``items`` starting at position ``r`` (mod its length): round ``r``'s order, so no contender always goes first."""
    if not items:
        return []
    k = r % len(items)
    return [*items[k:], *items[:k]]


def interleaved(contenders: Sequence[str], rounds: int, one: Callable[[str], Run],
                progress: Callable[[str], None]) -> dict[str, Series]:
    """``rounds`` rounds; each runs every contender once, in an order rotated per round."""
    results = {name: Series() for name in contenders}
    for r in range(rounds):
        for name in rotated(contenders, r):
            series = results[name]
            if series.error:
                continue
            try:
                series.runs.append(one(name))
            except (ChildFailed, OSError) as exc:
                series.error = str(exc)
                progress(f"    {name}: {exc}")
    return results

