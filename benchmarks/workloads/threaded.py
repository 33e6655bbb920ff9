"""Threads that build and drop Python objects, some freed by another thread.

Usage: python threaded.py THREADS OPS_PER_THREAD. Prints ``seconds=<loop time>``.
Run with PYTHONMALLOC=malloc so every object (not only those over 512 bytes)
comes from the C allocator being measured.
"""

from __future__ import annotations

import queue
import random
import sys
import threading
import time


def worker(seed: int, ops: int, inbox: queue.SimpleQueue[list[object]],
           outbox: queue.SimpleQueue[list[object]]) -> None:
    rng = random.Random(seed)
    live: list[object] = [None] * 4000
    handoff: list[object] = []
    for i in range(ops):
        size = rng.randrange(16, 1024) if rng.random() < 0.9 else rng.randrange(1024, 32768)
        obj: object = b"\x01" * size if i % 3 else {"id": i, "tags": [str(i)] * (size % 8), "body": b"x" * (size // 4)}
        slot = rng.randrange(len(live))
        if i % 4 == 0:
            handoff.append(live[slot])  # freed later by the next thread
        live[slot] = obj
        if len(handoff) >= 64:
            outbox.put(handoff)
            handoff = []
        while not inbox.empty():
            inbox.get_nowait()  # the other thread's objects die here
    outbox.put(handoff)


def peak_rss_kb() -> int:
    """VmHWM: this process's own peak (the parent's wait4 would include the launcher's RSS)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))


def main() -> int:
    threads, ops = int(sys.argv[1]), int(sys.argv[2])
    boxes: list[queue.SimpleQueue[list[object]]] = [queue.SimpleQueue() for _ in range(threads)]
    pool = [threading.Thread(target=worker, args=(n, ops, boxes[n], boxes[(n + 1) % threads])) for n in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    print(f"seconds={time.perf_counter() - started:.6f}")
    print(f"peak_rss_kb={peak_rss_kb()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
