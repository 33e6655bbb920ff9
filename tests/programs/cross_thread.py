"""Many threads allocate; other threads free what they made (PYTHONMALLOC=malloc sends it all to malloc).

Usage: python cross_thread.py PRODUCERS CONSUMERS ITEMS_PER_PRODUCER
Prints one JSON line: items consumed, bytes checked, and which allocator served the process.
"""

from __future__ import annotations

import json
import queue
import random
import sys
import threading

import jemalloc_sys


def main() -> int:
    producers, consumers, items = (int(a) for a in sys.argv[1:4])
    q: queue.Queue[bytes | None] = queue.Queue(maxsize=2048)
    consumed = [0] * consumers
    checked = [0] * consumers
    bad: list[str] = []

    def produce(seed: int) -> None:
        rng = random.Random(seed)
        for i in range(items):
            size = rng.choice((8, 24, 100, 600, 3000, 20000, 70000, 300000))
            q.put(bytes([i % 251]) * size)  # made here, freed by a consumer

    def consume(n: int) -> None:
        while True:
            obj = q.get()
            if obj is None:
                return
            if obj.count(obj[0]) != len(obj):  # contents survived the hand-off untouched
                bad.append(f"corrupt object of {len(obj)} bytes")
            consumed[n] += 1
            checked[n] += len(obj)

    makers = [threading.Thread(target=produce, args=(n,)) for n in range(producers)]
    eaters = [threading.Thread(target=consume, args=(n,)) for n in range(consumers)]
    for t in makers + eaters:
        t.start()
    for t in makers:
        t.join()
    for _ in eaters:
        q.put(None)
    for t in eaters:
        t.join()
    allocator = jemalloc_sys.process_allocator()  # raises unless malloc is the preloaded jemalloc
    print(json.dumps({"consumed": sum(consumed), "bytes": sum(checked), "bad": bad[:5],
                      "allocator": allocator.version}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
