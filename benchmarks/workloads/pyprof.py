"""A Python workload for the pyframes section: run under the profiling wheel's preload library.

Usage: python pyprof.py SITE KIND OPS
  SITE  the site folder the wheels were installed into; added with ``site.addsitedir``
        so its ``jemalloc_sys_pyframes.pth`` runs exactly as in a virtual environment
  KIND  ``alloc`` (many short-lived objects of mixed sizes) or ``calls`` (deep recursion,
        a small allocation per call)
  OPS   iterations

Prints ``seconds=`` (CPU time of the measured loop only, so the hook's one-off start-up
measurement is not counted against the per-sample cost) and ``pyframes=`` (on/off: whether the
Python-frames hook is installed, so a row cannot silently measure the wrong thing).
"""

from __future__ import annotations

import os
import site
import sys
import time


def churn(ops: int) -> int:
    ring: list[object] = [None] * 4096
    total = 0
    for i in range(ops):
        item = {"key": str(i) * 3, "values": [i] * 8, "blob": bytes(64 + i % 960)}
        ring[i % 4096] = item
        total += len(item["blob"])
    return total


def fib(n: int) -> int:
    pair = (n, n)  # one small allocation per call
    return pair[0] if n < 2 else fib(n - 1) + fib(n - 2)


def calls(ops: int) -> int:
    return sum(fib(22) for _ in range(ops))


def main() -> None:
    site.addsitedir(sys.argv[1])
    kind, ops = sys.argv[2], int(sys.argv[3])
    work = {"alloc": churn, "calls": calls}[kind]
    started = time.process_time()
    work(ops)
    elapsed = time.process_time() - started
    hooked = False
    if os.environ.get("JEMALLOC_SYS_PYFRAMES") == "1":
        from jemalloc_sys import pyframes

        hooked = pyframes.start().python_frames  # already started by the .pth: returns its status
    print(f"seconds={elapsed:.4f}")
    print(f"pyframes={'on' if hooked else 'off'}")


if __name__ == "__main__":
    main()
