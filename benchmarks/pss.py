"""What a prefork server's workers use: the sum of their PSS (``/proc/PID/smaps_rollup``) and CPU time.

PSS (proportional set size) charges each shared page to its sharers in equal
parts, so summing it over gunicorn's workers counts the pages they share with
each other and with the master once in total; summed RSS would count them once
per worker (issue 12). CPU time (``/proc/PID/stat``) per request is the steady
companion of requests/s, which a shared machine's load moves a lot.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def rollup_kb(text: str) -> dict[str, int]:
    """The ``Name:  N kB`` fields of an ``smaps_rollup`` file, in kB (the header line is skipped)."""
    fields = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        words = rest.split()
        if sep and len(words) == 2 and words[1] == "kB" and words[0].isdigit():
            fields[name.strip()] = int(words[0])
    return fields


def pss_kb(pid: int, proc: Path = PROC) -> int:
    """The PSS of one process in kB; raises OSError when it is gone, KeyError on a kernel without Pss."""
    return rollup_kb((proc / str(pid) / "smaps_rollup").read_text(encoding="ascii"))["Pss"]


def _after_comm(stat: str) -> list[str]:
    """The fields of a ``/proc/PID/stat`` line after the command name (which may hold spaces and parentheses)."""
    return stat[stat.rindex(")") + 2:].split()


def parent_of(stat: str) -> int:
    """The parent PID from a ``/proc/PID/stat`` line."""
    return int(_after_comm(stat)[1])


def cpu_ticks(stat: str) -> int:
    """utime + stime of a ``/proc/PID/stat`` line, in clock ticks (fields 14 and 15)."""
    fields = _after_comm(stat)
    return int(fields[11]) + int(fields[12])


def children(pid: int, proc: Path = PROC) -> list[int]:
    """PIDs whose parent is ``pid``, sorted (gunicorn's workers are the master's children)."""
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if parent_of((entry / "stat").read_text(encoding="utf-8", errors="replace")) == pid:
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue  # exited while we looked, or not a process folder
    return sorted(found)


def workers_cpu_seconds(master: int, proc: Path = PROC) -> float:
    """CPU seconds (user + system) used so far by ``master``'s children together."""
    ticks = 0
    for pid in children(master, proc):
        try:
            ticks += cpu_ticks((proc / str(pid) / "stat").read_text(encoding="utf-8", errors="replace"))
        except (OSError, ValueError, IndexError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def workers_pss_kb(master: int, proc: Path = PROC) -> tuple[int, int]:
    """(sum of the PSS of ``master``'s children in kB, how many there were)."""
    total = count = 0
    for pid in children(master, proc):
        try:
            total += pss_kb(pid, proc)
            count += 1
        except OSError:
            continue  # a worker that exited between the two reads
    return total, count
