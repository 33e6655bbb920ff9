"""A long-running threaded service in miniature: sustained churn, then idle.

Usage: python service.py THREADS BUSY_SECONDS IDLE_SECONDS INTERVAL

Worker threads serve "requests" (a burst of short-lived buffers of mixed sizes)
and keep a shared cache of longer-lived entries with random eviction: objects
of mixed lifetimes from many threads, the pattern that fragments glibc's
per-thread arenas. Then the workers stop and the process idles, the phase in
which an allocator can give memory back. A sampler thread records the
process's RSS; the output is one JSON line.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * PAGE / 2**20


def peak_rss_kb() -> int:
    """VmHWM: this process's own peak (the parent's wait4 would include the launcher's RSS)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))


def main() -> int:
    threads, busy, idle, interval = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    cache: dict[int, bytes] = {}
    lock = threading.Lock()
    stop = threading.Event()
    samples: list[tuple[float, float]] = []
    requests = [0]
    started = time.monotonic()

    def sampler() -> None:
        while True:
            samples.append((round(time.monotonic() - started, 2), round(rss_mb(), 1)))
            if stop.wait(interval):
                return

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() - started < busy:
            # b"\x01" * n writes every byte: bytes(n) would come from calloc, whose fresh pages are
            # never touched, and RSS would measure the allocator's zeroing strategy instead of its reuse.
            scratch = [b"\x01" * rng.randrange(64, 65536) for _ in range(rng.randrange(10, 60))]
            if rng.random() < 0.3:
                key = rng.randrange(1 << 30)
                with lock:
                    cache[key] = b"\x02" * rng.randrange(1024, 262144)
                    if len(cache) > 1500:
                        cache.pop(next(iter(cache)))  # oldest first: lifetimes span the whole run
            del scratch
            requests[0] += 1

    watch = threading.Thread(target=sampler)
    watch.start()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    busy_end = time.monotonic() - started
    with lock:
        cache.clear()  # the service drops its cache: all of it could go back to the OS
    time.sleep(idle)
    stop.set()
    watch.join()
    print(json.dumps({"samples": samples, "busy_end": round(busy_end, 2), "requests": requests[0]}))
    print(f"peak_rss_kb={peak_rss_kb()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
